"""``bytescope attribute FILE --locus REC:START-END --out X.h5|X.bedgraph|X.bw``: which bases a
prediction at a locus rests on (saliency, integrated gradients, in-silico mutagenesis)."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from engine.atomic import check_writable
from engine.cli.arguments import count, positive_int
from engine.errors import InputError
from engine.io import open_sequences
from engine.io.formats import DEFAULT_MAX_BYTES
from engine.loci import (
    CONVENTION,
    format_locus,
    format_position,
    format_range,
    parse_locus,
    parse_range,
)

METHODS = ("saliency", "ig", "ism")
TARGETS = ("region", "surprisal", "entropy")
TOP = 5


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "attribute",
        help="which bases a prediction at a locus rests on: saliency, integrated gradients "
        "or mutagenesis, to HDF5, bedGraph or bigWig",
        description="The locus is what is explained. --target region (default): the locus's "
        "summed log-likelihood, sum of ln p(base t | bases before t) over the locus; "
        "surprisal: ln p(base POS | bases before it) at --at POS; entropy: the model's "
        "uncertainty about the base after POS, having read POS. The model's window is the "
        "locus plus up to --context bases of left context (default: fill the model's context, "
        "at most 1,024, never before the record's first base); attributions cover the whole "
        "window and are written in record coordinates (files 0-based half-open, as BED). "
        "Methods: saliency (input x gradient, mean-corrected over ACGT), ig (integrated "
        "gradients from the uniform baseline, --steps points; its completeness delta is "
        "reported), ism (exact in-silico mutagenesis: every other letter at each base of "
        "the locus, or with --mutate window of every base the target can depend on; 3 "
        "forwards per base). The repeat expert is not differentiable: gradients "
        "explain the network alone; mutagenesis includes the model's repeat expert (re-run "
        "on every mutant) unless --no-repeats; the output's 'repeats' says which. "
        f"--locus and --at are {CONVENTION}: chrT:101-200 is BED's chrT 100 200.",
    )
    p.add_argument("file", metavar="FILE")
    p.add_argument("--locus", required=True, metavar="REC:START-END",
                   help="what is explained, 1-based inclusive as IGV and samtools")
    p.add_argument("--target", choices=TARGETS, default="region",
                   help="region (default): the locus's log-likelihood; surprisal or entropy "
                   "at --at")
    p.add_argument("--at", metavar="POS",
                   help="the base of a surprisal or entropy target, 1-based as the locus "
                   "(default: the locus's last base)")
    p.add_argument("--method", choices=METHODS, default="saliency")
    p.add_argument("--steps", type=positive_int, default=32,
                   help="integrated gradients: quadrature points (default 32)")
    p.add_argument("--model", default="default",
                   help="'default' or 'fast' (bundled, by alphabet), 'hyena-blt' (the bundled "
                   "patch-level model: its byte decoder is explained, under the patches its "
                   "entropy model cuts), a model/checkpoint folder or a run")
    p.add_argument("--context", type=count, metavar="C",
                   help="bases of left context before the locus (default: fill the model's "
                   "context, at most 1,024)")
    p.add_argument("--mutate", choices=("locus", "window"), default="locus",
                   help="mutagenesis: mutate the locus's bases (default) or the whole window, "
                   "context included")
    p.add_argument("--no-repeats", action="store_true",
                   help="mutagenesis: leave out the model's repeat expert (gradients always "
                   "do)")
    p.add_argument("--out", type=Path, required=True,
                   help="X.h5 (values, matrix, metadata), X.bedgraph or X.bw (per-base score, "
                   "record coordinates; bigWig is what IGV draws as letters, dynseq)")
    p.add_argument("--threads", type=positive_int,
                   help="torch threads (default: the cores other processes leave free)")
    p.add_argument("--json", action="store_true",
                   help='print {"method", "target", "n", "seconds", "delta", "repeats", '
                   '"sum", "top", ...}')
    p.add_argument("--max-bytes", type=positive_int, default=DEFAULT_MAX_BYTES, metavar="N",
                   help="largest raw-bytes file, and most a compressed file may inflate to "
                   "(default 1 GiB)")
    p.set_defaults(run=run)


def target_position(at: str | None, kind: str, start: int, end: int, path: str) -> int:
    """``--at`` (1-based, inside the locus) as a 0-based record position; default the
    locus's last base."""
    if at is None:
        return end - 1
    if kind == "region":
        raise InputError("--at is for --target surprisal or entropy; a region target is the "
                         "whole locus", path=path)
    position, stop = parse_range(at)
    if stop is not None:
        raise InputError(f"--at {at!r} must be one position ({CONVENTION})", path=path)
    if not start <= position < end:
        raise InputError(f"--at {format_position(position)} is outside the locus "
                         f"{format_range(start, end)}", path=path)
    return position


