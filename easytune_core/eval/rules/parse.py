"""Caption -> rule checks: which physical checks a (single-clause) caption asks for.

The parser reads words, not templates: it looks for the action words of the vocabulary
("push-ups", "lies down on his back", "turns left 135 degrees", "while waving the right hand")
and the attributes next to them (side, count, angle, seconds, pace, style). Captions that
describe a sequence ("then", "after that", "before ...") are skipped: whole-clip rules cannot
tell which part of the clip a phrase refers to. Simultaneous actions ("walks while clapping")
are checked together.
"""

from __future__ import annotations

import re

from ...text.sequence import normalize

SEQUENCE = re.compile(r"\b(then|after that|afterwards?|before|followed by|finally|lastly|next|once done|subsequently|"
                      r"to finish|at the end|later)\b|\.\s+\S")
NUMBER = {"one": 1, "a single": 1, "single": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
          "eight": 8, "nine": 9, "ten": 10}
_NUM = r"(\d+|one|two|three|four|five|six|seven|eight|nine|ten)"
SIDEWORD = r"(left|right)"


def _num(w: str) -> int:
    return int(w) if w.isdigit() else NUMBER[w]


def count_of(c: str, nouns: str | None = None) -> int | None:
    """A stated count: "once", "twice", "three times", "3 times", "thrice", or "<n> <noun>"."""
    if re.search(r"\b(once|one time|a single time)\b", c):
        return 1
    if re.search(r"\btwice\b", c):
        return 2
    if re.search(r"\bthrice\b", c):
        return 3
    m = re.search(rf"\b{_NUM} times\b", c)
    if m:
        return _num(m.group(1))
    if nouns:
        m = re.search(rf"\b{_NUM} (?:\w+ )?(?:{nouns})\b", c)
        if m:
            return _num(m.group(1))
        if re.search(rf"\b(a|one|a single) (?:{nouns})\b", c) and not re.search(r"\b(set|series) of\b", c):
            return 1
    return None


def seconds_of(c: str) -> int | None:
    m = re.search(rf"\bfor (?:about |around |roughly )?{_NUM} seconds?\b", c)
    if m:
        return _num(m.group(1))
    if re.search(r"\bfor a couple of seconds\b", c):
        return 2
    if re.search(r"\bfor (a|one) second\b", c):
        return 1
    return None


DEGREE_WORDS = [
    (r"forty-five degrees|an eighth of a turn|\b45\b", 45),
    (r"a hundred and thirty-five degrees|three eighths of a turn|\b135\b", 135),
    (r"two hundred and seventy degrees|three quarters of a turn|three-quarter turn|\b270\b", 270),
    (r"a hundred and eighty degrees|half turn|halfway around|\b180\b|u-turn", 180),
    (r"ninety degrees|quarter turn|quarter of a full turn|\b90\b", 90),
    (r"\b360\b|full circle|full turn|all the way around|complete turn|full spin|spins? around|twirls? around", 360),
]


def degrees_of(c: str) -> int | None:
    for pat, deg in DEGREE_WORDS:
        if re.search(pat, c):
            return deg
    return None


def side_near(c: str, nouns: str) -> str | None:
    """The side named next to one of ``nouns``: "the left hand", "his right leg", "one foot, the left one"."""
    m = re.search(rf"\b{SIDEWORD}[- ](?:{nouns})\b", c)
    if m:
        return m.group(1)
    m = re.search(rf"\b(?:{nouns})\b[^.]*?\bthe {SIDEWORD} one\b", c)
    if m:
        return m.group(1)
    return None


def side_any(c: str) -> str | None:
    """The only side word of the caption (None if none or both appear)."""
    found = set(re.findall(rf"\b{SIDEWORD}\b", c))
    return found.pop() if len(found) == 1 else None


def first_side(c: str) -> str | None:
    """The side something starts toward: "left first", "starting to the right", "first to the left"."""
    for pat in (rf"\b{SIDEWORD} first\b", rf"\bfirst (?:to |toward |curving |looping |veering |going |heading )?(?:the )?{SIDEWORD}",
                rf"\b(?:starting|beginning|heading|going|veering|curving|looping|turning) (?:to |toward |on )?(?:the )?{SIDEWORD}"
                rf"(?: side)? first\b", rf"\b(?:starting|beginning) (?:to |toward |on )?(?:the )?{SIDEWORD}\b",
                rf"\b(?:look\w*|turn\w*|twist\w*|bend\w*) (?:to |toward )?(?:the )?{SIDEWORD} and (?:then )?(?:the other|back|away)"):
        m = re.search(pat, c)
        if m:
            return m.group(1)
    return None


