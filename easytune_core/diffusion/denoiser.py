"""MDM-style text-conditioned motion denoiser (transformer encoder over frames).

One conditioning token (timestep embedding + projected text embedding) is prepended to
the projected frames; sinusoidal positions are added; padded frames are masked out of
attention. Condition dropout (the text replaced by zeros) trains the unconditional model
used by classifier-free guidance, as MDM does.

With ``text_tokens > 0`` the model also reads the text encoder's token states: a pre-norm
cross-attention block before each encoder layer lets every frame attend to them. Its output
projections start at zero, so a pooled-only checkpoint loaded into such a model (train-base
``--init``) computes exactly what it computed before and training grows the new path from there.

The defaults describe this project's own models (pre-norm layers, a final LayerNorm). The
options ``norm_first=False, final_norm=False, sinusoid="interleaved", text_drop="embedding"``
(and ``mask_frames=False`` for MDM's first release) give exactly the published MDM
``trans_enc`` network, so its checkpoints load into this class (see easytune_core.interop.mdm).
"""

from __future__ import annotations

import contextlib
import math
import re
import threading
from dataclasses import asdict, dataclass, field, fields, replace

import torch
import torch.nn.functional as F
from torch import nn

from .sampler import check_guidance_interval


@dataclass
class DenoiserConfig:
    """Size and behaviour of a :class:`MotionDenoiser` (saved as JSON in every checkpoint)."""

    feature_dim: int = 263
    """Per-frame motion feature size (263 HumanML3D, 251 KIT)."""
    text_dim: int = 384
    """Size of the pooled text embedding (384 for MiniLM, 512 for CLIP)."""
    width: int = 256
    """Transformer model width (MDM: 512)."""
    layers: int = 4
    """Number of transformer encoder layers (MDM: 8)."""
    heads: int = 4
    """Attention heads; must divide width."""
    ff: int = 1024
    """Feed-forward hidden size."""
    dropout: float = 0.1
    """Dropout inside the transformer and on the input."""
    cond_drop_prob: float = 0.1
    """Training probability of dropping the text (for classifier-free guidance)."""
    prediction: str = "x0"
    """What the network predicts: "x0" (MDM) or "eps"."""
    max_frames: int = 196
    """Longest sequence the positional encoding covers (frames)."""
    text_encoder: str = "minilm"
    """Name of the text encoder whose embeddings condition the model (see easytune_core.text)."""
    text_tokens: int = 0
    """Token states of the text encoder the model attends to besides the pooled embedding (0: the pooled
    embedding only). When > 0 the text input is (B, 1 + L, text_dim): the pooled embedding, then up to
    this many token states, all-zero rows as padding (``TextEncoder.condition``)."""
    text_encoder_path: str = ""
    """Local folder holding that text encoder's weights (e.g. CLIP for converted MDM models) when it is not
    loaded by name; a folder missing on this machine falls back to loading by name."""
    schedule: str = "cosine"
    """Noise schedule kind the model was trained with ("cosine" | "scaled_linear")."""
    diffusion_steps: int = 1000
    """Number of training timesteps of the schedule."""
    fps: float = 20.0
    """Frame rate of the motions (20 for HumanML3D)."""
    norm_first: bool = True
    """Pre-norm encoder layers (True) or post-norm ones as in the original transformer and MDM (False)."""
    final_norm: bool = True
    """LayerNorm between the last encoder layer and the output projection (MDM has none)."""
    sinusoid: str = "concat"
    """Layout of the sinusoidal position and timestep codes: "concat" ([sin | cos] halves) or
    "interleaved" (sin on even, cos on odd channels, MDM's table; the timestep code is a row of it)."""
    text_drop: str = "projected"
    """How a dropped condition looks: "projected" (the projected text is zeroed, so it adds nothing)
    or "embedding" (the text embedding is zeroed before the projection, so its bias remains; MDM)."""
    mask_frames: bool = True
    """Padded frames are hidden from attention and zeroed while sampling. False: every frame takes part
    and is denoised alike, as in MDM models trained without frame masking (its 1,000-step release)."""
    sampler: str = "ddim"
    """"ddim" (guided, two passes per step) or "consistency" (a few-step student from ``distill``)."""
    guidance_embed: bool = False
    """The model takes the guidance scale w as an input (few-step students; guidance folded in)."""
    guidance_range: list = field(default_factory=lambda: [1.0, 1.0])
    """[w_min, w_max] a few-step student was distilled for."""
    original_steps: int = 50
    """Few-step students: the teacher's DDIM grid they were distilled on."""
    default_steps: int = 50
    """Steps the pipeline uses when none are given (4 for few-step students)."""
    default_guidance: float = 2.5
    """Guidance the pipeline uses when none is given."""
    guidance_interval: list = field(default_factory=lambda: [0.0, 1.0])
    """[lo, hi]: the part of the reverse process, as timestep / diffusion_steps, where DDIM steps apply
    classifier-free guidance; steps outside it run the conditional model alone, one network pass
    instead of two (guidance in a limited interval, Kynkaanniemi et al. 2024). [0, 1]: every step."""
    timestep_scaling: float = 10.0
    """Consistency boundary scalings' s (see easytune_core.diffusion.consistency)."""
    sigma_data: float = 0.5
    """Consistency boundary scalings' σ."""

    def __post_init__(self):
        if isinstance(self.text_tokens, bool) or int(self.text_tokens) < 0:
            raise ValueError(f"text_tokens must be a non-negative integer, got {self.text_tokens!r}")
        self.text_tokens = int(self.text_tokens)
        for name in ("feature_dim", "text_dim", "width", "layers", "heads", "ff", "max_frames", "diffusion_steps"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name} must be a positive integer, got {getattr(self, name)}")
        if self.width % self.heads:
            raise ValueError(f"width ({self.width}) must be divisible by heads ({self.heads})")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")
        if not 0.0 <= self.cond_drop_prob < 1.0:
            raise ValueError(f"cond_drop_prob must be in [0, 1), got {self.cond_drop_prob}")
        if self.prediction not in ("x0", "eps"):
            raise ValueError(f"prediction must be 'x0' or 'eps', got {self.prediction!r}")
        if self.schedule not in ("cosine", "scaled_linear"):
            raise ValueError(f"schedule must be 'cosine' or 'scaled_linear', got {self.schedule!r}")
        if self.fps <= 0:
            raise ValueError(f"fps must be positive, got {self.fps}")
        if self.sinusoid not in ("concat", "interleaved"):
            raise ValueError(f"sinusoid must be 'concat' or 'interleaved', got {self.sinusoid!r}")
        if self.sinusoid == "interleaved" and self.width % 2:
            raise ValueError(f"interleaved sinusoids need an even width, got {self.width}")
        if self.text_drop not in ("projected", "embedding"):
            raise ValueError(f"text_drop must be 'projected' or 'embedding', got {self.text_drop!r}")
        for name in ("norm_first", "final_norm", "mask_frames", "guidance_embed"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name} must be true or false, got {getattr(self, name)!r}")
        if self.sampler not in ("ddim", "consistency"):
            raise ValueError(f"sampler must be 'ddim' or 'consistency', got {self.sampler!r}")
        if self.sampler == "consistency" and not self.guidance_embed:
            raise ValueError("a consistency (few-step) model needs guidance_embed=True")
        lo, hi = (float(v) for v in self.guidance_range)
        if not 0.0 <= lo <= hi:
            raise ValueError(f"guidance_range must be [w_min, w_max] with 0 <= w_min <= w_max, got {self.guidance_range}")
        self.guidance_range = [lo, hi]
        self.guidance_interval = check_guidance_interval(self.guidance_interval)
        if self.original_steps < 1 or self.diffusion_steps % self.original_steps or self.default_steps < 1:
            raise ValueError("original_steps must divide diffusion_steps and default_steps must be positive")

    @property
    def state_dim(self) -> int:
        """Size of one token of the sampler's state (a frame's features)."""
        return self.feature_dim

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "DenoiserConfig":
        """Build from a dict, ignoring unknown keys (forward compatibility) but requiring a dict."""
        if not isinstance(d, dict):
            raise ValueError(f"denoiser config must be a JSON object, got {type(d).__name__}")
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})


