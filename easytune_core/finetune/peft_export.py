"""LoRA adapters in Hugging Face peft's layout (``adapter_config.json`` + ``adapter_model.safetensors``).

Our adapters (:mod:`easytune_core.finetune.lora`) parametrise weights; peft wraps modules. The
two describe the same update W + (alpha/r)·B@A, so the tensors map one to one:

- an ``nn.Linear`` ``L`` (``linear1``, ``linear2``, ...) -> peft's LoRA Linear on ``L``
  (``base_model.model.L.lora_A.weight`` / ``lora_B.weight``);
- the packed ``in_proj_weight`` of an ``nn.MultiheadAttention`` ``M`` -> peft's LoRA
  MultiheadAttention on ``M`` (``base_model.model.M.lora_A.weight``); peft always adapts
  ``M.out_proj`` with it (``base_model.model.M.base_layer.out_proj.lora_A.weight``), so our
  ``out_proj`` adapter goes there, and zeros (no change) when we did not adapt ``out_proj``.

What peft cannot express is refused with a clear error: attention with separate q/k/v weights
(peft supports only the packed in-projection) and adapters of different ranks or scales within
one model. Loading: ``peft.PeftModel.from_pretrained(MotionDenoiser(config), folder)``.

Two caveats of peft itself (checked with peft 0.21.2, tests/test_lora_peft.py):

- torch's ``TransformerEncoderLayer`` has an inference fast path that reads the weights
  directly and so skips peft's wrapped modules; run a peft-wrapped denoiser with
  ``torch.backends.mha.set_fastpath_enabled(False)`` (or in training mode).
- peft's LoRA ``MultiheadAttention`` applies the ``out_proj`` update twice (W + 2·scale·B@A),
  in its forward and in ``merge_and_unload`` (fix proposed upstream, huggingface/peft#3774).
  The files here hold the update once, as peft's format defines it; until that fix, a peft-loaded
  model matches ours exactly only for adapters without an ``out_proj`` part
  (``add_lora(..., pattern=...)`` excluding it). Our own loader is exact in every case.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import torch
from torch import nn

ADAPTER_CONFIG = "adapter_config.json"
ADAPTER_WEIGHTS = "adapter_model.safetensors"
_KEY = re.compile(r"^(?P<module>.*?)\.?parametrizations\.(?P<param>\w+)\.0\.(?P<ab>lora_[AB])$")
_PREFIX = "base_model.model."


def peft_state_dict(lora_state: dict[str, torch.Tensor]) -> tuple[dict[str, torch.Tensor], list[str]]:
    """Our adapter tensors (:func:`lora.lora_state_dict`) -> peft's key names.

    Returns:
        (state dict with peft keys, sorted peft ``target_modules``). Raises ValueError for
        adapters peft cannot represent.
    """
    entries = {}
    for key, value in lora_state.items():
        m = _KEY.match(key)
        if m is None:
            raise ValueError(f"{key!r} is not a LoRA adapter tensor of easytune_core.finetune.lora")
        module, param = m.group("module"), m.group("param")
        if param in ("q_proj_weight", "k_proj_weight", "v_proj_weight"):
            raise ValueError(f"{module} is an attention block with separate q/k/v weights; peft's LoRA supports only "
                             "the packed in_proj_weight, so this adapter cannot be written in peft's layout "
                             "(keep our layout: easytune_core.finetune.lora.load_lora_state_dict)")
        if param not in ("in_proj_weight", "weight"):
            raise ValueError(f"{key!r}: peft has no LoRA layer for parameter {param!r}")
        entries[(module, param, m.group("ab"))] = value.detach().cpu().contiguous()
    attention = {mod for (mod, param, _) in entries if param == "in_proj_weight"}
    out, targets = {}, set()
    for (module, param, ab), value in entries.items():
        if param == "in_proj_weight":
            out[f"{_PREFIX}{module}.{ab}.weight"] = value
            targets.add(module)
        elif module.endswith(".out_proj") and module[: -len(".out_proj")] in attention:
            out[f"{_PREFIX}{module[: -len('.out_proj')]}.base_layer.out_proj.{ab}.weight"] = value
        else:
            out[f"{_PREFIX}{module}.{ab}.weight"] = value
            targets.add(module)
    for module in attention:  # peft adapts out_proj with every attention block: zeros leave it unchanged
        a_key = f"{_PREFIX}{module}.base_layer.out_proj.lora_A.weight"
        if a_key not in out:
            rank = out[f"{_PREFIX}{module}.lora_A.weight"].shape[0]
            width = out[f"{_PREFIX}{module}.lora_A.weight"].shape[1]
            out[a_key] = torch.zeros(rank, width)
            out[f"{_PREFIX}{module}.base_layer.out_proj.lora_B.weight"] = torch.zeros(width, rank)
    return out, sorted(targets)


def save_peft_adapter(folder, lora_state: dict[str, torch.Tensor], rank: int, alpha: float,
                      base_model: str | None = None) -> Path:
    """Write ``adapter_config.json`` + ``adapter_model.safetensors`` into ``folder``.

    Args:
        lora_state: our adapter tensors (:func:`lora.lora_state_dict` or a saved ``lora/`` folder).
        rank, alpha: the adapter's rank and alpha (scale alpha / rank, as peft without rsLoRA).
        base_model: recorded as ``base_model_name_or_path`` (a folder or Hub id of the denoiser).
    """
    from safetensors.torch import save_file

    rank = int(rank)
    state, targets = peft_state_dict(lora_state)
    for key, value in state.items():
        r = value.shape[0] if ".lora_A." in key else value.shape[1]
        if r != rank:
            raise ValueError(f"{key} has rank {r}, the adapter's rank is {rank}; peft's layout needs one rank")
    config = {
        "peft_type": "LORA", "task_type": None, "r": rank, "lora_alpha": float(alpha or rank),
        "target_modules": targets, "lora_dropout": 0.0, "bias": "none", "fan_in_fan_out": False,
        "use_rslora": False, "use_dora": False, "init_lora_weights": True, "inference_mode": True,
        "modules_to_save": None, "base_model_name_or_path": base_model,
        "auto_mapping": {"base_model_class": "MotionDenoiser", "parent_library": "easytune_core.diffusion.denoiser"},
    }
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    save_file(state, str(folder / ADAPTER_WEIGHTS), metadata={"format": "pt"})
    (folder / ADAPTER_CONFIG).write_text(json.dumps(config, indent=2, sort_keys=True))
    return folder


def save_peft_from_model(folder, model: nn.Module, base_model: str | None = None) -> Path:
    """:func:`save_peft_adapter` for a model carrying adapters from :func:`lora.add_lora`."""
    from .lora import LoRADelta, lora_state_dict

    deltas = [m for m in model.modules() if isinstance(m, LoRADelta)]
    if not deltas:
        raise ValueError("the model has no LoRA adapters (add_lora) to export")
    ranks = {d.lora_A.shape[0] for d in deltas}
    scales = {round(d.scale, 12) for d in deltas}
    if len(ranks) != 1 or len(scales) != 1:
        raise ValueError(f"adapters of several ranks {sorted(ranks)} or scales {sorted(scales)} cannot share one "
                         "peft adapter_config")
    rank = ranks.pop()
    return save_peft_adapter(folder, lora_state_dict(model), rank, scales.pop() * rank, base_model)
