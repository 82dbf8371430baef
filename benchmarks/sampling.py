"""Sampling speed, side by side: frame-space 50-step DDIM, latent 50-step DDIM, few-step 1/2/4 steps.

Seconds per call and per motion for a 6-second motion (120 frames), guidance 2.5 (DDIM models:
cond + uncond in one batched forward; few-step models: guidance is an input, one pass per step),
batch 1 and 32, fp32 and bf16 autocast (fp16 on CUDA), through ``MotionPipeline.generate``
(text embedding cached, joints recovered for batch 1); every model is loaded first and the batch-1
runs are timed in rounds over all rows (the best of ``--repeats`` is reported), so a slow spell on a
shared machine does not fall on one row alone. Plus the frame-space model's training step.
Writes benchmarks/results/sampling.{json,md}, stamped with commit, device and date.

    .venv/bin/python benchmarks/sampling.py --threads 2
    .venv/bin/python benchmarks/sampling.py --latent runs/latent --few-step runs/fewstep
    .venv/bin/python benchmarks/sampling.py --checkpoint assets/checkpoints/everyday_base \
        --text-reuse-ablation --skip-latent --out benchmarks/results/sampling_token_reuse
    .venv/bin/python benchmarks/sampling.py --checkpoint runs/everyday_deep/base_int8 \
        --compare assets/checkpoints/everyday_base --skip-latent --precisions fp32 --out ...
    .venv/bin/python benchmarks/sampling.py --checkpoint assets/checkpoints/everyday_base \
        --frame-steps 50,40,30 --sdpa-ablation --skip-latent --precisions fp32 --out ...
    .venv/bin/python benchmarks/sampling.py --checkpoint assets/checkpoints/everyday_base \
        --guidance-intervals "0.5,1;0.3,1" --skip-latent --train-steps 0 --out ...

Latent / few-step checkpoints default to assets/checkpoints/{latent,fewstep}; when they are missing
the rows use random weights of the latent family's architecture (``--arch``), marked as such:
speed does not depend on the weights' values.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # benchmarks/, for the shared `common` module
from common import RESULTS, ROOT, write_results  # noqa: E402  (also puts the repository root on sys.path)

os.environ.setdefault("HF_HUB_OFFLINE", "1")

# the latent family of scripts/train_latent_family.sh (VAE + denoiser sizes)
ARCH = {"vae": dict(latent_tokens=2, width=128, layers=5, heads=4, ff=512),
        "denoiser": dict(width=192, layers=5, heads=4, ff=768)}


def random_latent(folder: Path, few_step: bool) -> Path:
    """A latent checkpoint with random weights of ARCH (MiniLM text size, the built-in stats)."""
    import numpy as np
    import torch

    from easytune_core.diffusion.latent import LatentDenoiser, LatentDenoiserConfig, MotionVAE, VAEConfig
    from easytune_core.diffusion.latent.io import save_latent_model
    torch.manual_seed(0)
    vae = MotionVAE(VAEConfig(**ARCH["vae"]))
    extra = dict(sampler="consistency", guidance_embed=True, guidance_range=[1.5, 4.0], default_steps=4) if few_step else {}
    cfg = LatentDenoiserConfig(latent_tokens=ARCH["vae"]["latent_tokens"], latent_dim=ARCH["vae"]["width"],
                               **ARCH["denoiser"], **extra)
    mean, std = np.zeros(263, np.float32), np.ones(263, np.float32)
    return save_latent_model(folder, LatentDenoiser(cfg), cfg, vae, mean, std, meta={"random_weights": True})


def time_generate(pipe, prompt, seconds, steps, batch, seed=0) -> float:
    """Seconds of one generate() call for ``batch`` copies of the prompt."""
    t0 = time.perf_counter()
    pipe.generate([prompt] * batch, seconds=seconds, steps=steps, seed=seed, guidance=2.5, return_joints=batch == 1)
    return time.perf_counter() - t0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--checkpoint", default=str(ROOT / "assets/checkpoints/base"), help="frame-space model")
    ap.add_argument("--compare", action="append", default=[], metavar="FOLDER",
                    help="another frame-space model timed in the same run (repeatable)")
    ap.add_argument("--latent", default=str(ROOT / "assets/checkpoints/latent"), help="latent model (50-step DDIM)")
    ap.add_argument("--few-step", default=str(ROOT / "assets/checkpoints/fewstep"), help="few-step student")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seconds", type=float, default=6.0)
    ap.add_argument("--repeats", type=int, default=5, help="timed runs of batch 1 (best and mean are reported)")
    ap.add_argument("--batch", type=int, default=32, help="the large batch")
    ap.add_argument("--precisions", default="fp32,auto", help="fp32 and/or auto (bf16 on CPU, fp16 on CUDA)")
    ap.add_argument("--large-batch-precisions", default=None,
                    help="precisions timed at --batch too (default: all of --precisions); on a CPU without native "
                         "bf16, frame-space bf16 at batch 32 takes many minutes")
    ap.add_argument("--text-reuse-ablation", action="store_true",
                    help="a token model (text_tokens > 0) is also timed with MotionDenoiser.text_reuse off: the token "
                         "projections recomputed at every step and for the unconditional half of each guided batch")
    ap.add_argument("--sdpa-ablation", action="store_true",
                    help="the frame-space model is also timed with MotionDenoiser.sdpa_layers off: torch's own "
                         "encoder layers (its fused kernel) instead of scaled_dot_product_attention layer by layer")
    ap.add_argument("--guidance-intervals", default="",
                    help="also time the frame-space model guiding only the DDIM steps in these intervals of "
                         "timestep / training steps, 'lo,hi;lo,hi' (the others run the conditional model alone)")
    ap.add_argument("--frame-steps", default="50",
                    help="comma-separated DDIM step counts the frame-space models are timed at")
    ap.add_argument("--skip-latent", action="store_true", help="time the frame-space model only")
    ap.add_argument("--train-steps", type=int, default=3)
    ap.add_argument("--device", default=None)
    ap.add_argument("--out", default=str(RESULTS / "sampling"))
    args = ap.parse_args(argv)
    import torch
    torch.set_num_threads(args.threads)
    from easytune_core.diffusion.train import diffusion_loss
    from easytune_core.pipeline import MotionPipeline

    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    scratch = Path(tempfile.mkdtemp(prefix="sampling_bench_"))
    def named(folder):  # with --compare, each frame-space row names its folder
        return f"frame-space ({Path(folder).name})" if args.compare else "frame-space"

    try:
        frame_steps = sorted({int(s) for s in args.frame_steps.split(",")}, reverse=True)
    except ValueError:
        ap.error(f"--frame-steps takes comma-separated integers, got {args.frame_steps!r}")
    if not frame_steps or min(frame_steps) < 1:
        ap.error("--frame-steps must be positive")
    from easytune_core.diffusion.sampler import check_guidance_interval
    try:
        intervals = [check_guidance_interval([float(v) for v in part.split(",")])
                     for part in args.guidance_intervals.split(";") if part.strip()]
    except ValueError as err:
        ap.error(f"--guidance-intervals takes 'lo,hi;lo,hi': {err}")
    # label, folder, steps, random weights, switched-off inference path (None, "text_reuse", "sdpa_layers"),
    # guidance interval (None: the model's)
    models = [(named(f), f, frame_steps, False, None, None) for f in (args.checkpoint, *args.compare)]
    if args.text_reuse_ablation:
        models.append(("frame-space, text_reuse off", args.checkpoint, [max(frame_steps)], False, "text_reuse", None))
    if args.sdpa_ablation:
        models.append(("frame-space, sdpa_layers off", args.checkpoint, [max(frame_steps)], False, "sdpa_layers", None))
    for lo, hi in intervals:
        models.append((f"{named(args.checkpoint)}, guided in [{lo:g}, {hi:g}]", args.checkpoint, frame_steps, False,
                       None, [lo, hi]))
    others = () if args.skip_latent else (("latent", args.latent, [50], False), ("few-step", args.few_step, [1, 2, 4], True))
    for label, folder, steps, few in others:
        random = not Path(folder, "config.json").exists()
        if random:
            folder = random_latent(scratch / label, few)
        models.append((label + (" (random weights)" if random else ""), str(folder), steps, random, None, None))
    prompt = "a person walks forward and waves with the right hand"
    # Every model is loaded and warmed up first; then the timed runs go in rounds, each round timing
    # every (model, steps, batch) once, so a slow spell of a shared machine spreads over all rows
    # instead of landing on whichever row ran during it.
    cases = []
    large = (args.large_batch_precisions or args.precisions).split(",")
    fps = 20.0
    for label, folder, step_list, random, off, interval in models:
        for precision in args.precisions.split(","):
            pipe = MotionPipeline.from_checkpoint(folder, device=device, precision=precision)
            if off == "text_reuse" and not getattr(pipe.model.config, "text_tokens", 0):
                print(f"{folder} reads no token states: nothing to ablate")
                break
            if off:
                setattr(pipe.model, off, False)
            if interval is not None:
                pipe.guidance_interval = interval
            fps = pipe.fps
            params = sum(p.numel() for p in pipe.model.parameters())
            vae_params = sum(p.numel() for p in pipe.vae.parameters()) if pipe.latent else 0
            pipe.generate([prompt], seconds=args.seconds, steps=min(step_list))  # warm-up: text cache, allocator
            for steps in step_list:
                for batch, repeats in ((1, args.repeats), (args.batch, 1)):
                    if batch == 1 or precision in large:
                        cases.append({"label": label, "folder": folder, "random": random, "pipe": pipe,
                                      "params": params, "vae_params": vae_params, "steps": steps, "batch": batch,
                                      "repeats": repeats, "times": []})
    for r in range(max((c["repeats"] for c in cases), default=0)):
        for c in cases:
            if r < c["repeats"]:
                c["times"].append(time_generate(c["pipe"], prompt, args.seconds, c["steps"], c["batch"], seed=r))
    rows = []
    for c in cases:
        best, mean = min(c["times"]), sum(c["times"]) / len(c["times"])
        rows.append({"model": c["label"], "checkpoint": c["folder"], "steps": c["steps"], "batch": c["batch"],
                     "precision": c["pipe"].precision, "seconds_per_call": best, "mean_seconds_per_call": mean,
                     "seconds_per_motion": best / c["batch"], "denoiser_params": c["params"],
                     "vae_params": c["vae_params"], "random_weights": c["random"],
                     "guidance_interval": None if c["pipe"].few_step else c["pipe"].guidance_interval})
        print(f"{c['label']:28s} {c['steps']:2d} steps b{c['batch']:<3d} {c['pipe'].precision}: {best * 1000:8.1f} "
              f"ms/call {best / c['batch'] * 1000:7.1f} ms/motion", flush=True)
    del cases
    # training step of the frame-space model (skipped with --train-steps 0)
    train_s = None
    frames = int(round(args.seconds * fps))
    if args.train_steps > 0:
        pipe = MotionPipeline.from_checkpoint(args.checkpoint, device=device)
        model = pipe.model.train()
        opt = torch.optim.AdamW(model.parameters(), lr=1e-5)
        x0 = torch.randn(32, frames, pipe.feature_dim, device=pipe.device)
        mask = torch.ones(32, frames, dtype=torch.bool, device=pipe.device)
        emb = pipe.encode([prompt] * 32)
        times = []
        for i in range(args.train_steps + 1):
            t0 = time.perf_counter()
            loss = diffusion_loss(model, pipe.schedule, x0, mask, emb)
            opt.zero_grad()
            loss.backward()
            opt.step()
            if i:
                times.append(time.perf_counter() - t0)
        train_s = sum(times) / max(1, len(times))
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    summary = {"benchmark": "sampling", "device": device, "threads": args.threads,
               "cuda_device": torch.cuda.get_device_name() if device.startswith("cuda") else None,
               "seconds": args.seconds, "guidance": 2.5, "rows": rows, "train_seconds_per_step_b32_fp32": train_s,
               "load_average_at_end": load}
    lines = [f"{device}{' (' + summary['cuda_device'] + ')' if summary['cuda_device'] else ''}, {args.threads} threads; "
             f"one {args.seconds:g}-second motion ({frames} frames), guidance 2.5, `MotionPipeline.generate` "
             f"(joints recovered at batch 1); batch 1: the best of {args.repeats} runs, timed in rounds over "
             f"every row; load average "
             f"{', '.join(f'{v:.1f}' for v in load) if load else 'n/a'}:", "",
             "| model | steps | precision | batch 1: s / motion | batch " + str(args.batch) + ": s / motion |",
             "|---|---|---|---|---|"]
    keyed = {}
    for r in rows:
        keyed.setdefault((r["model"], r["steps"], r["precision"]), {})[r["batch"]] = r["seconds_per_motion"]
    for (model_name, steps, precision), by_batch in keyed.items():
        lines.append(f"| {model_name} | {steps} | {precision} | {by_batch.get(1, float('nan')):.4f} | "
                     f"{by_batch.get(args.batch, float('nan')):.4f} |")
    if train_s is not None:
        lines.append(f"\nFrame-space training step (batch 32, {frames} frames, fp32): {train_s:.3f} s.")
    write_results(args.out, summary, "\n".join(lines), device=device)
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
