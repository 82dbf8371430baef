"""MDM checkpoints (``model000XXXXXX.pt`` + ``args.json``) -> this project's denoiser checkpoint folder.

MDM (Tevet et al. 2023) saves ``model.state_dict()`` with the CLIP weights removed, or
``{"model": ..., "model_avg": ...}`` when trained with EMA, and writes its training arguments to
``args.json`` beside the file. Its ``trans_enc`` text-to-motion network is a
:class:`~easytune_core.diffusion.MotionDenoiser` with post-norm layers, no final norm, MDM's
interleaved sinusoid table, the text dropped before its projection, and (for models trained
without ``--mask_frames``) no frame masking; :func:`mdm_denoiser_config` sets those options and
:func:`mdm_to_denoiser_state` renames the weights. Nothing is unpickled beyond tensors
(``torch.load(weights_only=True)``), and the mean/std the model was trained with come from the
dataset folder's ``Mean.npy`` / ``Std.npy`` (read without pickle).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import torch

from ..diffusion.denoiser import DenoiserConfig, MotionDenoiser
from .safe_load import load_torch_weights

DATASETS = {"humanml": (263, 20.0), "kit": (251, 12.5)}
"""MDM dataset name -> (features per frame, frames per second)."""
MAX_FRAMES = 196  # HumanML3D / KIT motions are cut to 196 frames in MDM's loaders
IGNORED_PREFIXES = ("clip_model.", "sequence_pos_encoder.pe", "embed_timestep.sequence_pos_encoder.pe")
"""Keys MDM itself does not load: CLIP (loaded by name) and its fixed sinusoid tables (recomputed)."""

# MDM name -> ours; the encoder layers keep torch's names under another prefix.
_RENAMES = [
    (r"^input_process\.poseEmbedding\.", "input_proj."),
    (r"^embed_timestep\.time_embed\.", "time_mlp."),
    (r"^embed_text\.", "text_proj."),
    (r"^seqTransEncoder\.layers\.", "encoder.layers."),
    (r"^output_process\.poseFinal\.", "output_proj."),
]


class MDMConversionError(ValueError):
    """An MDM file is not a supported text-to-motion ``trans_enc`` checkpoint, or does not match its args."""


def read_mdm_args(path) -> dict:
    """Parse MDM's ``args.json`` and check it describes a model this converter reproduces exactly.

    Returns the dict with MDM's defaults filled in for keys older releases did not write
    (``mask_frames`` False, ``text_encoder_type`` "clip", ``cond_mode`` from ``unconstrained``, ...).
    Raises MDMConversionError naming the unsupported setting.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: MDM's args.json not found (it is saved beside the model .pt); pass --args PATH")
    try:
        args = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise MDMConversionError(f"{path} is not valid JSON ({err})") from None
    if not isinstance(args, dict):
        raise MDMConversionError(f"{path} must hold a JSON object of MDM's training arguments")
    a = {"arch": "trans_enc", "text_encoder_type": "clip", "mask_frames": False, "noise_schedule": "cosine",
         "diffusion_steps": 1000, "sigma_small": True, "cond_mask_prob": 0.1, "emb_policy": "add",
         "multi_target_cond": False, "context_len": 0, "pred_len": 0, "use_ema": False, **args}
    if "cond_mode" not in a:
        a["cond_mode"] = "no_cond" if a.get("unconstrained") else "text"

    def refuse(what):
        raise MDMConversionError(f"{path}: {what}; only MDM's text-to-motion trans_enc models on HumanML3D or KIT "
                                 f"(CLIP text, no prefix or target conditioning) can be converted")

    if a.get("dataset") not in DATASETS:
        refuse(f"dataset {a.get('dataset')!r} is not 'humanml' or 'kit'")
    if a["arch"] != "trans_enc":
        refuse(f"arch {a['arch']!r} is not 'trans_enc'")
    if a["text_encoder_type"] != "clip":
        refuse(f"text_encoder_type {a['text_encoder_type']!r} is not 'clip'")
    if a["cond_mode"] != "text" or a.get("unconstrained"):
        refuse(f"the model is not text-conditioned (cond_mode {a['cond_mode']!r})")
    if a["emb_policy"] != "add" or a["multi_target_cond"] or a.get("lambda_target_loc", 0) or int(a["context_len"]) or int(a["pred_len"]):
        refuse("it uses prefix completion, target-location conditioning or a non-additive condition")
    if a["noise_schedule"] != "cosine":
        refuse(f"noise_schedule {a['noise_schedule']!r} is not 'cosine' (MDM's released models all use it)")
    if not a["sigma_small"]:
        refuse("sigma_small is false (the large posterior variance is not implemented)")
    for key in ("latent_dim", "layers"):
        if not isinstance(a.get(key), int) or isinstance(a.get(key), bool) or a[key] < 1:
            raise MDMConversionError(f"{path}: {key} must be a positive integer, got {a.get(key)!r}")
    return a


