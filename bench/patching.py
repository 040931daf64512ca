"""Patcher figures: every mode on a 5.7-million-value entropy array (HS11286-sized).

Run: ``python bench/patching.py [--n 5682322] [--repeats 5]``. Each row times
``Patcher(config).patch(values)`` (input checks included) and gives the median of the repeats,
the throughput in MB/s (1 value = 1 byte, so values/s / 1e6), and the ratio to a one-line NumPy
threshold rule, ``np.flatnonzero(H[:-1] > t) + 1``, timed in the same run. Every entropy mode
gets the threshold that makes its mean patch length 4.5 on these entropies (found once, not
timed), so the modes cut comparable patches. A last table gives the numba kernels' first-call
cost: compiled from scratch (empty cache) and loaded from numba's on-disk cache.

Targets (2-core machine): entropy, monotonic, dual, static >= 200 MB/s; greedy and the
length-limited variants >= 20 MB/s; optimal (max_patch_length 16) >= 5 MB/s.

The entropies are synthetic but shaped like a model's on a genome: regimes of geometric length
(mean 400 bytes) with their own mean entropy (gamma-distributed around 1.3 nats: genes,
repeats, low-complexity stretches), gamma noise within a regime, clipped to [0, ln 256],
float32. Space/static/byte modes patch synthetic text of the same length.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from engine.patching import PatchConfig, Patcher

HS11286_LENGTH = 5_682_322
TARGET = 4.5


def synthetic_entropies(n: int, seed: int) -> np.ndarray:
    """Regime-structured gamma entropies in nats (see module docstring), float32."""
    rng = np.random.default_rng(seed)
    regime_lengths = rng.geometric(1 / 400, size=n // 100 + 10)
    regime_lengths = regime_lengths[: np.searchsorted(np.cumsum(regime_lengths), n) + 1]
    regime_means = rng.gamma(6.0, 1.3 / 6.0, size=len(regime_lengths))
    means = np.repeat(regime_means, regime_lengths)[:n]
    shape = 2.0
    H = rng.gamma(shape, 1.0, size=n) * (means / shape)
    return np.clip(H, 0.0, np.log(256)).astype(np.float32)


def synthetic_text(n: int, seed: int) -> np.ndarray:
    """Letters with a space or punctuation about every sixth byte, as uint8."""
    rng = np.random.default_rng(seed + 1)
    alphabet = np.frombuffer(b"etaoinshrdlucmfwypvbgkqjxz ,.\n", dtype=np.uint8)
    weights = np.concatenate((np.linspace(2.0, 0.2, 26), [5.0, 0.4, 0.4, 0.2]))
    return rng.choice(alphabet, size=n, p=weights / weights.sum())


def median_time(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


# (label, settings); entropy modes get a threshold for mean length TARGET
ROWS: list[tuple[str, dict]] = [
    ("static (patch_size 4)", {"mode": "static", "patch_size": 4}),
    ("byte", {"mode": "byte"}),
    ("space", {"mode": "space"}),
    ("entropy", {"mode": "entropy"}),
    ("monotonic", {"mode": "monotonic"}),
    ("dual (threshold_add 0)", {"mode": "dual", "threshold_add": 0.0}),
    ("greedy", {"mode": "greedy"}),
    ("entropy, max 16", {"mode": "entropy", "max_patch_length": 16}),
    ("entropy, min 2, max 16", {"mode": "entropy", "min_patch_length": 2, "max_patch_length": 16}),
    ("monotonic, min 2, max 16",
     {"mode": "monotonic", "min_patch_length": 2, "max_patch_length": 16}),
    ("greedy, max 16", {"mode": "greedy", "max_patch_length": 16}),
    ("optimal, max 16", {"mode": "optimal", "max_patch_length": 16}),
    ("optimal, min 2, max 16", {"mode": "optimal", "min_patch_length": 2, "max_patch_length": 16}),
    ("blt_compat entropy (fp32 cast)", {"mode": "entropy", "blt_compat": True}),
]

SEARCHES: list[tuple[str, dict]] = [
    ("target 4.5: entropy", {"mode": "entropy"}),
    ("target 4.5: greedy", {"mode": "greedy"}),
    ("target 4.5: optimal, max 16", {"mode": "optimal", "max_patch_length": 16}),
]

JIT_PROBE = """
import time, numpy as np
t0 = time.perf_counter()
from engine.patching import greedy_starts, merge_short_patches, split_long_patches
from engine.patching import optimal_starts_dp
t1 = time.perf_counter()
H = np.ones(64, dtype=np.float32); g = np.ones(64); s = np.arange(0, 64, 3, dtype=np.int64)
rows = []
for name, call in [
    ("greedy_starts", lambda: greedy_starts(H, 2.0, 64, 0)),
    ("merge_short_patches", lambda: merge_short_patches(s, 64, 2)),
    ("split_long_patches", lambda: split_long_patches(np.diff(s, append=64), 2, 1)),
    ("optimal_starts_dp", lambda: optimal_starts_dp(g, 1, 16)),
]:
    t = time.perf_counter(); call(); rows.append((name, time.perf_counter() - t))
