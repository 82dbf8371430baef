"""Sports and dance: boxing combinations, tennis, golf and baseball swings, a basketball shot,
kicking a ball, bowling, dribbling, jumping rope, star / squat / tuck jumps, jump turns, and a
few dance steps (step-touch, the twist, disco pointing, hip circles).

Swings come from the trunk: the hands move as one unit with the shoulders while the spine and
pelvis turn quickly, which gives the wrist the speed of a real swing (3-6 m/s).
"""

from __future__ import annotations

import numpy as np

from . import jumps
from .balance import _bound, pcurve
from .keys import Keys, both, curves_to_clip, pose, side
from .postures import play
from .registry import Action, register
from .solve import FPS

SIDES = ("left", "right")
GUARD = dict(sh=45, elbow=115, hadd=25, sh_abd=12)
# Both hands together in front of the chest (a bat / club grip).
GRIP = dict(sh=62, sh_abd=-6, sh_twist=-12, elbow=55, hadd=32)


def _f(rng, lo, hi):
    return int(rng.integers(lo, hi + 1))


def _u(rng, lo, hi):
    return float(rng.uniform(lo, hi))


def _mirror_if(clip, s):
    return clip if s == "left" else clip.mirrored()


def _clip(k: Keys, record: dict):
    ch = k.curves()
    return curves_to_clip(ch, [dict(record, start=0, end=len(ch["yaw"]))])


# ---------------------------------------------------------------- boxing and swings

PUNCHES = {  # lead hand (left in an orthodox stance) for jab and hook, rear hand (right) for cross and uppercut
    "jab": ("l", dict(sh=88, elbow=5, hadd=20), 12.0),
    "cross": ("r", dict(sh=88, elbow=5, hadd=28), -25.0),
    "hook": ("l", dict(sh=10, sh_abd=85, sh_twist=-10, elbow=95, hadd=70), -30.0),
    "uppercut": ("r", dict(sh=110, elbow=80, hadd=15, sh_abd=5), -15.0),
}
COMBOS = (("jab", "cross"), ("jab", "jab", "cross"), ("jab", "cross", "hook"), ("jab", "hook"),
          ("cross", "hook", "uppercut"), ("jab", "cross", "jab", "cross"), ("jab", "uppercut"))


def build_boxing(rng, p):
    """A boxing combination from an orthodox guard: straight punches, hooks and uppercuts."""
    stance = {**both(**GUARD, knee=15, hip=12), **side("l", hip=22), "spine_pitch": 5, "pelvis_yaw": -15, "spine_yaw": -5}
    k = Keys(pose()).key(0).after(_f(rng, 8, 12), **stance)
    hits = []
    for name in p["punches"]:
        s, arm, yaw = PUNCHES[name]
        k.after(_f(rng, 3, 4), **side(s, **arm), spine_yaw=yaw)
        hits.append(int(k.t))
        k.after(_f(rng, 4, 6), **side(s, **GUARD, sh_twist=0), spine_yaw=-5)
        k.after(_f(rng, 1, 4))
    k.after(_f(rng, 8, 12), pose())
    return _clip(k, dict(type="boxing", punches=list(p["punches"]), count=len(p["punches"]), hits=hits))


def build_tennis(rng, p):
    """A tennis forehand or backhand with the ``side`` hand: take-back, fast swing across, follow-through."""
    fore = p["stroke"] == "forehand"
    k = Keys(pose()).key(0).after(_f(rng, 6, 9), **both(knee=20, hip=15), spine_pitch=8,
                                  **side("l", sh=40, elbow=30, sh_abd=20), **side("r", sh=35, elbow=80))
    # Left-handed stroke (mirrored for the right hand): forehand swings from the left side across to the right.
    back = dict(sh=30, sh_abd=65, elbow=25, hadd=-45) if fore else dict(sh=55, sh_abd=5, elbow=30, hadd=75)
    through = dict(sh=70, sh_abd=30, elbow=35, hadd=85) if fore else dict(sh=60, sh_abd=75, elbow=10, hadd=-35)
    k.after(_f(rng, 10, 14), **side("l", **back), spine_yaw=45 if fore else -45, pelvis_yaw=15 if fore else -15)
    k.after(_f(rng, 2, 5))
    k.after(_f(rng, 4, 5), **side("l", **through), spine_yaw=-45 if fore else 40, pelvis_yaw=-15 if fore else 15)
    hit = int(k.t) - 2
    k.after(_f(rng, 6, 10))
    k.after(_f(rng, 10, 14), pose())
    return _mirror_if(_clip(k, dict(type="tennis_swing", side="left", stroke=p["stroke"], impact=hit)), p["side"])


