"""Which motifs a model has learned, on a genome: windows -> attributions -> seqlets -> motifs.

1. each :class:`~engine.analysis.windows.Window` is read along its strand with up to
   ``context`` bases before it, and explained with a target (``target``):

   * ``window``: the window's summed log-likelihood ``F = sum_{t in window} log p(b_t | b_<t)``;
   * ``anchor``: the log-likelihood of the anchor codon alone (windows from
     :func:`~engine.analysis.windows.around_features`), ``F = sum_{t in codon} log p(b_t |
     b_<t)``: which upstream bases make the model expect the start codon there (the
     Shine-Dalgarno site, if the model has learned one). Only the bases before the codon
     are explained; the codon's own (part of the target) and later ones get 0;

   by

   * ``saliency`` (batched, :func:`~engine.analysis.attribution.saliency_batch`): the
     contribution of base i is the mean-corrected gradient on the letter read, the
     hypothetical scores that gradient on every letter; or
   * ``ism`` (exact, :func:`~engine.analysis.attribution.mutagenesis`, 3 forwards per base):
     ``c_i = -(1/(A-1)) sum_k (F(x, b_i = k) - F(x))``, what the base read adds over the other
     letters, and hypothetical scores ``h_ik = d_ik - (1/A) sum_k' d_ik'`` with
     ``d_ik = F(x, b_i = k) - F(x)``.

   Gradients are a local, linear reading: on random DNA with planted motifs a trained model's
   saliency spreads over the background (its predictions there are sensitive to every base
   that could begin a motif) while mutagenesis, which measures the effect of a real change,
   puts 8x more per base on the planted bases (``tests/engine/test_planted_motifs.py``);
2. seqlets are found in the windows' attributions (:func:`~engine.analysis.seqlets.find_seqlets`,
   both signs), clustered into motifs (:func:`~engine.analysis.motifs.discover_motifs`, with
   the mean-corrected gradients as hypothetical scores), and
3. each motif is matched against a database when one is given
   (:func:`~engine.analysis.motif_db.match_motifs`).

Windows holding a byte outside the alphabet (an N, say) are skipped and counted. Windows of
unequal length are padded with N to the longest, which no seqlet or motif column reads.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from torch import nn

from engine.analysis.attribution import (
    DNA,
    Target,
    is_patch_level,
    mutagenesis,
    saliency_batch,
)
from engine.analysis.motif import Match, Motif, Seqlet
from engine.analysis.motif_db import match_motifs
from engine.analysis.motifs import discover_motifs
from engine.analysis.seqlets import find_seqlets
from engine.analysis.windows import CODON, MOTIF_CONTEXT, Window, read_window
from engine.errors import InputError
from engine.io import Record

DEFAULT_CONTEXT = MOTIF_CONTEXT
METHODS = ("saliency", "ism")
TARGETS = ("window", "anchor")
PAD = ord("N")


@dataclass
class Discovery:
    """What :func:`discover` found, and everything needed to place it on the genome."""

    windows: list[Window]
    sequences: np.ndarray  # (N, W) uint8, read along each window's strand (N past its end)
    contributions: np.ndarray  # (N, W) saliency on the base read
    hypothetical: np.ndarray  # (N, W, A) mean-corrected gradients
    seqlets: list[Seqlet]
    motifs: list[Motif]
    alphabet: bytes = DNA
    matches: dict[str, list[Match]] = field(default_factory=dict)
    skipped: int = 0  # windows with bytes outside the alphabet
    model: str = ""
    method: str = "saliency"
    seconds: dict[str, float] = field(default_factory=dict)
    target: str = "window"

    def instance_loci(self, motif: Motif) -> list[tuple[str, int, int, str, float]]:
        """``(record, start, end, strand, score)`` of each instance in record coordinates
        (0-based half-open); strand "-" where the motif reads the record's minus strand."""
        out = []
        for s in motif.instances:
            w = self.windows[s.example]
            start, end = w.to_record(s.start, s.end)
            plus = (w.strand >= 0) == (s.strand == "+")
            out.append((w.record, start, end, "+" if plus else "-", s.score))
        return out

    def offsets(self, motif: Motif) -> np.ndarray:
        """Each instance's first base relative to its window's anchor (for CDS starts: -10
        is ten bases before the A of the ATG)."""
        return np.array([self.windows[s.example].offset(s.start) for s in motif.instances],
                        dtype=np.int64)


