"""The fine-tuning trainer: prompts -> trajectories (one strategy over the one loop) -> optimiser
steps, with events, a run folder, resume, cancellation and NaN handling.

Run folder::

    config.json        the FinetuneConfig + where base model and reward came from
    metrics.jsonl      one JSON event per optimiser step
    checkpoint/        the fine-tuned denoiser (LoRA merged in), loadable by the pipeline
    lora/              the adapters alone (LoRA runs only)
    optimizer.safetensors, state.json   what --resume needs
    resume_weights.safetensors          the exact float32 weights of the sampling model, when checkpoint/
                                        is stored in float16 or holds the chain variant's policy copy

Every file is written through a temporary one renamed into place, and checkpoint/ is swapped in
whole, so a run stopped at any moment resumes from its last complete save.
"""

from __future__ import annotations

import contextlib
import json
import resource
import shutil
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional, Sequence

import torch
from torch import nn

from ..checkpoints import atomic_write, swap_in
from ..diffusion.sampler import _frame_mask
from .config import FinetuneConfig
from .distributed import DistInfo, all_mean, any_flag, broadcast_parameters
from .io import CheckpointIO
from .lora import has_lora, lora_state_dict, load_lora_state_dict, merged_state_dict
from .loop import LoopContext, RewardFn, run_trajectory
from .optim import NonFiniteLoss, Optimisation
from .strategies import make_strategy

Callback = Callable[[dict], None]


RESUME_WEIGHTS = "resume_weights.safetensors"
"""For --resume: the exact float32 weights of the sampling model, when checkpoint/ is stored in a lower
precision or holds the chain variant's policy copy."""


class Cancelled(Exception):
    """Raised inside the loop after an optimiser step when cancellation was requested."""


class _Stop(Exception):
    """Internal: a budget (steps, time, target reward) is reached mid-trajectory."""


@dataclass
class TrainResult:
    """Outcome of :meth:`FinetuneTrainer.train`."""

    status: str
    """finished | cancelled | failed"""
    steps: int
    checkpoint: Optional[Path]
    message: str = ""
    seconds: float = 0.0
    history: list = field(default_factory=list)


def peak_memory_mb(device: str) -> float:
    """Peak memory so far: CUDA max_memory_allocated, else the process's peak RSS (MiB)."""
    if str(device).startswith("cuda") and torch.cuda.is_available():
        return torch.cuda.max_memory_allocated() / 2 ** 20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def autocast_factory(precision: str, device: str) -> Callable[[], contextlib.AbstractContextManager]:
    """auto = fp16 AMP on CUDA, bf16 autocast on CPUs with native bf16, fp32 on other CPUs (where
    torch emulates bf16 several times slower); fp32 = no autocast."""
    from ..data.loader import auto_precision
    dev = "cuda" if str(device).startswith("cuda") else "cpu"
    if precision == "auto":
        precision = auto_precision(dev)
    if precision == "fp32":
        return contextlib.nullcontext
    if precision == "fp16" and dev == "cpu":
        raise ValueError("fp16 needs CUDA; use --precision bf16 or fp32 on CPU")
    dtype = torch.bfloat16 if precision == "bf16" else torch.float16
    return lambda: torch.autocast(device_type=dev, dtype=dtype)


