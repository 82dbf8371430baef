"""``--plan``: the projected time of the units not run yet, from the costs the saved units measured.

Costs: seconds per trajectory of each method (its lr trials or main runs, on the experiment's clock),
seconds per generated evaluation sample (the base model's scoring), and per memory unit. Run the
first parts (``--parts base,memory,gradnorm,lr``), read the plan, and if the rest would not fit,
shrink the sizes of the parts not run yet with ``--set`` before ``--resume``."""

from __future__ import annotations

import math

from .scales import Scale

OVERHEAD = 3.0
"""Seconds per unit for building the trainer and loading the models."""


def costs(units: dict, scale: Scale) -> dict:
    """{"traj": {method: s}, "sample": s, "memory": s} from saved units (missing ones absent)."""
    traj: dict = {}
    for uid, u in units.items():
        r = u.get("result") or {}
        if uid.startswith(("lr/", "main/", "ablation/")) and r.get("trajectories"):
            traj.setdefault(r["method"], []).append(r["train_seconds"] / r["trajectories"])
    out = {"traj": {m: sum(v) / len(v) for m, v in traj.items()}}
    base = (units.get("base") or {}).get("result")
    if base:
        t = base["test"]
        out["sample"] = t["eval_seconds"] / max(1, t["pairs"] + t["rule_cases"])
    mem = [u["wall_seconds"] for uid, u in units.items() if uid.startswith("memory/") and "wall_seconds" in u]
    if mem:
        out["memory"] = sum(mem) / len(mem)
    return out


def project(planned: list[tuple], units: dict, scale: Scale) -> dict:
    """Projected seconds per part for the ``planned`` units (uid, kind, params) not saved yet."""
    c = costs(units, scale)
    e = c.get("sample")
    per_part: dict = {}
    unknown = set()
    for uid, kind, params in planned:
        if uid in units:
            continue
        part = uid.split("/")[0]
        sec = None
        if kind == "memory":
            sec = c.get("memory")
        elif kind == "run" and e is not None:
            spec = params["run"]
            t = c["traj"].get(spec["method"]) or (c["traj"].get("EasyTune (step)") if spec.get("overrides") else None)
            if t is not None:
                if (spec.get("overrides") or {}).get("select") == "all":
                    t *= 3.0  # fifty optimiser steps per trajectory instead of ten (a guess until measured)
                train = spec["trajectories"] * t
                if spec.get("seconds"):
                    train = max(train, spec["seconds"])
                evals = (scale.test_pairs + scale.test_rules) * (2 if spec.get("seconds") else 1) if spec.get("test") \
                    else (scale.val_pairs + scale.val_rules)
                if spec.get("val"):
                    evals += scale.val_points * (scale.val_pairs + scale.val_rules)
                probes = 0
                if spec.get("seconds"):
                    probes = 2 + math.ceil(train / (spec["seconds"] / scale.probes))
                sec = train + e * (evals + probes * scale.probe_prompts) + OVERHEAD
        elif kind == "base" and e is not None:
            sec = e * (scale.test_pairs + scale.test_rules + scale.val_pairs + scale.val_rules)
        if sec is None:
            unknown.add(part)
            continue
        per_part[part] = per_part.get(part, 0.0) + sec
    return {"seconds": per_part, "total": sum(per_part.values()), "unknown": sorted(unknown), "costs": c}


def describe(p: dict) -> str:
    lines = ["Projected time of the units not saved yet (from the saved units' measured costs):"]
    for part, sec in p["seconds"].items():
        lines.append(f"  {part:10s} {sec / 60:7.1f} min")
    lines.append(f"  {'total':10s} {p['total'] / 60:7.1f} min")
    if p["unknown"]:
        lines.append("  no cost measured yet for: " + ", ".join(p["unknown"]) + " (run the earlier parts first)")
    c = p["costs"]
    if c.get("traj"):
        lines.append("  seconds per trajectory: " + ", ".join(f"{m} {t:.2f}" for m, t in sorted(c["traj"].items())))
    if c.get("sample"):
        lines.append(f"  seconds per evaluated sample: {c['sample']:.3f}")
    return "\n".join(lines)
