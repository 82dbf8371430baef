"""HumanML3D-protocol metrics against hand-computed values and Guo et al.'s definitions."""

import numpy as np
import pytest

from easytune_core.eval.metrics import (
    diversity,
    euclidean_distance_matrix,
    frechet_distance,
    mean_confidence,
    mm_dist,
    multimodality,
    r_precision,
)


def _guo_r_precision(t, m, top_k=3, group=32):
    """Reference: the published loop (argsort rows, OR the columns up to k), drop_last groups."""
    total = np.zeros(top_k)
    n = (len(t) // group) * group
    for s in range(0, n, group):
        a, b = t[s:s + group], m[s:s + group]
        d = np.sqrt(((a[:, None] - b[None]) ** 2).sum(-1))
        argm = np.argsort(d, axis=1)
        bool_mat = argm == np.arange(group)[:, None]
        correct = np.zeros(group, bool)
        for k in range(top_k):
            correct |= bool_mat[:, k]
            total[k] += correct.sum()
    return total / n


def test_euclidean_distance_matrix_hand_values():
    a = np.array([[0.0, 0.0], [3.0, 4.0]])
    b = np.array([[0.0, 0.0], [6.0, 8.0], [3.0, 4.0]])
    np.testing.assert_allclose(euclidean_distance_matrix(a, b), [[0, 10, 5], [5, 5, 0]], atol=1e-9)


def test_r_precision_perfect_and_hand_case():
    t = (np.arange(32.0) * 10)[:, None]
    np.testing.assert_allclose(r_precision(t, t.copy()), [1.0, 1.0, 1.0])
    m = t.copy()
    m[0] = 15.0  # text 0 now sees motion 1 (distance 10) before its own (distance 15)
    np.testing.assert_allclose(r_precision(t, m), [31 / 32, 1.0, 1.0])


def test_r_precision_random_is_about_k_over_32_and_matches_reference():
    rng = np.random.default_rng(1)
    t, m = rng.normal(size=(32 * 100, 8)), rng.normal(size=(32 * 100, 8))
    r = r_precision(t, m)
    np.testing.assert_allclose(r, np.arange(1, 4) / 32, atol=0.015)
    # a noisy but informative pairing agrees exactly with the published loop
    m2 = t + rng.normal(scale=1.0, size=t.shape)
    np.testing.assert_allclose(r_precision(t[:100], m2[:100]), _guo_r_precision(t[:100], m2[:100]))


def test_r_precision_drops_the_incomplete_last_group():
    t = (np.arange(40.0) * 10)[:, None]
    m = t.copy()
    m[35] = 0.0  # wrong, but in the dropped tail
    np.testing.assert_allclose(r_precision(t, m), [1.0, 1.0, 1.0])


def test_r_precision_groups_ranks_the_query_against_its_group():
    from easytune_core.eval.metrics import r_precision_groups

    t = np.zeros((40, 2))
    m = np.zeros((40, 2))
    m[:, 0] = np.arange(40) + 10.0          # every motion far from every text ...
    m[0] = [1.0, 0.0]                        # ... except the query's own (distance 1)
    m[1] = [0.5, 0.0]                        # and its twin, closer still
    groups = [np.arange(32), np.array([2, *range(3, 34)])]
    r = r_precision_groups(t, m, groups, top_k=3)
    # group 1: the twin is nearer, own motion second; group 2: query 2's motion at 12, others further
    assert r.tolist() == [0.5, 1.0, 1.0]
    with pytest.raises(ValueError, match="no hard-negative groups"):
        r_precision_groups(t, m, [])


def test_mm_dist_hand_value():
    assert mm_dist([[0, 0], [1, 1]], [[3, 4], [1, 1]]) == pytest.approx(2.5)


def test_frechet_distance_hand_value_and_self():
    # 1-d: means 1 and 3, sample variances 2 and 8: 4 + 2 + 8 - 2*sqrt(16) = 6
    assert frechet_distance([[0.0], [2.0]], [[1.0], [5.0]]) == pytest.approx(6.0)
    x = np.random.default_rng(0).normal(size=(500, 16))
    assert abs(frechet_distance(x, x)) < 1e-6
    assert frechet_distance(x, x + 1.0) == pytest.approx(16.0, rel=1e-4)


def test_diversity_definition():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(400, 5))
    ref_rng = np.random.default_rng(7)
    i = ref_rng.choice(400, 300, replace=False)
    j = ref_rng.choice(400, 300, replace=False)
    assert diversity(x, 300, seed=7) == pytest.approx(np.linalg.norm(x[i] - x[j], axis=1).mean())
    assert diversity(np.ones((10, 3)), times=5) == 0.0
    assert diversity(2 * x, seed=7) == pytest.approx(2 * diversity(x, seed=7))


def test_multimodality_definition():
    # generation r of every prompt sits at r along one axis: distance of pair (i, j) is |i - j|
    emb = np.zeros((4, 12, 3))
    emb[:, :, 0] = np.arange(12)
    rng = np.random.default_rng(0)
    i, j = rng.choice(12, 10, replace=False), rng.choice(12, 10, replace=False)
    assert multimodality(emb, 10, seed=0) == pytest.approx(np.abs(i - j).mean())
    assert multimodality(np.ones((3, 11, 2)), 10) == 0.0


def test_mean_confidence():
    mean, ci = mean_confidence([[1.0, 0.0], [3.0, 0.0]])
    np.testing.assert_allclose(mean, [2.0, 0.0])
    np.testing.assert_allclose(ci, [1.96 * 1.0 / np.sqrt(2), 0.0])


@pytest.mark.parametrize("call, match", [
    (lambda: r_precision(np.zeros((32, 4)), np.zeros((33, 4))), "same shape"),
    (lambda: r_precision(np.zeros((31, 4)), np.zeros((31, 4))), "at least 32 pairs"),
    (lambda: mm_dist(np.full((4, 2), np.nan), np.zeros((4, 2))), "NaN"),
    (lambda: frechet_distance(np.zeros((5, 3)), np.zeros((5, 4))), "same width"),
    (lambda: frechet_distance(np.zeros((1, 3)), np.zeros((5, 3))), "at least 2"),
    (lambda: diversity(np.zeros((300, 3)), times=300), "more than 300"),
    (lambda: multimodality(np.zeros((5, 10, 3)), times=10), "more than 10"),
    (lambda: multimodality(np.zeros((5, 3)), times=1), "3 dimensions"),
    (lambda: r_precision([[np.inf]] * 32, [[0.0]] * 32), "NaN or infinite"),
])
def test_bad_inputs_give_clear_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call()
