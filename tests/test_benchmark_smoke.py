"""Every measuring script of benchmarks/ runs end to end at a tiny size and writes a stamped result.

The numbers of these runs mean nothing (tiny random models, a few repeats); what is checked is that
each script still runs against the current library and writes what its committed result has."""

import json
from pathlib import Path

import pytest

from tests.support.benchmarks import load_benchmark


def _result(out) -> dict:
    data = json.loads(out.with_suffix(".json").read_text())
    md = out.with_suffix(".md").read_text()
    assert {"commit", "date", "device", "torch"} <= set(data["stamp"]) and md.rstrip().splitlines()[-1].startswith("_Stamp:")
    return data


@pytest.fixture(scope="module")
def tiny_run(tiny_stage_run):
    _, data, runs, _ = tiny_stage_run
    return data, runs


def test_sampling(tiny_assets, tmp_path):
    from tests.support.standins import build_tiny_latent

    latent = build_tiny_latent(tmp_path / "latent")
    few = build_tiny_latent(tmp_path / "fewstep", few_step=True)
    out = tmp_path / "sampling"
    assert load_benchmark("sampling.py").main([
        "--checkpoint", str(tiny_assets / "checkpoints" / "base"), "--latent", str(latent), "--few-step", str(few),
        "--threads", "1", "--seconds", "1", "--repeats", "1", "--batch", "2", "--precisions", "fp32",
        "--train-steps", "1", "--out", str(out)]) == 0
    res = _result(out)
    got = {(r["model"], r["steps"], r["batch"]) for r in res["rows"]}
    assert got == {(m, s, b) for m, steps in (("frame-space", [50]), ("latent", [50]), ("few-step", [1, 2, 4]))
                   for s in steps for b in (1, 2)}
    assert all(r["seconds_per_motion"] > 0 and not r["random_weights"] for r in res["rows"])
    assert res["train_seconds_per_step_b32_fp32"] > 0


def test_sampling_text_reuse_ablation(tiny_assets, tmp_path):
    """A token model is timed with and without the text reuse; a pooled model has nothing to ablate."""
    import numpy as np
    import torch

    from easytune_core.checkpoints import save_checkpoint
    from easytune_core.diffusion import DenoiserConfig, MotionDenoiser

    torch.manual_seed(0)
    cfg = DenoiserConfig(width=16, layers=1, heads=2, ff=32, max_frames=40, text_tokens=8)
    save_checkpoint(tmp_path / "tokens", MotionDenoiser(cfg), cfg, "denoiser", np.zeros(263), np.ones(263))
    common = ["--threads", "1", "--seconds", "1", "--repeats", "1", "--batch", "2", "--precisions", "fp32",
              "--train-steps", "1", "--text-reuse-ablation", "--skip-latent"]
    bench = load_benchmark("sampling.py")
    for folder, models in ((tmp_path / "tokens", {"frame-space", "frame-space, text_reuse off"}),
                           (tiny_assets / "checkpoints" / "base", {"frame-space"})):
        out = tmp_path / f"sampling_{folder.name}"
        assert bench.main(["--checkpoint", str(folder), *common, "--out", str(out)]) == 0
        res = _result(out)
        assert {(r["model"], r["batch"]) for r in res["rows"]} == {(m, b) for m in models for b in (1, 2)}


def test_sampling_at_several_step_counts_with_the_sdpa_ablation(tiny_assets, tmp_path):
    """--frame-steps times the frame-space model at each step count; --sdpa-ablation adds a row with
    torch's own encoder layers (at the largest count), whose outputs the default path matches."""
    import numpy as np

    from easytune_core.pipeline import MotionPipeline

    base = tiny_assets / "checkpoints" / "base"
    out = tmp_path / "sampling"
    bench = load_benchmark("sampling.py")
    assert bench.main(["--checkpoint", str(base), "--frame-steps", "10,20", "--sdpa-ablation", "--threads", "1",
                       "--seconds", "1", "--repeats", "1", "--batch", "2", "--precisions", "fp32", "--train-steps",
                       "1", "--skip-latent", "--out", str(out)]) == 0
    rows = _result(out)["rows"]
    assert {(r["model"], r["steps"], r["batch"]) for r in rows} == {
        *(("frame-space", s, b) for s in (10, 20) for b in (1, 2)),
        *(("frame-space, sdpa_layers off", 20, b) for b in (1, 2))}
    with pytest.raises(SystemExit):
        bench.main(["--checkpoint", str(base), "--frame-steps", "ten", "--out", str(tmp_path / "bad")])
    pipe = MotionPipeline.from_checkpoint(base, device="cpu")
    ours = pipe.generate(["a person walks"], seconds=2, steps=5, seed=3).features
    pipe.model.sdpa_layers = False
    np.testing.assert_allclose(pipe.generate(["a person walks"], seconds=2, steps=5, seed=3).features, ours,
                               atol=1e-4, rtol=1e-4)


