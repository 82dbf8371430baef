"""Scoring a model on a held-out split of the payload, and the reward probe.

A :class:`Judge` fixes the pairs of a split (a seeded subset), their initial noise (drawn per pair
from the pair's index, so it does not depend on batching) and the rule-check captions; every model
scored by it sees exactly the same prompts and noise, so differences between models are paired.
Metrics are the evaluation protocol's (``easytune_core.eval.metrics``): R-Precision top-1/2/3 in
groups of 32, FID against all real motions of the split, MM-Dist, Diversity; plus the rule pass
rate (``easytune_core.eval.rules.judge_generated``) and the mean reward of the same samples.
"""

from __future__ import annotations

import time

import numpy as np
import torch


from easytune_core.data.loader import auto_precision, cpu_has_bf16  # noqa: F401  (cpu_has_bf16 re-exported)
from easytune_core.eval.batching import same_length_batches


def resolve_precision(precision: str, device: str) -> str:
    """"auto" -> fp16 on CUDA, bf16 on a CPU with bf16 units, else fp32 (emulated bf16 is about 5.6x
    slower than fp32 on a 2-core AVX2 machine); anything else unchanged."""
    return auto_precision(device) if precision == "auto" else precision


class Judge:
    """Scores pipelines on ``split`` of the payload with the evaluator.

    Args:
        payload, tensors: the payload (``claims.payload.load``).
        evaluator: an ``Evaluator`` (its embeddings of the real motions and captions are in the payload).
        encoder: the payload-backed text encoder (reward-side text embeddings).
        pairs: caption-motion pairs to score (a fixed seeded subset, >= 32).
        rules: rule-check captions to judge (the first ``rules`` of the payload's list).
        precision: generation arithmetic (fp32, bf16 or fp16 autocast).
    """

    def __init__(self, payload: dict, tensors: dict, evaluator, encoder, split: str, pairs: int, rules: int,
                 steps: int = 50, guidance: float = 2.5, batch: int = 128, seed: int = 0,
                 precision: str = "fp32"):
        caps = payload[split]["captions"]
        n = len(caps)
        if n < 32:
            raise ValueError(f"the {split} split of the payload has {n} pairs; R-Precision needs at least 32")
        pairs = min(int(pairs), n) // 32 * 32
        self.split, self.steps, self.guidance, self.batch, self.seed = split, steps, guidance, batch, seed
        self.precision = precision
        self.idx = np.random.default_rng([seed, 11]).permutation(n)[:pairs]
        self.captions = [caps[i] for i in self.idx]
        self.lengths = np.asarray(payload[split]["lengths"])[self.idx]
        self.text = tensors[f"{split}_text"].numpy()[self.idx]
        self.real = tensors[f"{split}_real"].numpy()
        self.rule_cases = [dict(c) for c in payload.get(f"{split}_rules", [])[:rules]]
        self.evaluator, self.encoder = evaluator, encoder

    def _noise(self, pair: int, frames: int, dim: int) -> torch.Tensor:
        g = torch.Generator().manual_seed(1_000_003 * (self.seed + 1) + int(pair))
        return torch.randn((frames, dim), generator=g)

    def generate(self, pipe) -> tuple[np.ndarray, list]:
        """(features (N, T, D) de-normalised, lengths) for every pair, with each pair's own
        noise, in batches of one length each (dataset lengths come in steps of 4 frames: 39 lengths
        on the everyday test split). Unpadded batches use the denoiser's fastest attention path; a
        padded batch costs about 1.4x as much per frame on CPU."""
        frames = np.clip(self.lengths, 20, min(pipe.max_frames, 196)).astype(int)
        dim = pipe.config.feature_dim
        out = [None] * len(frames)
        lens = [0] * len(frames)
        for ids in same_length_batches(frames, self.batch):
            T = int(frames[ids].max())
            noise = torch.zeros(len(ids), T, dim)
            for j, i in enumerate(ids):
                noise[j, :frames[i]] = self._noise(self.idx[i], int(frames[i]), dim)
            res = pipe.generate([self.captions[i] for i in ids], frames=[int(frames[i]) for i in ids],
                                init_noise=noise, guidance=self.guidance, steps=self.steps, return_joints=False)
            for j, i in enumerate(ids):
                out[i] = res.features[j, :res.lengths[j]]
                lens[i] = res.lengths[j]
        T = max(lens)
        feats = np.zeros((len(out), T, dim), np.float32)
        for i, f in enumerate(out):
            feats[i, :len(f)] = f
        return feats, lens

    def score(self, pipe, reward_model) -> dict:
        """Evaluator metrics, mean reward and rule pass rate of ``pipe``'s samples on this split."""
        from easytune_core.eval.metrics import diversity, frechet_distance, mm_dist, r_precision
        from easytune_core.eval.rules import judge_generated, summarize

        t0, c0 = time.time(), time.process_time()
        was_training, old_precision = pipe.model.training, pipe.precision
        pipe.model.eval()
        pipe.precision = self.precision
        try:
            feats, lens = self.generate(pipe)
            gen = self.evaluator.embed_motions(feats, lens)
            rp = r_precision(self.text, gen)
            out = {"top1": float(rp[0]), "top2": float(rp[1]), "top3": float(rp[2]),
                   "fid": float(frechet_distance(self.real, gen)), "mm_dist": float(mm_dist(self.text, gen)),
                   "diversity": float(diversity(gen, min(300, len(gen) - 1), seed=0)),
                   "reward": self._reward(feats, lens, reward_model, pipe.device)}
            if self.rule_cases:
                cases = [dict(c) for c in self.rule_cases]
                judge_generated(pipe, cases, steps=self.steps, guidance=self.guidance, seed=self.seed,
                                batch=self.batch)
                s = summarize(cases)
                out["rules"] = s["pass_fraction"]
                out["rules_per_check"] = {k: round(v["pass_fraction"], 4) for k, v in s["per_check"].items()}
        finally:
            pipe.model.train(was_training)
            pipe.precision = old_precision
        out["pairs"], out["rule_cases"] = len(self.idx), len(self.rule_cases)
        out["eval_seconds"] = round(time.time() - t0, 1)
        out["eval_cpu_seconds"] = round((time.process_time() - c0) / max(1, torch.get_num_threads()), 1)
        return out

    def _reward(self, feats, lens, reward_model, device) -> float:
        scores = []
        with torch.no_grad():
            for s in range(0, len(feats), self.batch):
                f = torch.as_tensor(feats[s:s + self.batch], device=device)
                ln = torch.as_tensor(lens[s:s + self.batch], device=device)
                mask = torch.arange(f.shape[1], device=device)[None] < ln[:, None]
                text = self.encoder.encode(self.captions[s:s + self.batch]).to(device).float()
                scores.append(reward_model.reward(reward_model.normalize(f), mask, text).float().cpu())
        return float(torch.cat(scores).mean())


