"""Rule checks: does a motion do what its caption names?

A caption that names something checkable gets one or more ``(category, argument)`` checks
(:func:`checks_for`, see :mod:`.parse`), and joint-space rules judge a motion (``(T, 22, 3)``
HumanML3D joints, metres, Y up) with :func:`judge`. The categories cover the built-in
vocabulary: walking direction, pace, distance and manner; running; turns by a stated angle;
circles, zigzags, squares, figure eights, diagonals and pacing; jumps (count, direction,
height, star / squat / tuck jumps, jump turns, rope), hops; balance and leg actions (one foot,
lunges, stomps, stepping over, leg swings, kicks, calf raises, tiptoes, high knees, skipping,
galloping, side-shuffles, grapevines, limping); floor actions (sitting on the floor or a chair,
lying on the back / front, getting up, rolling over, crawling, kneeling, push-ups, sit-ups,
planks); arm and upper-body actions; sports and dance moves. Each rule's docstring in
:mod:`.moves`, :mod:`.floor`, :mod:`.arms` and :mod:`.sports` states what it measures.

Captions that describe a sequence ("then", "after that", ...) get no whole-clip checks: whole-clip
rules cannot tell which part of the clip a phrase refers to. :mod:`.sequence` checks them in order
instead (each clause on its own segment of the clip, the cuts searched). The rules pass on every ground-truth
motion of the built-in dataset's test split and fail on the near twins that differ in the
checked attribute; they are a coarse, independent check of prompt following that neither the
reward model nor the evaluator takes part in.
"""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path

import numpy as np

from . import arms, floor, sports  # noqa: F401  (register the rules)
from ..batching import item_noise
from .body import FPS, Body
from .moves import JUDGES
from .parse import checks_for
from .sequence import judge_sequence, sequence_checks

__all__ = ["CATEGORIES", "checks_for", "facing_yaw", "judge", "judge_best_of", "judge_case", "judge_generated",
           "judge_sequence", "judge_timelines", "load_rule_cases", "sequence_checks", "summarize"]

CATEGORIES = tuple(sorted(JUDGES))


KIT_FPS = 12.5
"""KIT-ML's frame rate."""


def resample(joints: np.ndarray, fps: float, to_fps: float) -> np.ndarray:
    """``(T, J, 3)`` joints at ``fps`` linearly interpolated to ``to_fps`` (same duration)."""
    T = len(joints)
    if T < 2:
        return joints
    n = max(2, int(round((T - 1) * to_fps / fps)) + 1)
    src = np.arange(T) / fps
    dst = np.arange(n) / to_fps
    dst = np.clip(dst, 0.0, src[-1])
    flat = joints.reshape(T, -1)
    out = np.stack([np.interp(dst, src, flat[:, c]) for c in range(flat.shape[1])], axis=1)
    return out.reshape(n, *joints.shape[1:])


def facing_yaw(joints: np.ndarray) -> np.ndarray:
    """(T,) unwrapped heading in radians (+ = counter-clockwise seen from above, 0 = +Z)."""
    return Body(joints).yaw


def on_body(joints: np.ndarray, fps: float | None = None) -> np.ndarray:
    """Joints as the rules read them: KIT-ML's ``(T, 21, 3)`` put on the 22-joint body, and
    resampled to 20 frames per second from ``fps`` (default: 12.5 for KIT-ML joints, 20 otherwise)."""
    j = np.asarray(joints)
    kit = j.ndim == 3 and j.shape[1:] == (21, 3) and len(j) >= 1
    if kit:
        from easytune_core.motion.kit_body import kit_to_body_joints
        joints = kit_to_body_joints(np.asarray(j, dtype=np.float64))
    rate = float(fps) if fps is not None else (KIT_FPS if kit else FPS)
    if not (np.isfinite(rate) and rate > 0):
        raise ValueError(f"fps must be positive, got {fps!r}")
    if abs(rate - FPS) > 1e-9:
        joints = resample(np.asarray(joints, dtype=np.float64), rate, FPS)
    return joints


# "any" in place of a side (or of back / front for lying) passes if either choice passes.
ANY = {"lie": ("back", "front")}


