"""``bytescope motifs FILE [--around CDS:start | --regions BED | --sample N] --out DIR``: which
motifs the model has learned, from its attributions (:mod:`engine.analysis.discovery`)."""

from __future__ import annotations

import argparse
import html
import json
import sys
import time
from pathlib import Path

import numpy as np

from engine.analysis.windows import MOTIF_CONTEXT
from engine.atomic import atomic_open
from engine.cli.arguments import positive_int
from engine.errors import InputError
from engine.io import open_annotations, open_sequences
from engine.io.formats import DEFAULT_MAX_BYTES

STRANDS = ("auto", "both", "one")


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "motifs",
        help="motifs the model has learned: seqlets of its attributions, clustered into "
        "motifs, matched to JASPAR or a MEME file; logos, MEME, BED and a report",
        description="Windows are explained by saliency (or --method ism) of their own "
        "log-likelihood, or with --target anchor of the anchor codon's alone (which bases "
        "before a start codon make the model expect it there), up to --context bases read "
        "before each; spans of significant "
        "attribution (seqlets) are aligned and clustered into motifs with a PPM and a "
        "contribution-weighted matrix. "
        "Windows: --around TYPE:start|end (the --window bases before each feature's start or "
        "end codon, plus the codon, along its strand; default CDS:start when the file has "
        "annotations), --regions BED (each region on its strand) or --sample N (N random "
        "windows of --window bases). DIR gets motifs.meme, seqlets.bed (every seqlet), "
        "instances.bed (each motif's instances, record coordinates, 0-based), logos/ (PNG "
        "with the motifs extra, else SVG), report.md, report.html and summary.json.",
    )
    p.add_argument("file", metavar="FILE")
    p.add_argument("--annotations", metavar="GFF|BED|GBK",
                   help="features for --around (default: FILE's own)")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--around", metavar="TYPE:start|end",
                       help="windows before each feature's start or end codon (CDS:start)")
    where.add_argument("--regions", metavar="BED", help="windows from a BED file")
    where.add_argument("--sample", type=positive_int, metavar="N",
                       help="N random windows of --window bases")
    p.add_argument("--window", type=positive_int, metavar="W",
                   help="bases before the codon for --around (default 60) or the width of "
                   "--sample windows (default 100)")
    p.add_argument("--context", type=int, default=MOTIF_CONTEXT, metavar="C",
                   help=f"bases read before each window (default {MOTIF_CONTEXT})")
    p.add_argument("--model", default="default",
                   help="'default' or 'fast' (bundled, by alphabet), a model folder or a run")
    p.add_argument("--method", choices=("saliency", "ism"), default="saliency",
                   help="saliency (default, one batched backward per 16 windows) or ism "
                   "(exact mutagenesis, 3 forwards per base: slower, and cleaner where "
                   "gradients spread over the background)")
    p.add_argument("--target", choices=("window", "anchor"), default="window",
                   help="window (default): each window's log-likelihood; anchor (with "
                   "--around): the codon's log-likelihood, explained by the bases before it")
    p.add_argument("--match", action="append", default=[], metavar="jaspar[:TAXON]|FILE.meme",
                   help="match motifs against JASPAR CORE (offline, the motifs extra; "
                   "jaspar:vertebrates for one taxon) or a MEME file; may repeat")
    p.add_argument("--strands", choices=STRANDS, default="auto",
                   help="DNA motifs on both strands (auto: for DNA) or one")
    p.add_argument("--threshold", type=float, default=0.01,
                   help="seqlet p-value threshold (default 0.01)")
    p.add_argument("--min-instances", type=positive_int, default=5)
    p.add_argument("--max-motifs", type=positive_int, default=20)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, required=True, metavar="DIR",
                   help="a folder (created if missing; its files are replaced)")
    p.add_argument("--json", action="store_true", help="print summary.json to stdout")
    p.add_argument("--threads", type=positive_int)
    p.add_argument("--max-bytes", type=positive_int, default=DEFAULT_MAX_BYTES, metavar="N")
    p.set_defaults(run=run)


def _out_folder(path: Path) -> Path:
    if path.exists() and not path.is_dir():
        raise InputError("--out must be a folder; this is a file", path=path)
    if not path.parent.is_dir():
        raise InputError("--out's parent folder does not exist", path=path)
    path.mkdir(exist_ok=True)
    (path / "logos").mkdir(exist_ok=True)
    return path


def _database(specs: list[str]):
    from engine.analysis.motif_db import jaspar_motifs
    from engine.analysis.motif_files import read_meme

    motifs = []
    for spec in specs:
        if spec == "jaspar" or spec.startswith("jaspar:"):
            taxon = spec.partition(":")[2] or None
            motifs += jaspar_motifs(tax_group=taxon)
        else:
            motifs += read_meme(spec)
    return motifs


