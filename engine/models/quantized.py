"""Baked linear layers: int8 (W8A8) and ternary (W1.58A8), each with the maths it computes.

    Int8Linear:     y = (x_q W_q^T) * (w_r / s) + b      W_q, w_r from (Q3); x_q, s from (Q2)
    TernaryLinear:  y = (x_q C^T) * (gamma / s) + b      C, gamma from (Q1); x_q, s from (Q2)

(equations in :mod:`engine.models.quantizers`). Both hold integers and their scales as
buffers, so a baked model's state dict is int8 / uint8 tensors plus float32 scales:
safetensors, no pickle.

The product runs on one of three kernels, chosen once per layer (:func:`default_kernel`):

* ``float``: the (Q2) activations times the dequantized weights, in float32 (made once, at the
  first call): the equations' numbers up to float rounding, on any torch;
* ``int_mm``: (Q2) int8 activations times the int8 weights by ``torch._int_mm`` (int32 sums),
  then one rescale: the equations exactly;
* ``ao``: torch.ao's dynamic quantized linear (``torch.ops.quantized.linear_dynamic``) on the
  same int8 weights and row scales, whose activations are quantized per tensor (uint8 with a
  zero point), not per token: torch's recipe, the fastest here, used while torch ships it.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .quantizers import fake_int8_activations, int8_activations, int8_rows, ternary_codes

KERNELS = ("int_mm", "float", "ao")


def _int_mm_works() -> bool:
    try:
        a = torch.ones(32, 32, dtype=torch.int8)
        return bool(torch._int_mm(a, a).eq(32).all())
    except (RuntimeError, AttributeError, NotImplementedError):
        return False


def _quantized_tensor(q: torch.Tensor, scales: torch.Tensor) -> torch.Tensor:
    """A qint8 tensor of per-channel ``q`` (int8) and ``scales``: what torch.ao's kernels take.
    Making one warns that such tensors are deprecated (pytorch#184982); we know, and check at
    load whether they still exist (:func:`available`)."""
    import warnings

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*quantized tensor creation.*")
        return torch._make_per_channel_quantized_tensor(
            q, scales.double(), torch.zeros(len(scales), dtype=torch.int64), 0)


def _ao_works() -> bool:
    try:
        q = _quantized_tensor(torch.ones(4, 8, dtype=torch.int8), torch.ones(4))
        packed = torch.ops.quantized.linear_prepack(q, None)
        return torch.ops.quantized.linear_dynamic(torch.ones(2, 8), packed).shape == (2, 4)
    except (RuntimeError, AttributeError, NotImplementedError):
        return False


_AVAILABLE: dict[str, bool] = {}


def available(kernel: str) -> bool:
    """Whether ``kernel`` runs in this torch (checked once)."""
    if kernel not in _AVAILABLE:
        _AVAILABLE[kernel] = {"int_mm": _int_mm_works, "ao": _ao_works,
                              "float": lambda: True}[kernel]()
    return _AVAILABLE[kernel]


class _BakedLinear(nn.Module):
    """What both baked layers share: integer weights ``ints`` (out, in) int8, one scale per
    row (:meth:`row_scales`), a float32 bias, and the kernel that multiplies them."""

    def __init__(self, in_features: int, out_features: int, bias: bool, kernel: str) -> None:
        super().__init__()
        if kernel not in KERNELS:
            raise ValueError(f"unknown kernel {kernel!r}: one of {', '.join(KERNELS)}")
        self.in_features, self.out_features, self.kernel = in_features, out_features, kernel
        self.register_buffer("bias", torch.zeros(out_features) if bias else None)
        self._cache: torch.Tensor | None = None  # dequantized weight or torch.ao's packing

    def ints(self) -> torch.Tensor:
        raise NotImplementedError

    def row_scales(self) -> torch.Tensor:
        raise NotImplementedError

    def dequantized_weight(self) -> torch.Tensor:
        return self.ints().float() * self.row_scales()[:, None]

    def _load_from_state_dict(self, *args, **kwargs) -> None:
        self._cache = None  # new integers: make the kernel's form again
        super()._load_from_state_dict(*args, **kwargs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        lead, dtype = x.shape[:-1], x.dtype
        x = x.reshape(-1, self.in_features).float()
        if self.kernel == "ao":  # activations per tensor (torch.ao's own recipe)
            if self._cache is None:
                q = _quantized_tensor(self.ints(), self.row_scales())
                self._cache = torch.ops.quantized.linear_prepack(q, self.bias)
            y = torch.ops.quantized.linear_dynamic(x, self._cache)
        elif self.kernel == "int_mm" and x.shape[0] > 16:  # torch._int_mm wants > 16 rows
            x_q, s = int8_activations(x)  # (Q2)
            y = torch._int_mm(x_q, self.ints().t()).float() * (self.row_scales() / s)
            y = y if self.bias is None else y + self.bias
        else:  # "float": the same numbers as (Q2) times the dequantized weights, in float32
            if self._cache is None:
                self._cache = self.dequantized_weight()
            y = F.linear(fake_int8_activations(x), self._cache, self.bias)
        return y.reshape(*lead, self.out_features).to(dtype)

    def extra_repr(self) -> str:
        return f"{self.in_features}, {self.out_features}, kernel={self.kernel}"


class Int8Linear(_BakedLinear):
    """W8A8: int8 weights with one scale per output channel (Q3), int8 activations (Q2)."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True,
                 kernel: str = "float") -> None:
        super().__init__(in_features, out_features, bias, kernel)
        self.register_buffer("weight_q", torch.zeros(out_features, in_features, dtype=torch.int8))
        self.register_buffer("weight_scale", torch.ones(out_features))

    @classmethod
    def from_linear(cls, linear: nn.Linear, kernel: str = "float") -> Int8Linear:
        layer = cls(linear.in_features, linear.out_features, linear.bias is not None, kernel)
        q, scale = int8_rows(linear.weight)
        layer.weight_q.copy_(q)
        layer.weight_scale.copy_(scale)
        if linear.bias is not None:
            layer.bias.copy_(linear.bias.detach())
        return layer

    def ints(self) -> torch.Tensor:
        return self.weight_q

    def row_scales(self) -> torch.Tensor:
        return self.weight_scale


