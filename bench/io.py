"""Sequence I/O figures: first open and reopen of HS11286, random fetches, FASTQ parsing.

Run: ``python bench/io.py [--data ../shared/data]``. Each row gives the time, the throughput
and the ratio to a baseline measured in the same run (plain library calls doing the least the
step must do). Targets (2-core machine): first open <= 2 s, reopen <= 0.2 s, median 10 kb
fetch <= 1 ms, peak RSS < 300 MB.
"""

from __future__ import annotations

import argparse
import gzip
import lzma
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from engine.io import open_sequences


def clock(fn, repeat: int = 1) -> tuple[float, object]:
    best, result = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t0)
    return best, result


def human(seconds: float) -> str:
    if seconds < 1e-3:
        return f"{seconds * 1e6:.1f} us"
    if seconds < 1:
        return f"{seconds * 1e3:.1f} ms"
    return f"{seconds:.2f} s"


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    default = Path(__file__).resolve().parents[2] / "shared" / "data"
    parser.add_argument("--data", type=Path, default=default)
    parser.add_argument("--fetches", type=int, default=1000)
    args = parser.parse_args()
    genome = args.data / "klebsiella_hs11286.fna.xz"
    reads = args.data / "lambda_reads_1.fq.gz"
    if not genome.exists():
        sys.exit(f"{genome} not found: pass --data pointing at shared/data")

    os.environ["BYTESCOPE_CACHE_DIR"] = tempfile.mkdtemp(prefix="bytescope-bench-")
    rows = []
    mb = 5_682_322 / 1e6

    base_t, text = clock(lambda: lzma.decompress(genome.read_bytes()))
    t, sf = clock(lambda: open_sequences(genome))
    n = sum(r.length for r in sf)
    sf.close()
    rows.append(("first open (xz decompress + index)", f"{n:,} bp", t, mb / t,
                 "lzma.decompress only", base_t))

    first_t = t
    t, sf = clock(lambda: open_sequences(genome), repeat=5)
    rows.append(("reopen (hash + .fai)", f"{n:,} bp", t, mb / t, "first open", first_t))

    chrom = sf["CP003200.1"]
    rng = np.random.default_rng(0)
    starts = rng.integers(0, chrom.length - 10_000, args.fetches)
    times = []
    for s in starts.tolist():
        t0 = time.perf_counter()
        chrom.fetch(s, s + 10_000)
        times.append(time.perf_counter() - t0)
    in_memory = text  # decompressed FASTA bytes: slice + strip newlines, the floor for a fetch
    base = []
    for s in starts.tolist():
        t0 = time.perf_counter()
        in_memory[s : s + 10_170].replace(b"\n", b"")
        base.append(time.perf_counter() - t0)
    med = statistics.median(times)
    rows.append((f"random 10 kb fetch (median of {args.fetches})", "10,000 bp", med,
                 0.01 / med, "bytes slice in RAM", statistics.median(base)))
    p99 = float(np.percentile(times, 99))
    rows.append(("random 10 kb fetch (p99)", "10,000 bp", p99, 0.01 / p99,
                 "bytes slice in RAM", float(np.percentile(base, 99))))
    sf.close()

    if reads.exists():
        import dnaio

        def dnaio_only():
            with dnaio.open(reads) as f:
                return sum(1 for _ in f)

        base_t, n_reads = clock(dnaio_only, repeat=3)
        t, fq = clock(lambda: open_sequences(reads), repeat=3)
        size = gzip.open(reads).read().__len__() / 1e6
        rows.append((f"FASTQ parse ({len(fq):,} reads)", f"{size:.1f} MB", t, size / t,
                     "dnaio iteration only", base_t))
        assert len(fq) == n_reads
        fq.close()

    print(f"{'what':<40} {'size':>14} {'time':>10} {'MB/s':>8}  {'baseline':<22}"
          f" {'base time':>10} {'ratio':>6}")
    for what, size, t, tput, bname, bt in rows:
        print(f"{what:<40} {size:>14} {human(t):>10} {tput:>8.1f}  {bname:<22}"
              f" {human(bt):>10} {t / bt:>6.2f}")
    print(f"peak RSS: {peak_rss_mb():.0f} MB (whole process, numpy and h5py imported)")


if __name__ == "__main__":
    main()