def test_sampling_with_guidance_intervals(tiny_assets, tmp_path):
    """--guidance-intervals adds a row per interval for the frame-space model, at every step count."""
    base = tiny_assets / "checkpoints" / "base"
    out = tmp_path / "sampling"
    bench = load_benchmark("sampling.py")
    assert bench.main(["--checkpoint", str(base), "--guidance-intervals", "0.5,1;0.7,1", "--threads", "1",
                       "--seconds", "1", "--repeats", "1", "--batch", "2", "--precisions", "fp32", "--train-steps",
                       "0", "--skip-latent", "--out", str(out)]) == 0
    rows = _result(out)["rows"]
    assert {(r["model"], tuple(r["guidance_interval"]), r["batch"]) for r in rows} == {
        *(("frame-space", (0.0, 1.0), b) for b in (1, 2)),
        *((f"frame-space, guided in [{lo}, 1]", (float(lo), 1.0), b) for lo in ("0.5", "0.7") for b in (1, 2))}
    with pytest.raises(SystemExit):
        bench.main(["--checkpoint", str(base), "--guidance-intervals", "0.7,0.2", "--out", str(tmp_path / "bad")])


def test_sampling_compares_frame_space_models_in_one_run(tiny_assets, tmp_path):
    from easytune_core.checkpoints import compact_checkpoint

    base = tiny_assets / "checkpoints" / "base"
    compact_checkpoint(base, tmp_path / "base_int8", "int8")
    out = tmp_path / "sampling"
    assert load_benchmark("sampling.py").main([
        "--checkpoint", str(tmp_path / "base_int8"), "--compare", str(base), "--threads", "1", "--seconds", "1",
        "--repeats", "1", "--batch", "2", "--precisions", "fp32", "--train-steps", "1", "--skip-latent",
        "--out", str(out)]) == 0
    rows = _result(out)["rows"]
    assert {(r["model"], r["checkpoint"], r["batch"]) for r in rows} == {
        (f"frame-space ({Path(f).name})", f, b) for f in (str(tmp_path / "base_int8"), str(base)) for b in (1, 2)}


def test_laterality(tiny_run, fake_text, tmp_path):
    data, runs = tiny_run
    out = tmp_path / "laterality"
    assert load_benchmark("laterality.py").main([
        "--data", str(data), "--pairs", "5", "--reward", str(runs / "reward"), "--evaluator", str(runs / "evaluator"),
        "--threads", "1", "--out", str(out)]) == 0
    res = _result(out)
    assert 0 < res["pairs"] <= 5 and 0 <= res["reward_prefers_own_caption"] <= 1
    for e in res["examples"]:  # a caption that names a side, against its mirror image's caption
        assert e["caption"] != e["mirrored_caption"] and {"left", "right"} & set(e["caption"].replace(".", " ").split())


def test_reward_eval(tiny_run, fake_text, tmp_path):
    data, runs = tiny_run
    assert load_benchmark("reward_eval.py").main([
        "--threads", "1", "--frames", "40", "--batch", "2", "--repeats", "1", "--data", str(data), "--steps", "2",
        "--base", str(runs / "base"), "--reward", str(runs / "reward"), "--evaluator", str(runs / "evaluator"),
        "--max-prompts", "32", "--out", str(tmp_path)]) == 0
    res = _result(tmp_path / "reward_eval")
    assert res["reward_fwd_bwd"]["clean"]["median_s"] > 0
    full, quick = res["eval_full_test_one_replication"], res["eval_quick"]
    assert full["pairs"] == 32 and full["steps"] == 2 and quick["repeats"] > 1