class TernaryLinear(_BakedLinear):
    """W1.58A8: ternary weights with one scale per tensor (Q1), int8 activations (Q2).

    Unpacked once (at load) into int8 codes; the packed form lives only in the file.
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True,
                 kernel: str = "float") -> None:
        super().__init__(in_features, out_features, bias, kernel)
        self.register_buffer("codes", torch.zeros(out_features, in_features, dtype=torch.int8))
        self.register_buffer("gamma", torch.ones(()))

    @classmethod
    def from_linear(cls, linear: nn.Linear, kernel: str = "float") -> TernaryLinear:
        layer = cls(linear.in_features, linear.out_features, linear.bias is not None, kernel)
        codes, gamma = ternary_codes(linear.weight)
        layer.codes.copy_(codes)
        layer.gamma.copy_(gamma)
        if linear.bias is not None:
            layer.bias.copy_(linear.bias.detach())
        return layer

    def ints(self) -> torch.Tensor:
        return self.codes

    def row_scales(self) -> torch.Tensor:
        return self.gamma.expand(self.out_features)


class QATLinear(nn.Linear):
    """A Linear trained toward W1.58A8 (quantization-aware fine-tuning): the latent weights
    stay full precision, and the forward blends in their quantized form by ``blend`` (the
    warm-up, 0 -> 1), with the straight-through estimator (Q4) for both:

        W' = W + blend * (Q1(W) - W).detach(),   x' = x + blend * (Q2(x) - x).detach()

    At ``blend = 1`` it computes what :class:`TernaryLinear` (float kernel) does with the
    codes of its weights, so the trained weights bake without a surprise. Its parameters are
    an ``nn.Linear``'s (``weight``, ``bias``): checkpoints load into either.
    """

    blend: float = 1.0

    @classmethod
    def wrap(cls, linear: nn.Linear) -> QATLinear:
        """The same layer, sharing ``linear``'s parameters."""
        layer = cls.__new__(cls)
        nn.Module.__init__(layer)
        layer.in_features, layer.out_features = linear.in_features, linear.out_features
        layer.weight, layer.bias = linear.weight, linear.bias
        layer.blend = 0.0
        return layer

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w, b = self.weight, self.blend
        gamma = w.detach().abs().mean().clamp(min=1e-5)
        w_q = (w.detach() / gamma).round().clamp(-1, 1) * gamma
        s = 127.0 / x.detach().abs().amax(dim=-1, keepdim=True).clamp(min=1e-5)
        x_q = (x.detach() * s).round().clamp(-128, 127) / s
        return F.linear(x + b * (x_q - x).detach(), w + b * (w_q - w).detach(), self.bias)