def _windows(args, sf, records, lengths):
    from engine.analysis.windows import around_features, from_regions, parse_anchor, random_windows

    if args.sample is not None:
        return random_windows(lengths, args.sample, args.window or 100, args.seed), 0, \
            f"{args.sample:,} random windows of {args.window or 100:,} bases"
    if args.regions is not None:
        windows, dropped = from_regions(open_annotations(args.regions), lengths)
        return windows, dropped, f"regions of {args.regions}"
    features = open_annotations(args.annotations) if args.annotations else sf.all_features()
    if args.around is None and not features:
        raise InputError("no annotations to place windows: give --annotations, --around with "
                         "--annotations, --regions BED or --sample N", path=args.file)
    kind, anchor = parse_anchor(args.around or "CDS:start")
    upstream = args.window or 60
    windows, dropped = around_features(features, kind, anchor, upstream, lengths)
    return windows, dropped, f"{upstream} bases before each {kind} {anchor} codon, plus it"


def run(args: argparse.Namespace) -> int:
    from engine.analysis.discovery import discover
    from engine.analysis.windows import lengths_of
    from engine.threads import set_threads

    from .score import load_for_record

    if args.context < 0:
        raise InputError("--context must be >= 0")
    out = _out_folder(args.out)
    set_threads(args.threads)
    database = _database(args.match)
    t0 = time.perf_counter()
    with open_sequences(args.file, max_bytes=args.max_bytes) as sf:
        records = {r.id: r for r in sf}
        if not records:
            raise InputError("the file holds no sequences", path=args.file)
        alphabet_name = sf[0].alphabet
        if alphabet_name not in ("dna", "rna"):
            raise InputError(f"motif discovery reads DNA; this file is {alphabet_name}",
                             path=args.file)
        windows, dropped, how = _windows(args, sf, records, lengths_of(list(sf)))
        if not windows:
            raise InputError(f"no windows ({how}; {dropped} off a record's end)",
                             path=args.file)
        model, folder = load_for_record(args.model, alphabet_name)
        strands = None if args.strands == "auto" else args.strands == "both"
        if args.target == "anchor" and (args.sample is not None or args.regions is not None):
            raise InputError("--target anchor explains the codon of --around windows; "
                             "--sample and --regions windows have none", path=args.file)
        found = discover(model, records, windows, context=args.context, method=args.method,
                         target=args.target, database=database,
                         threshold=args.threshold, strands=strands,
                         min_instances=args.min_instances, max_motifs=args.max_motifs,
                         seed=args.seed, model_name=str(folder))
    summary = write_outputs(out, found, how, dropped, time.perf_counter() - t0)
    if args.json:
        print(json.dumps(summary))
    else:
        print(describe(summary, out), file=sys.stdout)
    return 0


def _motif_summary(found, motif, logo: str) -> dict:
    offsets = found.offsets(motif)
    matches = found.matches.get(motif.name, [])
    plus = sum(1 for loc in found.instance_loci(motif) if loc[3] == "+")
    return {
        "name": motif.name, "consensus": motif.consensus(), "width": motif.width,
        "sign": motif.sign, "instances": motif.n_instances,
        "windows": len({s.example for s in motif.instances}),
        "instances_plus": plus,
        "offset_median": float(np.median(offsets)) if len(offsets) else None,
        "offsets": np.bincount(offsets - offsets.min()).tolist() if len(offsets) else [],
        "offset_min": int(offsets.min()) if len(offsets) else None,
        "mean_contribution": float(np.mean([s.score for s in motif.instances])),
        "information_bits": float(motif.information().sum()),
        "logo": logo,
        "matches": [{"name": m.name, "id": m.identifier, "source": m.source,
                     "score": m.score, "p_value": m.p_value, "strand": m.strand,
                     "offset": m.offset, "overlap": m.overlap} for m in matches],
    }


