"""The repeat expert: held-out bits/byte of every bundled model with and without it, and its cost.

Run: ``python bench/repeats.py [--data ../shared/data] [--threads N] [--grid MODEL]``.

Quality: each bundled model on the held-out last 10% of every record of the files its expert
was fitted on (as in resources/models/README.md), scored by the network alone (the baseline)
and with the expert. Cost: the expert's one pass over bytes of the HS11286 chromosome beside
the `fast` network scoring the same bytes.

``--grid MODEL`` is how each expert's k and miss limit were chosen without touching the
held-out tenth: fit on the first 80% of every record, measure on 80-90%, for each setting.
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
from engine.models.repeats import (
    RepeatConfig,
    copy_predictions,
    fit_weights,
    mixture_surprisal,
)
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


GRIDS = {
    "nucleotide": [(k, m, True) for k in (16, 20, 24) for m in (6, 8, 10, 12)],
    "nucleotide-fast": [(k, m, True) for k in (16, 20, 24) for m in (6, 8, 10, 12)],
    "protein": [(k, 12, False) for k in (6, 8, 12)],
    "text": [(k, 12, False) for k in (5, 6, 7, 8, 12, 16, 20, 24)],
}


def development_grid(model, paths: list[Path], grid: list[tuple[int, int, bool]]) -> None:
    """Fit (R1)'s weights on [0, 80%) of every record, report bits/byte on [80%, 90%)."""
    parts = []  # per record: bytes [0, 90%), the network's p(actual byte), the 80% mark
    for path in paths:
        with open_sequences(path) as sf:
            for record in sf:
                cut, dev = round(record.length * 0.9), round(record.length * 0.8)
                if dev == cut:
                    continue
                s = score(model, record, 0, cut, repeats=False)
                parts.append((record.array(0, cut).copy(), record.length,
                              np.exp(-s.surprisal.astype(np.float64)), dev))
    n_dev = sum(len(d) - dev for d, _, _, dev in parts)
    network = -sum(np.log(p[dev:]).sum() for _, _, p, dev in parts) / n_dev / math.log(2)
    print(f"development split: {n_dev:,} bytes (80-90% of every record); network alone "
          f"{network:.4f} bits/byte\n{'k':>3} {'misses':>7} {'strands':>8} {'bits/byte':>10}")
    for k, misses, both in grid:
        config = RepeatConfig(k=k, max_misses=misses, reverse_complement=both)
        fit_p, fit_hit, fit_state, runs = [], [], [], []
        for data, length, p, dev in parts:
            pred, state = copy_predictions(data, config, length)
            pred, state = pred[: len(data)], state[: len(data)].astype(np.int64)
            hit = pred == data
            spoke = pred >= 0
            early = spoke.copy()
            early[dev:] = False
            fit_p.append(p[early])
            fit_hit.append(hit[early])
            fit_state.append(state[early])
            runs.append((p[dev:], hit[dev:], spoke[dev:], state[dev:]))
        w = fit_weights(np.concatenate(fit_p), np.concatenate(fit_hit),
                        np.concatenate(fit_state))
        total = 0.0
        for p, hit, spoke, state in runs:
            total += mixture_surprisal(p, hit, np.where(spoke, w[state], 0.0)).sum()
        print(f"{k:>3} {misses:>7} {'both' if both else 'forward':>8} "
              f"{total / n_dev / math.log(2):>10.4f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path,
                        default=Path(__file__).resolve().parents[2] / "shared" / "data")
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--grid", choices=sorted(GRIDS),
                        help="choose k and the miss limit for this model on a development split")
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
    if args.grid:
        development_grid(load_model(resolve_model_path(args.grid)), sets[args.grid],
                         GRIDS[args.grid])
        return
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
