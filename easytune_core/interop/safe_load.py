"""Reading PyTorch checkpoint files of other projects without running their code.

``torch.load(..., weights_only=True)`` only rebuilds tensors and plain containers. Training
checkpoints (PyTorch Lightning's, for one) often carry other objects beside the weights
(configuration objects, paths, numpy scalars); for those we list the classes the file names
(``torch.serialization.get_unsafe_globals_in_checkpoint``, which reads without executing) and
let the restricted unpickler build inert placeholders in their place, so their code never runs.
The weights themselves must be tensors, or the file is refused.
"""

from __future__ import annotations

import pickle
import zipfile
from collections.abc import Mapping
from pathlib import Path

import torch


class UnsafeCheckpointError(ValueError):
    """The file cannot be read with the restricted loader."""


class _Inert:
    """Stands in for a class a checkpoint names: keeps the constructor arguments and state as data."""

    def __init__(self, *args, **kwargs):
        self.args, self.kwargs = args, kwargs

    def __setstate__(self, state):
        self.state = state

    def __call__(self, *args, **kwargs):  # e.g. a function reference that pickle would call
        return _Inert(*args, **kwargs)


def _placeholders(path: Path) -> list:
    try:
        names = torch.serialization.get_unsafe_globals_in_checkpoint(str(path))
    except Exception as err:  # noqa: BLE001 - any parse failure means we cannot vouch for the file
        raise UnsafeCheckpointError(f"{path} could not be inspected ({type(err).__name__}: {err})") from err
    out = []
    for name in names:
        stub = type(f"Inert[{name}]", (_Inert,), {})
        out.append((stub, name))
    return out


def load_torch_object(path) -> object:
    """The object in a ``torch.save`` file, with tensors and plain data only.

    Objects of other classes come back as inert placeholders (their code is never imported or run).
    Raises FileNotFoundError, or UnsafeCheckpointError naming the file and the problem.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint file {path} does not exist")
    try:
        return torch.load(str(path), map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        pass  # it names classes beyond plain data: retry with placeholders
    except (RuntimeError, EOFError, zipfile.BadZipFile, OSError) as err:
        raise UnsafeCheckpointError(f"{path} is not a readable PyTorch checkpoint ({err})") from err
    stubs = _placeholders(path)
    try:
        with torch.serialization.safe_globals(stubs):
            return torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001
        first = str(err).strip().splitlines()
        detail = next((line.strip() for line in first if "Unsupported" in line), first[0] if first else "")
        raise UnsafeCheckpointError(
            f"{path} needs arbitrary unpickling to load ({detail}); EasyTune only reads tensors and plain "
            "data. Re-save its weights with torch.save(state_dict) in an environment you trust.") from err


def load_torch_weights(path, key: str | None = None) -> dict[str, torch.Tensor]:
    """Name -> tensor weights of a checkpoint file, loaded with the restricted unpickler.

    Args:
        path: a ``torch.save`` file (a bare state dict, or a dict holding one).
        key: where the state dict sits ("state_dict" in Lightning files, "model" in others);
            None = the whole file if it is a state dict, else its "state_dict" or "model" entry.
    Returns:
        dict of float/int tensors on CPU. Raises UnsafeCheckpointError when the weights are not
        all tensors.
    """
    obj = load_torch_object(path)
    if key is None:
        if isinstance(obj, Mapping) and obj and all(torch.is_tensor(v) for v in obj.values()):
            key = ""
        else:
            key = next((k for k in ("state_dict", "model") if isinstance(obj, Mapping) and k in obj), None)
            if key is None:
                found = sorted(obj)[:10] if isinstance(obj, Mapping) else type(obj).__name__
                raise UnsafeCheckpointError(f"{path} holds no state dict (found {found})")
    sd = obj if key == "" else obj.get(key) if isinstance(obj, Mapping) else None
    if not isinstance(sd, Mapping):
        raise UnsafeCheckpointError(f"{path} has no {key!r} entry with weights")
    bad = [k for k, v in sd.items() if not torch.is_tensor(v)]
    if bad:
        raise UnsafeCheckpointError(f"{path}: weights {bad[:5]} are not tensors")
    return {str(k): v for k, v in sd.items()}
