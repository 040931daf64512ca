"""``bytescope patch FILE --mode MODE --out OUT``: cut a record (or a region) into patches.

Entropies come from ``--entropies``: a ``.npy`` 1-D float array (nats), or an HDF5 file with the
dataset ``entropies/<record id>`` or, failing that, ``entropies``. Either holds one value per byte
of the region, or of the whole record (then the region is cut out of it); ``H[t]`` is the
uncertainty about byte ``t + 1``. Without ``--entropies``, entropy modes score the region with
``--model`` (through the score cache).
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import numpy as np

from engine.atomic import check_writable
from engine.cli.arguments import finite_float, positive_float, positive_int
from engine.errors import FormatError, InputError
from engine.io import open_sequences
from engine.io.formats import DEFAULT_MAX_BYTES
from engine.io.records import Record, check_range
from engine.loci import format_locus
from engine.patching import MODES, PatchConfig, Patcher
from engine.patching.output import patch_rows, write_bed, write_bedgraph, write_json, write_tsv

from .regions import parse_region

OUTPUT_SUFFIXES = (".bed", ".tsv", ".json")
H5_DATASET = "entropies"  # per record: entropies/<record id>; else this one dataset

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
        description="Patch one record (the first unless --record) or a region of it. Entropy "
        "modes read per-byte entropies (nats) from --entropies. BED output opens in IGV: one "
        "line per patch, name = patch index, score = 1000 * mean entropy / ln 256.",
    )
    p.add_argument("file", metavar="FILE", help="any file bytescope opens (FASTA, FASTQ, ...)")
    p.add_argument("--record", metavar="ID", help="record id (default: the first record)")
    p.add_argument("--region", metavar="START-END", help="0-based half-open byte range")
    add_patch_options(p, mode_required=True)
    p.add_argument("--out", required=True, metavar="OUT.bed|OUT.tsv|OUT.json",
                   help="output file; its suffix picks the format")
    p.add_argument("--bedgraph", metavar="OUT", help="also write the entropies as bedGraph")
    p.add_argument("--max-bytes", type=positive_int, default=DEFAULT_MAX_BYTES, metavar="N",
                   help="largest file opened as raw bytes (default 1 GiB)")
    p.set_defaults(run=run)


def add_patch_options(p: argparse.ArgumentParser, *, mode_required: bool) -> None:
    """The patcher's options and the entropy source, shared with ``compare-annotations``."""
    p.add_argument("--mode", required=mode_required, choices=MODES,
                   default=None if mode_required else "entropy", help="patching rule")
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
    p.add_argument("--entropies", metavar="FILE.npy|FILE.h5",
                   help=f"per-byte entropies: .npy 1-D array, or HDF5 dataset "
                   f"{H5_DATASET}/<record id> or {H5_DATASET}")
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
        return PatchConfig(
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


def _read_entropy_file(path: Path, record_id: str) -> tuple[np.ndarray, int | None]:
    """The values, and the record offset of the first one when the file says (HDF5 from
    ``bytescope score --out``: attributes ``record_id`` and ``start``)."""
    if not path.exists():
        raise InputError("no such file", path=path)
    suffix = path.suffix.lower()
    try:
        if suffix == ".npy":
            return np.load(path, mmap_mode="r", allow_pickle=False), None
        if suffix in (".h5", ".hdf5"):
            import h5py

            with h5py.File(path, "r") as store:
                per_record = f"{H5_DATASET}/{record_id}"
                if per_record in store and isinstance(store[per_record], h5py.Dataset):
                    return store[per_record][()], None
                if H5_DATASET in store and isinstance(store[H5_DATASET], h5py.Dataset):
                    written_for = store.attrs.get("record_id")
                    if written_for is not None and written_for != record_id:
                        raise InputError(
                            f"these entropies were scored for record {written_for!r}, not "
                            f"{record_id!r}",
                            path=path,
                        )
                    start = store.attrs.get("start")
                    return store[H5_DATASET][()], None if start is None else int(start)
                raise FormatError(
                    f"no dataset {per_record!r} or {H5_DATASET!r} in this HDF5 file", path=path
                )
    except (OSError, ValueError) as error:
        raise FormatError(f"cannot read entropies: {error}", path=path) from None
    raise InputError("entropies must be a .npy or .h5 file", path=path)


def load_entropies(path: str | Path, record: Record, start: int, end: int) -> np.ndarray:
    """The region's entropies from a file holding the region's or the whole record's."""
    path = Path(path)
    values, first = _read_entropy_file(path, record.id)
    if values.ndim != 1 or not (
        np.issubdtype(values.dtype, np.floating) or np.issubdtype(values.dtype, np.integer)
    ):
        raise FormatError(
            f"entropies must be a 1-D array of numbers, not {values.dtype} {values.shape}",
            path=path,
        )
    if first is not None and first != 0:  # a scored region: it must contain the one asked for
        if not (first <= start and end <= first + len(values)):
            raise InputError(
                f"these entropies cover {record.id}:{first}-{first + len(values)}, which does "
                f"not contain {start}-{end}",
                path=path,
            )
        region = values[start - first : end - first]
    elif len(values) == end - start:
        region = values
    elif len(values) == record.length:
        region = values[start:end]
    else:
        raise InputError(
            f"{len(values)} entropies, but region {start}-{end} of record {record.id!r} has "
            f"{end - start} bytes (the record has {record.length}); give one per byte",
            path=path,
        )
    region = np.ascontiguousarray(region)
    if not np.isfinite(region).all():
        where = int(np.flatnonzero(~np.isfinite(region))[0])
        raise InputError(f"entropy for byte {start + where} is not a finite number", path=path)
    return region


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
    if out.suffix.lower() not in OUTPUT_SUFFIXES:
        raise InputError(f"--out {args.out!r}: the name must end in .bed, .tsv or .json")
    check_writable(out)
    if args.bedgraph:
        check_writable(args.bedgraph, "--bedgraph")
    config = config_from_args(args)

    with open_sequences(args.file, max_bytes=args.max_bytes) as sequences:
        if len(sequences) == 0:
            raise InputError("no sequence records to patch", path=args.file)
        record = sequences[args.record] if args.record is not None else sequences[0]
        start, end = check_range(record.id, record.length, *parse_region(args.region))
        if end == start:
            raise InputError(f"region {start}-{end} of record {record.id!r} is empty: "
                             "nothing to patch")
        entropies = None
        if args.entropies:
            entropies = load_entropies(args.entropies, record, start, end)
        elif config.needs_entropies or args.bedgraph:
            entropies = model_entropies(args, record, start, end)
        values = entropies if config.needs_entropies else record.array(start, end)
        result = Patcher(config).patch(values)

    rows = patch_rows(result, offset=start, entropies=entropies)
    suffix = out.suffix.lower()
    if suffix == ".bed":
        write_bed(out, record.id, rows, track_name=f"{record.id} {config.mode} patches")
    elif suffix == ".tsv":
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
