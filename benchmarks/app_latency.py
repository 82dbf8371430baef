"""App latency: seconds from a `compare` request to both GLB files on the client, through the
gradio API, for two 6 s motions (base vs EasyTune, 50 DDIM steps, guidance 2.5). Target < 3 s.

    .venv/bin/python benchmarks/app_latency.py            # shipped checkpoints in assets/
    .venv/bin/python benchmarks/app_latency.py --tiny     # tiny random stand-ins (smoke test)

Writes benchmarks/results/app_latency.json and .md. The first request (model loading) is
reported separately; the timed requests use new seeds so nothing is cached."""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # benchmarks/, for the shared `common` module
from common import RESULTS, ROOT, write_results  # noqa: E402  (also puts the repository root on sys.path)
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tiny", action="store_true", help="use tiny random stand-in checkpoints")
    ap.add_argument("--assets", default=str(ROOT / "assets"), help="assets folder with checkpoints/")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--seconds", type=float, default=6.0)
    ap.add_argument("--steps", type=int, default=50)
    ap.add_argument("--threads", type=int, default=max(1, (os.cpu_count() or 2) // 2),
                    help="torch threads (as app.py: half the cores, since A and B sample in parallel)")
    ap.add_argument("--out", default=str(RESULTS))
    args = ap.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    from gradio_client import Client

    from tests.support.app_server import serve

    scratch = Path(tempfile.mkdtemp(prefix="app_latency_"))
    assets = None if args.tiny else Path(args.assets)
    if assets is not None and not (assets / "checkpoints" / "base" / "config.json").exists():
        print("error: no shipped checkpoints in assets/checkpoints (use --tiny for a smoke run)", file=sys.stderr)
        return 2
    times, stages = [], []
    with serve(scratch, assets_dir=assets) as (url, demo):
        client = Client(url, verbose=False, download_files=str(scratch / "downloads"))
        names = demo.easytune_backend.checkpoint_choices()
        a, b = names[0], names[1] if len(names) > 1 else names[0]

        def request(seed: int) -> float:
            t0 = time.perf_counter()
            glb_a, glb_b, *_ , status = client.predict("a person walks forward and waves with the right hand",
                                                      args.seconds, seed, 2.5, args.steps, a, b, api_name="/compare")
            took = time.perf_counter() - t0
            assert Path(glb_a).read_bytes()[:4] == b"glTF" and Path(glb_b).read_bytes()[:4] == b"glTF"
            stages.append(status)
            return took

        first = request(0)
        for r in range(args.repeats):
            times.append(request(1000 + r))
        glb_mb = sum(Path(p).stat().st_size for p in (scratch / "downloads").rglob("*.glb")) / 2**20
    result = {
        "benchmark": "app_latency", "checkpoints": [a, b], "tiny": args.tiny, "seconds_of_motion": args.seconds,
        "ddim_steps": args.steps, "torch_threads": args.threads, "first_request_s": round(first, 3),
        "median_s": round(statistics.median(times), 3), "min_s": round(min(times), 3), "max_s": round(max(times), 3),
        "repeats": args.repeats, "target_s": 3.0, "meets_target": statistics.median(times) < 3.0,
        "cpu": platform.processor() or platform.machine(), "cpus": os.cpu_count(),
        "cuda": torch.cuda.is_available(), "server_reported": stages[-1],
    }
    name = "app_latency_tiny" if args.tiny else "app_latency"
    md = ("| request → both GLBs (two 6 s motions, 50 steps) | median | min | max | first request | target |\n"
          "|---|---|---|---|---|---|\n"
          f"| {a} vs {b}{' (tiny stand-ins)' if args.tiny else ''} | {result['median_s']:.2f} s | {result['min_s']:.2f} s | "
          f"{result['max_s']:.2f} s | {result['first_request_s']:.2f} s | < 3 s |\n")
    write_results(Path(args.out) / name, result, md, device="cuda" if torch.cuda.is_available() else "cpu")
    print(md)
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
