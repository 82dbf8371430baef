"""Long, multi-prompt motions: a timeline of (prompt, seconds) segments as one continuous motion.

The model sees at most ``max_frames`` (196) frames at once, so a timeline is composed with the
model itself, by one of two strategies:

- ``"prefix"`` (default): segment by segment (long segments in several chunks), each chunk is an
  inpainting edit whose first ``context`` frames are the end of the motion so far, kept exactly,
  and whose new frames follow the chunk's prompt; the seam is then blended (``seams.py``).
- ``"blend"``: every segment gets a window reaching ``overlap`` frames into its neighbours; all
  windows are denoised together in one batch, and at every step their x0 estimates are averaged
  where they overlap (weights ramping across the overlap), so neighbouring prompts meet in a
  transition that the model denoises jointly.

HumanML3D frames hold root *velocities* and root-relative poses, so concatenating frames carries
the root position and heading across segments: the joints of the whole timeline come from one
``features_to_joints`` of all its frames.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch

from .inpaint import InpaintGuide
from .masks import FEATURE_DIM, EditSpec, frame_mask
from .run import normalised_known
from .seams import blend_seams

MAX_TIMELINE_SECONDS = 60.0
MAX_SEGMENTS = 32
MIN_SEGMENT_SECONDS = 1.0
STRATEGIES = ("prefix", "blend")


@dataclass
class TimelineResult:
    """A composed timeline.

    Attributes:
        features: (T, 263) float32 raw HumanML3D features of the whole motion.
        joints: (T, 22, 3) float32 metres, Y up.
        segments: per segment ``{"prompt", "seconds", "start", "end"}`` (frames [start, end)).
        seams: frames where one sampling window's new frames begin (segment starts and chunk starts).
        seed, fps, strategy: how it was made.
    """

    features: np.ndarray
    joints: np.ndarray
    segments: list
    seams: list = field(default_factory=list)
    seed: int = 0
    fps: float = 20.0
    strategy: str = "prefix"

    @property
    def seconds(self) -> float:
        return len(self.features) / self.fps


def parse_segment(item, index: int) -> tuple[str, float]:
    """One segment from (prompt, seconds), {"prompt", "seconds"} or "prompt | seconds"."""
    where = f"segment {index + 1}"
    if isinstance(item, dict):
        prompt, seconds = item.get("prompt"), item.get("seconds")
    elif isinstance(item, str):
        prompt, _, seconds = item.rpartition("|")
        if not _:
            raise ValueError(f"{where}: write it as 'prompt | seconds', got {item!r}")
    elif isinstance(item, (list, tuple)) and len(item) == 2:
        prompt, seconds = item
    else:
        raise ValueError(f"{where} must be (prompt, seconds), got {item!r}")
    if not isinstance(prompt, str) or not prompt.strip():
        raise ValueError(f"{where}: the prompt is empty: describe what happens in it, e.g. 'a person walks forward'")
    if len(prompt.strip()) > 300:
        raise ValueError(f"{where}: the prompt has {len(prompt.strip())} characters; the limit is 300")
    try:
        s = float(seconds)
    except (TypeError, ValueError):
        raise ValueError(f"{where}: seconds must be a number, got {seconds!r}") from None
    if not math.isfinite(s) or s < MIN_SEGMENT_SECONDS:
        raise ValueError(f"{where} lasts {s:g} s: each segment lasts at least {MIN_SEGMENT_SECONDS:g} s")
    return prompt.strip(), s


def check_timeline(segments, max_seconds: float = MAX_TIMELINE_SECONDS) -> list[tuple[str, float]]:
    """Validated [(prompt, seconds)]: 1..32 segments of at least 1 s, at most 60 s in all."""
    if segments is None or (hasattr(segments, "__len__") and len(segments) == 0):
        raise ValueError("the timeline is empty: add at least one segment (a prompt and its seconds)")
    segments = list(segments)
    if len(segments) > MAX_SEGMENTS:
        raise ValueError(f"the timeline has {len(segments)} segments; at most {MAX_SEGMENTS} are composed at once")
    out = [parse_segment(s, k) for k, s in enumerate(segments)]
    total = sum(s for _, s in out)
    if total > max_seconds + 1e-9:
        raise ValueError(f"the timeline lasts {total:g} s; at most {max_seconds:g} s: shorten or drop segments")
    return out


def _segment_frames(segs, fps: float) -> list[tuple[int, int]]:
    """[start, end) frames per segment, rounding the running total so lengths add up."""
    bounds, t = [0], 0.0
    for _, s in segs:
        t += s
        bounds.append(int(round(t * fps)))
    return [(a, b) for a, b in zip(bounds[:-1], bounds[1:])]


def compose_timeline(pipe, segments, seed: int = 0, guidance: float = 2.5, steps: int = 50,
                     strategy: str = "prefix", context: int = 20, overlap: int = 20, blend: int = 10,
                     eta: float = 0.0, on_window=None) -> TimelineResult:
    """Compose ``segments`` into one motion with ``pipe`` (a MotionPipeline).

    Args:
        segments: [(prompt, seconds)] (or dicts / "prompt | seconds" strings); 1-32 segments,
            each >= 1 s, 60 s in all.
        seed: window w starts from noise seeded ``seed + w`` ("prefix") or one noise canvas
            seeded ``seed`` ("blend"): the same seed gives the same timeline, and two checkpoints
            compared with one seed start from the same noise.
        strategy: "prefix" or "blend" (see the module docstring).
        context: "prefix": frames of the motion so far kept at the start of each window.
        overlap: "blend": frames each window reaches into its neighbours.
        blend: frames over which a remaining jump at a "prefix" seam is blended (0 = off).
        on_window: optional callback(done, total) after each sampled window (progress).
    Returns:
        :class:`TimelineResult`.
    """
    segs = check_timeline(segments)
    if strategy not in STRATEGIES:
        raise ValueError(f"strategy must be one of {', '.join(STRATEGIES)}, got {strategy!r}")
    if getattr(pipe, "latent", False):
        raise ValueError("timelines need a frame-space model: a latent model's sampler state is a latent code, "
                         "not frames (use e.g. the shipped 'base')")
    if pipe.config.feature_dim != FEATURE_DIM:
        raise ValueError(f"timelines need a HumanML3D model ({FEATURE_DIM} features), this one has {pipe.config.feature_dim}")
    steps, guidance = pipe._check_steps_guidance(steps, guidance)  # None: the model's default
    fps = pipe.fps
    ranges = _segment_frames(segs, fps)
    if strategy == "prefix":
        if not 1 <= int(context) <= pipe.max_frames // 2:
            raise ValueError(f"context must be between 1 and {pipe.max_frames // 2} frames, got {context}")
        feats, seams = _compose_prefix(pipe, segs, ranges, seed, guidance, steps, int(context), int(blend), eta, on_window)
    else:
        if not 1 <= int(overlap) <= pipe.max_frames // 4:
            raise ValueError(f"overlap must be between 1 and {pipe.max_frames // 4} frames, got {overlap}")
        feats, seams = _compose_blend(pipe, segs, ranges, seed, guidance, steps, int(overlap), eta, on_window)
    joints = pipe.features_to_joints(feats[None], [len(feats)])[0]
    info = [{"prompt": p, "seconds": s, "start": a, "end": b} for (p, s), (a, b) in zip(segs, ranges)]
    return TimelineResult(feats, joints, info, seams, int(seed), fps, strategy)


def _chunks(ranges, first_max: int, later_max: int) -> list[tuple[int, int, int]]:
    """(segment, start, end) sampling chunks, each at most the window minus the context."""
    out = []
    for k, (a, b) in enumerate(ranges):
        t = a
        while t < b:
            cap = first_max if not out else later_max
            n = min(cap, b - t)
            if 0 < b - (t + n) < 10:  # avoid a sliver of a chunk at the end of a segment
                n = max(1, (b - t) // 2)
            out.append((k, t, t + n))
            t += n
    return out


def _compose_prefix(pipe, segs, ranges, seed, guidance, steps, context, blend, eta, on_window):
    chunks = _chunks(ranges, pipe.max_frames, pipe.max_frames - context)
    emb = pipe.encode([p for p, _ in segs])
    out = np.zeros((0, FEATURE_DIM), np.float32)
    seams = []
    for w, (k, a, b) in enumerate(chunks):
        n = b - a
        P = min(context, len(out))
        T = P + n
        noise = pipe.make_noise(1, T, int(seed) + w)
        guide = None
        if P:
            known = np.zeros((T, FEATURE_DIM), np.float32)
            known[:P] = out[-P:]
            kept = np.arange(T) < P
            spec = EditSpec(known, frame_mask(T, kept), [P], "context")
            kn = normalised_known(pipe, spec)[None]
            guide = InpaintGuide(kn, torch.as_tensor(spec.weight)[None], noise).to(pipe.device)
        feats = pipe.sample_motion_features(emb[k:k + 1], [T], noise, seed=int(seed) + w, guidance=guidance,
                                     steps=steps, eta=eta, guide=guide)[0]
        if P:
            feats[:P] = out[-P:]
            feats = blend_seams(feats, np.repeat((np.arange(T) < P)[:, None], FEATURE_DIM, 1), blend)
            seams.append(len(out))
        out = np.concatenate([out, feats[P:]], axis=0)
        if on_window is not None:
            on_window(w + 1, len(chunks))
    return out, seams


class BlendGuide:
    """Averages the x0 estimates of overlapping windows on a shared canvas, and fuses their states.

    A state is x0 at its noise level plus what the sampler adds (the direction back to x_t, and for
    stochastic samplers fresh noise, drawn per window). Averaging the added parts of windows whose
    noises are independent would leave a state less noisy than its step, so each frame takes the
    added part of the window that weighs most there (for deterministic DDIM they agree anyway).

    Args:
        starts: canvas frame where each window starts; lengths: its frames; weights: per window a
            (length,) array of blending weights; total: canvas frames.
    """

    def __init__(self, starts, lengths, weights, total: int):
        self.starts, self.lengths, self.total = list(starts), list(lengths), int(total)
        self.weights = [torch.as_tensor(w, dtype=torch.float32) for w in weights]
        norm = torch.zeros(self.total)
        best, owner = torch.full((self.total,), -1.0), torch.zeros(self.total, dtype=torch.long)
        for b, (s, n, w) in enumerate(zip(self.starts, self.lengths, self.weights)):
            norm[s:s + n] += w
            wins = w > best[s:s + n]
            owner[s:s + n][wins] = b
            best[s:s + n] = torch.maximum(best[s:s + n], w)
        self.norm = norm.clamp_min(1e-8)
        self.owner = owner  # per canvas frame: the window that weighs most there
        self._x0 = None

    def fuse(self, x: torch.Tensor) -> torch.Tensor:
        canvas = torch.zeros(self.total, x.shape[-1], dtype=x.dtype, device=x.device)
        for b, (s, n, w) in enumerate(zip(self.starts, self.lengths, self.weights)):
            canvas[s:s + n] += w.to(x.device, x.dtype)[:, None] * x[b, :n]
        canvas = canvas / self.norm.to(x.device, x.dtype)[:, None]
        out = torch.zeros_like(x)
        for b, (s, n) in enumerate(zip(self.starts, self.lengths)):
            out[b, :n] = canvas[s:s + n]
        return out

    def pick(self, x: torch.Tensor) -> torch.Tensor:
        """Each canvas frame from the window that weighs most there, copied back into every window."""
        canvas = torch.zeros(self.total, x.shape[-1], dtype=x.dtype, device=x.device)
        for b, (s, n) in enumerate(zip(self.starts, self.lengths)):
            mine = (self.owner[s:s + n] == b).to(x.device)
            canvas[s:s + n][mine] = x[b, :n][mine]
        out = torch.zeros_like(x)
        for b, (s, n) in enumerate(zip(self.starts, self.lengths)):
            out[b, :n] = canvas[s:s + n]
        return out

    def x0(self, i, x_t, x0_pred):
        self._x0 = self.fuse(x0_pred)
        return self._x0

    def x_next(self, i, x_next, abar_next):
        a = float(abar_next)
        if self._x0 is None or a >= 1.0 - 1e-9:  # the clean end: nothing was added
            return self.fuse(x_next)
        mean = a ** 0.5 * self._x0
        return mean + self.pick(x_next - mean)


def _windows(ranges, total: int, overlap: int, max_frames: int) -> list[tuple[int, int, int]]:
    """(segment, start, end) windows: each segment widened by ``overlap`` into its neighbours, long
    segments cut into pieces that overlap by 2 * overlap."""
    out = []
    for k, (a, b) in enumerate(ranges):
        lo, hi = max(0, a - overlap), min(total, b + overlap)
        n = hi - lo
        pieces = max(1, math.ceil((n - 2 * overlap) / (max_frames - 2 * overlap)))
        step = (n - 2 * overlap) / pieces
        for p in range(pieces):
            s = lo + int(round(p * step))
            e = min(hi, lo + int(round((p + 1) * step)) + 2 * overlap)
            out.append((k, s, e))
    return out


def _ramp_weights(start: int, end: int, total: int, overlap: int) -> np.ndarray:
    """Window weights: 1 inside, ramping linearly down towards an edge that another window covers."""
    f = np.arange(end - start, dtype=np.float32)
    w = np.ones(end - start, np.float32)
    if start > 0:
        w = np.minimum(w, (f + 1) / (2 * overlap + 1))
    if end < total:
        w = np.minimum(w, (end - start - f) / (2 * overlap + 1))
    return w


def _compose_blend(pipe, segs, ranges, seed, guidance, steps, overlap, eta, on_window):
    total = ranges[-1][1]
    wins = _windows(ranges, total, overlap, pipe.max_frames)
    noise = pipe.make_noise(1, total, int(seed))[0]
    lengths = [e - s for _, s, e in wins]
    T = max(lengths)
    x_T = torch.zeros(len(wins), T, FEATURE_DIM)
    for b, (_, s, e) in enumerate(wins):
        x_T[b, :e - s] = noise[s:e]
    guide = BlendGuide([s for _, s, _ in wins], lengths,
                       [_ramp_weights(s, e, total, overlap) for _, s, e in wins], total)
    emb = pipe.encode([p for p, _ in segs])
    text = emb[[k for k, _, _ in wins]]
    feats = pipe.sample_motion_features(text, lengths, x_T, seed=seed, guidance=guidance, steps=steps, eta=eta, guide=guide)
    out = np.zeros((total, FEATURE_DIM), np.float32)
    for b, (_, s, e) in enumerate(wins):  # the guide fused the last state: windows agree where they overlap
        out[s:e] = feats[b, :e - s]
    if on_window is not None:
        on_window(len(wins), len(wins))
    return out, [a for a, _ in ranges[1:]]
