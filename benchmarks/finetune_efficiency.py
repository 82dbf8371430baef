"""Efficiency of EasyTune vs the baselines, all in one run (after the paper's Table 5).

Every method fine-tunes the same base model against the same reward, on the same train-split
prompts, seeds and 50-step DDIM trajectories, for the same wall-time budget. For each method:

- peak additional memory over the base model's inference: CUDA ``max_memory_allocated``; CPU: each
  method runs in its own process and we take its peak RSS minus the RSS after loading the models
  and running one no-grad inference trajectory of the training batch;
- seconds per optimiser step (training wall time / optimiser steps);
- wall time until the mean reward of 5 consecutive optimiser steps first reaches a fixed threshold
  (the base model's mean sample reward + ``--threshold-gain``);
- final reward: mean reward of full 50-step samples on fixed train prompts and noise;
- the independent evaluator's R-Precision / FID / MM-Dist on held-out (test) prompts, before and after.

    python benchmarks/finetune_efficiency.py --quick          # < 10 min on a 2-core CPU
    python benchmarks/finetune_efficiency.py --compare assets/checkpoints/base assets/checkpoints/easytune
    python benchmarks/finetune_efficiency.py --quick --base assets/checkpoints/latent \
        --out benchmarks/results/finetune_efficiency_latent      # the latent model (rewards on decoded motion)
    python benchmarks/finetune_efficiency.py --quick --base assets/checkpoints/fewstep \
        --out benchmarks/results/finetune_efficiency_fewstep     # the few-step model: 4-step trajectories

A few-step (consistency) base runs 4-step trajectories with the methods' K and M scaled to them
(``FEW_STEP_METHODS``: DRaFT-4 is full back-propagation there).

writes benchmarks/results/finetune_efficiency.{json,md} (``--compare``: finetune_compare.{json,md}).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))  # benchmarks/, for the shared `common` module
from common import RESULTS, ROOT, write_results  # noqa: E402  (also puts the repository root on sys.path)
os.environ.setdefault("HF_HUB_OFFLINE", "1")

METHODS = {
    "EasyTune (step)": dict(method="easytune", select="last:10"),
    "EasyTune (chain)": dict(method="easytune-chain", select="last:10"),
    "DRaFT-50": dict(method="draft", k=50),
    "DRaFT-10": dict(method="draft", k=10),
    "DRaFT-LV": dict(method="draft-lv", lv_samples=2),
    "ReFL-10": dict(method="refl", m=10),
    "AlignProp": dict(method="alignprop", k=0),
    "DRTune": dict(method="drtune", k=10, m=5),
}
FEW_STEP_METHODS = {
    "EasyTune (step)": dict(method="easytune", select="all"),
    "EasyTune (chain)": dict(method="easytune-chain", select="all"),
    "DRaFT-4": dict(method="draft", k=4),
    "DRaFT-1": dict(method="draft", k=1),
    "DRaFT-LV": dict(method="draft-lv", lv_samples=2),
    "ReFL-4": dict(method="refl", m=4),
    "AlignProp": dict(method="alignprop", k=0),
    "DRTune": dict(method="drtune", k=2, m=2),
}
PAPER = {"memory_ratio_vs_draft50": 0.3116, "time_to_threshold_speedup_vs_draft50": 7.31,
         "mm_dist_gain_vs_draft50": 0.082}


# ------------------------------------------------------------------------------------------- helpers
def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def autocast(device: str):
    import torch
    if device.startswith("cuda"):
        return torch.autocast("cuda", dtype=torch.float16)
    return torch.autocast("cpu", dtype=torch.bfloat16)


def fixed_prompts(data: str, n: int, max_frames: int, seed: int = 123):
    """n train-split captions and capped lengths, the same for every method."""
    from easytune_core.finetune.prompts import SplitPrompts
    import torch
    src = SplitPrompts(data, "train", max_frames=max_frames)
    return src(n, torch.Generator().manual_seed(seed))


def initial_noise(pipe, n: int, mask):
    """The pipeline's initial state for n motions on ``mask`` (frame space: zero past each length)."""
    noise = pipe.make_noise(n, mask.shape[1], 0)
    return noise if pipe.latent else noise * mask[..., None]


