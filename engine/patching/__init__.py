"""Dynamic patching: where patches start, from entropies or bytes, BLT-compatible and fast.

``Patcher(PatchConfig(mode="entropy", threshold=1.3354)).patch(entropies)`` returns a
:class:`PatchResult`. The rules are pure functions over arrays in :mod:`.modes` (one per mode),
:mod:`.optimal` (the DP) and :mod:`.lengths` (length limits, BLT's batch layout);
:mod:`.mode_table` holds :data:`PATCH_MODES`, the one table of modes and their properties;
:mod:`.threshold` finds θ for a target mean patch length; :mod:`.output` writes BED, TSV,
JSON and bedGraph files.
"""

from .lengths import (
    blt_padded_lengths,
    enforce_length_limits,
    lengths_from_starts,
    merge_short_patches,
    split_long_patches,
    starts_from_lengths,
)
from .mode_table import PATCH_MODES, THRESHOLD_MODES, PatchMode
from .modes import (
    SPACE_LIKE,
    apply_blt_start_quirks,
    blt_tokens,
    byte_lengths,
    dual_start_mask,
    entropy_start_mask,
    greedy_starts,
    monotonic_start_mask,
    space_start_mask,
    static_lengths,
)
from .optimal import optimal_objective, optimal_starts, optimal_starts_dp
from .patcher import (
    BLT_DEFAULT_THRESHOLD,
    BYTE_MODES,
    ENTROPY_MODES,
    MODES,
    PatchConfig,
    Patcher,
    PatchResult,
    patch_lengths,
    search_threshold,
)

__all__ = [
    "BLT_DEFAULT_THRESHOLD",
    "BYTE_MODES",
    "ENTROPY_MODES",
    "MODES",
    "PATCH_MODES",
    "SPACE_LIKE",
    "THRESHOLD_MODES",
    "PatchConfig",
    "PatchMode",
    "PatchResult",
    "Patcher",
    "apply_blt_start_quirks",
    "blt_padded_lengths",
    "blt_tokens",
    "byte_lengths",
    "dual_start_mask",
    "enforce_length_limits",
    "entropy_start_mask",
    "greedy_starts",
    "lengths_from_starts",
    "merge_short_patches",
    "monotonic_start_mask",
    "optimal_objective",
    "optimal_starts",
    "optimal_starts_dp",
    "patch_lengths",
    "search_threshold",
    "space_start_mask",
    "split_long_patches",
    "starts_from_lengths",
    "static_lengths",
]
