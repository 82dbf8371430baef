"""MDM-style text-conditioned motion denoiser (transformer encoder over frames).

One conditioning token (timestep embedding + projected text embedding) is prepended to
the projected frames; sinusoidal positions are added; padded frames are masked out of
attention. Condition dropout (the text replaced by zeros) trains the unconditional model
used by classifier-free guidance, as MDM does.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields

import torch
from torch import nn


@dataclass
class DenoiserConfig:
    """Size and behaviour of a :class:`MotionDenoiser` (saved as JSON in every checkpoint)."""

    feature_dim: int = 263
    """Per-frame motion feature size (263 HumanML3D, 251 KIT)."""
    text_dim: int = 384
    """Size of the pooled text embedding (384 for MiniLM, 512 for CLIP)."""
    width: int = 256
    """Transformer model width (MDM: 512)."""
    layers: int = 4
    """Number of transformer encoder layers (MDM: 8)."""
    heads: int = 4
    """Attention heads; must divide width."""
    ff: int = 1024
    """Feed-forward hidden size."""
    dropout: float = 0.1
    """Dropout inside the transformer and on the input."""
    cond_drop_prob: float = 0.1
    """Training probability of dropping the text (for classifier-free guidance)."""
    prediction: str = "x0"
    """What the network predicts: "x0" (MDM) or "eps"."""
    max_frames: int = 196
    """Longest sequence the positional encoding covers (frames)."""
    text_encoder: str = "minilm"
    """Name of the text encoder whose embeddings condition the model (see easytune_core.text)."""
    schedule: str = "cosine"
    """Noise schedule kind the model was trained with ("cosine" | "scaled_linear")."""
    diffusion_steps: int = 1000
    """Number of training timesteps of the schedule."""
    fps: float = 20.0
    """Frame rate of the motions (20 for HumanML3D)."""

    def __post_init__(self):
        for name in ("feature_dim", "text_dim", "width", "layers", "heads", "ff", "max_frames", "diffusion_steps"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name} must be a positive integer, got {getattr(self, name)}")
        if self.width % self.heads:
            raise ValueError(f"width ({self.width}) must be divisible by heads ({self.heads})")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")
        if not 0.0 <= self.cond_drop_prob < 1.0:
            raise ValueError(f"cond_drop_prob must be in [0, 1), got {self.cond_drop_prob}")
        if self.prediction not in ("x0", "eps"):
            raise ValueError(f"prediction must be 'x0' or 'eps', got {self.prediction!r}")
        if self.schedule not in ("cosine", "scaled_linear"):
            raise ValueError(f"schedule must be 'cosine' or 'scaled_linear', got {self.schedule!r}")
        if self.fps <= 0:
            raise ValueError(f"fps must be positive, got {self.fps}")

    @property
    def state_dim(self) -> int:
        """Size of one token of the sampler's state (a frame's features)."""
        return self.feature_dim

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "DenoiserConfig":
        """Build from a dict, ignoring unknown keys (forward compatibility) but requiring a dict."""
        if not isinstance(d, dict):
            raise ValueError(f"denoiser config must be a JSON object, got {type(d).__name__}")
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})


def sinusoidal(positions: torch.Tensor, dim: int) -> torch.Tensor:
    """Transformer sinusoidal embedding of integer positions (N,) -> (N, dim) float32."""
    half = dim // 2
    freqs = torch.exp(-math.log(10000.0) * torch.arange(half, device=positions.device, dtype=torch.float32) / half)
    ang = positions.float()[:, None] * freqs[None]
    emb = torch.cat([ang.sin(), ang.cos()], dim=-1)
    return nn.functional.pad(emb, (0, dim - 2 * half))


class MotionDenoiser(nn.Module):
    """G_theta(x_t, t, c): predicts x0 (or eps) of normalised motion features."""

    def __init__(self, config: DenoiserConfig | None = None):
        super().__init__()
        self.config = config = config or DenoiserConfig()
        w = config.width
        self.input_proj = nn.Linear(config.feature_dim, w)
        self.time_mlp = nn.Sequential(nn.Linear(w, w), nn.SiLU(), nn.Linear(w, w))
        self.text_proj = nn.Linear(config.text_dim, w)
        # +1 position for the condition token.
        self.register_buffer("pos", sinusoidal(torch.arange(config.max_frames + 1), w), persistent=False)
        self.in_drop = nn.Dropout(config.dropout)
        layer = nn.TransformerEncoderLayer(w, config.heads, config.ff, config.dropout, activation="gelu",
                                           batch_first=True, norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, config.layers, enable_nested_tensor=False)
        self.out_norm = nn.LayerNorm(w)
        self.output_proj = nn.Linear(w, config.feature_dim)

    def _cond_keep(self, batch: int, uncond, device) -> torch.Tensor:
        """(B, 1) float: 1 keeps the text, 0 drops it (explicit uncond, or random dropout in training)."""
        if isinstance(uncond, torch.Tensor):
            drop = uncond.to(device=device, dtype=torch.bool).reshape(-1).expand(batch)
        else:
            drop = torch.full((batch,), bool(uncond), device=device)
        if self.training and self.config.cond_drop_prob > 0:
            drop = drop | (torch.rand(batch, device=device) < self.config.cond_drop_prob)
        return (~drop).float()[:, None]

    def forward(self, x_t: torch.Tensor, t: torch.Tensor, text_emb: torch.Tensor,
                mask: torch.Tensor | None = None, uncond=False) -> torch.Tensor:
        """Denoise one step.

        Args:
            x_t: (B, T, D) noisy normalised features.
            t: (B,) long timesteps in [0, diffusion_steps).
            text_emb: (B, text_dim) pooled text embeddings.
            mask: (B, T) bool, True = valid frame (None: all valid).
            uncond: bool or (B,) bool tensor; True drops the text for that sample.
        Returns:
            (B, T, D) prediction (x0 or eps per config), zero on padded frames.
        """
        B, T, D = x_t.shape
        if T > self.config.max_frames:
            raise ValueError(f"sequence of {T} frames is longer than the model's max_frames={self.config.max_frames}")
        if D != self.config.feature_dim:
            raise ValueError(f"expected {self.config.feature_dim} features per frame, got {D}")
        t = torch.as_tensor(t, device=x_t.device).long().reshape(-1).expand(B)
        keep = self._cond_keep(B, uncond, x_t.device)
        cond = self.time_mlp(sinusoidal(t, self.config.width).to(x_t.dtype)) + self.text_proj(text_emb.to(x_t.dtype)) * keep
        h = torch.cat([cond[:, None], self.input_proj(x_t)], dim=1) + self.pos[: T + 1].to(x_t.dtype)
        h = self.in_drop(h)
        pad = None
        if mask is not None and not bool(mask.all()):  # all-valid batches skip the (slower) masked softmax
            pad = torch.cat([torch.zeros(B, 1, dtype=torch.bool, device=x_t.device), ~mask.bool()], dim=1)
        h = self.encoder(h, src_key_padding_mask=pad)
        out = self.output_proj(self.out_norm(h[:, 1:]))
        if mask is not None:
            out = out * mask[..., None].to(out.dtype)
        return out
