"""The core vocabulary: gaits, turns, circles, jumps, hops, squats, bows and the arm gestures.

Gaits (walk, jog, march) may carry an upper-body layer ("walks forward while waving") and a
style ("walks sadly", see :mod:`styles`).
"""

from __future__ import annotations

import numpy as np

from . import gaits, gestures, jumps, styles
from .keys import apply_layer
from .solve import solve
from .registry import REGISTRY, Action, register

PACES = ("slow", "normal", "fast")
SIDES = ("left", "right")
TURN_DEGREES = (45, 90, 135, 180, 270)
# Upper-body gestures a gait may carry ("walks while waving") and how often each is picked.
LAYERS = {"wave": 3.0, "raise": 1.0, "clap": 1.5, "point": 1.0, "phone_call": 1.0, "drink": 0.7, "arm_circles": 0.8,
          "clap_overhead": 0.8, "salute": 0.5, "scratch_head": 0.5, "punch": 0.6, "cross_arms": 0.6,
          "hands_on_hips": 0.6}


def _pick(rng, options, p=None):
    return options[int(rng.choice(len(options), p=p))]


def _pace(rng, probs=(0.3, 0.45, 0.25)):
    return _pick(rng, PACES, probs)


def draw_layer(rng) -> dict:
    """Parameters of an upper-body layer for a gait."""
    names = list(LAYERS)
    w = np.array([LAYERS[n] for n in names])
    g = names[int(rng.choice(len(names), p=w / w.sum()))]
    return {"type": g, **REGISTRY[g].draw(rng, "stand")}


def make_layer(rng, layer: dict | None):
    """Build upper-body layer ``layer``: ``(joint targets, weight, frames, record fields)`` or None."""
    if not layer:
        return None
    params = {k: v for k, v in layer.items() if k != "type"}
    target, weight, Tl, info = REGISTRY[layer["type"]].layer_build(rng, params)
    return target, weight, int(Tl), dict(type=layer["type"], **info)


def layer_frames(made) -> int:
    """Frames a gait needs to carry layer ``made`` (its length plus room before and after)."""
    return 0 if made is None else made[2] + 16


def place_layer(rng, clip, made):
    """Put a built layer over a gait clip somewhere in its middle; returns the clip and the
    layer's record (frames relative to the clip), or ``(clip, None)``."""
    if made is None:
        return clip, None
    target, weight, Tl, info = made
    off = int(rng.integers(6, max(7, clip.T - Tl - 6)))
    clip = apply_layer(clip, target, weight, off)
    return clip, dict(info, start=off, end=off + Tl)


# ---------------------------------------------------------------- gaits

def draw_walk(rng, posture, direction="forward", layer_p=0.18, style_p=0.15):
    p = {"direction": direction, "pace": _pace(rng)}
    r = rng.random()
    if r < layer_p:
        p["layer"] = draw_layer(rng)
    elif r < layer_p + style_p and direction == "forward":
        p["style"] = styles.draw_style(rng)
        p["pace"] = "normal"  # the style sets the speed
    elif r < layer_p + style_p + 0.12:
        p["distance"] = int(rng.integers(1, 6)) if direction == "forward" else int(rng.integers(1, 3))
    return p


def _walk_for(rng, T, p, mods):
    sub = int(rng.integers(2 ** 31))
    return lambda n: gaits.locomotion(np.random.default_rng(sub), n, "walk", p["pace"], p["direction"], mods=mods)


def build_walk(rng, p):
    d, pace = p["direction"], p["pace"]
    T = int(rng.integers(60, 130)) if d == "forward" else int(rng.integers(50, 100))
    made = make_layer(rng, p.get("layer"))
    T = max(T, layer_frames(made))
    style = p.get("style")
    make = _walk_for(rng, T, p, styles.gait_mods(style))
    if p.get("distance"):
        # Walk a first guess, measure how far it goes, and stretch the walk to the distance asked.
        speed = {"slow": 0.65, "normal": 1.05, "fast": 1.4}[pace] * (0.75 if d == "backward" else 1.0)
        T = int(np.clip(p["distance"] / speed * 20 + 24, 40, 180))
        got = float(np.linalg.norm(solve(make(T))[-1, 0, [0, 2]]))
        T = int(np.clip(24 + (T - 24) * p["distance"] / max(got, 0.1), 40, 180))
    c = make(T)
    c = styles.apply_style(rng, c, style)
    c, layer = place_layer(rng, c, made)
    rec = dict(type="walk", direction=d, pace=pace)
    for k in ("style", "distance"):
        if p.get(k):
            rec[k] = p[k]
    if layer:
        rec["layer"] = layer
    c.actions = [rec]
    return c


