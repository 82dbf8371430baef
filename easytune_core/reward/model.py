"""Noise-aware text-motion retrieval model used as the reward R(x, t, c).

TMR-style: a text head over the (frozen) text encoder's pooled sentence embedding and a
transformer motion encoder over normalised 263-d features, both projected into one
embedding space where matching pairs have high cosine similarity. The motion encoder can
take an extra *diffusion-step token*, so it also scores forward-noised motions x_t (the
"noise-aware" reward of EasyTune / ReAlign). Unlike TMR/ReAlign there is no VAE: the
embedding is deterministic, so the reward is too.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn

from easytune_core.hub import PretrainedMixin

__all__ = ["RewardConfig", "RewardModel", "load_reward_model", "timestep_embedding"]


@dataclass
class RewardConfig:
    """Architecture of the reward model (saved as JSON next to the weights)."""

    feature_dim: int = 263
    """Per-frame motion feature size (263 HumanML3D, 251 KIT-ML)."""
    text_dim: int = 384
    """Size of the text encoder's pooled embedding (384 for MiniLM)."""
    width: int = 128
    """Transformer width of the motion encoder."""
    layers: int = 4
    """Transformer layers of the motion encoder."""
    heads: int = 4
    """Attention heads; must divide width."""
    ff: int = 256
    """Feed-forward size inside each transformer layer."""
    dropout: float = 0.1
    """Dropout during training (the reward itself is computed in eval mode)."""
    embed_dim: int = 128
    """Size of the shared text-motion embedding space."""
    max_frames: int = 196
    """Longest motion the positional table covers."""
    num_steps: int = 1000
    """Diffusion steps of the schedule; step tokens accept t in [0, num_steps)."""
    temperature: float = 0.1
    """InfoNCE temperature used in training (and by SPL)."""

    def __post_init__(self):
        for name in ("feature_dim", "text_dim", "width", "layers", "heads", "ff", "embed_dim",
                     "max_frames", "num_steps"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name} must be a positive integer, got {getattr(self, name)}")
        if self.width % self.heads:
            raise ValueError(f"heads ({self.heads}) must divide width ({self.width})")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")
        if self.temperature <= 0:
            raise ValueError(f"temperature must be > 0, got {self.temperature}")


def timestep_embedding(t: torch.Tensor, dim: int, max_period: float = 10000.0) -> torch.Tensor:
    """Sinusoidal embedding of integer steps: t (B,) -> (B, dim) float32."""
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, device=t.device, dtype=torch.float32) / half)
    args = t.float()[:, None] * freqs[None]
    emb = torch.cat([torch.cos(args), torch.sin(args)], dim=-1)
    if dim % 2:
        emb = F.pad(emb, (0, 1))
    return emb


