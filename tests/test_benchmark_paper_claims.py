"""benchmarks/paper_claims.py end to end at --scale tiny on stand-in checkpoints and a synthetic payload,
plus its analysis helpers on hand-made numbers."""

import json
import math
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

import paper_claims  # noqa: E402
from claims import analysis, payload as pl, report  # noqa: E402
from claims.runs import OrderedPrompts, method_config, updates_per_trajectory  # noqa: E402
from claims.scales import METHODS, SCALES, method_for_steps  # noqa: E402

TWO = "EasyTune (step),DRaFT-50"
FAST = ["--set", "ablation_seeds=0"]


def make_payload(folder: Path) -> Path:
    """A synthetic payload: stand-in checkpoints, 12 train prompts, 40 val and 40 test pairs."""
    from tests.support.standins import build_tiny_assets
    from easytune_core.eval.rules import checks_for

    a = build_tiny_assets(folder / "a")
    b = build_tiny_assets(folder / "b", seed=5)
    rng = np.random.default_rng(0)
    payload = {"train": [[f"a person walks forward {i}", 20 + i % 8] for i in range(12)]}
    tensors = {}
    for split in ("val", "test"):
        caps = [f"a person {'walks forward' if i % 2 else 'turns left'} {split} {i}" for i in range(40)]
        payload[split] = {"captions": caps, "lengths": [24 + i % 8 for i in range(40)]}
        payload[f"{split}_rules"] = [{"name": f"{split}{i}", "caption": c, "checks": checks_for(c), "frames": 28}
                                     for i, c in enumerate(caps[:4])]
        tensors[f"{split}_real"] = torch.tensor(rng.normal(size=(40, 16)), dtype=torch.float32)
        tensors[f"{split}_text"] = torch.tensor(rng.normal(size=(40, 16)), dtype=torch.float32)
    caps = sorted({c for c, _ in payload["train"]} | set(payload["val"]["captions"]) | set(payload["test"]["captions"]))
    payload["text_captions"] = caps
    tensors["text_emb"] = torch.nn.functional.normalize(
        torch.randn(len(caps), 384, generator=torch.Generator().manual_seed(0)), dim=-1)
    c = a / "checkpoints"
    pl.save(folder / "payload", payload, tensors, {"base": c / "base", "reward": c / "reward",
                                                   "reward_nospl": b / "checkpoints" / "reward",
                                                   "evaluator": c / "evaluator"}, {"spl_note": "stand-in rewards"})
    return folder / "payload"


@pytest.fixture(scope="module")
def shared(tmp_path_factory):
    from easytune_core.text import encoders
    saved = dict(encoders._ENCODERS)  # the experiment serves the text encoder from the payload
    threads = torch.get_num_threads()  # and sets the scale's thread count
    folder = tmp_path_factory.mktemp("claims")
    yield folder, make_payload(folder)
    encoders._ENCODERS.clear()
    encoders._ENCODERS.update(saved)
    torch.set_num_threads(threads)


def _args(folder: Path, payload: Path, name: str, *extra) -> list[str]:
    return ["--scale", "tiny", "--payload", str(payload), "--work", str(folder / name / "work"),
            "--out", str(folder / name / "res"), "--figures", str(folder / name / "fig"), "--device", "cpu",
            "--methods", TWO, *FAST, *extra]


@pytest.fixture(scope="module")
def full_run(shared):
    folder, payload = shared
    assert paper_claims.main(_args(folder, payload, "full")) == 0
    return folder / "full", json.loads((folder / "full" / "res.json").read_text())


