"""Stand-ins for the data side of the trainers: a deterministic bag-of-words text encoder (no model
load), a tiny HumanML3D-layout dataset of random motions with learnable action signatures, and a
tiny evaluator over them."""

from __future__ import annotations

import zlib

import numpy as np
import torch

ACTIONS = ["walks forward", "jumps up", "waves the right hand", "sits down", "turns around", "kicks"]


class FakeTextEncoder:
    """Deterministic bag-of-words encoder (no model download, no MiniLM load)."""

    name = "fake"
    dim = 16

    def _word(self, w: str) -> torch.Tensor:
        g = torch.Generator().manual_seed(zlib.crc32(w.encode()))
        return torch.randn(self.dim, generator=g)

    def encode_tokens(self, texts):
        rows = [[self._word(w) for w in str(t).lower().split()] or [torch.zeros(self.dim)] for t in texts]
        n = max(len(r) for r in rows)
        tok = torch.zeros(len(rows), n, self.dim)
        mask = torch.zeros(len(rows), n, dtype=torch.bool)
        for i, r in enumerate(rows):
            tok[i, :len(r)] = torch.stack(r)
            mask[i, :len(r)] = True
        return tok, mask

    def encode(self, texts):
        if isinstance(texts, str):
            raise ValueError("encode expects a list")
        tok, mask = self.encode_tokens(texts)
        return torch.nn.functional.normalize((tok * mask[..., None]).sum(1), dim=-1)


def make_tiny_dataset(root, n_train=40, n_test=40, seed=0, unique_captions=False):
    """HumanML3D-layout folder of random 263-d motions whose mean level depends on the action.

    Each motion has a shared caption ("a person <action>") and a unique one, or only the unique
    one with ``unique_captions``.
    """
    rng = np.random.default_rng(seed)
    (root / "new_joint_vecs").mkdir(parents=True)
    (root / "texts").mkdir()
    names = {"train": [], "test": []}
    all_feats = []
    for split, n in (("train", n_train), ("test", n_test)):
        for i in range(n):
            name = f"{split}{i:03d}"
            a = i % len(ACTIONS)
            t = int(rng.integers(40, 72))
            feats = rng.normal(size=(t, 263)).astype(np.float32) * 0.5
            feats[:, a * 10:(a + 1) * 10] += 2.0  # an action signature the models can learn
            np.save(root / "new_joint_vecs" / f"{name}.npy", feats)
            cap = f"a person {ACTIONS[a]}"
            lines = [] if unique_captions else [f"{cap}#a/DET person/NOUN#0.0#0.0"]
            lines.append(f"someone {ACTIONS[a]} {split} {i}#x#0.0#0.0")
            (root / "texts" / f"{name}.txt").write_text("\n".join(lines) + "\n")
            names[split].append(name)
            all_feats.append(feats)
    cat = np.concatenate(all_feats)
    np.save(root / "Mean.npy", cat.mean(0))
    np.save(root / "Std.npy", cat.std(0) + 1e-3)
    for split, ns in names.items():
        (root / f"{split}.txt").write_text("\n".join(ns) + "\n")
    (root / "val.txt").write_text("")
    return root


def tiny_evaluator(encoder, data):
    """A random, tiny :class:`Evaluator` on ``encoder``'s tokens, normalised with ``data``'s stats."""
    from easytune_core.eval.model import Evaluator, EvaluatorConfig

    torch.manual_seed(0)
    ev = Evaluator(EvaluatorConfig(token_dim=encoder.dim, movement_dim=8, hidden=8, embed_dim=6,
                                   text_encoder="fake")).eval()
    ev.mean.copy_(torch.from_numpy(np.load(data / "Mean.npy")))
    ev.std.copy_(torch.from_numpy(np.load(data / "Std.npy")))
    ev.text_encoder = encoder
    return ev
