"""Restricted loaders for the pickles the field ships (GloVe vocabularies, ``.tar``/``.pt`` weights).

A pickle can name any importable callable and have it run while loading (``os.system`` through a
``__reduce__``). Nothing in this project unpickles with the standard loader:

* :func:`load_plain_pickle` accepts only plain data (str, int, float, bool, None, list, tuple, dict):
  any reference to a global (a class, a function, a numpy array) is refused before it is
  resolved, so nothing is imported or called;
* :func:`load_torch_weights` is ``torch.load(..., weights_only=True)`` (tensors, plain containers,
  numbers); a file that needs more is refused with the global it asked for;
* :func:`load_state_dict` reads the weights of a training checkpoint that also carries other
  objects beside them (PyTorch Lightning's hyper-parameters, callbacks' paths): the classes the
  file names are listed without executing anything, and torch's restricted unpickler builds
  inert placeholders in their place, so their code is never imported or run; the weights
  themselves must be tensors.

Both raise :class:`UnsafePickleError` (a ``ValueError``) naming the file and what it asked for.
"""

from __future__ import annotations

import io
import pickle
import re
from pathlib import Path

__all__ = ["UnsafePickleError", "load_plain_pickle", "loads_plain_pickle", "load_torch_weights", "load_state_dict",
           "PLAIN_TYPES"]

PLAIN_TYPES = (str, int, float, bool, type(None), list, tuple, dict)
"""The only types :func:`load_plain_pickle` returns (exact types, nested at any depth)."""

MAX_PICKLE_BYTES = 1 << 30  # 1 GiB: far above the field's vocabularies (a few MB)


class UnsafePickleError(ValueError):
    """A pickle holds (or asks for) more than plain data; it was refused and nothing ran."""


class _PlainUnpickler(pickle.Unpickler):
    """Unpickler with no globals and no persistent ids: only the pickle opcodes for plain data work."""

    def __init__(self, fh, source: str):
        super().__init__(fh, encoding="utf-8")
        self._source = source

    def find_class(self, module, name):  # called for GLOBAL / STACK_GLOBAL / INST / OBJ
        raise UnsafePickleError(
            f"{self._source}: refused: the pickle references the global {module}.{name}; only plain data "
            f"(str, int, float, bool, None, list, tuple, dict) is accepted, nothing was executed")

    def persistent_load(self, pid):
        raise UnsafePickleError(f"{self._source}: refused: the pickle uses a persistent id ({pid!r}); "
                                f"only plain data is accepted")


def _check_plain(obj, source: str) -> None:
    """Walk the loaded object (iteratively; shared/cyclic containers visited once)."""
    stack, seen = [obj], set()
    while stack:
        x = stack.pop()
        t = type(x)
        if t not in PLAIN_TYPES:
            raise UnsafePickleError(f"{source}: refused: the pickle holds a {t.__module__}.{t.__qualname__}; "
                                    f"only str, int, float, bool, None, list, tuple and dict are accepted")
        if t in (list, tuple, dict):
            if id(x) in seen:
                continue
            seen.add(id(x))
            if t is dict:
                stack.extend(x.keys())
                stack.extend(x.values())
            else:
                stack.extend(x)


def loads_plain_pickle(data: bytes, source: str = "<bytes>"):
    """Unpickle ``data`` if it is plain data only; see :func:`load_plain_pickle`."""
    try:
        obj = _PlainUnpickler(io.BytesIO(data), source).load()
    except UnsafePickleError:
        raise
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, IndexError,
            KeyError, UnicodeDecodeError, RecursionError) as err:
        raise ValueError(f"{source}: not a readable pickle of plain data ({type(err).__name__}: {err})") from None
    _check_plain(obj, source)
    return obj


def load_plain_pickle(path):
    """Read a pickle file that must hold only plain data.

    Args:
        path: the ``.pkl`` file (e.g. GloVe's ``our_vab_words.pkl`` (list of str) or
            ``our_vab_idx.pkl`` (dict str -> int)).
    Returns:
        The object: nested str / int / float / bool / None / list / tuple / dict.
    Raises:
        UnsafePickleError: the pickle references any global (class, function, numpy array, ...),
            a persistent id, or holds another type (set, bytes); the message names it. The
            reference is refused before it is imported, so nothing is executed.
        ValueError: the file is not a pickle, is truncated, or is larger than 1 GiB.
        FileNotFoundError: no such file.
    """
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"{p}: no such file")
    size = p.stat().st_size
    if size > MAX_PICKLE_BYTES:
        raise ValueError(f"{p}: {size} bytes is more than the {MAX_PICKLE_BYTES} bytes a vocabulary pickle may have")
    return loads_plain_pickle(p.read_bytes(), str(p))


_GLOBAL_RE = re.compile(r"GLOBAL\s+([A-Za-z_][\w.]*[\w])")


