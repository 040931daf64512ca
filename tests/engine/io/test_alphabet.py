"""Alphabet detection on real and synthetic data."""

from __future__ import annotations

import numpy as np
import pytest

from engine.errors import InputError
from engine.io import detect_alphabet, open_sequences


@pytest.mark.parametrize(
    ("sample", "name"),
    [
        (b"ACGTTGCAACGTNNNNacgtRY" * 20, "dna"),
        (b"ACGUUGCAACGUNNacgu" * 20, "rna"),
        (b"MKVLAAGIVGLLLAQPEWRSTHYFDE" * 10, "protein"),
        (b"The quick brown fox, 42 times!\n" * 10, "text"),
        ("naïve café – ünïcode".encode() * 10, "text"),
    ],
)
def test_detects_each_alphabet(sample, name):
    guess = detect_alphabet(sample)
    assert guess.name == name
    assert 0.5 < guess.confidence <= 1.0


def test_random_bytes_are_bytes():
    data = np.random.default_rng(0).integers(0, 256, 10_000, dtype=np.uint8).tobytes()
    assert detect_alphabet(data).name == "bytes"


def test_short_samples_have_low_confidence():
    assert detect_alphabet(b"ACGT").confidence < detect_alphabet(b"ACGT" * 100).confidence


def test_real_files(shared_data):
    with open_sequences(shared_data / "english_gpl3.txt") as sf:
        assert sf.format == "bytes" and sf[0].alphabet == "text"
    with open_sequences(shared_data / "uniprot_2000.fasta.gz") as sf:
        assert sf[0].alphabet == "protein"


def test_override_sets_every_record_with_full_confidence(lambda_path):
    with open_sequences(lambda_path, alphabet="protein") as sf:
        assert sf[0].alphabet_guess.name == "protein"
        assert sf[0].alphabet_guess.confidence == 1.0


def test_unknown_override_is_an_input_error(lambda_path):
    with pytest.raises(InputError, match="unknown alphabet"):
        open_sequences(lambda_path, alphabet="klingon")
