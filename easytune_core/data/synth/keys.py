"""Keyframed whole-body motion: named angle channels eased between keys, turned into a Clip.

A pose is a dict of channels (degrees unless noted); :data:`DEFAULTS` is relaxed standing.
Per side (``l_`` / ``r_`` prefix): ``hip`` flexion, ``abd`` abduction, ``twist``, ``knee``,
``ankle`` (plantar-flexion beyond the neutral stance), ``sh`` shoulder flexion, ``sh_abd``,
``sh_twist``, ``elbow``, ``collar`` (shrug), ``hadd`` (swing of a raised arm across the body);
the trunk: ``pelvis_pitch`` / ``_roll`` / ``_yaw`` (relative to the heading; pitch > 0 tips the
body forward, so +90 lies face down and -90 face up), ``spine_pitch`` / ``_yaw`` / ``_roll``
(spread over the three spine joints), ``neck_pitch`` (> 0 looks down) / ``_yaw`` / ``_roll``;
``yaw`` the heading in degrees (> 0 = turned left); ground contact weights ``c_l`` / ``c_r``
(flat feet) and ``s_<site>`` for the support sites of :data:`clip.SITES`; ``w`` a layer weight.

Angle conventions are those of :mod:`pose` (left side; the right side is mirrored). Useful
identities: the thigh's angle forward of straight down, in the heading frame, is
``hip - pelvis_pitch``; an arm's is ``sh - (pelvis_pitch + spine_pitch)``.
"""

from __future__ import annotations

import numpy as np

from ...motion.rotations import qslerp
from .clip import SITES, Clip
from .pose import (L_COLLAR, L_ELBOW, L_SHOULDER, NECK, NECK_NEUTRAL, PELVIS, R_COLLAR, R_ELBOW, R_SHOULDER, SPINE1,
                   SPINE2, SPINE3, arm, euler, identity, leg, set_arm, set_leg, smoothstep)

LEG_CH = {"hip": 0.0, "abd": 0.0, "twist": 0.0, "knee": 0.0, "ankle": 0.0}
ARM_CH = {"sh": 0.0, "sh_abd": 8.0, "sh_twist": 0.0, "elbow": 10.0, "collar": 0.0, "hadd": 0.0}
TRUNK_CH = ("pelvis_pitch", "pelvis_roll", "pelvis_yaw", "spine_pitch", "spine_yaw", "spine_roll",
            "neck_pitch", "neck_yaw", "neck_roll", "yaw")

DEFAULTS: dict = {}
for _s in "lr":
    DEFAULTS.update({f"{_s}_{k}": v for k, v in {**LEG_CH, **ARM_CH}.items()})
DEFAULTS.update({k: 0.0 for k in TRUNK_CH})
DEFAULTS.update({"c_l": 1.0, "c_r": 1.0, "w": 1.0})
DEFAULTS.update({f"s_{name}": 0.0 for name in SITES})
CHANNELS = tuple(DEFAULTS)

ARM_JOINTS = {"l": (L_COLLAR, L_SHOULDER, L_ELBOW), "r": (R_COLLAR, R_SHOULDER, R_ELBOW)}
TRUNK_JOINTS = (SPINE1, SPINE2, SPINE3, NECK)


def pose(base: dict | None = None, **channels) -> dict:
    """A full pose: ``DEFAULTS`` (or ``base``) with ``channels`` replaced (unknown names raise)."""
    out = dict(DEFAULTS if base is None else base)
    for k in channels:
        if k not in DEFAULTS:
            raise KeyError(f"unknown channel {k!r}")
    out.update(channels)
    return out


def side(s: str, **channels) -> dict:
    """Per-side channels for side ``s`` ("l"/"r" or "left"/"right"): ``side("l", knee=30)`` -> ``{"l_knee": 30}``."""
    p = s[0]
    return {f"{p}_{k}": v for k, v in channels.items()}


def both(**channels) -> dict:
    """The same per-side channels on both sides."""
    return {**side("l", **channels), **side("r", **channels)}


