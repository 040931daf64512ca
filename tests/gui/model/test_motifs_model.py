"""The Motifs model's rules and window placement, without Qt."""

from __future__ import annotations

import numpy as np
import pytest

from engine.analysis.discovery import Discovery
from engine.analysis.motifs import discover_motifs
from engine.analysis.seqlets import find_seqlets
from engine.analysis.windows import Window
from engine.errors import InputError
from engine.io import Feature
from gui.model.motifs import (
    MAX_WINDOWS,
    MotifRequest,
    MotifResult,
    MotifSettings,
    MotifsModel,
    feature_types,
    instance_rows,
    jump_locus,
    motif_row,
    place_windows,
)

CONSENSUS = np.frombuffer(b"TTGACAGCTA", np.uint8)


def planted_result(seed: int = 0, n: int = 40, width: int = 80):
    """A Discovery over windows of a random record, a consensus planted in each (plus
    strand), contributions high on it: real seqlets and motifs, known truth."""
    rng = np.random.default_rng(seed)
    letters = np.frombuffer(b"ACGT", np.uint8)
    sequence = letters[rng.integers(0, 4, n * width)]
    scores = rng.normal(0, 0.02, size=(n, width))
    starts = []
    for row in range(n):
        a = int(rng.integers(0, width - len(CONSENSUS)))
        sequence[row * width + a: row * width + a + len(CONSENSUS)] = CONSENSUS
        scores[row, a:a + len(CONSENSUS)] += 0.5
        starts.append(row * width + a)
    windows = [Window("chrP", row * width, (row + 1) * width, 1, 0) for row in range(n)]
    seqs = sequence.reshape(n, width)
    seqlets = find_seqlets(scores, threshold=0.001)
    motifs = discover_motifs(seqs, scores, seqlets, b"ACGT")
    found = Discovery(windows, seqs, scores, np.zeros((n, width, 4)), seqlets, motifs)
    return found, starts, sequence


def test_feature_types_put_cds_first():
    feats = [Feature("r", 0, 10, 1, "tRNA"), Feature("r", 5, 40, 1, "CDS"),
             Feature("r", 1, 4, 1, "gene")]
    assert feature_types(feats) == ["CDS", "gene", "tRNA"]


class _Rec:
    id, length, alphabet = "r", 1000, "dna"


def test_windows_go_before_features_or_tile_the_view():
    feats = (Feature("r", 200, 500, 1, "CDS"), Feature("r", 600, 900, -1, "CDS"),
             Feature("r", 10, 40, 1, "CDS"))  # too near the start for 60 bases
    request = MotifRequest("p", _Rec(), "default", MotifSettings(), feats, (0, 1000))
    windows, words = place_windows(request)
    assert [(w.start, w.end, w.strand) for w in windows] == [(140, 203, 1), (897, 960, -1)]
    assert "60 bases before each CDS start codon" in words and "1 off" in words
    view = MotifRequest("p", _Rec(), "default", MotifSettings(source="view", width=100), (),
                        (50, 420))
    windows, words = place_windows(view)
    assert [(w.start, w.end) for w in windows] == [(50, 150), (150, 250), (250, 350)]
    with pytest.raises(InputError, match="zoom out"):
        place_windows(MotifRequest("p", _Rec(), "d", MotifSettings(source="view"), (), (0, 50)))
    huge = MotifRequest("p", _Rec(), "d", MotifSettings(source="view", width=8), (),
                        (0, 8 * (MAX_WINDOWS + 1)))
    with pytest.raises(InputError, match="more than"):
        place_windows(huge)


def test_a_result_selects_its_first_motif_and_lists_its_instances():
    found, starts, _ = planted_result()
    assert found.motifs
    request = MotifRequest("p", _Rec(), "d", MotifSettings())
    result = MotifResult(request, found, "40 windows", 1.5)
    model = MotifsModel()
    seen = []
    model.events.selected.connect(seen.append)
    model.set_result(result)
    assert model.selected == 0 and seen == [0]
    assert "from" in model.status and "seqlets" in model.status and "1.5 s" in model.status
    rows = instance_rows(result, 0)
    assert len(rows) == found.motifs[0].n_instances
    hits = sum(any(a <= s < b or s <= a < s + len(CONSENSUS) for s in starts)
               for _r, a, b, _st, _v in rows)
    assert hits >= 0.9 * len(rows)
    row = motif_row(result, 0)
    assert row["instances"] == len(rows) and row["sign"] == "+"
    record, lo, hi = jump_locus(rows[0])
    assert record == "chrP" and lo == max(0, rows[0][1] - 20) and hi == rows[0][2] + 20
    model.select(99)
    assert model.selected is None and instance_rows(result, None) == []
    model.clear()
    assert model.result is None and model.status == ""
