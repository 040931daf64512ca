"""Motif discovery from seqlets: planted motifs come back with their PPMs, strands and
instances; strand-free alphabets stay strand-free."""

from __future__ import annotations

import numpy as np
import pytest

from engine.analysis.motif import DNA, reverse_complement
from engine.analysis.motifs import codes_of, discover_motifs, motif_pearson
from engine.analysis.seqlets import find_seqlets

PROTEIN = b"ACDEFGHIKLMNPQRSTVWY"


def pwm(rng: np.random.Generator, width: int, size: int = 4, strength: float = 0.15
        ) -> np.ndarray:
    """A motif PPM: one favoured letter per column with the rest spread thin."""
    ppm = rng.dirichlet(np.full(size, strength), size=width)
    return ppm


def plant(rng, ppms, n=300, length=60, both_strands=True, alphabet=DNA):
    """Windows of uniform letters with one instance of a PPM in two windows of three;
    contributions: 1 per instance base (signed by the PPM's column), noise elsewhere."""
    size = len(alphabet)
    letters = np.frombuffer(alphabet, np.uint8)
    codes = rng.integers(0, size, size=(n, length))
    scores = rng.normal(0.0, 0.03, size=(n, length))
    truth = []
    for row in range(n):
        if row % 3 == 2:
            continue
        k = len(truth) % len(ppms)
        ppm = ppms[k]
        w = len(ppm)
        start = int(rng.integers(0, length - w))
        draws = np.array([rng.choice(size, p=col) for col in ppm])
        minus = both_strands and rng.random() < 0.5
        if minus:
            draws = (size - 1 - draws)[::-1]
        codes[row, start:start + w] = draws
        strength = ppm.max(axis=1)[::-1] if minus else ppm.max(axis=1)
        scores[row, start:start + w] += 0.5 * strength + 0.1
        truth.append((row, start, start + w, k, "-" if minus else "+"))
    return letters[codes], scores, truth


@pytest.fixture(scope="module")
def planted_dna():
    rng = np.random.default_rng(7)
    ppms = [pwm(rng, w) for w in (8, 10, 12)]
    windows, scores, truth = plant(rng, ppms)
    return ppms, windows, scores, truth


def test_codes_map_letters_and_refuse_nothing():
    codes = codes_of([b"ACGN", b"TTTT"], DNA)
    assert codes.tolist() == [[0, 1, 2, -1], [3, 3, 3, 3]]


def test_planted_motifs_come_back_with_their_ppms_and_few_spurious(planted_dna):
    ppms, windows, scores, truth = planted_dna
    seqlets = find_seqlets(scores, threshold=0.001, sign="+")
    motifs = discover_motifs(windows, scores, seqlets, DNA)
    assert motifs
    best = [max(motif_pearson(m.ppm, p) for m in motifs) for p in ppms]
    assert min(best) >= 0.8, best
    matched = [m for m in motifs if max(motif_pearson(m.ppm, p) for p in ppms) >= 0.8]
    assert len(motifs) - len(matched) <= 2
    assert all(m.sign == 1 and m.cwm.shape == m.ppm.shape for m in motifs)
    rows = {r: (a, b, strand) for r, a, b, _k, strand in truth}
    for m in matched:
        hits = [s for s in m.instances if s.example in rows]
        assert len(hits) >= 0.8 * m.n_instances
        overlap = sum(1 for s in hits if s.start < rows[s.example][1]
                      and s.end > rows[s.example][0])
        assert overlap >= 0.9 * len(hits)


def test_instances_carry_the_strand_they_were_planted_on(planted_dna):
    ppms, windows, scores, truth = planted_dna
    motifs = discover_motifs(windows, scores, find_seqlets(scores, threshold=0.001, sign="+"))
    planted_strand = {r: strand for r, _a, _b, _k, strand in truth}
    for m in motifs:
        if max(motif_pearson(m.ppm, p) for p in ppms) < 0.8:
            continue
        pairs = [(s.strand, planted_strand[s.example]) for s in m.instances
                 if s.example in planted_strand]
        agree = sum(a == b for a, b in pairs)
        # the motif's own orientation is either planted strand; instances agree with it
        assert max(agree, len(pairs) - agree) >= 0.9 * len(pairs)


