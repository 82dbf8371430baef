"""Editing and composing motions on the sampler's guide hook: masks over frames and feature channels,
named presets, path control, source import, long multi-prompt timelines, several takes per prompt."""

from .masks import (CHANNEL_GROUPS, LOWER_BODY_JOINTS, UPPER_BODY_JOINTS, EditSpec, channel_mask, frame_mask,
                    joint_channels, lower_body_channels, root_path_channels, upper_body_channels,
                    upper_body_pose_channels)
from .path import check_path, path_spec
from .presets import PRESETS, make_edit

__all__ = ["EditSpec", "make_edit", "PRESETS", "path_spec", "check_path", "channel_mask", "frame_mask",
           "joint_channels", "lower_body_channels", "upper_body_channels", "upper_body_pose_channels",
           "root_path_channels",
           "CHANNEL_GROUPS", "LOWER_BODY_JOINTS", "UPPER_BODY_JOINTS"]
