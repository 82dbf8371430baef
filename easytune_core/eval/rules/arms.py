"""Rule checks for arm and upper-body actions: waving, raising, clapping, punching, throwing,
picking up, stretching, shrugging, pointing, saluting, drinking, phoning, scratching the head,
beckoning, rubbing the hands, looking around, swinging and circling the arms, folded arms,
hands on hips, side bends, torso twists, pushing, pulling and wiping."""

from __future__ import annotations

import numpy as np

from .body import ELBOW, HEAD, HIP, NECK, SHOULDER, SIDE, WRIST, Body, count_meets, count_peaks, longest_run
from .moves import _r, _side, _split, judge_fn


def _sides(arg: str):
    return (0, 1) if arg in ("both", "") else (_side(arg),)


@judge_fn("wave")
def wave(b: Body, arg):
    """The named wrist rises higher (relative to its shoulder) than the other one, and above
    shoulder level minus 10 cm."""
    if arg not in SIDE:
        raise ValueError(f"unknown hand {arg!r}")
    s, o = SIDE[arg], 1 - SIDE[arg]
    rise = (b.j[:, WRIST[s], 1] - b.j[:, SHOULDER[s], 1]).max()
    other = (b.j[:, WRIST[o], 1] - b.j[:, SHOULDER[o], 1]).max()
    return bool(rise > other and rise > -0.1), _r(rise - other)


@judge_fn("raise")
def raise_(b: Body, arg):
    """The named wrist(s) go above the head (5 cm); one named arm rises higher than the other;
    "one" (an arm, side not named): either wrist goes above the head."""
    up = [float((b.j[:, WRIST[s], 1] - b.j[:, HEAD, 1]).max()) for s in (0, 1)]
    if arg == "one":
        return bool(max(up) > 0.05), _r(max(up))
    ss = _sides(arg)
    ok = all(up[s] > 0.05 for s in ss) and (len(ss) == 2 or up[ss[0]] > up[1 - ss[0]] + 0.1)
    return bool(ok), _r(min(up[s] for s in ss))


def _gap(b: Body) -> np.ndarray:
    return np.linalg.norm(b.j[:, WRIST[0]] - b.j[:, WRIST[1]], axis=-1)


@judge_fn("clap")
def clap(b: Body, arg):
    """The wrists meet (under 12 cm apart, 20 cm or more in between) ``n`` times (any number when
    ``arg`` is empty)."""
    n = count_meets(_gap(b), 0.12, 0.2)
    return bool(n == int(arg) if arg else n >= 1), float(n)


@judge_fn("clap_overhead")
def clap_overhead(b: Body, arg):
    """The wrists meet above the head (under 15 cm apart, 25 cm or more in between; ``n`` times when given)."""
    over = np.minimum(b.j[:, 20, 1], b.j[:, 21, 1]) > b.j[:, HEAD, 1]
    n = count_meets(np.where(over, _gap(b), 1.0), 0.15, 0.25)
    return bool(n == int(arg) if arg else n >= 1), float(n)


@judge_fn("punch")
def punch(b: Body, arg):
    """The named wrist reaches 40 cm or more in front of the pelvis."""
    s = _side(arg)
    reach = float(b.local(WRIST[s])[:, 2].max())
    return bool(reach > 0.4), _r(reach)


@judge_fn("throw")
def throw(b: Body, arg):
    """The named wrist moves faster than 3 m/s and goes above its shoulder."""
    s = _side(arg)
    speed = float(b.joint_speed(WRIST[s]).max())
    return bool(speed > 3.0 and (b.j[:, WRIST[s], 1] - b.j[:, SHOULDER[s], 1]).max() > 0.05), _r(speed)


@judge_fn("pick_up")
def pick_up(b: Body, arg):
    """The named wrist comes within 35 cm of the floor (lower than the other wrist)."""
    s = _side(arg)
    low = b.h(WRIST[s]).min()
    return bool(low < 0.35 and low < b.h(WRIST[1 - s]).min() + 0.02), _r(low)


@judge_fn("stretch")
def stretch(b: Body, arg):
    """``out``: both wrists at shoulder height (+-15 cm) and 1.3 m or more apart for half a second;
    ``up``: both wrists 10 cm above the head for half a second."""
    if arg == "out":
        level = [np.abs(b.j[:, WRIST[s], 1] - b.j[:, SHOULDER[s], 1]) < 0.15 for s in (0, 1)]
        ok = level[0] & level[1] & (_gap(b) > 1.3)
    elif arg == "up":
        ok = (np.minimum(b.j[:, 20, 1], b.j[:, 21, 1]) - b.j[:, HEAD, 1]) > 0.1
    else:
        raise ValueError(f"unknown stretch {arg!r} (out or up)")
    return bool(longest_run(ok) >= 10), float(longest_run(ok))


