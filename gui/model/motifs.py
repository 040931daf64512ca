"""The Motifs panel's state: what to search, the motifs found, the motif chosen.

Discovery (:func:`engine.analysis.discovery.discover`) runs over windows placed by one of two
rules on the record shown:

* ``features``: the ``upstream`` bases before each feature of ``feature_type``'s start (or
  end) codon plus the codon, along its strand (60 bp before every CDS start, say);
* ``view``: the view's locus cut into windows of ``width`` bases.

:func:`motifs_job` is the job: a plain function of an immutable :class:`MotifRequest` and a
:class:`~gui.model.jobs.Reporter`; it returns a :class:`MotifResult`. The model holds the
result and the motif chosen, whose instances (record coordinates) the panel lists and the
view jumps to. No Qt here.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from engine.analysis.windows import MOTIF_CONTEXT, Window, around_features
from engine.errors import InputError
from engine.io.records import Feature, Record

from .events import SignalGroupDescriptor, batch, evented

if TYPE_CHECKING:
    from engine.analysis.discovery import Discovery

    from .jobs import Reporter

SOURCES = ("features", "view")
METHODS = {"saliency": "saliency (fast)", "ism": "mutagenesis (exact, slower)"}
TARGETS = {"window": "each window's likelihood", "anchor": "the codon's likelihood"}
MAX_WINDOWS = 5000
PAD = 20  # bases shown either side of an instance the view jumps to


@dataclass(frozen=True)
class MotifSettings:
    source: str = "features"
    feature_type: str = "CDS"
    anchor: str = "start"
    upstream: int = 60
    width: int = 100  # view windows
    method: str = "saliency"
    context: int = MOTIF_CONTEXT
    jaspar: bool = False
    target: str = "window"  # or "anchor": the codon, explained by the bases before it

    @property
    def explained(self) -> str:
        """The engine's target: the codon only for windows before features."""
        return self.target if self.source == "features" else "window"


@dataclass(frozen=True, eq=False)
class MotifRequest:
    """What one discovery reads: the record, its features (for ``features``) and the locus
    (for ``view``), the model spec and the settings."""

    path: str
    record: Record
    model: str
    settings: MotifSettings
    features: tuple[Feature, ...] = ()
    locus: tuple[int, int] = (0, 0)


@dataclass(frozen=True, eq=False)
class MotifResult:
    request: MotifRequest
    discovery: Discovery
    describe: str  # how the windows were placed
    seconds: float


def feature_types(features) -> list[str]:
    """The feature types of the record's annotations, CDS first when there is one."""
    types = sorted({f.type for f in features})
    return sorted(types, key=lambda t: t != "CDS")


def place_windows(request: MotifRequest) -> tuple[list[Window], str]:
    """The windows of the request's rule (module docstring) and a line saying so."""
    s, record = request.settings, request.record
    if s.source == "features":
        windows, dropped = around_features(request.features, s.feature_type, s.anchor,
                                           s.upstream, {record.id: record.length})
        words = (f"{len(windows):,} windows: {s.upstream} bases before each {s.feature_type} "
                 f"{s.anchor} codon" + (f" ({dropped} off the record's ends)" if dropped else ""))
    else:
        lo, hi = request.locus
        starts = np.arange(lo, hi - s.width + 1, s.width)
        windows = [Window(record.id, int(a), int(a) + s.width) for a in starts]
        words = f"{len(windows):,} windows of {s.width} bases over the view"
    if not windows:
        raise InputError("no windows: " + ("zoom out to a view of at least "
                                           f"{s.width} bases" if s.source == "view" else
                                           f"no {s.feature_type} fits on the record"))
    if len(windows) > MAX_WINDOWS:
        raise InputError(f"{len(windows):,} windows is more than {MAX_WINDOWS:,}: zoom in, or "
                         "use the command line (bytescope motifs)")
    return windows, words


def motifs_job(request: MotifRequest, reporter: Reporter) -> MotifResult:
    """Place the windows, load the model, discover (with progress and Cancel)."""
    from engine.analysis.discovery import discover
    from engine.analysis.motif_db import jaspar_motifs

    from .attribution import load_attribution_model, using_attribution_models

    began = time.perf_counter()
    windows, words = place_windows(request)
    database = jaspar_motifs() if request.settings.jaspar else None
    with using_attribution_models(reporter):
        model, name = load_attribution_model(request.model, request.record.alphabet, reporter)
        found = discover(model, {request.record.id: request.record}, windows,
                         context=request.settings.context, method=request.settings.method,
                         target=request.settings.explained, database=database,
                         model_name=name, check=reporter.check, progress=reporter.progress)
    return MotifResult(request, found, words, time.perf_counter() - began)


def instance_rows(result: MotifResult | None, index: int | None
                  ) -> list[tuple[str, int, int, str, float]]:
    """The chosen motif's instances, ``(record, start, end, strand, score)``, by position."""
    if result is None or index is None or not 0 <= index < len(result.discovery.motifs):
        return []
    found = result.discovery
    return sorted(found.instance_loci(found.motifs[index]), key=lambda r: (r[0], r[1]))


def motif_row(result: MotifResult, index: int) -> dict:
    """A table row: consensus, sign, instances, windows, median offset, best match."""
    found = result.discovery
    motif = found.motifs[index]
    offsets = found.offsets(motif)
    matches = found.matches.get(motif.name, [])
    best = (f"{matches[0].name} ({matches[0].identifier}) p={matches[0].p_value:.2g}"
            if matches else "")
    return {"name": motif.name, "consensus": motif.consensus(),
            "sign": "+" if motif.sign > 0 else "−", "instances": motif.n_instances,
            "windows": len({s.example for s in motif.instances}),
            "offset": float(np.median(offsets)) if len(offsets) else float("nan"),
            "match": best}


def jump_locus(row: tuple[str, int, int, str, float]) -> tuple[str, int, int]:
    """The locus the view shows for an instance: it, with :data:`PAD` bases either side."""
    record, start, end, _strand, _score = row
    return record, max(0, start - PAD), end + PAD


@dataclass(eq=False)
class MotifsModel:
    """The panel's state (module docstring): evented, events on change only."""

    events: ClassVar[SignalGroupDescriptor] = evented(identity=("result",))
    settings: MotifSettings = field(default_factory=MotifSettings)
    result: MotifResult | None = None
    selected: int | None = None
    status: str = ""
    running: bool = False

    def set_settings(self, settings: MotifSettings) -> None:
        self.settings = settings

    def set_status(self, status: str) -> None:
        self.status = status

    def set_running(self, running: bool) -> None:
        self.running = running

    def set_result(self, result: MotifResult) -> None:
        found = result.discovery
        with batch(self):
            self.result = result
            self.selected = 0 if found.motifs else None
            n = len(found.motifs)
            self.status = (f"{n} motif{'' if n == 1 else 's'} from {len(found.seqlets):,} "
                           "seqlets; "
                           f"{result.describe}; {found.method}; {result.seconds:.1f} s"
                           + (f"; {found.skipped} windows skipped (letters outside ACGT)"
                              if found.skipped else ""))

    def select(self, index: int | None) -> None:
        if self.result is None or index is None or not (
                0 <= index < len(self.result.discovery.motifs)):
            index = None
        self.selected = index

    def clear(self) -> None:
        with batch(self):
            self.result = None
            self.selected = None
            self.status = ""


__all__ = ["MAX_WINDOWS", "METHODS", "SOURCES", "TARGETS", "MotifRequest", "MotifResult",
           "MotifSettings", "MotifsModel", "feature_types", "instance_rows", "jump_locus",
           "motif_row", "motifs_job", "place_windows"]
