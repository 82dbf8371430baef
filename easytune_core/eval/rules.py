"""Rule checks: does a motion do what its caption names?

A caption that names something checkable gets one or more ``(category, argument)`` checks,
and simple joint-space rules judge a motion (``(T, 22, 3)`` HumanML3D joints, metres, Y up):

- ``walk forward|backward|left|right``: the pelvis ends at least 0.3 m away that way, relative
  to the facing at frame 0 (+Z forward, +X left); sideways needs "side" in the caption;
- ``jump`` / ``jump hop`` / ``jump jacks``: at some frame both feet are at least 8 cm above the
  floor (hops on one foot: 4 cm; jumping jacks, whose synthetic clips clear as little as 4 cm: 3 cm);
- ``wave left|right``: the named wrist rises higher (relative to its shoulder) than the other
  wrist, and above shoulder level minus 10 cm;
- ``turn left|right``: the facing turns at least 30 degrees the named way (left =
  counter-clockwise seen from above); ``turn around``: at least 90 degrees either way;
- ``sit``: the pelvis drops at least 20 cm below its height at frame 0.

Captions that describe a sequence ("first ... then ...") are skipped: whole-clip rules cannot
tell which part of the clip a phrase refers to. The rules pass on every ground-truth motion of
the built-in dataset's test split; they are a coarse, independent check of prompt following
that neither the reward model nor the evaluator takes part in.
"""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path

import numpy as np

__all__ = ["checks_for", "facing_yaw", "judge", "judge_generated", "load_rule_cases", "summarize"]

L_FOOT_JOINTS, R_FOOT_JOINTS = (7, 10), (8, 11)
SIDE = {"left": 0, "right": 1}
WRIST, SHOULDER = (20, 21), (16, 17)
SEQUENCE = re.compile(r"\b(then|before|after|finally|first|followed|afterwards|next)\b|,")
MOVING = re.compile(r"\b(walk|walks|walking|run|runs|running|jog|jogs|jogging|moves?|moving|step|steps|stepping|"
                    r"sidesteps?|shuffles?|strides?|paces?)\b")


def checks_for(caption: str) -> list[tuple[str, str]]:
    """The ``(category, argument)`` checks a caption asks for; empty if nothing is checkable."""
    c = caption.lower().strip()
    if SEQUENCE.search(c):
        return []
    out = []
    turning = re.search(r"\bturn", c) or "face the other way" in c
    if MOVING.search(c) and not turning:
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
    """(T,) unwrapped heading in radians (+ = counter-clockwise seen from above, 0 = +Z)."""
    j = np.asarray(joints, dtype=np.float64)
    across = (j[:, 1] - j[:, 2]) + (j[:, 16] - j[:, 17])  # right -> left hip and shoulder: +X at rest
    fwd_x, fwd_z = -across[:, 2], across[:, 0]  # forward = across rotated 90 degrees about +Y
    return np.unwrap(np.arctan2(fwd_x, fwd_z))


def judge(joints: np.ndarray, category: str, arg: str = "") -> tuple[bool, float]:
    """Apply one rule to joints ``(T, 22, 3)``: (passed, the measured value). KIT-ML joints
    ``(T, 21, 3)`` (millimetres or metres) are first put on the 22-joint body."""
    j = np.asarray(joints, dtype=np.float64)
    if j.ndim == 3 and j.shape[1:] == (21, 3) and len(j) >= 1:
        from easytune_core.motion.kit_body import kit_to_body_joints
        j = kit_to_body_joints(j)
    if j.ndim != 3 or j.shape[1] < 22 or j.shape[2] != 3 or len(j) < 2:
        raise ValueError(f"judge expects joints shaped (frames >= 2, 22, 3), got {j.shape}")
    if category == "walk":
        if arg not in ("forward", "backward", "left", "right"):
            raise ValueError(f"unknown walk direction {arg!r}")
        d = j[-1, 0] - j[0, 0]
        yaw0 = facing_yaw(j[:3]).mean()
        fwd = d[0] * np.sin(yaw0) + d[2] * np.cos(yaw0)
        left = d[0] * np.cos(yaw0) - d[2] * np.sin(yaw0)
        value = {"forward": fwd, "backward": -fwd, "left": left, "right": -left}[arg]
        return bool(value > 0.3), round(float(value), 4)
    if category == "jump":
        if arg not in ("", "hop", "jacks"):
            raise ValueError(f"unknown jump kind {arg!r}")
        feet = j[:, list(L_FOOT_JOINTS + R_FOOT_JOINTS), 1]
        floor = np.percentile(feet.min(axis=1), 5)
        value = float((feet.min(axis=1) - floor).max())
        return bool(value > {"": 0.08, "hop": 0.04, "jacks": 0.03}[arg]), round(value, 4)
    if category == "wave":
        if arg not in SIDE:
            raise ValueError(f"unknown hand {arg!r}")
        s, o = SIDE[arg], 1 - SIDE[arg]
        rise = (j[:, WRIST[s], 1] - j[:, SHOULDER[s], 1]).max()
        other = (j[:, WRIST[o], 1] - j[:, SHOULDER[o], 1]).max()
        return bool(rise > other and rise > -0.1), round(float(rise - other), 4)
    if category == "turn":
        yaw = facing_yaw(j)
        turned = float(np.degrees(yaw[-5:].mean() - yaw[:5].mean()))
        if arg == "around":
            return bool(abs(turned) > 90), round(turned, 4)
        if arg not in SIDE:
            raise ValueError(f"unknown turn direction {arg!r}")
        return bool(turned > 30 if arg == "left" else turned < -30), round(turned, 4)
    if category == "sit":
        drop = float(j[0, 0, 1] - j[:, 0, 1].min())
        return bool(drop > 0.2), round(drop, 4)
    raise ValueError(f"unknown rule category {category!r}")


