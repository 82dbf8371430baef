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
    worse = [{"checkpoint": "e", "rules": 0.59, "fid": 10.5, "top1": 0.18, "mm_dist": 8.0}]
    assert choose(base, worse)["checkpoint"] == "base"  # eligible but no better on R@1: keep the base model


def test_choose_keeps_free_phrasing_from_getting_worse():
    base = {"checkpoint": "base", "rules": 0.60, "paraphrase": 0.50, "fid": 10.0, "top1": 0.20, "mm_dist": 9.0}
    rows = [{"checkpoint": "a", "rules": 0.70, "paraphrase": 0.45, "fid": 10.0, "top1": 0.40, "mm_dist": 7.0},
            {"checkpoint": "b", "rules": 0.62, "paraphrase": 0.52, "fid": 10.5, "top1": 0.25, "mm_dist": 8.0}]
    assert choose(base, rows)["checkpoint"] == "b"  # "a" follows templates better but paraphrases worse
    assert choose(base, rows, paraphrase_tolerance=0.1)["checkpoint"] == "a"
    no_para = [{**r, "paraphrase": None} for r in rows]
    assert choose(base, no_para)["checkpoint"] == "a"  # scored without the paraphrase set: not a condition


def _tiny_denoiser(seed):
    torch.manual_seed(seed)
    cfg = DenoiserConfig(text_dim=16, width=16, layers=1, heads=2, ff=32, max_frames=196)
    return MotionDenoiser(cfg), cfg


@pytest.mark.slow
def test_select_cli_scores_every_snapshot_and_copies_the_choice(tmp_path, fake_text, capsys, monkeypatch):
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
    import shutil
    shutil.copytree(run / "checkpoint", run / "snapshots" / "step-000004")  # the final step kept as a snapshot
    assert [p.name for p in candidates_of([str(run)])] == ["step-000002", "step-000004"]
    shutil.rmtree(run / "snapshots" / "step-000004")

    dst = tmp_path / "chosen"
    argv = ["select", str(run), "--base", str(tmp_path / "base"), "--evaluator", str(tmp_path / "ev"),
            "--data", str(data), "--rule-captions", "6", "--eval-prompts", "32", "--steps", "2",
            "--precision", "fp32", "--device", "cpu", "--fid-tolerance", "100", "--rule-tolerance", "1",
            "--paraphrase-seeds", "1", "--paraphrase-tolerance", "1"]
    rc = main([*argv, "--copy-to", str(dst)])
    assert rc == 0
    report = json.loads((run / "selection.json").read_text())
    assert len(report["candidates"]) == 2 and report["settings"]["split"] == "val"
    assert report["settings"]["paraphrase_prompts"] >= 50 and report["settings"]["paraphrase_seeds"] == 1
    for row in [report["base"], *report["candidates"]]:
        assert 0 <= row["rules"] <= 1 and row["rule_checks"] > 0 and np.isfinite(row["fid"])
        assert 0 <= row["paraphrase"] <= 1 and row["paraphrase_prompt_seeds"] == report["settings"]["paraphrase_prompts"]
    assert report["chosen"] in {c["checkpoint"] for c in report["candidates"]}  # every candidate was eligible
    assert (dst / "model.safetensors").is_file()
    md = (run / "selection.md").read_text()
    assert "(chosen)" in md and "paraphrase prompts x 1 seeds" in md
    capsys.readouterr()

    # a cache that is not a JSON object is ignored (scored anew), never trusted
    cache = run / "selection.scores.json"
    kept = cache.read_text()
    cache.write_text("[1, 2]")
    assert main(argv) == 0
    assert json.loads(cache.read_text()).keys() == json.loads(kept).keys()
    capsys.readouterr()

    # a rerun finds every score in selection.scores.json and samples nothing
    import easytune_core.finetune.select as select_module

    def never(*a, **k):
        raise AssertionError("scored again")

    monkeypatch.setattr(select_module, "score_checkpoint", never)
    assert main(argv) == 0
    assert json.loads((run / "selection.json").read_text())["chosen"] == report["chosen"]
    capsys.readouterr()

    # the base named among the runs is the reference row only, not a candidate of its own
    assert main([*argv[:2], str(tmp_path / "base"), *argv[2:]]) == 0
    again = json.loads((run / "selection.json").read_text())
    assert [c["checkpoint"] for c in again["candidates"]] == [c["checkpoint"] for c in report["candidates"]]
    capsys.readouterr()

    assert main(["select", str(run), "--split", "train", "--data", str(data)]) == 2
    assert "held-out split" in capsys.readouterr().err
    assert main(["select", str(run), "--split", "test", "--data", str(data)]) == 2
    assert "choose on val, not on test" in capsys.readouterr().err
    (tmp_path / "empty_run").mkdir()
    assert main(["select", str(tmp_path / "empty_run"), "--data", str(data)]) == 2
    assert "--keep-every" in capsys.readouterr().err

