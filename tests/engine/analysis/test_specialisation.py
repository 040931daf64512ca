"""Patch labels, expert shares per label and k-mers per expert, against brute force."""

from __future__ import annotations

import json
from collections import Counter

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.analysis.specialisation import (
    INTERGENIC,
    expert_share_by_type,
    kmer_codes,
    merge_intervals,
    patch_feature_types,
    top_kmers_per_expert,
    type_coverage,
)
from engine.errors import InputError
from engine.io.records import Feature

TYPES = ("CDS", "tRNA", "rRNA")


def feature(start, end, type_="CDS", strand=1):
    return Feature("r", start, end, strand, type_, f"{type_}{start}")


@st.composite
def annotated_patches(draw, span=120):
    """(patch starts, patch ends, features) on [0, span); patches may overlap."""
    n_features = draw(st.integers(0, 8))
    features = []
    for _ in range(n_features):
        start = draw(st.integers(0, span - 1))
        end = draw(st.integers(start, min(span, start + 40)))
        type_ = draw(st.sampled_from((*TYPES, "gene")))
        features.append(feature(start, end, type_, draw(st.sampled_from((1, -1, 0)))))
    n_patches = draw(st.integers(0, 12))
    starts = draw(st.lists(st.integers(0, span - 1), min_size=n_patches, max_size=n_patches))
    ends = [min(span, s + draw(st.integers(1, 25))) for s in starts]
    return np.array(starts, dtype=np.int64), np.array(ends, dtype=np.int64), features


def brute_force_coverage(starts, ends, features, types=TYPES):
    rows = []
    for s, e in zip(starts.tolist(), ends.tolist(), strict=True):
        row = [0] * (len(types) + 1)
        for base in range(s, e):
            under = {f.type for f in features if f.start <= base < f.end and f.type in types}
            for i, t in enumerate(types):
                row[i] += t in under
            row[-1] += not under
        rows.append(row)
    return np.array(rows, dtype=np.int64).reshape(len(starts), len(types) + 1)


@given(annotated_patches())
def test_type_coverage_matches_a_per_base_count(case):
    starts, ends, features = case
    np.testing.assert_array_equal(
        type_coverage(starts, ends, features), brute_force_coverage(starts, ends, features))


@given(annotated_patches())
def test_patch_types_match_a_per_base_brute_force(case):
    starts, ends, features = case
    labels = [*TYPES, INTERGENIC]
    expected = []
    for row in brute_force_coverage(starts, ends, features).tolist():
        best = max(row)
        expected.append(labels[row.index(best)])  # first maximum: the documented tie rule
    assert patch_feature_types(starts, ends, features).tolist() == expected


def test_ties_go_to_the_earlier_type_and_intergenic_loses_them():
    features = [feature(0, 5, "rRNA"), feature(5, 10, "CDS"), feature(20, 25, "tRNA")]
    starts, ends = np.array([0, 20, 30]), np.array([10, 30, 40])
    # [0,10): 5 rRNA, 5 CDS -> CDS; [20,30): 5 tRNA, 5 intergenic -> tRNA; [30,40): none
    assert patch_feature_types(starts, ends, features).tolist() == ["CDS", "tRNA", INTERGENIC]


def test_a_patch_mostly_intergenic_is_intergenic():
    features = [feature(0, 3, "CDS")]
    assert patch_feature_types(np.array([0]), np.array([10]), features).tolist() == [INTERGENIC]


def test_overlapping_features_of_one_type_count_once():
    features = [feature(0, 6, "tRNA"), feature(2, 8, "tRNA"), feature(0, 5, "CDS")]
    coverage = type_coverage(np.array([0]), np.array([10]), features)
    assert coverage.tolist() == [[5, 8, 0, 2]]  # CDS, tRNA (union 0-8), rRNA, intergenic


def test_the_order_of_types_sets_the_tie_rule():
    features = [feature(0, 5, "rRNA"), feature(5, 10, "CDS")]
    labels = patch_feature_types(np.array([0]), np.array([10]), features, ("rRNA", "CDS"))
    assert labels.tolist() == ["rRNA"]


