"""``bytescope inspect FILE [--model RUN] --locus REC:START-END --out maps.h5``: every map of a
patch-level model at one locus, with its coordinates (layout: ``engine.analysis.maps_file``)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from engine.atomic import check_writable
from engine.cli.arguments import count, json_argument, positive_int
from engine.errors import InputError
from engine.io import open_sequences
from engine.loci import format_locus, parse_locus


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "inspect",
        help="attention, Hyena and routing maps of a hyena-blt model at a locus, to HDF5",
        description="Runs a patch-level model (bytescope train --arch hyena-blt) once over a "
        "window of up to a few thousand bytes and writes every map (cross-attention, attention "
        "blocks, Hyena operators over patches, expert and memory routing) with its record "
        "coordinates. --locus is REC:START-END as IGV and samtools write it, 1-based "
        "inclusive: chrT:1,001-1,400 is the maps file's start 1000, end 1400 (files are "
        "0-based half-open, as BED).",
    )
    p.add_argument("file", metavar="FILE")
    p.add_argument("--model", default="hyena-blt",
                   help="a hyena-blt run folder or checkpoint (default: the bundled hyena-blt "
                   "model, resources/models/hyena-blt)")
    p.add_argument("--locus", required=True, metavar="REC:START-END",
                   help="the window, 1-based inclusive as IGV and samtools (chrT:101-200 is "
                   "BED's chrT 100 200)")
    p.add_argument("--out", type=Path, required=True, help="maps.h5")
    p.add_argument("--patch-model", help="entropy model for the patches (default: the run's)")
    p.add_argument("--patching", type=json_argument, metavar="JSON",
                   help="entropy patcher (default: the run's)")
    p.add_argument("--no-hyena", action="store_true",
                   help="skip the Hyena operator maps (the slowest part)")
    p.add_argument("--hyena-channels", type=count, default=8, metavar="N",
                   help="also write H of the first N channels of each Hyena block (default 8)")
    p.add_argument("--threads", type=positive_int,
                   help="torch threads (default: the cores other processes leave free)")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from engine.analysis.inspect import inspect_locus, load_latent
    from engine.analysis.maps_file import write_maps
    from engine.threads import set_threads

    if Path(args.out).suffix.lower() not in (".h5", ".hdf5"):
        raise InputError(f"--out {str(args.out)!r}: maps are HDF5; the name must end in .h5")
    check_writable(args.out)
    set_threads(args.threads)
    record_id, start, end = parse_locus(args.locus)
    model, folder = load_latent(args.model)
    with open_sequences(args.file) as sequences:
        record = sequences[record_id]  # an unknown id names the records there
        result = inspect_locus(model, folder, args.file, record, start, end,
                               patch_model=args.patch_model, patching=args.patching,
                               hyena=not args.no_hyena, hyena_channels=args.hyena_channels)
    summary = result.summary
    write_maps(args.out, result.maps, record=record_id, start=start, end=end,
               patch_starts=result.patch_starts, patch_ends=result.patch_ends, model=str(folder),
               extra_attrs={"summary": json.dumps(summary.to_json())})
    if args.json:
        print(json.dumps(summary.to_json()))
    else:
        print(f"{format_locus(record_id, start, end)}: {result.n_patches:,} patches "
              f"(mean {summary.mean_patch_length:.2f} bytes), "
              f"{len(result.maps)} maps -> {args.out}", file=sys.stdout)
        for layer, entry in summary.moe.items():
            routing = entry.routing
            load = ", ".join(f"{f:.2f}" for f in routing.load)
            print(f"  moe/{layer}: expert load [{load}], CV {routing.load_cv:.2f}, routing "
                  f"entropy {routing.token_entropy_mean:.2f} of {routing.max_entropy:.2f}"
                  " nats")
        if summary.memory is not None:
            print(f"  memory: {summary.memory.segments} segments, mean gate "
                  f"{summary.memory.mean_gate:.2f}")
    return 0
