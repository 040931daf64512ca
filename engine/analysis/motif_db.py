"""Known motifs: JASPAR read offline, and a TOMTOM-like comparison of motifs to them.

JASPAR comes from the SQLite files the ``pyjaspar`` wheel bundles (the ``motifs`` extra:
``pip install "bytescope[motifs]"``). Only its data folder is located; the files are read with
:mod:`sqlite3`, so neither pyjaspar's Python API nor biopython is imported. Tables used::

    MATRIX(ID, COLLECTION, BASE_ID, VERSION, NAME)     one row per matrix version
    MATRIX_DATA(ID, row, col, val)                     counts; row in A C G T, col 1-based
    MATRIX_ANNOTATION(ID, TAG, VAL)                    TAG "tax_group": "vertebrates", ...

The latest version of each BASE_ID is kept (pyjaspar's default). Counts become probabilities
with a pseudocount of ``PSEUDOCOUNT`` per column spread evenly over the letters:
``p[j, k] = (c[j, k] + PSEUDOCOUNT / A) / (sum_k c[j, k] + PSEUDOCOUNT)``.

Similarity (Pearson column score as MEME's ``tomtom -dist pearson``, without its DP p-values):
for query Q (w_q, A) and target T (w_t, A), the Pearson correlation of columns
``r(i, j) = corr(Q[i], T[j])`` (0 when a column is constant), and for the offset o that puts
target column ``i + o`` under query column i,

    S(o) = (1 / n(o)) sum_{i: 0 <= i + o < w_t} r(i, i + o),   n(o) = aligned columns,

maximised over every o with ``n(o) >= min(min_overlap, w_q, w_t)`` and, for DNA, over both
strands of the target (:func:`similarity`). Matching (:func:`match_motifs`) picks the alignment
by the standardised sum ``Z(o) = sqrt(n(o)) S(o)`` instead, so that a long good overlap beats
a short perfect one, and gives each pair a p-value from a column-shuffled null: n_null copies
of Q with permuted columns scored against the same target,
``p = (1 + #{null >= Z}) / (1 + n_null)``. A column shuffle only permutes the rows of r, so
all shuffles against all targets are one matrix product (:func:`_aligned_scores`).
"""

from __future__ import annotations

import functools
import importlib.util
import re
import sqlite3
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from engine.errors import InputError

from .motif import DNA, Match, Motif, reverse_complement

MOTIFS_EXTRA = 'pip install "bytescope[motifs]"'
PSEUDOCOUNT = 1.0  # counts added per column, spread evenly over the letters
JASPAR_LETTERS = "ACGT"  # MATRIX_DATA.row values, in column order
_RELEASE = re.compile(r"JASPAR(\d{4})\.sqlite")
_CHUNK_BYTES = 24 << 20  # working memory per batch of targets in match_motifs
_TIE = 1e-5  # null scores this close to the observed one reach it (float32 sums)


class MissingExtra(InputError):
    """An optional extra is not installed; the message says how to install it."""


def _jaspar_folder() -> Path:
    """pyjaspar's data folder, found without importing pyjaspar."""
    spec = importlib.util.find_spec("pyjaspar")
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    for location in locations:
        folder = Path(location) / "data"
        if folder.is_dir():
            return folder
    raise MissingExtra(f"JASPAR motifs need pyjaspar's data files: {MOTIFS_EXTRA}")


def jaspar_releases() -> list[str]:
    """The bundled releases, oldest first: ``["JASPAR2014", ..., "JASPAR2026"]``."""
    found = [m for p in _jaspar_folder().iterdir() if (m := _RELEASE.fullmatch(p.name))]
    if not found:
        raise MissingExtra(f"pyjaspar has no JASPAR*.sqlite files; reinstall: {MOTIFS_EXTRA}")
    return [f"JASPAR{year}" for year in sorted(int(m.group(1)) for m in found)]


def jaspar_path(release: str | None = None) -> Path:
    """The SQLite file of ``release`` ("JASPAR2024" or "2024"; None: the newest)."""
    releases = jaspar_releases()
    if release is None:
        name = releases[-1]
    else:
        name = release if release.upper().startswith("JASPAR") else f"JASPAR{release}"
        name = "JASPAR" + name[6:]
        if name not in releases:
            raise InputError(f"no JASPAR release {release!r}; bundled: {', '.join(releases)}")
    return _jaspar_folder() / f"{name}.sqlite"


