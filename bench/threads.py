"""Scoring speed against torch's thread count, and why torch's default can lose to 1 thread.

    python bench/threads.py [--bytes 200000] [--threads-list 1 2 4] [--busy 1] [--repeats 1]

Rows score bytes [100,000, 100,000 + BYTES) of the bundled prokka_BAC_00001 record (470 kb,
the sequence inside the GFF3) in this process after ``torch.set_num_threads(T)``, with the
bundled ``fast`` and ``default`` nucleotide models, the network alone and with its repeat
expert (``score()`` as ``bytescope score`` calls it, no cache). Time: the median of --repeats
calls after a 20 kb warm-up call; ratio: throughput against the first count of the list (1),
measured in the same run. --threads-list defaults to 1, 2, 4, ..., every core but one, every
core.

Then four checks of the cause:
- numba: the repeat expert's pass (the only numba work) is timed, and numba's threading layer
  is asked whether it ever started (it does only for ``parallel=True`` kernels; none here).
- torch's inter-op threads: the fast network at the most threads in fresh processes, with
  torch's default inter-op pool and with ``torch.set_num_interop_threads(1)``, interleaved.
- a busy machine: the fast model again while --busy N processes spin (``while True: pass``),
  as other jobs on a shared machine do, with the count :func:`engine.threads.default_threads`
  picks under that load.
- the CLI as a user runs it: ``bytescope score --model fast --no-repeats --no-cache``, whole
  process, with ``--threads 1`` and with its default count (an OMP_NUM_THREADS in the
  environment is that default), as found and with --busy N spinning.

About 2 minutes on a 2-core machine with the defaults; ``--busy 0`` skips the busy rows.
Other processes on the machine change every figure: the header and the end print the load.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import numba
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.patching import median_time  # noqa: E402  (the same timing rule as every bench)
from engine.io import open_sequences  # noqa: E402
from engine.models import load_model  # noqa: E402
from engine.models.defaults import resolve_model_path  # noqa: E402
from engine.scoring import copy_guesses, score  # noqa: E402
from engine.threads import busy_cores, default_threads, usable_cores  # noqa: E402

SAMPLE = REPO / "resources" / "samples" / "prokka_BAC_00001.gff3.gz"
START = 100_000
TORCH_DEFAULT = torch.get_num_threads()  # before this script sets any

WARM = 20_000  # warm-up bytes: a full batch of 8 windows of either model

CHILD = """
import sys, json, time, torch
if {interop}:
    torch.set_num_interop_threads({interop})
torch.set_num_threads({threads})
sys.path.insert(0, {repo!r})
from engine.io import open_sequences
from engine.models import load_model
from engine.models.defaults import resolve_model_path
from engine.scoring import score
with open_sequences({sample!r}) as sf:
    record = sf[0]
    model = load_model(resolve_model_path("fast", "dna"))
    score(model, record, {start}, {start} + {warm}, repeats=False)
    times = []
    for _ in range({repeats}):
        t0 = time.perf_counter()
        score(model, record, {start}, {end}, repeats=False)
        times.append(time.perf_counter() - t0)
