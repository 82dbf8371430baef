"""Cyclic locomotion driven by one phase variable: walk, jog, run, march, side-step, hop.

Phase 0 is the left heel strike; the right leg runs half a cycle behind. Joint curves are
sums of periodic bumps shaped after clinical gait plots (hip flexion ~ cosine, knee with a
small loading bump and a large swing bump, ankle push-off). Stride length is not set
directly: the root is carried by the stance foot (see ``solve``), so the speed that comes
out is the one the leg swing produces, and cadence and amplitude grow together with speed.
"""

from __future__ import annotations

import numpy as np

from .clip import Clip
from .pose import PELVIS, arm, envelope, euler, leg, neutral, set_arm, set_leg, set_spine
from .solve import FPS

TAU = 2 * np.pi


def bump(phase, centre, width):
    """Periodic Gaussian bump on the unit circle of phase, peak 1 at ``centre``."""
    d = (phase - centre + 0.5) % 1.0 - 0.5
    return np.exp(-0.5 * (d / width) ** 2)


def window(phase, on, off, ramp):
    """Periodic smooth indicator: ~1 for phase in [on, off], ramps of ``ramp`` cycles."""
    d_on = (phase - on) % 1.0
    length = (off - on) % 1.0
    x = np.minimum(d_on, length - d_on)
    x = np.where(d_on <= length, x, -np.minimum(d_on - length, 1.0 - d_on))
    return np.clip(0.5 + x / ramp, 0.0, 1.0)


# Per-gait shape parameters: cadence range (cycles/s), stance end (phase), hip offset and
# amplitude, knee stance/swing peaks, ankle push-off, arm swing gain, elbow bend, trunk lean.
STYLES = {
    "walk": dict(stance=0.58, hip_off=7, hip_amp=19, hip_peak=-0.03, knee_load=14, knee_swing=58,
                 knee_peak=0.73, push=16, arm_gain=0.55, elbow=18, lean=2),
    "jog": dict(stance=0.42, hip_off=7, hip_amp=21, hip_peak=0.92, knee_load=22, knee_swing=80,
                knee_peak=0.63, push=20, arm_gain=0.7, elbow=75, lean=6),
    "run": dict(stance=0.36, hip_off=8, hip_amp=25, hip_peak=0.9, knee_load=28, knee_swing=100,
                knee_peak=0.62, push=24, arm_gain=0.85, elbow=85, lean=10),
}
CADENCE = {  # cycles per second (two steps each)
    ("walk", "slow"): (0.72, 0.82), ("walk", "normal"): (0.88, 0.98), ("walk", "fast"): (1.02, 1.12),
    ("jog", "normal"): (1.25, 1.35), ("run", "normal"): (1.38, 1.5), ("run", "fast"): (1.45, 1.55),
}
AMPLITUDE = {"slow": 0.72, "normal": 1.0, "fast": 1.18}
SORE_STANCE = 0.8  # a limping gait's sore-leg stance, as a share of the normal stance


