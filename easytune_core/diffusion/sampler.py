"""DDIM / DDPM samplers with classifier-free guidance, built from two primitives.

``predict_x0`` (one guided denoiser call) and ``step`` (the update x_t -> x_{t-1}) are
pure functions of their inputs, differentiable and side-effect free, so fine-tuning
strategies can compose their own loops; ``sample`` is the plain loop with a per-step hook
and an optional :class:`Guide` that may change the state (inpainting, path control, blended
windows: ``easytune_core.edit``).
"""

from __future__ import annotations

from typing import Callable, Protocol

import torch

from .schedule import NoiseSchedule

OnStep = Callable[[int, int, torch.Tensor, torch.Tensor], None]


class Guide(Protocol):
    """What :meth:`DDIMSampler.sample` consults at every step when a guide is given.

    ``x0(i, x_t, x0_pred)`` returns the x0 estimate the step uses (e.g. with known values
    re-imposed); ``x_next(i, x_next, abar_next)`` returns the state handed to the next step,
    where ``abar_next`` is the cumulative alpha of that state's noise level (1.0 after the last
    step). Both get and return (B, T, D) tensors in the model's (normalised) space.
    """

    def x0(self, i: int, x_t: torch.Tensor, x0_pred: torch.Tensor) -> torch.Tensor: ...

    def x_next(self, i: int, x_next: torch.Tensor, abar_next: float) -> torch.Tensor: ...


