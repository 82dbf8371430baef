"""Reading and writing the fine-tuned weights as EasyTune checkpoint folders."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Optional

import torch

from ..checkpoints import load_checkpoint, save_checkpoint
from .peft_export import save_peft_adapter


class CheckpointIO:
    """Saves denoiser checkpoints (config + stats of the base model) and LoRA adapters.

    Args:
        model_config: the denoiser's config (dataclass or dict), stored with every checkpoint.
        mean, std: (D,) feature statistics of the base model (copied unchanged).
        dtype: storage dtype of floating weights (None = float32).
    """

    def __init__(self, model_config, mean=None, std=None, dtype: Optional[torch.dtype] = None):
        self.model_config, self.mean, self.std, self.dtype = model_config, mean, std, dtype

    def save(self, folder: Path, state_dict: dict, kind: str, meta: dict) -> Path:
        return save_checkpoint(folder, None, self.model_config, kind, mean=self.mean, std=self.std,
                               meta=meta, dtype=self.dtype, state_dict=state_dict)

    def load(self, folder: Path) -> dict:
        return load_checkpoint(folder, expected_kind="denoiser").state_dict

    def save_lora(self, folder: Path, state_dict: dict, meta: dict) -> Path:
        """Adapters alone, kind "lora"; ``meta`` holds rank, alpha and the base checkpoint.

        The same folder also gets peft's files (adapter_config.json, adapter_model.safetensors;
        :mod:`.peft_export`), so ``peft.PeftModel.from_pretrained(MotionDenoiser(config), folder)``
        loads it too. An adapter peft cannot express keeps our files only, with a warning."""
        out = save_checkpoint(folder, None, {"rank": meta.get("rank"), "alpha": meta.get("alpha"),
                                             "base": meta.get("base")},
                              "lora", meta=meta, state_dict=state_dict)
        try:
            save_peft_adapter(folder, state_dict, meta["rank"], meta.get("alpha") or meta["rank"],
                              base_model=str(meta["base"]) if meta.get("base") else None)
        except ValueError as err:
            warnings.warn(f"LoRA adapter saved in EasyTune's layout only: {err}", RuntimeWarning)
        return out

    def load_lora(self, folder: Path) -> dict:
        return load_checkpoint(folder, expected_kind="lora").state_dict
