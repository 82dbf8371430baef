"""Exports of a motion: BVH, AMASS-style SMPL ``.npz``, joints ``.npy``, HumanML3D features ``.npy``.

All start from ``(T, 22, 3)`` joint positions (metres, Y up, HumanML3D / SMPL joint order) and
go through the analytic IK of ``easytune_core.motion.ik`` where rotations are needed.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..motion.ik import NUM_JOINTS, PARENTS, joints_to_smpl, validate_joints
from ..motion.rotations import quat_to_axis_angle, quat_to_matrix

BVH_NAMES = ("Hips", "LeftUpLeg", "RightUpLeg", "Spine", "LeftLeg", "RightLeg", "Spine1", "LeftFoot",
             "RightFoot", "Spine2", "LeftToe", "RightToe", "Neck", "LeftShoulder", "RightShoulder", "Head",
             "LeftArm", "RightArm", "LeftForeArm", "RightForeArm", "LeftHand", "RightHand")
# End-site lengths (metres) of the leaf joints, along their bone (head: straight up).
_END_SITES = {10: 0.05, 11: 0.05, 15: 0.12, 20: 0.08, 21: 0.08}


def _out_path(path, suffix: str) -> Path:
    path = Path(path)
    if path.suffix.lower() != suffix:
        raise ValueError(f"output path must end in {suffix}, got {path.name}")
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def matrix_to_euler_zxy(R: np.ndarray) -> np.ndarray:
    """``(..., 3)`` degrees (z, x, y) with ``R = Rz(z) @ Rx(x) @ Ry(y)`` (BVH ``Zrotation Xrotation
    Yrotation`` channel order)."""
    x = np.arcsin(np.clip(R[..., 2, 1], -1.0, 1.0))
    z = np.arctan2(-R[..., 0, 1], R[..., 1, 1])
    y = np.arctan2(-R[..., 2, 0], R[..., 2, 2])
    return np.degrees(np.stack([z, x, y], -1))


def _frame_time(fps: float) -> str:
    """``1 / fps`` with six decimals when they are exact (0.050000), else nine (0.033333333)."""
    ft = 1.0 / fps
    return f"{ft:.6f}" if abs(round(ft, 6) - ft) < 1e-12 else f"{ft:.9f}"


def save_bvh(path, joints, fps: float = 20.0, scale: float = 1.0) -> Path:
    """Write a BVH with the 22-joint SMPL hierarchy (T-pose rest, the motion's bone lengths).

    Args:
        path: output ``.bvh`` path.
        joints: ``(T, 22, 3)`` positions in metres, Y up.
        fps: frame rate (``Frame Time = 1 / fps``).
        scale: unit factor for offsets and root positions (1 = metres, 100 = centimetres).

    Channels: root ``Xposition Yposition Zposition Zrotation Xrotation Yrotation``, other joints
    ``Zrotation Xrotation Yrotation``; angles in degrees, unwrapped over time.
    """
    P = validate_joints(joints)
    if not (np.isfinite(fps) and fps > 0) or not (np.isfinite(scale) and scale > 0):
        raise ValueError(f"fps and scale must be positive, got fps={fps}, scale={scale}")
    path = _out_path(path, ".bvh")
    pose = joints_to_smpl(P, fps=fps)
    off = pose.rest_offsets * scale
    rest = pose.rest_joints
    children = {j: [c for c in range(NUM_JOINTS) if PARENTS[c] == j] for j in range(NUM_JOINTS)}
    lines = ["HIERARCHY"]
    order = []  # BVH stores channel values in depth-first hierarchy order

    def fmt(v):
        return " ".join(f"{x:.6f}" for x in v)

    def emit(j, depth):
        pad = "  " * depth
        order.append(j)
        if j == 0:
            lines.append(f"ROOT {BVH_NAMES[j]}")
        else:
            lines.append(f"{pad}JOINT {BVH_NAMES[j]}")
        lines.append(pad + "{")
        lines.append(f"{pad}  OFFSET {fmt(off[j] if j else np.zeros(3))}")
        if j == 0:
            lines.append(f"{pad}  CHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation Yrotation")
        else:
            lines.append(f"{pad}  CHANNELS 3 Zrotation Xrotation Yrotation")
        for c in children[j]:
            emit(c, depth + 1)
        if not children[j]:
            d = np.array([0.0, 1.0, 0.0]) if j == 15 else rest[j] - rest[PARENTS[j]]
            d = d / max(np.linalg.norm(d), 1e-9) * _END_SITES[j] * scale
            lines.extend([f"{pad}  End Site", pad + "  {", f"{pad}    OFFSET {fmt(d)}", pad + "  }"])
        lines.append(pad + "}")

    emit(0, 0)
    eul = matrix_to_euler_zxy(quat_to_matrix(pose.quats.astype(np.float64)))  # (T, 22, 3)
    eul = np.degrees(np.unwrap(np.radians(eul), axis=0))
    root = P[:, 0] * scale
    T = P.shape[0]
    lines += ["MOTION", f"Frames: {T}", f"Frame Time: {_frame_time(fps)}"]
    rows = np.concatenate([root, eul[:, order].reshape(T, -1)], 1)
    lines += [" ".join(f"{x:.5f}" for x in row) for row in rows]
    path.write_text("\n".join(lines) + "\n")
    return path


# Rotation taking the Y-up frame to AMASS's Z-up frame (+90 deg about X: Y -> Z, Z -> -Y).
_Y_TO_Z = np.array([[1.0, 0, 0], [0, 0, -1.0], [0, 1.0, 0]])


def save_smpl_npz(path, joints, fps: float = 20.0, gender: str = "neutral", up: str = "z",
                  num_betas: int = 16) -> Path:
    """Write an AMASS-style SMPL-H pose file.

    Keys: ``poses`` ``(T, 156)`` axis-angle (root 3, body 63, hands 90 zeros), ``trans`` ``(T, 3)``,
    ``betas`` ``(num_betas,)`` zeros, ``gender``, ``mocap_framerate``, plus ``root_orient``,
    ``pose_body``, ``pose_hand`` (the AMASS "SMPL-X N" split) and ``up_axis``.

    ``up="z"`` (default) rotates the motion into AMASS's Z-up world; ``up="y"`` keeps the SMPL
    model's own Y-up frame. ``trans`` follows SMPL: pelvis = trans + the rest pelvis of the
    neutral SMPL-X template (within ~1 cm of other SMPL-family models at zero shape).
    """
    if up not in ("y", "z"):
        raise ValueError(f"up must be 'y' or 'z', got {up!r}")
    if gender not in ("neutral", "male", "female"):
        raise ValueError(f"gender must be neutral, male or female, got {gender!r}")
    P = validate_joints(joints)
    path = _out_path(path, ".npz")
    pose = joints_to_smpl(P, fps=fps)
    q = pose.quats.astype(np.float64)
    pelvis = pose.trans.astype(np.float64) + pose.rest_joints[0]
    if up == "z":
        from ..motion.rotations import matrix_to_quat
        R0 = _Y_TO_Z @ quat_to_matrix(q[:, 0])
        q = q.copy()
        q[:, 0] = matrix_to_quat(R0)
        pelvis = pelvis @ _Y_TO_Z.T
    q = np.where(q[..., :1] < 0, -q, q)
    aa = quat_to_axis_angle(q).reshape(P.shape[0], NUM_JOINTS * 3)
    T = P.shape[0]
    poses = np.concatenate([aa, np.zeros((T, 90))], 1).astype(np.float32)
    np.savez(path, poses=poses, trans=(pelvis - pose.rest_joints[0]).astype(np.float32),
             betas=np.zeros(num_betas, np.float32), gender=np.array(gender),
             mocap_framerate=np.array(float(fps)), root_orient=poses[:, :3], pose_body=poses[:, 3:66],
             pose_hand=poses[:, 66:], up_axis=np.array(up))
    return path


def save_joints_npy(path, joints) -> Path:
    """Write ``(T, 22, 3)`` float32 joint positions (metres, Y up) as ``.npy``."""
    P = validate_joints(joints)
    path = _out_path(path, ".npy")
    np.save(path, P.astype(np.float32))
    return path


def save_features_npy(path, joints=None, features=None) -> Path:
    """Write HumanML3D ``(T-1, 263)`` features as ``.npy`` (computed from ``joints`` if not given)."""
    path = _out_path(path, ".npy")
    if features is None:
        if joints is None:
            raise ValueError("pass joints or features")
        from ..motion.features import joints_to_features

        P = validate_joints(joints)
        if P.shape[0] < 2:
            raise ValueError("features need at least 2 frames of joints")
        features = joints_to_features(P.astype(np.float32))
    features = np.asarray(features, np.float32)
    if features.ndim != 2 or not np.isfinite(features).all():
        raise ValueError(f"features must be a finite (T, D) array, got shape {features.shape}")
    np.save(path, features)
    return path


__all__ = ["BVH_NAMES", "matrix_to_euler_zxy", "save_bvh", "save_features_npy", "save_joints_npy",
           "save_smpl_npz"]
