"""Guo et al.'s T2M text-motion matching evaluator (the field's standard), loaded from its files.

The networks are those of the published ``text_mot_match`` checkpoint, with its parameter names
so its state dicts load as they are:

* movement encoder: two stride-2 convolutions (kernel 4, padding 1; dropout and LeakyReLU 0.2
  after each) and a linear layer over the motion without its 4 foot-contact channels: one
  movement unit per 4 frames;
* motion encoder: linear, a bidirectional GRU (learned initial state) over the first
  ``length // 4`` units, and an MLP (linear, LayerNorm, LeakyReLU, linear) on both final states;
* text encoder: word vector + linear(POS one-hot), linear, a bidirectional GRU over the
  caption's tokens (sos and eos included), and the same MLP.

Motions enter de-normalised and are normalised with the *evaluator's own* mean/std; frames past
each length are zero (after normalisation) and motions are padded to exactly 196 frames, as the
published ground-truth loader feeds them. Lengths are counted in
frames (at most 196 in the published protocol, which uses multiples of 4; see
:mod:`easytune_core.eval.protocol`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

from easytune_core.eval.glove import MAX_TEXT_LEN, POS_CLASSES, WordVectors

__all__ = ["T2MConfig", "T2MEvaluator", "load_t2m_evaluator", "find_t2m_files", "UNIT_LENGTH", "PAD_FRAMES"]

UNIT_LENGTH = 4
"""Frames per movement unit."""
PAD_FRAMES = 196
"""The published loaders pad every motion to this many frames before the convolutions."""
FEATURE_DIMS = {"t2m": 263, "kit": 251}
_STATS_DIRS = {"t2m": "Comp_v6_KLD01", "kit": "Comp_v6_KLD005"}
_PARTS = ("movement_encoder", "text_encoder", "motion_encoder")


@dataclass
class T2MConfig:
    """Sizes of the evaluator (read from the checkpoint's tensor shapes; published: 263 or 251,
    512, 512, 1024, 512, 512, 300)."""

    feature_dim: int = 263
    """Motion feature size: 263 (HumanML3D, "t2m") or 251 (KIT-ML)."""
    movement_hidden: int = 512
    """Channels of the first convolution."""
    movement_latent: int = 512
    """Channels of a movement unit."""
    motion_hidden: int = 1024
    """Hidden size of each motion GRU direction."""
    text_hidden: int = 512
    """Hidden size of each text GRU direction."""
    embed_dim: int = 512
    """Co-embedding size."""
    word_dim: int = 300
    """Word vector size (GloVe: 300)."""
    pos_dim: int = len(POS_CLASSES)
    """Part-of-speech one-hot size (15)."""

    def __post_init__(self):
        for k, v in self.__dict__.items():
            if int(v) < 1:
                raise ValueError(f"{k} must be a positive integer, got {v}")
        if self.feature_dim <= 4:
            raise ValueError(f"feature_dim must exceed the 4 foot-contact channels, got {self.feature_dim}")
        if self.pos_dim != len(POS_CLASSES):
            raise ValueError(f"pos_dim must be {len(POS_CLASSES)} (the evaluator's POS classes), got {self.pos_dim}")

    @classmethod
    def from_state_dicts(cls, parts: dict) -> "T2MConfig":
        """Infer the sizes from the three state dicts of a ``finest.tar``."""
        def shape(part, key, ndim):
            t = parts[part].get(key)
            if not torch.is_tensor(t) or t.ndim != ndim:
                raise ValueError(f"{part}.{key} is missing or is not a {ndim}-d tensor")
            return tuple(t.shape)
        c1, c2 = shape("movement_encoder", "main.0.weight", 3), shape("movement_encoder", "main.3.weight", 3)
        p = shape("text_encoder", "pos_emb.weight", 2)
        th = shape("text_encoder", "input_emb.weight", 2)[0]
        mh = shape("motion_encoder", "input_emb.weight", 2)[0]
        emb = shape("text_encoder", "output_net.3.weight", 2)[0]
        return cls(feature_dim=c1[1] + 4, movement_hidden=c1[0], movement_latent=c2[0], motion_hidden=mh,
                   text_hidden=th, embed_dim=emb, word_dim=p[0], pos_dim=p[1])


class _MovementEncoder(nn.Module):
    def __init__(self, in_dim: int, hidden: int, latent: int):
        super().__init__()
        self.main = nn.Sequential(nn.Conv1d(in_dim, hidden, 4, 2, 1), nn.Dropout(0.2), nn.LeakyReLU(0.2),
                                  nn.Conv1d(hidden, latent, 4, 2, 1), nn.Dropout(0.2), nn.LeakyReLU(0.2))
        self.out_net = nn.Linear(latent, latent)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, T, in_dim) -> (B, T // 4, latent)."""
        return self.out_net(self.main(x.transpose(1, 2)).transpose(1, 2))


