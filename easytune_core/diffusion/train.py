"""``python -m easytune_core train-base``: train the text-to-motion denoiser.

x0-prediction MSE over valid frames (MDM; geometric losses off, an optional small
velocity loss), AdamW, EMA weights (the saved model), bf16 autocast on CPU / fp16 AMP on
CUDA, validation loss, periodic checkpoints and resume. Text embeddings of every caption
are computed once up front so the text encoder never dominates a step.
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import os
import shlex
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..checkpoints import CheckpointError, load_checkpoint, load_into, save_checkpoint
from ..data.builtin import resolve_dataset
from .denoiser import DenoiserConfig, MotionDenoiser
from .schedule import NoiseSchedule



@dataclass
class TrainConfig:
    """Optimisation settings of train-base (saved in the checkpoint meta)."""

    steps: int = 20000
    """Optimiser steps to run in total (a resumed run continues to this count)."""
    batch_size: int = 64
    """Motions per batch."""
    lr: float = 2e-4
    """Peak AdamW learning rate (linear warm-up, cosine decay to 10%)."""
    weight_decay: float = 0.01
    """AdamW weight decay."""
    warmup: int = 200
    """Warm-up steps."""
    ema: float = 0.999
    """EMA decay of the saved weights (0 disables EMA)."""
    grad_clip: float = 1.0
    """Gradient-norm clip."""
    vel_loss: float = 0.0
    """Weight of an extra loss on frame-to-frame differences of the x0 prediction."""
    amp: bool = True
    """bf16 autocast on CPU, fp16 AMP on CUDA."""
    val_every: int = 500
    """Validation (and progress print) interval in steps."""
    ckpt_every: int = 1000
    """Checkpoint interval in steps."""
    time_budget: float = 0.0
    """Stop (and save) after this many minutes of training; 0 = no limit. The cosine learning-rate
    decay then follows whichever of steps and time runs out first."""
    seed: int = 0
    """Seed of initialisation, batching and noise."""

    def __post_init__(self):
        for name in ("steps", "batch_size", "val_every", "ckpt_every"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if not self.lr > 0:
            raise ValueError(f"lr must be positive, got {self.lr}")
        if not 0 <= self.ema < 1:
            raise ValueError(f"ema must be in [0, 1), got {self.ema}")
        if self.warmup < 0 or self.vel_loss < 0 or self.time_budget < 0:
            raise ValueError("warmup, vel_loss and time_budget must not be negative")


def masked_loss(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor, vel_weight: float = 0.0) -> torch.Tensor:
    """Mean squared error over valid frames (mask (B,T) True = valid), plus optional velocity term."""
    m = mask[..., None].to(pred.dtype)
    denom = m.sum().clamp_min(1) * pred.shape[-1]
    loss = (((pred - target) ** 2) * m).sum() / denom
    if vel_weight > 0:
        mv = m[:, 1:] * m[:, :-1]
        dv = (pred[:, 1:] - pred[:, :-1]) - (target[:, 1:] - target[:, :-1])
        loss = loss + vel_weight * ((dv ** 2) * mv).sum() / (mv.sum().clamp_min(1) * pred.shape[-1])
    return loss


def diffusion_loss(model: MotionDenoiser, schedule: NoiseSchedule, x0: torch.Tensor, mask: torch.Tensor,
                   text_emb: torch.Tensor, generator: torch.Generator | None = None, t: torch.Tensor | None = None,
                   vel_weight: float = 0.0) -> torch.Tensor:
    """Training loss of one batch: noise x0 (B,T,D) at random t, predict x0 (or eps), masked MSE."""
    B = x0.shape[0]
    dev = x0.device
    gdev = generator.device if generator is not None else dev
    if t is None:
        t = torch.randint(0, schedule.num_steps, (B,), generator=generator, device=gdev).to(dev)
    noise = torch.randn(x0.shape, generator=generator, device=gdev).to(dev)
    x_t = schedule.q_sample(x0, t, noise)
    pred = model(x_t, t, text_emb, mask)
    target = x0 if model.config.prediction == "x0" else noise
    return masked_loss(pred.float(), target * mask[..., None], mask, vel_weight)


# ----------------------------------------------------------------------------- data
def all_captions(root: Path, splits: tuple[str, ...] = ("train", "val")) -> list[str]:
    """Every caption of the motions in ``splits`` (root/texts/NAME.txt lines: caption#tokens#start#end)."""
    caps = set()
    names = []
    for split in splits:
        if (root / f"{split}.txt").exists():
            names += [n.strip() for n in (root / f"{split}.txt").read_text().splitlines() if n.strip()]
    for f in (root / "texts" / f"{n}.txt" for n in names):
        if not f.exists():
            continue
        for line in f.read_text(errors="replace").splitlines():
            c = line.split("#")[0].strip()
            if c:
                caps.add(c)
    return sorted(caps)


def make_loader(root: Path, split: str, batch_size: int, max_frames: int, seed: int, shuffle: bool):
    """DataLoader over length buckets (little padding); None if the split is empty."""
    from ..data.dataset import LengthBucketSampler, MotionTextDataset, collate_motion
    ds = MotionTextDataset(str(root), split=split, max_frames=max_frames, random_crop=shuffle, seed=seed)
    if len(ds) == 0:
        return None
    sampler = LengthBucketSampler(ds.lengths, batch_size, shuffle=shuffle, drop_last=shuffle and len(ds) >= batch_size,
                                  seed=seed)
    return torch.utils.data.DataLoader(ds, batch_sampler=sampler, collate_fn=collate_motion, num_workers=0)


def forever(loader, first_epoch: int = 0):
    """Endless batches; each epoch re-draws captions, crops and batch order."""
    epoch = first_epoch
    while True:
        loader.dataset.set_epoch(epoch)
        loader.batch_sampler.set_epoch(epoch)
        yield from loader
        epoch += 1


# ----------------------------------------------------------------------------- state
def lr_at(step: int, cfg: TrainConfig, elapsed: float = 0.0) -> float:
    """Linear warm-up, then cosine decay to 10% by the last step or the end of the time budget
    (whichever comes first; elapsed in seconds)."""
    if step < cfg.warmup:
        return cfg.lr * (step + 1) / cfg.warmup
    prog = min(1.0, (step - cfg.warmup) / max(1, cfg.steps - cfg.warmup))
    if cfg.time_budget:
        prog = max(prog, min(1.0, elapsed / (cfg.time_budget * 60)))
    return cfg.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * prog)))