class FinetuneTrainer:
    """Fine-tunes ``model`` in place with the method in ``cfg``.

    Args:
        model: denoiser (trainable parameters = all, or the LoRA adapters if it has them).
        sampler: DDIMSampler-like (see loop.LoopContext).
        encode_text: list[str] -> the denoiser's text input (``MotionPipeline.encode``).
        reward: differentiable RewardFn on model-space (normalised) features.
        prompts: ``source(batch_size, generator) -> (captions, frames)``.
        feature_dim: D of the motion features (263 for HumanML3D).
        io: writes/reads checkpoints (None = no files at all, e.g. in tests).
        base_model: frozen reference for ``reg_weight`` (LoRA: a lora.BaseView).
        callbacks: each receives every event dict.
        cancel: a threading.Event; set it to stop after the current optimiser step.
        encode_reward_text: the reward's text encoder when it differs from the denoiser's (or the pooled
            embeddings when the denoiser reads token states).
        latent: for latent models, ``(tokens, dim, decode)``: the sampler runs on (B, tokens, dim)
            latents and ``decode(state, frame_mask)`` turns them into features for the reward
            (through the frozen VAE decoder); None = frame space.
    """

    def __init__(self, cfg: FinetuneConfig, model: nn.Module, sampler, encode_text: Callable,
                 reward: RewardFn, prompts: Callable, feature_dim: int, *, device: str = "cpu",
                 run_dir: Optional[str | Path] = None, io: Optional[CheckpointIO] = None,
                 base_model: Optional[nn.Module] = None, callbacks: Sequence[Callback] = (),
                 cancel: Optional[threading.Event] = None, dist_info: Optional[DistInfo] = None,
                 run_meta: Optional[dict] = None, resume: bool = False,
                 encode_reward_text: Optional[Callable] = None, latent: Optional[tuple] = None):
        self.cfg, self.model, self.sampler = cfg, model, sampler
        self.encode_text, self.reward, self.prompts = encode_text, reward, prompts
        self.encode_reward_text = encode_reward_text
        self.feature_dim, self.device = feature_dim, device
        self.latent = latent
        self.run_dir = Path(run_dir) if run_dir else None
        self.io, self.base_model = io, base_model
        self.callbacks = list(callbacks)
        self.cancel = cancel or threading.Event()
        self.info = dist_info or DistInfo()
        self.run_meta = dict(run_meta or {})
        self.autocast = autocast_factory(cfg.precision, device)
        scaler = None
        if self.autocast is not contextlib.nullcontext and str(device).startswith("cuda") \
                and cfg.precision in ("auto", "fp16"):
            scaler = torch.amp.GradScaler("cuda")
        self.optim = Optimisation(cfg, model, self.info, chain=cfg.method == "easytune-chain", scaler=scaler)
        broadcast_parameters(self.optim.params, self.info)
        self.strategy = make_strategy(cfg)
        self.history: list[dict] = []
        self.t_start = 0.0
        self.elapsed_before = 0.0
        self.saved_step = -1
        self._stop_reason = ""
        if resume:
            self._resume()
        elif self.run_dir is not None and self.info.is_main:
            earlier = [n for n in ("state.json", "metrics.jsonl", "checkpoint", "snapshots") if (self.run_dir / n).exists()]
            if earlier:  # a new run would mix its metrics and snapshots with the earlier run's
                raise FileExistsError(f"{self.run_dir} holds an earlier run ({', '.join(earlier)}): continue it with "
                                      "--resume, or start this one in another folder")

    # -- events -----------------------------------------------------------------------------------
    def _emit(self, event: dict) -> None:
        self.history.append(event)
        if self.info.is_main and self.run_dir is not None:
            with open(self.run_dir / "metrics.jsonl", "a", encoding="utf-8") as fh:
                fh.write(json.dumps(event) + "\n")
        for cb in self.callbacks:
            cb(event)

    def seconds(self) -> float:
        return self.elapsed_before + (time.perf_counter() - self.t_start)

    def _update(self, loss: torch.Tensor, reward: torch.Tensor) -> None:
        """The loop's update hook: one optimiser step, then the event and the stop checks."""
        t0 = time.perf_counter()
        lr = self.optim.lr  # the rate this step uses (the optimiser moves on to the next step's)
        grad_norm = self.optim.step(loss)
        step = self.optim.steps
        event = {
            "step": step,
            "reward": all_mean(float(reward.float().mean()), self.info),
            "loss": all_mean(float(loss.detach()), self.info),
            "lr": lr,
            "seconds": round(self.seconds(), 4),
            "step_seconds": round(time.perf_counter() - t0, 4),
            "peak_memory": round(peak_memory_mb(self.device), 2),
            "grad_norm": grad_norm,
            "method": self.cfg.method,
        }
        self._emit(event)
        if self.cfg.save_every and step % self.cfg.save_every == 0:
            self.save()
        if self.cfg.keep_every and step % self.cfg.keep_every == 0:
            self.snapshot()
        if any_flag(self.cancel.is_set(), self.info):
            raise Cancelled()
        reason = ""
        if step >= self.cfg.max_steps:
            reason = "max_steps"
        elif self.cfg.max_seconds and self.seconds() >= self.cfg.max_seconds:
            reason = "max_seconds"
        elif self.cfg.target_reward and len(self.history) >= 5 and self._running_reward() >= self.cfg.target_reward:
            reason = "target_reward"
        if any_flag(bool(reason), self.info):
            self._stop_reason = reason or "another rank stopped"
            raise _Stop()

    def _running_reward(self, window: int = 5) -> float:
        recent = [e["reward"] for e in self.history[-window:]]
        return sum(recent) / max(1, len(recent))

    # -- one batch --------------------------------------------------------------------------------
    def _batch(self, generator: torch.Generator):
        captions, frames = self.prompts(self.cfg.batch_size, generator)
        if self.cfg.frames:
            frames = [self.cfg.frames] * len(captions)
        frames = [min(int(f), self.cfg.max_frames) for f in frames]
        T = max(frames)
        lengths = torch.tensor(frames)
        mask = (torch.arange(T)[None, :] < lengths[:, None]).to(self.device)
        if self.latent is None:
            noise = torch.randn(len(captions), T, self.feature_dim, generator=generator)
            x_T = noise.to(self.device)
            if _frame_mask(self.model, mask) is not None:  # models without frame masking (MDM's first
                x_T = x_T * mask.unsqueeze(-1)             # release) denoise padded frames from noise, as when sampling
        else:
            tokens, dim, _ = self.latent
            x_T = torch.randn(len(captions), tokens, dim, generator=generator).to(self.device)
        with torch.no_grad():
            text_emb = self.encode_text(list(captions)).to(self.device).float()
            reward_text = None
            if self.encode_reward_text is not None:
                reward_text = self.encode_reward_text(list(captions)).to(self.device).float()
        return captions, text_emb, reward_text, mask, x_T

    def train(self) -> TrainResult:
        """Run until max_steps / max_seconds / target_reward, cancellation or a non-finite loss."""
        cfg = self.cfg
        if self.run_dir is not None and self.info.is_main:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            (self.run_dir / "config.json").write_text(json.dumps(
                {"finetune": cfg.to_dict(), **self.run_meta}, indent=2))
        self.t_start = time.perf_counter()
        self.model.train(False)  # no dropout while sampling / rewarding the model's own trajectory
        status, message = "finished", ""
        try:
            while self.optim.steps < cfg.max_steps:
                if any_flag(self.cancel.is_set(), self.info):
                    raise Cancelled()
                # reseeded from the step count so a resumed run continues, not repeats
                gen = torch.Generator().manual_seed(cfg.seed * 1_000_003 + self.info.rank * 7919 + self.optim.steps)
                captions, text_emb, reward_text, mask, x_T = self._batch(gen)
                frame_mask, decode = None, None
                if self.latent is not None:  # the sampler sees latent tokens; the reward sees decoded frames
                    frame_mask, decode = mask, self.latent[2]
                    mask = torch.ones(x_T.shape[:2], dtype=torch.bool, device=self.device)
                ctx = LoopContext(model=self.model, sampler=self.sampler, text_emb=text_emb, mask=mask,
                                  reward=self.reward, update=self._update, guidance=cfg.guidance,
                                  commit=self.optim.commit, base_model=self.base_model,
                                  reg_weight=cfg.reg_weight, generator=gen, autocast=self.autocast,
                                  reward_text_emb=reward_text, decode=decode, frame_mask=frame_mask)
                try:
                    run_trajectory(ctx, self.strategy, x_T)
                except _Stop:
                    break
            message = self._stop_reason or "max_steps"
        except Cancelled:
            status, message = "cancelled", f"cancelled after optimiser step {self.optim.steps}"
        except NonFiniteLoss as err:
            status = "failed"
            message = f"{err}; stopped. "
            if all(torch.isfinite(p).all() for p in self.optim.params):
                message += "The weights before that step are finite and were kept"
            else:
                message += "The weights are not finite; the last good checkpoint was kept"
        self.optim.commit()  # chain: θ ← θ′ also when stopped mid-trajectory
        checkpoint = None
        if status != "failed" or all(torch.isfinite(p).all() for p in self.optim.params):
            checkpoint = self.save()
        elif self.saved_step >= 0 and self.run_dir is not None:
            checkpoint = self.run_dir / "checkpoint"
        if status == "failed" and checkpoint is not None:
            message += f" in {checkpoint} (optimiser step {self.saved_step})"
        return TrainResult(status, self.optim.steps, checkpoint, message, self.seconds(), self.history)

    # -- files ------------------------------------------------------------------------------------
    def save(self) -> Optional[Path]:
        """Write checkpoint (+ LoRA, optimiser state, step) into the run folder; rank 0 only."""
        if self.run_dir is None or self.io is None:
            return None
        folder = self.run_dir / "checkpoint"
        if not self.info.is_main:
            return folder
        meta = {"finetune": self.cfg.to_dict(), "optimiser_steps": self.optim.steps,
                "mean_reward_last": self._running_reward() if self.history else None, **self.run_meta}
        tmp = self.run_dir / "checkpoint.tmp"
        if tmp.exists():
            shutil.rmtree(tmp)
        weights = self.current_weights()
        self.io.save(tmp, weights, "denoiser", meta)
        swap_in(tmp, folder)  # never leaves a half-written (or no) checkpoint behind
        from safetensors.torch import save_file
        if has_lora(self.model):
            self.io.save_lora(self.run_dir / "lora", lora_state_dict(self.model),
                              {"rank": self.cfg.lora_rank, "alpha": self.cfg.lora_alpha or self.cfg.lora_rank, **meta})
        elif self.io.dtype is not None or self.optim.chain:
            # What --resume needs exactly: the float32 weights (the checkpoint may be rounded) of the
            # sampling model θ (chain: the checkpoint holds θ′, which θ receives at the trajectory's end).
            sampling = merged_state_dict(self.model) if self.optim.chain else weights  # θ (chain) or the same
            full = {k: v.detach().cpu().contiguous() for k, v in sampling.items()}
            atomic_write(self.run_dir / RESUME_WEIGHTS, lambda p: save_file(full, str(p)))
        atomic_write(self.run_dir / "optimizer.safetensors", lambda p: save_file(self.optim.state_tensors(), str(p)))
        atomic_write(self.run_dir / "state.json", lambda p: p.write_text(json.dumps(
            {"step": self.optim.steps, "seconds": self.seconds(), "status_at_save": "ok"})))
        self.saved_step = self.optim.steps
        return folder

    def current_weights(self) -> dict:
        """The merged weights after the optimiser steps taken so far: the model's, or in the chain
        variant the policy copy θ′ (θ, which samples the running trajectory, receives θ′ only at its end)."""
        if not self.optim.chain:
            return merged_state_dict(self.model)
        with torch.no_grad():
            kept = [p.detach().clone() for p in self.optim.params]
            for p, q in zip(self.optim.params, self.optim.policy):
                p.copy_(q)
            try:
                return merged_state_dict(self.model)
            finally:
                for p, k in zip(self.optim.params, kept):
                    p.copy_(k)

    def snapshot(self) -> Optional[Path]:
        """Keep the current (merged) weights in snapshots/step-NNNNNN/, loadable by the pipeline; rank 0 only."""
        if self.run_dir is None or self.io is None or not self.info.is_main:
            return None
        folder = self.run_dir / "snapshots" / f"step-{self.optim.steps:06d}"
        meta = {"finetune": self.cfg.to_dict(), "optimiser_steps": self.optim.steps,
                "mean_reward_last": self._running_reward() if self.history else None,
                "seconds": round(self.seconds(), 2), **self.run_meta}
        tmp = folder.with_name(folder.name + ".tmp")
        if tmp.exists():
            shutil.rmtree(tmp)
        self.io.save(tmp, self.current_weights(), "denoiser", meta)
        swap_in(tmp, folder)
        return folder

    def _resume(self) -> None:
        if self.run_dir is None or self.io is None:
            raise ValueError("resume needs a run folder")
        state_file = self.run_dir / "state.json"
        if not state_file.is_file():
            raise FileNotFoundError(f"nothing to resume in {self.run_dir}: no state.json (start without --resume)")
        state = json.loads(state_file.read_text())
        folder, old = self.run_dir / "checkpoint", self.run_dir / "checkpoint.old"
        if not folder.exists() and old.exists():  # stopped between the two renames of a save
            old.rename(folder)
        from safetensors.torch import load_file
        if has_lora(self.model):
            load_lora_state_dict(self.model, self.io.load_lora(self.run_dir / "lora"))
        elif (self.run_dir / RESUME_WEIGHTS).is_file():
            self.model.load_state_dict(load_file(str(self.run_dir / RESUME_WEIGHTS)))
        else:
            self.model.load_state_dict(self.io.load(folder))
        self.optim.load_state_tensors(load_file(str(self.run_dir / "optimizer.safetensors")), int(state["step"]))
        self.elapsed_before = float(state.get("seconds", 0.0))
        self.saved_step = int(state["step"])
