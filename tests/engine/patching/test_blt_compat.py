"""``blt_compat`` reproduces BLT's reference patcher: the shipped vectors and documented cases.

The vectors in tests/data/blt_patcher_vectors.json were produced by running BLT's own
``bytelatent/data/patcher.py``; the other expected values are the ones reported in
shared/reference/blt.md as verified by running it.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from engine.patching import BLT_DEFAULT_THRESHOLD, PatchConfig, Patcher, blt_padded_lengths
from tests.conftest import TEST_DATA

VECTORS_PATH = TEST_DATA / "blt_patcher_vectors.json"
VECTORS = json.loads(VECTORS_PATH.read_text(encoding="utf-8"))["cases"]

BOS, EOS, OFFSET = 1, 2, 4


def config_from_blt_args(args: dict, include_next_token: bool, override: float | None):
    """BLT's ``PatcherArgs`` as a bytescope config (mode names differ, options do not)."""
    mode = args["patching_mode"]
    common = dict(
        blt_compat=True,
        include_next_token=include_next_token,
        max_patch_length=args.get("max_patch_length"),
    )
    if mode == "entropy":
        if args.get("monotonicity"):
            mode = "monotonic"
        elif args.get("threshold_add") is not None:
            mode = "dual"
        threshold = override if override is not None else args.get("threshold")
        return PatchConfig(
            mode=mode,
            threshold=BLT_DEFAULT_THRESHOLD if threshold is None else threshold,
            threshold_add=args.get("threshold_add"),
            **common,
        )
    if mode == "static":
        return PatchConfig(mode="static", patch_size=int(args["patch_size"]), **common)
    return PatchConfig(mode=mode, **common)


def bytes_of_blt_tokens(tokens: list[int]) -> tuple[bytes, bool, bool]:
    """BLT token ids back to bytes plus whether BOS/EOS were there."""
    add_bos = bool(tokens) and tokens[0] == BOS
    add_eos = len(tokens) > add_bos and tokens[-1] == EOS
    body = tokens[int(add_bos) : len(tokens) - int(add_eos)]
    return bytes(t - OFFSET for t in body), add_bos, add_eos


def test_the_fixture_holds_the_ten_reference_vectors():
    assert len(VECTORS) == 10
    assert all(case["expected_patch_lengths"] for case in VECTORS)


@pytest.mark.parametrize("case", VECTORS, ids=[case["name"] for case in VECTORS])
def test_reference_vector(case):
    config = config_from_blt_args(
        case["patcher_args"], case["include_next_token"], case["threshold_override"]
    )
    if config.needs_entropies:
        rows = [Patcher(config).patch(np.array(h)).lengths for h in case["entropies"]]
    else:
        rows = []
        for tokens in case["tokens"]:
            data, add_bos, add_eos = bytes_of_blt_tokens(tokens)
            cfg = PatchConfig(**{**config.to_dict(), "add_bos": add_bos, "add_eos": add_eos})
            rows.append(Patcher(cfg).patch(data).lengths)
    assert blt_padded_lengths(rows).tolist() == case["expected_patch_lengths"]


def entropy_lengths(H, include_next_token=False, **settings):
    config = PatchConfig(blt_compat=True, include_next_token=include_next_token, **settings)
    return Patcher(config).patch(np.array(H, dtype=float)).lengths.tolist()


@pytest.mark.parametrize(
    ("H", "expected", "expected_next"),
    [
        ([3.0, 3.0], [1, 1], [1, 1, 1]),
        ([3.0, 0.1], [1, 1], [1, 2]),
        ([0.0] * 5, [1, 4], [1, 5]),
        ([3.0] * 5, [1] * 5, [1] * 6),
        ([3.0], [1], [1, 1]),
    ],
)
def test_blt_md_entropy_edge_cases(H, expected, expected_next):
    assert entropy_lengths(H, mode="entropy", threshold=1.0) == expected
    assert entropy_lengths(H, True, mode="entropy", threshold=1.0) == expected_next


def test_positions_0_and_1_always_start_even_with_low_entropy():
    assert entropy_lengths([0.0, 0.0, 0.0], mode="entropy", threshold=1.0) == [1, 2]


def test_monotonic_position_2_always_starts():
    # Flat entropies never rise, yet BLT starts a patch at position 2.
    assert entropy_lengths([1.0] * 6, mode="monotonic", threshold=0.5) == [1, 1, 4]


