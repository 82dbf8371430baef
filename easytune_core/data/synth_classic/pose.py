"""Joint-angle helpers on the HumanML3D skeleton: named angle channels -> local quaternions.

All synthesis works in *local* joint rotations (SMPL convention: a joint's rotation turns
its children's bones) on the canonical skeleton, whose rest pose faces +Z with Y up, the
character's left at +X and the arms hanging down. Angles are written for the LEFT side in
degrees; :func:`mirror_rotations` gives the right side (reflection of X swaps the
sign of the quaternion's y and z parts).

Sign conventions (left side, checked against forward kinematics):
- hip / shoulder *flexion* (limb forward, toward +Z) is a rotation about -X;
- knee flexion (shin backward) is +X; elbow flexion (forearm forward) is -X;
- ankle plantar-flexion (toes down) is +X;
- abduction of a left limb (toward +X) is +Z;
- spine / pelvis pitch forward (bow) is +X.
"""

from __future__ import annotations

import numpy as np

from ...motion.rotations import qmul, qinv

J = 22
PELVIS, L_HIP, R_HIP, SPINE1, L_KNEE, R_KNEE, SPINE2, L_ANKLE, R_ANKLE, SPINE3 = range(10)
L_FOOT, R_FOOT, NECK, L_COLLAR, R_COLLAR, HEAD, L_SHOULDER, R_SHOULDER = range(10, 18)
L_ELBOW, R_ELBOW, L_WRIST, R_WRIST = range(18, 22)

# Left/right partner of every joint (identity for the spine).
MIRROR = (0, 2, 1, 3, 5, 4, 6, 8, 7, 9, 11, 10, 12, 14, 13, 15, 17, 16, 19, 18, 21, 20)

# Neutral standing angles (degrees). The ankle is plantar-flexed so that, on the canonical
# skeleton whose foot bone points straight forward, the heel (ankle joint) stands ~6 cm above
# the toe as in captured data; the neck turns the head bone (forward in the rest pose) up;
# the collars turn the shoulder bones outward (they hang down in the rest pose).
ANKLE_NEUTRAL = 25.0
NECK_NEUTRAL = -80.0
COLLAR_NEUTRAL = 80.0


def _axis_quat(axis: int, deg) -> np.ndarray:
    """Rotation about coordinate axis ``axis`` (0=X, 1=Y, 2=Z) by ``deg`` degrees; (...,) -> (..., 4)."""
    half = np.radians(np.asarray(deg, dtype=np.float64)) / 2
    q = np.zeros(half.shape + (4,))
    q[..., 0] = np.cos(half)
    q[..., 1 + axis] = np.sin(half)
    return q


def rot_x(deg):
    return _axis_quat(0, deg)


def rot_y(deg):
    return _axis_quat(1, deg)


def rot_z(deg):
    return _axis_quat(2, deg)


def euler(x=0.0, y=0.0, z=0.0) -> np.ndarray:
    """``R_z(z) R_x(x) R_y(y)`` from degree arrays (broadcast): twist about Y first, then X, then Z."""
    x, y, z = np.broadcast_arrays(np.asarray(x, float), np.asarray(y, float), np.asarray(z, float))
    return qmul(rot_z(z), qmul(rot_x(x), rot_y(y)))


def identity(T: int) -> np.ndarray:
    """``(T, 22, 4)`` identity rotations."""
    q = np.zeros((T, J, 4))
    q[..., 0] = 1.0
    return q


def mirror_rotations(q: np.ndarray) -> np.ndarray:
    """Left/right mirror of local rotations ``(..., 22, 4)``: swap joints and reflect X."""
    out = q[..., list(MIRROR), :].copy()
    out[..., 2] *= -1
    out[..., 3] *= -1
    return out


def leg(T, flex=0.0, knee=0.0, ankle=0.0, abd=0.0, twist=0.0):
    """Hip, knee, ankle local quaternions of the LEFT leg, each ``(T, 4)``.

    ``flex`` hip flexion (leg forward), ``knee`` flexion (>= 0), ``ankle`` plantar-flexion
    relative to the neutral stance, ``abd`` abduction (leg outward), degrees.
    """
    f = np.broadcast_to(np.asarray(flex, float), (T,))
    hip = euler(x=-f, y=twist, z=abd)
    kn = rot_x(np.broadcast_to(np.clip(knee, 0.0, 150.0), (T,)))
    an = rot_x(np.broadcast_to(np.asarray(ankle, float) + ANKLE_NEUTRAL, (T,)))
    return hip, kn, an


