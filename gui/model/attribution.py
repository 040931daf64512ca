"""The Attribution panel's state, Qt-free: what to explain, the explanation shown, the
dependency map shown, and every explanation computed this session, by key.

A request explains a *target* of the record shown with the Workbench's model
(:mod:`engine.analysis.attribution`): the surprisal of a base ``p`` (``log p(b_p | b_<p)``),
the entropy at a base ``p`` (the uncertainty about ``b_p``, the scorer's ``entropy[p - 1]``,
which the entropy track draws over base ``p``) or a region's log-likelihood. The window the
model reads ends just after the target and holds ``context`` bases before it (at most the
model's ``max_len - 1``: :func:`window_bounds`). Methods: saliency, integrated gradients
(``steps``), mutagenesis of the ``span`` bases before the target's last input.

Explanations are cached under an :class:`ExplainKey` (file, record, model, target, method and
the options that change the numbers), so asking again is instant (:meth:`AttributionModel.ask`).
The jobs (:func:`explain_job`, :func:`dependency_job`) are plain functions of an immutable
request and a :class:`~gui.model.jobs.Reporter`; the attribution controller
(:mod:`gui.controllers.attribution`) runs them on the shared runner.

The model is loaded in the job into :data:`ATTRIBUTION_MODELS`, a cache of its own: the
engine replaces the embedding with a forward hook while it explains, and a model shared with
the scoring jobs (:data:`engine.models.loaded.LOADED`) may carry no hook (its docstring).
Jobs using these models run one at a time (:func:`using_attribution_models`).
"""

from __future__ import annotations

import dataclasses
import inspect
import math
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from engine.analysis.attribution import METHODS, Attribution, Target
from engine.errors import InputError
from engine.io.records import Record
from engine.loci import format_position, format_range
from engine.models.loaded import ModelCache

from .events import SignalGroupDescriptor, batch, evented

if TYPE_CHECKING:
    from torch import nn

    from .jobs import Reporter

TARGET_KINDS = ("surprisal", "entropy", "region")
TARGET_LABELS = {"surprisal": "surprisal at a base", "entropy": "entropy at a base",
                 "region": "region log-likelihood"}
METHOD_LABELS = {"saliency": "saliency (input × gradient)", "ig": "integrated gradients",
                 "ism": "mutagenesis"}
MAX_STEPS = 1024  # integrated gradients' quadrature points
MAX_SPAN = 512  # bases mutated by one mutagenesis
MAX_DEPENDENCY = 256  # bases of a dependency map (m^2 cells, 3m forwards)
IG_BATCH = 16  # quadrature points per forward (the engine's default)
ISM_BATCH = 64  # mutants per forward (the engine's default)
CACHE_SIZE = 64  # explanations kept (each a few hundred kB at most)
ATTRIBUTION_MODELS = ModelCache(size=2)  # loaded for attribution only (module docstring)
_MODELS_IN_USE = threading.Lock()


# ---------------------------------------------------------------------------------------------
# what to explain


@dataclass(frozen=True)
class ExplainSettings:
    """The panel's form: the target's kind, the base or region it is about, the method and
    its options. ``base`` and ``region`` are 0-based record coordinates (region half-open)."""

    target: str = "surprisal"
    base: int | None = None
    region: tuple[int, int] | None = None
    method: str = "saliency"
    steps: int = 32  # integrated gradients
    context: int = 512  # bases before the target the model reads
    span: int = 64  # mutagenesis: bases mutated before the target; dependency map: width

    def __post_init__(self) -> None:
        if self.target not in TARGET_KINDS:
            raise InputError(f"target must be one of {', '.join(TARGET_KINDS)}, "
                             f"not {self.target!r}")
        if self.method not in METHODS:
            raise InputError(f"method must be one of {', '.join(METHODS)}, not {self.method!r}")
        for name, low, high in (("steps", 2, MAX_STEPS), ("context", 1, 1 << 20),
                                ("span", 1, MAX_SPAN)):
            value = getattr(self, name)
            if not isinstance(value, int) or not low <= value <= high:
                raise InputError(f"'{name}' must be a whole number in {low}..{high}, "
                                 f"not {value!r}")
        if self.region is not None and not 0 <= self.region[0] < self.region[1]:
            raise InputError(f"a region needs 0 <= start < end, not {self.region}")


