"""`python -m easytune_core finetune` on tiny real checkpoints, and its bad-input errors."""

import json

import numpy as np
import pytest
import torch

from easytune_core.checkpoints import save_checkpoint
from easytune_core.cli import main
from easytune_core.diffusion import DenoiserConfig, MotionDenoiser
from easytune_core.reward import RewardConfig, RewardModel

F = 263  # real feature size so the pipeline's joint recovery works; tiny widths keep it fast


@pytest.fixture(scope="module")
def ckpts(tmp_path_factory):
    root = tmp_path_factory.mktemp("ft_cli")
    torch.manual_seed(0)
    den = MotionDenoiser(DenoiserConfig(feature_dim=F, width=16, layers=1, heads=2, ff=32, max_frames=40))
    save_checkpoint(root / "base", den, den.config, "denoiser", np.zeros(F), np.ones(F))
    rm = RewardModel(RewardConfig(feature_dim=F, width=16, layers=1, heads=2, ff=32, embed_dim=8, max_frames=40))
    save_checkpoint(root / "reward", rm, rm.config, "reward", np.zeros(F), np.ones(F), meta={"max_t": 500})
    return root


def _args(ckpts, out, *extra):
    return ["finetune", "--base", str(ckpts / "base"), "--reward", str(ckpts / "reward"), "--out", str(out),
            "--prompt", "a person walks forward", "--prompt", "a person jumps", "--sampler-steps", "4",
            "--batch-size", "2", "--frames", "12", "--lr", "1e-3", "--warmup", "0", "--select", "last:2", *extra]


def test_cli_finetune_writes_a_loadable_checkpoint(ckpts, tmp_path, capsys):
    out = tmp_path / "run"
    assert main(_args(ckpts, out, "--steps", "3", "--select", "last:2", "--reward-target", "noisy",
                      "--lora-rank", "2", "--reg-weight", "0.1")) == 0
    assert "finished: 3 optimiser steps" in capsys.readouterr().out
    assert len((out / "metrics.jsonl").read_text().splitlines()) == 3
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["finetune"]["reward_target"] == "noisy" and cfg["base"].endswith("base")
    from easytune_core.pipeline import MotionPipeline
    pipe = MotionPipeline.from_checkpoint(out / "checkpoint", device="cpu")
    res = pipe.generate(["a person walks forward"], frames=20, steps=3, seed=0)
    assert np.isfinite(res.features).all()
    # resume adds steps to the same run
    assert main(_args(ckpts, out, "--steps", "5", "--select", "last:2", "--lora-rank", "2", "--resume")) == 0
    assert len((out / "metrics.jsonl").read_text().splitlines()) == 5
    # a new run into the same folder is refused: it would mix with this one
    capsys.readouterr()
    assert main(_args(ckpts, out, "--steps", "2")) == 2
    assert "holds an earlier run" in capsys.readouterr().err
    assert len((out / "metrics.jsonl").read_text().splitlines()) == 5


def test_cli_keep_every_keeps_loadable_snapshots(ckpts, tmp_path):
    out = tmp_path / "run"
    assert main(_args(ckpts, out, "--steps", "4", "--keep-every", "2")) == 0
    snaps = sorted(p.name for p in (out / "snapshots").iterdir())
    assert snaps == ["step-000002", "step-000004"]
    from easytune_core.checkpoints import load_checkpoint
    s2, s4 = (load_checkpoint(out / "snapshots" / n, expected_kind="denoiser") for n in snaps)
    assert s2.meta["optimiser_steps"] == 2 and s4.meta["optimiser_steps"] == 4
    final = load_checkpoint(out / "checkpoint", expected_kind="denoiser")
    assert all(torch.equal(s4.state_dict[k], final.state_dict[k]) for k in final.state_dict)
    assert any(not torch.equal(s2.state_dict[k], s4.state_dict[k]) for k in s2.state_dict)


@pytest.mark.parametrize("extra, msg", [
    (["--method", "draft", "--k", "9"], "between 1 and the 4 sampler steps"),
    (["--lr", "0"], "learning rate must be positive"),
    (["--lr", "3"], "absurdly large"),
    (["--select", "last:7"], "between 1 and the 4"),
    (["--keep-every", "-1"], "keep_every must be >= 0"),
])
def test_cli_bad_input_exits_2_with_a_message(ckpts, tmp_path, capsys, extra, msg):
    assert main(_args(ckpts, tmp_path / "bad", *extra)) == 2
    assert msg in capsys.readouterr().err


def test_cli_unknown_method_and_empty_prompts(ckpts, tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main(_args(ckpts, tmp_path / "x", "--method", "ppo"))
    assert exc.value.code == 2 and "invalid choice" in capsys.readouterr().err
    empty = tmp_path / "prompts.txt"
    empty.write_text("\n  \n")
    args = ["finetune", "--base", str(ckpts / "base"), "--reward", str(ckpts / "reward"), "--out",
            str(tmp_path / "y"), "--prompts-file", str(empty)]
    assert main(args) == 2
    assert "prompt list is empty" in capsys.readouterr().err


def test_cli_noisy_reward_needs_the_base_models_normalisation(ckpts, tmp_path, capsys):
    rm = RewardModel(RewardConfig(feature_dim=F, width=16, layers=1, heads=2, ff=32, embed_dim=8, max_frames=40))
    save_checkpoint(tmp_path / "other_reward", rm, rm.config, "reward", np.full(F, 0.5), np.full(F, 2.0))
    args = _args(ckpts, tmp_path / "run", "--steps", "1", "--reward-target", "noisy")
    args[args.index("--reward") + 1] = str(tmp_path / "other_reward")
    assert main(args) == 2
    assert "reward_target 'noisy' needs a reward model normalised" in capsys.readouterr().err
    args[args.index("--reward-target") + 1] = "x0"  # clean features are mapped between the two
    assert main(args) == 0
