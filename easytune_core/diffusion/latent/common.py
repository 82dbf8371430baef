"""Pieces the latent trainers (train-vae, train-latent, distill) share: their run options (typed, on
the command line through :mod:`easytune_core.cli_config`), the caption-embedding cache, and a
latent cache of the dataset."""

from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import numpy as np
import torch

from ...cli_config import add_config_arguments, config_from_args, config_to_argv  # noqa: F401  (the trainers' helpers)
from ...data.loader import cpu_has_bf16, resolve_device, set_threads  # noqa: F401  (cpu_has_bf16: used below and by benchmarks)
from ..train import ema_update  # noqa: F401  (the latent trainers' EMA, shared with train-base)


@dataclass
class LatentRunOptions:
    """What a latent trainer (train-vae, train-latent, distill) reads and writes and where it runs;
    the model and the optimisation have their own configs."""

    out: str = field(default="", metadata={"required": True})
    """Checkpoint folder to write (resume state in <out>/resume, latent caches in <out>/cache)."""
    data: str = "builtin"
    """'builtin' (data/builtin) or a HumanML3D-layout folder."""
    resume: bool = False
    """Continue from <out>/resume if present."""
    threads: int = 0
    """torch CPU threads (0 = leave as is)."""
    device: Optional[str] = None
    """cpu or cuda (default: cuda when present)."""
    save_dtype: str = field(default="float32", metadata={"choices": ("float32", "float16")})
    """Storage dtype of the written weights."""

    def __post_init__(self):
        if not str(self.out).strip():
            raise ValueError("out is required: the checkpoint folder to write (--out DIR)")
        if self.threads < 0:
            raise ValueError(f"--threads must not be negative, got {self.threads}")

    def start(self) -> str:
        """Apply the thread count; returns the device to train on."""
        set_threads(self.threads or None)
        return resolve_device(self.device)

    @property
    def storage_dtype(self):
        return torch.float16 if self.save_dtype == "float16" else None


def recorded_command(name: str, *configs, skip=()) -> str:
    """The command line that reproduces a run from its configs (kept in the checkpoint's meta);
    ``skip``: fields that are not options of the command (set from the data or another model)."""
    import shlex
    argv = [a for c in configs for a in config_to_argv(c, skip=("resume", *skip))]
    return " ".join([f"python -m easytune_core {name}", *(shlex.quote(a) for a in argv)])


def prepare_text(encoder, root: Path, splits=("train", "val")) -> None:
    """Encode every caption of ``splits`` once (the shared disk cache in <root>/.cache lets later
    runs, and the other trainers using the same encoder, skip it)."""
    from ...data.loader import CaptionEmbeddings
    t0 = time.time()
    info = CaptionEmbeddings(encoder).warm(root, splits)
    print(f"encoded {info['captions']} captions in {time.time() - t0:.1f}s", file=sys.stderr)


def autocast(device: str, enabled: bool = True):
    """Mixed precision when ``enabled``: fp16 on CUDA, bf16 on CPUs with native bf16, else fp32."""
    cuda = device.startswith("cuda")
    on = enabled and (cuda or cpu_has_bf16())
    return torch.autocast(device_type="cuda" if cuda else "cpu", dtype=torch.float16 if cuda else torch.bfloat16,
                          enabled=on)