def sinusoidal(positions: torch.Tensor, dim: int) -> torch.Tensor:
    """Transformer sinusoidal embedding of integer positions (N,) -> (N, dim) float32."""
    half = dim // 2
    freqs = torch.exp(-math.log(10000.0) * torch.arange(half, device=positions.device, dtype=torch.float32) / half)
    ang = positions.float()[:, None] * freqs[None]
    emb = torch.cat([ang.sin(), ang.cos()], dim=-1)
    return nn.functional.pad(emb, (0, dim - 2 * half))


def interleaved_sinusoid_table(rows: int, dim: int) -> torch.Tensor:
    """(rows, dim) float32 table: row p has sin(p w_k) on channel 2k and cos(p w_k) on 2k+1,
    w_k = 10000^(-2k/dim) (Vaswani et al.'s layout, computed in float32 as MDM computes it)."""
    pos = torch.arange(rows, dtype=torch.float32)[:, None]
    freqs = torch.exp(torch.arange(0, dim, 2, dtype=torch.float32) * (-math.log(10000.0) / dim))
    table = torch.zeros(rows, dim)
    table[:, 0::2] = torch.sin(pos * freqs)
    table[:, 1::2] = torch.cos(pos * freqs)
    return table


TOKEN_MODULES = ("token_norm.", "token_proj.", "cross_norm.", "cross_attn.")
"""Name prefixes of the token path's modules (absent from pooled-only checkpoints)."""


