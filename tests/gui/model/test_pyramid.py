"""The min/mean/max pyramid against brute force, incremental updates, and the score buffer."""

from __future__ import annotations

from itertools import pairwise

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gui.model.pyramid import BASE_BIN, BLOCK, FINE_LEVELS, IntervalSet, Pyramid, ScoreBuffer


def brute_force(values: np.ndarray, bin_size: int):
    """min, mean, max of the finite values in each bin (NaN when none), by definition."""
    out = []
    for i in range(0, len(values), bin_size):
        chunk = values[i:i + bin_size]
        known = chunk[~np.isnan(chunk)]
        out.append((known.min(), known.mean(), known.max()) if len(known)
                   else (np.nan, np.nan, np.nan))
    return np.array(out, dtype=np.float64).reshape(-1, 3)


def pyramid_level(p: Pyramid, level: int):
    counts = p.counts[level]
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(counts > 0, p.sums[level] / np.maximum(counts, 1), np.nan)
    return np.stack([p.mins[level], mean, p.maxs[level]], axis=1)


values_strategy = st.integers(1, 700).flatmap(lambda n: st.lists(
    st.one_of(st.floats(0, 6, width=32), st.just(float("nan"))), min_size=n, max_size=n))


@settings(max_examples=60, deadline=None)
@given(values_strategy)
def test_every_level_equals_min_mean_max_by_definition(values):
    x = np.array(values, dtype=np.float32)
    p = Pyramid(len(x))
    p.update(x, 0, len(x))
    for level in range(p.levels):
        expected = brute_force(x, p.bin_size(level))
        np.testing.assert_allclose(pyramid_level(p, level), expected, rtol=1e-5, atol=1e-6)


@settings(max_examples=40, deadline=None)
@given(st.integers(50, 600), st.lists(st.tuples(st.floats(0, 1), st.floats(0, 1)),
                                      min_size=1, max_size=6), st.integers(0, 2**31))
