"""engine.configs: config dataclasses from JSON objects refuse keys they do not know."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from engine.configs import config_from_dict
from engine.errors import FormatError, ModelError


@dataclass
class Knobs:
    width: int = 4
    depth: int = 2


def test_known_keys_build_the_dataclass():
    assert config_from_dict(Knobs, {"width": 8}, what="knobs") == Knobs(width=8, depth=2)


def test_one_unknown_key_is_named_with_a_close_field_and_the_file():
    with pytest.raises(FormatError) as error:
        config_from_dict(Knobs, {"widht": 8}, what="knobs", path="k.json")
    assert str(error.value) == "k.json: unknown knobs key 'widht' (did you mean 'width'?)"


def test_every_unknown_key_is_named_at_once():
    with pytest.raises(FormatError, match=r"unknown knobs keys 'colour', 'zzz'$"):
        config_from_dict(Knobs, {"zzz": 1, "colour": 2, "depth": 3}, what="knobs")


def test_obsolete_keys_are_ignored_and_others_still_refused():
    assert config_from_dict(Knobs, {"old": 1, "depth": 3}, what="knobs",
                            obsolete={"old"}) == Knobs(depth=3)
    with pytest.raises(FormatError, match="'new'"):
        config_from_dict(Knobs, {"old": 1, "new": 2}, what="knobs", obsolete={"old"})


def test_not_an_object_is_refused():
    with pytest.raises(FormatError, match="the knobs is not a JSON object"):
        config_from_dict(Knobs, [1, 2], what="knobs")


def test_the_error_class_can_be_chosen():
    with pytest.raises(ModelError):
        config_from_dict(Knobs, {"x": 1}, what="model config", error=ModelError)
