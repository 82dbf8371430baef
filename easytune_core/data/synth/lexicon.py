"""Verb phrases for locomotion, paths, turns, jumps and leg actions (see :mod:`grammar`).

Each entry maps an action record to candidate phrase templates. ``<verb>`` marks a verb the
grammar conjugates ("walks", "is walking", "while walking"); slots in braces are filled from the
record: ``{side}``, ``{n}`` (a count), ``{times}`` ("three times"), ``{pace}`` (" slowly"),
``{deg}`` (an angle), ``{secs}``, ``{dist}``, ``{style}``, ``{poss}`` (his / her / their).
Every template names what distinguishes the motion from its near twins (side, count, angle,
pace, direction, style), so captions of twins differ exactly where the motions do.
"""

from __future__ import annotations

L = {}


def entry(*types):
    def reg(fn):
        for t in types:
            L[t] = fn
        return fn
    return reg


def _opt(cond, yes, no=()):
    return list(yes) if cond else list(no)


@entry("stand")
def _stand(a):
    return ["<stand> still", "<stand> in place", "<stand> still without moving", "<remain> standing", "<stay> still",
            "<stand> quietly", "<stand> there idly", "<wait> in place", "<stand> relaxed, doing nothing",
            "<stand> around", "<pause> and <stand> still", "<stand> calmly on the spot", "<idle> in place"]


@entry("walk")
def _walk(a):
    d, pace = a["direction"], a.get("pace", "normal")
    tail = "{style}" if a.get("style") else "{pace}"
    dist = " {dist}" if a.get("distance") else ""
    if d in ("left", "right"):
        return [f"<walk> sideways to the {{side}}{tail}", f"<step> sideways to the {{side}}{tail}",
                f"<side-step> to the {{side}}{tail}", f"<walk> to the {{side}} sideways{tail}",
                f"<move> sideways toward the {{side}}{tail}",
                f"<take> side steps to the {{side}}{tail}", f"<sidestep> toward {{poss}} {{side}}{tail}",
                f"<step> to the {{side}} side{tail}", f"<scoot> sideways to the {{side}}{tail}"]
    if d == "backward":
        return [f"<walk> backward{dist}{tail}", f"<walk> backwards{dist}{tail}", f"<step> backward{dist}{tail}",
                f"<move> backward{dist}{tail}", f"<back> up{dist}{tail}", f"<retreat> backwards{dist}{tail}",
                f"<walk> in reverse{dist}{tail}", f"<reverse>{dist}{tail}, walking backwards"]
    out = [f"<walk> forward{dist}{tail}", f"<walk> straight ahead{dist}{tail}", f"<walk> forward in a straight line{dist}{tail}",
           f"<move> forward{dist}{tail}", f"<go> forward{dist}{tail}", f"<walk> ahead{dist}{tail}",
           f"<take> a walk forward{dist}{tail}", f"<head> forward on foot{dist}{tail}", f"<proceed> forward{dist}{tail}",
           f"<advance>{dist}{tail}, walking", f"<walk> along{dist}{tail}", f"<step> forward{dist}{tail}"]
    if not a.get("style") and not dist:
        out += _opt(pace == "slow", ["<stroll> forward slowly", "<amble> forward leisurely", "slowly <walk> forward",
                                     "<saunter> ahead at a relaxed pace", "<stroll> ahead casually and slowly",
                                     "<meander> forward slowly"])
        out += _opt(pace == "fast", ["<walk> briskly forward", "quickly <walk> forward", "<hurry> forward",
                                     "<march> briskly ahead", "<stride> forward quickly", "<rush> ahead on foot"])
    return out


