"""Path control: a 2-D root path (ground points with times) as HumanML3D root channels.

A path is a list of ``(t seconds, x metres, z metres)`` points on the ground (Y up), the first at
t = 0. It is sampled at the model's frame rate (linear between points, corners rounded by a
Gaussian of ``smooth`` frames), the body faces along the path (``heading="tangent"``, the
facing smoothed like HumanML3D smooths it; held where the path stands still) or keeps its
first facing (``"fixed"``), and the result is written into the channels that
``features_to_joints`` integrates: root yaw velocity, root x/z velocity in the facing frame, and
the root's own x/z velocity entry. Features are canonical (the body starts at the origin
facing +Z); the returned placement turns and moves the joints back onto the user's path.
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import gaussian_filter1d

from .masks import FEATURE_DIM, EditSpec, channel_mask, root_path_channels

MAX_PATH_POINTS = 500
MAX_SPEED = 8.0
"""Fastest path accepted, m/s (a sprint); faster paths would only make the feet slide."""


def check_path(points) -> np.ndarray:
    """(N, 3) float64 ``(t, x, z)`` rows: finite, N >= 2, first t = 0, strictly increasing t.

    Accepts a list of rows or an array; rows with every entry empty/None are ignored (table input).
    """
    rows = []
    for k, row in enumerate(list(points) if points is not None else []):
        vals = list(row) if isinstance(row, (list, tuple, np.ndarray)) else [row]
        if all(v is None or (isinstance(v, str) and not v.strip()) for v in vals):
            continue
        if len(vals) != 3:
            raise ValueError(f"path point {k + 1} must be (t, x, z), got {len(vals)} values")
        try:
            nums = [float(v) for v in vals]
        except (TypeError, ValueError):
            raise ValueError(f"path point {k + 1} must hold numbers (t seconds, x metres, z metres), got {vals}") from None
        if not np.isfinite(nums).all():
            raise ValueError(f"path point {k + 1} contains NaN or an infinite value: {vals}")
        rows.append(nums)
    if len(rows) < 2:
        raise ValueError("a path needs at least 2 points (t, x, z), the first at t = 0")
    if len(rows) > MAX_PATH_POINTS:
        raise ValueError(f"a path takes at most {MAX_PATH_POINTS} points, got {len(rows)}")
    p = np.asarray(rows, np.float64)
    if p[0, 0] != 0.0:
        raise ValueError(f"the path must start at t = 0, its first point is at t = {p[0, 0]:g}")
    if np.any(np.diff(p[:, 0]) <= 0):
        k = int(np.flatnonzero(np.diff(p[:, 0]) <= 0)[0])
        raise ValueError(f"path times must increase: point {k + 2} (t = {p[k + 1, 0]:g}) is not after point {k + 1}")
    speed = np.linalg.norm(np.diff(p[:, 1:], axis=0), axis=1) / np.diff(p[:, 0])
    if speed.max() > MAX_SPEED:
        k = int(speed.argmax())
        raise ValueError(f"the path moves at {speed[k]:.1f} m/s between points {k + 1} and {k + 2}; "
                         f"at most {MAX_SPEED:g} m/s is followed (give those points more time)")
    return p


def sample_path(points, fps: float = 20.0, smooth: float = 2.0) -> np.ndarray:
    """(T, 2) ground positions (x, z) at frames 0..T-1, T = round(t_last * fps) + 1."""
    p = check_path(points)
    T = int(round(p[-1, 0] * fps)) + 1
    t = np.arange(T) / fps
    xz = np.stack([np.interp(t, p[:, 0], p[:, 1]), np.interp(t, p[:, 0], p[:, 2])], axis=1)
    if smooth > 0 and T > 2:
        xz = _smooth_keep_ends(xz, smooth)
    return xz


def _smooth_keep_ends(x: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian smoothing along axis 0 that leaves straight motion at the ends unchanged: the signal
    is extended by point reflection about its first and last samples before filtering."""
    k = min(len(x) - 1, int(4 * sigma) + 1)
    head = 2 * x[0] - x[k:0:-1]
    tail = 2 * x[-1] - x[-2:-k - 2:-1]
    ext = np.concatenate([head, x, tail], axis=0)
    return gaussian_filter1d(ext, sigma, axis=0, mode="nearest")[k:k + len(x)]


