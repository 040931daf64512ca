"""How often patch boundaries fall at annotated feature starts, beside chance.

For the anchors ``f_1..f_n`` of a record's features (CDS, tRNA, rRNA by default) on a record of
``L`` bases, and the sorted patch starts ``P`` (``m = |P|``):

    hit_k(f)  = [ min_{p in P} |f - p| <= k ]            observed = mean_f hit_k(f)

Chance is ``m`` boundaries drawn uniformly *without replacement* from the ``L`` positions
``[0, L)`` by a seeded NumPy ``Generator`` (``trials`` independent draws): ``random`` is their
mean fraction, ``random_sd`` its standard deviation over draws. Its exact expectation: the
window ``W_f = [max(0, f - k), min(L - 1, f + k)]`` of ``w_f`` positions holds none of the
``m`` boundaries with probability ``C(L - w_f, m) / C(L, m)`` (hypergeometric), so

    expected = mean_f ( 1 - C(L - w_f, m) / C(L, m) )     (~ 1 - (1 - m/L)^(2k+1) inside)

Which features: those of the types asked for; by default CDS, tRNA and rRNA, or, when the
record has none of those (a BED file's intervals all have type ``region``), every feature but
those covering the whole record (a GenBank ``source``, a GFF3 ``region``: their anchor is the
record's first base, always a patch start) (:func:`choose_features`).

An anchor is the feature's start coordinate (``anchor="start"``: GFF's start, whatever the
strand) or its 5' end (``"five_prime"``: ``start`` on +, ``end`` on -, the boundary before
the first base read on the feature's strand).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from engine.errors import InputError
from engine.io.records import Feature

DEFAULT_TYPES = ("CDS", "tRNA", "rRNA")
ANCHORS = ("start", "five_prime")
DEFAULT_K = 2
DEFAULT_TRIALS = 20
DEFAULT_SEED = 0


def feature_anchors(
    features: Iterable[Feature], *, types: Sequence[str] = DEFAULT_TYPES, anchor: str = "start"
) -> tuple[np.ndarray, np.ndarray]:
    """``(positions, types)`` of the features of the given types, as int64 and str arrays;
    each (position, type) once, so transcripts of one gene that share a start, or the
    one CDS a GTF writes per transcript, count one start (engine/io/hierarchy.py joins a
    CDS's pieces, so a CDS over several exons has one start, not one per exon)."""
    if anchor not in ANCHORS:
        raise InputError(f"unknown anchor {anchor!r} (choose from {', '.join(ANCHORS)})")
    wanted = set(types)
    chosen = [f for f in features if f.type in wanted]
    starts = np.array([f.start for f in chosen], dtype=np.int64)
    if anchor == "five_prime":
        ends = np.array([f.end for f in chosen], dtype=np.int64)
        minus = np.array([f.strand == -1 for f in chosen], dtype=bool)
        starts = np.where(minus, ends, starts)
    kinds = np.array([f.type for f in chosen], dtype=object)
    if len(starts):
        seen = dict.fromkeys(zip(starts.tolist(), kinds.tolist(), strict=True))
        starts = np.array([p for p, _ in seen], dtype=np.int64)
        kinds = np.array([t for _, t in seen], dtype=object)
    return starts, kinds


@dataclass(frozen=True)
class FeatureChoice:
    """The features a comparison uses, their types, and whether that is every feature."""

    features: tuple[Feature, ...]
    types: tuple[str, ...]
    all_features: bool = False  # none of DEFAULT_TYPES: every feature is used


def choose_features(
    features: Iterable[Feature], length: int, types: Sequence[str] | None = None
) -> FeatureChoice:
    """The features of ``types``; with ``types=None`` those of :data:`DEFAULT_TYPES`, else
    (none of them, as in a BED file) every feature not covering all of ``[0, length)``.

    Types asked for by name that no feature has raise InputError naming the types there are.
    No features at all give an empty choice: the caller knows which file to name.
    """
    features = list(features)
    wanted = DEFAULT_TYPES if types is None else tuple(types)
    chosen = tuple(f for f in features if f.type in wanted)
    if chosen or not features:
        return FeatureChoice(chosen, wanted)
    if types is not None:
        there = ", ".join(f"{t} {n}" for t, n in _type_counts(features).items())
        raise InputError(f"no {'/'.join(types)} features on record {features[0].record_id!r} "
                         f"(it has {there})")
    everything = tuple(f for f in features if not (f.start <= 0 and f.end >= length))
    return FeatureChoice(everything, tuple(_type_counts(everything)), all_features=True)


def _type_counts(features: Iterable[Feature]) -> dict[str, int]:
    """Features per type, in order of first appearance."""
    counts: dict[str, int] = {}
    for f in features:
        counts[f.type] = counts.get(f.type, 0) + 1
    return counts


def nearest_distance(positions: np.ndarray, boundaries: np.ndarray) -> np.ndarray:
    """``min_p |f - p|`` for each position ``f``; ``boundaries`` sorted, not empty."""
    i = np.searchsorted(boundaries, positions)
    right = boundaries[np.minimum(i, len(boundaries) - 1)]
    left = boundaries[np.maximum(i - 1, 0)]
    return np.minimum(np.abs(positions - left), np.abs(right - positions))


def within(positions: np.ndarray, boundaries: np.ndarray, k: int) -> np.ndarray:
    """Whether each position lies within ``k`` of a boundary (boundaries sorted)."""
    if len(boundaries) == 0:
        return np.zeros(len(positions), dtype=bool)
    return nearest_distance(positions, boundaries) <= k


def _log_comb(n: int, r: int) -> float:
    return math.lgamma(n + 1) - math.lgamma(r + 1) - math.lgamma(n - r + 1)


def expected_fraction(positions: np.ndarray, length: int, m: int, k: int) -> float:
    """Exact mean over ``positions`` of P(a window of ±k holds one of m uniform boundaries)."""
    if len(positions) == 0:
        return float("nan")
    lo = np.maximum(positions - k, 0)
    hi = np.minimum(positions + k, length - 1)
    w = np.maximum(hi - lo + 1, 0)
    # Few distinct window widths (every interior anchor has 2k + 1): one term per width.
    widths, inverse = np.unique(w, return_inverse=True)
    p_hit = np.array([
        1.0 if length - width < m
        else 1.0 - math.exp(_log_comb(length - width, m) - _log_comb(length, m))
        for width in widths.tolist()
    ])
    return float(p_hit[inverse].mean())


def random_fractions(
    positions: np.ndarray, length: int, m: int, k: int, trials: int, seed: int
) -> np.ndarray:
    """The fraction within ``k`` for ``trials`` draws of ``m`` uniform boundaries."""
    rng = np.random.default_rng(seed)
    out = np.empty(trials, dtype=np.float64)
    for t in range(trials):
        drawn = np.sort(rng.choice(length, size=m, replace=False)) if m else np.zeros(0, int)
        out[t] = within(positions, drawn, k).mean() if len(positions) else np.nan
    return out


@dataclass(frozen=True)
class BoundaryAgreement:
    """Feature anchors within ``k`` of a patch start, observed and by chance."""

    k: int
    length: int
    n_features: int
    n_boundaries: int
    observed: float
    random: float
    random_sd: float
    expected: float
    trials: int
    seed: int
    anchor: str
    types: tuple[str, ...]
    by_type: dict[str, tuple[int, float]] = field(default_factory=dict)  # type -> (n, observed)

    @property
    def enrichment(self) -> float:
        """observed / expected (how many times chance)."""
        return self.observed / self.expected if self.expected > 0 else float("nan")

    def to_dict(self) -> dict[str, Any]:
        def num(x: float) -> float | None:
            return None if math.isnan(x) else round(x, 6)

        return {
            "k": self.k,
            "length": self.length,
            "anchor": self.anchor,
            "types": list(self.types),
            "n_features": self.n_features,
            "n_boundaries": self.n_boundaries,
            "observed": num(self.observed),
            "random": {"mean": num(self.random), "sd": num(self.random_sd),
                       "trials": self.trials, "seed": self.seed,
                       "draw": "uniform without replacement over [0, length)"},
            "expected": num(self.expected),
            "enrichment": num(self.enrichment),
            "by_type": {t: {"n": n, "observed": num(f)} for t, (n, f) in self.by_type.items()},
        }


def boundary_agreement(
    patch_starts: np.ndarray,
    features: Iterable[Feature],
    length: int,
    *,
    k: int = DEFAULT_K,
    types: Sequence[str] = DEFAULT_TYPES,
    anchor: str = "start",
    trials: int = DEFAULT_TRIALS,
    seed: int = DEFAULT_SEED,
) -> BoundaryAgreement:
    """Compare patch starts (record coordinates) with feature anchors (module docstring)."""
    if k < 0:
        raise InputError(f"k must be >= 0, not {k}")
    if trials < 1:
        raise InputError(f"trials must be >= 1, not {trials}")
    if length < 1:
        raise InputError("the record is empty")
    boundaries = np.unique(np.asarray(patch_starts, dtype=np.int64))
    if len(boundaries) and (boundaries[0] < 0 or boundaries[-1] >= length):
        raise InputError(f"patch starts must lie in [0, {length})")
    positions, kinds = feature_anchors(features, types=types, anchor=anchor)
    hits = within(positions, boundaries, k)
    m = len(boundaries)
    draws = random_fractions(positions, length, m, k, trials, seed)
    by_type = {
        t: (int((kinds == t).sum()), float(hits[kinds == t].mean()))
        for t in types if (kinds == t).any()
    }
    return BoundaryAgreement(
        k=k,
        length=length,
        n_features=len(positions),
        n_boundaries=m,
        observed=float(hits.mean()) if len(positions) else float("nan"),
        random=float(draws.mean()),
        random_sd=float(draws.std(ddof=1)) if trials > 1 else 0.0,
        expected=expected_fraction(positions, length, m, k),
        trials=trials,
        seed=seed,
        anchor=anchor,
        types=tuple(types),
        by_type=by_type,
    )