@entry("jog", "run")
def _run(a):
    tail = "{style}" if a.get("style") else ""
    if a["type"] == "jog":
        return [f"<jog> forward{tail}", f"<jog>{tail}", f"<jog> straight ahead{tail}", f"<run> slowly forward{tail}",
                f"<jog> along{tail}", f"<go> for a light jog{tail}", f"<trot> forward{tail}", f"<jog> ahead at an easy pace{tail}",
                f"<do> a slow run forward{tail}", f"<lope> forward{tail}"]
    if a.get("pace") == "fast":
        return [f"<sprint> forward{tail}", f"<run> forward very fast{tail}", f"<dash> ahead{tail}",
                f"<race> forward{tail}", f"<run> at full speed{tail}", f"<bolt> forward{tail}"]
    return [f"<run> forward{tail}", f"<run>{tail}", f"<run> straight ahead{tail}",
            f"<run> ahead{tail}", f"<break> into a run{tail}", f"<run> in a straight line{tail}"]


@entry("march")
def _march(a):
    tail = "{style}" if a.get("style") else ""
    return [f"<march> in place{tail}", f"<march> on the spot{tail}", f"<march> in place lifting the knees{tail}",
            f"<step> in place, knees lifting{tail}", f"<march> without going anywhere{tail}",
            f"<stomp> in place like a soldier{tail}", f"<march> on the spot, swinging the arms{tail}"]


@entry("turn")
def _turn(a):
    deg = a["degrees"]
    if a.get("walking"):
        if deg >= 170:
            return ["<walk> forward and <turn> around to the {side}", "<walk> and <turn> around toward the {side}",
                    "<walk> forward, turning around to the {side}", "<walk> then <make> a u-turn to the {side}",
                    "<walk> ahead and <turn> back to the {side}", "<walk> forward and <turn> {deg} to the {side}"]
        return ["<walk> forward and <turn> {side}", "<walk> and <turn> to the {side}", "<walk> forward then <turn> {side}",
                "<walk>, turning {side}", "<walk> forward and <veer> to the {side}", "<walk> ahead and <curve> to the {side}",
                "<walk> and <make> a {degn}-degree turn to the {side}", "<walk> forward, then <head> off to the {side}"]
    if deg >= 330:
        return ["<spin> around to the {side}", "<turn> a full circle to the {side}", "<spin> around once to the {side}",
                "<do> a full spin to the {side}", "<rotate> {deg} toward the {side}", "<turn> all the way around to the {side}",
                "<pivot> in a complete circle toward the {side}", "<twirl> around to the {side}"]
    if deg >= 170 and deg < 200:
        return ["<turn> around to the {side}", "<turn> around in place to the {side}", "<turn> {deg} to the {side}",
                "<turn> to face the other way, turning {side}", "<about-face> to the {side}",
                "<rotate> {deg} toward the {side}", "<pivot> around to the {side}", "<turn> {poss} back by turning {side}"]
    return ["<turn> {deg} to the {side}", "<turn> {side} {deg}", "<rotate> {deg} toward the {side}",
            "<turn> {deg} to {poss} {side}", "<pivot> {deg} to the {side}", "<turn> in place {deg} to the {side}",
            "<swivel> {deg} to the {side}", "<make> a {degn}-degree turn to the {side}"]


@entry("circle")
def _circle(a):
    if a.get("backward"):
        return ["<walk> backward in a circle to the {side}{pace}", "<walk> backwards around a circle, curving {side}{pace}",
                "<circle> backwards toward the {side}{pace}", "<move> backward in a full circle to the {side}{pace}",
                "<back> up in a circle turning {side}{pace}"]
    return ["<walk> in a circle to the {side}{pace}", "<walk> around in a circle to the {side}{pace}",
            "<circle> around to the {side}{pace}", "<walk> a full circle toward the {side}{pace}",
            "<walk> in a loop curving {side}{pace}", "<walk> round in a circle, turning {side}{pace}",
            "<trace> a circle on foot, turning {side}{pace}", "<walk> in a ring to the {side}{pace}"]


@entry("zigzag")
def _zigzag(a):
    return ["<walk> forward in a zigzag, first to the {side}", "<zigzag> forward, starting to the {side}",
            "<walk> a zigzag path, veering {side} first", "<weave> forward in a zigzag line, starting {side}",
            "<walk> in a zigzag pattern, heading {side} first", "<zigzag> ahead, going {side} first",
            "<walk> forward back and forth in a zigzag beginning to the {side}"]


