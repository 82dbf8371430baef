"""Turn a clip's rotations and contact plan into joint positions.

The root is never animated directly. Its horizontal motion is whatever keeps the contact
feet where they are (the body is carried by the stance foot, so feet cannot skate); its
height is whatever puts the lowest contact heel on the floor; while no foot touches the
ground the root flies a gravity parabola between take-off and landing. A two-bone leg IK
then pins each contact ankle exactly where it landed, lays the planted foot flat, and
lifts swing feet that would dip below the floor.
"""

from __future__ import annotations

import numpy as np

from ...motion.rotations import qmul, qrot, quat_to_matrix
from ...motion.ik import smooth_time
from ...motion.skeleton import HUMANML3D, forward_kinematics
from .clip import SITE_HEIGHT, SITE_JOINT, SITE_KIND, SITES, Clip
from .ik import aim_thigh, flat_foot_world, foot_rotation, leg_clearance, toe_clearance, two_bone, world_rotation
from .pose import ANKLE_NEUTRAL, L_ANKLE, L_FOOT, L_HIP, L_KNEE, PELVIS, R_ANKLE, R_FOOT, R_HIP, R_KNEE, euler, smoothstep

FPS = 20.0
GRAVITY = 9.81
LEGS = ((L_HIP, L_KNEE, L_ANKLE, L_FOOT), (R_HIP, R_KNEE, R_ANKLE, R_FOOT))


def yaw_quat(psi: np.ndarray) -> np.ndarray:
    """Rotation about +Y by ``psi`` radians ``(T,)`` -> ``(T, 4)`` (turning left for psi > 0)."""
    return np.stack([np.cos(psi / 2), np.zeros_like(psi), np.sin(psi / 2), np.zeros_like(psi)], -1)


def _runs(mask: np.ndarray):
    """(start, end) index pairs of the True runs of a 1-D boolean mask (end exclusive)."""
    m = np.concatenate([[False], mask, [False]]).astype(np.int8)
    d = np.diff(m)
    return list(zip(np.flatnonzero(d == 1), np.flatnonzero(d == -1)))


def _fill_gaps(v: np.ndarray, gap: np.ndarray) -> np.ndarray:
    """Linearly interpolate rows of ``v`` (N, C) where ``gap`` is True from the neighbours."""
    if not gap.any() or gap.all():
        return np.where(gap[:, None], 0.0, v) if gap.all() else v
    idx = np.arange(len(v))
    good = ~gap
    out = v.copy()
    for c in range(v.shape[1]):
        out[gap, c] = np.interp(idx[gap], idx[good], v[good, c])
    return out


