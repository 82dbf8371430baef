"""``python -m easytune_core convert mld --checkpoint FILE.ckpt --out DIR``: other projects'
checkpoints -> EasyTune checkpoint folders (read with the restricted loader; nothing is unpickled)."""

from __future__ import annotations

import argparse


def add_arguments(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="source", metavar="SOURCE", required=True)
    mld = sub.add_parser("mld", help="MLD (motion latent diffusion) HumanML3D checkpoint -> latent checkpoint folder")
    mld.add_argument("--checkpoint", required=True, help="MLD .ckpt file (PyTorch Lightning)")
    mld.add_argument("--out", required=True, help="checkpoint folder to write")
    mld.add_argument("--stats", required=True,
                     help="HumanML3D folder whose Mean.npy / Std.npy the model was trained with")
    mld.add_argument("--text-encoder-path", default=None,
                     help="local folder of openai/clip-vit-large-patch14 (default: load it by name from the "
                          "Hugging Face cache)")
    mld.add_argument("--heads", type=int, default=4, help="attention heads of the MLD model (published: 4)")
    mld.add_argument("--half", action="store_true", help="store the weights as float16")


def run(args) -> int:
    import torch
    if args.source == "mld":
        from .mld import convert_mld
        out = convert_mld(args.checkpoint, args.out, args.stats, text_encoder_path=args.text_encoder_path,
                          heads=args.heads, dtype=torch.float16 if args.half else None)
        print(f"wrote {out} (latent model + vae/); sample with: python -m easytune_core sample --checkpoint {out} "
              "--guidance 7.5 --prompt ...")
        return 0
    raise ValueError(f"unknown source {args.source!r}")
