"""A patch-level byte model: BLT's encoder / latent / decoder around a Hyena global model.

Read top to bottom, in the order data flows:

    bytes (B, L)
      -> LocalEncoder     byte (+ hash n-gram, + offset-in-patch) embeddings, local layers
                          (B, L, d_l)
      -> PatchPooling     one query per patch, max-pooled from its bytes, cross-attends to
                          them (B, P, d_g)
      -> GlobalModel      Hyena blocks over patches (optionally attention blocks, MoE MLPs and
                          a gated mixture of memory experts carried across segments) (B, P, d_g)
      -> LocalDecoder     each byte cross-attends to the latent of the patch BEFORE its own,
                          plus its encoder state, local layers, tied head -> logits (B, L, V)

Causality. ``logits[:, t]`` predict byte ``t + 1`` and depend on bytes ``<= t`` only, given
the patch starts: a patch's latent depends on its own bytes and earlier ones (pooling sees
only its own patch, the global model is causal over patches), and a byte in patch ``j`` reads
latents of patches ``< j`` only. Patch starts from an entropy model are causal too (whether
byte ``t`` starts a patch depends on bytes ``< t``), so the whole model is.

``forward(idx, starts, return_aux=True)`` also returns the auxiliary loss the Trainer adds to
the cross-entropy: the Switch load-balancing and router z-losses of the MoE layers (and of the
memory write router), zero without experts.

Hook points. Every tensor analysis may look at (attention weights, router choices, memory
reads and writes, the patches) passes through a :class:`HookPoint`, an identity module named
``hook_*``. Nothing happens there unless :mod:`engine.analysis.capture` registers a forward
hook on it; the table of what each one holds is :mod:`engine.analysis.map_table`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from engine.configs import config_from_dict
from engine.errors import InputError, ModelError
from engine.patching import PatchConfig, Patcher

from .adamw import byte_model_no_decay, parameter_groups
from .attention import AttentionBlock, AttentionConfig, rotary
from .hyena import MLP, HyenaConfig, HyenaLM, HyenaOperator, short_causal_conv


@dataclass
class LatentConfig:
    """Every hyperparameter of :class:`LatentLM`, saved as JSON beside the weights."""

    arch: str = "hyena-blt"
    vocab_size: int = 259  # 256 bytes + PAD, BOS, EOS (engine.tokenizers.ByteTokenizer)
    max_len: int = 1024  # longest input (bytes) of one forward pass
    max_patches: int = 0  # most patches per input; 0: max_len (a patch holds >= 1 byte)
    static_patch_size: int = 4  # patch length when forward gets no patch starts
    n_heads: int = 4  # heads of the cross-attentions and attention blocks (local and global)
    mlp_ratio: float = 4.0  # hidden width of every MLP (and expert) / its input width
    dropout: float = 0.0
    rope_base: float = 10_000.0  # rotary positions of the attention blocks

    # local encoder
    d_local: int = 64  # byte-level width (encoder and decoder)
    n_local_layers: int = 1  # encoder layers
    local_mixer: str = "conv"  # conv: gated short causal conv | attention: sliding window
    local_kernel: int = 4  # taps of the short causal convolution
    local_window: int = 64  # bytes seen by sliding-window attention (itself included)
    hash_ngrams: tuple[int, ...] = ()  # BLT hash n-gram embeddings, e.g. (3, 4, 5); () = off
    hash_buckets: int = 4096  # rows of each n-gram table
    max_patch_offset: int = 32  # offsets within a patch >= this share the last embedding
    pool_window: int = 1  # a patch query sees bytes of its own and pool_window - 1 earlier patches

    # global model over patches
    d_global: int = 128
    n_global_layers: int = 2
    global_attention_layers: tuple[int, ...] = ()  # these blocks mix by causal attention
    filter_order: int = 64  # width of the Hyena filter MLP (see engine.models.hyena)

    # mixture of experts (MLPs of the global blocks)
    n_experts: int = 0  # 0: dense MLPs
    moe_layers: tuple[int, ...] = ()  # blocks with an MoE MLP; () with n_experts > 0: all
    top_k: int = 2  # experts per patch
    router_temperature: float = 1.0  # p = softmax(W h / temperature)
    lb_alpha: float = 0.01  # Switch load-balancing loss alpha * E * sum_i f_i P_i
    z_loss: float = 1e-3  # router z-loss coefficient: mean(logsumexp(logits)^2)

    # gated mixture of memory experts, carried across segments
    n_memories: int = 0  # k memories; 0: off
    memory_slots: int = 4  # m: each memory is an (m, d_global) matrix of slots
    memory_temperature: float = 1.0  # tau of the write and read routers
    segment_len: int = 16  # patches per segment
    memory_layer: int = 1  # the read is added to the input of this global block (n: after all)
    memory_lb_alpha: float = 0.0  # load-balancing loss of the write router over segments

    # local decoder
    n_decoder_layers: int = 1
    decoder_window: int = 1  # a byte in patch j sees the latents of patches j-w .. j-1

    def __post_init__(self) -> None:
        # JSON brings tuples back as lists
        self.hash_ngrams = tuple(int(n) for n in self.hash_ngrams)
        self.global_attention_layers = tuple(int(i) for i in self.global_attention_layers)
        self.moe_layers = tuple(int(i) for i in self.moe_layers)
        if self.max_patches == 0:
            self.max_patches = self.max_len
        problems = []
        if self.local_mixer not in ("conv", "attention"):
            problems.append(f"local_mixer must be 'conv' or 'attention', not {self.local_mixer!r}")
        for name in ("d_local", "d_global"):
            if getattr(self, name) % (2 * self.n_heads):
                problems.append(f"{name} must be a multiple of 2 * n_heads ({2 * self.n_heads})")
        n = self.n_global_layers
        for name in ("global_attention_layers", "moe_layers"):
            if any(not 0 <= i < n for i in getattr(self, name)):
                problems.append(f"{name} must index global blocks 0..{n - 1}")
        if self.n_experts and not 1 <= self.top_k <= self.n_experts:
            problems.append(f"top_k must be in 1..n_experts ({self.n_experts})")
        if self.n_memories and not 0 <= self.memory_layer <= n:
            problems.append(f"memory_layer must be in 0..n_global_layers ({n})")
        if any(k < 1 for k in self.hash_ngrams) or not 1 <= self.hash_buckets <= 2**24:
            problems.append("hash n-grams need n >= 1 and 1 <= hash_buckets <= 2^24")
        for name in ("static_patch_size", "segment_len", "pool_window", "decoder_window",
                     "max_patch_offset", "local_kernel", "local_window", "max_patches"):
            if getattr(self, name) < 1:
                problems.append(f"{name} must be at least 1")
        if self.router_temperature <= 0 or self.memory_temperature <= 0:
            problems.append("router temperatures must be positive")
        if problems:
            raise ModelError("hyena-blt config: " + "; ".join(problems))

    @property
    def padded_vocab(self) -> int:
        return (self.vocab_size + 7) // 8 * 8

    def uses_moe(self, layer: int) -> bool:
        return self.n_experts > 0 and (not self.moe_layers or layer in self.moe_layers)

    @classmethod
    def from_dict(cls, data: dict, *, path: str | Path | None = None) -> LatentConfig:
        """The config a JSON object describes; a key that is no field here is a
        :class:`ModelError` naming it (a typo must not fall back to the default silently)."""
        return config_from_dict(cls, data, what="hyena-blt config", path=path, error=ModelError)


# --------------------------------------------------------------------------------------------
# hook points


class HookPoint(nn.Identity):
    """Marks a tensor analysis may read: ``y = self.hook_x(y)`` returns ``y`` unchanged.

    :mod:`engine.analysis.capture` registers forward hooks on these modules; with none it
    costs one module call (about a microsecond). ``hooked`` lets a module skip a fused kernel
    that never forms the tensor (attention weights) only while someone is looking.
    """

    @property
    def hooked(self) -> bool:
        return bool(self._forward_hooks)


# --------------------------------------------------------------------------------------------
# attention under a mask, shared by the cross-attentions


def split_heads(x: torch.Tensor, n_heads: int) -> torch.Tensor:
    b, t, d = x.shape
    return x.view(b, t, n_heads, d // n_heads).transpose(1, 2)  # (B, T, d) -> (B, H, T, d/H)


def merge_heads(x: torch.Tensor) -> torch.Tensor:
    b, h, t, hd = x.shape
    return x.transpose(1, 2).reshape(b, t, h * hd)  # (B, H, T, d/H) -> (B, T, d)


def masked_attention(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """A = softmax(q k^T / sqrt(d_h)) over the keys ``mask`` allows; returns (A v, A).

    q (B, H, Q, d_h), k and v (B, H, K, d_h), mask (B, Q, K) or (Q, K), True = visible. A row
    with no visible key (a padding patch) gets zero weights, not NaN; masked scores are the
    dtype's lowest finite value rather than -inf so that such rows have finite gradients.
    """
    mask = mask.unsqueeze(-3)  # broadcast over heads
    scores = (q @ k.transpose(-1, -2)) / math.sqrt(q.shape[-1])  # (B, H, Q, K)
    scores = scores.masked_fill(~mask, torch.finfo(scores.dtype).min)
    weights = torch.softmax(scores, dim=-1).masked_fill(~mask, 0.0)
    return weights @ v, weights


class CrossAttention(nn.Module):
    """Pre-norm multi-head attention of one sequence's queries over another's keys, masked."""

    def __init__(self, d_query: int, d_source: int, d_out: int, n_heads: int) -> None:
        super().__init__()
        self.n_heads = n_heads
        self.ln_q = nn.LayerNorm(d_query)
        self.ln_kv = nn.LayerNorm(d_source)
        self.q = nn.Linear(d_query, d_out)
        self.kv = nn.Linear(d_source, 2 * d_out)
        self.out_proj = nn.Linear(d_out, d_out)
        self.hook_weights = HookPoint()  # A (B, H, Q, K)

    def forward(self, x: torch.Tensor, source: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """x (B, Q, d_query), source (B, K, d_source), mask (B, Q, K) -> (B, Q, d_out)."""
        q = split_heads(self.q(self.ln_q(x)), self.n_heads)
        k, v = (split_heads(t, self.n_heads) for t in self.kv(self.ln_kv(source)).chunk(2, -1))
        y, weights = masked_attention(q, k, v, mask)  # (B, H, Q, d_out/H), (B, H, Q, K)
        self.hook_weights(weights)
        return self.out_proj(merge_heads(y))


# --------------------------------------------------------------------------------------------
# patches


def static_patch_starts(batch: int, length: int, size: int, device=None) -> torch.Tensor:
    """(B, L) bool: a patch starts every ``size`` bytes (used when no starts are given)."""
    starts = torch.arange(length, device=device) % size == 0
    return starts.expand(batch, length)


def patch_ids(starts: torch.Tensor) -> torch.Tensor:
    """(B, L) int64: the patch holding each byte, ``#(starts at or before t) - 1``."""
    return starts.long().cumsum(dim=1) - 1


