"""Batched rotation conversions that work on numpy arrays and torch tensors alike.

Conventions (the same as HumanML3D's ``common/quaternion.py``):
quaternions are ``(..., 4)`` in ``(w, x, y, z)`` order and act on column vectors;
rotation matrices are ``(..., 3, 3)``; the continuous 6D form ``(..., 6)`` is the
first two *columns* of the matrix; axis-angle is ``(..., 3)`` with the angle (radians)
as its norm. Every function returns the same array type it was given, and torch
versions are differentiable.
"""

from __future__ import annotations

import numpy as np
import torch

_EPS = 1e-8


def _is_torch(a) -> bool:
    return isinstance(a, torch.Tensor)


def _stack(xs, axis=-1):
    return torch.stack(xs, dim=axis) if _is_torch(xs[0]) else np.stack(xs, axis=axis)


def _cat(xs, axis=-1):
    return torch.cat(xs, dim=axis) if _is_torch(xs[0]) else np.concatenate(xs, axis=axis)


def _cross(a, b):
    if _is_torch(a):
        a, b = torch.broadcast_tensors(a, b)  # torch.cross does not broadcast across ranks
        return torch.cross(a, b, dim=-1)
    # Written out: np.cross is several times slower on the small arrays used here (same numbers).
    a0, a1, a2 = a[..., 0], a[..., 1], a[..., 2]
    b0, b1, b2 = b[..., 0], b[..., 1], b[..., 2]
    return np.stack([a1 * b2 - a2 * b1, a2 * b0 - a0 * b2, a0 * b1 - a1 * b0], axis=-1)


def _safe_unit(a):
    """``a / |a|`` along the last axis; exact for non-tiny vectors (no eps added to the norm)."""
    n = _norm(a)
    return a / (torch.clamp(n, min=_EPS) if _is_torch(a) else np.maximum(n, _EPS))


def _norm(a, keepdims=True):
    if _is_torch(a):
        return torch.linalg.vector_norm(a, dim=-1, keepdim=keepdims)
    return np.linalg.norm(a, axis=-1, keepdims=keepdims)


def _sqrt(a):
    return torch.sqrt(a) if _is_torch(a) else np.sqrt(a)


def _atan2(y, x):
    return torch.atan2(y, x) if _is_torch(y) else np.arctan2(y, x)


def _clip(a, lo, hi):
    return torch.clamp(a, lo, hi) if _is_torch(a) else np.clip(a, lo, hi)


def _where(c, a, b):
    return torch.where(c, a, b) if _is_torch(a) else np.where(c, a, b)


def _like(a, value):
    """A scalar/array ``value`` converted to the type, dtype and device of ``a``."""
    if _is_torch(a):
        return torch.as_tensor(value, dtype=a.dtype, device=a.device)
    return np.asarray(value, dtype=a.dtype)


def _check_last(a, n: int, name: str):
    if a.shape[-1] != n:
        raise ValueError(f"{name} must have last dimension {n}, got shape {tuple(a.shape)}")


# ---------------------------------------------------------------- quaternions


def qnormalize(q):
    """Unit quaternions ``(..., 4)``."""
    _check_last(q, 4, "quaternion")
    return _safe_unit(q)


def qinv(q):
    """Inverse of unit quaternions (the conjugate)."""
    _check_last(q, 4, "quaternion")
    return _cat([q[..., :1], -q[..., 1:]])


def qmul(q, r):
    """Hamilton product ``q * r`` (apply ``r`` first, then ``q``); shapes broadcast."""
    _check_last(q, 4, "quaternion")
    _check_last(r, 4, "quaternion")
    w1, x1, y1, z1 = q[..., 0], q[..., 1], q[..., 2], q[..., 3]
    w2, x2, y2, z2 = r[..., 0], r[..., 1], r[..., 2], r[..., 3]
    return _stack([
        w1 * w2 - x1 * x2 - y1 * y2 - z1 * z2,
        w1 * x2 + x1 * w2 + y1 * z2 - z1 * y2,
        w1 * y2 - x1 * z2 + y1 * w2 + z1 * x2,
        w1 * z2 + x1 * y2 - y1 * x2 + z1 * w2,
    ])


def qrot(q, v):
    """Rotate vectors ``v (..., 3)`` by quaternions ``q (..., 4)``; shapes broadcast."""
    _check_last(q, 4, "quaternion")
    _check_last(v, 3, "vector")
    qvec = q[..., 1:]
    uv = _cross(qvec, v)
    uuv = _cross(qvec, uv)
    return v + 2 * (q[..., :1] * uv + uuv)