def draw_sidestep(rng, posture):
    return {"direction": _pick(rng, SIDES), "pace": _pace(rng, (0.3, 0.55, 0.15))}


def build_sidestep(rng, p):
    c = gaits.sidestep(rng, int(rng.integers(50, 100)), p["direction"], p["pace"])
    c.actions = [dict(type="walk", direction=p["direction"], pace=p["pace"])]
    return c


def draw_jog(rng, posture, kind="jog"):
    p = {"pace": "fast" if kind == "run" and rng.random() < 0.3 else "normal"}
    r = rng.random()
    if kind == "jog" and r < 0.15:
        p["layer"] = draw_layer(rng)
    elif r < 0.27:
        p["style"] = _pick(rng, ("happy", "angry"))
    return p


def _build_run(kind):
    def build(rng, p):
        made = make_layer(rng, p.get("layer"))
        T = max(int(rng.integers(50, 110)), layer_frames(made))
        style = p.get("style")
        c = gaits.locomotion(rng, T, kind, p["pace"], "forward", ramp=(10, 10), mods=styles.gait_mods(style))
        c = styles.apply_style(rng, c, style)
        c, layer = place_layer(rng, c, made)
        rec = dict(type=kind, direction="forward", pace=p["pace"])
        if style:
            rec["style"] = style
        if layer:
            rec["layer"] = layer
        c.actions = [rec]
        return c
    return build


def draw_march(rng, posture):
    r = rng.random()
    return {"layer": draw_layer(rng)} if r < 0.2 else {"style": "proud"} if r < 0.3 else {}


def build_march(rng, p):
    made = make_layer(rng, p.get("layer"))
    T = max(int(rng.integers(50, 100)), layer_frames(made))
    c = gaits.march(rng, T)
    c = styles.apply_style(rng, c, p.get("style"))
    c, layer = place_layer(rng, c, made)
    rec = dict(type="march")
    if p.get("style"):
        rec["style"] = p["style"]
    if layer:
        rec["layer"] = layer
    c.actions = [rec]
    return c


def draw_stand(rng, posture):
    return {}


def build_stand(rng, p):
    c = gestures.idle(rng, int(rng.integers(30, 70)))
    c.actions = [dict(type="stand")]
    return c


# ---------------------------------------------------------------- turns and circles

def draw_turn(rng, posture, spin=False):
    deg = 360 if spin else _pick(rng, TURN_DEGREES, (0.12, 0.38, 0.12, 0.28, 0.1))
    return {"direction": _pick(rng, SIDES), "degrees": int(deg)}


def build_turn(rng, p):
    deg, side = p["degrees"], p["direction"]
    lo, hi = {45: (16, 26), 90: (22, 40), 135: (28, 44), 180: (30, 50), 270: (34, 52), 360: (30, 48)}[deg]
    c = gaits.march(rng, int(rng.integers(lo, hi)), knee_lift=rng.uniform(0.45, 0.65),
                    yaw_total=np.radians(deg) * (1 if side == "left" else -1), ramp=(5, 5), cadence=rng.uniform(1.0, 1.3))
    c.actions = [dict(type="turn", direction=side, degrees=deg, walking=False)]
    return c


def draw_walk_turn(rng, posture):
    return {"direction": _pick(rng, SIDES), "pace": _pace(rng, (0.2, 0.6, 0.2)), "degrees": 90 if rng.random() < 0.75 else 180}


def build_walk_turn(rng, p):
    side, deg = p["direction"], p["degrees"]
    a = rng.uniform(0.3, 0.45)
    c = gaits.locomotion(rng, int(rng.integers(80, 140)), "walk", p["pace"], "forward",
                         yaw_total=np.radians(deg) * (1 if side == "left" else -1),
                         turn_span=(a, a + rng.uniform(0.2, 0.3) * (1.5 if deg == 180 else 1.0)))
    c.actions = [dict(type="turn", direction=side, degrees=deg, walking=True, pace=p["pace"])]
    return c


