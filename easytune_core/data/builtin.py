"""The built-in motion-language dataset: procedural motions written in HumanML3D's layout.

Every sample is drawn from its own generator ``numpy.random.default_rng([seed, index])``,
so the dataset is the same whatever the number of workers, and the same seed gives the
same bytes. Motions are synthesised in a process pool and streamed to
:func:`easytune_core.data.layout.write_humanml3d_folder`, which computes the HumanML3D
features (and the mirrored ``M`` copies) in its own workers.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import shutil
import sys
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np

from .synth import synthesize_sample

DEFAULT_SIZE = 10_000
ACTIONS_FILE = "synth_actions.jsonl"


def sample_name(index: int) -> str:
    """File stem of sample ``index`` (HumanML3D style: zero-padded digits)."""
    return f"{index:06d}"


def make_sample(seed: int, index: int):
    """``(name, joints (T, 22, 3) float32, captions, actions)`` of one sample."""
    s = synthesize_sample(np.random.default_rng([int(seed), int(index)]))
    return sample_name(index), s.joints, s.captions, s.actions


def _make(args):
    return make_sample(*args)


def iter_builtin(size: int = DEFAULT_SIZE, seed: int = 0, workers: int = 2) -> Iterator[tuple]:
    """Yield ``(name, joints, captions, actions)`` for indices ``0..size-1`` in order."""
    if size < 1:
        raise ValueError(f"size must be at least 1, got {size}")
    if workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    jobs = ((seed, i) for i in range(size))
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


def generate_builtin(out_dir, size: int = DEFAULT_SIZE, seed: int = 0, workers: int = 2,
                     overwrite: bool = False, writer: Callable | None = None,
                     progress: Callable[[int], Any] | None = None):
    """Generate the built-in dataset into ``out_dir`` (HumanML3D layout with mirrored copies).

    Args:
        out_dir: target folder (must be empty unless ``overwrite``).
        size: number of original motions (mirrored copies double the files).
        seed: dataset seed; same seed, same bytes.
        workers: processes for synthesis and for feature computation.
        overwrite: replace an existing dataset in ``out_dir``.
        writer: layout writer (defaults to ``write_humanml3d_folder`` with
            :func:`builtin_feature_fns`), called as ``writer(out_dir, samples, seed=seed,
            workers=workers, overwrite=overwrite, progress=progress)``.

    Returns:
        Whatever the writer returns (a ``LayoutSummary`` by default). The action records of
        every motion are also written to ``synth_actions.jsonl`` (one JSON object per line).
    """
    extra = {}
    if writer is None:
        from .layout import write_humanml3d_folder as writer

        extra["fns"] = builtin_feature_fns()
    records = []

    def samples():
        for name, joints, caps, actions in iter_builtin(size, seed, workers):
            records.append({"name": name, "actions": actions})
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
    missing and ``create`` is true it is generated first with the default size and seed (the
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


__all__ = ["resolve_dataset", "BUILTIN_DIR", "generate_builtin", "iter_builtin", "make_sample", "sample_name", "DEFAULT_SIZE", "ACTIONS_FILE"]
