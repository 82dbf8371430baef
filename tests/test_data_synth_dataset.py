"""The built-in dataset: deterministic bytes, HumanML3D layout, loads, captions match actions."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from _synth_checks import check_action
from easytune_core.data import MotionTextDataset
from easytune_core.data.builtin import ACTIONS_FILE, generate_builtin, iter_builtin, make_sample
from easytune_core.data.cli import add_arguments, run


def _digest(folder: Path) -> dict:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.slow
def test_same_seed_same_bytes_any_worker_count(tmp_path):
    generate_builtin(tmp_path / "a", size=6, seed=3, workers=1)
    generate_builtin(tmp_path / "b", size=6, seed=3, workers=2)
    da, db = _digest(tmp_path / "a"), _digest(tmp_path / "b")
    assert da == db
    assert {"Mean.npy", "Std.npy", "train.txt", "val.txt", "test.txt", ACTIONS_FILE} <= set(da)
    names = {Path(k).stem for k in da if k.startswith("new_joint_vecs/")}
    assert len(names) == 12 and {f"M{n}" for n in names if not n.startswith("M")} <= names
    generate_builtin(tmp_path / "c", size=6, seed=4, workers=1)
    assert _digest(tmp_path / "c")["Mean.npy"] != da["Mean.npy"]


def test_samples_do_not_depend_on_their_neighbours():
    whole = list(iter_builtin(size=5, seed=1, workers=1))
    alone = make_sample(1, 3)
    assert whole[3][0] == alone[0] == "000003"
    assert whole[3][1].tobytes() == alone[1].tobytes() and whole[3][2] == alone[2]


@pytest.mark.slow
def test_prepared_folder_loads_and_matches_its_actions(tmp_path):
    out = tmp_path / "ds"
    summary = generate_builtin(out, size=8, seed=0, workers=1)
    assert summary.num_motions == 16
    ds = MotionTextDataset(out, split="train", min_frames=1)
    item = ds[0]
    # HumanML3D's own length filter (40 <= feature frames < 200) keeps every motion.
    kept = MotionTextDataset(out, split="train")
    assert len(kept.lengths) == len(ds.lengths) == len(summary.splits["train"]) and min(kept.lengths) >= 40
    assert item["features"].shape[1] == 263 and np.isfinite(item["features"].numpy()).all()
    texts = (out / "texts" / "000000.txt").read_text().splitlines()
    assert len(texts) >= 3 and all(line.count("#") == 3 for line in texts)
    records = [json.loads(line) for line in (out / ACTIONS_FILE).read_text().splitlines()]
    assert [r["name"] for r in records] == [f"{i:06d}" for i in range(8)]
    for r in records:
        name, joints, caps, actions = make_sample(0, int(r["name"]))
        assert json.loads(json.dumps(actions)) == r["actions"]
        for a in actions:
            check_action(joints, a)


@pytest.mark.slow
def test_mirrored_captions_swap_sides(tmp_path):
    out = tmp_path / "ds"
    generate_builtin(out, size=30, seed=2, workers=1)
    swapped = 0
    for p in sorted((out / "texts").glob("0*.txt")):
        orig = [line.split("#")[0] for line in p.read_text().splitlines()]
        mirr = [line.split("#")[0] for line in (out / "texts" / f"M{p.name}").read_text().splitlines()]
        for o, m in zip(orig, mirr):
            if "left" in o or "right" in o:
                swapped += 1
                assert m == o.replace("left", "\0").replace("right", "left").replace("\0", "right")
    assert swapped > 5


def test_cli_writes_a_dataset_and_rejects_bad_sizes(tmp_path, capsys):
    import argparse

    parser = argparse.ArgumentParser()
    add_arguments(parser)
    assert run(parser.parse_args(["--out", str(tmp_path / "d"), "--size", "3", "--workers", "1"])) == 0
    assert "wrote 6 motions" in capsys.readouterr().out
    assert (tmp_path / "d" / "Mean.npy").exists()
    with pytest.raises(ValueError, match="--size must be at least 1"):
        run(parser.parse_args(["--out", str(tmp_path / "e"), "--size", "0"]))
    with pytest.raises(ValueError, match="not empty"):
        run(parser.parse_args(["--out", str(tmp_path / "d"), "--size", "3", "--workers", "1"]))


def test_builtin_features_repair_the_yaw_wrap_glitch():
    # Walking a full circle crosses -Z; HumanML3D's published processing flips one frame's turn
    # there (issue #156) and the recovered path drifts; the built-in dataset's features do not.
    from easytune_core.data.builtin import builtin_feature_fns
    from easytune_core.data.synth import synthesize_sample
    from easytune_core.motion.features import canonicalize_joints, features_to_joints

    joints = synthesize_sample(np.random.default_rng([3, 0]), kinds=["circle"]).joints
    feats = builtin_feature_fns().joints_to_features(joints, "humanml3d")
    back = features_to_joints(feats)
    assert np.abs(back - canonicalize_joints(joints)[:-1]).max() < 1e-3  # within 1 mm
