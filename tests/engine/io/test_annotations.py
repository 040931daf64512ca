"""GFF3, BED, GenBank and EMBL readers, checked against hand-written files and real data."""

from __future__ import annotations

import gzip
import io
import lzma
from collections import Counter

import pytest

from engine.errors import FormatError, InputError
from engine.io.annotations import (
    read_annotations,
    read_bed,
    read_embl,
    read_genbank,
    read_genbank_or_embl,
    read_gff3,
    sniff_annotation_format,
)

GFF3 = (
    "##gff-version 3\n"
    "##sequence-region ctg1 1 60\n"
    "# a comment\n"
    "\n"
    "ctg1\tprokka\tgene\t5\t25\t.\t+\t.\tID=gene1;Name=abcA;locus_tag=T_0001\n"
    "ctg1\tprokka\tCDS\t5\t25\t.\t+\t0\tID=cds1;product=sugar%3B putative%2C 2%3D1;gene=abcA\n"
    "ctg1\tprokka\ttRNA\t30\t45\t.\t-\t.\tlocus_tag=T_0002;gene=trnA\n"
    "ctg1\tprokka\trepeat_region\t50\t50\t.\t?\t.\tgene=rep\n"
    "ctg1\tprokka\tmisc\t1\t60\t.\t.\t.\t.\n"
    "##FASTA\n"
    ">ctg1\n"
    "GATCCTCCATATACAACGGTATCTCCACCTCAGGTTTAGATCTCAACAACGGAACCATTG\n"
)

GENBANK = """\
LOCUS       TEST1                     70 bp    DNA     linear   SYN 01-JAN-2000
DEFINITION  Synthetic test construct.
ACCESSION   TEST1
VERSION     TEST1.1
KEYWORDS    .
SOURCE      .
  ORGANISM  .
            .
FEATURES             Location/Qualifiers
     source          1..70
                     /organism="synthetic construct"
                     /mol_type="other DNA"
     gene            5..25
                     /gene="abcA"
     CDS             5..25
                     /gene="abcA"
                     /locus_tag="T_0001"
                     /product="test protein, putative"
     tRNA            complement(30..45)
                     /locus_tag="T_0002"
     misc_feature    join(50..55,60..66)
                     /note="two parts"
ORIGIN
        1 gatcctccat atacaacggt atctccacct caggtttaga tctcaacaac ggaaccattg
       61 ccgacatgag
//
"""

EMBL = """\
ID   TEST1; SV 1; linear; DNA; ; SYN; 70 BP.
XX
AC   TEST1;
XX
DE   Synthetic test construct
XX
FH   Key             Location/Qualifiers
FH
FT   source          1..70
FT                   /organism="synthetic construct"
FT                   /mol_type="other DNA"
FT   CDS             5..25
FT                   /gene="abcA"
FT                   /product="test protein, putative"
FT   tRNA            complement(30..45)
FT                   /locus_tag="T_0002"
FT   misc_feature    join(50..55,60..66)
FT                   /note="two parts"
XX
SQ   Sequence 70 BP; 21 A; 21 C; 12 G; 16 T; 0 other;
     gatcctccat atacaacggt atctccacct caggtttaga tctcaacaac ggaaccattg        60
     ccgacatgag                                                               70
//
"""

SEQUENCE_70 = "GATCCTCCATATACAACGGTATCTCCACCTCAGGTTTAGATCTCAACAACGGAACCATTGCCGACATGAG"

BED = (
    "browser position ctg1:1-100\n"
    'track name="test" description="a track"\n'
    "# comment\n"
    "ctg1\t0\t10\n"
    "ctg1\t20\t30\tpeak1\t500\t-\n"
    "ctg2\t5\t15\t.\t0\t+\t7\t12\t255,0,0\t2\t3,4\t0,6\n"
)


def write(tmp_path, name: str, text: str | bytes):
    path = tmp_path / name
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return path


# -- GFF3 ---------------------------------------------------------------------------------------


def test_gff3_coordinates_become_zero_based_half_open(tmp_path):
    features = read_gff3(write(tmp_path, "a.gff3", GFF3)).features
    # GFF3 5..25 is bases 5 to 25 inclusive, 1-based: [4, 25) 0-based half-open.
    assert [(f.start, f.end) for f in features] == [(4, 25), (4, 25), (29, 45), (49, 50), (0, 60)]
    assert [f.record_id for f in features] == ["ctg1"] * 5
    assert [f.type for f in features] == ["gene", "CDS", "tRNA", "repeat_region", "misc"]


def test_gff3_strands_map_to_plus_minus_one_and_zero(tmp_path):
    features = read_gff3(write(tmp_path, "a.gff3", GFF3)).features
    assert [f.strand for f in features] == [1, 1, -1, 0, 0]


