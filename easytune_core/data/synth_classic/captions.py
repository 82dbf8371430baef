"""Captions that follow what was drawn: verb phrases per action, joined into sentences.

Only words that HumanML3D-style mirroring can swap ("left" <-> "right") carry handedness or
turning direction, so a mirrored copy's caption stays true.
"""

from __future__ import annotations

import re

_BODY_PART = re.compile(r"\bthe (left |right )?(hand|hands|arm|leg|foot|fist|knees)\b")

COUNT_WORDS = {1: "once", 2: "twice", 3: "three times", 4: "four times", 5: "five times", 6: "six times"}
SUBJECTS = ("a person", "a man", "someone", "the person", "a woman", "a figure", "the man", "a human")


def _pick(rng, options):
    return options[int(rng.integers(len(options)))]


def _times(rng, count, optional=True):
    """" three times" etc.; sometimes omitted for counts above one when ``optional``."""
    if count is None:
        return ""
    if count == 1:
        return _pick(rng, ["", " once"]) if optional else " once"
    return " " + COUNT_WORDS.get(count, f"{count} times")


def phrase(rng, a: dict) -> str:
    """One verb phrase (third person, present tense) describing action record ``a``."""
    t = a["type"]
    side = a.get("side")
    pace = a.get("pace", "normal")
    slow = {"slow": [" slowly", " at a slow pace"], "fast": [" quickly", " fast", " briskly"], "normal": [""]}[pace]
    if t == "stand":
        return _pick(rng, ["stands still", "stands in place", "stands still without moving", "remains standing",
                           "stays still"])
    if t == "walk":
        d = a["direction"]
        if d in ("left", "right"):
            return _pick(rng, [f"walks sideways to the {d}", f"steps sideways to the {d}", f"side-steps to the {d}",
                               f"walks to the {d} sideways", f"shuffles sideways to the {d}"]) + _pick(rng, slow)
        if d == "backward":
            return _pick(rng, ["walks backward", "walks backwards", "steps backward", "moves backward"]) + _pick(rng, slow)
        base = _pick(rng, ["walks forward", "walks straight ahead", "walks forward in a straight line", "moves forward"])
        if pace == "slow" and rng.random() < 0.3:
            return _pick(rng, ["slowly walks forward", "strolls forward slowly", "walks forward slowly"])
        if pace == "fast" and rng.random() < 0.3:
            return _pick(rng, ["walks forward quickly", "walks briskly forward", "quickly walks forward"])
        extra = _pick(rng, slow)
        if "layer" in a:
            return base + extra
        return base + extra
    if t == "jog":
        return _pick(rng, ["jogs forward", "jogs", "jogs straight ahead", "runs slowly forward"])
    if t == "run":
        return _pick(rng, ["runs forward", "runs", "runs straight ahead", "sprints forward"] if pace == "fast" else
                     ["runs forward", "runs", "runs straight ahead", "is running forward"])
    if t == "turn":
        ang = abs(a["degrees"])
        d = a["direction"]
        if a.get("walking"):
            if ang >= 170:
                return _pick(rng, [f"walks forward and turns around to the {d}", "walks and turns around",
                                   f"walks forward, turning around to the {d}"])
            return _pick(rng, [f"walks forward and turns {d}", f"walks and turns to the {d}",
                               f"walks forward then turns {d}", f"walks, turning {d}"])
        if ang >= 330:
            return _pick(rng, [f"spins around to the {d}", "spins around in place", "turns a full circle in place",
                               f"spins around once to the {d}", "does a full spin"])
        if ang >= 170:
            return _pick(rng, ["turns around", f"turns around to the {d}", "turns around in place",
                               f"turns 180 degrees to the {d}", "turns to face the other way"])
        return _pick(rng, [f"turns {d}", f"turns to the {d}", f"turns {d} in place", f"turns 90 degrees to the {d}",
                           f"rotates to the {d}"])
    if t == "circle":
        d = a["direction"]
        return _pick(rng, ["walks in a circle", f"walks in a circle to the {d}", f"walks around in a circle to the {d}",
                           "walks around in a full circle", f"circles around to the {d}"]) + _pick(rng, slow)
    if t == "jump":
        times = _times(rng, a["count"])
        if a["direction"] == "forward":
            return _pick(rng, ["jumps forward", "leaps forward", "jumps forward with both feet",
                               "does a forward jump"]) + times
        return _pick(rng, ["jumps in place", "jumps up and down", "jumps straight up", "jumps on the spot"]) + times
    if t == "hop":
        return _pick(rng, [f"hops on the {side} leg", f"hops on the {side} foot", "hops on one leg",
                           f"hops on one foot, the {side} one", "hops on one foot"]) + _times(rng, a["count"])
    if t == "squat":
        return _pick(rng, ["squats", "does squats", "squats down and stands up", "does a squat"]
                     if a["count"] == 1 else ["squats", "does squats", "squats down and up"]) + _times(rng, a["count"])
    if t == "crouch":
        return _pick(rng, ["crouches down", "crouches down and stands back up", "crouches low", "ducks down low",
                           "crouches and then gets back up"])
    if t == "sit":
        return _pick(rng, ["sits down on the floor", "sits on the ground", "lowers down to sit on the floor",
                           "sits down on the ground", "gets down and sits on the floor"])
    if t == "bow":
        return _pick(rng, ["bows", "bows forward", "takes a bow", "bends forward in a bow", "bows down"])
    if t == "march":
        return _pick(rng, ["marches in place", "marches on the spot", "marches in place lifting the knees high",
                           "steps in place with high knees"])
    if t == "wave":
        hands = "both hands" if side == "both" else f"the {side} hand"
        arm = "both arms" if side == "both" else f"the {side} arm"
        return _pick(rng, [f"waves with {hands}", f"waves {arm}", f"raises {arm} and waves",
                           f"waves hello with {hands}"]) + _times(rng, a.get("count"))
    if t == "raise":
        if side == "both":
            return _pick(rng, ["raises both arms", "raises both arms above the head", "lifts both arms up",
                               "puts both hands up in the air"])
        return _pick(rng, [f"raises the {side} arm", f"raises the {side} hand", f"lifts the {side} arm up",
                           f"raises the {side} arm above the head", "raises one arm"])
    if t == "clap":
        return _pick(rng, ["claps", "claps the hands", "claps hands", "applauds"]) + _times(rng, a["count"])
    if t == "punch":
        return _pick(rng, [f"punches with the {side} hand", f"throws a punch with the {side} fist",
                           f"punches forward with the {side} arm", f"punches with the {side} fist"]) + _times(rng, a["count"])
    if t == "kick":
        return _pick(rng, [f"kicks with the {side} leg", f"kicks forward with the {side} foot",
                           f"does a front kick with the {side} leg", f"kicks with the {side} foot"])
    if t == "jumping_jacks":
        return _pick(rng, ["does jumping jacks", "does some jumping jacks", "performs jumping jacks",
                           "jumps spreading the arms and legs"]) + _times(rng, a["count"])
    if t == "throw":
        return _pick(rng, [f"throws a ball with the {side} hand", f"throws something with the {side} arm",
                           f"makes an overhand throw with the {side} arm", f"winds up and throws with the {side} hand",
                           f"throws an object with the {side} hand"])
    if t == "pick_up":
        return _pick(rng, ["picks something up from the floor", "bends down to pick something up",
                           f"picks up an object from the ground with the {side} hand",
                           f"reaches down with the {side} hand and picks something up",
                           "bends over and picks up something"])
    raise ValueError(f"no caption template for action type {t!r}")


