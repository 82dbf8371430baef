"""Text<->motion retrieval scores of the reward model (loaders and seeding: ``data/loader.py``).

Retrieval is scored three ways:
  * "full": each text ranks all N motions of the split (and each motion all N texts);
  * "batch32": the split is shuffled with a fixed seed and cut into groups of 32, each
    text ranks the 32 motions of its group (the small-batch protocol of TMR/ReAlign tables);
  * "hard32": for a built-in dataset with near twins, one group of 32 per motion that has a twin:
    the ground truth, its twins, then random others (``data.twins.hard_negative_groups``); the
    query's text ranks the group's motions and its motion the group's texts.
Only the exact ground-truth pair counts as a hit.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from easytune_core.data.loader import make_loader, seed_everything

__all__ = ["recall_at_k", "embed_split", "retrieval_scores", "evaluate_retrieval"]


def recall_at_k(sim: np.ndarray, ks=(1, 2, 3, 5, 10)) -> dict:
    """Recall@k of the diagonal for a (N, N) similarity matrix, rows = queries. Returns {k: %}."""
    sim = np.asarray(sim, dtype=np.float64)
    gt = sim[np.arange(len(sim)), np.arange(len(sim))]
    # rank = number of candidates strictly more similar than the ground truth
    rank = (sim > gt[:, None]).sum(1)
    return {int(k): float((rank < k).mean() * 100.0) for k in ks}


@torch.no_grad()
def embed_split(model, loader, text_encoder, t: int | None = None, schedule=None, seed: int = 0,
                data_stats=None, device=None):
    """Unit-norm text and motion embeddings of every pair in ``loader``.

    Args:
        model: RewardModel (eval mode is set here).
        t: if given, motions are forward-noised to step ``t`` with ``schedule`` (fixed seed)
            and the step token is passed.
        data_stats: (mean, std) the loader normalised with, when it is not the model's own
            normalisation: the features are re-normalised to the model's.
    Returns:
        text (N, E), motion (N, E) float32 numpy, captions list[str], motion names list[str].
    """
    device = device or next(model.parameters()).device
    model.eval()
    seed_everything(seed)
    gen = torch.Generator(device="cpu").manual_seed(seed + 1)
    texts, motions, caps, names = [], [], [], []
    for batch in loader:
        x = batch["features"].to(device)
        mask = batch["mask"].to(device)
        if data_stats is not None:
            mean, std = (torch.as_tensor(s, dtype=x.dtype, device=device) for s in data_stats)
            x = model.normalize(x * std + mean)
        tt = None
        if t is not None:
            tt = torch.full((x.shape[0],), int(t), dtype=torch.long, device=device)
            noise = torch.randn(x.shape, generator=gen).to(device)
            x = schedule.q_sample(x, tt, noise) * mask[..., None]
        motions.append(F.normalize(model.encode_motion(x, mask, tt), dim=-1).float().cpu())
        temb = text_encoder.encode(list(batch["captions"])).to(device)
        texts.append(F.normalize(model.encode_text(temb), dim=-1).float().cpu())
        caps += list(batch["captions"])
        names += list(batch.get("names", [""] * x.shape[0]))
    return torch.cat(texts).numpy(), torch.cat(motions).numpy(), caps, names


def retrieval_scores(text: np.ndarray, motion: np.ndarray, protocol: str = "full", seed: int = 0,
                     ks=(1, 2, 3, 5, 10), groups=None) -> dict:
    """t2m and m2t Recall@k (%) of matched unit embeddings under ``protocol`` ("full", "batch32", or
    "hard32" with ``groups`` from ``data.twins.hard_negative_groups``, query first in each)."""
    n = len(text)
    if protocol == "full":
        sim = text @ motion.T
        return {"t2m": recall_at_k(sim, ks), "m2t": recall_at_k(sim.T, ks), "n": n}
    if protocol == "hard32":
        if not groups:
            raise ValueError("the hard32 protocol needs hard-negative groups (a built-in dataset with near twins)")
        def rank(candidates: np.ndarray, query: np.ndarray) -> int:
            # the ground truth's score is taken from the same product as its rivals': a dot product
            # computed on its own can differ from it in the last bit and then outrank the match itself
            s = candidates @ query
            return int((s > s[0]).sum())
        ranks = np.array([[rank(motion[g], text[g[0]]), rank(text[g], motion[g[0]])] for g in groups])
        rec = lambda r: {int(k): float((r < k).mean() * 100.0) for k in ks}  # noqa: E731
        return {"t2m": rec(ranks[:, 0]), "m2t": rec(ranks[:, 1]), "n": len(groups)}
    if protocol != "batch32":
        raise ValueError(f"protocol must be 'full', 'batch32' or 'hard32', got {protocol!r}")
    if n < 32:
        raise ValueError(f"batch32 protocol needs at least 32 pairs, got {n}")
    order = np.random.default_rng(seed).permutation(n)
    groups = [order[i:i + 32] for i in range(0, n - 31, 32)]
    t2m = [recall_at_k(text[g] @ motion[g].T, ks) for g in groups]
    m2t = [recall_at_k(motion[g] @ text[g].T, ks) for g in groups]
    avg = lambda rows: {k: float(np.mean([r[k] for r in rows])) for k in ks}  # noqa: E731
    return {"t2m": avg(t2m), "m2t": avg(m2t), "n": len(groups) * 32}


def evaluate_retrieval(model, root, split: str, text_encoder, steps=(None, 100, 250, 500), schedule=None,
                       seed: int = 0, batch_size: int = 64) -> dict:
    """Retrieval of ``split`` for clean (None) and noised inputs, under each protocol that applies.

    Returns: {"clean"|"t100"|...: {"full": {...}, "batch32": {...}, "hard32": {...}}}; "batch32" is
    left out when the split has fewer than 32 pairs (a small user dataset), rather than failing after
    training, and "hard32" when the dataset records no near twins.
    """
    from easytune_core.eval.protocol import hard_negative_pairs
    out, groups = {}, None
    mean, std = model.mean.cpu().numpy(), model.std.cpu().numpy()
    for t in steps:
        loader = make_loader(root, split, batch_size, train=False, seed=seed, mean=mean, std=std)
        text, motion, _, names = embed_split(model, loader, text_encoder, t=t, schedule=schedule, seed=seed)
        protocols = ("batch32", "full") if len(text) >= 32 else ("full",)
        if groups is None:  # the loader's order is fixed, so every noise level has the same pairs
            groups = hard_negative_pairs(root, names, seed=seed)
        res = {p: retrieval_scores(text, motion, p, seed=seed) for p in protocols}
        if groups:
            res["hard32"] = retrieval_scores(text, motion, "hard32", seed=seed, groups=groups)
        out["clean" if t is None else f"t{t}"] = res
    return out
