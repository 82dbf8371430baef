"""Noise schedules of the forward diffusion process (MDM's cosine, MLD's scaled-linear)."""

from __future__ import annotations

import math

import torch


def cosine_betas(num_steps: int, s: float = 0.008, max_beta: float = 0.999) -> torch.Tensor:
    """Nichol & Dhariwal's cosine schedule (as MDM uses): alpha_bar(t) = cos^2((t/T + s)/(1+s) * pi/2)."""
    def alpha_bar(u: float) -> float:
        return math.cos((u + s) / (1 + s) * math.pi / 2) ** 2
    betas = [min(1 - alpha_bar((i + 1) / num_steps) / alpha_bar(i / num_steps), max_beta) for i in range(num_steps)]
    return torch.tensor(betas, dtype=torch.float64)


def scaled_linear_betas(num_steps: int, beta_start: float = 0.00085, beta_end: float = 0.012) -> torch.Tensor:
    """Stable-diffusion / MLD schedule: betas linear in sqrt space, 0.00085 -> 0.012."""
    return torch.linspace(beta_start ** 0.5, beta_end ** 0.5, num_steps, dtype=torch.float64) ** 2


_BETAS = {"cosine": cosine_betas, "scaled_linear": scaled_linear_betas}


class NoiseSchedule:
    """Discrete-time forward process q(x_t | x_0) = N(sqrt(abar_t) x_0, (1 - abar_t) I).

    Args:
        kind: "cosine" (MDM) or "scaled_linear" (MLD).
        num_steps: number of training timesteps T (t in 0..T-1).
    All buffers are float64 tensors of shape (T,); results are cast to the input dtype.
    """

    KINDS = ("cosine", "scaled_linear")

    def __init__(self, kind: str = "cosine", num_steps: int = 1000):
        if kind not in self.KINDS:
            raise ValueError(f"schedule kind must be one of {self.KINDS}, got {kind!r}")
        if int(num_steps) < 2:
            raise ValueError(f"num_steps must be at least 2, got {num_steps}")
        self.kind = kind
        self.num_steps = int(num_steps)
        self.timestep_map = torch.arange(self.num_steps)
        self._set_betas(_BETAS[kind](self.num_steps))

    def respace(self, timesteps) -> "NoiseSchedule":
        """The process restricted to a subset of its timesteps (Nichol & Dhariwal's respacing, as MDM does it).

        Args:
            timesteps: the kept training timesteps (any order, no repeats), e.g. from
                :func:`easytune_core.diffusion.sampler.spaced_timesteps`.
        Returns:
            A NoiseSchedule with ``len(timesteps)`` steps whose betas are
            1 - abar[t_i] / abar[t_{i-1}] (so its abar are the kept ones) and whose
            ``timestep_map[i]`` is the training timestep the model is called with at step i.
            Keeping every timestep returns this schedule itself.
        """
        keep = sorted({int(t) for t in (timesteps.tolist() if torch.is_tensor(timesteps) else timesteps)})
        if not keep or keep[0] < 0 or keep[-1] >= self.num_steps:
            raise ValueError(f"respaced timesteps must lie in 0..{self.num_steps - 1}, got {keep[:1]}..{keep[-1:]}")
        if len(keep) == self.num_steps:
            return self
        out = object.__new__(NoiseSchedule)
        out.kind = self.kind
        out.num_steps = len(keep)
        out.timestep_map = self.timestep_map[keep].clone()
        abar = self.alphas_cumprod[keep]
        prev = torch.cat([torch.ones(1, dtype=torch.float64), abar[:-1]])
        out._set_betas(1.0 - abar / prev)
        return out

    def _set_betas(self, betas: torch.Tensor) -> None:
        self.betas = betas
        self.alphas = 1.0 - self.betas
        self.alphas_cumprod = torch.cumprod(self.alphas, dim=0)
        self.alphas_cumprod_prev = torch.cat([torch.ones(1, dtype=torch.float64), self.alphas_cumprod[:-1]])
        self.sqrt_alphas_cumprod = self.alphas_cumprod.sqrt()
        self.sqrt_one_minus_alphas_cumprod = (1.0 - self.alphas_cumprod).sqrt()
        # Posterior q(x_{t-1} | x_t, x_0) (Ho et al. eq. 7).
        self.posterior_variance = self.betas * (1.0 - self.alphas_cumprod_prev) / (1.0 - self.alphas_cumprod)
        self.posterior_mean_coef1 = self.betas * self.alphas_cumprod_prev.sqrt() / (1.0 - self.alphas_cumprod)
        self.posterior_mean_coef2 = (1.0 - self.alphas_cumprod_prev) * self.alphas.sqrt() / (1.0 - self.alphas_cumprod)

    def to_dict(self) -> dict:
        return {"kind": self.kind, "num_steps": self.num_steps}

    def posterior_log_variance(self, t: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
        """log of the posterior variance, with the t = 0 entry (variance 0) replaced by t = 1's, as in
        Ho et al.'s code and MDM; shaped (B, 1, ..) like :meth:`posterior_mean_variance`'s variance."""
        v = self.posterior_variance
        log_v = torch.log(torch.cat([v[1:2], v[1:]]))
        return self._gather(log_v, t, like)

    @staticmethod
    def _gather(buf: torch.Tensor, t: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
        """buf[t] shaped (B, 1, ..., 1) to broadcast against ``like``."""
        t = torch.as_tensor(t, device=buf.device).long().reshape(-1)
        out = buf[t].to(device=like.device, dtype=like.dtype)
        return out.reshape(-1, *([1] * (like.dim() - 1)))

    def q_sample(self, x0: torch.Tensor, t: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        """Noised sample x_t = sqrt(abar_t) x0 + sqrt(1 - abar_t) noise; x0, noise (B, ...), t (B,) long."""
        return self._gather(self.sqrt_alphas_cumprod, t, x0) * x0 + self._gather(self.sqrt_one_minus_alphas_cumprod, t, x0) * noise

    def posterior_mean_variance(self, x0: torch.Tensor, x_t: torch.Tensor, t: torch.Tensor):
        """Mean (B, ...) and variance (B, 1, ..) of q(x_{t-1} | x_t, x_0); variance is 0 at t = 0."""
        mean = self._gather(self.posterior_mean_coef1, t, x_t) * x0 + self._gather(self.posterior_mean_coef2, t, x_t) * x_t
        return mean, self._gather(self.posterior_variance, t, x_t)

    def predict_x0_from_eps(self, x_t: torch.Tensor, t: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
        """x0 = (x_t - sqrt(1 - abar_t) eps) / sqrt(abar_t)."""
        return (x_t - self._gather(self.sqrt_one_minus_alphas_cumprod, t, x_t) * eps) / self._gather(self.sqrt_alphas_cumprod, t, x_t)

    def predict_eps_from_x0(self, x_t: torch.Tensor, t: torch.Tensor, x0: torch.Tensor) -> torch.Tensor:
        """eps = (x_t - sqrt(abar_t) x0) / sqrt(1 - abar_t)."""
        return (x_t - self._gather(self.sqrt_alphas_cumprod, t, x_t) * x0) / self._gather(self.sqrt_one_minus_alphas_cumprod, t, x_t)
