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
from contextlib import ExitStack
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
# Modes whose threshold is an entropy level (or, for greedy, a budget of entropy): never < 0.
LEVEL_MODES = ("entropy", "dual", "greedy", "optimal")

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
                   help="largest raw-bytes file, and most a compressed file may inflate to "
                        "(default 1 GiB)")
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
    if config.threshold is not None and config.threshold < 0 and config.mode in LEVEL_MODES:
        raise InputError(
            f"--threshold {config.threshold:g} is below 0: in mode {config.mode!r} it is an "
            "amount of entropy in nats, which is never negative (only 'monotonic' takes a "
            "negative threshold: a fall in entropy)")
    return config


def check_config_fits(config: PatchConfig, record_id: str, start: int, end: int) -> None:
    """Refuse settings the region cannot meet: a mean patch length above its length."""
    target = config.target_patch_size
    if target is not None and target > end - start:
        raise InputError(
            f"--target-patch-size {target:g} is longer than region {start}-{end} of record "
            f"{record_id!r} ({end - start:,} bytes): one patch of the whole region is the "
            "longest mean there is")


def _npy_values(path: Path) -> np.ndarray:
    """A ``.npy`` mapped, not read, after its header is checked against the file's size (a
    4 KB file may declare billions of values) and for pickled objects (never loaded)."""
    from numpy.lib import format as npy

    with open(path, "rb") as handle:
        try:
            version = npy.read_magic(handle)
            read_header = {(1, 0): npy.read_array_header_1_0,
                           (2, 0): npy.read_array_header_2_0}.get(version)
            header = read_header(handle) if read_header is not None else None
        except ValueError as error:
            raise FormatError(f"not a .npy array: {error}", path=path) from None
        data_start = handle.tell()
    if header is not None:  # version 3 headers go straight to np.load, which checks them too
        shape, _, dtype = header
        if dtype.hasobject:
            raise FormatError("this .npy holds Python objects (a pickle); bytescope never "
                              "unpickles, save plain numbers", path=path)
        declared = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
        held = path.stat().st_size - data_start
        if declared > held:
            raise FormatError(f"the header declares {shape} {dtype} ({declared:,} bytes) but "
                              f"the file holds {max(held, 0):,} after it: truncated", path=path)
    return np.load(path, mmap_mode="r", allow_pickle=False)


def _h5_values(path: Path, record_id: str, stack: ExitStack) -> tuple[object, int | None]:
    """The entropies dataset of an HDF5 file, checked but not read, and the record offset of
    its first value when the file says (``bytescope score --out``: attributes ``record_id``
    and ``start``)."""
    import h5py

    from engine.io.store import check_stored

    store = stack.enter_context(h5py.File(path, "r"))
    per_record = f"{H5_DATASET}/{record_id}"
    if per_record in store and isinstance(store[per_record], h5py.Dataset):
        dataset, first = store[per_record], None
    elif H5_DATASET in store and isinstance(store[H5_DATASET], h5py.Dataset):
        dataset = store[H5_DATASET]
        written_for = store.attrs.get("record_id")
        if isinstance(written_for, bytes):
            written_for = written_for.decode("utf-8", "replace")
        if written_for is not None and written_for != record_id:
            raise InputError(f"these entropies were scored for record {written_for!r}, not "
                             f"{record_id!r}", path=path)
        first = store.attrs.get("start")
        if first is not None:
            if isinstance(first, (bool, np.bool_)) or not isinstance(first, (int, np.integer)) \
                    or first < 0:
                raise FormatError(f"attribute 'start' is {first!r}, not a record offset",
                                  path=path)
            first = int(first)
    else:
        raise FormatError(
            f"no dataset {per_record!r} or {H5_DATASET!r} in this HDF5 file", path=path)
    check_stored(dataset, path)
    return dataset, first


def _wanted_slice(shape: tuple, dtype: np.dtype, first: int | None, record: Record,
                  start: int, end: int, path: Path) -> tuple[int, int]:
    """Which values of a file of ``shape`` hold region ``[start, end)``: checked against the
    record before anything is read."""
    if len(shape) != 1 or not (
        np.issubdtype(dtype, np.floating) or np.issubdtype(dtype, np.integer)
    ):
        raise FormatError(f"entropies must be a 1-D array of numbers, not {dtype} {shape}",
                          path=path)
    n = shape[0]
    if first is not None:  # a scored region: it must lie in the record and contain the one asked
        if first + n > record.length:
            raise InputError(f"these entropies cover {record.id}:{first}-{first + n}, past the "
                             f"end of the record ({record.length} bytes)", path=path)
        if not (first <= start and end <= first + n):
            raise InputError(f"these entropies cover {record.id}:{first}-{first + n}, which "
                             f"does not contain {start}-{end}", path=path)
        return start - first, end - first
    if n == end - start:
        return 0, n
    if n == record.length:
        return start, end
    raise InputError(
        f"{n} entropies, but region {start}-{end} of record {record.id!r} has "
        f"{end - start} bytes (the record has {record.length}); give one per byte",
        path=path,
    )


def load_entropies(path: str | Path, record: Record, start: int, end: int) -> np.ndarray:
    """The region's entropies from a file holding the region's or the whole record's.

    ``.npy`` files are mapped and HDF5 datasets sliced: only the region is read, after the
    file's declared size is checked against the record and against the bytes it holds.
    """
    path = Path(path)
    if not path.exists():
        raise InputError("no such file", path=path)
    if path.is_dir():
        raise InputError("is a folder, not a file", path=path)
    suffix = path.suffix.lower()
    if suffix not in (".npy", ".h5", ".hdf5"):
        raise InputError("entropies must be a .npy or .h5 file", path=path)
    try:
        with ExitStack() as stack:
            if suffix == ".npy":
                values, first = _npy_values(path), None
            else:
                values, first = _h5_values(path, record.id, stack)
            lo, hi = _wanted_slice(values.shape, values.dtype, first, record, start, end, path)
            region = np.ascontiguousarray(values[lo:hi])
    # what numpy and h5py raise for a damaged file (unreadable chunks, broken links, bad types)
    except (OSError, KeyError, TypeError, ValueError) as error:
        raise FormatError(f"cannot read entropies: {error}", path=path) from None
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
        check_config_fits(config, record.id, start, end)
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
