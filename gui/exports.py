"""Exports: the view as PNG (any scale) or SVG, with its labels and axes; a pyqtgraph scene
(the training curves, a map with its colour bar) as PNG or SVG; the patches as BED; the
entropies as bedGraph or CSV. Files are written atomically (``engine.atomic``); the data
exports reuse the engine's writers (``engine.patching.output``).

Images are encoded in memory and written with Python's file I/O, never by Qt into the file:
``QSvgGenerator`` and ``QImage.save`` on a file name drop a failed write (a full disk leaves a
0- or 8,192-byte SVG, reported as written), where Python's ``write`` raises. A failed write
is an :class:`InputError` naming the path asked for (not its temporary), and the file that
was there stays as it was.
"""

from __future__ import annotations

import contextlib
import csv
import importlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyqtgraph as pg
import pyqtgraph.exporters
from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QRectF, QSize
from PySide6.QtGui import QImage, QPainter
from PySide6.QtSvg import QSvgGenerator
from PySide6.QtWidgets import QWidget

from engine.atomic import atomic_open
from engine.errors import InputError
from engine.patching.output import PatchRows, write_bed, write_bedgraph
from gui.model.patches import PatchView
from gui.model.pyramid import ScoreBuffer

VIEW_FORMATS = (".png", ".svg")
SCENE_FORMATS = (".png", ".svg")
CSV_CHUNK = 1 << 16


@contextlib.contextmanager
def writing(path: str | Path) -> Iterator[None]:
    """An ``OSError`` while writing ``path`` (a full disk, no permission, a folder there) as
    an :class:`InputError` naming ``path``: the one the user chose, never the temporary file
    the error was raised on."""
    try:
        yield
    except OSError as error:
        raise InputError(f"cannot write: {error.strerror or error}", path=path) from None


def write_bytes(path: str | Path, data: bytes) -> Path:
    """``data`` into ``path`` atomically, every write checked (see the module docstring)."""
    path = Path(path)
    if path.is_dir():
        raise InputError("cannot write: a folder has this name", path=path)
    with writing(path), atomic_open(path, "wb") as out:
        out.write(data)
    return path


def png_bytes(image: QImage, path: str | Path) -> bytes:
    """``image`` encoded as PNG, in memory (``path`` names it in the error)."""
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    if not image.save(buffer, "PNG"):
        raise InputError(f"cannot encode the {image.width()}x{image.height()} image as PNG",
                         path=path)
    buffer.close()
    return data.data()


@dataclass(frozen=True, eq=False)
class Rendering:
    """A view rendered on the GUI thread: a QImage still to encode as PNG (a job does it), or
    the bytes of an SVG document."""

    image: QImage | None = None
    data: bytes | None = None