@judge_fn("shrug")
def shrug(b: Body, arg):
    """The shoulders rise 2.5 cm toward the neck ``n`` times (at least once)."""
    lift = b.j[:, SHOULDER, 1].mean(1) - b.j[:, NECK, 1]
    n = count_peaks(lift, 0.025)
    return bool(n == int(arg) if arg else n >= 1), float(n)


@judge_fn("point")
def point(b: Body, arg):
    """``"left forward"``: the left arm straight (wrist 42 cm from the shoulder) pointing forward /
    to its side / up (the wrist 35 cm in front of / out from / above the shoulder), held for 0.4 s."""
    d, where = arg.split()
    s = _side(d)
    r = b.rel(WRIST[s], SHOULDER[s])
    straight = np.linalg.norm(r, axis=-1) > 0.42
    aim = {"forward": r[:, 2] > 0.35, "side": r[:, 0] * (1 if s == 0 else -1) > 0.35,
           "up": r[:, 1] > 0.35}[where]
    run = longest_run(straight & aim)
    return bool(run >= 8), float(run)


def _near_head(b: Body, s: int) -> np.ndarray:
    return np.linalg.norm(b.j[:, WRIST[s]] - b.j[:, HEAD], axis=-1)


@judge_fn("hand_to_head")
def hand_to_head(b: Body, arg):
    """``"left salute"`` / ``drink`` / ``phone`` / ``scratch``: the named wrist held near the head
    (within 26 cm; 30 cm in front of the mouth): at the forehead (salute), in front of the mouth
    (drink), beside the ear for a second (phone), on top of the head (scratch)."""
    d, what = arg.split()
    s = _side(d)
    near = _near_head(b, s) < (0.3 if what == "drink" else 0.26)
    r = b.rel(WRIST[s], HEAD)
    out = r[:, 0] * (1 if s == 0 else -1)
    cond = {"salute": (r[:, 1] > -0.07) & (r[:, 2] > 0.03),
            "drink": (r[:, 1] < -0.04) & (r[:, 2] > 0.05),
            "phone": (out > 0.04) & (r[:, 1] < 0.04),
            "scratch": r[:, 1] > -0.01}[what]
    need = 20 if what == "phone" else 6
    run = longest_run(near & cond)
    return bool(run >= need), float(run)


@judge_fn("beckon")
def beckon(b: Body, arg):
    """The named hand, held in front, curls in and out (8 cm or more) at least twice."""
    d, n = _split(arg)
    s = _side(d)
    dist = np.linalg.norm(b.j[:, WRIST[s]] - b.j[:, SHOULDER[s]], axis=-1)
    front = b.rel(WRIST[s], SHOULDER[s])[:, 2] > 0.1
    count = count_peaks(-np.where(front, dist, dist.max()), 0.08)
    return bool(count >= 2 if n is None else count == n), float(count)


@judge_fn("rub_hands")
def rub_hands(b: Body, arg):
    """The wrists stay within 15 cm of each other, in front of the body, for a second."""
    front = (b.local(WRIST[0])[:, 2] > 0.15) & (b.local(WRIST[1])[:, 2] > 0.15)
    run = longest_run((_gap(b) < 0.15) & front)
    return bool(run >= 20), float(run)


def _twist(b: Body) -> np.ndarray:
    """(T,) yaw of the shoulder line relative to the hip line, degrees (> 0 = shoulders turned left)."""
    def ang(a, c):
        v = b.j[:, a] - b.j[:, c]
        return np.arctan2(-v[:, 2], v[:, 0])
    d = ang(16, 17) - ang(1, 2)
    return np.degrees((d + np.pi) % (2 * np.pi) - np.pi)


@judge_fn("look_around")
def look_around(b: Body, arg):
    """The upper body turns 15 degrees to ``arg`` first, then 15 degrees to the other side."""
    tw = _twist(b) * (1 if arg == "left" else -1)
    a, c = np.flatnonzero(tw > 15), np.flatnonzero(tw < -15)
    ok = len(a) and len(c) and a[0] < c[0]
    return bool(ok), _r(np.ptp(tw))


