"""A clip: one action's joint rotations and ground-contact plan, before the root is solved."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .pose import MIRROR, mirror_rotations

# Body parts other than the flat feet that can rest on the ground ("support sites"): the joint
# that touches, its height above the floor when it does (metres at scale 1: joint centres sit
# inside the body), its left/right partner, and whether leg IK ("leg"), arm IK ("hand") or
# nothing ("trunk": the root itself is placed) puts it there. "seat" is the pelvis resting on
# a chair-high seat.
SITES = ("l_hand", "r_hand", "l_knee", "r_knee", "l_toe", "r_toe", "pelvis", "torso", "seat")
SITE_JOINT = (20, 21, 4, 5, 10, 11, 0, 9, 0)
SITE_HEIGHT = (0.035, 0.035, 0.055, 0.055, 0.02, 0.02, 0.10, 0.10, 0.50)
SITE_MIRROR = (1, 0, 3, 2, 5, 4, 6, 7, 8)
SITE_KIND = ("hand", "hand", "knee", "knee", "toe", "toe", "trunk", "trunk", "trunk")
S = len(SITES)


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
        support: ``(T, len(SITES))`` ground-contact weights of hands, knees, toes, pelvis,
            torso and seat (``None``: all zero); like ``contact``, a supporting part is
            pinned where it touched down and carries the body.
        slide: ``(T, 3)`` root velocity (metres/frame, heading frame) imposed while the body
            rolls on the ground (NaN: none).
    """

    rot: np.ndarray
    yaw_rate: np.ndarray
    contact: np.ndarray
    air_vel: np.ndarray
    actions: list = field(default_factory=list)
    support: np.ndarray | None = None
    slide: np.ndarray | None = None

    def __post_init__(self):
        T = self.rot.shape[0]
        if self.support is None:
            self.support = np.zeros((T, S))
        if self.slide is None:
            self.slide = np.full((T, 3), np.nan)

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
        slide = self.slide.copy()
        slide[:, 0] *= -1
        return Clip(mirror_rotations(self.rot), -self.yaw_rate, self.contact[:, ::-1].copy(), air, acts,
                    self.support[:, list(SITE_MIRROR)].copy(), slide)


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
        acts = list(out.actions) + [_shift_record(a, s) for a in nxt.actions]
        sl_a, sl_b = out.slide[s:], nxt.slide[:n]
        slide_mix = np.where(np.isnan(sl_a) & np.isnan(sl_b), np.nan, lerp(np.nan_to_num(sl_a), np.nan_to_num(sl_b)))
        out = Clip(
            rot=np.concatenate([out.rot[:s], mix, nxt.rot[n:]]),
            # Turning adds up in the overlap so each clip keeps its full heading change.
            yaw_rate=np.concatenate([out.yaw_rate[:s], out.yaw_rate[s:] + nxt.yaw_rate[:n], nxt.yaw_rate[n:]]),
            contact=np.concatenate([out.contact[:s], c_mix, nxt.contact[n:]]),
            air_vel=np.concatenate([out.air_vel[:s], air_mix, nxt.air_vel[n:]]),
            actions=acts,
            support=np.concatenate([out.support[:s], lerp(out.support[s:], nxt.support[:n]), nxt.support[n:]]),
            slide=np.concatenate([out.slide[:s], slide_mix, nxt.slide[n:]]),
        )
        starts.append(s)
    return out, starts


def _shift_record(a: dict, s: int) -> dict:
    """A record moved ``s`` frames later (its inner frame fields stay relative to its start)."""
    return dict(a, start=a["start"] + s, end=a["end"] + s)


__all__ = ["Clip", "concat_blend", "MIRROR", "SITES", "SITE_JOINT", "SITE_HEIGHT", "SITE_MIRROR", "SITE_KIND"]
