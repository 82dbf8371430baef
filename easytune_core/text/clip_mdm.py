"""CLIP ViT-B/32 text embeddings exactly as MDM computes them.

MDM (for HumanML3D and KIT) tokenises with OpenAI's ``clip.tokenize(context_length=22,
truncate=True)``: start token, at most 20 BPE tokens, end token (forced into the last kept
slot when the caption is longer), zeros after; it then zero-pads to CLIP's 77 positions and
runs ``encode_text``: the causal text transformer with no padding mask, the final LayerNorm,
the hidden state at the end token (the largest token id) and the text projection. The result
is *not* L2-normalised. Here the same network runs through ``transformers``
(``CLIPTextModelWithProjection``), which pools at the end token too; zero padding after it
cannot change that position's state under the causal mask.

MDM ran CLIP with half-precision weights; this runs float32 (see docs/interop_mdm.md for what
that changes).
"""

from __future__ import annotations

import html
import re

import torch

MDM_MAX_TEXT_TOKENS = 20
"""BPE tokens MDM keeps of a HumanML3D / KIT caption (plus the start and end tokens)."""
CLIP_CONTEXT = 77
"""CLIP's positions; MDM zero-pads its 22 tokens to this length."""
DEFAULT_CLIP = "openai/clip-vit-base-patch32"
CLIP_PATH_ENV = "EASYTUNE_CLIP_PATH"
"""Environment variable naming a local CLIP folder (used when no path is given)."""


def clean_caption(text: str) -> str:
    """OpenAI CLIP's text cleaning before BPE: ftfy (when installed), HTML entities unescaped twice,
    runs of whitespace collapsed, ends stripped (lower-casing is the tokenizer's)."""
    try:
        import ftfy
        text = ftfy.fix_text(text)
    except ImportError:  # ftfy only repairs mojibake; plain captions are unchanged without it
        pass
    text = html.unescape(html.unescape(text)).strip()
    return re.sub(r"\s+", " ", text).strip()


def mdm_clip_tokens(tokenizer, texts: list[str], max_text_tokens: int = MDM_MAX_TEXT_TOKENS) -> torch.Tensor:
    """Token ids as MDM feeds them to CLIP.

    Args:
        tokenizer: a transformers CLIP tokenizer (its ``bos_token_id`` / ``eos_token_id`` are
            CLIP's start and end tokens).
        texts: B captions.
        max_text_tokens: BPE tokens kept between the start and end tokens (MDM: 20).
    Returns:
        (B, 77) long: [start, tokens..., end, 0, ...]; a longer caption keeps its first
        ``max_text_tokens + 1`` tokens after the start with the last one replaced by the end token.
    """
    sot, eot = tokenizer.bos_token_id, tokenizer.eos_token_id
    if sot is None or eot is None:
        raise ValueError("the CLIP tokenizer has no start/end tokens (bos_token_id / eos_token_id)")
    keep = max_text_tokens + 2
    out = torch.zeros(len(texts), CLIP_CONTEXT, dtype=torch.long)
    for b, text in enumerate(texts):
        ids = tokenizer(clean_caption(str(text)), add_special_tokens=False)["input_ids"]
        seq = [sot, *ids, eot]
        if len(seq) > keep:
            seq = seq[:keep]
            seq[-1] = eot
        out[b, :len(seq)] = torch.tensor(seq)
    return out


def offline_help(source: str) -> str:
    """What to do when CLIP's weights cannot be loaded."""
    return (f"CLIP ViT-B/32 (the text encoder of MDM checkpoints) could not be loaded from {source!r}. "
            f"Online, it is fetched by name ({DEFAULT_CLIP}). Offline, save it once on a machine with access "
            f"(python -c \"from transformers import CLIPModel, AutoTokenizer as T; n='{DEFAULT_CLIP}'; "
            f"CLIPModel.from_pretrained(n).save_pretrained('clip'); T.from_pretrained(n).save_pretrained('clip')\"), "
            f"copy the folder here and pass it: convert mdm --clip-path DIR, or set {CLIP_PATH_ENV}=DIR")