@dataclass(frozen=True)
class ExplainKey:
    """What an explanation depends on; the cache's key. ``target`` is in record coordinates
    with the engine's meaning (``entropy`` at t: the uncertainty about base t + 1);
    ``method`` is one of METHODS or ``dependency``; ``options`` are the sorted
    ``(name, value)`` pairs that change the numbers (context, steps, span, repeats)."""

    path: str
    record_id: str
    model: str  # the Workbench's model spec ("default", "fast", a folder)
    target: Target
    method: str
    options: tuple[tuple[str, Any], ...] = ()

    def option(self, name: str, default: Any = None) -> Any:
        return dict(self.options).get(name, default)


@dataclass(frozen=True, eq=False)
class ExplainRequest:
    """An explanation (or a dependency map) to compute: its key, and the record's bases from
    ``first`` that the window may take (read when asked, so the job touches no file: a
    session load may close it meanwhile)."""

    key: ExplainKey
    alphabet: str  # the record's (which bundled model "default" and "fast" name)
    length: int
    first: int
    bases: np.ndarray  # (m,) uint8, record bases [first, first + m)
    record: Record | None = None  # for a patch-level model's patch starts (scored if needed)

    def window(self, lo: int, hi: int) -> np.ndarray:
        """Record bases ``[lo, hi)``, which the request holds."""
        return self.bases[lo - self.first:hi - self.first]


def _request(key: ExplainKey, record: Record) -> ExplainRequest:
    """The request with every base the window may take: ``context`` before the target (the
    model may read fewer: :func:`window_bounds` with its ``max_len``)."""
    lo, hi = window_bounds(key.target, key.option("context"), 1 << 40, record.length)
    if key.option("repeats"):
        lo = 0  # the repeat expert reads the record from its first base
    return ExplainRequest(key, record.alphabet, record.length, lo,
                          np.frombuffer(record.fetch(lo, hi), dtype=np.uint8), record)


def target_for(settings: ExplainSettings) -> Target:
    """The engine target (record coordinates) the settings ask for (module docstring)."""
    if settings.target == "region":
        if settings.region is None:
            raise InputError("select a region first (shift-drag in the entropy track)")
        return Target("region", *settings.region)
    if settings.base is None:
        raise InputError("choose a base first (click it in the entropy track)")
    if settings.target == "entropy":
        if settings.base < 1:
            raise InputError("the first base has no entropy before it: choose a later base")
        return Target("entropy", settings.base - 1)  # entropy[p - 1] is about base p
    return Target("surprisal", settings.base)


def target_words(target: Target) -> str:
    """``surprisal of base 1,235``, ``entropy at base 1,235``, ``log-likelihood of 10-40``
    (1-based, as the locus box)."""
    if target.kind == "surprisal":
        return f"surprisal of base {format_position(target.position)}"
    if target.kind == "entropy":
        return f"entropy at base {format_position(target.position + 1)}"
    return f"log-likelihood of {format_range(target.position, target.end)}"


def window_bounds(target: Target, context: int, limit: int, length: int) -> tuple[int, int]:
    """Record bases ``[lo, hi)`` the model reads for ``target``: ``hi`` one past the target
    (``t + 1``; a region's end), ``lo`` ``context`` bases before the base explained (the
    region's start), no more than ``limit - 1`` bases in all (the model's BOS takes one)."""
    if target.kind == "region":
        first, hi = target.position, target.end
    elif target.kind == "entropy":
        first, hi = target.position + 1, target.position + 1  # about base t + 1, reads <= t
    else:
        first, hi = target.position, target.position + 1
    if hi > length:
        raise InputError(f"the target ({target_words(target)}) lies past the record's end "
                         f"({length:,} bases)")
    room = limit - 1
    if hi - first > room:
        raise InputError(f"the region {format_range(first, hi)} is {hi - first:,} bases; "
                         f"this model reads at most {room:,} at a time: select a shorter one")
    lo = max(0, first - context, hi - room)
    return lo, hi


