"""Do experts specialise? Patches labelled by annotation, expert shares per label, k-mers.

**Patch labels.** For patch ``[s, e)`` and feature type ``t`` (features of one record,
0-based half-open, strand ignored), ``cov_t = |[s, e) ∩ U_t|`` where ``U_t`` is the union of
that type's features (overlapping features count once), and the intergenic count is
``e - s - |[s, e) ∩ (U_CDS ∪ U_tRNA ∪ U_rRNA)|``. The patch's label is the argmax of
``(cov_CDS, cov_tRNA, cov_rRNA, intergenic)``. Tie rule: the first in that order wins
(the order of ``types``, then intergenic), so a feature type beats intergenic on a tie and
CDS beats tRNA beats rRNA. A base under two types counts for both.

**Shares.** For the patches ``T`` labelled ``t`` and their top-k experts ``S_p``:

    share_i(t) = |{p in T : i in S_p}| / |T|      (sums to k over experts; uniform: k / E)
    ratio_i(t) = share_i(t) / (k / E)             (1 = as often as uniform routing)

that is, the fraction of ``t``-patches that send one of their ``k`` choices to expert ``i``
(OLMoE's domain-specialisation measure). ``share / k`` is ``i``'s fraction of the ``k |T|``
assignments and sums to 1.

**k-mers.** Per expert, the k-mers lying wholly inside the patches whose top-1 expert it is
(none crosses a patch boundary), counted over all such patches; ``fraction`` is the count over
that expert's total number of k-mers.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from engine.errors import InputError
from engine.io.records import Feature

from .routing import validate_top_k

DEFAULT_TYPES = ("CDS", "tRNA", "rRNA")
INTERGENIC = "intergenic"
MAX_KMER = 8  # a base-256 code of 8 bytes fills a uint64
SHARE_NOTE = "fraction of the label's patches with the expert among their top-k"  # in the JSON


def _patches(patch_starts: np.ndarray, patch_ends: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    starts = np.asarray(patch_starts, dtype=np.int64)
    ends = np.asarray(patch_ends, dtype=np.int64)
    if starts.ndim != 1 or starts.shape != ends.shape:
        raise ValueError(f"patch starts {starts.shape} and ends {ends.shape} must be (P,) each")
    if (ends <= starts).any():
        raise InputError("every patch needs end > start")
    return starts, ends


def merge_intervals(starts: np.ndarray, ends: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sorted disjoint ``[s, e)`` covering the same bases as the input (empty ones dropped)."""
    s = np.asarray(starts, dtype=np.int64)
    e = np.asarray(ends, dtype=np.int64)
    keep = e > s
    s, e = s[keep], e[keep]
    order = np.argsort(s, kind="stable")
    s, e = s[order], e[order]
    if len(s) == 0:
        return s, e
    reach = np.maximum.accumulate(e)
    opens = np.ones(len(s), dtype=bool)
    opens[1:] = s[1:] > reach[:-1]  # a gap before this interval starts a new merged one
    first = np.flatnonzero(opens)
    return s[first], np.maximum.reduceat(e, first)


