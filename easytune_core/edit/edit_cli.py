"""``python -m easytune_core edit``: keep part of a motion, regenerate the rest to a prompt.

Sources: ``--source FILE`` (.bvh, joints .npy (T, 22, 3), features .npy (T, 263)) or
``--dataset-example NAME`` of a HumanML3D-layout folder; ``--path`` alone generates along a root
path. Writes joints (takes, T, 22, 3) squeezed to (T, 22, 3) for one take, features beside them,
and prints a JSON summary (kept frames, seams).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from ..limits import DEFAULT_GUIDANCE, DEFAULT_STEPS


def add_arguments(p: argparse.ArgumentParser) -> None:
    from .presets import PRESETS

    src = p.add_argument_group("source")
    src.add_argument("--source", default=None, help="motion file: .bvh, joints .npy (T,22,3) or features .npy (T,263)")
    src.add_argument("--dataset-example", default=None, help="a motion name of --data (e.g. 000021)")
    src.add_argument("--data", default="data/builtin", help="HumanML3D-layout folder for --dataset-example")
    src.add_argument("--source-start", type=int, default=None, help="first source frame to use")
    src.add_argument("--source-end", type=int, default=None, help="source frame to stop before")
    what = p.add_argument_group("what to keep")
    what.add_argument("--preset", default=None, choices=PRESETS, help="named edit (default: frames if --start is given)")
    what.add_argument("--keep", type=int, default=None, help="frames kept (in-between: at each end; prefix/suffix)")
    what.add_argument("--frames", type=int, default=None, help="output frames for prefix/suffix (at most 196)")
    what.add_argument("--start", type=int, default=None, help="'frames' preset: first regenerated frame")
    what.add_argument("--end", type=int, default=None, help="'frames' preset: regenerated frames stop before this")
    what.add_argument("--path", default=None,
                      help="root path: a .json/.csv file of t,x,z rows or 't,x,z; t,x,z; ...' (seconds, metres)")
    what.add_argument("--heading", default="tangent", choices=("tangent", "fixed"), help="facing along a --path")
    what.add_argument("--blend", type=int, default=10, help="frames over which a seam's remaining jump is blended (0 = off)")
    gen = p.add_argument_group("generation")
    gen.add_argument("--prompt", default="", help="text for the regenerated part (empty: no text)")
    gen.add_argument("--takes", type=int, default=1, help="variants of the edit (1-16), seeds seed, seed+1, ...")
    gen.add_argument("--seed", type=int, default=0)
    gen.add_argument("--guidance", type=float, default=None,
                     help=f"classifier-free guidance weight (default: the model's, {DEFAULT_GUIDANCE:g} for the "
                          "models trained here)")
    gen.add_argument("--steps", type=int, default=None,
                     help=f"sampler steps (default: the model's, {DEFAULT_STEPS} for the models trained here)")
    gen.add_argument("--checkpoint", default=None,
                   help="denoiser: a checkpoint folder, a shipped name (base, easytune) or a Hugging Face "
                        "Hub repo id (default: the shipped base model)")
    gen.add_argument("--device", default=None)
    p.add_argument("--out", default="edit.npy", help="joints .npy path (features go beside it)")


def parse_path_arg(text: str) -> list[list[float]]:
    """t,x,z rows from a .json (list of [t, x, z]) / .csv file or an inline 't,x,z; t,x,z' string."""
    path = Path(text)
    if path.suffix.lower() in (".json", ".csv", ".txt"):
        if not path.is_file():
            raise FileNotFoundError(f"path file {path} does not exist")
        body = path.read_text(encoding="utf-8")
        if path.suffix.lower() == ".json":
            try:
                rows = json.loads(body)
            except json.JSONDecodeError as err:
                raise ValueError(f"{path.name} is not valid JSON ({err.msg}): write a list of [t, x, z] rows") from None
            if isinstance(rows, dict):
                rows = rows.get("points", rows)
            return rows
        lines = [ln for ln in body.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
        if lines and not any(c.isdigit() for c in lines[0].split(",")[0]):
            lines = lines[1:]  # a header row
        text = ";".join(lines)
    rows = []
    for part in text.split(";"):
        if part.strip():
            rows.append([v.strip() for v in part.split(",")])
    return rows


def build_spec(args, max_frames: int = 196):
    """The EditSpec the arguments describe (validated; no model needed)."""
    from .path import path_spec
    from .presets import make_edit
    from .source import dataset_source, load_source

    if args.path:
        if args.source or args.dataset_example:
            raise ValueError("--path generates along a root path from the prompt; it takes no --source")
        return path_spec(parse_path_arg(args.path), heading=args.heading, max_frames=max_frames)
    if bool(args.source) == bool(args.dataset_example):
        raise ValueError("give exactly one source: --source FILE or --dataset-example NAME (or a --path)")
    if args.source:
        src = load_source(args.source, args.source_start, args.source_end)
    else:
        src = dataset_source(args.data, args.dataset_example, args.source_start, args.source_end)
    preset = args.preset or ("frames" if args.start is not None else None)
    if preset is None:
        raise ValueError("choose what to keep: --preset NAME, or --start/--end for a frame range")
    return make_edit(preset, src, keep=args.keep, frames=args.frames, start=args.start, end=args.end,
                     max_frames=max_frames)


def run(args) -> int:
    from ..pipeline import MotionPipeline
    from .takes import check_repetitions

    out = Path(args.out)
    if out.suffix != ".npy":
        raise ValueError(f"--out must end in .npy, got {out}")
    spec = build_spec(args)
    takes = check_repetitions(args.takes)
    from ..shipped import shipped_checkpoint
    source = args.checkpoint if args.checkpoint is not None else shipped_checkpoint("base")
    pipe = MotionPipeline.from_pretrained(source, device=args.device)
    res = pipe.edit(spec, args.prompt, seed=args.seed, guidance=args.guidance, steps=args.steps, takes=takes,
                    blend=args.blend)
    out.parent.mkdir(parents=True, exist_ok=True)
    joints, feats = (res.joints[0], res.features[0]) if takes == 1 else (res.joints, res.features)
    np.save(out, joints)
    fpath = out.with_name(f"{out.stem}_features.npy")
    np.save(fpath, feats)
    print(json.dumps({"preset": spec.name, "summary": spec.summary(), "frames": spec.frames, "seams": spec.seams,
                      "takes": takes, "seeds": res.seeds, "prompt": args.prompt, "joints": str(out),
                      "features": str(fpath)}, indent=1))
    return 0
