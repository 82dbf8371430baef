"""Offline MiniLM text encoder and the hub-encoder loaders (tiny random sentence-T5 and CLIP models of the
published architectures, loaded by path)."""

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


def tiny_sentence_t5(folder):
    """A random sentence-T5 with the published layout (T5 encoder -> mean pooling -> Dense without bias
    and activation -> Normalize), 16-d inside and 12-d out, with a small unigram tokenizer of T5's kind
    (appends </s>, pads with <pad> = 0). Returns (folder, T5EncoderModel, tokenizer, dense weight)."""
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Dense, Normalize, Pooling, Transformer
    from tokenizers import Tokenizer, models, pre_tokenizers, processors
    from transformers import T5Config, T5EncoderModel, T5TokenizerFast

    words = "a person walks forward jumps sits down turns left right waves the hand".split()
    vocab = ([("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0), ("\u2581", -3.0)]
             + [("\u2581" + w, -1.0 - 0.01 * i) for i, w in enumerate(words)]
             + [(c, -5.0) for c in "abcdefghijklmnopqrstuvwxyz"])
    tk = Tokenizer(models.Unigram(vocab, unk_id=2))
    tk.pre_tokenizer = pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="always")
    tk.post_processor = processors.TemplateProcessing(single="$A </s>", pair="$A </s> $B </s>",
                                                      special_tokens=[("</s>", 1)])
    tokenizer = T5TokenizerFast(tokenizer_object=tk, eos_token="</s>", unk_token="<unk>", pad_token="<pad>",
                                extra_ids=0)
    torch.manual_seed(0)
    t5 = T5EncoderModel(T5Config(vocab_size=len(vocab), d_model=16, d_kv=4, d_ff=32, num_layers=2, num_heads=2,
                                 pad_token_id=0, eos_token_id=1, decoder_start_token_id=0)).eval()
    t5.save_pretrained(folder / "hf")
    tokenizer.save_pretrained(folder / "hf")
    dense = Dense(16, 12, bias=False, activation_function=torch.nn.Identity())
    model = SentenceTransformer(modules=[Transformer(str(folder / "hf")), Pooling(16, "mean"), dense, Normalize()])
    model.save(str(folder / "sentence-t5"))
    return folder / "sentence-t5", t5, tokenizer, dense.linear.weight.detach().clone()


def test_sentence_t5_loader_loads_a_sentence_t5_shaped_model_by_path(tmp_path):
    from transformers import T5EncoderModel

    folder, t5, tokenizer, weight = tiny_sentence_t5(tmp_path)
    e = get_text_encoder("sentence-t5", device="cpu", path=folder)
    assert e.name == "sentence-t5" and e.dim == 12 and e.kind == "st"
    assert isinstance(e._model[0].auto_model, T5EncoderModel)
    texts = ["a person walks forward", "a person sits down", "someone waves the left hand"]
    out = e.encode(texts)
    # the same numbers computed directly: T5 encoder states, mean over real tokens, Dense, L2 normalise
    batch = tokenizer(texts, padding=True, return_tensors="pt")
    with torch.no_grad():
        states = t5(**batch).last_hidden_state
    mask = batch["attention_mask"].unsqueeze(-1).float()
    ref = torch.nn.functional.normalize(((states * mask).sum(1) / mask.sum(1)) @ weight.T, dim=-1)
    torch.testing.assert_close(out, ref, rtol=1e-5, atol=1e-6)
    tok, tmask = e.encode_tokens(texts[:2])
    assert tok.shape[-1] == 16 and tmask.sum(1).tolist() == batch["attention_mask"][:2].sum(1).tolist()


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