def test_gff3_attributes_are_percent_decoded(tmp_path):
    cds = read_gff3(write(tmp_path, "a.gff3", GFF3)).features[1]
    assert cds.attributes["product"] == "sugar; putative, 2=1"
    assert cds.attributes == {"ID": "cds1", "product": "sugar; putative, 2=1", "gene": "abcA"}


def test_gff3_name_prefers_name_then_id_locus_tag_gene(tmp_path):
    features = read_gff3(write(tmp_path, "a.gff3", GFF3)).features
    assert [f.name for f in features] == ["abcA", "cds1", "T_0002", "rep", ""]


def test_gff3_reports_where_the_fasta_section_starts(tmp_path):
    result = read_gff3(write(tmp_path, "a.gff3", GFF3))
    lines = GFF3.split("\n")
    assert result.fasta_line == lines.index("##FASTA") + 2  # 1-based, the line after
    expected_offset = GFF3.index("##FASTA\n") + len("##FASTA\n")
    assert result.fasta_offset == expected_offset
    assert GFF3.encode()[result.fasta_offset :].startswith(b">ctg1\n")


def test_gff3_fasta_offset_counts_crlf_bytes(tmp_path):
    crlf = GFF3.replace("\n", "\r\n")
    result = read_gff3(write(tmp_path, "a.gff3", crlf))
    assert crlf.encode()[result.fasta_offset :].startswith(b">ctg1\r\n")
    assert len(result.features) == 5


def test_gff3_without_fasta_reports_none(tmp_path):
    text = GFF3[: GFF3.index("##FASTA")]
    result = read_gff3(write(tmp_path, "a.gff3", text))
    assert result.fasta_line is None and result.fasta_offset is None
    assert len(result.features) == 5


def test_gff3_sequence_regions_are_zero_based(tmp_path):
    result = read_gff3(write(tmp_path, "a.gff3", GFF3))
    assert result.sequence_regions == {"ctg1": (0, 60)}


def test_gff3_text_stream_is_left_at_the_first_fasta_line():
    stream = io.StringIO(GFF3)
    result = read_gff3(stream, path="inline.gff3")
    assert len(result.features) == 5
    assert stream.readline() == ">ctg1\n"


def test_gff3_gzip_is_sniffed_by_content_not_name(tmp_path):
    path = write(tmp_path, "looks_plain.gff3", gzip.compress(GFF3.encode()))
    assert len(read_gff3(path).features) == 5


def test_gff3_xz_is_read(tmp_path):
    path = write(tmp_path, "a.gff3.xz", lzma.compress(GFF3.encode()))
    assert len(read_gff3(path).features) == 5


def test_gff3_eight_columns_names_the_line(tmp_path):
    bad = GFF3.replace("\t.\t-\t.\tlocus_tag=T_0002;gene=trnA", "\t.\t-\tlocus_tag=T_0002")
    path = write(tmp_path, "bad.gff3", bad)
    with pytest.raises(FormatError) as info:
        read_gff3(path)
    assert info.value.line == 7
    assert info.value.path == str(path)
    assert "9 tab-separated columns, found 8" in str(info.value)
    assert str(info.value).startswith(f"{path}:7:")


@pytest.mark.parametrize(
    ("columns", "problem"),
    [
        ("ctg1\tx\tgene\tfive\t25\t.\t+\t.\tID=a", "integers"),
        ("ctg1\tx\tgene\t30\t25\t.\t+\t.\tID=a", "after end"),
        ("ctg1\tx\tgene\t0\t25\t.\t+\t.\tID=a", "below 1"),
        ("ctg1\tx\tgene\t5\t25\t.\t*\t.\tID=a", "strand"),
        ("ctg1\tx\tgene\t5\t25\t.\t+\t.\tID", "key=value"),
    ],
)
def test_gff3_bad_line_is_a_format_error_with_its_line(tmp_path, columns, problem):
    path = write(tmp_path, "bad.gff3", f"##gff-version 3\n{columns}\n")
    with pytest.raises(FormatError, match=problem) as info:
        read_gff3(path)
    assert info.value.line == 2


def test_gff3_missing_file_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        read_gff3(tmp_path / "absent.gff3")


