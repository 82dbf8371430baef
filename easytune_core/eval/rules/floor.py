"""Rule checks for floor-level actions and whole-body postures: sitting on the floor or a chair,
lying on the back or front, getting up, rolling over, crawling, kneeling, push-ups, sit-ups,
planks, being on all fours, bowing and touching the toes."""

from __future__ import annotations

import numpy as np

from .body import ANKLE, FOOT, FPS, HIP, KNEE, NECK, PELVIS, SPINE3, WRIST, Body, count_peaks, longest_run
from .moves import _r, _side, judge_fn

END = 8  # frames that make "the end" of a clip


def _end(x):
    return float(np.median(x[-END:]))


@judge_fn("sit")
def sit(b: Body, arg):
    """The pelvis drops at least 20 cm below its height at the start."""
    drop = float(b.j[0, PELVIS, 1] - b.j[:, PELVIS, 1].min())
    return bool(drop > 0.2), _r(drop)


@judge_fn("sit_floor")
def sit_floor(b: Body, arg):
    """At the end: sitting on the floor (pelvis under 30 cm, trunk within 50 degrees of upright)."""
    h, tilt = _end(b.h(PELVIS)), _end(b.tilt)
    return bool(h < 0.3 and tilt < 50), _r(h)


@judge_fn("cross_legged")
def cross_legged(b: Body, arg):
    """Sitting on the floor with the knees out wide (45 cm or more apart) and the feet between them."""
    ok, h = sit_floor(b, arg)
    knees = _end(np.abs(b.local(KNEE[0])[:, 0] - b.local(KNEE[1])[:, 0]))
    feet = _end(np.abs(b.local(FOOT[0])[:, 0] - b.local(FOOT[1])[:, 0]))
    return bool(ok and knees > 0.45 and feet < knees), _r(knees)


@judge_fn("chair")
def chair(b: Body, arg):
    """At the end: seated at chair height (pelvis 35-70 cm above the floor), trunk upright."""
    h = _end(b.h(PELVIS))
    return bool(0.35 < h < 0.7 and _end(b.tilt) < 40), _r(h)


@judge_fn("lie")
def lie(b: Body, arg):
    """At the end: lying on the ``back`` (chest up) or ``front`` (chest down): pelvis under 30 cm,
    trunk within 30 degrees of horizontal."""
    if arg not in ("back", "front"):
        raise ValueError(f"unknown lying side {arg!r} (back or front)")
    h, tilt, up = _end(b.h(PELVIS)), _end(b.tilt), _end(b.front[:, 1])
    facing = up > 0.5 if arg == "back" else up < -0.5
    return bool(h < 0.3 and tilt > 60 and facing), _r(up)


@judge_fn("get_up")
def get_up(b: Body, arg):
    """From low (pelvis under 55 cm at the start) to standing upright at the end (pelvis over 75 cm)."""
    start, end = float(np.median(b.h(PELVIS)[:END])), _end(b.h(PELVIS))
    return bool(start < 0.55 and end > 0.75 and _end(b.tilt) < 25), _r(end - start)


@judge_fn("roll")
def roll(b: Body, arg):
    """Rolling over while lying (pelvis under 45 cm, trunk near level): the chest turns from up to down or back, and
    the body moves 15 cm toward ``arg`` (its left or right when the roll starts)."""
    s = _side(arg)
    low = np.flatnonzero((b.h(PELVIS) < 0.45) & (b.tilt > 55))  # lying (on the back, side or front)
    if len(low) < 2 * END:
        return False, 0.0
    a, e = low[0], low[-1]
    up = b.front[:, 1]
    first, last = up[a:a + END].mean(), up[e - END + 1:e + 1].mean()
    flipped = (first > 0.4 and last < -0.4) or (first < -0.4 and last > 0.4)
    d = b.j[e, PELVIS] - b.j[a, PELVIS]
    side = float(d @ b.across[a:a + 3].mean(0)) * (1 if s == 0 else -1)
    return bool(flipped and side > 0.15), _r(side)


@judge_fn("crawl")
def crawl(b: Body, arg):
    """On hands and knees (wrists and knees within 20 cm of the floor most of the time) while the
    pelvis moves 25 cm forward / backward along the start's facing."""
    low = (b.h(WRIST[0]) < 0.2) & (b.h(WRIST[1]) < 0.2) & (b.h(KNEE[0]) < 0.2) & (b.h(KNEE[1]) < 0.2)
    _, fwd = b.displacement()
    value = fwd if arg == "forward" else -fwd
    return bool(low.mean() > 0.5 and value > 0.25), _r(value)


