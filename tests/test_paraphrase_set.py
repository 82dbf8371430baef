"""The paraphrase set: hand-written prompts outside the caption templates, with rule checks that a
motion doing what the prompt says passes."""

from __future__ import annotations

import itertools
import re

import numpy as np
import pytest

from easytune_core.data.paraphrase import load_paraphrase_set, synthesize_entry
from easytune_core.data.synth import synthesize_sample
from easytune_core.data.synth.captions import conjugate
from easytune_core.data.synth.lexicon import L
from easytune_core.data.synth.registry import FAMILIES
from easytune_core.data.synth.words import DEGREES, METERS, NUM, PACE, SECONDS, STYLE, TIMES
from easytune_core.eval.rules import CATEGORIES, judge
from easytune_core.motion.features import canonicalize_joints

ENTRIES = load_paraphrase_set()


def test_sizes_subsets_and_splits():
    by = lambda sub: [e for e in ENTRIES if e["subset"] == sub]  # noqa: E731
    assert len(by("paraphrase")) >= 150 and len(by("probe_known")) == 24 and len(by("probe_everyday")) == 24
    assert len({e["id"] for e in ENTRIES}) == len(ENTRIES)
    assert len({e["caption"].lower() for e in ENTRIES}) == len(ENTRIES)
    for sub in ("paraphrase", "probe_known", "probe_everyday"):
        rows = by(sub)
        val = [e for e in rows if e["split"] == "val"]
        assert 0.25 < len(val) / len(rows) < 0.4
        assert [e["id"] for e in load_paraphrase_set("val", sub)] == [e["id"] for e in val]
    families = {e["family"] for e in by("paraphrase")}
    assert set(FAMILIES) | {"combos"} == families
    for fam in families:  # every family can be reported on test and chosen on val
        assert {e["split"] for e in by("paraphrase") if e["family"] == fam} == {"val", "test"}
    with pytest.raises(ValueError, match="split"):
        load_paraphrase_set("train")
    with pytest.raises(ValueError, match="subset"):
        load_paraphrase_set(subset="nope")


def test_every_check_is_a_valid_rule():
    still = synthesize_sample(0, kinds=["stand"]).joints
    for e in ENTRIES:
        assert 2 <= e["seconds"] <= 9.8
        for cat, arg in e["checks"]:
            assert cat in CATEGORIES, (e["id"], cat)
            judge(still, cat, arg)  # parses its argument (raises on a bad one)


_SLOT = re.compile(r"\{(\w+)\}")


def _options(slot: str, a: dict) -> list[str]:
    side = a.get("side") or a.get("direction") or ""
    count, secs, dist = a.get("count"), a.get("seconds"), a.get("distance")
    return {
        "side": [side], "poss": ["his", "her", "their", "the"],
        "n": [NUM.get(count, str(count)), str(count)] if count else [""],
        "times": list(TIMES.get(count, ("",))), "pace": list(PACE[a.get("pace", "normal")]),
        "style": list(STYLE[a["style"]]) if a.get("style") else [""],
        "height": [" high", " really high", " as high as possible", " up high", " a little", " low",
                   " just slightly off the ground", " a tiny bit", ""],
        "secs": list(SECONDS.get(secs, ("",))), "dist": list(METERS.get(dist, ("",))),
        "deg": list(DEGREES.get(a.get("degrees"), ("",))), "degn": [str(a.get("degrees", ""))],
        "hand": [f" {side}-handed", f" as a {side}-handed player", f", {side}-handed", f" from the {side} side"],
    }[slot]


def expansions(a: dict) -> set[str]:
    """Every phrase (third person and -ing) the caption lexicon can write for record ``a``."""
    out = set()
    for template in L[a["type"]](a):
        slots = sorted(set(_SLOT.findall(template)))
        for values in itertools.product(*[_options(s, a) for s in slots]):
            text = template
            for s, v in zip(slots, values):
                text = text.replace("{" + s + "}", v)
            for form in ("s", "ing"):
                phrase = re.sub(r"<([a-z-]+)>", lambda m: conjugate(m.group(1), form), text)
                out.add(" ".join(re.sub(r"\s+([,.])", r"\1", phrase).lower().split()))
    return out


def _synth(e, seed=0):
    return synthesize_entry(e, seed)


def _check_entry(e):
    s = _synth(e)
    assert set(e["synth"]["kinds"]) <= {a["kind"] for a in s.actions}
    norm = " ".join(re.sub(r"[.!]+$", "", e["caption"].lower()).split())
    for a in s.actions:
        if len(s.actions) == 1 and e["family"] != "combos":
            assert not any(norm.endswith(p) for p in expansions(a)), (e["id"], e["caption"])
    joints = canonicalize_joints(s.joints)
    for cat, arg in e["checks"]:
        ok, value = judge(joints, cat, arg)
        assert ok, (e["id"], e["caption"], cat, arg, value)


@pytest.mark.parametrize("entry", ENTRIES[::7], ids=lambda e: e["id"])
def test_entries_are_new_phrasings_that_a_matching_motion_passes(entry):
    """Every caption is outside what the templates write, and the rules pass on a motion of the
    action it describes (a sample here; all entries in the slow test)."""
    _check_entry(entry)


@pytest.mark.slow
def test_all_entries_are_new_phrasings_that_a_matching_motion_passes():
    for e in ENTRIES:
        _check_entry(e)


class _StandingPipe:
    """A stand-in model that always stands still (tests the scoring plumbing, not a model)."""

    max_frames = 196

    def __init__(self):
        self.calls = []

    def generate(self, captions, frames, seed, guidance, steps):
        from types import SimpleNamespace

        self.calls.append((len(captions), seed))
        still = synthesize_sample(0, kinds=["stand"]).joints
        joints = [np.concatenate([still] * (f // len(still) + 1))[:f] for f in frames]
        return SimpleNamespace(joints=joints, lengths=list(frames))


def test_score_paraphrase_reports_per_family_and_subset():
    from easytune_core.eval.paraphrase import paraphrase_cases, score_paraphrase

    cases = paraphrase_cases("test", ("paraphrase", "probe_everyday"))
    assert cases and all(c["split"] == "test" and c["frames"] >= 40 for c in cases)
    pipe = _StandingPipe()
    res = score_paraphrase(pipe, cases, seeds=2, batch=64)
    assert {s // 1000 for _, s in pipe.calls} == {0, 1} and sum(n for n, _ in pipe.calls) == 2 * len(cases)
    assert set(res["subsets"]) == {"paraphrase", "probe_everyday"}
    assert set(res["families"]) == {c["family"] for c in cases}
    o = res["overall"]
    assert o["prompt_seeds"] == 2 * len(cases) and 0.0 <= o["prompt_pass"] < 0.2  # standing still follows almost nothing
    assert all(len(c["passed"]) == 2 for c in res["cases"])
    with pytest.raises(ValueError, match="seeds"):
        score_paraphrase(pipe, cases, seeds=0)
