"""Runners and adapters that attack the harness: each is a prompt "target failed" (exit 3, one
stderr line, a report that cannot be forged), never a hang, a traceback, exit 0 or a process
left behind that could be killed; and ``serve`` answers every malformed request with
``protocol_error`` and keeps serving, writing nothing but JSON."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

import pytest

from torchlean_runtime.conformance.protocol import MAX_LINE_BYTES, PROTOCOL, ProcessTarget
from torchlean_runtime.conformance.target import open_target
from torchlean_runtime.conformance.vectors.replay import corpus_dir
from torchlean_runtime.errors import ProtocolError, TargetFailedError, TargetTimeoutError

HERE = Path(__file__).resolve().parent
CORPUS = Path(corpus_dir())
TRACE = CORPUS / "Runtime.getVariable" / "first-match-shape-mismatch.float64.json"
ENV = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")])}
FORGED = "PASS exec:forged"


def _runner(mode: str, pidfile: Path) -> str:
    return f"exec:{shlex.quote(sys.executable)} {HERE / 'hostile_runner.py'} {mode} {pidfile}"


def _replay(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    """``torchlean-rt replay`` as a user runs it: a process of its own (a sys.exit in adapter
    code would otherwise end pytest's)."""
    return subprocess.run([sys.executable, "-m", "torchlean_runtime", "replay", *args], capture_output=True,
                          text=True, env=ENV, timeout=timeout)


def _one_error_line(proc: subprocess.CompletedProcess, code: str) -> str:
    lines = proc.stderr.splitlines()
    errors = [ln for ln in lines if ln.startswith("torchlean-rt: error: ")]
    assert len(errors) == 1 and f"[{code}]" in errors[0], proc.stderr
    assert "Traceback" not in proc.stderr and "Traceback" not in proc.stdout, proc.stderr
    return errors[0]


def _no_forged_line(proc: subprocess.CompletedProcess) -> None:
    for line in (proc.stdout + proc.stderr).splitlines():
        assert not line.startswith(FORGED), line
    assert "\x1b" not in proc.stdout


# --- 1. a child escaping the process group (setsid) holding stdout ---------------------------


@pytest.mark.parametrize("mode", ["setsid-hang", "setsid-exit"])
def test_a_setsid_child_holding_stdout_cannot_hang_replay(tmp_path, mode, alive):
    pidfile = tmp_path / "pids"
    start = time.monotonic()
    proc = _replay(str(TRACE), "--target", _runner(mode, pidfile), "--timeout", "1.5", timeout=30)
    elapsed = time.monotonic() - start
    pids = list(map(int, pidfile.read_text().split()))
    try:
        assert proc.returncode == 3, proc.stdout + proc.stderr
        code = "TLR_TARGET_TIMEOUT" if mode == "setsid-hang" else "TLR_TARGET_FAILED"
        _one_error_line(proc, code)
        assert elapsed < 15
        if mode == "setsid-hang":  # the runner was alive: its escaped child was found and killed
            deadline = time.monotonic() + 5
            while any(map(alive, pids)) and time.monotonic() < deadline:
                time.sleep(0.05)
            assert not any(map(alive, pids)), "a process of the runner was left behind"
        else:  # the escaped child was re-parented: it cannot be reaped, but replay finished
            assert not alive(pids[0])
    finally:
        for pid in pids:
            try:
                os.kill(pid, 9)
            except (ProcessLookupError, PermissionError):
                pass


def test_a_runner_trickling_an_endless_answer_times_out(tmp_path):
    t = ProcessTarget([sys.executable, str(HERE / "hostile_runner.py"), "trickle", str(tmp_path / "pids")], timeout=1.5)
    t.reset("Float")
    start = time.monotonic()
    with pytest.raises(TargetTimeoutError):
        t.call("Runtime.emptyContext", {}, "c0")
    assert time.monotonic() - start < 5
    t.close()


# --- 2. long lines are read in linear time -------------------------------------------------


def test_a_long_answer_is_read_in_linear_time(tmp_path):
    size = 48 << 20
    t = ProcessTarget([sys.executable, str(HERE / "hostile_runner.py"), "long-line", str(tmp_path / "pids")],
                      timeout=60, env={**ENV, "HOSTILE_LINE_BYTES": str(size)})
    t.reset("Float")
    start = time.monotonic()
    answer = t.call("Runtime.emptyContext", {}, "c0")
    elapsed = time.monotonic() - start
    t.close()
    assert answer.message.startswith("aaa")  # type: ignore[union-attr]
    assert elapsed < 8, f"{elapsed:.1f}s to read a {size >> 20} MiB line (quadratic?)"
    assert size < MAX_LINE_BYTES


def test_a_line_over_the_limit_is_still_refused(tmp_path):
    t = ProcessTarget([sys.executable, str(HERE / "hostile_runner.py"), "long-line", str(tmp_path / "pids")],
                      timeout=60, env={**ENV, "HOSTILE_LINE_BYTES": str(MAX_LINE_BYTES + 10)})
    t.reset("Float")
    with pytest.raises(ProtocolError, match="longer than"):
        t.call("Runtime.emptyContext", {}, "c0")
    t.close()


# --- 3. runner-supplied text cannot forge report lines ----------------------------------------


@pytest.mark.parametrize("mode,status,code", [
    ("forged-code", 3, "TLR_PROTOCOL"),
    ("unknown-code", 3, "TLR_PROTOCOL"),
    ("forged-message", 1, None),
    ("forged-crash", 1, None),
])
def test_runner_text_cannot_forge_a_report_line(tmp_path, mode, status, code):
    proc = _replay(str(TRACE), "--target", _runner(mode, tmp_path / "pids"), "--timeout", "10")
    assert proc.returncode == status, proc.stdout + proc.stderr
    _no_forged_line(proc)
    if code:
        _one_error_line(proc, code)
        assert "stable codes" in proc.stdout


def test_an_adapter_name_and_code_cannot_forge_a_report_line():
    for factory, status in (("bad_name", 0), ("forged_code", 3)):
        proc = _replay(str(TRACE), "--target", f"module:hostile_adapters:{factory}")
        assert proc.returncode == status, proc.stdout + proc.stderr
        _no_forged_line(proc)


# --- 4. module: adapters that exit, raise BaseException or answer wrongly ----------------------


@pytest.mark.parametrize("factory,words", [
    ("exit0", "SystemExit"),
    ("exit_multiline", "SystemExit: multi"),
    ("raise_base", "_Base: a BaseException"),
    ("bad_observe", "not a torchlean_runtime.conformance.vectors.format.Result"),
    ("exit_in_tensor", "SystemExit"),
    ("exit_in_reset", "SystemExit"),
    ("exit_in_close", "SystemExit"),
    ("bare", "NotImplementedError"),
])
def test_a_misbehaving_module_adapter_is_a_target_failure(factory, words):
    proc = _replay(str(TRACE), "--target", f"module:hostile_adapters:{factory}")
    assert proc.returncode == 3, proc.stdout + proc.stderr
    line = _one_error_line(proc, "TLR_TARGET_FAILED")
    assert words in proc.stdout + line, proc.stdout + proc.stderr
    _no_forged_line(proc)


@pytest.mark.parametrize("selector,words", [
    ("module:hostile_adapter_import_exit:factory", "SystemExit: 3"),
    ("module:hostile_adapters:factory_exit", "SystemExit: 0"),
    ("module:hostile_adapters:factory_base", "_Base: from the factory"),
])
def test_an_adapter_that_cannot_be_loaded_is_a_selector_error(selector, words):
    """No target at all (the import or the factory exits or raises): the selector error, exit 2."""
    proc = _replay(str(TRACE), "--target", selector)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert words in _one_error_line(proc, "TLR_TARGET_SELECTOR")


def test_an_adapter_failing_at_close_is_reported_after_its_files():
    """Every file ran and passed; the failure at close is its own target_failed entry, not
    'target failed before the first file'."""
    proc = _replay(str(TRACE), "--target", "module:hostile_adapters:exit_in_close")
    assert proc.returncode == 3
    assert "target failed while closing" in proc.stdout and "before the first file" not in proc.stdout + proc.stderr


def test_adapter_failures_in_process_are_typed():
    sys.path.insert(0, str(HERE))
    try:
        target = open_target("module:hostile_adapters:raise_base")
        target.reset("Float")
        with pytest.raises(TargetFailedError, match=r"_Base: a BaseException\\x0aover two lines"):
            target.call("Runtime.emptyContext", {}, "c0")
        with pytest.raises(TargetFailedError, match="NotImplementedError"):
            open_target("module:hostile_adapters:bare").reset("Float")
    finally:
        sys.path.remove(str(HERE))


# --- 5-7. serve: bad ids, call before reset, bad handles ---------------------------------------


def test_serve_answers_every_malformed_request_and_keeps_serving():
    requests = [
        '{"id": "x\\ud800", "type": "reset", "scalar_type": "Float"}',
        '{"id": 1e400, "type": "hello", "protocol": "%s"}' % PROTOCOL,
        '{"id": NaN, "type": "hello", "protocol": "%s"}' % PROTOCOL,
        '{"id": 1.5, "type": "hello", "protocol": "%s"}' % PROTOCOL,
        '{"id": true, "type": "hello", "protocol": "%s"}' % PROTOCOL,
        '{"id": -1, "type": "hello", "protocol": "%s"}' % PROTOCOL,
        '{"id": 1, "type": "call", "op": "Runtime.emptyContext", "args": {}, "bind": "c0"}',  # before reset
        '{"id": 2, "type": "reset", "scalar_type": "Float"}',
        '{"id": 3, "type": "call", "op": "Runtime.emptyContext", "args": {}, "bind": "c\\n0"}',
        '{"id": 4, "type": "call", "op": "Runtime.emptyContext", "args": {}, "bind": ""}',
        '{"id": 5, "type": "call", "op": "Runtime.emptyContext", "args": {}, "bind": "%s"}' % ("c" * 65),
        '{"id": 6, "type": "call", "op": "Runtime.emptyContext", "args": {}, "bind": "c\\u0000"}',
        '{"id": 7, "type": "call", "op": "Runtime.contextSize", "args": {"ctx": "c\\u001b[2J"}}',
        '{"id": 8, "type": "call", "op": "Runtime.emptyContext", "args": {}, "bind": "c0"}',
        '{"id": 9, "type": "shutdown"}',
    ]
    proc = subprocess.run([sys.executable, "-m", "torchlean_runtime", "serve", "--target", "spec"],
                          input=("\n".join(requests) + "\n").encode(), capture_output=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    proc.stdout.decode("ascii")  # nothing but ASCII JSON
    answers = [json.loads(line, parse_constant=lambda c: pytest.fail(f"non-JSON constant {c}"))
               for line in proc.stdout.decode().splitlines()]
    assert len(answers) == len(requests)
    for answer in answers[:6]:
        assert answer["type"] == "protocol_error" and answer["id"] is None
    assert answers[6] == {"id": 1, "type": "protocol_error", "message": answers[6]["message"]}
    assert "before reset" in answers[6]["message"]
    assert answers[7] == {"id": 2, "type": "ok"}
    for answer, rid in zip(answers[8:13], range(3, 8)):
        assert answer["type"] == "protocol_error" and answer["id"] == rid, answer
    assert answers[13]["type"] == "result" and answers[14] == {"id": 9, "type": "ok"}
