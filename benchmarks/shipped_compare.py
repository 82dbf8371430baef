"""Base vs EasyTune on the test split, from the runs that measured them: one table, regressions named.

    python benchmarks/shipped_compare.py \\
        --eval base=runs/everyday/eval_test_base.json --eval easytune=runs/everyday/eval_test_easytune.json \\
        --rules base=benchmarks/results/prompt_following_everyday_base.json \\
        --rules easytune=benchmarks/results/prompt_following_everyday_easytune.json \\
        [--reward-compare benchmarks/results/reward_compare_everyday.json] --out benchmarks/results/shipped_everyday

Inputs are the JSON files of ``python -m easytune_core evaluate --json`` (the evaluator's metrics),
``benchmarks/prompt_following.py`` (rule checks on the template split and the paraphrase set) and,
optionally, ``benchmarks/finetune_efficiency.py --compare`` (mean reward on fixed train prompts).
Both models must have been measured with the same settings (pairs, seed, steps, guidance; split,
captions and seeds of the rule checks); otherwise the comparison is refused.

The markdown has the headline metrics (with the real motions' row), the rule checks per action
family on the template split and on the paraphrase set, and a list of everything that got worse.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # benchmarks/, for the shared `common` module
from common import RESULTS, write_results  # noqa: E402

MODELS = ("base", "easytune")
LABELS = {"base": "base", "easytune": "**EasyTune**"}
SAME_EVAL = ("pairs", "repeats", "steps", "guidance", "seed", "precision")
SAME_RULES = ("split", "seed", "captions", "checks", "steps", "guidance")


def _pairs(items, what: str) -> dict:
    out = {}
    for item in items:
        name, _, path = item.partition("=")
        if name not in MODELS or not path:
            raise SystemExit(f"--{what} takes base=FILE and easytune=FILE, got {item!r}")
        out[name] = json.loads(Path(path).read_text())
    if set(out) != set(MODELS):
        raise SystemExit(f"--{what} needs both base=FILE and easytune=FILE")
    return out


def _check_same(results: dict, keys, where, what: str) -> None:
    for k in keys:
        vals = {m: where(results[m]).get(k) for m in MODELS}
        if vals["base"] != vals["easytune"]:
            raise SystemExit(f"the two {what} differ in {k}: {vals}; measure both models the same way")


def _se(p: float, n: int) -> float:
    return math.sqrt(max(p * (1 - p), 0.0) / n) if n else float("nan")


def metric_rows(evals: dict, reward: dict | None) -> tuple[list[dict], dict]:
    """Headline rows (base, EasyTune, real) and the real motions' diversity."""
    rows = []
    for m in MODELS:
        g = evals[m]["generated"]
        row = {"model": m, "checkpoint": evals[m].get("checkpoint"),
               "r_precision": [float(v) for v in g["r_precision"]["mean"]],
               "fid": float(g["fid"]["mean"]), "mm_dist": float(g["mm_dist"]["mean"]),
               "diversity": float(g["diversity"]["mean"])}
        if "r_precision_hard" in g:
            row["r_precision_hard"] = [float(v) for v in g["r_precision_hard"]["mean"]]
        if reward:
            row["reward"] = float(reward["before" if m == "base" else "after"]["reward"])
        rows.append(row)
    real = evals["base"]["real"]
    real_row = {"model": "real", "r_precision": [float(v) for v in real["r_precision"]["mean"]],
                "fid": 0.0, "mm_dist": float(real["mm_dist"]["mean"]), "diversity": float(real["diversity"]["mean"])}
    if "r_precision_hard" in real:
        real_row["r_precision_hard"] = [float(v) for v in real["r_precision_hard"]["mean"]]
    return rows + [real_row], real_row


