"""Token features for the evaluator's text encoder.

The default, ``"minilm-static"``, is MiniLM's WordPiece tokenizer plus its frozen *input*
word-embedding table: one context-free 384-d vector per word piece, the analogue of the
GloVe word vectors Guo et al.'s evaluator reads. It is cheap (a table look-up, no
transformer pass) and keeps the evaluator's text side apart from the reward model, which
reads MiniLM's pooled *contextual* sentence embedding. Any other name goes to
``easytune_core.text.get_text_encoder`` and uses its ``encode_tokens``.
"""

from __future__ import annotations

import threading

import torch

__all__ = ["StaticTokenEmbedder", "get_token_encoder"]

_LOCK = threading.Lock()
_CACHE: dict[str, object] = {}


class StaticTokenEmbedder:
    """WordPiece tokens -> rows of MiniLM's input embedding table (no context, no special tokens)."""

    name = "minilm-static"
    cheap = True  # look-ups are fast: callers need not cache results

    def __init__(self, path=None, max_tokens: int = 64):
        from safetensors import safe_open
        from tokenizers import Tokenizer

        from easytune_core.text import minilm_path
        folder = minilm_path() if path is None else path
        self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(max_tokens + 2)
        with safe_open(str(folder / "model.safetensors"), framework="pt") as f:
            key = next(k for k in f.keys() if k.endswith("embeddings.word_embeddings.weight"))
            self.table = f.get_tensor(key).float()
        self.dim = int(self.table.shape[1])
        self.special = {self.tokenizer.token_to_id(t) for t in ("[CLS]", "[SEP]", "[PAD]")} - {None}

    def encode_tokens(self, texts: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
        """Texts -> tokens (B, L, dim) float32 and mask (B, L) bool (True = word piece)."""
        if isinstance(texts, str):
            raise ValueError("encode_tokens expects a list of strings, got a single string")
        ids = [[i for i in e.ids if i not in self.special] for e in self.tokenizer.encode_batch([str(t) for t in texts])]
        n = max([len(r) for r in ids] + [1])
        idx = torch.zeros(len(ids), n, dtype=torch.long)
        mask = torch.zeros(len(ids), n, dtype=torch.bool)
        for b, r in enumerate(ids):
            idx[b, :len(r)] = torch.tensor(r, dtype=torch.long)
            mask[b, :len(r)] = True
        return self.table[idx] * mask[..., None], mask


def get_token_encoder(name: str = "minilm-static", device=None):
    """The evaluator's token-feature source by name (shared per process)."""
    if name == "minilm-static":
        with _LOCK:
            if name not in _CACHE:
                _CACHE[name] = StaticTokenEmbedder()
            return _CACHE[name]
    from easytune_core import text
    return text.get_text_encoder(name, device=device)
