"""HumanML3D-protocol metrics (Guo et al. 2022), numpy in, numbers out.

The definitions follow the published evaluation code (``calculate_R_precision``,
``euclidean_distance_matrix``, ``calculate_frechet_distance``, ``calculate_diversity``,
``calculate_multimodality``): Euclidean distances, groups of 32 for R-Precision, 300
random pairs for Diversity and 10 pairs per prompt for MultiModality. The differences are
deliberate and small: a seed argument instead of the global numpy RNG, and ``ValueError``
with a message instead of bare ``assert``.
"""

from __future__ import annotations

import numpy as np
from scipy import linalg

__all__ = [
    "euclidean_distance_matrix",
    "r_precision",
    "r_precision_groups",
    "mm_dist",
    "frechet_distance",
    "diversity",
    "multimodality",
    "mean_confidence",
]


def _as_matrix(x, name: str, ndim: int = 2) -> np.ndarray:
    arr = np.asarray(x, dtype=np.float64)
    if arr.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dimensions, got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{name} is empty (shape {arr.shape})")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} contains NaN or infinite values; check the model outputs")
    return arr


def _check_pairs(text_emb, motion_emb) -> tuple[np.ndarray, np.ndarray]:
    t = _as_matrix(text_emb, "text_emb")
    m = _as_matrix(motion_emb, "motion_emb")
    if t.shape != m.shape:
        raise ValueError(f"text_emb and motion_emb must be matched pairs of the same shape, "
                         f"got {t.shape} and {m.shape}")
    return t, m