def run(args: argparse.Namespace) -> int:
    from engine.analysis.attribution import (
        Target,
        attribute,
        is_patch_level,
        repeat_continuation,
    )
    from engine.analysis.inspect import patch_source_for
    from engine.analysis.windows import left_context
    from engine.io.attribution_files import AttributionTrack, output_format, write_attribution
    from engine.threads import set_threads

    from .score import load_for_record

    output_format(args.out)
    check_writable(args.out)
    set_threads(args.threads)
    record_id, start, end = parse_locus(args.locus)
    with open_sequences(args.file, max_bytes=args.max_bytes) as sf:
        record = sf[record_id]  # an unknown id names the file and its records
        if end > record.length:
            raise InputError(f"locus {args.locus} is outside record {record_id!r} (length "
                             f"{record.length:,})", path=args.file)
        position = target_position(args.at, args.target, start, end, args.file)
        model, folder = load_for_record(args.model, record.alphabet)
        lo = left_context(start, end, getattr(model, "max_len", None), args.context)
        window = record.array(lo, end)
        chrom_sizes = [(r.id, r.length) for r in sf]
        expert = None
        if args.method == "ism" and not args.no_repeats:  # reads the record up to the window
            expert = repeat_continuation(model, record.array(0, end), lo, record.length)
        patches = None
        if is_patch_level(model):  # the entropy model's cuts, as the model was trained on
            patches = patch_source_for(folder)(args.file, record)[lo:end]
    if args.target == "region":
        target = Target("region", start - lo, end - lo)
    else:
        target = Target(args.target, position - lo)
    options: dict = {"steps": args.steps} if args.method == "ig" else {}
    if args.method == "ism" and args.mutate == "locus":
        options["positions"] = (start - lo, end - lo)
    if expert is not None:
        options["repeats"] = expert
    if patches is not None:
        options["patch_starts"] = patches
    t0 = time.perf_counter()
    result = attribute(model, window, target, method=args.method, **options)
    seconds = time.perf_counter() - t0
    track = AttributionTrack.of(result, record_id, lo, str(folder))
    write_attribution(args.out, track, chrom_sizes)
    summary = summarise(track, window, seconds)
    if patches is not None:
        summary["patches"] = int(np.count_nonzero(patches))  # patch starts in the window
    if args.json:
        print(json.dumps(summary))
    else:
        top = ", ".join(f"{format_position(t['position'])} {t['base']} {t['score']:+.3g}"
                        for t in summary["top"])
        print(f"{args.method} on {format_locus(record_id, lo, end)} ({len(window):,} bases) "
              f"for {args.target} of {format_locus(record_id, start, end)}: F = "
              f"{result.output:.4g}, sum {summary['sum']:+.4g}"
              + (f", delta {result.delta:+.3g}" if result.delta is not None else "")
              + f" in {seconds:.2f}s; top {top}; model {folder}"
              + (" + repeat expert" if result.repeats else " (network alone)")
              + (f", {summary['patches']:,} patches" if patches is not None else ""),
              file=sys.stdout)
        print(f"wrote {args.out}")
    return 0


def summarise(track, window: np.ndarray, seconds: float) -> dict:
    """The ``--json`` summary: positions 0-based record coordinates, as the files."""
    values = np.asarray(track.values)
    order = np.argsort(-np.abs(values), kind="stable")[:TOP]
    return {
        "method": track.method,
        "target": {"kind": track.target_kind, "position": track.target_position,
                   "end": track.target_end},
        "record": track.record, "start": track.start, "end": track.end,
        "n": len(values), "seconds": seconds, "output": track.output, "delta": track.delta,
        "repeats": track.repeats, "sum": float(values.sum()), "model": track.model,
        "top": [{"position": track.start + int(i), "base": chr(int(window[i])),
                 "score": float(values[i])} for i in order],
    }