def qat_linears(model: nn.Module, names: list[str] | None = None) -> list[QATLinear]:
    """Make the named Linears (default: :func:`bakeable_linears`) quantization-aware, in
    place, keeping their parameters (so an optimizer made before or after sees the same)."""
    layers = []
    for name in bakeable_linears(model) if names is None else names:
        parent_name, _, leaf = name.rpartition(".")
        parent = model.get_submodule(parent_name) if parent_name else model
        layer = QATLinear.wrap(getattr(parent, leaf))
        setattr(parent, leaf, layer)
        layers.append(layer)
    return layers


# --------------------------------------------------------------------------------------------
# a baked model: which layers, how they are stored

BAKE_NAME = "bake.json"  # beside config.json in a baked model folder
BAKES = ("int8", "ternary")
PACKINGS = ("2bit", "trits")  # ternary codes: 4 a byte, or 5 a byte in base 3
_SKIPPED = ("filter", "router")  # the Hyena filter MLP (computed once per length) and routers


def bakeable_linears(model: nn.Module) -> list[str]:
    """The names of the ``nn.Linear`` layers a bake replaces: the projections and MLPs, not the
    Hyena filter's MLP or a router (nor the embedding and the tied head, which are not Linear)."""
    return [name for name, module in model.named_modules() if type(module) is nn.Linear
            and not any(part in name.split(".")[-2:] or part in name for part in _SKIPPED)]


def default_kernel(to: str) -> str:
    """The kernel a baked layer runs on here, chosen at load: torch.ao's while torch has it,
    else float. Measured on this CPU (``bench/bake.py --profile``), one batch of 8 x 1,024
    tokens through the default model: fp32 292 ms, ``ao`` 268 ms, ``float`` 503-519 ms,
    ``int_mm`` 511-520 ms: quantizing activations per token in eager PyTorch (six passes over
    them) costs more than the integer product saves at these widths, and torch.ao's fused
    per-tensor quantization is the only int8 path faster than fp32. Both bakes therefore run on
    ``ao``, whose activations are quantized per tensor rather than per token as (Q2) and
    quantization-aware training do (the held-out figures in bench/bake.py are measured on it)."""
    return "ao" if available("ao") else "float"


# buffers a model computes from its config (the Hyena filter's positions, times and decay
# rates): a baked file leaves them out, and the skeleton built from the config has them
DERIVED_BUFFERS = ("z", "t", "deltas")


def quantize_linears(model: nn.Module, to: str, names: list[str] | None = None,
                     kernel: str | None = None, *, empty: bool = False) -> list[str]:
    """Replace the named Linears (default: :func:`bakeable_linears`) by their ``to`` form,
    quantized from their weights, or left empty for a state dict to fill (``empty``)."""
    if to not in BAKES:
        raise ValueError(f"unknown bake {to!r}: one of {', '.join(BAKES)}")
    names = bakeable_linears(model) if names is None else names
    kernel = kernel or default_kernel(to)
    cls = Int8Linear if to == "int8" else TernaryLinear
    for name in names:
        parent_name, _, leaf = name.rpartition(".")
        parent = model.get_submodule(parent_name) if parent_name else model
        linear = getattr(parent, leaf)
        layer = cls(linear.in_features, linear.out_features, linear.bias is not None, kernel) \
            if empty else cls.from_linear(linear, kernel)
        setattr(parent, leaf, layer)
    return names


def embedding_names(model: nn.Module) -> list[str]:
    """Every ``nn.Embedding`` of the model (the byte table, which the tied head reuses)."""
    return [name for name, m in model.named_modules() if isinstance(m, nn.Embedding)]


def quantize_embeddings(model: nn.Module, names: list[str] | None = None) -> list[str]:
    """(Q3) per row on the named embedding tables (default: all): stored as int8 codes and
    one float32 scale a row, computed in float32 from their dequantized values, so the tied
    head (``F.linear(h, embed.weight)``) multiplies by the same numbers. The codes are kept
    in ``model.int8_embeddings`` for :func:`pack_state`."""
    names = embedding_names(model) if names is None else names
    kept = {}
    for name in names:
        table = model.get_submodule(name)
        q, scale = int8_rows(table.weight)
        with torch.no_grad():
            table.weight.copy_(q.float() * scale[:, None])
        kept[name] = (q, scale)
    model.int8_embeddings = kept
    return names


