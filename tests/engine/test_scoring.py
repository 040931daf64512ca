"""Scoring: alignment with a direct forward pass, chunking with overlap, streaming, caching."""

from __future__ import annotations

import itertools
import logging
import threading

import h5py
import numpy as np
import pytest
import torch

from engine.io.records import MemorySource, Record
from engine.models import build_model, model_config
from engine.models.repeats import N_STATES, RepeatConfig
from engine.scoring import (
    Cancelled,
    ScoreCache,
    Scores,
    copy_guesses,
    iter_scores,
    score,
)
from tests.engine.killed_writer import killed_writer


def record_of(data: bytes) -> Record:
    return Record("r", len(data), MemorySource(data), alphabet="bytes")


def random_bytes(n: int, seed: int = 0) -> bytes:
    return np.random.default_rng(seed).integers(0, 256, n, dtype=np.uint8).tobytes()


def tiny(arch="hyena", max_len=64, **kw):
    torch.manual_seed(0)
    cfg = model_config(arch, "tiny", d_model=32, n_layers=2, max_len=max_len, **kw)
    return build_model(cfg).double().eval()


def test_short_input_matches_a_direct_forward_pass():
    model = tiny()
    data = random_bytes(40)
    s = score(model, record_of(data))
    tokens = torch.tensor([[257, *data]])
    logp = torch.log_softmax(model(tokens)[0], -1).detach().numpy()  # (41, V)
    p = np.exp(logp)
    expected_entropy = -(p * logp).sum(-1)[1:]  # entropy[t]: after reading byte t
    expected_surprisal = -logp[np.arange(40), np.frombuffer(data, np.uint8)]
    assert np.allclose(s.entropy, expected_entropy, atol=1e-5)
    assert np.allclose(s.surprisal, expected_surprisal, atol=1e-5)
    assert s.bits_per_byte == pytest.approx(expected_surprisal.mean() / np.log(2), rel=1e-5)


def test_chunked_scores_equal_unchunked_when_context_covers_the_receptive_field():
    # Attention with window 8 over 2 layers sees 14 tokens back; context 16 covers that, so
    # chunks of 32 must reproduce one unchunked pass of a copy with a larger max_len.
    chunked = tiny("attention", max_len=32, window=8)
    whole = tiny("attention", max_len=512, window=8)
    whole.load_state_dict(chunked.state_dict())
    data = random_bytes(300, seed=3)
    a = score(chunked, record_of(data), context=16, batch_size=3)
    b = score(whole, record_of(data))
    assert np.allclose(a.entropy, b.entropy, atol=1e-6)
    assert np.allclose(a.surprisal, b.surprisal, atol=1e-6)


def test_every_position_sees_at_least_context_bytes():
    # The first output of each chunk has the least context: exactly `context` bytes. Hyena sees
    # its whole window, so that byte's score moves when the byte `context` back changes, and
    # does not move when only bytes before its window change.
    model = tiny(max_len=32)
    context, step = 16, 32 - 16
    data = bytearray(random_bytes(120, seed=4))
    base = score(model, record_of(bytes(data)), context=context)
    t = 3 * step  # stream position 3·step starts a chunk; its logits score byte t
    changed = bytearray(data)
    changed[t - context] ^= 0x55
    after = score(model, record_of(bytes(changed)), context=context)
    assert after.surprisal[t] != pytest.approx(base.surprisal[t], abs=1e-9)
    outside = bytearray(data)
    outside[t - context - 2] ^= 0x55  # before the window that scores byte t
    after = score(model, record_of(bytes(outside)), context=context)
    assert after.surprisal[t] == pytest.approx(base.surprisal[t], abs=1e-12)


def test_region_scores_equal_the_slice_of_whole_record_scores():
    model = tiny("attention", max_len=32, window=8)
    data = random_bytes(200, seed=5)
    whole = score(model, record_of(data), context=16)
    part = score(model, record_of(data), 50, 130, context=16)
    assert part.start == 50 and len(part) == 80
    assert np.allclose(part.entropy, whole.entropy[50:130], atol=1e-6)
    assert np.allclose(part.surprisal, whole.surprisal[50:130], atol=1e-6)


