"""A repeat (copy) expert: predict the next byte from an earlier copy of the recent bytes.

A byte model sees ``max_len`` bytes back; a genome repeats itself over megabases (rRNA operons,
insertion sequences, tRNAs, inverted repeats). The copy expert of XM (Cao et al. 2007, "A
simple statistical algorithm for biological sequence compression") covers that range at the
cost of one hash table: when the last ``k`` bytes occurred before, it predicts the byte that
followed them there, or, on the reverse strand, the complement of the byte that preceded
their reverse complement. It follows that alignment byte by byte until too many of its last
16 predictions miss.

Its prediction is mixed into the model's distribution with a weight that depends only on the
alignment's state s (the current run of hits, the misses among the last 16 predictions, and the
strand), fitted on training data (:func:`fit_weights`):

    p'(v) = (1 - w_s) p(v) + w_s [v = v̂]                                              (R1)

so the entropy and surprisal of the mixture replace the model's wherever the expert speaks, and
nothing changes elsewhere (w = 0). The expert reads the record from its first byte: position
t's prediction uses bytes ``[0, t)`` only, whatever window or chunk is being scored.
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from numba import njit

from engine.atomic import atomic_path
from engine.errors import ModelError

REPEATS_NAME = "repeats.json"

RUN_BUCKETS = 32  # hits in a row since the last miss: 0..31+
MISS_BUCKETS = 4  # misses among the last 16 predictions: 0, 1, 2, 3+
N_STATES = 2 * RUN_BUCKETS * MISS_BUCKETS  # x strand (forward, reverse complement)


def _complement_table() -> np.ndarray:
    """Byte -> its IUPAC complement (A<->T, C<->G, U->A, R<->Y, K<->M, B<->V, D<->H), case kept;
    every other byte maps to itself."""
    table = np.arange(256, dtype=np.uint8)
    pairs = ["AT", "CG", "RY", "KM", "BV", "DH"]
    for a, b in pairs:
        for x, y in ((a, b), (a.lower(), b.lower())):
            table[ord(x)], table[ord(y)] = ord(y), ord(x)
    table[ord("U")], table[ord("u")] = ord("A"), ord("a")
    table.setflags(write=False)
    return table


COMPLEMENT = _complement_table()


@dataclass
class RepeatConfig:
    """The copy expert's settings and its fitted mixing weights (saved as ``repeats.json``)."""

    k: int = 20  # bytes that must match before a copy starts
    reverse_complement: bool = True  # also follow reverse-complement copies (nucleotides)
    max_misses: int = 12  # an alignment is dropped when more of its last 16 predictions miss
    table_bits: int = 28  # at most 2**table_bits slots (see table_bits_for)
    weights: list[float] = field(default_factory=list)  # w_s of (R1), N_STATES values

    def weight_array(self) -> np.ndarray:
        if len(self.weights) != N_STATES:
            raise ModelError(f"repeat expert has {len(self.weights)} weights, expected "
                             f"{N_STATES}; fit it with `bytescope fit-repeats`")
        return np.asarray(self.weights, dtype=np.float32)


def save_repeats(config: RepeatConfig, directory: str | Path) -> Path:
    """Write ``repeats.json`` into a model folder, atomically."""
    path = Path(directory) / REPEATS_NAME
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(dataclasses.asdict(config), indent=1) + "\n")
    return path


def load_repeats(directory: str | Path) -> RepeatConfig | None:
    """The folder's fitted copy expert, or None when it has no ``repeats.json``."""
    path = Path(directory) / REPEATS_NAME
    if not path.exists():
        return None
    try:
        values = json.loads(path.read_text())
        config = RepeatConfig(**values)
    except json.JSONDecodeError as error:
        raise ModelError(f"not JSON: {error.msg}", path=path, line=error.lineno) from None
    except TypeError as error:
        raise ModelError(f"not a repeat expert config: {error}", path=path) from None
    try:
        config.weight_array()  # fail at load time, not mid-scoring
    except ModelError as error:
        raise ModelError(error.message, path=path) from None
    return config


# --------------------------------------------------------------------------------------------
# the expert itself: one pass over the bytes, O(n)

@njit(cache=True, nogil=True)
def _mix(z):
    """SplitMix64's finaliser: spreads a polynomial hash's bits before they pick a slot."""
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


