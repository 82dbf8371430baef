"""Skeletons, rotations, joints <-> HumanML3D features, IK and BVH."""

from .skeleton import HUMANML3D, KIT, Skeleton, forward_kinematics, get_skeleton

__all__ = ["HUMANML3D", "KIT", "Skeleton", "forward_kinematics", "get_skeleton"]
