"""Whole-body resting postures (standing, sitting, kneeling, on all fours, plank, lying) and the
routes between them, as key poses for :class:`keys.Keys`.

Each posture is a full pose including which body parts rest on the ground; its angles vary a
little per sample (``rng``). A route is a list of ``(frames, pose)`` steps: playing it from the
first posture reaches the second with the body supported at every frame (a support comes on
before the previous one goes away).
"""

from __future__ import annotations

import numpy as np

from .clip import SITES
from .keys import Keys, both, pose, side

FLOOR_POSTURES = ("sit", "sit_cross", "supine", "prone", "fours", "kneel", "kneel_one", "plank", "chair")
POSTURES = ("stand",) + FLOOR_POSTURES


def _u(rng, lo, hi):
    return float(rng.uniform(lo, hi))


def stand(rng=None) -> dict:
    return pose()


def squat_low(rng, hands_down: bool = False) -> dict:
    """Deep squat on flat feet, arms forward (or reaching to the floor in front)."""
    arms = both(sh=95, elbow=5, sh_abd=12) if hands_down else both(sh=_u(rng, 50, 75), elbow=25, sh_abd=12)
    return pose(pelvis_pitch=30, spine_pitch=_u(rng, 20, 35) + (15 if hands_down else 0),
                **both(hip=30 + 100, knee=135, ankle=-30), **arms, neck_pitch=-10)


def sit(rng) -> dict:
    """Sitting on the floor, knees up, feet flat, hands resting on the knees."""
    knee_up = _u(rng, 0.0, 1.0)
    thigh = 100 + 15 * knee_up
    return pose(pelvis_pitch=-15, spine_pitch=_u(rng, 12, 22), s_pelvis=1.0,
                **both(hip=thigh - 15, knee=34 + 22 * knee_up, sh=_u(rng, 35, 50), elbow=_u(rng, 40, 70), sh_abd=15))


def uncross(rng) -> dict:
    """Half-way between sitting cross-legged and with the knees up (the feet clear the floor)."""
    return pose(sit(rng), c_l=0.0, c_r=0.0, **both(hip=140, abd=40, twist=160, knee=140, ankle=40))


def sit_cross(rng) -> dict:
    """Sitting cross-legged: thighs out to the sides, shins crossed in front, hands on the knees."""
    lean = _u(rng, 5, 15)
    # Fitted so the knees rest out wide and each ankle lies under the other knee's shin.
    legs = {**side("l", hip=55, abd=78, twist=155, knee=130, ankle=10),
            **side("r", hip=62, abd=76, twist=155, knee=128, ankle=10)}
    return pose(pelvis_pitch=-10, spine_pitch=10 + lean, s_pelvis=1.0, c_l=0.0, c_r=0.0, **legs,
                **both(sh=_u(rng, 25, 40), sh_abd=25, elbow=_u(rng, 40, 60)))


def supine(rng, knees_up: bool = False) -> dict:
    """Lying on the back, arms by the sides (knees bent with the feet flat, or legs straight)."""
    legs = both(hip=50, knee=100) if knees_up else both(hip=_u(rng, 0, 5), knee=_u(rng, 2, 8), ankle=_u(rng, 0, 15))
    return pose(pelvis_pitch=-90, neck_pitch=_u(rng, 0, 15), s_pelvis=1.0, s_torso=1.0,
                c_l=1.0 if knees_up else 0.0, c_r=1.0 if knees_up else 0.0,
                **legs, **both(sh=0, sh_abd=_u(rng, 10, 25), elbow=_u(rng, 5, 20)))


def prone(rng) -> dict:
    """Lying face down, legs straight with the toes pointing back, hands flat on the floor by the
    shoulders (elbows bent up, as at the bottom of a push-up)."""
    return pose(pelvis_pitch=90, neck_pitch=_u(rng, -25, -10), s_pelvis=1.0, s_torso=1.0, c_l=0.0, c_r=0.0,
                s_l_hand=1.0, s_r_hand=1.0,
                **both(hip=_u(rng, 0, 4), knee=_u(rng, 0, 6), ankle=50, sh=_u(rng, -55, -45), sh_abd=_u(rng, 55, 65),
                       elbow=150))