def mdm_denoiser_config(args: dict) -> DenoiserConfig:
    """The DenoiserConfig that reproduces MDM's network and diffusion for parsed ``args``.

    Heads (4), feed-forward size (1024), dropout (0.1) and GELU are fixed in MDM's code, not its args.
    """
    feature_dim, fps = DATASETS[args["dataset"]]
    return DenoiserConfig(
        feature_dim=feature_dim, text_dim=512, width=int(args["latent_dim"]), layers=int(args["layers"]), heads=4,
        ff=1024, dropout=0.1, cond_drop_prob=float(args["cond_mask_prob"]), prediction="x0", max_frames=MAX_FRAMES,
        text_encoder="clip-mdm", schedule=args["noise_schedule"], diffusion_steps=int(args["diffusion_steps"]),
        fps=fps, norm_first=False, final_norm=False, sinusoid="interleaved", text_drop="embedding",
        mask_frames=bool(args["mask_frames"]),
        # a model trained without dropping the text has no unconditional branch: MDM samples it at guidance 1
        default_guidance=2.5 if float(args["cond_mask_prob"]) > 0 else 1.0)


def load_mdm_weights(path, ema: bool | None = None) -> dict:
    """MDM's state dict from a ``.pt`` (weights only; nothing else is unpickled).

    Args:
        ema: with a ``{"model", "model_avg"}`` file, True takes the averaged weights, False the raw
            ones, None the averaged ones when present (what MDM samples with ``--use_ema``).
    """
    obj = load_torch_weights(path)
    if isinstance(obj, dict) and ("model" in obj or "model_avg" in obj) and not any(torch.is_tensor(v) for v in obj.values()):
        key = "model_avg" if (ema is not False and "model_avg" in obj) else "model"
        if key not in obj:
            raise MDMConversionError(f"{path}: no {key!r} weights in the file (it has {sorted(obj)})")
        obj = obj[key]
    if not isinstance(obj, dict) or not obj or not all(isinstance(k, str) and torch.is_tensor(v) for k, v in obj.items()):
        raise MDMConversionError(f"{path}: expected MDM's state dict (parameter name -> tensor), got {type(obj).__name__}")
    return obj


def mdm_to_denoiser_state(mdm_state: dict, config: DenoiserConfig) -> dict:
    """Rename MDM's weights to :class:`MotionDenoiser`'s and check them against ``config``.

    CLIP weights and the fixed sinusoid tables are skipped (MDM does not load them either).
    Raises MDMConversionError naming the first unknown key, missing key or mismatched shape.
    """
    own = MotionDenoiser(config).state_dict()
    out, unknown = {}, []
    for key, value in mdm_state.items():
        if key.startswith(IGNORED_PREFIXES):
            continue
        new = next((re.sub(pat, rep, key) for pat, rep in _RENAMES if re.match(pat, key)), None)
        if new is None or new not in own:
            unknown.append(key)
            continue
        if tuple(value.shape) != tuple(own[new].shape):
            raise MDMConversionError(f"MDM weight {key!r} has shape {tuple(value.shape)}, but args.json describes "
                                     f"{tuple(own[new].shape)}: the .pt and args.json do not belong together")
        if not value.is_floating_point():
            raise MDMConversionError(f"MDM weight {key!r} is {value.dtype}, expected floating point")
        out[new] = value.detach().to(torch.float32).contiguous()
    if unknown:
        raise MDMConversionError(f"unknown MDM weight {unknown[0]!r} ({len(unknown)} unknown in all): not a text-to-motion "
                                 f"trans_enc checkpoint, or args.json describes another architecture")
    missing = [k for k in own if k not in out]
    if missing:
        inverse = {rep: pat.strip("^").replace("\\.", ".") for pat, rep in _RENAMES}
        mdm_name = next((inverse[p] + missing[0][len(p):] for p in inverse if missing[0].startswith(p)), missing[0])
        raise MDMConversionError(f"MDM weight {mdm_name!r} is missing from the checkpoint ({len(missing)} missing in all)")
    return out


