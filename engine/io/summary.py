"""Per-record summaries (length, alphabet, GC%, N count, features) as plain dicts.

GC% is ``100 * (G + C) / (A + C + G + T/U)``, case-insensitive, ignoring N and other IUPAC
codes; it is reported for nucleic-acid records only.
"""

from __future__ import annotations

import numpy as np

from .alphabet import NUCLEIC, gc_and_n
from .records import Record, SequenceFile

_CHUNK = 1 << 24


def record_counts(record: Record) -> np.ndarray:
    """Byte histogram (256,) of a whole record, read in chunks of 16 MB."""
    counts = np.zeros(256, dtype=np.int64)
    for start in range(0, record.length, _CHUNK):
        chunk = record.array(start, min(start + _CHUNK, record.length))
        counts += np.bincount(chunk, minlength=256)
    return counts


def summarise_counts(
    record_id: str,
    description: str,
    length: int,
    alphabet: str,
    confidence: float,
    counts: np.ndarray | None,
    features: int,
) -> dict:
    out = {
        "id": record_id,
        "description": description,
        "length": int(length),
        "alphabet": alphabet,
        "alphabet_confidence": round(float(confidence), 4),
        "gc_percent": None,
        "n_count": None,
        "feature_count": int(features),
    }
    if alphabet in NUCLEIC and counts is not None:
        gc, n, acgt = gc_and_n(counts)
        out["gc_percent"] = round(100.0 * gc / acgt, 2) if acgt else None
        out["n_count"] = n
    return out


def summarise_record(record: Record) -> dict:
    guess = record.alphabet_guess
    counts = record_counts(record) if guess.name in NUCLEIC else None
    return summarise_counts(
        record.id,
        record.description,
        record.length,
        guess.name,
        guess.confidence,
        counts,
        len(record.features),
    )


def summarise_file(sf: SequenceFile) -> dict:
    """``{"path", "format", "compression", "records": [...], "unattached_features"}``."""
    summaries = getattr(sf, "summaries", None)  # FASTQ computes its rows vectorised
    rows = summaries() if summaries is not None else [summarise_record(r) for r in sf]
    return {
        "path": sf.path,
        "format": sf.format,
        "compression": sf.compression,
        "records": rows,
        "unattached_features": len(sf.features),
    }
