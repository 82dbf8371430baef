"""A clip: one action's joint rotations and ground-contact plan, before the root is solved."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .pose import MIRROR, mirror_rotations


@dataclass
class Clip:
    """Per-frame channels of one action (frames at 20 fps).

    Attributes:
        rot: ``(T, 22, 4)`` local joint rotations; joint 0 is the pelvis relative to the
            current heading (tilt / gait sway), the heading itself comes from ``yaw_rate``.
        yaw_rate: ``(T,)`` heading change from frame t to t+1, radians (> 0 turns left,
            i.e. counter-clockwise seen from above).
        contact: ``(T, 2)`` left/right foot ground-contact weights in [0, 1]; a contact
            foot's ankle is pinned where it landed and carries the root.
        air_vel: ``(T, 3)`` root velocity (metres/frame, heading frame: x left, z forward)
            used while no foot touches the ground (NaN: interpolate between take-off and
            landing speeds).
        actions: machine-readable records (dicts) with ``start`` / ``end`` frames relative
            to the clip.
    """

    rot: np.ndarray
    yaw_rate: np.ndarray
    contact: np.ndarray
    air_vel: np.ndarray
    actions: list = field(default_factory=list)

    @property
    def T(self) -> int:
        return self.rot.shape[0]

    @staticmethod
    def standing(rot: np.ndarray, actions=None) -> "Clip":
        """A clip with both feet planted and no turning."""
        T = rot.shape[0]
        return Clip(rot, np.zeros(T), np.ones((T, 2)), np.full((T, 3), np.nan), list(actions or []))

    def mirrored(self) -> "Clip":
        """Left/right mirror: swap limbs, reflect X, turn the other way, swap sides in actions."""
        air = self.air_vel.copy()
        air[:, 0] *= -1
        swap = {"left": "right", "right": "left"}
        acts = []
        for a in self.actions:
            a = dict(a)
            for key in ("side", "direction"):
                if a.get(key) in swap:
                    a[key] = swap[a[key]]
            if "yaw" in a:
                a["yaw"] = -a["yaw"]
            acts.append(a)
        return Clip(mirror_rotations(self.rot), -self.yaw_rate, self.contact[:, ::-1].copy(), air, acts)


def concat_blend(clips: list[Clip], blends: list[int]) -> tuple[Clip, list[int]]:
    """Join clips, cross-fading ``blends[i]`` frames between clip i and i+1.

    The overlap blends rotations (normalised linear blend of sign-aligned quaternions, which
    matches slerp closely for these small per-joint differences), lerps contacts and
    adds the turning rates, so pose and contacts change smoothly and every clip keeps its
    full heading change. Returns the joined clip and
    the start frame of every input clip in it.
    """
    out = clips[0]
    starts = [0]
    for nxt, n in zip(clips[1:], blends):
        n = int(min(n, out.T - 1, nxt.T - 1))
        s = out.T - n
        w = (np.arange(1, n + 1) / (n + 1))
        w = w * w * (3 - 2 * w)
        a, b = out.rot[s:], nxt.rot[:n].copy()
        sign = np.where((a * b).sum(-1, keepdims=True) < 0, -1.0, 1.0)
        mix = a * (1 - w)[:, None, None] + b * sign * w[:, None, None]
        mix /= np.linalg.norm(mix, axis=-1, keepdims=True)
        lerp = lambda x, y: x * (1 - w).reshape(-1, *[1] * (x.ndim - 1)) + y * w.reshape(-1, *[1] * (x.ndim - 1))
        air_a, air_b = out.air_vel[s:], nxt.air_vel[:n]
        air_mix = np.where(np.isnan(air_a) | np.isnan(air_b), np.nan, lerp(np.nan_to_num(air_a), np.nan_to_num(air_b)))
        # Lerped contacts can leave no foot firmly down (one clip's stance foot is the other's
        # swing foot), which the solver would read as a flight: if both clips stand on the
        # ground at a frame, so does the blend.
        c_mix = lerp(out.contact[s:], nxt.contact[:n])
        both = (out.contact[s:].max(-1) >= 0.95) & (nxt.contact[:n].max(-1) >= 0.95)
        c_mix[both] /= np.maximum(c_mix[both].max(-1, keepdims=True), 1e-6)
        acts = list(out.actions) + [dict(a, start=a["start"] + s, end=a["end"] + s) for a in nxt.actions]
        out = Clip(
            rot=np.concatenate([out.rot[:s], mix, nxt.rot[n:]]),
            # Turning adds up in the overlap so each clip keeps its full heading change.
            yaw_rate=np.concatenate([out.yaw_rate[:s], out.yaw_rate[s:] + nxt.yaw_rate[:n], nxt.yaw_rate[n:]]),
            contact=np.concatenate([out.contact[:s], c_mix, nxt.contact[n:]]),
            air_vel=np.concatenate([out.air_vel[:s], air_mix, nxt.air_vel[n:]]),
            actions=acts,
        )
        starts.append(s)
    return out, starts


__all__ = ["Clip", "concat_blend", "MIRROR"]
