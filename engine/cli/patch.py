"""``bytescope patch FILE --mode MODE --out OUT``: cut a record (or a region) into patches.

Entropies come from ``--entropies``, a file of any format in
:data:`engine.io.entropy_files.ENTROPY_FORMATS` (``.npy``, HDF5, bedGraph) with one value (nats)
per byte of the region, or of the whole record (then the region is cut out of it); ``H[t]`` is
the uncertainty about byte ``t + 1``. Without ``--entropies``, entropy modes score the region
with ``--model`` (through the score cache). The modes and what their θ means come from
:data:`engine.patching.PATCH_MODES`.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import numpy as np

from engine.atomic import check_writable
from engine.cli.arguments import finite_float, positive_float, positive_int
from engine.errors import InputError
from engine.io import open_sequences
from engine.io.entropy_files import entropy_metavar, formats_help, load_entropies
from engine.io.formats import DEFAULT_MAX_BYTES
from engine.io.records import Record, check_range
from engine.loci import format_locus
from engine.patching import PATCH_MODES, PatchConfig, Patcher
from engine.patching.output import (
    PatchRows,
    bed_scores,
    patch_rows,
    write_bed,
    write_bed_chunks,
    write_bed_records,
    write_bedgraph,
    write_json,
    write_tsv,
    write_tsv_chunks,
)
from engine.patching.stream import StreamStats, stream_patches, streamable

from .regions import parse_region

OUTPUT_SUFFIXES = (".bed", ".bed.gz", ".tsv", ".json")
# records scored at a time when patching every record of a file with a model
SCORE_GROUP_BYTES = 4 << 20


def output_kind(out: Path) -> str:
    """``bed`` (also ``.bed.gz``, BGZF for tabix), ``tsv`` or ``json``; else an InputError."""
    name = out.name.lower()
    for suffix in OUTPUT_SUFFIXES:
        if name.endswith(suffix):
            return suffix.split(".")[1]
    raise InputError(f"--out {str(out)!r}: the name must end in .bed, .bed.gz, .tsv or .json")

# PatchConfig's field names as this command spells them, for its error messages.
_FLAG_NAMES = {
    "target_patch_size": "--target-patch-size",
    "threshold_add": "--threshold-add",
    "min_patch_length": "--min-len",
    "max_patch_length": "--max-len",
    "patch_size": "--patch-size",
    "threshold": "--threshold",
}


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "patch",
        help="cut a sequence into patches (BLT's dynamic patching) and write BED/TSV/JSON",
        description="Patch every record of FILE into one output (or --record, or a region of "
        "it). Entropy modes read per-byte entropies (nats) from --entropies, or score with "
        "--model; --target-patch-size searches its threshold per record. BED output opens in "
        "IGV: one line per patch, name = patch index, score = 1000 * mean entropy / ln 256; "
        "OUT.bed.gz is BGZF without a track line, which tabix -p bed indexes.",
    )
    p.add_argument("file", metavar="FILE", help="any file bytescope opens (FASTA, FASTQ, ...)")
    p.add_argument("--record", metavar="ID", help="record id (default: every record)")
    p.add_argument("--region", metavar="START-END",
                   help="0-based half-open byte range of --record (or of the only record)")
    add_patch_options(p, mode_required=True)
    p.add_argument("--out", required=True, metavar="OUT.bed|OUT.bed.gz|OUT.tsv|OUT.json",
                   help="output file; its suffix picks the format")
    p.add_argument("--bedgraph", metavar="OUT", help="also write the entropies as bedGraph")
    p.add_argument("--max-bytes", type=positive_int, default=DEFAULT_MAX_BYTES, metavar="N",
                   help="largest raw-bytes file, and most a compressed file may inflate to "
                        "(default 1 GiB)")
    p.set_defaults(run=run)


def add_patch_options(p: argparse.ArgumentParser, *, mode_required: bool) -> None:
    """The patcher's options and the entropy source, shared with ``compare-annotations``."""
    p.add_argument("--mode", required=mode_required, choices=tuple(PATCH_MODES),
                   default=None if mode_required else "entropy",
                   help="patching rule: " + "; ".join(f"{name}: {mode.summary}"
                                                      for name, mode in PATCH_MODES.items()))
    limit = p.add_mutually_exclusive_group()
    limit.add_argument("--threshold", type=finite_float, metavar="T",
                       help="threshold θ in nats (default: BLT's 1.335442066192627)")
    limit.add_argument("--target-patch-size", type=positive_float, metavar="S",
                       help="search the θ giving this mean patch length, and report it")
    p.add_argument("--threshold-add", type=finite_float, metavar="A",
                   help="dual mode: the rise H[p-1] - H[p-2] must also exceed A (default 0)")
    p.add_argument("--patch-size", type=positive_int, default=4, metavar="N",
                   help="static mode: patch length (default 4)")
    p.add_argument("--min-len", type=positive_int, default=1, metavar="N",
                   help="minimum patch length")
    p.add_argument("--max-len", type=positive_int, metavar="N", help="maximum patch length")
    p.add_argument("--entropies", metavar=entropy_metavar(),
                   help=f"per-byte entropies (nats), by suffix: {formats_help()}")
    p.add_argument("--model", metavar="default|PATH", default="default",
                   help="entropy model when --entropies is not given: 'default' (bundled, by "
                   "alphabet), 'fast', a model or checkpoint folder, or a run folder")
    p.add_argument("--no-repeats", action="store_true",
                   help="leave out the model's repeat expert (the network's entropies alone)")
    p.add_argument("--threads", type=positive_int,
                   help="torch threads (default: the cores other processes leave free)")


