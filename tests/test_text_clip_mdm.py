"""MDM's CLIP text embedding: tokens and features against OpenAI's CLIP code (openai-clip 1.0.1) on a
tiny random CLIP (tests/data/tiny_clip: OpenAI's architecture at width 32, 2 layers, projection 512,
a 2,514-token BPE vocabulary made of OpenAI's first 2,000 merges; see tests/data/README.md)."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from easytune_core.text import get_text_encoder
from easytune_core.text.clip_mdm import CLIP_CONTEXT, mdm_clip_tokens

DATA = Path(__file__).resolve().parent / "data"
TINY = DATA / "tiny_clip"


@pytest.fixture(scope="module")
def fx():
    f = np.load(DATA / "clip_mdm_parity.npz")
    return json.loads(str(f["prompts"])), torch.from_numpy(f["tokens"]).long(), torch.from_numpy(f["embeddings"])


@pytest.fixture(scope="module")
def enc():
    return get_text_encoder("clip-mdm", device="cpu", path=TINY)


def test_tokens_match_openai_clip_tokenize_with_mdm_truncation(fx, enc):
    prompts, tokens, _ = fx
    ours = mdm_clip_tokens(enc._tokenizer, prompts)
    assert ours.shape == (len(prompts), CLIP_CONTEXT)
    assert torch.equal(ours, tokens)
    eot = enc._tokenizer.eos_token_id
    long_row = ours[3]  # the long caption: cut to 22 tokens with the end token forced into the last slot
    assert long_row[21] == eot and (long_row[22:] == 0).all() and (long_row[:21] != eot).all()
    assert ours[4, :2].tolist() == [enc._tokenizer.bos_token_id, eot] and (ours[4, 2:] == 0).all()  # empty text


def test_embeddings_match_openai_encode_text(fx, enc):
    prompts, _, emb = fx
    ours = enc.encode(prompts)
    assert ours.shape == (len(prompts), 512) and enc.dim == 512
    assert float((ours - emb).abs().max()) < 1e-5
    assert float(ours.norm(dim=-1).std()) > 0  # raw projected features, not L2-normalised


class _Tok:
    """A tokenizer whose BPE gives one id per word (10 + word index), to check the truncation rule exactly."""
    bos_token_id, eos_token_id = 1, 2

    def __call__(self, text, add_special_tokens=False):
        return {"input_ids": [10 + i for i, _ in enumerate(text.split())]}


def test_truncation_keeps_twenty_tokens_and_forces_the_end_token():
    words = " ".join(f"w{i}" for i in range(25))
    ids = mdm_clip_tokens(_Tok(), [words, "a b", "x " * 20 + "y"])
    assert ids[0, :22].tolist() == [1] + list(range(10, 30)) + [2]
    assert ids[1, :4].tolist() == [1, 10, 11, 2] and (ids[1, 4:] == 0).all()
    assert ids[2, :23].tolist() == [1] + list(range(10, 30)) + [2, 0]  # 21 words: the 21st is dropped
    assert (ids[:, 22:] == 0).all()


def test_offline_without_weights_says_how_to_provide_them(monkeypatch):
    import huggingface_hub.constants as hc
    monkeypatch.setattr(hc, "HF_HUB_OFFLINE", True)
    monkeypatch.delenv("EASYTUNE_CLIP_PATH", raising=False)
    with pytest.raises(FileNotFoundError, match="--clip-path DIR, or set EASYTUNE_CLIP_PATH"):
        get_text_encoder("clip-mdm", device="cpu")
    with pytest.raises(FileNotFoundError, match="no such CLIP folder"):
        get_text_encoder("clip-mdm", device="cpu", path="/nonexistent/clip")
