"""Synthetic but human-like motions for the render / IK tests (built by forward kinematics)."""

import numpy as np

from easytune_core.motion.ik import PARENTS, SMPL_REST_JOINTS
from easytune_core.motion.rotations import axis_angle_to_quat
from easytune_core.motion.skeleton import HUMANML3D, forward_kinematics


def smpl_offsets(scale: float = 1.0) -> np.ndarray:
    off = SMPL_REST_JOINTS - SMPL_REST_JOINTS[np.maximum(PARENTS, 0)]
    off[0] = 0.0
    return off * scale


def walk_rotations(T: int = 60, fps: float = 20.0, speed: float = 1.0, phase: float = 0.0,
                   turn: float = 0.3) -> np.ndarray:
    """``(T, 22, 3)`` axis-angle of a walk in SMPL convention (T-pose rest, arms lowered)."""
    t = np.arange(T) / fps
    w = 2 * np.pi * speed * t + phase
    aa = np.zeros((T, 22, 3))
    aa[:, 0, 1] = turn * np.sin(0.5 * t)                          # slow turning of the pelvis
    aa[:, 1, 0], aa[:, 2, 0] = -0.45 * np.sin(w), 0.45 * np.sin(w)  # hips swing (about X)
    aa[:, 4, 0] = 0.9 * np.clip(np.sin(w + 1.3), 0, None) + 0.08  # knees only flex backwards
    aa[:, 5, 0] = 0.9 * np.clip(-np.sin(w + 1.3), 0, None) + 0.08
    aa[:, 16, 2], aa[:, 17, 2] = -1.2, 1.2                        # arms down from the T-pose
    aa[:, 16, 0], aa[:, 17, 0] = 0.35 * np.sin(w), -0.35 * np.sin(w)
    aa[:, 18, 1] = -(0.4 + 0.3 * np.sin(w))                       # elbows fold forwards
    aa[:, 19, 1] = 0.4 - 0.3 * np.sin(w)
    aa[:, 3, 1] = 0.15 * np.sin(w)                                # a little torso twist
    aa[:, 12, 0] = 0.1 * np.sin(0.7 * t)
    return aa


def walk_joints(T: int = 60, fps: float = 20.0, scale: float = 1.0, **kw) -> np.ndarray:
    """``(T, 22, 3)`` float32 joints of a walk on the SMPL skeleton (``scale`` resizes it)."""
    aa = walk_rotations(T, fps, **kw)
    q = axis_angle_to_quat(aa)
    t = np.arange(T) / fps
    root = np.stack([0.1 * np.sin(t), 0.92 * scale + 0.02 * np.cos(4 * np.pi * t), 1.1 * t], -1)
    return forward_kinematics(q, root, HUMANML3D, offsets=smpl_offsets(scale)).astype(np.float32)


def random_joints(T: int = 30, seed: int = 0) -> np.ndarray:
    """Joints from smooth random rotations on HumanML3D's canonical skeleton."""
    rng = np.random.default_rng(seed)
    t = np.linspace(0, 3, T)[:, None, None]
    aa = rng.uniform(-0.7, 0.7, (1, 22, 3)) * np.sin(rng.uniform(0.5, 2, (1, 22, 3)) * t + rng.uniform(0, 6, (1, 22, 3)))
    q = axis_angle_to_quat(aa)
    root = np.stack([np.sin(t[:, 0, 0]), 0.9 + 0.0 * t[:, 0, 0], 0.4 * t[:, 0, 0]], -1)
    return forward_kinematics(q, root, HUMANML3D).astype(np.float32)


__all__ = ["random_joints", "smpl_offsets", "walk_joints", "walk_rotations"]
