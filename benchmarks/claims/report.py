"""The results JSON's derived sections and its markdown rendering.

Sections of the JSON: ``stamp`` (commit, device, torch, date), ``scale``, ``sources`` (which unit
ran on which scale and device), ``base``, ``lr_selection``, ``methods`` (per method: its runs and
``equal_trajectories`` / ``equal_time`` test metrics as mean and 95% CI over seeds, seconds per step,
``reward_curve``, ``time_to_threshold``), ``threshold``, ``memory`` (method -> trajectory length ->
additional MB), ``gradnorm``, ``ablations``, ``ratios`` (beside the paper's), ``versus`` (EasyTune (step)
minus each other method, paired by seed), ``alignment``.
"""

from __future__ import annotations

import numpy as np

from . import analysis as A

def stamp(device: str) -> dict:
    """Commit, device, torch version and date of a result (``benchmarks/common.py``'s stamp)."""
    from common import stamp as common_stamp

    return common_stamp(device)


def summarise(res: dict) -> None:
    """Add the derived sections (in place)."""
    base = res.get("base") or {}
    base_probe = base.get("probe_reward")
    methods = res.get("methods", {})
    ends = [max([p["seconds"] for p in r.get("probes", [])] + [0.0]) for m in methods.values() for r in m["runs"]]
    grid = np.linspace(0.0, max(ends + [1e-3]), 41)
    for name, rec in methods.items():
        runs = rec["runs"]
        for budget in ("equal_trajectories", "equal_time"):
            rec[budget] = A.budget_table(runs, budget)
        rec["seconds_per_step"] = A.mean_ci([r["seconds_per_step"] for r in runs])
        rec["seconds_per_trajectory"] = A.mean_ci([r["seconds_per_trajectory"] for r in runs])
        rec["cuda_peak_mb"] = A.mean_ci([r.get("cuda_peak_mb") for r in runs])
        if base_probe is not None:
            rec["reward_curve"] = A.curve_on_grid(runs, base_probe, grid)
        rec["training_reward"] = {str(r["seed"]): A.smoothed_training_reward(r) for r in runs}
        rec["val_curve"] = {str(r["seed"]): [{k: v.get(k) for k in ("seconds", "trajectory", "top1", "fid", "mm_dist",
                                                                      "rules", "reward")} for v in r.get("val", [])]
                            for r in runs if r.get("val")}
    thr = A.common_threshold(methods, base_probe) if (methods and base_probe is not None) else {"threshold": None}
    res["threshold"] = thr
    ttt = {}
    for name, rec in methods.items():
        if thr.get("threshold") is None:
            continue
        times = [A.time_to(r, base_probe, thr["threshold"]) for r in rec["runs"]]
        if name in thr.get("excluded", []) or any(t is None for t in times):
            # a run that never reached the threshold: a mean over the others would flatter the method
            ttt[name] = {"mean": None, "ci": None, "n": 0, "values": [], "per_seed": times,
                         "censored": "not every run reached the threshold"}
        else:
            ttt[name] = {**A.mean_ci(times), "per_seed": times}
        rec["time_to_threshold"] = ttt[name]
    res["ratios"] = A.headline(methods, res.get("memory", {}), ttt, res["scale"]["sampler_steps"])
    res["versus"] = A.versus(methods)
    res["alignment"] = {name: {b: {k: (rec[b].get(k) or {}).get("mean") for k in ("reward", "probe_reward", "top1",
                                                                                  "mm_dist", "fid", "rules")}
                               for b in ("equal_trajectories", "equal_time")} for name, rec in methods.items()}
    for label, rec in res.get("ablations", {}).items():
        rec["equal_trajectories"] = A.budget_table(rec["runs"], "equal_trajectories")
        rec["seconds_per_step"] = A.mean_ci([r["seconds_per_step"] for r in rec["runs"]])
    mem = res.get("memory", {})
    d50 = mem.get(A.D50, {})
    for name, by_t in mem.items():
        for t, row in by_t.items():
            ref = (d50.get(t) or {}).get("additional_mb")
            row["vs_draft50"] = row["additional_mb"] / ref if ref else None
    g = res.get("gradnorm")
    if g:
        dp, ep = np.asarray(g["draft_param"]), np.asarray(g["easytune_param"])
        g["summary"] = {"draft_first_over_last": float(dp[0] / dp[-1]) if dp[-1] else None,
                        "draft_last10_share": float(dp[-10:].sum() / dp.sum()) if dp.sum() else None,
                        "easytune_first_over_last": float(ep[0] / ep[-1]) if ep[-1] else None,
                        "easytune_over_draft_median": float(np.median(ep / np.maximum(dp, 1e-30)))}


