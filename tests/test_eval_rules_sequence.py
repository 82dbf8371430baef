"""Ordered rule checks for captions that describe a sequence of actions."""

import numpy as np
import pytest

from easytune_core.data.synth import synthesize_sample
from easytune_core.eval.rules import checks_for, judge_case, load_rule_cases, summarize
from easytune_core.eval.rules.sequence import clauses_of, judge_sequence, sequence_checks


@pytest.mark.parametrize("caption, clauses", [
    ("a person squats twice, then claps three times", ["a person squats twice", "claps three times"]),
    ("A man bows. After that, he walks forward.", ["a man bows", "he walks forward"]),
    ("someone jumps before waving with the left hand", ["someone jumps", "waving with the left hand"]),
    ("she waves; after that she squats, and finally jumps", ["she waves", "she squats", "jumps"]),
    ("a person stands next to a wall and waves", ["a person stands next to a wall and waves"]),
    ("a person walks forward while waving", ["a person walks forward while waving"]),
])
def test_clauses_follow_the_caption_order(caption, clauses):
    assert clauses_of(caption) == clauses


def test_sequence_checks():
    assert sequence_checks("a person squats twice, then claps three times") == [[("squat", "2")], [("clap", "3")]]
    assert sequence_checks("a person squats twice") is None  # one clause: a whole-clip caption
    assert sequence_checks("a person squats twice, then does something odd") is None  # a clause with no check
    assert sequence_checks("after jumping, a person squats twice") is None  # order words the split does not handle
    assert checks_for("a person squats twice, then claps three times") == []  # whole-clip checks skip it


@pytest.mark.parametrize("first, second", [("squat", "clap"), ("wave", "jump"), ("bow", "walk")])
def test_a_motion_passes_its_sequence_and_fails_the_reversed_one(first, second):
    checked = 0
    for seed in range(2):
        forward = synthesize_sample(seed, kinds=[first, second])
        backward = synthesize_sample(seed, kinds=[second, first])
        for caption in forward.captions:
            clauses = sequence_checks(caption)
            if not clauses:
                continue
            checked += 1
            ok, results, cuts = judge_sequence(forward.joints, clauses)
            assert ok and all(r for r, _ in results), (caption, results)
            assert len(results) == sum(map(len, clauses)) and len(cuts) == len(clauses) - 1
            assert 0 < cuts[0] < len(forward.joints)
            assert not judge_sequence(backward.joints, clauses)[0], caption
    assert checked, f"no checkable sequence caption for {first}, {second}"


def test_short_motions_and_frame_rates():
    clauses = [[("squat", "2")], [("clap", "3")]]
    s = synthesize_sample(0, kinds=["squat", "clap"])
    ok, results, cuts = judge_sequence(s.joints[:15], clauses)  # too short for two half-second segments
    assert not ok and cuts == [] and len(results) == 2 and not any(r for r, _ in results)
    # the same motion at 40 fps (every frame doubled by interpolation) is judged at 20 fps
    T = len(s.joints)
    t40 = np.linspace(0, T - 1, 2 * T - 1)
    j40 = np.stack([np.stack([np.interp(t40, np.arange(T), s.joints[:, k, d]) for d in range(3)], -1)
                    for k in range(22)], 1)
    assert judge_sequence(s.joints, clauses)[0] == judge_sequence(j40, clauses, fps=40.0)[0]
    for bad in ({"clauses": []}, {"clauses": [[("squat", "2")], []]}, {"clauses": clauses, "step": 0},
                {"clauses": clauses, "min_frames": 1}):
        with pytest.raises(ValueError):
            judge_sequence(s.joints, **bad)


def test_load_rule_cases_picks_sequences(tmp_path):
    from tests.support.standins import synth_rule_folder

    root = tmp_path / "data"
    names = synth_rule_folder(root, [["squat", "clap"], ["jump"], ["wave", "jump"]], "test")
    seq = load_rule_cases(root, "test", sequences=True)
    assert seq and {c["name"] for c in seq} <= {names[0], names[2]}
    for c in seq:
        assert c["checks"] == [chk for cl in c["clauses"] for chk in cl] and len(c["clauses"]) >= 2
        c["gen"] = judge_case(c, np.load(root / "new_joints" / f"{c['name']}.npy"))
    s = summarize(seq)
    assert s["captions"] == len(seq) and s["caption_pass_fraction"] == 1.0 and s["pass_fraction"] == 1.0
    single = load_rule_cases(root, "test")
    assert all("clauses" not in c for c in single)
