"""Scaffolding shared by the trainers (``train-base``, ``train-reward``, ``train-evaluator``):
seeding, device / threads / autocast, length-bucketed loaders with epoch handling, and the caches
of caption embeddings and caption token features.

The reward model and the evaluator both train through this module and share nothing else, so the
evaluator stays independent of the reward model in code as well as in weights.
"""

from __future__ import annotations

import contextlib
import random
from pathlib import Path
from typing import Iterator, Optional, Sequence

import numpy as np
import torch

from .dataset import LengthBucketSampler, MotionTextDataset, collate_motion

__all__ = ["seed_everything", "resolve_device", "set_threads", "amp_dtype", "autocast", "make_loader", "set_epoch",
           "forever", "split_captions", "caption_cache_file", "CaptionEmbeddings", "TokenCache"]


# --------------------------------------------------------------------------------- run environment
def seed_everything(seed: int) -> None:
    """Seed Python's, numpy's and torch's global RNGs (initialisation and anything not driven by an
    explicit generator; the dataset's own draws come from ``(seed, epoch, index)``)."""
    random.seed(seed)
    np.random.seed(seed % (2 ** 32))
    torch.manual_seed(seed)


def resolve_device(device: Optional[str] = None) -> str:
    """``device`` as given, else ``"cuda"`` when a GPU is visible, else ``"cpu"``."""
    return str(device) if device else ("cuda" if torch.cuda.is_available() else "cpu")


def set_threads(threads: Optional[int]) -> None:
    """Use ``threads`` torch CPU threads; None or 0 leaves torch's setting alone."""
    if threads:
        if threads < 0:
            raise ValueError(f"threads must be positive (0 = leave as is), got {threads}")
        torch.set_num_threads(int(threads))


def cpu_has_bf16() -> bool:
    """Whether this CPU computes bf16 natively (AVX512-BF16 or AMX); elsewhere torch emulates it and
    bf16 autocast is several times slower than fp32."""
    try:
        flags = Path("/proc/cpuinfo").read_text().split()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def mixed_precision_pays(device: str) -> bool:
    """Whether the default mixed precision (``amp`` in training, ``"auto"`` precision) is used on
    ``device``: always on CUDA, on a CPU only when it has native bf16."""
    return str(device).startswith("cuda") or cpu_has_bf16()


def auto_precision(device: str) -> str:
    """What precision "auto" means on ``device``: fp16 on CUDA, bf16 on CPUs with native bf16,
    fp32 on other CPUs."""
    if str(device).startswith("cuda"):
        return "fp16"
    return "bf16" if cpu_has_bf16() else "fp32"


def amp_dtype(device: str) -> torch.dtype:
    """The mixed-precision type of ``device``: bfloat16 on CPU (no loss scaling needed), float16 on CUDA."""
    return torch.float16 if str(device).startswith("cuda") else torch.bfloat16


def autocast(device: str, enabled: bool = True, dtype: Optional[torch.dtype] = None):
    """``torch.autocast`` for ``device`` ("cpu", "cuda", "cuda:1") with :func:`amp_dtype` unless
    ``dtype`` is given; a no-op context when ``enabled`` is False."""
    if not enabled:
        return contextlib.nullcontext()
    kind = str(device).split(":")[0]
    return torch.autocast(device_type=kind, dtype=dtype or amp_dtype(device))


