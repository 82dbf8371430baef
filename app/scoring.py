"""Per-side scores for the Compare tab: the reward model's text-motion cosine (what fine-tuning
optimises) and the independent evaluator's matching distance (what the paper's tables report)."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import numpy as np

log = logging.getLogger("easytune.app")


class Scorer:
    """Loads the shipped reward and evaluator once; either may be missing (its score is then None).
    ``prefix`` picks a world's pair: "" the default ``reward``/``evaluator``, "everyday_" those of the
    everyday world."""

    def __init__(self, checkpoints_dir: Path, device: str = "cpu", prefix: str = ""):
        self.device = device
        self.reward_model = None
        self.evaluator = None
        self._lock = threading.Lock()
        self._encoder = None
        reward_dir, eval_dir = Path(checkpoints_dir) / f"{prefix}reward", Path(checkpoints_dir) / f"{prefix}evaluator"
        if (reward_dir / "config.json").exists():
            try:
                from easytune_core.reward import load_reward_model

                self.reward_model = load_reward_model(reward_dir, device=device)
            except Exception:
                log.exception("could not load the reward model from %s", reward_dir)
        if (eval_dir / "config.json").exists():
            try:
                from easytune_core.eval.model import load_evaluator

                self.evaluator = load_evaluator(eval_dir, device=device)
            except Exception:
                log.exception("could not load the evaluator from %s", eval_dir)

    @property
    def available(self) -> bool:
        return self.reward_model is not None or self.evaluator is not None

    def _text(self, prompts: list[str]):
        if self._encoder is None:
            from easytune_core.text import get_text_encoder

            self._encoder = get_text_encoder("minilm", device=self.device)
        return self._encoder.encode(prompts)

    def __call__(self, prompt: str, features: list[np.ndarray]) -> tuple[list, list]:
        """features: per side (T_i, 263) de-normalised. Returns (rewards, matching distances)."""
        import torch

        n = len(features)
        T = max(f.shape[0] for f in features)
        x = np.zeros((n, T, features[0].shape[1]), np.float32)
        mask = np.zeros((n, T), bool)
        for i, f in enumerate(features):
            x[i, : f.shape[0]] = f
            mask[i, : f.shape[0]] = True
        rewards: list = [None] * n
        distances: list = [None] * n
        with self._lock, torch.inference_mode():
            if self.reward_model is not None:
                rm = self.reward_model
                feats = torch.as_tensor(x, device=self.device)
                feats = rm.normalize(feats) * torch.as_tensor(mask, device=self.device)[..., None]
                text = self._text([prompt] * n).to(self.device)
                r = rm.reward(feats, torch.as_tensor(mask, device=self.device), text)
                rewards = [float(v) for v in r.float().cpu()]
            if self.evaluator is not None:
                text = self.evaluator.embed_texts([prompt])  # (1, E)
                motion = self.evaluator.embed_motions(x, mask.sum(1))  # (n, E)
                distances = [float(d) for d in np.linalg.norm(motion - text, axis=1)]
        return rewards, distances