STYLES = [
    ("zombie", r"zombie|the undead|lurching|monster from a horror"),
    ("drunk", r"drunk|unsteadily|stagger|intoxicated|tipsily|too much to drink|wobbly zigzag|weaving unsteadily"),
    ("sad", r"\bsad|gloomily|dejectedly|sorrowfully|mournfully|miserably|head hanging low|slumped shoulders|"
            r"looking down at the floor"),
    ("tired", r"tired|wearily|sluggishly|exhausted|dragging the feet|drooping shoulders|worn out|lethargically|sleepy"),
    ("angry", r"angr|furious|aggressively|in a rage|irritably|clenched fists|annoyed|heavy stomping steps"),
    ("proud", r"proud|confidently|chest puffed out|chin up|triumphantly|majestically|confident posture|haughtily"),
    ("happy", r"happ|cheerful|joyfully|merrily|bounce in the step|gleefully|spring in the step|bouncily"),
]
SLOW = r"\b(slowly|slow pace|leisurely|unhurriedly|relaxed pace|gently|lazily|without hurrying|gentle pace|slow manner|" \
       r"stroll\w*|ambl\w*|saunter\w*|meander\w*)\b"
FAST = r"\b(quickly|fast|briskly|rapidly|hurriedly|fast pace|speedily|in a hurry|quick pace|swiftly|energetically|" \
       r"hurr(y|ies|ying)|rush\w*|strid\w*)\b"
WALKING = r"\b(walk\w*|strol\w*|ambl\w*|saunter\w*|meander\w*|step\w*|mov\w*|go(es|ing)? forward|head\w*|proceed\w*|" \
          r"advanc\w*|hurr\w*|rush\w*|strid\w*|backs up|backing up|retreat\w*|revers\w*|scoot\w*|shuffl\w*|sidestep\w*|" \
          r"side-step\w*)\b"
# Arm actions that can happen while walking ("walks forward while waving"); anything else found
# first means the caption is not about walking.
ON_THE_MOVE = {"wave", "raise", "clap", "clap_overhead", "point", "hand_to_head", "arm_circles", "cross_arms",
               "hands_on_hips", "punch"}


def checks_for(caption: str) -> list[tuple[str, str]]:
    """The ``(category, argument)`` checks a caption asks for; empty if nothing is checkable."""
    c = normalize(caption)
    if SEQUENCE.search(c):
        return []
    out: list[tuple[str, str]] = []
    add = lambda cat, arg="": out.append((cat, str(arg))) if (cat, str(arg)) not in out else None  # noqa: E731
    style = next((name for name, pat in STYLES if re.search(pat, c)), None)
    for _, pat in STYLES:  # manner words are not action words ("heavy stomping steps", "clenched fists")
        c = re.sub(pat + r"\w*", " ", c)
    _floor(c, add)
    if out:
        return out
    _legs(c, add)
    _jumps(c, add)
    _arms(c, add)
    _sports(c, add)
    if all(cat in ON_THE_MOVE for cat, _ in out):
        _locomotion(c, add, style)
    return out


