"""The Motifs panel in a real window: a real discovery job with progress, the motifs table
with logos, a motif's instances, and a click on one moving the view."""

from __future__ import annotations

from gui.model.motifs import MotifRequest, MotifResult
from tests.gui.conftest import wait_ready
from tests.gui.model.test_motifs_model import planted_result


def settle(qtbot, window, timeout=60_000) -> None:
    qtbot.waitUntil(lambda: not window.motifs.motifs_model.running, timeout=timeout)


def test_find_motifs_runs_before_cds_starts_and_over_the_view(qtbot, window, genome,
                                                              tiny_model):
    window.model.set_model_spec(str(tiny_model))
    window.open_paths([str(genome)])
    qtbot.waitUntil(lambda: window.model.record is not None)
    wait_ready(qtbot, window)
    panel = window.motifs
    assert panel.type_box.findText("CDS") == 0  # CDS first among the open annotations
    panel.context_spin.setValue(32)
    assert panel.motifs_model.settings.context == 32
    assert panel.discover() is not None
    settle(qtbot, window)
    result = panel.motifs_model.result
    assert result is not None, panel.status.text()
    assert "before each CDS start codon" in panel.status.text()
    assert panel.motif_count() == len(result.discovery.motifs)
    assert result.discovery.target == "window"
    panel.target_box.setCurrentIndex(panel.target_box.findData("anchor"))
    assert panel.motifs_model.settings.target == "anchor"
    panel.discover()
    settle(qtbot, window)
    found = panel.motifs_model.result.discovery
    assert found.target == "anchor"
    assert not found.contributions[:, 60:].any()  # the codon is the target, not explained
    panel.source_box.setCurrentIndex(panel.source_box.findData("view"))
    assert not panel.type_box.isEnabled() and panel.width_spin.isEnabled()
    assert not panel.target_box.isEnabled()  # windows over the view have no codon
    panel.discover()
    settle(qtbot, window)
    assert "over the view" in panel.status.text()
    assert panel.motifs_model.result.discovery.target == "window"
    assert window.error_dialog is None


def test_the_table_lists_motifs_and_a_click_shows_an_instance(qtbot, window, tmp_path):
    found, _starts, sequence = planted_result()
    fasta = tmp_path / "planted.fa"
    fasta.write_text(">chrP\n" + sequence.tobytes().decode() + "\n")
    window.open_paths([str(fasta)])
    qtbot.waitUntil(lambda: window.model.record is not None)
    panel = window.motifs
    request = MotifRequest(str(fasta), window.model.record, "default",
                           panel.motifs_model.settings)
    panel.motifs_model.set_result(MotifResult(request, found, "40 windows", 0.5))
    assert panel.motif_count() == len(found.motifs) >= 1
    assert panel.table.item(0, 2).text() == found.motifs[0].consensus()
    logo = panel.table.item(0, 0).data(0x1)  # Qt.DecorationRole
    assert logo is not None and not logo.isNull()
    texts = panel.instance_texts()
    assert len(texts) == found.motifs[0].n_instances and texts[0].startswith("chrP:")
    panel.instances.setCurrentRow(3)
    locus = window.model.locus
    first = sorted(found.instance_loci(found.motifs[0]), key=lambda r: r[1])[3]
    assert locus.start == max(0, first[1] - 20) and locus.end == first[2] + 20
    window.grab().save(str(tmp_path / "motifs.png"))


def test_a_protein_record_is_refused_in_words(qtbot, window, tmp_path):
    path = tmp_path / "p.fa"
    path.write_text(">p1\n" + "MKVLAAGIVGLLLAWQPSTRDEEKK" * 4 + "\n")
    window.open_paths([str(path)])
    qtbot.waitUntil(lambda: window.model.record is not None)
    assert window.motifs.discover() is None
    assert "reads DNA" in window.motifs.status.text()
