"""Random MDM checkpoints saved exactly as MDM saves them (``torch.save`` of a state dict without CLIP
weights, ``args.json`` beside it), for the converter's tests. Names and shapes follow MDM's
``trans_enc`` model; tests/test_interop_mdm.py checks them against the published parameter list."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

TINY_CLIP = Path(__file__).resolve().parent / "data" / "tiny_clip"


def mdm_shapes(feature_dim: int, latent: int, layers: int, ff: int = 1024, clip_dim: int = 512) -> dict:
    """MDM parameter name -> shape (its sinusoid buffers excluded)."""
    L, D = latent, feature_dim
    s = {"input_process.poseEmbedding.weight": (L, D), "input_process.poseEmbedding.bias": (L,),
         "embed_timestep.time_embed.0.weight": (L, L), "embed_timestep.time_embed.0.bias": (L,),
         "embed_timestep.time_embed.2.weight": (L, L), "embed_timestep.time_embed.2.bias": (L,),
         "embed_text.weight": (L, clip_dim), "embed_text.bias": (L,),
         "output_process.poseFinal.weight": (D, L), "output_process.poseFinal.bias": (D,)}
    for i in range(layers):
        p = f"seqTransEncoder.layers.{i}."
        s.update({p + "self_attn.in_proj_weight": (3 * L, L), p + "self_attn.in_proj_bias": (3 * L,),
                  p + "self_attn.out_proj.weight": (L, L), p + "self_attn.out_proj.bias": (L,),
                  p + "linear1.weight": (ff, L), p + "linear1.bias": (ff,), p + "linear2.weight": (L, ff),
                  p + "linear2.bias": (L,), p + "norm1.weight": (L,), p + "norm1.bias": (L,),
                  p + "norm2.weight": (L,), p + "norm2.bias": (L,)})
    return s


def mdm_state_dict(feature_dim=263, latent=32, layers=2, seed=0, pe_len=5000) -> dict:
    g = torch.Generator().manual_seed(seed)
    sd = {k: torch.randn(shape, generator=g) * 0.1 for k, shape in mdm_shapes(feature_dim, latent, layers).items()}
    pe = torch.zeros(pe_len, 1, latent)  # MDM saves its sinusoid table twice; nobody loads it
    sd["sequence_pos_encoder.pe"] = pe
    sd["embed_timestep.sequence_pos_encoder.pe"] = pe
    return sd


def write_mdm_run(folder, dataset="humanml", latent=32, layers=2, diffusion_steps=50, mask_frames=True,
                  ema=False, seed=0, extra_args=None) -> Path:
    """``folder/model000000100.pt`` + ``folder/args.json`` (+ ``folder/data/{Mean,Std}.npy``); returns the .pt."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    D = 263 if dataset == "humanml" else 251
    sd = mdm_state_dict(D, latent, layers, seed)
    obj = {"model": sd, "model_avg": {k: v + 0.01 for k, v in sd.items()}} if ema else sd
    pt = folder / "model000000100.pt"
    torch.save(obj, pt)
    args = {"dataset": dataset, "arch": "trans_enc", "latent_dim": latent, "layers": layers, "cond_mask_prob": 0.1,
            "diffusion_steps": diffusion_steps, "noise_schedule": "cosine", "sigma_small": True,
            "emb_trans_dec": False, "lambda_fc": 0.0, "lambda_rcxyz": 0.0, "lambda_vel": 0.0, "batch_size": 64,
            "save_dir": str(folder), "unconstrained": False, "use_ema": ema}
    if mask_frames is not None:
        args["mask_frames"] = mask_frames
    args.update(extra_args or {})
    (folder / "args.json").write_text(json.dumps(args, indent=4))
    data = folder / "data"
    data.mkdir(exist_ok=True)
    mean = np.zeros(D, np.float32)
    mean[3] = 0.9
    np.save(data / "Mean.npy", mean)
    np.save(data / "Std.npy", np.full(D, 0.05, np.float32))
    return pt
