"""EasyTune and every baseline on latent models (the reward sees the VAE-decoded motion) and on
few-step (consistency) students with 1-4 step trajectories."""

import numpy as np
import pytest
import torch

from easytune_core.diffusion import ConsistencySampler, DDIMSampler, NoiseSchedule
from easytune_core.diffusion.latent import LatentDenoiser, LatentDenoiserConfig, MotionVAE, VAEConfig
from easytune_core.finetune.config import FinetuneConfig
from easytune_core.finetune.loop import run_trajectory
from easytune_core.finetune.strategies import EasyTuneStep
from easytune_core.finetune.trainer import FinetuneTrainer
from test_finetune_helpers import D, FRAMES, TEXT, ToyEncoder, context, prompts, reward_fn, tiny_reward

L, C = 2, 8
SCALE = 1.7


def tiny_vae(seed: int = 5) -> MotionVAE:
    torch.manual_seed(seed)
    vae = MotionVAE(VAEConfig(feature_dim=D, latent_tokens=L, width=C, layers=1, heads=2, ff=16, dropout=0.0,
                              max_frames=16, max_positions=24))
    return vae.eval().requires_grad_(False)


def tiny_latent(seed: int = 0, few_step: bool = False) -> LatentDenoiser:
    torch.manual_seed(seed)
    extra = dict(sampler="consistency", guidance_embed=True, guidance_range=[1.0, 3.0], original_steps=10,
                 default_steps=4) if few_step else {}
    cfg = LatentDenoiserConfig(latent_tokens=L, latent_dim=C, text_dim=TEXT, width=16, layers=1, heads=2, ff=32,
                               dropout=0.0, diffusion_steps=100, latent_scale=SCALE, max_frames=16, **extra)
    model = LatentDenoiser(cfg).eval()
    if few_step:  # a distilled student's w-embedding is not zero
        torch.nn.init.normal_(model.guidance_mlp.linear_2.weight, std=0.1)
    return model


def latent_sampler(model, steps):
    schedule = NoiseSchedule("scaled_linear", 100)
    if model.config.sampler == "consistency":
        return ConsistencySampler(schedule, steps, original_steps=10)
    return DDIMSampler(schedule, steps)


def decoder(vae):
    return lambda z, frame_mask: vae.decode(z / SCALE, frame_mask)


def trainer(cfg, model, vae, **kw):
    model.requires_grad_(True)
    return FinetuneTrainer(cfg, model, latent_sampler(model, cfg.sampler_steps), ToyEncoder().encode,
                           reward_fn(tiny_reward()), prompts, D, latent=(L, C, decoder(vae)), **kw)


def config(**kw):
    base = dict(sampler_steps=6, select="last:3", k=3, m=2, lr=1e-3, warmup=0, batch_size=3, frames=FRAMES,
                max_frames=FRAMES, max_steps=2, precision="fp32", guidance=2.0)
    base.update(kw)
    return FinetuneConfig(**base)


@pytest.mark.parametrize("few_step", [False, True])
def test_reward_gradient_reaches_the_latent_denoiser_through_the_frozen_decoder(few_step):
    model, vae = tiny_latent(few_step=few_step).requires_grad_(True), tiny_vae()
    text = ToyEncoder().encode(["a person walks", "a person jumps"])
    frame_mask = torch.ones(2, FRAMES, dtype=torch.bool)
    frame_mask[1, 5:] = False
    ctx = context(model, tiny_reward(), latent_sampler(model, 4), text, torch.ones(2, L, dtype=torch.bool),
                  update=None, decode=decoder(vae), frame_mask=frame_mask)
    x_T = torch.randn(2, L, C, generator=torch.Generator().manual_seed(0))
    x0 = ctx.predict(1, x_T)
    r = ctx.score(x0)
    assert r.shape == (2,)
    r.mean().backward()
    grads = [p.grad for p in model.parameters() if p.requires_grad]
    assert sum(float(g.abs().sum()) for g in grads if g is not None) > 0
    assert model.time_mlp.linear_1.weight.grad.abs().sum() > 0 and model.text_proj[1].weight.grad.abs().sum() > 0
    assert all(p.grad is None and not p.requires_grad for p in vae.parameters())


def test_the_reward_sees_decoded_frames_with_the_frame_mask():
    vae = tiny_vae()
    seen = {}

    def spy(features, mask, text, t=None):
        seen.update(shape=tuple(features.shape), mask=mask.clone())
        return features.sum(dim=(1, 2))

    model = tiny_latent()
    frame_mask = torch.ones(1, FRAMES, dtype=torch.bool)
    frame_mask[0, 6:] = False
    from easytune_core.finetune.loop import LoopContext
    ctx = LoopContext(model=model, sampler=latent_sampler(model, 4), text_emb=ToyEncoder().encode(["x"]),
                      mask=torch.ones(1, L, dtype=torch.bool), reward=spy, update=None, decode=decoder(vae),
                      frame_mask=frame_mask)
    z = torch.randn(1, L, C)
    r = ctx.score(z)
    assert seen["shape"] == (1, FRAMES, D) and torch.equal(seen["mask"], frame_mask)
    torch.testing.assert_close(r, vae.decode(z / SCALE, frame_mask).sum(dim=(1, 2)))
    with pytest.raises(ValueError, match="reward_target 'x0' with latent models"):
        ctx.score(z, i_next=1)


