"""Scale figures (issue 16): a human-chromosome-sized record and a 100,000-record file.

Run: ``python bench/scale.py [--data ../shared/data] [--dir /tmp/bytescope-scale]
[--mbp 250] [--records 100000] [--rows info,api,patch,score,gtf,gui]``.

Builds, seeded and never committed, in ``--dir``:

* ``big.fa``: one record of ``--mbp`` Mbp, HS11286's chromosome repeated with 1% of bases
  substituted in each copy (so no two copies are equal), 60-column lines;
* ``many.fa``: ``--records`` records of 2 kb cut at random places of the chromosome.

Each row runs a fresh ``bytescope`` process (or the Python API in one) and reports wall time
and peak RSS (``/usr/bin/time -v`` where present, else the children's ``ru_maxrss``), beside
``samtools faidx`` measured in the same run when samtools is installed (Debian: ``apt-get
install samtools``; the column says when it is not). "first" deletes the ``.fai`` and the
cache first; "reopen" runs again with both in place. Goals (issue 16, this 2-core CPU): info
<= 2x samtools, reopen <= 0.5 s and < 300 MB; static patching <= 3 s and < 1 GB; a Python-API
call on a many-record file not dominated by hashing; scoring many short records at >= 80% of
one long record's throughput.
"""

from __future__ import annotations

import argparse
import lzma
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
LETTERS = np.frombuffer(b"ACGT", np.uint8)


def chromosome(data: Path) -> np.ndarray:
    """HS11286's chromosome (the first record of the shared FASTA) as bytes."""
    text = lzma.open(data / "klebsiella_hs11286.fna.xz").read()
    first = text.split(b">")[1]
    body = first.split(b"\n", 1)[1]
    return np.frombuffer(body.replace(b"\n", b""), np.uint8).copy()