class _BiGRUHead(nn.Module):
    """input_emb -> BiGRU (learned h0) over packed sequences -> MLP on both final states."""

    def __init__(self, in_dim: int, hidden: int, out_dim: int):
        super().__init__()
        self.input_emb = nn.Linear(in_dim, hidden)
        self.gru = nn.GRU(hidden, hidden, batch_first=True, bidirectional=True)
        self.output_net = nn.Sequential(nn.Linear(2 * hidden, hidden), nn.LayerNorm(hidden), nn.LeakyReLU(0.2),
                                        nn.Linear(hidden, out_dim))
        self.hidden = nn.Parameter(torch.zeros(2, 1, hidden))

    def encode(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        h = self.input_emb(x)
        packed = pack_padded_sequence(h, lengths.cpu(), batch_first=True, enforce_sorted=False)
        _, last = self.gru(packed, self.hidden.expand(-1, x.shape[0], -1).contiguous())
        return self.output_net(torch.cat([last[0], last[1]], dim=-1))


class _TextEncoder(_BiGRUHead):
    def __init__(self, word_dim: int, pos_dim: int, hidden: int, out_dim: int):
        super().__init__(word_dim, hidden, out_dim)
        self.pos_emb = nn.Linear(pos_dim, word_dim)

    def forward(self, words: torch.Tensor, pos: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        return self.encode(words + self.pos_emb(pos), lengths)


class _MotionEncoder(_BiGRUHead):
    def forward(self, units: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        return self.encode(units, lengths)


class T2MEvaluator(nn.Module):
    """The T2M evaluator behind the project's evaluator interface.

    ``embed_motions(features, lengths)`` and ``embed_texts(captions, tokens=None)`` return numpy
    co-embeddings in input order, like :class:`easytune_core.eval.model.Evaluator`.

    Args:
        config: sizes (see :meth:`T2MConfig.from_state_dicts`).
        words: the GloVe vocabulary (:class:`WordVectors`); needed for texts only.
        tagger: POS tagger for captions without tokens (name or callable, see
            :func:`easytune_core.eval.pos.get_tagger`).
    """

    name = "t2m"

    def __init__(self, config: T2MConfig | None = None, words: WordVectors | None = None, tagger="auto"):
        super().__init__()
        self.config = c = config or T2MConfig()
        self.movement_encoder = _MovementEncoder(c.feature_dim - 4, c.movement_hidden, c.movement_latent)
        self.text_encoder = _TextEncoder(c.word_dim, c.pos_dim, c.text_hidden, c.embed_dim)
        self.motion_encoder = _MotionEncoder(c.movement_latent, c.motion_hidden, c.embed_dim)
        self.register_buffer("mean", torch.zeros(c.feature_dim), persistent=False)
        self.register_buffer("std", torch.ones(c.feature_dim), persistent=False)
        self.words = words
        self.tagger = tagger
        self.token_sources: dict[str, int] = {}  # where the tokens of embedded captions came from
        self.meta: dict = {}

    @property
    def device(self) -> torch.device:
        return self.mean.device

    # ------------------------------------------------------------------ tensors in, tensors out
    def encode_motion(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Evaluator-normalised motions (B, T, D), padding already zero, lengths (B,) frames -> (B, E)."""
        lengths = torch.as_tensor(lengths).long().reshape(-1)
        units = lengths // UNIT_LENGTH
        if (units < 1).any():
            raise ValueError(f"motion lengths must be at least {UNIT_LENGTH} frames, got {lengths.min().item()}")
        # Exactly 196 frames, as the published loaders pad: the last unit's convolutions reach past
        # the motion's end, and whether they meet zero frames or the convolution's own padding matters.
        longest = int(lengths.max())
        t = PAD_FRAMES if longest <= PAD_FRAMES else -(-longest // UNIT_LENGTH) * UNIT_LENGTH
        x = x[:, :t]
        if t > x.shape[1]:
            x = torch.cat([x, x.new_zeros(x.shape[0], t - x.shape[1], x.shape[2])], dim=1)
        movements = self.movement_encoder(x[..., :-4])
        return self.motion_encoder(movements, units)

    def encode_text(self, words: torch.Tensor, pos: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Word vectors (B, L, word_dim), POS one-hots (B, L, 15), lengths (B,) tokens -> (B, E)."""
        return self.text_encoder(words, pos, torch.as_tensor(lengths).long().reshape(-1))

    # ------------------------------------------------------------------ the evaluator interface
    def normalize(self, raw: torch.Tensor) -> torch.Tensor:
        """De-normalised features -> the evaluator's normalisation."""
        return (raw - self.mean) / self.std

    @torch.no_grad()
    def embed_motions(self, features, lengths, batch_size: int = 64) -> np.ndarray:
        """De-normalised motions (B, T, D) with lengths (B,) frames -> (B, E) numpy."""
        feats = torch.as_tensor(np.asarray(features) if not torch.is_tensor(features) else features,
                                dtype=torch.float32)
        D = self.config.feature_dim
        if feats.ndim != 3 or feats.shape[-1] != D:
            raise ValueError(f"motion features must be (B, T, {D}), got {tuple(feats.shape)}")
        if not torch.isfinite(feats).all():
            raise ValueError("motion features contain NaN or infinite values")
        lengths = torch.as_tensor(np.asarray(lengths)).long().reshape(-1)
        if lengths.shape[0] != feats.shape[0]:
            raise ValueError(f"got {lengths.shape[0]} lengths for {feats.shape[0]} motions")
        if (lengths < UNIT_LENGTH).any() or (lengths > feats.shape[1]).any():
            raise ValueError(f"motion lengths must be between {UNIT_LENGTH} and {feats.shape[1]} frames, "
                             f"got {lengths.min().item()}..{lengths.max().item()}")
        self.eval()
        out = []
        for s in range(0, feats.shape[0], batch_size):
            x = self.normalize(feats[s:s + batch_size].to(self.device))
            n = lengths[s:s + batch_size].to(self.device)
            x = x * (torch.arange(x.shape[1], device=x.device)[None] < n[:, None])[..., None]
            out.append(self.encode_motion(x, n).cpu())
        return torch.cat(out).numpy()

    @torch.no_grad()
    def embed_texts(self, captions, tokens=None, batch_size: int = 256) -> np.ndarray:
        """Captions -> (B, E) numpy.

        Args:
            captions: list of str.
            tokens: optional per-caption HumanML3D tokens (``"word/POS word/POS"`` or lists), used
                instead of tagging the caption (see :mod:`easytune_core.eval.pos`).
        """
        from easytune_core.eval.pos import caption_token_lists

        if self.words is None:
            raise ValueError("this T2M evaluator has no word vectors: load it with a GloVe folder (--glove DIR)")
        if isinstance(captions, str):
            raise ValueError("embed_texts expects a list of captions, got a single string")
        lists, sources = caption_token_lists(list(captions), tokens, self.tagger)
        for s in sources:
            self.token_sources[s] = self.token_sources.get(s, 0) + 1
        if not lists:
            return np.zeros((0, self.config.embed_dim), dtype=np.float32)
        self.eval()
        out = []
        for s in range(0, len(lists), batch_size):
            w, p, n = self.words.encode(lists[s:s + batch_size], MAX_TEXT_LEN)
            out.append(self.encode_text(torch.from_numpy(w).to(self.device), torch.from_numpy(p).to(self.device),
                                        torch.from_numpy(n)).cpu())
        return torch.cat(out).numpy()

    # ------------------------------------------------------------------ loading
    def load_parts(self, parts: dict, source: str = "checkpoint") -> None:
        """Load the three state dicts (``movement_encoder``, ``text_encoder``, ``motion_encoder``);
        a missing, unknown or mis-shaped key is a ``ValueError`` naming it."""
        for part in _PARTS:
            module = getattr(self, part)
            sd = parts.get(part)
            if not isinstance(sd, dict):
                raise ValueError(f"{source}: no {part!r} state dict (keys: {sorted(parts)})")
            own = module.state_dict()
            missing = sorted(set(own) - set(sd))
            unknown = sorted(set(sd) - set(own))
            if missing or unknown:
                raise ValueError(f"{source}: {part} does not match the T2M evaluator: "
                                 f"missing keys {missing[:5]}, unknown keys {unknown[:5]}")
            for k, v in sd.items():
                if not torch.is_tensor(v) or tuple(v.shape) != tuple(own[k].shape):
                    got = tuple(v.shape) if torch.is_tensor(v) else type(v).__name__
                    raise ValueError(f"{source}: {part}.{k} has shape {got}, expected {tuple(own[k].shape)}")
            module.load_state_dict({k: v.float() for k, v in sd.items()})


def _dataset_of(feature_dim: int | None) -> list[str]:
    if feature_dim is None:
        return ["t2m", "kit"]
    for name, dim in FEATURE_DIMS.items():
        if dim == feature_dim:
            return [name]
    raise ValueError(f"the T2M evaluator exists for 263-d (HumanML3D) and 251-d (KIT-ML) features, got {feature_dim}")


def find_t2m_files(folder, feature_dim: int | None = None, weights_only: bool = False) -> tuple:
    """Locate ``finest.tar`` and the evaluator's ``mean.npy``/``std.npy`` under ``folder``.

    Accepted layouts (``DS`` = ``t2m`` for HumanML3D, ``kit`` for KIT-ML):
      * the checkpoint folder of Guo et al. / MLD (``checkpoints/DS``): ``text_mot_match/model/finest.tar``
        with ``Comp_v6_KLD01/meta`` (KIT: ``Comp_v6_KLD005/meta``), ``text_mot_match/meta`` or ``meta``;
      * its parent (``checkpoints``): the same under ``DS/``;
      * MDM's layout: ``DS/text_mot_match/model/finest.tar`` with ``dataset/DS_mean.npy`` and
        ``dataset/DS_std.npy`` beside (or ``DS_mean.npy`` in the folder itself);
      * the ``text_mot_match`` folder itself (``model/finest.tar``, ``meta/``).
    Returns:
        (finest.tar, mean.npy, std.npy); with ``weights_only`` (finest.tar, None, None).
    Raises:
        FileNotFoundError: listing the places looked at.
    """
    root = Path(folder)
    if not root.is_dir():
        raise FileNotFoundError(f"T2M evaluator folder {root} does not exist")
    tried_ckpt, tried_stats = [], []
    for ds in _dataset_of(feature_dim):
        for base in (root, root / ds, root.parent if root.name == "text_mot_match" else None):
            if base is None:
                continue
            ckpts = [base / "text_mot_match" / "model" / "finest.tar", base / "model" / "finest.tar",
                     base / "finest.tar"]
            ckpt = next((c for c in ckpts if c.is_file()), None)
            tried_ckpt += ckpts
            if ckpt is None:
                continue
            if weights_only:
                return ckpt, None, None
            stats = [(d / "mean.npy", d / "std.npy") for d in
                     (base / _STATS_DIRS[ds] / "meta", base / "text_mot_match" / "meta", base / "meta")]
            stats += [(d / f"{ds}_mean.npy", d / f"{ds}_std.npy") for d in
                      (base, base / "dataset", base.parent / "dataset", root, root / "dataset")]
            tried_stats += [m for m, _ in stats]
            for m, s in stats:
                if m.is_file() and s.is_file():
                    return ckpt, m, s
    if not tried_stats:
        raise FileNotFoundError(f"no T2M evaluator checkpoint under {root}: looked for "
                                + ", ".join(str(p) for p in dict.fromkeys(tried_ckpt)))
    raise FileNotFoundError(f"found the T2M evaluator weights under {root} but not its mean/std: looked for "
                            + ", ".join(str(p) for p in dict.fromkeys(tried_stats))
                            + " (or pass them explicitly)")


def load_t2m_evaluator(folder, glove=None, feature_dim: int | None = None, device=None, tagger="auto",
                       mean_path=None, std_path=None) -> T2MEvaluator:
    """Load Guo et al.'s evaluator from its published files, frozen and in eval mode.

    Args:
        folder: the evaluator folder (layouts in :func:`find_t2m_files`).
        glove: the ``glove/`` folder (``our_vab_*``); without it only motions can be embedded.
        feature_dim: 263 or 251 to pick HumanML3D's or KIT-ML's evaluator when the folder has both.
        tagger: POS tagger for captions without tokens.
        mean_path, std_path: the evaluator's normalisation files, overriding the search.
    Returns:
        T2MEvaluator (``meta`` records the files used).
    Raises:
        FileNotFoundError, ValueError, UnsafePickleError (``finest.tar`` needs more than weights).
    """
    from easytune_core.interop.safe_load import load_torch_weights

    if (mean_path is None) != (std_path is None):
        raise ValueError("give both the evaluator's mean and std files, or neither")
    ckpt_path = find_t2m_files(folder, feature_dim, weights_only=True)[0]
    state = load_torch_weights(ckpt_path)
    if not isinstance(state, dict):
        raise ValueError(f"{ckpt_path}: expected a dict with the three encoders, got {type(state).__name__}")
    missing = [p for p in _PARTS if p not in state]
    if missing:
        raise ValueError(f"{ckpt_path}: not a T2M evaluator checkpoint (missing {', '.join(missing)}; "
                         f"keys: {sorted(map(str, state))[:8]})")
    config = T2MConfig.from_state_dicts(state)
    if feature_dim is not None and config.feature_dim != feature_dim:
        raise ValueError(f"{ckpt_path} scores {config.feature_dim}-d motions, the data has {feature_dim}-d features")
    if mean_path is None:
        _, mean_path, std_path = find_t2m_files(folder, config.feature_dim)
    stats = []
    for p in (mean_path, std_path):
        try:
            a = np.load(p, allow_pickle=False).astype(np.float32)
        except ValueError as err:
            raise ValueError(f"{p}: not a plain numeric .npy array ({err})") from None
        if a.shape != (config.feature_dim,) or not np.isfinite(a).all():
            raise ValueError(f"{p}: expected {config.feature_dim} finite values, got shape {a.shape}")
        stats.append(a)
    if (stats[1] <= 0).any():
        raise ValueError(f"{std_path} has zero or negative entries")
    words = WordVectors.from_folder(glove) if glove is not None else None
    if words is not None and words.dim != config.word_dim:
        raise ValueError(f"the GloVe vectors in {glove} are {words.dim}-d, the evaluator reads {config.word_dim}-d")
    model = T2MEvaluator(config, words, tagger)
    model.load_parts(state, str(ckpt_path))
    model.mean.copy_(torch.from_numpy(stats[0]))
    model.std.copy_(torch.from_numpy(stats[1]))
    model.meta = {"checkpoint": str(ckpt_path), "mean": str(mean_path), "std": str(std_path),
                  "glove": None if glove is None else str(glove), "epoch": state.get("epoch")}
    model.requires_grad_(False)
    return model.eval().to(device or ("cuda" if torch.cuda.is_available() else "cpu"))