def test_dataset_stats_generates_and_checks_determinism(tmp_path):
    out = tmp_path / "stats"
    assert load_benchmark("dataset_stats.py").main([
        "--generate", "--world", "everyday", "--data", str(tmp_path / "data"), "--size", "30", "--workers", "1",
        "--determinism-size", "4", "--out", str(out)]) == 0
    res = _result(out)
    gen = res["generation"]
    assert gen["size"] == 30 and gen["determinism"] == {**gen["determinism"], "size": 4, "same_bytes": True}
    assert res["rules"]["pass_fraction"] == 1.0  # the rules pass on every real motion they check


def test_data_throughput(tmp_path):
    res = load_benchmark("data_throughput.py").main([
        "--motions", "2", "--batch", "2", "--frames", "40", "--gen-size", "4", "--workers", "1", "--threads", "1",
        "--repeats", "1", "--out", str(tmp_path)])
    assert isinstance(res, dict)
    _result(tmp_path / "data_throughput")


@pytest.mark.slow
def test_interop_cost(tmp_path):
    out = tmp_path / "interop"
    assert load_benchmark("interop_cost.py").main(["--threads", "1", "--batch", "1", "--repeats", "1",
                                                   "--out", str(out)]) == 0
    _result(out)


@pytest.mark.slow
def test_training_cost(tmp_path):
    out = tmp_path / "training_cost"
    assert load_benchmark("training_cost.py").main([
        "--threads", "1", "--steps", "1", "--finetune-batch", "2", "--out", str(out)]) == 0
    _result(out)


def test_base_training_speed(tiny_run, tmp_path):
    data, _ = tiny_run
    out = tmp_path / "base_training_speed"
    assert load_benchmark("base_training_speed.py").main([
        "--data", str(data), "--threads", "1", "--steps", "1", "--batches", "2", "--batch-size", "2",
        "--dropouts", "0.1,0", "--out", str(out)]) == 0
    res = _result(out)
    assert [r["dropout"] for r in res["rows"]][:2] == [0.1, 0.0]
    assert all(r["median_step_s"] > 0 for r in res["rows"])
    assert all(r["speed_vs_first_dropout"] == 1.0 for r in res["rows"] if r["dropout"] == 0.1)


def test_text_probe(tiny_run, fake_text, tmp_path):
    data, _ = tiny_run
    out = tmp_path / "text_probe"
    assert load_benchmark("text_probe.py").main([
        "--data", str(data), "--threads", "1", "--epochs", "1", "--hidden", "8", "--out", str(out)]) == 0
    res = _result(out)
    singles = [r for r in res["rows"] if r["actions"] == 1]
    assert [r["probe"] for r in singles] == ["nearest training caption", "linear", "MLP"]
    assert all(0 <= r["val_accuracy"] <= 1 and r["val"] > 0 for r in res["rows"])
    multi = [r for r in res["rows"] if r["actions"] > 1 and r["probe"] == "MLP"]
    assert multi and all(0 <= r["another_position"] <= 1 - r["val_accuracy"] + 1e-9 for r in multi)
    foreign = tmp_path / "foreign"  # a HumanML3D-layout folder that records no action plans
    foreign.mkdir()
    (foreign / "Mean.npy").write_bytes((data / "Mean.npy").read_bytes())
    with pytest.raises(FileNotFoundError, match="synth_actions.jsonl is missing"):
        load_benchmark("text_probe.py").main(["--data", str(foreign), "--out", str(out)])


@pytest.mark.slow
def test_app_latency_with_tiny_stand_ins(tmp_path):
    assert load_benchmark("app_latency.py").main(["--tiny", "--repeats", "2", "--seconds", "1", "--threads", "1",
                                                  "--out", str(tmp_path)]) == 0
    res = _result(tmp_path / "app_latency_tiny")
    assert res["tiny"] is True


def test_app_examples(tiny_assets, tmp_path):
    out = tmp_path / "app_examples"
    bench = load_benchmark("app_examples.py")
    assert bench.main(["--checkpoints", str(tiny_assets / "checkpoints" / "base"), "--seeds", "1", "--steps", "2",
                       "--threads", "1", "--out", str(out)]) == 0
    res = _result(out)
    from app.compare import EVERYDAY_EXAMPLES
    from easytune_core.eval.rules import CATEGORIES

    assert [r["prompt"] for r in res["rows"]] == EVERYDAY_EXAMPLES and res["prompt_seeds"] == len(EVERYDAY_EXAMPLES)
    assert all(len(r["passed"]) == 1 for r in res["rows"])
    assert {c for checks in bench.CHECKS.values() for c, _ in checks} <= set(CATEGORIES)
