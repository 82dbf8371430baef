"""Text -> motions: the one entry point for generation.

``MotionPipeline.from_pretrained("easytune").generate(prompts, seconds=4, seed=0)`` encodes the
prompts, draws the initial noise from the seed (on CPU, so every device gets the same
numbers), runs DDIM with classifier-free guidance, de-normalises the features and
recovers joint positions. ``from_pretrained`` takes a local folder, a shipped model name
("base", "easytune") or a Hugging Face Hub repo id; ``save_pretrained`` / ``push_to_hub`` write the
same folder layout (:mod:`easytune_core.hub`).
"""

from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .checkpoints import load_checkpoint, load_into
from .diffusion import DDIMSampler, DDPMSampler, DenoiserConfig, MotionDenoiser, NoiseSchedule
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
    """Denoiser + text encoder + normalisation stats + schedule.

    Args:
        model: a MotionDenoiser (put in eval mode here).
        text_encoder: object with ``encode(list[str]) -> (B, text_dim)``.
        mean, std: (D,) feature statistics the model was trained with.
        schedule: the NoiseSchedule of training.
        config: the DenoiserConfig.
        device: where the model runs (default: CUDA when present).
        precision: arithmetic of the denoiser while sampling: "fp32" (default, bit-stable),
            "bf16" / "fp16" autocast, or "auto" (fp16 on CUDA, bf16 on CPU). Autocast is several
            times faster on CPUs with bf16 units (AMX) and on GPUs; outputs differ slightly
            from fp32 but stay deterministic for a seed on one machine.
    """

    PRECISIONS = ("fp32", "bf16", "fp16", "auto")
    checkpoint_kind = "denoiser"

    def __init__(self, model: MotionDenoiser, text_encoder, mean, std, schedule: NoiseSchedule | None = None,
                 config: DenoiserConfig | None = None, device: str | None = None, precision: str = "fp32"):
        self.config = config or model.config
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        if precision not in self.PRECISIONS:
            raise ValueError(f"precision must be one of {', '.join(self.PRECISIONS)}, got {precision!r}")
        if precision == "auto":
            precision = "fp16" if self.device.startswith("cuda") else "bf16"
        self.precision = precision
        self.model = model.to(self.device).eval()
        self.text_encoder = text_encoder
        self.mean = np.asarray(mean, dtype=np.float32)
        self.std = np.asarray(std, dtype=np.float32)
        if self.mean.shape != (self.config.feature_dim,) or self.std.shape != (self.config.feature_dim,):
            raise ValueError(f"mean/std must have shape ({self.config.feature_dim},), got {self.mean.shape}/{self.std.shape}")
        self.schedule = schedule or NoiseSchedule(self.config.schedule, self.config.diffusion_steps)
        self.fps = float(self.config.fps)
        self.max_frames = int(self.config.max_frames)

    @classmethod
    def from_checkpoint(cls, folder=None, device: str | None = None, text_encoder=None,
                        precision: str = "fp32") -> "MotionPipeline":
        """Load a denoiser checkpoint folder (default: the shipped base model, wherever it is installed)."""
        from .text import get_text_encoder
        ckpt = load_checkpoint(folder or shipped_checkpoint(DEFAULT_CHECKPOINT), expected_kind="denoiser")
        try:
            config = DenoiserConfig.from_dict(ckpt.config)
        except (TypeError, ValueError) as err:
            from .checkpoints import CheckpointError
            raise CheckpointError(f"{ckpt.folder}: invalid denoiser config ({err})") from err
        if ckpt.mean is None:
            from .checkpoints import CheckpointError
            raise CheckpointError(f"{ckpt.folder} has no stats.safetensors (feature mean/std are required)")
        model = load_into(MotionDenoiser(config), ckpt)
        device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        # A converted checkpoint may record where its (hub) text encoder lives on this machine.
        enc_path = config.text_encoder_path if config.text_encoder_path and Path(config.text_encoder_path).is_dir() else None
        encoder = text_encoder or get_text_encoder(config.text_encoder, device=device, path=enc_path)
        if encoder.dim != config.text_dim:
            raise ValueError(f"text encoder {encoder.name!r} gives {encoder.dim}-d embeddings, the model expects {config.text_dim}")
        pipe = cls(model, encoder, ckpt.mean, ckpt.std, config=config, device=device, precision=precision)
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

    def encode(self, prompts: list[str]) -> torch.Tensor:
        """(B, text_dim) text embeddings on the pipeline's device."""
        return self.text_encoder.encode(list(prompts)).to(self.device)

    def make_noise(self, batch: int, frames: int, seed: int) -> torch.Tensor:
        """(batch, frames, D) standard normal noise from a CPU generator seeded with ``seed``."""
        g = torch.Generator().manual_seed(int(seed))
        return torch.randn((int(batch), int(frames), self.config.feature_dim), generator=g)

    SAMPLERS = ("ddim", "ddpm")

    def sampler(self, steps: int = DEFAULT_STEPS, eta: float = 0.0, kind: str = "ddim",
                spacing: str | None = None) -> DDIMSampler:
        """The reverse process: "ddim" (default spacing "trailing") or "ddpm" (ancestral, MDM's
        ``p_sample_loop``; fewer steps than the schedule's run on its respaced process, default
        spacing "even"). See easytune_core.diffusion.sampler.spaced_timesteps for the spacings."""
        if kind == "ddim":
            return DDIMSampler(self.schedule, steps=steps, eta=eta, spacing=spacing or "trailing")
        if kind == "ddpm":
            return DDPMSampler(self.schedule, steps=min(int(steps), self.schedule.num_steps), spacing=spacing or "even")
        raise ValueError(f"sampler must be one of {', '.join(self.SAMPLERS)}, got {kind!r}")

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
    def generate(self, prompts, seconds=None, frames=None, seed: int = 0, guidance: float = DEFAULT_GUIDANCE,
                 steps: int = DEFAULT_STEPS,
                 init_noise: torch.Tensor | None = None, on_step=None, eta: float = 0.0,
                 return_joints: bool = True, text_emb: torch.Tensor | None = None, sampler: str = "ddim",
                 spacing: str | None = None) -> GenerationResult:
        """Sample one motion per prompt.

        Args:
            prompts: a string or list of B strings (non-empty, at most ``limits.MAX_PROMPT_CHARS`` = 300).
            seconds: length(s) in seconds, 1-9.8 (default 4; ``easytune_core.limits``), or ``frames``:
                length(s) in frames.
            seed: seeds the initial noise (and DDIM's noise when eta > 0).
            guidance: classifier-free guidance weight in [0, 20] (1 = conditional only).
            steps: sampler steps, 1-1000 (DDPM: at most the schedule's, fewer run on its respaced process).
            init_noise: optional (B, T_max, D) x_T, e.g. shared between two models.
            on_step: hook on_step(i, t, x_t, x0_pred) called at each step.
            eta: DDIM eta (0 deterministic).
            text_emb: optional (B, text_dim) precomputed text embeddings used instead of encoding
                the prompts (which then only label the result), e.g. to reproduce another program's run.
            sampler: "ddim" (default) or "ddpm" (ancestral; its noise is drawn from seed + 1).
            spacing: which timesteps the sampler visits: "trailing", "even" or "strided"
                (default: "trailing" for DDIM, "even" for DDPM).
        Returns:
            :class:`GenerationResult`.
        """
        prompts = check_prompts(prompts)
        B = len(prompts)
        lengths = self.lengths_for(B, seconds, frames)
        self._check_steps_guidance(steps, guidance)
        T = max(lengths)
        shape = (B, T, self.config.feature_dim)
        if init_noise is None:
            init_noise = self.make_noise(B, T, seed)
        else:
            init_noise = self._check_noise(init_noise, shape)
        if text_emb is None:
            text_emb = self.encode(prompts)
        else:
            text_emb = torch.as_tensor(text_emb, dtype=torch.float32)
            if tuple(text_emb.shape) != (B, self.config.text_dim):
                raise ValueError(f"text_emb must have shape {(B, self.config.text_dim)} (prompts, text_dim), got {tuple(text_emb.shape)}")
            if not torch.isfinite(text_emb).all():
                raise ValueError("text_emb contains NaN or infinite values")
            text_emb = text_emb.to(self.device)
        feats = self.sample_features(text_emb, lengths, init_noise, seed=seed, guidance=guidance, steps=steps,
                                     eta=eta, on_step=on_step, sampler=sampler, spacing=spacing)
        joints = self.features_to_joints(feats, lengths) if return_joints else None
        return GenerationResult(feats, joints, lengths, prompts, int(seed), self.fps)

    def sample_features(self, text_emb: torch.Tensor, lengths: list[int], init_noise: torch.Tensor, seed: int = 0,
                        guidance: float = DEFAULT_GUIDANCE, steps: int = DEFAULT_STEPS, eta: float = 0.0,
                        on_step=None, guide=None, sampler: str = "ddim", spacing: str | None = None) -> np.ndarray:
        """The sampling core of generate / takes / edit / compose (inputs already validated).

        Args:
            text_emb: (B, text_dim); lengths: valid frames per motion; init_noise: (B, T, D) x_T.
            guide: optional sampler guide (``easytune_core.edit``) working in normalised space.
            sampler, spacing: as in :meth:`generate`.
        Returns:
            (B, T, D) float32 de-normalised features, zero past each length.
        """
        T = int(init_noise.shape[1])
        mask = torch.arange(T)[None] < torch.tensor(lengths)[:, None]
        sampler_obj = self.sampler(steps, eta, kind=sampler, spacing=spacing)
        gen = torch.Generator().manual_seed(int(seed) + 1) if (eta > 0 or sampler == "ddpm") else None
        with torch.no_grad(), self.autocast():
            x0 = sampler_obj.sample(self.model, text_emb, mask.to(self.device), guidance=guidance,
                                    init_noise=init_noise, generator=gen, on_step=on_step, guide=guide)
        feats = self.denormalize(x0.float().cpu().numpy())
        feats = feats * mask[..., None].numpy()
        return feats.astype(np.float32)

    @staticmethod
    def _check_steps_guidance(steps, guidance) -> None:
        if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or not 1 <= steps <= MAX_STEPS:
            raise ValueError(f"steps must be a whole number between 1 and {MAX_STEPS}, got {steps}")
        if not isinstance(guidance, (int, float)) or not math.isfinite(guidance) or not 0 <= guidance <= MAX_GUIDANCE:
            raise ValueError(f"guidance must be a number between 0 and {MAX_GUIDANCE:g}, got {guidance}")

    @staticmethod
    def _check_noise(init_noise, shape) -> torch.Tensor:
        init_noise = torch.as_tensor(init_noise, dtype=torch.float32)
        if tuple(init_noise.shape) != tuple(shape):
            raise ValueError(f"init_noise must have shape {tuple(shape)} (prompts, frames, features), got {tuple(init_noise.shape)}")
        if not torch.isfinite(init_noise).all():
            raise ValueError("init_noise contains NaN or infinite values")
        return init_noise

    # ----------------------------------------------------------------------------- takes, edit, compose
    def takes_noise(self, lengths: list[int], seeds: list[int]) -> torch.Tensor:
        """(B, max(lengths), D) initial noise where motion b is ``make_noise(1, lengths[b], seeds[b])``
        (zero-padded), so one batched call gives each take the motion its seed gives alone."""
        T = max(lengths)
        out = torch.zeros(len(lengths), T, self.config.feature_dim)
        for b, (n, s) in enumerate(zip(lengths, seeds)):
            out[b, :n] = self.make_noise(1, n, s)[0]
        return out

    def takes(self, prompts, repetitions: int = 4, seconds=None, frames=None, seed: int = 0, **kwargs) -> GenerationResult:
        """Several takes per prompt in one batched call (easytune_core.edit.takes)."""
        from .edit.takes import sample_takes
        return sample_takes(self, prompts, repetitions, seconds=seconds, frames=frames, seed=seed, **kwargs)

    def edit(self, spec, prompt: str | None = "", seed: int = 0, guidance: float = DEFAULT_GUIDANCE,
             steps: int = DEFAULT_STEPS, **kwargs):
        """Inpaint: keep what ``spec`` keeps, generate the rest to ``prompt`` (easytune_core.edit.run)."""
        from .edit.run import run_edit
        return run_edit(self, spec, prompt, seed=seed, guidance=guidance, steps=steps, **kwargs)

    def compose(self, segments, seed: int = 0, guidance: float = DEFAULT_GUIDANCE, steps: int = DEFAULT_STEPS,
                **kwargs):
        """A timeline of (prompt, seconds) segments as one motion (easytune_core.edit.compose)."""
        from .edit.compose import compose_timeline
        return compose_timeline(self, segments, seed=seed, guidance=guidance, steps=steps, **kwargs)

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
        skeleton = "kit" if self.config.feature_dim == 251 else "humanml3d"
        scale = 1e-3 if skeleton == "kit" else 1.0  # KIT-ML features are in millimetres
        out = []
        for f, n in zip(features, lengths):
            j = np.asarray(features_to_joints(f[:n], skeleton=skeleton), dtype=np.float32) * scale
            if n < features.shape[1]:
                j = np.concatenate([j, np.repeat(j[-1:], features.shape[1] - n, axis=0)], axis=0)
            out.append(j)
        return np.stack(out)