def judge(joints: np.ndarray, category: str, arg: str = "", fps: float | None = None) -> tuple[bool, float]:
    """Apply one rule to joints ``(T, 22, 3)``: (passed, the measured value). KIT-ML joints
    ``(T, 21, 3)`` (millimetres or metres) are first put on the 22-joint body.

    The rules measure speeds and durations at 20 frames per second (HumanML3D's rate); motions at
    another ``fps`` (default: 12.5 for KIT-ML joints, 20 otherwise) are resampled to it first.

    An argument word ``any`` stands for either side (``("kneel", "any")``, ``("hand_to_head",
    "any phone")``) or, for lying, either back or front.
    """
    body = Body(on_body(joints, fps))
    if category not in JUDGES:
        raise ValueError(f"unknown rule category {category!r}; choose one of {', '.join(CATEGORIES)}")
    words = str(arg).split()
    if "any" in words:
        results = []
        for choice in ANY.get(category, ("left", "right")):
            results.append(JUDGES[category](body, " ".join(choice if w == "any" else w for w in words)))
        ok, value = max(results, key=lambda r: (bool(r[0]), r[1]))
        return bool(ok), float(value)
    ok, value = JUDGES[category](body, str(arg))
    return bool(ok), float(value)


def load_rule_cases(root, split: str = "test", limit: int | None = None, seed: int = 0,
                    sequences: bool = False) -> list[dict]:
    """Checkable whole-clip captions of a dataset split (HumanML3D layout), one per clip first.

    Returns dicts ``{"name", "caption", "checks", "frames"}`` in a seeded random order; the
    first ``limit`` of them (a larger limit extends a smaller one's list). With ``sequences``,
    the captions that describe 2-4 actions in order instead (:mod:`.sequence`), each with
    ``"clauses"`` (the checks of each clause) and ``"checks"`` (all of them, in order).
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
            if sequences:
                clauses = sequence_checks(cap)
                if clauses:
                    cases.append({"name": name, "caption": cap, "clauses": clauses,
                                  "checks": [ck for cl in clauses for ck in cl]})
                continue
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


def judge_case(case: dict, joints: np.ndarray, fps: float | None = None) -> list[tuple[bool, float]]:
    """One ``(passed, value)`` per check of a rule case; a sequence case (with ``"clauses"``) is
    judged in order (:func:`.sequence.judge_sequence`) and its checks come from the best cut."""
    if case.get("clauses"):
        return judge_sequence(joints, case["clauses"], fps=fps)[1]
    return [judge(joints, cat, arg, fps=fps) for cat, arg in case["checks"]]


def judge_generated(pipe, cases: list[dict], steps: int = 50, guidance: float = 2.5, seed: int = 0,
                    batch: int = 32, gt_root=None, log=None, on_result=None) -> None:
    """Sample one motion per case with ``pipe`` (a MotionPipeline) at the clip's length (40 frames
    up to the model's maximum) and store the rule results in ``case["gen"]``; with ``gt_root``
    (the dataset folder) also judge the ground-truth joints into ``case["gt"]``. ``on_result(ids,
    result)``, when given, sees each batch's GenerationResult and the indices of its cases.

    With a MotionPipeline, case i's initial noise is drawn from (``seed``, i) alone, so a case's
    motion does not depend on the batch size or on the other cases. Cases are generated in batches
    of similar length (sorted by frames), so short clips are not padded to the longest one."""
    import time

    t0 = time.time()
    frames = [_case_frames(c, pipe) for c in cases]
    order = sorted(range(len(cases)), key=lambda i: frames[i])
    fps = float(getattr(pipe, "fps", FPS))
    done = 0
    for b in range(0, len(order), batch):
        ids = order[b:b + batch]
        lengths = [frames[i] for i in ids]
        # a MotionPipeline gets each case's own noise; other generators a seed per batch
        kw = {"init_noise": item_noise(pipe, seed, ids, lengths)} if hasattr(pipe, "make_noise") else {}
        res = pipe.generate([cases[i]["caption"] for i in ids], frames=lengths, seed=seed + b, guidance=guidance,
                            steps=steps, **kw)
        for i, jts, n in zip(ids, res.joints, res.lengths):
            c = cases[i]
            c["gen"] = judge_case(c, jts[:n], fps)
            _judge_ground_truth(c, gt_root, fps)
        if on_result is not None:
            on_result(ids, res)
        done += len(ids)
        if log:
            log(f"{done}/{len(cases)} captions, {time.time() - t0:.0f}s")


def judge_best_of(pipe, cases: list[dict], takes: int, score, steps: int = 50, guidance: float = 2.5,
                  seed: int = 0, batch: int = 32, gt_root=None, log=None) -> None:
    """Best-of-``takes`` with a scorer: sample each case ``takes`` times (take k as
    :func:`judge_generated` with seed ``seed + 1000 k``, so take 0 is its plain run), score every
    motion with ``score(captions, features, lengths) -> (B,)`` (e.g. a reward model,
    :func:`easytune_core.reward.rank.reward_scores`) and judge them all.

    Stores in each case: ``"takes"`` (the rule results of every take), ``"scores"`` (each take's
    score), ``"pick"`` (the index of the highest-scoring take, the earlier one on ties), ``"gen"``
    (take 0's results, what :func:`judge_generated` gives) and ``"best"`` (the picked take's)."""
    if int(takes) < 1:
        raise ValueError(f"takes must be at least 1, got {takes}")
    for c in cases:
        c["takes"], c["scores"] = [], []
    for k in range(int(takes)):
        run = [dict(c, takes=None, scores=None) for c in cases]

        def scored(ids, res, run=run):
            values = np.asarray(score(list(res.prompts), res.features, list(res.lengths)), dtype=np.float64)
            for i, v in zip(ids, values):
                run[i]["score"] = float(v)

        judge_generated(pipe, run, steps, guidance, seed + 1000 * k, batch, gt_root=gt_root if k == 0 else None,
                        log=log, on_result=scored)
        for c, r in zip(cases, run):
            c["takes"].append(r["gen"])
            c["scores"].append(r["score"])
            if k == 0 and "gt" in r:
                c["gt"] = r["gt"]
    for c in cases:
        c["pick"] = int(np.argmax(c["scores"]))
        c["gen"], c["best"] = c["takes"][0], c["takes"][c["pick"]]


def _case_frames(case: dict, pipe) -> int:
    """The frames a case is generated at: its clip's length (120 if unknown), 40 up to the model's maximum."""
    return int(np.clip(case["frames"] or 120, 40, pipe.max_frames))


def _judge_ground_truth(case: dict, gt_root, fps: float) -> None:
    """Judge the case's ground-truth joints (``gt_root/new_joints/<name>.npy``) into ``case["gt"]``
    when ``gt_root`` is given and the file exists."""
    if gt_root is None:
        return
    path = Path(gt_root) / "new_joints" / f"{case['name']}.npy"
    if path.exists():
        case["gt"] = judge_case(case, np.load(path), fps)


def judge_timelines(pipe, cases: list[dict], steps: int = 50, guidance: float = 2.5, seed: int = 0,
                    strategy: str = "prefix", key: str = "timeline", gt_root=None, log=None) -> None:
    """Generate each case's caption as a timeline of its clauses and judge it into ``case[key]``;
    with ``gt_root`` also judge the ground truth into ``case["gt"]`` (as :func:`judge_generated`).

    The caption is cut into its clauses (:func:`easytune_core.text.sequence.sequence_timeline`),
    which share the clip's length (40 frames up to the model's maximum, as in
    :func:`judge_generated`, and at least one second per clause), and ``pipe.compose`` generates
    them in order with ``strategy``. Case i's timeline is seeded ``seed + 100 * i``, so a case's
    motion does not depend on the other cases.
    """
    import time

    from ...text.sequence import clauses_of, sequence_timeline

    t0 = time.time()
    fps = float(getattr(pipe, "fps", FPS))
    for i, c in enumerate(cases):
        frames = max(_case_frames(c, pipe), int(np.ceil(fps * len(clauses_of(c["caption"])))))
        res = pipe.compose(sequence_timeline(c["caption"], frames / fps), seed=seed + 100 * i, guidance=guidance,
                           steps=steps, strategy=strategy)
        c[key] = judge_case(c, res.joints, res.fps)
        _judge_ground_truth(c, gt_root, fps)
        if log and ((i + 1) % 10 == 0 or i + 1 == len(cases)):
            log(f"{i + 1}/{len(cases)} timelines, {time.time() - t0:.0f}s")


def summarize(cases: list[dict], key: str = "gen") -> dict:
    """Per-check and overall pass fractions of ``case[key]`` (a list of judge() results per check),
    and the fraction of captions whose checks all pass."""
    per = defaultdict(lambda: [0, 0])
    whole = [0, 0]
    for c in cases:
        if key not in c:
            continue
        whole[0] += int(all(ok for ok, _ in c[key]))
        whole[1] += 1
        for (cat, arg), (ok, _) in zip(c["checks"], c[key]):
            name = f"{cat} {arg}".strip()
            per[name][0] += int(ok)
            per[name][1] += 1
    total = sum(n for _, n in per.values())
    passed = sum(p for p, _ in per.values())
    return {"checks": total, "passed": passed, "pass_fraction": passed / total if total else float("nan"),
            "captions": whole[1], "caption_pass_fraction": whole[0] / whole[1] if whole[1] else float("nan"),
            "per_check": {k: {"n": n, "pass": p, "pass_fraction": p / n} for k, (p, n) in sorted(per.items())}}
