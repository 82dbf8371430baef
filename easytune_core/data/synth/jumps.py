"""Ballistic jumps: crouch, take-off, flight under gravity, landing absorption, recovery.

The flight time follows from the drawn jump height (t = 2 sqrt(2 h / g)); ``solve`` flies
the root on the gravity parabola over the frames where neither foot touches the ground, so
the apex height comes out of the flight time rather than being animated.
"""

from __future__ import annotations

import numpy as np

from .clip import Clip
from .pose import PELVIS, arm, euler, leg, lerp_angle_curve, neutral, set_arm, set_leg, set_spine
from .solve import FPS, GRAVITY


# Take-off direction in the heading frame (x: the body's left, z: forward).
JUMP_DIRECTIONS = {"in_place": (0.0, 0.0), "forward": (0.0, 1.0), "backward": (0.0, -1.0), "left": (1.0, 0.0),
                   "right": (-1.0, 0.0)}
HEIGHTS = {"low": (0.07, 0.12), None: (0.15, 0.3), "high": (0.38, 0.5)}


def jump(rng, forward: bool = False, count: int = 1, direction: str | None = None, height: str | None = None,
         turn_deg: float = 0.0, shape: str | None = None) -> Clip:
    """``count`` two-footed jumps. Returns the clip (length from timing).

    Args:
        forward: shorthand for ``direction="forward"``.
        direction: "in_place", "forward", "backward", "left" or "right" (the body's left).
        height: "low" (a small hop), None (normal) or "high" (apex height ranges in ``HEIGHTS``).
        turn_deg: heading change during each flight (degrees, > 0 = turning left).
        shape: None, "star" (arms and legs spread wide at the top), "tuck" (knees pulled up to
            the chest) or "squat" (each jump starts from a deep squat).
    """
    direction = direction or ("forward" if forward else "in_place")
    dx, dz = JUMP_DIRECTIONS[direction]
    keys = {k: [] for k in ("hip", "knee", "ankle", "spine", "arm", "elbow", "abd", "arm_abd")}
    t = int(rng.integers(3, 7))
    contact_gaps = []
    air = []

    def key(frame, **vals):
        for k, v in vals.items():
            keys[k].append((frame, v))

    key(0, hip=0, knee=4, ankle=0, spine=0, arm=0, elbow=10, abd=0, arm_abd=10)
    key(t, hip=0, knee=4, ankle=0, spine=0, arm=0, elbow=10, abd=0, arm_abd=10)
    depth = rng.uniform(0.8, 1.15) * (1.25 if height == "high" else 0.7 if height == "low" else 1.0)
    apex_range = HEIGHTS[height]
    yaw = []
    for i in range(count):
        apex = rng.uniform(*apex_range) * (0.85 if direction != "in_place" else 1.0)
        n_flight = max(3, int(round(2 * np.sqrt(2 * apex / GRAVITY) * FPS)))
        crouch = int(rng.integers(7, 11)) if i == 0 else int(rng.integers(3, 5))
        t += crouch
        d = depth * (1.35 if shape == "squat" else 1.0)
        if shape == "squat":
            t += int(rng.integers(6, 10))
        key(t, hip=45 * d, knee=min(80 * d, 120), ankle=-15 - 10 * (shape == "squat"), spine=25 * min(d, 1.3), arm=-40,
            elbow=20, abd=0, arm_abd=10)
        t += int(rng.integers(3, 5))  # push-off: legs extend, arms swing up
        # Arms swing from behind to forward-up across push-off and flight (a quick but human
        # swing: wrists stay under ~10 m/s).
        key(t, hip=-3, knee=3, ankle=30, spine=5, arm=60 if dz > 0 else 50, elbow=15)
        take_off = t
        t += n_flight
        apex_pose = dict(hip=20, knee=35, ankle=15, spine=8, arm=110 if dz > 0 else 95, elbow=20, abd=0, arm_abd=10)
        if shape == "star":
            apex_pose.update(hip=5, knee=5, arm=20, arm_abd=rng.uniform(135, 155), abd=rng.uniform(22, 30))
        elif shape == "tuck":
            apex_pose.update(hip=rng.uniform(85, 100), knee=rng.uniform(110, 125), arm=60, spine=15)
        key(take_off + n_flight // 2, **apex_pose)
        key(t, hip=12, knee=15, ankle=5, spine=10, arm=60, elbow=20, abd=0, arm_abd=10)
        contact_gaps.append((take_off, t))
        dist = rng.uniform(0.4, 1.0) if dz > 0 else rng.uniform(0.3, 0.5) if (dx or dz) else 0.0
        air.append((take_off, t, dist / (n_flight + 1)))
        yaw.append((take_off, t))
        absorb = int(rng.integers(4, 7))
        t += absorb
        key(t, hip=40 * depth, knee=70 * depth, ankle=-10, spine=22 * depth, arm=25, elbow=25, abd=0, arm_abd=10)
    t += int(rng.integers(8, 12))
    key(t, hip=0, knee=4, ankle=0, spine=2, arm=0, elbow=10, abd=0, arm_abd=10)
    T = t + int(rng.integers(4, 8))
    curve = {k: lerp_angle_curve(T, v) for k, v in keys.items()}
    q = neutral(T)
    for side in ("left", "right"):
        set_arm(q, side, *arm(T, flex=curve["arm"], abd=curve["arm_abd"], elbow=curve["elbow"],
                              twist=np.clip(curve["arm_abd"] - 60, 0, 90)))
    set_spine(q, pitch=curve["spine"] * 0.5)
    # Bend at the hips: tilt the pelvis forward and compensate in the hip joints.
    q[:, PELVIS] = euler(x=curve["spine"] * 0.5)
    for side in ("left", "right"):
        set_leg(q, side, *leg(T, flex=curve["hip"] + curve["spine"] * 0.5, knee=curve["knee"], ankle=curve["ankle"],
                              abd=curve["abd"]))
    contact = np.ones((T, 2))
    air_vel = np.zeros((T, 3))
    for s, e in contact_gaps:
        contact[s:e] = 0.0
    for s, e, step in air:
        air_vel[s - 1:e, 0] = step * dx
        air_vel[s - 1:e, 2] = step * dz
    yaw_rate = np.zeros(T)
    for s, e in yaw:  # the turn happens in the air (the feet cannot twist while planted)
        yaw_rate[s:e] = np.radians(turn_deg) / (e - s)
    actions = [dict(type="jump", start=0, end=T, direction=direction, count=count,
                    flights=[[int(s), int(e)] for s, e in contact_gaps])]
    if height:
        actions[0]["height"] = height
    if turn_deg:
        actions[0]["degrees"] = int(round(abs(turn_deg)))
    return Clip(q, yaw_rate, contact, air_vel, actions)


def jumping_jacks(rng, count: int = 4) -> Clip:
    """``count`` jumping jacks: hop out to legs apart with arms overhead, hop back in."""
    period = rng.uniform(0.42, 0.55) * FPS  # one hop (out or in)
    flight = max(3, int(round(rng.uniform(0.16, 0.22) * FPS)))
    spread = rng.uniform(10, 15)
    lead, tail = int(rng.integers(4, 8)), int(rng.integers(8, 12))
    hops = 2 * count
    T = int(lead + hops * period + tail)
    keys = {k: [(0, 0.0), (lead, 0.0)] for k in ("abd", "arm", "knee")}
    contact = np.ones((T, 2))
    flights = []
    for h in range(hops):
        s = lead + h * period
        take_off = int(round(s + period - flight - 1))
        out = h % 2 == 0  # this hop lands with legs apart and arms up
        land = take_off + flight
        keys["knee"] += [(s + 1, 25.0), (take_off, 5.0), (land, 8.0)]
        keys["abd"] += [(take_off, spread * (0.2 if out else 0.8)), (land, spread if out else 0.0)]
        keys["arm"] += [(take_off, 60.0 if out else 120.0), (land, 165.0 if out else 10.0)]
        contact[take_off:land] = 0.0
        flights.append([take_off, land])
    for k in keys:
        keys[k].append((T - 4, 0.0 if k != "knee" else 4.0))
    curve = {k: lerp_angle_curve(T, v) for k, v in keys.items()}
    q = neutral(T)
    for side in ("left", "right"):
        set_leg(q, side, *leg(T, flex=curve["knee"] * 0.5, knee=curve["knee"], ankle=-0.2 * curve["knee"], abd=curve["abd"]))
        set_arm(q, side, *arm(T, abd=8 + curve["arm"], twist=np.clip(curve["arm"] - 60, 0, 90), elbow=10,
                              collar=0.1 * curve["arm"]))
    actions = [dict(type="jumping_jacks", start=0, end=T, count=count, flights=flights)]
    return Clip(q, np.zeros(T), contact, np.zeros((T, 3)), actions)