def test_monotonic_rule_from_position_3():
    # rises H[p-1] - H[p-2] at p = 3, 4, 5: 2, -1, 3
    H = [0.0, 1.0, 3.0, 2.0, 5.0, 5.0]
    assert entropy_lengths(H, mode="monotonic", threshold=0.5) == [1, 1, 1, 2, 1]


def test_dual_all_rising_never_starts_at_position_3():
    # blt.md 1.6, verified: all-rising entropies give [1, 1, 2, 1, 1].
    H = [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]
    assert entropy_lengths(H, mode="dual", threshold=0.5, threshold_add=0.0) == [1, 1, 2, 1, 1]


def test_dual_position_2_starts_even_below_both_thresholds():
    H = [0.0, 0.0, 0.0, 0.0, 0.0]
    assert entropy_lengths(H, mode="dual", threshold=1.0, threshold_add=0.0) == [1, 1, 3]


def test_entropies_compare_in_float32_as_blt_does():
    # torch compares fp32 entropies with the threshold rounded to fp32: 1.0 > 0.99999999 is
    # False there, so no start at position 2.
    assert entropy_lengths([0.0, 1.0, 0.0], mode="entropy", threshold=0.99999999) == [1, 2]


def test_max_patch_length_splits_with_the_remainder_last():
    # 9 positions after BOS with max 4: BLT's split_large_numbers gives 4, 4, 1.
    assert entropy_lengths([0.0] * 10, mode="entropy", threshold=1.0, max_patch_length=4) == [
        1, 4, 4, 1,
    ]


def space_patches(text: bytes, include_next_token=False) -> list[bytes]:
    config = PatchConfig(
        mode="space", blt_compat=True, add_bos=True, add_eos=True,
        include_next_token=include_next_token,
    )
    result = Patcher(config).patch(text)
    tokens = b"<" + text + b">" + (b"?" if include_next_token else b"")
    return [tokens[s : s + n] for s, n in zip(result.starts, result.lengths, strict=True)]


def test_space_patching_of_the_daenerys_sentence():
    text = b"Daenerys Targaryen is in Game of Thrones, a fantasy epic by George R.R. Martin."
    assert space_patches(text) == [
        b"<", b"Daenerys ", b"Targaryen ", b"is ", b"in ", b"Game ", b"of ", b"Thrones,",
        b" a ", b"fantasy ", b"epic ", b"by ", b"George ", b"R.", b"R.", b" Martin.", b">",
    ]


def test_space_patching_splits_multibyte_characters_after_the_lead_byte():
    # blt.md 1.9: "héé x" gives [1, 2, 2, 2, 1] (UTF-8 lead bytes are space-like).
    config = PatchConfig(mode="space", blt_compat=True, add_bos=True)
    assert Patcher(config).patch("héé x".encode()).lengths.tolist() == [1, 2, 2, 2, 1]


def test_space_like_byte_after_bos_does_not_end_a_patch_in_blt():
    # BOS counts as space-like when BLT looks back, so the leading space joins "ab" (and EOS
    # joins them too: "b" does not end a patch).
    assert space_patches(b" ab") == [b"<", b" ab>"]


def test_space_eos_ends_a_patch_so_the_next_token_starts_one():
    assert space_patches(b"ab", include_next_token=True) == [b"<", b"ab>", b"?"]


def test_space_without_blt_compat_ends_a_patch_at_the_leading_space():
    config = PatchConfig(mode="space", add_bos=True, add_eos=True)
    assert Patcher(config).patch(b" ab").lengths.tolist() == [1, 1, 3]


def test_padded_batch_matches_blt_layout():
    config = PatchConfig(mode="entropy", threshold=1.0, blt_compat=True)
    rows = Patcher(config).patch_batch([np.array([0.0, 2, 0, 2, 0]), np.zeros(5)])
    assert blt_padded_lengths([r.lengths for r in rows]).tolist() == [[1, 1, 2, 1], [1, 4, 0, 0]]


def test_static_does_not_give_bos_a_patch_of_its_own():
    config = PatchConfig(mode="static", patch_size=4, add_bos=True, blt_compat=True)
    assert Patcher(config).patch(b"abcdefg").lengths.tolist() == [4, 4]