class Probe:
    """Mean reward of full samples on fixed train prompts and noise: the reward-vs-wall-clock curve.

    The training reward logged by each method is not comparable across methods (EasyTune scores
    one-step predictions mid-trajectory, DRaFT the final sample, ReFL an early stop), so every
    method is probed the same way: the reward (the fine-tuning reward) of its complete samples."""

    def __init__(self, items: list, steps: int = 50, guidance: float = 2.5, seed: int = 0, precision: str = "fp32"):
        self.captions = [c for c, _ in items]
        self.frames = [int(f) for _, f in items]
        self.steps, self.guidance, self.seed, self.precision = steps, guidance, seed, precision

    def __call__(self, pipe, reward_fn) -> float:
        """``reward_fn``: a ``finetune.build.RewardFn`` (model-space features)."""
        was_training, old = pipe.model.training, pipe.precision
        pipe.model.eval()
        pipe.precision = self.precision
        try:
            T = max(self.frames)
            mask = (torch.arange(T)[None] < torch.tensor(self.frames)[:, None]).to(pipe.device)
            noise = pipe.make_noise(len(self.captions), T, self.seed) * mask.cpu()[..., None]
            text = pipe.encode(self.captions)
            with torch.no_grad(), pipe.autocast():
                x0 = pipe.sampler(self.steps).sample(pipe.model, text, mask, guidance=self.guidance,
                                                     init_noise=noise)
                r = reward_fn(x0.float(), mask, pipe.encode_pooled(self.captions), None)
            return float(r.float().mean())
        finally:
            pipe.model.train(was_training)
            pipe.precision = old
