"""Known motifs: JASPAR read offline from pyjaspar's SQLite files, motif similarity and
matching with a shuffled-motif null."""

from __future__ import annotations

import importlib.util
import re
import sys

import numpy as np
import pytest

from engine.analysis.motif import DNA, Motif, reverse_complement
from engine.analysis.motif_db import (
    MissingExtra,
    jaspar_motifs,
    jaspar_path,
    jaspar_releases,
    match_motifs,
    similarity,
)
from engine.errors import InputError

needs_jaspar = pytest.mark.skipif(
    importlib.util.find_spec("pyjaspar") is None,
    reason='pyjaspar (the optional "motifs" extra) is not installed: no JASPAR files')

# CTCF's core, bound by zinc fingers 3-7: 5'-NCANNAGRNGGCRSY-3' (Nakahashi et al., Cell
# Reports 2013); the IUPAC letters R = A/G, S = C/G, Y = C/T, N = any.
CTCF_CORE = re.compile("CA..AG[AG].GGC[AG][CG]")


def rc_text(text: str) -> str:
    return text[::-1].translate(str.maketrans("ACGT", "TGCA"))


def random_ppm(rng: np.random.Generator, width: int) -> np.ndarray:
    return rng.dirichlet(np.full(4, 0.4), width)


def sampled_copy(rng: np.random.Generator, ppm: np.ndarray, n: int) -> np.ndarray:
    """The PPM of ``n`` sequences drawn from ``ppm`` (plus 0.1 per letter): a motif as
    discovery would find it from n instances."""
    counts = np.stack([rng.multinomial(n, row / row.sum()) for row in ppm]) + 0.1
    return counts / counts.sum(axis=1, keepdims=True)


# --- JASPAR ---------------------------------------------------------------------------------

@needs_jaspar
def test_releases_are_listed_oldest_first_and_the_newest_is_the_default():
    releases = jaspar_releases()
    assert releases[0] == "JASPAR2014" and "JASPAR2024" in releases
    assert releases == sorted(releases)
    assert jaspar_path().stem == releases[-1]
    assert jaspar_path("2024") == jaspar_path("JASPAR2024")
    with pytest.raises(InputError, match="JASPAR2024"):
        jaspar_path("1999")


@needs_jaspar
def test_ctcf_of_jaspar_2014_is_the_19_bp_motif_with_its_known_core():
    (ctcf,) = [m for m in jaspar_motifs("JASPAR2014") if m.identifier.startswith("MA0139.")]
    assert (ctcf.name, ctcf.identifier, ctcf.source) == ("CTCF", "MA0139.1", "JASPAR2014")
    assert ctcf.width == 19
    assert CTCF_CORE.search(ctcf.consensus()) or CTCF_CORE.search(rc_text(ctcf.consensus()))


@needs_jaspar
def test_newest_release_keeps_the_latest_version_with_probabilities():
    motifs = jaspar_motifs()
    ids = [m.identifier for m in motifs]
    assert len(ids) == len({i.split(".")[0] for i in ids})  # one version per matrix
    ctcf = next(m for m in motifs if m.identifier.split(".")[0] == "MA0139")
    assert int(ctcf.identifier.split(".")[1]) >= 2  # JASPAR 2024 added MA0139.2
    assert CTCF_CORE.search(ctcf.consensus()) or CTCF_CORE.search(rc_text(ctcf.consensus()))
    assert {(m.alphabet, m.source) for m in motifs} == {(DNA, jaspar_path().stem)}
    columns = np.concatenate([m.ppm for m in motifs])
    np.testing.assert_allclose(columns.sum(axis=1), 1.0)
    assert columns.min() > 0  # the pseudocount


@needs_jaspar
def test_tax_group_selects_a_subset_and_results_are_cached():
    everything = jaspar_motifs()
    vertebrates = jaspar_motifs(tax_group="vertebrates")
    assert 500 < len(vertebrates) < len(everything)
    assert {m.identifier for m in vertebrates} <= {m.identifier for m in everything}
    again = jaspar_motifs(tax_group="vertebrates")
    assert again[0].ppm is vertebrates[0].ppm  # cached, shared read-only
    with pytest.raises(ValueError):
        again[0].ppm[0, 0] = 1.0


@needs_jaspar
def test_unknown_collection_or_tax_group_lists_the_choices():
    with pytest.raises(InputError, match="UNVALIDATED"):
        jaspar_motifs(collection="NOPE")
    with pytest.raises(InputError, match="vertebrates"):
        jaspar_motifs(tax_group="dragons")


@needs_jaspar
def test_a_noisy_ctcf_is_matched_to_jaspar_ctcf_with_a_small_p_value():
    database = jaspar_motifs(tax_group="vertebrates")
    ctcf = next(m for m in database if m.identifier.startswith("MA0139."))
    rng = np.random.default_rng(3)
    flank = np.full((2, 4), 0.25)  # two uninformative columns after the motif, which
    query_ppm = np.vstack([sampled_copy(rng, ctcf.ppm, 30), flank])  # was found on the
    query = Motif("seen", DNA, reverse_complement(query_ppm))  # other strand: flank first
    matches = match_motifs(query, database, top=3, n_null=200)
    assert len(matches) == 3
    best = matches[0]
    assert (best.name, best.identifier, best.source) == ("CTCF", ctcf.identifier,
                                                        jaspar_path().stem)
    assert best.p_value == pytest.approx(1 / 201)
    assert best.strand == "-" and best.offset == -2 and best.overlap == ctcf.width
    assert best.score > 0.8


