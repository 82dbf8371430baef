"""Text -> motions: the one entry point for generation.

``MotionPipeline.from_pretrained("easytune").generate(prompts, seconds=4, seed=0)`` encodes the
prompts, draws the initial noise from the seed (on CPU, so every device gets the same
numbers), runs the model's sampler (DDIM with classifier-free guidance, or the few-step
consistency sampler of a distilled model), decodes latents with the checkpoint's VAE for
latent models, de-normalises the features and recovers joint positions. ``from_pretrained``
takes a local folder, a shipped model name ("base", "easytune") or a Hugging Face Hub repo id;
``save_pretrained`` / ``push_to_hub`` write the same folder layout (:mod:`easytune_core.hub`).
"""

from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .checkpoints import load_checkpoint, load_into
from .diffusion import ConsistencySampler, DDIMSampler, DDPMSampler, DenoiserConfig, MotionDenoiser, NoiseSchedule
from .diffusion.sampler import check_guidance_interval
from .hub import PretrainedMixin, read_metrics
from .limits import (DEFAULT_GUIDANCE, DEFAULT_SECONDS, DEFAULT_STEPS, MAX_GUIDANCE, MAX_PROMPT_CHARS,  # noqa: F401
                     MAX_SECONDS, MAX_STEPS, MIN_SECONDS)
from .shipped import shipped_checkpoint

DEFAULT_CHECKPOINT = "base"
"""Shipped model loaded when no folder is given (found by :func:`easytune_core.shipped.shipped_checkpoint`)."""


@dataclass
class GenerationResult:
    """Output of :meth:`MotionPipeline.generate`.

    Attributes:
        features: (B, T, D) float32 de-normalised HumanML3D features; frames past lengths[b] are 0.
        joints: (B, T, J, 3) float32 metres, Y up; frames past lengths[b] repeat the last valid frame.
        lengths: valid frames per motion.
        prompts: the prompts, one per motion.
        seed: the seed of the initial noise.
        fps: frame rate (20 for HumanML3D).
        seeds: per motion, the seed of its own noise when each has one (takes), else None.
    """

    features: np.ndarray
    joints: np.ndarray
    lengths: list
    prompts: list
    seed: int
    fps: float = 20.0
    seeds: list | None = None


def check_prompts(prompts) -> list[str]:
    """Validate prompts (str or list of str); returns the list. Raises ValueError naming the problem."""
    if isinstance(prompts, str):
        prompts = [prompts]
    if not isinstance(prompts, (list, tuple)) or len(prompts) == 0:
        raise ValueError("give at least one prompt (a non-empty string or list of strings)")
    out = []
    for p in prompts:
        if not isinstance(p, str):
            raise ValueError(f"prompts must be strings, got {type(p).__name__}")
        if not p.strip():
            raise ValueError("prompt is empty: describe the motion, e.g. 'a person walks forward'")
        if len(p) > MAX_PROMPT_CHARS:
            raise ValueError(f"prompt is {len(p)} characters long; the limit is {MAX_PROMPT_CHARS}")
        out.append(p.strip())
    return out


def seconds_to_frames(seconds, fps: float = 20.0) -> int:
    """Validate a length in seconds (1-9.8) and convert it to frames."""
    try:
        s = float(seconds)
    except (TypeError, ValueError) as err:
        raise ValueError(f"length must be a number of seconds, got {seconds!r}") from err
    if not math.isfinite(s) or not MIN_SECONDS <= s <= MAX_SECONDS:
        raise ValueError(f"length must be between {MIN_SECONDS} and {MAX_SECONDS} seconds, got {seconds}")
    return max(1, int(round(s * fps)))


