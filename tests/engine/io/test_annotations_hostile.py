"""Hostile annotation files (issue 13): each ends in one line naming the file and line, or in a
correct result; nothing is dropped silently and Biopython's warnings never reach the user."""

from __future__ import annotations

import gzip
import re
import subprocess
import sys
import threading
import tracemalloc
import warnings
import zlib

import pytest

from engine.cli import main
from engine.errors import BytescopeError, FormatError, InputError
from engine.io.annotations import (
    MAX_ANNOTATION_BYTES,
    MAX_COORDINATE,
    MAX_LINE_BYTES,
    read_annotations,
    read_bed,
    read_embl,
    read_genbank,
    read_gff3,
)
from tests.conftest import REPO
from tests.engine.io.test_annotations import EMBL, GENBANK, GFF3, write

HEADER = "##gff-version 3\n"
GOOD = "ctg1\tx\tCDS\t5\t25\t.\t+\t0\tID=a"
# A LOCUS line whose columns are off: Biopython reads it but warns ("malformed locus line").
LOOSE_LOCUS = "LOCUS       TEST1                 70 bp    DNA     linear   SYN 01-JAN-2000"


def gff3_line(**columns: str) -> str:
    names = ("seqid", "source", "type", "start", "end", "score", "strand", "phase", "attributes")
    values = dict(zip(names, GOOD.split("\t"), strict=True)) | columns
    return "\t".join(values[n] for n in names)


def genbank_with(location: str, key: str = "CDS") -> str:
    """GENBANK with its CDS (line 15) at ``location``."""
    return GENBANK.replace("     CDS             5..25", f"     {key:<16}{location}")


def one_line(error: BaseException) -> str:
    text = str(error)
    assert "\n" not in text and len(text) < 400, text
    return text


# -- row: GFF3 coordinate 10^30, EMBL with a bad feature table, Biopython's AssertionError ----


def test_gff3_coordinate_of_ten_to_the_thirty_is_refused_with_its_line(tmp_path):
    path = write(tmp_path, "big.gff3", HEADER + gff3_line(end="1" + "0" * 30) + "\n")
    with pytest.raises(FormatError, match="above 9,007,199,254,740,992") as info:
        read_gff3(path)
    assert info.value.line == 2 and info.value.path == str(path)
    one_line(info.value)


def test_the_largest_coordinate_is_taken(tmp_path):
    path = write(tmp_path, "cap.gff3", HEADER + gff3_line(end=str(MAX_COORDINATE)) + "\n")
    assert read_gff3(path).features[0].end == MAX_COORDINATE


def test_embl_feature_table_biopython_cannot_split_names_the_feature_line(tmp_path):
    tag = 'FT                   /locus_tag="T_0002"\n'
    bad = EMBL.replace(tag, tag + "FT   misc            garbage(((\n")
    path = write(tmp_path, "bad.embl", bad)
    with pytest.raises(FormatError, match="'misc' feature") as info:
        read_embl(path)
    assert info.value.line == 17  # the misc line, not where the parser stopped
    one_line(info.value)


def test_genbank_location_biopython_asserts_on_names_the_feature_line(tmp_path):
    # SimpleLocation.fromstring asserts on "5..25n" (an AssertionError, not a parse error).
    path = write(tmp_path, "assert.gb", genbank_with("5..25n"))
    with pytest.raises(FormatError, match=r"'CDS' feature: location '5..25n' cannot be read"
                       r" \(AssertionError\)") as info:
        read_genbank(path)
    assert info.value.line == 15


def test_genbank_qualifier_biopython_asserts_on_names_the_feature_line(tmp_path):
    # A continuation line before any qualifier trips an assert in Biopython's parse_feature.
    bad = GENBANK.replace('                     /gene="abcA"\n     CDS',
                          '                     F/gene="abcA"\n     CDS', 1)
    path = write(tmp_path, "assert2.gb", bad)
    with pytest.raises(FormatError, match="'gene' feature: its lines cannot be read") as info:
        read_genbank(path)
    assert info.value.line == 13


def test_genbank_feature_line_of_exactly_the_qualifier_indent_is_one_line(tmp_path):
    # 21 characters: Biopython's scanner indexes past the end (IndexError).
    bad = GENBANK.replace("     gene            5..25\n", "     gene            5..25\n"
                          "     misc_feature    \n")
    path = write(tmp_path, "index.gb", bad)
    with pytest.raises(FormatError) as info:
        read_genbank(path)
    assert info.value.line is not None
    one_line(info.value)