def load_rule_cases(root, split: str = "test", limit: int | None = None, seed: int = 0) -> list[dict]:
    """Checkable whole-clip captions of a dataset split (HumanML3D layout), one per clip first.

    Returns dicts ``{"name", "caption", "checks", "frames"}`` in a seeded random order; the
    first ``limit`` of them (a larger limit extends a smaller one's list).
    """
    root = Path(root)
    split_file = root / f"{split}.txt"
    if not split_file.is_file():
        raise FileNotFoundError(f"{split_file} does not exist")
    names = [n.strip() for n in split_file.read_text().splitlines() if n.strip()]
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
    seen, picked = set(), []
    for c in cases:  # one caption per clip, so the sample spans many clips
        if c["name"] not in seen:
            picked.append(c)
            seen.add(c["name"])
    picked = picked[:limit] if limit is not None else picked
    for c in picked:
        vec = root / "new_joint_vecs" / f"{c['name']}.npy"
        c["frames"] = int(np.load(vec, mmap_mode="r").shape[0]) if vec.exists() else None
    return picked


def judge_generated(pipe, cases: list[dict], steps: int = 50, guidance: float = 2.5, seed: int = 0,
                    batch: int = 32, gt_root=None, log=None) -> None:
    """Sample one motion per case with ``pipe`` (a MotionPipeline) at the clip's length (40 frames
    up to the model's maximum) and store the rule results in ``case["gen"]``; with ``gt_root``
    (the dataset folder) also judge the ground-truth joints into ``case["gt"]``."""
    import time

    t0 = time.time()
    for b in range(0, len(cases), batch):
        chunk = cases[b:b + batch]
        frames = [int(np.clip(c["frames"] or 120, 40, pipe.max_frames)) for c in chunk]
        res = pipe.generate([c["caption"] for c in chunk], frames=frames, seed=seed + b, guidance=guidance,
                            steps=steps)
        for c, jts, n in zip(chunk, res.joints, res.lengths):
            c["gen"] = [judge(jts[:n], cat, arg) for cat, arg in c["checks"]]
            gt_path = Path(gt_root) / "new_joints" / f"{c['name']}.npy" if gt_root is not None else None
            if gt_path is not None and gt_path.exists():
                c["gt"] = [judge(np.load(gt_path), cat, arg) for cat, arg in c["checks"]]
        if log:
            log(f"{min(b + batch, len(cases))}/{len(cases)} captions, {time.time() - t0:.0f}s")


def summarize(cases: list[dict], key: str = "gen") -> dict:
    """Per-check and overall pass fractions of ``case[key]`` (a list of judge() results per check)."""
    per = defaultdict(lambda: [0, 0])
    for c in cases:
        if key not in c:
            continue
        for (cat, arg), (ok, _) in zip(c["checks"], c[key]):
            name = f"{cat} {arg}".strip()
            per[name][0] += int(ok)
            per[name][1] += 1
    total = sum(n for _, n in per.values())
    passed = sum(p for p, _ in per.values())
    return {"checks": total, "passed": passed, "pass_fraction": passed / total if total else float("nan"),
            "per_check": {k: {"n": n, "pass": p, "pass_fraction": p / n} for k, (p, n) in sorted(per.items())}}
