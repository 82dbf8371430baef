"""Analytic inverse kinematics: 22 joint positions -> SMPL-style local joint rotations.

No optimisation: every joint's world rotation is built from bone directions (swing) plus a twist
taken from a neighbouring joint (the knee / elbow bend plane, the foot direction, the hip and
collar lines), for all frames at once.

Rest pose. SMPL's rotations are relative to *its* rest pose, a T-pose (arms out along +-X, feet
slightly forward), not HumanML3D's canonical rest (arms hanging down). So the swing of every bone
is measured from the T-pose bone directions of ``SMPL_REST_JOINTS`` (the SMPL-X neutral skeleton,
left/right symmetrised), while the bone *lengths* are the motion's own. The two rigid groups with
several children (pelvis -> hips + spine, chest -> neck + collars) keep the motion's own shape,
expressed in the T-pose frame of that group. Forward kinematics with the returned ``rest_joints``
therefore reproduces the input joints (up to how much the input's bone lengths vary).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .rotations import matrix_to_quat, qfix, quat_to_axis_angle
from .skeleton import HUMANML3D, forward_kinematics

NUM_JOINTS = 22
PARENTS = np.array(HUMANML3D.parents)

# SMPL-X neutral body joints (zero shape) in the model's own frame: metres, Y up, facing +Z,
# left = +X, T-pose. Taken from the mannequin-x package's SMPL-X calibration (Apache-2.0) and
# made exactly left/right symmetric.
SMPL_REST_JOINTS = np.array([
    [0.0, -0.3514, 0.0120], [0.0607, -0.4497, -0.0116], [-0.0607, -0.4497, -0.0116],
    [0.0, -0.2415, -0.0156], [0.1102, -0.8203, -0.0247], [-0.1102, -0.8203, -0.0247],
    [0.0, -0.1097, -0.0215], [0.0807, -1.2272, -0.0507], [-0.0807, -1.2272, -0.0507],
    [0.0, -0.0574, 0.0069], [0.1238, -1.2854, 0.0679], [-0.1238, -1.2854, 0.0679],
    [0.0, 0.1077, -0.0247], [0.0470, 0.0272, -0.0034], [-0.0470, 0.0272, -0.0034],
    [0.0, 0.2682, -0.0040], [0.1579, 0.0828, -0.0174], [-0.1579, 0.0828, -0.0174],
    [0.4206, 0.0285, -0.0519], [-0.4206, 0.0285, -0.0519], [0.6712, 0.0379, -0.0608],
    [-0.6712, 0.0379, -0.0608],
])

# The child whose bone direction drives each single-child joint's swing.
_SINGLE_CHILD = {1: 4, 2: 5, 3: 6, 4: 7, 5: 8, 6: 9, 7: 10, 8: 11, 12: 15, 13: 16, 14: 17,
                 16: 18, 17: 19, 18: 20, 19: 21}
_LEAVES = (10, 11, 15, 20, 21)
# Rigid groups: joint -> (left child, right child, "up" child) defining its frame.
_GROUPS = {0: (1, 2, 3), 9: (13, 14, 12)}
# Twist rules: hip -> (knee, ankle, foot); shoulder -> (elbow, wrist).
_HIPS = {1: (4, 7, 10), 2: (5, 8, 11)}
_SHOULDERS = {16: (18, 20), 17: (19, 21)}
_EPS = 1e-8
# Weights of the roll fallbacks against a hinge's bend (sine of its angle): a straight arm keeps
# its inherited roll, a straight leg follows the foot. Tuned on CMU clips for no flips.
_KEEP, _FOOT = 0.15, 0.3


@dataclass
class SMPLPose:
    """SMPL-convention pose sequence for the 22 body joints.

    Attributes:
        poses: ``(T, 66)`` float32 axis-angle, joint 0 = global orientation then 21 body joints
            (SMPL / SMPL-H / SMPL-X body order), relative to the T-pose rest.
        trans: ``(T, 3)`` float32 root translation in metres; the pelvis sits at
            ``trans + rest_joints[0]`` as in SMPL (``rest_joints[0]`` is SMPL's rest pelvis).
        quats: ``(T, 22, 4)`` float32 local rotations (w, x, y, z), sign-continuous over time.
        rest_joints: ``(22, 3)`` float64 rest (T-pose) joint positions with the motion's bone
            lengths; forward kinematics with these reproduces the input joints.
        fps: frames per second.
    """

    poses: np.ndarray
    trans: np.ndarray
    quats: np.ndarray
    rest_joints: np.ndarray
    fps: float = 20.0

    @property
    def num_frames(self) -> int:
        return int(self.poses.shape[0])

    @property
    def global_orient(self) -> np.ndarray:
        """``(T, 3)`` axis-angle of the pelvis."""
        return self.poses[:, :3]

    @property
    def body_pose(self) -> np.ndarray:
        """``(T, 63)`` axis-angle of joints 1..21."""
        return self.poses[:, 3:]

    @property
    def rest_offsets(self) -> np.ndarray:
        """``(22, 3)`` rest offsets of each joint from its parent (joint 0: zero)."""
        off = self.rest_joints - self.rest_joints[np.maximum(PARENTS, 0)]
        off[0] = 0.0
        return off


def validate_joints(joints, name: str = "joints") -> np.ndarray:
    """Check a ``(T, 22, 3)`` joint array and return it as float64; raise ValueError otherwise.

    KIT-ML's ``(T, 21, 3)`` joints (millimetres or metres) are accepted too and put on the 22-joint
    body (:func:`easytune_core.motion.kit_body.kit_to_body_joints`).
    """
    arr = np.asarray(joints)
    if arr.dtype == object or not np.issubdtype(arr.dtype, np.number):
        raise ValueError(f"{name} must be a numeric array of shape (T, 22, 3), got dtype {arr.dtype}")
    if arr.ndim == 3 and arr.shape[1:] == (21, 3) and arr.shape[0] > 0 and np.isfinite(arr).all():
        from .kit_body import kit_to_body_joints
        arr = kit_to_body_joints(arr)
    if arr.ndim != 3 or arr.shape[1:] != (NUM_JOINTS, 3):
        raise ValueError(f"{name} must have shape (T, 22, 3) (frames, joints, xyz in metres), "
                         f"got {arr.shape}")
    if arr.shape[0] == 0:
        raise ValueError(f"{name} has zero frames; need at least 1")
    if not np.isfinite(arr).all():
        bad = np.argwhere(~np.isfinite(arr).all(axis=(1, 2)))[:, 0]
        raise ValueError(f"{name} contains NaN or infinite values (first bad frame {int(bad[0])} "
                         f"of {arr.shape[0]}); clean the motion first")
    return arr.astype(np.float64)


def _unit(v: np.ndarray, fallback: np.ndarray | None = None) -> np.ndarray:
    n = np.linalg.norm(v, axis=-1, keepdims=True)
    out = v / np.maximum(n, _EPS)
    if fallback is not None:
        out = np.where(n > 1e-6, out, np.broadcast_to(fallback, out.shape))
    return out


def _rot_between(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``(..., 3, 3)`` shortest-arc rotation taking unit ``a`` onto unit ``b`` (robust at 180 deg)."""
    v = np.cross(a, b)
    c = np.sum(a * b, axis=-1)[..., None, None]
    vx = np.zeros(v.shape + (3,))
    vx[..., 0, 1], vx[..., 0, 2] = -v[..., 2], v[..., 1]
    vx[..., 1, 0], vx[..., 1, 2] = v[..., 2], -v[..., 0]
    vx[..., 2, 0], vx[..., 2, 1] = -v[..., 1], v[..., 0]
    eye = np.eye(3)
    R = eye + vx + vx @ vx / np.maximum(1.0 + c, 1e-9)
    # Nearly opposite directions: turn half way round any axis perpendicular to a.
    opp = c[..., 0, 0] < -0.99999
    if np.any(opp):
        aa = a[opp]
        helper = np.where(np.abs(aa[:, :1]) < 0.9, [[1.0, 0, 0]], [[0, 1.0, 0]])
        n = _unit(np.cross(aa, helper))
        R[opp] = 2 * n[:, :, None] * n[:, None, :] - eye
    return R


def _axis_rot(axis: np.ndarray, angle: np.ndarray) -> np.ndarray:
    """``(..., 3, 3)`` rotation by ``angle`` (radians) about unit ``axis`` (Rodrigues)."""
    x, y, z = axis[..., 0], axis[..., 1], axis[..., 2]
    c, s = np.cos(angle), np.sin(angle)
    C = 1 - c
    return np.stack([
        np.stack([c + x * x * C, x * y * C - z * s, x * z * C + y * s], -1),
        np.stack([y * x * C + z * s, c + y * y * C, y * z * C - x * s], -1),
        np.stack([z * x * C - y * s, z * y * C + x * s, c + z * z * C], -1),
    ], -2)


def _perp(v: np.ndarray, axis: np.ndarray) -> np.ndarray:
    return v - np.sum(v * axis, -1, keepdims=True) * axis


def smooth_time(z: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian smoothing along axis 0 with edge padding (no-op for sigma <= 0 or T == 1)."""
    if sigma <= 0 or z.shape[0] < 2:
        return z
    r = int(np.ceil(3 * sigma))
    k = np.exp(-0.5 * (np.arange(-r, r + 1) / sigma) ** 2)
    k /= k.sum()
    zp = np.concatenate([np.repeat(z[:1], r, 0), z, np.repeat(z[-1:], r, 0)])
    return sum(k[i] * zp[i:i + z.shape[0]] for i in range(2 * r + 1))


def _roll_phasor(W: np.ndarray, bone: np.ndarray, rest_ref: np.ndarray, want: np.ndarray) -> np.ndarray:
    """``(T, 2)`` (cos, sin) of the roll about ``bone`` taking ``W @ rest_ref`` onto ``want``,
    scaled by ``|want|`` perpendicular to the bone (its confidence)."""
    cur = _unit(_perp(W @ rest_ref, bone))
    want = _perp(want, bone)
    return np.stack([np.sum(cur * want, -1), np.sum(np.cross(cur, want) * bone, -1)], -1)


def _hinge_phasor(W: np.ndarray, bone: np.ndarray, r_bone: np.ndarray, r_child: np.ndarray,
                  child: np.ndarray, bend: float) -> np.ndarray:
    """``(T, 2)`` roll phasor about ``bone`` that lets a hinge joint reach ``child``.

    The hinge (knee, elbow) turns about ``a``, perpendicular to the rest bone and to +Z, so a
    bend swings the child bone towards ``bend`` * Z (forward for elbows, back for knees). The
    child direction must keep the rest component along ``a`` (the rest pose's own kink); of the
    two rolls that satisfy this, the one bending the right way is taken. Confidence: how far
    the child bone leaves the bone's line.
    """
    fwd = _unit(_perp(np.array([0, 0, 1.0]), r_bone))
    a = np.cross(r_bone, fwd)
    A = W @ a
    F0 = np.cross(A, bone)  # = W @ fwd
    p, q = np.sum(A * child, -1), np.sum(np.cross(bone, A) * child, -1)
    R = np.hypot(p, q)
    alpha = np.arctan2(q, p)
    delta = np.arccos(np.clip((a @ r_child) / np.maximum(R, 1e-9), -1.0, 1.0))
    best = None
    for phi in (alpha + delta, alpha - delta):
        F = np.cos(phi)[:, None] * F0 + np.sin(phi)[:, None] * np.cross(bone, F0)
        score = bend * np.sum(F * child, -1)
        best = (phi, score) if best is None else (np.where(score > best[1], phi, best[0]),
                                                   np.maximum(score, best[1]))
    conf = np.linalg.norm(_perp(child, bone), axis=-1)
    return np.stack([np.cos(best[0]), np.sin(best[0])], -1) * conf[:, None]


def _apply_roll(W: np.ndarray, bone: np.ndarray, phasor: np.ndarray, sigma: float) -> np.ndarray:
    """Turn ``W`` about ``bone`` by the angle of ``phasor`` (smoothed over time with ``sigma``).

    Smoothing the confidence-weighted phasor lets frames where the roll is clear (a bent knee or
    elbow) decide it for neighbours where it is not (a straight limb), so the roll cannot flip.
    Turning a joint about its own bone leaves every position unchanged.
    """
    z = smooth_time(phasor, sigma)
    angle = np.where(np.hypot(z[:, 0], z[:, 1]) > 1e-12, np.arctan2(z[:, 1], z[:, 0]), 0.0)
    return _axis_rot(bone, angle) @ W


def _group_frame(left: np.ndarray, right: np.ndarray, up: np.ndarray) -> np.ndarray:
    """``(..., 3, 3)`` orthonormal frame (columns x=left, y=up, z=forward) of a rigid group."""
    x = _unit(left - right, np.array([1.0, 0, 0]))
    z = _unit(np.cross(x, up), np.array([0, 0, 1.0]))
    y = np.cross(z, x)
    return np.stack([x, y, z], axis=-1)


def joints_to_smpl(joints, fps: float = 20.0, template: np.ndarray | None = None,
                   smooth: float = 1.5) -> SMPLPose:
    """Fit SMPL-convention local rotations to joint positions, analytically.

    Args:
        joints: ``(T, 22, 3)`` HumanML3D / SMPL joint positions in metres, Y up.
        fps: frame rate stored in the result.
        template: optional ``(22, 3)`` T-pose rest joints whose bone directions define "zero
            rotation" (default ``SMPL_REST_JOINTS``; a body model's own rest joints also work).
        smooth: time scale (frames, Gaussian sigma) over which the hip / shoulder roll is
            smoothed where the knee / elbow is nearly straight; 0 = per frame. Positions are
            unaffected (the roll turns a bone about itself).

    Returns:
        ``SMPLPose`` whose forward kinematics (``smpl_to_joints``) reproduces ``joints``.
    """
    P = validate_joints(joints)
    tmpl = SMPL_REST_JOINTS if template is None else np.asarray(template, dtype=np.float64)
    if tmpl.shape != (NUM_JOINTS, 3):
        raise ValueError(f"template must be (22, 3) rest joints, got {tmpl.shape}")
    T = P.shape[0]
    par = np.maximum(PARENTS, 0)
    rest_dir = _unit(tmpl - tmpl[par])
    lengths = np.linalg.norm(P - P[:, par], axis=-1).mean(axis=0)

    offsets = rest_dir * lengths[:, None]
    offsets[0] = 0.0
    W = np.zeros((T, NUM_JOINTS, 3, 3))
    group_rot = {}
    for j, (lc, rc, uc) in _GROUPS.items():
        kids = (lc, rc, uc)
        d = P[:, kids] - P[:, j:j + 1]  # (T, 3, 3) child offsets
        F = _group_frame(P[:, lc], P[:, rc], P[:, uc] - P[:, j])
        F_rest = _group_frame(tmpl[lc], tmpl[rc], tmpl[uc] - tmpl[j])
        # The motion's own shape of this group (mean over frames, in the group's frame)...
        local = np.einsum("tji,tkj->tki", F, d).mean(axis=0)
        # ...and per frame the rotation that best fits it (Kabsch): mocap groups are not
        # perfectly rigid (e.g. CMU's hip joints have their own channels).
        for _ in range(2):
            U, _s, Vt = np.linalg.svd(np.einsum("ki,tkj->tij", local, d))
            sign = np.sign(np.linalg.det(np.swapaxes(Vt, -1, -2) @ np.swapaxes(U, -1, -2)))
            D = np.zeros((T, 3, 3))
            D[:, 0, 0] = D[:, 1, 1] = 1.0
            D[:, 2, 2] = sign
            R = np.swapaxes(Vt, -1, -2) @ D @ np.swapaxes(U, -1, -2)
            local = np.einsum("tji,tkj->tki", R, d).mean(axis=0)
        for k, c in enumerate(kids):
            offsets[c] = F_rest @ local[k]  # placed in the T-pose frame of the group
        group_rot[j] = R @ F_rest.T

    for j in range(NUM_JOINTS):
        p = PARENTS[j]
        if j in group_rot:
            W[:, j] = group_rot[j]
            continue
        if j in _LEAVES:
            W[:, j] = W[:, p]
            continue
        c = _SINGLE_CHILD[j]
        bone = _unit(P[:, c] - P[:, j], W[:, p] @ rest_dir[c])
        Wj = _rot_between(W[:, p] @ rest_dir[c], bone) @ W[:, p]
        if j in _HIPS:
            knee, ankle, foot = _HIPS[j]
            # The knee's hinge sets the thigh's roll; a straight leg takes it from the foot
            # (relative to the rest foot, which turns out a little).
            z = _hinge_phasor(Wj, bone, rest_dir[c], rest_dir[ankle], _unit(P[:, ankle] - P[:, knee]), -1.0)
            rest_foot = _unit(_perp(rest_dir[foot], rest_dir[c]))
            z = z + _FOOT * _unit(_roll_phasor(Wj, bone, rest_foot, P[:, foot] - P[:, ankle]))
            Wj = _apply_roll(Wj, bone, z, smooth)
        elif j in _SHOULDERS:
            elbow, wrist = _SHOULDERS[j]
            # The elbow's hinge sets the upper arm's roll; a straight arm keeps the roll it
            # inherits from the collar.
            z = _hinge_phasor(Wj, bone, rest_dir[c], rest_dir[wrist], _unit(P[:, wrist] - P[:, elbow]), 1.0)
            z = z + _KEEP * np.array([1.0, 0.0])
            Wj = _apply_roll(Wj, bone, z, smooth)
        W[:, j] = Wj

    # Spread the chest's twist about the spine over spine1 / spine2 so the torso skin does not
    # wring at one joint (a turn about a joint's own bone keeps every position).
    rel = np.swapaxes(W[:, 6], -1, -2) @ W[:, 9]
    tau = np.arctan2(rel[:, 0, 2] - rel[:, 2, 0], rel[:, 0, 0] + rel[:, 2, 2])
    for j, frac in ((3, 1 / 3), (6, 2 / 3)):
        bone = _unit(P[:, _SINGLE_CHILD[j]] - P[:, j], np.array([0, 1.0, 0]))
        W[:, j] = _axis_rot(bone, frac * tau) @ W[:, j]

    local = W.copy()
    local[:, 1:] = np.swapaxes(W[:, par[1:]], -1, -2) @ W[:, 1:]
    q = matrix_to_quat(local)
    q = q / np.linalg.norm(q, axis=-1, keepdims=True)
    canon = np.where(q[..., :1] < 0, -q, q)  # axis-angle with angle <= pi
    poses = quat_to_axis_angle(canon).reshape(T, NUM_JOINTS * 3)
    rest_joints = np.zeros((NUM_JOINTS, 3))
    rest_joints[0] = tmpl[0]
    for j in range(1, NUM_JOINTS):
        rest_joints[j] = rest_joints[PARENTS[j]] + offsets[j]
    return SMPLPose(
        poses=poses.astype(np.float32),
        trans=(P[:, 0] - tmpl[0]).astype(np.float32),
        quats=qfix(q).astype(np.float32),
        rest_joints=rest_joints,
        fps=float(fps),
    )


def smpl_to_joints(pose: SMPLPose, rest_joints: np.ndarray | None = None) -> np.ndarray:
    """Forward kinematics of an ``SMPLPose``: ``(T, 22, 3)`` float32 joint positions (metres).

    ``rest_joints`` (``(22, 3)``) replaces the pose's own rest skeleton, e.g. a body model's.
    """
    rest = pose.rest_joints if rest_joints is None else np.asarray(rest_joints, np.float64)
    off = rest - rest[np.maximum(PARENTS, 0)]
    off[0] = 0.0
    root = pose.trans.astype(np.float64) + rest[0]
    return forward_kinematics(pose.quats.astype(np.float64), root, HUMANML3D, offsets=off).astype(np.float32)


__all__ = ["SMPLPose", "SMPL_REST_JOINTS", "joints_to_smpl", "smpl_to_joints", "validate_joints"]