def qbetween(v0, v1):
    """Shortest-arc quaternion rotating direction ``v0`` onto ``v1`` (both ``(..., 3)``)."""
    _check_last(v0, 3, "vector")
    _check_last(v1, 3, "vector")
    v = _cross(v0, v1)
    w = _sqrt((v0 ** 2).sum(-1)[..., None] * (v1 ** 2).sum(-1)[..., None])
    dot = (v0 * v1).sum(-1)[..., None]
    return qnormalize(_cat([w + dot, v]))


def qslerp(q0, q1, t):
    """Spherical interpolation between unit quaternions; ``t`` in [0, 1] broadcasts over ``(...)``."""
    dot = (q0 * q1).sum(-1)
    q1 = _where((dot < 0)[..., None], -q1, q1)
    dot = _clip(abs(dot), 0.0, 1.0)
    t = t if hasattr(t, "shape") else _like(dot, t)
    theta = (torch.acos if _is_torch(dot) else np.arccos)(dot)
    sin_t = (torch.sin if _is_torch(dot) else np.sin)(theta)
    small = sin_t < 1e-6
    safe = _where(small, _like(sin_t, 1.0), sin_t)
    sin = torch.sin if _is_torch(dot) else np.sin
    w0 = _where(small, 1.0 - t, sin((1.0 - t) * theta) / safe)
    w1 = _where(small, t + 0 * theta, sin(t * theta) / safe)
    return qnormalize(w0[..., None] * q0 + w1[..., None] * q1)


def qfix(q):
    """Flip signs along axis 0 (time) so consecutive quaternions stay in one hemisphere."""
    _check_last(q, 4, "quaternion")
    out = q.clone() if _is_torch(q) else q.copy()
    for i in range(1, out.shape[0]):
        d = (out[i] * out[i - 1]).sum(-1)
        flip = d < 0
        out[i][flip] = -out[i][flip]
    return out


# ---------------------------------------------------------------- conversions


def quat_to_matrix(q):
    """``(..., 4)`` quaternions (need not be unit) -> ``(..., 3, 3)`` rotation matrices."""
    _check_last(q, 4, "quaternion")
    q = qnormalize(q)
    w, x, y, z = q[..., 0], q[..., 1], q[..., 2], q[..., 3]
    m = _stack([
        1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w),
        2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w),
        2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y),
    ])
    return m.reshape(*q.shape[:-1], 3, 3)


def matrix_to_quat(m):
    """``(..., 3, 3)`` rotation matrices -> unit quaternions ``(..., 4)`` with w >= 0.

    Picks, per element, the numerically best of the four classic formulas.
    """
    if tuple(m.shape[-2:]) != (3, 3):
        raise ValueError(f"rotation matrices must be (..., 3, 3), got {tuple(m.shape)}")
    m00, m01, m02 = m[..., 0, 0], m[..., 0, 1], m[..., 0, 2]
    m10, m11, m12 = m[..., 1, 0], m[..., 1, 1], m[..., 1, 2]
    m20, m21, m22 = m[..., 2, 0], m[..., 2, 1], m[..., 2, 2]
    cands = [
        _stack([1 + m00 + m11 + m22, m21 - m12, m02 - m20, m10 - m01]),
        _stack([m21 - m12, 1 + m00 - m11 - m22, m01 + m10, m02 + m20]),
        _stack([m02 - m20, m01 + m10, 1 - m00 + m11 - m22, m12 + m21]),
        _stack([m10 - m01, m02 + m20, m12 + m21, 1 - m00 - m11 + m22]),
    ]
    traces = _stack([1 + m00 + m11 + m22, 1 + m00 - m11 - m22, 1 - m00 + m11 - m22, 1 - m00 - m11 + m22])
    if _is_torch(m):
        best = traces.argmax(-1)
        stacked = torch.stack(cands, dim=-2)  # (..., 4, 4)
        q = torch.gather(stacked, -2, best[..., None, None].expand(*best.shape, 1, 4)).squeeze(-2)
        denom = torch.sqrt(torch.clamp(traces.max(-1).values, min=1e-12))[..., None] * 2
    else:
        best = traces.argmax(-1)
        stacked = np.stack(cands, axis=-2)
        q = np.take_along_axis(stacked, best[..., None, None].repeat(4, -1), axis=-2)[..., 0, :]
        denom = np.sqrt(np.maximum(traces.max(-1), 1e-12))[..., None] * 2
    q = q / denom
    q = _where(q[..., :1] < 0, -q, q)
    return qnormalize(q)