def write_lines(handle, seq: np.ndarray, width: int = 60) -> None:
    """``seq`` as ``width``-column lines, vectorised (one reshape per 6 Mbp block)."""
    block = width * 100_000
    for lo in range(0, len(seq), block):
        part = seq[lo:lo + block]
        full = len(part) // width * width
        rows = np.empty((full // width, width + 1), np.uint8)
        rows[:, :width] = part[:full].reshape(-1, width)
        rows[:, width] = ord("\n")
        handle.write(rows.tobytes())
        if full < len(part):
            handle.write(part[full:].tobytes() + b"\n")


def build_big(path: Path, chrom: np.ndarray, mbp: int, seed: int = 0) -> None:
    """One record: the copies are concatenated before the lines are cut, so every line but
    the last is 60 bases (a regular FASTA, as samtools needs)."""
    rng = np.random.default_rng(seed)
    total = mbp * 1_000_000
    parts, written = [], 0
    while written < total:
        copy = chrom[: total - written].copy()
        hit = rng.random(len(copy)) < 0.01
        copy[hit] = LETTERS[rng.integers(0, 4, int(hit.sum()))]
        parts.append(copy)
        written += len(copy)
    seq = np.concatenate(parts)
    with open(path, "wb") as out:
        out.write(b">big synthetic: HS11286 chromosome copies, 1% substituted each\n")
        write_lines(out, seq)


def build_many(path: Path, chrom: np.ndarray, n: int, width: int = 2000, seed: int = 1) -> None:
    rng = np.random.default_rng(seed)
    starts = rng.integers(0, len(chrom) - width, n)
    with open(path, "wb") as out:
        for i, s in enumerate(starts):
            out.write(b">r%06d\n" % i)
            out.write(chrom[s:s + width].tobytes() + b"\n")


def timed(argv: list[str], cwd: Path = REPO, output: list | None = None
          ) -> tuple[float, float]:
    """(wall seconds, peak RSS MB) of one process (its stdout appended to ``output``)."""
    gnu_time = shutil.which("time") or ("/usr/bin/time" if Path("/usr/bin/time").exists()
                                        else None)
    if gnu_time:
        with tempfile.NamedTemporaryFile("r", suffix=".txt") as report:
            t0 = time.perf_counter()
            done = subprocess.run([gnu_time, "-v", "-o", report.name, *argv], cwd=cwd,
                                  check=True, stdout=subprocess.PIPE,
                                  stderr=subprocess.DEVNULL, text=True)
            seconds = time.perf_counter() - t0
            if output is not None:
                output.append(done.stdout)
            for line in Path(report.name).read_text().splitlines():
                if "Maximum resident set size" in line:
                    return seconds, int(line.split()[-1]) / 1024
        return seconds, float("nan")
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t0 = time.perf_counter()
    subprocess.run(argv, cwd=cwd, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    seconds = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return seconds, max(before, after) / 1024


def forget(path: Path, cache: Path) -> None:
    """A first open: no .fai beside the file, an empty cache."""
    Path(str(path) + ".fai").unlink(missing_ok=True)
    shutil.rmtree(cache, ignore_errors=True)
    cache.mkdir(parents=True)


def samtools_row(path: Path) -> str:
    samtools = shutil.which("samtools")
    if samtools is None:
        return "samtools not installed"
    Path(str(path) + ".fai").unlink(missing_ok=True)
    seconds, rss = timed([samtools, "faidx", str(path)])
    Path(str(path) + ".fai").unlink(missing_ok=True)
    return f"{seconds:.2f} s, {rss:.0f} MB"


def row(what: str, size: str, seconds: float, rss: float, baseline: str, goal: str) -> None:
    print(f"| {what} | {size} | {seconds:.2f} s | {rss:,.0f} MB | {baseline} | {goal} |")


def bench_info(path: Path, size: str, cache: Path) -> None:
    base = samtools_row(path)
    bytescope = [sys.executable, "-m", "engine", "info", str(path)]
    forget(path, cache)
    seconds, rss = timed(bytescope)
    row("info, first open", size, seconds, rss, base, "<= 2x samtools")
    seconds, rss = timed(bytescope)
    row("info, reopen", size, seconds, rss, "", "<= 0.5 s, < 300 MB")


def bench_api(path: Path, size: str, calls: int = 5) -> None:
    """Python-API calls on the many-record file, each as a fresh Workbench user would make
    them: open, read one record, score-cache key (the file's content hash)."""
    code = (
        "import sys, time\n"
        "from engine.io import open_sequences\n"
        "from engine.io.cache import content_hash\n"
        f"path = {str(path)!r}\n"
        "times = []\n"
        f"for i in range({calls}):\n"
        "    t0 = time.perf_counter()\n"
        "    with open_sequences(path) as sf:\n"
        "        sf[i].fetch(0, 100)\n"
        "    content_hash(path)\n"
        "    times.append(time.perf_counter() - t0)\n"
        "print(times[0], sorted(times[1:])[len(times[1:]) // 2])\n"
    )
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, check=True,
                         capture_output=True, text=True).stdout.split()
    first, later = float(out[0]), float(out[1])
    print(f"| API call (open, fetch, content hash), first / later | {size} | {first:.3f} s / "
          f"{later:.3f} s | | whole process {time.perf_counter() - t0:.1f} s | "
          "not dominated by hashing |")


def bench_patch(path: Path, size: str, cache: Path) -> None:
    out = cache.parent / "static.bed"
    seconds, rss = timed([sys.executable, "-m", "engine", "patch", str(path), "--mode",
                          "static", "--patch-size", "4", "--out", str(out)])
    mb = out.stat().st_size / 1e6 if out.exists() else 0
    out.unlink(missing_ok=True)
    # the patching alone, in this process, without the BED text: what is left is formatting
    # and writing the output
    from engine.io import open_sequences
    from engine.patching import PatchConfig
    from engine.patching.stream import stream_patches

    length = next(iter(open_sequences(path))).length
    t0 = time.perf_counter()
    count = sum(len(index) for index, _, _ in stream_patches(
        PatchConfig(mode="static", patch_size=4), length))
    arithmetic = time.perf_counter() - t0
    row(f"patch --mode static ({mb:,.0f} MB of BED)", size, seconds, rss,
        f"patching alone: {arithmetic:.2f} s for {count:,} patches", "<= 3 s, < 1 GB")


def bench_score(big: Path, chrom: np.ndarray | None, data: Path, folder: Path,
                records: int = 2_000, loop: int = 200) -> None:
    """Scoring many 2 kb records (fast model, no cache, whole process) against one long record
    of the same bytes, a per-record Python-API loop (how it was done before), and two worker
    processes."""
    many = folder / f"many_{records}.fa"
    if not many.exists():
        build_many(many, chromosome(data) if chrom is None else chrom, records)
    n = records * 2000
    base = [sys.executable, "-m", "engine", "score", "--model", "fast", "--no-cache", "--json"]
    out: list[str] = []
    long_s, long_rss = timed([*base, str(big), "--region", f"0-{n}"], output=out)
    long_rate = n / long_s
    row(f"score one record, {n / 1e6:.0f} Mbp ({long_rate / 1e3:,.0f} kB/s)", "region of big",
        long_s, long_rss, "the baseline", "")
    seconds, rss = timed([*base, str(many)], output=out)
    row(f"score every record ({n / seconds / 1e3:,.0f} kB/s)", f"{records:,} x 2 kb", seconds,
        rss, f"{n / seconds / long_rate:.2f}x one record", ">= 0.8x")
    seconds, rss = timed([*base, str(many), "--workers", "2"], output=out)
    row(f"score every record, --workers 2 ({n / seconds / 1e3:,.0f} kB/s)",
        f"{records:,} x 2 kb", seconds, rss, f"{n / seconds / long_rate:.2f}x one record", "")
    code = (
        "import time\n"
        "from engine.io import open_sequences\n"
        "from engine.models import load_model\n"
        "from engine.models.defaults import resolve_model_path\n"
        "from engine.scoring import score\n"
        "from engine.threads import set_threads\n"
        "set_threads()\n"
        f"sf = open_sequences({str(many)!r})\n"
        "model = load_model(resolve_model_path('fast', 'dna'))\n"
        "t0 = time.perf_counter()\n"
        f"for i in range({loop}):\n"
        "    score(model, sf[i])\n"
        "print(time.perf_counter() - t0)\n")
    seconds = float(subprocess.run([sys.executable, "-c", code], cwd=REPO, check=True,
                                   capture_output=True, text=True).stdout.split()[-1])
    rate = loop * 2000 / seconds
    row(f"Python-API loop, score() per record ({rate / 1e3:,.0f} kB/s)", f"{loop} x 2 kb",
        seconds, float("nan"), f"{rate / long_rate:.2f}x one record", "")


def build_gtf(path: Path, genes: int) -> None:
    """A GENCODE-shaped GTF: per gene 3 transcripts of 6 exons, each with its CDS line."""
    with open(path, "w") as out:
        pos = 1
        for g in range(genes):
            gid = f"ENSG{g:011d}.1"
            out.write(f'chr1\tHAVANA\tgene\t{pos}\t{pos + 20000}\t.\t+\t.\tgene_id "{gid}"; '
                      f'gene_type "protein_coding"; gene_name "G{g}"; level 2;\n')
            for t in range(3):
                a = (f'gene_id "{gid}"; transcript_id "ENST{g * 3 + t:011d}.1"; gene_type '
                     f'"protein_coding"; gene_name "G{g}"; transcript_type "protein_coding"; '
                     f'transcript_name "G{g}-20{t}"; level 2; tag "basic";')
                out.write(f"chr1\tHAVANA\ttranscript\t{pos}\t{pos + 20000}\t.\t+\t.\t{a}\n")
                for e in range(6):
                    s = pos + e * 3000
                    for kind in ("exon", "CDS"):
                        out.write(f"chr1\tHAVANA\t{kind}\t{s}\t{s + 200}\t.\t+\t0\t{a} "
                                  f'exon_number {e + 1}; exon_id "ENSE{g}_{e}";\n')
            pos += 25000


def bench_gtf(folder: Path, genes: int = 20_000) -> None:
    """Reading a GENCODE-shaped GTF (800,000 lines for 20,000 genes) into assembled features."""
    path = folder / f"genes_{genes}.gtf"
    if not path.exists():
        build_gtf(path, genes)
    lines = sum(1 for _ in open(path))
    out: list[str] = []
    code = ("from engine.io.annotations import read_gtf\n"
            f"print(len(read_gtf({str(path)!r})))\n")
    seconds, rss = timed([sys.executable, "-c", code], output=out)
    features = int(out[-1].split()[-1])
    row(f"read GTF ({lines / seconds:,.0f} lines/s, {rss * 2**20 / lines:,.0f} B a line)",
        f"{lines:,} lines -> {features:,} features", seconds, rss, "before: ~1.5 KB a feature",
        "a few hundred MB for GENCODE (3.4 M lines)")


def bench_gui(big: Path, many: Path, size: str, many_size: str, cache: Path) -> None:
    """The window to its screenshot: 5 kb of the big record (fast model, with and without the
    repeat expert), and the many-record file; a fresh cache each time."""
    rid = big.open().readline()[1:].split()[0]
    base = [sys.executable, "-m", "engine", "gui", "--model", "fast", "--size", "1400x900"]
    png = cache.parent / "gui.png"
    for extra, what in (([], "with the repeat expert"), (["--no-repeats"], "network alone")):
        shutil.rmtree(cache, ignore_errors=True)
        seconds, rss = timed([*base, str(big), "--locus", f"{rid}:100000000-100005000",
                              "--screenshot", str(png), *extra])
        row(f"gui --locus 5 kb, {what}", size, seconds, rss, "before: 23 s, 4.8 GB",
            "<= 3 s, < 1.5 GB")
    shutil.rmtree(cache, ignore_errors=True)
    seconds, rss = timed([*base, str(many), "--screenshot", str(png)])
    row("gui, first record shown", many_size, seconds, rss, "", "<= 3 s")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    p.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()) / "bytescope-scale")
    p.add_argument("--mbp", type=int, default=250)
    p.add_argument("--records", type=int, default=100_000)
    p.add_argument("--rows", default="info,api,patch,score,gtf,gui")
    args = p.parse_args()
    if not (args.data / "klebsiella_hs11286.fna.xz").exists():
        sys.exit(f"{args.data}/klebsiella_hs11286.fna.xz not found: give --data")
    args.dir.mkdir(parents=True, exist_ok=True)
    big, many = args.dir / f"big_{args.mbp}mbp.fa", args.dir / f"many_{args.records}.fa"
    chrom = None
    if not big.exists():
        chrom = chromosome(args.data)
        build_big(big, chrom, args.mbp)
    if not many.exists():
        chrom = chromosome(args.data) if chrom is None else chrom
        build_many(many, chrom, args.records)
    cache = args.dir / "cache"
    os.environ["BYTESCOPE_CACHE_DIR"] = str(cache)
    rows = set(args.rows.split(","))
    big_size, many_size = f"{args.mbp} Mbp, 1 record", f"{args.records:,} x 2 kb"
    print(f"scale figures; {os.cpu_count()} cores; files in {args.dir}")
    print()
    print("| what | input | time | peak RSS | samtools / baseline | goal |")
    print("|---|---|---|---|---|---|")
    if "info" in rows:
        bench_info(big, big_size, cache)
        bench_info(many, many_size, cache)
    if "api" in rows:
        bench_api(many, many_size)
    if "patch" in rows:
        bench_patch(big, big_size, cache)
    if "score" in rows:
        bench_score(big, chrom, args.data, args.dir)
    if "gtf" in rows:
        bench_gtf(args.dir)
    if "gui" in rows:
        bench_gui(big, many, big_size, many_size, cache)


if __name__ == "__main__":
    main()
