"""Prompts that describe actions in order, cut into timelines of one segment per clause."""

import pytest

from easytune_core.data.synth import synthesize_sample
from easytune_core.edit.compose import check_timeline
from easytune_core.eval.rules import checks_for
from easytune_core.eval.rules.sequence import sequence_checks
from easytune_core.text.sequence import clauses_of, normalize, sequence_timeline, standalone_clauses


def test_normalize():
    assert normalize("  A Man   walks forward. ") == "a man walks forward"
    assert normalize("Someone waves") == "someone waves"


@pytest.mark.parametrize("prompt, clauses", [
    ("A man walks forward, then sits down.", ["a man walks forward", "a person sits down"]),
    ("someone jumps twice before turning around", ["someone jumps twice", "a person is turning around"]),
    ("we see a woman waving. after that, she kneels on one knee", ["we see a woman waving", "she kneels on one knee"]),
    ("a guy jogs in place, and then does push-ups, and finally lies down on his back",
     ["a guy jogs in place", "a person does push-ups", "a person lies down on his back"]),
    ("a person walks while waving", ["a person walks while waving"]),  # simultaneous: one clause
    ("a person stands next to a chair", ["a person stands next to a chair"]),
])
def test_standalone_clauses(prompt, clauses):
    assert standalone_clauses(prompt) == clauses
    assert len(clauses_of(prompt)) == len(clauses)


def test_timeline_shares_the_length_and_is_a_valid_timeline():
    segs = sequence_timeline("a man walks forward, then sits down, and finally waves", 6)
    assert [p for p, _ in segs] == ["a man walks forward", "a person sits down", "a person waves"]
    assert [s for _, s in segs] == pytest.approx([2.0, 2.0, 2.0])
    assert check_timeline(segs) == segs
    assert sequence_timeline("  A person jumps.  ", 3.5) == [("A person jumps.", 3.5)]  # one clause: as written
    assert sequence_timeline("a person jumps", "4") == [("a person jumps", 4.0)]


@pytest.mark.parametrize("prompt, seconds, match", [
    ("", 4, "empty"),
    ("   ", 4, "empty"),
    (None, 4, "empty"),
    ("a person jumps, then waves", 0, "positive"),
    ("a person jumps, then waves", -3, "positive"),
    ("a person jumps, then waves", float("nan"), "positive"),
    ("a person jumps, then waves", float("inf"), "positive"),
    ("a person jumps, then waves", "long", "number"),
    ("a person jumps, then waves, then sits, then bows", 3, "at least 4 s"),
])
def test_bad_input_gets_a_clear_error(prompt, seconds, match):
    with pytest.raises(ValueError, match=match):
        sequence_timeline(prompt, seconds)


def test_the_generator_sequence_captions_split_into_their_actions():
    """Every checkable two-action caption of the generator gives two segments whose own rule checks
    are the caption's clause checks (the segment prompts keep what the clause asks for)."""
    seen = 0
    for seed in range(6):
        sample = synthesize_sample(seed, kinds=["squat", "wave"])
        for caption in sample.captions:
            clauses = sequence_checks(caption)
            if not clauses:
                continue
            seen += 1
            segs = sequence_timeline(caption, 6.0)
            assert len(segs) == len(clauses) == 2
            assert [checks_for(p) for p, _ in segs] == clauses
    assert seen
