"""Limb inverse kinematics for the solver: legs (flat feet, toes), knees and hands.

Every routine takes local rotations ``q (T, 22, 4)`` (heading already in the pelvis), the
world joint positions ``world (T, 22, 3)`` of that pose, and per-frame targets with weights;
it changes only the joints of one limb and leaves the other chains alone, so limbs can be
solved one after the other from the same ``world``.
"""

from __future__ import annotations

import numpy as np

from ...motion.rotations import qbetween, qinv, qmul, qrot, qslerp
from ...motion.skeleton import HUMANML3D
from .pose import ANKLE_NEUTRAL, rot_x, smoothstep

PARENTS = HUMANML3D.parents


def world_rotation(q: np.ndarray, joint: int) -> np.ndarray:
    """``(T, 4)`` world rotation of ``joint`` (product of the local rotations up its chain)."""
    chain = []
    j = joint
    while j >= 0:
        chain.append(j)
        j = PARENTS[j]
    out = q[:, chain[-1]]
    for j in reversed(chain[:-1]):
        out = qmul(out, q[:, j])
    return out


def _blend_rotation(dq: np.ndarray, w: np.ndarray) -> np.ndarray:
    """``dq`` applied with weight ``w`` (T,) (slerp from the identity)."""
    ident = np.zeros_like(dq)
    ident[:, 0] = 1.0
    return qslerp(ident, dq, w)


def two_bone(q, world, root_j, mid_j, end_j, target, weight, a, b, hinge_sign):
    """Two-bone IK of the chain ``root_j -> mid_j -> end_j`` (hip-knee-ankle or shoulder-elbow-wrist).

    The middle joint is a hinge about its local X axis (``hinge_sign`` +1 for knees, whose
    flexion is +X, -1 for elbows); the root joint turns on the shortest arc so that the end
    reaches ``target`` ``(T, 3)`` blended in by ``weight`` ``(T,)``. Returns the new ``q``.
    """
    q = q.copy()
    on = weight > 1e-4
    if not on.any():
        return q
    R = world[on, root_j]
    cur = world[on, end_j]
    tgt = cur + (target[on] - cur) * weight[on, None]
    d = np.clip(np.linalg.norm(tgt - R, axis=-1), abs(a - b) + 1e-3, (a + b) * 0.9995)
    kappa = np.arccos(np.clip((d * d - a * a - b * b) / (2 * a * b), -1.0, 1.0))
    n = len(d)
    loc = np.stack([np.zeros(n), -a - b * np.cos(kappa), -hinge_sign * b * np.sin(kappa)], -1)
    parent_w = world_rotation(q[on], PARENTS[root_j])
    root_w = qmul(parent_w, q[on, root_j])
    dq = qbetween(qrot(root_w, loc), tgt - R)
    # A weak target blends the solved rotations in rather than replacing the keyed ones outright:
    # the solution can turn the limb about its own axis away from the keyed pose, and switching
    # to it the frame a weight leaves zero would flick the knee (or elbow) sideways.
    new_root = qmul(qinv(parent_w), qmul(dq, root_w))
    new_mid = rot_x(hinge_sign * np.degrees(kappa))
    s = _soft_on(weight[on])
    part = s < 1.0
    if part.any():
        new_root[part] = qslerp(q[on, root_j][part], new_root[part], s[part])
        new_mid[part] = qslerp(q[on, mid_j][part], new_mid[part], s[part])
    q[on, root_j], q[on, mid_j] = new_root, new_mid
    return q


SOFT_ON = 0.25  # IK targets weighted at least this much set the limb fully


def _soft_on(w: np.ndarray) -> np.ndarray:
    """How much of an IK solution a target of weight ``w`` takes (0 at 0, 1 from ``SOFT_ON``, smooth)."""
    return smoothstep(w / SOFT_ON)


