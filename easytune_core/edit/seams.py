"""Seam blending: remove what is left of a jump where kept and generated frames meet.

Inpainting makes the generated part agree with the kept part, but not always to the frame: a
few centimetres (or, for an edit that asks for something the kept part contradicts, much more)
can remain at the seam. Like inertialization in game animation, the jump is measured at the seam
(the kept side extrapolated by one frame minus the generated frame) and added to the *generated*
frames next to it, decaying smoothly to zero over ``frames`` frames. Kept frames are never
touched, so they stay exact; the generated motion keeps its shape and only its first (or last)
``frames`` frames bend towards the kept side.

Positions (root height, root-relative joints) and 6D rotations are extrapolated linearly from
the last two kept frames; velocities (root yaw and x/z velocity, joint velocities) are held. The
joint-velocity channels of blended frames also get the change of the offset, so they keep
describing the blended positions. Foot contacts are labels and are left alone.
"""

from __future__ import annotations

import numpy as np

from ..motion.features import feature_slices

_SL = feature_slices("humanml3d")
_POS = np.zeros(263, bool)
_POS[3] = True
_POS[_SL["ric"]] = True
_POS[_SL["rot6d"]] = True
_VEL = np.zeros(263, bool)
_VEL[0:3] = True
_VEL[_SL["local_vel"]] = True


def _decay(n: int) -> np.ndarray:
    """(n,) from 1 at the seam smoothly down to 0 (1 - smoothstep)."""
    u = (np.arange(n) + 1.0) / (n + 1.0)
    return 1.0 - u * u * (3.0 - 2.0 * u)


def _jump(F: np.ndarray, kept: list[int], gen: int) -> np.ndarray:
    """(D,) extrapolated kept value at frame ``gen`` minus the generated value there.

    kept: the kept frames next to the seam, nearest first (1 or 2 of them)."""
    a = F[kept[0]]
    expect = a.copy()
    if len(kept) > 1:
        expect[_POS] = a[_POS] + (a[_POS] - F[kept[1]][_POS])
    return expect - F[gen]


def _apply(F: np.ndarray, offset: np.ndarray, frames: np.ndarray, free: np.ndarray) -> None:
    """Add offset[k] to frames[k] on the generated channels, plus its change to the joint velocities."""
    for k, t in enumerate(frames):
        F[t, free[t]] += offset[k][free[t]]


def blend_seams(features: np.ndarray, keep: np.ndarray, frames: int = 10) -> np.ndarray:
    """Blend every time seam of an edit into the generated frames next to it.

    Args:
        features: (T, 263) raw features of the result (kept parts already exact).
        keep: (T, 263) bool, the exactly kept channels.
        frames: frames over which a jump decays (0 = off).
    Returns:
        (T, 263) float32, equal to ``features`` wherever ``keep``.
    """
    F = np.array(features, np.float32, copy=True)
    keep = np.asarray(keep, bool)
    T = len(F)
    if frames <= 0 or T < 3:
        return F
    whole = keep.all(1)  # frames kept entirely
    none = ~keep.any(1)  # frames generated entirely
    free = ~keep
    total = np.zeros_like(F)
    # runs of generated frames, each bounded by kept frames on one or both sides
    t = 0
    while t < T:
        if not none[t]:
            t += 1
            continue
        start = t
        while t < T and none[t]:
            t += 1
        end = t  # generated run [start, end)
        n = end - start
        both = start > 0 and whole[start - 1] and end < T and whole[end]
        span = min(frames, n // 2 if both else n)
        if span <= 0:
            continue
        d = _decay(span)
        if start > 0 and whole[start - 1]:  # kept before: blend forward
            kept = [start - 1] + ([start - 2] if start >= 2 and whole[start - 2] else [])
            jump = _jump(F, kept, start)
            total[start:start + span] += d[:, None] * jump[None]
        if end < T and whole[end]:  # kept after: blend backward
            kept = [end] + ([end + 1] if end + 1 < T and whole[end + 1] else [])
            jump = _jump(F, kept, end - 1)
            total[end - span:end] += d[::-1, None] * jump[None]
    # velocities of blended frames follow the blended positions (ric joints 1..21, root height)
    dpos = np.zeros_like(total)
    dpos[:-1] = total[1:] - total[:-1]
    v0 = _SL["local_vel"].start
    vel = total[:, v0:v0 + 66].reshape(T, 22, 3)
    vel[:, 1:] += dpos[:, _SL["ric"]].reshape(T, 21, 3)
    vel[:, 0, 1] += dpos[:, 3]
    total[:, v0:v0 + 66] = vel.reshape(T, 66)
    total[:, _SL["foot_contact"]] = 0.0
    F[free] += total[free]
    return F
