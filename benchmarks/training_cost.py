"""Training cost of the latent family, stage by stage: seconds per optimiser step at the batch sizes
and model sizes of scripts/train_latent_family.sh, measured over a few steps each, and the
projection of each stage's budget from them.

Stages: train-vae (batch 64 motions of the built-in data), the one-off latent cache (VAE encodings
of every training motion x 4 views), train-latent (batch 256 latents), distill (batch 128, one
teacher DDIM step + student + target per step), EasyTune on the latent model (batch 64, 50-step
DDIM trajectories, last 10 steps selected, rewards on VAE-decoded motion) and on the few-step
model (batch 64, 4-step trajectories, every step selected). Speed does not depend on the weights'
values, so the models are freshly initialised weights of the planned configuration unless
``--latent`` / ``--few-step`` name trained folders; text embeddings are random 384-d vectors
(training reads them from the caption cache, a lookup).

    .venv/bin/python benchmarks/training_cost.py --threads 2
    .venv/bin/python benchmarks/training_cost.py --steps 2 --finetune-batch 8     # a quick smoke run

Writes benchmarks/results/training_cost.{json,md}, stamped with commit, device and date.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # benchmarks/, for the shared `common` module
from common import ASSETS, RESULTS, write_results  # noqa: E402  (also puts the repository root on sys.path)

os.environ.setdefault("HF_HUB_OFFLINE", "1")

# the script's budgets (wall minutes on CPU) and step targets per stage, for the projection
PLAN = {"train-vae": dict(batch=64, minutes=240, steps=100000),
        "train-latent": dict(batch=256, minutes=60, steps=200000),
        "distill": dict(batch=128, minutes=45, steps=100000),
        "finetune latent": dict(batch=64, minutes=None, steps=1000),
        "finetune few-step": dict(batch=64, minutes=None, steps=1000)}


def timed(step, n: int, warmup: int = 1) -> list[float]:
    """Seconds of each of ``n`` calls of ``step()`` after ``warmup`` untimed ones."""
    for _ in range(warmup):
        step()
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        step()
        out.append(time.perf_counter() - t0)
    return out


def vae_stage(arch, root, n, device):
    import torch

    from easytune_core.data.loader import forever, make_loader
    from easytune_core.diffusion.latent import MotionVAE, VAEConfig
    from easytune_core.diffusion.latent.common import autocast
    from easytune_core.diffusion.latent.train_vae import VAETrainConfig, vae_loss

    cfg = VAETrainConfig(batch_size=PLAN["train-vae"]["batch"])
    vae = MotionVAE(VAEConfig(**arch["vae"], dropout=0.1)).to(device).train()
    opt = torch.optim.AdamW(vae.parameters(), lr=cfg.lr)
    batches = forever(make_loader(root, "train", cfg.batch_size, True, max_frames=vae.config.max_frames))
    gen = torch.Generator().manual_seed(0)

    def step():
        b = next(batches)
        with autocast(device, cfg.amp):
            loss, _ = vae_loss(vae, b["features"].to(device), b["mask"].to(device), cfg, None, gen)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(vae.parameters(), cfg.grad_clip)
        opt.step()

    times = timed(step, n)
    # the latent cache: posterior of every training motion, 4 random crops each, no gradients
    loader = make_loader(root, "train", 64, False, max_frames=vae.config.max_frames)
    vae.eval()
    motions, t0 = 0, time.perf_counter()
    with torch.no_grad():
        for i, b in enumerate(loader):
            vae.encode(b["features"].to(device), b["mask"].to(device))
            motions += b["features"].shape[0]
            if i == 3:
                break
    per_motion = (time.perf_counter() - t0) / max(1, motions)
    return times, per_motion, len(loader.dataset)


def latent_stage(arch, n, device):
    import torch

    from easytune_core.diffusion.latent import LatentDenoiser, LatentDenoiserConfig
    from easytune_core.diffusion.latent.train_latent import latent_diffusion_loss
    from easytune_core.diffusion.schedule import NoiseSchedule

    B, L, C = PLAN["train-latent"]["batch"], arch["vae"]["latent_tokens"], arch["vae"]["width"]
    model = LatentDenoiser(LatentDenoiserConfig(latent_tokens=L, latent_dim=C, **arch["denoiser"], dropout=0.1)).to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=2e-4)
    schedule = NoiseSchedule(model.config.schedule, model.config.diffusion_steps)
    gen = torch.Generator().manual_seed(0)
    z, emb = torch.randn(B, L, C, device=device), torch.randn(B, 384, device=device)

    def step():
        loss = latent_diffusion_loss(model, schedule, z, emb, gen)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()

    return timed(step, n), model


def distill_stage(teacher, n, device):
    import copy

    import torch

    from easytune_core.diffusion.latent.common import ema_update
    from easytune_core.diffusion.latent.distill import DistillConfig, distill_loss, make_student
    from easytune_core.diffusion.schedule import NoiseSchedule

    cfg = DistillConfig(batch_size=PLAN["distill"]["batch"])
    teacher = teacher.eval().requires_grad_(False)
    student = make_student(teacher, cfg)
    target = copy.deepcopy(student).eval().requires_grad_(False)
    opt = torch.optim.AdamW(student.parameters(), lr=cfg.lr)
    schedule = NoiseSchedule(teacher.config.schedule, teacher.config.diffusion_steps)
    gen = torch.Generator().manual_seed(0)
    c = teacher.config
    z0, emb = torch.randn(cfg.batch_size, c.latent_tokens, c.latent_dim, device=device), torch.randn(cfg.batch_size, 384, device=device)

    def step():
        loss = distill_loss(student, target, teacher, z0, emb, schedule, cfg, gen)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(student.parameters(), cfg.grad_clip)
        opt.step()
        ema_update(target, student, cfg.target_ema)

    return timed(step, n)


def finetune_stage(base: Path, reward: Path, batch: int, sampler_steps: int, select: str, trajectories: int, device):
    """Seconds per optimiser step of EasyTune over whole trajectories (sampling included), from the
    start of training (models loaded) to the trajectory's last optimiser step."""
    from easytune_core.finetune.build import build_trainer
    from easytune_core.finetune.config import FinetuneConfig
    from easytune_core.finetune.prompts import ListPrompts

    per_traj = sampler_steps if select == "all" else int(select.split(":")[1])
    cfg = FinetuneConfig(method="easytune", sampler_steps=sampler_steps, select=select, batch_size=batch, lr=1e-5,
                         warmup=0, max_frames=120, max_steps=per_traj * trajectories, precision="auto", seed=0)
    stamps: list[float] = []
    prompts = ListPrompts(["a person walks forward and waves", "someone jumps twice", "a person sits down"], frames=120)
    trainer = build_trainer(cfg, base, reward, prompts, run_dir=None, device=device,
                            callbacks=[lambda event: stamps.append(time.perf_counter())])
    start = time.perf_counter()
    trainer.train()
    ends = [start] + stamps[per_traj - 1::per_traj]
    return [(b - a) / per_traj for a, b in zip(ends, ends[1:])], cfg.precision


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--steps", type=int, default=5, help="timed optimiser steps per training stage")
    ap.add_argument("--trajectories", type=int, default=1, help="timed fine-tuning trajectories per family")
    ap.add_argument("--finetune-batch", type=int, default=PLAN["finetune latent"]["batch"],
                    help="prompts per trajectory; below the planned 64 the projection scales the time linearly")
    ap.add_argument("--stages", default="vae,latent,distill,finetune",
                    help="comma-separated subset of vae, latent, distill, finetune")
    ap.add_argument("--data", default="builtin")
    ap.add_argument("--reward", default=str(ASSETS / "checkpoints" / "reward"))
    ap.add_argument("--out", default=str(RESULTS / "training_cost"))
    args = ap.parse_args(argv)
    import torch
    torch.set_num_threads(args.threads)
    from easytune_core.data.builtin import resolve_dataset
    from easytune_core.diffusion.latent.common import cpu_has_bf16
    from sampling import ARCH, random_latent

    device = "cuda" if torch.cuda.is_available() else "cpu"
    root = resolve_dataset(args.data)
    rows = []

    stages = set(args.stages.split(","))
    if not stages <= {"vae", "latent", "distill", "finetune"}:
        raise SystemExit(f"unknown stage in --stages {args.stages!r}")

    def add(stage, batch, times, note=""):
        med = statistics.median(times)
        plan = PLAN.get(stage, {})
        if batch != plan.get("batch", batch):  # measured smaller: the planned batch costs ~proportionally more
            med *= plan["batch"] / batch
            note = (note + "; " if note else "") + f"measured at batch {batch}, scaled to {plan['batch']}"
        row = {"stage": stage, "batch": plan.get("batch", batch), "measured_batch": batch,
               "seconds_per_step": round(med, 3), "timed_steps": len(times), "measured_seconds": [round(t, 3) for t in times],
               "note": note}
        if plan.get("minutes"):
            row["steps_in_budget"] = int(plan["minutes"] * 60 / med)
            row["budget_minutes"] = plan["minutes"]
        if plan.get("steps"):
            row["hours_for_planned_steps"] = round(plan["steps"] * med / 3600, 1)
            row["planned_steps"] = plan["steps"]
        rows.append(row)
        print(f"{stage:20s} b{batch:<4d} {med:7.3f} s/step ({len(times)} steps) {note}", flush=True)

    if "vae" in stages:
        vae_times, per_motion, n_train = vae_stage(ARCH, root, args.steps, device)
        add("train-vae", PLAN["train-vae"]["batch"], vae_times, "built-in train split, crops up to the VAE's max_frames")
        cache_s = per_motion * n_train * 4
        rows.append({"stage": "latent cache (once)", "batch": 64, "seconds_per_motion": round(per_motion, 5),
                     "motions": n_train * 4, "minutes": round(cache_s / 60, 1), "note": "VAE encodings, 4 views per motion"})
        print(f"latent cache: {per_motion * 1000:.2f} ms/motion x {n_train * 4} = {cache_s / 60:.1f} min", flush=True)
    if stages & {"latent", "distill"}:
        lat_times, teacher = latent_stage(ARCH, args.steps, device)
        if "latent" in stages:
            add("train-latent", PLAN["train-latent"]["batch"], lat_times)
        if "distill" in stages:
            add("distill", PLAN["distill"]["batch"], distill_stage(teacher, args.steps, device),
                "teacher DDIM step (cond + uncond) + student + EMA target")
    scratch = Path(tempfile.mkdtemp(prefix="training_cost_"))
    for stage, few, steps, select in ((("finetune latent", False, 50, "last:10"), ("finetune few-step", True, 4, "all"))
                                      if "finetune" in stages else ()):
        folder = random_latent(scratch / stage.replace(" ", "_"), few)
        times, precision = finetune_stage(folder, Path(args.reward), args.finetune_batch, steps, select,
                                          args.trajectories, device)
        add(stage, args.finetune_batch, times, f"EasyTune, {steps}-step trajectories (sampling included), "
            f"select {select}, precision {precision}")
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    summary = {"benchmark": "training_cost", "device": device, "threads": args.threads, "arch": ARCH,
               "weights": "freshly initialised (planned configuration)", "native_bf16": cpu_has_bf16(),
               "rows": rows, "load_average_at_end": load}
    lines = [f"{device}, {args.threads} threads, load average {', '.join(f'{v:.1f}' for v in load) if load else 'n/a'} "
             f"(shared machine: timings are noisy); freshly initialised weights of the planned configuration "
             f"(VAE {ARCH['vae']}, denoiser {ARCH['denoiser']}); native bf16: {'yes' if cpu_has_bf16() else 'no (fp32)'}.",
             "", "| stage | batch | s / step (median) | timed steps | planned | projection |", "|---|---|---|---|---|---|"]
    for r in rows:
        if "seconds_per_step" not in r:
            lines.append(f"| {r['stage']} | {r['batch']} | {r['seconds_per_motion'] * 1000:.2f} ms / motion | "
                         f"{r['motions']} motions | once | {r['minutes']:.1f} min |")
            continue
        plan = (f"{r['planned_steps']:,} steps" + (f" or {r['budget_minutes']} min" if r.get("budget_minutes") else ""))
        proj = f"{r['hours_for_planned_steps']} h for {r['planned_steps']:,} steps"
        if r.get("steps_in_budget"):
            proj += f"; {r['steps_in_budget']:,} steps in {r['budget_minutes']} min"
        lines.append(f"| {r['stage']} | {r['batch']} | {r['seconds_per_step']:.3f} | {r['timed_steps']} | {plan} | {proj} |")
    write_results(args.out, summary, "\n".join(lines), device=device)
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
