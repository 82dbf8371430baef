"""HumanML3D-style caption tokens (``word/POS`` pairs) without spaCy.

HumanML3D's ``texts/NAME.txt`` lines are ``caption#tokens#start#end`` where ``tokens`` is the
spaCy ``en_core_web_sm`` analysis of the caption: hyphens removed, non-alphabetic tokens
dropped, nouns and verbs lemmatised (except the word "left"), each token written as
``word/UPOS``. spaCy's model is a download we do not allow, so this module is a small
deterministic rule-based stand-in: a closed-class lexicon (determiners, pronouns,
prepositions, ...), a lexicon of the motion vocabulary, and suffix rules for the rest.
It agrees with spaCy on the common motion captions; rare words may get a different tag.

Mirroring swaps left and right in captions (and clockwise / counterclockwise), the way
HumanML3D's augmented texts read.
"""

from __future__ import annotations

import re

# Closed classes, tagged as spaCy's universal POS tags.
_CLOSED = {
    "DET": "a an the this that these those his her its their my your our some any each every "
           "another both either neither all no",
    "PRON": "he she it they him them i you we us me someone something somebody anything "
            "himself herself itself themselves one",
    "ADP": "in on at to from with without into onto over under above below behind of for by "
           "across around through along towards toward near like up down off out about "
           "after before between against upon",
    "CCONJ": "and or but nor",
    "SCONJ": "while as if because until than though although when whilst",
    "AUX": "is are was were be been being has have had do does did can could will would "
           "should may might must",
    "PART": "not",
    "NUM": "zero two three four five six seven eight nine ten eleven twelve twenty hundred",
    "ADV": "overhand underhand slowly quickly fast forward forwards backward backwards sideways again then "
           "twice once very quite slightly really briefly repeatedly back away together "
           "still around also high low far here there now continuously gently rapidly "
           "ahead clockwise counterclockwise anticlockwise leftward leftwards rightward rightwards",
    "ADJ": "left right slow quick other same small big large little high long short "
           "straight full half several few many both whole single first second third last "
           "final right-handed",
    "INTJ": "oh hey hello hi",
}
_TAGS: dict[str, str] = {}
for _tag, _words in _CLOSED.items():
    for _w in _words.split():
        _TAGS.setdefault(_w, _tag)

# Motion-vocabulary verbs (base forms) and nouns; inflections are handled by _lemma().
_VERBS = set(
    "walk run jog jump hop turn spin wave raise lift lower clap punch kick squat crouch sit "
    "stand bow march step move go come stop start begin stretch bend lean reach throw catch "
    "dance swing shake rotate twist pick put place push pull climb crawl skip stumble fall "
    "rise get make take hold look point kneel lie roll slide shuffle sway bounce circle "
    "perform do continue finish pause stay rest return repeat use try appear seem leap "
    "wipe stir drink eat open close touch grab carry drop extend cross tap swim fly "
    "balance lunge strike flap lift wiggle nod applaud spread duck wind stroll remain sprint "
    "say greet".split()
)
_NOUNS = set(
    "person man woman human figure body arm hand leg foot knee elbow head shoulder hip torso "
    "chest waist wrist finger toe step circle direction floor ground place side time way "
    "motion movement action position pose jump turn kick punch wave squat bow air front "
    "degree stance fist heel line path spot pace object ball face jack hello".split()
)
_IRREGULAR = {
    "feet": "foot", "teeth": "tooth", "men": "man", "women": "woman", "people": "person",
    "ran": "run", "running": "run", "sat": "sit", "sitting": "sit", "stood": "stand",
    "went": "go", "goes": "go", "got": "get", "took": "take", "made": "make", "threw": "throw",
    "caught": "catch", "held": "hold", "fell": "fall", "rose": "rise", "knelt": "kneel",
    "lay": "lie", "lying": "lie", "swung": "swing", "spun": "spin", "spinning": "spin",
    "hopping": "hop", "hopped": "hop", "stepping": "step", "stepped": "step", "clapping": "clap",
    "clapped": "clap", "jogging": "jog", "jogged": "jog", "skipping": "skip", "stopped": "stop",
    "stopping": "stop", "squatting": "squat", "putting": "put", "getting": "get",
    "swimming": "swim", "does": "do", "did": "do", "done": "do",
}


