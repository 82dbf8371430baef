"""DDIM / DDPM samplers with classifier-free guidance, built from two primitives.

``predict_x0`` (one guided denoiser call) and ``step`` (the update x_t -> x_{t-1}) are
pure functions of their inputs, differentiable and side-effect free, so fine-tuning
strategies can compose their own loops; ``sample`` is the plain loop with a per-step hook
and an optional :class:`Guide` that may change the state (inpainting, path control, blended
windows: ``easytune_core.edit``).
"""

from __future__ import annotations

import contextlib
from typing import Callable, Protocol

import torch

from .schedule import NoiseSchedule

OnStep = Callable[[int, int, torch.Tensor, torch.Tensor], None]


class Guide(Protocol):
    """What a sampler's ``sample`` consults at every step when a guide is given.

    ``x0(i, x_t, x0_pred)`` returns the x0 estimate the step uses (e.g. with known values
    re-imposed); ``x_next(i, x_next, abar_next)`` returns the state handed to the next step,
    where ``abar_next`` is the cumulative alpha of that state's noise level (1.0 after the last
    step). Both get and return (B, T, D) tensors in the model's (normalised) space.
    """

    def x0(self, i: int, x_t: torch.Tensor, x0_pred: torch.Tensor) -> torch.Tensor: ...

    def x_next(self, i: int, x_next: torch.Tensor, abar_next: float) -> torch.Tensor: ...


SPACINGS = ("trailing", "even", "strided", "leading")


def check_guidance_interval(interval) -> list[float]:
    """Validated ``[lo, hi]`` guidance interval (fractions of the diffusion process, 0 <= lo <= hi <= 1)."""
    try:
        lo, hi = (float(v) for v in interval)
    except (TypeError, ValueError):
        raise ValueError(f"guidance_interval must be two numbers [lo, hi], got {interval!r}") from None
    if not 0.0 <= lo <= hi <= 1.0:
        raise ValueError(f"guidance_interval must satisfy 0 <= lo <= hi <= 1, got [{lo:g}, {hi:g}]")
    return [lo, hi]


