"""Motifs from seqlets: align, cluster, summarise as a PPM and a CWM, trim.

Each seqlet j of window n is read in a frame of ``W`` bases centred on it, as the matrix
``X_j[p, k] = [s(f_j + p) = k] * |c(f_j + p)|`` (the attribution on the letter read; with
hypothetical scores ``h(f_j + p, k) * sign``), L2-normalised. Two seqlets are as similar as
the best cosine of their frames over shifts ``|s| <= S`` and, for DNA, the other strand:

    sim(i, j) = max_{s, strand} sum_{p, k} X_i[p, k] X_j^strand[p + s, k]

one matrix product per shift and strand. Clustering is greedy seed-and-grow (in the spirit
of STREME and HOMER's seeds rather than TF-MoDISco's Leiden graphs):

1. the seed is the seqlet with the most neighbours at ``sim >= min_similarity``;
2. its neighbours, aligned to it, average into the motif frame ``M``; twice, every remaining
   seqlet is re-aligned to ``M`` and joins when its cosine with M is at least
   ``min_similarity``, and M is re-averaged;
3. with ``min_instances`` members or more, the members make a motif and leave the pool:
   ``PPM[p, k] = (1/N_p) sum_n [s_n(p) = k]`` and ``CWM[p, k] = (1/N_p) sum_n c_n(p, k)`` over
   the aligned members covering column p; columns whose ``sum_k |CWM[p, k]|`` is below
   ``trim`` times the largest are cut from both ends (TF-MoDISco's trimming rule);
4. repeat until no seed has enough neighbours or ``max_motifs`` are found;
5. a smaller motif whose PPM matches a larger one's (mean Pearson of aligned columns at least
   ``merge_similarity`` over at least 3/4 of the smaller's width, on either strand for DNA) is
   a fragment of it: its instances are mapped into the larger motif's columns, those not
   already there are added, and the larger motif's PPM and CWM are recomputed.

Seqlets raising the target and those lowering it are clustered apart (``Motif.sign``).
Strands: both for DNA (ACGT) by default, one for RNA, protein and text; ``strands=False``
turns reverse complements off for DNA too, which TF-MoDISco cannot.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from engine.analysis.motif import DNA, Motif, Seqlet

MAX_SEQLETS = 2000  # per sign; the similarity matrix is this squared


def codes_of(sequences: np.ndarray | Sequence[bytes], alphabet: bytes) -> np.ndarray:
    """(N, L) letter indices of equal-length windows, -1 for bytes outside ``alphabet``."""
    if not isinstance(sequences, np.ndarray):
        sequences = np.stack([np.frombuffer(bytes(s), np.uint8) for s in sequences])
    index = np.full(256, -1, np.int64)
    index[np.frombuffer(alphabet, np.uint8)] = np.arange(len(alphabet))
    return index[np.asarray(sequences, np.uint8)]


def _frames(codes: np.ndarray, weights: np.ndarray, starts: np.ndarray, rows: np.ndarray,
            width: int, size: int, on_letter: bool) -> np.ndarray:
    """(M, width, size) frames ``weights[row, f + p, k]``, with ``on_letter`` only where
    ``codes[row, f + p] = k`` (``weights`` (N, L, size): hypothetical scores, or the
    projected score repeated on every letter)."""
    pos = starts[:, None] + np.arange(width)[None, :]
    valid = (pos >= 0) & (pos < codes.shape[1])
    safe = np.clip(pos, 0, codes.shape[1] - 1)
    letters = codes[rows[:, None], safe]
    frames = weights[rows[:, None], safe] * valid[..., None]
    if on_letter:
        frames = frames * ((letters[..., None] == np.arange(size)) & (letters[..., None] >= 0))
    return frames


def _normalised(frames: np.ndarray) -> np.ndarray:
    norm = np.sqrt((frames ** 2).sum(axis=(1, 2), keepdims=True))
    return np.divide(frames, norm, out=np.zeros_like(frames), where=norm > 0)


def _versions(frames: np.ndarray, shift: int, strands: bool) -> np.ndarray:
    """(V, M, width + 2 shift, A) zero-padded frames, and their reverse complements."""
    padded = np.pad(frames, ((0, 0), (shift, shift), (0, 0)))
    return np.stack([padded, padded[:, ::-1, ::-1]]) if strands else padded[None]


def _best_alignment(query: np.ndarray, versions: np.ndarray, width: int, shift: int
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For queries (Q, width, A) against every padded frame: best cosine (Q, M), its shift
    and its strand index, over shifts ``-shift..shift`` and the versions given."""
    q = query.reshape(len(query), -1).astype(np.float32)
    best = np.full((len(query), versions.shape[1]), -np.inf, np.float32)
    at = np.zeros(best.shape, np.int64)
    strand = np.zeros(best.shape, np.int64)
    for v in range(versions.shape[0]):
        for s in range(-shift, shift + 1):
            window = versions[v, :, shift + s: shift + s + width].reshape(versions.shape[1], -1)
            sim = q @ window.astype(np.float32).T
            better = sim > best
            best[better], at[better], strand[better] = sim[better], s, v
    return best, at, strand


