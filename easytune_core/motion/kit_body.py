"""KIT-ML's 21 MMM joints on the 22-joint SMPL body that the renderers and exporters drive.

Every renderer and exporter (GLB, mp4, BVH, SMPL NPZ) animates the 22 SMPL body joints. A KIT-ML
motion is put on that body joint by joint: pelvis = root, spine1 = BP, spine2 = BT, neck = BLN,
head = BUN, shoulders / elbows / wrists / hips / knees / ankles from their MMM counterparts, the
SMPL foot (ball of the foot) from the metatarsal joint (``LMrot``/``RMrot``). Two SMPL joints
have no MMM counterpart and are interpolated: spine3 = 30% of the way from BT to BLN, each
collar = 40% of the way from BLN to its shoulder. The body's own bone lengths are then fitted
by the IK, so a KIT-ML motion renders with the motion, not the exact bones, of its subject.

KIT-ML joints are in millimetres (its features are); joints whose rest height spans more than
10 units are read as millimetres and divided by 1000, anything else as metres.
"""

from __future__ import annotations

import numpy as np

__all__ = ["kit_to_body_joints", "KIT_TO_BODY", "looks_like_millimetres"]

# SMPL joint -> MMM joint index (None: interpolated below). Left = +X in both (see skeleton.py).
KIT_TO_BODY = (0, 11, 16, 1, 12, 17, 2, 13, 18, None, 14, 19, 3, None, None, 4, 5, 8, 6, 9, 7, 10)
_SPINE3 = (2, 3, 0.3)      # lerp(BT, BLN, 0.3)
_COLLARS = {13: (3, 5, 0.4), 14: (3, 8, 0.4)}  # lerp(BLN, shoulder, 0.4)


def looks_like_millimetres(joints: np.ndarray) -> bool:
    """True when the first frame's vertical extent exceeds 10 units (a body is ~1.7 m / 1700 mm)."""
    y = np.asarray(joints)[0, :, 1]
    return float(y.max() - y.min()) > 10.0


def kit_to_body_joints(joints, units_per_metre: float | None = None) -> np.ndarray:
    """KIT-ML joints ``(T, 21, 3)`` (MMM order, Y up) -> ``(T, 22, 3)`` SMPL body joints in metres.

    Args:
        joints: KIT-ML joint positions (millimetres as KIT-ML stores them, or metres).
        units_per_metre: 1000 for millimetres, 1 for metres; None guesses
            (:func:`looks_like_millimetres`).
    Returns:
        float64 ``(T, 22, 3)`` in metres.
    """
    arr = np.asarray(joints, dtype=np.float64)
    if arr.ndim != 3 or arr.shape[1:] != (21, 3):
        raise ValueError(f"KIT-ML joints must be (T, 21, 3), got {arr.shape}")
    if arr.shape[0] == 0:
        raise ValueError("KIT-ML joints have zero frames")
    if units_per_metre is None:
        units_per_metre = 1000.0 if looks_like_millimetres(arr) else 1.0
    if not units_per_metre > 0:
        raise ValueError(f"units_per_metre must be positive, got {units_per_metre}")
    arr = arr / float(units_per_metre)
    out = np.zeros((arr.shape[0], 22, 3))
    for smpl, mmm in enumerate(KIT_TO_BODY):
        if mmm is not None:
            out[:, smpl] = arr[:, mmm]
    a, b, w = _SPINE3
    out[:, 9] = (1 - w) * arr[:, a] + w * arr[:, b]
    for smpl, (a, b, w) in _COLLARS.items():
        out[:, smpl] = (1 - w) * arr[:, a] + w * arr[:, b]
    return out
