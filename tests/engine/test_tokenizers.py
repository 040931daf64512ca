"""Byte, nucleotide and k-mer tokenizers: known ids, round trips, errors."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.errors import InputError
from engine.io.records import MemorySource, Record
from engine.tokenizers import (
    ByteTokenizer,
    KmerTokenizer,
    KmerTokenizerConfig,
    NucleotideTokenizer,
    NucleotideTokenizerConfig,
    encode_record,
)

IUPAC = "ACGTNRYSWKMBDHV-"
acgt_text = st.text("ACGTacgt", max_size=200)

# -- bytes --------------------------------------------------------------------------------------


def test_byte_ids_are_byte_values_with_specials_above():
    tok = ByteTokenizer()
    assert tok.encode(b"A\x00\xff").tolist() == [65, 0, 255]
    assert tok.encode(b"hi", add_bos=True, add_eos=True).tolist() == [257, 104, 105, 258]
    assert (tok.PAD, tok.BOS, tok.EOS, tok.vocab_size) == (256, 257, 258, 259)


def test_byte_encode_returns_int64():
    assert ByteTokenizer().encode(b"abc").dtype == np.int64


def test_byte_config_sets_default_specials():
    tok = ByteTokenizer(add_bos=True)
    assert tok.encode(b"a").tolist() == [257, 97]
    assert tok.encode(b"a", add_bos=False).tolist() == [97]


@given(data=st.binary(max_size=300), bos=st.booleans(), eos=st.booleans())
def test_byte_round_trip(data, bos, eos):
    tok = ByteTokenizer()
    ids = tok.encode(data, add_bos=bos, add_eos=eos)
    assert len(ids) == len(data) + bos + eos
    assert tok.decode(ids) == data


def test_byte_decode_drops_padding():
    assert ByteTokenizer().decode(np.array([257, 72, 256, 256, 73, 258])) == b"HI"


def test_byte_decode_rejects_ids_outside_the_vocab():
    with pytest.raises(ValueError, match="id 259 at position 1"):
        ByteTokenizer().decode(np.array([1, 259]))


def test_blt_ids_shift_bytes_by_four():
    tok = ByteTokenizer()
    ids = tok.encode(b"A\x00", add_bos=True, add_eos=True)
    # BLT: BOS 1, byte b -> b + 4, EOS 2; padding is BLT's PAD_ID -1.
    assert tok.to_blt_ids(ids).tolist() == [1, 69, 4, 2]
    assert tok.to_blt_ids(np.array([256])).tolist() == [-1]
    assert tok.to_blt_ids(np.array([256]), pad_id=0).tolist() == [0]


@given(data=st.binary(max_size=100), pad=st.integers(0, 5))
def test_blt_ids_round_trip(data, pad):
    tok = ByteTokenizer()
    ids = np.concatenate([tok.encode(data, add_bos=True, add_eos=True), np.full(pad, tok.PAD)])
    assert tok.from_blt_ids(tok.to_blt_ids(ids)).tolist() == ids.tolist()


@pytest.mark.parametrize("blt_id", [0, 3, 260])
def test_blt_ids_without_counterpart_raise(blt_id):
    with pytest.raises(ValueError, match="no byte-tokenizer counterpart"):
        ByteTokenizer().from_blt_ids(np.array([5, blt_id]))


# -- single nucleotides -------------------------------------------------------------------------


def test_nucleotide_ids_follow_the_iupac_order():
    tok = NucleotideTokenizer()
    assert tok.encode(b"ACGTN-").tolist() == [0, 1, 2, 3, 4, 15]
    assert tok.encode(b"acgtn").tolist() == [0, 1, 2, 3, 4]
    assert (tok.PAD, tok.BOS, tok.EOS, tok.vocab_size) == (16, 17, 18, 19)


@given(text=st.text(IUPAC + IUPAC.lower(), max_size=300), bos=st.booleans(), eos=st.booleans())
def test_nucleotide_round_trip_upper_cases(text, bos, eos):
    tok = NucleotideTokenizer()
    ids = tok.encode(text.encode(), add_bos=bos, add_eos=eos)
    assert tok.decode(ids) == text.upper().encode()


@given(text=st.text("ACGUNacgun", max_size=200))
def test_rna_round_trip_uses_u(text):
    tok = NucleotideTokenizer.from_config(NucleotideTokenizerConfig(rna=True))
    assert tok.decode(tok.encode(text.encode())) == text.upper().encode()


@given(
    text=st.text(IUPAC, max_size=100),
    bad=st.sampled_from(b"EFIJLOPQXZ*.U0 \n\xff"),
    where=st.integers(0, 100),
)
def test_unknown_byte_error_names_its_offset(text, bad, where):
    where = min(where, len(text))
    data = text.encode()[:where] + bytes([bad]) + text.encode()[where:]
    with pytest.raises(InputError) as info:
        NucleotideTokenizer().encode(data)
    assert info.value.offset == where
    assert str(info.value).startswith(f"byte {where}:")


def test_rna_tokenizer_rejects_t():
    with pytest.raises(InputError, match="not a RNA code"):
        NucleotideTokenizer(rna=True).encode(b"ACGT")


# -- k-mers -------------------------------------------------------------------------------------


def kmer_value(kmer: str) -> int:
    """Independent reference: the k-mer as a base-4 numeral, A=0 C=1 G=2 T=3."""
    return int(kmer.upper().translate(str.maketrans("ACGT", "0123")), 4)


def test_kmer_ids_are_base_four_numbers():
    tok = KmerTokenizer(3, 3)
    assert tok.encode(b"AAAACGTTT").tolist() == [0, 6, 63]  # ACG = 0*16 + 1*4 + 2
    assert tok.vocab_size == 4**3 + 4


def test_kmer_window_with_other_bytes_is_unk():
    tok = KmerTokenizer(3, 1)
    assert tok.encode(b"ACNGT").tolist() == [tok.UNK, tok.UNK, tok.UNK]
    assert tok.encode(b"acgNacg").tolist() == [6, tok.UNK, tok.UNK, tok.UNK, 6]


def test_kmer_specials_come_after_unk():
    tok = KmerTokenizer(2, 2)
    assert (tok.UNK, tok.PAD, tok.BOS, tok.EOS) == (16, 17, 18, 19)
    assert tok.encode(b"ACGT", add_bos=True, add_eos=True).tolist() == [18, 1, 11, 19]


@given(text=acgt_text, k=st.integers(1, 8), stride=st.integers(1, 10))
def test_kmer_ids_match_a_reference_per_window(text, k, stride):
    tok = KmerTokenizer(k, stride)
    starts = range(0, len(text) - k + 1, stride)
    assert tok.encode(text.encode()).tolist() == [kmer_value(text[s : s + k]) for s in starts]
    assert tok.n_tokens(len(text)) == len(starts)


@given(text=acgt_text, k=st.integers(1, 8), data=st.data())
def test_kmer_round_trip_restores_the_covered_prefix(text, k, data):
    stride = data.draw(st.integers(1, k))
    tok = KmerTokenizer(k, stride)
    n_tokens = len(range(0, len(text) - k + 1, stride))
    covered = (n_tokens - 1) * stride + k if n_tokens else 0
    assert tok.covered_length(len(text)) == covered
    assert tok.decode(tok.encode(text.encode(), add_bos=True)) == text[:covered].upper().encode()


def test_kmer_rna_uses_u():
    tok = KmerTokenizer(2, 1, rna=True)
    assert tok.encode(b"GU").tolist() == [2 * 4 + 3]
    assert tok.decode(tok.encode(b"ACGU")) == b"ACGU"
    assert tok.encode(b"GT").tolist() == [tok.UNK]


def test_kmer_unk_decodes_to_n():
    tok = KmerTokenizer(2, 2)
    assert tok.decode(tok.encode(b"ACNTGG")) == b"ACNNGG"


def test_kmer_decode_with_stride_above_k_raises():
    tok = KmerTokenizer(2, 3)
    ids = tok.encode(b"ACGTACGT")
    assert ids.tolist() == [kmer_value("AC"), kmer_value("TA"), kmer_value("GT")]
    with pytest.raises(ValueError, match="stride 3 > k 2"):
        tok.decode(ids)


def test_kmer_stride_defaults_to_k():
    assert KmerTokenizer(4).config == KmerTokenizerConfig(k=4, stride=4)


@pytest.mark.parametrize(("k", "stride"), [(0, 1), (32, 1), (3, 0)])
def test_kmer_config_out_of_range_is_an_input_error(k, stride):
    with pytest.raises(InputError):
        KmerTokenizerConfig(k=k, stride=stride)


def test_kmer_from_config_keeps_every_field():
    config = KmerTokenizerConfig(k=5, stride=2, rna=True, add_bos=True, add_eos=False)
    assert KmerTokenizer.from_config(config).config == config


def test_kmer_large_k_does_not_overflow():
    tok = KmerTokenizer(31, 1)
    assert tok.encode(b"T" * 31).tolist() == [4**31 - 1]
    assert tok.decode(tok.encode(b"GATTACA" * 5)) == b"GATTACA" * 5


# -- records ------------------------------------------------------------------------------------


def test_encode_record_slices_and_shifts_error_offsets():
    record = Record("chr1", 10, MemorySource(b"ACGTAXGTAC"))
    tok = NucleotideTokenizer()
    assert encode_record(tok, record, 0, 4).tolist() == [0, 1, 2, 3]
    with pytest.raises(InputError, match="record 'chr1'") as info:
        encode_record(tok, record, 2, 8)
    assert info.value.offset == 5  # the X, counted in the record
