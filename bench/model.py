"""Model quality and scoring speed on the held-out tenth of the HS11286 chromosome.

Run: ``python bench/model.py [--model default] [--data ../shared/data]``.

Quality: bits per base on the last 10% of CP003200.1 (533,395 bases), the model conditioned on
everything before (as xz is), beside baselines computed here from the same first 90%: order-k
Markov models (k = 1..12, add-1/2 smoothing) and xz -9e. Speed: scoring throughput of the model
over 1 Mbp of the chromosome, whole process, as ``bytescope score`` runs it. A model with a
fitted repeat expert (``repeats.json``) is measured with it and, as the baseline, without it.
"""

from __future__ import annotations

import argparse
import itertools
import lzma
import math
import resource
import time
from pathlib import Path

import numpy as np
import torch

from engine.io import open_sequences
from engine.models import load_model
from engine.models.defaults import resolve_model_path
from engine.scoring import copy_guesses, score

CHROM = "CP003200.1"


def markov_bits(train: np.ndarray, test: np.ndarray, k: int) -> float:
    """Bits per base of an order-k Markov model with add-1/2 smoothing on ACGT.

    Positions whose k-mer context or target is not ACGT are coded at 2 bits (uniform), which
    counts them in the mean as the model does (there is one N in this chromosome).
    """
    code = np.full(256, 4, dtype=np.int64)
    for i, b in enumerate(b"ACGT"):
        code[b] = code[b + 32] = i

    def windows(seq: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        c = code[seq]
        n = len(c) - k
        index = np.zeros(n, dtype=np.int64)
        bad = np.zeros(n, dtype=bool)
        for j in range(k + 1):  # (k+1)-mer as a base-4 number, vectorised per offset
            col = c[j : j + n]
            bad |= col == 4
            index = index * 4 + np.minimum(col, 3)
        return index, bad

    idx, bad = windows(train)
    counts = np.bincount(idx[~bad], minlength=4 ** (k + 1)).astype(np.float64)
    counts = counts.reshape(-1, 4)
    probs = (counts + 0.5) / (counts.sum(1, keepdims=True) + 2.0)
    # test: context from the tail of train, so every test base has k bases before it
    joined = np.concatenate([train[-k:], test]) if k else test
    tidx, tbad = windows(joined)
    p = probs.reshape(-1)[np.where(tbad, 0, tidx)]
    bits = np.where(tbad, 2.0, -np.log2(p))
    return float(bits.mean())


def xz_bits(train: bytes, test: bytes) -> float:
    """Bits per base that xz -9e spends on ``test`` after having seen ``train``."""
    preset = 9 | lzma.PRESET_EXTREME
    both = len(lzma.compress(train + test, preset=preset))
    alone = len(lzma.compress(train, preset=preset))
    return (both - alone) * 8 / len(test)


def profile(spec: str, data: Path, batch: int = 8, repeats: int = 5) -> None:
    """Where one scoring batch (``batch`` windows of max_len bytes, as ``score`` runs them)
    spends its time: torch.profiler's table by op, then the forward, the log-softmax and the
    entropy timed apart (median of ``repeats``)."""
    import torch.nn.functional as F
    from torch.profiler import ProfilerActivity
    from torch.profiler import profile as torch_profile

    model = load_model(resolve_model_path(spec, "dna"))
    with open_sequences(data / "klebsiella_hs11286.fna.xz") as sf:
        seq = sf[CHROM].array(0, batch * model.max_len).astype(np.int64)
    tokens = torch.from_numpy(seq.reshape(batch, model.max_len))

    def step() -> torch.Tensor:
        logp = F.log_softmax(model(tokens).float(), dim=-1)
        return -(logp.exp() * logp).sum(-1)

    with torch.inference_mode():
        step()  # first-call costs
        with torch_profile(activities=[ProfilerActivity.CPU]) as prof:
            step()
        print(f"{spec}: one batch of {batch} x {model.max_len} tokens, "
              f"{torch.get_num_threads()} threads")
        print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=18))

        def median(fn) -> float:
            times = []
            for _ in range(repeats):
                t0 = time.perf_counter()
                fn()
                times.append(time.perf_counter() - t0)
            return sorted(times)[len(times) // 2]

        logits = model(tokens).float()
        forward = median(lambda: model(tokens))
        from engine.scoring import compile_for_scoring

        compiled = compile_for_scoring(model)
        t0 = time.perf_counter()
        drift = float((compiled(tokens).float() - logits).abs().max())
        compile_s = time.perf_counter() - t0
        fused = median(lambda: compiled(tokens))
        softmax = median(lambda: F.log_softmax(logits, dim=-1))
        logp = F.log_softmax(logits, dim=-1)
        entropy = median(lambda: -(logp.exp() * logp).sum(-1))
    n = batch * model.max_len
    print(f"{'step':<22} {'time':>9} {'tokens/s':>12}")
    for name, t in (("forward", forward), ("log_softmax", softmax), ("entropy", entropy),
                    ("all", forward + softmax + entropy),
                    ("forward, --compile", fused)):
        print(f"{name:<22} {t * 1e3:>7.1f}ms {n / t:>12,.0f}")
    print(f"--compile: {forward / fused:.2f}x the eager forward; compiling took {compile_s:.0f} s;"
          f" max |logit difference| {drift:.1e}")
    print()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path,
                        default=Path(__file__).resolve().parents[2] / "shared" / "data")
    parser.add_argument("--model", action="append", default=None,
                        help="model(s) to measure (default: 'default'); repeatable")
    parser.add_argument("--max-k", type=int, default=12)
    parser.add_argument("--speed-bytes", type=int, default=1_000_000)
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--context-fractions", type=float, nargs="+", default=[0.25],
                        help="left context per chunk as fractions of max_len (default: the "
                        "scorer's 0.25; e.g. 0.25 0.5 to compare)")
    parser.add_argument("--profile", action="store_true",
                        help="only profile one scoring batch of each model by op "
                        "(torch.profiler) and time its steps")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    models = args.model or ["default"]
    if args.profile:
        for spec in models:
            profile(spec, args.data)
        return

    with open_sequences(args.data / "klebsiella_hs11286.fna.xz") as sf:
        chrom = sf[CHROM]
        seq = chrom.array(upper=True).copy()
        cut = round(chrom.length * 0.9)
        train, test = seq[:cut], seq[cut:]
        print(f"{CHROM}: {chrom.length:,} bases; train {cut:,}, held-out {len(test):,}\n")

        rows = []
        notes = []
        for spec in models:
            folder = resolve_model_path(spec, "dna")
            model = load_model(folder)
            params = sum(p.numel() for p in model.parameters())
            variants = [False, True] if getattr(model, "repeats", None) is not None else [False]
            for fraction, repeats in itertools.product(args.context_fractions, variants):
                context = int(model.max_len * fraction)
                t0 = time.perf_counter()
                s = score(model, chrom, cut, chrom.length, batch_size=8, context=context,
                          repeats=repeats)
                held_t = time.perf_counter() - t0
                n_speed = min(args.speed_bytes, chrom.length)
                t0 = time.perf_counter()
                score(model, chrom, 0, n_speed, batch_size=8, context=context, repeats=repeats)
                speed_t = time.perf_counter() - t0
                name = f"{spec} ({folder.name}, {params / 1e6:.2f}M, ctx {context})"
                name += " + repeats" if repeats else (", network only" if len(variants) > 1
                                                       else "")
                rows.append((name, s.bits_per_byte, held_t, n_speed / speed_t))
            if len(variants) > 1:
                pred = copy_guesses(model.repeats, chrom).pred[cut : chrom.length]
                spoke = pred >= 0
                right = np.mean(pred[spoke] == chrom.array(cut, chrom.length)[spoke])
                notes.append(f"{spec}: the repeat expert guesses {spoke.mean():.1%} of the "
                             f"held-out bases, {right:.1%} of those right")

        t0 = time.perf_counter()
        markov = {k: markov_bits(train, test, k) for k in range(1, args.max_k + 1)}
        markov_t = time.perf_counter() - t0
        best_k = min(markov, key=markov.get)
        t0 = time.perf_counter()
        xz = xz_bits(train.tobytes(), test.tobytes())
        xz_t = time.perf_counter() - t0

    print(f"{'what':<64} {'bits/base':>9} {'time':>9} {'vs best Markov':>15}")
    for name, bits, t, _ in rows:
        print(f"{name:<64} {bits:>9.4f} {t:>8.1f}s {bits / markov[best_k]:>15.3f}")
    print(f"{f'order-{best_k} Markov (best of k=1..{args.max_k})':<64} "
          f"{markov[best_k]:>9.4f} {markov_t:>8.1f}s {1.0:>15.3f}")
    for k in (4, 7, 10):
        if k in markov:
            print(f"{f'  order-{k} Markov':<64} {markov[k]:>9.4f}")
    print(f"{'xz -9e conditioned on the first 90%':<64} {xz:>9.4f} {xz_t:>8.1f}s "
          f"{xz / markov[best_k]:>15.3f}")
    for note in notes:
        print(note)
    print(f"\nscoring throughput ({args.speed_bytes:,} bases of {CHROM}, whole process, "
          f"{torch.get_num_threads()} threads):")
    for name, _, _, bps in rows:
        print(f"  {name:<64} {bps:>10,.0f} bytes/s  (5.7 Mbp in {5_682_322 / bps:,.0f} s)")
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB; "
          f"ln 2 = {math.log(2):.4f}")


if __name__ == "__main__":
    main()
