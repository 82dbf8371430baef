"""Ordered rule checks for captions that describe a sequence ("A, then B, and finally C").

Whole-clip rules cannot tell which part of a clip a clause refers to, so :func:`checks_for`
skips such captions. Here the caption is cut at its sequence words into clauses, each clause
gets its own checks, and a motion passes when it can be cut into consecutive segments, in the
caption's order, on which every clause's checks pass. The cut points are searched on a grid
(every ``step`` frames, each segment at least ``min_frames`` long), so the measure needs no
segment labels and works the same on generated and real motions; a motion that does B before A
fails "A, then B" unless the rules also see A in its first part.

A caption counts as checkable only when every clause has checks (a clause the parser cannot
check would leave its segment free and weaken the order test).
"""

from __future__ import annotations

import re
from functools import lru_cache

import numpy as np

from ...text.sequence import SPLIT, clauses_of, normalize
from .parse import checks_for

__all__ = ["SPLIT", "clauses_of", "sequence_checks", "judge_sequence"]

# Clause pairs that name one action in two phrases ("crouches, then gets back up", "crouches low
# then explodes upward"): the first check's rule already covers the second part.
ONE_ACTION = {("crouch", "get_up"), ("crouch", "squat_jump")}
# Rules that need the whole action from a standing start and fail on some real motions when the
# action is one part of a sequence: "rub_hands" asks for a second of rubbing (a brief rub between
# two actions lasts less), "squat_jump" measures the squat from the segment's first frames.
NOT_IN_SEQUENCES = {"rub_hands", "squat_jump"}
# Sequence words that reverse the order ("after jumping, he walks") or that no split handles.
UNORDERED = re.compile(r"\b(after(?! that)|previously|earlier|prior to)\b")


def sequence_checks(caption: str) -> list[list[tuple[str, str]]] | None:
    """The checks of each clause of a caption that describes 2-4 actions in order, or None if the
    caption is no such sequence or a clause has nothing checkable."""
    c = normalize(caption)
    clauses = clauses_of(c)
    if not 2 <= len(clauses) <= 4 or UNORDERED.search(c):
        return None
    out = []
    for clause in clauses:
        chk = checks_for(clause)
        if not chk or any(cat in NOT_IN_SEQUENCES for cat, _ in chk) or \
                (out and any((a, b) in ONE_ACTION for a, _ in out[-1] for b, _ in chk)):
            return None
        out.append(chk)
    return out


def judge_sequence(joints: np.ndarray, clauses: list[list[tuple[str, str]]], fps: float | None = None,
                   step: int = 5, min_frames: int = 10) -> tuple[bool, list[tuple[bool, float]], list[int]]:
    """Judge a motion against ordered clauses (``sequence_checks``).

    Returns (passed, one ``(passed, value)`` per check of every clause in order, the cut frames).
    The segmentation is the one with the most clauses passing whole, then the most checks
    passing; its per-check results are returned, so a failing motion still shows which clause
    failed. ``step`` and ``min_frames`` are in frames at 20 fps (the rules' rate); ``fps`` and
    KIT-ML joints are read as :func:`judge` reads them.
    """
    from . import FPS, judge, on_body

    if not clauses or not all(clauses):
        raise ValueError("judge_sequence needs at least one clause, each with checks")
    if step < 1 or min_frames < 2:
        raise ValueError(f"step must be >= 1 and min_frames >= 2, got {step} and {min_frames}")
    j = np.asarray(on_body(joints, fps), dtype=np.float64)  # once, not per segment
    T, n = len(j), len(clauses)
    grid = range(0, T - min_frames + 1, step)

    def score(k: int, s: int, e: int):
        res = tuple(judge(j[s:e], cat, arg, fps=FPS) for cat, arg in clauses[k])
        ok = sum(bool(r[0]) for r in res)
        return int(ok == len(res)), ok, res

    @lru_cache(maxsize=None)
    def best(k: int, s: int):
        """(clauses passing whole, checks passing, results, cuts) of the best cut of clauses k.. on [s, T)."""
        if k == n - 1:
            return (*score(k, s, T), ())
        top = None
        for e in grid:
            if e - s < min_frames or T - e < min_frames * (n - 1 - k):
                continue
            whole, ok, res = score(k, s, e)
            rw, rok, rres, rcuts = best(k + 1, e)
            cand = (whole + rw, ok + rok, res + rres, (e,) + rcuts)
            if top is None or cand[:2] > top[:2]:
                top = cand
        if top is None:  # too short for a segment per clause: every check fails
            return 0, 0, tuple((False, float("nan")) for kk in range(k, n) for _ in clauses[kk]), ()
        return top

    whole, _, res, cuts = best(0, 0)
    return whole == n, [(bool(ok), float(v)) for ok, v in res], list(cuts)
