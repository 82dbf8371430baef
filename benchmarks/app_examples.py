"""Do the app's everyday example prompts come out as they say?

Each prompt of the Compare tab's "Everyday actions" examples (``app.compare.EVERYDAY_EXAMPLES``) is
sampled as the app samples it (its default length, 50 DDIM steps, guidance 2.5, and the app's seeds
0, 1, ...: seed 0 is what Compare shows first, which is why this samples through ``generate`` and not
``score_paraphrase``'s per-item noise) with each checkpoint, and judged by the physical rule checks
of ``easytune_core.eval.rules`` written for it below. A prompt-seed passes when all its checks pass.

    python benchmarks/app_examples.py [--checkpoints assets/checkpoints/everyday_base assets/checkpoints/base]
        [--seeds 3]     # about a minute per checkpoint on a 2-core CPU
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # benchmarks/, for the shared `common` module
from common import RESULTS, write_results  # noqa: E402  (also puts the repository root on sys.path)
os.environ.setdefault("HF_HUB_OFFLINE", "1")

# The rule checks of each everyday example of app.compare.EVERYDAY_EXAMPLES (a missing one is an error).
CHECKS = {
    "a person lies down on the floor": [("lie", "any")],
    "someone crawls forward on hands and knees": [("crawl", "forward")],
    "a person does push-ups": [("push_up", "")],
    "a man bows to the audience": [("bow", "")],
    "she kneels on one knee": [("kneel", "any")],
    "a person stands on the left foot": [("one_foot", "left")],
    "someone does lunges": [("lunge", "any")],
    "a person stretches both arms up over the head": [("stretch", "up")],
}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--checkpoints", nargs="+",
                   default=["assets/checkpoints/everyday_base", "assets/checkpoints/base"])
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--steps", type=int, default=50)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--precision", default="fp32", choices=("fp32", "bf16", "fp16", "auto"))
    p.add_argument("--out", default=str(RESULTS / "app_examples"))
    args = p.parse_args(argv)

    import torch

    from app.compare import EVERYDAY_EXAMPLES
    from easytune_core.eval.rules import judge_case
    from easytune_core.limits import APP_DEFAULT_SECONDS
    from easytune_core.pipeline import MotionPipeline

    missing = [e for e in EVERYDAY_EXAMPLES if e not in CHECKS]
    if missing:
        raise SystemExit(f"no rule checks for the examples {missing}: add them to CHECKS")
    torch.set_num_threads(args.threads)
    rows = []
    for ckpt in args.checkpoints:
        pipe = MotionPipeline.from_checkpoint(ckpt, precision=args.precision)
        for prompt in EVERYDAY_EXAMPLES:
            passed = []
            for seed in range(args.seeds):
                res = pipe.generate(prompt, seconds=APP_DEFAULT_SECONDS, seed=seed, steps=args.steps)
                joints = res.joints[0][:res.lengths[0]]
                passed.append(all(ok for ok, _ in judge_case({"checks": CHECKS[prompt]}, joints, fps=pipe.fps)))
            rows.append({"checkpoint": ckpt, "prompt": prompt, "checks": CHECKS[prompt], "passed": passed})
            print(ckpt, prompt, passed, flush=True)

    names = list(dict.fromkeys(r["checkpoint"] for r in rows))
    totals = {n: sum(sum(r["passed"]) for r in rows if r["checkpoint"] == n) for n in names}
    n_each = len(EVERYDAY_EXAMPLES) * args.seeds
    md = ["# The app's everyday examples under the rule checks",
          "",
          f"{len(EVERYDAY_EXAMPLES)} prompts x {args.seeds} seeds, {APP_DEFAULT_SECONDS:g} s, {args.steps} DDIM steps, "
          f"{args.precision}; passed seeds per prompt.",
          "",
          "| prompt | checks | " + " | ".join(f"`{n}`" for n in names) + " |",
          "|---|---|" + "---|" * len(names)]
    for prompt in EVERYDAY_EXAMPLES:
        cells = [f"{sum(r['passed'])}/{args.seeds}" for n in names for r in rows
                 if r["checkpoint"] == n and r["prompt"] == prompt]
        checks = ", ".join(f"{c} {a}".strip() for c, a in CHECKS[prompt])
        md.append(f"| {prompt} | {checks} | " + " | ".join(cells) + " |")
    md.append("| **all** | | " + " | ".join(f"**{totals[n]}/{n_each}**" for n in names) + " |")
    write_results(args.out, {"seeds": args.seeds, "steps": args.steps, "seconds": APP_DEFAULT_SECONDS,
                             "precision": args.precision, "rows": rows, "passed": totals, "prompt_seeds": n_each},
                  "\n".join(md) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
