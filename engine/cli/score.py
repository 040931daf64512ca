"""``bytescope score FILE``: next-byte entropy and surprisal of a record, bits per byte."""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np

from engine.atomic import atomic_open, atomic_path, check_writable
from engine.cli.arguments import count, positive_int
from engine.errors import InputError
from engine.io import open_sequences
from engine.io.formats import DEFAULT_MAX_BYTES
from engine.loci import format_locus
from engine.patching.output import write_bedgraph

from .regions import parse_region


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "score",
        help="score a record with a byte model: entropy, surprisal, bits per byte",
        description="Entropy[t] is the model's uncertainty (nats) about byte t+1 after "
        "reading bytes 0..t (BLT's convention); surprisal[t] = -ln p(byte t). Bits per "
        "byte = mean surprisal / ln 2. Regions are 0-based half-open START-END.",
    )
    p.add_argument("file", metavar="FILE")
    p.add_argument("--record", help="record id (default: the first record)")
    p.add_argument("--region", help="START-END, 0-based half-open (default: whole record)")
    p.add_argument("--model", default="default",
                   help="'default' (bundled, by alphabet), a model/checkpoint folder or a run")
    p.add_argument("--out", type=Path,
                   help="X.h5 (entropy + surprisal), X.bedgraph (entropy) or X.npy (entropy)")
    p.add_argument("--no-repeats", action="store_true",
                   help="leave out the model's repeat expert (the network alone)")
    p.add_argument("--context", type=count, help="left context per chunk (default: max_len / 4)")
    p.add_argument("--batch-size", type=positive_int, default=8)
    p.add_argument("--threads", type=positive_int,
                   help="torch threads (default: the cores other processes leave free)")
    p.add_argument("--no-cache", action="store_true", help="do not read or write the cache")
    p.add_argument("--json", action="store_true",
                   help='print {"bits_per_byte", "n", "model", "repeats", "seconds", '
                   '"threads"}')
    p.add_argument("--max-bytes", type=positive_int, default=DEFAULT_MAX_BYTES, metavar="N",
                   help="largest raw-bytes file, and most a compressed file may inflate to "
                        "(default 1 GiB)")
    p.set_defaults(run=run)


def load_for_record(spec: str, alphabet: str):
    """(model, its folder) for ``--model``; errors are ModelError with the path."""
    from engine.models import load_model
    from engine.models.defaults import resolve_model_path

    folder = resolve_model_path(spec, alphabet)
    return load_model(folder), folder


def run(args: argparse.Namespace) -> int:
    from engine.scoring import score_region
    from engine.threads import set_threads

    if args.out is not None and args.out.suffix.lower() not in (".h5", ".bedgraph", ".npy"):
        raise InputError("--out must end in .h5, .bedgraph or .npy", path=args.out)
    if args.out is not None:
        check_writable(args.out)
    threads = set_threads(args.threads)
    start, end = parse_region(args.region)
    with open_sequences(args.file, max_bytes=args.max_bytes) as sf:
        record = sf[args.record] if args.record else sf[0]
        model, folder = load_for_record(args.model, record.alphabet)
        t0 = time.perf_counter()
        scores = score_region(args.file, record, model, folder, start, end,
                              use_cache=not args.no_cache, context=args.context,
                              batch_size=args.batch_size, repeats=not args.no_repeats)
        seconds = time.perf_counter() - t0
    repeats = getattr(model, "repeats", None) is not None and not args.no_repeats
    if args.out is not None:
        write_scores(args.out, scores, str(folder), repeats=repeats)
    n = len(scores)
    if args.json:
        print(json.dumps({"bits_per_byte": scores.bits_per_byte, "n": n, "model": str(folder),
                          "repeats": repeats, "seconds": seconds, "threads": threads}))
    else:
        print(f"{format_locus(record.id, scores.start, scores.end)}  "
              f"{scores.bits_per_byte:.4f} bits/byte  "
              f"mean entropy {scores.entropy.mean() / math.log(2):.4f} bits  "
              f"{n:,} bytes in {seconds:.2f}s ({n / max(seconds, 1e-9):,.0f} bytes/s, "
              f"{threads} thread{'s' if threads > 1 else ''})  "
              f"model {folder}{' + repeat expert' if repeats else ''}", file=sys.stdout)
        if args.out is not None:
            print(f"wrote {args.out}")
    return 0


def write_scores(path: Path, scores, model: str, repeats: bool = False) -> None:
    """Write atomically: .npy entropies, .bedgraph entropies, .h5 both (``entropies``,
    ``surprisal``; what ``bytescope patch --entropies`` reads; ``repeats`` says whether the
    model's repeat expert was mixed in)."""
    suffix = path.suffix.lower()
    if suffix == ".npy":
        with atomic_open(path, "wb") as out:
            np.save(out, scores.entropy)
    elif suffix == ".bedgraph":
        write_bedgraph(path, scores.record_id, scores.entropy, offset=scores.start,
                       track_name=f"{scores.record_id} entropy (nats)")
    else:
        import h5py

        with atomic_path(path) as tmp, h5py.File(tmp, "w") as h5:
            h5.attrs.update(record_id=scores.record_id, start=scores.start, end=scores.end,
                            model=model, repeats=repeats, units="nats",
                            alignment="entropy[t]: about byte t+1 after bytes 0..t; "
                            "surprisal[t]: -ln p(byte t)")
            h5.create_dataset("entropies", data=scores.entropy)  # what `patch` reads
            h5.create_dataset("surprisal", data=scores.surprisal)