def _randn_like(x: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    # Draw on the generator's device (CPU generators give the same numbers on any machine).
    dev = generator.device if generator is not None else x.device
    return torch.randn(x.shape, generator=generator, device=dev, dtype=torch.float32).to(x.device, x.dtype)


class DDIMSampler:
    """DDIM (Song et al. 2021) over an evenly spaced subset of the training timesteps.

    Args:
        schedule: the model's :class:`NoiseSchedule`.
        steps: number of denoising steps S (1 .. schedule.num_steps).
        eta: 0 = deterministic DDIM; 1 with steps = num_steps is DDPM's ancestral sampler.
    Attributes:
        timesteps: (S,) long, descending, first = T-1 (pure noise), last >= 0.
    """

    def __init__(self, schedule: NoiseSchedule, steps: int = 50, eta: float = 0.0):
        steps = int(steps)
        if steps < 1:
            raise ValueError(f"steps must be at least 1, got {steps}")
        if steps > schedule.num_steps:
            raise ValueError(f"steps must be at most {schedule.num_steps} (the training steps), got {steps}")
        if not 0.0 <= float(eta) <= 1.0:
            raise ValueError(f"eta must be between 0 and 1, got {eta}")
        self.schedule = schedule
        self.steps = steps
        self.eta = float(eta)
        T = schedule.num_steps
        # "Trailing" spacing: start at T-1 so the first input is pure noise.
        ts = torch.round(T - torch.arange(steps, dtype=torch.float64) * (T / steps)).long() - 1
        self.timesteps = ts
        abar = schedule.alphas_cumprod
        self._abar_t = abar[ts]
        self._abar_prev = torch.cat([abar[ts[1:]], torch.ones(1, dtype=torch.float64)])

    def __len__(self) -> int:
        return self.steps

    def predict_x0(self, model, x_t: torch.Tensor, i: int, text_emb: torch.Tensor, mask: torch.Tensor | None,
                   guidance: float = 2.5) -> torch.Tensor:
        """Guided x0 prediction at step index i.

        Args:
            model: a MotionDenoiser (its train/eval mode is the caller's choice).
            x_t: (B, T, D); text_emb: (B, text_dim); mask: (B, T) bool True = valid.
            guidance: classifier-free guidance weight w; x0 = x0_u + w (x0_c - x0_u). w = 1 runs
                the conditional model only.
        Returns:
            (B, T, D) x0 prediction, zero outside the mask; differentiable in x_t and the model.
        """
        B = x_t.shape[0]
        t = self.timesteps[i].to(x_t.device).expand(B)
        guidance = float(guidance)
        if guidance == 1.0:
            out = model(x_t, t, text_emb, mask, uncond=False)
        else:
            # cond and uncond in one batched forward
            flags = torch.cat([torch.zeros(B, dtype=torch.bool), torch.ones(B, dtype=torch.bool)]).to(x_t.device)
            both = model(torch.cat([x_t, x_t]), torch.cat([t, t]), torch.cat([text_emb, text_emb]),
                         None if mask is None else torch.cat([mask, mask]), uncond=flags)
            cond, unc = both[:B], both[B:]
            out = unc + guidance * (cond - unc)
        if model.config.prediction == "eps":
            out = self.schedule.predict_x0_from_eps(x_t, t, out)
        if mask is not None:
            out = out * mask[..., None].to(out.dtype)
        return out

    def step(self, x_t: torch.Tensor, x0_pred: torch.Tensor, i: int, noise: torch.Tensor | None = None,
             generator: torch.Generator | None = None) -> torch.Tensor:
        """DDIM update from step index i to i+1 (x_{t_prev}); differentiable in x_t and x0_pred.

        x_prev = sqrt(abar_prev) x0 + sqrt(1 - abar_prev - sigma^2) eps + sigma z,
        sigma = eta sqrt((1 - abar_prev)/(1 - abar_t)) sqrt(1 - abar_t/abar_prev).
        ``noise`` (same shape as x_t) is z; drawn from ``generator`` when None and sigma > 0.
        """
        a_t = float(self._abar_t[i])
        a_prev = float(self._abar_prev[i])
        eps = (x_t - a_t ** 0.5 * x0_pred) / (1.0 - a_t) ** 0.5
        sigma = self.eta * ((1 - a_prev) / (1 - a_t)) ** 0.5 * max(1 - a_t / a_prev, 0.0) ** 0.5
        x_prev = a_prev ** 0.5 * x0_pred + max(1 - a_prev - sigma ** 2, 0.0) ** 0.5 * eps
        if sigma > 0:
            if noise is None:
                noise = _randn_like(x_t, generator)
            x_prev = x_prev + sigma * noise
        return x_prev

    def sample(self, model, text_emb: torch.Tensor, mask: torch.Tensor, guidance: float = 2.5,
               init_noise: torch.Tensor | None = None, generator: torch.Generator | None = None,
               on_step: OnStep | None = None, grad: bool = False, guide: Guide | None = None) -> torch.Tensor:
        """Run the full reverse process.

        Args:
            text_emb: (B, text_dim); mask: (B, T) bool True = valid frame.
            init_noise: (B, T, D) x_T; drawn from ``generator`` when None.
            on_step: called as on_step(i, t, x_t, x0_pred) at each step (tensors detached unless grad;
                x0_pred is the estimate the step uses, after the guide).
            grad: keep the autograd graph (default off: sampling runs under no_grad).
            guide: optional :class:`Guide`; without one the loop is the plain DDIM loop.
        Returns:
            (B, T, D) x0, zero on padded frames.
        """
        B, T = mask.shape
        D = model.config.feature_dim
        if init_noise is None:
            init_noise = torch.randn((B, T, D), generator=generator,
                                     device=generator.device if generator is not None else "cpu")
        if tuple(init_noise.shape) != (B, T, D):
            raise ValueError(f"init_noise must have shape {(B, T, D)}, got {tuple(init_noise.shape)}")
        device = next(model.parameters()).device
        x = init_noise.to(device=device, dtype=torch.float32)
        mask = mask.to(device)
        text_emb = text_emb.to(device)
        m = mask[..., None].float()
        with torch.set_grad_enabled(grad):
            for i in range(self.steps):
                x0 = self.predict_x0(model, x, i, text_emb, mask, guidance)
                if guide is not None:
                    x0 = guide.x0(i, x, x0) * m
                if on_step is not None:
                    on_step(i, int(self.timesteps[i]), x if grad else x.detach(), x0 if grad else x0.detach())
                x = self.step(x, x0, i, generator=generator) * m
                if guide is not None:
                    x = guide.x_next(i, x, float(self._abar_prev[i])) * m
        return x


class DDPMSampler(DDIMSampler):
    """Ancestral DDPM (Ho et al. 2020) over all training steps, using the posterior q(x_{t-1}|x_t,x0)."""

    def __init__(self, schedule: NoiseSchedule):
        super().__init__(schedule, steps=schedule.num_steps, eta=1.0)

    def step(self, x_t, x0_pred, i, noise=None, generator=None):
        t = self.timesteps[i].expand(x_t.shape[0])
        mean, var = self.schedule.posterior_mean_variance(x0_pred, x_t, t)
        if int(self.timesteps[i]) == 0:
            return mean
        if noise is None:
            noise = _randn_like(x_t, generator)
        return mean + var.sqrt() * noise
