"""Balance and leg actions: standing on one foot, lunges, stomps, tiptoes, calf raises, stepping
over something, leg swings, side kicks, high knees, jogging in place, skipping, galloping,
side-shuffling, grapevine steps and limping.

Discrete stepping actions are key poses whose feet lift off and land (:func:`postures.play`);
bounding gaits (skip, gallop, shuffle, jogging in place) run on a phase, with flight phases
that follow gravity in the solver.
"""

from __future__ import annotations

import numpy as np

from . import gaits
from .clip import Clip
from .keys import Keys, both, curves_to_clip, pose, side
from .postures import play, step
from ...motion.rotations import qmul
from .pose import L_ANKLE, R_ANKLE, envelope, rot_x, smoothstep
from .registry import Action, register
from .solve import FPS

SIDES = ("left", "right")


def _f(rng, lo, hi):
    return int(rng.integers(lo, hi + 1))


def _u(rng, lo, hi):
    return float(rng.uniform(lo, hi))


def _other(s: str) -> str:
    return "r" if s[0] == "l" else "l"


def _mirror_if(clip: Clip, s: str) -> Clip:
    """Clips are built for the left side; the right one is the mirror image."""
    return clip if s == "left" else clip.mirrored()


def pcurve(phase: np.ndarray, keys) -> np.ndarray:
    """Periodic curve through ``keys`` = [(phase in [0, 1), value), ...], eased between keys."""
    keys = sorted(keys)
    ph = np.array([k[0] for k in keys] + [keys[0][0] + 1.0])
    val = np.array([k[1] for k in keys] + [keys[0][1]])
    p = (phase - ph[0]) % 1.0 + ph[0]
    i = np.clip(np.searchsorted(ph, p, side="right") - 1, 0, len(keys) - 1)
    u = smoothstep((p - ph[i]) / (ph[i + 1] - ph[i]))
    return val[i] + (val[i + 1] - val[i]) * u


def window_of(phase: np.ndarray, spans) -> np.ndarray:
    """1 inside any of the phase ``spans`` [(a, b), ...] (periodic), 0 outside (1-frame ramps)."""
    p = phase % 1.0
    out = np.zeros_like(p)
    for a, b in spans:
        inside = ((p - a) % 1.0) <= ((b - a) % 1.0)
        out = np.maximum(out, inside.astype(float))
    return out


# ---------------------------------------------------------------- one-legged holds and steps

