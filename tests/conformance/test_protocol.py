"""torchlean.runtime.protocol.v1 end to end: ``serve`` as the oracle behind ``exec:``, and every
way a runner can misbehave — each is exit 3, "target failed at FILE step N" with the tail of
its stderr, within the timeout, and no process of the runner is left behind."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
import time
from pathlib import Path

import jsonschema
import pytest

from torchlean_runtime import cli
from torchlean_runtime.conformance.protocol import PROTOCOL, ProcessTarget
from torchlean_runtime.conformance.vectors.replay import corpus_dir, report_document, report_schema, run_replay
from torchlean_runtime.errors import ProtocolError, TargetFailedError, TargetTimeoutError

HERE = Path(__file__).resolve().parent
CORPUS = Path(corpus_dir())
TRACE = CORPUS / "Runtime.getVariable" / "first-match-shape-mismatch.float64.json"  # 12 steps
SERVE = f"{shlex.quote(sys.executable)} -m torchlean_runtime serve --target"


@pytest.mark.parametrize("impl,paths", [("impl", [CORPUS]), ("spec", [CORPUS / "Runtime.Variable.accumulateGradient"])])
def test_the_corpus_passes_through_serve(impl, paths, capsys):
    """Done means: from a fresh clone, replay CORPUS --target "exec:torchlean-rt serve --target impl" passes."""
    assert cli.main(["replay", *map(str, paths), "--target", f"exec:{SERVE} {impl}"]) == 0
    assert capsys.readouterr().out.splitlines()[-1].startswith("PASS: ")


def test_the_handshake_and_a_call_by_hand():
    proc = subprocess.run([sys.executable, "-m", "torchlean_runtime", "serve", "--target", "impl"],
                          input='{"id": 1, "type": "hello", "protocol": "torchlean.runtime.protocol.v1"}\n'
                                '{"id": 2, "type": "reset", "scalar_type": "Float"}\n'
                                '{"id": 3, "type": "call", "op": "Runtime.emptyContext", "args": {}, "bind": "c0"}\n'
                                '{"id": 4, "type": "call", "op": "Runtime.hasVariable", "args": {"ctx": "c0", "name": ""}}\n'
                                'garbage\n'
                                '{"id": 5, "type": "shutdown"}\n',
                          capture_output=True, text=True, timeout=60)
    answers = [json.loads(line) for line in proc.stdout.splitlines()]
    assert proc.returncode == 0
    assert answers[0]["type"] == "hello" and answers[0]["protocol"] == PROTOCOL and len(answers[0]["operations"]) == 34
    assert answers[1] == {"id": 2, "type": "ok"}
    assert answers[2] == {"id": 3, "type": "result",
                          "result": {"type": "context", "var_registry": [], "gradients": [], "next_id": 0}}
    assert answers[3] == {"id": 4, "type": "result", "result": {"type": "bool", "value": False}}
    assert answers[4]["type"] == "protocol_error"
    assert answers[5] == {"id": 5, "type": "ok"}


CASES = [  # mode, misbehaving at call, expected class, words in the message
    ("crash", 3, TargetFailedError, "exit status 7"),
    ("hang", 4, TargetTimeoutError, "no answer"),
    ("garbage", 2, ProtocolError, "not JSON"),
    ("close", 5, TargetFailedError, "closed its stdout"),
    ("two-lines", 1, ProtocolError, "wrote 2 lines in answer to"),
    ("wrong-id", 6, ProtocolError, "has id -1"),
    ("bad-result", 0, ProtocolError, "malformed result"),
    # the unsolicited line arrives while the next answer is awaited: read in its place
    # (or with the next answer, or before the next request: which one is a race)
    ("out-of-turn", 2, ProtocolError, "has id None|lines in answer to|out of turn"),
]


@pytest.mark.parametrize("mode,at,cls,words", CASES, ids=[c[0] for c in CASES])
def test_a_misbehaving_runner_is_a_target_failure(tmp_path, capsys, mode, at, cls, words, alive):
    pidfile = tmp_path / "pids"
    selector = f"exec:{shlex.quote(sys.executable)} {HERE / 'bad_runner.py'} {mode} {at} {pidfile}"
    start = time.monotonic()
    status = cli.main(["replay", str(TRACE), str(TRACE.with_name("absent.float64.json")), "--target", selector,
                       "--timeout", "2"])
    elapsed = time.monotonic() - start
    out = capsys.readouterr().out
    assert status == 3, out
    assert f"target failed at {TRACE} steps[{at}]: [{cls.code}]" in out and re.search(words, out), out
    assert f"bad_runner: misbehaving ({mode})" in out or mode == "out-of-turn"  # the stderr tail
    assert "NOT RUN" in out  # the second file: listed, not silently dropped
    assert elapsed < 30
    runner, child = map(int, pidfile.read_text().split())
    deadline = time.monotonic() + 5
    while (alive(runner) or alive(child)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(runner) and not alive(child), "a process of the runner was left behind"


def test_a_bad_handshake_and_a_missing_program_exit_3(tmp_path, capsys):
    pidfile = tmp_path / "pids"
    selector = f"exec:{shlex.quote(sys.executable)} {HERE / 'bad_runner.py'} bad-hello 0 {pidfile}"
    assert cli.main(["replay", str(TRACE), "--target", selector]) == 3
    assert "TLR_PROTOCOL" in capsys.readouterr().err
    assert cli.main(["replay", str(TRACE), "--target", "exec:/nonexistent/runner"]) == 3
    assert "cannot start" in capsys.readouterr().err


def test_a_failed_handshake_still_gives_the_json_report(tmp_path, capsys):
    """A harness reading --json gets a report even when the runner never starts."""
    assert cli.main(["replay", str(TRACE), "--target", "exec:/nonexistent/runner", "--json"]) == 3
    out = capsys.readouterr()
    doc = json.loads(out.out)
    jsonschema.validate(doc, report_schema())
    assert doc["exit_code"] == 3 and [f["status"] for f in doc["files"]] == ["target_failed"]
    assert "cannot start" in doc["files"][0]["problem"] and out.err.count("\n") == 1


def test_the_report_of_a_failed_target_names_the_step_and_keeps_stderr(tmp_path):
    pidfile = tmp_path / "pids"
    selector = f"exec:{shlex.quote(sys.executable)} {HERE / 'bad_runner.py'} crash 3 {pidfile}"
    doc = report_document(run_replay([str(TRACE)], selector, timeout=5))
    [entry] = doc["files"]
    assert doc["exit_code"] == 3 and entry["status"] == "target_failed" and entry["executed"] == 3
    assert "misbehaving (crash)" in entry["stderr_tail"]


def test_process_target_close_leaves_nothing(tmp_path, alive):
    t = ProcessTarget([sys.executable, "-m", "torchlean_runtime", "serve", "--target", "spec"], timeout=30)
    pid = t._proc.pid
    t.reset("Float")
    assert t.call("Runtime.emptyContext", {}, "c0").value.next_id == 0
    t.close()
    t.close()  # idempotent
    assert not alive(pid)
