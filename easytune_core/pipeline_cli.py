"""``python -m easytune_core sample``: text -> motion .npy files.

Writes the joints (T, 22, 3) to --out and the HumanML3D features (T, 263) beside it
(``<out stem>_features.npy``). With several --prompt flags, files get a ``_<i>`` suffix.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from .limits import DEFAULT_GUIDANCE, DEFAULT_SECONDS, DEFAULT_STEPS, MAX_SECONDS, MAX_STEPS, MIN_SECONDS


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--prompt", action="append", required=True, help="text description (repeat for a batch)")
    p.add_argument("--seconds", type=float, default=DEFAULT_SECONDS,
                   help=f"motion length, {MIN_SECONDS:g}-{MAX_SECONDS:g} s (default {DEFAULT_SECONDS:g})")
    p.add_argument("--seed", type=int, default=0, help="seed of the initial noise")
    p.add_argument("--checkpoint", default=None,
                   help="denoiser: a checkpoint folder, a shipped name (base, easytune) or a Hugging Face Hub "
                        "repo id (default: the shipped base model)")
    p.add_argument("--guidance", type=float, default=DEFAULT_GUIDANCE,
                   help=f"classifier-free guidance weight (default {DEFAULT_GUIDANCE:g})")
    p.add_argument("--steps", type=int, default=DEFAULT_STEPS,
                   help=f"sampler steps, 1-{MAX_STEPS} (default {DEFAULT_STEPS}; DDPM: fewer than the model's run on "
                        "its respaced process)")
    p.add_argument("--sampler", default="ddim", choices=("ddim", "ddpm"),
                   help="ddim (default) or ddpm (ancestral, as MDM samples; e.g. --steps 1000 for its 1,000-step models)")
    p.add_argument("--spacing", default=None, choices=("trailing", "even", "strided"),
                   help="which timesteps the sampler visits (default: trailing for DDIM, even for DDPM)")
    p.add_argument("--eta", type=float, default=0.0, help="DDIM eta (0 = deterministic)")
    p.add_argument("--device", default=None, help="cpu or cuda (default: cuda when present)")
    p.add_argument("--precision", default="fp32", choices=("fp32", "bf16", "fp16", "auto"),
                   help="denoiser arithmetic (auto: fp16 on CUDA, bf16 on CPU; faster, slightly different)")
    p.add_argument("--out", default="motion.npy", help="joints .npy path (features go beside it)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args) -> int:
    from .pipeline import MotionPipeline, check_prompts, seconds_to_frames
    # Validate cheap things before loading any model.
    prompts = check_prompts(args.prompt)
    seconds_to_frames(args.seconds)
    if not 1 <= args.steps <= MAX_STEPS:
        raise ValueError(f"steps must be between 1 and {MAX_STEPS}, got {args.steps}")
    out = Path(args.out)
    if out.suffix != ".npy":
        raise ValueError(f"--out must end in .npy, got {out}")
    from tqdm import tqdm
    from .shipped import shipped_checkpoint
    source = args.checkpoint if args.checkpoint is not None else shipped_checkpoint("base")
    pipe = MotionPipeline.from_pretrained(source, device=args.device, precision=args.precision)
    total = min(args.steps, pipe.schedule.num_steps) if args.sampler == "ddpm" else args.steps
    bar = tqdm(total=total, desc="sampling", disable=args.quiet, dynamic_ncols=True)
    res = pipe.generate(prompts, seconds=args.seconds, seed=args.seed, guidance=args.guidance, steps=args.steps,
                        eta=args.eta, on_step=lambda i, t, x, x0: bar.update(1), sampler=args.sampler,
                        spacing=args.spacing)
    bar.close()
    out.parent.mkdir(parents=True, exist_ok=True)
    written = []
    for b, prompt in enumerate(res.prompts):
        stem = out.with_suffix("") if len(prompts) == 1 else out.with_name(f"{out.stem}_{b}")
        n = res.lengths[b]
        jp, fp = Path(f"{stem}.npy"), Path(f"{stem}_features.npy")
        np.save(jp, res.joints[b, :n])
        np.save(fp, res.features[b, :n])
        written.append({"prompt": prompt, "joints": str(jp), "features": str(fp), "frames": n})
    print(json.dumps({"seed": res.seed, "fps": res.fps, "motions": written}, indent=1))
    return 0
