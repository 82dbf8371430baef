"""One source of truth for the limits and defaults of generation: the pipeline, the `sample` command,
the app's checks and fine-tuning prompt lists all read easytune_core.limits."""

from __future__ import annotations

import argparse

import pytest

from easytune_core import limits
from easytune_core.finetune.prompts import ListPrompts
from easytune_core.pipeline import check_prompts, seconds_to_frames


def test_values_are_humanml3d_and_consistent():
    assert limits.MAX_SECONDS == 9.8 and limits.MAX_FRAMES == round(limits.MAX_SECONDS * limits.FPS)
    assert limits.MIN_SECONDS <= limits.DEFAULT_SECONDS <= limits.MAX_SECONDS
    assert limits.MIN_SECONDS <= limits.APP_DEFAULT_SECONDS <= limits.MAX_SECONDS
    assert 0 <= limits.DEFAULT_GUIDANCE <= limits.APP_MAX_GUIDANCE_SLIDER <= limits.MAX_GUIDANCE
    assert 1 <= limits.DEFAULT_STEPS <= limits.MAX_STEPS


def test_sample_command_defaults_are_the_limits():
    from easytune_core import pipeline_cli

    p = argparse.ArgumentParser()
    pipeline_cli.add_arguments(p)
    args = p.parse_args(["--prompt", "a person walks"])
    # guidance and steps default to the model's own, which for a model trained here are the limits' defaults
    assert (args.seconds, args.guidance, args.steps) == (limits.DEFAULT_SECONDS, None, None)
    from easytune_core.diffusion import DenoiserConfig
    cfg = DenoiserConfig()
    assert (cfg.default_guidance, cfg.default_steps) == (limits.DEFAULT_GUIDANCE, limits.DEFAULT_STEPS)


def test_library_and_app_accept_and_refuse_the_same_lengths_and_prompts():
    checks = pytest.importorskip("app.checks")
    edge = "x" * limits.MAX_PROMPT_CHARS
    assert check_prompts([edge]) == [edge] and checks.check_prompt(edge) == edge
    assert ListPrompts([edge]).prompts == [edge]
    for refuse in (lambda: check_prompts([edge + "x"]), lambda: checks.check_prompt(edge + "x"),
                   lambda: ListPrompts([edge + "x"])):
        with pytest.raises(ValueError, match=str(limits.MAX_PROMPT_CHARS)):
            refuse()
    for ok in (limits.MIN_SECONDS, limits.MAX_SECONDS):
        assert seconds_to_frames(ok) == round(ok * limits.FPS) and checks.check_seconds(ok) == ok
    for bad in (limits.MIN_SECONDS - 0.01, limits.MAX_SECONDS + 0.01):
        with pytest.raises(ValueError, match="between 1.0 and 9.8 seconds"):
            seconds_to_frames(bad)
        with pytest.raises(ValueError, match="between 1.0 and 9.8 seconds"):
            checks.check_seconds(bad)
    with pytest.raises(ValueError, match="between 0 and 20"):
        checks.check_guidance(limits.MAX_GUIDANCE + 1)


def test_app_defaults_are_the_limits():
    config = pytest.importorskip("app.config")
    assert config.AppConfig().default_steps == limits.DEFAULT_STEPS
