"""The shared loaded-model cache: one object per folder and weights, reloaded when they change,
loaded once however many threads ask."""

from __future__ import annotations

import threading

import pytest
import torch

from engine.errors import ModelError
from engine.models import build_model, model_config, save_model
from engine.models import loaded as loaded_module
from engine.models.loaded import ModelCache
from engine.models.repeats import N_STATES, RepeatConfig, save_repeats


def tiny_folder(path, seed: int = 0):
    torch.manual_seed(seed)
    model = build_model(model_config("hyena", "tiny", d_model=16, n_layers=1, max_len=64))
    return save_model(model, path)


@pytest.fixture
def loads(monkeypatch):
    """Every model the cache loads (the real ``load_model``, counted)."""
    seen = []
    real = loaded_module.load_model

    def counted(folder, **kwargs):
        seen.append(folder)
        return real(folder, **kwargs)

    monkeypatch.setattr(loaded_module, "load_model", counted)
    return seen


def test_the_same_folder_gives_the_same_object_however_it_is_named(tmp_path, loads):
    folder = tiny_folder(tmp_path / "m")
    cache = ModelCache()
    model = cache.get(folder)
    assert cache.get(folder) is model
    assert cache.get(folder / "model.safetensors") is model
    assert cache.get(tmp_path / "m" / ".." / "m") is model
    assert len(loads) == 1 and not model.training


def test_new_weights_give_a_new_model_and_the_old_one_is_dropped(tmp_path, loads):
    folder = tiny_folder(tmp_path / "m")
    cache = ModelCache()
    first = cache.get(folder)
    tiny_folder(folder, seed=1)  # retrained in place: same size, other numbers
    second = cache.get(folder)
    assert second is not first and len(cache) == 1
    assert not torch.equal(next(first.parameters()), next(second.parameters()))
    assert cache.get(folder) is second and len(loads) == 2


def test_a_refitted_repeat_expert_gives_a_new_model(tmp_path):
    folder = tiny_folder(tmp_path / "m")
    cache = ModelCache()
    plain = cache.get(folder)
    save_repeats(RepeatConfig(k=8, weights=[0.5] * N_STATES), folder)
    mixed = cache.get(folder)
    assert plain.repeats is None and mixed.repeats is not None


def test_the_least_recently_used_model_is_forgotten(tmp_path, loads):
    a, b, c = (tiny_folder(tmp_path / name) for name in "abc")
    cache = ModelCache(size=2)
    first_a = cache.get(a)
    cache.get(b)
    assert cache.get(a) is first_a  # a is now the most recent
    cache.get(c)  # b goes
    assert len(cache) == 2 and cache.get(a) is first_a
    cache.get(b)
    assert loads.count(b.resolve()) == 2 and loads.count(a.resolve()) == 1


def test_four_threads_asking_at_once_load_once(tmp_path, loads):
    folder = tiny_folder(tmp_path / "m")
    cache = ModelCache()
    start = threading.Barrier(4)
    got = [None] * 4

    def ask(i: int) -> None:
        start.wait()
        got[i] = cache.get(folder)

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(loads) == 1
    assert got[0] is not None and all(model is got[0] for model in got)


def test_a_folder_without_a_model_is_a_model_error(tmp_path):
    with pytest.raises(ModelError, match="cannot read the model"):
        ModelCache().get(tmp_path)