def test_gff3_truncated_gzip_is_a_format_error(tmp_path):
    data = gzip.compress((GFF3[: GFF3.index("##FASTA")] * 200).encode())
    path = write(tmp_path, "cut.gff3.gz", data[: len(data) // 2])
    with pytest.raises(FormatError, match="truncated gzip"):
        read_gff3(path)


def gff3_type_counts(text: str) -> Counter:
    """Independent count of column 3 over the feature lines before ##FASTA."""
    counts: Counter = Counter()
    for line in text.split("##FASTA")[0].splitlines():
        if line and not line.startswith("#"):
            counts[line.split("\t")[2]] += 1
    return counts


def test_prokka_gff3_counts_match_the_data_readme(shared_data):
    path = shared_data / "prokka_annotated.gff3.gz"
    text = gzip.decompress(path.read_bytes()).decode()
    expected = gff3_type_counts(text)
    assert (expected["CDS"], expected["tRNA"], expected["rRNA"]) == (4611, 77, 12)
    got = Counter(f.type for f in read_gff3(path).features)
    assert got == expected


def test_prokka_gff3_fasta_offset_points_at_the_first_contig(shared_data):
    path = shared_data / "prokka_annotated.gff3.gz"
    raw = gzip.decompress(path.read_bytes())
    result = read_gff3(path)
    assert result.fasta_offset == raw.index(b"##FASTA\n") + len(b"##FASTA\n")
    assert raw[result.fasta_offset : result.fasta_offset + 1] == b">"
    assert result.fasta_line == raw[: result.fasta_offset].count(b"\n") + 1


def test_prokka_gff3_features_lie_inside_their_sequence_regions(shared_data):
    result = read_gff3(shared_data / "prokka_annotated.gff3.gz")
    assert len(result.sequence_regions) == 226
    for f in result.features:
        region_start, region_end = result.sequence_regions[f.record_id]
        assert region_start <= f.start < f.end <= region_end


# -- BED ----------------------------------------------------------------------------------------


def test_bed_skips_headers_and_keeps_zero_based_coordinates(tmp_path):
    features = read_bed(write(tmp_path, "a.bed", BED))
    assert [(f.record_id, f.start, f.end) for f in features] == [
        ("ctg1", 0, 10),
        ("ctg1", 20, 30),
        ("ctg2", 5, 15),
    ]
    assert {f.type for f in features} == {"region"}


def test_bed_name_strand_and_extra_columns(tmp_path):
    bed3, bed6, bed12 = read_bed(write(tmp_path, "a.bed", BED))
    assert (bed3.name, bed3.strand, bed3.attributes) == ("", 0, {})
    assert (bed6.name, bed6.strand, bed6.attributes) == ("peak1", -1, {"score": "500"})
    assert (bed12.name, bed12.strand) == ("", 1)
    assert bed12.attributes == {
        "score": "0",
        "thickStart": "7",
        "thickEnd": "12",
        "itemRgb": "255,0,0",
        "blockCount": "2",
        "blockSizes": "3,4",
        "blockStarts": "0,6",
    }


def test_bed_whitespace_separated_line_is_accepted(tmp_path):
    (feature,) = read_bed(write(tmp_path, "a.bed", "chr1 100 200 name1\n"))
    assert (feature.record_id, feature.start, feature.end, feature.name) == (
        "chr1",
        100,
        200,
        "name1",
    )


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("ctg1\t10", "at least 3 columns"),
        ("ctg1\tten\t20", "integers"),
        ("ctg1\t30\t20", "start <= end"),
        ("ctg1\t10\t20\tn\t0\tx", "strand"),
    ],
)
def test_bed_bad_line_is_a_format_error_with_its_line(tmp_path, line, problem):
    path = write(tmp_path, "bad.bed", f"track name=x\nctg1\t0\t5\n{line}\n")
    with pytest.raises(FormatError, match=problem) as info:
        read_bed(path)
    assert info.value.line == 3


# -- GenBank and EMBL ---------------------------------------------------------------------------


def test_genbank_record_has_sequence_id_and_description(tmp_path):
    (record,) = read_genbank(write(tmp_path, "a.gb", GENBANK))
    assert record.id == "TEST1.1"
    assert record.description == "Synthetic test construct"
    assert record.length == 70
    assert record.fetch().upper() == SEQUENCE_70.encode()
    assert record.alphabet == "dna"


def test_genbank_features_are_zero_based_with_strand_and_name(tmp_path):
    (record,) = read_genbank(write(tmp_path, "a.gb", GENBANK))
    rows = [(f.type, f.start, f.end, f.strand, f.name) for f in record.features]
    assert rows == [
        ("source", 0, 70, 1, ""),  # kept: it carries organism and mol_type
        ("gene", 4, 25, 1, "abcA"),
        ("CDS", 4, 25, 1, "abcA"),
        ("tRNA", 29, 45, -1, "T_0002"),
        ("misc_feature", 49, 66, 1, ""),  # join: outer bounds
    ]


def test_genbank_qualifiers_and_location_string_become_attributes(tmp_path):
    (record,) = read_genbank(write(tmp_path, "a.gb", GENBANK))
    cds, misc = record.features[2], record.features[4]
    assert cds.attributes["product"] == "test protein, putative"
    assert cds.attributes["locus_tag"] == "T_0001"
    assert misc.attributes["location"] == "join(50..55,60..66)"
    assert record.features[3].attributes["location"] == "complement(30..45)"


