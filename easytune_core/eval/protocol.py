"""HumanML3D evaluation protocol: ``python -m easytune_core evaluate`` and ``evaluate_pipeline``.

For each of ``repeats`` replications (Guo et al.: 20): the evaluation pairs are shuffled,
one motion is generated per caption at the ground-truth length (new seeds each time), and
R-Precision (groups of 32), FID (vs all real motions), MM-Dist and Diversity are computed
with the independent evaluator; the "Real motion" row uses the ground-truth motions of the
same shuffled pairs. MultiModality generates ``mm_repeats`` motions for each of
``mm_prompts`` captions once, and its replications redraw the 10 index pairs. Each metric is
reported as mean +- 1.96 * std / sqrt(repeats).

Evaluation prompts come from the evaluation split (default test); fine-tuning uses the train
split, so the two never mix.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import numpy as np

from easytune_core.cli_config import add_config_arguments, config_from_args
from easytune_core.eval.batching import item_noise, item_seed, same_length_batches
from easytune_core.eval.evaluators import EvaluatorOptions
from easytune_core.eval.metrics import (diversity, frechet_distance, mean_confidence, mm_dist, multimodality, r_precision,
                                        r_precision_groups)
from easytune_core.limits import DEFAULT_GUIDANCE, DEFAULT_STEPS

__all__ = ["evaluate_pipeline", "format_table", "load_eval_pairs", "hard_negative_pairs", "EvaluateConfig", "add_arguments", "run"]

_READ = object()
"""Default of the ``twins`` arguments below: read the dataset's near-twin records."""

QUICK = dict(max_prompts=64, repeats=3, steps=10, mm_prompts=4, mm_repeats=6)
"""Settings of ``--quick`` / ``quick=True``: about a minute on a 2-core CPU (numbers are indicative)."""


def load_eval_pairs(dataset, max_prompts: int | None = None, seed: int = 0, min_frames: int = 20, twins=_READ):
    """Ground-truth evaluation pairs of a dataset split.

    Args:
        dataset: a ``MotionTextDataset`` (use ``random_crop=False``), or a folder / "builtin"
            (its test split is used).
        max_prompts: keep this many pairs (a seeded random subset) if given. On a built-in dataset
            with near-twin records the subset keeps twins together (a motion is drawn with all its
            twins, up to ``max_prompts`` pairs), so the hard-negative protocol has queries in it.
        twins: the dataset's near-twin relations when the caller has read them already (None: no
            twin records); by default they are read from the dataset.
    Returns:
        dict with ``features`` list of (L, D) de-normalised float32 arrays, ``lengths`` (N,)
        int array, ``captions`` list[str], ``tokens`` list[str] (the dataset's ``word/POS``
        tokens of each caption, "" where it has none).
    """
    if isinstance(dataset, (str, Path)):
        from easytune_core.data.dataset import MotionTextDataset
        from easytune_core.data.builtin import resolve_dataset
        dataset = MotionTextDataset(resolve_dataset(dataset), split="test", random_crop=False)
    n = len(dataset)
    if n == 0:
        raise ValueError("the evaluation split has no motions")
    idx = np.arange(n)
    if max_prompts is not None and max_prompts < n:
        idx = _twin_closed_subset(dataset, int(max_prompts), seed, twins)
        if idx is None:
            idx = np.sort(np.random.default_rng(seed).choice(n, int(max_prompts), replace=False))
    feats, lengths, caps, toks, names = [], [], [], [], []
    mean = getattr(dataset, "mean", None)
    std = getattr(dataset, "std", None)
    normalised = bool(getattr(dataset, "normalize", True))
    for i in idx:
        item = dataset[int(i)]
        f = np.asarray(item["features"], dtype=np.float32)[: int(item["length"])]
        if normalised:
            if mean is None:
                raise ValueError("dataset items are normalised but the dataset has no mean/std attributes")
            f = f * std + mean
        if len(f) < min_frames:
            continue
        feats.append(f)
        lengths.append(len(f))
        caps.append(str(item["caption"]))
        toks.append(str(item.get("tokens", "")))
        names.append(str(item.get("name", "")))
    return {"features": feats, "lengths": np.asarray(lengths, dtype=np.int64), "captions": caps, "tokens": toks,
            "names": names}