def _connect(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)


def _check_choice(con: sqlite3.Connection, path: Path, what: str, value: str,
                  query: str) -> None:
    have = sorted(v for (v,) in con.execute(query) if v)
    if value not in have:
        raise InputError(f"no JASPAR {what} {value!r} in {path.stem}; there are: "
                         + ", ".join(have))


@functools.lru_cache(maxsize=16)
def _load(path: Path, collection: str, tax_group: str | None,
          ) -> tuple[tuple[str, str, np.ndarray], ...]:
    """(identifier, name, read-only PPM) of the latest version of each matrix."""
    with _connect(path) as con:
        _check_choice(con, path, "collection", collection,
                      "SELECT DISTINCT COLLECTION FROM MATRIX")
        latest: dict[str, tuple[int, int, str]] = {}  # BASE_ID -> (VERSION, ID, NAME)
        for matrix_id, base_id, version, name in con.execute(
                "SELECT ID, BASE_ID, VERSION, NAME FROM MATRIX WHERE COLLECTION = ?",
                (collection,)):
            if base_id not in latest or int(version) > latest[base_id][0]:
                latest[base_id] = (int(version), int(matrix_id), name)
        if tax_group is not None:
            _check_choice(con, path, "tax_group", tax_group,
                          "SELECT DISTINCT VAL FROM MATRIX_ANNOTATION WHERE TAG = 'tax_group'")
            in_group = {i for (i,) in con.execute(
                "SELECT ID FROM MATRIX_ANNOTATION WHERE TAG = 'tax_group' AND VAL = ?",
                (tax_group,))}
            latest = {b: v for b, v in latest.items() if v[1] in in_group}
        con.execute("CREATE TEMP TABLE wanted (ID INTEGER PRIMARY KEY)")  # connection-local
        con.executemany("INSERT INTO wanted VALUES (?)", [(v[1],) for v in latest.values()])
        data = np.array(con.execute(
            f"SELECT d.ID, d.col, instr('{JASPAR_LETTERS}', d.row) - 1, d.val"
            " FROM MATRIX_DATA d JOIN wanted w ON w.ID = d.ID").fetchall(),
            np.float64).reshape(-1, 4)
    if np.any(data[:, 2] < 0):
        raise InputError(f"{path.name}: MATRIX_DATA holds rows other than A, C, G, T")
    data = data[np.lexsort((data[:, 2], data[:, 1], data[:, 0]))]  # by matrix, column, letter
    ids = data[:, 0]
    out = []
    k = len(JASPAR_LETTERS)
    for base_id in sorted(latest):
        version, matrix_id, name = latest[base_id]
        a, b = np.searchsorted(ids, [matrix_id, matrix_id + 0.5])
        counts = data[a:b, 3].reshape(-1, k)  # (w, 4)
        ppm = (counts + PSEUDOCOUNT / k) / (counts.sum(axis=1, keepdims=True) + PSEUDOCOUNT)
        ppm.flags.writeable = False
        out.append((f"{base_id}.{version}", name, ppm))
    return tuple(out)


def jaspar_motifs(release: str | None = None, collection: str = "CORE",
                  tax_group: str | None = None) -> list[Motif]:
    """JASPAR's matrices of ``collection`` (and ``tax_group``, e.g. "vertebrates"), latest
    version of each, as ACGT PPMs (module docstring); cached per (release, collection,
    tax_group). The PPMs are read-only and shared between calls."""
    path = jaspar_path(release)
    rows = _load(path, collection, tax_group)
    return [Motif(name, DNA, ppm, source=path.stem, identifier=identifier)
            for identifier, name, ppm in rows]


# --- similarity ---------------------------------------------------------------------------

def _standardised(matrix: np.ndarray) -> np.ndarray:
    """Columns centred and scaled to unit norm, so ``z_q . z_t`` is their Pearson
    correlation; a constant column (no variance) becomes 0 and correlates 0 with anything."""
    centred = matrix - matrix.mean(axis=-1, keepdims=True)
    norm = np.linalg.norm(centred, axis=-1, keepdims=True)
    return np.divide(centred, norm, out=np.zeros_like(centred), where=norm > 1e-12)


