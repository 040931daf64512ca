"""How many threads torch gets when nobody says: the cores no other process is using.

Why not torch's default (every core): scoring and training run hundreds of short OpenMP
parallel regions per batch (element-wise ops, matmuls of 64-512 columns, FFTs of a few thousand
points), and each ends at a barrier that waits for its slowest thread. A thread whose core
another process holds runs only when the scheduler gives that core back, so every region waits
for it. On a 2-core machine with one core busy, 2 threads score at 0.2-0.7 times the speed of
1 (``bench/threads.py``); idle, 2 threads are 1.7-2x faster than 1, so the work itself is not
too small to share. libgomp's wait policy (``OMP_WAIT_POLICY`` active or passive) does not
change that, and numba plays no part (no kernel here is parallel, so its threads never start).
So the default looks at what the machine is doing:

    threads = max(1, min(cores - busy - reserve, torch's default))

``cores``: the CPUs this process may run on (affinity, and a cgroup CPU quota if one is set);
``busy``: the cores other processes kept busy during a 0.1 s look at ``/proc/stat`` (Linux;
elsewhere the 1-minute load average), a core counting once they use more than 30% of it;
``reserve``: cores kept free for something else of ours (the window's GUI thread). The look
happens once, when a command starts: a process that starts later is not seen.

An explicit ``--threads`` wins, and so does ``OMP_NUM_THREADS`` or ``MKL_NUM_THREADS`` (torch
reads them itself; torchrun sets ``OMP_NUM_THREADS=1`` for several processes per machine).
"""

from __future__ import annotations

import math
import os
import time
from pathlib import Path

from engine.errors import InputError

LOOK_S = 0.1  # how long the CPUs are watched; 10 scheduler ticks per core at 100 Hz
BUSY_SHARE = 0.3  # a core counts as busy once other processes use more than this of it
THREAD_ENV = ("OMP_NUM_THREADS", "MKL_NUM_THREADS")


def usable_cores() -> int:
    """CPUs this process may use: its affinity mask, cut to a cgroup v2 quota if any."""
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    try:  # "max 100000" (no quota) or "200000 100000" (2 cores' worth)
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()[:2]
        if quota != "max":
            cores = min(cores, max(1, math.ceil(int(quota) / int(period))))
    except (OSError, ValueError):
        pass
    return max(1, cores)


def _cpu_ticks() -> dict[int, tuple[int, int]]:
    """(busy, total) scheduler ticks per CPU since boot, from ``/proc/stat``."""
    ticks = {}
    with open("/proc/stat") as stat:
        for line in stat:  # "cpu" (all), then "cpu0", "cpu1", ...; the other lines follow
            if not line.startswith("cpu"):
                break
            name, *values = line.split()
            if name == "cpu":
                continue
            counts = [int(v) for v in values[:8]]  # user nice system idle iowait irq softirq steal
            idle = counts[3] + counts[4]
            ticks[int(name[3:])] = (sum(counts) - idle, sum(counts))
    return ticks


def busy_cores(look_s: float = LOOK_S) -> float:
    """Cores kept busy by *other* processes, in cores (0.0 .. number of CPUs).

    Linux: the busy share of each CPU this process may use over ``look_s`` seconds, minus this
    process's own CPU time meanwhile. Elsewhere the 1-minute load average (0 without one).
    """
    try:
        mine = os.sched_getaffinity(0)
        before, own_before = _cpu_ticks(), _own_seconds()
        time.sleep(look_s)
        after, own_after = _cpu_ticks(), _own_seconds()
    except (AttributeError, OSError, ValueError, IndexError):
        try:
            return max(0.0, os.getloadavg()[0])
        except (AttributeError, OSError):
            return 0.0
    busy = 0.0
    for cpu in mine:
        if cpu in before and cpu in after:
            d_busy = after[cpu][0] - before[cpu][0]
            d_total = after[cpu][1] - before[cpu][1]
            busy += d_busy / d_total if d_total > 0 else 0.0
    own = (own_after - own_before) / look_s
    return max(0.0, busy - own)


def _own_seconds() -> float:
    times = os.times()
    return times.user + times.system


def default_threads(reserve: int = 0, *, busy: float | None = None,
                    cores: int | None = None) -> int:
    """Threads for torch: the usable cores minus those other processes keep busy and
    ``reserve``; at least 1 (module docstring). ``busy``/``cores`` skip the look."""
    cores = usable_cores() if cores is None else cores
    busy = busy_cores() if busy is None else busy
    taken = max(0, math.ceil(busy - BUSY_SHARE))
    return max(1, cores - taken - reserve)


def spare_threads() -> int:
    """Threads for the window's jobs and training runs: every usable core but one, which the
    GUI thread keeps. No look at other processes: the window starts jobs for hours, and a
    0.1 s look each time would stall what the user asked for."""
    return default_threads(reserve=1, busy=0.0)


def thread_env_set() -> bool:
    """Whether the user fixed torch's thread count through the environment."""
    return any(os.environ.get(name, "").strip() for name in THREAD_ENV)


_torch_default: list[int] = []  # torch's own count, read before the first set_threads


def set_threads(requested: int | None = None) -> int:
    """Set torch's intra-op threads for a command and return the count in effect.

    ``requested`` (``--threads``) if given; else whatever ``OMP_NUM_THREADS`` /
    ``MKL_NUM_THREADS`` made torch take; else :func:`default_threads`, never above torch's own
    default (it counts physical cores, so hyper-threads are not counted twice).
    """
    import torch

    if not _torch_default:
        _torch_default.append(torch.get_num_threads())
    if requested is not None and requested < 1:
        raise InputError(f"threads must be at least 1, not {requested}")
    if requested:
        torch.set_num_threads(requested)
    elif not thread_env_set():
        torch.set_num_threads(min(default_threads(), _torch_default[0]))
    return torch.get_num_threads()
