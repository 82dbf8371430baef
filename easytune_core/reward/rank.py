"""Rank generated motions by a reward model: score takes of a prompt and keep the best (best-of-N).

Sampling N takes of a prompt and keeping the one the reward model scores highest spends N times
the sampling compute at inference instead of fine-tuning the denoiser. The reward here is the same
text-motion cosine that EasyTune optimises (:meth:`RewardModel.reward` on clean motions), so the
pick is only as good as the reward's judgement; ``benchmarks/prompt_following.py --best-of N``
measures it with the rule checks, which the reward never sees.

    from easytune_core.reward import load_reward_model
    from easytune_core.reward.rank import best_of

    result, scores, best = best_of(pipe, load_reward_model("assets/checkpoints/everyday_reward"),
                                   ["a person claps 3 times"], repetitions=4, seconds=5)
    chosen = result.features[best[0]]       # the highest-scoring take of prompt 0
"""

from __future__ import annotations

import numpy as np
import torch


def reward_scores(reward_model, text_emb, features, lengths, batch: int = 64) -> np.ndarray:
    """The reward of each motion for its text: (B,) cosines in [-1, 1].

    Args:
        reward_model: a :class:`~easytune_core.reward.RewardModel` (eval mode).
        text_emb: (B, text_dim) pooled text embeddings of each motion's prompt (the reward's text
            encoder, MiniLM for the models trained here).
        features: (B, T, feature_dim) de-normalised motion features (numpy or tensor); frames past
            ``lengths[b]`` are ignored.
        lengths: B frame counts.
        batch: motions scored per forward pass.
    """
    feats = torch.as_tensor(np.asarray(features), dtype=torch.float32)
    text = torch.as_tensor(text_emb, dtype=torch.float32)
    B = feats.shape[0]
    if feats.dim() != 3 or feats.shape[2] != reward_model.config.feature_dim:
        raise ValueError(f"features must be (motions, frames, {reward_model.config.feature_dim}), "
                         f"got {tuple(feats.shape)}")
    if tuple(text.shape) != (B, reward_model.config.text_dim):
        raise ValueError(f"text_emb must be ({B}, {reward_model.config.text_dim}) (this reward model's pooled "
                         f"text embedding, one per motion), got {tuple(text.shape)}")
    if len(lengths) != B or any(not 1 <= int(n) <= feats.shape[1] for n in lengths):
        raise ValueError(f"lengths must give 1..{feats.shape[1]} frames for each of the {B} motions")
    device = reward_model.mean.device
    T = min(feats.shape[1], reward_model.config.max_frames)
    out = []
    with torch.inference_mode():
        for s in range(0, B, batch):
            x = feats[s:s + batch, :T].to(device)
            n = torch.as_tensor([min(int(v), T) for v in lengths[s:s + batch]], device=device)
            mask = torch.arange(T, device=device)[None] < n[:, None]
            x = reward_model.normalize(x) * mask[..., None]
            out.append(reward_model.reward(x, mask, text[s:s + batch].to(device)).float().cpu())
    return torch.cat(out).numpy()


def check_pair(pipe, reward_model) -> None:
    """Refuse a reward model that reads another text embedding than ``pipe.encode_pooled`` gives."""
    if pipe.text_encoder.dim != reward_model.config.text_dim:
        raise ValueError(f"this pipeline's text encoder ({pipe.text_encoder.name}, {pipe.text_encoder.dim}-d) is "
                         f"not the reward model's ({reward_model.config.text_dim}-d); rank with a matching pair")


def best_takes(scores, repetitions: int) -> np.ndarray:
    """Index (into the prompt-major list of takes) of the highest-scoring take of each prompt; ties
    go to the earlier take. ``scores``: (P * repetitions,)."""
    s = np.asarray(scores, dtype=np.float64)
    if repetitions < 1 or s.ndim != 1 or s.size % repetitions:
        raise ValueError(f"got {s.size} scores, not a whole number of prompts x {repetitions} takes")
    per = s.reshape(-1, repetitions)
    return np.arange(per.shape[0]) * repetitions + per.argmax(axis=1)


def best_of(pipe, reward_model, prompts, repetitions: int = 4, seconds=None, frames=None, seed: int = 0,
            **takes_kwargs):
    """Sample ``repetitions`` takes of each prompt (:meth:`MotionPipeline.takes`: take k starts from
    seed + k) and score them with ``reward_model``.

    Returns:
        (result, scores, best): the takes as one prompt-major GenerationResult, their rewards (P * n,),
        and the index of each prompt's best take (P,).
    """
    check_pair(pipe, reward_model)
    result = pipe.takes(prompts, repetitions, seconds=seconds, frames=frames, seed=seed, **takes_kwargs)
    scores = reward_scores(reward_model, pipe.encode_pooled(result.prompts).cpu(), result.features, result.lengths)
    return result, scores, best_takes(scores, repetitions)


class BestOfPipeline:
    """A generator that answers each prompt with the best of ``takes`` samples by ``reward_model``:
    a drop-in for the pipeline in code that only calls ``generate`` (e.g.
    :func:`easytune_core.eval.protocol.evaluate_pipeline`, to score reward-picked motions with the
    evaluator). Take 0 starts from the noise ``generate`` is given (or that ``seed`` gives), so it is
    the wrapped pipeline's own motion; take k > 0 draws its initial noise from (seed, k). Every
    other attribute is the wrapped pipeline's.

    Attributes:
        last_picks: the take chosen for each prompt of the latest ``generate`` call.
    """

    def __init__(self, pipe, reward_model, takes: int = 4):
        if isinstance(takes, bool) or int(takes) != takes or takes < 1:
            raise ValueError(f"takes must be a whole number of at least 1, got {takes}")
        check_pair(pipe, reward_model)
        self.pipe, self.reward_model, self.takes = pipe, reward_model, int(takes)
        self.last_picks: list[int] = []

    def __getattr__(self, name):
        return getattr(self.pipe, name)

    def generate(self, prompts, seconds=None, frames=None, seed: int = 0, init_noise=None, return_joints: bool = True,
                 **kwargs):
        from ..pipeline import GenerationResult, check_prompts

        prompts = check_prompts(prompts)
        B = len(prompts)
        lengths = self.pipe.lengths_for(B, seconds, frames)
        shape = self.pipe.noise_shape(B, max(lengths))
        first = self.pipe.make_noise(B, max(lengths), seed) if init_noise is None else torch.as_tensor(init_noise)
        noise = [first] + [torch.randn(shape, generator=torch.Generator().manual_seed((int(seed) * 7919 + k) % 2 ** 63))
                           for k in range(1, self.takes)]
        res = self.pipe.generate(prompts * self.takes, frames=lengths * self.takes, seed=seed,
                                 init_noise=torch.cat(noise), return_joints=return_joints, **kwargs)
        text = self.pipe.encode_pooled(prompts).cpu().repeat(self.takes, 1)  # take-major, as the batch
        scores = reward_scores(self.reward_model, text, res.features, res.lengths).reshape(self.takes, B)
        self.last_picks = scores.argmax(axis=0).tolist()
        rows = [k * B + b for b, k in enumerate(self.last_picks)]
        return GenerationResult(res.features[rows], None if res.joints is None else res.joints[rows], lengths, prompts,
                                int(seed), res.fps)