def build_golf(rng, p):
    """A golf swing (right-handed golfers turn back to their right, then swing through to the left)."""
    pp, sp = _u(rng, 22, 30), _u(rng, 12, 20)
    hang = pp + sp
    address = dict(pelvis_pitch=pp, spine_pitch=sp, neck_pitch=15,
                   **both(hip=pp + 5, knee=_u(rng, 12, 20), sh=hang - 8, sh_abd=-4, sh_twist=-10, elbow=8, hadd=28))
    k = Keys(pose()).key(0).after(_f(rng, 10, 14), **address)
    k.after(_f(rng, 4, 10))
    # Right-handed: the shoulders turn right (negative yaw) and the hands rise over the right shoulder.
    k.after(_f(rng, 14, 18), spine_yaw=-_u(rng, 60, 75), pelvis_yaw=-20,
            **{**both(sh=hang + 60, elbow=40, hadd=40), **side("r", sh_abd=30, elbow=90)})
    k.after(_f(rng, 2, 4))
    k.after(_f(rng, 4, 5), **address)
    hit = int(k.t)
    k.after(_f(rng, 5, 7), spine_yaw=_u(rng, 70, 85), pelvis_yaw=30, spine_pitch=0, pelvis_pitch=5,
            **{**both(sh=hang + 70, elbow=50, hadd=40, hip=5), **side("l", sh_abd=30, elbow=90)})
    k.after(_f(rng, 6, 12))
    k.after(_f(rng, 12, 16), pose())
    clip = _clip(k, dict(type="golf_swing", side="right", impact=hit))
    return clip if p["side"] == "right" else clip.mirrored()


def build_baseball(rng, p):
    """A baseball swing: stride with the front foot, then the trunk whips the hands level across."""
    load = {**both(knee=18, hip=12, **GRIP), **side("l", hadd=50, sh=55), **side("r", hadd=10, sh_abd=35),
            "spine_yaw": -_u(rng, 35, 45), "pelvis_yaw": -15, "spine_pitch": 5}
    k = Keys(pose()).key(0).after(_f(rng, 8, 12), **load)
    play(k, [(_f(rng, 8, 10), pose(k.cur, c_l=0.0, l_hip=30, l_knee=35)), (8, pose(k.cur, c_l=1.0))])
    k.after(_f(rng, 4, 5), spine_yaw=_u(rng, 55, 70), pelvis_yaw=25, **{**both(**GRIP), **side("r", sh_abd=10)})
    hit = int(k.t) - 2
    k.after(_f(rng, 5, 8), **both(sh=110, elbow=70))
    k.after(_f(rng, 12, 16), pose())
    clip = _clip(k, dict(type="baseball_swing", side="right", impact=hit))
    return clip if p["side"] == "right" else clip.mirrored()


def build_basketball(rng, p):
    """A basketball shot: ball at the chest, knees dip, then arms extend overhead (often with a small jump)."""
    chest = dict(**both(sh=60, elbow=95, hadd=25, sh_abd=5))
    k = Keys(pose()).key(0).after(_f(rng, 8, 12), **chest)
    k.after(_f(rng, 6, 9), **both(knee=45, hip=40), spine_pitch=10)
    jump = p.get("jump", False)
    k.after(_f(rng, 4, 6), **both(knee=4, hip=0, sh=_u(rng, 150, 165), elbow=10, hadd=10), spine_pitch=-3)
    release = int(k.t)
    if jump:  # push off at full extension, a short flight, land
        k.after(2, c_l=0.0, c_r=0.0).after(_f(rng, 3, 4)).after(2, c_l=1.0, c_r=1.0, **both(knee=20, hip=15))
    k.after(_f(rng, 12, 18), pose())
    air = np.zeros((int(k.t) + 1, 3))
    ch = k.curves()
    return curves_to_clip(ch, [dict(type="basketball_shot", start=0, end=len(ch["yaw"]), release=release, jump=jump)],
                          air_vel=air)