def offsets_in_patch(starts: torch.Tensor) -> torch.Tensor:
    """(B, L) int64: ``t - (start of t's patch)``, 0 at every patch start."""
    position = torch.arange(starts.shape[1], device=starts.device).expand_as(starts)
    first = torch.where(starts, position, torch.zeros_like(position)).cummax(dim=1).values
    return position - first


def patch_starts_from_entropies(
    entropies: np.ndarray, patching: float | PatchConfig
) -> np.ndarray:
    """Patch starts for a window of tokens from an entropy model's entropies, via the patcher.

    ``entropies[t]`` is the entropy model's uncertainty (nats) about token ``t + 1`` after
    reading tokens ``0..t`` of the same window (BLT's alignment, as engine.scoring computes).
    ``patching`` is a threshold θ (global rule: token ``t >= 1`` starts a patch iff
    ``entropies[t - 1] > θ``) or any entropy-mode :class:`PatchConfig`. Returns a bool array of
    the entropies' shape (1-D, or 2-D with one window per row); position 0 always starts.
    """
    values = np.asarray(entropies)
    if values.ndim == 2:
        return np.stack([patch_starts_from_entropies(row, patching) for row in values])
    if isinstance(patching, PatchConfig):
        config = patching
    else:
        config = PatchConfig(mode="entropy", threshold=float(patching))
    if not config.needs_entropies:
        raise InputError(f"patching mode {config.mode!r} does not read entropies")
    result = Patcher(config).patch(values)
    mask = np.zeros(result.n_positions, dtype=bool)
    mask[result.starts] = True
    return mask[: len(values)]  # include_next_token covers one position past the window


