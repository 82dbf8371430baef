"""The T2M evaluator against the published evaluator wrapper and metric functions (fixtures in
tests/data/t2m, see tests/data/README.md)."""

import json
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch

from easytune_core.eval import metrics
from easytune_core.eval.glove import POS_CLASSES, WordVectors, pad_tokens
from easytune_core.eval.t2m import T2MConfig, T2MEvaluator, find_t2m_files, load_t2m_evaluator
from easytune_core.interop.safe_load import UnsafePickleError

DATA = Path(__file__).parent / "data" / "t2m"
EVAL_DIR = DATA / "t2m_eval" / "t2m"
GLOVE = DATA / "glove"


@pytest.fixture(scope="module")
def parity():
    return dict(np.load(DATA / "t2m_parity.npz"))


@pytest.fixture(scope="module")
def evaluator():
    return load_t2m_evaluator(EVAL_DIR, GLOVE, device="cpu", tagger="lexicon")


def _padded(parity):
    raw = parity["raw_motions"].astype(np.float32)
    lengths = parity["lengths"]
    out = np.zeros((len(lengths), int(lengths.max()), raw.shape[1]), np.float32)
    start = 0
    for i, n in enumerate(lengths):
        out[i, :n] = raw[start:start + n]
        start += n
    return out, lengths


def test_loader_reads_published_layout(evaluator):
    assert evaluator.config == T2MConfig(feature_dim=263, movement_hidden=24, movement_latent=16, motion_hidden=32,
                                         text_hidden=32, embed_dim=12, word_dim=300, pos_dim=15)
    assert evaluator.meta["epoch"] == 7
    assert evaluator.meta["mean"].endswith("Comp_v6_KLD01/meta/mean.npy")
    np.testing.assert_array_equal(evaluator.mean.numpy(), np.load(EVAL_DIR / "Comp_v6_KLD01/meta/mean.npy"))


def test_motion_embeddings_match_published_wrapper(evaluator, parity):
    feats, lengths = _padded(parity)
    got = evaluator.embed_motions(feats, lengths)
    assert np.abs(got - parity["motion_emb"]).max() < 1e-5
    # padding content and padded length do not matter (zeroed after normalising)
    noisy = np.concatenate([feats, np.full((len(feats), 30, feats.shape[2]), 7.0, np.float32)], axis=1)
    for i, n in enumerate(lengths):
        noisy[i, n:] = 7.0
    assert np.abs(evaluator.embed_motions(noisy, lengths, batch_size=2) - parity["motion_emb"]).max() < 1e-5


def test_text_embeddings_match_published_wrapper(evaluator, parity):
    got = evaluator.embed_texts(list(parity["captions"]), tokens=list(parity["tokens"]))
    assert np.abs(got - parity["text_emb"]).max() < 1e-5
    assert evaluator.token_sources.get("dataset", 0) >= len(parity["captions"])


def test_vectorizer_matches_published_tokens(parity):
    words = WordVectors.from_folder(GLOVE)
    order = list(parity["word_order"])  # row -> word of the published vocabulary
    for b, toks in enumerate(parity["tokens"]):
        padded, n = pad_tokens(str(toks).split())
        assert n == parity["sent_len"][b]
        for i, tok in enumerate(padded):
            vec, cls = words.lookup(tok)
            row = int(parity["word_rows"][b, i])
            np.testing.assert_array_equal(vec, words.vectors[row])
            assert words.row[order[row]] == row
            assert cls == int(parity["pos_class"][b, i]), (tok, POS_CLASSES[cls])


def test_vectorizer_rules():
    words = WordVectors(np.eye(4, dtype=np.float32), {"unk": 0, "left": 1, "person": 2, "hidden": 3},
                        ["unk", "left", "person"])
    vec, cls = words.lookup("left/ADJ")
    assert vec[1] == 1 and POS_CLASSES[cls] == "Loc_VIP"
    assert POS_CLASSES[words.lookup("person/NOUN")[1]] == "NOUN"
    assert POS_CLASSES[words.lookup("person/CCONJ")[1]] == "OTHER"
    vec, cls = words.lookup("hidden/NOUN")  # in the index but not in the word list: unknown
    assert vec[0] == 1 and POS_CLASSES[cls] == "OTHER"
    padded, n = pad_tokens(["a/DET"] * 25)
    assert n == 22 and len(padded) == 22 and padded[0] == "sos/OTHER" and padded[-1] == "eos/OTHER"
    padded, n = pad_tokens(["a/DET"] * 3)
    assert n == 5 and padded[5:] == ["unk/OTHER"] * 17
    with pytest.raises(ValueError, match="'unk'"):
        WordVectors(np.eye(2, dtype=np.float32), {"a": 0, "b": 1})


def test_metrics_match_published_functions():
    m = dict(np.load(DATA / "t2m_metrics.npz"))
    np.testing.assert_allclose(metrics.r_precision(m["text"], m["motion"]), m["r_precision"], atol=1e-12)
    assert abs(metrics.mm_dist(m["text"][:96], m["motion"][:96]) - m["matching_score"]) < 1e-5
    assert abs(metrics.frechet_distance(m["motion"], m["gen"]) - m["fid"]) < 1e-6
    np.testing.assert_allclose(metrics.euclidean_distance_matrix(m["text"][:5], m["gen"][:7]), m["dist_matrix"],
                               atol=1e-5)
    div = metrics.diversity(m["gen"], int(m["diversity_times"]), rng=np.random.RandomState(int(m["diversity_seed"])))
    assert abs(div - m["diversity"]) < 1e-5
    mm = metrics.multimodality(m["mm"], int(m["multimodality_times"]),
                               rng=np.random.RandomState(int(m["multimodality_seed"])))
    assert abs(mm - m["multimodality"]) < 1e-5


