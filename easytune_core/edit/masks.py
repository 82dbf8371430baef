"""Which numbers of a HumanML3D frame belong to which body part, and edit specifications.

An edit is a canvas of T frames of raw (de-normalised) features, ``known``, and a weight per
frame and channel, ``weight``: 1 keeps the known value exactly, 0 lets the model generate, a
value in between pulls the generated value towards the known one (a soft transition). The
presets build these from a source motion; :func:`channel_mask` and :func:`frame_mask` build
custom ones.

Channel layout (docs/motion.md): ``[0]`` root yaw velocity, ``[1:3]`` root x/z velocity in the
facing frame, ``[3]`` root height, then per joint 1..21 its root-relative position (3), its 6D
rotation (6), per joint 0..21 its velocity (3), and the four foot contacts.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..motion.features import feature_slices

NUM_JOINTS = 22
FEATURE_DIM = 263
# pelvis, hips, knees, ankles, feet: the joints the legs and the trajectory are made of
LOWER_BODY_JOINTS = (0, 1, 2, 4, 5, 7, 8, 10, 11)
UPPER_BODY_JOINTS = tuple(j for j in range(NUM_JOINTS) if j not in LOWER_BODY_JOINTS)

_SL = feature_slices("humanml3d")


def joint_channels(joints, parts=("ric", "rot6d", "local_vel")) -> np.ndarray:
    """(263,) bool: the position / rotation / velocity channels of ``joints`` (indices 0..21).

    The root (joint 0) has no position or rotation entries of its own (those are channels 0-3);
    its velocity entry is ``local_vel`` of joint 0.
    """
    out = np.zeros(FEATURE_DIM, bool)
    for j in joints:
        j = int(j)
        if not 0 <= j < NUM_JOINTS:
            raise ValueError(f"joint index must be in 0..21, got {j}")
        if "ric" in parts and j > 0:
            out[_SL["ric"].start + 3 * (j - 1):_SL["ric"].start + 3 * j] = True
        if "rot6d" in parts and j > 0:
            out[_SL["rot6d"].start + 6 * (j - 1):_SL["rot6d"].start + 6 * j] = True
        if "local_vel" in parts:
            out[_SL["local_vel"].start + 3 * j:_SL["local_vel"].start + 3 * j + 3] = True
    return out


def root_path_channels(height: bool = False) -> np.ndarray:
    """(263,) bool: the horizontal trajectory: yaw velocity, x/z velocity in the facing frame, and
    the root's own x/z velocity entry (the same motion seen from the previous frame's facing).
    ``height=True`` adds the root height and the root's vertical velocity."""
    out = np.zeros(FEATURE_DIM, bool)
    out[0:3] = True
    v0 = _SL["local_vel"].start
    out[[v0, v0 + 2]] = True
    if height:
        out[3] = True
        out[v0 + 1] = True
    return out


def lower_body_channels() -> np.ndarray:
    """(263,) bool: legs, pelvis, the whole root (trajectory, heading, height) and the foot contacts."""
    out = joint_channels(LOWER_BODY_JOINTS)
    out[0:4] = True
    out[_SL["foot_contact"]] = True
    return out


def upper_body_channels() -> np.ndarray:
    """(263,) bool: spine, neck, head, collars, arms (everything :func:`lower_body_channels` is not)."""
    return ~lower_body_channels()


def upper_body_pose_channels() -> np.ndarray:
    """(263,) bool: :func:`upper_body_channels` without the joints' velocities. A joint's velocity is
    its world displacement in the facing frame, so it carries the root's path and turning too:
    keeping it while the root is regenerated would pull the new path back towards the source's."""
    out = upper_body_channels()
    out[_SL["local_vel"]] = False
    return out


CHANNEL_GROUPS = {
    "all": lambda: np.ones(FEATURE_DIM, bool),
    "upper body": upper_body_channels,
    "lower body": lower_body_channels,
    "root path": root_path_channels,
}


def channel_mask(frames: int, channels: np.ndarray) -> np.ndarray:
    """(frames, 263) float32 weight keeping ``channels`` on every frame."""
    return np.broadcast_to(np.asarray(channels, np.float32), (int(frames), FEATURE_DIM)).copy()


def frame_mask(frames: int, keep) -> np.ndarray:
    """(frames, 263) float32 weight keeping whole frames; ``keep`` is a (frames,) bool array."""
    keep = np.asarray(keep, bool)
    if keep.shape != (int(frames),):
        raise ValueError(f"keep must have shape ({frames},), got {keep.shape}")
    return np.repeat(keep.astype(np.float32)[:, None], FEATURE_DIM, axis=1)


def seams_of(weight: np.ndarray) -> list[int]:
    """Frames s where the set of exactly kept channels changes between frame s-1 and s."""
    hard = np.asarray(weight) >= 1.0
    return [s for s in range(1, len(hard)) if not np.array_equal(hard[s - 1], hard[s])]


@dataclass
class EditSpec:
    """What to keep and what to generate, over the output's frames.

    Attributes:
        known: (T, 263) float32 raw HumanML3D features; read only where ``weight`` > 0.
        weight: (T, 263) float32 in [0, 1]; 1 = kept exactly (in feature space, in the output),
            0 = generated, in between = generated but pulled towards ``known`` by that fraction
            at every denoising step (used for soft transitions).
        seams: frames s where kept and generated frames meet (the step from s-1 to s).
        name: the preset's name (for messages and file names).
        placement: optional (yaw radians, x, z): the output's joints are turned by yaw about +Y
            and moved by (x, z) so that a path given in the user's ground coordinates is followed
            there (features stay in HumanML3D's canonical frame).
    """

    known: np.ndarray
    weight: np.ndarray
    seams: list = field(default_factory=list)
    name: str = "custom"
    placement: tuple | None = None

    def __post_init__(self):
        self.known = np.asarray(self.known, np.float32)
        self.weight = np.asarray(self.weight, np.float32)
        if self.known.ndim != 2 or self.known.shape[1] != FEATURE_DIM:
            raise ValueError(f"known must have shape (frames, {FEATURE_DIM}), got {self.known.shape}")
        if self.weight.shape != self.known.shape:
            raise ValueError(f"weight must have the shape of known {self.known.shape}, got {self.weight.shape}")
        if not np.isfinite(self.weight).all() or self.weight.min() < 0 or self.weight.max() > 1:
            raise ValueError("weight must be finite and between 0 and 1")
        used = self.weight > 0
        if not np.isfinite(self.known[used]).all():
            raise ValueError("the kept part of the motion contains NaN or infinite values")
        if self.frames < 2:
            raise ValueError(f"an edit needs at least 2 frames, got {self.frames}")

    @property
    def frames(self) -> int:
        return int(self.known.shape[0])

    @property
    def keep(self) -> np.ndarray:
        """(T, 263) bool: the channels kept exactly."""
        return self.weight >= 1.0

    def summary(self) -> str:
        """One line: how many frames are kept whole, partly, or generated."""
        whole = int(self.keep.all(1).sum())
        part = int((self.keep.any(1) & ~self.keep.all(1)).sum())
        return f"{self.name}: {self.frames} frames, {whole} kept, {part} partly kept, {self.frames - whole - part} generated"