def repeats_included(method: str, repeats_on: bool) -> bool:
    """Whether the repeat expert takes part: never for gradients (its guesses come from the
    whole record, no differentiable function of the window), for mutagenesis when the user
    has it on (and the model has one: the result's ``repeats`` says)."""
    return method == "ism" and repeats_on


def expert_words(method: str, repeats_on: bool) -> str:
    """What the panel says about the repeat expert for ``method``."""
    if method in ("saliency", "ig"):
        return "network alone: gradients cannot include the repeat expert"
    if repeats_included(method, repeats_on):
        return "with the repeat expert, re-run on every mutant (Model ▸ Use the Repeat Expert)"
    return "network alone: the repeat expert is off (Model ▸ Use the Repeat Expert)"


def explain_request(settings: ExplainSettings, path: str, record: Record, model: str,
                    repeats_on: bool) -> ExplainRequest:
    """The request for the settings on ``record`` of the file at ``path`` with ``model``."""
    target = target_for(settings)
    if target.kind != "region" and not 0 <= settings.base < record.length:
        raise InputError(f"base {format_position(settings.base)} is outside the record "
                         f"({record.length:,} bases)")
    options: dict[str, Any] = {"context": settings.context}
    if settings.method == "ig":
        options["steps"] = settings.steps
    if settings.method == "ism":
        options["span"] = settings.span
        options["repeats"] = repeats_included("ism", repeats_on)
    key = ExplainKey(str(path), record.id, model, target, settings.method,
                     tuple(sorted(options.items())))
    return _request(key, record)


def dependency_region(settings: ExplainSettings) -> tuple[int, int]:
    """The bases a dependency map covers: the region selected, else the ``span`` bases
    before the base chosen, at most :data:`MAX_DEPENDENCY`."""
    if settings.region is not None:
        lo, hi = settings.region
    elif settings.base is not None:
        lo, hi = max(0, settings.base - settings.span), settings.base + 1
    else:
        raise InputError("choose a base or select a region first")
    if hi - lo > MAX_DEPENDENCY:
        raise InputError(f"a dependency map covers at most {MAX_DEPENDENCY} bases, not "
                         f"{hi - lo:,} ({format_range(lo, hi)}): select a shorter region")
    return lo, hi


def dependency_request(settings: ExplainSettings, path: str, record: Record,
                       model: str) -> ExplainRequest:
    lo, hi = dependency_region(settings)
    if hi > record.length:
        raise InputError(f"{format_range(lo, hi)} runs past the record's end "
                         f"({record.length:,} bases)")
    key = ExplainKey(str(path), record.id, model, Target("region", lo, hi), "dependency",
                     (("context", settings.context),))
    return _request(key, record)


# ---------------------------------------------------------------------------------------------
# what was computed


@dataclass(frozen=True, eq=False)
class Explanation:
    """An attribution of ``key``'s target over the record bases ``[start, start + n)``;
    ``computed`` are the record bases the method scored (mutagenesis: its span; gradients:
    the window)."""

    key: ExplainKey
    start: int
    window: np.ndarray  # (n,) uint8, the bases read
    attribution: Attribution
    computed: tuple[int, int]
    model_name: str
    seconds: float
    patch_starts: np.ndarray | None = None  # (n,) bool: a patch-level model's, held fixed

    @property
    def end(self) -> int:
        return self.start + len(self.window)

    @property
    def repeats(self) -> bool:
        return bool(self.attribution.repeats)


@dataclass(frozen=True, eq=False)
class DependencyResult:
    """A dependency map over record bases ``[lo, hi)``: ``matrix[i, j]`` is how much base
    ``lo + j``'s prediction depends on base ``lo + i`` (the engine's
    :func:`engine.analysis.dependency.dependency_map`)."""

    key: ExplainKey
    lo: int
    hi: int
    alphabet: bytes
    matrix: np.ndarray  # (m, m)
    model_name: str
    seconds: float


def contribution(explanation: Explanation) -> np.ndarray:
    """Per base, how much the base read adds to the target (the logo's letter heights):
    saliency and IG ``a_i``; mutagenesis ``-(1/(A-1)) sum_k (F(x, b_i = k) - F(x))``, what
    the target loses, on average, when base i is replaced (``-values``)."""
    values = explanation.attribution.values
    return -values if explanation.key.method == "ism" else values


