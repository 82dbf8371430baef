"""The paper's claims tested on this stack: every fine-tuning method at equal compute, several seeds.

EasyTune (step, chain), DRaFT-50, DRaFT-10, DRaFT-LV, ReFL, AlignProp and DRTune fine-tune the
same base model against the same reward, on the same train prompts in the same order, at the same
batch size, each with its learning rate chosen on val from a small grid. Two budgets: the same
number of generated trajectories (the paper's framing) and the same training wall time. Every
final model is scored on the test split (the same pairs and noise for all) by the independent
evaluator and the rule checks; snapshots along the way on val. Efficiency: memory versus
trajectory length, seconds per optimiser step, reward versus wall clock and the time to a common
reward threshold; the gradient each denoising step receives under full backpropagation versus
EasyTune; ablations (step selection, x0 vs noisy-input reward, reward with vs without SPL); the
headline ratios beside the paper's.

    python benchmarks/paper_claims.py --scale cpu                      # days on a 2-core CPU (--plan)
    python benchmarks/paper_claims.py --scale cpu --parts base,memory,gradnorm,lr   # in parts ...
    python benchmarks/paper_claims.py --scale cpu --resume             # ... continued later
    python benchmarks/paper_claims.py --scale cpu --resume --minutes 60  # no new unit after an hour
    python benchmarks/paper_claims.py --export-payload DIR             # inputs for a GPU host
    python benchmarks/paper_claims.py --scale gpu --payload DIR --parts ...   # there, in calls of < 10 min
    python benchmarks/paper_claims.py --figures-only                   # figures + markdown from the JSON

Every unit of work (one run, one memory measurement, ...) is saved under ``--work`` as it ends;
``--resume`` skips the saved ones (a failed unit runs again). Writes ``--out``.json/.md and PNG figures under ``--figures``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # benchmarks/, for `common` and the `claims` package
from common import RESULTS, ROOT, write_results  # noqa: E402  (also puts the repository root on sys.path)
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from claims import analysis, figures, plan, report  # noqa: E402
from claims.units import OutOfTime, Runner, execute, saved_units  # noqa: E402
from claims.scales import ABLATIONS, METHODS, SCALES, USES, Scale  # noqa: E402

PARTS = ("base", "memory", "gradnorm", "lr", "main", "ablations")


# ------------------------------------------------------------------------------------------- parts
def lr_choices(run: Runner, methods: list[str], base: dict) -> dict:
    out = {}
    for m in methods:
        trials = []
        for lr in run.scale.lr_grid:
            r = run.load(f"lr/{m}/{lr:g}")
            if r and "result" in r:
                trials.append({"lr": lr, "val": r["result"]["test"].get("equal_trajectories")})
        if trials:
            out[m] = {"trials": trials, **analysis.choose_lr(trials, base["val"])}
    return out


def unit_specs(run: Runner, parts: list[str], methods: list[str], dry: bool = False):
    """The units of ``parts`` in order, as (uid, kind, params). Main runs and ablations need the lr
    part's choices; ``dry`` (for --plan) stands in the grid's first lr where none is chosen yet."""
    s = run.scale
    if "base" in parts:
        yield "base", "base", {}
    if "memory" in parts:
        for steps in s.memory_steps:
            for m in methods:
                yield f"memory/{m}/T{steps}", "memory", {"method": m, "steps": steps, "isolate": s.isolate_memory}
    if "gradnorm" in parts:
        yield "gradnorm", "gradnorm", {}
    if "lr" in parts:
        for m in methods:
            for lr in s.lr_grid:
                yield f"lr/{m}/{lr:g}", "run", {"run": {"method": m, "lr": lr, "seed": s.lr_seed,
                                                        "trajectories": s.lr_trajectories or s.trajectories,
                                                        "seconds": None, "val_final": True}}
    if not ("main" in parts or "ablations" in parts):
        return
    base = (run.load("base") or {}).get("result")
    if base is None and not dry:
        raise SystemExit("the base model's scores are missing: run the 'base' part first (--parts base)")
    chosen = lr_choices(run, methods, base) if base else {}
    lr_of = lambda m: chosen[m]["lr"] if m in chosen else s.lr_grid[0]  # noqa: E731
    if "main" in parts:
        missing = [m for m in methods if m not in chosen]
        if missing and not dry:
            raise SystemExit(f"no learning rate chosen for {', '.join(missing)}: run the 'lr' part first")
        for seed in s.seeds:  # seed-major: a partial run has every method at the first seeds
            for m in methods:
                yield f"main/{m}/seed{seed}", "run", {"run": {
                    "method": m, "lr": lr_of(m), "seed": seed, "trajectories": s.trajectories, "seconds": s.seconds,
                    "val": seed in s.val_seeds, "test": True}}
    if "ablations" in parts:
        if analysis.ET not in chosen and not dry:
            raise SystemExit("ablations use EasyTune (step)'s learning rate: run its 'lr' part first")
        manifest = json.loads((run.payload / "manifest.json").read_text())
        variants = ablations_for(manifest, run.ablations)
        for seed in s.ablation_seeds:
            for label, kw in variants.items():
                yield f"ablation/{label}/seed{seed}", "run", {"run": {
                    "method": label, "overrides": kw, "lr": lr_of(analysis.ET), "seed": seed,
                    "trajectories": s.trajectories, "seconds": None, "test": True}}


def run_parts(run: Runner, parts: list[str], methods: list[str]) -> None:
    for uid, kind, params in unit_specs(run, parts, methods):
        run(uid, kind, **params)


def ablations_for(manifest: dict, only: str = "") -> dict:
    """The ablation variants (plus the SPL arm trained from the same pre-training when the payload has
    one); ``only``: comma-separated words, a variant runs when its label contains one of them."""
    out = dict(ABLATIONS)
    if "reward_spl" in manifest.get("checkpoints", {}):
        out["EasyTune (step), reward with SPL (same pre-training)"] = dict(method="easytune", select="last:10",
                                                                           reward="reward_spl")
    words = [w.strip() for w in only.split(",") if w.strip()]
    return {k: v for k, v in out.items() if not words or any(w in k for w in words)}


# ----------------------------------------------------------------------------------------- collect
def collect(run: Runner, methods: list[str], extra: dict) -> dict:
    """All saved units -> the results JSON (see claims.report for its sections)."""
    s = run.scale
    units, errors = {}, {}
    for p in sorted((run.work / "units").rglob("*.json")):
        r = json.loads(p.read_text())
        (errors if "error" in r else units)[r["unit"]] = r
    sources = {u: {k: r.get(k) for k in ("scale", "device", "device_name", "torch", "precision", "finished",
                                         "wall_seconds", "cpu_seconds", "payload_digest")}
               for u, r in units.items()}
    res = {"experiment": "paper_claims", "stamp": report.stamp(run.device), "scale": s.to_dict(), **extra,
           "methods_requested": methods, "sources": sources, "errors": {u: e["error"] for u, e in errors.items()}}
    base = units.get("base", {}).get("result")
    res["base"] = base
    res["lr_selection"] = lr_choices(run, methods, base) if base else {}
    res["memory"] = {m: {str(T): units[f"memory/{m}/T{T}"]["result"] for T in s.memory_steps
                         if f"memory/{m}/T{T}" in units} for m in methods}
    res["gradnorm"] = units.get("gradnorm", {}).get("result")
    res["methods"] = {}
    res["unit_commits"] = sorted({r.get("commit") for r in units.values() if r.get("commit")})
    for m in methods:
        runs_ = [units[f"main/{m}/seed{seed}"]["result"] for seed in s.seeds if f"main/{m}/seed{seed}" in units]
        if runs_:
            res["methods"][m] = {"runs": runs_, "lr": runs_[0]["lr"]}
    res["ablations"] = {}
    for u in sorted(units):
        if u.startswith("ablation/"):
            label = u.split("/")[1]
            res["ablations"].setdefault(label, {"runs": []})["runs"].append(units[u]["result"])
    report.summarise(res)
    return res


def write_outputs(res: dict, out: Path, figdir: Path, log=print) -> None:
    """Figures from ``res``, then ``out``.json/.md through ``benchmarks/common.py`` (keeping ``res``'s stamp)."""
    written = figures.make_all(res, figdir)
    res["figures"] = [_shown(p) for p in written]
    write_results(out, res, report.markdown(res))
    log(f"wrote {out}.json, {out}.md and {len(written)} figures in {figdir}")


def _shown(path: Path) -> str:
    """A path relative to the repository root when it lies inside it (results do not name the machine)."""
    try:
        return str(Path(path).resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


# -------------------------------------------------------------------------------------------- main
def scale_clash(before: dict, scale: Scale, work: Path) -> str:
    """Changed scale fields that parts with saved units depend on ('' when none)."""
    now = json.loads(json.dumps(scale.to_dict()))
    done = {p.parts[len((work / "units").parts)].split(".")[0] for p in (work / "units").rglob("*.json")}
    out = []
    for key in sorted(set(before) | set(now)):
        if before.get(key) != now.get(key):
            parts = sorted(part for part in done if key in USES.get(part, ()))
            if parts:
                out.append(f"{key} ({before.get(key)} -> {now.get(key)}; used by {', '.join(parts)})")
    return "; ".join(out)


def parse_set(items: list[str], scale: Scale) -> Scale:
    """--set key=value overrides of the scale (numbers, tuples as comma lists, booleans)."""
    fields = {f.name: f for f in dataclasses.fields(Scale)}
    kw = {}
    for item in items or []:
        key, _, value = item.partition("=")
        if key not in fields:
            raise SystemExit(f"--set: unknown scale field {key!r}; fields: {', '.join(fields)}")
        cur = getattr(scale, key)
        if isinstance(cur, bool):
            kw[key] = value.lower() in ("1", "true", "yes")
        elif isinstance(cur, tuple):
            kw[key] = tuple(type(cur[0])(v) if cur else float(v) for v in value.split(",") if v)
        else:
            kw[key] = type(cur)(value)
    return dataclasses.replace(scale, **kw) if kw else scale


def print_plan(args, work: Path, scale: Scale, payload: Path, device: str, parts: list, methods: list, p) -> int:
    """--plan: the projected time of the units not saved yet, from this --work's costs or --costs-from's."""
    measured = None
    source = Runner(work, scale, payload, device, True)
    if args.costs_from:
        other = Path(args.costs_from)
        if not (other / "scale.json").is_file():
            p.error(f"--costs-from {other}: no scale.json there (not a --work folder of this experiment)")
        raw = json.loads((other / "scale.json").read_text())
        measured = Scale(**{k: tuple(v) if isinstance(v, list) else v for k, v in raw.items()})
        source = Runner(other, measured, payload, device, True)
        payload = other / "payload" if not (payload / "manifest.json").is_file() else payload
    if not (payload / "manifest.json").is_file() and "ablations" in parts:
        p.error(f"--plan needs the payload ({payload}) to list the ablations: run the first parts first, "
                "or leave out the ablations part")
    run = Runner(work, scale, payload, device, True)
    run.ablations = args.ablations
    specs = list(unit_specs(run, parts, methods, dry=True))
    print(plan.describe(plan.project(specs, saved_units(source), scale, measured)))
    return 0


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--scale", default="cpu", choices=sorted(SCALES))
    p.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE", help="override a scale field")
    p.add_argument("--parts", default=",".join(PARTS), help="comma-separated subset of: " + ", ".join(PARTS))
    p.add_argument("--methods", default=",".join(METHODS), help="comma-separated subset of: " + ", ".join(METHODS))
    p.add_argument("--ablations", default="", help="only the ablations whose label contains one of these "
                   "comma-separated words (e.g. random,noisy,SPL); default all")
    p.add_argument("--resume", action="store_true", help="keep the saved units under --work and do the rest")
    p.add_argument("--work", default=None, help="unit results and the payload (default runs/paper_claims/<scale>)")
    p.add_argument("--payload", default=None, help="run from this payload folder (no dataset or text encoder needed)")
    p.add_argument("--export-payload", default=None, help="only write the payload folder, then exit")
    p.add_argument("--data", default=str(ROOT / "data" / "builtin"), help="dataset of the payload (default: built-in)")
    p.add_argument("--base", default=None, help="base model checkpoint (default: the shipped base)")
    p.add_argument("--reward", default=None, help="reward checkpoint (default: the shipped reward)")
    p.add_argument("--evaluator", default=None, help="evaluator checkpoint (default: the shipped evaluator)")
    p.add_argument("--reward-nospl", default=None, help="reward checkpoint without SPL (default: built, see claims.payload)")
    p.add_argument("--device", default=None)
    p.add_argument("--out", default=None, help="results file stem (default benchmarks/results/paper_claims_<scale>)")
    p.add_argument("--figures", default=str(ROOT / "docs" / "figures"), help="folder of the PNG figures")
    p.add_argument("--figures-only", action="store_true", help="only redraw figures and markdown from --out.json")
    p.add_argument("--plan", action="store_true", help="only print the projected time of the units of --parts "
                   "not saved yet under --work, from the costs the saved units measured")
    p.add_argument("--costs-from", default=None, metavar="WORK", help="with --plan: take the unit costs from "
                   "this other --work folder (measured at its own sizes, rescaled to this scale's)")
    p.add_argument("--unit", default=None, help=argparse.SUPPRESS)
    p.add_argument("--unit-out", default=None, help=argparse.SUPPRESS)
    p.add_argument("--minutes", type=float, default=0.0, help="start no new unit after this many minutes, then "
                   "write the results of the saved units (continue later with --resume)")
    p.add_argument("--stop-after", type=int, default=0, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.minutes < 0:
        p.error("--minutes must be positive (0: no limit)")

    if args.unit:
        res = execute(json.loads(Path(args.unit).read_text()))
        Path(args.unit_out).write_text(json.dumps(res))
        return 0
    out = Path(args.out or RESULTS / f"paper_claims_{args.scale}")
    figdir = Path(args.figures)
    if args.figures_only:
        res = json.loads(Path(str(out) + ".json").read_text())
        write_outputs(res, out, figdir)
        return 0
    scale = parse_set(args.set, SCALES[args.scale])
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    parts = [x.strip() for x in args.parts.split(",") if x.strip()]
    bad = [m for m in methods if m not in METHODS] + [x for x in parts if x not in PARTS]
    if bad:
        p.error(f"unknown method(s) or part(s): {', '.join(bad)}")
    import torch
    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    torch.set_num_threads(scale.threads)
    work = Path(args.work or ROOT / "runs" / "paper_claims" / args.scale)
    if (work / "units").is_dir() and any((work / "units").rglob("*.json")) and not (args.resume or args.plan):
        p.error(f"{work} already holds results: pass --resume to continue them, or another --work")
    work.mkdir(parents=True, exist_ok=True)
    saved = work / "scale.json"
    if (args.resume or args.plan) and saved.is_file():
        clash = scale_clash(json.loads(saved.read_text()), scale, work)
        if clash:
            p.error(f"--resume with other sizes than the saved units: {clash}; use the same --scale/--set "
                    "as before for the parts already run, or another --work")
    payload = Path(args.export_payload or args.payload or work / "payload")
    if args.plan:
        return print_plan(args, work, scale, payload, device, parts, methods, p)
    saved.write_text(json.dumps(scale.to_dict(), indent=1))
    if args.export_payload or not (payload / "manifest.json").is_file():
        if args.payload and not args.export_payload:
            p.error(f"{payload} is not a complete payload folder (no manifest.json)")
        from claims import payload as pl
        t0 = time.time()
        from easytune_core.shipped import shipped_checkpoint
        ckpts = {name: getattr(args, name) or shipped_checkpoint(name) for name in ("base", "reward", "evaluator")}
        pl.export(payload, args.data, ckpts,
                  scale.train_prompts, work, scale.threads, args.reward_nospl)
        print(f"payload written to {payload} ({time.time() - t0:.0f} s)", flush=True)
        if args.export_payload:
            return 0
    run = Runner(work, scale, payload, device, args.resume, args.stop_after, args.minutes)
    run.ablations = args.ablations
    try:
        run_parts(run, parts, methods)
    except OutOfTime as stop:
        run.log(str(stop))
    manifest = json.loads((payload / "manifest.json").read_text())
    res = collect(run, methods, {"payload": {"folder": str(payload), **manifest}, "command": sys.argv[1:] if argv is None else argv})
    write_outputs(res, out, figdir, log=run.log)
    return 0


if __name__ == "__main__":
    sys.exit(main())
