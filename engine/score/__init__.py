"""Scoring whole files: every record, packed into batches, spread over processes.

``bytescope score FILE`` and ``torchrun --nproc_per_node=N -m engine.score FILE... --out X.h5``
(engine/score/__main__.py: the same command) run the same code (:func:`run`, :func:`score_jobs`);
``bytescope score --workers N`` starts N - 1 such processes on this machine and is rank 0.

The work is cut into **units** that do not depend on how many processes share it
(:func:`plan_units`): consecutive records packed up to :data:`UNIT_BYTES`, a longer record cut
at multiples of the scoring stride (so each piece's windows are the windows of the whole
record). Rank r scores units r, r + W, r + 2W, ... (:func:`engine.scoring.iter_span_scores`
packs the windows of a unit's records into shared batches) and rank 0 gathers each round's
results and writes them, in order, to one score file (engine/io/score_file.py) and the cache.
A unit's numbers are computed the same way whichever rank takes it, so a run on N ranks
writes the file a single process writes.

Whole records already in the score cache are read from it, not scored (rank 0 decides and
tells the others); whole records scored are written to it, piece by piece, for the window and
``patch`` to find, when there are at most :data:`CACHE_MAX_RECORDS` or the record has at least
:data:`CACHE_MIN_BYTES` bytes.
"""

from __future__ import annotations

import argparse
import collections
import json
import math
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import numpy as np
import torch

from engine.errors import InputError
from engine.io.records import Record
from engine.scoring import ScoreCache, Scores, Span, chunk_step, iter_span_scores, score

UNIT_BYTES = 1 << 20  # bytes per unit of work: a round of W units is gathered at once
# Whole records scored are cached when the file has few records or the record is long: 100,000
# short reads would be 100,000 cache files, each rescored in milliseconds.
CACHE_MAX_RECORDS = 64
CACHE_MIN_BYTES = 100_000


@dataclass(frozen=True)
class Job:
    """One span to score and where it comes from: ``file`` (index into the files),
    ``record`` (the record), bytes ``[start, end)``."""

    file: int
    record: Record
    start: int
    end: int

    @property
    def whole(self) -> bool:
        return (self.start, self.end) == (0, self.record.length)


@dataclass
class Unit:
    """Work scored in one go by one rank: (job index, start, end) pieces, in order."""

    pieces: list[tuple[int, int, int]] = field(default_factory=list)

    @property
    def size(self) -> int:
        return sum(b - a for _, a, b in self.pieces)