def explain_windows(model: nn.Module, records: Mapping[str, Record], windows: Sequence[Window],
                    context: int = DEFAULT_CONTEXT, alphabet: bytes = DNA, batch: int = 16,
                    method: str = "saliency", check: Callable[[], None] | None = None,
                    progress: Callable[[int, int], None] | None = None,
                    target: str = "window"
                    ) -> tuple[list[int], np.ndarray, np.ndarray, np.ndarray]:
    """``(kept, sequences (N, W), contributions (N, W), hypothetical (N, W, A))`` for the
    windows that hold only ``alphabet`` bytes (``kept``: their indices in ``windows``), by
    ``method`` for ``target`` (module docstring). ``context`` is cut to what the model's
    context leaves."""
    if method not in METHODS:
        raise InputError(f"method must be one of {', '.join(METHODS)}, not {method!r}")
    if target not in TARGETS:
        raise InputError(f"target must be one of {', '.join(TARGETS)}, not {target!r}")
    if is_patch_level(model):  # each window would need its own entropy-model patches
        raise InputError("motif discovery explains the byte-level models (hyena, attention); "
                         "explain the patch-level model one locus at a time (bytescope "
                         "attribute --model hyena-blt, or the Attribution panel)")
    if target == "anchor" and any(w.anchor is None or w.anchor + CODON > w.length
                                  for w in windows):
        raise InputError("an anchor target needs windows around a feature's codon "
                         "(--around TYPE:start or TYPE:end)")
    limit = getattr(model, "max_len", None)
    if limit is not None and windows:
        longest = max(w.length for w in windows)
        if longest + 1 > limit:
            raise InputError(f"a window of {longest:,} bases is longer than the model's context "
                             f"({limit - 1:,}): choose shorter windows")
        context = min(context, limit - 1 - longest)  # the model reads the window and a BOS
    allowed = np.zeros(256, bool)
    allowed[np.frombuffer(alphabet, np.uint8)] = True
    reads: list[tuple[int, np.ndarray, int, int]] = []  # (index, bytes read, context, width)
    for k, w in enumerate(windows):
        data, ctx = read_window(records[w.record], w, context)
        array = np.frombuffer(data, np.uint8)
        if allowed[array].all():
            reads.append((k, array, ctx, w.length))
    if not reads:
        raise InputError("no window holds only the alphabet's letters "
                         f"({alphabet.decode('latin-1')})")
    width = max(r[3] for r in reads)
    sequences = np.full((len(reads), width), PAD, np.uint8)
    contributions = np.zeros((len(reads), width))
    hypothetical = np.zeros((len(reads), width, len(alphabet)))
    groups: dict[tuple[int, int], list[int]] = {}
    for row, (k, array, ctx, _n) in enumerate(reads):
        anchor = windows[k].anchor if target == "anchor" else None
        groups.setdefault((len(array), ctx, anchor), []).append(row)
    done, total = 0, len(reads)
    for (_length, ctx, anchor), rows in groups.items():
        n = reads[rows[0]][3]
        stack = np.stack([reads[r][1] for r in rows])
        step = None if progress is None else (
            lambda d, _t, base=done: progress(base + d, total))
        explained = (Target("region", ctx, ctx + n) if anchor is None
                     else Target("region", ctx + anchor, ctx + anchor + CODON))
        last = ctx + n if anchor is None else ctx + anchor  # one past the bases explained
        if method == "saliency":
            values, grads = saliency_batch(model, stack, explained, alphabet, batch=batch,
                                           check=check, progress=step)
            values[:, last:], grads[:, last:] = 0.0, 0.0
        else:
            values, grads = _mutagenesis_many(model, stack, explained, alphabet, check, step,
                                              first=ctx, last=last)
        sequences[rows, :n] = stack[:, ctx:ctx + n]
        contributions[rows, :n] = values[:, ctx:ctx + n]
        hypothetical[rows, :n] = grads[:, ctx:ctx + n]
        done += len(rows)
    return [r[0] for r in reads], sequences, contributions, hypothetical


def _mutagenesis_many(model: nn.Module, stack: np.ndarray, target: Target, alphabet: bytes,
                      check: Callable[[], None] | None,
                      progress: Callable[[int, int], None] | None, first: int, last: int
                      ) -> tuple[np.ndarray, np.ndarray]:
    """ISM contributions and hypothetical scores (module docstring) of each window's bases
    ``[first, last)`` (from the window after its context; at most those the target reads)."""
    values = np.zeros(stack.shape)
    hypothetical = np.zeros((*stack.shape, len(alphabet)))
    for row, window in enumerate(stack):
        if check is not None:
            check()
        result = mutagenesis(model, window, target, batch=128,
                             positions=(first, last), alphabet=alphabet)
        values[row] = -result.values
        hypothetical[row] = result.matrix - result.matrix.mean(axis=1, keepdims=True)
        if progress is not None:
            progress(row + 1, len(stack))
    return values, hypothetical


def discover(model: nn.Module, records: Mapping[str, Record], windows: Sequence[Window],
             context: int = DEFAULT_CONTEXT, alphabet: bytes = DNA, method: str = "saliency",
             database: Sequence[Motif] | None = None, threshold: float = 0.01,
             min_width: int = 4, max_width: int = 20, strands: bool | None = None,
             min_instances: int = 5, max_motifs: int = 20, seed: int = 0,
             model_name: str = "", check: Callable[[], None] | None = None,
             progress: Callable[[int, int], None] | None = None,
             target: str = "window") -> Discovery:
    """Explain ``windows``, find seqlets and motifs, match them (module docstring)."""
    model.eval()
    t0 = time.perf_counter()
    kept, sequences, contributions, hypothetical = explain_windows(
        model, records, windows, context, alphabet, method=method, check=check,
        progress=progress, target=target)
    t1 = time.perf_counter()
    seqlets = find_seqlets(contributions, threshold=threshold, min_width=min_width,
                           max_width=max_width)
    motifs = discover_motifs(sequences, contributions, seqlets, alphabet, hypothetical,
                             strands=strands, min_instances=min_instances,
                             max_motifs=max_motifs, seed=seed)
    t2 = time.perf_counter()
    matches = {}
    if database:
        for m in motifs:
            matches[m.name] = match_motifs(m, database, seed=seed)
    t3 = time.perf_counter()
    return Discovery([windows[k] for k in kept], sequences, contributions, hypothetical,
                     seqlets, motifs, alphabet, matches, len(windows) - len(kept), model_name,
                     method, {"attribution": t1 - t0, "motifs": t2 - t1, "matching": t3 - t2},
                     target)


__all__ = ["DEFAULT_CONTEXT", "METHODS", "TARGETS", "Discovery", "discover",
           "explain_windows"]
