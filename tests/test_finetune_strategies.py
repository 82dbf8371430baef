"""Gradients of EasyTune and the baselines against hand-written autograd references."""

import pytest
import torch

from easytune_core.finetune.config import FinetuneConfig
from easytune_core.finetune.loop import run_trajectory, select_steps, step_weights
from easytune_core.finetune.optim import Optimisation
from easytune_core.finetune.strategies import (AlignProp, DraftK, DraftLV, DRTune, EasyTuneChain, EasyTuneStep, ReFL,
                                               make_strategy)
from test_finetune_helpers import batch, context, sampler, tiny_denoiser, tiny_reward

S = 6


def plain_trajectory(model, smp, text, mask, x_T, guidance=2.0):
    """States x_t entering each step, from the diffusion sampler's own sample loop."""
    states = []
    smp.sample(model, text, mask, guidance=guidance, init_noise=x_T,
               on_step=lambda i, t, x, x0: states.append(x.clone()))
    return states


class GradRecorder:
    """An update hook that back-propagates and records parameter gradients without stepping."""

    def __init__(self, model):
        self.model, self.grads, self.losses = model, [], []

    def __call__(self, loss, reward):
        loss.backward()
        self.grads.append({n: p.grad.clone() for n, p in self.model.named_parameters() if p.grad is not None})
        self.losses.append(float(loss.detach()))
        self.model.zero_grad(set_to_none=True)


def assert_grads_close(a, b):
    assert set(a) == set(b) and a
    for n in a:
        torch.testing.assert_close(a[n], b[n], rtol=1e-5, atol=1e-7, msg=n)


@pytest.mark.parametrize("target", ["x0", "noisy"])
def test_easytune_step_gradient_is_one_denoiser_call_on_detached_input(target):
    model, reward, smp = tiny_denoiser().requires_grad_(True), tiny_reward(), sampler(S)
    text, mask, x_T = batch()
    rec = GradRecorder(model)
    strat = EasyTuneStep("last:3", "linear-up", target)
    run_trajectory(context(model, reward, smp, text, mask, rec), strat, x_T)
    assert len(rec.grads) == 3  # one update per selected step

    states = plain_trajectory(model, smp, text, mask, x_T)  # θ never stepped: same trajectory
    weights = step_weights([3, 4, 5], "linear-up")
    for n, i in enumerate([3, 4, 5]):
        x_t = states[i].detach()
        x0 = smp.predict_x0(model, x_t, i, text, mask, 2.0)
        if target == "x0":
            r = reward.reward(x0, mask, text, None)
        else:
            t_next = None if i + 1 == S else smp.timesteps[i + 1].expand(3)
            r = reward.reward(smp.step(x_t, x0, i), mask, text, t_next)
        loss = -weights[i] * r.mean()
        ref = torch.autograd.grad(loss, list(model.parameters()), allow_unused=True)
        ref = {name: g for (name, _), g in zip(model.named_parameters(), ref) if g is not None}
        assert_grads_close(rec.grads[n], ref)
        assert rec.losses[n] == pytest.approx(float(loss.detach()), rel=1e-5)


def test_easytune_calls_the_denoiser_with_grad_once_per_selected_step_on_detached_input():
    model, reward, smp = tiny_denoiser().requires_grad_(True), tiny_reward(), sampler(S)
    text, mask, x_T = batch()
    calls = []
    model.register_forward_pre_hook(lambda m, args: calls.append((torch.is_grad_enabled(), args[0].requires_grad)))
    run_trajectory(context(model, reward, smp, text, mask, GradRecorder(model)), EasyTuneStep("last:2"), x_T)
    assert [g for g, _ in calls] == [False] * 4 + [True] * 2  # CFG is one batched call per step
    assert not any(req for _, req in calls)  # sg(x_t): the input never carries a graph


