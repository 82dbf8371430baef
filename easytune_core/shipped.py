"""Where the shipped models live, wherever the package is installed or checked out.

The shipped checkpoints (the default ``base``, ``reward``, ``evaluator``, ``easytune`` and the everyday
world's ``everyday_base``, ``everyday_reward``, ``everyday_evaluator``, ``everyday_easytune``; about 30 MB)
sit in ``assets/checkpoints/`` of the repository and are installed with the package as
``easytune_core/assets/checkpoints/`` (package data of the wheel). One lookup serves the
pipeline, every command-line default and the app, so none of them depends on the current
directory. Places, in order:

1. ``$EASYTUNE_ASSETS`` (a folder holding ``checkpoints/<name>/``), when set;
2. the installed package data, ``<site-packages>/easytune_core/assets``;
3. the repository checkout the package was imported from, ``<repo>/assets``.
"""

from __future__ import annotations

import os
from pathlib import Path

ENV_VAR = "EASYTUNE_ASSETS"
SHIPPED = {"base": "denoiser", "reward": "reward", "evaluator": "evaluator", "easytune": "denoiser",
           "everyday_base": "denoiser", "everyday_reward": "reward", "everyday_evaluator": "evaluator",
           "everyday_easytune": "denoiser",
           "latent": "denoiser", "latent_easytune": "denoiser", "fewstep": "denoiser", "fewstep_easytune": "denoiser"}
"""Shipped checkpoint name -> checkpoint kind. The ``everyday_*`` models (base, reward, evaluator, EasyTune) are
trained on the everyday world (docs/dataset.md) and measured on it (``--data data/everyday``); the
unprefixed four on the classic world, the default dataset. The latent family (``latent``, its few-step student ``fewstep`` and the
EasyTune versions of both; docs/latent.md) is listed wherever its folders are installed; a checkout
or wheel without them serves the others."""
LATENT_FAMILY = ("latent", "latent_easytune", "fewstep", "fewstep_easytune")
"""The shipped names of the latent family, made by scripts/train_latent_family.sh."""

_PACKAGE = Path(__file__).resolve().parent


def asset_roots() -> list[Path]:
    """Candidate assets folders in lookup order (they need not exist)."""
    roots = []
    env = os.environ.get(ENV_VAR)
    if env:
        roots.append(Path(env).expanduser())
    roots += [_PACKAGE / "assets", _PACKAGE.parent / "assets"]
    return roots


def assets_dir(required: bool = True) -> Path | None:
    """The first assets folder that holds a ``checkpoints/`` folder.

    Args:
        required: raise FileNotFoundError (listing every place looked at) when none does;
            with False return None instead.
    """
    roots = asset_roots()
    for root in roots:
        if (root / "checkpoints").is_dir():
            return root
    if required:
        raise FileNotFoundError(_not_found("the shipped checkpoints", [r / "checkpoints" for r in roots]))
    return None


def shipped_checkpoint(name: str) -> Path:
    """Folder of shipped checkpoint ``name`` ("base", "reward", "evaluator" or "easytune").

    Raises ValueError for an unknown name and FileNotFoundError naming every folder looked at
    when no copy is found.
    """
    if name not in SHIPPED:
        raise ValueError(f"unknown shipped checkpoint {name!r}; choose one of {', '.join(SHIPPED)}")
    places = [root / "checkpoints" / name for root in asset_roots()]
    for folder in places:
        if (folder / "config.json").is_file():
            return folder
    if name in LATENT_FAMILY:
        raise FileNotFoundError(f"the shipped {name!r} checkpoint is not installed here: the latent family's "
                                f"weights are made by scripts/train_latent_family.sh (docs/latent.md); put the "
                                f"folder in assets/checkpoints/{name}/ or pass a checkpoint folder instead")
    raise FileNotFoundError(_not_found(f"the shipped {name!r} checkpoint", places))


def resolve_checkpoint(spec, default: str | None = None) -> Path:
    """A checkpoint folder from a command-line value: an existing folder, or a shipped name.

    Args:
        spec: a folder path, a shipped name ("base", "easytune", ...), or None for ``default``.
        default: shipped name used when ``spec`` is None.
    Returns:
        The folder (not validated beyond existing; loaders check its contents).
    """
    if spec is None or str(spec) == "":
        if default is None:
            raise ValueError("no checkpoint given")
        return shipped_checkpoint(default)
    path = Path(spec).expanduser()
    if path.is_dir():
        return path
    if str(spec) in SHIPPED:
        return shipped_checkpoint(str(spec))
    raise FileNotFoundError(f"checkpoint {spec!r} is neither a folder nor a shipped model "
                            f"({', '.join(SHIPPED)})")


def _not_found(what: str, places: list[Path]) -> str:
    listed = "\n".join(f"  - {p}" for p in places)
    return (f"{what} not found; looked in:\n{listed}\n"
            f"Reinstall the package with its data (pip install . from the repository) or set "
            f"{ENV_VAR} to a folder holding checkpoints/<name>/.")


def world_of(meta: dict | None) -> str:
    """The built-in world a denoiser was trained on, from its checkpoint meta: ``"everyday"`` when
    the dataset it trained on (its own, or for a fine-tuned model its base's) is a folder named
    ``everyday`` or ``everyday_<suffix>`` / ``everyday-<suffix>`` (a regenerated copy beside the
    first, say ``data/everyday_v2``), else ``"classic"``. Used to score a model with the reward and
    evaluator of its world."""
    meta = meta or {}
    for m in (meta, meta.get("base_meta")):
        data = m.get("data") if isinstance(m, dict) else None
        if isinstance(data, str) and data.strip():
            name = Path(data.rstrip("/")).name
            return "everyday" if name == "everyday" or name.startswith(("everyday_", "everyday-")) else "classic"
    return "classic"

