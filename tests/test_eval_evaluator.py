"""Evaluator model: shapes, masking, foot contacts, normalisation, training round trip."""

import argparse
import shlex

import numpy as np
import pytest
import torch

from easytune_core.eval.model import Evaluator, EvaluatorConfig, load_evaluator
from tests.support.fakes import make_tiny_dataset

TINY = dict(token_dim=16, movement_dim=8, hidden=8, embed_dim=6)


def _model():
    torch.manual_seed(0)
    return Evaluator(EvaluatorConfig(**TINY)).eval()


def test_motion_embedding_ignores_padding_and_foot_contacts():
    model = _model()
    x = torch.randn(2, 48, 263)
    lengths = torch.tensor([48, 32])
    e1 = model.encode_motion(x, lengths)
    x2 = x.clone()
    x2[1, 32:] = 50.0          # padding past the length
    x2[:, :, 259:] = -7.0      # foot contacts are dropped, as in Guo et al.
    torch.testing.assert_close(model.encode_motion(x2, lengths), e1)
    assert e1.shape == (2, 6) and torch.isfinite(e1).all()
    x3 = x.clone()
    x3[0, :, 0] += 1.0         # a real channel matters
    assert not torch.allclose(model.encode_motion(x3, lengths)[0], e1[0])


@pytest.mark.parametrize("length", [40, 41, 42, 43])
def test_a_motions_embedding_does_not_depend_on_the_batch_it_is_in(length):
    model = _model()
    x = torch.randn(1, length, 263)
    alone = model.encode_motion(x, torch.tensor([length]))  # the longest of its batch: no padding
    with_longer = torch.cat([torch.cat([x, torch.zeros(1, 20, 263)], 1), torch.randn(1, length + 20, 263)])
    together = model.encode_motion(with_longer, torch.tensor([length, length + 20]))[:1]
    torch.testing.assert_close(together, alone, rtol=1e-5, atol=1e-6)


def test_embed_motions_normalises_with_its_own_stats():
    model = _model()
    model.mean.fill_(3.0)
    model.std.fill_(2.0)
    raw = np.random.default_rng(0).normal(size=(3, 40, 263)).astype(np.float32)
    got = model.embed_motions(raw, [40, 40, 36])
    want = model.encode_motion((torch.from_numpy(raw) - 3.0) / 2.0, torch.tensor([40, 40, 36])).detach().numpy()
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_text_embedding_uses_token_count():
    model = _model()
    tok = torch.randn(2, 7, 16)
    mask = torch.tensor([[1] * 7, [1] * 4 + [0] * 3], dtype=torch.bool)
    e = model.encode_text(tok, mask)
    tok2 = tok.clone()
    tok2[1, 4:] = 9.0
    torch.testing.assert_close(model.encode_text(tok2, mask), e)


@pytest.mark.parametrize("x, lengths, match", [
    (torch.zeros(2, 40, 250), [40, 40], r"\(B, T, 263\)"),
    (torch.zeros(2, 40, 263), [40], "2 motions"),
    (torch.zeros(2, 40, 263), [40, 3], "between 4 and 40"),
])
def test_bad_motion_inputs(x, lengths, match):
    with pytest.raises(ValueError, match=match):
        _model().encode_motion(x, torch.tensor(lengths))


def test_nan_motion_rejected():
    raw = np.full((1, 40, 263), np.nan, dtype=np.float32)
    with pytest.raises(ValueError, match="NaN"):
        _model().embed_motions(raw, [40])


def test_train_evaluator_round_trip(tmp_path, fake_text):
    from easytune_core.eval import train as etrain
    data = make_tiny_dataset(tmp_path / "data")
    p = argparse.ArgumentParser()
    etrain.add_arguments(p)
    out = tmp_path / "ev"
    args = p.parse_args(["--data", str(data), "--out", str(out), "--steps", "5", "--batch-size", "8",
                         "--hidden", "8", "--movement-dim", "8", "--embed-dim", "6", "--threads", "1",
                         "--fp16-weights", "--text-encoder", "fake", "--dup-encoder", "fake"])
    assert etrain.run(args) == 0
    ev = load_evaluator(out, device="cpu")
    assert ev.config.token_dim == 16 and ev.config.text_encoder == "fake"
    assert ev.meta["real_motion"]["test"]["n"] == 40
    prog = "python -m easytune_core train-evaluator "
    assert ev.meta["command"].startswith(prog)
    assert etrain.config_from_args(etrain.EvaluatorTrainConfig, p.parse_args(shlex.split(ev.meta["command"][len(prog):]))) == \
        etrain.config_from_args(etrain.EvaluatorTrainConfig, args)
    assert len(ev.meta["real_motion"]["test"]["r_precision"]) == 3
    np.testing.assert_allclose(ev.mean.numpy(), np.load(data / "Mean.npy"), rtol=1e-6)
    e = ev.embed_texts(["a person jumps up", "a person kicks", "a person jumps up"])
    assert e.shape == (3, 6)
    np.testing.assert_array_equal(e[0], e[2])


def test_static_token_embedder_reads_minilm_word_vectors():
    from easytune_core.eval.text import get_token_encoder
    enc = get_token_encoder("minilm-static")
    tok, mask = enc.encode_tokens(["A person walks", "a person walks forward slowly", ""])
    assert tok.shape[0] == 3 and tok.shape[2] == 384
    assert mask.sum(1).tolist()[0] == 3 and mask[2].sum() == 0
    torch.testing.assert_close(tok[0, :3], tok[1, :3])  # no context: same words, same vectors
    ids = enc.tokenizer.encode("walks").ids
    torch.testing.assert_close(tok[0, 2], enc.table[ids[1]])
