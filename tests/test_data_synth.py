"""The procedural synthesiser: every action shows in the motion, feet stay planted, captions agree."""

from __future__ import annotations

import re

import numpy as np
import pytest

from _synth_checks import L_ANKLE, R_ANKLE, check_action, facing, local_disp, yaw_deg
from easytune_core.data.synth import ACTION_TYPES, MAX_FRAMES, MIN_FRAMES, synthesize_sample
from easytune_core.data.synth.clip import Clip
from easytune_core.data.synth.pose import neutral
from easytune_core.data.synth.solve import solve
from easytune_core.motion.skeleton import HUMANML3D


FLOOR_TYPES = {"sit", "sit_cross_legged", "lie_back", "lie_front", "all_fours", "kneel", "kneel_both", "sit_chair", "plank",
               "get_up", "roll_over", "crawl", "push_up", "sit_up", "lunge", "touch_toes", "bowling"}


def one(kind, seed=0):
    return synthesize_sample(np.random.default_rng([123, seed]), kinds=[kind])


@pytest.fixture(scope="module")
def random_samples():
    return [synthesize_sample(np.random.default_rng([7, i])) for i in range(40)]


def test_turn_left_is_counter_clockwise_from_above():
    # Pure heading change on a standing body: +yaw rate must turn the facing +Z toward +X (the left).
    T = 30
    yaw = np.zeros(T)
    yaw[:10] = np.radians(9.0)
    j = solve(Clip(neutral(T), yaw, np.zeros((T, 2)) + 1, np.full((T, 3), np.nan)))
    f = facing(j)
    assert np.allclose(f[0], [0, 1], atol=1e-3)  # starts facing +Z
    assert np.allclose(f[-1], [1, 0], atol=1e-2)  # ends facing +X after 90 deg left
    # The rest pose's left hip is at +X.
    assert j[0, 1, 0] > j[0, 2, 0]


@pytest.mark.parametrize("direction,seed", [("left", 0), ("right", 1), ("left", 2), ("right", 3)])
def test_turn_in_place_direction(direction, seed):
    for k in range(8):  # draw until the side matches, deterministically
        s = one("turn", seed * 10 + k)
        if s.actions[0]["direction"] == direction:
            break
    a = s.actions[0]
    y = yaw_deg(s.joints)
    want = a["degrees"] if direction == "left" else -a["degrees"]
    assert abs((y[-1] - y[0]) - want) < 30, (y[-1] - y[0], want)
    assert np.linalg.norm(s.joints[-1, 0, [0, 2]] - s.joints[0, 0, [0, 2]]) < 0.35  # in place


@pytest.mark.parametrize("kind", ["walk", "walk_back", "sidestep", "jog", "run", "walk_turn", "circle", "spin",
                                  "jump", "hop", "squat", "crouch", "sit", "bow", "wave", "raise", "clap",
                                  "punch", "kick", "march", "walk_wave", "stand", "jumping_jacks", "throw",
                                  "pick_up"])
def test_each_core_action_is_visible(kind):
    for seed in range(3):
        s = one(kind, seed)
        assert len(s.actions) == 1
        check_action(s.joints, s.actions[0])


def test_sideways_left_moves_to_plus_x():
    seen = set()
    for seed in range(12):
        s = one("sidestep", seed)
        d = s.actions[0]["direction"]
        left, fwd = local_disp(s.joints, 0, len(s.joints))
        assert (left > 0.3) if d == "left" else (left < -0.3)
        assert (s.joints[-1, 0, 0] > 0.3) if d == "left" else (s.joints[-1, 0, 0] < -0.3)
        seen.add(d)
    assert seen == {"left", "right"}


@pytest.mark.slow
def test_speed_follows_the_pace_words():
    def speed(kind, pace):
        v = []
        for seed in range(40):
            s = one(kind, seed)
            a = s.actions[0]
            if a.get("pace", "normal") == pace and a["direction"] == "forward":
                v.append(local_disp(s.joints, 0, len(s.joints))[1] / (len(s.joints) / 20))
            if len(v) == 3:
                break
        return np.mean(v)

    slow, fast = speed("walk", "slow"), speed("walk", "fast")
    jog, run = speed("jog", "normal"), speed("run", "normal")
    assert slow < fast < jog < run, (slow, fast, jog, run)
    assert 0.3 < slow < 1.0 and 1.5 < run < 5.0


@pytest.mark.slow
def test_random_sequences_match_their_records(random_samples):
    types = set()
    for s in random_samples:
        for a in s.actions:
            check_action(s.joints, a)
            types.add(a["type"])
        assert len(s.captions) >= 3 and len(set(s.captions)) == len(s.captions)
    assert len(types) >= 12


