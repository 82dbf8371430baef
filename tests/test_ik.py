"""Analytic IK: joints -> SMPL-convention rotations and back."""

import numpy as np
import pytest

from easytune_core.motion.ik import (SMPL_REST_JOINTS, joints_to_smpl, smpl_to_joints,
                                     validate_joints)
from easytune_core.motion.rotations import axis_angle_to_quat
from easytune_core.motion.skeleton import HUMANML3D

from _render_helpers import random_joints, walk_joints, walk_rotations


def _angle_deg(q1, q2):
    d = np.abs(np.sum(q1 * q2, -1))
    return np.degrees(2 * np.arccos(np.clip(d, 0, 1)))


def test_round_trip_on_smpl_skeleton_walk_is_exact():
    J = walk_joints(80)
    pose = joints_to_smpl(J)
    assert pose.poses.shape == (80, 66) and pose.trans.shape == (80, 3) and pose.quats.shape == (80, 22, 4)
    err = np.linalg.norm(smpl_to_joints(pose) - J, axis=-1)
    assert err.max() < 1e-4


def test_round_trip_on_humanml3d_skeleton_with_arms_down_rest():
    # HumanML3D's canonical rest hangs the arms down; the IK must still reproduce the joints.
    J = random_joints(40, seed=3)
    err = np.linalg.norm(smpl_to_joints(joints_to_smpl(J)) - J, axis=-1)
    assert err.mean() < 1e-4


def test_recovers_the_rotations_that_made_the_walk():
    J = walk_joints(60)
    truth = axis_angle_to_quat(walk_rotations(60))
    got = joints_to_smpl(J).quats.astype(np.float64)
    # Hinge joints and roll rules recover the generating rotations (spine twist is shared
    # between spine joints, so allow a few degrees).
    assert _angle_deg(got, truth).max() < 10.0


def test_t_pose_gives_zero_rotations_and_smpl_translation():
    pose = joints_to_smpl(SMPL_REST_JOINTS[None] + [0.5, 1.0, -2.0])
    assert np.abs(pose.poses).max() < 1e-5
    np.testing.assert_allclose(pose.trans[0], [0.5, 1.0, -2.0], atol=1e-6)


def test_humanml3d_rest_pose_lowers_the_arms_from_the_t_pose():
    pose = joints_to_smpl(HUMANML3D.rest_joints()[None])
    J = smpl_to_joints(pose)
    np.testing.assert_allclose(J[0], HUMANML3D.rest_joints(), atol=1e-5)
    rest_arm = pose.rest_joints[18] - pose.rest_joints[16]
    assert abs(rest_arm[0]) > 0.9 * np.linalg.norm(rest_arm)  # the rest skeleton is a T-pose


def test_no_flips_between_neighbouring_frames():
    J = walk_joints(120)
    q = joints_to_smpl(J).quats.astype(np.float64)
    assert (np.sum(q[1:] * q[:-1], -1) > 0).all()  # sign-continuous quaternions
    assert _angle_deg(q[1:], q[:-1]).max() < 20.0  # a 1 m/s walk never turns a joint 20 deg in 50 ms


def test_axis_angle_is_canonical():
    aa = joints_to_smpl(random_joints(20)).poses.reshape(-1, 3)
    assert np.linalg.norm(aa, axis=-1).max() <= np.pi + 1e-5


def test_template_of_another_body_still_reproduces_joints():
    J = walk_joints(30)
    tmpl = SMPL_REST_JOINTS * 1.1 + [0.0, 0.2, 0.0]
    pose = joints_to_smpl(J, template=tmpl)
    assert np.linalg.norm(smpl_to_joints(pose) - J, axis=-1).max() < 1e-4


def test_single_frame_works():
    pose = joints_to_smpl(walk_joints(1))
    assert pose.poses.shape == (1, 66)


@pytest.mark.parametrize("bad, msg", [
    (np.zeros((0, 22, 3)), "zero frames"),
    (np.zeros((5, 20, 3)), "shape"),  # (T, 21, 3) is KIT-ML, accepted (tests/test_kit_render.py)
    (np.zeros((22, 3)), "shape"),
    (np.array([["a"] * 3] * 22)[None], "numeric"),
])
def test_bad_shapes_are_rejected(bad, msg):
    with pytest.raises(ValueError, match=msg):
        joints_to_smpl(bad)


def test_nan_joints_are_rejected_with_the_frame():
    J = walk_joints(10)
    J[4, 7] = np.nan
    with pytest.raises(ValueError, match="NaN.*frame 4"):
        validate_joints(J)


from hypothesis import given, settings, strategies as st  # noqa: E402


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), scale=st.floats(0.5, 2.0), frames=st.integers(1, 6))
def test_round_trip_holds_for_any_rotations_and_body_size(seed, scale, frames):
    from _render_helpers import smpl_offsets

    from easytune_core.motion.skeleton import forward_kinematics

    rng = np.random.default_rng(seed)
    q = rng.normal(size=(frames, 22, 4))
    q /= np.linalg.norm(q, axis=-1, keepdims=True)  # arbitrary, even extreme, rotations
    J = forward_kinematics(q, rng.normal(size=(frames, 3)), HUMANML3D, offsets=smpl_offsets(scale))
    err = np.linalg.norm(smpl_to_joints(joints_to_smpl(J)) - J, axis=-1)
    assert err.max() < 1e-4


def test_round_trip_on_joints_recovered_from_humanml3d_features():
    # What the generator hands over: features -> joints (recover_from_ric), retargeted skeleton.
    from easytune_core.motion.features import features_to_joints, joints_to_features

    J = np.asarray(features_to_joints(joints_to_features(walk_joints(40))), np.float64)
    pose = joints_to_smpl(J)
    assert np.linalg.norm(smpl_to_joints(pose) - J, axis=-1).mean() < 1e-3
