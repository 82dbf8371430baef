"""easytune_core.diffusion: noise schedule, MDM-style denoiser, DDIM/DDPM samplers with guidance,
the few-step consistency sampler; latent models in ``easytune_core.diffusion.latent``."""

from .consistency import ConsistencySampler
from .denoiser import DenoiserConfig, MotionDenoiser
from .sampler import DDIMSampler, DDPMSampler, Guide, spaced_timesteps
from .schedule import NoiseSchedule

__all__ = ["NoiseSchedule", "DenoiserConfig", "MotionDenoiser", "DDIMSampler", "DDPMSampler", "Guide",
           "spaced_timesteps", "ConsistencySampler"]
