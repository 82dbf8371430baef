"""Upper-body gestures as keyframed rotation curves, and whole-body postures.

A gesture is an arm *layer*: target joint rotations plus a weight envelope (ease in/out)
that is slerped over whatever the body is doing underneath, standing or walking. Postures
(squat, crouch, sit, bow, kick) move the legs and trunk and keep both feet planted except
the kicking one.
"""

from __future__ import annotations

import numpy as np

from ...motion.rotations import qslerp
from .clip import Clip
from .pose import (L_COLLAR, L_ELBOW, L_SHOULDER, PELVIS, R_COLLAR, R_ELBOW, R_SHOULDER, SPINE1, SPINE2,
                   SPINE3, arm, envelope, euler, leg, lerp_angle_curve, neutral, set_arm, set_leg, set_spine,
                   smoothstep)

ARM_JOINTS = {"left": (L_COLLAR, L_SHOULDER, L_ELBOW), "right": (R_COLLAR, R_SHOULDER, R_ELBOW)}


def sides_of(side: str):
    return ("left", "right") if side == "both" else (side,)


def idle(rng, T: int) -> Clip:
    """Standing with a little breathing and weight shift."""
    q = neutral(T)
    t = np.arange(T) / 20.0
    f = rng.uniform(0.2, 0.35)
    set_spine(q, pitch=1.5 * np.sin(2 * np.pi * f * t + rng.uniform(0, 6)), yaw=2 * np.sin(2 * np.pi * f * 0.5 * t))
    return Clip.standing(q)


def apply_layer(clip: Clip, layer: dict, weight: np.ndarray) -> Clip:
    """Slerp joint targets ``layer`` {joint: (T, 4)} over ``clip`` with weight ``(T,)``."""
    q = clip.rot.copy()
    for j, target in layer.items():
        q[:, j] = qslerp(q[:, j], target, weight)
    return Clip(q, clip.yaw_rate, clip.contact, clip.air_vel, list(clip.actions))


def _layer_weight(env: np.ndarray) -> np.ndarray:
    """Blend weight of an angle-space layer: fully on while the arm is still near its rest pose.

    The layer's joint angles themselves grow with ``env`` (ease in/out in angle space), so the
    slerp from the underlying pose only ever spans a small rotation; slerping straight to a
    raised arm could take the short way round *backwards* over the shoulder.
    """
    return smoothstep(np.clip(env * 3.0, 0.0, 1.0))


def _arm_layer(T, side, **angles):
    col, sh, el = arm(T, **angles)
    tmp = np.zeros((T, 22, 4))
    tmp[..., 0] = 1
    set_arm(tmp, side, col, sh, el)
    c, s, e = ARM_JOINTS[side]
    return {c: tmp[:, c], s: tmp[:, s], e: tmp[:, e]}


def wave(rng, side="right", count=None, hold_frames=None):
    """Wave layer: upper arm raised sideways-up, forearm oscillating about the elbow.

    Returns (layer, weight, T, info); ``count`` oscillations at 1.8-2.8 Hz.
    """
    count = count or int(rng.integers(2, 6))
    period = rng.uniform(0.36, 0.55) * 20
    ramp_in, ramp_out = int(rng.integers(8, 13)), int(rng.integers(8, 13))
    T = int(ramp_in + count * period + ramp_out + 2)
    t = np.arange(T)
    # count swings, stopped at the last one's low point: the arm then lowers without a swing more
    osc = np.sin(2 * np.pi * np.clip(t - ramp_in, 0, (count - 0.25) * period) / period)
    abd = rng.uniform(75, 105)
    fwd = rng.uniform(0, 35)
    amp = rng.uniform(22, 35)
    env = envelope(T, ramp_in, ramp_out)
    layer = {}
    for s in sides_of(side):
        layer.update(_arm_layer(T, s, flex=fwd * env, abd=8 + (abd - 8) * env, twist=85 * env,
                                elbow=10 + (85 + amp * osc) * env, collar=12 * env))
    return layer, _layer_weight(env), T, dict(count=count)


