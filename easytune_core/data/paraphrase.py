"""The paraphrase set: hand-written prompts in phrasings the built-in captions never use, each
with the physical rule checks a motion must pass to follow it.

``paraphrase_set.jsonl`` (shipped with the package) holds one JSON object per line:

- ``id``: stable identifier; ``subset``: ``"paraphrase"`` (the main set, every action family),
  ``"probe_known"`` (24 prompts for actions the vocabulary had from the start: walk, turn,
  jump, wave, kick, squat, sit, run, punch, hop) or ``"probe_everyday"`` (24 everyday requests:
  lying down, crawling, kneeling, lunges, push-ups, sitting on a chair, ...);
- ``split``: ``"val"`` (for choosing recipes and snapshots) or ``"test"`` (for reporting);
  every third entry of each subset is in val;
- ``caption``; ``family``: the action family (locomotion, paths, jumps, floor, balance, upper,
  gestures, sports, dance, combos); ``checks``: ``[[category, argument], ...]`` for
  :func:`easytune_core.eval.rules.judge`; ``seconds``: a suitable motion length;
- ``synth``: ``{"kinds": [...], "params": {...}}``, the built-in actions that perform the prompt
  (used by the tests to check that the rules pass on a motion that does what the prompt says).
"""

from __future__ import annotations

import json
from pathlib import Path

PARAPHRASE_FILE = Path(__file__).with_name("paraphrase_set.jsonl")
SUBSETS = ("paraphrase", "probe_known", "probe_everyday")
SPLITS = ("val", "test")
_KEYS = {"id", "subset", "split", "caption", "family", "checks", "seconds", "synth"}


def load_paraphrase_set(split: str | None = None, subset: str | tuple | None = None, path=None) -> list[dict]:
    """Entries of the paraphrase set, optionally of one ``split`` ("val"/"test") and ``subset``
    (a name of ``SUBSETS`` or a tuple of them); in file order.

    Raises:
        ValueError: an unknown split or subset, or a malformed file.
    """
    if split is not None and split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS} or None, got {split!r}")
    wanted = (subset,) if isinstance(subset, str) else subset
    if wanted is not None and not set(wanted) <= set(SUBSETS):
        raise ValueError(f"subset must be one of {SUBSETS} (or a tuple of them), got {subset!r}")
    path = Path(path) if path is not None else PARAPHRASE_FILE
    out = []
    with open(path, encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            row = json.loads(line)
            missing = _KEYS - set(row)
            if missing or row["split"] not in SPLITS or row["subset"] not in SUBSETS or not row["checks"]:
                raise ValueError(f"{path}:{n}: malformed paraphrase entry (missing {sorted(missing)} or bad split/subset/checks)")
            row["checks"] = [tuple(c) for c in row["checks"]]
            if (split is None or row["split"] == split) and (wanted is None or row["subset"] in wanted):
                out.append(row)
    return out


def synthesize_entry(entry: dict, seed: int = 0):
    """A built-in motion that does what ``entry``'s prompt asks (its ``synth`` kinds and parameters),
    as a ``SynthSample`` whose ``captions`` are the built-in (template) captions of that motion.
    Deterministic per entry id and ``seed``."""
    import numpy as np

    from easytune_core.data.synth.composer import draw_plan, render_plan
    kinds = entry["synth"]["kinds"]
    rng = np.random.default_rng([17, int(entry["id"][1:]), ord(entry["id"][0]), seed])
    plan = draw_plan(rng, kinds=kinds)
    for st in plan["steps"]:
        if len(kinds) == 1 and st["kind"] == kinds[0]:
            st["params"] = {**st["params"], **entry["synth"]["params"]}
    return render_plan(plan)


__all__ = ["load_paraphrase_set", "synthesize_entry", "PARAPHRASE_FILE", "SUBSETS", "SPLITS"]
