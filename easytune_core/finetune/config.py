"""Typed configuration of a reward fine-tuning run (saved as ``config.json`` in the run folder)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from ..limits import DEFAULT_GUIDANCE, DEFAULT_STEPS

METHODS = ("easytune", "easytune-chain", "draft", "draft-lv", "refl", "alignprop", "drtune")
WEIGHTINGS = ("uniform", "linear-up", "linear-down")
REWARD_TARGETS = ("x0", "noisy")
PRECISIONS = ("auto", "fp32", "bf16", "fp16")


def parse_selection(spec: str, num_steps: int) -> tuple[str, int]:
    """Parse a step-selection spec ``last:K | first:K | all | random:K`` -> (kind, K).

    ``K`` counts sampler steps (indices into the DDIM timesteps, 0 = highest noise).
    Raises ValueError naming the fix when the spec is malformed or K exceeds ``num_steps``.
    """
    spec = spec.strip().lower()
    if spec == "all":
        return "all", num_steps
    kind, _, k_text = spec.partition(":")
    if kind not in ("last", "first", "random") or not k_text:
        raise ValueError(f"step selection must be 'last:K', 'first:K', 'random:K' or 'all', got {spec!r}")
    try:
        k = int(k_text)
    except ValueError:
        raise ValueError(f"step selection K must be an integer, got {k_text!r} in {spec!r}") from None
    if not 1 <= k <= num_steps:
        raise ValueError(f"step selection K must be between 1 and the {num_steps} sampler steps, got {k}")
    return kind, k


@dataclass
class FinetuneConfig:
    """Everything that defines a fine-tuning run; validated on construction."""

    method: str = field(default="easytune", metadata={"choices": METHODS})
    """One of METHODS: easytune (step), easytune-chain, draft, draft-lv, refl, alignprop, drtune."""
    sampler_steps: int = DEFAULT_STEPS
    """DDIM steps of the sampling trajectory the methods train on (eta = 0)."""
    guidance: float = DEFAULT_GUIDANCE
    """Classifier-free guidance scale used while sampling the trajectory."""
    select: str = "last:10"
    """EasyTune step selection: 'last:K', 'first:K', 'random:K' (redrawn per trajectory) or 'all'."""
    weighting: str = field(default="uniform", metadata={"choices": WEIGHTINGS})
    """EasyTune per-step loss weight w_t: uniform, linear-up (grows toward the low-noise end), linear-down."""
    reward_target: str = field(default="x0", metadata={"choices": REWARD_TARGETS})
    """EasyTune: 'x0' = reward of the one-step prediction x̂0 at reward step 0 (released code);
    'noisy' = reward of the new state x_{t-1} with the noise-aware reward at its step (paper Eq.12)."""
    k: int = 10
    """DRaFT-K: last K steps back-propagated; DRTune: number of evenly spaced trained steps;
    AlignProp: the largest truncation length (0 = all steps)."""
    m: int = 5
    """ReFL-M / DRTune early stop: the stop step is drawn from the last M sampler steps."""
    lv_samples: int = 2
    """DRaFT-LV: number of re-noised copies of x0 whose one-step rewards are averaged."""
    lr: float = 1e-5
    """AdamW learning rate (after warm-up). Must be in (0, 0.1]."""
    warmup: int = 10
    """Linear learning-rate warm-up length, in optimiser steps."""
    weight_decay: float = 0.0
    """AdamW weight decay."""
    grad_clip: float = 1.0
    """Gradient-norm clip applied before every optimiser step."""
    reward_scale: float = 1.0
    """λ in loss = −λ·w_t·mean(R)."""
    reg_weight: float = 0.0
    """Weight of the regulariser toward the frozen base: mean squared distance of predicted x0s (0 = off)."""
    batch_size: int = 8
    """Prompts per trajectory (per process under torchrun)."""
    frames: int = 0
    """Fixed motion length in frames for every sample; 0 = use each prompt's dataset length."""
    max_frames: int = 120
    """Cap on dataset lengths (frames), to bound CPU cost."""
    max_steps: int = field(default=100, metadata={"flag": "--steps", "aliases": ("--max-steps",)})
    """Optimiser steps to run (EasyTune takes one per selected sampler step)."""
    max_seconds: float = field(default=0.0, metadata={"cli": False})
    """Stop after this much wall time, in seconds (0 = no limit; on the command line: --minutes);
    a checkpoint is saved either way."""
    target_reward: float = 0.0
    """Stop once the mean reward of the last 5 optimiser steps reaches this value (0 = never)."""
    lora_rank: int = 0
    """0 = full fine-tuning of the denoiser; > 0 = LoRA of this rank on attention and feed-forward layers."""
    lora_alpha: float = 0.0
    """LoRA scale numerator (scale = alpha / rank); 0 means alpha = rank."""
    precision: str = field(default="auto", metadata={"choices": PRECISIONS})
    """auto (bf16 autocast on CPU, fp16 AMP on CUDA), fp32, bf16 or fp16."""
    save_every: int = 0
    """Save a checkpoint every N optimiser steps (0 = only at the end)."""
    keep_every: int = 0
    """Also keep a copy of the weights every N optimiser steps in snapshots/step-NNNNNN/ (0 = off),
    for choosing a checkpoint afterwards on held-out prompts (``python -m easytune_core select``)."""
    seed: int = 0
    """Seed for prompts, initial noise and random step draws."""
    extra: dict = field(default_factory=dict, metadata={"cli": False})
    """Free-form notes kept with the config (e.g. the command line)."""

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"unknown method {self.method!r}; choose one of {', '.join(METHODS)}")
        if self.sampler_steps < 1:
            raise ValueError(f"sampler_steps must be at least 1, got {self.sampler_steps}")
        if self.method.startswith("easytune"):
            parse_selection(self.select, self.sampler_steps)
        else:
            parse_selection(self.select, 10 ** 6)  # still well-formed; K is checked when it is used
        if self.weighting not in WEIGHTINGS:
            raise ValueError(f"weighting must be one of {', '.join(WEIGHTINGS)}, got {self.weighting!r}")
        if self.reward_target not in REWARD_TARGETS:
            raise ValueError(f"reward_target must be 'x0' or 'noisy', got {self.reward_target!r}")
        if self.method in ("draft", "drtune") and not 1 <= self.k <= self.sampler_steps:
            raise ValueError(f"--k must be between 1 and the {self.sampler_steps} sampler steps, got {self.k}")
        if self.method == "alignprop" and not 0 <= self.k <= self.sampler_steps:
            raise ValueError(f"--k (AlignProp truncation) must be 0..{self.sampler_steps}, got {self.k}")
        if self.method in ("refl", "drtune") and not 1 <= self.m <= self.sampler_steps:
            raise ValueError(f"--m must be between 1 and the {self.sampler_steps} sampler steps, got {self.m}")
        if self.lv_samples < 1:
            raise ValueError(f"lv_samples must be at least 1, got {self.lv_samples}")
        if not self.lr > 0:
            raise ValueError(f"learning rate must be positive, got {self.lr}")
        if self.lr > 0.1:
            raise ValueError(f"learning rate {self.lr} is absurdly large for fine-tuning; use at most 0.1 (typical: 1e-5 to 1e-3)")
        for name in ("warmup", "frames", "save_every", "keep_every", "lora_rank"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")
        if self.grad_clip <= 0:
            raise ValueError(f"grad_clip must be positive, got {self.grad_clip}")
        if self.reg_weight < 0:
            raise ValueError(f"reg_weight must be >= 0, got {self.reg_weight}")
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {self.batch_size}")
        if self.max_frames < 4:
            raise ValueError(f"max_frames must be at least 4, got {self.max_frames}")
        if self.max_steps < 1:
            raise ValueError(f"max_steps must be at least 1, got {self.max_steps}")
        if self.max_seconds < 0:
            raise ValueError(f"max_seconds must be >= 0, got {self.max_seconds}")
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, got {self.precision!r}")

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "FinetuneConfig":
        """Build from a dict, ignoring unknown keys (so older run folders still load)."""
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})
