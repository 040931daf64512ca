"""Attribution tracks on a record, written as HDF5, bedGraph or bigWig, and read back from HDF5.

An :class:`AttributionTrack` is an attribution (:mod:`engine.analysis.attribution`, made in
window coordinates) placed on a record: ``values[i]`` is about base ``start + i``, 0-based as
every file bytescope writes, and its target is in record coordinates too. The per-base score in
bedGraph and bigWig is the projected attribution ``values`` (the score of the observed letter;
negative values allowed): what a genome browser draws as a signal or, in IGV's dynseq mode, as
letters scaled by it. This module holds plain arrays, so io stays below analysis.

HDF5 layout (all coordinates 0-based, record coordinates)::

    values   (n,)    float64  per-base attribution
    matrix   (n, A)  float64  per-letter attribution over ``alphabet``
    attrs: alphabet (uint8 byte values, (A,)), method, record, start, end, model, output, delta
           (NaN when the method has none), repeats, target_kind, target_position,
           target_end (-1 for a one-position target)

Every writer is atomic (:mod:`engine.atomic`): a failure leaves the old file or nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engine.atomic import atomic_open, atomic_path
from engine.errors import FormatError, InputError

SUFFIXES = {".h5": "h5", ".hdf5": "h5", ".bedgraph": "bedgraph", ".bw": "bigwig",
            ".bigwig": "bigwig"}
BIGWIG_MISSING = "bigWig needs: pip install 'bytescope[bigwig]'"


@dataclass(frozen=True)
class AttributionTrack:
    """Attributions of the bases ``[start, start + n)`` of record ``record``, with what they
    explain (the target, in record coordinates) and how they were made."""

    record: str
    start: int
    values: np.ndarray  # (n,) per-base attribution
    matrix: np.ndarray  # (n, A) per-letter attribution over ``alphabet``
    alphabet: bytes
    method: str
    target_kind: str
    target_position: int  # record coordinate
    target_end: int | None  # record coordinate; None for a one-position target
    output: float  # the target's value F(x)
    delta: float | None = None  # IG's completeness error
    repeats: bool = False  # whether the repeat expert is part of what is explained
    model: str = ""

    @property
    def end(self) -> int:
        return self.start + len(self.values)

    @classmethod
    def of(cls, attribution, record: str, start: int, model: str = "") -> AttributionTrack:
        """An :class:`engine.analysis.attribution.Attribution` of the window that starts at
        record coordinate ``start`` (its target moves from window to record coordinates)."""
        t = attribution.target
        return cls(record, start, np.asarray(attribution.values, np.float64),
                   np.asarray(attribution.matrix, np.float64), attribution.alphabet,
                   attribution.method, t.kind, t.position + start,
                   None if t.end is None else t.end + start, float(attribution.output),
                   attribution.delta, bool(attribution.repeats), model)


def output_format(path: str | Path) -> str:
    """``h5``, ``bedgraph`` or ``bigwig`` by suffix, checked before any work: another suffix,
    or bigWig without pyBigWig, is an InputError."""
    kind = SUFFIXES.get(Path(path).suffix.lower())
    if kind is None:
        raise InputError("--out must end in .h5, .bedgraph or .bw", path=path)
    if kind == "bigwig":
        _pybigwig(path)
    return kind


def _pybigwig(path: str | Path):
    try:
        import pyBigWig
    except ImportError:
        raise InputError(BIGWIG_MISSING, path=path) from None
    return pyBigWig


def write_attribution(path: str | Path, track: AttributionTrack,
                      chrom_sizes: Sequence[tuple[str, int]] = ()) -> None:
    """Write ``track`` in the format ``path``'s suffix names; bigWig needs ``chrom_sizes``
    (every record of the file, in order, as the browser's genome)."""
    kind = output_format(path)
    if kind == "h5":
        write_attribution_h5(path, track)
    elif kind == "bedgraph":
        write_attribution_bedgraph(path, track)
    else:
        write_attribution_bigwig(path, track, chrom_sizes)


def write_attribution_h5(path: str | Path, track: AttributionTrack) -> None:
    """The layout in the module docstring."""
    import h5py

    with atomic_path(path) as tmp, h5py.File(tmp, "w") as h5:
        h5.attrs.update(
            alphabet=np.frombuffer(track.alphabet, np.uint8), method=track.method,
            record=track.record, start=track.start, end=track.end, model=track.model,
            output=track.output, delta=np.nan if track.delta is None else track.delta,
            repeats=track.repeats, target_kind=track.target_kind,
            target_position=track.target_position,
            target_end=-1 if track.target_end is None else track.target_end,
            coordinates="0-based half-open, record coordinates")
        h5.create_dataset("values", data=np.asarray(track.values, np.float64))
        h5.create_dataset("matrix", data=np.asarray(track.matrix, np.float64))


def read_attribution_h5(path: str | Path) -> AttributionTrack:
    """What :func:`write_attribution_h5` wrote; a file without that layout is a FormatError."""
    import h5py

    path = Path(path)
    if not path.is_file():
        raise InputError("no such file", path=path)
    try:
        with h5py.File(path, "r") as h5:
            attrs = dict(h5.attrs)
            values = h5["values"][()]
            matrix = h5["matrix"][()]
    except (OSError, KeyError) as error:
        raise FormatError(f"not an attribution file ({error})", path=path) from None
    try:
        end = int(attrs["target_end"])
        delta = float(attrs["delta"])
        return AttributionTrack(
            str(attrs["record"]), int(attrs["start"]), values, matrix,
            np.asarray(attrs["alphabet"], np.uint8).tobytes(), str(attrs["method"]),
            str(attrs["target_kind"]), int(attrs["target_position"]),
            None if end < 0 else end, float(attrs["output"]),
            None if np.isnan(delta) else delta, bool(attrs["repeats"]), str(attrs["model"]))
    except KeyError as error:
        raise FormatError(f"not an attribution file: no attribute {error}", path=path) from None


def _describe(track: AttributionTrack) -> str:
    where = (f"{track.target_position}-{track.target_end}" if track.target_end is not None
             else str(track.target_position))
    return f"{track.method} attribution of {track.target_kind} {where}".replace('"', "'")


def write_attribution_bedgraph(path: str | Path, track: AttributionTrack,
                               digits: int = 6) -> None:
    """One ``record start start+1 value`` line per base (record coordinates, 0-based), after
    a track line; values with ``digits`` significant digits."""
    values = np.asarray(track.values, np.float64)
    starts = np.arange(track.start, track.end)
    name = _describe(track)
    model = track.model.replace('"', "'")
    with atomic_open(path, "w", encoding="utf-8", newline="\n") as out:
        out.write(f'track type=bedGraph name="{name}" description="{name}, model {model}" '
                  "visibility=full\n")
        out.writelines(f"{track.record}\t{s}\t{s + 1}\t{v:.{digits}g}\n"
                       for s, v in zip(starts.tolist(), values.tolist(), strict=True))


def write_attribution_bigwig(path: str | Path, track: AttributionTrack,
                             chrom_sizes: Sequence[tuple[str, int]]) -> None:
    """A bigWig of the per-base values (float32, as bigWig stores them) over a genome of
    ``chrom_sizes`` (name, length), which must hold the track's record."""
    pyBigWig = _pybigwig(path)
    if dict(chrom_sizes).get(track.record, -1) < track.end:
        raise InputError(f"record {track.record!r} is not in the chromosome sizes, or is "
                         f"shorter than {track.end:,}", path=path)
    values = np.asarray(track.values, np.float64)
    with atomic_path(path) as tmp:
        bw = pyBigWig.open(str(tmp), "w")
        if bw is None:
            raise InputError("pyBigWig could not create the file", path=path)
        try:
            bw.addHeader([(name, int(size)) for name, size in chrom_sizes])
            bw.addEntries(track.record, track.start, values=values, span=1, step=1)
        finally:
            bw.close()
