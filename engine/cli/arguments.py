"""Argument types shared by the subcommands."""

from __future__ import annotations

import argparse
import json


def json_argument(text: str):
    """``type=`` for JSON options: a bad value is a usage error saying where the JSON breaks."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise argparse.ArgumentTypeError(
            f"not JSON: {error.msg} at character {error.pos + 1}") from None
