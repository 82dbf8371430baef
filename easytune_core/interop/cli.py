"""``python -m easytune_core convert <source>``: published checkpoints -> checkpoint folders.

Each source (``mdm``; others may be added beside it) registers a subcommand with its own
arguments; every converter writes an ordinary denoiser checkpoint folder that ``sample``,
``finetune``, ``evaluate`` and the app load like any other.
"""

from __future__ import annotations

import argparse
import json


def _add_mdm(sub) -> None:
    p = sub.add_parser("mdm", help="an MDM text-to-motion checkpoint (model000XXXXXX.pt + args.json)",
                       description="Convert MDM's HumanML3D / KIT trans_enc checkpoint into a denoiser folder.")
    p.add_argument("--checkpoint", required=True, help="MDM's model000XXXXXX.pt")
    p.add_argument("--args", default=None, help="MDM's args.json (default: beside the checkpoint)")
    p.add_argument("--out", required=True, help="checkpoint folder to write")
    p.add_argument("--data", default=None, help="dataset folder holding Mean.npy and Std.npy (HumanML3D or KIT-ML)")
    p.add_argument("--mean", default=None, help="Mean.npy (instead of --data)")
    p.add_argument("--std", default=None, help="Std.npy (instead of --data)")
    ema = p.add_mutually_exclusive_group()
    ema.add_argument("--ema", dest="ema", action="store_true", default=None, help="take the EMA weights (model_avg)")
    ema.add_argument("--no-ema", dest="ema", action="store_false", help="take the raw weights of an EMA checkpoint")
    p.add_argument("--clip-path", default=None,
                   help="local CLIP ViT-B/32 folder (transformers format) to record for offline use")
    p.add_argument("--overwrite", action="store_true", help="replace a non-empty --out folder")
    _add_register(p)


def _add_register(p) -> None:
    p.add_argument("--register", default=None, metavar="NAME",
                   help="also list the folder under NAME in the checkpoint registry (the app's checkpoint menus)")
    p.add_argument("--runs-dir", default=None,
                   help="registry folder (default: $EASYTUNE_RUNS or runs/, where the app looks)")


def _register(args, out) -> None:
    if not args.register:
        return
    import os
    from pathlib import Path

    from ..checkpoints import CheckpointRegistry

    root = Path(args.runs_dir or os.environ.get("EASYTUNE_RUNS") or "runs")
    CheckpointRegistry(root).register(args.register, Path(out).resolve(), "denoiser")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="source", metavar="SOURCE", required=True)
    _add_mdm(sub)


def run(args) -> int:
    if args.source == "mdm":
        from .mdm import convert_mdm

        out = convert_mdm(args.checkpoint, args.out, args=args.args, data=args.data, mean=args.mean, std=args.std,
                          ema=args.ema, clip_path=args.clip_path, overwrite=args.overwrite)
        from ..checkpoints import read_config

        cfg = read_config(out)["config"]
        _register(args, out)
        print(json.dumps({"out": str(out), "text_encoder": cfg["text_encoder"], "feature_dim": cfg["feature_dim"],
                          "diffusion_steps": cfg["diffusion_steps"], "mask_frames": cfg["mask_frames"]}, indent=1))
        return 0
    raise ValueError(f"unknown source {args.source!r}")