@entry("square")
def _square(a):
    return ["<walk> in a square, turning {side} at each corner", "<walk> around a square to the {side}",
            "<walk> a square path, making {side} turns", "<trace> a square on foot, turning {side} at every corner",
            "<walk> the four sides of a square, turning {side}", "<walk> in a square shape, always turning {side}"]


@entry("figure_eight")
def _eight(a):
    return ["<walk> in a figure eight, first curving {side}", "<walk> a figure-eight path, starting to the {side}",
            "<trace> a figure 8 on foot, turning {side} first", "<walk> in the shape of an eight, beginning {side}",
            "<walk> a figure of eight, first looping {side}", "<make> a figure eight walking, first to the {side}"]


@entry("diagonal")
def _diagonal(a):
    return ["<walk> diagonally forward to the {side}{pace}", "<walk> diagonally to the front {side}{pace}",
            "<head> diagonally forward and to the {side}{pace}", "<walk> forward at an angle to the {side}{pace}",
            "<cut> diagonally across to the {side}{pace}", "<walk> toward the front {side} corner{pace}",
            "<walk> on a diagonal, forward and {side}{pace}"]


@entry("pace")
def _pace(a):
    return ["<pace> back and forth", "<walk> back and forth", "<walk> forward, <turn> around and <walk> back",
            "<pace> up and down", "<walk> to and fro", "<go> back and forth on foot", "<walk> away and <come> back",
            "<pace> back and forth nervously", "<walk> one way and then back the other way"]


@entry("jump")
def _jump(a):
    d = a["direction"]
    hi, t = "{height}", "{times}"
    if d == "forward":
        return [f"<jump> forward{hi} {t}", f"<leap> forward{hi} {t}", f"<jump> forward with both feet{hi} {t}",
                f"<hop> forward on both feet{hi} {t}", f"<bound> forward{hi} {t}", f"<jump> ahead{hi} {t}"]
    if d == "backward":
        return [f"<jump> backward{hi} {t}", f"<jump> backwards{hi} {t}", f"<leap> backward{hi} {t}",
                f"<hop> backwards with both feet{hi} {t}", f"<jump> back{hi} {t}"]
    if d in ("left", "right"):
        return [f"<jump> to the {{side}}{hi} {t}", f"<jump> sideways to the {{side}}{hi} {t}",
                f"<leap> sideways toward the {{side}}{hi} {t}", f"<hop> to the {{side}} with both feet{hi} {t}",
                f"<jump> to {{poss}} {{side}}{hi} {t}"]
    return [f"<jump> in place{hi} {t}", f"<jump> up and down{hi} {t}", f"<jump> straight up{hi} {t}",
            f"<jump> on the spot{hi} {t}", f"<hop> in place with both feet{hi} {t}", f"<jump>{hi} {t}",
            f"<bounce> up and down{hi} {t}", f"<leap> straight up{hi} {t}"]


@entry("hop")
def _hop(a):
    return ["<hop> on the {side} leg {times}", "<hop> on the {side} foot {times}", "<hop> on {poss} {side} foot {times}",
            "<hop> on one foot, the {side} one, {times}", "<jump> on the {side} leg only {times}",
            "<hop> {times} on the {side} leg", "<keep> the other foot up and <hop> on the {side} {times}",
            "<bounce> on the {side} foot {times}"]


@entry("jumping_jacks")
def _jacks(a):
    return ["<do> {n} jumping jacks", "<do> jumping jacks {times}", "<perform> {n} jumping jacks",
            "<do> {n} star-shaped jacks", "<do> {n} jacks",
            "<complete> {n} jumping jacks", "<do> a set of {n} jumping jacks"]


@entry("star_jump")
def _star(a):
    return ["<do> {n} star jumps" if a.get("count", 1) > 1 else "<do> a star jump",
            "<jump> into a star shape {times}", "<leap> up spreading arms and legs wide {times}",
            "<perform> a star jump {times}", "<jump> and <spread> out like a star {times}",
            "<do> a star jump with arms and legs wide {times}"]