def _ci(m: dict | None, digits: int = 3, pct: bool = False) -> str:
    if not m or m.get("mean") is None:
        return "–"
    f = (lambda x: f"{100 * x:.{max(0, digits - 2)}f}%") if pct else (lambda x: f"{x:.{digits}f}")
    return f(m["mean"]) + (f" ± {f(m['ci'])}" if m.get("ci") is not None else "")


def _row_metrics(t: dict) -> str:
    return (f"{_ci(t.get('top1'))} | {_ci(t.get('top2'))} | {_ci(t.get('top3'))} | {_ci(t.get('fid'), 2)} | "
            f"{_ci(t.get('mm_dist'), 2)} | {_ci(t.get('diversity'), 2)} | {_ci(t.get('rules'), 3, True)} | "
            f"{_ci(t.get('reward'))}")


CLOCKS = {"wall": "Training times are wall-clock seconds of training (evaluations excluded).",
          "cpu": "Training times are the training process's CPU seconds divided by its threads (wall time on an "
                 "otherwise idle machine; evaluations excluded)."}
HEAD = ("| R@1 ↑ | R@2 ↑ | R@3 ↑ | FID ↓ | MM-Dist ↓ | Diversity | rules ↑ | reward ↑ |", "|---|---|---|---|---|---|---|---|")


