"""Editing, timelines and takes with the shipped base model: speed and quality.

Speed (``--part speed``): a 6 s edit against generating 6 s with the same steps; a 30 s timeline from
text to an animated GLB; four takes of 6 s in one batch against one take; a 60 s timeline's exports
(GLB size, BVH, NPZ, optionally mp4). Quality (``--part quality``): seam smoothness of the edit presets
(plain inpainting vs the default: known part fed clean, seams blended), path following (error, foot
skating, contact consistency, with and without foot locking) against the real data's own statistics,
and the per-segment rule checks of a walk-turn-sit timeline with both composition strategies.

    nice .venv/bin/python benchmarks/edit.py --threads 2            # both parts
    nice .venv/bin/python benchmarks/edit.py --part speed            # benchmarks/results/edit_speed.{json,md}

Results are stamped with the commit, the device and the date (``common.write_results``) and record the
machine's load average at the start and the end (the CPU is shared; timings depend on it).
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np
from common import RESULTS, ROOT, write_results

PROMPT = "a person walks forward and waves with the right hand"
TIMELINE_30 = [("a person walks forward", 6), ("a person turns left", 3), ("a person jumps", 4),
               ("a person walks backward", 5), ("a person waves with the right hand", 4),
               ("a person turns around", 4), ("a person sits down", 4)]
EDITS = [("in-between", "a person jumps", dict(keep=30)), ("prefix", "a person turns left", dict(keep=60, frames=140)),
         ("suffix", "a person walks forward", dict(keep=40, frames=120)),
         ("frames", "a person waves with the right hand", dict(start=40, end=90))]
PATHS = {"straight": [(0, 0, 0), (4, 0, 4)], "L": [(0, 0, 0), (3, 0, 3), (6, -3, 3)],
         "S": [(0, 0, 0), (2, 1, 2), (4, -1, 4), (6, 0, 6)],
         "circle": [(k * 0.5, 1.5 * np.sin(k * np.pi / 8), 1.5 * (1 - np.cos(k * np.pi / 8))) for k in range(17)]}


def load_average() -> list[float]:
    """The machine's 1, 5 and 15 minute load averages (the CPU is shared; the numbers depend on it)."""
    return [round(x, 2) for x in os.getloadavg()]


def best(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def speed(pipe, repeats: int, video: bool) -> dict:
    from easytune_core.edit import make_edit, path_spec
    from easytune_core.render import export as ex
    from easytune_core.render.glb import write_glb

    out = {}
    pipe.generate([PROMPT], seconds=6, steps=2)  # warm-up: text cache, allocator
    src = pipe.generate([PROMPT], seconds=6, seed=0, steps=50).features[0]
    spec = make_edit("in-between", src, keep=30)
    out["generate_6s"] = best(lambda: pipe.generate([PROMPT], seconds=6, seed=1, steps=50, return_joints=False), repeats)
    out["edit_6s"] = best(lambda: pipe.edit(spec, "a person jumps", seed=1, steps=50, return_joints=False), repeats)
    path = path_spec(PATHS["L"])
    out["path_6s_foot_locking"] = best(lambda: pipe.edit(path, "a person walks", seed=1, steps=50,
                                                         return_joints=False), repeats)
    out["one_take_6s"] = best(lambda: pipe.takes(PROMPT, 1, seconds=6, seed=1, steps=50, return_joints=False), repeats)
    out["four_takes_6s"] = best(lambda: pipe.takes(PROMPT, 4, seconds=6, seed=1, steps=50, return_joints=False), repeats)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)

        def timeline_glb():
            res = pipe.compose(TIMELINE_30, seed=0, steps=50)
            write_glb(tmp / "t30.glb", [res.joints], fps=res.fps)
            return res

        t0 = time.perf_counter()
        res30 = timeline_glb()
        out["timeline_30s_to_glb"] = time.perf_counter() - t0
        out["timeline_30s_windows"] = len(res30.seams) + 1
        segs60 = TIMELINE_30 + [("a person walks forward", 6), ("a person jumps", 4), ("a person turns right", 4),
                                ("a person walks backward", 6), ("a person sits down", 10)]
        t0 = time.perf_counter()
        res60 = pipe.compose(segs60, seed=0, steps=50)
        out["timeline_60s_compose"] = time.perf_counter() - t0
        for name, fn in (("glb", lambda p: write_glb(p, [res60.joints], fps=20)),
                         ("bvh", lambda p: ex.save_bvh(p, res60.joints, fps=20)),
                         ("npz", lambda p: ex.save_smpl_npz(p, res60.joints, fps=20))):
            p = tmp / f"t60.{name}"
            t0 = time.perf_counter()
            fn(p)
            out[f"timeline_60s_{name}_seconds"] = time.perf_counter() - t0
            out[f"timeline_60s_{name}_mb"] = p.stat().st_size / 2**20
        out["timeline_60s_frames"] = int(len(res60.features))
        if video:
            from easytune_core.render.video import render_video

            t0 = time.perf_counter()
            render_video(tmp / "t60.mp4", [res60.joints], prompt="60 s timeline")
            out["timeline_60s_mp4_seconds"] = time.perf_counter() - t0
            out["timeline_60s_mp4_mb"] = (tmp / "t60.mp4").stat().st_size / 2**20
    out["edit_over_generate"] = out["edit_6s"] / out["generate_6s"]
    out["four_over_one_take"] = out["four_takes_6s"] / out["one_take_6s"]
    return out


