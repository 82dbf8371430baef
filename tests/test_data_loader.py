"""MotionTextDataset / collate_motion / LengthBucketSampler on folders we write ourselves."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from _data_helpers import feature_fns, make_motion
from easytune_core.data import (LengthBucketSampler, MotionTextDataset, collate_motion, load_stats,
                                write_humanml3d_folder)


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    out = tmp_path_factory.mktemp("hml") / "ds"
    samples = [
        ("000000", make_motion(61, seed=0), ["a person walks", "someone walks forward"]),
        ("000001", make_motion(101, seed=1), ["walks then waves", ("waves the left hand", 1.0, 3.5)]),
        ("000002", make_motion(30, seed=2), ["too short to keep"]),  # 29 feature frames < 40
        # HumanML3D drops a too-long motion before looking at its captions, spans included
        ("000003", make_motion(250, seed=3), ["too long", ("a part", 2.0, 6.0)]),
        ("000004", make_motion(81, seed=4), [("only a span", 0.0, 2.5)]),
        ("000005", make_motion(150, seed=5), [("only this part", 2.0, 6.0), ("too short", 1.0, 2.0)]),
    ]
    write_humanml3d_folder(out, samples, split_fracs=(1.0, 0.0, 0.0), fns=feature_fns())
    return out


def test_written_layout_loads_with_humanml3d_rules(folder):
    ds = MotionTextDataset(folder, "train", random_crop=False)
    by_name = {e["name"]: e for e in ds.entries}
    # whole motions within [40, 200) frames; sub-spans become their own entries
    assert set(by_name) == {"000000", "M000000", "000001", "M000001", "A_000001", "A_M000001",
                            "A_000004", "A_M000004", "A_000005", "A_M000005"}
    assert by_name["A_000001"]["length"] == 50          # frames 20..70 of 100
    assert by_name["A_000005"]["length"] == 80          # 2..6 s; the 1..2 s span is too short
    assert by_name["A_000004"]["length"] == 50          # 0.0..2.5 s is a span, not "whole"
    assert [t["caption"] for t in by_name["A_M000001"]["texts"]] == ["waves the right hand"]
    assert list(ds.lengths) == sorted(ds.lengths)
    item = ds[[e["name"] for e in ds.entries].index("000001")]
    mean, std = load_stats(folder)
    raw = np.load(folder / "new_joint_vecs" / "000001.npy")
    assert item["length"] == 100 and item["features"].shape == (100, 263)
    np.testing.assert_allclose(item["features"].numpy(), (raw[:100] - mean) / std, rtol=1e-5, atol=1e-5)
    assert item["caption"] in ("walks then waves",)


def test_sub_caption_item_is_the_tagged_slice(folder):
    ds = MotionTextDataset(folder, "train", random_crop=False, normalize=False)
    i = [e["name"] for e in ds.entries].index("A_000001")
    raw = np.load(folder / "new_joint_vecs" / "000001.npy")
    item = ds[i]
    assert item["caption"] == "waves the left hand" and item["length"] == 48  # 50 -> multiple of 4
    np.testing.assert_array_equal(item["features"].numpy(), raw[20:68])


def test_random_crop_is_reproducible_and_a_multiple_of_unit(folder):
    ds = MotionTextDataset(folder, "train", seed=5)
    first = [ds[i] for i in range(len(ds))]
    again = [ds[i] for i in range(len(ds))]
    for a, b in zip(first, again):
        assert a["caption"] == b["caption"] and torch.equal(a["features"], b["features"])
        assert a["length"] % 4 == 0 and a["length"] <= 196
    ds.set_epoch(1)
    lens = [[ds[i]["length"] for i in range(len(ds))]]
    for epoch in range(2, 12):
        ds.set_epoch(epoch)
        lens.append([ds[i]["length"] for i in range(len(ds))])
    assert len({tuple(x) for x in lens}) > 1  # 'double' cropping sometimes takes one unit less
    i = [e["name"] for e in ds.entries].index("000000")
    caps = set()
    for epoch in range(12):
        ds.set_epoch(epoch)
        caps.add(ds[i]["caption"])
    assert caps == {"a person walks", "someone walks forward"}


def test_collate_pads_and_masks():
    batch = [{"features": torch.ones(3, 5), "caption": "a", "name": "x"},
             {"features": torch.full((5, 5), 2.0), "caption": "b", "name": "y"}]
    out = collate_motion(batch)
    assert out["features"].shape == (2, 5, 5) and out["mask"].dtype == torch.bool
    assert out["mask"].tolist() == [[True] * 3 + [False] * 2, [True] * 5]
    assert out["lengths"].tolist() == [3, 5] and out["lengths"].dtype == torch.long
    assert out["features"][0, 3:].abs().sum() == 0 and out["captions"] == ["a", "b"]
    with pytest.raises(ValueError, match="at least one"):
        collate_motion([])


def test_dataloader_with_bucket_sampler(folder):
    ds = MotionTextDataset(folder, "train")
    loader = torch.utils.data.DataLoader(ds, batch_sampler=LengthBucketSampler(ds, 3, seed=0),
                                         collate_fn=collate_motion)
    seen = []
    for batch in loader:
        assert batch["features"].shape[:2] == batch["mask"].shape
        assert batch["mask"].sum(1).tolist() == batch["lengths"].tolist()
        seen += batch["names"]
    assert sorted(seen) == sorted(e["name"] for e in ds.entries)


def test_bucket_sampler_groups_lengths_and_is_deterministic():
    rng = np.random.default_rng(0)
    lengths = rng.integers(40, 200, size=1000)
    s = LengthBucketSampler(lengths, batch_size=16, seed=1, pool_batches=20)
    batches = list(s)
    assert len(batches) == len(s) == 63
    flat = sorted(i for b in batches for i in b)
    assert flat == list(range(1000))
    spread = np.mean([np.ptp(lengths[b]) for b in batches])
    random_spread = np.mean([np.ptp(lengths[rng.permutation(1000)[:16]]) for _ in range(50)])
    assert spread < 0.25 * random_spread
    assert batches == list(LengthBucketSampler(lengths, 16, seed=1, pool_batches=20))
    s.set_epoch(1)
    assert list(s) != batches
    assert len(LengthBucketSampler(lengths, 16, drop_last=True)) == 62
    assert all(len(b) == 16 for b in LengthBucketSampler(lengths, 16, drop_last=True))
    plain = list(LengthBucketSampler(lengths, 16, shuffle=False))
    assert [lengths[b].max() for b in plain] == sorted(lengths[b].max() for b in plain)


@pytest.mark.parametrize("victim, msg", [
    ("Mean.npy", "HumanML3D folder .* is missing Mean.npy"),
    ("train.txt", "is missing train.txt"),
    ("texts/000000.txt", r"is missing texts/000000.txt \(listed in train.txt\)"),
    ("new_joint_vecs", "is missing new_joint_vecs"),
])
def test_missing_file_is_a_clear_error(folder, tmp_path, victim, msg):
    copy = tmp_path / "copy"
    shutil.copytree(folder, copy)
    path = copy / victim
    shutil.rmtree(path) if path.is_dir() else path.unlink()
    with pytest.raises(ValueError, match=msg):
        MotionTextDataset(copy, "train")


def test_kit_label_and_wrong_dims(folder):
    with pytest.raises(ValueError, match=r"expected \(251,\)"):
        load_stats(folder, skeleton="kit")
    with pytest.raises(ValueError, match="KIT-ML folder .* does not exist"):
        MotionTextDataset(folder / "nope", skeleton="kit")


def test_kit_folder_uses_kit_dims_min_length_and_fps(tmp_path):
    root = tmp_path / "kit"
    (root / "new_joint_vecs").mkdir(parents=True)
    (root / "texts").mkdir()
    rng = np.random.default_rng(0)
    for name, frames in (("00001", 30), ("00002", 20), ("00003", 100)):
        np.save(root / "new_joint_vecs" / f"{name}.npy", rng.normal(size=(frames, 251)).astype(np.float32))
    (root / "texts" / "00001.txt").write_text("a person walks.#a/DET person/NOUN walk/VERB#0.0#0.0\n")
    (root / "texts" / "00002.txt").write_text("too short#x/NOUN#0.0#0.0\n")
    (root / "texts" / "00003.txt").write_text("a part#a/DET part/NOUN#2.0#4.0\nnan tags#n/NOUN#nan#nan\n")
    np.save(root / "Mean.npy", np.zeros(251, np.float32))
    np.save(root / "Std.npy", np.full(251, 2.0, np.float32))
    (root / "train.txt").write_text("00001\n00002\n00003\n")
    ds = MotionTextDataset(root, "train", skeleton="kit", random_crop=False)
    assert [(e["name"], e["length"]) for e in ds.entries] == [("A_00003", 25), ("00001", 30), ("00003", 100)]
    item = ds[1]
    assert item["features"].shape == (28, 251) and item["caption"] == "a person walks."
    raw = np.load(root / "new_joint_vecs" / "00001.npy")
    np.testing.assert_allclose(item["features"].numpy(), raw[:28] / 2.0, rtol=1e-6)


@settings(max_examples=40, deadline=None)
@given(lengths=st.lists(st.integers(1, 300), min_size=1, max_size=200), batch=st.integers(1, 40),
       pool=st.integers(1, 8), drop_last=st.booleans(), seed=st.integers(0, 5))
def test_bucket_sampler_covers_every_index_once(lengths, batch, pool, drop_last, seed):
    s = LengthBucketSampler(lengths, batch, seed=seed, pool_batches=pool, drop_last=drop_last)
    batches = list(s)
    assert len(batches) == len(s)
    flat = [i for b in batches for i in b]
    assert len(flat) == len(set(flat))
    if drop_last:
        assert all(len(b) == batch for b in batches) and len(flat) == len(lengths) // batch * batch
    else:
        assert sorted(flat) == list(range(len(lengths)))


@pytest.mark.parametrize("twin_share", [0.0, 0.5])
def test_a_pass_can_leave_out_its_first_batches_without_changing_the_rest(twin_share):
    from easytune_core.data.dataset import LengthBucketSampler
    from easytune_core.data.twins import TwinBatchSampler

    def sampler():
        s = LengthBucketSampler(list(range(10, 50)), 4, shuffle=True, drop_last=True, seed=3)
        return TwinBatchSampler(s, [[i + 1] if i % 2 == 0 else [i - 1] for i in range(40)], twin_share, seed=3) \
            if twin_share else s

    full, part = sampler(), sampler()
    full.set_epoch(2)
    part.set_epoch(2)
    part.skip_next(3)
    assert list(part) == list(full)[3:]
    assert list(part) == list(full)  # only the next pass leaves batches out
