"""Input checks for every event. Each raises ValueError with a message that says what to fix;
`user_errors` turns those into `gr.Error` so the browser and gradio_client both show them."""

from __future__ import annotations

import functools
import logging
import math
from typing import Any, Callable

import gradio as gr

log = logging.getLogger("easytune.app")

from easytune_core.limits import MAX_GUIDANCE, MAX_PROMPT_CHARS, MAX_SECONDS, MAX_SEED, MAX_STEPS, MIN_SECONDS  # noqa: F401

MAX_FINETUNE_STEPS = 100_000
MAX_PROMPT_LINES = 1000


def _number(value: Any, name: str) -> float:
    if value is None or (isinstance(value, str) and not value.strip()):
        raise ValueError(f"{name} is empty: enter a number")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number, got {value!r}") from None
    if not math.isfinite(number):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    return number


def check_prompt(prompt: Any) -> str:
    """A non-empty caption of at most MAX_PROMPT_CHARS (400) characters, stripped."""
    if not isinstance(prompt, str) or not prompt.strip():
        raise ValueError("the prompt is empty: describe a motion, e.g. 'a person walks forward and waves'")
    prompt = prompt.strip()
    if len(prompt) > MAX_PROMPT_CHARS:
        raise ValueError(f"the prompt has {len(prompt)} characters: shorten it to at most {MAX_PROMPT_CHARS}")
    return prompt


def check_seconds(seconds: Any) -> float:
    """Motion length in seconds, MIN_SECONDS–MAX_SECONDS (1.0–9.8: HumanML3D's 196 frames at 20 fps)."""
    value = _number(seconds, "length")
    if not MIN_SECONDS <= value <= MAX_SECONDS:
        raise ValueError(f"length must be between {MIN_SECONDS} and {MAX_SECONDS} seconds, got {value:g}")
    return value


def check_seed(seed: Any) -> int:
    """A whole number in [0, 2**31 - 1]."""
    value = _number(seed, "seed")
    if value != int(value):
        raise ValueError(f"seed must be a whole number, got {value:g}")
    if not 0 <= value <= MAX_SEED:
        raise ValueError(f"seed must be between 0 and {MAX_SEED}, got {int(value)}")
    return int(value)


def check_guidance(guidance: Any) -> float:
    """Classifier-free guidance scale in [0, MAX_GUIDANCE]; 1 means no guidance."""
    value = _number(guidance, "guidance")
    if not 0.0 <= value <= MAX_GUIDANCE:
        raise ValueError(f"guidance must be between 0 and {MAX_GUIDANCE:g}, got {value:g}")
    return value


def check_steps(steps: Any, name: str = "diffusion steps", maximum: int = MAX_STEPS) -> int:
    """A whole number of steps in [1, maximum]."""
    value = _number(steps, name)
    if value != int(value) or not 1 <= value <= maximum:
        raise ValueError(f"{name} must be a whole number between 1 and {maximum}, got {value:g}")
    return int(value)


def check_learning_rate(lr: Any) -> float:
    """A positive learning rate no larger than 0.1."""
    value = _number(lr, "learning rate")
    if not 0.0 < value <= 0.1:
        raise ValueError(f"learning rate must be above 0 and at most 0.1 (try 1e-5), got {value:g}")
    return value


def check_choice(value: Any, choices: list[str], name: str) -> str:
    """One of `choices`."""
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(choices)}; got {value!r}")
    return value


def parse_prompt_lines(text: Any) -> list[str]:
    """User prompts for fine-tuning: one per line, blank lines ignored, each a valid prompt."""
    if not isinstance(text, str) or not text.strip():
        raise ValueError("no prompts given: write one motion description per line, or choose the train split")
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if len(lines) > MAX_PROMPT_LINES:
        raise ValueError(f"{len(lines)} prompt lines given: use at most {MAX_PROMPT_LINES}")
    for number, line in enumerate(lines, 1):
        try:
            check_prompt(line)
        except ValueError as exc:
            raise ValueError(f"prompt line {number}: {exc}") from None
    return lines


def user_errors(fn: Callable) -> Callable:
    """Run an event handler; input and model errors become `gr.Error(message)` for the user.

    ValueError covers the checks above and the core's CheckpointError; anything else is logged
    with its traceback and shown briefly, and the app keeps serving."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except gr.Error:
            raise
        except (ValueError, FileNotFoundError) as exc:
            # A user's mistake, answered in the page: no traceback in the server log.
            log.info("event %s refused: %s", fn.__name__, exc)
            raise gr.Error(str(exc), print_exception=False) from None
        except Exception as exc:  # keep serving; tell the user what broke
            log.exception("event %s failed", fn.__name__)
            raise gr.Error(f"{type(exc).__name__}: {exc}", print_exception=False) from None

    return wrapper
