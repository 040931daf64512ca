"""What a bake costs, side by side with the model it came from (issue 17's report).

For each model folder (the fp32 model first, then its bakes), one :class:`ModelReport`:

* size: the quantized body, the full-precision remainder and the whole folder
  (:func:`engine.bake.convert.folder_size`);
* resident memory and whole-process throughput of ``bytescope score`` over the first
  ``speed_bytes`` of the record, in a fresh process without the cache (:func:`score_process`);
* held-out bits per base on the record's last tenth (the project's held-out rule: a model is
  trained on the first 90% of each record), the model conditioned on what comes before, with
  and without the repeat expert;
* patch agreement with the first model: entropy-mode boundaries at one target patch size over
  the held-out tenth, F1 of boundaries within 1 bp (:func:`boundary_f1`).

The CLI (``bytescope bake ... --evaluate FILE``), ``bench/bake.py`` and the window's Bake panel
all call :func:`bake_report`.
"""

from __future__ import annotations

import dataclasses
import json
import math
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from engine.bake.convert import FolderSize, folder_size
from engine.errors import InputError, ModelError

HELD_OUT = 0.1  # the last tenth of a record
TARGET_PATCH_SIZE = 6.0
SPEED_BYTES = 200_000


def boundary_f1(a: np.ndarray, b: np.ndarray, within: int = 1) -> float:
    """F1 of patch starts ``b`` against ``a`` (both sorted): a start counts as found when one
    of the other set lies within ``within`` positions. Precision is over ``b``, recall over
    ``a``; F1 = 2PR / (P + R)."""
    a, b = np.asarray(a, np.int64), np.asarray(b, np.int64)
    if not len(a) or not len(b):
        return 0.0

    def hits(x: np.ndarray, y: np.ndarray) -> float:
        if len(y) == 1:
            return float((np.abs(y[0] - x) <= within).mean())
        i = np.clip(np.searchsorted(y, x), 1, len(y) - 1)
        near = np.minimum(np.abs(y[i] - x), np.abs(y[i - 1] - x))
        return float((near <= within).mean())

    precision, recall = hits(b, a), hits(a, b)
    return 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)


@dataclass(frozen=True)
class ModelReport:
    """One row of the report; NaN where a figure was not measured."""

    label: str
    folder: str
    size: FolderSize
    bits_per_base: float
    bits_per_base_expert: float | None  # None: the model has no repeat expert
    f1: float  # boundary agreement with the first model of the report (1.0 for itself)
    bytes_per_s: float = math.nan
    rss_mb: float = math.nan

    def as_dict(self) -> dict:
        out = asdict(self)
        out["size"] = self.size.as_dict()
        return out


def held_out_span(length: int, fraction: float = HELD_OUT) -> tuple[int, int]:
    """The held-out ``[start, end)`` of a record: its last ``fraction``, cut where the
    Trainer cuts (``engine.train.data``), at least one base."""
    return min(max(0, round(length * (1 - fraction))), max(0, length - 1)), length


def score_process(folder: str | Path, path: str | Path, record: str, n: int) -> tuple[float,
                                                                                     float]:
    """(bytes/s, peak RSS in MB) of a fresh ``bytescope score`` process over the first ``n``
    bases of ``record``: the whole process (start-up, model load, scoring), no cache."""
    argv = [sys.executable, "-m", "engine", "score", str(path), "--record", record,
            "--region", f"0-{n}", "--model", str(folder), "--no-cache", "--no-progress",
            "--json"]
    t0 = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    if done.returncode != 0:
        raise ModelError(f"scoring with {folder} failed: "
                         f"{done.stderr.strip().splitlines()[-1] if done.stderr else ''}")
    answer = json.loads(done.stdout.strip().splitlines()[-1])
    return answer["n"] / seconds, float(answer.get("peak_rss_mb", math.nan))


