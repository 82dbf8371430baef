"""Memory versus trajectory length, and the gradient each denoising step receives.

Memory (the paper's O(1)-versus-O(T) claim): for each method and each trajectory length T, a fresh
process loads the models, runs one no-grad sampling trajectory of the same batch (the inference
baseline), then takes a few optimiser steps; additional memory = peak minus that baseline (CPU:
peak RSS of the process; CUDA: ``max_memory_allocated``). DRaFT-50 is full backpropagation at every
T (K = T); fixed K and M are capped at T.

Gradient per step (the paper's motivation, its Fig. 3): on the same trajectory batch and the same
weights, (a) full backpropagation of the final sample's reward (DRaFT-50): the part of dL/dθ that
arrives through step i's denoiser call, ‖J_θ(x̂0_i)ᵀ · dL/dx̂0_i‖, and ‖dL/dx_i‖; (b) EasyTune's
step-wise loss at step i, −R(x̂0_i) with sg(x_i): ‖dL_i/dθ‖.
"""

from __future__ import annotations

import gc
import resource
import time

import numpy as np
import torch

from .runs import Env, OrderedPrompts, method_config, updates_per_trajectory
from .scales import METHODS


class HostPeak:
    """Peak resident memory of this process over a window (MiB).

    On Linux the high-water mark is reset at the start of each window (``/proc/self/clear_refs``),
    after handing freed heap back to the system (``malloc_trim``), so a window's peak is its own and
    memory that an earlier phase freed is not silently reused; elsewhere it falls back to the peak
    RSS of the process (meaningful only in a fresh process, as the first window)."""

    def __init__(self):
        self.resettable = False
        try:
            with open("/proc/self/clear_refs", "w") as fh:
                fh.write("5")
            self.resettable = self._hwm() is not None
        except OSError:
            pass
        self._trim = None
        try:
            import ctypes
            self._trim = ctypes.CDLL("libc.so.6").malloc_trim
        except (OSError, AttributeError):
            pass

    @staticmethod
    def _hwm():
        try:
            for line in open("/proc/self/status", encoding="ascii"):
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
        except OSError:
            return None
        return None

    def start(self) -> None:
        gc.collect()
        if self._trim is not None:
            self._trim(0)
        if self.resettable:
            with open("/proc/self/clear_refs", "w") as fh:
                fh.write("5")

    def peak(self) -> float:
        hwm = self._hwm() if self.resettable else None
        return hwm if hwm is not None else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0

    @property
    def measure(self) -> str:
        return ("peak RSS per phase (high-water mark reset after malloc_trim), fresh process" if self.resettable
                else "peak RSS of a fresh process")


def memory_unit(env: Env, method: str, steps: int) -> dict:
    """Additional memory and seconds per optimiser step of ``method`` at a ``steps``-step trajectory:
    peak while training minus peak of one no-grad sampling trajectory of the same batch."""
    from easytune_core.finetune import build_trainer
    from finetune_efficiency import inference_trajectory

    s = env.scale
    cfg = method_config(s, METHODS[method], lr=1e-5, seed=0, steps=steps,
                        batch=s.memory_batch, frames=s.memory_frames, precision=env.precision)
    cfg.max_frames = s.memory_frames
    cfg.max_steps = s.memory_updates
    trainer = build_trainer(cfg, env.checkpoints["base"], env.checkpoints["reward"],
                            OrderedPrompts(env.payload["train"], 0), run_dir=None, device=env.device)
    cuda = str(env.device).startswith("cuda")
    host = None if cuda else HostPeak()
    if cuda:
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    else:
        host.start()
    inference_trajectory(trainer, [c for c, _ in env.payload["train"][:1]], trainer.autocast())
    base = torch.cuda.max_memory_allocated() / 2 ** 20 if cuda else host.peak()
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    else:
        host.start()
    t0 = time.perf_counter()
    res = trainer.train()
    if cuda:
        torch.cuda.synchronize()
    peak = torch.cuda.max_memory_allocated() / 2 ** 20 if cuda else host.peak()
    return {"method": method, "steps": steps, "config": {k: cfg.to_dict()[k] for k in ("method", "k", "m", "select")},
            "baseline_mb": round(base, 1), "peak_mb": round(peak, 1), "additional_mb": round(max(0.0, peak - base), 1),
            "measure": "cuda max_memory_allocated" if cuda else host.measure,
            "optimiser_steps": res.steps, "seconds": round(time.perf_counter() - t0, 3),
            "seconds_per_step": res.seconds / max(1, res.steps), "status": res.status,
            "updates_per_trajectory": updates_per_trajectory(cfg)}


