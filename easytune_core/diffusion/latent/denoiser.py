"""Latent denoiser (MLD's, §3.2 of Chen et al., CVPR 2023): one transformer over the noisy latent
tokens followed by a timestep token and the text token(s), learned positions, long skip
connections; the first L output tokens are the prediction.

Unconditional rows (classifier-free guidance, condition dropout) see a stored "null" text
embedding: zeros for models trained here, the text encoder's embedding of "" for converted MLD
checkpoints (MLD drops the text by encoding the empty string). A few-step (consistency-distilled)
student also takes the guidance scale w as input, embedded like a timestep and added to the
timestep token (latent consistency distillation, Luo et al. 2023; MotionLCM, Dai et al. 2024).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields

import torch
from torch import nn

from .layers import EncoderLayer, SkipStack, TimeMLP, timestep_features

SAMPLERS = ("ddim", "consistency")


@dataclass
class LatentDenoiserConfig:
    """Size and behaviour of a :class:`LatentDenoiser` (saved in every latent checkpoint).

    MLD's HumanML3D model: ``latent_tokens=1, latent_dim=256, width=256, layers=9, heads=4,
    ff=1024, text_dim=768 (CLIP ViT-L/14), time_dim=768, prediction="eps", schedule
    "scaled_linear", timestep_spacing="leading", steps_offset=1, set_alpha_to_one=False``.
    """

    space: str = "latent"
    """Marks the checkpoint as a latent model (frame-space checkpoints have no such key)."""
    latent_tokens: int = 1
    """Latent tokens L of the VAE this model works with."""
    latent_dim: int = 256
    """Size of each latent token (the VAE's width)."""
    text_dim: int = 384
    """Size of the text embedding (384 MiniLM, 768 CLIP ViT-L/14)."""
    text_tokens: int = 1
    """Text tokens per prompt (1 = a pooled embedding)."""
    width: int = 256
    """Transformer width; in/out projections are added when it differs from latent_dim."""
    time_dim: int = 0
    """Size of the sinusoidal timestep features (0 = text_dim, as MLD)."""
    layers: int = 9
    """Transformer layers (odd: skip connections)."""
    heads: int = 4
    """Attention heads; must divide width."""
    ff: int = 1024
    """Feed-forward hidden size."""
    dropout: float = 0.1
    """Dropout (training only)."""
    activation: str = "gelu"
    """Feed-forward activation: "gelu" or "relu"."""
    norm_first: bool = False
    """Pre-norm layers (MLD: post-norm)."""
    max_positions: int = 500
    """Length of the learned positions (MLD: 500)."""
    cond_drop_prob: float = 0.1
    """Training probability of replacing the text with the null embedding (classifier-free guidance)."""
    prediction: str = "eps"
    """What the network predicts: "eps" (MLD) or "x0"."""
    schedule: str = "scaled_linear"
    """Noise schedule ("scaled_linear": betas 0.00085-0.012 in sqrt space, as MLD; or "cosine")."""
    diffusion_steps: int = 1000
    """Training timesteps."""
    timestep_spacing: str = "trailing"
    """DDIM step placement: "trailing" (first step at T-1) or "leading" (diffusers' default, MLD)."""
    steps_offset: int = 0
    """Added to "leading" timesteps (MLD: 1)."""
    set_alpha_to_one: bool = True
    """ᾱ after the last DDIM step: 1 (True) or ᾱ_0 (False, MLD)."""
    latent_scale: float = 1.0
    """Diffusion runs on VAE latents times this factor (1 for MLD; models trained here use
    1/std of the training latents)."""
    sampler: str = "ddim"
    """"ddim" (guided, two passes per step) or "consistency" (few-step student, guidance folded in)."""
    guidance_embed: bool = False
    """The model takes the guidance scale w as an input (few-step students)."""
    guidance_range: list = field(default_factory=lambda: [1.0, 1.0])
    """[w_min, w_max] the student was distilled for (requests outside are refused)."""
    original_steps: int = 50
    """Consistency models: the teacher's DDIM grid the student was distilled on (skipping step
    diffusion_steps / original_steps)."""
    default_steps: int = 50
    """Steps the pipeline uses when none are given (4 for few-step students)."""
    default_guidance: float = 2.5
    """Guidance scale the pipeline uses when none is given (MLD: 7.5)."""
    timestep_scaling: float = 10.0
    """Consistency boundary: c_skip = σ²/((s·t)² + σ²), c_out = s·t/√((s·t)² + σ²) with this s ..."""
    sigma_data: float = 0.5
    """... and this σ (LCM's values)."""
    text_encoder: str = "minilm"
    """Name of the text encoder (see easytune_core.text); "clip-vit-l-14" for MLD."""
    text_encoder_path: str = ""
    """Local folder of the text encoder's weights, recorded by ``convert`` for offline use ("" = by name)."""
    fps: float = 20.0
    """Frame rate of the decoded motions."""
    max_frames: int = 196
    """Longest motion the VAE decodes."""

    def __post_init__(self):
        if self.space != "latent":
            raise ValueError(f"space must be 'latent', got {self.space!r}")
        for name in ("latent_tokens", "latent_dim", "text_dim", "text_tokens", "width", "layers", "heads", "ff",
                     "max_positions", "diffusion_steps", "original_steps", "default_steps", "max_frames"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name} must be a positive integer, got {getattr(self, name)}")
        if self.time_dim < 0:
            raise ValueError(f"time_dim must be >= 0, got {self.time_dim}")
        if self.layers % 2 == 0:
            raise ValueError(f"layers must be odd (skip connections), got {self.layers}")
        if self.width % self.heads:
            raise ValueError(f"width ({self.width}) must be divisible by heads ({self.heads})")
        if self.latent_tokens + 1 + self.text_tokens > self.max_positions:
            raise ValueError("max_positions is smaller than the token count")
        if not 0.0 <= self.dropout < 1.0 or not 0.0 <= self.cond_drop_prob < 1.0:
            raise ValueError("dropout and cond_drop_prob must be in [0, 1)")
        checks = {"activation": ("gelu", "relu"), "prediction": ("eps", "x0"), "schedule": ("scaled_linear", "cosine"),
                  "timestep_spacing": ("trailing", "leading"), "sampler": SAMPLERS}
        for name, allowed in checks.items():
            if getattr(self, name) not in allowed:
                raise ValueError(f"{name} must be one of {allowed}, got {getattr(self, name)!r}")
        if not self.latent_scale > 0:
            raise ValueError(f"latent_scale must be positive, got {self.latent_scale}")
        lo, hi = (float(v) for v in self.guidance_range)
        if not 0.0 <= lo <= hi:
            raise ValueError(f"guidance_range must be [w_min, w_max] with 0 <= w_min <= w_max, got {self.guidance_range}")
        self.guidance_range = [lo, hi]
        if self.sampler == "consistency" and not self.guidance_embed:
            raise ValueError("a consistency (few-step) model needs guidance_embed=True")
        if self.diffusion_steps % self.original_steps:
            raise ValueError(f"original_steps ({self.original_steps}) must divide diffusion_steps ({self.diffusion_steps})")

    @property
    def state_dim(self) -> int:
        """Size of one token of the sampler's state (a latent token)."""
        return self.latent_dim

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "LatentDenoiserConfig":
        if not isinstance(d, dict):
            raise ValueError(f"latent denoiser config must be a JSON object, got {type(d).__name__}")
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})


