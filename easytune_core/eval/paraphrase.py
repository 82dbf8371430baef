"""Prompt following on the paraphrase set: hand-written prompts outside the caption templates,
each judged physically by the rule checks on motions sampled with several seeds.

    cases = paraphrase_cases("val")                       # the paraphrase subset's val split
    results = score_paraphrase(pipe, cases, seeds=3)      # {"overall", "families", "subsets", "cases"}

A prompt passes on a seed when every one of its checks passes; the reported numbers are the
fractions of (prompt, seed) pairs that pass and of checks that pass, overall, per action family
and per subset.
"""

from __future__ import annotations

from collections import defaultdict

from ..data.paraphrase import load_paraphrase_set
from .rules import judge_generated

FPS = 20


def paraphrase_cases(split: str | None = "test", subsets=("paraphrase",)) -> list[dict]:
    """Rule cases (``judge_generated`` format plus ``id``/``family``/``subset``) of the paraphrase set."""
    return [{"id": e["id"], "caption": e["caption"], "checks": list(e["checks"]), "family": e["family"],
             "subset": e["subset"], "split": e["split"], "frames": int(round(e["seconds"] * FPS))}
            for e in load_paraphrase_set(split, tuple(subsets))]


def _rates(rows: list[tuple[bool, int, int]]) -> dict:
    prompts = len(rows)
    return {"prompt_seeds": prompts, "prompt_pass": sum(r[0] for r in rows) / prompts if prompts else float("nan"),
            "checks": sum(r[2] for r in rows), "check_pass": (sum(r[1] for r in rows) / sum(r[2] for r in rows))
            if rows else float("nan")}


def score_paraphrase(pipe, cases: list[dict], seeds: int = 3, steps: int = 50, guidance: float = 2.5, batch: int = 32,
                     log=None) -> dict:
    """Sample every case with ``seeds`` seeds (0, 1, ...) and judge its checks.

    Returns ``{"overall", "families", "subsets", "cases"}``; the first three hold
    ``prompt_pass`` (share of (prompt, seed) pairs whose checks all pass), ``check_pass`` and
    their counts; ``cases`` lists per prompt the pass / fail of each seed.
    """
    if seeds < 1:
        raise ValueError(f"seeds must be at least 1, got {seeds}")
    per_case = defaultdict(list)
    for seed in range(seeds):
        run = [dict(c) for c in cases]
        judge_generated(pipe, run, steps=steps, guidance=guidance, seed=1000 * seed, batch=batch, log=log)
        for c in run:
            oks = [bool(ok) for ok, _ in c["gen"]]
            per_case[c["id"]].append((all(oks), sum(oks), len(oks)))
    rows = [(c, r) for c in cases for r in per_case[c["id"]]]
    fam, sub = defaultdict(list), defaultdict(list)
    for c, r in rows:
        fam[c["family"]].append(r)
        sub[c["subset"]].append(r)
    return {"overall": _rates([r for _, r in rows]),
            "families": {k: _rates(v) for k, v in sorted(fam.items())},
            "subsets": {k: _rates(v) for k, v in sorted(sub.items())},
            "cases": [{"id": c["id"], "caption": c["caption"], "family": c["family"], "subset": c["subset"],
                       "passed": [r[0] for r in per_case[c["id"]]]} for c in cases]}


__all__ = ["paraphrase_cases", "score_paraphrase"]
