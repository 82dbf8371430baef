"""Sentences that describe actions in order ("A, then B, and finally C"), cut into their clauses.

One splitter serves two uses: the ordered rule checks (:mod:`easytune_core.eval.rules.sequence`)
judge each clause on its own segment of a motion, and :func:`sequence_timeline` turns such a
prompt into a timeline of one segment per clause for :meth:`MotionPipeline.compose`, so each
action gets its own stretch of the motion instead of one sentence embedding for all of them.

Only explicit sequence words cut ("then", "after that", "afterwards", "next", "before", "followed
by", "finally", "lastly", ";", a new sentence); "and" alone and "while" do not, so simultaneous
actions ("walks while waving") stay one clause.
"""

from __future__ import annotations

import re

__all__ = ["SPLIT", "normalize", "clauses_of", "standalone_clauses", "sequence_timeline"]

# Words that start the next clause of a sequence. "before" keeps the order ("A before B" = A,
# then B); "next" is not "next to".
SPLIT = re.compile(
    r"(?:\s*[,;.]\s*|\s+)(?:and\s+)?(?:then\s+finally|then|after that|afterwards?|next(?!\s+to\b)|before|followed by|"
    r"finally|lastly|once done|subsequently|to finish|at the end|later)\b[,]?\s*"
    r"|\s*;\s*|\.\s+(?=\S)")

# First words of a clause that already has its own subject ("he waves", "the man sits down").
_SUBJECT_WORDS = {"he", "she", "they", "it", "someone", "somebody", "a", "an", "the", "this", "that", "one",
                  "we", "i", "you", "person", "everyone", "people", "his", "her", "their"}


def normalize(caption: str) -> str:
    """Lower case, single spaces, no final full stop: the form every caption rule reads."""
    return " ".join(caption.lower().strip().rstrip(".").split())


def clauses_of(caption: str) -> list[str]:
    """The clauses of a caption in the order they happen (one clause when it is no sequence)."""
    parts = [p.strip(" ,;.") for p in SPLIT.split(normalize(caption))]
    return [p for p in parts if p]


def standalone_clauses(prompt: str, subject: str = "a person") -> list[str]:
    """The clauses of ``prompt``, each a prompt of its own.

    The first clause is kept as written. A later clause that starts without a subject gets
    ``subject``: "then sits down" -> "a person sits down", "before turning around" -> "a person
    is turning around"; "after that he waves" stays "he waves".
    """
    clauses = clauses_of(prompt)
    out = clauses[:1]
    for clause in clauses[1:]:
        first = clause.split(" ", 1)[0]
        if first in _SUBJECT_WORDS:
            out.append(clause)
        elif first.endswith("ing") and len(first) > 4:
            out.append(f"{subject} is {clause}")
        else:
            out.append(f"{subject} {clause}")
    return out


def sequence_timeline(prompt: str, seconds: float, min_seconds: float = 1.0,
                      subject: str = "a person") -> list[tuple[str, float]]:
    """A timeline of (prompt, seconds) segments, one per clause of ``prompt``, sharing ``seconds``
    equally; a prompt with one clause is one segment.

    Raises ValueError for an empty prompt, a length that is not positive, or a length that leaves
    a clause less than ``min_seconds`` (the timeline's shortest segment).
    """
    if not isinstance(prompt, str) or not prompt.strip():
        raise ValueError("the prompt is empty: describe the actions in order, e.g. "
                         "'a person walks forward, then sits down'")
    try:
        seconds = float(seconds)
    except (TypeError, ValueError):
        raise ValueError(f"seconds must be a number, got {seconds!r}") from None
    if not seconds > 0 or seconds != seconds or seconds == float("inf"):
        raise ValueError(f"seconds must be a positive number, got {seconds!r}")
    clauses = standalone_clauses(prompt, subject)
    if not clauses:
        raise ValueError(f"the prompt {prompt!r} has no words to generate from")
    if len(clauses) == 1:
        return [(prompt.strip(), seconds)]
    each = seconds / len(clauses)
    if each < min_seconds:
        raise ValueError(f"{len(clauses)} actions in {seconds:g} s leave {each:.2f} s each; give at least "
                         f"{min_seconds * len(clauses):g} s (each action needs {min_seconds:g} s)")
    return [(c, each) for c in clauses]
