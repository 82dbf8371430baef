"""joints <-> HumanML3D / KIT-ML features: reference equality, round trips, mirroring, errors."""

from pathlib import Path

import numpy as np
import pytest
import torch

from easytune_core.motion import (
    HUMANML3D,
    KIT,
    canonicalize_joints,
    feature_slices,
    features_to_joints,
    forward_kinematics,
    joints_to_features,
    mirror_features,
    mirror_joints,
    offsets_from_joints,
    recover_root,
    retarget_joints,
)
from easytune_core.motion.rotations import axis_angle_to_quat, qmul, quat_from_euler_y

FIXTURE = Path(__file__).parent / "data" / "humanml3d_reference.npz"


# ---------------------------------------------------------------- hand-made motions


def make_motion(frames=80, fps=20.0, speed=1.2, turn_rate=0.4, yaw0=0.7, start=(1.5, 0.0, -2.0),
                jump=0.0, body_scale=1.07, stride_hz=1.0, seed=0, skeleton=HUMANML3D, symmetric=False):
    """A walking-like motion built by forward kinematics on a non-canonical body.

    Legs swing in opposite phase, knees bend in the swing, arms counter-swing, the spine
    twists; the root moves along its (turning) facing direction. Bone lengths are the
    canonical ones scaled by ``body_scale`` and perturbed, so retargeting has work to do.
    """
    rng = np.random.default_rng(seed)
    t = np.arange(frames) / fps
    ph = 2 * np.pi * stride_hz * t
    J = skeleton.num_joints
    aa = np.zeros((frames, J, 3))
    yaw = yaw0 + turn_rate * t
    if skeleton.name == "humanml3d":
        aa[:, 1, 0] = -0.45 * np.sin(ph)            # l_hip flexion
        aa[:, 2, 0] = 0.45 * np.sin(ph)             # r_hip
        aa[:, 4, 0] = 0.6 * np.clip(np.sin(ph + 1.2), 0, None)    # knees bend
        aa[:, 5, 0] = 0.6 * np.clip(-np.sin(ph + 1.2), 0, None)
        aa[:, 7, 0] = -0.2 * np.sin(ph)             # ankles
        aa[:, 8, 0] = 0.2 * np.sin(ph)
        aa[:, 3, 1] = 0.1 * np.sin(ph)              # spine twist
        aa[:, 9, 1] = 0.1 * np.sin(ph)
        aa[:, 16, 0] = 0.4 * np.sin(ph)             # arms counter-swing
        aa[:, 17, 0] = -0.4 * np.sin(ph)
        aa[:, 16, 2] = -0.25                        # arms slightly away from the body
        aa[:, 17, 2] = 0.25
        aa[:, 18, 0] = -0.3 - 0.2 * np.sin(ph)      # elbows
        aa[:, 19, 0] = -0.3 + 0.2 * np.sin(ph)
        aa[:, 15, 0] = 0.1 * np.sin(2 * ph)         # head nod
    else:  # KIT: legs 11.. and 16.., arms 5.. and 8..
        aa[:, 11, 0] = -0.45 * np.sin(ph)
        aa[:, 16, 0] = 0.45 * np.sin(ph)
        aa[:, 12, 0] = 0.6 * np.clip(np.sin(ph + 1.2), 0, None)
        aa[:, 17, 0] = 0.6 * np.clip(-np.sin(ph + 1.2), 0, None)
        aa[:, 5, 0] = 0.3 * np.sin(ph)
        aa[:, 8, 0] = -0.3 * np.sin(ph)
        aa[:, 2, 1] = 0.1 * np.sin(ph)
    aa += 0.01 * rng.standard_normal(aa.shape)     # break exact symmetries
    quats = axis_angle_to_quat(aa)
    quats[:, 0] = qmul(quat_from_euler_y(yaw), quats[:, 0])
    forward = np.stack([np.sin(yaw), np.zeros_like(yaw), np.cos(yaw)], axis=-1)
    root = np.asarray(start, dtype=np.float64) + np.cumsum(forward * speed / fps, axis=0)
    root[:, 1] = 0.95 * body_scale + 0.02 * np.sin(2 * ph) + jump * np.clip(np.sin(np.pi * t / t[-1]), 0, None)
    lengths = skeleton.bone_lengths * body_scale * (1 + 0.05 * rng.uniform(-1, 1, J))
    if symmetric:
        lengths = 0.5 * (lengths + lengths[list(skeleton.mirror)])
    offsets = skeleton.raw_offsets * lengths[:, None]
    return forward_kinematics(quats, root, skeleton, offsets=offsets)