def read_stats(data=None, mean=None, std=None, feature_dim: int = 263) -> tuple[np.ndarray, np.ndarray]:
    """The feature mean/std MDM normalised with: ``data``/Mean.npy and Std.npy, or the two files given.

    ``.npy`` files are read with ``allow_pickle=False``. Raises ValueError when missing or malformed.
    """
    if data is not None and (mean is not None or std is not None):
        raise ValueError("give the dataset folder (--data) or --mean and --std, not both")
    if data is not None:
        mean, std = Path(data) / "Mean.npy", Path(data) / "Std.npy"
    if mean is None or std is None:
        raise ValueError("MDM normalises motions with its dataset's Mean.npy and Std.npy, which the .pt does not "
                         "contain: pass --data PATH/HumanML3D (the folder holding Mean.npy and Std.npy; KIT-ML for "
                         "KIT models) or --mean FILE --std FILE")
    arrays = []
    for label, p in (("mean", Path(mean)), ("std", Path(std))):
        if not p.is_file():
            raise FileNotFoundError(f"{p}: the dataset {label} file does not exist (MDM reads Mean.npy / Std.npy "
                                    f"from the dataset folder)")
        try:
            a = np.load(p, allow_pickle=False)
        except ValueError as err:
            raise ValueError(f"{p}: not a plain .npy array ({err})") from None
        a = np.asarray(a, dtype=np.float32).reshape(-1)
        if a.shape != (feature_dim,):
            raise ValueError(f"{p}: {label} has {a.size} values, the model has {feature_dim} features per frame "
                             f"(263 HumanML3D, 251 KIT): wrong dataset folder?")
        if not np.isfinite(a).all():
            raise ValueError(f"{p}: {label} contains NaN or infinite values")
        arrays.append(a)
    if not (arrays[1] > 0).all():
        raise ValueError(f"{std}: std must be positive everywhere")
    return arrays[0], arrays[1]


def convert_mdm(checkpoint, out, args=None, data=None, mean=None, std=None, ema: bool | None = None,
                clip_path=None, overwrite: bool = False) -> Path:
    """Convert an MDM checkpoint into a denoiser checkpoint folder.

    Args:
        checkpoint: MDM's ``model000XXXXXX.pt``.
        out: the folder to write (config.json, model.safetensors, stats.safetensors).
        args: MDM's ``args.json`` (default: beside the checkpoint).
        data / mean, std: where the dataset's Mean.npy and Std.npy are (see :func:`read_stats`).
        ema: which weights of an EMA checkpoint (see :func:`load_mdm_weights`).
        clip_path: optional local CLIP ViT-B/32 folder (transformers format) recorded in the
            checkpoint so it loads offline; otherwise ``openai/clip-vit-base-patch32`` is fetched
            by name on first use, or EASYTUNE_CLIP_PATH is read.
        overwrite: replace a non-empty ``out``.
    Returns:
        ``out`` as a Path.
    """
    from ..checkpoints import save_checkpoint

    checkpoint = Path(checkpoint)
    if not checkpoint.is_file():
        raise FileNotFoundError(f"{checkpoint}: no such MDM checkpoint file")
    args_path = Path(args) if args is not None else checkpoint.parent / "args.json"
    mdm_args = read_mdm_args(args_path)
    config = mdm_denoiser_config(mdm_args)
    if clip_path is not None:
        if not Path(clip_path).is_dir():
            raise FileNotFoundError(f"{clip_path}: no such CLIP folder (a transformers CLIPModel saved with save_pretrained)")
        config.text_encoder_path = str(Path(clip_path).resolve())
    m, s = read_stats(data, mean, std, config.feature_dim)
    out = Path(out)
    if out.exists() and any(out.iterdir()) and not overwrite:
        raise ValueError(f"{out} exists and is not empty: choose another --out or pass --overwrite")
    use_ema = ema if ema is not None else (True if mdm_args.get("use_ema") else None)
    state = mdm_to_denoiser_state(load_mdm_weights(checkpoint, use_ema), config)
    model = MotionDenoiser(config)
    model.load_state_dict(state)
    meta = {"source": "mdm", "mdm_checkpoint": checkpoint.name, "mdm_args": mdm_args,
            "command": "convert mdm", "recommended_sampler": "ddpm",
            "note": "MDM samples with DDPM over every step of its schedule at guidance "
                    f"{config.default_guidance:g}"}
    save_checkpoint(out, model, config, "denoiser", mean=m, std=s, meta=meta)
    return out