def config_from_args(args: argparse.Namespace) -> PatchConfig:
    """The PatchConfig the options describe; its errors name the command's flags."""
    try:
        config = PatchConfig(
            mode=args.mode,
            threshold=args.threshold,
            threshold_add=args.threshold_add,
            patch_size=args.patch_size,
            min_patch_length=args.min_len,
            max_patch_length=args.max_len,
            target_patch_size=args.target_patch_size,
        )
    except InputError as error:
        # one pass, so "--threshold-add" is not rewritten again as "threshold"
        names = re.compile(r"\b(" + "|".join(_FLAG_NAMES) + r")\b")
        message = names.sub(lambda match: _FLAG_NAMES[match.group(1)], error.message)
        raise InputError(message) from None
    mode = PATCH_MODES[config.mode]
    if config.threshold is not None and config.threshold < 0 and mode.threshold_is_amount:
        rises = [repr(name) for name, other in PATCH_MODES.items() if other.theta == "rise"]
        raise InputError(
            f"--threshold {config.threshold:g} is below 0: in mode {config.mode!r} it is an "
            f"amount of entropy in nats, which is never negative (only {' and '.join(rises)} "
            "takes a negative threshold: a fall in entropy)")
    return config


def check_config_fits(config: PatchConfig, record_id: str, start: int, end: int) -> None:
    """Refuse settings the region cannot meet: a mean patch length above its length."""
    target = config.target_patch_size
    if target is not None and target > end - start:
        raise InputError(
            f"--target-patch-size {target:g} is longer than region {start}-{end} of record "
            f"{record_id!r} ({end - start:,} bytes): one patch of the whole region is the "
            "longest mean there is")


def model_entropies(args: argparse.Namespace, record: Record, start: int, end: int):
    """Entropies from ``--model`` (through the score cache), for modes that need them."""
    from engine.scoring import score_region
    from engine.threads import set_threads

    from .score import load_for_record

    set_threads(args.threads)
    model, folder = load_for_record(args.model, record.alphabet)
    return score_region(args.file, record, model, folder, start, end,
                        repeats=not args.no_repeats).entropy


