"""Denoiser and DDIM/DDPM sampler behaviour with a tiny random model."""

import pytest
import torch

from easytune_core.diffusion import DDIMSampler, DDPMSampler, DenoiserConfig, MotionDenoiser, NoiseSchedule

D = 263


def tiny(prediction="x0", seed=0):
    torch.manual_seed(seed)
    cfg = DenoiserConfig(width=32, layers=1, heads=2, ff=64, dropout=0.0, prediction=prediction, max_frames=40)
    return MotionDenoiser(cfg).eval()


def inputs(B=2, T=24, seed=1):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(B, T, D, generator=g)
    emb = torch.nn.functional.normalize(torch.randn(B, 384, generator=g), dim=-1)
    mask = torch.ones(B, T, dtype=torch.bool)
    mask[1, 16:] = False
    return x, emb, mask


def test_timesteps_descending_and_cover_all_steps():
    s = NoiseSchedule("cosine", 1000)
    d50 = DDIMSampler(s, 50)
    assert d50.timesteps[0].item() == 999 and len(d50.timesteps) == 50
    assert torch.all(d50.timesteps[1:] < d50.timesteps[:-1])
    assert torch.equal(DDIMSampler(s, 1000).timesteps, torch.arange(999, -1, -1))
    for steps in (1, 10, 100):
        assert len(DDIMSampler(s, steps).timesteps.unique()) == steps
    with pytest.raises(ValueError, match="steps must be at least 1"):
        DDIMSampler(s, 0)
    with pytest.raises(ValueError, match="at most 1000"):
        DDIMSampler(s, 1001)


def test_ddim_eta1_over_all_steps_matches_ddpm_update():
    s = NoiseSchedule("cosine", 1000)
    ddim, ddpm = DDIMSampler(s, 1000, eta=1.0), DDPMSampler(s)
    g = torch.Generator().manual_seed(0)
    x0, xt, z = (torch.randn(2, 8, 5, generator=g, dtype=torch.float64) for _ in range(3))
    for i in (0, 1, 500, 990, 998, 999):
        a = ddim.step(xt, x0, i, noise=z)
        b = ddpm.step(xt, x0, i, noise=z)
        assert torch.allclose(a, b, atol=1e-9, rtol=1e-7), i
    assert torch.allclose(ddim.step(xt, x0, 999, noise=z), x0)  # the last step returns x0


def test_guidance_one_is_conditional_and_zero_is_unconditional():
    m, s = tiny(), NoiseSchedule()
    x, emb, mask = inputs()
    d = DDIMSampler(s, 10)
    t = d.timesteps[3].expand(2)
    with torch.no_grad():
        cond = m(x, t, emb, mask)
        unc = m(x, t, emb, mask, uncond=True)
        assert torch.allclose(d.predict_x0(m, x, 3, emb, mask, guidance=1.0), cond, atol=1e-6)
        assert torch.allclose(d.predict_x0(m, x, 3, emb, mask, guidance=0.0), unc, atol=1e-5)
        g = d.predict_x0(m, x, 3, emb, mask, guidance=2.5)
        assert torch.allclose(g, unc + 2.5 * (cond - unc), atol=1e-5)
    assert not torch.allclose(cond, unc)  # the text matters
    assert g[1, 16:].abs().max() == 0  # padded frames are zero


def test_padding_does_not_change_valid_frames():
    m, s = tiny(), NoiseSchedule()
    x, emb, mask = inputs()
    t = torch.tensor([500, 500])
    with torch.no_grad():
        full = m(x[1:, :16], t[1:], emb[1:], mask[1:, :16])
        padded = m(x[1:], t[1:], emb[1:], mask[1:])
    assert torch.allclose(full, padded[:, :16], atol=1e-5)


def test_seed_determinism_and_hook():
    m, s = tiny(), NoiseSchedule()
    _, emb, mask = inputs()
    d = DDIMSampler(s, 8)
    calls = []
    a = d.sample(m, emb, mask, generator=torch.Generator().manual_seed(3),
                 on_step=lambda i, t, xt, x0: calls.append((i, t, xt.shape, x0.requires_grad)))
    b = d.sample(m, emb, mask, generator=torch.Generator().manual_seed(3))
    c = d.sample(m, emb, mask, generator=torch.Generator().manual_seed(4))
    assert torch.equal(a, b) and not torch.allclose(a, c)
    assert [c_[0] for c_ in calls] == list(range(8)) and calls[0][1] == 999
    assert calls[0][2] == (2, 24, D) and not calls[0][3]
    assert a[1, 16:].abs().max() == 0
    # explicit init noise gives the same motion as the generator that drew it
    noise = torch.randn((2, 24, D), generator=torch.Generator().manual_seed(3))
    assert torch.equal(d.sample(m, emb, mask, init_noise=noise), a)
    # stochastic DDIM is reproducible by seed too
    de = DDIMSampler(s, 8, eta=1.0)
    e1 = de.sample(m, emb, mask, generator=torch.Generator().manual_seed(5))
    e2 = de.sample(m, emb, mask, generator=torch.Generator().manual_seed(5))
    assert torch.equal(e1, e2)


def test_primitives_are_differentiable():
    m, s = tiny("eps"), NoiseSchedule("scaled_linear")
    x, emb, mask = inputs()
    x.requires_grad_(True)
    d = DDIMSampler(s, 5)
    x0 = d.predict_x0(m, x, 2, emb, mask, guidance=2.5)
    x_prev = d.step(x, x0, 2)
    (x_prev.square().mean() + x0.square().mean()).backward()
    assert x.grad is not None and torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0
    assert all(p.grad is not None for p in m.output_proj.parameters())


