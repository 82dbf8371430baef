"""``python -m easytune_core train-evaluator``: train the independent evaluator.

Loss, after Guo et al. 2022's text-motion matching: a margin contrastive loss on Euclidean
distances, ``d_pos^2`` for matched pairs plus ``max(0, margin - d_neg)^2`` for mismatched
ones. Guo et al. take one negative per text by shifting the batch; here every other motion
of the batch is a negative (faster on a small budget), except near-duplicate captions
(sentence cosine > 0.8). Its own seed (default 1234) and no weights shared with the reward.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
import torch.nn.functional as F

from easytune_core.eval.metrics import diversity, mm_dist, r_precision
from easytune_core.eval.model import UNIT_LEN, Evaluator, EvaluatorConfig


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", default="builtin", help="dataset folder (HumanML3D layout) or 'builtin' (data/builtin)")
    p.add_argument("--out", default="runs/evaluator", help="checkpoint folder to write")
    p.add_argument("--steps", type=int, default=3000)
    p.add_argument("--minutes", type=float, default=None, help="stop after this much wall time (minutes)")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--lr", type=float, default=2e-4)
    p.add_argument("--margin", type=float, default=10.0, help="contrastive margin (Guo et al.: 10)")
    p.add_argument("--dup-threshold", type=float, default=0.8)
    p.add_argument("--hidden", type=int, default=160)
    p.add_argument("--movement-dim", type=int, default=128)
    p.add_argument("--embed-dim", type=int, default=128)
    p.add_argument("--text-encoder", default="minilm-static",
                   help="token features: 'minilm-static' (MiniLM word vectors) or a get_text_encoder name")
    p.add_argument("--dup-encoder", default="minilm", help="sentence encoder for the near-duplicate filter")
    p.add_argument("--seed", type=int, default=1234, help="its own seed, different from the reward's")
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--device", default=None)
    p.add_argument("--fp16-weights", action="store_true", help="store weights as float16 (half the size)")
    p.add_argument("--log-every", type=int, default=100)


class TokenCache:
    """Per-caption token features of a frozen text encoder (float16 on CPU), bounded in memory."""

    def __init__(self, text_encoder, max_bytes: int = 400 * 2 ** 20):
        self.enc = text_encoder
        if getattr(text_encoder, "cheap", False):
            max_bytes = 0  # static look-ups: caching would only cost memory
        self.store: dict[str, torch.Tensor] = {}
        self.max_bytes, self.bytes = int(max_bytes), 0

    def batch(self, captions: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
        """-> tokens (B, L, dim) float32 and mask (B, L) bool."""
        missing = sorted({c for c in captions if c not in self.store})
        if missing:
            tok, mask = self.enc.encode_tokens(missing)
            if self.bytes >= self.max_bytes:  # start over rather than grow without bound
                keep = set(captions)
                self.store = {c: v for c, v in self.store.items() if c in keep}
                self.bytes = sum(v.numel() * 2 for v in self.store.values())
            for c, t, m in zip(missing, tok, mask):
                self.store[c] = t[m].to(torch.float16)
                self.bytes += self.store[c].numel() * 2
        rows = [self.store[c] for c in captions]
        n = max(len(r) for r in rows)
        tokens = torch.zeros(len(rows), n, rows[0].shape[-1])
        mask = torch.zeros(len(rows), n, dtype=torch.bool)
        for i, r in enumerate(rows):
            tokens[i, :len(r)] = r.float()
            mask[i, :len(r)] = True
        return tokens, mask


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
    from easytune_core.reward.retrieval import make_loader, seed_everything
    model.eval()
    seed_everything(seed)
    texts, motions = [], []
    for batch in make_loader(root, split, 64, train=False, seed=seed):
        tok, mask = cache.batch(list(batch["captions"]))
        texts.append(model.encode_text(tok.to(model.device), mask.to(model.device)).cpu())
        motions.append(model.encode_motion(batch["features"].to(model.device), batch["lengths"]).cpu())
    t, m = torch.cat(texts).numpy(), torch.cat(motions).numpy()
    order = np.random.default_rng(seed).permutation(len(t))
    out = {"n": len(t), "mm_dist": mm_dist(t, m)}
    if len(t) >= 32:
        out["r_precision"] = [float(v) for v in r_precision(t[order], m[order])]
    if len(t) > 1:
        out["diversity"] = diversity(m, times=min(300, len(m) - 1))
    return out


def run(args) -> int:
    from easytune_core.checkpoints import save_checkpoint
    from easytune_core.data.builtin import resolve_dataset
    from easytune_core.data.dataset import load_stats
    from easytune_core.eval.text import get_token_encoder
    from easytune_core.reward.retrieval import load_caption_cache, make_loader, seed_everything, set_epoch
    from easytune_core.text import get_text_encoder

    if args.steps < 1 or args.batch_size < 2:
        raise ValueError(f"need --steps >= 1 and --batch-size >= 2, got {args.steps} and {args.batch_size}")
    if args.margin <= 0:
        raise ValueError(f"--margin must be > 0, got {args.margin}")
    torch.set_num_threads(args.threads or torch.get_num_threads())
    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    root = resolve_dataset(args.data)
    seed_everything(args.seed)
    mean, std = load_stats(root)
    text_encoder = get_token_encoder(args.text_encoder, device=device)
    dup_encoder = get_text_encoder(args.dup_encoder, device=device)
    load_caption_cache(dup_encoder, root)
    cache = TokenCache(text_encoder)
    probe, _ = text_encoder.encode_tokens(["a person walks"])
    cfg = EvaluatorConfig(feature_dim=int(len(mean)), token_dim=int(probe.shape[-1]), movement_dim=args.movement_dim,
                          hidden=args.hidden, embed_dim=args.embed_dim, text_encoder=text_encoder.name)
    model = Evaluator(cfg).to(device)
    # training batches are normalised with the dataset stats, which become the evaluator's own
    model.mean.copy_(torch.as_tensor(mean, dtype=torch.float32))
    model.std.copy_(torch.as_tensor(std, dtype=torch.float32))
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=1e-4)
    loader = make_loader(root, "train", args.batch_size, train=True, seed=args.seed)

    t0, step, losses = time.time(), 0, []
    model.train()
    epoch = 0
    while step < args.steps:
        set_epoch(loader, epoch)
        epoch += 1
        for batch in loader:
            if step >= args.steps or (args.minutes and time.time() - t0 > 60 * args.minutes):
                break
            caps = list(batch["captions"])
            lengths = batch["lengths"]
            if (lengths < UNIT_LEN).any():
                continue
            tok, tmask = cache.batch(caps)
            with torch.no_grad():
                sent = dup_encoder.encode(caps).to(device)
                eye = torch.eye(len(caps), dtype=torch.bool, device=device)
                negatives = ~((sent @ sent.T > args.dup_threshold) | eye)
            text = model.encode_text(tok.to(device), tmask.to(device))
            motion = model.encode_motion(batch["features"].to(device), lengths)
            loss = margin_contrastive_loss(text, motion, args.margin, negatives.float())
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            losses.append(float(loss.detach()))
            step += 1
            if step % args.log_every == 0 or step == 1:
                print(f"step {step} loss {np.mean(losses[-args.log_every:]):.4f} {time.time() - t0:.0f}s", flush=True)
        else:
            continue
        break
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
              f"MM-Dist {s['mm_dist']:.3f}  Diversity {s.get('diversity', float('nan')):.3f}  (n={s['n']})")
    meta = {"data": str(root), "steps": step, "seconds": round(seconds, 1), "lr": args.lr, "margin": args.margin,
            "batch_size": args.batch_size, "seed": args.seed, "text_encoder": text_encoder.name,
            "final_loss": float(np.mean(losses[-100:])) if losses else None, "real_motion": scores}
    save_checkpoint(args.out, model, cfg, "evaluator", mean=mean, std=std, meta=meta,
                    dtype=torch.float16 if args.fp16_weights else None)
    print(f"saved evaluator checkpoint to {args.out} ({step} steps, {seconds:.0f}s)")
    return 0