# --------------------------------------------------------------------------------- loaders
def make_loader(root, split: str, batch_size: int, train: bool, seed: int = 0, max_frames: int = 196,
                mean=None, std=None, allow_empty: bool = False,
                twin_share: float = 0.0, twins: Optional[dict] = None) -> Optional[torch.utils.data.DataLoader]:
    """A DataLoader over ``split`` of a HumanML3D-layout folder, yielding ``collate_motion`` batches
    of normalised features (B, T, D), masks (B, T) and captions.

    Training (``train=True``): a random caption and crop per item, length-bucketed shuffled batches
    (little padding), the last short batch dropped; call :func:`set_epoch` (or iterate
    :func:`forever`) for new draws each epoch. Evaluation: the first crop, no shuffling, in the
    dataset's length order.

    Args:
        max_frames: longest item in frames (longer motions are dropped, as HumanML3D does).
        mean, std: normalisation to use instead of the folder's Mean/Std (e.g. a checkpoint's).
        allow_empty: return None for an empty split instead of raising (optional validation splits).
        twin_share: training only: about this fraction of every batch is made of near-twin pairs
            (:class:`~easytune_core.data.twins.TwinBatchSampler`).
        twins: with ``twin_share``, the split's near-twin relations by name
            (:func:`~easytune_core.data.twins.load_twins`).
    """
    ds = MotionTextDataset(root, split=split, max_frames=max_frames, random_crop=train, seed=seed, mean=mean, std=std)
    if len(ds) == 0:
        if allow_empty:
            return None
        raise ValueError(f"split {split!r} of {root} has no usable motions")
    if train:
        if len(ds) < batch_size:
            raise ValueError(f"split {split!r} of {root} has {len(ds)} motions, fewer than the batch size "
                             f"{batch_size}: lower --batch-size")
        sampler = LengthBucketSampler(ds, batch_size, shuffle=True, drop_last=True, seed=seed)
        if twin_share:
            from .twins import TwinBatchSampler, twin_index

            if twins is None:
                raise ValueError("a twin share needs the split's near-twin relations (twins=load_twins(...))")
            sampler = TwinBatchSampler(sampler, twin_index([e["name"] for e in ds.entries], twins), twin_share,
                                       seed=seed)
        return torch.utils.data.DataLoader(ds, batch_sampler=sampler, collate_fn=collate_motion, num_workers=0,
                                           generator=_own_generator(seed))
    return torch.utils.data.DataLoader(ds, batch_size=batch_size, shuffle=False, collate_fn=collate_motion,
                                       num_workers=0, generator=_own_generator(seed))


def _own_generator(seed: int) -> torch.Generator:
    """A DataLoader draws a seed from its generator at every pass; its own keeps those draws off
    torch's global generator (which dropout uses), so a resumed run draws what an uninterrupted one does."""
    return torch.Generator().manual_seed(int(seed))


def set_epoch(loader, epoch: int) -> None:
    """New random captions, crops and batch order for ``loader`` (a no-op for evaluation loaders)."""
    loader.dataset.set_epoch(epoch)
    if hasattr(loader.batch_sampler, "set_epoch"):
        loader.batch_sampler.set_epoch(epoch)


def forever(loader, first_epoch: int = 0, skip: int = 0) -> Iterator[dict]:
    """Endless batches: epoch after epoch from ``first_epoch``, each with new draws. A run resumed
    mid-epoch passes the epoch it stopped in and the batches of it already trained (``skip``): they
    are left out without being loaded, so it goes on with the batches an uninterrupted run gets.
    Trainers stop on their own step or time budget."""
    epoch = first_epoch
    while True:
        set_epoch(loader, epoch)
        if skip:
            if not hasattr(loader.batch_sampler, "skip_next"):
                raise ValueError("this loader cannot leave out batches (its batch sampler has no skip_next)")
            loader.batch_sampler.skip_next(skip)
            skip = 0
        yield from loader
        epoch += 1


# --------------------------------------------------------------------------------- caption caches
def split_captions(root, splits: Sequence[str] = ("train", "val")) -> list[str]:
    """Every distinct caption of the motions listed in ``<root>/<split>.txt`` for ``splits``, sorted
    (``texts/NAME.txt`` lines are ``caption#tokens#start#end``; missing splits are skipped)."""
    root = Path(root)
    names: list[str] = []
    for split in splits:
        path = root / f"{split}.txt"
        if path.exists():
            names += [n.strip() for n in path.read_text(encoding="utf-8").splitlines() if n.strip()]
    captions = set()
    for name in names:
        text_file = root / "texts" / f"{name}.txt"
        if not text_file.exists():
            continue
        for line in text_file.read_text(encoding="utf-8", errors="replace").splitlines():
            caption = line.split("#")[0].strip()
            if caption:
                captions.add(caption)
    return sorted(captions)


def caption_cache_file(encoder, root, tokens: bool = False) -> Path:
    """Where the pooled caption embeddings of ``encoder`` for dataset ``root`` are kept on disk
    (``tokens``: its per-caption token states)."""
    return Path(root) / ".cache" / f"{'tokens' if tokens else 'text'}_{encoder.name}.safetensors"


