"""POS tokens for the T2M evaluator: dataset tokens first, else a tagger (spaCy rules or the lexicon)."""

from types import SimpleNamespace

import pytest

from easytune_core.eval.pos import LexiconTagger, SpacyTagger, caption_token_lists, get_tagger


class _FakeNlp:
    """Stands in for a spaCy pipeline: fixed (text, pos, lemma) per word."""

    TABLE = {"A": ("DET", "a"), "person": ("NOUN", "person"), "walks": ("VERB", "walk"), "left": ("VERB", "leave"),
             "arms": ("NOUN", "arm"), "raised": ("VERB", "raise"), "high": ("ADV", "high"), "zigzag": ("NOUN", "zigzag"),
             ".": ("PUNCT", "."), "2": ("NUM", "2"), "times": ("NOUN", "time")}

    def __call__(self, text):
        return [SimpleNamespace(text=w, pos_=self.TABLE[w][0], lemma_=self.TABLE[w][1])
                for w in text.replace(".", " .").split()]


def test_spacy_rules_follow_humanml3d():
    tag = SpacyTagger(_FakeNlp())
    # hyphens removed, punctuation and numbers dropped, nouns/verbs lemmatised except "left"
    assert tag("A person walks left, arms raised high 2 times.".replace(",", "")) == [
        "A/DET", "person/NOUN", "walk/VERB", "left/VERB", "arm/NOUN", "raise/VERB", "high/ADV", "time/NOUN"]
    assert tag("zig-zag") == ["zigzag/NOUN"]


def test_lexicon_tagger_is_the_offline_default_rules():
    tag = LexiconTagger()
    assert tag("A person walks forward and turns left.") == [
        "a/DET", "person/NOUN", "walk/VERB", "forward/ADV", "and/CCONJ", "turn/VERB", "left/ADV"]
    assert tag("someone raises the right arm") == ["someone/PRON", "raise/VERB", "the/DET", "right/ADJ", "arm/NOUN"]
    assert get_tagger("lexicon").name == "lexicon"


def test_dataset_tokens_win_and_sources_are_reported():
    lists, src = caption_token_lists(["a man jogs", "a person waves"], ["a/DET man/NOUN jog/VERB", ""],
                                     tagger="lexicon")
    assert lists == [["a/DET", "man/NOUN", "jog/VERB"], ["a/DET", "person/NOUN", "wave/VERB"]]
    assert src == ["dataset", "lexicon"]
    with pytest.raises(ValueError, match="2 token strings for 1 captions"):
        caption_token_lists(["x"], ["a", "b"])


def test_tagger_names():
    assert get_tagger("auto").name in ("lexicon",) or get_tagger("auto").name.startswith("spacy:")
    with pytest.raises(ValueError, match="unknown POS tagger"):
        get_tagger("nltk")
    try:
        import spacy  # noqa: F401
    except ImportError:
        with pytest.raises(ValueError, match="pip install spacy"):
            get_tagger("spacy")


def _spacy_fixture():
    import json
    from pathlib import Path
    return json.loads((Path(__file__).parent / "data" / "t2m" / "spacy_tokens.json").read_text())


def test_lexicon_agrees_with_spacy_on_most_tokens():
    fix = _spacy_fixture()
    tag = LexiconTagger()
    same = total = 0
    for case in fix["cases"]:
        got = tag(case["caption"])
        assert [t.split("/")[0].lower() for t in got][:1] == [case["tokens"][0].split("/")[0].lower()]
        for a, b in zip(got, case["tokens"]):
            total += 1
            same += a.lower() == b.lower()
    assert same / total >= 0.85, same / total


def test_spacy_tagger_reproduces_humanml3d_tokens():
    try:
        tag = get_tagger("spacy")
    except ValueError:
        pytest.skip("spaCy with an English pipeline is not installed (optional)")
    for case in _spacy_fixture()["cases"]:
        assert tag(case["caption"]) == case["tokens"], case["caption"]
