"""A converted MDM is fine-tuned (EasyTune and every baseline, full and LoRA) and evaluated with the same
engine and commands as the project's own models."""

import json

import numpy as np
import pytest
import torch
from _mdm_helpers import TINY_CLIP, write_mdm_run

from easytune_core.checkpoints import load_checkpoint, save_checkpoint
from easytune_core.cli import main
from easytune_core.finetune.config import METHODS
from easytune_core.pipeline import MotionPipeline
from easytune_core.reward import RewardConfig, RewardModel


@pytest.fixture(scope="module")
def converted(tmp_path_factory):
    root = tmp_path_factory.mktemp("mdm_ft")
    pt = write_mdm_run(root / "mdm", latent=32, layers=1, diffusion_steps=50, mask_frames=True)
    assert main(["convert", "mdm", "--checkpoint", str(pt), "--out", str(root / "base"),
                 "--data", str(root / "mdm" / "data"), "--clip-path", str(TINY_CLIP)]) == 0
    torch.manual_seed(0)
    # a reward on MDM's CLIP features (the default reward would bring its own MiniLM text side)
    rm = RewardModel(RewardConfig(feature_dim=263, text_dim=512, width=16, layers=1, heads=2, ff=32, embed_dim=8,
                                  max_frames=40))
    mean, std = np.load(root / "mdm" / "data" / "Mean.npy"), np.load(root / "mdm" / "data" / "Std.npy")
    save_checkpoint(root / "reward", rm, rm.config, "reward", mean, std, meta={"max_t": 25})
    return root


def _finetune(root, out, *extra):
    return main(["finetune", "--base", str(root / "base"), "--reward", str(root / "reward"), "--out", str(out),
                 "--prompt", "a person walks forward", "--prompt", "a person jumps", "--sampler-steps", "4",
                 "--batch-size", "2", "--frames", "12", "--lr", "1e-3", "--warmup", "0", "--device", "cpu", *extra])


@pytest.mark.parametrize("lora", [False, True])
def test_easytune_fine_tunes_a_converted_mdm(converted, tmp_path, lora, capsys):
    extra = ["--lora-rank", "2"] if lora else []
    assert _finetune(converted, tmp_path / "run", "--method", "easytune", "--steps", "2", "--select", "last:2",
                     *extra) == 0
    assert "finished: 2 optimiser steps" in capsys.readouterr().out
    before = load_checkpoint(converted / "base").state_dict
    after = load_checkpoint(tmp_path / "run" / "checkpoint", expected_kind="denoiser")
    assert after.config["sinusoid"] == "interleaved" and after.config["text_encoder"] == "clip-mdm"
    changed = [k for k in before if not torch.equal(before[k], after.state_dict[k])]
    assert changed and all(("encoder.layers" in k) for k in changed) if lora else changed
    pipe = MotionPipeline.from_checkpoint(tmp_path / "run" / "checkpoint", device="cpu")
    assert pipe.text_encoder.name == "clip-mdm"  # the CLIP folder recorded at conversion travels along
    assert np.isfinite(pipe.generate(["a person jumps"], frames=20, steps=3).features).all()


@pytest.mark.parametrize("method", [m for m in METHODS if m != "easytune"])
def test_every_baseline_runs_on_a_converted_mdm(converted, tmp_path, method):
    extra = {"draft": ["--k", "1"], "drtune": ["--k", "1", "--m", "2"], "refl": ["--m", "2"],
             "alignprop": ["--k", "1"], "easytune-chain": ["--select", "last:2"]}.get(method, [])
    assert _finetune(converted, tmp_path / "run", "--method", method, "--steps", "1", "--lora-rank", "2", *extra) == 0
    log = [json.loads(x) for x in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert len(log) == 1 and np.isfinite(log[0]["reward"])


def test_evaluate_scores_a_converted_mdm(converted, tmp_path, capsys):
    from tests.support.fakes import make_tiny_dataset

    from easytune_core.eval.model import Evaluator, EvaluatorConfig

    data = make_tiny_dataset(tmp_path / "data", n_train=4, n_test=32)
    torch.manual_seed(0)
    ev = Evaluator(EvaluatorConfig(movement_dim=16, hidden=16, embed_dim=16))
    save_checkpoint(tmp_path / "ev", ev, ev.config, "evaluator", np.load(data / "Mean.npy"), np.load(data / "Std.npy"))
    out = tmp_path / "res.json"
    assert main(["evaluate", "--checkpoint", str(converted / "base"), "--evaluator", str(tmp_path / "ev"),
                 "--data", str(data), "--repeats", "1", "--steps", "2", "--mm-prompts", "0", "--json", str(out),
                 "--device", "cpu"]) == 0
    res = json.loads(out.read_text())
    assert np.isfinite(res["generated"]["fid"]["mean"])