def solve(clip: Clip, scale: float = 1.0, return_contact: bool = False):
    """Joint positions ``(T, 22, 3)`` float32 (metres, Y up, starting at the origin facing +Z).

    With ``return_contact`` also returns the ``(T, 2)`` foot contact weights actually used (the
    planned ones, zeroed while a planted foot takes a re-positioning step).
    """
    T = clip.T
    offsets = HUMANML3D.offsets * scale
    psi = np.concatenate([[0.0], np.cumsum(clip.yaw_rate[:-1])])
    heading = yaw_quat(psi)
    q = clip.rot.copy()
    q[:, PELVIS] = qmul(heading, q[:, PELVIS])
    rel = forward_kinematics(q, np.zeros((T, 3)), HUMANML3D, offsets=offsets)

    foot_len = np.linalg.norm(offsets[[L_FOOT, R_FOOT]], axis=-1)
    heel_h = foot_len * np.sin(np.radians(ANKLE_NEUTRAL))  # ankle height of a flat foot
    # Contact points: the two flat feet (at the ankle), then the support sites.
    c = np.concatenate([np.clip(clip.contact, 0.0, 1.0), np.clip(clip.support, 0.0, 1.0)], -1)
    pts = np.concatenate([rel[:, [L_ANKLE, R_ANKLE]], rel[:, list(SITE_JOINT)]], 1)  # (T, N, 3)
    height = np.concatenate([heel_h, np.asarray(SITE_HEIGHT) * scale])
    kind = np.array(["foot", "foot"] + list(SITE_KIND))

    # Horizontal: the contact points stay put, so the root moves against their relative motion.
    disp = -(pts[1:] - pts[:-1])  # (T-1, N, 3)
    w = np.minimum(c[1:], c[:-1])
    W = w.sum(-1)
    airborne = W < 0.05
    v = (disp * w[..., None]).sum(1) / np.maximum(W, 1e-6)[:, None]
    air = qrot(heading[:-1], np.nan_to_num(clip.air_vel[:-1]))
    has_air = ~np.isnan(clip.air_vel[:-1, 0])
    v = np.where((airborne & has_air)[:, None], air, v)
    v = _fill_gaps(v, airborne & ~has_air)
    # A planned flight lands the feet exactly the planned distance from where they took off,
    # whatever the legs did in the air (so "jumps in place" stays in place).
    for s0, e0 in _runs(airborne & has_air):
        shift = air[s0:e0].sum(0) + (pts[s0, :2] - pts[e0, :2]).mean(0)
        v[s0:e0] = shift / (e0 - s0)
    sliding = ~np.isnan(clip.slide[:, 0])
    v = np.where(sliding[:-1, None], qrot(heading[:-1], np.nan_to_num(clip.slide[:-1])), v)
    v[:, 1] = 0.0
    root, targets, anchor, foot_yaw = _anchor_feet(v, pts, c, psi, height, sliding, kind == "hand")
    # The root follows whichever feet hold the body; when a foot joins or leaves that set it would
    # shift in one frame, so the weight shift is spread over a few frames (the leg IK keeps the
    # planted feet put).
    soft = smooth_time(root[:, [0, 2]], ROOT_SIGMA) - root[:, [0, 2]]
    root[:, [0, 2]] += soft * np.minimum(1.0, ROOT_SHIFT / np.maximum(np.linalg.norm(soft, axis=-1, keepdims=True), 1e-9))

    # Vertical: the lowest contact heel rests on the floor; flight follows gravity.
    y_f = height[None, :] - pts[..., 1]  # root height that grounds each contact point
    ca = np.minimum(c, anchor)  # a re-stepping foot does not hold the body up
    ca = np.where((ca.max(-1, keepdims=True) > 0), ca, c)
    c4 = ca ** 4  # a point that is leaving the ground should barely pull the root down
    y = (c4 * y_f).sum(-1) / np.maximum(c4.sum(-1), 1e-9)
    firm = ca > 0.9
    # Legs and hands bend to reach the floor, so the highest-reaching limb decides (the others
    # are pulled up by IK); the trunk is rigid, so the lowest trunk part rests on the floor.
    for group, pick in (("hand", np.min), ("limb", np.min), ("trunk", np.max)):
        sel = (kind == "hand") if group == "hand" else (kind == "trunk") if group == "trunk" else \
            np.isin(kind, ("foot", "toe", "knee"))
        fg = firm & sel[None, :]
        if fg.any():
            fill = np.inf if pick is np.min else -np.inf
            val = pick(np.where(fg, y_f, fill), -1)
            y = np.where(fg.any(-1), val, y)
    # Hand-overs between the trunk, the hands and the legs switch the rule that sets the height:
    # ease the height around them (about 0.3 s) so the body rises or sinks instead of jumping.
    changing = np.zeros(T, bool)
    changing[1:] = np.abs(np.diff(c[:, 2:], axis=0)).max(-1) > 1e-3
    if changing.any():
        near = np.convolve(changing.astype(float), np.ones(13), mode="same") > 0
        k = np.exp(-0.5 * (np.arange(-6, 7) / 2.5) ** 2)
        pad = np.pad(y, 6, mode="edge")
        ys = np.convolve(pad, k / k.sum(), mode="valid")
        y = np.where(near, ys, y)
    # Flight is what the plan says (no point firmly down), never a side effect of re-stepping.
    # Body parts half-way through a hand-over from one support site to another hold it too.
    grounded = (c.max(-1) >= 0.95) | ((c.sum(-1) >= 1.2) & (c[:, 2:].max(-1) > 0.05))
    if grounded.any():
        # Light smoothing of the grounded height, never mixing in flight frames.
        inner = grounded.copy()
        inner[1:-1] &= grounded[:-2] & grounded[2:]
        inner[[0, -1]] = False
        ys = y.copy()
        ys[1:-1] = 0.25 * y[:-2] + 0.5 * y[1:-1] + 0.25 * y[2:]
        y = np.where(inner, ys, y)
        gi = np.flatnonzero(grounded)
        for s, e in _runs(~grounded):
            if s == 0 or e == T:  # airborne at a clip end: hold the nearest grounded height
                y[s:e] = y[gi[0]] if s == 0 else y[gi[-1]]
                continue
            n = e - s
            k = np.arange(1, n + 1)
            tf = (n + 1) / FPS
            tau = k / FPS
            y[s:e] = y[s - 1] + (y[e] - y[s - 1]) * k / (n + 1) + 0.5 * GRAVITY * tau * (tf - tau)
    # No part of the trunk, head or arms ever sinks into the floor (a hand or knee that is being
    # put on the floor is placed there by IK instead). A hand or knee leaving the floor reaches its
    # clearance over RELEASE_FRAMES frames: lifting the whole body for it at once would jolt the root.
    clear_h = CLEAR_HEIGHT * scale
    clear = clear_h[None, :] - rel[:, CLEAR_JOINTS, 1]
    rise = smoothstep(np.arange(1, RELEASE_FRAMES + 1) / (RELEASE_FRAMES + 1))
    for site, joints in (("l_hand", (18, 20)), ("r_hand", (19, 21)), ("l_knee", (4,)), ("r_knee", (5,))):
        on = clip.support[:, SITES.index(site)] > 0.95
        for jt in joints:
            i = CLEAR_JOINTS.index(jt)
            clear[on, i] = -np.inf
            for t in np.flatnonzero(on[:-1] & ~on[1:]) + 1:
                h0 = min(y[t - 1] + rel[t - 1, jt, 1], clear_h[i])  # its height on the floor
                for k in range(min(RELEASE_FRAMES, T - t)):
                    if on[t + k]:
                        break
                    need = h0 + (clear_h[i] - h0) * rise[k]
                    clear[t + k, i] = need - rel[t + k, jt, 1]
    y = np.maximum(y, clear.max(-1))
    root[:, 1] = y
    world = rel + root[:, None, :]
    # the feet flatten by their planned contact, not by how long the IK eases them off the floor
    q = _limb_ik(q, world, _ease_release(targets, pts + root[:, None, :], c.max(-1) < 0.05), foot_yaw, offsets, heel_h,
                 flat=targets[:, :2, 3])
    joints = forward_kinematics(q, root, HUMANML3D, offsets=offsets).astype(np.float32)
    if return_contact:
        stepping = (targets[:, :2, 3] > 0) & (anchor[:, :2] == 0) & (c[:, :2] > 0.5)
        return joints, np.where(stepping, 0.0, c[:, :2])
    return joints


