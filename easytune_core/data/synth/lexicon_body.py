"""Verb phrases for floor actions, upper-body actions and gestures, sports and dance (see :mod:`lexicon`)."""

from __future__ import annotations

from .lexicon import L, entry

FROM = {"sit": "sitting on the floor", "supine": "lying on {poss} back", "prone": "lying on {poss} stomach",
        "fours": "all fours", "kneel": "kneeling", "plank": "a plank", "chair": "a chair"}


@entry("sit")
def _sit(a):
    return ["<sit> down on the floor", "<sit> on the ground", "<lower> down to sit on the floor", "<sit> down on the ground",
            "<get> down and <sit> on the floor", "<take> a seat on the floor", "<settle> down onto the floor",
            "<plop> down to sit on the ground", "<sit> down with the knees up"]


@entry("sit_cross_legged")
def _sit_cross(a):
    return ["<sit> down cross-legged", "<sit> cross-legged on the floor", "<sit> on the floor with crossed legs",
            "<lower> down and <cross> the legs to sit", "<sit> down in a cross-legged position",
            "<settle> on the ground with the legs crossed", "<sit> down tailor style"]


@entry("sit_chair")
def _chair(a):
    return ["<sit> down on a chair", "<sit> on a chair", "<take> a seat on a chair", "<sit> down on a stool",
            "<lower> into a chair", "<sit> down as if on a chair", "<sit> on a bench", "<take> a seat"]


@entry("lie_back")
def _lie_back(a):
    out = ["<lie> down on {poss} back", "<lie> down on the back", "<lie> flat on {poss} back", "<lie> down face up",
           "<lie> on the floor on {poss} back", "<stretch> out on the floor on {poss} back",
           "<get> down and <lie> on {poss} back", "<lay> down on {poss} back", "<recline> onto {poss} back on the floor"]
    if a.get("from") == "sit":
        out += ["<lie> back from sitting", "<lean> back until lying flat"]
    return out


@entry("lie_front")
def _lie_front(a):
    return ["<lie> down on {poss} stomach", "<lie> face down on the floor", "<lie> down on {poss} front",
            "<lie> prone on the ground", "<get> down onto {poss} belly", "<lie> down on the belly",
            "<stretch> out face down on the floor", "<go> down to lie on {poss} stomach"]


@entry("all_fours")
def _fours(a):
    return ["<get> down on all fours", "<get> down on {poss} hands and knees", "<kneel> down and <put> the hands on the floor",
            "<go> down onto hands and knees", "<drop> to all fours", "<get> on the floor on hands and knees"]


@entry("kneel")
def _kneel(a):
    return ["<kneel> on the {side} knee", "<kneel> down on {poss} {side} knee", "<go> down on one knee, the {side} one",
            "<drop> to the {side} knee", "<kneel> on one knee with the {side} knee on the floor",
            "<take> a knee, the {side} one", "<lower> the {side} knee to the ground"]


@entry("kneel_both")
def _kneel_both(a):
    return ["<kneel> down on both knees", "<kneel> down", "<get> down on {poss} knees", "<kneel> on the floor",
            "<drop> to both knees", "<go> down onto the knees", "<kneel> on both knees"]


@entry("get_up")
def _get_up(a):
    frm = FROM.get(a.get("from"), "the floor")
    return ["<get> up", "<stand> up", "<get> back up", "<rise> to {poss} feet", "<get> up from " + frm,
            "<stand> up from " + frm, "<pick> up off the floor" if a.get("from") in ("supine", "prone") else "<get> up again",
            "<get> back on {poss} feet", "<push> up to standing"]


@entry("roll_over")
def _roll(a):
    to = "stomach" if a.get("to") == "prone" else "back"
    return [f"<roll> over to the {{side}} onto {{poss}} {to}", f"<roll> over onto the {to}, rolling {{side}}",
            f"<roll> to the {{side}} and <end> up on {{poss}} {to}", f"<turn> over to the {{side}} onto {{poss}} {to}",
            "<roll> over toward the {side}", f"<roll> {{side}} onto the {to}"]


