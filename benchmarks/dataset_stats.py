"""What is in a built-in dataset folder, and do its real motions pass the rule checks?

Counts, from ``synth_actions.jsonl`` and the texts: action types, families, actions per motion,
near-twin share and the attributes twins differ in, distinct caption words (lower-cased
alphabetic tokens over all captions) and caption registers; then runs the rule checks of
:mod:`easytune_core.eval.rules` on every checkable caption of a split against the recovered
real motions (``new_joints``), and on each twin pair checks that the twin fails the rule that
names the changed attribute. Writes ``--out``.json/.md.

    python benchmarks/dataset_stats.py --data data/builtin [--split test]
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import time
from collections import Counter, defaultdict
from datetime import date
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from easytune_core.data.builtin import ACTIONS_FILE  # noqa: E402
from easytune_core.data.synth.registry import REGISTRY  # noqa: E402
from easytune_core.eval.rules import checks_for, judge  # noqa: E402


def captions(root: Path, name: str) -> list[str]:
    return [line.split("#")[0].strip() for line in (root / "texts" / f"{name}.txt").read_text(encoding="utf-8").splitlines()]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=str(ROOT / "data/builtin"))
    ap.add_argument("--split", default="test")
    ap.add_argument("--out", default=str(ROOT / "benchmarks/results/dataset_stats"))
    args = ap.parse_args(argv)
    root = Path(args.data)
    t0 = time.time()
    records = [json.loads(line) for line in (root / ACTIONS_FILE).read_text().splitlines()]
    types, per_motion, families, attrs = Counter(), Counter(), Counter(), Counter()
    kind_family = {k: a.family for k, a in REGISTRY.items()}
    for r in records:
        per_motion[len(r["actions"])] += 1
        for a in r["actions"]:
            types[a["type"]] += 1
            families[kind_family.get(a.get("kind"), "?")] += 1
        if "twin" in r:
            attrs[r["twin"]["attribute"]] += 1
    words, n_caps, regs = Counter(), 0, Counter()
    for r in records:
        for cap in captions(root, r["name"]):
            n_caps += 1
            words.update(re.findall(r"[a-z]+", cap.lower()))
            regs["capitalised"] += cap[:1].isupper()
            regs["full stop"] += cap.endswith(".")
            regs["while (simultaneous)"] += " while " in cap.lower()
    # Rule checks on the real motions of the split, every checkable caption.
    names = [n for n in (root / f"{args.split}.txt").read_text().split() if n]
    per_check = defaultdict(lambda: [0, 0])
    failures = []
    clips_checked = 0
    for name in names:
        caps = [c for c in captions(root, name) if checks_for(c)]
        if not caps:
            continue
        clips_checked += 1
        joints = np.load(root / "new_joints" / f"{name}.npy")
        for cap in caps:
            for cat, arg in checks_for(cap):
                ok, value = judge(joints, cat, arg)
                per_check[cat][0] += int(ok)
                per_check[cat][1] += 1
                if not ok:
                    failures.append({"name": name, "caption": cap, "check": [cat, arg], "value": value})
    # Twins: the rule naming the changed attribute fails on the twin.
    by_name = {r["name"]: r for r in records}
    split = set(names)
    twin_tests = Counter()
    for r in records:
        if "twin" not in r or r["name"] not in split:
            continue
        mine, other = captions(root, r["name"]), captions(root, r["twin"]["name"])
        jt = None
        for ca, cb in zip(mine, other):
            kb = dict(checks_for(cb))
            for cat, arg in checks_for(ca):
                if cat in kb and kb[cat] != arg:
                    jt = np.load(root / "new_joints" / f"{r['twin']['name']}.npy") if jt is None else jt
                    twin_tests["fails on the twin" if not judge(jt, cat, arg)[0] else "passes on the twin"] += 1
    del by_name
    checks = sum(n for _, n in per_check.values())
    passed = sum(p for p, _ in per_check.values())
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    except OSError:
        commit = "?"
    out = {
        "data": str(root), "commit": commit, "date": date.today().isoformat(), "motions": len(records),
        "action_types": len(types), "types": dict(types.most_common()), "families": dict(families.most_common()),
        "actions_per_motion": dict(sorted(per_motion.items())), "twin_share": sum(attrs.values()) / len(records),
        "twin_attributes": dict(attrs.most_common()), "captions": n_caps, "distinct_words": len(words),
        "registers": {k: v / n_caps for k, v in regs.items()},
        "rules": {"split": args.split, "clips": len(names), "clips_checked": clips_checked, "checks": checks,
                  "passed": passed, "pass_fraction": passed / checks if checks else float("nan"),
                  "per_check": {k: {"n": n, "pass": p} for k, (p, n) in sorted(per_check.items())},
                  "failures": failures[:50]},
        "twin_rule_tests": dict(twin_tests), "seconds": round(time.time() - t0, 1),
    }
    path = Path(args.out)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.with_suffix(".json").write_text(json.dumps(out, indent=1))
    t = twin_tests
    lines = [f"# Built-in dataset: contents and rule checks ({len(records)} motions, commit {commit}, {out['date']})", "",
             f"- action types (distinct `type` in `{ACTIONS_FILE}`): **{len(types)}**",
             f"- distinct caption words (lower-cased alphabetic tokens, {n_caps} captions): **{len(words)}**",
             f"- near twins: **{out['twin_share']:.1%}** of the motions; attributes: "
             + ", ".join(f"{k} {v}" for k, v in attrs.most_common()),
             "- actions per motion: " + ", ".join(f"{k}: {v}" for k, v in sorted(per_motion.items())),
             "- registers: " + ", ".join(f"{k} {v:.0%}" for k, v in out["registers"].items()),
             f"- rule checks on the real {args.split} motions: **{passed}/{checks} pass ({out['rules']['pass_fraction']:.1%})**"
             f" over {clips_checked} of {len(names)} clips with a checkable caption",
             f"- twins: the rule naming the changed attribute fails on the twin in {t['fails on the twin']} of "
             f"{t['fails on the twin'] + t['passes on the twin']} checks", "",
             "| check | captions | pass |", "|---|---|---|"]
    lines += [f"| {k} | {n} | {p / n:.0%} |" for k, (p, n) in sorted(per_check.items())]
    path.with_suffix(".md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines[:10]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
