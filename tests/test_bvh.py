"""load_bvh on small BVH files written here: FK, channel orders, units, up axis, resampling, names."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from _data_helpers import MIXAMO, SMPL, pose_motion, write_bvh
from easytune_core.motion.bvh import detect_units, load_bvh, read_bvh
from easytune_core.motion.skeleton import HUMANML3D


def test_rest_pose_and_knee_bend_give_exact_positions(tmp_path):
    rot = np.zeros((2, 22, 3))
    rot[1, 4, 2] = 90.0  # LeftLeg Xrotation: the shank swings backwards
    path = write_bvh(tmp_path / "a.bvh", ["mixamorig:" + n for n in MIXAMO], HUMANML3D.parents,
                     HUMANML3D.offsets * 100, pose_motion(2, [0, 95.0, 0], rot))
    joints, info = load_bvh(path, fps=30, floor=False, return_info=True)
    assert info.profile == "mixamo" and info.unit == "cm" and info.dropped_frames == 0
    assert joints.dtype == np.float32 and joints.shape == (2, 22, 3)
    rest = HUMANML3D.rest_joints() + [0, 0.95, 0]
    np.testing.assert_allclose(joints[0], rest, atol=1e-5)
    knee = rest[4]
    np.testing.assert_allclose(joints[1, 7], knee + [0, 0, -0.4324], atol=1e-5)  # ankle behind knee
    np.testing.assert_allclose(joints[1, 10], knee + [0, -0.1434, -0.4324], atol=1e-5)  # toe points down


@pytest.mark.parametrize("order", ["Xrotation Yrotation Zrotation", "Yrotation Xrotation Zrotation",
                                   "Zrotation Xrotation Yrotation"])
def test_any_rotation_order_matches_intrinsic_euler(tmp_path, order):
    ang = np.array([30.0, -50.0, 70.0])  # in the order of the channels
    rows = np.zeros((2, 3 + 66))
    rows[:, 1] = 1.0
    rows[:, 3:6] = ang
    path = write_bvh(tmp_path / "o.bvh", MIXAMO, HUMANML3D.parents, HUMANML3D.offsets, rows, rot_order=order)
    joints = load_bvh(path, fps=30, floor=False, units="m", up_axis="y")
    R = Rotation.from_euler("".join(c[0] for c in order.split()), ang, degrees=True).as_matrix()
    expected = HUMANML3D.rest_joints() @ R.T + [0, 1.0, 0]
    np.testing.assert_allclose(joints[0], expected, atol=1e-5)


@pytest.mark.parametrize("unit, scale", [("m", 1.0), ("cm", 100.0), ("mm", 1000.0), ("inch", 1 / 0.0254),
                                         ("cmu", 0.45 / 0.0254)])
def test_units_are_detected_from_body_size(tmp_path, unit, scale):
    rot = np.zeros((2, 22, 3))
    rot[:, 18, 0] = 40.0
    path = write_bvh(tmp_path / "u.bvh", MIXAMO, HUMANML3D.parents, HUMANML3D.offsets * scale,
                     pose_motion(2, np.array([0.1, 0.95, 0.2]) * scale, rot), newline="\r\n")
    joints, info = load_bvh(path, fps=30, floor=False, return_info=True)
    assert info.unit == unit
    ref = load_bvh(path, fps=30, floor=False, units=1 / scale)
    np.testing.assert_allclose(joints, ref, atol=1e-5)
    assert joints[0, 0, 1] == pytest.approx(0.95, abs=1e-5)
    assert detect_units(28.0) == ("cmu", 0.0254 / 0.45) and detect_units(170.0)[0] == "cm"


def test_resampling_interpolates_root_and_rotations(tmp_path):
    n = 26  # 1 s at 25 fps
    t = np.arange(n) / 25.0
    rot = np.zeros((n, 22, 3))
    rot[:, 18, 2] = 90.0 * t  # LeftForeArm X rotation at a constant rate
    rows = pose_motion(n, np.stack([t, np.full(n, 0.95), np.zeros(n)], -1), rot)
    path = write_bvh(tmp_path / "r.bvh", MIXAMO, HUMANML3D.parents, HUMANML3D.offsets, rows, frame_time=1 / 25)
    joints = load_bvh(path, fps=20, floor=False, units="m")
    assert joints.shape[0] == 21
    tk = np.arange(21) / 20.0
    np.testing.assert_allclose(joints[:, 0, 0], tk, atol=1e-5)
    elbow, wrist = joints[:, 18], joints[:, 20]
    ang = np.degrees(np.arctan2(-(wrist - elbow)[:, 2], -(wrist - elbow)[:, 1]))
    np.testing.assert_allclose(ang, 90.0 * tk, atol=1e-3)
    down = load_bvh(path, fps=5, floor=False, units="m")
    np.testing.assert_allclose(down, joints[::4], atol=1e-5)


def test_z_up_file_is_turned_to_y_up(tmp_path):
    to_z = np.array([[1.0, 0, 0], [0, 0, -1], [0, 1, 0]])  # y -> z
    off = HUMANML3D.offsets @ to_z.T
    path = write_bvh(tmp_path / "z.bvh", MIXAMO, HUMANML3D.parents, off, pose_motion(2, [0.3, 0.0, 0.95]))
    joints, info = load_bvh(path, fps=30, floor=False, return_info=True)
    assert info.up_axis == "+z"
    np.testing.assert_allclose(joints[0], HUMANML3D.rest_joints() + [0.3, 0.95, 0.0], atol=1e-5)
    floored = load_bvh(path, fps=30)
    assert floored[..., 1].min() == pytest.approx(0.0, abs=1e-6)


def test_smpl_names_and_cmu_reference_frame(tmp_path):
    rot = np.zeros((3, 22, 3))
    rot[1:, 1, 2] = 10.0  # frames 1.. are motion, frame 0 a zero "T-pose"
    rot[1:, 2:, 0] = 1.0
    path = write_bvh(tmp_path / "s.bvh", ["m_avg_" + n for n in SMPL], HUMANML3D.parents,
                     HUMANML3D.offsets, pose_motion(3, [0, 0.95, 0], rot), frame_time=1 / 20)
    joints, info = load_bvh(path, return_info=True)
    assert info.profile == "smpl" and info.dropped_frames == 1 and joints.shape[0] == 2
    assert load_bvh(path, skip_first=False).shape[0] == 3


def test_cmu_style_skeleton_maps_without_zero_bones(tmp_path):
    # CMU conversion layout: LHipJoint / LowerBack / Neck / LeftShoulder sit on their parents
    names = ["Hips", "LHipJoint", "LeftUpLeg", "LeftLeg", "LeftFoot", "LeftToeBase", "RHipJoint",
             "RightUpLeg", "RightLeg", "RightFoot", "RightToeBase", "LowerBack", "Spine", "Spine1",
             "Neck", "Neck1", "Head", "LeftShoulder", "LeftArm", "LeftForeArm", "LeftHand",
             "RightShoulder", "RightArm", "RightForeArm", "RightHand"]
    parents = [-1, 0, 1, 2, 3, 4, 0, 6, 7, 8, 9, 0, 11, 12, 13, 14, 15, 13, 17, 18, 19, 13, 21, 22, 23]
    off = np.array([[0, 0, 0], [0, 0, 0], [1.4, -1.8, 0.8], [2.4, -6.7, 0], [2.6, -7.0, 0], [0.2, -0.4, 2.3],
                    [0, 0, 0], [-1.4, -1.8, 0.8], [-2.4, -6.7, 0], [-2.6, -7.0, 0], [-0.2, -0.4, 2.3],
                    [0, 0, 0], [0, 2.0, -0.2], [0, 2.1, 0], [0, 0, 0], [0, 1.7, 0.1], [0, 1.7, 0],
                    [0, 0, 0], [3.4, 1.2, -0.3], [5.0, 0, 0], [3.5, 0, 0],
                    [0, 0, 0], [-3.4, 1.2, -0.3], [-5.0, 0, 0], [-3.5, 0, 0]], dtype=float)
    rows = np.zeros((2, 3 + 3 * len(names)))
    rows[:, 1] = 17.0
    path = write_bvh(tmp_path / "c.bvh", names, parents, off, rows)
    joints, info = load_bvh(path, fps=30, return_info=True)
    assert info.profile == "cmu" and info.unit == "cmu"
    bones = np.linalg.norm(joints[0, 1:] - joints[0, list(HUMANML3D.parents[1:])], axis=-1)
    assert bones.min() > 0.03  # no joint sits on its parent
    assert 1.25 < joints[0, 15, 1] < 1.7  # head height of a ~1.5 m body


def test_unmappable_names_are_listed(tmp_path):
    names = list(MIXAMO)
    names[18] = "LeftElbowThing"
    path = write_bvh(tmp_path / "b.bvh", names, HUMANML3D.parents, HUMANML3D.offsets, pose_motion(2, [0, 1, 0]))
    with pytest.raises(ValueError, match=r"'mixamo' naming, which lacks joints named \['leftforearm'\]"):
        load_bvh(path)


def test_malformed_files_are_rejected(tmp_path):
    bad = tmp_path / "bad.bvh"
    bad.write_text("HIERARCHY\nROOT Hips\n{\n OFFSET 0 0 0\n CHANNELS 3 Xposition Yposition Wrotation\n}\n"
                   "MOTION\nFrames: 1\nFrame Time: 0.1\n0 0 0\n")
    with pytest.raises(ValueError, match="unknown channel"):
        read_bvh(bad)
    bad.write_text("HIERARCHY\nROOT Hips\n{\n OFFSET 0 0 0\n CHANNELS 3 Xposition Yposition Zposition\n}\n"
                   "MOTION\nFrames: 2\nFrame Time: 0.1\n0 0 0\n")
    with pytest.raises(ValueError, match="expected 2 frames x 3 channels"):
        read_bvh(bad)
    with pytest.raises(FileNotFoundError):
        read_bvh(tmp_path / "none.bvh")
    good = write_bvh(tmp_path / "one.bvh", MIXAMO, HUMANML3D.parents, HUMANML3D.offsets, pose_motion(1, [0, 1, 0]))
    with pytest.raises(ValueError, match="at least 2 motion frames"):
        load_bvh(good)


@pytest.mark.parametrize("fps", [20, 25, 30, 60, 120])
def test_a_file_at_a_rate_written_to_six_decimals_keeps_all_its_frames(tmp_path, fps):
    n = 101
    t = np.arange(n) / fps
    rows = pose_motion(n, np.stack([t, np.full(n, 0.95), np.zeros(n)], -1))
    path = write_bvh(tmp_path / "f.bvh", MIXAMO, HUMANML3D.parents, HUMANML3D.offsets, rows, frame_time=1 / fps)
    text = path.read_text().replace("Frame Time:", "Frame Time: %.6f #" % (1 / fps))  # as many tools write it
    path.write_text("\n".join(line.split(" #")[0] if line.startswith("Frame Time:") else line
                              for line in text.splitlines()) + "\n")
    assert load_bvh(path, fps=fps, floor=False, units="m").shape[0] == n


def test_exported_bvh_comes_back_with_every_frame(tmp_path):
    from easytune_core.render.export import save_bvh

    walk = load_bvh(write_bvh(tmp_path / "w.bvh", MIXAMO, HUMANML3D.parents, HUMANML3D.offsets,
                              pose_motion(31, [0.0, 0.95, 0.0])), fps=30, floor=False, units="m")
    out = save_bvh(tmp_path / "out.bvh", walk, fps=30)
    assert load_bvh(out, fps=30, floor=False).shape[0] == walk.shape[0]
