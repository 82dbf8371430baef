"""Rule checks for whole-body movement: walking direction, pace, distance, styles, turns,
paths, running, jumps and hops, leg and balance actions.

Each check is ``fn(body, arg) -> (passed, measured value)`` registered in ``JUDGES`` under its
category; ``arg`` is a string ("left", "3", "left 135", ...).
"""

from __future__ import annotations

import numpy as np

from .body import ANKLE, FOOT, FPS, HEAD, HIP, KNEE, NECK, PELVIS, SIDE, WRIST, Body, count_peaks, longest_run, runs

JUDGES: dict = {}


def judge_fn(name):
    def reg(fn):
        JUDGES[name] = fn
        return fn
    return reg


def _side(arg: str) -> int:
    if arg not in SIDE:
        raise ValueError(f"unknown side {arg!r} (left or right)")
    return SIDE[arg]


def _split(arg: str):
    parts = arg.split()
    return parts[0], (int(parts[1]) if len(parts) > 1 else None)


def _r(v):
    return round(float(v), 4)


# ---------------------------------------------------------------- walking

@judge_fn("walk")
def walk(b: Body, arg):
    if arg not in ("forward", "backward", "left", "right"):
        raise ValueError(f"unknown walk direction {arg!r}")
    left, fwd = b.displacement()
    value = {"forward": fwd, "backward": -fwd, "left": left, "right": -left}[arg]
    return bool(value > 0.3), _r(value)


@judge_fn("pace")
def pace(b: Body, arg):
    """Walking speed: "slow" under 0.95 m/s, "fast" over 1.15 m/s (median while moving)."""
    v = b.moving_speed()
    if arg == "slow":
        return bool(0.2 < v < 0.95), _r(v)
    if arg == "fast":
        return bool(v > 1.15), _r(v)
    raise ValueError(f"unknown pace {arg!r}")


@judge_fn("distance")
def distance(b: Body, arg):
    """Distance covered (start to end) within 0.6 m of ``arg`` metres."""
    d = float(np.linalg.norm(b.j[-1, PELVIS, [0, 2]] - b.j[0, PELVIS, [0, 2]]))
    return bool(abs(d - float(arg)) <= 0.6), _r(d)


@judge_fn("run")
def run(b: Body, arg):
    """Running or jogging: the root moves at more than 1.3 m/s (median over the moving frames)."""
    v = b.moving_speed()
    return bool(v > 1.3), _r(v)


@judge_fn("in_place")
def in_place(b: Body, arg):
    """Stepping, jogging or marching on the spot: both feet lift 8 cm, the root stays within 0.6 m."""
    d = float(np.linalg.norm(b.j[:, PELVIS, [0, 2]] - b.j[0, PELVIS, [0, 2]], axis=-1).max())
    lifts = min(b.h(FOOT[0]).max(), b.h(FOOT[1]).max())
    return bool(d < 0.6 and lifts > 0.08), _r(d)


@judge_fn("high_knees")
def high_knees(b: Body, arg):
    """Each knee comes up to within 15 cm of hip height at least twice."""
    n = [count_peaks(b.j[:, KNEE[s], 1] - b.j[:, HIP[s], 1], 0.2) if (b.j[:, KNEE[s], 1] - b.j[:, HIP[s], 1]).max() > -0.15
         else 0 for s in (0, 1)]
    return bool(min(n) >= 2), float(min(n))


STYLE_TESTS = ("happy", "sad", "angry", "tired", "drunk", "zombie", "proud")


