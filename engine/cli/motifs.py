"""``bytescope motifs FILE --out DIR``: motifs in what the model's predictions rest on.

Windows are chosen (around features, from BED regions, or at random; engine.analysis.windows),
each is explained with its left context (target: the window's summed log-likelihood; only the
window's attributions go on), seqlets are called and clustered into motifs
(engine.analysis.motifs), matched against a database, and written to DIR: motifs.meme,
seqlets.bed (record coordinates), logos/, report.md, report.html and summary.json.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engine.cli.arguments import count, positive_int
from engine.errors import InputError
from engine.io import open_annotations
from engine.io.formats import DEFAULT_MAX_BYTES

METHODS = ("saliency", "ig")
DEFAULT_AROUND = "CDS:start"
SUMMARY = "summary.json"
DNA = b"ACGT"


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "motifs",
        help="find motifs in what the model's predictions rest on: attributions over many "
        "windows, seqlets, motifs, database matches, logos and a report",
        description="Each window is read 5'->3' along its strand (a '-' strand feature's "
        "window is reverse-complemented) with --context bases before it; the target is the "
        "window's summed log-likelihood and only the window's attributions go to discovery. "
        "--around TYPE:start takes --window bases upstream of each TYPE feature's first codon "
        "plus that codon (TYPE:end: upstream of its last codon); offsets in the report are "
        "relative to the codon's first base (-10: ten bases before the A of an ATG). "
        "Annotations come from FILE (GFF3 with ##FASTA, GenBank, EMBL) or --annotations. "
        "Without --around, --regions or --sample: --around CDS:start. DIR gets motifs.meme, "
        "seqlets.bed (record coordinates, 0-based), logos/<motif>.svg and .png, report.md, "
        "report.html and summary.json; it is written beside DIR and renamed into place.",
    )
    p.add_argument("file", metavar="FILE")
    p.add_argument("--annotations", metavar="GFF|BED|GBK",
                   help="features for --around (default: those in FILE)")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--around", metavar="TYPE:start|TYPE:end",
                       help=f"windows before each feature's start or end codon (default "
                       f"{DEFAULT_AROUND})")
    where.add_argument("--regions", metavar="BED", help="windows: these regions, on their "
                       "strand")
    where.add_argument("--sample", type=positive_int, metavar="N",
                       help="windows: N random windows of --window bases (seeded)")
    p.add_argument("--window", type=positive_int, default=60, metavar="W",
                   help="bases upstream of the anchor codon, or a random window's length "
                   "(default 60)")
    p.add_argument("--context", type=count, default=200, metavar="C",
                   help="bases the model reads before each window (default 200)")
    p.add_argument("--method", choices=METHODS, default="saliency")
    p.add_argument("--steps", type=positive_int, default=16,
                   help="integrated gradients: quadrature points (default 16)")
    p.add_argument("--database", default="jaspar", metavar="jaspar|FILE.meme|none",
                   help="what motifs are matched against (default: JASPAR CORE, offline)")
    p.add_argument("--model", default="default",
                   help="'default' or 'fast' (bundled, by alphabet), a model/checkpoint "
                   "folder or a run")
    p.add_argument("--seed", type=count, default=0, help="--sample's seed (default 0)")
    p.add_argument("--threads", type=positive_int,
                   help="torch threads (default: the cores other processes leave free)")
    p.add_argument("--json", action="store_true", help="print summary.json")
    p.add_argument("--out", type=Path, required=True, metavar="DIR")
    p.add_argument("--max-bytes", type=positive_int, default=DEFAULT_MAX_BYTES, metavar="N",
                   help="largest raw-bytes file, and most a compressed file may inflate to "
                   "(default 1 GiB)")
    p.set_defaults(run=run)


# -- the output folder ------------------------------------------------------------------------


def check_output_folder(target: Path) -> Path:
    """Refuse ``--out`` before any work: its parent must exist, and an existing DIR must be
    empty or a previous motifs folder (it holds summary.json), which is then replaced."""
    target = Path(target)
    if not target.parent.is_dir():
        raise InputError(f"--out: folder {target.parent} does not exist", path=target)
    if target.exists():
        if not target.is_dir():
            raise InputError("--out names a file; motifs go into a folder", path=target)
        if any(target.iterdir()) and not (target / SUMMARY).is_file():
            raise InputError("--out folder holds other files (not a bytescope motifs folder);"
                             " give a new or empty folder", path=target)
    if not os.access(target.parent, os.W_OK):
        raise InputError(f"--out: cannot write in {target.parent}", path=target)
    return target


@contextlib.contextmanager
def output_folder(target: Path) -> Iterator[Path]:
    """A fresh folder beside ``target`` to write into; on success it is renamed onto
    ``target`` (an old one moved aside first, then removed); on failure it is removed."""
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    try:
        yield tmp
        old = None
        if target.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old.", dir=target.parent))
            os.replace(target, old / target.name)
        os.replace(tmp, target)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


# -- windows and their attributions --------------------------------------------------------


@dataclass
class Explained:
    """The windows that were explained, 5'->3': bases (N,) arrays, projected attributions
    (N,) arrays and hypothetical ones (N, 4) arrays or None, aligned with ``windows``."""

    windows: list
    sequences: list[np.ndarray]
    contributions: list[np.ndarray]
    hypothetical: list[np.ndarray] | None
    skipped: int  # windows whose model input holds bytes other than ACGT
    seconds: float


def choose_windows(args: argparse.Namespace, records, features) -> tuple[list, int, str]:
    """(windows, how many were dropped at record ends, the rule in words)."""
    from engine.analysis import windows as w

    lengths = w.lengths_of(records)
    if args.sample is not None:
        return (w.random_windows(lengths, args.sample, args.window, args.seed), 0,
                f"{args.sample} random windows of {args.window} bases (seed {args.seed})")
    if args.regions is not None:
        chosen, dropped = w.from_regions(open_annotations(args.regions), lengths)
        if not chosen:
            raise InputError("no region lies on a record of FILE", path=args.regions)
        return chosen, dropped, f"regions of {args.regions}"
    kind, anchor = w.parse_anchor(args.around or DEFAULT_AROUND)
    chosen, dropped = w.around_features(features, kind, anchor, args.window, lengths)
    if not chosen:
        raise InputError(f"no {kind} feature has {args.window} bases before its {anchor} "
                         "codon on its record")
    return chosen, dropped, f"{args.window} bases before each {kind} {anchor} codon + codon"


def explain_windows(model, records: dict, windows: list, context: int, method: str,
                    steps: int, progress=None) -> Explained:
    """Attributions of each window's region log-likelihood, the model reading up to
    ``context`` bases before it; windows with bytes outside ACGT are skipped."""
    from engine.analysis.attribution import Target, attribute
    from engine.analysis.windows import read_window

    limit = getattr(model, "max_len", None)
    kept, seqs, contrib, hypo = [], [], [], []
    skipped = 0
    codes = np.zeros(256, bool)
    codes[np.frombuffer(DNA, np.uint8)] = True
    options = {"steps": steps} if method == "ig" else {}
    t0 = time.perf_counter()
    for i, window in enumerate(windows):
        data, n_context = read_window(records[window.record], window, context)
        x = np.frombuffer(data, np.uint8)
        if not codes[x].all():
            skipped += 1
            continue
        if limit is not None and len(x) + 1 > limit:
            raise InputError(f"a window of {window.length:,} bases with {n_context:,} of "
                             f"context is longer than the model's context of {limit - 1:,}: "
                             "lower --context or --window")
        target = Target("region", n_context, len(x))
        result = attribute(model, x, target, method=method, alphabet=DNA, **options)
        kept.append(window)
        seqs.append(x[n_context:].copy())
        contrib.append(result.values[n_context:])
        if method == "saliency":  # the mean-corrected gradient of every letter
            hypo.append(result.matrix[n_context:])
        if progress is not None:
            progress(i + 1, len(windows))
    return Explained(kept, seqs, contrib, hypo if method == "saliency" else None, skipped,
                     time.perf_counter() - t0)


def run(args: argparse.Namespace) -> int:
    raise InputError("bytescope motifs is not finished yet")
