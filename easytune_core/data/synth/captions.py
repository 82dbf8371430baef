"""Captions that follow what was drawn: verb phrases per action (:mod:`lexicon`,
:mod:`lexicon_body`) conjugated and joined into sentences people would write.

A sentence picks a subject ("a man", "someone", "an elderly woman"), a frame ("... walks",
"... is walking", "we see ... walking"), one phrase per action, and connectives for
sequences ("then", "after that", "before turning") and for simultaneous layers ("while
waving"). Registers vary: most captions are lower case with a full stop, some start with a
capital, some drop the article or the final period.

Only "left" and "right" carry handedness or turning direction, so HumanML3D-style mirroring
(which swaps those two words) keeps every caption true.
"""

from __future__ import annotations

import re

from . import lexicon_body  # noqa: F401  (registers the body phrases)
from .contexts import CONTEXT
from .lexicon import L
from .words import (DANCERS, DEGREES, FINALLY, FRAMES, METERS, NUM, PACE, POSS, SECONDS, SPORTY, STYLE, SUBJECTS,
                    THEN, TIMES, WHILE)

IRREGULAR = {"be": ("is", "being"), "do": ("does", "doing"), "go": ("goes", "going"), "have": ("has", "having"),
             "lie": ("lies", "lying"), "tie": ("ties", "tying"), "see": ("sees", "seeing"), "tee": ("tees", "teeing"),
             "tiptoe": ("tiptoes", "tiptoeing"), "about-face": ("about-faces", "about-facing")}
DOUBLE = set("run sit hop skip jog step stop drop clap grab plop jab shrug tap rub get put trot sip nod pat swim spin "
             "dip flip slip trip begin bob wrap chop hug zip snap scrub tug sidestep squat zigzag scan plan hit let cut set "
             "bet shop".split())
SPORTY_TYPES = {"push_up", "sit_up", "plank", "lunge", "jumping_jacks", "star_jump", "squat_jump", "tuck_jump",
                "high_knees", "calf_raise", "jump_rope", "boxing", "tennis_swing", "golf_swing", "baseball_swing",
                "basketball_shot", "kick_ball", "bowling", "dribble", "arm_circles", "side_kick", "leg_swing"}
DANCE_TYPES = {"step_touch", "twist_dance", "disco", "hip_circles"}
HEIGHT = {"high": (" high", " really high", " as high as possible", " up high"),
          "low": (" a little", " low", " just slightly off the ground", " a tiny bit")}
_VERB = re.compile(r"<([a-z-]+)>")


def _pick(rng, options):
    return options[int(rng.integers(len(options)))]


def conjugate(verb: str, form: str) -> str:
    """``verb`` in third person singular (``form="s"``) or as the -ing form (``form="ing"``)."""
    if verb in IRREGULAR:
        return IRREGULAR[verb][0 if form == "s" else 1]
    if "-" in verb:
        head, last = verb.rsplit("-", 1)
        return f"{head}-{conjugate(last, form)}"
    if form == "s":
        if re.search(r"(s|sh|ch|x|z|o)$", verb):
            return verb + "es"
        if re.search(r"[^aeiou]y$", verb):
            return verb[:-1] + "ies"
        return verb + "s"
    if verb.endswith("ie"):
        return verb[:-2] + "ying"
    if verb in DOUBLE:
        return verb + verb[-1] + "ing"
    if verb.endswith("e") and not verb.endswith(("ee", "ye", "oe")) and len(verb) > 2:
        return verb[:-1] + "ing"
    return verb + "ing"


def verb_forms(template: str) -> tuple[str, str]:
    """A phrase template with ``<verb>`` marks -> (third-person phrase, -ing phrase)."""
    return (_VERB.sub(lambda m: conjugate(m.group(1), "s"), template),
            _VERB.sub(lambda m: conjugate(m.group(1), "ing"), template))