@entry("squat_jump")
def _squat_jump(a):
    return ["<do> {n} squat jumps" if a.get("count", 1) > 1 else "<do> a squat jump",
            "<squat> down and <jump> up {times}", "<jump> up from a deep squat {times}",
            "<perform> a squat jump {times}", "<crouch> low then <explode> upward {times}",
            "<do> jump squats {times}"]


@entry("tuck_jump")
def _tuck(a):
    return ["<do> a tuck jump {times}", "<jump> and <pull> the knees to the chest {times}",
            "<leap> up tucking the knees {times}", "<perform> a tuck jump {times}", "<jump> high with knees tucked {times}"]


@entry("jump_turn")
def _jump_turn(a):
    return ["<jump> and <turn> {deg} to the {side} in the air", "<jump> up, turning {deg} to the {side}",
            "<do> a jump with a {degn}-degree turn to the {side}", "<leap> and <spin> {deg} toward the {side}",
            "<jump> while rotating {deg} to the {side}", "<jump> around {deg} to the {side}"]


@entry("jump_rope")
def _rope(a):
    return ["<jump> rope", "<skip> rope", "<jump> rope {n} times", "<do> {n} hops as if skipping rope",
            "<jump> over an imaginary rope {times}", "<pretend> to jump rope", "<jump> rope, hopping lightly {times}"]


@entry("squat")
def _squat(a):
    one = a.get("count", 1) == 1
    return (["<squat> down and <stand> up", "<do> a squat", "<squat> once", "<do> one squat", "<bend> the knees into a squat"]
            if one else ["<do> {n} squats", "<squat> {times}", "<do> squats {times}", "<squat> down and up {times}",
                         "<perform> {n} squats", "<do> {n} knee bends", "<squat> {times} in a row"])


@entry("crouch")
def _crouch(a):
    return ["<crouch> down", "<crouch> down and <stand> back up", "<crouch> low", "<duck> down low",
            "<crouch> and then <get> back up", "<squat> down low for a moment", "<hunker> down", "<duck> down and back up"]


@entry("kick")
def _kick(a):
    t = " {times}" if a.get("count", 1) > 1 else ""
    return [f"<kick> with the {{side}} leg{t}", f"<kick> forward with the {{side}} foot{t}",
            f"<do> a front kick with the {{side}} leg{t}", f"<kick> with {{poss}} {{side}} foot{t}",
            f"<kick> out in front with the {{side}} leg{t}", f"<throw> a kick with the {{side}} leg{t}",
            f"<kick> the air with the {{side}} foot{t}"]


@entry("side_kick")
def _side_kick(a):
    t = " {times}" if a.get("count", 1) > 1 else ""
    return [f"<kick> sideways with the {{side}} leg{t}", f"<do> a side kick with the {{side}} leg{t}",
            f"<kick> out to the side with the {{side}} foot{t}", f"<throw> a side kick with {{poss}} {{side}} leg{t}",
            f"<kick> the {{side}} leg out to the side{t}"]


@entry("stand_one_foot")
def _one_foot(a):
    return ["<stand> on the {side} foot {secs}", "<balance> on {poss} {side} leg {secs}",
            "<stand> on one leg, the {side} one, {secs}", "<lift> one foot and <balance> on the {side} {secs}",
            "<stand> on {poss} {side} foot with the other raised {secs}", "<hold> a one-legged stance on the {side} leg {secs}",
            "<balance> on the {side} foot {secs}"]


@entry("lunge")
def _lunge(a):
    one = a.get("count", 1) == 1
    return (["<lunge> forward with the {side} leg", "<do> a lunge with the {side} leg", "<step> into a lunge with the {side} foot",
             "<do> a forward lunge on the {side} leg", "<lunge> forward on {poss} {side} leg"] if one else
            ["<do> {n} lunges with the {side} leg", "<lunge> forward with the {side} leg {times}",
             "<do> {n} forward lunges leading with the {side} foot", "<step> into a lunge with the {side} leg {times}",
             "<perform> {n} lunges on the {side} leg"])


