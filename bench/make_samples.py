"""Extract the bundled annotated sample from ../shared/data (run once; the output is committed).

    python bench/make_samples.py [--source ../shared/data/prokka_annotated.gff3.gz]
                                 [--contig BAC_00001] [--out resources/samples/...]

Writes a GFF3 holding one contig: the ``##gff-version`` header, that contig's
``##sequence-region`` line, its feature lines in file order, and a ``##FASTA`` section with its
sequence (lines of 60 bases, as in the source), gzip-compressed with a zero mtime so that
rerunning the script gives the same bytes.
"""

from __future__ import annotations

import argparse
import gzip
import io
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SOURCE = REPO.parent / "shared" / "data" / "prokka_annotated.gff3.gz"
CONTIG = "BAC_00001"
OUT = REPO / "resources" / "samples" / "prokka_BAC_00001.gff3.gz"


def extract_contig(text_lines: io.TextIOBase, contig: str) -> list[str]:
    """The lines of a one-contig GFF3 (header, features, ##FASTA, sequence) from a full one."""
    out = ["##gff-version 3\n"]
    features: list[str] = []
    sequence: list[str] = []
    in_fasta = False
    keep_fasta = False
    for line in text_lines:
        if in_fasta:
            if line.startswith(">"):
                if keep_fasta:
                    break  # the next contig starts: done
                keep_fasta = line[1:].split()[0] == contig
            if keep_fasta:
                sequence.append(line)
            continue
        if line.startswith("##FASTA"):
            in_fasta = True
        elif line.startswith("##sequence-region"):
            if line.split()[1] == contig:
                out.append(line)
        elif not line.startswith("#") and line.split("\t", 1)[0] == contig:
            features.append(line)
    if not sequence:
        raise SystemExit(f"contig {contig!r} has no sequence in the ##FASTA section")
    return out + features + ["##FASTA\n"] + sequence


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=SOURCE)
    parser.add_argument("--contig", default=CONTIG)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    with gzip.open(args.source, "rt", encoding="utf-8") as handle:
        lines = extract_contig(handle, args.contig)
    data = "".join(lines).encode()
    buffer = io.BytesIO()
    # mtime=0 and no file name in the header: the same input always gives the same bytes.
    with gzip.GzipFile(filename="", mode="wb", fileobj=buffer, compresslevel=9, mtime=0) as gz:
        gz.write(data)
    args.out.write_bytes(buffer.getvalue())
    n_features = sum(1 for line in lines if "\t" in line)
    print(f"{args.out}: {args.contig}, {n_features} features, {len(data):,} bytes "
          f"-> {len(buffer.getvalue()):,} gzip")


if __name__ == "__main__":
    main()
