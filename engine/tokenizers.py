"""Tokenizers: bytes and records to integer ids for models, and back.

Each tokenizer is a lookup table applied with numpy (no per-byte Python) and round-trips:

    ByteTokenizer        byte b -> b (0..255); PAD 256, BOS 257, EOS 258;      vocab 259
    NucleotideTokenizer  A C G T N R Y S W K M B D H V - -> 0..15 (U for T with rna=True),
                         case-folded; PAD 16, BOS 17, EOS 18;                   vocab 19
    KmerTokenizer        ACGT k-mer -> its base-4 number (A=0 C=1 G=2 T=3, first base most
                         significant), 0..4^k - 1; UNK 4^k, PAD, BOS, EOS after; vocab 4^k + 4

Byte ids equal byte values, so a byte model's ids need no table at all. BLT (Meta's Byte
Latent Transformer, ``bytelatent/tokenizers/constants.py``) instead shifts bytes up by 4:
BOE_ID 0, BOS_ID 1, EOS_ID 2, BPE_ID 3, byte b -> b + 4 (OFFSET), n_words 260, and pads
with PAD_ID -1 (masked out, never embedded). :meth:`ByteTokenizer.to_blt_ids` and
:meth:`ByteTokenizer.from_blt_ids` convert; BOE and BPE have no counterpart here.

The k-mer tokenizer follows the Hyena-GLT / DNABERT style: k-mers taken every ``stride``
bases (``stride == k`` non-overlapping, ``stride < k`` overlapping). Tokens cover the first
``covered_length(n)`` bases; a trailing remainder shorter than a k-mer is not encoded.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from engine.errors import InputError
from engine.io.records import Record

BytesLike = bytes | bytearray | memoryview | np.ndarray


def _as_uint8(data: BytesLike) -> np.ndarray:
    """``data`` as a flat uint8 array (no copy for bytes or uint8 arrays)."""
    if isinstance(data, np.ndarray):
        if data.dtype != np.uint8:
            raise TypeError(f"expected a uint8 array, got {data.dtype}")
        return data.ravel()
    return np.frombuffer(data, dtype=np.uint8)


def _with_specials(ids: np.ndarray, bos: int | None, eos: int | None) -> np.ndarray:
    """``[bos] + ids + [eos]``, each special only when given; int64 (n + specials,)."""
    parts = [np.array([bos], dtype=np.int64)] if bos is not None else []
    parts.append(ids.astype(np.int64, copy=False))
    if eos is not None:
        parts.append(np.array([eos], dtype=np.int64))
    return np.concatenate(parts) if len(parts) > 1 else parts[0]


def _check_ids(ids: np.ndarray, vocab_size: int) -> np.ndarray:
    ids = np.asarray(ids, dtype=np.int64).ravel()
    bad = (ids < 0) | (ids >= vocab_size)
    if bad.any():
        first = int(np.argmax(bad))
        raise ValueError(
            f"id {ids[first]} at position {first} is outside the vocab 0..{vocab_size - 1}"
        )
    return ids


class Tokenizer(Protocol):
    """What every tokenizer offers; ``encode`` -> int64 ids, ``decode`` drops specials."""

    @property
    def vocab_size(self) -> int: ...

    def encode(
        self, data: BytesLike, add_bos: bool | None = None, add_eos: bool | None = None
    ) -> np.ndarray: ...

    def decode(self, ids: np.ndarray) -> bytes: ...


def encode_record(
    tokenizer: Tokenizer,
    record: Record,
    start: int = 0,
    end: int | None = None,
    *,
    add_bos: bool | None = None,
    add_eos: bool | None = None,
) -> np.ndarray:
    """Token ids of ``record[start:end]`` (0-based half-open); errors name the record."""
    data = record.array(start, end)
    try:
        return tokenizer.encode(data, add_bos=add_bos, add_eos=add_eos)
    except InputError as error:
        offset = error.offset + start if error.offset is not None else None
        raise InputError(f"record {record.id!r}: {error.message}", offset=offset) from None


# -- bytes --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ByteTokenizerConfig:
    add_bos: bool = False  # defaults for encode(); its arguments override them
    add_eos: bool = False


BLT_BOE_ID, BLT_BOS_ID, BLT_EOS_ID, BLT_BPE_ID, BLT_PAD_ID, BLT_OFFSET = 0, 1, 2, 3, -1, 4


class ByteTokenizer:
    """Byte b -> id b; specials above the bytes: PAD 256, BOS 257, EOS 258."""

    PAD, BOS, EOS = 256, 257, 258

    def __init__(self, *, add_bos: bool = False, add_eos: bool = False) -> None:
        self.config = ByteTokenizerConfig(add_bos, add_eos)

    @classmethod
    def from_config(cls, config: ByteTokenizerConfig) -> ByteTokenizer:
        return cls(add_bos=config.add_bos, add_eos=config.add_eos)

    @property
    def vocab_size(self) -> int:
        return 259

    def encode(
        self, data: BytesLike, add_bos: bool | None = None, add_eos: bool | None = None
    ) -> np.ndarray:
        """int64 ids (n + specials,); ``add_bos`` / ``add_eos`` default to the config."""
        bos = _pick(add_bos, self.config.add_bos, self.BOS)
        eos = _pick(add_eos, self.config.add_eos, self.EOS)
        return _with_specials(_as_uint8(data), bos, eos)

    def decode(self, ids: np.ndarray) -> bytes:
        """The bytes of ``ids``, specials dropped."""
        ids = _check_ids(ids, self.vocab_size)
        return ids[ids < 256].astype(np.uint8).tobytes()

    def to_blt_ids(self, ids: np.ndarray, *, pad_id: int = BLT_PAD_ID) -> np.ndarray:
        """Our ids in BLT's numbering: byte b -> b + 4, BOS -> 1, EOS -> 2, PAD -> ``pad_id``.

        BLT pads with -1 (masked); pass ``pad_id=BLT_BOE_ID`` where an embeddable id is needed.
        """
        table = np.concatenate([np.arange(256, dtype=np.int64) + BLT_OFFSET, [pad_id, 1, 2]])
        return table[_check_ids(ids, self.vocab_size)]

    def from_blt_ids(self, ids: np.ndarray, *, pad_id: int = BLT_PAD_ID) -> np.ndarray:
        """BLT's ids back to ours; BOE and BPE (unless used as ``pad_id``) raise ValueError."""
        ids = np.asarray(ids, dtype=np.int64).ravel()
        out = ids - BLT_OFFSET  # bytes; specials fixed below
        out[ids == BLT_BOS_ID] = self.BOS
        out[ids == BLT_EOS_ID] = self.EOS
        out[ids == pad_id] = self.PAD
        bad = ((ids < BLT_OFFSET) & (ids != BLT_BOS_ID) & (ids != BLT_EOS_ID) & (ids != pad_id)) | (
            ids >= BLT_OFFSET + 256
        )
        if bad.any():
            first = int(np.argmax(bad))
            raise ValueError(
                f"BLT id {ids[first]} at position {first} has no byte-tokenizer counterpart "
                "(BOE 0 and BPE 3 have none; bytes are 4..259)"
            )
        return out


