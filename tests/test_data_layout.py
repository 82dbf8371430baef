"""write_humanml3d_folder: HumanML3D's layout, determinism, mirroring, statistics, splits."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

from _data_helpers import feature_fns, make_motion
from easytune_core.data.layout import feature_groups, write_humanml3d_folder
from easytune_core.data.tokens import caption_tokens, mirror_caption


def _samples(n=4, frames=(50, 61, 72, 45)):
    for i in range(n):
        yield (f"{i:06d}", make_motion(frames[i % len(frames)], seed=i),
               [f"a person walks forward and waves with the left hand {i}", "someone walks"])


def _digest(folder: Path) -> dict:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_layout_files_shapes_and_text_lines(tmp_path):
    out = tmp_path / "ds"
    summary = write_humanml3d_folder(out, _samples(), fns=feature_fns())
    names = [f"{i:06d}" for i in range(4)]
    for n in names + ["M" + n for n in names]:
        feats = np.load(out / "new_joint_vecs" / f"{n}.npy")
        joints = np.load(out / "new_joints" / f"{n}.npy")
        assert feats.dtype == np.float32 and joints.dtype == np.float32
        assert feats.shape[1] == 263 and joints.shape == (feats.shape[0], 22, 3)
    assert np.load(out / "new_joint_vecs" / "000001.npy").shape[0] == 60  # T - 1
    lines = (out / "texts" / "000000.txt").read_text().splitlines()
    assert len(lines) == 2
    cap, tokens, start, end = lines[0].split("#")
    assert cap == "a person walks forward and waves with the left hand 0"
    assert tokens.startswith("a/DET person/NOUN walk/VERB forward/ADV and/CCONJ wave/VERB")
    assert (start, end) == ("0.0", "0.0")
    assert np.load(out / "Mean.npy").shape == (263,) and np.load(out / "Std.npy").dtype == np.float32
    all_names = (out / "all.txt").read_text().split()
    assert sorted(all_names) == sorted(names + ["M" + n for n in names])
    assert summary.num_motions == 8


def test_mirrored_copy_swaps_left_right_and_shares_split(tmp_path):
    out = tmp_path / "ds"
    write_humanml3d_folder(out, _samples(n=20), split_fracs=(0.6, 0.2, 0.2), seed=3, fns=feature_fns())
    lines = (out / "texts" / "M000000.txt").read_text().splitlines()
    assert lines[0].split("#")[0] == "a person walks forward and waves with the right hand 0"
    assert "right/ADJ hand/NOUN" in lines[0].split("#")[1]
    splits = {k: set((out / f"{k}.txt").read_text().split()) for k in ("train", "val", "test")}
    assert [len(splits[k]) for k in ("train", "val", "test")] == [24, 8, 8]
    for k, names in splits.items():
        for n in names:  # each original travels with its mirror: no leak across splits
            partner = n[1:] if n.startswith("M") else "M" + n
            assert partner in names, (k, n)
    assert not (splits["train"] & splits["test"])


def test_same_input_gives_same_bytes_even_with_workers(tmp_path):
    a = write_humanml3d_folder(tmp_path / "a", _samples(), fns=feature_fns(), seed=7)
    b = write_humanml3d_folder(tmp_path / "b", list(_samples()), fns=feature_fns(), seed=7, workers=2)
    assert a.num_motions == b.num_motions
    da, db = _digest(tmp_path / "a"), _digest(tmp_path / "b")
    assert da == db and len(da) == 8 * 3 + 6


def test_mean_std_follow_humanml3d_group_rule(tmp_path):
    out = tmp_path / "ds"
    write_humanml3d_folder(out, _samples(), fns=feature_fns())
    data = np.concatenate([np.load(p) for p in sorted((out / "new_joint_vecs").glob("*.npy"))])
    std = data.astype(np.float64).std(axis=0)
    for a, b in feature_groups(22):
        s = std[a:b].mean()
        std[a:b] = s if s > 0 else 1.0
    np.testing.assert_allclose(np.load(out / "Mean.npy"), data.astype(np.float64).mean(0), atol=1e-5)
    np.testing.assert_allclose(np.load(out / "Std.npy"), std, rtol=1e-5, atol=1e-7)
    assert feature_groups(22)[-1] == (259, 263) and feature_groups(21)[-1][1] == 251


def test_sub_caption_spans_are_written_as_tags(tmp_path):
    out = tmp_path / "ds"
    write_humanml3d_folder(out, [("clip", make_motion(90), ["walks", ("waves", 0.5, 3.0)])],
                           split_fracs=(1, 0, 0), mirror=False, fns=feature_fns())
    lines = (out / "texts" / "clip.txt").read_text().splitlines()
    assert lines[1].endswith("#0.5#3.0")
    assert (out / "train.txt").read_text() == "clip\n" and (out / "test.txt").read_text() == ""


@pytest.mark.parametrize("bad, msg", [
    (("x", np.zeros((10, 21, 3)), ["a"]), r"\(T, 22, 3\)"),
    (("x", np.zeros((1, 22, 3)), ["a"]), "at least 2 frames"),
    (("x", np.full((5, 22, 3), np.nan), ["a"]), "NaN"),
    (("x", np.zeros((5, 22, 3)), []), "no caption"),
    (("a/b", np.zeros((5, 22, 3)), ["a"]), "file name"),
])
def test_bad_samples_are_rejected(tmp_path, bad, msg):
    with pytest.raises(ValueError, match=msg):
        write_humanml3d_folder(tmp_path / "ds", [bad], fns=feature_fns())


def test_refuses_non_empty_folder_and_bad_fracs(tmp_path):
    (tmp_path / "ds").mkdir()
    (tmp_path / "ds" / "keep.txt").write_text("x")
    with pytest.raises(ValueError, match="not empty"):
        write_humanml3d_folder(tmp_path / "ds", _samples(), fns=feature_fns())
    with pytest.raises(ValueError, match="split_fracs"):
        write_humanml3d_folder(tmp_path / "ds2", _samples(), split_fracs=(0.5, 0.5, 0.5), fns=feature_fns())
    with pytest.raises(ValueError, match="twice"):
        write_humanml3d_folder(tmp_path / "ds3", [("a", make_motion(5), ["x"]), ("Ma", make_motion(5), ["y"])],
                               fns=feature_fns())


def test_caption_tokens_and_mirror_rules():
    assert caption_tokens("A man kicks with his left leg.") == \
        "a/DET man/NOUN kick/VERB with/ADP his/DET left/ADJ leg/NOUN"
    assert caption_tokens("the person does three jumps") == \
        "the/DET person/NOUN does/AUX three/NUM jump/NOUN"
    assert mirror_caption("Left arm up, then turn right clockwise") == \
        "Right arm up, then turn left counterclockwise"
    assert mirror_caption("a bright light") == "a bright light"  # whole words only
    for written in ("counter-clockwise", "counter clockwise", "anti-clockwise", "Anticlockwise"):
        assert mirror_caption(f"spins {written}") in ("spins clockwise", "spins Clockwise")


def test_mirroring_a_caption_twice_gives_it_back():
    for c in ("turn left, then right", "Right hand up", "walks leftwards", "spins clockwise"):
        assert mirror_caption(mirror_caption(c)) == c


def test_fix_yaw_wrap_option_keeps_spins_lossless(tmp_path):
    from easytune_core.motion.features import canonicalize_joints, joints_to_features
    j = make_motion(60, seed=9, speed=0.0).astype(np.float64)
    ang = np.linspace(0, 1.5 * np.pi, 60)  # a 270 degree turn in place
    c, s = np.cos(ang)[:, None], np.sin(ang)[:, None]
    x, z = j[..., 0].copy(), j[..., 2].copy()
    j[..., 0], j[..., 2] = c * x + s * z, -s * x + c * z
    write_humanml3d_folder(tmp_path / "ds", [("spin", j, ["a person spins"])], mirror=False,
                           split_fracs=(1, 0, 0), fix_yaw_wrap=True)
    feats = np.load(tmp_path / "ds" / "new_joint_vecs" / "spin.npy")
    np.testing.assert_array_equal(feats, joints_to_features(j.astype(np.float32), fix_yaw_wrap=True))
    rec = np.load(tmp_path / "ds" / "new_joints" / "spin.npy")
    np.testing.assert_allclose(rec, canonicalize_joints(j)[:-1], atol=1e-4)
    with pytest.raises(ValueError, match="not both"):
        write_humanml3d_folder(tmp_path / "ds2", [("spin", j, ["x"])], fns=feature_fns(), fix_yaw_wrap=True)
