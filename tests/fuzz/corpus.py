"""A corpus of malformed inputs, generated on the fly (nothing large is committed).

Each :class:`Case` writes its input into a folder and names the command to run on it. The
expectation is either an error (exit 2, one line on stderr naming the input) or a result that
:attr:`Case.check` verifies against facts the case itself planted (record count, lengths),
never against what the code under test printed before.
"""

from __future__ import annotations

import bz2
import gzip
import json
import lzma
import os
import pickle
import shutil
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tests.conftest import LAMBDA, lambda_bases

SEQ = lambda_bases(3000)


def fasta(records: list[tuple[str, str]], width: int = 60, eol: str = "\n") -> str:
    lines = []
    for name, seq in records:
        lines.append(f">{name}")
        lines += [seq[i:i + width] for i in range(0, len(seq), width)]
    return eol.join(lines) + eol


GOOD_FASTA = fasta([("one", SEQ[:1500]), ("two", SEQ[1500:])])
GOOD_FASTQ = "".join(f"@r{i}\n{SEQ[i * 50:(i + 1) * 50]}\n+\n{'I' * 50}\n" for i in range(20))
GOOD_GFF3 = (
    "##gff-version 3\n"
    "one\tfuzz\tCDS\t11\t310\t.\t+\t0\tID=cds1\n"
    "one\tfuzz\tgene\t11\t310\t.\t+\t.\tID=gene1\n"
    "two\tfuzz\ttRNA\t100\t175\t.\t-\t.\tID=trna1\n"
)
GOOD_BED = "one\t10\t310\tcds1\t0\t+\ntwo\t99\t175\ttrna1\t0\t-\n"
GENBANK = """\
LOCUS       FUZZ1                     70 bp    DNA     linear   SYN 01-JAN-2000
DEFINITION  Synthetic fuzz construct.
ACCESSION   FUZZ1
VERSION     FUZZ1.1
FEATURES             Location/Qualifiers
     source          1..70
                     /organism="synthetic construct"
     CDS             5..25
                     /gene="abcA"
     tRNA            complement(30..45)
                     /locus_tag="T_0002"
ORIGIN
        1 gatcctccat atacaacggt atctccacct caggtttaga tctcaacaac ggaaccattg
       61 ccgacatgag
//
"""
EMBL = """\
ID   FUZZ1; SV 1; linear; DNA; ; SYN; 70 BP.
XX
AC   FUZZ1;
XX
FH   Key             Location/Qualifiers
FH
FT   source          1..70
FT                   /organism="synthetic construct"
FT   CDS             5..25
FT                   /gene="abcA"
XX
SQ   Sequence 70 BP; 21 A; 21 C; 12 G; 16 T; 0 other;
     gatcctccat atacaacggt atctccacct caggtttaga tctcaacaac ggaaccattg        60
     ccgacatgag                                                               70
//
"""


@dataclass(frozen=True)
class Run:
    """What a command printed and how it ended, with the child's peak memory."""

    returncode: int
    stdout: str
    stderr: str
    seconds: float
    max_rss_mb: float


@dataclass(frozen=True)
class Case:
    name: str
    # writes the input into a folder; returns the arguments and the input an error must name
    make: Callable[[Path], tuple[list[str], str]]
    check: Callable[[Run, Path], None] | None = None  # None: the run must be an error
    mentions: str | None = None  # the error names this instead of the input's file name
    seconds: float = 60.0
    max_rss_mb: float = 1500.0
    tags: tuple[str, ...] = field(default_factory=tuple)


# -- helpers that write inputs ------------------------------------------------------------------
def _write(folder: Path, name: str, data: bytes | str) -> Path:
    path = folder / name
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


def info(name: str, data: bytes | str | Callable[[Path], Path], *extra: str):
    """``bytescope info --json FILE`` on bytes written under ``name`` (or a writer)."""

    def make(folder: Path) -> list[str]:
        path = data(folder) if callable(data) else _write(folder, name, data)
        return ["info", "--json", str(path), *extra], path.name

    return make


def records_are(expected: list[tuple[str, int]]) -> Callable[[Run, Path], None]:
    """The run listed exactly these (id, length) records."""

    def check(run: Run, folder: Path) -> None:
        assert run.returncode == 0, run.stderr
        got = [(r["id"], r["length"]) for r in json.loads(run.stdout)["records"]]
        assert got == expected

    return check


def count_is(n: int, length: int) -> Callable[[Run, Path], None]:
    def check(run: Run, folder: Path) -> None:
        assert run.returncode == 0, run.stderr
        rows = json.loads(run.stdout)["records"]
        assert len(rows) == n and all(r["length"] == length for r in rows)

    return check