def build_kick_ball(rng, p):
    """Kick a ball with the ``side`` foot: two approach steps, plant, back-swing, fast kick, follow through."""
    k = Keys(pose()).key(0).after(_f(rng, 3, 6))
    play(k, [(8, pose(c_l=0.0, l_hip=30, l_knee=30)), (8, pose(l_hip=25, l_knee=5, r_hip=-20)),
             (8, pose(c_r=0.0, r_hip=35, r_knee=35, l_hip=-10)), (8, pose(r_hip=25, r_knee=5, l_hip=-20, spine_pitch=-3)),
             (_f(rng, 6, 8), pose(c_l=0.0, l_hip=-30, l_knee=95, r_knee=15, **both(sh_abd=35), spine_pitch=-5))])
    k.after(_f(rng, 3, 4), l_hip=_u(rng, 70, 85), l_knee=5, spine_pitch=-10)
    hit = int(k.t) - 1
    k.after(_f(rng, 4, 6), l_hip=40, l_knee=20)
    play(k, [(8, pose(l_hip=0, l_knee=5))])
    k.after(_f(rng, 4, 8))
    return _mirror_if(_clip(k, dict(type="kick_ball", side="left", impact=hit)), p["side"])


def build_bowling(rng, p):
    """Bowling with the ``side`` hand: step forward, the arm swings back then low and forward to release."""
    s, o = "l", "r"
    k = Keys(pose()).key(0).after(_f(rng, 6, 9), **both(sh=50, elbow=80, hadd=30))
    k.after(_f(rng, 8, 12), **side(s, sh=-55, elbow=10, hadd=0), spine_pitch=15, **both(knee=20, hip=15))
    play(k, [(8, pose(k.cur, **{f"c_{o}": 0.0}, **side(o, hip=45, knee=40))),
             (8, pose(k.cur, **{f"c_{o}": 1.0, f"c_{s}": 0.0, f"s_{s}_toe": 1.0}, **side(o, hip=70, knee=85),
                      **side(s, hip=-15, knee=70, ankle=15), spine_pitch=35, pelvis_pitch=20))])
    k.after(_f(rng, 4, 6), **side(s, sh=60, elbow=5), **side(o, sh=10, sh_abd=50))
    rel = int(k.t) - 2
    k.after(_f(rng, 6, 10), **side(s, sh=110))
    play(k, [(_f(rng, 14, 18), pose(**side(o, hip=10)))])
    k.after(_f(rng, 4, 8), pose())
    return _mirror_if(_clip(k, dict(type="bowling", side="left", release=rel)), p["side"])


def build_dribble(rng, p):
    """Dribbling a basketball with the ``side`` hand: knees bent, the hand pats the ball down at hip height."""
    s = "l"
    k = Keys(pose()).key(0).after(_f(rng, 8, 10), **both(knee=25, hip=25), spine_pitch=15, **side("r", sh=20, elbow=40),
                                  **side(s, sh=35, sh_abd=15, elbow=40))
    hits = []
    for _ in range(p["count"]):
        k.after(_f(rng, 4, 5), **{f"{s}_elbow": 10, f"{s}_sh": 25})
        hits.append(int(k.t))
        k.after(_f(rng, 4, 5), **{f"{s}_elbow": 75, f"{s}_sh": 40})
    k.after(_f(rng, 10, 14), pose())
    return _mirror_if(_clip(k, dict(type="dribble", side="left", count=p["count"], hits=hits)), p["side"])


def build_jump_rope(rng, p):
    """Jumping rope: small two-footed hops while the wrists turn small circles at the hips."""
    cad = _u(rng, 1.9, 2.3)
    T = int(round(p["count"] / cad * FPS)) + 16
    leg = {"knee": [(0.0, 20.0), (0.3, 12.0), (0.62, 5.0), (0.85, 10.0)], "ankle": [(0.0, 0.0), (0.55, 25.0), (0.85, 15.0)],
           "hip": [(0.0, 12.0), (0.5, 5.0)]}
    arms = lambda ph: {f"{s}_{c}": v for s in "lr" for c, v in
                       (("sh", 20 + 12 * np.cos(2 * np.pi * ph)), ("sh_abd", 25 + 8 * np.sin(2 * np.pi * ph)),
                        ("elbow", np.full_like(ph, 70.0)))}
    clip = _bound(rng, T, cad, {"l": leg, "r": leg}, {"l": [(0.0, 0.6)], "r": [(0.0, 0.6)]}, arm_fn=arms, ramp=6)
    hops = int(((clip.contact[1:].max(-1) < 0.5) & (clip.contact[:-1].max(-1) >= 0.5)).sum())
    clip.actions = [dict(type="jump_rope", count=hops, start=0, end=T)]
    return clip