class RewardModel(PretrainedMixin, nn.Module):
    """Text head + noise-aware transformer motion encoder in one embedding space.

    ``RewardModel.from_pretrained("reward")`` (a folder, the shipped name or a Hub repo id),
    ``save_pretrained`` and ``push_to_hub`` follow :mod:`easytune_core.hub`.
    """

    checkpoint_kind = "reward"

    def __init__(self, config: RewardConfig | None = None):
        super().__init__()
        self.config = cfg = config or RewardConfig()
        self.text_head = nn.Sequential(
            nn.Linear(cfg.text_dim, cfg.width * 2), nn.GELU(), nn.Dropout(cfg.dropout),
            nn.Linear(cfg.width * 2, cfg.embed_dim))
        self.motion_in = nn.Linear(cfg.feature_dim, cfg.width)
        self.pos = nn.Parameter(torch.zeros(1, cfg.max_frames, cfg.width))
        self.global_token = nn.Parameter(torch.zeros(1, 1, cfg.width))
        self.step_mlp = nn.Sequential(nn.Linear(cfg.width, cfg.width), nn.SiLU(), nn.Linear(cfg.width, cfg.width))
        self.token_type = nn.Parameter(torch.zeros(2, cfg.width))  # 0 global, 1 step: tells the tokens apart
        layer = nn.TransformerEncoderLayer(cfg.width, cfg.heads, cfg.ff, cfg.dropout, activation="gelu",
                                           batch_first=True, norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, cfg.layers, enable_nested_tensor=False)
        self.out_norm = nn.LayerNorm(cfg.width)
        self.motion_out = nn.Linear(cfg.width, cfg.embed_dim)
        nn.init.normal_(self.pos, std=0.02)
        nn.init.normal_(self.global_token, std=0.02)
        nn.init.normal_(self.token_type, std=0.02)
        # Features the model expects are normalised with these (set from the checkpoint).
        self.register_buffer("mean", torch.zeros(cfg.feature_dim), persistent=False)
        self.register_buffer("std", torch.ones(cfg.feature_dim), persistent=False)

    # ------------------------------------------------------------------ encoders
    def encode_text(self, text_emb: torch.Tensor) -> torch.Tensor:
        """Text encoder's pooled embeddings (B, text_dim) -> (B, embed_dim), not normalised."""
        if text_emb.ndim != 2 or text_emb.shape[1] != self.config.text_dim:
            raise ValueError(f"text_emb must be (B, {self.config.text_dim}), got {tuple(text_emb.shape)}")
        return self.text_head(text_emb.to(self.motion_in.weight.dtype))

    def encode_motion(self, features: torch.Tensor, mask: torch.Tensor | None = None,
                      t: torch.Tensor | None = None) -> torch.Tensor:
        """Normalised features (B, T, D) with mask (B, T) bool True=valid -> (B, embed_dim).

        ``t`` (B,) long diffusion steps adds the step token (for noised inputs x_t);
        None means a clean motion without step token.
        """
        cfg = self.config
        if features.ndim != 3 or features.shape[-1] != cfg.feature_dim:
            raise ValueError(f"features must be (B, T, {cfg.feature_dim}), got {tuple(features.shape)}")
        b, n, _ = features.shape
        if n > cfg.max_frames:
            raise ValueError(f"motion has {n} frames, the reward model covers at most {cfg.max_frames}")
        if mask is None:
            mask = torch.ones(b, n, dtype=torch.bool, device=features.device)
        if mask.shape != (b, n):
            raise ValueError(f"mask must be (B, T) = {(b, n)}, got {tuple(mask.shape)}")
        mask = mask.bool()
        if not mask.any(dim=1).all():
            raise ValueError("every motion needs at least one valid frame in mask")
        x = self.motion_in(features.to(self.motion_in.weight.dtype)) + self.pos[:, :n]
        tokens = [self.global_token.expand(b, -1, -1) + self.token_type[0]]
        keep = [torch.ones(b, 1, dtype=torch.bool, device=x.device)]
        if t is not None:
            t = torch.as_tensor(t, device=x.device).long().reshape(-1)
            if t.numel() == 1:
                t = t.expand(b)
            if t.shape != (b,):
                raise ValueError(f"t must be (B,) = ({b},), got {tuple(t.shape)}")
            if (t < 0).any() or (t >= cfg.num_steps).any():
                raise ValueError(f"diffusion steps must be in [0, {cfg.num_steps}), got {t.min().item()}..{t.max().item()}")
            step = self.step_mlp(timestep_embedding(t, cfg.width).to(x.dtype)) + self.token_type[1]
            tokens.append(step[:, None])
            keep.append(keep[0])
        h = torch.cat(tokens + [x], dim=1)
        pad = ~torch.cat(keep + [mask], dim=1)
        h = self.encoder(h, src_key_padding_mask=pad)
        return self.motion_out(self.out_norm(h[:, 0]))

    # ------------------------------------------------------------------ reward
    def reward(self, features: torch.Tensor, mask: torch.Tensor | None, text_emb: torch.Tensor,
               t: torch.Tensor | None = None) -> torch.Tensor:
        """Cosine similarity in [-1, 1] between each motion and its text: (B,).

        Args:
            features: (B, T, feature_dim) normalised with ``self.mean/std``; differentiable.
            mask: (B, T) bool True=valid frame (None = all valid).
            text_emb: (B, text_dim) pooled text-encoder embeddings.
            t: optional (B,) diffusion steps when ``features`` is a noised x_t.
        Deterministic in eval mode (no sampled latent); call ``.eval()`` first.
        """
        m = F.normalize(self.encode_motion(features, mask, t), dim=-1)
        s = F.normalize(self.encode_text(text_emb), dim=-1)
        if s.shape[0] != m.shape[0]:
            raise ValueError(f"got {m.shape[0]} motions but {s.shape[0]} texts")
        return (m * s).sum(-1)

    def similarity(self, features, mask, text_emb, t=None) -> torch.Tensor:
        """All-pairs cosine similarity (B_text, B_motion) (retrieval and SPL)."""
        m = F.normalize(self.encode_motion(features, mask, t), dim=-1)
        s = F.normalize(self.encode_text(text_emb), dim=-1)
        return s @ m.T

    def normalize(self, raw_features: torch.Tensor) -> torch.Tensor:
        """De-normalised 263-d features -> the normalisation this model was trained with."""
        return (raw_features - self.mean) / self.std

    def config_dict(self) -> dict:
        return asdict(self.config)

    @classmethod
    def _from_folder(cls, folder, device=None) -> "RewardModel":
        return load_reward_model(folder, device=device)

    def _pretrained_parts(self) -> dict:
        return {"model": self, "config": self.config, "kind": "reward", "mean": self.mean.cpu(), "std": self.std.cpu(),
                "meta": getattr(self, "meta", None), "metrics": getattr(self, "metrics", None)}


def load_reward_model(folder, device=None) -> RewardModel:
    """Load a reward checkpoint folder (kind "reward"), frozen and in eval mode.

    ``model.mean/std`` hold the dataset statistics its inputs must be normalised with.
    """
    from easytune_core.checkpoints import load_checkpoint, load_into

    ckpt = load_checkpoint(folder, expected_kind="reward")
    model = load_into(RewardModel(RewardConfig(**ckpt.config)), ckpt)
    if ckpt.mean is not None:
        model.mean.copy_(torch.as_tensor(ckpt.mean, dtype=torch.float32))
        model.std.copy_(torch.as_tensor(ckpt.std, dtype=torch.float32))
    model.meta = dict(ckpt.meta or {})
    model.requires_grad_(False)
    return model.eval().to(device or ("cuda" if torch.cuda.is_available() else "cpu"))
