"""The README shows the commands that make its images (docs/make_images.py runs them)."""

from __future__ import annotations

import importlib.util
import re

from tests.conftest import REPO


def make_images():
    spec = importlib.util.spec_from_file_location("make_images", REPO / "docs" / "make_images.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_readme_quotes_the_screenshot_command_the_script_runs():
    readme = re.sub(r"\\\n\s*", "", (REPO / "README.md").read_text())
    assert " ".join(make_images().SCREENSHOT.split()) in " ".join(readme.split())


def test_every_image_the_readme_shows_is_made_by_the_script():
    readme = (REPO / "README.md").read_text()
    shown = set(re.findall(r"\]\((docs/[\w.-]+\.png)\)", readme))
    source = (REPO / "docs" / "make_images.py").read_text()
    assert shown and all(path.split("/")[1] in source for path in shown), shown
