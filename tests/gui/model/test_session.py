"""The view model: state changes and their events, hover, sessions; and that it is Qt-free."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from engine.errors import FormatError, InputError
from engine.patching import PatchConfig
from gui.model.jobs import Reporter, index_features, load_document
from gui.model.locus import Locus
from gui.model.pyramid import ScoreBuffer
from gui.model.session import SessionState, Workbench
from tests.conftest import REPO


@pytest.fixture
def bench(genome):
    model = Workbench()
    model.add_document(load_document(str(genome), Reporter()))
    yield model
    model.close_all()


def test_the_model_imports_no_qt():
    code = ("import sys, gui.model, gui.model.jobs, gui.model.maps, gui.model.session, "
            "gui.model.training; "
            "bad = [m for m in sys.modules if m.split('.')[0] in ('PySide6', 'pyqtgraph')]; "
            "assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO)


def test_setters_emit_only_on_change(bench):
    seen = []
    bench.events.locus.connect(seen.append)
    doc = bench.documents[0]
    bench.set_record(doc.path, doc.sequences[0])
    assert seen == [Locus("chrT", 0, 3000)]
    bench.set_locus(Locus("chrT", 100, 200))
    bench.set_locus(Locus("chrT", 100, 200))
    assert seen[-1] == Locus("chrT", 100, 200) and len(seen) == 2
    with pytest.raises(InputError):
        bench.set_locus(Locus("other", 0, 10))


def test_locus_box_finds_features_by_name_and_tag(bench):
    _path, record, locus = bench.parse_locus("GAMMA")
    assert record.id == "chrT" and locus.start < 1500 and locus.end > 2400


def test_hover_names_base_entropy_patch_and_feature(bench):
    doc = bench.documents[0]
    bench.set_record(doc.path, doc.sequences[0])
    bench.set_features(index_features("chrT", doc.sequences[0].features, [], Reporter()))
    buffer = ScoreBuffer("chrT", 3000)
    values = np.arange(3000, dtype=np.float32) / 1000
    buffer.write(0, entropy=values, surprisal=values)
    bench.set_scores(buffer, bench.score_status)
    info = bench.hover_info(1501)
    assert info.base == doc.sequences[0].fetch(1501, 1502).decode()
    assert info.entropy == pytest.approx(1.5)  # H[p-1]: the uncertainty about base p
    assert [hit.name for hit in info.features] == ["gamma"]
    # counted from 1 as IGV does (and as the GFF3 file writes gamma: 1501..2400)
    assert info.describe().startswith("chrT:1,502 ")
    assert "gamma CDS 1,501-2,400 (+)" in info.describe()


def test_session_round_trips_through_json(bench, tmp_path):
    doc = bench.documents[0]
    bench.set_record(doc.path, doc.sequences[0], Locus("chrT", 10, 900))
    bench.set_patch_config(PatchConfig(mode="dual", threshold=1.1, threshold_add=0.1))
    path = tmp_path / "s.json"
    bench.session_state().save(path)
    state = SessionState.load(path)
    assert state.files == [doc.path] and state.locus == "chrT:11-900"  # the box's text
    assert bench.parse_locus(state.locus)[2] == Locus("chrT", 10, 900)
    assert PatchConfig.from_dict(state.patcher) == bench.patch_config
    assert state.repeats is True


def test_a_version_1_session_keeps_its_zero_based_locus_on_the_same_bases(bench, tmp_path):
    # sessions written before the locus box counted from 1 held "chrT:10-900" for [10, 900)
    path = tmp_path / "old.json"
    path.write_text(json.dumps({"version": 1, "files": [], "locus": "chrT:10-900"}))
    state = SessionState.load(path)
    assert state.locus == "chrT:11-900" and state.version == 2
    assert bench.parse_locus(state.locus)[2] == Locus("chrT", 10, 900)
    path.write_text(json.dumps({"version": 1, "locus": "gamma"}))  # not a range: as it was
    assert SessionState.load(path).locus == "gamma"


def test_a_session_of_a_later_version_is_refused(tmp_path):
    path = tmp_path / "new.json"
    path.write_text(json.dumps({"version": 3}))
    with pytest.raises(FormatError, match="not a bytescope session"):
        SessionState.load(path)


def test_turning_the_repeat_expert_off_rescores_and_is_saved(bench, tmp_path):
    seen = []
    bench.events.score_source.connect(lambda: seen.append(bench.model_spec))
    bench.set_repeats(False)
    bench.set_repeats(False)  # no change, no event
    assert seen == ["default"] and bench.repeats is False
    path = tmp_path / "s.json"
    bench.session_state().save(path)
    assert SessionState.load(path).repeats is False


def test_a_session_whose_repeats_flag_is_not_a_boolean_is_refused(bench, tmp_path):
    path = tmp_path / "s.json"
    bench.session_state().save(path)
    data = json.loads(path.read_text())
    data["repeats"] = "false"
    path.write_text(json.dumps(data))
    with pytest.raises(FormatError, match="'repeats' must be true or false") as info:
        SessionState.load(path)
    assert str(path) in str(info.value)


def test_a_broken_session_file_names_its_line(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text('{\n "version": 1,\n "files": [\n')
    with pytest.raises(FormatError) as error:
        SessionState.load(path)
    assert error.value.line is not None
    path.write_text(json.dumps({"version": 1, "patcher": {"mode": "nonsense"}}))
    with pytest.raises(FormatError, match="'patcher': unknown patching mode") as error:
        SessionState.load(path)
    assert error.value.path == str(path)


def test_each_patch_mode_keeps_its_own_threshold_and_target_for_the_session():
    model = Workbench()
    assert model.config_for_mode("entropy") == model.patch_config  # the default's own
    model.set_patch_config(PatchConfig(mode="entropy", threshold=1.1))
    model.set_patch_mode("static")
    assert (model.patch_config.threshold, model.patch_config.target_patch_size) == (None, None)
    model.set_patch_mode("dual")  # not used yet: from the entropy mode used last
    assert (model.patch_config.threshold, model.patch_config.threshold_add) == (1.1, None)
    model.set_patch_config(PatchConfig(mode="dual", threshold=0.8, threshold_add=0.1))
    model.set_patch_mode("greedy")
    assert model.patch_config.threshold == 0.8 and model.patch_config.threshold_add is None
    model.set_patch_config(PatchConfig(mode="greedy", target_patch_size=9.0))
    model.set_patch_mode("entropy")
    assert (model.patch_config.threshold, model.patch_config.target_patch_size) == (1.1, None)
    model.set_patch_mode("dual")
    assert (model.patch_config.threshold, model.patch_config.threshold_add) == (0.8, 0.1)
    model.set_patch_mode("greedy")
    assert (model.patch_config.threshold, model.patch_config.target_patch_size) == (None, 9.0)


def test_a_mode_switch_keeps_the_other_patcher_settings():
    model = Workbench()
    model.set_patch_config(PatchConfig(mode="static", patch_size=9, min_patch_length=3,
                                       blt_compat=True))
    model.set_patch_mode("entropy")
    config = model.patch_config
    assert (config.patch_size, config.min_patch_length, config.blt_compat) == (9, 3, True)
    assert config.target_patch_size == 6.0  # the default entropy settings, remembered
