"""Streamed patching equals one Patcher call, chunk boundaries included; compiled line
formatting equals Python's; the statistics equal NumPy's; `patch` streams a static cut."""

from __future__ import annotations

import numpy as np
import pytest

import engine.patching.stream as stream
from engine.cli import main
from engine.patching import PatchConfig, Patcher
from engine.patching.stream import StreamStats, format_rows, stream_patches, streamable


@pytest.mark.parametrize("settings", [
    dict(mode="static", patch_size=4), dict(mode="static", patch_size=3),
    dict(mode="static", patch_size=7, max_patch_length=3),
    dict(mode="static", patch_size=5, min_patch_length=4), dict(mode="byte"),
])
@pytest.mark.parametrize("n", [1, 10, 29, 64, 65])
def test_chunks_cut_as_one_patcher_call(monkeypatch, settings, n):
    monkeypatch.setattr(stream, "CHUNK_PATCHES", 3)  # many chunks, boundaries everywhere
    config = PatchConfig(**settings)
    assert streamable(config)
    index, begin, end = Patcher(config).patch(np.zeros(n, np.uint8)).byte_intervals()
    parts = list(stream_patches(config, n))
    assert len(parts) > 1 or n <= 21
    for got, want in zip((np.concatenate(c) for c in zip(*parts, strict=True)),
                         (index, begin, end), strict=True):
        np.testing.assert_array_equal(got, want)


def test_configs_whose_cut_could_depend_on_chunking_are_not_streamed():
    assert not streamable(PatchConfig(mode="static", patch_size=2, min_patch_length=3))
    assert not streamable(PatchConfig(mode="static", add_bos=True))
    assert not streamable(PatchConfig(mode="entropy"))


def test_compiled_lines_equal_pythons():
    rng = np.random.default_rng(0)
    cols = rng.integers(-10**12, 10**12, (4, 500))
    cols[:, :3] = [[0, 9, 10], [-1, 99, 100], [5, -9, 1], [10**15, 0, -100]]
    want = "".join(f"chrX\t{a}\t{b}\t{c}\t{d}\t.\n" for a, b, c, d in cols.T.tolist())
    assert format_rows(b"chrX\t", cols, b"\t.") == want.encode()
    assert format_rows(b"x", np.zeros((2, 0), np.int64), b"") == b""


def test_the_statistics_are_numpys():
    rng = np.random.default_rng(1)
    for size in (1, 2, 7, 100):
        lengths = rng.integers(1, 9, size)
        stats = StreamStats()
        stats.add(lengths[: size // 2])
        stats.add(lengths[size // 2:])
        assert stats.count == size and stats.n_bytes == lengths.sum()
        assert stats.median_length == np.median(lengths)
        assert stats.max_length == lengths.max()


def test_patch_static_streams_the_same_bed(tmp_path, capsys):
    seq = "ACGT" * 2500 + "AC"
    fasta = tmp_path / "s.fa"
    fasta.write_text(">s\n" + "\n".join(seq[i:i + 60] for i in range(0, len(seq), 60)) + "\n")
    out = tmp_path / "p.bed"
    assert main(["patch", str(fasta), "--mode", "static", "--patch-size", "3", "--region",
                 "5-9000", "--out", str(out)]) == 0
    lines = out.read_text().splitlines()
    assert lines[0].startswith("track name=")
    starts = list(range(5, 9000, 3))
    want = [f"s\t{a}\t{min(a + 3, 9000)}\t{i}\t0\t." for i, a in enumerate(starts)]
    assert lines[1:] == want
    said = capsys.readouterr().out
    assert f"{len(starts)} patches" in said and "median 3" in said and "max 3" in said
