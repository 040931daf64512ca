"""Per-base labels from features and BED names, and labelled JSONL/TSV records."""

from __future__ import annotations

import json

import numpy as np
import pytest

from engine.errors import InputError
from engine.io.labels import (
    LabelScheme,
    bed_name_scheme,
    per_base_labels,
    read_label_records,
)
from engine.io.records import Feature


def f(start, end, strand=1, type="CDS", name="", parts=()):
    return Feature("r", start, end, strand, type, name, parts=parts)


def test_features_paint_their_class_and_the_first_type_wins_where_they_overlap():
    scheme = LabelScheme()
    assert scheme.classes == ("intergenic", "CDS", "tRNA", "rRNA")
    labels = per_base_labels(30, [f(2, 10), f(8, 14, type="tRNA"), f(20, 25, type="rRNA"),
                                  f(26, 28, type="gene")], scheme)
    expected = np.zeros(30, np.uint8)
    expected[8:14] = 2
    expected[2:10] = 1  # CDS over the tRNA where they overlap
    expected[20:25] = 3  # a "gene" is not a class: background
    np.testing.assert_array_equal(labels, expected)


def test_a_spliced_cds_labels_its_parts_and_its_codon_positions_run_along_its_strand():
    scheme = LabelScheme(types=("CDS",), phase=True)
    assert scheme.classes[1:4] == ("CDS+0", "CDS+1", "CDS+2")
    plus = f(0, 12, parts=((0, 4), (8, 12)))  # an intron at 4..8
    minus = f(14, 20, strand=-1)
    labels = per_base_labels(22, [plus, minus], scheme)
    index = {c: i for i, c in enumerate(scheme.classes)}
    names = [scheme.classes[v] for v in labels]
    # + strand: codon positions over the spliced bases 0,1,2,3,8,9,10,11
    assert names[:4] == ["CDS+0", "CDS+1", "CDS+2", "CDS+0"]
    assert names[4:8] == ["intergenic"] * 4
    assert names[8:12] == ["CDS+1", "CDS+2", "CDS+0", "CDS+1"]
    # - strand: counted from the feature's end (its 5' end on that strand)
    assert names[19] == "CDS-0" and names[18] == "CDS-1" and names[17] == "CDS-2"
    assert labels[14] == index["CDS-2"] and names[20:] == ["intergenic"] * 2


def test_strand_splits_each_type_and_bed_names_become_classes():
    labels = per_base_labels(10, [f(0, 3), f(5, 8, strand=-1)], LabelScheme(types=("CDS",),
                                                                          strand=True))
    assert labels.tolist() == [1, 1, 1, 0, 0, 2, 2, 2, 0, 0]
    beds = [f(0, 2, name="exon"), f(4, 6, name="promoter")]
    scheme = bed_name_scheme(beds)
    assert scheme.classes == ("intergenic", "exon", "promoter")
    assert per_base_labels(7, beds, scheme).tolist() == [1, 1, 0, 0, 2, 2, 0]
    with pytest.raises(InputError, match="promoter"):
        bed_name_scheme(beds, names=["exon"])


def test_jsonl_and_tsv_records_with_one_or_per_base_labels(tmp_path):
    jsonl = tmp_path / "seqs.jsonl"
    jsonl.write_text(json.dumps({"sequence": "ACGT", "labels": 1}) + "\n\n"
                     + json.dumps({"sequence": "GGCA", "labels": 0, "id": "x"}) + "\n")
    records = read_label_records(jsonl)
    assert [(r.id, r.sequence, r.labels) for r in records] == [
        ("seqs_1", b"ACGT", 1), ("x", b"GGCA", 0)]
    tsv = tmp_path / "bases.tsv"
    tsv.write_text("sequence\tlabels\nACG\t0,1,1\nTT\t1 0\n")
    records = read_label_records(tsv)
    assert records[0].per_base and records[0].labels.tolist() == [0, 1, 1]
    assert records[1].labels.tolist() == [1, 0]


@pytest.mark.parametrize("text, words, line", [
    ('{"sequence": "ACGT", "labels": [0, 1]}\n', "2 labels for a sequence of 4", 1),
    ('{"sequence": "AC", "labels": 1}\nnot json\n', "not JSON", 2),
    ('{"labels": 1}\n', "no 'sequence'", 1),
    ('{"sequence": "AC", "labels": -1}\n', "negative", 1),
    ('{"sequence": "AC", "labels": "x"}\n', "not integers", 1),
    ('{"sequence": "AC", "labels": 1}\n{"sequence": "AC", "labels": [0, 1]}\n', "one kind", None),
])
def test_bad_labels_are_named_with_their_line(tmp_path, text, words, line):
    path = tmp_path / "bad.jsonl"
    path.write_text(text)
    with pytest.raises(InputError, match=words) as caught:
        read_label_records(path)
    assert caught.value.path is not None and str(path) in str(caught.value.path)
    if line is not None:
        assert caught.value.line == line
