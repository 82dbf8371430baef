"""Does the base model follow its text? Rule-based checks on held-out (test-split) captions.

For every test caption that names something checkable, the model samples a motion and
simple joint-space rules judge it:

- walk direction: "forward"/"backward" (or sideways "to the left/right") gaits move the
  pelvis at least 0.3 m that way (relative to the facing at frame 0: +Z forward, +X left);
- jump / hop: at some frame both feet are at least 8 cm (hops on one foot and jumping jacks: 4 cm) above the floor;
- wave with the left/right hand: the named wrist rises higher (relative to its shoulder)
  than the other wrist, and above shoulder level minus 10 cm;
- turn left/right: the facing direction turns at least 30 degrees the named way
  (left = counter-clockwise seen from above); "turns around": at least 90 degrees;
- sit down: the pelvis drops at least 20 cm below its height at frame 0.

The same rules run on the ground-truth test motions as a sanity check of the rules.
Writes benchmarks/results/prompt_following.{json,md}.

    python benchmarks/prompt_following.py --checkpoint assets/checkpoints/base --data data/builtin
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

L_FOOT_JOINTS, R_FOOT_JOINTS = (7, 10), (8, 11)
SIDE = {"left": 0, "right": 1}
WRIST, SHOULDER = (20, 21), (16, 17)


SEQUENCE = re.compile(r"\b(then|before|after|finally|first|followed|afterwards|next)\b|,")


def checks_for(caption: str) -> list[tuple[str, str]]:
    """(category, argument) checks a caption asks for; empty if nothing checkable.

    Captions that describe a sequence ("first ... then ...") are skipped: whole-clip rules
    cannot tell which part of the clip a phrase refers to.
    """
    c = caption.lower().strip()
    if SEQUENCE.search(c):
        return []
    out = []
    turning = re.search(r"\bturn", c) or "face the other way" in c
    moving = re.search(r"\b(walk|walks|walking|run|runs|running|jog|jogs|jogging|moves?|moving|step|steps|stepping|"
                       r"sidesteps?|shuffles?|strides?|paces?)\b", c)
    if moving and not turning:
        if re.search(r"\bbackwards?\b", c):
            out.append(("walk", "backward"))
        elif re.search(r"\bforwards?\b|straight ahead", c):
            out.append(("walk", "forward"))
        elif "side" in c:
            m = re.search(r"\b(left|right)\b", c)
            if m and not re.search(r"(hand|arm)", c):
                out.append(("walk", m.group(1)))
    if re.search(r"jumping jacks?|spreading the arms and legs", c):
        out.append(("jump", "jacks"))
    elif re.search(r"\b(jump|jumps|jumping|leaps?)\b", c):
        out.append(("jump", ""))
    elif re.search(r"\b(hop|hops|hopping)\b", c):
        out.append(("jump", "hop"))
    if re.search(r"\bwav(e|es|ing)\b", c):
        m = re.search(r"\b(left|right)\s+(hand|arm)\b", c)
        if m:
            out.append(("wave", m.group(1)))
    if turning:
        m = re.search(r"\bturn\w*\b(?:(?!\b(?:hand|arm|leg|foot)\b).)*?\b(left|right)\b", c)
        if m:
            out.append(("turn", m.group(1)))
        elif re.search(r"turns? around|face the other way|turn\w* 180", c):
            out.append(("turn", "around"))
    if re.search(r"\bsit(s|ting)?\b", c) and not re.search(r"stand|gets? up|rises", c):
        out.append(("sit", ""))
    return out


def facing_yaw(joints: np.ndarray) -> np.ndarray:
    """(T,) unwrapped heading angle (radians, + = counter-clockwise from above) from hips and shoulders."""
    across = (joints[:, 1] - joints[:, 2]) + (joints[:, 16] - joints[:, 17])  # right -> left = +X at rest
    # forward = up x across... at rest across = +X, forward = +Z: forward = (across_z*-1?, ..)
    fwd_x, fwd_z = -across[:, 2], across[:, 0]
    return np.unwrap(np.arctan2(fwd_x, fwd_z))


def judge(joints: np.ndarray, category: str, arg: str) -> tuple[bool, float]:
    """Apply one rule to joints (T, 22, 3); returns (passed, measured value)."""
    ok, value = _judge(joints, category, arg)
    return bool(ok), round(float(value), 4)


def _judge(joints: np.ndarray, category: str, arg: str):
    j = np.asarray(joints, dtype=np.float64)
    if category == "walk":
        d = j[-1, 0] - j[0, 0]
        yaw0 = facing_yaw(j[:3]).mean()
        fwd = d[0] * np.sin(yaw0) + d[2] * np.cos(yaw0)
        left = d[0] * np.cos(yaw0) - d[2] * np.sin(yaw0)
        value = {"forward": fwd, "backward": -fwd, "left": left, "right": -left}[arg]
        return value > 0.3, float(value)
    if category == "jump":
        feet = j[:, list(L_FOOT_JOINTS + R_FOOT_JOINTS), 1]
        floor = np.percentile(feet.min(axis=1), 5)
        value = float((feet.min(axis=1) - floor).max())
        return value > (0.08 if arg == "" else 0.04), value
    if category == "wave":
        s, o = SIDE[arg], 1 - SIDE[arg]
        rise = (j[:, WRIST[s], 1] - j[:, SHOULDER[s], 1]).max()
        other = (j[:, WRIST[o], 1] - j[:, SHOULDER[o], 1]).max()
        return bool(rise > other and rise > -0.1), float(rise - other)
    if category == "turn":
        yaw = facing_yaw(j)
        turned = float(np.degrees(yaw[-5:].mean() - yaw[:5].mean()))
        if arg == "around":
            return abs(turned) > 90, turned
        return (turned > 30) if arg == "left" else (turned < -30), turned
    if category == "sit":
        drop = float(j[0, 0, 1] - j[:, 0, 1].min())
        return drop > 0.2, drop
    raise ValueError(category)


def load_cases(root: Path, limit: int, seed: int) -> list[dict]:
    names = [n.strip() for n in (root / "test.txt").read_text().splitlines() if n.strip()]
    cases = []
    for name in names:
        txt = root / "texts" / f"{name}.txt"
        if not txt.exists():
            continue
        for line in txt.read_text().splitlines():
            parts = line.split("#")
            if len(parts) >= 4 and (float(parts[2] or 0) != 0 or float(parts[3] or 0) != 0):
                continue  # sub-segment captions describe only part of the clip
            cap = parts[0].strip()
            chk = checks_for(cap)
            if chk:
                cases.append({"name": name, "caption": cap, "checks": chk})
    rng = np.random.default_rng(seed)
    rng.shuffle(cases)
    # one caption per clip first, so the sample spans many clips
    seen, picked = set(), []
    for c in cases:
        if c["name"] not in seen:
            picked.append(c)
            seen.add(c["name"])
    return picked[:limit]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--checkpoint", default=str(ROOT / "assets/checkpoints/base"))
    ap.add_argument("--data", default=str(ROOT / "data/builtin"))
    ap.add_argument("--limit", type=int, default=200, help="test captions to check")
    ap.add_argument("--steps", type=int, default=50)
    ap.add_argument("--guidance", type=float, default=2.5)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", default=str(ROOT / "benchmarks/results/prompt_following"))
    ap.add_argument("--gt-only", action="store_true", help="only run the rules on the ground-truth motions")
    args = ap.parse_args(argv)
    import torch
    torch.set_num_threads(args.threads)
    from easytune_core.pipeline import MotionPipeline
    root = Path(args.data)
    cases = load_cases(root, args.limit, args.seed)
    if not cases:
        raise SystemExit(f"no checkable captions in {root}/test.txt")
    if args.gt_only:
        per = defaultdict(lambda: [0, 0])
        for c in cases:
            for cat, arg in c["checks"]:
                ok, v = judge(np.load(root / "new_joints" / f"{c['name']}.npy"), cat, arg)
                per[f"{cat} {arg}".strip()][0] += ok
                per[f"{cat} {arg}".strip()][1] += 1
                if not ok:
                    print("GT FAIL", c["name"], c["caption"], cat, arg, v)
        for k, (p, n) in sorted(per.items()):
            print(f"{k}: {p}/{n}")
        return 0
    pipe = MotionPipeline.from_checkpoint(args.checkpoint)
    t0 = time.time()
    for b in range(0, len(cases), args.batch):
        chunk = cases[b:b + args.batch]
        frames = []
        for c in chunk:
            n = np.load(root / "new_joint_vecs" / f"{c['name']}.npy", mmap_mode="r").shape[0]
            frames.append(int(np.clip(n, 40, pipe.max_frames)))
        res = pipe.generate([c["caption"] for c in chunk], frames=frames, seed=args.seed + b,
                            guidance=args.guidance, steps=args.steps)
        for c, jts, n in zip(chunk, res.joints, res.lengths):
            c["gen"] = [judge(jts[:n], cat, arg) for cat, arg in c["checks"]]
            gt_path = root / "new_joints" / f"{c['name']}.npy"
            if gt_path.exists():
                c["gt"] = [judge(np.load(gt_path), cat, arg) for cat, arg in c["checks"]]
        print(f"{min(b + args.batch, len(cases))}/{len(cases)} captions, {time.time() - t0:.0f}s", file=sys.stderr)
    per = defaultdict(lambda: {"n": 0, "gen_pass": 0, "gt_pass": 0, "gt_n": 0})
    for c in cases:
        for i, (cat, arg) in enumerate(c["checks"]):
            key = f"{cat} {arg}".strip()
            per[key]["n"] += 1
            per[key]["gen_pass"] += int(c["gen"][i][0])
            if "gt" in c:
                per[key]["gt_n"] += 1
                per[key]["gt_pass"] += int(c["gt"][i][0])
    total = sum(v["n"] for v in per.values())
    gen_pass = sum(v["gen_pass"] for v in per.values())
    gt_n = sum(v["gt_n"] for v in per.values())
    gt_pass = sum(v["gt_pass"] for v in per.values())
    summary = {"checkpoint": args.checkpoint, "captions": len(cases), "checks": total,
               "pass_fraction": gen_pass / total, "gt_pass_fraction": gt_pass / max(gt_n, 1),
               "steps": args.steps, "guidance": args.guidance, "seconds": round(time.time() - t0, 1),
               "per_check": dict(sorted(per.items())),
               "examples": [{"caption": c["caption"], "checks": c["checks"], "gen": c["gen"]} for c in cases[:20]]}
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps(summary, indent=1))
    lines = [f"Prompt following of `{args.checkpoint}` on {len(cases)} test-split captions "
             f"({args.steps} DDIM steps, guidance {args.guidance}):", "",
             "| check | captions | model pass | ground-truth pass |", "|---|---|---|---|"]
    for k, v in sorted(per.items()):
        lines.append(f"| {k} | {v['n']} | {v['gen_pass'] / v['n']:.0%} | "
                     f"{(v['gt_pass'] / v['gt_n']) if v['gt_n'] else float('nan'):.0%} |")
    lines.append(f"| **all** | {total} | **{gen_pass / total:.0%}** | {gt_pass / max(gt_n, 1):.0%} |")
    out.with_suffix(".md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
