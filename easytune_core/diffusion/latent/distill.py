"""``python -m easytune_core distill --teacher runs/latent --out runs/fewstep``: a few-step student.

The teacher is a latent model (train-latent; the paper's MotionLCM setting) or a frame-space
denoiser (train-base): the same distillation then runs on normalised motion features with the
frames' padding masked.

Latent consistency distillation as described for MotionLCM (Dai et al., ECCV 2024, §3.2) after
latent consistency models (Luo et al. 2023, Algorithm 1) and consistency distillation (Song et
al. 2023):

1. z0 = VAE posterior sample of a training motion (cached, as in train-latent), scaled.
2. n ~ U{0..N−1} on the teacher's DDIM grid t_n = (n+1)k − 1 (N = original_steps, k = T/N);
   w ~ U[w_min, w_max]; z_t = √ᾱ_t z0 + √(1−ᾱ_t) ε with t = t_n.
3. Skipping-step ODE solver: one DDIM step of the frozen teacher from t to t' = max(t − k, 0),
   with classifier-free guidance folded in, ε̂ = ε_u + w(ε_c − ε_u) (cond + uncond in one batch).
4. Consistency loss d(f_θ(z_t, t, c, w), f_θ⁻(ẑ_t', t', c, w)) with f = c_skip·z + c_out·ẑ0
   (easytune_core.diffusion.consistency), θ⁻ an EMA of θ (decay 0.95), d = pseudo-Huber
   √(δ² + c²) − c with c = 0.001 (LCM) or L2.

The student is the teacher's network plus a guidance-scale embedding (zero-initialised, so it
starts as the teacher) and takes w as input: one network pass per step, no second guidance pass.
The saved model is the EMA target θ⁻, with the teacher's VAE in ``vae/``; it samples in 1-4 steps
(``ConsistencySampler``).
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from ...checkpoints import CheckpointError, load_checkpoint, load_into
from ...data.builtin import resolve_dataset
from ..consistency import ConsistencySampler, boundary_scalings, consistency_grid
from ..sampler import DDIMSampler
from ..schedule import NoiseSchedule
from ..train import load_resume, save_resume
from .common import (LatentRunOptions, add_config_arguments, autocast, config_from_args, ema_update,
                     load_or_build_cache, prepare_text, recorded_command, set_lr)
from .io import load_latent_model, save_latent_model
from .train_vae import lr_at


@dataclass
class DistillConfig:
    """Settings of latent consistency distillation (saved in the student's meta)."""

    steps: int = 10000
    """Optimiser steps in total (a resumed run continues to this count)."""
    batch_size: int = 128
    """Latents per batch."""
    lr: float = 1e-4
    """Peak AdamW learning rate."""
    warmup: int = 200
    """Linear warm-up steps."""
    weight_decay: float = 0.0
    """AdamW weight decay."""
    target_ema: float = 0.95
    """EMA decay μ of the target network θ⁻ (LCM / MotionLCM: 0.95)."""
    grad_clip: float = 1.0
    """Gradient-norm clip."""
    amp: bool = True
    """Mixed precision: fp16 AMP on CUDA, bf16 autocast on CPUs with native bf16 (fp32 on others)."""
    w_min: float = 1.5
    """Smallest guidance scale w drawn for the teacher's ODE step (project convention: 1 = no guidance)."""
    w_max: float = 4.0
    """Largest guidance scale w."""
    original_steps: int = 50
    """N: the teacher's DDIM grid (skipping step k = T / N)."""
    loss: str = "huber"
    """Distance d: "huber" (pseudo-Huber) or "l2"."""
    huber_c: float = 0.001
    """c of the pseudo-Huber distance."""
    timestep_scaling: float = 10.0
    """s of the boundary scalings."""
    sigma_data: float = 0.5
    """σ of the boundary scalings."""
    views: int = 4
    """Random crops per training motion in the latent cache."""
    cache_motions: int = 0
    """Use only this many training motions (evenly spread) in the latent cache; 0 = all (short runs)."""
    max_frames: int = 0
    """Frame-space teachers: train on crops of at most this many frames (0 = the teacher's max_frames)."""
    val_every: int = 500
    """Validation interval in steps."""
    ckpt_every: int = 500
    """Checkpoint interval in steps."""
    val_prompts: int = 64
    """Val prompts for the ODE error of 1/2/4-step sampling against the teacher's 50-step DDIM."""
    time_budget: float = 0.0
    """Stop (and save) after this many minutes; 0 = no limit."""
    seed: int = 0
    """Seed of batches, timesteps, guidance scales and noise."""

    def __post_init__(self):
        for name in ("steps", "batch_size", "val_every", "ckpt_every", "original_steps", "views"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if not self.lr > 0:
            raise ValueError(f"lr must be positive, got {self.lr}")
        if not 0 <= self.target_ema < 1:
            raise ValueError(f"target_ema must be in [0, 1), got {self.target_ema}")
        if not 0 <= self.w_min <= self.w_max:
            raise ValueError(f"need 0 <= w_min <= w_max, got {self.w_min}, {self.w_max}")
        if self.loss not in ("huber", "l2"):
            raise ValueError(f"loss must be 'huber' or 'l2', got {self.loss!r}")
        if self.huber_c <= 0 or self.warmup < 0 or self.time_budget < 0 or self.val_prompts < 0 or self.max_frames < 0:
            raise ValueError("huber_c must be positive; warmup, time_budget, val_prompts, max_frames not negative")


def student_config(teacher, cfg: DistillConfig):
    """The teacher's config (LatentDenoiserConfig or DenoiserConfig) turned into a few-step student's."""
    d = teacher.to_dict()
    d.update(sampler="consistency", guidance_embed=True, guidance_range=[cfg.w_min, cfg.w_max],
             original_steps=cfg.original_steps, default_steps=4, timestep_scaling=cfg.timestep_scaling,
             sigma_data=cfg.sigma_data, timestep_spacing="trailing", cond_drop_prob=0.0, dropout=0.0,
             default_guidance=min(max(getattr(teacher, "default_guidance", 2.5), cfg.w_min), cfg.w_max))
    return type(teacher).from_dict(d)


def make_student(teacher, cfg: DistillConfig):
    """A student with the teacher's weights (its guidance embedding starts at zero)."""
    student = type(teacher)(student_config(teacher.config, cfg)).to(next(teacher.parameters()).device)
    missing, unexpected = student.load_state_dict(teacher.state_dict(), strict=False)
    if unexpected or any(not k.startswith("guidance_mlp.") for k in missing):
        raise ValueError(f"teacher and student do not match (missing {missing[:3]}, unexpected {unexpected[:3]})")
    return student


def consistency_fn(model, x: torch.Tensor, t: torch.Tensor, emb: torch.Tensor, w: torch.Tensor,
                   schedule: NoiseSchedule, cfg: DistillConfig, mask: torch.Tensor | None = None) -> torch.Tensor:
    """f(x, t, c, w) = c_skip(t) x + c_out(t) x̂0 for per-sample timesteps t (B,)."""
    out = model(x, t, emb, mask, guidance=w).float()
    x0 = schedule.predict_x0_from_eps(x, t, out) if model.config.prediction == "eps" else out
    c_skip, c_out = boundary_scalings(t.cpu(), cfg.timestep_scaling, cfg.sigma_data)
    shape = (-1,) + (1,) * (x.dim() - 1)
    return c_skip.float().to(x.device).reshape(shape) * x + c_out.float().to(x.device).reshape(shape) * x0


@torch.no_grad()
def teacher_ddim_step(teacher, x_t: torch.Tensor, t: torch.Tensor, t_prev: torch.Tensor, emb: torch.Tensor,
                      w: torch.Tensor, schedule: NoiseSchedule, mask: torch.Tensor | None = None) -> torch.Tensor:
    """One guided DDIM (eta 0) step of the teacher from t to t_prev (per-sample), cond + uncond batched."""
    B = x_t.shape[0]
    flags = torch.cat([torch.zeros(B, dtype=torch.bool), torch.ones(B, dtype=torch.bool)]).to(x_t.device)
    both = teacher(torch.cat([x_t, x_t]), torch.cat([t, t]), torch.cat([emb, emb]),
                   None if mask is None else torch.cat([mask, mask]), uncond=flags).float()
    cond, unc = both[:B], both[B:]
    out = unc + w.reshape(-1, *([1] * (x_t.dim() - 1))) * (cond - unc)
    if teacher.config.prediction == "eps":
        eps, x0 = out, schedule.predict_x0_from_eps(x_t, t, out)
    else:
        x0, eps = out, schedule.predict_eps_from_x0(x_t, t, out)
    a_prev = schedule._gather(schedule.alphas_cumprod, t_prev, x_t)
    return a_prev.sqrt() * x0 + (1 - a_prev).sqrt() * eps


def distill_loss(student, target, teacher, z0: torch.Tensor, emb: torch.Tensor, schedule: NoiseSchedule,
                 cfg: DistillConfig, generator: torch.Generator, mask: torch.Tensor | None = None) -> torch.Tensor:
    """Consistency-distillation loss of one batch of clean states z0: (B, L, C) scaled latents, or
    (B, T, D) normalised features with their frame ``mask`` (padding left out of the loss)."""
    B, dev = z0.shape[0], z0.device
    grid = consistency_grid(schedule.num_steps, cfg.original_steps)
    k = schedule.num_steps // cfg.original_steps
    n = torch.randint(0, cfg.original_steps, (B,), generator=generator)
    t = grid[n]
    t_prev = (t - k).clamp_min(0)
    w = cfg.w_min + (cfg.w_max - cfg.w_min) * torch.rand(B, generator=generator)
    noise = torch.randn(z0.shape, generator=generator)
    t, t_prev, w, noise = t.to(dev), t_prev.to(dev), w.to(dev), noise.to(dev)
    x_t = schedule.q_sample(z0, t, noise)
    m = None if mask is None else mask[..., None].to(x_t.dtype)
    if m is not None:
        x_t = x_t * m
    pred = consistency_fn(student, x_t, t, emb, w, schedule, cfg, mask)
    x_prev = teacher_ddim_step(teacher, x_t, t, t_prev, emb, w, schedule, mask)
    with torch.no_grad():
        tgt = consistency_fn(target, x_prev, t_prev, emb, w, schedule, cfg, mask)
    diff = pred.float() - tgt.float()
    dist = diff ** 2 if cfg.loss == "l2" else (diff ** 2 + cfg.huber_c ** 2).sqrt() - cfg.huber_c
    if m is None:
        return dist.mean()
    return (dist * m).sum() / (m.sum() * dist.shape[-1]).clamp_min(1.0)


@torch.no_grad()
def ode_errors(student, teacher, emb: torch.Tensor, shape, guidance: float, seed: int = 0,
               steps=(1, 2, 4), mask: torch.Tensor | None = None) -> dict:
    """Mean squared distance of the student's 1/2/4-step samples from the teacher's 50-step guided
    DDIM from the same initial noise (scaled latent units or normalised features, valid frames)."""
    g = torch.Generator().manual_seed(seed)
    full = mask is None
    mask = torch.ones(shape[0], shape[1], dtype=torch.bool) if full else mask.cpu()
    x_T = torch.randn(shape, generator=g) * mask[..., None]
    dev = next(teacher.parameters()).device
    ref = DDIMSampler.for_model(teacher.config, 50).sample(teacher, emb, mask, guidance, init_noise=x_T)
    m = mask[..., None].to(dev).float()
    out = {}
    for s in steps:
        samp = ConsistencySampler.for_model(student.config, s)
        z = samp.sample(student, emb, mask, guidance, init_noise=x_T, generator=torch.Generator().manual_seed(seed + 1))
        out[f"ode_mse_{s}step"] = round(float((((z - ref) ** 2) * m).sum() / (m.sum() * z.shape[-1])), 5)
    out["teacher_sample_var"] = round(float(ref[mask.to(dev)].var()), 4)
    return out


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--teacher", required=True,
                   help="checkpoint folder to distil: a latent model (train-latent) or a frame-space one (train-base)")
    add_config_arguments(p, LatentRunOptions)
    add_config_arguments(p.add_argument_group("distillation (DistillConfig)"), DistillConfig)


class _LatentData:
    """Training and val batches of a latent teacher: cached VAE posteriors, scaled."""

    def __init__(self, vae, vae_folder: Path, root: Path, cfg: DistillConfig, out: Path, scale: float, device: str):
        self.train = load_or_build_cache(vae, vae_folder, root, "train", cfg.views, out / "cache", cfg.seed, device,
                                         limit=cfg.cache_motions)
        val = load_or_build_cache(vae, vae_folder, root, "val", 1, out / "cache", 0, device, random_crop=False,
                                  limit=512)
        n = min(cfg.val_prompts, len(val))
        self.val = (val.mu[:n] * scale, None, val.captions[:n]) if n else None
        self.scale, self.device = scale, device

    def batch(self, size: int, generator: torch.Generator):
        z, caps = self.train.batch(size, generator)
        return (z * self.scale).to(self.device), None, caps


class _FrameData:
    """Training and val batches of a frame-space teacher: normalised features with their masks."""

    def __init__(self, root: Path, cfg: DistillConfig, max_frames: int, device: str):
        from ...data.loader import forever, make_loader
        loader = make_loader(root, "train", cfg.batch_size, True, seed=cfg.seed, max_frames=max_frames)
        self.batches, self.device = forever(loader), device
        self.val = None
        val = (make_loader(root, "val", max(1, cfg.val_prompts), False, max_frames=max_frames, allow_empty=True)
               if cfg.val_prompts else None)
        if val is not None:
            b = next(iter(val))
            self.val = (b["features"], b["mask"], b["captions"])

    def batch(self, size: int, generator: torch.Generator):
        b = next(self.batches)
        return b["features"].to(self.device), b["mask"].to(self.device), b["captions"]


def load_teacher(folder, device: str):
    """(teacher (frozen, eval), checkpoint, VAE or None) of a latent or frame-space checkpoint folder."""
    ckpt = load_checkpoint(folder, expected_kind="denoiser")
    vae = None
    if ckpt.config.get("space") == "latent":
        teacher, _, vae = load_latent_model(ckpt, device)
    else:
        from ..denoiser import DenoiserConfig, MotionDenoiser
        try:
            teacher = load_into(MotionDenoiser(DenoiserConfig.from_dict(ckpt.config)), ckpt)
        except (TypeError, ValueError) as err:
            raise ValueError(f"{folder}: not a denoiser this command can distil ({err})") from err
    if getattr(teacher.config, "sampler", "ddim") == "consistency":
        raise ValueError(f"{folder} is already a few-step student; distil its teacher instead")
    if ckpt.mean is None:
        raise ValueError(f"{folder} has no stats.safetensors")
    return teacher.to(device).eval().requires_grad_(False), ckpt, vae


def run(args) -> int:
    opts = config_from_args(LatentRunOptions, args)
    device = opts.start()
    cfg = config_from_args(DistillConfig, args)
    root = resolve_dataset(opts.data)
    from ...shipped import resolve_checkpoint
    teacher_folder = resolve_checkpoint(args.teacher)  # a folder, or a shipped name such as "base"
    teacher, ckpt, vae = load_teacher(teacher_folder, device)
    tcfg = teacher.config
    latent = vae is not None
    from ...text import get_text_encoder
    path = getattr(tcfg, "text_encoder_path", "")
    encoder = get_text_encoder(tcfg.text_encoder, device=device, path=path if path and Path(path).is_dir() else None)
    out = Path(opts.out)
    vae_folder = Path(teacher_folder) / "vae"
    data = (_LatentData(vae, vae_folder, root, cfg, out, tcfg.latent_scale, device) if latent
            else _FrameData(root, cfg, min(tcfg.max_frames, cfg.max_frames or tcfg.max_frames), device))
    prepare_text(encoder, root)
    student = make_student(teacher, cfg)
    target = copy.deepcopy(student).eval().requires_grad_(False)
    opt = torch.optim.AdamW(student.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    gen = torch.Generator().manual_seed(cfg.seed)
    step, elapsed_before = 0, 0.0
    if opts.resume and (out / "resume" / "state.json").exists():
        step, rng, info = load_resume(out / "resume", student, opt)
        if rng is not None:
            gen.set_state(rng)
        elapsed_before = float(info.get("seconds", 0.0))
        try:
            load_into(target, load_checkpoint(out, expected_kind="denoiser"))
        except CheckpointError:
            target.load_state_dict(student.state_dict())
        print(f"resumed from {out / 'resume'} at step {step}", file=sys.stderr)
    schedule = NoiseSchedule(tcfg.schedule, tcfg.diffusion_steps)
    command = recorded_command("distill", opts, cfg) + f" --teacher {args.teacher}"
    meta_base = {"command": command, "teacher": str(args.teacher), "data": str(root),
                 "distill": asdict(cfg), "device": device, "teacher_meta": ckpt.meta}
    history: dict = {"train_loss": None}
    start = time.time()
    w_val = getattr(tcfg, "default_guidance", 2.5)
    w_val = w_val if cfg.w_min <= w_val <= cfg.w_max else (cfg.w_min + cfg.w_max) / 2

    def validate() -> dict:
        if data.val is None:
            return {}
        z, mask, caps = data.val
        z, mask = z.to(device), None if mask is None else mask.to(device)
        emb = encoder.encode(caps).to(device)
        with torch.no_grad(), autocast(device, cfg.amp):
            loss = distill_loss(student, target, teacher, z, emb, schedule, cfg, torch.Generator().manual_seed(1234),
                                mask)
        return {"val_loss": round(float(loss), 5),
                **ode_errors(target, teacher, emb, tuple(z.shape), w_val, mask=mask)}

    def checkpoint(final: bool = False) -> None:
        seconds = elapsed_before + time.time() - start
        meta = {**meta_base, "step": step, "seconds": round(seconds, 1), **history, "final": final}
        dtype = opts.storage_dtype
        if latent:
            save_latent_model(out, target, target.config, vae_folder, ckpt.mean, ckpt.std, meta, dtype=dtype)
        else:
            from ...checkpoints import save_checkpoint
            save_checkpoint(out, target, target.config, "denoiser", ckpt.mean, ckpt.std, meta, dtype=dtype)
        save_resume(out / "resume", student, opt, step, gen.get_state(), {"seconds": seconds})

    if step == 0 and data.val is not None:
        history.update({f"start_{k}": v for k, v in validate().items()})
        print(f"before distillation: {json.dumps(history)}", file=sys.stderr, flush=True)
    smooth = None
    student.train()
    while step < cfg.steps:
        z, mask, caps = data.batch(cfg.batch_size, gen)
        emb = encoder.encode(caps).to(device)
        set_lr(opt, lr_at(step, cfg, elapsed_before + time.time() - start))
        with autocast(device, cfg.amp):
            loss = distill_loss(student, target, teacher, z, emb, schedule, cfg, gen, mask)
        if not torch.isfinite(loss):
            raise ValueError(f"distillation diverged at step {step} (loss {float(loss)}); lower --lr")
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(student.parameters(), cfg.grad_clip)
        opt.step()
        ema_update(target, student, cfg.target_ema)
        step += 1
        lv = float(loss.detach())
        smooth = lv if smooth is None else 0.98 * smooth + 0.02 * lv
        history["train_loss"] = round(smooth, 6)
        if step % cfg.val_every == 0 or step == cfg.steps:
            history.update(validate())
            print(f"step {step} {json.dumps({k: v for k, v in history.items() if not k.startswith('start_')})} "
                  f"{elapsed_before + time.time() - start:.0f}s", file=sys.stderr, flush=True)
        if step % cfg.ckpt_every == 0:
            checkpoint()
        if cfg.time_budget and elapsed_before + time.time() - start > cfg.time_budget * 60:
            print(f"time budget of {cfg.time_budget} min reached at step {step}", file=sys.stderr)
            break
    history.update(validate())
    checkpoint(final=True)
    print(json.dumps({"out": str(out), "step": step, **history, "seconds": round(elapsed_before + time.time() - start, 1)}))
    return 0
