"""``python -m easytune_core select``: choose a fine-tuned checkpoint on held-out prompts.

Reward fine-tuning over-optimises: after some point the reward keeps rising while the motions
stop doing what the text says (reward hacking). A run made with ``--keep-every N`` keeps its
weights every N optimiser steps in ``snapshots/``; this command scores the base model and each
candidate on a split the run never saw (default ``val``) with two judges that are not the reward:

- **rule checks** (:mod:`easytune_core.eval.rules`) on checkable captions of the split: walk
  direction, jumps, waves, turns, sitting, lying down, push-ups, ...;
- the **paraphrase set**'s prompts of the same split (val or test; hand-written phrasings no
  caption template produces, :mod:`easytune_core.eval.paraphrase`), each sampled with
  ``--paraphrase-seeds`` seeds and judged by its own rule checks;
- the **independent evaluator**: R-Precision top-1, FID and MM-Dist on caption–motion pairs.

A candidate is *eligible* when its rule pass rate is at most ``--rule-tolerance`` below the
base model's, its paraphrase pass rate at most ``--paraphrase-tolerance`` below the base's, and
its FID at most ``--fid-tolerance`` (relative) above the base's. The choice is the eligible
candidate with the best R-Precision top-1 (ties: lower MM-Dist) when it beats the base model's;
the base model itself when none is eligible or none improves on it. The choice is made on val
(test is refused: numbers reported for the chosen model come from test, never from the split it
was chosen on).

Scores are kept in ``<out>.scores.json`` as each checkpoint finishes, keyed by the checkpoint's
folder, the size and time of its weights file and the settings, so a run that is stopped
continues where it was and a rerun rescored nothing that has not changed.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from easytune_core.cli_config import add_config_arguments, config_from_args
from easytune_core.eval.evaluators import EvaluatorOptions
from easytune_core.limits import DEFAULT_GUIDANCE, DEFAULT_STEPS

__all__ = ["candidates_of", "score_checkpoint", "choose", "SelectConfig", "add_arguments", "run"]


def candidates_of(paths: list[str]) -> list[Path]:
    """Checkpoint folders named directly, or a run folder's snapshots/* and checkpoint/ in step order
    (checkpoint/ left out when a snapshot holds the same optimiser step)."""
    out: list[Path] = []
    for p in map(Path, paths):
        if (p / "config.json").is_file() and (p / "model.safetensors").is_file():
            out.append(p)
            continue
        if not p.is_dir():
            raise FileNotFoundError(f"{p} is neither a checkpoint folder nor a fine-tuning run folder")
        snaps = sorted(d for d in (p / "snapshots").glob("step-*") if d.is_dir() and not d.name.endswith(".tmp"))
        final = p / "checkpoint"
        found = snaps + ([final] if (final / "config.json").is_file() and not _same_as_a_snapshot(final, snaps) else [])
        if not found:
            raise FileNotFoundError(f"{p} has no snapshots/step-* or checkpoint/ (fine-tune with --keep-every N)")
        out.extend(found)
    return out


def _same_as_a_snapshot(final: Path, snaps: list[Path]) -> bool:
    """The run's final checkpoint holds the weights of one of its snapshots (same optimiser step)."""
    from easytune_core.checkpoints import read_config

    try:
        step = int(read_config(final)["meta"]["optimiser_steps"])
    except (ValueError, KeyError, TypeError):  # CheckpointError is a ValueError
        return False
    return any(d.name == f"step-{step:06d}" for d in snaps)