print(json.dumps([sorted(times)[len(times) // 2], torch.get_num_interop_threads()]))
"""


def default_list() -> list[int]:
    cores = os.cpu_count() or 1
    counts = {cores, max(1, cores - 1)}
    t = 1
    while t < cores:
        counts.add(t)
        t *= 2
    return sorted(counts)


@contextmanager
def spinning(n: int):
    """``n`` processes that each keep a core busy, as other jobs on a shared machine do."""
    procs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(n)]
    try:
        time.sleep(0.5 if n else 0)  # let the scheduler see them
        yield
    finally:
        for proc in procs:
            proc.kill()
        for proc in procs:
            proc.wait()


def time_score(model, record, n: int, threads: int, expert: bool, repeats: int) -> float:
    torch.set_num_threads(threads)
    score(model, record, START, START + WARM, repeats=expert)  # first-call costs
    return median_time(lambda: score(model, record, START, START + n, repeats=expert), repeats)


def rows_for(label: str, model, record, n: int, counts: list[int], expert: bool,
             repeats: int) -> list[tuple[str, int, float, float]]:
    """(what, threads, seconds, ratio to the first count) per thread count."""
    out = []
    base = None
    for t in counts:
        seconds = time_score(model, record, n, t, expert, repeats)
        base = base or seconds
        out.append((f"{label}, {t} thread{'s' if t > 1 else ''}", t, seconds, base / seconds))
    return out


def print_rows(title: str, rows, n: int) -> None:
    print(f"\n{title}")
    print(f"{'what':<52} {'size':>9} {'time':>8} {'bytes/s':>10} {'ratio':>6}")
    for what, _, seconds, ratio in rows:
        print(f"{what:<52} {n:>9,} {seconds:>7.2f}s {n / seconds:>10,.0f} {ratio:>6.2f}")


def cli_score(n: int, threads: int | None) -> tuple[float, float, int]:
    """(whole-process seconds, scoring seconds, threads used) of ``bytescope score``."""
    cmd = [sys.executable, "-m", "engine", "score", str(SAMPLE), "--region",
           f"{START}-{START + n}", "--model", "fast", "--no-repeats", "--no-cache", "--json"]
    if threads:
        cmd += ["--threads", str(threads)]
    t0 = time.perf_counter()
    out = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, check=True).stdout
    wall = time.perf_counter() - t0
    result = json.loads(out.strip().splitlines()[-1])
    return wall, result["seconds"], result["threads"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bytes", type=int, default=200_000, help="bytes scored per row")
    parser.add_argument("--threads-list", type=int, nargs="+", default=None, metavar="T",
                        help="thread counts (default: 1, 2, 4, ... and every core)")
    parser.add_argument("--models", nargs="+", default=["fast", "default"])
    parser.add_argument("--repeats", type=int, default=1, help="timed calls per row (median)")
    parser.add_argument("--busy", type=int, default=1, metavar="N",
                        help="spinning processes for the busy rows (0: none)")
    args = parser.parse_args()
    counts = args.threads_list or default_list()
    n = args.bytes

    env = {k: os.environ[k] for k in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OMP_WAIT_POLICY")
           if k in os.environ}
    busy = busy_cores()
    print(f"{os.cpu_count()} CPUs ({usable_cores()} usable), torch {torch.__version__} "
          f"({torch.__config__.parallel_info().splitlines()[-1].strip()}), default "
          f"{TORCH_DEFAULT} intra-op / {torch.get_num_interop_threads()} inter-op threads; "
          f"env {env or 'none set'}")
    print(f"load average {', '.join(f'{x:.2f}' for x in os.getloadavg())}; other processes "
          f"keep {busy:.2f} cores busy now, so engine.threads.default_threads() picks "
          f"{default_threads(busy=busy)}")

    with open_sequences(SAMPLE) as sf:
        record = sf[0]
        n = min(n, record.length - START)
        models = {spec: load_model(resolve_model_path(spec, "dna")) for spec in args.models}
        for spec, model in models.items():
            rows = []
            for expert in (False, True) if getattr(model, "repeats", None) else (False,):
                label = f"{spec}, {'+ repeat expert' if expert else 'network only'}"
                rows += rows_for(label, model, record, n, counts, expert, args.repeats)
            print_rows(f"{spec} ({resolve_model_path(spec, 'dna').name}), in this process:",
                       rows, n)

        # numba: the repeat expert's pass is the only numba work while scoring
        fast = models.get("fast") or next(iter(models.values()))
        if getattr(fast, "repeats", None) is not None:
            try:  # asked before anything else touches numba's threads (that would start them)
                layer = f"started ({numba.threading_layer()})"
            except ValueError:
                layer = "never started: no parallel kernel ran, so its thread count is moot"
            seconds = median_time(lambda: copy_guesses(fast.repeats, record, START + n), 3)
            print(f"\nnumba: the repeat expert's pass over [0, {START + n:,}) takes "
                  f"{seconds * 1000:.1f} ms (single-threaded njit); after every row above, "
                  f"numba's threading layer has {layer}")

        # torch's inter-op pool: children with torch's default and with 1 inter-op thread,
        # interleaved and best of two each, so a burst of other work hits both alike
        top = max(counts)
        print(f"\ninter-op threads, fast network at {top} threads, each in a fresh process "
              "(best of two):")
        best: dict[int, tuple[float, int]] = {}
        for interop in (0, 1, 0, 1):
            code = CHILD.format(threads=top, interop=interop, repo=str(REPO),
                                sample=str(SAMPLE), start=START, end=START + n, warm=WARM,
                                repeats=args.repeats)
            seconds, used = json.loads(subprocess.run(
                [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True,
                check=True).stdout)
            best[interop] = min(best.get(interop, (seconds, used)), (seconds, used))
        for interop, (seconds, used) in best.items():
            print(f"  {used} inter-op thread{'s' if used > 1 else ''}"
                  f"{' (torch default)' if not interop else ''}: {n / seconds:,.0f} bytes/s")
        if os.path.isdir("/proc/self/task"):
            print(f"  OS threads in this process now: {len(os.listdir('/proc/self/task'))} "
                  f"(main, {max(counts) - 1} OpenMP workers from the last row, and the "
                  "inter-op pool's threads once anything started it)")

        if args.busy:
            with spinning(args.busy):
                busy_now = busy_cores()
                pick = default_threads(busy=busy_now)
                rows = []
                for expert in (False, True) if getattr(fast, "repeats", None) else (False,):
                    label = f"fast, {'+ repeat expert' if expert else 'network only'}"
                    rows += rows_for(label, fast, record, n, sorted({*counts, pick}), expert,
                                     args.repeats)
                print_rows(f"while {args.busy} process{'es' if args.busy > 1 else ''} spin "
                           f"(measured busy: {busy_now:.2f} cores; default_threads() picks "
                           f"{pick}):", rows, n)

    print(f"\nbytescope score --model fast --no-repeats, {n:,} bytes, whole process; ratio: "
          "scoring speed against --threads 1 under the same load:")
    print(f"{'what':<52} {'threads':>7} {'process':>8} {'scoring':>8} {'bytes/s':>10} "
          f"{'ratio':>6}")
    for load in (0, args.busy) if args.busy else (0,):
        with spinning(load):
            base = None
            for threads in (1, None):
                wall, seconds, used = cli_score(n, threads)
                base = base or seconds
                what = (f"{f'+ {load} spinning' if load else 'as found'}, "
                        f"{'--threads 1' if threads else 'its default threads'}")
                print(f"{what:<52} {used:>7} {wall:>7.2f}s {seconds:>7.2f}s "
                      f"{n / seconds:>10,.0f} {base / seconds:>6.2f}")
    print(f"\nload average at the end {', '.join(f'{x:.2f}' for x in os.getloadavg())}")

if __name__ == "__main__":
    main()
