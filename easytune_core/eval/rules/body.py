"""Measurements on HumanML3D joints for the rule checks: floor, facing, body frame, trunk
orientation, speeds, counts of repetitions.

Conventions: joints ``(T, 22, 3)`` in metres, Y up; the body's left at rest is +X and it faces
+Z; a yaw > 0 turns left (counter-clockwise seen from above).
"""

from __future__ import annotations

from functools import cached_property

import numpy as np

FPS = 20.0
PELVIS, L_HIP, R_HIP, SPINE3, L_KNEE, R_KNEE, L_ANKLE, R_ANKLE, L_FOOT, R_FOOT = 0, 1, 2, 9, 4, 5, 7, 8, 10, 11
NECK, HEAD, L_SH, R_SH, L_ELBOW, R_ELBOW, L_WRIST, R_WRIST = 12, 15, 16, 17, 18, 19, 20, 21
SIDE = {"left": 0, "right": 1}
WRIST, SHOULDER, ELBOW = (L_WRIST, R_WRIST), (L_SH, R_SH), (L_ELBOW, R_ELBOW)
ANKLE, FOOT, KNEE, HIP = (L_ANKLE, R_ANKLE), (L_FOOT, R_FOOT), (L_KNEE, R_KNEE), (L_HIP, R_HIP)


def count_peaks(x: np.ndarray, prominence: float, min_height: float = -np.inf) -> int:
    """Number of local maxima of ``x`` that rise ``prominence`` above the preceding minimum
    and fall ``prominence`` below themselves afterwards (the last one may end the clip);
    maxima under ``min_height`` do not count."""
    n, lo, armed = 0, x[0], True
    hi = x[0]
    for v in x[1:]:
        if armed:
            if v - lo >= prominence:
                armed, hi = False, v
            lo = min(lo, v)
        else:
            if v > hi:
                hi = v
            elif hi - v >= prominence:
                n += int(hi >= min_height)
                armed, lo = True, v
    return n + (0 if armed or hi < min_height else 1)


def count_meets(d: np.ndarray, close: float, apart: float) -> int:
    """How many times a distance ``d`` closes under ``close`` after having been over ``apart``."""
    n, was_apart = 0, True
    for v in d:
        if was_apart and v < close:
            n += 1
            was_apart = False
        elif v > apart:
            was_apart = True
    return n


def runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """(start, end) of the True runs of a boolean mask (end exclusive)."""
    m = np.concatenate([[False], mask, [False]]).astype(np.int8)
    d = np.diff(m)
    return list(zip(np.flatnonzero(d == 1), np.flatnonzero(d == -1)))


def longest_run(mask: np.ndarray) -> int:
    return max((e - s for s, e in runs(mask)), default=0)


