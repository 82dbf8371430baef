"""Edit masks, presets, path control, seam blending and source import: the parts without a model."""

from __future__ import annotations

import numpy as np
import pytest

from easytune_core.edit import (LOWER_BODY_JOINTS, UPPER_BODY_JOINTS, EditSpec, check_path, joint_channels,
                                lower_body_channels, make_edit, path_spec, root_path_channels, upper_body_channels,
                                upper_body_pose_channels)
from easytune_core.edit.metrics import foot_contacts, path_error, seam_report
from easytune_core.edit.path import path_features, path_headings, sample_path
from easytune_core.edit.run import place_joints
from easytune_core.edit.seams import blend_seams
from easytune_core.edit.source import load_source
from easytune_core.motion.features import feature_slices, features_to_joints, joints_to_features

from _render_helpers import walk_joints

SL = feature_slices("humanml3d")


def walk_features(T=61):
    return joints_to_features(walk_joints(T), fix_yaw_wrap=True)  # (T-1, 263)


def test_upper_and_lower_body_split_every_channel_once():
    lower, upper = lower_body_channels(), upper_body_channels()
    assert lower.shape == (263,) and not (lower & upper).any() and (lower | upper).all()
    assert lower[0:4].all() and lower[SL["foot_contact"]].all()  # root and contacts belong to the legs
    assert set(LOWER_BODY_JOINTS) | set(UPPER_BODY_JOINTS) == set(range(22))
    # joint 20 (left wrist): position 3, rotation 6, velocity 3 channels, all upper body
    wrist = joint_channels([20])
    assert wrist.sum() == 12 and upper[wrist].all()
    ric = SL["ric"].start + 3 * 19
    assert wrist[ric:ric + 3].all() and wrist[SL["local_vel"].start + 60:SL["local_vel"].start + 63].all()
    assert joint_channels([0]).sum() == 3  # the root has only its velocity entry
    pose = upper_body_pose_channels()  # what "lower body" keeps: the upper body without joint velocities
    assert (pose <= upper).all() and not pose[SL["local_vel"]].any() and pose[SL["ric"]].any()
    path = root_path_channels()
    assert np.flatnonzero(path).tolist() == [0, 1, 2, SL["local_vel"].start, SL["local_vel"].start + 2]
    assert root_path_channels(height=True).sum() == 7


def test_presets_keep_what_they_say():
    src = walk_features()  # 60 frames
    ib = make_edit("in-between", src, keep=10)
    assert ib.frames == 60 and ib.seams == [10, 50]
    assert ib.keep[:10].all() and ib.keep[50:].all() and not ib.keep[10:50].any()
    pre = make_edit("prefix", src, keep=20, frames=100)
    assert pre.frames == 100 and pre.seams == [20] and np.array_equal(pre.known[:20], src[:20])
    assert not pre.keep[20:].any()
    suf = make_edit("suffix", src, keep=15, frames=80)
    assert suf.seams == [65] and np.array_equal(suf.known[65:], src[45:]) and suf.keep[65:].all()
    fr = make_edit("frames", src, start=20, end=35)
    assert fr.seams == [20, 35] and not fr.keep[20:35].any() and fr.keep[:20].all() and fr.keep[35:].all()
    ub = make_edit("upper body", src)
    assert np.array_equal(ub.keep[0], lower_body_channels()) and ub.keep.all(0).sum() == lower_body_channels().sum()
    assert np.array_equal(make_edit("lower body", src).keep[7], upper_body_pose_channels())
    assert np.array_equal(make_edit("root path", src).keep[3], root_path_channels())
    soft = make_edit("in-between", src, keep=10, transition=4)
    assert np.array_equal(soft.keep, ib.keep)  # a soft transition keeps nothing more exactly
    assert 0 < soft.weight[10, 0] < 1 and soft.weight[10, 0] > soft.weight[13, 0] > 0 and soft.weight[15, 0] == 0


@pytest.mark.parametrize("preset, kwargs, message", [
    ("frames", dict(start=50, end=80), "between 1 and 60 frames, got 80"),
    ("frames", dict(start=70, end=75), "start must be between 0 and 59"),
    ("frames", dict(start=30, end=30), "end > start"),
    ("frames", dict(start=0, end=60), "covers the whole motion"),
    ("frames", dict(), "needs a frame range"),
    ("in-between", dict(keep=40), "keep must be between 1 and 29"),
    ("prefix", dict(keep=20, frames=300), "frames must be between 21 and 196"),
    ("sideways", dict(), "unknown edit preset"),
])
def test_bad_edits_say_what_to_fix(preset, kwargs, message):
    with pytest.raises(ValueError, match=message):
        make_edit(preset, walk_features(), **kwargs)