def real_feet(data: Path) -> dict:
    """Foot skating and contact consistency of the real walking/running clips of the test split."""
    from easytune_core.edit.metrics import contact_consistency, skating_ratio
    from easytune_core.motion.features import features_to_joints

    sk, cc = [], []
    for name in (data / "test.txt").read_text().split():
        caption = (data / "texts" / f"{name}.txt").read_text().lower()
        if "walk" not in caption and "run" not in caption:
            continue
        f = np.load(data / "new_joint_vecs" / f"{name}.npy")
        j = features_to_joints(f)
        sk.append(skating_ratio(j))
        cc.append(contact_consistency(f, j))
    sk, cc = np.array(sk), np.array(cc)
    return {"clips": len(sk), "skating_mean": float(sk.mean()), "skating_p50": float(np.percentile(sk, 50)),
            "skating_p90": float(np.percentile(sk, 90)), "skating_p95": float(np.percentile(sk, 95)),
            "contact_consistency_mean": float(cc.mean()), "contact_consistency_min": float(cc.min())}


def quality(pipe, takes: int, data: Path | None) -> dict:
    from easytune_core.edit import make_edit, path_spec
    from easytune_core.edit.metrics import contact_consistency, path_error, seam_report, skating_ratio
    from easytune_core.edit.seams import blend_seams
    from easytune_core.eval.rules import checks_for, judge

    out = {}
    sources = pipe.generate(["a person walks forward", "a person waves with the right hand", "a person jumps twice"],
                            seconds=6, seed=3, steps=50).features
    seams = {f"{known}, blend {b}": [] for known in ("noised", "clean") for b in (0, 10)}
    for si, S in enumerate(sources):
        for preset, prompt, kw in EDITS:
            spec = make_edit(preset, S, **kw)
            for known in ("noised", "clean"):
                res = pipe.edit(spec, prompt, seed=si, steps=50, takes=takes, known=known, blend=0)
                for b in (0, 10):
                    for f in res.features:
                        f = blend_seams(f, spec.keep, b)
                        rep = seam_report(pipe.features_to_joints(f[None], [len(f)])[0], spec.seams)
                        for s in rep["seams"]:
                            seams[f"{known}, blend {b}"].append({
                                "preset": preset, "ratio": s["ratio"],
                                "feet_ok": all(v["stayed_planted"] for v in s["feet"].values())})
    out["seams"] = {k: {"seams": len(v), "speed_within_p99": float(np.mean([x["ratio"] <= 1 for x in v])),
                        "feet_stay_planted": float(np.mean([x["feet_ok"] for x in v])),
                        "median_ratio": float(np.median([x["ratio"] for x in v])),
                        "max_ratio": float(np.max([x["ratio"] for x in v]))} for k, v in seams.items()}
    paths = []
    for name, pts in PATHS.items():
        spec = path_spec(pts)
        P = np.asarray(pts, float)
        t = np.arange(spec.frames) / 20
        line = np.stack([np.interp(t, P[:, 0], P[:, 1]), np.interp(t, P[:, 0], P[:, 2])], 1)
        for feet in (False, True):
            res = pipe.edit(spec, "a person walks", seed=0, steps=50, takes=takes, feet=feet)
            for f, j in zip(res.features, res.joints):
                paths.append({"path": name, "foot_locking": feet, "error_m": path_error(j, line),
                              "skating": skating_ratio(j), "contact_consistency": contact_consistency(f, j)})
    free = pipe.takes("a person walks forward", takes, seconds=6, seed=0, steps=50)
    out["paths"] = paths
    out["free_walk"] = {"skating": [skating_ratio(j) for j in free.joints],
                        "contact_consistency": [contact_consistency(f, j) for f, j in zip(free.features, free.joints)]}
    if data is not None and (data / "test.txt").exists():
        out["real_feet"] = real_feet(data)
    segs = [("a person walks forward", 4), ("a person turns left", 2), ("a person sits down", 3)]
    timeline = []
    for strategy in ("prefix", "blend"):
        for seed in range(4):
            res = pipe.compose(segs, seed=seed, steps=50, strategy=strategy)
            rules = []
            for s in res.segments:
                (cat, arg), = checks_for(s["prompt"])
                ok, value = judge(res.joints[s["start"]:s["end"]], cat, arg)
                rules.append({"prompt": s["prompt"], "passed": ok, "value": value})
            rep = seam_report(res.joints, [s["start"] for s in res.segments[1:]])
            timeline.append({"strategy": strategy, "seed": seed, "rules": rules, "seams_ok": rep["ok"],
                             "seam_ratios": [s["ratio"] for s in rep["seams"]]})
    out["timeline"] = timeline
    return out


