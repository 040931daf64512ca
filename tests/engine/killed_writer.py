"""A real writer killed with SIGKILL in the middle of an atomic write (for the stale-temporary
tests): it writes part of the file, says so on its stdout, then waits on its stdin, so the
kill always lands mid-write without any timing guess."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

WRITER = """
import sys
from engine.atomic import atomic_open

def lines():
    yield "first half\\n"
    print("writing", flush=True)  # the temporary file exists and holds the first half
    sys.stdin.readline()  # the parent kills this process here
    yield "second half\\n"

with atomic_open(sys.argv[1]) as out:
    for line in lines():
        out.write(line)
        out.flush()
"""


@contextmanager
def writing(target: Path) -> Iterator[subprocess.Popen]:
    """A live writer blocked half-way through writing ``target``."""
    child = subprocess.Popen([sys.executable, "-c", WRITER, str(target)], cwd=REPO,
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline() == "writing\n"
        yield child
    finally:
        if child.poll() is None:
            child.kill()
        child.wait()
        child.stdin.close()
        child.stdout.close()


def killed_writer(target: Path) -> Path:
    """Kill (SIGKILL) a writer of ``target`` mid-write; the temporary file it leaves."""
    with writing(target) as child:
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
    (left,) = temporaries(target)
    return left


def temporaries(target: Path) -> list[Path]:
    return sorted(target.parent.glob(f".{target.name}.*.tmp"))
