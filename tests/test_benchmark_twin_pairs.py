"""benchmarks/twin_pairs.py end to end on a small everyday-world folder with stand-in models."""

import json

import numpy as np
import torch

from tests.support.benchmarks import load_benchmark


def test_twin_pairs_scores_every_pair_once_per_attribute(tmp_path, fake_text, capsys):
    from easytune_core.checkpoints import save_checkpoint
    from easytune_core.data.builtin import generate_builtin
    from easytune_core.data.twins import load_twins
    from easytune_core.reward import RewardConfig, RewardModel
    from tests.support.fakes import make_tiny_dataset, tiny_evaluator

    data = tmp_path / "everyday"
    generate_builtin(data, size=40, seed=5, workers=1, world="everyday")
    mean, std = np.load(data / "Mean.npy"), np.load(data / "Std.npy")
    torch.manual_seed(0)
    rcfg = RewardConfig(text_dim=fake_text.dim, width=16, layers=1, heads=2, ff=32, embed_dim=8)
    save_checkpoint(tmp_path / "reward", RewardModel(rcfg), rcfg, "reward", mean, std)
    ev = tiny_evaluator(fake_text, data)
    save_checkpoint(tmp_path / "ev", ev, ev.config, "evaluator", ev.mean.numpy(), ev.std.numpy())

    mod = load_benchmark("twin_pairs.py")
    pairs = mod.twin_pairs(data, "all")
    twins = load_twins(data, "all")
    assert pairs and len(pairs) == sum(1 for a in twins if not a.startswith("M")) // 2
    assert all(b in twins[a] and not a.startswith("M") for a, b, _ in pairs)

    out = tmp_path / "tp"
    argv = ["--data", str(data), "--split", "all", "--rewards", str(tmp_path / "reward"), "--evaluator",
            str(tmp_path / "ev"), "--threads", "1", "--out", str(out)]
    assert mod.main(argv) == 0
    res = json.loads(out.with_suffix(".json").read_text())
    assert res["pairs"] == len(pairs) and len(res["models"]) == 2
    for scores in res["models"].values():
        assert scores["all"]["n"] == 2 * len(pairs) and 0 <= scores["all"]["own_preferred"] <= 1
        assert sum(v["n"] for k, v in scores.items() if k != "all") == scores["all"]["n"]
    assert "chance 50%" in out.with_suffix(".md").read_text()
    capsys.readouterr()

    plain = make_tiny_dataset(tmp_path / "plain")  # no twin records
    (plain / "synth_actions.jsonl").write_text("")
    assert mod.main(["--data", str(plain), "--rewards", str(tmp_path / "reward"), "--out", str(tmp_path / "x")]) == 1
    assert "no near-twin pairs" in capsys.readouterr().err