def _floor(c, add):
    if re.search(r"\b(gets?|getting) (back )?up\b|\bstands? up\b|\bstanding up\b|\brises? to\b|pushes up to standing|"
                 r"back on (his|her|their) feet|picks? up off the floor|gets? up again", c) and \
            not re.search(r"squat|crouch|tiptoe|toes|duck", c):
        add("get_up")
        return
    if re.search(r"\brolls?\b|\brolling\b|\bturn(s|ing)? over\b", c) and not re.search(r"ball|bowl|lane", c):
        s = side_any(c)
        if s:
            add("roll", s)
        return
    if re.search(r"push-?ups?(?! position)|press-?ups?|pushes up from the floor", c):
        add("push_up", count_of(c, "push-ups?|press-ups?|pushups?") or "")
        return
    if re.search(r"sit-?ups?|crunch(es)?|(sits?|sitting) up once", c):
        add("sit_up", count_of(c, "sit-ups?|crunch(?:es)?") or "")
        return
    if re.search(r"\bplank\b|push-up position", c):
        add("plank", seconds_of(c) or "")
        return
    if re.search(r"\bcrawl", c):
        add("crawl", "backward" if re.search(r"backward|in reverse|back up", c) else "forward")
        return
    if re.search(r"all fours|hands and knees", c):
        add("all_fours")
        return
    lying = re.search(r"\b(lie|lies|lying|lay|lays|laying|reclines?|stretch(?:es)? out)\b", c)
    on_back = lying and re.search(r"\b(?:on|onto) (?:(?:his|her|their|the|its) )?back\b|face up|supine", c)
    on_front = lying and re.search(r"stomach|belly|front|face down|prone", c) or re.search(r"onto (his|her|their) belly", c)
    if on_back and on_front:  # both named: which one the rule should hold is unclear
        return
    if on_back:
        add("lie", "back")
        return
    if on_front:
        add("lie", "front")
        return
    if lying and re.search(r"\bback\b", c):  # "lies back", "lies down flat, back to the floor"
        add("lie", "back")
        return
    if re.search(r"\bkneel|\bknees?\b.*\b(floor|ground)\b|takes? a knee|one knee|both knees|on (his|her|their) knees"
                 r"|\bdrop(s|ping|ped)? (down )?(on)?to (the|his|her|their) (left |right )?knees?\b", c):
        s = side_near(c, "knee")
        if not s and re.search(r"\bone knee|takes? a knee|\ba knee\b", c):
            s = "any"  # one knee, side not named: either
        add("kneel", s or "both")
        return
    if re.search(r"squat", c) and not re.search(r"jump|explod", c):
        add("squat", count_of(c, "squats?|knee bends?") or "")
        return
    if re.search(r"crouch|ducks? down|hunker", c):
        add("crouch")
        return
    if re.search(r"\bsits?\b|\bsitting\b|\bseat\b|\bplops?\b|\bsettles?\b|\blowers? into\b", c) and \
            not re.search(r"\bstand|gets? up|rises", c):
        add("sit")
        if re.search(r"cross-legged|crossed legs|legs crossed|tailor", c):
            add("cross_legged")
        elif re.search(r"\b(floor|ground)\b", c):
            add("sit_floor")
        elif re.search(r"\b(chair|stool|bench|seat)\b", c):
            add("chair")


