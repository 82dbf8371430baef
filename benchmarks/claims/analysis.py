"""From unit results to the experiment's findings: seed means with 95% confidence intervals, the
learning-rate choice, reward curves on a common grid, the common reward threshold and the time to
reach it, and the headline ratios beside the paper's."""

from __future__ import annotations

import math

import numpy as np

from .scales import PAPER

METRICS = ("top1", "top2", "top3", "fid", "mm_dist", "diversity", "rules", "reward", "probe_reward")
ET, D50 = "EasyTune (step)", "DRaFT-50"


def t_crit(n: int) -> float:
    """Two-sided 95% Student t critical value for n samples (n - 1 degrees of freedom)."""
    if n < 2:
        return float("nan")
    from scipy import stats
    return float(stats.t.ppf(0.975, n - 1))


def mean_ci(values) -> dict:
    """{"mean", "ci" (95% half-width, Student t over seeds), "n", "values"}; None values are dropped."""
    v = [float(x) for x in values if x is not None and not (isinstance(x, float) and math.isnan(x))]
    if not v:
        return {"mean": None, "ci": None, "n": 0, "values": []}
    arr = np.asarray(v)
    ci = t_crit(len(arr)) * arr.std(ddof=1) / math.sqrt(len(arr)) if len(arr) > 1 else None
    return {"mean": float(arr.mean()), "ci": None if ci is None else float(ci), "n": len(arr), "values": v}


def choose_lr(trials: list[dict], base_val: dict, rule_tolerance: float = 0.03, fid_tolerance: float = 0.25) -> dict:
    """The learning rate of a method: the trial with the best val R@1 among those whose FID is at most
    ``fid_tolerance`` above the base model's and whose rule pass rate is at most ``rule_tolerance``
    below it (``easytune_core.finetune.select.choose``); the smallest lr when none qualifies."""
    from easytune_core.finetune.select import choose
    base = {"checkpoint": "base", "rules": base_val.get("rules", 0.0), "fid": base_val["fid"],
            "top1": base_val["top1"], "mm_dist": base_val["mm_dist"]}
    cands = [{"checkpoint": t["lr"], "rules": t["val"].get("rules", base["rules"]), "fid": t["val"]["fid"],
              "top1": t["val"]["top1"], "mm_dist": t["val"]["mm_dist"]} for t in trials if t.get("val")]
    if not cands:
        return {"lr": min(t["lr"] for t in trials), "why": "no trial finished: smallest lr"}
    picked = choose(base, cands, rule_tolerance, fid_tolerance)
    if picked is base:
        return {"lr": min(c["checkpoint"] for c in cands),
                "why": "no trial within the FID/rule tolerance of the base model improved its val R@1: smallest lr"}
    return {"lr": picked["checkpoint"], "why": "best val R@1 among trials within the FID/rule tolerance"}


def budget_table(runs: list[dict], budget: str) -> dict:
    """Metric -> mean_ci over the seeds' rows of ``budget``; plus trajectories and train seconds."""
    rows = [r["test"][budget] for r in runs if budget in r.get("test", {})]
    out = {m: mean_ci([row.get(m) for row in rows]) for m in METRICS}
    out["trajectories"] = mean_ci([row["trajectory"] for row in rows])
    out["seconds"] = mean_ci([row["seconds"] for row in rows])
    return out


def probe_curve(run: dict, base_probe: float) -> tuple[np.ndarray, np.ndarray]:
    """(seconds, probe reward) of a run, starting at the base model (0 s)."""
    t = [0.0] + [p["seconds"] for p in run.get("probes", [])]
    r = [base_probe] + [p["reward"] for p in run.get("probes", [])]
    for row in run.get("test", {}).values():  # budget points carry a probe too
        t.append(row["seconds"])
        r.append(row["probe_reward"])
    order = np.argsort(t, kind="stable")
    return np.asarray(t)[order], np.asarray(r)[order]


def curve_on_grid(runs: list[dict], base_probe: float, grid: np.ndarray) -> dict:
    """Seed mean, min and max of the probe reward, linearly interpolated on ``grid`` (seconds);
    points past a run's last probe are left out (None)."""
    vals = []
    for run in runs:
        t, r = probe_curve(run, base_probe)
        v = np.interp(grid, t, r)
        v[grid > t[-1] + 1e-9] = np.nan
        vals.append(v)
    arr = np.asarray(vals)
    import warnings
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)  # grid points past every run's end stay NaN
        mean, lo, hi = np.nanmean(arr, 0), np.nanmin(arr, 0), np.nanmax(arr, 0)
    conv = lambda a: [None if not np.isfinite(x) else round(float(x), 5) for x in a]  # noqa: E731
    return {"seconds": [round(float(g), 3) for g in grid], "mean": conv(mean), "min": conv(lo), "max": conv(hi)}


