"""The workbench's state, Qt-free: open files, the record and locus in view, patcher settings,
model, scores, patches, selection, messages (background tasks: :mod:`gui.model.tasks`).

Widgets read this state, write it through the setters and subscribe to ``events``; an
event is emitted only when the value changes (psygnal's evented dataclass,
:mod:`gui.model.events`). Nothing here computes anything costly: the controller runs
jobs (:mod:`gui.model.jobs`) on workers and applies their results through these setters.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
import stat
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from engine.atomic import atomic_open
from engine.errors import BytescopeError, FormatError, InputError
from engine.io.records import Record
from engine.io.summary import summary_ids, summary_lengths
from engine.loci import format_locus, format_position, format_range, is_range, parse_range
from engine.patching import ENTROPY_MODES, PATCH_MODES, PatchConfig
from engine.patching.compare import ANCHORS, DEFAULT_K, BoundaryAgreement, choose_features

from .events import Signal, SignalGroup, SignalGroupDescriptor, batch, evented
from .features import FeatureHit, FeatureIndex
from .jobs import AnnotationSource, Document
from .locus import Locus, clamp, parse_locus
from .patches import PatchView
from .pyramid import ScoreBuffer

# What the Patcher starts with: entropy patching at BLT-like mean patch length.
DEFAULT_PATCH_CONFIG = PatchConfig(mode="entropy", target_patch_size=6.0)
# what each patch mode remembers for the session: switching away and back keeps a θ the user set
MODE_SETTINGS = ("threshold", "target_patch_size", "threshold_add")
# 2: ``locus`` is the locus box's text, 1-based inclusive as IGV's. Version 1 sessions wrote it
# 0-based half-open (``chrT:0-3,000``); they still load, their locus converted on reading.
SESSION_VERSION = 2
_V1_LOCUS = re.compile(r"^(.+):([\d,]+)-([\d,]+)$")
# A session names files and settings; it holds no data, so a larger file is not one (and is
# not read into memory to find that out).
MAX_SESSION_BYTES = 16 << 20
MAX_COMPARE_K = 10_000  # bases; the Patcher panel's k box goes as far


@dataclass(frozen=True)
class Message:
    level: str  # "info", "warning", "error"
    text: str
    time: float = field(default_factory=time.time)


@dataclass(frozen=True)
class ScoreStatus:
    """Where the entropies come from: ``none``, ``scoring``, ``cached``, ``scored``, ``file``,
    ``view`` (a long record's stretch around the view), ``no-model``, ``cancelled``; ``text``
    says it in words for the status bar."""

    state: str = "none"
    text: str = ""


@dataclass(frozen=True)
class CompareSettings:
    """How patch starts are compared with feature anchors: within ``k`` bases of one."""

    k: int = DEFAULT_K
    anchor: str = "start"

    def __post_init__(self) -> None:
        if isinstance(self.k, bool) or not isinstance(self.k, int) or \
                not 0 <= self.k <= MAX_COMPARE_K:
            raise InputError(f"'k' must be a whole number of bases, 0 to {MAX_COMPARE_K:,}, "
                             f"not {_shown(self.k)}")
        if not isinstance(self.anchor, str) or self.anchor not in ANCHORS:
            raise InputError(f"'anchor' must be one of {', '.join(ANCHORS)}, "
                             f"not {_shown(self.anchor)}")


@dataclass(frozen=True)
class HoverInfo:
    """What lies under the cursor."""

    record_id: str
    position: int
    base: str
    entropy: float
    surprisal: float
    patch: tuple[int, int, int] | None  # (patch number, start, end)
    features: tuple[FeatureHit, ...]

    def describe(self) -> str:
        parts = [f"{self.record_id}:{format_position(self.position)}", self.base]
        if not math.isnan(self.entropy):
            parts.append(f"H {self.entropy:.3f} nats")
        if not math.isnan(self.surprisal):
            parts.append(f"surprisal {self.surprisal:.2f}")
        if self.patch is not None:
            number, start, end = self.patch
            parts.append(f"patch #{number:,} {format_range(start, end)} ({end - start} bp)")
        parts.extend(hit.describe() for hit in self.features[:2])
        return "   ".join(parts)


@dataclass
class SessionState:
    """A saved session (JSON): files, locus (the locus box's text), patcher settings, model."""

    files: list[str] = field(default_factory=list)
    annotations: list[str] = field(default_factory=list)
    record: dict[str, str] | None = None  # {"path", "id"}
    locus: str | None = None
    patcher: dict[str, Any] = field(default_factory=lambda: DEFAULT_PATCH_CONFIG.to_dict())
    model: str = "default"
    repeats: bool = True  # mix in the model's repeat expert, when it has one
    entropies: str | None = None
    compare: dict[str, Any] = field(default_factory=lambda: asdict(CompareSettings()))
    version: int = SESSION_VERSION

    def save(self, path: str | Path) -> None:
        """Write the session as JSON, atomically; a failed write (a full disk, no permission)
        is an InputError naming ``path``, and leaves the file there as it was."""
        try:
            with atomic_open(path, "w", encoding="utf-8") as handle:
                json.dump(asdict(self), handle, indent=1)
                handle.write("\n")
        except OSError as error:
            raise InputError(f"cannot write: {error.strerror or error}", path=path) from None

    @classmethod
    def load(cls, path: str | Path) -> SessionState:
        """Read and check a session file (:meth:`from_dict`); nothing is applied here."""
        text = _read_session_text(Path(path))
        try:
            data = json.loads(text)
        except json.JSONDecodeError as error:
            raise FormatError(f"not JSON: {error.msg}", path=path, line=error.lineno) from None
        except RecursionError:  # json's parser recurses once per level of nesting
            raise FormatError("not a bytescope session: JSON nested too deeply",
                              path=path) from None
        return cls.from_dict(data, path)

    @classmethod
    def from_dict(cls, data: object, path: str | Path | None = None) -> SessionState:
        """A session from its parsed JSON, every field checked before anything uses it (the
        patcher by :class:`PatchConfig`, the comparison by :class:`CompareSettings`, the
        locus's form, the types of the rest): a bad one is a :class:`FormatError` naming
        the file and the field, so a bad session changes nothing."""
        version = data.get("version") if isinstance(data, dict) else None
        if type(version) is not int or version not in (1, SESSION_VERSION):  # not True, 1.0
            raise FormatError(f"not a bytescope session (version 1 to {SESSION_VERSION})",
                              path=path)
        if data["version"] == 1:
            data = {**data, "version": SESSION_VERSION, "locus": _v1_locus(data.get("locus"))}
        unknown = sorted(set(data) - set(cls.__dataclass_fields__))
        if unknown:
            raise FormatError(f"unknown session keys: {', '.join(map(repr, unknown))}",
                              path=path)
        for name, value in data.items():
            problem = _FIELD_PROBLEMS[name](value)
            if problem is not None:
                raise FormatError(f"malformed session: {problem}", path=path)
        return cls(**data)

    def patch_config(self) -> PatchConfig:
        return PatchConfig.from_dict(self.patcher)

    def compare_settings(self) -> CompareSettings:
        return CompareSettings(**self.compare)


def _read_session_text(path: Path) -> str:
    """The text of a session file: a regular file (a FIFO would block the window), at most
    ``MAX_SESSION_BYTES``, UTF-8."""
    try:
        info = path.stat()
        if stat.S_ISDIR(info.st_mode):
            raise InputError("is a folder, not a session file", path=path)
        if not stat.S_ISREG(info.st_mode):
            raise InputError("not a regular file", path=path)
        if info.st_size > MAX_SESSION_BYTES:
            raise FormatError(f"not a bytescope session: {info.st_size:,} bytes (a session "
                              f"is at most {MAX_SESSION_BYTES:,})", path=path)
        with open(path, "rb") as handle:
            raw = handle.read(MAX_SESSION_BYTES + 1)
    except FileNotFoundError:
        raise InputError("no such file", path=path) from None
    except OSError as error:  # permission, a symlink loop, an I/O error
        raise InputError(f"cannot read: {error.strerror or error}", path=path) from None
    if len(raw) > MAX_SESSION_BYTES:  # it grew after the stat
        raise FormatError(f"not a bytescope session: over {MAX_SESSION_BYTES:,} bytes",
                          path=path)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise FormatError("not a text file", path=path) from None


def _shown(value: object, width: int = 60) -> str:
    """``repr(value)``, cut to ``width`` characters: a message stays one readable line."""
    text = repr(value)
    return text if len(text) <= width else text[:width - 3] + "..."


def _is_name(value: object) -> bool:
    """A usable file name or model spec: text, not blank, without NUL or line breaks."""
    return isinstance(value, str) and bool(value.strip()) and not any(
        c in value for c in "\0\n\r")


def _names_problem(field_name: str):
    def problem(value: object) -> str | None:
        if not isinstance(value, list) or not all(_is_name(v) for v in value):
            return (f"'{field_name}' must be a list of file names, not {_shown(value)}")
        return None
    return problem


def _record_problem(value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, dict) or set(value) != {"path", "id"} or \
            not _is_name(value["path"]) or not isinstance(value["id"], str):
        return f"'record' must be null or {{\"path\": FILE, \"id\": RECORD}}, not {_shown(value)}"
    return None


def _locus_problem(value: object) -> str | None:
    """The locus box's text: its ranges are checked here (1-based, START <= END); the
    record or feature it names is looked up once the files are open."""
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip() or "\n" in value or len(value) > 1000:
        return ("'locus' must be null or the locus box's text (record:start-end, a record "
                f"or a feature name), not {_shown(value)}")
    _record_id, sep, tail = value.strip().rpartition(":")
    span = tail if sep else value
    if is_range(span):
        try:
            parse_range(span)
        except InputError as error:
            return f"'locus' {error.message}"
    return None


def _patcher_problem(value: object) -> str | None:
    if not isinstance(value, dict):
        return f"'patcher' must be an object of patcher settings, not {_shown(value)}"
    for setting in dataclasses.fields(PatchConfig):  # PatchConfig checks numbers, not flags
        flag = value.get(setting.name)
        if isinstance(setting.default, bool) and setting.name in value and \
                not isinstance(flag, bool):
            return f"'patcher': {setting.name} must be true or false, not {_shown(flag)}"
    try:
        PatchConfig.from_dict(value)
    except InputError as error:
        return f"'patcher': {error.message}"
    return None


def _compare_problem(value: object) -> str | None:
    if not isinstance(value, dict):
        return f"'compare' must be an object with 'k' and 'anchor', not {_shown(value)}"
    unknown = sorted(set(value) - {f.name for f in dataclasses.fields(CompareSettings)})
    if unknown:
        return f"'compare': unknown settings {', '.join(map(repr, unknown))}"
    try:
        CompareSettings(**value)
    except InputError as error:
        return f"'compare': {error.message}"
    return None


def _model_problem(value: object) -> str | None:
    if not _is_name(value):
        return ("'model' must be 'default', 'fast' or a model folder's path, "
                f"not {_shown(value)}")
    return None


def _entropies_problem(value: object) -> str | None:
    if value is not None and not _is_name(value):
        return f"'entropies' must be null or a file name, not {_shown(value)}"
    return None


def _repeats_problem(value: object) -> str | None:
    if not isinstance(value, bool):
        return f"'repeats' must be true or false, not {_shown(value)}"
    return None


# What is wrong with each field's value (None: nothing); every field of SessionState has one.
_FIELD_PROBLEMS: dict[str, Callable[[object], str | None]] = {
    "files": _names_problem("files"),
    "annotations": _names_problem("annotations"),
    "record": _record_problem,
    "locus": _locus_problem,
    "patcher": _patcher_problem,
    "model": _model_problem,
    "repeats": _repeats_problem,
    "entropies": _entropies_problem,
    "compare": _compare_problem,
    "version": lambda value: None,  # checked first, with the file's kind
}


def _v1_locus(locus: object) -> object:
    """A version 1 session's ``record:start-end`` (0-based half-open) in today's 1-based text;
    anything else (a record or feature name, a malformed value) is kept as it was."""
    match = _V1_LOCUS.match(locus) if isinstance(locus, str) else None
    if match is None:
        return locus
    record_id, start, end = match.groups()
    return format_locus(record_id, int(start.replace(",", "")), int(end.replace(",", "")))


class WorkbenchEvents(SignalGroup):
    """Events that are not a field of :class:`Workbench` (each field has its own signal)."""

    score_source = Signal()  # the model, its repeat expert or the entropy file changed
    scores_grew = Signal(object)  # the ScoreBuffer got values in place (at a bounded rate)
    message = Signal(object)  # a Message for the log
    error = Signal(object)  # a BytescopeError to show in a dialog


@dataclass(eq=False)
class Workbench:
    """The view model (see the module docstring): an evented dataclass, so assigning a field
    emits ``events.<field>`` when the value changes; the setters hold the rules between
    fields, and set several fields at once in a :func:`~gui.model.events.batch`, so that a
    subscriber sees them all changed."""

    events: ClassVar[SignalGroupDescriptor] = evented(
        WorkbenchEvents,
        # objects with arrays compare by identity; so do the two mutated in place (messages,
        # mode_settings), which no event follows and batch() need not compare element-wise
        identity=("documents", "annotations", "record", "features", "scores", "patches",
                  "comparison", "messages", "mode_settings"))

    # Fields in the order their events fire when a setter changes several (events.batch):
    # a new record's features, scores and patches before its locus.
    documents: list[Document] = field(default_factory=list)
    annotations: list[AnnotationSource] = field(default_factory=list)  # annotation files
    record_path: str | None = None
    record: Record | None = None
    features: list[FeatureIndex] = field(default_factory=list)  # one index per source
    patch_config: PatchConfig = DEFAULT_PATCH_CONFIG
    model_spec: str = "default"
    repeats: bool = True
    entropy_file: str | None = None
    score_status: ScoreStatus = field(default_factory=ScoreStatus)
    scores: ScoreBuffer | None = None
    patches: PatchView | None = None
    selection: int | None = None
    comparison: BoundaryAgreement | None = None
    compare_settings: CompareSettings = field(default_factory=CompareSettings)
    locus: Locus | None = None
    cursor: int | None = None
    # MODE_SETTINGS by mode: what each entropy mode remembers this session
    mode_settings: dict[str, dict[str, float | None]] = field(default_factory=dict)
    messages: list[Message] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._remember_mode(self.patch_config)

    # -- files -------------------------------------------------------------------------------
    def add_document(self, document: Document, order: Sequence[str] = ()) -> None:
        """Add an opened file; ``documents`` follow ``order`` (the paths in the order they
        were asked for), not the order the loads finished in; paths not in it go last."""
        # A reopened file replaces the old document, which is not closed here: a job may still
        # read it; its maps close when the last reference goes.
        documents = [d for d in self.documents if d.path != document.path] + [document]
        rank = {path: i for i, path in enumerate(order)}
        self.documents = sorted(documents, key=lambda d: rank.get(d.path, len(rank)))

    def close_all(self) -> None:
        for document in self.documents:
            document.close()
        with batch(self):
            self.documents = []
            self.annotations = []
            self.set_record(None, None)

    def document(self, path: str) -> Document | None:
        return next((d for d in self.documents if d.path == path), None)

    def add_annotations(self, source: AnnotationSource) -> None:
        self.annotations = [s for s in self.annotations if s.path != source.path] + [source]

    def record_lengths(self) -> dict[str, int]:
        """Open records by id (the first file wins when two share an id)."""
        lengths: dict[str, int] = {}
        for document in reversed(self.documents):  # from the summaries: no Record per read
            rows = document.summaries  # by column: no dict per row of a 10^6-record file
            lengths.update(zip(summary_ids(rows), summary_lengths(rows).tolist(), strict=True))
        return lengths

    def find_record(self, record_id: str) -> tuple[str, Record] | None:
        for document in self.documents:
            if record_id in document.sequences:
                return document.path, document.sequences[record_id]
        return None

    # -- the record and the locus --------------------------------------------------------------
    def set_record(self, path: str | None, record: Record | None,
                   locus: Locus | None = None) -> None:
        """Show ``record`` (of the file at ``path``), at ``locus`` or whole. An empty record
        (a FASTA header with no sequence) has nothing to show: it is refused with a dialog and
        the record shown stays."""
        if record is not None and record.length == 0:
            self.report_error(InputError(f"record {record.id!r} is empty (a header with no "
                                         "sequence): nothing to show", path=path))
            return
        if record is self.record and path == self.record_path:
            if locus is not None:
                self.set_locus(locus)
            return
        with batch(self):  # subscribers see the new record with everything reset
            self.record_path, self.record = path, record
            self.features = []
            self.entropy_file = None
            self.scores, self.score_status = None, ScoreStatus()
            self.patches = None
            self.selection = None
            self.comparison = None
            if record is None:
                self.locus = None
            else:
                self.locus = locus if locus is not None else Locus(record.id, 0, record.length)

    def set_locus(self, locus: Locus) -> None:
        if self.record is None or locus.record_id != self.record.id:
            raise InputError(f"record {locus.record_id!r} is not the one shown")
        self.locus = clamp(locus.record_id, locus.start, locus.end, self.record.length)

    def parse_locus(self, text: str) -> tuple[str, Record, Locus]:
        """Read a locus box entry; returns the file, record and locus it names."""
        locus = parse_locus(text, self.locus, self.record_lengths(), self.find_feature,
                            self.patch_interval)
        if self.record is not None and locus.record_id == self.record.id:
            return self.record_path or "", self.record, locus
        found = self.find_record(locus.record_id)
        assert found is not None  # parse_locus only names open records
        return found[0], found[1], locus

    def find_feature(self, name: str) -> tuple[str, int, int] | None:
        """A feature whose name, ID, gene or locus tag is ``name`` (case-insensitive)."""
        key = name.lower()
        sources = [r.features for d in self.documents if d.sequences.format != "fastq"
                   for r in d.sequences]  # reads carry no features
        sources += [s.features for s in self.annotations]
        lengths = self.record_lengths()
        for features in sources:
            for f in features:
                if f.record_id in lengths and (
                    f.name.lower() == key
                    or any(f.attributes.get(a, "").lower() == key
                           for a in ("ID", "gene", "locus_tag", "Name"))
                ):
                    return f.record_id, f.start, f.end
        return None

    def patch_interval(self, number: int) -> tuple[int, int] | None:
        patches = self.patches
        if patches is None:
            return None
        i = int(patches.index.searchsorted(number))
        if i < patches.count and patches.index[i] == number:
            return int(patches.starts[i]), int(patches.ends[i])
        return None

    def set_features(self, tracks: list[FeatureIndex]) -> None:
        self.features = tracks

    # -- patcher, model, scores, patches -------------------------------------------------------
    def set_patch_config(self, config: PatchConfig) -> None:
        self._remember_mode(config)
        self.patch_config = config

    def _remember_mode(self, config: PatchConfig) -> None:
        if config.mode in ENTROPY_MODES:  # the byte modes have none of these settings
            self.mode_settings.pop(config.mode, None)  # the last entry: the latest mode used
            self.mode_settings[config.mode] = {name: getattr(config, name)
                                               for name in MODE_SETTINGS}

    def config_for_mode(self, mode: str) -> PatchConfig:
        """The current settings in ``mode``, with the θ, target size and θ_add last used in
        that mode this session. A mode not used yet takes them over from the entropy mode
        used last (θ_add only into ``dual``)."""
        if mode not in ENTROPY_MODES:
            settings = dict.fromkeys(MODE_SETTINGS)
        elif mode in self.mode_settings:
            settings = self.mode_settings[mode]
        else:  # never empty: the default config's mode is remembered from the start
            settings = list(self.mode_settings.values())[-1]
        if "threshold_add" not in PATCH_MODES[mode].settings:  # only dual reads θ_add
            settings = {**settings, "threshold_add": None}
        return dataclasses.replace(self.patch_config, mode=mode, **settings)

    def set_patch_mode(self, mode: str) -> None:
        """Switch the patcher to ``mode`` (:meth:`config_for_mode`)."""
        self.set_patch_config(self.config_for_mode(mode))

    def set_model_spec(self, spec: str) -> None:
        """Score with the model ``spec`` ('default', 'fast' or a folder); an entropy file in
        use is dropped. ``score_source`` tells the controller to rescore."""
        if spec != self.model_spec or self.entropy_file is not None:
            with batch(self):
                self.model_spec = spec
                self.entropy_file = None
            self.events.score_source.emit()

    def set_repeats(self, on: bool) -> None:
        """Mix the model's repeat expert into its scores (the default) or not."""
        if bool(on) != self.repeats:
            self.repeats = bool(on)
            self.events.score_source.emit()

    def set_entropy_file(self, path: str) -> None:
        """Take the current record's entropies from a file instead of the model (read again
        when it is the file in use: it may have been rewritten)."""
        self.entropy_file = path
        self.events.score_source.emit()

    def set_scores(self, buffer: ScoreBuffer | None, status: ScoreStatus) -> None:
        with batch(self):
            self.score_status = status
            self.scores = buffer

    def scores_changed(self) -> None:
        """The buffer got more values (called by the controller at a bounded rate)."""
        self.events.scores_grew.emit(self.scores)

    def set_patches(self, patches: PatchView | None) -> None:
        with batch(self):
            if self.selection is not None and (patches is None or
                                               self.selection >= patches.count):
                self.selection = None
            self.patches = patches

    def select_patch(self, i: int | None) -> None:
        self.selection = i

    def set_comparison(self, comparison: BoundaryAgreement | None) -> None:
        self.comparison = comparison

    def set_compare_settings(self, settings: CompareSettings) -> None:
        self.compare_settings = settings

    def gene_features(self) -> list:
        """Every feature of the current record (its own and from annotation files)."""
        return [f for source in self._feature_sources() for f in source]

    def compared_features(self) -> tuple[tuple, tuple[str, ...]]:
        """``(features, types)`` boundaries are compared with: per source, as ``bytescope
        compare-annotations`` chooses them (:func:`engine.patching.compare.choose_features`:
        CDS/tRNA/rRNA, or every feature of a source without those, such as a BED file)."""
        if self.record is None:
            return (), ()
        length = self.record.length
        choices = [choose_features(source, length) for source in self._feature_sources()]
        features = tuple(f for choice in choices for f in choice.features)
        types = tuple(dict.fromkeys(t for choice in choices if choice.features
                                    for t in choice.types))
        return features, types

    def _feature_sources(self) -> list[list]:
        if self.record is None:
            return []
        record_id = self.record.id
        return [list(self.record.features)] + [
            [f for f in source.features if f.record_id == record_id]
            for source in self.annotations]

    # -- hover ---------------------------------------------------------------------------------
    def set_cursor(self, position: int | None) -> None:
        self.cursor = position

    def hover_info(self, position: int) -> HoverInfo | None:
        record = self.record
        if record is None or not 0 <= position < record.length:
            return None
        byte = record.fetch(position, position + 1)
        base = chr(byte[0]) if 32 <= byte[0] < 127 else f"0x{byte[0]:02x}"
        scores = self.scores
        # H[p-1] is the model's uncertainty about base p (BLT's alignment), so show that one.
        entropy = scores.value_at("entropy", position - 1) if scores is not None else math.nan
        surprisal = (scores.value_at("surprisal", position)
                     if scores is not None and "surprisal" in scores.signals else math.nan)
        patch = None
        if self.patches is not None:
            i = self.patches.at(position)
            if i is not None:
                patch = (int(self.patches.index[i]), int(self.patches.starts[i]),
                         int(self.patches.ends[i]))
        hits = tuple(hit for track in self.features for hit in track.at(position))
        return HoverInfo(record.id, position, base, entropy, surprisal, patch, hits)

    # -- messages ------------------------------------------------------------------------------
    def log(self, text: str, level: str = "info") -> None:
        message = Message(level, text)
        self.messages.append(message)
        self.events.message.emit(message)

    def report_error(self, error: BytescopeError) -> None:
        """A user-facing failure: logged, and shown in a dialog by the window."""
        self.log(str(error), "error")
        self.events.error.emit(error)

    # -- sessions ------------------------------------------------------------------------------
    def session_state(self) -> SessionState:
        record = None
        if self.record is not None and self.record_path is not None:
            record = {"path": self.record_path, "id": self.record.id}
        return SessionState(
            files=[d.path for d in self.documents],
            annotations=[s.path for s in self.annotations],
            record=record,
            locus=self.locus.format() if self.locus is not None else None,
            patcher=self.patch_config.to_dict(),
            model=self.model_spec,
            repeats=self.repeats,
            entropies=self.entropy_file,
            compare=asdict(self.compare_settings),
        )
