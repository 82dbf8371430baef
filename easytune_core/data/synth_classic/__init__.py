"""The classic world's synthesiser, frozen: the generator of the dataset the shipped models were trained on.

``synthesize_sample(seed)`` draws 1-3 actions (gaits, jumps, gestures, postures, turns) out of
about thirty, builds them as joint-rotation curves, blends them, solves the root from the feet,
pins the stance feet with leg IK, runs forward kinematics and writes captions from templates.

This package is kept as it was when the shipped models' data was generated, so that
``prepare-data --world classic`` (the default) writes the same bytes for the same seed and size
and the published numbers stay reproducible (a test pins a digest of a small classic dataset).
Improvements go to :mod:`easytune_core.data.synth` (the everyday world), not here.
"""

from .composer import ACTION_TYPES, ACTION_WEIGHTS, MAX_FRAMES, MIN_FRAMES, SynthConfig, SynthSample, build_action, synthesize_sample

__all__ = ["ACTION_TYPES", "ACTION_WEIGHTS", "MAX_FRAMES", "MIN_FRAMES", "SynthConfig", "SynthSample",
           "build_action", "synthesize_sample"]