@dataclass(frozen=True, eq=False)
class LogoView:
    """What the logo track draws: ``heights[i]`` for the letter ``letters[i]`` at record base
    ``start + i``; the target marked."""

    record_id: str
    start: int
    letters: np.ndarray  # (n,) uint8
    heights: np.ndarray  # (n,) float64
    target: Target
    method: str

    @property
    def end(self) -> int:
        return self.start + len(self.letters)


def logo_view(explanation: Explanation | None) -> LogoView | None:
    if explanation is None:
        return None
    key = explanation.key
    return LogoView(key.record_id, explanation.start, explanation.window,
                    np.asarray(contribution(explanation), dtype=np.float64), key.target,
                    key.method)


@dataclass(frozen=True, eq=False)
class Heat:
    """A heat map as shown: ``data[row, column]`` (float32), columns record bases from
    ``x0``, rows from ``y0`` (letters or record bases), with its levels."""

    data: np.ndarray
    x0: float
    y0: float
    levels: tuple[float, float]
    row_labels: tuple[str, ...] = ()  # letters of a mutagenesis map (none: record bases)


def _top(data: np.ndarray) -> float:
    top = float(np.abs(data).max()) if data.size else 0.0
    return top if top > 0 and math.isfinite(top) else 1.0


def ism_heat(explanation: Explanation | None) -> Heat | None:
    """The mutagenesis matrix of the bases mutated, letters as rows (``(A, m)``), on
    symmetric levels ``-m..m``."""
    if explanation is None or explanation.key.method != "ism":
        return None
    a, b = explanation.computed
    matrix = explanation.attribution.matrix[a - explanation.start:b - explanation.start]
    data = np.ascontiguousarray(matrix.T, dtype=np.float32)  # (m, A) -> (A, m)
    top = _top(data)
    labels = tuple(chr(c) if 32 < c < 127 else f"{c:02x}"
                   for c in explanation.attribution.alphabet)
    return Heat(data, float(a), 0.0, (-top, top), labels)


def ism_matrix(explanation: Explanation) -> np.ndarray:
    """``(m, A)``: the effect of each letter at each base mutated (rows: record bases)."""
    a, b = explanation.computed
    return explanation.attribution.matrix[a - explanation.start:b - explanation.start]


def dependency_heat(result: DependencyResult | None) -> Heat | None:
    """The dependency map on levels ``0..max``."""
    if result is None:
        return None
    data = np.ascontiguousarray(result.matrix, dtype=np.float32)
    top = float(np.nanmax(data)) if data.size else 0.0
    top = top if top > 0 and math.isfinite(top) else 1.0
    return Heat(data, float(result.lo), float(result.lo), (0.0, top))


def ism_cell_words(explanation: Explanation, position: int, row: int) -> str:
    """``base 1,235 T→G: -0.412 nats``: a mutant and its effect on the target."""
    alphabet = explanation.attribution.alphabet
    ref = int(explanation.window[position - explanation.start])
    effect = float(explanation.attribution.matrix[position - explanation.start, row])
    letter = alphabet[row]
    if letter == ref:
        return f"base {format_position(position)} {chr(ref)} (the base read)"
    return (f"base {format_position(position)} {_char(ref)}→{_char(letter)}: "
            f"{effect:+.3g} nats")


def dependency_cell_words(result: DependencyResult, i: int, j: int) -> str:
    """``base 1,240 ← base 1,235: 0.42``: the prediction of base j, as base i changes."""
    value = float(result.matrix[i - result.lo, j - result.lo])
    return f"base {format_position(j)} ← base {format_position(i)}: {value:.3g}"


def _char(code: int) -> str:
    return chr(code) if 32 < code < 127 else f"0x{code:02x}"


def describe(explanation: Explanation) -> str:
    """The status line of an explanation."""
    key, attribution = explanation.key, explanation.attribution
    words = [f"{METHOD_LABELS[key.method]} of the {target_words(key.target)} "
             f"({explanation.model_name}, bases {format_range(explanation.start, explanation.end)}"
             f"): F = {attribution.output:.3f} nats"]
    if attribution.delta is not None:
        words.append(f"completeness delta {attribution.delta:+.2g}")
    if explanation.patch_starts is not None:
        words.append(f"byte decoder under {int(explanation.patch_starts.sum()):,} patches "
                     "(held fixed)")
    words.append(f"{explanation.seconds:.2f} s")
    return ", ".join(words)