def test_source_checks():
    with pytest.raises(ValueError, match="NaN"):
        bad = walk_features()
        bad[3, 7] = np.nan
        make_edit("upper body", bad)
    with pytest.raises(ValueError, match="at most 196 frames"):
        make_edit("upper body", np.zeros((250, 263), np.float32))
    with pytest.raises(ValueError, match="shape"):
        EditSpec(np.zeros((10, 263)), np.zeros((10, 262)))


def test_path_channels_integrate_to_the_path():
    points = [(0, 0, 0), (2, 1.0, 1.5), (4, 2.5, 1.0), (6, 2.0, -0.5)]
    xz = sample_path(points)
    assert xz.shape == (121, 2) and np.allclose(xz[0], 0)
    yaw = path_headings(xz)
    feats, placement = path_features(xz, yaw)
    feats[:, 3] = 0.9
    joints = features_to_joints(feats)  # joints relative to a root at zero: the root is joint 0
    placed = place_joints(joints, placement)
    assert path_error(placed, xz) < 1e-4
    # the facing integrated from the yaw channel is the path's heading
    from easytune_core.eval.rules import facing_yaw
    body = walk_features(len(xz) + 1)
    body[:, 0:3] = feats[:, 0:3]
    walk = place_joints(features_to_joints(body), placement)
    assert path_error(walk, xz) < 1e-4
    heading = facing_yaw(walk)
    assert np.abs(np.angle(np.exp(1j * (heading - yaw)))[5:-5]).max() < np.radians(25)


def test_path_spec_follows_the_user_coordinates_and_polyline():
    spec = path_spec([(0, 1.0, 2.0), (3, 1.0, 5.0), (6, 4.0, 5.0)])  # north, then east (+X)
    assert spec.frames == 121 and spec.name == "path"
    assert np.allclose(spec.placement[1:], (1.0, 2.0)) and abs(spec.placement[0]) < 1e-6  # starts facing +Z
    feats = spec.known.copy()
    feats[:, 3] = 0.9
    root = place_joints(features_to_joints(feats)[:, :1], spec.placement)[:, 0]
    t = np.arange(121) / 20
    line = np.stack([np.interp(t, [0, 3, 6], [1, 1, 4]), np.interp(t, [0, 3, 6], [2, 5, 5])], 1)
    err = np.linalg.norm(root[:, [0, 2]] - line, axis=1)
    assert err.max() < 0.06 and err[:40].max() < 1e-4  # straight parts exact; the 90-degree corner rounded by 5.5 cm


@pytest.mark.parametrize("points, message", [
    ([(0, 0, 0)], "at least 2 points"),
    ([(0, 0, 0), (1, float("nan"), 0)], "NaN"),
    ([(0, 0, 0), (1, 1, "x")], "must hold numbers"),
    ([(0.5, 0, 0), (1, 1, 0)], "start at t = 0"),
    ([(0, 0, 0), (2, 1, 0), (2, 2, 0)], "times must increase"),
    ([(0, 0, 0), (1, 20, 0)], "20.0 m/s"),
    ([(0, 0, 0, 1), (1, 1, 0, 1)], "must be \\(t, x, z\\)"),
])
def test_bad_paths(points, message):
    with pytest.raises(ValueError, match=message):
        check_path(points)


def test_path_longer_than_the_window_is_refused():
    with pytest.raises(ValueError, match="at most 9.75 s"):
        path_spec([(0, 0, 0), (12, 0, 10)])
    assert len(check_path([[0, 0, 0], ["", "", ""], [1, 0, 1], [None, None, None]])) == 2  # empty table rows


def test_blend_seams_keeps_kept_frames_and_removes_the_jump():
    src = walk_features()
    spec = make_edit("prefix", src, keep=30, frames=60)
    out = src.copy()
    out[30:, SL["ric"]] += 0.2  # a 20 cm pop of every joint at frame 30
    out[30:, 3] += 0.2
    before = seam_report(features_to_joints(out), [30])
    blended = blend_seams(out, spec.keep, 10)
    assert np.array_equal(blended[:30], out[:30])  # kept frames untouched
    np.testing.assert_allclose(blended[40:], out[40:], atol=1e-6)  # beyond the blend: unchanged
    after = seam_report(features_to_joints(blended), [30])
    assert before["seams"][0]["ratio"] > 1.5 and after["seams"][0]["ratio"] < 1.0
    assert after["ok"]
    np.testing.assert_array_equal(blend_seams(out, spec.keep, 0), out)


