"""benchmarks/reward_spl.py on three tiny reward stages trained on a small everyday-world folder."""

import argparse
import json

import pytest

from tests.support.benchmarks import load_benchmark


def _train(rtrain, argv):
    p = argparse.ArgumentParser()
    rtrain.add_arguments(p)
    assert rtrain.run(p.parse_args(argv)) == 0


def test_reward_spl_reads_or_rescores_the_stages(tmp_path, fake_text, monkeypatch):
    from easytune_core.data.builtin import generate_builtin
    from easytune_core.reward import train as rtrain
    import easytune_core.reward.retrieval as retrieval

    data = tmp_path / "everyday"
    generate_builtin(data, size=40, seed=5, workers=1, world="everyday")
    runs = tmp_path / "runs"
    common = ["--data", str(data), "--batch-size", "8", "--width", "16", "--layers", "1", "--embed-dim", "8",
              "--threads", "1", "--eval-split", "all"]
    _train(rtrain, common + ["--out", str(runs / "reward_pretrain"), "--steps", "2"])
    init = ["--init", str(runs / "reward_pretrain"), "--steps", "1"]
    _train(rtrain, common + init + ["--out", str(runs / "reward"), "--spl"])
    _train(rtrain, common + init + ["--out", str(runs / "reward_control")])

    bench = load_benchmark("reward_spl.py")
    out = tmp_path / "spl"
    assert bench.main(["--runs", str(runs), "--out", str(out)]) == 0
    recorded = json.loads(out.with_suffix(".json").read_text())
    assert recorded["rescored"] is False and set(recorded["stages"]) == {"reward_pretrain", "reward", "reward_control"}
    assert "hard32" in recorded["stages"]["reward"]["scores"]["clean"]  # the folder records near twins
    labels = {k: v["label"] for k, v in recorded["stages"].items()}
    assert labels == {"reward_pretrain": "retrieval pre-training",
                      "reward_control": "+ 1 steps, random batches, lr 1e-05, retrieval only",
                      "reward": "+ 1 steps, random batches, lr 1e-05, SPL (k = 10, tau 0.1)"}

    assert bench.main(["--runs", str(runs), "--out", str(out), "--rescore", "--split", "all", "--threads", "1"]) == 0
    again = json.loads(out.with_suffix(".json").read_text())
    assert again["rescored"] is True and "recomputed" in out.with_suffix(".md").read_text()
    for stage, row in again["stages"].items():
        assert (runs / stage / "retrieval_rescored_all.json").is_file()
        # the checkpoints are saved in float32, so the recomputed scores are the recorded ones
        for key, protos in recorded["stages"][stage]["scores"].items():
            for proto, scores in protos.items():
                for side in ("t2m", "m2t"):
                    assert row["scores"][key][proto][side] == pytest.approx(scores[side], abs=1e-9), (stage, key, proto)

    with pytest.raises(SystemExit):  # another split only by rescoring
        bench.main(["--runs", str(runs), "--out", str(out), "--split", "val"])

    def no_recompute(*a, **k):
        raise AssertionError("the cached scores should be used")
    monkeypatch.setattr(retrieval, "evaluate_retrieval", no_recompute)
    assert bench.main(["--runs", str(runs), "--out", str(out), "--rescore", "--threads", "1"]) == 0