def with_layer(rng, a: dict, base: str) -> str:
    """Append a gesture done while moving ("... while waving the right hand")."""
    g = a.get("layer")
    if not g:
        return base
    side = g["side"]
    if g["type"] == "wave":
        hands = "both hands" if side == "both" else f"the {side} hand"
        return base + _pick(rng, [f" while waving {hands}", f" and waves with {hands}", f" waving {hands}"])
    if g["type"] == "raise":
        arm = "both arms" if side == "both" else f"the {side} arm"
        return base + _pick(rng, [f" with {arm} raised", f" while raising {arm}", f" and raises {arm}"])
    return base


def sentence(rng, actions: list[dict]) -> str:
    """One caption for the whole sequence."""
    parts = [with_layer(rng, a, phrase(rng, a)) for a in actions]
    subj = _pick(rng, SUBJECTS)
    if len(parts) == 1:
        body = parts[0]
    elif len(parts) == 2:
        body = _pick(rng, [f"{parts[0]}, then {parts[1]}", f"{parts[0]} and then {parts[1]}",
                           f"{parts[0]} before he {parts[1]}" if subj in ("a man", "the man") else f"{parts[0]}, and then {parts[1]}",
                           f"first {parts[0]} and then {parts[1]}"])
    else:
        body = _pick(rng, [f"{parts[0]}, then {parts[1]} and then {parts[2]}",
                           f"{parts[0]}, {parts[1]}, and finally {parts[2]}",
                           f"first {parts[0]}, then {parts[1]}, then {parts[2]}"])
    poss = {"a man": "his", "the man": "his", "a woman": "her"}.get(subj) or _pick(rng, ["his", "their", "the"])
    body = _BODY_PART.sub(lambda m: f"{poss} {m.group(1) or ''}{m.group(2)}", body)
    if body.startswith("first "):
        return f"{subj} first {body[6:]}."
    return f"{subj} {body}."


def captions_for(rng, actions: list[dict], n: int = 3) -> list[str]:
    """``n`` distinct paraphrases (fewer only if the templates run out)."""
    out = []
    for _ in range(n * 6):
        c = sentence(rng, actions)
        if c not in out:
            out.append(c)
        if len(out) == n:
            break
    return out