def _aligned(versions: np.ndarray, members: np.ndarray, at: np.ndarray, strand: np.ndarray,
             width: int, shift: int) -> np.ndarray:
    """Each member's padded frame read at its shift and strand: (K, width, A)."""
    cols = shift + at[:, None] + np.arange(width)[None, :]
    return versions[strand[:, None], members[:, None], cols]


def _summarise(codes: np.ndarray, projected: np.ndarray, hypothetical: np.ndarray | None,
               rows: np.ndarray, anchor: np.ndarray, step: np.ndarray, width: int,
               size: int, strands: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """PPM, CWM (width, A) and coverage (width,) of members read from ``anchor`` in
    direction ``step`` (+1, or -1 for the reverse complement)."""
    pos = anchor[:, None] + step[:, None] * np.arange(width)[None, :]
    valid = (pos >= 0) & (pos < codes.shape[1])
    safe = np.clip(pos, 0, codes.shape[1] - 1)
    letters = codes[rows[:, None], safe]
    valid &= letters >= 0
    minus = (step < 0)[:, None]
    if strands:
        letters = np.where(minus, size - 1 - letters, letters)
    hot = (letters[..., None] == np.arange(size)) & valid[..., None]
    coverage = valid.sum(axis=0)
    denominator = np.maximum(coverage, 1)[:, None]
    ppm = hot.sum(axis=0) / denominator
    ppm[coverage == 0] = 1.0 / size
    if hypothetical is not None:
        h = hypothetical[rows[:, None], safe]  # (K, width, A)
        if strands:
            h = np.where(minus[..., None], h[..., ::-1], h)
        cwm = (h * valid[..., None]).sum(axis=0) / denominator
    else:
        cwm = (hot * projected[rows[:, None], safe][..., None]).sum(axis=0) / denominator
    return ppm, cwm, coverage


def _trimmed(cwm: np.ndarray, coverage: np.ndarray, trim: float, n: int) -> tuple[int, int]:
    strength = np.abs(cwm).sum(axis=1) * (coverage >= max(1, n // 2))
    keep = np.flatnonzero(strength >= trim * strength.max()) if strength.max() > 0 else []
    if len(keep) == 0:
        return 0, 0
    return int(keep[0]), int(keep[-1]) + 1


def _cluster_sign(codes: np.ndarray, projected: np.ndarray, hypothetical: np.ndarray | None,
                  seqlets: list[Seqlet], sign: int, alphabet: bytes, strands: bool,
                  min_instances: int, max_motifs: int, min_similarity: float, width: int,
                  shift: int, trim: float, merge_similarity: float,
                  rng: np.random.Generator) -> list[Motif]:
    if len(seqlets) < min_instances:
        return []
    if len(seqlets) > MAX_SEQLETS:
        pick = np.sort(rng.choice(len(seqlets), MAX_SEQLETS, replace=False))
        seqlets = [seqlets[i] for i in pick]
    size = len(alphabet)
    rows = np.array([s.example for s in seqlets])
    centres = np.array([(s.start + s.end) // 2 for s in seqlets])
    starts = centres - width // 2
    weights = (hypothetical * sign if hypothetical is not None
               else np.abs(projected)[..., None] * np.ones(size))
    frames = _normalised(_frames(codes, weights, starts, rows, width, size,
                                     on_letter=hypothetical is None))
    versions = _versions(frames, shift, strands)
    pairwise, _, _ = _best_alignment(frames, versions, width, shift)
    pool = np.ones(len(seqlets), bool)
    motifs: list[Motif] = []
    while len(motifs) < max_motifs and pool.sum() >= min_instances:
        close = (pairwise >= min_similarity) & pool[None, :] & pool[:, None]
        degree = close.sum(axis=1)
        seed = int(np.argmax(degree))
        if degree[seed] < min_instances:
            break
        centre = frames[seed]
        for _ in range(3):
            best, at, strand = _best_alignment(centre[None], versions, width, shift)
            members = np.flatnonzero(pool & (best[0] >= min_similarity))
            if len(members) == 0:
                break
            centre = _aligned(versions, members, at[0, members], strand[0, members], width,
                              shift).mean(axis=0)
        pool[seed] = False
        if len(members) < min_instances:
            continue
        pool[members] = False
        at, strand = at[0, members], strand[0, members]
        step = np.where(strand == 1, -1, 1)
        anchor = np.where(step > 0, starts[members] + at,
                          starts[members] + width - 1 - at)
        ppm, cwm, coverage = _summarise(codes, projected, hypothetical, rows[members], anchor,
                                        step, width, size, strands)
        a, b = _trimmed(cwm, coverage, trim, len(members))
        if b - a < 2:
            continue
        first = anchor + step * a
        last = anchor + step * (b - 1)
        lo = np.clip(np.minimum(first, last), 0, codes.shape[1])
        hi = np.clip(np.maximum(first, last) + 1, 0, codes.shape[1])
        instances = [Seqlet(int(rows[m]), int(lo[k]), int(hi[k]),
                            float(projected[rows[m], lo[k]:hi[k]].sum()),
                            seqlets[m].p_value, "-" if step[k] < 0 else "+")
                     for k, m in enumerate(members)]
        label = "pos" if sign > 0 else "neg"
        motifs.append(Motif(f"{label}_{len(motifs) + 1}", alphabet, ppm[a:b], cwm[a:b],
                            sorted(instances, key=lambda s: (s.example, s.start)), sign))
    return _merge(motifs, codes, projected, hypothetical, strands, merge_similarity)


def _frame_of(instance: Seqlet, width: int) -> tuple[int, int]:
    """(anchor, step) of an instance of a ``width``-column motif: column c reads window
    base ``anchor + step * c`` (an instance cut short by the window's start or end keeps
    its columns where they were)."""
    low_cut = instance.end - instance.start < width and instance.start == 0
    if instance.strand == "+":
        return (instance.end - width if low_cut else instance.start), 1
    return (instance.end - 1 if low_cut else instance.start + width - 1), -1


def _mapped(instance: Seqlet, small: int, large: int, offset: int, strand: str
            ) -> tuple[int, int]:
    """(anchor, step) in a ``large``-column motif's columns of an instance of a
    ``small``-column motif whose column q aligns with the larger's column ``offset + q``
    (strand "+") or with column ``offset + q`` of its reverse complement (strand "-")."""
    anchor, step = _frame_of(instance, small)
    if strand == "+":  # larger column c is small column c - offset
        return anchor - step * offset, step
    # larger column c is its reverse complement's column W - 1 - c, small column
    # W - 1 - c - offset: read the other way from there
    return anchor + step * (large - 1 - offset), -step


def _merge(motifs: list[Motif], codes: np.ndarray, projected: np.ndarray,
           hypothetical: np.ndarray | None, strands: bool, merge_similarity: float
           ) -> list[Motif]:
    from engine.analysis.motif_db import similarity

    kept: list[Motif] = []
    size = len(motifs[0].alphabet) if motifs else 0
    for m in sorted(motifs, key=lambda x: -x.n_instances):
        home = None
        for k in kept:
            small = min(m.width, k.width)
            score, offset, strand, overlap = similarity(m.ppm, k.ppm, strands=strands,
                                                        min_overlap=min(4, small))
            if score >= merge_similarity and overlap >= 0.75 * small:
                home = (k, offset, strand)
                break
        if home is None:
            kept.append(m)
            continue
        k, offset, strand = home
        frames = [_frame_of(s, k.width) for s in k.instances]
        taken = {(s.example, a) for s, (a, _) in zip(k.instances, frames, strict=True)}
        items = list(zip(k.instances, frames, strict=True))
        for s in m.instances:
            anchor, step = _mapped(s, m.width, k.width, offset, strand)
            near = any((s.example, anchor + d) in taken for d in range(-2, 3))
            if not near:
                lo = min(anchor, anchor + step * (k.width - 1))
                hi = max(anchor, anchor + step * (k.width - 1)) + 1
                lo, hi = max(lo, 0), min(hi, codes.shape[1])
                if hi - lo < 1:
                    continue
                instance = Seqlet(s.example, lo, hi, float(projected[s.example, lo:hi].sum()),
                                  s.p_value, "+" if step > 0 else "-")
                items.append((instance, (anchor, step)))
                taken.add((s.example, anchor))
        rows = np.array([s.example for s, _ in items])
        anchors = np.array([a for _, (a, _) in items])
        steps = np.array([d for _, (_, d) in items])
        ppm, cwm, _ = _summarise(codes, projected, hypothetical, rows, anchors, steps, k.width,
                                 size, strands)
        k.ppm, k.cwm = ppm, cwm
        k.instances = sorted((s for s, _ in items), key=lambda q: (q.example, q.start))
    for i, m in enumerate(kept):
        m.name = f"{'pos' if m.sign > 0 else 'neg'}_{i + 1}"
    return kept


def discover_motifs(sequences: np.ndarray | Sequence[bytes], contributions: np.ndarray,
                    seqlets: Sequence[Seqlet], alphabet: bytes = DNA,
                    hypothetical: np.ndarray | None = None, strands: bool | None = None,
                    min_instances: int = 5, max_motifs: int = 20,
                    min_similarity: float = 0.6, width: int | None = None,
                    max_shift: int | None = None, trim: float = 0.3,
                    merge_similarity: float = 0.8, seed: int = 0) -> list[Motif]:
    """Motifs of the seqlets of ``sequences`` (N, L) with per-base ``contributions`` (N, L)
    (module docstring), most instances first, positive before negative at equal counts.

    ``hypothetical`` (N, L, A): per-letter scores (saliency's mean-corrected gradient) for the
    CWM and the alignment; default the projected scores on the letter read. ``width``: the
    frame, default the widest seqlet plus 10; ``max_shift`` default a third of it.
    """
    codes = codes_of(sequences, alphabet)
    projected = np.asarray(contributions, np.float64)
    if projected.shape != codes.shape:
        raise ValueError(f"contributions {projected.shape} do not match the windows "
                         f"{codes.shape}")
    if hypothetical is not None:
        hypothetical = np.asarray(hypothetical, np.float64)
        if hypothetical.shape != (*codes.shape, len(alphabet)):
            raise ValueError(f"hypothetical scores must be {(*codes.shape, len(alphabet))}")
    strands = alphabet == DNA if strands is None else strands
    if strands and len(alphabet) != 4:
        raise ValueError("reverse complements need a 4-letter alphabet")
    seqlets = list(seqlets)
    if not seqlets:
        return []
    width = width or min(codes.shape[1], max(s.width for s in seqlets) + 10)
    shift = width // 3 if max_shift is None else max_shift
    rng = np.random.default_rng(seed)
    motifs = []
    for sign in (1, -1):
        group = [s for s in seqlets if (s.score > 0) == (sign > 0)]
        motifs += _cluster_sign(codes, projected, hypothetical, group, sign, alphabet,
                                strands, min_instances, max_motifs, min_similarity, width,
                                shift, trim, merge_similarity, rng)
    motifs.sort(key=lambda m: (-m.n_instances, -m.sign))
    return motifs[:max_motifs]


def motif_pearson(a: np.ndarray, b: np.ndarray, strands: bool = True,
                  min_overlap: int = 4) -> float:
    """Mean Pearson correlation of the aligned columns of two PPMs at their best offset and
    strand (:func:`engine.analysis.motif_db.similarity`)."""
    from engine.analysis.motif_db import similarity

    return similarity(a, b, strands=strands, min_overlap=min_overlap)[0]


__all__ = ["MAX_SEQLETS", "codes_of", "discover_motifs", "motif_pearson"]