def test_draft_k_gradient_reaches_through_k_steps_and_no_further():
    K = 3
    model, reward, smp = tiny_denoiser().requires_grad_(True), tiny_reward(), sampler(S)
    text, mask, x_T = batch()
    calls = []
    model.register_forward_pre_hook(lambda m, args: calls.append(torch.is_grad_enabled()))
    rec = GradRecorder(model)
    run_trajectory(context(model, reward, smp, text, mask, rec), DraftK(K), x_T)
    assert calls == [False] * (S - K) + [True] * K and len(rec.grads) == 1

    # reference: no-grad down to step S-K, then the K-step graph including the x_t chain
    states = plain_trajectory(model, smp, text, mask, x_T)
    x = states[S - K].detach()
    for i in range(S - K, S):
        x = smp.step(x, smp.predict_x0(model, x, i, text, mask, 2.0), i)
    loss = -reward.reward(x, mask, text, None).mean()
    grads = torch.autograd.grad(loss, list(model.parameters()), allow_unused=True)
    ref = {n: g for (n, _), g in zip(model.named_parameters(), grads) if g is not None}
    assert_grads_close(rec.grads[0], ref)

    # and it differs from the K-1 truncation: the earliest kept step does contribute
    x = states[S - K + 1].detach()
    for i in range(S - K + 1, S):
        x = smp.step(x, smp.predict_x0(model, x, i, text, mask, 2.0), i)
    shorter = torch.autograd.grad(-reward.reward(x, mask, text, None).mean(), list(model.parameters()))
    assert not torch.allclose(shorter[0], rec.grads[0][next(iter(rec.grads[0]))])


def test_chain_leaves_theta_unchanged_until_the_trajectory_ends():
    model, reward, smp = tiny_denoiser().requires_grad_(True), tiny_reward(), sampler(S)
    text, mask, x_T = batch()
    cfg = FinetuneConfig(method="easytune-chain", sampler_steps=S, select="last:3", lr=1e-2, warmup=0)
    opt = Optimisation(cfg, model, chain=True)
    start = [p.detach().clone() for p in model.parameters()]
    seen = []
    model.register_forward_pre_hook(
        lambda m, a: seen.append(all(torch.equal(p, s) for p, s in zip(m.parameters(), start))))
    ctx = context(model, reward, smp, text, mask, lambda loss, r: opt.step(loss), commit=opt.commit)
    run_trajectory(ctx, make_strategy(cfg), x_T)
    assert len(seen) == S and all(seen)  # every call of the trajectory used the original θ
    assert opt.steps == 3
    assert not all(torch.equal(p, s) for p, s in zip(model.parameters(), start))  # θ ← θ′ at the end
    for p, q in zip(opt.params, opt.policy):
        assert torch.equal(p, q)


def test_step_variant_updates_theta_during_the_trajectory():
    model, reward, smp = tiny_denoiser().requires_grad_(True), tiny_reward(), sampler(S)
    text, mask, x_T = batch()
    cfg = FinetuneConfig(method="easytune", sampler_steps=S, select="last:3", lr=1e-2, warmup=0)
    opt = Optimisation(cfg, model)
    start = [p.detach().clone() for p in model.parameters()]
    seen = []
    model.register_forward_pre_hook(
        lambda m, a: seen.append(all(torch.equal(p, s) for p, s in zip(m.parameters(), start))))
    run_trajectory(context(model, reward, smp, text, mask, lambda loss, r: opt.step(loss)), make_strategy(cfg), x_T)
    assert seen == [True] * 4 + [False] * 2  # steps after the first update see the new θ


def test_refl_one_grad_call_then_stops():
    model, reward, smp = tiny_denoiser().requires_grad_(True), tiny_reward(), sampler(S)
    text, mask, x_T = batch()
    calls = []
    model.register_forward_pre_hook(lambda m, a: calls.append(torch.is_grad_enabled()))
    strat = ReFL(m=3)
    rec = GradRecorder(model)
    run_trajectory(context(model, reward, smp, text, mask, rec), strat, x_T)
    assert S - 3 <= strat.stop <= S - 1
    assert calls == [False] * strat.stop + [True] and len(rec.grads) == 1


def test_drtune_detaches_the_denoiser_input_but_keeps_the_linear_path():
    model, reward, smp = tiny_denoiser().requires_grad_(True), tiny_reward(), sampler(S)
    text, mask, x_T = batch()
    calls = []
    model.register_forward_pre_hook(lambda m, a: calls.append((torch.is_grad_enabled(), a[0].requires_grad)))
    strat = DRTune(k=2, m=2)
    rec = GradRecorder(model)
    run_trajectory(context(model, reward, smp, text, mask, rec), strat, x_T)
    assert len(calls) == strat.stop + 1 and len(rec.grads) == 1
    assert not any(req for _, req in calls)
    trained = sorted(strat.train | {strat.stop})
    assert [i for i, (g, _) in enumerate(calls) if g] == [i for i in trained if i <= strat.stop]