def test_streamed_pieces_are_contiguous_and_progress_reaches_the_total():
    model = tiny(max_len=32)
    seen = []
    pieces = list(
        iter_scores(model, record_of(random_bytes(150)), 10, 140, context=8, batch_size=2,
                    progress=lambda done, total: seen.append((done, total)))
    )
    assert len(pieces) > 1
    assert pieces[0].start == 10 and pieces[-1].end == 140
    assert all(p.end == q.start for p, q in itertools.pairwise(pieces))
    assert seen[-1] == (130, 130)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)


def test_cancel_stops_scoring():
    flag = threading.Event()
    flag.set()
    with pytest.raises(Cancelled):
        list(iter_scores(tiny(), record_of(random_bytes(500)), cancel=flag))


def test_cache_returns_what_a_fresh_score_gives_and_keys_by_model_and_context(tmp_path):
    model = tiny()
    rec = record_of(random_bytes(90))
    cache = ScoreCache("filehash", "modelA", root=tmp_path)
    first = cache.scores(rec, lambda: model, 10, 20)
    fresh = score(model, rec)
    assert np.array_equal(first.entropy, fresh.entropy[10:20])
    stored = ScoreCache("filehash", "modelA", root=tmp_path).load("r")
    assert np.array_equal(stored.entropy, fresh.entropy)
    assert np.array_equal(stored.surprisal, fresh.surprisal)
    assert ScoreCache("filehash", "modelB", root=tmp_path).load("r") is None
    assert ScoreCache("filehash", "modelA", root=tmp_path, context=8).load("r") is None


def test_scores_without_the_repeat_expert_have_their_own_model_hash(tmp_path):
    from engine.models import model_hash, save_model
    from engine.models.repeats import save_repeats

    folder = save_model(tiny(), tmp_path / "m")
    network = model_hash(folder)
    assert model_hash(folder, repeats=False) == network  # no expert: one key either way
    save_repeats(RepeatConfig(k=8, weights=[0.5] * N_STATES), folder)
    assert model_hash(folder, repeats=False) == network
    assert model_hash(folder) != network


def test_a_files_cache_is_keyed_by_its_content_the_model_its_expert_and_the_context(tmp_path):
    from engine.models import save_model
    from engine.models.repeats import save_repeats

    folder = save_model(tiny(), tmp_path / "m")
    save_repeats(RepeatConfig(k=8, weights=[0.5] * N_STATES), folder)
    a, same, other = tmp_path / "a.fa", tmp_path / "same.fa", tmp_path / "other.fa"
    a.write_text(">r\nACGT\n")
    same.write_text(">r\nACGT\n")
    other.write_text(">r\nACGA\n")

    def key(path=a, **kw):
        return ScoreCache.for_file(path, folder, root=tmp_path / "c", **kw).folder

    assert key(same) == key() != key(other)  # content, not the path
    assert key(repeats=False) != key() and key(context=8) != key()
    assert key(file_hash="given").parent.name == "given"


def test_a_cache_scores_what_it_misses_as_it_is_keyed(tmp_path):
    from engine.models import load_model, save_model
    from engine.models.repeats import save_repeats

    folder = save_model(tiny(), tmp_path / "m")
    save_repeats(RepeatConfig(k=8, weights=[0.9] * N_STATES), folder)
    model = load_model(folder)
    half = random_bytes(60, seed=3)
    rec = record_of(half + half)
    path = tmp_path / "r.bin"
    path.write_bytes(half + half)
    for repeats, context in ((True, None), (False, None), (True, 8)):
        cache = ScoreCache.for_file(path, folder, repeats=repeats, context=context,
                                    root=tmp_path / "c")
        got = cache.scores(rec, lambda: model)
        expected = score(model, rec, repeats=repeats, context=context)
        np.testing.assert_array_equal(got.surprisal, expected.surprisal)
    assert not np.array_equal(score(model, rec).surprisal, score(model, rec, repeats=False)
                              .surprisal)  # the three are different numbers


def test_the_model_is_asked_for_only_on_a_miss(tmp_path):
    asked = []

    def model():
        asked.append(1)
        return tiny()

    cache = ScoreCache("filehash", "modelA", root=tmp_path)
    rec = record_of(random_bytes(90))
    first = cache.scores(rec, model, 10, 20)
    again = cache.scores(rec, model, 30, 40)
    assert len(asked) == 1 and (first.start, again.start, len(again)) == (10, 30, 10)


