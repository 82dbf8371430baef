"""Limits and defaults of generation, in one place for the pipeline, the command line and the app.

Everything that checks a user's request (``MotionPipeline.generate``, ``easytune sample``, the app's
input checks and sliders, fine-tuning prompt lists) reads these names, so a limit changes here or
nowhere. Lengths follow HumanML3D: 20 frames per second, at most 196 frames (9.8 s).
"""

from __future__ import annotations

FPS = 20.0
"""Frame rate of HumanML3D motions (frames per second)."""

MAX_FRAMES = 196
"""Longest motion in frames (HumanML3D drops motions of 200 frames or more and crops to multiples of 4)."""

MIN_SECONDS = 1.0
"""Shortest motion a request may ask for, in seconds."""

MAX_SECONDS = MAX_FRAMES / FPS
"""Longest motion a request may ask for, in seconds (9.8)."""

DEFAULT_SECONDS = 4.0
"""Length used when a library or command-line request gives none, in seconds."""

APP_DEFAULT_SECONDS = 6.0
"""Length pre-selected in the app's Compare tab, in seconds (long enough to see a walk turn into a wave)."""

MAX_PROMPT_CHARS = 400
"""Longest prompt accepted, in characters (after stripping surrounding white space); the built-in
everyday world's longest captions (four clauses with a setting) reach about 340."""

DEFAULT_GUIDANCE = 2.5
"""Classifier-free guidance weight used when none is given (MDM's sampling default)."""

MAX_GUIDANCE = 20.0
"""Largest guidance weight accepted; 0 means unconditional, 1 conditional without guidance."""

APP_MAX_GUIDANCE_SLIDER = 10.0
"""Right end of the app's guidance slider (the API still accepts up to MAX_GUIDANCE)."""

DEFAULT_STEPS = 50
"""DDIM steps used when none are given (the step count the shipped models were fine-tuned and evaluated at)."""

MAX_STEPS = 1000
"""Most DDIM steps a request may ask for (the models are trained with 1000 diffusion steps)."""

MAX_SEED = 2**31 - 1
"""Largest seed accepted by the app (seeds are whole numbers from 0)."""

__all__ = ["FPS", "MAX_FRAMES", "MIN_SECONDS", "MAX_SECONDS", "DEFAULT_SECONDS", "APP_DEFAULT_SECONDS",
           "MAX_PROMPT_CHARS", "DEFAULT_GUIDANCE", "MAX_GUIDANCE", "APP_MAX_GUIDANCE_SLIDER", "DEFAULT_STEPS",
           "MAX_STEPS", "MAX_SEED"]
