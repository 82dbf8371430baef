"""``--plan``: the projected time of the units not run yet, from the costs the saved units measured.

Costs: seconds per trajectory of each method (its lr trials or main runs, on the experiment's clock),
seconds per generated evaluation sample (the base model's scoring), and per memory unit. Run the
first parts (``--parts base,memory,gradnorm,lr``), read the plan, and if the rest would not fit,
shrink the sizes of the parts not run yet with ``--set`` before ``--resume``. Before any unit of a
scale has run, ``--costs-from WORK`` projects it from another run's units (for instance a small
smoke run), rescaled to the scale's sizes (:func:`rescale`)."""

from __future__ import annotations

import math

from .scales import METHODS, Scale, method_for_steps

OVERHEAD = 3.0
"""Seconds per unit for building the trainer and loading the models."""


def costs(units: dict, scale: Scale) -> dict:
    """{"traj": {method: s}, "sample": s, "memory_per_step": s} from saved units measured at ``scale``
    (missing ones absent), on the scale's clock: with ``clock="cpu"`` CPU seconds / threads, which
    other jobs on the machine do not inflate."""
    cpu = scale.clock == "cpu"
    traj: dict = {}
    for uid, u in units.items():
        r = u.get("result") or {}
        if uid.startswith(("lr/", "main/", "ablation/")) and r.get("trajectories"):
            traj.setdefault(r["method"], []).append(r["train_seconds"] / r["trajectories"])
    out = {"traj": {m: sum(v) / len(v) for m, v in traj.items()}}
    base = (units.get("base") or {}).get("result")
    if base:
        t = base["test"]
        sec = t.get("eval_cpu_seconds", t["eval_seconds"]) if cpu else t["eval_seconds"]
        out["sample"] = sec / max(1, t["pairs"] + t["rule_cases"])
    mem = []
    for uid, u in units.items():
        steps = (u.get("result") or {}).get("steps")
        if uid.startswith("memory/") and steps:
            sec = u["cpu_seconds"] / max(1, scale.threads) if cpu and "cpu_seconds" in u else u.get("wall_seconds")
            if sec is not None:
                mem.append(max(0.0, sec - OVERHEAD) / steps)
    if mem:
        out["memory_per_step"] = sum(mem) / len(mem)
    return out


def graph_calls(kw: dict, steps: int) -> int:
    """Denoiser calls a method differentiates through per trajectory of ``steps`` DDIM steps (its
    selected steps for EasyTune, the back-propagated tail for DRaFT/DRTune, every step for AlignProp
    with k = 0, one for ReFL, the re-noised samples for DRaFT-LV)."""
    kw = method_for_steps(kw, steps)
    method = kw.get("method")
    if method.startswith("easytune"):
        sel = str(kw.get("select", "last:10"))
        return steps if sel == "all" else int(sel.split(":")[1])
    if method in ("draft", "drtune"):
        return int(kw.get("k") or steps)
    if method == "alignprop":
        return int(kw.get("k") or steps)
    if method == "draft-lv":
        return int(kw.get("lv_samples", 2))
    return 1


def trajectory_work(kw: dict, scale: Scale) -> float:
    """Relative cost of one trajectory: batch x frames x (sampling calls + 3 per differentiated call,
    a forward and a backward of about twice its cost)."""
    return scale.batch_size * scale.max_frames * (scale.sampler_steps + 3 * graph_calls(kw, scale.sampler_steps))


