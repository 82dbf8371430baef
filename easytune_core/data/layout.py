"""Write motions + captions as a folder in HumanML3D's exact layout.

::

    OUT/new_joints/NAME.npy       (T-1, J, 3) float32  joints recovered from the features
    OUT/new_joint_vecs/NAME.npy   (T-1, D) float32     HumanML3D features (D = 263 / 251)
    OUT/texts/NAME.txt            one ``caption#word/POS ...#start#end`` line per caption
    OUT/Mean.npy, OUT/Std.npy     (D,) float32         over every file, mirrored ones included
    OUT/train.txt val.txt test.txt all.txt             one name per line

``new_joints`` holds what HumanML3D's ``motion_representation`` saves there: the joints
recovered from the features (``recover_from_ric``), i.e. retargeted to the canonical skeleton,
floor at y = 0, first frame at the origin facing +Z, and one frame shorter than the input.
Mirrored copies get an ``M`` prefix (joints mirrored, left/right swapped in captions) and go
into the same split as their original, so no motion leaks between train and test.

The bytes written depend only on the samples, ``split_fracs``, ``seed`` and ``mirror``
(not on ``workers`` or on the order of arrival of worker results).
"""

from __future__ import annotations

import functools
import multiprocessing as mp
import re
import sys
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

import numpy as np

from ..motion.skeleton import get_skeleton
from .tokens import mirror_caption, text_line

_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")
LAYOUT_FILES = ("Mean.npy", "Std.npy", "train.txt", "val.txt", "test.txt", "all.txt")
LAYOUT_DIRS = ("new_joints", "new_joint_vecs", "texts")


@dataclass
class LayoutSummary:
    """What :func:`write_humanml3d_folder` wrote.

    Attributes:
        out_dir: the dataset folder.
        splits: names per split (``train``/``val``/``test``), mirrored names included.
        num_frames: total feature frames written (mirrored copies included).
        mean / std: the ``(D,)`` statistics written to Mean.npy / Std.npy.
    """

    out_dir: Path
    splits: dict = field(default_factory=dict)
    num_frames: int = 0
    mean: np.ndarray | None = None
    std: np.ndarray | None = None

    @property
    def num_motions(self) -> int:
        return sum(len(v) for v in self.splits.values())


def feature_groups(num_joints: int) -> list[tuple[int, int]]:
    """HumanML3D feature groups ``[(start, stop), ...]``: root rotation velocity, root linear
    velocity, root height, ric positions, 6D rotations, local velocities, foot contacts."""
    j = num_joints
    b = [0, 1, 3, 4, 4 + (j - 1) * 3, 4 + (j - 1) * 9, 4 + (j - 1) * 9 + j * 3, 8 + (j - 1) * 9 + j * 3]
    return list(zip(b[:-1], b[1:]))


class RunningStats:
    """Streaming per-dimension mean / population std (Chan et al. merge, float64).

    HumanML3D concatenates every frame of every file and calls ``mean``/``std``; this gives
    the same numbers (up to float rounding) without holding the dataset in memory.
    """

    def __init__(self, dim: int):
        self.n = 0
        self.mean = np.zeros(dim)
        self.m2 = np.zeros(dim)

    def add(self, x: np.ndarray) -> None:
        x = np.asarray(x, dtype=np.float64)
        nb = x.shape[0]
        if nb == 0:
            return
        mb = x.mean(axis=0)
        m2b = ((x - mb) ** 2).sum(axis=0)
        n = self.n + nb
        delta = mb - self.mean
        self.mean = self.mean + delta * (nb / n)
        self.m2 = self.m2 + m2b + delta ** 2 * (self.n * nb / n)
        self.n = n

    def std(self) -> np.ndarray:
        return np.sqrt(self.m2 / max(self.n, 1))


