"""Part-of-speech tokens (``word/POS``) of captions for the T2M evaluator.

HumanML3D's texts already carry them (``caption#word/POS ...#start#end``), written by spaCy's
``en_core_web_sm``: hyphens removed, non-alphabetic tokens dropped, nouns and verbs replaced by
their lemma (except the word "left"), each token as ``word/UPOS``. Those tokens are used as
they are whenever a caption comes from a dataset. Free text (a prompt typed in the app, a
caption without tokens) needs a tagger:

* ``"spacy"``: spaCy with an English pipeline (``en_core_web_sm`` as HumanML3D used; the
  optional extra ``pip install spacy`` plus the pipeline package), applying HumanML3D's rules
  above; this reproduces the dataset's tokens;
* ``"lexicon"``: the offline, deterministic rule tagger of :mod:`easytune_core.data.tokens`
  (closed-class lexicon, the motion vocabulary, suffix rules; the same rules), which needs
  nothing installed; it can differ from spaCy on rare words, so scores of free-text prompts
  tagged with it are not exactly those of the published setting;
* ``"auto"`` (default): spaCy when a pipeline loads, else the lexicon.
"""

from __future__ import annotations

import os
import threading

__all__ = ["get_tagger", "SpacyTagger", "LexiconTagger", "caption_token_lists", "SPACY_MODELS"]

SPACY_MODELS = ("en_core_web_sm",)
"""Pipelines tried by ``"spacy"``/``"auto"`` (``EASYTUNE_SPACY_MODEL`` names another one first)."""

_LOCK = threading.Lock()
_CACHE: dict[str, object] = {}


_POSSESSIVES = {"his", "her", "their", "its", "my", "your", "our"}


def _spacy_conventions(tagged: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Where the lexicon's tags differ from en_core_web_sm's habits on motion captions, follow spaCy:
    possessive determiners are PRON, "first"/"around" ADV, "human" after a determiner ADJ,
    "to" before a verb PART, "before" + clause SCONJ, main-verb "do" VERB, "both of" PRON."""
    out = list(tagged)
    for i, (w, p) in enumerate(out):
        nxt = out[i + 1][1] if i + 1 < len(out) else None
        nxt_w = out[i + 1][0] if i + 1 < len(out) else None
        prev = out[i - 1][1] if i else None
        if w in _POSSESSIVES:
            p = "PRON"
        elif w in ("first", "around"):
            p = "ADV"
        elif w == "human" and prev == "DET":
            p = "ADJ"
        elif w == "to" and nxt == "VERB":
            p = "PART"
        elif w == "before" and nxt in ("PRON", "DET", "NOUN"):
            p = "SCONJ"
        elif w in ("do", "does", "did") and nxt not in ("VERB", "PART", "AUX"):
            w, p = "do", "VERB"
        elif w == "both":
            p = "PRON" if nxt_w == "of" else "DET"
        out[i] = (w, p)
    return out


class LexiconTagger:
    """Offline tagger: :func:`easytune_core.data.tokens.tag_caption` (deterministic, no download) with
    spaCy's conventions for a few closed-class words (:func:`_spacy_conventions`). On 3,000 built-in
    captions it gives en_core_web_sm 3.8's token (word and tag) on about 9 tokens in 10; see
    docs/bring_your_own.md for the measured agreement."""

    name = "lexicon"

    def __call__(self, caption: str) -> list[str]:
        from easytune_core.data.tokens import tag_caption
        return [f"{w}/{p}" for w, p in _spacy_conventions(tag_caption(str(caption)))]


class SpacyTagger:
    """HumanML3D's tokenisation with a spaCy pipeline (anything callable on a string that returns
    tokens with ``text``, ``pos_`` and ``lemma_``)."""

    def __init__(self, nlp, name: str = "spacy"):
        self.nlp = nlp
        self.name = name

    def __call__(self, caption: str) -> list[str]:
        out = []
        for tok in self.nlp(str(caption).replace("-", "")):
            word = tok.text
            if not word.isalpha():
                continue
            if tok.pos_ in ("NOUN", "VERB") and word != "left":
                word = tok.lemma_
            out.append(f"{word}/{tok.pos_}")
        return out


def _load_spacy():
    try:
        import spacy
    except ImportError:
        return None, "spaCy is not installed (pip install spacy, then an English pipeline such as en_core_web_sm)"
    names = [n for n in (os.environ.get("EASYTUNE_SPACY_MODEL"),) if n] + list(SPACY_MODELS)
    errors = []
    for n in names:
        try:
            return SpacyTagger(spacy.load(n), name=f"spacy:{n}"), None
        except (OSError, ImportError, ValueError) as err:
            errors.append(f"{n}: {str(err).splitlines()[0][:120]}")
    return None, "no spaCy English pipeline could be loaded (" + "; ".join(errors) + ")"


def get_tagger(name: str = "auto"):
    """A tagger by name: ``"auto"``, ``"spacy"``, ``"spacy:PIPELINE"`` or ``"lexicon"`` (shared per process).

    Raises:
        ValueError: unknown name, or ``"spacy"`` asked for but no pipeline loads (says how to install one).
    """
    name = str(name)
    if name == "lexicon":
        return LexiconTagger()
    if name not in ("auto", "spacy") and not name.startswith("spacy:"):
        raise ValueError(f"unknown POS tagger {name!r}: use auto, spacy, spacy:PIPELINE or lexicon")
    with _LOCK:
        if name not in _CACHE:
            if name.startswith("spacy:"):
                try:
                    import spacy
                    _CACHE[name] = SpacyTagger(spacy.load(name[6:]), name=name)
                except (ImportError, OSError, ValueError) as err:
                    raise ValueError(f"POS tagger {name!r} is not available: {str(err).splitlines()[0]}") from None
            else:
                tagger, why = _load_spacy()
                if tagger is None:
                    if name == "spacy":
                        raise ValueError(f"POS tagger 'spacy' is not available: {why}")
                    tagger = LexiconTagger()
                _CACHE[name] = tagger
        return _CACHE[name]


def caption_token_lists(captions, tokens=None, tagger="auto") -> tuple[list[list[str]], list[str]]:
    """Tokens per caption: the dataset's own where given, else the tagger's.

    Args:
        captions: list of caption strings.
        tokens: optional list (same length) of ``word/POS`` strings (space separated, as in
            HumanML3D's texts) or lists; an empty entry or None means "tag this caption".
        tagger: a tagger name (see :func:`get_tagger`) or a callable caption -> list of tokens.
    Returns:
        (token lists, source per caption: "dataset" or the tagger's name).
    """
    captions = [str(c) for c in captions]
    if tokens is not None and len(tokens) != len(captions):
        raise ValueError(f"got {len(tokens)} token strings for {len(captions)} captions")
    out, sources, tag = [], [], None
    for i, cap in enumerate(captions):
        t = None if tokens is None else tokens[i]
        if isinstance(t, str):
            t = t.split()
        if t:
            out.append(list(t))
            sources.append("dataset")
            continue
        if tag is None:
            tag = get_tagger(tagger) if isinstance(tagger, str) else tagger
        out.append(tag(cap))
        sources.append(getattr(tag, "name", "tagger"))
    return out, sources