def build_shaped_jump(kind, shape):
    def build(rng, p):
        c = jumps.jump(rng, count=p.get("count", 1), shape=shape, height="high" if shape == "tuck" else None)
        c.actions = [dict(c.actions[0], type=kind)]
        c.actions[0].pop("direction", None)
        return c
    return build


def build_jump_turn(rng, p):
    deg = p["degrees"]
    c = jumps.jump(rng, count=1, height="high" if deg >= 270 else None,
                   turn_deg=deg if p["direction"] == "left" else -deg)
    rec = dict(c.actions[0], type="jump_turn", direction=p["direction"], degrees=deg)
    c.actions = [rec]
    return c


# ---------------------------------------------------------------- dance

def build_step_touch(rng, p):
    """Step-touch: step to one side, bring the other foot in to tap beside it, then the other way."""
    k = Keys(pose()).key(0).after(_f(rng, 3, 6))
    first = p["direction"][0]
    order = [first, "r" if first == "l" else "l"] * p["count"]
    for s in order[: 2 * p["count"]]:
        o = "r" if s == "l" else "l"
        arms = both(sh_abd=_u(rng, 25, 45), elbow=_u(rng, 60, 90), sh=20)
        out = pose(k.cur, **{f"c_{s}": 0.0}, **side(s, abd=_u(rng, 16, 22), knee=20), **arms)
        land = pose(out, **{f"c_{s}": 1.0}, **side(s, knee=12, abd=2), **side(o, knee=12, abd=14),
                    pelvis_roll=(-5 if s == "l" else 5))
        touch = pose(land, **{f"c_{o}": 0.0}, **side(o, abd=-2, knee=25, ankle=20))
        back = pose(touch, **{f"c_{o}": 1.0}, **side(o, abd=2, knee=8, ankle=0), pelvis_roll=0)
        play(k, [(8, out), (8, land), (8, touch), (8, back)])
    play(k, [(8, pose())])
    return _clip(k, dict(type="step_touch", direction=p["direction"], count=p["count"]))


def build_twist_dance(rng, p):
    """The twist: knees bent, hips and shoulders turning against each other, arms swinging."""
    T = _f(rng, 60, 110)
    ph = _u(rng, 0, 1) + _u(rng, 1.0, 1.4) / FPS * np.arange(T)
    env = np.clip(np.minimum(np.arange(T), T - 1 - np.arange(T)) / 10, 0, 1)
    k = Keys(pose(**both(knee=30, hip=25, elbow=90, sh=30, sh_abd=30), spine_pitch=8)).key(0).key(T - 1)
    ch = k.curves(T)
    a = _u(rng, 25, 35)
    sw = np.sin(2 * np.pi * ph) * env
    ch["pelvis_yaw"] = a * sw
    ch["spine_yaw"] = -1.6 * a * sw
    ch["l_hadd"] = 30 * sw
    ch["r_hadd"] = -30 * sw
    return curves_to_clip(ch, [dict(type="twist_dance", start=0, end=T)])


def build_disco(rng, p):
    """Disco pointing with the ``side`` hand: up across the body to the sky, then down to the other hip."""
    s = "l"
    k = Keys(pose()).key(0).after(_f(rng, 6, 9), **both(knee=12), pelvis_roll=-4, **side("r", sh=30, elbow=90, sh_abd=20))
    peaks = []
    for i in range(p["count"]):
        k.after(_f(rng, 6, 9), **side(s, sh=_u(rng, 160, 172), sh_abd=_u(rng, 18, 30), elbow=0, hadd=0),
                pelvis_roll=5, spine_roll=-6)
        peaks.append(int(k.t))
        k.after(_f(rng, 6, 9), **side(s, sh=_u(rng, 25, 40), sh_abd=5, elbow=5, hadd=_u(rng, 50, 65)),
                pelvis_roll=-5, spine_roll=6)
    k.after(_f(rng, 8, 12), pose())
    return _mirror_if(_clip(k, dict(type="disco", side="left", count=p["count"], peaks=peaks)), p["side"])