def test_captions_name_what_was_drawn(random_samples):
    from easytune_core.eval.rules.parse import SLOW

    registers = {"period": 0, "capital": 0}
    for s in random_samples:
        for cap in s.captions:
            assert cap.strip() == cap and len(cap.split()) >= 3
            registers["period"] += cap.endswith(".")
            registers["capital"] += cap[0].isupper()
            low = cap.lower()
            for a in s.actions:
                side = a.get("side") or (a.get("direction") if a["type"] in ("walk", "turn") else None)
                if a["type"] == "walk" and a["direction"] == "backward":
                    assert "backward" in low or "reverse" in low or "backs up" in low, cap
                if a["type"] == "walk" and a["direction"] in ("left", "right"):
                    assert a["direction"] in low and "side" in low
                if a["type"] in ("wave", "punch", "kick") and side in ("left", "right"):
                    assert side in low
                if a["type"] == "clap":
                    assert "clap" in low or "applaud" in low
                if a["type"] == "turn" and a["degrees"] < 170 and not a.get("walking"):
                    assert a["direction"] in low
                if a.get("count", 1) > 1 and a["type"] in ("clap", "squat", "punch", "jump", "push_up", "sit_up"):
                    n = a["count"]
                    words = {2: ("twice", "two"), 3: ("three", "thrice"), 4: ("four",), 5: ("five",), 6: ("six",)}[n]
                    assert any(w in low for w in words + (str(n),)), (cap, a)
                if a.get("pace") == "slow" and a["type"] == "walk" and not a.get("style"):
                    assert re.search(SLOW, low), cap
    n = sum(len(s.captions) for s in random_samples)
    assert 0.7 * n < registers["period"] < n and 0.15 * n < registers["capital"] < 0.6 * n  # varied registers


def test_sequences_are_joined_in_the_captions():
    from easytune_core.eval.rules.parse import SEQUENCE

    s = synthesize_sample(np.random.default_rng(5), kinds=["walk", "turn", "wave"])
    assert [a["type"] for a in s.actions] == ["walk", "turn", "wave"]
    starts = [a["start"] for a in s.actions]
    assert starts == sorted(starts)
    for cap in s.captions:
        low = cap.lower()
        assert SEQUENCE.search(low), cap
        assert "wav" in low and re.search(r"turn|rotat|pivot|swivel", low), cap
        assert low.index("wav") > max(low.find(w) for w in ("turn", "rotat", "pivot", "swivel"))  # in order


def test_lengths_shapes_and_finiteness(random_samples):
    for s in random_samples:
        T = s.joints.shape[0]
        assert MIN_FRAMES <= T <= MAX_FRAMES
        assert s.joints.shape == (T, 22, 3) and s.joints.dtype == np.float32
        assert np.isfinite(s.joints).all()


def test_bone_lengths_constant(random_samples):
    parents = HUMANML3D.parents
    for s in random_samples:
        j = s.joints.astype(np.float64)
        bones = np.stack([np.linalg.norm(j[:, c] - j[:, p], axis=-1) for c, p in enumerate(parents) if p >= 0], -1)
        assert np.abs(bones - bones[0]).max() < 1e-4
        assert np.allclose(bones[0], HUMANML3D.bone_lengths[1:] * s.scale, atol=1e-4)


def test_planted_feet_do_not_skate(random_samples):
    worst = 0.0
    for s in random_samples:
        for f, ankle in ((0, L_ANKLE), (1, R_ANKLE)):
            planted = (s.contact[1:, f] > 0.999) & (s.contact[:-1, f] > 0.999)
            step = np.linalg.norm(np.diff(s.joints[:, ankle, [0, 2]], axis=0), axis=-1)[planted]
            if step.size:
                worst = max(worst, float(step.max()))
    assert worst < 0.01, worst  # metres per frame (0.2 m/s); HumanML3D's contact test allows 0.9 m/s


def _pops(x: np.ndarray, floor: float, ratio: float) -> np.ndarray:
    """Frames where a per-frame displacement ``x`` (T-1,) exceeds ``floor`` metres and ``ratio`` times
    both neighbouring frames' (a one-frame jump that motion capture does not show)."""
    prev, nxt = np.r_[x[:1], x[:-1]], np.r_[x[1:], x[-1:]]
    return (x > floor) & (x > ratio * np.maximum(np.maximum(prev, nxt), 1e-3))