def humanml3d_mean_std(stats: RunningStats, num_joints: int) -> tuple[np.ndarray, np.ndarray]:
    """Mean and Std as HumanML3D's ``cal_mean_variance`` writes them.

    Each feature group's std is replaced by the group's mean std (divided by 1.0 in the
    original: no extra weighting, the feet included), so all dimensions of a group share
    one scale. A group whose std is exactly 0 (e.g. a dataset without any foot contact
    change) is set to 1.0 so that normalising never divides by zero; HumanML3D has no such
    case on real data.
    """
    mean = stats.mean.copy()
    std = stats.std()
    groups = feature_groups(num_joints)
    if groups[-1][1] != std.shape[0]:
        raise ValueError(f"features have {std.shape[0]} dims, expected {groups[-1][1]} for "
                         f"{num_joints} joints")
    for a, b in groups:
        s = std[a:b].mean()
        std[a:b] = s if s > 0 else 1.0
    return mean.astype(np.float32), std.astype(np.float32)


# --------------------------------------------------------------------------------------
# per-sample processing (runs in worker processes when workers > 1)

@dataclass(frozen=True)
class FeatureFns:
    """The three feature functions the writer needs (defaults: ``easytune_core.motion.features``)."""

    joints_to_features: Callable
    features_to_joints: Callable
    mirror_joints: Callable


def default_feature_fns(fix_yaw_wrap: bool = False) -> FeatureFns:
    """``easytune_core.motion.features``' functions; ``fix_yaw_wrap`` avoids HumanML3D's
    published yaw-sign glitch on turns past 180 degrees (its issue #156) at the price of
    differing from HumanML3D's numbers on those frames."""
    from ..motion import features as f
    j2f = functools.partial(f.joints_to_features, fix_yaw_wrap=True) if fix_yaw_wrap else f.joints_to_features
    return FeatureFns(j2f, f.features_to_joints, f.mirror_joints)


_WORKER_FNS: FeatureFns | None = None  # inherited by forked workers, never pickled


def _normalise_captions(name: str, captions) -> list[tuple[str, float, float]]:
    if isinstance(captions, str):
        captions = [captions]
    out = []
    for c in captions:
        if isinstance(c, str):
            text, start, end = c, 0.0, 0.0
        else:
            text, start, end = c
        text = " ".join(str(text).replace("#", " ").split())
        if not text:
            raise ValueError(f"sample {name!r} has an empty caption")
        start, end = float(start), float(end)
        if start < 0 or end < 0 or (end and end <= start):
            raise ValueError(f"sample {name!r}: caption span must satisfy 0 <= start < end "
                             f"(or both 0 for the whole motion), got {start}..{end}")
        out.append((text, start, end))
    if not out:
        raise ValueError(f"sample {name!r} has no caption; give at least one")
    return out


def _process(job) -> list[tuple[str, np.ndarray, np.ndarray, str]]:
    """One sample -> [(name, features, new_joints, text)] (+ the mirrored copy)."""
    name, joints, captions, skel_name, mirror = job
    fns = _WORKER_FNS or default_feature_fns()  # workers are forked and inherit _WORKER_FNS
    out = []
    variants = [(name, joints, captions)]
    if mirror:
        variants.append(("M" + name, fns.mirror_joints(joints, skel_name),
                         [(mirror_caption(c), s, e) for c, s, e in captions]))
    for vname, vjoints, vcaps in variants:
        feats = np.asarray(fns.joints_to_features(vjoints, skel_name), dtype=np.float32)
        if not np.isfinite(feats).all():
            raise ValueError(f"features of sample {vname!r} contain NaN/inf")
        rec = np.asarray(fns.features_to_joints(feats, skel_name), dtype=np.float32)
        text = "".join(text_line(c, s, e) + "\n" for c, s, e in vcaps)
        out.append((vname, feats, rec, text))
    return out