def streamed_gzip(path: Path, head: bytes, fill: bytes, size: int, tail: bytes = b"") -> Path:
    """A gzip of ``head`` + ``size`` bytes of ``fill`` + ``tail``, compressed as a stream (a
    bomb of gigabytes is a few MB on disk and never in memory)."""
    comp = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = fill * ((1 << 20) // len(fill))
    with open(path, "wb") as out:
        out.write(comp.compress(head))
        left = size
        while left > 0:
            out.write(comp.compress(block[:left]))
            left -= len(block)
        out.write(comp.compress(tail))
        out.write(comp.flush())
    return path


def sparse_fasta(path: Path, size: int) -> Path:
    """A header and then ``size`` NUL bytes that take no disk (a hole)."""
    with open(path, "wb") as out:
        out.write(b">sparse\nACGT\n")
        out.truncate(size)
    return path


def flipped(data: bytes, at: float, n: int = 16) -> bytes:
    i = int(len(data) * at)
    return data[:i] + bytes(b ^ 0x5A for b in data[i:i + n]) + data[i + n:]


def fai_beside(text: str, fai: str) -> Callable[[Path], Path]:
    def write(folder: Path) -> Path:
        path = _write(folder, "withfai.fa", text)
        _write(folder, "withfai.fa.fai", fai)
        return path

    return write


def symlink_loop(folder: Path) -> Path:
    a, b = folder / "loop_a.fa", folder / "loop_b.fa"
    os.symlink(b, a)
    os.symlink(a, b)
    return a


def fifo(folder: Path) -> Path:
    path = folder / "pipe.fa"
    os.mkfifo(path)
    return path


def directory(folder: Path) -> Path:
    path = folder / "folder.fa"
    path.mkdir()
    return path


def annotations(name: str, text: bytes | str):
    """``compare-annotations`` of the bundled lambda genome against a bad annotation file
    (static patches: no model)."""

    def make(folder: Path) -> list[str]:
        path = _write(folder, name, text)
        return ["compare-annotations", str(LAMBDA), "--annotations", str(path),
                "--mode", "static", "--patch-size", "8"], path.name

    return make


def gff3_line(fields: str) -> str:
    return f"##gff-version 3\n{fields}\n"


# -- HDF5 stores and entropy files --------------------------------------------------------------
def _good_store(path: Path) -> Path:
    from engine.io import open_sequences
    from engine.io.store import write_store

    source = _write(path.parent, "for_store.fa", GOOD_FASTA)
    with open_sequences(source) as sequences:
        write_store(path, list(sequences))
    return path


def damaged_store(damage: Callable) -> Callable[[Path], Path]:
    def write(folder: Path) -> Path:
        import h5py

        path = _good_store(folder / "damaged.h5")
        with h5py.File(path, "r+") as h5:
            damage(h5)
        return path

    return write


def _replace(h5, name: str, value) -> None:
    del h5[name]
    h5[name] = value


def truncated_store(folder: Path) -> Path:
    path = _good_store(folder / "cut.h5")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


def patch_entropies(name: str, write: Callable[[Path], None]):
    def make(folder: Path) -> list[str]:
        path = folder / name
        write(path)
        return ["patch", str(LAMBDA), "--entropies", str(path), "--mode", "entropy",
                "--threshold", "1.0", "--out", str(folder / "out.bed")], path.name

    return make


def h5_declaring(path: Path) -> None:
    import h5py

    with h5py.File(path, "w") as h5:
        h5.create_dataset("entropies", shape=(5_000_000_000,), dtype=np.float32)


def npy_pickled(path: Path) -> None:
    with open(path, "wb") as out:
        out.write(b"\x93NUMPY\x01\x00")
        header = "{'descr': '|O', 'fortran_order': False, 'shape': (3,), }"
        header = header.ljust(117) + "\n"
        out.write(len(header).to_bytes(2, "little") + header.encode())
        out.write(pickle.dumps([1, 2, 3]))


def npy_huge(path: Path) -> None:
    """A .npy whose header declares 5x10^9 float32 values over 40 bytes of data."""
    header = "{'descr': '<f4', 'fortran_order': False, 'shape': (5000000000,), }"
    header = header.ljust(117) + "\n"
    with open(path, "wb") as out:
        out.write(b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header.encode())
        out.write(np.zeros(10, dtype=np.float32).tobytes())


# -- model folders ------------------------------------------------------------------------------
def hostile_model(change: dict | None = None, *, config_text: str | None = None,
                  cut_weights: bool = False):
    def make(folder: Path) -> list[str]:
        from engine.models.defaults import resolve_model_path

        model = shutil.copytree(resolve_model_path("fast"), folder / "model")
        config_path = model / "config.json"
        if change is not None:
            config = json.loads(config_path.read_text())
            (config["config"] if "config" in config else config).update(change)
            config_path.write_text(json.dumps(config))
        if config_text is not None:
            config_path.write_text(config_text)
        if cut_weights:
            weights = model / "model.safetensors"
            weights.write_bytes(weights.read_bytes()[:1000])
        data = _write(folder, "small.fa", fasta([("s", SEQ[:200])]))
        return ["score", str(data), "--model", str(model)], "model"

    return make


def bad_session(content: str):
    def make(folder: Path) -> list[str]:
        path = _write(folder, "bad.session.json", content)
        return ["gui", "--session", str(path), "--screenshot", str(folder / "x.png")], path.name

    return make


def _session(**fields) -> str:
    state = {"version": 1, "files": [str(LAMBDA)]}
    state.update(fields)
    return json.dumps(state)


def train_option(*options: str):
    def make(folder: Path) -> list[str]:
        data = _write(folder, "train.fa", GOOD_FASTA)
        return ["train", str(data), "--out", str(folder / "run"), *options], options[0]

    return make


# -- the corpus ---------------------------------------------------------------------------------
_lambda_gz = gzip.compress(LAMBDA.read_bytes())
_lambda_xz = lzma.compress(LAMBDA.read_bytes())
_lambda_bz2 = bz2.compress(LAMBDA.read_bytes())
_many = "".join(f">r{i}\nACGT\n" for i in range(1_000_000))

CASES: list[Case] = [
    # FASTA: structure
    Case("empty file", info("empty.fa", b"")),
    Case("only blank lines", info("blank.fa", "\n\n\n")),
    Case("no header", info("noheader.fa", SEQ[:300] + "\n")),
    Case("header only", info("header.fa", ">lonely\n"), records_are([("lonely", 0)])),
    Case("empty then full record", info("emptyfirst.fa", ">e\n" + fasta([("f", SEQ[:120])])),
         records_are([("e", 0), ("f", 120)])),
    Case("headers only, many", info("headers.fa", ">\n" * 50)),
    Case("duplicate ids", info("dup.fa", fasta([("x", SEQ[:60]), ("x", SEQ[60:180])]))),
    Case("NUL bytes in a sequence", info("nul.fa", ">n\nACGT\x00\x00ACGT\n")),
    Case("NUL bytes in a gzip", info("nul.fa.gz", gzip.compress(
        b">n\n" + b"ACGT" * 1000 + b"\x00" * 2_000_000 + b"\n"))),
    Case("3 GB sparse FASTA of NULs", info("sparse.fa", lambda f: sparse_fasta(
        f / "sparse.fa", 3 << 30)), tags=("big",)),
    Case("CR-only line ends", info("cr.fa", fasta([("a", SEQ[:130]), ("b", SEQ[:70])], eol="\r")),
         records_are([("a", 130), ("b", 70)])),
    Case("CRLF line ends", info("crlf.fa", fasta([("a", SEQ[:130])], eol="\r\n")),
         records_are([("a", 130)])),
    Case("UTF-16 with a BOM", info("utf16.fa", GOOD_FASTA.encode("utf-16"))),
    Case("binary noise named .fa", info("noise.fa", np.random.default_rng(1).integers(
        0, 256, 5000, dtype=np.uint8).tobytes())),
    Case("ragged lines", info("ragged.fa", ">r\nACGT\nAC\nACGTACGT\n"), records_are([("r", 14)])),
    Case("spaces inside a sequence", info("spaces.fa", ">s\nAC GT\tAC\n")),
    Case("10 MB header line", info("longheader.fa", ">" + "h" * 10_000_000 + "\nACGT\n"),
         records_are([("h" * 10_000_000, 4)])),
    Case("10^6 tiny records", info("many.fa", _many), count_is(1_000_000, 4),
         seconds=90, tags=("big",)),
    # FASTA: indexes beside the file
    Case(".fai claiming 5x10^12 bases",
         info("withfai.fa", fai_beside(GOOD_FASTA, "one\t5000000000000\t5\t60\t61\n"
                                                  "two\t1500\t1536\t60\t61\n")),
         records_are([("one", 1500), ("two", 1500)])),
    Case(".fai of garbage", info("withfai.fa", fai_beside(GOOD_FASTA, "\x00\x01garbage\n")),
         records_are([("one", 1500), ("two", 1500)])),
    Case(".fai with swapped records",
         info("withfai.fa", fai_beside(GOOD_FASTA, "two\t1500\t5\t60\t61\n"
                                                  "one\t1500\t1536\t60\t61\n")),
         records_are([("one", 1500), ("two", 1500)])),
    # compressed containers
    Case("truncated gzip", info("cut.fa.gz", _lambda_gz[: len(_lambda_gz) // 2])),
    Case("gzip cut inside its header", info("head.fa.gz", _lambda_gz[:6])),
    Case("garbled gzip", info("garbled.fa.gz", flipped(_lambda_gz, 0.5))),
    Case("gzip with a bad CRC", info("crc.fa.gz", _lambda_gz[:-8] + b"\0\0\0\0" +
                                     _lambda_gz[-4:])),
    Case("truncated xz", info("cut.fa.xz", _lambda_xz[: len(_lambda_xz) // 2])),
    Case("garbled xz", info("garbled.fa.xz", flipped(_lambda_xz, 0.5))),
    Case("truncated bzip2", info("cut.fa.bz2", _lambda_bz2[: len(_lambda_bz2) // 2])),
    Case("garbled bzip2", info("garbled.fa.bz2", flipped(_lambda_bz2, 0.5))),
    Case("gzip bomb over --max-bytes", info("bomb.fa.gz", lambda f: streamed_gzip(
        f / "bomb.fa.gz", b">bomb\n", b"A" * 60 + b"\n", 200 << 20), "--max-bytes", "10000000")),
    Case("gzip bomb over the default cap", info("bigbomb.fa.gz", lambda f: streamed_gzip(
        f / "bigbomb.fa.gz", b">bomb\n", b"A" * 60 + b"\n", (1 << 30) + (64 << 20))),
         seconds=120, tags=("big",)),
    # paths that are not files
    Case("symlink loop", info("loop_a.fa", symlink_loop)),
    Case("a FIFO", info("pipe.fa", fifo), seconds=30),
    Case("a folder", info("folder.fa", directory)),
    Case("missing file", info("missing.fa", lambda f: f / "missing.fa")),
    # FASTQ
    Case("FASTQ cut mid-record", info("cut.fq", GOOD_FASTQ[:-30])),
    Case("FASTQ quality too short", info("short.fq", "@r\nACGT\n+\nII\n")),
    Case("FASTQ without +", info("noplus.fq", "@r\nACGT\nIIII\n")),
    Case("FASTQ record without @", info("noat.fq", GOOD_FASTQ + "r9\nACGT\n+\nIIII\n")),
    Case("FASTQ NUL bytes", info("nul.fq", "@r\nAC\x00T\n+\nIIII\n")),
    Case("truncated gzip FASTQ", info("cut.fq.gz", gzip.compress(GOOD_FASTQ.encode())[:200])),
    # GFF3 (as annotations) and BED
    Case("GFF3 coordinate 10^30", annotations("huge.gff3", gff3_line(
        "gi|9626243|ref|NC_001416.1|\tf\tCDS\t1\t" + "1" + "0" * 30 + "\t.\t+\t0\tID=a"))),
    Case("GFF3 start after end", annotations("backwards.gff3", gff3_line(
        "gi|9626243|ref|NC_001416.1|\tf\tCDS\t500\t100\t.\t+\t0\tID=a"))),
    Case("GFF3 negative start", annotations("negative.gff3", gff3_line(
        "gi|9626243|ref|NC_001416.1|\tf\tCDS\t-5\t100\t.\t+\t0\tID=a"))),
    Case("GFF3 non-integer coordinate", annotations("float.gff3", gff3_line(
        "gi|9626243|ref|NC_001416.1|\tf\tCDS\t1.5\t100\t.\t+\t0\tID=a"))),
    Case("GFF3 phase 5", annotations("phase.gff3", gff3_line(
        "gi|9626243|ref|NC_001416.1|\tf\tCDS\t1\t100\t.\t+\t5\tID=a"))),
    Case("GFF3 five columns", annotations("cols.gff3", gff3_line("a\tb\tc\t1\t2"))),
    Case("GFF3 strand x", annotations("strand.gff3", gff3_line(
        "gi|9626243|ref|NC_001416.1|\tf\tCDS\t1\t100\t.\tx\t0\tID=a"))),
    Case("GFF3 CR-only", annotations("cr.gff3", GOOD_GFF3.replace("\n", "\r"))),
    Case("GFF3 UTF-16", annotations("utf16.gff3", GOOD_GFF3.encode("utf-16"))),
    Case("GFF3 gzip bomb of one comment line", lambda f: ([
        "compare-annotations", str(LAMBDA), "--annotations",
        str(streamed_gzip(f / "bomb.gff3.gz", b"##gff-version 3\n#", b"#", 300 << 20)),
        "--mode", "static", "--patch-size", "8"], "bomb.gff3.gz"), max_rss_mb=600),
    Case("GFF3 with a cut ##FASTA", info("cutfasta.gff3", GOOD_GFF3 + "##FASTA\n>one\n")),
    Case("BED two columns", annotations("two.bed", "one\t10\n")),
    Case("BED start after end", annotations("backwards.bed", "one\t300\t10\tx\t0\t+\n")),
    Case("BED non-integer", annotations("float.bed", "one\t1.5\t10\tx\t0\t+\n")),
    Case("BED strand x", annotations("strand.bed", "one\t1\t10\tx\t0\tx\n")),
    # GenBank and EMBL
    Case("GenBank cut in ORIGIN", info("cut.gb", GENBANK[: GENBANK.index("ORIGIN") + 30])),
    Case("GenBank cut in FEATURES", info("cutf.gb", GENBANK[: GENBANK.index("tRNA") + 8])),
    Case("GenBank bad location", info("badloc.gb", GENBANK.replace("5..25", "5..x25", 1))),
    Case("GenBank feature past the end", info("past.gb", GENBANK.replace("5..25", "5..500", 1))),
    Case("GenBank without ORIGIN", info("noorigin.gb", GENBANK[: GENBANK.index("ORIGIN")])),
    Case("EMBL bad feature table", info("bad.embl", EMBL.replace("5..25", "garbage(((", 1))),
    Case("EMBL cut in SQ", info("cut.embl", EMBL[: EMBL.index("SQ") + 60])),
    # HDF5 stores
    Case("store: float sequence", info("damaged.h5", damaged_store(
        lambda h5: _replace(h5, "sequence", h5["sequence"][:].astype(np.float32))))),
    Case("store: offsets decrease", info("damaged.h5", damaged_store(
        lambda h5: _replace(h5, "records/offsets", np.array([0, 2000, 1000], np.int64))))),
    Case("store: offsets past the data", info("damaged.h5", damaged_store(
        lambda h5: _replace(h5, "records/offsets", np.array([0, 1500, 4_999_100], np.int64))))),
    Case("store: offsets missing", info("damaged.h5", damaged_store(
        lambda h5: h5.__delitem__("records/offsets")))),
    Case("store: group for a dataset", info("damaged.h5", damaged_store(
        lambda h5: (h5.__delitem__("sequence"), h5.create_group("sequence"))))),
    Case("store: bad JSON attributes", info("damaged.h5", damaged_store(
        lambda h5: h5.attrs.__setitem__("version", "not a number")))),
    Case("store: truncated file", info("cut.h5", truncated_store)),
    # entropy files for patch --entropies
    Case("entropies .h5 declaring 5x10^9 values", patch_entropies("x.h5", h5_declaring)),
    Case("entropies .npy holding a pickle", patch_entropies("x.npy", npy_pickled)),
    Case("entropies .npy declaring 5x10^9 values", patch_entropies("x.npy", npy_huge)),
    # model folders
    Case("model n_layers 10^7", hostile_model({"n_layers": 10**7}), mentions="n_layers"),
    Case("model d_model '128'", hostile_model({"d_model": "128"}), mentions="d_model"),
    Case("model max_len 10^12", hostile_model({"max_len": 10**12}), mentions="max_len"),
    Case("model config not JSON", hostile_model(config_text="{not json"), mentions="config"),
    Case("model weights cut", hostile_model(cut_weights=True), mentions="model.safetensors"),
    # sessions
    Case("session patcher 5", bad_session(_session(patcher=5)), mentions="patcher"),
    Case("session files a string", bad_session(_session(files="a/path")), mentions="files"),
    Case("session locus a number", bad_session(_session(locus=12345)), mentions="locus"),
    Case("session 200k-deep JSON", bad_session("[" * 200_000 + "]" * 200_000),
         mentions="bad.session.json"),
    # training options
    Case("train --seq-len 10^8", train_option("--seq-len", "100000000"), mentions="seq"),
    Case("train --log-every 0", train_option("--log-every", "0"), mentions="--log-every"),
    Case("train --weights nan", train_option("--weights", "nan"), mentions="--weights"),
]


def case_ids() -> list[str]:
    return [case.name for case in CASES]


__all__ = ["CASES", "Case", "Run", "case_ids"]
