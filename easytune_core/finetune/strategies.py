"""EasyTune and the baselines it is measured against, as strategies over the one sampling loop.

Sampler steps are indexed i = 0..S-1 (0 = highest noise, S-1 = last step, which lands on x0).
All losses are −λ·mean_batch(R): the batch mean as a tensor, so the reward's gradient reaches every sample
(docs/method.md).
"""

from __future__ import annotations

import torch

from .config import FinetuneConfig
from .loop import LoopContext, Strategy, select_steps, step_weights


class EasyTuneStep(Strategy):
    """EasyTune, step optimisation (paper Eq. 6-8; docs/method.md): at each selected step of the model's own
    trajectory, x_{t-1} = π_θ(sg(x_t)); loss −w_t·R on x̂0 (reward step 0) or on x_{t-1} with the
    noise-aware reward at its step; back-propagate through this one denoiser call; optimiser
    step at once (later steps use the updated θ); detach."""

    name = "easytune"

    def __init__(self, select: str = "last:10", weighting: str = "uniform", reward_target: str = "x0",
                 reward_scale: float = 1.0):
        self.select, self.weighting, self.reward_target = select, weighting, reward_target
        self.reward_scale = reward_scale
        self.steps: set[int] = set()
        self.weights: dict[int, float] = {}

    def begin(self, ctx: LoopContext) -> None:
        chosen = select_steps(self.select, ctx.num_steps, ctx.generator)
        self.steps, self.weights = set(chosen), step_weights(chosen, self.weighting)

    def grad_at(self, i: int) -> bool:
        return i in self.steps

    def model_input(self, i: int, x: torch.Tensor) -> torch.Tensor:
        return x.detach()  # sg(x_t): Eq.7, only the direct term of Eq.4 survives

    def after_step(self, ctx, i, x_in, x0, x_next):
        if i in self.steps:
            if self.reward_target == "x0":
                r = ctx.score(x0)
            else:
                r = ctx.score(x_next, i + 1)
            loss = -self.reward_scale * self.weights[i] * r.mean() + ctx.regulariser(i, x_in, x0)
            ctx.update(loss, r.detach())
        return x_next.detach()


class EasyTuneChain(EasyTuneStep):
    """EasyTune, chain optimisation: the trajectory is sampled with a frozen θ; every selected
    step's gradient is applied to a copy θ′ (the trainer's chain update), and θ ← θ′ at the end."""

    name = "easytune-chain"

    def finish(self, ctx, x_final):
        ctx.commit()


class DraftK(Strategy):
    """DRaFT-K: the reward of the final sample is back-propagated through the last K steps
    (including the x_t chain between them); K = S is full backprop ("DRaFT-50")."""

    name = "draft"

    def __init__(self, k: int, reward_scale: float = 1.0):
        self.k, self.reward_scale = k, reward_scale
        self.reg = None
        self.first = 0

    def begin(self, ctx):
        self.first = ctx.num_steps - min(self.k, ctx.num_steps)
        self.reg = None

    def grad_at(self, i):
        return i >= self.first

    def after_step(self, ctx, i, x_in, x0, x_next):
        if self.grad_at(i):
            reg = ctx.regulariser(i, x_in, x0)
            self.reg = reg if self.reg is None else self.reg + reg
        return x_next

    def finish(self, ctx, x_final):
        r = ctx.score(x_final)
        loss = -self.reward_scale * r.mean()
        if self.reg is not None:
            loss = loss + self.reg
        ctx.update(loss, r.detach())


class AlignProp(DraftK):
    """AlignProp: randomised truncated backprop (the truncation length is drawn uniformly from
    1..k_max per trajectory) with gradient checkpointing on every differentiable denoiser call."""

    name = "alignprop"
    use_checkpoint = True

    def __init__(self, k_max: int = 0, reward_scale: float = 1.0):
        super().__init__(k_max, reward_scale)
        self.k_max = k_max

    def begin(self, ctx):
        k_max = self.k_max or ctx.num_steps
        self.first = ctx.num_steps - ctx.randint(1, k_max)
        self.reg = None


class DraftLV(Strategy):
    """DRaFT-LV: sample x0 without gradients, re-noise it n times to the last sampler timestep,
    take one differentiable denoising step from each copy and average their rewards."""

    name = "draft-lv"

    def __init__(self, n: int = 2, reward_scale: float = 1.0):
        self.n, self.reward_scale = n, reward_scale

    def finish(self, ctx, x_final):
        last = ctx.num_steps - 1
        a = ctx.alpha_bar(last)
        loss, rewards = 0.0, []
        for _ in range(self.n):  # (grad mode is the caller's default: the trajectory ran without it)
            noise = torch.randn(x_final.shape, generator=ctx.generator).to(x_final.device)
            x_t = (a ** 0.5) * x_final.detach() + ((1.0 - a) ** 0.5) * noise
            x_t = x_t * ctx.mask.unsqueeze(-1)
            x0 = ctx.predict(last, x_t)
            x_prev = ctx.sampler.step(x_t, x0, last, generator=ctx.generator)
            r = ctx.score(x_prev)
            rewards.append(r.detach())
            loss = loss - self.reward_scale * r.mean() / self.n + ctx.regulariser(last, x_t, x0) / self.n
        ctx.update(loss, torch.stack(rewards).mean(0))