# --------------------------------------------------------------------------------------------
# local encoder


HASH_BASE = 1_000_003  # a prime; HASH_BASE * hash_buckets stays far below 2^63


def hash_ngram_ids(idx: torch.Tensor, n: int, buckets: int, pad: int) -> torch.Tensor:
    """Rolling polynomial hash of the n tokens ending at t: (sum_k x_{t-k} b^k) mod buckets.

    Computed by Horner's rule modulo ``buckets`` (exact in int64). Positions before the
    window count as the token ``pad`` (BLT pads with BOE), so every n-gram is causal.
    """
    h = torch.zeros_like(idx)
    for lag in range(n - 1, -1, -1):  # oldest token first
        shifted = F.pad(idx, (lag, 0), value=pad)[:, : idx.shape[1]]  # shifted[t] = x[t - lag]
        h = (h * HASH_BASE + shifted) % buckets
    return h


class ShortConvMixer(nn.Module):
    """y = W_out (conv_K(a) . silu(g)) with [a, g] = W_in x and conv_K depthwise causal."""

    def __init__(self, d: int, kernel: int) -> None:
        super().__init__()
        self.in_proj = nn.Linear(d, 2 * d)
        self.conv = nn.Conv1d(d, d, kernel_size=kernel, groups=d)  # applied causally
        self.out_proj = nn.Linear(d, d)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a, g = self.in_proj(x).chunk(2, dim=-1)  # (B, L, d) each
        return self.out_proj(short_causal_conv(a, self.conv) * F.silu(g))


