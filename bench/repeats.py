"""The repeat expert: held-out bits/byte of every bundled model with and without it, and its cost.

Run: ``python bench/repeats.py [--data ../shared/data] [--threads N]``.

Quality: each bundled model on the held-out last 10% of every record of the files its expert
was fitted on (as in resources/models/README.md), scored by the network alone (the baseline)
and with the expert. Cost: the expert's one pass over bytes of the HS11286 chromosome beside
the `fast` network scoring the same bytes.
"""

from __future__ import annotations

import argparse
import math
import sysconfig
import time
from pathlib import Path

import numpy as np
import torch

from engine.io import open_sequences
from engine.models import load_model
from engine.models.defaults import resolve_model_path
from engine.models.repeats import copy_predictions
from engine.scoring import score

STDLIB = Path(sysconfig.get_paths()["stdlib"])
TEXT_MODULES = ("argparse", "typing", "inspect", "subprocess", "pathlib", "dataclasses",
                "difflib")


def held_out_bits(model, paths: list[Path]) -> tuple[int, float, float, float]:
    """(bytes, network bits/byte, with-expert bits/byte, seconds with the expert)."""
    n, plain, mixed, seconds = 0, 0.0, 0.0, 0.0
    for path in paths:
        with open_sequences(path) as sf:
            for record in sf:
                cut = round(record.length * 0.9)
                if cut == record.length:
                    continue
                plain += float(score(model, record, cut, repeats=False).surprisal.sum())
                t0 = time.perf_counter()
                mixed += float(score(model, record, cut).surprisal.sum())
                seconds += time.perf_counter() - t0
                n += record.length - cut
    return n, plain / n / math.log(2), mixed / n / math.log(2), seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path,
                        default=Path(__file__).resolve().parents[2] / "shared" / "data")
    parser.add_argument("--threads", type=int, default=0)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    genome = args.data / "klebsiella_hs11286.fna.xz"
    sets = {
        "nucleotide": [genome],
        "nucleotide-fast": [genome],
        "protein": [args.data / "uniprot_2000.fasta.gz"],
        "text": [args.data / "english_gpl3.txt"] + [STDLIB / f"{m}.py" for m in TEXT_MODULES],
    }
    print(f"{'model':<16} {'held-out bytes':>14} {'network':>9} {'+ repeats':>10} "
          f"{'ratio':>7} {'time':>7}  expert")
    for name, paths in sets.items():
        model = load_model(resolve_model_path(name))
        expert = model.repeats
        n, plain, mixed, seconds = held_out_bits(model, paths)
        what = (f"k {expert.k}, {'both strands' if expert.reverse_complement else 'forward'}"
                if expert else "none")
        print(f"{name:<16} {n:>14,} {plain:>9.4f} {mixed:>10.4f} {mixed / plain:>7.3f} "
              f"{seconds:>6.1f}s  {what}")

    print("\ncost on CP003200.1 (the expert is one pass over the record before the region):")
    fast = load_model(resolve_model_path("fast"))
    with open_sequences(genome) as sf:
        chrom = sf["CP003200.1"]
        data = chrom.array().copy()
        n = 1_000_000
        t0 = time.perf_counter()
        score(fast, chrom, 0, n, repeats=False)
        network = time.perf_counter() - t0
    print(f"{'what':<44} {'bytes':>10} {'time':>8} {'bytes/s':>12} {'vs network':>11}")
    print(f"{'fast network scoring (baseline)':<44} {n:>10,} {network:>7.2f}s "
          f"{n / network:>12,.0f} {1.0:>11.3f}")
    for size in (n, len(data)):
        copy_predictions(data[:1000], fast.repeats)  # compiled (numba cache) before timing
        t0 = time.perf_counter()
        pred, _ = copy_predictions(data[:size], fast.repeats)
        t = time.perf_counter() - t0
        share = float(np.mean(pred >= 0))
        print(f"{f'expert pass (guesses {share:.1%} of bytes)':<44} {size:>10,} {t:>7.2f}s "
              f"{size / t:>12,.0f} {t / network * n / size:>11.3f}")


if __name__ == "__main__":
    main()
