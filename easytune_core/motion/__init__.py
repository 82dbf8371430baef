"""Skeletons, rotations, joints <-> HumanML3D features, IK and BVH."""

from .features import (
    canonicalize_joints,
    feature_slices,
    features_to_joints,
    joints_to_features,
    mirror_features,
    mirror_joints,
    offsets_from_joints,
    recover_root,
    retarget_joints,
)
from .skeleton import HUMANML3D, KIT, Skeleton, forward_kinematics, get_skeleton

__all__ = [
    "HUMANML3D", "KIT", "Skeleton", "forward_kinematics", "get_skeleton",
    "joints_to_features", "features_to_joints", "recover_root", "canonicalize_joints",
    "retarget_joints", "mirror_joints", "mirror_features", "feature_slices", "offsets_from_joints",
]
