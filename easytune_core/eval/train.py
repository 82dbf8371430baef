"""``python -m easytune_core train-evaluator``: train the independent evaluator.

Loss, after Guo et al. 2022's text-motion matching: a margin contrastive loss on Euclidean
distances, ``d_pos^2`` for matched pairs plus ``max(0, margin - d_neg)^2`` for mismatched
ones. Guo et al. take one negative per text by shifting the batch; here every other motion
of the batch is a negative (faster on a small budget), except near-duplicate captions
(sentence cosine > 0.8). Its own seed (default 1234) and no weights or code shared with the
reward model: both train through ``easytune_core.data.loader`` only.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass
from typing import Optional

import numpy as np
import torch
import torch.nn.functional as F

from easytune_core.cli_config import add_config_arguments, command_line, config_from_args
from easytune_core.data.loader import (CaptionEmbeddings, TokenCache, forever, make_loader, resolve_device,
                                       seed_everything, set_threads)
from easytune_core.eval.metrics import diversity, mm_dist, r_precision, r_precision_groups
from easytune_core.eval.model import UNIT_LEN, Evaluator, EvaluatorConfig


@dataclass
class EvaluatorTrainConfig:
    """One ``train-evaluator`` run."""

    data: str = "builtin"
    """Dataset folder (HumanML3D layout) or 'builtin' (data/builtin)."""
    out: str = "runs/evaluator"
    """Checkpoint folder to write."""
    steps: int = 3000
    """Optimiser steps."""
    minutes: Optional[float] = None
    """Stop after this much wall time, in minutes (None: no limit)."""
    batch_size: int = 64
    """Text-motion pairs per batch (every other pair of the batch is a negative)."""
    lr: float = 2e-4
    """AdamW learning rate."""
    margin: float = 10.0
    """Contrastive margin on Euclidean distances (Guo et al.: 10)."""
    dup_threshold: float = 0.8
    """Caption cosine above which two pairs are not used as each other's negatives."""
    hidden: int = 160
    """GRU hidden size."""
    movement_dim: int = 128
    """Size of the movement encoder's output per 4-frame unit."""
    embed_dim: int = 128
    """Size of the joint text-motion embedding."""
    text_encoder: str = "minilm-static"
    """Token features: 'minilm-static' (MiniLM word vectors) or a get_text_encoder name."""
    dup_encoder: str = "minilm"
    """Sentence encoder for the near-duplicate filter."""
    seed: int = 1234
    """Its own seed, different from the reward model's."""
    threads: Optional[int] = None
    """torch CPU threads (None: leave as is)."""
    device: Optional[str] = None
    """cpu or cuda (default: cuda when present)."""
    fp16_weights: bool = False
    """Store the weights as float16 (half the size)."""
    log_every: int = 100
    """Print the mean loss every this many steps."""

    def __post_init__(self):
        if self.steps < 1 or self.batch_size < 2:
            raise ValueError(f"need --steps >= 1 and --batch-size >= 2, got {self.steps} and {self.batch_size}")
        if self.margin <= 0:
            raise ValueError(f"--margin must be > 0, got {self.margin}")
        if not 0 < self.lr <= 0.1:
            raise ValueError(f"--lr must be in (0, 0.1], got {self.lr}")
        if self.minutes is not None and self.minutes <= 0:
            raise ValueError(f"--minutes must be positive, got {self.minutes}")
        if self.log_every < 1:
            raise ValueError(f"--log-every must be at least 1, got {self.log_every}")


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_config_arguments(p, EvaluatorTrainConfig)


def margin_contrastive_loss(text: torch.Tensor, motion: torch.Tensor, margin: float,
                            negatives: torch.Tensor) -> torch.Tensor:
    """Guo-style contrastive loss. text, motion: (B, E) matched rows; negatives: (B, B) bool."""
    d = torch.cdist(text, motion)
    pos = d.diagonal().pow(2).mean()
    neg = F.relu(margin - d).pow(2)
    neg = (neg * negatives).sum() / negatives.sum().clamp(min=1)
    return pos + neg


@torch.no_grad()
def real_motion_scores(model: Evaluator, root, split: str, cache: TokenCache, seed: int = 0) -> dict:
    """R-Precision / MM-Dist / Diversity of real pairs of ``split`` (evaluator sanity check)."""
    model.eval()
    seed_everything(seed)
    from easytune_core.eval.protocol import hard_negative_pairs
    texts, motions, names = [], [], []
    for batch in make_loader(root, split, 64, train=False, seed=seed):
        tok, mask = cache.batch(list(batch["captions"]))
        texts.append(model.encode_text(tok.to(model.device), mask.to(model.device)).cpu())
        motions.append(model.encode_motion(batch["features"].to(model.device), batch["lengths"]).cpu())
        names += list(batch["names"])
    t, m = torch.cat(texts).numpy(), torch.cat(motions).numpy()
    order = np.random.default_rng(seed).permutation(len(t))
    out = {"n": len(t), "mm_dist": mm_dist(t, m)}
    if len(t) >= 32:
        out["r_precision"] = [float(v) for v in r_precision(t[order], m[order])]
        groups = hard_negative_pairs(root, names, seed=seed)  # built-in data with near twins only
        if groups:
            out["r_precision_hard"] = [float(v) for v in r_precision_groups(t, m, groups)]
            out["hard_negative_queries"] = len(groups)
    if len(t) > 1:
        out["diversity"] = diversity(m, times=min(300, len(m) - 1))
    return out


