"""Ranking takes with a reward model (easytune_core.reward.rank) and best-of-N rule checks."""

import numpy as np
import pytest
import torch

from easytune_core.diffusion import DenoiserConfig, MotionDenoiser
from easytune_core.eval.rules import judge_best_of, judge_generated
from easytune_core.pipeline import MotionPipeline
from easytune_core.reward import RewardConfig, RewardModel
from easytune_core.reward.rank import best_of, best_takes, reward_scores
from tests.test_pipeline import HashEncoder


@pytest.fixture(scope="module")
def pipe():
    torch.manual_seed(0)
    cfg = DenoiserConfig(width=32, layers=1, heads=2, ff=64, dropout=0.0, default_steps=3)
    rng = np.random.default_rng(0)
    mean = rng.normal(size=263).astype(np.float32) * 0.1
    std = (0.05 + rng.random(263)).astype(np.float32) * 0.1
    return MotionPipeline(MotionDenoiser(cfg).eval(), HashEncoder(), mean, std)


@pytest.fixture(scope="module")
def reward():
    torch.manual_seed(1)
    model = RewardModel(RewardConfig(width=16, layers=1, heads=2, ff=32, embed_dim=8, dropout=0.0)).eval()
    model.mean.normal_(0, 0.1)
    model.std.uniform_(0.5, 1.5)
    return model


def test_reward_scores_match_the_reward_on_each_motion_alone(pipe, reward):
    res = pipe.generate(["a person walks", "a person jumps twice", "someone waves"], frames=[40, 25, 33], seed=2)
    text = pipe.encode_pooled(res.prompts)
    got = reward_scores(reward, text, res.features, res.lengths, batch=2)
    assert got.shape == (3,) and np.all(np.abs(got) <= 1.0 + 1e-6)
    for b, n in enumerate(res.lengths):  # padding and batching change nothing
        x = reward.normalize(torch.as_tensor(res.features[b:b + 1, :n]))
        with torch.no_grad():
            one = reward.reward(x, torch.ones(1, n, dtype=torch.bool), text[b:b + 1])
        assert got[b] == pytest.approx(float(one), abs=1e-5)


@pytest.mark.parametrize("kwargs, match", [
    (dict(features=np.zeros((2, 10, 200))), "features must be"),
    (dict(text_emb=torch.zeros(3, 384)), "text_emb must be"),
    (dict(lengths=[10, 11]), "lengths must give"),
    (dict(lengths=[10]), "lengths must give"),
])
def test_reward_scores_bad_input(reward, kwargs, match):
    args = dict(text_emb=torch.zeros(2, 384), features=np.zeros((2, 10, 263)), lengths=[10, 5]) | kwargs
    with pytest.raises(ValueError, match=match):
        reward_scores(reward, **args)


def test_best_takes_picks_the_highest_score_per_prompt():
    assert best_takes([0.1, 0.5, 0.2, 0.9, 0.3, 0.9], 3).tolist() == [1, 3]  # ties: the earlier take
    assert best_takes([0.4], 1).tolist() == [0]
    with pytest.raises(ValueError, match="whole number of prompts"):
        best_takes([0.1, 0.2, 0.3], 2)


def test_best_of_returns_the_takes_their_scores_and_the_pick(pipe, reward):
    res, scores, best = best_of(pipe, reward, ["a person walks", "someone waves"], repetitions=3, seconds=2, seed=5)
    assert res.features.shape[0] == 6 and res.seeds == [5, 6, 7, 5, 6, 7]
    np.testing.assert_allclose(scores, reward_scores(reward, pipe.encode_pooled(res.prompts), res.features,
                                                     res.lengths), atol=1e-6)
    assert best.tolist() == [int(np.argmax(scores[:3])), 3 + int(np.argmax(scores[3:]))]
    # take k is the motion its seed gives alone
    np.testing.assert_allclose(res.features[best[1]], pipe.generate("someone waves", seconds=2,
                                                                    seed=res.seeds[best[1]]).features[0], atol=1e-5)


def test_best_of_refuses_a_reward_with_another_text_encoder(pipe):
    other = RewardModel(RewardConfig(text_dim=512, width=16, layers=1, heads=2, ff=32, embed_dim=8)).eval()
    with pytest.raises(ValueError, match="not the reward model's"):
        best_of(pipe, other, ["a person walks"], repetitions=2)


def test_judge_best_of_keeps_every_take_and_judges_the_pick(pipe):
    cases = [{"caption": "a person jumps 2 times", "checks": [("jumps", "2")], "frames": 60},
             {"caption": "a person walks forward", "checks": [("walk", "forward")], "frames": 50}]
    calls = []

    def score(captions, features, lengths):  # prefers the take whose motion is longest in its root path
        calls.append(len(captions))
        return [float(np.abs(f[:n, 1:3]).sum()) for f, n in zip(features, lengths)]

    judge_best_of(pipe, cases, 3, score, steps=3, seed=4)
    plain = [dict(c) for c in cases]
    judge_generated(pipe, plain, steps=3, seed=4)
    for c, p in zip(cases, plain):
        assert len(c["takes"]) == len(c["scores"]) == 3
        assert c["gen"] == p["gen"] == c["takes"][0]  # take 0 is the plain run
        assert c["pick"] == int(np.argmax(c["scores"])) and c["best"] == c["takes"][c["pick"]]
    assert sum(calls) == 6
    with pytest.raises(ValueError, match="at least 1"):
        judge_best_of(pipe, cases, 0, score)


def test_best_of_pipeline_answers_with_the_rewards_pick(pipe, reward):
    from easytune_core.reward.rank import BestOfPipeline

    wrapped = BestOfPipeline(pipe, reward, takes=3)
    assert wrapped.max_frames == pipe.max_frames and wrapped.noise_shape(2, 30) == pipe.noise_shape(2, 30)
    prompts, noise = ["a person walks", "someone waves"], pipe.make_noise(2, 40, 9)
    res = wrapped.generate(prompts, frames=[40, 32], seed=9, init_noise=noise, steps=3, return_joints=False)
    assert res.features.shape == (2, 40, 263) and res.lengths == [40, 32] and res.joints is None
    # take 0 is the wrapped pipeline's own motion from the same noise; the pick has the highest reward
    plain = pipe.generate(prompts, frames=[40, 32], seed=9, init_noise=noise, steps=3)
    again = pipe.generate(prompts * 3, frames=[40, 32] * 3, seed=9, steps=3, init_noise=torch.cat(
        [noise] + [torch.randn(noise.shape, generator=torch.Generator().manual_seed(9 * 7919 + k)) for k in (1, 2)]))
    scores = reward_scores(reward, pipe.encode_pooled(again.prompts), again.features, again.lengths).reshape(3, 2)
    assert wrapped.last_picks == scores.argmax(axis=0).tolist()
    for b, k in enumerate(wrapped.last_picks):
        np.testing.assert_allclose(res.features[b], again.features[k * 2 + b], atol=1e-5)
    np.testing.assert_allclose(again.features[:2], plain.features, atol=1e-5)
    big = wrapped.generate(prompts, frames=[40, 32], seed=2 ** 63 - 1, steps=2)  # any seed item_seed can give
    assert np.isfinite(big.features).all()
    one = BestOfPipeline(pipe, reward, takes=1).generate(prompts, frames=[40, 32], seed=9, init_noise=noise, steps=3)
    np.testing.assert_allclose(one.features, plain.features, atol=1e-5)
    for bad in (0, 1.5, True):
        with pytest.raises(ValueError, match="takes must be"):
            BestOfPipeline(pipe, reward, takes=bad)
