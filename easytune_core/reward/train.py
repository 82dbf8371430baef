"""``python -m easytune_core train-reward``: retrieval pre-training, or SPL with ``--spl``
(:class:`RewardTrainConfig`; :func:`train_reward` is the same as a function).

Pre-training: symmetric InfoNCE (tau = 0.1) between text and motion embeddings of a batch;
off-diagonal pairs whose captions are near-duplicates (sentence-embedding cosine > 0.8) are
masked out as negatives (TMR's filtering). About half the batches are forward-noised with
the diffusion schedule to a uniform step t <= 500 and get the step token, so the reward
also scores noisy x_t. With ``--twin-share`` part of every batch is made of near-twin pairs
(built-in data): hard negatives that random batches almost never hold, which the near-duplicate
filter leaves in as negatives.

SPL (``--spl --init DIR``): starts from a pretrained reward model and adds
``spl_weight * L_SPL`` (pairs mined from the current batch, see ``reward/spl.py``) to the
same retrieval loss, with a small learning rate.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

import numpy as np
import torch
import torch.nn.functional as F

from easytune_core.cli_config import add_config_arguments, command_line, config_from_args
from easytune_core.data.builtin import resolve_dataset
from easytune_core.data.loader import (CaptionEmbeddings, autocast, forever, make_loader, mixed_precision_pays, resolve_device,
                                       seed_everything, set_threads)
from easytune_core.reward.model import RewardConfig, RewardModel, load_reward_model
from easytune_core.reward.retrieval import evaluate_retrieval
from easytune_core.reward.spl import mine_preferences, spl_loss


@dataclass
class RewardTrainConfig:
    """One ``train-reward`` run: retrieval pre-training, or the SPL stage with ``spl`` and ``init``."""

    data: str = "builtin"
    """Dataset folder (HumanML3D layout) or 'builtin' (data/builtin)."""
    out: str = "runs/reward"
    """Checkpoint folder to write."""
    spl: bool = False
    """SPL stage on top of a pretrained model (needs init)."""
    init: Optional[str] = None
    """Reward checkpoint to start from (required with spl)."""
    steps: int = 2000
    """Optimiser steps."""
    minutes: Optional[float] = None
    """Stop after this much wall time, in minutes (None: no limit)."""
    batch_size: int = 64
    """Text-motion pairs per batch (the retrieval loss and SPL's mining work within a batch)."""
    lr: Optional[float] = None
    """Learning rate (None: 1e-4 from scratch with warm-up and cosine decay; 1e-5, constant, from init)."""
    weight_decay: float = 1e-2
    """AdamW weight decay."""
    noise_prob: float = 0.5
    """Fraction of batches forward-noised to a random step, so the reward also scores noisy x_t."""
    max_t: int = 500
    """Largest diffusion step used for noising."""
    schedule: str = "cosine"
    """Noise schedule kind (match the base model's)."""
    spl_weight: float = 1e-2
    """Weight of the SPL loss added to the retrieval loss."""
    spl_k: int = 10
    """SPL: the ground truth counts as retrieved when it is in the top spl_k of its text's row."""
    spl_tau: Optional[float] = None
    """Temperature of SPL's two-way softmax (None: the model's retrieval temperature, as the paper's
    equation reads; the paper's released code divides by it twice, i.e. 0.01 for tau = 0.1)."""
    dup_threshold: float = 0.8
    """Caption cosine above which two pairs are not used as each other's negatives (never for near twins)."""
    spl_threshold: float = 0.8
    """SPL: a text whose similarity to any motion of the batch exceeds this is already confident and
    is left alone (the paper's 0.8, on the model's text-motion cosine)."""
    twin_share: float = 0.0
    """Fraction of each training batch made of near-twin pairs (a built-in dataset's twin records): hard
    negatives for the retrieval loss and for SPL's mining. 0: random batches."""
    width: int = 128
    """Transformer width (new models)."""
    layers: int = 4
    """Transformer layers per encoder (new models)."""
    embed_dim: int = 128
    """Size of the joint text-motion embedding (new models)."""
    text_encoder: str = "minilm"
    """Sentence encoder the text side reads (easytune_core.text)."""
    seed: int = 0
    """Seed of initialisation, batches and noise."""
    threads: Optional[int] = None
    """torch CPU threads (None: leave as is)."""
    device: Optional[str] = None
    """cpu or cuda (default: cuda when present)."""
    amp: bool = True
    """fp16 on CUDA / bf16 autocast on CPUs with native bf16 for the encoders (--no-amp: float32)."""
    eval_split: str = "test"
    """Split for the final retrieval scores ('' to skip)."""
    log_every: int = 50
    """Print the mean loss every this many steps."""

    def __post_init__(self):
        if self.spl and not self.init:
            raise ValueError("--spl fine-tunes a pretrained reward model: pass --init DIR (a train-reward output)")
        if self.steps < 1 or self.batch_size < 2:
            raise ValueError(f"need --steps >= 1 and --batch-size >= 2, got {self.steps} and {self.batch_size}")
        if not 0.0 <= self.noise_prob <= 1.0:
            raise ValueError(f"--noise-prob must be in [0, 1], got {self.noise_prob}")
        if self.max_t < 0:
            raise ValueError(f"--max-t must be >= 0, got {self.max_t}")
        if self.lr is not None and not 0 < self.lr <= 0.1:
            raise ValueError(f"--lr must be in (0, 0.1], got {self.lr}")
        if self.minutes is not None and self.minutes <= 0:
            raise ValueError(f"--minutes must be positive, got {self.minutes}")
        if not -1.0 <= self.spl_threshold <= 1.0:
            raise ValueError(f"--spl-threshold is a cosine similarity, in [-1, 1]; got {self.spl_threshold}")
        if not 0.0 <= self.twin_share <= 1.0:
            raise ValueError(f"--twin-share must be in [0, 1], got {self.twin_share}")
        if self.spl_tau is not None and not self.spl_tau > 0:
            raise ValueError(f"--spl-tau must be positive, got {self.spl_tau}")
        if self.spl_k < 1 or self.log_every < 1:
            raise ValueError(f"--spl-k and --log-every must be at least 1, got {self.spl_k} and {self.log_every}")

    @property
    def learning_rate(self) -> float:
        return self.lr if self.lr is not None else (1e-5 if self.init else 1e-4)


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_config_arguments(p, RewardTrainConfig)


def retrieval_loss(sim: torch.Tensor, text_emb: torch.Tensor, tau: float, dup_threshold: float,
                   distinct: Optional[torch.Tensor] = None) -> torch.Tensor:
    """Symmetric InfoNCE on a (B, B) text->motion cosine matrix with near-duplicate captions masked.

    Args:
        sim: (B, B) cosine similarities, rows texts, columns motions, matches on the diagonal.
        text_emb: (B, text_dim) unit sentence embeddings of the captions (for the filtering).
        distinct: optional (B, B) bool, pairs known to describe different motions (near twins):
            they stay negatives however close their captions are.
    Returns: scalar loss.
    """
    b = sim.shape[0]
    eye = torch.eye(b, dtype=torch.bool, device=sim.device)
    with torch.no_grad():
        tn = F.normalize(text_emb.float(), dim=-1)
        dup = (tn @ tn.T > dup_threshold) & ~eye
        if distinct is not None:
            dup &= ~distinct.to(dup.device)
    logits = (sim.float() / tau).masked_fill(dup, float("-inf"))
    target = torch.arange(b, device=sim.device)
    return 0.5 * (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target))


