"""The jobs workers run, called directly: scoring (block order, cache), patches, files."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import h5py
import numpy as np
import pytest

from engine.errors import InputError, ModelError
from engine.io import open_sequences
from engine.io.entropy_files import read_bedgraph
from engine.models import load_model
from engine.models.latent import patch_starts_from_entropies
from engine.models.loaded import LOADED
from engine.patch_starts import EntropyPatches
from engine.patching import PatchConfig, Patcher
from engine.scoring import Cancelled, score
from gui.model import jobs
from gui.model.entropy_files import read_entropy_file
from gui.model.jobs import (
    Focus,
    PatchRequest,
    Reporter,
    ScoreRequest,
    compute_patches,
    load_document,
    nearest_undone,
    score_blocks,
    score_record,
)
from tests.conftest import lambda_bases


@pytest.fixture
def record(genome):
    with open_sequences(genome) as sf:
        yield sf[0]


def test_scoring_block_by_block_from_the_focus_equals_one_pass(genome, record, tiny_model,
                                                               monkeypatch):
    monkeypatch.setattr(jobs, "SCORE_BLOCK", 512)
    first_known = []
    reporter = Reporter(partial=lambda buffer: first_known.append(buffer))
    progress = []
    reporter._progress = lambda done, total: progress.append(
        first_known[0].known.as_list()[0] if first_known else None)
    outcome = score_record(ScoreRequest(str(genome), record, str(tiny_model),
                                        focus=Focus(2100)), reporter)
    assert outcome.status == "scored" and outcome.buffer.complete
    reference = score(load_model(tiny_model), record)
    np.testing.assert_allclose(outcome.buffer.values("entropy"), reference.entropy, atol=1e-5)
    np.testing.assert_allclose(outcome.buffer.values("surprisal"), reference.surprisal,
                               atol=1e-5)
    start, end = progress[0]  # the first stretch scored holds the focus
    assert start <= 2100 < end


def test_block_scoring_with_a_repeat_expert_equals_one_pass_and_is_cached_apart(
        tmp_path, tiny_model, monkeypatch):
    import shutil

    from engine.models.repeats import N_STATES, RepeatConfig, save_repeats

    monkeypatch.setattr(jobs, "SCORE_BLOCK", 512)
    folder = Path(shutil.copytree(tiny_model, tmp_path / "with-repeats"))
    save_repeats(RepeatConfig(k=12, weights=[0.9] * N_STATES), folder)
    x = lambda_bases(1500)
    path = tmp_path / "repeats.fa"
    path.write_text(f">rep\n{x}{x}\n")
    with open_sequences(path) as sf:
        rec = sf[0]
        outcome = score_record(ScoreRequest(str(path), rec, str(folder), focus=Focus(2100)),
                               Reporter())
        model = load_model(folder)
        reference = score(model, rec)
        plain = score(model, rec, repeats=False)
        off = score_record(ScoreRequest(str(path), rec, str(folder), repeats=False), Reporter())
    np.testing.assert_allclose(outcome.buffer.values("surprisal"), reference.surprisal,
                               atol=1e-5)
    np.testing.assert_allclose(outcome.buffer.values("entropy"), reference.entropy, atol=1e-5)
    assert reference.surprisal[1520:].mean() < 0.2 < 1.0 < plain.surprisal[1520:].mean()
    assert off.status == "scored"  # not the expert's cached scores
    np.testing.assert_allclose(off.buffer.values("surprisal"), plain.surprisal, atol=1e-5)


def test_a_refitted_repeat_expert_is_picked_up_without_restarting(tmp_path, tiny_model):
    import shutil

    from engine.models.repeats import N_STATES, RepeatConfig, save_repeats

    folder = Path(shutil.copytree(tiny_model, tmp_path / "refit"))
    save_repeats(RepeatConfig(k=12, weights=[0.9] * N_STATES), folder)
    x = lambda_bases(1000)
    path = tmp_path / "repeats.fa"
    path.write_text(f">rep\n{x}{x}\n")
    models = jobs.ModelCache()
    with open_sequences(path) as sf:
        rec = sf[0]
        first = score_record(ScoreRequest(str(path), rec, str(folder), models=models), Reporter())
        save_repeats(RepeatConfig(k=12, weights=[0.0] * N_STATES), folder)  # the expert muted
        second = score_record(ScoreRequest(str(path), rec, str(folder), models=models),
                              Reporter())
        plain = score(load_model(folder), rec, repeats=False)
    assert first.buffer.values("surprisal")[1100:].mean() < 0.2
    assert second.status == "scored"
    np.testing.assert_allclose(second.buffer.values("surprisal"), plain.surprisal, atol=1e-5)


def test_a_scored_record_comes_back_from_the_cache(genome, record, tiny_model):
    request = ScoreRequest(str(genome), record, str(tiny_model))
    first = score_record(request, Reporter())
    again = score_record(request, Reporter())
    assert (first.status, again.status) == ("scored", "cached")
    np.testing.assert_array_equal(again.buffer.values("entropy"), first.buffer.values("entropy"))


def test_a_damaged_cache_entry_is_scored_again_not_shown(genome, record, tiny_model,
                                                         isolated_cache):
    import h5py

    request = ScoreRequest(str(genome), record, str(tiny_model))
    first = score_record(request, Reporter())
    (entry,) = (isolated_cache / "scores").rglob("*.h5")
    with h5py.File(entry, "r+") as h5:
        h5["entropy"][7] = np.nan
    again = score_record(request, Reporter())
    assert again.status == "scored"
    np.testing.assert_array_equal(again.buffer.values("entropy"), first.buffer.values("entropy"))
    assert score_record(request, Reporter()).status == "cached"


PATCHING = {"mode": "entropy", "target_patch_size": 4.0}


@contextlib.contextmanager
def counted_forwards(model):
    """The batches ``model`` runs inside the block (a forward hook on the real model)."""
    calls = []
    handle = model.register_forward_hook(lambda module, args, out: calls.append(len(args[0])))
    try:
        yield calls
    finally:
        handle.remove()


def cli_scores(genome, tiny_model, capsys) -> Path:
    """Score the record with ``bytescope score`` (a separate model load); the entry it cached."""
    from engine.cli import main

    assert main(["score", str(genome), "--model", str(tiny_model), "--json"]) == 0
    capsys.readouterr()
    (entry,) = Path(os.environ["BYTESCOPE_CACHE_DIR"], "scores").rglob("*.h5")
    return entry


def stored_entropy(entry: Path) -> np.ndarray:
    with h5py.File(entry, "r") as h5:
        return h5["entropy"][()]


def test_the_clis_cached_scores_are_what_the_window_and_the_patch_starts_read(
        genome, record, tiny_model, capsys):
    entry = cli_scores(genome, tiny_model, capsys)
    written, stored = entry.stat().st_mtime_ns, stored_entropy(entry)
    with counted_forwards(LOADED.get(tiny_model)) as calls:  # the model both would score with
        outcome = score_record(ScoreRequest(str(genome), record, str(tiny_model)), Reporter())
        flags = EntropyPatches(str(tiny_model), PATCHING)(genome, record)
    assert calls == []  # neither scored
    assert outcome.status == "cached"
    np.testing.assert_array_equal(outcome.buffer.values("entropy"), stored)
    expected = patch_starts_from_entropies(stored, PatchConfig.from_dict(PATCHING))
    np.testing.assert_array_equal(flags, expected)
    assert list(entry.parent.parent.rglob("*.h5")) == [entry]  # the one entry, not rewritten
    assert entry.stat().st_mtime_ns == written


def _window(genome, record, tiny_model):
    score_record(ScoreRequest(str(genome), record, str(tiny_model)), Reporter())


def _patch_starts(genome, record, tiny_model):
    EntropyPatches(str(tiny_model), PATCHING)(genome, record)


def _cli(genome, record, tiny_model):
    from engine.cli import main

    assert main(["score", str(genome), "--model", str(tiny_model), "--json"]) == 0


@pytest.mark.parametrize("reader", [_cli, _window, _patch_starts],
                         ids=["cli", "window", "patch-starts"])
def test_a_damaged_entry_is_scored_again_and_rewritten_alike_by_every_reader(
        genome, record, tiny_model, capsys, reader):
    entry = cli_scores(genome, tiny_model, capsys)
    stored = stored_entropy(entry)
    with h5py.File(entry, "r+") as h5:
        h5["entropy"][7] = np.nan
    with counted_forwards(LOADED.get(tiny_model)) as calls:
        reader(genome, record, tiny_model)
    if reader is not _cli:  # the CLI loads a model of its own: its forwards are not seen here
        assert calls, "the damaged entry was not scored again"
    (again,) = entry.parent.parent.rglob("*.h5")
    assert again == entry and np.isfinite(stored_entropy(entry)).all()
    np.testing.assert_allclose(stored_entropy(entry), stored, atol=1e-5)
    with counted_forwards(LOADED.get(tiny_model)) as calls:  # and every reader takes it
        outcome = score_record(ScoreRequest(str(genome), record, str(tiny_model)), Reporter())
        _patch_starts(genome, record, tiny_model)
    assert outcome.status == "cached" and calls == []


def test_scoring_stops_when_cancelled(genome, record, tiny_model):
    reporter = Reporter()
    reporter.cancel.set()
    with pytest.raises(Cancelled):
        score_record(ScoreRequest(str(genome), record, str(tiny_model)), reporter)


def test_no_bundled_model_is_an_outcome_not_an_error(genome, record, tmp_path, monkeypatch):
    monkeypatch.setattr("engine.models.defaults.MODELS", tmp_path / "no_models")
    outcome = score_record(ScoreRequest(str(genome), record, "default"), Reporter())
    assert outcome.status == "no-model" and outcome.buffer is None
    assert "Choose Model Folder" in outcome.message


def test_a_named_model_that_is_missing_is_an_error(genome, record, tmp_path):
    with pytest.raises(ModelError):
        score_record(ScoreRequest(str(genome), record, str(tmp_path / "nope")), Reporter())


def test_blocks_align_to_the_chunk_step_and_the_nearest_undone_block_comes_next():
    starts = score_blocks(10_000, 128, block=1000)
    assert starts.tolist() == list(range(0, 10_000, 896))
    done = np.zeros(len(starts), bool)
    assert nearest_undone(done, starts, 5000) == 5
    done[5] = True
    assert nearest_undone(done, starts, 5000) in (4, 6)


def test_patch_job_equals_the_patcher_and_reports_record_coordinates(record):
    entropies = np.linspace(0, 2, 1000).astype(np.float32) % 1.3
    config = PatchConfig(mode="entropy", threshold=1.0)
    view = compute_patches(PatchRequest(record, config, (500, 1500), entropies), Reporter())
    result = Patcher(config).patch(entropies)
    assert view.count == result.count and view.starts[0] == 500
    assert (view.ends - view.starts).tolist() == result.lengths.tolist()
    i = 3
    s, e = view.starts[i] - 500, view.ends[i] - 500
    assert view.mean_entropy(i, i + 1)[0] == pytest.approx(entropies[s:e].mean())
    means = view.mean_entropy(0, view.count)
    assert means[i] == pytest.approx(entropies[s:e].mean()) and len(means) == view.count
    assert view.histogram.sum() == view.count and not view.complete


def test_byte_mode_patches_the_bases(record):
    view = compute_patches(PatchRequest(record, PatchConfig(mode="static", patch_size=7),
                                        (0, record.length), None), Reporter())
    assert view.complete and view.count == -(-record.length // 7)
    assert view.mean_entropy(0, view.count) is None


def test_documents_summarise_every_record(two_records):
    document = load_document(str(two_records), Reporter())
    try:
        assert [s["id"] for s in document.summaries] == ["first", "second"]
        assert document.summaries[0]["length"] == 2500 and document.summaries[0]["gc_percent"]
    finally:
        document.close()


def test_entropies_load_from_npy_and_bedgraph(record, entropies_npy, tmp_path):
    buffer = read_entropy_file(entropies_npy, record)
    assert buffer.complete and buffer.signals == ("entropy",)
    graph = tmp_path / "e.bedgraph"
    graph.write_text('track type=bedGraph\nchrT\t10\t20\t0.5\nchrT\t20\t25\t1.5\n'
                     'other\t0\t5\t9\nchrT\t100\t101\t2\n')
    values = read_bedgraph(graph, "chrT", record.length)
    assert np.isnan(values[9]) and values[10:20].tolist() == [0.5] * 10
    assert values[20:25].tolist() == [1.5] * 5 and values[100] == 2 and np.isnan(values[25])
    buffer = read_entropy_file(graph, record)
    assert buffer.known.as_list() == [(10, 25), (100, 101)]


def test_entropies_of_the_wrong_length_are_refused(record, tmp_path):
    path = tmp_path / "short.npy"
    np.save(path, np.zeros(10, np.float32))
    with pytest.raises(InputError, match="10 entropies"):
        read_entropy_file(path, record)


@pytest.mark.parametrize("lengths", [[1], [3, 1], [2, 2, 9], [1, 5, 5, 6], [70, 1, 2],
                                     [64, 65, 1, 2], list(range(1, 100))])
def test_histogram_median_is_the_median_or_declines(lengths):
    from gui.model.patches import HISTOGRAM_CAP, histogram_median

    values = np.array(lengths)
    histogram = np.bincount(np.minimum(values, HISTOGRAM_CAP), minlength=HISTOGRAM_CAP + 1)
    median = histogram_median(histogram, len(values))
    if median is None:
        assert np.sort(values)[len(values) // 2] >= HISTOGRAM_CAP
    else:
        assert median == np.median(values)


def test_patch_view_statistics_equal_the_results(record):
    rng = np.random.default_rng(0)
    entropies = rng.random(record.length).astype(np.float32) * 1.4
    for config in (PatchConfig(mode="entropy", threshold=1.2),
                   PatchConfig(mode="entropy", threshold=0.2, add_bos=True),
                   PatchConfig(mode="greedy", threshold=30.0)):
        values = np.concatenate([[1.0], entropies]) if config.add_bos else entropies
        view = compute_patches(PatchRequest(record, config, (0, record.length),
                                            values.astype(np.float32)), Reporter())
        stats = view.result.stats()
        for key in ("count", "mean_length", "max_length", "bytes_per_patch", "threshold"):
            assert view.stats[key] == pytest.approx(stats[key]), key
        assert view.stats["median_length"] == stats["median_length"]