def covered_before(x: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """``|[-inf, x) ∩ U|`` for sorted disjoint intervals ``U``: covered bases left of ``x``."""
    x = np.asarray(x, dtype=np.int64)
    if len(starts) == 0:
        return np.zeros(x.shape, dtype=np.int64)
    before = np.concatenate(([0], np.cumsum(ends - starts)))  # covered bases before interval j
    j = np.searchsorted(starts, x, side="right") - 1  # the last interval starting at <= x
    jj = np.maximum(j, 0)
    inside = np.clip(x - starts[jj], 0, ends[jj] - starts[jj])
    return np.where(j >= 0, before[jj] + inside, 0)


def type_coverage(
    patch_starts: np.ndarray,
    patch_ends: np.ndarray,
    features: Iterable[Feature],
    types: Sequence[str] = DEFAULT_TYPES,
) -> np.ndarray:
    """``(P, T + 1)`` int64: bases of each patch under each type, then intergenic bases."""
    if INTERGENIC in types:
        raise InputError(f"{INTERGENIC!r} is what no feature covers, not a feature type")
    starts, ends = _patches(patch_starts, patch_ends)
    wanted = set(types)
    chosen = [f for f in features if f.type in wanted]
    f_starts = np.array([f.start for f in chosen], dtype=np.int64)
    f_ends = np.array([f.end for f in chosen], dtype=np.int64)
    f_types = np.array([f.type for f in chosen], dtype=object)
    out = np.zeros((len(starts), len(types) + 1), dtype=np.int64)

    def coverage(mask: np.ndarray) -> np.ndarray:
        s, e = merge_intervals(f_starts[mask], f_ends[mask])
        return covered_before(ends, s, e) - covered_before(starts, s, e)

    for column, name in enumerate(types):
        out[:, column] = coverage(f_types == name)
    out[:, -1] = (ends - starts) - coverage(np.ones(len(chosen), dtype=bool))
    return out


def patch_feature_types(
    patch_starts: np.ndarray,
    patch_ends: np.ndarray,
    features: Iterable[Feature],
    types: Sequence[str] = DEFAULT_TYPES,
) -> np.ndarray:
    """Each patch's label: the type covering most of its bases, or ``"intergenic"``.

    Ties go to the first of ``(*types, "intergenic")`` (module docstring). Coordinates are the
    features' (record coordinates, 0-based half-open); returns a ``(P,)`` str array.
    """
    counts = type_coverage(patch_starts, patch_ends, features, types)
    labels = np.array([*types, INTERGENIC])
    return labels[np.argmax(counts, axis=1)]  # argmax takes the first maximum: the tie rule


@dataclass(frozen=True, eq=False)
class ExpertShares:
    """Expert shares per patch label against uniform routing (module docstring)."""

    types: tuple[str, ...]
    k: int
    n_experts: int
    n_patches: np.ndarray  # (T,) int64: patches with each label
    counts: np.ndarray  # (T, E) int64: patches with label t that chose expert i in their top-k

    @property
    def share(self) -> np.ndarray:
        """``(T, E)`` share_i(t) = counts / n_patches; rows sum to k; NaN for absent labels."""
        n = self.n_patches[:, None].astype(np.float64)
        out = np.full(self.counts.shape, np.nan)
        np.divide(self.counts, n, out=out, where=n > 0)
        return out

    @property
    def uniform(self) -> float:
        """``k / E``: every expert's share when routing ignores the label."""
        return self.k / self.n_experts

    @property
    def ratio(self) -> np.ndarray:
        """``(T, E)`` share / (k / E): 1 is uniform, 2 twice as often."""
        return self.share / self.uniform

    def to_dict(self) -> dict[str, Any]:
        def num(x: float) -> float | None:
            return None if math.isnan(x) else round(float(x), 6)

        return {
            "k": self.k,
            "n_experts": self.n_experts,
            "uniform": self.uniform,
            "share": SHARE_NOTE,
            "types": {
                t: {
                    "n_patches": int(self.n_patches[i]),
                    "share": [num(x) for x in self.share[i]],
                    "ratio": [num(x) for x in self.ratio[i]],
                }
                for i, t in enumerate(self.types)
            },
        }


def expert_share_by_type(
    top_k: np.ndarray,
    patch_types: np.ndarray,
    n_experts: int,
    types: Sequence[str] | None = None,
) -> ExpertShares:
    """Count, per label and expert, the patches that chose the expert among their top-k.

    ``top_k`` is ``(P, k)`` (a row names distinct experts); ``types`` fixes the rows' order
    (default: CDS, tRNA, rRNA, intergenic, then any other label found, sorted); patches
    whose label is not in ``types`` are left out.
    """
    choices = validate_top_k(top_k, n_experts)
    labels = np.asarray(patch_types).astype(str).reshape(-1)
    if labels.shape != (choices.shape[0],):
        raise ValueError(f"top_k has {choices.shape[0]} patches but there are {len(labels)} labels")
    if types is None:
        known = (*DEFAULT_TYPES, INTERGENIC)
        types = (*known, *sorted(set(labels.tolist()) - set(known)))
    types = tuple(types)
    row = {t: i for i, t in enumerate(types)}
    label_row = np.array([row.get(t, -1) for t in labels.tolist()], dtype=np.int64)
    kept = label_row >= 0
    k = choices.shape[1]
    hit = np.zeros((choices.shape[0], n_experts), dtype=np.int64)  # (P, E) 0/1 chosen
    hit[np.arange(choices.shape[0])[:, None], choices] = 1
    counts = np.zeros((len(types), n_experts), dtype=np.int64)
    np.add.at(counts, label_row[kept], hit[kept])
    n_patches = np.bincount(label_row[kept], minlength=len(types)).astype(np.int64)
    return ExpertShares(types, k, n_experts, n_patches, counts)


def kmer_codes(sequence: np.ndarray, k: int) -> np.ndarray:
    """``code_i = sum_j seq[i+j] 256^(k-1-j)`` for every start ``i``: uint64, ``(L - k + 1,)``.

    Big-endian base 256, so codes sort as the k-mers do bytewise.
    """
    if not 1 <= k <= MAX_KMER:
        raise InputError(f"k-mer length must lie in [1, {MAX_KMER}], not {k}")
    seq = np.asarray(sequence, dtype=np.uint8)
    n = max(len(seq) - k + 1, 0)
    codes = np.zeros(n, dtype=np.uint64)
    for j in range(k):
        codes = (codes << np.uint64(8)) | seq[j : j + n].astype(np.uint64)
    return codes


def decode_kmer(code: int, k: int) -> str:
    """The k-mer of a :func:`kmer_codes` code, one character per byte (Latin-1)."""
    return int(code).to_bytes(k, "big").decode("latin-1")


def top_kmers_per_expert(
    sequence: np.ndarray,
    patch_starts: np.ndarray,
    patch_ends: np.ndarray,
    top1: np.ndarray,
    n_experts: int,
    k: int = 4,
    top: int = 10,
    *,
    offset: int = 0,
) -> list[list[tuple[str, int, float]]]:
    """Per expert, its ``top`` most frequent k-mers as ``(kmer, count, fraction)``.

    ``sequence[0]`` sits at record position ``offset``; patches are in record coordinates.
    Order: count descending, then k-mer bytewise ascending. Case is kept as given (pass
    upper-cased bytes to merge soft-masked ones). An expert with no k-mers gets ``[]``.
    """
    seq = np.asarray(sequence, dtype=np.uint8)
    starts, ends = _patches(patch_starts, patch_ends)
    starts, ends = starts - offset, ends - offset
    if len(starts) and (starts.min() < 0 or ends.max() > len(seq)):
        raise InputError(f"patches must lie inside the sequence [{offset}, {offset + len(seq)})")
    experts = np.asarray(top1, dtype=np.int64).reshape(-1)
    if experts.shape != starts.shape:
        raise ValueError(f"top1 {experts.shape} must be (P,) for {len(starts)} patches")
    if experts.size and (experts.min() < 0 or experts.max() >= n_experts):
        raise ValueError(f"expert ids must lie in [0, {n_experts})")
    codes = kmer_codes(seq, k)
    per_patch = np.maximum(ends - starts - k + 1, 0)  # k-mers wholly inside each patch
    first = np.repeat(starts, per_patch)
    rank = np.arange(per_patch.sum()) - np.repeat(np.cumsum(per_patch) - per_patch, per_patch)
    positions = first + rank  # (M,) k-mer starts, in sequence coordinates
    owner = np.repeat(experts, per_patch)
    result: list[list[tuple[str, int, float]]] = []
    for expert in range(n_experts):
        mine = codes[positions[owner == expert]]
        if mine.size == 0:
            result.append([])
            continue
        kmers, counts = np.unique(mine, return_counts=True)  # kmers sorted ascending
        order = np.lexsort((kmers, -counts))[:top]
        total = mine.size
        result.append([
            (decode_kmer(kmers[i], k), int(counts[i]), float(counts[i] / total)) for i in order
        ])
    return result