def test_seam_report_and_contacts_on_a_planted_foot():
    j = np.zeros((10, 22, 3))
    j[:, :, 1] = 1.0
    j[:, 7, 1] = j[:, 10, 1] = 0.0  # left foot planted throughout
    j[:, 8, 2] = np.arange(10) * 0.2  # right foot moves 20 cm a frame
    j[:, 11, 2] = np.arange(10) * 0.2
    c = foot_contacts(j)
    assert c["left"].all() and not c["right"].any()
    rep = seam_report(j, [5])
    assert rep["seams"][0]["feet"]["left"] == {"planted_both_sides": True, "stayed_planted": True}
    j2 = j.copy()
    j2[5:, 7, 0] += 0.3  # the planted foot jumps 30 cm at the seam
    j2[5:, 10, 0] += 0.3
    assert not seam_report(j2, [5])["seams"][0]["feet"]["left"]["stayed_planted"]


def test_sources_bvh_joints_and_features(tmp_path):
    from easytune_core.render.export import save_bvh

    joints = walk_joints(41)
    np.save(tmp_path / "joints.npy", joints)
    np.save(tmp_path / "flat.npy", joints.reshape(41, 66))
    feats = joints_to_features(joints, fix_yaw_wrap=True)
    np.save(tmp_path / "feats.npy", feats)
    save_bvh(tmp_path / "walk.bvh", joints)
    a = load_source(tmp_path / "joints.npy")
    assert a.shape == (40, 263) and np.allclose(a, feats, atol=1e-5)
    assert np.allclose(load_source(tmp_path / "flat.npy"), a)
    assert np.array_equal(load_source(tmp_path / "feats.npy", start=5, end=25), feats[5:25])
    b = load_source(tmp_path / "walk.bvh")
    assert b.shape == (40, 263)
    # the BVH holds the same motion: recovered joints agree within a few centimetres
    ja, jb = features_to_joints(a), features_to_joints(b)
    assert np.abs(ja - jb).max() < 0.05


@pytest.mark.parametrize("name, content, message", [
    ("bad.bvh", b"HIERARCHY\nROOT Hips\n{ OFFSET 0 0 0 CHANNELS 6 Xposition\n", "could not be read as BVH"),
    ("bad2.bvh", b"not a bvh at all", "could not be read as BVH"),
    ("m.txt", b"1 2 3", "must be a .bvh or a .npy"),
])
def test_corrupt_sources_are_refused(tmp_path, name, content, message):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(ValueError, match=message):
        load_source(path)


def test_bad_npy_sources(tmp_path):
    obj = tmp_path / "obj.npy"
    np.save(obj, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(ValueError, match="plain numeric"):
        load_source(obj)
    nan = tmp_path / "nan.npy"
    j = walk_joints(20)
    j[4, 3, 1] = np.nan
    np.save(nan, j)
    with pytest.raises(ValueError, match="NaN"):
        load_source(nan)
    np.save(tmp_path / "shape.npy", np.zeros((10, 7)))
    with pytest.raises(ValueError, match="expected joints"):
        load_source(tmp_path / "shape.npy")
    np.save(tmp_path / "ok.npy", walk_features())
    with pytest.raises(ValueError, match="outside ok.npy"):
        load_source(tmp_path / "ok.npy", start=50, end=90)


def test_blending_windows_keeps_each_states_noise_level():
    import torch

    from easytune_core.edit.compose import BlendGuide, _ramp_weights

    total, overlap = 120, 20
    wins = [(0, 70), (50, 120)]
    guide = BlendGuide([s for s, _ in wins], [e - s for s, e in wins],
                       [_ramp_weights(s, e, total, overlap) for s, e in wins], total)
    g = torch.Generator().manual_seed(0)
    x0 = guide.x0(0, None, torch.randn(2, 70, 256, generator=g))  # fused: the windows agree on x0
    a = 0.5
    fresh = a ** 0.5 * x0 + (1 - a) ** 0.5 * torch.randn(2, 70, 256, generator=g)  # a stochastic step per window
    fused = guide.x_next(0, fresh, a)
    overlap_part = fused[0, 50:70] - a ** 0.5 * x0[0, 50:70]
    assert abs(float(overlap_part.std()) - (1 - a) ** 0.5) < 0.03  # averaging would give about 0.5
    np.testing.assert_allclose(fused[0, 50:70].numpy(), fused[1, :20].numpy())  # the windows agree
    same = a ** 0.5 * x0 + 0.3 * x0.flip(-1)  # a deterministic step: the windows already agree
    np.testing.assert_allclose(guide.x_next(0, same, a).numpy(), same.numpy(), atol=1e-6)
