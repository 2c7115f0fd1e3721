"""Issue 9 items 3–6 as regression tests: every reader stage is linear (adversarial complexity,
a per-MiB time bound), the directory walk reads or reports every path it meets and opens only
regular files, the work a trace asks for is bounded before it executes, and bad limit settings
in the environment are one-line typed errors with exit status 2."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from torchlean_runtime import cli
from torchlean_runtime.conformance.vectors import fuzz_reader as FZ
from torchlean_runtime.conformance.vectors import reader as R
from torchlean_runtime.conformance.vectors.format import FORMAT, LEAN_SOURCE
from torchlean_runtime.conformance.vectors.replay import collect_files, corpus_dir, run_replay
from torchlean_runtime.errors import TraceFormatError, TraceLimitError

#: Generous: the reader handles a MiB of the worst input found in well under a second on an
#: idle core; a quadratic stage takes minutes at this size (100 KB of escaped quotes took > 60 s).
SECONDS_PER_MIB = 5.0
CASE = Path(corpus_dir()) / "Runtime.emptyContext" / "empty.float64.json"


def _timed_read(data: bytes) -> float:
    start = time.perf_counter()
    try:
        R.read_trace_bytes(data, "<adversarial>")
    except (TraceFormatError, TraceLimitError):
        pass
    return time.perf_counter() - start


def test_unterminated_escaped_quotes_are_linear():
    """Issue 9 item 3: ``"\\"\\"\\"…`` without a closing quote made the structure scan quadratic."""
    data = b'{"a": "' + b'\\\\"' * (512 * 1024)  # 1 MiB
    assert _timed_read(data) < SECONDS_PER_MIB


@pytest.mark.parametrize("unit", FZ.ADVERSARIAL_UNITS)
@pytest.mark.parametrize("prefix", [b"", b'"', b'{"steps": ['])
def test_every_adversarial_unit_reads_within_the_per_mib_bound(unit, prefix):
    data = FZ.adversarial_document(unit, 1 << 18, prefix)
    assert _timed_read(data) < SECONDS_PER_MIB * len(data) / (1 << 20) + 0.5


def test_reader_time_grows_linearly():
    """Doubling the input at most about doubles the time (a quadratic stage would quadruple it)."""
    for unit in (b'\\\\"', b"[", b'"\\\\', b'{"a":'):
        small = min(_timed_read(FZ.adversarial_document(unit, 1 << 18, b'"')) for _ in range(3))
        big = min(_timed_read(FZ.adversarial_document(unit, 1 << 20, b'"')) for _ in range(3))
        assert big < 4 * 2.5 * max(small, 0.02), (unit, small, big)  # 4x the size; generous for noise


def test_adversarial_fuzz_campaign_is_clean():
    stats = FZ.fuzz_reader(None, seed=3, max_documents=300)
    assert stats.findings == [] and stats.documents == 300


# --- the walk (issue 9 item 4) --------------------------------------------------------------


def _statuses(paths):
    run = run_replay([str(p) for p in paths], "spec")
    return {Path(r.path).name: (r.status, r.problem) for r in run.results}, run


def test_a_fifo_is_reported_never_opened(tmp_path):
    fifo = tmp_path / "pipe.json"
    os.mkfifo(fifo)
    start = time.monotonic()
    got, _ = _statuses([fifo])
    assert got["pipe.json"][0] == "unread" and "FIFO" in got["pipe.json"][1]
    got, _ = _statuses([tmp_path])  # met inside a directory walk too
    assert got["pipe.json"][0] == "unread"
    with pytest.raises(TraceFormatError, match="not a regular file"):
        R.read_trace(fifo)  # opened non-blocking, refused by fstat
    assert time.monotonic() - start < 10


def test_dangling_links_and_loops_are_reported(tmp_path, capsys):
    (tmp_path / "good.json").write_bytes(CASE.read_bytes())
    (tmp_path / "dangling.json").symlink_to(tmp_path / "nowhere.json")
    (tmp_path / "loop.json").symlink_to(tmp_path / "loop.json")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "up").symlink_to(tmp_path)  # a directory link loop
    got, _ = _statuses([tmp_path])
    assert got["good.json"][0] == "passed"
    assert got["dangling.json"] == ("unread", "unread: a dangling symbolic link")
    assert got["loop.json"] == ("unread", "unread: a symbolic link loop")
    assert got["up"][0] == "unread" and "loop" in got["up"][1]
    assert cli.main(["replay", str(tmp_path), "--target", "spec"]) == 2  # never exit 0 with a skip
    capsys.readouterr()


def test_a_1100_deep_directory_is_walked():
    import tempfile

    # not pytest's tmp_path: its clean-up (shutil.rmtree) recurses and fails on this tree
    tmp_path = Path(tempfile.mkdtemp(prefix="tlr-deep-"))
    d, made = tmp_path, []
    try:
        for _ in range(1100):  # os.makedirs itself recurses
            d = d / "d"
            d.mkdir()
            made.append(d)
        (d / "deep.json").write_bytes(CASE.read_bytes())
        files, problems, _ = collect_files([str(tmp_path)])
        assert problems == [] and len(files) == 1 and files[0].endswith("deep.json")
    finally:  # shutil.rmtree (pytest's clean-up) recurses too: remove bottom-up
        (d / "deep.json").unlink(missing_ok=True)
        for p in reversed(made):
            p.rmdir()
        tmp_path.rmdir()


def test_a_non_utf8_file_name_prints_on_a_strict_utf8_stdout(tmp_path):
    name = os.fsencode(str(tmp_path)) + b"/bad-\xff\xfe.json"
    with open(name, "wb") as fh:
        fh.write(CASE.read_bytes())
    env = dict(os.environ, PYTHONIOENCODING="utf-8:strict", LC_ALL="C.UTF-8")
    for extra in ([], ["--json"]):
        proc = subprocess.run([sys.executable, "-m", "torchlean_runtime", "replay", str(tmp_path), "--target", "spec", *extra],
                              capture_output=True, env=env, timeout=120)
        assert proc.returncode == 0, proc.stderr.decode()[-2000:]
        assert b"Traceback" not in proc.stderr
        if extra:
            [entry] = json.loads(proc.stdout)["files"]
            assert entry["path"].endswith("bad-\\xff\\xfe.json")
        else:
            assert b"bad-\\xff\\xfe.json" in proc.stdout


# --- the work bound (issue 9 item 6) --------------------------------------------------------


def _doc(steps):
    return {"format": FORMAT, "lean": dict(LEAN_SOURCE), "scalar_type": "Float",
            "generator": {"name": "t", "version": "0"}, "steps": steps}


def test_a_cheap_file_asking_for_hours_is_refused_before_executing(tmp_path):
    """One Variable of 5×10^5 elements and 10^4 variableNorm steps (4.9 MB, within every other
    limit) asks for about 5×10^9 element-visits."""
    n, norms = 500_000, 9_999
    value = {"shape": [n], "dtype": "float64", "bits": ["0"] * n}
    create = {"op": "Runtime.Variable.createVariable", "args": {"id": 0, "name": "v", "value": value}, "bind": "v0",
              "expect": {"type": "variable", "id": 0, "name": "v", "value": value, "gradient": None, "requires_grad": True}}
    norm = {"op": "Runtime.Variable.variableNorm", "args": {"v": "v0"}, "expect": {"type": "scalar", "dtype": "float64", "bits": "0"}}
    path = tmp_path / "hours.json"
    path.write_text(json.dumps(_doc([create] + [norm] * norms), separators=(",", ":")))
    assert path.stat().st_size < R.DEFAULT_LIMITS.max_file_bytes
    start = time.monotonic()
    with pytest.raises(TraceLimitError, match="max_work") as info:
        R.read_trace(path)
    assert info.value.code == "TLR_TRACE_LIMIT" and time.monotonic() - start < 30
    assert R.trace_work.__doc__  # documented next to the limit


def test_every_corpus_file_is_far_below_the_work_bound():
    files, _, _ = collect_files([corpus_dir()])
    worst = max(R.trace_work(R.read_trace(f)) for f in files[::7])
    assert worst < R.DEFAULT_LIMITS.max_work / 1000


# --- limit settings from the environment (issue 9 item 5) -----------------------------------


@pytest.mark.parametrize("value", ["abc", "-1", "lots", "1.5"])
def test_a_bad_limit_setting_is_one_line_and_exit_2(value):
    env = dict(os.environ, TORCHLEAN_RT_TRACE_MAX_STEPS=value)
    proc = subprocess.run([sys.executable, "-m", "torchlean_runtime", "replay", str(CASE), "--target", "spec"],
                          capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "[TLR_ENVIRONMENT]" in lines[0] and "TORCHLEAN_RT_TRACE_MAX_STEPS" in lines[0]
