"""Small motions for the data tests (built by FK on the canonical skeleton)."""

from __future__ import annotations

import numpy as np

from easytune_core.motion.rotations import axis_angle_to_quat
from easytune_core.motion.skeleton import HUMANML3D, forward_kinematics


def make_motion(frames: int, seed: int = 0, speed: float = 0.02) -> np.ndarray:
    """(frames, 22, 3) float32: a body walking forward along +Z swinging its limbs."""
    rng = np.random.default_rng(seed)
    t = np.arange(frames, dtype=np.float64)
    aa = np.zeros((frames, 22, 3))
    amp = rng.uniform(0.2, 0.5, size=22)
    phase = rng.uniform(0, 2 * np.pi, size=22)
    for j in (1, 2, 4, 5, 16, 17, 18, 19):
        aa[:, j, 0] = amp[j] * np.sin(0.3 * t + phase[j])
    q = axis_angle_to_quat(aa)
    root = np.stack([np.zeros(frames), 0.95 + 0.01 * np.sin(0.6 * t), speed * t], axis=-1)
    return forward_kinematics(q, root, HUMANML3D).astype(np.float32)


def feature_fns():
    """The feature functions the layout writer uses (easytune_core.motion.features)."""
    from easytune_core.data.layout import default_feature_fns
    return default_feature_fns()


# ---------------------------------------------------------------- tiny BVH files

MIXAMO = ("Hips", "LeftUpLeg", "RightUpLeg", "Spine", "LeftLeg", "RightLeg", "Spine1", "LeftFoot",
          "RightFoot", "Spine2", "LeftToeBase", "RightToeBase", "Neck", "LeftShoulder",
          "RightShoulder", "Head", "LeftArm", "RightArm", "LeftForeArm", "RightForeArm", "LeftHand",
          "RightHand")
SMPL = ("Pelvis", "L_Hip", "R_Hip", "Spine1", "L_Knee", "R_Knee", "Spine2", "L_Ankle", "R_Ankle",
        "Spine3", "L_Foot", "R_Foot", "Neck", "L_Collar", "R_Collar", "Head", "L_Shoulder",
        "R_Shoulder", "L_Elbow", "R_Elbow", "L_Wrist", "R_Wrist")
ROOT_ORDER = "Zrotation Yrotation Xrotation"


def write_bvh(path, names, parents, offsets, motion, frame_time=1 / 30, rot_order=ROOT_ORDER,
              newline="\n"):
    """A BVH with 6 channels on the root (position + rot_order) and 3 rotations elsewhere.

    ``motion`` rows are root xyz then 3 angles per joint in *joint index* order; the file
    stores them in hierarchy (depth-first) order, as BVH requires."""
    children = {i: [c for c, p in enumerate(parents) if p == i] for i in range(len(names))}
    lines = ["HIERARCHY"]
    dfs = []

    def emit(j, depth):
        dfs.append(j)
        pad = "  " * depth
        lines.append(f"{pad}{'ROOT' if parents[j] < 0 else 'JOINT'} {names[j]}")
        lines.append(pad + "{")
        lines.append(pad + "  OFFSET " + " ".join(f"{v:.6f}" for v in offsets[j]))
        chans = ("Xposition Yposition Zposition " if parents[j] < 0 else "") + rot_order
        lines.append(f"{pad}  CHANNELS {len(chans.split())} {chans}")
        for c in children[j]:
            emit(c, depth + 1)
        if not children[j]:
            lines.extend([pad + "  End Site", pad + "  {", pad + "    OFFSET 0 0 0.05", pad + "  }"])
        lines.append(pad + "}")

    emit(0, 0)
    lines += ["MOTION", f"Frames: {len(motion)}", f"Frame Time: {frame_time:.8f}"]
    motion = np.asarray(motion, dtype=float)
    cols = [0, 1, 2] + [3 + 3 * j + k for j in dfs for k in range(3)]
    lines += [" ".join(f"{v:.6f}" for v in row) for row in motion[:, cols]]
    path.write_text(newline.join(lines) + newline)
    return path


def pose_motion(frames, root, rot_deg=None):
    """Motion rows: root xyz + (Z, Y, X) degrees per joint for the default channel order."""
    rows = np.zeros((frames, 3 + 3 * 22))
    rows[:, :3] = root
    if rot_deg is not None:
        rows[:, 3:] = rot_deg.reshape(frames, -1)
    return rows
