"""Turn a clip's rotations and contact plan into joint positions.

The root is never animated directly. Its horizontal motion is whatever keeps the contact
feet where they are (the body is carried by the stance foot, so feet cannot skate); its
height is whatever puts the lowest contact heel on the floor; while no foot touches the
ground the root flies a gravity parabola between take-off and landing. A two-bone leg IK
then pins each contact ankle exactly where it landed, lays the planted foot flat, and
lifts swing feet that would dip below the floor.
"""

from __future__ import annotations

import numpy as np

from ...motion.rotations import qbetween, qinv, qmul, qrot, qslerp
from ...motion.skeleton import HUMANML3D, forward_kinematics
from .clip import Clip
from .pose import ANKLE_NEUTRAL, L_ANKLE, L_FOOT, L_HIP, L_KNEE, PELVIS, R_ANKLE, R_FOOT, R_HIP, R_KNEE, rot_x, smoothstep

FPS = 20.0
GRAVITY = 9.81
LEGS = ((L_HIP, L_KNEE, L_ANKLE, L_FOOT), (R_HIP, R_KNEE, R_ANKLE, R_FOOT))


def yaw_quat(psi: np.ndarray) -> np.ndarray:
    """Rotation about +Y by ``psi`` radians ``(T,)`` -> ``(T, 4)`` (turning left for psi > 0)."""
    return np.stack([np.cos(psi / 2), np.zeros_like(psi), np.sin(psi / 2), np.zeros_like(psi)], -1)


def _runs(mask: np.ndarray):
    """(start, end) index pairs of the True runs of a 1-D boolean mask (end exclusive)."""
    m = np.concatenate([[False], mask, [False]]).astype(np.int8)
    d = np.diff(m)
    return list(zip(np.flatnonzero(d == 1), np.flatnonzero(d == -1)))


def _fill_gaps(v: np.ndarray, gap: np.ndarray) -> np.ndarray:
    """Linearly interpolate rows of ``v`` (N, C) where ``gap`` is True from the neighbours."""
    if not gap.any() or gap.all():
        return np.where(gap[:, None], 0.0, v) if gap.all() else v
    idx = np.arange(len(v))
    good = ~gap
    out = v.copy()
    for c in range(v.shape[1]):
        out[gap, c] = np.interp(idx[gap], idx[good], v[good, c])
    return out


def solve(clip: Clip, scale: float = 1.0) -> np.ndarray:
    """Joint positions ``(T, 22, 3)`` (metres, Y up, starting at the origin facing +Z)."""
    T = clip.T
    offsets = HUMANML3D.offsets * scale
    psi = np.concatenate([[0.0], np.cumsum(clip.yaw_rate[:-1])])
    heading = yaw_quat(psi)
    q = clip.rot.copy()
    q[:, PELVIS] = qmul(heading, q[:, PELVIS])
    rel = forward_kinematics(q, np.zeros((T, 3)), HUMANML3D, offsets=offsets)

    foot_len = np.linalg.norm(offsets[[L_FOOT, R_FOOT]], axis=-1)
    heel_h = foot_len * np.sin(np.radians(ANKLE_NEUTRAL))  # ankle height of a flat foot
    c = np.clip(clip.contact, 0.0, 1.0)
    ankles = rel[:, [L_ANKLE, R_ANKLE]]  # (T, 2, 3)

    # Horizontal: the contact feet stay put, so the root moves against their relative motion.
    disp = -(ankles[1:] - ankles[:-1])  # (T-1, 2, 3)
    w = np.minimum(c[1:], c[:-1])
    W = w.sum(-1)
    airborne = W < 0.05
    v = (disp * w[..., None]).sum(1) / np.maximum(W, 1e-6)[:, None]
    air = qrot(heading[:-1], np.nan_to_num(clip.air_vel[:-1]))
    has_air = ~np.isnan(clip.air_vel[:-1, 0])
    v = np.where((airborne & has_air)[:, None], air, v)
    v = _fill_gaps(v, airborne & ~has_air)
    v[:, 1] = 0.0
    root = np.zeros((T, 3))
    root[1:] = np.cumsum(v, axis=0)

    # Vertical: the lowest contact heel rests on the floor; flight follows gravity.
    y_f = heel_h[None, :] - ankles[..., 1]  # root height that grounds each foot
    c4 = c ** 4  # a foot that is leaving the ground should barely pull the root down
    y = (c4 * y_f).sum(-1) / np.maximum(c4.sum(-1), 1e-9)
    firm = c > 0.9
    y = np.where(firm.any(-1), np.min(np.where(firm, y_f, np.inf), -1), y)
    grounded = c.max(-1) >= 0.95  # a foot only lightly touching (leaving / landing) is flight
    if grounded.any():
        # Light smoothing of the grounded height, never mixing in flight frames.
        inner = grounded.copy()
        inner[1:-1] &= grounded[:-2] & grounded[2:]
        inner[[0, -1]] = False
        ys = y.copy()
        ys[1:-1] = 0.25 * y[:-2] + 0.5 * y[1:-1] + 0.25 * y[2:]
        y = np.where(inner, ys, y)
        gi = np.flatnonzero(grounded)
        for s, e in _runs(~grounded):
            if s == 0 or e == T:  # airborne at a clip end: hold the nearest grounded height
                y[s:e] = y[gi[0]] if s == 0 else y[gi[-1]]
                continue
            n = e - s
            k = np.arange(1, n + 1)
            tf = (n + 1) / FPS
            tau = k / FPS
            y[s:e] = y[s - 1] + (y[e] - y[s - 1]) * k / (n + 1) + 0.5 * GRAVITY * tau * (tf - tau)
    root[:, 1] = y
    world = rel + root[:, None, :]

    q = _leg_ik(q, world, c, heading, psi, offsets, heel_h)
    return forward_kinematics(q, root, HUMANML3D, offsets=offsets).astype(np.float32)