def _aligned_scores(zq: np.ndarray, zt: np.ndarray, widths: np.ndarray, perms: np.ndarray,
                    min_overlap: int, power: float) -> np.ndarray:
    """``sum of aligned column correlations / n(o) ** power`` for every column order in
    ``perms``, target and offset: power 1 is the mean S(o), power 1/2 the standardised sum.

    zq (w_q, A) standardised query; zt (T, W, A) standardised targets, zero past ``widths``;
    perms (N, w_q) column orders of the query (row 0 the identity). Returns (N, O, T) in
    zt's dtype over offsets ``o = -(w_q - 1) ... W - 1`` (index ``o + w_q - 1``), -inf where
    fewer columns than ``min(min_overlap, w_q, w_t)`` align. With r(t, i, j) the column
    correlations, ``G[i, r, o, t] = r(t, r, i + o)`` and a one-hot P[n, i, r] =
    [perm_n(i) = r], the sums over aligned columns are ``sum_{i, r} P[n, i, r] G[i, r, o, t]``:
    one matrix product (N, w_q^2) @ (w_q^2, O T). Targets last: maxima over offsets are then
    element-wise over contiguous rows, the fast way for numpy.
    """
    wq = zq.shape[0]
    n_targets, width, _ = zt.shape
    n_off = wq + width - 1
    r = np.einsum("ia,tja->tij", zq.astype(zt.dtype), zt)  # (T, w_q, W)
    padded = np.zeros((n_targets, wq, width + 2 * (wq - 1)), zt.dtype)
    padded[:, :, wq - 1 : wq - 1 + width] = r
    # windows[t, r, i, k] = padded[t, r, i + k] = r(t, r, i + o) for k = o + w_q - 1
    windows = np.lib.stride_tricks.sliding_window_view(padded, n_off, axis=-1)
    g = np.ascontiguousarray(windows.transpose(2, 1, 3, 0)).reshape(wq * wq, -1)
    one_hot = np.zeros((len(perms), wq, wq), zt.dtype)
    one_hot[np.arange(len(perms))[:, None], np.arange(wq)[None, :], perms] = 1.0
    sums = (one_hot.reshape(len(perms), wq * wq) @ g).reshape(len(perms), n_off, n_targets)
    n = _overlaps(wq, widths, n_off)  # (O, T)
    need = np.minimum(np.minimum(min_overlap, wq), widths)[None, :]
    sums *= (1.0 / np.maximum(n, 1) ** power).astype(zt.dtype)
    sums += np.where(n < need, -np.inf, 0.0).astype(zt.dtype)
    return sums


def _overlaps(wq: int, widths: np.ndarray, n_off: int) -> np.ndarray:
    """n(o): query columns i with ``0 <= i + o < w_t``, for ``o = k - (w_q - 1)``; (O, T)."""
    o = np.arange(n_off)[:, None] - (wq - 1)
    return np.minimum(wq, widths[None, :] - o) - np.maximum(0, -o)


def _padded(matrices: Sequence[np.ndarray], width: int) -> np.ndarray:
    out = np.zeros((len(matrices), width, matrices[0].shape[1]))
    for t, m in enumerate(matrices):
        out[t, : len(m)] = m
    return out


def _check_pair(query: np.ndarray, target: np.ndarray, strands: bool) -> None:
    if query.ndim != 2 or target.ndim != 2 or query.shape[1] != target.shape[1]:
        raise ValueError("query and target must be (w, A) matrices over one alphabet")
    if strands and query.shape[1] != 4:
        raise ValueError(f"reverse complements need a 4-letter alphabet, not {query.shape[1]}")


def _align(query: np.ndarray, target: np.ndarray, strands: bool, min_overlap: int,
           power: float) -> tuple[float, int, str, int]:
    """(mean correlation, offset, strand, overlap) of the alignment maximising
    :func:`_aligned_scores` with ``power``, in float64."""
    versions = [target, reverse_complement(target)] if strands else [target]
    zt = _standardised(np.stack(versions))
    widths = np.full(len(versions), len(target))
    identity = np.arange(len(query))[None, :]
    scores = _aligned_scores(_standardised(query), zt, widths, identity, min_overlap,
                             power)[0].T  # (strands, O)
    strand, k = np.unravel_index(int(np.argmax(scores)), scores.shape)
    overlap = int(_overlaps(len(query), widths[:1], scores.shape[1])[k, 0])
    mean = float(scores[strand, k]) / overlap ** (1.0 - power)
    return mean, int(k) - (len(query) - 1), "+-"[strand], overlap