# Joints that rest no lower than their height above the floor (metres at scale 1): trunk, head,
# shoulders and arms. Feet and legs are handled by the leg IK (planted / swing feet).
CLEAR_JOINTS = [0, 1, 2, 3, 6, 9, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 4, 5]
CLEAR_HEIGHT = np.array([0.09, 0.08, 0.08, 0.09, 0.09, 0.09, 0.07, 0.07, 0.07, 0.08, 0.06, 0.06,
                         0.04, 0.04, 0.03, 0.03, 0.05, 0.05])


def _anchor_feet(v, pts, c, psi, height, sliding, is_hand, restep=0.05, step_frames=8, lift=0.07):
    """Walk the frames once: lock landing points, carry the root by the locked points, re-step.

    Args:
        v: ``(T-1, 3)`` predicted root velocity (from the points' relative motion / flight).
        pts: ``(T, N, 3)`` contact points relative to the root: the two ankles, then the
            support sites.
        c: ``(T, N)`` planned contact weights.
        height: ``(N,)`` height of each point above the floor while it touches.
        sliding: ``(T,)`` frames whose root motion is imposed (rolling): nothing stays locked.
        is_hand: ``(N,)`` points that are hands: they carry the body only when nothing else is
            down (the arms reach the floor by IK, so a plank stays as straight as it was keyed).

    A locked foot whose planned place under the body drifts more than ``restep`` metres
    away (a pose change while both feet are planted, e.g. stopping mid-stride and sitting
    down) takes a quick small step to its new place instead of sliding or over-stretching.

    Returns:
        root ``(T, 3)`` (y = 0), IK targets ``(T, N, 4)`` (xyz + weight), anchor weights
        ``(T, N)`` (how much each point holds the body), foot yaw ``(T, 2)`` for flat feet.
    """
    T, N = c.shape
    root = np.zeros((T, 3))
    targets = np.zeros((T, N, 4))
    anchor = np.zeros((T, N))
    foot_yaw = np.repeat(psi[:, None], 2, 1)
    lock = [None] * N
    yaw_lock = [0.0, 0.0]
    step = [None, None]  # (from, to, start frame)
    cool = [0, 0]
    w_lock = smoothstep((c - 0.5) * 2.0)
    used = [f for f in range(N) if f < 2 or c[:, f].max() > 0.5]  # points that ever touch down
    for t in range(T):
        pred = root[t - 1] + v[t - 1] if t else np.zeros(3)
        for f in used:
            if c[t, f] <= 0.5 or sliding[t]:
                lock[f] = None
                if f < 2:
                    step[f] = None
            elif lock[f] is None and (f >= 2 or step[f] is None):
                lock[f] = pred + pts[t, f]
                lock[f][1] = height[f]
                if f < 2:
                    yaw_lock[f] = psi[t]
        # Re-step a planted foot that the pose has pulled away from its spot.
        for f in range(2):
            o = 1 - f
            if (lock[f] is not None and step[f] is None and lock[o] is not None and step[o] is None
                    and cool[f] <= 0 and c[t, f] > 0.99 and c[t:t + step_frames + 1, o].min() > 0.99):
                want = pred + pts[t, f]
                if np.linalg.norm((want - lock[f])[[0, 2]]) > restep:
                    want[1] = height[f]
                    step[f] = (lock[f].copy(), want, t)
                    lock[f] = None
                    cool[f] = step_frames + 4
                    break  # one foot at a time
        landed = set()
        for f in range(2):
            cool[f] -= 1
            if step[f] is not None:
                a, b, t0 = step[f]
                u = min(1.0, (t - t0 + 1) / step_frames)
                pos = a + (b - a) * smoothstep(u)
                pos[1] = height[f] + lift * np.sin(np.pi * u) ** 2  # lifts and sets down at rest
                targets[t, f, :3], targets[t, f, 3] = pos, 1.0
                foot_yaw[t, f] = yaw_lock[f] + (psi[t] - yaw_lock[f]) * smoothstep(u)
                if u >= 1.0:
                    lock[f], step[f] = b, None
                    yaw_lock[f] = psi[t]
                    landed.add(f)
            elif lock[f] is not None:
                foot_yaw[t, f] = yaw_lock[f]
        held = []
        for f in used:
            if lock[f] is not None and (f >= 2 or step[f] is None):
                if f not in landed:  # a foot ending its re-step keeps the step's target this frame
                    targets[t, f, :3], targets[t, f, 3] = lock[f], w_lock[t, f]
                    anchor[t, f] = 1.0
                held.append(f)
        if any(not is_hand[f] for f in held):
            held = [f for f in held if not is_hand[f]]
        wsum = sum(w_lock[t, f] for f in held)
        if wsum > 1e-6 and not sliding[t]:
            anchored = sum(w_lock[t, f] * (lock[f] - pts[t, f]) for f in held) / wsum
            alpha = min(1.0, wsum)
            root[t] = pred * (1 - alpha) + anchored * alpha
        else:
            root[t] = pred
        root[t, 1] = 0.0
    return root, targets, np.maximum(anchor, 0.0) * c, foot_yaw