def test_a_region_missed_without_the_whole_record_is_scored_alone_and_not_stored(tmp_path):
    model = tiny()
    cache = ScoreCache("filehash", "modelA", root=tmp_path)
    rec = record_of(random_bytes(300))
    region = cache.scores(rec, lambda: model, 200, 240, whole=False)
    np.testing.assert_array_equal(region.entropy, score(model, rec, 200, 240).entropy)
    assert cache.load("r", rec.length) is None
    cache.scores(rec, lambda: model, 0, rec.length, whole=False)  # the whole record: stored
    assert cache.load("r", rec.length) is not None


# --------------------------------------------------------------------------------------------
# with a repeat expert (engine/models/repeats.py)


def repeated_bytes(seed: int = 7) -> bytes:
    x = random_bytes(120, seed=seed)
    return x + random_bytes(40, seed=seed + 1) + x + x[:50]


def with_expert(model, weight: float = 0.9, k: int = 8):
    model.repeats = RepeatConfig(k=k, reverse_complement=False, weights=[weight] * N_STATES)
    return model


def test_repeat_expert_mixes_its_guess_into_entropy_and_surprisal():
    data = repeated_bytes()
    plain = score(tiny(), record_of(data))
    model = with_expert(tiny(), weight=0.9)
    mixed = score(model, record_of(data))
    again = score(model, record_of(data), repeats=False)
    assert np.allclose(again.surprisal, plain.surprisal, atol=1e-6)
    full = copy_guesses(model.repeats, record_of(data)).pred  # bytes 0..n (n: one past)
    guess = full[: len(data)]
    hit = guess == np.frombuffer(data, np.uint8)
    assert hit.sum() > 130 and (guess[:160] == -1).all()
    p = np.exp(-plain.surprisal.astype(np.float64))
    expected = np.where(guess >= 0, -np.log(0.1 * p + 0.9 * hit), plain.surprisal)  # (R1)
    assert np.allclose(mixed.surprisal, expected, atol=1e-4)
    assert mixed.surprisal[hit].mean() < 0.2 < 5.0 < plain.surprisal[hit].mean()
    # entropy: where the expert speaks about the next byte, the mixture is far more certain
    ahead = full[1:] >= 0  # entropy[t] is about byte t + 1
    assert (mixed.entropy[ahead] < plain.entropy[ahead] - 1.0).all()
    assert np.allclose(mixed.entropy[~ahead], plain.entropy[~ahead], atol=1e-4)


def test_chunked_scores_equal_unchunked_with_a_repeat_expert():
    chunked = with_expert(tiny("attention", max_len=32, window=8))
    whole = with_expert(tiny("attention", max_len=512, window=8))
    whole.load_state_dict(chunked.state_dict())
    data = repeated_bytes(seed=9)
    a = score(chunked, record_of(data), context=16, batch_size=3)
    b = score(whole, record_of(data))
    assert np.allclose(a.entropy, b.entropy, atol=1e-5)
    assert np.allclose(a.surprisal, b.surprisal, atol=1e-5)


def test_a_short_region_sees_the_guesses_of_the_whole_record():
    # the hash table is sized by the record, not by the bytes before the region's end
    model = with_expert(tiny(max_len=32))
    rec = record_of(repeated_bytes(seed=13) + random_bytes(2000, seed=14))
    whole = score(model, rec, context=8)
    part = score(model, rec, 0, 300, context=8)
    assert np.allclose(part.entropy, whole.entropy[:300], atol=1e-6)
    assert np.allclose(part.surprisal, whole.surprisal[:300], atol=1e-6)


def test_region_with_a_repeat_expert_equals_the_slice_and_reuses_given_guesses():
    model = with_expert(tiny(max_len=32))
    rec = record_of(repeated_bytes(seed=11))
    whole = score(model, rec, context=8)
    part = score(model, rec, 170, 260, context=8)
    assert np.allclose(part.surprisal, whole.surprisal[170:260], atol=1e-6)
    assert np.allclose(part.entropy, whole.entropy[170:260], atol=1e-6)
    given = score(model, rec, 170, 260, context=8, guesses=copy_guesses(model.repeats, rec))
    assert np.array_equal(given.surprisal, part.surprisal)


# --------------------------------------------------------------------------------------------
# a damaged cache is recomputed, never trusted