def _check_sample(item, skel, seen: set, mirror: bool):
    if hasattr(item, "joints") and hasattr(item, "name"):
        name, joints, captions = item.name, item.joints, item.captions
    else:
        try:
            name, joints, captions = item
        except (TypeError, ValueError):
            raise ValueError("each sample must be (name, joints (T,J,3), captions list[str]), "
                             f"got {type(item).__name__}") from None
    name = str(name)
    if not _NAME_RE.match(name):
        raise ValueError(f"sample name {name!r} must be letters, digits, '_', '.' or '-' "
                         "(it becomes a file name)")
    joints = np.asarray(joints, dtype=np.float32)
    J = skel.num_joints
    if joints.ndim != 3 or joints.shape[1:] != (J, 3):
        raise ValueError(f"sample {name!r}: joints must be (T, {J}, 3), got {joints.shape}")
    if joints.shape[0] < 2:
        raise ValueError(f"sample {name!r}: needs at least 2 frames, got {joints.shape[0]}")
    if not np.isfinite(joints).all():
        raise ValueError(f"sample {name!r}: joints contain NaN or inf")
    for n in ([name, "M" + name] if mirror else [name]):
        if n in seen:
            raise ValueError(f"sample name {n!r} appears twice (mirrored copies are named "
                             "'M' + name, so 'X' and 'MX' cannot both be given with mirror=True)")
        seen.add(n)
    return name, joints, _normalise_captions(name, captions)


def _split_names(names: Sequence[str], fracs, seed: int, group_of: Callable[[str], Any] | None = None
                 ) -> dict[str, list[str]]:
    names = sorted(names)
    keys = names if group_of is None else sorted({group_of(n) for n in names})
    n = len(keys)
    perm = np.random.default_rng(seed).permutation(n)
    n_train = int(round(fracs[0] * n))
    n_val = min(int(round(fracs[1] * n)), n - n_train)
    idx = {"train": perm[:n_train], "val": perm[n_train:n_train + n_val],
           "test": perm[n_train + n_val:]}
    if group_of is None:
        return {k: sorted(names[i] for i in v) for k, v in idx.items()}
    where = {keys[i]: k for k, v in idx.items() for i in v}
    out = {k: [] for k in idx}
    for name in names:
        out[where[group_of(name)]].append(name)
    return out


