"""Start-up cost of the CLI: what a user waits for before a command does anything.

Run: ``python bench/startup.py [--repeat 5]``. Each row is a fresh process (median of
``--repeat``); the ratio is to a bare ``python -c pass`` measured in the same run, and
``import torch`` is shown for scale (the CLI loads it only when a command runs a model).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "resources" / "samples" / "lambda_phage.fa"


def median_seconds(argv: list[str], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        subprocess.run(argv, cwd=REPO, check=True, capture_output=True)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    repeat = parser.parse_args().repeat
    py = sys.executable
    rows = [
        ("python -c pass (baseline)", [py, "-c", "pass"]),
        ("python -c 'import torch' (for scale)", [py, "-c", "import torch"]),
        ("import engine.cli", [py, "-c", "import engine.cli"]),
        ("bytescope --help", [py, "-m", "engine", "--help"]),
        ("bytescope info lambda_phage.fa (48 kb)", [py, "-m", "engine", "info", str(SAMPLE)]),
    ]
    base = None
    print(f"{'what':<42} {'time':>9} {'ratio':>7}   (median of {repeat} fresh processes)")
    for what, argv in rows:
        t = median_seconds(argv, repeat)
        base = base or t
        print(f"{what:<42} {t:>8.3f}s {t / base:>7.1f}")


if __name__ == "__main__":
    main()