def path_headings(xz: np.ndarray, fps: float = 20.0, mode: str = "tangent", sigma: float = 4.0,
                  still: float = 0.15) -> np.ndarray:
    """(T,) facing yaw in radians (0 = +Z, counter-clockwise seen from above), unwrapped.

    "tangent": along the motion where it moves faster than ``still`` m/s (held elsewhere),
    smoothed with a Gaussian of ``sigma`` frames; "fixed": the first moving direction throughout.
    """
    if mode not in ("tangent", "fixed"):
        raise ValueError(f"heading must be 'tangent' or 'fixed', got {mode!r}")
    d = np.gradient(xz, axis=0) * fps
    speed = np.linalg.norm(d, axis=1)
    moving = speed > still
    if not moving.any():
        return np.zeros(len(xz))
    yaw = np.arctan2(d[:, 0], d[:, 1])
    idx = np.where(moving, np.arange(len(xz)), -1)
    idx = np.maximum.accumulate(idx)
    idx[idx < 0] = int(np.flatnonzero(moving)[0])  # before the first move: face the first move
    yaw = np.unwrap(yaw[idx])
    if mode == "fixed":
        return np.full(len(xz), yaw[0])
    if sigma > 0:
        yaw = gaussian_filter1d(yaw, sigma, mode="nearest")
    return yaw


def _rot_y(v: np.ndarray, yaw: np.ndarray) -> np.ndarray:
    """Turn (..., 2) ground vectors (x, z) by yaw about +Y (+Z goes to (sin yaw, cos yaw))."""
    c, s = np.cos(yaw), np.sin(yaw)
    return np.stack([c * v[..., 0] + s * v[..., 1], -s * v[..., 0] + c * v[..., 1]], axis=-1)


def path_features(xz: np.ndarray, yaw: np.ndarray) -> tuple[np.ndarray, tuple]:
    """Root channels of a canonical HumanML3D motion following ``xz`` with facing ``yaw``.

    Args:
        xz: (T, 2) ground positions; yaw: (T,) facing in radians (0 = +Z, counter-clockwise).
    Returns:
        ``(features, placement)``: (T, 263) float32 with channels 0-2 and the root's x/z velocity
        entry filled (the rest 0), and ``(yaw0, x0, z0)`` that takes the canonical motion (start
        at the origin facing +Z) onto the path.
    """
    xz = np.asarray(xz, np.float64)
    yaw = np.asarray(yaw, np.float64)
    T = len(xz)
    q = _rot_y(xz - xz[0], -yaw[0])  # canonical positions
    yc = yaw - yaw[0]  # canonical facing
    feats = np.zeros((T, FEATURE_DIM), np.float64)
    step = q[1:] - q[:-1]
    # recover_root: the angle of frame t sums the yaw channel of frames < t, and it is minus half the
    # facing yaw; the x/z channel of frame t is the step t -> t+1 seen from frame t+1's facing.
    feats[:-1, 0] = -(yc[1:] - yc[:-1]) / 2.0
    feats[:-1, 1:3] = _rot_y(step, -yc[1:])
    v0 = 4 + 63 + 126  # the root's velocity entry, seen from the earlier frame's facing
    local = _rot_y(step, -yc[:-1])
    feats[:-1, v0] = local[:, 0]
    feats[:-1, v0 + 2] = local[:, 1]
    feats[-1] = feats[-2]  # the last frame's velocities are never integrated
    return feats.astype(np.float32), (float(yaw[0]), float(xz[0, 0]), float(xz[0, 1]))


def path_spec(points, fps: float = 20.0, heading: str = "tangent", smooth: float = 2.0,
              max_frames: int = 196) -> EditSpec:
    """An :class:`EditSpec` that imposes a root path and leaves the body to the prompt.

    Args:
        points: (t, x, z) rows, first at t = 0 (see :func:`check_path`).
        heading: "tangent" (face along the path) or "fixed" (keep the first facing).
    Returns:
        EditSpec over round(t_last * fps) + 1 frames with the root path channels kept and a
        placement onto the user's coordinates.
    """
    xz = sample_path(points, fps, smooth)
    if len(xz) > max_frames:
        raise ValueError(f"the path lasts {(len(xz) - 1) / fps:g} s; one motion lasts at most "
                         f"{(max_frames - 1) / fps:g} s: shorten the path")
    if len(xz) < 2:
        raise ValueError("the path must last at least one frame (1/20 s)")
    yaw = path_headings(xz, fps, heading)
    feats, placement = path_features(xz, yaw)
    weight = channel_mask(len(xz), root_path_channels())
    return EditSpec(feats, weight, [], "path", placement)