class LatentCache:
    """VAE posteriors (mu, logvar) of a dataset split, for ``views`` random crops of every motion,
    with one caption drawn per view: diffusion in the latent space then needs no VAE call per step.

    Args:
        mu, logvar: (N, L, C) float tensors; captions: N strings.
    """

    def __init__(self, mu: torch.Tensor, logvar: torch.Tensor, captions: list[str]):
        if mu.shape != logvar.shape or mu.shape[0] != len(captions):
            raise ValueError("mu, logvar and captions must have the same length")
        self.mu, self.logvar, self.captions = mu.float(), logvar.float(), list(captions)

    def __len__(self) -> int:
        return len(self.captions)

    @classmethod
    @torch.no_grad()
    def build(cls, vae, root: Path, split: str, views: int, batch_size: int = 128, seed: int = 0,
              device: str = "cpu", amp: bool = True, random_crop: bool = True, limit: int = 0) -> "LatentCache":
        """``limit`` > 0 keeps that many motions of the split (an evenly spread subset: short runs)."""
        from ...data.dataset import LengthBucketSampler, MotionTextDataset, collate_motion
        ds = MotionTextDataset(str(root), split=split, max_frames=vae.config.max_frames, random_crop=random_crop,
                               seed=seed, mean=None, std=None)
        keep = np.arange(len(ds))
        if limit and limit < len(ds):
            keep = np.linspace(0, len(ds) - 1, limit).round().astype(np.int64)
        subset = torch.utils.data.Subset(ds, keep.tolist())
        mus, lvs, caps = [], [], []
        for view in range(views):
            ds.set_epoch(view)
            sampler = LengthBucketSampler(ds.lengths[keep], batch_size, shuffle=False)
            loader = torch.utils.data.DataLoader(subset, batch_sampler=sampler, collate_fn=collate_motion)
            for b in loader:
                with autocast(device, amp):
                    mu, lv = vae.encode(b["features"].to(device), b["mask"].to(device))
                mus.append(mu.float().cpu())
                lvs.append(lv.float().cpu())
                caps += b["captions"]
        return cls(torch.cat(mus), torch.cat(lvs), caps)

    def save(self, path: Path, key: str) -> None:
        from safetensors.torch import save_file
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        save_file({"mu": self.mu.half().contiguous(), "logvar": self.logvar.half().contiguous()}, str(tmp),
                  metadata={"key": key, "captions": json.dumps(self.captions)})
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path, key: str) -> "LatentCache | None":
        """The cache at ``path`` if it was built for ``key`` (VAE + data + views), else None."""
        from safetensors import safe_open
        if not path.exists():
            return None
        try:
            with safe_open(str(path), framework="pt") as f:
                meta = f.metadata() or {}
                if meta.get("key") != key:
                    return None
                return cls(f.get_tensor("mu"), f.get_tensor("logvar"), json.loads(meta["captions"]))
        except Exception:  # a damaged cache is rebuilt
            return None

    def batch(self, batch_size: int, generator: torch.Generator, sample: bool = True):
        """(z (B, L, C) drawn from the posteriors (or their means), captions) for random items."""
        idx = torch.randint(0, len(self), (batch_size,), generator=generator)
        mu, lv = self.mu[idx], self.logvar[idx]
        if sample:
            mu = mu + (0.5 * lv).exp() * torch.randn(mu.shape, generator=generator)
        return mu, [self.captions[i] for i in idx.tolist()]

    def latent_std(self) -> float:
        """Standard deviation of sampled latents over the cache (for the latent scale)."""
        g = torch.Generator().manual_seed(0)
        z = self.mu + (0.5 * self.logvar).exp() * torch.randn(self.mu.shape, generator=g)
        return float(z.std())


def cache_key(vae_folder: Path, root: Path, split: str, views: int, seed: int, limit: int = 0) -> str:
    """Identifies a latent cache: the VAE weights (their sha256), the data folder and what it holds
    (the split's list and the feature statistics, hashed: a folder generated again, e.g. another
    world, size or seed, gets a new cache), split, views, seed, limit."""
    import hashlib
    digest = hashlib.sha256((Path(vae_folder) / "model.safetensors").read_bytes()).hexdigest()[:16]
    data = hashlib.sha256()
    for name in (f"{split}.txt", "Mean.npy", "Std.npy"):
        f = Path(root) / name
        data.update(f.read_bytes() if f.is_file() else b"-")
    return json.dumps([digest, str(Path(root).resolve()), data.hexdigest()[:16], split, views, seed, limit])


def load_or_build_cache(vae, vae_folder: Path, root: Path, split: str, views: int, cache_dir: Path, seed: int,
                        device: str, random_crop: bool = True, limit: int = 0) -> LatentCache:
    path = cache_dir / f"latents_{split}.safetensors"
    key = cache_key(vae_folder, root, split, views, seed, limit)
    cache = LatentCache.load(path, key)
    if cache is None:
        t0 = time.time()
        cache = LatentCache.build(vae, root, split, views, seed=seed, device=device, random_crop=random_crop,
                                  limit=limit)
        cache.save(path, key)
        print(f"encoded {len(cache)} {split} crops with the VAE in {time.time() - t0:.0f}s", file=sys.stderr)
    return cache


def set_lr(opt, lr: float) -> None:
    for g in opt.param_groups:
        g["lr"] = lr


def masked_mean(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean of x (B, T, ...) over valid frames (mask (B, T))."""
    m = mask.to(x.dtype).reshape(*mask.shape, *([1] * (x.dim() - 2)))
    return (x * m).sum() / (m.sum() * (x[0, 0].numel())).clamp_min(1.0)


def np32(a) -> np.ndarray:
    return np.asarray(a, dtype=np.float32)