def save_resume(folder: Path, model, opt, step: int, rng_state: torch.Tensor, extra: dict) -> None:
    """Raw weights + AdamW moments as safetensors, counters as JSON (no pickles)."""
    from safetensors.torch import save_file
    folder.mkdir(parents=True, exist_ok=True)
    tensors = {f"model.{k}": v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    names = {id(p): n for n, p in model.named_parameters()}
    for group in opt.param_groups:
        for p in group["params"]:
            st = opt.state.get(p)
            if st:
                tensors[f"exp_avg.{names[id(p)]}"] = st["exp_avg"].cpu().contiguous()
                tensors[f"exp_avg_sq.{names[id(p)]}"] = st["exp_avg_sq"].cpu().contiguous()
    tensors["rng_state"] = rng_state.contiguous()
    tmp = folder / "state.safetensors.tmp"
    save_file(tensors, str(tmp))
    os.replace(tmp, folder / "state.safetensors")
    (folder / "state.json").write_text(json.dumps({"step": step, **extra}, indent=2))


def load_resume(folder: Path, model, opt) -> tuple[int, torch.Tensor | None, dict]:
    from safetensors.torch import load_file
    info = json.loads((folder / "state.json").read_text())
    t = load_file(str(folder / "state.safetensors"))
    model.load_state_dict({k[6:]: v for k, v in t.items() if k.startswith("model.")})
    step = int(info["step"])
    for n, p in model.named_parameters():
        if f"exp_avg.{n}" in t:
            opt.state[p] = {"step": torch.tensor(float(step)), "exp_avg": t[f"exp_avg.{n}"].to(p.device),
                            "exp_avg_sq": t[f"exp_avg_sq.{n}"].to(p.device)}
    return step, t.get("rng_state"), info


# ----------------------------------------------------------------------------- CLI
def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", default="builtin", help="'builtin' (data/builtin) or a HumanML3D-layout folder")
    p.add_argument("--out", required=True, help="checkpoint folder to write (EMA weights + config + stats)")
    p.add_argument("--resume", action="store_true", help="continue from <out>/resume if present")
    p.add_argument("--init", default=None, help="start from the weights of this denoiser checkpoint")
    d, t = DenoiserConfig(), TrainConfig()
    for name in ("width", "layers", "heads", "ff", "max_frames"):
        p.add_argument(f"--{name.replace('_', '-')}", type=int, default=getattr(d, name))
    p.add_argument("--dropout", type=float, default=d.dropout)
    p.add_argument("--cond-drop", type=float, default=d.cond_drop_prob)
    p.add_argument("--prediction", choices=("x0", "eps"), default=d.prediction)
    p.add_argument("--schedule", choices=("cosine", "scaled_linear"), default=d.schedule)
    p.add_argument("--text-encoder", default=d.text_encoder)
    for name in ("steps", "batch_size", "warmup", "val_every", "ckpt_every", "seed"):
        p.add_argument(f"--{name.replace('_', '-')}", type=int, default=getattr(t, name))
    for name in ("lr", "weight_decay", "ema", "grad_clip", "vel_loss", "time_budget"):
        p.add_argument(f"--{name.replace('_', '-')}", type=float, default=getattr(t, name),
                       help="minutes" if name == "time_budget" else None)
    p.add_argument("--no-amp", action="store_true", help="train in float32")
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: leave as is)")
    p.add_argument("--device", default=None, help="cpu or cuda (default: cuda when present)")
    p.add_argument("--save-dtype", choices=("float32", "float16", "bfloat16"), default="float32",
                   help="dtype of the saved EMA weights (float16 halves the size)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args) -> int:
    if args.threads:
        torch.set_num_threads(args.threads)
    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    tcfg = TrainConfig(steps=args.steps, batch_size=args.batch_size, lr=args.lr, weight_decay=args.weight_decay,
                       warmup=args.warmup, ema=args.ema, grad_clip=args.grad_clip, vel_loss=args.vel_loss,
                       amp=not args.no_amp, val_every=args.val_every, ckpt_every=args.ckpt_every,
                       time_budget=args.time_budget, seed=args.seed)
    root = resolve_dataset(args.data)
    from ..data.dataset import detect_skeleton, load_stats
    from ..text import get_text_encoder
    mean, std = (np.asarray(a, dtype=np.float32) for a in load_stats(str(root)))
    fps = detect_skeleton(root).fps  # 20 for HumanML3D, 12.5 for KIT-ML
    encoder = get_text_encoder(args.text_encoder, device=device)
    mcfg = DenoiserConfig(feature_dim=int(mean.shape[0]), text_dim=encoder.dim, width=args.width, layers=args.layers,
                          heads=args.heads, ff=args.ff, dropout=args.dropout, cond_drop_prob=args.cond_drop,
                          prediction=args.prediction, max_frames=args.max_frames, text_encoder=args.text_encoder,
                          schedule=args.schedule, fps=fps)
    out = Path(args.out)
    torch.manual_seed(tcfg.seed)
    model = MotionDenoiser(mcfg).to(device)
    if args.init:
        load_into(model, load_checkpoint(args.init, expected_kind="denoiser"))
    schedule = NoiseSchedule(mcfg.schedule, mcfg.diffusion_steps)
    opt = torch.optim.AdamW(model.parameters(), lr=tcfg.lr, weight_decay=tcfg.weight_decay)
    gen = torch.Generator().manual_seed(tcfg.seed)
    step, elapsed_before = 0, 0.0
    ema = copy.deepcopy(model).eval().requires_grad_(False)
    if args.resume and (out / "resume" / "state.json").exists():
        step, rng, info = load_resume(out / "resume", model, opt)
        if rng is not None:
            gen.set_state(rng)
        elapsed_before = float(info.get("seconds", 0.0))
        try:
            load_into(ema, load_checkpoint(out, expected_kind="denoiser"))
        except CheckpointError:
            ema.load_state_dict(model.state_dict())
        print(f"resumed from {out / 'resume'} at step {step}", file=sys.stderr)

    # Encode every caption once; later encode() calls are cache hits.
    # The embeddings are also kept in <data>/.cache so later runs skip the encoding.
    caps = all_captions(root)
    t0 = time.time()
    cache_file = root / ".cache" / f"text_{encoder.name}.safetensors"
    encoder.load_cache(cache_file)
    for i in range(0, len(caps), 512):
        encoder.encode(caps[i:i + 512])
    try:
        encoder.save_cache(cache_file)
    except OSError:  # read-only dataset folder: fine, just slower next time
        pass
    print(f"encoded {len(caps)} captions in {time.time() - t0:.1f}s", file=sys.stderr)

    train = make_loader(root, "train", tcfg.batch_size, mcfg.max_frames, tcfg.seed, True)
    if train is None:
        raise ValueError(f"{root} has no training motions")
    val = make_loader(root, "val", tcfg.batch_size, mcfg.max_frames, 0, False)
    batches = forever(train, first_epoch=step // max(1, len(train)))
    amp_dtype = torch.bfloat16 if device == "cpu" else torch.float16
    scaler = torch.amp.GradScaler("cuda", enabled=tcfg.amp and device == "cuda")
    meta_base = {"command": "python -m easytune_core train-base " + " ".join(shlex.quote(a) for a in sys.argv[2:]),
                 "data": str(root), "train": tcfg.__dict__, "device": device}
    history: dict = {"train_loss": None, "val_loss": None}

    def validate() -> float | None:
        if val is None:
            return None
        vg = torch.Generator().manual_seed(1234)  # same t and noise every time: comparable numbers
        tot, n = 0.0, 0
        with torch.no_grad():
            for b in val:
                x0, mask = b["features"].to(device), b["mask"].to(device)
                emb = encoder.encode(b["captions"]).to(device)
                tot += float(diffusion_loss(ema, schedule, x0, mask, emb, vg)) * x0.shape[0]
                n += x0.shape[0]
        return tot / max(n, 1)

    def checkpoint(final: bool = False) -> None:
        seconds = elapsed_before + time.time() - start
        meta = {**meta_base, "step": step, "seconds": round(seconds, 1), **history, "final": final}
        dtype = {"float32": None, "float16": torch.float16, "bfloat16": torch.bfloat16}[args.save_dtype]
        save_checkpoint(out, ema, mcfg, "denoiser", mean, std, meta, dtype=dtype)
        save_resume(out / "resume", model, opt, step, gen.get_state(), {"seconds": seconds})

    from tqdm import tqdm
    bar = tqdm(total=tcfg.steps, initial=step, disable=args.quiet, desc="train-base", dynamic_ncols=True)
    start = time.time()
    smooth = None
    model.train()
    while step < tcfg.steps:
        b = next(batches)
        x0, mask = b["features"].to(device), b["mask"].to(device)
        emb = encoder.encode(b["captions"]).to(device)
        for g in opt.param_groups:
            g["lr"] = lr_at(step, tcfg, elapsed_before + time.time() - start)
        with torch.autocast(device_type=device, dtype=amp_dtype, enabled=tcfg.amp):
            loss = diffusion_loss(model, schedule, x0, mask, emb, gen, vel_weight=tcfg.vel_loss)
        if not torch.isfinite(loss):
            raise ValueError(f"training diverged at step {step} (loss {float(loss)}); lower --lr")
        opt.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.unscale_(opt)
        torch.nn.utils.clip_grad_norm_(model.parameters(), tcfg.grad_clip)
        scaler.step(opt)
        scaler.update()
        with torch.no_grad():
            d = tcfg.ema if step >= tcfg.warmup else 0.0
            for pe, pm in zip(ema.parameters(), model.parameters()):
                pe.lerp_(pm, 1 - d)
        step += 1
        lv = loss.item()
        smooth = lv if smooth is None else 0.98 * smooth + 0.02 * lv
        history["train_loss"] = round(smooth, 5)
        bar.update(1)
        bar.set_postfix(loss=f"{smooth:.4f}", val=history["val_loss"])
        if step % tcfg.val_every == 0 or step == tcfg.steps:
            v = validate()
            history["val_loss"] = None if v is None else round(v, 5)
            print(f"step {step} train {smooth:.4f} val {history['val_loss']} "
                  f"{elapsed_before + time.time() - start:.0f}s", file=sys.stderr, flush=True)
        if step % tcfg.ckpt_every == 0:
            checkpoint()
        if tcfg.time_budget and elapsed_before + time.time() - start > tcfg.time_budget * 60:
            print(f"time budget of {tcfg.time_budget} min reached at step {step}", file=sys.stderr)
            break
    bar.close()
    v = validate()
    history["val_loss"] = None if v is None else round(v, 5)
    checkpoint(final=True)
    print(json.dumps({"out": str(out), "step": step, **history,
                      "seconds": round(elapsed_before + time.time() - start, 1)}))
    return 0
