"""LoRA on the denoiser's attention and feed-forward weights: add, save alone, load, merge.

Implemented as a weight parametrisation W' = W + (B·A)·alpha/rank (torch.nn.utils.parametrize),
so it covers ``nn.Linear`` and the packed ``in_proj_weight`` of ``nn.MultiheadAttention`` alike
without touching the model's code. B starts at zero, so a fresh adapter leaves outputs unchanged.
"""

from __future__ import annotations

import contextlib
import re
from typing import Iterator

import torch
from torch import nn
from torch.nn.utils import parametrize

DEFAULT_TARGETS = r"(attn|attention)\.\w*(proj|to_q|to_k|to_v|to_out|qkv)|(^|\.)(linear1|linear2|fc1|fc2)$"
"""Regex on an nn.Linear's qualified name selecting attention projections and transformer
feed-forward layers (``self_attn.out_proj``, ``linear1``, ``linear2`` in torch's encoder layer);
the packed q/k/v weight of every nn.MultiheadAttention is always adapted."""


class LoRADelta(nn.Module):
    """Parametrisation W -> W + scale·B@A with A (r, in), B (out, r)."""

    def __init__(self, out_features: int, in_features: int, rank: int, alpha: float):
        super().__init__()
        self.lora_A = nn.Parameter(torch.empty(rank, in_features))
        self.lora_B = nn.Parameter(torch.zeros(out_features, rank))
        nn.init.kaiming_uniform_(self.lora_A, a=5 ** 0.5)
        self.scale = alpha / rank
        self.enabled = True

    def forward(self, weight: torch.Tensor) -> torch.Tensor:
        if not self.enabled:
            return weight
        return weight + (self.lora_B @ self.lora_A).to(weight.dtype) * self.scale


def _targets(model: nn.Module, pattern: str) -> Iterator[tuple[str, nn.Module, str]]:
    """(module name, module, parameter name) of every weight LoRA should adapt."""
    rx = re.compile(pattern)
    for name, mod in model.named_modules():
        if isinstance(mod, nn.MultiheadAttention):
            if mod.in_proj_weight is not None:
                yield name, mod, "in_proj_weight"
            else:
                for p in ("q_proj_weight", "k_proj_weight", "v_proj_weight"):
                    yield name, mod, p
        elif isinstance(mod, nn.Linear) and rx.search(name):
            yield name, mod, "weight"


def add_lora(model: nn.Module, rank: int, alpha: float = 0.0, pattern: str = DEFAULT_TARGETS) -> list[str]:
    """Freeze ``model`` and add rank-``rank`` adapters; returns the adapted weight names.

    ``out_proj`` of an attention block is an ``nn.Linear`` and is matched by the pattern.
    Raises ValueError if nothing matches (the model has no attention / feed-forward layers).
    """
    if rank < 1:
        raise ValueError(f"LoRA rank must be at least 1, got {rank}")
    for p in model.parameters():
        p.requires_grad_(False)
    names = []
    for mod_name, mod, pname in list(_targets(model, pattern)):
        weight = getattr(mod, pname)
        if parametrize.is_parametrized(mod, pname):
            continue
        delta = LoRADelta(weight.shape[0], weight.shape[1], rank, alpha or float(rank)).to(weight.device)
        parametrize.register_parametrization(mod, pname, delta)
        names.append(f"{mod_name}.{pname}" if mod_name else pname)
    if not names:
        raise ValueError("LoRA found no attention or feed-forward weights to adapt in this model")
    return names


def _deltas(model: nn.Module) -> Iterator[LoRADelta]:
    for mod in model.modules():
        if isinstance(mod, LoRADelta):
            yield mod


def has_lora(model: nn.Module) -> bool:
    return any(True for _ in _deltas(model))


def lora_state_dict(model: nn.Module) -> dict[str, torch.Tensor]:
    """Only the adapter tensors (A, B), keyed by their names in ``model``."""
    return {k: v.detach().clone() for k, v in model.state_dict().items() if ".lora_A" in k or ".lora_B" in k}


def load_lora_state_dict(model: nn.Module, state: dict[str, torch.Tensor]) -> None:
    """Load adapter tensors saved by :func:`lora_state_dict` into a model with matching adapters."""
    own = lora_state_dict(model)
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    if missing or unexpected:
        raise ValueError(f"LoRA weights do not match this model: missing {missing[:3]}, unexpected {unexpected[:3]}"
                         " (was it saved with the same rank and base model?)")
    model.load_state_dict(state, strict=False)


def merged_state_dict(model: nn.Module) -> dict[str, torch.Tensor]:
    """The plain state dict of the model with adapters folded in (W + scale·B@A), without
    changing ``model``; loads into the un-adapted model class."""
    out: dict[str, torch.Tensor] = {}
    parametrized: dict[str, nn.Module] = {}
    for name, mod in model.named_modules():
        if parametrize.is_parametrized(mod):
            parametrized[name] = mod
    for key, value in model.state_dict().items():
        if ".parametrizations." in key:
            continue
        out[key] = value.detach().clone()
    with torch.no_grad():
        for name, mod in parametrized.items():
            for pname in mod.parametrizations.keys():
                key = f"{name}.{pname}" if name else pname
                out[key] = getattr(mod, pname).detach().clone()
    return out


def merge_lora(model: nn.Module) -> nn.Module:
    """Fold adapters into the weights in place and remove them; returns ``model``."""
    for mod in list(model.modules()):
        if parametrize.is_parametrized(mod):
            for pname in list(mod.parametrizations.keys()):
                parametrize.remove_parametrizations(mod, pname, leave_parametrized=True)
    return model


@contextlib.contextmanager
def lora_disabled(model: nn.Module):
    """Run ``model`` as its frozen base (adapters bypassed) inside the block."""
    deltas = list(_deltas(model))
    prev = [d.enabled for d in deltas]
    for d in deltas:
        d.enabled = False
    try:
        yield model
    finally:
        for d, p in zip(deltas, prev):
            d.enabled = p


class BaseView(nn.Module):
    """The frozen base model seen through a LoRA model (adapters off), for the regulariser;
    shares weights, so it costs no memory."""

    def __init__(self, model: nn.Module):
        super().__init__()
        object.__setattr__(self, "_wrapped", model)  # not a submodule: no duplicate parameters

    def forward(self, *args, **kwargs):
        with lora_disabled(self._wrapped):
            return self._wrapped(*args, **kwargs)

    def __getattr__(self, name):
        try:
            return super().__getattr__(name)
        except AttributeError:
            return getattr(object.__getattribute__(self, "_wrapped"), name)
