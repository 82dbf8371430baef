"""PNG figures of the paper-claims results, drawn from the results JSON alone (``--figures-only``).

matplotlib is a benchmark dependency (requirements-dev.txt), never the library's."""

from __future__ import annotations

from pathlib import Path

import numpy as np

PREFIX = "paper_claims_"


def _plt():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def _colors(names):
    plt = _plt()
    cmap = plt.get_cmap("tab10")
    return {n: cmap(i % 10) for i, n in enumerate(names)}


def _time_label(res: dict) -> str:
    """The time axis: wall-clock seconds of training, or CPU seconds / threads with the cpu clock."""
    if (res.get("scale") or {}).get("clock") == "cpu":
        return "training time (s; CPU seconds / threads)"
    return "training wall time (s)"


def _arr(xs):
    return np.asarray([np.nan if x is None else x for x in xs], dtype=float)


def reward_vs_time(res: dict, ax_probe, ax_train, colors) -> None:
    base = (res.get("base") or {}).get("probe_reward")
    for name, rec in res.get("methods", {}).items():
        c = rec.get("reward_curve")
        if c:
            t, m = _arr(c["seconds"]), _arr(c["mean"])
            ax_probe.plot(t, m, color=colors[name], label=name, lw=1.6)
            ax_probe.fill_between(t, _arr(c["min"]), _arr(c["max"]), color=colors[name], alpha=0.15, lw=0)
        for i, (seed, tr) in enumerate(sorted(rec.get("training_reward", {}).items())):
            ax_train.plot(tr["seconds"], tr["reward"], color=colors[name], lw=1.0, alpha=0.8,
                          label=name if i == 0 else None)
    thr = (res.get("threshold") or {}).get("threshold")
    if thr is not None:
        ax_probe.axhline(thr, color="k", ls="--", lw=0.8, label=f"threshold {thr:.3f}")
    if base is not None:
        ax_probe.axhline(base, color="grey", ls=":", lw=0.8, label="base model")
    ax_probe.set(xlabel=_time_label(res), ylabel="reward of full samples (fixed prompts)",
                 title="Reward vs wall clock (seed mean, min-max shaded)")
    ax_train.set(xlabel=_time_label(res), ylabel="logged training reward (EMA)",
                 title="Each method's own training reward (not comparable across methods)")
    ax_probe.legend(fontsize=7)


def memory_vs_steps(res: dict, ax, colors) -> None:
    for name, by_t in res.get("memory", {}).items():
        ts = sorted(int(t) for t in by_t)
        if ts:
            ax.plot(ts, [by_t[str(t)]["additional_mb"] for t in ts], "o-", color=colors.get(name), label=name)
    s = res["scale"]
    ax.set(xlabel="denoising steps in the trajectory (T)", ylabel="additional memory (MB)",
           title=f"Memory vs trajectory length (batch {s['memory_batch']} x {s['memory_frames']} frames)")
    ax.legend(fontsize=7)


def gradnorm(res: dict, ax) -> None:
    g = res.get("gradnorm")
    if not g:
        return
    i = np.arange(g["steps"])
    ax.semilogy(i, np.maximum(g["draft_param"], 1e-12), "o-", ms=3, label="full backprop (DRaFT-50): via step i")
    ax.semilogy(i, np.maximum(g["easytune_param"], 1e-12), "s-", ms=3, label="EasyTune: step-wise loss at step i")
    ax.set(xlabel="denoising step i (0 = pure noise)", ylabel="‖∂L/∂θ‖ contributed at step i",
           title="Gradient reaching each denoising step (same batch, same weights)")
    ax.legend(fontsize=8)


def quality_vs_progress(res: dict, ax_r1, ax_fid, colors) -> None:
    bv = ((res.get("base") or {}).get("val") or {})
    for name, rec in res.get("methods", {}).items():
        curves = list((rec.get("val_curve") or {}).values())
        if not curves:
            continue
        for j, pts in enumerate(curves):
            t = [0.0] + [p["seconds"] for p in pts]
            ax_r1.plot(t, [bv.get("top1")] + [p["top1"] for p in pts], "o-", ms=3, color=colors[name],
                       label=name if j == 0 else None)
            ax_fid.plot(t, [bv.get("fid")] + [p["fid"] for p in pts], "o-", ms=3, color=colors[name])
    ax_r1.set(xlabel=_time_label(res), ylabel="val R-Precision top-1", title="Val R@1 along training")
    ax_fid.set(xlabel=_time_label(res), ylabel="val FID", title="Val FID along training")
    ax_r1.legend(fontsize=7)


def reward_vs_alignment(res: dict, axes, colors) -> None:
    bt = ((res.get("base") or {}).get("test") or {})
    for ax, metric, label in zip(axes, ("top1", "mm_dist"), ("test R-Precision top-1 ↑", "test MM-Dist ↓")):
        if bt:
            ax.scatter([bt["reward"]], [bt[metric]], marker="*", s=120, color="k", label="base model")
        for name, rec in res.get("methods", {}).items():
            for budget, mk in (("equal_trajectories", "o"), ("equal_time", "s")):
                t = rec.get(budget) or {}
                if (t.get("reward") or {}).get("mean") is None or (t.get(metric) or {}).get("mean") is None:
                    continue
                ax.errorbar(t["reward"]["mean"], t[metric]["mean"], xerr=t["reward"].get("ci") or 0,
                            yerr=t[metric].get("ci") or 0, fmt=mk, color=colors[name], ms=6,
                            label=name if budget == "equal_trajectories" else None)
        ax.set(xlabel="reward of the test samples (the optimised objective)", ylabel=f"{label} (evaluator)",
               title="Reward vs evaluator (o equal trajectories, s equal time)")
    axes[0].legend(fontsize=7)


def make_all(res: dict, folder) -> list[Path]:
    """Draw every figure the results support; returns the written paths."""
    plt = _plt()
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    names = list(dict.fromkeys(list(res.get("methods", {})) + list(res.get("memory", {}))))
    colors = _colors(names)
    tag = f"--scale {res['scale']['name']}, {res['stamp']['device']}"
    written = []

    def save(fig, name):
        fig.suptitle(tag, fontsize=9)
        fig.tight_layout()
        path = folder / f"{PREFIX}{name}.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        written.append(path)

    if res.get("methods"):
        fig, axes = plt.subplots(1, 2, figsize=(13, 4.8))
        reward_vs_time(res, axes[0], axes[1], colors)
        save(fig, "reward_vs_time")
        fig, axes = plt.subplots(1, 2, figsize=(12, 4.5))
        quality_vs_progress(res, axes[0], axes[1], colors)
        save(fig, "quality_vs_progress")
        fig, axes = plt.subplots(1, 2, figsize=(13, 5))
        reward_vs_alignment(res, axes, colors)
        save(fig, "reward_vs_alignment")
    if any(res.get("memory", {}).values()):
        fig, ax = plt.subplots(figsize=(7, 4.8))
        memory_vs_steps(res, ax, colors)
        save(fig, "memory_vs_steps")
    if res.get("gradnorm"):
        fig, ax = plt.subplots(figsize=(7, 4.5))
        gradnorm(res, ax)
        save(fig, "gradnorm_per_step")
    return written
