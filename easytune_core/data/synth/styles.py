"""Manners of moving ("happily", "sadly", "like a zombie", ...): how a gait changes with a style.

A style changes the gait itself (cadence, stride, arm swing, lean; :func:`gait_mods`) and
then the posture on top of it (:func:`apply_style`): the head hangs when sad, the chest lifts
when proud, the arms reach forward like a zombie's, a drunk weaves and sways.
"""

from __future__ import annotations

import numpy as np

from ...motion.rotations import qmul, qslerp
from .clip import Clip
from .keys import both, pose, rotations, Keys
from .pose import L_COLLAR, L_ELBOW, L_SHOULDER, NECK, R_COLLAR, R_ELBOW, R_SHOULDER, SPINE1, SPINE2, SPINE3, envelope, euler

STYLES = ("happy", "sad", "angry", "tired", "drunk", "zombie", "proud")

# Gait changes per style (factors and added degrees, see gaits.locomotion).
MODS = {
    "happy": dict(cadence=1.12, amp=1.08, arm_gain=1.9, push=1.4, lean=-1.0),
    "sad": dict(cadence=0.78, amp=0.72, arm_gain=0.35, lean=2.0),
    "angry": dict(cadence=1.15, amp=1.15, arm_gain=1.3, elbow=45.0, lean=6.0, push=1.2),
    "tired": dict(cadence=0.72, amp=0.66, arm_gain=0.25, knee_swing=0.65, lean=13.0),
    "drunk": dict(cadence=0.85, amp=0.85, arm_gain=0.7),
    "zombie": dict(cadence=0.68, amp=0.7, arm_gain=0.0, knee_swing=0.55),
    "proud": dict(cadence=0.95, amp=1.08, arm_gain=1.1, lean=-6.0),
}
# Posture on top of the gait: extra trunk pitch / roll (degrees, > 0 = forward), head pitch
# (> 0 = looking down), collar (> 0 = shoulders up).
POSTURE = {
    "happy": dict(spine=-2.0, neck=-10.0, collar=4.0),
    "sad": dict(spine=3.0, neck=42.0, collar=-6.0),
    "angry": dict(spine=6.0, neck=8.0, collar=6.0),
    "tired": dict(spine=18.0, neck=10.0, collar=-8.0),
    "drunk": dict(spine=4.0, neck=10.0, collar=0.0),
    "zombie": dict(spine=6.0, neck=18.0, collar=8.0),
    "proud": dict(spine=-9.0, neck=-16.0, collar=-4.0),
}


def draw_style(rng) -> str:
    return STYLES[int(rng.integers(len(STYLES)))]


def gait_mods(style: str | None) -> dict | None:
    """Gait factors of ``style`` (None: none)."""
    if style is None:
        return None
    if style not in MODS:
        raise ValueError(f"unknown style {style!r}; choose one of {', '.join(STYLES)}")
    return MODS[style]


def apply_style(rng, clip: Clip, style: str | None) -> Clip:
    """Layer the posture of ``style`` over a gait clip (eased in and out with the gait)."""
    if style is None:
        return clip
    T = clip.T
    env = envelope(T, 10, 10)
    q = clip.rot.copy()
    p = POSTURE[style]
    jitter = rng.uniform(0.85, 1.15)
    roll = np.zeros(T)
    yaw_rate = clip.yaw_rate.copy()
    if style == "drunk":
        # Weaving: the heading swings and the trunk sways from side to side.
        f = rng.uniform(0.28, 0.4) / 20.0
        amp = np.radians(rng.uniform(20, 28))
        t = np.arange(T)
        phase = rng.uniform(0, 2 * np.pi)
        heading = amp * np.sin(2 * np.pi * f * t + phase) * env
        yaw_rate = yaw_rate + np.append(np.diff(heading), 0.0)
        roll = rng.uniform(7, 11) * np.sin(2 * np.pi * f * t + phase + 0.8) * env
    part = euler(x=p["spine"] * jitter * env / 3, z=roll / 3)
    for j in (SPINE1, SPINE2, SPINE3):
        q[:, j] = qmul(q[:, j], part)
    q[:, NECK] = qmul(euler(x=p["neck"] * jitter * env, z=(12.0 if style == "zombie" else 0.0) * env), q[:, NECK])
    for j in (L_COLLAR, R_COLLAR):
        q[:, j] = qmul(q[:, j], euler(z=(p["collar"] if j == L_COLLAR else -p["collar"]) * env))
    if style == "zombie":
        # Both arms held straight out in front at shoulder height.
        k = Keys(pose(**both(sh=rng.uniform(80, 95), elbow=rng.uniform(5, 15), sh_abd=rng.uniform(8, 16))))
        k.key(0).key(T - 1)
        arms = rotations(k.curves(T))
        w = np.clip(env * 1.5, 0.0, 1.0)
        for j in (L_COLLAR, L_SHOULDER, L_ELBOW, R_COLLAR, R_SHOULDER, R_ELBOW):
            q[:, j] = qslerp(q[:, j], arms[:, j], w)
    return Clip(q, yaw_rate, clip.contact, clip.air_vel, list(clip.actions), clip.support, clip.slide)


__all__ = ["STYLES", "MODS", "POSTURE", "draw_style", "gait_mods", "apply_style"]
