"""``python -m easytune_core finetune --method easytune --out runs/easytune``.

Fine-tunes a denoiser checkpoint against a reward checkpoint with EasyTune or a baseline, with a
progress bar; the run folder gets config.json, metrics.jsonl and checkpoint/ (+ lora/).
Under ``torchrun --nproc_per_node N`` the same command trains data-parallel (gloo on CPU, NCCL on
GPUs): every rank samples its own prompts, gradients are averaged, rank 0 writes.
"""

from __future__ import annotations

import argparse
import shlex
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import torch

from ..cli_config import add_config_arguments, config_from_args, config_to_argv
from .config import FinetuneConfig
from .presets import PRESETS, get_preset


@dataclass
class FinetuneCommand:
    """What a ``finetune`` run reads and writes and where it runs; the recipe is :class:`FinetuneConfig`."""

    out: str = field(default="", metadata={"required": True})
    """Run folder (config.json, metrics.jsonl, checkpoint/, snapshots/)."""
    preset: Optional[str] = field(default=None, metadata={"choices": tuple(PRESETS)})
    """A named recipe (easytune_core.finetune.presets); flags given as well override its values.
    easytune-shipped reproduces assets/checkpoints/easytune."""
    base: Optional[str] = None
    """Denoiser to fine-tune: a checkpoint folder or a shipped name (None: the shipped base)."""
    reward: Optional[str] = None
    """Reward: a checkpoint folder or a shipped name (None: the shipped reward)."""
    data: str = "data/builtin"
    """Dataset (HumanML3D layout, or 'builtin' = data/builtin) whose split gives the prompts."""
    split: str = "train"
    """Split the prompts come from."""
    prompt: list[str] = field(default_factory=list)
    """A prompt (repeatable); replaces the split."""
    prompts_file: Optional[str] = None
    """Text file with one prompt per line; replaces the split."""
    minutes: float = 0.0
    """Stop after this much wall time, in minutes (0 = no limit)."""
    resume: bool = False
    """Continue the run in --out."""
    half_weights: bool = False
    """Store checkpoint weights as float16."""
    device: Optional[str] = None
    """cpu or cuda (default: cuda when present)."""
    threads: int = 0
    """torch CPU threads (0 = leave as is)."""

    def __post_init__(self):
        if not str(self.out).strip():
            raise ValueError("out is required: the run folder to write (--out runs/easytune)")
        if self.preset is not None:
            get_preset(self.preset)
        if self.minutes < 0 or self.threads < 0:
            raise ValueError("--minutes and --threads must not be negative")


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_config_arguments(p, FinetuneCommand)
    add_config_arguments(p.add_argument_group("recipe (FinetuneConfig; --preset sets these too)"), FinetuneConfig)


def configs_from_args(args) -> tuple[FinetuneCommand, FinetuneConfig]:
    """(command, recipe) from parsed options laid over the preset, if one is named, and the defaults."""
    name = getattr(args, "preset", None) if not isinstance(args, dict) else args.get("preset")
    preset = get_preset(name) if name else None
    cmd = config_from_args(FinetuneCommand, args, base=preset.command if preset else None)
    overrides = {"max_seconds": 60.0 * cmd.minutes} if cmd.minutes else {}
    cfg = config_from_args(FinetuneConfig, args, base=preset.finetune if preset else None, **overrides)
    # the record stands on its own: the preset's values are written out, not its name alone
    argv = config_to_argv(cmd, skip=("preset",)) + config_to_argv(cfg)
    cfg.extra["command"] = " ".join(["python -m easytune_core finetune", *(shlex.quote(a) for a in argv)])
    if preset:
        cfg.extra["preset"] = preset.name
    return cmd, cfg


def prompt_source(args: FinetuneCommand, cfg: FinetuneConfig):
    """The prompts of a run: the user's (``--prompt`` / ``--prompts-file``) or a dataset split's captions."""
    from .prompts import ListPrompts, SplitPrompts
    if args.prompt or args.prompts_file:
        lines = list(args.prompt or [])
        if args.prompts_file:
            lines += Path(args.prompts_file).read_text(encoding="utf-8").splitlines()
        return ListPrompts(lines, frames=cfg.frames or cfg.max_frames)
    from ..data.builtin import resolve_dataset

    return SplitPrompts(resolve_dataset(args.data), args.split, max_frames=cfg.max_frames)


def run(args) -> int:
    from tqdm import tqdm

    from .build import build_trainer
    from .distributed import init_from_env

    args, cfg = configs_from_args(args)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    info = init_from_env(device)
    if info.enabled and device.startswith("cuda"):
        device = f"cuda:{torch.cuda.current_device()}"
    prompts = prompt_source(args, cfg)
    bar = tqdm(total=cfg.max_steps, desc=cfg.method, unit="step", disable=not info.is_main)

    def progress(event: dict) -> None:
        bar.n = event["step"]
        bar.set_postfix(reward=f"{event['reward']:.3f}", loss=f"{event['loss']:.3f}", lr=f"{event['lr']:.1e}")
        bar.refresh()

    t0 = time.time()
    from ..shipped import resolve_checkpoint
    trainer = build_trainer(cfg, resolve_checkpoint(args.base, "base"), resolve_checkpoint(args.reward, "reward"),
                            prompts, run_dir=args.out, device=device,
                            callbacks=[progress], resume=args.resume, dist_info=info,
                            storage_dtype=torch.float16 if args.half_weights else None)
    result = trainer.train()
    bar.close()
    if info.is_main:
        rewards = [e["reward"] for e in result.history]
        head = sum(rewards[:5]) / max(1, len(rewards[:5]))
        tail = sum(rewards[-5:]) / max(1, len(rewards[-5:]))
        print(f"{result.status}: {result.steps} optimiser steps in {time.time() - t0:.1f}s ({result.message}); "
              f"mean reward first 5 steps {head:.4f} -> last 5 {tail:.4f}; checkpoint: {result.checkpoint}")
    if info.enabled:
        torch.distributed.barrier()  # no rank tears gloo down while another still talks to it (SIGABRT)
        torch.distributed.destroy_process_group()
    return 0 if result.status != "failed" else 1
