"""Named fine-tuning recipes: ``python -m easytune_core finetune --preset NAME --out DIR``.

A preset fixes every setting of a recipe that changes the result (method, steps chosen, batch,
learning rate, schedule, lengths, precision, seed), so the README, the docs and the command that
made a shipped checkpoint cannot drift apart: the tests compare each preset with the configuration
recorded in the checkpoint it reproduces, and with the commands the docs print. Flags given on the
command line still override a preset's values.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["Preset", "PRESETS", "get_preset"]


@dataclass(frozen=True)
class Preset:
    """A named recipe."""

    name: str
    """What ``--preset`` takes."""
    description: str
    """One line for ``--help`` and the docs."""
    finetune: dict = field(default_factory=dict)
    """FinetuneConfig fields (the recipe itself)."""
    command: dict = field(default_factory=dict)
    """FinetuneCommand fields the recipe needs (e.g. float16 storage); paths and threads stay the user's."""
    reproduces: str | None = None
    """Checkpoint folder (relative to the repository) whose recorded config this preset must equal."""


EASYTUNE_SHIPPED = Preset(
    name="easytune-shipped",
    description=("the shipped assets/checkpoints/easytune: EasyTune (step) on the last 10 of 50 DDIM steps, x0 reward, "
                 "64 train-split prompts per trajectory, 1,000 optimiser steps at lr 1e-5 (20 warm-up), lengths capped "
                 "at 120 frames, full fine-tuning, a snapshot every 250 steps, float16 storage (docs/finetune.md)"),
    finetune=dict(method="easytune", select="last:10", weighting="uniform", reward_target="x0", sampler_steps=50,
                  guidance=2.5, lr=1e-5, warmup=20, weight_decay=0.0, grad_clip=1.0, reward_scale=1.0,
                  reg_weight=0.0, batch_size=64, frames=0, max_frames=120, max_steps=1000, lora_rank=0,
                  lora_alpha=0.0, precision="auto", keep_every=250, seed=0),
    command=dict(half_weights=True, split="train"),
    reproduces="assets/checkpoints/easytune",
)

PRESETS: dict[str, Preset] = {p.name: p for p in (EASYTUNE_SHIPPED,)}


def get_preset(name: str) -> Preset:
    """The preset called ``name``; a ValueError lists the known ones otherwise."""
    try:
        return PRESETS[name]
    except KeyError:
        raise ValueError(f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}") from None
