"""``python -m easytune_core train-base``: train the text-to-motion denoiser.

x0-prediction MSE over valid frames (MDM; geometric losses off, an optional small
velocity loss), AdamW, EMA weights (the saved model), bf16 autocast on CPU / fp16 AMP on
CUDA, validation loss, periodic checkpoints and resume. Text embeddings of every caption
are computed once up front so the text encoder never dominates a step.
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import json
import math
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from ..checkpoints import STORAGE, CheckpointError, load_checkpoint, load_into, read_config, save_checkpoint
from ..cli_config import add_config_arguments, command_line, config_from_args
from ..data.builtin import resolve_dataset
from ..data.loader import (CaptionEmbeddings, amp_dtype, forever, make_loader, mixed_precision_pays, resolve_device,
                           set_threads)
from .denoiser import DenoiserConfig, MotionDenoiser, load_start
from .schedule import NoiseSchedule


@dataclass
class TrainConfig:
    """Optimisation settings of train-base (saved as ``meta["train"]`` in the checkpoint)."""

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
    """Mixed precision: fp16 AMP on CUDA, bf16 autocast on CPUs with native bf16 (float32 on other
    CPUs, where bf16 is emulated and slower); ``--no-amp`` trains in float32."""
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


def ema_update(ema: torch.nn.Module, model: torch.nn.Module, decay: float) -> None:
    """Move every parameter of ``ema`` towards ``model``'s: ema <- decay * ema + (1 - decay) * model
    (decay 0 copies the model)."""
    with torch.no_grad():
        for pe, pm in zip(ema.parameters(), model.parameters()):
            pe.lerp_(pm, 1.0 - decay)


def save_resume(folder: Path, model, opt, step: int, rng_state: torch.Tensor, extra: dict, ema=None) -> None:
    """Raw weights, the EMA weights (float32: the exported checkpoint may be stored rounded) and the
    AdamW moments as safetensors, counters as JSON (no pickles)."""
    from safetensors.torch import save_file
    folder.mkdir(parents=True, exist_ok=True)
    tensors = {f"model.{k}": v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    if ema is not None:
        tensors.update({f"ema.{k}": v.detach().cpu().contiguous() for k, v in ema.state_dict().items()})
    names = {id(p): n for n, p in model.named_parameters()}
    for group in opt.param_groups:
        for p in group["params"]:
            st = opt.state.get(p)
            if st:
                tensors[f"exp_avg.{names[id(p)]}"] = st["exp_avg"].cpu().contiguous()
                tensors[f"exp_avg_sq.{names[id(p)]}"] = st["exp_avg_sq"].cpu().contiguous()
    tensors["rng_state"] = rng_state.contiguous()
    tensors["torch_rng_state"] = torch.get_rng_state().contiguous()  # dropout and condition dropout draw from it
    if torch.cuda.is_available() and torch.cuda.is_initialized():  # on CUDA, dropout draws from the device's generator
        tensors["cuda_rng_state"] = torch.cuda.get_rng_state().contiguous()
    tmp = folder / "state.safetensors.tmp"
    save_file(tensors, str(tmp))
    os.replace(tmp, folder / "state.safetensors")
    (folder / "state.json").write_text(json.dumps({"step": step, **extra}, indent=2))


def load_resume(folder: Path, model, opt, ema=None) -> tuple[int, torch.Tensor | None, dict]:
    """Restore what :func:`save_resume` wrote; ``info["ema_restored"]`` says whether the EMA weights
    were in it (states written before they were kept leave the EMA to the caller)."""
    from safetensors.torch import load_file
    info = json.loads((folder / "state.json").read_text())
    t = load_file(str(folder / "state.safetensors"))
    model.load_state_dict({k[6:]: v for k, v in t.items() if k.startswith("model.")})
    if "torch_rng_state" in t:
        torch.set_rng_state(t["torch_rng_state"])
    if "cuda_rng_state" in t and torch.cuda.is_available():
        torch.cuda.set_rng_state(t["cuda_rng_state"])
    ema_state = {k[4:]: v for k, v in t.items() if k.startswith("ema.")}
    info["ema_restored"] = bool(ema is not None and ema_state)
    if info["ema_restored"]:
        ema.load_state_dict(ema_state)
    step = int(info["step"])
    for n, p in model.named_parameters():
        if f"exp_avg.{n}" in t:
            opt.state[p] = {"step": torch.tensor(float(step)), "exp_avg": t[f"exp_avg.{n}"].to(p.device),
                            "exp_avg_sq": t[f"exp_avg_sq.{n}"].to(p.device)}
    return step, t.get("rng_state"), info


# ----------------------------------------------------------------------------- command
_D = DenoiserConfig()


@dataclass
class TrainBaseConfig(TrainConfig):
    """Everything ``train-base`` does: where the data and the checkpoint are, the model's size,
    the optimisation (:class:`TrainConfig`, saved in the checkpoint meta) and the machine."""

    out: str = field(default="", metadata={"required": True})
    """Checkpoint folder to write (EMA weights, config, stats; ``resume/`` holds the optimiser state)."""
    data: str = "builtin"
    """'builtin' (the built-in dataset in data/builtin, generated when missing) or a HumanML3D-layout folder."""
    resume: bool = False
    """Continue from <out>/resume if it is there."""
    init: str | None = None
    """Start from the weights of this denoiser: a checkpoint folder or a shipped name. ``--layers`` may
    exceed the start's: the added layers go between its layers and start as the identity."""
    width: int = _D.width
    """Transformer width."""
    layers: int = _D.layers
    """Transformer encoder layers."""
    heads: int = _D.heads
    """Attention heads (must divide the width)."""
    ff: int = _D.ff
    """Feed-forward hidden size."""
    max_frames: int = _D.max_frames
    """Longest motion in frames (HumanML3D: 196); longer training motions are dropped."""
    dropout: float = _D.dropout
    """Dropout inside the transformer."""
    cond_drop: float = _D.cond_drop_prob
    """Probability of dropping the text in training (the unconditional model of classifier-free guidance)."""
    prediction: str = field(default=_D.prediction, metadata={"choices": ("x0", "eps")})
    """What the network predicts: x0 (as MDM) or the noise."""
    schedule: str = field(default=_D.schedule, metadata={"choices": ("cosine", "scaled_linear")})
    """Noise schedule."""
    text_encoder: str = _D.text_encoder
    """Text encoder whose pooled embeddings condition the model (easytune_core.text)."""
    text_tokens: int = _D.text_tokens
    """Also attend to up to this many token states of the text encoder (0: pooled embedding only). With
    ``--init`` from a pooled-only model the token path starts silent, so training continues from its function."""
    threads: int = 0
    """torch CPU threads (0: leave as is)."""
    device: str | None = None
    """cpu or cuda (default: cuda when present)."""
    save_dtype: str = field(default="float32", metadata={"choices": ("float32", "float16", "bfloat16", "int8")})
    """dtype of the saved EMA weights (float16 halves the size; int8: weight matrices as 8-bit rows with
    float32 row scales, about a quarter); ``resume/`` keeps float32."""
    quiet: bool = False
    """No progress bar."""
    stop_after: float = 0.0
    """Stop this invocation after this many minutes, saving the checkpoint and the resume state, and
    leave the learning-rate schedule as it is (a run spread over several sittings: continue it with
    ``--resume``); 0 = run to the end. Unlike ``--time-budget`` it does not end the schedule."""

    def __post_init__(self):
        super().__post_init__()
        if not str(self.out).strip():
            raise ValueError("out is required: the checkpoint folder to write (--out runs/base)")
        if self.threads < 0:
            raise ValueError(f"threads must be >= 0, got {self.threads}")
        if not self.stop_after >= 0:
            raise ValueError(f"stop_after must be >= 0 minutes, got {self.stop_after}")
        self.model_config()  # sizes are checked where they are defined

    def model_config(self, feature_dim: int = 263, text_dim: int = 384, fps: float = 20.0) -> DenoiserConfig:
        """The DenoiserConfig these settings describe for ``feature_dim``-d data at ``fps`` frames per second
        and a ``text_dim`` encoder."""
        return DenoiserConfig(feature_dim=feature_dim, text_dim=text_dim, width=self.width, layers=self.layers,
                              heads=self.heads, ff=self.ff, dropout=self.dropout, cond_drop_prob=self.cond_drop,
                              prediction=self.prediction, max_frames=self.max_frames, text_encoder=self.text_encoder,
                              text_tokens=self.text_tokens, schedule=self.schedule, fps=fps)

    def optimisation(self) -> dict:
        """The :class:`TrainConfig` part, as recorded in ``meta["train"]``."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(TrainConfig)}


def init_record(folder) -> dict:
    """Where a run started: the ``--init`` checkpoint's folder and, from its metadata, the command,
    data, step and validation loss that made it, with what *it* started from nested under ``init``
    (recorded as ``meta["init"]``, so a chain of runs stays reproducible after the folder it started
    from is replaced)."""
    meta = read_config(folder).get("meta") or {}
    record = {"checkpoint": str(folder)}
    record.update({k: meta[k] for k in ("command", "data", "step", "val_loss") if meta.get(k) is not None})
    if isinstance(meta.get("init"), dict):
        record["init"] = meta["init"]
    return record


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_config_arguments(p, TrainBaseConfig)


def run(args) -> int:
    train_base(config_from_args(TrainBaseConfig, args))
    return 0


def train_base(cfg: TrainBaseConfig) -> dict:
    """Train (or resume) the denoiser described by ``cfg``; writes the checkpoint to ``cfg.out`` and
    returns the summary ``{out, step, train_loss, val_loss, seconds}`` (also printed as JSON)."""
    set_threads(cfg.threads)
    device = resolve_device(cfg.device)
    root = resolve_dataset(cfg.data)
    from ..data.dataset import detect_skeleton, load_stats
    from ..text import get_text_encoder
    mean, std = (np.asarray(a, dtype=np.float32) for a in load_stats(str(root)))
    fps = detect_skeleton(root).fps  # 20 for HumanML3D, 12.5 for KIT-ML
    encoder = get_text_encoder(cfg.text_encoder, device=device)
    mcfg = cfg.model_config(feature_dim=int(mean.shape[0]), text_dim=encoder.dim, fps=fps)
    out = Path(cfg.out)
    torch.manual_seed(cfg.seed)
    model = MotionDenoiser(mcfg).to(device)
    started_from = None
    if cfg.init:
        from ..shipped import resolve_checkpoint

        init_folder = resolve_checkpoint(cfg.init)
        added = load_start(model, load_checkpoint(init_folder, expected_kind="denoiser"))
        started_from = init_record(init_folder)
        if added:
            started_from["added_layers"] = added
            print(f"started from {init_folder} with encoder layers {added} added (starting as the identity)",
                  file=sys.stderr)
    schedule = NoiseSchedule(mcfg.schedule, mcfg.diffusion_steps)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    gen = torch.Generator().manual_seed(cfg.seed)
    step, elapsed_before = 0, 0.0
    ema = copy.deepcopy(model).eval().requires_grad_(False)
    if cfg.resume and (out / "resume" / "state.json").exists():
        step, rng, info = load_resume(out / "resume", model, opt, ema)
        if rng is not None:
            gen.set_state(rng)
        elapsed_before = float(info.get("seconds", 0.0))
        try:  # the start recorded when the run began: the --init folder may hold other weights by now
            started_from = (read_config(out).get("meta") or {}).get("init")
        except CheckpointError:
            pass
        if not info["ema_restored"]:  # a state saved before the EMA was kept in it: the exported weights
            try:
                load_into(ema, load_checkpoint(out, expected_kind="denoiser"))
            except CheckpointError:
                ema.load_state_dict(model.state_dict())
        print(f"resumed from {out / 'resume'} at step {step}", file=sys.stderr)

    # Every caption is encoded once up front (and kept in <data>/.cache for later runs), so the
    # text encoder never dominates a step.
    t0 = time.time()
    captions = CaptionEmbeddings(encoder, device, tokens=mcfg.text_tokens)
    warm = captions.warm(root, ("train", "val"))
    print(f"encoded {warm['captions']} captions in {time.time() - t0:.1f}s", file=sys.stderr)

    train = make_loader(root, "train", cfg.batch_size, train=True, seed=cfg.seed, max_frames=mcfg.max_frames)
    val = make_loader(root, "val", cfg.batch_size, train=False, max_frames=mcfg.max_frames, allow_empty=True)
    batches = forever(train, first_epoch=step // max(1, len(train)), skip=step % max(1, len(train)))
    scaler = torch.amp.GradScaler("cuda", enabled=cfg.amp and device.startswith("cuda"))
    meta_base = {"command": command_line("python -m easytune_core train-base", cfg),
                 "data": str(root), "train": cfg.optimisation(), "device": device}
    if started_from:
        meta_base["init"] = started_from
    history: dict = {"train_loss": None, "val_loss": None}

    def validate() -> float | None:
        if val is None:
            return None
        vg = torch.Generator().manual_seed(1234)  # same t and noise every time: comparable numbers
        tot, n = 0.0, 0
        with torch.no_grad():
            for b in val:
                x0, mask = b["features"].to(device), b["mask"].to(device)
                tot += float(diffusion_loss(ema, schedule, x0, mask, captions(b["captions"]), vg)) * x0.shape[0]
                n += x0.shape[0]
        return tot / max(n, 1)

    def checkpoint(final: bool = False) -> None:
        seconds = elapsed_before + time.time() - start
        meta = {**meta_base, "step": step, "seconds": round(seconds, 1), **history, "final": final}
        save_checkpoint(out, ema, mcfg, "denoiser", mean, std, meta, dtype=STORAGE[cfg.save_dtype])
        save_resume(out / "resume", model, opt, step, gen.get_state(), {"seconds": seconds}, ema=ema)

    from tqdm import tqdm
    bar = tqdm(total=cfg.steps, initial=step, disable=cfg.quiet, desc="train-base", dynamic_ncols=True)
    start = time.time()
    smooth = None
    paused = False  # stopped by --stop-after: the run goes on with --resume
    model.train()
    while step < cfg.steps:
        b = next(batches)
        x0, mask = b["features"].to(device), b["mask"].to(device)
        emb = captions(b["captions"])
        for g in opt.param_groups:
            g["lr"] = lr_at(step, cfg, elapsed_before + time.time() - start)
        with torch.autocast(device_type=device.split(":")[0], dtype=amp_dtype(device),
                            enabled=cfg.amp and mixed_precision_pays(device)):
            loss = diffusion_loss(model, schedule, x0, mask, emb, gen, vel_weight=cfg.vel_loss)
        if not torch.isfinite(loss):
            raise ValueError(f"training diverged at step {step} (loss {float(loss)}); lower --lr")
        opt.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.unscale_(opt)
        torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
        scaler.step(opt)
        scaler.update()
        ema_update(ema, model, cfg.ema if step >= cfg.warmup else 0.0)
        step += 1
        lv = loss.item()
        smooth = lv if smooth is None else 0.98 * smooth + 0.02 * lv
        history["train_loss"] = round(smooth, 5)
        bar.update(1)
        bar.set_postfix(loss=f"{smooth:.4f}", val=history["val_loss"])
        if step % cfg.val_every == 0 or step == cfg.steps:
            v = validate()
            history["val_loss"] = None if v is None else round(v, 5)
            print(f"step {step} train {smooth:.4f} val {history['val_loss']} "
                  f"{elapsed_before + time.time() - start:.0f}s", file=sys.stderr, flush=True)
        if step % cfg.ckpt_every == 0:
            checkpoint()
        if cfg.time_budget and elapsed_before + time.time() - start > cfg.time_budget * 60:
            print(f"time budget of {cfg.time_budget} min reached at step {step}", file=sys.stderr)
            break
        if cfg.stop_after and time.time() - start > cfg.stop_after * 60:
            paused = True
            print(f"stopping after {cfg.stop_after} min at step {step} of {cfg.steps}; continue with --resume",
                  file=sys.stderr)
            break
    bar.close()
    v = validate()
    history["val_loss"] = None if v is None else round(v, 5)
    checkpoint(final=not paused)
    summary = {"out": str(out), "step": step, **history, "seconds": round(elapsed_before + time.time() - start, 1)}
    print(json.dumps(summary))
    return summary
