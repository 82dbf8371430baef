"""The shipped base model loads offline from the repository and samples deterministically."""

from pathlib import Path

import numpy as np

from easytune_core.checkpoints import load_checkpoint
from easytune_core.pipeline import DEFAULT_CHECKPOINT, MotionPipeline
from easytune_core.shipped import shipped_checkpoint

BASE = Path(__file__).resolve().parent.parent / "assets" / "checkpoints" / "base"


def test_shipped_base_checkpoint_is_small_and_complete():
    assert shipped_checkpoint(DEFAULT_CHECKPOINT).resolve() == BASE  # found in this checkout
    size = sum(p.stat().st_size for p in BASE.iterdir())
    assert size < 8 * 2 ** 20, size
    ck = load_checkpoint(BASE, expected_kind="denoiser")
    assert ck.config["feature_dim"] == 263 and ck.mean.shape == (263,)
    assert "train-base" in ck.meta["command"] and ck.meta["val_loss"] is not None


def test_shipped_base_samples_deterministically():
    pipe = MotionPipeline.from_checkpoint(device="cpu")
    a = pipe.generate(["a person walks forward"], seconds=2, seed=3, steps=5)
    b = pipe.generate(["a person walks forward"], seconds=2, seed=3, steps=5)
    assert a.joints.shape == (1, 40, 22, 3) and np.isfinite(a.joints).all()
    np.testing.assert_array_equal(a.joints, b.joints)
    # a plausible standing body: head well above the feet
    assert (a.joints[0, :, 15, 1] - a.joints[0, :, 10, 1]).mean() > 1.0


def test_the_everyday_models_ship_with_their_test_scores_and_world():
    from easytune_core.hub import read_metrics
    from easytune_core.shipped import SHIPPED, world_of

    for name in ("everyday_base", "everyday_reward", "everyday_evaluator", "everyday_easytune"):
        folder = shipped_checkpoint(name)
        assert sum(p.stat().st_size for p in folder.iterdir()) < 8 * 2 ** 20
        ck = load_checkpoint(folder, expected_kind=SHIPPED[name])
        assert world_of(ck.meta) == "everyday", name
        metrics = read_metrics(folder)
        assert metrics["split"] == "test" and "everyday world" in metrics["dataset"], name
        assert (folder / "README.md").read_text().count(name) >= 1
    assert world_of(load_checkpoint(BASE).meta) == "classic"
    assert read_metrics(shipped_checkpoint("everyday_base"))["metrics"]["r_precision_hard32_top1"] >= 0