def _pick(flag: bool | None, default: bool, special: int) -> int | None:
    return special if (default if flag is None else flag) else None


# -- single nucleotides -------------------------------------------------------------------------

# IUPAC nucleotide codes (NC-IUB 1984) and the alignment gap, in id order.
_DNA_SYMBOLS = b"ACGTNRYSWKMBDHV-"
_RNA_SYMBOLS = b"ACGUNRYSWKMBDHV-"


@dataclass(frozen=True)
class NucleotideTokenizerConfig:
    rna: bool = False  # U instead of T
    add_bos: bool = False
    add_eos: bool = False


def _encode_table(symbols: bytes) -> np.ndarray:
    """(256,) int64: id of each byte (either case), -1 for bytes outside ``symbols``."""
    table = np.full(256, -1, dtype=np.int64)
    codes = np.frombuffer(symbols, dtype=np.uint8)
    table[np.frombuffer(symbols.lower(), dtype=np.uint8)] = np.arange(len(symbols))
    table[codes] = np.arange(len(symbols))
    return table


class NucleotideTokenizer:
    """One id per nucleotide code (case-folded); unknown bytes are an :class:`InputError`."""

    def __init__(self, *, rna: bool = False, add_bos: bool = False, add_eos: bool = False) -> None:
        self.config = NucleotideTokenizerConfig(rna, add_bos, add_eos)
        self.symbols = _RNA_SYMBOLS if rna else _DNA_SYMBOLS
        self._table = _encode_table(self.symbols)
        n = len(self.symbols)
        self.PAD, self.BOS, self.EOS = n, n + 1, n + 2

    @classmethod
    def from_config(cls, config: NucleotideTokenizerConfig) -> NucleotideTokenizer:
        return cls(rna=config.rna, add_bos=config.add_bos, add_eos=config.add_eos)

    @property
    def vocab_size(self) -> int:
        return len(self.symbols) + 3

    def encode(
        self, data: BytesLike, add_bos: bool | None = None, add_eos: bool | None = None
    ) -> np.ndarray:
        """int64 ids (n + specials,); raises InputError at the first byte that is no code."""
        raw = _as_uint8(data)
        ids = self._table[raw]
        bad = ids < 0
        if bad.any():
            first = int(np.argmax(bad))
            allowed = self.symbols.decode()
            raise InputError(  # str() prefixes "byte <offset>: "
                f"{bytes(raw[first : first + 1])!r} is not a "
                f"{'RNA' if self.config.rna else 'DNA'} code (allowed: {allowed}, any case)",
                offset=first,
            )
        bos = _pick(add_bos, self.config.add_bos, self.BOS)
        eos = _pick(add_eos, self.config.add_eos, self.EOS)
        return _with_specials(ids, bos, eos)

    def decode(self, ids: np.ndarray) -> bytes:
        """Upper-case codes of ``ids``, specials dropped: ``decode(encode(x)) == x.upper()``."""
        ids = _check_ids(ids, self.vocab_size)
        letters = np.frombuffer(self.symbols, dtype=np.uint8)
        return letters[ids[ids < len(self.symbols)]].tobytes()