ROOT_SIGMA = 1.2  # frames: the horizontal root path is smoothed this much (Gaussian)
ROOT_SHIFT = 0.01  # metres: by at most this much a frame, so planted legs still reach their spots


RELEASE_FRAMES = 4  # frames over which a released point's IK target lets go of its spot


def _ease_release(targets: np.ndarray, keyed: np.ndarray, flight: np.ndarray, n: int = RELEASE_FRAMES) -> np.ndarray:
    """A point leaving the floor joins its keyed path over ``n`` frames.

    A planned contact can end within a frame or two, when the keyed pose has already carried the
    point a few centimetres from its locked spot; dropping the IK target at once would move the
    foot (or hand, or knee) that far in one frame. Instead the target is the keyed path
    ``keyed (T, N, 3)`` (the point's place before IK) plus the gap the point had to it when it let
    go, with a weight that eases from the contact's to zero (a smoothstep: the point leaves the
    spot at rest and joins its path without a kink). Holding the spot itself would stretch a leg
    the body has already carried forward. On ``flight (T,)`` frames (nothing touches) a point is
    never held below its keyed height: a take-off lifts the feet with the body.
    """
    out = targets.copy()
    T, N, _ = out.shape
    ease = 1.0 - smoothstep(np.arange(1, n + 1) / n)  # share of the gap left on each frame after
    for f in range(N):
        w = out[:, f, 3]
        drops = np.flatnonzero((w[:-1] > 1e-6) & (w[1:] < w[:-1] * ease[0] - 1e-6)) + 1
        busy = 0  # frames before this one are already eased
        for t in drops:
            if t < busy or not (out[t, f, 3] <= 1e-6 or np.allclose(out[t, f, :3], out[t - 1, f, :3])):
                continue
            w0 = out[t - 1, f, 3]
            gap = out[t - 1, f, :3] - keyed[t - 1, f]  # where the spot is, seen from the path
            k = 0
            while k < n and t + k < T and out[t + k, f, 3] < w0 * ease[k]:  # until it lands again
                g = gap if not flight[t + k] else np.array([gap[0], max(gap[1], 0.0), gap[2]])
                out[t + k, f, :3], out[t + k, f, 3] = keyed[t + k, f] + g, w0 * ease[k]
                k += 1
            busy = t + max(k, 1)
    return out


