"""Torch datasets over HumanML3D / KIT-ML layout folders.

:class:`MotionTextDataset` reproduces the behaviour of HumanML3D's ``Text2MotionDataset``
(Guo et al. 2022, also used by MDM/MLD):

- motions shorter than ``min_frames`` (40, KIT 24) or at least ``max_frames + unit_length``
  frames (200 with the defaults: the original's ``len >= 200``) are dropped;
- a caption line with start/end tags (``caption#tokens#start#end``, seconds) other than
  ``0.0#0.0`` becomes its own entry over ``motion[int(start*fps):int(end*fps)]`` (same length
  filter), named ``<letter>_<name>``; the whole motion is kept only if one of its captions
  has no tags;
- each item picks a random caption of its entry, crops the motion to a multiple of
  ``unit_length`` frames (one unit shorter with probability 1/3, as the original does for
  ``unit_length < 10``) at a random start, and normalises it with Mean/Std.

Differences, on purpose: the random choices come from ``(seed, epoch, index)`` so an item is
reproducible whatever the DataLoader workers; sub-motion names use letters in caption order
instead of random letters; items are not padded (``collate_motion`` pads per batch and gives a
mask); motion files are read when an item is asked for (the index needs only their headers),
so a large folder costs no memory up front.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np
import torch

from ..motion.skeleton import get_skeleton

_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVW"


def _folder_label(skeleton) -> str:
    return "KIT-ML" if get_skeleton(skeleton).name == "kit" else "HumanML3D"


def _require(root: Path, rel: str, skeleton, hint: str = "") -> Path:
    path = root / rel
    if not path.exists():
        raise ValueError(f"{_folder_label(skeleton)} folder {root} is missing {rel}{hint}")
    return path


def load_stats(root, skeleton: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``(mean, std)``, each ``(D,)`` float32, from ``root/Mean.npy`` and ``root/Std.npy``
    (``skeleton`` None: detected from the folder, see :func:`detect_skeleton`)."""
    root = Path(root)
    if skeleton is None:
        _require(root, "Mean.npy", "humanml3d")
        skeleton = detect_skeleton(root)
    sk = get_skeleton(skeleton)
    out = []
    for fname in ("Mean.npy", "Std.npy"):
        arr = np.load(_require(root, fname, skeleton), allow_pickle=False).astype(np.float32)
        if arr.shape != (sk.feature_dim,):
            raise ValueError(f"{root / fname} has shape {arr.shape}, expected ({sk.feature_dim},) "
                             f"for skeleton {sk.name!r}")
        if not np.isfinite(arr).all():
            raise ValueError(f"{root / fname} contains NaN or inf")
        out.append(arr)
    if (out[1] <= 0).any():
        raise ValueError(f"{root / 'Std.npy'} has zero or negative entries; normalising would divide by zero")
    return out[0], out[1]


def detect_skeleton(root):
    """The skeleton of a dataset folder from its feature size: 263 -> HumanML3D, 251 -> KIT-ML.

    Reads ``Mean.npy``'s header (or the first ``new_joint_vecs/*.npy`` when there is no Mean.npy).
    Raises ``ValueError`` for any other size.
    """
    from ..motion.skeleton import SKELETONS

    root = Path(root)
    probe = root / "Mean.npy"
    if not probe.is_file():
        probe = next(iter(sorted((root / "new_joint_vecs").glob("*.npy"))), None) if (root / "new_joint_vecs").is_dir() else None
    if probe is None:
        raise ValueError(f"{root} is not a HumanML3D/KIT-ML layout folder (no Mean.npy, no new_joint_vecs/*.npy)")
    dim = _npy_shape(probe)[-1]
    for sk in SKELETONS.values():
        if sk.feature_dim == dim:
            return sk
    raise ValueError(f"{probe} holds {dim}-d features; expected 263 (HumanML3D) or 251 (KIT-ML)")


