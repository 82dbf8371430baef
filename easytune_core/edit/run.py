"""``MotionPipeline.edit``: sample with an :class:`EditSpec` re-imposed at every step."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..pipeline import GenerationResult, check_prompts
from .contact import FootContactGuide
from .inpaint import GuideChain, InpaintGuide
from .masks import EditSpec
from .seams import blend_seams
from .takes import check_repetitions


@dataclass
class EditResult(GenerationResult):
    """:class:`GenerationResult` of an edit, plus the spec it kept (``spec.keep`` = exact channels)."""

    spec: EditSpec | None = None


def place_joints(joints: np.ndarray, placement) -> np.ndarray:
    """Turn joints (..., 3) by ``yaw`` radians about +Y (counter-clockwise seen from above, so a
    body facing +Z then faces yaw) and move them by (x, z)."""
    if placement is None:
        return joints
    yaw, x, z = (float(v) for v in placement)
    c, s = np.cos(yaw), np.sin(yaw)
    out = np.array(joints, dtype=np.float32, copy=True)
    px, pz = joints[..., 0], joints[..., 2]
    out[..., 0] = c * px + s * pz + x
    out[..., 2] = -s * px + c * pz + z
    return out


def normalised_known(pipe, spec: EditSpec) -> torch.Tensor:
    """(T, D) the spec's known values in the model's space (0 where nothing is kept)."""
    known = np.where(spec.weight > 0, spec.known, pipe.mean[None])
    return torch.as_tensor(pipe.normalize(known).astype(np.float32))


def run_edit(pipe, spec: EditSpec, prompt: str | None = "", seed: int = 0, guidance: float = 2.5,
             steps: int = 50, takes: int = 1, init_noise: torch.Tensor | None = None, eta: float = 0.0,
             on_step=None, return_joints: bool = True, blend: int = 10, known: str = "clean",
             feet: bool | str = "auto") -> EditResult:
    """Generate what ``spec`` leaves open, to ``prompt``, keeping the rest exactly.

    Args:
        pipe: a MotionPipeline (HumanML3D, 263 features).
        spec: the edit (:func:`~easytune_core.edit.presets.make_edit`, a path, or custom).
        prompt: the text for the generated part; empty or None samples without text
            (guidance is then ignored), which suits in-betweening.
        seed: take k starts from ``make_noise(1, T, seed + k)``.
        takes: how many variants of the edit, batched (1..16).
        init_noise: optional (takes, T, D) x_T, e.g. shared between two checkpoints.
        blend: frames over which a jump left at a seam is blended into the generated side
            (``seams.blend_seams``; 0 = off, the plain inpainting result).
        known: how the model sees the kept part while denoising: "clean" (its exact values at
            every step after the first) or "noised" (noised to each step's level, as MDM's editing
            does). The first call sees the initial noise everywhere: shown clean values at the
            highest noise level, the model copies instead of generating (an upper-body edit then
            barely moves the arms), so a 1-step model does not see the kept part at all.
        feet: foot-contact guidance (``contact.FootContactGuide``) in the second half of the steps;
            "auto" turns it on when the root trajectory is imposed while the legs are generated
            (path control, the "root path" preset).
    Returns:
        :class:`EditResult` with ``features`` (takes, T, 263) equal to ``spec.known`` wherever
        ``spec.keep``; ``joints`` placed by ``spec.placement`` when it has one.
    """
    if not isinstance(spec, EditSpec):
        raise ValueError(f"spec must be an EditSpec (see easytune_core.edit.make_edit), got {type(spec).__name__}")
    if getattr(pipe, "latent", False):
        raise ValueError("edits need a frame-space model: a latent model's sampler state is a latent code, not "
                         "frames (use e.g. the shipped 'base')")
    if pipe.config.feature_dim != spec.known.shape[1]:
        raise ValueError(f"this model uses {pipe.config.feature_dim} features per frame; edits need HumanML3D's {spec.known.shape[1]}")
    T = spec.frames
    if T > pipe.max_frames:
        raise ValueError(f"the edit spans {T} frames; this model generates at most {pipe.max_frames} "
                         f"({pipe.max_frames / pipe.fps:g} s) at once: use compose() for longer motions")
    text = (prompt or "").strip()
    if text:
        text = check_prompts(text)[0]
    elif not getattr(pipe, "few_step", False):
        guidance = 0.0  # no text: the unconditional model fills in (a few-step model's guidance is an
        # input it was distilled for a range of, so it keeps its own; the empty text conditions it)
    n = check_repetitions(takes)
    steps, guidance = pipe._check_steps_guidance(steps, guidance)  # None: the model's default
    shape = (n, T, pipe.config.feature_dim)
    if init_noise is None:
        init_noise = pipe.takes_noise([T] * n, [int(seed) + k for k in range(n)])
    else:
        init_noise = pipe._check_noise(init_noise, shape)
    known_n = normalised_known(pipe, spec)[None].expand(shape)
    weight = torch.as_tensor(spec.weight)[None].expand(shape)
    if known not in ("clean", "noised"):
        raise ValueError(f"known must be 'clean' or 'noised', got {known!r}")
    if isinstance(blend, bool) or not isinstance(blend, (int, np.integer)) or not 0 <= blend <= 60:
        raise ValueError(f"blend must be a whole number of frames between 0 and 60, got {blend}")
    guide = InpaintGuide(known_n, weight, init_noise, clean=(known == "clean")).to(pipe.device)
    if feet == "auto":
        feet = bool(spec.keep[:, 1:3].any() and not spec.keep[:, -4:].any())
    if feet:
        foot = FootContactGuide(pipe.mean, pipe.std, 1.0 - weight, steps).to(pipe.device)
        guide = GuideChain(guide, foot)
    feats = pipe.sample_motion_features(pipe.encode([text] * n), [T] * n, init_noise, seed=seed, guidance=guidance,
                                 steps=steps, eta=eta, on_step=on_step, guide=guide)
    keep = spec.keep
    feats[:, keep] = spec.known[keep]  # exact in feature space, not just up to float round-off
    feats = np.stack([blend_seams(f, keep, blend) for f in feats])
    joints = None
    if return_joints:
        joints = place_joints(pipe.features_to_joints(feats, [T] * n), spec.placement)
    return EditResult(feats, joints, [T] * n, [text] * n, int(seed), pipe.fps,
                      seeds=[int(seed) + k for k in range(n)], spec=spec)
