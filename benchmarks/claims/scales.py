"""Run sizes of the paper-claims experiment and the methods it compares."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from finetune_efficiency import METHODS as EFFICIENCY_METHODS  # noqa: E402  (one definition of the methods)

METHODS = dict(EFFICIENCY_METHODS)
"""Name -> FinetuneConfig overrides: EasyTune (step/chain, last 10 steps), DRaFT-50 (full backprop at
50 steps), DRaFT-10, DRaFT-LV, ReFL-10, AlignProp, DRTune (the efficiency benchmark's definitions)."""

ABLATIONS = {
    "EasyTune (step), select random:10": dict(method="easytune", select="random:10"),
    "EasyTune (step), select all": dict(method="easytune", select="all"),
    "EasyTune (step), noisy-input reward": dict(method="easytune", select="last:10", reward_target="noisy"),
    "EasyTune (step), reward without SPL": dict(method="easytune", select="last:10", reward="reward_nospl"),
}
"""EasyTune variants run at the equal-trajectory budget with EasyTune (step)'s chosen learning rate;
step vs chain is the main table's two EasyTune rows. ``reward`` names a payload reward checkpoint."""

PAPER = {"memory_ratio_vs_draft50": 0.3116, "time_to_threshold_speedup_vs_draft50": 7.31,
         "mm_dist_gain_vs_draft50": 0.082}
"""The paper's headline numbers (Table 1 and Table 5, MLD on HumanML3D, one RTX A6000)."""


def method_for_steps(kw: dict, steps: int) -> dict:
    """A method's overrides at a trajectory of ``steps`` DDIM steps: DRaFT-50 stays full backprop
    (K = steps); fixed K/M values are capped at ``steps``."""
    out = dict(kw)
    if out.get("method") == "draft" and out.get("k") == 50:
        out["k"] = steps
    for key in ("k", "m"):
        if key in out and out[key]:
            out[key] = min(out[key], steps)
    if str(out.get("select", "")).startswith(("last:", "first:", "random:")):
        kind, k = out["select"].split(":")
        out["select"] = f"{kind}:{min(int(k), steps)}"
    return out


@dataclass(frozen=True)
class Scale:
    """Sizes of one run of the experiment; every method gets the same ones."""

    name: str
    """tiny | cpu | gpu."""
    batch_size: int
    """Prompts per generated trajectory, the same for every method."""
    max_frames: int
    """Cap on the train prompts' dataset lengths (frames) while fine-tuning."""
    trajectories: int
    """Equal-trajectory budget: generated trajectories (of ``batch_size`` prompts) per run."""
    seconds: float
    """Equal-time budget: training wall time per run (evaluation pauses the clock)."""
    seeds: tuple = (0, 1, 2)
    """Seeds of the main runs (prompt order, initial noise, random step draws)."""
    lr_grid: tuple = (1e-5, 3e-5, 1e-4)
    """Learning rates tried per method on val (AdamW, linear warm-up, then constant)."""
    lr_trajectories: int = 0
    """Trajectories of each learning-rate trial (one seed, ``lr_seed``); 0 = ``trajectories``."""
    lr_seed: int = 100
    """Seed of the learning-rate trials (not one of ``seeds``)."""
    warmup_trajectories: int = 2
    """Warm-up length in trajectories (converted to each method's optimiser steps)."""
    sampler_steps: int = 50
    """DDIM steps of the training trajectories and of every evaluation."""
    probe_prompts: int = 16
    """Fixed train prompts (and noise) whose full-sample reward traces reward vs wall-clock."""
    probes: int = 8
    """Reward probes per equal-time budget (evenly spaced in training seconds; continued past it)."""
    val_pairs: int = 256
    """Val caption-motion pairs scored by the evaluator (lr trials and snapshots)."""
    val_rules: int = 64
    """Val rule-check captions per score."""
    val_points: int = 4
    """Val snapshots per equal-time budget (evenly spaced; over-optimisation curves)."""
    val_seeds: tuple = (0,)
    """Seeds of the main runs whose snapshots are scored on val."""
    test_pairs: int = 1000
    """Test pairs scored by the evaluator for every final model (the same pairs and noise for all)."""
    test_rules: int = 256
    """Test rule-check captions per final model."""
    eval_batch: int = 128
    """Generation batch of the evaluations (pairs are grouped by length)."""
    memory_steps: tuple = (10, 20, 50, 100)
    """Trajectory lengths (DDIM steps) of the memory-vs-steps part."""
    memory_batch: int = 4
    """Batch of the memory-vs-steps part (fixed ``memory_frames`` per sample)."""
    memory_frames: int = 60
    memory_updates: int = 2
    """Optimiser steps per memory measurement."""
    grad_batches: int = 2
    """Trajectory batches averaged in the gradient-norm-per-step part."""
    grad_batch: int = 8
    grad_frames: int = 60
    ablation_seeds: tuple = (0, 1, 2)
    train_prompts: int = 8000
    """Train-split captions in the payload (the prompt pool of every run)."""
    threads: int = 2
    """torch CPU threads."""
    precision: str = "auto"
    """Arithmetic of fine-tuning, evaluations and probes: fp32, bf16, fp16, or auto = fp16 AMP on
    CUDA, bf16 autocast on a CPU with bf16 units, else fp32 (bf16 is emulated, ~5x slower, on AVX2)."""
    clock: str = "wall"
    """What the equal-time budget and the time axes count: "wall" (wall-clock seconds of training) or
    "cpu" (the process's CPU seconds / threads: wall time on an otherwise idle machine, robust when
    other jobs share the CPU)."""
    isolate_memory: bool = True
    """Measure memory in a fresh process per method and length (CPU: peak RSS never goes down within
    a process); off on CUDA, where ``max_memory_allocated`` is reset between measurements."""
    notes: str = ""
    extra: dict = field(default_factory=dict)

    def __post_init__(self):
        if self.batch_size < 1 or self.trajectories < 1 or self.seconds <= 0:
            raise ValueError("batch_size, trajectories and seconds must be positive")
        if len(self.seeds) < 1 or len(self.lr_grid) < 1:
            raise ValueError("need at least one seed and one learning rate")
        if self.val_pairs < 32 or self.test_pairs < 32:
            raise ValueError("R-Precision uses groups of 32: val_pairs and test_pairs must be >= 32")
        if self.clock not in ("wall", "cpu"):
            raise ValueError(f"clock must be 'wall' or 'cpu', got {self.clock!r}")
        if not set(self.val_seeds) <= set(self.seeds):
            raise ValueError(f"val_seeds {self.val_seeds} must be among seeds {self.seeds}")

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


SCALES = {
    "tiny": Scale(name="tiny", batch_size=2, max_frames=24, trajectories=3, seconds=0.6, seeds=(0, 1, 2),
                  lr_grid=(1e-4, 1e-3), lr_trajectories=2, warmup_trajectories=1, sampler_steps=10,
                  probe_prompts=2, probes=3, val_pairs=32, val_rules=2, val_points=2, val_seeds=(0,),
                  test_pairs=32, test_rules=2, eval_batch=32, memory_steps=(5, 10), memory_batch=2,
                  memory_frames=16, memory_updates=1, grad_batches=1, grad_batch=2, grad_frames=16,
                  ablation_seeds=(0, 1, 2), train_prompts=0, threads=1, precision="fp32", isolate_memory=False,
                  notes="stand-in models and data, for tests only"),
    "cpu": Scale(name="cpu", batch_size=16, max_frames=80, trajectories=30, seconds=240.0,
                 lr_trajectories=15, warmup_trajectories=2, probe_prompts=16, probes=6,
                 val_pairs=128, val_rules=32, val_points=3, val_seeds=(0,), test_pairs=1024, test_rules=128,
                 eval_batch=128, memory_batch=4, memory_frames=60, grad_batches=2, grad_batch=8, grad_frames=60,
                 ablation_seeds=(0, 1, 2), threads=2, clock="cpu", isolate_memory=True,
                 notes="2-core CPU; bf16 autocast where the CPU has bf16 units, else fp32"),
    "gpu": Scale(name="gpu", batch_size=64, max_frames=120, trajectories=20, seconds=8.0,
                 lr_trajectories=10, warmup_trajectories=2, probe_prompts=32, probes=4,
                 val_pairs=256, val_rules=64, val_points=3, val_seeds=(0,), test_pairs=1000,
                 test_rules=128, eval_batch=500, memory_batch=64, memory_frames=120, grad_batches=2,
                 grad_batch=64, grad_frames=120, ablation_seeds=(0, 1, 2), threads=8, isolate_memory=False,
                 notes="one CUDA GPU, fp16 autocast; memory is max_memory_allocated; four calls of under "
                       "10 minutes each on an H100 (estimated, see docs/finetune.md)"),
}


_EVAL = ("sampler_steps", "probe_prompts", "val_pairs", "val_rules", "test_pairs", "test_rules", "eval_batch",
         "precision", "train_prompts")
_RUN = ("batch_size", "max_frames", "warmup_trajectories", "clock") + _EVAL
USES = {
    "base": _EVAL,
    "memory": ("memory_batch", "memory_frames", "memory_updates", "precision"),
    "gradnorm": ("grad_batches", "grad_batch", "grad_frames", "sampler_steps", "precision"),
    "lr": ("lr_trajectories", "lr_seed", "trajectories") + _RUN,
    "main": ("lr_grid", "lr_trajectories", "lr_seed", "trajectories", "seconds", "probes", "val_points",
             "val_seeds") + _RUN,
    "ablation": ("lr_grid", "lr_trajectories", "lr_seed", "trajectories") + _RUN,
}
"""Scale fields each part's saved units depend on: ``--resume`` refuses to change them once that part
has results (sizes of parts not run yet may still change, e.g. after reading ``--plan``)."""