def sample_reward(pipe, reward, captions, frames, steps=50, guidance=2.5, seed=0, batch=16) -> float:
    """Mean reward of full samples (no grad; latent models decoded) on fixed prompts and initial noise."""
    import torch
    scores = []
    for s in range(0, len(captions), batch):
        caps, lens = captions[s:s + batch], frames[s:s + batch]
        T = max(lens)
        mask = torch.arange(T)[None] < torch.tensor(lens)[:, None]
        noise = pipe.make_noise(len(caps), T, seed + s)
        noise = noise if pipe.latent else noise * mask[..., None]
        text = pipe.encode(caps)
        gen = torch.Generator().manual_seed(seed + s + 1)
        with torch.no_grad(), autocast(pipe.device):
            x0 = pipe.sample_features(text, mask, guidance, steps, noise, generator=gen)
            r = reward(x0.float(), mask.to(pipe.device), pipe.encode_pooled(caps), None)
        scores.append(r.float().cpu())
    return float(torch.cat(scores).mean())


class _AutocastPipe:
    """The pipeline with generation under bf16 autocast (CPU: ~5x faster); used before and after alike."""

    def __init__(self, pipe):
        self._pipe = pipe

    def generate(self, *args, **kwargs):
        with autocast(self._pipe.device):
            return self._pipe.generate(*args, **kwargs)

    def __getattr__(self, name):
        return getattr(self._pipe, name)


def evaluator_metrics(pipe, evaluator, data, prompts, repeats, steps, seed=0) -> dict:
    """R-Precision top-1/3, FID, MM-Dist, Diversity (mean over replications) on the test split."""
    from easytune_core.data.dataset import MotionTextDataset
    from easytune_core.eval.protocol import evaluate_pipeline
    ds = MotionTextDataset(data, split="test", random_crop=False)
    res = evaluate_pipeline(_AutocastPipe(pipe), evaluator, ds, repeats=repeats, max_prompts=prompts, steps=steps,
                            seed=seed, mm_prompts=0)
    g = res["generated"]
    return {"top1": g["r_precision"]["mean"][0], "top3": g["r_precision"]["mean"][2], "fid": g["fid"]["mean"],
            "mm_dist": g["mm_dist"]["mean"], "diversity": g["diversity"]["mean"],
            "ci": {"top1": g["r_precision"]["ci"][0], "fid": g["fid"]["ci"], "mm_dist": g["mm_dist"]["ci"]},
            "pairs": res["settings"]["pairs"], "repeats": repeats, "steps": steps, "seconds": res["seconds"]}


def inference_trajectory(trainer, captions, precision_ctx) -> None:
    """One no-grad sampling trajectory of the trainer's batch shape (batch_size x max_frames, captions
    repeated to fill it), under ``precision_ctx``: what a method's additional memory is measured over."""
    import torch
    cfg, pipe = trainer.cfg, trainer.pipeline
    with torch.no_grad(), precision_ctx:
        mask = torch.ones(cfg.batch_size, cfg.max_frames, dtype=torch.bool, device=pipe.device)
        pipe.sample_features(pipe.encode((list(captions) * cfg.batch_size)[:cfg.batch_size]), mask, cfg.guidance,
                             cfg.sampler_steps, initial_noise(pipe, cfg.batch_size, mask),
                             generator=torch.Generator().manual_seed(0))