def run(args) -> int:
    train_evaluator(config_from_args(EvaluatorTrainConfig, args))
    return 0


def train_evaluator(cfg: EvaluatorTrainConfig) -> dict:
    """Train the evaluator described by ``cfg``, score real val/test pairs with it, save it to
    ``cfg.out``; returns the checkpoint meta."""
    from easytune_core.checkpoints import save_checkpoint
    from easytune_core.data.builtin import resolve_dataset
    from easytune_core.data.dataset import load_stats
    from easytune_core.eval.text import get_token_encoder
    from easytune_core.text import get_text_encoder

    set_threads(cfg.threads)
    device = resolve_device(cfg.device)
    root = resolve_dataset(cfg.data)
    seed_everything(cfg.seed)
    mean, std = load_stats(root)
    text_encoder = get_token_encoder(cfg.text_encoder, device=device)
    dup_encoder = CaptionEmbeddings(get_text_encoder(cfg.dup_encoder, device=device), device)
    dup_encoder.warm(root, ("train",))  # every train caption once, up front, into the shared disk cache
    cache = TokenCache(text_encoder)
    probe, _ = text_encoder.encode_tokens(["a person walks"])
    mcfg = EvaluatorConfig(feature_dim=int(len(mean)), token_dim=int(probe.shape[-1]), movement_dim=cfg.movement_dim,
                           hidden=cfg.hidden, embed_dim=cfg.embed_dim, text_encoder=text_encoder.name)
    model = Evaluator(mcfg).to(device)
    # training batches are normalised with the dataset stats, which become the evaluator's own
    model.mean.copy_(torch.as_tensor(mean, dtype=torch.float32))
    model.std.copy_(torch.as_tensor(std, dtype=torch.float32))
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=1e-4)
    loader = make_loader(root, "train", cfg.batch_size, train=True, seed=cfg.seed)

    t0, step, losses = time.time(), 0, []
    model.train()
    batches = forever(loader)
    while step < cfg.steps:
        if cfg.minutes and time.time() - t0 > 60 * cfg.minutes:
            break
        batch = next(batches)
        caps = list(batch["captions"])
        lengths = batch["lengths"]
        if (lengths < UNIT_LEN).any():
            continue
        tok, tmask = cache.batch(caps)
        with torch.no_grad():
            sent = dup_encoder(caps)
            eye = torch.eye(len(caps), dtype=torch.bool, device=device)
            negatives = ~((sent @ sent.T > cfg.dup_threshold) | eye)
        text = model.encode_text(tok.to(device), tmask.to(device))
        motion = model.encode_motion(batch["features"].to(device), lengths)
        loss = margin_contrastive_loss(text, motion, cfg.margin, negatives.float())
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        losses.append(float(loss.detach()))
        step += 1
        if step % cfg.log_every == 0 or step == 1:
            print(f"step {step} loss {np.mean(losses[-cfg.log_every:]):.4f} {time.time() - t0:.0f}s", flush=True)
    seconds = time.time() - t0
    model.eval()
    scores = {}
    for split in ("val", "test"):
        try:
            scores[split] = real_motion_scores(model, root, split, cache)
        except ValueError as err:  # an empty or missing split
            print(f"{split}: skipped ({err})")
    for split, s in scores.items():
        rp = s.get("r_precision", [float("nan")] * 3)
        print(f"{split}: real-motion R-Precision top1/2/3 {rp[0]:.3f} {rp[1]:.3f} {rp[2]:.3f}  "
              f"MM-Dist {s['mm_dist']:.3f}  Diversity {s.get('diversity', float('nan')):.3f}  (n={s['n']})"
              + (f"  hard-negative top1/3 {s['r_precision_hard'][0]:.3f} {s['r_precision_hard'][2]:.3f} "
                 f"({s['hard_negative_queries']} queries)" if "r_precision_hard" in s else ""))
    meta = {"command": command_line("python -m easytune_core train-evaluator", cfg),
            "data": str(root), "steps": step, "seconds": round(seconds, 1), "lr": cfg.lr, "margin": cfg.margin,
            "batch_size": cfg.batch_size, "seed": cfg.seed, "text_encoder": text_encoder.name,
            "final_loss": float(np.mean(losses[-100:])) if losses else None, "real_motion": scores}
    save_checkpoint(cfg.out, model, mcfg, "evaluator", mean=mean, std=std, meta=meta,
                    dtype=torch.float16 if cfg.fp16_weights else None)
    print(f"saved evaluator checkpoint to {cfg.out} ({step} steps, {seconds:.0f}s)")
    return meta
