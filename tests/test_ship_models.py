"""scripts/ship_models.py: run folders become shipped checkpoints with metrics and a model card."""

from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path

import pytest

from easytune_core.checkpoints import load_checkpoint
from easytune_core.hub import read_metrics

ROOT = Path(__file__).resolve().parent.parent


def _script():
    spec = importlib.util.spec_from_file_location("ship_models", ROOT / "scripts" / "ship_models.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_ships_every_kind_with_its_recorded_scores(tiny_stage_run, tmp_path):
    _, _, runs, evals = tiny_stage_run
    ship = _script()
    assets = tmp_path / "assets"
    argv = [f"everyday_reward={runs / 'reward'}", f"everyday_evaluator={runs / 'evaluator'}",
            f"base={runs / 'base'}", f"--eval=base={evals['base']}", "--assets", str(assets)]
    assert ship.main(argv) == 0
    reward = assets / "checkpoints" / "everyday_reward"
    assert load_checkpoint(reward, expected_kind="reward").meta == load_checkpoint(runs / "reward").meta
    m = read_metrics(reward)
    recorded = json.loads((runs / "reward" / "config.json").read_text())["meta"]["retrieval"]["scores"]
    assert m["metrics"]["t2m_r1_clean"] == pytest.approx(recorded["clean"]["batch32"]["t2m"]["1"], abs=1e-4)
    assert m["split"] == "test" and "everyday world" in m["dataset"]
    card = (reward / "README.md").read_text()
    assert "t2m_r1_clean" in card and "everyday reward model" in card
    ev = read_metrics(assets / "checkpoints" / "everyday_evaluator")["metrics"]
    test = json.loads((runs / "evaluator" / "config.json").read_text())["meta"]["real_motion"]["test"]
    assert ev["real_r_precision_top1"] == pytest.approx(test["r_precision"][0], abs=1e-4)
    base = read_metrics(assets / "checkpoints" / "base")
    result = json.loads(Path(evals["base"]).read_text())
    assert base["metrics"]["fid"] == pytest.approx(result["generated"]["fid"]["mean"], abs=1e-4)
    assert base["pairs"] == result["settings"]["pairs"]
    # shipping again replaces the folder whole and leaves nothing beside it
    assert ship.main([f"everyday_reward={runs / 'reward_pretrain'}", "--assets", str(assets)]) == 0
    assert load_checkpoint(reward).meta == load_checkpoint(runs / "reward_pretrain").meta
    assert sorted(p.name for p in (assets / "checkpoints").iterdir()) == ["base", "everyday_evaluator", "everyday_reward"]


def test_refuses_before_writing_anything(tiny_stage_run, tmp_path, capsys):
    _, _, runs, _ = tiny_stage_run
    ship = _script()
    assets = tmp_path / "assets"
    ok = f"everyday_reward={runs / 'reward'}"
    cases = [
        [ok, f"everyday_evaluator={runs / 'reward'}"],  # wrong kind for the name
        [ok, f"base={runs / 'base'}"],  # a generator without its test scores
        [ok, f"nonsense={runs / 'reward'}"],  # not a shipped name
        [ok, f"base={runs / 'base'}", f"--eval=base={runs / 'reward' / 'config.json'}"],  # not an evaluate result
    ]
    for argv in cases:
        assert ship.main([*argv, "--assets", str(assets)]) == 2
        assert "nothing was written" in capsys.readouterr().err
        assert not assets.exists()
    broken = tmp_path / "broken"
    shutil.copytree(runs / "reward", broken)
    (broken / "stats.safetensors").unlink()
    assert ship.main([f"everyday_reward={broken}", "--assets", str(assets)]) == 2
    assert "stats.safetensors" in capsys.readouterr().err and not assets.exists()


def test_default_steps_ships_the_sampler_default_its_scores_were_measured_at(tiny_stage_run, tmp_path, capsys):
    _, _, runs, evals = tiny_stage_run
    ship = _script()
    assets = tmp_path / "assets"
    result = json.loads(Path(evals["base"]).read_text())
    measured = int(result["settings"]["steps"])
    other = tmp_path / "eval_other_steps.json"
    other.write_text(json.dumps({**result, "settings": {**result["settings"], "steps": measured + 1}}))
    base = f"base={runs / 'base'}"
    for argv, why in (([base, f"--eval=base={other}", f"--default-steps=base={measured}"], "not the"),
                      ([f"everyday_reward={runs / 'reward'}", "--default-steps=everyday_reward=4"], "not a denoiser")):
        assert ship.main([*argv, "--assets", str(assets)]) == 2
        assert why in capsys.readouterr().err and not assets.exists()
    for bad in ("base=0", "base=ten", "easytune=4"):
        with pytest.raises(SystemExit):
            ship.main([base, f"--eval=base={evals['base']}", f"--default-steps={bad}", "--assets", str(assets)])
    assert not assets.exists()
    assert ship.main([base, f"--eval=base={evals['base']}", f"--default-steps=base={measured}",
                      "--assets", str(assets)]) == 0
    shipped = load_checkpoint(assets / "checkpoints" / "base", expected_kind="denoiser")
    assert shipped.config["default_steps"] == measured
    run = json.loads((runs / "base" / "config.json").read_text())
    assert run["config"]["default_steps"] != measured  # the shipped default is the override, not the run's
    written = json.loads((assets / "checkpoints" / "base" / "config.json").read_text())
    assert written["meta"] == run["meta"]
    assert {k: v for k, v in written["config"].items() if k != "default_steps"} == \
        {k: v for k, v in run["config"].items() if k != "default_steps"}