def fours(rng) -> dict:
    """On hands and knees: thighs and arms vertical, shins on the floor, back nearly level."""
    p = _u(rng, 70, 78)
    return pose(pelvis_pitch=p, neck_pitch=-30, c_l=0.0, c_r=0.0, s_l_knee=1.0, s_r_knee=1.0,
                s_l_hand=1.0, s_r_hand=1.0, **both(hip=p, knee=90, ankle=50, sh=p, elbow=3, sh_abd=10))


def kneel(rng) -> dict:
    """Kneeling upright on both knees, shins on the floor."""
    return pose(spine_pitch=_u(rng, 0, 8), c_l=0.0, c_r=0.0, s_l_knee=1.0, s_r_knee=1.0,
                **both(hip=_u(rng, 0, 8), knee=90, ankle=50, sh=_u(rng, 0, 10), elbow=_u(rng, 10, 30)))


def kneel_one(rng, down: str = "l") -> dict:
    """Kneeling on one knee (``down``), the other foot planted in front, hands on the front knee."""
    up = "r" if down[0] == "l" else "l"
    return pose(spine_pitch=_u(rng, 5, 15), **{f"c_{down[0]}": 0.0, f"s_{down[0]}_knee": 1.0},
                **side(down, hip=_u(rng, -5, 5), knee=90, ankle=50), **side(up, hip=95, knee=95),
                **both(sh=_u(rng, 20, 35), elbow=_u(rng, 20, 40)))


def plank(rng, low: bool = False) -> dict:
    """Push-up position on straight arms (``low``: chest near the floor), on the toes."""
    p = _u(rng, 83, 85) if low else _u(rng, 68, 72)
    return pose(pelvis_pitch=p, neck_pitch=-20, c_l=0.0, c_r=0.0, s_l_toe=1.0, s_r_toe=1.0,
                s_l_hand=1.0, s_r_hand=1.0, **both(hip=0, knee=0, ankle=5, sh=p, elbow=0, sh_abd=12))


def chair(rng) -> dict:
    """Sitting on a chair-high seat, thighs level, feet flat, hands on the thighs."""
    return pose(pelvis_pitch=-5, spine_pitch=_u(rng, 2, 10), s_seat=1.0,
                **both(hip=80, knee=_u(rng, 78, 90), sh=_u(rng, 25, 40), elbow=_u(rng, 40, 60), sh_abd=12))


BUILD = {"stand": stand, "sit": sit, "sit_cross": sit_cross, "supine": supine, "prone": prone, "fours": fours,
         "kneel": kneel, "kneel_one": kneel_one, "plank": plank, "chair": chair}


def posture(name: str, rng) -> dict:
    """The key pose of posture ``name``."""
    if name not in BUILD:
        raise ValueError(f"unknown posture {name!r}; choose one of {', '.join(BUILD)}")
    return BUILD[name](rng)


def _f(rng, lo, hi):
    return int(rng.integers(lo, hi + 1))


def route_down(rng, target: str, down: str = "l") -> list:
    """Steps ``[(frames, pose), ...]`` from standing into floor posture ``target``."""
    sq = squat_low(rng)
    if target == "sit":
        return [(_f(rng, 14, 20), sq), (_f(rng, 12, 18), sit(rng))]
    if target == "sit_cross":
        s = sit(rng)
        return [(_f(rng, 14, 20), sq), (_f(rng, 12, 18), s), (_f(rng, 8, 10), uncross(rng)), (_f(rng, 8, 10), sit_cross(rng))]
    if target == "supine":
        return [(_f(rng, 14, 20), sq), (_f(rng, 12, 16), sit(rng)), (_f(rng, 14, 20), supine(rng, True)),
                (_f(rng, 10, 16), supine(rng))]
    if target in ("fours", "prone", "plank"):
        # Down on both knees first (the shins come to rest on the floor behind), then forward onto the hands.
        f4 = fours(rng)
        steps = route_down(rng, "kneel", down) + [(_f(rng, 12, 16), f4)]
        if target == "prone":
            low = pose(f4, pelvis_pitch=82, s_pelvis=1.0, s_torso=1.0, **both(hip=20, knee=60, ankle=50, sh=82, elbow=0))
            steps += [(_f(rng, 12, 18), low), (_f(rng, 10, 14), prone(rng))]
        if target == "plank":
            steps += [(_f(rng, 14, 18), plank(rng))]
        return steps
    if target == "kneel_one":
        ko = kneel_one(rng, down)
        mid = pose(ko, spine_pitch=10, s_l_knee=0.0, s_r_knee=0.0, **{f"c_{down[0]}": 0.0},
                   **side(down, hip=-5, knee=80, ankle=20), **side("r" if down[0] == "l" else "l", hip=70, knee=75))
        return [(_f(rng, 10, 14), mid), (_f(rng, 10, 16), ko)]
    if target == "kneel":
        return route_down(rng, "kneel_one", down) + [(_f(rng, 12, 18), kneel(rng))]
    if target == "chair":
        lean = pose(spine_pitch=25, pelvis_pitch=20, **both(hip=60, knee=60, sh=20))
        return [(_f(rng, 10, 14), lean), (_f(rng, 10, 16), chair(rng))]
    raise ValueError(f"no route from standing to {target!r}")


