"""``bytescope patch`` refuses what cannot be true before doing any work (issue 13): entropy files
whose declared size the record or the file cannot hold, and settings the region cannot meet."""

from __future__ import annotations

import h5py
import numpy as np
import pytest
from numpy.lib import format as npy

from engine.cli import main

LAMBDA_ID = "gi|9626243|ref|NC_001416.1|"
LAMBDA_LENGTH = 48_502
BILLIONS = 5_000_000_000  # 18.6 GiB of float32 the 4 KB file declared


@pytest.fixture
def npy_ok(tmp_path):
    path = tmp_path / "ok.npy"
    np.save(path, np.random.default_rng(3).gamma(2.0, 0.7, LAMBDA_LENGTH).astype(np.float32))
    return path


def patch_error(capsys, tmp_path, lambda_path, *args: str) -> str:
    out = tmp_path / "p.bed"
    assert main(["patch", str(lambda_path), *args, "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("bytescope patch: error: ") and "\n" not in err
    assert not out.exists()
    return err


def test_an_hdf5_dataset_declared_but_never_written_is_refused_unread(capsys, tmp_path,
                                                                      lambda_path):
    path = tmp_path / "x.h5"
    with h5py.File(path, "w") as h5:
        h5.create_dataset("entropies", shape=(BILLIONS,), dtype=np.float32)
    assert path.stat().st_size < 4096
    err = patch_error(capsys, tmp_path, lambda_path, "--mode", "entropy",
                      "--entropies", str(path))
    assert str(path) in err and "declares 5,000,000,000 values" in err
    assert "never written" in err


def test_an_hdf5_dataset_longer_than_the_record_is_refused_before_reading(capsys, tmp_path,
                                                                         lambda_path):
    """Written in full but too long: the length is compared with the record's, not read."""
    path = tmp_path / "long.h5"
    with h5py.File(path, "w") as h5:
        h5["entropies"] = np.ones(LAMBDA_LENGTH + 1, np.float32)
    err = patch_error(capsys, tmp_path, lambda_path, "--mode", "entropy",
                      "--entropies", str(path))
    assert f"{LAMBDA_LENGTH + 1} entropies" in err and f"has {LAMBDA_LENGTH}" in err


def test_a_compressed_dataset_claiming_more_than_it_holds_is_refused(capsys, tmp_path,
                                                                     lambda_path):
    path = tmp_path / "forged.h5"
    with h5py.File(path, "w") as h5:
        ds = h5.create_dataset("entropies", shape=(BILLIONS,), dtype=np.float32,
                               chunks=(4096,), compression="gzip")
        ds[:4096] = np.random.default_rng(0).random(4096)
    err = patch_error(capsys, tmp_path, lambda_path, "--mode", "entropy",
                      "--entropies", str(path))
    assert "more than any compression gives" in err


def test_a_scored_region_running_past_the_record_is_refused(capsys, tmp_path, lambda_path):
    path = tmp_path / "scored.h5"
    with h5py.File(path, "w") as h5:
        h5.attrs.update(record_id=LAMBDA_ID, start=48_000)
        h5["entropies"] = np.ones(1000, np.float32)
    err = patch_error(capsys, tmp_path, lambda_path, "--mode", "entropy", "--region",
                      "48000-48100", "--entropies", str(path))
    assert "48000-49000, past the end of the record (48502 bytes)" in err


@pytest.mark.parametrize("start", [-5, "abc", True, 2.5])
def test_a_start_attribute_that_is_not_an_offset_is_refused(capsys, tmp_path, lambda_path,
                                                            start):
    path = tmp_path / "scored.h5"
    with h5py.File(path, "w") as h5:
        h5.attrs["start"] = start
        h5["entropies"] = np.ones(1000, np.float32)
    err = patch_error(capsys, tmp_path, lambda_path, "--mode", "entropy", "--region", "0-100",
                      "--entropies", str(path))
    assert "attribute 'start'" in err


def test_a_scored_region_starting_at_0_serves_a_region_inside_it(tmp_path, lambda_path):
    path = tmp_path / "scored.h5"
    with h5py.File(path, "w") as h5:
        h5.attrs.update(record_id=LAMBDA_ID, start=0)
        h5["entropies"] = np.arange(1000, dtype=np.float32) % 7
    out = tmp_path / "p.tsv"
    assert main(["patch", str(lambda_path), "--mode", "entropy", "--threshold", "5.5",
                 "--region", "100-200", "--entropies", str(path), "--out", str(out)]) == 0
    # H[t] = t % 7: above 5.5 exactly where t % 7 == 6, so starts at t + 1 where (t+1) % 7 == 0
    starts = [int(line.split("\t")[1]) for line in out.read_text().splitlines()[1:]]
    assert starts == [100] + [p for p in range(101, 200) if p % 7 == 0]


def test_a_npy_header_declaring_billions_of_values_is_refused(capsys, tmp_path, lambda_path):
    path = tmp_path / "x.npy"
    with open(path, "wb") as handle:
        npy.write_array_header_1_0(handle, {"descr": "<f4", "fortran_order": False,
                                            "shape": (BILLIONS,)})
        handle.write(bytes(100))
    err = patch_error(capsys, tmp_path, lambda_path, "--mode", "entropy",
                      "--entropies", str(path))
    assert "declares (5000000000,) float32" in err and "truncated" in err


def test_a_pickled_npy_is_refused_without_unpickling(capsys, tmp_path, lambda_path):
    path = tmp_path / "obj.npy"
    np.save(path, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    err = patch_error(capsys, tmp_path, lambda_path, "--mode", "entropy",
                      "--entropies", str(path))
    assert "Python objects" in err


def test_a_file_that_is_not_npy_says_so(capsys, tmp_path, lambda_path):
    path = tmp_path / "junk.npy"
    path.write_bytes(b"hello world" * 10)
    err = patch_error(capsys, tmp_path, lambda_path, "--mode", "entropy",
                      "--entropies", str(path))
    assert "not a .npy array" in err


def test_a_folder_named_like_entropies_is_refused(capsys, tmp_path, lambda_path):
    (tmp_path / "e.npy").mkdir()
    err = patch_error(capsys, tmp_path, lambda_path, "--mode", "entropy",
                      "--entropies", str(tmp_path / "e.npy"))
    assert "is a folder" in err


def test_a_corrupt_hdf5_entropy_file_is_one_line(capsys, tmp_path, lambda_path):
    path = tmp_path / "bad.h5"
    with h5py.File(path, "w") as h5:
        h5["entropies"] = np.ones(LAMBDA_LENGTH, np.float32)
    data = bytearray(path.read_bytes())
    path.write_bytes(bytes(data[: len(data) // 2]))
    err = patch_error(capsys, tmp_path, lambda_path, "--mode", "entropy",
                      "--entropies", str(path))
    assert str(path) in err


@pytest.mark.parametrize("mode", ["entropy", "dual", "greedy", "optimal"])
def test_a_negative_threshold_is_refused_where_it_is_an_entropy(capsys, tmp_path, lambda_path,
                                                                npy_ok, mode):
    err = patch_error(capsys, tmp_path, lambda_path, "--mode", mode, "--threshold", "-5",
                      "--entropies", str(npy_ok))
    assert f"--threshold -5 is below 0: in mode {mode!r}" in err


def test_monotonic_takes_a_negative_threshold(tmp_path, lambda_path, npy_ok):
    """Its threshold is a rise in entropy, which can be a fall."""
    assert main(["patch", str(lambda_path), "--mode", "monotonic", "--threshold", "-0.5",
                 "--entropies", str(npy_ok), "--out", str(tmp_path / "p.bed")]) == 0


def test_a_target_longer_than_the_region_is_refused(capsys, tmp_path, lambda_path, npy_ok):
    err = patch_error(capsys, tmp_path, lambda_path, "--mode", "entropy",
                      "--target-patch-size", "100000", "--entropies", str(npy_ok))
    assert "--target-patch-size 100000 is longer than region 0-48502" in err
    assert "48,502 bytes" in err
    err = patch_error(capsys, tmp_path, lambda_path, "--mode", "entropy", "--region", "0-100",
                      "--target-patch-size", "101", "--entropies", str(npy_ok))
    assert "region 0-100" in err and "(100 bytes)" in err


def test_a_target_of_the_whole_region_is_one_patch(capsys, tmp_path, lambda_path, npy_ok):
    assert main(["patch", str(lambda_path), "--mode", "entropy", "--region", "0-100",
                 "--target-patch-size", "100", "--entropies", str(npy_ok),
                 "--out", str(tmp_path / "p.bed")]) == 0
    assert ": 1 patch," in capsys.readouterr().out


def test_a_target_above_the_longest_patch_allowed_is_refused(capsys, tmp_path, lambda_path,
                                                             npy_ok):
    err = patch_error(capsys, tmp_path, lambda_path, "--mode", "entropy",
                      "--target-patch-size", "10", "--max-len", "4", "--entropies", str(npy_ok))
    assert "--target-patch-size 10 is above --max-len 4" in err


def test_a_target_below_1_is_refused(capsys, tmp_path, lambda_path, npy_ok):
    err = patch_error(capsys, tmp_path, lambda_path, "--mode", "entropy",
                      "--target-patch-size", "0.5", "--entropies", str(npy_ok))
    assert "--target-patch-size must be at least 1" in err