_THREAD = threading.local()  # per thread: {id(model): memo} while a model's reuse_text() block is open


_LAYERED = re.compile(r"^(encoder\.layers|cross_norm|cross_attn)\.(\d+)\.")
"""Names of per-layer weights: the encoder layers and, for token models, each layer's cross-attention."""


def deepened_positions(old: int, new: int) -> list[int]:
    """Where the layers of an ``old``-layer denoiser sit in a deeper ``new``-layer one: spread evenly,
    in their order, with the added layers between them (4 -> 6: [0, 1, 3, 4]; layers 2 and 5 are new)."""
    if not 1 <= old <= new:
        raise ValueError(f"a deepened model needs at least as many layers as its start ({old} -> {new})")
    return [i * new // old for i in range(old)]


def load_start(model: "MotionDenoiser", ckpt) -> list[int]:
    """Load the checkpoint ``ckpt`` a training run starts from into ``model`` and return the layers
    ``model`` adds to it (empty when it has as many).

    ``model`` may add to the checkpoint's network in two ways, each starting silent so that ``model``
    computes what the checkpoint computed and training grows the addition from there: the token path
    (a pooled-only start, see the module docstring) and **depth**: a start with fewer encoder layers
    has its layers placed by :func:`deepened_positions` and the new ones start as the identity (their
    attention and feed-forward output projections at zero, their cross-attention silent). Only
    pre-norm layers are the identity that way, so post-norm models cannot be deepened. Any other
    difference (width, heads, feed-forward size, ...) raises CheckpointError."""
    from ..checkpoints import CheckpointError, load_into

    cfg, start = model.config, ckpt.config or {}
    old = int(start.get("layers", cfg.layers))
    if old > cfg.layers:
        raise CheckpointError(f"{ckpt.folder}: the checkpoint has {old} encoder layers, the model {cfg.layers}; "
                              "a run can add layers to its start, not remove them")
    new_modules = TOKEN_MODULES if cfg.text_tokens and not start.get("text_tokens") else ()
    if old == cfg.layers:
        load_into(model, ckpt, new_modules=new_modules)
        return []
    if not cfg.norm_first:
        raise CheckpointError(f"{ckpt.folder}: only pre-norm models can be deepened (an added post-norm layer "
                              "is not the identity)")
    where = deepened_positions(old, cfg.layers)
    state = {}
    for name, tensor in ckpt.state_dict.items():
        m = _LAYERED.match(name)
        if m and int(m.group(2)) >= old:
            raise CheckpointError(f"{ckpt.folder}: weight {name!r} belongs to a layer the config does not have")
        state[f"{m.group(1)}.{where[int(m.group(2))]}.{name[m.end():]}" if m else name] = tensor
    added = [j for j in range(cfg.layers) if j not in where]
    prefixes = tuple(f"encoder.layers.{j}." for j in added)
    if cfg.text_tokens:
        prefixes += tuple(f"{part}.{j}." for part in ("cross_norm", "cross_attn") for j in added)
    load_into(model, replace(ckpt, state_dict=state), new_modules=tuple(new_modules) + prefixes)
    with torch.no_grad():
        for j in added:
            layer = model.encoder.layers[j]
            for lin in (layer.self_attn.out_proj, layer.linear2):
                lin.weight.zero_()
                lin.bias.zero_()
            if cfg.text_tokens:
                model.cross_attn[j].out_proj.weight.zero_()
                model.cross_attn[j].out_proj.bias.zero_()
    return added


def _same(a, b) -> bool:
    """Two tensors (or two Nones) hold the same values with the same shape, dtype and device."""
    if a is None or b is None:
        return a is b
    return (a.shape == b.shape and a.dtype == b.dtype and a.device == b.device
            and (a is b or bool(torch.equal(a, b))))


class _TokenMemory:
    """A token model's projected text for one forward call: ``memory`` (B', L, W) token states,
    ``pad`` (B', L) key-padding mask, ``gate`` (B', 1, 1) text-kept factor, ``rows`` the batch rows
    they belong to (None: all rows), and ``kv`` each cross-attention's keys and values, filled as
    the layers run when the memory is reused across calls (None: not kept)."""

    __slots__ = ("memory", "pad", "gate", "rows", "kv")

    def __init__(self, memory, pad, gate, rows, keep_kv: bool = False):
        self.memory, self.pad, self.gate, self.rows = memory, pad, gate, rows
        self.kv = {} if keep_kv else None


class MotionDenoiser(nn.Module):
    """G_theta(x_t, t, c): predicts x0 (or eps) of normalised motion features.

    ``text_reuse`` (class or instance attribute, default True): token models at inference skip the
    cross-attention of rows whose text is dropped and, inside :meth:`reuse_text`, project a text's
    token states once per sampling run; False recomputes everything on every call (the reference
    the speed benchmark compares with; the outputs agree to float rounding).

    ``sdpa_layers`` (likewise, default True): inference runs the encoder layers through
    ``scaled_dot_product_attention`` (:meth:`_encode_plain`); False keeps torch's own layers (its
    fused kernel where torch takes it), the reference the speed benchmark compares with.
    """

    text_reuse = True
    sdpa_layers = True

    def __init__(self, config: DenoiserConfig | None = None):
        super().__init__()
        self.config = config = config or DenoiserConfig()
        w = config.width
        self.input_proj = nn.Linear(config.feature_dim, w)
        self.time_mlp = nn.Sequential(nn.Linear(w, w), nn.SiLU(), nn.Linear(w, w))
        self.text_proj = nn.Linear(config.text_dim, w)
        # +1 position for the condition token.
        if config.sinusoid == "interleaved":
            # One table for frame positions and timesteps (its rows are the timestep codes).
            rows = max(config.max_frames + 1, config.diffusion_steps)
            self.register_buffer("pos", interleaved_sinusoid_table(rows, w), persistent=False)
        else:
            self.register_buffer("pos", sinusoidal(torch.arange(config.max_frames + 1), w), persistent=False)
        self.in_drop = nn.Dropout(config.dropout)
        layer = nn.TransformerEncoderLayer(w, config.heads, config.ff, config.dropout, activation="gelu",
                                           batch_first=True, norm_first=config.norm_first)
        self.encoder = nn.TransformerEncoder(layer, config.layers, enable_nested_tensor=False)
        self.out_norm = nn.LayerNorm(w) if config.final_norm else nn.Identity()
        self.output_proj = nn.Linear(w, config.feature_dim)
        self.token_norm = self.token_proj = self.cross_norm = self.cross_attn = None
        if config.text_tokens:
            self.token_norm = nn.LayerNorm(config.text_dim)
            self.token_proj = nn.Linear(config.text_dim, w)
            self.cross_norm = nn.ModuleList(nn.LayerNorm(w) for _ in range(config.layers))
            self.cross_attn = nn.ModuleList(nn.MultiheadAttention(w, config.heads, dropout=config.dropout,
                                                                  batch_first=True) for _ in range(config.layers))
            for attn in self.cross_attn:  # the token path starts silent: a pooled model's function is kept
                nn.init.zeros_(attn.out_proj.weight)
                nn.init.zeros_(attn.out_proj.bias)
        self.guidance_mlp = None
        if config.guidance_embed:  # few-step students: w added to the condition token, zero at the start
            self.guidance_mlp = nn.Sequential(nn.Linear(w, w), nn.SiLU(), nn.Linear(w, w))
            nn.init.zeros_(self.guidance_mlp[2].weight)
            nn.init.zeros_(self.guidance_mlp[2].bias)

    def _encode_plain(self, h: torch.Tensor, pad: torch.Tensor | None) -> torch.Tensor:
        """The encoder's layers at inference, with ``scaled_dot_product_attention`` (and a boolean key
        mask for a padded batch): the same function as ``self.encoder(h, src_key_padding_mask=pad)``,
        without torch's fused encoder-layer kernel. On CPU that kernel's attention (batched matrix
        products and a separate, masked softmax) is slower than SDPA's fused one: a padded batch of
        16 at 85-100 frames, bf16, one core: 1.8 s instead of 3.1 s for 20 steps; one unpadded 6 s
        motion, fp32, two cores: about 5% faster. Under autocast torch skips its fused kernel and
        runs the layer through ``nn.MultiheadAttention``, slower still."""
        keep = None if pad is None else (~pad)[:, None, None, :]
        for layer in self.encoder.layers:
            h = self._layer_plain(layer, h, keep)
        return h

    def _layer_plain(self, layer: nn.TransformerEncoderLayer, h: torch.Tensor,
                     keep: torch.Tensor | None) -> torch.Tensor:
        """One encoder layer as :meth:`_encode_plain` runs it (``keep``: (B, 1, 1, T) bool, or None:
        every key is valid)."""
        x = layer.norm1(h) if layer.norm_first else h
        a = self._attend(layer.self_attn, x, keep)
        h = h + a if layer.norm_first else layer.norm1(h + a)
        x = layer.norm2(h) if layer.norm_first else h
        f = layer.linear2(F.gelu(layer.linear1(x)))
        return h + f if layer.norm_first else layer.norm2(h + f)

    def _text_memory(self, text_emb: torch.Tensor, keep: torch.Tensor):
        """Split the text input into the pooled embedding and, for token models, a
        :class:`_TokenMemory`: the projected token states with their key-padding mask and a (B, 1, 1)
        factor that silences the cross-attention of samples whose text is dropped (or has no tokens).
        A pooled-only model reads row 0 of a (B, 1 + L, D) input.

        At inference (eval mode, no autograd) only the rows whose factor is not zero are projected
        and attended to (the others would be multiplied by zero: the unconditional half of a guided
        batch), and inside :meth:`reuse_text` the projections of the same token states are computed
        once per sampling run instead of once per step."""
        c = self.config
        if text_emb.dim() == 3:
            if text_emb.shape[-1] != c.text_dim:
                raise ValueError(f"text input must be (B, 1 + L, {c.text_dim}), got {tuple(text_emb.shape)}")
            pooled, tokens = text_emb[:, 0], text_emb[:, 1:]
        elif text_emb.dim() == 2:
            pooled, tokens = text_emb, None
        else:
            raise ValueError(f"text input must be (B, text_dim) or (B, 1 + L, text_dim), got {tuple(text_emb.shape)}")
        if pooled.shape[-1] != c.text_dim:
            raise ValueError(f"expected {c.text_dim}-d text embeddings, got {pooled.shape[-1]}")
        if not c.text_tokens:
            return pooled, None
        if tokens is None:
            raise ValueError("this model reads the text's token states: pass (B, 1 + L, text_dim) as made by "
                             "TextEncoder.condition / MotionPipeline.encode, not pooled (B, text_dim) embeddings")
        tokens = tokens[:, :c.text_tokens]
        if tokens.shape[1] == 0:
            tokens = tokens.new_zeros(tokens.shape[0], 1, tokens.shape[2])
        valid = tokens.abs().amax(-1) > 0
        has = valid.any(-1)
        valid = valid | ~has[:, None]  # a row with no tokens attends to its first (zero) row, then is silenced
        gate = (keep[:, 0] * has.to(keep.dtype))[:, None, None]
        rows = None
        inference = self.text_reuse and not self.training and not torch.is_grad_enabled()
        if inference:
            live = gate.reshape(-1) != 0
            if not bool(live.all()):
                rows = live.nonzero().reshape(-1)
                tokens, valid, gate = tokens[rows], valid[rows], gate[rows]
        memo = self._text_memo() if inference else None
        if memo is not None:
            amp = torch.is_autocast_enabled(tokens.device.type)
            seen = memo.get("last")
            if seen is not None and seen[2] == amp and _same(seen[0], tokens) and _same(seen[1], rows):
                return pooled, seen[3]
        memory = _TokenMemory(self.token_proj(self.token_norm(tokens)), ~valid, gate, rows, keep_kv=memo is not None)
        if memo is not None:
            memo["last"] = (tokens.clone(), rows, amp, memory)
        return pooled, memory

    @contextlib.contextmanager
    def reuse_text(self):
        """Inside this block, inference calls that get the same token states as the call before reuse
        its projections of them (the token projection and each cross-attention's keys and values)
        instead of recomputing them: a sampler calls the model with the same text at every step. The
        samplers open it around their no-grad loops; the weights must not change inside it. The memo
        belongs to the calling thread: two threads sampling with one model each keep their own."""
        memos = _THREAD.__dict__.setdefault("memos", {})
        key = id(self)
        prev = memos.get(key)
        memos[key] = {}
        try:
            yield self
        finally:
            if prev is None:
                memos.pop(key, None)
            else:
                memos[key] = prev

    def _text_memo(self) -> dict | None:
        """This thread's memo inside :meth:`reuse_text` (None outside it)."""
        return _THREAD.__dict__.get("memos", {}).get(id(self))

    def _cross(self, i: int, h: torch.Tensor, memory: "_TokenMemory") -> torch.Tensor:
        """h + the i-th cross-attention block's read of the token states. Plain attention modules run
        through ``scaled_dot_product_attention`` (torch's MultiheadAttention is several times slower
        under CPU bf16 autocast at batch 1; parametrised ones read their adapted weights); wrapped or hooked
        ones through their own forward."""
        mem, pad, gate, rows = memory.memory, memory.pad, memory.gate, memory.rows
        base = h
        if rows is not None:
            if rows.numel() == 0:  # every row's text is dropped: nothing to read
                return base
            h = h[rows]
        x = self.cross_norm[i](h)
        attn = self.cross_attn[i]
        if isinstance(attn, nn.MultiheadAttention) and not (attn._forward_hooks or attn._forward_pre_hooks):
            B, T, W = x.shape
            H = attn.num_heads
            w, b = attn.in_proj_weight, attn.in_proj_bias
            q = F.linear(x, w[:W], b[:W]).view(B, T, H, W // H).transpose(1, 2)
            kv = memory.kv.get(i) if memory.kv is not None else None
            if kv is None:
                kv = F.linear(mem, w[W:], b[W:]).view(B, mem.shape[1], 2, H, W // H).permute(2, 0, 3, 1, 4)
                if memory.kv is not None:
                    memory.kv[i] = kv
            o = F.scaled_dot_product_attention(q, kv[0], kv[1], attn_mask=(~pad)[:, None, None, :],
                                               dropout_p=attn.dropout if self.training else 0.0)
            a = attn.out_proj(o.transpose(1, 2).reshape(B, T, W))
        else:
            a, _ = attn(x, mem, mem, key_padding_mask=pad, need_weights=False)
        a = a * gate.to(a.dtype)
        if rows is None:
            return base + a
        dtype = torch.promote_types(base.dtype, a.dtype)  # as base + a (bf16 blocks on an fp32 stream under autocast)
        return base.to(dtype).index_add(0, rows, a.to(dtype))

    def _plain_layers(self) -> bool:
        """The attention modules are torch's (parametrised ones included: their weights read as the
        adapted weights) with no hooks; a wrapper such as a peft adapter, whose forward adds its own
        terms, keeps torch's path: only then does :meth:`_encode_plain` compute what it computes."""
        return all(isinstance(layer, nn.TransformerEncoderLayer) and isinstance(layer.self_attn, nn.MultiheadAttention)
                   and not (layer.self_attn._forward_hooks or layer.self_attn._forward_pre_hooks)
                   for layer in self.encoder.layers)

    @staticmethod
    def _attend(attn: nn.MultiheadAttention, x: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
        B, T, W = x.shape
        H = attn.num_heads
        qkv = F.linear(x, attn.in_proj_weight, attn.in_proj_bias).view(B, T, 3, H, W // H).permute(2, 0, 3, 1, 4)
        o = F.scaled_dot_product_attention(qkv[0], qkv[1], qkv[2], attn_mask=keep)
        return attn.out_proj(o.transpose(1, 2).reshape(B, T, W))

    def _cond_keep(self, batch: int, uncond, device) -> torch.Tensor:
        """(B, 1) float: 1 keeps the text, 0 drops it (explicit uncond, or random dropout in training)."""
        if isinstance(uncond, torch.Tensor):
            drop = uncond.to(device=device, dtype=torch.bool).reshape(-1).expand(batch)
        else:
            drop = torch.full((batch,), bool(uncond), device=device)
        if self.training and self.config.cond_drop_prob > 0:
            drop = drop | (torch.rand(batch, device=device) < self.config.cond_drop_prob)
        return (~drop).float()[:, None]

    def forward(self, x_t: torch.Tensor, t: torch.Tensor, text_emb: torch.Tensor,
                mask: torch.Tensor | None = None, uncond=False, guidance=None) -> torch.Tensor:
        """Denoise one step.

        Args:
            x_t: (B, T, D) noisy normalised features.
            t: (B,) long timesteps in [0, diffusion_steps).
            text_emb: (B, text_dim) pooled text embeddings, or (B, 1 + L, text_dim) (pooled, then token
                states, zero rows as padding) for models with ``text_tokens`` (others read row 0).
            mask: (B, T) bool, True = valid frame (None: all valid). Ignored when the
                config's ``mask_frames`` is False (every frame is treated alike).
            uncond: bool or (B,) bool tensor; True drops the text for that sample.
            guidance: (B,) or scalar guidance scale w (models with ``guidance_embed`` only).
        Returns:
            (B, T, D) prediction (x0 or eps per config), zero on padded frames.
        """
        if not self.config.mask_frames:
            mask = None
        B, T, D = x_t.shape
        if T > self.config.max_frames:
            raise ValueError(f"sequence of {T} frames is longer than the model's max_frames={self.config.max_frames}")
        if D != self.config.feature_dim:
            raise ValueError(f"expected {self.config.feature_dim} features per frame, got {D}")
        t = torch.as_tensor(t, device=x_t.device).long().reshape(-1).expand(B)
        keep = self._cond_keep(B, uncond, x_t.device)
        text_emb, memory = self._text_memory(text_emb.to(x_t.dtype), keep)
        if self.config.sinusoid == "interleaved":
            time = self.time_mlp(self.pos[t].to(x_t.dtype))
        else:
            time = self.time_mlp(sinusoidal(t, self.config.width).to(x_t.dtype))
        if self.config.text_drop == "embedding":
            cond = self.text_proj(text_emb * keep.to(x_t.dtype)) + time
        else:
            cond = time + self.text_proj(text_emb) * keep
        if self.guidance_mlp is not None:
            if guidance is None:
                raise ValueError("this few-step model needs the guidance scale w as input")
            w = torch.as_tensor(guidance, device=x_t.device, dtype=torch.float32).reshape(-1).expand(B)
            cond = cond + self.guidance_mlp(sinusoidal(w * 1000.0, self.config.width).to(x_t.dtype))
        h = torch.cat([cond[:, None], self.input_proj(x_t)], dim=1) + self.pos[: T + 1].to(x_t.dtype)
        h = self.in_drop(h)
        pad = None
        if mask is not None and not bool(mask.all()):  # all-valid batches skip the (slower) masked softmax
            pad = torch.cat([torch.zeros(B, 1, dtype=torch.bool, device=x_t.device), ~mask.bool()], dim=1)
        fast = self.sdpa_layers and not self.training and not torch.is_grad_enabled() and self._plain_layers()
        if memory is not None:  # a cross-attention block before each layer
            keep_keys = None if pad is None else (~pad)[:, None, None, :]
            for i, layer in enumerate(self.encoder.layers):
                h = self._cross(i, h, memory)
                h = self._layer_plain(layer, h, keep_keys) if fast else layer(h, src_key_padding_mask=pad)
        elif fast:
            h = self._encode_plain(h, pad)
        else:
            h = self.encoder(h, src_key_padding_mask=pad)
        out = self.output_proj(self.out_norm(h[:, 1:]))
        if mask is not None:
            out = out * mask[..., None].to(out.dtype)
        return out