class Body:
    """Cached measurements of one motion."""

    def __init__(self, joints: np.ndarray):
        j = np.asarray(joints, dtype=np.float64)
        if j.ndim != 3 or j.shape[1] < 22 or j.shape[2] != 3 or len(j) < 2:
            raise ValueError(f"judge expects joints shaped (frames >= 2, 22, 3), got {j.shape}")
        self.j = j[:, :22]
        self.T = len(j)

    @cached_property
    def floor(self) -> float:
        """Floor height: the 2nd percentile of the per-frame lowest joint."""
        return float(np.percentile(self.j[:, :, 1].min(1), 2))

    def h(self, joint) -> np.ndarray:
        """Height above the floor of ``joint`` (index or tuple of indices) per frame."""
        return self.j[:, joint, 1] - self.floor

    @cached_property
    def across(self) -> np.ndarray:
        """(T, 3) unit vector from the body's right to its left (hips and shoulders)."""
        a = (self.j[:, L_HIP] - self.j[:, R_HIP]) + (self.j[:, L_SH] - self.j[:, R_SH])
        return a / np.maximum(np.linalg.norm(a, axis=-1, keepdims=True), 1e-9)

    @cached_property
    def yaw(self) -> np.ndarray:
        """(T,) unwrapped facing angle in radians (0 = +Z, > 0 = turned left)."""
        a = self.across
        return np.unwrap(np.arctan2(-a[:, 2], a[:, 0]))

    @cached_property
    def up(self) -> np.ndarray:
        """(T, 3) unit trunk axis from the pelvis to the neck."""
        u = self.j[:, NECK] - self.j[:, PELVIS]
        return u / np.maximum(np.linalg.norm(u, axis=-1, keepdims=True), 1e-9)

    @cached_property
    def front(self) -> np.ndarray:
        """(T, 3) unit vector out of the chest (across x trunk axis)."""
        f = np.cross(self.across, self.up)
        return f / np.maximum(np.linalg.norm(f, axis=-1, keepdims=True), 1e-9)

    @cached_property
    def tilt(self) -> np.ndarray:
        """(T,) angle of the trunk from vertical, degrees (0 upright, 90 lying)."""
        return np.degrees(np.arccos(np.clip(self.up[:, 1], -1.0, 1.0)))

    @cached_property
    def pitch(self) -> np.ndarray:
        """(T,) forward lean of the trunk in degrees (> 0 leaning forward, < 0 leaning back)."""
        fwd = np.stack([np.sin(self.yaw), np.cos(self.yaw)], -1)
        horiz = (self.up[:, [0, 2]] * fwd).sum(-1)
        return np.degrees(np.arctan2(horiz, self.up[:, 1]))

    def local(self, joint, frame_yaw: np.ndarray | None = None) -> np.ndarray:
        """(T, 3) position of ``joint`` relative to the pelvis in the body's heading frame
        (x: left, y: up, z: forward); ``frame_yaw`` overrides the per-frame heading."""
        yaw = self.yaw if frame_yaw is None else frame_yaw
        d = self.j[:, joint] - self.j[:, PELVIS]
        c, s = np.cos(yaw), np.sin(yaw)
        return np.stack([d[:, 0] * c - d[:, 2] * s, d[:, 1], d[:, 0] * s + d[:, 2] * c], -1)

    def rel(self, joint, to) -> np.ndarray:
        """(T, 3) position of ``joint`` relative to joint ``to`` in the heading frame."""
        return self.local(joint) - self.local(to)

    def displacement(self, s: int = 0, e: int | None = None) -> tuple[float, float]:
        """Root displacement from frame s to e in the heading frame at s: (left, forward) metres."""
        e = self.T - 1 if e is None else e
        d = self.j[e, PELVIS] - self.j[s, PELVIS]
        y0 = self.yaw[max(s, 0):s + 3].mean()
        fwd = d[0] * np.sin(y0) + d[2] * np.cos(y0)
        left = d[0] * np.cos(y0) - d[2] * np.sin(y0)
        return float(left), float(fwd)

    @cached_property
    def speed(self) -> np.ndarray:
        """(T-1,) horizontal root speed, metres per second (lightly smoothed)."""
        v = np.linalg.norm(np.diff(self.j[:, PELVIS, :][:, [0, 2]], axis=0), axis=-1) * FPS
        k = np.ones(5) / 5
        return np.convolve(np.pad(v, 2, mode="edge"), k, mode="valid")

    def moving_speed(self, min_speed: float = 0.25) -> float:
        """Median root speed over the frames where the body moves (0 if it never does)."""
        v = self.speed[self.speed > min_speed]
        return float(np.median(v)) if len(v) >= 5 else 0.0

    def joint_speed(self, joint) -> np.ndarray:
        """(T-1,) speed of ``joint`` in metres per second."""
        return np.linalg.norm(np.diff(self.j[:, joint], axis=0), axis=-1) * FPS

    @cached_property
    def flights(self) -> list[tuple[int, int]]:
        """Frame runs with both feet (ankles and toes) at least 4 cm above the floor."""
        low = self.j[:, [L_ANKLE, R_ANKLE, L_FOOT, R_FOOT], 1].min(1) - self.floor
        return [(s, e) for s, e in runs(low > 0.04)]

    def feet_lift(self) -> np.ndarray:
        """(T,) height of the lower foot above the floor."""
        return self.j[:, [L_ANKLE, R_ANKLE, L_FOOT, R_FOOT], 1].min(1) - self.floor

    def foot_down(self, s: int) -> np.ndarray:
        """(T,) whether foot ``s`` (0 left, 1 right) is on the floor and still."""
        low = (self.h(ANKLE[s]) < 0.085) & (self.h(FOOT[s]) < 0.04)
        sp = np.append(np.maximum(self.joint_speed(FOOT[s]), self.joint_speed(ANKLE[s])), 0.0)
        return low & (sp < 0.3)


__all__ = ["Body", "count_peaks", "count_meets", "runs", "longest_run", "SIDE", "WRIST", "SHOULDER", "ELBOW", "ANKLE", "FOOT",
           "KNEE", "HIP", "PELVIS", "SPINE3", "NECK", "HEAD", "FPS"]
