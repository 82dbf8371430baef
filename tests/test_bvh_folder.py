"""prepare-data --from-bvh: BVH folder + captions file -> HumanML3D folder that the loader reads."""

from __future__ import annotations

import numpy as np
import pytest

from _data_helpers import MIXAMO, pose_motion, write_bvh
from easytune_core.cli import main
from easytune_core.data import MotionTextDataset
from easytune_core.data.bvh_folder import read_captions_file
from easytune_core.motion.bvh import load_bvh
from easytune_core.motion.features import canonicalize_joints, features_to_joints, joints_to_features
from easytune_core.motion.skeleton import HUMANML3D


def _walk_bvh(path, frames, seed):
    t = np.arange(frames) / 30.0
    rng = np.random.default_rng(seed)
    rot = np.zeros((frames, 22, 3))
    for j, sign in ((1, 1), (2, -1), (16, -1), (17, 1)):  # hips and shoulders swing (X rotation)
        rot[:, j, 2] = sign * rng.uniform(20, 30) * np.sin(2 * np.pi * 1.5 * t)
    rot[:, 4, 2] = 25 + 20 * np.sin(2 * np.pi * 1.5 * t)  # knees stay bent
    rot[:, 5, 2] = 25 - 20 * np.sin(2 * np.pi * 1.5 * t)
    root = np.stack([np.zeros(frames), np.full(frames, 92.0), 120.0 * t], -1)  # cm, 1.2 m/s
    return write_bvh(path, ["mixamorig:" + n for n in MIXAMO], HUMANML3D.parents, HUMANML3D.offsets * 100,
                     pose_motion(frames, root, rot), frame_time=1 / 30)


@pytest.fixture()
def bvh_dir(tmp_path):
    d = tmp_path / "bvh"
    (d / "sub").mkdir(parents=True)
    _walk_bvh(d / "walk_a.bvh", 90, 0)
    _walk_bvh(d / "sub" / "walk b.bvh", 120, 1)
    _walk_bvh(d / "ignored.bvh", 40, 2)
    caps = tmp_path / "captions.tsv"
    caps.write_text("# file<TAB>caption[<TAB>start<TAB>end]\n"
                    "walk_a.bvh\ta person walks forward\n"
                    "walk_a\tsomeone strolls ahead, swinging the left arm\n"
                    "sub/walk b.bvh\ta person walks\t0.5\t3.5\n"
                    "\n")
    return d, caps


def test_prepare_data_from_bvh_loads_through_the_dataset(bvh_dir, tmp_path, capsys):
    d, caps = bvh_dir
    out = tmp_path / "ds"
    assert main(["prepare-data", "--out", str(out), "--from-bvh", str(d), "--captions", str(caps)]) == 0
    printed = capsys.readouterr().out
    assert "wrote 4 motions" in printed and "ignored" in printed
    assert sorted((out / "all.txt").read_text().split()) == ["Msub__walk_b_1", "Mwalk_a", "sub__walk_b_1", "walk_a"]
    assert (out / "texts" / "Mwalk_a.txt").read_text().splitlines()[1].startswith(
        "someone strolls ahead, swinging the right arm#")
    ds = MotionTextDataset(out, "all", random_crop=False, normalize=False)
    lengths = {e["name"]: e["length"] for e in ds.entries}
    assert lengths == {"walk_a": 59, "Mwalk_a": 59, "sub__walk_b_1": 60, "Msub__walk_b_1": 60}
    feats = np.load(out / "new_joint_vecs" / "walk_a.npy")
    assert feats.shape == (59, 263)
    # forward speed in the features: 1.2 m/s retargeted by the canonical leg length ratio
    assert 0.03 < feats[:, 2].mean() < 0.09


def test_bvh_joints_round_trip_through_features(bvh_dir):
    d, _ = bvh_dir
    joints = load_bvh(d / "walk_a.bvh")
    assert joints.shape == (60, 22, 3) and abs(joints[..., 1].min()) < 1e-6
    rec = features_to_joints(joints_to_features(joints))
    np.testing.assert_allclose(rec, canonicalize_joints(joints)[:-1], atol=1e-3)


@pytest.mark.parametrize("text, msg", [
    ("walk_a.bvh a caption without a tab\n", "expected 'file<TAB>caption'"),
    ("walk_a.bvh\tfine\t2\t1\n", "start < end"),
    ("nope.bvh\ta caption\n", "not in"),
    ("walk_a.bvh\ta #hash\n", "cannot contain '#'"),
])
def test_bad_captions_files_fail_with_exit_code_2(bvh_dir, tmp_path, capsys, text, msg):
    d, caps = bvh_dir
    caps.write_text(text)
    assert main(["prepare-data", "--out", str(tmp_path / "x"), "--from-bvh", str(d), "--captions", str(caps)]) == 2
    assert msg in capsys.readouterr().err


def test_captions_file_parsing(tmp_path):
    p = tmp_path / "c.txt"
    p.write_text("a.bvh\tone\r\na\ttwo\t0\t1.5\r\n")
    assert read_captions_file(p) == {"a": ["one", ("two", 0.0, 1.5)]}
    with pytest.raises(FileNotFoundError):
        read_captions_file(tmp_path / "none.txt")


def test_a_clip_and_its_captioned_spans_stay_in_one_split(tmp_path):
    d = tmp_path / "bvh"
    d.mkdir()
    lines = []
    for i in range(10):  # each clip: the whole motion plus two overlapping spans
        _walk_bvh(d / f"clip{i}.bvh", 120, i)
        lines += [f"clip{i}.bvh\ta person walks", f"clip{i}.bvh\ta person walks forward\t0.0\t2.5",
                  f"clip{i}.bvh\ta person keeps walking\t1.0\t3.5"]
    caps = tmp_path / "captions.tsv"
    caps.write_text("\n".join(lines) + "\n")
    out = tmp_path / "ds"
    assert main(["prepare-data", "--out", str(out), "--from-bvh", str(d), "--captions", str(caps)]) == 0
    split_of = {n: k for k in ("train", "val", "test") for n in (out / f"{k}.txt").read_text().split()}
    assert len(split_of) == 10 * 3 * 2  # whole clip and two spans, each with its mirror image
    for name, split in split_of.items():
        clip = name.lstrip("M").split("_")[0]
        assert split == split_of[clip], (name, split, split_of[clip])
    assert len(set(split_of.values())) > 1  # the clips themselves are still spread over the splits