def test_embl_matches_the_same_content_as_genbank(tmp_path):
    (record,) = read_embl(write(tmp_path, "a.embl", EMBL))
    assert record.id == "TEST1.1"
    assert record.fetch().upper() == SEQUENCE_70.encode()
    rows = [(f.type, f.start, f.end, f.strand, f.name) for f in record.features]
    assert rows == [
        ("source", 0, 70, 1, ""),
        ("CDS", 4, 25, 1, "abcA"),
        ("tRNA", 29, 45, -1, "T_0002"),
        ("misc_feature", 49, 66, 1, ""),
    ]


def test_genbank_gzip_is_read(tmp_path):
    path = write(tmp_path, "a.gb.gz", gzip.compress(GENBANK.encode()))
    (record,) = read_genbank(path)
    assert record.length == 70


def test_genbank_or_embl_dispatches_by_name(tmp_path):
    gb = write(tmp_path, "a.gb", GENBANK)
    embl = write(tmp_path, "a.embl", EMBL)
    assert len(read_genbank_or_embl(gb, "genbank")[0].features) == 5
    assert len(read_genbank_or_embl(embl, "embl")[0].features) == 4


# Biopython only warns about these; the reader turns them into errors.
@pytest.mark.filterwarnings("ignore::Bio.BiopythonParserWarning")
def test_genbank_truncated_file_is_a_format_error(tmp_path):
    path = write(tmp_path, "cut.gb", GENBANK[: GENBANK.index("ORIGIN") + 40])
    with pytest.raises(FormatError, match="truncated") as info:
        read_genbank(path)
    assert info.value.path == str(path)


@pytest.mark.filterwarnings("ignore::Bio.BiopythonParserWarning")
def test_genbank_sequence_shorter_than_declared_is_a_format_error(tmp_path):
    path = write(tmp_path, "short.gb", GENBANK.replace("ccgacatgag\n", "ccgacat\n"))
    with pytest.raises(FormatError, match="declares 70 residues but its sequence has 67"):
        read_genbank(path)


def test_genbank_features_without_origin_is_a_format_error(tmp_path):
    path = write(tmp_path, "noseq.gb", GENBANK[: GENBANK.index("ORIGIN")] + "//\n")
    with pytest.raises(FormatError, match="GenBank") as info:
        read_genbank(path)
    assert info.value.line is not None


def test_genbank_of_text_without_locus_is_a_format_error(tmp_path):
    with pytest.raises(FormatError, match="no line starts with LOCUS"):
        read_genbank(write(tmp_path, "prose.gb", "hello\nworld\n"))


def test_genbank_empty_file_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="empty"):
        read_genbank(write(tmp_path, "empty.gb", ""))


# -- dispatch -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "text", "kind", "count"),
    [
        ("a.txt", GFF3, "gff3", 5),
        ("b.txt", GENBANK, "genbank", 5),
        ("c.txt", EMBL, "embl", 4),
        ("d.txt", BED, "bed", 3),
        ("e.txt", GFF3.split("\n", 1)[1], "gff3", 5),  # no ##gff-version: nine columns
    ],
)
def test_read_annotations_sniffs_the_content(tmp_path, name, text, kind, count):
    path = write(tmp_path, name, text)
    assert sniff_annotation_format(path) == kind
    assert len(read_annotations(path)) == count


def test_read_annotations_of_prose_is_a_format_error(tmp_path):
    with pytest.raises(FormatError, match="not an annotation file"):
        read_annotations(write(tmp_path, "prose.txt", "Hello world.\nThis is text.\n"))


def test_read_annotations_of_real_gff3(shared_data):
    features = read_annotations(shared_data / "prokka_annotated.gff3.gz")
    assert sum(f.type == "CDS" for f in features) == 4611


def test_gff3_with_crlf_and_a_non_utf8_byte_still_finds_its_fasta_section(tmp_path):
    from engine.io import open_sequences

    text = (b"##gff-version 3\r\n"
            b"ctg1\tx\tCDS\t2\t7\t.\t+\t0\tID=c1;note=caf\xe9\r\n"
            b"##FASTA\r\n>ctg1 first\r\nACGTACGTAC\r\nGG\r\n")
    path = tmp_path / "crlf.gff3"
    path.write_bytes(text)
    with open_sequences(path) as sf:
        assert sf.ids == ["ctg1"]
        assert sf.fetch("ctg1") == b"ACGTACGTACGG"
        (feature,) = sf["ctg1"].features
        assert (feature.start, feature.end, feature.type) == (1, 7, "CDS")