def regressions(rows: list[dict], rules: dict) -> list[str]:
    """Every measured quantity on which EasyTune is worse than the base."""
    base, et, real = rows[0], rows[1], rows[2]
    out = []
    if "reward" in base and et["reward"] < base["reward"]:
        out.append(f"reward {base['reward']:.4f} -> {et['reward']:.4f} ({et['reward'] - base['reward']:+.2g})")
    for key, name in (("r_precision", "R-Precision"), ("r_precision_hard", "hard-negative R-Precision")):
        for k in range(3):
            if key in base and et[key][k] < base[key][k]:
                out.append(f"{name} top-{k + 1} {base[key][k]:.4f} -> {et[key][k]:.4f} "
                           f"({et[key][k] - base[key][k]:+.2g})")
    for key, name in (("fid", "FID"), ("mm_dist", "MM-Dist")):
        if et[key] > base[key]:
            out.append(f"{name} {base[key]:.4f} -> {et[key]:.4f} ({et[key] - base[key]:+.2g}; lower is better)")
    if abs(et["diversity"] - real["diversity"]) > abs(base["diversity"] - real["diversity"]):
        out.append(f"Diversity {base['diversity']:.4f} -> {et['diversity']:.4f} (further from the real motions' "
                   f"{real['diversity']:.4f})")
    for fam, b in sorted(rules["base"]["per_family"].items()):
        e = rules["easytune"]["per_family"].get(fam, {"gen_pass": 0, "n": b["n"]})
        if e["gen_pass"] < b["gen_pass"]:
            out.append(f"template rule checks, {fam}: {b['gen_pass']}/{b['n']} -> {e['gen_pass']}/{e['n']}")
    bp, ep = rules["base"].get("paraphrase"), rules["easytune"].get("paraphrase")
    if bp and ep:
        for fam, b in sorted(bp["families"].items()):
            e = ep["families"].get(fam)
            if e and e["prompt_pass"] < b["prompt_pass"]:
                out.append(f"paraphrase prompts, {fam}: {b['prompt_pass']:.0%} -> {e['prompt_pass']:.0%} "
                           f"of {b['prompt_seeds']} prompt-seeds")
    return out


def compare(evals: dict, rules: dict, reward: dict | None = None) -> dict:
    _check_same(evals, SAME_EVAL, lambda r: r["settings"], "evaluations")
    for key in ("split", "evaluator", "data"):
        if evals["base"].get(key) != evals["easytune"].get(key):
            raise SystemExit(f"the two evaluations differ in {key}: {evals['base'].get(key)!r} vs "
                             f"{evals['easytune'].get(key)!r}; measure both models the same way")
    _check_same(rules, SAME_RULES, lambda r: r, "rule-check runs")
    _check_same(rules, ("split", "seeds"), lambda r: r.get("paraphrase") or {}, "paraphrase runs")
    rows, _ = metric_rows(evals, reward)
    fams = sorted(set(rules["base"]["per_family"]) | set(rules["easytune"]["per_family"]))
    template = {f: {m: rules[m]["per_family"].get(f, {"n": 0, "gen_pass": 0}) for m in MODELS} for f in fams}
    para = None
    if rules["base"].get("paraphrase") and rules["easytune"].get("paraphrase"):
        pf = sorted(set(rules["base"]["paraphrase"]["families"]) | set(rules["easytune"]["paraphrase"]["families"]))
        para = {"split": rules["base"]["paraphrase"]["split"], "seeds": rules["base"]["paraphrase"]["seeds"],
                "overall": {m: rules[m]["paraphrase"]["overall"] for m in MODELS},
                "families": {f: {m: rules[m]["paraphrase"]["families"].get(f) for m in MODELS} for f in pf}}
    return {"settings": {"evaluate": evals["base"]["settings"], "split": evals["base"].get("split"),
                         "evaluator": evals["base"].get("evaluator"), "data": evals["base"].get("data"),
                         "rules": {k: rules["base"].get(k) for k in SAME_RULES}},
            "rows": rows,
            "rules": {"overall": {m: {"checks": rules[m]["checks"], "pass_fraction": rules[m]["pass_fraction"]}
                                  for m in MODELS},
                      "template_families": template, "paraphrase": para},
            "regressions": regressions(rows, rules)}


