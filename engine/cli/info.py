"""``bytescope info FILE...``: what is in a file, one row per record."""

from __future__ import annotations

import argparse
import json
import sys

from engine.cli.arguments import positive_int
from engine.io import FORMATS, open_sequences
from engine.io.formats import DEFAULT_MAX_BYTES
from engine.io.summary import summarise_file
from engine.resources import sample_path

# Text output lists this many records per file; --json lists all.
MAX_ROWS = 50


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "info",
        help="list the records of sequence files (id, length, alphabet, GC%%, N, features)",
        description="For each record: id, length, alphabet, GC% (DNA/RNA), N count and "
        "feature count. With no FILE, describes the bundled lambda phage sample.",
    )
    p.add_argument("files", nargs="*", metavar="FILE", help="FASTA/FASTQ/GFF3/BED/GenBank/EMBL/"
                   "HDF5 store/any file (gzip, bgzip, xz, bzip2 accepted)")
    p.add_argument("--json", action="store_true", help="print JSON (schema in README)")
    p.add_argument("--format", choices=FORMATS, help="skip format sniffing")
    p.add_argument("--alphabet", choices=("dna", "rna", "protein", "text", "bytes"),
                   help="override alphabet detection")
    p.add_argument("--max-bytes", type=positive_int, default=DEFAULT_MAX_BYTES, metavar="N",
                   help="largest file opened as raw bytes (default 1 GiB)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    files = args.files or [str(sample_path("lambda_phage.fa"))]
    summaries = []
    for path in files:
        with open_sequences(path, format=args.format, alphabet=args.alphabet,
                            max_bytes=args.max_bytes) as sf:
            summaries.append(summarise_file(sf))
    if args.json:
        payload = summaries[0] if len(summaries) == 1 else summaries
        # Indenting a million FASTQ rows triples the time; keep big outputs compact.
        rows = sum(len(s["records"]) for s in summaries)
        json.dump(payload, sys.stdout, indent=1 if rows <= 10_000 else None)
        sys.stdout.write("\n")
    else:
        for summary in summaries:
            print_table(summary)
    return 0


def _fmt(value, spec: str = "") -> str:
    return "-" if value is None else format(value, spec)


def print_table(summary: dict) -> None:
    rows = summary["records"]
    total = sum(r["length"] for r in rows)
    comp = f", {summary['compression']}" if summary["compression"] else ""
    plural = "s" if len(rows) != 1 else ""
    print(f"{summary['path']}  ({summary['format']}{comp}, {len(rows):,} record{plural}, "
          f"{total:,} bytes)")
    if rows:
        width = min(max(len(r["id"]) for r in rows[:MAX_ROWS]), 40)
        print(f"  {'id':<{width}}  {'length':>12}  {'alphabet':<8}  {'GC%':>6}  {'N':>9}  "
              f"{'features':>8}  description")
        for r in rows[:MAX_ROWS]:
            print(f"  {r['id']:<{width}}  {r['length']:>12,}  {r['alphabet']:<8}  "
                  f"{_fmt(r['gc_percent'], '.2f'):>6}  {_fmt(r['n_count'], ','):>9}  "
                  f"{r['feature_count']:>8,}  {r['description'][:60]}")
        if len(rows) > MAX_ROWS:
            print(f"  ... and {len(rows) - MAX_ROWS:,} more records (--json lists all)")
    if summary["unattached_features"]:
        print(f"  {summary['unattached_features']:,} features on records not in this file")
