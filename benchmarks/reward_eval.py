"""Benchmark: reward forward+backward time (batch 32) and one full test-split evaluation.

    flock /work/heavy.lock .venv/bin/python benchmarks/reward_eval.py [--threads 2] [--skip-eval]

Writes benchmarks/results/reward_eval.json and .md. Uses the shipped reward, evaluator and
base checkpoints (assets/checkpoints/*; --reward, --evaluator, --base name others) and the
built-in dataset (data/builtin; --data).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # benchmarks/, for the shared `common` module
from common import RESULTS, ROOT, write_results  # noqa: E402  (also puts the repository root on sys.path)
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch  # noqa: E402


def bench_reward(folder: Path, frames: int, batch: int, repeats: int, device: str) -> dict:
    from easytune_core.reward import RewardConfig, RewardModel, load_reward_model
    model = load_reward_model(folder, device=device) if (folder / "config.json").exists() else \
        RewardModel(RewardConfig()).eval().to(device)
    g = torch.Generator().manual_seed(0)
    x = torch.randn(batch, frames, model.config.feature_dim, generator=g).to(device)
    mask = torch.ones(batch, frames, dtype=torch.bool, device=device)
    text = torch.nn.functional.normalize(torch.randn(batch, model.config.text_dim, generator=g), dim=-1).to(device)
    out = {}
    for label, t in (("clean", None), ("noisy_t", torch.full((batch,), 250, device=device))):
        times = []
        for i in range(repeats + 1):
            xx = x.clone().requires_grad_(True)
            if device == "cuda":
                torch.cuda.synchronize()
            t0 = time.perf_counter()
            model.reward(xx, mask, text, t).sum().backward()
            if device == "cuda":
                torch.cuda.synchronize()
            if i:  # first call warms up
                times.append(time.perf_counter() - t0)
        out[label] = {"median_s": statistics.median(times), "min_s": min(times), "runs": repeats}
    return out


def bench_eval(data: str, steps: int, device: str, quick: bool, base: str, max_prompts: int | None = None, precision="fp32",
               evaluator=ROOT / "assets/checkpoints/evaluator") -> dict:
    from easytune_core.data.dataset import MotionTextDataset
    from easytune_core.eval import evaluate_pipeline, load_evaluator
    from easytune_core.pipeline import MotionPipeline
    from easytune_core.data.builtin import resolve_dataset
    pipe = MotionPipeline.from_checkpoint(base, device=device, precision=precision)
    ev = load_evaluator(evaluator, device=device)
    ds = MotionTextDataset(resolve_dataset(data), split="test", random_crop=False)
    t0 = time.perf_counter()
    if quick:  # the app's quick mode: QUICK settings, MultiModality included
        res = evaluate_pipeline(pipe, ev, ds, repeats=20, steps=steps, quick=True)
    else:      # one replication over the whole test split
        res = evaluate_pipeline(pipe, ev, ds, repeats=1, steps=steps, mm_prompts=0, max_prompts=max_prompts)
    seconds = time.perf_counter() - t0
    return {"seconds": seconds, "pairs": res["settings"]["pairs"], "steps": res["settings"]["steps"],
            "test_pairs": len(ds), "seconds_per_pair": seconds / res["settings"]["pairs"],
            "repeats": res["settings"]["repeats"], "r_precision_top1": res["generated"]["r_precision"]["mean"][0],
            "fid": res["generated"]["fid"]["mean"], "mm_dist": res["generated"]["mm_dist"]["mean"],
            "precision": pipe.precision}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--frames", type=int, default=196)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--data", default=str(ROOT / "data/builtin"))
    p.add_argument("--steps", type=int, default=50, help="DDIM steps of the evaluation")
    p.add_argument("--skip-eval", action="store_true")
    p.add_argument("--base", default=str(ROOT / "assets/checkpoints/base"), help="denoiser checkpoint to evaluate")
    p.add_argument("--reward", default=str(ROOT / "assets/checkpoints/reward"), help="reward checkpoint to time")
    p.add_argument("--evaluator", default=str(ROOT / "assets/checkpoints/evaluator"), help="evaluator of the evaluations")
    p.add_argument("--max-prompts", type=int, default=None,
                   help="time a subset of the test split and extrapolate to all of it (marked in the table)")
    p.add_argument("--precision", default="fp32", choices=("fp32", "bf16", "fp16", "auto"),
                   help="generator arithmetic during the evaluations (auto: bf16 on CPU, fp16 on CUDA)")
    p.add_argument("--out", default=str(RESULTS))
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    res = {"device": device, "threads": args.threads, "cpu": platform.processor() or platform.machine(),
           "torch": torch.__version__,
           "reward_fwd_bwd": bench_reward(Path(args.reward), args.frames, args.batch,
                                          args.repeats, device),
           "reward_batch": args.batch, "reward_frames": args.frames}
    if not args.skip_eval:
        res["eval_full_test_one_replication"] = bench_eval(args.data, args.steps, device, False, args.base,
                                                           args.max_prompts, precision=args.precision,
                                                           evaluator=args.evaluator)
        res["eval_quick"] = bench_eval(args.data, args.steps, device, True, args.base, precision=args.precision,
                                     evaluator=args.evaluator)
    rf = res["reward_fwd_bwd"]
    lines = ["| Measurement | Seconds |", "|---|---|",
             f"| reward forward+backward, batch {args.batch} x {args.frames} frames, clean | {rf['clean']['median_s']:.3f} |",
             f"| reward forward+backward, batch {args.batch} x {args.frames} frames, with step token | "
             f"{rf['noisy_t']['median_s']:.3f} |"]
    if "eval_full_test_one_replication" in res:
        e, q = res["eval_full_test_one_replication"], res["eval_quick"]
        if e["pairs"] < e["test_pairs"]:
            lines.append(f"| evaluation of {e['pairs']} test pairs, 1 replication, {e['steps']} DDIM steps, {e['precision']} (measured) | "
                         f"{e['seconds']:.1f} |")
            lines.append(f"| full test split ({e['test_pairs']} pairs), 1 replication (extrapolated per pair) | "
                         f"{e['seconds_per_pair'] * e['test_pairs']:.0f} |")
        else:
            lines.append(f"| full test-split evaluation, 1 replication ({e['pairs']} pairs, {e['steps']} DDIM steps, {e['precision']}) | "
                         f"{e['seconds']:.1f} |")
        lines.append(f"| quick evaluation ({q['pairs']} pairs, {q['repeats']} replications, {q['steps']} steps, {q['precision']}) | "
                     f"{q['seconds']:.1f} |")
    md = (f"# reward + eval benchmark ({device}, {args.threads} threads, torch {torch.__version__})\n\n"
          + "\n".join(lines) + "\n")
    write_results(Path(args.out) / "reward_eval", res, md, device=device)
    print(md)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
