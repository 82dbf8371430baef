"""easytune_core.diffusion: noise schedule, MDM-style denoiser, DDIM/DDPM samplers with guidance."""

from .denoiser import DenoiserConfig, MotionDenoiser
from .consistency import ConsistencySampler
from .sampler import DDIMSampler, DDPMSampler
from .schedule import NoiseSchedule

__all__ = ["NoiseSchedule", "DenoiserConfig", "MotionDenoiser", "DDIMSampler", "DDPMSampler", "ConsistencySampler"]
