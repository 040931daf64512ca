"""The patch-start rules, one pure function per mode.

Conventions shared by every rule:

* ``H`` holds entropies in nats; ``H[t]`` is the model's uncertainty about position ``t + 1``
  after reading positions ``0..t`` (BLT's alignment, blt.md 1.3). The uncertainty *about*
  position ``p`` is therefore ``H[p - 1]``, and position 0 has none.
* ``n_positions`` (N) is how many positions the patches cover: the sequence length, or one more
  with ``include_next_token`` (the position just past the input, which ``H[n - 1]`` is about).
* A rule returns a boolean start mask of length N: ``mask[p]`` says whether a patch starts at
  ``p``. Position 0 always starts.
* Comparisons run in the entropies' own floating dtype, the threshold rounded to it: BLT casts
  entropies to float32 and torch compares them with a Python float in float32.

BLT's fixed starts (positions 0 and 1, position 2 in the monotonic modes, never 3 in ``dual``)
are not in these rules; :func:`apply_blt_start_quirks` adds them so each stays named and tested.
"""

from __future__ import annotations

import numpy as np

from engine.jit import lazy_njit

# BLT's token ids (bytelatent/tokenizers/constants.py): byte b is token b + 4.
BOE_ID = 0
BOS_ID = 1
EOS_ID = 2
TOKEN_OFFSET = 4


def _space_like_table() -> np.ndarray:
    """``table[b]`` is True for bytes that are not an ASCII letter, digit or UTF-8 continuation."""
    table = np.ones(256, dtype=bool)
    table[ord("0") : ord("9") + 1] = False
    table[ord("A") : ord("Z") + 1] = False
    table[ord("a") : ord("z") + 1] = False
    table[0x80:0xC0] = False  # continuation bytes 10xxxxxx; lead bytes >= 0xC0 stay space-like
    table.setflags(write=False)
    return table


SPACE_LIKE = _space_like_table()


def _empty_mask(n_positions: int) -> np.ndarray:
    mask = np.zeros(n_positions, dtype=bool)
    if n_positions:
        mask[0] = True
    return mask


def entropy_start_mask(H: np.ndarray, threshold: float, n_positions: int) -> np.ndarray:
    """Global threshold: ``p >= 1`` starts a patch iff ``H[p-1] > threshold`` (strict).

    BLT's ``entropies > threshold`` (blt.md 1.5); a value equal to the threshold is no start.
    """
    mask = _empty_mask(n_positions)
    if n_positions > 1:
        np.greater(H[: n_positions - 1], H.dtype.type(threshold), out=mask[1:])
    return mask


def monotonic_start_mask(H: np.ndarray, threshold: float, n_positions: int) -> np.ndarray:
    """Approximate monotonic constraint: ``p >= 2`` starts iff ``H[p-1] - H[p-2] > threshold``.

    The paper's H(x_t) - H(x_{t-1}) > θ_r. Position 1 has no earlier entropy to compare with,
    so it never starts here (BLT forces it; see :func:`apply_blt_start_quirks`).
    """
    mask = _empty_mask(n_positions)
    if n_positions > 2:
        rise = H[1 : n_positions - 1] - H[: n_positions - 2]  # rise[p-2] = H[p-1] - H[p-2]
        np.greater(rise, H.dtype.type(threshold), out=mask[2:])
    return mask


def dual_start_mask(
    H: np.ndarray, threshold: float, threshold_add: float, n_positions: int
) -> np.ndarray:
    """Global and monotonic: ``p >= 2`` starts iff ``H[p-1] > θ`` and ``H[p-1] - H[p-2] > θ_add``.

    BLT's ``patch_start_mask_global_and_monotonicity`` without its fixed starts.
    """
    mask = _empty_mask(n_positions)
    if n_positions > 2:
        dtype = H.dtype.type
        current = H[1 : n_positions - 1]  # current[p-2] = H[p-1]
        rise = current - H[: n_positions - 2]
        np.greater(current, dtype(threshold), out=mask[2:])
        mask[2:] &= rise > dtype(threshold_add)
    return mask