def _phase(T, rng, cadence, sign=1.0, jitter=0.03):
    """Phase per frame with slow random rhythm variation."""
    knots = rng.normal(0.0, jitter, size=max(3, T // 20 + 2))
    wobble = np.interp(np.linspace(0, len(knots) - 1, T), np.arange(len(knots)), knots)
    rate = cadence * (1.0 + wobble) / FPS
    start = rng.uniform(0.0, 0.08)
    return start + sign * np.concatenate([[0.0], np.cumsum(rate[:-1])])


def locomotion(rng, T, kind="walk", pace="normal", direction="forward", yaw_total=0.0,
               turn_span=(0.0, 1.0), arms=True, ramp=(12, 12), mods: dict | None = None) -> Clip:
    """A forward / backward gait of ``T`` frames.

    Args:
        kind: "walk", "jog" or "run".
        pace: "slow", "normal" or "fast" (sets cadence and stride amplitude).
        direction: "forward" or "backward" (backward plays the phase in reverse).
        yaw_total: total heading change in radians (> 0 = turn left), spread smoothly over
            the fraction ``turn_span`` of the clip.
        ramp: frames to start from / stop to standing.
        mods: a manner of moving (see ``styles.gait_mods``): factors ``cadence``, ``amp``,
            ``arm_gain``, ``knee_swing``, ``push`` and added degrees ``lean``, ``elbow``.
    """
    # Personal style: each sample swings its arms, bends its knees and leans a little differently.
    st = {k: v * (rng.uniform(0.8, 1.2) if k in ("arm_gain", "elbow", "lean", "knee_load", "knee_swing", "push")
                  else 1.0) for k, v in STYLES[kind].items()}
    lo, hi = CADENCE.get((kind, pace), CADENCE[(kind, "normal")])
    cadence = rng.uniform(lo, hi) * (0.85 if direction == "backward" else 1.0)
    amp = AMPLITUDE[pace] * rng.uniform(0.9, 1.1) * (0.8 if direction == "backward" else 1.0)
    if mods:
        for k in ("arm_gain", "knee_swing", "push"):
            st[k] *= mods.get(k, 1.0)
        st["lean"] += mods.get("lean", 0.0)
        st["elbow"] += mods.get("elbow", 0.0)
        cadence *= mods.get("cadence", 1.0)
        amp *= mods.get("amp", 1.0)
    sign = -1.0 if direction == "backward" else 1.0
    limp = (mods or {}).get("limp")
    ph_l = _phase(T, rng, cadence, sign)
    ph_r = ph_l + 0.5
    if limp is not None:
        # The sound foot lands as the sore one lifts (a short sore stance, no flight in between).
        lead = ph_l + max(0.5, 1.04 - SORE_STANCE * st["stance"])
        ph_l, ph_r = (ph_l, lead) if limp == "left" else (lead, ph_l)
    env = envelope(T, ramp[0], ramp[1])
    q = neutral(T)
    stance = st["stance"]
    contact = np.zeros((T, 2))
    hips = []
    for f, (side, ph) in enumerate((("left", ph_l), ("right", ph_r))):
        p = ph % 1.0
        # A limp: the sore leg bears weight briefly and swings stiffly, the sound one longer.
        hurt = 1.0 if limp is None else (0.35 if side == limp else 1.0)
        st_f = stance if limp is None else stance * (SORE_STANCE if side == limp else 1.3)
        hip = st["hip_off"] * amp + st["hip_amp"] * amp * np.cos(TAU * (p - st["hip_peak"]))
        knee = (4 + st["knee_load"] * amp * bump(p, 0.14, 0.07)
                + st["knee_swing"] * min(amp, 1.1) * hurt * bump(p, st["knee_peak"], 0.12))
        ankle = st["push"] * amp * hurt * bump(p, st_f + 0.04, 0.05) - 10 * bump(p, 0.96, 0.06)
        hip, knee, ankle = hip * env, knee * env + 4 * (1 - env), ankle * env
        set_leg(q, side, *leg(T, flex=hip, knee=knee, ankle=ankle))
        c = window(p, 0.0, st_f, 0.05)
        contact[:, f] = np.maximum(c, 1.0 - env)
        hips.append(hip - st["hip_off"] * amp * env)
    if arms:
        for side, h in (("left", hips[0]), ("right", hips[1])):
            swing = -st["arm_gain"] * h
            elbow = st["elbow"] * env + 10 * (1 - env) + 0.3 * np.maximum(swing, 0)
            set_arm(q, side, *arm(T, flex=swing, abd=8 + 4 * env, elbow=elbow))
    sway = np.cos(TAU * (ph_l - st["hip_peak"])) * env * amp
    q[:, PELVIS] = euler(x=st["lean"] * 0.5 * env, y=-5 * sway)
    set_spine(q, pitch=st["lean"] * env * (1 if direction == "forward" else 0.3), yaw=6 * sway)
    yaw = np.zeros(T)
    if yaw_total:
        a, b = int(turn_span[0] * T), max(int(turn_span[1] * T), int(turn_span[0] * T) + 2)
        prof = np.zeros(T)
        if turn_span[1] - turn_span[0] > 0.5:  # long turns (circles): steady rate, soft ends
            prof[a:b] = envelope(b - a, (b - a) // 6, (b - a) // 6)
        else:
            prof[a:b] = np.sin(np.linspace(0, np.pi, b - a)) ** 2
        yaw = yaw_total * prof / prof.sum()
    return Clip(q, yaw, contact, np.full((T, 3), np.nan))


def sidestep(rng, T, side="left", pace="normal", ramp=(10, 10)) -> Clip:
    """Walking sideways toward ``side``: the lead leg abducts in swing, the other follows."""
    cadence = rng.uniform(0.7, 0.85) * (1.15 if pace == "fast" else 0.85 if pace == "slow" else 1.0)
    amp = rng.uniform(0.85, 1.1) * AMPLITUDE[pace] ** 0.5
    ph = _phase(T, rng, cadence)
    env = envelope(T, ramp[0], ramp[1])
    q = neutral(T)
    contact = np.zeros((T, 2))
    p_l, p_r = ph % 1.0, (ph + 0.5) % 1.0
    A = 9.0 * amp
    # Toward +X: in stance each foot travels to -X relative to the pelvis, in swing back to +X.
    abd_l = A * np.cos(TAU * p_l) * env + 2
    abd_r = -A * np.cos(TAU * p_r) * env + 2
    for f, (s, p, abd) in enumerate((("left", p_l, abd_l), ("right", p_r, abd_r))):
        swing = bump(p, 0.75, 0.1) * env
        set_leg(q, s, *leg(T, flex=14 * swing * amp, knee=4 + 30 * swing * amp, ankle=-4 * swing, abd=abd))
        contact[:, f] = np.maximum(window(p, 0.0, 0.55, 0.05), 1.0 - env)
    for s in ("left", "right"):
        set_arm(q, s, *arm(T, flex=3, abd=10 + 3 * env, elbow=15))
    clip = Clip(q, np.zeros(T), contact, np.full((T, 3), np.nan))
    return clip if side == "left" else clip.mirrored()


def march(rng, T, knee_lift=1.0, yaw_total=0.0, ramp=(8, 8), cadence=None) -> Clip:
    """Stepping in place with high knees (``knee_lift`` < 1 gives the small steps of a turn)."""
    cadence = cadence or rng.uniform(0.8, 1.0)
    ph = _phase(T, rng, cadence)
    env = envelope(T, ramp[0], ramp[1])
    q = neutral(T)
    contact = np.zeros((T, 2))
    lift_deg = rng.uniform(55, 75) * knee_lift
    swings = []
    for f, (s, p) in enumerate((("left", ph % 1.0), ("right", (ph + 0.5) % 1.0))):
        sw = bump(p, 0.75, 0.09) * env
        # Dorsi-flex in swing so the lifted foot stays roughly level instead of hanging.
        set_leg(q, s, *leg(T, flex=lift_deg * sw, knee=4 + 1.6 * lift_deg * sw, ankle=-0.35 * lift_deg * sw))
        contact[:, f] = np.maximum(window(p, 0.0, 0.55, 0.06), 1.0 - env)
        swings.append(sw)
    if knee_lift > 0.6:
        for s, sw_other in (("left", swings[1]), ("right", swings[0])):
            set_arm(q, s, *arm(T, flex=40 * knee_lift * (sw_other - 0.4 * swings[0 if s == "left" else 1]),
                               abd=10, elbow=20 + 60 * env))
    yaw = np.zeros(T)
    if yaw_total:
        prof = env ** 2
        yaw = yaw_total * prof / prof.sum()
    return Clip(q, yaw, contact, np.full((T, 3), np.nan))


def hop(rng, side="left", count=3) -> Clip:
    """Hops on the ``side`` leg: crouch, push, short flight, land; the other leg held up."""
    period = int(round(rng.uniform(0.45, 0.6) * FPS))
    flight = int(round(rng.uniform(0.2, 0.26) * FPS))
    lead, tail = 10, 10
    T = lead + count * period + tail
    q = neutral(T)
    t = np.arange(T)
    env = envelope(T, 6, 8)
    contact = np.ones((T, 2))
    bend = np.zeros(T)
    ankle = np.zeros(T)
    gauss = lambda centre, width: np.exp(-0.5 * ((t - centre) / width) ** 2)
    depth = rng.uniform(25, 35)
    for k in range(count + 1):
        s = lead + k * period  # landing (k >= 1) or first crouch (k = 0)
        bend += depth * gauss(s, 0.14 * period)
        if k < count:
            f0 = s + period - flight  # take-off frame
            contact[f0:f0 + flight, 0] = 0.0
            ankle += 18 * gauss(f0, 0.06 * period)
    contact[:, 1] = 1.0 - env  # free leg leaves the ground once the hop starts
    set_leg(q, "left", *leg(T, flex=bend * 0.8, knee=4 + bend, ankle=ankle - 0.3 * bend))
    set_leg(q, "right", *leg(T, flex=25 * env, knee=4 + 75 * env, ankle=10 * env))
    for s in ("left", "right"):
        set_arm(q, s, *arm(T, flex=10 * env, abd=8 + 22 * env, elbow=10 + 30 * env))
    set_spine(q, pitch=5 * env)
    clip = Clip(q, np.zeros(T), contact, np.zeros((T, 3)))
    return clip if side == "left" else clip.mirrored()
