"""Noise schedules against their closed forms."""

import math

import pytest
import torch

from easytune_core.diffusion import NoiseSchedule


def test_cosine_alphas_cumprod_matches_closed_form():
    s = NoiseSchedule("cosine", 1000)
    f = lambda u: math.cos((u + 0.008) / 1.008 * math.pi / 2) ** 2
    for t in (0, 1, 10, 250, 500, 900):
        assert s.alphas_cumprod[t].item() == pytest.approx(f((t + 1) / 1000) / f(0), rel=1e-9)
    assert s.betas.dtype == torch.float64 and s.alphas_cumprod.dtype == torch.float64
    assert s.betas.max().item() <= 0.999
    assert torch.all(s.alphas_cumprod[1:] < s.alphas_cumprod[:-1])


def test_scaled_linear_betas_closed_form():
    s = NoiseSchedule("scaled_linear", 1000)
    assert s.betas[0].item() == pytest.approx(0.00085)
    assert s.betas[-1].item() == pytest.approx(0.012)
    t = 417
    expected = (0.00085 ** 0.5 + t / 999 * (0.012 ** 0.5 - 0.00085 ** 0.5)) ** 2
    assert s.betas[t].item() == pytest.approx(expected, rel=1e-12)
    assert s.alphas_cumprod[t].item() == pytest.approx(torch.prod(1 - s.betas[: t + 1]).item(), rel=1e-12)


def test_q_sample_and_posterior_closed_forms():
    s = NoiseSchedule("cosine", 100)
    g = torch.Generator().manual_seed(0)
    x0, noise = torch.randn(3, 5, 4, generator=g), torch.randn(3, 5, 4, generator=g)
    t = torch.tensor([0, 42, 99])
    xt = s.q_sample(x0, t, noise)
    for b in range(3):
        ab = s.alphas_cumprod[t[b]].item()
        assert torch.allclose(xt[b], ab ** 0.5 * x0[b] + (1 - ab) ** 0.5 * noise[b], atol=1e-6)
    mean, var = s.posterior_mean_variance(x0, xt, t)
    b, tt = 1, 42
    ab, abp, beta = s.alphas_cumprod[tt].item(), s.alphas_cumprod[tt - 1].item(), s.betas[tt].item()
    exp_mean = (abp ** 0.5 * beta / (1 - ab)) * x0[b] + ((1 - beta) ** 0.5 * (1 - abp) / (1 - ab)) * xt[b]
    assert torch.allclose(mean[b], exp_mean, atol=1e-6)
    assert var[b].item() == pytest.approx(beta * (1 - abp) / (1 - ab), rel=1e-6)
    assert var[0].item() == 0.0  # t = 0: posterior is a point mass on x0
    assert torch.allclose(mean[0], x0[0], atol=1e-5)
    # eps <-> x0 conversions invert each other
    assert torch.allclose(s.predict_x0_from_eps(xt, t, noise), x0, atol=1e-4)
    assert torch.allclose(s.predict_eps_from_x0(xt, t, x0), noise, atol=1e-4)


def test_bad_schedule_arguments():
    with pytest.raises(ValueError, match="schedule kind"):
        NoiseSchedule("linear")
    with pytest.raises(ValueError, match="num_steps"):
        NoiseSchedule("cosine", 1)