def raise_arms(rng, side="right", hold=None):
    """Raise one or both arms above the head (forward-up or sideways-up), hold, lower."""
    ramp_in, ramp_out = int(rng.integers(10, 16)), int(rng.integers(10, 16))
    hold = hold or int(rng.integers(8, 30))
    T = ramp_in + hold + ramp_out
    sideways = rng.random() < 0.4
    env = envelope(T, ramp_in, ramp_out)
    layer = {}
    for s in sides_of(side):
        if sideways:
            top = rng.uniform(155, 170)
            layer.update(_arm_layer(T, s, flex=10 * env, abd=8 + (top - 8) * env, twist=90 * env, elbow=10,
                                    collar=18 * env))
        else:
            top = rng.uniform(155, 172)
            layer.update(_arm_layer(T, s, flex=top * env, abd=10, elbow=10 - 2 * env, collar=15 * env))
    return layer, _layer_weight(env), T, dict(arc="sideways" if sideways else "forward")


def clap(rng, count=None):
    """Clapping: arms forward, hands meeting in front of the chest ``count`` times."""
    count = count or int(rng.integers(3, 7))
    period = rng.uniform(0.3, 0.45) * 20
    ramp_in, ramp_out = int(rng.integers(8, 12)), int(rng.integers(8, 12))
    T = int(ramp_in + count * period + ramp_out)
    t = np.arange(T)
    closed = 0.5 - 0.5 * np.cos(2 * np.pi * np.clip(t - ramp_in, 0, count * period) / period)
    flex, elbow = rng.uniform(55, 75), rng.uniform(40, 60)
    hadd = 10 + 23 * closed
    env = envelope(T, ramp_in, ramp_out)
    layer = {}
    for s in ("left", "right"):
        layer.update(_arm_layer(T, s, flex=flex * env, abd=10, elbow=10 + (elbow - 10) * env, hadd=hadd * env))
    return layer, _layer_weight(env), T, dict(count=count)


def punch(rng, side="right", count=None):
    """Boxing guard, then ``count`` straight punches with ``side``; trunk turns into them."""
    count = count or int(rng.integers(1, 4))
    guard_in, out_f, back_f, gap = int(rng.integers(6, 10)), 3, int(rng.integers(4, 6)), int(rng.integers(2, 6))
    keys_f, keys_e, keys_h, keys_y = [(0, 0), (guard_in, 45)], [(0, 10), (guard_in, 115)], [(0, 0), (guard_in, 25)], [(0, 0)]
    t = guard_in + 2
    hits = []
    for _ in range(count):
        keys_f += [(t, 45), (t + out_f, 88), (t + out_f + back_f, 45)]
        keys_e += [(t, 115), (t + out_f, 5), (t + out_f + back_f, 115)]
        keys_h += [(t, 25), (t + out_f, 22), (t + out_f + back_f, 25)]
        keys_y += [(t, 0), (t + out_f, 18), (t + out_f + back_f, 0)]
        hits.append(t + out_f)
        t += out_f + back_f + gap
    T = t + int(rng.integers(8, 12))
    keys_f.append((T - 2, 0))
    keys_e.append((T - 2, 10))
    keys_h.append((T - 2, 0))
    layer = {}
    for s in ("left", "right"):
        active = s == side
        f = lerp_angle_curve(T, keys_f if active else keys_f[:2] + [(T - 8, 45), (T - 2, 0)])
        e = lerp_angle_curve(T, keys_e if active else keys_e[:2] + [(T - 8, 115), (T - 2, 10)])
        h = lerp_angle_curve(T, keys_h if active else keys_h[:2] + [(T - 8, 25), (T - 2, 0)])
        layer.update(_arm_layer(T, s, flex=f, abd=12, elbow=e, hadd=h))
    yaw = lerp_angle_curve(T, keys_y) * (1 if side == "right" else -1)
    part = euler(y=yaw / 3)
    for j in (SPINE1, SPINE2, SPINE3):
        layer[j] = part
    return layer, np.ones(T), T, dict(count=count, hits=hits)


