"""The trainer as a user sees it: reward goes up, run folder, resume, cancel, NaN, LoRA, events."""

import json
import threading

import numpy as np
import pytest
import torch

from easytune_core.checkpoints import load_checkpoint
from easytune_core.diffusion import MotionDenoiser, DenoiserConfig
from easytune_core.finetune.io import CheckpointIO
from easytune_core.finetune.prompts import ListPrompts
from test_finetune_helpers import (D, FRAMES, ToyEncoder, sampler, small_config, tiny_denoiser, tiny_reward,
                                   tiny_trainer)

EVAL_PROMPTS = ["a person walks", "a person jumps", "a person waves", "a person sits"]


def sample_reward(model, reward, steps=6, seed=7):
    """Mean reward of full DDIM samples on fixed prompts and noise (no grad)."""
    text = ToyEncoder().encode(EVAL_PROMPTS)
    mask = torch.ones(len(EVAL_PROMPTS), FRAMES, dtype=torch.bool)
    noise = torch.randn(len(EVAL_PROMPTS), FRAMES, D, generator=torch.Generator().manual_seed(seed))
    x0 = sampler(steps).sample(model, text, mask, guidance=2.0, init_noise=noise)
    with torch.no_grad():
        return float(reward.reward(x0, mask, text, None).mean())


def io_for(model):
    return CheckpointIO(model.config, np.zeros(D, np.float32), np.ones(D, np.float32))


def test_short_easytune_run_raises_the_mean_reward():
    model, reward = tiny_denoiser(), tiny_reward()
    before = sample_reward(model, reward)
    result = tiny_trainer(small_config(max_steps=24, lr=3e-3), model=model, reward=reward).train()
    after = sample_reward(model, reward)
    assert result.status == "finished" and result.steps == 24
    assert after > before + 0.2, (before, after)


def test_events_and_run_folder(tmp_path):
    events = []
    model = tiny_denoiser()
    tr = tiny_trainer(small_config(max_steps=4), model=model, run_dir=tmp_path, io=io_for(model),
                      callbacks=[events.append])
    result = tr.train()
    assert [e["step"] for e in events] == [1, 2, 3, 4]
    for e in events:
        assert {"step", "reward", "loss", "lr", "seconds", "peak_memory"} <= set(e)
        assert e["peak_memory"] > 0 and np.isfinite(e["reward"])
    lines = (tmp_path / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(line)["step"] for line in lines] == [1, 2, 3, 4]
    assert json.loads((tmp_path / "config.json").read_text())["finetune"]["method"] == "easytune"
    ckpt = load_checkpoint(result.checkpoint, expected_kind="denoiser")
    assert ckpt.meta["optimiser_steps"] == 4
    fresh = MotionDenoiser(DenoiserConfig.from_dict(ckpt.config))
    fresh.load_state_dict(ckpt.state_dict)
    for a, b in zip(fresh.parameters(), model.parameters()):
        torch.testing.assert_close(a, b)


def test_resume_continues_exactly(tmp_path):
    straight = tiny_denoiser()
    tiny_trainer(small_config(max_steps=6), model=straight).train()

    first = tiny_denoiser()
    tiny_trainer(small_config(max_steps=3), model=first, run_dir=tmp_path, io=io_for(first)).train()
    resumed = tiny_denoiser()  # fresh weights: everything must come from the run folder
    result = tiny_trainer(small_config(max_steps=6), model=resumed, run_dir=tmp_path, io=io_for(resumed),
                          resume=True).train()
    assert result.steps == 6
    assert len((tmp_path / "metrics.jsonl").read_text().splitlines()) == 6
    for a, b in zip(resumed.parameters(), straight.parameters()):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)


