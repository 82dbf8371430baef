"""Checkpoint folders: ``model.safetensors`` + ``config.json`` + ``stats.safetensors``.

Nothing is ever unpickled: weights and stats are safetensors, config is JSON. Loading
needs only the folder. Any corrupt, foreign or mismatched file raises
:class:`CheckpointError` naming the file and the problem.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
from dataclasses import asdict, dataclass, field, is_dataclass
from pathlib import Path

import numpy as np
import torch

from .shipped import SHIPPED

KINDS = ("denoiser", "reward", "evaluator", "lora", "vae")
FORMAT = "easytune-checkpoint"
FORMAT_VERSION = 1
# 8-bit storage (``save_checkpoint(dtype=torch.int8)``): a weight matrix is stored as int8 values
# and, under its name + SCALE_SUFFIX, one float32 scale per row (value = int8 * its row's scale);
# matrices smaller than INT8_MIN_ELEMENTS and every vector (biases, norms) are stored as float16.
SCALE_SUFFIX = ".int8_row_scale"
INT8_MIN_ELEMENTS = 4096


class CheckpointError(ValueError):
    """A checkpoint folder is missing, corrupt, foreign or of the wrong kind."""


@dataclass
class Checkpoint:
    """What :func:`load_checkpoint` returns.

    Attributes:
        kind: "denoiser" | "reward" | "evaluator" | "lora" | "vae".
        config: the model's config dataclass as a dict.
        state_dict: parameter name -> float32 tensor (CPU).
        mean, std: (D,) float32 numpy normalisation stats, or None if the folder has none.
        meta: free-form dict (training command, losses, ...).
        folder: where it was loaded from.
    """

    kind: str
    config: dict
    state_dict: dict
    mean: np.ndarray | None = None
    std: np.ndarray | None = None
    meta: dict = field(default_factory=dict)
    folder: str = ""


def _config_dict(config) -> dict:
    if is_dataclass(config):
        return asdict(config)
    if hasattr(config, "to_dict"):
        return config.to_dict()
    if isinstance(config, dict):
        return dict(config)
    raise ValueError(f"config must be a dataclass or dict, got {type(config).__name__}")


def save_checkpoint(folder, model, config, kind: str, mean=None, std=None, meta: dict | None = None,
                    dtype: torch.dtype | None = None, state_dict: dict | None = None) -> Path:
    """Write a checkpoint folder (created if needed; files replaced atomically).

    Args:
        folder: destination directory.
        model: nn.Module whose state_dict is saved (or None with ``state_dict=``).
        config: the model config (dataclass or dict), stored under "config".
        kind: one of "denoiser", "reward", "evaluator", "lora", "vae".
        mean, std: optional (D,) normalisation stats (numpy or torch).
        meta: optional JSON-serialisable dict.
        dtype: store floating weights in this dtype (e.g. torch.float16 to halve the size);
            they load back as float32. ``torch.int8``: weight matrices as int8 with one float32
            scale per row (a quarter of float32), the rest as float16 (:func:`quantize_rows`).
    Returns:
        The folder path.
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    if (mean is None) != (std is None):  # checked before anything is written
        raise ValueError("give both mean and std, or neither")
    from safetensors.torch import save_file
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    sd = state_dict if state_dict is not None else model.state_dict()
    tensors = {}
    for k, v in sd.items():
        v = v.detach().cpu()
        if dtype == torch.int8 and k.endswith(SCALE_SUFFIX):
            raise ValueError(f"weight name {k!r} ends with {SCALE_SUFFIX!r}, which 8-bit storage reserves")
        if dtype == torch.int8 and v.is_floating_point() and v.dim() >= 2 and v.numel() >= INT8_MIN_ELEMENTS:
            tensors[k], tensors[k + SCALE_SUFFIX] = quantize_rows(v)
            continue
        if dtype is not None and v.is_floating_point():
            v = v.to(torch.float16 if dtype == torch.int8 else dtype)
        tensors[k] = v.contiguous()
    cfg = {"format": FORMAT, "version": FORMAT_VERSION, "kind": kind, "config": _config_dict(config),
           "meta": dict(meta or {})}
    text = json.dumps(cfg, indent=2, sort_keys=True, default=str)
    header = {"kind": kind, **({"weights": "int8 rows + float32 row scales"} if dtype == torch.int8 else {})}
    atomic_write(folder / "model.safetensors", lambda p: save_file(tensors, str(p), metadata=header))
    stats_path = folder / "stats.safetensors"
    if mean is not None:
        stats = {"mean": torch.as_tensor(np.asarray(mean, dtype=np.float32)).contiguous(),
                 "std": torch.as_tensor(np.asarray(std, dtype=np.float32)).contiguous()}
        atomic_write(stats_path, lambda p: save_file(stats, str(p)))
    elif stats_path.exists():
        stats_path.unlink()
    atomic_write(folder / "config.json", lambda p: p.write_text(text))
    return folder


