"""The quantizer equations (Q1-Q4, engine/models/quantizers.py) and exact packings."""

from __future__ import annotations

import math

import numpy as np
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.models.quantizers import (
    fake_int8_activations,
    int8_activations,
    int8_rows,
    pack_2bit,
    pack_trits,
    ternary_codes,
    ternary_weight,
    unpack_2bit,
    unpack_trits,
)


def test_absmean_ternary_codes_follow_round_clip_of_w_over_mean_abs():
    w = torch.randn(64, 48, generator=torch.Generator().manual_seed(0)) * 0.05
    codes, gamma = ternary_codes(w)
    x = w.numpy().astype(np.float64)
    g = np.abs(x).mean()
    assert abs(gamma.item() - g) < 1e-6 * g
    expected = np.clip(np.rint(x / g), -1, 1)  # numpy's rint rounds half to even, as torch
    assert np.array_equal(codes.numpy(), expected.astype(np.int8))
    assert set(np.unique(codes.numpy())) <= {-1, 0, 1}


def test_gaussian_weights_split_into_thirds_as_the_normal_distribution_says():
    # |w| / E|w| < 1/2 with E|w| = sqrt(2/pi) for N(0, 1): P(0) = 2 Phi(sqrt(2/pi) / 2) - 1
    w = torch.randn(1_000_000, generator=torch.Generator().manual_seed(1))
    codes, _ = ternary_codes(w)
    zero = (codes == 0).float().mean().item()
    expected = math.erf(math.sqrt(2 / math.pi) / 2 / math.sqrt(2))
    assert abs(zero - expected) < 0.003 and abs(expected - 0.310) < 0.001


def test_per_token_absmax_puts_each_tokens_largest_value_at_127():
    x = torch.randn(3, 5, 16, generator=torch.Generator().manual_seed(2))
    q, s = int8_activations(x)
    assert q.dtype == torch.int8 and s.shape == (3, 5, 1)
    top = x.abs().argmax(dim=-1, keepdim=True)
    assert (q.gather(-1, top).abs() == 127).all()
    assert ((q.float() / s - x).abs() <= 0.5 / s + 1e-6).all()  # rounding error, per token
    assert torch.allclose(fake_int8_activations(x), q.float() / s)


def test_per_row_int8_weights_scale_each_row_to_its_own_largest_value():
    w = torch.randn(8, 32, generator=torch.Generator().manual_seed(3)) * torch.arange(1, 9)[:, None]
    q, scale = int8_rows(w)
    assert (q.abs().amax(dim=1) == 127).all()
    assert torch.allclose(scale, w.abs().amax(dim=1) / 127)
    assert ((q.float() * scale[:, None] - w).abs() <= scale[:, None] / 2 + 1e-6).all()


def test_the_straight_through_estimator_passes_gradients_unchanged():
    w = torch.randn(16, 8, requires_grad=True)
    x = torch.randn(4, 8, requires_grad=True)
    upstream = torch.randn(16, 8)
    (ternary_weight(w) * upstream).sum().backward()
    assert torch.equal(w.grad, upstream)
    (fake_int8_activations(x) * 2).sum().backward()
    assert torch.equal(x.grad, torch.full_like(x, 2.0))
    # forward: the quantized values, not the latent ones
    codes, gamma = ternary_codes(w)
    assert torch.allclose(ternary_weight(w), codes.float() * gamma)


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 300), st.integers(0, 2**31))
def test_packings_round_trip_exactly_at_their_sizes(n, seed):
    codes = torch.from_numpy(np.random.default_rng(seed).integers(-1, 2, n).astype(np.int8))
    two = pack_2bit(codes)
    assert two.dtype == torch.uint8 and len(two) == -(-n // 4)
    assert torch.equal(unpack_2bit(two, n), codes)
    trits = pack_trits(codes)
    assert trits.dtype == torch.uint8 and len(trits) == -(-n // 5)
    assert int(trits.max()) <= 242 if n else len(trits) == 0
    assert torch.equal(unpack_trits(trits, n), codes)


def test_a_packed_byte_holds_codes_in_the_documented_order():
    codes = torch.tensor([-1, 0, 1, 1, 0], dtype=torch.int8)  # stored as 0, 1, 2, 2, 1
    assert pack_2bit(codes[:4]).tolist() == [0 | 1 << 2 | 2 << 4 | 2 << 6]
    assert pack_trits(codes).tolist() == [0 * 81 + 1 * 27 + 2 * 9 + 2 * 3 + 1]
