"""The patcher's configuration, its result, and the pipeline from input to patch lengths.

``Patcher(PatchConfig(mode="entropy", threshold=1.3354)).patch(entropies)`` returns a
:class:`PatchResult`. The class only holds the configuration; the work is done by
:func:`patch_lengths`, which applies one rule from :mod:`engine.patching.modes` (or the DP in
:mod:`engine.patching.optimal`) and then the length limits from :mod:`engine.patching.lengths`.

Positions. The sequence patched is ``[BOS] + bytes + [EOS]`` (each optional), plus the next
position with ``include_next_token``; its length is ``n_positions`` (N). Byte-only modes take
the bytes and insert BOS/EOS themselves. Entropy modes take one entropy per position of that
sequence, ``H[t]`` being the uncertainty about position ``t + 1`` (an entropy model run on
BOS + bytes gives exactly that), so for them ``add_bos`` says "``H[0]`` belongs to BOS".
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from engine.errors import InputError

from . import modes
from .lengths import enforce_length_limits, lengths_from_starts, starts_from_lengths
from .mode_table import (
    BYTE_MODES,
    ENTROPY_MODES,
    MODES,
    PATCH_MODES,
    THRESHOLD_MODES,
    modes_reading,
)
from .threshold import threshold_over_floats, threshold_over_values

__all__ = [  # the lists of mode names live in mode_table; kept importable from here
    "BLT_DEFAULT_THRESHOLD",
    "BYTE_MODES",
    "ENTROPY_MODES",
    "MODES",
    "THRESHOLD_MODES",
    "PatchConfig",
    "PatchResult",
    "Patcher",
    "decision_values",
    "owns_first_patch",
    "patch_lengths",
    "prepare_bytes",
    "prepare_entropies",
    "search_threshold",
    "start_mask",
]

# BLT's PatcherArgs.threshold (nats): the default global threshold of its released models.
BLT_DEFAULT_THRESHOLD = 1.335442066192627


@dataclass(frozen=True)
class PatchConfig:
    """Every patcher setting, with its default. Saved as JSON with :meth:`to_dict`.

    * ``mode``: a name in :data:`engine.patching.mode_table.PATCH_MODES`.
    * ``threshold``: θ in nats (entropy modes); ``None`` means BLT's default, or the searched
      value when ``target_patch_size`` is set. ``greedy`` reads it as a budget per patch.
    * ``threshold_add``: the rise θ_add that ``dual`` also asks for (default 0).
    * ``patch_size``: the ``static`` patch length.
    * ``min_patch_length`` / ``max_patch_length``: length limits (see :func:`patch_lengths`).
    * ``add_bos`` / ``add_eos``: the sequence has a BOS / EOS position (BOS is its own patch).
    * ``include_next_token``: patches also cover the position after the input (BLT's flag).
    * ``blt_compat``: reproduce BLT's reference patcher, quirks included.
    * ``target_patch_size``: search θ for this mean patch length instead of giving θ.
    """

    mode: str = "entropy"
    threshold: float | None = None
    threshold_add: float | None = None
    patch_size: int = 4
    min_patch_length: int = 1
    max_patch_length: int | None = None
    add_bos: bool = False
    add_eos: bool = False
    include_next_token: bool = False
    blt_compat: bool = False
    target_patch_size: float | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.mode, str) or self.mode not in PATCH_MODES:
            raise InputError(f"unknown patching mode {self.mode!r} "
                             f"(modes: {', '.join(PATCH_MODES)})")
        spec = PATCH_MODES[self.mode]
        for name in ("patch_size", "min_patch_length"):
            _check_count(name, getattr(self, name))
        if self.max_patch_length is not None:
            _check_count("max_patch_length", self.max_patch_length)
            if self.max_patch_length < self.min_patch_length:
                raise InputError(
                    f"max_patch_length {self.max_patch_length} is below "
                    f"min_patch_length {self.min_patch_length}"
                )
        for name in ("threshold", "threshold_add", "target_patch_size"):
            value = getattr(self, name)
            if value is not None and not _is_finite_number(value):
                raise InputError(f"{name} must be a finite number, not {value!r}")
        if spec.theta is None:
            for name in ("threshold", "target_patch_size"):
                if getattr(self, name) is not None:
                    raise InputError(f"{name} applies to entropy modes, not {self.mode!r}")
        if self.threshold_add is not None and "threshold_add" not in spec.settings:
            takers = modes_reading("threshold_add")
            which = "mode" if len(takers) == 1 else "modes"
            raise InputError(f"threshold_add applies to {which} "
                             f"{', '.join(map(repr, takers))} only, not {self.mode!r}")
        if self.target_patch_size is not None:
            if self.threshold is not None:
                raise InputError("give either a threshold or a target patch size, not both")
            if self.target_patch_size < 1:
                raise InputError(
                    f"target_patch_size must be at least 1 (a mean length), "
                    f"not {self.target_patch_size}"
                )
            if self.max_patch_length is not None and self.target_patch_size > self.max_patch_length:
                raise InputError(
                    f"target_patch_size {self.target_patch_size:g} is above max_patch_length "
                    f"{self.max_patch_length}: no patch is longer, so neither is their mean"
                )

    @property
    def needs_entropies(self) -> bool:
        """Whether :meth:`Patcher.patch` takes entropies (else it takes bytes)."""
        return PATCH_MODES[self.mode].needs_entropies

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PatchConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise InputError(f"unknown patcher settings: {', '.join(unknown)}")
        return cls(**data)


def _check_count(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise InputError(f"{name} must be a whole number >= 1, not {value!r}")


def _is_finite_number(value: object) -> bool:
    return (
        isinstance(value, (int, float, np.integer, np.floating))
        and not isinstance(value, bool)
        and math.isfinite(value)
    )


@dataclass(frozen=True, eq=False)
class PatchResult:
    """Patches over ``n_positions`` positions, with their statistics.

    ``starts``/``lengths`` are int64 in positions of the patched sequence (position ``p`` is
    byte ``p - bos``). ``threshold`` is the θ used (searched or given; ``None`` for byte-only
    modes). ``bytes_per_patch`` counts real bytes only; ``mean_length`` counts every position.
    """

    starts: np.ndarray
    lengths: np.ndarray
    mode: str
    threshold: float | None
    n_bytes: int
    bos: int = 0
    target_patch_size: float | None = None
    config: PatchConfig | None = field(default=None, repr=False)

    @property
    def count(self) -> int:
        return len(self.lengths)

    @property
    def n_positions(self) -> int:
        return int(self.lengths.sum())

    @property
    def mean_length(self) -> float:
        return self.n_positions / self.count if self.count else 0.0

    @property
    def median_length(self) -> float:
        return float(np.median(self.lengths)) if self.count else 0.0

    @property
    def max_length(self) -> int:
        return int(self.lengths.max()) if self.count else 0

    @property
    def min_length(self) -> int:
        return int(self.lengths.min()) if self.count else 0

    @property
    def bytes_per_patch(self) -> float:
        return self.n_bytes / self.count if self.count else 0.0

    def stats(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "count": self.count,
            "n_positions": self.n_positions,
            "n_bytes": self.n_bytes,
            "mean_length": self.mean_length,
            "median_length": self.median_length,
            "min_length": self.min_length,
            "max_length": self.max_length,
            "bytes_per_patch": self.bytes_per_patch,
            "threshold": self.threshold,
            "target_patch_size": self.target_patch_size,
        }

    def to_dict(self, arrays: bool = True) -> dict[str, Any]:
        """Stats, the config, and (``arrays``) ``starts``/``lengths`` as lists: JSON-ready."""
        out: dict[str, Any] = {"stats": self.stats()}
        if self.config is not None:
            out["config"] = self.config.to_dict()
        if arrays:
            out["starts"] = self.starts.tolist()
            out["lengths"] = self.lengths.tolist()
        return out

    def byte_intervals(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(index, start, end)`` of each patch in byte coordinates, half-open.

        Positions that are not bytes (BOS, EOS, the next token) are cut off; a patch left with
        no byte (the BOS patch) is dropped, and ``index`` keeps the patch's own number.
        """
        begin = np.clip(self.starts - self.bos, 0, self.n_bytes)
        end = np.clip(self.starts + self.lengths - self.bos, 0, self.n_bytes)
        index = np.flatnonzero(end > begin)
        return index, begin[index], end[index]

    def __len__(self) -> int:
        return self.count


# ---------------------------------------------------------------------------------------------
# Inputs


def prepare_entropies(values: object, blt_compat: bool = False) -> np.ndarray:
    """A 1-D float array of finite entropies; float32 under ``blt_compat``, as BLT casts them."""
    H = np.asarray(values)
    if H.ndim != 1:
        raise InputError(f"entropies must be a 1-D array, not shape {H.shape}")
    if not (np.issubdtype(H.dtype, np.floating) or np.issubdtype(H.dtype, np.integer)):
        raise InputError(f"entropies must be numbers, not {H.dtype}")
    if blt_compat:
        H = H.astype(np.float32, copy=False)
    elif H.dtype not in (np.float32, np.float64):
        H = H.astype(np.float64)  # float16 and integers: compare in a dtype NumPy computes fast
    if not np.isfinite(H).all():
        where = int(np.flatnonzero(~np.isfinite(H))[0])
        raise InputError(f"entropy at position {where} is not a finite number ({H[where]})")
    return H


def prepare_bytes(values: object) -> np.ndarray:
    """``bytes``/``bytearray``/``memoryview``/``str`` (UTF-8) or a uint8 array, as uint8."""
    if isinstance(values, str):
        values = values.encode()
    if isinstance(values, (bytes, bytearray, memoryview)):
        return np.frombuffer(values, dtype=np.uint8)
    data = np.asarray(values)
    if data.ndim != 1 or data.dtype != np.uint8:
        raise InputError(
            f"byte-only modes take bytes or a 1-D uint8 array, not {data.dtype} {data.shape}"
        )
    return data


# ---------------------------------------------------------------------------------------------
# The pipeline


def owns_first_patch(config: PatchConfig) -> bool:
    """Whether position 0 is a patch of its own: BOS (``add_bos``), or BLT's forced [0, 1].

    Not in the modes that cut positions blindly (:attr:`PatchMode.bos_alone`), in BLT as here.
    """
    return (config.blt_compat or config.add_bos) and PATCH_MODES[config.mode].bos_alone


def start_mask(x: np.ndarray, config: PatchConfig, threshold: float | None) -> np.ndarray:
    """The mode's start mask over N positions, with BLT's fixed starts where they apply.

    ``x`` is the entropies, or the token ids for ``space``.
    """
    n_positions = len(x) + config.include_next_token
    spec = PATCH_MODES[config.mode]
    if spec.mask is None:
        raise ValueError(f"mode {config.mode!r} has no start mask")
    mask = spec.mask(x, config, threshold, n_positions)
    if config.blt_compat:
        modes.apply_blt_start_quirks(mask, spec.blt_rule)
    elif owns_first_patch(config) and n_positions > 1:
        mask[1] = True
    return mask


def patch_lengths(x: np.ndarray, config: PatchConfig, threshold: float | None) -> np.ndarray:
    """Patch lengths of a prepared input (entropies, or tokens for ``space``, any for the rest).

    The mode's rule comes from :data:`PATCH_MODES`. Length limits: the heuristic modes merge
    each patch shorter than ``min_patch_length`` into its predecessor, then split patches
    longer than ``max_patch_length`` as BLT does (remainder last); a mode with a
    ``constrained`` rule (``optimal``) treats both as constraints of its DP.
    """
    n_positions = len(x) + config.include_next_token
    spec = PATCH_MODES[config.mode]
    min_len, max_len = config.min_patch_length, config.max_patch_length
    own_first = owns_first_patch(config)
    limited = min_len > 1 or max_len is not None
    if limited and spec.constrained is not None:
        starts = spec.constrained(x, config, threshold, n_positions, own_first)
        return lengths_from_starts(starts, n_positions)
    if spec.lengths is not None:
        lengths = spec.lengths(config, n_positions)
        if not limited:
            return lengths
        starts = starts_from_lengths(lengths)
    elif spec.starts is not None:
        starts = spec.starts(x, config, threshold, n_positions, own_first)
    else:
        # "optimal" without limits is "entropy": taking every positive gain is the optimum.
        starts = np.flatnonzero(start_mask(x, config, threshold))
    if not limited:
        return lengths_from_starts(starts, n_positions)
    return enforce_length_limits(starts, n_positions, min_len, max_len, own_first)


def decision_values(H: np.ndarray, config: PatchConfig) -> np.ndarray:
    """What a threshold mode compares with θ at each candidate: H, its rise, or H where it rose."""
    spec = PATCH_MODES[config.mode]
    if spec.decisions is None:
        raise ValueError(f"mode {config.mode!r} compares no single value with θ")
    return spec.decisions(H, config, len(H) + config.include_next_token)


def search_threshold(H: np.ndarray, config: PatchConfig) -> float:
    """The θ whose patches have the mean length nearest ``config.target_patch_size``."""
    n_positions = len(H) + config.include_next_token
    target = float(config.target_patch_size)

    def count_at(theta: float) -> int:
        return len(patch_lengths(H, config, theta))

    spec = PATCH_MODES[config.mode]
    if spec.exact_search:
        values = np.unique(decision_values(H, config))
        return threshold_over_values(count_at, n_positions, target, values)
    if len(H) == 0:
        return 0.0
    if spec.theta == "budget":
        # θ >= k * max|H| lets every patch hold k + 1 positions: mean length above the target
        k = math.ceil(target) + 1
        low, high = min(0.0, float(H.min())) - 1.0, k * float(np.abs(H).max()) + 1.0
    else:
        low, high = float(H.min()) - 1.0, float(H.max()) + 1.0
    return threshold_over_floats(count_at, n_positions, target, low, high)


class Patcher:
    """Holds a :class:`PatchConfig`; :meth:`patch` applies it to one sequence."""

    def __init__(self, config: PatchConfig | None = None, **settings: Any) -> None:
        if config is not None and settings:
            raise TypeError("pass a PatchConfig or keyword settings, not both")
        self.config = config if config is not None else PatchConfig(**settings)

    def patch(self, values: object) -> PatchResult:
        """Patch one sequence: entropies for entropy modes, bytes for byte-only modes.

        For ``static`` and ``byte`` only the length matters, so entropies work as well.
        """
        config = self.config
        reads = PATCH_MODES[config.mode].reads
        if reads == "entropies":
            x = prepare_entropies(values, config.blt_compat)
            n_bytes = len(x) - config.add_bos - config.add_eos
        elif reads == "tokens":
            data = prepare_bytes(values)
            x = modes.blt_tokens(data, config.add_bos, config.add_eos)
            n_bytes = len(data)
        else:  # "length" (static, byte): only the length counts
            n_bytes = len(values.encode() if isinstance(values, str) else values)
            x = np.empty(n_bytes + config.add_bos + config.add_eos, dtype=np.uint8)
        if len(x) == 0:
            raise InputError("nothing to patch: the sequence is empty")
        if n_bytes < 0:
            raise InputError("the entropies are shorter than the BOS/EOS positions they need")
        threshold: float | None = None
        if config.needs_entropies:
            if config.target_patch_size is not None:
                threshold = search_threshold(x, config)
            elif config.threshold is not None:
                threshold = float(config.threshold)
            else:
                threshold = BLT_DEFAULT_THRESHOLD
        lengths = patch_lengths(x, config, threshold)
        return PatchResult(
            starts=starts_from_lengths(lengths),
            lengths=lengths,
            mode=config.mode,
            threshold=threshold,
            n_bytes=n_bytes,
            bos=int(config.add_bos),
            target_patch_size=config.target_patch_size,
            config=config,
        )

    def patch_batch(self, batch: Iterable[object]) -> list[PatchResult]:
        """Patch sequences of any lengths independently: the same as :meth:`patch` on each.

        (BLT flattens a batch into one entropy context, issue #123; here nothing crosses rows.
        :func:`engine.patching.lengths.blt_padded_lengths` gives BLT's padded layout.)
        """
        return [self.patch(values) for values in batch]

    def __repr__(self) -> str:
        return f"Patcher({self.config!r})"
