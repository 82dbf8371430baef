"""``python -m easytune_core train-vae``: train the motion VAE of the latent models.

Loss (MLD's VAE stage): smooth-L1 reconstruction of the normalised features over valid frames
+ kl_weight · KL(q(z|x) || N(0, I)) (+ an optional loss on joint positions). AdamW, warm-up then
cosine decay, bf16 autocast on CPU / fp16 AMP on CUDA, resumable, time budget. Validation reports
the feature loss and the mean joint-position error in centimetres of the posterior-mean
reconstruction on the val split.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ...checkpoints import CheckpointError, load_checkpoint, load_into
from ...data.builtin import resolve_dataset
from ...data.loader import forever, make_loader
from ..train import load_resume, save_resume
from .common import (LatentRunOptions, add_config_arguments, autocast, config_from_args, masked_mean, recorded_command,
                     set_lr)
from .io import save_vae
from .vae import MotionVAE, VAEConfig, kl_divergence


@dataclass
class VAETrainConfig:
    """Optimisation settings of train-vae (saved in the checkpoint meta)."""

    steps: int = 20000
    """Optimiser steps in total (a resumed run continues to this count)."""
    batch_size: int = 64
    """Motions per batch."""
    lr: float = 2e-4
    """Peak AdamW learning rate (MLD: 1e-4)."""
    weight_decay: float = 0.0
    """AdamW weight decay."""
    warmup: int = 200
    """Linear warm-up steps."""
    kl_weight: float = 1e-4
    """Weight of the KL term (MLD: 1e-4)."""
    joint_weight: float = 0.0
    """Weight of a smooth-L1 loss on joint positions (metres) recovered from the features (0 = off)."""
    grad_clip: float = 1.0
    """Gradient-norm clip."""
    amp: bool = True
    """Mixed precision: fp16 AMP on CUDA, bf16 autocast on CPUs with native bf16 (fp32 on others)."""
    val_every: int = 500
    """Validation interval in steps."""
    ckpt_every: int = 500
    """Checkpoint interval in steps."""
    val_motions: int = 512
    """Val motions used for validation (0 = all)."""
    time_budget: float = 0.0
    """Stop (and save) after this many minutes; 0 = no limit. The learning-rate decay follows it."""
    seed: int = 0
    """Seed of initialisation, batching and sampling."""

    def __post_init__(self):
        for name in ("steps", "batch_size", "val_every", "ckpt_every"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if not self.lr > 0:
            raise ValueError(f"lr must be positive, got {self.lr}")
        for name in ("warmup", "kl_weight", "joint_weight", "time_budget", "val_motions", "weight_decay"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative, got {getattr(self, name)}")


def lr_at(step: int, cfg, elapsed: float) -> float:
    """Warm-up, then cosine decay to 10% by the last step or the end of the time budget."""
    if step < cfg.warmup:
        return cfg.lr * (step + 1) / cfg.warmup
    prog = min(1.0, (step - cfg.warmup) / max(1, cfg.steps - cfg.warmup))
    if cfg.time_budget:
        prog = max(prog, min(1.0, elapsed / (cfg.time_budget * 60)))
    return cfg.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * prog)))


def joints_of(features: torch.Tensor, mean: torch.Tensor, std: torch.Tensor) -> torch.Tensor:
    """(B, T, 22, 3) joint positions (metres) of normalised HumanML3D features, differentiable."""
    from ...motion.features import features_to_joints
    return features_to_joints((features.float() * std + mean), skeleton="humanml3d")


def vae_loss(vae: MotionVAE, x: torch.Tensor, mask: torch.Tensor, cfg: VAETrainConfig, stats=None,
             generator: torch.Generator | None = None) -> tuple[torch.Tensor, dict]:
    """Training loss of one batch (features (B, T, D), mask (B, T)) and its parts."""
    rec, mu, logvar = vae(x, mask, generator)
    feat = masked_mean(F.smooth_l1_loss(rec.float(), x, reduction="none"), mask)
    kl = kl_divergence(mu.float(), logvar.float())
    loss = feat + cfg.kl_weight * kl
    parts = {"feature": float(feat.detach()), "kl": float(kl.detach())}
    if cfg.joint_weight > 0 and stats is not None:
        jl = masked_mean(F.smooth_l1_loss(joints_of(rec, *stats), joints_of(x, *stats), reduction="none"), mask)
        loss = loss + cfg.joint_weight * jl
        parts["joint"] = float(jl.detach())
    return loss, parts


@torch.no_grad()
def validate(vae: MotionVAE, loader, device: str, stats, limit: int = 0, amp: bool = True) -> dict:
    """Feature smooth-L1 and mean joint error (cm) of posterior-mean reconstructions."""
    was = vae.training
    vae.eval()
    feat_sum = cm_sum = frames = 0.0
    n = 0
    for b in loader:
        x, mask = b["features"].to(device), b["mask"].to(device)
        with autocast(device, amp):
            mu, _ = vae.encode(x, mask)
            rec = vae.decode(mu, mask).float()
        f = F.smooth_l1_loss(rec, x, reduction="none").mean(-1)
        feat_sum += float((f * mask).sum())
        err = (joints_of(rec, *stats) - joints_of(x, *stats)).norm(dim=-1).mean(-1)  # (B, T) metres
        cm_sum += float((err * mask).sum()) * 100.0
        frames += float(mask.sum())
        n += x.shape[0]
        if limit and n >= limit:
            break
    vae.train(was)
    return {"val_feature_loss": round(feat_sum / max(frames, 1), 5), "val_joint_error_cm": round(cm_sum / max(frames, 1), 3)}


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_config_arguments(p, LatentRunOptions)
    add_config_arguments(p.add_argument_group("model (VAEConfig)"), VAEConfig, skip=("feature_dim", "fps"))
    add_config_arguments(p.add_argument_group("optimisation (VAETrainConfig)"), VAETrainConfig)


def run(args) -> int:
    opts = config_from_args(LatentRunOptions, args)
    device = opts.start()
    tcfg = config_from_args(VAETrainConfig, args)
    root = resolve_dataset(opts.data)
    from ...data.dataset import load_stats
    mean, std = (np.asarray(a, dtype=np.float32) for a in load_stats(str(root)))
    vcfg = config_from_args(VAEConfig, args, feature_dim=int(mean.shape[0]))
    out = Path(opts.out)
    torch.manual_seed(tcfg.seed)
    vae = MotionVAE(vcfg).to(device)
    opt = torch.optim.AdamW(vae.parameters(), lr=tcfg.lr, weight_decay=tcfg.weight_decay)
    gen = torch.Generator().manual_seed(tcfg.seed)
    step, elapsed_before = 0, 0.0
    if opts.resume and (out / "resume" / "state.json").exists():
        step, rng, info = load_resume(out / "resume", vae, opt)
        if rng is not None:
            gen.set_state(rng)
        elapsed_before = float(info.get("seconds", 0.0))
        print(f"resumed from {out / 'resume'} at step {step}", file=sys.stderr)
    stats = (torch.as_tensor(mean, device=device), torch.as_tensor(std, device=device))
    train = make_loader(root, "train", tcfg.batch_size, True, seed=tcfg.seed, max_frames=vcfg.max_frames)
    val = make_loader(root, "val", 64, False, max_frames=vcfg.max_frames, allow_empty=True)
    batches = forever(train, first_epoch=step // max(1, len(train)), skip=step % max(1, len(train)))
    scaler = torch.amp.GradScaler("cuda", enabled=tcfg.amp and device.startswith("cuda"))
    meta_base = {"command": recorded_command("train-vae", opts, vcfg, tcfg, skip=("feature_dim", "fps")), "data": str(root), "train": asdict(tcfg), "device": device}
    history: dict = {"train_loss": None}
    start = time.time()

    def checkpoint(final: bool = False) -> None:
        seconds = elapsed_before + time.time() - start
        meta = {**meta_base, "step": step, "seconds": round(seconds, 1), **history, "final": final}
        save_vae(out, vae, mean, std, meta, dtype=opts.storage_dtype)
        save_resume(out / "resume", vae, opt, step, gen.get_state(), {"seconds": seconds})

    smooth = None
    vae.train()
    while step < tcfg.steps:
        b = next(batches)
        x, mask = b["features"].to(device), b["mask"].to(device)
        set_lr(opt, lr_at(step, tcfg, elapsed_before + time.time() - start))
        with autocast(device, tcfg.amp):
            loss, parts = vae_loss(vae, x, mask, tcfg, stats, gen)
        if not torch.isfinite(loss):
            raise ValueError(f"training diverged at step {step} (loss {float(loss)}); lower --lr")
        opt.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.unscale_(opt)
        torch.nn.utils.clip_grad_norm_(vae.parameters(), tcfg.grad_clip)
        scaler.step(opt)
        scaler.update()
        step += 1
        lv = float(loss.detach())
        smooth = lv if smooth is None else 0.98 * smooth + 0.02 * lv
        history.update(train_loss=round(smooth, 5), kl=round(parts["kl"], 4))
        if step % tcfg.val_every == 0 or step == tcfg.steps:
            if val is not None:
                history.update(validate(vae, val, device, stats, tcfg.val_motions, tcfg.amp))
            print(f"step {step} train {smooth:.4f} kl {parts['kl']:.3f} {json.dumps({k: v for k, v in history.items() if k.startswith('val')})} "
                  f"{elapsed_before + time.time() - start:.0f}s", file=sys.stderr, flush=True)
        if step % tcfg.ckpt_every == 0:
            checkpoint()
        if tcfg.time_budget and elapsed_before + time.time() - start > tcfg.time_budget * 60:
            print(f"time budget of {tcfg.time_budget} min reached at step {step}", file=sys.stderr)
            break
    if val is not None:
        history.update(validate(vae, val, device, stats, tcfg.val_motions, tcfg.amp))
    checkpoint(final=True)
    print(json.dumps({"out": str(out), "step": step, **history, "seconds": round(elapsed_before + time.time() - start, 1)}))
    return 0


def load_vae_for_training(folder, device: str) -> MotionVAE:
    """A VAE checkpoint as a frozen module (used by train-latent and distill)."""
    try:
        from .io import load_vae
        return load_vae(folder, device)[0]
    except CheckpointError:
        raise
    except FileNotFoundError as err:
        raise CheckpointError(f"no VAE checkpoint at {folder} ({err})") from err


__all__ = ["VAETrainConfig", "vae_loss", "validate", "add_arguments", "run", "load_checkpoint", "load_into"]
