"""benchmarks/prompt_following.py and benchmarks/shipped_compare.py on a tiny run of every stage."""

import json

import pytest

from tests.support.benchmarks import load_benchmark
from tests.support.tiny_runs import fake_text_patch


@pytest.fixture(scope="module")
def measured(tiny_stage_run, tmp_path_factory):
    root, data, runs, evals = tiny_stage_run
    out = tmp_path_factory.mktemp("rules")
    mp = fake_text_patch()
    try:
        pf = load_benchmark("prompt_following.py")
        rules = {}
        for m in ("base", "easytune"):
            rules[m] = out / f"rules_{m}"
            assert pf.main(["--checkpoint", str(runs / m), "--data", str(data), "--split", "test", "--limit", "12",
                            "--steps", "2", "--paraphrase", "test", "--subsets", "paraphrase", "--seeds", "1",
                            "--threads", "1", "--out", str(rules[m])] + (["--sequences", "6", "--timeline", "prefix"] if m == "base" else [])) == 0
    finally:
        mp.undo()
    return root, evals, {m: p.with_suffix(".json") for m, p in rules.items()}


def test_prompt_following_reports_checks_families_and_the_paraphrase_set(measured):
    root, _, rules = measured
    res = json.loads(rules["base"].read_text())
    assert res["split"] == "test" and res["captions"] == 12 and res["seed"] == 0
    assert res["gt_pass_fraction"] == 1.0  # the rules pass on the real motions they were written for
    assert sum(v["n"] for v in res["per_check"].values()) == res["checks"]
    assert sum(v["n"] for v in res["per_family"].values()) == res["checks"]
    passed = sum(v["gen_pass"] for v in res["per_family"].values())
    assert res["pass_fraction"] == pytest.approx(passed / res["checks"])
    para = res["paraphrase"]
    assert para["split"] == "test" and para["seeds"] == 1
    assert sum(f["prompt_seeds"] for f in para["families"].values()) == para["overall"]["prompt_seeds"] > 0
    assert "Paraphrase set, test split" in rules["base"].with_suffix(".md").read_text()
    seq = res["sequences"]  # ordered checks of captions with 2-4 clauses, by clause count
    assert 0 < seq["all"]["captions"] <= 6
    assert sum(v["captions"] for k, v in seq.items() if k.isdigit()) == seq["all"]["captions"]
    assert 0.0 <= seq["all"]["caption_pass"] <= 1.0 and 0.0 <= seq["all"]["check_pass"] <= 1.0
    assert all(len(e["clauses"]) >= 2 and len(e["gen"]) == sum(map(len, e["clauses"])) for e in seq["examples"])
    assert "Captions that describe actions in order" in rules["base"].with_suffix(".md").read_text()
    by_pos = seq["by_position"]  # which clause fails: every clause's checks counted at its position
    assert set(by_pos) >= {"1", "2"} and sum(v["checks"] for v in by_pos.values()) == seq["all"]["checks"]
    assert "sequences" not in json.loads(rules["easytune"].read_text())
    # the same captions generated as timelines of their clauses, judged the same way
    tl = res["sequences_timeline"]
    assert tl["strategy"] == "prefix" and tl["all"]["captions"] == seq["all"]["captions"]
    assert tl["all"]["gt_caption_pass"] == seq["all"]["gt_caption_pass"]
    assert all(len(e["timeline"]) == sum(map(len, e["clauses"])) for e in tl["examples"])
    assert "each generated as a timeline of its clauses" in rules["base"].with_suffix(".md").read_text()