def arm(T, flex=0.0, abd=8.0, twist=0.0, elbow=10.0, collar=0.0, hadd=0.0):
    """Collar, shoulder, elbow local quaternions of the LEFT arm, each ``(T, 4)``.

    The upper arm's orientation in the chest frame is ``R_z(abd) R_x(-flex) R_y(twist)``:
    ``flex`` raises it forward, ``abd`` sideways, ``twist`` rotates it about its own axis
    (positive = external rotation, which turns the elbow's hinge so flexion lifts the
    forearm up when the arm is abducted). ``collar`` shrugs the shoulder up (degrees);
    ``hadd`` then swings the raised arm across the body (horizontal adduction, about +Y).
    The collar's neutral outward turn is undone in the shoulder so the arm angles are
    expressed in the chest frame.
    """
    b = lambda v: np.broadcast_to(np.asarray(v, float), (T,))
    col = rot_z(COLLAR_NEUTRAL + b(collar))
    upper = qmul(rot_y(-b(hadd)), euler(x=-b(flex), y=b(twist), z=b(abd)))
    sh = qmul(qinv(col), upper)
    el = rot_x(-np.clip(b(elbow), 0.0, 150.0))
    return col, sh, el


def neutral(T: int) -> np.ndarray:
    """``(T, 22, 4)`` relaxed standing pose."""
    q = identity(T)
    set_leg(q, "left", *leg(T))
    set_leg(q, "right", *leg(T))
    set_arm(q, "left", *arm(T))
    set_arm(q, "right", *arm(T))
    q[:, NECK] = rot_x(np.full(T, NECK_NEUTRAL))
    return q


def _side_fix(qs, side):
    return [qq if side == "left" else _mirror_single(qq) for qq in qs]


def _mirror_single(q):
    out = q.copy()
    out[..., 2] *= -1
    out[..., 3] *= -1
    return out


def set_leg(q, side, hip, knee, ankle):
    """Write LEFT-leg quaternions into ``q`` for ``side`` (mirrored for "right")."""
    hip, knee, ankle = _side_fix((hip, knee, ankle), side)
    h, k, a = (L_HIP, L_KNEE, L_ANKLE) if side == "left" else (R_HIP, R_KNEE, R_ANKLE)
    q[:, h], q[:, k], q[:, a] = hip, knee, ankle


def set_arm(q, side, collar, shoulder, elbow):
    """Write LEFT-arm quaternions into ``q`` for ``side`` (mirrored for "right")."""
    collar, shoulder, elbow = _side_fix((collar, shoulder, elbow), side)
    c, s, e = (L_COLLAR, L_SHOULDER, L_ELBOW) if side == "left" else (R_COLLAR, R_SHOULDER, R_ELBOW)
    q[:, c], q[:, s], q[:, e] = collar, shoulder, elbow


def set_spine(q, pitch=0.0, yaw=0.0, roll=0.0, neck_pitch=0.0):
    """Spread a trunk bend over spine1-3 (degrees; pitch > 0 bends forward, yaw > 0 turns left)."""
    T = q.shape[0]
    b = lambda v: np.broadcast_to(np.asarray(v, float), (T,))
    part = euler(x=b(pitch) / 3, y=b(yaw) / 3, z=b(roll) / 3)
    for j in (SPINE1, SPINE2, SPINE3):
        q[:, j] = part
    q[:, NECK] = rot_x(NECK_NEUTRAL + b(neck_pitch))


def smoothstep(x):
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3 - 2 * x)


def envelope(T: int, ramp_in: int, ramp_out: int, start: int = 0, end: int | None = None) -> np.ndarray:
    """``(T,)`` weight 0 -> 1 -> 0 with smoothstep ramps (frames) inside ``[start, end)``."""
    end = T if end is None else end
    t = np.arange(T, dtype=float)
    up = smoothstep((t - start) / max(ramp_in, 1))
    down = smoothstep((end - 1 - t) / max(ramp_out, 1))
    return np.minimum(up, down) * ((t >= start) & (t < end))


def lerp_angle_curve(T, keys):
    """Piecewise smoothstep curve through ``keys`` = [(frame, value), ...] -> ``(T,)``."""
    keys = sorted(keys)
    t = np.arange(T, dtype=float)
    out = np.full(T, float(keys[0][1]))
    for (f0, v0), (f1, v1) in zip(keys[:-1], keys[1:]):
        w = smoothstep((t - f0) / max(f1 - f0, 1e-6))
        seg = (t >= f0)
        out = np.where(seg, v0 + (v1 - v0) * w, out)
    out = np.where(t >= keys[-1][0], keys[-1][1], out)
    return out
