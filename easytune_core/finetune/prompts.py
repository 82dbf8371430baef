"""Prompt sources: plain callables ``source(batch_size, generator) -> (captions, frames)``."""

from __future__ import annotations

from pathlib import Path
from typing import Optional, Sequence

import numpy as np
import torch

from ..limits import MAX_PROMPT_CHARS


def _check_prompts(prompts: Sequence[str]) -> list[str]:
    cleaned = [p.strip() for p in prompts if p and p.strip()]
    if not cleaned:
        raise ValueError("the prompt list is empty: give at least one non-empty prompt")
    for p in cleaned:
        if len(p) > MAX_PROMPT_CHARS:
            raise ValueError(f"prompt longer than {MAX_PROMPT_CHARS} characters: {p[:40]!r}...")
    return cleaned


class ListPrompts:
    """A user's prompt list; every prompt gets ``frames`` frames (default 120 = 6 s at 20 fps)."""

    def __init__(self, prompts: Sequence[str], frames: int = 120):
        self.prompts = _check_prompts(prompts)
        if frames < 4:
            raise ValueError(f"frames must be at least 4, got {frames}")
        self.frames = frames

    def __len__(self) -> int:
        return len(self.prompts)

    def __call__(self, batch_size: int, generator: Optional[torch.Generator] = None):
        idx = torch.randint(0, len(self.prompts), (batch_size,), generator=generator).tolist()
        return [self.prompts[i] for i in idx], [self.frames] * batch_size


class SplitPrompts:
    """Captions and lengths of a HumanML3D-layout split (``<root>/<split>.txt``, ``texts/``,
    ``new_joint_vecs/``); lengths are capped at ``max_frames``. ``limit`` keeps the first N names."""

    def __init__(self, root: str | Path, split: str = "train", max_frames: int = 120,
                 limit: int = 0, skip_mirrored: bool = False):
        root = Path("data/builtin") if str(root) == "builtin" else Path(root)  # the contract's --data builtin
        split_file = root / f"{split}.txt"
        if not split_file.is_file():
            raise FileNotFoundError(f"no split file {split_file}; build the data with "
                                    f"`python -m easytune_core prepare-data --out {root}`")
        names = [n.strip() for n in split_file.read_text().splitlines() if n.strip()]
        if skip_mirrored:
            names = [n for n in names if not n.startswith("M")]
        if limit:
            names = names[:limit]
        self.captions: list[str] = []
        self.frames: list[int] = []
        for name in names:
            text_file = root / "texts" / f"{name}.txt"
            vec_file = root / "new_joint_vecs" / f"{name}.npy"
            if not text_file.is_file() or not vec_file.is_file():
                continue
            length = int(np.load(vec_file, mmap_mode="r").shape[0])
            for line in text_file.read_text(encoding="utf-8").splitlines():
                caption = line.split("#")[0].strip()
                if caption:
                    self.captions.append(caption[:MAX_PROMPT_CHARS])
                    self.frames.append(max(4, min(length, max_frames)))
        if not self.captions:
            raise ValueError(f"split {split!r} under {root} has no captions")

    def __len__(self) -> int:
        return len(self.captions)

    def __call__(self, batch_size: int, generator: Optional[torch.Generator] = None):
        idx = torch.randint(0, len(self.captions), (batch_size,), generator=generator).tolist()
        return [self.captions[i] for i in idx], [self.frames[i] for i in idx]