def similarity(query: np.ndarray, target: np.ndarray, strands: bool = True,
               min_overlap: int = 5) -> tuple[float, int, str, int]:
    """Best mean Pearson correlation of aligned columns, S(o) of the module docstring, over
    every offset and, with ``strands``, both strands of the (w, 4) ACGT target:
    (score, offset, strand, overlap). ``offset`` is the target column under the query's first
    column (negative: the query starts before the target), counted on the matched strand."""
    query = np.asarray(query, np.float64)
    target = np.asarray(target, np.float64)
    _check_pair(query, target, strands)
    return _align(query, target, strands, min_overlap, power=1.0)


def _compatible(a: bytes, b: bytes) -> bool:
    """Same alphabet, or DNA against RNA (T and U share a column)."""
    return a == b or {a, b} == {b"ACGT", b"ACGU"}


def match_motifs(query: Motif, database: Sequence[Motif], top: int = 3, n_null: int = 200,
                 seed: int = 0, strands: bool | None = None,
                 min_overlap: int = 5) -> list[Match]:
    """The ``top`` database motifs most like ``query``, best first.

    Matching scores each alignment by its standardised sum ``Z(o) = sum r / sqrt(n(o))``
    rather than the mean S(o), as TOMTOM's p-values do in effect: a long good overlap beats
    a short perfect one, which the mean would rank first (measured on noisy copies of 40
    JASPAR vertebrate motifs: the true motif ranked first for 85% with Z, 60% with S). Each
    target's p-value compares its best Z with the best Z of ``n_null`` column shuffles of the
    query against that same target, ``p = (1 + #{null >= Z}) / (1 + n_null)``; matches are
    ranked by p, then Z. The reported score, offset, strand and overlap are that alignment's
    (``score`` its mean correlation S). p-values are per pair, not corrected for the size of
    the database. ``strands`` None: both strands for DNA (ACGT) queries only. Targets over
    another alphabet are skipped (DNA matches RNA).
    """
    strands = query.alphabet == DNA if strands is None else strands
    if strands and len(query.alphabet) != 4:
        raise ValueError("reverse complements need a 4-letter alphabet")
    targets = [m for m in database if _compatible(m.alphabet, query.alphabet)]
    if not targets or top < 1:
        return []
    wq = query.width
    rng = np.random.default_rng(seed)
    perms = np.vstack([np.arange(wq), rng.permuted(np.tile(np.arange(wq), (n_null, 1)),
                                                   axis=1)])  # (1 + n_null, w_q)
    zq = _standardised(query.ppm)
    widths = np.array([m.width for m in targets])
    order = np.argsort(widths, kind="stable")  # similar widths batch with little padding
    n_strands = 2 if strands else 1
    best = np.empty((len(targets), 1 + n_null), np.float32)
    start = 0
    while start < len(order):
        width = int(widths[order[start]])
        per_target = n_strands * (wq * wq + 2 + n_null) * (wq + width) * 4
        chunk = order[start : start + max(1, _CHUNK_BYTES // per_target)]
        width = int(widths[chunk].max())
        mats = [targets[t].ppm for t in chunk]
        if strands:
            mats = mats + [reverse_complement(m) for m in mats]
        zt = _standardised(_padded(mats, width)).astype(np.float32)
        z = _aligned_scores(zq, zt, np.tile(widths[chunk], n_strands), perms, min_overlap,
                            power=0.5)
        # (N, O, S C) -> best over offsets, then strands: (C, N)
        z = z.max(axis=1).reshape(1 + n_null, n_strands, len(chunk))
        best[chunk] = z.max(axis=1).T
        start += len(chunk)
    observed, null = best[:, 0], best[:, 1:]
    p = (1 + (null >= observed[:, None] - _TIE).sum(axis=1)) / (1 + n_null)
    matches = []
    for t in np.lexsort((-observed, p))[:top].tolist():
        m = targets[t]  # the reported alignment, again in float64
        score, offset, strand, overlap = _align(query.ppm, m.ppm, strands, min_overlap, 0.5)
        matches.append(Match(m.name, m.identifier, m.source, score, float(p[t]), offset,
                             strand, overlap))
    return matches
