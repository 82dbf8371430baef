"""8-bit weight storage: per-row quantisation, int8 checkpoint folders, and `compact`."""

import json

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file

from easytune_core.checkpoints import (INT8_MIN_ELEMENTS, SCALE_SUFFIX, CheckpointError, compact_checkpoint,
                                       load_checkpoint, load_into, quantize_rows, save_checkpoint)
from easytune_core.cli import main
from easytune_core.diffusion import DenoiserConfig, MotionDenoiser


def tiny():
    torch.manual_seed(0)
    cfg = DenoiserConfig(width=64, layers=2, heads=2, ff=128, max_frames=30)
    return MotionDenoiser(cfg).eval(), cfg


def outputs(model):
    g = torch.Generator().manual_seed(1)
    x, e = torch.randn(2, 12, 263, generator=g), torch.randn(2, 384, generator=g)
    with torch.no_grad():
        return model(x, torch.tensor([5, 700]), e)


def test_quantize_rows_is_within_half_a_step_of_each_row():
    g = torch.Generator().manual_seed(0)
    w = torch.randn(16, 40, generator=g) * torch.logspace(-3, 1, 16)[:, None]  # rows of very different scale
    w[3] = 0.0
    q, s = quantize_rows(w)
    assert q.dtype == torch.int8 and q.shape == w.shape and s.shape == (16,) and s.dtype == torch.float32
    assert s[3] == 0 and (q[3] == 0).all()
    back = q.float() * s[:, None]
    step = w.abs().amax(1) / 127
    assert ((back - w).abs() <= step[:, None] / 2 + 1e-7).all()
    assert (q.abs().amax(1)[s > 0] == 127).all()  # each row uses the full range
    q3, s3 = quantize_rows(w.reshape(16, 4, 10))  # more dimensions: one scale per first index
    assert torch.equal(q3.reshape(16, 40), q) and torch.equal(s3, s)
    with pytest.raises(ValueError, match="2 or more"):
        quantize_rows(torch.ones(5))
    with pytest.raises(ValueError, match="NaN"):
        quantize_rows(torch.tensor([[1.0, float("nan")]]))


def test_int8_folder_stores_matrices_as_int8_and_loads_float32(tmp_path):
    m, cfg = tiny()
    mean, std = np.zeros(263, np.float32), np.ones(263, np.float32)
    save_checkpoint(tmp_path / "f16", m, cfg, "denoiser", mean, std, dtype=torch.float16)
    save_checkpoint(tmp_path / "i8", m, cfg, "denoiser", mean, std, meta={"step": 3}, dtype=torch.int8)
    raw = load_file(str(tmp_path / "i8" / "model.safetensors"))
    sd = m.state_dict()
    big = {k for k, v in sd.items() if v.dim() >= 2 and v.numel() >= INT8_MIN_ELEMENTS}
    assert big and all(raw[k].dtype == torch.int8 and raw[k + SCALE_SUFFIX].shape == (sd[k].shape[0],) for k in big)
    assert all(raw[k].dtype == torch.float16 for k in set(sd) - big if sd[k].is_floating_point())
    ck = load_checkpoint(tmp_path / "i8", expected_kind="denoiser")
    assert set(ck.state_dict) == set(sd) and all(v.dtype == torch.float32 for v in ck.state_dict.values())
    assert ck.meta == {"step": 3}
    for k in big:  # each weight within half a step of its row's scale
        step = sd[k].reshape(sd[k].shape[0], -1).abs().amax(1) / 127
        err = (ck.state_dict[k] - sd[k]).reshape(sd[k].shape[0], -1).abs()
        assert (err <= step[:, None] / 2 + 1e-6).all()
    m8 = load_into(MotionDenoiser(cfg).eval(), ck)
    ref = outputs(m)
    assert (outputs(m8) - ref).abs().max() < 0.05 * ref.abs().max()
    size = {d: (tmp_path / d / "model.safetensors").stat().st_size for d in ("f16", "i8")}
    assert size["i8"] < 0.75 * size["f16"]


def test_reserved_names_are_refused(tmp_path):
    m, cfg = tiny()
    sd = dict(m.state_dict())
    sd["extra" + SCALE_SUFFIX] = torch.ones(3)
    with pytest.raises(ValueError, match="reserves"):
        save_checkpoint(tmp_path, None, cfg, "denoiser", state_dict=sd, dtype=torch.int8)


