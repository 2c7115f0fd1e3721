"""``fuzz merge`` and ``verify merge`` validate every input against its published JSON Schema
(attacker finding 5): a bad field is one typed error naming the file and the field — never
TLR_INTERNAL (results[0].label = "x" was a KeyError), never silently merged (cases -1, float or
bool counts, any type of seed/shard/engine, ok/quick/shard/labels of any type, wall_seconds -1)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from torchlean_runtime.proofs.differential import fuzz
from torchlean_runtime.report import CheckResult, Report
from torchlean_runtime.schemas import first_error


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "torchlean_runtime", *args], capture_output=True, text=True, timeout=120)


def one_error(proc: subprocess.CompletedProcess, code: str) -> str:
    assert "Traceback" not in proc.stderr and "TLR_INTERNAL" not in proc.stderr, proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and f"[{code}]" in lines[0], proc.stderr
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    return lines[0]


def summary(**changes) -> dict:
    doc = {"format": fuzz.SUMMARY_FORMAT, "target": "impl", "engine": "random", "seed": 7, "shard": "0/1",
           "workers": 1, "rounds": [0, 1], "cases": 100, "operations": 5000, "must_fail": 40, "not_covered": 0,
           "seconds": 1.5, "divergences": [], "target_failures": [], "harness_errors": []}
    doc.update(changes)
    return doc


def report(top: dict | None = None, **result_changes) -> dict:
    r = Report([CheckResult("a check", "m", "checked", "a claim", True, 0.5, "d")], quick=True, planned=["a check"],
               wall_seconds=1.0)
    doc = json.loads(r.to_json())
    doc["results"][0].update(result_changes)
    doc.update(top or {})
    return doc


def test_the_schemas_accept_what_the_tools_write(tmp_path):
    assert first_error(summary(), "torchlean_runtime.conformance", fuzz.SUMMARY_SCHEMA) is None
    merged = fuzz._merged([summary(), summary(seed=8)])
    assert first_error(merged, "torchlean_runtime.conformance", fuzz.SUMMARY_SCHEMA) is None
    assert first_error(report(), "torchlean_runtime", "verify_report_schema_v1.json") is None
    sharded = Report([], quick=False, shard=(1, 3), planned=["x"], wall_seconds=0.0)
    assert first_error(json.loads(sharded.to_json()), "torchlean_runtime", "verify_report_schema_v1.json") is None


@pytest.mark.parametrize("field,value", [
    ("cases", -1), ("cases", 1.5), ("cases", True), ("cases", 3.0), ("operations", "5"), ("must_fail", None),
    ("seed", "x"), ("seed", 1.0), ("seed", -1), ("shard", 3), ("engine", 5), ("engine", ["random"]),
    ("workers", 0), ("workers", False), ("rounds", [0, -1]), ("rounds", [0.5]), ("seconds", -1), ("seconds", "1"),
    ("target", 1), ("target_failures", "x"), ("target_failures", [1]), ("harness_errors", [None]),
    ("divergences", [{"message": 1, "trace": None}]), ("divergences", [{"message": "m"}]), ("not_covered", -3),
])
def test_fuzz_merge_names_the_file_and_the_field(tmp_path, field, value):
    path = tmp_path / "s.json"
    path.write_text(json.dumps(summary(**{field: value})))
    line = one_error(run("fuzz", "merge", str(path)), "TLR_TRACE_FORMAT")
    assert str(path) in line and f"$.{field}" in line, line


@pytest.mark.parametrize("top,result", [
    ({}, {"label": "x"}), ({}, {"label": 3}), ({}, {"passed": "yes"}), ({}, {"seconds": -1}), ({}, {"seconds": True}),
    ({}, {"name": None}), ({}, {"detail": 5}),
    ({"ok": "yes"}, {}), ({"quick": 1}, {}), ({"quick": "false"}, {}), ({"shard": "0/2"}, {}), ({"shard": [0]}, {}),
    ({"shard": [0.0, 2]}, {}), ({"shard": [-1, 2]}, {}), ({"labels": []}, {}), ({"labels": {"proved": 1}}, {}),
    ({"wall_seconds": -1}, {}), ({"wall_seconds": "1"}, {}), ({"planned": "a check"}, {}), ({"planned": [1]}, {}),
    ({"summary": 7}, {}),
])
def test_verify_merge_names_the_file_and_the_field(tmp_path, top, result):
    path = tmp_path / "r.json"
    path.write_text(json.dumps(report(top, **result)))
    line = one_error(run("verify", "merge", str(path)), "TLR_USAGE")
    field = next(iter(top or result))
    assert str(path) in line and field in line and "$." in line, line