def test_full_published_sizes_have_the_published_keys():
    keys = json.loads((DATA / "t2m_full_keys.json").read_text())
    for ds, dim in (("t2m", 263), ("kit", 251)):
        model = T2MEvaluator(T2MConfig(feature_dim=dim))
        for part in ("movement_encoder", "text_encoder", "motion_encoder"):
            own = {k: list(v.shape) for k, v in getattr(model, part).state_dict().items()}
            assert own == keys[ds][part], (ds, part)
        parts = {p: {k: torch.zeros(s) for k, s in keys[ds][p].items()} for p in keys[ds]}
        assert T2MConfig.from_state_dicts(parts) == T2MConfig(feature_dim=dim)


def test_layouts(tmp_path):
    # MDM's layout: ./t2m/text_mot_match/model/finest.tar with ./dataset/t2m_mean.npy
    root = tmp_path / "mdm"
    (root / "t2m/text_mot_match/model").mkdir(parents=True)
    (root / "dataset").mkdir()
    (root / "t2m/text_mot_match/model/finest.tar").write_bytes((EVAL_DIR / "text_mot_match/model/finest.tar").read_bytes())
    np.save(root / "dataset/t2m_mean.npy", np.zeros(263, np.float32))
    np.save(root / "dataset/t2m_std.npy", np.ones(263, np.float32))
    for folder in (root, root / "t2m"):
        ck, mean, std = find_t2m_files(folder, 263)
        assert ck.name == "finest.tar" and mean.name == "t2m_mean.npy" and std.name == "t2m_std.npy"
    with pytest.raises(FileNotFoundError, match="mean/std"):
        find_t2m_files(root / "t2m" / "text_mot_match", 251)  # no KIT evaluator there
    with pytest.raises(FileNotFoundError, match="no T2M evaluator checkpoint"):
        find_t2m_files(tmp_path, 263)
    ev = load_t2m_evaluator(EVAL_DIR, None, device="cpu", mean_path=root / "dataset/t2m_mean.npy",
                            std_path=root / "dataset/t2m_std.npy")
    assert float(ev.std.sum()) == 263.0
    with pytest.raises(ValueError, match="251-d"):
        load_t2m_evaluator(EVAL_DIR, GLOVE, feature_dim=251)
    with pytest.raises(ValueError, match="GloVe folder"):
        ev.embed_texts(["a person walks"])


def test_refuses_code_in_checkpoint_and_vocabulary(tmp_path):
    import os

    marker = tmp_path / "ran"

    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    ev_dir = tmp_path / "t2m"
    (ev_dir / "text_mot_match/model").mkdir(parents=True)
    (ev_dir / "meta").mkdir()
    np.save(ev_dir / "meta/mean.npy", np.zeros(263, np.float32))
    np.save(ev_dir / "meta/std.npy", np.ones(263, np.float32))
    state = torch.load(EVAL_DIR / "text_mot_match/model/finest.tar", weights_only=True)
    state["opt"] = Evil()
    torch.save(state, ev_dir / "text_mot_match/model/finest.tar")
    with pytest.raises(UnsafePickleError, match="system"):
        load_t2m_evaluator(ev_dir, GLOVE)
    glove = tmp_path / "glove"
    glove.mkdir()
    (glove / "our_vab_data.npy").write_bytes((GLOVE / "our_vab_data.npy").read_bytes())
    (glove / "our_vab_words.pkl").write_bytes((GLOVE / "our_vab_words.pkl").read_bytes())
    (glove / "our_vab_idx.pkl").write_bytes(pickle.dumps({"unk": 0, "x": Evil()}))
    with pytest.raises(UnsafePickleError, match="system"):
        WordVectors.from_folder(glove)
    assert not marker.exists()


def test_bad_checkpoints(tmp_path):
    ev_dir = tmp_path / "t2m"
    (ev_dir / "text_mot_match/model").mkdir(parents=True)
    (ev_dir / "meta").mkdir()
    np.save(ev_dir / "meta/mean.npy", np.zeros(263, np.float32))
    np.save(ev_dir / "meta/std.npy", np.ones(263, np.float32))
    good = torch.load(EVAL_DIR / "text_mot_match/model/finest.tar", weights_only=True)
    path = ev_dir / "text_mot_match/model/finest.tar"
    torch.save({"text_encoder": good["text_encoder"]}, path)
    with pytest.raises(ValueError, match="missing movement_encoder"):
        load_t2m_evaluator(ev_dir)
    bad = {k: dict(v) if isinstance(v, dict) else v for k, v in good.items()}
    bad["motion_encoder"]["extra.weight"] = torch.zeros(1)
    torch.save(bad, path)
    with pytest.raises(ValueError, match="extra.weight"):
        load_t2m_evaluator(ev_dir)
    bad = {k: dict(v) if isinstance(v, dict) else v for k, v in good.items()}
    bad["motion_encoder"]["output_net.0.bias"] = torch.zeros(5)
    torch.save(bad, path)
    with pytest.raises(ValueError, match="output_net.0.bias"):
        load_t2m_evaluator(ev_dir)