def cli_run(path) -> subprocess.CompletedProcess:
    """``bytescope info PATH`` in a fresh process: what a user's terminal shows."""
    return subprocess.run(
        [sys.executable, "-m", "engine", "info", str(path)],
        capture_output=True, text=True, cwd=REPO, timeout=60,
    )


@pytest.mark.parametrize(
    ("name", "text", "where"),
    [
        ("big.gff3", HEADER + gff3_line(end="1" + "0" * 30) + "\n", ":2:"),
        ("bad.embl", EMBL.replace("FT   tRNA            complement(30..45)",
                                  "FT   tRNA            garbage((("), ":15:"),
        ("assert.gb", genbank_with("5..25n"), ":15:"),
        ("badloc.gb", genbank_with("5..x25"), ":15:"),
        ("loose-cut.gb", GENBANK.replace(GENBANK.splitlines()[0], LOOSE_LOCUS)[:-40], ":"),
    ],
)
def test_cli_prints_one_line_and_exits_2(tmp_path, name, text, where):
    path = write(tmp_path, name, text)
    proc = cli_run(path)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.count("\n") == 1, proc.stderr  # no Biopython warning, no traceback
    assert proc.stderr.startswith(f"bytescope info: error: {path}{where}")


# -- row: truncated or odd GenBank, a bad location: one line; bad features reported ----------


@pytest.mark.parametrize(
    ("location", "problem"),
    [
        ("5..x25", "Could not parse feature location '5..x25'"),
        ("<<5..>>25", "Could not parse feature location"),
        ("0..25", "negative starting position"),
        ("25..5", "spans the origin"),  # on a linear record
        ("5..500", r"past the end of record 'TEST1.1' \(70 residues\)"),
        ("5.." + "9" * 30, "past the end"),
    ],
)
def test_genbank_bad_location_refuses_the_file_naming_the_feature_and_line(
    tmp_path, recwarn, location, problem
):
    path = write(tmp_path, "badloc.gb", genbank_with(location))
    with pytest.raises(FormatError, match=problem) as info:
        read_genbank(path)
    assert info.value.line == 15 and "'CDS' feature" in one_line(info.value)
    assert "setting feature location to None" not in str(info.value)
    assert not recwarn.list  # caught, not printed


def test_embl_bad_location_refuses_the_file_naming_the_feature_and_line(tmp_path):
    path = write(tmp_path, "badloc.embl",
                 EMBL.replace("FT   CDS             5..25", "FT   CDS             5..x25"))
    with pytest.raises(FormatError, match="'CDS' feature: Could not parse") as info:
        read_embl(path)
    assert info.value.line == 12


def test_a_location_on_another_entry_is_kept(tmp_path):
    (record,) = read_genbank(write(tmp_path, "remote.gb", genbank_with("J00194.1:100..202")))
    cds = next(f for f in record.features if f.type == "CDS")
    assert (cds.start, cds.end) == (99, 202)
    assert cds.attributes["location"] == "J00194.1:100..202"


def test_genbank_feature_line_too_short_is_refused_with_its_line(tmp_path, recwarn):
    bad = GENBANK.replace("     tRNA            complement(30..45)\n", "     tRNA\n")
    path = write(tmp_path, "short.gb", bad)
    with pytest.raises(FormatError, match="too short to contain a feature") as info:
        read_genbank(path)
    assert info.value.line == 19
    assert not recwarn.list


def test_genbank_loose_locus_line_loads_without_a_printed_warning(tmp_path, recwarn):
    text = GENBANK.replace(GENBANK.splitlines()[0], LOOSE_LOCUS)
    (record,) = read_genbank(write(tmp_path, "loose.gb", text))
    assert record.length == 70 and len(record.features) == 5
    assert not recwarn.list


def test_cli_loads_a_loose_genbank_with_nothing_on_stderr(tmp_path):
    path = write(tmp_path, "loose.gb", GENBANK.replace(GENBANK.splitlines()[0], LOOSE_LOCUS))
    proc = cli_run(path)
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    assert re.search(r"TEST1.1 +70 .* 5 +Synthetic", proc.stdout), proc.stdout


def test_each_file_reports_its_own_warning_not_only_the_first(tmp_path):
    # Python shows a warning once per place by default; a second bad file must still refuse.
    path = write(tmp_path, "badloc.gb", genbank_with("5..x25"))
    for _ in range(2):
        with pytest.raises(FormatError, match="Could not parse"):
            read_genbank(path)