@judge_fn("kneel")
def kneel(b: Body, arg):
    """``left`` / ``right``: that knee touches down (under 12 cm) while the other stays up (over 25 cm);
    ``both``: both knees down with the pelvis up (over 30 cm)."""
    kl, kr = b.h(KNEE[0]), b.h(KNEE[1])
    pel = b.h(PELVIS)
    if arg == "both":
        ok = (kl < 0.12) & (kr < 0.12) & (pel > 0.3)
    else:
        s = _side(arg)
        k = (kl, kr)
        ok = (k[s] < 0.12) & (k[1 - s] > 0.25)
    return bool(longest_run(ok) >= 5), float(ok.sum())


@judge_fn("all_fours")
def all_fours(b: Body, arg):
    """At the end: hands and knees on the floor (under 15 cm), pelvis up (over 30 cm)."""
    ok = _end(np.max([b.h(WRIST[0]), b.h(WRIST[1]), b.h(KNEE[0]), b.h(KNEE[1])], 0)) < 0.15 and _end(b.h(PELVIS)) > 0.3
    return bool(ok), _r(_end(b.h(PELVIS)))


def _prone(b: Body) -> np.ndarray:
    return (b.front[:, 1] < -0.5) & (b.tilt > 55)


@judge_fn("push_up")
def push_up(b: Body, arg):
    """Face down, the chest goes down and up ``n`` times (8 cm or more each)."""
    face = _prone(b)
    chest = b.h(SPINE3)
    seg = chest[face] if face.any() else chest
    count = count_peaks(-seg, 0.08)
    return bool(face.mean() > 0.3 and (count == int(arg) if arg else count >= 1)), float(count)


@judge_fn("sit_up")
def sit_up(b: Body, arg):
    """Lying on the back, the trunk curls up ``n`` times (the neck rises 20 cm or more each)."""
    on_back = b.h(PELVIS) < 0.3
    neck = b.h(NECK)
    count = count_peaks(neck[on_back] if on_back.any() else neck, 0.2)
    return bool(on_back.mean() > 0.6 and (count == int(arg) if arg else count >= 1)), float(count)


def _straight_legs(b: Body) -> np.ndarray:
    """(T,) both knees within 30 degrees of straight."""
    ok = np.ones(b.T, bool)
    for s in (0, 1):
        thigh, shin = b.j[:, KNEE[s]] - b.j[:, HIP[s]], b.j[:, ANKLE[s]] - b.j[:, KNEE[s]]
        cos = (thigh * shin).sum(-1) / np.linalg.norm(thigh, axis=-1) / np.linalg.norm(shin, axis=-1)
        ok &= cos > np.cos(np.radians(30))
    return ok


@judge_fn("plank")
def plank(b: Body, arg):
    """Holding a straight body (knees straight) face down on hands and toes (pelvis 20-65 cm up)
    for the stated seconds (+-0.8 s), or at least a second."""
    hold = _prone(b) & (b.h(PELVIS) > 0.2) & (b.h(PELVIS) < 0.65) & (b.h(WRIST[0]) < 0.12) & (b.h(WRIST[1]) < 0.12) \
        & _straight_legs(b)
    t = longest_run(hold) / FPS
    return bool(abs(t - float(arg)) <= 0.8 if arg else t >= 1.0), _r(t)


@judge_fn("bow")
def bow(b: Body, arg):
    """The trunk pitches forward and comes back up: ``""`` 30 degrees or more, ``deep`` 60 or more,
    ``slight`` between 12 and 45; upright again at the end."""
    peak = float(b.pitch.max())
    back = _end(b.pitch) < 15
    lo, hi = {"": (30, 180), "deep": (60, 180), "slight": (12, 45)}[arg]
    return bool(lo <= peak <= hi and back), _r(peak)


@judge_fn("touch_toes")
def touch_toes(b: Body, arg):
    """Bending down until both wrists are within 42 cm of the floor, feet planted."""
    low = np.maximum(b.h(WRIST[0]), b.h(WRIST[1]))
    feet = np.maximum(b.h(FOOT[0]), b.h(FOOT[1]))
    value = float(low.min())
    return bool(value < 0.42 and feet[np.argmin(low)] < 0.05), _r(value)


__all__ = []