def test_draft_lv_gradient_is_the_mean_of_one_step_rewards_from_renoised_x0():
    model, reward, smp = tiny_denoiser().requires_grad_(True), tiny_reward(), sampler(S)
    text, mask, x_T = batch()
    calls = []
    model.register_forward_pre_hook(lambda m, a: calls.append(torch.is_grad_enabled()))
    rec = GradRecorder(model)
    run_trajectory(context(model, reward, smp, text, mask, rec, generator=torch.Generator().manual_seed(3)),
                   DraftLV(n=2), x_T)
    assert calls == [False] * S + [True, True] and len(rec.grads) == 1

    x0 = smp.sample(model, text, mask, guidance=2.0, init_noise=x_T)
    g = torch.Generator().manual_seed(3)
    a = float(smp.schedule.alphas_cumprod[smp.timesteps[-1]])
    loss = 0.0
    for _ in range(2):
        x_t = (a ** 0.5 * x0 + (1 - a) ** 0.5 * torch.randn(x0.shape, generator=g)) * mask[..., None]
        x_prev = smp.step(x_t, smp.predict_x0(model, x_t, S - 1, text, mask, 2.0), S - 1)
        loss = loss - reward.reward(x_prev, mask, text, None).mean() / 2
    grads = torch.autograd.grad(loss, list(model.parameters()), allow_unused=True)
    assert_grads_close(rec.grads[0], {n: g for (n, _), g in zip(model.named_parameters(), grads) if g is not None})


def test_alignprop_truncation_is_random():
    model, reward, smp = tiny_denoiser().requires_grad_(True), tiny_reward(), sampler(S)
    text, mask, x_T = batch()
    firsts = set()
    for seed in range(8):
        strat = AlignProp(k_max=0)
        ctx = context(model, reward, smp, text, mask, GradRecorder(model), generator=torch.Generator().manual_seed(seed))
        run_trajectory(ctx, strat, x_T)
        firsts.add(strat.first)
    assert len(firsts) > 1 and all(0 <= f < S for f in firsts)


def _alignprop_run(checkpointed: bool):
    """One AlignProp trajectory (truncation drawn from seed 1) with or without gradient checkpointing:
    its gradients, the bytes autograd kept for the backward pass, and the denoiser calls made during
    the backward pass (recomputation)."""
    model, reward, smp = tiny_denoiser().requires_grad_(True), tiny_reward(), sampler(S)
    text, mask, x_T = batch()
    strat = AlignProp(k_max=0)
    if not checkpointed:
        strat.use_checkpoint = False  # the checkpointed run uses AlignProp as it ships
    phase, calls, saved = ["forward"], [], {}

    def pack(t):
        saved[(t.untyped_storage().data_ptr(), t.dtype)] = t.untyped_storage().nbytes()
        return t

    model.register_forward_pre_hook(lambda m, a: calls.append(phase[0]))
    rec = GradRecorder(model)

    def update(loss, r):
        phase[0] = "backward"
        rec(loss, r)

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        run_trajectory(context(model, reward, smp, text, mask, update, generator=torch.Generator().manual_seed(1)),
                       strat, x_T)
    return strat.first, rec.grads[0], sum(saved.values()), calls.count("backward"), (model, reward, smp, text, mask, x_T)


def test_alignprop_checkpointing_recomputes_instead_of_storing_and_keeps_the_gradient():
    first, grads, kept, recomputed, (model, reward, smp, text, mask, x_T) = _alignprop_run(checkpointed=True)
    first_plain, grads_plain, kept_plain, recomputed_plain, _ = _alignprop_run(checkpointed=False)
    assert first == first_plain and S - first >= 2  # the same truncation, over several steps
    # every differentiable denoiser call is run again in the backward pass, and only then
    assert recomputed == S - first and recomputed_plain == 0
    # what autograd holds for the backward pass shrinks to the x_t chain and the reward's own graph
    assert kept < 0.5 * kept_plain, (kept, kept_plain)
    assert_grads_close(grads, grads_plain)
    # and both equal full backpropagation through the last S - first steps, written out by hand
    states = plain_trajectory(model, smp, text, mask, x_T)
    x = states[first].detach()
    for i in range(first, S):
        x = smp.step(x, smp.predict_x0(model, x, i, text, mask, 2.0), i)
    loss = -reward.reward(x, mask, text, None).mean()
    ref = torch.autograd.grad(loss, list(model.parameters()), allow_unused=True)
    assert_grads_close(grads, {n: g for (n, _), g in zip(model.named_parameters(), ref) if g is not None})


