"""Data throughput: features, batched recovery, dataset generation, loading.

Measures on this machine, in one run:

- frames/s of ``joints_to_features`` (HumanML3D's full processing) on synthesised motions;
- frames/s of batched ``features_to_joints`` in numpy and torch (CPU, and CUDA when present);
- motions/s of ``synthesize_sample`` alone and of the whole built-in dataset generation
  (synthesis + features + mirrored copies + files), with the time that rate gives for the
  default 10,000-motion set;
- items/s of ``MotionTextDataset`` + ``collate_motion`` through a DataLoader.

Writes ``benchmarks/results/data_throughput.json`` and ``.md``. Heavy: run it as
``flock /work/heavy.lock .venv/bin/python benchmarks/data_throughput.py``.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))  # benchmarks/, for the shared `common` module
from common import RESULTS, write_results  # noqa: E402  (also puts the repository root on sys.path)

from easytune_core.data import (DEFAULT_SIZE, LengthBucketSampler, MotionTextDataset, collate_motion,
                                generate_builtin, synthesize_sample)
from easytune_core.motion.features import features_to_joints, joints_to_features



def _best_of(fn, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--motions", type=int, default=32, help="synthesised motions for the feature timings")
    ap.add_argument("--batch", type=int, default=32, help="batch size of features_to_joints")
    ap.add_argument("--frames", type=int, default=196, help="frames per motion in the batch")
    ap.add_argument("--gen-size", type=int, default=200, help="motions generated per dataset timing")
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="worker counts to time")
    ap.add_argument("--threads", type=int, default=2, help="torch threads")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--out", type=Path, default=RESULTS)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    res: dict = {"machine": {"cpus": os.cpu_count(), "torch_threads": args.threads,
                             "python": platform.python_version(), "torch": torch.__version__,
                             "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None}}

    # 1. synthesis alone, then joints -> features on the same motions
    t = time.perf_counter()
    motions = [synthesize_sample(np.random.default_rng([123, i])).joints for i in range(args.motions)]
    synth_s = time.perf_counter() - t
    frames = sum(m.shape[0] for m in motions)
    t = time.perf_counter()
    feats = [joints_to_features(m) for m in motions]
    j2f_s = time.perf_counter() - t
    res["synthesize_sample"] = {"motions": args.motions, "seconds": synth_s, "motions_per_s": args.motions / synth_s}
    res["joints_to_features"] = {"motions": args.motions, "frames": frames, "seconds": j2f_s,
                                 "frames_per_s": frames / j2f_s, "motions_per_s": args.motions / j2f_s}

    # 2. batched features -> joints (tiled to a fixed (B, T) batch)
    flat = np.concatenate(feats)
    idx = np.arange(args.batch * args.frames) % flat.shape[0]
    batch = flat[idx].reshape(args.batch, args.frames, -1).astype(np.float32)
    n = args.batch * args.frames
    rec: dict = {"batch": args.batch, "frames": args.frames}
    s = _best_of(lambda: features_to_joints(batch), args.repeats)
    rec["numpy_cpu"] = {"seconds": s, "frames_per_s": n / s}
    tb = torch.from_numpy(batch)
    with torch.no_grad():
        s = _best_of(lambda: features_to_joints(tb), args.repeats)
    rec["torch_cpu"] = {"seconds": s, "frames_per_s": n / s}
    if torch.cuda.is_available():
        tg = tb.cuda()

        def cuda_run():
            features_to_joints(tg)
            torch.cuda.synchronize()

        with torch.no_grad():
            cuda_run()
            s = _best_of(cuda_run, args.repeats)
        rec["torch_cuda"] = {"seconds": s, "frames_per_s": n / s}
    res["features_to_joints"] = rec

    # 3. whole dataset generation (synthesis + features + mirror + files) and 4. loading
    tmp = Path(tempfile.mkdtemp(prefix="data_tp_"))
    gen = {}
    try:
        for w in args.workers:
            out = tmp / f"w{w}"
            t = time.perf_counter()
            summary = generate_builtin(out, size=args.gen_size, seed=0, workers=w)
            s = time.perf_counter() - t
            gen[f"workers_{w}"] = {"motions": args.gen_size, "files_incl_mirrored": summary.num_motions,
                                   "seconds": s, "motions_per_s": args.gen_size / s,
                                   "default_set_minutes_est": DEFAULT_SIZE / (args.gen_size / s) / 60}
        res["dataset_generation"] = gen
        ds = MotionTextDataset(tmp / f"w{args.workers[0]}", "all")
        loader = torch.utils.data.DataLoader(ds, batch_sampler=LengthBucketSampler(ds, 32, seed=0),
                                             collate_fn=collate_motion)
        t = time.perf_counter()
        items = sum(len(b["names"]) for b in loader)
        s = time.perf_counter() - t
        res["loader"] = {"items": items, "seconds": s, "items_per_s": items / s}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    write_results(Path(args.out) / "data_throughput", res, _markdown(res), device="cpu")
    print(_markdown(res))
    return res


def _markdown(r: dict) -> str:
    m = r["machine"]
    lines = [f"# Data throughput ({m['cpus']} CPUs, torch {m['torch']} with {m['torch_threads']} threads"
             + (f", CUDA {m['cuda']}" if m["cuda"] else ", no GPU") + ")", "",
             "| measurement | amount | seconds | rate |", "| --- | --- | --- | --- |"]
    j = r["joints_to_features"]
    lines.append(f"| joints_to_features | {j['motions']} motions, {j['frames']} frames | {j['seconds']:.2f} | "
                 f"{j['frames_per_s']:,.0f} frames/s ({j['motions_per_s']:.1f} motions/s) |")
    f = r["features_to_joints"]
    for k in ("numpy_cpu", "torch_cpu", "torch_cuda"):
        if k in f:
            lines.append(f"| features_to_joints, {k.replace('_', ' ')}, batch {f['batch']}x{f['frames']} | "
                         f"{f['batch'] * f['frames']} frames | {f[k]['seconds']:.3f} | {f[k]['frames_per_s']:,.0f} frames/s |")
    s = r["synthesize_sample"]
    lines.append(f"| synthesize_sample (1 process) | {s['motions']} motions | {s['seconds']:.2f} | "
                 f"{s['motions_per_s']:.1f} motions/s |")
    for k, g in r.get("dataset_generation", {}).items():
        lines.append(f"| built-in dataset generation, {k.replace('_', ' ')} | {g['motions']} motions "
                     f"({g['files_incl_mirrored']} files with mirrors) | {g['seconds']:.1f} | "
                     f"{g['motions_per_s']:.1f} motions/s -> default {DEFAULT_SIZE} set in "
                     f"{g['default_set_minutes_est']:.1f} min |")
    if "loader" in r:
        lo = r["loader"]
        lines.append(f"| MotionTextDataset + bucket sampler + collate | {lo['items']} items | {lo['seconds']:.2f} | "
                     f"{lo['items_per_s']:,.0f} items/s |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
