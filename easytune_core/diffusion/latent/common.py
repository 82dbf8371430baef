"""Pieces the latent trainers (train-vae, train-latent, distill) share: command-line options from
typed config dataclasses, the caption-embedding cache, and a latent cache of the dataset."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch


def add_config_arguments(p: argparse.ArgumentParser, cls, skip: tuple = ()) -> None:
    """One ``--field-name`` option per field of a config dataclass (bools become flags that
    flip the default; the field's docstring is not available at run time, so help shows the default)."""
    for f in dataclasses.fields(cls):
        if f.name in skip:
            continue
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()  # type: ignore[misc]
        flag = "--" + f.name.replace("_", "-")
        if isinstance(default, bool):
            p.add_argument(flag, default=default, type=lambda s: s.lower() in ("1", "true", "yes", "on"),
                           metavar="BOOL", help=f"default {default}")
        elif isinstance(default, list):
            p.add_argument(flag, default=default, type=float, nargs=len(default), help=f"default {default}")
        else:
            p.add_argument(flag, default=default, type=type(default), help=f"default {default}")


def config_from_args(cls, args, **overrides):
    """Build a config dataclass from parsed options (validation happens in its __post_init__)."""
    values = {f.name: getattr(args, f.name) for f in dataclasses.fields(cls) if hasattr(args, f.name)}
    values.update(overrides)
    return cls(**values)


def command_line(name: str) -> str:
    import shlex
    return f"python -m easytune_core {name} " + " ".join(shlex.quote(a) for a in sys.argv[2:])


def prepare_text(encoder, root: Path, splits=("train", "val")) -> None:
    """Encode every caption of ``splits`` once (kept in <root>/.cache so later runs skip it)."""
    from ..train import all_captions
    caps = all_captions(root, splits)
    t0 = time.time()
    cache_file = root / ".cache" / f"text_{encoder.name}.safetensors"
    encoder.load_cache(cache_file)
    for i in range(0, len(caps), 512):
        encoder.encode(caps[i:i + 512])
    try:
        encoder.save_cache(cache_file)
    except OSError:  # read-only dataset folder: only slower next time
        pass
    print(f"encoded {len(caps)} captions in {time.time() - t0:.1f}s", file=sys.stderr)


def cpu_has_bf16() -> bool:
    """Whether this CPU computes bf16 natively (AVX512-BF16 or AMX); elsewhere torch emulates it and
    bf16 autocast is several times slower than fp32."""
    try:
        flags = Path("/proc/cpuinfo").read_text().split()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


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
    """Identifies a latent cache: the VAE weights (their sha256), the data folder, split, views, seed, limit."""
    import hashlib
    digest = hashlib.sha256((Path(vae_folder) / "model.safetensors").read_bytes()).hexdigest()[:16]
    return json.dumps([digest, str(Path(root).resolve()), split, views, seed, limit])


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


def ema_update(ema: torch.nn.Module, model: torch.nn.Module, decay: float) -> None:
    with torch.no_grad():
        for pe, pm in zip(ema.parameters(), model.parameters()):
            pe.lerp_(pm, 1.0 - decay)


def masked_mean(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean of x (B, T, ...) over valid frames (mask (B, T))."""
    m = mask.to(x.dtype).reshape(*mask.shape, *([1] * (x.dim() - 2)))
    return (x * m).sum() / (m.sum() * (x[0, 0].numel())).clamp_min(1.0)


def np32(a) -> np.ndarray:
    return np.asarray(a, dtype=np.float32)