def matrix_to_cont6d(m):
    """``(..., 3, 3)`` -> ``(..., 6)``: the first two columns, as HumanML3D stores them."""
    return _cat([m[..., :, 0], m[..., :, 1]])


def cont6d_to_matrix(d6):
    """``(..., 6)`` -> ``(..., 3, 3)`` by Gram-Schmidt (HumanML3D's ``cont6d_to_matrix``)."""
    _check_last(d6, 6, "6D rotation")
    x_raw, y_raw = d6[..., 0:3], d6[..., 3:6]
    x = _safe_unit(x_raw)
    z = _safe_unit(_cross(x, y_raw))
    y = _cross(z, x)
    return _stack([x, y, z], axis=-1)


def quat_to_cont6d(q):
    """Quaternions ``(..., 4)`` -> 6D ``(..., 6)``."""
    return matrix_to_cont6d(quat_to_matrix(q))


def cont6d_to_quat(d6):
    """6D ``(..., 6)`` -> unit quaternions ``(..., 4)``."""
    return matrix_to_quat(cont6d_to_matrix(d6))


def axis_angle_to_quat(aa):
    """Axis-angle ``(..., 3)`` (angle = norm, radians) -> unit quaternions ``(..., 4)``."""
    _check_last(aa, 3, "axis-angle")
    angle = _norm(aa)
    half = angle / 2
    small = angle < 1e-6
    sin = torch.sin if _is_torch(aa) else np.sin
    cos = torch.cos if _is_torch(aa) else np.cos
    # sin(a/2)/a -> 1/2 - a^2/48 near zero (Taylor), so tiny angles stay exact and differentiable.
    safe = _where(small, _like(angle, 1.0), angle)
    k = _where(small, 0.5 - angle * angle / 48.0, sin(half) / safe)
    return _cat([cos(half), aa * k])


def quat_to_axis_angle(q):
    """Unit quaternions ``(..., 4)`` -> axis-angle ``(..., 3)`` with angle in [0, pi]."""
    _check_last(q, 4, "quaternion")
    q = qnormalize(q)
    q = _where(q[..., :1] < 0, -q, q)
    xyz = q[..., 1:]
    s = _norm(xyz)
    angle = 2 * _atan2(s, q[..., :1])
    small = s < 1e-6
    safe = _where(small, _like(s, 1.0), s)
    k = _where(small, 2.0 + 0 * s, angle / safe)
    return xyz * k


def axis_angle_to_matrix(aa):
    """Axis-angle ``(..., 3)`` -> ``(..., 3, 3)``."""
    return quat_to_matrix(axis_angle_to_quat(aa))


def matrix_to_axis_angle(m):
    """``(..., 3, 3)`` -> axis-angle ``(..., 3)``."""
    return quat_to_axis_angle(matrix_to_quat(m))


def quat_from_euler_y(angle):
    """Rotation about +Y (yaw) by ``angle`` radians, ``(...)`` -> ``(..., 4)``."""
    if _is_torch(angle):
        z = torch.zeros_like(angle)
        return torch.stack([torch.cos(angle / 2), z, torch.sin(angle / 2), z], dim=-1)
    angle = np.asarray(angle, dtype=np.float64)
    z = np.zeros_like(angle)
    return np.stack([np.cos(angle / 2), z, np.sin(angle / 2), z], axis=-1)


def quat_from_axis(axis, angle):
    """Rotation of ``angle`` radians ``(...)`` about a fixed unit ``axis`` (3,) -> ``(..., 4)``."""
    axis = np.asarray(axis, dtype=np.float64)
    axis = axis / (np.linalg.norm(axis) + _EPS)
    angle = np.asarray(angle, dtype=np.float64)
    return np.concatenate([np.cos(angle / 2)[..., None], np.sin(angle / 2)[..., None] * axis], axis=-1)


__all__ = [
    "qnormalize", "qinv", "qmul", "qrot", "qbetween", "qslerp", "qfix",
    "quat_to_matrix", "matrix_to_quat", "matrix_to_cont6d", "cont6d_to_matrix",
    "quat_to_cont6d", "cont6d_to_quat", "axis_angle_to_quat", "quat_to_axis_angle",
    "axis_angle_to_matrix", "matrix_to_axis_angle", "quat_from_euler_y", "quat_from_axis",
]