def gesture_clip(rng, kind: str, side: str = "right", count: int | None = None) -> Clip:
    """A standing gesture clip (idle legs + arm layer) with its action record."""
    if kind == "wave":
        layer, w, T, info = wave(rng, side, count)
    elif kind == "raise":
        layer, w, T, info = raise_arms(rng, side)
    elif kind == "clap":
        layer, w, T, info = clap(rng, count)
        side = "both"
    elif kind == "punch":
        layer, w, T, info = punch(rng, side, count)
    else:
        raise ValueError(f"unknown gesture {kind!r}")
    clip = apply_layer(idle(rng, T), layer, w)
    clip.actions = [dict(type=kind, side=side, start=0, end=T, **info)]
    return clip


def _posture(rng, T, hip, knee, ankle, pelvis, spine, arm_flex, arm_elbow, arm_abd=10.0, neck=0.0):
    q = neutral(T)
    q[:, PELVIS] = euler(x=pelvis)
    for s in ("left", "right"):
        set_leg(q, s, *leg(T, flex=hip + pelvis, knee=knee, ankle=ankle))
        set_arm(q, s, *arm(T, flex=arm_flex, abd=arm_abd, elbow=arm_elbow))
    set_spine(q, pitch=spine, neck_pitch=neck)
    return q


def squat(rng, count=None) -> Clip:
    """``count`` squats: hips back and down, knees forward, arms out front for balance."""
    count = count or int(rng.integers(1, 4))
    depth = rng.uniform(0.75, 1.0)
    frame = int(rng.integers(3, 6))
    keys = [(0, 0.0), (frame, 0.0)]
    bottoms = []
    tempo = min(1.0, 150 / (count * 40))  # many squats go faster, so the clip stays under 8 s
    for _ in range(count):
        down, hold, up = (int(rng.integers(12, 20) * tempo), int(rng.integers(0, 8) * tempo),
                          int(rng.integers(12, 20) * tempo))
        keys += [(frame + down, depth), (frame + down + hold, depth), (frame + down + hold + up, 0.0)]
        bottoms.append(frame + down)
        frame += down + hold + up + int(rng.integers(0, 5))
    T = frame + int(rng.integers(3, 7))
    s = lerp_angle_curve(T, keys)
    q = _posture(rng, T, hip=95 * s, knee=4 + 115 * s, ankle=-28 * s, pelvis=15 * s, spine=20 * s,
                 arm_flex=85 * s, arm_elbow=10 + 5 * s)
    return Clip.standing(q, [dict(type="squat", start=0, end=T, count=count, bottoms=bottoms)])


def crouch(rng) -> Clip:
    """Crouch down low, stay there a moment, stand back up."""
    down, hold, up = int(rng.integers(12, 20)), int(rng.integers(15, 40)), int(rng.integers(14, 22))
    lead = int(rng.integers(3, 6))
    T = lead + down + hold + up + int(rng.integers(3, 6))
    s = lerp_angle_curve(T, [(0, 0), (lead, 0), (lead + down, 1), (lead + down + hold, 1), (lead + down + hold + up, 0)])
    q = _posture(rng, T, hip=105 * s, knee=4 + 135 * s, ankle=-30 * s, pelvis=25 * s, spine=25 * s,
                 arm_flex=45 * s, arm_elbow=10 + 50 * s, neck=-15 * s)
    return Clip.standing(q, [dict(type="crouch", start=0, end=T, low=[lead + down, lead + down + hold])])


