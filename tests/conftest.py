"""Fixtures shared by the test modules (the repository-root conftest.py only sets the environment).

Helpers that are plain functions or classes live in ``tests/support/`` and are imported from there."""

from __future__ import annotations

import pytest


@pytest.fixture
def fake_text(monkeypatch):
    """Every ``get_text_encoder`` call returns one deterministic bag-of-words encoder (16-d, no model)."""
    import easytune_core.text as text_module
    from tests.support.fakes import FakeTextEncoder

    enc = FakeTextEncoder()
    monkeypatch.setattr(text_module, "get_text_encoder", lambda name="minilm", device=None, path=None: enc)
    return enc


@pytest.fixture(scope="session")
def tiny_assets(tmp_path_factory):
    """An assets folder of tiny random stand-in checkpoints (base, easytune, reward, evaluator), shared
    read-only by the whole session; tests that write into checkpoints build their own."""
    from tests.support.standins import build_tiny_assets

    return build_tiny_assets(tmp_path_factory.mktemp("tiny_assets"))


@pytest.fixture
def tiny_dataset(tmp_path):
    """A HumanML3D-layout folder of 40 train and 40 test random motions (see support.fakes)."""
    from tests.support.fakes import make_tiny_dataset

    return make_tiny_dataset(tmp_path / "data")


@pytest.fixture(scope="session")
def tiny_stage_run(tmp_path_factory):
    """A tiny run of every stage of scripts/train_shipped.sh (see support.tiny_runs), built once and
    shared: (root, data, runs, evals). Tests write only new files beside it."""
    from tests.support.tiny_runs import build_tiny_run, fake_text_patch

    root = tmp_path_factory.mktemp("tiny_stage_run")
    mp = fake_text_patch()
    try:
        data, runs, evals = build_tiny_run(root)
    finally:
        mp.undo()
    return root, data, runs, evals