FLAT_RAMP = 5  # frames over which a planted foot's flattening fades in / out
# Ankle limits (degrees) in the (x: plantar-flexion, y: twist, z: roll) angles of ``pose.euler``;
# x is measured like ``ANKLE_NEUTRAL`` (25 = relaxed standing foot), so 75 is 50 degrees of
# plantar-flexion beyond it and -15 is 40 degrees of dorsi-flexion (deep squats need ~35).
ANKLE_LIMITS = ((-15.0, 75.0), (-30.0, 30.0), (-25.0, 25.0))


def _ramp(w: np.ndarray, n: int) -> np.ndarray:
    """``w`` (T,) widened and softened so it rises / falls over about ``n`` frames each way."""
    if n <= 0:
        return w
    k = np.hanning(2 * n + 3)[1:-1]
    k /= k.max()
    # A max-filter with a soft (Hann) profile: each planted frame spreads its weight to its
    # neighbours, so the weight is 1 throughout the plant and eases off over n frames outside it.
    pad = np.pad(w, n, mode="edge")
    windows = np.lib.stride_tricks.sliding_window_view(pad, 2 * n + 1)
    return np.clip((windows * k).max(-1), 0.0, 1.0)


def euler_angles(q: np.ndarray) -> np.ndarray:
    """Inverse of ``pose.euler``: quaternions (..., 4) -> degrees (..., 3) as (x, y, z) of R_z R_x R_y."""
    m = quat_to_matrix(q)
    x = np.arcsin(np.clip(m[..., 2, 1], -1.0, 1.0))
    y = np.arctan2(-m[..., 2, 0], m[..., 2, 2])
    z = np.arctan2(-m[..., 0, 1], m[..., 1, 1])
    return np.degrees(np.stack([x, y, z], -1))