class Keys:
    """Key poses at frames, eased (smoothstep) in between; channels not given keep their value."""

    def __init__(self, start: dict | None = None):
        self.cur = pose(start)
        self.times: list[float] = []
        self.poses: list[dict] = []

    @property
    def t(self) -> float:
        return self.times[-1] if self.times else 0.0

    def key(self, t: float, base: dict | None = None, **channels) -> "Keys":
        """Key at absolute frame ``t``: ``base`` (a full pose) then ``channels`` over the current pose."""
        if self.times and t < self.times[-1]:
            raise ValueError(f"keys must be in time order, got {t} after {self.times[-1]}")
        self.cur = pose(base if base is not None else self.cur, **channels)
        self.times.append(float(t))
        self.poses.append(dict(self.cur))
        return self

    def after(self, dt: float, base: dict | None = None, **channels) -> "Keys":
        """Key ``dt`` frames after the last one."""
        return self.key(self.t + dt, base, **channels)

    def curves(self, T: int | None = None) -> dict:
        """Channel name -> ``(T,)`` curve (``T`` defaults to one frame past the last key)."""
        T = int(round(self.t)) + 1 if T is None else int(T)
        times = np.asarray(self.times)
        vals = np.array([[p[c] for c in CHANNELS] for p in self.poses])  # (K, C)
        t = np.arange(T, dtype=float)
        i = np.clip(np.searchsorted(times, t, side="right") - 1, 0, len(times) - 1)
        j = np.minimum(i + 1, len(times) - 1)
        span = np.maximum(times[j] - times[i], 1e-9)
        u = smoothstep(np.where(j > i, (t - times[i]) / span, 0.0))
        out = vals[i] + (vals[j] - vals[i]) * u[:, None]
        return {c: out[:, k] for k, c in enumerate(CHANNELS)}

    def clip(self, T: int | None = None, actions=None, air_vel=None, slide=None) -> Clip:
        """The keyed motion as a :class:`Clip` (flat-foot contacts, supports and heading included)."""
        return curves_to_clip(self.curves(T), actions, air_vel, slide)


def rotations(ch: dict) -> np.ndarray:
    """``(T, 22, 4)`` local rotations of channel curves."""
    T = len(ch["yaw"])
    q = identity(T)
    q[:, PELVIS] = euler(x=ch["pelvis_pitch"], y=ch["pelvis_yaw"], z=ch["pelvis_roll"])
    for s, name in (("l", "left"), ("r", "right")):
        g = lambda k: ch[f"{s}_{k}"]
        set_leg(q, name, *leg(T, flex=g("hip"), knee=g("knee"), ankle=g("ankle"), abd=g("abd"), twist=g("twist")))
        set_arm(q, name, *arm(T, flex=g("sh"), abd=g("sh_abd"), twist=g("sh_twist"), elbow=g("elbow"),
                              collar=g("collar"), hadd=g("hadd")))
    part = euler(x=ch["spine_pitch"] / 3, y=ch["spine_yaw"] / 3, z=ch["spine_roll"] / 3)
    for j in (SPINE1, SPINE2, SPINE3):
        q[:, j] = part
    q[:, NECK] = euler(x=NECK_NEUTRAL + ch["neck_pitch"], y=ch["neck_yaw"], z=ch["neck_roll"])
    return q


def curves_to_clip(ch: dict, actions=None, air_vel=None, slide=None) -> Clip:
    """Channel curves -> :class:`Clip`."""
    T = len(ch["yaw"])
    yaw = np.radians(ch["yaw"])
    rate = np.append(np.diff(yaw), 0.0)
    contact = np.stack([ch["c_l"], ch["c_r"]], -1)
    support = np.stack([ch[f"s_{n}"] for n in SITES], -1)
    air = np.full((T, 3), np.nan) if air_vel is None else air_vel
    return Clip(rotations(ch), rate, contact, air, list(actions or []), support, slide)


def layer_of(ch: dict, arms: str = "lr", trunk: bool = False):
    """An upper-body layer from channel curves: ``({joint: (T, 4)}, weight (T,))`` for
    :func:`apply_layer`; ``arms`` picks the arms ("l", "r", "lr"), ``trunk`` adds spine and neck.
    The weight is the ``w`` channel."""
    q = rotations(ch)
    joints = [j for s in arms for j in ARM_JOINTS[s]] + (list(TRUNK_JOINTS) if trunk else [])
    return {j: q[:, j] for j in joints}, np.clip(ch["w"], 0.0, 1.0)


def apply_layer(clip: Clip, layer: dict, weight: np.ndarray, offset: int = 0) -> Clip:
    """Slerp joint targets ``layer`` {joint: (L, 4)} with ``weight`` (L,) over ``clip`` from frame ``offset``."""
    q = clip.rot.copy()
    n = min(len(weight), clip.T - offset)
    for j, target in layer.items():
        q[offset:offset + n, j] = qslerp(q[offset:offset + n, j], target[:n], weight[:n])
    return Clip(q, clip.yaw_rate, clip.contact, clip.air_vel, list(clip.actions), clip.support, clip.slide)


__all__ = ["DEFAULTS", "CHANNELS", "Keys", "pose", "side", "both", "rotations", "curves_to_clip", "layer_of",
           "apply_layer"]
