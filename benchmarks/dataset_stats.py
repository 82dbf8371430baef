"""What is in a built-in dataset folder, and do its real motions pass the rule checks?

Counts, from ``synth_actions.jsonl`` and the texts: action types, families, actions per motion,
near-twin share and the attributes twins differ in, distinct caption words (lower-cased
alphabetic tokens over all captions) and caption registers; then runs the rule checks of
:mod:`easytune_core.eval.rules` on every checkable caption of a split against the recovered
real motions (``new_joints``), and on each twin pair checks that the twin fails the rule that
names the changed attribute. With ``--generate`` it first generates the dataset into ``--data``
(``generate_builtin``, the function behind ``prepare-data``), timing it, and checks determinism by
generating ``--determinism-size`` motions twice (1 and 2 workers) and comparing every file's bytes.
Writes ``--out``.json/.md through ``benchmarks/common.py`` (stamped).

    python benchmarks/dataset_stats.py --data data/builtin [--split test]
    nice -n 5 python benchmarks/dataset_stats.py --generate --world everyday --data /tmp/everyday \
        --out benchmarks/results/dataset_everyday
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import resource
import shutil
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))  # benchmarks/, for the shared `common` module
from common import RESULTS, write_results  # noqa: E402  (also puts the repository root on sys.path)

from easytune_core.data.builtin import ACTIONS_FILE, WORLD_SIZES, generate_builtin  # noqa: E402
from easytune_core.data.synth.registry import REGISTRY  # noqa: E402
from easytune_core.eval.rules import checks_for, judge  # noqa: E402


def captions(root: Path, name: str) -> list[str]:
    return [line.split("#")[0].strip() for line in (root / "texts" / f"{name}.txt").read_text(encoding="utf-8").splitlines()]


def digest(folder: Path) -> str:
    """sha256 over (relative path, bytes) of every file under ``folder``."""
    h = hashlib.sha256()
    for p in sorted(folder.rglob("*")):
        if p.is_file():
            h.update(str(p.relative_to(folder)).encode())
            h.update(p.read_bytes())
    return h.hexdigest()


def _cpu_seconds() -> float:
    """User + system CPU seconds of this process and of its finished (waited-for) worker processes."""
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def generation(args) -> dict:
    """Generate ``--size`` motions of ``--world`` into ``--data`` (timed), then the determinism check."""
    size = WORLD_SIZES[args.world] if args.size is None else args.size
    load0 = os.getloadavg()
    cpu0 = _cpu_seconds()
    t0 = time.perf_counter()
    summary = generate_builtin(args.data, size=size, seed=args.seed, workers=args.workers, overwrite=True,
                               world=args.world)
    took = time.perf_counter() - t0
    cpu = _cpu_seconds() - cpu0
    # On a machine shared with other jobs the wall time depends on them; the CPU time (this
    # process and its workers) divided by the worker count is what the same run takes on idle cores.
    out = {"world": args.world, "size": size, "seed": args.seed, "workers": args.workers,
           "files_motions": summary.num_motions, "frames": summary.num_frames, "seconds": round(took, 1),
           "cpu_seconds": round(cpu, 1), "idle_estimate_seconds": round(cpu / args.workers, 1),
           "loadavg_before": [round(x, 2) for x in load0], "loadavg_after": [round(x, 2) for x in os.getloadavg()],
           "cpus": os.cpu_count(), "nice": os.nice(0)}
    print(f"generated {size} motions (+ mirrors) in {took:.1f} s", flush=True)
    if args.determinism_size:
        tmp = Path(tempfile.mkdtemp(prefix="dataset_det_"))
        try:
            runs = []
            for w in (1, 2):
                generate_builtin(tmp / f"w{w}", size=args.determinism_size, seed=args.seed, workers=w, world=args.world)
                runs.append(digest(tmp / f"w{w}"))
            generate_builtin(tmp / "again", size=args.determinism_size, seed=args.seed, workers=2, world=args.world)
            runs.append(digest(tmp / "again"))
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        out["determinism"] = {"size": args.determinism_size, "digests": runs, "same_bytes": len(set(runs)) == 1}
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default="data/builtin", help="dataset folder (written first with --generate)")
    ap.add_argument("--split", default="test")
    ap.add_argument("--out", default=str(RESULTS / "dataset_stats"))
    ap.add_argument("--generate", action="store_true", help="generate the dataset into --data first, timed")
    ap.add_argument("--world", default="everyday", choices=("classic", "everyday"))
    ap.add_argument("--size", type=int, default=None, help="motions to generate (default: the world's size)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--determinism-size", type=int, default=200,
                    help="with --generate: motions generated twice more to compare bytes (0 = skip)")
    args = ap.parse_args(argv)
    root = Path(args.data)
    gen = generation(args) if args.generate else None
    t0 = time.time()
    records = [json.loads(line) for line in (root / ACTIONS_FILE).read_text().splitlines()]
    types, kinds, per_motion, families, attrs = Counter(), Counter(), Counter(), Counter(), Counter()
    kind_family = {k: a.family for k, a in REGISTRY.items()}
    for r in records:
        per_motion[len(r["actions"])] += 1
        for a in r["actions"]:
            types[a["type"]] += 1
            kinds[a.get("kind")] += 1
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
    out = {
        "data": str(root), "generation": gen, "motions": len(records),
        "action_types": len(types), "action_kinds": len(kinds), "types": dict(types.most_common()), "families": dict(families.most_common()),
        "actions_per_motion": dict(sorted(per_motion.items())), "twin_share": sum(attrs.values()) / len(records),
        "twin_attributes": dict(attrs.most_common()), "captions": n_caps, "distinct_words": len(words),
        "registers": {k: v / n_caps for k, v in regs.items()},
        "rules": {"split": args.split, "clips": len(names), "clips_checked": clips_checked, "checks": checks,
                  "passed": passed, "pass_fraction": passed / checks if checks else float("nan"),
                  "per_check": {k: {"n": n, "pass": p} for k, (p, n) in sorted(per_check.items())},
                  "failures": failures[:50]},
        "twin_rule_tests": dict(twin_tests), "seconds": round(time.time() - t0, 1),
    }
    t = twin_tests
    lines = [f"# Built-in dataset: contents and rule checks ({len(records)} motions, `{root}`)", "",
             f"- action types (distinct `type` in `{ACTIONS_FILE}`): **{len(types)}** ({len(kinds)} distinct `kind`s, "
             f"the registry's entries, which add variants such as sidestep or walk-and-wave)",
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
    if gen:
        g = gen
        lines[1:1] = ["", f"- generation: {g['world']} world, {g['size']} motions + mirrors, seed {g['seed']}, "
                      f"{g['workers']} workers, nice {g['nice']}: **{g['seconds']:.1f} s** wall (load average "
                      f"{g['loadavg_before'][0]:.1f} before, {g['loadavg_after'][0]:.1f} after, {g['cpus']} CPUs "
                      f"shared with other jobs); CPU time {g['cpu_seconds']:.0f} s, i.e. about "
                      f"**{g['idle_estimate_seconds']:.0f} s** on {g['workers']} idle cores"]
        if "determinism" in g:
            d = g["determinism"]
            lines.insert(3, f"- determinism: {d['size']} motions generated three times (1, 2, 2 workers): "
                         + ("**same bytes**" if d["same_bytes"] else "**bytes differ**"))
    lines += [f"| {k} | {n} | {p / n:.0%} |" for k, (p, n) in sorted(per_check.items())]
    write_results(args.out, out, "\n".join(lines), device="cpu")
    print("\n".join(lines[:12]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