def test_pieces_written_in_any_order_give_the_pyramid_of_the_whole(n, cuts, seed):
    rng = np.random.default_rng(seed)
    x = rng.random(n).astype(np.float32) * 2
    whole = Pyramid(n)
    whole.update(x, 0, n)
    buffer = np.full(n, np.nan, np.float32)
    pieces = Pyramid(n)
    for a, b in cuts:
        lo, hi = sorted((int(a * n), int(b * n)))
        buffer[lo:hi] = x[lo:hi]
        pieces.update(buffer, lo, hi)
    buffer[:] = x  # then everything, in two halves
    pieces.update(buffer, n // 2, n)
    pieces.update(buffer, 0, n // 2)
    for level in range(whole.levels):
        np.testing.assert_allclose(pyramid_level(pieces, level), pyramid_level(whole, level),
                                   rtol=1e-5)


def test_views_read_raw_values_bins_of_them_or_the_level_no_wider_than_a_pixel():
    n = 1 << 16
    buffer = ScoreBuffer("r", n)
    x = np.arange(n, dtype=np.float32)
    buffer.write(0, entropy=x, surprisal=x)
    raw = buffer.window("entropy", 100, 600, 1000)  # 0.5 values per pixel
    assert raw.level is None and raw.bin == 1 and raw.mean.tolist() == list(range(100, 600))
    binned = buffer.window("entropy", 0, 5000, 1000)  # 5 per pixel: bins of 5 raw values
    assert binned.level is None and binned.bin == 5
    assert binned.low[3] == 15 and binned.high[3] == 19 and binned.mean[3] == 17
    coarse = buffer.window("entropy", 0, n, 1000)  # 65.5 values per pixel: bins of 64
    assert coarse.level == 3 and np.diff(coarse.edges)[0] == 64
    assert len(coarse) <= 2 * 1000
    assert coarse.low[1] == 64 and coarse.high[1] == 127 and coarse.mean[1] == pytest.approx(95.5)


def dense(n: int, pieces: list[tuple[int, np.ndarray]]) -> np.ndarray:
    x = np.full(n, np.nan, np.float32)
    for start, piece in pieces:
        x[start:start + len(piece)] = piece
    return x


def test_a_buffer_over_many_blocks_draws_every_level_as_the_dense_values_would():
    n = 3 * BLOCK + 1234  # four blocks, the last one short
    rng = np.random.default_rng(5)
    pieces = [(BLOCK - 100, rng.random(300).astype(np.float32)),  # across a block edge
              (2 * BLOCK + 7, rng.random(BLOCK).astype(np.float32)),  # into the short block
              (10, rng.random(50).astype(np.float32))]
    buffer = ScoreBuffer("r", n)
    for start, piece in pieces:
        buffer.write(start, entropy=piece, surprisal=piece)
    x = dense(n, pieces)
    assert np.array_equal(buffer.values("entropy"), x, equal_nan=True)
    seen_levels = set()
    for per_px in (1, 3, 8, 40, 300, 5000, 2 * BLOCK, 8 * BLOCK):
        x0 = 777
        width = max(2, min(64, (n - x0) // per_px))
        x1 = min(n, x0 + per_px * width)
        win = buffer.window("entropy", x0, x1, width)
        seen_levels.add(win.level)
        edges = win.edges.astype(int)
        expected = np.array([brute_force(x[a:b], b - a)[0] for a, b in pairwise(edges)])
        np.testing.assert_allclose(np.stack([win.low, win.mean, win.high], axis=1), expected,
                                   rtol=1e-5, atol=1e-6)
    assert {None, 0} <= seen_levels and max(seen_levels - {None}) >= FINE_LEVELS  # and coarse


def test_a_chromosome_sized_buffer_holds_only_the_blocks_written():
    n = 250_000_000
    buffer = ScoreBuffer("chr", n)
    piece = np.linspace(0, 2, 5000, dtype=np.float32)
    buffer.write(100_000_000, entropy=piece, surprisal=piece)
    assert buffer.nbytes() < 5 * 2**20  # a dense float32 record alone would be 1 GB a signal
    assert buffer.value_at("entropy", 100_004_999) == pytest.approx(2)
    assert np.isnan(buffer.value_at("entropy", 99_999_999))
    whole = buffer.window("entropy", 0, n, 1000)  # zoomed out: the coarse levels
    assert np.nanmax(whole.high) == pytest.approx(2) and np.isnan(whole.mean).sum() >= 998
    assert buffer.global_max("entropy") == pytest.approx(2)


def test_dropping_far_blocks_keeps_their_summary_for_zoomed_out_views():
    n = 10 * BLOCK
    buffer = ScoreBuffer("r", n)
    for i in range(10):
        buffer.write(i * BLOCK, entropy=np.full(BLOCK, i, np.float32),
                     surprisal=np.full(BLOCK, i, np.float32))
    assert buffer.drop_far_from(BLOCK // 2, keep_blocks=3) == 7
    assert buffer.known.as_list() == [(0, 3 * BLOCK)]
    assert np.isnan(buffer.value_at("entropy", 9 * BLOCK)) and buffer.value_at("entropy", 5) == 0
    whole = buffer.window("entropy", 0, n, 10)  # one bin a block: the summaries, all ten
    assert whole.mean.tolist() == list(range(10))
    assert np.isnan(buffer.window("entropy", 9 * BLOCK, 9 * BLOCK + 100, 100).mean).all()


@given(st.lists(st.tuples(st.booleans(), st.integers(0, 200), st.integers(0, 60)), max_size=30))
def test_interval_set_holds_what_was_added_less_what_was_removed(steps):
    s, covered = IntervalSet(), np.zeros(300, bool)
    for add, start, width in steps:
        (s.add if add else s.remove)(start, start + width)
        covered[start:start + width] = add
    mask = np.zeros(300, bool)
    for a, b in s.as_list():
        mask[a:b] = True
    assert (mask == covered).all()
    assert all(b < c for (_, b), (c, _) in zip(s.as_list(), s.as_list()[1:], strict=False))


def test_score_buffer_knows_which_stretches_are_filled():
    buffer = ScoreBuffer("r", 100)
    buffer.write(10, entropy=np.ones(20, np.float32), surprisal=np.ones(20, np.float32))
    buffer.write(50, entropy=np.ones(10, np.float32), surprisal=np.ones(10, np.float32))
    assert buffer.known.as_list() == [(10, 30), (50, 60)]
    assert buffer.span_around(15) == (10, 30)
    assert buffer.span_around(45) == (50, 60)  # nearest
    assert not buffer.complete
    buffer.write(0, entropy=np.zeros(100, np.float32), surprisal=np.zeros(100, np.float32))
    assert buffer.complete and buffer.known_bases() == 100


@given(st.lists(st.tuples(st.integers(0, 200), st.integers(0, 60)), max_size=30))
def test_interval_set_holds_exactly_the_union_of_what_was_added(pieces):
    s, covered = IntervalSet(), np.zeros(300, bool)
    for start, width in pieces:
        s.add(start, start + width)
        covered[start:start + width] = True
    mask = np.zeros(300, bool)
    for a, b in s.as_list():
        mask[a:b] = True
    assert (mask == covered).all()
    assert all(b < c for (_, b), (c, _) in zip(s.as_list(), s.as_list()[1:], strict=False))


def test_base_bin_is_a_power_of_two():
    assert BASE_BIN & (BASE_BIN - 1) == 0