def quantize_rows(w: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Symmetric 8-bit quantisation per row (the first dimension): returns int8 values of ``w``'s
    shape and float32 scales (rows,) with ``w ~ q * scale[:, None, ...]``; each value is off by at
    most half a step, max|row| / 254. An all-zero row gets scale 0."""
    if not w.is_floating_point() or w.dim() < 2:
        raise ValueError(f"quantize_rows needs a floating tensor of 2 or more dimensions, got {w.dtype} {tuple(w.shape)}")
    rows = w.detach().float().reshape(w.shape[0], -1)
    if not torch.isfinite(rows).all():
        raise ValueError("cannot quantise a tensor holding NaN or inf")
    scale = rows.abs().amax(dim=1) / 127.0
    q = torch.where(scale[:, None] > 0, rows / scale.clamp_min(torch.finfo(torch.float32).tiny)[:, None],
                    torch.zeros_like(rows))
    return q.round().clamp(-127, 127).to(torch.int8).reshape(w.shape).contiguous(), scale.contiguous()


def _dequantize(sd: dict, path: Path) -> dict:
    """Undo 8-bit storage: each int8 tensor times the scales stored beside it (float32)."""
    scales = {k[: -len(SCALE_SUFFIX)]: sd[k] for k in sd if k.endswith(SCALE_SUFFIX)}
    out = {}
    for k, v in sd.items():
        if k.endswith(SCALE_SUFFIX):
            continue
        if v.dtype == torch.int8:
            s = scales.get(k)
            if s is None:
                raise CheckpointError(f"{path}: int8 tensor {k!r} has no row scales ({k + SCALE_SUFFIX!r})")
            if not s.is_floating_point() or s.dim() != 1 or v.dim() < 2 or s.shape[0] != v.shape[0]:
                raise CheckpointError(f"{path}: row scales of {k!r} have shape {tuple(s.shape)} ({s.dtype}); "
                                      f"expected ({v.shape[0]},) floats for a tensor of shape {tuple(v.shape)}")
            s = s.float()
            if not (torch.isfinite(s).all() and (s >= 0).all()):
                raise CheckpointError(f"{path}: row scales of {k!r} contain NaN, inf or negative values")
            v = v.float() * s.reshape(-1, *([1] * (v.dim() - 1)))
        out[k] = v
    stray = sorted(k for k in scales if k not in sd or sd[k].dtype != torch.int8)
    if stray:
        raise CheckpointError(f"{path}: row scales without an int8 tensor: {stray[:5]}")
    return out


def atomic_write(path: Path, write) -> None:
    """``write(tmp)``, then rename ``tmp`` over ``path``: a crash never leaves ``path`` half-written,
    and a failed write leaves neither a half-written ``path`` nor the temporary file."""
    tmp = path.with_name(path.name + f".tmp{os.getpid()}")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def swap_in(tmp: Path, folder: Path) -> None:
    """Replace ``folder`` by the complete folder ``tmp``; at every moment one of them is whole on disk
    (``folder``, or ``folder.old`` while the two renames happen)."""
    old = folder.with_name(folder.name + ".old")
    if old.exists():
        shutil.rmtree(old)
    if folder.exists():
        folder.rename(old)
    tmp.rename(folder)
    shutil.rmtree(old, ignore_errors=True)


def read_config(folder) -> dict:
    """Parse and validate ``config.json`` of a checkpoint folder (cheap: no weights)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise CheckpointError(f"checkpoint folder {folder} does not exist or is not a folder")
    path = folder / "config.json"
    if not path.exists():
        raise CheckpointError(f"{path} is missing: not an EasyTune checkpoint folder")
    try:
        cfg = json.loads(path.read_text())
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise CheckpointError(f"{path} is not valid JSON ({err}); the checkpoint is corrupt") from err
    if not isinstance(cfg, dict) or cfg.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not an EasyTune checkpoint config (missing \"format\": \"{FORMAT}\")")
    if cfg.get("kind") not in KINDS:
        raise CheckpointError(f"{path} has unknown kind {cfg.get('kind')!r}; expected one of {KINDS}")
    if not isinstance(cfg.get("config"), dict):
        raise CheckpointError(f"{path} has no \"config\" object")
    version = cfg.get("version", 0)
    if not isinstance(version, int) or isinstance(version, bool):
        raise CheckpointError(f"{path} has format version {version!r}; expected a whole number")
    if version > FORMAT_VERSION:
        raise CheckpointError(f"{path} has format version {cfg.get('version')}, newer than this code "
                              f"({FORMAT_VERSION}); update easytune_core")
    return cfg


def _read_safetensors(path: Path) -> dict:
    from safetensors import SafetensorError
    from safetensors.torch import load_file
    if not path.exists():
        raise CheckpointError(f"{path} is missing")
    try:
        return load_file(str(path), device="cpu")
    except (SafetensorError, OSError, ValueError, RuntimeError) as err:
        raise CheckpointError(f"{path} is not a readable safetensors file ({err}); the checkpoint is corrupt") from err


def load_checkpoint(folder, expected_kind: str | None = None) -> Checkpoint:
    """Load a checkpoint folder.

    Args:
        folder: the folder written by :func:`save_checkpoint`.
        expected_kind: if given, a different kind raises CheckpointError.
    Returns:
        :class:`Checkpoint` with float32 CPU tensors.
    """
    folder = Path(folder)
    cfg = read_config(folder)
    if expected_kind is not None and cfg["kind"] != expected_kind:
        raise CheckpointError(f"{folder} holds a {cfg['kind']!r} checkpoint, expected {expected_kind!r}")
    sd = _dequantize(_read_safetensors(folder / "model.safetensors"), folder / "model.safetensors")
    sd = {k: (v.float() if v.is_floating_point() else v) for k, v in sd.items()}
    for k, v in sd.items():
        if v.is_floating_point() and not torch.isfinite(v).all():
            raise CheckpointError(f"{folder / 'model.safetensors'}: tensor {k!r} contains NaN or inf")
    mean = std = None
    if (folder / "stats.safetensors").exists():
        stats = _read_safetensors(folder / "stats.safetensors")
        if set(stats) != {"mean", "std"}:
            raise CheckpointError(f"{folder / 'stats.safetensors'} must hold exactly 'mean' and 'std', has {sorted(stats)}")
        mean, std = stats["mean"].float().numpy(), stats["std"].float().numpy()
        if mean.shape != std.shape or mean.ndim != 1:
            raise CheckpointError(f"{folder / 'stats.safetensors'}: mean {mean.shape} and std {std.shape} must be equal 1-D shapes")
        if not (np.isfinite(mean).all() and np.isfinite(std).all() and (std > 0).all()):
            raise CheckpointError(f"{folder / 'stats.safetensors'}: stats contain NaN/inf or non-positive std")
    return Checkpoint(cfg["kind"], cfg["config"], sd, mean, std, cfg.get("meta") or {}, str(folder))


def load_into(model: torch.nn.Module, ckpt: Checkpoint, new_modules: tuple[str, ...] = ()) -> torch.nn.Module:
    """Copy a checkpoint's weights into ``model``; a shape or name mismatch raises CheckpointError.

    ``new_modules``: name prefixes of modules the model adds to the checkpoint's (e.g. the token
    path of a denoiser started from a pooled one); their weights may be missing from the checkpoint
    and then keep their initial values."""
    own = model.state_dict()
    new = tuple(new_modules)
    missing = sorted(k for k in set(own) - set(ckpt.state_dict) if not (new and k.startswith(new)))
    extra = sorted(set(ckpt.state_dict) - set(own))
    if missing or extra:
        raise CheckpointError(f"{ckpt.folder}: weights do not match the model config "
                              f"(missing {missing[:5]}, unexpected {extra[:5]})")
    for k, v in own.items():
        if k in ckpt.state_dict and tuple(v.shape) != tuple(ckpt.state_dict[k].shape):
            raise CheckpointError(f"{ckpt.folder}: tensor {k!r} has shape {tuple(ckpt.state_dict[k].shape)}, "
                                  f"the config expects {tuple(v.shape)}")
    model.load_state_dict(ckpt.state_dict, strict=not new)
    return model


STORAGE = {"float32": None, "float16": torch.float16, "bfloat16": torch.bfloat16, "int8": torch.int8}


def compact_checkpoint(source, out, dtype: str = "int8") -> list[dict]:
    """Rewrite a checkpoint folder with its weights stored in ``dtype`` (a key of :data:`STORAGE`).

    Config, stats and meta are kept; ``meta["storage"]`` records the dtype and the source folder.
    A latent model's ``vae/`` folder is rewritten the same way. ``out`` must differ from ``source``
    (the source is never changed). Returns one row per folder written: path, kind, bytes of the
    weights before and after, and the largest change of any weight relative to the largest
    magnitude of its tensor."""
    if dtype not in STORAGE:
        raise ValueError(f"dtype must be one of {', '.join(STORAGE)}, got {dtype!r}")
    source, out = Path(source), Path(out)
    if out.resolve() == source.resolve():
        raise ValueError(f"{out} is the source folder; write the compact copy to another folder")
    pairs = [(source, out)]
    if (source / "vae" / "config.json").is_file():
        pairs.append((source / "vae", out / "vae"))
    loaded = [(load_checkpoint(src), dst) for src, dst in pairs]  # everything read before anything is written
    rows = []
    for ck, dst in loaded:
        meta = dict(ck.meta, storage={"dtype": dtype, "source": ck.folder})
        save_checkpoint(dst, None, ck.config, ck.kind, ck.mean, ck.std, meta, dtype=STORAGE[dtype],
                        state_dict=ck.state_dict)
        back = load_checkpoint(dst).state_dict
        err = max((float((back[k] - v).abs().max() / v.abs().max().clamp_min(1e-12))
                   for k, v in ck.state_dict.items() if v.is_floating_point() and v.numel()), default=0.0)
        rows.append({"folder": str(dst), "kind": ck.kind, "error": err,
                     "bytes_before": (Path(ck.folder) / "model.safetensors").stat().st_size,
                     "bytes_after": (dst / "model.safetensors").stat().st_size})
    return rows


class CheckpointRegistry:
    """Named checkpoint folders, persisted in ``<root>/registry.json``.

    The shipped ones (``base``, ``reward``, ``evaluator``, ``easytune``) are listed automatically
    when their folder exists under ``shipped_root`` (default: ``root`` itself).
    """

    SHIPPED = SHIPPED

    def __init__(self, root, shipped_root=None):
        self.root = Path(root)
        self.shipped_root = Path(shipped_root) if shipped_root is not None else self.root
        self._file = self.root / "registry.json"
        self._lock = threading.Lock()

    def _read(self) -> dict:
        entries = {}
        for name, kind in self.SHIPPED.items():
            if (self.shipped_root / name / "config.json").exists():
                entries[name] = {"folder": str(self.shipped_root / name), "kind": kind}
        data = self._load_file()
        entries.update({k: v for k, v in data.items() if isinstance(v, dict)})
        return entries

    def _load_file(self) -> dict:
        """The registry file's entries ({} when there is none); a corrupt file raises and is left as it is."""
        if not self._file.exists():
            return {}
        try:
            data = json.loads(self._file.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            raise CheckpointError(f"{self._file} is corrupt ({err}); it was left as it is: repair or remove it "
                                  "(the checkpoint folders it lists are untouched)") from err
        if not isinstance(data, dict):
            raise CheckpointError(f"{self._file} must hold a JSON object of name -> entry, not a "
                                  f"{type(data).__name__}; it was left as it is: repair or remove it")
        return data

    def register(self, name: str, folder, kind: str) -> None:
        """Add or replace ``name`` -> folder (must be a readable checkpoint of ``kind``)."""
        if not str(name).strip():
            raise ValueError("checkpoint name must not be empty")
        cfg = read_config(folder)
        if cfg["kind"] != kind:
            raise CheckpointError(f"{folder} holds a {cfg['kind']!r} checkpoint, not {kind!r}")
        with self._lock:
            data = self._load_file()  # a corrupt file is never overwritten: its other entries would be lost
            data[str(name)] = {"folder": str(Path(folder)), "kind": kind}
            self.root.mkdir(parents=True, exist_ok=True)
            atomic_write(self._file, lambda p: p.write_text(json.dumps(data, indent=2, sort_keys=True)))

    def list(self, kind: str | None = None) -> list[str]:
        """Names of registered checkpoints (of ``kind`` if given), sorted."""
        return sorted(n for n, e in self._read().items() if kind is None or e.get("kind") == kind)

    def get(self, name: str) -> Path:
        """Folder of checkpoint ``name``; unknown names raise KeyError listing the known ones."""
        entries = self._read()
        if name not in entries:
            raise KeyError(f"no checkpoint named {name!r}; known: {sorted(entries)}")
        return Path(entries[name]["folder"])