@judge_fn("style")
def style(b: Body, arg):
    """Manner of walking, measured on the moving frames (see docs/dataset.md for the thresholds)."""
    moving = np.append(b.speed > 0.3, False)
    if moving.sum() < 10:
        return False, 0.0
    v = b.moving_speed()
    pitch = np.median(b.pitch[moving])
    head = b.local(HEAD)[moving] - b.local(NECK)[moving]
    head_fwd = np.median(np.degrees(np.arctan2(head[:, 2], head[:, 1])))
    if arg == "sad":  # the head hangs (chin well down) over an upright trunk, slow steps
        return bool(head_fwd > 40 and pitch < 14 and v < 1.0), _r(head_fwd)
    if arg == "tired":  # the trunk slumps forward, slow steps
        return bool(pitch > 17 and v < 0.95), _r(pitch)
    if arg == "proud":  # leaning back, chest out
        return bool(pitch < -4), _r(pitch)
    if arg == "happy":  # big arm swing, upright, head up, brisk
        swing = max(np.ptp(b.local(WRIST[s])[moving, 2]) for s in (0, 1))
        return bool(swing > 0.36 and v > 0.9 and head_fwd < 15 and pitch > -5), _r(swing)
    if arg == "angry":  # fast, with the elbows bent hard (fists up)
        reach = np.median(np.linalg.norm(b.j[moving][:, WRIST, :] - b.j[moving][:, (16, 17), :], axis=-1))
        return bool(v > 1.05 and reach < 0.47), _r(reach)
    if arg == "drunk":
        yaw = b.yaw[moving]
        wobble = yaw - np.convolve(np.pad(yaw, 15, mode="edge"), np.ones(31) / 31, mode="valid")
        return bool(np.ptp(wobble) > np.radians(14)), _r(np.degrees(np.ptp(wobble)))
    if arg == "zombie":
        out = [(b.rel(WRIST[s], (16, 17)[s])[:, 2] > 0.3) & (b.j[:, WRIST[s], 1] > b.j[:, (16, 17)[s], 1] - 0.2)
               for s in (0, 1)]
        frac = float((out[0] & out[1])[moving].mean())
        return bool(frac > 0.5), _r(frac)
    raise ValueError(f"unknown style {arg!r}; choose one of {', '.join(STYLE_TESTS)}")


@judge_fn("limp")
def limp(b: Body, arg):
    """The sore leg (``arg``) is on the ground for a clearly shorter share of the walk."""
    s = _side(arg)
    moving = np.append(b.speed > 0.2, False)
    if moving.sum() < 10:
        return False, 0.0
    down = [b.foot_down(k)[moving].mean() for k in (0, 1)]
    gap = down[1 - s] - down[s]
    return bool(gap > 0.03), _r(gap)


@judge_fn("tiptoe")
def tiptoe(b: Body, arg):
    """Heels up: the lower ankle stays more than 9.5 cm above the floor for most frames."""
    low = np.median(np.minimum(b.h(ANKLE[0]), b.h(ANKLE[1])))
    return bool(low > 0.095), _r(low)


# ---------------------------------------------------------------- turns and paths

def _turned(b: Body) -> float:
    return float(np.degrees(b.yaw[-5:].mean() - b.yaw[:5].mean()))


@judge_fn("turn")
def turn(b: Body, arg):
    """"left"/"right": at least 30 degrees that way; "around": at least 90 either way;
    "left 135": within 25 degrees (35 for full turns) of +135."""
    turned = _turned(b)
    d, deg = _split(arg)
    if d == "around":
        return bool(abs(turned) > 90), _r(turned)
    sign = 1 if _side(d) == 0 else -1
    if deg is None:
        return bool(sign * turned > 30), _r(turned)
    tol = 35 if deg >= 270 else 25
    return bool(abs(turned - sign * deg) <= tol), _r(turned)


@judge_fn("circle")
def circle(b: Body, arg):
    """Walking a circle: the facing turns at least 270 degrees (the named way, if named);
    "backward ..." also moves backward."""
    turned = _turned(b)
    parts = arg.split()
    ok = abs(turned) > 270
    if parts and parts[-1] in SIDE:
        ok = (turned if parts[-1] == "left" else -turned) > 270
    if parts and parts[0] == "backward":
        fwd = np.diff(b.j[:, PELVIS], axis=0)
        heading = np.stack([np.sin(b.yaw[:-1]), np.cos(b.yaw[:-1])], -1)
        ok = ok and float((fwd[:, [0, 2]] * heading).sum()) < -0.5
    return bool(ok), _r(turned)


def _yaw_dev(b: Body) -> np.ndarray:
    return np.degrees(b.yaw - b.yaw[:3].mean())


@judge_fn("zigzag")
def zigzag(b: Body, arg):
    """Heading swings at least 15 degrees to both sides (to ``arg`` first) while advancing 1 m."""
    dev = _yaw_dev(b) * (1 if arg == "left" else -1)
    first_pos = np.flatnonzero(dev > 15)
    first_neg = np.flatnonzero(dev < -15)
    _, fwd = b.displacement()
    ok = len(first_pos) and len(first_neg) and first_pos[0] < first_neg[0] and fwd > 1.0
    return bool(ok), _r(fwd)


