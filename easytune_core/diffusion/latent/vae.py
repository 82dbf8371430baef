"""Motion VAE (MLD's, §3.1 of Chen et al., CVPR 2023): a transformer encoder reads distribution
tokens followed by the frames and returns a Gaussian over a few latent tokens; a transformer
decoder turns one query per frame (learned positions, no content) into features by cross-attending
to the latent tokens. Both stacks have long skip connections. KL-regularised toward N(0, I).

Features are the project's normalised HumanML3D features; masks are (B, T) bool, True = valid.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

import torch
from torch import nn

from .layers import DecoderLayer, EncoderLayer, SkipStack


@dataclass
class VAEConfig:
    """Size of a :class:`MotionVAE` (saved as JSON with its weights; MLD's HumanML3D model is
    ``latent_tokens=1, width=256, layers=9, heads=4, ff=1024``)."""

    feature_dim: int = 263
    """Per-frame motion feature size (263 HumanML3D, 251 KIT)."""
    latent_tokens: int = 1
    """Number of latent tokens (MLD: 1)."""
    width: int = 256
    """Transformer width, which is also the size of each latent token (MLD: 256)."""
    layers: int = 9
    """Layers of the encoder and of the decoder; odd (skip connections pair them around a middle one)."""
    heads: int = 4
    """Attention heads; must divide width."""
    ff: int = 1024
    """Feed-forward hidden size."""
    dropout: float = 0.1
    """Dropout in attention and feed-forward blocks (training only)."""
    activation: str = "gelu"
    """Feed-forward activation: "gelu" or "relu"."""
    norm_first: bool = False
    """Pre-norm layers (MLD: post-norm, False)."""
    max_positions: int = 500
    """Length covered by the learned positions (latent tokens x 2 + frames must fit; MLD: 500)."""
    max_frames: int = 196
    """Longest motion in frames."""
    fps: float = 20.0
    """Frame rate of the motions."""

    def __post_init__(self):
        for name in ("feature_dim", "latent_tokens", "width", "layers", "heads", "ff", "max_positions", "max_frames"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name} must be a positive integer, got {getattr(self, name)}")
        if self.layers % 2 == 0:
            raise ValueError(f"layers must be odd (skip connections), got {self.layers}")
        if self.width % self.heads:
            raise ValueError(f"width ({self.width}) must be divisible by heads ({self.heads})")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")
        if self.activation not in ("gelu", "relu"):
            raise ValueError(f"activation must be 'gelu' or 'relu', got {self.activation!r}")
        if 2 * self.latent_tokens + self.max_frames > self.max_positions:
            raise ValueError(f"max_positions ({self.max_positions}) must cover 2 x latent_tokens + max_frames "
                             f"({2 * self.latent_tokens + self.max_frames})")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "VAEConfig":
        if not isinstance(d, dict):
            raise ValueError(f"VAE config must be a JSON object, got {type(d).__name__}")
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})


class MotionVAE(nn.Module):
    """encode: features (B, T, D) -> Gaussian over (B, L, W) latents; decode: latents -> features."""

    def __init__(self, config: VAEConfig | None = None):
        super().__init__()
        self.config = c = config or VAEConfig()
        w = c.width
        self.in_proj = nn.Linear(c.feature_dim, w)
        # 2L learned tokens: the first L read out the mean, the next L the log-variance
        self.dist_tokens = nn.Parameter(torch.randn(2 * c.latent_tokens, w))
        self.enc_pos = nn.Parameter(torch.rand(c.max_positions, w))
        self.dec_pos = nn.Parameter(torch.rand(c.max_positions, w))
        self.encoder = SkipStack(EncoderLayer(w, c.heads, c.ff, c.dropout, c.activation, c.norm_first), c.layers, w)
        self.decoder = SkipStack(DecoderLayer(w, c.heads, c.ff, c.dropout, c.activation, c.norm_first), c.layers, w)
        self.out_proj = nn.Linear(w, c.feature_dim)

    def _check(self, x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        B, T = x.shape[:2]
        if T > self.config.max_frames:
            raise ValueError(f"{T} frames is more than this VAE's max_frames={self.config.max_frames}")
        if mask is None:
            return torch.ones(B, T, dtype=torch.bool, device=x.device)
        if tuple(mask.shape) != (B, T):
            raise ValueError(f"mask must have shape {(B, T)}, got {tuple(mask.shape)}")
        return mask.to(device=x.device, dtype=torch.bool)

    def encode(self, features: torch.Tensor, mask: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Posterior of a batch of motions.

        Args:
            features: (B, T, D) normalised features; mask: (B, T) bool, True = valid (None: all).
        Returns:
            mu, logvar: (B, L, W) each.
        """
        if features.shape[-1] != self.config.feature_dim:
            raise ValueError(f"expected {self.config.feature_dim} features per frame, got {features.shape[-1]}")
        mask = self._check(features, mask)
        B = features.shape[0]
        L = self.config.latent_tokens
        tokens = self.dist_tokens.to(features.dtype).expand(B, -1, -1)
        seq = torch.cat([tokens, self.in_proj(features)], dim=1)
        seq = seq + self.enc_pos[: seq.shape[1]].to(seq.dtype)
        pad = torch.cat([torch.zeros(B, 2 * L, dtype=torch.bool, device=mask.device), ~mask], dim=1)
        out = self.encoder(seq, pad=pad)
        return out[:, :L], out[:, L:2 * L]

    def sample(self, mu: torch.Tensor, logvar: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """Reparameterised draw mu + exp(logvar / 2) · eps (eps from ``generator`` on CPU when given)."""
        dev = generator.device if generator is not None else mu.device
        eps = torch.randn(mu.shape, generator=generator, device=dev, dtype=torch.float32).to(mu.device, mu.dtype)
        return mu + (0.5 * logvar).exp() * eps

    def decode(self, z: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Latents (B, L, W) + frame mask (B, T) -> (B, T, D) normalised features, zero on padded
        frames; differentiable in ``z``."""
        L, w = self.config.latent_tokens, self.config.width
        if z.ndim != 3 or z.shape[1:] != (L, w):
            raise ValueError(f"latents must have shape (B, {L}, {w}), got {tuple(z.shape)}")
        mask = self._check(z.new_zeros(z.shape[0], mask.shape[1]), mask)
        B, T = mask.shape
        queries = self.dec_pos[:T].to(z.dtype).expand(B, -1, -1)
        out = self.out_proj(self.decoder(queries, z, pad=~mask))
        return out * mask[..., None].to(out.dtype)

    def forward(self, features: torch.Tensor, mask: torch.Tensor | None = None,
                generator: torch.Generator | None = None):
        """Reconstruction with a sampled latent: (features (B,T,D), mu, logvar)."""
        mu, logvar = self.encode(features, mask)
        z = self.sample(mu, logvar, generator)
        mask = self._check(features, mask)
        return self.decode(z, mask), mu, logvar


def kl_divergence(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """Mean over elements of KL(N(mu, exp(logvar)) || N(0, 1))."""
    return 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar).mean()
