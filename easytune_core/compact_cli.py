"""``python -m easytune_core compact SOURCE --out FOLDER``: the same checkpoint in fewer bytes.

``--dtype int8`` stores every weight matrix as 8-bit integers with one float32 scale per row and
the small tensors as float16 (about a quarter of float32, half of float16); the weights load back
as float32, so sampling, fine-tuning and evaluation run as before, on weights that differ from the
source's by at most half a quantisation step (1/254 of each row's largest magnitude). Measure a
compacted generator again before reporting its numbers.
"""

from __future__ import annotations

import shutil
from pathlib import Path


def add_arguments(parser) -> None:
    from .checkpoints import STORAGE
    parser.add_argument("source", help="checkpoint folder to read (left unchanged)")
    parser.add_argument("--out", required=True, help="checkpoint folder to write")
    parser.add_argument("--dtype", default="int8", choices=tuple(STORAGE),
                        help="how to store the weights (default: int8 with per-row scales)")
    parser.add_argument("--overwrite", action="store_true", help="replace a non-empty --out folder")


def run(args) -> int:
    from .checkpoints import compact_checkpoint, read_config, swap_in
    source, out = Path(args.source), Path(args.out)
    read_config(source)  # a clear error for a folder that is not a checkpoint, before anything else
    src, dst = source.resolve(), out.resolve()
    if dst == src or dst in src.parents or src in dst.parents:
        raise ValueError(f"--out {out} is, holds or lies inside the source folder; write the compact copy elsewhere")
    if out.exists() and not out.is_dir():
        raise FileExistsError(f"--out {out} exists and is not a folder")
    if out.is_dir() and any(out.iterdir()) and not args.overwrite:
        raise FileExistsError(f"--out {out} is not empty; pass --overwrite to replace it")
    # written beside --out and swapped in whole: a failure leaves an existing --out as it was
    tmp = out.with_name(out.name + ".compacting")
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        rows = compact_checkpoint(source, tmp, args.dtype)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    swap_in(tmp, out)
    for r in rows:
        folder = out / Path(r["folder"]).relative_to(tmp)
        print(f"{folder}: {r['kind']}, weights {r['bytes_before'] / 2**20:.2f} MiB -> "
              f"{r['bytes_after'] / 2**20:.2f} MiB ({args.dtype}); largest change of a weight: "
              f"{r['error']:.2%} of its tensor's largest magnitude")
    return 0
