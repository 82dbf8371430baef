"""A tiny run of every stage of scripts/train_shipped.sh on a small everyday-world folder, with the
fake text encoder: evaluator, reward (pre-training + SPL), base, EasyTune (the base trained two
more steps) and the evaluator's test-split scores of both generators (``evaluate --json``).

Used by tests of the scripts that read such runs (shipping, reports). About 15 s on 2 CPU cores."""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import pytest

TINY_BASE = ["--width", "32", "--layers", "1", "--heads", "2", "--ff", "64", "--batch-size", "6", "--val-every", "2",
             "--ckpt-every", "2", "--warmup", "1", "--quiet", "--max-frames", "80", "--threads", "1"]


def _run(module, argv) -> None:
    p = argparse.ArgumentParser()
    module.add_arguments(p)
    assert module.run(p.parse_args(argv)) == 0


def fake_text_patch() -> pytest.MonkeyPatch:
    """A MonkeyPatch (undo it when done) under which every text encoder is the fake one."""
    import easytune_core.text as text_module
    from tests.support.fakes import FakeTextEncoder

    mp = pytest.MonkeyPatch()
    enc = FakeTextEncoder()
    mp.setattr(text_module, "get_text_encoder", lambda name="minilm", device=None, path=None: enc)
    return mp


def build_tiny_run(root: Path) -> tuple[Path, Path, dict]:
    """Build the run under ``root`` (call under :func:`fake_text_patch`); returns (data, runs, evals)
    with ``evals[model]`` the ``evaluate --json`` file of ``base`` and ``easytune``."""
    from easytune_core.cli import main as cli_main
    from easytune_core.data.builtin import generate_builtin
    from easytune_core.eval import train as etrain
    from easytune_core.reward import train as rtrain

    data = root / "data" / "everyday"
    generate_builtin(data, size=160, seed=5, workers=1, world="everyday")
    runs = root / "runs" / "everyday"
    _run(etrain, ["--data", str(data), "--out", str(runs / "evaluator"), "--steps", "2", "--batch-size", "8",
                  "--hidden", "8", "--movement-dim", "8", "--embed-dim", "6", "--threads", "1",
                  "--text-encoder", "fake", "--dup-encoder", "fake"])
    common = ["--data", str(data), "--batch-size", "8", "--width", "16", "--layers", "1", "--embed-dim", "8",
              "--threads", "1", "--eval-split", "test"]
    _run(rtrain, common + ["--out", str(runs / "reward_pretrain"), "--steps", "2"])
    _run(rtrain, common + ["--out", str(runs / "reward"), "--spl", "--steps", "1",
                           "--init", str(runs / "reward_pretrain")])
    assert cli_main(["train-base", "--data", str(data), "--out", str(runs / "base"), "--steps", "2", *TINY_BASE]) == 0
    shutil.copytree(runs / "base", runs / "easytune")
    assert cli_main(["train-base", "--data", str(data), "--out", str(runs / "easytune"), "--steps", "4",
                     "--resume", *TINY_BASE]) == 0
    shutil.rmtree(runs / "easytune" / "resume")
    evals = {}
    for stage in ("base", "easytune"):
        evals[stage] = root / f"eval_{stage}.json"
        assert cli_main(["evaluate", "--checkpoint", str(runs / stage), "--evaluator", str(runs / "evaluator"),
                         "--data", str(data), "--split", "test", "--max-prompts", "32", "--repeats", "1",
                         "--mm-prompts", "0", "--steps", "2", "--threads", "1", "--json", str(evals[stage])]) == 0
    return data, runs, evals