def test_knees_and_root_do_not_pop(random_samples):
    # Knees relative to the pelvis, and the root: real clips (walking, jumps, jumping jacks) show no
    # frame moving 6 cm (knees) / 5 cm (root) and 2.5x / 2x its neighbours. Dropping a released point's
    # IK target in one frame, or re-stepping with a sudden lift, gives such frames in a third of the motions.
    knees = root = 0
    for s in random_samples:
        j = s.joints
        rel = j - j[:, :1]
        kv = np.linalg.norm(np.diff(rel[:, [4, 5]], axis=0), axis=-1).max(-1)
        rv = np.linalg.norm(np.diff(j[:, 0], axis=0), axis=-1)
        knees += bool(_pops(kv, 0.06, 2.5).any())
        root += bool(_pops(rv, 0.05, 2.0).any())
    assert knees <= 5 and root <= 9, (knees, root)  # of 40 motions


def test_feet_on_the_floor(random_samples):
    for s in random_samples:
        toes = s.joints[:, [10, 11], 1]
        assert toes.min() > -0.02
        assert s.joints[:, :, 1].min() > -0.02  # nothing goes through the floor
        if {a["type"] for a in s.actions} & FLOOR_TYPES:
            continue  # sitting and lying bodies rest their heels, not their soles
        both_planted = (s.contact > 0.999).all(-1)
        if both_planted.any():
            low = s.joints[both_planted][:, [7, 8, 10, 11], 1].min(-1)
            assert np.abs(low).max() < 0.03


def test_joint_limits(random_samples):
    # Knees and elbows are hinges that never hyper-extend: the middle joint stays on one side.
    for s in random_samples:
        j = s.joints
        for hip, knee, ankle in ((1, 4, 7), (2, 5, 8)):
            thigh, shin = j[:, knee] - j[:, hip], j[:, ankle] - j[:, knee]
            cos = (thigh * shin).sum(-1) / np.linalg.norm(thigh, axis=-1) / np.linalg.norm(shin, axis=-1)
            assert cos.min() > np.cos(np.radians(155))
        upright = (j[:, 12, 1] - j[:, 0, 1]) > 0.4  # not lying or bending far over
        head_up = j[upright, 15, 1] - j[upright, 12, 1]
        assert head_up.min() > 0.0


def test_deterministic_from_seed():
    a = synthesize_sample(11)
    b = synthesize_sample(np.random.default_rng(11))
    assert a.joints.tobytes() == b.joints.tobytes() and a.captions == b.captions and a.actions == b.actions
    c = synthesize_sample(12)
    assert c.joints.shape != a.joints.shape or not np.array_equal(c.joints, a.joints)


def test_two_samples_of_one_action_differ():
    a, b = one("walk", 0), one("walk", 1)
    n = min(len(a.joints), len(b.joints))
    assert np.abs(a.joints[:n] - b.joints[:n]).max() > 0.05


def test_unknown_action_kind_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown action kind"):
        synthesize_sample(0, kinds=["moonwalk"])
    assert "walk" in ACTION_TYPES


def test_mirrored_motion_matches_swapped_captions():
    # The dataset's M-copies mirror the joints and swap left/right in the captions; the
    # mirrored motion must then do what the swapped words say.
    from easytune_core.motion.features import mirror_joints

    swap = {"left": "right", "right": "left"}
    for kind in ("wave", "turn", "sidestep", "kick", "circle", "punch"):
        s = one(kind, 4)
        a = dict(s.actions[0])
        for key in ("side", "direction"):
            if a.get(key) in swap:
                a[key] = swap[a[key]]
        check_action(mirror_joints(s.joints, "humanml3d"), a)


@pytest.mark.parametrize("kind,pace,speed,cadence", [
    ("walk", "slow", (0.4, 0.9), (75, 110)), ("walk", "normal", (0.8, 1.5), (100, 130)),
    ("walk", "fast", (1.1, 1.8), (115, 145)), ("run", "normal", (2.3, 4.5), (160, 195)),
])
def test_gaits_have_human_speed_cadence_and_bob(kind, pace, speed, cadence):
    from easytune_core.data.synth import gaits

    clip = gaits.locomotion(np.random.default_rng(0), 160, kind, pace, "forward")
    j, contact = solve(clip, return_contact=True)
    v = (j[120, 0, 2] - j[40, 0, 2]) / 4.0  # steady part, metres per second
    steps = ((contact[1:] > 0.5) & (contact[:-1] <= 0.5))[40:120].sum() / 4.0 * 60  # per minute
    bob = np.ptp(j[40:120, 0, 1])
    assert speed[0] < v < speed[1] and cadence[0] < steps < cadence[1], (v, steps)
    assert 0.01 < bob < (0.09 if kind == "walk" else 0.14), bob
    flight = (contact[40:120] < 0.05).all(-1).mean()
    assert (flight > 0.1) if kind == "run" else (flight == 0)  # runners leave the ground, walkers never