def test_resume_of_a_half_precision_run_continues_from_the_exact_weights(tmp_path):
    straight = tiny_denoiser()
    tiny_trainer(small_config(max_steps=6), model=straight).train()

    def half_io(model):
        return CheckpointIO(model.config, np.zeros(D, np.float32), np.ones(D, np.float32), dtype=torch.float16)

    first = tiny_denoiser()
    tiny_trainer(small_config(max_steps=3), model=first, run_dir=tmp_path, io=half_io(first)).train()
    stored = load_checkpoint(tmp_path / "checkpoint").state_dict  # the published checkpoint is rounded
    assert any(not torch.equal(stored[k], v) for k, v in first.state_dict().items())
    # the run stops between the two renames of its next save: the previous checkpoint is found again
    (tmp_path / "checkpoint").rename(tmp_path / "checkpoint.old")
    resumed = tiny_denoiser()
    result = tiny_trainer(small_config(max_steps=6), model=resumed, run_dir=tmp_path, io=half_io(resumed),
                          resume=True).train()
    assert result.steps == 6 and (tmp_path / "checkpoint").is_dir() and not (tmp_path / "checkpoint.old").exists()
    for a, b in zip(resumed.parameters(), straight.parameters()):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)
    assert not list(tmp_path.glob("*.tmp"))


def test_resume_without_a_run_is_refused(tmp_path):
    model = tiny_denoiser()
    with pytest.raises(FileNotFoundError, match="nothing to resume"):
        tiny_trainer(small_config(), model=model, run_dir=tmp_path, io=io_for(model), resume=True)


@pytest.mark.parametrize("method", ["easytune", "easytune-chain"])
def test_cancel_between_optimiser_steps_leaves_a_valid_checkpoint(tmp_path, method):
    cancel = threading.Event()
    model = tiny_denoiser()
    tr = tiny_trainer(small_config(method=method, max_steps=50), model=model, run_dir=tmp_path,
                      io=io_for(model), cancel=cancel,
                      callbacks=[lambda e: cancel.set() if e["step"] == 2 else None])
    result = tr.train()
    assert result.status == "cancelled" and result.steps == 2
    ckpt = load_checkpoint(result.checkpoint, expected_kind="denoiser")
    assert ckpt.meta["optimiser_steps"] == 2
    # the saved weights are the stepped ones (chain: θ′ committed into θ)
    for (name, p) in model.named_parameters():
        torch.testing.assert_close(ckpt.state_dict[name], p.detach())
    assert not all(torch.equal(ckpt.state_dict[n], p) for n, p in tiny_denoiser().named_parameters())


def test_chain_snapshots_hold_the_weights_of_their_step_and_resume_continues_exactly(tmp_path):
    # small_config's trajectories hold several selected steps: snapshots fall inside trajectories
    seen = {}

    def record(trainer):
        def on_event(e):
            seen[e["step"]] = {k: v.clone() for k, v in trainer.current_weights().items()}
        return on_event

    straight = tiny_denoiser()
    tr = tiny_trainer(small_config(method="easytune-chain", max_steps=6, keep_every=1), model=straight,
                      run_dir=tmp_path / "straight", io=io_for(straight))
    tr.callbacks.append(record(tr))
    tr.train()
    for step in range(1, 7):
        snap = load_checkpoint(tmp_path / "straight" / "snapshots" / f"step-{step:06d}").state_dict
        for k, v in seen[step].items():
            torch.testing.assert_close(snap[k], v)
    assert not torch.equal(seen[1][next(iter(seen[1]))], seen[2][next(iter(seen[2]))])

    first = tiny_denoiser()
    tiny_trainer(small_config(method="easytune-chain", max_steps=3), model=first, run_dir=tmp_path / "r",
                 io=io_for(first)).train()
    resumed = tiny_denoiser()
    tiny_trainer(small_config(method="easytune-chain", max_steps=6), model=resumed, run_dir=tmp_path / "r",
                 io=io_for(resumed), resume=True).train()
    final = load_checkpoint(tmp_path / "r" / "checkpoint").state_dict
    for k, v in load_checkpoint(tmp_path / "straight" / "checkpoint").state_dict.items():
        torch.testing.assert_close(final[k], v, rtol=1e-5, atol=1e-6)


