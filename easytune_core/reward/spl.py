"""Self-refinement Preference Learning (SPL) for the reward model.

Per batch, preference pairs are mined from the current model's own text->motion
similarities, without labels: for text i the "loser" is its top-1 retrieved motion and the
"winner" its ground-truth motion i. If retrieval failed badly (the ground truth is outside
the top-k AND no similarity of the row exceeds the threshold) the target prefers the ground
truth, Q = [0, 1]; otherwise it is indifferent, Q = [0.5, 0.5]. The loss is
KL(Q || softmax([s_top1, s_gt] / tau)).

The official code (``train_spm.py::compute_finetune_loss``) divides by tau twice (effective
tau = 0.01); here tau is applied once, as the paper's equation reads (``train-reward --spl-tau
0.01`` gives the code's setting).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["mine_preferences", "spl_loss"]


def mine_preferences(sim: torch.Tensor, k: int = 10, threshold: float = 0.8) -> tuple[torch.Tensor, torch.Tensor]:
    """Mine SPL pairs from a text->motion similarity matrix.

    Args:
        sim: (B, B) cosine similarities, row i = text i, column j = motion j, GT on the diagonal.
        k: the ground truth counts as retrieved when it is within the top-k of its row
            (k is capped at B).
        threshold: a row with any similarity above it counts as already confident.
    Returns:
        top1: (B,) long index of each text's top-1 motion;
        target: (B, 2) float, [P(top1 preferred), P(gt preferred)] = [0, 1] or [0.5, 0.5].
    """
    if sim.ndim != 2 or sim.shape[0] != sim.shape[1]:
        raise ValueError(f"sim must be a square (B, B) matrix, got {tuple(sim.shape)}")
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    b = sim.shape[0]
    s = sim.detach()
    topk = s.topk(min(k, b), dim=1).indices
    gt = torch.arange(b, device=s.device)
    gt_in_topk = (topk == gt[:, None]).any(dim=1)
    confident = (s > threshold).any(dim=1)
    correct = gt_in_topk | confident
    target = torch.empty(b, 2, dtype=sim.dtype, device=sim.device)
    target[:, 0] = torch.where(correct, 0.5, 0.0)
    target[:, 1] = torch.where(correct, 0.5, 1.0)
    return topk[:, 0], target


def spl_loss(sim: torch.Tensor, tau: float = 0.1, k: int = 10, threshold: float = 0.8) -> torch.Tensor:
    """SPL loss: mean over texts of KL(Q || softmax([s_top1, s_gt] / tau)).

    Args:
        sim: (B, B) text->motion cosine similarities (differentiable).
    Returns:
        scalar tensor (nats). Zero when the ground truth is its row's top-1 and Q is uniform.
    """
    if tau <= 0:
        raise ValueError(f"tau must be > 0, got {tau}")
    top1, target = mine_preferences(sim, k=k, threshold=threshold)
    idx = torch.arange(sim.shape[0], device=sim.device)
    logits = torch.stack([sim[idx, top1], sim[idx, idx]], dim=1) / tau
    # F.kl_div(log P, Q) = sum Q (log Q - log P), with 0 log 0 = 0 for the [0, 1] targets
    return F.kl_div(F.log_softmax(logits, dim=1), target, reduction="none").sum(1).mean()
