"""Speed of one ``train-base`` optimiser step of the frame-space denoiser (noising, forward, loss,
backward, gradient clipping, AdamW, EMA update), for a few settings of the same model, on the same
real batches: dropout (the shipped bases trained with 0.05) and mixed precision (bf16 autocast
where the CPU has native bf16, fp16 AMP on CUDA; fp32 otherwise).

On a CPU, dropout's random masks are a large share of a step (one Bernoulli draw per activation of
every residual branch), so a run without dropout trains more steps per hour; whether it trains a
better model is a question for the validation split, not for this benchmark.

    .venv/bin/python benchmarks/base_training_speed.py --data data/everyday --threads 2
    .venv/bin/python benchmarks/base_training_speed.py --steps 3 --batches 4        # a quick smoke run

Writes benchmarks/results/base_training_speed.{json,md}, stamped with commit, device and date.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # benchmarks/, for the shared `common` module
from common import RESULTS, write_results  # noqa: E402  (also puts the repository root on sys.path)

os.environ.setdefault("HF_HUB_OFFLINE", "1")

# the shipped bases' architecture (scripts/train_shipped.sh, stage 5)
ARCH = dict(width=256, layers=4, heads=4, ff=512)


def step_times(batches, dropout: float, mixed: bool, steps: int, device: str, seed: int = 0) -> list[float]:
    """Seconds of each of ``steps`` optimiser steps (after two untimed ones) over ``batches`` in turn,
    from one freshly initialised model; text embeddings are fixed random 384-d vectors (training
    reads them from the caption cache, a lookup)."""
    import torch

    from easytune_core.diffusion.denoiser import DenoiserConfig, MotionDenoiser
    from easytune_core.diffusion.schedule import NoiseSchedule
    from easytune_core.diffusion.train import amp_dtype, diffusion_loss, ema_update

    torch.manual_seed(seed)
    cfg = DenoiserConfig(feature_dim=int(batches[0]["features"].shape[-1]), dropout=dropout, **ARCH)
    model = MotionDenoiser(cfg).to(device).train()
    ema = MotionDenoiser(cfg).to(device).eval().requires_grad_(False)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    schedule = NoiseSchedule(cfg.schedule, cfg.diffusion_steps)
    gen = torch.Generator().manual_seed(seed)
    scaler = torch.amp.GradScaler("cuda", enabled=mixed and device.startswith("cuda"))
    embs = [torch.randn(b["features"].shape[0], cfg.text_dim, generator=gen).to(device) for b in batches]

    def one(i: int) -> None:
        b = batches[i % len(batches)]
        x0, mask = b["features"].to(device), b["mask"].to(device)
        with torch.autocast(device_type=device.split(":")[0], dtype=amp_dtype(device), enabled=mixed):
            loss = diffusion_loss(model, schedule, x0, mask, embs[i % len(batches)], gen)
        opt.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.unscale_(opt)
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        scaler.step(opt)
        scaler.update()
        ema_update(ema, model, 0.998)
        if device.startswith("cuda"):
            torch.cuda.synchronize()

    for i in range(2):
        one(i)
    out = []
    for i in range(steps):
        t0 = time.perf_counter()
        one(i)
        out.append(time.perf_counter() - t0)
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default="builtin", help="dataset whose training batches are timed")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--steps", type=int, default=20, help="timed optimiser steps per setting")
    ap.add_argument("--batches", type=int, default=20, help="distinct training batches cycled through")
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--dropouts", default="0.05,0", help="comma-separated dropout probabilities")
    ap.add_argument("--out", default=str(RESULTS / "base_training_speed"))
    args = ap.parse_args(argv)
    if args.steps < 1 or args.batches < 1 or args.batch_size < 1:
        ap.error("--steps, --batches and --batch-size must be positive")
    try:
        dropouts = [float(d) for d in args.dropouts.split(",")]
    except ValueError:
        ap.error(f"--dropouts must be comma-separated numbers, got {args.dropouts!r}")
    if any(not 0 <= d < 1 for d in dropouts):
        ap.error("every dropout must be in [0, 1)")
    import torch

    from easytune_core.data.builtin import resolve_dataset
    from easytune_core.data.loader import forever, make_loader
    from easytune_core.diffusion.train import mixed_precision_pays

    torch.set_num_threads(args.threads)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    root = resolve_dataset(args.data)
    it = forever(make_loader(root, "train", args.batch_size, train=True, seed=0))
    batches = [next(it) for _ in range(args.batches)]
    frames = statistics.mean(float(b["mask"].shape[1]) for b in batches)
    precisions = [True, False] if mixed_precision_pays(device) else [False]
    rows = []
    for mixed in precisions:
        for d in dropouts:
            times = step_times(batches, d, mixed, args.steps, device)
            med = statistics.median(times)
            rows.append({"dropout": d, "precision": ("bf16 autocast" if device == "cpu" else "fp16 AMP") if mixed else "fp32",
                         "median_step_s": round(med, 4), "steps_per_minute": round(60 / med, 1),
                         "min_step_s": round(min(times), 4), "max_step_s": round(max(times), 4)})
            print(f"dropout {d} {rows[-1]['precision']}: {med:.3f} s/step", flush=True)
    for r in rows:
        ref = next(x for x in rows if x["precision"] == r["precision"] and x["dropout"] == dropouts[0])
        r["speed_vs_first_dropout"] = round(ref["median_step_s"] / r["median_step_s"], 2)
    data = {"data": str(root), "batch_size": args.batch_size, "batches": args.batches, "steps": args.steps,
            "mean_padded_frames": round(frames, 1), "threads": args.threads, "architecture": ARCH, "rows": rows}
    md = [f"`train-base` optimiser step of the frame-space denoiser (width {ARCH['width']}, {ARCH['layers']} layers, "
          f"{ARCH['heads']} heads, ff {ARCH['ff']}), batch {args.batch_size} of `{root.name}` training batches "
          f"(length-bucketed, {frames:.0f} padded frames on average), {args.threads} threads, median of "
          f"{args.steps} steps per setting:", "",
          f"| dropout | precision | s / step | steps / min | speed vs dropout {dropouts[0]} |", "|---|---|---|---|---|"]
    md += [f"| {r['dropout']} | {r['precision']} | {r['median_step_s']:.3f} | {r['steps_per_minute']:.0f} | "
           f"{r['speed_vs_first_dropout']:.2f}x |" for r in rows]
    write_results(args.out, data, "\n".join(md) + "\n", device=device)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
