"""``python -m easytune_core train-latent --vae runs/vae --out runs/latent``: the latent denoiser.

MLD's second stage (Chen et al. 2023, §3.2): the frozen VAE encodes the training motions (several
random crops each, cached once: the denoiser then trains without a VAE call per step), latents are
scaled to unit variance (``latent_scale``, stored in the config), noised with the scaled-linear
schedule and the denoiser learns to predict ε (or z0) with the text dropped 10% of the time for
classifier-free guidance. EMA weights are saved, with the VAE copied into ``<out>/vae/`` so the
folder is a complete generator checkpoint.
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from ...checkpoints import CheckpointError, load_checkpoint, load_into, read_config
from ...data.builtin import resolve_dataset
from ..schedule import NoiseSchedule
from ..train import load_resume, save_resume
from .common import (LatentRunOptions, add_config_arguments, autocast, config_from_args, ema_update,
                     load_or_build_cache, prepare_text, recorded_command, set_lr)
from .denoiser import LatentDenoiser, LatentDenoiserConfig
from .io import load_vae, save_latent_model
from .train_vae import lr_at


@dataclass
class LatentTrainConfig:
    """Optimisation settings of train-latent (saved in the checkpoint meta)."""

    steps: int = 50000
    """Optimiser steps in total (a resumed run continues to this count)."""
    batch_size: int = 128
    """Latents per batch."""
    lr: float = 2e-4
    """Peak AdamW learning rate (MLD: 1e-4)."""
    weight_decay: float = 0.0
    """AdamW weight decay."""
    warmup: int = 500
    """Linear warm-up steps."""
    ema: float = 0.999
    """EMA decay of the saved weights (0 = no EMA)."""
    grad_clip: float = 1.0
    """Gradient-norm clip."""
    amp: bool = True
    """Mixed precision: fp16 AMP on CUDA, bf16 autocast on CPUs with native bf16 (fp32 on others)."""
    views: int = 4
    """Random crops per training motion in the latent cache."""
    cache_motions: int = 0
    """Use only this many training motions (evenly spread) in the latent cache; 0 = all (short runs)."""
    sample_latents: bool = True
    """Train on posterior samples (MLD) rather than posterior means."""
    val_every: int = 1000
    """Validation interval in steps."""
    ckpt_every: int = 1000
    """Checkpoint interval in steps."""
    time_budget: float = 0.0
    """Stop (and save) after this many minutes; 0 = no limit."""
    seed: int = 0
    """Seed of initialisation, batches, timesteps and noise."""

    def __post_init__(self):
        for name in ("steps", "batch_size", "val_every", "ckpt_every", "views"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if not self.lr > 0:
            raise ValueError(f"lr must be positive, got {self.lr}")
        if not 0 <= self.ema < 1:
            raise ValueError(f"ema must be in [0, 1), got {self.ema}")
        if self.warmup < 0 or self.time_budget < 0 or self.weight_decay < 0:
            raise ValueError("warmup, time_budget and weight_decay must not be negative")


def latent_diffusion_loss(model: LatentDenoiser, schedule: NoiseSchedule, z0: torch.Tensor, text_emb: torch.Tensor,
                          generator: torch.Generator, t: torch.Tensor | None = None) -> torch.Tensor:
    """MSE of the ε (or z0) prediction at random timesteps; z0 (B, L, C) scaled latents."""
    B = z0.shape[0]
    if t is None:
        t = torch.randint(0, schedule.num_steps, (B,), generator=generator)
    noise = torch.randn(z0.shape, generator=generator)
    t, noise = t.to(z0.device), noise.to(z0.device)
    pred = model(schedule.q_sample(z0, t, noise), t, text_emb)
    target = noise if model.config.prediction == "eps" else z0
    return ((pred.float() - target) ** 2).mean()


# LatentDenoiserConfig fields set from the VAE, the text encoder, the data or the sampler, not by flags
NOT_OPTIONS = ("space", "latent_tokens", "latent_dim", "text_dim", "text_tokens", "latent_scale", "sampler",
               "guidance_embed", "guidance_range", "original_steps", "default_steps", "timestep_scaling", "sigma_data",
               "fps", "max_frames", "max_positions", "diffusion_steps", "steps_offset", "set_alpha_to_one")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--vae", required=True, help="VAE checkpoint folder (from train-vae)")
    add_config_arguments(p, LatentRunOptions)
    add_config_arguments(p.add_argument_group("model (LatentDenoiserConfig)"), LatentDenoiserConfig, skip=NOT_OPTIONS)
    add_config_arguments(p.add_argument_group("optimisation (LatentTrainConfig)"), LatentTrainConfig)


def run(args) -> int:
    opts = config_from_args(LatentRunOptions, args)
    device = opts.start()
    tcfg = config_from_args(LatentTrainConfig, args)
    root = resolve_dataset(opts.data)
    vae, mean, std, _ = load_vae(args.vae, device)
    from ...text import get_text_encoder
    encoder = get_text_encoder(getattr(args, "text_encoder", LatentDenoiserConfig.text_encoder), device=device)
    out = Path(opts.out)
    cache_dir = out / "cache"
    train = load_or_build_cache(vae, Path(args.vae), root, "train", tcfg.views, cache_dir, tcfg.seed, device,
                                limit=tcfg.cache_motions)
    val = load_or_build_cache(vae, Path(args.vae), root, "val", 1, cache_dir, 0, device, random_crop=False, limit=512)
    resuming = opts.resume and (out / "resume" / "state.json").exists()
    if resuming:  # keep the scale the run started with
        scale = float(read_config(out)["config"]["latent_scale"])
    else:
        scale = 1.0 / max(train.latent_std(), 1e-6)
    mcfg = config_from_args(LatentDenoiserConfig, args, latent_tokens=vae.config.latent_tokens,
                            latent_dim=vae.config.width, text_dim=encoder.dim, latent_scale=round(scale, 6),
                            fps=vae.config.fps, max_frames=vae.config.max_frames)
    prepare_text(encoder, root)
    torch.manual_seed(tcfg.seed)
    model = LatentDenoiser(mcfg).to(device)
    ema = copy.deepcopy(model).eval().requires_grad_(False)
    opt = torch.optim.AdamW(model.parameters(), lr=tcfg.lr, weight_decay=tcfg.weight_decay)
    gen = torch.Generator().manual_seed(tcfg.seed)
    step, elapsed_before = 0, 0.0
    if resuming:
        step, rng, info = load_resume(out / "resume", model, opt)
        if rng is not None:
            gen.set_state(rng)
        elapsed_before = float(info.get("seconds", 0.0))
        try:
            load_into(ema, load_checkpoint(out, expected_kind="denoiser"))
        except CheckpointError:
            ema.load_state_dict(model.state_dict())
        print(f"resumed from {out / 'resume'} at step {step}", file=sys.stderr)
    schedule = NoiseSchedule(mcfg.schedule, mcfg.diffusion_steps)
    scaler = torch.amp.GradScaler("cuda", enabled=tcfg.amp and device.startswith("cuda"))
    command = recorded_command("train-latent", opts, mcfg, tcfg, skip=NOT_OPTIONS) + f" --vae {args.vae}"
    meta_base = {"command": command, "data": str(root), "vae": str(args.vae),
                 "train": asdict(tcfg), "device": device, "train_latents": len(train), "val_latents": len(val)}
    history: dict = {"train_loss": None, "val_loss": None}
    start = time.time()

    def validate() -> float:
        vg = torch.Generator().manual_seed(1234)  # the same t and noise every time
        tot, n = 0.0, 0
        with torch.no_grad():
            for i in range(0, len(val), 256):
                z = val.mu[i:i + 256].to(device) * scale
                emb = encoder.encode(val.captions[i:i + 256]).to(device)
                with autocast(device, tcfg.amp):
                    tot += float(latent_diffusion_loss(ema, schedule, z, emb, vg)) * z.shape[0]
                n += z.shape[0]
        return tot / max(n, 1)

    def checkpoint(final: bool = False) -> None:
        seconds = elapsed_before + time.time() - start
        meta = {**meta_base, "step": step, "seconds": round(seconds, 1), **history, "final": final}
        save_latent_model(out, ema, mcfg, Path(args.vae), mean, std, meta,
                          dtype=opts.storage_dtype)
        save_resume(out / "resume", model, opt, step, gen.get_state(), {"seconds": seconds})

    smooth = None
    model.train()
    while step < tcfg.steps:
        z, caps = train.batch(tcfg.batch_size, gen, sample=tcfg.sample_latents)
        z = z.to(device) * scale
        emb = encoder.encode(caps).to(device)
        set_lr(opt, lr_at(step, tcfg, elapsed_before + time.time() - start))
        with autocast(device, tcfg.amp):
            loss = latent_diffusion_loss(model, schedule, z, emb, gen)
        if not torch.isfinite(loss):
            raise ValueError(f"training diverged at step {step} (loss {float(loss)}); lower --lr")
        opt.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.unscale_(opt)
        torch.nn.utils.clip_grad_norm_(model.parameters(), tcfg.grad_clip)
        scaler.step(opt)
        scaler.update()
        ema_update(ema, model, tcfg.ema if step >= tcfg.warmup else 0.0)
        step += 1
        lv = float(loss.detach())
        smooth = lv if smooth is None else 0.98 * smooth + 0.02 * lv
        history["train_loss"] = round(smooth, 5)
        if step % tcfg.val_every == 0 or step == tcfg.steps:
            history["val_loss"] = round(validate(), 5)
            print(f"step {step} train {smooth:.4f} val {history['val_loss']} {elapsed_before + time.time() - start:.0f}s",
                  file=sys.stderr, flush=True)
        if step % tcfg.ckpt_every == 0:
            checkpoint()
        if tcfg.time_budget and elapsed_before + time.time() - start > tcfg.time_budget * 60:
            print(f"time budget of {tcfg.time_budget} min reached at step {step}", file=sys.stderr)
            break
    history["val_loss"] = round(validate(), 5)
    checkpoint(final=True)
    print(json.dumps({"out": str(out), "step": step, **history, "latent_scale": mcfg.latent_scale,
                      "seconds": round(elapsed_before + time.time() - start, 1)}))
    return 0


__all__ = ["LatentTrainConfig", "latent_diffusion_loss", "add_arguments", "run", "np"]
