"""`python -m easytune_core select`: scoring snapshots on a held-out split with rules + the evaluator."""

import json

import numpy as np
import pytest
import torch

from easytune_core.checkpoints import save_checkpoint
from easytune_core.cli import main
from easytune_core.diffusion import DenoiserConfig, MotionDenoiser
from easytune_core.finetune.select import candidates_of, choose
from tests.support.fakes import tiny_evaluator


def test_choose_respects_rule_and_fid_tolerances():
    base = {"checkpoint": "base", "rules": 0.60, "fid": 10.0, "top1": 0.20, "mm_dist": 9.0}
    rows = [
        {"checkpoint": "a", "rules": 0.59, "fid": 11.0, "top1": 0.25, "mm_dist": 8.5},
        {"checkpoint": "b", "rules": 0.40, "fid": 9.0, "top1": 0.40, "mm_dist": 7.0},  # rules collapsed
        {"checkpoint": "c", "rules": 0.65, "fid": 30.0, "top1": 0.45, "mm_dist": 6.0},  # FID ran away
        {"checkpoint": "d", "rules": 0.62, "fid": 12.0, "top1": 0.25, "mm_dist": 8.0},
    ]
    assert choose(base, rows)["checkpoint"] == "d"  # ties on top-1 go to the lower MM-Dist
    assert [r["eligible"] for r in rows] == [True, False, False, True]
    assert choose(base, rows[1:3])["checkpoint"] == "base"  # nothing eligible: keep the base model


def _tiny_denoiser(seed):
    torch.manual_seed(seed)
    cfg = DenoiserConfig(text_dim=16, width=16, layers=1, heads=2, ff=32, max_frames=196)
    return MotionDenoiser(cfg), cfg


@pytest.mark.slow
def test_select_cli_scores_every_snapshot_and_copies_the_choice(tmp_path, fake_text, capsys):
    from easytune_core.data.builtin import generate_builtin
    data = tmp_path / "data"
    generate_builtin(data, size=24, seed=0, workers=1)
    names = sorted(p.stem for p in (data / "new_joint_vecs").glob("*.npy"))
    (data / "val.txt").write_text("\n".join(names) + "\n")  # every clip held out, so 32 pairs exist
    mean, std = np.load(data / "Mean.npy"), np.load(data / "Std.npy")
    run = tmp_path / "run"
    for i, folder in enumerate([tmp_path / "base", run / "snapshots" / "step-000002", run / "checkpoint"]):
        model, cfg = _tiny_denoiser(i)
        save_checkpoint(folder, model, cfg, "denoiser", mean, std, meta={"optimiser_steps": 2 * i})
    ev = tiny_evaluator(fake_text, data)
    save_checkpoint(tmp_path / "ev", ev, ev.config, "evaluator", ev.mean.numpy(), ev.std.numpy())
    assert [p.name for p in candidates_of([str(run)])] == ["step-000002", "checkpoint"]

    dst = tmp_path / "chosen"
    rc = main(["select", str(run), "--base", str(tmp_path / "base"), "--evaluator", str(tmp_path / "ev"),
               "--data", str(data), "--rule-captions", "6", "--eval-prompts", "32", "--steps", "2",
               "--precision", "fp32", "--device", "cpu", "--copy-to", str(dst), "--fid-tolerance", "100",
               "--rule-tolerance", "1"])
    assert rc == 0
    report = json.loads((run / "selection.json").read_text())
    assert len(report["candidates"]) == 2 and report["settings"]["split"] == "val"
    for row in [report["base"], *report["candidates"]]:
        assert 0 <= row["rules"] <= 1 and row["rule_checks"] > 0 and np.isfinite(row["fid"])
    assert report["chosen"] in {c["checkpoint"] for c in report["candidates"]}  # every candidate was eligible
    assert (dst / "model.safetensors").is_file()
    assert "(chosen)" in (run / "selection.md").read_text()
    capsys.readouterr()

    assert main(["select", str(run), "--split", "train", "--data", str(data)]) == 2
    assert "held-out split" in capsys.readouterr().err
    (tmp_path / "empty_run").mkdir()
    assert main(["select", str(tmp_path / "empty_run"), "--data", str(data)]) == 2
    assert "--keep-every" in capsys.readouterr().err

