"""Hostile annotation files in the window (issue 13): one dialog naming the file and line, no
exception in a worker, and the window keeps what it had."""

from __future__ import annotations

import pytest

from tests.engine.io.test_annotations import EMBL, GENBANK

BAD = {
    # once an OverflowError in the feature index (a worker bug, no dialog)
    "big.gff3": ("##gff-version 3\nchrT\tx\tCDS\t5\t1" + "0" * 30 + "\t.\t+\t0\tID=a\n", ":2:"),
    "bad.embl": (EMBL.replace("FT   tRNA            complement(30..45)",
                              "FT   tRNA            garbage((("), ":15:"),
    "badloc.gb": (GENBANK.replace("     CDS             5..25", "     CDS             5..x25"),
                  ":15:"),
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_a_bad_annotation_file_shows_one_dialog_with_its_line(qtbot, with_entropies, tmp_path,
                                                              name):
    window = with_entropies
    text, where = BAD[name]
    path = tmp_path / name
    path.write_text(text)
    window.open_paths([str(path)])
    qtbot.waitUntil(lambda: window.error_dialog is not None)
    assert window.error_dialog.text().startswith(f"{path}{where} ")
    assert "\n" not in window.error_dialog.text()
    assert [t.name for t in window.tracks.feature_tracks] == ["annotations"]  # nothing added
    assert window.model.record.id == "chrT"
