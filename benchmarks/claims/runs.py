"""One fine-tuning run of the experiment: the project's trainer, driven one trajectory at a time.

Every run uses the same base model, reward, train-prompt pool, batch size and lr schedule family
(AdamW, linear warm-up over ``warmup_trajectories`` trajectories, then constant). A seed fixes the
prompt order (the same for every method: trajectory j gets batch j of a seeded permutation), the
initial noise and the methods' random draws.

The run is driven one trajectory at a time (``FinetuneTrainer.train`` with ``max_steps`` advanced by
the method's optimiser steps per trajectory), so every mark falls on a trajectory boundary: reward
probes and val snapshots at evenly spaced training seconds, and the two budgets, N trajectories
(``equal_trajectories``) and S seconds of training (``equal_time``: the first trajectory boundary at
or after S). The clock counts training only; probes and evaluations pause it.
"""

from __future__ import annotations

import time

import numpy as np
import torch

from .quality import Judge, Probe, resolve_precision
from .scales import METHODS, Scale


class Env:
    """What every unit of one process shares: payload, checkpoints, device, judges, probe."""

    def __init__(self, scale: Scale, payload: dict, tensors: dict, manifest: dict, checkpoints: dict, device: str):
        from .payload import install_text_cache
        self.scale, self.payload, self.tensors, self.manifest = scale, payload, tensors, manifest
        self.checkpoints, self.device = checkpoints, device
        self.precision = resolve_precision(scale.precision, device)
        self.encoder = install_text_cache(payload, tensors, device)
        self._evaluator = None
        self._judges: dict = {}
        rng = np.random.default_rng(123)
        items = payload["train"]
        self.probe = Probe([items[i] for i in rng.permutation(len(items))[:scale.probe_prompts]],
                           steps=scale.sampler_steps, precision=self.precision)

    @property
    def evaluator(self):
        if self._evaluator is None:
            from easytune_core.eval.model import load_evaluator
            self._evaluator = load_evaluator(self.checkpoints["evaluator"], device=self.device)
        return self._evaluator

    def judge(self, split: str) -> Judge:
        if split not in self._judges:
            s = self.scale
            pairs, rules = (s.val_pairs, s.val_rules) if split == "val" else (s.test_pairs, s.test_rules)
            self._judges[split] = Judge(self.payload, self.tensors, self.evaluator, self.encoder, split, pairs,
                                        rules, steps=s.sampler_steps, batch=s.eval_batch, precision=self.precision)
        return self._judges[split]


class OrderedPrompts:
    """Train prompts in a fixed seeded order: call j returns batch j (whatever the method)."""

    def __init__(self, items: list, seed: int):
        self.items = items
        self.order = np.random.default_rng([seed, 7]).permutation(len(items))
        self.calls = 0

    def __call__(self, batch_size: int, generator=None):
        start = self.calls * batch_size
        idx = [int(self.order[(start + j) % len(self.order)]) for j in range(batch_size)]
        self.calls += 1
        return [self.items[i][0] for i in idx], [int(self.items[i][1]) for i in idx]


def updates_per_trajectory(cfg) -> int:
    """Optimiser steps one trajectory takes: K selected steps for EasyTune, 1 for the others."""
    if cfg.method.startswith("easytune"):
        from easytune_core.finetune.config import parse_selection
        return parse_selection(cfg.select, cfg.sampler_steps)[1]
    return 1


def method_config(scale: Scale, overrides: dict, lr: float, seed: int, steps: int | None = None,
                  batch: int | None = None, frames: int = 0, precision: str = "fp32"):
    """The FinetuneConfig of a method in this experiment."""
    from easytune_core.finetune import FinetuneConfig
    from .scales import method_for_steps
    kw = {k: v for k, v in method_for_steps(overrides, steps or scale.sampler_steps).items() if k != "reward"}
    cfg = FinetuneConfig(**{"sampler_steps": steps or scale.sampler_steps, "guidance": 2.5,
                            "batch_size": batch or scale.batch_size, "max_frames": scale.max_frames,
                            "frames": frames, "precision": precision, "seed": seed, "lr": lr, "max_steps": 1,
                            "reg_weight": 0.0, **kw})
    cfg.warmup = scale.warmup_trajectories * updates_per_trajectory(cfg)
    return cfg


def _cuda_peak(device: str):
    if str(device).startswith("cuda"):
        torch.cuda.synchronize()
        return torch.cuda.max_memory_allocated() / 2 ** 20
    return None