def _leg_ik(q, world, c, heading, psi, offsets, heel_h):
    """Pin contact ankles, flatten planted feet, keep swing feet above the floor."""
    T = q.shape[0]
    q = q.copy()
    pelvis_w = q[:, PELVIS]
    for f, (hip, knee, ankle, toe) in enumerate(LEGS):
        a = np.linalg.norm(offsets[knee])
        b = np.linalg.norm(offsets[ankle])
        cur = world[:, ankle]
        target = cur.copy()
        lock_w = smoothstep((c[:, f] - 0.5) * 2.0)
        foot_yaw = psi.copy()
        for s, e in _runs(c[:, f] > 0.5):
            pin = cur[s].copy()
            pin[1] = heel_h[f]
            target[s:e] = pin
            foot_yaw[s:e] = psi[s]
        target = cur + (target - cur) * lock_w[:, None]
        # Keep the toe and heel above the floor (swing feet, landing approach).
        lift = np.maximum(0.0, np.maximum(-world[:, toe, 1], heel_h[f] * 0.5 - world[:, ankle, 1]))
        target[:, 1] += lift * (1 - lock_w)

        H = world[:, hip]
        d = np.clip(np.linalg.norm(target - H, axis=-1), abs(a - b) + 1e-3, (a + b) * 0.9995)
        cos_k = np.clip((d * d - a * a - b * b) / (2 * a * b), -1.0, 1.0)
        kappa = np.arccos(cos_k)
        knee_q = rot_x(np.degrees(kappa))
        a_loc = np.stack([np.zeros(T), -a - b * np.cos(kappa), -b * np.sin(kappa)], -1)
        hip_w = qmul(pelvis_w, q[:, hip])
        u = qrot(hip_w, a_loc)
        dq = qbetween(u, target - H)
        new_hip_w = qmul(dq, hip_w)
        q[:, hip] = qmul(qinv(pelvis_w), new_hip_w)
        q[:, knee] = knee_q
        knee_w = qmul(new_hip_w, knee_q)
        flat_w = qmul(yaw_quat(foot_yaw), rot_x(np.full(T, ANKLE_NEUTRAL)))
        flat_local = qmul(qinv(knee_w), flat_w)
        q[:, ankle] = qslerp(q[:, ankle], flat_local, lock_w)
    return q


__all__ = ["solve", "yaw_quat", "FPS", "GRAVITY"]
