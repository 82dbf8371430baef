"""Checkpoint folders: round trips, registry, and clear errors for corrupt/foreign/mismatched files."""

import json
import pickle

import numpy as np
import pytest
import torch

from easytune_core.checkpoints import (CheckpointError, CheckpointRegistry, load_checkpoint, load_into,
                                       read_config, save_checkpoint)
from easytune_core.diffusion import DenoiserConfig, MotionDenoiser


def tiny(width=32):
    torch.manual_seed(0)
    cfg = DenoiserConfig(width=width, layers=1, heads=2, ff=64, max_frames=30)
    return MotionDenoiser(cfg).eval(), cfg


@pytest.fixture
def saved(tmp_path):
    m, cfg = tiny()
    mean, std = np.linspace(-1, 1, 263).astype(np.float32), np.linspace(0.5, 2, 263).astype(np.float32)
    save_checkpoint(tmp_path / "ck", m, cfg, "denoiser", mean, std, meta={"step": 7})
    return tmp_path / "ck", m, cfg, mean, std


def test_save_load_gives_identical_outputs(saved):
    folder, m, cfg, mean, std = saved
    ck = load_checkpoint(folder, expected_kind="denoiser")
    assert ck.kind == "denoiser" and ck.meta == {"step": 7} and ck.config["width"] == 32
    np.testing.assert_array_equal(ck.mean, mean)
    np.testing.assert_array_equal(ck.std, std)
    m2 = load_into(MotionDenoiser(DenoiserConfig.from_dict(ck.config)).eval(), ck)
    x, t, e = torch.randn(2, 10, 263), torch.tensor([3, 900]), torch.randn(2, 384)
    with torch.no_grad():
        assert torch.equal(m(x, t, e), m2(x, t, e))
    assert sorted(p.name for p in folder.iterdir()) == ["config.json", "model.safetensors", "stats.safetensors"]


def test_half_precision_save_loads_as_float32(tmp_path):
    m, cfg = tiny()
    save_checkpoint(tmp_path, m, cfg, "denoiser", dtype=torch.float16)
    ck = load_checkpoint(tmp_path)
    assert all(v.dtype == torch.float32 for v in ck.state_dict.values())
    assert ck.mean is None
    m2 = load_into(MotionDenoiser(cfg).eval(), ck)
    x, t, e = torch.randn(1, 10, 263), torch.tensor([10]), torch.randn(1, 384)
    with torch.no_grad():
        assert torch.allclose(m(x, t, e), m2(x, t, e), atol=2e-2)


def test_missing_and_corrupt_files(saved, tmp_path):
    folder = saved[0]
    with pytest.raises(CheckpointError, match="does not exist"):
        load_checkpoint(tmp_path / "nope")
    (folder / "model.safetensors").write_bytes(b"\x00garbage" * 10)
    with pytest.raises(CheckpointError, match="model.safetensors.*corrupt"):
        load_checkpoint(folder)
    (folder / "config.json").write_text("{not json")
    with pytest.raises(CheckpointError, match="config.json is not valid JSON"):
        load_checkpoint(folder)
    (folder / "config.json").unlink()
    with pytest.raises(CheckpointError, match="config.json is missing"):
        load_checkpoint(folder)


def test_pickle_is_never_loaded(saved):
    folder = saved[0]
    (folder / "model.safetensors").write_bytes(pickle.dumps({"w": torch.zeros(3)}))
    with pytest.raises(CheckpointError, match="not a readable safetensors"):
        load_checkpoint(folder)


def test_foreign_and_wrong_kind(saved):
    folder = saved[0]
    with pytest.raises(CheckpointError, match="holds a 'denoiser' checkpoint, expected 'reward'"):
        load_checkpoint(folder, expected_kind="reward")
    cfg = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({"_name_or_path": "bert", "hidden_size": 384}))
    with pytest.raises(CheckpointError, match="not an EasyTune checkpoint"):
        read_config(folder)
    cfg["kind"] = "tokenizer"  # "vae" is a kind now (latent models)
    (folder / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(CheckpointError, match="unknown kind 'tokenizer'"):
        load_checkpoint(folder)


def test_mismatched_weights_and_bad_stats(saved):
    folder = saved[0]
    ck = load_checkpoint(folder)
    with pytest.raises(CheckpointError, match="shape"):
        load_into(tiny(width=64)[0], ck)
    from safetensors.torch import save_file
    save_file({"mean": torch.zeros(263), "std": torch.zeros(263)}, str(folder / "stats.safetensors"))
    with pytest.raises(CheckpointError, match="non-positive std"):
        load_checkpoint(folder)
    save_file({"w": torch.tensor([float("nan")])}, str(folder / "model.safetensors"))
    with pytest.raises(CheckpointError, match="NaN"):
        load_checkpoint(folder)


def test_registry(saved, tmp_path):
    folder = saved[0]
    reg = CheckpointRegistry(tmp_path / "assets")
    assert reg.list() == []
    reg.register("mine", folder, "denoiser")
    assert reg.list() == ["mine"] and reg.list("reward") == []
    assert reg.get("mine") == folder
    assert CheckpointRegistry(tmp_path / "assets").list("denoiser") == ["mine"]  # persisted
    with pytest.raises(CheckpointError, match="not 'reward'"):
        reg.register("r", folder, "reward")
    with pytest.raises(KeyError, match="no checkpoint named"):
        reg.get("other")
    save_checkpoint(tmp_path / "assets" / "base", tiny()[0], tiny()[1], "denoiser")
    assert reg.list("denoiser") == ["base", "mine"]  # shipped folders are found automatically


@pytest.mark.parametrize("content, match", [('{"mine": {"folder": "x", "ki', "is corrupt"), ("[]", "not a list")])
def test_a_corrupt_registry_is_reported_and_never_overwritten(saved, tmp_path, content, match):
    folder = saved[0]
    reg = CheckpointRegistry(tmp_path / "assets")
    (tmp_path / "assets").mkdir()
    (tmp_path / "assets" / "registry.json").write_text(content)
    for call in (reg.list, lambda: reg.register("new", folder, "denoiser")):
        with pytest.raises(CheckpointError, match=match):
            call()
    assert (tmp_path / "assets" / "registry.json").read_text() == content  # the other entries are not lost


@pytest.mark.parametrize("version", [None, "2", 1.5, True])
def test_a_config_with_a_bad_format_version_is_a_clear_error(saved, version):
    folder = saved[0]
    cfg = json.loads((folder / "config.json").read_text())
    cfg["version"] = version
    (folder / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(CheckpointError, match="format version .*expected a whole number"):
        load_checkpoint(folder)
