"""Independent evaluator (Guo et al. 2022 style), never the reward model.

Architecture, after Guo et al.'s ``text_mot_match`` networks, scaled down for CPU:
  * motion: drop the 4 foot-contact channels, a *movement encoder* (two stride-2 1-D
    convolutions, so one unit = 4 frames) and a bidirectional GRU over the movement
    features, packed to each motion's length // 4; the last hidden states of both
    directions go through an MLP to the co-embedding;
  * text: a bidirectional GRU over per-token word vectors (by default MiniLM's static input
    embeddings, as Guo et al. read GloVe vectors; never the pooled contextual sentence
    vector the reward model uses), packed to each caption's token count.
Embeddings live in Euclidean space (the metrics use Euclidean distances). Motions enter
de-normalised and are normalised here with the evaluator's own statistics.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

from easytune_core.hub import PretrainedMixin

__all__ = ["EvaluatorConfig", "Evaluator", "load_evaluator", "UNIT_LEN"]

UNIT_LEN = 4  # frames per movement unit (two stride-2 convolutions)
TAIL_FRAMES = 8  # zero frames after every motion: more than the convolutions read past its end


@dataclass
class EvaluatorConfig:
    """Architecture of the evaluator (saved as JSON next to the weights)."""

    feature_dim: int = 263
    """Per-frame feature size of the motions it scores (263 HumanML3D, 251 KIT-ML)."""
    drop_foot_contacts: bool = True
    """Ignore the last 4 channels (foot contacts), as Guo et al.'s evaluator does."""
    token_dim: int = 384
    """Size of the text encoder's per-token features (384 for MiniLM)."""
    movement_dim: int = 128
    """Channels of the movement (convolution) encoder."""
    hidden: int = 160
    """Hidden size of each GRU direction."""
    embed_dim: int = 128
    """Size of the co-embedding space."""
    dropout: float = 0.2
    """Dropout in the movement encoder during training."""
    text_encoder: str = "minilm-static"
    """Source of its token features (``eval.text.get_token_encoder``): MiniLM's static word vectors."""

    def __post_init__(self):
        for name in ("feature_dim", "token_dim", "movement_dim", "hidden", "embed_dim"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name} must be a positive integer, got {getattr(self, name)}")
        if self.drop_foot_contacts and self.feature_dim <= 4:
            raise ValueError(f"feature_dim must exceed the 4 foot-contact channels, got {self.feature_dim}")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")

    @property
    def input_dim(self) -> int:
        return self.feature_dim - 4 if self.drop_foot_contacts else self.feature_dim


def _last_hidden(gru: nn.GRU, x: torch.Tensor, lengths: torch.Tensor, h0: torch.Tensor) -> torch.Tensor:
    """Run a 1-layer BiGRU over packed sequences; concat both directions' final states: (B, 2H)."""
    packed = pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
    _, h = gru(packed, h0.expand(-1, x.shape[0], -1).contiguous())
    return torch.cat([h[0], h[1]], dim=-1)


