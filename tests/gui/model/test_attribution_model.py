"""The Attribution panel's state without Qt: what a request asks for, the cache, and the jobs
as plain functions on a real tiny model."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from engine.analysis.attribution import Target, attribute
from engine.errors import InputError
from engine.io.records import MemorySource, Record
from engine.models import load_model
from engine.scoring import Cancelled, score
from gui.model.attribution import (
    CACHE_SIZE,
    AttributionModel,
    ExplainSettings,
    contribution,
    explain_job,
    explain_request,
    ism_heat,
    ism_matrix,
    logo_view,
    target_for,
    window_bounds,
)
from gui.model.jobs import Reporter
from tests.conftest import lambda_bases

LENGTH = 200


@pytest.fixture(scope="module")
def record() -> Record:
    return Record("chrT", LENGTH, MemorySource(lambda_bases(LENGTH).encode()), alphabet="dna")


def request(record, model, **settings):
    return explain_request(ExplainSettings(**settings), "/data/x.fa", record, str(model), True)


@pytest.fixture(scope="module")
def saliency_at_120(record, tiny_model):
    req = request(record, tiny_model, base=120, context=100)
    return req, explain_job(req, Reporter())


def test_a_cached_key_is_answered_at_once_with_the_same_result(record, tiny_model,
                                                               saliency_at_120):
    req, result = saliency_at_120
    model = AttributionModel()
    assert model.ask(req) is None and model.result is None  # not computed: a job is needed
    model.set_result(result)
    again = request(record, tiny_model, base=120, context=100)  # a new, equal request
    other = request(record, tiny_model, base=121, context=100)
    assert model.ask(other) is None and model.result is None
    assert model.ask(again) is result and model.result is result
    assert model.status.endswith("(cached)")


def test_keys_differ_by_method_target_and_options_not_by_the_request(record, tiny_model):
    key = request(record, tiny_model, base=50).key
    assert key == request(record, tiny_model, base=50).key
    assert hash(key) == hash(request(record, tiny_model, base=50).key)
    others = [request(record, tiny_model, base=50, method="ig").key,
              request(record, tiny_model, base=50, method="ism").key,
              request(record, tiny_model, base=51).key,
              request(record, tiny_model, base=50, target="entropy").key,
              request(record, tiny_model, region=(40, 60), target="region").key,
              request(record, tiny_model, base=50, context=64).key,
              request(record, "fast", base=50).key]
    assert len({key, *others}) == 1 + len(others)
    ig = request(record, tiny_model, base=50, method="ig")
    assert ig.key != request(record, tiny_model, base=50, method="ig", steps=64).key
    # an option a method does not read is not in its key
    assert request(record, tiny_model, base=50, steps=64).key == key


def test_a_result_for_an_older_request_is_cached_but_not_shown(record, tiny_model,
                                                              saliency_at_120):
    req, result = saliency_at_120
    model = AttributionModel()
    model.ask(req)
    model.ask(request(record, tiny_model, base=10))  # the user moved on
    model.set_result(result)
    assert model.result is None and model.cached(req.key) is result


def test_the_cache_keeps_the_newest_results(record, tiny_model, saliency_at_120):
    _, result = saliency_at_120
    model = AttributionModel()
    keys = [dataclasses.replace(result.key, target=Target("surprisal", i))
            for i in range(CACHE_SIZE + 5)]
    for key in keys:
        model.set_result(dataclasses.replace(result, key=key))
    assert len(model.cache) == CACHE_SIZE
    assert keys[0] not in model.cache and keys[-1] in model.cache


def test_a_base_is_the_target_the_entropy_track_draws_over_it():
    # entropy[p - 1] is drawn over base p: explaining "the entropy at base p" explains it
    assert target_for(ExplainSettings(target="entropy", base=10)) == Target("entropy", 9)
    assert target_for(ExplainSettings(target="surprisal", base=10)) == Target("surprisal", 10)
    assert target_for(ExplainSettings(target="region", region=(3, 8))) == Target("region", 3, 8)
    with pytest.raises(InputError, match="first base"):
        target_for(ExplainSettings(target="entropy", base=0))
    with pytest.raises(InputError, match="choose a base"):
        target_for(ExplainSettings())


def test_the_window_holds_the_context_before_the_base_and_fits_the_model():
    # surprisal of base 100: bases [100 - 30, 100] (b_100 itself is read, scores nothing)
    assert window_bounds(Target("surprisal", 100), 30, 256, 1000) == (70, 101)
    # entropy about base 100 (engine position 99): the 30 bases before it
    assert window_bounds(Target("entropy", 99), 30, 256, 1000) == (70, 100)
    assert window_bounds(Target("region", 100, 150), 30, 256, 1000) == (70, 150)
    assert window_bounds(Target("surprisal", 10), 30, 256, 1000) == (0, 11)
    assert window_bounds(Target("surprisal", 500), 1000, 256, 1000) == (246, 501)  # 255 bases
    with pytest.raises(InputError, match="at most 255"):
        window_bounds(Target("region", 0, 300), 0, 256, 1000)


def test_the_job_is_the_engines_attribution_of_that_window(record, tiny_model,
                                                           saliency_at_120):
    _, result = saliency_at_120
    assert (result.start, result.end) == (20, 121)
    expected = attribute(load_model(tiny_model), record.array(20, 121),
                         Target("surprisal", 100), "saliency")
    np.testing.assert_allclose(result.attribution.values, expected.values, atol=1e-6)
    assert result.attribution.output == pytest.approx(expected.output, abs=1e-6)
    assert not result.repeats
    view = logo_view(result)
    assert view.start == 20 and bytes(view.letters) == record.fetch(20, 121)


def test_the_entropy_explained_is_the_scorers_entropy_at_that_base(record, tiny_model):
    result = explain_job(request(record, tiny_model, target="entropy", base=150, context=200),
                         Reporter())
    scores = score(load_model(tiny_model), record, batch_size=1)
    assert result.start == 0
    assert result.attribution.output == pytest.approx(float(scores.entropy[149]), abs=1e-4)


def test_the_job_reports_progress_and_stops_when_cancelled(record, tiny_model):
    seen = []
    req = request(record, tiny_model, base=120, method="ig", steps=40, context=100)
    explain_job(req, Reporter(progress=lambda done, total: seen.append((done, total))))
    assert seen and seen[-1][0] == seen[-1][1] and all(d <= t for d, t in seen)
    cancelled = Reporter()
    cancelled.cancel.set()
    with pytest.raises(Cancelled):
        explain_job(req, cancelled)
    # mutagenesis of a Hyena model runs suffixes, not the model's forward: it reports itself
    ism = request(record, tiny_model, base=120, method="ism", span=40, context=100)
    seen.clear()
    explain_job(ism, Reporter(progress=lambda done, total: seen.append((done, total))))
    assert len(seen) >= 2 and seen[-1] == (120, 120)  # 40 bases x 3 letters, in batches
    with pytest.raises(Cancelled):
        explain_job(ism, cancelled)


def test_mutagenesis_letters_are_what_the_target_loses_when_the_base_is_replaced(
        record, tiny_model):
    req = request(record, tiny_model, base=120, method="ism", span=8, context=40)
    result = explain_job(req, Reporter())
    assert result.computed == (112, 120)  # the 8 bases before the target
    matrix = ism_matrix(result)
    assert matrix.shape == (8, 4)
    reference = record.array(112, 120)
    for i in range(8):  # the reference letter's own cell is 0; the others are mutants
        assert matrix[i, b"ACGT".index(reference[i])] == 0
    loss = -matrix.sum(axis=1) / 3
    np.testing.assert_allclose(contribution(result)[112 - result.start:120 - result.start],
                               loss)
    heat = ism_heat(result)
    assert heat.data.shape == (4, 8) and heat.x0 == 112 and heat.row_labels == tuple("ACGT")
    assert heat.levels[0] == -heat.levels[1]
    assert heat.levels[1] == pytest.approx(float(np.abs(matrix).max()))


def test_mutagenesis_with_the_repeat_expert_on_reruns_it_on_every_mutant(tiny_model, tmp_path):
    import shutil

    from engine.analysis.attribution import mutagenesis, repeat_continuation
    from engine.models.repeats import N_STATES, RepeatConfig, save_repeats

    folder = shutil.copytree(tiny_model, tmp_path / "with-expert")
    save_repeats(RepeatConfig(k=8, weights=[0.8] * N_STATES), folder)
    rng = np.random.default_rng(4)
    x = bytes(rng.choice(list(b"ACGT"), 400).astype(np.uint8))
    bases = x + bytes(rng.choice(list(b"ACGT"), 600).astype(np.uint8)) + x
    copy = Record("copy", len(bases), MemorySource(bases), alphabet="dna")

    def job(expert_on: bool):
        req = explain_request(ExplainSettings(base=1150, method="ism", span=6, context=30),
                              "/data/copy.fa", copy, str(folder), expert_on)
        return explain_job(req, Reporter())

    on, off = job(True), job(False)
    assert on.repeats and not off.repeats
    assert on.key != off.key  # cached apart
    assert (on.start, on.end) == (off.start, off.end) == (1120, 1151)
    model = load_model(folder)
    target = Target("surprisal", 1150 - 1120)
    expected = mutagenesis(model, copy.array(1120, 1151), target, positions=(24, 30),
                           repeats=repeat_continuation(model, copy.array(0, 1151), 1120,
                                                       copy.length))
    np.testing.assert_allclose(on.attribution.matrix, expected.matrix, atol=1e-6)
    assert on.attribution.output > off.attribution.output + 0.5  # base 1150 copies base 150


def test_a_new_record_clears_the_choice_and_what_is_shown_but_not_the_cache(
        record, tiny_model, saliency_at_120):
    req, result = saliency_at_120
    model = AttributionModel()
    model.set_base(120)
    model.ask(req)
    model.set_result(result)
    model.clear()
    assert model.settings.base is None and model.result is None and model.request is None
    assert model.cached(req.key) is result


def test_choosing_a_region_makes_the_target_its_log_likelihood_and_a_base_undoes_it():
    model = AttributionModel()
    model.set_region((10, 20))
    assert model.settings.target == "region" and model.settings.region == (10, 20)
    model.set_base(15)
    assert model.settings.target == "surprisal" and model.settings.base == 15
    with pytest.raises(InputError, match="steps"):
        model.change(steps=1)


def test_the_patch_level_model_is_explained_under_its_entropy_models_patches(tmp_path):
    from engine.analysis.attribution import saliency
    from engine.analysis.inspect import patch_source_for
    from engine.models.defaults import resolve_model_path
    from gui.model.attribution import describe

    folder = resolve_model_path("hyena-blt")
    bases = lambda_bases(3000).encode()
    fasta = tmp_path / "lambda.fa"
    fasta.write_bytes(b">lam\n" + bases + b"\n")
    lam = Record("lam", len(bases), MemorySource(bases), alphabet="dna")
    req = explain_request(ExplainSettings(base=2500, context=120), str(fasta), lam,
                          str(folder), True)
    result = explain_job(req, Reporter())
    assert (result.start, result.end) == (2380, 2501)
    flags = patch_source_for(folder)(str(fasta), lam)[2380:2501]
    np.testing.assert_array_equal(result.patch_starts, flags)
    expected = saliency(load_model(folder).eval(), lam.array(2380, 2501),
                        Target("surprisal", 120), patch_starts=flags)
    np.testing.assert_allclose(result.attribution.values, expected.values, atol=1e-6)
    assert f"under {int(flags.sum())} patches" in describe(result)