def _short(path):
    with h5py.File(path, "r+") as h5:
        data = h5["entropy"][:-10]
        del h5["entropy"]
        h5["entropy"] = data


def _nan(path):
    with h5py.File(path, "r+") as h5:
        h5["surprisal"][5] = np.nan


def _inf(path):
    with h5py.File(path, "r+") as h5:
        h5["entropy"][0] = np.inf


def _float64(path):
    with h5py.File(path, "r+") as h5:
        data = h5["entropy"][()].astype(np.float64)
        del h5["entropy"]
        h5["entropy"] = data


def _group(path):
    with h5py.File(path, "r+") as h5:
        del h5["surprisal"]
        h5.create_group("surprisal")


def _other_record(path):
    with h5py.File(path, "r+") as h5:
        h5.attrs["record_id"] = "another"


def _truncated(path):
    with open(path, "r+b") as handle:
        handle.truncate(path.stat().st_size // 2)


def _emptied(path):
    path.write_bytes(b"")


def _garbage(path):
    path.write_bytes(random_bytes(3000, seed=1))


def _folder(path):
    path.unlink()
    path.mkdir()
    (path / "inside").write_text("x")


DAMAGE = [_short, _nan, _inf, _float64, _group, _other_record, _truncated, _emptied, _garbage,
          _folder]


@pytest.mark.parametrize("damage", DAMAGE, ids=[d.__name__.strip("_") for d in DAMAGE])
def test_a_damaged_cache_entry_is_removed_and_recomputed(tmp_path, damage, caplog):
    model = tiny()
    rec = record_of(random_bytes(90))
    cache = ScoreCache("filehash", "modelA", root=tmp_path)
    fresh = cache.scores(rec, lambda: model)
    (entry,) = cache.folder.iterdir()
    damage(entry)
    with caplog.at_level(logging.INFO, logger="engine.scoring"):
        assert cache.load("r", rec.length) is None
    assert not entry.exists()
    assert "removed, scores recomputed" in caplog.text and caplog.records[0].levelname == "INFO"
    again = cache.scores(rec, lambda: model, 10, 20)
    assert np.array_equal(again.entropy, fresh.entropy[10:20])
    assert np.array_equal(again.surprisal, fresh.surprisal[10:20])
    stored = cache.load("r", rec.length)
    assert np.array_equal(stored.surprisal, fresh.surprisal)


def test_an_entry_of_the_wrong_length_is_refused_before_it_is_read(tmp_path):
    model = tiny()
    cache = ScoreCache("filehash", "modelA", root=tmp_path)
    cache.scores(record_of(random_bytes(90)), lambda: model)
    assert cache.load("r", 91) is None and list(cache.folder.iterdir()) == []


def test_a_file_where_the_cache_folder_belongs_is_replaced(tmp_path):
    cache = ScoreCache("filehash", "modelA", root=tmp_path)
    cache.folder.parent.mkdir()
    cache.folder.write_text("not a folder")
    rec = record_of(random_bytes(90))
    fresh = cache.scores(rec, tiny)
    assert np.array_equal(cache.load("r", rec.length).entropy, fresh.entropy)


def test_a_cache_that_cannot_be_written_costs_a_warning_not_the_scores(tmp_path, caplog):
    root = tmp_path / "cache"
    root.write_text("a file where the cache folder should be")
    cache = ScoreCache("filehash", "modelA", root=root)
    rec = record_of(random_bytes(90))
    with caplog.at_level(logging.WARNING, logger="engine.scoring"):
        got = cache.scores(rec, tiny)
    assert np.array_equal(got.entropy, score(tiny(), rec).entropy)
    assert "score cache not written" in caplog.text
    assert root.read_text().startswith("a file")


def test_scores_that_are_not_finite_are_not_cached(tmp_path):
    cache = ScoreCache("filehash", "modelA", root=tmp_path)
    values = np.array([0.5, np.nan, 1.0], np.float32)
    cache.save(Scores("r", 0, values, values))
    assert cache.load("r", 3) is None and not cache.folder.exists()


def test_opening_the_cache_removes_temporaries_of_killed_scorers(tmp_path):
    cache = ScoreCache("filehash", "modelA", root=tmp_path)
    cache.folder.mkdir(parents=True)
    left = killed_writer(cache.folder / "0123456789abcdef.h5")
    ScoreCache("filehash", "modelA", root=tmp_path)
    assert not left.exists()
