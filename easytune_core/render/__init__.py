"""Bodies, skinning, animated GLB, mp4 video and exports (BVH, SMPL NPZ, joints, features)."""

from .body import BODY_KINDS, BodyModel, get_body
from .glb import write_glb

__all__ = ["BODY_KINDS", "BodyModel", "get_body", "write_glb"]
