"""Malformed session files: each is refused by ``SessionState.load`` with one error naming the
file and the field, before anything could use it (issue 13's hostile sessions)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from engine.errors import BytescopeError, FormatError, InputError
from gui.model.session import MAX_SESSION_BYTES, SessionState

DEPTH = 200_000  # far past the recursion limit of json's parser

# (id, the session's fields over a valid one, what the error says): the six first
BAD_FIELDS = [
    ("patcher-number", {"patcher": 5}, "'patcher' must be an object"),
    ("compare-k-text", {"compare": {"k": "abc"}}, "'k' must be a whole number"),
    ("locus-number", {"locus": 12345}, "'locus' must be null or the locus box's text"),
    ("model-number", {"model": 123}, "'model' must be"),
    ("files-string", {"files": "a/path"}, "'files' must be a list of file names"),
    ("patcher-mode", {"patcher": {"mode": "nonsense"}}, "'patcher': unknown patching mode"),
    ("patcher-flag", {"patcher": {"mode": "entropy", "add_bos": "yes"}},
     "'patcher': add_bos must be true or false"),
    ("patcher-threshold", {"patcher": {"mode": "entropy", "threshold": "high"}},
     "'patcher': threshold must be a finite number"),
    ("patcher-key", {"patcher": {"mode": "entropy", "colour": 1}},
     "'patcher': unknown patcher settings: colour"),
    ("compare-number", {"compare": 7}, "'compare' must be an object"),
    ("compare-k-bool", {"compare": {"k": True}}, "'k' must be a whole number"),
    ("compare-k-negative", {"compare": {"k": -1, "anchor": "start"}}, "not -1"),
    ("compare-k-huge", {"compare": {"k": 10**12}}, "0 to 10,000"),
    ("compare-anchor", {"compare": {"anchor": "middle"}}, "'anchor' must be one of"),
    ("compare-key", {"compare": {"k": 2, "window": 5}}, "'compare': unknown settings 'window'"),
    ("locus-empty", {"locus": "  "}, "'locus' must be null"),
    ("locus-from-0", {"locus": "chrT:0-100"}, "positions count from 1"),
    ("locus-backwards", {"locus": "chrT:500-100"}, "END is before START"),
    ("locus-list", {"locus": ["chrT"]}, "'locus' must be null"),
    ("model-empty", {"model": ""}, "'model' must be"),
    ("model-null", {"model": None}, "'model' must be"),
    ("files-numbers", {"files": [1, 2]}, "'files' must be a list"),
    ("files-blank", {"files": ["a.fa", ""]}, "'files' must be a list"),
    ("files-nul", {"files": ["a\0b.fa"]}, "'files' must be a list"),
    ("files-null", {"files": None}, "'files' must be a list"),
    ("annotations-string", {"annotations": "genes.gff3"}, "'annotations' must be a list"),
    ("record-list", {"record": ["x.fa", "chrT"]}, "'record' must be null or"),
    ("record-path-number", {"record": {"path": 1, "id": "chrT"}}, "'record' must be null or"),
    ("record-no-id", {"record": {"path": "x.fa"}}, "'record' must be null or"),
    ("entropies-number", {"entropies": 5}, "'entropies' must be null or a file name"),
    ("repeats-text", {"repeats": "false"}, "'repeats' must be true or false"),
]


def write_session(path: Path, fields: dict) -> Path:
    path.write_text(json.dumps({"version": 2, "files": [], **fields}))
    return path


@pytest.mark.parametrize("fields, message", [(f, m) for _, f, m in BAD_FIELDS],
                         ids=[i for i, _, _ in BAD_FIELDS])
def test_a_malformed_field_is_one_format_error_naming_the_file_and_the_field(
        tmp_path, fields, message):
    path = write_session(tmp_path / "bad.json", fields)
    with pytest.raises(FormatError) as error:
        SessionState.load(path)
    assert error.value.path == str(path)
    assert "malformed session" in str(error.value) and message in str(error.value)
    assert str(error.value).count("\n") == 0 and len(str(error.value)) < 400


def test_a_long_bad_value_is_cut_in_the_message(tmp_path):
    path = write_session(tmp_path / "bad.json", {"files": "x" * 100_000})
    with pytest.raises(FormatError) as error:
        SessionState.load(path)
    assert len(str(error.value)) < 300 and "..." in str(error.value)


def test_json_nested_200k_deep_is_a_format_error_not_a_recursion_error(tmp_path):
    path = tmp_path / "deep.json"
    path.write_text('{"version": 2, "files": ' + "[" * DEPTH + "]" * DEPTH + "}")
    with pytest.raises(FormatError, match="nested too deeply") as error:
        SessionState.load(path)
    assert error.value.path == str(path)


@pytest.mark.parametrize("version", [True, 2.0, "2", None, 3])
def test_only_a_whole_number_version_1_or_2_is_a_session(tmp_path, version):
    path = tmp_path / "s.json"
    path.write_text(json.dumps({"version": version}))
    with pytest.raises(FormatError, match="not a bytescope session"):
        SessionState.load(path)


def test_a_version_1_session_is_checked_as_well(tmp_path):
    path = tmp_path / "old.json"
    path.write_text(json.dumps({"version": 1, "locus": 12345}))
    with pytest.raises(FormatError, match="'locus'"):
        SessionState.load(path)


def test_a_json_list_is_not_a_session(tmp_path):
    path = tmp_path / "s.json"
    path.write_text("[1, 2]")
    with pytest.raises(FormatError, match="not a bytescope session"):
        SessionState.load(path)


def test_a_folder_is_refused(tmp_path):
    with pytest.raises(InputError, match="is a folder"):
        SessionState.load(tmp_path)


def test_a_fifo_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "s.json"
    os.mkfifo(fifo)  # opening it for reading would wait for a writer forever
    with pytest.raises(InputError, match="not a regular file"):
        SessionState.load(fifo)


def test_a_huge_file_is_refused_without_reading_it(tmp_path):
    path = tmp_path / "huge.json"
    with open(path, "wb") as handle:
        handle.truncate(MAX_SESSION_BYTES + 1)  # sparse: nothing written
    with pytest.raises(FormatError, match="a session is at most"):
        SessionState.load(path)


def test_a_binary_file_is_not_a_text_file(tmp_path):
    path = tmp_path / "s.json"
    path.write_bytes(b"\xff\xfe{\x00")
    with pytest.raises(FormatError, match="not a text file"):
        SessionState.load(path)


def test_a_symlink_loop_cannot_be_read(tmp_path):
    loop = tmp_path / "loop.json"
    loop.symlink_to(loop)
    with pytest.raises(InputError, match="cannot read") as error:
        SessionState.load(loop)
    assert error.value.path == str(loop)


def test_a_good_session_still_loads_with_every_field(tmp_path):
    state = SessionState(files=["a.fa"], annotations=["g.gff3"],
                         record={"path": "a.fa", "id": "chrT"}, locus="chrT:101-200",
                         model="fast", repeats=False, entropies="e.npy",
                         compare={"k": 10, "anchor": "five_prime"})
    state.save(tmp_path / "s.json")
    assert SessionState.load(tmp_path / "s.json") == state


def test_a_session_save_that_cannot_write_names_the_file_not_its_temporary(tmp_path):
    target = tmp_path / "s.json"
    target.mkdir()  # the rename onto it fails, on the temporary file's name
    with pytest.raises(BytescopeError, match="cannot write") as error:
        SessionState().save(target)
    assert error.value.path == str(target) and ".tmp" not in str(error.value)
    assert [p.name for p in tmp_path.iterdir()] == ["s.json"]