# -------------------------------------------------------------------------------------------- worker
def worker(spec: dict) -> dict:
    """Runs in its own process: one method (or the base model when spec['method'] is None)."""
    import torch
    torch.set_num_threads(spec["threads"])
    from easytune_core.eval.model import load_evaluator
    from easytune_core.finetune import FinetuneConfig, SplitPrompts, build_trainer

    device = spec["device"]
    cuda = device.startswith("cuda")
    method = spec.get("method_kwargs") or {"method": "easytune"}
    cfg = FinetuneConfig(**{**spec["config"], **method})
    trainer = build_trainer(cfg, spec["base"], spec["reward"], SplitPrompts(spec["data"], "train",
                                                                            max_frames=cfg.max_frames),
                            device=device)
    pipe = trainer.pipeline
    captions, frames = spec["reward_prompts"]
    out = {"name": spec["name"], "config": cfg.to_dict()}

    # baseline: the loaded models + one no-grad inference trajectory of the training batch shape
    if cuda:
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    inference_trajectory(trainer, captions, autocast(device))
    base_mem = torch.cuda.max_memory_allocated() / 2 ** 20 if cuda else rss_mb()
    out["baseline_memory_mb"] = base_mem

    if spec["name"] == "base":
        out["reward"] = sample_reward(pipe, trainer.reward, captions, frames, cfg.sampler_steps, cfg.guidance)
    else:
        if cuda:
            torch.cuda.reset_peak_memory_stats()
        result = trainer.train()
        peak = torch.cuda.max_memory_allocated() / 2 ** 20 if cuda else rss_mb()
        events = result.history
        out.update(status=result.status, message=result.message, steps=result.steps, train_seconds=result.seconds,
                   peak_memory_mb=peak, additional_memory_mb=max(0.0, peak - base_mem),
                   seconds_per_step=result.seconds / max(1, result.steps),
                   events=[{k: e[k] for k in ("step", "reward", "loss", "seconds")} for e in events])
        pipe.model.eval()
        out["reward"] = sample_reward(pipe, trainer.reward, captions, frames, cfg.sampler_steps, cfg.guidance)
    if spec.get("evaluator") and spec["eval_prompts"]:
        evaluator = load_evaluator(spec["evaluator"], device=device)
        out["eval"] = evaluator_metrics(pipe, evaluator, spec["data"], spec["eval_prompts"], spec["eval_repeats"],
                                        spec["eval_steps"])
    return out


def run_worker_process(spec: dict, workdir: Path) -> dict:
    spec_file = workdir / f"spec_{spec['name'].replace(' ', '_').replace('(', '').replace(')', '')}.json"
    result_file = spec_file.with_name(spec_file.name.replace("spec_", "result_"))
    spec_file.write_text(json.dumps(spec))
    t0 = time.time()
    proc = subprocess.run([sys.executable, __file__, "--worker", str(spec_file), "--result", str(result_file)],
                          cwd=ROOT, text=True, capture_output=True)
    if proc.returncode != 0:
        print(proc.stdout[-2000:], proc.stderr[-4000:], file=sys.stderr)
        return {"name": spec["name"], "error": proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else "failed"}
    res = json.loads(result_file.read_text())
    res["process_seconds"] = round(time.time() - t0, 1)
    return res


# ------------------------------------------------------------------------------------------ analysis
def time_to_threshold(events: list, threshold: float, window: int = 5):
    rewards = [e["reward"] for e in events]
    for i in range(window - 1, len(rewards)):
        if np.mean(rewards[i - window + 1:i + 1]) >= threshold:
            return events[i]["seconds"]
    return None


def _f(x, fmt="{:.3f}"):
    return "–" if x is None else fmt.format(x)