def load_torch_weights(path, map_location="cpu"):
    """``torch.load(path, weights_only=True)`` with clear errors.

    Args:
        path: a ``.pt`` / ``.tar`` / ``.pth`` file saved with ``torch.save`` holding tensors in
            plain containers (a state dict, or a dict of state dicts and counters).
        map_location: where tensors go (default CPU).
    Returns:
        The loaded object (typically a dict).
    Raises:
        UnsafePickleError: the file needs more than weights (a class, a function, a numpy
            object, ...); the message names the global it asked for. Nothing was executed.
        ValueError: the file is not a torch save (corrupt, truncated, another format).
        FileNotFoundError: no such file.
    """
    import torch

    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"{p}: no such file")
    try:
        return torch.load(str(p), map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as err:
        msg = str(err)
        m = _GLOBAL_RE.search(msg)
        if m is None and "Unsupported operand" in msg:  # garbage bytes, not a refused object
            raise ValueError(f"{p}: not a readable torch weights file (it is not a torch save)") from None
        what = f"the global {m.group(1)}" if m else "more than tensors and plain data"
        raise UnsafePickleError(
            f"{p}: refused: loading it needs {what}, and only weights are loaded (torch.load weights_only=True); "
            f"nothing was executed. Re-save the file as a plain state dict (tensors in dicts) or as safetensors"
        ) from None
    except (RuntimeError, EOFError, OSError, ValueError, KeyError, AttributeError) as err:
        raise ValueError(f"{p}: not a readable torch weights file ({type(err).__name__}: {str(err)[:300]})") from None


class _Inert:
    """Stands in for a class a checkpoint names: keeps constructor arguments and state as data."""

    def __init__(self, *args, **kwargs):
        self.args, self.kwargs = args, kwargs

    def __setstate__(self, state):
        self.state = state

    def __call__(self, *args, **kwargs):  # a function reference that pickle would call
        return _Inert(*args, **kwargs)


def _is_dict_like(name: str) -> bool:
    """Dict subclasses that checkpoints keep beside their weights (hyper-parameters): the restricted
    unpickler fills only plain dicts, so these are read as plain dicts."""
    return name == "collections.defaultdict" or name.rsplit(".", 1)[-1] == "AttributeDict"


def _dict_stub(name: str) -> type:
    """A placeholder for the dict subclass ``name``: constructing it gives a plain dict."""
    def new(cls, *args, **kwargs):
        return {}

    return type(f"Plain[{name}]", (), {"__new__": new})


def _load_with_placeholders(p: Path, map_location="cpu"):
    """The file's object with every non-plain global replaced by an inert placeholder class."""
    import torch

    try:
        names = torch.serialization.get_unsafe_globals_in_checkpoint(str(p))
    except Exception as err:  # noqa: BLE001 - unreadable means we cannot vouch for it
        raise ValueError(f"{p}: not a readable torch checkpoint ({type(err).__name__}: {str(err)[:300]})") from None
    stubs = [(_dict_stub(name) if _is_dict_like(name) else type(f"Inert[{name}]", (_Inert,), {}), name)
             for name in names]
    try:
        with torch.serialization.safe_globals(stubs):
            return torch.load(str(p), map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as err:
        m = _GLOBAL_RE.search(str(err))
        raise UnsafePickleError(f"{p}: refused: it needs {m.group(1) if m else 'more than data'} to load; "
                                f"nothing was executed") from None


def load_state_dict(path, key: str | None = None, map_location="cpu") -> dict:
    """Name -> tensor weights of a checkpoint file, never running code the file names.

    Args:
        path: a ``torch.save`` file: a bare state dict, or a dict holding one (PyTorch Lightning
            files keep it under "state_dict"; others under "model").
        key: where the state dict sits; None = the file itself if it is one, else "state_dict"
            or "model".
    Returns:
        dict str -> tensor (on ``map_location``).
    Raises:
        UnsafePickleError: the weights are not all tensors, or the file cannot be read even with
            placeholders; FileNotFoundError / ValueError as :func:`load_torch_weights`.
    """
    import torch

    p = Path(path)
    try:
        obj = load_torch_weights(p, map_location)
    except UnsafePickleError:  # objects beside the weights: read again with inert placeholders
        obj = _load_with_placeholders(p, map_location)
    is_map = isinstance(obj, dict)
    if key is None:
        if is_map and obj and all(torch.is_tensor(v) for v in obj.values()):
            return {str(k): v for k, v in obj.items()}
        key = next((k for k in ("state_dict", "model") if is_map and k in obj), None)
        if key is None:
            found = sorted(map(str, obj))[:10] if is_map else type(obj).__name__
            raise UnsafePickleError(f"{p}: holds no state dict (found {found})")
    sd = obj.get(key) if is_map else None
    if not isinstance(sd, dict):
        raise UnsafePickleError(f"{p}: has no {key!r} entry with weights")
    bad = [k for k, v in sd.items() if not torch.is_tensor(v)]
    if bad:
        raise UnsafePickleError(f"{p}: refused: weights {bad[:5]} are not tensors")
    return {str(k): v for k, v in sd.items()}
