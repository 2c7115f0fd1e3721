"""Hostile paths and numbers on the command line (attacker findings): `verify merge` and
`fuzz merge` never open a FIFO, directory or device for reading and bound the JSON they parse;
every numeric option of fuzz and verify is range-checked before any process starts; the shared
helper torchlean_runtime.files is what every reader uses.  One stderr line, exit 2, no hang
(subprocesses with a timeout), never TLR_INTERNAL."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from torchlean_runtime import files
from torchlean_runtime.conformance.vectors import reader as R
from torchlean_runtime.errors import TraceFormatError

pytestmark = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "torchlean_runtime", *args], capture_output=True, text=True, timeout=120)


def one_error(proc: subprocess.CompletedProcess, code: str, status: int = 2) -> str:
    assert "Traceback" not in proc.stderr + proc.stdout, proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("torchlean-rt: error: ") and f"[{code}]" in lines[0], proc.stderr
    assert "TLR_INTERNAL" not in lines[0]
    assert proc.returncode == status, (proc.returncode, proc.stderr)
    return lines[0]


@pytest.fixture
def fifo(tmp_path):
    path = tmp_path / "pipe.json"
    os.mkfifo(path)
    return path


# --- the shared helper -----------------------------------------------------------------------


def test_open_regular_refuses_what_is_not_a_regular_file(fifo, tmp_path):
    for bad in (fifo, tmp_path, "/dev/null"):
        with pytest.raises(files.NotRegularFileError, match="not a regular file"):
            files.open_regular(bad)
    ok = tmp_path / "ok"
    ok.write_bytes(b"12345")
    (tmp_path / "link").symlink_to(ok)
    assert files.read_regular(tmp_path / "link", 2) == b"123"  # at most limit + 1 bytes
    with pytest.raises(FileNotFoundError):
        files.open_regular(tmp_path / "missing")
    with pytest.raises(TraceFormatError, match="not a regular file"):  # the trace reader uses it too
        R.read_trace(fifo)


def test_check_regular_or_absent(fifo, tmp_path):
    files.check_regular_or_absent(tmp_path / "missing")
    (tmp_path / "f").write_text("x")
    files.check_regular_or_absent(tmp_path / "f")
    (tmp_path / "l").symlink_to(tmp_path / "f")
    for bad in (fifo, tmp_path, tmp_path / "l"):
        with pytest.raises(files.NotRegularFileError):
            files.check_regular_or_absent(bad)


def test_json_depth_is_linear_and_ignores_strings():
    assert files.json_depth(b'{"a": [1, {"b": "[[[[{{"}]}') == 3
    assert files.json_depth("[" * 200_000) == 200_000
    assert files.json_depth('"unterminated [[[') == 0


# --- verify merge ------------------------------------------------------------------------------


def test_verify_merge_of_a_fifo_or_a_directory_is_refused(fifo, tmp_path):
    for bad in (fifo, tmp_path):
        assert "not a regular file" in one_error(run("verify", "merge", str(bad)), "TLR_USAGE")


@pytest.mark.parametrize("text", [
    "[" * 100_000 + "]" * 100_000,
    '{"results": ' + "[" * 5000 + "]" * 5000 + ', "quick": false, "planned": [], "wall_seconds": 0}',
    '{"results": [], "quick": false, "planned": [[1]], "wall_seconds": 0}',
    '{"results": [], "quick": false, "planned": [], "wall_seconds": ' + "9" * 400 + "}",
    '{"results": [{"name": ["x"], "method": "m", "label": "l", "claim": "c", "passed": true, "seconds": 0, "detail": ""}],'
    ' "quick": false, "planned": [], "wall_seconds": 0}',
    '{"results": [{"name": "x", "method": "m", "label": "l", "claim": "c", "passed": true, "seconds": "fast", "detail": ""}],'
    ' "quick": false, "planned": ["x"], "wall_seconds": 0}',
    "\xff\xfe not utf-8",
])
def test_verify_merge_of_a_hostile_report_is_a_usage_error(tmp_path, text):
    path = tmp_path / "r.json"
    path.write_bytes(text.encode("latin-1"))
    one_error(run("verify", "merge", str(path)), "TLR_USAGE")


# --- fuzz and verify numbers -------------------------------------------------------------------


@pytest.mark.parametrize("args", [
    ["--workers", "100000"], ["--workers", "0"], ["--workers", "-3"],
    ["--programs", "0"], ["--programs", "-5"],
    ["--timeout", "-1"], ["--timeout", "0"], ["--timeout", "inf"], ["--timeout", "nan"],
    ["--seconds", "inf"], ["--seconds", "nan"], ["--seconds", "0"],
    ["--rounds", "0"], ["--seed", "-1"], ["--shard", "3/2"], ["--shrink-replays", "0"], ["--shrink-replays", "x"],
    ["--engine", "hypothesis"],
])
def test_fuzz_numeric_options_are_range_checked(args):
    one_error(run("fuzz", "--rounds", "1", *args), "TLR_USAGE")


def test_fuzz_help_documents_the_worker_bound():
    assert "at most 64" in " ".join(run("fuzz", "--help").stdout.split())


@pytest.mark.parametrize("jobs", ["0", "-1", "100000"])
def test_verify_jobs_is_range_checked(jobs):
    one_error(run("verify", "--list", "--jobs", jobs), "TLR_USAGE")


def test_fuzz_merge_of_hostile_summaries(fifo, tmp_path):
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000)
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"format": "torchlean.runtime.fuzz-summary.v1", "seed": 1, "target": "impl",
                               "rounds": [1, "x"], "divergences": [7]}))
    for path in (fifo, tmp_path, deep, bad):
        one_error(run("fuzz", "merge", str(path)), "TLR_TRACE_FORMAT")