def markdown(report: dict) -> str:
    base = report["base"]
    rows = report["methods"]
    thr = report["threshold"]
    full = report.get("full_backprop", "DRaFT-50")
    d50 = next((r for r in rows if r["name"] == full and "error" not in r), None)
    lines = [
        f"Setting: {report['setting']}",
        "",
        f"Reward threshold: {thr:.3f} (base model's mean sample reward {base['reward']:.3f} + "
        f"{report['threshold_gain']}). Evaluator metrics on {report['eval_note']}. The time to threshold "
        "is read from the reward each method logs while training, which is not the same quantity across "
        "methods (EasyTune: x̂0 predictions of its selected steps; DRaFT: the final sample), so it does not "
        "compare methods: benchmarks/paper_claims.py times full samples of fixed prompts.",
        "",
        f"| Method | s / opt. step | opt. steps | add. memory (MB) | memory vs {full} | time to threshold (s) "
        "| final reward | R@1 (base → after) | FID (base → after) | MM-Dist (base → after) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    be = base.get("eval", {})
    for r in rows:
        if "error" in r:
            lines.append(f"| {r['name']} | failed: {r['error']} |" + " |" * 8)
            continue
        ev = r.get("eval", {})
        mem_ratio = (r["additional_memory_mb"] / d50["additional_memory_mb"]
                     if d50 and d50["additional_memory_mb"] > 0 else None)
        lines.append(
            f"| {r['name']} | {r['seconds_per_step']:.2f} | {r['steps']} | {r['additional_memory_mb']:.0f} | "
            f"{_f(mem_ratio, '{:.0%}')} | {_f(r['time_to_threshold'], '{:.1f}')} | {r['reward']:.3f} | "
            f"{_f(be.get('top1'))} → {_f(ev.get('top1'))} | {_f(be.get('fid'))} → {_f(ev.get('fid'))} | "
            f"{_f(be.get('mm_dist'))} → {_f(ev.get('mm_dist'))} |")
    lines += ["", f"EasyTune (step) vs {full} (full back-propagation), measured here beside the paper (its Tables 1 "
              "and 5):", "", "| Quantity | paper (MLD, RTX A6000) | measured here |", "|---|---|---|"]
    c = report.get("comparison", {})
    lines.append(f"| additional memory, EasyTune / {full} | 31% | {_f(c.get('memory_ratio'), '{:.0%}')} |")
    lines.append(f"| time to reward threshold, {full} / EasyTune | 7.3× | {c.get('speedup_text', '–')} "
                 "(logged training rewards: not comparable) |")
    lines.append(f"| MM-Dist improvement over {full} | 8.2% | {_f(c.get('mm_dist_gain'), '{:.1%}')} |")
    return "\n".join(lines)


def compare_block(rows: list, full: str = "DRaFT-50") -> dict:
    et = next((r for r in rows if r["name"] == "EasyTune (step)" and "error" not in r), None)
    d50 = next((r for r in rows if r["name"] == full and "error" not in r), None)
    if not et or not d50:
        return {}
    out = {}
    if d50["additional_memory_mb"] > 0:
        out["memory_ratio"] = et["additional_memory_mb"] / d50["additional_memory_mb"]
    te, td = et["time_to_threshold"], d50["time_to_threshold"]
    if te and td:
        out["speedup"] = td / te
        out["speedup_text"] = f"{td / te:.1f}×"
    elif te and not td:
        out["speedup_text"] = f"{full} never reached it in {d50['train_seconds']:.0f} s; EasyTune took {te:.0f} s"
    elif not te:
        out["speedup_text"] = "EasyTune did not reach the threshold"
    if et.get("eval") and d50.get("eval"):
        out["mm_dist_gain"] = (d50["eval"]["mm_dist"] - et["eval"]["mm_dist"]) / d50["eval"]["mm_dist"]
    return out


def compare_markdown(report: dict, prompts: int, repeats: int, steps: int) -> str:
    b, a = report["before"], report["after"]
    lines = [f"Reward: mean over {report['reward_prompts']} fixed train-split prompts (50-step DDIM, fixed noise). "
             f"Evaluator: {prompts} held-out test prompts, {repeats} replications (mean ± 95% CI), {steps}-step DDIM.",
             "", "| Model | reward (train prompts) | R@1 ↑ | R@3 ↑ | FID ↓ | MM-Dist ↓ | Diversity |",
             "|---|---|---|---|---|---|---|"]
    for label, r in ((report["base"], b), (report["finetuned"], a)):
        if "error" in r:
            lines.append(f"| {label} | failed: {r['error']} | | | | | |")
            continue
        e = r.get("eval")
        if e:
            ci = e["ci"]
            lines.append(f"| {label} | {r['reward']:.3f} | {e['top1']:.3f}±{ci['top1']:.3f} | {e['top3']:.3f} | "
                         f"{e['fid']:.3f}±{ci['fid']:.3f} | {e['mm_dist']:.3f}±{ci['mm_dist']:.3f} | "
                         f"{e['diversity']:.3f} |")
        else:
            lines.append(f"| {label} | {r['reward']:.3f} | – | – | – | – | – |")
    return "\n".join(lines)


# -------------------------------------------------------------------------------------------- main
def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="short budgets: the whole run < 10 min on a 2-core CPU")
    p.add_argument("--base", default="assets/checkpoints/base")
    p.add_argument("--reward", default="assets/checkpoints/reward")
    p.add_argument("--evaluator", default="assets/checkpoints/evaluator")
    p.add_argument("--data", default="data/builtin")
    p.add_argument("--methods", default=None, help="comma-separated subset of: " + ", ".join(METHODS) +
                   " (few-step bases: " + ", ".join(FEW_STEP_METHODS) + "); default all")
    p.add_argument("--seconds", type=float, default=None, help="training wall time per method")
    p.add_argument("--max-steps", type=int, default=10_000)
    p.add_argument("--lr", type=float, default=1e-4)
    p.add_argument("--batch-size", type=int, default=None)
    p.add_argument("--max-frames", type=int, default=None)
    p.add_argument("--threshold-gain", type=float, default=0.05)
    p.add_argument("--reward-prompts", type=int, default=None)
    p.add_argument("--eval-prompts", type=int, default=None, help="held-out prompts for the evaluator (0 = skip)")
    p.add_argument("--eval-repeats", type=int, default=None)
    p.add_argument("--eval-steps", type=int, default=None, help="sampler steps for the evaluator (default 50; few-step: 4)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--device", default=None)
    p.add_argument("--out", default=str(RESULTS / "finetune_efficiency"))
    p.add_argument("--compare", nargs=2, metavar=("BASE", "FINETUNED"), default=None,
                   help="only compare two checkpoints: reward on train prompts + evaluator metrics on test")
    p.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    p.add_argument("--result", default=None, help=argparse.SUPPRESS)
    args = p.parse_args(argv)

    if args.worker:
        res = worker(json.loads(Path(args.worker).read_text()))
        Path(args.result).write_text(json.dumps(res))
        return 0

    import torch
    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    quick = args.quick
    seconds = args.seconds or (25.0 if quick else 300.0)
    batch = args.batch_size or (4 if quick else 8)
    max_frames = args.max_frames or (60 if quick else 120)
    n_reward = args.reward_prompts or (8 if quick else 64)
    eval_prompts = args.eval_prompts if args.eval_prompts is not None else (32 if quick else 256)
    eval_repeats = args.eval_repeats or (1 if quick else 5)
    for need in (*(args.compare or [args.base]), args.reward):
        if not (ROOT / need / "config.json").exists() and not Path(need, "config.json").exists():
            print(f"error: checkpoint {need} not found; train or ship it first", file=sys.stderr)
            return 2
    evaluator = args.evaluator if Path(args.evaluator, "config.json").exists() else None
    if evaluator is None:
        print(f"note: no evaluator at {args.evaluator}; evaluator metrics are skipped", file=sys.stderr)
    captions, frames = fixed_prompts(args.data, n_reward, max_frames)
    from easytune_core.checkpoints import read_config
    base_cfg = read_config(args.compare[0] if args.compare else args.base)["config"]
    few_step = base_cfg.get("sampler") == "consistency"
    table = FEW_STEP_METHODS if few_step else METHODS
    sampler_steps = int(base_cfg.get("default_steps", 4)) if few_step else 50
    family = "few-step" if few_step else ("latent" if base_cfg.get("space") == "latent" else "frame-space")
    full = "DRaFT-4" if few_step else "DRaFT-50"
    args.eval_steps = args.eval_steps or sampler_steps
    common = {"threads": args.threads, "device": device, "base": args.base, "reward": args.reward,
              "data": args.data, "evaluator": evaluator, "eval_prompts": eval_prompts, "eval_repeats": eval_repeats,
              "eval_steps": args.eval_steps, "reward_prompts": [captions, frames],
              "config": {"sampler_steps": sampler_steps, "lr": args.lr, "warmup": 5, "batch_size": batch,
                         "max_frames": max_frames, "max_steps": args.max_steps, "max_seconds": seconds, "seed": 0,
                         "guidance": 2.5}}
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    import tempfile
    work = Path(tempfile.mkdtemp(prefix="finetune_efficiency_"))  # per-method spec/result files

    if args.compare:
        rows = [run_worker_process({**common, "name": "base", "base": ck}, work) for ck in args.compare]
        report = {"base": args.compare[0], "finetuned": args.compare[1], "before": rows[0], "after": rows[1],
                  "reward_prompts": n_reward, "device": device}
        md = compare_markdown(report, eval_prompts, eval_repeats, args.eval_steps)
        write_results(out, report, md, device=device)
        print(md)
        return 0

    t_all = time.time()
    print(f"base model: reward on {n_reward} train prompts + evaluator metrics ...", flush=True)
    base = run_worker_process({**common, "name": "base"}, work)
    if "error" in base:
        print(f"error: the base run failed: {base['error']}", file=sys.stderr)
        return 1
    threshold = base["reward"] + args.threshold_gain
    rows = []
    for name in [m.strip() for m in (args.methods or ",".join(table)).split(",") if m.strip()]:
        if name not in table:
            print(f"error: unknown method {name!r}; choose from {', '.join(table)}", file=sys.stderr)
            return 2
        print(f"{name}: training {seconds:.0f}s ...", flush=True)
        r = run_worker_process({**common, "name": name, "method_kwargs": table[name]}, work)
        if "error" not in r:
            r["time_to_threshold"] = time_to_threshold(r["events"], threshold)
            print(f"  {r['steps']} steps, {r['seconds_per_step']:.2f} s/step, +{r['additional_memory_mb']:.0f} MB, "
                  f"reward {base['reward']:.3f} -> {r['reward']:.3f}, threshold at {r['time_to_threshold']}", flush=True)
        else:
            print(f"  failed: {r['error']}", flush=True)
        rows.append(r)
    eval_note = (f"{eval_prompts} held-out test prompts, {eval_repeats} replication(s), {args.eval_steps}-step DDIM"
                 if evaluator else "– (no evaluator checkpoint)")
    report = {
        "setting": (f"{device}, {args.threads} threads; {family} model {args.base}; "
                    f"{sampler_steps}-step {'consistency sampling' if few_step else 'DDIM (eta 0'}, guidance 2.5"
                    f"{'' if few_step else ')'}; batch {batch}; "
                    f"lengths capped at {max_frames} frames; AdamW lr {args.lr} (5 warm-up steps), full fine-tuning; "
                    f"{seconds:.0f} s of training per method; final reward on {n_reward} fixed train prompts"),
        "device": device, "family": family, "quick": quick, "threshold": threshold, "threshold_gain": args.threshold_gain,
        "eval_note": eval_note, "base": base, "methods": rows, "comparison": compare_block(rows, full), "full_backprop": full, "paper": PAPER,
        "total_seconds": round(time.time() - t_all, 1),
    }
    md = markdown(report)
    write_results(out, report, md + f"\n\nTotal benchmark wall time: {report['total_seconds']:.0f} s.", device=device)
    print(md)
    print(f"wrote {out}.json and {out}.md ({report['total_seconds']:.0f} s)")
    return 0


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        sys.exit(main())
