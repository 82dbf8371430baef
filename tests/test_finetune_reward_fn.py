"""RewardFn: the reward as the fine-tuning loop sees it, across two feature normalisations."""

import numpy as np
import pytest
import torch

from easytune_core.finetune.build import RewardFn
from test_finetune_helpers import D, TEXT, tiny_reward


def _inputs(seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(2, 10, D, generator=g), torch.ones(2, 10, dtype=torch.bool), torch.randn(2, TEXT, generator=g)


def test_same_statistics_pass_features_through():
    rm = tiny_reward()
    fn = RewardFn(rm, rm.mean.numpy(), rm.std.numpy())
    feats, mask, text = _inputs()
    assert not fn.maps_features
    torch.testing.assert_close(fn(feats, mask, text), rm.reward(feats, mask, text))
    t = torch.tensor([100, 900])
    torch.testing.assert_close(fn(feats, mask, text, t), rm.reward(feats, mask, text, t))


def test_other_statistics_map_clean_features_and_refuse_noisy_ones():
    rm = tiny_reward()
    rng = np.random.default_rng(0)
    rm.mean.copy_(torch.as_tensor(rng.normal(size=D), dtype=torch.float32))
    rm.std.copy_(torch.as_tensor(rng.uniform(0.5, 2.0, size=D), dtype=torch.float32))
    mean_d, std_d = rng.normal(size=D).astype(np.float32), rng.uniform(0.5, 2.0, size=D).astype(np.float32)
    fn = RewardFn(rm, mean_d, std_d)
    feats, mask, text = _inputs(1)
    raw = feats * torch.as_tensor(std_d) + torch.as_tensor(mean_d)  # what the denoiser's features stand for
    assert fn.maps_features
    torch.testing.assert_close(fn(feats, mask, text), rm.reward(rm.normalize(raw), mask, text), rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match="reward_target 'noisy' needs a reward model normalised"):
        fn(feats, mask, text, torch.tensor([100, 200]))


def test_noisy_steps_are_clamped_to_what_the_reward_was_trained_on():
    rm = tiny_reward()
    fn = RewardFn(rm, max_t=499)
    feats, mask, text = _inputs(2)
    torch.testing.assert_close(fn(feats, mask, text, torch.tensor([700, 300])),
                               rm.reward(feats, mask, text, torch.tensor([499, 300])))
