"""Best-of-N takes ranked by a reward model, scored by the evaluator: R-Precision (default and
hard-negative groups), FID, MM-Dist and Diversity of the plain model and of the reward's pick of N
takes per prompt (``easytune_core.reward.rank.BestOfPipeline``), on the same pairs, noise and seed
(take 1 of the pick is the plain model's motion). The evaluator and the reward are separate models;
the rule checks of the same picks are ``prompt_following.py --best-of N``.

    python benchmarks/best_of_eval.py --checkpoint assets/checkpoints/everyday_base \\
        --reward assets/checkpoints/everyday_reward --evaluator assets/checkpoints/everyday_evaluator \\
        --data data/everyday --split test --max-prompts 1024 --takes 4 --precision bf16
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # benchmarks/, for the shared `common` module
from common import RESULTS, write_results  # noqa: E402  (also puts the repository root on sys.path)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--checkpoint", required=True, help="denoiser checkpoint")
    ap.add_argument("--reward", required=True, help="reward model checkpoint that ranks the takes")
    ap.add_argument("--evaluator", default=None, help="evaluator checkpoint (default: the shipped one)")
    ap.add_argument("--data", default="builtin")
    ap.add_argument("--split", default="test")
    ap.add_argument("--takes", type=int, default=4)
    ap.add_argument("--max-prompts", type=int, default=1024)
    ap.add_argument("--steps", type=int, default=None, help="DDIM steps (default: the model's)")
    ap.add_argument("--guidance", type=float, default=None, help="guidance weight (default: the model's)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--precision", default="fp32", choices=("fp32", "bf16", "fp16", "auto"))
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--out", default=str(RESULTS / "best_of_eval"))
    args = ap.parse_args(argv)
    if args.takes < 2:
        ap.error("--takes must be at least 2 (1 is the plain model, which the run scores anyway)")

    from easytune_core.data.builtin import resolve_dataset
    from easytune_core.data.dataset import MotionTextDataset
    from easytune_core.data.loader import set_threads
    from easytune_core.eval.model import load_evaluator
    from easytune_core.eval.protocol import evaluate_pipeline
    from easytune_core.pipeline import MotionPipeline
    from easytune_core.reward import load_reward_model
    from easytune_core.reward.rank import BestOfPipeline

    set_threads(args.threads)
    pipe = MotionPipeline.from_pretrained(args.checkpoint, precision=args.precision)
    reward = load_reward_model(args.reward, device=pipe.device)
    evaluator = load_evaluator(args.evaluator, device=pipe.device)
    root = resolve_dataset(args.data)
    dataset = MotionTextDataset(root, split=args.split, random_crop=False)
    steps = pipe.default_steps if args.steps is None else args.steps
    guidance = pipe.default_guidance if args.guidance is None else args.guidance
    common = dict(repeats=1, max_prompts=args.max_prompts, steps=steps, guidance=guidance, seed=args.seed,
                  mm_prompts=0, progress=lambda frac, msg: print(f"[{100 * frac:5.1f}%] {msg}", file=sys.stderr))
    rows = {}
    for name, generator in (("plain", pipe), (f"best of {args.takes}", BestOfPipeline(pipe, reward, args.takes))):
        res = evaluate_pipeline(generator, evaluator, dataset, **common)
        rows[name] = {"generated": res["generated"], "seconds": res["seconds"]}
        real, settings = res["real"], res["settings"]

    data = {"checkpoint": args.checkpoint, "reward": args.reward, "evaluator": args.evaluator, "data": args.data,
            "split": args.split, "takes": args.takes, "precision": pipe.precision, "settings": settings, "real": real,
            "rows": rows}
    md = render(data)
    write_results(args.out, data, md, device=pipe.device)
    print(md)
    return 0


def render(data: dict) -> str:
    """The markdown table of a result (``data`` as main writes it)."""
    def line(name, g):
        r, h = g["r_precision"]["mean"], g.get("r_precision_hard", {}).get("mean", [float("nan")] * 3)
        fid = max(g["fid"]["mean"], 0.0)  # real against itself: 0 up to rounding
        return (f"| {name} | {r[0]:.3f} / {r[1]:.3f} / {r[2]:.3f} | {h[0]:.3f} / {h[2]:.3f} | {fid:.2f} | "
                f"{g['mm_dist']['mean']:.3f} | {g['diversity']['mean']:.2f} |")
    s = data["settings"]
    md = [f"`{data['checkpoint']}` alone and the best of {data['takes']} takes per prompt by `{data['reward']}`, scored "
          f"by `{data['evaluator'] or 'evaluator'}` on the {data['split']} split of `{data['data']}` ({s['pairs']} pairs, "
          f"one replication, the same noise for take 1, {s['steps']} DDIM steps, guidance {s['guidance']:g}, "
          f"{data['precision']}). R@k: groups of 32; hard: groups of 32 holding the ground truth's near twins.", "",
          "| motions | R@1 / R@2 / R@3 | R@1 / R@3 hard | FID | MM-Dist | Diversity |", "|---|---|---|---|---|---|",
          line("real motions", data["real"])]
    md += [line(name, r["generated"]) for name, r in data["rows"].items()]
    return "\n".join(md)


if __name__ == "__main__":
    raise SystemExit(main())
