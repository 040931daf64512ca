"""A record too long to hold whole (a chromosome, here shrunk by lowering the limit): the window
scores or reads the stretch around the view, follows the view, and lets far blocks go."""

from __future__ import annotations

import numpy as np
import pytest

from engine.cli import main
from engine.io import open_sequences
from engine.models import load_model
from engine.scoring import score
from gui.model import jobs
from gui.model.pyramid import BLOCK
from tests.conftest import lambda_bases
from tests.gui.conftest import wait_ready

LENGTH = 5 * BLOCK - 1000  # five blocks of the score buffer


@pytest.fixture
def long_record(tmp_path, monkeypatch):
    """A 326 kb record (lambda, copied with 2% of bases changed) that the window treats as a
    chromosome: over the limit, 6 kb scored each side of the view, two blocks kept."""
    monkeypatch.setattr(jobs, "WHOLE_LIMIT", 100_000)
    monkeypatch.setattr(jobs, "REACH", 3_000)
    monkeypatch.setattr(jobs, "KEEP_BLOCKS", 2)
    monkeypatch.setattr(jobs, "SCORE_BLOCK", 1_024)
    rng = np.random.default_rng(1)
    base = np.frombuffer(lambda_bases(48_000).encode(), np.uint8)
    seq = np.resize(base, LENGTH).copy()
    hit = rng.random(LENGTH) < 0.02
    seq[hit] = np.frombuffer(b"ACGT", np.uint8)[rng.integers(0, 4, int(hit.sum()))]
    path = tmp_path / "chrom.fa"
    text = seq.tobytes().decode()
    path.write_text(">chrom\n" + "\n".join(text[i:i + 60] for i in range(0, LENGTH, 60)) + "\n")
    return path


def network_alone(model_dir, path, start: int, end: int) -> np.ndarray:
    """What one pass of the scorer gives for ``[start, end)``, without the repeat expert."""
    record = open_sequences(path)["chrom"]
    return score(load_model(model_dir), record, start, end, repeats=False).entropy


def test_a_long_record_is_scored_around_the_view_which_it_follows(qtbot, window, long_record,
                                                                  tiny_model):
    model = window.model
    model.set_model_spec(str(tiny_model))
    window.open_paths([str(long_record)], locus="chrom:200,001-200,200")
    wait_ready(qtbot, window)
    scores = model.scores
    assert model.score_status.state == "view" and "around the view" in model.score_status.text
    a, b = scores.span_around(200_100)
    assert a <= 200_000 and 200_200 <= b and scores.known_bases() < 10_000
    np.testing.assert_allclose(scores.values("entropy", a, b),
                               network_alone(tiny_model, long_record, a, b), atol=1e-5)
    assert model.patches.span[0] <= 200_000 and 200_200 <= model.patches.span[1]

    window.set_locus("chrom:20,001-20,200")  # far away: scored there, the first stretch kept
    wait_ready(qtbot, window)
    assert model.scores is scores and model.score_status.state == "view"
    assert not np.isnan(scores.value_at("entropy", 20_100))
    assert not np.isnan(scores.value_at("entropy", 200_100))
    assert model.patches.span[0] <= 20_000 and 20_200 <= model.patches.span[1]

    window.set_locus("chrom:300,001-300,200")  # a third block: the one farthest away goes
    wait_ready(qtbot, window)
    assert np.isnan(scores.value_at("entropy", 20_100))
    assert not np.isnan(scores.value_at("entropy", 300_100))
    # zoomed out to bins of two blocks: the dropped block's summary still fills the first
    zoomed_out = scores.window("entropy", 0, LENGTH, 2)
    assert zoomed_out.edges[1] == 2 * BLOCK and np.isfinite(zoomed_out.mean).all()


def test_a_long_record_scored_by_the_cli_is_read_from_the_cache_around_the_view(
        qtbot, window, long_record, tiny_model):
    assert main(["score", str(long_record), "--model", str(tiny_model), "--json"]) == 0
    model = window.model
    model.set_model_spec(str(tiny_model))
    window.open_paths([str(long_record)], locus="chrom:150,001-150,200")
    wait_ready(qtbot, window)
    assert model.score_status.state == "view" and "from the cache" in model.score_status.text
    a, b = model.scores.span_around(150_100)
    assert (a, b) == jobs.around(LENGTH, 150_100) and model.scores.known_bases() == b - a


def test_a_long_records_entropy_file_is_read_around_the_view(qtbot, window, long_record,
                                                             tmp_path):
    values = np.random.default_rng(2).random(LENGTH).astype(np.float32)
    npy = tmp_path / "chrom.npy"
    np.save(npy, values)
    window.open_paths([str(long_record)], locus="chrom:250,001-250,100")
    qtbot.waitUntil(lambda: window.model.record is not None)
    window.open_paths([str(npy)])
    qtbot.waitUntil(lambda: window.model.score_status.state == "view")
    wait_ready(qtbot, window)
    scores = window.model.scores
    a, b = jobs.around(LENGTH, 250_050)
    assert scores.known.as_list() == [(a, b)]
    assert np.array_equal(scores.values("entropy", a, b), values[a:b])
    assert "chrom.npy" in window.model.score_status.text


def test_a_view_moved_while_its_stretch_is_scored_is_scored_next(qtbot, window, long_record,
                                                                 tiny_model):
    model = window.model
    model.set_model_spec(str(tiny_model))
    window.open_paths([str(long_record)], locus="chrom:100,001-100,200")
    qtbot.waitUntil(lambda: model.scores is not None)  # the first stretch is being scored
    window.set_locus("chrom:280,001-280,200")
    wait_ready(qtbot, window)
    a, b = model.scores.span_around(280_100)
    assert a <= 280_000 and 280_200 <= b
