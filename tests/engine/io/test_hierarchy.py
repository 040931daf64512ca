"""GFF3's and GTF's gene -> transcript -> exon/CDS hierarchy (engine/io/hierarchy.py)."""

from __future__ import annotations

import gzip

import numpy as np

from engine.io import open_sequences
from engine.io.annotations import read_annotations, sniff_annotation_format
from engine.io.formats import open_annotations
from engine.io.hierarchy import folded_exons
from engine.io.store import open_store, write_store
from engine.patching.compare import feature_anchors

# One gene, two transcripts sharing their first exon and their start codon; T1's CDS runs
# over three exons (three GFF3 lines with one ID). 1-based inclusive coordinates.
GFF3 = """##gff-version 3
chr1\tt\tgene\t101\t1000\t.\t+\t.\tID=G1;Name=ABC
chr1\tt\tmRNA\t101\t1000\t.\t+\t.\tID=T1;Parent=G1;Name=ABC-1
chr1\tt\tmRNA\t101\t800\t.\t+\t.\tID=T2;Parent=G1;Name=ABC-2
chr1\tt\texon\t101\t200\t.\t+\t.\tID=E1;Parent=T1,T2
chr1\tt\texon\t401\t500\t.\t+\t.\tID=E2;Parent=T1
chr1\tt\texon\t901\t1000\t.\t+\t.\tID=E3;Parent=T1
chr1\tt\texon\t701\t800\t.\t+\t.\tID=E4;Parent=T2
chr1\tt\tCDS\t151\t200\t.\t+\t0\tID=C1;Parent=T1
chr1\tt\tCDS\t401\t500\t.\t+\t1\tID=C1;Parent=T1
chr1\tt\tCDS\t901\t950\t.\t+\t0\tID=C1;Parent=T1
chr1\tt\tCDS\t151\t200\t.\t+\t0\tID=C2;Parent=T2
chr1\tt\tCDS\t701\t760\t.\t+\t1\tID=C2;Parent=T2
"""

GTF = """#!genome-build test
chr1\tt\tgene\t101\t1000\t.\t+\t.\tgene_id "G1"; gene_name "ABC";
chr1\tt\ttranscript\t101\t1000\t.\t+\t.\tgene_id "G1"; transcript_id "T1"; \
transcript_name "ABC-1"; tag "basic"; tag "CCDS";
chr1\tt\texon\t101\t200\t.\t+\t.\tgene_id "G1"; transcript_id "T1"; exon_number 1;
chr1\tt\texon\t401\t500\t.\t+\t.\tgene_id "G1"; transcript_id "T1"; exon_number 2;
chr1\tt\texon\t901\t1000\t.\t+\t.\tgene_id "G1"; transcript_id "T1"; exon_number 3;
chr1\tt\tCDS\t151\t200\t.\t+\t0\tgene_id "G1"; transcript_id "T1";
chr1\tt\tCDS\t401\t500\t.\t+\t1\tgene_id "G1"; transcript_id "T1";
chr1\tt\tCDS\t901\t950\t.\t+\t0\tgene_id "G1"; transcript_id "T1";
"""

T1_EXONS = ((100, 200), (400, 500), (900, 1000))
T1_CDS = ((150, 200), (400, 500), (900, 950))


def by_type(features, kind):
    return [f for f in features if f.type == kind]


def test_a_gff3_cds_over_three_exons_is_one_feature_with_three_parts(tmp_path):
    path = tmp_path / "a.gff3"
    path.write_text(GFF3)
    features = read_annotations(path)
    cds = by_type(features, "CDS")
    assert [(f.name, f.start, f.end, f.parts) for f in cds] == [
        ("C1", 150, 950, T1_CDS), ("C2", 150, 760, ((150, 200), (700, 760)))]
    t1, t2 = by_type(features, "mRNA")
    assert t1.parts == T1_EXONS and t2.parts == ((100, 200), (700, 800))
    assert len(by_type(features, "exon")) == 4  # still there, as features of their own
    assert folded_exons(features) == {i for i, f in enumerate(features) if f.type == "exon"}


def test_gtf_is_sniffed_and_assembled_like_gff3(tmp_path):
    path = tmp_path / "a.gtf.gz"
    with gzip.open(path, "wt") as handle:
        handle.write(GTF)
    assert sniff_annotation_format(path) == "gtf"
    features = open_annotations(path)
    (gene,) = by_type(features, "gene")
    assert gene.name == "ABC" and gene.attributes["gene_id"] == "G1"
    (transcript,) = by_type(features, "transcript")
    assert transcript.name == "ABC-1" and transcript.parts == T1_EXONS
    assert transcript.attributes["tag"] == "basic,CCDS"
    (cds,) = by_type(features, "CDS")
    assert (cds.start, cds.end, cds.parts) == (150, 950, T1_CDS)
    assert by_type(features, "exon")[1].attributes["exon_number"] == "2"


def test_transcripts_sharing_a_start_codon_count_one_start(tmp_path):
    path = tmp_path / "a.gff3"
    path.write_text(GFF3)
    positions, kinds = feature_anchors(read_annotations(path), types=("CDS", "mRNA"))
    assert sorted(zip(positions.tolist(), kinds.tolist(), strict=True)) == [
        (100, "mRNA"), (150, "CDS")]


def test_parts_survive_the_store(tmp_path):
    gff = tmp_path / "a.gff3"
    gff.write_text(GFF3 + "##FASTA\n>chr1\n" + "ACGT" * 300 + "\n")
    with open_sequences(gff) as sf:
        records = list(sf)
        store = write_store(tmp_path / "a.h5", records)
    with open_store(store) as sf:
        cds = by_type(sf.all_features(), "CDS")
    assert [f.parts for f in cds] == [T1_CDS, ((150, 200), (700, 760))]
    assert np.array_equal([f.start for f in cds], [150, 150])
