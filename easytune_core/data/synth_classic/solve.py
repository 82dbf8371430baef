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

from ...motion.rotations import qbetween, qinv, qmul, qrot, qslerp, quat_to_matrix
from ...motion.skeleton import HUMANML3D, forward_kinematics
from .clip import Clip
from .pose import (ANKLE_NEUTRAL, L_ANKLE, L_FOOT, L_HIP, L_KNEE, PELVIS, R_ANKLE, R_FOOT, R_HIP, R_KNEE, euler,
                   rot_x, smoothstep)

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


def solve(clip: Clip, scale: float = 1.0, return_contact: bool = False):
    """Joint positions ``(T, 22, 3)`` float32 (metres, Y up, starting at the origin facing +Z).

    With ``return_contact`` also returns the ``(T, 2)`` contact weights actually used (the
    planned ones, zeroed while a planted foot takes a re-positioning step).
    """
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
    # A planned flight lands the feet exactly the planned distance from where they took off,
    # whatever the legs did in the air (so "jumps in place" stays in place).
    for s0, e0 in _runs(airborne & has_air):
        shift = air[s0:e0].sum(0) + (ankles[s0] - ankles[e0]).mean(0)
        v[s0:e0] = shift / (e0 - s0)
    v[:, 1] = 0.0
    root, targets, anchor, foot_yaw = _anchor_feet(v, ankles, c, psi, heel_h)

    # Vertical: the lowest contact heel rests on the floor; flight follows gravity.
    y_f = heel_h[None, :] - ankles[..., 1]  # root height that grounds each foot
    ca = np.minimum(c, anchor)  # a re-stepping foot does not hold the body up
    ca = np.where((ca.max(-1, keepdims=True) > 0), ca, c)
    c4 = ca ** 4  # a foot that is leaving the ground should barely pull the root down
    y = (c4 * y_f).sum(-1) / np.maximum(c4.sum(-1), 1e-9)
    firm = ca > 0.9
    y = np.where(firm.any(-1), np.min(np.where(firm, y_f, np.inf), -1), y)
    # Flight is what the plan says (no foot firmly down), never a side effect of re-stepping.
    grounded = c.max(-1) >= 0.95
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

    q = _leg_ik(q, world, targets, foot_yaw, offsets, heel_h)
    joints = forward_kinematics(q, root, HUMANML3D, offsets=offsets).astype(np.float32)
    if return_contact:
        stepping = (targets[..., 3] > 0) & (anchor == 0) & (c > 0.5)
        return joints, np.where(stepping, 0.0, c)
    return joints


def _anchor_feet(v, ankles, c, psi, heel_h, restep=0.05, step_frames=6, lift=0.07):
    """Walk the frames once: lock landing feet, carry the root by the locked feet, re-step.

    Args:
        v: ``(T-1, 3)`` predicted root velocity (from the feet's relative motion / flight).
        ankles: ``(T, 2, 3)`` ankle positions relative to the root.
        c: ``(T, 2)`` planned contact weights.

    A locked foot whose planned place under the body drifts more than ``restep`` metres
    away (a pose change while both feet are planted, e.g. stopping mid-stride and sitting
    down) takes a quick small step to its new place instead of sliding or over-stretching.

    Returns:
        root ``(T, 3)`` (y = 0), IK targets ``(T, 2, 4)`` (xyz + weight), anchor weights
        ``(T, 2)`` (how much each foot holds the body), foot yaw ``(T, 2)`` for flat feet.
    """
    T = len(c)
    root = np.zeros((T, 3))
    targets = np.zeros((T, 2, 4))
    anchor = np.zeros((T, 2))
    foot_yaw = np.repeat(psi[:, None], 2, 1)
    lock = [None, None]
    yaw_lock = [0.0, 0.0]
    step = [None, None]  # (from, to, start frame)
    cool = [0, 0]
    w_lock = smoothstep((c - 0.5) * 2.0)
    for t in range(T):
        pred = root[t - 1] + v[t - 1] if t else np.zeros(3)
        for f in range(2):
            if c[t, f] <= 0.5:
                lock[f], step[f] = None, None
            elif lock[f] is None and step[f] is None:
                lock[f] = pred + ankles[t, f]
                lock[f][1] = heel_h[f]
                yaw_lock[f] = psi[t]
        # Re-step a planted foot that the pose has pulled away from its spot.
        for f in range(2):
            o = 1 - f
            if (lock[f] is not None and step[f] is None and lock[o] is not None and step[o] is None
                    and cool[f] <= 0 and c[t, f] > 0.99 and c[t:t + step_frames + 1, o].min() > 0.99):
                want = pred + ankles[t, f]
                if np.linalg.norm((want - lock[f])[[0, 2]]) > restep:
                    want[1] = heel_h[f]
                    step[f] = (lock[f].copy(), want, t)
                    lock[f] = None
                    cool[f] = step_frames + 4
                    break  # one foot at a time
        for f in range(2):
            cool[f] -= 1
            if step[f] is not None:
                a, b, t0 = step[f]
                u = min(1.0, (t - t0 + 1) / step_frames)
                pos = a + (b - a) * smoothstep(u)
                pos[1] = heel_h[f] + lift * np.sin(np.pi * u)
                targets[t, f, :3], targets[t, f, 3] = pos, 1.0
                foot_yaw[t, f] = yaw_lock[f] + (psi[t] - yaw_lock[f]) * smoothstep(u)
                if u >= 1.0:
                    lock[f], step[f] = b, None
                    yaw_lock[f] = psi[t]
            elif lock[f] is not None:
                targets[t, f, :3], targets[t, f, 3] = lock[f], w_lock[t, f]
                anchor[t, f] = 1.0
                foot_yaw[t, f] = yaw_lock[f]
        held = [f for f in range(2) if lock[f] is not None and step[f] is None]
        wsum = sum(w_lock[t, f] for f in held)
        if wsum > 1e-6:
            anchored = sum(w_lock[t, f] * (lock[f] - ankles[t, f]) for f in held) / wsum
            alpha = min(1.0, wsum)
            root[t] = pred * (1 - alpha) + anchored * alpha
        else:
            root[t] = pred
        root[t, 1] = 0.0
    return root, targets, np.maximum(anchor, 0.0) * c, foot_yaw