def _npy_shape(path: Path) -> tuple:
    """Shape of a ``.npy`` file from its header only (fast for thousands of files)."""
    with open(path, "rb") as fh:
        version = np.lib.format.read_magic(fh)
        if version == (1, 0):
            shape, _, _ = np.lib.format.read_array_header_1_0(fh)
        else:
            shape, _, _ = np.lib.format.read_array_header_2_0(fh)
    return tuple(shape)


def read_split(root, split: str, skeleton: str = "humanml3d") -> list[str]:
    """Names listed in ``root/<split>.txt`` (blank lines ignored)."""
    path = _require(Path(root), f"{split}.txt", skeleton)
    return [ln.strip() for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip()]


def parse_text_file(path) -> list[dict]:
    """HumanML3D ``texts/NAME.txt`` -> ``[{caption, tokens (list), start, end}]`` (NaN tags -> 0)."""
    out = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        parts = line.strip().split("#")
        if len(parts) < 4:
            raise ValueError(f"{path}: line {line!r} is not 'caption#tokens#start#end'")
        start, end = float(parts[2] or 0), float(parts[3] or 0)
        out.append({"caption": parts[0], "tokens": parts[1].split(" "),
                    "start": 0.0 if math.isnan(start) else start,
                    "end": 0.0 if math.isnan(end) else end})
    return out


