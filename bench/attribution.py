"""Attribution cost: saliency, integrated gradients, mutagenesis and a dependency map over a
1 kb context (BOS and 1,023 bases), and motif discovery over many windows, for the bundled
default and fast nucleotide models, each as a ratio to one forward pass of the window.

Run: ``python bench/attribution.py [--genome ../shared/data/lambda_phage.fa] [--window 1023]
[--steps 32] [--ism 200] [--dependency 512] [--motif-windows 1000] [--repeats 3]``.

The target is the surprisal of the window's last base (the hardest case for a causal target:
every base before it can matter). Each figure is the median of ``--repeats`` runs after one
warm-up run (the first backward in a process pays a one-off cost); the dependency map and
motif discovery are timed once. Motif discovery: ``--motif-windows`` random windows of 100
bases of the genome, each read with 256 bases of context, saliency of its log-likelihood,
seqlets, motifs. Goals (issue 15, on this 2-core CPU): saliency <= 0.3 s, IG-32 <= 5 s,
mutagenesis of a 200-base window <= 10 s, motifs over 1,000 windows <= 60 s.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from engine.analysis.attribution import (  # noqa: E402
    Target,
    integrated_gradients,
    log_probs,
    mutagenesis,
    one_hot,
    saliency,
)
from engine.analysis.dependency import dependency_map  # noqa: E402
from engine.analysis.discovery import discover  # noqa: E402
from engine.analysis.windows import random_windows  # noqa: E402
from engine.io import open_sequences  # noqa: E402
from engine.models import load_model  # noqa: E402
from engine.models.defaults import resolve_model_path  # noqa: E402
from engine.resources import sample_path  # noqa: E402
from engine.threads import set_threads  # noqa: E402


def median_time(fn, repeats: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--genome", default=str(sample_path("lambda_phage.fa")))
    parser.add_argument("--window", type=int, default=1023, help="bytes (with BOS: 1 kb)")
    parser.add_argument("--steps", type=int, default=32)
    parser.add_argument("--ism", type=int, default=200, help="bases mutated before the target")
    parser.add_argument("--dependency", type=int, default=512, help="bases of the map")
    parser.add_argument("--motif-windows", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    threads = set_threads(args.threads)
    with open_sequences(args.genome) as sequences:
        record = sequences[0]
        window = record.array(10_000, 10_000 + args.window).astype(np.uint8)
        args.records = {r.id: r for r in sequences}
        run_all(args, window, threads)


def run_all(args, window: np.ndarray, threads: int) -> None:
    target = Target("surprisal", args.window - 1)
    print(f"attribution of the surprisal at base {args.window - 1:,} of a {args.window:,}-base "
          f"window of {Path(args.genome).name}; {threads} threads; median of {args.repeats}")
    print()
    print("| model | method | time | ratio to one forward | note |")
    print("|---|---|---|---|---|")
    for spec in ("default", "fast"):
        bench_model(spec, window, target, args)


def bench_model(spec: str, window: np.ndarray, target: Target, args) -> None:
    folder = resolve_model_path(spec, "dna")
    model = load_model(folder).eval()
    x = one_hot(window, b"ACGT")[None]

    def forward():
        with torch.no_grad():
            log_probs(model, x, b"ACGT")

    base = median_time(forward, args.repeats)
    print(f"| {folder.name} | forward | {base:.3f} s | 1.0 | the window, no gradients |")
    last = args.window - 1
    rows = [
        ("saliency", lambda: saliency(model, window, target), ""),
        (f"IG-{args.steps}",
         lambda: integrated_gradients(model, window, target, steps=args.steps), ""),
        (f"ISM, {args.ism} bases x 3",
         lambda: mutagenesis(model, window, target, positions=(last - args.ism, last)),
         f"{3 * args.ism} mutants, suffix runs (S1) where the model allows"),
        (f"ISM, {args.ism} bases x 3, full forwards",
         lambda: mutagenesis(model, window, target, positions=(last - args.ism, last),
                             suffix=False), f"{3 * args.ism} forwards: the baseline"),
    ]
    for name, fn, note in rows:
        seconds = median_time(fn, args.repeats)
        print(f"| {folder.name} | {name} | {seconds:.3f} s | {seconds / base:.1f} | {note} |")
    delta = integrated_gradients(model, window, target, steps=args.steps).delta
    print(f"| {folder.name} | IG completeness delta | {delta:.2e} | | nats |")
    n = len(window)
    t = time.perf_counter()
    dependency_map(model, window, n - args.dependency, n)
    seconds = time.perf_counter() - t
    print(f"| {folder.name} | dependency map, {args.dependency} x {args.dependency} | "
          f"{seconds:.1f} s | {seconds / base:.0f} | {3 * args.dependency} forwards |")
    lengths = {r.id: r.length for r in args.records.values()}
    windows = random_windows(lengths, args.motif_windows, 100, seed=0)
    t = time.perf_counter()
    found = discover(model, args.records, windows, context=256)
    seconds = time.perf_counter() - t
    steps = ", ".join(f"{k} {v:.1f} s" for k, v in found.seconds.items())
    print(f"| {folder.name} | motifs, {len(windows):,} windows of 100 + 256 context | "
          f"{seconds:.1f} s | {seconds / base:.0f} | {len(found.seqlets):,} seqlets, "
          f"{len(found.motifs)} motifs; {steps} |")

if __name__ == "__main__":
    main()