def test_bad_shapes_and_config():
    m, s = tiny(), NoiseSchedule()
    _, emb, mask = inputs()
    with pytest.raises(ValueError, match="init_noise must have shape"):
        DDIMSampler(s, 4).sample(m, emb, mask, init_noise=torch.zeros(2, 23, D))
    with pytest.raises(ValueError, match="longer than the model's max_frames"):
        m(torch.zeros(1, 41, D), torch.tensor([0]), emb[:1])
    with pytest.raises(ValueError, match="divisible"):
        DenoiserConfig(width=30, heads=4)
    with pytest.raises(ValueError, match="prediction"):
        DenoiserConfig(prediction="v")


@pytest.mark.parametrize("norm_first", [True, False])
def test_padded_inference_path_matches_the_encoder(norm_first):
    """Inference batches, padded or not, go through scaled_dot_product_attention layer by layer; they
    give what torch's encoder (fused kernel in eval, autograd path with grad) gives on the valid frames."""
    torch.manual_seed(0)
    cfg = DenoiserConfig(width=64, layers=2, heads=4, ff=128, norm_first=norm_first, final_norm=norm_first)
    m = MotionDenoiser(cfg).eval()
    h = torch.randn(3, 31, 64)
    pad = torch.arange(31)[None] >= torch.tensor([31, 23, 10])[:, None]
    valid = ~pad
    with torch.no_grad():
        ours = m._encode_plain(h, pad)
        fused = m.encoder(h, src_key_padding_mask=pad)
    assert torch.allclose(ours[valid], fused[valid], atol=1e-5)
    with torch.no_grad():  # an unpadded batch takes the same path, without a mask
        assert torch.allclose(m._encode_plain(h, None), m.encoder(h), atol=1e-5)
    x, t, text = torch.randn(3, 30, 263), torch.tensor([10, 500, 900]), torch.randn(3, 384)
    mask = valid[:, 1:]
    for frames in (mask, None):
        with torch.no_grad():
            a = m(x, t, text, mask=frames)
        with torch.enable_grad():
            b = m(x, t, text, mask=frames)
        assert torch.allclose(a, b.detach(), atol=1e-5)
    assert (m(x, t, text, mask=mask).detach()[~mask] == 0).all()


def test_padded_inference_path_sees_lora_adapters():
    """A LoRA-parametrised model (in_proj included) gives the same outputs on both paths."""
    from easytune_core.finetune.lora import add_lora

    torch.manual_seed(1)
    m = MotionDenoiser(DenoiserConfig(width=64, layers=2, heads=4, ff=128))
    add_lora(m, rank=2, alpha=4.0)
    with torch.no_grad():
        for name, p in m.named_parameters():
            if "lora_B" in name:
                p.normal_(0, 0.5)  # a trained-looking adapter (B starts at zero)
    m.eval()
    assert m._plain_layers()
    x, t, text = torch.randn(2, 20, 263), torch.tensor([100, 700]), torch.randn(2, 384)
    mask = torch.arange(20)[None] < torch.tensor([20, 12])[:, None]
    with torch.no_grad():
        a = m(x, t, text, mask=mask)
    with torch.enable_grad():
        b = m(x, t, text, mask=mask).detach()
    assert torch.allclose(a, b, atol=1e-5)


def test_guidance_interval_guides_only_the_steps_inside_it():
    m, s = tiny(), NoiseSchedule()
    x, emb, mask = inputs()
    full, part = DDIMSampler(s, 10), DDIMSampler(s, 10, guidance_interval=(0.5, 1.0))
    assert [full.guided(i) for i in range(10)] == [True] * 10
    # trailing 10-step grid: 999, 899, ..., 99; t / 1000 >= 0.5 for the first five
    assert [part.guided(i) for i in range(10)] == [True] * 5 + [False] * 5
    calls = []
    hook = m.register_forward_hook(lambda mod, args, out: calls.append(args[0].shape[0]))
    with torch.no_grad():
        for i in (2, 7):
            t = part.timesteps[i].expand(2)
            cond, unc = m(x, t, emb, mask), m(x, t, emb, mask, uncond=True)
            calls.clear()
            got = part.predict_x0(m, x, i, emb, mask, guidance=2.5)
            if i == 2:  # inside: one batched pass over cond and uncond, guided
                assert calls == [4] and torch.allclose(got, unc + 2.5 * (cond - unc), atol=1e-5)
            else:  # outside: the conditional model alone, one pass of the batch
                assert calls == [2] and torch.allclose(got, cond, atol=1e-6)
        calls.clear()
        part.sample(m, emb, mask, guidance=2.5, init_noise=x)
    hook.remove()
    assert calls == [4] * 5 + [2] * 5
    with pytest.raises(ValueError, match="0 <= lo <= hi <= 1"):
        DDIMSampler(s, 10, guidance_interval=(0.8, 0.2))
    with pytest.raises(ValueError, match="0 <= lo <= hi <= 1"):
        DDIMSampler(s, 10, guidance_interval=(0.0, 1.5))
    with pytest.raises(ValueError, match="two numbers"):
        DDIMSampler(s, 10, guidance_interval="all")
    with pytest.raises(ValueError, match="guidance_interval"):
        DenoiserConfig(guidance_interval=[0.5])
    assert DenoiserConfig.from_dict({}).guidance_interval == [0.0, 1.0]  # older checkpoints: every step guided
