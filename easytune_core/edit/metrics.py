"""Measurements of edits and compositions: seams, foot contacts, foot skating, path error.

All take joints ``(T, 22, 3)`` in metres, Y up, at ``fps`` frames per second.
"""

from __future__ import annotations

import numpy as np

FEET = {"left": (7, 10), "right": (8, 11)}  # (ankle, toe) as HumanML3D's foot contacts
CONTACT_THRESHOLD = 0.002
"""HumanML3D's foot contact: squared per-frame displacement below 0.002 m^2 (4.5 cm per frame)."""


def joint_speeds(joints: np.ndarray, fps: float = 20.0) -> np.ndarray:
    """(T-1, J) speed of every joint between consecutive frames, m/s."""
    j = np.asarray(joints, np.float64)
    return np.linalg.norm(np.diff(j, axis=0), axis=-1) * fps


def foot_contacts(joints: np.ndarray, threshold: float = CONTACT_THRESHOLD) -> dict:
    """Per foot, (T-1,) bool: HumanML3D's contact (ankle and toe both move less than the threshold)."""
    j = np.asarray(joints, np.float64)
    disp = (np.diff(j, axis=0) ** 2).sum(-1)
    return {side: (disp[:, a] < threshold) & (disp[:, b] < threshold) for side, (a, b) in FEET.items()}


def seam_report(joints: np.ndarray, seams, fps: float = 20.0, percentile: float = 99.0, window: int = 2) -> dict:
    """How each seam looks next to the motion's own movement.

    A seam s is the step from frame s-1 to frame s. For each seam: the largest joint speed over that
    step, the motion's own ``percentile`` of joint speeds (all joints, all steps except those within
    ``window`` steps of a seam, so a pop does not raise its own bar), and per foot whether it was
    planted on both sides (contact on the ``window`` steps before and after) and whether it stayed
    planted across the seam.

    Returns:
        ``{"percentile_speed": float, "seams": [{"frame", "max_speed", "ratio", "feet": {side:
        {"planted_both_sides", "stayed_planted"}}}], "ok": bool}``; ok = every seam's max speed is
        within the percentile and every foot planted on both sides stayed planted.
    """
    speeds = joint_speeds(joints, fps)
    away = np.ones(len(speeds), bool)
    for s in seams:
        away[max(0, int(s) - 1 - window):int(s) + window] = False
    ref = float(np.percentile(speeds[away] if away.any() else speeds, percentile))
    contacts = foot_contacts(joints)
    out, ok = [], True
    n = len(speeds)
    for s in seams:
        s = int(s)
        if not 1 <= s <= n:
            continue
        step = s - 1  # index of the step frame s-1 -> s
        mx = float(speeds[step].max())
        feet = {}
        for side, c in contacts.items():
            before = c[max(0, step - window):step]
            after = c[step + 1:step + 1 + window]
            both = bool(len(before) and len(after) and before.all() and after.all())
            stayed = bool(c[step]) if both else True
            feet[side] = {"planted_both_sides": both, "stayed_planted": stayed}
            ok &= stayed
        ok &= mx <= ref
        out.append({"frame": s, "max_speed": mx, "ratio": mx / ref if ref > 0 else float("inf"), "feet": feet})
    return {"percentile": percentile, "percentile_speed": ref, "seams": out, "ok": bool(ok)}


def skating_ratio(joints: np.ndarray, fps: float = 20.0, height: float = 0.05, slide: float = 0.025) -> float:
    """Share of frames in which a foot near the floor slides: a foot joint (ankle or toe) lower than
    ``height`` m above the clip's floor moves more than ``slide`` m horizontally in one frame
    (at 20 fps: 0.5 m/s). The common foot-skating ratio of motion-control papers."""
    j = np.asarray(joints, np.float64)
    idx = [i for pair in FEET.values() for i in pair]
    feet = j[:, idx]
    floor = np.percentile(feet[..., 1].min(1), 5)
    low = (feet[1:, :, 1] - floor < height) & (feet[:-1, :, 1] - floor < height)
    move = np.linalg.norm(np.diff(feet[..., [0, 2]], axis=0), axis=-1) * (20.0 / fps)
    skid = (low & (move > slide)).any(1)
    return float(skid.mean())


def contact_consistency(features: np.ndarray, joints: np.ndarray, fps: float = 20.0) -> float:
    """Share of frames whose foot contact channels (> 0.5) agree with the joints' own contacts:
    where the features say a foot is down, it does not move more than HumanML3D's threshold."""
    f = np.asarray(features)
    said = f[:-1, -4:] > 0.5  # (T-1, 4): l_ankle, l_toe, r_ankle, r_toe
    j = np.asarray(joints, np.float64)
    disp = (np.diff(j, axis=0) ** 2).sum(-1)[:, [7, 10, 8, 11]]
    moved = disp >= CONTACT_THRESHOLD
    bad = (said & moved).any(1)
    return float(1.0 - bad.mean())


def path_error(joints: np.ndarray, xz: np.ndarray) -> float:
    """Largest horizontal distance (m) between the root and the sampled path (T, 2), frame by frame."""
    j = np.asarray(joints, np.float64)
    return float(np.linalg.norm(j[:len(xz), 0][:, [0, 2]] - np.asarray(xz)[:len(j)], axis=1).max())
