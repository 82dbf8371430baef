"""Reward model: determinism, differentiability, the step token, SPL mining."""

import math

import pytest
import torch

from easytune_core.reward import RewardConfig, RewardModel, mine_preferences, spl_loss

TINY = dict(feature_dim=12, text_dim=8, width=16, layers=1, heads=2, ff=32, embed_dim=8, max_frames=24)


def _model(seed=0):
    torch.manual_seed(seed)
    return RewardModel(RewardConfig(**TINY)).eval()


def _batch(b=3, n=20, seed=1):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(b, n, 12, generator=g)
    mask = torch.ones(b, n, dtype=torch.bool)
    mask[0, 15:] = False
    text = torch.nn.functional.normalize(torch.randn(b, 8, generator=g), dim=-1)
    return x, mask, text


def test_reward_is_deterministic_cosine_in_range():
    model = _model()
    x, mask, text = _batch()
    r1, r2 = model.reward(x, mask, text), model.reward(x, mask, text)
    assert r1.shape == (3,)
    assert torch.equal(r1, r2)
    assert (r1.abs() <= 1 + 1e-6).all()
    # reward(i) is the diagonal of the all-pairs similarity matrix
    torch.testing.assert_close(model.similarity(x, mask, text).diagonal(), r1)


def test_padding_is_ignored():
    model = _model()
    x, mask, text = _batch()
    x2 = x.clone()
    x2[0, 15:] = 100.0  # garbage in padded frames of motion 0
    torch.testing.assert_close(model.reward(x, mask, text), model.reward(x2, mask, text))


def test_reward_gradient_wrt_motion_is_finite_and_nonzero():
    model = _model()
    x, mask, text = _batch()
    x.requires_grad_(True)
    t = torch.tensor([0, 250, 499])
    model.reward(x, mask, text, t).sum().backward()
    assert torch.isfinite(x.grad).all()
    assert x.grad[:, :15].abs().sum() > 0
    assert x.grad[0, 15:].abs().sum() == 0  # padded frames get no gradient


def test_step_token_changes_output():
    model = _model()
    x, mask, text = _batch()
    clean = model.reward(x, mask, text)
    r100 = model.reward(x, mask, text, torch.full((3,), 100))
    r400 = model.reward(x, mask, text, torch.full((3,), 400))
    assert not torch.allclose(clean, r100)
    assert not torch.allclose(r100, r400)


@pytest.mark.parametrize("kwargs, match", [
    (dict(features=torch.zeros(2, 5, 11)), r"\(B, T, 12\)"),
    (dict(mask=torch.zeros(2, 5, dtype=torch.bool)), "at least one valid frame"),
    (dict(text_emb=torch.zeros(3, 8)), "2 motions but 3 texts"),
    (dict(t=torch.tensor([0, 1000])), r"\[0, 1000\)"),
    (dict(features=torch.zeros(2, 30, 12), mask=None), "at most 24"),
])
def test_bad_inputs(kwargs, match):
    model = _model()
    args = dict(features=torch.zeros(2, 5, 12), mask=torch.ones(2, 5, dtype=torch.bool),
                text_emb=torch.zeros(2, 8), t=None)
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        model.reward(**args)


def test_config_validation():
    with pytest.raises(ValueError, match="must divide width"):
        RewardConfig(width=10, heads=4)


def test_spl_mining_on_constructed_similarities():
    b = 12
    sim = torch.full((b, b), 0.1)
    for i in range(b):
        sim[i, i] = 0.5               # GT top-1 -> indifferent
    sim[1, 1] = -0.9                  # GT last of its row (outside top-10), max 0.5 -> prefer GT
    sim[1, 4] = 0.6
    sim[2, 2] = -0.9                  # GT outside top-10 but some similarity > 0.8 -> indifferent
    sim[2, 7] = 0.85
    sim[3, 3] = 0.6                   # GT ranked 2nd (inside top-10) -> indifferent
    sim[3, 5] = 0.7
    top1, target = mine_preferences(sim, k=10, threshold=0.8)
    assert top1[0] == 0 and top1[1] == 4 and top1[2] == 7 and top1[3] == 5
    expect = torch.tensor([[0.5, 0.5]] * b)
    expect[1] = torch.tensor([0.0, 1.0])
    torch.testing.assert_close(target, expect)
    # with k=1, row 3 (GT not top-1, no sim > 0.8) also prefers the GT
    _, target_k1 = mine_preferences(sim, k=1)
    assert target_k1[3].tolist() == [0.0, 1.0] and target_k1[2].tolist() == [0.5, 0.5]


def test_spl_loss_values_single_temperature():
    sim = torch.tensor([[0.5, 0.1], [0.3, 0.2]])
    # k=1: row 0 GT is top-1 -> logits equal -> KL(uniform||uniform) = 0
    # row 1 top-1 is motion 0 (0.3), GT 0.2: Q=[0,1], P=softmax([3, 2]) -> -log P_gt
    expected = (0.0 + (math.log(math.exp(3.0) + math.exp(2.0)) - 2.0)) / 2
    assert spl_loss(sim, tau=0.1, k=1).item() == pytest.approx(expected, rel=1e-5)
    # indifferent target with different logits: KL(U || P) > 0 pushes the two scores together
    sim2 = torch.tensor([[0.2, 0.5], [0.1, 0.6]], requires_grad=True)
    loss = spl_loss(sim2, tau=0.1, k=10)
    loss.backward()
    assert loss.item() > 0 and torch.isfinite(sim2.grad).all()
    assert sim2.grad[0, 0] < 0  # raising the GT score lowers the loss
