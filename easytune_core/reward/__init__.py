"""easytune_core.reward: noise-aware text-motion retrieval reward model and SPL."""

from easytune_core.reward.model import RewardConfig, RewardModel, load_reward_model
from easytune_core.reward.spl import mine_preferences, spl_loss

__all__ = ["RewardConfig", "RewardModel", "load_reward_model", "mine_preferences", "spl_loss"]