def _lr_at(step: int, frac: float, base: float, warmup: int) -> float:
    """Linear warm-up over ``warmup`` steps, then cosine decay over the run's progress ``frac``."""
    if step < warmup:
        return base * (step + 1) / warmup
    return base * 0.5 * (1 + math.cos(math.pi * min(1.0, frac)))


def run(args) -> int:
    train_reward(config_from_args(RewardTrainConfig, args))
    return 0


def train_reward(cfg: RewardTrainConfig, on_step: Optional[Callable[[dict], None]] = None, cancel=None) -> dict:
    """Train and save a reward checkpoint in ``cfg.out``; returns its meta (steps, losses, scores).

    ``on_step(dict)`` (optional) receives ``{step, loss, spl, lr, seconds}`` after every step and
    ``cancel`` (optional ``threading.Event``) stops training early (the model is still saved);
    the fine-tuning engine uses both for its SPL jobs.
    """
    from easytune_core.checkpoints import save_checkpoint
    from easytune_core.data.dataset import load_stats
    from easytune_core.diffusion import NoiseSchedule
    from easytune_core.text import get_text_encoder

    set_threads(cfg.threads)
    device = resolve_device(cfg.device)
    root = resolve_dataset(cfg.data)
    seed_everything(cfg.seed)
    mean, std = load_stats(root)
    text_encoder = get_text_encoder(cfg.text_encoder, device=device)
    schedule = NoiseSchedule(cfg.schedule)
    if not 0 <= cfg.max_t < schedule.num_steps:
        raise ValueError(f"--max-t must be in [0, {schedule.num_steps}), got {cfg.max_t}")

    if cfg.init:
        model = load_reward_model(cfg.init, device=device)
        model.requires_grad_(True)
        mcfg = model.config
        init_meta = dict(getattr(model, "meta", {}))
    else:
        mcfg = RewardConfig(feature_dim=int(len(mean)), text_dim=text_encoder.dim, width=cfg.width,
                            layers=cfg.layers, embed_dim=cfg.embed_dim, ff=2 * cfg.width)
        model = RewardModel(mcfg).to(device)
        init_meta = {}
    if mcfg.text_dim != text_encoder.dim or mcfg.feature_dim != len(mean):
        raise ValueError(f"the model expects text_dim={mcfg.text_dim}, feature_dim={mcfg.feature_dim}; "
                         f"got {text_encoder.name} ({text_encoder.dim}) and {len(mean)}-d data")
    model.mean.copy_(torch.as_tensor(mean, dtype=torch.float32))
    model.std.copy_(torch.as_tensor(std, dtype=torch.float32))
    lr = cfg.learning_rate
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=cfg.weight_decay)
    twins = None
    if cfg.twin_share:
        from easytune_core.data.builtin import ACTIONS_FILE
        from easytune_core.data.twins import load_twins

        if not (Path(root) / ACTIONS_FILE).is_file():
            raise ValueError(f"a twin share needs near-twin records ({ACTIONS_FILE}, written by prepare-data "
                             f"for the built-in world); {root} has none")
        twins = load_twins(root, "train")
    loader = make_loader(root, "train", cfg.batch_size, train=True, seed=cfg.seed, twin_share=cfg.twin_share,
                         twins=twins)
    twin_sets = {k: set(v) for k, v in (twins or {}).items()}
    captions = CaptionEmbeddings(text_encoder, device)
    warm = captions.warm(root, ("train",))
    print(f"caption cache: {warm['loaded']} embeddings loaded from {warm['file']}", flush=True)
    rng = np.random.default_rng(cfg.seed)
    gen = torch.Generator().manual_seed(cfg.seed)

    t0 = time.time()
    step, hist = 0, []
    # from scratch: warm-up then cosine decay; from --init (SPL or a control continuation): constant lr
    warmup = 0 if cfg.init else min(200, cfg.steps // 10)
    model.train()
    batches = forever(loader)
    scaler = torch.amp.GradScaler("cuda", enabled=cfg.amp and str(device).startswith("cuda")
                                  and mixed_precision_pays(device))
    mined = []  # per SPL step: share of texts whose target is "prefer the ground truth"
    while step < cfg.steps:
        elapsed = time.time() - t0
        if (cfg.minutes and elapsed > 60 * cfg.minutes) or (cancel and cancel.is_set()):
            break
        batch = next(batches)
        x = batch["features"].to(device)
        mask = batch["mask"].to(device)
        temb = captions(batch["captions"])
        t = None
        if rng.random() < cfg.noise_prob:
            t = torch.randint(0, cfg.max_t + 1, (x.shape[0],), generator=gen).to(device)
            x = schedule.q_sample(x, t, torch.randn(x.shape, generator=gen).to(device)) * mask[..., None]
        for group in opt.param_groups:
            frac = max(step / cfg.steps, elapsed / (60 * cfg.minutes) if cfg.minutes else 0.0)
            group["lr"] = lr if cfg.init else _lr_at(step, frac, lr, warmup)
        with autocast(device, enabled=cfg.amp and mixed_precision_pays(device)):
            sim = model.similarity(x, mask, temb, t)
        sim = sim.float()
        distinct = None
        if twin_sets:
            names = batch["names"]
            distinct = torch.tensor([[b in twin_sets.get(a, ()) for b in names] for a in names], dtype=torch.bool)
        loss = retrieval_loss(sim, temb, mcfg.temperature, cfg.dup_threshold, distinct)
        l_spl = torch.zeros(())
        if cfg.spl:
            l_spl = spl_loss(sim, tau=cfg.spl_tau or mcfg.temperature, k=cfg.spl_k, threshold=cfg.spl_threshold)
            loss = loss + cfg.spl_weight * l_spl
            mined.append(float(mine_preferences(sim.detach(), k=cfg.spl_k, threshold=cfg.spl_threshold)[1][:, 1]
                               .eq(1.0).float().mean()))
        opt.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()  # float16 autocast (CUDA) needs loss scaling; a no-op otherwise
        scaler.unscale_(opt)
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        scaler.step(opt)
        scaler.update()
        hist.append((float(loss.detach()), float(l_spl.detach())))
        step += 1
        if on_step is not None:
            on_step({"step": step, "loss": hist[-1][0], "spl": hist[-1][1], "lr": opt.param_groups[0]["lr"],
                     "seconds": round(time.time() - t0, 2)})
        if step % cfg.log_every == 0 or step == 1:
            recent = hist[-cfg.log_every:]
            print(f"step {step} loss {np.mean([h[0] for h in recent]):.4f} spl {np.mean([h[1] for h in recent]):.4f} "
                  f"lr {opt.param_groups[0]['lr']:.2e} {time.time() - t0:.0f}s", flush=True)
    seconds = time.time() - t0
    model.eval()

    scores = None
    if cfg.eval_split:
        scores = evaluate_retrieval(model, root, cfg.eval_split, text_encoder, schedule=schedule, seed=0)
        for key, val in scores.items():
            b, f = val.get("batch32"), val["full"]
            head = (f"batch32 t2m R@1 {b['t2m'][1]:.1f} R@3 {b['t2m'][3]:.1f} m2t R@1 {b['m2t'][1]:.1f} "
                    f"R@3 {b['m2t'][3]:.1f} | " if b else "(fewer than 32 pairs: no batch32 scores) ")
            h = val.get("hard32")
            tail = f" | hard32 t2m R@1 {h['t2m'][1]:.1f} R@3 {h['t2m'][3]:.1f} ({h['n']} queries)" if h else ""
            print(f"{cfg.eval_split} {key:>5}  {head}full t2m R@1 {f['t2m'][1]:.1f} "
                  f"R@3 {f['t2m'][3]:.1f} m2t R@1 {f['m2t'][1]:.1f} R@3 {f['m2t'][3]:.1f}{tail}", flush=True)
    meta = {
        "command": command_line("python -m easytune_core train-reward", cfg),
        "stage": "spl" if cfg.spl else ("continue" if cfg.init else "pretrain"),
        "init": str(cfg.init) if cfg.init else None,
        "init_meta": init_meta or None,
        "data": str(root), "steps": step, "cancelled": bool(cancel and cancel.is_set()), "seconds": round(seconds, 1), "lr": lr,
        "batch_size": cfg.batch_size, "twin_share": cfg.twin_share, "noise_prob": cfg.noise_prob, "max_t": cfg.max_t,
        "schedule": schedule.to_dict(), "text_encoder": text_encoder.name, "seed": cfg.seed,
        "spl_weight": cfg.spl_weight if cfg.spl else None, "spl_k": cfg.spl_k if cfg.spl else None,
        "spl_threshold": cfg.spl_threshold if cfg.spl else None,
        "spl_tau": (cfg.spl_tau or mcfg.temperature) if cfg.spl else None,
        "spl_prefer_gt_share": float(np.mean(mined)) if mined else None,
        "final_loss": float(np.mean([h[0] for h in hist[-50:]])) if hist else None,
        "retrieval": {"split": cfg.eval_split, "scores": scores} if scores else None,
    }
    save_checkpoint(cfg.out, model, mcfg, "reward", mean=mean, std=std, meta=meta)
    if mined:
        print(f"SPL: 'prefer the ground truth' targets on {100 * np.mean(mined):.2f}% of the texts "
              f"(the rest [0.5, 0.5])", flush=True)
    print(f"saved reward checkpoint to {cfg.out} ({step} steps, {seconds:.0f}s)")
    Path(cfg.out, "train_log.json").write_text(json.dumps({"loss": [h[0] for h in hist],
                                                          "spl": [h[1] for h in hist]}))
    return meta