# ---------------------------------------------------------------------------------------------
# the state


@dataclass(eq=False)
class AttributionModel:
    """The Attribution panel's state (module docstring): an evented dataclass, events on
    change only. ``request``/``result`` are the explanation asked for and shown (the result
    is always ``request``'s, or None while it is computed); ``dependency_request`` and
    ``dependency`` the same for the dependency map; ``cache`` holds every result by key,
    the newest :data:`CACHE_SIZE` (mutated in place: no event)."""

    events: ClassVar[SignalGroupDescriptor] = evented(
        identity=("request", "result", "dependency_request", "dependency", "cache"))
    settings: ExplainSettings = field(default_factory=ExplainSettings)
    request: ExplainRequest | None = None
    result: Explanation | None = None
    dependency_request: ExplainRequest | None = None
    dependency: DependencyResult | None = None
    cache: dict[ExplainKey, Explanation | DependencyResult] = field(default_factory=dict)
    status: str = ""
    error: str = ""  # the last failure, in words ("" after a success)
    running: bool = False  # a job of the panel's runs

    # -- the form ----------------------------------------------------------------------------
    def set_settings(self, settings: ExplainSettings) -> None:
        self.settings = settings

    def change(self, **changes) -> None:
        """``change(method="ig", steps=64)``: the settings with these fields replaced."""
        self.settings = dataclasses.replace(self.settings, **changes)

    def set_base(self, base: int | None) -> None:
        """A base chosen (clicked): point targets are about it."""
        changes: dict[str, Any] = {"base": base}
        if self.settings.target == "region" and base is not None:
            changes["target"] = "surprisal"
        self.change(**changes)

    def set_region(self, region: tuple[int, int] | None) -> None:
        """A region selected: the target becomes its log-likelihood."""
        self.change(region=region, **({"target": "region"} if region is not None else {}))

    # -- asking and answering ----------------------------------------------------------------
    def cached(self, key: ExplainKey) -> Explanation | DependencyResult | None:
        return self.cache.get(key)

    def ask(self, request: ExplainRequest) -> Explanation | None:
        """Ask for an explanation: the cached one is shown at once (and returned); else the
        result is cleared until :meth:`set_result` brings it (None: a job is needed)."""
        hit = self.cached(request.key)
        with batch(self):
            self.request = request
            self.result = hit if isinstance(hit, Explanation) else None
            self.error = ""
            self.status = (describe(hit) + " (cached)" if isinstance(hit, Explanation) else
                           f"explaining the {target_words(request.key.target)}…")
        return self.result

    def ask_dependency(self, request: ExplainRequest) -> DependencyResult | None:
        """As :meth:`ask`, for a dependency map."""
        hit = self.cached(request.key)
        with batch(self):
            self.dependency_request = request
            self.dependency = hit if isinstance(hit, DependencyResult) else None
            self.error = ""
            lo, hi = request.key.target.position, request.key.target.end
            self.status = ("dependency map (cached)" if self.dependency is not None else
                           f"dependency map of {format_range(lo, hi)}…")
        return self.dependency

    def _remember(self, result: Explanation | DependencyResult) -> None:
        self.cache.pop(result.key, None)
        self.cache[result.key] = result  # the newest last
        while len(self.cache) > CACHE_SIZE:
            del self.cache[next(iter(self.cache))]

    def set_result(self, result: Explanation) -> None:
        """A computed explanation: cached; shown if it answers the current request."""
        self._remember(result)
        if self.request is not None and self.request.key == result.key:
            with batch(self):
                self.result = result
                self.status = describe(result)

    def set_dependency(self, result: DependencyResult) -> None:
        self._remember(result)
        if self.dependency_request is not None and self.dependency_request.key == result.key:
            with batch(self):
                self.dependency = result
                self.status = (f"dependency map of {format_range(result.lo, result.hi)} "
                               f"({result.model_name}): {result.seconds:.2f} s")

    def set_failed(self, key: ExplainKey, message: str) -> None:
        if self._current(key):
            with batch(self):
                self.error = message
                self.status = message

    def set_cancelled(self, key: ExplainKey) -> None:
        if self._current(key):
            self.status = "cancelled"

    def _current(self, key: ExplainKey) -> bool:
        return any(r is not None and r.key == key
                   for r in (self.request, self.dependency_request))

    def set_status(self, text: str) -> None:
        self.status = text

    def set_running(self, running: bool) -> None:
        self.running = bool(running)

    def clear(self) -> None:
        """Nothing chosen, asked or shown (a new record); the cache stays."""
        with batch(self):
            self.settings = dataclasses.replace(self.settings, base=None, region=None)
            self.request = self.result = None
            self.dependency_request = self.dependency = None
            self.error = ""

    def logo(self) -> LogoView | None:
        return logo_view(self.result)