def sit_floor(rng) -> Clip:
    """Lower down and sit on the floor with the knees up (stays seated to the clip's end)."""
    lead, down = int(rng.integers(3, 6)), int(rng.integers(28, 40))
    hold = int(rng.integers(15, 40))
    T = lead + down + hold
    # Two stages: bend down into a deep squat, then roll back onto the seat.
    s1 = lerp_angle_curve(T, [(0, 0), (lead, 0), (lead + down * 0.55, 1)])
    s2 = lerp_angle_curve(T, [(0, 0), (lead + down * 0.45, 0), (lead + down, 1)])
    knees_up = rng.uniform(0.4, 1.0)
    hip = 95 * s1 * (1 - s2) + (100 + 20 * knees_up) * s2
    knee = 4 + 120 * s1 * (1 - s2) + (20 + 46 * knees_up) * s2
    pelvis = 15 * s1 * (1 - s2) - 10 * s2
    q = _posture(rng, T, hip=hip, knee=knee, ankle=-25 * s1 * (1 - s2), pelvis=pelvis, spine=20 * s1 * (1 - s2) + 15 * s2,
                 arm_flex=60 * s1 * (1 - s2) + 20 * s2, arm_elbow=10 + 40 * s2, arm_abd=10 + 10 * s2)
    return Clip.standing(q, [dict(type="sit", start=0, end=T, seated=lead + down)])


BOW_DEPTH = {"slight": (20, 32), None: (45, 70), "deep": (80, 92)}


def bow(rng, depth: str | None = None) -> Clip:
    """Bend forward at the hips and come back up (``depth``: "slight", None or "deep")."""
    lead, down, hold, up = int(rng.integers(3, 7)), int(rng.integers(12, 18)), int(rng.integers(4, 16)), int(rng.integers(12, 18))
    T = lead + down + hold + up + int(rng.integers(3, 7))
    s = lerp_angle_curve(T, [(0, 0), (lead, 0), (lead + down, 1), (lead + down + hold, 1), (lead + down + hold + up, 0)])
    label = depth
    depth = rng.uniform(*BOW_DEPTH[label])
    q = _posture(rng, T, hip=0 * s, knee=4 + 5 * s, ankle=0 * s, pelvis=depth * 0.55 * s, spine=depth * 0.45 * s,
                 arm_flex=10 * s, arm_elbow=10 + 0 * s, neck=-10 * s)
    rec = dict(type="bow", start=0, end=T, bottom=lead + down)
    if label:
        rec["depth"] = label
    return Clip.standing(q, [rec])


def kick(rng, side="right", count=1) -> Clip:
    """Front kick(s): chamber the knee, snap the leg out, pull back, step down."""
    lead = int(rng.integers(4, 8))
    keys_h, keys_k = [(0, 0), (lead, 0)], [(0, 4), (lead, 4)]
    t = lead
    lifted = []
    height = rng.uniform(60, 85)
    for _ in range(count):
        ch, ext, ret, down = int(rng.integers(6, 9)), int(rng.integers(4, 6)), int(rng.integers(5, 8)), int(rng.integers(5, 8))
        keys_h += [(t + ch, height * 0.8), (t + ch + ext, height), (t + ch + ext + ret, height * 0.7), (t + ch + ext + ret + down, 0)]
        keys_k += [(t + ch, 95), (t + ch + ext, 8), (t + ch + ext + ret, 85), (t + ch + ext + ret + down, 4)]
        lifted.append([t + 2, t + ch + ext + ret + down - 2])
        t += ch + ext + ret + down + int(rng.integers(2, 6))
    T = t + int(rng.integers(5, 10))
    hip = lerp_angle_curve(T, keys_h)
    knee = lerp_angle_curve(T, keys_k)
    up = np.clip(hip / height, 0, 1)
    q = neutral(T)
    set_leg(q, "left", *leg(T, flex=hip, knee=knee, ankle=10 * up))
    set_leg(q, "right", *leg(T, knee=4 + 10 * up))
    set_arm(q, "left", *arm(T, flex=-20 * up, abd=10 + 25 * up, elbow=10 + 60 * up))
    set_arm(q, "right", *arm(T, flex=30 * up, abd=10 + 25 * up, elbow=10 + 70 * up))
    set_spine(q, pitch=-8 * up)
    contact = np.ones((T, 2))
    contact[:, 0] = 1.0 - np.clip(hip / 15.0, 0, 1)
    clip = Clip(q, np.zeros(T), contact, np.full((T, 3), np.nan),
                [dict(type="kick", side="left", start=0, end=T, count=count, lifted=lifted)])
    return clip if side == "left" else clip.mirrored()