# --- similarity -------------------------------------------------------------------------------

def test_a_motif_is_identical_to_itself_at_offset_zero():
    m = random_ppm(np.random.default_rng(0), 10)
    score, offset, strand, overlap = similarity(m, m)
    assert score == pytest.approx(1.0) and (offset, strand, overlap) == (0, "+", 10)


def test_the_reverse_complement_matches_on_the_minus_strand():
    m = random_ppm(np.random.default_rng(1), 10)
    score, offset, strand, overlap = similarity(m, reverse_complement(m))
    assert score == pytest.approx(1.0) and (offset, strand, overlap) == (0, "-", 10)
    assert similarity(m, reverse_complement(m), strands=False)[0] < 0.9


def test_a_sub_motif_is_found_at_its_offset():
    m = random_ppm(np.random.default_rng(2), 14)
    score, offset, strand, overlap = similarity(m[4:11], m)
    assert score == pytest.approx(1.0) and (offset, strand, overlap) == (4, "+", 7)
    # the other way round the target starts 4 columns into the query
    score, offset, strand, overlap = similarity(m, m[4:11])
    assert score == pytest.approx(1.0) and (offset, strand, overlap) == (-4, "+", 7)


def test_overlaps_shorter_than_min_overlap_are_not_tried():
    rng = np.random.default_rng(4)
    m = random_ppm(rng, 12)
    target = np.vstack([m[-3:], random_ppm(rng, 9)])  # shares only 3 columns with m
    score, offset, _, overlap = similarity(m, target, strands=False, min_overlap=5)
    assert overlap >= 5 and score < 0.99
    score, offset, _, overlap = similarity(m, target, strands=False, min_overlap=3)
    assert score == pytest.approx(1.0) and (offset, overlap) == (-9, 3)


def test_uniform_columns_correlate_with_nothing():
    uniform = np.full((8, 4), 0.25)
    assert similarity(uniform, random_ppm(np.random.default_rng(5), 8))[0] == 0.0


def test_protein_motifs_compare_on_one_strand_only():
    rng = np.random.default_rng(6)
    m = rng.dirichlet(np.full(20, 0.3), 9)
    assert similarity(m, m, strands=False)[0] == pytest.approx(1.0)
    with pytest.raises(ValueError, match="4-letter"):
        similarity(m, m)


# --- match_motifs without JASPAR -------------------------------------------------------------

def test_a_planted_motif_is_found_among_random_ones():
    rng = np.random.default_rng(7)
    database = [Motif(f"r{i}", DNA, random_ppm(rng, int(rng.integers(6, 20))),
                      source="test", identifier=f"R{i}") for i in range(300)]
    planted = database[123]
    query = Motif("q", DNA, sampled_copy(rng, planted.ppm, 25)[2:])  # lost its first 2
    (best,) = match_motifs(query, database, top=1, n_null=100)
    assert best.identifier == "R123" and best.p_value == pytest.approx(1 / 101)
    assert (best.offset, best.strand, best.overlap) == (2, "+", planted.width - 2)


def test_p_values_of_unrelated_motifs_are_spread_over_0_to_1():
    """Random queries against random targets: the column-shuffle null is then exact, so
    p-values are (discretely) uniform; their mean is near 1/2, few are below 0.05."""
    rng = np.random.default_rng(8)
    database = [Motif(f"r{i}", DNA, random_ppm(rng, 10)) for i in range(40)]
    p = []
    for _ in range(5):
        query = Motif("q", DNA, random_ppm(rng, 10))
        p += [m.p_value for m in match_motifs(query, database, top=40, n_null=99)]
    p = np.array(p)
    assert len(p) == 200
    assert 0.4 < p.mean() < 0.6
    assert (p <= 0.05).mean() < 0.12


def test_a_uniform_motif_matches_nothing_significantly():
    rng = np.random.default_rng(9)
    database = [Motif(f"r{i}", DNA, random_ppm(rng, 10)) for i in range(20)]
    matches = match_motifs(Motif("flat", DNA, np.full((10, 4), 0.25)), database, top=20)
    assert all(m.p_value == 1.0 and m.score == 0.0 for m in matches)


def test_the_null_is_reproducible_for_a_seed():
    rng = np.random.default_rng(10)
    database = [Motif(f"r{i}", DNA, random_ppm(rng, 8)) for i in range(30)]
    query = Motif("q", DNA, random_ppm(rng, 8))
    a = match_motifs(query, database, top=30, n_null=50, seed=1)
    assert a == match_motifs(query, database, top=30, n_null=50, seed=1)


def test_rna_queries_match_dna_databases_on_one_strand():
    rng = np.random.default_rng(11)
    m = random_ppm(rng, 9)
    database = [Motif("dna", DNA, m), Motif("protein", b"ACDEFGHIKLMNPQRSTVWY",
                                            rng.dirichlet(np.ones(20), 9))]
    matches = match_motifs(Motif("rna", b"ACGU", reverse_complement(m)), database, top=5)
    assert [x.name for x in matches] == ["dna"]  # other alphabets are skipped
    assert matches[0].strand == "+" and matches[0].score < 0.99  # no reverse complement


def test_without_pyjaspar_the_error_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "pyjaspar", None)  # find_spec then finds nothing
    with pytest.raises(MissingExtra, match=r'pip install "bytescope\[motifs\]"'):
        jaspar_motifs()
    assert issubclass(MissingExtra, InputError)  # the CLI reports it in one line
