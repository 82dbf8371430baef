"""``python -m easytune_core train-reward``: retrieval pre-training, or SPL with ``--spl``.

Pre-training: symmetric InfoNCE (tau = 0.1) between text and motion embeddings of a batch;
off-diagonal pairs whose captions are near-duplicates (sentence-embedding cosine > 0.8) are
masked out as negatives (TMR's filtering). About half the batches are forward-noised with
the diffusion schedule to a uniform step t <= 500 and get the step token, so the reward
also scores noisy x_t.

SPL (``--spl --init DIR``): starts from a pretrained reward model and adds
``spl_weight * L_SPL`` (pairs mined from the current batch, see ``reward/spl.py``) to the
same retrieval loss, with a small learning rate.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from easytune_core.data.builtin import resolve_dataset
from easytune_core.reward.model import RewardConfig, RewardModel, load_reward_model
from easytune_core.reward.retrieval import (caption_cache_file, evaluate_retrieval, load_caption_cache, make_loader,
                                            seed_everything, set_epoch)
from easytune_core.reward.spl import spl_loss


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", default="builtin", help="dataset folder (HumanML3D layout) or 'builtin' (data/builtin)")
    p.add_argument("--out", default="runs/reward", help="checkpoint folder to write")
    p.add_argument("--spl", action="store_true", help="SPL stage on top of a pretrained model (needs --init)")
    p.add_argument("--init", default=None, help="reward checkpoint to start from (required with --spl)")
    p.add_argument("--steps", type=int, default=2000, help="optimiser steps")
    p.add_argument("--minutes", type=float, default=None, help="stop after this much wall time (minutes)")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--lr", type=float, default=None, help="learning rate (default 1e-4; 1e-5 with --init)")
    p.add_argument("--weight-decay", type=float, default=1e-2)
    p.add_argument("--noise-prob", type=float, default=0.5, help="fraction of batches forward-noised")
    p.add_argument("--max-t", type=int, default=500, help="largest diffusion step used for noising")
    p.add_argument("--schedule", default="cosine", help="noise schedule kind (match the base model's)")
    p.add_argument("--spl-weight", type=float, default=1e-2)
    p.add_argument("--spl-k", type=int, default=10)
    p.add_argument("--dup-threshold", type=float, default=0.8, help="caption cosine above which pairs are not negatives")
    p.add_argument("--width", type=int, default=128)
    p.add_argument("--layers", type=int, default=4)
    p.add_argument("--embed-dim", type=int, default=128)
    p.add_argument("--text-encoder", default="minilm")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    p.add_argument("--device", default=None)
    p.add_argument("--no-amp", action="store_true", help="disable bf16 autocast")
    p.add_argument("--eval-split", default="test", help="split for the final retrieval scores ('' to skip)")
    p.add_argument("--log-every", type=int, default=50)


def retrieval_loss(sim: torch.Tensor, text_emb: torch.Tensor, tau: float, dup_threshold: float) -> torch.Tensor:
    """Symmetric InfoNCE on a (B, B) text->motion cosine matrix with near-duplicate captions masked.

    Args:
        sim: (B, B) cosine similarities, rows texts, columns motions, matches on the diagonal.
        text_emb: (B, text_dim) unit sentence embeddings of the captions (for the filtering).
    Returns: scalar loss.
    """
    b = sim.shape[0]
    eye = torch.eye(b, dtype=torch.bool, device=sim.device)
    with torch.no_grad():
        tn = F.normalize(text_emb.float(), dim=-1)
        dup = (tn @ tn.T > dup_threshold) & ~eye
    logits = (sim.float() / tau).masked_fill(dup, float("-inf"))
    target = torch.arange(b, device=sim.device)
    return 0.5 * (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target))


def _lr_at(step: int, frac: float, base: float, warmup: int) -> float:
    """Linear warm-up over ``warmup`` steps, then cosine decay over the run's progress ``frac``."""
    if step < warmup:
        return base * (step + 1) / warmup
    return base * 0.5 * (1 + math.cos(math.pi * min(1.0, frac)))