def aim_thigh(q, world, hip_j, knee_j, target, weight, thigh_len):
    """Turn the thigh so the knee rests at ``target``'s height, as close to it as the thigh allows.

    The knee stays at ``thigh_len`` from the hip: its height is matched exactly (when reachable)
    and its horizontal direction points at the target. The knee hinge and the shin keep their
    local angles. Blended in by ``weight`` (T,).
    """
    q = q.copy()
    on = weight > 1e-4
    if not on.any():
        return q
    H = world[on, hip_j]
    cur = world[on, knee_j] - H
    tgt = target[on]
    uy = np.clip((tgt[:, 1] - H[:, 1]) / thigh_len, -0.999, 0.999)
    horiz = (tgt - H)[:, [0, 2]]
    hn = np.linalg.norm(horiz, axis=-1, keepdims=True)
    cur_h = cur[:, [0, 2]]
    horiz = np.where(hn > 1e-4, horiz / np.maximum(hn, 1e-9), cur_h / np.maximum(np.linalg.norm(cur_h, axis=-1, keepdims=True), 1e-9))
    m = np.sqrt(1 - uy ** 2)[:, None]
    want = np.stack([horiz[:, 0] * m[:, 0], uy, horiz[:, 1] * m[:, 0]], -1)
    dq = _blend_rotation(qbetween(cur, want), weight[on])
    parent_w = world_rotation(q[on], PARENTS[hip_j])
    hip_w = qmul(parent_w, q[on, hip_j])
    q[on, hip_j] = qmul(qinv(parent_w), qmul(dq, hip_w))
    return q


def foot_rotation(q, knee_j, ankle_j, world_target, weight):
    """Set the ankle so the foot's world rotation moves toward ``world_target`` (T, 4) by ``weight``."""
    q = q.copy()
    on = weight > 1e-4
    if on.any():
        knee_w = world_rotation(q[on], knee_j)
        want = qmul(qinv(knee_w), world_target[on])
        q[on, ankle_j] = qslerp(q[on, ankle_j], want, weight[on])
    return q


def flat_foot_world(yaw: np.ndarray) -> np.ndarray:
    """World rotation ``(T, 4)`` of a planted foot facing ``yaw`` radians."""
    half = yaw / 2
    y = np.stack([np.cos(half), np.zeros_like(half), np.sin(half), np.zeros_like(half)], -1)
    return qmul(y, rot_x(np.full(len(yaw), ANKLE_NEUTRAL)))


__all__ = ["world_rotation", "two_bone", "aim_thigh", "foot_rotation", "flat_foot_world"]


def leg_clearance(q, world, hip_j, knee_j, ankle_j, toe_j, offsets, free, ankle_min, toe_min=0.005, loose=None):
    """Bend or straighten the knee of a leg that has no foot on the ground so that its ankle and
    toe stay above the floor (a kneeling shin, legs lying face down, legs folding while sitting).

    ``free`` (T,) marks the frames to fix. Per frame, the smallest change of knee angle (degrees,
    on a 5-degree grid) that puts the ankle at or above ``ankle_min`` and the toe at or above
    ``toe_min`` is found; each run of such frames keeps one direction (bending or straightening,
    whichever works on more of its frames) so the shin does not flip, and the change is spread
    over neighbouring frames (those marked ``loose``: a foot pinned to the floor is never moved).
    """
    q = q.copy()
    H = world[:, hip_j]
    hip_w = world_rotation(q, hip_j)
    kappa = np.degrees(2 * np.arctan2(q[:, knee_j, 1], q[:, knee_j, 0]))
    K = H + qrot(hip_w, np.broadcast_to(offsets[knee_j], H.shape))

    def ok_at(k, rows=slice(None)):
        """Whether knee angles ``k`` ((n,) or (n, D) degrees) clear the floor on frames ``rows``."""
        k = np.asarray(k, float)
        extra = k.shape[1:]
        hw = hip_w[rows].reshape((-1,) + (1,) * len(extra) + (4,))
        kn_w = qmul(np.broadcast_to(hw, k.shape + (4,)), rot_x(k))
        base = K[rows].reshape((-1,) + (1,) * len(extra) + (3,))
        A = base + qrot(kn_w, np.broadcast_to(offsets[ankle_j], k.shape + (3,)))
        qa = q[rows, ankle_j].reshape((-1,) + (1,) * len(extra) + (4,))
        toe = A + qrot(qmul(kn_w, np.broadcast_to(qa, k.shape + (4,))), np.broadcast_to(offsets[toe_j], k.shape + (3,)))
        return (A[..., 1] >= ankle_min) & (toe[..., 1] >= toe_min)

    bad = free & ~ok_at(kappa)
    if not bad.any():
        return q
    rows = np.flatnonzero(bad)
    deltas = np.arange(5, 155, 5, dtype=float)
    found = {}
    for sign in (1.0, -1.0):
        k = kappa[rows, None] + sign * deltas[None, :]
        hit = ok_at(np.clip(k, 0.0, 155.0), rows) & (k >= 0.0) & (k <= 155.0)
        first = np.where(hit.any(1), sign * deltas[np.argmax(hit, 1)], np.nan)
        need = np.full(len(q), np.nan)
        need[rows] = first
        found[sign] = need
    signed = np.zeros(len(q))
    for s0, e0 in _runs(bad):
        pos, neg = found[1.0][s0:e0], found[-1.0][s0:e0]
        use = pos if np.isfinite(pos).sum() >= np.isfinite(neg).sum() else neg  # bending wins a tie
        if np.isfinite(use).any():
            fill = use[np.isfinite(use)][np.argmax(np.abs(use[np.isfinite(use)]))]
            signed[s0:e0] = np.where(np.isfinite(use), use, fill)
    # Ease in and out over two frames on each side of every run, and smooth inside it; a frame
    # the smoothing leaves short of the floor keeps its own (tested) value.
    raw = signed.copy()
    for s0, e0 in _runs(bad):
        a, b = max(0, s0 - 2), min(len(q), e0 + 2)
        seg = np.pad(raw[s0:e0], (s0 - a, b - e0), mode="edge") * np.r_[np.linspace(0.33, 0.67, s0 - a), np.ones(e0 - s0),
                                                                        np.linspace(0.67, 0.33, b - e0)]
        signed[a:b] = np.convolve(np.pad(seg, 1, mode="edge"), [0.25, 0.5, 0.25], mode="valid")
    fails = bad & ~ok_at(np.clip(kappa + signed, 0.0, 155.0))
    signed[fails] = raw[fails]
    on = (np.abs(signed) > 0.05) & (free if loose is None else loose)
    q[on, knee_j] = rot_x(np.clip(kappa[on] + signed[on], 0.0, 155.0))
    return q