def euclidean_distance_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pairwise Euclidean distances.

    Args:
        a: (N, D); b: (M, D).
    Returns:
        (N, M) with ``out[i, j] = ||a_i - b_j||``. Computed as Guo et al. do (expanded
        square), clamped at 0 before the square root so rounding never gives NaN.
    """
    a = _as_matrix(a, "a")
    b = _as_matrix(b, "b")
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"embedding sizes differ: {a.shape[1]} vs {b.shape[1]}")
    sq = -2.0 * a @ b.T + np.sum(a * a, axis=1, keepdims=True) + np.sum(b * b, axis=1)[None]
    return np.sqrt(np.maximum(sq, 0.0))


def r_precision(text_emb, motion_emb, top_k: int = 3, group_size: int = 32) -> np.ndarray:
    """R-Precision: fraction of texts whose own motion ranks within the top-k.

    Pairs are split into consecutive groups of ``group_size`` (the evaluation batch of
    Guo et al.; an incomplete last group is dropped, as their ``drop_last`` loader does).
    Within a group each text ranks the group's motions by Euclidean distance.

    Args:
        text_emb, motion_emb: (N, D) matched pairs (row i of one belongs to row i of the
            other), N >= group_size.
        top_k: number of ranks reported.
        group_size: pairs per group (32 in the published protocol).
    Returns:
        (top_k,) float array, entry k-1 = fraction with the match among the k nearest.
    """
    t, m = _check_pairs(text_emb, motion_emb)
    if group_size < 1 or top_k < 1 or top_k > group_size:
        raise ValueError(f"need 1 <= top_k <= group_size, got top_k={top_k}, group_size={group_size}")
    n_groups = t.shape[0] // group_size
    if n_groups == 0:
        raise ValueError(f"R-Precision needs at least {group_size} pairs (one group), got {t.shape[0]}")
    hits = np.zeros(top_k)
    for g in range(n_groups):
        sl = slice(g * group_size, (g + 1) * group_size)
        order = np.argsort(euclidean_distance_matrix(t[sl], m[sl]), axis=1)
        # rank of the true match for each text (0 = nearest)
        rank = np.argmax(order == np.arange(group_size)[:, None], axis=1)
        hits += np.array([(rank < k).sum() for k in range(1, top_k + 1)])
    return hits / (n_groups * group_size)


def r_precision_groups(text_emb, motion_emb, groups, top_k: int = 3) -> np.ndarray:
    """R-Precision over given groups: the first index of each group is the query, whose text
    ranks the group's motions by Euclidean distance (ties count for the query's own motion).

    Used by the hard-negative protocol, whose groups hold the ground truth's near twins
    (``easytune_core.data.twins.hard_negative_groups``).

    Returns:
        (top_k,) float array, entry k-1 = fraction of queries with their motion among the k nearest.
    """
    t, m = _check_pairs(text_emb, motion_emb)
    if not len(groups):
        raise ValueError("no hard-negative groups: the pairs have no near twins")
    hits = np.zeros(top_k)
    for g in groups:
        g = np.asarray(g)
        d = np.sqrt(((m[g] - t[g[0]]) ** 2).sum(-1))
        rank = int((d < d[0]).sum())
        hits += np.arange(1, top_k + 1) > rank
    return hits / len(groups)


def mm_dist(text_emb, motion_emb) -> float:
    """MM-Dist ("matching score"): mean Euclidean distance of matched pairs.

    Args: text_emb, motion_emb: (N, D) matched pairs. Returns: float (embedding units).
    """
    t, m = _check_pairs(text_emb, motion_emb)
    return float(np.linalg.norm(t - m, axis=1).mean())


def frechet_distance(real_emb, gen_emb, eps: float = 1e-6) -> float:
    """Fréchet distance between Gaussian fits (mean, sample covariance) of two sets.

    ``||mu1 - mu2||^2 + Tr(S1 + S2 - 2 (S1 S2)^{1/2})``; when the matrix square root is
    not finite, ``eps`` is added to both diagonals, as in the published code.

    Args:
        real_emb: (N1, D); gen_emb: (N2, D); N1, N2 >= 2.
    Returns:
        float (squared embedding units).
    """
    a = _as_matrix(real_emb, "real_emb")
    b = _as_matrix(gen_emb, "gen_emb")
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"real_emb and gen_emb must have the same width, got {a.shape[1]} and {b.shape[1]}")
    if a.shape[0] < 2 or b.shape[0] < 2:
        raise ValueError(f"FID needs at least 2 samples per set, got {a.shape[0]} and {b.shape[0]}")
    mu1, mu2 = a.mean(0), b.mean(0)
    s1 = np.atleast_2d(np.cov(a, rowvar=False))
    s2 = np.atleast_2d(np.cov(b, rowvar=False))
    diff = mu1 - mu2
    covmean = linalg.sqrtm(s1 @ s2)
    if not np.isfinite(covmean).all():
        off = np.eye(s1.shape[0]) * eps
        covmean = linalg.sqrtm((s1 + off) @ (s2 + off))
    if np.iscomplexobj(covmean):
        if not np.allclose(np.diagonal(covmean).imag, 0, atol=1e-3):
            raise ValueError(f"FID: matrix square root has a large imaginary part "
                             f"({np.max(np.abs(covmean.imag)):.3g}); too few samples for the width?")
        covmean = covmean.real
    return float(diff @ diff + np.trace(s1) + np.trace(s2) - 2.0 * np.trace(covmean))


def _rng(seed, rng):
    """``rng`` if given (a numpy Generator, or a ``RandomState`` to draw exactly the indices of the
    published code under ``np.random.seed``), else ``default_rng(seed)``."""
    return np.random.default_rng(seed) if rng is None else rng


def diversity(emb, times: int = 300, seed: int = 0, rng=None) -> float:
    """Diversity: mean distance between ``times`` random pairs of embeddings.

    Two independent draws of ``times`` indices without replacement, paired in order.

    Args:
        emb: (N, D) with N > times.
        seed: seed of the draws; ``rng``: a generator to draw from instead (see ``_rng``).
    Returns: float.
    """
    x = _as_matrix(emb, "emb")
    if times < 1:
        raise ValueError(f"times must be >= 1, got {times}")
    if x.shape[0] <= times:
        raise ValueError(f"diversity with times={times} needs more than {times} samples, got {x.shape[0]}; "
                         f"lower times or evaluate more motions")
    rng = _rng(seed, rng)
    i = rng.choice(x.shape[0], times, replace=False)
    j = rng.choice(x.shape[0], times, replace=False)
    return float(np.linalg.norm(x[i] - x[j], axis=1).mean())


def multimodality(emb, times: int = 10, seed: int = 0, rng=None) -> float:
    """MultiModality: mean distance between generations for the same prompt.

    Args:
        emb: (prompts, repeats, D) with repeats > times; for each prompt the same
            ``times`` index pairs (two draws without replacement) are compared.
        seed, rng: as for :func:`diversity`.
    Returns: float.
    """
    x = _as_matrix(emb, "emb", ndim=3)
    if times < 1:
        raise ValueError(f"times must be >= 1, got {times}")
    if x.shape[1] <= times:
        raise ValueError(f"multimodality with times={times} needs more than {times} generations per prompt, "
                         f"got {x.shape[1]}")
    rng = _rng(seed, rng)
    i = rng.choice(x.shape[1], times, replace=False)
    j = rng.choice(x.shape[1], times, replace=False)
    return float(np.linalg.norm(x[:, i] - x[:, j], axis=2).mean())


def mean_confidence(values) -> tuple[np.ndarray, np.ndarray]:
    """Mean and 95% confidence half-width ``1.96 * std / sqrt(R)`` over axis 0.

    Args: values: (R, ...) one row per repetition. Returns: (mean, ci) of shape (...).
    """
    v = np.asarray(values, dtype=np.float64)
    if v.ndim == 0 or v.shape[0] < 1:
        raise ValueError("mean_confidence needs at least one repetition")
    return v.mean(0), 1.96 * v.std(0) / np.sqrt(v.shape[0])
