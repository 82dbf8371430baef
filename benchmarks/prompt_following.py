"""Does a model follow its text? Rule checks on held-out captions (easytune_core.eval.rules).

For every checkable caption of the split (default test; one caption per clip), the model samples
a motion at the clip's length and joint-space rules judge it: walk direction, jumps leave the
ground, the named hand waves, turns turn the named way, sitting goes down. The same rules run on
the ground-truth motions as a check of the rules. Writes ``--out``.json/.md
(default benchmarks/results/prompt_following).

    python benchmarks/prompt_following.py --checkpoint assets/checkpoints/base --data data/builtin
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))  # benchmarks/, for the shared `common` module
from common import RESULTS, ROOT, write_results  # noqa: E402  (also puts the repository root on sys.path)

from easytune_core.eval.rules import judge, judge_generated, load_rule_cases, summarize  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--checkpoint", default=str(ROOT / "assets/checkpoints/base"))
    ap.add_argument("--data", default=str(ROOT / "data/builtin"))
    ap.add_argument("--split", default="test")
    ap.add_argument("--limit", type=int, default=200, help="captions to check (0 = all checkable ones)")
    ap.add_argument("--steps", type=int, default=50)
    ap.add_argument("--guidance", type=float, default=2.5)
    ap.add_argument("--precision", default="fp32", choices=("fp32", "bf16", "fp16", "auto"))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", default=str(RESULTS / "prompt_following"))
    ap.add_argument("--gt-only", action="store_true", help="only run the rules on the ground-truth motions")
    args = ap.parse_args(argv)
    import torch
    torch.set_num_threads(args.threads)
    from easytune_core.pipeline import MotionPipeline
    root = Path(args.data)
    cases = load_rule_cases(root, args.split, args.limit or None, args.seed)
    if not cases:
        raise SystemExit(f"no checkable captions in {root}/{args.split}.txt")
    if args.gt_only:
        for c in cases:
            c["gt"] = [judge(np.load(root / "new_joints" / f"{c['name']}.npy"), cat, arg) for cat, arg in c["checks"]]
            for (cat, arg), (ok, v) in zip(c["checks"], c["gt"]):
                if not ok:
                    print("GT FAIL", c["name"], c["caption"], cat, arg, v)
        s = summarize(cases, "gt")
        for k, v in s["per_check"].items():
            print(f"{k}: {v['pass']}/{v['n']}")
        return 0
    pipe = MotionPipeline.from_checkpoint(args.checkpoint, precision=args.precision)
    t0 = time.time()
    judge_generated(pipe, cases, args.steps, args.guidance, args.seed, args.batch, gt_root=root,
                    log=lambda m: print(m, file=sys.stderr))
    gen, gt = summarize(cases, "gen"), summarize(cases, "gt")
    summary = {"checkpoint": args.checkpoint, "split": args.split, "captions": len(cases), "checks": gen["checks"],
               "pass_fraction": gen["pass_fraction"], "gt_pass_fraction": gt["pass_fraction"],
               "steps": args.steps, "guidance": args.guidance, "precision": pipe.precision,
               "seconds": round(time.time() - t0, 1),
               "per_check": {k: {"n": v["n"], "gen_pass": v["pass"],
                                 "gt_pass": gt["per_check"].get(k, {}).get("pass", 0),
                                 "gt_n": gt["per_check"].get(k, {}).get("n", 0)}
                             for k, v in gen["per_check"].items()},
               "examples": [{"caption": c["caption"], "checks": c["checks"], "gen": c["gen"]} for c in cases[:20]]}
    lines = [f"Prompt following of `{args.checkpoint}` on {len(cases)} {args.split}-split captions "
             f"({args.steps} DDIM steps, guidance {args.guidance}, {pipe.precision}):", "",
             "| check | captions | model pass | ground-truth pass |", "|---|---|---|---|"]
    for k, v in summary["per_check"].items():
        gt_frac = f"{v['gt_pass'] / v['gt_n']:.0%}" if v["gt_n"] else "-"
        lines.append(f"| {k} | {v['n']} | {v['gen_pass'] / v['n']:.0%} | {gt_frac} |")
    lines.append(f"| **all** | {gen['checks']} | **{gen['pass_fraction']:.0%}** | {gt['pass_fraction']:.0%} |")
    write_results(args.out, summary, "\n".join(lines), device=pipe.device)
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