def test_shipped_compare_tables_and_regressions(measured, tmp_path):
    root, evals, rules = measured
    bench = load_benchmark("shipped_compare.py")
    out = tmp_path / "cmp"
    argv = ["--eval", f"base={evals['base']}", "--eval", f"easytune={evals['easytune']}",
            "--rules", f"base={rules['base']}", "--rules", f"easytune={rules['easytune']}", "--out", str(out)]
    assert bench.main(argv) == 0
    res = json.loads(out.with_suffix(".json").read_text())
    md = out.with_suffix(".md").read_text()
    assert [r["model"] for r in res["rows"]] == ["base", "easytune", "real"]
    for row, m in zip(res["rows"], ("base", "easytune")):
        gen = json.loads(evals[m].read_text())["generated"]
        assert row["fid"] == pytest.approx(gen["fid"]["mean"])
        assert row["r_precision"] == pytest.approx(gen["r_precision"]["mean"])
        assert row["r_precision_hard"] == pytest.approx(gen["r_precision_hard"]["mean"])
    assert "hard R@1" in md and "real test motions" in md and "Paraphrase set, test split" in md
    # every family and metric that got worse is named, and nothing else
    b, e = (json.loads(rules[m].read_text()) for m in ("base", "easytune"))
    worse_fams = {f for f, v in b["per_family"].items() if e["per_family"].get(f, {"gen_pass": 0})["gen_pass"] < v["gen_pass"]}
    named = {r.split(":")[0].split(", ")[1] for r in res["regressions"] if r.startswith("template rule checks")}
    assert named == worse_fams
    fid_worse = res["rows"][1]["fid"] > res["rows"][0]["fid"]
    assert any(r.startswith("FID") for r in res["regressions"]) == fid_worse
    assert ("What got worse" in md) == bool(res["regressions"])

    # with the reward comparison of finetune_efficiency.py --compare
    reward = tmp_path / "reward.json"
    reward.write_text(json.dumps({"before": {"reward": 0.5}, "after": {"reward": 0.4}}))
    assert bench.main(argv + ["--reward-compare", str(reward)]) == 0
    res = json.loads(out.with_suffix(".json").read_text())
    assert [r.get("reward") for r in res["rows"]] == [0.5, 0.4, None]
    assert "reward 0.5000 -> 0.4000 (-0.1)" in res["regressions"]


def test_shipped_compare_refuses_models_measured_differently(measured, tmp_path):
    root, evals, rules = measured
    bench = load_benchmark("shipped_compare.py")
    other = json.loads(evals["easytune"].read_text())
    other["settings"]["steps"] = 50
    changed = tmp_path / "other.json"
    changed.write_text(json.dumps(other))
    with pytest.raises(SystemExit, match="differ in steps"):
        bench.main(["--eval", f"base={evals['base']}", "--eval", f"easytune={changed}",
                    "--rules", f"base={rules['base']}", "--rules", f"easytune={rules['easytune']}",
                    "--out", str(tmp_path / "x")])
    other = json.loads(evals["easytune"].read_text())
    other["evaluator"] = "t2m:elsewhere"
    changed.write_text(json.dumps(other))
    with pytest.raises(SystemExit, match="differ in evaluator"):
        bench.main(["--eval", f"base={evals['base']}", "--eval", f"easytune={changed}",
                    "--rules", f"base={rules['base']}", "--rules", f"easytune={rules['easytune']}",
                    "--out", str(tmp_path / "x")])
    with pytest.raises(SystemExit, match="needs both"):
        bench.main(["--eval", f"base={evals['base']}", "--rules", f"base={rules['base']}",
                    "--rules", f"easytune={rules['easytune']}", "--out", str(tmp_path / "x")])


def test_prompt_following_sequences_alone_as_timelines(tiny_stage_run, tmp_path):
    root, data, runs, _ = tiny_stage_run
    pf = load_benchmark("prompt_following.py")
    common = ["--checkpoint", str(runs / "base"), "--data", str(data), "--split", "test", "--steps", "2",
              "--threads", "1"]
    mp = fake_text_patch()
    try:
        assert pf.main(common + ["--no-template", "--sequences", "3", "--timeline", "blend", "--no-whole",
                                 "--out", str(tmp_path / "seq")]) == 0
        for bad in (["--timeline", "prefix"], ["--sequences", "3", "--no-whole"]):
            with pytest.raises(SystemExit):
                pf.main(common + bad + ["--out", str(tmp_path / "x")])
    finally:
        mp.undo()
    res = json.loads((tmp_path / "seq.json").read_text())
    assert "captions" not in res and "sequences" not in res  # no template split, no one-motion generation
    tl = res["sequences_timeline"]
    assert tl["strategy"] == "blend" and 0 < tl["all"]["captions"] <= 3 and tl["all"]["gt_caption_pass"] == 1.0


