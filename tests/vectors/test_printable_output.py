"""Strings read from input are printed escaped, never crash the command (attacker finding 4):
a lone surrogate (``\\ud800`` in JSON) in a message, a name, a claim or a detail is printed as
``\\ud800`` by the one helper ``errors.printable`` — on a strict UTF-8 stdout — and one bad
file never aborts the run of a directory.  Run as a user runs the command (subprocesses)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from torchlean_runtime.conformance.vectors.replay import corpus_dir, shown
from torchlean_runtime.errors import printable

CASE = Path(corpus_dir()) / "Runtime.emptyContext" / "empty.float64.json"


def run(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONIOENCODING="utf-8:strict", LC_ALL="C.UTF-8")
    return subprocess.run([sys.executable, "-m", "torchlean_runtime", *args], capture_output=True, text=True,
                          timeout=120, env=env, errors="replace")


def _no_crash(proc: subprocess.CompletedProcess, status: int) -> None:
    assert "Traceback" not in proc.stderr and "TLR_INTERNAL" not in proc.stderr, proc.stderr
    assert proc.returncode == status, (proc.returncode, proc.stdout, proc.stderr)


def test_printable_escapes_only_what_utf8_cannot_encode():
    assert printable("plain é ∑") == "plain é ∑"
    assert printable("a\udcffb") == "a\\xffb"  # an undecodable file-name byte
    assert printable("\ud800\udfff") == "\\ud800\\udfff"
    assert shown("x\ud800") == "x\\ud800"


def test_replay_a_lone_surrogate_in_a_message_is_escaped_and_the_run_goes_on(tmp_path):
    doc = json.loads(CASE.read_text())
    doc["steps"][0]["op"] = "\ud800"
    (tmp_path / "bad.json").write_text(json.dumps(doc))
    shutil.copy(CASE, tmp_path / "good.json")
    proc = run("replay", str(tmp_path), "--target", "spec", "--json")
    _no_crash(proc, 2)
    statuses = {Path(f["path"]).name: f["status"] for f in json.loads(proc.stdout)["files"]}
    assert statuses == {"bad.json": "unread", "good.json": "passed"}
    proc = run("replay", str(tmp_path), "--target", "spec")
    _no_crash(proc, 2)
    assert "\\ud800" in proc.stdout and "PASS spec" in proc.stdout
    assert "\\ud800" in proc.stderr and "[TLR_TRACE_FORMAT]" in proc.stderr


def fuzz_summary(**changes) -> dict:
    doc = {"format": "torchlean.runtime.fuzz-summary.v1", "target": "impl", "engine": "random", "seed": 7,
           "shard": "0/1", "workers": 1, "rounds": [0, 1], "cases": 100, "operations": 5000, "must_fail": 40,
           "not_covered": 0, "seconds": 1.5, "divergences": [], "target_failures": [], "harness_errors": []}
    doc.update(changes)
    return doc


def verify_report(**result_changes) -> dict:
    from torchlean_runtime.report import CheckResult, Report

    report = Report([CheckResult("a check", "method", "checked", "a claim", True, 0.5, "a detail")],
                    quick=True, planned=["a check"], wall_seconds=1.0)
    doc = json.loads(report.to_json())
    doc["results"][0].update(result_changes)
    return doc


def test_fuzz_merge_prints_a_lone_surrogate_escaped(tmp_path):
    path = tmp_path / "s.json"
    path.write_text(json.dumps(fuzz_summary(divergences=[{"message": "\ud800", "trace": "t\ud800.json"}])))
    proc = run("fuzz", "merge", str(path))
    _no_crash(proc, 1)
    assert "divergence: \\ud800 (trace: t\\ud800.json)" in proc.stdout


def test_verify_merge_prints_a_lone_surrogate_escaped(tmp_path):
    for field in ("name", "claim", "detail", "method"):
        doc = verify_report(**{field: "\ud800"})
        if field == "name":
            doc["planned"] = ["\ud800"]
        path = tmp_path / f"{field}.json"
        path.write_text(json.dumps(doc))
        proc = run("verify", "merge", str(path))
        _no_crash(proc, 0)
        if field != "claim":  # (the table shows name, method and detail; the claim is in --json)
            assert "\\ud800" in proc.stdout, proc.stdout