@judge_fn("square")
def square(b: Body, arg):
    """Four corners turned the named way (300+ degrees in all) and back near the start."""
    turned = _turned(b) * (1 if arg == "left" else -1)
    back = float(np.linalg.norm(b.j[-1, PELVIS, [0, 2]] - b.j[0, PELVIS, [0, 2]]))
    return bool(turned > 300 and back < 1.0), _r(turned)


@judge_fn("figure_eight")
def figure_eight(b: Body, arg):
    """A loop turning the named way (270+ degrees), then one turning back (270+), ending near the start."""
    dev = _yaw_dev(b) * (1 if arg == "left" else -1)
    peak = int(np.argmax(dev))
    back = dev[peak] - dev[peak:].min()
    home = float(np.linalg.norm(b.j[-1, PELVIS, [0, 2]] - b.j[0, PELVIS, [0, 2]]))
    return bool(dev[peak] > 270 and back > 270 and home < 1.2), _r(dev[peak])


@judge_fn("diagonal")
def diagonal(b: Body, arg):
    """Net path between 20 and 70 degrees off the start's facing toward ``arg``, at least 0.8 m."""
    left, fwd = b.displacement()
    ang = np.degrees(np.arctan2(left if arg == "left" else -left, fwd))
    return bool(20 < ang < 70 and np.hypot(left, fwd) > 0.8), _r(ang)


@judge_fn("back_and_forth")
def back_and_forth(b: Body, arg):
    """Out at least 1 m along the start's facing and back at least 0.8 m at least once."""
    y0 = b.yaw[:3].mean()
    d = b.j[:, PELVIS, [0, 2]] - b.j[0, PELVIS, [0, 2]]
    along = d[:, 0] * np.sin(y0) + d[:, 1] * np.cos(y0)
    far = np.abs(along).max()
    turns = count_peaks(along, 0.8) + count_peaks(-along, 0.8)
    return bool(far > 1.0 and turns >= 1), _r(far)


# ---------------------------------------------------------------- jumps

JUMP_MIN = {"": 0.08, "hop": 0.04, "jacks": 0.03, "low": 0.03}


@judge_fn("jump")
def jump(b: Body, arg):
    """Both feet off the floor at some frame (8 cm; hops 4, jumping jacks and small jumps 3)."""
    if arg not in JUMP_MIN:
        raise ValueError(f"unknown jump kind {arg!r}")
    value = float(b.feet_lift().max())
    return bool(value > JUMP_MIN[arg]), _r(value)


def _flight_count(b: Body, min_h=0.04) -> int:
    lift = b.feet_lift()
    return sum(1 for s, e in runs(lift > 0.02) if lift[s:e].max() > min_h)


@judge_fn("jumps")
def jumps(b: Body, arg):
    """Exactly ``arg`` separate flights (both feet 4 cm or more above the floor)."""
    n = _flight_count(b)
    return bool(n == int(arg)), float(n)


@judge_fn("jump_dir")
def jump_dir(b: Body, arg):
    """Where the jumps land: forward / backward / left / right at least 0.25 m, in place within 0.25 m."""
    left, fwd = b.displacement()
    value = {"forward": fwd, "backward": -fwd, "left": left, "right": -left,
             "in_place": -float(np.hypot(left, fwd))}[arg]
    return bool(value > (-0.25 if arg == "in_place" else 0.25)), _r(value)


@judge_fn("jump_height")
def jump_height(b: Body, arg):
    """"high": feet 28 cm or more off the floor; "low": never more than 18 cm."""
    value = float(b.feet_lift().max())
    return bool(value > 0.28 if arg == "high" else value < 0.18), _r(value)


@judge_fn("hop")
def hop(b: Body, arg):
    """Hopping on the ``arg`` foot: the other foot stays up (median 8 cm higher) and the hopping foot leaves the floor."""
    s = _side(arg)
    up = np.median(b.h(FOOT[1 - s]) - b.h(FOOT[s]))
    return bool(up > 0.08 and b.h(FOOT[s]).max() > 0.03), _r(up)