def draw_circle(rng, posture):
    back = rng.random() < 0.25
    return {"direction": _pick(rng, SIDES), "pace": _pace(rng, (0.3, 0.6, 0.1) if not back else (0.5, 0.5, 0.0)),
            "backward": bool(back)}


def build_circle(rng, p):
    side, back = p["direction"], p.get("backward", False)
    T = int(rng.integers(120, 180)) if not back else int(rng.integers(140, 190))
    c = gaits.locomotion(rng, T, "walk", p["pace"], "backward" if back else "forward",
                         yaw_total=2 * np.pi * (1 if side == "left" else -1), turn_span=(0.05, 0.95))
    rec = dict(type="circle", direction=side, pace=p["pace"], degrees=360)
    if back:
        rec["backward"] = True
    c.actions = [rec]
    return c


# ---------------------------------------------------------------- jumps and hops

def draw_jump(rng, posture):
    d = _pick(rng, ("in_place", "forward", "backward", "left", "right"), (0.4, 0.3, 0.1, 0.1, 0.1))
    count = int(rng.choice([1, 1, 2, 3, 4])) if d == "in_place" else int(rng.choice([1, 1, 2, 3]))
    p = {"direction": d, "count": count}
    if rng.random() < 0.2:
        p["height"] = _pick(rng, ("low", "high"))
    return p


def build_jump(rng, p):
    return jumps.jump(rng, count=p["count"], direction=p["direction"], height=p.get("height"))


def draw_hop(rng, posture):
    return {"side": _pick(rng, SIDES), "count": int(rng.integers(2, 6))}


def build_hop(rng, p):
    c = gaits.hop(rng, p["side"], p["count"])
    c.actions = [dict(type="hop", side=p["side"], count=p["count"])]
    return c


def draw_jacks(rng, posture):
    return {"count": int(rng.integers(2, 6))}


# ---------------------------------------------------------------- postures and gestures

def draw_count(lo, hi, p=None):
    def draw(rng, posture):
        return {"count": int(rng.choice(np.arange(lo, hi + 1), p=p))}
    return draw


def draw_bow(rng, posture):
    r = rng.random()
    return {"depth": "deep"} if r < 0.2 else {"depth": "slight"} if r < 0.35 else {}


def draw_side3(rng, posture):
    return {"side": _pick(rng, ("left", "right", "both"), (0.4, 0.4, 0.2))}


def draw_side_count(lo, hi, sides=SIDES):
    def draw(rng, posture):
        return {"side": _pick(rng, sides), "count": int(rng.integers(lo, hi + 1))}
    return draw


def draw_hand(rng, posture):
    return {"side": "right" if rng.random() < 0.65 else "left"}


def _gesture(kind):
    def build(rng, p):
        return gestures.gesture_clip(rng, kind, p.get("side", "right"), count=p.get("count"))
    return build


def _layer_fn(kind):
    def layer(rng, p):
        fn = {"wave": gestures.wave, "raise": gestures.raise_arms, "clap": gestures.clap, "punch": gestures.punch}[kind]
        if kind == "clap":
            out = fn(rng, p.get("count"))
            return out[0], out[1], out[2], dict(out[3], side="both")
        args = (rng, p.get("side", "right")) + ((p.get("count"),) if kind in ("wave", "punch") else ())
        target, weight, T, info = fn(*args)
        return target, weight, T, dict(info, side=p.get("side", "right"))
    return layer