def test_reading_restores_the_warning_hook_even_from_threads(tmp_path):
    shown = warnings.showwarning
    paths = [write(tmp_path, f"{i}.gb", genbank_with("5..x25" if i % 2 else "5..25"))
             for i in range(6)]
    outcomes: list[str] = []

    def read(path) -> None:
        try:
            read_genbank(path)
            outcomes.append("ok")
        except FormatError as error:
            outcomes.append(error.message)

    threads = [threading.Thread(target=read, args=(p,)) for p in paths]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert warnings.showwarning is shown
    assert sorted(outcomes) == ["'CDS' feature: Could not parse feature location '5..x25'"] * 3 + [
        "ok"] * 3


def test_every_cut_of_a_genbank_or_embl_file_is_one_line(tmp_path, recwarn):
    """Truncated anywhere: a one-line error with the path, never a shorter record."""
    for name, text, reader in (("cut.gb", GENBANK, read_genbank), ("cut.embl", EMBL, read_embl)):
        for size in range(1, len(text) - 1, 5):
            path = write(tmp_path, name, text[:size])
            with pytest.raises(BytescopeError) as info:
                reader(path)
            assert str(path) in one_line(info.value)
    assert not recwarn.list


def test_truncated_gzip_genbank_is_one_line(tmp_path):
    data = gzip.compress(GENBANK.encode() * 50)
    with pytest.raises(FormatError, match="truncated gzip"):
        read_genbank(write(tmp_path, "cut.gb.gz", data[: len(data) // 2]))


# -- row: gzip bombs (one 2.3 GiB comment line): a documented cap, bounded memory ------------


def one_long_line_gzip(path, prefix: bytes, size: int, fill: bytes = b"#") -> None:
    """``prefix`` then a ``size``-byte line, streamed through zlib: ~1 KB per MiB on disk."""
    packer = zlib.compressobj(1, zlib.DEFLATED, 31)  # 31: a gzip header and trailer
    chunk = fill * (1 << 20)
    with open(path, "wb") as out:
        out.write(packer.compress(prefix))
        for _ in range(size >> 20):
            out.write(packer.compress(chunk))
        out.write(packer.compress(b"\n"))
        out.write(packer.flush())


@pytest.mark.parametrize(
    ("reader", "prefix"),
    [
        (read_gff3, HEADER.encode()),
        (read_annotations, HEADER.encode()),
        (read_bed, b"track name=x\n"),
        (read_genbank, GENBANK.split("ORIGIN")[0].encode()),
    ],
)
def test_gzip_bomb_of_one_long_line_stops_at_the_line_cap_in_bounded_memory(
    tmp_path, reader, prefix
):
    path = tmp_path / "bomb.gz"
    one_long_line_gzip(path, prefix, 128 << 20)  # 128 MiB inflated, ~130 KB here
    assert path.stat().st_size < 1 << 20
    line = prefix.count(b"\n") + 1
    tracemalloc.start()
    try:
        with pytest.raises(FormatError, match=f"line longer than {MAX_LINE_BYTES:,} bytes") as info:
            reader(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert info.value.line == line and info.value.path == str(path)
    assert peak < 8 * MAX_LINE_BYTES  # a few line buffers, not the 128 MiB line


def test_a_line_just_under_the_cap_is_read(tmp_path):
    long_note = "n" * (MAX_LINE_BYTES - 200)
    path = write(tmp_path, "long.gff3", HEADER + gff3_line(attributes=f"ID=a;Note={long_note}")
                 + "\n")
    assert read_gff3(path).features[0].attributes["Note"] == long_note


@pytest.mark.parametrize("reader", [read_gff3, read_bed, read_genbank])
def test_more_decompressed_bytes_than_the_cap_is_an_input_error(tmp_path, reader):
    text = {read_gff3: GFF3.split("##FASTA")[0] * 40, read_bed: "ctg1\t0\t10\n" * 400,
            read_genbank: GENBANK * 4}[reader]
    path = write(tmp_path, "many.gz", gzip.compress(text.encode()))
    with pytest.raises(InputError, match="more than 2,000 bytes") as info:
        reader(path, max_bytes=2000)
    assert info.value.line is not None
    assert MAX_ANNOTATION_BYTES >= 2 << 30  # the default fits GENCODE/RefSeq human GFF3


# -- row: GFF3 and BED edge cases from the fuzz list -------------------------------------------


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        (gff3_line(start="30", end="25"), "start 30 is after end 25"),
        (gff3_line(start="-5"), "start -5 is below 1"),
        (gff3_line(start="0"), "start 0 is below 1"),
        (gff3_line(end="-1"), "after end"),
        (gff3_line(start="1.5"), "integers, found '1.5'"),
        (gff3_line(start="1e3"), "integers"),
        (gff3_line(start="+5"), "integers"),
        (gff3_line(end="2_500"), "integers"),
        (gff3_line(end="٢٥"), "integers"),  # Arabic-Indic digits: int() takes them
        (gff3_line(end=""), "integers"),
        (gff3_line(end="1" + "0" * 30), "above 9,007,199,254,740,992"),
        (gff3_line(end="9" * 100_000), r"\(100,000 characters\)"),
        (gff3_line(phase="3"), "phase must be 0, 1, 2 or ., found '3'"),
        (gff3_line(phase="-1"), "phase"),
        (gff3_line(phase="x"), "phase"),
        (gff3_line(phase=""), "phase"),
        (gff3_line(seqid=""), "column 1 \\(seqid\\) is empty"),
        (gff3_line(type=""), "column 3 \\(type\\) is empty"),
        (GOOD.rsplit("\t", 1)[0], "9 tab-separated columns, found 8"),
        (GOOD + "\textra", "found 10"),
        (GOOD.replace("\t", " "), "found 1"),
        ("##sequence-region ctg1 1 ²", "integers"),  # "²".isdigit() is True
        ("##sequence-region ctg1 50 10", "after end"),
        ("##sequence-region ctg1 1 " + "9" * 40, "above"),
        (GOOD + "\r" + GOOD, "carriage return"),
        ("c\0t\0g\0", "NUL byte"),
    ],
)
def test_gff3_bad_line_is_one_line_with_its_number(tmp_path, line, problem):
    path = write(tmp_path, "bad.gff3", f"{HEADER}{GOOD}\n{line}\n")
    with pytest.raises(FormatError, match=problem) as info:
        read_gff3(path)
    assert info.value.line == 3
    assert one_line(info.value).startswith(f"{path}:3: ")


def test_gff3_with_classic_mac_line_ends_is_refused_not_read_as_one_comment(tmp_path):
    path = write(tmp_path, "cr.gff3", (HEADER + GOOD + "\n").replace("\n", "\r"))
    with pytest.raises(FormatError, match="carriage return") as info:
        read_gff3(path)
    assert info.value.line == 1


def test_gff3_in_utf16_is_refused(tmp_path):
    path = write(tmp_path, "u16.gff3", (HEADER + GOOD + "\n").encode("utf-16"))
    with pytest.raises(FormatError, match="NUL byte"):
        read_gff3(path)


@pytest.mark.parametrize("phase", ["0", "1", "2", "."])
def test_gff3_valid_phases_are_read(tmp_path, phase):
    path = write(tmp_path, "ok.gff3", HEADER + gff3_line(phase=phase) + "\n")
    assert (read_gff3(path).features[0].start, read_gff3(path).features[0].end) == (4, 25)


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("ctg1", "at least 3 columns"),
        ("ctg1\t5", "at least 3 columns"),
        ("ctg1\t-5\t10", "0 <= start <= end"),
        ("ctg1\t5\tten", "integers"),
        ("ctg1\t+5\t10", "integers"),
        ("ctg1\t5\t1" + "0" * 30, "above 9,007,199,254,740,992"),
        ("ctg1\t5\t10\tn\t0\t*", "strand"),
        ("ctg1\t5\t10\r", None),  # CRLF: fine
        ("ctg1\t5\t10\rctg1\t5\t10", "carriage return"),
    ],
)
def test_bed_bad_line_is_one_line_with_its_number(tmp_path, line, problem):
    path = write(tmp_path, "bad.bed", f"track name=x\nctg1\t0\t5\n{line}\n")
    if problem is None:
        assert [(f.start, f.end) for f in read_bed(path)] == [(0, 5), (5, 10)]
        return
    with pytest.raises(FormatError, match=problem) as info:
        read_bed(path)
    assert info.value.line == 3
    one_line(info.value)


def test_cli_gff3_bad_phase_is_one_line(tmp_path, capsys):
    path = write(tmp_path, "phase.gff3", HEADER + gff3_line(phase="7") + "\n")
    assert main(["info", str(path)]) == 2
    err = capsys.readouterr().err
    assert err == f"bytescope info: error: {path}:2: phase must be 0, 1, 2 or ., found '7'\n"