def build_one_foot(rng, p):
    """Stand on the ``side`` foot: the other leg lifts (knee bent), arms out for balance, hold."""
    k = Keys().key(0).after(_f(rng, 4, 8))
    o = _other("l")
    lift = pose(**{f"c_{o}": 0.0}, **side(o, hip=_u(rng, 30, 60), knee=_u(rng, 70, 100), ankle=10),
                **both(sh_abd=_u(rng, 35, 80), elbow=_u(rng, 5, 25)), spine_roll=-4)
    play(k, [(_f(rng, 10, 14), lift)])
    s = int(k.t)
    hold = int(p["seconds"] * FPS)
    k.after(hold // 2, pose(lift, spine_roll=-2, **side("l", sh_abd=lift["l_sh_abd"] + 8)))
    k.after(hold - hold // 2, lift)
    e = int(k.t)
    play(k, [(_f(rng, 10, 14), pose())])
    k.after(_f(rng, 3, 8))
    clip = k.clip(actions=[dict(type="stand_one_foot", side="left", seconds=p["seconds"], start=0, end=int(k.t) + 1,
                                hold=[s, e])])
    return _mirror_if(clip, p["side"])


def build_lunge(rng, p):
    """Forward lunges with the ``side`` leg: step out while the back knee bends, land with the back
    heel rising onto the toes, sink until the back knee nearly touches, push back to standing."""
    k = Keys().key(0).after(_f(rng, 3, 6))
    bottoms = []
    tempo = min(1.0, 140 / (p["count"] * 60))
    n = lambda lo, hi: max(6, int(_f(rng, lo, hi) * tempo))  # noqa: E731
    arms = both(sh=10, elbow=20)
    for _ in range(p["count"]):
        air = {**side("l", hip=_u(rng, 42, 48), knee=_u(rng, 45, 55)), **side("r", hip=-8, knee=30, ankle=15), **arms}
        land = {**side("l", hip=_u(rng, 38, 42), knee=20), **side("r", hip=-12, knee=45, ankle=20)}
        deep = _u(rng, 0.85, 1.0)
        down = {**side("l", hip=85 * deep, knee=95 * deep), **side("r", hip=-18 * deep, knee=100 * deep, ankle=10),
                "spine_pitch": _u(rng, -2, 6)}
        k.after(2, c_l=0.0).after(n(7, 9), **air)  # the front foot lifts and swings out, the body lowers
        k.after(n(6, 8), **land).after(3, c_l=1.0, c_r=0.0, s_r_toe=1.0)  # lands; the back heel rises
        k.after(n(12, 16), **down)
        bottoms.append(int(k.t))
        k.after(int(_f(rng, 0, 5) * tempo))
        k.after(n(10, 14), **land).after(2, c_l=0.0).after(n(7, 9), **air)
        k.after(n(6, 8), **both(hip=0, knee=0, ankle=0), spine_pitch=0).after(3, c_l=1.0, c_r=1.0, s_r_toe=0.0)
    k.after(_f(rng, 3, 8))
    clip = k.clip(actions=[dict(type="lunge", side="left", count=p["count"], start=0, end=int(k.t) + 1, bottoms=bottoms)])
    return _mirror_if(clip, p["side"])


def build_stomp(rng, p):
    """Stomp the ``side`` foot: knee up, then a fast heavy strike on the floor."""
    k = Keys().key(0).after(_f(rng, 3, 6))
    hits = []
    arms = both(elbow=_u(rng, 40, 80), sh=_u(rng, 5, 20))
    for _ in range(p["count"]):
        up = pose(c_l=0.0, **side("l", hip=_u(rng, 55, 75), knee=_u(rng, 70, 95), ankle=-5), **arms, spine_pitch=-3)
        play(k, [(_f(rng, 8, 12), up)])
        k.after(_f(rng, 1, 4))
        k.after(3, pose(up, **side("l", hip=0, knee=4, ankle=0), spine_pitch=6))
        k.after(2, c_l=1.0)
        hits.append(int(k.t) - 1)
        k.after(_f(rng, 4, 10), pose(**arms))
    k.after(_f(rng, 3, 8), pose())
    clip = k.clip(actions=[dict(type="stomp", side="left", count=p["count"], start=0, end=int(k.t) + 1, hits=hits)])
    return _mirror_if(clip, p["side"])


def build_step_over(rng, p):
    """Step over something knee-high: the ``side`` leg lifts high and steps across, the other follows."""
    k = Keys().key(0).after(_f(rng, 3, 6))
    lead, trail = "l", "r"
    high = _u(rng, 75, 95)
    for leg_, other in ((lead, trail), (trail, lead)):
        up = pose(k.cur, **{f"c_{leg_}": 0.0, f"s_{leg_}_toe": 0.0}, **side(leg_, hip=high, knee=high * 1.15, ankle=-10),
                  spine_pitch=5)
        reach = pose(up, **side(leg_, hip=30 if leg_ == lead else 12, knee=12), **side(other, knee=15))
        land = pose(reach, **{f"c_{leg_}": 1.0})
        # The body moves over the planted foot; the trailing heel rises onto the toes behind it.
        trail = {f"c_{other}": 0.0, f"s_{other}_toe": 1.0, **side(other, hip=-25, knee=15, ankle=20)} if leg_ == lead else \
            {f"s_{other}_toe": 0.0, f"c_{other}": 1.0, **side(other, hip=0, knee=10)}
        over = pose(land, spine_pitch=2, **side(leg_, hip=0, knee=5), **trail)
        play(k, [(_f(rng, 8, 11), up), (_f(rng, 6, 9), reach), (8, land), (_f(rng, 8, 11), over)])
    play(k, [(_f(rng, 8, 11), pose())])
    k.after(_f(rng, 3, 8))
    clip = k.clip(actions=[dict(type="step_over", side="left", start=0, end=int(k.t) + 1)])
    return _mirror_if(clip, p["side"])


def build_leg_swing(rng, p):
    """Swing the ``side`` leg forward and back ``count`` times while standing on the other."""
    k = Keys().key(0).after(_f(rng, 3, 6))
    lift = pose(c_l=0.0, **side("l", hip=10, knee=10), **both(sh_abd=40), spine_roll=3)
    play(k, [(_f(rng, 8, 10), lift)])
    fwd, back = _u(rng, 45, 70), _u(rng, -30, -20)
    peaks = []
    for _ in range(p["count"]):
        k.after(_f(rng, 8, 11), pose(lift, **side("l", hip=fwd, knee=8), spine_pitch=-4))
        peaks.append(int(k.t))
        k.after(_f(rng, 8, 11), pose(lift, **side("l", hip=back, knee=15), spine_pitch=6))
    k.after(_f(rng, 6, 8), lift)
    play(k, [(_f(rng, 8, 10), pose())])
    k.after(_f(rng, 3, 6))
    clip = k.clip(actions=[dict(type="leg_swing", side="left", count=p["count"], start=0, end=int(k.t) + 1, peaks=peaks)])
    return _mirror_if(clip, p["side"])


def build_side_kick(rng, p):
    """Kick out to the side with the ``side`` leg (trunk leaning away), ``count`` times."""
    k = Keys().key(0).after(_f(rng, 3, 6))
    peaks = []
    for _ in range(p["count"]):
        chamber = pose(c_l=0.0, **side("l", hip=60, knee=100, abd=25, twist=-20), **both(elbow=80, sh=20))
        out = pose(chamber, **side("l", hip=15, knee=5, abd=_u(rng, 70, 85), twist=-20), spine_roll=_u(rng, 18, 28))
        play(k, [(_f(rng, 7, 10), chamber)])
        k.after(_f(rng, 3, 5), out)
        peaks.append(int(k.t))
        k.after(_f(rng, 1, 4))
        k.after(_f(rng, 4, 6), chamber)
        play(k, [(_f(rng, 7, 10), pose())])
    k.after(_f(rng, 3, 8))
    clip = k.clip(actions=[dict(type="side_kick", side="left", count=p["count"], start=0, end=int(k.t) + 1, peaks=peaks)])
    return _mirror_if(clip, p["side"])


def build_calf_raise(rng, p):
    """Rise onto the toes and lower back down ``count`` times."""
    k = Keys().key(0).after(_f(rng, 3, 6))
    tops = []
    up = pose(c_l=0.0, c_r=0.0, s_l_toe=1.0, s_r_toe=1.0, **both(ankle=_u(rng, 35, 45), sh=5))
    for _ in range(p["count"]):
        k.after(_f(rng, 8, 12), up)
        tops.append(int(k.t))
        k.after(_f(rng, 2, 10))
        k.after(_f(rng, 8, 12), pose())
        k.after(_f(rng, 0, 4))
    k.after(_f(rng, 3, 6))
    return k.clip(actions=[dict(type="calf_raise", count=p["count"], start=0, end=int(k.t) + 1, tops=tops)])


def build_tiptoe(rng, p):
    """Walking forward on tiptoes: short, careful steps with the heels up (the toes carry the body)."""
    T = _f(rng, 70, 130)
    c = gaits.locomotion(rng, T, "walk", "slow", "forward", mods=dict(amp=0.75, arm_gain=0.6, lean=2.0))
    q = c.rot.copy()
    env = envelope(T, 8, 8)
    raise_deg = _u(rng, 28, 38) * env
    for j in (L_ANKLE, R_ANKLE):
        q[:, j] = qmul(q[:, j], rot_x(raise_deg))
    support = c.support.copy()
    support[:, 4:6] = c.contact  # the toe sites take over from the flat feet
    flat = c.contact * (1 - env[:, None])
    support[:, 4:6] *= env[:, None]
    clip = Clip(q, c.yaw_rate, flat, c.air_vel, [dict(type="tiptoe", direction="forward")], support)
    return clip


# ---------------------------------------------------------------- bounding gaits

def _bound(rng, T, cadence, legs: dict, spans: dict, air=None, arm_fn=None, lean=0.0, ramp=8):
    """A phase-driven gait: ``legs[s]`` maps channels to periodic keys, ``spans[s]`` the stance
    phases of each foot; frames with neither foot down fly with horizontal velocity ``air``
    (metres per second, heading frame; None: the speed of take-off and landing, for bounding
    on the spot)."""
    ph = _u(rng, 0.0, 0.05) + cadence / FPS * np.arange(T)
    env = envelope(T, ramp, ramp)
    k = Keys().key(0).key(T - 1)
    ch = k.curves(T)
    contact = []
    for s in "lr":
        for name, keys in legs[s].items():
            ch[f"{s}_{name}"] = pcurve(ph, keys) * env + ch[f"{s}_{name}"] * (1 - env)
        contact.append(np.maximum(window_of(ph, spans[s]), 1 - env))
        ch[f"c_{s}"] = contact[-1]
    if arm_fn is not None:
        for name, v in arm_fn(ph).items():
            ch[name] = v * env + ch[name] * (1 - env)
    ch["spine_pitch"] = lean * env
    c = np.stack(contact, -1)
    flight = c.max(-1) < 0.5
    air_vel = np.full((T, 3), np.nan)
    if air is not None:
        air_vel[flight, 0] = air[0] / FPS
        air_vel[flight, 2] = air[1] / FPS
    return curves_to_clip(ch, air_vel=air_vel)


def _jog_arms(amp=30.0, elbow=85.0):
    def arms(ph):
        sw = np.sin(2 * np.pi * ph)
        return {"l_sh": -amp * sw, "r_sh": amp * sw, "l_elbow": np.full_like(ph, elbow), "r_elbow": np.full_like(ph, elbow)}
    return arms


def build_in_place(kind):
    def build(rng, p):
        high = kind == "high_knees"
        T = _f(rng, 50, 100) if "seconds" not in p else int(p["seconds"] * FPS) + 16
        hip = _u(rng, 80, 95) if high else _u(rng, 30, 45)
        leg = {"hip": [(0.0, 0.0), (0.35, 0.0), (0.7, hip), (0.95, 5.0)],
               "knee": [(0.0, 10.0), (0.2, 22.0), (0.4, 10.0), (0.7, hip * 1.2 if high else 95.0), (0.95, 15.0)],
               "ankle": [(0.0, 0.0), (0.35, 18.0), (0.7, -10.0), (0.95, 0.0)]}
        cad = _u(rng, 1.4, 1.7) if high else _u(rng, 1.25, 1.45)
        clip = _bound(rng, T, cad, {"l": leg, "r": {k: [((a + 0.5) % 1.0, v) for a, v in kv] for k, kv in leg.items()}},
                      {"l": [(0.0, 0.38)], "r": [(0.5, 0.88)]}, arm_fn=_jog_arms(30 if high else 25), lean=3)
        clip.actions = [dict(type=kind, start=0, end=T)]
        return clip
    return build


def build_skip(rng, p):
    """Skipping forward: step-hop on one foot, then on the other, the free knee swinging high."""
    T = _f(rng, 60, 110)
    leg = {"hip": [(0.0, 22.0), (0.28, 5.0), (0.5, -15.0), (0.78, 70.0), (0.95, 30.0)],
           "knee": [(0.0, 8.0), (0.25, 18.0), (0.35, 8.0), (0.45, 22.0), (0.55, 15.0), (0.78, 95.0), (0.95, 20.0)],
           "ankle": [(0.0, 0.0), (0.26, 20.0), (0.4, 0.0), (0.52, 20.0), (0.7, -10.0)]}
    shift = lambda kv: [((a + 0.5) % 1.0, v) for a, v in kv]
    clip = _bound(rng, T, _u(rng, 0.8, 0.95), {"l": leg, "r": {k: shift(v) for k, v in leg.items()}},
                  {"l": [(0.0, 0.22), (0.37, 0.55)], "r": [(0.5, 0.72), (0.87, 0.05)]}, air=(0.0, _u(rng, 1.4, 1.8)),
                  arm_fn=_jog_arms(45, 60), lean=4)
    clip.actions = [dict(type="skip", direction="forward", start=0, end=T)]
    return clip


def build_gallop(rng, p):
    """Galloping forward with the ``side`` foot always leading; a flight after every stride."""
    T = _f(rng, 60, 110)
    lead = {"hip": [(0.0, 28.0), (0.35, 8.0), (0.7, 35.0)], "knee": [(0.0, 10.0), (0.2, 25.0), (0.4, 10.0), (0.75, 45.0)],
            "ankle": [(0.0, 0.0), (0.33, 15.0), (0.7, -5.0)]}
    trail = {"hip": [(0.25, 5.0), (0.6, -22.0), (0.9, 10.0)], "knee": [(0.25, 10.0), (0.45, 25.0), (0.6, 12.0), (0.9, 40.0)],
             "ankle": [(0.25, 0.0), (0.58, 18.0), (0.85, -5.0)]}
    clip = _bound(rng, T, _u(rng, 1.6, 1.9), {"l": lead, "r": trail}, {"l": [(0.0, 0.35)], "r": [(0.25, 0.62)]},
                  air=(0.0, _u(rng, 1.7, 2.2)), arm_fn=_jog_arms(20, 70), lean=5)
    clip.actions = [dict(type="gallop", side="left", direction="forward", start=0, end=T)]
    return _mirror_if(clip, p["side"])


def build_side_shuffle(rng, p):
    """Side-shuffling toward ``side``: the lead foot steps out, the other closes in, a small flight."""
    T = _f(rng, 50, 100)
    lead = {"abd": [(0.0, 16.0), (0.35, 2.0), (0.75, 18.0)], "knee": [(0.0, 20.0), (0.2, 30.0), (0.4, 20.0), (0.75, 28.0)],
            "hip": [(0.0, 18.0), (0.5, 22.0)]}
    trail = {"abd": [(0.25, -2.0), (0.6, 16.0), (0.9, -4.0)], "knee": [(0.25, 20.0), (0.45, 30.0), (0.6, 20.0), (0.9, 28.0)],
             "hip": [(0.25, 18.0), (0.75, 22.0)]}
    arms = lambda ph: {"l_sh_abd": 25 + 10 * np.sin(2 * np.pi * ph), "r_sh_abd": 25 + 10 * np.sin(2 * np.pi * ph),
                       "l_elbow": np.full_like(ph, 60.0), "r_elbow": np.full_like(ph, 60.0)}
    clip = _bound(rng, T, _u(rng, 1.5, 1.8), {"l": lead, "r": trail}, {"l": [(0.0, 0.35)], "r": [(0.25, 0.62)]},
                  air=(_u(rng, 1.0, 1.4), 0.0), arm_fn=arms, lean=8)
    clip.actions = [dict(type="side_shuffle", direction="left", start=0, end=T)]
    return _mirror_if(clip, p["direction"])


def build_grapevine(rng, p):
    """Grapevine toward ``direction``: step out, cross behind, step out, cross in front, ..."""
    k = Keys(pose(**both(sh_abd=_u(rng, 20, 45), elbow=_u(rng, 20, 50)))).key(0).after(_f(rng, 3, 6))
    n = _f(rng, 2, 4)
    for i in range(n):
        cross = 1.0 if i % 2 == 0 else -1.0  # behind, then in front
        step(k, "l", _f(rng, 6, 8), l_abd=_u(rng, 22, 28), l_knee=5, r_abd=0.0, r_hip=0.0, r_knee=12, spine_yaw=0.0)
        k.after(_f(rng, 5, 7), l_abd=4.0, r_abd=10.0, r_knee=5)
        step(k, "r", _f(rng, 6, 8), r_abd=-_u(rng, 22, 28), r_hip=-14 * cross, r_knee=8, l_knee=12, spine_yaw=-8 * cross)
        k.after(_f(rng, 5, 7), l_abd=10.0, r_abd=-2.0, r_hip=0.0, l_knee=5, spine_yaw=0.0)
    step(k, "l", 7, l_abd=0.0, r_abd=0.0)
    k.after(_f(rng, 3, 6), pose())
    clip = k.clip(actions=[dict(type="grapevine", direction="left", start=0, end=int(k.t) + 1)])
    return _mirror_if(clip, p["direction"])


def build_limp(rng, p):
    """Limping forward, favouring the sore ``side`` leg (brief stance, stiff knee)."""
    T = _f(rng, 80, 140)
    c = gaits.locomotion(rng, T, "walk", "slow", "forward", mods=dict(limp=p["side"], lean=4.0, cadence=0.9))
    c.actions = [dict(type="limp", side=p["side"], direction="forward")]
    return c


def _draw_side(rng, posture):
    return {"side": SIDES[int(rng.integers(2))]}


def _draw_dir(rng, posture):
    return {"direction": SIDES[int(rng.integers(2))]}


def _draw_side_count(lo, hi):
    return lambda rng, posture: {"side": SIDES[int(rng.integers(2))], "count": int(rng.integers(lo, hi + 1))}


register(
    Action("stand_one_foot", "balance", 0.6, lambda r, s: {**_draw_side(r, s), "seconds": int(r.integers(1, 5))},
           build_one_foot, attrs={"side": SIDES, "seconds": (1, 2, 3, 4)}),
    Action("lunge", "balance", 0.7, _draw_side_count(1, 3), build_lunge, attrs={"side": SIDES, "count": (1, 2, 3)}),
    Action("stomp", "balance", 0.5, _draw_side_count(1, 3), build_stomp, attrs={"side": SIDES, "count": (1, 2, 3)}),
    Action("step_over", "balance", 0.5, _draw_side, build_step_over, attrs={"side": SIDES}),
    Action("leg_swing", "balance", 0.4, _draw_side_count(2, 4), build_leg_swing, attrs={"side": SIDES, "count": (2, 3, 4)}),
    Action("side_kick", "balance", 0.4, _draw_side_count(1, 2), build_side_kick, attrs={"side": SIDES, "count": (1, 2)}),
    Action("calf_raise", "balance", 0.4, lambda r, s: {"count": int(r.integers(1, 5))}, build_calf_raise,
           attrs={"count": (1, 2, 3, 4)}),
    Action("tiptoe", "balance", 0.5, lambda r, s: {}, build_tiptoe),
    Action("high_knees", "balance", 0.5, lambda r, s: {}, build_in_place("high_knees")),
    Action("jog_in_place", "locomotion", 0.6, lambda r, s: {}, build_in_place("jog_in_place")),
    Action("skip", "locomotion", 0.5, lambda r, s: {}, build_skip),
    Action("gallop", "locomotion", 0.4, _draw_side, build_gallop, attrs={"side": SIDES}),
    Action("side_shuffle", "locomotion", 0.5, _draw_dir, build_side_shuffle, attrs={"direction": SIDES}),
    Action("grapevine", "locomotion", 0.4, _draw_dir, build_grapevine, attrs={"direction": SIDES}),
    Action("limp", "locomotion", 0.5, _draw_side, build_limp, attrs={"side": SIDES}),
)

__all__ = ["pcurve", "window_of"]