class CaptionEmbeddings:
    """Pooled sentence embeddings of captions for a training loop, on the training device.

    The text encoder keeps one embedding per distinct caption in memory; this class adds the disk
    cache (``<dataset>/.cache/text_<encoder>.safetensors``, shared by every trainer that uses the
    same encoder on the same dataset) and the transfer to the device.

    Args:
        encoder: a text encoder with ``encode(list[str]) -> (B, dim)`` (``easytune_core.text``);
            ``load_cache`` / ``save_cache`` are used when it has them.
        device: where the embeddings are returned.
        tokens: > 0 for denoisers that read token states: calls return ``encoder.condition(captions,
            tokens)`` ((B, 1 + L, dim)) and the token states get a disk cache of their own.
    """

    def __init__(self, encoder, device: str = "cpu", tokens: int = 0):
        self.encoder, self.device, self.tokens = encoder, device, int(tokens)

    @property
    def dim(self) -> int:
        return int(self.encoder.dim)

    def warm(self, root, splits: Sequence[str] = ("train", "val"), encode_all: bool = True) -> dict:
        """Load the disk cache of dataset ``root``; with ``encode_all``, also encode every caption of
        ``splits`` now (so no training step waits for the encoder) and write the cache back (a
        read-only dataset folder only costs the speed-up). Returns ``{"loaded", "captions", "file"}``."""
        path = caption_cache_file(self.encoder, root)
        loaded = int(self.encoder.load_cache(path)) if hasattr(self.encoder, "load_cache") else 0
        token_path = caption_cache_file(self.encoder, root, tokens=True)
        if self.tokens:
            self.encoder.load_token_cache(token_path)
        captions = split_captions(root, splits) if encode_all else []
        for i in range(0, len(captions), 512):
            self.encoder.encode(captions[i:i + 512])
        if self.tokens and captions:
            self.encoder.cache_tokens(captions)
        if encode_all and hasattr(self.encoder, "save_cache"):
            try:
                self.encoder.save_cache(path)
                if self.tokens:
                    self.encoder.save_token_cache(token_path)
            except OSError:
                pass
        return {"loaded": loaded, "captions": len(captions), "file": str(path)}

    def __call__(self, captions: Sequence[str]) -> torch.Tensor:
        """(B, dim) float32 embeddings of ``captions`` on the device, no grad ((B, 1 + L, dim) with tokens)."""
        if self.tokens:
            return self.encoder.condition(list(captions), self.tokens).float().to(self.device)
        return self.encoder.encode(list(captions)).float().to(self.device)


class TokenCache:
    """Per-caption token features of a frozen token encoder (``encode_tokens``), kept as float16 on
    the CPU up to ``max_bytes`` (then started over with the current batch's captions).

    Encoders marked ``cheap`` (static word-vector look-ups) are not cached: the look-up costs less
    than the memory."""

    def __init__(self, encoder, max_bytes: int = 400 * 2 ** 20):
        self.enc = encoder
        if getattr(encoder, "cheap", False):
            max_bytes = 0
        self.store: dict[str, torch.Tensor] = {}
        self.max_bytes, self.bytes = int(max_bytes), 0

    def batch(self, captions: Sequence[str]) -> tuple[torch.Tensor, torch.Tensor]:
        """Token features (B, L, dim) float32 and mask (B, L) bool (True = real token) of ``captions``."""
        missing = sorted({c for c in captions if c not in self.store})
        if missing:
            tok, mask = self.enc.encode_tokens(missing)
            if self.bytes >= self.max_bytes:  # start over rather than grow without bound
                keep = set(captions)
                self.store = {c: v for c, v in self.store.items() if c in keep}
                self.bytes = sum(v.numel() * 2 for v in self.store.values())
            for c, t, m in zip(missing, tok, mask):
                self.store[c] = t[m].to(torch.float16)
                self.bytes += self.store[c].numel() * 2
        rows = [self.store[c] for c in captions]
        n = max(len(r) for r in rows)
        tokens = torch.zeros(len(rows), n, rows[0].shape[-1])
        mask = torch.zeros(len(rows), n, dtype=torch.bool)
        for i, r in enumerate(rows):
            tokens[i, :len(r)] = r.float()
            mask[i, :len(r)] = True
        return tokens, mask
