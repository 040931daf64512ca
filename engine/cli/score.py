"""``bytescope score FILE...``: next-byte entropy and surprisal of every record, bits per byte.

The work itself is engine/score (also ``torchrun -m engine.score``); this module holds the
options, which both read.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from engine.cli.arguments import count, positive_int
from engine.io.formats import DEFAULT_MAX_BYTES

from .regions import parse_region


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "score",
        help="score records with a byte model: entropy, surprisal, bits per byte",
        description="Entropy[t] is the model's uncertainty (nats) about byte t+1 after "
        "reading bytes 0..t (BLT's convention); surprisal[t] = -ln p(byte t). Bits per "
        "byte = mean surprisal / ln 2. Every record of every FILE is scored unless --record "
        "names one; short records share batches. Regions are 0-based half-open START-END. "
        "Spread over processes with --workers N, or over machines with torchrun "
        "--nnodes ... -m engine.score (the same options).",
    )
    p.add_argument("files", metavar="FILE", nargs="+")
    p.add_argument("--record", help="record id (default: every record of every FILE)")
    p.add_argument("--region", help="START-END, 0-based half-open, of --record (or of the "
                   "only record)")
    p.add_argument("--model", default="default",
                   help="'default' (bundled, by alphabet), a model/checkpoint folder or a run")
    p.add_argument("--out", type=Path,
                   help="X.h5 (entropy + surprisal of every record), X.bw (entropy of every "
                   "record as bigWig: the bigwig extra), or for one record X.bedgraph or "
                   "X.npy (entropy)")
    p.add_argument("--no-repeats", action="store_true",
                   help="leave out the model's repeat expert (the network alone)")
    p.add_argument("--context", type=count, help="left context per chunk (default: max_len / 4)")
    p.add_argument("--batch-size", type=positive_int, default=8)
    p.add_argument("--threads", type=positive_int,
                   help="torch threads per process (default: the cores other processes leave "
                   "free, shared among the workers)")
    p.add_argument("--workers", type=positive_int, default=1,
                   help="scoring processes on this machine (the code path torchrun uses)")
    p.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda", "mps"),
                   help="where the model runs (auto: a GPU when there is one)")
    p.add_argument("--compile", action="store_true",
                   help="torch.compile the model first (tens of seconds, then about 1.5x "
                   "faster on a CPU: for long runs)")
    p.add_argument("--no-cache", action="store_true", help="do not read or write the cache")
    p.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    p.add_argument("--json", action="store_true",
                   help='print {"bits_per_byte", "n", "model", "repeats", "seconds", '
                   '"threads", "workers", "device", "peak_rss_mb", "records": [{"id", '
                   '"start", "end", "bits_per_byte", "cached"}]}')
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
    from engine.score import run as score

    start, end = parse_region(args.region)
    return score(args, start, end)
