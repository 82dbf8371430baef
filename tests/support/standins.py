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


def build_tiny_latent(folder: Path, seed: int = 0, few_step: bool = False, width: int = 32) -> Path:
    """A tiny random latent generator folder (denoiser + ``vae/``), a few-step student when
    ``few_step``; MiniLM-sized text input like the shipped models."""
    import torch

    from easytune_core.diffusion.latent import LatentDenoiser, LatentDenoiserConfig, MotionVAE, VAEConfig
    from easytune_core.diffusion.latent.io import save_latent_model

    mean, std = _stats(263)
    torch.manual_seed(seed)
    vae = MotionVAE(VAEConfig(latent_tokens=2, width=width, layers=1, heads=2, ff=2 * width))
    extra = dict(sampler="consistency", guidance_embed=True, guidance_range=[1.0, 4.0], default_steps=4) if few_step else {}
    cfg = LatentDenoiserConfig(latent_tokens=2, latent_dim=width, width=width, layers=1, heads=2, ff=2 * width, **extra)
    return save_latent_model(folder, LatentDenoiser(cfg), cfg, vae, mean, std, meta={"standin": True})


def synth_rule_folder(root, plans: list[list[str]], split: str) -> list[str]:
    """A HumanML3D-layout folder at ``root`` with one synthesised motion per list of action kinds
    (seed = its index), its captions and a ``<split>.txt`` naming them; returns the names."""
    from easytune_core.data.synth import synthesize_sample

    for sub in ("texts", "new_joints", "new_joint_vecs"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    names = []
    for i, kinds in enumerate(plans):
        s = synthesize_sample(i, kinds=kinds)
        name = f"{i:06d}"
        names.append(name)
        np.save(root / "new_joints" / f"{name}.npy", s.joints)
        np.save(root / "new_joint_vecs" / f"{name}.npy", np.zeros((len(s.joints) - 1, 263), np.float32))
        (root / "texts" / f"{name}.txt").write_text("".join(f"{c}#x#0.0#0.0\n" for c in s.captions))
    (root / f"{split}.txt").write_text("\n".join(names) + "\n")
    return names