def render_view(widget: QWidget, path: str | Path, scale: float = 1.0) -> Rendering:
    """Render ``widget`` (the tracks with their labels and axes) for a PNG (``scale`` times
    its size on screen) or an SVG (vector), by the path's suffix. Painting belongs to the GUI
    thread and is O(pixels); encoding and writing are :func:`write_rendering`, in a job."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in VIEW_FORMATS:
        raise InputError("the view exports as .png or .svg", path=path)
    size = widget.size()
    if suffix == ".png":
        if not 0.1 <= scale <= 16:
            raise InputError(f"scale {scale} is outside 0.1-16")
        image = QImage(QSize(round(size.width() * scale), round(size.height() * scale)),
                       QImage.Format.Format_ARGB32)
        image.fill(0xFFFFFFFF)
        painter = QPainter(image)
        painter.setRenderHint(QPainter.RenderHint.TextAntialiasing)
        painter.scale(scale, scale)
        widget.render(painter)
        painter.end()
        return Rendering(image=image)
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    generator = QSvgGenerator()
    generator.setOutputDevice(buffer)
    generator.setSize(size)
    generator.setViewBox(QRectF(0, 0, size.width(), size.height()))
    generator.setTitle("bytescope view")
    painter = QPainter(generator)
    widget.render(painter)
    painter.end()  # the SVG's closing tags: the document is whole only now
    buffer.close()
    return Rendering(data=data.data())


def write_rendering(path: str | Path, rendering: Rendering) -> Path:
    """Encode (PNG; QImage is reentrant, so a worker thread may) and write a rendering."""
    data = rendering.data if rendering.image is None else png_bytes(rendering.image, path)
    return write_bytes(path, data)


def export_view(widget: QWidget, path: str | Path, scale: float = 1.0) -> Path:
    """:func:`render_view` and :func:`write_rendering` in one call (tests, the screenshot)."""
    return write_rendering(path, render_view(widget, path, scale))


def export_patches_bed(path: str | Path, patches: PatchView) -> Path:
    """The patches as BED6 (score = mean entropy scaled to 0-1000, as ``bytescope patch``)."""
    rows = PatchRows(patches.index, patches.starts, patches.ends,
                     patches.mean_entropy(0, patches.count))
    with writing(path):
        write_bed(path, patches.record_id, rows,
                  track_name=f"{patches.record_id} {patches.config.mode} patches")
    return Path(path)


def export_entropies_bedgraph(path: str | Path, buffer: ScoreBuffer, around: int = 0) -> Path:
    """The entropies as bedGraph: the whole record once scored, else the scored stretch
    holding (or nearest) base ``around``. ``entropy[t]`` is written at base ``t`` (the
    uncertainty about base ``t + 1``), as ``bytescope score --out X.bedgraph`` writes it."""
    span = buffer.span_around(around)
    if span is None:
        raise InputError("no entropies to export yet")
    a, b = span
    with writing(path):
        write_bedgraph(path, buffer.record_id, buffer.values("entropy", a, b), offset=a,
                       track_name=f"{buffer.record_id} entropy (nats)")
    return Path(path)


def export_scores_csv(path: str | Path, buffer: ScoreBuffer, start: int = 0,
                      end: int | None = None) -> Path:
    """``record,position,entropy,surprisal`` for every base of ``[start, end)`` with values
    (nats; empty where unknown), written in chunks."""
    end = buffer.length if end is None else end
    has_surprisal = "surprisal" in buffer.signals
    with writing(path), atomic_open(path, "w", encoding="utf-8", newline="\n") as out:
        out.write("record,position,entropy,surprisal\n")
        record = buffer.record_id.replace('"', '""')
        quoted = f'"{record}"' if any(c in record for c in ',"\n') else record
        for a in range(start, end, CSV_CHUNK):
            b = min(a + CSV_CHUNK, end)
            entropy = buffer.values("entropy", a, b)
            surprisal = buffer.values("surprisal", a, b) if has_surprisal else \
                np.full(b - a, np.nan, np.float32)
            keep = ~np.isnan(entropy)
            positions = np.arange(a, b)[keep]
            e_text = np.char.mod("%.5f", entropy[keep].astype(np.float64))
            s_vals = surprisal[keep].astype(np.float64)
            s_text = np.where(np.isnan(s_vals), "", np.char.mod("%.5f", s_vals))
            lines = np.char.add(np.char.add(np.char.add(
                np.char.add(quoted + ",", positions.astype(str)), ","), e_text),
                np.char.add(",", s_text))
            if len(lines):
                out.write("\n".join(lines.tolist()) + "\n")
    return Path(path)


def render_scene(scene, path: str | Path) -> Rendering:
    """A pyqtgraph scene as on screen, for a PNG or an SVG by the path's suffix (pyqtgraph's
    exporters: the SVG keeps each plot's clipping, which Qt's own SVG generator does not)."""
    suffix = Path(path).suffix.lower()
    if suffix not in SCENE_FORMATS:
        raise InputError("a plot exports as .png or .svg", path=path)
    if suffix == ".png":
        return Rendering(image=pg.exporters.ImageExporter(scene).export(toBytes=True))
    with _svg_paths_without_z():
        return Rendering(data=bytes(pg.exporters.SVGExporter(scene).export(toBytes=True)))


def export_scene(scene, path: str | Path) -> Path:
    """:func:`render_scene` and :func:`write_rendering` in one call. A file that cannot be
    written is an ``InputError``; nothing half-written is left."""
    return write_rendering(path, render_scene(scene, path))


def write_map_csv(path: str | Path, rows: list, cols: list, corner: str,
                  data: np.ndarray) -> Path:
    """A map as CSV: ``corner`` (``rows\\columns``) then the column coordinates, then one
    line per row: its coordinate, then the values (``repr``: exact float32)."""
    with writing(path), atomic_open(path, "w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow([corner, *cols])
        for coordinate, values in zip(rows, data.tolist(), strict=True):
            writer.writerow([coordinate, *(repr(v) for v in values)])
    return Path(path)


def write_npy(path: str | Path, data: np.ndarray) -> Path:
    """An array as ``.npy`` (no pickle: ``allow_pickle=False``)."""
    with writing(path), atomic_open(path, "wb") as out:
        np.save(out, data, allow_pickle=False)
    return Path(path)


def svg_close_as_line(d: str) -> str:
    """An SVG path's ``Z`` (close) commands as lines back to the subpath's start point."""
    out: list[str] = []
    start = None
    for token in d.split():
        closes = token[-1] in "Zz"
        token = token[:-1] if closes else token
        if token:
            if token[0] in "Mm":
                start = token[1:]
            out.append(token)
        if closes and start is not None:
            out.append(f"L{start}")
    return " ".join(out)


@contextlib.contextmanager
def _svg_paths_without_z() -> Iterator[None]:
    """Named quirk, pyqtgraph#3485: pyqtgraph 0.14's SVG exporter reads path data as
    ``x,y`` pairs and fails on the ``Z`` that Qt 6.11's SVG generator writes to close a
    path. For the export's duration, its coordinate pass sees each ``Z`` as the same closing
    line (``svg_close_as_line``); pyqtgraph is left as it was afterwards."""
    module = importlib.import_module("pyqtgraph.exporters.SVGExporter")
    original = module.correctCoordinates

    def correct(node, defs, item, options):
        for element in node.getElementsByTagName("path"):
            element.setAttribute("d", svg_close_as_line(element.getAttribute("d")))
        return original(node, defs, item, options)

    module.correctCoordinates = correct
    try:
        yield
    finally:
        module.correctCoordinates = original