@entry("stomp")
def _stomp(a):
    return ["<stomp> the {side} foot {times}", "<stomp> with the {side} foot {times}", "<stomp> {poss} {side} foot {times}",
            "<stamp> the {side} foot on the ground {times}", "<stamp> {times} with the {side} foot",
            "<raise> the {side} knee and <stomp> down {times}"]


@entry("step_over")
def _step_over(a):
    return ["<step> over something, leading with the {side} leg", "<step> over an obstacle with the {side} foot first",
            "<lift> the {side} leg high to step over something", "<step> over a low hurdle leading with the {side} leg",
            "<climb> over an imaginary log, {side} foot first", "<step> high over an object with the {side} leg first"]


@entry("leg_swing")
def _leg_swing(a):
    return ["<swing> the {side} leg back and forth {times}", "<swing> {poss} {side} leg forward and back {times}",
            "<do> {n} leg swings with the {side} leg", "<kick> the {side} leg forward and backward {times}",
            "<swing> the {side} leg like a pendulum {times}"]


@entry("calf_raise")
def _calf(a):
    one = a.get("count", 1) == 1
    return (["<rise> up onto the toes and back down", "<do> a calf raise", "<stand> up on tiptoes once"] if one else
            ["<do> {n} calf raises", "<rise> onto the toes {times}", "<lift> the heels off the ground {times}",
             "<go> up on tiptoes {times}", "<raise> up on the toes and <lower> down {times}"])


@entry("tiptoe")
def _tiptoe(a):
    return ["<walk> forward on tiptoes", "<tiptoe> forward", "<walk> on the toes", "<sneak> forward on tiptoe",
            "<tiptoe> ahead quietly", "<walk> forward on the balls of the feet", "<creep> forward on tiptoes"]


@entry("high_knees")
def _high_knees(a):
    return ["<do> high knees", "<run> in place bringing the knees up high", "<do> high knees on the spot",
            "<jog> in place lifting the knees to the waist", "<perform> a high knees drill", "<pump> the knees up high in place"]


@entry("jog_in_place")
def _jog_in_place(a):
    return ["<jog> in place", "<jog> on the spot", "<run> in place", "<jog> without moving forward",
            "<do> a light jog on the spot", "<jog> in place to warm up", "<run> on the spot"]


@entry("skip")
def _skip(a):
    return ["<skip> forward", "<skip> along", "<skip> ahead happily", "<skip> forward with a hop on each step",
            "<do> a skip forward", "<skip> across the floor"]


@entry("gallop")
def _gallop(a):
    return ["<gallop> forward with the {side} foot leading", "<gallop> ahead leading with the {side} leg",
            "<gallop> forward like a horse, {side} foot in front", "<do> a gallop with the {side} leg in front",
            "<gallop> along, {side} leg first"]


@entry("side_shuffle")
def _shuffle(a):
    return ["<side-shuffle> to the {side}", "<shuffle> quickly sideways to the {side}", "<do> a side shuffle to the {side}",
            "<slide> sideways to the {side} in a defensive stance", "<shuffle> to the {side} like a basketball defender",
            "<move> to the {side} with quick shuffling steps"]


@entry("grapevine")
def _grapevine(a):
    return ["<do> a grapevine to the {side}", "<grapevine> to the {side}", "<step> sideways to the {side}, crossing the feet",
            "<move> to the {side} crossing one foot behind the other", "<do> grapevine steps toward the {side}",
            "<travel> {side} with crossing steps"]


@entry("limp")
def _limp(a):
    return ["<limp> forward on a sore {side} leg", "<limp> forward, favoring the {side} leg", "<walk> with a limp on the {side} leg",
            "<limp> ahead because the {side} leg hurts", "<hobble> forward on an injured {side} leg",
            "<limp> along, barely putting weight on the {side} foot"]


__all__ = ["L"]
