"""Find the threshold that gives a target mean patch length (``target_patch_size``).

BLT's authors tune θ by hand until the average patch size hits a target (blt.md 2, issue #106);
this does it by a bracketing search, which relies on the patch count never rising with θ:

* threshold modes: a higher θ only removes starts, and splitting at ``max_patch_length`` keeps
  the order (a merged patch never needs more pieces than its two parts did);
* ``greedy`` (entropies >= 0): its count is the fewest patches whose budgets hold, which a
  bigger budget cannot raise;
* ``optimal``: exchanging the optima for θ1 < θ2 gives ``(θ2 - θ1)(count1 - count2) >= 0``.

Merging at ``min_patch_length`` can break the order locally (dropping one start can let a short
neighbour survive), and for ``greedy`` with ``max_patch_length`` it is not proven; the search
still ends, and the result reports the mean it reached. The search returns the threshold whose
mean length ``N / count`` is closest to the target.

* Threshold modes (``entropy``, ``monotonic``, ``dual``) can only change their count at the
  values of their decision statistic, so the search runs over those sorted unique values and,
  where the order holds, is exact: no θ gives a mean closer to the target. The θ reported is
  such a value: every θ in ``[value, next value)`` gives the same patches, and a value from the
  data reproduces them exactly when typed back in.
* ``greedy`` and ``optimal`` change count at sums of entropies, so the search narrows a float
  bracket (regula falsi, safeguarded by halving) until an end has the count nearest the
  target, the ends are one patch apart (no θ can land between them), or the bracket is
  negligible.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

MAX_FLOAT_STEPS = 200  # a bound only: halvings alone reach float64 resolution in ~110
# Below this relative bracket width no count changes inside: entropies are float32 (about 6e-8
# apart near 1 nat) and the counts change at sums of them.
FLOAT_TOLERANCE = 1e-10


class _MeanLength:
    """``N / count(θ)``, memoised: the search asks for some θ twice."""

    def __init__(self, count_at: Callable[[float], int], n_positions: int) -> None:
        self.count_at = count_at
        self.n_positions = n_positions
        self.counts: dict[float, int] = {}

    def count(self, theta: float) -> int:
        if theta not in self.counts:
            self.counts[theta] = self.count_at(theta)
        return self.counts[theta]

    def __call__(self, theta: float) -> float:
        return self.n_positions / self.count(theta)


def _closer(mean: _MeanLength, low: float, high: float, target: float) -> float:
    """Of two thresholds bracketing the target, the one whose mean is nearer (ties: higher)."""
    return low if abs(mean(low) - target) < abs(mean(high) - target) else high


def threshold_over_values(
    count_at: Callable[[float], int], n_positions: int, target: float, values: np.ndarray
) -> float:
    """Exact search over the sorted unique decision values ``values`` (see module docstring).

    Index -1 stands for a θ just below every value (every candidate starts).
    """
    mean = _MeanLength(count_at, n_positions)
    if len(values) == 0:
        return 0.0

    def theta(i: int) -> float:
        return float(np.nextafter(values[0], -np.inf)) if i < 0 else float(values[i])

    low, high = -1, len(values) - 1
    if mean(theta(high)) < target:
        return theta(high)
    if mean(theta(low)) >= target:
        return theta(low)
    # invariant: mean(theta(low)) < target <= mean(theta(high))
    while high - low > 1:
        middle = (low + high) // 2
        if mean(theta(middle)) >= target:
            high = middle
        else:
            low = middle
    return _closer(mean, theta(low), theta(high), target)


def ideal_count(n_positions: int, target: float) -> int:
    """The patch count whose mean length ``N / count`` is nearest the target."""
    low = max(1, math.floor(n_positions / target))
    return min((low, low + 1), key=lambda count: abs(n_positions / count - target))


def threshold_over_floats(
    count_at: Callable[[float], int], n_positions: int, target: float, low: float, high: float
) -> float:
    """Bracketing search for ``greedy``/``optimal``; ``low`` gives the most patches, ``high``
    the fewest.

    Regula falsi on ``mean(θ) - target`` (nearly linear in θ once the bracket is narrow), with
    the Illinois halving so neither end sticks, and a plain halving whenever two steps did not
    halve the bracket: about ten patchings on a genome. The search stops when an end has the
    ideal count, when the ends are one patch apart (no θ lands between), or when the bracket
    is narrower than any count change.
    """
    mean = _MeanLength(count_at, n_positions)
    if mean(high) < target:
        return high
    if mean(low) >= target:
        return low
    best_count = ideal_count(n_positions, target)
    # invariant: mean(low) < target <= mean(high); g_* are (Illinois-scaled) mean - target
    g_low, g_high = mean(low) - target, mean(high) - target
    kept = ""  # the end the last step kept
    widths = [high - low]
    for _ in range(MAX_FLOAT_STEPS):
        count_low, count_high = mean.count(low), mean.count(high)
        if best_count in (count_low, count_high) or count_low - count_high <= 1:
            break
        if high - low <= FLOAT_TOLERANCE * max(1.0, abs(low), abs(high)):
            break
        middle = low - g_low * (high - low) / (g_high - g_low)
        stalled = len(widths) >= 3 and widths[-1] > widths[-3] / 2
        if stalled or not low < middle < high:
            middle = low + (high - low) / 2
            if not low < middle < high:
                break
        g_middle = mean(middle) - target
        if g_middle >= 0:
            high, g_high = middle, g_middle
            if kept == "low":
                g_low /= 2
            kept = "low"
        else:
            low, g_low = middle, g_middle
            if kept == "high":
                g_high /= 2
            kept = "high"
        widths.append(high - low)
    return _closer(mean, low, high, target)
