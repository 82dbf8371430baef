"""Shared word banks for captions: subjects, numbers, pace and manner adverbs, angles, durations.

Every phrase here must stay true when a motion is mirrored with its caption: the only sided
words are "left" and "right" (which mirroring swaps); nothing says clockwise.
"""

from __future__ import annotations

# Subjects with the possessive and pronoun they take ("his" / "her" / "their").
SUBJECTS = {
    "m": ("a man", "the man", "a guy", "a boy", "a young man", "an old man", "an elderly man", "a gentleman",
          "a tall man", "a middle-aged man", "a male figure", "the guy", "a teenage boy", "a bearded man",
          "a grandfather", "a father", "a businessman", "a muscular man", "a skinny guy", "a bald man",
          "a fellow", "a schoolboy", "a grandpa", "a mustached man"),
    "f": ("a woman", "the woman", "a girl", "a lady", "a young woman", "an old woman", "an elderly woman",
          "a female figure", "the lady", "a teenage girl", "a slim woman", "a grandmother", "a mother",
          "a businesswoman", "a petite woman", "a curly-haired woman", "a schoolgirl", "a grandma",
          "a blonde woman", "a red-haired girl"),
    "n": ("a person", "the person", "someone", "somebody", "a figure", "a human", "an individual", "the figure",
          "a character", "the subject", "an adult", "a kid", "a child", "a performer", "an actor", "a stick figure",
          "the character", "this person", "the individual", "a player", "a nurse", "a teacher",
          "a student", "a tourist", "a chef", "a doctor", "a farmer", "a pilot", "a painter", "a musician",
          "a mechanic", "a librarian", "a gardener", "a volunteer", "a pedestrian", "a passenger", "a customer",
          "a visitor", "a stranger", "a teenager", "an avatar", "a mannequin", "a puppet", "a robot",
          "an office worker", "a shop assistant", "a waiter", "a scientist", "a firefighter", "a police officer",
          "a commuter", "a janitor", "a plumber", "an electrician", "a carpenter", "a lifeguard", "a referee",
          "a cashier", "a barista",
          "a journalist", "a photographer", "a programmer", "an architect", "a lawyer", "a banker", "a pharmacist",
          "a dentist", "a veterinarian", "a surgeon", "an astronaut", "a clown", "a magician", "a singer",
          "a violinist", "a pianist", "a poet", "an intern", "a retiree", "a security guard", "a caretaker"),
}
SPORTY = {"m": ("an athlete", "a sportsman", "a fit man"), "f": ("an athlete", "a sportswoman", "a fit woman"),
          "n": ("an athlete", "a trainee", "a gym-goer")}
DANCERS = ("a dancer", "the dancer", "a performer")
POSS = {"m": ("his",), "f": ("her",), "n": ("their", "his", "her")}
PRON = {"m": "he", "f": "she", "n": "the person"}

NUM = {1: "one", 2: "two", 3: "three", 4: "four", 5: "five", 6: "six", 7: "seven", 8: "eight", 9: "nine",
       10: "ten"}
TIMES = {1: ("once", "one time", "a single time"), 2: ("twice", "two times", "2 times"),
         3: ("three times", "3 times", "thrice"), 4: ("four times", "4 times"), 5: ("five times", "5 times"),
         6: ("six times", "6 times"), 7: ("seven times", "7 times"), 8: ("eight times", "8 times")}
ORDINAL = {1: "first", 2: "second", 3: "third", 4: "fourth"}

PACE = {
    "slow": (" slowly", " at a slow pace", " leisurely", " unhurriedly", " at a relaxed pace", " gently",
             " lazily", " without hurrying", " at a gentle pace", " in a slow manner", " carefully"),
    "fast": (" quickly", " fast", " briskly", " rapidly", " hurriedly", " at a fast pace", " speedily",
             " in a hurry", " at a quick pace", " swiftly", " energetically"),
    "normal": ("", "", "", " at a normal pace", " at an ordinary pace", " steadily", " at a steady pace", " casually"),
}

