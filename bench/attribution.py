"""Attribution cost: saliency, integrated gradients and mutagenesis over a 1 kb context (BOS
and 1,023 bases), for the bundled default and fast nucleotide models, each as a ratio to one
forward pass of the window.

Run: ``python bench/attribution.py [--genome ../shared/data/lambda_phage.fa] [--window 1023]
[--steps 32] [--ism 200] [--repeats 3]``.

The target is the surprisal of the window's last base (the hardest case for a causal target:
every base before it can matter). Each figure is the median of ``--repeats`` runs after one
warm-up run (the first backward in a process pays a one-off cost). Goals (issue 15, on this
2-core CPU): saliency <= 0.3 s, IG-32 <= 5 s, mutagenesis of a 200-base window <= 10 s.
Motif discovery and the dependency map are not built yet.
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
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    threads = set_threads(args.threads)
    with open_sequences(args.genome) as sequences:
        record = sequences[0]
        window = record.array(10_000, 10_000 + args.window).astype(np.uint8)
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
         f"{3 * args.ism} forwards"),
    ]
    for name, fn, note in rows:
        seconds = median_time(fn, args.repeats)
        print(f"| {folder.name} | {name} | {seconds:.3f} s | {seconds / base:.1f} | {note} |")
    delta = integrated_gradients(model, window, target, steps=args.steps).delta
    print(f"| {folder.name} | IG completeness delta | {delta:.2e} | | nats |")

if __name__ == "__main__":
    main()
