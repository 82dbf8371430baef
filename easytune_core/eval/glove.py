"""GloVe word vectors + part-of-speech one-hots: the text input of Guo et al.'s T2M evaluator.

The evaluator reads a caption as its HumanML3D tokens (``word/POS``, see
:mod:`easytune_core.eval.pos`), wrapped in ``sos``/``eos`` and padded with ``unk`` to
``max_text_len + 2`` positions (longer captions are cut to ``max_text_len`` words first). Each
token becomes its word vector (``unk``'s for words outside the vocabulary) and a 15-way one-hot
of its part of speech, where words of five motion-specific lists (directions, body parts,
objects, actions, manner) get their own class whatever the tagger said, and unknown words
are ``OTHER``.

The vocabulary is the published ``glove/`` folder: ``our_vab_data.npy`` (N, 300) float32,
``our_vab_words.pkl`` (list of words) and ``our_vab_idx.pkl`` (word -> row). The pickles are
read with :func:`easytune_core.interop.safe_load.load_plain_pickle` (plain data only).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

__all__ = ["POS_CLASSES", "VIP_WORDS", "WordVectors", "pad_tokens", "MAX_TEXT_LEN"]

MAX_TEXT_LEN = 20
"""Words kept per caption (the evaluator sees at most this + sos + eos tokens)."""

POS_CLASSES = ("VERB", "NOUN", "DET", "ADP", "NUM", "AUX", "PRON", "ADJ", "ADV",
               "Loc_VIP", "Body_VIP", "Obj_VIP", "Act_VIP", "Desc_VIP", "OTHER")
"""The 15 part-of-speech classes, in one-hot order (any other tag counts as ``OTHER``)."""

# The evaluator's own word lists (data of the published vocabulary, checked in first-match order).
VIP_WORDS = {
    "Loc_VIP": ("left", "right", "clockwise", "counterclockwise", "anticlockwise", "forward", "back", "backward",
                "up", "down", "straight", "curve"),
    "Body_VIP": ("arm", "chin", "foot", "feet", "face", "hand", "mouth", "leg", "waist", "eye", "knee", "shoulder",
                 "thigh"),
    "Obj_VIP": ("stair", "dumbbell", "chair", "window", "floor", "car", "ball", "handrail", "baseball", "basketball"),
    "Act_VIP": ("walk", "run", "swing", "pick", "bring", "kick", "put", "squat", "throw", "hop", "dance", "jump",
                "turn", "stumble", "stop", "sit", "lift", "lower", "raise", "wash", "stand", "kneel", "stroll", "rub",
                "bend", "balance", "flap", "jog", "shuffle", "lean", "rotate", "spin", "spread", "climb"),
    "Desc_VIP": ("slowly", "carefully", "fast", "careful", "slow", "quickly", "happy", "angry", "sad", "happily",
                 "angrily", "sadly"),
}
_VIP_CLASS = {}
for _cls, _words in VIP_WORDS.items():
    for _w in _words:
        _VIP_CLASS.setdefault(_w, _cls)
_POS_INDEX = {p: i for i, p in enumerate(POS_CLASSES)}


def pad_tokens(tokens: list[str], max_text_len: int = MAX_TEXT_LEN) -> tuple[list[str], int]:
    """``sos`` + tokens + ``eos``, padded with ``unk`` to ``max_text_len + 2``.

    Returns:
        (tokens of length max_text_len + 2, sentence length counting sos and eos). A caption of
        ``max_text_len`` words or more is cut to ``max_text_len`` words (no padding then).
    """
    tokens = list(tokens)[:max_text_len]
    out = ["sos/OTHER"] + tokens + ["eos/OTHER"]
    n = len(out)
    return out + ["unk/OTHER"] * (max_text_len + 2 - n), n


class WordVectors:
    """A word-vector vocabulary with the evaluator's part-of-speech classes.

    Args:
        vectors: (N, dim) float32 rows.
        word_to_row: word -> row index of ``vectors``.
        words: the known words (the published files list them separately from the index;
            a word missing from this list counts as unknown). Must include ``unk``.
    """

    def __init__(self, vectors: np.ndarray, word_to_row: dict, words: list | None = None):
        vectors = np.asarray(vectors)
        if vectors.ndim != 2 or vectors.shape[0] == 0:
            raise ValueError(f"word vectors must be a non-empty (N, dim) array, got shape {vectors.shape}")
        if not np.issubdtype(vectors.dtype, np.floating):
            raise ValueError(f"word vectors must be floats, got {vectors.dtype}")
        self.vectors = vectors.astype(np.float32, copy=False)
        if not isinstance(word_to_row, dict):
            raise ValueError(f"the word index must be a dict word -> row, got {type(word_to_row).__name__}")
        words = list(word_to_row) if words is None else words
        if not isinstance(words, (list, tuple)):
            raise ValueError(f"the word list must be a list of strings, got {type(words).__name__}")
        self.row: dict[str, int] = {}
        for w in words:
            if not isinstance(w, str):
                raise ValueError(f"the word list holds a {type(w).__name__} ({w!r}); expected strings")
            if w not in word_to_row:
                raise ValueError(f"word {w!r} is in the word list but not in the index")
            r = word_to_row[w]
            if type(r) is not int or not 0 <= r < len(self.vectors):
                raise ValueError(f"word {w!r} maps to row {r!r}, outside 0..{len(self.vectors) - 1}")
            self.row[w] = r
        if "unk" not in self.row:
            raise ValueError("the vocabulary has no 'unk' word; the evaluator needs it for unknown words and padding")
        self.dim = int(self.vectors.shape[1])

    @classmethod
    def from_folder(cls, folder, prefix: str = "our_vab") -> "WordVectors":
        """Load the published layout ``<folder>/<prefix>_data.npy``, ``_words.pkl``, ``_idx.pkl``."""
        from easytune_core.interop.safe_load import load_plain_pickle

        folder = Path(folder)
        paths = [folder / f"{prefix}_{s}" for s in ("data.npy", "words.pkl", "idx.pkl")]
        missing = [p.name for p in paths if not p.is_file()]
        if missing:
            raise FileNotFoundError(f"GloVe folder {folder} lacks {', '.join(missing)} (expected the evaluator's "
                                    f"glove/ folder with {prefix}_data.npy, {prefix}_words.pkl, {prefix}_idx.pkl)")
        try:
            vectors = np.load(paths[0], allow_pickle=False)
        except ValueError as err:
            raise ValueError(f"{paths[0]}: not a plain numeric .npy array ({err})") from None
        return cls(vectors, load_plain_pickle(paths[2]), load_plain_pickle(paths[1]))

    def __len__(self) -> int:
        return len(self.row)

    def lookup(self, token: str) -> tuple[np.ndarray, int]:
        """``word/POS`` -> (word vector (dim,), POS class index). Unknown words: ``unk``, OTHER."""
        word, _, pos = str(token).rpartition("/")
        if not word:  # no slash: the whole token is the word
            word, pos = pos, "OTHER"
        r = self.row.get(word)
        if r is None:
            return self.vectors[self.row["unk"]], _POS_INDEX["OTHER"]
        cls = _VIP_CLASS.get(word, pos)
        return self.vectors[r], _POS_INDEX.get(cls, _POS_INDEX["OTHER"])

    def encode(self, token_lists: list[list[str]], max_text_len: int = MAX_TEXT_LEN):
        """Tokenised captions -> evaluator inputs.

        Args:
            token_lists: per caption, its ``word/POS`` tokens (without sos/eos).
        Returns:
            word_embs (B, max_text_len + 2, dim) float32, pos_onehot (B, max_text_len + 2, 15)
            float32, lengths (B,) int64 (tokens including sos and eos).
        """
        B, L = len(token_lists), max_text_len + 2
        words = np.zeros((B, L, self.dim), dtype=np.float32)
        pos = np.zeros((B, L, len(POS_CLASSES)), dtype=np.float32)
        lengths = np.zeros(B, dtype=np.int64)
        for b, toks in enumerate(token_lists):
            padded, lengths[b] = pad_tokens(toks, max_text_len)
            for i, tok in enumerate(padded):
                vec, cls = self.lookup(tok)
                words[b, i] = vec
                pos[b, i, cls] = 1.0
        return words, pos, lengths