def build_hip_circles(rng, p):
    """Hip circles: the pelvis sways round in circles over planted feet, hands on the hips."""
    from .upper import at
    n = p["count"]
    period = _u(rng, 1.0, 1.4) * FPS
    T = int(n * period) + 20
    t = np.arange(T)
    env = np.clip(np.minimum(t, T - 1 - t) / 10, 0, 1)
    k = Keys(pose(**at("l", "hip"), **at("r", "hip"), **both(knee=15, hip=8))).key(0).key(T - 1)
    ch = k.curves(T)
    th = 2 * np.pi * np.clip(t - 10, 0, None) / period
    a = _u(rng, 6, 9)
    ch["pelvis_roll"] = a * np.sin(th) * env
    ch["pelvis_pitch"] = a * np.cos(th) * env
    ch["spine_roll"] = -1.2 * ch["pelvis_roll"]
    ch["spine_pitch"] = -1.2 * ch["pelvis_pitch"]
    return curves_to_clip(ch, [dict(type="hip_circles", count=n, start=0, end=T)])


def _d(**spec):
    def draw(rng, posture):
        return {k: (v[int(rng.integers(len(v)))] if isinstance(v, tuple) else v(rng)) for k, v in spec.items()}
    return draw


HAND = lambda rng: "right" if rng.random() < 0.7 else "left"  # noqa: E731
COMBO = lambda rng: list(COMBOS[int(rng.integers(len(COMBOS)))])  # noqa: E731
register(
    Action("boxing", "sports", 0.7, _d(punches=COMBO), build_boxing),
    Action("tennis_swing", "sports", 0.5, _d(side=HAND, stroke=("forehand", "backhand")), build_tennis,
           attrs={"side": SIDES, "stroke": ("forehand", "backhand")}),
    Action("golf_swing", "sports", 0.4, _d(side=HAND), build_golf, attrs={"side": SIDES}),
    Action("baseball_swing", "sports", 0.4, _d(side=HAND), build_baseball, attrs={"side": SIDES}),
    Action("basketball_shot", "sports", 0.4, _d(jump=lambda r: bool(r.random() < 0.5)), build_basketball),
    Action("kick_ball", "sports", 0.5, _d(side=HAND), build_kick_ball, attrs={"side": SIDES}),
    Action("bowling", "sports", 0.3, _d(side=HAND), build_bowling, attrs={"side": SIDES}),
    Action("dribble", "sports", 0.3, _d(side=HAND, count=(3, 4, 5, 6)), build_dribble, attrs={"side": SIDES}),
    Action("jump_rope", "jumps", 0.4, _d(count=(4, 5, 6, 7, 8)), build_jump_rope),
    Action("star_jump", "jumps", 0.5, _d(count=(1, 1, 2, 3)), build_shaped_jump("star_jump", "star"),
           attrs={"count": (1, 2, 3)}),
    Action("squat_jump", "jumps", 0.5, _d(count=(1, 1, 2, 3)), build_shaped_jump("squat_jump", "squat"),
           attrs={"count": (1, 2, 3)}),
    Action("tuck_jump", "jumps", 0.3, _d(count=(1, 1, 2)), build_shaped_jump("tuck_jump", "tuck")),
    Action("jump_turn", "jumps", 0.5, _d(direction=SIDES, degrees=(90, 180, 180, 360)), build_jump_turn,
           attrs={"direction": SIDES, "degrees": (90, 180, 360)}),
    Action("step_touch", "dance", 0.5, _d(direction=SIDES, count=(1, 2)), build_step_touch,
           attrs={"direction": SIDES}),
    Action("twist_dance", "dance", 0.4, _d(), build_twist_dance),
    Action("disco", "dance", 0.4, _d(side=HAND, count=(2, 3, 4)), build_disco, attrs={"side": SIDES}),
    Action("hip_circles", "dance", 0.3, _d(count=(2, 3, 4)), build_hip_circles),
)

__all__ = ["COMBOS", "PUNCHES"]