class MotionPipeline(PretrainedMixin):
    """Denoiser + text encoder + normalisation stats + schedule (+ the VAE of a latent model).

    Args:
        model: a MotionDenoiser (frame space) or a LatentDenoiser (put in eval mode here).
        text_encoder: object with ``encode(list[str]) -> (B, text_dim)``.
        mean, std: (D,) feature statistics the model (or its VAE) was trained with.
        schedule: the NoiseSchedule of training (default: from the config).
        config: the model's config (DenoiserConfig or LatentDenoiserConfig).
        device: where the model runs (default: CUDA when present).
        precision: arithmetic of the denoiser while sampling: "fp32" (default, bit-stable),
            "bf16" / "fp16" autocast, or "auto" (fp16 on CUDA, bf16 on CPUs with native bf16, else fp32). Autocast is several
            times faster on CPUs with bf16 units (AMX) and on GPUs; outputs differ slightly
            from fp32 but stay deterministic for a seed on one machine.
        vae: the MotionVAE of a latent model (frozen; None for frame-space models).
    """

    PRECISIONS = ("fp32", "bf16", "fp16", "auto")
    checkpoint_kind = "denoiser"

    def __init__(self, model, text_encoder, mean, std, schedule: NoiseSchedule | None = None,
                 config=None, device: str | None = None, precision: str = "fp32", vae=None):
        self.config = config or model.config
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        if precision not in self.PRECISIONS:
            raise ValueError(f"precision must be one of {', '.join(self.PRECISIONS)}, got {precision!r}")
        if precision == "auto":
            from .data.loader import auto_precision
            precision = auto_precision(self.device)
        self.precision = precision
        self.model = model.to(self.device).eval()
        self.latent = getattr(self.config, "space", "frame") == "latent"
        if self.latent and vae is None:
            raise ValueError("a latent model needs its VAE (vae=)")
        self.vae = vae.to(self.device).eval().requires_grad_(False) if vae is not None else None
        self.text_encoder = text_encoder
        self.feature_dim = int(self.vae.config.feature_dim if self.latent else self.config.feature_dim)
        self.mean = np.asarray(mean, dtype=np.float32)
        self.std = np.asarray(std, dtype=np.float32)
        if self.mean.shape != (self.feature_dim,) or self.std.shape != (self.feature_dim,):
            raise ValueError(f"mean/std must have shape ({self.feature_dim},), got {self.mean.shape}/{self.std.shape}")
        self.schedule = schedule or NoiseSchedule(self.config.schedule, self.config.diffusion_steps)
        self.fps = float(self.config.fps)
        self.max_frames = int(self.config.max_frames)
        if self.latent:
            self.max_frames = min(self.max_frames, int(self.vae.config.max_frames))
        self.few_step = getattr(self.config, "sampler", "ddim") == "consistency"
        self.default_steps = int(getattr(self.config, "default_steps", 50))
        self.default_guidance = float(getattr(self.config, "default_guidance", 2.5))
        # Where DDIM steps apply guidance (DenoiserConfig.guidance_interval); settable per pipeline.
        self.guidance_interval = check_guidance_interval(getattr(self.config, "guidance_interval", (0.0, 1.0)))
        self.meta: dict = {}

    @classmethod
    def from_checkpoint(cls, folder=None, device: str | None = None, text_encoder=None,
                        precision: str = "fp32") -> "MotionPipeline":
        """Load a generator checkpoint folder (default: the shipped base model, wherever it is installed):
        a frame-space denoiser, or a latent denoiser with its VAE in ``vae/``."""
        from .checkpoints import CheckpointError
        from .text import get_text_encoder
        ckpt = load_checkpoint(folder or shipped_checkpoint(DEFAULT_CHECKPOINT), expected_kind="denoiser")
        if ckpt.mean is None:
            raise CheckpointError(f"{ckpt.folder} has no stats.safetensors (feature mean/std are required)")
        device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        vae = None
        if ckpt.config.get("space") == "latent":
            from .diffusion.latent.io import load_latent_model
            model, config, vae = load_latent_model(ckpt, device)
        else:
            try:
                config = DenoiserConfig.from_dict(ckpt.config)
            except (TypeError, ValueError) as err:
                raise CheckpointError(f"{ckpt.folder}: invalid denoiser config ({err})") from err
            model = load_into(MotionDenoiser(config), ckpt)
        if text_encoder is None:
            # A converted checkpoint may record where its (hub) text encoder lives on this machine.
            path = getattr(config, "text_encoder_path", "")
            text_encoder = get_text_encoder(config.text_encoder, device=device,
                                            path=path if path and Path(path).is_dir() else None)
        if text_encoder.dim != config.text_dim:
            raise ValueError(f"text encoder {text_encoder.name!r} gives {text_encoder.dim}-d embeddings, "
                             f"the model expects {config.text_dim}")
        pipe = cls(model, text_encoder, ckpt.mean, ckpt.std, config=config, device=device, precision=precision, vae=vae)
        pipe.meta = ckpt.meta
        pipe.folder = ckpt.folder
        pipe.metrics = read_metrics(ckpt.folder)
        return pipe

    @classmethod
    def _from_folder(cls, folder, **kwargs) -> "MotionPipeline":
        return cls.from_checkpoint(folder, **kwargs)

    def _pretrained_parts(self) -> dict:
        """What ``save_pretrained`` writes. ``metrics`` are those loaded with the checkpoint: set
        ``pipe.metrics = None`` after changing the weights, or measure them again."""
        return {"model": self.model, "config": self.config, "kind": "denoiser", "mean": self.mean, "std": self.std,
                "meta": getattr(self, "meta", None), "metrics": getattr(self, "metrics", None)}

    def save_pretrained(self, folder, dtype=None, name: str | None = None, source: str | None = None) -> Path:
        """Write this model as a pretrained folder (weights, config, stats, metrics, model card); a
        latent model's VAE goes into ``vae/`` beside it, so the folder loads on its own."""
        out = super().save_pretrained(folder, dtype=dtype, name=name, source=source)
        if self.latent:
            from .diffusion.latent.io import VAE_FOLDER, save_vae
            save_vae(Path(out) / VAE_FOLDER, self.vae, self.mean, self.std, dtype=dtype)
        return out

    # ----------------------------------------------------------------------------- helpers
    def normalize(self, features):
        """Raw features -> model space ((x - mean) / std); numpy or torch."""
        if torch.is_tensor(features):
            return (features - torch.as_tensor(self.mean, device=features.device)) / torch.as_tensor(self.std, device=features.device)
        return (features - self.mean) / self.std

    def denormalize(self, features):
        """Model space -> raw HumanML3D features; numpy or torch."""
        if torch.is_tensor(features):
            return features * torch.as_tensor(self.std, device=features.device) + torch.as_tensor(self.mean, device=features.device)
        return features * self.std + self.mean

    @property
    def text_tokens(self) -> int:
        """Token states the denoiser reads besides the pooled embedding (0: pooled only)."""
        return int(getattr(self.config, "text_tokens", 0) or 0) if not self.latent else 0

    def encode(self, prompts: list[str]) -> torch.Tensor:
        """The denoiser's text input on the pipeline's device: (B, text_dim) pooled embeddings, or
        (B, 1 + L, text_dim) (pooled, then token states) for models that read token states."""
        if self.text_tokens:
            return self.text_encoder.condition(list(prompts), self.text_tokens).to(self.device)
        return self.text_encoder.encode(list(prompts)).to(self.device)

    def encode_pooled(self, prompts: list[str]) -> torch.Tensor:
        """(B, text_dim) pooled text embeddings on the pipeline's device (what reward models read)."""
        return self.text_encoder.encode(list(prompts)).to(self.device)

    def noise_shape(self, batch: int, frames: int) -> tuple[int, int, int]:
        """Shape of the sampler's state: (batch, frames, D) in frame space, (batch, L, C) in latent space."""
        if self.latent:
            return int(batch), int(self.config.latent_tokens), int(self.config.latent_dim)
        return int(batch), int(frames), self.feature_dim

    def make_noise(self, batch: int, frames: int, seed: int) -> torch.Tensor:
        """Standard normal initial state (see :meth:`noise_shape`) from a CPU generator seeded with ``seed``."""
        g = torch.Generator().manual_seed(int(seed))
        return torch.randn(self.noise_shape(batch, frames), generator=g)

    def state_mask(self, frame_mask: torch.Tensor) -> torch.Tensor:
        """The sampler's mask for a (B, T) frame mask: itself in frame space, (B, L) all-True for latents."""
        if self.latent:
            return torch.ones(frame_mask.shape[0], self.config.latent_tokens, dtype=torch.bool, device=frame_mask.device)
        return frame_mask

    def decode(self, state: torch.Tensor, frame_mask: torch.Tensor) -> torch.Tensor:
        """Sampler state -> (B, T, D) normalised features, zero on padded frames; differentiable
        (gradients pass through the frozen VAE decoder of a latent model)."""
        frame_mask = frame_mask.to(state.device)
        if self.latent:
            return self.vae.decode(state / self.config.latent_scale, frame_mask)
        return state * frame_mask[..., None].to(state.dtype)

    SAMPLERS = ("ddim", "ddpm")

    def sampler(self, steps: int | None = None, eta: float = 0.0, kind: str = "ddim", spacing: str | None = None,
                guidance_interval=None):
        """The reverse process. Few-step models: their consistency sampler (``kind``, ``spacing`` and
        ``guidance_interval`` do not apply). Others: "ddim" (default spacing: the model's, "trailing"
        unless a converted model records another, e.g. MLD's "leading") or "ddpm" (ancestral, MDM's
        ``p_sample_loop``; fewer steps than the schedule's run on its respaced process, default spacing
        "even"), guided on the steps inside ``guidance_interval`` (default: this pipeline's
        ``guidance_interval``, the model's ``guidance_interval`` unless set).
        See easytune_core.diffusion.sampler.spaced_timesteps for the spacings."""
        steps = self.default_steps if steps is None else steps
        c = self.config
        if self.few_step:
            return ConsistencySampler(self.schedule, steps, c.original_steps, c.timestep_scaling, c.sigma_data)
        interval = self.guidance_interval if guidance_interval is None else guidance_interval  # the sampler validates it
        if kind == "ddim":
            own = getattr(c, "timestep_spacing", "trailing")
            return DDIMSampler(self.schedule, steps, eta, spacing=spacing or own,
                               steps_offset=getattr(c, "steps_offset", 0) if (spacing or own) == own else 0,
                               final_alpha_one=getattr(c, "set_alpha_to_one", True), guidance_interval=interval)
        if kind == "ddpm":
            return DDPMSampler(self.schedule, steps=min(int(steps), self.schedule.num_steps), spacing=spacing or "even",
                               guidance_interval=interval)
        raise ValueError(f"sampler must be one of {', '.join(self.SAMPLERS)}, got {kind!r}")

    def check_guidance(self, guidance) -> float:
        """Validated guidance scale (few-step models: inside the range they were distilled for)."""
        if isinstance(guidance, bool) or not isinstance(guidance, (int, float, np.floating)) \
                or not math.isfinite(guidance) or not 0 <= guidance <= MAX_GUIDANCE:
            raise ValueError(f"guidance must be a number between 0 and {MAX_GUIDANCE:g}, got {guidance}")
        if self.few_step:
            lo, hi = self.config.guidance_range
            if not lo - 1e-6 <= guidance <= hi + 1e-6:
                raise ValueError(f"this few-step model was distilled for guidance {lo:g}-{hi:g}; got {guidance:g}")
        return float(guidance)

    def lengths_for(self, n: int, seconds=None, frames=None) -> list[int]:
        """Validated per-motion lengths in frames from seconds or frames (scalar or per prompt)."""
        if seconds is not None and frames is not None:
            raise ValueError("give seconds or frames, not both")
        if seconds is None and frames is None:
            seconds = DEFAULT_SECONDS
        vals = seconds if seconds is not None else frames
        vals = list(vals) if isinstance(vals, (list, tuple, np.ndarray)) else [vals] * n
        if len(vals) != n:
            raise ValueError(f"got {len(vals)} lengths for {n} prompts")
        if seconds is not None:
            out = [seconds_to_frames(v, self.fps) for v in vals]
        else:
            lo, hi = int(round(MIN_SECONDS * self.fps)), min(int(round(MAX_SECONDS * self.fps)), self.max_frames)
            out = []
            for v in vals:
                if isinstance(v, bool) or not float(v).is_integer() or not lo <= int(v) <= hi:
                    raise ValueError(f"frames must be a whole number between {lo} and {hi}, got {v}")
                out.append(int(v))
        if max(out) > self.max_frames:
            raise ValueError(f"{max(out)} frames is more than this model's maximum of {self.max_frames}")
        return out

    # ----------------------------------------------------------------------------- generate
    def generate(self, prompts, seconds=None, frames=None, seed: int = 0, guidance: float | None = None,
                 steps: int | None = None, init_noise: torch.Tensor | None = None, on_step=None, eta: float = 0.0,
                 return_joints: bool = True, text_emb: torch.Tensor | None = None, sampler: str = "ddim",
                 spacing: str | None = None, guidance_interval=None) -> GenerationResult:
        """Sample one motion per prompt.

        Args:
            prompts: a string or list of B strings (non-empty, at most ``limits.MAX_PROMPT_CHARS`` = 400).
            seconds: length(s) in seconds, 1-9.8 (default 4; ``easytune_core.limits``), or ``frames``:
                length(s) in frames.
            seed: seeds the initial noise (and the sampler's noise when eta > 0 or few-step).
            guidance: classifier-free guidance weight in [0, 20] (1 = conditional only; default: the
                model's, 2.5 for models trained here, 7.5 for converted MLD checkpoints).
            steps: sampler steps, 1-1000 (default 50, or 4 for few-step models; DDPM: at most the
                schedule's, fewer run on its respaced process).
            init_noise: optional initial state shaped like :meth:`make_noise` (frame space
                (B, T_max, D); latent (B, L, C)), e.g. shared between two models.
            on_step: hook on_step(i, t, x_t, x0_pred) called at each step (sampler state).
            eta: DDIM eta (0 deterministic).
            text_emb: optional precomputed text input (B, text_dim), or (B, 1 + L, text_dim) for models
                that read token states (:meth:`encode`), used instead of encoding the prompts (which
                then only label the result), e.g. to reproduce another program's run.
            sampler: "ddim" (default) or "ddpm" (ancestral; its noise is drawn from seed + 1);
                few-step models always use their consistency sampler.
            spacing: which timesteps the sampler visits: "trailing", "even", "strided" or "leading"
                (default: the model's for DDIM, "even" for DDPM).
            guidance_interval: [lo, hi] fractions of the diffusion process (timestep / training
                steps) whose steps apply guidance; the others run the conditional model alone, one
                pass instead of two (default: :attr:`guidance_interval`, the model's; [0, 1] = all).
        Returns:
            :class:`GenerationResult`.
        """
        prompts = check_prompts(prompts)
        B = len(prompts)
        lengths = self.lengths_for(B, seconds, frames)
        steps, guidance = self._check_steps_guidance(steps, guidance)
        if guidance_interval is not None:
            guidance_interval = check_guidance_interval(guidance_interval)
        T = max(lengths)
        shape = self.noise_shape(B, T)
        if init_noise is None:
            init_noise = self.make_noise(B, T, seed)
        else:
            init_noise = self._check_noise(init_noise, shape)
        if text_emb is None:
            text_emb = self.encode(prompts)
        else:
            text_emb = torch.as_tensor(text_emb, dtype=torch.float32)
            pooled_shape = tuple(text_emb.shape) == (B, self.config.text_dim)
            token_shape = (text_emb.dim() == 3 and text_emb.shape[0] == B and text_emb.shape[1] >= 2
                           and text_emb.shape[2] == self.config.text_dim)
            if not (token_shape if self.text_tokens else pooled_shape):
                want = "(prompts, 1 + tokens, text_dim)" if self.text_tokens else str((B, self.config.text_dim))
                raise ValueError(f"text_emb must have shape {want} (this model's text input), got {tuple(text_emb.shape)}")
            if not torch.isfinite(text_emb).all():
                raise ValueError("text_emb contains NaN or infinite values")
            text_emb = text_emb.to(self.device)
        feats = self.sample_motion_features(text_emb, lengths, init_noise, seed=seed, guidance=guidance, steps=steps,
                                            eta=eta, on_step=on_step, sampler=sampler, spacing=spacing,
                                            guidance_interval=guidance_interval)
        joints = self.features_to_joints(feats, lengths) if return_joints else None
        return GenerationResult(feats, joints, lengths, prompts, int(seed), self.fps)

    def sample_motion_features(self, text_emb: torch.Tensor, lengths: list[int], init_noise: torch.Tensor,
                               seed: int = 0, guidance: float = DEFAULT_GUIDANCE, steps: int = DEFAULT_STEPS,
                               eta: float = 0.0, on_step=None, guide=None, sampler: str = "ddim",
                               spacing: str | None = None, guidance_interval=None) -> np.ndarray:
        """The sampling core of generate / takes / edit / compose (inputs already validated).

        Args:
            text_emb: (B, text_dim); lengths: valid frames per motion; init_noise: shaped like
                :meth:`make_noise` for ``max(lengths)`` frames.
            guide: optional sampler guide (``easytune_core.edit``) working in normalised frame
                space; frame-space models only.
            sampler, spacing, guidance_interval: as in :meth:`generate`.
        Returns:
            (B, max(lengths), D) float32 de-normalised features, zero past each length.
        """
        if guide is not None and self.latent:
            raise ValueError("editing, path control and blended timelines need a frame-space model: a latent "
                             "model's sampler state is a latent code, not frames (use e.g. the shipped 'base')")
        T = max(int(n) for n in lengths)
        mask = torch.arange(T)[None] < torch.tensor(lengths)[:, None]
        gen = torch.Generator().manual_seed(int(seed) + 1) if (eta > 0 or sampler == "ddpm" or self.few_step) else None
        with torch.no_grad():
            x0 = self.sample_features(text_emb, mask, guidance, steps, init_noise, gen, on_step, eta, sampler, spacing,
                                      guide=guide, guidance_interval=guidance_interval)
        feats = self.denormalize(x0.float().cpu().numpy())
        feats = feats * mask[..., None].numpy()
        return feats.astype(np.float32)

    def _check_steps_guidance(self, steps, guidance) -> tuple[int, float]:
        """Validated (steps, guidance); None means the model's default."""
        steps = self.default_steps if steps is None else steps
        if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or not 1 <= steps <= MAX_STEPS:
            raise ValueError(f"steps must be a whole number between 1 and {MAX_STEPS}, got {steps}")
        guidance = self.check_guidance(self.default_guidance if guidance is None else guidance)
        return int(steps), guidance

    def _check_noise(self, init_noise, shape) -> torch.Tensor:
        init_noise = torch.as_tensor(init_noise, dtype=torch.float32)
        if tuple(init_noise.shape) != tuple(shape):
            what = "(prompts, latent tokens, latent size)" if self.latent else "(prompts, frames, features)"
            raise ValueError(f"init_noise must have shape {tuple(shape)} {what}, got {tuple(init_noise.shape)}")
        if not torch.isfinite(init_noise).all():
            raise ValueError("init_noise contains NaN or infinite values")
        return init_noise

    # ----------------------------------------------------------------------------- takes, edit, compose
    def takes_noise(self, lengths: list[int], seeds: list[int]) -> torch.Tensor:
        """Initial noise for one batched call (shaped like :meth:`make_noise` for ``max(lengths)``)
        where motion b gets ``make_noise(1, lengths[b], seeds[b])`` (frame space: zero-padded), so
        each take is the motion its seed gives alone."""
        out = torch.zeros(self.noise_shape(len(lengths), max(lengths)))
        for b, (n, s) in enumerate(zip(lengths, seeds)):
            one = self.make_noise(1, n, s)[0]
            out[b, :one.shape[0]] = one
        return out

    def takes(self, prompts, repetitions: int = 4, seconds=None, frames=None, seed: int = 0, guidance=None,
              steps=None, **kwargs) -> GenerationResult:
        """Several takes per prompt in one batched call (easytune_core.edit.takes); steps and
        guidance default to the model's. Each take starts from its own seed's noise; a few-step
        model's re-noising between steps is drawn for the whole batch, so its takes are not the
        motions those seeds give one at a time."""
        from .edit.takes import sample_takes
        return sample_takes(self, prompts, repetitions, seconds=seconds, frames=frames, seed=seed, guidance=guidance,
                            steps=steps, **kwargs)

    def edit(self, spec, prompt: str | None = "", seed: int = 0, guidance=None, steps=None, **kwargs):
        """Inpaint: keep what ``spec`` keeps, generate the rest to ``prompt`` (easytune_core.edit.run)."""
        from .edit.run import run_edit
        return run_edit(self, spec, prompt, seed=seed, guidance=guidance, steps=steps, **kwargs)

    def compose(self, segments, seed: int = 0, guidance=None, steps=None, **kwargs):
        """A timeline of (prompt, seconds) segments as one motion (easytune_core.edit.compose)."""
        from .edit.compose import compose_timeline
        return compose_timeline(self, segments, seed=seed, guidance=guidance, steps=steps, **kwargs)

    def sample_features(self, text_emb: torch.Tensor, frame_mask: torch.Tensor, guidance: float, steps: int,
                        init_noise: torch.Tensor, generator: torch.Generator | None = None, on_step=None,
                        eta: float = 0.0, sampler: str = "ddim", spacing: str | None = None,
                        guide=None, guidance_interval=None) -> torch.Tensor:
        """Sampler + decoding: (B, T, D) normalised features (model space), zero on padded frames.

        ``text_emb`` (B, text_dim); ``frame_mask`` (B, T) bool; ``init_noise`` shaped like
        :meth:`make_noise`; ``guide`` an optional sampler guide (frame-space models);
        ``guidance_interval`` as in :meth:`generate`. Runs under
        this pipeline's precision; gradients follow the caller's mode.
        """
        frame_mask = frame_mask.to(self.device)
        sampler = self.sampler(steps, eta, kind=sampler, spacing=spacing, guidance_interval=guidance_interval)
        with self.autocast():
            state = sampler.sample(self.model, text_emb.to(self.device), self.state_mask(frame_mask),
                                   guidance=guidance, init_noise=init_noise, generator=generator, on_step=on_step,
                                   grad=torch.is_grad_enabled(), guide=guide)
            return self.decode(state, frame_mask).float()

    def autocast(self):
        """The autocast context of this pipeline's precision (a no-op for fp32)."""
        if self.precision == "fp32":
            return contextlib.nullcontext()
        dtype = torch.bfloat16 if self.precision == "bf16" else torch.float16
        return torch.autocast(device_type="cuda" if self.device.startswith("cuda") else "cpu", dtype=dtype)

    def features_to_joints(self, features: np.ndarray, lengths: list[int]) -> np.ndarray:
        """(B, T, D) de-normalised features -> (B, T, J, 3) joints in metres (J = 22, KIT-ML 21), last
        valid frame repeated as padding."""
        from .motion.features import features_to_joints
        skeleton = "kit" if self.feature_dim == 251 else "humanml3d"
        scale = 1e-3 if skeleton == "kit" else 1.0  # KIT-ML features are in millimetres
        out = []
        for f, n in zip(features, lengths):
            j = np.asarray(features_to_joints(f[:n], skeleton=skeleton), dtype=np.float32) * scale
            if n < features.shape[1]:
                j = np.concatenate([j, np.repeat(j[-1:], features.shape[1] - n, axis=0)], axis=0)
            out.append(j)
        return np.stack(out)