def spaced_timesteps(num_steps: int, count: int, spacing: str = "trailing", offset: int = 0) -> torch.Tensor:
    """Which ``count`` of the ``num_steps`` training timesteps a sampler visits, descending (long).

    Args:
        spacing: "trailing": T-1, then every T/count steps down (the first input is pure noise);
            "leading": multiples of T // count counted from 0, plus ``offset`` (diffusers'
            default; MLD uses it with offset 1, so 50 steps visit 981, 961, ..., 1);
            "even": count points evenly over [0, T-1], both ends included, rounded to the nearest
            integer (round-half-to-even) as guided-diffusion / MDM's ``space_timesteps(T, [count])``;
            "strided": 0, s, 2s, ... with the integer stride s giving exactly ``count`` steps, as
            their "ddim<count>" respacing (ValueError when no stride does).
    """
    T, count = int(num_steps), int(count)
    if not 1 <= count <= T:
        raise ValueError(f"steps must be between 1 and {T} (the training steps), got {count}")
    if spacing == "trailing":
        ts = torch.round(T - torch.arange(count, dtype=torch.float64) * (T / count)).long() - 1
        return ts
    if spacing == "leading":
        ts = torch.arange(count - 1, -1, -1, dtype=torch.long) * (T // count) + int(offset)
        if int(ts[0]) >= T:
            raise ValueError(f"steps offset {offset} puts the first timestep past {T - 1}")
        return ts
    if spacing == "even":
        stride = (T - 1) / (count - 1) if count > 1 else 1.0
        taken, cur = [], 0.0
        for _ in range(count):
            taken.append(round(cur))  # accumulated float and Python's rounding, as the published code
            cur += stride
        return torch.tensor(sorted(set(taken), reverse=True), dtype=torch.long)
    if spacing == "strided":
        for stride in range(1, T):
            if len(range(0, T, stride)) == count:
                return torch.tensor(list(range(0, T, stride))[::-1], dtype=torch.long)
        if count == T:
            return torch.arange(T - 1, -1, -1)
        raise ValueError(f"no integer stride gives exactly {count} of {T} steps; use spacing 'even' or 'trailing'")
    raise ValueError(f"spacing must be one of {SPACINGS}, got {spacing!r}")


def _randn_like(x: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    # Draw on the generator's device (CPU generators give the same numbers on any machine).
    dev = generator.device if generator is not None else x.device
    return torch.randn(x.shape, generator=generator, device=dev, dtype=torch.float32).to(x.device, x.dtype)


class DDIMSampler:
    """DDIM (Song et al. 2021) over a subset of the training timesteps.

    Args:
        schedule: the model's :class:`NoiseSchedule`.
        steps: number of denoising steps S (1 .. schedule.num_steps).
        eta: 0 = deterministic DDIM; 1 with steps = num_steps is DDPM's ancestral sampler.
        spacing: which timesteps (see :func:`spaced_timesteps`): "trailing" (default; starts at
            T-1), "even" or "strided" (MDM's respacings; with them this is MDM's
            ``ddim_sample_loop`` on the respaced process), "leading" (diffusers' DDIM, with
            ``steps_offset``: MLD's). All agree when S = T.
        final_alpha_one: ᾱ after the last step is 1 (True) or ᾱ_0 (diffusers' set_alpha_to_one=False).
        guidance_interval: [lo, hi], the steps whose timestep / num_steps lies in it apply
            classifier-free guidance; the others call the conditional model alone (default: all).
    Attributes:
        timesteps: (S,) long, descending training timesteps (what the model is called with).
    """

    def __init__(self, schedule: NoiseSchedule, steps: int = 50, eta: float = 0.0, spacing: str = "trailing",
                 steps_offset: int = 0, final_alpha_one: bool = True, guidance_interval=(0.0, 1.0)):
        if isinstance(steps, bool) or int(steps) < 1:
            raise ValueError(f"steps must be at least 1, got {steps}")
        steps = int(steps)
        if steps > schedule.num_steps:
            raise ValueError(f"steps must be at most {schedule.num_steps} (the training steps), got {steps}")
        if not 0.0 <= float(eta) <= 1.0:
            raise ValueError(f"eta must be between 0 and 1, got {eta}")
        self.schedule = schedule
        self.eta = float(eta)
        self.spacing = spacing
        self.guidance_interval = check_guidance_interval(guidance_interval)
        ts = spaced_timesteps(schedule.num_steps, steps, spacing, steps_offset)
        self.steps = steps = len(ts)
        self.timesteps = ts
        abar = schedule.alphas_cumprod
        self._abar_t = abar[ts]
        final = torch.ones(1, dtype=torch.float64) if final_alpha_one else abar[:1].clone()
        self._abar_prev = torch.cat([abar[ts[1:]], final])

    @classmethod
    def for_model(cls, config, steps: int = 50, eta: float = 0.0) -> "DDIMSampler":
        """The DDIM sampler a model config asks for (schedule, spacing, offset, final ᾱ)."""
        schedule = NoiseSchedule(config.schedule, config.diffusion_steps)
        return cls(schedule, steps, eta, spacing=getattr(config, "timestep_spacing", "trailing"),
                   steps_offset=getattr(config, "steps_offset", 0),
                   final_alpha_one=getattr(config, "set_alpha_to_one", True))

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
        guidance = float(guidance) if self.guided(i) else 1.0
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
        mask = _frame_mask(model, mask)
        if mask is not None:
            out = out * mask[..., None].to(out.dtype)
        return out

    def guided(self, i: int) -> bool:
        """Whether step index i applies classifier-free guidance: its timestep, as a fraction of the
        schedule's, lies in ``guidance_interval`` (outside it the conditional model runs alone)."""
        lo, hi = self.guidance_interval
        if lo <= 0.0 and hi >= 1.0:
            return True
        frac = float(self.timesteps[i]) / self.schedule.num_steps
        return lo <= frac <= hi

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
            text_emb: (B, text_dim); mask: (B, T) bool True = valid frame (latent models: (B, L) all True).
            init_noise: (B, T, D) x_T; drawn from ``generator`` when None.
            on_step: called as on_step(i, t, x_t, x0_pred) at each step (tensors detached unless grad;
                x0_pred is the estimate the step uses, after the guide).
            grad: keep the autograd graph (default off: sampling runs under no_grad).
            guide: optional :class:`Guide`; without one the loop is the plain DDIM loop.
        Returns:
            (B, T, D) x0, zero on padded frames.
        """
        return run_sampler(self, model, text_emb, mask, guidance, init_noise, generator, on_step, grad, guide)


def run_sampler(sampler, model, text_emb: torch.Tensor, mask: torch.Tensor, guidance: float = 2.5,
                init_noise: torch.Tensor | None = None, generator: torch.Generator | None = None,
                on_step: OnStep | None = None, grad: bool = False, guide: Guide | None = None) -> torch.Tensor:
    """The loop over a sampler's ``predict_x0`` and ``step`` (see DDIMSampler.sample); with a guide,
    its ``x0`` and ``x_next`` are consulted at every step (the noise level of the next state is the
    sampler's ``_abar_prev`` for DDIM/DDPM, ``_abar_next`` for the consistency sampler)."""
    B, T = mask.shape
    D = getattr(model.config, "state_dim", None) or model.config.feature_dim
    if init_noise is None:
        init_noise = torch.randn((B, T, D), generator=generator,
                                 device=generator.device if generator is not None else "cpu")
    if tuple(init_noise.shape) != (B, T, D):
        raise ValueError(f"init_noise must have shape {(B, T, D)}, got {tuple(init_noise.shape)}")
    device = next(model.parameters()).device
    x = init_noise.to(device=device, dtype=torch.float32)
    mask = mask.to(device)
    text_emb = text_emb.to(device)
    # Models that do not mask frames (MDM's first release) denoise padded frames like valid ones.
    m = mask[..., None].float() if _frame_mask(model, mask) is not None else torch.ones_like(mask[..., None], dtype=torch.float32)
    abar_next = getattr(sampler, "_abar_prev", None)
    if abar_next is None:
        abar_next = sampler._abar_next
    reuse = getattr(model, "reuse_text", None)  # token models: project the text once per run
    with torch.set_grad_enabled(grad), (reuse() if reuse is not None and not grad else contextlib.nullcontext()):
        for i in range(sampler.steps):
            x0 = sampler.predict_x0(model, x, i, text_emb, mask, guidance)
            if guide is not None:
                x0 = guide.x0(i, x, x0) * m
            if on_step is not None:
                on_step(i, int(sampler.timesteps[i]), x if grad else x.detach(), x0 if grad else x0.detach())
            x = sampler.step(x, x0, i, generator=generator) * m
            if guide is not None:
                x = guide.x_next(i, x, float(abar_next[i])) * m
    return x


def _frame_mask(model, mask):
    """``mask``, or None for a model configured to treat padded frames like valid ones."""
    cfg = getattr(model, "config", None)
    return mask if getattr(cfg, "mask_frames", True) else None


class DDPMSampler(DDIMSampler):
    """Ancestral DDPM (Ho et al. 2020): x_{t-1} ~ q(x_{t-1} | x_t, x0_pred) with the posterior
    ("sigma_small") variance, no noise at the last step; MDM's ``p_sample_loop``.

    Args:
        schedule: the model's :class:`NoiseSchedule`.
        steps: None (default) = every training step; fewer runs on the respaced process
            (:meth:`NoiseSchedule.respace`) over ``spaced_timesteps(T, steps, spacing)``.
        spacing: "even" (default, MDM's ``space_timesteps``), "strided" or "trailing".
    Attributes:
        timesteps: (S,) long, descending training timesteps; ``process`` is the respaced schedule.
    """

    def __init__(self, schedule: NoiseSchedule, steps: int | None = None, spacing: str = "even",
                 guidance_interval=(0.0, 1.0)):
        super().__init__(schedule, steps=schedule.num_steps if steps is None else steps, eta=1.0, spacing=spacing,
                         guidance_interval=guidance_interval)
        self.process = schedule.respace(self.timesteps)

    def posterior(self, x_t: torch.Tensor, x0_pred: torch.Tensor, i: int):
        """Mean (B, ...) and log-variance (B, 1, ..) of p(x_{t_prev} | x_t) at step index i."""
        k = torch.full((x_t.shape[0],), self.steps - 1 - i, dtype=torch.long)
        mean, _ = self.process.posterior_mean_variance(x0_pred, x_t, k)
        return mean, self.process.posterior_log_variance(k, x_t)

    def step(self, x_t, x0_pred, i, noise=None, generator=None):
        mean, log_var = self.posterior(x_t, x0_pred, i)
        if i == self.steps - 1:
            return mean
        if noise is None:
            noise = _randn_like(x_t, generator)
        return mean + torch.exp(0.5 * log_var) * noise
