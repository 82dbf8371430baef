"""Floor-level actions and transitions: sitting, kneeling, lying down, getting up, rolling over,
crawling, push-ups, sit-ups, planks, sitting on a chair.

Each builder starts in one posture (:mod:`postures`) and ends in another; the composer inserts
the transitions ("lies down", "gets up") a sequence needs. The body rests on the floor through
support sites (pelvis, torso, hands, knees, toes), so lying bodies lie on the floor, hands and
knees stay where they were put down, and nothing sinks below the floor.
"""

from __future__ import annotations

import numpy as np

from . import postures as P
from .keys import Keys, both, curves_to_clip, pose
from .registry import Action, register
from .solve import FPS

SIDES = ("left", "right")


def _f(rng, lo, hi):
    return int(rng.integers(lo, hi + 1))


def _start(rng, posture: str) -> Keys:
    k = Keys(_posture(rng, posture))
    return k.key(0).after(_f(rng, 3, 6))


def _posture(rng, name: str) -> dict:
    if name.startswith("kneel_one"):
        return P.kneel_one(rng, name.split(":")[1] if ":" in name else "l")
    return P.posture(name, rng)


def _down(rng, target: str, record: dict, hold=(6, 20)):
    """Standing -> ``target`` posture, then a short rest there."""
    down = target.split(":")[1] if ":" in target else "l"
    k = _start(rng, "stand")
    P.play(k, P.route_down(rng, target.split(":")[0], down))
    reached = int(k.t)
    k.after(_f(rng, *hold))
    return k.clip(actions=[dict(record, start=0, end=int(k.t) + 1, reached=reached)])


# ---------------------------------------------------------------- getting down

def build_sit(rng, p):
    return _down(rng, "sit", dict(type="sit"))


def build_sit_cross(rng, p):
    return _down(rng, "sit_cross", dict(type="sit_cross_legged"))


def build_lie_back(rng, p):
    if p.get("from") == "sit":
        k = _start(rng, "sit")
        k.after(_f(rng, 14, 20), P.supine(rng, True))
        P.play(k, [(_f(rng, 10, 16), P.supine(rng))])
        reached = int(k.t)
        k.after(_f(rng, 6, 20))
        return k.clip(actions=[dict(type="lie_back", start=0, end=int(k.t) + 1, reached=reached)])
    return _down(rng, "supine", dict(type="lie_back"))


def build_lie_front(rng, p):
    return _down(rng, "prone", dict(type="lie_front"))


def build_all_fours(rng, p):
    return _down(rng, "fours", dict(type="all_fours"))


def build_kneel(rng, p):
    d = p["side"][0]
    return _down(rng, f"kneel_one:{d}", dict(type="kneel", side=p["side"]), hold=(10, 30))


def build_kneel_both(rng, p):
    return _down(rng, "kneel", dict(type="kneel_both"), hold=(10, 30))


def build_sit_chair(rng, p):
    return _down(rng, "chair", dict(type="sit_chair"), hold=(10, 30))


def build_plank(rng, p):
    k = _start(rng, p.get("from", "stand"))
    if p.get("from", "stand") == "stand":
        P.play(k, P.route_down(rng, "plank"))
    s = int(k.t)
    k.after(int(p["seconds"] * FPS))
    e = int(k.t)
    k.after(3)
    return k.clip(actions=[dict(type="plank", start=0, end=int(k.t) + 1, seconds=p["seconds"], hold=[s, e])])


# ---------------------------------------------------------------- getting up

def build_get_up(rng, p):
    start = p["from"]
    k = _start(rng, start)
    lead = "r"
    if start.startswith("kneel_one"):
        lead = "r" if start.endswith("l") else "l"
    P.play(k, P.route_up(rng, start.split(":")[0], lead))
    k.after(_f(rng, 4, 10))
    frm = {"kneel_one": "kneel", "sit_cross": "sit", "fours": "fours"}.get(start.split(":")[0], start.split(":")[0])
    return k.clip(actions=[dict(type="get_up", start=0, end=int(k.t) + 1, **{"from": frm})])


# ---------------------------------------------------------------- on the floor