@entry("crawl")
def _crawl(a):
    if a["direction"] == "backward":
        return ["<crawl> backward on hands and knees", "<crawl> backwards", "<back> up on all fours",
                "<crawl> in reverse on {poss} hands and knees"]
    return ["<crawl> forward", "<crawl> forward on hands and knees", "<crawl> on all fours", "<crawl> ahead like a baby",
            "<crawl> along the floor", "<move> forward on {poss} hands and knees", "<crawl> forward on the floor"]


@entry("push_up")
def _push(a):
    one = a["count"] == 1
    return (["<do> a push-up", "<do> one push-up", "<perform> a single push-up", "<do> a press-up"] if one else
            ["<do> {n} push-ups", "<do> push-ups {times}", "<perform> {n} push-ups", "<do> {n} press-ups",
             "<pump> out {n} push-ups", "<complete> {n} push-ups", "<push> up from the floor {times}"])


@entry("sit_up")
def _situp(a):
    one = a["count"] == 1
    return (["<do> a sit-up", "<do> one sit-up", "<perform> a single crunch", "<sit> up once from lying down"] if one else
            ["<do> {n} sit-ups", "<do> sit-ups {times}", "<perform> {n} sit-ups", "<do> {n} crunches",
             "<curl> up into a sit-up {times}", "<complete> {n} sit-ups"])


@entry("plank")
def _plank(a):
    return ["<hold> a plank {secs}", "<get> into a plank position {secs}", "<hold> a push-up position {secs}",
            "<get> down into a plank and <hold> it {secs}", "<hold> the plank pose {secs}",
            "<support> {poss} body on hands and toes {secs}"]


@entry("bow")
def _bow(a):
    d = a.get("depth")
    if d == "deep":
        return ["<bow> deeply", "<take> a deep bow", "<bow> down low", "<bend> far forward in a deep bow",
                "<make> a deep, respectful bow", "<bow> very low"]
    if d == "slight":
        return ["<bow> slightly", "<give> a slight bow", "<make> a small bow", "<nod> forward in a little bow",
                "<do> a quick shallow bow", "<bow> just a little"]
    return ["<bow>", "<bow> forward", "<take> a bow", "<bend> forward in a bow", "<bow> down", "<bow> politely",
            "<make> a bow", "<bow> to the audience"]


@entry("touch_toes")
def _toes(a):
    return ["<touch> {poss} toes", "<bend> down and <touch> the toes", "<reach> down to touch the toes",
            "<bend> over to touch the feet", "<stretch> down to the toes", "<fold> forward and <touch> the toes"]


@entry("stretch_out")
def _stretch_out(a):
    return ["<stretch> {poss} arms out to the sides {secs}", "<hold> both arms out to the sides {secs}",
            "<spread> the arms wide {secs}", "<stretch> the arms out sideways {secs}", "<make> a t shape with the arms {secs}",
            "<extend> both arms straight out {secs}"]


@entry("stretch_up")
def _stretch_up(a):
    return ["<stretch> {poss} arms up {secs}", "<reach> up high with both arms {secs}", "<stretch> upward {secs}",
            "<raise> both arms overhead and <stretch> {secs}", "<reach> for the sky {secs}", "<stretch> up toward the ceiling {secs}"]


@entry("shrug")
def _shrug(a):
    one = a["count"] == 1
    return (["<shrug>", "<shrug> the shoulders", "<shrug> {poss} shoulders", "<give> a shrug", "<shrug> as if unsure"] if one
            else ["<shrug> {times}", "<shrug> the shoulders {times}", "<shrug> {poss} shoulders {times}",
                  "<lift> the shoulders in a shrug {times}", "<give> {n} shrugs"])


