"""Tiny random stand-in checkpoints with the real checkpoint format, for the app's tests, the
browser test, the latency benchmark's smoke mode and the screenshot script's layout check.
They produce motion-shaped noise, not motion."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def _stats(dim: int) -> tuple[np.ndarray, np.ndarray]:
    # Small std keeps the random models' outputs in a plausible range (finite, metre-scale joints).
    mean = np.zeros(dim, np.float32)
    mean[3] = 0.9  # root height
    return mean, np.full(dim, 0.05, np.float32)


def build_tiny_assets(root: Path, seed: int = 0, width: int = 32) -> Path:
    """Write `root/checkpoints/{base,easytune,reward,evaluator}` (tiny, random) plus `examples.txt`.

    Returns `root`, usable as `create_app(assets_dir=root, ...)`. Takes well under a second."""
    import torch

    from easytune_core.checkpoints import save_checkpoint
    from easytune_core.diffusion import DenoiserConfig, MotionDenoiser
    from easytune_core.reward import RewardConfig, RewardModel

    root = Path(root)
    ckpts = root / "checkpoints"
    mean, std = _stats(263)
    for i, name in enumerate(("base", "easytune")):
        torch.manual_seed(seed + i)
        cfg = DenoiserConfig(width=width, layers=1, heads=2, ff=2 * width, max_frames=196)
        save_checkpoint(ckpts / name, MotionDenoiser(cfg), cfg, "denoiser", mean, std, meta={"standin": True})
    torch.manual_seed(seed + 10)
    rcfg = RewardConfig(width=width, layers=1, heads=2, ff=2 * width, embed_dim=16)
    save_checkpoint(ckpts / "reward", RewardModel(rcfg), rcfg, "reward", mean, std, meta={"standin": True})
    from easytune_core.eval.model import Evaluator, EvaluatorConfig

    torch.manual_seed(seed + 20)
    ecfg = EvaluatorConfig(movement_dim=16, hidden=16, embed_dim=16)
    save_checkpoint(ckpts / "evaluator", Evaluator(ecfg), ecfg, "evaluator", mean, std, meta={"standin": True})
    (root / "examples.txt").write_text("a person walks forward\na person jumps\n", encoding="utf-8")
    return root