@pytest.mark.slow
def test_results_hold_every_section(full_run):
    folder, res = full_run
    scale = SCALES["tiny"]
    assert not res["errors"]
    assert res["stamp"]["commit"] and res["stamp"]["torch"] and res["stamp"]["date"]
    assert {v["scale"] for v in res["sources"].values()} == {"tiny"}
    # every unit names the payload it ran on; the work folder is the record: scale.json and the units only
    assert {v["payload_digest"] for v in res["sources"].values()} == {pl.digest(folder.parent / "payload")}
    assert sorted(p.name for p in (folder / "work").iterdir()) == ["scale.json", "units"]
    for name in TWO.split(","):
        rec = res["methods"][name]
        assert len(rec["runs"]) >= 3
        for budget in ("equal_trajectories", "equal_time"):
            for metric in ("top1", "top2", "top3", "fid", "mm_dist", "diversity", "rules", "reward"):
                m = rec[budget][metric]
                assert m["n"] == 3 and m["mean"] is not None and m["ci"] is not None and m["ci"] >= 0
        assert rec["equal_trajectories"]["trajectories"]["values"] == [scale.trajectories] * 3
        assert all(t >= scale.seconds for t in rec["equal_time"]["seconds"]["values"])
        curve = rec["reward_curve"]
        assert len(curve["seconds"]) == len(curve["mean"]) and curve["mean"][0] == pytest.approx(
            res["base"]["probe_reward"], abs=1e-4)
        assert rec["seconds_per_step"]["mean"] > 0
        assert set(res["memory"][name]) == {str(t) for t in scale.memory_steps}
        assert all(row["additional_mb"] >= 0 for row in res["memory"][name].values())
    # EasyTune takes one optimiser step per selected denoising step, DRaFT one per trajectory
    et, d50 = res["methods"]["EasyTune (step)"]["runs"][0], res["methods"]["DRaFT-50"]["runs"][0]
    assert et["updates_per_trajectory"] == 10 and d50["updates_per_trajectory"] == 1
    assert res["methods"]["EasyTune (step)"]["runs"][0]["val"], "seed 0 keeps val snapshots"
    g = res["gradnorm"]
    assert len(g["draft_param"]) == len(g["easytune_param"]) == scale.sampler_steps
    assert all(v >= 0 and math.isfinite(v) for v in g["draft_param"] + g["easytune_param"])
    assert set(res["ratios"]) >= {"paper", "memory_ratio", "mm_dist_gain_equal_trajectories", "mm_dist_gain_equal_time"}
    assert set(res["alignment"]) == set(TWO.split(","))
    assert set(res["versus"]) == set(TWO.split(",")) - {"EasyTune (step)"}
    assert set(res["lr_selection"]) == set(TWO.split(",")) and all(
        sel["lr"] in scale.lr_grid for sel in res["lr_selection"].values())
    labels = set(res["ablations"])
    assert {"EasyTune (step), select random:10", "EasyTune (step), select all",
            "EasyTune (step), noisy-input reward", "EasyTune (step), reward without SPL"} <= labels
    pngs = sorted(p.name for p in (folder / "fig").glob("*.png"))
    assert pngs == sorted(f"paper_claims_{n}.png" for n in ("reward_vs_time", "quality_vs_progress",
                                                             "reward_vs_alignment", "memory_vs_steps",
                                                             "gradnorm_per_step"))
    md = (folder / "res.md").read_text()
    for heading in ("## Equal number of generated trajectories", "## Equal training wall time", "## Efficiency",
                    "## Headline ratios", "## EasyTune (step) against each method", "## Ablations", "## Learning rates"):
        assert heading in md


@pytest.mark.slow
def test_resume_after_a_kill_gives_the_same_results(shared, full_run):
    folder, payload = shared
    args = _args(folder, payload, "resumed")
    with pytest.raises(SystemExit) as stop:
        paper_claims.main(args + ["--stop-after", "6"])
    assert stop.value.code == 3
    units = folder / "resumed" / "work" / "units"
    first = {p: p.read_text() for p in units.rglob("*.json")}
    assert len(first) == 6
    with pytest.raises(SystemExit):  # refuses to overwrite without --resume
        paper_claims.main(args)
    assert paper_claims.main(args + ["--resume"]) == 0
    assert all(p.read_text() == text for p, text in first.items()), "saved units are kept, not redone"
    res = json.loads((folder / "resumed" / "res.json").read_text())
    _, straight = full_run
    for name in TWO.split(","):
        for metric in ("top1", "fid", "mm_dist", "reward"):
            assert res["methods"][name]["equal_trajectories"][metric]["values"] == pytest.approx(
                straight["methods"][name]["equal_trajectories"][metric]["values"], abs=1e-6)
    assert {m: sel["lr"] for m, sel in res["lr_selection"].items()} == {
        m: sel["lr"] for m, sel in straight["lr_selection"].items()}