def plan_units(jobs: Sequence[Job], step: int, skip: Sequence[bool] = (),
               unit_bytes: int = UNIT_BYTES) -> list[Unit]:
    """Cut ``jobs`` into units of about ``unit_bytes`` (module docstring). A job longer than a
    unit is cut at ``start + k * span`` with ``span`` a multiple of ``step``; ``skip[i]``
    leaves job i out (cached)."""
    span = max(step, unit_bytes // step * step)
    units: list[Unit] = []
    current = Unit()
    for i, job in enumerate(jobs):
        if (skip and skip[i]) or job.end == job.start:
            continue
        for a in range(job.start, job.end, span):
            b = min(a + span, job.end)
            if current.pieces and current.size + (b - a) > unit_bytes:
                units.append(current)
                current = Unit()
            current.pieces.append((i, a, b))
    if current.pieces:
        units.append(current)
    return units


# ---------------------------------------------------------------------------------------------
# processes


@dataclass(frozen=True)
class World:
    """This process's place among the scoring processes (one, unless started by torchrun or
    ``--workers``)."""

    rank: int = 0
    size: int = 1
    local_rank: int = 0
    local_size: int = 1

    @classmethod
    def from_env(cls) -> World:
        env = os.environ
        if "RANK" not in env or "WORLD_SIZE" not in env:
            return cls()
        size = int(env["WORLD_SIZE"])
        return cls(int(env["RANK"]), size, int(env.get("LOCAL_RANK", env["RANK"])),
                   int(env.get("LOCAL_WORLD_SIZE", size)))


def resolve_device(name: str, world: World) -> torch.device:
    """``auto`` is CUDA (this rank's GPU), else Apple's MPS, else the CPU; asking for a device
    that is not here is an InputError."""
    cuda, mps = torch.cuda.is_available(), torch.backends.mps.is_available()
    if name == "auto":
        name = "cuda" if cuda else "mps" if mps else "cpu"
    if name == "cuda":
        if not cuda:
            raise InputError("--device cuda: no CUDA GPU is visible to torch here")
        return torch.device("cuda", world.local_rank % torch.cuda.device_count())
    if name == "mps" and not mps:
        raise InputError("--device mps: Apple's Metal backend is not available here")
    return torch.device(name)


def backend_for(device: torch.device, world: World) -> str:
    """NCCL when every rank on this machine has a GPU of its own, else gloo (CPUs, or ranks
    sharing one GPU, which NCCL refuses)."""
    if device.type == "cuda" and torch.cuda.device_count() >= world.local_size:
        return "nccl"
    return "gloo"


def _comm_device(device) -> torch.device:
    """Where tensors travel between ranks: the GPU under NCCL, else the CPU (gloo)."""
    import torch.distributed as dist

    if dist.is_initialized() and dist.get_backend() == "nccl":
        return torch.device(device)
    return torch.device("cpu")


def _gather(world: World, result: torch.Tensor, sizes: list[int]) -> list[torch.Tensor]:
    """Every rank's ``result`` (``sizes[r]`` values each) at rank 0; [] elsewhere."""
    import torch.distributed as dist

    width = max(sizes)
    padded = torch.zeros(width, dtype=torch.float32, device=result.device)
    padded[: result.numel()] = result
    if world.rank == 0:
        bins = [torch.empty_like(padded) for _ in range(world.size)]
        dist.gather(padded, bins, dst=0)
        return [b[:n].cpu() for b, n in zip(bins, sizes, strict=True)]
    dist.gather(padded, None, dst=0)
    return []


# ---------------------------------------------------------------------------------------------
# scoring files


@dataclass
class RecordResult:
    """What the summary says of one job."""

    id: str
    start: int
    end: int
    surprisal_sum: float = 0.0
    cached: bool = False

    @property
    def bits_per_byte(self) -> float:
        n = self.end - self.start
        return self.surprisal_sum / n / math.log(2) if n else 0.0


@dataclass
class Summary:
    records: list[RecordResult]
    seconds: float
    world: int
    device: str

    @property
    def n(self) -> int:
        return sum(r.end - r.start for r in self.records)

    @property
    def bits_per_byte(self) -> float:
        n = self.n
        return sum(r.surprisal_sum for r in self.records) / n / math.log(2) if n else 0.0


def score_jobs(
    jobs: Sequence[Job], model, *, caches: Sequence[ScoreCache | None] = (),
    writer_factory=None, world: World | None = None,
    device: torch.device | str = "cpu", context: int | None = None,
    batch_size: int = 8, repeats: bool = True, progress=None,
) -> Summary | None:
    """Score ``jobs`` as this rank of ``world`` (module docstring). ``caches[job.file]`` is the
    score cache of the job's file (None: not used). Rank 0 returns the summary and calls
    ``writer_factory(jobs)`` for a context manager with ``write(job index, Scores)`` (the
    score file, or whatever the caller collects); other ranks return None."""
    t0 = time.perf_counter()
    world = World() if world is None else world
    cached = _cached_mask(jobs, caches, world, device)
    units = plan_units(jobs, chunk_step(model.max_len, context), cached)
    results = [RecordResult(j.record.id, j.start, j.end, cached=bool(c))
               for j, c in zip(jobs, cached, strict=True)]
    total = sum(u.size for u in units)
    done = 0
    from contextlib import ExitStack

    with ExitStack() as stack:
        writer = stack.enter_context(writer_factory(jobs)) if world.rank == 0 and \
            writer_factory is not None else None
        sinks = _CacheSinks(jobs, caches, 0 if len(jobs) <= CACHE_MAX_RECORDS
                            else CACHE_MIN_BYTES) if world.rank == 0 else None
        if sinks is not None:
            stack.callback(sinks.abort)

        def emit(i: int, piece: Scores) -> None:
            results[i].surprisal_sum += float(piece.surprisal.astype(np.float64).sum())
            if writer is not None:
                writer.write(i, piece)
            if sinks is not None:
                sinks.write(i, piece)

        # read when their turn comes
        waiting = collections.deque(i for i, c in enumerate(cached) if c)

        def emit_cached(before: int) -> None:
            """The cached jobs ahead of job ``before``, so every job is written in order."""
            while waiting and waiting[0] < before:
                i = waiting.popleft()
                job = jobs[i]
                whole = caches[job.file].load(job.record.id, job.record.length)
                if whole is None:  # damaged after all (removed): scored here instead
                    emit(i, score(model, job.record, job.start, job.end, context=context,
                                  batch_size=batch_size, device=device, repeats=repeats))
                else:
                    emit(i, whole.region(job.start, job.end))

        for first in range(0, len(units), world.size):
            mine = first + world.rank
            unit = units[mine] if mine < len(units) else Unit()
            values = _score_unit(model, jobs, unit, context=context, batch_size=batch_size,
                                 device=device, repeats=repeats)
            if world.size > 1:
                round_units = [units[k] if k < len(units) else Unit()
                               for k in range(first, first + world.size)]
                gathered = _gather(world, values.to(_comm_device(device)),
                                   [2 * u.size for u in round_units])
            else:
                round_units, gathered = [unit], [values]
            if world.rank == 0:
                for u, flat in zip(round_units, gathered, strict=True):
                    for i, piece in _unpack(jobs, u, flat):
                        emit_cached(i)
                        emit(i, piece)
                        done += len(piece)
                if progress is not None:
                    progress(done, total)
        if world.rank == 0:
            emit_cached(len(jobs))
        if sinks is not None:
            sinks.commit()
    if world.rank != 0:
        return None
    return Summary(results, time.perf_counter() - t0, world.size, str(torch.device(device)))


def _score_unit(model, jobs, unit: Unit, **options) -> torch.Tensor:
    """A unit's entropy then surprisal, piece after piece, as one float32 vector."""
    spans = [Span(jobs[i].record, a, b) for i, a, b in unit.pieces]
    ent = [np.zeros(0, np.float32)] * len(spans)
    sur = [np.zeros(0, np.float32)] * len(spans)
    parts: dict[int, list[Scores]] = {}
    for k, piece in iter_span_scores(model, spans, **options):
        parts.setdefault(k, []).append(piece)
    for k, pieces in parts.items():
        ent[k] = np.concatenate([p.entropy for p in pieces])
        sur[k] = np.concatenate([p.surprisal for p in pieces])
    flat = [x for k in range(len(spans)) for x in (ent[k], sur[k])]
    return torch.from_numpy(np.concatenate(flat) if flat else np.zeros(0, np.float32))


def _unpack(jobs, unit: Unit, flat: torch.Tensor):
    """(job index, Scores) for each piece of ``unit`` from its :func:`_score_unit` vector."""
    values = flat.numpy()
    at = 0
    for i, a, b in unit.pieces:
        n = b - a
        yield i, Scores(jobs[i].record.id, a, values[at:at + n], values[at + n:at + 2 * n])
        at += 2 * n


def _cached_mask(jobs, caches, world: World, device) -> list[bool]:
    """Which jobs rank 0 finds in the cache (a whole record, or a region of one), told to
    every rank so all plan the same units."""
    mask = torch.zeros(len(jobs), dtype=torch.uint8)
    if world.rank == 0 and caches:
        for i, job in enumerate(jobs):
            cache = caches[job.file]
            mask[i] = cache is not None and cache.has(job.record.id, job.record.length)
    if world.size > 1:
        import torch.distributed as dist

        moved = mask.to(_comm_device(device))
        dist.broadcast(moved, src=0)
        mask = moved.cpu()
    return [bool(v) for v in mask.tolist()]


class _CacheSinks:
    """Whole records of at least ``min_bytes`` scored here go to their file's cache, piece by
    piece (rank 0 sees each record's pieces in order)."""

    def __init__(self, jobs, caches, min_bytes: int) -> None:
        self.jobs, self.caches, self.min_bytes = jobs, caches, min_bytes
        self.open: dict[int, object] = {}

    def write(self, i: int, piece: Scores) -> None:
        job = self.jobs[i]
        cache = self.caches[job.file] if self.caches else None
        if cache is None or not job.whole or job.record.length < self.min_bytes:
            return
        entry = self.open.get(i)
        if entry is None:
            if cache.has(job.record.id, job.record.length):
                return  # read from the cache: already there
            entry = self.open[i] = cache.writer(job.record.id, job.record.length)
            entry.__enter__()
        entry.write(piece)
        if piece.end == job.end:
            del self.open[i]
            entry.__exit__(None, None, None)

    def commit(self) -> None:
        self.abort()  # every entry closes at its record's last piece; what is left is partial

    def abort(self) -> None:
        for entry in self.open.values():
            entry.__exit__(RuntimeError, RuntimeError("scoring stopped"), None)
        self.open.clear()


# ---------------------------------------------------------------------------------------------
# the command: shared by ``bytescope score`` and ``python -m engine.score``


OUT_SUFFIXES = (".h5", ".bw", ".bigwig", ".bedgraph", ".npy")
MANY_RECORDS = (".h5", ".bw", ".bigwig")


def run(args: argparse.Namespace, start: int = 0, end: int | None = None) -> int:
    """Score what ``args`` (``bytescope score``'s options; ``--region`` parsed into
    ``start``, ``end``) ask for as this process's rank; rank 0 prints and writes."""
    from contextlib import ExitStack

    from engine.atomic import check_writable
    from engine.io import open_sequences
    from engine.threads import set_threads, usable_cores

    world = World.from_env()
    if args.workers > 1 and world.size > 1:
        raise InputError("--workers starts its own processes: not under torchrun")
    out = args.out
    if out is not None and out.suffix.lower() not in OUT_SUFFIXES:
        raise InputError("--out must end in .h5, .bw, .bedgraph or .npy", path=out)
    if out is not None and out.suffix.lower() in (".bw", ".bigwig"):
        from engine.io.attribution_files import _pybigwig

        _pybigwig(out)  # missing pyBigWig is said before any work
    if out is not None and world.rank == 0:
        check_writable(out)
    with ExitStack() as stack:
        files = [stack.enter_context(open_sequences(f, max_bytes=args.max_bytes))
                 for f in args.files]
        jobs = _jobs(args, files, start, end)
        if out is not None and out.suffix.lower() not in MANY_RECORDS and len(jobs) != 1:
            raise InputError(f"{out.suffix} holds one record; {len(jobs):,} are scored: "
                             "use --out X.h5 or X.bw (or --record)", path=out)
        init = {}
        if args.workers > 1:  # this process is rank 0 of the ones it starts
            world = World(0, args.workers, 0, args.workers)
        threads = set_threads(args.threads or (
            max(1, usable_cores() // world.local_size) if world.local_size > 1 else None))
        device = resolve_device(args.device, world)
        model, folder = load_model_for(args.model, [j.record for j in jobs])
        model.to(device)
        if args.compile:
            from engine.scoring import compile_for_scoring

            model = compile_for_scoring(model)
        repeats = not args.no_repeats
        caches = _caches(args, folder, repeats)
        if args.workers > 1:
            init = _launch(args, threads, stack)
        if world.size > 1:
            import torch.distributed as dist

            dist.init_process_group(backend_for(device, world),
                                    timeout=timedelta(minutes=10), **init)
            stack.callback(dist.destroy_process_group)
        expert = repeats and getattr(model, "repeats", None) is not None
        if expert and world.rank == 0:
            _table_notes(model.repeats, jobs)
        collect = _Collect(out, str(folder), expert, args.context) if out else None
        bar = _progress_bar(args, world, stack)
        summary = score_jobs(jobs, model, caches=caches,
                             writer_factory=collect, world=world, device=device,
                             context=args.context, batch_size=args.batch_size,
                             repeats=repeats, progress=bar)
    if summary is None:
        return 0
    _print_summary(args, summary, str(folder), expert, threads)
    return 0


def _table_notes(config, jobs: Sequence[Job], shown: int = 3) -> None:
    """Say on stderr where the repeat expert's table is too small for a record."""
    from engine.models.repeats import table_note

    notes = [n for n in (table_note(j.record.length, config) for j in jobs) if n]
    for note in notes[:shown]:
        print(f"note: {note}", file=sys.stderr)


def _jobs(args, files, start: int, end: int | None) -> list[Job]:
    """What to score: ``--record`` (in the first file that has it) or every record of every
    file; ``--region`` of the one record."""
    if args.record is not None and len(files) == 1:
        records = [(0, files[0][args.record])]  # its error names the ids there are
    elif args.record is not None:
        for f, sf in enumerate(files):
            if args.record in sf.ids:
                records = [(f, sf[args.record])]
                break
        else:
            raise InputError(f"no record {args.record!r} in "
                             f"{', '.join(map(str, args.files))}")
    else:
        records = [(f, r) for f, sf in enumerate(files) for r in sf]
        seen: dict[str, int] = {}
        for f, r in records:
            if seen.setdefault(r.id, f) != f:
                raise InputError(f"record {r.id!r} is in both {args.files[seen[r.id]]} and "
                                 f"{args.files[f]}: score them into separate files")
    if len(records) == 1 and records[0][1].length == 0:
        raise InputError(f"record {records[0][1].id!r} is empty (a header with no sequence): "
                         "nothing to score", path=args.files[records[0][0]])
    if records and all(r.length == 0 for _, r in records):
        raise InputError(f"every record of {', '.join(map(str, args.files))} is empty: "
                         "nothing to score")
    if args.region is not None:
        if len(records) != 1:
            raise InputError(f"--region needs --record: {len(records):,} records are scored")
        f, r = records[0]
        from engine.io.records import check_range

        a, b = check_range(r.id, r.length, start, end)
        if a == b:
            raise InputError(f"region {a}-{b} of record {r.id!r} is empty: nothing to score",
                             path=args.files[f])
        return [Job(f, r, a, b)]
    return [Job(f, r, 0, r.length) for f, r in records]


def load_model_for(spec: str, records: Sequence[Record]):
    """(model, its folder) for ``--model`` over ``records``: ``default`` picks the bundled
    model of their alphabet, and refuses records of several alphabets."""
    from engine.models import load_model
    from engine.models.defaults import resolve_model_path

    alphabets = sorted({r.alphabet for r in records}) or ["dna"]
    if spec == "default" and len(alphabets) > 1:
        raise InputError(f"the records are of several alphabets ({', '.join(alphabets)}): the "
                         "default model is one per alphabet; give --model or --record")
    folder = resolve_model_path(spec, alphabets[0])
    return load_model(folder), folder


def _caches(args, folder, repeats: bool) -> list[ScoreCache | None]:
    if args.no_cache:
        return [None] * len(args.files)
    return [ScoreCache.for_file(f, folder, repeats=repeats, context=args.context)
            for f in args.files]


class _Collect:
    """The writer ``score_jobs`` asks for ``--out``: the score file for ``.h5``, a bigWig,
    or whole arrays for a bedGraph or ``.npy``."""

    def __init__(self, out: Path, model: str, repeats: bool, context: int | None) -> None:
        self.out, self.model, self.repeats, self.context = out, model, repeats, context

    def __call__(self, jobs):
        from engine.io.score_file import BigWigWriter, ScoreFileWriter

        if self.out.suffix.lower() in (".bw", ".bigwig"):
            return BigWigWriter(self.out, [(j.record.id, j.start, j.end, j.record.length)
                                           for j in jobs])
        if self.out.suffix.lower() == ".h5":
            return ScoreFileWriter(self.out, [(j.record.id, j.start, j.end, j.record.length)
                                              for j in jobs],
                                   model=self.model, repeats=self.repeats, context=self.context)
        return _WholeWriter(self.out, jobs[0])


class _WholeWriter:
    """One record's pieces gathered, then written as a bedGraph or ``.npy`` (atomically)."""

    def __init__(self, out: Path, job: Job) -> None:
        self.out, self.job = out, job
        self.entropy = np.empty(job.end - job.start, np.float32)

    def __enter__(self):
        return self

    def write(self, i, piece: Scores) -> None:
        a = piece.start - self.job.start
        self.entropy[a:a + len(piece)] = piece.entropy

    def __exit__(self, kind, *_):
        if kind is not None:
            return None
        from engine.atomic import atomic_open
        from engine.patching.output import write_bedgraph

        rid = self.job.record.id
        if self.out.suffix.lower() == ".npy":
            with atomic_open(self.out, "wb") as handle:
                np.save(handle, self.entropy)
        else:
            write_bedgraph(self.out, rid, self.entropy, offset=self.job.start,
                           track_name=f"{rid} entropy (nats)")
        return None


def _progress_bar(args, world: World, stack):
    """A tqdm bar on stderr (rank 0, a terminal, not --json or --no-progress), or None."""
    if world.rank != 0 or args.no_progress or args.json or not sys.stderr.isatty():
        return None
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    bar = stack.enter_context(tqdm(total=0, unit="B", unit_scale=True, desc="scoring",
                                   file=sys.stderr))

    def update(done: int, total: int) -> None:
        bar.total = total
        bar.update(done - bar.n)

    return update


def peak_rss_mb() -> float:
    """This process's peak resident memory in MB: Linux's ``VmHWM`` (this program's own;
    ``ru_maxrss`` keeps the parent's peak across fork and exec, so a process started by a
    large one would report that), else ``ru_maxrss``, else NaN."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024  # kB
    except OSError:
        pass
    try:
        import resource
    except ImportError:  # Windows
        return float("nan")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024  # bytes / KiB


def _print_summary(args, summary: Summary, model: str, repeats: bool, threads: int) -> None:
    from engine.loci import format_locus

    if args.json:
        print(json.dumps({
            "bits_per_byte": summary.bits_per_byte, "n": summary.n, "model": model,
            "repeats": repeats, "seconds": summary.seconds, "threads": threads,
            "workers": summary.world, "device": summary.device,
            "peak_rss_mb": peak_rss_mb(),
            "records": [{"id": r.id, "start": r.start, "end": r.end,
                         "bits_per_byte": r.bits_per_byte, "cached": r.cached}
                        for r in summary.records]}))
        return
    shown = summary.records if len(summary.records) <= 20 else summary.records[:10]
    for r in shown:
        print(f"{format_locus(r.id, r.start, r.end)}  {r.bits_per_byte:.4f} bits/byte"
              f"{'  (cached)' if r.cached else ''}")
    if len(shown) < len(summary.records):
        print(f"... and {len(summary.records) - len(shown):,} more records (--json or --out "
              "X.h5 for each)")
    n, s = summary.n, summary.seconds
    workers = f", {summary.world} processes" if summary.world > 1 else ""
    print(f"{len(summary.records):,} record{'s' if len(summary.records) != 1 else ''}, "
          f"{n:,} bytes: {summary.bits_per_byte:.4f} bits/byte in {s:.2f}s "
          f"({n / max(s, 1e-9):,.0f} bytes/s, {threads} thread{'s' if threads > 1 else ''}"
          f"{workers}, {summary.device})  model {model}{' + repeat expert' if repeats else ''}")
    if args.out is not None:
        print(f"wrote {args.out}")


def _launch(args, threads: int, stack) -> dict:
    """``--workers N``: start ranks 1..N-1 as ``python -m engine.score`` processes (gloo over
    127.0.0.1, the environment torchrun would give them) and return the init options of rank 0,
    this process. A worker that fails ends the command with its exit code, never a hang."""
    import socket
    import threading

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    n = args.workers
    argv = _argv(args)
    procs = []
    for rank in range(1, n):
        env = dict(os.environ, RANK=str(rank), WORLD_SIZE=str(n), LOCAL_RANK=str(rank),
                   LOCAL_WORLD_SIZE=str(n), MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
        procs.append(subprocess.Popen(
            [sys.executable, "-m", "engine.score", *argv, "--threads", str(threads)],
            env=env, stdout=subprocess.DEVNULL))

    def watch(proc: subprocess.Popen, rank: int) -> None:
        code = proc.wait()
        if code != 0 and not finished.is_set():
            print(f"bytescope score: error: worker {rank} of {n} stopped (exit code {code})",
                  file=sys.stderr, flush=True)
            os._exit(code if code > 0 else 1)

    finished = threading.Event()
    for rank, proc in enumerate(procs, 1):
        threading.Thread(target=watch, args=(proc, rank), daemon=True).start()

    def end(kind, *_) -> None:  # rank 0 done (or failed: then the workers are stopped)
        finished.set()
        for proc in procs:
            if kind is not None:
                proc.kill()
            proc.wait()

    stack.push(end)
    return {"init_method": f"tcp://127.0.0.1:{port}", "rank": 0, "world_size": n}


def _argv(args) -> list[str]:
    """The options of ``args`` as the workers' command line (without --workers, --json,
    --threads)."""
    argv = [str(f) for f in args.files]
    for flag, value in (("--record", args.record), ("--region", args.region),
                        ("--model", args.model), ("--out", args.out),
                        ("--context", args.context), ("--batch-size", args.batch_size),
                        ("--device", args.device), ("--max-bytes", args.max_bytes)):
        if value is not None:
            argv += [flag, str(value)]
    for flag, on in (("--no-repeats", args.no_repeats), ("--no-cache", args.no_cache),
                     ("--compile", args.compile)):
        if on:
            argv.append(flag)
    return [*argv, "--no-progress"]


