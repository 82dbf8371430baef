"""The one helper that builds every command line from a typed config dataclass."""

from __future__ import annotations

import argparse
import dataclasses
import importlib
from dataclasses import dataclass, field
from typing import Optional

import pytest

from easytune_core.cli import COMMANDS
from easytune_core.cli_config import add_config_arguments, config_from_args, config_to_argv, field_docs


@dataclass
class Toy:
    """A config with one field of each kind the helper supports."""

    out: str = field(default="", metadata={"required": True})
    """Where to write."""
    steps: int = 10
    """How many steps."""
    lr: float = 1e-3
    """Learning rate."""
    amp: bool = True
    """Mixed precision."""
    quiet: bool = False
    """No progress bar."""
    device: Optional[str] = None
    """cpu or cuda."""
    mode: str = field(default="fast", metadata={"choices": ("fast", "slow")})
    """How to run."""
    max_steps: int = field(default=5, metadata={"flag": "--budget"})
    """Renamed on the command line."""
    tags: list[str] = field(default_factory=list)
    """Repeatable."""
    hidden: dict = field(default_factory=dict, metadata={"cli": False})
    """Not on the command line."""

    def __post_init__(self):
        if self.steps < 1:
            raise ValueError(f"steps must be at least 1, got {self.steps}")


def parser_for(cls=Toy, **kw) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="toy")
    add_config_arguments(p, cls, **kw)
    return p


def test_field_docstrings_become_help_with_defaults():
    assert field_docs(Toy)["steps"] == "How many steps."
    text = parser_for().format_help()
    assert "How many steps. (default: 10)" in text and "Renamed on the command line. (default: 5)" in text
    assert "--amp, --no-amp" in text and "--budget BUDGET" in text and "{fast,slow}" in text
    assert "--hidden" not in text


def test_flags_map_to_fields_with_their_types():
    ns = parser_for().parse_args(["--out", "o", "--steps", "3", "--lr", "0.5", "--no-amp", "--quiet", "--device", "cuda",
                                  "--mode", "slow", "--budget", "7", "--tags", "a", "--tags", "b"])
    cfg = config_from_args(Toy, ns)
    assert cfg == Toy(out="o", steps=3, lr=0.5, amp=False, quiet=True, device="cuda", mode="slow", max_steps=7,
                      tags=["a", "b"])
    assert isinstance(cfg.steps, int) and isinstance(cfg.lr, float)


def test_unset_flags_fall_back_to_the_base_then_the_defaults():
    ns = parser_for().parse_args(["--out", "o", "--lr", "0.2"])
    assert set(vars(ns)) == {"out", "lr"}  # nothing else is in the namespace
    cfg = config_from_args(Toy, ns, base={"steps": 4, "lr": 0.9, "unknown": 1})
    assert (cfg.steps, cfg.lr, cfg.mode) == (4, 0.2, "fast")  # user flag > base > default


def test_required_bad_choices_and_validation_are_refused():
    with pytest.raises(SystemExit):
        parser_for().parse_args([])  # --out is required
    with pytest.raises(SystemExit):
        parser_for().parse_args(["--out", "o", "--mode", "medium"])
    with pytest.raises(ValueError, match="steps must be at least 1"):
        config_from_args(Toy, parser_for().parse_args(["--out", "o", "--steps", "0"]))


def test_a_config_written_back_as_flags_parses_to_itself():
    cfg = Toy(out="o", steps=3, amp=False, quiet=True, device="cpu", mode="slow", max_steps=2, tags=["x", "y z"])
    argv = config_to_argv(cfg)
    assert argv[:2] == ["--out", "o"] and "--no-amp" in argv and "--lr" not in argv  # defaults are left out
    assert config_from_args(Toy, parser_for().parse_args(argv)) == cfg


COMMAND_CONFIGS = {
    "train-base": [("easytune_core.diffusion.train", "TrainBaseConfig")],
    "train-reward": [("easytune_core.reward.train", "RewardTrainConfig")],
    "train-evaluator": [("easytune_core.eval.train", "EvaluatorTrainConfig")],
    "finetune": [("easytune_core.finetune.config", "FinetuneConfig"), ("easytune_core.finetune.cli", "FinetuneCommand")],
    "select": [("easytune_core.finetune.select", "SelectConfig")],
    "evaluate": [("easytune_core.eval.protocol", "EvaluateConfig")],
}


@pytest.mark.parametrize("command", list(COMMAND_CONFIGS))
def test_every_option_of_a_trainer_is_a_documented_config_field(command):
    fields = set()
    for module, name in COMMAND_CONFIGS[command]:
        cls = getattr(importlib.import_module(module), name)
        docs = field_docs(cls)
        cli = [f.name for f in dataclasses.fields(cls) if f.metadata.get("cli", True)]
        assert cli and all(docs.get(f) for f in cli), f"{name}: fields without a docstring: " \
            f"{[f for f in cli if not docs.get(f)]}"
        fields |= set(cli)
    parser = argparse.ArgumentParser()
    importlib.import_module(COMMANDS[command][0]).add_arguments(parser)
    assert {a.dest for a in parser._actions} - {"help"} == fields  # nothing added by hand beside the configs
