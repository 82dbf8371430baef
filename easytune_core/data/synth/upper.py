"""Upper-body actions as keyed arm, trunk and head channels: stretching, touching the toes,
shrugging, pointing, saluting, beckoning, clapping overhead, rubbing the hands, drinking,
phoning, looking around, swinging and circling the arms, folding them, hands on the hips,
scratching the head, side bends, torso twists, pushing, pulling a rope and wiping a surface.

Arm targets near the head or the body (hand to the forehead, the ear, the mouth, the hips)
were found by fitting the arm angles to the wrist positions on the canonical skeleton. A
gesture that can be done on the move doubles as an upper-body layer for gaits
(``layer_build``); its ``w`` channel eases the layer in and out.
"""

from __future__ import annotations

import numpy as np

from .keys import Keys, both, curves_to_clip, layer_of, pose, side
from .registry import Action, register
from .solve import FPS

SIDES = ("left", "right")
# Arm angles (sh, sh_abd, sh_twist, elbow, hadd) that put the wrist at a target, left arm.
AT = {
    "salute": (118, 11, -4, 62, 34), "phone": (107, 12, -7, 94, 38), "drink": (84, 8, -11, 90, 38),
    "scratch": (141, 16, -3, 35, 49), "hip": (-43, 14, -31, 111, 44), "cross": (51, -6, -32, 45, 53),
    "overhead_apart": (132, 5, -2, 65, 15), "overhead_together": (134, 15, -3, 33, 45),
    "rub": (30, -21, -17, 70, 19), "wipe": (50, -12, -2, 10, 6), "reach_out": (59, -5, -1, 15, 5),
    "push_in": (13, -3, -15, 126, 15), "push_out": (80, -1, -1, 15, 12),
}
ARM = ("sh", "sh_abd", "sh_twist", "elbow", "hadd")


def _f(rng, lo, hi):
    return int(rng.integers(lo, hi + 1))


def _u(rng, lo, hi):
    return float(rng.uniform(lo, hi))


def at(s: str, name: str, jitter=None, **extra) -> dict:
    """Arm channels of side ``s`` for target ``name`` (optionally jittered by a few degrees)."""
    vals = np.asarray(AT[name], float)
    if jitter is not None:
        vals = vals + jitter.uniform(-4, 4, size=len(vals))
    return {**side(s, **dict(zip(ARM, vals))), **{f"{s[0]}_{k}": v for k, v in extra.items()}}


def _new() -> Keys:
    return Keys(pose(w=0.0)).key(0).after(4, w=1.0)


def _close(k: Keys, rng) -> Keys:
    k.after(_f(rng, 10, 14), pose(w=1.0))
    return k.after(4, w=0.0)


def _sides(p) -> list[str]:
    s = p.get("side", "both")
    return ["l", "r"] if s == "both" else [s[0]]


def _hold_frames(p, rng, lo=12, hi=30):
    return int(p["seconds"] * FPS) if "seconds" in p else _f(rng, lo, hi)


# ---------------------------------------------------------------- gestures: (keys, record fields)

def stretch_out(rng, p):
    k = _new().after(_f(rng, 12, 16), **both(sh_abd=_u(rng, 86, 95), elbow=_u(rng, 0, 5), sh=_u(rng, 0, 6)), spine_pitch=-4)
    s = int(k.t)
    k.after(_hold_frames(p, rng))
    return _close(k, rng), dict(hold=[s, int(k.t)], seconds=p.get("seconds"))


def stretch_up(rng, p):
    k = _new().after(_f(rng, 14, 18), **both(sh=_u(rng, 165, 178), sh_abd=_u(rng, 8, 18), elbow=_u(rng, 0, 5)),
                     spine_pitch=-5, neck_pitch=-12)
    s = int(k.t)
    k.after(_hold_frames(p, rng))
    return _close(k, rng), dict(hold=[s, int(k.t)], seconds=p.get("seconds"))


