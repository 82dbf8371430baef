"""Motion predicates shared by the synth tests: does the motion show what the caption says?

Conventions: Y up, the body starts facing +Z, its LEFT is +X; turning left is
counter-clockwise seen from above (facing +Z rotates toward +X).
"""

from __future__ import annotations

import numpy as np

from easytune_core.eval.rules import judge
from easytune_core.eval.rules.body import count_peaks as rule_peaks

L_HIP, R_HIP, L_ANKLE, R_ANKLE, L_FOOT, R_FOOT = 1, 2, 7, 8, 10, 11
HEAD, L_SH, R_SH, L_WR, R_WR = 15, 16, 17, 20, 21


def facing(j: np.ndarray) -> np.ndarray:
    """``(T, 2)`` unit facing direction (x, z) from hips and shoulders, as HumanML3D finds it."""
    across = (j[:, R_HIP] - j[:, L_HIP]) + (j[:, R_SH] - j[:, L_SH])
    fwd = np.cross(np.array([0.0, 1.0, 0.0]), across)[:, [0, 2]]
    return fwd / np.linalg.norm(fwd, axis=-1, keepdims=True)


def yaw_deg(j: np.ndarray) -> np.ndarray:
    """Unwrapped facing angle per frame in degrees; +Z is 0, +X (the body's initial left) is +90."""
    f = facing(j)
    return np.degrees(np.unwrap(np.arctan2(f[:, 0], f[:, 1])))


def local_disp(j, s, e):
    """Root displacement from frame s to e in the body frame at s: (left, forward) metres."""
    f = facing(j[s:s + 1])[0]
    left = np.array([f[1], -f[0]])  # facing (x, z) rotated +90 deg about +Y
    d = j[e - 1, 0, [0, 2]] - j[s, 0, [0, 2]]
    return float(d @ left), float(d @ f)


def count_peaks(x: np.ndarray, min_prominence: float) -> int:
    """Number of local maxima that rise ``min_prominence`` above the preceding minimum."""
    n, lo, armed = 0, x[0], True
    hi = x[0]
    for v in x[1:]:
        if armed:
            if v - lo >= min_prominence:
                armed, hi = False, v
            lo = min(lo, v)
        else:
            if v > hi:
                hi = v
            elif hi - v >= min_prominence:
                n += 1
                armed, lo = True, v
    return n + (0 if armed else 1)


