"""Body models: mannequin LBS against the package's own skinning, SMPL .npz loading, capsules."""

import numpy as np
import pytest
import torch

from easytune_core.motion.ik import PARENTS, joints_to_smpl, smpl_to_joints
from easytune_core.render.body import capsule_body, get_body, load_smpl_body

from _render_helpers import walk_joints


def test_mannequin_lbs_matches_mannequin_package_skinning():
    from mannequin import Mannequin

    body = get_body("mannequin")
    rng = np.random.default_rng(0)
    aa = rng.normal(0, 0.4, (2, 22, 3)).astype(np.float32)
    aa[:, 0] = 0.0  # the package rotates the root about the origin, SMPL about the pelvis
    tr = rng.normal(0, 0.3, (2, 3)).astype(np.float32)
    ours = body.pose(aa.reshape(2, 66), tr, device="cpu").numpy()
    m = Mannequin()
    p = m.rest_pose(batch_dims=(2,))
    p["body_pose"], p["global_translation"] = aa[:, 1:], tr
    np.testing.assert_allclose(ours, m.vertices(p), atol=1e-4)


def test_zero_pose_gives_rest_mesh_and_weights_are_normalised():
    body = get_body("mannequin")
    v = body.pose(np.zeros((1, 66)), np.zeros((1, 3)), device="cpu")[0].numpy()
    np.testing.assert_allclose(v, body.rest_vertices, atol=1e-5)
    np.testing.assert_allclose(body.weights.sum(1), 1.0, atol=1e-5)
    assert body.joint_indices.max() < 22 and body.faces.shape[1] == 3


def test_posed_body_joints_follow_the_motion():
    body = get_body("mannequin")
    J = walk_joints(10)
    pose = body.fit(J)
    Rw, pos = body.joint_transforms(torch.as_tensor(np.zeros((10, 22, 3, 3)) + np.eye(3)), torch.zeros(10, 3))
    assert pos.shape == (10, 22, 3)
    # Same rotations on the body's own skeleton: bone directions match the input motion's.
    Jb = smpl_to_joints(pose, rest_joints=body.rest_joints)
    d_in = J[:, 4] - J[:, 1]
    d_b = Jb[:, 4] - Jb[:, 1]
    cos = np.sum(d_in * d_b, -1) / np.linalg.norm(d_in, axis=-1) / np.linalg.norm(d_b, axis=-1)
    assert cos.min() > 0.999


def test_quaternion_and_axis_angle_inputs_agree():
    body = get_body("capsule")
    pose = joints_to_smpl(walk_joints(5))
    a = body.pose(pose.poses, pose.trans, device="cpu")
    b = body.pose(pose, None, device="cpu")
    torch.testing.assert_close(a, b, atol=1e-4, rtol=0)


def test_capsule_body_and_decimation():
    cap = capsule_body()
    assert cap.num_vertices > 500 and (cap.weights == 1).all()
    full = get_body("mannequin")
    small = full.decimated(0.02)
    assert small.num_vertices < full.num_vertices / 2
    np.testing.assert_allclose(small.weights.sum(1), 1.0, atol=1e-5)
    assert small.faces.max() < small.num_vertices


def test_bad_pose_shapes():
    body = get_body("capsule")
    with pytest.raises(ValueError, match="poses must be"):
        body.pose(np.zeros((3, 65)), np.zeros((3, 3)))
    with pytest.raises(ValueError, match="trans must be"):
        body.pose(np.zeros((3, 66)), np.zeros((2, 3)))
    with pytest.raises(ValueError, match="unknown body"):
        get_body("robot")


SMPL_PARENTS = list(PARENTS) + [20, 21]


