"""Quick evaluation for the Evaluate tab: the evaluator protocol on a small test subset, for the
chosen checkpoint and (once, cached) the shipped base model, so the two rows sit side by side."""

from __future__ import annotations

import threading
from pathlib import Path

_lock = threading.Lock()
_cache: dict[tuple, dict] = {}


def _row(model: str, summary: dict) -> dict:
    g = summary
    mean = lambda k: (g.get(k) or {}).get("mean")  # noqa: E731
    return {"model": model, "r_precision": mean("r_precision"), "fid": mean("fid"), "mm_dist": mean("mm_dist"),
            "diversity": mean("diversity")}


def _stamp(folder: Path) -> tuple:
    return (str(Path(folder).resolve()), max((p.stat().st_mtime_ns for p in Path(folder).glob("*")), default=0))


def quick_evaluate(backend, name: str, folder: Path, repeats: int = 2, samples: int = 64, steps: int = 10,
                   progress=None) -> dict:
    """Rows for the real test motions, the base model and `folder`'s model (R-Precision, FID, MM-Dist,
    Diversity; MultiModality skipped for speed). Results are cached per checkpoint file state."""
    from easytune_core.eval.model import load_evaluator
    from easytune_core.eval.protocol import evaluate_pipeline

    cfg = backend.config
    eval_dir = cfg.checkpoints_dir / "evaluator"
    if not (eval_dir / "config.json").exists():
        raise ValueError(f"no evaluator checkpoint at {eval_dir}: train one with `python -m easytune_core train-evaluator`")
    if not (cfg.data_dir / "Mean.npy").exists():
        raise ValueError(f"no evaluation data at {cfg.data_dir} yet (a first start prepares it in the background within a few minutes), or create it with "
                         f"`python -m easytune_core prepare-data --out {cfg.data_dir}`")
    settings = (repeats, samples, steps)
    with _lock:  # one evaluation at a time: each one already uses the whole CPU
        evaluator = load_evaluator(eval_dir, device=backend.device)
        results = {}
        base_dir = cfg.checkpoints_dir / "base"
        targets = [("base (shipped)", base_dir)] if base_dir.exists() else []
        if not base_dir.exists() or Path(folder).resolve() != base_dir.resolve():
            targets.append((name, Path(folder)))
        for n, (label, path) in enumerate(targets):
            key = (_stamp(path), settings, str(cfg.data_dir))
            if key not in _cache:
                pipe = backend._load_pipeline(path)

                def report(frac, msg, n=n, label=label):
                    if progress is not None:
                        progress((n + frac) / len(targets), f"{label}: {msg}")

                _cache[key] = evaluate_pipeline(pipe, evaluator, cfg.data_dir, repeats=repeats, max_prompts=samples,
                                                steps=steps, mm_prompts=0, batch_size=32, progress=report)
            results[label] = _cache[key]
    first = next(iter(results.values()))
    rows = [_row("real motion (test split)", first["real"])]
    rows += [_row(label, r["generated"]) for label, r in results.items()]
    s = first["settings"]
    note = (f"{s['pairs']} test captions, repeats: {s['repeats']}, {s['steps']} DDIM steps; mean over repeats. "
            f"Quick mode: indicative only; the full protocol is `python -m easytune_core evaluate`.")
    return {"rows": rows, "note": note, "raw": results}