def check_action(j: np.ndarray, a: dict) -> None:
    """Assert that action record ``a`` is visible in joints ``j`` (T, 22, 3)."""
    s, e = a["start"], a["end"]
    seg = j[s:e]
    t = a["type"]
    floor = j[:, [L_FOOT, R_FOOT], 1].min()
    if t == "walk":
        left, fwd = local_disp(j, s, e)
        d = a["direction"]
        if d == "forward":
            assert fwd > 0.5 and abs(left) < 0.5 * fwd, (left, fwd)
        elif d == "backward":
            assert fwd < -0.3 and abs(left) < 0.5 * -fwd, (left, fwd)
        elif d == "left":
            assert left > 0.3 and abs(fwd) < 0.5 * left, (left, fwd)
        else:
            assert left < -0.3 and abs(fwd) < 0.5 * -left, (left, fwd)
        if "layer" in a:
            check_action(j, dict(a["layer"]))
    elif t in ("jog", "run"):
        left, fwd = local_disp(j, s, e)
        assert fwd / ((e - s) / 20) > (0.9 if t == "jog" else 1.3), fwd
    elif t in ("turn", "circle"):
        y = yaw_deg(j)
        turn = y[min(e, len(j) - 1)] - y[s]
        want = a["degrees"] * (1 if a["direction"] == "left" else -1)
        assert abs(turn - want) < 45, (turn, want)
    elif t == "jump":
        feet = seg[:, [L_ANKLE, R_ANKLE, L_FOOT, R_FOOT], 1].min(1) - floor
        low = a.get("height") == "low"
        assert feet.max() > (0.03 if low else 0.08), feet.max()
        assert count_peaks(feet, 0.02 if low else 0.06) == a["count"]
        left, fwd = local_disp(j, s, e)
        if a["direction"] == "forward":
            assert fwd > 0.3, fwd
    elif t == "hop":
        up, down = (L_FOOT, R_FOOT) if a["side"] == "right" else (R_FOOT, L_FOOT)
        mid = seg[len(seg) // 4: 3 * len(seg) // 4]
        assert np.percentile(mid[:, up, 1] - floor, 50) > 0.1  # the free foot is held up while hopping
        assert (seg[:, down, 1] - floor).max() > 0.03  # the hopping foot leaves the floor
    elif t == "wave":
        sides = ("left", "right") if a["side"] == "both" else (a["side"],)
        for side in sides:
            wr, sh = (L_WR, L_SH) if side == "left" else (R_WR, R_SH)
            above = seg[:, wr, 1] - seg[:, sh, 1]
            assert above.max() > 0.1, above.max()
            rel = seg[:, wr] - seg[:, sh]
            hold = above > 0.05
            x_side = np.linalg.norm(rel[:, [0, 2]], axis=-1)[hold]
            assert count_peaks(x_side, 0.04) >= min(a["count"], 2) - 1
            el = 18 if side == "left" else 19
            upper, fore = seg[:, el] - seg[:, sh], seg[:, wr] - seg[:, el]
            bend = np.degrees(np.arccos(np.clip((upper * fore).sum(-1) / np.linalg.norm(upper, axis=-1)
                                                / np.linalg.norm(fore, axis=-1), -1, 1)))
            assert rule_peaks(bend, 15.0) == a["count"], (rule_peaks(bend, 15.0), a["count"])  # as many swings as said
        if a["side"] != "both":
            other_wr, other_sh = (R_WR, R_SH) if a["side"] == "left" else (L_WR, L_SH)
            assert (seg[:, other_wr, 1] < seg[:, other_sh, 1]).all()
    elif t == "raise":
        sides = ("left", "right") if a["side"] == "both" else (a["side"],)
        for side in sides:
            wr = L_WR if side == "left" else R_WR
            assert (seg[:, wr, 1] - seg[:, HEAD, 1]).max() > 0.05
    elif t == "clap":
        gap = np.linalg.norm(seg[:, L_WR] - seg[:, R_WR], axis=-1)
        assert gap.min() < 0.12, gap.min()
        assert count_peaks(-gap, 0.08) >= a["count"] - 1
    elif t == "punch":
        wr = L_WR if a["side"] == "left" else R_WR
        f = facing(seg)
        reach = ((seg[:, wr, [0, 2]] - seg[:, 0, [0, 2]]) * f).sum(-1)
        assert reach.max() > 0.4, reach.max()
        assert rule_peaks(reach, 0.15, min_height=0.42) == a["count"]  # punches reach past the guard
    elif t == "kick":
        up, stay = (L_FOOT, R_FOOT) if a["side"] == "left" else (R_FOOT, L_FOOT)
        lifted = seg[:, up, 1] - floor > 0.2
        assert lifted.any()
        assert (seg[lifted, stay, 1] - floor).max() < 0.03  # stands on the other foot meanwhile
    elif t in ("squat", "crouch", "sit"):
        drop = seg[0, 0, 1] - seg[:, 0, 1]
        assert drop.max() > {"squat": 0.25, "crouch": 0.35, "sit": 0.6}[t], drop.max()
        if t == "squat":
            assert count_peaks(drop, 0.15) == a["count"]
        if t == "sit":
            assert seg[-1, 0, 1] - floor < 0.3
    elif t == "bow":
        lean = ((seg[:, HEAD, [0, 2]] - seg[:, 0, [0, 2]]) * facing(seg)).sum(-1)
        # the head comes well in front of the hips (a little for a slight bow)
        assert lean.max() > (0.1 if a.get("depth") == "slight" else 0.25), lean.max()
    elif t == "march":
        knees = seg[:, [L_FOOT, R_FOOT], 1] - floor
        assert (knees.max(0) > 0.15).all()
        assert np.linalg.norm(seg[-1, 0, [0, 2]] - seg[0, 0, [0, 2]]) < 0.4
    elif t == "jumping_jacks":
        feet = seg[:, [L_ANKLE, R_ANKLE, L_FOOT, R_FOOT], 1].min(1) - floor
        assert count_peaks(feet, 0.015) == 2 * a["count"]
        hands_up = np.minimum(seg[:, L_WR, 1], seg[:, R_WR, 1]) - seg[:, HEAD, 1]
        assert count_peaks(hands_up, 0.3) == a["count"]
        width = np.abs(seg[:, L_ANKLE, 0] - seg[:, R_ANKLE, 0])
        assert width.max() - width.min() > 0.15
    elif t == "throw":
        wr, sh = (L_WR, L_SH) if a["side"] == "left" else (R_WR, R_SH)
        speed = np.linalg.norm(np.diff(seg[:, wr], axis=0), axis=-1) * 20
        assert speed.max() > 3.0, speed.max()  # metres per second at the release
        assert (seg[:, wr, 1] - seg[:, sh, 1]).max() > 0.1
    elif t == "pick_up":
        wr = L_WR if a["side"] == "left" else R_WR
        assert (seg[:, wr, 1] - floor).min() < 0.3  # the wrist; the fingers reach about 0.15 m lower
    elif t == "stand":
        assert np.linalg.norm(seg[-1, 0, [0, 2]] - seg[0, 0, [0, 2]]) < 0.1
    else:
        checks = record_checks(a)
        if not checks:
            raise AssertionError(f"no check for action type {t}")
        for cat, arg in checks:
            ok, value = judge(seg, cat, arg)
            assert ok, (t, cat, arg, value, {k: v for k, v in a.items() if k not in ("start", "end")})


def _tail(*parts) -> str:
    return " ".join(str(p) for p in parts if p not in (None, "")).strip()


def record_checks(a: dict) -> list[tuple[str, str]]:
    """The rule checks (``easytune_core.eval.rules``) an action record must pass on its own frames.

    Written from the record, independently of the caption parser, so the tests cross-check the
    synthesiser (the motion does what was drawn) and the rules (they measure what was drawn).
    """
    t, side, d, n = a["type"], a.get("side"), a.get("direction"), a.get("count")
    simple = {"sit_cross_legged": [("cross_legged", "")], "sit_chair": [("chair", "")], "lie_back": [("lie", "back")],
              "lie_front": [("lie", "front")], "get_up": [("get_up", "")], "all_fours": [("all_fours", "")],
              "kneel_both": [("kneel", "both")], "touch_toes": [("touch_toes", "")], "stretch_out": [("stretch", "out")],
              "stretch_up": [("stretch", "up")], "rub_hands": [("rub_hands", "")], "cross_arms": [("cross_arms", "")],
              "hands_on_hips": [("hands_on_hips", "")], "push_object": [("push", "")], "pull_rope": [("pull_rope", "")],
              "swing_arms": [("swing_arms", "")], "boxing": [("boxing", "")], "golf_swing": [("golf", "")],
              "baseball_swing": [("baseball", "")], "basketball_shot": [("basketball", "")],
              "twist_dance": [("twist_dance", "")], "hip_circles": [("hip_circles", "")], "jump_rope": [("jump_rope", "")],
              "star_jump": [("star_jump", ""), ("jumps", n)], "squat_jump": [("squat_jump", ""), ("jumps", n)],
              "tuck_jump": [("tuck_jump", ""), ("jumps", n)], "skip": [("skip", "")], "tiptoe": [("tiptoe", "")],
              "high_knees": [("high_knees", ""), ("in_place", "")], "jog_in_place": [("in_place", "")],
              "calf_raise": [("calf_raise", n)], "crawl": [("crawl", d)], "push_up": [("push_up", n)],
              "sit_up": [("sit_up", n)], "plank": [("plank", a.get("seconds"))], "pace": [("back_and_forth", "")],
              "march": [("in_place", "")], "stand_one_foot": [("one_foot", _tail(side, a.get("seconds")))],
              "lunge": [("lunge", _tail(side, n))], "stomp": [("stomp", _tail(side, n))], "step_over": [("step_over", side)],
              "leg_swing": [("leg_swing", _tail(side, n))], "side_kick": [("side_kick", side)], "gallop": [("gallop", side)],
              "side_shuffle": [("shuffle", d)], "grapevine": [("grapevine", d)], "limp": [("limp", side)],
              "zigzag": [("zigzag", d)], "square": [("square", d)], "figure_eight": [("figure_eight", d)],
              "diagonal": [("diagonal", d)], "jump_turn": [("jump_turn", _tail(d, a.get("degrees")))],
              "roll_over": [("roll", d)], "kneel": [("kneel", side)], "sit": [("sit", ""), ("sit_floor", "")],
              "shrug": [("shrug", n)], "point": [("point", _tail(side, d))], "salute": [("hand_to_head", f"{side} salute")],
              "drink": [("hand_to_head", f"{side} drink")], "phone_call": [("hand_to_head", f"{side} phone")],
              "scratch_head": [("hand_to_head", f"{side} scratch")], "beckon": [("beckon", _tail(side, n))],
              "clap_overhead": [("clap_overhead", n)], "look_around": [("look_around", d)],
              "arm_circles": [("arm_circles", f"{side} {d}")], "side_bend": [("side_bend", side)],
              "torso_twist": [("torso_twist", d)], "wipe": [("wipe", side)], "tennis_swing": [("tennis", f"{side} {a.get('stroke')}")],
              "kick_ball": [("kick_ball", side)], "bowling": [("bowling", side)], "dribble": [("dribble", side)],
              "step_touch": [("step_touch", d)], "disco": [("disco", side)], "jog": [("run", "")], "run": [("run", "")],
              "wave": [("wave", side)] if side in ("left", "right") else [("raise", "both")],
              "raise": [("raise", side)], "clap": [("clap", n)], "punch": [("punch", side)], "throw": [("throw", side)],
              "pick_up": [("pick_up", side)], "kick": [("kick", side)], "hop": [("hop", side)], "crouch": [("crouch", "")],
              "squat": [("squat", n)], "bow": [("bow", a.get("depth") or "")]}
    out = [(c, "" if v is None else str(v)) for c, v in simple.get(t, [])]
    if t == "walk" and d == "forward":
        if a.get("style"):
            out.append(("style", a["style"]))
        elif a.get("pace") in ("slow", "fast") and not a.get("layer"):
            out.append(("pace", a["pace"]))
        if a.get("distance"):
            out.append(("distance", str(a["distance"])))
    if t == "jump":
        out += [("jumps", str(n)), ("jump_dir", d)] + ([("jump_height", a["height"])] if a.get("height") else [])
    if t == "circle":
        out.append(("circle", _tail("backward" if a.get("backward") else "", d)))
    if t == "turn" and not a.get("walking"):
        out.append(("turn", f"{d} {a['degrees']}"))
    if a.get("layer"):
        out += [(c, "" if c in ("clap", "clap_overhead") else v) for c, v in record_checks(dict(a["layer"], start=0, end=1))]
    return out