def run(args: argparse.Namespace) -> int:
    out = Path(args.out)
    kind = output_kind(out)
    check_writable(out)
    if args.bedgraph:
        check_writable(args.bedgraph, "--bedgraph")
    config = config_from_args(args)

    with open_sequences(args.file, max_bytes=args.max_bytes) as sequences:
        if len(sequences) == 0:
            raise InputError("no sequence records to patch", path=args.file)
        if args.record is None and len(sequences) > 1:
            if args.region is not None:
                raise InputError(f"--region needs --record: {len(sequences):,} records",
                                 path=args.file)
            if kind == "json" or args.bedgraph:
                what = "--bedgraph" if args.bedgraph else "JSON output"
                raise InputError(f"{what} holds one record and the file has "
                                 f"{len(sequences):,}: give --record, or write BED or TSV",
                                 path=args.file)
            return _patch_every_record(args, config, list(sequences), out, kind)
        record = sequences[args.record] if args.record is not None else sequences[0]
        start, end = check_range(record.id, record.length, *parse_region(args.region))
        if end == start:
            raise InputError(f"region {start}-{end} of record {record.id!r} is empty: "
                             "nothing to patch")
        check_config_fits(config, record.id, start, end)
        if (streamable(config) and kind in ("bed", "tsv")
                and not args.entropies and not args.bedgraph):
            return _stream(config, record.id, start, end, out)
        entropies = None
        if args.entropies:
            entropies = load_entropies(args.entropies, record, start, end)
        elif config.needs_entropies or args.bedgraph:
            entropies = model_entropies(args, record, start, end)
        values = entropies if config.needs_entropies else record.array(start, end)
        result = Patcher(config).patch(values)

    rows = patch_rows(result, offset=start, entropies=entropies)
    if kind == "bed":
        write_bed(out, record.id, rows, track_name=f"{record.id} {config.mode} patches")
    elif kind == "tsv":
        write_tsv(out, record.id, rows)
    else:
        write_json(out, result, record.id, offset=start,
                   extra={"region": [start, end], "file": str(args.file)})
    if args.bedgraph:
        write_bedgraph(args.bedgraph, record.id, entropies, offset=start,
                       track_name=f"{record.id} entropy")

    theta = "" if result.threshold is None else f", threshold {result.threshold!r}"
    patches = "patch" if result.count == 1 else "patches"
    print(f"{format_locus(record.id, start, end)} {config.mode}: {result.count} {patches}, "
          f"mean length {result.mean_length:.3f}, median {result.median_length:g}, max "
          f"{result.max_length}{theta} -> {out}")
    return 0


def _stream(config, record_id: str, start: int, end: int, out: Path) -> int:
    """A length-only mode written chunk by chunk (:mod:`engine.patching.stream`): the record's
    bytes are never read, and memory does not grow with its length."""
    stats = StreamStats()

    def chunks(with_score: bool):
        for index, begin, stop in stream_patches(config, end - start):
            stats.add(stop - begin)
            rows = (index, begin + start, stop + start)
            yield (*rows, None) if with_score else rows

    if output_kind(out) == "bed":
        write_bed_chunks(out, record_id, chunks(True),
                         track_name=f"{record_id} {config.mode} patches")
    else:
        write_tsv_chunks(out, record_id, chunks(False))
    patches = "patch" if stats.count == 1 else "patches"
    print(f"{format_locus(record_id, start, end)} {config.mode}: {stats.count} {patches}, "
          f"mean length {stats.mean_length:.3f}, median {stats.median_length:g}, max "
          f"{stats.max_length} -> {out}")
    return 0


