"""Ship trained run folders as the package's checkpoints: ``assets/checkpoints/<name>/``.

    python scripts/ship_models.py everyday_evaluator=runs/everyday/evaluator \\
        everyday_reward=runs/everyday/reward
    python scripts/ship_models.py everyday_base=runs/everyday/base \\
        --eval everyday_base=runs/everyday/reports/eval_test_base.json

Each shipped folder gets the run's ``model.safetensors``, ``config.json`` and ``stats.safetensors``
unchanged, a ``metrics.json`` and a model card (``README.md``) written from them:

- a reward model: the retrieval scores ``train-reward`` recorded on its eval split (groups of 32,
  and groups of 32 holding the near twins where the data has them; clean and noised to t=500);
- an evaluator: the real-motion scores ``train-evaluator`` recorded on the test split;
- a denoiser: an ``evaluate --json`` result named with ``--eval NAME=FILE`` (required: a generator's
  numbers come from sampling it, which training does not record).

``--default-steps NAME=N`` ships a denoiser with N DDIM steps as its sampling default (the config's
``default_steps``, what ``MotionPipeline.generate`` and ``evaluate`` use when no step count is given)
instead of the run's; its ``--eval`` file must have sampled with N steps, so the card's numbers are
the default's.

The name must be one of ``easytune_core.shipped.SHIPPED`` and the run's kind must be the kind that
name ships. Everything is read and checked before anything is written; each folder is written
beside its destination and renamed into place whole.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from easytune_core.checkpoints import CheckpointError, read_config, swap_in  # noqa: E402
from easytune_core.hub import METRICS, write_model_card  # noqa: E402
from easytune_core.shipped import SHIPPED, world_of  # noqa: E402

FILES = ("model.safetensors", "config.json", "stats.safetensors")
TITLES = {"reward": "reward model", "evaluator": "evaluator", "denoiser": "denoiser"}


def dataset_name(meta: dict) -> str:
    """The dataset a run trained on, as the model card names it."""
    return f"EasyTune built-in motion-language dataset ({world_of(meta)} world)"


def reward_metrics(meta: dict) -> dict:
    """metrics.json of a reward model from the retrieval scores its training recorded."""
    retrieval = meta.get("retrieval") or {}
    scores, split = retrieval.get("scores") or {}, retrieval.get("split")
    if not scores.get("clean", {}).get("batch32"):
        raise CheckpointError("the reward's config.json records no retrieval scores (meta.retrieval); "
                              "it was trained without the final scoring")
    values = {}
    for noise in ("clean", "t500"):
        for protocol, tag in (("batch32", ""), ("hard32", "_hard32")):
            s = scores.get(noise, {}).get(protocol)
            if not s:
                continue
            values[f"t2m_r1{tag}_{noise}"] = round(float(s["t2m"]["1"]), 4)
            values[f"t2m_r3{tag}_{noise}"] = round(float(s["t2m"]["3"]), 4)
            if noise == "clean":
                values[f"m2t_r1{tag}_{noise}"] = round(float(s["m2t"]["1"]), 4)
    hard = "hard32" in scores.get("clean", {})
    return {"dataset": dataset_name(meta), "metrics": values, "split": split,
            "pairs": int(scores["clean"]["batch32"]["n"]),
            "source": "config.json meta (retrieval), written by train-reward",
            "what": f"Retrieval recall (%) on the {split} split in groups of 32 (random"
                    + ("; `_hard32`: groups holding each ground truth's near twins" if hard else "")
                    + "), clean motions and motions noised to diffusion step t=500."}


def evaluator_metrics(meta: dict) -> dict:
    """metrics.json of an evaluator from the real-motion scores its training recorded."""
    test = (meta.get("real_motion") or {}).get("test")
    if not test:
        raise CheckpointError("the evaluator's config.json records no real-motion test scores (meta.real_motion.test)")
    values = {f"real_r_precision_top{k + 1}": round(float(v), 4) for k, v in enumerate(test["r_precision"])}
    for k, v in enumerate(test.get("r_precision_hard") or []):
        values[f"real_r_precision_hard32_top{k + 1}"] = round(float(v), 4)
    values["real_mm_dist"] = round(float(test["mm_dist"]), 4)
    values["real_diversity"] = round(float(test["diversity"]), 4)
    return {"dataset": dataset_name(meta), "metrics": values, "split": "test", "pairs": int(test["n"]),
            "source": "config.json meta (real_motion.test), written by train-evaluator",
            "what": "The evaluator on the real test motions and their captions (R-Precision in groups of 32"
                    + ("; `hard32`: groups holding each ground truth's near twins" if "r_precision_hard" in test else "")
                    + "): the ceiling a generator can reach."}


def denoiser_metrics(result: dict, source: str) -> dict:
    """metrics.json of a generator from the JSON ``evaluate --json`` wrote (means over replications)."""
    gen = result.get("generated")
    if not isinstance(gen, dict) or "r_precision" not in gen:
        raise ValueError(f"{source} is not an `evaluate --json` result (no generated.r_precision)")
    values = {f"r_precision_top{k + 1}": round(float(v), 4) for k, v in enumerate(gen["r_precision"]["mean"])}
    if "r_precision_hard" in gen:
        values.update({f"r_precision_hard32_top{k + 1}": round(float(v), 4)
                       for k, v in enumerate(gen["r_precision_hard"]["mean"])})
    for key in ("fid", "mm_dist", "diversity", "multimodality"):
        if key in gen:
            values[key] = round(float(gen[key]["mean"]), 4)
    settings = result.get("settings") or {}
    return {"metrics": values, "split": result.get("split", "test"), "pairs": settings.get("pairs"),
            "source": source,
            "what": f"The evaluator `{result.get('evaluator', 'evaluator')}` (never the reward model) on the "
                    f"generator's motions for {settings.get('pairs')} {result.get('split', 'test')} captions: "
                    f"{settings.get('steps')}-step sampling, guidance {settings.get('guidance')}, "
                    f"{settings.get('repeats')} replication(s)."}


def plan(name: str, run: Path, evals: dict, steps: dict | None = None) -> dict:
    """Read and check one run; returns what shipping it writes (nothing is written here).
    ``steps``: shipped name -> the DDIM step count to ship as its sampling default."""
    if name not in SHIPPED:
        raise ValueError(f"unknown shipped name {name!r}; choose one of {', '.join(SHIPPED)}")
    missing = [f for f in FILES if not (run / f).is_file()]
    if missing:
        raise FileNotFoundError(f"{run} lacks {', '.join(missing)}")
    cfg = read_config(run)
    if cfg["kind"] != SHIPPED[name]:
        raise CheckpointError(f"{run} holds a {cfg['kind']}, but {name!r} ships a {SHIPPED[name]}")
    meta = cfg.get("meta") or {}
    default_steps = (steps or {}).get(name)
    if default_steps is not None and cfg["kind"] != "denoiser":
        raise ValueError(f"--default-steps {name}=...: {name!r} is not a denoiser")
    if cfg["kind"] == "reward":
        metrics = reward_metrics(meta)
    elif cfg["kind"] == "evaluator":
        metrics = evaluator_metrics(meta)
    elif name in evals:
        result = json.loads(Path(evals[name]).read_text())
        metrics = denoiser_metrics(result, str(evals[name]))
        metrics["dataset"] = dataset_name(meta)
        sampled = (result.get("settings") or {}).get("steps")
        if default_steps is not None and sampled != default_steps:
            raise ValueError(f"{evals[name]} sampled {name} with {sampled} steps, not the {default_steps} "
                             "it would ship as its default")
    else:
        raise ValueError(f"{name!r} is a generator: name its test scores with --eval {name}=FILE "
                         "(the JSON of `python -m easytune_core evaluate --json`)")
    return {"name": name, "run": run, "kind": cfg["kind"], "metrics": metrics, "world": world_of(meta),
            "default_steps": default_steps}


def ship(item: dict, checkpoints: Path) -> Path:
    """Write one planned folder beside its destination, then swap it into place."""
    dest = checkpoints / item["name"]
    tmp = dest.with_name(dest.name + ".shipping")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    for f in FILES:
        shutil.copy2(item["run"] / f, tmp / f)
    if item.get("default_steps") is not None:
        cfg = json.loads((tmp / "config.json").read_text())
        cfg["config"]["default_steps"] = int(item["default_steps"])
        (tmp / "config.json").write_text(json.dumps(cfg, indent=2, sort_keys=True))
        read_config(tmp)  # the rewritten config still loads
    (tmp / METRICS).write_text(json.dumps(item["metrics"], indent=2, sort_keys=True) + "\n")
    world = "everyday " if item["world"] == "everyday" else ""
    write_model_card(tmp, name=f"EasyTune Studio {world}{TITLES[item['kind']]} ({item['name']})",
                     source=item["name"])
    swap_in(tmp, dest)
    return dest


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("runs", nargs="+", metavar="NAME=RUN", help="shipped name and the run folder to ship as it")
    ap.add_argument("--eval", action="append", default=[], metavar="NAME=FILE",
                    help="a generator's test scores: the JSON `evaluate --json` wrote")
    ap.add_argument("--default-steps", action="append", default=[], metavar="NAME=N",
                    help="ship a denoiser with N DDIM steps as its sampling default")
    ap.add_argument("--assets", default=str(ROOT / "assets"), help="assets folder (holds checkpoints/)")
    args = ap.parse_args(argv)

    def pairs(values, what):
        out = {}
        for v in values:
            name, sep, path = v.partition("=")
            if not sep or not name or not path:
                ap.error(f"{what} must look like NAME=PATH, got {v!r}")
            if name in out:
                ap.error(f"{name} is named twice")
            out[name] = Path(path)
        return out

    runs, evals = pairs(args.runs, "a run"), pairs(args.eval, "--eval")
    steps = {}
    for name, value in pairs(args.default_steps, "--default-steps").items():
        if not str(value).isdigit() or int(str(value)) < 1:
            ap.error(f"--default-steps {name}= takes a positive whole number of steps, got {str(value)!r}")
        if name not in runs:
            ap.error(f"--default-steps names {name}, which is not shipped here")
        steps[name] = int(str(value))
    try:
        items = [plan(name, run, evals, steps) for name, run in runs.items()]
    except (ValueError, FileNotFoundError, OSError) as err:
        print(f"error: {err}; nothing was written", file=sys.stderr)
        return 2
    for item in items:
        dest = ship(item, Path(args.assets) / "checkpoints")
        print(f"{item['name']}: {item['run']} -> {dest}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