def route_up(rng, start: str, lead: str = "r") -> list:
    """Steps from floor posture ``start`` back to standing (``lead``: the foot put forward first)."""
    st = stand()
    kd = "l" if lead[0] == "r" else "r"
    ko = kneel_one(rng, kd)
    to_stand = [(_f(rng, 8, 12), pose(ko, spine_pitch=25, **both(sh=30))), (_f(rng, 14, 20), st)]
    if start in ("sit", "sit_cross", "supine"):
        steps = []
        if start == "supine":
            steps += [(_f(rng, 8, 12), supine(rng, True)), (_f(rng, 12, 18), sit(rng))]
        if start == "sit_cross":
            steps += [(_f(rng, 8, 10), uncross(rng)), (_f(rng, 8, 10), sit(rng))]
        lean = pose(sit(rng), spine_pitch=45, pelvis_pitch=0, **both(sh=80, elbow=10, hip=120, knee=110))
        return steps + [(_f(rng, 10, 14), lean), (_f(rng, 10, 14), squat_low(rng)), (_f(rng, 16, 22), st)]
    if start in ("prone", "plank", "fours"):
        steps = []
        if start == "prone":
            steps += [(_f(rng, 14, 18), fours(rng))]
        elif start == "plank":
            steps += [(_f(rng, 12, 16), fours(rng))]
        up = pose(ko, spine_pitch=35, s_l_hand=0.0, s_r_hand=0.0, **both(sh=40, elbow=20))
        return steps + [(_f(rng, 14, 18), up)] + to_stand
    if start == "kneel":
        return [(_f(rng, 12, 16), ko)] + to_stand
    if start == "kneel_one":
        return to_stand
    if start == "chair":
        lean = pose(chair(rng), spine_pitch=30, pelvis_pitch=15, s_seat=0.0, **both(sh=30))
        return [(_f(rng, 8, 12), lean), (_f(rng, 14, 20), st)]
    raise ValueError(f"no route from {start!r} to standing")


SUPPORTS = ("c_l", "c_r") + tuple(f"s_{n}" for n in SITES)


def step(k: Keys, foot: str, n: int, base: dict | None = None, **channels) -> Keys:
    """One step of ``foot`` ("l"/"r") in ``n`` frames (at least 6): lift it, move to the new pose, put it down."""
    c = f"c_{foot[0]}"
    k.after(2, **{c: 0.0})
    k.after(max(n, 6) - 4, base, **{**channels, c: 0.0})
    return k.after(2, **{c: 1.0})


def play(k: Keys, steps: list) -> Keys:
    """Append route steps ``[(frames, pose), ...]`` to keys ``k``.

    Within a step the body first lets go of the supports the new pose does not use, then
    moves, and only in its last frames puts down the new ones, so a part touches the ground
    where the new pose has it (a support is pinned where it lands).
    """
    for n, p in steps:
        prev = dict(k.cur)
        off = {c: p[c] for c in SUPPORTS if p[c] < prev[c]}
        on = any(p[c] > prev[c] for c in SUPPORTS)
        geo = {c: v for c, v in p.items() if c not in SUPPORTS}
        hold_in, hold_out = (3 if off else 0), (3 if on else 0)
        move = max(int(n) - hold_in - hold_out, 5)
        if off:
            k.after(hold_in, **off)
        k.after(move, **geo)
        if on:
            k.after(hold_out, p)
        else:
            k.key(k.t, p)
    return k


__all__ = ["POSTURES", "FLOOR_POSTURES", "posture", "route_down", "route_up", "play", "step", "squat_low", "sit",
           "sit_cross", "supine", "prone", "fours", "kneel", "kneel_one", "plank", "chair", "stand"]
