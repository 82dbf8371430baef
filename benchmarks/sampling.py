"""Sampling and training speed of the shipped base model.

Seconds per motion for a 6-second motion (120 frames) with 50-step DDIM and classifier-free
guidance (cond + uncond in one batched forward), batch 1 and 32, plus seconds per
training step (batch 32 of 6-second motions, bf16 autocast on CPU). Writes
benchmarks/results/sampling.{json,md}. Run under the heavy lock:

    flock /work/heavy.lock .venv/bin/python benchmarks/sampling.py --threads 2
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # benchmarks/, for the shared `common` module
from common import RESULTS, ROOT, write_results  # noqa: E402  (also puts the repository root on sys.path)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--checkpoint", default=str(ROOT / "assets/checkpoints/base"))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seconds", type=float, default=6.0)
    ap.add_argument("--steps", type=int, default=50)
    ap.add_argument("--repeats", type=int, default=3, help="timed runs of batch 1 (best is reported too)")
    ap.add_argument("--train-steps", type=int, default=5)
    ap.add_argument("--out", default=str(RESULTS / "sampling"))
    args = ap.parse_args(argv)
    import torch
    torch.set_num_threads(args.threads)
    from easytune_core.diffusion.train import diffusion_loss
    from easytune_core.pipeline import MotionPipeline
    pipe = MotionPipeline.from_checkpoint(args.checkpoint)
    fast = MotionPipeline.from_checkpoint(args.checkpoint, precision="auto")  # bf16 on CPU, fp16 on CUDA
    prompt = "a person walks forward and waves with the right hand"
    rows = []
    for p in (pipe, fast):
        p.generate([prompt], seconds=args.seconds, steps=2)  # warm-up (text cache, allocator)
        for batch, repeats in ((1, args.repeats), (32, 1)):
            times = []
            for r in range(repeats):
                t0 = time.perf_counter()
                p.generate([prompt] * batch, seconds=args.seconds, steps=args.steps, seed=r, guidance=2.5,
                           return_joints=False)
                times.append(time.perf_counter() - t0)
            rows.append({"what": f"sample batch {batch}, {p.precision}", "batch": batch, "precision": p.precision,
                         "seconds_per_call": min(times), "mean_seconds_per_call": sum(times) / len(times),
                         "seconds_per_motion": min(times) / batch})
    # joints recovery cost for one motion (features -> joints)
    res = pipe.generate([prompt], seconds=args.seconds, steps=args.steps)
    t0 = time.perf_counter()
    pipe.features_to_joints(res.features, res.lengths)
    joints_s = time.perf_counter() - t0
    # training step
    model = pipe.model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-5)
    frames = int(round(args.seconds * pipe.fps))
    x0 = torch.randn(32, frames, pipe.config.feature_dim, device=pipe.device)
    mask = torch.ones(32, frames, dtype=torch.bool, device=pipe.device)
    emb = pipe.encode([prompt] * 32)
    times = []
    for i in range(args.train_steps + 1):
        t0 = time.perf_counter()
        with torch.autocast(device_type=pipe.device, dtype=torch.bfloat16 if pipe.device == "cpu" else torch.float16):
            loss = diffusion_loss(model, pipe.schedule, x0, mask, emb)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if i:
            times.append(time.perf_counter() - t0)
    model.eval()
    train_s = sum(times) / len(times)
    params = sum(p.numel() for p in model.parameters())
    summary = {"checkpoint": args.checkpoint, "device": pipe.device, "threads": args.threads,
               "cpu": platform.processor() or platform.machine(), "params": params,
               "config": pipe.config.to_dict(), "seconds": args.seconds, "steps": args.steps, "guidance": 2.5,
               "rows": rows, "features_to_joints_seconds": joints_s, "train_seconds_per_step_b32": train_s}
    lines = [f"Base model ({params / 1e6:.2f} M parameters), {pipe.device}, {args.threads} threads; "
             f"{args.seconds:g}-second motion, {args.steps}-step DDIM, guidance 2.5 (cond+uncond batched):", "",
             "| measurement | seconds per call | seconds per motion |", "|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['what']} | {r['seconds_per_call']:.3f} | {r['seconds_per_motion']:.3f} |")
    lines.append(f"| features -> joints (1 motion) | {joints_s:.4f} | {joints_s:.4f} |")
    lines.append(f"| training step (batch 32, {frames} frames, bf16 autocast) | {train_s:.3f} | - |")
    write_results(args.out, summary, "\n".join(lines), device=pipe.device)
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