@njit(cache=True, nogil=True)  # runs in scoring workers: the GUI thread keeps the GIL meanwhile
def _scan(data, complement, k, use_rc, max_misses, shift, checks, ends, hashes, align, t0, t1,
          pred, state, log_slot, log_check, log_end):
    """Steps ``t0 .. t1`` of the expert: predict byte t from ``data[:t]`` into ``pred[t - t0]``,
    ``state[t - t0]``, then read ``data[t]`` (for t < t1). ``checks``/``ends`` are its table,
    ``hashes`` (fwd, rev) and ``align`` (ptr, step, run, hist) its registers, all updated in
    place, so a later call resumes where this one stopped. With a non-empty ``log_slot`` every
    table write first records the slot's old contents (for :func:`_undo`); returns how many."""
    mult = np.uint64(0x100000001B3)  # FNV-1a's prime: odd, so invertible modulo 2**64
    inv = np.uint64(1)  # mult**-1 mod 2**64 by Newton's iteration
    for _ in range(6):
        inv = inv * (np.uint64(2) - mult * inv)
    top = np.uint64(1)  # mult**(k-1)
    for _ in range(k - 1):
        top = top * mult
    fwd = hashes[0]  # hash of data[t-k+1..t], first byte most significant
    rev = hashes[1]  # hash of its reverse complement, in the same convention
    ptr = align[0]
    step = align[1]  # +1 forward copy, -1 reverse-complement copy
    run = align[2]
    hist = align[3]  # last 16 outcomes, bit set = miss
    logging = len(log_slot) > 0
    logged = 0
    for t in range(t0, t1 + 1):
        # predict byte t from data[:t]
        guess = -1
        if ptr >= 0:
            guess = data[ptr] if step > 0 else complement[data[ptr]]
            misses = 0
            h = hist
            while h:
                misses += h & 1
                h >>= 1
            pred[t - t0] = guess
            state[t - t0] = ((0 if step > 0 else 1) * 32 + min(run, 31)) * 4 + min(misses, 3)
        else:
            pred[t - t0] = -1
            state[t - t0] = 0
        if t == t1:
            break
        c = data[t]
        if ptr >= 0:
            miss = 1 if guess != c else 0
            hist = ((hist << 1) | miss) & 0xFFFF
            run = 0 if miss else run + 1
            ptr += step
            misses = 0
            h = hist
            while h:
                misses += h & 1
                h >>= 1
            if misses > max_misses or ptr < 0:
                ptr = -1
        # roll both hashes to cover data[t-k+1..t]
        cv = np.uint64(c)
        if t >= k:
            out = np.uint64(data[t - k])
            fwd = (fwd - out * top) * mult + cv
            rev = (rev - np.uint64(complement[data[t - k]])) * inv + np.uint64(complement[c]) * top
        else:
            fwd = fwd * mult + cv
            rev = rev + np.uint64(complement[c]) * _pow(mult, t)
        if t < k - 1:
            continue
        hf = _mix(fwd)
        slot = np.int64(hf >> shift)
        check = np.uint32(hf & np.uint64(0xFFFFFFFF))
        if ptr < 0:
            j = ends[slot]
            if j >= 0 and checks[slot] == check:  # data[j-k+1..j] == data[t-k+1..t]
                ptr, step, run, hist = j + 1, 1, 0, 0
            elif use_rc:
                hr = _mix(rev)
                rslot = np.int64(hr >> shift)
                j = ends[rslot]
                if j >= k and checks[rslot] == np.uint32(hr & np.uint64(0xFFFFFFFF)):
                    ptr, step, run, hist = j - k, -1, 0, 0  # data[j-k+1..j] == revcomp(recent k)
        if logging:
            log_slot[logged] = slot
            log_check[logged] = checks[slot]
            log_end[logged] = ends[slot]
            logged += 1
        checks[slot] = check
        ends[slot] = t
    hashes[0] = fwd
    hashes[1] = rev
    align[0] = ptr
    align[1] = step
    align[2] = run
    align[3] = hist
    return logged


@njit(cache=True, nogil=True)
def _undo(checks, ends, log_slot, log_check, log_end, logged):
    """Put back the table entries the last ``logged`` writes of :func:`_scan` replaced."""
    for i in range(logged - 1, -1, -1):
        checks[log_slot[i]] = log_check[i]
        ends[log_slot[i]] = log_end[i]