@pytest.mark.parametrize("damage, match", [
    (lambda t, k: t.pop(k + SCALE_SUFFIX), "no row scales"),
    (lambda t, k: t.__setitem__(k + SCALE_SUFFIX, torch.ones(2)), "row scales of"),
    (lambda t, k: t.__setitem__(k + SCALE_SUFFIX, -t[k + SCALE_SUFFIX]), "negative"),
    (lambda t, k: t.__setitem__(k + SCALE_SUFFIX, t[k + SCALE_SUFFIX] * float("nan")), "NaN"),
    (lambda t, k: t.__setitem__("ghost" + SCALE_SUFFIX, torch.ones(2)), "without an int8 tensor"),
    (lambda t, k: t.__setitem__(k, t[k].float()), "without an int8 tensor"),
])
def test_damaged_int8_files_are_clear_errors(tmp_path, damage, match):
    m, cfg = tiny()
    save_checkpoint(tmp_path, m, cfg, "denoiser", dtype=torch.int8)
    path = tmp_path / "model.safetensors"
    t = load_file(str(path))
    damage(t, next(k for k, v in t.items() if v.dtype == torch.int8))
    save_file(t, str(path))
    with pytest.raises(CheckpointError, match=match):
        load_checkpoint(tmp_path)


def test_compact_keeps_config_stats_meta_and_a_latent_models_vae(tmp_path):
    m, cfg = tiny()
    mean, std = np.linspace(-1, 1, 263).astype(np.float32), np.linspace(0.5, 2, 263).astype(np.float32)
    src = save_checkpoint(tmp_path / "src", m, cfg, "denoiser", mean, std, meta={"step": 9})
    save_checkpoint(src / "vae", m, cfg, "vae", mean, std)  # stands in for a latent model's VAE folder
    before = {p.name: p.read_bytes() for p in src.iterdir() if p.is_file()}
    rows = compact_checkpoint(src, tmp_path / "out", "int8")
    assert [r["kind"] for r in rows] == ["denoiser", "vae"]
    assert all(r["bytes_after"] < r["bytes_before"] / 3 and 0 < r["error"] <= 0.5 / 127 + 1e-6 for r in rows)
    assert {p.name: p.read_bytes() for p in src.iterdir() if p.is_file()} == before  # the source is unchanged
    ck = load_checkpoint(tmp_path / "out")
    assert ck.meta == {"step": 9, "storage": {"dtype": "int8", "source": str(src)}}
    np.testing.assert_array_equal(ck.mean, mean)
    np.testing.assert_array_equal(ck.std, std)
    assert ck.config == json.loads((src / "config.json").read_text())["config"]
    assert load_checkpoint(tmp_path / "out" / "vae", expected_kind="vae").meta["storage"]["dtype"] == "int8"
    with pytest.raises(ValueError, match="dtype must be"):
        compact_checkpoint(src, tmp_path / "x", "int4")
    with pytest.raises(ValueError, match="source folder"):
        compact_checkpoint(src, src, "int8")


def test_compact_command(tmp_path, capsys):
    m, cfg = tiny()
    src = save_checkpoint(tmp_path / "src", m, cfg, "denoiser", meta={"step": 1})
    out = tmp_path / "small"
    assert main(["compact", str(src), "--out", str(out)]) == 0
    assert "MiB" in capsys.readouterr().out
    m8 = load_into(MotionDenoiser(cfg).eval(), load_checkpoint(out))
    ref = outputs(m)
    assert (outputs(m8) - ref).abs().max() < 0.05 * ref.abs().max()
    first = (out / "model.safetensors").read_bytes()
    # a non-empty --out is kept unless --overwrite; then it is replaced whole
    assert main(["compact", str(src), "--out", str(out), "--dtype", "float16"]) == 2
    assert "--overwrite" in capsys.readouterr().err and (out / "model.safetensors").read_bytes() == first
    (out / "stale.txt").write_text("x")
    assert main(["compact", str(src), "--out", str(out), "--dtype", "float16", "--overwrite"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["config.json", "model.safetensors"]
    assert load_checkpoint(out).meta["storage"]["dtype"] == "float16"
    # the source, or a folder holding it, is never the target; a folder that is no checkpoint is named
    assert main(["compact", str(src), "--out", str(src), "--overwrite"]) == 2
    assert main(["compact", str(src), "--out", str(tmp_path), "--overwrite"]) == 2
    assert main(["compact", str(src), "--out", str(src / "inner")]) == 2
    assert capsys.readouterr().err.count("holds or lies inside the source") == 3
    assert not (src / "inner").exists()
    assert (src / "model.safetensors").is_file()
    assert main(["compact", str(tmp_path / "nothing"), "--out", str(tmp_path / "o")]) == 2
    assert "does not exist" in capsys.readouterr().err and not (tmp_path / "o").exists()
