"""Walking paths: zigzags, squares, figure eights, diagonal walks and pacing back and forth.

The legs walk as in :func:`gaits.locomotion`; the path comes from the heading alone (the body is
carried by its planted feet, so a turning heading bends the path). Headings are drawn as smooth
step profiles: straight stretches joined by turns of about half a second.
"""

from __future__ import annotations

import numpy as np

from . import gaits
from .pose import smoothstep
from .registry import Action, register
from .solve import FPS

SIDES = ("left", "right")


def _f(rng, lo, hi):
    return int(rng.integers(lo, hi + 1))


def heading_profile(T: int, keys) -> np.ndarray:
    """``(T,)`` heading in degrees through ``keys`` = [(frame, degrees), ...], eased between keys."""
    t = np.arange(T, dtype=float)
    out = np.full(T, float(keys[0][1]))
    for (f0, v0), (f1, v1) in zip(keys[:-1], keys[1:]):
        w = smoothstep((t - f0) / max(f1 - f0, 1e-6))
        out = np.where(t >= f0, v0 + (v1 - v0) * w, out)
    return out


def _walk(rng, T, pace, heading):
    c = gaits.locomotion(rng, T, "walk", pace, "forward")
    c.yaw_rate = np.append(np.diff(np.radians(heading)), 0.0)
    return c


def build_zigzag(rng, p):
    sg = 1.0 if p["direction"] == "left" else -1.0
    n = p["count"]
    seg, turn = _f(rng, 20, 26), _f(rng, 8, 11)
    theta = rng.uniform(35, 50)
    lead = 14
    T = lead + n * seg + 14
    keys = [(0, 0.0), (lead, 0.0)]
    t = lead
    for i in range(n):
        target = sg * theta * (1 if i % 2 == 0 else -1) * (0.5 if i == 0 else 1.0)
        keys += [(t + turn, target), (t + seg, target)]
        t += seg
    keys += [(t + turn, 0.0)]
    c = _walk(rng, T, "normal", heading_profile(T, keys))
    c.actions = [dict(type="zigzag", direction=p["direction"], count=n)]
    return c


def build_square(rng, p):
    sg = 1.0 if p["direction"] == "left" else -1.0
    side_f, corner = _f(rng, 22, 28), _f(rng, 10, 14)
    lead = 12
    T = lead + 4 * side_f + 4 * corner + 10
    keys = [(0, 0.0), (lead + side_f, 0.0)]
    t = lead + side_f
    for i in range(1, 5):
        keys += [(t + corner, sg * 90 * i)]
        t += corner
        if i < 4:
            keys += [(t + side_f, sg * 90 * i)]
            t += side_f
    c = _walk(rng, T, "slow" if rng.random() < 0.5 else "normal", heading_profile(T, keys))
    c.actions = [dict(type="square", direction=p["direction"], degrees=360)]
    return c


def build_figure_eight(rng, p):
    sg = 1.0 if p["direction"] == "left" else -1.0
    loop = _f(rng, 68, 80)
    lead = 12
    T = lead + 2 * loop + 12
    keys = [(0, 0.0), (lead, 0.0), (lead + loop, sg * 360.0), (lead + 2 * loop, 0.0)]
    t = np.arange(T, dtype=float)
    # Constant turning within each loop (a circle), reversing at the crossing point.
    heading = np.interp(t, [k[0] for k in keys], [k[1] for k in keys])
    ease = smoothstep(np.clip((t - lead + 8) / 16, 0, 1)) * smoothstep(np.clip((lead + 2 * loop + 8 - t) / 16, 0, 1))
    heading = np.cumsum(np.append(0.0, np.diff(heading)) * ease)
    c = _walk(rng, T, "normal", heading)
    c.actions = [dict(type="figure_eight", direction=p["direction"])]
    return c


def build_diagonal(rng, p):
    sg = 1.0 if p["direction"] == "left" else -1.0
    T = _f(rng, 70, 120)
    ang = rng.uniform(40, 50)
    h = heading_profile(T, [(0, 0.0), (6, 0.0), (20, sg * ang)])
    c = _walk(rng, T, p["pace"], h)
    c.actions = [dict(type="diagonal", direction=p["direction"], pace=p["pace"])]
    return c


def build_pace(rng, p):
    sg = 1.0 if rng.random() < 0.5 else -1.0
    leg_f, turn = _f(rng, 28, 40), _f(rng, 16, 20)
    n = p["count"]
    lead = 12
    T = lead + n * leg_f + (n - 1) * turn + 12
    keys = [(0, 0.0), (lead + leg_f, 0.0)]
    t = lead + leg_f
    for i in range(1, n):
        keys += [(t + turn, sg * 180.0 * i)]
        t += turn
        keys += [(t + leg_f, sg * 180.0 * i)]
        t += leg_f
    c = _walk(rng, T, "normal", heading_profile(T, keys))
    c.actions = [dict(type="pace", count=n)]
    return c


def _d(**spec):
    def draw(rng, posture):
        return {k: v[int(rng.integers(len(v)))] for k, v in spec.items()}
    return draw


register(
    Action("zigzag", "paths", 0.6, _d(direction=SIDES, count=(3, 4, 5)), build_zigzag, attrs={"direction": SIDES}),
    Action("square", "paths", 0.4, _d(direction=SIDES), build_square, attrs={"direction": SIDES}),
    Action("figure_eight", "paths", 0.4, _d(direction=SIDES), build_figure_eight, attrs={"direction": SIDES}),
    Action("diagonal", "paths", 0.5, _d(direction=SIDES, pace=("slow", "normal", "normal", "fast")), build_diagonal,
           attrs={"direction": SIDES}),
    # there and back once: the captions ("walks away and comes back") name no count of legs
    Action("pace", "paths", 0.4, _d(count=(2,)), build_pace),
)

__all__ = ["heading_profile"]
