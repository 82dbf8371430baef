"""Rule checks for sports and dance: boxing, racket / club / bat swings, a basketball shot,
kicking a ball, bowling, dribbling, step-touch, the twist, disco pointing and hip circles."""

from __future__ import annotations

import numpy as np

from .arms import _gap, _twist
from .body import ANKLE, FOOT, HEAD, PELVIS, SHOULDER, WRIST, Body, count_peaks
from .moves import _r, _side, judge_fn


@judge_fn("boxing")
def boxing(b: Body, arg):
    """Both fists punch out: one reaches 40 cm or more in front of its shoulder, the other 25 cm."""
    reach = sorted(float(b.rel(WRIST[s], SHOULDER[s])[:, 2].max()) for s in (0, 1))
    return bool(reach[1] > 0.4 and reach[0] > 0.25), _r(reach[0])


def _fastest(b: Body, joint) -> int:
    return int(np.argmax(b.joint_speed(joint)))


@judge_fn("tennis")
def tennis(b: Body, arg):
    """``"left forehand"``: the named wrist moves faster than 3 m/s, sweeping across the body away
    from its own side (forehand) or toward it (backhand) by 40 cm or more."""
    d, stroke = arg.split()
    s = _side(d)
    t = _fastest(b, WRIST[s])
    x = b.local(WRIST[s], np.full(b.T, b.yaw[:5].mean()))[:, 0] * (1 if s == 0 else -1)
    lo, hi = max(0, t - 8), min(b.T, t + 8)
    sweep = x[hi - 1] - x[lo]
    ok = b.joint_speed(WRIST[s])[t] > 3.0 and (sweep < -0.4 if stroke == "forehand" else sweep > 0.4)
    return bool(ok), _r(sweep)


def _two_hand_swing(b: Body):
    t = _fastest(b, WRIST[0])
    speed = float(b.joint_speed(WRIST[0])[t])
    return t, speed, float(_gap(b)[t])


@judge_fn("golf")
def golf(b: Body, arg):
    """A two-handed swing (wrists within 25 cm) faster than 3 m/s that passes low, below the pelvis."""
    t, speed, gap = _two_hand_swing(b)
    low = (b.j[:, WRIST, 1].mean(1) < b.j[:, PELVIS, 1] - 0.1).any()
    return bool(speed > 3.0 and gap < 0.25 and low), _r(speed)


@judge_fn("baseball")
def baseball(b: Body, arg):
    """A two-handed swing (wrists within 25 cm) faster than 3 m/s at about chest height."""
    t, speed, gap = _two_hand_swing(b)
    high = b.j[t, WRIST, 1].mean() > b.j[t, PELVIS, 1]
    return bool(speed > 3.0 and gap < 0.25 and high), _r(speed)


@judge_fn("basketball")
def basketball(b: Body, arg):
    """Both hands go from chest height to above the head."""
    chest = (b.j[:, WRIST, 1].max(1) < b.j[:, HEAD, 1] - 0.15)
    up = b.j[:, WRIST, 1].min(1) > b.j[:, HEAD, 1] + 0.05
    first = np.flatnonzero(chest)
    return bool(len(first) and up[first[0]:].any()), float(up.sum())


@judge_fn("kick_ball")
def kick_ball(b: Body, arg):
    """The named foot swings forward faster than 5 m/s (relative to the pelvis) while the other foot is planted."""
    s = _side(arg)
    yaw0 = np.full(b.T, b.yaw[:5].mean())
    v = np.diff(b.local(FOOT[s], yaw0)[:, 2]) * 20.0
    t = int(np.argmax(v))
    ok = v[t] > 5.0 and b.h(FOOT[1 - s])[t] < 0.06
    return bool(ok), _r(v[t])


@judge_fn("bowling")
def bowling(b: Body, arg):
    """The named wrist sweeps low (within 40 cm of the floor) faster than 2.5 m/s."""
    s = _side(arg)
    low = b.h(WRIST[s])[:-1] < 0.4
    speed = b.joint_speed(WRIST[s])
    value = float((speed * low).max())
    return bool(value > 2.5), _r(value)


@judge_fn("dribble")
def dribble(b: Body, arg):
    """The named hand pats down and up (8 cm) three times or more near waist height."""
    s = _side(arg)
    y = b.j[:, WRIST[s], 1] - b.j[:, PELVIS, 1]
    n = count_peaks(y, 0.08)
    return bool(n >= 3 and np.abs(y).min() < 0.35), float(n)


@judge_fn("step_touch")
def step_touch(b: Body, arg):
    """The body sways sideways, 10 cm toward ``arg`` first, then 10 cm the other way."""
    x0 = b.j[0, PELVIS]
    d = b.j[:, PELVIS] - x0
    ac = b.across[:3].mean(0)
    lat = (d @ ac) * (1 if arg == "left" else -1)
    a, c = np.flatnonzero(lat > 0.1), np.flatnonzero(lat < lat.max() - 0.15)
    ok = len(a) and len(c[c > a[0]]) if len(a) else False
    return bool(ok), _r(np.ptp(lat))


@judge_fn("twist_dance")
def twist_dance(b: Body, arg):
    """The hips swing in yaw (15 degrees or more) back and forth three times or more, in place."""
    hips = b.j[:, 1] - b.j[:, 2]
    yaw = np.degrees(np.unwrap(np.arctan2(-hips[:, 2], hips[:, 0])))
    n = count_peaks(yaw, 15) + count_peaks(-yaw, 15)
    _, fwd = b.displacement()
    return bool(n >= 3 and abs(fwd) < 0.5), float(n)


@judge_fn("disco")
def disco(b: Body, arg):
    """The named hand alternates above the head and down by the hips, twice or more."""
    s = _side(arg)
    y = b.j[:, WRIST[s], 1] - b.j[:, HEAD, 1]
    n = count_peaks(y, 0.6)
    return bool(n >= 2 and y.max() > 0.0), float(n)


@judge_fn("hip_circles")
def hip_circles(b: Body, arg):
    """Over planted feet, the pelvis moves round in two or more circles (4 cm or more each way)."""
    feet = b.j[:, list(ANKLE), :].mean(1)
    yaw0 = np.full(b.T, b.yaw[:5].mean())
    d = b.j[:, PELVIS] - feet
    c, s = np.cos(yaw0), np.sin(yaw0)
    x, z = d[:, 0] * c - d[:, 2] * s, d[:, 0] * s + d[:, 2] * c
    n = min(count_peaks(x, 0.04), count_peaks(z, 0.04))
    return bool(n >= 2), float(n)


__all__ = ["_twist"]
