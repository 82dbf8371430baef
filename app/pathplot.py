"""A top view of a root path (and of generated roots) as a small image, drawn with PIL.

Seen from above: +z points up the image, +x to the *left* (a body facing +z has +x on its left),
one grid line per metre."""

from __future__ import annotations

import numpy as np

SIZE = 360
MARGIN = 28
COLORS = {"path": (40, 40, 40), "A": (59, 115, 217), "B": (230, 115, 31)}


def _frame(points: list[np.ndarray]):
    allp = np.concatenate([p for p in points if len(p)], axis=0) if points else np.zeros((1, 2))
    lo, hi = allp.min(0) - 0.5, allp.max(0) + 0.5
    span = float(max(hi[0] - lo[0], hi[1] - lo[1], 2.0))
    centre = (lo + hi) / 2
    scale = (SIZE - 2 * MARGIN) / span

    def to_px(xz):
        xz = np.asarray(xz, np.float64)
        u = SIZE / 2 - (xz[..., 0] - centre[0]) * scale  # +x to the left
        v = SIZE / 2 - (xz[..., 1] - centre[1]) * scale  # +z up
        return np.stack([u, v], -1)

    return to_px, centre, span


def draw_paths(path_xz=None, roots: dict | None = None) -> np.ndarray:
    """(SIZE, SIZE, 3) uint8 image: the path (dark, with its points) and generated roots (A blue, B orange).

    path_xz: (N, 2) path points (x, z) or None; roots: {"A": (T, 2), "B": (T, 2)} root positions."""
    from PIL import Image, ImageDraw

    roots = roots or {}
    path = np.zeros((0, 2)) if path_xz is None else np.asarray(path_xz, np.float64).reshape(-1, 2)
    to_px, centre, span = _frame([path] + [np.asarray(r, np.float64) for r in roots.values()])
    img = Image.new("RGB", (SIZE, SIZE), (246, 246, 248))
    d = ImageDraw.Draw(img)
    step = 1.0 if span <= 12 else 5.0
    for k in np.arange(np.floor((centre[0] - span) / step), np.ceil((centre[0] + span) / step) + 1):
        u = to_px(np.array([k * step, centre[1]]))[0]
        d.line([(u, 0), (u, SIZE)], fill=(222, 222, 228))
    for k in np.arange(np.floor((centre[1] - span) / step), np.ceil((centre[1] + span) / step) + 1):
        v = to_px(np.array([centre[0], k * step]))[1]
        d.line([(0, v), (SIZE, v)], fill=(222, 222, 228))
    for side, r in roots.items():
        px = to_px(np.asarray(r, np.float64))
        d.line([tuple(p) for p in px], fill=COLORS.get(side, (120, 120, 120)), width=3)
    if len(path):
        px = to_px(path)
        if len(px) > 1:
            d.line([tuple(p) for p in px], fill=COLORS["path"], width=1)
        for k, (u, v) in enumerate(px):
            r = 5 if k == 0 else 3
            d.ellipse([u - r, v - r, u + r, v + r], outline=COLORS["path"], fill=(255, 255, 255) if k else (60, 180, 90))
    d.text((6, 4), f"top view, grid {step:g} m", fill=(90, 90, 90))
    d.text((6, SIZE - 16), "up: +z (start facing)  left: +x", fill=(90, 90, 90))
    if roots:
        d.text((SIZE - 120, 4), "  ".join(f"{k}" for k in roots), fill=(90, 90, 90))
    return np.asarray(img)
