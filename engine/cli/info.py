"""``bytescope info FILE...``: what is in a file, one row per record."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TextIO

from engine.cli.arguments import positive_int
from engine.io import FORMATS, open_sequences
from engine.io.formats import DEFAULT_MAX_BYTES
from engine.io.summary import summarise_file, summary_lengths
from engine.resources import sample_path

# Text output lists this many records per file; --json lists all.
MAX_ROWS = 50
# --json indents up to this many rows in all; beyond, indenting triples the time and the size.
INDENT_ROWS = 10_000
JSON_BATCH = 10_000  # rows per json.dumps call when streaming


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
                   help="largest raw-bytes file, and most a compressed file may inflate to "
                        "(default 1 GiB)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    files = args.files or [str(sample_path("lambda_phage.fa"))]
    summaries = []
    for path in files:
        with open_sequences(path, format=args.format, alphabet=args.alphabet,
                            max_bytes=args.max_bytes) as sf:
            summaries.append(summarise_file(sf))
    if args.json:
        write_json(summaries[0] if len(summaries) == 1 else summaries, sys.stdout)
    else:
        for summary in summaries:
            print_table(summary)
    return 0


def write_json(payload: dict | list[dict], out: TextIO) -> None:
    """``json.dump(payload, out)``, indented up to :data:`INDENT_ROWS` rows; beyond that
    compact and streamed: rows are encoded :data:`JSON_BATCH` at a time with the C encoder
    (``json.dump`` itself encodes in Python, and one ``json.dumps`` would hold the whole text),
    giving the same text as ``json.dumps(payload)``."""
    files = payload if isinstance(payload, list) else [payload]
    if sum(len(s["records"]) for s in files) <= INDENT_ROWS:
        json.dump(_plain(payload), out, indent=1)
    else:
        out.write("[" if isinstance(payload, list) else "")
        for i, summary in enumerate(files):
            out.write(", " if i else "")
            _write_summary(summary, out)
        out.write("]" if isinstance(payload, list) else "")
    out.write("\n")


def _plain(payload: dict | list[dict]) -> dict | list[dict]:
    """``payload`` with each file's rows as a list (json knows no other sequence)."""
    if isinstance(payload, list):
        return [_plain(s) for s in payload]
    return {**payload, "records": list(payload["records"])}


def _write_summary(summary: dict, out: TextIO) -> None:
    for i, (key, value) in enumerate(summary.items()):
        out.write(("{" if i == 0 else ", ") + json.dumps(key) + ": ")
        if key != "records":
            out.write(json.dumps(value))
            continue
        out.write("[")
        for start in range(0, len(value), JSON_BATCH):
            out.write(", " if start else "")
            out.write(json.dumps(list(value[start:start + JSON_BATCH]))[1:-1])
        out.write("]")
    out.write("}")


def _fmt(value, spec: str = "") -> str:
    return "-" if value is None else format(value, spec)


def print_table(summary: dict) -> None:
    rows = summary["records"]
    total = int(summary_lengths(rows).sum())
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
