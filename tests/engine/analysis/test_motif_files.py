"""MEME minimal motif files and seqlet BED files: round trips, hand-written input, and errors
that name the file and the line."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from engine.analysis.motif import Motif, Seqlet
from engine.analysis.motif_files import PROTEIN, read_meme, write_meme, write_seqlets_bed
from engine.errors import BytescopeError, FormatError, InputError

HAND_WRITTEN = """\
MEME version 5

ALPHABET= ACGT

strands: + -

Background letter frequencies (from uniform background):
A 0.30000 C 0.20000 G 0.20000 T 0.30000

MOTIF MA0035.5 GATA1
letter-probability matrix: alength= 4 w= 3 nsites= 20 E= 0
 0.100000  0.200000  0.300000  0.400000
 1.000000  0.000000  0.000000  0.000000
 0.25 0.25 0.25 0.25
URL http://jaspar.genereg.net/matrix/MA0035.5

MOTIF lonely
log-odds matrix: alength= 4 w= 2
 1.0 -1.0 -1.0 -1.0
 -1.0 1.0 -1.0 -1.0
letter-probability matrix: alength= 4
0.0 0.0 0.0 1.0
0.5 0.5 0.0 0.0

"""


def write(tmp_path: Path, text: str, name: str = "m.meme") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def random_ppm(rng: np.random.Generator, width: int, size: int) -> np.ndarray:
    return rng.dirichlet(np.full(size, 0.5), width)


def error_of(tmp_path: Path, text: str) -> BytescopeError:
    with pytest.raises(FormatError) as info:
        read_meme(write(tmp_path, text))
    return info.value


def test_hand_written_file_gives_its_motifs_in_order(tmp_path):
    motifs = read_meme(write(tmp_path, HAND_WRITTEN, "jaspar.meme"))
    assert [(m.identifier, m.name) for m in motifs] == [("MA0035.5", "GATA1"), ("", "lonely")]
    assert all(m.alphabet == b"ACGT" and m.source == "jaspar.meme" for m in motifs)
    np.testing.assert_allclose(motifs[0].ppm, [[0.1, 0.2, 0.3, 0.4], [1, 0, 0, 0],
                                               [0.25] * 4])
    # a matrix without w= ends at the blank line; the log-odds section is skipped
    np.testing.assert_allclose(motifs[1].ppm, [[0, 0, 0, 1], [0.5, 0.5, 0, 0]])
    assert motifs[0].consensus() == "TAA"


def test_round_trip_keeps_names_ids_and_probabilities(tmp_path):
    rng = np.random.default_rng(0)
    motifs = [Motif("GATA1", b"ACGT", random_ppm(rng, 8, 4), identifier="MA0035.5"),
              Motif("motif_2", b"ACGT", random_ppm(rng, 12, 4),
                    instances=[Seqlet(0, 3, 15, 1.0)] * 7)]
    path = tmp_path / "out.meme"
    write_meme(path, motifs)
    back = read_meme(path)
    assert [(m.name, m.identifier) for m in back] == [("GATA1", "MA0035.5"), ("motif_2", "")]
    for a, b in zip(motifs, back, strict=True):
        np.testing.assert_allclose(b.ppm, a.ppm, atol=2e-6)  # 6 decimals, renormalised
    text = path.read_text()
    assert "strands: + -" in text and "nsites= 7" in text
    assert "letter-probability matrix: alength= 4 w= 8 E= 0" in text  # no instances


@pytest.mark.parametrize("alphabet", [b"ACGU", PROTEIN, b"abcxyz"])
def test_rna_protein_and_letter_alphabets_round_trip_on_one_strand(tmp_path, alphabet):
    rng = np.random.default_rng(1)
    motif = Motif("m", alphabet, random_ppm(rng, 6, len(alphabet)))
    path = tmp_path / "x.meme"
    write_meme(path, [motif], background=np.arange(1, len(alphabet) + 1, dtype=float))
    text = path.read_text()
    assert f"ALPHABET= {alphabet.decode()}" in text and "strands: +\n" in text
    (back,) = read_meme(path)
    assert back.alphabet == alphabet
    np.testing.assert_allclose(back.ppm, motif.ppm, atol=2e-6)


def test_without_alphabet_line_alength_chooses_dna_or_protein(tmp_path):
    rows = "\n".join(" ".join(["0.05"] * 20) for _ in range(2))
    text = ("MEME version 4\n\nMOTIF p\nletter-probability matrix: alength= 20 w= 2\n"
            f"{rows}\nMOTIF d\nletter-probability matrix: alength= 4 w= 1\n1 0 0 0\n")
    protein, dna = read_meme(write(tmp_path, text))
    assert protein.alphabet == PROTEIN and dna.alphabet == b"ACGT"


def test_alphabet_block_gives_its_core_symbols_in_order(tmp_path):
    text = ('MEME version 5\n\nALPHABET "RNA" RNA-LIKE\nA "Adenine" CC0000\n'
            'C "Cytosine" 0000CC\nG "Guanine" FFB300\nU "Uracil" 008000\n'
            'N "Any base" = ACGU\nEND ALPHABET\n\nMOTIF r\n'
            "letter-probability matrix: alength= 4 w= 1\n0 0 0 1\n")
    (motif,) = read_meme(write(tmp_path, text))
    assert motif.alphabet == b"ACGU" and motif.consensus() == "U"


def test_rows_with_three_decimals_are_renormalised(tmp_path):
    text = ("MEME version 4\nALPHABET= ACGT\nMOTIF a\n"
            "letter-probability matrix: alength= 4 w= 1\n0.333 0.333 0.333 0.000\n")
    (motif,) = read_meme(write(tmp_path, text))
    np.testing.assert_allclose(motif.ppm.sum(axis=1), 1.0)


@pytest.mark.parametrize(("body", "line", "words"), [
    ("MOTIF a\nletter-probability matrix: alength= 4 w= 2\n0.25 0.25 0.25 0.25\n"
     "0.2 x 0.3 0.3\n", 7, "'x' is not a number"),
    ("MOTIF a\nletter-probability matrix: alength= 4 w= 1\n0.5 0.5\n", 6, "row has 2 values"),
    ("MOTIF a\nletter-probability matrix: alength= 4 w= 1\n0.5 0.5 0.5 0.5\n", 6, "sum to 2"),
    ("MOTIF a\nletter-probability matrix: alength= 4 w= 3\n1 0 0 0\nMOTIF b\n", 7,
     "row 2 of 3"),
    ("MOTIF a\nMOTIF b\nletter-probability matrix: alength= 4 w= 1\n1 0 0 0\n", 4,
     "'a' has no letter-probability matrix"),
    ("MOTIF a\nletter-probability matrix: alength= 5 w= 1\n1 0 0 0 0\n", 5, "alength= 5"),
    ("MOTIF a\nletter-probability matrix: alength= 4 w= 1\n1 0 0 -0.5\n", 6, "-0.5"),
    ("letter-probability matrix: alength= 4 w= 1\n1 0 0 0\n", 4, "outside a MOTIF"),
])
def test_bad_input_names_file_and_line(tmp_path, body, line, words):
    error = error_of(tmp_path, "MEME version 4\n\nALPHABET= ACGT\n" + body)
    assert error.line == line
    assert words in error.message
    assert str(error).startswith(f"{tmp_path / 'm.meme'}:{line}: ")


def test_a_file_that_is_not_meme_is_refused(tmp_path):
    error = error_of(tmp_path, ">seq\nACGT\n")
    assert "MEME version" in error.message and error.path == str(tmp_path / "m.meme")


def test_missing_file_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        read_meme(tmp_path / "absent.meme")


def test_one_file_holds_one_alphabet(tmp_path):
    motifs = [Motif("d", b"ACGT", np.full((2, 4), 0.25)),
              Motif("r", b"ACGU", np.full((2, 4), 0.25))]
    with pytest.raises(InputError, match="one alphabet"):
        write_meme(tmp_path / "x.meme", motifs)
    assert not (tmp_path / "x.meme").exists()


def test_byte_alphabets_cannot_be_written(tmp_path):
    with pytest.raises(InputError, match="letters only"):
        write_meme(tmp_path / "x.meme", [Motif("t", b"a b", np.full((1, 3), 1 / 3))])


def test_a_failed_write_keeps_the_old_file(tmp_path):
    path = tmp_path / "x.meme"
    path.write_text("old")
    bad = Motif("bad", b"ACGT", np.array([[0.5, 0.5, np.nan, 0.0]]))
    with pytest.raises(ValueError):
        write_meme(path, [Motif("ok", b"ACGT", np.full((1, 4), 0.25)), bad])
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["x.meme"]


def test_seqlets_bed_is_sorted_bed6(tmp_path):
    path = tmp_path / "s.bed"
    write_seqlets_bed(path, [("chr2", 5, 9, "m1", -0.25, "-"), ("chr1", 30, 40, "m0", 1.5, "+"),
                             ("chr1", 3, 8, "seqlet", 0.125, "+")])
    assert path.read_text().splitlines() == [
        "chr1\t3\t8\tseqlet\t0.125\t+", "chr1\t30\t40\tm0\t1.5\t+", "chr2\t5\t9\tm1\t-0.25\t-"]


def test_seqlets_bed_refuses_a_missing_folder(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        write_seqlets_bed(tmp_path / "no" / "s.bed", [("chr1", 0, 1, "m", 0.0, "+")])