@njit(cache=True, nogil=True)
def _variants(data, complement, k, use_rc, max_misses, shift, checks, ends, hashes, align, start,
              windows, pred, state):
    """The expert's guesses over ``[start, start + n]`` for each variant ``windows[b]`` of
    ``data[start:start + n]``, resuming from the registers and table it had after reading
    ``data[:start]``; ``data``, the table and the registers are as they were on return."""
    b_count, n = windows.shape
    original = data[start:start + n].copy()
    log_slot = np.empty(n, dtype=np.int64)
    log_check = np.empty(n, dtype=np.uint32)
    log_end = np.empty(n, dtype=np.int32)
    h = hashes.copy()
    a = align.copy()
    for b in range(b_count):
        data[start:start + n] = windows[b]
        h[:] = hashes
        a[:] = align
        logged = _scan(data, complement, k, use_rc, max_misses, shift, checks, ends, h, a, start,
                       start + n, pred[b], state[b], log_slot, log_check, log_end)
        _undo(checks, ends, log_slot, log_check, log_end, logged)
    data[start:start + n] = original


@njit(cache=True, nogil=True)
def _pow(base, e):
    r = np.uint64(1)
    for _ in range(e):
        r = r * base
    return r


def table_bits_for(length: int, config: RepeatConfig) -> int:
    """Slots for a record of ``length`` bytes: at most a quarter full, at most
    2**config.table_bits (8 bytes each: 2 GB at 28, for records over 67 Mbp)."""
    return min(config.table_bits, max(8, int(length).bit_length() + 2))


def table_note(length: int, config: RepeatConfig) -> str | None:
    """What the expert forgets in a record of ``length`` bytes (None when little): each slot
    keeps the latest word that hashed to it, so a word seen d bytes back is still there with
    probability about exp(-d / slots); said when that is below one half across the record."""
    slots = 1 << table_bits_for(length, config)
    half = int(slots * math.log(2))
    if length <= half:
        return None
    return (f"repeat expert: {length:,} positions share {slots:,} table slots; a word seen "
            f"{half:,} bytes back is still there with even odds, so copies further back are "
            "more often missed than followed (table_bits in repeats.json raises the cap, "
            "8 bytes a slot)")


