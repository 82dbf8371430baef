"""Plan a sequence of 1-4 actions, build their clips, blend them and caption the result.

A motion is made in two steps: :func:`draw_plan` picks the actions and their parameters (a
plain dict: every action's kind, parameters and seed), and :func:`render_plan` builds the
motion from the plan. A near twin is the same plan with one attribute changed
(:func:`twin_plan`), so two twins share everything else: timing, body size, style noise.
Postures are tracked along the plan: an action that starts on the floor gets the transition
it needs first ("lies down, then does sit-ups"), a standing action after a floor one gets
"gets up".
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from . import basic, balance, floor, gestures, paths, sports, upper  # noqa: F401  (register actions)
from .captions import captions_for
from .clip import Clip, concat_blend
from .pose import euler
from .registry import REGISTRY, twin_attributes, vary
from .solve import solve
from ...motion.rotations import qmul

# HumanML3D's loader drops motions with fewer than 40 *feature* frames (one less than joint
# frames) or 200 or more, so every motion gets 44..196 joint frames (2.2-9.8 s).
MIN_FRAMES, MAX_FRAMES = 44, 196

# Relative frequency of each action kind (before a sequence's constraints).
ACTION_WEIGHTS = {k: a.weight for k, a in REGISTRY.items()}
ACTION_TYPES = tuple(ACTION_WEIGHTS)
FLOOR_START = 0.65  # chance that a motion whose first action starts on the floor begins there


@dataclass(frozen=True)
class SynthConfig:
    """What the synthesiser draws (the defaults make the built-in dataset).

    Attributes:
        min_frames: shortest motion in frames at 20 fps (padded by holding still); at least 41 so
            HumanML3D's loader (40 feature frames minimum) keeps every motion.
        max_frames: longest motion in frames (HumanML3D's limit is 196 = 9.8 s).
        sequence_probs: probability of 1, 2, 3, ... actions in one motion (transitions such as
            "gets up" count as actions).
        action_weights: relative frequency per action kind (``None``: ``ACTION_WEIGHTS``).
        scale_range: body height scale drawn uniformly from this range.
        n_captions: paraphrased captions per motion.
    """

    min_frames: int = MIN_FRAMES
    max_frames: int = MAX_FRAMES
    sequence_probs: tuple = (0.42, 0.3, 0.18, 0.1)
    action_weights: dict | None = None
    scale_range: tuple = (0.9, 1.1)
    n_captions: int = 3

    def __post_init__(self):
        if not 20 <= self.min_frames <= self.max_frames - 20:
            raise ValueError(f"min_frames must be between 20 and max_frames - 20, got {self.min_frames}")
        if not 40 <= self.max_frames <= 196:
            raise ValueError(f"max_frames must be between 40 and 196 (9.8 s at 20 fps), got {self.max_frames}")
        probs = np.asarray(self.sequence_probs, dtype=float)
        if probs.ndim != 1 or len(probs) == 0 or len(probs) > 4 or (probs < 0).any() or abs(probs.sum() - 1) > 1e-6:
            raise ValueError(f"sequence_probs must be 1-4 non-negative numbers summing to 1, got {self.sequence_probs}")
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
        plan: the plan the motion was rendered from (see :func:`draw_plan`).
    """

    joints: np.ndarray
    captions: list
    actions: list
    scale: float = 1.0
    contact: np.ndarray | None = None
    name: str = ""
    extra: dict = field(default_factory=dict)
    plan: dict | None = None


def _check_kind(kind: str):
    if kind not in REGISTRY:
        raise ValueError(f"unknown action kind {kind!r}; choose one of {', '.join(ACTION_TYPES)}")
    return REGISTRY[kind]


def build_action(rng, kind: str) -> Clip:
    """Draw the parameters of one action of ``kind`` (from its first start posture) and build its clip."""
    a = _check_kind(kind)
    clip = a.build(rng, a.draw(rng, a.starts[0]))
    for r in clip.actions:
        r.setdefault("start", 0)
        r.setdefault("end", clip.T)
        r["kind"] = kind
    return clip


def draw_kinds(rng, n: int, weights: dict | None = None) -> list[str]:
    """``n`` action kinds, no immediate repeats."""
    weights = ACTION_WEIGHTS if weights is None else weights
    names = list(weights)
    p = np.array([weights[k] for k in names], dtype=float)
    out = []
    for i in range(n):
        q = p.copy()
        for j, k in enumerate(names):
            if (out and k == out[-1]) or (k == "stand" and n == 1 and rng.random() < 0.5):
                q[j] = 0.0
        if q.sum() <= 0:  # e.g. only one kind allowed and it cannot repeat: allow the repeat
            q = p.copy()
        out.append(names[int(rng.choice(len(names), p=q / q.sum()))])
    return out


def _transition(rng, posture: str, target: str) -> list[tuple[str, dict]]:
    """Actions that take the body from ``posture`` to ``target`` (kind, params)."""
    if posture == target:
        return []
    if {posture, target} == {"supine", "prone"}:
        return [("roll_over", REGISTRY["roll_over"].draw(rng, posture))]
    if posture == "sit" and target == "supine":
        return [("lie_back", {"from": "sit"})]
    steps = [] if posture == "stand" else [("get_up", {"from": posture})]
    if target == "stand":
        return steps
    if target.startswith("kneel_one"):
        return steps + [("kneel", {"side": "left" if target.endswith("l") else "right"})]
    kind = floor.DOWN_TO[target]
    params = REGISTRY[kind].draw(rng, "stand")
    if kind == "plank":
        params["seconds"] = 1
    return steps + [(kind, params)]


def draw_plan(rng, config: SynthConfig | None = None, kinds: list[str] | None = None) -> dict:
    """Pick the actions of one motion and their parameters: ``{"steps": [{"kind", "params",
    "seed"}, ...], "seed": int}`` (at most four steps, transitions included)."""
    cfg = config or SynthConfig()
    if kinds is None:
        probs = np.asarray(cfg.sequence_probs, dtype=float)
        n = int(rng.choice(np.arange(1, len(probs) + 1), p=probs))
        kinds = draw_kinds(rng, n, cfg.weights)
    limit = max(4, len(kinds))
    steps: list = []
    posture = None
    for k in kinds:
        a = _check_kind(k)
        if posture is None:
            posture = "stand"
            if "stand" not in a.starts and (k == "get_up" or rng.random() < FLOOR_START):
                posture = a.starts[int(rng.integers(len(a.starts)))]
        if k == "get_up" and posture == "stand":
            continue
        pre = [] if posture in a.starts else _transition(rng, posture, a.starts[0])
        if steps and len(steps) + len(pre) + 1 > limit:
            break
        for kind, params in pre:
            steps.append({"kind": kind, "params": params, "seed": int(rng.integers(2 ** 31)), "auto": True})
            posture = REGISTRY[kind].end_posture(params)
        params = a.draw(rng, posture)
        steps.append({"kind": k, "params": params, "seed": int(rng.integers(2 ** 31))})
        posture = a.end_posture(params)
    return {"steps": steps, "seed": int(rng.integers(2 ** 31))}


def _refresh_postures(plan: dict) -> dict:
    """Re-derive the start posture parameters ("from") along a plan after a change."""
    posture = None
    steps = []
    for s in plan["steps"]:
        a = REGISTRY[s["kind"]]
        params = dict(s["params"])
        if "from" in params and posture is not None:
            params["from"] = posture
        steps.append(dict(s, params=params))
        posture = a.end_posture(params)
    return dict(plan, steps=steps)


def twin_plan(rng, plan: dict):
    """A near twin of ``plan``: one attribute of one action changed (side, count, degrees, pace,
    direction, style, ...) or two neighbouring standing actions swapped ("A then B" vs "B then A").

    Returns ``(plan, {"attribute", "step", "values"})`` or ``None`` when the plan has nothing
    to vary.
    """
    options = [(i, attr) for i, s in enumerate(plan["steps"]) for attr in twin_attributes(s["kind"], s["params"])]
    steps = plan["steps"]
    for i in range(len(steps) - 1):
        a, b = REGISTRY[steps[i]["kind"]], REGISTRY[steps[i + 1]["kind"]]
        if (steps[i]["kind"] != steps[i + 1]["kind"] and a.starts[0] == b.starts[0] == "stand"
                and a.end_posture(steps[i]["params"]) == b.end_posture(steps[i + 1]["params"]) == "stand"):
            options.append((i, "order"))
    if not options:
        return None
    i, attr = options[int(rng.integers(len(options)))]
    if attr == "order":
        new = list(steps)
        new[i], new[i + 1] = steps[i + 1], steps[i]
        info = {"attribute": "order", "step": i, "values": [steps[i]["kind"], steps[i + 1]["kind"]]}
        return dict(plan, steps=new), info
    params, old, value = vary(rng, steps[i]["kind"], steps[i]["params"], attr)
    new = list(steps)
    new[i] = dict(steps[i], params=params)
    info = {"attribute": attr, "step": i, "values": [old, value]}
    return _refresh_postures(dict(plan, steps=new)), info


def _hold(clip: Clip, n: int, at_end: bool) -> Clip:
    """``n`` frames holding the first or last pose of ``clip`` (for floor postures)."""
    rep = lambda x: np.repeat(x[-1:] if at_end else x[:1], n, 0)
    return Clip(rep(clip.rot), np.zeros(n), rep(clip.contact), np.full((n, 3), np.nan), [], rep(clip.support))


def render_plan(plan: dict, config: SynthConfig | None = None, n_captions: int | None = None,
                name: str = "") -> SynthSample:
    """Build the motion of ``plan`` (see :func:`draw_plan`)."""
    cfg = config or SynthConfig()
    n_captions = cfg.n_captions if n_captions is None else int(n_captions)
    rng = np.random.default_rng(plan["seed"])
    clips, blends = [], []
    total = 0
    auto_only = True  # everything so far was a transition the composer added
    for step in plan["steps"]:
        r = np.random.default_rng(step["seed"])
        a = _check_kind(step["kind"])
        c = a.build(r, step["params"])
        for rec in c.actions:
            rec.setdefault("start", 0)
            rec.setdefault("end", c.T)
            rec["kind"] = step["kind"]
        blend = int(r.integers(6, 13))  # 0.3-0.6 s
        extra = c.T - (blend if clips else 0)
        if clips and total + extra > cfg.max_frames:
            if not (auto_only and c.T <= cfg.max_frames):
                break
            clips, blends, extra, total = [], [], c.T, 0  # no room for the way down: start in the posture instead
        auto_only = auto_only and bool(step.get("auto"))
        if not clips and c.T > cfg.max_frames:
            c = _trim(c, cfg.max_frames)
        if clips:
            blends.append(blend)
        clips.append(c)
        total += extra
    clip, _ = concat_blend(clips, blends)
    if clip.T < cfg.min_frames:  # pad by holding still (before or after) so every motion lasts long enough
        n = cfg.min_frames - clip.T + 8 + int(rng.integers(0, 10))
        after = rng.random() < 0.6
        standing = clip.support[-1 if after else 0].max() < 0.05 and clip.contact[-1 if after else 0].min() > 0.95
        pad = gestures.idle(rng, n) if standing else _hold(clip, n, after)
        pad.actions = []
        clip, _ = concat_blend([clip, pad] if after else [pad, clip], [8])
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
        _measure(joints, a)
    caps = captions_for(rng, actions, n_captions)
    return SynthSample(joints=joints, captions=caps, actions=actions, scale=scale,
                       contact=contact.astype(np.float32), name=name, plan=plan)


def synthesize_sample(rng=0, kinds: list[str] | None = None, n_captions: int | None = None, name: str = "",
                      config: SynthConfig | None = None) -> SynthSample:
    """Generate one motion with its captions.

    Args:
        rng: a ``numpy.random.Generator`` or an int seed.
        kinds: force the action kinds (see ``ACTION_TYPES``); drawn when None. Transitions a
            kind needs ("lie_back" before "sit_up") may be added.
        n_captions: paraphrases per motion (overrides ``config.n_captions``).
        name: stored on the sample.
        config: what to draw (defaults: the built-in dataset's :class:`SynthConfig`).

    Returns:
        :class:`SynthSample` with ``joints (T, 22, 3)``, ``min_frames <= T <= max_frames``.
    """
    cfg = config or SynthConfig()
    if not isinstance(rng, np.random.Generator):
        rng = np.random.default_rng(rng)
    return render_plan(draw_plan(rng, cfg, kinds), cfg, n_captions, name)


def _measure(joints: np.ndarray, a: dict) -> None:
    """Replace planned distances by the ones the motion covers (metres, rounded)."""
    if a.get("distance"):
        d = np.linalg.norm(joints[a["end"] - 1, 0, [0, 2]] - joints[a["start"], 0, [0, 2]])
        a["distance"] = max(1, int(round(float(d))))


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
    return Clip(q, clip.yaw_rate, clip.contact, clip.air_vel, clip.actions, clip.support, clip.slide)


# Record fields that hold frame numbers (relative to the record's start until sequencing).
_FRAME_KEYS = ("hits", "bottoms", "seated", "bottom", "low", "flights", "lifted", "reached", "hold", "peaks",
               "tops", "reach", "release", "impact", "turns")


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
                [dict(a, end=min(a["end"], n)) for a in c.actions if a["start"] < n], c.support[:n], c.slide[:n])


__all__ = ["ACTION_TYPES", "ACTION_WEIGHTS", "MAX_FRAMES", "MIN_FRAMES", "SynthConfig", "SynthSample", "build_action",
           "draw_plan", "render_plan", "twin_plan", "synthesize_sample"]