def test_config_controls_what_is_drawn():
    from easytune_core.data.synth import SynthConfig

    cfg = SynthConfig(action_weights={"wave": 1.0, "clap": 1.0}, max_frames=120, min_frames=60,
                      sequence_probs=(0.0, 1.0), n_captions=2)
    for seed in range(6):
        s = synthesize_sample(seed, config=cfg)
        assert 60 <= len(s.joints) <= 120 and len(s.captions) == 2
        assert {a["type"] for a in s.actions} <= {"wave", "clap"}
    # The default config is the built-in dataset's: passing it explicitly changes nothing.
    a, b = synthesize_sample(3), synthesize_sample(3, config=SynthConfig())
    assert a.joints.tobytes() == b.joints.tobytes() and a.captions == b.captions


@pytest.mark.parametrize("kwargs,match", [
    (dict(max_frames=300), "max_frames must be between 40 and 196"),
    (dict(min_frames=190), "min_frames must be between 20"),
    (dict(sequence_probs=(0.5, 0.6)), "sequence_probs"),
    (dict(action_weights={"moonwalk": 1.0}), "unknown action kinds"),
    (dict(scale_range=(1.2, 1.0)), "scale_range"),
    (dict(n_captions=0), "n_captions"),
])
def test_bad_config_is_a_clear_error(kwargs, match):
    from easytune_core.data.synth import SynthConfig

    with pytest.raises(ValueError, match=match):
        SynthConfig(**kwargs)


def test_no_accidental_flights(random_samples):
    # Only jumps, hops, running and bounding steps leave the ground with both feet (the
    # floor actions lift the feet too, lying or kneeling).
    airborne_kinds = {"jump", "hop", "jumping_jacks", "run", "jog", "skip", "gallop", "side_shuffle", "jog_in_place",
                      "high_knees", "jump_rope", "star_jump", "squat_jump", "tuck_jump", "jump_turn", "basketball_shot"}
    airborne_kinds |= FLOOR_TYPES
    checked = 0
    for s in random_samples:
        if {a["type"] for a in s.actions} & airborne_kinds:
            continue
        j = s.joints
        lowest_foot = j[:, [7, 8, 10, 11], 1].min(1) - j[:, [10, 11], 1].min()
        assert lowest_foot.max() < 0.04, lowest_foot.max()
        checked += 1
    assert checked >= 15


def _foot_turns(j):
    """Per-frame turn (degrees) of each ankle->toe direction, (T-1, 2)."""
    out = []
    for a, t in ((7, 10), (8, 11)):
        d = j[:, t] - j[:, a]
        d = d / np.linalg.norm(d, axis=-1, keepdims=True)
        out.append(np.degrees(np.arccos(np.clip((d[1:] * d[:-1]).sum(-1), -1, 1))))
    return np.stack(out, -1)


def test_feet_do_not_flip_between_frames(random_samples):
    # A planted foot flattens and relaxes over several frames; only the swing of running legs
    # and snapping kicks turn a foot by more than ~30 degrees in 50 ms (real shanks reach
    # ~1000 deg/s there).
    fast = {"run", "jog", "kick", "kick_ball", "side_kick", "skip", "gallop", "side_shuffle", "high_knees", "jog_in_place",
            "star_jump", "tuck_jump", "squat_jump", "stomp", "leg_swing"}
    calm, every = [], []
    for s in random_samples:
        t = _foot_turns(s.joints)
        every.append(t.ravel())
        if not {a["type"] for a in s.actions} & fast:
            calm.append(t.ravel())
    calm, every = np.concatenate(calm), np.concatenate(every)
    assert np.percentile(calm, 99) < 25 and calm.max() < 60, (np.percentile(calm, 99), calm.max())
    assert (every > 30).mean() < 0.02


def test_ankle_rotations_stay_within_limits():
    from easytune_core.data.synth.solve import ANKLE_LIMITS, clamp_ankle, euler_angles
    from easytune_core.data.synth.pose import euler

    wild = euler(x=np.array([-60.0, 120.0, 30.0]), y=np.array([0.0, 50.0, -80.0]), z=np.array([40.0, 0.0, -5.0]))
    ang = euler_angles(clamp_ankle(wild))
    for k, (lo, hi) in enumerate(ANKLE_LIMITS):
        assert (ang[:, k] >= lo - 1e-6).all() and (ang[:, k] <= hi + 1e-6).all()
    assert np.allclose(ang[2], [30.0, -30.0, -5.0], atol=1e-6)  # only the out-of-range parts move