def score_checkpoint(folder, evaluator, root: Path, split: str, rule_cases: list[dict], eval_prompts: int,
                     steps: int = DEFAULT_STEPS, guidance: float = DEFAULT_GUIDANCE, precision: str = "auto", seed: int = 0,
                     batch: int = 32, device: str | None = None, paraphrase_cases: list[dict] | None = None,
                     paraphrase_seeds: int = 0) -> dict:
    """Rule pass rate, paraphrase-set pass rate (when ``paraphrase_cases`` and ``paraphrase_seeds``
    are given) and evaluator metrics of one denoiser checkpoint on a held-out split."""
    from easytune_core.data.dataset import MotionTextDataset
    from easytune_core.eval.protocol import evaluate_pipeline
    from easytune_core.eval.rules import judge_generated, summarize
    from easytune_core.pipeline import MotionPipeline

    t0 = time.time()
    pipe = MotionPipeline.from_checkpoint(folder, device=device, precision=precision)
    cases = [dict(c) for c in rule_cases]
    judge_generated(pipe, cases, steps, guidance, seed, batch)
    rules = summarize(cases, "gen")
    para = None
    if paraphrase_cases and paraphrase_seeds > 0:
        from easytune_core.eval.paraphrase import score_paraphrase

        para = score_paraphrase(pipe, paraphrase_cases, seeds=paraphrase_seeds, steps=steps, guidance=guidance,
                                batch=batch)
    ds = MotionTextDataset(root, split=split, random_crop=False)
    ev = evaluate_pipeline(pipe, evaluator, ds, repeats=1, max_prompts=eval_prompts, steps=steps, guidance=guidance,
                           seed=seed, mm_prompts=0)["generated"]
    meta = getattr(pipe, "meta", {}) or {}
    return {"checkpoint": str(folder), "optimiser_steps": meta.get("optimiser_steps", 0),
            "rules": rules["pass_fraction"], "rule_checks": rules["checks"],
            "rules_per_check": {k: v["pass_fraction"] for k, v in rules["per_check"].items()},
            "paraphrase": None if para is None else para["overall"]["prompt_pass"],
            "paraphrase_prompt_seeds": None if para is None else para["overall"]["prompt_seeds"],
            "paraphrase_families": None if para is None else {k: v["prompt_pass"] for k, v in para["families"].items()},
            "top1": ev["r_precision"]["mean"][0], "top3": ev["r_precision"]["mean"][2], "fid": ev["fid"]["mean"],
            "mm_dist": ev["mm_dist"]["mean"], "diversity": ev["diversity"]["mean"],
            "seconds": round(time.time() - t0, 1)}


def choose(base: dict, candidates: list[dict], rule_tolerance: float = 0.03, fid_tolerance: float = 0.25,
           paraphrase_tolerance: float = 0.0) -> dict:
    """The selection rule of this module's docstring; returns the chosen row (``base`` if no eligible
    candidate improves R-Precision top-1 on it).
    The paraphrase condition applies when the base and the candidate both have a paraphrase score."""
    for c in candidates:
        para_ok = (base.get("paraphrase") is None or c.get("paraphrase") is None
                   or c["paraphrase"] >= base["paraphrase"] - paraphrase_tolerance)
        c["eligible"] = bool(c["rules"] >= base["rules"] - rule_tolerance and para_ok
                             and c["fid"] <= base["fid"] * (1 + fid_tolerance))
    eligible = [c for c in candidates if c["eligible"]]
    if not eligible:
        return base
    best = max(eligible, key=lambda c: (round(c["top1"], 6), -c["mm_dist"]))
    return best if round(best["top1"], 6) > round(base["top1"], 6) else base