class MotionTextDataset(torch.utils.data.Dataset):
    """Motion-caption pairs from a HumanML3D-layout folder.

    Args:
        root: dataset folder (``new_joint_vecs/``, ``texts/``, ``Mean.npy``, ``Std.npy``, splits).
        split: ``"train"``, ``"val"``, ``"test"``, ``"all"`` (any ``<split>.txt`` in ``root``).
        skeleton: ``"humanml3d"`` or ``"kit"`` (sets the feature size and fps); None (default)
            detects it from the folder's feature size (:func:`detect_skeleton`).
        max_frames: longest item (frames); motions of ``max_frames + unit_length`` frames or
            more are dropped, as HumanML3D drops ``len >= 200``.
        min_frames: shortest motion kept (default 40, KIT 24).
        normalize: subtract Mean / divide by Std.
        unit_length: items are cropped to a multiple of this many frames.
        random_crop: random length variation and start; False gives ``L // unit * unit``
            frames from the start (for evaluation).
        seed: seed of the per-item random choices (with the epoch set by :meth:`set_epoch`).
        tag_fps: frames per second of the start/end tags (default: the skeleton's fps; the
            original code uses 20 for KIT too, whose texts have no tags).
        mean, std: statistics to use instead of the folder's (e.g. a checkpoint's).

    Items are dicts: ``features`` (T, D) float32 tensor, ``length`` int, ``caption`` str,
    ``tokens`` str, ``name`` str.
    """

    def __init__(self, root, split: str = "train", skeleton: str | None = None, max_frames: int = 196,
                 min_frames: int | None = None, normalize: bool = True, unit_length: int = 4,
                 random_crop: bool = True, seed: int = 0, tag_fps: float | None = None,
                 mean: np.ndarray | None = None, std: np.ndarray | None = None):
        self.root = Path(root)
        if not self.root.is_dir():
            raise ValueError(f"{_folder_label(skeleton or 'humanml3d')} folder {self.root} does not exist")
        if skeleton is None:
            skeleton = detect_skeleton(self.root)
        self.skeleton = get_skeleton(skeleton)
        if unit_length < 1:
            raise ValueError(f"unit_length must be >= 1, got {unit_length}")
        self.min_frames = int(min_frames if min_frames is not None else (24 if self.skeleton.name == "kit" else 40))
        self.max_frames = int(max_frames)
        if not 1 <= self.min_frames <= self.max_frames:
            raise ValueError(f"need 1 <= min_frames <= max_frames, got {self.min_frames} and {self.max_frames}")
        self.unit_length = int(unit_length)
        self.normalize = bool(normalize)
        self.random_crop = bool(random_crop)
        self.seed = int(seed)
        self.epoch = 0
        self.tag_fps = float(tag_fps if tag_fps is not None else self.skeleton.fps)
        if mean is None or std is None:
            if normalize:
                mean, std = load_stats(self.root, skeleton)
        if mean is not None:
            mean, std = np.asarray(mean, np.float32), np.asarray(std, np.float32)
        self.mean, self.std = mean, std

        vec_dir = _require(self.root, "new_joint_vecs", skeleton)
        _require(self.root, "texts", skeleton)
        names = read_split(self.root, split, skeleton)
        drop_at = self.max_frames + self.unit_length  # HumanML3D: len >= 200 dropped
        entries = []
        for name in names:
            vec = _require(self.root, f"new_joint_vecs/{name}.npy", skeleton, f" (listed in {split}.txt)")
            txt = _require(self.root, f"texts/{name}.txt", skeleton, f" (listed in {split}.txt)")
            shape = _npy_shape(vec)
            if len(shape) != 2 or shape[1] != self.skeleton.feature_dim:
                raise ValueError(f"{vec} has shape {shape}, expected (T, {self.skeleton.feature_dim})")
            total = shape[0]
            if total < self.min_frames or total >= drop_at:
                continue
            whole, n_sub = [], 0
            for t in parse_text_file(txt):
                if t["start"] == 0.0 and t["end"] == 0.0:
                    whole.append(t)
                    continue
                a, b = int(t["start"] * self.tag_fps), int(t["end"] * self.tag_fps)
                a, b = min(a, total), min(b, total)
                seg = max(0, b - a)
                if seg < self.min_frames or seg >= drop_at:
                    continue
                letter = _LETTERS[n_sub % len(_LETTERS)] + ("" if n_sub < len(_LETTERS) else str(n_sub // len(_LETTERS)))
                entries.append({"name": f"{letter}_{name}", "file": name, "start": a, "end": b,
                                "length": seg, "texts": [t]})
                n_sub += 1
            if whole:
                entries.append({"name": name, "file": name, "start": 0, "end": total,
                                "length": total, "texts": whole})
        entries.sort(key=lambda e: (e["length"], e["name"]))
        self.entries = entries
        self.lengths = np.array([e["length"] for e in entries], dtype=np.int64)

    def __len__(self) -> int:
        return len(self.entries)

    def set_epoch(self, epoch: int) -> None:
        """Change the random captions / crops (reproducibly) for a new epoch."""
        self.epoch = int(epoch)

    def motion(self, index: int) -> np.ndarray:
        """The raw (not normalised, not cropped) ``(L, D)`` features of entry ``index``."""
        e = self.entries[index]
        arr = np.load(self.root / "new_joint_vecs" / f"{e['file']}.npy", allow_pickle=False)
        return np.asarray(arr[e["start"]:e["end"]], dtype=np.float32)

    def __getitem__(self, index: int) -> dict:
        if not 0 <= index < len(self.entries):
            raise IndexError(f"index {index} out of range for {len(self.entries)} items")
        e = self.entries[index]
        rng = np.random.default_rng([self.seed, self.epoch, index])
        text = e["texts"][int(rng.integers(len(e["texts"])))]
        motion = self.motion(index)
        L, u = motion.shape[0], self.unit_length
        shorter = self.random_crop and u < 10 and rng.integers(3) == 2  # 'single','single','double'
        m_len = (L // u - (1 if shorter and L // u > 1 else 0)) * u
        m_len = max(min(m_len, self.max_frames // u * u), min(L, u))
        start = int(rng.integers(0, L - m_len + 1)) if self.random_crop else 0
        motion = motion[start:start + m_len]
        if self.normalize:
            motion = (motion - self.mean) / self.std
        return {"features": torch.from_numpy(np.ascontiguousarray(motion, dtype=np.float32)),
                "length": int(m_len), "caption": text["caption"], "tokens": " ".join(text["tokens"]),
                "name": e["name"]}


def collate_motion(batch: Sequence[dict]) -> dict:
    """Pad a list of items into a batch.

    Returns ``features`` (B, Tmax, D) float32 (zeros past each length), ``mask`` (B, Tmax) bool
    (True = valid frame), ``lengths`` (B,) long, and the lists ``captions``, ``tokens``, ``names``.
    """
    if len(batch) == 0:
        raise ValueError("collate_motion needs at least one item")
    feats = [torch.as_tensor(b["features"], dtype=torch.float32) for b in batch]
    lengths = torch.tensor([f.shape[0] for f in feats], dtype=torch.long)
    t_max, dim = int(lengths.max()), feats[0].shape[1]
    out = torch.zeros(len(feats), t_max, dim, dtype=torch.float32)
    for i, f in enumerate(feats):
        if f.shape[1] != dim:
            raise ValueError(f"item {i} has {f.shape[1]} feature dims, item 0 has {dim}")
        out[i, : f.shape[0]] = f
    mask = torch.arange(t_max)[None, :] < lengths[:, None]
    return {"features": out, "mask": mask, "lengths": lengths,
            "captions": [b.get("caption", "") for b in batch],
            "tokens": [b.get("tokens", "") for b in batch],
            "names": [b.get("name", "") for b in batch]}


class LengthBucketSampler(torch.utils.data.Sampler):
    """Batches of similar-length items (less padding), in a shuffled order.

    The indices are shuffled, cut into pools of ``batch_size * pool_batches`` items, each pool is
    sorted by length and cut into batches, and the batches are shuffled. Every index appears
    once per epoch. Deterministic for a given ``seed`` and epoch (:meth:`set_epoch`).

    Args:
        lengths: per-item lengths, or a dataset with a ``lengths`` attribute.
        batch_size: items per batch.
        shuffle: False gives batches in ascending length order, no randomness.
        drop_last: drop a final batch smaller than ``batch_size``.
        seed: random seed.
        pool_batches: batches per sorting pool (larger = tighter lengths, less randomness).
    """

    def __init__(self, lengths, batch_size: int, shuffle: bool = True, drop_last: bool = False,
                 seed: int = 0, pool_batches: int = 50):
        if hasattr(lengths, "lengths"):
            lengths = lengths.lengths
        self.lengths = np.asarray(lengths, dtype=np.int64)
        if self.lengths.ndim != 1:
            raise ValueError("lengths must be a 1-D sequence of item lengths")
        if batch_size < 1 or pool_batches < 1:
            raise ValueError(f"batch_size and pool_batches must be >= 1, got {batch_size}, {pool_batches}")
        self.batch_size, self.shuffle, self.drop_last = int(batch_size), bool(shuffle), bool(drop_last)
        self.seed, self.pool_batches, self.epoch = int(seed), int(pool_batches), 0
        self._skip = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def skip_next(self, batches: int) -> None:
        """Leave out the first ``batches`` batches of the next pass only (a run resumed mid-epoch)."""
        self._skip = max(0, int(batches))

    def _batches(self) -> list[list[int]]:
        n = len(self.lengths)
        if not self.shuffle:
            order = np.argsort(self.lengths, kind="stable")
            batches = [order[i:i + self.batch_size].tolist() for i in range(0, n, self.batch_size)]
        else:
            rng = np.random.default_rng([self.seed, self.epoch])
            perm = rng.permutation(n)
            pool = self.batch_size * self.pool_batches
            batches = []
            for p in range(0, n, pool):
                idx = perm[p:p + pool]
                idx = idx[np.argsort(self.lengths[idx], kind="stable")]
                batches += [idx[i:i + self.batch_size].tolist() for i in range(0, len(idx), self.batch_size)]
            # a short batch (end of a pool) is moved last so drop_last drops at most one
            full = [b for b in batches if len(b) == self.batch_size]
            short = [b for b in batches if len(b) < self.batch_size]
            full = [full[i] for i in rng.permutation(len(full))]
            batches = full + short
        if self.drop_last:
            batches = [b for b in batches if len(b) == self.batch_size]
        return batches

    def __iter__(self) -> Iterator[list[int]]:
        skip, self._skip = self._skip, 0
        return iter(self._batches()[skip:])

    def __len__(self) -> int:
        full, rest = divmod(len(self.lengths), self.batch_size)
        return full + (1 if rest and not self.drop_last else 0)


__all__ = ["load_stats", "detect_skeleton", "read_split", "parse_text_file", "MotionTextDataset", "collate_motion",
           "LengthBucketSampler"]