@pytest.mark.slow
def test_minutes_stop_between_units_and_still_write_results(shared):
    folder, payload = shared
    args = _args(folder, payload, "timed")
    assert paper_claims.main(args + ["--parts", "base,memory"]) == 0
    units = folder / "timed" / "work" / "units"
    saved = sorted(p.name for p in units.rglob("*.json"))
    assert paper_claims.main(args + ["--resume", "--minutes", "1e-9"]) == 0  # every further unit is left
    assert sorted(p.name for p in units.rglob("*.json")) == saved
    res = json.loads((folder / "timed" / "res.json").read_text())
    assert res["base"] and res["memory"]["DRaFT-50"] and not res["methods"]
    with pytest.raises(SystemExit):
        paper_claims.main(args + ["--resume", "--minutes", "-1"])


@pytest.mark.slow
def test_figures_only_redraws_from_the_json(full_run, tmp_path):
    folder, _ = full_run
    assert paper_claims.main(["--scale", "tiny", "--out", str(folder / "res"), "--figures", str(tmp_path),
                              "--figures-only"]) == 0
    assert len(list(tmp_path.glob("paper_claims_*.png"))) == 5


@pytest.mark.slow
def test_memory_is_measured_in_a_fresh_process(shared):
    folder, payload = shared
    args = ["--scale", "tiny", "--payload", str(payload), "--work", str(folder / "iso" / "work"), "--out",
            str(folder / "iso" / "res"), "--figures", str(folder / "iso" / "fig"), "--device", "cpu",
            "--methods", "EasyTune (step)", "--parts", "memory", "--set", "isolate_memory=true", "--set", "memory_steps=5"]
    assert paper_claims.main(args) == 0
    res = json.loads((folder / "iso" / "res.json").read_text())
    row = res["memory"]["EasyTune (step)"]["5"]
    assert res["sources"]["memory/EasyTune (step)/T5"]["payload_digest"] == pl.digest(payload)
    assert not (folder / "iso" / "work" / "specs").exists()  # a fresh process's spec lives in a temporary folder
    assert row["measure"].startswith("peak RSS") and "fresh process" in row["measure"] and row["additional_mb"] >= 0
    assert row["baseline_mb"] > 0 and row["optimiser_steps"] == 1


# ----------------------------------------------------------------------------------------- helpers
def test_payload_digest_follows_the_files_not_the_manifest(tmp_path):
    folder = tmp_path / "p"
    (folder / "checkpoints" / "base").mkdir(parents=True)
    (folder / "payload.json").write_text("{}")
    (folder / "checkpoints" / "base" / "model.safetensors").write_bytes(b"abc")
    (folder / "manifest.json").write_text("{}")
    first = pl.digest(folder)
    (folder / "manifest.json").write_text('{"note": "x"}')
    assert pl.digest(folder) == first
    (folder / "checkpoints" / "base" / "model.safetensors").write_bytes(b"abd")
    assert pl.digest(folder) != first and len(first) == 16


