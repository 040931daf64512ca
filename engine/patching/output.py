"""Patch files: BED (opens in IGV), TSV, JSON, and the entropies as bedGraph. All atomic.

Coordinates are 0-based half-open record coordinates, as BED's are: a patch of a region
starting at ``offset`` is written at ``offset + start``. Entropies passed here are aligned to the
region's bytes (``entropies[i]`` recorded at byte ``offset + i``).

BED score: the patch's mean entropy scaled to BED's 0-1000 range against the largest possible
byte entropy, ``score = round(1000 * clip(mean(H) / ln 256, 0, 1))``, where ``mean(H)`` is the
mean of the entropies recorded at the patch's bytes (what the bedGraph shows under it). Without
entropies (byte-only modes) every score is 0.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from engine.atomic import atomic_open, atomic_path

from .patcher import PatchResult
from .stream import format_rows

TSV_HEADER = "record\tstart\tend\tindex\tlength\tmean_entropy"
MAX_BYTE_ENTROPY = math.log(256)  # nats: uniform over 256 byte values
BED_SCORE_MAX = 1000


@dataclass(frozen=True)
class PatchRows:
    """One row per patch, ready to write: record coordinates and mean entropy (or None)."""

    index: np.ndarray
    start: np.ndarray
    end: np.ndarray
    mean_entropy: np.ndarray | None


def patch_rows(
    result: PatchResult, offset: int = 0, entropies: np.ndarray | None = None
) -> PatchRows:
    """The result's patches in record coordinates, with each patch's mean entropy.

    ``entropies`` hold one value per byte of the patched region (BOS/EOS positions excluded).
    """
    index, begin, end = result.byte_intervals()
    mean = None
    if entropies is not None and len(index):
        # The intervals tile [0, n_bytes), so reduceat sums each patch's own slice.
        sums = np.add.reduceat(np.asarray(entropies, dtype=np.float64), begin)
        mean = sums / (end - begin)
    return PatchRows(index, begin + offset, end + offset, mean)


def bed_scores(mean_entropy: np.ndarray | None, count: int) -> np.ndarray:
    """``round(1000 * clip(mean H / ln 256, 0, 1))`` per patch; zeros without entropies."""
    if mean_entropy is None:
        return np.zeros(count, dtype=np.int64)
    scaled = np.clip(mean_entropy / MAX_BYTE_ENTROPY, 0.0, 1.0) * BED_SCORE_MAX
    return np.rint(scaled).astype(np.int64)


def _track_value(text: str) -> str:
    return text.replace('"', "'").replace("\n", " ")


def _write_lines(path: str | Path, header: Iterable[str], lines: Iterable[str]) -> None:
    with atomic_open(path, "w", encoding="utf-8", newline="\n") as handle:
        for line in header:
            handle.write(line + "\n")
        handle.writelines(line + "\n" for line in lines)


def write_bed(
    path: str | Path, chrom: str, rows: PatchRows, track_name: str = "bytescope patches"
) -> None:
    """BED6 with a ``track`` line (``useScore=1`` shades patches by score in IGV).

    Columns: chrom, start, end, name (patch index), score (see module docstring), strand ``.``.
    """
    scores = bed_scores(rows.mean_entropy, len(rows.index))
    write_bed_chunks(path, chrom, [(rows.index, rows.start, rows.end, scores)], track_name)


BLOCK_ROWS = 1 << 20  # rows formatted at a time


def write_bed_chunks(path: str | Path, chrom: str,
                     chunks: Iterable[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]],
                     track_name: str = "bytescope patches") -> None:
    """:func:`write_bed` of ``(index, start, end, score or None)`` chunks, in order, each
    formatted by a compiled loop a block at a time (streaming: nothing holds all rows)."""
    write_bed_records(path, ((chrom, *chunk) for chunk in chunks), track_name)


def write_bed_records(path: str | Path,
                      chunks: Iterable[tuple[str, np.ndarray, np.ndarray, np.ndarray,
                                             np.ndarray | None]],
                      track_name: str = "bytescope patches") -> None:
    """BED6 of ``(chrom, index, start, end, score or None)`` chunks of any records, in order:
    one track line on top, then the rows. A name ending in ``.gz`` is written as BGZF without
    the track line, sorted as given, so ``tabix -p bed`` indexes it."""
    header = b"" if _bgzf(path) else \
        f'track name="{_track_value(track_name)}" useScore=1\n'.encode()

    def blocks() -> Iterator[bytes]:
        for chrom, index, start, end, score in chunks:
            prefix = chrom.encode("utf-8") + b"\t"
            score = np.zeros(len(index), dtype=np.int64) if score is None else score
            for lo in range(0, len(index), BLOCK_ROWS):
                part = slice(lo, lo + BLOCK_ROWS)
                yield format_rows(prefix, np.stack([start[part], end[part], index[part],
                                                    score[part]]), b"\t.")

    _write_blocks(path, header, blocks())


def write_tsv_chunks(path: str | Path, chrom: str,
                     chunks: Iterable[tuple[np.ndarray, np.ndarray, np.ndarray]]) -> None:
    """:func:`write_tsv` of ``(index, start, end)`` chunks without entropies (``NA``)."""
    write_tsv_records(path, ((chrom, *chunk) for chunk in chunks))


def write_tsv_records(path: str | Path,
                      chunks: Iterable[tuple[str, np.ndarray, np.ndarray, np.ndarray]]) -> None:
    """:func:`write_tsv_chunks` of ``(chrom, index, start, end)`` chunks of any records."""

    def blocks() -> Iterator[bytes]:
        for chrom, index, start, end in chunks:
            prefix = chrom.encode("utf-8") + b"\t"
            for lo in range(0, len(index), BLOCK_ROWS):
                part = slice(lo, lo + BLOCK_ROWS)
                yield format_rows(prefix, np.stack([start[part], end[part], index[part],
                                                    end[part] - start[part]]), b"\tNA")

    _write_blocks(path, TSV_HEADER.encode() + b"\n", blocks())


def _bgzf(path: str | Path) -> bool:
    return str(path).lower().endswith(".gz")


def _write_blocks(path: str | Path, header: bytes, blocks: Iterable[bytes]) -> None:
    """Header and blocks to ``path`` atomically; BGZF (blocked gzip, what tabix reads) when
    the name ends in ``.gz``."""
    if _bgzf(path):
        from Bio import bgzf

        with atomic_path(path) as tmp:
            writer = bgzf.BgzfWriter(str(tmp), "wb")
            try:
                writer.write(header)
                for block in blocks:
                    writer.write(block)
            finally:
                writer.close()
        return
    with atomic_open(path, "wb") as handle:
        handle.write(header)
        for block in blocks:
            handle.write(block)


def write_tsv(path: str | Path, chrom: str, rows: PatchRows) -> None:
    """Tab-separated with a header: record, start, end, index, length, mean_entropy (or NA)."""
    if rows.mean_entropy is None:
        write_tsv_chunks(path, chrom, [(rows.index, rows.start, rows.end)])
        return
    means = [f"{m:.6g}" for m in rows.mean_entropy.tolist()]
    header = [TSV_HEADER]
    lines = (
        f"{chrom}\t{s}\t{e}\t{i}\t{e - s}\t{m}"
        for i, s, e, m in zip(
            rows.index.tolist(), rows.start.tolist(), rows.end.tolist(), means, strict=True
        )
    )
    _write_lines(path, header, lines)


def write_json(
    path: str | Path,
    result: PatchResult,
    chrom: str,
    offset: int = 0,
    extra: dict[str, Any] | None = None,
) -> None:
    """``{record, offset, stats, config, starts, lengths, ...extra}``.

    ``starts`` are record coordinates (``offset`` added; a BOS sits at ``offset - 1``) and
    ``lengths`` count positions (BOS/EOS/next token included if the config has them).
    """
    payload: dict[str, Any] = {"record": chrom, "offset": offset}
    payload.update(result.to_dict(arrays=False))
    payload["starts"] = (result.starts - result.bos + offset).tolist()
    payload["lengths"] = result.lengths.tolist()
    payload.update(extra or {})
    with atomic_open(path, "w", encoding="utf-8") as handle:
        json.dump(payload, handle, indent=1)
        handle.write("\n")


def write_bedgraph(
    path: str | Path,
    chrom: str,
    entropies: np.ndarray,
    offset: int = 0,
    track_name: str = "bytescope entropy",
    digits: int = 4,
) -> None:
    """The entropies as bedGraph: one ``chrom start end value`` line per run of equal values.

    Values are rounded to ``digits`` decimals (nats); neighbouring bytes with the same rounded
    value share a line, as bedGraph allows.
    """
    values = np.round(np.asarray(entropies, dtype=np.float64), digits)
    n = len(values)
    if n:
        run_starts = np.flatnonzero(np.concatenate(([True], values[1:] != values[:-1])))
    else:
        run_starts = np.zeros(0, dtype=np.int64)
    run_ends = np.append(run_starts[1:], n)
    header = [f'track type=bedGraph name="{_track_value(track_name)}"']
    lines = (
        f"{chrom}\t{s + offset}\t{e + offset}\t{v:.{digits}f}"
        for s, e, v in zip(
            run_starts.tolist(), run_ends.tolist(), values[run_starts].tolist(), strict=True
        )
    )
    _write_lines(path, header, lines)