def smoothed_training_reward(run: dict, alpha: float = 0.2) -> dict:
    """Exponential moving average of the reward each method logs per trajectory (its own objective)."""
    ev = [e for e in run.get("trajectory_events", []) if e.get("reward") is not None]
    out, ema = [], None
    for e in ev:
        ema = e["reward"] if ema is None else (1 - alpha) * ema + alpha * e["reward"]
        out.append(round(ema, 5))
    return {"seconds": [e["seconds"] for e in ev], "reward": out}


def time_to(run: dict, base_probe: float, threshold: float):
    """First training second at which the (linearly interpolated) probe reward reaches ``threshold``."""
    t, r = probe_curve(run, base_probe)
    for i in range(1, len(t)):
        if r[i] >= threshold:
            if r[i - 1] >= threshold:
                return float(t[i - 1])
            return float(t[i - 1] + (threshold - r[i - 1]) / (r[i] - r[i - 1]) * (t[i] - t[i - 1]))
    return None


def common_threshold(methods: dict, base_probe: float, fraction: float = 0.8) -> dict:
    """A reward every run of every improving method reaches: base + ``fraction`` x the smallest best
    gain over all runs of those methods. Methods with a run that never rose above the base are
    listed in ``excluded`` (they have no time to threshold)."""
    gains, excluded = {}, []
    for name, rec in methods.items():
        best = [max([p for _, p in zip(*probe_curve(r, base_probe))]) - base_probe for r in rec["runs"]]
        if not best or min(best) <= 0:
            excluded.append(name)
        else:
            gains[name] = min(best)
    if not gains:
        return {"threshold": None, "excluded": excluded, "why": "no method raised the probe reward in every run"}
    g = min(gains.values())
    return {"threshold": base_probe + fraction * g, "gain": fraction * g, "fraction": fraction,
            "limited_by": min(gains, key=gains.get), "excluded": excluded}


def seed_pairs(a_runs: list[dict], b_runs: list[dict], budget: str, metric: str) -> list[tuple[float, float]]:
    """(a's value, b's value) of ``metric`` at ``budget`` for every seed both have scored (the same seed =
    the same prompts in the same order)."""
    by_seed = {r["seed"]: r["test"][budget] for r in b_runs if budget in r.get("test", {})}
    return [(r["test"][budget][metric], by_seed[r["seed"]][metric]) for r in a_runs
            if budget in r.get("test", {}) and r["seed"] in by_seed
            and r["test"][budget].get(metric) is not None and by_seed[r["seed"]].get(metric) is not None]


def paired_gain(a_runs: list[dict], b_runs: list[dict], budget: str, metric: str = "mm_dist") -> dict:
    """Relative improvement of a over b, (b - a) / b, per seed."""
    return mean_ci([(b - a) / b for a, b in seed_pairs(a_runs, b_runs, budget, metric)])


HIGHER_IS_BETTER = {"reward": True, "top1": True, "fid": False, "mm_dist": False, "rules": True}
VERSUS_METRICS = tuple(HIGHER_IS_BETTER)


def paired_difference(a_runs: list[dict], b_runs: list[dict], budget: str, metric: str) -> dict:
    """a - b per seed, as ``mean_ci`` plus ``better``: the number of seeds on which a is better than b (by
    the metric's direction)."""
    vals = [a - b for a, b in seed_pairs(a_runs, b_runs, budget, metric)]
    up = HIGHER_IS_BETTER[metric]
    return {**mean_ci(vals), "better": sum(1 for v in vals if (v > 0 if up else v < 0))}


def versus(methods: dict, ref: str = ET) -> dict:
    """``ref`` against every other method: baseline -> budget -> metric -> ``paired_difference``."""
    if ref not in methods:
        return {}
    a = methods[ref]["runs"]
    return {name: {budget: {m: paired_difference(a, rec["runs"], budget, m) for m in VERSUS_METRICS}
                   for budget in ("equal_trajectories", "equal_time")}
            for name, rec in methods.items() if name != ref}


def headline(methods: dict, memory: dict, ttt: dict, sampler_steps: int) -> dict:
    """EasyTune (step) vs DRaFT-50: memory ratio, time-to-threshold ratio, MM-Dist gain; beside the paper."""
    out = {"paper": PAPER}
    mem = {m: (memory.get(m) or {}).get(str(sampler_steps), {}).get("additional_mb") for m in (ET, D50)}
    if mem[ET] is not None and mem[D50]:
        out["memory_ratio"] = mem[ET] / mem[D50]
    te, td = (ttt.get(ET) or {}).get("mean"), (ttt.get(D50) or {}).get("mean")
    if te and td:
        out["time_to_threshold_ratio"] = td / te
    if ET in methods and D50 in methods:
        for budget in ("equal_trajectories", "equal_time"):
            out[f"mm_dist_gain_{budget}"] = paired_gain(methods[ET]["runs"], methods[D50]["runs"], budget)
    return out