def markdown(res: dict) -> str:
    s, st, base = res["scale"], res["stamp"], res.get("base") or {}
    L = [f"# Paper claims at equal compute (`--scale {s['name']}`)", "",
         f"Measured on {st['device']}, torch {st['torch']}. Batch {s['batch_size']} prompts per trajectory for "
         f"every method, train lengths capped at {s['max_frames']} frames, {s['sampler_steps']}-step DDIM (guidance 2.5), AdamW with {s['warmup_trajectories']} warm-up "
         f"trajectories then constant lr, full fine-tuning. Budgets: {s['trajectories']} trajectories; "
         f"{s['seconds']:.0f} s of training. Seeds {', '.join(map(str, s['seeds']))}. Test: {s['test_pairs']} pairs "
         f"(the same pairs and noise for every model) and {s['test_rules']} rule-check captions; mean ± 95% CI "
         "over seeds (Student t). " + CLOCKS[s.get("clock", "wall")], ""]
    if res.get("errors"):
        L += ["**Units that failed:** " + "; ".join(f"`{u}`: {e}" for u, e in res["errors"].items()), ""]
    bt = base.get("test")
    for budget, title in (("equal_trajectories", "Equal number of generated trajectories"),
                          ("equal_time", "Equal training wall time")):
        L += [f"## {title}", "", "| method | lr | trajectories | train s " + HEAD[0], "|---|---|---|---" + HEAD[1]]
        if bt:
            L.append(f"| base model | – | 0 | 0 | " + _row_metrics({k: {"mean": v, "ci": None} for k, v in bt.items()
                                                                 if isinstance(v, (int, float))}) + " |")
        for name, rec in res.get("methods", {}).items():
            t = rec.get(budget) or {}
            L.append(f"| {name} | {rec['lr']:g} | {_ci(t.get('trajectories'), 0)} | {_ci(t.get('seconds'), 0)} | "
                     + _row_metrics(t) + " |")
        L.append("")
    thr = res.get("threshold") or {}
    L += ["## Efficiency", "",
          f"Reward threshold for the time-to-threshold column: {thr['threshold']:.4f} (base probe reward "
          f"{base.get('probe_reward', float('nan')):.4f} + {thr['fraction']:.0%} of the smallest best gain, set by "
          f"{thr['limited_by']})" if thr.get("threshold") is not None else
          f"No common reward threshold: {thr.get('why', 'no runs')}.", ""]
    if thr.get("excluded"):
        L += [f"Methods that did not raise the probe reward in every run (no time to threshold): "
              f"{', '.join(thr['excluded'])}.", ""]
    steps = [str(t) for t in s["memory_steps"]]
    L += ["| method | s / opt. step | s / trajectory | time to threshold (s) | "
          + " | ".join(f"add. MB, T={t}" for t in steps) + f" | vs DRaFT-50 (T={s['sampler_steps']}) |",
          "|---|---|---|---|" + "---|" * len(steps) + "---|"]
    names = list(dict.fromkeys(list(res.get("methods", {})) + list(res.get("memory", {}))))
    for name in names:
        rec = res.get("methods", {}).get(name, {})
        mem = res.get("memory", {}).get(name, {})
        ratio = (mem.get(str(s["sampler_steps"])) or {}).get("vs_draft50")
        L.append(f"| {name} | {_ci(rec.get('seconds_per_step'))} | {_ci(rec.get('seconds_per_trajectory'), 2)} | "
                 f"{_ci(rec.get('time_to_threshold'), 1)} | "
                 + " | ".join(f"{mem[t]['additional_mb']:.0f}" if t in mem else "–" for t in steps)
                 + f" | {'–' if ratio is None else f'{100 * ratio:.1f}%'} |")
    L.append("")
    r = res.get("ratios", {})
    L += ["## Headline ratios, EasyTune (step) vs DRaFT-50", "", "| quantity | paper (MLD, RTX A6000) | measured here |",
          "|---|---|---|",
          f"| additional memory, EasyTune / DRaFT-50 | 31% | {_pct(r.get('memory_ratio'))} |",
          f"| time to the reward threshold, DRaFT-50 / EasyTune | 7.3× | "
          f"{_times(r.get('time_to_threshold_ratio'))} |"]
    for budget in ("equal_trajectories", "equal_time"):
        L.append(f"| MM-Dist improvement over DRaFT-50 ({budget.replace('_', ' ')}) | 8.2% | "
                 f"{_ci(r.get(f'mm_dist_gain_{budget}'), 3, True)} |")
    L.append("")
    if res.get("versus"):
        L += ["## EasyTune (step) against each method, paired by seed", "",
              "EasyTune (step) minus the method on the same seed (the same prompts in the same order), mean ± 95% "
              "CI over seeds; in brackets the number of seeds on which EasyTune (step) is better (higher reward, "
              "R@1 and rules; lower FID and MM-Dist).", "",
              "| method | budget | Δ reward | Δ R@1 | Δ FID | Δ MM-Dist | Δ rules |", "|---|---|---|---|---|---|---|"]
        for name, by_budget in res["versus"].items():
            for budget, row in by_budget.items():
                cells = [_delta(row[m], 2 if m in ("fid", "mm_dist") else 3, m == "rules") for m in A.VERSUS_METRICS]
                L.append(f"| {name} | {budget.replace('_', ' ')} | " + " | ".join(cells) + " |")
        L.append("")
    g = res.get("gradnorm")
    if g and g.get("summary"):
        gs = g["summary"]
        L += ["## Gradient reaching each denoising step", "",
              f"{g['batches']} batch(es) of {g['batch']} train prompts × {g['frames']} frames, base model, "
              f"{g['steps']} DDIM steps. Full backpropagation (DRaFT-50): the norm of the part of dL/dθ arriving "
              f"through step i's denoiser call; first (pure-noise) step / last step = "
              f"{_num(gs['draft_first_over_last'])}, share of the last 10 steps = {_pct(gs['draft_last10_share'])}. "
              f"EasyTune's step-wise loss: first / last = {_num(gs['easytune_first_over_last'])}; median ratio "
              f"EasyTune / full backprop per step = {_num(gs['easytune_over_draft_median'])}.", ""]
    if res.get("ablations"):
        L += ["## Ablations (equal trajectories, EasyTune (step)'s lr)", "", "| variant | s / opt. step " + HEAD[0],
              "|---|---" + HEAD[1]]
        ref = res.get("methods", {}).get(A.ET)
        if ref:
            L.append(f"| EasyTune (step), last:10, x̂0 reward, shipped reward (main table) | "
                     f"{_ci(ref['seconds_per_step'])} | " + _row_metrics(ref["equal_trajectories"]) + " |")
        for label, rec in res["ablations"].items():
            L.append(f"| {label} | {_ci(rec['seconds_per_step'])} | " + _row_metrics(rec["equal_trajectories"]) + " |")
        L.append("")
        note = (res.get("payload") or {}).get("spl_note")
        if note:
            L += [f"Rewards of the SPL ablation: {note}. Every model's reward column is scored with the main reward.", ""]
    if res.get("lr_selection"):
        L += ["## Learning rates (chosen on val)", "",
              "| method | " + " | ".join(f"lr {lr:g}: R@1 / FID / rules" for lr in s["lr_grid"]) + " | chosen |",
              "|---|" + "---|" * len(s["lr_grid"]) + "---|"]
        for name, sel in res["lr_selection"].items():
            cells = {t["lr"]: t.get("val") for t in sel["trials"]}
            row = [f"{v['top1']:.3f} / {v['fid']:.2f} / " + (f"{100 * v['rules']:.0f}%" if v.get("rules") is not None
                                                            else "–") if v else "–"
                   for v in (cells.get(lr) for lr in s["lr_grid"])]
            L.append(f"| {name} | " + " | ".join(row) + f" | {sel['lr']:g} ({sel['why']}) |")
        L.append("")
    src = res.get("sources", {})
    devices = sorted({f"--scale {v.get('scale')} on {v.get('device_name')}, torch {v.get('torch')}, "
                      f"{v.get('precision')}" for v in src.values()})
    L += ["Units ran on: " + "; ".join(devices) + ".", ""]
    digests = sorted({v.get("payload_digest") for v in src.values() if v.get("payload_digest")})
    unstamped = sum(1 for v in src.values() if not v.get("payload_digest"))
    if len(digests) > 1:
        L += [f"**The units come from {len(digests)} payload exports** ({', '.join(digests)}): the same prompts, "
              "checkpoints and sizes, exported again (e.g. on another machine); the real-motion embeddings may "
              "differ in the last bits.", ""]
    elif digests:
        L += [f"Payload digest {digests[0]}" + (f" ({unstamped} earlier units did not record one)." if unstamped
                                                else "."), ""]
    if res.get("figures"):
        L += ["Figures: " + ", ".join(f"`{p}`" for p in res["figures"]) + "."]
    return "\n".join(L)


def _delta(m: dict, digits: int, pct: bool) -> str:
    """A paired difference: "+0.053 ± 0.020 (3/3)"; rule pass rates in percentage points."""
    if not m or m.get("mean") is None:
        return "–"
    k = 100.0 if pct else 1.0
    d = 1 if pct else digits
    ci = "" if m.get("ci") is None else f" ± {k * m['ci']:.{d}f}"
    return f"{k * m['mean']:+.{d}f}{ci}{' pt' if pct else ''} ({m['better']}/{m['n']})"


def _pct(x) -> str:
    return "–" if x is None else f"{100 * x:.1f}%"


def _times(x) -> str:
    return "–" if x is None else f"{x:.1f}×"


def _num(x) -> str:
    return "–" if x is None else f"{x:.3g}"
