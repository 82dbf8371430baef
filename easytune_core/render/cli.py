"""``python -m easytune_core render``: a motion file -> mp4 / glb / bvh / npz / npy.

Inputs: ``.npy`` joints ``(T, 22, 3)`` or HumanML3D features ``(T, 263)`` (de-normalised),
KIT-ML joints ``(T, 21, 3)`` or features ``(T, 251)`` (put on the 22-joint body, see
``motion.kit_body``), or a ``.bvh`` file. Several ``--input`` files are shown side by side (mp4, glb).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from .body import BODY_KINDS

OUTPUTS = (".mp4", ".glb", ".bvh", ".npz", ".npy")


def load_motion(path, fps: float = 20.0) -> np.ndarray:
    """``(T, 22, 3)`` float32 joints from a joints / features ``.npy`` or a ``.bvh`` file."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"input motion {path} does not exist")
    if path.suffix.lower() == ".bvh":
        from ..motion.bvh import load_bvh

        return load_bvh(path, fps=fps)
    if path.suffix.lower() != ".npy":
        raise ValueError(f"input must be a .npy (joints (T,22,3) or features (T,263)) or .bvh file, got {path.name}")
    try:
        arr = np.load(path, allow_pickle=False)
    except ValueError as e:
        raise ValueError(f"{path} is not a plain numeric .npy file ({e})") from e
    if arr.ndim == 4 and arr.shape[0] == 1:
        arr = arr[0]
    if arr.ndim == 2 and arr.shape[1] in (263, 251):
        from ..motion.features import features_to_joints

        arr = features_to_joints(arr.astype(np.float32), "humanml3d" if arr.shape[1] == 263 else "kit")
    if arr.ndim == 2 and arr.shape[1] in (66, 63):
        arr = arr.reshape(arr.shape[0], -1, 3)
    if arr.ndim == 3 and arr.shape[1:] == (21, 3):  # KIT-ML joints: onto the 22-joint body, in metres
        from ..motion.kit_body import kit_to_body_joints

        arr = kit_to_body_joints(arr)
    if arr.ndim != 3 or arr.shape[1:] != (22, 3):
        raise ValueError(f"{path}: expected joints (T, 22, 3) / KIT-ML (T, 21, 3) or features (T, 263) / (T, 251), "
                         f"got shape {arr.shape}")
    return arr.astype(np.float32)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--input", nargs="+", required=True,
                        help="motion file(s): .npy joints (T,22,3) / features (T,263), KIT-ML (T,21,3) / (T,251), or .bvh")
    parser.add_argument("--out", required=True, help="output: .mp4, .glb, .bvh, .npz (SMPL poses) or .npy (joints)")
    parser.add_argument("--body", default="mannequin", choices=BODY_KINDS,
                        help="body for mp4/glb (smpl* need SMPL_MODEL_DIR with .npz model files)")
    parser.add_argument("--labels", nargs="*", default=None, help="one label per input (mp4/glb)")
    parser.add_argument("--prompt", default="", help="text shown under the video")
    parser.add_argument("--fps", type=float, default=None,
                        help="frame rate of the motion (default 20; 12.5 for KIT-ML features (T,251) / joints (T,21,3))")
    parser.add_argument("--mode", default="mesh", choices=("mesh", "stick"), help="mp4: body mesh or stick figure")
    parser.add_argument("--renderer", default="auto", choices=("auto", "gl", "numpy"), help="mp4 renderer")
    parser.add_argument("--features", action="store_true", help="with .npy output: write HumanML3D features, not joints")


def _is_kit(path) -> bool:
    """A ``.npy`` of KIT-ML features (T, 251) or joints (T, 21, 3) (read from its header only)."""
    path = Path(path)
    if path.suffix.lower() != ".npy" or not path.is_file():
        return False
    try:
        shape = np.load(path, mmap_mode="r", allow_pickle=False).shape
    except ValueError:
        return False
    shape = shape[1:] if len(shape) == 4 and shape[0] == 1 else shape
    return shape[1:] in ((251,), (21, 3), (63,))


def run(args) -> int:
    out = Path(args.out)
    ext = out.suffix.lower()
    if ext not in OUTPUTS:
        raise ValueError(f"--out must end in one of {', '.join(OUTPUTS)}, got {out.name}")
    if args.fps is None:
        args.fps = 12.5 if all(_is_kit(p) for p in args.input) else 20.0
    motions = [load_motion(p, args.fps) for p in args.input]
    if len(motions) > 1 and ext not in (".mp4", ".glb"):
        raise ValueError(f"{ext} export takes one --input, got {len(motions)}")
    if ext == ".mp4":
        from .video import render_video

        render_video(out, motions, labels=args.labels, prompt=args.prompt, fps=args.fps, body=args.body,
                     mode=args.mode, renderer=args.renderer)
    elif ext == ".glb":
        from .glb import write_glb

        write_glb(out, motions, fps=args.fps, body=args.body, labels=args.labels)
    else:
        from . import export

        if ext == ".bvh":
            export.save_bvh(out, motions[0], fps=args.fps)
        elif ext == ".npz":
            export.save_smpl_npz(out, motions[0], fps=args.fps)
        elif args.features:
            export.save_features_npy(out, motions[0])
        else:
            export.save_joints_npy(out, motions[0])
    print(f"wrote {out}")
    return 0
