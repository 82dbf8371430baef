"""Render benchmark: seconds for IK, skinning, GLB writing and mp4 rendering of a 6 s motion.

    flock /work/heavy.lock .venv/bin/python benchmarks/render.py [--bvh-dir DIR] [--repeats 3]

Two bodies (A/B) of 120 frames at 20 fps, the default mannequin body. Targets on this CPU:
two-body GLB < 1 s, two-body mp4 < 10 s. With ``--bvh-dir`` the IK's forward-kinematics error
and largest frame-to-frame rotation step are also measured on real BVH clips. Writes
benchmarks/results/render.json and render.md (median of ``--repeats`` runs)."""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # benchmarks/, for the shared `common` module
from common import RESULTS, write_results  # noqa: E402  (also puts the repository root on sys.path)
os.environ.setdefault("PYOPENGL_PLATFORM", "egl")

import numpy as np  # noqa: E402


def walk(T: int, speed: float, phase: float) -> np.ndarray:
    """A 1 m/s walk on the SMPL skeleton built by forward kinematics (joints (T, 22, 3))."""
    from easytune_core.motion.ik import PARENTS, SMPL_REST_JOINTS
    from easytune_core.motion.rotations import axis_angle_to_quat
    from easytune_core.motion.skeleton import forward_kinematics

    t = np.arange(T) / 20.0
    w = 2 * np.pi * speed * t + phase
    aa = np.zeros((T, 22, 3))
    aa[:, 0, 1] = 0.3 * np.sin(0.5 * t)
    aa[:, 1, 0], aa[:, 2, 0] = -0.45 * np.sin(w), 0.45 * np.sin(w)
    aa[:, 4, 0] = 0.9 * np.clip(np.sin(w + 1.3), 0, None) + 0.08
    aa[:, 5, 0] = 0.9 * np.clip(-np.sin(w + 1.3), 0, None) + 0.08
    aa[:, 16, 2], aa[:, 17, 2] = -1.2, 1.2
    aa[:, 18, 1], aa[:, 19, 1] = -(0.4 + 0.3 * np.sin(w)), 0.4 - 0.3 * np.sin(w)
    off = SMPL_REST_JOINTS - SMPL_REST_JOINTS[np.maximum(PARENTS, 0)]
    off[0] = 0
    root = np.stack([0.1 * np.sin(t), 0.92 + 0.02 * np.cos(4 * np.pi * t), 1.1 * t], -1)
    return forward_kinematics(axis_angle_to_quat(aa), root, "humanml3d", offsets=off).astype(np.float32)


def timed(fn, repeats: int):
    out, times = None, []
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return out, statistics.median(times)


def ik_on_bvh(folder: Path) -> list[dict]:
    from easytune_core.motion.bvh import load_bvh
    from easytune_core.motion.ik import joints_to_smpl, smpl_to_joints

    rows = []
    for f in sorted(folder.glob("*.bvh")):
        J = load_bvh(f)
        t0 = time.perf_counter()
        pose = joints_to_smpl(J)
        dt = time.perf_counter() - t0
        err = np.linalg.norm(smpl_to_joints(pose) - J, axis=-1)
        q = pose.quats.astype(np.float64)
        step = np.degrees(2 * np.arccos(np.clip(np.abs(np.sum(q[1:] * q[:-1], -1)), 0, 1)))
        rows.append({"clip": f.name, "frames": len(J), "ik_ms_per_frame": 1000 * dt / len(J),
                     "fk_error_mean_cm": 100 * float(err.mean()), "fk_error_max_cm": 100 * float(err.max()),
                     "max_rotation_step_deg": float(step.max())})
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--bvh-dir", default=None, help="folder of .bvh clips for the IK accuracy table")
    ap.add_argument("--out", default=str(RESULTS))
    args = ap.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    from easytune_core.motion.ik import joints_to_smpl
    from easytune_core.render.body import get_body
    from easytune_core.render.glb import write_glb
    from easytune_core.render.video import render_video

    A, B = walk(120, 1.0, 0.0), walk(120, 0.7, 1.0)
    body, t_load = timed(lambda: get_body("mannequin"), 1)
    scratch = Path(tempfile.mkdtemp(prefix="render_bench_"))
    res = {"frames": 120, "fps": 20, "bodies": 2, "mesh_vertices": body.num_vertices,
           "mesh_faces": int(body.faces.shape[0]), "body_load_s": t_load}
    pose, res["ik_s"] = timed(lambda: joints_to_smpl(A), args.repeats)
    res["ik_ms_per_frame"] = 1000 * res["ik_s"] / 120
    _, res["skinning_s"] = timed(lambda: body.pose(pose, None, device="cpu"), args.repeats)
    write_glb(scratch / "warm.glb", [A[:5]])
    _, res["glb_two_bodies_s"] = timed(lambda: write_glb(scratch / "ab.glb", [A, B]), args.repeats)
    res["glb_two_bodies_mb"] = (scratch / "ab.glb").stat().st_size / 1e6
    for name, kw in (("mp4_gl", {"renderer": "gl"}), ("mp4_numpy", {"renderer": "numpy"}),
                     ("mp4_stick", {"mode": "stick"})):
        _, res[f"{name}_two_bodies_s"] = timed(
            lambda kw=kw: render_video(scratch / f"{name}.mp4", [A, B], labels=["A", "B"],
                                       prompt="a person walks forward", **kw), args.repeats)
        res[f"{name}_mb"] = (scratch / f"{name}.mp4").stat().st_size / 1e6
    res["ik_on_bvh"] = ik_on_bvh(Path(args.bvh_dir)) if args.bvh_dir else []
    res["machine"] = {"cpu_count": os.cpu_count(), "torch_threads": args.threads, "python": platform.python_version(),
                      "load_avg_1min_at_end": os.getloadavg()[0]}

    lines = [
        "| step (6 s motion, 120 frames) | seconds | target |", "|---|---|---|",
        f"| IK, one motion | {res['ik_s']:.3f} ({res['ik_ms_per_frame']:.2f} ms/frame) | ms/frame |",
        f"| LBS skinning, one body ({res['mesh_vertices']} vertices) | {res['skinning_s']:.3f} | |",
        f"| GLB, two bodies ({res['glb_two_bodies_mb']:.2f} MB) | {res['glb_two_bodies_s']:.2f} | < 1 |",
        f"| mp4, two bodies, pyrender EGL | {res['mp4_gl_two_bodies_s']:.2f} | < 10 |",
        f"| mp4, two bodies, numpy fallback | {res['mp4_numpy_two_bodies_s']:.2f} | |",
        f"| mp4, two stick figures | {res['mp4_stick_two_bodies_s']:.2f} | |",
    ]
    if res["ik_on_bvh"]:
        lines += ["", "| BVH clip | frames | IK ms/frame | FK error mean / max (cm) | max rotation step (deg) |",
                  "|---|---|---|---|---|"]
        lines += [f"| {r['clip']} | {r['frames']} | {r['ik_ms_per_frame']:.3f} | {r['fk_error_mean_cm']:.2f} / "
                  f"{r['fk_error_max_cm']:.2f} | {r['max_rotation_step_deg']:.1f} |" for r in res["ik_on_bvh"]]
    lines += ["", f"Median of {args.repeats} runs, {args.threads} torch threads, {os.cpu_count()} CPUs; "
              f"1-min load average at the end {res['machine']['load_avg_1min_at_end']:.1f}."]
    write_results(Path(args.out) / "render", res, "\n".join(lines), device="cpu")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
