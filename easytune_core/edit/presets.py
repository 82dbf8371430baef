"""Named edits of a source motion: in-between, prefix, suffix, a frame range, upper body, lower body,
root path. Each returns an :class:`~easytune_core.edit.masks.EditSpec` over the output's frames.

Frame counts are at the model's 20 fps. Kept frames are kept exactly in feature space; since a
HumanML3D frame stores the root's *velocity* (not its position), a kept block after a generated
one keeps its own movement but starts wherever the generated part ends (docs/edit.md).
"""

from __future__ import annotations

import numpy as np

from .masks import (FEATURE_DIM, EditSpec, channel_mask, frame_mask, lower_body_channels, root_path_channels,
                    seams_of, upper_body_pose_channels)

PRESETS = ("in-between", "prefix", "suffix", "frames", "upper body", "lower body", "root path")
# channel presets: what each keeps (the name says what is regenerated, except "root path")
KEPT_CHANNELS = {"upper body": lower_body_channels, "lower body": upper_body_pose_channels, "root path": root_path_channels}
PRESET_HELP = {
    "in-between": "keep the first and last `keep` frames, generate the frames between them",
    "prefix": "keep the first `keep` frames of the source and continue it to `frames` frames",
    "suffix": "keep the last `keep` frames of the source at the end, generate what leads up to them",
    "frames": "regenerate the source's frames start..end-1, keep the rest",
    "upper body": "regenerate the upper body (spine, arms, head); keep legs, root and foot contacts",
    "lower body": "regenerate legs, root trajectory and foot contacts; keep the upper body's pose (its joint "
                  "velocities follow the new root)",
    "root path": "keep the horizontal root trajectory and heading; regenerate the whole body along it",
}


def _whole(n, name: str, lo: int, hi: int) -> int:
    if isinstance(n, bool) or n is None:
        raise ValueError(f"{name} must be a whole number of frames, got {n!r}")
    try:
        value = float(n)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a whole number of frames, got {n!r}") from None
    if not np.isfinite(value) or value != int(value):
        raise ValueError(f"{name} must be a whole number of frames, got {n!r}")
    if not lo <= int(value) <= hi:
        raise ValueError(f"{name} must be between {lo} and {hi} frames, got {int(value)}")
    return int(value)


def _source(source) -> np.ndarray:
    src = np.asarray(source, np.float32)
    if src.ndim != 2 or src.shape[1] != FEATURE_DIM:
        raise ValueError(f"the source must be HumanML3D features of shape (frames, {FEATURE_DIM}), got {src.shape}")
    if len(src) < 2:
        raise ValueError(f"the source motion needs at least 2 frames, got {len(src)}")
    if not np.isfinite(src).all():
        raise ValueError("the source motion contains NaN or infinite values")
    return src


def _soft_edges(weight: np.ndarray, generated: np.ndarray, transition: int) -> np.ndarray:
    """Ramp the weight of generated frames next to kept ones from 1 down to 0 over ``transition``
    frames (only where the source has values there): the generated part starts where the source
    was and departs from it gradually."""
    if transition <= 0:
        return weight
    T = len(generated)
    kept_idx = np.flatnonzero(~generated)
    if len(kept_idx) == 0:
        return weight
    dist = np.abs(np.arange(T)[:, None] - kept_idx[None]).min(1)  # frames to the nearest kept frame
    ramp = np.clip(1.0 - dist / (transition + 1.0), 0.0, 1.0).astype(np.float32)
    out = weight.copy()
    out[generated] = ramp[generated, None]
    return out


def make_edit(preset: str, source, *, keep: int | None = None, frames: int | None = None,
              start: int | None = None, end: int | None = None, transition: int = 0,
              max_frames: int = 196) -> EditSpec:
    """Build a named edit of ``source``.

    Args:
        preset: one of :data:`PRESETS`.
        source: (S, 263) raw HumanML3D features (S >= 2).
        keep: frames kept: at each end for "in-between" (default S // 4), at the start for
            "prefix" (default all of the source, leaving at least 20 generated frames), at the end
            for "suffix" (default all of the source likewise).
        frames: output length for "prefix" / "suffix" (default: kept frames + 4 s, at most
            ``max_frames``); the other presets keep the source's length.
        start, end: the regenerated frame range [start, end) for "frames".
        transition: frames of soft transition after each seam into the generated part, for the
            presets whose source has values there ("in-between", "frames"): 0 (default) is the
            plain MDM-style hard mask.
        max_frames: the model's window (196 for HumanML3D models).
    Returns:
        :class:`EditSpec` whose ``known`` holds the source's features on the output's frames.
    """
    if preset not in PRESETS:
        raise ValueError(f"unknown edit preset {preset!r}: use one of {', '.join(PRESETS)}")
    src = _source(source)
    S = len(src)
    transition = _whole(transition, "transition", 0, 60)
    if preset in ("in-between", "frames", "upper body", "lower body", "root path") and S > max_frames:
        raise ValueError(f"the source has {S} frames; this model edits at most {max_frames} frames "
                         f"({max_frames / 20:g} s): choose a shorter part of it")
    if preset in KEPT_CHANNELS:
        weight = channel_mask(S, KEPT_CHANNELS[preset]())
        return EditSpec(src, weight, [], preset)
    if preset == "in-between":
        keep = S // 4 if keep is None else _whole(keep, "keep", 1, max(1, (S - 2) // 2))
        if S - 2 * keep < 1:
            raise ValueError(f"keeping {keep} frames at each end of a {S}-frame motion leaves nothing to generate")
        kept = np.zeros(S, bool)
        kept[:keep] = kept[S - keep:] = True
        weight = _soft_edges(frame_mask(S, kept), ~kept, transition)
        return EditSpec(src, weight, [keep, S - keep], preset)
    if preset == "frames":
        if start is None or end is None:
            raise ValueError("the 'frames' edit needs a frame range: start and end")
        start = _whole(start, "start", 0, S - 1)
        end = _whole(end, "end", 1, S)
        if end <= start:
            raise ValueError(f"the frame range must have end > start, got {start}..{end}")
        if start == 0 and end == S:
            raise ValueError(f"the frame range {start}..{end} covers the whole motion: nothing would be kept")
        kept = np.ones(S, bool)
        kept[start:end] = False
        weight = _soft_edges(frame_mask(S, kept), ~kept, transition)
        return EditSpec(src, weight, seams_of(frame_mask(S, kept)), preset)
    # prefix / suffix: the output may be longer than the source
    lo_gen = 20
    if keep is None:
        keep = min(S, max_frames - lo_gen)
    keep = _whole(keep, "keep", 1, min(S, max_frames - 1))
    if frames is None:
        frames = min(max_frames, keep + 80)
    frames = _whole(frames, "frames", keep + 1, max_frames)
    known = np.zeros((frames, FEATURE_DIM), np.float32)
    kept = np.zeros(frames, bool)
    if preset == "prefix":
        known[:keep] = src[:keep]
        kept[:keep] = True
        seams = [keep]
    else:
        known[frames - keep:] = src[S - keep:]
        kept[frames - keep:] = True
        seams = [frames - keep]
    return EditSpec(known, frame_mask(frames, kept), seams, preset)
