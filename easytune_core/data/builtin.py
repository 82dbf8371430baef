"""The built-in motion-language datasets ("worlds"): procedural motions written in HumanML3D's layout.

Two worlds, chosen with ``world=`` (``prepare-data --world``):

- ``classic`` (default, 10,000 motions): about thirty actions of walking, jumping, turning, waving
  and sitting captioned from templates, made by the frozen synthesiser
  :mod:`easytune_core.data.synth_classic`. The shipped models were trained on it, so it stays
  byte-identical for a given seed and size: sample *i* is drawn from
  ``numpy.random.default_rng([seed, i])`` and the splits from the motions alone.
- ``everyday`` (20,000 motions): the full vocabulary of :mod:`easytune_core.data.synth` (floor,
  balance, upper-body, sports, dance and path actions, styles, free-form captions). Samples come
  in pairs (indices 2k and 2k+1); a share of the pairs (``TWIN_SHARE``) are near twins: the same
  plan with one attribute changed (left vs right, 2 vs 3 times, 90 vs 180 degrees, slow vs fast,
  "A then B" vs "B then A"; :func:`synth.composer.twin_plan`), drawn from
  ``numpy.random.default_rng([seed, pair, ...])``; the other pairs are two independent samples,
  each from ``numpy.random.default_rng([seed, index])``. Both samples of a pair go to the same
  split.

Either world is the same whatever the number of workers, and the same seed gives the same bytes.
Motions are synthesised in a process pool and streamed to
:func:`easytune_core.data.layout.write_humanml3d_folder`, which computes the HumanML3D features
(and the mirrored ``M`` copies) in its own workers.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import shutil
import sys
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np

from .synth import synthesize_sample
from .synth.composer import draw_plan, render_plan, twin_plan

WORLDS = ("classic", "everyday")
"""The built-in worlds, by name."""
DEFAULT_WORLD = "classic"
"""The world of ``prepare-data`` and of ``--data builtin`` (the one the shipped models were trained on)."""
WORLD_SIZES = {"classic": 10_000, "everyday": 20_000}
"""Default number of motions (before mirroring) of each world."""
DEFAULT_SIZE = WORLD_SIZES[DEFAULT_WORLD]
ACTIONS_FILE = "synth_actions.jsonl"
TWIN_SHARE = 0.33  # share of sample pairs made as near twins (everyday world)


def check_world(world: str) -> str:
    """``world`` if it names a built-in world, else a ValueError that lists them."""
    if world not in WORLDS:
        raise ValueError(f"world must be one of {', '.join(WORLDS)}, got {world!r}")
    return world


def sample_name(index: int) -> str:
    """File stem of sample ``index`` (HumanML3D style: zero-padded digits)."""
    return f"{index:06d}"


def _same_story(a, b, attribute: str) -> bool:
    """Two rendered twins tell the same story apart from the changed attribute (no action
    dropped from one of them for lack of time)."""
    ta, tb = [r["type"] for r in a.actions], [r["type"] for r in b.actions]
    if attribute == "order":
        return len(ta) == len(tb) and sorted(ta) == sorted(tb) and ta != tb
    return ta == tb and a.captions != b.captions


def _rendered_change(a, b, attribute: str):
    """``[a's value, b's value]`` of ``attribute`` as the rendered records say (a walk's distance
    is the one measured on its motion), or None unless exactly one action differs in it and no
    action differs in any other attribute a twin may change (the captions would say more)."""
    from .synth.registry import REGISTRY, _get

    changed = [(k, _get(ra, k), _get(rb, k)) for ra, rb in zip(a.actions, b.actions)
               for k in REGISTRY[ra["kind"]].attrs if _get(ra, k) != _get(rb, k)]
    if len(changed) != 1 or changed[0][0] != attribute:
        return None
    return [changed[0][1], changed[0][2]]


@lru_cache(maxsize=4)
def make_pair(seed: int, pair: int):
    """Samples ``2 * pair`` and ``2 * pair + 1`` as near twins: ``(sample_a, sample_b, info)``,
    or ``None`` when the pair is not a twin pair (then each sample is drawn on its own)."""
    if np.random.default_rng([int(seed), int(pair), 1]).random() >= TWIN_SHARE:
        return None
    rng = np.random.default_rng([int(seed), int(pair), 2])
    for _ in range(6):
        plan = draw_plan(rng)
        made = twin_plan(rng, plan)
        if made is None:
            continue
        other, info = made
        a, b = render_plan(plan), render_plan(other)
        if not _same_story(a, b, info["attribute"]):
            continue
        if info["attribute"] != "order":
            values = _rendered_change(a, b, info["attribute"])
            if values is None:
                continue
            info = dict(info, values=values)
        return a, b, info
    return None


def make_sample(seed: int, index: int, world: str = DEFAULT_WORLD):
    """``(name, joints (T, 22, 3) float32, captions, actions, twin)`` of one sample of ``world``;
    ``twin`` is ``{"name", "attribute", "values": [this sample's, the twin's]}`` or None (always
    None in the classic world)."""
    if check_world(world) == "classic":
        from .synth_classic import synthesize_sample as classic_sample

        s = classic_sample(np.random.default_rng([int(seed), int(index)]))
        return sample_name(index), s.joints, s.captions, s.actions, None
    made = make_pair(int(seed), int(index) // 2)
    if made is None:
        s = synthesize_sample(np.random.default_rng([int(seed), int(index)]))
        return sample_name(index), s.joints, s.captions, s.actions, None
    a, b, info = made
    mine, other = (a, b) if index % 2 == 0 else (b, a)
    values = info["values"] if index % 2 == 0 else info["values"][::-1]
    twin = {"name": sample_name(index ^ 1), "attribute": info["attribute"], "values": values}
    return sample_name(index), mine.joints, mine.captions, mine.actions, twin


def pair_group(name: str) -> int:
    """Split group of an everyday-world sample: the pair it belongs to (twins share a split)."""
    return int(name.lstrip("M")) // 2


def _make(args):
    return make_sample(*args)


def iter_builtin(size: int | None = None, seed: int = 0, workers: int = 2, world: str = DEFAULT_WORLD) -> Iterator[tuple]:
    """Yield ``(name, joints, captions, actions, twin)`` for indices ``0..size-1`` of ``world`` in
    order (``size`` defaults to the world's size, :data:`WORLD_SIZES`)."""
    size = WORLD_SIZES[check_world(world)] if size is None else size
    if size < 1:
        raise ValueError(f"size must be at least 1, got {size}")
    if workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    jobs = ((seed, i, world) for i in range(size))
    if workers == 1:
        yield from map(_make, jobs)
        return
    ctx = mp.get_context("fork" if sys.platform.startswith("linux") else "spawn")
    with ctx.Pool(workers) as pool:
        yield from pool.imap(_make, jobs, chunksize=16)


def builtin_feature_fns():
    """HumanML3D's feature functions, with the published yaw-velocity sign glitch repaired.

    HumanML3D's processing flips the turning direction on the one frame where a motion's
    heading passes 180 degrees from its start (HumanML3D issue #156). Spins and U-turns are
    common in this dataset, so its features are computed with ``fix_yaw_wrap=True``; user data
    keeps the published behaviour, so features of HumanML3D or KIT folders match the published
    files (docs/dataset.md).
    """
    from functools import partial

    from ..motion import features as f
    from .layout import FeatureFns

    return FeatureFns(partial(f.joints_to_features, fix_yaw_wrap=True), f.features_to_joints, f.mirror_joints)


def generate_builtin(out_dir, size: int | None = None, seed: int = 0, workers: int = 2,
                     overwrite: bool = False, writer: Callable | None = None,
                     progress: Callable[[int], Any] | None = None, world: str = DEFAULT_WORLD):
    """Generate a built-in dataset into ``out_dir`` (HumanML3D layout with mirrored copies).

    Args:
        out_dir: target folder (must be empty unless ``overwrite``).
        size: number of original motions (mirrored copies double the files); default: the
            world's size (:data:`WORLD_SIZES`).
        seed: dataset seed; same seed, same bytes.
        workers: processes for synthesis and for feature computation.
        overwrite: replace an existing dataset in ``out_dir``.
        writer: layout writer (defaults to ``write_humanml3d_folder`` with
            :func:`builtin_feature_fns`), called as ``writer(out_dir, samples, seed=seed,
            workers=workers, overwrite=overwrite, progress=progress)``.
        world: ``"classic"`` (default) or ``"everyday"`` (module docstring).

    Returns:
        Whatever the writer returns (a ``LayoutSummary`` by default). The action records of
        every motion are also written to ``synth_actions.jsonl`` (one JSON object per line:
        ``name``, ``actions`` and, for near twins, ``twin`` = ``{"name", "attribute", "values"}``).
    """
    size = WORLD_SIZES[check_world(world)] if size is None else size
    extra = {}
    if writer is None:
        from .layout import write_humanml3d_folder as writer

        extra["fns"] = builtin_feature_fns()
        if world == "everyday":
            extra["group_of"] = pair_group
    records = []

    def samples():
        for name, joints, caps, actions, twin in iter_builtin(size, seed, workers, world):
            rec = {"name": name, "actions": actions}
            if twin is not None and int(twin["name"]) < size:
                rec["twin"] = twin
            records.append(rec)
            yield name, joints, caps

    summary = writer(out_dir, samples(), seed=seed, workers=workers, overwrite=overwrite, progress=progress, **extra)
    with open(Path(out_dir) / ACTIONS_FILE, "w", encoding="utf-8") as fh:
        for r in records:
            fh.write(json.dumps(r, sort_keys=True) + "\n")
    return summary


BUILTIN_DIR = Path("data/builtin")


def resolve_dataset(data: str | Path = "builtin", create: bool = True, workers: int = 2) -> Path:
    """The dataset folder a command works on.

    ``"builtin"`` (or the ``data/builtin`` path itself) means the built-in dataset; when it is
    missing and ``create`` is true it is generated first in the default world (classic) with the
    default size and seed (the
    same bytes the shipped models were trained on; a few minutes on 2 CPU cores), into a
    temporary folder that is renamed only once complete, so an interrupted run leaves nothing
    half-written. Any other value must be an existing HumanML3D-layout folder.

    Raises:
        FileNotFoundError: the folder has no ``Mean.npy`` (and cannot or may not be generated).
    """
    root = BUILTIN_DIR if str(data) == "builtin" else Path(data)
    if (root / "Mean.npy").exists():
        return root
    is_builtin = str(data) == "builtin" or root.resolve() == BUILTIN_DIR.resolve()
    if not (is_builtin and create):
        hint = (f"create it with `python -m easytune_core prepare-data --out {root}`" if is_builtin else
                "expected a HumanML3D-layout folder with Mean.npy, Std.npy, new_joint_vecs/, texts/ and train.txt "
                f"(`python -m easytune_core prepare-data --out {root}` writes one, from BVH files with --from-bvh)")
        raise FileNotFoundError(f"no dataset at {root} (Mean.npy missing): {hint}")
    print(f"the built-in dataset is missing: generating it into {root} "
          f"({DEFAULT_SIZE} motions + mirrored copies, a few minutes, once)", file=sys.stderr, flush=True)
    tmp = root.with_name(root.name + ".partial")
    generate_builtin(tmp, workers=workers, overwrite=True)
    if root.exists():  # an empty or half-written folder from an older run
        shutil.rmtree(root)
    tmp.rename(root)
    return root


__all__ = ["resolve_dataset", "BUILTIN_DIR", "generate_builtin", "iter_builtin", "make_sample", "make_pair", "sample_name",
           "pair_group", "check_world", "WORLDS", "DEFAULT_WORLD", "WORLD_SIZES", "DEFAULT_SIZE", "ACTIONS_FILE",
           "TWIN_SHARE"]