def touch_toes(rng, p):
    pp, sp = _u(rng, 72, 82), _u(rng, 40, 50)
    k = _new().after(_f(rng, 16, 22), pelvis_pitch=pp, spine_pitch=sp, neck_pitch=20,
                     **both(hip=pp, knee=_u(rng, 5, 15), sh=pp + sp + 5, elbow=3))
    s = int(k.t)
    k.after(_f(rng, 6, 16))
    k.after(_f(rng, 16, 22), pose(w=1.0))
    return k.after(4, w=0.0), dict(bottom=s)


def shrug(rng, p):
    k = _new()
    peaks = []
    for _ in range(p["count"]):
        k.after(_f(rng, 5, 7), **both(collar=_u(rng, 20, 26), sh_abd=14, elbow=_u(rng, 20, 40)), neck_pitch=5)
        peaks.append(int(k.t))
        k.after(_f(rng, 2, 6))
        k.after(_f(rng, 5, 7), **both(collar=0, sh_abd=8, elbow=15), neck_pitch=0)
        k.after(_f(rng, 2, 5))
    return k.after(4, w=0.0), dict(count=p["count"], peaks=peaks)


def point(rng, p):
    s = p["side"][0]
    d = p.get("direction", "forward")
    arm = {"forward": dict(sh=_u(rng, 82, 95), sh_abd=_u(rng, 6, 12), elbow=_u(rng, 0, 5)),
           "side": dict(sh=_u(rng, 5, 15), sh_abd=_u(rng, 84, 95), elbow=_u(rng, 0, 5)),
           "up": dict(sh=_u(rng, 150, 165), sh_abd=_u(rng, 12, 20), elbow=0.0)}[d]
    k = _new().after(_f(rng, 8, 12), **side(s, **arm))
    h = int(k.t)
    k.after(_hold_frames(p, rng))
    return _close(k, rng), dict(side=p["side"], direction=d, hold=[h, int(k.t)])


