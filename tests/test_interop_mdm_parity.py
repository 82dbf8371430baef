"""Parity with the published MDM code (commit d4fd88c) on random weights of its architecture.

Fixtures (tests/data/mdm_parity_{full,small}.npz, see tests/data/README.md) hold MDM's parameter
names and shapes, the inputs and MDM's outputs; the weights themselves are rebuilt here from the
same seeded recipe the fixture script used, in MDM's naming, and converted by interop.mdm.
"full" is MDM's HumanML3D configuration (512-d, 8 layers, 4 heads, ff 1024, 1,000 cosine steps,
no frame masking); "small" is a KIT (251-d) model of width 64, 2 layers, 50 steps, frame masking.
"""

import json
import math
import re
from pathlib import Path

import numpy as np
import pytest
import torch

from easytune_core.diffusion import DDIMSampler, DDPMSampler, MotionDenoiser, NoiseSchedule
from easytune_core.diffusion.sampler import spaced_timesteps
from easytune_core.interop.mdm import mdm_denoiser_config, mdm_to_denoiser_state, read_mdm_args

DATA = Path(__file__).resolve().parent / "data"


def fill(named_shapes, seed):
    """The fixture script's weight recipe (MDM names, sorted; one seeded generator per tensor)."""
    out = {}
    for k, (name, shape) in enumerate(sorted(named_shapes)):
        g = torch.Generator().manual_seed(seed * 100000 + k)
        u = torch.rand(tuple(shape), generator=g) * 2 - 1
        if re.search(r"norm\d*\.weight$", name):
            v = 1 + 0.1 * u
        elif len(shape) >= 2:
            v = u / math.sqrt(shape[-1])
        else:
            v = 0.1 * u
        out[name] = v
    return out


def mdm_state_dict(fx) -> dict:
    """What MDM saves: every parameter plus its two sinusoid buffers (their values are never loaded)."""
    args = json.loads(str(fx["args"]))
    sd = fill(json.loads(str(fx["mdm_params"])), args["weight_seed"])
    for name, shape in json.loads(str(fx["mdm_buffers"])):
        sd[name] = torch.zeros(shape)
    return sd


def load(name, tmp_path):
    fx = np.load(DATA / f"mdm_parity_{name}.npz")
    args = json.loads(str(fx["args"]))
    (tmp_path / "args.json").write_text(json.dumps(args))
    config = mdm_denoiser_config(read_mdm_args(tmp_path / "args.json"))
    model = MotionDenoiser(config)
    model.load_state_dict(mdm_to_denoiser_state(mdm_state_dict(fx), config))
    return fx, {k: torch.from_numpy(np.asarray(fx[k])) for k in fx.files if fx[k].dtype != object and fx[k].dtype.kind != "U"}, model.eval()


def valid(a, lengths):
    """Frames inside each motion's length (MDM leaves padded frames unmasked; they are not compared)."""
    return torch.cat([a[b, :n] for b, n in enumerate(lengths.tolist())])


def max_diff(a, b, lengths):
    return float((valid(a, lengths) - valid(b, lengths)).abs().max())


@pytest.mark.parametrize("name", ["full", "small"])
def test_one_denoiser_call_matches_mdm_cond_and_uncond(name, tmp_path):
    fx, f, model = load(name, tmp_path)
    mask = torch.arange(f["x"].shape[1])[None] < f["lengths"][:, None]
    with torch.no_grad():
        cond = model(f["x"], f["t"], f["text_emb"], mask)
        unc = model(f["x"], f["t"], f["text_emb"], mask, uncond=True)
    assert max_diff(cond, f["out_cond"], f["lengths"]) < 1e-5
    assert max_diff(unc, f["out_uncond"], f["lengths"]) < 1e-5
    assert max_diff(cond, unc, f["lengths"]) > 1e-2  # the text matters, so the check above is not vacuous


@pytest.mark.parametrize("name", ["full", "small"])
def test_one_ddpm_posterior_step_matches_mdm(name, tmp_path):
    fx, f, model = load(name, tmp_path)
    cfg = model.config
    ddpm = DDPMSampler(NoiseSchedule(cfg.schedule, cfg.diffusion_steps))
    i = int((ddpm.timesteps == int(f["post_t"])).nonzero())
    mask = torch.arange(f["x"].shape[1])[None] < f["lengths"][:, None]
    with torch.no_grad():
        x0 = ddpm.predict_x0(model, f["x"], i, f["text_emb"], mask, guidance=2.5)
    mean, log_var = ddpm.posterior(f["x"], x0, i)
    assert max_diff(x0, f["post_x0"], f["lengths"]) < 1e-4
    assert max_diff(mean, f["post_mean"], f["lengths"]) < 1e-4
    assert float((log_var.exp().squeeze() - f["post_variance"][:, 0, 0]).abs().max()) < 1e-8
    assert float((log_var.squeeze() - f["post_log_variance"][:, 0, 0]).abs().max()) < 1e-5


@pytest.mark.parametrize("name", [pytest.param("full", marks=pytest.mark.slow), "small"])
def test_ddim_trajectory_from_the_same_noise_matches_mdm(name, tmp_path):
    fx, f, model = load(name, tmp_path)
    cfg = model.config
    steps = len(f["ddim_timesteps"])
    sampler = DDIMSampler(NoiseSchedule(cfg.schedule, cfg.diffusion_steps), steps, spacing="even")
    assert torch.equal(sampler.timesteps, f["ddim_timesteps"])
    mask = torch.arange(f["x"].shape[1])[None] < f["lengths"][:, None]
    x0 = sampler.sample(model, f["text_emb"], mask, guidance=2.5, init_noise=f["ddim_noise"])
    assert max_diff(x0, f["ddim_x0"], f["lengths"]) < 1e-4


def test_ddpm_trajectory_with_the_same_noises_matches_mdm(tmp_path):
    fx, f, model = load("small", tmp_path)
    cfg = model.config
    ddpm = DDPMSampler(NoiseSchedule(cfg.schedule, cfg.diffusion_steps))
    mask = torch.arange(f["x"].shape[1])[None] < f["lengths"][:, None]
    x = f["ddim_noise"] * mask[..., None]
    with torch.no_grad():
        for i in range(ddpm.steps):
            x0 = ddpm.predict_x0(model, x, i, f["text_emb"], mask, guidance=2.5)
            z = torch.randn(x.shape, generator=torch.Generator().manual_seed(7000 + i))
            x = ddpm.step(x, x0, i, noise=z) * mask[..., None]
    assert max_diff(x, f["ddpm_x0"], f["lengths"]) < 1e-4


def test_spacings_match_mdm_respacing():
    for case in json.loads((DATA / "mdm_spacing.json").read_text()):
        kind = "even" if "even" in case else "strided"
        ours = spaced_timesteps(case["T"], case["S"], kind)
        assert ours.tolist() == sorted(case[kind], reverse=True), case


def test_respaced_schedule_keeps_the_kept_alphas():
    s = NoiseSchedule("cosine", 1000)
    ts = spaced_timesteps(1000, 10, "even")
    r = s.respace(ts)
    assert r.num_steps == 10 and r.timestep_map.tolist() == sorted(ts.tolist())
    assert torch.allclose(r.alphas_cumprod, s.alphas_cumprod[sorted(ts.tolist())], rtol=1e-12)
    assert s.respace(torch.arange(1000)) is s
