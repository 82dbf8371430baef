"""Wiring: base checkpoint + reward checkpoint + prompts -> a ready :class:`FinetuneTrainer`."""

from __future__ import annotations

import copy
import threading
from pathlib import Path
from typing import Callable, Optional, Sequence

import numpy as np
import torch

from .config import FinetuneConfig
from .distributed import DistInfo
from .io import CheckpointIO
from .lora import BaseView, add_lora
from .trainer import FinetuneTrainer


NOISY_NEEDS_SAME_STATS = ("reward_target 'noisy' needs a reward model normalised with the base model's statistics "
                          "(the same dataset): noisy features cannot be mapped from one normalisation to another; "
                          "use reward_target 'x0', or a reward trained on the base model's data")


class RewardFn:
    """Differentiable reward on the denoiser's feature space.

    Maps features normalised with the denoiser's stats to the reward model's normalisation
    (identity when both come from the same dataset), clamps noise-aware steps to the range the
    reward was trained on (``max_t``; MotionRFT clamps at 499 likewise) and returns
    ``reward_model.reward`` (B,).
    """

    def __init__(self, reward_model, mean=None, std=None, max_t: Optional[int] = None):
        self.model = reward_model
        self.scale = self.shift = None
        if mean is not None and std is not None:
            rm_mean, rm_std = reward_model.mean.detach().cpu().numpy(), reward_model.std.detach().cpu().numpy()
            mean, std = np.asarray(mean, np.float32), np.asarray(std, np.float32)
            if not (np.allclose(mean, rm_mean, atol=1e-5) and np.allclose(std, rm_std, atol=1e-5)):
                # reward-space x = (x_d * std_d + mean_d - mean_r) / std_r
                self.scale = torch.as_tensor(std / rm_std)
                self.shift = torch.as_tensor((mean - rm_mean) / rm_std)
        meta_max = (getattr(reward_model, "meta", {}) or {}).get("max_t")
        self.max_t = max_t if max_t is not None else (int(meta_max) if meta_max is not None else None)

    @property
    def maps_features(self) -> bool:
        """Whether the denoiser's and the reward's normalisations differ (features are mapped)."""
        return self.scale is not None

    def __call__(self, features, mask, text_emb, t=None):
        if t is not None and self.scale is not None:
            # x_t = sqrt(abar) x + sqrt(1 - abar) eps: an affine map of x_t scales the noise too and
            # shifts by the unscaled offset, so noisy features have no exact image in the other space.
            raise ValueError(NOISY_NEEDS_SAME_STATS)
        if self.scale is not None:
            features = features * self.scale.to(features.device) + self.shift.to(features.device)
        if t is not None and self.max_t is not None:
            t = t.clamp(max=self.max_t)
        return self.model.reward(features, mask, text_emb, t)


def check_model_fits(cfg: FinetuneConfig, pipe) -> None:
    """Refuse settings a latent or few-step base model cannot run, with what to change."""
    if pipe.latent and cfg.reward_target == "noisy":
        raise ValueError("reward_target 'noisy' needs a frame-space model (the noise-aware reward reads noisy "
                         "features, not latents): use reward_target 'x0' with latent models")
    if pipe.few_step:
        lo, hi = pipe.config.guidance_range
        if not lo - 1e-6 <= cfg.guidance <= hi + 1e-6:
            raise ValueError(f"this few-step model was distilled for guidance {lo:g}-{hi:g}; got {cfg.guidance:g}")
        limit = pipe.config.original_steps
        if cfg.sampler_steps > limit:
            raise ValueError(f"this few-step model samples in 1-{limit} steps (1-4 is what it is for); "
                             f"got sampler_steps {cfg.sampler_steps}")


def load_base(folder, device: str):
    """(pipeline, model) for a denoiser checkpoint; the model is the pipeline's own copy."""
    from ..pipeline import MotionPipeline
    pipe = MotionPipeline.from_checkpoint(folder, device=device)
    return pipe, pipe.model


def build_trainer(cfg: FinetuneConfig, base: str | Path, reward: str | Path, prompts: Callable,
                  run_dir: Optional[str | Path] = None, device: Optional[str] = None,
                  callbacks: Sequence[Callable] = (), cancel: Optional[threading.Event] = None,
                  resume: bool = False, dist_info: Optional[DistInfo] = None,
                  storage_dtype: Optional[torch.dtype] = None) -> FinetuneTrainer:
    """A trainer that fine-tunes the denoiser in ``base`` against the reward in ``reward``.

    Args:
        base: denoiser checkpoint folder; reward: reward checkpoint folder.
        prompts: a prompt source (prompts.ListPrompts / SplitPrompts or any callable).
        run_dir: run folder (config, metrics.jsonl, checkpoint/, lora/); None = no files.
        storage_dtype: e.g. torch.float16 to store checkpoints at half size.
    """
    from ..reward import load_reward_model
    from ..text import get_text_encoder

    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    pipe, model = load_base(base, device)
    reward_model = load_reward_model(reward, device=device)
    if reward_model.config.feature_dim != pipe.feature_dim:
        raise ValueError(f"reward model expects {reward_model.config.feature_dim}-d features, the base model makes "
                         f"{pipe.feature_dim}-d ones; pick a matching reward checkpoint")
    check_model_fits(cfg, pipe)
    encode_reward_text = None
    reward_encoder_name = (getattr(reward_model, "meta", {}) or {}).get("text_encoder", pipe.text_encoder.name)
    if reward_encoder_name != pipe.text_encoder.name:
        encode_reward_text = get_text_encoder(reward_encoder_name, device=device).encode
    elif pipe.text_tokens:  # the denoiser reads token states; the reward reads the pooled embedding
        encode_reward_text = pipe.encode_pooled
    base_model = None
    if cfg.lora_rank:
        add_lora(model, cfg.lora_rank, cfg.lora_alpha)
        base_model = BaseView(model) if cfg.reg_weight > 0 else None
    else:
        model.requires_grad_(True)
        if cfg.reg_weight > 0:
            base_model = copy.deepcopy(model).requires_grad_(False).eval()
    sampler = pipe.sampler(cfg.sampler_steps, eta=0.0)
    vae_folder = Path(pipe.folder) / "vae" if pipe.latent else None
    io = CheckpointIO(pipe.config, pipe.mean, pipe.std, dtype=storage_dtype, vae_folder=vae_folder)
    latent = None
    if pipe.latent:
        latent = (pipe.config.latent_tokens, pipe.config.latent_dim, pipe.decode)
    meta = {"base": str(base), "reward": str(reward), "base_meta": getattr(pipe, "meta", {})}
    reward_fn = RewardFn(reward_model, pipe.mean, pipe.std)
    if cfg.reward_target == "noisy" and reward_fn.maps_features:
        raise ValueError(NOISY_NEEDS_SAME_STATS)
    trainer = FinetuneTrainer(cfg, model, sampler, pipe.encode, reward_fn,
                              prompts, pipe.feature_dim, device=device, run_dir=run_dir, io=io,
                              base_model=base_model, callbacks=callbacks, cancel=cancel, dist_info=dist_info,
                              run_meta=meta, resume=resume, encode_reward_text=encode_reward_text, latent=latent)
    trainer.pipeline = pipe  # shares the trained model: evaluate it without another load
    trainer.reward_model = reward_model
    return trainer