@judge_fn("star_jump")
def star_jump(b: Body, arg):
    """In the air, both wrists above the head and the ankles 35 cm or more apart."""
    lift = b.feet_lift() > 0.04
    wide = (np.minimum(b.j[:, 20, 1], b.j[:, 21, 1]) > b.j[:, HEAD, 1]) & \
           (np.linalg.norm(b.j[:, 7] - b.j[:, 8], axis=-1) > 0.35)
    return bool((lift & wide).any()), float((lift & wide).sum())


@judge_fn("squat_jump")
def squat_jump(b: Body, arg):
    """A deep squat (pelvis 25 cm below standing) before a flight of 8 cm or more."""
    fl = [s for s, e in runs(b.feet_lift() > 0.02) if b.feet_lift()[s:e].max() > 0.08]
    if not fl:
        return False, 0.0
    drop = float(b.h(PELVIS)[:5].mean() - b.h(PELVIS)[:fl[0]].min()) if fl[0] > 0 else 0.0
    return bool(drop > 0.25), _r(drop)


@judge_fn("tuck_jump")
def tuck_jump(b: Body, arg):
    """In the air, the knees come up to within 20 cm of hip height."""
    lift = b.feet_lift() > 0.08
    knees = np.minimum(b.j[:, 4, 1] - b.j[:, 1, 1], b.j[:, 5, 1] - b.j[:, 2, 1])
    value = float(knees[lift].max()) if lift.any() else -1.0
    return bool(value > -0.2), _r(value)


@judge_fn("jump_turn")
def jump_turn(b: Body, arg):
    """A flight of 8 cm or more and a turn of about the stated angle (``"left 180"``)."""
    ok_flight = b.feet_lift().max() > 0.08
    ok_turn, turned = turn(b, arg)
    return bool(ok_flight and ok_turn), turned


@judge_fn("jump_rope")
def jump_rope(b: Body, arg):
    """At least three small flights with the wrists kept low, by the hips."""
    n = _flight_count(b, 0.025)
    low = (b.j[:, (20, 21), 1] < b.j[:, PELVIS, 1][:, None] + 0.2).all(-1).mean() > 0.9
    return bool(n >= 3 and low), float(n)


# ---------------------------------------------------------------- legs and balance

@judge_fn("one_foot")
def one_foot(b: Body, arg):
    """Standing on the ``arg`` foot with the other 8 cm or more up, for the stated seconds (+-0.8 s)
    or at least 0.8 s when none are stated."""
    d, secs = _split(arg)
    s = _side(d)
    up = (b.h(ANKLE[1 - s]) > 0.12) & (b.h(FOOT[s]) < 0.05)
    t = longest_run(up) / FPS
    return bool(abs(t - secs) <= 0.8 if secs else t >= 0.8), _r(t)


@judge_fn("lunge")
def lunge(b: Body, arg):
    """``"left 2"``: the pelvis dips 20 cm ``n`` times with the ``left`` foot well in front at the dips."""
    d, n = _split(arg)
    s = _side(d)
    depth = b.h(PELVIS)[:5].mean() - b.h(PELVIS)
    count = count_peaks(depth, 0.18)
    front = (b.local(FOOT[s])[:, 2] - b.local(FOOT[1 - s])[:, 2])[depth > 0.2]
    ok = len(front) > 0 and np.median(front) > 0.35 and (n is None or count == n)
    return bool(ok), float(count)


@judge_fn("stomp")
def stomp(b: Body, arg):
    """``"left 2"``: the foot rises 12 cm ``n`` times and comes down faster than 1 m/s."""
    d, n = _split(arg)
    s = _side(d)
    hgt = b.h(FOOT[s])
    count = count_peaks(hgt, 0.1)
    down = -np.diff(b.j[:, FOOT[s], 1]) * FPS
    ok = down.max() > 1.0 and (n is None or count == n) and count >= 1
    return bool(ok), float(count)


@judge_fn("step_over")
def step_over(b: Body, arg):
    """Both feet lift 25 cm, the ``arg`` foot first, and the body moves forward 20 cm."""
    s = _side(arg)
    t = [np.flatnonzero(b.h(FOOT[k]) > 0.25) for k in (0, 1)]
    _, fwd = b.displacement()
    ok = len(t[0]) and len(t[1]) and t[s][0] < t[1 - s][0] and fwd > 0.2
    return bool(ok), _r(fwd)


