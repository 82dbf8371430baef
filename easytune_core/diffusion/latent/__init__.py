"""Latent motion diffusion (MLD-style): a motion VAE and a denoiser over its latent tokens,
their checkpoints (the VAE inside the generator's folder) and trainers (``train-vae``,
``train-latent``, ``distill``)."""

from .denoiser import LatentDenoiser, LatentDenoiserConfig
from .vae import MotionVAE, VAEConfig, kl_divergence

__all__ = ["MotionVAE", "VAEConfig", "kl_divergence", "LatentDenoiser", "LatentDenoiserConfig"]
