"""`python -m easytune_core render`: input formats, outputs, errors."""

import argparse

import numpy as np
import pytest

from easytune_core.render import cli
from easytune_core.render.glb import read_glb

from _render_helpers import walk_joints


def _args(*argv):
    p = argparse.ArgumentParser()
    cli.add_arguments(p)
    return p.parse_args(list(argv))


def test_joints_to_glb_bvh_npz_npy(tmp_path):
    src = tmp_path / "m.npy"
    np.save(src, walk_joints(12))
    for ext in (".glb", ".bvh", ".npz", ".npy"):
        out = tmp_path / f"out{ext}"
        assert cli.run(_args("--input", str(src), "--out", str(out), "--body", "capsule")) == 0
        assert out.stat().st_size > 100
    gltf, _ = read_glb(tmp_path / "out.glb")
    assert gltf["animations"][0]["samplers"]
    assert np.load(tmp_path / "out.npz")["poses"].shape == (12, 156)


def test_two_inputs_make_a_two_body_glb_and_features_are_accepted(tmp_path):
    from easytune_core.motion.features import joints_to_features

    a, b = tmp_path / "a.npy", tmp_path / "b.npy"
    np.save(a, walk_joints(12))
    np.save(b, joints_to_features(walk_joints(13)))  # (12, 263) features
    out = tmp_path / "ab.glb"
    cli.run(_args("--input", str(a), str(b), "--out", str(out), "--body", "capsule"))
    assert len(read_glb(out)[0]["skins"]) == 2


def test_cli_errors(tmp_path):
    src = tmp_path / "m.npy"
    np.save(src, walk_joints(5))
    with pytest.raises(FileNotFoundError, match="does not exist"):
        cli.run(_args("--input", str(tmp_path / "nope.npy"), "--out", str(tmp_path / "x.glb")))
    with pytest.raises(ValueError, match="--out must end"):
        cli.run(_args("--input", str(src), "--out", str(tmp_path / "x.fbx")))
    with pytest.raises(ValueError, match="takes one --input"):
        cli.run(_args("--input", str(src), str(src), "--out", str(tmp_path / "x.bvh")))
    bad = tmp_path / "bad.npy"
    np.save(bad, np.zeros((5, 7)))
    with pytest.raises(ValueError, match="expected joints"):
        cli.run(_args("--input", str(bad), "--out", str(tmp_path / "x.bvh")))
    obj = tmp_path / "obj.npy"
    np.save(obj, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(ValueError, match="plain numeric"):
        cli.run(_args("--input", str(obj), "--out", str(tmp_path / "x.bvh")))
    (tmp_path / "m.txt").write_text("x")
    with pytest.raises(ValueError, match="input must be"):
        cli.run(_args("--input", str(tmp_path / "m.txt"), "--out", str(tmp_path / "x.bvh")))