def gradnorm_unit(env: Env) -> dict:
    """Per-step gradient norms under full backprop and under EasyTune, averaged over a few batches."""
    from easytune_core.finetune import build_trainer
    from easytune_core.finetune.loop import LoopContext

    s = env.scale
    cfg = method_config(s, METHODS["DRaFT-50"], lr=1e-5, seed=0, batch=s.grad_batch, frames=s.grad_frames,
                        precision=env.precision)
    cfg.max_frames = s.grad_frames
    trainer = build_trainer(cfg, env.checkpoints["base"], env.checkpoints["reward"],
                            OrderedPrompts(env.payload["train"], 99), run_dir=None, device=env.device)
    model, sampler = trainer.model, trainer.sampler
    params = [p for p in model.parameters() if p.requires_grad]
    S = cfg.sampler_steps
    rows = {k: [] for k in ("draft_param", "draft_dx", "draft_dx0", "easytune_param", "easytune_dx0")}
    totals = []
    t0 = time.time()
    for b in range(s.grad_batches):
        gen = torch.Generator().manual_seed(1000 + b)
        _, text_emb, reward_text, mask, x_T = trainer._batch(gen)
        ctx = LoopContext(model=model, sampler=sampler, text_emb=text_emb, mask=mask, reward=trainer.reward,
                          update=lambda *_: None, guidance=cfg.guidance, generator=gen, autocast=trainer.autocast,
                          reward_text_emb=reward_text)
        m = mask[..., None].float()
        # (1) the trajectory with the x path recorded (weights frozen in this pass: less memory)
        model.requires_grad_(False)
        x = x_T.clone().requires_grad_(True)
        xs, x0s = [], []
        for i in range(S):
            x.retain_grad()
            xs.append(x)
            x0 = ctx.predict(i, x)
            x0.retain_grad()
            x0s.append(x0)
            x = sampler.step(x, x0, i) * m
        loss = -ctx.score(x).mean()
        loss.backward()
        model.requires_grad_(True)
        g_x = [float(v.grad.norm()) if v.grad is not None else 0.0 for v in xs]
        g_x0 = [v.grad.detach() for v in x0s]
        per = {k: [] for k in rows}
        total = [torch.zeros_like(p) for p in params]
        # (2) each step's denoiser call again, differentiable in θ, from sg(x_i)
        for i in range(S):
            x_in = xs[i].detach()
            x0 = ctx.predict(i, x_in)
            grads = torch.autograd.grad(x0, params, grad_outputs=g_x0[i], retain_graph=True, allow_unused=True)
            grads = [torch.zeros_like(p) if g is None else g for g, p in zip(grads, params)]
            per["draft_param"].append(float(torch.sqrt(sum((g.float() ** 2).sum() for g in grads))))
            for acc, g in zip(total, grads):
                acc.add_(g)
            x0_leaf = x0.detach().requires_grad_(True)
            et_loss = -ctx.score(x0_leaf).mean()
            (g0,) = torch.autograd.grad(et_loss, x0_leaf)
            grads = torch.autograd.grad(x0, params, grad_outputs=g0, allow_unused=True)
            per["easytune_param"].append(float(torch.sqrt(sum((g.float() ** 2).sum() for g in grads if g is not None))))
            per["easytune_dx0"].append(float(g0.norm()))
            per["draft_dx0"].append(float(g_x0[i].norm()))
            per["draft_dx"].append(g_x[i])
        for k in rows:
            rows[k].append(per[k])
        totals.append(float(torch.sqrt(sum((g.float() ** 2).sum() for g in total))))
        del xs, x0s, g_x0
    out = {k: np.mean(np.asarray(v), axis=0).tolist() for k, v in rows.items()}
    out.update(steps=S, timesteps=[int(t) for t in sampler.timesteps], batches=s.grad_batches,
               batch=s.grad_batch, frames=s.grad_frames, draft_total_param_norm=float(np.mean(totals)),
               seconds=round(time.time() - t0, 1),
               note="step index 0 = pure noise, S-1 = the last step; weights of the base model, no updates")
    return out
