"""``easytune <command>`` (the console script) or ``python -m easytune_core <command>``.

Each command lives in the module that owns its work; that module exposes
``add_arguments(parser)`` and ``run(args) -> int``. Modules are imported only when
their command runs, so ``--help`` stays fast and one broken extra never blocks the rest.
"""

from __future__ import annotations

import argparse
import importlib
import sys

COMMANDS = {
    "prepare-data": ("easytune_core.data.cli", "build the built-in dataset or convert BVH files (HumanML3D layout)"),
    "train-base": ("easytune_core.diffusion.train", "train the text-to-motion diffusion model"),
    "train-vae": ("easytune_core.diffusion.latent.train_vae", "train the motion VAE of the latent models"),
    "train-latent": ("easytune_core.diffusion.latent.train_latent", "train the latent denoiser on a VAE's latents"),
    "distill": ("easytune_core.diffusion.latent.distill", "distil a few-step (consistency) student from a teacher"),
    "sample": ("easytune_core.pipeline_cli", "generate motions from text"),
    "train-reward": ("easytune_core.reward.train", "train the noise-aware reward model (and SPL with --spl)"),
    "train-evaluator": ("easytune_core.eval.train", "train the independent evaluator"),
    "evaluate": ("easytune_core.eval.protocol", "HumanML3D-protocol metrics of a checkpoint"),
    "finetune": ("easytune_core.finetune.cli", "reward fine-tuning (EasyTune and baselines)"),
    "select": ("easytune_core.finetune.select", "choose a fine-tuned checkpoint on held-out prompts (rules + evaluator)"),
    "render": ("easytune_core.render.cli", "render or export a motion (mp4, glb, bvh, npz)"),
    "edit": ("easytune_core.edit.edit_cli", "keep part of a motion (frames, body parts, root path) and regenerate the rest"),
    "compose": ("easytune_core.edit.compose_cli", "compose a timeline of (prompt, seconds) segments into one long motion"),
    "compact": ("easytune_core.compact_cli", "store a checkpoint's weights in fewer bytes (int8 rows, float16)"),
    "convert": ("easytune_core.interop.cli", "convert a published checkpoint (MDM, MLD) into a checkpoint folder"),
}


# Import name of an optional package -> the extra of pyproject.toml that installs it.
EXTRAS = {"trimesh": "render", "PIL": "render", "imageio": "render", "imageio_ffmpeg": "render", "mannequin": "render",
          "pyrender": "render", "OpenGL": "render", "smplx": "smpl", "gradio": "app", "pandas": "app"}


def main(argv: list[str] | None = None, prog: str = "easytune") -> int:
    """Run one command; returns the exit status (2 for bad input, with the reason on stderr)."""
    try:
        return _main(argv, prog)
    except ModuleNotFoundError as err:
        top = (err.name or "").split(".")[0]
        if top not in EXTRAS:
            raise
        print(f"error: this command needs the package {top!r}, which is not installed; install the "
              f"{EXTRAS[top]!r} extra: pip install 'easytune-studio[{EXTRAS[top]}]' (from a checkout: "
              f"pip install '.[{EXTRAS[top]}]')", file=sys.stderr)
        return 2


def _main(argv, prog) -> int:
    parser = argparse.ArgumentParser(prog=prog, description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (_, help_text) in COMMANDS.items():
        sub.add_parser(name, help=help_text, add_help=False)
    args, rest = parser.parse_known_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    module = importlib.import_module(COMMANDS[args.command][0])
    cmd_parser = argparse.ArgumentParser(prog=f"{prog} {args.command}",
                                         description=COMMANDS[args.command][1])
    module.add_arguments(cmd_parser)
    cmd_args = cmd_parser.parse_args(rest)
    try:
        return int(module.run(cmd_args) or 0)
    except (ValueError, FileNotFoundError, FileExistsError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