def _runs(mask: np.ndarray):
    m = np.concatenate([[False], mask, [False]]).astype(np.int8)
    d = np.diff(m)
    return list(zip(np.flatnonzero(d == 1), np.flatnonzero(d == -1)))


def toe_clearance(q, world, hip_j, knee_j, ankle_j, toe_j, offsets, toe_min=0.0):
    """Lift a toe that dips below the floor by turning the foot up about the ankle (the
    smallest dorsi-flexion on a 3-degree grid, up to 45 degrees, that clears ``toe_min``)."""
    hip_w = world_rotation(q, hip_j)
    knee_w = qmul(hip_w, q[:, knee_j])
    A = world[:, hip_j] + qrot(hip_w, np.broadcast_to(offsets[knee_j], (len(q), 3))) + \
        qrot(knee_w, np.broadcast_to(offsets[ankle_j], (len(q), 3)))
    toe_y = lambda qa: (A + qrot(qmul(knee_w, qa), np.broadcast_to(offsets[toe_j], (len(q), 3))))[:, 1]
    bad = toe_y(q[:, ankle_j]) < toe_min
    if not bad.any():
        return q
    q = q.copy()
    rows = np.flatnonzero(bad)
    degs = np.arange(3.0, 48.0, 3.0)
    cand = qmul(np.broadcast_to(q[rows, ankle_j][:, None], (len(rows), len(degs), 4)), rot_x(-degs)[None])
    kw = np.broadcast_to(knee_w[rows][:, None], cand.shape)
    ty = (A[rows][:, None] + qrot(qmul(kw, cand), np.broadcast_to(offsets[toe_j], cand.shape[:-1] + (3,))))[..., 1]
    hit = ty >= toe_min
    need = np.zeros(len(q))
    need[rows] = np.where(hit.any(1), degs[np.argmax(hit, 1)], 45.0)
    # Spread each lift over its neighbouring frames so the foot turns up and back smoothly.
    pad = np.pad(need, 3, mode="edge")
    need = np.lib.stride_tricks.sliding_window_view(pad, 7).max(-1)
    k = np.hanning(9)[1:-1]
    need = np.convolve(np.pad(need, 3, mode="edge"), k / k.sum(), mode="valid")
    on = need > 0.05
    q[on, ankle_j] = qmul(q[on, ankle_j], rot_x(-need[on]))
    return q