METHODS = [dict(method="easytune"), dict(method="easytune-chain"), dict(method="draft", k=3),
           dict(method="draft-lv"), dict(method="refl", m=2), dict(method="alignprop", k=0),
           dict(method="drtune", k=2, m=2)]


@pytest.mark.parametrize("few_step", [False, True], ids=["latent", "few-step"])
@pytest.mark.parametrize("method", METHODS, ids=[m["method"] for m in METHODS])
def test_every_method_updates_the_denoiser_and_leaves_the_vae(method, few_step):
    model, vae = tiny_latent(few_step=few_step), tiny_vae()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    vae_before = {k: v.clone() for k, v in vae.state_dict().items()}
    steps = 4 if few_step else 6
    kw = dict(method)
    if few_step and kw["method"].startswith("easytune"):
        kw["select"] = "all"
    result = trainer(config(sampler_steps=steps, **kw), model, vae).train()
    assert result.status == "finished" and result.steps == 2, result.message
    assert all(np.isfinite(e["reward"]) for e in result.history)
    changed = [k for k, v in model.state_dict().items() if not torch.equal(v, before[k])]
    assert changed, "no weight of the latent denoiser moved"
    assert all(torch.equal(v, vae_before[k]) for k, v in vae.state_dict().items())


@pytest.mark.parametrize("steps", [1, 2, 4])
def test_easytune_on_a_few_step_model_takes_one_update_per_selected_step(steps):
    model, vae = tiny_latent(few_step=True), tiny_vae()
    updates = []
    text = ToyEncoder().encode(["a", "b"])
    ctx = context(model.requires_grad_(True), tiny_reward(), latent_sampler(model, steps), text,
                  torch.ones(2, L, dtype=torch.bool), update=lambda loss, r: updates.append(float(loss.detach())),
                  decode=decoder(vae), frame_mask=torch.ones(2, FRAMES, dtype=torch.bool))
    out = run_trajectory(ctx, EasyTuneStep(select="all"), torch.randn(2, L, C))
    assert len(updates) == steps and out.shape == (2, L, C) and torch.isfinite(out).all()


def test_few_step_trajectories_are_reproducible_from_the_generator():
    model, vae = tiny_latent(few_step=True), tiny_vae()
    outs = []
    for _ in range(2):
        ctx = context(model, tiny_reward(), latent_sampler(model, 4), ToyEncoder().encode(["a"]),
                      torch.ones(1, L, dtype=torch.bool), update=lambda loss, r: None, decode=decoder(vae),
                      frame_mask=torch.ones(1, FRAMES, dtype=torch.bool), generator=torch.Generator().manual_seed(3))
        with torch.no_grad():
            outs.append(run_trajectory(ctx, EasyTuneStep(select="all"), torch.ones(1, L, C)))
    torch.testing.assert_close(outs[0], outs[1])


@pytest.mark.slow
def test_build_trainer_fine_tunes_a_latent_checkpoint_into_a_complete_folder(tmp_path):
    """The whole path on folders: latent checkpoint + reward -> run -> checkpoint/ with vae/ -> pipeline."""
    from tests.support.standins import build_tiny_assets, build_tiny_latent
    from easytune_core.checkpoints import load_checkpoint
    from easytune_core.finetune import ListPrompts, build_trainer
    from easytune_core.pipeline import MotionPipeline

    assets = build_tiny_assets(tmp_path / "assets")
    for few_step in (False, True):
        base = build_tiny_latent(tmp_path / f"base{few_step}", few_step=few_step)
        cfg = FinetuneConfig(method="easytune", sampler_steps=4 if few_step else 6, select="all" if few_step else "last:2",
                             batch_size=2, frames=20, max_frames=20, max_steps=2, lr=1e-3, warmup=0, precision="fp32")
        tr = build_trainer(cfg, base, assets / "checkpoints" / "reward", ListPrompts(["a person walks", "a person jumps"]),
                           run_dir=tmp_path / f"run{few_step}", device="cpu")
        result = tr.train()
        assert result.status == "finished" and result.steps == 2
        assert (result.checkpoint / "vae" / "model.safetensors").exists()
        assert load_checkpoint(result.checkpoint).config["sampler"] == ("consistency" if few_step else "ddim")
        pipe = MotionPipeline.from_checkpoint(result.checkpoint, device="cpu")
        assert pipe.generate(["a person waves"], seconds=1.5, steps=2).joints.shape == (1, 30, 22, 3)
    with pytest.raises(ValueError, match="reward_target 'x0' with latent models"):
        build_trainer(FinetuneConfig(reward_target="noisy", sampler_steps=6, select="last:2"), tmp_path / "baseFalse",
                      assets / "checkpoints" / "reward", ListPrompts(["a"]), device="cpu")
    with pytest.raises(ValueError, match="distilled for guidance 1-4"):
        build_trainer(FinetuneConfig(guidance=6.0, sampler_steps=4, select="all"), tmp_path / "baseTrue",
                      assets / "checkpoints" / "reward", ListPrompts(["a"]), device="cpu")
