"""Uploaded checkpoints: a zip of a checkpoint folder, the folder's files (a `.safetensors` weights
file plus `config.json`, optionally `stats.safetensors`), or an MDM checkpoint (its `.pt`, `args.json`
and the dataset's `Mean.npy` / `Std.npy`), converted on arrival. Nothing is unpickled beyond tensors
(the `.pt` through `torch.load(weights_only=True)`, the `.npy` files without pickle); zip members are
extracted only by known names, never by their stored paths."""

from __future__ import annotations

import json
import shutil
import struct
import uuid
import zipfile
from pathlib import Path

CHECKPOINT_FILES = ("model.safetensors", "config.json", "stats.safetensors")
PICKLE_SUFFIXES = (".pt", ".pth", ".ckpt", ".bin", ".pkl", ".pickle", ".tar", ".npz", ".npy")


def _check_safetensors_header(path: Path, label: str) -> None:
    """Cheap structural check: 8-byte little-endian header length, then a JSON object."""
    size = path.stat().st_size
    with open(path, "rb") as f:
        head = f.read(8)
        if len(head) < 8:
            raise ValueError(f"{label} is not a safetensors file (too short): upload the model.safetensors of a checkpoint")
        (n,) = struct.unpack("<Q", head)
        if n <= 1 or 8 + n > size or n > 100_000_000:
            raise ValueError(f"{label} is not a safetensors file (bad header): upload the model.safetensors of a checkpoint")
        try:
            header = json.loads(f.read(n))
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise ValueError(f"{label} is not a safetensors file (unreadable header): it may be corrupt") from None
    if not isinstance(header, dict) or not any(k != "__metadata__" for k in header):
        raise ValueError(f"{label} holds no tensors: upload a trained checkpoint's model.safetensors")


def _check_config(path: Path) -> dict:
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"config.json is not valid JSON ({exc.msg}): upload the config.json saved with the checkpoint") from None
    if not isinstance(config, dict) or "kind" not in config or not isinstance(config.get("config"), dict):
        raise ValueError("config.json is not an EasyTune checkpoint config (needs 'kind' and a 'config' object): "
                         "upload the config.json saved with the checkpoint")
    if config["kind"] == "lora":
        raise ValueError("this is a LoRA adapter alone: upload the merged generator (the run folder's checkpoint/)")
    if config["kind"] != "denoiser":
        raise ValueError(f"this is a {config['kind']!r} checkpoint: upload a motion generator (kind 'denoiser')")
    return config


MDM_SUFFIXES = (".pt", ".pth")
MDM_STATS = ("mean.npy", "std.npy")


def _is_mdm_upload(paths: list[Path]) -> bool:
    return any(p.suffix.lower() in MDM_SUFFIXES for p in paths)


def _stage_mdm(paths: list[Path], dest: Path) -> None:
    """Convert an MDM checkpoint upload (.pt + args.json + Mean.npy + Std.npy) into `dest`."""
    pts = [p for p in paths if p.suffix.lower() in MDM_SUFFIXES]
    configs = [p for p in paths if p.suffix.lower() == ".json"]
    stats = {p.name.lower(): p for p in paths if p.name.lower() in MDM_STATS}
    others = [p for p in paths if p not in pts and p not in configs and p.name.lower() not in MDM_STATS]
    need = "upload MDM's model .pt with its args.json and the dataset's Mean.npy and Std.npy"
    if others:
        raise ValueError(f"unexpected file {others[0].name} beside an MDM checkpoint: {need}")
    if len(pts) != 1:
        raise ValueError(f"expected one MDM .pt checkpoint, got {len(pts)}: {need}")
    if len(configs) != 1:
        raise ValueError(f"a .pt file is accepted only as an MDM checkpoint with its args.json: {need}")
    if set(stats) != set(MDM_STATS):
        raise ValueError(f"Mean.npy and Std.npy are missing (MDM normalises motions with them): {need}")
    from easytune_core.interop.mdm import convert_mdm

    convert_mdm(pts[0], dest, args=configs[0], mean=stats["mean.npy"], std=stats["std.npy"])


def _reject_pickles(names: list[str]) -> None:
    for name in names:
        if name.lower().endswith(PICKLE_SUFFIXES):
            raise ValueError(f"{Path(name).name}: pickled/NumPy files are not accepted for safety (except an MDM "
                             f".pt with its args.json, Mean.npy and Std.npy); save the weights as safetensors")


