"""The full action vocabulary: every kind shows in its motion, its captions parse into rule checks
that pass on it, nothing goes through the floor, and near twins differ where their captions do."""

from __future__ import annotations

import numpy as np
import pytest

from _synth_checks import check_action
from easytune_core.data.synth import ACTION_TYPES, synthesize_sample
from easytune_core.data.synth.composer import render_plan, twin_plan, draw_plan
from easytune_core.data.synth.registry import FAMILIES, REGISTRY
from easytune_core.eval.rules import checks_for, judge
from easytune_core.motion.features import canonicalize_joints
from easytune_core.motion.skeleton import HUMANML3D

# Kinds that are only ever reached from the floor need their way down first; their forced
# samples then hold a transition record too.
FLOOR_ONLY = {k for k, a in REGISTRY.items() if "stand" not in a.starts}


def sample(kind, seed):
    return synthesize_sample(np.random.default_rng([4242, seed]), kinds=[kind])


def test_vocabulary_has_80_action_types_in_every_family():
    types = set()
    for kind in ACTION_TYPES:
        types |= {a["type"] for a in sample(kind, 0).actions}
    assert len(types) >= 80, len(types)
    assert {a.family for a in REGISTRY.values()} == set(FAMILIES)


@pytest.mark.parametrize("kind", sorted(ACTION_TYPES))
def test_each_kind_does_what_it_says(kind):
    for seed in range(2):
        s = sample(kind, seed)
        assert kind in {a["kind"] for a in s.actions}
        j = s.joints
        assert j[:, :, 1].min() > -0.02, j[:, :, 1].min()  # nothing goes through the floor
        bones = np.stack([np.linalg.norm(j[:, c] - j[:, p], axis=-1) for c, p in enumerate(HUMANML3D.parents) if p >= 0], -1)
        assert np.abs(bones - bones[0]).max() < 1e-4
        for a in s.actions:  # the motion shows each drawn action (record checks, see _synth_checks)
            check_action(j, a)
        canon = canonicalize_joints(j)
        checked = 0
        for cap in s.captions:  # and single-clause captions parse into checks that pass
            for cat, arg in checks_for(cap):
                ok, value = judge(canon, cat, arg)
                assert ok, (cap, cat, arg, value)
                checked += 1
        if len(s.actions) == 1 and kind not in ("look_around", "stand"):
            assert checked, s.captions  # every kind has checkable phrasings


def test_floor_actions_rest_on_the_floor():
    s = sample("lie_back", 0)
    j = s.joints
    assert j[-1, 0, 1] < 0.2 and abs(j[-1, 9, 1] - j[-1, 0, 1]) < 0.1  # pelvis and chest on the floor
    s = sample("push_up", 1)
    rec = next(a for a in s.actions if a["type"] == "push_up")
    hands = s.joints[rec["start"]:rec["end"], [20, 21]]
    assert np.abs(hands[:, :, 1] - hands[0, :, 1]).max() < 0.02  # hands stay planted
    assert np.linalg.norm(hands[..., [0, 2]] - hands[:1][..., [0, 2]], axis=-1).max() < 0.03
    s = sample("crawl", 0)
    rec = next(a for a in s.actions if a["type"] == "crawl")
    seg = s.joints[rec["start"]:rec["end"]]
    assert (seg[:, [4, 5, 20, 21], 1] < 0.2).mean() > 0.7  # knees and hands near the floor while crawling


def test_plans_and_twins_are_deterministic_and_differ_in_one_attribute():
    rng = np.random.default_rng(3)
    found = 0
    for _ in range(30):
        plan = draw_plan(rng)
        made = twin_plan(rng, plan)
        if made is None:
            continue
        other, info = made
        a, b = render_plan(plan), render_plan(other)
        assert render_plan(plan).joints.tobytes() == a.joints.tobytes()
        if info["attribute"] == "order":
            assert [s["kind"] for s in other["steps"]] != [s["kind"] for s in plan["steps"]]
        else:
            i = info["step"]
            diff = {k for k in plan["steps"][i]["params"] if plan["steps"][i]["params"][k] != other["steps"][i]["params"].get(k)}
            assert len(diff) == 1 and info["values"][0] != info["values"][1], (diff, info)
            assert [s["seed"] for s in plan["steps"]] == [s["seed"] for s in other["steps"]]
        found += 1
    assert found >= 10


@pytest.mark.parametrize("kind,attr,check", [
    ("kick", "side", lambda r: ("kick", r["side"])),
    ("push_up", "count", lambda r: ("push_up", str(r["count"]))),
    ("turn", "degrees", lambda r: ("turn", f"{r['direction']} {r['degrees']}")),
    ("lunge", "side", lambda r: ("lunge", f"{r['side']} {r['count']}")),
    ("tennis_swing", "stroke", lambda r: ("tennis", f"{r['side']} {r['stroke']}")),
    ("arm_circles", "direction", lambda r: ("arm_circles", f"{r['side']} {r['direction']}")),
])
def test_rules_tell_twins_apart(kind, attr, check):
    """A rule that checks the changed attribute passes on a motion and fails on its twin."""
    from easytune_core.data.synth.registry import vary

    rng = np.random.default_rng(11)
    plan = draw_plan(rng, kinds=[kind])
    i = next(k for k, s in enumerate(plan["steps"]) if s["kind"] == kind)
    params, old, new = vary(rng, kind, plan["steps"][i]["params"], attr)
    other = dict(plan, steps=[dict(s, params=params) if k == i else s for k, s in enumerate(plan["steps"])])
    a, b = render_plan(plan), render_plan(other)
    ra = next(r for r in a.actions if r["type"] == REGISTRY[kind].kind or r["kind"] == kind)
    cat, arg = check(ra)
    ja, jb = canonicalize_joints(a.joints), canonicalize_joints(b.joints)
    assert judge(ja, cat, arg)[0] and not judge(jb, cat, arg)[0], (cat, arg, old, new)


