"""Parity with the published MLD modules (random weights of MLD's HumanML3D configuration).

The fixture (tests/data/mld/, see tests/data/README.md) holds the weight names and shapes of MLD's
VAE and denoiser, inputs, and the outputs the published code gave. The weights themselves are not
stored: both the fixture script and this test generate them from the same counter-based hash.
"""

import json
from pathlib import Path

import pytest
import torch

from easytune_core.diffusion import DDIMSampler, NoiseSchedule
from easytune_core.interop.mld import build_models, convert_state_dicts, split_state_dict

DATA = Path(__file__).parent / "data" / "mld"


def det_uniform(n: int, seed: int) -> torch.Tensor:
    i = torch.arange(n, dtype=torch.float64)
    v = torch.sin(i * 12.9898 + seed * 78.233) * 43758.5453
    return (v - torch.floor(v)) * 2.0 - 1.0


def det_tensor(name: str, shape, seed: int) -> torch.Tensor:
    n = 1
    for s in shape:
        n *= s
    u = det_uniform(n, seed).reshape(shape)
    last = name.rsplit(".", 1)[-1]
    if "norm" in name and last == "weight":
        v = 1.0 + 0.1 * u
    elif last == "bias" or last.endswith("_bias"):
        v = 0.05 * u
    elif last in ("pe", "global_motion_token"):
        v = 0.5 * u
    else:
        v = u * (3.0 / shape[-1]) ** 0.5
    return v.float()


@pytest.fixture(scope="module")
def mld():
    from safetensors.torch import load_file
    manifest = json.loads((DATA / "mld_manifest.json").read_text())["keys"]
    state = {k: det_tensor(k, s, 1 + i) for i, (k, s) in enumerate(manifest)}
    fx = load_file(str(DATA / "mld_parity.safetensors"))
    vae, den = build_models(state, null_text=fx["ddim_null"])
    return state, vae, den, fx


def test_published_config_is_read_off_the_weights(mld):
    _, vae, den, _ = mld
    assert (vae.config.latent_tokens, vae.config.width, vae.config.layers, vae.config.ff) == (1, 256, 9, 1024)
    c = den.config
    assert (c.text_dim, c.time_dim, c.layers, c.width, c.prediction) == (768, 768, 9, 256, "eps")
    assert (c.timestep_spacing, c.steps_offset, c.set_alpha_to_one, c.default_guidance) == ("leading", 1, False, 7.5)


def test_vae_encode_decode_match_mld(mld):
    _, vae, _, fx = mld
    lengths = fx["vae_lengths"].tolist()
    mask = torch.arange(64)[None] < torch.tensor(lengths)[:, None]
    with torch.no_grad():
        mu, logvar = vae.encode(fx["vae_features"], mask)
        decoded = vae.decode(mu, mask)
    assert (mu - fx["vae_mu"]).abs().max() < 1e-5
    assert ((0.5 * logvar).exp() - fx["vae_std"]).abs().max() < 1e-5
    assert (decoded - fx["vae_decoded"]).abs().max() < 1e-5


def test_denoiser_call_matches_mld(mld):
    _, _, den, fx = mld
    with torch.no_grad():
        out = den(fx["den_sample"], fx["den_timestep"], fx["den_text"])
    assert (out - fx["den_out"]).abs().max() < 1e-5


def test_ddim_trajectory_matches_mld(mld):
    """MLD's 50-step diffusers DDIM with guidance 7.5 from the same latent noise."""
    _, vae, den, fx = mld
    c = den.config
    sampler = DDIMSampler(NoiseSchedule(c.schedule, c.diffusion_steps), 50, spacing=c.timestep_spacing,
                          steps_offset=c.steps_offset, final_alpha_one=c.set_alpha_to_one)
    assert sampler.timesteps.tolist() == fx["ddim_timesteps"].tolist()
    mask = torch.ones(2, 1, dtype=torch.bool)
    with torch.no_grad():
        z = sampler.sample(den, fx["ddim_text"], mask, guidance=7.5, init_noise=fx["ddim_init"])
        decoded = vae.decode(z, torch.arange(64)[None] < torch.tensor([64, 40])[:, None])
    ref = fx["ddim_final"]
    # random weights make large latents (|z| up to ~110): the tolerance is relative to their scale
    assert (z - ref).abs().max() / ref.abs().max() < 1e-4
    assert (decoded - fx["ddim_decoded"]).abs().max() < 1e-4


def test_conversion_renames_every_weight_and_drops_only_the_unused_one(mld):
    state = mld[0]
    vae_sd, den_sd, others = split_state_dict(state)
    v, d = convert_state_dicts(vae_sd, den_sd)
    assert others == [] and len(v) == len(vae_sd) and len(d) == len(den_sd) - 1
    assert "mem_pos.pe" in den_sd and "pos" in d and d["pos"].shape == (500, 256)
    assert not any(k.startswith(("skel_", "query_", "global_")) or "blocks" in k for k in [*v, *d])
