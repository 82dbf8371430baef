"""``python -m easytune_core prepare-data``: build a dataset folder in HumanML3D's layout.

Sources: the built-in procedural dataset (default) or a folder of BVH files with a
captions file (``--from-bvh DIR --captions FILE``). Each source adds its own options in
``add_arguments`` and has one ``_run_<source>`` function; ``run`` picks the source.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", required=True, help="output dataset folder (e.g. data/builtin)")
    parser.add_argument("--seed", type=int, default=0, help="dataset seed (same seed, same bytes)")
    parser.add_argument("--workers", type=int, default=2, help="worker processes (default 2)")
    parser.add_argument("--overwrite", action="store_true", help="replace a dataset already in --out")
    builtin = parser.add_argument_group("built-in procedural dataset (default source)")
    builtin.add_argument("--world", choices=("classic", "everyday"), default="classic",
                         help="which built-in world: classic (about thirty actions, templated captions; the "
                              "shipped models' data) or everyday (80+ actions, free-form captions, near twins); "
                              "see docs/dataset.md")
    builtin.add_argument("--size", type=int, default=None,
                         help="number of motions before mirroring (default 10000 classic, 20000 everyday)")
    bvh = parser.add_argument_group("BVH folder source")
    bvh.add_argument("--from-bvh", metavar="DIR", default=None, help="folder of .bvh files to convert")
    bvh.add_argument("--captions", metavar="FILE", default=None,
                     help="captions for --from-bvh: lines 'file.bvh<TAB>caption[<TAB>start<TAB>end]'")
    bvh.add_argument("--bvh-units", default="auto", help="BVH units: auto, m, cm, mm, inch or cmu")
    bvh.add_argument("--fps", type=float, default=20.0, help="frame rate to resample BVH motion to")
    bvh.add_argument("--fix-yaw-wrap", action="store_true",
                     help="avoid HumanML3D's yaw glitch on turns past 180 degrees (default: HumanML3D's exact numbers)")


def _run_builtin(args) -> int:
    from .builtin import WORLD_SIZES, check_world, generate_builtin

    world = check_world(getattr(args, "world", "classic"))
    size = WORLD_SIZES[world] if args.size is None else int(args.size)
    if size < 1:
        raise ValueError(f"--size must be at least 1, got {size}")
    if args.workers < 1:
        raise ValueError(f"--workers must be at least 1, got {args.workers}")
    start = time.perf_counter()
    step = max(1, size // 10)

    def progress(done: int) -> None:
        if done % step < max(1, args.workers) * 4 or done == size:
            print(f"  {done}/{size} motions ({time.perf_counter() - start:.0f} s)", flush=True)

    summary = generate_builtin(args.out, size=size, seed=args.seed, workers=args.workers,
                               overwrite=args.overwrite, progress=progress, world=world)
    took = time.perf_counter() - start
    print(f"wrote {summary.num_motions} {world}-world motions ({size} + mirrored), {summary.num_frames} frames, "
          f"to {Path(args.out)} in {took:.1f} s")
    return 0


def _run_bvh(args) -> int:
    from .bvh_folder import write_bvh_dataset

    if not args.captions:
        raise ValueError("--from-bvh needs --captions FILE (lines 'file.bvh<TAB>caption')")
    report = write_bvh_dataset(args.from_bvh, args.captions, args.out, fps=args.fps, units=args.bvh_units,
                               seed=args.seed, workers=args.workers, overwrite=args.overwrite,
                               fix_yaw_wrap=args.fix_yaw_wrap)
    s = report.summary
    print(f"wrote {s.num_motions} motions ({s.num_frames} frames) to {Path(args.out)}: "
          + ", ".join(f"{k} {len(v)}" for k, v in s.splits.items()))
    if report.uncaptioned:
        print(f"skipped {len(report.uncaptioned)} BVH file(s) without captions: {report.uncaptioned[:10]}")
    if report.too_long:
        print(f"note: {len(report.too_long)} motion(s) have 200+ frames and will be skipped by the "
              f"HumanML3D loader; give their captions start/end spans under 10 s: {report.too_long[:10]}")
    return 0


def run(args) -> int:
    if args.from_bvh:
        if args.size is not None:
            raise ValueError("--size applies to the built-in dataset, not to --from-bvh")
        if getattr(args, "world", "classic") != "classic":
            raise ValueError("--world applies to the built-in dataset, not to --from-bvh")
        return _run_bvh(args)
    return _run_builtin(args)
