"""The trainers' shared scaffolding (easytune_core.data.loader): loaders and epochs, seeding,
caption caches, device and autocast helpers."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from easytune_core.data.loader import (CaptionEmbeddings, TokenCache, amp_dtype, autocast, caption_cache_file, forever,
                                       make_loader, resolve_device, seed_everything, set_epoch, split_captions)
from easytune_core.text.encoders import TextEncoder
from tests.support.fakes import FakeTextEncoder, make_tiny_dataset


class CountingModel:
    """A sentence-transformers stand-in for TextEncoder: counts the texts it is asked to embed."""

    def __init__(self):
        self.seen: list[str] = []

    def encode(self, texts, **_):
        self.seen += list(texts)
        return torch.nn.functional.normalize(FakeTextEncoder().encode(texts), dim=-1)


def test_training_loader_batches_are_full_padded_and_redrawn_each_epoch(tiny_dataset):
    loader = make_loader(tiny_dataset, "train", 8, train=True, seed=3)
    epochs = []
    for epoch in range(2):
        set_epoch(loader, epoch)
        batches = list(loader)
        assert len(batches) == 5 and all(b["features"].shape[0] == 8 for b in batches)  # 40 items, drop_last
        for b in batches:
            assert b["mask"].sum(1).tolist() == b["lengths"].tolist()
        epochs.append([b["names"] for b in batches])
    assert epochs[0] != epochs[1]
    # forever() is the same sequence as setting the epoch by hand
    stream = forever(make_loader(tiny_dataset, "train", 8, train=True, seed=3))
    assert [next(stream)["names"] for _ in range(10)] == epochs[0] + epochs[1]


def test_evaluation_loader_is_in_length_order_and_empty_splits_are_explicit(tiny_dataset):
    loader = make_loader(tiny_dataset, "test", 16, train=False)
    lengths = torch.cat([b["lengths"] for b in loader]).tolist()
    assert lengths == sorted(lengths) and len(lengths) == 40
    assert make_loader(tiny_dataset, "val", 16, train=False, allow_empty=True) is None
    with pytest.raises(ValueError, match="no usable motions"):
        make_loader(tiny_dataset, "val", 16, train=False)
    with pytest.raises(ValueError, match="fewer than the batch size 64: lower --batch-size"):
        make_loader(tiny_dataset, "train", 64, train=True)


def test_seed_everything_repeats_the_global_draws():
    seed_everything(5)
    a = (torch.rand(3), np.random.rand(3))
    seed_everything(5)
    b = (torch.rand(3), np.random.rand(3))
    assert torch.equal(a[0], b[0]) and np.array_equal(a[1], b[1])


def test_caption_embeddings_are_encoded_once_and_kept_on_disk(tmp_path):
    data = make_tiny_dataset(tmp_path / "data")
    captions = split_captions(data, ("train",))
    assert len(captions) == 46 and captions == sorted(set(captions))  # 6 shared + 40 unique
    model = CountingModel()
    first = CaptionEmbeddings(TextEncoder("counting", 16, "st", model))
    info = first.warm(data, ("train",))
    assert info == {"loaded": 0, "captions": 46, "file": str(caption_cache_file(first.encoder, data))}
    assert sorted(model.seen) == captions  # one batched pass over the distinct captions
    emb = first(captions[:3])
    assert emb.shape == (3, 16) and emb.dtype == torch.float32 and len(model.seen) == 46  # cache hits

    again = CountingModel()
    second = CaptionEmbeddings(TextEncoder("counting", 16, "st", again))
    assert second.warm(data, ("train",))["loaded"] == 46 and again.seen == []  # the disk cache answered
    assert torch.equal(second(captions[:3]), emb)


def test_token_cache_pads_and_masks_and_skips_cheap_encoders():
    enc = FakeTextEncoder()
    cache = TokenCache(enc)
    tokens, mask = cache.batch(["a person walks", "hi", "a person walks"])
    assert tokens.shape == (3, 3, 16) and mask.sum(1).tolist() == [3, 1, 3]
    ref, _ = enc.encode_tokens(["a person walks"])
    torch.testing.assert_close(tokens[0], ref[0].half().float())
    enc.cheap = True
    assert TokenCache(enc).max_bytes == 0


def test_device_and_autocast_helpers():
    assert resolve_device("cpu") == "cpu" and resolve_device(None) in ("cpu", "cuda")
    assert amp_dtype("cpu") == torch.bfloat16 and amp_dtype("cuda:1") == torch.float16
    x = torch.ones(2, 2)
    with autocast("cpu", enabled=False):
        assert (x @ x).dtype == torch.float32
    with autocast("cpu"):
        assert (x @ x).dtype == torch.bfloat16
