"""Datasets in HumanML3D's layout: writer, loaders, batching (and the built-in synthesiser)."""

from .dataset import LengthBucketSampler, MotionTextDataset, collate_motion, load_stats
from .layout import LayoutSummary, write_humanml3d_folder
from .tokens import caption_tokens, mirror_caption

__all__ = ["write_humanml3d_folder", "LayoutSummary", "MotionTextDataset", "collate_motion",
           "LengthBucketSampler", "load_stats", "caption_tokens", "mirror_caption"]
