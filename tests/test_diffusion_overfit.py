"""A tiny denoiser learns two captioned motions and reproduces each from its caption."""

import pytest
import torch

from easytune_core.diffusion import DDIMSampler, DenoiserConfig, MotionDenoiser, NoiseSchedule
from easytune_core.diffusion.train import diffusion_loss


pytestmark = pytest.mark.slow  # 300 optimiser steps of a small transformer


def test_tiny_model_overfits_two_captions():
    torch.manual_seed(0)
    T, D = 16, 263
    time_axis = torch.linspace(0, 1, T)[:, None]
    feat = torch.arange(D)[None].float() / D
    motions = torch.stack([torch.sin(2 * torch.pi * (time_axis + feat)),     # "caption A"
                           -torch.cos(4 * torch.pi * (time_axis - feat))])   # "caption B"
    emb = torch.nn.functional.normalize(torch.randn(2, 384), dim=-1)
    mask = torch.ones(2, T, dtype=torch.bool)
    cfg = DenoiserConfig(width=64, layers=2, heads=4, ff=128, dropout=0.0, cond_drop_prob=0.1, max_frames=T)
    model = MotionDenoiser(cfg)
    sched = NoiseSchedule("cosine", 1000)
    opt = torch.optim.AdamW(model.parameters(), lr=2e-3, weight_decay=0.0)
    g = torch.Generator().manual_seed(0)
    x0, m, e = motions.repeat(8, 1, 1), mask.repeat(8, 1), emb.repeat(8, 1)
    losses = []
    for _ in range(300):
        loss = diffusion_loss(model, sched, x0, m, e, g)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert sum(losses[-20:]) / 20 < 0.1 * sum(losses[:5]) / 5
    model.eval()
    out = DDIMSampler(sched, 20).sample(model, emb, mask, guidance=2.0, generator=torch.Generator().manual_seed(1))
    err_own = (out - motions).pow(2).mean(dim=(1, 2))
    err_swap = (out - motions.flip(0)).pow(2).mean(dim=(1, 2))
    assert torch.all(err_own < 0.1), err_own
    assert torch.all(err_own < 0.2 * err_swap), (err_own, err_swap)