def _patch_every_record(args, config: PatchConfig, records: list[Record], out: Path,
                        kind: str) -> int:
    """Every record's patches into one BED or TSV, record after record (file order). Length
    modes are arithmetic; entropy modes read ``--entropies`` per record, or score records a
    group at a time (:data:`SCORE_GROUP_BYTES`, windows of short records sharing batches:
    engine/score) and patch each as its scores arrive. Memory is one group."""
    stats = StreamStats()
    patcher = Patcher(config)
    whole = [0]  # records shorter than --target-patch-size: one patch each

    def patched(record: Record, entropies):
        if not record.length:
            return None
        target = config.target_patch_size
        if target is not None and target > record.length:
            whole[0] += 1
            mean = None if entropies is None else np.array([float(np.mean(entropies))])
            rows = PatchRows(np.zeros(1, np.int64), np.zeros(1, np.int64),
                             np.array([record.length]), mean)
        else:
            values = entropies if config.needs_entropies else record.array()
            rows = patch_rows(patcher.patch(values), entropies=entropies)
        stats.add(rows.end - rows.start)
        return rows

    def per_record():
        """(record, rows or None)."""
        if streamable(config) and not args.entropies:
            for record in records:
                for index, begin, stop in stream_patches(config, record.length):
                    stats.add(stop - begin)
                    yield record, PatchRows(index, begin, stop, None)
        elif args.entropies or not config.needs_entropies:
            for record in records:
                entropies = (load_entropies(args.entropies, record, 0, record.length)
                             if args.entropies and record.length else None)
                yield record, patched(record, entropies)
        else:
            yield from _model_patched(args, config, records, patched)

    def bed_chunks():
        for record, rows in per_record():
            if rows is not None:
                yield (record.id, rows.index, rows.start, rows.end,
                       bed_scores(rows.mean_entropy, len(rows.index)))

    if kind == "bed":
        write_bed_records(out, bed_chunks(), track_name=f"{config.mode} patches")
    else:
        _write_tsv_rows(out, per_record())
    patches = "patch" if stats.count == 1 else "patches"
    print(f"{len(records):,} records, {stats.n_bytes:,} bytes {config.mode}: {stats.count:,} "
          f"{patches}, mean length {stats.mean_length:.3f}, median {stats.median_length:g}, "
          f"max {stats.max_length} -> {out}")
    if whole[0]:
        print(f"{whole[0]:,} record{'s' if whole[0] > 1 else ''} shorter than "
              f"--target-patch-size {config.target_patch_size:g}: one patch each")
    return 0


def _model_patched(args, config, records: list[Record], patched):
    """(record, rows) for entropy modes scored by ``--model``, a group of records at a time."""
    from engine.score import Job, load_model_for, score_jobs
    from engine.scoring import ScoreCache
    from engine.threads import set_threads

    set_threads(args.threads)
    model, folder = load_model_for(args.model, records)
    repeats = not args.no_repeats
    cache = ScoreCache.for_file(args.file, folder, repeats=repeats)
    group: list[Record] = []
    size = 0
    for record in [*records, None]:
        if record is not None:
            group.append(record)
            size += record.length
            if size < SCORE_GROUP_BYTES:
                continue
        if not group:
            break
        jobs = [Job(0, r, 0, r.length) for r in group]
        collect = _Entropies(group)
        score_jobs(jobs, model, caches=[cache], writer_factory=lambda _jobs, c=collect: c,
                   repeats=repeats)
        for i, r in enumerate(group):
            yield r, patched(r, collect.arrays.pop(i))
        group, size = [], 0


class _Entropies:
    """The writer ``score_jobs`` is given: each record's entropies in one array."""

    def __init__(self, records: list[Record]) -> None:
        self.arrays = {i: np.empty(r.length, np.float32) for i, r in enumerate(records)}

    def __enter__(self) -> _Entropies:
        return self

    def __exit__(self, *_) -> None:
        return None

    def write(self, i: int, piece) -> None:
        self.arrays[i][piece.start:piece.end] = piece.entropy


def _write_tsv_rows(out: Path, per_record) -> None:
    """TSV of every record's rows (mean entropy where there is one)."""
    def lines():
        for record, rows in per_record:
            if rows is None:
                continue
            if rows.mean_entropy is None:
                means = ["NA"] * len(rows.index)
            else:
                means = [f"{m:.6g}" for m in rows.mean_entropy.tolist()]
            for i, a, b, m in zip(rows.index.tolist(), rows.start.tolist(), rows.end.tolist(),
                                  means, strict=True):
                yield f"{record.id}\t{a}\t{b}\t{i}\t{b - a}\t{m}"

    from engine.patching.output import TSV_HEADER, _write_lines

    _write_lines(out, [TSV_HEADER], lines())
