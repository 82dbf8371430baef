"""Near-twin motions of the built-in dataset, for hard-negative retrieval.

``synth_actions.jsonl`` records, for every motion made as a near twin, the name of its twin and
the attribute in which the two differ ("side", "count", "degrees", "pace", "order", ...). The
mirrored copy ``M<name>`` has the mirrored twin ``M<twin>``. :func:`load_twins` reads those
relations for one split; :func:`hard_negative_groups` builds retrieval groups around each ground
truth with its twins first; :class:`TwinBatchSampler` puts twins into training batches, so a
contrastive model meets them as negatives (random batches of 64 out of 32,000 pairs almost never
hold a twin of their ground truth).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from .builtin import ACTIONS_FILE


def load_twins(root, split: str = "test") -> dict[str, list[str]]:
    """Motion name -> names of its near twins, for the motions of ``split`` that have one.

    Args:
        root: a built-in dataset folder (with ``synth_actions.jsonl`` and ``<split>.txt``).
        split: "train", "val", "test" or "all".

    Returns:
        ``{name: [twin names]}`` with mirrored names included (``M000010 -> [M000011]``); twins
        always share a split, so every listed twin is in ``split`` too.
    """
    root = Path(root)
    split_file, actions = root / f"{split}.txt", root / ACTIONS_FILE
    for f in (split_file, actions):
        if not f.is_file():
            raise FileNotFoundError(f"{f} does not exist (a built-in dataset folder has {ACTIONS_FILE} and "
                                    f"train/val/test/all.txt; create one with `python -m easytune_core prepare-data`)")
    names = {n.strip() for n in split_file.read_text().splitlines() if n.strip()}
    out: dict[str, list[str]] = {}
    with open(actions, encoding="utf-8") as fh:
        for line in fh:
            rec = json.loads(line)
            twin = rec.get("twin")
            if not twin:
                continue
            for prefix in ("", "M"):
                a, b = prefix + rec["name"], prefix + twin["name"]
                if a in names and b in names:
                    out.setdefault(a, []).append(b)
    return out


def load_twin_attributes(root) -> dict[str, dict]:
    """Motion name -> its twin record ``{"name", "attribute", "values"}`` (originals only)."""
    out = {}
    with open(Path(root) / ACTIONS_FILE, encoding="utf-8") as fh:
        for line in fh:
            rec = json.loads(line)
            if rec.get("twin"):
                out[rec["name"]] = rec["twin"]
    return out


def _mirror(name: str) -> str:
    return name[1:] if name.startswith("M") else "M" + name


def hard_negative_groups(names: list[str], twins: dict[str, list[str]], size: int = 32,
                         seed: int = 0) -> list[np.ndarray]:
    """Index groups for the hard-negative retrieval protocol over matched pairs ``names``.

    One group per pair whose motion has a near twin among ``names``: its index first, then the
    indices of its twins, then random other pairs (no mirror images of those) up to ``size``.
    Pairs without a twin in ``names``, or without enough other pairs to fill their group, are no
    queries. Deterministic for a given ``seed``.

    Returns:
        list of (size,) int arrays (empty when no pair has a twin, or fewer than ``size`` pairs).
    """
    n = len(names)
    if n < size:
        return []
    index = {name: i for i, name in enumerate(names)}
    rng = np.random.default_rng(seed)
    groups = []
    for i, name in enumerate(names):
        mine = [index[t] for t in twins.get(name, []) if t in index and t != name][: size - 1]
        if not mine:
            continue
        # never the mirror image of the ground truth or of a twin: a mirrored "left" twin is the
        # ground truth's motion again, and its mirrored caption may describe it equally well
        mirrors = {index.get(_mirror(names[j])) for j in (i, *mine)} - {None}
        taken = {i, *mine} | mirrors
        need = size - 1 - len(mine)
        if n - len(taken) < need:  # too few other pairs for a full group (a small split)
            continue
        fill: list[int] = []
        while len(fill) < need:  # rejection sampling: ``taken`` holds a handful of indices
            for j in rng.integers(0, n, size=2 * need + 4):
                j = int(j)
                if j not in taken:
                    taken.add(j)
                    fill.append(j)
                    if len(fill) == need:
                        break
        groups.append(np.asarray([i, *mine, *fill], dtype=np.int64))
    return groups


class TwinBatchSampler:
    """Training batches in which a share of the items come with a near twin.

    Wraps a batch sampler (e.g. :class:`~easytune_core.data.dataset.LengthBucketSampler`): in each
    of its batches, items that have a twin are taken in a random order and their twin is put into
    the batch in place of an unpaired item, until about ``share`` of the batch is made of twin
    pairs (fewer when the batch holds too few items with twins). Batch sizes do not change; twins
    share timing, so length bucketing keeps working. Deterministic for a given ``seed`` and epoch.

    Args:
        batches: the batch sampler to wrap (``set_epoch`` is passed on to it).
        twins_of: per dataset index, the dataset indices of its near twins (empty when none).
        share: fraction of each batch made of twin pairs, in [0, 1].
        seed: random seed of the choice of pairs.
    """

    def __init__(self, batches, twins_of: list[list[int]], share: float, seed: int = 0):
        if not 0.0 <= share <= 1.0:
            raise ValueError(f"the twin share must be in [0, 1], got {share}")
        self.batches, self.twins_of = batches, [list(t) for t in twins_of]
        self.share, self.seed, self.epoch = float(share), int(seed), 0
        self._skip = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)
        if hasattr(self.batches, "set_epoch"):
            self.batches.set_epoch(epoch)

    def skip_next(self, batches: int) -> None:
        """Leave out the first ``batches`` batches of the next pass only (their pairings are still
        drawn, so the batches that follow are the ones an uninterrupted pass gives)."""
        self._skip = max(0, int(batches))

    def __len__(self) -> int:
        return len(self.batches)

    def __iter__(self):
        rng = np.random.default_rng([self.seed, self.epoch, 1])
        skip, self._skip = self._skip, 0
        for k, batch in enumerate(self.batches):
            paired = self._pair_up(list(batch), rng)
            if k >= skip:
                yield paired

    def _pair_up(self, batch: list[int], rng) -> list[int]:
        want = int(round(self.share * len(batch) / 2))  # twin pairs wanted in this batch
        if want == 0:
            return batch
        paired: set[int] = set()
        members = set(batch)
        for pos in rng.permutation(len(batch)):
            if len(paired) // 2 >= want:
                break
            i = batch[int(pos)]
            if i in paired:
                continue
            twins = [t for t in self.twins_of[i] if t not in paired]
            if not twins:
                continue
            t = twins[int(rng.integers(len(twins)))]
            if t not in members:  # put the twin in place of an unpaired item (not i itself)
                free = [k for k, j in enumerate(batch) if j not in paired and j != i]
                if not free:
                    break
                k = free[int(rng.integers(len(free)))]
                members.discard(batch[k])
                batch[k] = t
                members.add(t)
            paired |= {i, t}
        return batch


def twin_index(names: list[str], twins: dict[str, list[str]]) -> list[list[int]]:
    """Per position of ``names``, the positions of its near twins among ``names`` (for
    :class:`TwinBatchSampler`)."""
    index = {n: i for i, n in enumerate(names)}
    return [[index[t] for t in twins.get(n, []) if t in index and t != n] for n in names]


__all__ = ["load_twins", "load_twin_attributes", "hard_negative_groups", "TwinBatchSampler", "twin_index"]
