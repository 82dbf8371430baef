"""Skeleton definitions (HumanML3D's 22-joint SMPL body, KIT-ML's 21 joints) and forward kinematics.

The constants are HumanML3D's ``paramUtil.py`` ones: ``raw_offsets`` are the unit bone
directions of the rest pose (Y up, facing +Z, arms hanging down), and the canonical
bone lengths are those of HumanML3D's reference subject, so ``offsets = raw * length``
is the skeleton every motion is retargeted to before features are computed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from .rotations import qmul, qrot

HUMANML3D_JOINT_NAMES = (
    "pelvis", "l_hip", "r_hip", "spine1", "l_knee", "r_knee", "spine2", "l_ankle", "r_ankle",
    "spine3", "l_foot", "r_foot", "neck", "l_collar", "r_collar", "head", "l_shoulder",
    "r_shoulder", "l_elbow", "r_elbow", "l_wrist", "r_wrist",
)
HUMANML3D_PARENTS = (-1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 12, 13, 14, 16, 17, 18, 19)
HUMANML3D_RAW_OFFSETS = np.array([
    [0, 0, 0], [1, 0, 0], [-1, 0, 0], [0, 1, 0], [0, -1, 0], [0, -1, 0], [0, 1, 0],
    [0, -1, 0], [0, -1, 0], [0, 1, 0], [0, 0, 1], [0, 0, 1], [0, 1, 0], [1, 0, 0],
    [-1, 0, 0], [0, 0, 1], [0, -1, 0], [0, -1, 0], [0, -1, 0], [0, -1, 0], [0, -1, 0],
    [0, -1, 0],
], dtype=np.float64)
HUMANML3D_CHAINS = ((0, 2, 5, 8, 11), (0, 1, 4, 7, 10), (0, 3, 6, 9, 12, 15),
                    (9, 14, 17, 19, 21), (9, 13, 16, 18, 20))
# Bone lengths (metres) of joints 1..21 to their parents, from the design handbook.
HUMANML3D_BONE_LENGTHS = np.array([
    0.0, 0.1031, 0.1099, 0.1316, 0.3936, 0.3902, 0.1432, 0.4324, 0.4256, 0.0574, 0.1434,
    0.1494, 0.2194, 0.1375, 0.1434, 0.1030, 0.1316, 0.1230, 0.2568, 0.2631, 0.2660, 0.2699,
])
# Left/right joint pairs, for mirroring.
HUMANML3D_MIRROR = (0, 2, 1, 3, 5, 4, 6, 8, 7, 9, 11, 10, 12, 14, 13, 15, 17, 16, 19, 18, 21, 20)

KIT_PARENTS = (-1, 0, 1, 2, 3, 3, 5, 6, 3, 8, 9, 0, 11, 12, 13, 14, 0, 16, 17, 18, 19)
KIT_RAW_OFFSETS = np.array([
    [0, 0, 0], [0, 1, 0], [0, 1, 0], [0, 1, 0], [0, 1, 0], [1, 0, 0], [0, -1, 0], [0, -1, 0],
    [-1, 0, 0], [0, -1, 0], [0, -1, 0], [1, 0, 0], [0, -1, 0], [0, -1, 0], [0, 0, 1],
    [0, 0, 1], [-1, 0, 0], [0, -1, 0], [0, -1, 0], [0, 0, 1], [0, 0, 1],
], dtype=np.float64)
KIT_CHAINS = ((0, 11, 12, 13, 14, 15), (0, 16, 17, 18, 19, 20), (0, 1, 2, 3, 4),
              (3, 5, 6, 7), (3, 8, 9, 10))
# The MMM joint order of KIT-ML (as in TEMOS/TMR's ``mmm_joints``): left = +X like HumanML3D.
# HumanML3D's KIT settings call 11 "r_hip", 5 "sdr_r" and (14, 15) the right foot; we keep
# its indices (they decide the numbers) and note that its left/right words are swapped.
KIT_JOINT_NAMES = (
    "root", "BP", "BT", "BLN", "BUN", "LS", "LE", "LW", "RS", "RE", "RW",
    "LH", "LK", "LA", "LMrot", "LF", "RH", "RK", "RA", "RMrot", "RF",
)
# Approximate KIT bone lengths (metres) of joints 0..20 to their parents, from standard
# anthropometric proportions of a 1.75 m adult. NOT the lengths of KIT-ML's reference subject
# (its file 03950 is not public here); the feature module uses these x 1000 (KIT-ML is in
# millimetres) unless the caller passes the real target offsets.
KIT_BONE_LENGTHS = np.array([
    0.0, 0.09, 0.20, 0.24, 0.12, 0.18, 0.28, 0.25, 0.18, 0.28, 0.25,
    0.09, 0.43, 0.43, 0.12, 0.06, 0.09, 0.43, 0.43, 0.12, 0.06,
])


@dataclass(frozen=True)
class Skeleton:
    """A kinematic tree with HumanML3D-style feature settings.

    Attributes:
        name: ``"humanml3d"`` or ``"kit"``.
        joint_names: one name per joint.
        parents: parent index per joint, ``-1`` for the root.
        raw_offsets: ``(J, 3)`` unit rest-pose bone directions.
        chains: kinematic chains, each from a branching joint to an end effector.
        bone_lengths: ``(J,)`` canonical bone lengths in metres (KIT's are an anthropometric
            approximation; see ``KIT_BONE_LENGTHS``).
        fps: frame rate of the dataset.
        feature_dim: per-frame feature size (263 or 251).
        face_joints: ``(r_hip, l_hip, r_shoulder, l_shoulder)`` used to find the facing direction.
        foot_left / foot_right: (heel/ankle, toe) joints used for foot contacts.
        mirror: joint permutation swapping left and right.
        max_frames: longest motion the dataset keeps.
    """

    name: str
    joint_names: tuple
    parents: tuple
    raw_offsets: np.ndarray
    chains: tuple
    bone_lengths: np.ndarray
    fps: float
    feature_dim: int
    face_joints: tuple
    foot_left: tuple
    foot_right: tuple
    mirror: tuple
    max_frames: int = 196
    extra: dict = field(default_factory=dict)

    @property
    def num_joints(self) -> int:
        return len(self.parents)

    @property
    def offsets(self) -> np.ndarray:
        """``(J, 3)`` canonical rest-pose offsets from each joint's parent, in metres."""
        return self.raw_offsets * self.bone_lengths[:, None]

    def rest_joints(self) -> np.ndarray:
        """``(J, 3)`` joint positions of the canonical rest pose, root at the origin."""
        out = np.zeros((self.num_joints, 3))
        for j, p in enumerate(self.parents):
            if p >= 0:
                out[j] = out[p] + self.offsets[j]
        return out