# -- k-mers ---------------------------------------------------------------------------------------

# 4^31 + 4 specials still fits int64; larger k would overflow the ids.
MAX_K = 31


@dataclass(frozen=True)
class KmerTokenizerConfig:
    k: int = 6
    stride: int = 6  # == k: non-overlapping; < k: overlapping; > k: gaps (no decode)
    rna: bool = False  # U instead of T
    add_bos: bool = False
    add_eos: bool = False

    def __post_init__(self) -> None:
        if not 1 <= self.k <= MAX_K:
            raise InputError(f"k must be between 1 and {MAX_K}, not {self.k}")
        if self.stride < 1:
            raise InputError(f"stride must be at least 1, not {self.stride}")


class KmerTokenizer:
    """ACGT k-mers every ``stride`` bases as base-4 numbers; k-mers with other bytes are UNK."""

    def __init__(
        self,
        k: int = 6,
        stride: int | None = None,
        *,
        rna: bool = False,
        add_bos: bool = False,
        add_eos: bool = False,
    ) -> None:
        self.config = KmerTokenizerConfig(k, k if stride is None else stride, rna, add_bos, add_eos)
        self.k, self.stride = self.config.k, self.config.stride
        self.letters = b"ACGU" if rna else b"ACGT"
        self._table = _encode_table(self.letters)
        n = 4**self.k
        self.UNK, self.PAD, self.BOS, self.EOS = n, n + 1, n + 2, n + 3

    @classmethod
    def from_config(cls, config: KmerTokenizerConfig) -> KmerTokenizer:
        return cls(
            config.k, config.stride, rna=config.rna, add_bos=config.add_bos, add_eos=config.add_eos
        )

    @property
    def vocab_size(self) -> int:
        return 4**self.k + 4

    def n_tokens(self, n: int) -> int:
        """k-mers in ``n`` bases: ``(n - k) // stride + 1``, or 0 when ``n < k``."""
        return 0 if n < self.k else (n - self.k) // self.stride + 1

    def covered_length(self, n: int) -> int:
        """Bases from the first k-mer's start to the last one's end: ``(t - 1) * stride + k``."""
        t = self.n_tokens(n)
        return 0 if t == 0 else (t - 1) * self.stride + self.k

    def encode(
        self, data: BytesLike, add_bos: bool | None = None, add_eos: bool | None = None
    ) -> np.ndarray:
        """int64 ids (t + specials,): ``id_i = sum_j code[i*stride + j] * 4^(k-1-j)``.

        Built by Horner's rule over the k columns of the strided windows (k vectorised steps,
        O(t) memory); a window with any byte outside ACGT (case-folded) becomes UNK.
        """
        codes = self._table[_as_uint8(data)]  # (n,), -1 for non-ACGT
        t = self.n_tokens(len(codes))
        values = np.zeros(t, dtype=np.int64)
        unknown = np.zeros(t, dtype=bool)
        span = (t - 1) * self.stride + 1 if t else 0  # the slice holding column j of t windows
        for j in range(self.k):
            column = codes[j : j + span : self.stride]  # (t,)
            values = values * 4 + column
            unknown |= column < 0
        values[unknown] = self.UNK
        bos = _pick(add_bos, self.config.add_bos, self.BOS)
        eos = _pick(add_eos, self.config.add_eos, self.EOS)
        return _with_specials(values, bos, eos)

    def decode(self, ids: np.ndarray) -> bytes:
        """The covered bases: first k-mer whole, then the last ``stride`` bases of each next.

        Needs ``stride <= k`` (wider strides skip bases no token holds). UNK k-mers decode to
        N, specials are dropped; ACGT input round-trips to its first ``covered_length`` bases
        upper-cased.
        """
        if self.stride > self.k:
            raise ValueError(
                f"cannot decode with stride {self.stride} > k {self.k}: the bases between "
                "k-mers are in no token"
            )
        ids = _check_ids(ids, self.vocab_size)
        ids = ids[ids <= self.UNK]  # drop PAD/BOS/EOS
        if len(ids) == 0:
            return b""
        powers = 4 ** np.arange(self.k - 1, -1, -1, dtype=np.int64)  # (k,)
        digits = (ids[:, None] // powers) % 4  # (t, k)
        letters = np.frombuffer(self.letters, dtype=np.uint8)[digits]  # (t, k)
        letters[ids == self.UNK] = ord("N")
        tail = letters[1:, self.k - self.stride :].ravel()  # each next k-mer's new bases
        return letters[0].tobytes() + tail.tobytes()
