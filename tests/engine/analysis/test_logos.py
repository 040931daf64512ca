"""Logo heights (Schneider & Stephens) and their SVG and PNG drawings."""

from __future__ import annotations

import re
import sys
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from engine.analysis.logos import CAP_HEIGHT, logo_svg, ppm_logo_heights, write_logo_png
from engine.analysis.motif_db import MissingExtra
from engine.errors import InputError

SVG = "{http://www.w3.org/2000/svg}"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def glyphs(svg: str) -> list[tuple[str, str, float, float]]:
    """(letter, fill, baseline y, vertical scale) of each scaled letter."""
    out = []
    for t in ET.fromstring(svg).iter(f"{SVG}text"):
        match = re.fullmatch(r"translate\(([-\d.]+),([-\d.]+)\) scale\(([-\d.]+),([-\d.]+)\)",
                             t.get("transform", ""))
        if match:
            out.append((t.text, t.get("fill"), float(match[2]), float(match[4])))
    return out


def rgb(colour: str) -> tuple[int, int, int]:
    return tuple(int(colour[i : i + 2], 16) for i in (1, 3, 5))


def test_a_uniform_column_has_no_height():
    assert np.all(ppm_logo_heights(np.full((3, 4), 0.25)) == 0)
    assert np.allclose(ppm_logo_heights(np.full((2, 20), 0.05)), 0)


@pytest.mark.parametrize("size", [4, 20])
def test_a_one_hot_column_is_log2_of_the_alphabet_size(size):
    ppm = np.eye(size)[[1, 0]]
    h = ppm_logo_heights(ppm)
    assert h[0, 1] == pytest.approx(np.log2(size)) and h[1, 0] == pytest.approx(np.log2(size))
    assert np.count_nonzero(h) == 2


def test_heights_of_a_two_letter_column():
    # p = (1/2, 1/2, 0, 0): H = 1 bit, IC = 2 - 1 = 1 bit, each letter 1/2 bit tall
    np.testing.assert_allclose(ppm_logo_heights(np.array([[0.5, 0.5, 0, 0]])),
                               [[0.5, 0.5, 0, 0]])


def test_with_a_background_the_height_is_the_relative_entropy():
    background = np.array([0.4, 0.1, 0.1, 0.4])
    assert np.allclose(ppm_logo_heights(background[None, :], background), 0)
    # a certain C against b_C = 0.1: log2(1 / 0.1) bits
    h = ppm_logo_heights(np.array([[0.0, 1.0, 0.0, 0.0]]), background)
    assert h[0, 1] == pytest.approx(np.log2(10))


def test_svg_is_xml_with_one_glyph_per_letter_and_dna_colours():
    heights = ppm_logo_heights(np.array([[1.0, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0],
                                         [0, 0, 0, 1], [0.25] * 4]))
    svg = logo_svg(heights, b"ACGT", title="one of each <&>")
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    assert "one of each <&>" in [t.text for t in root.iter(f"{SVG}text")]
    drawn = glyphs(svg)
    assert [g[0] for g in drawn] == ["A", "C", "G", "T"]  # the uniform column draws nothing
    colour = {g[0]: rgb(g[1]) for g in drawn}
    assert max(colour["A"]) == colour["A"][1]  # green
    assert max(colour["C"]) == colour["C"][2]  # blue
    r, g, b = colour["G"]
    assert r > b and g > b  # orange
    assert max(colour["T"]) == colour["T"][0]  # red
    assert len({g[3] for g in drawn}) == 1  # equal heights, equal scales


def test_negative_heights_are_drawn_below_the_baseline():
    heights = np.array([[0.8, 0.0, 0.0, -0.5]])  # A up, T down
    drawn = {g[0]: g for g in glyphs(logo_svg(heights, b"ACGT"))}
    cap = 100 * CAP_HEIGHT  # a glyph reaches this far above its baseline before scaling
    _, _, a_foot, a_scale = drawn["A"]
    _, _, t_foot, t_scale = drawn["T"]
    assert t_foot - t_scale * cap == pytest.approx(a_foot, abs=0.02)  # T hangs from A's foot
    assert t_foot > a_foot  # SVG y grows downward: T is below the axis
    assert a_scale / t_scale == pytest.approx(0.8 / 0.5, rel=1e-3)


def test_tallest_letter_is_on_top_of_its_stack():
    drawn = glyphs(logo_svg(np.array([[0.2, 1.0, 0.5, 0.0]]), b"ACGT"))
    assert [g[0] for g in drawn] == ["A", "G", "C"]  # bottom to top


def test_any_byte_alphabet_gives_valid_xml():
    alphabet = bytes(range(256))
    heights = np.random.default_rng(0).random((3, 256)) * 0.01
    ET.fromstring(logo_svg(heights, alphabet, title="bytes"))


def test_png_is_written_and_readable(tmp_path):
    pytest.importorskip("matplotlib", reason='matplotlib (the "motifs" extra) is absent')
    from matplotlib.image import imread

    path = tmp_path / "logo.png"
    heights = np.array([[0.5, -0.2, 1.5, 0.0], [0.0, 2.0, 0.0, 0.0]])
    write_logo_png(path, heights, b"ACGT", title="signed")
    assert path.read_bytes()[:8] == PNG_MAGIC
    image = imread(path)
    assert image.ndim == 3 and image.shape[0] > 50 and image.shape[1] > 50
    assert [p.name for p in tmp_path.iterdir()] == ["logo.png"]  # no temporary left


def test_png_into_a_missing_folder_is_an_input_error(tmp_path):
    pytest.importorskip("matplotlib", reason='matplotlib (the "motifs" extra) is absent')
    with pytest.raises(InputError, match="does not exist"):
        write_logo_png(tmp_path / "no" / "logo.png", np.ones((2, 4)), b"ACGT")


def test_png_without_matplotlib_says_how_to_install_it(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib.backends.backend_agg", None)  # import fails
    with pytest.raises(MissingExtra, match=r'pip install "bytescope\[motifs\]"'):
        write_logo_png(tmp_path / "logo.png", np.ones((2, 4)), b"ACGT")
    assert not (tmp_path / "logo.png").exists()