HUMANML3D = Skeleton(
    name="humanml3d",
    joint_names=HUMANML3D_JOINT_NAMES,
    parents=HUMANML3D_PARENTS,
    raw_offsets=HUMANML3D_RAW_OFFSETS,
    chains=HUMANML3D_CHAINS,
    bone_lengths=HUMANML3D_BONE_LENGTHS,
    fps=20.0,
    feature_dim=263,
    face_joints=(2, 1, 17, 16),
    foot_left=(7, 10),
    foot_right=(8, 11),
    mirror=HUMANML3D_MIRROR,
)

KIT = Skeleton(
    name="kit",
    joint_names=KIT_JOINT_NAMES,
    parents=KIT_PARENTS,
    raw_offsets=KIT_RAW_OFFSETS,
    chains=KIT_CHAINS,
    bone_lengths=KIT_BONE_LENGTHS,
    fps=12.5,
    feature_dim=251,
    # HumanML3D's index choices (its "r_hip, l_hip, sdr_r, sdr_l" and "fid_l", "fid_r"),
    # although by the MMM names 11/5 are the left hip/shoulder and 19, 20 the right foot.
    face_joints=(11, 16, 5, 8),
    foot_left=(19, 20),
    foot_right=(14, 15),
    mirror=(0, 1, 2, 3, 4, 8, 9, 10, 5, 6, 7, 16, 17, 18, 19, 20, 11, 12, 13, 14, 15),
    max_frames=196,
)

SKELETONS = {"humanml3d": HUMANML3D, "t2m": HUMANML3D, "kit": KIT}


def get_skeleton(name: str | Skeleton) -> Skeleton:
    """Look a skeleton up by name (``"humanml3d"`` or ``"kit"``)."""
    if isinstance(name, Skeleton):
        return name
    key = str(name).lower()
    if key not in SKELETONS:
        raise ValueError(f"unknown skeleton {name!r}; choose one of 'humanml3d', 'kit'")
    return SKELETONS[key]


def forward_kinematics(local_quats, root_pos, skeleton: str | Skeleton = "humanml3d", offsets=None):
    """Joint positions from per-joint local rotations (SMPL convention).

    The rotation of joint ``j`` turns the bones of its children: a child's world position is
    ``pos[parent] + R_world[parent] @ offset[child]`` with ``R_world[j] = R_world[parent(j)] R_local[j]``.

    Args:
        local_quats: ``(..., J, 4)`` local rotations (w, x, y, z); joint 0 is the global orientation.
        root_pos: ``(..., 3)`` root (pelvis) positions in metres.
        skeleton: skeleton name or object.
        offsets: optional ``(J, 3)`` or ``(..., J, 3)`` rest offsets (defaults to the canonical ones).

    Returns:
        ``(..., J, 3)`` joint positions, same array type as ``local_quats``.
    """
    sk = get_skeleton(skeleton)
    J = sk.num_joints
    if local_quats.shape[-2:] != (J, 4):
        raise ValueError(f"local_quats must be (..., {J}, 4), got {tuple(local_quats.shape)}")
    is_t = isinstance(local_quats, torch.Tensor)
    off = sk.offsets if offsets is None else offsets
    if is_t:
        off = torch.as_tensor(off, dtype=local_quats.dtype, device=local_quats.device)
    else:
        off = np.asarray(off, dtype=local_quats.dtype)
    world_q = [None] * J
    pos = [None] * J
    for j, p in enumerate(sk.parents):
        if p < 0:
            world_q[j] = local_quats[..., j, :]
            pos[j] = root_pos
        else:
            world_q[j] = qmul(world_q[p], local_quats[..., j, :])
            pos[j] = pos[p] + qrot(world_q[p], off[..., j, :] + 0 * root_pos)
    return torch.stack(pos, dim=-2) if is_t else np.stack(pos, axis=-2)


__all__ = ["Skeleton", "HUMANML3D", "KIT", "get_skeleton", "forward_kinematics"]
