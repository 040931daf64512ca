"""The Bake panel's state, Qt-free: what to bake, the fine-tuning run's curve, the report, and
the fp32 entropy kept as an overlay while the baked model scores the tracks.

Three bakes (:data:`BAKES`): int8 and ternary by post-training quantization are one job
(:func:`bake_job`: bake the folder, then :func:`engine.bake.report.bake_report`); ternary by
quantization-aware fine-tuning is first a Trainer run (the Training panel's controller runs
it, so it pauses, stops, resumes and draws its curves like any run), then the same job on the
run's best checkpoint. Events (fields of :class:`BakeModel`, on change only):

    settings   what the form says                    (BakeSettings)
    phase      idle | training | baking | done | failed
    status     one line of what is going on           (str)
    curve      the fine-tuning run's rows so far      (list[dict])
    result     the baked folder and its report        (BakeResult | None)
    using      whether the baked model scores the tracks (bool)
    overlay    the fp32 model's scores of the record  (ScoreBuffer | None)
    overlay_grew  the overlay got values in place (extra event)
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from engine.errors import InputError

from .events import Signal, SignalGroup, SignalGroupDescriptor, batch, evented

if TYPE_CHECKING:
    from engine.bake.report import ModelReport

    from .jobs import Reporter
    from .pyramid import ScoreBuffer

# the form's choices: label -> (to, method)
BAKES = {"int8": ("int8", "ptq"),
         "ternary, fine-tuned (QAT)": ("ternary", "qat"),
         "ternary, post-training (diagnostic)": ("ternary", "ptq")}
PHASES = ("idle", "training", "baking", "done", "failed")


@dataclass(frozen=True)
class BakeSettings:
    """The form. ``source``: a bundled model name or a model/run folder; ``data``: the files
    to fine-tune on (QAT) and to report on (the first, its longest record's last tenth);
    ``out``: the baked folder ("" : beside the workspace's runs, named for the bake)."""

    source: str = "default"
    bake: str = "int8"
    data: tuple[str, ...] = ()
    steps: int = 2000
    blend_steps: int = 200
    out: str = ""
    evaluate: bool = True
    speed_bytes: int = 200_000
    embedding: str = "float32"  # or "int8": the embedding table (and tied head) as int8 rows

    @property
    def to(self) -> str:
        return BAKES[self.bake][0]

    @property
    def method(self) -> str:
        return BAKES[self.bake][1]


def default_out(workspace: Path | None, source: Path, to: str, method: str) -> Path:
    """Where a bake goes when the form names no folder: ``<workspace>/bakes/<model>-<to>-
    <method>`` (the model's folder name; a run's checkpoint is named for its run)."""
    name = source.parent.name if source.name.startswith("step_") else source.name
    root = (workspace or Path.home() / "bytescope-runs") / "bakes"
    return root / f"{name}-{to}-{method}"


@dataclass(frozen=True, eq=False)
class BakeRequest:
    """One bake job: bake ``weights`` (the source folder, or a fine-tuned checkpoint) into
    ``out``, keeping ``source``'s repeat expert; report fp32 (``source``) beside it on
    ``evaluate`` (a sequence file) when given."""

    source: Path
    out: Path
    to: str
    method: str
    weights: Path | None = None
    evaluate: str | None = None
    speed_bytes: int = 200_000
    embedding: str = "float32"


@dataclass(frozen=True, eq=False)
class BakeResult:
    out: Path
    bake: dict  # bake.json: to, method, layers, kernel (packing)
    reports: list[ModelReport]  # fp32 first; empty when nothing was evaluated
    seconds: float


def bake_job(request: BakeRequest, reporter: Reporter) -> BakeResult:
    """Bake, then report (module docstring); cancellable between models."""
    from engine.bake.convert import bake_folder
    from engine.bake.report import bake_report

    began = time.perf_counter()
    reporter.check()
    baked = bake_folder(request.weights or request.source, request.out, request.to,
                        method=request.method, embedding=request.embedding,
                        repeats_from=request.source)
    reports: list = []
    if request.evaluate:
        label = f"{request.to} {request.method}" + (
            " + int8 embedding" if request.embedding == "int8" else "")
        folders = {"fp32": request.source, label: request.out}
        stages = 2 * (2 if request.speed_bytes else 1)  # per model: bits, then speed
        begun = [0]

        def progress(_text: str) -> None:  # called as each stage begins
            reporter.progress(begun[0], stages)
            begun[0] += 1

        reports = bake_report(folders, request.evaluate, speed_bytes=request.speed_bytes,
                              progress=progress, check=reporter.check)
    return BakeResult(request.out, dict(baked.bake), reports, time.perf_counter() - began)


# -- the report as rows and bars ----------------------------------------------------------------
REPORT_COLUMNS = ("model", "body", "fp32 remainder", "folder", "RSS scoring", "throughput",
                  "vs fp32", "bits/base", "with expert", "boundary F1")


def _bytes(n: int) -> str:
    for unit, size in (("MB", 1e6), ("kB", 1e3)):
        if n >= size:
            return f"{n / size:,.2f} {unit}"
    return f"{n:,} B"


def report_rows(reports: list[ModelReport]) -> list[tuple[str, ...]]:
    """The report's table, one row of :data:`REPORT_COLUMNS` per model."""
    if not reports:
        return []
    base = reports[0]
    rows = []
    for r in reports:
        fast = not math.isnan(r.bytes_per_s)
        rows.append((r.label, _bytes(r.size.body), _bytes(r.size.remainder),
                     _bytes(r.size.folder),
                     "" if math.isnan(r.rss_mb) else f"{r.rss_mb:,.0f} MB",
                     f"{r.bytes_per_s / 1e3:,.1f} kB/s" if fast else "",
                     f"{r.bytes_per_s / base.bytes_per_s:.2f}x" if fast else "",
                     f"{r.bits_per_base:.4f}",
                     "" if r.bits_per_base_expert is None else f"{r.bits_per_base_expert:.4f}",
                     f"{r.f1:.3f}"))
    return rows


BAR_METRICS = ("body size", "folder size", "throughput", "bits/base", "boundary F1")


def bar_values(reports: list[ModelReport]) -> list[tuple[str, list[float]]]:
    """For the bar chart: each model's figures as a ratio to fp32's (fp32 is 1 everywhere;
    F1 is against fp32 already), in :data:`BAR_METRICS` order; NaN where not measured."""
    if not reports:
        return []
    base = reports[0]
    out = []
    for r in reports:
        out.append((r.label, [r.size.body / max(1, base.size.body),
                              r.size.folder / max(1, base.size.folder),
                              r.bytes_per_s / base.bytes_per_s,
                              r.bits_per_base / base.bits_per_base, r.f1]))
    return out


def describe(result: BakeResult) -> str:
    """One line on what was baked and what it cost."""
    spec = result.bake
    words = (f"baked {spec['to']} ({spec['method']}, {len(spec['layers'])} layers"
             f"{', int8 embedding' if spec.get('embeddings') else ''}, kernel "
             f"{spec['kernel']}) into {result.out.name} in {result.seconds:.1f} s")
    if len(result.reports) >= 2:
        fp32, baked = result.reports[0], result.reports[-1]
        words += (f"; {fp32.size.folder / max(1, baked.size.folder):.1f}x smaller, "
                  f"{baked.bits_per_base - fp32.bits_per_base:+.4f} bits/base, boundary F1 "
                  f"{baked.f1:.3f}")
    return words


class BakeEvents(SignalGroup):
    """Events that are not a field of :class:`BakeModel`."""

    overlay_grew = Signal(object)  # the overlay buffer got values in place


@dataclass(eq=False)
class BakeModel:
    """The panel's state (module docstring)."""

    events: ClassVar[SignalGroupDescriptor] = evented(
        BakeEvents, identity=("result", "overlay", "curve"))
    settings: BakeSettings = field(default_factory=BakeSettings)
    phase: str = "idle"
    status: str = ""
    run_dir: Path | None = None  # the fine-tuning run (QAT)
    curve: list[dict] = field(default_factory=list)
    result: BakeResult | None = None
    using: bool = False
    overlay: ScoreBuffer | None = None

    def set_settings(self, settings: BakeSettings) -> None:
        if settings.steps < 1 or settings.blend_steps < 0:
            raise InputError("steps must be at least 1 and the blend at least 0")
        self.settings = settings

    def set_status(self, status: str) -> None:
        self.status = status

    def start(self, phase: str, status: str, run_dir: Path | None = None) -> None:
        """A new bake begins: the old curve and report go."""
        with batch(self):
            self.phase = phase
            self.status = status
            self.run_dir = run_dir
            self.curve = []
            self.result = None

    def set_phase(self, phase: str, status: str = "") -> None:
        if phase not in PHASES:
            raise ValueError(phase)
        with batch(self):
            self.phase = phase
            if status:
                self.status = status

    def add_rows(self, rows: list[dict]) -> None:
        self.curve = [*self.curve, *rows]

    def set_result(self, result: BakeResult) -> None:
        with batch(self):
            self.result = result
            self.phase = "done"
            self.status = describe(result)

    def set_using(self, using: bool) -> None:
        with batch(self):
            self.using = using
            if not using:
                self.overlay = None

    def set_overlay(self, buffer: ScoreBuffer | None) -> None:
        self.overlay = buffer

    def overlay_changed(self) -> None:
        self.events.overlay_grew.emit(self.overlay)

    @property
    def busy(self) -> bool:
        return self.phase in ("training", "baking")


__all__ = ["BAKES", "BAR_METRICS", "REPORT_COLUMNS", "BakeModel", "BakeRequest", "BakeResult",
           "BakeSettings", "bake_job", "bar_values", "default_out", "describe", "report_rows"]