def test_nan_loss_stops_with_a_clear_message_and_keeps_the_last_good_checkpoint(tmp_path):
    model, reward = tiny_denoiser(), tiny_reward()
    calls = {"n": 0}

    def flaky(feats, mask, text, t=None):
        calls["n"] += 1
        r = reward.reward(feats, mask, text, t)
        return r * float("nan") if calls["n"] > 3 else r

    from easytune_core.finetune.trainer import FinetuneTrainer
    model.requires_grad_(True)
    tr = FinetuneTrainer(small_config(max_steps=20, save_every=2), model, sampler(6), ToyEncoder().encode, flaky,
                         ListPrompts(EVAL_PROMPTS, FRAMES), D, run_dir=tmp_path, io=io_for(model))
    result = tr.train()
    assert result.status == "failed" and result.steps == 3
    assert "nan" in result.message.lower() and "kept" in result.message
    ckpt = load_checkpoint(result.checkpoint, expected_kind="denoiser")  # loads: all finite
    assert ckpt.meta["optimiser_steps"] == 3


def test_lora_run_saves_adapters_and_a_merged_checkpoint(tmp_path):
    model = tiny_denoiser()
    from easytune_core.finetune.lora import add_lora
    add_lora(model, rank=2)
    before = {n: p.clone() for n, p in model.named_parameters() if "lora_A" in n}
    result = tiny_trainer(small_config(max_steps=3, lora_rank=2, lr=1e-2), model=model, run_dir=tmp_path,
                          io=io_for(model)).train()
    assert result.status == "finished"
    lora = load_checkpoint(tmp_path / "lora", expected_kind="lora")
    assert lora.state_dict and all("lora_" in k for k in lora.state_dict)
    assert any(not torch.equal(before[n], p) for n, p in model.named_parameters() if n in before)
    merged = load_checkpoint(result.checkpoint, expected_kind="denoiser")
    plain = MotionDenoiser(DenoiserConfig.from_dict(merged.config))
    plain.load_state_dict(merged.state_dict)  # plain keys: usable by the pipeline


def test_budget_stops_and_warmup():
    tr = tiny_trainer(small_config(max_steps=100, warmup=4, target_reward=-2.0))
    result = tr.train()
    assert result.message == "target_reward" and result.steps == 5  # window of 5 events
    lrs = [e["lr"] for e in result.history]  # the rate each step used: warm-up over 4 steps, then the full rate
    assert lrs == pytest.approx([2e-4, 4e-4, 6e-4, 8e-4, 1e-3])


def test_regulariser_pulls_toward_the_base():
    def drift(reg):
        model = tiny_denoiser()
        base = tiny_denoiser().requires_grad_(False)
        tiny_trainer(small_config(max_steps=12, lr=1e-2, reg_weight=reg), model=model, base_model=base).train()
        return sum(float((p - q).detach().pow(2).sum()) for p, q in zip(model.parameters(), base.parameters()))

    assert drift(50.0) < drift(0.0)


def test_a_new_run_refuses_a_folder_that_holds_an_earlier_run(tmp_path):
    model = tiny_denoiser()
    tiny_trainer(small_config(max_steps=2, keep_every=1), model=model, run_dir=tmp_path, io=io_for(model)).train()
    before = sorted(p.name for p in tmp_path.rglob("*"))
    with pytest.raises(FileExistsError, match="holds an earlier run .*--resume"):
        tiny_trainer(small_config(max_steps=2), model=tiny_denoiser(), run_dir=tmp_path, io=io_for(model))
    assert sorted(p.name for p in tmp_path.rglob("*")) == before  # nothing of the earlier run was touched


@pytest.mark.parametrize("mask_frames", [True, False])
def test_initial_noise_of_padded_frames_is_what_sampling_starts_from(mask_frames):
    model = tiny_denoiser()
    model.config.mask_frames = mask_frames  # False: MDM's first release, which denoises padded frames too

    def mixed_lengths(n, generator):
        return ["a person walks"] * n, [6, 10, 10, 10][:n]

    tr = tiny_trainer(small_config(frames=0, max_frames=10), model=model, prompts=mixed_lengths)
    _, _, _, mask, x_T = tr._batch(torch.Generator().manual_seed(0))
    padded = x_T[0, 6:]
    assert mask[0].sum() == 6 and bool((padded == 0).all()) == mask_frames
