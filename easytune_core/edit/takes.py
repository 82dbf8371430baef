"""Several takes per prompt: N motions per prompt from N seeds, sampled in one batched call.

Take k of a prompt starts from ``make_noise(1, frames, seed + k)``: the same noise that
``generate(prompt, seed=seed + k)`` starts from, so any take can be regenerated alone, edited
or compared with another checkpoint from its seed.
"""

from __future__ import annotations

import math

MAX_TAKES = 16
"""Most takes of one prompt per call (the app and the CLI refuse more)."""


def check_repetitions(n) -> int:
    """A whole number of takes in 1..MAX_TAKES."""
    if isinstance(n, bool):
        raise ValueError(f"the number of takes must be a whole number, got {n!r}")
    try:
        value = float(n)
    except (TypeError, ValueError):
        raise ValueError(f"the number of takes must be a whole number, got {n!r}") from None
    if not math.isfinite(value) or value != int(value) or not 1 <= value <= MAX_TAKES:
        raise ValueError(f"the number of takes must be a whole number between 1 and {MAX_TAKES}, got {n}")
    return int(value)


def sample_takes(pipe, prompts, repetitions: int = 4, seconds=None, frames=None, seed: int = 0,
                 guidance: float = 2.5, steps: int = 50, eta: float = 0.0, on_step=None,
                 return_joints: bool = True, sampler: str = "ddim", spacing: str | None = None):
    """``repetitions`` takes of each prompt in one batched sampling call.

    Args:
        pipe: a MotionPipeline.
        prompts: a string or a list of P strings.
        repetitions: takes per prompt (1..16).
        seconds / frames: length per prompt (scalar or P values), as in ``generate``.
        seed: take k of every prompt uses seed + k.
        sampler, spacing: as in ``MotionPipeline.generate``.
    Returns:
        GenerationResult with B = P * repetitions motions, prompt-major (all takes of prompt 0
        first); ``seeds`` holds each motion's seed.
    """
    from ..pipeline import GenerationResult, check_prompts

    prompts = check_prompts(prompts)
    n = check_repetitions(repetitions)
    lengths_p = pipe.lengths_for(len(prompts), seconds, frames)
    steps, guidance = pipe._check_steps_guidance(steps, guidance)  # None: the model's default
    all_prompts = [p for p in prompts for _ in range(n)]
    lengths = [L for L in lengths_p for _ in range(n)]
    seeds = [int(seed) + k for _ in prompts for k in range(n)]
    noise = pipe.takes_noise(lengths, seeds)
    feats = pipe.sample_motion_features(pipe.encode(all_prompts), lengths, noise, seed=seed, guidance=guidance,
                                 steps=steps, eta=eta, on_step=on_step, sampler=sampler, spacing=spacing)
    joints = pipe.features_to_joints(feats, lengths) if return_joints else None
    return GenerationResult(feats, joints, lengths, all_prompts, int(seed), pipe.fps, seeds=seeds)