def markdown(res: dict) -> str:
    st, ev = res["settings"], res["settings"]["evaluate"]
    rows = res["rows"]
    hard = "r_precision_hard" in rows[0]
    rew = "reward" in rows[0]
    lines = [f"Base vs EasyTune on the {st['split']} split. Evaluator ({st['evaluator']}): {ev['pairs']:,} pairs, "
             f"{ev['repeats']} replication(s), {ev['steps']}-step DDIM, guidance {ev['guidance']}, "
             f"{ev.get('precision', 'fp32')}, the same pairs and seeds for both models"
             + (f"; hard-negative R-Precision over {ev.get('hard_negative_queries')} queries whose group of 32 "
                "holds the ground truth's near twins" if hard else "") + ".", ""]
    head = (["model"] + (["reward ↑"] if rew else []) + ["R@1 ↑", "R@2 ↑", "R@3 ↑"]
            + (["hard R@1 ↑", "hard R@3 ↑"] if hard else []) + ["FID ↓", "MM-Dist ↓", "Diversity →"])
    lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        name = {"base": "base", "easytune": "**EasyTune**", "real": "real test motions"}[r["model"]]
        cells = [name] + ([f"{r['reward']:.3f}" if "reward" in r else ""] if rew else [])
        cells += [f"{v:.3f}" for v in r["r_precision"]]
        if hard:
            cells += [f"{r['r_precision_hard'][0]:.3f}", f"{r['r_precision_hard'][2]:.3f}"]
        cells += [f"{r['fid']:.2f}", f"{r['mm_dist']:.2f}", f"{r['diversity']:.2f}"]
        lines.append("| " + " | ".join(cells) + " |")
    ru = res["rules"]
    rs = st["rules"]
    lines += ["", f"Rule checks on {rs['captions']} {rs['split']}-split captions ({rs['checks']} checks, "
              f"{rs['steps']}-step DDIM, guidance {rs['guidance']}); ± is one standard error counting checks as "
              "independent (checks of one caption are not, so it understates the uncertainty):", "",
              "| family | checks | base | EasyTune | change |", "|---|---|---|---|---|"]
    for fam, d in ru["template_families"].items():
        b, e = d["base"], d["easytune"]
        delta = (e["gen_pass"] - b["gen_pass"]) / b["n"] if b["n"] else 0.0
        lines.append(f"| {fam} | {b['n']} | {b['gen_pass'] / max(b['n'], 1):.0%} | "
                     f"{e['gen_pass'] / max(e['n'], 1):.0%} | {delta:+.0%} |")
    ob, oe = ru["overall"]["base"], ru["overall"]["easytune"]
    lines.append(f"| **all** | {ob['checks']} | **{ob['pass_fraction']:.1%}** ± {_se(ob['pass_fraction'], ob['checks']):.1%} "
                 f"| **{oe['pass_fraction']:.1%}** ± {_se(oe['pass_fraction'], oe['checks']):.1%} | "
                 f"{oe['pass_fraction'] - ob['pass_fraction']:+.1%} |")
    para = ru["paraphrase"]
    if para:
        seeds = f"{para['seeds']} seed{'s' if para['seeds'] != 1 else ''}"
        lines += ["", f"Paraphrase set, {para['split']} split ({seeds} per prompt; a prompt passes on a "
                  "seed when all its checks pass; ± counts prompt-seeds as independent, which the seeds of one "
                  "prompt are not):", "",
                  "| family | prompt-seeds | base | EasyTune | change |", "|---|---|---|---|---|"]
        for fam, d in para["families"].items():
            b, e = d["base"], d["easytune"]
            if not b or not e:
                continue
            lines.append(f"| {fam} | {b['prompt_seeds']} | {b['prompt_pass']:.0%} | {e['prompt_pass']:.0%} | "
                         f"{e['prompt_pass'] - b['prompt_pass']:+.0%} |")
        b, e = para["overall"]["base"], para["overall"]["easytune"]
        lines.append(f"| **all** | {b['prompt_seeds']} | **{b['prompt_pass']:.1%}** ± {_se(b['prompt_pass'], b['prompt_seeds']):.1%} "
                     f"| **{e['prompt_pass']:.1%}** ± {_se(e['prompt_pass'], e['prompt_seeds']):.1%} | "
                     f"{e['prompt_pass'] - b['prompt_pass']:+.1%} |")
    lines += ["", ("What got worse with EasyTune (every decrease, however small; compare it with the standard errors "
                   "above):") if res["regressions"] else "Nothing measured here got worse with EasyTune.", ""]
    lines += [f"- {r}" for r in res["regressions"]]
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--eval", action="append", default=[], metavar="MODEL=FILE", help="evaluate --json of base and easytune")
    ap.add_argument("--rules", action="append", default=[], metavar="MODEL=FILE",
                    help="benchmarks/prompt_following.py JSON of base and easytune")
    ap.add_argument("--reward-compare", default=None, help="benchmarks/finetune_efficiency.py --compare JSON")
    ap.add_argument("--out", default=str(RESULTS / "shipped_compare"))
    args = ap.parse_args(argv)
    evals, rules = _pairs(args.eval, "eval"), _pairs(args.rules, "rules")
    reward = None
    if args.reward_compare:
        data = json.loads(Path(args.reward_compare).read_text())
        reward = data.get("reward_compare", data)
    res = compare(evals, rules, reward)
    j, m = write_results(args.out, res, markdown(res))
    print(Path(m).read_text())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