def _to_target(name, neck=None):
    def g(rng, p):
        s = p["side"][0]
        extra = {} if neck is None else neck(s)
        k = _new().after(_f(rng, 9, 13), **at(s, name, rng), **extra)
        h = int(k.t)
        hold = _hold_frames(p, rng, 10, 24)
        if name == "scratch":  # scratching: small quick rubs of the forearm
            n = max(2, hold // 4)
            for i in range(n):
                k.after(hold / n, **{f"{s}_elbow": AT[name][3] + (8 if i % 2 == 0 else -8)})
        else:
            k.after(hold)
        rec = dict(side=p["side"], hold=[h, int(k.t)])
        if "seconds" in p:
            rec["seconds"] = p["seconds"]
        return _close(k, rng), rec
    return g


salute = _to_target("salute", lambda s: dict(spine_pitch=-3))
drink = _to_target("drink", lambda s: dict(neck_pitch=-14))
phone_call = _to_target("phone", lambda s: dict(neck_roll=8 if s == "l" else -8))
scratch_head = _to_target("scratch", lambda s: dict(neck_pitch=8))


def beckon(rng, p):
    s = p["side"][0]
    k = _new().after(_f(rng, 8, 12), **side(s, sh=_u(rng, 40, 55), sh_abd=10, elbow=20, sh_twist=_u(rng, 30, 60)))
    peaks = []
    for _ in range(p["count"]):
        k.after(_f(rng, 5, 7), **{f"{s}_elbow": _u(rng, 100, 120)})
        peaks.append(int(k.t))
        k.after(_f(rng, 5, 7), **{f"{s}_elbow": 20})
    return _close(k, rng), dict(side=p["side"], count=p["count"], peaks=peaks)


def clap_overhead(rng, p):
    k = _new().after(_f(rng, 10, 14), **at("l", "overhead_apart", rng), **at("r", "overhead_apart"))
    hits = []
    for _ in range(p["count"]):
        k.after(_f(rng, 3, 5), **at("l", "overhead_together"), **at("r", "overhead_together"))
        hits.append(int(k.t))
        k.after(_f(rng, 4, 6), **at("l", "overhead_apart"), **at("r", "overhead_apart"))
    return _close(k, rng), dict(count=p["count"], hits=hits)


def rub_hands(rng, p):
    k = _new().after(_f(rng, 8, 12), **at("l", "rub"), **at("r", "rub"))
    h = int(k.t)
    n = int(p["seconds"] * FPS / 3)
    for i in range(n):
        d = 7 if i % 2 == 0 else -7
        k.after(3, l_sh=AT["rub"][0] + d, r_sh=AT["rub"][0] - d)
    return _close(k, rng), dict(seconds=p["seconds"], hold=[h, int(k.t)])


def look_around(rng, p):
    sg = 1.0 if p["direction"] == "left" else -1.0
    k = _new()
    for sgn in (sg, -sg):
        a = _u(rng, 30, 45)
        k.after(_f(rng, 10, 14), spine_yaw=sgn * a * 0.8, neck_yaw=sgn * a, neck_pitch=_u(rng, -5, 5))
        k.after(_f(rng, 6, 14))
    k.after(_f(rng, 10, 14), spine_yaw=0.0, neck_yaw=0.0, neck_pitch=0.0)
    return k.after(4, w=0.0), dict(direction=p["direction"])


def swing_arms(rng, p):
    k = _new()
    a, b = _u(rng, 35, 55), _u(rng, 25, 40)
    peaks = []
    for i in range(p["count"]):
        n = _f(rng, 8, 11)
        k.after(n, l_sh=a, r_sh=-b, l_elbow=15, r_elbow=15)
        peaks.append(int(k.t))
        k.after(n, l_sh=-b, r_sh=a)
    k.after(_f(rng, 8, 11), **both(sh=0, elbow=10))
    return k.after(4, w=0.0), dict(count=p["count"], peaks=peaks)


def arm_circles(rng, p):
    ss = _sides(p)
    amp = _u(rng, 22, 32)
    k = _new().after(_f(rng, 10, 14), **{f"{s}_{c}": v for s in ss for c, v in (("sh_abd", 90 + amp), ("elbow", 3))})
    period = _u(rng, 11, 15)
    sign = 1.0 if p["direction"] == "forward" else -1.0
    steps = 8
    for i in range(1, p["count"] * steps + 1):
        th = 2 * np.pi * i / steps
        k.after(period / steps, **{f"{s}_{c}": v for s in ss
                                   for c, v in (("sh_abd", 90 + amp * np.cos(th)), ("sh", sign * amp * np.sin(th)))})
    k.after(_f(rng, 10, 14), **{f"{s}_{c}": v for s in ss for c, v in (("sh_abd", 8), ("sh", 0), ("elbow", 10))})
    return k.after(4, w=0.0), dict(side=p.get("side", "both"), direction=p["direction"], count=p["count"])


def _fold(name, both_arms=True):
    def g(rng, p):
        k = _new().after(_f(rng, 10, 14), **at("l", name, rng), **at("r", name, rng))
        h = int(k.t)
        k.after(_hold_frames(p, rng))
        return _close(k, rng), dict(seconds=p["seconds"], hold=[h, int(k.t)])
    return g


cross_arms = _fold("cross")
hands_on_hips = _fold("hip")


def side_bend(rng, p):
    sg = 1.0 if p["side"] == "left" else -1.0
    near, far = ("l", "r") if p["side"] == "left" else ("r", "l")
    k = _new()
    peaks = []
    for _ in range(p["count"]):
        k.after(_f(rng, 14, 18), spine_roll=-sg * _u(rng, 30, 40), pelvis_roll=sg * 3,
                **side(far, sh_abd=_u(rng, 150, 165), elbow=20), **side(near, sh_abd=4, elbow=3))
        peaks.append(int(k.t))
        k.after(_f(rng, 4, 10))
        k.after(_f(rng, 14, 18), spine_roll=0.0, pelvis_roll=0.0, **both(sh_abd=8, elbow=10))
    return k.after(4, w=0.0), dict(side=p["side"], count=p["count"], peaks=peaks)


def torso_twist(rng, p):
    sg = 1.0 if p["direction"] == "left" else -1.0
    k = _new().after(_f(rng, 8, 12), **both(sh_abd=_u(rng, 70, 85), elbow=_u(rng, 70, 100), sh_twist=40))
    a = _u(rng, 32, 45)
    peaks = []
    for i in range(p["count"]):
        for sgn in (sg, -sg):
            k.after(_f(rng, 9, 12), spine_yaw=sgn * a, pelvis_yaw=-sgn * 4, neck_yaw=sgn * 8)
            peaks.append(int(k.t))
    k.after(_f(rng, 9, 12), spine_yaw=0.0, pelvis_yaw=0.0, neck_yaw=0.0)
    return _close(k, rng), dict(direction=p["direction"], count=p["count"], peaks=peaks)


def push_object(rng, p):
    k = _new().after(_f(rng, 8, 12), **at("l", "push_in", rng), **at("r", "push_in"), spine_pitch=5)
    peaks = []
    for _ in range(p["count"]):
        k.after(_f(rng, 8, 12), **at("l", "push_out"), **at("r", "push_out"), spine_pitch=_u(rng, 12, 18))
        peaks.append(int(k.t))
        k.after(_f(rng, 3, 8))
        if len(peaks) < p["count"]:
            k.after(_f(rng, 8, 12), **at("l", "push_in"), **at("r", "push_in"), spine_pitch=5)
    return _close(k, rng), dict(count=p["count"], peaks=peaks)


def pull_rope(rng, p):
    k = _new().after(_f(rng, 8, 12), spine_pitch=-6, l_sh=80, l_elbow=10, r_sh=40, r_elbow=60)
    peaks = []
    for i in range(p["count"]):
        a, b = ("l", "r") if i % 2 == 0 else ("r", "l")
        k.after(_f(rng, 9, 13), **side(a, sh=_u(rng, 20, 30), elbow=_u(rng, 100, 120)),
                **side(b, sh=_u(rng, 75, 85), elbow=10), spine_pitch=-_u(rng, 8, 14))
        peaks.append(int(k.t))
    return _close(k, rng), dict(count=p["count"], peaks=peaks)


def wipe(rng, p):
    s = p["side"][0]
    k = _new().after(_f(rng, 10, 14), **at(s, "wipe", rng), spine_pitch=_u(rng, 15, 25))
    base = dict(zip(ARM, AT["wipe"]))
    r = _u(rng, 15, 22)
    for i in range(1, p["count"] * 6 + 1):
        th = 2 * np.pi * i / 6
        k.after(_u(rng, 2.5, 3.5), **{f"{s}_hadd": base["hadd"] + r * np.cos(th), f"{s}_sh": base["sh"] + 0.6 * r * np.sin(th)})
    k.after(_f(rng, 10, 14), pose(w=1.0))
    return k.after(4, w=0.0), dict(side=p["side"], count=p["count"])


# ---------------------------------------------------------------- clips and layers

def _standing(kind, fn):
    def build(rng, p):
        k, info = fn(rng, p)
        ch = k.curves()
        ch["w"][:] = 1.0
        T = len(ch["w"])
        return curves_to_clip(ch, [dict(type=kind, start=0, end=T, **{a: b for a, b in info.items() if b is not None})])
    return build


def _layer(fn, arms=None):
    def build(rng, p):
        k, info = fn(rng, p)
        ch = k.curves()
        which = arms or "".join(_sides(p))
        target, w = layer_of(ch, which)
        return target, w, len(w), {a: b for a, b in info.items() if b is not None}
    return build


def _d(**spec):
    """A draw function: each key -> tuple of choices (ints drawn uniformly) or a callable."""
    def draw(rng, posture):
        return {k: (v[int(rng.integers(len(v)))] if isinstance(v, tuple) else v(rng)) for k, v in spec.items()}
    return draw


HAND = lambda rng: "right" if rng.random() < 0.65 else "left"  # noqa: E731
SECS = (1, 2, 3, 4)
register(
    Action("stretch_out", "upper", 0.4, _d(seconds=SECS), _standing("stretch_out", stretch_out), attrs={"seconds": SECS}),
    Action("stretch_up", "upper", 0.4, _d(seconds=SECS), _standing("stretch_up", stretch_up), attrs={"seconds": SECS}),
    Action("touch_toes", "upper", 0.5, _d(), _standing("touch_toes", touch_toes)),
    Action("shrug", "upper", 0.4, _d(count=(1, 2, 3)), _standing("shrug", shrug), attrs={"count": (1, 2, 3)}),
    Action("point", "gestures", 0.6, _d(side=HAND, direction=("forward", "forward", "side", "up")),
           _standing("point", point), attrs={"side": SIDES, "direction": ("forward", "side", "up")},
           layer_build=_layer(point)),
    Action("salute", "gestures", 0.4, _d(side=HAND), _standing("salute", salute), attrs={"side": SIDES},
           layer_build=_layer(salute)),
    Action("beckon", "gestures", 0.4, _d(side=HAND, count=(2, 3, 4)), _standing("beckon", beckon),
           attrs={"side": SIDES, "count": (2, 3, 4)}),
    Action("clap_overhead", "gestures", 0.4, _d(count=(2, 3, 4, 5)), _standing("clap_overhead", clap_overhead),
           attrs={"count": (2, 3, 4, 5)}, layer_build=_layer(clap_overhead, "lr")),
    Action("rub_hands", "gestures", 0.3, _d(seconds=(1, 2, 3)), _standing("rub_hands", rub_hands)),
    Action("drink", "gestures", 0.5, _d(side=HAND), _standing("drink", drink), attrs={"side": SIDES},
           layer_build=_layer(drink)),
    Action("phone_call", "gestures", 0.5, _d(side=HAND, seconds=(2, 3, 4)), _standing("phone_call", phone_call),
           attrs={"side": SIDES}, layer_build=_layer(phone_call)),
    Action("look_around", "upper", 0.5, _d(direction=SIDES), _standing("look_around", look_around),
           attrs={"direction": SIDES}),
    Action("swing_arms", "upper", 0.4, _d(count=(2, 3, 4)), _standing("swing_arms", swing_arms)),
    Action("arm_circles", "upper", 0.5, _d(side=("both", "both", "left", "right"), direction=("forward", "backward"),
                                            count=(2, 3, 4, 5)), _standing("arm_circles", arm_circles),
           attrs={"direction": ("forward", "backward"), "count": (2, 3, 4, 5)}, layer_build=_layer(arm_circles)),
    Action("cross_arms", "gestures", 0.4, _d(seconds=SECS), _standing("cross_arms", cross_arms),
           layer_build=_layer(cross_arms, "lr")),
    Action("hands_on_hips", "gestures", 0.4, _d(seconds=SECS), _standing("hands_on_hips", hands_on_hips),
           layer_build=_layer(hands_on_hips, "lr")),
    Action("scratch_head", "gestures", 0.3, _d(side=HAND), _standing("scratch_head", scratch_head), attrs={"side": SIDES},
           layer_build=_layer(scratch_head)),
    Action("side_bend", "upper", 0.4, _d(side=SIDES, count=(1, 2)), _standing("side_bend", side_bend),
           attrs={"side": SIDES, "count": (1, 2)}),
    Action("torso_twist", "upper", 0.4, _d(direction=SIDES, count=(1, 2, 3)), _standing("torso_twist", torso_twist),
           attrs={"direction": SIDES}),
    Action("push_object", "upper", 0.4, _d(count=(1, 2, 3)), _standing("push_object", push_object),
           attrs={"count": (1, 2, 3)}),
    Action("pull_rope", "upper", 0.3, _d(count=(2, 3, 4)), _standing("pull_rope", pull_rope)),
    Action("wipe", "upper", 0.3, _d(side=HAND, count=(2, 3, 4)), _standing("wipe", wipe), attrs={"side": SIDES}),
)

__all__ = ["AT", "at"]
