"""easytune_core.finetune: EasyTune and the baselines as strategies over one sampling loop,
the trainer, LoRA, and the background engine."""

from .config import METHODS, FinetuneConfig
from .loop import LoopContext, Strategy, run_trajectory, select_steps, step_weights
from .strategies import make_strategy
from .trainer import Cancelled, FinetuneTrainer, TrainResult
from .prompts import ListPrompts, SplitPrompts
from .lora import add_lora, lora_state_dict, load_lora_state_dict, merge_lora, merged_state_dict
from .build import RewardFn, build_trainer

__all__ = ["METHODS", "FinetuneConfig", "LoopContext", "Strategy", "run_trajectory", "select_steps",
           "step_weights", "make_strategy", "Cancelled", "FinetuneTrainer", "TrainResult", "ListPrompts",
           "SplitPrompts", "add_lora", "lora_state_dict", "load_lora_state_dict", "merge_lora",
           "merged_state_dict", "RewardFn", "build_trainer"]