def throw(rng, side="right") -> Clip:
    """Overhand throw: wind up (arm back, trunk turned away), whip forward, follow through."""
    lead, wind, fast, follow, back = (int(rng.integers(3, 6)), int(rng.integers(8, 12)), 3,
                                      int(rng.integers(5, 8)), int(rng.integers(10, 14)))
    t1 = lead + wind
    t2 = t1 + fast
    t3 = t2 + follow
    T = t3 + back + int(rng.integers(3, 6))
    frames = (lead, t1, t2, t3, t3 + back)
    k = lambda *vals: lerp_angle_curve(T, [(0, vals[0])] + list(zip(frames, vals[1:])))
    flex = k(0, -10, 150, 70, 0, 0)
    abd = k(8, 95, 40, 15, 8, 8)
    twist = k(0, 90, 40, 0, 0, 0)
    elbow = k(10, 100, 15, 30, 10, 10)
    hadd = k(0, -10, 10, 35, 0, 0)
    yaw = k(0, 25, -15, -25, 0, 0)  # the throwing shoulder turns back, then into the throw
    pitch = k(0, -5, 10, 15, 0, 0)
    q = neutral(T)
    set_arm(q, "left", *arm(T, flex=flex, abd=abd, twist=twist, elbow=elbow, hadd=hadd))
    set_arm(q, "right", *arm(T, flex=k(0, 30, 0, -10, 0, 0), abd=k(8, 20, 15, 10, 8, 8), elbow=k(10, 40, 30, 20, 10, 10)))
    set_spine(q, pitch=pitch, yaw=yaw)
    clip = Clip.standing(q, [dict(type="throw", side="left", start=0, end=T, release=t2)])
    return clip if side == "left" else clip.mirrored()


def pick_up(rng, side="right") -> Clip:
    """Bend and squat down, reach to the floor with ``side`` hand, stand back up holding it."""
    lead, down, hold, up = int(rng.integers(3, 6)), int(rng.integers(14, 20)), int(rng.integers(4, 10)), int(rng.integers(14, 20))
    T = lead + down + hold + up + int(rng.integers(6, 12))
    s = lerp_angle_curve(T, [(0, 0), (lead, 0), (lead + down, 1), (lead + down + hold, 1), (lead + down + hold + up, 0)])
    carry = lerp_angle_curve(T, [(0, 0), (lead + down + hold, 0), (lead + down + hold + up, 1), (T - 1, 1)])
    bend = rng.uniform(70, 85)
    q = _posture(rng, T, hip=50 * s, knee=4 + 100 * s, ankle=-25 * s, pelvis=bend * 0.6 * s, spine=bend * 0.4 * s,
                 arm_flex=0 * s, arm_elbow=10 + 0 * s, neck=-10 * s)
    # The reaching arm points straight down in the world while the trunk is bent.
    set_arm(q, "left", *arm(T, flex=(bend + 5) * s + 35 * carry, abd=8, elbow=5 + 80 * carry, hadd=15 * carry))
    set_arm(q, "right", *arm(T, flex=15 * s, abd=12, elbow=15 + 10 * s))
    clip = Clip.standing(q, [dict(type="pick_up", side="left", start=0, end=T, reach=lead + down)])
    return clip if side == "left" else clip.mirrored()