@judge_fn("leg_swing")
def leg_swing(b: Body, arg):
    """``"left 3"``: the ``left`` foot swings forward (40 cm in front of the pelvis) and back ``n`` times."""
    d, n = _split(arg)
    s = _side(d)
    z = b.local(FOOT[s])[:, 2]
    count = count_peaks(z, 0.3, min_height=0.4)
    return bool(count == n if n else count >= 2), float(count)


@judge_fn("side_kick")
def side_kick(b: Body, arg):
    """The ``arg`` foot goes 45 cm out to its side of the pelvis and 30 cm up."""
    s = _side(arg)
    x = b.local(FOOT[s])[:, 0] * (1 if s == 0 else -1)
    up = b.h(FOOT[s])
    value = float((x * (up > 0.3)).max())
    return bool(value > 0.45), _r(value)


@judge_fn("kick")
def kick(b: Body, arg):
    """The ``arg`` foot rises 25 cm or more while the other stays on the floor."""
    s = _side(arg)
    up = b.h(FOOT[s]) > 0.25
    value = float(b.h(FOOT[s]).max())
    ok = up.any() and b.h(FOOT[1 - s])[up].max() < 0.05
    return bool(ok), _r(value)


@judge_fn("calf_raise")
def calf_raise(b: Body, arg):
    """``n`` rises onto the toes: both heels lift 4 cm ``n`` times."""
    heels = np.minimum(b.h(ANKLE[0]), b.h(ANKLE[1]))
    count = count_peaks(heels, 0.035)
    return bool(count == int(arg) if arg else count >= 1), float(count)


@judge_fn("squat")
def squat(b: Body, arg):
    """``n`` squats: the pelvis dips 15 cm ``n`` times (any number when ``arg`` is empty)."""
    drop = b.h(PELVIS)[:5].mean() - b.h(PELVIS)
    count = count_peaks(drop, 0.15)
    return bool(count == int(arg) if arg else count >= 1), float(count)


@judge_fn("crouch")
def crouch(b: Body, arg):
    """The pelvis goes 30 cm down and comes back up."""
    drop = b.h(PELVIS)[:5].mean() - b.h(PELVIS)
    return bool(drop.max() > 0.3 and drop[-5:].mean() < 0.15), _r(drop.max())


@judge_fn("skip")
def skip(b: Body, arg):
    """Skipping or galloping forward: at least 1 m forward with two or more flights."""
    _, fwd = b.displacement()
    n = _flight_count(b, 0.015)
    return bool(fwd > 1.0 and n >= 2), _r(fwd)


@judge_fn("gallop")
def gallop(b: Body, arg):
    """Galloping forward with the ``arg`` foot in front most of the time."""
    s = _side(arg)
    _, fwd = b.displacement()
    lead = np.median(b.local(FOOT[s])[:, 2] - b.local(FOOT[1 - s])[:, 2])
    return bool(fwd > 1.0 and lead > 0.08), _r(lead)


@judge_fn("shuffle")
def shuffle(b: Body, arg):
    """Side-shuffling: 0.8 m or more toward ``arg`` with two or more small flights."""
    left, _ = b.displacement()
    value = left if arg == "left" else -left
    return bool(value > 0.8 and _flight_count(b, 0.015) >= 2), _r(value)


@judge_fn("grapevine")
def grapevine(b: Body, arg):
    """Sideways toward ``arg`` (40 cm or more) with the feet crossing at least once."""
    left, _ = b.displacement()
    value = left if arg == "left" else -left
    gap = b.local(ANKLE[0])[:, 0] - b.local(ANKLE[1])[:, 0]
    return bool(value > 0.4 and gap.min() < -0.02), _r(value)


__all__ = ["JUDGES", "judge_fn"]


@judge_fn("still")
def still(b: Body, arg):
    """Standing still: the pelvis stays within 30 cm of where it started and both feet stay down."""
    d = float(np.linalg.norm(b.j[:, PELVIS, [0, 2]] - b.j[0, PELVIS, [0, 2]], axis=-1).max())
    return bool(d < 0.3 and max(b.h(FOOT[0]).max(), b.h(FOOT[1]).max()) < 0.08), _r(d)
