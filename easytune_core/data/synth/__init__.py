"""Procedural motion-language synthesiser on the HumanML3D 22-joint skeleton.

``synthesize_sample(seed)`` draws 1-3 actions (gaits, jumps, gestures, postures, turns),
builds them as joint-rotation curves, blends them, solves the root from the feet, pins
the stance feet with leg IK, runs forward kinematics and writes matching captions.
"""

from .composer import ACTION_TYPES, ACTION_WEIGHTS, MAX_FRAMES, MIN_FRAMES, SynthConfig, SynthSample, build_action, synthesize_sample

__all__ = ["ACTION_TYPES", "ACTION_WEIGHTS", "MAX_FRAMES", "MIN_FRAMES", "SynthConfig", "SynthSample",
           "build_action", "synthesize_sample"]