def pack_state(model: nn.Module, packing: str = "2bit") -> dict[str, torch.Tensor]:
    """The baked model's tensors for safetensors: ternary codes packed (``<name>.codes`` as
    uint8 bytes), int8 embedding tables as ``<name>.weight_q`` (I8) and ``<name>.weight_scale``,
    everything else as it is."""
    from .quantizers import pack_2bit, pack_trits

    pack = pack_2bit if packing == "2bit" else pack_trits
    state = {}
    ternary = {f"{name}.codes" for name, m in model.named_modules()
               if isinstance(m, TernaryLinear)}
    tables = getattr(model, "int8_embeddings", None) or {}
    for key, value in model.state_dict().items():
        if key.rpartition(".")[2] in DERIVED_BUFFERS:
            continue
        if key.removesuffix(".weight") in tables:
            q, scale = tables[key.removesuffix(".weight")]
            state[f"{key}_q"], state[f"{key}_scale"] = q.contiguous(), scale.contiguous()
            continue
        state[key] = pack(value) if key in ternary else value.contiguous()
    return state


def unpack_embeddings(model: nn.Module, state: dict[str, torch.Tensor], names: list[str]
                      ) -> dict[str, torch.Tensor]:
    """The int8 tables of ``pack_state`` dequantized into ``<name>.weight``; the codes are
    kept in ``model.int8_embeddings`` (so the model saves as it was loaded)."""
    out, kept = dict(state), {}
    for name in names:
        q, scale = out.pop(f"{name}.weight_q", None), out.pop(f"{name}.weight_scale", None)
        if q is None or scale is None:
            raise ValueError(f"{name}: no int8 table ({name}.weight_q and .weight_scale)")
        if q.dtype != torch.int8 or scale.shape != (q.shape[0],):
            raise ValueError(f"{name}.weight_q is {q.dtype} {tuple(q.shape)} with "
                             f"{tuple(scale.shape)} scales, not int8 rows with one scale each")
        out[f"{name}.weight"] = q.float() * scale[:, None]
        kept[name] = (q, scale)
    model.int8_embeddings = kept
    return out


def unpack_state(model: nn.Module, state: dict[str, torch.Tensor], packing: str
                 ) -> dict[str, torch.Tensor]:
    """``pack_state`` undone, for ``model`` (a skeleton from ``quantize_linears(empty=True)``:
    its buffers give each packed tensor's shape)."""
    from .quantizers import unpack_2bit, unpack_trits

    unpack = unpack_2bit if packing == "2bit" else unpack_trits
    out = dict(state)
    for name, module in model.named_modules():
        if isinstance(module, TernaryLinear) and f"{name}.codes" in state:
            shape = module.codes.shape
            packed = state[f"{name}.codes"]
            if packed.dtype != torch.uint8 or packed.ndim != 1:
                raise ValueError(f"{name}.codes is {packed.dtype} {tuple(packed.shape)}, not "
                                 "packed uint8 bytes")
            codes = unpack(packed, shape.numel())
            if codes.numel() != shape.numel():
                raise ValueError(f"{name}.codes holds {codes.numel():,} codes for "
                                 f"{shape.numel():,} weights")
            out[f"{name}.codes"] = codes.view(shape)
    return out


def dequantized_state(model: nn.Module) -> dict[str, torch.Tensor]:
    """A baked model's state as its unbaked model's: each baked layer's ``weight`` the
    dequantized integers (what it multiplies by) and its ``bias``; the rest as it is. What
    ``train --init BAKED`` starts from (further quantization-aware training)."""
    state = {}
    baked = {name: m for name, m in model.named_modules() if isinstance(m, _BakedLinear)}
    for key, value in model.state_dict().items():
        owner = key.rpartition(".")[0]
        if owner not in baked:
            state[key] = value
    for name, layer in baked.items():
        state[f"{name}.weight"] = layer.dequantized_weight()
        if layer.bias is not None:
            state[f"{name}.bias"] = layer.bias
    return state
