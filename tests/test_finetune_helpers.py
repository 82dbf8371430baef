"""Tiny real models for the finetune tests (no test functions here: imported by the others)."""

from __future__ import annotations

import hashlib

import torch

from easytune_core.diffusion import DDIMSampler, DenoiserConfig, MotionDenoiser, NoiseSchedule
from easytune_core.finetune.config import FinetuneConfig
from easytune_core.finetune.loop import LoopContext
from easytune_core.finetune.trainer import FinetuneTrainer
from easytune_core.reward import RewardConfig, RewardModel

D, TEXT, FRAMES = 6, 8, 8


class ToyEncoder:
    """Deterministic pseudo text embeddings: the same prompt always gives the same vector."""

    name, dim = "toy", TEXT

    def encode(self, prompts):
        out = []
        for p in prompts:
            seed = int(hashlib.md5(p.encode()).hexdigest()[:8], 16)
            v = torch.randn(TEXT, generator=torch.Generator().manual_seed(seed))
            out.append(v / v.norm())
        return torch.stack(out)


def tiny_denoiser(seed: int = 0, prediction: str = "x0") -> MotionDenoiser:
    torch.manual_seed(seed)
    cfg = DenoiserConfig(feature_dim=D, text_dim=TEXT, width=16, layers=1, heads=2, ff=32, dropout=0.0,
                         max_frames=16, prediction=prediction)
    return MotionDenoiser(cfg).eval()


def tiny_reward(seed: int = 1) -> RewardModel:
    torch.manual_seed(seed)
    cfg = RewardConfig(feature_dim=D, text_dim=TEXT, width=16, layers=1, heads=2, ff=32, embed_dim=8,
                       max_frames=16, dropout=0.0)
    model = RewardModel(cfg).eval()
    model.requires_grad_(False)
    return model


def reward_fn(model: RewardModel):
    return lambda feats, mask, text, t=None: model.reward(feats, mask, text, t)


def sampler(steps: int = 6) -> DDIMSampler:
    return DDIMSampler(NoiseSchedule("cosine", 100), steps=steps)


def batch(n: int = 3, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    text = ToyEncoder().encode([f"prompt {i}" for i in range(n)])
    mask = torch.ones(n, FRAMES, dtype=torch.bool)
    mask[0, -2:] = False
    x_T = torch.randn(n, FRAMES, D, generator=g) * mask[..., None]
    return text, mask, x_T


def context(model, reward, sampler_, text, mask, update, **kw) -> LoopContext:
    return LoopContext(model=model, sampler=sampler_, text_emb=text, mask=mask, reward=reward_fn(reward),
                       update=update, guidance=kw.pop("guidance", 2.0),
                       generator=kw.pop("generator", torch.Generator().manual_seed(0)), **kw)


def prompts(batch_size, generator=None):
    names = ["walk", "jump", "wave", "sit", "run"]
    idx = torch.randint(0, len(names), (batch_size,), generator=generator).tolist()
    return [f"a person {names[i]}s" for i in idx], [FRAMES] * batch_size


def tiny_trainer(cfg: FinetuneConfig, model=None, reward=None, **kw) -> FinetuneTrainer:
    model = model or tiny_denoiser()
    if not cfg.lora_rank:
        model.requires_grad_(True)
    reward = reward or tiny_reward()
    return FinetuneTrainer(cfg, model, sampler(cfg.sampler_steps), ToyEncoder().encode, reward_fn(reward),
                           kw.pop("prompts", prompts), D, **kw)


def small_config(**kw) -> FinetuneConfig:
    base = dict(sampler_steps=6, select="last:3", k=3, m=2, lr=1e-3, warmup=0, batch_size=4, frames=FRAMES,
                max_frames=FRAMES, max_steps=6, precision="fp32", guidance=2.0)
    base.update(kw)
    return FinetuneConfig(**base)
