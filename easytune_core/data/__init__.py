"""Datasets in HumanML3D's layout: the built-in synthesiser, BVH import, writer, loaders, batching."""

from .builtin import DEFAULT_SIZE, generate_builtin, iter_builtin, resolve_dataset
from .bvh_folder import read_captions_file, write_bvh_dataset
from .dataset import LengthBucketSampler, MotionTextDataset, collate_motion, load_stats
from .layout import LayoutSummary, write_humanml3d_folder
from .synth import SynthSample, synthesize_sample
from .tokens import caption_tokens, mirror_caption

__all__ = ["resolve_dataset", "write_humanml3d_folder", "LayoutSummary", "MotionTextDataset", "collate_motion",
           "LengthBucketSampler", "load_stats", "caption_tokens", "mirror_caption",
           "write_bvh_dataset", "read_captions_file", "synthesize_sample", "SynthSample",
           "generate_builtin", "iter_builtin", "DEFAULT_SIZE"]
