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


@dataclass(frozen=True)
class SynthConfig:
    """What the synthesiser draws (the defaults make the built-in dataset).

    Attributes:
        min_frames: shortest motion in frames at 20 fps (padded with standing); at least 41 so
            HumanML3D's loader (40 feature frames minimum) keeps every motion.
        max_frames: longest motion in frames (HumanML3D's limit is 196 = 9.8 s).
        sequence_probs: probability of 1, 2, 3, ... actions in one motion.
        action_weights: relative frequency per action kind (``None``: ``ACTION_WEIGHTS``).
        scale_range: body height scale drawn uniformly from this range.
        n_captions: paraphrased captions per motion.
    """

    min_frames: int = MIN_FRAMES
    max_frames: int = MAX_FRAMES
    sequence_probs: tuple = (0.45, 0.35, 0.2)
    action_weights: dict | None = None
    scale_range: tuple = (0.9, 1.1)
    n_captions: int = 3

    def __post_init__(self):
        if not 20 <= self.min_frames <= self.max_frames - 20:
            raise ValueError(f"min_frames must be between 20 and max_frames - 20, got {self.min_frames}")
        if not 40 <= self.max_frames <= 196:
            raise ValueError(f"max_frames must be between 40 and 196 (9.8 s at 20 fps), got {self.max_frames}")
        probs = np.asarray(self.sequence_probs, dtype=float)
        if probs.ndim != 1 or len(probs) == 0 or (probs < 0).any() or abs(probs.sum() - 1) > 1e-6:
            raise ValueError(f"sequence_probs must be non-negative and sum to 1, got {self.sequence_probs}")
        w = self.action_weights
        if w is not None:
            unknown = sorted(set(w) - set(ACTION_TYPES))
            if unknown:
                raise ValueError(f"unknown action kinds {unknown}; choose from {', '.join(ACTION_TYPES)}")
            if any(v < 0 for v in w.values()) or sum(w.values()) <= 0:
                raise ValueError("action_weights must be non-negative with a positive sum")
        lo, hi = self.scale_range
        if not 0.5 <= lo <= hi <= 2.0:
            raise ValueError(f"scale_range must satisfy 0.5 <= low <= high <= 2, got {self.scale_range}")
        if self.n_captions < 1:
            raise ValueError(f"n_captions must be at least 1, got {self.n_captions}")

    @property
    def weights(self) -> dict:
        return dict(ACTION_WEIGHTS if self.action_weights is None else self.action_weights)


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


def draw_kinds(rng, n: int, weights: dict | None = None) -> list[str]:
    """``n`` action kinds; sitting only ends a sequence, no immediate repeats."""
    weights = ACTION_WEIGHTS if weights is None else weights
    names = list(weights)
    p = np.array([weights[k] for k in names], dtype=float)
    out = []
    for i in range(n):
        q = p.copy()
        for j, k in enumerate(names):
            if (k == "sit" and i < n - 1) or (out and k == out[-1]) or (k == "stand" and n == 1 and rng.random() < 0.5):
                q[j] = 0.0
        if q.sum() <= 0:  # e.g. only one kind allowed and it cannot repeat: allow the repeat
            q = p.copy()
        out.append(names[int(rng.choice(len(names), p=q / q.sum()))])
    return out


def synthesize_sample(rng=0, kinds: list[str] | None = None, n_captions: int | None = None, name: str = "",
                      config: SynthConfig | None = None) -> SynthSample:
    """Generate one motion with its captions.

    Args:
        rng: a ``numpy.random.Generator`` or an int seed.
        kinds: force the action kinds (see ``ACTION_TYPES``); drawn when None.
        n_captions: paraphrases per motion (overrides ``config.n_captions``).
        name: stored on the sample.
        config: what to draw (defaults: the built-in dataset's :class:`SynthConfig`).

    Returns:
        :class:`SynthSample` with ``joints (T, 22, 3)``, ``min_frames <= T <= max_frames``.
    """
    cfg = config or SynthConfig()
    n_captions = cfg.n_captions if n_captions is None else int(n_captions)
    if not isinstance(rng, np.random.Generator):
        rng = np.random.default_rng(rng)
    if kinds is None:
        probs = np.asarray(cfg.sequence_probs, dtype=float)
        n = int(rng.choice(np.arange(1, len(probs) + 1), p=probs))
        kinds = draw_kinds(rng, n, cfg.weights)
    clips, blends = [], []
    total = 0
    for k in kinds:
        c = build_action(rng, k)
        blend = int(rng.integers(6, 13))  # 0.3-0.6 s
        extra = c.T - (blend if clips else 0)
        if clips and total + extra > cfg.max_frames:
            break
        if not clips and c.T > cfg.max_frames:
            c = _trim(c, cfg.max_frames)
        if clips:
            blends.append(blend)
        clips.append(c)
        total += extra
    clip, _ = concat_blend(clips, blends)
    if clip.T < cfg.min_frames:  # pad with standing (before or after) so every motion lasts long enough
        pad = gestures.idle(rng, cfg.min_frames - clip.T + 8 + int(rng.integers(0, 10)))
        pad.actions = []
        clip, _ = concat_blend([clip, pad] if rng.random() < 0.6 else [pad, clip], [8])
    if clip.T > cfg.max_frames:
        clip = _trim(clip, cfg.max_frames)
    clip = _add_life(rng, clip)
    scale = float(rng.uniform(*cfg.scale_range))
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