class CaptionCache:
    """Pooled sentence embeddings per caption, computed once (the encoder's own cache is bounded)."""

    def __init__(self, text_encoder, device):
        self.enc, self.device, self.store = text_encoder, device, {}

    def __call__(self, captions: list[str]) -> torch.Tensor:
        missing = sorted({c for c in captions if c not in self.store})
        if missing:
            self.store.update(zip(missing, self.enc.encode(missing).float()))
        return torch.stack([self.store[c] for c in captions]).to(self.device)


def run(args, on_step=None, cancel=None) -> int:
    """Train and save a reward checkpoint.

    ``on_step(dict)`` (optional) receives ``{step, loss, spl, lr, seconds}`` after every step and
    ``cancel`` (optional ``threading.Event``) stops training early (the model is still saved);
    the fine-tuning engine uses both for its SPL jobs.
    """
    from easytune_core.checkpoints import save_checkpoint
    from easytune_core.data.dataset import load_stats
    from easytune_core.diffusion import NoiseSchedule
    from easytune_core.text import get_text_encoder

    if args.spl and not args.init:
        raise ValueError("--spl fine-tunes a pretrained reward model: pass --init DIR (a train-reward output)")
    if args.steps < 1 or args.batch_size < 2:
        raise ValueError(f"need --steps >= 1 and --batch-size >= 2, got {args.steps} and {args.batch_size}")
    if not 0.0 <= args.noise_prob <= 1.0:
        raise ValueError(f"--noise-prob must be in [0, 1], got {args.noise_prob}")
    torch.set_num_threads(args.threads or torch.get_num_threads())
    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    root = resolve_dataset(args.data)
    seed_everything(args.seed)
    mean, std = load_stats(root)
    text_encoder = get_text_encoder(args.text_encoder, device=device)
    schedule = NoiseSchedule(args.schedule)
    if not 0 <= args.max_t < schedule.num_steps:
        raise ValueError(f"--max-t must be in [0, {schedule.num_steps}), got {args.max_t}")

    if args.init:
        model = load_reward_model(args.init, device=device)
        model.requires_grad_(True)
        cfg = model.config
        init_meta = dict(getattr(model, "meta", {}))
    else:
        cfg = RewardConfig(feature_dim=int(len(mean)), text_dim=text_encoder.dim, width=args.width,
                           layers=args.layers, embed_dim=args.embed_dim, ff=2 * args.width)
        model = RewardModel(cfg).to(device)
        init_meta = {}
    if cfg.text_dim != text_encoder.dim or cfg.feature_dim != len(mean):
        raise ValueError(f"the model expects text_dim={cfg.text_dim}, feature_dim={cfg.feature_dim}; "
                         f"got {text_encoder.name} ({text_encoder.dim}) and {len(mean)}-d data")
    model.mean.copy_(torch.as_tensor(mean, dtype=torch.float32))
    model.std.copy_(torch.as_tensor(std, dtype=torch.float32))
    lr = args.lr if args.lr is not None else (1e-5 if args.init else 1e-4)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=args.weight_decay)
    use_amp = not args.no_amp
    amp_dtype = torch.bfloat16 if device == "cpu" else torch.float16
    loader = make_loader(root, "train", args.batch_size, train=True, seed=args.seed)
    loaded = load_caption_cache(text_encoder, root)
    print(f"caption cache: {loaded} embeddings loaded from {caption_cache_file(text_encoder, root)}", flush=True)
    captions = CaptionCache(text_encoder, device)
    rng = np.random.default_rng(args.seed)
    gen = torch.Generator().manual_seed(args.seed)

    t0 = time.time()
    step, hist = 0, []
    # from scratch: warm-up then cosine decay; from --init (SPL or a control continuation): constant lr
    warmup = 0 if args.init else min(200, args.steps // 10)
    model.train()
    epoch = 0
    while step < args.steps:
        set_epoch(loader, epoch)
        epoch += 1
        for batch in loader:
            elapsed = time.time() - t0
            if step >= args.steps or (args.minutes and elapsed > 60 * args.minutes) or (cancel and cancel.is_set()):
                break
            x = batch["features"].to(device)
            mask = batch["mask"].to(device)
            temb = captions(list(batch["captions"]))
            t = None
            if rng.random() < args.noise_prob:
                t = torch.randint(0, args.max_t + 1, (x.shape[0],), generator=gen).to(device)
                x = schedule.q_sample(x, t, torch.randn(x.shape, generator=gen).to(device)) * mask[..., None]
            for group in opt.param_groups:
                frac = max(step / args.steps, elapsed / (60 * args.minutes) if args.minutes else 0.0)
                group["lr"] = lr if args.init else _lr_at(step, frac, lr, warmup)
            with torch.autocast(device_type=device.split(":")[0], dtype=amp_dtype, enabled=use_amp):
                sim = model.similarity(x, mask, temb, t)
            sim = sim.float()
            loss = retrieval_loss(sim, temb, cfg.temperature, args.dup_threshold)
            l_spl = torch.zeros(())
            if args.spl:
                l_spl = spl_loss(sim, tau=cfg.temperature, k=args.spl_k, threshold=args.dup_threshold)
                loss = loss + args.spl_weight * l_spl
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            hist.append((float(loss.detach()), float(l_spl.detach())))
            step += 1
            if on_step is not None:
                on_step({"step": step, "loss": hist[-1][0], "spl": hist[-1][1], "lr": opt.param_groups[0]["lr"],
                         "seconds": round(time.time() - t0, 2)})
            if step % args.log_every == 0 or step == 1:
                recent = np.mean([h[0] for h in hist[-args.log_every:]], axis=0)
                print(f"step {step} loss {recent:.4f} spl {np.mean([h[1] for h in hist[-args.log_every:]]):.4f} "
                      f"lr {opt.param_groups[0]['lr']:.2e} {time.time() - t0:.0f}s", flush=True)
        else:
            continue
        break
    seconds = time.time() - t0
    model.eval()

    scores = None
    if args.eval_split:
        scores = evaluate_retrieval(model, root, args.eval_split, text_encoder, schedule=schedule, seed=0)
        for key, val in scores.items():
            b, f = val.get("batch32"), val["full"]
            head = (f"batch32 t2m R@1 {b['t2m'][1]:.1f} R@3 {b['t2m'][3]:.1f} m2t R@1 {b['m2t'][1]:.1f} "
                    f"R@3 {b['m2t'][3]:.1f} | " if b else "(fewer than 32 pairs: no batch32 scores) ")
            print(f"{args.eval_split} {key:>5}  {head}full t2m R@1 {f['t2m'][1]:.1f} "
                  f"R@3 {f['t2m'][3]:.1f} m2t R@1 {f['m2t'][1]:.1f} R@3 {f['m2t'][3]:.1f}", flush=True)
    meta = {
        "stage": "spl" if args.spl else ("continue" if args.init else "pretrain"),
        "init": str(args.init) if args.init else None,
        "init_meta": init_meta or None,
        "data": str(root), "steps": step, "cancelled": bool(cancel and cancel.is_set()), "seconds": round(seconds, 1), "lr": lr,
        "batch_size": args.batch_size, "noise_prob": args.noise_prob, "max_t": args.max_t,
        "schedule": schedule.to_dict(), "text_encoder": text_encoder.name, "seed": args.seed,
        "spl_weight": args.spl_weight if args.spl else None, "spl_k": args.spl_k if args.spl else None,
        "final_loss": float(np.mean([h[0] for h in hist[-50:]])) if hist else None,
        "retrieval": {"split": args.eval_split, "scores": scores} if scores else None,
    }
    save_checkpoint(args.out, model, cfg, "reward", mean=mean, std=std, meta=meta)
    print(f"saved reward checkpoint to {args.out} ({step} steps, {seconds:.0f}s)")
    Path(args.out, "train_log.json").write_text(json.dumps({"loss": [h[0] for h in hist],
                                                            "spl": [h[1] for h in hist]}))
    return 0