def markdown(report: dict) -> str:
    s = report["settings"]
    para = s.get("paraphrase_prompts", 0) and s.get("paraphrase_seeds", 0)
    lines = [f"Checkpoint selection on the `{s['split']}` split ({s['rule_captions']} rule captions, "
             + (f"{s['paraphrase_prompts']} paraphrase prompts x {s['paraphrase_seeds']} seeds, " if para else "")
             + f"{s['eval_prompts']} evaluator pairs, {s['steps']} DDIM steps, {s['precision']}); eligible: rules "
             f">= base - {s['rule_tolerance']:.0%}"
             + (f", paraphrase >= base - {s['paraphrase_tolerance']:.0%}" if para else "")
             + f", FID <= base x {1 + s['fid_tolerance']:.2f}.", "",
             "| checkpoint | optimiser steps | rule pass | paraphrase pass | R@1 | R@3 | FID | MM-Dist | eligible |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in [report["base"], *report["candidates"]]:
        mark = " **(chosen)**" if r["checkpoint"] == report["chosen"] else ""
        elig = "base" if r is report["base"] else ("yes" if r.get("eligible") else "no")
        pp = "–" if r.get("paraphrase") is None else f"{r['paraphrase']:.1%}"
        lines.append(f"| `{r['checkpoint']}`{mark} | {r['optimiser_steps']} | {r['rules']:.1%} | {pp} | "
                     f"{r['top1']:.3f} | {r['top3']:.3f} | {r['fid']:.2f} | {r['mm_dist']:.2f} | {elig} |")
    return "\n".join(lines) + "\n"


@dataclass
class SelectConfig(EvaluatorOptions):
    """One ``select`` run: score the base model and every candidate on a held-out split, choose one."""

    runs: list[str] = field(default_factory=list, metadata={"positional": True, "metavar": "RUN"})
    """Fine-tuning run folders (their snapshots/ and checkpoint/) or checkpoint folders."""
    base: Optional[str] = None
    """The model the runs started from: a folder or a shipped name (None: the shipped base)."""
    data: str = "builtin"
    """Dataset folder (HumanML3D layout) or 'builtin'."""
    split: str = "val"
    """Held-out split to choose on (not train, which fine-tuning used; not the split you report on)."""
    rule_captions: int = 128
    """Checkable captions scored by the rule checks."""
    eval_prompts: int = 128
    """Caption-motion pairs scored by the evaluator (at least 32)."""
    steps: int = DEFAULT_STEPS
    """DDIM steps."""
    guidance: float = DEFAULT_GUIDANCE
    """Classifier-free guidance weight."""
    precision: str = field(default="auto", metadata={"choices": ("fp32", "bf16", "fp16", "auto")})
    """Generator arithmetic (auto: fp16 on CUDA, bf16 on CPUs with native bf16, else fp32)."""
    rule_tolerance: float = 0.03
    """A candidate is eligible when its rule pass rate is at most this much below the base model's."""
    fid_tolerance: float = 0.25
    """... and its FID at most this fraction above the base model's."""
    paraphrase_seeds: int = 2
    """Seeds per paraphrase-set prompt of the split (val or test; 0: leave the paraphrase set out)."""
    paraphrase_tolerance: float = 0.0
    """... and its paraphrase pass rate at most this much below the base model's."""
    seed: int = 0
    """Seed of the caption subsets and the generation noise."""
    out: Optional[str] = None
    """Write <out>.json and <out>.md (default: <first run>/selection)."""
    copy_to: Optional[str] = None
    """Copy the chosen checkpoint folder here."""
    device: Optional[str] = None
    """cpu or cuda (default: cuda when present)."""
    threads: int = 0
    """torch CPU threads (0: leave as is)."""

    def __post_init__(self):
        if isinstance(self.runs, (str, Path)):
            self.runs = [str(self.runs)]
        if not self.runs:
            raise ValueError("name at least one fine-tuning run folder or checkpoint to choose from")
        if self.split == "train":
            raise ValueError("choose on a held-out split (val), not on train: fine-tuning prompts come from train")
        if self.split == "test":
            raise ValueError("choose on val, not on test: the chosen model's numbers are reported on test")
        if self.eval_prompts < 32:
            raise ValueError(f"--eval-prompts must be at least 32 (R-Precision groups), got {self.eval_prompts}")
        if self.rule_captions < 1 or self.steps < 1:
            raise ValueError("--rule-captions and --steps must be at least 1")
        if self.paraphrase_seeds < 0:
            raise ValueError(f"--paraphrase-seeds must not be negative, got {self.paraphrase_seeds}")
        if self.rule_tolerance < 0 or self.fid_tolerance < 0 or self.paraphrase_tolerance < 0:
            raise ValueError("the tolerances must not be negative")


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_config_arguments(p, SelectConfig)


def _identity(evaluator) -> list | str:
    """What the scores of an ``--evaluator`` value depend on: its checkpoint folder with the size
    and time of its weights, or the value itself (t2m:DIR)."""
    from easytune_core.shipped import resolve_checkpoint

    try:
        folder = resolve_checkpoint(evaluator, "evaluator")
        st = (folder / "model.safetensors").stat()
        return [str(folder), st.st_size, st.st_mtime_ns]
    except (OSError, ValueError):
        return str(evaluator)


def run(args) -> int:
    import shutil

    from easytune_core.data.builtin import resolve_dataset
    from easytune_core.data.dataset import detect_skeleton
    from easytune_core.data.loader import set_threads
    from easytune_core.eval.rules import load_rule_cases

    args = config_from_args(SelectConfig, args)
    set_threads(args.threads)
    cands = candidates_of(args.runs)
    root = resolve_dataset(args.data)
    cases = load_rule_cases(root, args.split, args.rule_captions, seed=args.seed)
    if not cases:
        raise ValueError(f"no checkable captions in the {args.split} split of {root}")
    from easytune_core.shipped import resolve_checkpoint
    para_cases = []
    if args.paraphrase_seeds and args.split in ("val", "test"):
        from easytune_core.eval.paraphrase import paraphrase_cases

        para_cases = paraphrase_cases(args.split, ("paraphrase", "probe_known", "probe_everyday"))
    settings = {"split": args.split, "rule_captions": len(cases), "eval_prompts": args.eval_prompts,
                "paraphrase_prompts": len(para_cases), "paraphrase_seeds": args.paraphrase_seeds if para_cases else 0,
                "steps": args.steps, "guidance": args.guidance, "precision": args.precision,
                "rule_tolerance": args.rule_tolerance, "fid_tolerance": args.fid_tolerance,
                "paraphrase_tolerance": args.paraphrase_tolerance, "seed": args.seed,
                "data": str(root), "evaluator": _identity(args.evaluator)}
    first = Path(args.runs[0])
    out = Path(args.out) if args.out else (first.parent if (first / "model.safetensors").is_file() else first) / "selection"
    out.parent.mkdir(parents=True, exist_ok=True)
    cache_file = out.with_name(out.name + ".scores.json")
    scoring = {k: v for k, v in settings.items() if "tolerance" not in k}  # what a score depends on
    try:
        cache = json.loads(cache_file.read_text()) if cache_file.is_file() else {}
    except (ValueError, UnicodeDecodeError):
        cache = {}  # an unreadable cache is rebuilt, never trusted
    if not isinstance(cache, dict):
        cache = {}
    evaluator = None

    def score(folder: Path) -> dict:
        nonlocal evaluator
        weights = Path(folder) / "model.safetensors"
        st = weights.stat()
        key = json.dumps([str(folder), st.st_size, st.st_mtime_ns, scoring], sort_keys=True)
        if isinstance(cache.get(key), dict):
            return cache[key]
        if evaluator is None:
            evaluator = args.load_evaluator(feature_dim=detect_skeleton(root).feature_dim, device=args.device)
        row = score_checkpoint(folder, evaluator=evaluator, root=root, split=args.split, rule_cases=cases,
                               eval_prompts=args.eval_prompts, steps=args.steps, guidance=args.guidance,
                               precision=args.precision, seed=args.seed, device=args.device,
                               paraphrase_cases=para_cases, paraphrase_seeds=args.paraphrase_seeds)
        cache[key] = row
        tmp = cache_file.with_name(cache_file.name + ".tmp")
        tmp.write_text(json.dumps(cache, indent=1))
        tmp.replace(cache_file)
        return row

    def said(r: dict) -> str:
        pp = "" if r.get("paraphrase") is None else f"paraphrase {r['paraphrase']:.1%} "
        return (f"rules {r['rules']:.1%} {pp}R@1 {r['top1']:.3f} FID {r['fid']:.2f} MM-Dist {r['mm_dist']:.2f} "
                f"({r['seconds']} s)")

    base_folder = resolve_checkpoint(args.base, "base")
    base = score(base_folder)
    print(f"base: {said(base)}", file=sys.stderr, flush=True)
    rows = []
    for c in cands:
        if Path(c).resolve() == Path(base_folder).resolve():
            continue  # the base is the reference row, not a candidate of its own
        rows.append(dict(score(c)))
        print(f"{c}: {said(rows[-1])}", file=sys.stderr, flush=True)
    chosen = choose(base, rows, args.rule_tolerance, args.fid_tolerance, args.paraphrase_tolerance)
    report = {"base": base, "candidates": rows, "chosen": chosen["checkpoint"], "settings": settings}
    out.with_suffix(".json").write_text(json.dumps(report, indent=2))
    md = markdown(report)
    out.with_suffix(".md").write_text(md)
    print(md)
    print(f"chosen: {chosen['checkpoint']}")
    if args.copy_to and chosen is not base:
        dst = Path(args.copy_to)
        if dst.exists():
            shutil.rmtree(dst)
        shutil.copytree(chosen["checkpoint"], dst)
        print(f"copied to {dst}")
    return 0
