"""``python -m easytune_core finetune --method easytune --out runs/easytune``.

Fine-tunes a denoiser checkpoint against a reward checkpoint with EasyTune or a baseline, with a
progress bar; the run folder gets config.json, metrics.jsonl and checkpoint/ (+ lora/).
Under ``torchrun --nproc_per_node N`` the same command trains data-parallel (gloo on CPU, NCCL on
GPUs): every rank samples its own prompts, gradients are averaged, rank 0 writes.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch

from .config import METHODS, FinetuneConfig


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--method", default="easytune", choices=METHODS, help="fine-tuning method")
    p.add_argument("--out", required=True, help="run folder (config.json, metrics.jsonl, checkpoint/)")
    p.add_argument("--base", default="assets/checkpoints/base", help="denoiser checkpoint folder to fine-tune")
    p.add_argument("--reward", default="assets/checkpoints/reward", help="reward checkpoint folder")
    p.add_argument("--data", default="data/builtin", help="dataset (HumanML3D layout, or 'builtin' = data/builtin) whose split gives the prompts")
    p.add_argument("--split", default="train", help="split the prompts come from")
    p.add_argument("--prompt", action="append", default=None, help="a prompt (repeatable); replaces the split")
    p.add_argument("--prompts-file", default=None, help="text file with one prompt per line; replaces the split")
    p.add_argument("--steps", type=int, default=100, help="optimiser steps (EasyTune: one per selected sampler step)")
    p.add_argument("--minutes", type=float, default=0.0, help="stop after this much wall time (0 = no limit)")
    p.add_argument("--target-reward", type=float, default=0.0, help="stop when the mean reward of 5 steps reaches it")
    p.add_argument("--lr", type=float, default=1e-5)
    p.add_argument("--warmup", type=int, default=10, help="linear warm-up, optimiser steps")
    p.add_argument("--batch-size", type=int, default=8, help="prompts per trajectory (per process)")
    p.add_argument("--sampler-steps", type=int, default=None,
                   help="sampler steps of the trajectory (default: 50 DDIM steps; 4 for few-step models)")
    p.add_argument("--guidance", type=float, default=2.5)
    p.add_argument("--select", default=None,
                   help="EasyTune steps: last:K | first:K | random:K | all (default: last:10; all for few-step models)")
    p.add_argument("--weighting", default="uniform", choices=("uniform", "linear-up", "linear-down"))
    p.add_argument("--reward-target", default="x0", choices=("x0", "noisy"),
                   help="EasyTune: reward x̂0 at step 0, or the new noisy state with the noise-aware reward")
    p.add_argument("--k", type=int, default=10, help="DRaFT-K / DRTune K / AlignProp max truncation (0 = all)")
    p.add_argument("--m", type=int, default=5, help="ReFL-M / DRTune early-stop window")
    p.add_argument("--lv-samples", type=int, default=2, help="DRaFT-LV re-noised copies")
    p.add_argument("--reg-weight", type=float, default=0.0, help="regulariser toward the frozen base (0 = off)")
    p.add_argument("--lora-rank", type=int, default=0, help="0 = full fine-tune; > 0 = LoRA rank")
    p.add_argument("--lora-alpha", type=float, default=0.0)
    p.add_argument("--frames", type=int, default=0, help="fixed motion length (0 = dataset lengths)")
    p.add_argument("--max-frames", type=int, default=120, help="cap on dataset lengths")
    p.add_argument("--precision", default="auto", choices=("auto", "fp32", "bf16", "fp16"))
    p.add_argument("--save-every", type=int, default=0, help="checkpoint every N optimiser steps (0 = at the end)")
    p.add_argument("--keep-every", type=int, default=0,
                   help="also keep the weights every N optimiser steps in <out>/snapshots/ (for `select`)")
    p.add_argument("--half-weights", action="store_true", help="store checkpoint weights as float16")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--resume", action="store_true", help="continue the run in --out")
    p.add_argument("--device", default=None)
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (0 = leave as is)")


def base_defaults(base) -> tuple[int, str]:
    """(sampler steps, EasyTune selection) for a base checkpoint: 50 / last:10 for DDIM models,
    the model's own step count (4) / all for few-step (consistency) models."""
    from ..checkpoints import CheckpointError, read_config
    try:
        config = read_config(base)["config"]
    except CheckpointError:
        return 50, "last:10"  # build_trainer reports the real problem
    if config.get("sampler") == "consistency":
        return int(config.get("default_steps", 4)), "all"
    return 50, "last:10"


def config_from_args(args) -> FinetuneConfig:
    steps, select = base_defaults(getattr(args, "base", "assets/checkpoints/base"))
    if args.sampler_steps is not None:
        steps = args.sampler_steps
    if args.select is None and steps < 10:
        select = "all"
    return FinetuneConfig(
        method=args.method, sampler_steps=steps, guidance=args.guidance, select=args.select or select,
        weighting=args.weighting, reward_target=args.reward_target, k=args.k, m=args.m,
        lv_samples=args.lv_samples, lr=args.lr, warmup=args.warmup, reg_weight=args.reg_weight,
        batch_size=args.batch_size, frames=args.frames, max_frames=args.max_frames, max_steps=args.steps,
        max_seconds=60.0 * args.minutes, target_reward=args.target_reward, lora_rank=args.lora_rank,
        lora_alpha=args.lora_alpha, precision=args.precision, save_every=args.save_every, keep_every=args.keep_every,
        seed=args.seed)


def prompt_source(args, cfg: FinetuneConfig):
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

    if args.threads:
        torch.set_num_threads(args.threads)
    cfg = config_from_args(args)
    cfg.extra["command"] = "python -m easytune_core finetune " + " ".join(
        f"--{k.replace('_', '-')}" + ("" if v is True else f" {v}")
        for k, v in sorted(vars(args).items()) if v not in (None, False, 0, 0.0, ""))
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
    trainer = build_trainer(cfg, args.base, args.reward, prompts, run_dir=args.out, device=device,
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
