"""Few-step sampling of consistency-distilled models (latent consistency models: Luo et al. 2023,
"Latent Consistency Models", §4.2-4.3; MotionLCM, Dai et al. 2024).

A consistency model f_θ(x_t, t, c, w) maps any point of the guided probability-flow ODE straight
to its origin. It is parameterised through the distilled denoiser's x0 estimate x̂0 with the
boundary scalings of Song et al. (2023):

    f_θ(x_t, t) = c_skip(t) · x_t + c_out(t) · x̂0(x_t, t),
    c_skip(t) = σ² / ((s·t)² + σ²),   c_out(t) = s·t / √((s·t)² + σ²),

so f_θ(x, 0) = x exactly (σ = 0.5, s = 10 as LCM). Multistep sampling alternates a jump to the
origin with re-noising to the next, lower timestep: x_{t'} = √ᾱ_{t'} f + √(1−ᾱ_{t'}) z, z ~ N(0, I).
Timesteps come from the teacher's DDIM grid the student was distilled on (k−1, 2k−1, ..., T−1 with
skipping step k = T / original_steps), taking every (original_steps / S)-th from the top.
"""

from __future__ import annotations

import torch

from .sampler import OnStep, _randn_like
from .schedule import NoiseSchedule


def consistency_grid(num_steps: int = 1000, original_steps: int = 50) -> torch.Tensor:
    """The teacher's DDIM grid, ascending: (original_steps,) long = k-1, 2k-1, ..., T-1, k = T / N."""
    if original_steps < 1 or num_steps % original_steps:
        raise ValueError(f"original_steps ({original_steps}) must divide the {num_steps} training steps")
    k = num_steps // original_steps
    return torch.arange(1, original_steps + 1, dtype=torch.long) * k - 1


def boundary_scalings(t: torch.Tensor, timestep_scaling: float = 10.0, sigma_data: float = 0.5):
    """(c_skip, c_out) float64 tensors shaped like ``t``; c_skip(0) = 1, c_out(0) = 0."""
    st = t.double() * float(timestep_scaling)
    s2 = float(sigma_data) ** 2
    return s2 / (st ** 2 + s2), st / (st ** 2 + s2).sqrt()


def guidance_tensor(guidance, batch: int, device) -> torch.Tensor:
    """(batch,) float32 guidance scales from a number or a tensor."""
    return torch.as_tensor(guidance, dtype=torch.float32, device=device).reshape(-1).expand(batch)


class ConsistencySampler:
    """1-to-N step sampler of a consistency-distilled model (same primitives as DDIMSampler).

    Args:
        schedule: the teacher's NoiseSchedule.
        steps: sampling steps S (1 .. original_steps; 1-4 are what distillation is for).
        original_steps: the DDIM grid size the student was distilled on.
        timestep_scaling, sigma_data: the boundary scalings' s and σ.
    Attributes:
        timesteps: (S,) long, descending, first = T-1.
    """

    def __init__(self, schedule: NoiseSchedule, steps: int = 4, original_steps: int = 50,
                 timestep_scaling: float = 10.0, sigma_data: float = 0.5):
        steps = int(steps)
        if not 1 <= steps <= original_steps:
            raise ValueError(f"steps must be between 1 and {original_steps} for this few-step model, got {steps}")
        self.schedule = schedule
        self.steps = steps
        self.eta = 0.0
        self.original_steps = int(original_steps)
        grid = consistency_grid(schedule.num_steps, original_steps).flip(0)
        self.timesteps = grid[:: original_steps // steps][:steps].clone()
        self.timestep_scaling, self.sigma_data = float(timestep_scaling), float(sigma_data)
        self._c_skip, self._c_out = boundary_scalings(self.timesteps, timestep_scaling, sigma_data)
        abar = schedule.alphas_cumprod
        self._abar_t = abar[self.timesteps]
        self._abar_next = torch.cat([abar[self.timesteps[1:]], torch.ones(1, dtype=torch.float64)])

    @classmethod
    def for_model(cls, config, steps: int = 4) -> "ConsistencySampler":
        schedule = NoiseSchedule(config.schedule, config.diffusion_steps)
        return cls(schedule, steps, config.original_steps, config.timestep_scaling, config.sigma_data)

    def __len__(self) -> int:
        return self.steps

    def predict_x0(self, model, x_t: torch.Tensor, i: int, text_emb: torch.Tensor, mask: torch.Tensor | None,
                   guidance: float = 2.5) -> torch.Tensor:
        """f_θ(x_t, t_i, c, w): one denoiser call (guidance is an input, not a second pass).

        Returns (B, ..., D) clean estimate, zero outside ``mask``; differentiable in x_t and the model.
        """
        B = x_t.shape[0]
        t = self.timesteps[i].to(x_t.device).expand(B)
        out = model(x_t, t, text_emb, mask, uncond=False, guidance=guidance_tensor(guidance, B, x_t.device))
        if model.config.prediction == "eps":
            out = self.schedule.predict_x0_from_eps(x_t, t, out)
        f = float(self._c_skip[i]) * x_t + float(self._c_out[i]) * out
        if mask is not None:
            f = f * mask[..., None].to(f.dtype)
        return f

    def step(self, x_t: torch.Tensor, x0_pred: torch.Tensor, i: int, noise: torch.Tensor | None = None,
             generator: torch.Generator | None = None) -> torch.Tensor:
        """Re-noise the clean estimate to the next timestep (the last step returns it as is).

        ``noise`` (like x_t) is z; drawn from ``generator`` (or the global RNG) when None.
        Differentiable in x0_pred.
        """
        if i >= self.steps - 1:
            return x0_pred
        a = float(self._abar_next[i])
        if noise is None:
            noise = _randn_like(x0_pred, generator)
        return a ** 0.5 * x0_pred + (1.0 - a) ** 0.5 * noise

    def sample(self, model, text_emb: torch.Tensor, mask: torch.Tensor, guidance: float = 2.5,
               init_noise: torch.Tensor | None = None, generator: torch.Generator | None = None,
               on_step: OnStep | None = None, grad: bool = False, guide=None) -> torch.Tensor:
        """Run the S steps (same arguments and result as DDIMSampler.sample)."""
        from .sampler import run_sampler
        return run_sampler(self, model, text_emb, mask, guidance, init_noise, generator, on_step, grad, guide)