class ConvBlock(nn.Module):
    """Pre-norm residual block: x + ShortConv(LN(x)), then x + MLP(LN(x))."""

    def __init__(self, cfg: LatentConfig) -> None:
        super().__init__()
        self.ln1 = nn.LayerNorm(cfg.d_local)
        self.mixer = ShortConvMixer(cfg.d_local, cfg.local_kernel)
        self.ln2 = nn.LayerNorm(cfg.d_local)
        self.mlp = MLP(cfg.d_local, cfg.mlp_ratio, cfg.dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.mixer(self.ln1(x))
        return x + self.mlp(self.ln2(x))


def local_block(cfg: LatentConfig) -> nn.Module:
    """A byte-level layer: gated short convolution, or sliding-window attention."""
    if cfg.local_mixer == "attention":
        return AttentionBlock(AttentionConfig(
            d_model=cfg.d_local, n_heads=cfg.n_heads, window=cfg.local_window,
            mlp_ratio=cfg.mlp_ratio, dropout=cfg.dropout, rope_base=cfg.rope_base,
        ))
    return ConvBlock(cfg)


class LocalEncoder(nn.Module):
    """Byte states: e_t = (x_t + sum_n E_n[hash_n(t)]) / (#n + 1) + O[offset_t], local layers.

    The hash n-gram sum is normalised as in BLT's paper (Eq. 3; its code does not divide).
    O embeds the byte's offset within its patch, so the byte side knows where patches begin.
    """

    def __init__(self, cfg: LatentConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.byte_embed = nn.Embedding(cfg.padded_vocab, cfg.d_local)
        self.hash_embeds = nn.ModuleList(
            nn.Embedding(cfg.hash_buckets, cfg.d_local) for _ in cfg.hash_ngrams
        )
        self.offset_embed = nn.Embedding(cfg.max_patch_offset, cfg.d_local)
        self.drop = nn.Dropout(cfg.dropout)
        self.layers = nn.ModuleList(local_block(cfg) for _ in range(cfg.n_local_layers))

    def forward(self, idx: torch.Tensor, starts: torch.Tensor) -> torch.Tensor:
        cfg = self.cfg
        x = self.byte_embed(idx)  # (B, L, d_l)
        if cfg.hash_ngrams:
            for n, table in zip(cfg.hash_ngrams, self.hash_embeds, strict=True):
                x = x + table(hash_ngram_ids(idx, n, cfg.hash_buckets, pad=cfg.vocab_size))
            x = x / (len(cfg.hash_ngrams) + 1)
        offsets = offsets_in_patch(starts).clamp(max=cfg.max_patch_offset - 1)
        x = self.drop(x + self.offset_embed(offsets))
        for layer in self.layers:
            x = layer(x)
        return x  # (B, L, d_l)


# --------------------------------------------------------------------------------------------
# bytes -> patches


class PatchPooling(nn.Module):
    """p_j = q_j + CrossAttn(q_j, bytes of patch j), q_j = W max_{t in j} e_t.

    Query j sees byte t iff ``0 <= j - patch(t) < pool_window`` (its own patch, and with a
    wider window the bytes of earlier patches), multi-head, in the global width.
    """

    def __init__(self, cfg: LatentConfig) -> None:
        super().__init__()
        self.window = cfg.pool_window
        self.in_proj = nn.Linear(cfg.d_local, cfg.d_global)
        self.cross = CrossAttention(cfg.d_global, cfg.d_local, cfg.d_global, cfg.n_heads)

    def forward(self, h: torch.Tensor, ids: torch.Tensor, n_patches: int) -> torch.Tensor:
        b, _, d = h.shape
        index = ids[..., None].expand(-1, -1, d)  # (B, L, d_l)
        pooled = h.new_zeros(b, n_patches, d).scatter_reduce(
            1, index, h, reduce="amax", include_self=False
        )  # (B, P, d_l); a padding patch (no bytes) stays 0
        q = self.in_proj(pooled)  # (B, P, d_g)
        lag = torch.arange(n_patches, device=h.device)[None, :, None] - ids[:, None, :]
        mask = (lag >= 0) & (lag < self.window)  # (B, P, L)
        return q + self.cross(q, h, mask)  # (B, P, d_g)


# --------------------------------------------------------------------------------------------
# the global model: Hyena (or attention) mixers, dense or MoE MLPs, memory experts


class PatchAttention(nn.Module):
    """Causal multi-head self-attention over patches with rotary positions (hybrid blocks)."""

    def __init__(self, cfg: LatentConfig) -> None:
        super().__init__()
        self.n_heads, self.rope_base = cfg.n_heads, cfg.rope_base
        self.qkv = nn.Linear(cfg.d_global, 3 * cfg.d_global)
        self.out_proj = nn.Linear(cfg.d_global, cfg.d_global)
        self.hook_weights = HookPoint()  # A (B, H, P, P), formed only while hooked

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        q, k, v = (split_heads(t, self.n_heads) for t in self.qkv(x).chunk(3, dim=-1))
        q, k = rotary(q, self.rope_base), rotary(k, self.rope_base)  # (B, H, P, d/H)
        if not self.hook_weights.hooked:
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        else:  # the same maths with the weights in hand
            n = x.shape[1]
            causal = torch.ones(n, n, dtype=torch.bool, device=x.device).tril()
            y, weights = masked_attention(q, k, v, causal)
            self.hook_weights(weights)
        return self.out_proj(merge_heads(y))


def switch_load_balancing_loss(probs: torch.Tensor, alpha: float) -> torch.Tensor:
    """alpha * E * sum_i f_i P_i (Switch Transformer), over T tokens and E experts.

    ``probs`` (T, E) router probabilities; f_i is the fraction of tokens whose top-1 expert is
    i (not differentiable), P_i the mean probability of expert i. Perfect balance gives alpha.
    """
    if probs.shape[0] == 0:
        return probs.new_zeros(())
    n_experts = probs.shape[-1]
    f = F.one_hot(probs.argmax(dim=-1), n_experts).to(probs.dtype).mean(dim=0)  # (E,)
    return alpha * n_experts * (f * probs.mean(dim=0)).sum()


def router_z_loss(logits: torch.Tensor) -> torch.Tensor:
    """mean_t (log sum_j exp z_tj)^2 (ST-MoE): keeps router logits small. logits (T, E)."""
    if logits.shape[0] == 0:
        return logits.new_zeros(())
    return torch.logsumexp(logits, dim=-1).square().mean()


def top_k_routing(probs: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The k most probable experts and their weights renormalised to sum to 1 (Mixtral/HF).

    probs (T, E) -> weights (T, k), experts (T, k): g_i = p_i / sum_{j in top-k} p_j.
    """
    top, experts = probs.topk(k, dim=-1)
    return top / top.sum(dim=-1, keepdim=True), experts


class MoE(nn.Module):
    """y = sum_{i in top-k} g_i MLP_i(x), routed by p = softmax(W_r x / temperature).

    Dropless: each expert runs on exactly the patches routed to it (a loop over experts,
    simplest for small models). The router runs in at least float32, autocast off.
    """

    def __init__(self, cfg: LatentConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.router = nn.Linear(cfg.d_global, cfg.n_experts, bias=False)
        self.experts = nn.ModuleList(
            MLP(cfg.d_global, cfg.mlp_ratio, cfg.dropout) for _ in range(cfg.n_experts)
        )
        self.hook_router_probs = HookPoint()  # p (B, P, E)
        self.hook_top_k = HookPoint()  # chosen experts (B, P, k), most probable first
        self.hook_top_k_weights = HookPoint()  # their renormalised gates (B, P, k)

    def forward(self, x: torch.Tensor, valid: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        cfg = self.cfg
        b, n, d = x.shape
        flat = x.reshape(-1, d)  # (T, d), T = B * P
        with torch.autocast(x.device.type, enabled=False):
            dtype = torch.promote_types(x.dtype, torch.float32)
            logits = F.linear(flat.to(dtype), self.router.weight.to(dtype))  # (T, E)
        probs = torch.softmax(logits / cfg.router_temperature, dim=-1)
        weights, chosen = top_k_routing(probs, cfg.top_k)  # (T, k) each
        self.hook_router_probs(probs.view(b, n, -1))
        self.hook_top_k(chosen.view(b, n, -1))
        self.hook_top_k_weights(weights.view(b, n, -1))
        y = torch.zeros_like(flat)
        for e, expert in enumerate(self.experts):
            rows, slot = (chosen == e).nonzero(as_tuple=True)
            if len(rows):
                gate = weights[rows, slot].to(x.dtype)[:, None]  # (T_e, 1)
                y = y.index_add(0, rows, gate * expert(flat[rows]))
        real = valid.reshape(-1)  # padding patches do not count towards the load
        aux = switch_load_balancing_loss(probs[real], cfg.lb_alpha)
        aux = aux + cfg.z_loss * router_z_loss(logits[real])
        return y.view(b, n, d), aux


class GlobalBlock(nn.Module):
    """Pre-norm residual block over patches: x + Mixer(LN(x)), then x + MLP(LN(x)).

    The mixer is the order-2 Hyena operator of :mod:`engine.models.hyena` (or causal attention
    for the hybrid's attention blocks); the MLP is dense or a mixture of experts.
    """

    def __init__(self, cfg: LatentConfig, hyena: HyenaConfig, index: int) -> None:
        super().__init__()
        self.ln1 = nn.LayerNorm(cfg.d_global)
        attention = index in cfg.global_attention_layers
        self.mixer = PatchAttention(cfg) if attention else HyenaOperator(hyena)
        self.ln2 = nn.LayerNorm(cfg.d_global)
        self.mlp = MoE(cfg) if cfg.uses_moe(index) else MLP(cfg.d_global, cfg.mlp_ratio,
                                                            cfg.dropout)

    def forward(self, x: torch.Tensor, valid: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = x + self.mixer(self.ln1(x))
        h = self.ln2(x)
        if isinstance(self.mlp, MoE):
            y, aux = self.mlp(h, valid)
        else:
            y, aux = self.mlp(h), x.new_zeros(())
        return x + y, aux


class MemoryExperts(nn.Module):
    """k gated memories M_j (each m slots of d_global) carried across segments of patches.

    Segment s (patches ``[s S, (s+1) S)``, S = segment_len) reads the memories written by
    segments ``< s`` and then writes to them. With h_s the mean of its patch states and x_s its
    first patch state (both as they enter the memory layer):

        write router     p = softmax(W_w h_s / tau),  gates g = sigmoid(W_g h_s)      (k,)
        candidates       u_j = tanh(W_u h_s)_j                                       (m, d)
        update           M_j <- (p_j g_j) u_j + (1 - p_j g_j) M_j     (after segment s)
        read             R_s = sum_j pi_j M_j,  pi = softmax(W_r x_s / tau)          (m, d)
        injection        y_t = x_t + W_o softmax(W_q x_t R_s^T / sqrt d) R_s   (t in segment s)

    A memory whose routed rate p_j g_j is near 0 is left as it was. Every sequence starts from
    the learned M^0. Writes see the states entering the memory layer, not what their segment
    read: the recurrence then runs over S small matrices and the blocks stay parallel over
    patches. ``read_enabled = False`` ablates the read (everything else is computed).
    """

    def __init__(self, cfg: LatentConfig) -> None:
        super().__init__()
        d, k, m = cfg.d_global, cfg.n_memories, cfg.memory_slots
        self.k, self.m, self.segment_len = k, m, cfg.segment_len
        self.tau, self.lb_alpha = cfg.memory_temperature, cfg.memory_lb_alpha
        self.init = nn.Parameter(0.02 * torch.randn(k, m, d))  # M^0
        self.ln = nn.LayerNorm(d)
        self.write_router = nn.Linear(d, k)
        self.gate = nn.Linear(d, k)
        self.candidate = nn.Linear(d, k * m * d)
        self.read_router = nn.Linear(d, k)
        self.query = nn.Linear(d, d)
        self.out_proj = nn.Linear(d, d)
        self.read_enabled = True
        self.hook_write_probs = HookPoint()  # p (B, S, k)
        self.hook_gates = HookPoint()  # g (B, S, k)
        self.hook_read_weights = HookPoint()  # pi (B, S, k)
        self.hook_slot_attention = HookPoint()  # each patch's read over the slots (B, P, m)
        self.hook_states = HookPoint()  # the memories segment s reads (B, S, k, m, d)

    def forward(self, x: torch.Tensor, valid: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        b, n, d = x.shape
        k, m, seg = self.k, self.m, self.segment_len
        n_seg = -(-n // seg)
        pad = n_seg * seg - n
        xs = F.pad(self.ln(x), (0, 0, 0, pad)).view(b, n_seg, seg, d)  # (B, S, seg, d)
        real = F.pad(valid.to(x.dtype), (0, pad)).view(b, n_seg, seg)  # (B, S, seg)
        # write: one routing decision per segment
        summary = (xs * real[..., None]).sum(2) / real.sum(2, keepdim=True).clamp(min=1)
        p = torch.softmax(self.write_router(summary) / self.tau, dim=-1)  # (B, S, k)
        g = torch.sigmoid(self.gate(summary))  # (B, S, k)
        u = torch.tanh(self.candidate(summary)).view(b, n_seg, k, m, d)
        rate = (p * g)[..., None, None]  # (B, S, k, 1, 1)
        memory = self.init.expand(b, k, m, d)
        states = []
        for s in range(n_seg):
            states.append(memory)  # segment s reads what segments < s wrote
            memory = rate[:, s] * u[:, s] + (1 - rate[:, s]) * memory
        states = torch.stack(states, dim=1)  # (B, S, k, m, d)
        # read: routed over the memories, then attended to by each patch
        pi = torch.softmax(self.read_router(xs[:, :, 0]) / self.tau, dim=-1)  # (B, S, k)
        read = torch.einsum("bsk,bskmd->bsmd", pi, states)  # (B, S, m, d)
        scores = self.query(xs) @ read.transpose(-1, -2) / math.sqrt(d)  # (B, S, seg, m)
        slots = torch.softmax(scores, dim=-1)
        self.hook_write_probs(p)
        self.hook_gates(g)
        self.hook_read_weights(pi)
        self.hook_slot_attention(slots.reshape(b, -1, m)[:, :n])  # (B, S, seg, m) -> (B, P, m)
        self.hook_states(states)
        if self.read_enabled:
            x = x + self.out_proj(slots @ read).view(b, n_seg * seg, d)[:, :n]
        aux = x.new_zeros(())
        if self.lb_alpha:
            aux = switch_load_balancing_loss(p[real.sum(2) > 0], self.lb_alpha)
        return x, aux


class GlobalModel(nn.Module):
    """Patch states (B, P, d_g) -> latents (B, P, d_g), causal over patches."""

    def __init__(self, cfg: LatentConfig) -> None:
        super().__init__()
        hyena = HyenaConfig(
            d_model=cfg.d_global, n_layers=cfg.n_global_layers, max_len=cfg.max_patches,
            filter_order=cfg.filter_order, mlp_ratio=cfg.mlp_ratio, dropout=cfg.dropout,
        )
        self.patch_embed = nn.Embedding(cfg.max_patches, cfg.d_global)  # patch index
        self.blocks = nn.ModuleList(
            GlobalBlock(cfg, hyena, i) for i in range(cfg.n_global_layers)
        )
        self.memory = MemoryExperts(cfg) if cfg.n_memories else None
        self.memory_layer = cfg.memory_layer
        self.ln_f = nn.LayerNorm(cfg.d_global)

    def forward(self, x: torch.Tensor, valid: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = x + self.patch_embed.weight[: x.shape[1]]  # (B, P, d_g)
        aux = torch.zeros((), device=x.device)
        for i, block in enumerate(self.blocks):
            if self.memory is not None and i == self.memory_layer:
                x, a = self.memory(x, valid)
                aux = aux + a
            x, a = block(x, valid)
            aux = aux + a
        if self.memory is not None and self.memory_layer == len(self.blocks):
            x, a = self.memory(x, valid)
            aux = aux + a
        return self.ln_f(x), aux


# --------------------------------------------------------------------------------------------
# patches -> bytes


class LocalDecoder(nn.Module):
    """d_t = e_t + CrossAttn(e_t, [s, z_0, ..., z_{P-1}]), then local layers and a final norm.

    Byte t of patch j sees the latents of patches ``j - w .. j - 1`` (w = decoder_window),
    never its own or a later patch; a learned start state s stands in for patch -1, so the
    first patch sees s alone.
    """

    def __init__(self, cfg: LatentConfig) -> None:
        super().__init__()
        self.window = cfg.decoder_window
        self.start = nn.Parameter(0.02 * torch.randn(1, 1, cfg.d_global))
        self.cross = CrossAttention(cfg.d_local, cfg.d_global, cfg.d_local, cfg.n_heads)
        self.layers = nn.ModuleList(local_block(cfg) for _ in range(cfg.n_decoder_layers))
        self.ln_f = nn.LayerNorm(cfg.d_local)

    def forward(self, h: torch.Tensor, latents: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
        b, n, _ = latents.shape
        keys = torch.cat([self.start.expand(b, 1, -1), latents], dim=1)  # (B, P + 1, d_g)
        # key c holds patch c - 1; byte t may see it iff 1 <= patch(t) - (c - 1) <= w
        lag = ids[:, :, None] - torch.arange(n + 1, device=h.device)[None, None, :]
        mask = (lag >= 0) & (lag < self.window)  # (B, L, P + 1)
        h = h + self.cross(h, keys, mask)  # (B, L, d_l); attention (B, H, L, P + 1)
        for layer in self.layers:
            h = layer(h)
        return self.ln_f(h)


# --------------------------------------------------------------------------------------------
# the model


class LatentLM(nn.Module):
    """Token ids (B, L) [+ patch starts (B, L)] -> next-token logits (B, L, vocab_size)."""

    def __init__(self, cfg: LatentConfig) -> None:
        super().__init__()
        self.config = cfg
        self.encoder = LocalEncoder(cfg)
        self.pooling = PatchPooling(cfg)
        self.global_model = GlobalModel(cfg)
        self.decoder = LocalDecoder(cfg)
        self.hook_patch_starts = HookPoint()  # (B, L) bool
        self.hook_patch_ids = HookPoint()  # (B, L) int64: the patch holding each byte
        self.hook_patch_valid = HookPoint()  # (B, P) bool: False for a shorter row's padding
        self.apply(HyenaLM._init_weights)
        depth = cfg.n_local_layers + cfg.n_global_layers + cfg.n_decoder_layers
        for name, p in self.named_parameters():  # GPT-2 scaling of residual projections
            if name.endswith(("out_proj.weight", "fc2.weight")):
                nn.init.normal_(p, std=0.02 / math.sqrt(2 * depth))

    @property
    def max_len(self) -> int:
        return self.config.max_len

    def forward(
        self, idx: torch.Tensor, patch_starts: torch.Tensor | None = None, *,
        return_aux: bool = False,
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        """Logits (B, L, vocab_size), or ``(logits, aux_loss)`` with ``return_aux``.

        ``patch_starts[b, t]`` is True where a patch begins (position 0 always does); None: a
        patch every ``static_patch_size`` bytes. ``aux_loss`` (a scalar) is the routers' losses
        to add to the cross-entropy.
        """
        cfg = self.config
        length = idx.shape[1]
        if length > cfg.max_len:
            raise ValueError(
                f"input of {length} tokens exceeds max_len {cfg.max_len}; "
                "score long inputs with engine.scoring, which chunks them with overlap"
            )
        starts = self.starts_for(idx, patch_starts)  # (B, L) bool
        ids = patch_ids(starts)  # (B, L)
        counts = ids[:, -1] + 1  # (B,) patches per row
        n_patches = int(counts.max())
        if n_patches > cfg.max_patches:
            raise ValueError(f"{n_patches} patches exceed max_patches {cfg.max_patches}")
        valid = torch.arange(n_patches, device=idx.device) < counts[:, None]  # (B, P)
        self.hook_patch_starts(starts)
        self.hook_patch_ids(ids)
        self.hook_patch_valid(valid)

        h = self.encoder(idx, starts)  # (B, L, d_l)
        patches = self.pooling(h, ids, n_patches)  # (B, P, d_g)
        latents, aux = self.global_model(patches, valid)  # (B, P, d_g)
        h = self.decoder(h, latents, ids)  # (B, L, d_l)
        logits = F.linear(h, self.encoder.byte_embed.weight)  # tied head: (B, L, padded_vocab)
        logits = logits[..., : cfg.vocab_size]
        return (logits, aux) if return_aux else logits

    def starts_for(self, idx: torch.Tensor, patch_starts: torch.Tensor | None) -> torch.Tensor:
        """(B, L) bool: the starts forward uses (given, with position 0 set, or static)."""
        if patch_starts is None:
            b, length = idx.shape
            return static_patch_starts(b, length, self.config.static_patch_size, idx.device)
        if patch_starts.shape != idx.shape:
            raise ValueError(f"patch_starts {tuple(patch_starts.shape)} must match the input "
                             f"{tuple(idx.shape)}")
        starts = patch_starts.to(device=idx.device, dtype=torch.bool).clone()
        starts[:, 0] = True
        return starts

    def optimizer_groups(self, weight_decay: float) -> list[dict]:
        """AdamW groups: no decay where the byte models have none (norms, biases, embeddings,
        the Hyena filter MLP), nor on the learned initial states (memories M^0, the decoder's
        start state): decay would pull them to 0, which is no state the model chose."""
        return parameter_groups(self, weight_decay, latent_no_decay)

    def num_params(self) -> int:
        return sum(p.numel() for p in self.parameters())


def latent_no_decay(name: str, param: nn.Parameter) -> bool:
    """:meth:`LatentLM.optimizer_groups`'s rule (names relative to the model, or a wrapper)."""
    return byte_model_no_decay(name, param) or name.endswith(("memory.init", "decoder.start"))