def _extract_zip(zip_path: Path, dest: Path, max_bytes: int) -> None:
    try:
        archive = zipfile.ZipFile(zip_path)
    except zipfile.BadZipFile:
        raise ValueError(f"{zip_path.name} is not a valid zip archive: zip the checkpoint folder again") from None
    with archive:
        infos = [i for i in archive.infolist() if not i.is_dir()]
        _reject_pickles([i.filename for i in infos])
        found: dict[str, zipfile.ZipInfo] = {}
        for info in infos:
            path = Path(info.filename.replace("\\", "/"))
            base = path.name
            if base in CHECKPOINT_FILES:
                # a latent model keeps its VAE in a vae/ sub-folder: the one other place files are taken from
                key = f"vae/{base}" if path.parent.name == "vae" else base
                if key in found:
                    raise ValueError(f"the zip holds more than one {key}: zip exactly one checkpoint folder")
                found[key] = info
        if sum(i.file_size for i in found.values()) > max_bytes:
            raise ValueError(f"the checkpoint is larger than {max_bytes // 2**20} MB uncompressed")
        for key, info in found.items():
            # Written under its known name only: stored paths (../, absolute) are never used.
            target = dest / key
            target.parent.mkdir(exist_ok=True)
            with archive.open(info) as src, open(target, "wb") as dst:
                shutil.copyfileobj(src, dst)


def stage_upload(files: list[str] | str | None, uploads_dir: Path, max_mb: float = 200.0) -> Path:
    """Validate uploaded files and copy them into a fresh checkpoint folder under `uploads_dir`.

    files: paths gradio saved the upload to. Returns the new folder (model.safetensors, config.json,
    maybe stats.safetensors). Raises ValueError naming what is wrong; the caller then loads the
    folder with the core's `load_checkpoint`, which checks shapes and kinds in depth."""
    if not files:
        raise ValueError("no file uploaded: choose a checkpoint .zip, or model .safetensors + config.json")
    paths = [Path(p) for p in ([files] if isinstance(files, (str, Path)) else files)]
    max_bytes = int(max_mb * 2**20)
    total = sum(p.stat().st_size for p in paths)
    if total > max_bytes:
        raise ValueError(f"upload is {total / 2**20:.0f} MB: checkpoints up to {max_mb:.0f} MB are accepted")
    mdm = _is_mdm_upload(paths)
    if not mdm:
        _reject_pickles([p.name for p in paths])
    dest = Path(uploads_dir) / uuid.uuid4().hex[:12]
    dest.mkdir(parents=True)
    try:
        zips = [p for p in paths if p.suffix.lower() == ".zip"]
        if mdm:
            if zips:
                raise ValueError("upload either one .zip or the loose files, not both")
            _stage_mdm(paths, dest)
        elif zips:
            if len(paths) != 1:
                raise ValueError("upload either one .zip or the loose files, not both")
            _extract_zip(zips[0], dest, max_bytes)
        else:
            weights = [p for p in paths if p.suffix.lower() == ".safetensors" and p.name != "stats.safetensors"]
            configs = [p for p in paths if p.suffix.lower() == ".json"]
            others = [p for p in paths if p not in weights and p not in configs and p.name != "stats.safetensors"]
            if others:
                raise ValueError(f"unexpected file {others[0].name}: upload .safetensors weights, config.json and stats.safetensors only")
            if len(weights) != 1:
                raise ValueError(f"expected exactly one weights .safetensors file, got {len(weights)}")
            if len(configs) != 1:
                raise ValueError("config.json is missing: upload it together with the weights")
            shutil.copyfile(weights[0], dest / "model.safetensors")
            shutil.copyfile(configs[0], dest / "config.json")
            for p in paths:
                if p.name == "stats.safetensors":
                    shutil.copyfile(p, dest / "stats.safetensors")
        if not (dest / "model.safetensors").exists():
            raise ValueError("model.safetensors is missing from the upload")
        if not (dest / "config.json").exists():
            raise ValueError("config.json is missing from the upload")
        _check_safetensors_header(dest / "model.safetensors", "model.safetensors")
        if (dest / "stats.safetensors").exists():
            _check_safetensors_header(dest / "stats.safetensors", "stats.safetensors")
        config = _check_config(dest / "config.json")
        if config["config"].get("space") == "latent":
            if not (dest / "vae" / "model.safetensors").exists() or not (dest / "vae" / "config.json").exists():
                raise ValueError("this latent model needs its VAE: upload a zip of the whole checkpoint folder "
                                 "(with its vae/ sub-folder)")
            _check_safetensors_header(dest / "vae" / "model.safetensors", "vae/model.safetensors")
    except Exception:
        shutil.rmtree(dest, ignore_errors=True)
        raise
    return dest
