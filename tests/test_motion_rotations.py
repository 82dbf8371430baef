"""Rotation conversions: known values, round trips, numpy == torch, gradients."""

import numpy as np
import pytest
import torch

from easytune_core.motion import rotations as R

RNG = np.random.default_rng(0)


def random_quats(n=64):
    q = RNG.standard_normal((n, 4))
    q /= np.linalg.norm(q, axis=-1, keepdims=True)
    return q


def same_rotation(q1, q2, atol=1e-9):
    """Quaternions equal up to sign."""
    d = np.abs((np.asarray(q1) * np.asarray(q2)).sum(-1))
    np.testing.assert_allclose(d, 1.0, atol=atol)


def test_known_values():
    # 90 degrees about +Y turns +X into -Z and +Z into +X
    q = R.quat_from_euler_y(np.array(np.pi / 2))
    np.testing.assert_allclose(R.qrot(q, np.array([1.0, 0, 0])), [0, 0, -1], atol=1e-12)
    np.testing.assert_allclose(R.qrot(q, np.array([0, 0, 1.0])), [1, 0, 0], atol=1e-12)
    m = R.quat_to_matrix(q)
    np.testing.assert_allclose(m, [[0, 0, 1], [0, 1, 0], [-1, 0, 0]], atol=1e-12)
    # 6D = first two columns
    np.testing.assert_allclose(R.matrix_to_cont6d(m), [0, 0, -1, 0, 1, 0], atol=1e-12)
    np.testing.assert_allclose(R.quat_to_axis_angle(q), [0, np.pi / 2, 0], atol=1e-12)
    # Hamilton product: apply r first, then q
    qx = R.axis_angle_to_quat(np.array([np.pi / 2, 0, 0]))
    v = np.array([0, 1.0, 0])
    np.testing.assert_allclose(R.qrot(R.qmul(q, qx), v), R.qrot(q, R.qrot(qx, v)), atol=1e-12)
    np.testing.assert_allclose(R.qmul(q, R.qinv(q)), [1, 0, 0, 0], atol=1e-12)


def test_qbetween_rotates_v0_onto_v1():
    v0 = RNG.standard_normal((50, 3))
    v1 = RNG.standard_normal((50, 3))
    q = R.qbetween(v0, v1)
    out = R.qrot(q, v0)
    np.testing.assert_allclose(out / np.linalg.norm(out, axis=-1, keepdims=True),
                               v1 / np.linalg.norm(v1, axis=-1, keepdims=True), atol=1e-9)


def test_round_trips():
    q = random_quats()
    same_rotation(R.matrix_to_quat(R.quat_to_matrix(q)), q)
    same_rotation(R.cont6d_to_quat(R.quat_to_cont6d(q)), q)
    same_rotation(R.axis_angle_to_quat(R.quat_to_axis_angle(q)), q)
    m = R.quat_to_matrix(q)
    np.testing.assert_allclose(R.cont6d_to_matrix(R.matrix_to_cont6d(m)), m, atol=1e-9)
    np.testing.assert_allclose(R.axis_angle_to_matrix(R.matrix_to_axis_angle(m)), m, atol=1e-9)
    # matrices are rotations
    np.testing.assert_allclose(m @ np.swapaxes(m, -1, -2), np.broadcast_to(np.eye(3), m.shape), atol=1e-12)
    np.testing.assert_allclose(np.linalg.det(m), 1.0, atol=1e-12)


def test_matrix_to_quat_near_half_turns():
    for axis in np.eye(3):
        q = R.axis_angle_to_quat(axis * (np.pi - 1e-7))
        same_rotation(R.matrix_to_quat(R.quat_to_matrix(q)), q, atol=1e-9)
    aa = np.array([[0.0, 0.0, 0.0], [1e-9, 0, 0]])
    np.testing.assert_allclose(R.quat_to_axis_angle(R.axis_angle_to_quat(aa)), aa, atol=1e-15)


@pytest.mark.parametrize("fn, make", [
    (R.quat_to_matrix, lambda: random_quats()),
    (R.quat_to_cont6d, lambda: random_quats()),
    (R.quat_to_axis_angle, lambda: random_quats()),
    (R.axis_angle_to_quat, lambda: RNG.standard_normal((64, 3))),
    (R.cont6d_to_matrix, lambda: RNG.standard_normal((64, 6))),
    (R.matrix_to_quat, lambda: R.quat_to_matrix(random_quats())),
    (R.quat_from_euler_y, lambda: RNG.standard_normal(64)),
])
def test_numpy_equals_torch(fn, make):
    x = make()
    out_np = fn(x)
    out_t = fn(torch.from_numpy(x))
    assert isinstance(out_t, torch.Tensor) and isinstance(out_np, np.ndarray)
    np.testing.assert_allclose(out_t.numpy(), out_np, atol=1e-10)


def test_binary_ops_numpy_equals_torch_and_broadcast():
    q, r = random_quats(8), random_quats(8)
    v = RNG.standard_normal((5, 8, 3))
    for fn, a, b in [(R.qmul, q, r), (R.qrot, q, v), (R.qbetween, v, v[::-1].copy())]:
        np.testing.assert_allclose(fn(torch.from_numpy(a), torch.from_numpy(b)).numpy(), fn(a, b), atol=1e-12)
    assert R.qrot(q, v).shape == (5, 8, 3)


def test_qfix_and_qslerp():
    q = random_quats(10)[:, None]                       # (T, 1, 4)
    flipped = q * np.where(np.arange(10) % 2, -1.0, 1.0)[:, None, None]
    fixed = R.qfix(flipped)
    same_rotation(fixed, q)
    assert ((fixed[1:] * fixed[:-1]).sum(-1) >= 0).all()  # consecutive frames in one hemisphere
    a, b = random_quats(2)
    np.testing.assert_allclose(R.qslerp(a, b, 0.0), a, atol=1e-9)
    same_rotation(R.qslerp(a, b, 1.0), b)
    mid = R.qslerp(a, b, 0.5)
    # equal angular distance to both ends
    da = np.abs((mid * a).sum())
    db = np.abs((mid * b).sum())
    assert da == pytest.approx(db, abs=1e-9)


def test_gradients_flow():
    aa = torch.tensor(RNG.standard_normal((4, 3)), requires_grad=True)
    R.quat_to_cont6d(R.axis_angle_to_quat(aa)).sum().backward()
    assert torch.isfinite(aa.grad).all() and aa.grad.abs().sum() > 0
    d6 = torch.tensor(RNG.standard_normal((4, 6)), requires_grad=True)
    assert torch.autograd.gradcheck(R.cont6d_to_matrix, (d6,))
    zero = torch.zeros(2, 3, dtype=torch.float64, requires_grad=True)
    R.axis_angle_to_quat(zero).sum().backward()
    assert torch.isfinite(zero.grad).all()


def test_bad_shapes():
    with pytest.raises(ValueError, match="last dimension 4"):
        R.qmul(np.zeros((2, 3)), np.zeros((2, 4)))
    with pytest.raises(ValueError, match="last dimension 3"):
        R.qrot(np.zeros(4), np.zeros(4))
    with pytest.raises(ValueError, match=r"\(\.\.\., 3, 3\)"):
        R.matrix_to_quat(np.zeros((2, 3, 4)))
    with pytest.raises(ValueError, match="last dimension 6"):
        R.cont6d_to_matrix(np.zeros((2, 5)))