class Evaluator(PretrainedMixin, nn.Module):
    """Text and motion encoders into one Euclidean co-embedding space.

    ``Evaluator.from_pretrained("evaluator")`` (a folder, the shipped name or a Hub repo id),
    ``save_pretrained`` and ``push_to_hub`` follow :mod:`easytune_core.hub`.
    """

    checkpoint_kind = "evaluator"

    def __init__(self, config: EvaluatorConfig | None = None):
        super().__init__()
        self.config = cfg = config or EvaluatorConfig()
        m = cfg.movement_dim
        self.movement = nn.Sequential(
            nn.Conv1d(cfg.input_dim, m, 4, 2, 1), nn.Dropout(cfg.dropout), nn.LeakyReLU(0.2, inplace=True),
            nn.Conv1d(m, m, 4, 2, 1), nn.Dropout(cfg.dropout), nn.LeakyReLU(0.2, inplace=True))
        self.movement_out = nn.Linear(m, m)
        self.motion_in = nn.Linear(m, cfg.hidden)
        self.motion_gru = nn.GRU(cfg.hidden, cfg.hidden, batch_first=True, bidirectional=True)
        self.motion_h0 = nn.Parameter(torch.zeros(2, 1, cfg.hidden))
        self.motion_out = nn.Sequential(nn.Linear(2 * cfg.hidden, cfg.hidden), nn.LayerNorm(cfg.hidden),
                                        nn.LeakyReLU(0.2, inplace=True), nn.Linear(cfg.hidden, cfg.embed_dim))
        self.text_in = nn.Linear(cfg.token_dim, cfg.hidden)
        self.text_gru = nn.GRU(cfg.hidden, cfg.hidden, batch_first=True, bidirectional=True)
        self.text_h0 = nn.Parameter(torch.zeros(2, 1, cfg.hidden))
        self.text_out = nn.Sequential(nn.Linear(2 * cfg.hidden, cfg.hidden), nn.LayerNorm(cfg.hidden),
                                      nn.LeakyReLU(0.2, inplace=True), nn.Linear(cfg.hidden, cfg.embed_dim))
        self.register_buffer("mean", torch.zeros(cfg.feature_dim), persistent=False)
        self.register_buffer("std", torch.ones(cfg.feature_dim), persistent=False)
        self.text_encoder = None  # set by load_evaluator / the trainer (not a submodule: frozen, shared)
        self._text_cache: dict[str, np.ndarray] = {}  # caption -> embedding (valid for frozen weights only)

    @property
    def device(self) -> torch.device:
        return self.motion_h0.device

    @classmethod
    def _from_folder(cls, folder, device=None) -> "Evaluator":
        return load_evaluator(folder, device=device)

    def _pretrained_parts(self) -> dict:
        return {"model": self, "config": self.config, "kind": "evaluator", "mean": self.mean.cpu(), "std": self.std.cpu(),
                "meta": getattr(self, "meta", None), "metrics": getattr(self, "metrics", None)}

    # ------------------------------------------------------------------ tensors in, tensors out
    def encode_motion(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Evaluator-normalised features (B, T, feature_dim), lengths (B,) frames -> (B, E)."""
        cfg = self.config
        if x.ndim != 3 or x.shape[-1] != cfg.feature_dim:
            raise ValueError(f"motion features must be (B, T, {cfg.feature_dim}), got {tuple(x.shape)}")
        lengths = torch.as_tensor(lengths).long().reshape(-1)
        if lengths.shape[0] != x.shape[0]:
            raise ValueError(f"got {lengths.shape[0]} lengths for {x.shape[0]} motions")
        if (lengths < UNIT_LEN).any() or (lengths > x.shape[1]).any():
            raise ValueError(f"motion lengths must be between {UNIT_LEN} and {x.shape[1]} frames, "
                             f"got {lengths.min().item()}..{lengths.max().item()}")
        # zero the padding (in normalised space, as collate_motion pads): the stride-2 convolutions
        # see a few frames past the end, and the result must not depend on what padding holds
        valid = torch.arange(x.shape[1], device=x.device)[None] < lengths.to(x.device)[:, None]
        x = x[..., :cfg.input_dim] * valid[..., None]
        # Every motion gets zero frames after its end, also the longest of a batch: otherwise the
        # second convolution would see its own zero padding there instead of the first one's output
        # on zero frames, and a motion's embedding would depend on the batch it is in.
        x = torch.nn.functional.pad(x, (0, 0, 0, TAIL_FRAMES))
        h = self.movement(x.permute(0, 2, 1)).permute(0, 2, 1)
        h = self.motion_in(self.movement_out(h))
        units = torch.clamp(lengths // UNIT_LEN, max=h.shape[1])
        return self.motion_out(_last_hidden(self.motion_gru, h, units, self.motion_h0))

    def encode_text(self, tokens: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Per-token text features (B, L, token_dim) with mask (B, L) True=token -> (B, E)."""
        if tokens.ndim != 3 or tokens.shape[-1] != self.config.token_dim:
            raise ValueError(f"text tokens must be (B, L, {self.config.token_dim}), got {tuple(tokens.shape)}")
        n = mask.long().sum(1).clamp(min=1)
        return self.text_out(_last_hidden(self.text_gru, self.text_in(tokens), n, self.text_h0))

    # ------------------------------------------------------------------ user-facing helpers
    def normalize(self, raw: torch.Tensor) -> torch.Tensor:
        """De-normalised HumanML3D features -> the evaluator's own normalisation."""
        return (raw - self.mean) / self.std

    @torch.no_grad()
    def embed_motions(self, features, lengths, batch_size: int = 64) -> np.ndarray:
        """De-normalised motions (B, T, D) (numpy or torch) with lengths (B,) -> (B, E) numpy."""
        feats = torch.as_tensor(np.asarray(features) if not torch.is_tensor(features) else features,
                                dtype=torch.float32)
        if not torch.isfinite(feats).all():
            raise ValueError("motion features contain NaN or infinite values")
        lengths = torch.as_tensor(np.asarray(lengths)).long()
        self.eval()
        out = []
        for s in range(0, feats.shape[0], batch_size):
            x = self.normalize(feats[s:s + batch_size].to(self.device))
            out.append(self.encode_motion(x, lengths[s:s + batch_size]).cpu())
        return torch.cat(out).numpy()

    @torch.no_grad()
    def embed_texts(self, captions: list[str], batch_size: int = 64, tokens=None) -> np.ndarray:
        """Captions -> (B, E) numpy (uses the text encoder's per-token features; ``tokens``, the
        dataset's POS tokens that the T2M evaluator reads, are not used)."""
        if self.text_encoder is None:
            from easytune_core.eval.text import get_token_encoder
            self.text_encoder = get_token_encoder(self.config.text_encoder, device=str(self.device))
        captions = [str(c) for c in captions]
        self.eval()
        missing = sorted({c for c in captions if c not in self._text_cache})
        for s in range(0, len(missing), batch_size):
            chunk = missing[s:s + batch_size]
            tok, mask = self.text_encoder.encode_tokens(chunk)
            emb = self.encode_text(tok.to(self.device), mask.to(self.device)).cpu().numpy()
            self._text_cache.update(zip(chunk, emb))
        if not captions:
            return np.zeros((0, self.config.embed_dim), dtype=np.float32)
        return np.stack([self._text_cache[c] for c in captions])


def load_evaluator(folder=None, device=None) -> Evaluator:
    """Load an evaluator checkpoint folder (kind "evaluator"; default: the shipped evaluator),
    frozen and in eval mode."""
    from easytune_core.checkpoints import CheckpointError, load_checkpoint, load_into
    from easytune_core.shipped import shipped_checkpoint

    folder = folder if folder is not None else shipped_checkpoint("evaluator")
    ckpt = load_checkpoint(folder, expected_kind="evaluator")
    model = load_into(Evaluator(EvaluatorConfig(**ckpt.config)), ckpt)
    if ckpt.mean is None:
        raise CheckpointError(f"{folder}: an evaluator checkpoint needs stats.safetensors (its own mean/std)")
    model.mean.copy_(torch.as_tensor(ckpt.mean))
    model.std.copy_(torch.as_tensor(ckpt.std))
    model.meta = dict(ckpt.meta or {})
    model.requires_grad_(False)
    return model.eval().to(device or ("cuda" if torch.cuda.is_available() else "cpu"))
