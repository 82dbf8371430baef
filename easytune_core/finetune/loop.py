"""The one sampling loop that every fine-tuning method runs, with per-step strategy hooks.

A method is a :class:`Strategy` (see ``strategies.py``): it decides at each DDIM step whether the
denoiser call is differentiable, what the denoiser sees (e.g. ``sg(x_t)``), what happens after the
step (EasyTune: loss + optimiser step + detach), whether to stop early, and what to do with the
final sample (DRaFT: reward + one optimiser step). The sampler owns timesteps and the update
rule; the loop never re-implements it.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Callable, Optional

import torch
from torch import nn
from torch.utils.checkpoint import checkpoint

from .config import parse_selection

RewardFn = Callable[[torch.Tensor, torch.Tensor, torch.Tensor, Optional[torch.Tensor]], torch.Tensor]
"""reward(features (B,T,D) normalised model space, mask (B,T) bool, text_emb (B,E), t (B,) long | None)
-> (B,), differentiable in features."""


@dataclass
class LoopContext:
    """What a strategy may use during one trajectory (built by the trainer, or by a test)."""

    model: nn.Module
    """The denoiser being trained; differentiable calls go through it."""
    sampler: object
    """DDIMSampler-like: ``timesteps``, ``predict_x0``, ``step``, ``schedule.alphas_cumprod``."""
    text_emb: torch.Tensor
    """(B, text_dim) prompt embeddings."""
    mask: torch.Tensor
    """(B, T) bool, True = valid frame."""
    reward: RewardFn
    """Differentiable reward, see RewardFn."""
    update: Callable[[torch.Tensor, torch.Tensor], None]
    """update(loss scalar, reward (B,) detached): backward + clip + optimiser step (+ events)."""
    guidance: float = 2.5
    commit: Callable[[], None] = lambda: None
    """Called by the chain variant when its trajectory ends (θ ← θ′)."""
    base_model: Optional[nn.Module] = None
    """Frozen reference for the regulariser (None = no regulariser)."""
    reg_weight: float = 0.0
    generator: Optional[torch.Generator] = None
    """CPU generator for the strategies' random draws (steps, truncation, re-noising)."""
    autocast: Callable[[], contextlib.AbstractContextManager] = contextlib.nullcontext
    reward_text_emb: Optional[torch.Tensor] = None
    """Text embeddings for the reward when its text encoder differs (None = ``text_emb``)."""
    decode: Optional[Callable[[torch.Tensor, torch.Tensor], torch.Tensor]] = None
    """Latent models: decode(state, frame_mask) -> (B, T, D) normalised features through the frozen
    VAE decoder (differentiable), applied before the reward; None = the state is the features."""
    frame_mask: Optional[torch.Tensor] = None
    """Latent models: (B, T) bool mask of the decoded frames (``mask`` is then the latent tokens')."""

    @property
    def num_steps(self) -> int:
        return int(len(self.sampler.timesteps))

    def predict(self, i: int, x_in: torch.Tensor, use_checkpoint: bool = False) -> torch.Tensor:
        """x̂0 = G_θ(x_in, t_i, c) with guidance, in float32; optionally gradient-checkpointed."""
        def call(x: torch.Tensor) -> torch.Tensor:
            with self.autocast():
                out = self.sampler.predict_x0(self.model, x, i, self.text_emb, self.mask, self.guidance)
            return out.float()

        if use_checkpoint and torch.is_grad_enabled():
            return checkpoint(call, x_in, use_reentrant=False)
        return call(x_in)

    def regulariser(self, i: int, x_in: torch.Tensor, x0: torch.Tensor) -> torch.Tensor:
        """reg_weight · mean‖x̂0_θ − x̂0_base‖² on the same input (0 when disabled)."""
        if self.base_model is None or self.reg_weight <= 0:
            return x0.new_zeros(())
        with torch.no_grad(), self.autocast():
            ref = self.sampler.predict_x0(self.base_model, x_in.detach(), i, self.text_emb, self.mask,
                                          self.guidance).float()
        valid = self.mask.unsqueeze(-1).to(x0.dtype)
        diff = ((x0 - ref) ** 2 * valid).sum() / (valid.sum() * x0.shape[-1]).clamp_min(1.0)
        return self.reg_weight * diff

    def score(self, features: torch.Tensor, i_next: Optional[int] = None) -> torch.Tensor:
        """Reward (B,) of ``features`` (the sampler's state; latent states are decoded first);
        ``i_next`` = index of the step whose noise level it has (None or >= num_steps = clean,
        reward step 0)."""
        if i_next is None or i_next >= self.num_steps:
            t = None
        else:
            if self.decode is not None:
                raise ValueError("the noise-aware reward judges noisy motion features, not decoded noisy "
                                 "latents: use reward_target 'x0' with latent models")
            t = self.sampler.timesteps[i_next].to(features.device).long().expand(features.shape[0])
        mask = self.mask
        with self.autocast():
            if self.decode is not None:
                features, mask = self.decode(features, self.frame_mask), self.frame_mask
            text = self.text_emb if self.reward_text_emb is None else self.reward_text_emb
            r = self.reward(features, mask, text, t)
        return r.float()

    def alpha_bar(self, i: int) -> float:
        """ᾱ at the timestep of sampler step i."""
        t = int(self.sampler.timesteps[i])
        return float(self.sampler.schedule.alphas_cumprod[t])

    def randint(self, low: int, high: int) -> int:
        """Uniform integer in [low, high] inclusive, from the context generator."""
        return int(torch.randint(low, high + 1, (1,), generator=self.generator).item())