def fill(rng, text: str, a: dict, poss: str) -> str:
    """Fill the slots of a phrase template from action record ``a``."""
    count, secs, dist = a.get("count"), a.get("seconds"), a.get("distance")
    side = a.get("side") or a.get("direction") or ""
    slots = {
        "side": side, "poss": poss,
        "n": (NUM.get(count, str(count)) if rng.random() < 0.75 else str(count)) if count else "",
        "times": _pick(rng, TIMES[count]) if count in TIMES else "",
        "pace": _pick(rng, PACE[a.get("pace", "normal")]),
        "style": _pick(rng, STYLE[a["style"]]) if a.get("style") else "",
        "height": _pick(rng, HEIGHT[a["height"]]) if a.get("height") in HEIGHT else "",
        "secs": _pick(rng, SECONDS[secs]) if secs in SECONDS else "",
        "dist": _pick(rng, METERS[dist]) if dist in METERS else "",
        "deg": _pick(rng, DEGREES[a["degrees"]]) if a.get("degrees") in DEGREES else "",
        "degn": str(a.get("degrees", "")),
        "hand": _pick(rng, (f" {side}-handed", f" as a {side}-handed player", f", {side}-handed", f" from the {side} side")),
    }
    out = re.sub(r"\{(\w+)\}", lambda m: slots[m.group(1)], text)
    out = out.replace("{poss}", poss)
    return re.sub(r"\s+([,.])", r"\1", re.sub(r"\s{2,}", " ", out)).strip()


def clause(rng, a: dict, poss: str) -> tuple[str, str]:
    """(third-person, -ing) phrases for one action, with its upper-body layer if any."""
    if a["type"] not in L:
        raise ValueError(f"no caption phrases for action type {a['type']!r}")
    v, g = verb_forms(fill(rng, _pick(rng, L[a["type"]](a)), a, poss))
    if a["type"] in CONTEXT and rng.random() < 0.35:  # why or where: "as if greeting a friend"
        extra = " " + _pick(rng, CONTEXT[a["type"]])
        v, g = v + extra, g + extra
    layer = a.get("layer")
    if layer:
        lv, lg = verb_forms(fill(rng, _pick(rng, L[layer["type"]](layer)), layer, poss))
        join = _pick(rng, WHILE)
        v = v + join.format(v=lv, g=lg, p="{p}")
        g = g + (" while " + lg if "{v}" in join else join.format(v=lv, g=lg, p="{p}"))
    return v, g


def _subject(rng, actions):
    gender = _pick(rng, ("m", "m", "f", "f", "n", "n", "n"))
    pool = list(SUBJECTS[gender])
    types = {a["type"] for a in actions}
    if types & SPORTY_TYPES:
        pool += list(SPORTY[gender]) * 2
    if types & DANCE_TYPES:
        pool += list(DANCERS) * 2
    subj = _pick(rng, pool)
    if subj in ("he", "she"):
        gender = "m" if subj == "he" else "f"
    if gender == "n":
        pron = _pick(rng, ("he", "she", "the person"))
        poss = {"he": "his", "she": "her"}.get(pron) or _pick(rng, POSS["n"])
    else:
        pron, poss = ("he", "his") if gender == "m" else ("she", "her")
    return subj, pron, poss


def sentence(rng, actions: list[dict]) -> str:
    """One caption for the whole sequence."""
    subj, pron, poss = _subject(rng, actions)
    parts = [clause(rng, a, poss) for a in actions]
    frame = _pick(rng, FRAMES)
    if "{g}" in frame and any(p[0].startswith(("is ", "does ")) for p in parts[:1]):
        frame = "{s} {v}"
    if rng.random() < 0.08 and subj.startswith(("a ", "the ")):
        subj = subj.split(" ", 1)[1]  # "person walks forward"
    body = frame.format(s=subj, v=parts[0][0], g=parts[0][1])
    for i, (v, g) in enumerate(parts[1:], 1):
        joint = _pick(rng, FINALLY if (i == len(parts) - 1 and i >= 2) else THEN)
        body += joint.format(v=v, g=g, p=pron)
    body = body.replace("{p}", pron)
    body = re.sub(r"\s{2,}", " ", body).strip()
    if rng.random() < 0.35:
        body = re.sub(r"(^|[.!?]\s+)([a-z])", lambda m: m.group(1) + m.group(2).upper(), body)
    return body + ("." if rng.random() < 0.85 else "")


def captions_for(rng, actions: list[dict], n: int = 3) -> list[str]:
    """``n`` distinct paraphrases (fewer only if the phrases run out)."""
    out = []
    for _ in range(n * 6):
        c = sentence(rng, actions)
        if c not in out:
            out.append(c)
        if len(out) == n:
            break
    return out


__all__ = ["captions_for", "sentence", "clause", "conjugate", "verb_forms", "fill"]