@entry("point")
def _point(a):
    d = a.get("direction", "forward")
    where = {"forward": ["forward", "straight ahead", "at something in front", "ahead"],
             "side": ["to the {side}", "out to the {side}", "toward the {side}", "off to the {side}"],
             "up": ["up", "upward", "at the sky", "up at the ceiling"]}[d]
    return [f"<point> {w} with the {{side}} hand" for w in where] + \
           [f"<point> {where[0]} with {{poss}} {{side}} arm", f"<raise> the {{side}} arm and <point> {where[1]}",
            f"<use> the {{side}} hand to point {where[2]}"]


@entry("salute")
def _salute(a):
    return ["<salute> with the {side} hand", "<give> a salute with {poss} {side} hand", "<salute> like a soldier with the {side} hand",
            "<raise> the {side} hand to the forehead in a salute", "<do> a military salute with the {side} hand"]


@entry("beckon")
def _beckon(a):
    return ["<beckon> with the {side} hand {times}", "<wave> someone over with the {side} hand {times}",
            "<motion> come here with the {side} hand {times}", "<beckon> someone closer with {poss} {side} hand {times}",
            "<gesture> for someone to come with the {side} hand {times}"]


@entry("clap_overhead")
def _clap_over(a):
    return ["<clap> above {poss} head {times}", "<clap> the hands over the head {times}", "<clap> overhead {times}",
            "<raise> both hands and <clap> above the head {times}", "<clap> high above the head {times}"]


@entry("rub_hands")
def _rub(a):
    return ["<rub> {poss} hands together {secs}", "<rub> the hands together {secs}", "<rub> both hands together {secs}",
            "<warm> the hands by rubbing them {secs}", "<rub> the palms together {secs}"]


@entry("drink")
def _drink(a):
    return ["<drink> from a cup with the {side} hand", "<take> a sip from a glass in the {side} hand",
            "<drink> something with the {side} hand", "<raise> a cup to the mouth with the {side} hand and <drink>",
            "<sip> from a mug held in the {side} hand", "<drink> from a bottle with {poss} {side} hand"]


@entry("phone_call")
def _phone(a):
    return ["<talk> on the phone with the {side} hand {secs}", "<hold> a phone to the {side} ear {secs}",
            "<make> a phone call, phone in the {side} hand, {secs}", "<answer> the phone with the {side} hand {secs}",
            "<put> a phone to {poss} {side} ear {secs}", "<take> a call holding the phone in the {side} hand {secs}"]


@entry("look_around")
def _look(a):
    return ["<look> around, first to the {side}", "<look> to the {side} and then the other way",
            "<glance> to the {side} and then to the other side", "<turn> the head to look {side} and then away",
            "<scan> the surroundings, starting on the {side}", "<look> left and right, {side} first"]


@entry("swing_arms")
def _swing(a):
    return ["<swing> {poss} arms back and forth {times}", "<swing> the arms forward and back {times}",
            "<swing> both arms {times}", "<swing> the arms loosely {times}", "<let> the arms swing back and forth {times}"]


@entry("arm_circles")
def _circles(a):
    arms = {"both": "both arms", "left": "the left arm", "right": "the right arm"}[a.get("side", "both")]
    d = a["direction"]
    return [f"<do> {d} arm circles with {arms} {{times}}", f"<circle> {arms} {d} {{times}}",
            f"<make> {d} circles with {arms} {{times}}", f"<rotate> {arms} in {d} circles {{times}}",
            f"<swing> {arms} around in small {d} circles {{times}}"]


@entry("cross_arms")
def _cross(a):
    return ["<cross> {poss} arms {secs}", "<fold> the arms across the chest {secs}", "<stand> with arms crossed {secs}",
            "<cross> the arms over the chest {secs}", "<fold> {poss} arms {secs}"]


@entry("hands_on_hips")
def _hips(a):
    return ["<put> {poss} hands on the hips {secs}", "<stand> with hands on the hips {secs}", "<place> both hands on the hips {secs}",
            "<rest> the hands on the waist {secs}", "<stand> akimbo {secs}"]