@given(st.lists(st.tuples(st.integers(0, 60), st.integers(0, 20)), max_size=12))
def test_merged_intervals_are_disjoint_and_cover_the_same_bases(pairs):
    starts = np.array([s for s, _ in pairs], dtype=np.int64)
    ends = np.array([s + n for s, n in pairs], dtype=np.int64)
    ms, me = merge_intervals(starts, ends)
    assert (me > ms).all() and (ms[1:] > me[:-1]).all()
    bases = {b for s, e in zip(starts.tolist(), ends.tolist(), strict=True) for b in range(s, e)}
    assert {b for s, e in zip(ms.tolist(), me.tolist(), strict=True) for b in range(s, e)} == bases


def test_intergenic_is_not_a_feature_type_and_patches_are_not_empty():
    with pytest.raises(InputError):
        type_coverage(np.array([0]), np.array([5]), [], types=("CDS", INTERGENIC))
    with pytest.raises(InputError):
        patch_feature_types(np.array([3]), np.array([3]), [])


@st.composite
def labelled_routing(draw):
    e = draw(st.integers(1, 6))
    k = draw(st.integers(1, e))
    n = draw(st.integers(0, 30))
    top_k = np.array([draw(st.permutations(range(e)))[:k] for _ in range(n)],
                     dtype=np.int64).reshape(n, k)
    labels = np.array(draw(st.lists(st.sampled_from((*TYPES, INTERGENIC)),
                                    min_size=n, max_size=n)), dtype=str)
    return top_k, labels, e


@given(labelled_routing())
def test_share_is_the_fraction_of_a_labels_patches_choosing_the_expert(case):
    top_k, labels, e = case
    shares = expert_share_by_type(top_k, labels, e)
    assert shares.types == (*TYPES, INTERGENIC)
    for row, t in enumerate(shares.types):
        mine = [choice for choice, label in zip(top_k.tolist(), labels.tolist(), strict=True)
                if label == t]
        for i in range(e):
            if mine:
                expected = sum(i in choice for choice in mine) / len(mine)
                assert shares.share[row, i] == pytest.approx(expected)
            else:
                assert np.isnan(shares.share[row, i])


@given(labelled_routing())
def test_shares_sum_to_k_per_type_across_experts(case):
    top_k, labels, e = case
    shares = expert_share_by_type(top_k, labels, e)
    present = shares.n_patches > 0
    np.testing.assert_allclose(shares.share[present].sum(axis=1), shares.k)
    np.testing.assert_allclose((shares.share[present] / shares.k).sum(axis=1), 1.0)


def test_label_blind_round_robin_routing_has_ratio_one():
    e, k = 4, 2
    top_k = np.array([[(i + j) % e for j in range(k)] for i in range(e)] * 6)  # (24, 2)
    labels = np.repeat(np.array(["CDS", "tRNA", INTERGENIC]), 8)  # each label sees 2 cycles
    shares = expert_share_by_type(top_k, labels, e, types=("CDS", "tRNA", INTERGENIC))
    assert shares.uniform == pytest.approx(k / e)
    np.testing.assert_allclose(shares.share, k / e)
    np.testing.assert_allclose(shares.ratio, 1.0)


def test_share_table_as_json_marks_absent_labels_none():
    shares = expert_share_by_type(np.array([[0], [1], [1]]), np.array(["CDS"] * 3), 2)
    table = shares.to_dict()
    json.dumps(table, allow_nan=False)
    assert table["types"]["CDS"]["share"] == pytest.approx([1 / 3, 2 / 3])
    assert table["types"]["CDS"]["ratio"] == pytest.approx([2 / 3, 4 / 3])
    assert table["types"]["rRNA"] == {"n_patches": 0, "share": [None, None],
                                      "ratio": [None, None]}


