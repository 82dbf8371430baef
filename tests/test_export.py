"""Exports: BVH read back by the independent `bvh` parser, AMASS-style SMPL npz, npy files."""

import numpy as np
import pytest
from bvh import Bvh
from scipy.spatial.transform import Rotation

from easytune_core.motion.ik import PARENTS, SMPLPose, smpl_to_joints
from easytune_core.motion.rotations import axis_angle_to_quat
from easytune_core.render.export import (BVH_NAMES, matrix_to_euler_zxy, save_bvh, save_features_npy,
                                         save_joints_npy, save_smpl_npz)

from _render_helpers import random_joints, walk_joints


def _bvh_joints(path):
    """Joint positions from a BVH file, using the `bvh` package and scipy only."""
    m = Bvh(open(path).read())
    names = m.get_joints_names()
    parent = [names.index(m.joint_parent(n).name) if m.joint_parent(n) else -1 for n in names]
    off = np.array([m.joint_offset(n) for n in names], float)
    pos, rot = {}, {}
    for j, n in enumerate(names):
        vals = np.array(m.frames_joint_channels(n, m.joint_channels(n)), float)
        R = Rotation.from_euler("ZXY", vals[:, -3:], degrees=True).as_matrix()
        if parent[j] < 0:
            pos[j], rot[j] = vals[:, :3], R
        else:
            p = parent[j]
            pos[j], rot[j] = pos[p] + np.einsum("tij,j->ti", rot[p], off[j]), rot[p] @ R
    out = np.stack([pos[names.index(n)] for n in BVH_NAMES], 1)
    return m, out


@pytest.mark.parametrize("make", [lambda: walk_joints(40), lambda: random_joints(30, seed=1)])
def test_bvh_read_back_by_independent_parser_reproduces_joints(tmp_path, make):
    J = make()
    path = save_bvh(tmp_path / "m.bvh", J)
    m, got = _bvh_joints(path)
    assert m.nframes == len(J) and m.frame_time == pytest.approx(0.05)
    assert len(m.get_joints_names()) == 22
    np.testing.assert_allclose(got, J, atol=1e-3)


def test_bvh_hierarchy_and_centimetre_scale(tmp_path):
    J = walk_joints(5)
    m, got = _bvh_joints(save_bvh(tmp_path / "cm.bvh", J, scale=100.0))
    np.testing.assert_allclose(got / 100.0, J, atol=1e-3)
    names = m.get_joints_names()
    assert [m.joint_parent(BVH_NAMES[j]).name for j in range(1, 22)] == [BVH_NAMES[p] for p in PARENTS[1:]]
    assert names[0] == "Hips"


def test_euler_zxy_matches_scipy():
    R = Rotation.random(50, random_state=0)
    eul = matrix_to_euler_zxy(R.as_matrix())
    np.testing.assert_allclose(Rotation.from_euler("ZXY", eul, degrees=True).as_matrix(), R.as_matrix(), atol=1e-9)


@pytest.mark.parametrize("up", ["y", "z"])
def test_smpl_npz_is_amass_style_and_reproduces_joints(tmp_path, up):
    J = walk_joints(30)
    path = save_smpl_npz(tmp_path / "m.npz", J, up=up)
    d = np.load(path, allow_pickle=False)
    assert d["poses"].shape == (30, 156) and d["trans"].shape == (30, 3) and d["betas"].shape == (16,)
    assert str(d["gender"]) == "neutral" and float(d["mocap_framerate"]) == 20.0
    assert np.abs(d["poses"][:, 66:]).max() == 0.0
    np.testing.assert_array_equal(d["root_orient"], d["poses"][:, :3])
    from easytune_core.motion.ik import joints_to_smpl

    ref = joints_to_smpl(J)
    q = axis_angle_to_quat(d["poses"][:, :66].reshape(30, 22, 3).astype(np.float64))
    got = smpl_to_joints(SMPLPose(d["poses"][:, :66], d["trans"], q.astype(np.float32), ref.rest_joints))
    if up == "z":  # back from AMASS's Z-up world (+90 deg about X) to Y-up
        got = got @ np.array([[1.0, 0, 0], [0, 0, -1.0], [0, 1.0, 0]])
    np.testing.assert_allclose(got, J, atol=1e-4)


def test_joints_and_features_npy(tmp_path):
    J = walk_joints(25)
    np.testing.assert_array_equal(np.load(save_joints_npy(tmp_path / "j.npy", J)), J)
    f = np.load(save_features_npy(tmp_path / "f.npy", joints=J))
    assert f.shape == (24, 263) and np.isfinite(f).all()


def test_export_bad_inputs(tmp_path):
    J = walk_joints(5)
    with pytest.raises(ValueError, match="must end in .bvh"):
        save_bvh(tmp_path / "m.txt", J)
    with pytest.raises(ValueError, match="zero frames"):
        save_bvh(tmp_path / "m.bvh", J[:0])
    with pytest.raises(ValueError, match="up must be"):
        save_smpl_npz(tmp_path / "m.npz", J, up="x")
    with pytest.raises(ValueError, match="at least 2 frames"):
        save_features_npy(tmp_path / "f.npy", joints=J[:1])
    J[1, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        save_smpl_npz(tmp_path / "m.npz", J)