def apply_blt_start_quirks(mask: np.ndarray, mode: str) -> np.ndarray:
    """BLT's fixed starts, in place: the quirks ``blt_compat`` reproduces (blt.md 1.5, 1.6).

    * Positions 0 and 1 always start (``first_ids = [0, 1]``): BOS is a patch of its own.
    * ``monotonic`` and ``dual``: position 2 always starts (their ``mask[:, 0] = True``).
    * ``dual``: position 3 never starts (``& ~mask[:, :-1]`` is read while only column 0 is set).
    """
    n_positions = len(mask)
    if n_positions > 1:
        mask[1] = True
    if mode in ("monotonic", "dual") and n_positions > 2:
        mask[2] = True
    if mode == "dual" and n_positions > 3:
        mask[3] = False
    return mask


def blt_tokens(data: np.ndarray, add_bos: bool, add_eos: bool) -> np.ndarray:
    """Bytes as BLT token ids: optional BOS (1), each byte ``b`` as ``b + 4``, optional EOS (2)."""
    tokens = np.empty(len(data) + add_bos + add_eos, dtype=np.int16)
    if add_bos:
        tokens[0] = BOS_ID
    if add_eos:
        tokens[-1] = EOS_ID
    tokens[int(add_bos) : len(tokens) - int(add_eos)] = data.astype(np.int16) + TOKEN_OFFSET
    return tokens


def space_start_mask(tokens: np.ndarray, n_positions: int, blt_compat: bool) -> np.ndarray:
    """Space patching: ``p >= 1`` starts iff token ``p-1`` ends a patch.

    A byte ends a patch iff it is space-like (not an ASCII letter, digit or UTF-8 continuation
    byte; UTF-8 lead bytes are space-like) and the token before it is not: only the first of a
    run ends one. Special tokens (ids < 4: BOS, EOS) always end a patch.

    ``blt_compat`` keeps BLT's quirk that special tokens also count as space-like when looking
    back, so a space-like byte right after BOS does not end a patch (blt.md 1.9).
    """
    tokens = np.asarray(tokens)
    special = tokens < TOKEN_OFFSET
    like = SPACE_LIKE[np.clip(tokens - TOKEN_OFFSET, 0, 255)]
    like[special] = blt_compat
    ends = like.copy()
    ends[1:] &= ~like[:-1]
    ends |= special
    mask = _empty_mask(n_positions)
    if n_positions > 1:
        mask[1:] = ends[: n_positions - 1]
    return mask


def static_lengths(n_positions: int, patch_size: int) -> np.ndarray:
    """Fixed size: ``ceil(N / patch_size)`` patches of ``patch_size``, the remainder last."""
    count = -(-n_positions // patch_size)
    lengths = np.full(count, patch_size, dtype=np.int64)
    if n_positions % patch_size:
        lengths[-1] = n_positions % patch_size
    return lengths


def byte_lengths(n_positions: int) -> np.ndarray:
    """Every position is a patch of its own."""
    return np.ones(n_positions, dtype=np.int64)


@lazy_njit(cache=True)
def greedy_starts(H: np.ndarray, threshold: float, n_positions: int, first: int) -> np.ndarray:
    """Entropy budget: a patch holds at most ``threshold`` nats of uncertainty after its first byte.

    With the current patch starting at ``s``, position ``p > s`` starts a new patch iff adding
    the uncertainty about ``p``, ``H[p-1]``, would bring ``sum(H[s : p]) > threshold``. A kept
    patch ``[s, e)`` therefore has ``sum(H[s : e-1]) <= threshold``, and a single
    ``H[p-1] > threshold`` always starts a patch at ``p``, as in ``entropy`` mode.

    Positions ``0..first`` all start (``first = 1`` puts BOS in a patch of its own).
    The sum is kept in float64 whatever the dtype of ``H``.
    """
    starts = np.empty(max(n_positions, 1), dtype=np.int64)
    count = 0
    for p in range(min(first + 1, n_positions)):
        starts[count] = p
        count += 1
    spent = 0.0
    for p in range(first + 1, n_positions):
        spent += float(H[p - 1])  # float64 even for float32 H, compiled or not
        if spent > threshold:
            starts[count] = p
            count += 1
            spent = 0.0
    return starts[:count]
