"""benchmarks/easytune_sweep.py end to end on tiny stand-in models and a synthetic payload."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from tests.support.benchmarks import load_benchmark

pytestmark = pytest.mark.slow  # runs the benchmark end to end, a training process per method


def _load_sweep():
    return load_benchmark("easytune_sweep.py")


@pytest.fixture()
def tiny(tmp_path, monkeypatch):
    from tests.support.standins import build_tiny_assets
    from easytune_core.eval.rules import checks_for
    from easytune_core.text import encoders

    # the sweep swaps in a payload-backed shared encoder: keep it out of the other tests
    monkeypatch.setattr(encoders, "_ENCODERS", dict(encoders._ENCODERS))

    assets = build_tiny_assets(tmp_path / "assets")
    sweep = _load_sweep()
    rng = np.random.default_rng(0)
    train = [["a person walks forward", 40], ["a person jumps", 48], ["someone waves with the left hand", 44]]
    val_caps = [f"a person walks forward {i}" if i % 2 else f"a person turns left {i}" for i in range(40)]
    rules = [{"name": f"v{i}", "caption": c, "checks": checks_for(c), "frames": 44}
             for i, c in enumerate(val_caps[:4]) if checks_for(c)]
    assert rules, "the synthetic captions must be checkable"
    payload = {"train": train, "val": {"captions": val_caps, "lengths": [40 + i % 8 for i in range(40)]},
               "val_rules": rules}
    caps = sorted({c for c, _ in train} | set(val_caps) | {""})
    payload["text_captions"] = caps
    emb = torch.nn.functional.normalize(torch.randn(len(caps), 384, generator=torch.Generator().manual_seed(0)), dim=-1)
    tensors = {"text_emb": emb, "val_real": torch.tensor(rng.normal(size=(40, 16)), dtype=torch.float32),
               "val_text": torch.tensor(rng.normal(size=(40, 16)), dtype=torch.float32)}
    sweep.save_inputs(tmp_path / "payload", payload, tensors)
    return sweep, assets / "checkpoints", tmp_path


def test_sweep_scores_base_and_setting_on_payload(tiny):
    sweep, ckpts, tmp = tiny
    out = tmp / "res" / "sweep"
    rc = sweep.main(["--payload", str(tmp / "payload"), "--configs", "b8", "--eval-at", "2,3", "--repeats", "1",
                     "--eval-batch", "40", "--efficiency-seconds", "0", "--device", "cpu", "--threads", "1",
                     "--base", str(ckpts / "base"), "--reward", str(ckpts / "reward"),
                     "--evaluator", str(ckpts / "evaluator"), "--out", str(out)])
    assert rc == 0
    res = json.loads(Path(str(out) + ".json").read_text())
    base = res["base"]
    assert 0.0 <= base["top1"] <= 1.0 and np.isfinite(base["fid"]) and np.isfinite(base["mm_dist"])
    assert 0.0 <= base["rules"] <= 1.0 and -1.0 <= base["reward"] <= 1.0
    points = res["configs"]["b8"]["points"]
    assert [p["step"] for p in points] == [2, 3]  # scored at each requested step count, one run continued
    assert all(p["status"] == "finished" for p in points)
    assert res["configs"]["b8"]["config"]["batch_size"] == 8
    md = Path(str(out) + ".md").read_text()
    assert "| base model | 0 |" in md and "`b8`" in md


def test_render_merges_result_files(tiny, tmp_path):
    sweep, _, _ = tiny
    point = {"step": 5, "train_seconds": 1.0, "status": "finished", "message": "", "reward": 0.5, "top1": 0.4,
             "top3": 0.7, "fid": 5.0, "mm_dist": 6.0, "rules": 0.8}
    a = {"device": "cpu", "base": dict(point, step=0), "configs": {"b8": {"config": {"batch_size": 8}, "points": [point]}},
         "efficiency": {"DRaFT-50": {"steps": 3, "s_per_step": 0.5, "additional_mb": 100.0}}}
    b = {"device": "cpu", "base": dict(point, step=0), "configs": {"b64": {"config": {"batch_size": 64}, "points": [point]}},
         "efficiency": {"EasyTune (step)": {"steps": 9, "s_per_step": 0.05, "additional_mb": 10.0}}}
    for name, r in (("a", a), ("b", b)):
        (tmp_path / f"{name}.json").write_text(json.dumps(r))
    out = tmp_path / "merged"
    assert sweep.main(["--render", str(tmp_path / "a.json"), str(tmp_path / "b.json"), "--out", str(out)]) == 0
    merged = json.loads(Path(str(out) + ".json").read_text())
    assert set(merged["configs"]) == {"b8", "b64"}
    md = Path(str(out) + ".md").read_text()
    assert "batch_size=64" in md and "| EasyTune (step) | 9 | 0.050 | 10.0 | 10.0% |" in md


def test_unknown_setting_is_refused(tiny):
    sweep, _, tmp = tiny
    with pytest.raises(SystemExit):
        sweep.main(["--payload", str(tmp / "payload"), "--configs", "b7"])


def test_efficiency_part_times_every_method(tiny):
    sweep, ckpts, tmp = tiny
    out = tmp / "eff" / "sweep"
    rc = sweep.main(["--payload", str(tmp / "payload"), "--configs", "", "--efficiency-seconds", "0.2",
                     "--device", "cpu", "--threads", "1", "--base", str(ckpts / "base"),
                     "--reward", str(ckpts / "reward"), "--evaluator", str(ckpts / "evaluator"), "--out", str(out)])
    assert rc == 0
    eff = json.loads(Path(str(out) + ".json").read_text())["efficiency"]
    assert set(eff) == set(sweep.EFF_METHODS)
    for name, row in eff.items():
        assert "error" not in row, (name, row.get("error"))
        assert row["steps"] >= 1 and row["s_per_step"] > 0 and row["status"] == "finished"
