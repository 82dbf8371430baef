"""The optimiser step every method shares: backward, cross-rank gradient average, clip, AdamW with
linear warm-up; plus the chain variant's separate policy copy θ′."""

from __future__ import annotations

import math
from typing import Optional

import torch
from torch import nn

from .config import FinetuneConfig
from .distributed import DistInfo, any_flag, average_gradients


class NonFiniteLoss(RuntimeError):
    """The loss became NaN/inf; the job stops and keeps the last good weights."""


class Optimisation:
    """AdamW over the trainable parameters of ``model``.

    chain=True: gradients computed on θ (the sampling model) are moved onto a policy copy θ′ that
    the optimiser steps; :meth:`commit` copies θ′ into θ (end of a trajectory).
    """

    def __init__(self, cfg: FinetuneConfig, model: nn.Module, info: Optional[DistInfo] = None,
                 chain: bool = False, scaler: Optional["torch.amp.GradScaler"] = None):
        self.cfg = cfg
        self.info = info or DistInfo()
        self.params = [p for p in model.parameters() if p.requires_grad]
        if not self.params:
            raise ValueError("the model has no trainable parameters")
        self.chain = chain
        self.policy = [nn.Parameter(p.detach().clone()) for p in self.params] if chain else self.params
        self.opt = torch.optim.AdamW(self.policy, lr=self.lr_at(0), betas=(0.9, 0.999), eps=1e-8,
                                     weight_decay=cfg.weight_decay)
        self.scaler = scaler
        self.steps = 0

    def lr_at(self, step: int) -> float:
        """Linear warm-up over ``warmup`` optimiser steps, then constant (the released code's
        cosine schedule spans 3000 epochs, so it is flat in practice)."""
        if self.cfg.warmup <= 0:
            return self.cfg.lr
        return self.cfg.lr * min(1.0, (step + 1) / (self.cfg.warmup + 1))

    @property
    def lr(self) -> float:
        return self.opt.param_groups[0]["lr"]

    def step(self, loss: torch.Tensor) -> float:
        """Back-propagate ``loss`` and take one optimiser step; returns the pre-clip grad norm."""
        # every rank must agree, or the others would wait forever in the gradient all-reduce
        if any_flag(not bool(torch.isfinite(loss.detach()).all()), self.info):
            raise NonFiniteLoss(f"loss became non-finite ({float(loss.detach())} on this process) at "
                                f"optimiser step {self.steps + 1}")
        if self.scaler is not None:
            self.scaler.scale(loss).backward()
        else:
            loss.backward()
        average_gradients(self.params, self.info)
        if self.chain:
            for p, q in zip(self.params, self.policy):
                q.grad = p.grad
                p.grad = None
        if self.scaler is not None:
            self.scaler.unscale_(self.opt)
        norm = float(torch.nn.utils.clip_grad_norm_(self.policy, self.cfg.grad_clip))
        if self.scaler is not None:
            self.scaler.step(self.opt)
            self.scaler.update()
        else:
            self.opt.step()
        self.opt.zero_grad(set_to_none=True)
        for p in self.params:
            p.grad = None
        self.steps += 1
        for group in self.opt.param_groups:
            group["lr"] = self.lr_at(self.steps)
        return norm if math.isfinite(norm) else float("nan")

    def commit(self) -> None:
        """θ ← θ′ (chain variant); a no-op otherwise."""
        if self.chain:
            with torch.no_grad():
                for p, q in zip(self.params, self.policy):
                    p.copy_(q)

    # -- resume ---------------------------------------------------------------------------------
    def state_tensors(self) -> dict[str, torch.Tensor]:
        """Optimiser moments (+ the θ′ copy) as flat named tensors, for safetensors."""
        out: dict[str, torch.Tensor] = {}
        for idx, state in self.opt.state_dict()["state"].items():
            for name, value in state.items():
                if torch.is_tensor(value):
                    out[f"{idx}.{name}"] = value.detach().cpu().contiguous()
        if self.chain:
            for idx, q in enumerate(self.policy):
                out[f"policy.{idx}"] = q.detach().cpu().contiguous()
        return out

    def load_state_tensors(self, tensors: dict[str, torch.Tensor], steps: int) -> None:
        sd = self.opt.state_dict()
        state: dict[int, dict] = {}
        for key, value in tensors.items():
            head, name = key.split(".", 1)
            if head == "policy":
                with torch.no_grad():
                    self.policy[int(name)].copy_(value)
                continue
            state.setdefault(int(head), {})[name] = value
        if state and len(state) != len(self.policy):
            raise ValueError("saved optimiser state does not match this model's trainable parameters")
        sd["state"] = state
        self.opt.load_state_dict(sd)
        self.steps = steps
        for group in self.opt.param_groups:
            group["lr"] = self.lr_at(steps)
