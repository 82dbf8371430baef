"""easytune_core.text: text encoders behind one small interface (offline MiniLM default)."""

from .encoders import TextEncoder, TextEncoderUnavailable, get_text_encoder, minilm_path

__all__ = ["TextEncoder", "TextEncoderUnavailable", "get_text_encoder", "minilm_path"]