def _dataset_twins(dataset) -> dict[str, list[str]] | None:
    """Near-twin relations of every motion of ``dataset`` (a ``MotionTextDataset``, a folder or
    "builtin"), from its ``synth_actions.jsonl``; None for data without twin records."""
    from easytune_core.data.builtin import ACTIONS_FILE, resolve_dataset
    from easytune_core.data.twins import load_twins
    if isinstance(dataset, (str, Path)):
        root = resolve_dataset(dataset, create=False) if str(dataset) == "builtin" else Path(dataset)
    else:
        root = getattr(dataset, "root", None)
    if root is None or not (Path(root) / ACTIONS_FILE).is_file() or not (Path(root) / "all.txt").is_file():
        return None
    return load_twins(root, "all")


def _twin_closed_subset(dataset, size: int, seed: int, twins=_READ) -> np.ndarray | None:
    """Sorted indices of a seeded random subset of at most ``size`` entries of ``dataset`` in
    which every entry comes with all its near twins; None when the dataset has no twin records."""
    entries = getattr(dataset, "entries", None)
    if entries is None:
        return None
    if twins is _READ:
        twins = _dataset_twins(dataset)
    if not twins:
        return None
    index = {e["name"]: i for i, e in enumerate(entries)}
    chosen: set[int] = set()
    for i in np.random.default_rng(seed).permutation(len(entries)):
        if int(i) in chosen:
            continue
        group = {int(i)} | {index[t] for t in twins.get(entries[int(i)]["name"], []) if t in index}
        if len(chosen) + len(group) <= size:
            chosen |= group
        if len(chosen) == size:
            break
    return np.asarray(sorted(chosen), dtype=np.int64)


def hard_negative_pairs(dataset, names: list[str], seed: int = 0, twins=_READ) -> list[np.ndarray]:
    """Groups of the hard-negative protocol for evaluation pairs ``names`` of ``dataset``: one
    group of 32 per pair whose motion has a near twin among the pairs (the built-in world records
    twins in ``synth_actions.jsonl``), the twins right after the ground truth. Empty for data
    without twin records (HumanML3D, KIT, user folders). ``twins``: as in :func:`load_eval_pairs`."""
    from easytune_core.data.twins import hard_negative_groups
    if twins is _READ:
        twins = _dataset_twins(dataset)
    return hard_negative_groups(names, twins, size=32, seed=seed) if twins is not None else []


def _pad(features: list[np.ndarray]) -> np.ndarray:
    t = max(len(f) for f in features)
    out = np.zeros((len(features), t, features[0].shape[1]), dtype=np.float32)
    for i, f in enumerate(features):
        out[i, :len(f)] = f
    return out


def _generate(pipeline, evaluator, captions, lengths, seed, steps, guidance, batch_size):
    """Generate one motion per caption and embed it: (N, E). Captions are generated in batches of
    one length (``eval.batching``); with a pipeline that has ``make_noise`` (a MotionPipeline)
    caption i's initial noise comes from (seed, i), whatever its batch."""
    frames = np.array([int(min(max(n, 20), pipeline.max_frames)) for n in lengths])
    out = [None] * len(captions)
    for ids in same_length_batches(frames, batch_size):
        T = int(frames[ids[0]])
        noise = {"init_noise": item_noise(pipeline, seed, ids, T)} if hasattr(pipeline, "make_noise") else {}
        res = pipeline.generate([captions[i] for i in ids], frames=[T] * len(ids), seed=item_seed(seed, int(ids[0])),
                                guidance=guidance, steps=steps, return_joints=False, **noise)
        for i, e in zip(ids, evaluator.embed_motions(res.features, res.lengths)):
            out[i] = e
    return np.stack(out)


def _summary(rows: list[dict]) -> dict:
    out = {}
    for key in rows[0]:
        mean, ci = mean_confidence([r[key] for r in rows])
        out[key] = {"mean": np.atleast_1d(mean).tolist() if np.ndim(mean) else float(mean),
                    "ci": np.atleast_1d(ci).tolist() if np.ndim(ci) else float(ci)}
    return out