def _bone_dirs(j, sk):
    p = np.asarray(sk.parents)
    b = j[:, 1:] - j[:, p[1:]]
    return b / np.linalg.norm(b, axis=-1, keepdims=True)


# ---------------------------------------------------------------- reference equality


@pytest.fixture(scope="module")
def ref():
    return dict(np.load(FIXTURE))


@pytest.mark.parametrize("name", ["hml_cmu", "hml_walk", "hml_turn"])
def test_matches_published_pipeline(ref, name):
    """Same numbers as a transcription of HumanML3D's process_file (float32 reference)."""
    feats = joints_to_features(ref[f"{name}_joints"])
    expected = ref[f"{name}_features"]
    assert feats.shape == expected.shape and feats.dtype == np.float32
    np.testing.assert_allclose(feats[:, :259], expected[:, :259], atol=1e-4, rtol=0)
    np.testing.assert_array_equal(feats[:, 259:], expected[:, 259:])
    # and HumanML3D's new_joints (recover_from_ric of its features)
    np.testing.assert_allclose(features_to_joints(feats), ref[f"{name}_new_joints"], atol=1e-4)


def test_matches_published_pipeline_kit(ref):
    feats = joints_to_features(ref["kit_joints"], "kit", target_offsets=ref["kit_target_offsets"])
    expected = ref["kit_features"]
    assert feats.shape == expected.shape == (len(ref["kit_joints"]) - 1, 251)
    # KIT is in millimetres: compare relative to its scale
    np.testing.assert_allclose(feats[:, :247], expected[:, :247], atol=2e-3, rtol=0)
    np.testing.assert_array_equal(feats[:, 247:], expected[:, 247:])


# ---------------------------------------------------------------- round trips


@pytest.mark.parametrize("kwargs", [
    dict(),                                          # curved walk
    dict(speed=0.0, turn_rate=1.2, yaw0=2.5),        # turn in place, facing away at the start
    dict(speed=2.5, turn_rate=0.0, yaw0=-1.0, stride_hz=1.6),  # run-ish straight line
    dict(speed=0.5, jump=0.4, body_scale=0.9),       # jump, small body
])
def test_round_trip_within_1mm(kwargs):
    joints = make_motion(**kwargs)
    feats = joints_to_features(joints, fix_yaw_wrap=True)
    assert feats.shape == (len(joints) - 1, 263) and np.isfinite(feats).all()
    back = features_to_joints(feats)
    expected = canonicalize_joints(joints)[:-1]
    assert back.shape == (len(joints) - 1, 22, 3)
    assert np.abs(back - expected).max() < 1e-3
    # the published features differ only where the facing crosses -Z (HumanML3D issue #156)
    published = joints_to_features(joints)
    same = np.all(published == feats, axis=1)
    assert same.sum() >= len(feats) - 2
    if not same.all():
        np.testing.assert_allclose(np.abs(published[~same, 0]), np.abs(feats[~same, 0]), atol=1e-6)


def test_published_yaw_glitch_when_turning_past_180_degrees():
    joints = make_motion(speed=0.0, turn_rate=1.2, yaw0=2.5)
    published, fixed = joints_to_features(joints), joints_to_features(joints, fix_yaw_wrap=True)
    (frame,) = np.nonzero(published[:, 0] != fixed[:, 0])[0]
    assert published[frame, 0] == pytest.approx(-fixed[frame, 0], abs=1e-6)
    assert np.abs(published[:, 1:] - fixed[:, 1:]).max() == 0


def test_canonical_joints_are_the_retargeted_motion():
    joints = make_motion()
    canon = canonicalize_joints(joints)
    # bone lengths are the canonical ones, bone directions those of the input up to a yaw
    lengths = np.linalg.norm(canon[:, 1:] - canon[:, list(HUMANML3D.parents[1:])], axis=-1)
    np.testing.assert_allclose(lengths, np.broadcast_to(HUMANML3D.bone_lengths[1:], lengths.shape), atol=1e-9)
    assert abs(canon[:, :, 1].min()) < 1e-9             # on the floor
    np.testing.assert_allclose(canon[0, 0, [0, 2]], 0.0, atol=1e-9)  # starts at the origin
    d_in, d_out = _bone_dirs(joints, HUMANML3D), _bone_dirs(canon, HUMANML3D)
    np.testing.assert_allclose(d_in[..., 1], d_out[..., 1], atol=1e-9)  # yaw keeps the vertical part
    # retarget_joints alone keeps directions exactly
    rt = retarget_joints(joints)
    np.testing.assert_allclose(_bone_dirs(rt, HUMANML3D), d_in, atol=1e-9)