def test_host_peak_is_per_window():
    from claims.efficiency import HostPeak
    h = HostPeak()
    if not h.resettable:
        pytest.skip("no resettable high-water mark on this system")
    h.start()
    big = np.ones(200_000_000 // 8)
    first = h.peak()
    del big
    h.start()
    small = np.ones(20_000_000 // 8)
    second = h.peak()
    del small
    assert first - second > 100  # MiB: the second window does not inherit the first one's peak


def test_mean_ci_uses_student_t_over_seeds():
    m = analysis.mean_ci([1.0, 2.0, 3.0])
    assert m["mean"] == 2.0 and m["n"] == 3
    assert m["ci"] == pytest.approx(4.302653 * 1.0 / math.sqrt(3), rel=1e-5)
    assert analysis.mean_ci([None, 5.0])["ci"] is None and analysis.mean_ci([])["mean"] is None


def test_time_to_threshold_interpolates_between_probes():
    run = {"probes": [{"seconds": 10.0, "reward": 0.6}, {"seconds": 20.0, "reward": 0.8}], "test": {}}
    assert analysis.time_to(run, 0.5, 0.7) == pytest.approx(15.0)
    assert analysis.time_to(run, 0.5, 0.55) == pytest.approx(5.0)
    assert analysis.time_to(run, 0.5, 0.9) is None


def test_common_threshold_is_reached_by_every_improving_run():
    def run(rs):
        return {"probes": [{"seconds": 10.0 * (i + 1), "reward": r} for i, r in enumerate(rs)], "test": {}}
    methods = {"A": {"runs": [run([0.6, 0.7]), run([0.55, 0.65])]}, "B": {"runs": [run([0.52, 0.6])]},
               "C": {"runs": [run([0.4, 0.45])]}}
    thr = analysis.common_threshold(methods, 0.5)
    assert thr["threshold"] == pytest.approx(0.5 + 0.8 * 0.1) and thr["limited_by"] == "B"
    assert thr["excluded"] == ["C"]
    for name in ("A", "B"):
        assert all(analysis.time_to(r, 0.5, thr["threshold"]) is not None for r in methods[name]["runs"])


def test_lr_choice_respects_the_fid_guard():
    base = {"top1": 0.4, "fid": 5.0, "mm_dist": 6.0, "rules": 0.8}
    trials = [{"lr": 1e-5, "val": {"top1": 0.42, "fid": 5.5, "mm_dist": 5.9, "rules": 0.8}},
              {"lr": 1e-4, "val": {"top1": 0.50, "fid": 9.0, "mm_dist": 5.5, "rules": 0.8}}]
    assert analysis.choose_lr(trials, base)["lr"] == 1e-5
    trials[0]["val"]["fid"] = 8.0
    out = analysis.choose_lr(trials, base)
    assert out["lr"] == 1e-5 and "smallest" in out["why"]


def test_paired_gain_pairs_seeds():
    def runs(vals):
        return [{"seed": s, "test": {"equal_time": {"mm_dist": v}}} for s, v in enumerate(vals)]
    g = analysis.paired_gain(runs([9.0, 18.0]), runs([10.0, 20.0]), "equal_time")
    assert g["values"] == pytest.approx([0.1, 0.1]) and g["ci"] == pytest.approx(0.0, abs=1e-12)


def test_versus_pairs_seeds_and_counts_wins_by_direction():
    def runs(rows):
        return [{"seed": s, "test": {"equal_time": row, "equal_trajectories": row}} for s, row in enumerate(rows)]
    et = runs([{"reward": 0.6, "top1": 0.20, "fid": 4.0, "mm_dist": 6.0, "rules": 0.5},
               {"reward": 0.5, "top1": 0.10, "fid": 6.0, "mm_dist": 7.0, "rules": 0.3}])
    other = runs([{"reward": 0.5, "top1": 0.25, "fid": 5.0, "mm_dist": 6.5, "rules": 0.5},
                  {"reward": 0.6, "top1": 0.05, "fid": 5.0, "mm_dist": 6.0, "rules": 0.2}])
    v = analysis.versus({"EasyTune (step)": {"runs": et}, "B": {"runs": other}})
    assert set(v) == {"B"} and set(v["B"]) == {"equal_trajectories", "equal_time"}
    row = v["B"]["equal_time"]
    assert row["reward"]["values"] == pytest.approx([0.1, -0.1]) and row["reward"]["better"] == 1
    assert row["fid"]["values"] == pytest.approx([-1.0, 1.0]) and row["fid"]["better"] == 1  # lower is better
    assert row["mm_dist"]["better"] == 1 and row["top1"]["better"] == 1
    assert row["rules"]["better"] == 1  # a tie is not a win
    assert analysis.versus({"B": {"runs": other}}) == {}
    assert report._delta(row["rules"], 3, True).endswith("pt (1/2)")
    assert report._delta({"mean": -0.5, "ci": 0.25, "better": 2, "n": 3}, 2, False) == "-0.50 ± 0.25 (2/3)"


def test_methods_at_other_trajectory_lengths():
    assert method_for_steps(METHODS["DRaFT-50"], 100)["k"] == 100  # full backprop at every length
    assert method_for_steps(METHODS["DRaFT-10"], 100)["k"] == 10
    assert method_for_steps(METHODS["EasyTune (step)"], 5)["select"] == "last:5"
    assert method_for_steps(METHODS["DRTune"], 5) == {"method": "drtune", "k": 5, "m": 5}
    cfg = method_config(SCALES["cpu"], METHODS["EasyTune (chain)"], 1e-5, 0)
    assert updates_per_trajectory(cfg) == 10 and cfg.warmup == 10 * SCALES["cpu"].warmup_trajectories
    assert updates_per_trajectory(method_config(SCALES["cpu"], METHODS["AlignProp"], 1e-5, 0)) == 1


def test_prompt_order_is_the_same_for_every_method():
    items = [[f"caption {i}", 20 + i] for i in range(10)]
    a, b = OrderedPrompts(items, 3), OrderedPrompts(items, 3)
    first = [a(4) for _ in range(3)]
    assert first == [b(4, torch.Generator().manual_seed(9)) for _ in range(3)]  # the generator is ignored
    assert OrderedPrompts(items, 4)(4) != first[0]


def test_unknown_scale_field_is_refused():
    with pytest.raises(SystemExit):
        paper_claims.parse_set(["epochs=3"], SCALES["tiny"])
    assert paper_claims.parse_set(["seeds=0,1", "isolate_memory=true"], SCALES["tiny"]).seeds == (0, 1)


@pytest.mark.slow
def test_exported_payload_runs_without_the_dataset_or_text_encoder_weights(tmp_path, monkeypatch):
    """The GPU path at a tiny size: --export-payload from a dataset, then the dataset and the text encoder
    are gone and the experiment runs from the payload folder alone."""
    import shutil

    import easytune_core.text as text_module
    from easytune_core.text import encoders
    from tests.support.fakes import FakeTextEncoder, make_tiny_dataset
    from tests.support.standins import build_tiny_assets

    class Encoder384(FakeTextEncoder):
        dim = 384  # the stand-in denoiser's text width

    monkeypatch.setattr(encoders, "_ENCODERS", dict(encoders._ENCODERS))
    monkeypatch.setattr(text_module, "get_text_encoder", lambda name="minilm", device=None, path=None: Encoder384())
    threads = torch.get_num_threads()
    data = make_tiny_dataset(tmp_path / "data", n_train=40, n_test=40)
    (data / "val.txt").write_text("\n".join(f"train{i:03d}" for i in range(40)) + "\n")  # a val split to score on
    ckpts = build_tiny_assets(tmp_path / "assets") / "checkpoints"
    nospl = build_tiny_assets(tmp_path / "other", seed=5) / "checkpoints" / "reward"
    payload, work = tmp_path / "payload", tmp_path / "work"
    sizes = ["--set", "train_prompts=30", "--set", "seeds=0", "--set", "ablation_seeds=0"]
    try:
        assert paper_claims.main(["--scale", "tiny", "--export-payload", str(payload), "--data", str(data),
                                  "--base", str(ckpts / "base"), "--reward", str(ckpts / "reward"),
                                  "--evaluator", str(ckpts / "evaluator"), "--reward-nospl", str(nospl),
                                  "--work", str(work), *sizes]) == 0
        manifest = json.loads((payload / "manifest.json").read_text())
        assert set(manifest["checkpoints"]) == {"base", "reward", "reward_nospl", "evaluator"}
        inputs = json.loads((payload / "payload.json").read_text())
        assert len(inputs["train"]) == 30 and len(inputs["val"]["captions"]) == len(inputs["test"]["captions"]) == 40
        assert inputs["test_rules"] and inputs["val_rules"]

        shutil.rmtree(data)  # a GPU host has neither the dataset ...
        shutil.rmtree(tmp_path / "assets")  # ... nor the checkpoints outside the payload ...

        def no_weights(*_a, **_k):  # ... nor the text encoder's weights
            raise AssertionError("the experiment loaded a text encoder instead of the payload's embeddings")
        monkeypatch.setattr(text_module, "get_text_encoder", encoders.get_text_encoder)
        monkeypatch.setattr(encoders, "_load", no_weights)
        encoders._ENCODERS.clear()
        out = tmp_path / "res"
        assert paper_claims.main(["--scale", "tiny", "--payload", str(payload), "--work", str(work), "--resume",
                                  "--out", str(out), "--figures", str(tmp_path / "fig"), "--device", "cpu",
                                  "--methods", "EasyTune (step)", "--parts", "base,lr,main,ablations",
                                  "--ablations", "noisy", *sizes]) == 0
    finally:
        torch.set_num_threads(threads)
    res = json.loads((tmp_path / "res.json").read_text())
    assert not res["errors"]
    assert res["base"]["test"]["top1"] is not None
    run = res["methods"]["EasyTune (step)"]["runs"][0]
    assert run["test"]["equal_trajectories"]["fid"] is not None and run["probes"]
    assert list(res["ablations"]) == ["EasyTune (step), noisy-input reward"]
    assert (tmp_path / "fig" / "paper_claims_reward_vs_time.png").is_file()


def test_plan_projects_from_costs_measured_at_other_sizes():
    import dataclasses

    from claims import plan

    small = dataclasses.replace(SCALES["cpu"], name="small", batch_size=4, max_frames=40, sampler_steps=10,
                                memory_batch=2, memory_frames=30)
    units = {"lr/DRaFT-50/0.0001": {"result": {"method": "DRaFT-50", "trajectories": 2, "train_seconds": 10.0}},
             "base": {"result": {"test": {"eval_seconds": 99.0, "eval_cpu_seconds": 20.0, "pairs": 38, "rule_cases": 2}}},
             "memory/DRaFT-50/T10": {"cpu_seconds": 2 * (3.0 + 10 * 0.5), "wall_seconds": 60.0,
                                     "result": {"steps": 10}}}
    target = SCALES["cpu"]
    run = {"run": {"method": "DRaFT-50", "lr": 1e-4, "seed": 0, "trajectories": 3, "seconds": None, "test": True}}
    planned = [("main/DRaFT-50/seed0", "run", run), ("memory/DRaFT-50/T100", "memory", {"steps": 100})]
    p = plan.project(planned, units, target, measured=small)
    f = (16 * 80 * (50 + 3 * 50)) / (4 * 40 * (10 + 3 * 10))  # DRaFT-50 differentiates every step
    assert p["costs"]["traj"]["DRaFT-50"] == pytest.approx(5.0 * f)
    assert plan.graph_calls(METHODS["EasyTune (step)"], 50) == 10 and plan.graph_calls(METHODS["ReFL-10"], 50) == 1
    assert p["costs"]["sample"] == pytest.approx(0.5 * 5)  # CPU clock: CPU seconds, not the loaded wall time
    assert p["seconds"]["memory"] == pytest.approx(plan.OVERHEAD + 100 * 0.5 * (4 * 60) / (2 * 30))
    evals = target.test_pairs + target.test_rules
    assert p["seconds"]["main"] == pytest.approx(3 * 5.0 * f + 2.5 * evals + plan.OVERHEAD)
    assert "rescaled" in plan.describe(p) and p["partial"] == []
    other = {"run": {**run["run"], "method": "AlignProp", "seconds": 30.0}}  # no AlignProp cost measured
    q = plan.project([("main/AlignProp/seed0", "run", other)], units, target, measured=small)
    assert q["partial"] == ["main"] and q["seconds"]["main"] >= 30.0 + 2.5 * 2 * evals


def test_resume_runs_a_failed_unit_again(tmp_path, monkeypatch):
    from claims import units

    calls = []

    def execute(spec, env=None, log=print):
        calls.append(spec["id"])
        if len(calls) == 1:
            raise RuntimeError("killed")
        return {"unit": spec["id"], "result": {"ok": 1}}

    monkeypatch.setattr(units, "execute", execute)
    monkeypatch.setattr(units, "make_env", lambda spec: object())
    run = units.Runner(tmp_path, SCALES["tiny"], tmp_path, "cpu", resume=True)
    assert "error" in run("gradnorm", "gradnorm")  # recorded, the experiment goes on
    assert run("gradnorm", "gradnorm")["result"] == {"ok": 1}  # resumed: tried again
    assert run("gradnorm", "gradnorm")["result"] == {"ok": 1} and len(calls) == 2  # saved: not redone
    unit = {"run": {"method": "EasyTune (step)", "lr": 1e-5, "seed": 0}}
    first = run("main/x/seed0", "run", **unit)
    assert first["params"] == unit and first["commit"] and len(calls) == 3
    assert run("main/x/seed0", "run", **unit) == first and len(calls) == 3  # same inputs: reused
    run("main/x/seed0", "run", run={**unit["run"], "lr": 3e-5})  # the lr was chosen again: run again
    assert len(calls) == 4


def test_a_method_with_a_run_that_never_reaches_the_threshold_gets_no_mean_time():
    from claims import report

    def run(seed, probes):
        row = {"seconds": 10.0, "trajectory": 5, "probe_reward": probes[-1][1], "top1": 0.3, "fid": 1.0,
               "mm_dist": 5.0, "rules": 0.5, "reward": 0.5}
        return {"seed": seed, "probes": [{"seconds": t, "reward": r} for t, r in probes], "seconds_per_step": 1.0,
                "seconds_per_trajectory": 2.0, "test": {"equal_trajectories": row, "equal_time": row}}

    up = [(1.0, 0.6), (2.0, 0.9)]
    res = {"scale": {"sampler_steps": 50}, "base": {"probe_reward": 0.5},
           "methods": {"EasyTune (step)": {"runs": [run(s, up) for s in range(3)]},
                       "DRaFT-50": {"runs": [run(0, up), run(1, up), run(2, [(1.0, 0.55), (2.0, 0.58)])]}}}
    report.summarise(res)
    thr = res["threshold"]["threshold"]
    assert 0.5 < thr < 0.58  # every run of both methods gains something: both are in
    assert res["methods"]["EasyTune (step)"]["time_to_threshold"]["mean"] is not None
    assert res["methods"]["DRaFT-50"]["time_to_threshold"]["n"] == 3  # all three runs got there
    res2 = {**res, "methods": {"EasyTune (step)": {"runs": [run(s, up) for s in range(3)]},
                               "DRaFT-50": {"runs": [run(0, up), run(1, up), run(2, [(1.0, 0.5), (2.0, 0.49)])]}}}
    report.summarise(res2)
    d50 = res2["methods"]["DRaFT-50"]["time_to_threshold"]
    assert "DRaFT-50" in res2["threshold"]["excluded"] and d50["mean"] is None and "censored" in d50
    assert "time_to_threshold_ratio" not in res2["ratios"]  # no ratio against a method that did not get there
