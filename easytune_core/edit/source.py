"""Source motions for edits: a generated motion, a dataset motion, or a user's BVH / ``.npy`` file.

Everything becomes raw HumanML3D features (S, 263) at 20 fps. Joints (a ``.npy`` of shape
(T, 22, 3) or (T, 66), or a BVH through ``load_bvh``) go through ``joints_to_features``, which
retargets them to the canonical skeleton, puts them on the floor, at the origin, facing +Z, and
returns T-1 frames. A features ``.npy`` (T, 263) is used as it is. Nothing is unpickled.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .masks import FEATURE_DIM

SOURCE_SUFFIXES = (".bvh", ".npy")
MAX_SOURCE_MB = 50.0


def _crop(feats: np.ndarray, start, end, what: str) -> np.ndarray:
    S = len(feats)
    lo = 0 if start is None else start
    hi = S if end is None else end
    for name, v in (("start", lo), ("end", hi)):
        if isinstance(v, bool) or float(v) != int(v):
            raise ValueError(f"{name} must be a whole frame number, got {v!r}")
    lo, hi = int(lo), int(hi)
    if not (0 <= lo < hi <= S):
        raise ValueError(f"frame range {lo}..{hi} is outside {what} (frames 0..{S}); "
                         f"pick start < end within 0..{S}")
    if hi - lo < 2:
        raise ValueError(f"frame range {lo}..{hi} holds fewer than 2 frames")
    return feats[lo:hi]


def features_from_joints(joints) -> np.ndarray:
    """(T, 22, 3) joints (metres, Y up) -> (T-1, 263) features, canonical like HumanML3D's."""
    from ..motion.features import joints_to_features

    j = np.asarray(joints)
    if j.ndim == 2 and j.shape[1] == 66:
        j = j.reshape(-1, 22, 3)
    if j.ndim != 3 or j.shape[1:] != (22, 3):
        raise ValueError(f"joints must have shape (frames, 22, 3), got {j.shape}")
    if len(j) < 3:
        raise ValueError(f"the motion needs at least 3 frames, got {len(j)}")
    return joints_to_features(j.astype(np.float32), fix_yaw_wrap=True)


def check_features(feats, what: str = "the source") -> np.ndarray:
    """(S, 263) finite float32 features, S >= 2."""
    f = np.asarray(feats)
    if f.ndim == 3 and f.shape[0] == 1:
        f = f[0]
    if f.ndim != 2 or f.shape[1] != FEATURE_DIM:
        raise ValueError(f"{what} must be HumanML3D features of shape (frames, {FEATURE_DIM}), got {f.shape}")
    if not np.issubdtype(f.dtype, np.number):
        raise ValueError(f"{what} must be numeric, got dtype {f.dtype}")
    if len(f) < 2:
        raise ValueError(f"{what} needs at least 2 frames, got {len(f)}")
    if not np.isfinite(f).all():
        raise ValueError(f"{what} contains NaN or infinite values")
    return f.astype(np.float32)


def load_source(path, start: int | None = None, end: int | None = None) -> np.ndarray:
    """A motion file as (S, 263) raw features, optionally cut to frames [start, end).

    Args:
        path: ``.bvh`` (any skeleton ``load_bvh`` maps to the 22 HumanML3D joints), or ``.npy``
            holding joints (T, 22, 3) / (T, 66) or features (T, 263).
        start, end: frame range of the *features* to keep (after import).
    Raises:
        ValueError naming the file and the problem (corrupt, wrong shape, NaN, too large).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"source motion {path.name} does not exist")
    suffix = path.suffix.lower()
    if suffix not in SOURCE_SUFFIXES:
        raise ValueError(f"{path.name}: a source motion must be a .bvh or a .npy (joints (T, 22, 3) or features "
                         f"(T, 263)) file")
    if path.stat().st_size > MAX_SOURCE_MB * 2**20:
        raise ValueError(f"{path.name} is larger than {MAX_SOURCE_MB:g} MB")
    if suffix == ".bvh":
        from ..motion.bvh import load_bvh

        try:
            joints = load_bvh(path, fps=20.0)
        except ValueError as err:
            raise ValueError(f"{path.name} could not be read as BVH: {err}") from None
        feats = features_from_joints(joints)
    else:
        try:
            arr = np.load(path, allow_pickle=False)
        except (ValueError, OSError, EOFError) as err:
            raise ValueError(f"{path.name} is not a plain numeric .npy file ({err})") from None
        if arr.ndim == 4 and arr.shape[0] == 1:
            arr = arr[0]
        if arr.ndim == 2 and arr.shape[1] == FEATURE_DIM:
            feats = check_features(arr, path.name)
        elif (arr.ndim == 3 and arr.shape[1:] == (22, 3)) or (arr.ndim == 2 and arr.shape[1] == 66):
            if not np.issubdtype(arr.dtype, np.number) or not np.isfinite(arr).all():
                raise ValueError(f"{path.name} holds non-numeric, NaN or infinite joint positions")
            feats = features_from_joints(arr)
        else:
            raise ValueError(f"{path.name}: expected joints (T, 22, 3) or features (T, 263), got shape {arr.shape}")
    return _crop(feats, start, end, path.name)


def dataset_source(root, name: str, start: int | None = None, end: int | None = None) -> np.ndarray:
    """A motion of a HumanML3D-layout folder (``new_joint_vecs/<name>.npy``) as (S, 263) features."""
    root = Path(root)
    if not isinstance(name, str) or not name.strip() or "/" in name or "\\" in name or name.startswith("."):
        raise ValueError(f"dataset example name must be a plain motion name like '000021', got {name!r}")
    path = root / "new_joint_vecs" / f"{name.strip()}.npy"
    if not path.is_file():
        raise ValueError(f"dataset example {name!r} is not in {root} (no new_joint_vecs/{name}.npy)")
    feats = check_features(np.load(path, allow_pickle=False), f"dataset motion {name}")
    return _crop(feats, start, end, f"dataset motion {name}")


def dataset_examples(root, split: str = "test", limit: int = 12) -> list[tuple[str, str]]:
    """A few (name, first caption) pairs of a dataset split for picking a source; [] when absent."""
    root = Path(root)
    split_file = root / f"{split}.txt"
    if not split_file.is_file():
        return []
    out = []
    for name in split_file.read_text(encoding="utf-8").split():
        txt = root / "texts" / f"{name}.txt"
        if not (root / "new_joint_vecs" / f"{name}.npy").is_file() or not txt.is_file():
            continue
        first = txt.read_text(encoding="utf-8").splitlines()
        if first:
            out.append((name, first[0].split("#")[0].strip()))
        if len(out) >= limit:
            break
    return out
