"""App latency: seconds from a Compare request to both GLB files on the client, through the gradio
API, for two 6 s motions. Target < 0.5 s with few-step models on both sides.

The Generate button runs ``/compare_view`` (sample both sides, write the two GLBs) and then the
chained ``/compare_details`` (BVH / SMPL NPZ exports and scores); ``/compare`` does everything in
one call. All three are timed (median of ``--repeats`` requests with new seeds; the first request,
which loads the models, separately), and the server-side stages are profiled in-process.

    .venv/bin/python benchmarks/app_latency.py                     # few-step vs few-step EasyTune
    .venv/bin/python benchmarks/app_latency.py --a "base (shipped)" --b "easytune (shipped)" --steps 50 \
        --name app_latency_50step
    .venv/bin/python benchmarks/app_latency.py --tiny              # tiny random stand-ins (smoke test)

Shipped few-step checkpoints missing from assets/ are replaced by random weights of the latent
family's architecture (speed does not depend on the weights' values), which the result says.
Writes benchmarks/results/app_latency.{json,md}, stamped with commit, device and date.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # benchmarks/, for the shared `common` module
from common import RESULTS, ROOT, stamp, write_results  # noqa: E402  (also puts the repository root on sys.path)
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

PROMPT = "a person walks forward and waves with the right hand"


def prepare_assets(src: Path, dst: Path) -> list[str]:
    """Copy shipped checkpoints into a scratch assets folder; add random-weight few-step models
    where none are shipped. Returns the names of the stand-ins."""
    from sampling import random_latent
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns("registry.json"))
    made = []
    for name, few in (("fewstep", True), ("fewstep_easytune", True), ("latent", False)):
        if not (dst / "checkpoints" / name / "config.json").exists():
            random_latent(dst / "checkpoints" / name, few)
            made.append(name)
    return made


def profile_stages(backend, a: str, b: str, seconds: float, steps: int, repeats: int = 5) -> dict:
    """Median seconds of each server-side stage of one comparison (in-process, no HTTP)."""
    stages: dict[str, list] = {k: [] for k in ("sample_both", "side_A", "side_B", "glb_both", "bvh_npz_both",
                                                "score", "total_view", "total_full")}
    folder = Path(tempfile.mkdtemp(prefix="latency_profile_"))
    for r in range(repeats):
        t0 = time.perf_counter()
        sides = backend.sample(PROMPT, seconds, 500 + r, 2.5, steps, a, b)
        t1 = time.perf_counter()
        backend.export_view_both(sides, folder)
        t2 = time.perf_counter()
        for s in sides:
            backend.export_rest(s, folder)
        t3 = time.perf_counter()
        backend.score(PROMPT, sides)
        t4 = time.perf_counter()
        for key, v in (("sample_both", t1 - t0), ("side_A", sides[0].seconds), ("side_B", sides[1].seconds),
                       ("glb_both", t2 - t1), ("bvh_npz_both", t3 - t2), ("score", t4 - t3), ("total_view", t2 - t0),
                       ("total_full", t4 - t0)):
            stages[key].append(v)
    return {k: round(statistics.median(v), 4) for k, v in stages.items()}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tiny", action="store_true", help="use tiny random stand-in checkpoints")
    ap.add_argument("--assets", default=str(ROOT / "assets"), help="assets folder with checkpoints/")
    ap.add_argument("--a", default="few-step (shipped)")
    ap.add_argument("--b", default="few-step easytune (shipped)")
    ap.add_argument("--repeats", type=int, default=20)
    ap.add_argument("--seconds", type=float, default=6.0)
    ap.add_argument("--steps", type=int, default=4, help="DDIM steps (few-step models use at most their own 4)")
    ap.add_argument("--threads", type=int, default=max(1, (os.cpu_count() or 2) // 2),
                    help="torch threads (as app.py: half the cores, since A and B sample in parallel)")
    ap.add_argument("--out", default=str(RESULTS))
    ap.add_argument("--name", default=None, help="result name (default app_latency, app_latency_tiny with --tiny)")
    args = ap.parse_args(argv)

    import torch

    torch.set_num_threads(args.threads)
    from gradio_client import Client

    from tests.support.app_server import serve

    scratch = Path(tempfile.mkdtemp(prefix="app_latency_"))
    standins = []
    if args.tiny:
        from tests.support.standins import build_tiny_assets, build_tiny_latent
        assets = build_tiny_assets(scratch / "assets")
        for name, few in (("fewstep", True), ("fewstep_easytune", True)):
            build_tiny_latent(assets / "checkpoints" / name, seed=len(name), few_step=few)
    else:
        if not (Path(args.assets) / "checkpoints" / "base" / "config.json").exists():
            print("error: no shipped checkpoints in assets/checkpoints (use --tiny for a smoke run)", file=sys.stderr)
            return 2
        standins = prepare_assets(Path(args.assets), scratch / "assets")
        assets = scratch / "assets"
    timings = {"view": [], "details": [], "full": []}
    statuses = []
    with serve(scratch, assets_dir=assets) as (url, demo):
        client = Client(url, verbose=False, download_files=str(scratch / "downloads"))
        names = demo.easytune_backend.checkpoint_choices()
        for n in (args.a, args.b):
            if n not in names:
                print(f"error: no checkpoint named {n!r}; available: {names}", file=sys.stderr)
                return 2

        def view(seed: int) -> float:
            t0 = time.perf_counter()
            glb_a, glb_b, status, *_ = client.predict(PROMPT, args.seconds, seed, 2.5, args.steps, args.a, args.b,
                                                      api_name="/compare_view")
            took = time.perf_counter() - t0
            assert Path(glb_a).read_bytes()[:4] == b"glTF" and Path(glb_b).read_bytes()[:4] == b"glTF"
            statuses.append(status)
            return took

        first = view(0)
        client.predict(api_name="/compare_details")
        for r in range(args.repeats):
            timings["view"].append(view(1000 + r))
            t0 = time.perf_counter()
            client.predict(api_name="/compare_details")
            timings["details"].append(time.perf_counter() - t0)
        for r in range(max(3, args.repeats // 4)):
            t0 = time.perf_counter()
            client.predict(PROMPT, args.seconds, 2000 + r, 2.5, args.steps, args.a, args.b, api_name="/compare")
            timings["full"].append(time.perf_counter() - t0)
        glb_mb = statistics.mean(Path(p).stat().st_size for p in (scratch / "downloads").rglob("*.glb")) / 2**20
        stages = profile_stages(demo.easytune_backend, args.a, args.b, args.seconds, args.steps)
    med = {k: round(statistics.median(v), 3) for k, v in timings.items()}
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    result = {
        "benchmark": "app_latency", "checkpoints": [args.a, args.b], "tiny": args.tiny,
        "random_weight_standins": standins, "seconds_of_motion": args.seconds, "steps_requested": args.steps,
        "torch_threads": args.threads, "first_request_s": round(first, 3), "repeats": args.repeats,
        "median_view_s": med["view"], "min_view_s": round(min(timings["view"]), 3),
        "max_view_s": round(max(timings["view"]), 3), "median_details_s": med["details"],
        "median_full_compare_s": med["full"], "target_s": 0.5, "meets_target": med["view"] < 0.5,
        "glb_mb_each": round(glb_mb, 2), "server_stages_median_s": stages, "server_reported": statuses[-1],
        "cuda": torch.cuda.is_available(), "load_average_at_end": load,
    }
    name = args.name or ("app_latency_tiny" if args.tiny else "app_latency")
    device = "cuda" if torch.cuda.is_available() else "cpu"
    result["stamp"] = stamp(device)
    # the random-weight stand-ins this comparison uses ("fewstep_easytune" is listed as "few-step easytune (shipped)")
    used = [n for n in standins if n.replace("fewstep", "few-step").replace("_", " ") + " (shipped)" in (args.a, args.b)]
    label = f"{args.a} vs {args.b}" + (" (tiny stand-ins)" if args.tiny else "") + \
        (f" (random weights: {', '.join(used)})" if used else "")
    md = (f"{result['stamp']['device']}, {args.threads} torch thread(s) per side, "
          f"load average {', '.join(f'{v:.1f}' for v in load) if load else 'n/a'}; two {args.seconds:g} s motions, "
          f"median of {args.repeats} requests.\n\n"
          "| request | median | min | max | target |\n|---|---|---|---|---|\n"
          f"| {label}: request → both GLBs (`/compare_view`) | {med['view']:.3f} s | {result['min_view_s']:.3f} s | "
          f"{result['max_view_s']:.3f} s | < 0.5 s |\n"
          f"| then downloads + scores (`/compare_details`) | {med['details']:.3f} s | | | |\n"
          f"| everything in one call (`/compare`) | {med['full']:.3f} s | | | |\n"
          f"| first request (loads the models) | {first:.2f} s | | | |\n\n"
          "Server-side stages (median, in-process): " +
          ", ".join(f"{k} {v * 1000:.0f} ms" for k, v in stages.items()) + f"; GLB {glb_mb:.2f} MB each.\n")
    write_results(Path(args.out) / name, result, md)
    print(md)
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
