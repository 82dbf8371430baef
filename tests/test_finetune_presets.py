"""The named recipe that made the shipped EasyTune checkpoint: the preset, the configuration recorded in
the checkpoint, the command it recorded and the commands the README and docs print all agree."""

from __future__ import annotations

import argparse
import dataclasses
import json
import re
import shlex
from pathlib import Path

import pytest

from easytune_core.finetune.cli import FinetuneCommand, add_arguments, configs_from_args
from easytune_core.finetune.config import FinetuneConfig
from easytune_core.finetune.presets import PRESETS, get_preset

ROOT = Path(__file__).resolve().parent.parent
RECIPE = [f.name for f in dataclasses.fields(FinetuneConfig) if f.name != "extra"]


def parse(argv: list[str]):
    p = argparse.ArgumentParser()
    add_arguments(p)
    return configs_from_args(p.parse_args(argv))


def recipe(cfg: FinetuneConfig) -> dict:
    return {k: getattr(cfg, k) for k in RECIPE}


def documented_commands(text: str) -> list[list[str]]:
    """Every `... finetune ...` command in the fenced shell blocks of a markdown text, as argv after 'finetune'."""
    out = []
    for block in re.findall(r"```bash\n(.*?)```", text, re.S):
        for cmd in block.replace("\\\n", " ").splitlines():
            words = shlex.split(cmd.split("#")[0]) if cmd.strip() else []
            if "finetune" in words and any(w.endswith("easytune_core") or w == "easytune" for w in words):
                out.append(words[words.index("finetune") + 1:])
    return out


@pytest.mark.parametrize("name", list(PRESETS))
def test_preset_equals_the_config_recorded_in_the_checkpoint_it_reproduces(name):
    preset = get_preset(name)
    meta = json.loads((ROOT / preset.reproduces / "config.json").read_text())["meta"]
    recorded = FinetuneConfig.from_dict(meta["finetune"])  # the old checkpoint's config still loads
    assert recipe(FinetuneConfig(**preset.finetune)) == recipe(recorded)
    assert meta["optimiser_steps"] == preset.finetune["max_steps"]


def test_the_recorded_command_still_parses_to_the_preset():
    preset = get_preset("easytune-shipped")
    meta = json.loads((ROOT / preset.reproduces / "config.json").read_text())["meta"]
    words = shlex.split(meta["finetune"]["extra"]["command"])
    cmd, cfg = parse(words[words.index("finetune") + 1:])
    _, from_preset = parse(["--preset", preset.name, "--out", "x"])
    assert recipe(cfg) == recipe(from_preset)
    for key, value in preset.command.items():
        assert getattr(cmd, key) == value


@pytest.mark.parametrize("doc", ["README.md", "docs/finetune.md"])
def test_documented_shipped_recipe_is_the_preset_and_nothing_overrides_it(doc):
    commands = [c for c in documented_commands((ROOT / doc).read_text(encoding="utf-8")) if "--preset" in c]
    assert commands, f"{doc} should show the shipped recipe as `finetune --preset easytune-shipped`"
    for argv in commands:
        cmd, cfg = parse(argv)
        preset = get_preset(cmd.preset)
        assert recipe(cfg) == recipe(FinetuneConfig(**preset.finetune)), " ".join(argv)
        assert all(getattr(cmd, k) == v for k, v in preset.command.items())


def test_flags_override_a_preset_and_the_run_records_a_self_contained_command():
    cmd, cfg = parse(["--preset", "easytune-shipped", "--out", "runs/x", "--steps", "10", "--lora-rank", "4"])
    assert (cfg.max_steps, cfg.lora_rank, cfg.batch_size, cfg.lr) == (10, 4, 64, 1e-5)
    assert cfg.extra["preset"] == "easytune-shipped" and "--preset" not in cfg.extra["command"]
    words = shlex.split(cfg.extra["command"])
    again_cmd, again = parse(words[words.index("finetune") + 1:])
    assert recipe(again) == recipe(cfg) and again_cmd == dataclasses.replace(cmd, preset=None)


def test_without_a_preset_the_defaults_apply_and_unknown_presets_are_refused():
    _, cfg = parse(["--out", "x"])
    assert recipe(cfg) == recipe(FinetuneConfig())
    with pytest.raises(ValueError, match="unknown preset 'nope'"):
        FinetuneCommand(out="x", preset="nope")