def test_prompt_following_samples_at_the_models_own_step_count_by_default(tiny_stage_run, tmp_path):
    import shutil

    _, data, runs, _ = tiny_stage_run
    model = tmp_path / "base"
    shutil.copytree(runs / "base", model)
    cfg = json.loads((model / "config.json").read_text())
    cfg["config"]["default_steps"] = 3
    (model / "config.json").write_text(json.dumps(cfg))
    mp = fake_text_patch()
    try:
        assert load_benchmark("prompt_following.py").main([
            "--checkpoint", str(model), "--data", str(data), "--split", "test", "--limit", "2", "--threads", "1",
            "--out", str(tmp_path / "rules")]) == 0
    finally:
        mp.undo()
    res = json.loads((tmp_path / "rules.json").read_text())
    assert res["steps"] == 3 and "(3 DDIM steps" in (tmp_path / "rules.md").read_text()


def test_prompt_following_best_of_takes_ranked_by_the_reward(tiny_stage_run, tmp_path):
    _, data, runs, _ = tiny_stage_run
    pf = load_benchmark("prompt_following.py")
    common = ["--checkpoint", str(runs / "base"), "--data", str(data), "--split", "test", "--limit", "6",
              "--steps", "2", "--threads", "1", "--paraphrase", "test", "--subsets", "paraphrase", "--seeds", "1"]
    mp = fake_text_patch()
    try:
        assert pf.main(common + ["--out", str(tmp_path / "plain")]) == 0
        assert pf.main(common + ["--best-of", "3", "--reward", str(runs / "reward"), "--out", str(tmp_path / "bo")]) == 0
        for bad in (["--best-of", "3"], ["--reward", str(runs / "reward")], ["--best-of", "0"]):
            with pytest.raises(SystemExit):
                pf.main(common + bad + ["--out", str(tmp_path / "x")])
    finally:
        mp.undo()
    plain, bo = (json.loads((tmp_path / f"{n}.json").read_text()) for n in ("plain", "bo"))
    # the main tables stay the plain run (take 1 is the same motion)
    assert bo["per_check"] == plain["per_check"] and bo["pass_fraction"] == plain["pass_fraction"]
    assert bo["paraphrase"]["overall"] == plain["paraphrase"]["overall"]
    best = bo["best_of"]
    assert best["takes"] == 3 and best["reward"] == str(runs / "reward")
    for part in ("template", "paraphrase"):
        o = best[part]["overall"]
        assert o["take1"]["check_pass"] <= o["best_by_rules"]["check_pass"]
        assert o["reward_pick"]["check_pass"] <= o["best_by_rules"]["check_pass"]
        assert o["mean_over_takes"]["check_pass"] <= o["best_by_rules"]["check_pass"]
        assert 0.0 <= o["pick_is_take1"] <= 1.0
        assert sum(g["captions"] for g in best[part]["groups"].values()) == o["captions"]
    assert best["template"]["overall"]["take1"]["check_pass"] == pytest.approx(plain["pass_fraction"])
    assert best["template"]["overall"]["captions"] == plain["captions"]
    assert "best of 3 takes ranked by the reward model" in (tmp_path / "bo.md").read_text()


def test_best_of_eval_scores_the_plain_model_and_the_rewards_pick(tiny_stage_run, tmp_path):
    _, data, runs, evals = tiny_stage_run
    bench = load_benchmark("best_of_eval.py")
    argv = ["--checkpoint", str(runs / "base"), "--reward", str(runs / "reward"), "--evaluator", str(runs / "evaluator"),
            "--data", str(data), "--split", "test", "--max-prompts", "32", "--steps", "2", "--threads", "1"]
    mp = fake_text_patch()
    try:
        assert bench.main(argv + ["--takes", "3", "--out", str(tmp_path / "bo")]) == 0
        with pytest.raises(SystemExit):
            bench.main(argv + ["--takes", "1", "--out", str(tmp_path / "x")])
    finally:
        mp.undo()
    res = json.loads((tmp_path / "bo.json").read_text())
    assert set(res["rows"]) == {"plain", "best of 3"} and res["settings"]["pairs"] == 32
    # the plain row is what `evaluate` gives for the same model, pairs, steps and seed
    plain = json.loads(evals["base"].read_text())["generated"]
    assert res["rows"]["plain"]["generated"]["fid"]["mean"] == pytest.approx(plain["fid"]["mean"], rel=1e-4)
    assert res["rows"]["plain"]["generated"]["r_precision"]["mean"] == pytest.approx(plain["r_precision"]["mean"])
    assert "| best of 3 |" in (tmp_path / "bo.md").read_text()
