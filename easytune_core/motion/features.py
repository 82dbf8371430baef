"""Joint positions <-> HumanML3D / KIT-ML feature vectors.

``joints_to_features`` follows HumanML3D's published ``process_file``
(``motion_representation.ipynb``) step by step, so that a motion processed here gives the
numbers HumanML3D's own script gives (to float32 precision; the published script computes
its quaternion algebra in float32, we compute in float64):

1. retarget to the canonical skeleton (``uniform_skeleton``): scale the root trajectory by
   the ratio of lower-leg lengths, keep every bone's direction, give it the canonical length;
2. put the lowest joint of the whole clip on the floor (y = 0);
3. move the first frame's root to x = z = 0;
4. rotate about Y so that the first frame faces +Z (hips and shoulders, "across" vector);
5. foot contacts: squared per-frame displacement of heel/ankle and toe below a threshold;
6. per-frame IK with a Gaussian-smoothed (sigma 20 frames) facing direction: root yaw,
   local joint rotations as 6D, root velocity in the facing frame and yaw velocity;
7. root-relative joint positions in the facing frame ("ric"), and joint velocities rotated by
   the previous frame's facing.

Per frame the 263 (HumanML3D) / 251 (KIT) numbers are::

    [0]      root yaw velocity (arcsin of the yaw-delta quaternion's y part, i.e. half-angle)
    [1:3]    root x/z velocity in the facing frame
    [3]      root height
    [4:4+3(J-1)]            joints 1..J-1 relative to the root, facing frame
    [..:+6(J-1)]            6D local rotations of joints 1..J-1
    [..:+3J]                joint velocities (all J joints)
    [-4:]    foot contacts (left heel/ankle, left toe, right heel/ankle, right toe)

Quirks of the published code are kept on purpose because they are in the released data:

- the per-frame IK facing uses ``(l_hip - r_hip) + (r_shoulder - l_shoulder)`` (its
  ``inverse_kinematics_np`` unpacks the face joints in another order than ``process_file``;
  HumanML3D issue #131);
- the IK sets the first frame's root rotation to identity (``root_quat[0] = (1, 0, 0, 0)``,
  HumanML3D issues #45/#74: the maintainer kept it because the released data was made with it);
- every kinematic chain restarts from the root rotation, also the arm chains (issue #119);
- the yaw velocity is ``arcsin`` of the delta quaternion's y part without making its w
  positive, so the one frame where the smoothed facing crosses -Z (a turn past 180 degrees
  from the start) gets the sign of its turn flipped (issue #156). ``fix_yaw_wrap=True``
  repairs that (then the features differ from the released data on that frame, but the
  round trip is lossless);
- the joint velocities use the facing of the *earlier* frame, the root velocity the *later*.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from scipy.ndimage import gaussian_filter1d

from .rotations import qinv, qmul, qrot, quat_to_cont6d
from .skeleton import Skeleton, get_skeleton

__all__ = [
    "FeatureSpec",
    "feature_spec",
    "joints_to_features",
    "features_to_joints",
    "recover_root",
    "canonicalize_joints",
    "retarget_joints",
    "mirror_joints",
    "mirror_features",
    "feature_slices",
    "offsets_from_joints",
]


@dataclass(frozen=True)
class FeatureSpec:
    """Per-dataset settings of HumanML3D's processing script.

    Attributes:
        leg_joints: the two joints whose bones (to their parents) give the leg length used for
            the retargeting scale (HumanML3D: r_knee 5, r_ankle 8; KIT: 17, 18).
        feet_threshold: squared per-frame displacement below which a foot joint is in contact
            (HumanML3D 0.002 m^2, KIT 0.05 in KIT's millimetre units).
        smooth_sigma: Gaussian sigma (frames) of the facing-direction smoothing.
        units_per_metre: unit of the default target skeleton (and so of the features):
            1 for HumanML3D (metres), 1000 for KIT-ML (millimetres).
    """

    leg_joints: tuple
    feet_threshold: float
    smooth_sigma: float = 20.0
    units_per_metre: float = 1.0

    def __post_init__(self):
        if len(self.leg_joints) != 2:
            raise ValueError(f"leg_joints must name 2 joints, got {self.leg_joints}")
        if not self.feet_threshold > 0:
            raise ValueError(f"feet_threshold must be > 0, got {self.feet_threshold}")


_SPECS = {
    "humanml3d": FeatureSpec(leg_joints=(5, 8), feet_threshold=0.002),
    "kit": FeatureSpec(leg_joints=(17, 18), feet_threshold=0.05, units_per_metre=1000.0),
}


def feature_spec(skeleton: str | Skeleton = "humanml3d") -> FeatureSpec:
    """The processing settings of a skeleton (``"humanml3d"`` or ``"kit"``)."""
    return _SPECS[get_skeleton(skeleton).name]


def feature_slices(skeleton: str | Skeleton = "humanml3d") -> dict:
    """Name -> ``slice`` of each block of the per-frame feature vector."""
    J = get_skeleton(skeleton).num_joints
    edges = {"root_rot_vel": 1, "root_lin_vel": 2, "root_y": 1, "ric": 3 * (J - 1),
             "rot6d": 6 * (J - 1), "local_vel": 3 * J, "foot_contact": 4}
    out, start = {}, 0
    for name, size in edges.items():
        out[name] = slice(start, start + size)
        start += size
    return out


# ------------------------------------------------------------------ helpers


def _chain_parent(sk: Skeleton) -> np.ndarray:
    """Per joint, the joint whose world rotation HumanML3D's IK composes it with.

    HumanML3D restarts every kinematic chain from the root rotation, so the first bone of a
    chain (e.g. a collar, whose chain starts at spine3) is relative to the *root's* facing,
    not to its parent bone. ``-1`` marks "relative to the root facing".
    """
    out = np.full(sk.num_joints, -1, dtype=np.int64)
    for chain in sk.chains:
        for i in range(1, len(chain)):
            out[chain[i]] = -1 if i == 1 else chain[i - 1]
    return out


def _unit(v, eps=1e-12):
    return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), eps)


def _qbetween_unit(u, v):
    """Shortest-arc quaternion from unit ``u`` to unit ``v`` (``(..., 3)`` each), float64.

    Same formula as HumanML3D's ``qbetween``; where ``u`` and ``v`` are opposite (where the
    published code divides 0 by 0) it returns a half turn about an axis perpendicular to ``u``.
    """
    w = 1.0 + (u * v).sum(-1, keepdims=True)
    xyz = np.cross(u, v)
    q = np.concatenate([w, xyz], axis=-1)
    n = np.linalg.norm(q, axis=-1, keepdims=True)
    bad = n[..., 0] < 1e-9
    if np.any(bad):
        ub = np.broadcast_to(u, v.shape)[bad]
        axis = np.cross(ub, np.array([1.0, 0.0, 0.0]))
        small = np.linalg.norm(axis, axis=-1) < 1e-6
        axis[small] = np.cross(ub[small], np.array([0.0, 0.0, 1.0]))
        q[bad] = np.concatenate([np.zeros((len(ub), 1)), _unit(axis)], axis=-1)
        n[bad] = 1.0
    return q / n


def _yaw_to_z(forward):
    """``(T, 3)`` horizontal facing directions -> ``(T, 4)`` yaw quaternions turning them to +Z.

    Equals ``qbetween(forward, +Z)``; a facing of exactly -Z gets a half turn about +Y.
    """
    angle = np.arctan2(-forward[:, 0], forward[:, 2])
    zeros = np.zeros_like(angle)
    return np.stack([np.cos(angle / 2), zeros, np.sin(angle / 2), zeros], axis=-1)


def _as_joints(joints, sk: Skeleton, name: str = "joints") -> np.ndarray:
    if isinstance(joints, torch.Tensor):
        joints = joints.detach().cpu().numpy()
    joints = np.asarray(joints)
    J = sk.num_joints
    if joints.ndim != 3 or joints.shape[1:] != (J, 3):
        raise ValueError(
            f"{name} must have shape (frames, {J}, 3) for skeleton {sk.name!r}, got {joints.shape}")
    if joints.shape[0] < 2:
        raise ValueError(f"{name} needs at least 2 frames, got {joints.shape[0]}")
    if not np.issubdtype(joints.dtype, np.number):
        raise ValueError(f"{name} must be numeric, got dtype {joints.dtype}")
    joints = joints.astype(np.float64)
    if not np.all(np.isfinite(joints)):
        bad = np.argwhere(~np.isfinite(joints))[0]
        raise ValueError(f"{name} contain NaN or inf (first at frame {bad[0]}, joint {bad[1]})")
    return joints


def offsets_from_joints(rest_joints, skeleton: str | Skeleton = "humanml3d") -> np.ndarray:
    """Target offsets from one frame of a reference motion (HumanML3D's ``get_offsets_joints``).

    HumanML3D retargets to the first frame of its file ``000021``, KIT-ML to ``03950_gt``
    (the raw ``joints/`` files). With KIT-ML's original files at hand,
    ``joints_to_features(j, "kit", target_offsets=offsets_from_joints(np.load(".../03950_gt.npy")[0], "kit"))``
    retargets to KIT-ML's own reference body (not checked here: that file is not public).

    Args:
        rest_joints: ``(J, 3)`` joint positions of one frame.

    Returns:
        ``(J, 3)`` offsets: each raw direction times that frame's bone length.
    """
    sk = get_skeleton(skeleton)
    j = np.asarray(rest_joints, dtype=np.float64)
    if j.shape != (sk.num_joints, 3) or not np.all(np.isfinite(j)):
        raise ValueError(f"rest_joints must be a finite ({sk.num_joints}, 3) array, got {j.shape}")
    parents = np.asarray(sk.parents)
    lengths = np.zeros(sk.num_joints)
    lengths[1:] = np.linalg.norm(j[1:] - j[parents[1:]], axis=-1)
    return sk.raw_offsets * lengths[:, None]


def _target_offsets(sk: Skeleton, target_offsets) -> np.ndarray:
    if target_offsets is None:
        return np.asarray(sk.offsets, dtype=np.float64) * _SPECS[sk.name].units_per_metre
    off = np.asarray(target_offsets, dtype=np.float64)
    if off.shape != (sk.num_joints, 3) or not np.all(np.isfinite(off)):
        raise ValueError(f"target_offsets must be a finite ({sk.num_joints}, 3) array, got {off.shape}")
    return off


def _bone_directions(joints: np.ndarray, sk: Skeleton, name: str = "joints") -> np.ndarray:
    """``(T, J, 3)`` unit direction of each joint's bone from its parent (row 0 unused)."""
    parents = np.asarray(sk.parents)
    bones = joints[:, 1:] - joints[:, parents[1:]]
    lengths = np.linalg.norm(bones, axis=-1)
    if np.any(lengths < 1e-8):
        t, j = np.argwhere(lengths < 1e-8)[0]
        raise ValueError(f"{name}: joint {j + 1} ({sk.joint_names[j + 1]}) coincides with its parent "
                         f"at frame {t}; bone directions are undefined")
    out = np.zeros_like(joints)
    out[:, 1:] = bones / lengths[..., None]
    return out


# ------------------------------------------------------------------ processing steps


def retarget_joints(joints, skeleton: str | Skeleton = "humanml3d", target_offsets=None) -> np.ndarray:
    """HumanML3D's ``uniform_skeleton``: the motion on the canonical skeleton.

    Every bone keeps its direction and gets the canonical length; the root trajectory is scaled
    by (canonical lower-leg length) / (the clip's first-frame lower-leg length).

    Args:
        joints: ``(T, J, 3)`` joint positions.
        skeleton: ``"humanml3d"`` or ``"kit"``.
        target_offsets: optional ``(J, 3)`` canonical offsets (defaults to the skeleton's).

    Returns:
        ``(T, J, 3)`` float64 positions.
    """
    sk = get_skeleton(skeleton)
    joints = _as_joints(joints, sk)
    return _retarget(joints, sk, _target_offsets(sk, target_offsets))


def _retarget(joints: np.ndarray, sk: Skeleton, tgt: np.ndarray) -> np.ndarray:
    spec = _SPECS[sk.name]
    parents = sk.parents
    src_len = np.linalg.norm(joints[0, list(spec.leg_joints)] - joints[0, [parents[j] for j in spec.leg_joints]],
                             axis=-1)
    # HumanML3D: src_offset = raw * length, so max|offset| of an axis-aligned raw offset is the length.
    raw = sk.raw_offsets[list(spec.leg_joints)]
    src_leg = float((np.abs(raw) * src_len[:, None]).max(-1).sum())
    tgt_leg = float(np.abs(tgt[list(spec.leg_joints)]).max(-1).sum())
    if src_leg < 1e-8:
        raise ValueError("the lower-leg bones of the first frame have zero length; cannot scale")
    scale = tgt_leg / src_leg
    dirs = _bone_directions(joints, sk)
    tgt_len = np.linalg.norm(tgt, axis=-1)
    out = np.empty_like(joints)
    out[:, 0] = joints[:, 0] * scale
    for j in range(1, sk.num_joints):  # parents precede children in both skeletons
        out[:, j] = out[:, parents[j]] + dirs[:, j] * tgt_len[j]
    return out


def _facing_across(joints: np.ndarray, sk: Skeleton, ik_order: bool) -> np.ndarray:
    a, b, c, d = sk.face_joints  # (r_hip, l_hip, r_shoulder, l_shoulder)
    if ik_order:  # inverse_kinematics_np unpacks them as (l_hip, r_hip, sdr_r, sdr_l)
        return (joints[..., b, :] - joints[..., a, :]) + (joints[..., c, :] - joints[..., d, :])
    return (joints[..., a, :] - joints[..., b, :]) + (joints[..., c, :] - joints[..., d, :])


def _forward_from_across(across: np.ndarray, what: str) -> np.ndarray:
    n = np.linalg.norm(across, axis=-1, keepdims=True)
    if np.any(n < 1e-9):
        raise ValueError(f"cannot find the facing direction ({what}): the hip and shoulder "
                         "vectors cancel out")
    across = across / n
    # cross((0, 1, 0), across) = (az, 0, -ax)
    return np.stack([across[..., 2], np.zeros_like(across[..., 0]), -across[..., 0]], axis=-1)


def _canonical_positions(joints: np.ndarray, sk: Skeleton, tgt: np.ndarray) -> np.ndarray:
    """Steps 1-4: retarget, floor, first root xz to origin, first frame facing +Z."""
    pos = _retarget(joints, sk, tgt)
    pos[:, :, 1] -= pos[:, :, 1].min()
    pos = pos - pos[0, 0] * np.array([1.0, 0.0, 1.0])
    fwd = _forward_from_across(_facing_across(pos[0], sk, ik_order=False)[None], "first frame")
    fn = np.linalg.norm(fwd, axis=-1, keepdims=True)
    if np.any(fn < 1e-9):
        raise ValueError("cannot find the first frame's facing direction: hips and shoulders are vertical")
    q0 = _yaw_to_z(fwd / fn)
    return qrot(np.broadcast_to(q0[:, None, :], pos.shape[:-1] + (4,)), pos)


def _ik(pos: np.ndarray, sk: Skeleton, smooth_sigma: float):
    """HumanML3D's ``inverse_kinematics_np(..., smooth_forward=True)``, vectorised over frames.

    Returns ``(root_quat (T, 4), local_quats (T, J, 4))``; ``local_quats[:, 0] = root_quat``.
    As published, frame 0's root rotation is the identity (not its facing).
    """
    fwd = _forward_from_across(_facing_across(pos, sk, ik_order=True), "per frame")
    if smooth_sigma > 0:
        fwd = gaussian_filter1d(fwd, smooth_sigma, axis=0, mode="nearest")
    n = np.linalg.norm(fwd, axis=-1, keepdims=True)
    if np.any(n < 1e-9):
        raise ValueError("cannot find the facing direction: the smoothed facing vanishes "
                         "(the body turns by 180 degrees within a few frames)")
    root_quat = _yaw_to_z(fwd / n)
    root_quat[0] = (1.0, 0.0, 0.0, 0.0)
    dirs = _bone_directions(pos, sk)
    raw = np.asarray(sk.raw_offsets, dtype=np.float64)
    world = np.empty(pos.shape[:-1] + (4,))
    world[:, 0] = root_quat
    world[:, 1:] = _qbetween_unit(raw[None, 1:], dirs[:, 1:])
    cp = _chain_parent(sk)
    parent_rot = np.where((cp[1:] < 0)[None, :, None], root_quat[:, None, :], world[:, np.maximum(cp[1:], 0)])
    local = np.empty_like(world)
    local[:, 0] = root_quat
    local[:, 1:] = qmul(qinv(parent_rot), world[:, 1:])
    return root_quat, local


def _process(joints: np.ndarray, sk: Skeleton, tgt: np.ndarray, feet_threshold: float | None,
             fix_yaw_wrap: bool = False):
    """Full pipeline; returns ``(features (T-1, D) float64, global positions (T, J, 3), root_quat)``."""
    spec = _SPECS[sk.name]
    thr = spec.feet_threshold if feet_threshold is None else float(feet_threshold)
    pos = _canonical_positions(joints, sk, tgt)  # "global_positions" of process_file
    T, J = pos.shape[:2]

    # foot contacts from squared displacement
    disp = ((pos[1:] - pos[:-1]) ** 2).sum(-1)
    feet_l = (disp[:, list(sk.foot_left)] < thr).astype(np.float64)
    feet_r = (disp[:, list(sk.foot_right)] < thr).astype(np.float64)

    r_rot, local = _ik(pos, sk, spec.smooth_sigma)
    cont6d = quat_to_cont6d(local)
    velocity = qrot(r_rot[1:], pos[1:, 0] - pos[:-1, 0])
    r_vel = qmul(r_rot[1:], qinv(r_rot[:-1]))
    if fix_yaw_wrap:  # the same rotation with w >= 0, so arcsin gives the true half-angle
        r_vel = r_vel * np.where(r_vel[:, :1] < 0, -1.0, 1.0)

    ric = pos.copy()
    ric[..., 0] -= pos[:, 0:1, 0]
    ric[..., 2] -= pos[:, 0:1, 2]
    ric = qrot(np.broadcast_to(r_rot[:, None], (T, J, 4)), ric)

    root_data = np.concatenate([np.arcsin(np.clip(r_vel[:, 2:3], -1.0, 1.0)), velocity[:, [0, 2]],
                                ric[:-1, 0, 1:2]], axis=-1)
    local_vel = qrot(np.broadcast_to(r_rot[:-1, None], (T - 1, J, 4)), pos[1:] - pos[:-1])
    data = np.concatenate([
        root_data,
        ric[:-1, 1:].reshape(T - 1, -1),
        cont6d[:-1, 1:].reshape(T - 1, -1),
        local_vel.reshape(T - 1, -1),
        feet_l, feet_r,
    ], axis=-1)
    return data, pos, r_rot


# ------------------------------------------------------------------ public API


def joints_to_features(joints, skeleton: str | Skeleton = "humanml3d", target_offsets=None,
                       feet_threshold: float | None = None, fix_yaw_wrap: bool = False) -> np.ndarray:
    """HumanML3D's ``process_file``: joint positions -> per-frame feature vectors.

    Args:
        joints: ``(T, J, 3)`` positions (metres for HumanML3D), Y up, T >= 2; J = 22
            (``"humanml3d"``) or 21 (``"kit"``). Any scale/placement/facing is fine: the motion
            is retargeted, floored, centred and turned to face +Z first.
        skeleton: ``"humanml3d"`` or ``"kit"``.
        target_offsets: optional ``(J, 3)`` canonical skeleton offsets to retarget to
            (default: HumanML3D's canonical skeleton in metres; for KIT an anthropometric
            approximation of KIT-ML's reference subject in millimetres -- pass
            ``offsets_from_joints`` of KIT-ML's ``03950_gt`` first frame for exact KIT-ML
            numbers). The output units are those of the target offsets.
        feet_threshold: optional foot-contact threshold on the squared per-frame displacement
            (default 0.002 for HumanML3D, 0.05 for KIT, as published).
        fix_yaw_wrap: repair the published yaw-velocity sign glitch on the frame where the
            facing crosses -Z (see the module docstring). Default False: the released numbers.

    Returns:
        ``(T-1, 263)`` (or ``(T-1, 251)`` for KIT) float32 features.

    Raises:
        ValueError: wrong shape, fewer than 2 frames, NaN/inf, unknown skeleton, or a pose
            whose facing direction / bone directions are undefined.
    """
    sk = get_skeleton(skeleton)
    joints = _as_joints(joints, sk)
    data, _, _ = _process(joints, sk, _target_offsets(sk, target_offsets), feet_threshold, fix_yaw_wrap)
    return data.astype(np.float32)


def canonicalize_joints(joints, skeleton: str | Skeleton = "humanml3d", target_offsets=None) -> np.ndarray:
    """The joints that ``features_to_joints(joints_to_features(joints))`` gives back, computed directly.

    That is HumanML3D's ``new_joints`` content: the retargeted, floored, centred motion, turned
    so that frame 0 faces +Z. ``(T, J, 3)`` float64 (one frame more than the features
    describe). Exact for ``fix_yaw_wrap=True`` features; with the published glitch, motions
    whose facing crosses -Z come back turned by that frame's yaw step from then on.
    """
    sk = get_skeleton(skeleton)
    joints = _as_joints(joints, sk)
    return _canonical_positions(joints, sk, _target_offsets(sk, target_offsets))


def _check_features(features, sk: Skeleton):
    D = sk.feature_dim
    if features.ndim < 2 or features.shape[-1] != D:
        raise ValueError(f"features must have shape (..., frames, {D}) for skeleton {sk.name!r}, "
                         f"got {tuple(features.shape)}")
    if features.shape[-2] < 1:
        raise ValueError("features need at least 1 frame")
    finite = torch.isfinite(features).all() if isinstance(features, torch.Tensor) else np.isfinite(features).all()
    if not bool(finite):
        raise ValueError("features contain NaN or inf")


def recover_root(features, skeleton: str | Skeleton = "humanml3d"):
    """HumanML3D's ``recover_root_rot_pos``: root yaw quaternions and root positions.

    Args:
        features: ``(..., T, D)`` numpy array or torch tensor.

    Returns:
        ``(r_rot_quat (..., T, 4), r_pos (..., T, 3))`` of the same array type (torch:
        differentiable, same dtype/device).
    """
    sk = get_skeleton(skeleton)
    _check_features(features, sk)
    return _recover_root(features)


def _recover_root(data):
    is_t = isinstance(data, torch.Tensor)
    cat = (lambda xs, d: torch.cat(xs, dim=d)) if is_t else (lambda xs, d: np.concatenate(xs, axis=d))
    cumsum = (lambda x, d: torch.cumsum(x, dim=d)) if is_t else (lambda x, d: np.cumsum(x, axis=d))
    zeros_like = torch.zeros_like if is_t else np.zeros_like
    cos, sin = (torch.cos, torch.sin) if is_t else (np.cos, np.sin)
    rot_vel = data[..., 0]
    # the angle of frame t is the sum of the yaw velocities of frames < t
    ang = cumsum(cat([zeros_like(rot_vel[..., :1]), rot_vel[..., :-1]], -1), -1)
    z = zeros_like(ang)
    stack = (lambda xs: torch.stack(xs, dim=-1)) if is_t else (lambda xs: np.stack(xs, axis=-1))
    r_rot = stack([cos(ang), z, sin(ang), z])
    vel = data[..., :-1, 1:3]
    vz = zeros_like(vel[..., :1])
    step = cat([vel[..., 0:1], vz, vel[..., 1:2]], -1)
    step = cat([zeros_like(step[..., :1, :]), step], -2)
    step = qrot(qinv(r_rot), step)
    r_pos = cumsum(step, -2)
    r_pos = cat([r_pos[..., 0:1], data[..., 3:4], r_pos[..., 2:3]], -1)
    return r_rot, r_pos


def features_to_joints(features, skeleton: str | Skeleton = "humanml3d"):
    """HumanML3D's ``recover_from_ric``: features -> joint positions.

    Args:
        features: ``(..., T, D)`` numpy array or torch tensor (de-normalised), any leading dims.
        skeleton: ``"humanml3d"`` (D = 263, 22 joints) or ``"kit"`` (D = 251, 21 joints).

    Returns:
        ``(..., T, J, 3)`` in the features' units (metres for HumanML3D, millimetres for KIT):
        numpy float32 for numpy input; for torch input a tensor of the same dtype and device,
        differentiable with respect to ``features``.
    """
    sk = get_skeleton(skeleton)
    is_t = isinstance(features, torch.Tensor)
    if not is_t:
        features = np.asarray(features)
        if not np.issubdtype(features.dtype, np.number):
            raise ValueError(f"features must be numeric, got dtype {features.dtype}")
    _check_features(features, sk)
    J = sk.num_joints
    data = features if is_t else features.astype(np.float64)
    r_rot, r_pos = _recover_root(data)
    ric = data[..., 4:4 + (J - 1) * 3]
    ric = ric.reshape(*ric.shape[:-1], J - 1, 3)
    inv = qinv(r_rot)[..., None, :]
    if is_t:
        inv = inv.expand(*ric.shape[:-1], 4)
    else:
        inv = np.broadcast_to(inv, ric.shape[:-1] + (4,))
    ric = qrot(inv, ric)
    offset_xz = r_pos * (torch.tensor([1.0, 0.0, 1.0], dtype=r_pos.dtype, device=r_pos.device) if is_t
                         else np.array([1.0, 0.0, 1.0]))
    ric = ric + offset_xz[..., None, :]
    if is_t:
        return torch.cat([r_pos[..., None, :], ric], dim=-2)
    return np.concatenate([r_pos[..., None, :], ric], axis=-2).astype(np.float32)


# ------------------------------------------------------------------ mirroring


def mirror_joints(joints, skeleton: str | Skeleton = "humanml3d"):
    """Swap left and right joints and reflect X (HumanML3D's ``swap_left_right``).

    Args:
        joints: ``(..., J, 3)`` numpy array or torch tensor.

    Returns:
        The mirrored joints, same type and shape.
    """
    sk = get_skeleton(skeleton)
    J = sk.num_joints
    if tuple(joints.shape[-2:]) != (J, 3):
        raise ValueError(f"joints must have shape (..., {J}, 3) for skeleton {sk.name!r}, "
                         f"got {tuple(joints.shape)}")
    perm = list(sk.mirror)
    if isinstance(joints, torch.Tensor):
        sign = torch.tensor([-1.0, 1.0, 1.0], dtype=joints.dtype, device=joints.device)
        return joints[..., perm, :] * sign
    joints = np.asarray(joints)
    return joints[..., perm, :] * np.array([-1.0, 1.0, 1.0], dtype=joints.dtype)


def mirror_features(features, skeleton: str | Skeleton = "humanml3d"):
    """Mirror feature vectors directly (left <-> right, X reflected), without the joints.

    Positions and velocities get X negated and joints swapped; 6D rotations are conjugated by
    the reflection (``S R S`` with ``S = diag(-1, 1, 1)``); the yaw velocity and the x
    velocity change sign; the foot contacts swap feet. ``features_to_joints`` of the result is
    ``mirror_joints`` of ``features_to_joints(features)``. (Running ``joints_to_features`` on
    mirrored joints is close to this but not identical, because the canonical skeleton is not
    left/right symmetric.)

    Args:
        features: ``(..., T, D)`` numpy array or torch tensor.

    Returns:
        Same type and shape.
    """
    sk = get_skeleton(skeleton)
    is_t = isinstance(features, torch.Tensor)
    if not is_t:
        features = np.asarray(features)
    _check_features(features, sk)
    J = sk.num_joints
    perm = np.asarray(sk.mirror)
    sl = feature_slices(sk)
    D = sk.feature_dim
    # a gather index and a sign per feature dimension
    idx = np.arange(D)
    sign = np.ones(D)
    sign[0] = -1.0  # yaw velocity
    sign[1] = -1.0  # x velocity
    ric0 = sl["ric"].start
    for j in range(1, J):
        src = perm[j]
        idx[ric0 + 3 * (j - 1): ric0 + 3 * j] = ric0 + 3 * (src - 1) + np.arange(3)
        sign[ric0 + 3 * (j - 1)] = -1.0
    rot0 = sl["rot6d"].start
    # S R S negates the entries (r, c) with exactly one of r, c == 0 (x); 6D = columns 0 and 1
    six_sign = np.array([1.0, -1.0, -1.0, -1.0, 1.0, 1.0])
    for j in range(1, J):
        src = perm[j]
        idx[rot0 + 6 * (j - 1): rot0 + 6 * j] = rot0 + 6 * (src - 1) + np.arange(6)
        sign[rot0 + 6 * (j - 1): rot0 + 6 * j] = six_sign
    vel0 = sl["local_vel"].start
    for j in range(J):
        src = perm[j]
        idx[vel0 + 3 * j: vel0 + 3 * j + 3] = vel0 + 3 * src + np.arange(3)
        sign[vel0 + 3 * j] = -1.0
    fc0 = sl["foot_contact"].start
    idx[fc0:fc0 + 4] = fc0 + np.array([2, 3, 0, 1])
    if is_t:
        return features[..., torch.as_tensor(idx, device=features.device)] * torch.as_tensor(
            sign, dtype=features.dtype, device=features.device)
    return (features[..., idx] * sign).astype(features.dtype)
