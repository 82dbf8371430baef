"""``python -m easytune_core select``: choose a fine-tuned checkpoint on held-out prompts.

Reward fine-tuning over-optimises: after some point the reward keeps rising while the motions
stop doing what the text says (reward hacking). A run made with ``--keep-every N`` keeps its
weights every N optimiser steps in ``snapshots/``; this command scores the base model and each
candidate on a split the run never saw (default ``val``) with two judges that are not the reward:

- **rule checks** (:mod:`easytune_core.eval.rules`) on checkable captions: walk direction,
  jumps, waves, turns, sitting;
- the **independent evaluator**: R-Precision top-1, FID and MM-Dist on caption–motion pairs.

A candidate is *eligible* when its rule pass rate is at most ``--rule-tolerance`` below the
base model's and its FID at most ``--fid-tolerance`` (relative) above the base's. The choice
is the eligible candidate with the best R-Precision top-1 (ties: lower MM-Dist); the base
model itself when none is eligible. Numbers reported for the chosen model come from a
different split (test), never from the split it was chosen on.
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
    """Checkpoint folders named directly, or a run folder's snapshots/* and checkpoint/ in step order."""
    out: list[Path] = []
    for p in map(Path, paths):
        if (p / "config.json").is_file() and (p / "model.safetensors").is_file():
            out.append(p)
            continue
        if not p.is_dir():
            raise FileNotFoundError(f"{p} is neither a checkpoint folder nor a fine-tuning run folder")
        snaps = sorted(d for d in (p / "snapshots").glob("step-*") if d.is_dir() and not d.name.endswith(".tmp"))
        final = p / "checkpoint"
        found = snaps + ([final] if (final / "config.json").is_file() else [])
        if not found:
            raise FileNotFoundError(f"{p} has no snapshots/step-* or checkpoint/ (fine-tune with --keep-every N)")
        out.extend(found)
    return out


def score_checkpoint(folder, evaluator, root: Path, split: str, rule_cases: list[dict], eval_prompts: int,
                     steps: int = DEFAULT_STEPS, guidance: float = DEFAULT_GUIDANCE, precision: str = "auto", seed: int = 0,
                     batch: int = 32, device: str | None = None) -> dict:
    """Rule pass rate and evaluator metrics of one denoiser checkpoint on a held-out split."""
    from easytune_core.data.dataset import MotionTextDataset
    from easytune_core.eval.protocol import evaluate_pipeline
    from easytune_core.eval.rules import judge_generated, summarize
    from easytune_core.pipeline import MotionPipeline

    t0 = time.time()
    pipe = MotionPipeline.from_checkpoint(folder, device=device, precision=precision)
    cases = [dict(c) for c in rule_cases]
    judge_generated(pipe, cases, steps, guidance, seed, batch)
    rules = summarize(cases, "gen")
    ds = MotionTextDataset(root, split=split, random_crop=False)
    ev = evaluate_pipeline(pipe, evaluator, ds, repeats=1, max_prompts=eval_prompts, steps=steps, guidance=guidance,
                           seed=seed, mm_prompts=0)["generated"]
    meta = getattr(pipe, "meta", {}) or {}
    return {"checkpoint": str(folder), "optimiser_steps": meta.get("optimiser_steps", 0),
            "rules": rules["pass_fraction"], "rule_checks": rules["checks"],
            "rules_per_check": {k: v["pass_fraction"] for k, v in rules["per_check"].items()},
            "top1": ev["r_precision"]["mean"][0], "top3": ev["r_precision"]["mean"][2], "fid": ev["fid"]["mean"],
            "mm_dist": ev["mm_dist"]["mean"], "diversity": ev["diversity"]["mean"],
            "seconds": round(time.time() - t0, 1)}


def choose(base: dict, candidates: list[dict], rule_tolerance: float = 0.03, fid_tolerance: float = 0.25) -> dict:
    """The selection rule of this module's docstring; returns the chosen row (``base`` if none is eligible)."""
    for c in candidates:
        c["eligible"] = bool(c["rules"] >= base["rules"] - rule_tolerance
                             and c["fid"] <= base["fid"] * (1 + fid_tolerance))
    eligible = [c for c in candidates if c["eligible"]]
    if not eligible:
        return base
    return max(eligible, key=lambda c: (round(c["top1"], 6), -c["mm_dist"]))


def markdown(report: dict) -> str:
    s = report["settings"]
    lines = [f"Checkpoint selection on the `{s['split']}` split ({s['rule_captions']} rule captions, "
             f"{s['eval_prompts']} evaluator pairs, {s['steps']} DDIM steps, {s['precision']}); eligible: rules "
             f">= base - {s['rule_tolerance']:.0%}, FID <= base x {1 + s['fid_tolerance']:.2f}.", "",
             "| checkpoint | optimiser steps | rule pass | R@1 | R@3 | FID | MM-Dist | eligible |",
             "|---|---|---|---|---|---|---|---|"]
    for r in [report["base"], *report["candidates"]]:
        mark = " **(chosen)**" if r["checkpoint"] == report["chosen"] else ""
        elig = "base" if r is report["base"] else ("yes" if r.get("eligible") else "no")
        lines.append(f"| `{r['checkpoint']}`{mark} | {r['optimiser_steps']} | {r['rules']:.1%} | {r['top1']:.3f} | "
                     f"{r['top3']:.3f} | {r['fid']:.2f} | {r['mm_dist']:.2f} | {elig} |")
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
        if self.eval_prompts < 32:
            raise ValueError(f"--eval-prompts must be at least 32 (R-Precision groups), got {self.eval_prompts}")
        if self.rule_captions < 1 or self.steps < 1:
            raise ValueError("--rule-captions and --steps must be at least 1")
        if self.rule_tolerance < 0 or self.fid_tolerance < 0:
            raise ValueError("the tolerances must not be negative")


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_config_arguments(p, SelectConfig)


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
    evaluator = args.load_evaluator(feature_dim=detect_skeleton(root).feature_dim, device=args.device)
    kw = dict(evaluator=evaluator, root=root, split=args.split, rule_cases=cases, eval_prompts=args.eval_prompts,
              steps=args.steps, guidance=args.guidance, precision=args.precision, seed=args.seed, device=args.device)
    base = score_checkpoint(resolve_checkpoint(args.base, "base"), **kw)
    print(f"base: rules {base['rules']:.1%} R@1 {base['top1']:.3f} FID {base['fid']:.2f} ({base['seconds']} s)",
          file=sys.stderr, flush=True)
    rows = []
    for c in cands:
        rows.append(score_checkpoint(c, **kw))
        r = rows[-1]
        print(f"{c}: rules {r['rules']:.1%} R@1 {r['top1']:.3f} FID {r['fid']:.2f} MM-Dist {r['mm_dist']:.2f} "
              f"({r['seconds']} s)", file=sys.stderr, flush=True)
    chosen = choose(base, rows, args.rule_tolerance, args.fid_tolerance)
    report = {"base": base, "candidates": rows, "chosen": chosen["checkpoint"],
              "settings": {"split": args.split, "rule_captions": len(cases), "eval_prompts": args.eval_prompts,
                           "steps": args.steps, "guidance": args.guidance, "precision": args.precision,
                           "rule_tolerance": args.rule_tolerance, "fid_tolerance": args.fid_tolerance,
                           "seed": args.seed}}
    first = Path(args.runs[0])
    out = Path(args.out) if args.out else (first.parent if (first / "model.safetensors").is_file() else first) / "selection"
    out.parent.mkdir(parents=True, exist_ok=True)
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