class LatentDenoiser(nn.Module):
    """G_θ(z_t, t, c[, w]) on latent tokens: predicts ε (or z0) of the latents."""

    def __init__(self, config: LatentDenoiserConfig | None = None):
        super().__init__()
        self.config = c = config or LatentDenoiserConfig()
        w = c.width
        tdim = c.time_dim or c.text_dim
        self.time_mlp = TimeMLP(tdim, w)
        # MLD projects the text with ReLU -> Linear, and not at all when the sizes already agree
        self.text_proj = nn.Sequential(nn.ReLU(), nn.Linear(c.text_dim, w)) if c.text_dim != w else nn.Identity()
        self.in_proj = nn.Linear(c.latent_dim, w) if c.latent_dim != w else nn.Identity()
        self.out_proj = nn.Linear(w, c.latent_dim) if c.latent_dim != w else nn.Identity()
        self.pos = nn.Parameter(torch.rand(c.max_positions, w))
        self.encoder = SkipStack(EncoderLayer(w, c.heads, c.ff, c.dropout, c.activation, c.norm_first), c.layers, w)
        self.guidance_mlp = TimeMLP(tdim, w) if c.guidance_embed else None
        if self.guidance_mlp is not None:  # starts as the teacher: the w-embedding adds nothing yet
            nn.init.zeros_(self.guidance_mlp.linear_2.weight)
            nn.init.zeros_(self.guidance_mlp.linear_2.bias)
        self.register_buffer("null_text", torch.zeros(c.text_tokens, c.text_dim))

    def _text(self, text_emb: torch.Tensor, batch: int, uncond) -> torch.Tensor:
        """(B, N, text_dim) text tokens with unconditional rows (and training dropout) replaced."""
        c = self.config
        if text_emb.ndim == 2:
            text_emb = text_emb[:, None]
        if text_emb.shape[1:] != (c.text_tokens, c.text_dim):
            raise ValueError(f"text embeddings must be (B, {c.text_dim}) or (B, {c.text_tokens}, {c.text_dim}), "
                             f"got {tuple(text_emb.shape)}")
        dev = text_emb.device
        if isinstance(uncond, torch.Tensor):
            drop = uncond.to(device=dev, dtype=torch.bool).reshape(-1).expand(batch)
        else:
            drop = torch.full((batch,), bool(uncond), device=dev)
        if self.training and c.cond_drop_prob > 0:
            drop = drop | (torch.rand(batch, device=dev) < c.cond_drop_prob)
        if not bool(drop.any()):
            return text_emb
        null = self.null_text.to(text_emb.dtype).expand(batch, -1, -1)
        return torch.where(drop[:, None, None], null, text_emb)

    def forward(self, x_t: torch.Tensor, t: torch.Tensor, text_emb: torch.Tensor, mask: torch.Tensor | None = None,
                uncond=False, guidance=None) -> torch.Tensor:
        """One denoiser call.

        Args:
            x_t: (B, L, latent_dim) noisy (scaled) latents.
            t: (B,) or scalar timesteps in [0, diffusion_steps).
            text_emb: (B, text_dim) pooled or (B, N, text_dim) token embeddings.
            mask: ignored (every latent token is valid); accepted so samplers can treat latent and
                frame-space models alike.
            uncond: bool or (B,) bool; True uses the null text for that row.
            guidance: (B,) or scalar guidance scale w (models with ``guidance_embed`` only).
        Returns:
            (B, L, latent_dim) prediction of ε (or z0, per config.prediction).
        """
        c = self.config
        B, L, D = x_t.shape
        if (L, D) != (c.latent_tokens, c.latent_dim):
            raise ValueError(f"latents must be (B, {c.latent_tokens}, {c.latent_dim}), got {tuple(x_t.shape)}")
        t = torch.as_tensor(t, device=x_t.device).reshape(-1).expand(B)
        dtype = x_t.dtype
        tdim = c.time_dim or c.text_dim
        temb = self.time_mlp(timestep_features(t, tdim).to(dtype))
        if self.guidance_mlp is not None:
            if guidance is None:
                raise ValueError("this few-step model needs the guidance scale w as input")
            w = torch.as_tensor(guidance, device=x_t.device, dtype=torch.float32).reshape(-1).expand(B)
            # scaled like timesteps so that w's useful range spans many sinusoid periods (LCM: 1000 w)
            temb = temb + self.guidance_mlp(timestep_features(w * 1000.0, tdim).to(dtype))
        text = self.text_proj(self._text(text_emb, B, uncond).to(dtype))
        seq = torch.cat([self.in_proj(x_t), temb[:, None], text], dim=1)
        seq = seq + self.pos[: seq.shape[1]].to(dtype)
        return self.out_proj(self.encoder(seq)[:, :L])