@entry("scratch_head")
def _scratch(a):
    return ["<scratch> {poss} head with the {side} hand", "<scratch> the head with the {side} hand",
            "<raise> the {side} hand and <scratch> the head", "<scratch> the top of the head using the {side} hand"]


@entry("side_bend")
def _bend(a):
    return ["<bend> to the {side} {times}", "<lean> the upper body to the {side} {times}", "<do> a side bend to the {side} {times}",
            "<stretch> sideways to the {side} {times}", "<tilt> the torso to the {side} {times}"]


@entry("torso_twist")
def _twist(a):
    return ["<twist> the torso left and right, {side} first", "<twist> from side to side, starting {side}",
            "<rotate> the upper body to the {side} and back", "<do> torso twists, turning {side} first",
            "<twist> the waist to the {side} and then the other way"]


@entry("push_object")
def _push_obj(a):
    return ["<push> something forward {times}", "<push> with both hands {times}", "<push> an invisible object away {times}",
            "<shove> something forward with both arms {times}", "<push> forward with both palms {times}"]


@entry("pull_rope")
def _pull(a):
    return ["<pull> a rope hand over hand", "<pull> on a rope", "<haul> in a rope", "<pull> something toward the body",
            "<pull> an invisible rope with both hands", "<play> tug of war, pulling a rope"]


@entry("wipe")
def _wipe(a):
    return ["<wipe> a table with the {side} hand", "<wipe> a surface in circles with the {side} hand",
            "<clean> a table with circular motions of the {side} hand", "<polish> something with the {side} hand",
            "<wipe> the counter with {poss} {side} hand"]


@entry("boxing")
def _boxing(a):
    p = a.get("punches", [])
    combo = ", ".join(p[:-1]) + " and " + p[-1] if len(p) > 1 else (p[0] if p else "punch")
    return [f"<throw> a {combo}", f"<box>, throwing a {combo}", f"<do> a boxing combination: {combo}",
            f"<shadowbox> with a {combo}", f"<throw> a {combo} combination", f"<punch> the air with a {combo}"]


@entry("tennis_swing")
def _tennis(a):
    s = a["stroke"]
    return [f"<hit> a tennis {s} with the {{side}} hand", f"<swing> a tennis racket in a {s} with the {{side}} hand",
            f"<play> a {s} with the {{side}} arm", f"<do> a {s} swing holding the racket in the {{side}} hand",
            f"<hit> a {s} with {{poss}} {{side}} hand"]


@entry("golf_swing")
def _golf(a):
    return ["<swing> a golf club {hand}", "<take> a golf swing {hand}", "<hit> a golf ball {hand}",
            "<tee> off {hand}", "<make> a full golf swing {hand}"]


@entry("baseball_swing")
def _baseball(a):
    return ["<swing> a baseball bat {hand}", "<swing> a bat {hand}", "<hit> a baseball {hand}",
            "<take> a swing with a baseball bat {hand}", "<swing> at a pitch {hand}"]


@entry("basketball_shot")
def _basket(a):
    return ["<shoot> a basketball", "<take> a basketball shot", "<shoot> a ball toward a hoop",
            "<do> a jump shot" if a.get("jump") else "<do> a set shot", "<shoot> the ball at a basket",
            "<throw> a basketball up toward the hoop"]


@entry("kick_ball")
def _kick_ball(a):
    return ["<kick> a ball with the {side} foot", "<run> up and <kick> a ball with the {side} foot",
            "<kick> a soccer ball with {poss} {side} foot", "<take> a shot at goal with the {side} foot",
            "<kick> a football with the {side} leg", "<strike> a ball with the {side} foot"]


@entry("bowling")
def _bowling(a):
    return ["<bowl> a ball with the {side} hand", "<roll> a bowling ball with the {side} hand",
            "<throw> a bowling ball using the {side} hand", "<bowl> with the {side} arm",
            "<step> forward and <roll> a ball down the lane with the {side} hand"]