# ---------------------------------------------------------------------------------------------
# jobs


def _method_function(method: str) -> Callable:
    from engine.analysis import attribution

    return {"saliency": attribution.saliency, "ig": attribution.integrated_gradients,
            "ism": attribution.mutagenesis}[method]


def _method_parameters(method: str) -> set[str]:
    """The keywords ``attribute(..., method)`` passes on: its own and the method's."""
    from engine.analysis.attribution import attribute

    return (set(inspect.signature(attribute).parameters)
            | set(inspect.signature(_method_function(method)).parameters))


@contextmanager
def using_attribution_models(reporter: Reporter) -> Iterator[None]:
    """One attribution or motif job at a time uses :data:`ATTRIBUTION_MODELS` (the engine
    hooks the embedding while it runs); a job waiting here can still be cancelled."""
    while not _MODELS_IN_USE.acquire(timeout=0.05):
        reporter.check()
    try:
        yield
    finally:
        _MODELS_IN_USE.release()


@contextmanager
def _forward_checks(model: nn.Module, reporter: Reporter, total: int | None) -> Iterator[None]:
    """Before each forward of ``model``: stop if cancelled, and (``total`` given) report
    forwards done of ``total``. For engine functions without ``check=``/``progress=``; the
    model is this job's alone (:func:`using_attribution_models`), so the hook sees no one else's."""
    done = [0]

    def before(_module, _inputs) -> None:
        reporter.check()
        if total:
            reporter.progress(min(done[0], total), total)
        done[0] += 1

    handle = model.register_forward_pre_hook(before)
    try:
        yield
    finally:
        handle.remove()
    if total:
        reporter.progress(total, total)


def load_attribution_model(spec: str, alphabet: str, reporter: Reporter
                           ) -> tuple[nn.Module, str]:
    """The model ``spec`` names for ``alphabet``, from :data:`ATTRIBUTION_MODELS`, and its
    folder's name."""
    from engine.models.defaults import resolve_model_path

    from .maps import use_worker_threads

    use_worker_threads()
    folder = resolve_model_path(spec, alphabet)
    model = ATTRIBUTION_MODELS.get(folder)
    reporter.check()
    return model, folder.name


def _limit(model: nn.Module) -> int:
    return int(getattr(model, "max_len", 1 << 20))


def forwards(method: str, n_positions: int, alphabet_size: int, steps: int) -> int:
    """Forward passes of the engine's methods: saliency 1; IG ``ceil(steps / 16)`` + 2 (F(x),
    F(x0)); mutagenesis ``ceil(m (A - 1) / 64)`` + 1 (the reference)."""
    if method == "saliency":
        return 1
    if method == "ig":
        return math.ceil(steps / IG_BATCH) + 2
    return math.ceil(n_positions * (alphabet_size - 1) / ISM_BATCH) + 1