def _write_fake_smpl(path, **override):
    """A tiny synthetic SMPL .npz (24 joints, one vertex cluster per joint) in SMPL's layout."""
    rng = np.random.default_rng(0)
    from easytune_core.motion.ik import SMPL_REST_JOINTS
    joints = np.concatenate([SMPL_REST_JOINTS, SMPL_REST_JOINTS[20:22] + [[0.08, 0, 0], [-0.08, 0, 0]]])
    v = np.repeat(joints, 4, 0) + rng.normal(0, 0.01, (96, 3))
    weights = np.zeros((96, 24))
    weights[np.arange(96), np.arange(96) // 4] = 1.0
    J_reg = np.zeros((24, 96))
    J_reg[np.arange(96) // 4, np.arange(96)] = 0.25
    data = dict(v_template=v, f=np.array([[4 * j, 4 * j + 1, 4 * j + 2] for j in range(24)]),
                weights=weights, J_regressor=J_reg, kintree_table=np.array([[4294967295] + SMPL_PARENTS[1:],
                                                                           list(range(24))]),
                shapedirs=np.zeros((96, 3, 10)), posedirs=np.zeros((96, 3, 207)))
    data.update(override)
    np.savez(path, **data)
    return v, J_reg


def test_synthetic_smpl_npz_loads_through_smpl_model_dir(tmp_path, monkeypatch):
    (tmp_path / "smpl").mkdir()
    v, J_reg = _write_fake_smpl(tmp_path / "smpl" / "SMPL_NEUTRAL.npz")
    monkeypatch.setenv("SMPL_MODEL_DIR", str(tmp_path))
    body = get_body("smpl")
    assert body.name == "smpl" and body.num_vertices == 96
    np.testing.assert_allclose(body.rest_joints, (J_reg @ v)[:22], atol=1e-6)
    # hand joints 22/23 are folded onto the wrists
    np.testing.assert_allclose(body.dense_weights()[88:92, 20], 1.0)
    np.testing.assert_allclose(body.dense_weights()[92:96, 21], 1.0)
    posed = body.pose(joints_to_smpl(walk_joints(3), template=body.rest_joints), None, device="cpu")
    assert posed.shape == (3, 96, 3) and torch.isfinite(posed).all()


def test_missing_smpl_dir_and_pkl_only_and_malformed_files(tmp_path, monkeypatch):
    monkeypatch.delenv("SMPL_MODEL_DIR", raising=False)
    with pytest.raises(FileNotFoundError, match="SMPL_MODEL_DIR"):
        load_smpl_body("smpl")
    (tmp_path / "SMPL_NEUTRAL.pkl").write_bytes(b"not read")
    with pytest.raises(FileNotFoundError, match="convert it to .npz"):
        load_smpl_body("smpl", model_dir=str(tmp_path))
    (tmp_path / "SMPL_NEUTRAL.npz").write_bytes(b"garbage")
    with pytest.raises(ValueError, match="not a valid .npz|could not be read"):
        load_smpl_body("smpl", model_dir=str(tmp_path))
    np.savez(tmp_path / "SMPL_NEUTRAL.npz", v_template=np.zeros((4, 3)))
    with pytest.raises(ValueError, match="missing"):
        load_smpl_body("smpl", model_dir=str(tmp_path))
    _write_fake_smpl(tmp_path / "SMPL_NEUTRAL.npz", f=np.array([{"x": 1}], dtype=object))
    with pytest.raises(ValueError, match="unpickle"):
        load_smpl_body("smpl", model_dir=str(tmp_path))
    _write_fake_smpl(tmp_path / "SMPL_NEUTRAL.npz", weights=np.zeros((95, 24)))
    with pytest.raises(ValueError, match="inconsistent shapes"):
        load_smpl_body("smpl", model_dir=str(tmp_path))


def test_our_poses_drive_smplx_exactly_like_our_lbs(tmp_path):
    """Reference equivalence: smplx's own SMPL forward pass with our poses/trans gives our LBS."""
    import smplx
    from smplx.utils import Struct

    _write_fake_smpl(tmp_path / "SMPL_NEUTRAL.npz")
    body = load_smpl_body("smpl", model_dir=str(tmp_path))
    with np.load(tmp_path / "SMPL_NEUTRAL.npz", allow_pickle=False) as d:
        data = {k: d[k] for k in d.files}
    data["J_regressor"] = data["J_regressor"].astype(np.float32)
    # the tiny model has 96 vertices: point smplx's extra face keypoints at existing ones
    ids = {k: i for i, k in enumerate(("nose", "reye", "leye", "rear", "lear"))}
    model = smplx.SMPL(model_path="", data_struct=Struct(**data), batch_size=4, vertex_ids=ids,
                       use_hands=False, use_feet_keypoints=False)
    pose = joints_to_smpl(walk_joints(4), template=body.rest_joints)
    aa = torch.as_tensor(pose.poses)
    out = model(global_orient=aa[:, :3], body_pose=torch.cat([aa[:, 3:], torch.zeros(4, 6)], 1),
                transl=torch.as_tensor(pose.trans))
    ours = body.pose(pose.poses, pose.trans, device="cpu")
    torch.testing.assert_close(ours, out.vertices.float(), atol=1e-4, rtol=0)
