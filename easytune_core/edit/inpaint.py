"""Diffusion inpainting on the sampler's guide hook (no second sampling loop).

At every DDIM step the known part is re-imposed at the step's noise level, after MDM's editing:
the x0 estimate takes the known values where they are kept (so the update moves the kept part
exactly towards them), and the state handed to the next step holds the known values noised to
that step's level, ``sqrt(abar) known + sqrt(1 - abar) z`` with ``z`` the initial noise. With
deterministic DDIM the two agree (the update of a region whose x0 is known *is* that noised
value); the second also holds for eta > 0 and for soft weights. The model thus sees the kept
part at the noise level it was trained on and generates the rest in agreement with it.
"""

from __future__ import annotations

import torch


class InpaintGuide:
    """:class:`~easytune_core.diffusion.sampler.Guide` keeping known values.

    Args:
        known: (B, T, D) known values in the model's normalised space (anything where weight is 0).
        weight: (B, T, D) in [0, 1]; 1 = keep, 0 = generate, in between = pull by that fraction.
        noise: (B, T, D) the initial noise x_T, whose known part is reused at every level.
        clean: hand the model the known values themselves at every step instead of their noised
            version (see the module docstring).
    """

    def __init__(self, known: torch.Tensor, weight: torch.Tensor, noise: torch.Tensor, clean: bool = False):
        self.clean = bool(clean)
        if not (known.shape == weight.shape == noise.shape):
            raise ValueError(f"known, weight and noise must have one shape, got {tuple(known.shape)}, "
                             f"{tuple(weight.shape)}, {tuple(noise.shape)}")
        self.known = known
        self.weight = weight
        self.noise = noise

    def to(self, device) -> "InpaintGuide":
        return InpaintGuide(self.known.to(device), self.weight.to(device), self.noise.to(device), self.clean)

    def x0(self, i: int, x_t: torch.Tensor, x0_pred: torch.Tensor) -> torch.Tensor:
        w = self.weight.to(x0_pred.dtype)
        return x0_pred + w * (self.known.to(x0_pred.dtype) - x0_pred)

    def x_next(self, i: int, x_next: torch.Tensor, abar_next: float) -> torch.Tensor:
        if self.clean:
            abar_next = 1.0
        target = abar_next ** 0.5 * self.known + max(1.0 - abar_next, 0.0) ** 0.5 * self.noise
        w = self.weight.to(x_next.dtype)
        return x_next + w * (target.to(x_next.dtype) - x_next)


class GuideChain:
    """Several guides applied in order (e.g. inpainting then window blending)."""

    def __init__(self, *guides):
        self.guides = [g for g in guides if g is not None]

    def x0(self, i, x_t, x0_pred):
        for g in self.guides:
            x0_pred = g.x0(i, x_t, x0_pred)
        return x0_pred

    def x_next(self, i, x_next, abar_next):
        for g in self.guides:
            x_next = g.x_next(i, x_next, abar_next)
        return x_next