def clamp_ankle(q: np.ndarray) -> np.ndarray:
    """Keep local ankle rotations ``(T, 4)`` inside human limits (``ANKLE_LIMITS``)."""
    ang = euler_angles(q)
    lo = np.array([lim[0] for lim in ANKLE_LIMITS])
    hi = np.array([lim[1] for lim in ANKLE_LIMITS])
    if ((ang >= lo) & (ang <= hi)).all():
        return q
    ang = np.clip(ang, lo, hi)
    return euler(x=ang[:, 0], y=ang[:, 1], z=ang[:, 2])


def _limb_ik(q, world, targets, foot_yaw, offsets, heel_h, flat=None):
    """Pin planted feet, toes, knees and hands to their targets; lay planted feet flat (by
    ``flat (T, 2)``, default the feet's target weights); keep swing feet above the floor."""
    T = q.shape[0]
    q = q.copy()
    site = {name: 2 + i for i, name in enumerate(SITES)}
    for f, (hip, knee, ankle, toe) in enumerate(LEGS):
        a = np.linalg.norm(offsets[knee])
        b = np.linalg.norm(offsets[ankle])
        side = "lr"[f]
        cur = world[:, ankle]
        lock_w = targets[:, f, 3]
        target = cur + (targets[:, f, :3] - cur) * lock_w[:, None]
        # A toe on the ground: the ankle goes where the toe's target minus the (kept) foot puts it.
        tt = targets[:, site[f"{side}_toe"]]
        toe_w = tt[:, 3]
        target = target + (tt[:, :3] - (world[:, toe] - cur) - target) * toe_w[:, None]
        # Keep the toe and heel above the floor (swing feet, landing approach).
        lift = np.maximum(0.0, np.maximum(-world[:, toe, 1], heel_h[f] * 0.5 - world[:, ankle, 1]))
        target[:, 1] += lift * (1 - np.maximum(lock_w, toe_w))
        foot_world = world_rotation(q, ankle)
        q = two_bone(q, world, hip, knee, ankle, target, np.ones(T), a, b, +1)
        # The foot flattens over a few frames before it lands and relaxes over a few frames
        # after it lifts (a one-frame switch would flip the foot between poses); a foot standing
        # on its toes keeps its planned orientation.
        flat_w = lock_w if flat is None else flat[:, f]
        q = foot_rotation(q, knee, ankle, flat_foot_world(foot_yaw[:, f]), _ramp(flat_w, FLAT_RAMP))
        q = foot_rotation(q, knee, ankle, foot_world, _ramp(toe_w, FLAT_RAMP))
        kt = targets[:, site[f"{side}_knee"]]
        q = aim_thigh(q, world, hip, knee, kt[:, :3], kt[:, 3], a)
        q[:, ankle] = clamp_ankle(q[:, ankle])
        free = (lock_w < 0.05) & (toe_w < 0.05) & (targets[:, 2:, 3].max(-1) > 0.05)
        if free.any():  # a kneeling or lying leg: the shin and foot stay above the floor
            q = leg_clearance(q, world, hip, knee, ankle, toe, offsets, free, heel_h[f] * 0.7,
                              loose=(lock_w < 0.5) & (toe_w < 0.5))
        q = toe_clearance(q, world, hip, knee, ankle, toe, offsets)
    for f, (shoulder, elbow, wrist) in enumerate(((16, 18, 20), (17, 19, 21))):
        ht = targets[:, site[("l_hand", "r_hand")[f]]]
        q = two_bone(q, world, shoulder, elbow, wrist, ht[:, :3], ht[:, 3],
                     np.linalg.norm(offsets[elbow]), np.linalg.norm(offsets[wrist]), -1)
    return q


__all__ = ["solve", "yaw_quat", "FPS", "GRAVITY"]
