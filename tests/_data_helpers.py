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


def _standin_j2f(joints, skeleton="humanml3d"):
    j = np.asarray(joints, dtype=np.float32)
    f = np.zeros((j.shape[0] - 1, 263), dtype=np.float32)
    f[:, 3] = j[:-1, 0, 1]
    f[:, 4:67] = (j[:-1, 1:] - j[:-1, :1]).reshape(-1, 63)
    f[:, 193:259] = (j[1:] - j[:-1]).reshape(-1, 66)
    f[:, 259:] = (j[:-1, [7, 10, 8, 11], 1] < 0.05)
    return f


def _standin_f2j(features, skeleton="humanml3d"):
    f = np.asarray(features)
    root = np.zeros(f.shape[:-1] + (1, 3), dtype=f.dtype)
    root[..., 0, 1] = f[..., 3]
    ric = f[..., 4:67].reshape(f.shape[:-1] + (21, 3)) + root
    return np.concatenate([root, ric], axis=-2)


def _standin_mirror(joints, skeleton="humanml3d"):
    out = np.asarray(joints)[..., list(HUMANML3D.mirror), :].copy()
    out[..., 0] *= -1
    return out


def feature_fns():
    """The real feature functions when easytune_core.motion.features exists, else a stand-in
    with the same shapes (so these tests exercise the layout, not the features)."""
    from easytune_core.data.layout import FeatureFns
    try:
        from easytune_core.motion import features as f
        return FeatureFns(f.joints_to_features, f.features_to_joints, f.mirror_joints)
    except ImportError:
        return FeatureFns(_standin_j2f, _standin_f2j, _standin_mirror)
