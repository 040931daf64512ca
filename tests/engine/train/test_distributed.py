"""torchrun with two CPU ranks (gloo): replicas stay identical, each rank draws its own data."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import LAMBDA, REPO


@pytest.mark.slow  # seconds, not milliseconds: after the README's command
def test_two_cpu_ranks_keep_identical_weights(tmp_path):
    run = tmp_path / "ddp"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
           "-m", "engine.train", str(LAMBDA), "--out", str(run), "--steps", "6",
           "--seq-len", "64", "--batch-size", "2", "--eval-every", "3",
           "--checkpoint-every", "3", "--device", "cpu",
           "--model-config", '{"d_model": 16, "n_layers": 1}', "--json"]
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = json.loads(proc.stdout.strip().splitlines()[-1])
    a, b = summary["replica_checksums"]
    assert a == b
    state = json.loads((run / "checkpoints" / "step-0000006" / "state.json").read_text())
    rank0, rank1 = state["data_rng"]
    assert rank0 != rank1  # each rank samples its own windows