def build_roll_over(rng, p):
    """Roll about the body's long axis from the back onto the front (or back), toward ``direction``.

    The body turns ``roll`` degrees about the heading frame's Z axis while lying; once it lies on
    the other side the heading is turned 180 degrees and the pelvis re-expressed in it, so the
    posture reads as a plain prone / supine pose again.
    """
    frm = p["from"]
    k = Keys(P.supine(rng) if frm == "supine" else P.prone(rng))
    k.key(0).after(_f(rng, 4, 8))
    arms_up = dict(**both(sh=0, sh_abd=1, elbow=5), s_l_hand=0.0, s_r_hand=0.0)  # arms tucked along the body
    k.after(_f(rng, 8, 12), **arms_up)
    n = _f(rng, 20, 28)
    t0 = int(k.t)
    # Left roll seen from the body: the front turns toward the body's left (+X); on the back
    # that is a rotation about +Z by a negative angle, on the front by a positive one.
    sign = -1.0 if frm == "supine" else 1.0
    k.after(n // 2, pelvis_roll=sign * 90, s_torso=0.0)
    k.after(n - n // 2, pelvis_roll=sign * 180)
    t1 = int(k.t)
    end = P.prone(rng) if frm == "supine" else P.supine(rng)
    # Same world orientation, other parameterisation: heading +180 and a plain lying pelvis;
    # the limbs keep their angles through that frame and only then ease into the new pose.
    k.after(1, pelvis_pitch=end["pelvis_pitch"], pelvis_roll=0.0, yaw=180.0)
    k.after(6, s_torso=1.0)
    k.after(_f(rng, 8, 12), pose(end, yaw=180.0))
    k.after(_f(rng, 4, 10))
    T = int(k.t) + 1
    slide = np.full((T, 3), np.nan)
    width = rng.uniform(0.35, 0.45)
    slide[t0:t1, 0] = width / max(t1 - t0, 1)
    clip = k.clip(actions=[dict(type="roll_over", direction="left", start=0, end=T, **{"from": frm},
                                to="prone" if frm == "supine" else "supine")], slide=slide)
    return clip if p["direction"] == "left" else clip.mirrored()


def build_crawl(rng, p):
    """Crawling on hands and knees: diagonal limbs move together (left hand with right knee)."""
    T = _f(rng, 70, 120)
    f4 = P.fours(rng)
    cadence = rng.uniform(0.55, 0.8) / FPS
    sign = 1.0 if p["direction"] == "forward" else -1.0
    t = np.arange(T)
    ramp = np.clip(np.minimum(t, T - 1 - t) / 10.0, 0.0, 1.0)
    ramp = ramp * ramp * (3 - 2 * ramp)
    phase = rng.uniform(0, 0.1) + sign * cadence * t
    k = Keys(f4)
    k.key(0).key(T - 1)
    ch = k.curves(T)
    a_hip = rng.uniform(16, 22)
    a_arm = np.degrees(np.arcsin(0.78 * np.sin(np.radians(a_hip))))
    for s, (ph_arm, ph_leg) in (("l", (0.0, 0.5)), ("r", (0.5, 0.0))):
        for limb, ph0, amp in (("arm", ph_arm, a_arm), ("leg", ph_leg, a_hip)):
            u = (phase + ph0) % 1.0
            stance = u < 0.62
            # Forward in stance-phase order: reach forward at touch-down, sweep back under the body.
            sweep = np.where(stance, 1 - 2 * u / 0.62, -1 + 2 * (u - 0.62) / 0.38)
            lift = np.where(stance, 0.0, np.sin(np.pi * (u - 0.62) / 0.38))
            down = np.clip(1.0 - lift * 3, 0.0, 1.0) * ramp + (1 - ramp)
            if limb == "arm":
                ch[f"{s}_sh"] = f4[f"{s}_sh"] + amp * sweep * ramp
                ch[f"{s}_elbow"] = f4[f"{s}_elbow"] + 25 * lift * ramp
                ch[f"s_{s}_hand"] = down
            else:
                ch[f"{s}_hip"] = f4[f"{s}_hip"] + amp * sweep * ramp
                ch[f"s_{s}_knee"] = down
    ch["pelvis_roll"] = 3 * np.sin(2 * np.pi * phase) * ramp
    clip = curves_to_clip(ch, [dict(type="crawl", direction=p["direction"], start=0, end=T)])
    return clip


def build_push_up(rng, p):
    k = _start(rng, "plank")
    bottoms = []
    tempo = min(1.0, 100 / (p["count"] * 25))
    for _ in range(p["count"]):
        down, up = int(_f(rng, 10, 15) * tempo), int(_f(rng, 9, 14) * tempo)
        k.after(max(down, 7), P.plank(rng, low=True))
        bottoms.append(int(k.t))
        k.after(_f(rng, 0, 3))
        k.after(max(up, 7), P.plank(rng))
    k.after(_f(rng, 4, 10))
    return k.clip(actions=[dict(type="push_up", start=0, end=int(k.t) + 1, count=p["count"], bottoms=bottoms)])


def _sit_up_top(rng):
    return pose(P.supine(rng, True), pelvis_pitch=-65, spine_pitch=rng.uniform(50, 62), neck_pitch=20, s_torso=0.0,
                **both(sh=rng.uniform(60, 80), elbow=10, sh_abd=12))


def build_sit_up(rng, p):
    k = _start(rng, "supine")
    k.after(_f(rng, 10, 14), P.supine(rng, True))
    tops = []
    tempo = min(1.0, 120 / (p["count"] * 32))
    for _ in range(p["count"]):
        k.after(max(int(_f(rng, 12, 17) * tempo), 8), _sit_up_top(rng))
        tops.append(int(k.t))
        k.after(_f(rng, 0, 4))
        k.after(max(int(_f(rng, 12, 17) * tempo), 8), P.supine(rng, True))
    k.after(_f(rng, 10, 14), P.supine(rng))
    k.after(_f(rng, 3, 8))
    return k.clip(actions=[dict(type="sit_up", start=0, end=int(k.t) + 1, count=p["count"], tops=tops)])


def _draw_none(rng, posture):
    return {}


def _draw_count(lo, hi):
    return lambda rng, posture: {"count": int(rng.integers(lo, hi + 1))}


def _draw_side(rng, posture):
    return {"side": SIDES[int(rng.integers(2))]}


def _draw_get_up(rng, posture):
    return {"from": posture}


def _draw_roll(rng, posture):
    return {"from": posture, "direction": SIDES[int(rng.integers(2))]}


def _draw_lie_back(rng, posture):
    return {"from": posture}


def _draw_plank(rng, posture):
    return {"from": posture, "seconds": int(rng.integers(2, 6))}


def _draw_crawl(rng, posture):
    return {"direction": "forward" if rng.random() < 0.8 else "backward"}


FLOOR = tuple(p for p in P.FLOOR_POSTURES if p != "kneel_one") + ("kneel_one:l", "kneel_one:r")
register(
    Action("sit", "floor", 0.7, _draw_none, build_sit, end="sit"),
    Action("sit_cross_legged", "floor", 0.5, _draw_none, build_sit_cross, end="sit_cross"),
    Action("lie_back", "floor", 0.8, _draw_lie_back, build_lie_back, starts=("stand", "sit"), end="supine"),
    Action("lie_front", "floor", 0.6, _draw_none, build_lie_front, end="prone"),
    Action("all_fours", "floor", 0.3, _draw_none, build_all_fours, end="fours"),
    Action("kneel", "floor", 0.6, _draw_side, build_kneel, end=lambda p: f"kneel_one:{p['side'][0]}", attrs={"side": SIDES}),
    Action("kneel_both", "floor", 0.5, _draw_none, build_kneel_both, end="kneel"),
    Action("sit_chair", "floor", 0.6, _draw_none, build_sit_chair, end="chair"),
    Action("plank", "floor", 0.4, _draw_plank, build_plank, starts=("stand", "plank"), end="plank",
           attrs={"seconds": (2, 3, 4, 5)}),
    Action("get_up", "floor", 0.3, _draw_get_up, build_get_up, starts=FLOOR, end="stand"),
    Action("roll_over", "floor", 0.6, _draw_roll, build_roll_over, starts=("supine", "prone"),
           end=lambda p: "prone" if p["from"] == "supine" else "supine", attrs={"direction": SIDES}),
    Action("crawl", "floor", 0.7, _draw_crawl, build_crawl, starts=("fours",), end="fours",
           attrs={"direction": ("forward", "backward")}),
    Action("push_up", "floor", 0.8, _draw_count(1, 5), build_push_up, starts=("plank",), end="plank",
           attrs={"count": (1, 2, 3, 4, 5)}),
    Action("sit_up", "floor", 0.7, _draw_count(1, 5), build_sit_up, starts=("supine",), end="supine",
           attrs={"count": (1, 2, 3, 4, 5)}),
)

DOWN_TO = {"sit": "sit", "sit_cross": "sit_cross_legged", "supine": "lie_back", "prone": "lie_front",
           "fours": "all_fours", "kneel": "kneel_both", "chair": "sit_chair", "plank": "plank"}

__all__ = ["DOWN_TO", "FLOOR"]
