"""MLD checkpoints (Chen et al., CVPR 2023) -> EasyTune latent checkpoint folders.

MLD's released HumanML3D model is a PyTorch Lightning file whose ``state_dict`` holds the VAE
(``vae.*``), the latent denoiser (``denoiser.*``), the frozen CLIP ViT-L/14 text model and the
T2M evaluator networks. We keep the first two, renamed to our modules' names (the architecture is
the same: see ``easytune_core.diffusion.latent``), and record MLD's sampling setup: the diffusers
DDIM scheduler with a scaled-linear schedule (β 0.00085 -> 0.012, 1,000 steps), "leading"
timestep spacing with ``steps_offset`` 1, ``set_alpha_to_one`` False, ε prediction, guidance 7.5
with the text encoder's embedding of "" as the unconditional text. Feature statistics are not in
the checkpoint: they come from the HumanML3D folder the model was trained on (Mean.npy, Std.npy).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import torch

from ..diffusion.latent import LatentDenoiser, LatentDenoiserConfig, MotionVAE, VAEConfig

_BLOCKS = [(r"\.input_blocks\.", ".down."), (r"\.middle_block\.", ".mid."), (r"\.output_blocks\.", ".up."),
           (r"\.linear_blocks\.", ".merge."), (r"\.multihead_attn\.", ".cross_attn.")]
_VAE_RENAMES = [(r"^skel_embedding\.", "in_proj."), (r"^global_motion_token$", "dist_tokens"),
                (r"^query_pos_encoder\.pe$", "enc_pos"), (r"^query_pos_decoder\.pe$", "dec_pos"),
                (r"^final_layer\.", "out_proj.")]
_DENOISER_RENAMES = [(r"^time_embedding\.", "time_mlp."), (r"^emb_proj\.", "text_proj."), (r"^query_pos\.pe$", "pos")]
_DENOISER_UNUSED = ("mem_pos.pe",)  # MLD builds it but its "trans_enc" denoiser never uses it
MLD_DEFAULTS = {"heads": 4, "dropout": 0.1, "guidance": 7.5, "text_encoder": "clip-vit-l-14"}


def _rename(key: str, rules) -> str:
    for pattern, repl in list(rules) + _BLOCKS:
        key = re.sub(pattern, repl, key)
    return key


def split_state_dict(state: dict) -> tuple[dict, dict, list[str]]:
    """(vae weights, denoiser weights, names of the other top-level parts) of an MLD state dict."""
    vae = {k[4:]: v for k, v in state.items() if k.startswith("vae.")}
    den = {k[9:]: v for k, v in state.items() if k.startswith("denoiser.")}
    others = sorted({k.split(".", 1)[0] for k in state if not k.startswith(("vae.", "denoiser."))})
    if not den:
        raise ValueError("this file has no 'denoiser.*' weights: it is not an MLD text-to-motion checkpoint")
    if not vae:
        raise ValueError("this MLD checkpoint has no 'vae.*' weights (a motion-space MLD variant); only latent "
                         "MLD models can be converted")
    if "pose_embd.weight" in den:
        raise ValueError("this MLD denoiser works on raw motion (no VAE); only latent MLD models can be converted")
    return vae, den, others


def _count(state: dict, prefix: str) -> int:
    idx = {int(m.group(1)) for k in state for m in [re.match(rf"{re.escape(prefix)}\.(\d+)\.", k)] if m}
    return len(idx)


def configs_from_state(vae: dict, den: dict, heads: int = 4, dropout: float = 0.1,
                       text_encoder: str = "clip-vit-l-14", fps: float = 20.0) -> tuple[VAEConfig, LatentDenoiserConfig]:
    """Sizes read off the weights (attention heads cannot be: MLD uses 4)."""
    try:
        tokens2, width = vae["global_motion_token"].shape
        feature_dim = vae["skel_embedding.weight"].shape[1]
        vae_layers = 2 * _count(vae, "encoder.input_blocks") + 1
        vae_ff = vae["encoder.middle_block.linear1.weight"].shape[0]
        max_pos = vae["query_pos_encoder.pe"].shape[0]
        den_layers = 2 * _count(den, "encoder.input_blocks") + 1
        den_width = den["encoder.norm.weight"].shape[0]
        den_ff = den["encoder.middle_block.linear1.weight"].shape[0]
        time_dim = den["time_embedding.linear_1.weight"].shape[1]
        text_dim = den["emb_proj.1.weight"].shape[1] if "emb_proj.1.weight" in den else den_width
        den_pos = den["query_pos.pe"].shape[0]
    except KeyError as err:
        raise ValueError(f"unexpected MLD checkpoint layout: weight {err} is missing") from None
    if "dist_layer.weight" in vae:
        raise ValueError("MLD VAEs with an MLP distribution head (MLP_DIST) are not supported")
    if "decoder.middle_block.multihead_attn.in_proj_weight" not in vae:
        raise ValueError("only MLD's 'encoder_decoder' VAE architecture is supported")
    latent_tokens = tokens2 // 2
    vcfg = VAEConfig(feature_dim=feature_dim, latent_tokens=latent_tokens, width=width, layers=vae_layers, heads=heads,
                     ff=vae_ff, dropout=dropout, max_positions=max_pos, max_frames=min(196, max_pos - 2 * latent_tokens),
                     fps=fps)
    dcfg = LatentDenoiserConfig(latent_tokens=latent_tokens, latent_dim=width, text_dim=text_dim, width=den_width,
                                time_dim=time_dim, layers=den_layers, heads=heads, ff=den_ff, dropout=dropout,
                                max_positions=den_pos, prediction="eps", schedule="scaled_linear",
                                timestep_spacing="leading", steps_offset=1, set_alpha_to_one=False,
                                default_guidance=MLD_DEFAULTS["guidance"], text_encoder=text_encoder, fps=fps,
                                max_frames=vcfg.max_frames)
    return vcfg, dcfg


def convert_state_dicts(vae: dict, den: dict) -> tuple[dict, dict]:
    """MLD names -> ours (positions (N, 1, W) -> (N, W)); unknown names raise ValueError."""
    out_v = {}
    for k, v in vae.items():
        nk = _rename(k, _VAE_RENAMES)
        out_v[nk] = v.reshape(v.shape[0], -1) if nk in ("enc_pos", "dec_pos") else v
    out_d = {}
    for k, v in den.items():
        if k in _DENOISER_UNUSED:
            continue
        nk = _rename(k, _DENOISER_RENAMES)
        out_d[nk] = v.reshape(v.shape[0], -1) if nk == "pos" else v
    return out_v, out_d


def build_models(state: dict, null_text: torch.Tensor | None = None, heads: int = 4,
                 text_encoder: str = "clip-vit-l-14") -> tuple[MotionVAE, LatentDenoiser]:
    """Our VAE and denoiser holding an MLD state dict's weights (float32, eval mode).

    ``null_text`` (text_dim,) or (1, text_dim): the text encoder's embedding of "" (MLD's
    unconditional text); zeros when None.
    """
    vae_sd, den_sd, _ = split_state_dict(state)
    vcfg, dcfg = configs_from_state(vae_sd, den_sd, heads=heads, text_encoder=text_encoder)
    v, d = convert_state_dicts(vae_sd, den_sd)
    vae, den = MotionVAE(vcfg), LatentDenoiser(dcfg)
    d["null_text"] = (torch.zeros(1, dcfg.text_dim) if null_text is None
                      else torch.as_tensor(null_text, dtype=torch.float32).reshape(1, dcfg.text_dim))
    for model, sd, what in ((vae, v, "VAE"), (den, d, "denoiser")):
        own = model.state_dict()
        missing, extra = sorted(set(own) - set(sd)), sorted(set(sd) - set(own))
        if missing or extra:
            raise ValueError(f"MLD {what} weights do not match (missing {missing[:4]}, unexpected {extra[:4]})")
        bad = [k for k in own if tuple(own[k].shape) != tuple(sd[k].shape)]
        if bad:
            raise ValueError(f"MLD {what} weight {bad[0]} has shape {tuple(sd[bad[0]].shape)}, expected "
                             f"{tuple(own[bad[0]].shape)}")
        model.load_state_dict({k: t.float() for k, t in sd.items()})
        model.eval()
    return vae, den


def convert_mld(checkpoint, out, stats, text_encoder=None, text_encoder_path=None, heads: int = 4,
                dtype: torch.dtype | None = None) -> Path:
    """Convert an MLD checkpoint file into a latent checkpoint folder.

    Args:
        checkpoint: MLD's ``.ckpt`` (Lightning) file; read with the restricted loader.
        out: destination folder (loadable by ``MotionPipeline.from_checkpoint``).
        stats: HumanML3D folder with Mean.npy / Std.npy, or a (mean, std) pair of arrays.
        text_encoder: an encoder object (``encode``, ``dim``, ``name``) to embed "" with; None loads
            ``clip-vit-l-14`` by name (or from ``text_encoder_path``).
        text_encoder_path: local folder of CLIP ViT-L/14 (recorded so the pipeline loads it offline).
        dtype: storage dtype (e.g. torch.float16); None keeps float32.
    """
    from ..diffusion.latent.io import save_latent_model
    from .safe_load import load_state_dict

    state = load_state_dict(checkpoint)
    if isinstance(stats, (str, Path)):
        from ..data.dataset import load_stats
        mean, std = load_stats(stats)
    else:
        mean, std = stats
    mean, std = np.asarray(mean, np.float32), np.asarray(std, np.float32)
    if text_encoder is None:  # TextEncoderUnavailable says how to provide it when it is missing
        from ..text import get_text_encoder
        text_encoder = get_text_encoder("clip-vit-l-14", device="cpu", path=text_encoder_path)
    null = text_encoder.encode([""])[0]
    vae, den = build_models(state, null_text=null, heads=heads, text_encoder="clip-vit-l-14")
    if text_encoder_path:
        den.config.text_encoder_path = str(Path(text_encoder_path).resolve())
    if text_encoder.dim != den.config.text_dim:
        raise ValueError(f"text encoder gives {text_encoder.dim}-d embeddings, the MLD denoiser expects "
                         f"{den.config.text_dim}")
    if mean.shape != (vae.config.feature_dim,) or std.shape != (vae.config.feature_dim,):
        raise ValueError(f"stats have {mean.size} mean and {std.size} std values, the MLD VAE expects "
                         f"{vae.config.feature_dim} of each")
    if not (np.isfinite(mean).all() and np.isfinite(std).all() and (std > 0).all()):
        raise ValueError("the feature statistics must be finite, with every std above 0 (check --mean/--std or --data)")
    _, _, others = split_state_dict(state)
    meta = {"source": "MLD (Chen et al., CVPR 2023) checkpoint", "checkpoint": str(checkpoint),
            "ignored_parts": others, "converted_by": "python -m easytune_core convert mld"}
    return save_latent_model(out, den, den.config, vae, mean, std, meta, dtype=dtype)