def _legs(c, add):
    s_leg = side_near(c, "foot|leg|knee|heel|ones") or None
    if re.search(r"\b(stands?|standing|balances?|balancing) on (his|her|their|the|one) (left |right )?(foot|leg)\b|"
                 r"one-legged|on one leg", c):
        stood = re.search(rf"\b(?:stands?|standing|balances?|balancing) on (?:his|her|their|the) {SIDEWORD} (?:foot|leg)\b", c)
        s = stood.group(1) if stood else side_near(c, "foot|leg") or side_any(c)  # the foot stood on
        if s:
            add("one_foot", f"{s} {seconds_of(c) or ''}".strip())
        return
    if re.search(r"\blunge", c):
        s = side_near(c, "foot|leg") or side_any(c)
        if s:
            n = count_of(c, "lunges?|forward lunges?")
            add("lunge", f"{s} {n or ''}".strip())
        return
    if re.search(r"\b(stomps?|stamps?|stomping|stamping)\b", c) and not re.search(r"in place|on the spot|soldier", c):
        s = side_near(c, "foot|knee|leg") or side_any(c)
        if s:
            add("stomp", f"{s} {count_of(c) or ''}".strip())
        return
    if re.search(r"steps? (high )?over|over (an|a) (obstacle|hurdle|log|object|imaginary)|climbs? over|to step over", c):
        s = s_leg or side_any(c)
        if s:
            add("step_over", s)
        return
    if re.search(r"leg swings?|swings? (the|his|her|their) (left|right) leg|(left|right) leg forward and backward", c):
        s = s_leg or side_any(c)
        if s:
            add("leg_swing", f"{s} {count_of(c, 'leg swings?') or ''}".strip())
        return
    if re.search(r"side kick|kicks? (out )?(sideways|to the side)|leg out to the side|foot out to the side", c):
        s = s_leg or side_any(c)
        if s:
            add("side_kick", s)
        return
    if re.search(r"\bkick", c) and not re.search(r"ball|goal|soccer|football", c):
        s = s_leg or side_any(c)
        if s:
            add("kick", s)
        return
    if re.search(r"calf raises?|\bon tiptoes once\b|up on tiptoes|onto the toes|heels off the ground|up on the toes", c) and \
            not re.search(WALKING + r"|forward|ahead", c):
        add("calf_raise", count_of(c, "calf raises?") or "")
        return
    if re.search(r"tiptoe|on the toes|balls of the feet", c):
        add("tiptoe")
        standing = re.search(r"\b(stands?|standing|stays?|staying|remains?|balances?|balancing)\b[^.]*\b(tiptoes?|toes)\b", c)
        if not standing or re.search(WALKING + r"|forward|ahead", c):  # standing on tiptoe goes nowhere
            add("walk", "forward")
        return
    if re.search(r"high knees|knees up high|knees to the waist", c):
        add("high_knees")
        add("in_place")
        return
    if re.search(r"\b(jog|jogs|jogging|run|runs|running|march|marches|marching|steps?) (in place|on the spot)|"
                 r"without moving forward|without going anywhere", c):
        add("in_place")
        return
    if re.search(r"\bskip(s|ping)?\b", c) and not re.search(r"rope", c):
        add("skip")
        return
    if re.search(r"\bgallop", c):
        s = s_leg or side_any(c)
        if s:
            add("gallop", s)
        return
    if re.search(r"side[- ]shuffl|shuffl\w+ (quickly )?(sideways )?to the|defensive stance|basketball defender|"
                 r"shuffling steps", c):
        s = side_any(c)
        if s:
            add("shuffle", s)
        return
    if re.search(r"grapevine|crossing (the|one) (feet|foot)|crossing steps", c):
        s = side_any(c)
        if s:
            add("grapevine", s)
        return
    if re.search(r"\blimp|hobbl|favou?ring the|injured|sore", c):
        s = s_leg or side_any(c)
        if s:
            add("limp", s)
        add("walk", "forward")


def _jumps(c, add):
    if re.search(r"(jump\w*|skip\w*) (over (an|a) (imaginary )?)?rope|imaginary rope", c):
        add("jump_rope")
        return
    if re.search(r"jumping jacks?|star-shaped jacks|\bjacks\b|spreading the arms and legs\b(?! wide)", c):
        add("jump", "jacks")
        return
    if re.search(r"star jumps?|star shape|like a star|arms and legs wide", c):
        add("jump")
        add("star_jump")
        return
    if re.search(r"squat jumps?|jump squats?|jumps? up from a (deep )?squat|squats? down and jumps?|explodes? upward", c):
        add("squat_jump")
        n = count_of(c, "squat jumps?|jump squats?")
        if n:
            add("jumps", n)
        return
    if re.search(r"\btuck", c):
        add("tuck_jump")
        return
    jumping = re.search(r"\b(jump|jumps|jumping|leap|leaps|leaping|bounds?|bouncing)\b", c) and \
        not re.search(r"jump shot|bounc\w* a (ball|basketball)", c)
    if jumping and re.search(r"\b(turn|turns|turning|spin|spins|spinning|rotat\w+)\b|\baround\b", c):
        s, deg = side_any(c), degrees_of(c)
        if s and deg:
            add("jump_turn", f"{s} {deg}")
        return
    if jumping and re.search(r"on (the|his|her|their) (left|right) (leg|foot)", c):
        add("jump", "hop")
        add("hop", side_near(c, "leg|foot"))
        return
    if jumping:
        high = re.search(r"\bhigh\b|as high as possible", c)
        low = re.search(r"a little|\blow\b|slightly off|tiny bit", c)
        add("jump", "low" if low else "")
        if high:
            add("jump_height", "high")
        if low:
            add("jump_height", "low")
        for word, d in (("forward|ahead", "forward"), ("backward|backwards|\\bback\\b", "backward"), ("in place|on the spot|straight up|up and down", "in_place")):
            if re.search(word, c):
                add("jump_dir", d)
                break
        else:
            s = side_any(c)
            if s and re.search(r"sideways|to the (left|right)|to (his|her|their) (left|right)", c):
                add("jump_dir", s)
        n = count_of(c)
        if n:
            add("jumps", n)
        return
    if re.search(r"\b(hop|hops|hopping)\b", c):
        add("jump", "hop")
        s = side_near(c, "leg|foot") or (side_any(c) if re.search(r"one (foot|leg)", c) else None)
        if s:
            add("hop", s)


