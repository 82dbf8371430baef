"""The latent family as shipped names: listed by the app and the lookup only where its folders are
installed (a checkout without them serves the other models without errors), refused with the
command that makes them, and written by save_pretrained with the VAE beside the denoiser."""

from __future__ import annotations

import numpy as np
import pytest

from easytune_core.shipped import LATENT_FAMILY, SHIPPED, shipped_checkpoint

LATENT_NAMES = {"latent (shipped)", "latent easytune (shipped)", "few-step (shipped)", "few-step easytune (shipped)"}


def _backend(assets, tmp_path):
    from app.backend import Backend
    from app.config import AppConfig

    return Backend(AppConfig(assets_dir=assets, runs_dir=tmp_path / "runs", outputs_dir=tmp_path / "out",
                             data_dir=tmp_path / "data", device="cpu"))


def test_app_lists_only_the_installed_latent_models(tmp_path):
    from tests.support.standins import build_tiny_assets, build_tiny_latent

    assets = build_tiny_assets(tmp_path / "assets")
    backend = _backend(assets, tmp_path)
    assert backend.checkpoint_choices() == ["base (shipped)", "easytune (shipped)"]
    with pytest.raises(ValueError, match="unknown checkpoint 'few-step \\(shipped\\)'"):
        backend.resolve("few-step (shipped)")
    assert not backend.is_few_step("few-step (shipped)")  # a missing model is simply not few-step
    build_tiny_latent(assets / "checkpoints" / "fewstep", few_step=True)
    backend = _backend(assets, tmp_path)
    assert backend.checkpoint_choices() == ["base (shipped)", "easytune (shipped)", "few-step (shipped)"]
    assert backend.resolve("few-step (shipped)") == assets / "checkpoints" / "fewstep"
    assert backend.is_few_step("few-step (shipped)")


def test_the_repository_assets_list_what_they_hold(tmp_path):
    from app.config import AppConfig

    shipped = AppConfig().checkpoints_dir
    names = _backend(shipped.parent, tmp_path).checkpoint_choices()
    for label, folder in (("latent (shipped)", "latent"), ("few-step (shipped)", "fewstep")):
        assert (label in names) == (shipped / folder / "config.json").exists()
    assert {"base (shipped)", "easytune (shipped)"} <= set(names)


def test_a_missing_latent_model_names_the_command_that_makes_it(tmp_path, monkeypatch):
    assert set(LATENT_FAMILY) <= set(SHIPPED)
    (tmp_path / "checkpoints").mkdir()
    monkeypatch.setenv("EASYTUNE_ASSETS", str(tmp_path))
    monkeypatch.setattr("easytune_core.shipped._PACKAGE", tmp_path / "pkg")
    with pytest.raises(FileNotFoundError, match="train_latent_family.sh"):
        shipped_checkpoint("fewstep")


def test_registry_lists_installed_latent_models_only(tmp_path):
    from easytune_core.checkpoints import CheckpointRegistry
    from tests.support.standins import build_tiny_latent

    build_tiny_latent(tmp_path / "shipped" / "latent")
    names = CheckpointRegistry(tmp_path / "runs", shipped_root=tmp_path / "shipped").list(kind="denoiser")
    assert names == ["latent"]


def test_latent_save_pretrained_keeps_the_vae(tmp_path):
    from easytune_core.pipeline import MotionPipeline
    from tests.support.fakes import FakeTextEncoder
    from tests.support.standins import build_tiny_latent

    folder = build_tiny_latent(tmp_path / "few", seed=4, few_step=True)
    enc = FakeTextEncoder()
    enc.dim = 384  # the stand-in is MiniLM-sized
    pipe = MotionPipeline.from_checkpoint(folder, device="cpu", text_encoder=enc)
    out = pipe.save_pretrained(tmp_path / "saved")
    assert (out / "vae" / "config.json").exists() and (out / "README.md").exists()
    again = MotionPipeline.from_pretrained(str(out), device="cpu", text_encoder=enc)
    a = pipe.generate("a person walks", seconds=2.0, seed=3, steps=2, return_joints=False).features
    b = again.generate("a person walks", seconds=2.0, seed=3, steps=2, return_joints=False).features
    np.testing.assert_array_equal(a, b)
