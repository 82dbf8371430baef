"""Offline MiniLM text encoder and the hub-encoder loaders (MiniLM / a tiny CLIP standing in)."""

import shutil

import pytest
import torch

from easytune_core.text import get_text_encoder, minilm_path


@pytest.fixture(scope="module")
def enc():
    return get_text_encoder("minilm", device="cpu")


def test_minilm_pooled_embeddings(enc):
    e = enc.encode(["a person walks forward", "a person jumps", ""])
    assert enc.dim == 384 and e.shape == (3, 384) and e.dtype == torch.float32
    assert torch.allclose(e.norm(dim=-1), torch.ones(3), atol=1e-5)
    assert not e.requires_grad
    sims = e[:2] @ e[:2].T
    assert sims[0, 1] < 0.99  # different sentences, different vectors
    again = enc.encode(["a person jumps"])
    assert torch.equal(again[0], e[1])  # cached per prompt
    assert get_text_encoder("minilm", device="cpu") is enc
    walk = enc.encode(["a man walks forward"])[0]
    assert walk @ e[0] > walk @ e[1]  # semantically closer to walking than jumping


def test_minilm_tokens(enc):
    tok, mask = enc.encode_tokens(["a person walks forward", "hi"])
    assert tok.shape[0] == 2 and tok.shape[2] == 384 and mask.dtype == torch.bool
    assert mask[0].sum() > mask[1].sum()


def test_sentence_t5_loader_with_local_folder():
    e = get_text_encoder("sentence-t5", device="cpu", path=minilm_path())
    assert e.name == "sentence-t5" and e.encode(["walk"]).shape == (1, e.dim)


def test_clip_loader_with_tiny_local_model(tmp_path):
    from transformers import CLIPConfig, CLIPModel
    cfg = CLIPConfig(text_config=dict(vocab_size=30522, hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                                      num_attention_heads=2, max_position_embeddings=77),
                     vision_config=dict(hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                                        num_attention_heads=2, image_size=32, patch_size=16),
                     projection_dim=8)
    CLIPModel(cfg).save_pretrained(tmp_path)
    for name in ("tokenizer.json", "tokenizer_config.json", "vocab.txt", "special_tokens_map.json"):
        shutil.copy(minilm_path() / name, tmp_path / name)
    e = get_text_encoder("clip", device="cpu", path=tmp_path)
    out = e.encode(["a person walks", "a person sits down"])
    assert e.dim == 8 and out.shape == (2, 8)
    assert torch.allclose(out.norm(dim=-1), torch.ones(2), atol=1e-5)
    tok, mask = e.encode_tokens(["a person walks"])
    assert tok.shape[:2] == mask.shape


def test_unknown_encoder_name():
    with pytest.raises(ValueError, match="unknown text encoder 'bert'"):
        get_text_encoder("bert")


def test_cache_round_trip(enc, tmp_path):
    e = enc.encode(["a person crawls", "a person sits down"])
    assert enc.save_cache(tmp_path / "c.safetensors") >= 2
    fresh = type(enc)(enc.name, enc.dim, enc.kind, None, device="cpu")  # no model: must hit the cache
    assert fresh.load_cache(tmp_path / "c.safetensors") >= 2
    assert torch.equal(fresh.encode(["a person sits down"])[0], e[1])
    assert fresh.load_cache(tmp_path / "missing.safetensors") == 0
    (tmp_path / "bad.safetensors").write_bytes(b"junk")
    assert fresh.load_cache(tmp_path / "bad.safetensors") == 0