def write_humanml3d_folder(out_dir, samples: Iterable, split_fracs=(0.8, 0.05, 0.15), seed: int = 0,
                           mirror: bool = True, workers: int = 1, skeleton: str = "humanml3d",
                           overwrite: bool = False, fns: FeatureFns | None = None,
                           progress: Callable[[int], Any] | None = None,
                           fix_yaw_wrap: bool = False, group_of: Callable[[str], Any] | None = None) -> LayoutSummary:
    """Write ``samples`` as a HumanML3D-layout dataset folder.

    Args:
        out_dir: folder to create (may exist if empty, or if ``overwrite``).
        samples: iterable (a generator is fine: it is consumed in small windows) of
            ``(name, joints (T, J, 3) metres Y-up at the skeleton's fps, captions)`` or objects
            with ``.name``, ``.joints``, ``.captions``. A caption is a string (whole motion)
            or ``(caption, start_s, end_s)`` for a sub-span, written as HumanML3D's tags.
        split_fracs: train / val / test fractions (sum to 1); counted over original motions.
        seed: seed of the split permutation.
        mirror: also write ``M``-prefixed mirrored copies.
        workers: processes computing features (1 = in this process).
        skeleton: ``"humanml3d"`` (22 joints, 263 dims) or ``"kit"``.
        overwrite: allow writing into a folder that already holds a dataset.
        fns: feature functions (defaults to ``easytune_core.motion.features``).
        progress: called with the number of samples done after each window.
        fix_yaw_wrap: compute features with ``joints_to_features(..., fix_yaw_wrap=True)``
            (lossless on turns past 180 degrees; default False = HumanML3D's exact numbers).
        group_of: name -> group key; motions of one group go to the same split (the split
            fractions then count groups). ``None``: every motion on its own.

    Returns:
        A :class:`LayoutSummary`.
    """
    global _WORKER_FNS
    skel = get_skeleton(skeleton)
    fracs = tuple(float(f) for f in split_fracs)
    if len(fracs) != 3 or min(fracs) < 0 or abs(sum(fracs) - 1.0) > 1e-6:
        raise ValueError(f"split_fracs must be three non-negative numbers summing to 1, got {split_fracs}")
    if int(workers) < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise ValueError(f"{out} exists and is not a folder")
    if out.is_dir() and any(out.iterdir()) and not overwrite:
        raise ValueError(f"{out} is not empty; choose a new folder or pass overwrite=True")
    for d in LAYOUT_DIRS:
        (out / d).mkdir(parents=True, exist_ok=True)
        if overwrite:  # stale files of an earlier run would end up in the new dataset
            for f in list((out / d).glob("*.npy")) + list((out / d).glob("*.txt")):
                f.unlink()

    if fns is not None and fix_yaw_wrap:
        raise ValueError("pass either fns or fix_yaw_wrap=True, not both")
    fns = fns or default_feature_fns(fix_yaw_wrap)
    stats = RunningStats(skel.feature_dim)
    originals: list[str] = []
    seen: set = set()
    num_frames = 0
    window = max(1, int(workers)) * 4
    it = iter(samples)
    pool = None
    _WORKER_FNS = fns
    try:
        if workers > 1:
            ctx = mp.get_context("fork" if sys.platform.startswith("linux") else "spawn")
            pool = ctx.Pool(int(workers))
        done = 0
        while True:
            chunk = list(islice(it, window))
            if not chunk:
                break
            jobs = []
            for item in chunk:
                name, joints, caps = _check_sample(item, skel, seen, mirror)
                originals.append(name)
                jobs.append((name, joints, caps, skel.name, mirror))
            results = pool.map(_process, jobs) if pool else [_process(j) for j in jobs]
            for records in results:  # in input order: the stats are order-deterministic
                for vname, feats, rec, text in records:
                    if feats.ndim != 2 or feats.shape[1] != skel.feature_dim:
                        raise ValueError(f"features of {vname!r} have shape {feats.shape}, "
                                         f"expected (T-1, {skel.feature_dim})")
                    np.save(out / "new_joint_vecs" / f"{vname}.npy", feats)
                    np.save(out / "new_joints" / f"{vname}.npy", rec)
                    (out / "texts" / f"{vname}.txt").write_text(text, encoding="utf-8")
                    stats.add(feats)
                    num_frames += feats.shape[0]
            done += len(chunk)
            if progress is not None:
                progress(done)
    finally:
        if pool is not None:
            pool.close()
            pool.join()
        _WORKER_FNS = None
    if not originals:
        raise ValueError("no samples given; write_humanml3d_folder needs at least one motion")

    mean, std = humanml3d_mean_std(stats, skel.num_joints)
    np.save(out / "Mean.npy", mean)
    np.save(out / "Std.npy", std)
    base = _split_names(originals, fracs, seed, group_of)
    splits = {}
    for k, names in base.items():
        full = sorted(names + (["M" + n for n in names] if mirror else []))
        splits[k] = full
        (out / f"{k}.txt").write_text("".join(n + "\n" for n in full), encoding="utf-8")
    all_names = sorted(n for v in splits.values() for n in v)
    (out / "all.txt").write_text("".join(n + "\n" for n in all_names), encoding="utf-8")
    return LayoutSummary(out_dir=out, splits=splits, num_frames=num_frames, mean=mean, std=std)


__all__ = ["write_humanml3d_folder", "LayoutSummary", "FeatureFns", "feature_groups",
           "humanml3d_mean_std", "RunningStats", "LAYOUT_FILES", "LAYOUT_DIRS"]