class Strategy:
    """Per-step hooks over :func:`run_trajectory`. Subclasses override what differs."""

    name = "strategy"
    use_checkpoint = False

    def begin(self, ctx: LoopContext) -> None:
        """Plan the trajectory (random draws happen here)."""

    def grad_at(self, i: int) -> bool:
        """Whether step i's denoiser call and update are recorded by autograd."""
        return False

    def model_input(self, i: int, x: torch.Tensor) -> torch.Tensor:
        """What the denoiser sees at step i (identity by default; sg(x) for EasyTune)."""
        return x

    def denoise(self, ctx: LoopContext, i: int, x: torch.Tensor):
        """One sampler step -> (x_in, x̂0, x_next)."""
        with torch.set_grad_enabled(self.grad_at(i)):
            x_in = self.model_input(i, x)
            x0 = ctx.predict(i, x_in, self.use_checkpoint)
            # the generator feeds samplers that re-noise (few-step models); DDIM with eta 0 draws nothing
            x_next = ctx.sampler.step(x, x0, i, generator=ctx.generator)
        return x_in, x0, x_next

    def after_step(self, ctx: LoopContext, i: int, x_in: torch.Tensor, x0: torch.Tensor,
                   x_next: torch.Tensor) -> torch.Tensor:
        """Return the state carried to step i+1."""
        return x_next

    def stop_after(self, i: int) -> bool:
        return False

    def finish(self, ctx: LoopContext, x_final: torch.Tensor) -> None:
        """Called with the last state (x0 after a full trajectory)."""


def run_trajectory(ctx: LoopContext, strategy: Strategy, x_T: torch.Tensor) -> torch.Tensor:
    """Sample from ``x_T`` (B,T,D) with the sampler, calling the strategy's hooks at every step.

    Returns the final state, detached (x0 for a full trajectory, the last state at an early stop).
    """
    strategy.begin(ctx)
    x = x_T
    for i in range(ctx.num_steps):
        x_in, x0, x_next = strategy.denoise(ctx, i, x)
        x = strategy.after_step(ctx, i, x_in, x0, x_next)
        if strategy.stop_after(i):
            break
    strategy.finish(ctx, x)
    return x.detach()


def select_steps(spec: str, num_steps: int, generator: Optional[torch.Generator] = None) -> list[int]:
    """Sampler-step indices chosen by ``spec`` (see config.parse_selection), ascending.

    Index 0 is the highest-noise step; ``last:K`` are the K lowest-noise steps (released code).
    """
    kind, k = parse_selection(spec, num_steps)
    if kind == "all":
        return list(range(num_steps))
    if kind == "last":
        return list(range(num_steps - k, num_steps))
    if kind == "first":
        return list(range(k))
    return sorted(torch.randperm(num_steps, generator=generator)[:k].tolist())


def step_weights(steps: list[int], weighting: str) -> dict[int, float]:
    """Loss weight w_t per selected step, mean 1 over the selection.

    linear-up grows along the sampling order (most weight on the last, lowest-noise step);
    linear-down is its mirror (most weight on the earliest, highest-noise selected step).
    """
    n = len(steps)
    if weighting == "uniform" or n == 1:
        return {s: 1.0 for s in steps}
    ramp = [2.0 * (j + 1) / (n + 1) for j in range(n)]
    if weighting == "linear-down":
        ramp = ramp[::-1]
    elif weighting != "linear-up":
        raise ValueError(f"weighting must be uniform, linear-up or linear-down, got {weighting!r}")
    return dict(zip(steps, ramp))
