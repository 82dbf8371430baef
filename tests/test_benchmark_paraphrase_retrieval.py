"""benchmarks/paraphrase_retrieval.py: Recall@k in random groups of 32, averaged over shuffles."""

import numpy as np

from tests.support.benchmarks import load_benchmark


def brute_force_recall(text, motion, rounds, seed):
    """Cosine ranking of each text against its shuffled group, ties counting for the match."""
    hits1 = hits3 = total = 0
    for r in range(rounds):
        order = np.random.default_rng([seed, r]).permutation(len(text))
        for g in range(len(text) // 32):
            idx = order[g * 32:(g + 1) * 32]
            sim = text[idx] @ motion[idx].T
            rank = (sim > np.diag(sim)[:, None]).sum(1)
            hits1, hits3, total = hits1 + (rank < 1).sum(), hits3 + (rank < 3).sum(), total + len(idx)
    return 100.0 * hits1 / total, 100.0 * hits3 / total, total


def test_recall_groups_matches_cosine_ranking_of_unit_vectors():
    bench = load_benchmark("paraphrase_retrieval.py")
    rng = np.random.default_rng(0)
    text = rng.normal(size=(75, 16))
    motion = text + rng.normal(scale=1.2, size=text.shape)  # noisy matches: recall well above chance, below 100%
    text /= np.linalg.norm(text, axis=1, keepdims=True)
    motion /= np.linalg.norm(motion, axis=1, keepdims=True)
    got = bench.recall_groups(text, motion, rounds=4, seed=3)
    r1, r3, total = brute_force_recall(text, motion, 4, 3)
    assert got["queries"] == total == 4 * 64  # two full groups of 32 per shuffle; the last 11 are left out
    assert abs(got["r1"] - r1) < 1e-6 and abs(got["r3"] - r3) < 1e-6
    assert 3.1 < got["r1"] < 100.0 and got["r1"] <= got["r3"]
