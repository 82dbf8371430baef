"""Latent checkpoints: the usual denoiser folder with its VAE inside.

    DIR/config.json          kind "denoiser", config = LatentDenoiserConfig (space: "latent")
    DIR/model.safetensors    the latent denoiser
    DIR/stats.safetensors    feature mean/std (the VAE's normalisation)
    DIR/vae/                 a checkpoint folder of kind "vae" (config, weights, the same stats)

``MotionPipeline.from_checkpoint(DIR)`` loads either kind of generator folder.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ...checkpoints import CheckpointError, load_checkpoint, load_into, save_checkpoint
from .denoiser import LatentDenoiser, LatentDenoiserConfig
from .vae import MotionVAE, VAEConfig

VAE_FOLDER = "vae"


def is_latent_config(config: dict) -> bool:
    """True for the config dict of a latent denoiser checkpoint."""
    return isinstance(config, dict) and config.get("space") == "latent"


def save_vae(folder, vae: MotionVAE, mean, std, meta: dict | None = None, dtype: torch.dtype | None = None) -> Path:
    """Write a VAE checkpoint folder (kind "vae") with its feature stats."""
    return save_checkpoint(folder, vae, vae.config, "vae", mean, std, meta, dtype=dtype)


def load_vae(folder, device: str = "cpu") -> tuple[MotionVAE, np.ndarray, np.ndarray, dict]:
    """(vae in eval mode with frozen weights, mean, std, meta) from a VAE checkpoint folder."""
    ckpt = load_checkpoint(folder, expected_kind="vae")
    try:
        config = VAEConfig.from_dict(ckpt.config)
    except (TypeError, ValueError) as err:
        raise CheckpointError(f"{ckpt.folder}: invalid VAE config ({err})") from err
    if ckpt.mean is None:
        raise CheckpointError(f"{ckpt.folder} has no stats.safetensors (the VAE's feature mean/std are required)")
    vae = load_into(MotionVAE(config), ckpt).to(device).eval().requires_grad_(False)
    return vae, ckpt.mean, ckpt.std, ckpt.meta


def save_latent_model(folder, model: LatentDenoiser | None, config: LatentDenoiserConfig, vae_source, mean, std,
                      meta: dict | None = None, dtype: torch.dtype | None = None,
                      state_dict: dict | None = None) -> Path:
    """Write a latent generator folder: the denoiser (``model`` or ``state_dict``) plus its VAE.

    Args:
        vae_source: a VAE checkpoint folder to copy, or a MotionVAE to save.
        dtype: storage dtype of the denoiser's floating weights (the VAE folder is copied as is;
            a MotionVAE given directly is stored in this dtype too).
    """
    folder = Path(folder)
    save_checkpoint(folder, model, config, "denoiser", mean, std, meta, dtype=dtype, state_dict=state_dict)
    target = folder / VAE_FOLDER
    if isinstance(vae_source, MotionVAE):
        save_vae(target, vae_source, mean, std, dtype=dtype)
    else:
        import shutil
        src = Path(vae_source)
        load_checkpoint(src, expected_kind="vae")  # refuse to copy something that is not a VAE
        if src.resolve() != target.resolve():
            if target.exists():
                shutil.rmtree(target)
            shutil.copytree(src, target, ignore=shutil.ignore_patterns("resume", "*.tmp*"))
    return folder


def load_latent_model(ckpt, device: str = "cpu"):
    """(LatentDenoiser, config, MotionVAE) of a loaded latent denoiser :class:`Checkpoint`."""
    try:
        config = LatentDenoiserConfig.from_dict(ckpt.config)
    except (TypeError, ValueError) as err:
        raise CheckpointError(f"{ckpt.folder}: invalid latent denoiser config ({err})") from err
    vae_dir = Path(ckpt.folder) / VAE_FOLDER
    if not (vae_dir / "config.json").exists():
        raise CheckpointError(f"{ckpt.folder} is a latent model but has no {VAE_FOLDER}/ folder with its VAE")
    vae, vmean, vstd, _ = load_vae(vae_dir, device)
    if ckpt.mean is not None and not (np.allclose(vmean, ckpt.mean, atol=1e-5) and np.allclose(vstd, ckpt.std, atol=1e-5)):
        raise CheckpointError(f"{ckpt.folder}: the VAE's feature statistics differ from the model's")
    if (vae.config.latent_tokens, vae.config.width) != (config.latent_tokens, config.latent_dim):
        raise CheckpointError(f"{ckpt.folder}: the denoiser expects {config.latent_tokens} x {config.latent_dim} "
                              f"latents, its VAE makes {vae.config.latent_tokens} x {vae.config.width}")
    model = load_into(LatentDenoiser(config), ckpt)
    return model, config, vae