def rescale(c: dict, measured: Scale, target: Scale) -> dict:
    """Costs measured at ``measured`` sizes carried to ``target``'s: a trajectory's cost taken as
    proportional to :func:`trajectory_work`, an evaluated sample's to DDIM steps, a memory unit's
    (per trajectory step) to its batch x frames. A first-order estimate (attention is quadratic in
    frames, small batches use the cores less well); run the target's first parts and plan from them
    for a measured projection."""
    f_traj = {m: trajectory_work(METHODS[m], target) / trajectory_work(METHODS[m], measured)
              for m in c["traj"] if m in METHODS}
    f_mem = (target.memory_batch * target.memory_frames) / (measured.memory_batch * measured.memory_frames)
    out = {"traj": {m: t * f_traj.get(m, 1.0) for m, t in c["traj"].items()}, "rescaled_from": measured.name,
           "factors": {"trajectory": f_traj, "sample": target.sampler_steps / measured.sampler_steps,
                       "memory": f_mem}}
    if "sample" in c:
        out["sample"] = c["sample"] * target.sampler_steps / measured.sampler_steps
    if "memory_per_step" in c:
        out["memory_per_step"] = c["memory_per_step"] * f_mem
    return out


def project(planned: list[tuple], units: dict, scale: Scale, measured: Scale | None = None,
            given: dict | None = None) -> dict:
    """Projected seconds per part for the ``planned`` units (uid, kind, params) not saved yet.

    ``measured``: the sizes ``units`` were measured at when they are not ``scale``'s (costs are then
    rescaled, see :func:`rescale`, and every planned unit counts as not run). ``given``: costs in
    :func:`costs`' form to use instead of the units' (e.g. from another benchmark's measurements)."""
    c = dict(given) if given is not None else costs(units, measured or scale)
    if measured is not None and given is None:
        c = rescale(c, measured, scale)
        units = {}
    e = c.get("sample")
    per_part: dict = {}
    unknown, partial = set(), set()
    for uid, kind, params in planned:
        if uid in units:
            continue
        part = uid.split("/")[0]
        sec = None
        if kind == "memory":
            if "memory_per_step" in c:
                sec = OVERHEAD + c["memory_per_step"] * params["steps"]
        elif kind == "run" and e is not None:
            spec = params["run"]
            t = c["traj"].get(spec["method"]) or (c["traj"].get("EasyTune (step)") if spec.get("overrides") else None)
            if t is None:  # training cost not measured: count the evaluations and the time budget only
                partial.add(part)
                train = spec.get("seconds") or 0.0
            else:
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
        elif kind == "gradnorm" and c["traj"].get("DRaFT-50") is not None:
            # full backprop of grad_batches trajectories at grad_batch x grad_frames, plus one EasyTune pass
            f = (scale.grad_batch * scale.grad_frames) / (scale.batch_size * scale.max_frames)
            sec = 2 * scale.grad_batches * c["traj"]["DRaFT-50"] * f + OVERHEAD
        if sec is None:
            unknown.add(part)
            continue
        per_part[part] = per_part.get(part, 0.0) + sec
    return {"seconds": per_part, "total": sum(per_part.values()), "unknown": sorted(unknown),
            "partial": sorted(partial - unknown), "costs": c}


def describe(p: dict) -> str:
    lines = ["Projected time of the units not saved yet (from the saved units' measured costs):"]
    for part, sec in p["seconds"].items():
        lines.append(f"  {part:10s} {sec / 60:7.1f} min")
    lines.append(f"  {'total':10s} {p['total'] / 60:7.1f} min")
    if p.get("partial"):
        lines.append("  lower bounds (evaluations and time budgets only; some methods' training cost not measured): "
                     + ", ".join(p["partial"]))
    if p["unknown"]:
        lines.append("  no cost measured yet for: " + ", ".join(p["unknown"]) + " (run the earlier parts first)")
    c = p["costs"]
    if c.get("rescaled_from"):
        f = c["factors"]
        ft = ", ".join(f"{m} x{v:.1f}" for m, v in sorted(f["trajectory"].items()))
        lines.append(f"  (costs measured at other sizes and rescaled, a first-order estimate: trajectory {ft}; "
                     f"evaluated sample x{f['sample']:.2f}; memory x{f['memory']:.2f})")
    if c.get("traj"):
        lines.append("  seconds per trajectory: " + ", ".join(f"{m} {t:.2f}" for m, t in sorted(c["traj"].items())))
    if c.get("sample"):
        lines.append(f"  seconds per evaluated sample: {c['sample']:.3f}")
    return "\n".join(lines)