def drtune_reference_grads(model, reward, smp, text, mask, x_T, train, stop, guidance=2.0, linear_path=True):
    """DRTune's gradient written out in the ε view of an ε-prediction sampler, independently of the
    strategy's code: at each step ε̂ = ε_θ(sg(x_t)) (θ differentiable only at the trained steps and at the
    stop), x̂0 = (x_t − √(1−ᾱ_t) ε̂) / √ᾱ_t keeps x_t's own path, x_{t−1} = √ᾱ_{t−1} x̂0 + √(1−ᾱ_{t−1}) ε̂;
    the loss is −mean R(x̂0) at the stop step. ``linear_path=False`` drops x_t's path (for contrast)."""
    abar = smp.schedule.alphas_cumprod
    x = x_T
    for i in range(stop + 1):
        a_t = float(abar[smp.timesteps[i]])
        a_prev = float(abar[smp.timesteps[i + 1]]) if i + 1 < len(smp.timesteps) else 1.0
        x_in = x.detach()
        with torch.set_grad_enabled(i in train or i == stop):
            x0_theta = smp.predict_x0(model, x_in, i, text, mask, guidance)
        eps = (x_in - a_t ** 0.5 * x0_theta) / (1 - a_t) ** 0.5
        x0 = (x - (1 - a_t) ** 0.5 * eps) / a_t ** 0.5 if linear_path else x0_theta
        if i == stop:
            loss = -reward.reward(x0, mask, text, None).mean()
            break
        x = a_prev ** 0.5 * x0 + (1 - a_prev) ** 0.5 * eps
    grads = torch.autograd.grad(loss, list(model.parameters()), allow_unused=True)
    return {n: g for (n, _), g in zip(model.named_parameters(), grads) if g is not None}, float(loss.detach())


def test_drtune_gradient_matches_a_hand_written_reference():
    model, reward, smp = tiny_denoiser().requires_grad_(True), tiny_reward(), sampler(S)
    text, mask, x_T = batch()
    strat = DRTune(k=2, m=2)
    rec = GradRecorder(model)
    run_trajectory(context(model, reward, smp, text, mask, rec), strat, x_T)
    assert strat.train == {0, 3} and strat.stop in (4, 5)  # S=6, K=2: stride 3, no room for an offset
    ref, ref_loss = drtune_reference_grads(model, reward, smp, text, mask, x_T, strat.train, strat.stop)
    assert rec.losses[0] == pytest.approx(ref_loss, rel=1e-5)
    for n in ref:
        torch.testing.assert_close(rec.grads[0][n], ref[n], rtol=1e-4, atol=1e-6, msg=n)
    # the linear x_t path matters: without it the trained steps before the stop would get nothing
    cut, _ = drtune_reference_grads(model, reward, smp, text, mask, x_T, strat.train, strat.stop, linear_path=False)
    assert any(not torch.allclose(cut[n], ref[n], rtol=1e-3, atol=1e-6) for n in ref)


def test_step_selection_and_weights_exact():
    assert select_steps("last:3", 10) == [7, 8, 9]
    assert select_steps("first:2", 10) == [0, 1]
    assert select_steps("all", 4) == [0, 1, 2, 3]
    r = select_steps("random:4", 10, torch.Generator().manual_seed(0))
    assert len(r) == 4 and len(set(r)) == 4 and r == sorted(r)
    assert step_weights([7, 8, 9], "uniform") == {7: 1.0, 8: 1.0, 9: 1.0}
    assert step_weights([7, 8, 9], "linear-up") == pytest.approx({7: 0.5, 8: 1.0, 9: 1.5})
    assert step_weights([7, 8, 9], "linear-down") == pytest.approx({7: 1.5, 8: 1.0, 9: 0.5})


@pytest.mark.parametrize("kw, msg", [
    (dict(method="dpo"), "unknown method"),
    (dict(method="draft", k=51), "between 1 and the 50"),
    (dict(select="last:60"), "between 1 and the 50"),
    (dict(select="middle:3"), "step selection"),
    (dict(lr=0.0), "positive"),
    (dict(lr=-1e-4), "positive"),
    (dict(lr=0.5), "absurdly large"),
    (dict(weighting="cubic"), "weighting"),
    (dict(reward_target="x1"), "reward_target"),
])
def test_bad_config_is_refused_with_a_clear_message(kw, msg):
    with pytest.raises(ValueError, match=msg):
        FinetuneConfig(**kw)