S2, S3 = {"side": SIDES}, {"side": ("left", "right", "both")}
register(
    Action("stand", "locomotion", 0.4, draw_stand, build_stand),
    Action("walk", "locomotion", 2.6, draw_walk, build_walk,
           attrs={"pace": ("slow", "fast"), "direction": ("forward", "backward"), "layer.side": SIDES,
                  "distance": (1, 2, 3, 4, 5), "style": styles.STYLES}),
    # no distance: a walk stretched to one would cut the layer short of what its caption says
    Action("walk_wave", "locomotion", 0.5, lambda r, s: {**{k: v for k, v in draw_walk(r, s, layer_p=0.0, style_p=0.0)
                                                            .items() if k != "distance"},
                                                         "layer": draw_layer(r)}, build_walk,
           attrs={"pace": ("slow", "fast"), "layer.side": SIDES}),
    Action("walk_back", "locomotion", 0.9, lambda r, s: draw_walk(r, s, "backward"), build_walk,
           attrs={"pace": ("slow", "fast"), "direction": ("forward", "backward")}),
    Action("sidestep", "locomotion", 0.9, draw_sidestep, build_sidestep, attrs={"direction": SIDES, "pace": ("slow", "fast")}),
    Action("jog", "locomotion", 1.0, draw_jog, _build_run("jog"), attrs={"layer.side": SIDES}),
    Action("run", "locomotion", 0.9, lambda r, s: draw_jog(r, s, "run"), _build_run("run"), attrs={"pace": ("normal", "fast")}),
    Action("march", "locomotion", 0.5, draw_march, build_march, attrs={"layer.side": SIDES}),
    Action("turn", "paths", 1.4, draw_turn, build_turn,
           attrs={"direction": SIDES, "degrees": TURN_DEGREES}),
    Action("spin", "paths", 0.4, lambda r, s: draw_turn(r, s, spin=True), build_turn, attrs={"direction": SIDES}),
    Action("walk_turn", "paths", 0.9, draw_walk_turn, build_walk_turn, attrs={"direction": SIDES, "degrees": (90, 180)}),
    Action("circle", "paths", 0.8, draw_circle, build_circle, attrs={"direction": SIDES}),
    Action("jump", "jumps", 1.3, draw_jump, build_jump,
           attrs={"count": (1, 2, 3, 4), "direction": ("in_place", "forward", "backward", "left", "right"),
                  "height": ("low", "high")}),
    Action("hop", "jumps", 0.6, draw_hop, build_hop, attrs={"side": SIDES, "count": (2, 3, 4, 5)}),
    Action("jumping_jacks", "jumps", 0.5, draw_jacks, lambda r, p: jumps.jumping_jacks(r, p["count"]),
           attrs={"count": (2, 3, 4, 5)}),
    Action("squat", "balance", 0.8, draw_count(1, 5, (0.3, 0.3, 0.2, 0.1, 0.1)),
           lambda r, p: gestures.squat(r, p["count"]), attrs={"count": (1, 2, 3, 4, 5)}),
    Action("crouch", "balance", 0.5, draw_stand, lambda r, p: gestures.crouch(r)),
    Action("bow", "upper", 0.6, draw_bow, lambda r, p: gestures.bow(r, p.get("depth")), attrs={"depth": ("slight", "deep")}),
    Action("wave", "gestures", 1.3, lambda r, s: {**draw_side3(r, s), "count": int(r.integers(2, 6))}, _gesture("wave"),
           attrs={"side": ("left", "right", "both"), "count": (2, 3, 4, 5)}, layer_build=_layer_fn("wave")),
    Action("raise", "gestures", 0.8, draw_side3, _gesture("raise"), attrs=S3, layer_build=_layer_fn("raise")),
    Action("clap", "gestures", 0.8, draw_count(2, 6), _gesture("clap"), attrs={"count": (2, 3, 4, 5, 6)},
           layer_build=_layer_fn("clap")),
    Action("punch", "sports", 0.8, draw_side_count(1, 4), _gesture("punch"), attrs={"side": SIDES, "count": (1, 2, 3, 4)},
           layer_build=_layer_fn("punch")),
    Action("kick", "balance", 0.8, draw_side_count(1, 2), lambda r, p: gestures.kick(r, p["side"], p["count"]),
           attrs={"side": SIDES, "count": (1, 2)}),
    Action("throw", "sports", 0.6, draw_hand, lambda r, p: gestures.throw(r, p["side"]), attrs=S2),
    Action("pick_up", "upper", 0.6, draw_hand, lambda r, p: gestures.pick_up(r, p["side"]), attrs=S2),
)

__all__ = ["LAYERS", "draw_layer", "make_layer", "place_layer", "layer_frames", "PACES", "SIDES"]