def write_outputs(out: Path, found, how: str, dropped: int, seconds: float) -> dict:
    """motifs.meme, seqlets.bed, instances.bed, logos/, report.md, report.html and
    summary.json in ``out``, each written atomically; returns the summary."""
    from engine.analysis.logos import logo_svg, ppm_logo_heights, write_logo_png
    from engine.analysis.motif_db import MissingExtra
    from engine.analysis.motif_files import write_meme, write_seqlets_bed

    if found.motifs:
        write_meme(out / "motifs.meme", found.motifs)
    seqlet_rows = []
    for s in found.seqlets:
        w = found.windows[s.example]
        a, b = w.to_record(s.start, s.end)
        seqlet_rows.append((w.record, a, b, "seqlet", s.score, "+" if w.strand >= 0 else "-"))
    write_seqlets_bed(out / "seqlets.bed", seqlet_rows)
    write_seqlets_bed(out / "instances.bed",
                      [(r, a, b, m.name, v, strand) for m in found.motifs
                       for r, a, b, strand, v in found.instance_loci(m)])
    motifs = []
    for m in found.motifs:
        heights = ppm_logo_heights(m.ppm)
        title = f"{m.name} {m.consensus()} ({m.n_instances})"
        try:
            write_logo_png(out / "logos" / f"{m.name}.png", heights, m.alphabet, title)
            logo = f"logos/{m.name}.png"
        except MissingExtra:
            with atomic_open(out / "logos" / f"{m.name}.svg", "w", encoding="utf-8") as f:
                f.write(logo_svg(heights, m.alphabet, title))
            logo = f"logos/{m.name}.svg"
        motifs.append(_motif_summary(found, m, logo))
    summary = {
        "windows": len(found.windows), "how": how, "dropped": dropped,
        "skipped": found.skipped, "seqlets": len(found.seqlets),
        "seqlets_positive": sum(1 for s in found.seqlets if s.score > 0),
        "model": found.model, "method": found.method, "target": found.target,
        "seconds": seconds,
        "seconds_by_step": found.seconds, "motifs": motifs,
    }
    with atomic_open(out / "summary.json", "w", encoding="utf-8") as f:
        json.dump(summary, f, indent=1)
    with atomic_open(out / "report.md", "w", encoding="utf-8") as f:
        f.write(report_markdown(summary))
    with atomic_open(out / "report.html", "w", encoding="utf-8") as f:
        f.write(report_html(summary))
    return summary


def _best_match(motif: dict) -> str:
    if not motif["matches"]:
        return ""
    m = motif["matches"][0]
    return f"{m['name']} ({m['id']}, {m['source']}) r={m['score']:.2f} p={m['p_value']:.2g}"


def report_markdown(summary: dict) -> str:
    lines = [
        "# Motifs the model has learned", "",
        f"{summary['windows']:,} windows ({summary['how']}); {summary['skipped']} skipped "
        f"for letters outside ACGT, {summary['dropped']} off a record's end. Model: "
        f"`{summary['model']}`, {summary['method']} of "
        f"{'the anchor codon' if summary['target'] == 'anchor' else 'each window'}'s "
        f"log-likelihood. {summary['seqlets']:,} seqlets ({summary['seqlets_positive']:,} "
        "raising it). "
        f"{summary['seconds']:.1f} s.", "",
    ]
    if not summary["motifs"]:
        lines.append("No motif had enough instances.")
        return "\n".join(lines) + "\n"
    lines += ["| motif | logo | consensus | sign | instances | windows | median offset | "
              "best match |", "|---|---|---|---|---|---|---|---|"]
    for m in summary["motifs"]:
        lines.append(f"| {m['name']} | ![]({m['logo']}) | `{m['consensus']}` | "
                     f"{'+' if m['sign'] > 0 else '-'} | {m['instances']} | {m['windows']} | "
                     f"{m['offset_median']:+.0f} | {_best_match(m)} |")
    return "\n".join(lines) + "\n"


def report_html(summary: dict) -> str:
    rows = "".join(
        f"<tr><td>{html.escape(m['name'])}</td><td><img src=\"{html.escape(m['logo'])}\" "
        f"height=\"60\"></td><td><code>{html.escape(m['consensus'])}</code></td>"
        f"<td>{'+' if m['sign'] > 0 else '-'}</td><td>{m['instances']}</td>"
        f"<td>{m['windows']}</td><td>{m['offset_median']:+.0f}</td>"
        f"<td>{html.escape(_best_match(m))}</td></tr>" for m in summary["motifs"])
    head = ("<tr><th>motif</th><th>logo</th><th>consensus</th><th>sign</th>"
            "<th>instances</th><th>windows</th><th>median offset</th><th>best match</th></tr>")
    body = (f"<table>{head}{rows}</table>" if rows else "<p>No motif had enough instances.</p>")
    return ("<!doctype html><html><head><meta charset=\"utf-8\"><title>bytescope motifs"
            "</title><style>body{font-family:sans-serif}td,th{padding:4px 8px;"
            "border-bottom:1px solid #ddd}</style></head><body><h1>Motifs the model has "
            f"learned</h1><p>{summary['windows']:,} windows ({html.escape(summary['how'])}); "
            f"{summary['seqlets']:,} seqlets; model <code>{html.escape(summary['model'])}"
            f"</code>; {summary['seconds']:.1f} s.</p>{body}</body></html>\n")


def describe(summary: dict, out: Path) -> str:
    lines = [f"{summary['windows']:,} windows ({summary['how']}), {summary['seqlets']:,} "
             f"seqlets, {len(summary['motifs'])} motifs in {summary['seconds']:.1f}s"]
    for m in summary["motifs"]:
        match = _best_match(m)
        lines.append(f"  {m['name']:<7} {m['consensus']:<20} {m['instances']:>4} instances, "
                     f"median offset {m['offset_median']:+.0f}"
                     + (f"; best match {match}" if match else ""))
    lines.append(f"wrote {out}/ (report.html, motifs.meme, instances.bed, seqlets.bed, logos/)")
    return "\n".join(lines)