def test_other_labels_follow_the_known_ones_and_unlisted_labels_are_left_out():
    shares = expert_share_by_type(np.array([[0], [1]]), np.array(["ncRNA", "CDS"]), 2)
    assert shares.types == (*TYPES, INTERGENIC, "ncRNA")
    only_cds = expert_share_by_type(np.array([[0], [1]]), np.array(["ncRNA", "CDS"]), 2,
                                    types=("CDS",))
    assert only_cds.n_patches.tolist() == [1] and only_cds.counts.tolist() == [[0, 1]]


@st.composite
def tiled_sequence(draw):
    """A sequence, a tiling of a part of it into patches, top-1 experts, k-mer length."""
    seq = draw(st.text(alphabet="ACGTa", min_size=1, max_size=80)).encode()
    cuts = sorted(set(draw(st.lists(st.integers(0, len(seq)), max_size=10))) | {0, len(seq)})
    starts = np.array(cuts[:-1], dtype=np.int64)
    ends = np.array(cuts[1:], dtype=np.int64)
    e = draw(st.integers(1, 4))
    top1 = np.array(draw(st.lists(st.integers(0, e - 1), min_size=len(starts),
                                  max_size=len(starts))), dtype=np.int64)
    return np.frombuffer(seq, dtype=np.uint8), starts, ends, top1, e, draw(st.integers(1, 5))


@settings(max_examples=60)
@given(tiled_sequence())
def test_top_kmers_match_a_counter_over_each_experts_patches(case):
    seq, starts, ends, top1, e, k = case
    result = top_kmers_per_expert(seq, starts, ends, top1, e, k=k, top=5)
    text = seq.tobytes().decode()
    for expert in range(e):
        counter = Counter()
        for s, t, x in zip(starts.tolist(), ends.tolist(), top1.tolist(), strict=True):
            if x == expert:
                counter.update(text[i : i + k] for i in range(s, t - k + 1))
        total = sum(counter.values())
        ranked = sorted(counter.items(), key=lambda item: (-item[1], item[0]))[:5]
        assert result[expert] == [(kmer, n, pytest.approx(n / total)) for kmer, n in ranked]


def test_no_kmer_crosses_a_patch_boundary():
    seq = np.frombuffer(b"AAAACCCC", dtype=np.uint8)
    result = top_kmers_per_expert(seq, np.array([0, 4]), np.array([4, 8]), np.array([0, 0]),
                                  1, k=2)
    assert result == [[("AA", 3, 0.5), ("CC", 3, 0.5)]]  # no "AC"


def test_offset_places_the_sequence_in_record_coordinates():
    seq = np.frombuffer(b"GATTACA", dtype=np.uint8)
    result = top_kmers_per_expert(seq, np.array([1000, 1003]), np.array([1003, 1007]),
                                  np.array([1, 0]), 2, k=3, offset=1000)
    assert result == [[("ACA", 1, 0.5), ("TAC", 1, 0.5)], [("GAT", 1, 1.0)]]
    with pytest.raises(InputError):
        top_kmers_per_expert(seq, np.array([0]), np.array([3]), np.array([0]), 1, offset=1000)


def test_an_expert_without_patches_gets_no_kmers():
    seq = np.frombuffer(b"ACGTACGT", dtype=np.uint8)
    result = top_kmers_per_expert(seq, np.array([0]), np.array([8]), np.array([1]), 3, k=4)
    assert result[0] == [] and result[2] == [] and result[1][0] == ("ACGT", 2, 0.4)


def test_kmer_codes_sort_as_the_kmers_and_stop_at_eight_bytes():
    seq = np.frombuffer(b"\xffACGT\x00\xff\xff\xff", dtype=np.uint8)
    codes = kmer_codes(seq, 8)
    assert int(codes[0]) == int.from_bytes(seq[:8].tobytes(), "big")
    words = [seq[i : i + 3].tobytes() for i in range(len(seq) - 2)]
    assert np.argsort(kmer_codes(seq, 3), kind="stable").tolist() == sorted(
        range(len(words)), key=lambda i: (words[i], i))
    with pytest.raises(InputError):
        kmer_codes(seq, 9)