def follow(pipe, seeds: int = 8) -> dict:
    """Does the regenerated part do what the prompt says? In-between edits of a generated walk (1 s kept at
    each end) to "a person jumps", judged by the jump rule on the regenerated frames, one take per seed."""
    from easytune_core.edit import make_edit
    from easytune_core.eval.rules import judge

    src = pipe.generate("a person walks forward", seconds=6, seed=3, steps=50).features[0]
    out = {}
    for keep in (20, 30):
        spec = make_edit("in-between", src, keep=keep)
        res = pipe.edit(spec, "a person jumps", seed=0, steps=50, takes=seeds)
        results = [judge(j[keep:len(j) - keep], "jump", "") for j in res.joints]
        out[f"keep_{keep}"] = {"seeds": seeds, "passed": sum(ok for ok, _ in results),
                               "values_m": [v for _, v in results]}
    return out


def markdown(res: dict) -> str:
    load = res["load_average"]
    lines = [f"Shipped base model, {res['threads']} torch threads; machine load average (1/5/15 min) "
             f"{', '.join(f'{x:.1f}' for x in load['start'])} at the start"
             + (f", {', '.join(f'{x:.1f}' for x in load['end'])} at the end" if "end" in load else "") + ".", ""]
    sp = res.get("speed")
    if sp:
        lines += ["| speed (50 DDIM steps, guidance 2.5, fp32) | seconds | target |", "|---|---|---|",
                  f"| generate one 6 s motion | {sp['generate_6s']:.3f} | |",
                  f"| edit it (in-between, same steps) | {sp['edit_6s']:.3f} (x{sp['edit_over_generate']:.2f}) | <= x1 |",
                  f"| path control, 6 s, with foot locking | {sp['path_6s_foot_locking']:.3f} | |",
                  f"| one take of 6 s | {sp['one_take_6s']:.3f} | |",
                  f"| four takes of 6 s, one batch | {sp['four_takes_6s']:.3f} (x{sp['four_over_one_take']:.2f}) | < x2 |",
                  f"| 30 s timeline (7 segments, {sp['timeline_30s_windows']} windows) -> GLB | {sp['timeline_30s_to_glb']:.2f} | < 10 |",
                  f"| 60 s timeline ({sp['timeline_60s_frames']} frames) composed | {sp['timeline_60s_compose']:.2f} | |"]
        for k in ("glb", "bvh", "npz", "mp4"):
            if f"timeline_60s_{k}_seconds" in sp:
                lines.append(f"| 60 s timeline -> {k.upper()} | {sp[f'timeline_60s_{k}_seconds']:.2f} "
                             f"({sp[f'timeline_60s_{k}_mb']:.1f} MB) | |")
        lines.append("")
    q = res.get("quality")
    if q:
        lines += ["Seams of 4 edit presets x 3 source motions x takes (ratio = seam speed / the motion's own 99th "
                  "percentile of joint speeds):", "",
                  "| inpainting | seams | speed within p99 | planted feet stay | median ratio | max ratio |",
                  "|---|---|---|---|---|---|"]
        for k, v in q["seams"].items():
            lines.append(f"| {k} | {v['seams']} | {v['speed_within_p99']:.0%} | {v['feet_stay_planted']:.0%} | "
                         f"{v['median_ratio']:.2f} | {v['max_ratio']:.2f} |")
        lines += ["", "| path | foot locking | max error (m) | skating ratio | contact consistency |", "|---|---|---|---|---|"]
        for name in PATHS:
            for feet in (False, True):
                rows = [p for p in q["paths"] if p["path"] == name and p["foot_locking"] == feet]
                lines.append(f"| {name} | {'on' if feet else 'off'} | {max(r['error_m'] for r in rows):.3f} | "
                             f"{np.mean([r['skating'] for r in rows]):.2f} | "
                             f"{np.mean([r['contact_consistency'] for r in rows]):.3f} |")
        fw = q["free_walk"]
        lines.append(f"| free walk (no path) | - | - | {np.mean(fw['skating']):.2f} | {np.mean(fw['contact_consistency']):.3f} |")
        if "real_feet" in q:
            rf = q["real_feet"]
            lines.append(f"| real walking/running clips ({rf['clips']}) | - | - | {rf['skating_mean']:.2f} "
                         f"(p90 {rf['skating_p90']:.2f}) | {rf['contact_consistency_mean']:.3f} |")
        lines += ["", "| timeline walk 4 s / turn left 2 s / sit 3 s | seeds | walk | turn | sit | seams ok |",
                  "|---|---|---|---|---|---|"]
        for strategy in ("prefix", "blend"):
            rows = [t for t in q["timeline"] if t["strategy"] == strategy]
            passed = [sum(r["rules"][k]["passed"] for r in rows) for k in range(3)]
            lines.append(f"| {strategy} | {len(rows)} | {passed[0]}/{len(rows)} | {passed[1]}/{len(rows)} | "
                         f"{passed[2]}/{len(rows)} | {sum(r['seams_ok'] for r in rows)}/{len(rows)} |")
    fo = res.get("follow")
    if fo:
        lines += ["", "| in-between of a walk to \"a person jumps\" | seeds | regenerated part passes the jump rule |",
                  "|---|---|---|"]
        for k, v in fo.items():
            lines.append(f"| {k.replace('keep_', '')} frames kept at each end | {v['seeds']} | {v['passed']} |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--checkpoint", default=str(ROOT / "assets/checkpoints/base"))
    ap.add_argument("--part", default="all", choices=("all", "speed", "quality", "follow"))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--takes", type=int, default=4, help="takes per setting in the quality part")
    ap.add_argument("--data", default=str(ROOT / "data/builtin"), help="for the real clips' foot statistics")
    ap.add_argument("--video", action="store_true", help="also time an mp4 of the 60 s timeline")
    ap.add_argument("--out", default=str(RESULTS / "edit"))
    args = ap.parse_args(argv)
    import torch

    torch.set_num_threads(args.threads)
    from easytune_core.pipeline import MotionPipeline

    pipe = MotionPipeline.from_checkpoint(args.checkpoint)
    res = {"checkpoint": str(Path(args.checkpoint).relative_to(ROOT)) if Path(args.checkpoint).is_relative_to(ROOT)
           else args.checkpoint, "threads": args.threads, "load_average": {"start": load_average()}}
    if args.part in ("all", "speed"):
        res["speed"] = speed(pipe, args.repeats, args.video)
    if args.part in ("all", "quality"):
        res["quality"] = quality(pipe, args.takes, Path(args.data))
    if args.part in ("all", "quality", "follow"):
        res["follow"] = follow(pipe)
    res["load_average"]["end"] = load_average()
    out = Path(args.out)
    if args.part != "all":
        out = out.with_name(f"{out.name}_{args.part}")
    res = json.loads(json.dumps(res, default=float))  # numpy scalars -> plain numbers
    md = markdown(res)
    write_results(out, res, md, device=pipe.device)
    print(md)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
