"""Can a window open here? Checked before Qt starts, because Qt cannot say so gracefully.

On Linux without Wayland, Qt draws through its ``xcb`` platform plugin. When the plugin's
system libraries are missing (a stock Debian desktop lacks ``libxcb-icccm4`` and
``libxcb-keysyms1``) or ``DISPLAY`` names a server that is gone, ``QApplication`` aborts the
process (exit 134) with a paragraph of advice. :func:`screen_problem` asks the same two
questions first, without importing Qt: ``ldd`` on the plugin lists the libraries the dynamic
loader cannot find, and a child process tries ``xcb_connect`` (in a child so that a display
that never answers costs a timeout, not a hang).
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

CONNECT_TIMEOUT_S = 5.0
_NOT_FOUND = re.compile(r"^\s*(\S+)\s*=>\s*not found", re.MULTILINE)
_SONAME = re.compile(r"^lib(?P<name>.+)\.so\.(?P<major>\d+)$")
# Connect the way Qt's xcb plugin does (libxcb, DISPLAY from the environment, Xauthority).
_CONNECT = (
    "import ctypes, sys\n"
    "xcb = ctypes.CDLL('libxcb.so.1')\n"
    "xcb.xcb_connect.restype = ctypes.c_void_p\n"
    "c = ctypes.c_void_p(xcb.xcb_connect(None, None))\n"
    "sys.exit(1 if xcb.xcb_connection_has_error(c) else 0)\n"
)


def uses_xcb(env: dict[str, str] | None = None) -> bool:
    """Whether Qt would pick its xcb plugin: Linux, X11, no other platform asked for."""
    env = os.environ if env is None else env
    platform = env.get("QT_QPA_PLATFORM", "").split(":")[0]
    if not sys.platform.startswith("linux"):
        return False
    if platform:
        return platform == "xcb"
    return bool(env.get("DISPLAY")) and not env.get("WAYLAND_DISPLAY")


def xcb_plugin() -> Path | None:
    """PySide6's ``libqxcb.so``, found without importing Qt."""
    spec = importlib.util.find_spec("PySide6")
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        plugin = Path(folder) / "Qt" / "plugins" / "platforms" / "libqxcb.so"
        if plugin.exists():
            return plugin
    return None


def missing_libraries(plugin: Path) -> list[str]:
    """Shared libraries ``plugin`` needs that the dynamic loader cannot find (by ``ldd``)."""
    ldd = shutil.which("ldd")
    if ldd is None:
        return []  # nothing to ask; Qt will say it itself
    try:
        out = subprocess.run([ldd, str(plugin)], capture_output=True, text=True,
                             timeout=CONNECT_TIMEOUT_S).stdout
    except (OSError, subprocess.TimeoutExpired):
        return []
    return list(dict.fromkeys(_NOT_FOUND.findall(out)))  # ldd repeats indirect needs


def debian_package(soname: str) -> str:
    """Debian's package for a library soname: ``libxcb-icccm.so.4`` -> ``libxcb-icccm4``.

    Debian's naming policy: the library name in lower case, then the soname's major version,
    with a hyphen when the name already ends in a digit (``libxkbcommon-x11.so.0`` ->
    ``libxkbcommon-x11-0``).
    """
    match = _SONAME.match(soname)
    if match is None:
        return soname
    name, major = match["name"].lower(), match["major"]
    return f"lib{name}{'-' if name[-1].isdigit() else ''}{major}"


def display_answers(env: dict[str, str] | None = None) -> bool:
    """Whether the X server ``DISPLAY`` names accepts a connection (in a child process)."""
    try:
        run = subprocess.run([sys.executable, "-c", _CONNECT], env=env, capture_output=True,
                             timeout=CONNECT_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        return False
    return run.returncode == 0


def screen_problem(env: dict[str, str] | None = None) -> str | None:
    """Why a window cannot open here, in one line; ``None`` when it can."""
    env = dict(os.environ if env is None else env)
    platform = env.get("QT_QPA_PLATFORM", "").split(":")[0]
    if platform in ("offscreen", "minimal"):
        return f"QT_QPA_PLATFORM={platform} shows no window"
    if sys.platform.startswith("linux") and not platform and not (
            env.get("DISPLAY") or env.get("WAYLAND_DISPLAY")):
        return "no screen (neither DISPLAY nor WAYLAND_DISPLAY is set)"
    if not uses_xcb(env):
        return None
    plugin = xcb_plugin()
    if plugin is not None:
        missing = missing_libraries(plugin)
        if missing:
            packages = " ".join(debian_package(m) for m in missing)
            return (f"Qt's xcb plugin needs system libraries that are missing: "
                    f"{', '.join(missing)} (Debian/Ubuntu: apt install {packages})")
    if not env.get("DISPLAY"):
        return "QT_QPA_PLATFORM=xcb, but DISPLAY is not set"
    if not display_answers(env):
        return f"the X display {env['DISPLAY']!r} does not answer: is DISPLAY stale?"
    return None