def _arms(c, add):
    hand = side_near(c, "hand|arm|fist|ear|palm") or None
    if re.search(r"\bsalut", c):
        s = hand or side_any(c)
        if s:
            add("hand_to_head", f"{s} salute")
    if re.search(r"\b(drink\w*|sip\w*|cup|glass|mug|bottle)\b", c):
        s = hand or side_any(c)
        if s:
            add("hand_to_head", f"{s} drink")
    if re.search(r"\bphone\b|\bcall\b|to (his|her|their|the) (left|right) ear", c):
        s = hand or side_near(c, "ear") or side_any(c)
        if s:
            add("hand_to_head", f"{s} phone")
    if re.search(r"\bscratch", c):
        s = hand or side_any(c)
        if s:
            add("hand_to_head", f"{s} scratch")
    if re.search(r"\bwav(e|es|ing)\b", c) and not re.search(r"someone over", c):
        m = re.search(r"\b(left|right)\s+(hand|arm)\b", c)
        if m:
            add("wave", m.group(1))
    elif re.search(r"\b(raises?|raising|lifts?|lifting|holds? up|holding up)( \w+){0,3} (arm|arms|hand|hands)\b|"
                   r"puts? (both hands|the (left|right) hand) up|throws? both hands up", c) and \
            not re.search(r"cup|salut|point|scratch|stretch|drink|clap", c):
        one = re.search(r"\b(one|an|a single) (arm|hand)\b", c) and not (hand or side_any(c))
        add("raise", "one" if one else
            "both" if re.search(r"both|the arms|\bhands\b", c) else (hand or side_any(c) or "both"))
    if re.search(r"clap\w* (above|over) (the|his|her|their) head|clap\w* overhead|clap\w* high above", c):
        add("clap_overhead", count_of(c) or "")
    elif re.search(r"\bclap|applaud", c):
        add("clap", count_of(c, "claps") or "")
    if re.search(r"\b(punch\w*|jab|jabs|jabbing|fist)\b", c) and not re.search(r"cross|hook|uppercut|combination|box", c):
        s = hand or side_any(c)
        if s:
            add("punch", s)
    if re.search(r"\bthrow\w*\b[^.]*\b(ball|something|object)\b|overhand throw|pitch\w* a ball", c) and \
            not re.search(r"bowl|punch|kick|basket|hoop", c):
        s = hand or side_any(c)
        if s:
            add("throw", s)
    if re.search(r"\bpick\w* (something|an object|up an object|up something)|grab\w* something off", c):
        s = hand or side_any(c)
        if s:
            add("pick_up", s)
    if re.search(r"arms? out\b|arms wide|t shape|arms straight out|arms out sideways", c):
        add("stretch", "out")
    if re.search(r"stretch\w* (up|upward)|reach\w* (up|for the sky)|toward the ceiling|overhead and stretch", c):
        add("stretch", "up")
    if re.search(r"touch\w* (his|her|their|the) (toes|feet)|to touch the (toes|feet)|(down|stretch\w*) to the toes", c):
        add("touch_toes")
    if re.search(r"\bbows?\b|\bbowing\b", c):
        add("bow", "deep" if re.search(r"\b(deep\w*|low|very|far)\b", c) else "slight" if re.search(r"slight|small|little|shallow", c) else "")
    if re.search(r"\bshrug", c):
        add("shrug", count_of(c, "shrugs?") or "")
    m = re.search(r"\bpoint", c)
    if m and not re.search(r"disco", c):
        s = hand or side_any(c)
        aim = c[m.start():]  # the direction follows the verb ("backs up while pointing forward")
        where = "up" if re.search(r"\bup\b|upward|sky|ceiling", aim) else "side" if re.search(
            r"to the (left|right)|toward the (left|right)|off to the|out to the", aim) else "forward"
        if s:
            add("point", f"{s} {where}")
    if re.search(r"beckon|someone over|come here|for someone to come", c):
        s = hand or side_any(c)
        if s:
            add("beckon", s)
    if re.search(r"\brub", c):
        add("rub_hands")
    if re.search(r"\blook\w* (around|to the|left and right)|glanc|scans? the", c):
        s = first_side(c)
        if s:
            add("look_around", s)
    if re.search(r"swings? (his|her|their|the|both) arms|let\w* the arms swing", c) and not re.search(r"\bcircles\b", c):
        add("swing_arms")
    if re.search(r"arm circles|circl\w* (both arms|the (left|right) arm)|(forward|backward) circles with|arms? (around )?"
                 r"in (small )?(forward|backward) circles|rotat\w+ (both arms|the (left|right) arm) in", c):
        d = "backward" if "backward" in c else "forward"
        s = "both" if "both arms" in c else (hand or "both")
        add("arm_circles", f"{s} {d}")
    if re.search(r"cross\w* (his|her|their|the) arms|arms crossed|fold\w* (his|her|their|the) arms", c):
        add("cross_arms")
    if re.search(r"hands on (the|his|her|their) hips|akimbo|hands on the waist", c):
        add("hands_on_hips")
    if re.search(r"bends? to the (left|right)|side bend|lean\w* the upper body to|stretch\w* sideways to|tilt\w* the torso", c):
        s = side_any(c)
        if s:
            add("side_bend", s)
    if re.search(r"twist\w* (the )?(torso|waist|upper body)|torso twists|twist\w* from side to side|rotat\w+ the upper body", c):
        s = first_side(c) or (side_any(c) if re.search(r"to the (left|right) and back", c) else None)
        if s:
            add("torso_twist", s)
    if re.search(r"\bpush\w* (something|an invisible|with both|forward with)|\bshov", c):
        add("push")
    if re.search(r"pull\w* (a|on a|an invisible) rope|haul\w* in|tug of war", c):
        add("pull_rope")
    if re.search(r"\b(wip\w+|polish\w*|clean\w*)\b", c):
        s = hand or side_any(c)
        if s:
            add("wipe", s)


