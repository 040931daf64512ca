"""``bytescope fit-repeats MODEL FILE...``: fit a model's repeat (copy) expert on files."""

from __future__ import annotations

import argparse
import json
import sys
import time
from contextlib import ExitStack

from engine.cli.arguments import positive_int
from engine.errors import InputError
from engine.io import open_sequences
from engine.io.formats import DEFAULT_MAX_BYTES


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "fit-repeats",
        help="fit a model's repeat expert (long-range copies) and save it beside the weights",
        description="The repeat expert predicts the next byte from an earlier copy (or, for "
        "nucleotides, reverse complement) of the last K bytes anywhere before in the record; "
        "its guesses are mixed into the model's distribution with weights fitted here, on the "
        "first 90% of every record (the held-out 10% is never read). Writes MODEL/repeats.json, "
        "which `score`, `patch` and the window then use; --no-repeats leaves it out.",
    )
    p.add_argument("model", metavar="MODEL",
                   help="a model folder, or a bundled name (nucleotide, nucleotide-fast, ...)")
    p.add_argument("files", nargs="+", metavar="FILE", help="data to fit on (its first 90%%)")
    p.add_argument("--k", type=int, default=20, help="bytes that must match (default 20)")
    p.add_argument("--max-misses", type=int, default=12, metavar="M",
                   help="drop an alignment when more than M of its last 16 guesses miss "
                   "(default 12)")
    p.add_argument("--no-reverse-complement", action="store_true",
                   help="forward copies only (text, proteins)")
    p.add_argument("--threads", type=positive_int,
                   help="torch threads (default: the cores other processes leave free)")
    p.add_argument("--json", action="store_true", help="print the fit's summary as JSON")
    p.add_argument("--max-bytes", type=positive_int, default=DEFAULT_MAX_BYTES, metavar="N",
                   help="largest raw-bytes file, and most a compressed file may inflate to "
                        "(default 1 GiB)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from engine.models import load_model
    from engine.models.defaults import resolve_model_path
    from engine.models.repeats import RepeatConfig, save_repeats
    from engine.threads import set_threads
    from engine.train.repeats import fit_repeat_expert

    if not 1 <= args.k <= 64:
        raise InputError(f"--k must be in 1..64, got {args.k}")
    if not 0 <= args.max_misses <= 16:
        raise InputError(f"--max-misses must be in 0..16, got {args.max_misses}")
    set_threads(args.threads)
    folder = resolve_model_path(args.model)
    model = load_model(folder)
    config = RepeatConfig(k=args.k, max_misses=args.max_misses,
                          reverse_complement=not args.no_reverse_complement)
    def progress(done: int, total: int) -> None:
        if sys.stderr.isatty():
            print(f"\rscoring the training part: {done:,} / {total:,} bytes", end="",
                  file=sys.stderr, flush=True)

    t0 = time.perf_counter()
    with ExitStack() as files:
        opened = [files.enter_context(open_sequences(path, max_bytes=args.max_bytes))
                  for path in args.files]
        records = [record for sf in opened for record in sf]
        fit = fit_repeat_expert(model, records, config, progress=progress)
    if sys.stderr.isatty():
        print(file=sys.stderr)
    path = save_repeats(fit.config, folder)
    seconds = time.perf_counter() - t0
    summary = {"model": str(folder), "repeats": str(path), "n": fit.n, "spoken": fit.spoken,
               "hits": fit.hits, "bits_per_byte_model": fit.bits_model,
               "bits_per_byte_mixed": fit.bits_mixed, "seconds": seconds}
    if args.json:
        print(json.dumps(summary))
    else:
        share = fit.spoken / max(fit.n, 1)
        accuracy = fit.hits / max(fit.spoken, 1)
        print(f"fitted on {fit.n:,} training bytes of {len(records)} record(s) in {seconds:.1f}s: "
              f"the expert guessed {share:.1%} of them, {accuracy:.1%} right; "
              f"{fit.bits_model:.4f} -> {fit.bits_mixed:.4f} bits/byte there")
        print(f"wrote {path}")
    return 0