def test_turning_strands_off_splits_a_two_strand_motif(planted_dna):
    ppms, windows, scores, _ = planted_dna
    seqlets = find_seqlets(scores, threshold=0.001, sign="+")
    one_strand = discover_motifs(windows, scores, seqlets, DNA, strands=False)
    assert all(s.strand == "+" for m in one_strand for s in m.instances)
    # a motif and its reverse complement now come back as two motifs
    forward = [m for m in one_strand if motif_pearson(m.ppm, ppms[0], strands=False) >= 0.8]
    reverse = [m for m in one_strand
               if motif_pearson(m.ppm, reverse_complement(ppms[0]), strands=False) >= 0.8]
    assert forward and reverse


def test_protein_motifs_are_found_on_one_strand():
    rng = np.random.default_rng(3)
    ppms = [pwm(rng, 7, size=20, strength=0.05), pwm(rng, 9, size=20, strength=0.05)]
    windows, scores, _ = plant(rng, ppms, n=200, both_strands=False, alphabet=PROTEIN)
    motifs = discover_motifs(windows, scores, find_seqlets(scores, threshold=0.001, sign="+"),
                             PROTEIN)
    best = [max(motif_pearson(m.ppm, p, strands=False) for m in motifs) for p in ppms]
    assert min(best) >= 0.8
    with pytest.raises(ValueError, match="4-letter"):
        discover_motifs(windows, scores, [], PROTEIN, strands=True)


def test_negative_seqlets_make_negative_motifs(planted_dna):
    ppms, windows, scores, _ = planted_dna
    motifs = discover_motifs(windows, -scores, find_seqlets(-scores, threshold=0.001))
    assert motifs and all(m.sign == -1 for m in motifs)
    assert max(motif_pearson(m.ppm, ppms[1]) for m in motifs) >= 0.8


def test_shapes_are_checked():
    with pytest.raises(ValueError, match="do not match"):
        discover_motifs([b"ACGT"], np.zeros((1, 5)), [])


def test_a_fragment_maps_into_the_larger_motifs_columns_on_either_strand():
    from engine.analysis.motif import Seqlet
    from engine.analysis.motif_db import similarity
    from engine.analysis.motifs import _mapped

    rng = np.random.default_rng(5)
    big = np.eye(4)[rng.integers(0, 4, 10)] * 0.97 + 0.0075  # near-deterministic columns
    consensus = big.argmax(axis=1)
    window = rng.integers(0, 4, 40)
    window[12:22] = consensus  # the big motif on the plus strand at 12
    for strand_small in ("+", "-"):
        # the fragment: big's columns 3..8, or their reverse complement
        small = big[3:9] if strand_small == "+" else reverse_complement(big[3:9])
        score, offset, strand, _ = similarity(small, big)
        assert score > 0.99
        # the fragment's instance covers window 15..21 read along its own orientation
        instance = Seqlet(0, 15, 21, 1.0, strand="+" if strand_small == "+" else "-")
        anchor, step = _mapped(instance, 6, 10, offset, strand)
        read = [window[anchor + step * c] for c in range(10)]
        if step < 0:
            read = [3 - r for r in read]
        assert (anchor, step) == (12, 1) and read == consensus.tolist()


def test_fragments_of_one_motif_merge_into_it(planted_dna):
    ppms, windows, scores, _ = planted_dna
    seqlets = find_seqlets(scores, threshold=0.001, sign="+")
    merged = discover_motifs(windows, scores, seqlets)
    loose = discover_motifs(windows, scores, seqlets, merge_similarity=1.01)  # no merging
    assert len(merged) <= len(loose)
    for p in ppms:
        assert max(motif_pearson(m.ppm, p) for m in merged) >= 0.8
    assert sum(m.n_instances for m in merged) >= sum(m.n_instances for m in loose) * 0.95