def test_features_ignore_placement_and_heading():
    joints = make_motion()
    q = quat_from_euler_y(np.array(2.0))
    from easytune_core.motion.rotations import qrot
    moved = qrot(np.broadcast_to(q, joints.shape[:-1] + (4,)), joints) + np.array([3.0, 0.5, -7.0])
    np.testing.assert_allclose(joints_to_features(moved), joints_to_features(joints), atol=2e-5)


def test_first_frame_faces_plus_z_and_root_moves_forward():
    joints = make_motion(turn_rate=0.0, yaw0=-2.2, speed=1.0)
    canon = canonicalize_joints(joints)
    travel = canon[-1, 0] - canon[0, 0]
    assert travel[2] > 0.8 * 1.0 * (len(joints) - 1) / 20 * 0.99 and abs(travel[0]) < 0.15 * travel[2]
    feats = joints_to_features(joints)
    sl = feature_slices()
    assert (feats[:, sl["root_lin_vel"]][:, 1] > 0).all()  # z velocity in the facing frame
    # frame 0's rotation is the identity (as published), later ones the smoothed facing
    assert np.abs(feats[1:, sl["root_rot_vel"]]).max() < 0.01


def test_foot_contacts():
    still = np.broadcast_to(HUMANML3D.rest_joints() + [0, 0.95, 0], (30, 22, 3))
    still = still + 1e-4 * np.random.default_rng(0).standard_normal(still.shape)
    assert (joints_to_features(still)[:, -4:] == 1).all()
    walk = joints_to_features(make_motion(speed=1.4, turn_rate=0.0))
    contacts = walk[:, -4:]
    assert set(np.unique(contacts)) == {0.0, 1.0}
    assert 0.05 < contacts.mean() < 0.95
    # the threshold is the published one: squared displacement per frame < 0.002
    sweep = np.broadcast_to(HUMANML3D.rest_joints() + [0, 0.95, 0], (3, 22, 3)).copy()
    sweep[1, 7] += [0.0, 0.0, 0.044]   # 0.044^2 = 0.0019 < 0.002
    sweep[2, 7] += [0.0, 0.0, 0.044 + 0.046]  # 0.046^2 = 0.0021 > 0.002
    c = joints_to_features(sweep)[:, 259]
    np.testing.assert_array_equal(c, [1.0, 0.0])


# ---------------------------------------------------------------- torch / batching / gradients


def test_features_to_joints_torch_matches_numpy_and_batches():
    f1 = joints_to_features(make_motion(seed=1))
    f2 = joints_to_features(make_motion(seed=2, turn_rate=-0.6))
    batch = np.stack([f1, f2])[None]                       # (1, 2, T, 263)
    out_np = features_to_joints(batch)
    assert out_np.shape == (1, 2, f1.shape[0], 22, 3) and out_np.dtype == np.float32
    np.testing.assert_allclose(out_np[0, 1], features_to_joints(f2), atol=1e-6)
    out_t = features_to_joints(torch.from_numpy(batch))
    assert out_t.dtype == torch.float32
    np.testing.assert_allclose(out_t.numpy(), out_np, atol=1e-4)
    r_rot, r_pos = recover_root(torch.from_numpy(f1))
    np.testing.assert_allclose(r_pos.numpy(), out_np[0, 0, :, 0], atol=1e-4)
    assert r_rot.shape == (f1.shape[0], 4)


@pytest.mark.slow
def test_features_to_joints_is_differentiable():
    f = torch.from_numpy(joints_to_features(make_motion())).double().requires_grad_(True)
    j = features_to_joints(f)
    j[..., 20, 1].sum().backward()  # left wrist height
    g = f.grad
    assert g is not None and torch.isfinite(g).all()
    assert g.abs().sum() > 0
    assert (g[:, 4 + 19 * 3 + 1] != 0).all()   # its own ric y entry
    assert torch.autograd.gradcheck(lambda x: features_to_joints(x)[..., :, 5, :],
                                    (f[:6].detach().clone().requires_grad_(True),))


# ---------------------------------------------------------------- mirroring


def test_mirror_joints_swaps_and_reflects():
    j = make_motion(frames=5)
    m = mirror_joints(j)
    np.testing.assert_allclose(m[:, 1], j[:, 2] * [-1, 1, 1])
    np.testing.assert_allclose(mirror_joints(m), j)
    mt = mirror_joints(torch.from_numpy(j))
    np.testing.assert_allclose(mt.numpy(), m)


def test_mirror_features_matches_mirrored_joints():
    f = joints_to_features(make_motion())
    mf = mirror_features(f)
    np.testing.assert_allclose(mirror_features(mf), f, atol=0)
    np.testing.assert_allclose(features_to_joints(mf), mirror_joints(features_to_joints(f)), atol=1e-5)
    mt = mirror_features(torch.from_numpy(f))
    np.testing.assert_allclose(mt.numpy(), mf)


