"""Argument types shared by the subcommands."""

from __future__ import annotations

import argparse
import json
import math


def json_argument(text: str):
    """``type=`` for JSON options: a bad value is a usage error saying where the JSON breaks."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise argparse.ArgumentTypeError(
            f"not JSON: {error.msg} at character {error.pos + 1}") from None


def _number(text: str, kind: type, least: float | None, strict: bool, what: str):
    try:
        value = kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not {what}") from None
    if not math.isfinite(value) or (least is not None and (
            value <= least if strict else value < least)):
        raise argparse.ArgumentTypeError(f"{text!r} is not {what}")
    return value


def positive_int(text: str) -> int:
    """``type=`` for counts that must be at least 1 (sizes, steps, threads, limits)."""
    return _number(text, int, 1, False, "a whole number of at least 1")


def count(text: str) -> int:
    """``type=`` for counts that may be 0 (seeds, warm-up steps, distances)."""
    return _number(text, int, 0, False, "a whole number of at least 0")


def positive_float(text: str) -> float:
    """``type=`` for rates, sizes and timeouts above 0."""
    return _number(text, float, 0.0, True, "a number above 0")


def nonnegative_float(text: str) -> float:
    """``type=`` for weights that may be 0 but not negative."""
    return _number(text, float, 0.0, False, "a number of at least 0")


def finite_float(text: str) -> float:
    """``type=`` for any finite number (thresholds): not nan or inf."""
    return _number(text, float, None, False, "a finite number")