def evaluate_pipeline(pipeline, evaluator, dataset, repeats: int = 20, max_prompts: int | None = None,
                      steps: int = DEFAULT_STEPS, guidance: float = DEFAULT_GUIDANCE, seed: int = 0, mm_prompts: int = 32,
                      mm_repeats: int = 12, batch_size: int = 64, quick: bool = False, progress=None) -> dict:
    """Run the protocol on a generator.

    Args:
        pipeline: ``MotionPipeline`` (anything with ``generate(prompts, frames=, seed=, guidance=,
            steps=, return_joints=)`` returning de-normalised features, and ``max_frames``).
        evaluator: ``Evaluator`` (see ``load_evaluator``).
        dataset: evaluation split (``MotionTextDataset``), or a folder / "builtin" (test split).
        repeats: replications for the confidence intervals.
        max_prompts: evaluate a seeded random subset of this many pairs (>= 32).
        steps, guidance: sampler settings.
        mm_prompts, mm_repeats: MultiModality set (0 prompts skips it; needs mm_repeats >= 2).
        quick: use :data:`QUICK` settings (fewer prompts, repeats and steps).
        progress: optional callable(fraction in [0, 1], message).
    Returns:
        dict: "real" and "generated" -> metric -> {"mean", "ci"}; "settings"; "seconds".
    """
    if quick:
        max_prompts = min(max_prompts or QUICK["max_prompts"], QUICK["max_prompts"])
        repeats = min(repeats, QUICK["repeats"])
        steps = min(steps, QUICK["steps"])
        mm_prompts, mm_repeats = min(mm_prompts, QUICK["mm_prompts"]), min(mm_repeats, QUICK["mm_repeats"])
    if repeats < 1:
        raise ValueError(f"repeats must be >= 1, got {repeats}")
    if max_prompts is not None and max_prompts < 32:
        raise ValueError(f"R-Precision uses groups of 32: evaluate at least 32 prompts, got {max_prompts}")
    t0 = time.time()
    report = progress or (lambda frac, msg: None)
    twins = _dataset_twins(dataset)  # read once: for the twin-closed subset and the hard-negative groups
    pairs = load_eval_pairs(dataset, max_prompts, seed=seed, twins=twins)
    caps, lengths = pairs["captions"], pairs["lengths"]
    n = len(caps)
    if n < 32:
        raise ValueError(f"the evaluation split has {n} usable pairs; R-Precision needs at least 32")
    report(0.0, f"embedding {n} real motions")
    real = evaluator.embed_motions(_pad(pairs["features"]), lengths)
    text = evaluator.embed_texts(caps, tokens=pairs["tokens"])
    div_times = min(300, n - 1)
    hard = hard_negative_pairs(dataset, pairs["names"], seed=seed, twins=twins)
    real_rows, gen_rows = [], []
    for r in range(repeats):
        perm = np.random.default_rng([seed, r]).permutation(n)
        report(r / (repeats + 1), f"replication {r + 1}/{repeats}: generating {n} motions")
        gen = _generate(pipeline, evaluator, [caps[i] for i in perm], lengths[perm], seed=seed * 1000 + r,
                        steps=steps, guidance=guidance, batch_size=batch_size)
        real_rows.append({"r_precision": r_precision(text[perm], real[perm]), "fid": frechet_distance(real, real[perm]),
                          "mm_dist": mm_dist(text[perm], real[perm]), "diversity": diversity(real, div_times, seed=r)})
        gen_rows.append({"r_precision": r_precision(text[perm], gen), "fid": frechet_distance(real, gen),
                         "mm_dist": mm_dist(text[perm], gen), "diversity": diversity(gen, div_times, seed=r)})
        if hard:  # hard-negative protocol: each group holds the ground truth's near twins
            unperm = np.empty_like(gen)
            unperm[perm] = gen
            real_rows[-1]["r_precision_hard"] = r_precision_groups(text, real, hard)
            gen_rows[-1]["r_precision_hard"] = r_precision_groups(text, unperm, hard)
    gen_summary = _summary(gen_rows)
    if mm_prompts > 0:
        if mm_repeats < 2:
            raise ValueError(f"MultiModality needs mm_repeats >= 2, got {mm_repeats}")
        report(repeats / (repeats + 1), f"MultiModality: {mm_prompts} prompts x {mm_repeats} generations")
        sel = np.random.default_rng([seed, 99]).permutation(n)[:mm_prompts]
        mm_caps = [caps[i] for i in sel for _ in range(mm_repeats)]
        mm_lens = np.repeat(lengths[sel], mm_repeats)
        emb = _generate(pipeline, evaluator, mm_caps, mm_lens, seed=seed * 1000 + 777, steps=steps,
                        guidance=guidance, batch_size=batch_size).reshape(len(sel), mm_repeats, -1)
        times = min(10, mm_repeats - 1)
        gen_summary.update(_summary([{"multimodality": multimodality(emb, times, seed=r)} for r in range(repeats)]))
    report(1.0, "done")
    return {
        "real": _summary(real_rows),
        "generated": gen_summary,
        "settings": {"pairs": n, "repeats": repeats, "steps": steps, "guidance": guidance, "seed": seed,
                     "diversity_times": div_times, "mm_prompts": mm_prompts, "mm_repeats": mm_repeats,
                     "r_precision_groups": n // 32, "hard_negative_queries": len(hard), "quick": quick},
        "seconds": round(time.time() - t0, 1),
    }


def _fmt(m: dict | None, k: int | None = None, digits: int = 3) -> str:
    if m is None:
        return "-"
    mean, ci = (m["mean"][k], m["ci"][k]) if k is not None else (m["mean"], m["ci"])
    if abs(mean) < 0.5 * 10 ** -digits:
        mean = 0.0  # FID of a set with itself rounds to -0.000 otherwise
    return f"{mean:.{digits}f}±{ci:.{digits}f}"


def format_table(results: dict, name: str = "Generated") -> str:
    """HumanML3D-style markdown table (Real motion row + the generator's row)."""
    hard = "r_precision_hard" in results["generated"]
    head = ("| Method | R-Precision Top1 ↑ | Top2 ↑ | Top3 ↑ | FID ↓ | MM-Dist ↓ | Diversity → | MModality ↑ |"
            + (" Hard-negative Top1 ↑ | Hard-negative Top3 ↑ |" if hard else "") + "\n"
            + "|---" * (10 if hard else 8) + "|")
    lines = [head]
    for label, key in (("Real motion", "real"), (name, "generated")):
        m = results[key]
        lines.append(f"| {label} | {_fmt(m['r_precision'], 0)} | {_fmt(m['r_precision'], 1)} | "
                     f"{_fmt(m['r_precision'], 2)} | {_fmt(m['fid'])} | {_fmt(m['mm_dist'])} | "
                     f"{_fmt(m['diversity'])} | {_fmt(m.get('multimodality'))} |"
                     + (f" {_fmt(m['r_precision_hard'], 0)} | {_fmt(m['r_precision_hard'], 2)} |" if hard else ""))
    return "\n".join(lines)


@dataclass
class EvaluateConfig(EvaluatorOptions):
    """One ``evaluate`` run: a checkpoint scored by an evaluator (the project's own by default, or the T2M
    evaluator) on a held-out split."""

    checkpoint: str = field(default="", metadata={"required": True})
    """Denoiser: a checkpoint folder, a shipped name (base, easytune) or a Hugging Face Hub repo id."""
    data: str = "builtin"
    """Dataset folder (HumanML3D layout) or 'builtin'."""
    split: str = "test"
    """Evaluation split (never the fine-tuning split)."""
    repeats: int = 20
    """Replications for the 95% confidence intervals (Guo et al.: 20)."""
    max_prompts: Optional[int] = None
    """Evaluate a seeded random subset of this many pairs (None: all)."""
    steps: Optional[int] = None
    """Sampler steps (None: the model's own, 50 DDIM steps; 4 for few-step models)."""
    guidance: Optional[float] = None
    """Classifier-free guidance weight (None: the model's own, 2.5; 7.5 for converted MLD)."""
    seed: int = 0
    """Seed of the pair order and the generation noise."""
    mm_prompts: int = 32
    """MultiModality prompts (0 skips it)."""
    mm_repeats: int = 12
    """Generations per MultiModality prompt."""
    quick: bool = False
    """Fast indicative run: 64 pairs, 3 replications, 10 DDIM steps, MultiModality 4 x 6."""
    json: Optional[str] = None
    """Write the results to this JSON file."""
    precision: str = field(default="fp32", metadata={"choices": ("fp32", "bf16", "fp16", "auto")})
    """Generator arithmetic (auto: fp16 on CUDA, bf16 on CPUs with native bf16, else fp32)."""
    device: Optional[str] = None
    """cpu or cuda (default: cuda when present)."""
    threads: Optional[int] = None
    """torch CPU threads (None: leave as is)."""

    def __post_init__(self):
        if not str(self.checkpoint).strip():
            raise ValueError("checkpoint is required: the denoiser folder to evaluate (--checkpoint DIR)")
        if self.repeats < 1 or (self.steps is not None and self.steps < 1) or self.mm_prompts < 0 or self.mm_repeats < 1:
            raise ValueError("repeats, steps and mm-repeats must be at least 1, mm-prompts at least 0")
        if self.max_prompts is not None and self.max_prompts < 32:
            raise ValueError(f"--max-prompts must be at least 32 (R-Precision groups), got {self.max_prompts}")


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_config_arguments(p, EvaluateConfig)


def run(args) -> int:
    from easytune_core.data.builtin import resolve_dataset
    from easytune_core.data.dataset import MotionTextDataset
    from easytune_core.data.dataset import detect_skeleton
    from easytune_core.data.loader import set_threads
    from easytune_core.eval.evaluators import describe_evaluator
    from easytune_core.pipeline import MotionPipeline

    args = config_from_args(EvaluateConfig, args)
    set_threads(args.threads)
    if args.split == "train":
        print("warning: evaluating on the train split, which fine-tuning also uses; report test-split numbers")
    root = resolve_dataset(args.data)
    dim = detect_skeleton(root).feature_dim
    evaluator = args.load_evaluator(feature_dim=dim, device=args.device)
    pipeline = MotionPipeline.from_pretrained(args.checkpoint, device=args.device, precision=args.precision)
    if pipeline.config.feature_dim != dim:
        raise ValueError(f"{args.checkpoint} makes {pipeline.config.feature_dim}-d motions, {root} holds {dim}-d ones")
    dataset = MotionTextDataset(root, split=args.split, random_crop=False)

    def progress(frac, msg):
        print(f"[{100 * frac:5.1f}%] {msg}", flush=True)

    steps = pipeline.default_steps if args.steps is None else args.steps
    guidance = pipeline.default_guidance if args.guidance is None else args.guidance
    res = evaluate_pipeline(pipeline, evaluator, dataset, repeats=args.repeats, max_prompts=args.max_prompts,
                            steps=steps, guidance=guidance, seed=args.seed, mm_prompts=args.mm_prompts,
                            mm_repeats=args.mm_repeats, quick=args.quick, progress=progress)
    res["checkpoint"], res["evaluator"], res["data"], res["split"] = (str(args.checkpoint), str(args.evaluator or "evaluator"),
                                                                       str(root), args.split)
    res["settings"]["precision"] = pipeline.precision
    if getattr(pipeline, "guidance_interval", [0.0, 1.0]) != [0.0, 1.0] and not pipeline.few_step:
        res["settings"]["guidance_interval"] = pipeline.guidance_interval  # from the model's config
    res["evaluator_info"] = info = describe_evaluator(evaluator)
    partial = [why for why, bad in (("the split is not test", args.split != "test"), ("quick mode", args.quick),
                                    ("a subset of the pairs (--max-prompts)", args.max_prompts is not None
                                     and res["settings"]["pairs"] < len(dataset))) if bad]
    if info["comparable_with_published"] and partial:
        info["comparable_with_published"] = False
        info["note"] += f"; not this run, though: {', '.join(partial)}"
    print(format_table(res, name=Path(args.checkpoint).name or "Generated"))
    print(f"evaluator: {res['evaluator_info']['note']}")
    print(f"({res['settings']['pairs']} pairs, {res['settings']['repeats']} replications, "
          f"{res['settings']['steps']} sampler steps, mean ± 95% CI, {res['seconds']:.0f} s)")
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(res, indent=2))
        print(f"wrote {args.json}")
    return 0
