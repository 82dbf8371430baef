"""``python -m easytune_core compose``: a timeline of (prompt, seconds) segments as one motion.

    python -m easytune_core compose --segment "a person walks forward | 4" \
        --segment "a person turns left | 2" --segment "a person sits down | 3" --out long.npy

or ``--timeline FILE`` with one ``prompt | seconds`` per line, or one sentence of actions in order
cut into one segment per clause (``--sentence "a person walks forward, then sits down" --seconds 6``;
:func:`easytune_core.text.sequence.sequence_timeline`). Writes joints (T, 22, 3), features
beside them, optionally a GLB (``--glb``), and prints the segments' frame ranges as JSON.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from ..limits import DEFAULT_GUIDANCE, DEFAULT_STEPS


def add_arguments(p: argparse.ArgumentParser) -> None:
    from .compose import STRATEGIES

    p.add_argument("--segment", action="append", default=None, help="'prompt | seconds' (repeat, in order)")
    p.add_argument("--timeline", default=None, help="text file, one 'prompt | seconds' per line (# comments)")
    p.add_argument("--sentence", default=None,
                   help="one prompt of actions in order ('A, then B, and finally C'): one segment per clause, "
                        "sharing --seconds equally")
    p.add_argument("--seconds", type=float, default=None, help="with --sentence: the length of the whole motion")
    p.add_argument("--strategy", default="prefix", choices=STRATEGIES,
                   help="prefix: each window continues the motion so far; blend: overlapping windows denoised together")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--guidance", type=float, default=None,
                   help=f"classifier-free guidance weight (default: the model's, {DEFAULT_GUIDANCE:g} for the "
                        "models trained here)")
    p.add_argument("--steps", type=int, default=None,
                   help=f"sampler steps (default: the model's, {DEFAULT_STEPS} for the models trained here)")
    p.add_argument("--checkpoint", default=None,
                   help="denoiser: a checkpoint folder, a shipped name (base, easytune) or a Hugging Face "
                        "Hub repo id (default: the shipped base model)")
    p.add_argument("--device", default=None)
    p.add_argument("--out", default="timeline.npy", help="joints .npy path (features go beside it)")
    p.add_argument("--glb", default=None, help="also write an animated GLB here")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def read_timeline(path) -> list[str]:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"timeline file {path} does not exist")
    lines = [ln.strip() for ln in path.read_text(encoding="utf-8").splitlines()]
    return [ln for ln in lines if ln and not ln.startswith("#")]


def run(args) -> int:
    from ..pipeline import MotionPipeline
    from .compose import check_timeline

    sentence = args.sentence
    if sum(x is not None and x != [] for x in (args.segment, args.timeline, sentence)) != 1:
        raise ValueError("give the timeline as --segment 'prompt | seconds' flags, as --timeline FILE or as "
                         "--sentence TEXT --seconds S (one of them)")
    if sentence is not None:
        from ..text.sequence import sequence_timeline
        if args.seconds is None:
            raise ValueError("--sentence needs --seconds: the length of the whole motion")
        segments = check_timeline(sequence_timeline(sentence, args.seconds))
    else:
        if args.seconds is not None:
            raise ValueError("--seconds goes with --sentence; give each segment's seconds in --segment or --timeline")
        segments = check_timeline(args.segment or read_timeline(args.timeline))
    out = Path(args.out)
    if out.suffix != ".npy":
        raise ValueError(f"--out must end in .npy, got {out}")
    if args.glb and not args.glb.lower().endswith(".glb"):
        raise ValueError(f"--glb must end in .glb, got {args.glb}")
    from tqdm import tqdm
    from ..shipped import shipped_checkpoint
    source = args.checkpoint if args.checkpoint is not None else shipped_checkpoint("base")
    pipe = MotionPipeline.from_pretrained(source, device=args.device)
    bar = tqdm(desc="windows", disable=args.quiet, dynamic_ncols=True)

    def progress(done, total):
        bar.total = total
        bar.n = done
        bar.refresh()

    res = pipe.compose(segments, seed=args.seed, guidance=args.guidance, steps=args.steps,
                       strategy=args.strategy, on_window=progress)
    bar.close()
    out.parent.mkdir(parents=True, exist_ok=True)
    np.save(out, res.joints)
    fpath = out.with_name(f"{out.stem}_features.npy")
    np.save(fpath, res.features)
    summary = {"seconds": res.seconds, "frames": len(res.features), "strategy": res.strategy, "seed": res.seed,
               "segments": res.segments, "seams": res.seams, "joints": str(out), "features": str(fpath)}
    if args.glb:
        from ..render.glb import write_glb

        write_glb(args.glb, [res.joints], fps=res.fps)
        summary["glb"] = args.glb
    print(json.dumps(summary, indent=1))
    return 0