def _lemma(word: str) -> tuple[str, str | None]:
    """``(lemma, pos)`` for an open-class word: pos is ``VERB``/``NOUN`` or None when unknown."""
    if word in _IRREGULAR:
        base = _IRREGULAR[word]
        return base, ("NOUN" if base in _NOUNS and base not in _VERBS else "VERB")
    candidates = [word]
    for suffix, repl in (("ies", "y"), ("ied", "y"), ("ing", ""), ("ing", "e"), ("ed", ""),
                         ("ed", "e"), ("d", ""), ("es", ""), ("s", "")):
        if word.endswith(suffix) and len(word) > len(suffix) + 1:
            candidates.append(word[: -len(suffix)] + repl)
    for cand in candidates:
        if cand in _VERBS or cand in _NOUNS:
            pos = "VERB" if cand in _VERBS else "NOUN"
            # "-ing"/"-ed" forms of a word that is both are verbs; the bare and "-s" forms
            # are decided by context in tag_caption ("a jump" vs "he jumps").
            if cand in _VERBS and cand in _NOUNS:
                pos = "AMBIG" if word in (cand, cand + "s", cand + "es") else "VERB"
            return cand, pos
    return word, None


def _guess(word: str) -> str:
    if word.endswith("ly"):
        return "ADV"
    if word.endswith(("ing", "ed", "ize", "ise")):
        return "VERB"
    if word.endswith(("ous", "ful", "ive", "able", "al", "ic")):
        return "ADJ"
    return "NOUN"


def tag_caption(caption: str) -> list[tuple[str, str]]:
    """``[(word, POS), ...]`` for a caption, following HumanML3D's token rules.

    Hyphens are removed, non-alphabetic tokens dropped, words lower-cased, nouns and verbs
    lemmatised except "left". Deterministic; no model download.
    """
    words = re.findall(r"[A-Za-z]+|[^A-Za-z\s]+", caption.replace("-", ""))
    words = [w.lower() for w in words if w.isalpha()]
    out: list[tuple[str, str]] = []
    for i, w in enumerate(words):
        prev = out[-1][1] if out else None
        if w in _TAGS:
            tag = _TAGS[w]
            if w == "left" and prev in ("PRON", "NOUN"):
                tag = "VERB"  # "he left the room" (rare in motion captions)
            # "turns left/right" reads as an adverb in spaCy; "left hand" as an adjective.
            if w in ("left", "right") and tag == "ADJ":
                nxt = words[i + 1] if i + 1 < len(words) else ""
                nxt_lemma, nxt_pos = _lemma(nxt) if nxt else ("", None)
                if not nxt or nxt in _TAGS and _TAGS[nxt] not in ("ADJ",) or nxt_pos == "VERB":
                    tag = "ADV"
            if w == "one" and i + 1 < len(words) and _lemma(words[i + 1])[1] == "NOUN":
                tag = "NUM"
            out.append((w, tag))
            continue
        lemma, pos = _lemma(w)
        if pos is None:
            pos = _guess(w)
            lemma = w
        elif pos == "AMBIG":
            # After a determiner, adjective, number or preposition it is a noun ("a jump",
            # "three steps", "in place"); after a subject, conjunction or adverb a verb.
            pos = "NOUN" if prev in ("DET", "ADJ", "NUM", "ADP", None) else "VERB"
        out.append((lemma if pos in ("NOUN", "VERB") and w != "left" else w, pos))
    return out


def caption_tokens(caption: str) -> str:
    """The ``tokens`` field of a HumanML3D text line: ``word/POS`` pairs joined by spaces."""
    return " ".join(f"{w}/{p}" for w, p in tag_caption(caption))


def text_line(caption: str, start: float = 0.0, end: float = 0.0) -> str:
    """One HumanML3D ``texts`` line ``caption#tokens#start#end`` (caption kept as written,
    with ``#`` and newlines removed because they would break the format)."""
    clean = " ".join(caption.replace("#", " ").split())
    return f"{clean}#{caption_tokens(clean)}#{float(start)}#{float(end)}"


_SWAPS = {"left": "right", "right": "left", "leftward": "rightward", "rightward": "leftward",
          "leftwards": "rightwards", "rightwards": "leftwards", "clockwise": "counterclockwise",
          "counterclockwise": "clockwise", "anticlockwise": "clockwise", "counter-clockwise": "clockwise",
          "counter clockwise": "clockwise", "anti-clockwise": "clockwise", "anti clockwise": "clockwise"}
# longest first, so "counter-clockwise" is one word here, not "counter-" and a "clockwise" to swap
_SWAP_RE = re.compile(r"\b(" + "|".join(re.escape(w) for w in sorted(_SWAPS, key=len, reverse=True)) + r")\b",
                      re.IGNORECASE)


def mirror_caption(caption: str) -> str:
    """Swap left/right (and clockwise/counterclockwise) words, keeping capitalisation."""
    def repl(m: re.Match) -> str:
        word = m.group(0)
        new = _SWAPS[word.lower()]
        if word.isupper():
            return new.upper()
        if word[0].isupper():
            return new[0].upper() + new[1:]
        return new
    return _SWAP_RE.sub(repl, caption)


__all__ = ["tag_caption", "caption_tokens", "text_line", "mirror_caption"]
