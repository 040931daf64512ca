"""Exports and session saves on a full disk, and their messages: an error dialog naming the
path chosen, the file that was there kept, no temporary file left (issue 13).

A full disk is simulated without root by ``RLIMIT_FSIZE``: a write past the limit fails with
EFBIG (SIGXFSZ ignored) as one on a full disk fails with ENOSPC, and Qt's own file writers
dropped both alike.
"""

from __future__ import annotations

import contextlib
import resource
import signal
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyqtgraph as pg
import pytest

from engine.errors import InputError
from gui.exports import (
    export_entropies_bedgraph,
    export_patches_bed,
    export_scene,
    export_scores_csv,
)
from tests.gui.conftest import wait_exports

FREE = (0, 8192, 24_576)  # the bytes left on the disks of the report


@contextlib.contextmanager
def disk_with(free: int) -> Iterator[None]:
    """Files of this process can grow to ``free`` bytes and no further, while inside."""
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (free, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, handler)


def only(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def shown_error(window) -> str:
    assert window.error_dialog is not None and window.error_dialog.isVisible()
    return window.error_dialog.text()


@pytest.mark.parametrize("free", FREE)
@pytest.mark.parametrize("suffix", [".svg", ".png"])
def test_a_view_export_to_a_full_disk_is_a_dialog_and_keeps_the_old_file(
        qtbot, with_entropies, tmp_path, free, suffix):
    window = with_entropies
    folder = tmp_path / "out"
    folder.mkdir()
    target = folder / f"v{suffix}"
    assert window.export_view(str(target)) is not None  # a job: encoded and written there
    wait_exports(qtbot, window)
    good = target.read_bytes()
    assert len(good) > 24_576  # larger than the room left: the write must fail
    with disk_with(free):
        window.export_view(str(target))
        wait_exports(qtbot, window)
    assert target.read_bytes() == good and only(folder) == [target.name]
    message = shown_error(window)
    assert message.startswith(f"{target}: cannot write") and ".tmp" not in message
    assert window.model.messages[-1].level == "error"  # not logged as written


def test_an_svg_export_writes_a_whole_document(qtbot, with_entropies, tmp_path):
    svg = tmp_path / "v.svg"
    with_entropies.export_view(str(svg))
    wait_exports(qtbot, with_entropies)
    root = ET.parse(svg).getroot()  # the closing tags too: invalid XML raises
    assert root.tag.endswith("svg") and len(list(root.iter())) > 20


@pytest.mark.parametrize("free", (0, 100))
def test_a_session_saved_to_a_full_disk_is_a_dialog_and_keeps_the_old_one(
        with_entropies, tmp_path, free):
    window = with_entropies
    folder = tmp_path / "out"
    folder.mkdir()
    target = folder / "s.json"
    assert window.save_session(str(target)) == target
    good = target.read_bytes()
    with disk_with(free):
        assert window.save_session(str(target)) is None
    assert target.read_bytes() == good and only(folder) == [target.name]
    assert shown_error(window).startswith(f"{target}: cannot write")


@pytest.mark.parametrize("kind", ["bed", "bedgraph", "csv"])
def test_data_exports_to_a_full_disk_raise_naming_the_file_and_keep_the_old_one(
        with_entropies, tmp_path, kind):
    model = with_entropies.model
    folder = tmp_path / "out"
    folder.mkdir()
    target = folder / f"x.{kind}"
    write = {"bed": lambda: export_patches_bed(target, model.patches),
             "bedgraph": lambda: export_entropies_bedgraph(target, model.scores),
             "csv": lambda: export_scores_csv(target, model.scores)}[kind]
    write()
    good = target.read_bytes()
    assert len(good) > 8192
    with disk_with(8192), pytest.raises(InputError, match="cannot write") as error:
        write()
    assert error.value.path == str(target) and ".tmp" not in str(error.value)
    assert target.read_bytes() == good and only(folder) == [target.name]


@pytest.mark.parametrize("suffix", [".svg", ".png"])
def test_a_plot_export_to_a_full_disk_raises_and_keeps_the_old_file(qtbot, tmp_path, suffix):
    plot = pg.PlotWidget()
    qtbot.addWidget(plot)
    plot.resize(600, 400)
    plot.plot(np.arange(2000), np.sin(np.arange(2000) / 30.0))
    target = tmp_path / f"curve{suffix}"
    export_scene(plot.scene(), target)
    good = target.read_bytes()
    with disk_with(1024), pytest.raises(InputError, match="cannot write") as error:
        export_scene(plot.scene(), target)
    assert error.value.path == str(target)
    assert target.read_bytes() == good and only(tmp_path) == [target.name]


def test_a_view_export_onto_a_folder_names_the_path_chosen(qtbot, with_entropies, tmp_path):
    window = with_entropies
    target = tmp_path / "v.png"
    target.mkdir()
    window.export_view(str(target))
    wait_exports(qtbot, window)
    message = shown_error(window)
    assert message.startswith(f"{target}: cannot write") and ".tmp" not in message


def test_a_background_export_onto_a_folder_names_the_path_chosen(qtbot, with_entropies,
                                                                 tmp_path):
    window = with_entropies
    folder = tmp_path / "out"
    folder.mkdir()
    target = folder / "e.bedgraph"
    target.mkdir()  # the rename onto it fails, on the hidden temporary file's name
    window.export_entropies(str(target))
    qtbot.waitUntil(lambda: window.error_dialog is not None)
    message = shown_error(window)
    assert message.startswith(f"{target}: cannot write") and ".tmp" not in message
    assert only(folder) == [target.name]