@judge_fn("torso_twist")
def torso_twist(b: Body, arg):
    """The shoulders twist 20 degrees against the hips toward ``arg`` first, then the other way."""
    tw = _twist(b) * (1 if arg == "left" else -1)
    a, c = np.flatnonzero(tw > 20), np.flatnonzero(tw < -20)
    ok = len(a) and len(c) and a[0] < c[0]
    return bool(ok), _r(np.ptp(tw))


@judge_fn("swing_arms")
def swing_arms(b: Body, arg):
    """Standing in place, the wrists swing 35 cm or more forward and back, twice or more."""
    z = b.local(WRIST[0])[:, 2]
    n = count_peaks(z, 0.3)
    _, fwd = b.displacement()
    return bool(n >= 2 and np.ptp(z) > 0.35 and abs(fwd) < 0.5), float(n)


@judge_fn("arm_circles")
def arm_circles(b: Body, arg):
    """The named wrist(s) (``"both forward"``) circle in the body's front-back plane, the given way:
    forward circles go over the top toward the front."""
    d, way = arg.split()
    ok = True
    value = 0.0
    for s in _sides(d):
        r = b.rel(WRIST[s], SHOULDER[s])
        y, z = r[:, 1] - r[:, 1].mean(), r[:, 2] - r[:, 2].mean()
        area = float(np.sum(z[:-1] * y[1:] - z[1:] * y[:-1]) / 2)  # > 0: turning from +z (front) to +y (up)
        value = area
        ok = ok and (area < -0.02 if way == "forward" else area > 0.02)
    return bool(ok), _r(value)


@judge_fn("cross_arms")
def cross_arms(b: Body, arg):
    """Arms folded: each wrist past the body's midline on the other side, in front of the chest, for 0.8 s."""
    xl, xr = b.local(WRIST[0])[:, 0], b.local(WRIST[1])[:, 0]
    front = (b.local(WRIST[0])[:, 2] > 0.05) & (b.local(WRIST[1])[:, 2] > 0.05)
    run = longest_run((xl < 0.02) & (xr > -0.02) & front)
    return bool(run >= 16), float(run)


@judge_fn("hands_on_hips")
def hands_on_hips(b: Body, arg):
    """Both wrists at the hips (within 20 cm of the hip joints) with the elbows out wide, for 0.8 s."""
    near = [np.linalg.norm(b.j[:, WRIST[s]] - b.j[:, HIP[s]], axis=-1) < 0.2 for s in (0, 1)]
    wide = np.abs(b.local(ELBOW[0])[:, 0] - b.local(ELBOW[1])[:, 0]) > 0.55
    run = longest_run(near[0] & near[1] & wide)
    return bool(run >= 16), float(run)


@judge_fn("side_bend")
def side_bend(b: Body, arg):
    """The head moves 15 cm or more toward ``arg`` relative to the pelvis."""
    x = b.local(HEAD)[:, 0] * (1 if arg == "left" else -1)
    return bool(x.max() > 0.15), _r(x.max())


@judge_fn("push")
def push(b: Body, arg):
    """Both wrists go from near the chest (under 30 cm in front of the shoulders) to 42 cm or more in front."""
    z = np.minimum(b.rel(WRIST[0], SHOULDER[0])[:, 2], b.rel(WRIST[1], SHOULDER[1])[:, 2])
    first = np.flatnonzero(z < 0.3)
    ok = len(first) and (z[first[0]:] > 0.42).any()
    return bool(ok), _r(z.max())


@judge_fn("pull_rope")
def pull_rope(b: Body, arg):
    """The hands take turns reaching forward: the front-back gap between the wrists changes sign twice."""
    d = b.local(WRIST[0])[:, 2] - b.local(WRIST[1])[:, 2]
    n = count_peaks(d, 0.25) + count_peaks(-d, 0.25)
    return bool(n >= 2), float(n)


@judge_fn("wipe")
def wipe(b: Body, arg):
    """The named hand, held low in front, circles at least twice (side to side and in and out 5 cm)."""
    s = _side(arg)
    r = b.local(WRIST[s])
    low = (b.j[:, WRIST[s], 1] < b.j[:, SHOULDER[s], 1] - 0.2) & (r[:, 2] > 0.25)
    if low.sum() < 10:
        return False, 0.0
    n = min(count_peaks(r[low, 0], 0.05), count_peaks(r[low, 2], 0.05))
    return bool(n >= 2), float(n)


__all__ = []
