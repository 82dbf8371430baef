"""Draw a sequence of 1-3 actions, build their clips, blend them and caption the result."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from . import gaits, gestures, jumps
from .captions import captions_for
from ...motion.rotations import qmul
from .clip import Clip, concat_blend
from .pose import euler
from .solve import solve

# HumanML3D's loader drops motions with fewer than 40 *feature* frames (one less than joint
# frames) or 200 or more, so every motion gets 44..196 joint frames (2.2-9.8 s).
MIN_FRAMES, MAX_FRAMES = 44, 196

# Relative frequency of each action kind (before a sequence's constraints).
ACTION_WEIGHTS = {
    "stand": 0.5, "walk": 3.0, "walk_back": 1.0, "sidestep": 1.0, "jog": 1.0, "run": 1.0, "turn": 1.5,
    "walk_turn": 1.2, "circle": 0.8, "spin": 0.6, "jump": 1.2, "hop": 0.7, "squat": 0.9, "crouch": 0.7,
    "sit": 1.0, "wave": 1.5, "raise": 1.0, "clap": 0.9, "punch": 1.0, "kick": 1.0, "bow": 0.7,
    "march": 0.7, "walk_wave": 0.8, "jumping_jacks": 0.6, "throw": 0.7, "pick_up": 0.7,
}
ACTION_TYPES = tuple(ACTION_WEIGHTS)


@dataclass
class SynthSample:
    """One generated motion.

    Attributes:
        joints: ``(T, 22, 3)`` float32 joint positions in metres at 20 fps (Y up, starts
            facing +Z near the origin).
        captions: paraphrased descriptions of the whole motion.
        actions: machine-readable records, one per action, with ``type`` and ``start`` /
            ``end`` frames, plus ``side``, ``direction``, ``pace``, ``count``, ``degrees``
            where they apply.
        scale: body height scale used.
        contact: ``(T, 2)`` planned left/right foot contact weights in [0, 1].
        name: optional sample name.
    """

    joints: np.ndarray
    captions: list
    actions: list
    scale: float = 1.0
    contact: np.ndarray | None = None
    name: str = ""
    extra: dict = field(default_factory=dict)


def _side(rng):
    return "left" if rng.random() < 0.5 else "right"


def _pace(rng, probs=(0.3, 0.45, 0.25)):
    return ("slow", "normal", "fast")[int(rng.choice(3, p=probs))]


def build_action(rng, kind: str) -> Clip:
    """Draw the parameters of one action of ``kind`` and build its clip (with its record)."""
    if kind == "stand":
        T = int(rng.integers(30, 70))
        c = gestures.idle(rng, T)
        c.actions = [dict(type="stand")]
    elif kind in ("walk", "walk_back", "walk_wave"):
        pace = _pace(rng)
        d = "backward" if kind == "walk_back" else "forward"
        T = int(rng.integers(60, 130)) if d == "forward" else int(rng.integers(50, 100))
        c = gaits.locomotion(rng, T, "walk", pace, d)
        c.actions = [dict(type="walk", direction=d, pace=pace)]
        if kind == "walk_wave":
            g = "wave" if rng.random() < 0.75 else "raise"
            side = ("left", "right", "both")[int(rng.choice(3, p=(0.4, 0.45, 0.15)))]
            layer, w, Tl, info = (gestures.wave(rng, side) if g == "wave" else gestures.raise_arms(rng, side))
            off = int(rng.integers(5, max(6, T - Tl))) if T > Tl + 6 else 0
            Tl = min(Tl, T - off)
            full = {j: np.tile(np.array([1.0, 0, 0, 0]), (T, 1)) for j in layer}
            weight = np.zeros(T)
            for j, v in layer.items():
                full[j][off:off + Tl] = v[:Tl]
            weight[off:off + Tl] = w[:Tl]
            c = gestures.apply_layer(c, full, weight)
            c.actions = [dict(type="walk", direction=d, pace=pace,
                              layer=dict(type=g, side=side, start=off, end=off + Tl, **info))]
    elif kind == "sidestep":
        side, pace = _side(rng), _pace(rng, (0.3, 0.55, 0.15))
        c = gaits.sidestep(rng, int(rng.integers(50, 100)), side, pace)
        c.actions = [dict(type="walk", direction=side, pace=pace)]
    elif kind in ("jog", "run"):
        pace = "fast" if kind == "run" and rng.random() < 0.3 else "normal"
        c = gaits.locomotion(rng, int(rng.integers(50, 110)), kind, pace, "forward", ramp=(10, 10))
        c.actions = [dict(type=kind, direction="forward", pace=pace)]
    elif kind in ("turn", "spin"):
        side = _side(rng)
        deg = 360 if kind == "spin" else (90 if rng.random() < 0.6 else 180)
        T = int({90: rng.integers(22, 40), 180: rng.integers(30, 50), 360: rng.integers(30, 48)}[deg])
        c = gaits.march(rng, T, knee_lift=rng.uniform(0.45, 0.65), yaw_total=np.radians(deg) * (1 if side == "left" else -1),
                        ramp=(5, 5), cadence=rng.uniform(1.0, 1.3))
        c.actions = [dict(type="turn", direction=side, degrees=deg, walking=False)]
    elif kind == "walk_turn":
        side, pace = _side(rng), _pace(rng, (0.2, 0.6, 0.2))
        deg = 90 if rng.random() < 0.75 else 180
        T = int(rng.integers(80, 140))
        a = rng.uniform(0.3, 0.45)
        c = gaits.locomotion(rng, T, "walk", pace, "forward", yaw_total=np.radians(deg) * (1 if side == "left" else -1),
                             turn_span=(a, a + rng.uniform(0.2, 0.3) * (1.5 if deg == 180 else 1.0)))
        c.actions = [dict(type="turn", direction=side, degrees=deg, walking=True, pace=pace)]
    elif kind == "circle":
        side, pace = _side(rng), _pace(rng, (0.3, 0.6, 0.1))
        T = int(rng.integers(120, 180))
        c = gaits.locomotion(rng, T, "walk", pace, "forward", yaw_total=2 * np.pi * (1 if side == "left" else -1),
                             turn_span=(0.05, 0.95))
        c.actions = [dict(type="circle", direction=side, pace=pace, degrees=360)]
    elif kind == "jump":
        fwd = rng.random() < 0.45
        c = jumps.jump(rng, fwd, int(rng.choice([1, 1, 2, 3])) if not fwd else int(rng.choice([1, 1, 2])))
    elif kind == "hop":
        side = _side(rng)
        count = int(rng.integers(2, 6))
        c = gaits.hop(rng, side, count)
        c.actions = [dict(type="hop", side=side, count=count)]
    elif kind in ("squat", "crouch", "sit", "bow"):
        c = {"squat": gestures.squat, "crouch": gestures.crouch, "sit": gestures.sit_floor, "bow": gestures.bow}[kind](rng)
    elif kind == "march":
        c = gaits.march(rng, int(rng.integers(50, 100)))
        c.actions = [dict(type="march")]
    elif kind in ("wave", "raise", "punch"):
        side = ("left", "right", "both")[int(rng.choice(3, p=(0.4, 0.4, 0.2)))] if kind != "punch" else _side(rng)
        c = gestures.gesture_clip(rng, kind, side)
    elif kind == "clap":
        c = gestures.gesture_clip(rng, "clap")
    elif kind == "kick":
        c = gestures.kick(rng, _side(rng))
    elif kind == "jumping_jacks":
        c = jumps.jumping_jacks(rng, int(rng.integers(2, 7)))
    elif kind in ("throw", "pick_up"):
        c = (gestures.throw if kind == "throw" else gestures.pick_up)(rng, "right" if rng.random() < 0.65 else "left")
    else:
        raise ValueError(f"unknown action kind {kind!r}; choose one of {', '.join(ACTION_TYPES)}")
    for a in c.actions:
        a.setdefault("start", 0)
        a.setdefault("end", c.T)
        a["kind"] = kind
    return c


def draw_kinds(rng, n: int) -> list[str]:
    """``n`` action kinds; sitting only ends a sequence, no immediate repeats."""
    names = list(ACTION_WEIGHTS)
    p = np.array([ACTION_WEIGHTS[k] for k in names])
    out = []
    for i in range(n):
        q = p.copy()
        for j, k in enumerate(names):
            if (k == "sit" and i < n - 1) or (out and k == out[-1]) or (k == "stand" and n == 1 and rng.random() < 0.5):
                q[j] = 0.0
        out.append(names[int(rng.choice(len(names), p=q / q.sum()))])
    return out


def synthesize_sample(rng=0, kinds: list[str] | None = None, n_captions: int = 3, name: str = "") -> SynthSample:
    """Generate one motion with its captions.

    Args:
        rng: a ``numpy.random.Generator`` or an int seed.
        kinds: force the action kinds (see ``ACTION_TYPES``); drawn when None.
        n_captions: paraphrases per motion.

    Returns:
        :class:`SynthSample` with ``joints (T, 22, 3)``, 40 <= T <= 196.
    """
    if not isinstance(rng, np.random.Generator):
        rng = np.random.default_rng(rng)
    if kinds is None:
        n = int(rng.choice([1, 2, 3], p=[0.45, 0.35, 0.2]))
        kinds = draw_kinds(rng, n)
    clips, blends = [], []
    total = 0
    for k in kinds:
        c = build_action(rng, k)
        blend = int(rng.integers(6, 13))  # 0.3-0.6 s
        extra = c.T - (blend if clips else 0)
        if clips and total + extra > MAX_FRAMES:
            break
        if not clips and c.T > MAX_FRAMES:
            c = _trim(c, MAX_FRAMES)
        if clips:
            blends.append(blend)
        clips.append(c)
        total += extra
    clip, _ = concat_blend(clips, blends)
    if clip.T < MIN_FRAMES:  # pad with standing (before or after) so every motion lasts long enough
        pad = gestures.idle(rng, MIN_FRAMES - clip.T + 8 + int(rng.integers(0, 10)))
        pad.actions = []
        clip, _ = concat_blend([clip, pad] if rng.random() < 0.6 else [pad, clip], [8])
    if clip.T > MAX_FRAMES:
        clip = _trim(clip, MAX_FRAMES)
    clip = _add_life(rng, clip)
    scale = float(rng.uniform(0.9, 1.1))
    joints, contact = solve(clip, scale, return_contact=True)
    actions = [a for a in clip.actions if a["start"] < clip.T]
    for a in actions:
        a["end"] = int(min(a["end"], clip.T))
        a["start"] = int(a["start"])
        _to_sequence_frames(a)
    caps = captions_for(rng, actions, n_captions)
    return SynthSample(joints=joints, captions=caps, actions=actions, scale=scale,
                       contact=contact.astype(np.float32), name=name)


# Upper-body joints that get a little slow random motion (degrees of noise amplitude).
_LIFE_JOINTS = {3: 1.5, 6: 1.5, 9: 1.5, 12: 4.0, 13: 1.5, 14: 1.5, 16: 3.0, 17: 3.0, 18: 3.0, 19: 3.0}


def _smooth_noise(rng, T, n, every=12):
    """``(T, n)`` smooth random curves in [-1, 1]-ish: random knots every ``every`` frames, eased."""
    knots = rng.uniform(-1.0, 1.0, size=(T // every + 3, n))
    x = np.arange(T) / every
    i = np.floor(x).astype(int)
    u = x - i
    u = u * u * (3 - 2 * u)
    return knots[i] * (1 - u)[:, None] + knots[i + 1] * u[:, None]


def _add_life(rng, clip: Clip) -> Clip:
    """Small slow wobble of trunk, head and arms so no two motions are mechanically identical."""
    T = clip.T
    q = clip.rot.copy()
    noise = _smooth_noise(rng, T, 3 * len(_LIFE_JOINTS), every=int(rng.integers(8, 16)))
    for k, (j, amp) in enumerate(_LIFE_JOINTS.items()):
        n = noise[:, 3 * k:3 * k + 3] * amp
        q[:, j] = qmul(q[:, j], euler(x=n[:, 0], y=n[:, 1] * (2.0 if j == 12 else 1.0), z=n[:, 2]))
    return Clip(q, clip.yaw_rate, clip.contact, clip.air_vel, clip.actions)


_FRAME_KEYS = ("hits", "bottoms", "seated", "bottom", "low", "flights", "lifted")


def _to_sequence_frames(a: dict) -> None:
    """Shift a record's clip-relative frame fields by its start frame (in place)."""
    off = a["start"]
    shift = lambda v: [shift(x) for x in v] if isinstance(v, (list, tuple)) else int(v) + off
    for k in _FRAME_KEYS:
        if k in a:
            a[k] = shift(a[k])
    if "layer" in a:
        a["layer"] = dict(a["layer"], start=a["layer"]["start"] + off, end=a["layer"]["end"] + off)


def _trim(c: Clip, n: int) -> Clip:
    return Clip(c.rot[:n], c.yaw_rate[:n], c.contact[:n], c.air_vel[:n],
                [dict(a, end=min(a["end"], n)) for a in c.actions if a["start"] < n])