FLAT_RAMP = 5  # frames over which a planted foot's flattening fades in / out
# Ankle limits (degrees) in the (x: plantar-flexion, y: twist, z: roll) angles of ``pose.euler``;
# x is measured like ``ANKLE_NEUTRAL`` (25 = relaxed standing foot), so 75 is 50 degrees of
# plantar-flexion beyond it and -15 is 40 degrees of dorsi-flexion (deep squats need ~35).
ANKLE_LIMITS = ((-15.0, 75.0), (-30.0, 30.0), (-25.0, 25.0))


def _ramp(w: np.ndarray, n: int) -> np.ndarray:
    """``w`` (T,) widened and softened so it rises / falls over about ``n`` frames each way."""
    if n <= 0:
        return w
    k = np.hanning(2 * n + 3)[1:-1]
    k /= k.max()
    # A max-filter with a soft (Hann) profile: each planted frame spreads its weight to its
    # neighbours, so the weight is 1 throughout the plant and eases off over n frames outside it.
    pad = np.pad(w, n, mode="edge")
    windows = np.lib.stride_tricks.sliding_window_view(pad, 2 * n + 1)
    return np.clip((windows * k).max(-1), 0.0, 1.0)


def euler_angles(q: np.ndarray) -> np.ndarray:
    """Inverse of ``pose.euler``: quaternions (..., 4) -> degrees (..., 3) as (x, y, z) of R_z R_x R_y."""
    m = quat_to_matrix(q)
    x = np.arcsin(np.clip(m[..., 2, 1], -1.0, 1.0))
    y = np.arctan2(-m[..., 2, 0], m[..., 2, 2])
    z = np.arctan2(-m[..., 0, 1], m[..., 1, 1])
    return np.degrees(np.stack([x, y, z], -1))


def clamp_ankle(q: np.ndarray) -> np.ndarray:
    """Keep local ankle rotations ``(T, 4)`` inside human limits (``ANKLE_LIMITS``)."""
    ang = euler_angles(q)
    lo = np.array([lim[0] for lim in ANKLE_LIMITS])
    hi = np.array([lim[1] for lim in ANKLE_LIMITS])
    if ((ang >= lo) & (ang <= hi)).all():
        return q
    ang = np.clip(ang, lo, hi)
    return euler(x=ang[:, 0], y=ang[:, 1], z=ang[:, 2])


def _leg_ik(q, world, targets, foot_yaw, offsets, heel_h):
    """Move ankles to ``targets`` (xyz + weight), flatten planted feet, keep feet above the floor."""
    T = q.shape[0]
    q = q.copy()
    pelvis_w = q[:, PELVIS]
    for f, (hip, knee, ankle, toe) in enumerate(LEGS):
        a = np.linalg.norm(offsets[knee])
        b = np.linalg.norm(offsets[ankle])
        cur = world[:, ankle]
        lock_w = targets[:, f, 3]
        target = cur + (targets[:, f, :3] - cur) * lock_w[:, None]
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
        flat_w = qmul(yaw_quat(foot_yaw[:, f]), rot_x(np.full(T, ANKLE_NEUTRAL)))
        flat_local = qmul(qinv(knee_w), flat_w)
        # The foot flattens over a few frames before it lands and relaxes over a few frames
        # after it lifts (a one-frame switch would flip the foot between poses).
        q[:, ankle] = clamp_ankle(qslerp(q[:, ankle], flat_local, _ramp(lock_w, FLAT_RAMP)))
    return q


__all__ = ["solve", "yaw_quat", "FPS", "GRAVITY"]
