"""The exports' controller: every file the window writes from what it shows.

Painting a view or a plot belongs to the GUI thread and is O(pixels), so it is done there
(:func:`gui.exports.render_view`); encoding the image and writing any file (PNG, SVG, BED,
bedGraph, CSV, NPY) is a job on the shared runner (kinds ``export:<path>``, one submit site:
:meth:`ExportController._submit`), shown in the status bar with its Cancel. A failure is a
dialog naming the path chosen; a success is a line in the log.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QWidget

from engine.errors import BytescopeError, InputError

from ..exports import (
    export_entropies_bedgraph,
    export_patches_bed,
    export_scores_csv,
    render_scene,
    render_view,
    write_map_csv,
    write_npy,
    write_rendering,
    writing,
)
from ..model.session import Workbench
from ..workers import TaskRunner


class ExportController(QObject):
    """Writes exports in jobs (module docstring); each method returns the job's request id,
    or None when there is nothing to write (the dialog says why)."""

    def __init__(self, workbench: Workbench, runner: TaskRunner,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.workbench = workbench
        self.runner = runner

    def export_view(self, widget: QWidget, path: str | Path, scale: float = 1.0) -> int | None:
        """The tracks as PNG (``scale`` times the size on screen) or SVG."""
        return self._rendered("the view", path, lambda: render_view(widget, path, scale))

    def export_scene(self, scene, path: str | Path, what: str = "the plot") -> int | None:
        """A pyqtgraph scene (a map with its colour bar, the curves) as PNG or SVG."""
        return self._rendered(what, path, lambda: render_scene(scene, path))

    def export_patches(self, path: str | Path) -> int | None:
        """The record's patches as BED."""
        patches = self.workbench.patches
        if patches is None:
            self.workbench.report_error(InputError("no patches to export yet"))
            return None
        return self._submit("patches", path, lambda: export_patches_bed(path, patches))

    def export_entropies(self, path: str | Path) -> int | None:
        """The entropies as bedGraph (the scored stretch around the view, or the whole
        record) or, for a ``.csv`` path, CSV with the surprisal."""
        buffer, locus = self.workbench.scores, self.workbench.locus
        if buffer is None:
            self.workbench.report_error(InputError("no entropies to export yet"))
            return None
        around = int(locus.centre) if locus is not None else 0
        if Path(path).suffix.lower() == ".csv":
            return self._submit("entropies", path, lambda: export_scores_csv(path, buffer))
        return self._submit("entropies", path,
                            lambda: export_entropies_bedgraph(path, buffer, around))

    def export_map_csv(self, path: str | Path, rows: list, cols: list, corner: str,
                       data) -> int:
        return self._submit("the map", path,
                            lambda: write_map_csv(path, rows, cols, corner, data))

    def export_map_npy(self, path: str | Path, data) -> int:
        return self._submit("the map", path, lambda: write_npy(path, data))

    def busy(self) -> bool:
        return self.runner.busy_prefix("export:")

    def _rendered(self, what: str, path: str | Path, render: Callable) -> int | None:
        try:
            rendering = render()  # on the GUI thread: painting, O(pixels)
        except BytescopeError as error:
            self.workbench.report_error(error)
            return None
        return self._submit(what, path, lambda: write_rendering(path, rendering))

    def _submit(self, what: str, path: str | Path, write: Callable[[], Path]) -> int:
        """The one place exports are submitted; a write error names ``path`` (the one the
        user chose, not its hidden temporary)."""

        def job(reporter) -> Path:
            with writing(path):
                return write()

        return self.runner.submit(
            f"export:{path}", job, lambda written: self.workbench.log(f"wrote {written}"),
            label=f"Exporting {what} to {Path(path).name}",
            on_error=self.workbench.report_error)