class ReFL(Strategy):
    """ReFL-M: no-grad sampling down to a step drawn from the last M, one differentiable denoiser
    call there, reward of its x̂0 prediction, stop.

    The step is uniform over the last M steps, as in the original ReFL (steps 30-39 of 40 for M = 10);
    EasyTune's released baseline code draws from the last M − 1 (U{50 − M + 1, …, 49})."""

    name = "refl"

    def __init__(self, m: int = 5, reward_scale: float = 1.0):
        self.m, self.reward_scale = m, reward_scale
        self.stop = 0

    def begin(self, ctx):
        self.stop = ctx.randint(ctx.num_steps - min(self.m, ctx.num_steps), ctx.num_steps - 1)

    def grad_at(self, i):
        return i == self.stop

    def model_input(self, i, x):
        return x.detach()

    def after_step(self, ctx, i, x_in, x0, x_next):
        if i == self.stop:
            r = ctx.score(x0)
            ctx.update(-self.reward_scale * r.mean() + ctx.regulariser(i, x_in, x0), r.detach())
        return x_next.detach()

    def stop_after(self, i):
        return i == self.stop


class DRTune(Strategy):
    """DRTune: stop-gradient on the denoiser input only, so gradients still flow along the
    sampler's linear x_t path; only K evenly spaced steps (random offset) train θ; early stop at
    a step drawn uniformly from the last M (like :class:`ReFL`; EasyTune's released code draws from
    the last M − 1), rewarding its x̂0.

    The linear path is taken in the ε view, x̂0_eff = x̂0 + (x_t − sg(x_t))/√ᾱ_t, which is what an
    ε-prediction model gives under sg on its input; for an x0-prediction model the plain x̂0 would
    carry no x_t path at all.
    """

    name = "drtune"

    def __init__(self, k: int = 10, m: int = 5, reward_scale: float = 1.0):
        self.k, self.m, self.reward_scale = k, m, reward_scale
        self.train: set[int] = set()
        self.stop = 0
        self.reg = None

    def begin(self, ctx):
        s = ctx.num_steps
        k = min(self.k, s)
        stride = s // k
        offset = ctx.randint(0, s - stride * k)
        self.train = {offset + j * stride for j in range(k)}
        self.stop = ctx.randint(s - min(self.m, s), s - 1)
        self.reg = None

    def denoise(self, ctx, i, x):
        trained = i in self.train or i == self.stop
        with torch.set_grad_enabled(trained):
            x0 = ctx.predict(i, x.detach())
        if trained:
            reg = ctx.regulariser(i, x.detach(), x0)
            self.reg = reg if self.reg is None else self.reg + reg
        if x.requires_grad:
            x0 = x0 + (x - x.detach()) / ctx.alpha_bar(i) ** 0.5
        x_next = ctx.sampler.step(x, x0, i, generator=ctx.generator)
        return x, x0, x_next

    def after_step(self, ctx, i, x_in, x0, x_next):
        if i == self.stop:
            r = ctx.score(x0)
            loss = -self.reward_scale * r.mean() + (self.reg if self.reg is not None else 0.0)
            ctx.update(loss, r.detach())
        return x_next

    def stop_after(self, i):
        return i == self.stop


def make_strategy(cfg: FinetuneConfig) -> Strategy:
    """The strategy object for ``cfg.method``."""
    lam = cfg.reward_scale
    if cfg.method == "easytune":
        return EasyTuneStep(cfg.select, cfg.weighting, cfg.reward_target, lam)
    if cfg.method == "easytune-chain":
        return EasyTuneChain(cfg.select, cfg.weighting, cfg.reward_target, lam)
    if cfg.method == "draft":
        return DraftK(cfg.k, lam)
    if cfg.method == "draft-lv":
        return DraftLV(cfg.lv_samples, lam)
    if cfg.method == "refl":
        return ReFL(cfg.m, lam)
    if cfg.method == "alignprop":
        return AlignProp(cfg.k, lam)
    if cfg.method == "drtune":
        return DRTune(cfg.k, cfg.m, lam)
    raise ValueError(f"unknown method {cfg.method!r}")