@entry("dribble")
def _dribble(a):
    return ["<dribble> a basketball with the {side} hand", "<bounce> a ball with the {side} hand",
            "<dribble> a ball with {poss} {side} hand", "<dribble> the ball {n} times with the {side} hand",
            "<bounce> a basketball using the {side} hand"]


@entry("step_touch")
def _step_touch(a):
    return ["<do> a step touch, starting to the {side}", "<dance> side to side, stepping {side} first",
            "<step> to the {side} and <tap> the other foot, then the other way", "<do> step touches starting {side}",
            "<groove> side to side, {side} first"]


@entry("twist_dance")
def _twist_dance(a):
    return ["<do> the twist", "<dance> the twist", "<twist> the hips while dancing", "<dance> by twisting side to side",
            "<twist> the body back and forth dancing"]


@entry("disco")
def _disco(a):
    return ["<do> a disco move pointing up with the {side} hand", "<dance> disco style with the {side} hand pointing up",
            "<point> the {side} hand up and down like a disco dancer", "<do> the disco point with the {side} arm",
            "<strike> disco poses with the {side} hand"]


@entry("hip_circles")
def _hip_circles(a):
    return ["<circle> {poss} hips {times}", "<rotate> the hips in circles {times}", "<do> hip circles {times}",
            "<move> the hips around in a circle {times}", "<sway> the hips round and round {times}",
            "<do> a hula hoop motion with the hips {times}"]


# Gestures that also appear as layers over gaits ("... while waving").
@entry("wave")
def _wave(a):
    s = a.get("side", "right")
    hands = "both hands" if s == "both" else "the {side} hand"
    arm = "both arms" if s == "both" else "the {side} arm"
    t = " {times}" if a.get("count") else ""
    return [f"<wave> with {hands}{t}", f"<wave> {arm}{t}", f"<raise> {arm} and <wave>{t}", f"<wave> hello with {hands}{t}",
            f"<wave> goodbye with {hands}{t}", f"<wave> at someone with {hands}{t}", f"<give> a wave with {hands}{t}"]


@entry("raise")
def _raise(a):
    s = a.get("side", "right")
    if s == "both":
        return ["<raise> both arms", "<raise> both arms above the head", "<lift> both arms up", "<put> both hands up in the air",
                "<throw> both hands up", "<raise> the arms overhead"]
    return ["<raise> the {side} arm", "<raise> the {side} hand", "<lift> the {side} arm up", "<raise> the {side} arm above the head",
            "<put> the {side} hand up", "<hold> up the {side} arm"]


@entry("clap")
def _clap(a):
    return ["<clap> {times}", "<clap> the hands {times}", "<clap> {poss} hands {times}", "<applaud> {times}",
            "<clap> in front of the chest {times}", "<give> {n} claps"]


@entry("punch")
def _punch(a):
    return ["<punch> with the {side} hand {times}", "<throw> a punch with the {side} fist {times}",
            "<punch> forward with the {side} arm {times}", "<punch> with {poss} {side} fist {times}",
            "<jab> with the {side} hand {times}", "<throw> {n} straight punches with the {side} hand"]


@entry("throw")
def _throw(a):
    return ["<throw> a ball with the {side} hand", "<throw> something with the {side} arm",
            "<make> an overhand throw with the {side} arm", "<wind> up and <throw> with the {side} hand",
            "<throw> an object with the {side} hand", "<pitch> a ball overhand with the {side} arm"]


@entry("pick_up")
def _pick(a):
    return ["<pick> something up from the floor with the {side} hand", "<bend> down to pick something up with the {side} hand",
            "<pick> up an object from the ground with the {side} hand", "<reach> down with the {side} hand and <pick> something up",
            "<bend> over and <grab> something off the floor with the {side} hand"]


__all__ = ["L"]