def _sports(c, add):
    if re.search(r"\bjab\b.*\b(cross|hook|uppercut)\b|combination|shadowbox|\bbox(es|ing)?\b", c):
        add("boxing")
    if re.search(r"tennis|racket|forehand|backhand", c):
        s = side_near(c, "hand|arm") or side_any(c)
        stroke = "backhand" if "backhand" in c else "forehand" if "forehand" in c else None
        if s and stroke:
            add("tennis", f"{s} {stroke}")
    if re.search(r"\bgolf|tees? off", c):
        add("golf")
    if re.search(r"baseball|\bbat\b|swings? at a pitch", c):
        add("baseball")
    if re.search(r"\bshoot\w*|shot\b|\bhoop\b|\bbasket\b", c) and not re.search(r"dribbl|goal|hula", c):
        add("basketball")
    if re.search(r"kick\w* (a|the) (ball|soccer|football)|shot at goal|strikes? a ball", c):
        s = side_near(c, "foot|leg") or side_any(c)
        if s:
            add("kick_ball", s)
    if re.search(r"\bbowl(s|ing)?\b|down the lane", c):
        s = side_near(c, "hand|arm") or side_any(c)
        if s:
            add("bowling", s)
    if re.search(r"dribbl|bounces? a (ball|basketball)", c):
        s = side_near(c, "hand") or side_any(c)
        if s:
            add("dribble", s)
    if re.search(r"step touch|side to side, stepping|taps? the other foot|grooves? side to side", c):
        s = first_side(c)
        if s:
            add("step_touch", s)
    if re.search(r"the twist|twist\w* the hips|twisting side to side|twist\w* the body back and forth", c):
        add("twist_dance")
    if re.search(r"disco", c):
        s = side_near(c, "hand|arm") or side_any(c)
        if s:
            add("disco", s)
    if re.search(r"hip circles|hula|hips in circles|hips around|hips round|circles? (his|her|their|the) hips", c):
        add("hip_circles")


# Arm circles done while walking ("walks while rotating the left arm in backward circles") name
# no path and no walking direction.
ARM_CIRCLE_PHRASE = (r"\b(doing |does |do )?((forward|backward|small|big) )*arm circles( with (the |his |her |their |both )?"
                     r"((left|right) )?arms?)?|\b(in )?((small|big) )?(forward|backward) circles( with (both arms|the "
                     r"(left|right) arm))?|\bcircl\w* (both arms|the (left|right) arm)( forward| backwards?)?")