print("import_engine.patching", t1 - t0)
for name, seconds in rows:
    print(name, seconds)
"""


def jit_first_calls(cache_dir: str) -> dict[str, float]:
    """First-call seconds of each kernel in a fresh interpreter using ``cache_dir``."""
    env = {**os.environ, "NUMBA_CACHE_DIR": cache_dir}
    out = subprocess.run(
        [sys.executable, "-c", JIT_PROBE], env=env, check=True, capture_output=True, text=True,
        cwd=Path(__file__).resolve().parents[1],
    ).stdout
    return {name: float(value) for name, value in (line.split() for line in out.splitlines())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=HS11286_LENGTH)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--seed", type=int, default=11286)
    parser.add_argument("--no-jit", action="store_true", help="skip the JIT first-call table")
    args = parser.parse_args()

    H = synthetic_entropies(args.n, args.seed)
    text = synthetic_text(args.n, args.seed)
    n = args.n
    print(f"{n:,} values (float32), median of {args.repeats}; MB/s = values/s / 1e6 "
          f"(1 value = 1 byte); {os.cpu_count()} CPUs; numpy {np.__version__}")

    base_threshold = Patcher(PatchConfig(mode="entropy", target_patch_size=TARGET)).patch(H)
    t = H.dtype.type(base_threshold.threshold)
    baseline = median_time(lambda: np.flatnonzero(H[:-1] > t) + 1, args.repeats)

    header = f"{'mode':32} {'median ms':>10} {'MB/s':>8} {'x one-liner':>12} {'mean len':>9}"
    print()
    print(header)
    print("-" * len(header))
    print(f"{'numpy one-liner H[:-1] > t':32} {baseline * 1e3:10.1f} {n / baseline / 1e6:8.0f} "
          f"{1.0:12.1f} {'':>9}")

    for label, settings in ROWS:
        config = PatchConfig(**settings)
        values = H if config.needs_entropies else text
        if config.needs_entropies:
            found = Patcher(PatchConfig(**settings, target_patch_size=TARGET)).patch(H)
            config = PatchConfig(**settings, threshold=found.threshold)
        patcher = Patcher(config)
        result = patcher.patch(values)  # warm-up: JIT load, page faults
        seconds = median_time(lambda p=patcher, v=values: p.patch(v), args.repeats)
        print(f"{label:32} {seconds * 1e3:10.1f} {n / seconds / 1e6:8.1f} "
              f"{seconds / baseline:12.1f} {result.mean_length:9.2f}")

    print()
    print(f"{'threshold search':32} {'median ms':>10} {'MB/s':>8} {'x one-liner':>12} "
          f"{'mean len':>9}")
    for label, settings in SEARCHES:
        patcher = Patcher(PatchConfig(**settings, target_patch_size=TARGET))
        result = patcher.patch(H)
        repeats = max(1, min(args.repeats, 3))
        seconds = median_time(lambda p=patcher: p.patch(H), repeats)
        print(f"{label:32} {seconds * 1e3:10.1f} {n / seconds / 1e6:8.1f} "
              f"{seconds / baseline:12.1f} {result.mean_length:9.3f}")

    if args.no_jit:
        return
    with tempfile.TemporaryDirectory(prefix="bytescope-numba-") as cache_dir:
        cold = jit_first_calls(cache_dir)
        warm = jit_first_calls(cache_dir)
    print()
    print(f"{'numba first call (fresh process)':32} {'compile s':>10} {'cached s':>10}")
    for name in cold:
        print(f"{name:32} {cold[name]:10.3f} {warm[name]:10.3f}")
    print("(the first kernel called also pays numba's own start-up; 'cached' = numba's on-disk\n"
          " cache, which cache=True fills on the first run after install or an edit)")


if __name__ == "__main__":
    main()