def test_mirrored_new_actions_match_swapped_sides():
    from easytune_core.motion.features import mirror_joints

    swap = {"left": "right", "right": "left"}
    for kind in ("kneel", "roll_over", "side_shuffle", "point", "lunge", "limp"):
        s = sample(kind, 2)
        for a in s.actions:
            m = dict(a)
            for key in ("side", "direction"):
                if m.get(key) in swap:
                    m[key] = swap[m[key]]
            check_action(mirror_joints(s.joints, "humanml3d"), m)


def test_subjects_and_sentence_frames_do_not_change_what_a_caption_asks_for():
    """'a firefighter', 'the clip captures ...': who does it and how the sentence opens add words,
    never a rule check."""
    from easytune_core.data.synth.words import DANCERS, FRAMES, SPORTY, SUBJECTS

    phrases = [("walks forward slowly", "walking forward slowly"), ("waves with the right hand twice",
               "waving with the right hand twice"), ("turns left 90 degrees", "turning left 90 degrees"),
               ("jumps three times", "jumping three times"), ("kneels on the left knee", "kneeling on the left knee"),
               ("does push-ups", "doing push-ups"), ("crawls on hands and knees", "crawling on hands and knees")]
    subjects = {x for pool in (SUBJECTS, SPORTY) for v in pool.values() for x in v} | set(DANCERS)
    for v, g in phrases:
        want = checks_for(f"a person {v}")
        assert want, v
        for subject in sorted(subjects):
            for frame in FRAMES:
                caption = frame.format(s=subject, v=v, g=g)
                assert checks_for(caption) == want, caption


@pytest.mark.slow
def test_context_phrases_do_not_change_what_a_caption_asks_for():
    """'as if greeting a friend', 'at the gym'...: context adds words, never a rule check."""
    from easytune_core.data.synth import lexicon_body  # noqa: F401  (registers the body phrases)
    from easytune_core.data.synth.contexts import CONTEXT
    from easytune_core.data.synth.lexicon import L

    assert set(CONTEXT) <= set(L)
    seen = set()
    for kind in sorted(ACTION_TYPES):  # every kind: one type ("walk") is told in many ways
        s = sample(kind, 0)
        phrases = [p for a in s.actions for p in CONTEXT.get(a["type"], ())]
        seen |= {a["type"] for a in s.actions}
        for cap in s.captions:
            bare = cap.rstrip(".")
            for p in phrases:
                bare = bare.replace(" " + p, "")
            want = checks_for(bare)
            for p in phrases:
                assert checks_for(f"{bare} {p}") == want, (kind, bare, p)
    assert set(CONTEXT) <= seen


def test_a_twins_captions_name_the_attribute_it_differs_in():
    # every phrase of an attribute-twinned action says that attribute: the two captions never coincide
    for seed in range(40):
        plan = draw_plan(np.random.default_rng(seed), kinds=["look_around"])
        made = twin_plan(np.random.default_rng(seed + 1000), plan)
        assert made is not None
        a, b = render_plan(plan, n_captions=3), render_plan(made[0], n_captions=3)
        assert not set(a.captions) & set(b.captions), (a.captions, b.captions)
    assert not REGISTRY["pace"].attrs  # back and forth once: nothing a twin could change that captions say


def test_a_walk_with_an_arm_layer_plays_the_whole_layer():
    # a walk stretched to a distance would cut the layer (its count or seconds) short: walk_wave has none
    for seed in range(60):
        params = REGISTRY["walk_wave"].draw(np.random.default_rng(seed), "stand")
        assert "layer" in params and "distance" not in params
    for seed in range(12):
        s = synthesize_sample(seed, kinds=["walk_wave"])
        layer = s.actions[0]["layer"]
        assert layer["end"] - layer["start"] <= s.actions[0]["end"] - s.actions[0]["start"]


def test_twin_pairs_differ_in_their_records_only_in_the_named_attribute():
    """The dataset's twin pairs: the rendered records (which carry measured values, such as a walk's
    distance) differ in exactly the named attribute, and the pair's values are those records' values.
    Pair 239 of seed 0 is one whose first plans differ in a walk's direction only, but whose rendered
    walks cover different distances: it is refused and drawn again."""
    from easytune_core.data.builtin import make_pair
    from easytune_core.data.synth.registry import _get

    found = 0
    for pair in list(range(40)) + [239]:
        made = make_pair(0, pair)
        if made is None or made[2]["attribute"] == "order":
            continue
        a, b, info = made
        changed = [(k, _get(ra, k), _get(rb, k)) for ra, rb in zip(a.actions, b.actions)
                   for k in REGISTRY[ra["kind"]].attrs if _get(ra, k) != _get(rb, k)]
        assert changed == [(info["attribute"], *info["values"])], (pair, changed, info)
        found += 1
    assert found >= 8
