"""The table of patch modes: what each mode reads, what its θ means, and which rule it applies.

:data:`PATCH_MODES` is the one place a mode is described. :class:`~.patcher.PatchConfig`
validates its settings against it, :func:`~.patcher.patch_lengths` and the θ search dispatch
through it, and the CLI and the GUI read its properties instead of lists of mode names (the
old lists, :data:`MODES` and the rest, are derived from it). Adding a mode is one entry here,
with its rule in :mod:`.modes` (or :mod:`.optimal`); the Patcher panel offers it from the table.

A mode's rule is one of three shapes, each a small adapter from a :class:`PatchConfig` to the
pure functions of :mod:`.modes`:

* ``mask(x, config, θ, N) -> (N,) bool``: a start mask (BLT's shape); the patcher adds the
  fixed starts (BLT's quirks, or BOS) and the length limits (merge, then split);
* ``starts(x, config, θ, N, own_first) -> (k,) int64``: start positions, for a rule that walks
  the sequence (``greedy``); the length limits follow as for a mask;
* ``lengths(config, N) -> (k,) int64``: patch lengths, for the rules that cut blindly.

``constrained`` (``optimal``'s DP) replaces the merge-then-split of the others when a length
limit is set; without limits ``optimal`` is ``entropy``, since taking every positive gain is
the optimum.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np

from . import modes
from .optimal import optimal_starts

if TYPE_CHECKING:
    from .patcher import PatchConfig

Reads = Literal["entropies", "tokens", "length"]
# What θ is in a mode: a level H[p-1] is compared with, a rise H[p-1] - H[p-2], or a budget of
# entropy summed over a patch. A level and a budget are amounts of entropy, never negative.
Theta = Literal["level", "rise", "budget"]

MaskRule = Callable[[np.ndarray, "PatchConfig", "float | None", int], np.ndarray]
StartsRule = Callable[[np.ndarray, "PatchConfig", "float | None", int, bool], np.ndarray]
LengthsRule = Callable[["PatchConfig", int], np.ndarray]
DecisionRule = Callable[[np.ndarray, "PatchConfig", int], np.ndarray]


@dataclass(frozen=True)
class PatchMode:
    """One patch mode: its input, the meaning of its θ, and its rule.

    * ``reads``: ``"entropies"`` (one per position), ``"tokens"`` (the bytes as BLT token ids)
      or ``"length"`` (only how many positions there are).
    * ``theta``: what θ means (:data:`Theta`); ``None`` for the byte modes, which take none.
    * ``mask`` / ``starts`` / ``lengths``: the rule, exactly one of them (module docstring).
    * ``constrained``: the rule that applies the length limits itself (``optimal``'s DP).
    * ``decisions``: what is compared with θ at each candidate start, for the exact θ search
      over those values (:func:`engine.patching.threshold.threshold_over_values`); ``None``
      searches a float bracket instead.
    * ``blt_rule``: whose fixed starts ``blt_compat`` adds to the mask
      (:func:`engine.patching.modes.apply_blt_start_quirks`).
    * ``bos_alone``: with ``add_bos`` (or BLT's forced ``[0, 1]``) position 0 is a patch of its
      own; ``static`` and ``byte`` cut positions blindly, in BLT as here.
    * ``extra``: the settings only this mode reads (``static``'s ``patch_size``, ``dual``'s
      ``threshold_add``), besides θ and the target size that every mode with a θ reads.
    """

    name: str
    summary: str
    reads: Reads
    theta: Theta | None = None
    mask: MaskRule | None = None
    starts: StartsRule | None = None
    lengths: LengthsRule | None = None
    constrained: StartsRule | None = None
    decisions: DecisionRule | None = None
    blt_rule: str | None = None
    bos_alone: bool = True
    extra: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        rules = [rule for rule in (self.mask, self.starts, self.lengths) if rule is not None]
        if len(rules) != 1:
            raise ValueError(f"mode {self.name!r} needs exactly one of mask, starts, lengths")
        if (self.theta is None) != (self.reads != "entropies"):
            raise ValueError(f"mode {self.name!r}: a θ belongs to the modes reading entropies")
        if self.decisions is not None and self.mask is None:
            raise ValueError(f"mode {self.name!r}: decision values belong to a mask rule")
        if self.mask is not None and self.blt_rule is None:
            raise ValueError(f"mode {self.name!r}: a mask rule names its BLT fixed starts")

    @property
    def needs_entropies(self) -> bool:
        """Whether :meth:`Patcher.patch` takes entropies (else bytes)."""
        return self.reads == "entropies"

    @property
    def byte_mode(self) -> bool:
        """Cuts the bytes without entropies: no θ, no target size."""
        return not self.needs_entropies

    @property
    def accepts_target_size(self) -> bool:
        """Whether θ can be searched for a target mean patch length (every mode with a θ)."""
        return self.theta is not None

    @property
    def draws_threshold_line(self) -> bool:
        """Whether θ is a level of H, so a line at θ over the entropy track means something."""
        return self.theta == "level"

    @property
    def threshold_is_amount(self) -> bool:
        """Whether θ is an amount of entropy (a level or a budget), so never negative."""
        return self.theta in ("level", "budget")

    @property
    def exact_search(self) -> bool:
        """Whether a start depends on one value vs θ, so the θ search runs over those values."""
        return self.decisions is not None

    @property
    def settings(self) -> tuple[str, ...]:
        """The :class:`PatchConfig` fields that only some modes read, that this mode reads."""
        theta = ("threshold", "target_patch_size") if self.theta is not None else ()
        return (*theta, *self.extra)


# ---------------------------------------------------------------------------------------------
# Adapters: a PatchConfig's settings into the pure rules of modes.py and optimal.py


def _rise(config: PatchConfig) -> float:
    return config.threshold_add if config.threshold_add is not None else 0.0


def _space_mask(x: np.ndarray, config: PatchConfig, threshold: float | None,
                n_positions: int) -> np.ndarray:
    return modes.space_start_mask(x, n_positions, config.blt_compat)


def _entropy_mask(x: np.ndarray, config: PatchConfig, threshold: float | None,
                  n_positions: int) -> np.ndarray:
    return modes.entropy_start_mask(x, threshold, n_positions)


def _monotonic_mask(x: np.ndarray, config: PatchConfig, threshold: float | None,
                    n_positions: int) -> np.ndarray:
    return modes.monotonic_start_mask(x, threshold, n_positions)


def _dual_mask(x: np.ndarray, config: PatchConfig, threshold: float | None,
               n_positions: int) -> np.ndarray:
    return modes.dual_start_mask(x, threshold, _rise(config), n_positions)


def _greedy_starts(x: np.ndarray, config: PatchConfig, threshold: float | None,
                   n_positions: int, own_first: bool) -> np.ndarray:
    return modes.greedy_starts(x, float(threshold), n_positions, int(own_first))


def _optimal_starts(x: np.ndarray, config: PatchConfig, threshold: float | None,
                    n_positions: int, own_first: bool) -> np.ndarray:
    return optimal_starts(x, threshold, n_positions, config.min_patch_length,
                          config.max_patch_length, own_first)


def _static_lengths(config: PatchConfig, n_positions: int) -> np.ndarray:
    return modes.static_lengths(n_positions, config.patch_size)


def _byte_lengths(config: PatchConfig, n_positions: int) -> np.ndarray:
    return modes.byte_lengths(n_positions)


def _level_decisions(H: np.ndarray, config: PatchConfig, n_positions: int) -> np.ndarray:
    """``H[p-1]`` for each candidate ``p >= 1``."""
    return H[: n_positions - 1]


def _rise_decisions(H: np.ndarray, config: PatchConfig, n_positions: int) -> np.ndarray:
    """``H[p-1] - H[p-2]`` for each candidate ``p >= 2``."""
    return H[1 : n_positions - 1] - H[: max(n_positions - 2, 0)]


def _dual_decisions(H: np.ndarray, config: PatchConfig, n_positions: int) -> np.ndarray:
    """``H[p-1]`` where the rise also exceeds θ_add: only those candidates depend on θ."""
    rise = _rise_decisions(H, config, n_positions)
    return H[1 : n_positions - 1][rise > H.dtype.type(_rise(config))]


# ---------------------------------------------------------------------------------------------
# The table, in the order the CLI and the GUI list the modes

PATCH_MODES: dict[str, PatchMode] = {
    mode.name: mode
    for mode in (
        PatchMode("static", "fixed-length patches of --patch-size",
                  reads="length", lengths=_static_lengths, bos_alone=False,
                  extra=("patch_size",)),
        PatchMode("byte", "one patch per byte",
                  reads="length", lengths=_byte_lengths, bos_alone=False),
        PatchMode("space", "a patch ends after the first of a run of non-word bytes",
                  reads="tokens", mask=_space_mask, blt_rule="space"),
        PatchMode("entropy", "a patch starts at each byte whose H is above θ",
                  reads="entropies", theta="level", mask=_entropy_mask,
                  decisions=_level_decisions, blt_rule="entropy"),
        PatchMode("monotonic", "a patch starts where H rises by more than θ",
                  reads="entropies", theta="rise", mask=_monotonic_mask,
                  decisions=_rise_decisions, blt_rule="monotonic"),
        PatchMode("dual", "a patch starts where H is above θ and rose by more than θ_add",
                  reads="entropies", theta="level", mask=_dual_mask,
                  decisions=_dual_decisions, blt_rule="dual", extra=("threshold_add",)),
        PatchMode("greedy", "a patch holds at most θ nats after its first byte",
                  reads="entropies", theta="budget", starts=_greedy_starts),
        PatchMode("optimal", "the starts maximising total gain H - θ under the length limits",
                  reads="entropies", theta="level", mask=_entropy_mask,
                  constrained=_optimal_starts, blt_rule="entropy"),
    )
}

# The lists of names that callers branch on, derived from the table.
MODES = tuple(PATCH_MODES)
BYTE_MODES = tuple(name for name, mode in PATCH_MODES.items() if mode.byte_mode)
ENTROPY_MODES = tuple(name for name, mode in PATCH_MODES.items() if mode.needs_entropies)
THRESHOLD_MODES = tuple(name for name, mode in PATCH_MODES.items() if mode.exact_search)


def modes_reading(setting: str) -> tuple[str, ...]:
    """The modes whose :attr:`PatchMode.settings` include ``setting``, in table order."""
    return tuple(name for name, mode in PATCH_MODES.items() if setting in mode.settings)