def copy_predictions(data: np.ndarray, config: RepeatConfig,
                     record_length: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The expert's guess for every byte and the one just past the end.

    Returns ``pred`` (int16, n + 1): ``pred[t]`` is the byte the expert predicts at ``t`` from
    ``data[:t]``, or -1 where it has no alignment; and ``state`` (uint8, n + 1): the index
    s of its weight in (R1) (0 where ``pred`` is -1). ``data`` may be the start of a longer
    record: give its ``record_length``, which sizes the hash table, so the guesses equal those
    of a pass over the whole record.
    """
    data = np.ascontiguousarray(data, dtype=np.uint8)
    if not 1 <= config.k <= 64:
        raise ModelError(f"repeat expert k must be in 1..64, got {config.k}")
    length = len(data) if record_length is None else record_length
    if length >= 2**31 - 1:
        raise ModelError(f"the repeat expert handles records below 2 GiB, not {length:,} bytes")
    pred = np.empty(len(data) + 1, dtype=np.int16)
    state = np.empty(len(data) + 1, dtype=np.uint8)
    expert = _Expert(config, length)
    expert.scan(data, 0, len(data), pred, state)
    return pred, state


_NO_LOG = (np.empty(0, np.int64), np.empty(0, np.uint32), np.empty(0, np.int32))


class _Expert:
    """The expert's table and registers, sized for a record of ``length`` bytes."""

    def __init__(self, config: RepeatConfig, length: int) -> None:
        bits = table_bits_for(length, config)
        self.config = config
        self.shift = np.uint64(64 - bits)
        self.checks = np.zeros(1 << bits, dtype=np.uint32)  # low 32 bits of each slot's hash
        self.ends = np.full(1 << bits, -1, dtype=np.int32)  # where that k-mer last ended
        self.hashes = np.zeros(2, dtype=np.uint64)
        self.align = np.array([-1, 0, 0, 0], dtype=np.int64)

    def _args(self, data: np.ndarray) -> tuple:
        c = self.config
        return (data, COMPLEMENT, c.k, c.reverse_complement, c.max_misses, self.shift,
                self.checks, self.ends, self.hashes, self.align)

    def scan(self, data: np.ndarray, t0: int, t1: int, pred: np.ndarray, state: np.ndarray
             ) -> None:
        _scan(*self._args(data), t0, t1, pred, state, *_NO_LOG)


class RepeatContinuation:
    """The expert having read bytes ``[0, start)`` of a record, ready to guess
    ``[start, start + n]`` for any variant of the ``n`` bytes ``data[start:]`` (in-silico
    mutagenesis with the expert in the loop): each variant resumes from the same table and
    alignment, and the table writes it makes are undone after it, so a variant costs O(n),
    not a pass over the record. The guesses equal those of :func:`copy_predictions` over the
    record with the variant in place (``tests/engine/models/test_repeats.py``)."""

    def __init__(self, data: np.ndarray, start: int, config: RepeatConfig,
                 record_length: int | None = None) -> None:
        self.data = np.array(data, dtype=np.uint8)  # a copy: variants are written into it
        self.start = int(start)
        if not 0 <= self.start <= len(self.data):
            raise ModelError(f"the window starts at {start:,}, outside the {len(data):,} bytes")
        length = len(self.data) if record_length is None else record_length
        self.expert = _Expert(config, length)
        pred = np.empty(self.start + 1, dtype=np.int16)
        state = np.empty(self.start + 1, dtype=np.uint8)
        self.expert.scan(self.data, 0, self.start, pred, state)

    @property
    def weights(self) -> np.ndarray:
        """w_s of (R1), the fitted mixing weights (ModelError if the expert has none)."""
        return self.expert.config.weight_array()

    @property
    def length(self) -> int:
        """Bytes of the window the variants replace."""
        return len(self.data) - self.start

    def guesses(self, windows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(pred, state)``, each (B, n + 1), for the variants ``windows`` (B, n) of the window:
        ``pred[b, i]`` guesses window byte i (the byte after the window at i = n)."""
        windows = np.ascontiguousarray(np.atleast_2d(windows), dtype=np.uint8)
        if windows.shape[1] != self.length:
            raise ModelError(f"variants of {windows.shape[1]:,} bytes for a window of "
                             f"{self.length:,}")
        pred = np.empty((len(windows), self.length + 1), dtype=np.int16)
        state = np.empty((len(windows), self.length + 1), dtype=np.uint8)
        e = self.expert
        _variants(*e._args(self.data), self.start, windows, pred, state)
        return pred, state


def load_kernel() -> None:
    """Load the compiled expert now (about 0.15 s from numba's cache, holding the GIL).

    The window calls this at start-up, so the first scoring job does not stall the event loop
    while a worker thread loads it.
    """
    copy_predictions(np.zeros(1, dtype=np.uint8), RepeatConfig())


# --------------------------------------------------------------------------------------------
# mixing (R1) and fitting its weights


def mix_log_probs(logp: torch.Tensor, pred: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """log p' of (R1) for model log-probabilities ``logp`` (..., V), in log space throughout.

    ``pred`` (...) holds the expert's byte or -1, ``weight`` (...) its w_s (0 where pred is -1):
    ``log p'(v) = log(1 - w) + log p(v)``, and at v̂ ``logaddexp`` of that and ``log w``.
    """
    out = logp + torch.log1p(-weight).unsqueeze(-1)
    index = pred.clamp(min=0).unsqueeze(-1)
    at_guess = torch.logaddexp(out.gather(-1, index), weight.log().unsqueeze(-1))
    return out.scatter(-1, index, at_guess)


def mixture_surprisal(p_target: np.ndarray, hit: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """-ln p'(actual byte) of (R1) from the model's p of it and whether the expert guessed it."""
    return -np.log((1.0 - weight) * p_target + weight * hit)


def fit_weights(p_target: np.ndarray, hit: np.ndarray, state: np.ndarray,
                iterations: int = 60, max_weight: float = 0.9999) -> np.ndarray:
    """The w_s maximising sum log p'(target) over positions where the expert spoke, per state.

    ``p_target``: the model's probability of the actual byte; ``hit``: the expert guessed it.
    Each state's log-likelihood is concave in w, so bisection on its derivative
    ``sum (hit - p) / ((1 - w) p + w hit)`` finds the maximum; states never seen get 0.
    """
    p = np.clip(np.asarray(p_target, dtype=np.float64), 1e-12, 1.0)
    hit = np.asarray(hit, dtype=bool)
    state = np.asarray(state, dtype=np.int64)
    lo = np.zeros(N_STATES)
    hi = np.full(N_STATES, max_weight)
    seen = np.bincount(state, minlength=N_STATES) > 0
    for _ in range(iterations):
        w = (lo + hi) / 2
        ws = w[state]
        grad = np.where(hit, (1.0 - p) / ((1.0 - ws) * p + ws), -1.0 / (1.0 - ws))
        up = np.bincount(state, weights=grad, minlength=N_STATES) > 0
        lo = np.where(up, w, lo)
        hi = np.where(up, hi, w)
    return np.where(seen, (lo + hi) / 2, 0.0)
