"""Bodies, skinning, animated GLB, mp4 video and exports (BVH, SMPL NPZ, joints, features)."""

from .body import BODY_KINDS, BodyModel, get_body
from .export import save_bvh, save_features_npy, save_joints_npy, save_smpl_npz
from .glb import write_glb
from .video import render_video

__all__ = ["BODY_KINDS", "BodyModel", "get_body", "render_video", "save_bvh", "save_features_npy",
           "save_joints_npy", "save_smpl_npz", "write_glb"]
