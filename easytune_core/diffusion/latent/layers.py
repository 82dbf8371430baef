"""Transformer pieces of the latent models: post-norm (DETR-style) encoder/decoder layers, the
U-shaped stacks with long skip connections that MLD uses for its VAE and denoiser, learned
positions and diffusers-style sinusoidal timestep features.

Everything is batch-first: sequences are (B, S, width).
"""

from __future__ import annotations

import copy
import math

import torch
from torch import nn
from torch.nn import functional as F

ACTIVATIONS = {"gelu": F.gelu, "relu": F.relu}


class EncoderLayer(nn.Module):
    """Self-attention + feed-forward block; ``norm_first`` = pre-norm, else post-norm (MLD's choice)."""

    def __init__(self, width: int, heads: int, ff: int, dropout: float = 0.1, activation: str = "gelu",
                 norm_first: bool = False):
        super().__init__()
        self.self_attn = nn.MultiheadAttention(width, heads, dropout=dropout, batch_first=True)
        self.linear1 = nn.Linear(width, ff)
        self.linear2 = nn.Linear(ff, width)
        self.norm1 = nn.LayerNorm(width)
        self.norm2 = nn.LayerNorm(width)
        self.drop = nn.Dropout(dropout)
        self.drop1 = nn.Dropout(dropout)
        self.drop2 = nn.Dropout(dropout)
        self.act = ACTIVATIONS[activation]
        self.norm_first = norm_first

    def _ff(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear2(self.drop(self.act(self.linear1(x))))

    def forward(self, x: torch.Tensor, pad: torch.Tensor | None = None) -> torch.Tensor:
        """x (B, S, W); pad (B, S) bool, True = padding (ignored as a key)."""
        if self.norm_first:
            h = self.norm1(x)
            x = x + self.drop1(self.self_attn(h, h, h, key_padding_mask=pad, need_weights=False)[0])
            return x + self.drop2(self._ff(self.norm2(x)))
        x = self.norm1(x + self.drop1(self.self_attn(x, x, x, key_padding_mask=pad, need_weights=False)[0]))
        return self.norm2(x + self.drop2(self._ff(x)))


class DecoderLayer(nn.Module):
    """Self-attention over the queries, cross-attention to a memory, feed-forward."""

    def __init__(self, width: int, heads: int, ff: int, dropout: float = 0.1, activation: str = "gelu",
                 norm_first: bool = False):
        super().__init__()
        self.self_attn = nn.MultiheadAttention(width, heads, dropout=dropout, batch_first=True)
        self.cross_attn = nn.MultiheadAttention(width, heads, dropout=dropout, batch_first=True)
        self.linear1 = nn.Linear(width, ff)
        self.linear2 = nn.Linear(ff, width)
        self.norm1 = nn.LayerNorm(width)
        self.norm2 = nn.LayerNorm(width)
        self.norm3 = nn.LayerNorm(width)
        self.drop = nn.Dropout(dropout)
        self.drop1 = nn.Dropout(dropout)
        self.drop2 = nn.Dropout(dropout)
        self.drop3 = nn.Dropout(dropout)
        self.act = ACTIVATIONS[activation]
        self.norm_first = norm_first

    def forward(self, x: torch.Tensor, memory: torch.Tensor, pad: torch.Tensor | None = None) -> torch.Tensor:
        """x (B, S, W) queries; memory (B, M, W); pad (B, S) bool, True = padded query."""
        def self_block(h):
            return self.drop1(self.self_attn(h, h, h, key_padding_mask=pad, need_weights=False)[0])

        def cross_block(h):
            return self.drop2(self.cross_attn(h, memory, memory, need_weights=False)[0])

        def ff_block(h):
            return self.drop3(self.linear2(self.drop(self.act(self.linear1(h)))))

        if self.norm_first:
            x = x + self_block(self.norm1(x))
            x = x + cross_block(self.norm2(x))
            return x + ff_block(self.norm3(x))
        x = self.norm1(x + self_block(x))
        x = self.norm2(x + cross_block(x))
        return self.norm3(x + ff_block(x))


class SkipStack(nn.Module):
    """An odd number of layers in a U: the first half's outputs are concatenated back onto the
    second half's inputs (merged by a linear layer), then a final LayerNorm (MLD §3.1)."""

    def __init__(self, layer: nn.Module, num_layers: int, width: int):
        super().__init__()
        if num_layers < 1 or num_layers % 2 == 0:
            raise ValueError(f"a skip-connected stack needs an odd number of layers, got {num_layers}")
        half = (num_layers - 1) // 2
        self.down = nn.ModuleList(copy.deepcopy(layer) for _ in range(half))
        self.mid = copy.deepcopy(layer)
        self.up = nn.ModuleList(copy.deepcopy(layer) for _ in range(half))
        self.merge = nn.ModuleList(nn.Linear(2 * width, width) for _ in range(half))
        self.norm = nn.LayerNorm(width)
        for p in self.parameters():
            if p.dim() > 1:
                nn.init.xavier_uniform_(p)

    def forward(self, x: torch.Tensor, *args, **kwargs) -> torch.Tensor:
        skips = []
        for layer in self.down:
            x = layer(x, *args, **kwargs)
            skips.append(x)
        x = self.mid(x, *args, **kwargs)
        for layer, merge in zip(self.up, self.merge):
            x = layer(merge(torch.cat([x, skips.pop()], dim=-1)), *args, **kwargs)
        return self.norm(x)


def timestep_features(t: torch.Tensor, dim: int, flip_sin_to_cos: bool = True, shift: float = 0.0,
                      max_period: float = 10000.0) -> torch.Tensor:
    """Sinusoidal features of (possibly fractional) timesteps (N,) -> (N, dim) float32.

    Frequencies exp(-ln(max_period)·k/(dim/2 − shift)), k < dim/2; [cos, sin] order when
    ``flip_sin_to_cos`` (the diffusers convention MLD uses), zero-padded for odd ``dim``.
    """
    half = dim // 2
    k = torch.arange(half, dtype=torch.float32, device=t.device)
    freqs = torch.exp(-math.log(max_period) * k / (half - shift))
    ang = t.reshape(-1).float()[:, None] * freqs[None]
    sin, cos = ang.sin(), ang.cos()
    emb = torch.cat([cos, sin] if flip_sin_to_cos else [sin, cos], dim=-1)
    return F.pad(emb, (0, dim - 2 * half))


class TimeMLP(nn.Module):
    """Linear -> SiLU -> Linear on sinusoidal features (timestep or guidance-scale embedding)."""

    def __init__(self, in_dim: int, width: int):
        super().__init__()
        self.linear_1 = nn.Linear(in_dim, width)
        self.linear_2 = nn.Linear(width, width)

    def forward(self, feats: torch.Tensor) -> torch.Tensor:
        return self.linear_2(F.silu(self.linear_1(feats)))