def explain_job(request: ExplainRequest, reporter: Reporter) -> Explanation:
    """Load the model, read the window, attribute (:func:`engine.analysis.attribution.attribute`)
    with progress and cancel checks, and say which bases were computed."""
    from engine.analysis.attribution import alphabet_for, attribute, repeat_continuation

    key = request.key
    began = time.perf_counter()
    with using_attribution_models(reporter):
        model, name = load_attribution_model(key.model, request.alphabet, reporter)
        lo, hi = window_bounds(key.target, key.option("context"), _limit(model), request.length)
        window = request.window(lo, hi)
        target = Target(key.target.kind, key.target.position - lo,
                        None if key.target.end is None else key.target.end - lo)
        n = hi - lo
        options: dict[str, Any] = {}
        computed = (lo, hi)
        if key.method == "ig":
            options["steps"] = key.option("steps")
        if key.method == "ism":
            last = target.last_input(n)
            first = max(0, last - key.option("span"))
            options["positions"] = (first, last)
            computed = (lo + first, lo + last)
            if key.option("repeats"):
                options["repeats"] = repeat_continuation(model, request.window(0, hi), lo,
                                                         request.length)
        patches = window_patches(model, request, lo, hi, reporter)
        if patches is not None:
            options["patch_starts"] = patches
        accepted = _method_parameters(key.method)
        if "check" in accepted:
            options["check"] = reporter.check
        if "progress" in accepted:
            options["progress"] = reporter.progress
        total = None if "progress" in accepted else forwards(
            key.method, computed[1] - computed[0], len(alphabet_for(window)), key.option(
                "steps", 0))
        with _forward_checks(model, reporter, total):
            attribution = attribute(model, window, target, key.method, **options)
    return Explanation(key, lo, window, attribution, computed, name,
                       time.perf_counter() - began, patches)


_PATCHES: dict[str, Any] = {}  # model folder -> its EntropyPatches (remembers a record's)


def window_patches(model: nn.Module, request: ExplainRequest, lo: int, hi: int,
                   reporter: Reporter) -> np.ndarray | None:
    """A patch-level model's patch starts over record bases ``[lo, hi)``, from the entropy
    model it was trained with (:func:`engine.analysis.inspect.patch_source_for`; the record
    is scored once, then cached); None for the byte-level models."""
    from engine.analysis.attribution import is_patch_level
    from engine.analysis.inspect import patch_source_for
    from engine.models.defaults import resolve_model_path

    if not is_patch_level(model):
        return None
    if request.record is None:
        raise InputError("a patch-level model needs the record to cut it into patches")
    folder = str(resolve_model_path(request.key.model, request.alphabet))
    if folder not in _PATCHES:
        _PATCHES[folder] = patch_source_for(folder)
    flags = _PATCHES[folder](request.key.path, request.record)[lo:hi].copy()
    reporter.check()
    return flags


def dependency_job(request: ExplainRequest, reporter: Reporter) -> DependencyResult:
    """A dependency map of the key's region (:func:`engine.analysis.dependency.dependency_map`)
    in a window reaching ``context`` bases before it."""
    from engine.analysis.dependency import dependency_map

    key = request.key
    lo, hi = key.target.position, key.target.end
    began = time.perf_counter()
    with using_attribution_models(reporter):
        model, name = load_attribution_model(key.model, request.alphabet, reporter)
        start, end = window_bounds(key.target, key.option("context"), _limit(model),
                                   request.length)
        window = request.window(start, end)
        accepted = set(inspect.signature(dependency_map).parameters)
        options = {name: getattr(reporter, name) for name in ("check", "progress")
                   if name in accepted}
        patches = window_patches(model, request, start, end, reporter)
        if patches is not None:
            options["patch_starts"] = patches
        with _forward_checks(model, reporter, None):
            result = dependency_map(model, window, lo - start, hi - start, **options)
    return DependencyResult(key, lo, hi, bytes(result.alphabet), np.asarray(result.matrix),
                            name, time.perf_counter() - began)


__all__ = ["ATTRIBUTION_MODELS", "METHOD_LABELS", "TARGET_KINDS", "TARGET_LABELS",
           "AttributionModel", "DependencyResult", "ExplainKey", "ExplainRequest",
           "ExplainSettings", "Explanation", "Heat", "LogoView", "contribution",
           "dependency_cell_words", "dependency_heat",
           "dependency_job", "dependency_region", "dependency_request", "describe",
           "expert_words", "explain_job", "explain_request", "forwards", "ism_cell_words",
           "ism_heat", "ism_matrix", "load_attribution_model", "logo_view",
           "repeats_included", "target_for", "target_words", "using_attribution_models",
           "window_bounds", "window_patches"]