def _locomotion(c, add, style):
    c = re.sub(ARM_CIRCLE_PHRASE, " ", c)
    c = re.sub(r"\b(rotat|twist|circl|swing)\w* (the |his |her |their |both )?(left |right )?(arm|arms|hand|hands|hips|upper body|"
               r"torso|waist)\b( (back and forth|to and fro|up and down)\b)?", " ", c)  # arms to and fro: no path
    turning = re.search(r"\bturn|face the other way|\bspin|\brotat|\bpivot|\bswivel|\btwirl|about-fac|u-turn|\bveer", c)
    path = None
    if re.search(r"zigzag", c):
        path = ("zigzag", first_side(c) or side_any(c))
    elif re.search(r"\bsquare\b", c):
        path = ("square", side_any(c))
    elif re.search(r"figure[- ]?(eight|8|of eight)|shape of an eight", c):
        path = ("figure_eight", first_side(c) or side_any(c))
    elif re.search(r"diagonal|at an angle|front (left|right) corner|to the front (left|right)", c):
        path = ("diagonal", side_any(c))
    elif re.search(r"back and forth|to and fro|up and down|walks away and comes back|one way and then back", c) and \
            re.search(r"\bpac\w+|walk\w*|\bgo\w*", c):
        path = ("back_and_forth", "")
    elif re.search(r"\bcircl\w*|\bloop\b|\bring\b", c) and re.search(WALKING + r"|circles (around|backwards)", c):
        s = side_any(c)
        back = "backward " if re.search(r"backward|backwards|back up", c) else ""
        path = ("circle", (back + (s or "")).strip())
    if path:
        if path[1] is not None and (path[1] or path[0] in ("back_and_forth", "circle")):
            add(*path)
        return
    if re.search(r"\b(run|runs|running|jog|jogs|jogging|sprint\w*|dash\w*|race[sd]?|racing|bolt\w*|trot\w*|lope[sd]?)\b", c) \
            and not re.search(r"kick|ball|in place|on the spot", c):
        add("run")
        return
    if re.search(r"\b(stands?|stays?|remains?|waits?|idles?|pauses?)\b.*\b(still|in place|quietly|there|around|idly|"
                 r"calmly|standing)\b", c) and not re.search(WALKING, c):
        add("still")
        return
    if re.search(WALKING, c) and not turning:
        if re.search(r"\bbackwards?\b|\bin reverse\b|\bback(s|ing)? up\b|\bretreat", c):
            add("walk", "backward")
        elif re.search(r"\bforwards?\b|straight ahead|\bahead\b|\balong\b", c):
            add("walk", "forward")
            if style:
                add("style", style)
            elif re.search(SLOW, c):
                add("pace", "slow")
            elif re.search(FAST, c):
                add("pace", "fast")
            m = re.search(rf"{_NUM} (meters?|metres?)\b", c)
            if m:
                add("distance", _num(m.group(1)))
            elif re.search(r"a meter or so|one meter|a meter\b", c):
                add("distance", 1)
            elif re.search(r"couple of meters", c):
                add("distance", 2)
        elif "side" in c:
            m = re.search(r"\b(left|right)\b", c)
            if m and not re.search(r"(hand|arm)", c):
                add("walk", m.group(1))
    if turning:
        s = None
        m = re.search(r"\b(?:turn|rotat|pivot|swivel|spin|twirl|about-fac|veer)\w*\b(?:(?!\b(?:hand|arm|leg|foot)\b).)*?\b(left|right)\b", c)
        if m:
            s = m.group(1)
        deg = degrees_of(c) or (180 if re.search(r"turns? (his|her|their) back|face the other way|turns? around", c) else None)
        walking = re.search(r"\bwalk", c)
        if s and deg and not walking:
            add("turn", f"{s} {deg}")
        elif s:
            add("turn", s)
        elif re.search(r"turns? around|face the other way|turn\w* 180|about-fac|u-turn|turns? (his|her|their) back", c):
            add("turn", "around")


__all__ = ["checks_for", "count_of", "degrees_of", "seconds_of", "side_near", "side_any", "first_side"]