def test_features_of_mirrored_joints_equal_mirrored_features_on_a_symmetric_body():
    """HumanML3D mirrors the joints; with a left/right symmetric target the two paths agree."""
    lengths = HUMANML3D.bone_lengths.copy()
    perm = list(HUMANML3D.mirror)
    lengths = 0.5 * (lengths + lengths[perm])
    sym = HUMANML3D.raw_offsets * lengths[:, None]
    joints = make_motion(body_scale=1.0, seed=3)
    # make the source body symmetric too (the scale uses the right leg only)
    from easytune_core.motion.features import _retarget
    joints = _retarget(joints, HUMANML3D, sym)
    a = joints_to_features(mirror_joints(joints), target_offsets=sym)
    b = mirror_features(joints_to_features(joints, target_offsets=sym))
    np.testing.assert_allclose(a, b, atol=2e-5)


def test_mirror_on_real_target_is_close():
    joints = make_motion(seed=4, symmetric=True)
    a = features_to_joints(joints_to_features(mirror_joints(joints)))
    b = features_to_joints(mirror_features(joints_to_features(joints)))
    assert np.abs(a - b).max() < 0.03   # the canonical skeleton's left/right bones differ by mm


# ---------------------------------------------------------------- KIT


def test_kit_pair():
    joints = make_motion(skeleton=KIT, frames=40, fps=12.5)
    feats = joints_to_features(joints, "kit")
    assert feats.shape == (39, 251) and feats.dtype == np.float32
    back = features_to_joints(feats, "kit")
    assert back.shape == (39, 21, 3)
    canon = canonicalize_joints(joints, "kit")[:-1]
    assert np.abs(back - canon).max() < 1.0   # millimetres
    # KIT-ML is in millimetres: the root is ~ a leg length high
    assert 700 < canon[0, 0, 1] < 1100
    off = offsets_from_joints(KIT.rest_joints() * 1000, "kit")
    np.testing.assert_allclose(joints_to_features(joints, "kit", target_offsets=off), feats, atol=1e-3)
    # mirroring works on KIT's 21 joints too
    mf = mirror_features(feats, "kit")
    np.testing.assert_allclose(features_to_joints(mf, "kit"), mirror_joints(back, "kit"), atol=1e-3)


def test_feature_layout():
    for name, dim, J in (("humanml3d", 263, 22), ("kit", 251, 21)):
        sl = feature_slices(name)
        assert list(sl) == ["root_rot_vel", "root_lin_vel", "root_y", "ric", "rot6d", "local_vel", "foot_contact"]
        assert sl["foot_contact"].stop == dim and sl["ric"].stop - sl["ric"].start == 3 * (J - 1)


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize("bad, match", [
    (np.zeros((10, 21, 3)), r"shape \(frames, 22, 3\)"),
    (np.zeros((10, 22)), "shape"),
    (np.zeros((1, 22, 3)), "at least 2 frames"),
    (np.full((5, 22, 3), np.nan), "NaN or inf"),
])
def test_joints_to_features_bad_input(bad, match):
    with pytest.raises(ValueError, match=match):
        joints_to_features(bad)


def test_bad_skeleton_and_degenerate_poses():
    j = make_motion(frames=5)
    with pytest.raises(ValueError, match="unknown skeleton"):
        joints_to_features(j, skeleton="smplx")
    inf = j.copy()
    inf[2, 3, 1] = np.inf
    with pytest.raises(ValueError, match="frame 2, joint 3"):
        joints_to_features(inf)
    collapsed = j.copy()
    collapsed[:, 4] = collapsed[:, 1]   # knee on the hip
    with pytest.raises(ValueError, match="coincides with its parent"):
        joints_to_features(collapsed)
    with pytest.raises(ValueError, match="target_offsets"):
        joints_to_features(j, target_offsets=np.zeros((3, 3)))


def test_features_to_joints_bad_input():
    with pytest.raises(ValueError, match=r"\(\.\.\., frames, 263\)"):
        features_to_joints(np.zeros((10, 251)))
    with pytest.raises(ValueError, match="NaN"):
        features_to_joints(torch.full((2, 10, 263), float("nan")))
    with pytest.raises(ValueError, match="shape"):
        features_to_joints(np.zeros(263))
    with pytest.raises(ValueError, match="unknown skeleton"):
        features_to_joints(np.zeros((3, 263)), skeleton="foo")
    with pytest.raises(ValueError, match="shape"):
        mirror_joints(np.zeros((4, 21, 3)))