STYLE = {
    "happy": (" happily", " cheerfully", " joyfully", " merrily", " in a happy way", " with a bounce in the step",
              " gleefully", " in a cheerful mood", " with a spring in the step", " bouncily"),
    "sad": (" sadly", " gloomily", " dejectedly", " sorrowfully", " with the head hanging low", " in a sad way",
            " mournfully", " with slumped shoulders", " looking down at the floor", " miserably"),
    "angry": (" angrily", " furiously", " aggressively", " in an angry way", " with heavy stomping steps",
              " in a rage", " irritably", " with clenched fists", " looking annoyed", " in a furious mood"),
    "tired": (" tiredly", " wearily", " sluggishly", " in an exhausted way", " dragging the feet",
              " as if exhausted", " with drooping shoulders", " like someone worn out", " lethargically",
              " as if very sleepy"),
    "drunk": (" drunkenly", " unsteadily", " like a drunk person", " while staggering from side to side",
              " swaying like someone who had too much to drink", " in a wobbly zigzag", " tipsily",
              " as if intoxicated", " weaving unsteadily", " like a drunkard"),
    "zombie": (" like a zombie", " like a zombie with both arms stretched out in front", " in a zombie-like way",
               " stiffly like the undead", " as if a zombie, arms reaching forward", " like a lurching zombie",
               " zombie style", " like a monster from a horror film"),
    "proud": (" proudly", " confidently", " with the chest puffed out", " with the chin up", " triumphantly",
              " in a proud way", " majestically", " like a proud soldier", " with a confident posture",
              " haughtily"),
}

# Angles: how a turn by that many degrees can be said (each fits "turns ... to the left").
DEGREES = {
    45: ("45 degrees", "forty-five degrees", "an eighth of a turn", "a slight 45 degrees"),
    90: ("90 degrees", "ninety degrees", "a quarter turn", "a quarter of a full turn"),
    135: ("135 degrees", "a hundred and thirty-five degrees", "three eighths of a turn"),
    180: ("180 degrees", "a hundred and eighty degrees", "a half turn", "halfway around"),
    270: ("270 degrees", "two hundred and seventy degrees", "three quarters of a turn", "a three-quarter turn"),
    360: ("360 degrees", "a full circle", "a full turn", "all the way around", "one complete turn"),
}

SECONDS = {1: ("for a second", "for one second", "briefly", "for a moment"),
           2: ("for two seconds", "for 2 seconds", "for a couple of seconds", "for about two seconds"),
           3: ("for three seconds", "for 3 seconds", "for about three seconds", "for a few seconds"),
           4: ("for four seconds", "for 4 seconds", "for about four seconds"),
           5: ("for five seconds", "for 5 seconds", "for about five seconds")}
METERS = {1: ("about one meter", "roughly a meter", "a meter or so", "one metre"),
          2: ("about two meters", "roughly 2 meters", "two metres", "a couple of meters"),
          3: ("about three meters", "roughly 3 meters", "three metres"),
          4: ("about four meters", "roughly 4 meters", "four metres"),
          5: ("about five meters", "roughly 5 meters", "five metres"),
          6: ("about six meters", "roughly 6 meters", "six metres")}

# Openings and frames around a sentence; {s} subject, {v} third-person verb phrase, {g} -ing phrase.
FRAMES = ("{s} {v}", "{s} {v}", "{s} {v}", "{s} {v}", "{s} {v}", "{s} is {g}", "{s} is {g}",
          "in this clip {s} {v}", "here {s} {v}", "the video shows {s} {g}", "we see {s} {g}", "{s} can be seen {g}",
          "the motion shows {s} {g}", "{s} starts by {g}", "in the recording, {s} {v}", "this is {s} {g}",
          "the animation depicts {s} {g}", "footage of {s} {g}", "the clip captures {s} {g}", "in this sequence {s} {v}",
          "the scene shows {s} {g}", "a motion capture of {s} {g}", "on screen, {s} {v}", "the recording features {s} {g}",
          "an animation where {s} {v}", "the camera films {s} {g}", "our subject, {s}, {v}")
WHILE = (" while {g}", " while {g}", " and {v} at the same time", ", {g} as {p} goes", " and {v} simultaneously",
         " while also {g}", ", all the while {g}", " as {p} {v}")
THEN = (", then {v}", " and then {v}", ", after that {p} {v}", ". after that, {p} {v}", ", afterwards {p} {v}",
        ", next {p} {v}", " before {g}", ", followed by {g}", " and afterwards {v}", ", and then {v}",
        ". then {p} {v}", "; after that {p} {v}", ", and once done {p} {v}", ", and subsequently {v}")
FINALLY = (", and finally {v}", " and lastly {v}", ", and at the end {v}", ". finally {p} {v}", ", then finally {v}",
           ", and to finish {p} {v}")

__all__ = ["SUBJECTS", "SPORTY", "DANCERS", "POSS", "PRON", "NUM", "TIMES", "ORDINAL", "PACE", "STYLE", "DEGREES",
           "SECONDS", "METERS", "FRAMES", "WHILE", "THEN", "FINALLY"]