def train_run(env: Env, spec: dict, log=print) -> dict:
    """One run. ``spec``: method (a METHODS name or an ablation label), overrides, lr, seed,
    trajectories (N), seconds (S or None), val (score snapshots on val), test (score the budget
    models on test), reward (payload checkpoint name). Returns the run's record (JSON-able)."""
    from easytune_core.finetune import build_trainer

    scale = env.scale
    overrides = spec.get("overrides") or METHODS[spec["method"]]
    cfg = method_config(scale, overrides, spec["lr"], spec["seed"], precision=env.precision)
    reward_name = overrides.get("reward", spec.get("reward", "reward"))
    prompts = OrderedPrompts(env.payload["train"], spec["seed"])
    trainer = build_trainer(cfg, env.checkpoints["base"], env.checkpoints[reward_name], prompts, run_dir=None,
                            device=env.device)
    pipe = trainer.pipeline
    score_reward = trainer.reward_model if reward_name == "reward" else None
    if score_reward is None:  # every model's samples are scored with the main reward, whatever it trained on
        from easytune_core.reward import load_reward_model
        score_reward = load_reward_model(env.checkpoints["reward"], device=env.device)
        from easytune_core.finetune.build import RewardFn
        probe_fn = RewardFn(score_reward, pipe.mean, pipe.std)
    else:
        probe_fn = trainer.reward
    upt = updates_per_trajectory(cfg)
    N, S = int(spec["trajectories"]), spec.get("seconds")
    probe_dt = (S or 0) / scale.probes if S else None  # plus two early marks: time to threshold needs them
    val_dt = (S or 0) / scale.val_points if (S and spec.get("val")) else None
    rec = {"method": spec["method"], "seed": spec["seed"], "lr": spec["lr"], "config": cfg.to_dict(),
           "reward_checkpoint": reward_name, "updates_per_trajectory": upt, "trajectory_events": [],
           "probes": [], "val": [], "test": {}, "status": "finished", "message": ""}
    if str(env.device).startswith("cuda"):
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    seconds, traj, next_probe, next_val = 0.0, 0, (probe_dt / 4 if probe_dt else None), val_dt
    wall, cpu, threads = 0.0, 0.0, max(1, torch.get_num_threads())
    probed = (-1, None)  # (trajectory, probe reward) of the last probe
    t_wall = time.time()
    while True:
        before = len(trainer.history)
        trainer.cfg.max_steps = trainer.optim.steps + upt
        w0, c0 = time.perf_counter(), time.process_time()
        res = trainer.train()
        wall += time.perf_counter() - w0
        cpu += (time.process_time() - c0) / threads
        seconds, traj = (cpu if scale.clock == "cpu" else wall), traj + 1
        events = trainer.history[before:]
        rec["trajectory_events"].append({
            "trajectory": traj, "seconds": round(seconds, 3), "wall": round(wall, 3), "cpu": round(cpu, 3),
            "steps": trainer.optim.steps,
            "reward": float(np.mean([e["reward"] for e in events])) if events else None,
            "grad_norm": float(np.nanmean([e["grad_norm"] for e in events])) if events else None})
        if res.status != "finished":
            rec["status"], rec["message"] = res.status, res.message
            log(f"  {spec['method']} seed {spec['seed']}: {res.status}: {res.message}")
            break
        point = {"trajectory": traj, "seconds": round(seconds, 3), "steps": trainer.optim.steps}
        if next_probe is not None and seconds >= next_probe - 1e-9:  # one probe however many marks passed
            probed = (traj, probe(env, pipe, probe_fn))
            rec["probes"].append({**point, "mark": round(next_probe, 3), "reward": probed[1]})
            while next_probe <= seconds + 1e-9:  # early marks probe_dt/4, probe_dt/2, then every probe_dt
                next_probe = next_probe * 2 if next_probe < probe_dt - 1e-9 else next_probe + probe_dt
        if next_val is not None and seconds >= next_val - 1e-9 and next_val <= S + 1e-9:
            rec["val"].append({**point, "mark": round(next_val, 3),
                               **env.judge("val").score(pipe, score_reward)})
            log(f"  val at {seconds:.0f}s: {brief(rec['val'][-1])}")
            next_val = _after(next_val, val_dt, seconds)
        budgets = []
        if traj == N:
            budgets.append("equal_trajectories")
        if S and "equal_time" not in rec["test"] and seconds >= S:
            budgets.append("equal_time")
        row = None
        for budget in budgets:  # both budgets at the same trajectory: one model, scored once
            if row is None:
                row = {**point, "probe_reward": probed[1] if probed[0] == traj else probe(env, pipe, probe_fn)}
                if spec.get("test"):
                    row.update(env.judge("test").score(pipe, score_reward))
                elif spec.get("val_final"):
                    row.update(env.judge("val").score(pipe, score_reward))
            rec["test"][budget] = dict(row)
            log(f"  {budget}: {brief(row)}")
        if traj >= N and (not S or seconds >= S):
            break
    rec["train_seconds"] = round(seconds, 3)
    rec["train_wall_seconds"], rec["train_cpu_seconds"] = round(wall, 3), round(cpu, 3)
    rec["clock"] = scale.clock
    rec["trajectories"] = traj
    rec["optimiser_steps"] = trainer.optim.steps
    rec["seconds_per_step"] = seconds / max(1, trainer.optim.steps)
    rec["seconds_per_trajectory"] = seconds / max(1, traj)
    rec["cuda_peak_mb"] = _cuda_peak(env.device)
    rec["wall_seconds"] = round(time.time() - t_wall, 1)
    return rec


def _after(mark: float, step: float, seconds: float) -> float:
    """The first mark of the series mark, mark + step, ... that lies after ``seconds``."""
    while mark <= seconds + 1e-9:
        mark += step
    return mark


def probe(env: Env, pipe, reward_fn) -> float:
    return round(float(env.probe(pipe, reward_fn)), 5)


def brief(row: dict) -> str:
    keys = ("trajectory", "seconds", "probe_reward", "reward", "top1", "fid", "mm_dist", "rules")
    return " ".join(f"{k}={row[k]:.4g}" if isinstance(row[k], float) else f"{k}={row[k]}" for k in keys if k in row)


def base_scores(env: Env) -> dict:
    """The base model on val and test and its probe reward (every run starts here)."""
    from easytune_core.finetune.build import RewardFn, load_base
    from easytune_core.reward import load_reward_model
    pipe, _ = load_base(env.checkpoints["base"], env.device)
    rm = load_reward_model(env.checkpoints["reward"], device=env.device)
    fn = RewardFn(rm, pipe.mean, pipe.std)
    out = {"probe_reward": probe(env, pipe, fn), "val": env.judge("val").score(pipe, rm),
           "test": env.judge("test").score(pipe, rm)}
    return out