def bake_report(folders: dict[str, str | Path], path: str | Path, record: str | None = None, *,
                fraction: float = HELD_OUT, target_patch_size: float = TARGET_PATCH_SIZE,
                speed_bytes: int = SPEED_BYTES, speed_repeats: int = 1,
                progress: Callable[[str], None] | None = None,
                check: Callable[[], None] | None = None) -> list[ModelReport]:
    """The report over ``folders`` (label -> model folder, the reference first) on ``record``
    of the sequence file ``path`` (default: its longest record). ``speed_bytes=0`` skips the
    throughput processes; with ``speed_repeats`` > 1 each model is timed that many times, the
    models in turn, and the medians are kept (a 2-core machine's speeds move ±20% between
    runs). ``check`` is called between models (a job's cancel point)."""
    from engine.io import open_sequences
    from engine.models import load_model
    from engine.patching import PatchConfig, Patcher
    from engine.scoring import score

    if not folders:
        raise InputError("nothing to report on")
    with open_sequences(path) as sequences:
        records = list(sequences)
        if not records:
            raise InputError("no records", path=path)
        if record is None:
            chosen = max(records, key=len)
        else:
            chosen = next((r for r in records if r.id == record), None)
            if chosen is None:
                raise InputError(f"no record {record!r} (it has "
                                 f"{', '.join(r.id for r in records[:5])}...)", path=path)
        start, end = held_out_span(len(chosen), fraction)
        patcher = Patcher(PatchConfig(mode="entropy", target_patch_size=target_patch_size))
        reports: list[ModelReport] = []
        reference = None
        for label, folder in folders.items():
            if check is not None:
                check()
            if progress is not None:
                progress(f"{label}: held-out bits per base")
            model = load_model(folder)
            alone = score(model, chosen, start, end, repeats=False)
            expert = (score(model, chosen, start, end, repeats=True).bits_per_byte
                      if model.repeats is not None else None)
            starts = patcher.patch(alone.entropy).starts
            reference = starts if reference is None else reference
            reports.append(ModelReport(label, str(folder), folder_size(folder, model),
                                       alone.bits_per_byte, expert,
                                       boundary_f1(reference, starts)))
        if speed_bytes:
            n = min(speed_bytes, len(chosen))
            timings: dict[str, list[tuple[float, float]]] = {label: [] for label in folders}
            for _ in range(max(1, speed_repeats)):  # interleaved: drift hits every model
                for label, folder in folders.items():
                    if check is not None:
                        check()
                    if progress is not None:
                        progress(f"{label}: throughput")
                    timings[label].append(score_process(folder, path, chosen.id, n))
            reports = [dataclasses.replace(
                r, bytes_per_s=float(np.median([t[0] for t in timings[r.label]])),
                rss_mb=float(np.median([t[1] for t in timings[r.label]]))) for r in reports]
    return reports


def format_report(reports: list[ModelReport]) -> str:
    """The report as a Markdown table, with ratios to the first row."""
    base = reports[0]
    lines = ["| model | body | fp32 remainder | folder | RSS scoring | throughput | vs fp32 "
             "| bits/base, network | with expert | boundary F1 vs fp32 |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in reports:
        expert = "" if r.bits_per_base_expert is None else f"{r.bits_per_base_expert:.4f}"
        speed = "" if math.isnan(r.bytes_per_s) else f"{r.bytes_per_s / 1e3:,.1f} kB/s"
        ratio = "" if math.isnan(r.bytes_per_s) else f"{r.bytes_per_s / base.bytes_per_s:.2f}x"
        rss = "" if math.isnan(r.rss_mb) else f"{r.rss_mb:,.0f} MB"
        lines.append(f"| {r.label} | {r.size.body:,} B | {r.size.remainder:,} B "
                     f"| {r.size.folder:,} B | {rss} | {speed} | {ratio} "
                     f"| {r.bits_per_base:.4f} | {expert} | {r.f1:.3f} |")
    return "\n".join(lines)


def ratios(reports: list[ModelReport]) -> list[dict]:
    """Each bake against the first row: how many times smaller (body, folder), how many times
    faster, and the change in held-out bits per base."""
    base = reports[0]
    return [{"label": r.label,
             "body_smaller": base.size.body / max(1, r.size.body),
             "folder_smaller": base.size.folder / max(1, r.size.folder),
             "speed": r.bytes_per_s / base.bytes_per_s,
             "bits_delta": r.bits_per_base - base.bits_per_base,
             "f1": r.f1} for r in reports[1:]]


__all__ = ["HELD_OUT", "ModelReport", "bake_report", "boundary_f1", "format_report",
           "held_out_span", "ratios", "score_process"]
