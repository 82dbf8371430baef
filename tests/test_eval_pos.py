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
