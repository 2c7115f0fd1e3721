"""What an outside implementer meets first (the defects a fresh user reported): exit statuses,
reproduce commands, shard numbering, runner messages, which implementations a report ran, the
hostile caller's explanations.  Expected values come from docs/conformance.md, docs/protocol.md
and the README, never from the code under test."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from torchlean_runtime import cli

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
PY = shlex.quote(sys.executable)

# a runner answering like `serve --target spec`, but whose hello declares OPERATIONS (JSON)
RUNNER = """
import json, sys
from torchlean_runtime.conformance.protocol import _answer
from torchlean_runtime.conformance.target import spec_target
target = spec_target()
ops = json.loads(sys.argv[1])
stray = sys.argv[2] if len(sys.argv) > 2 else ""
for line in sys.stdin:
    request = json.loads(line)
    answer = _answer(target, request)
    if request.get("type") == "hello" and ops is not None:
        answer["operations"] = ops
    if stray and request.get("type") == stray:
        sys.stdout.write("debug: " + stray + "\\n")
    sys.stdout.write(json.dumps(answer) + "\\n")
    sys.stdout.flush()
"""


def _runner(tmp_path: Path, ops, stray: str = "") -> str:
    script = tmp_path / "runner.py"
    script.write_text(RUNNER)
    return f"exec:{PY} {shlex.quote(str(script))} {shlex.quote(json.dumps(ops))} {stray}".rstrip()


def _doc_exit_table() -> dict[int, str]:
    text = (ROOT / "docs" / "conformance.md").read_text(encoding="utf-8")
    section = text[text.index("## Exit status (replay and fuzz)"):]
    section = section[:section.index("\n## ", 5)]
    return {int(line.split("|")[1]): line.split("|")[2] for line in section.splitlines() if line.startswith("| ") and line.split("|")[1].strip().isdigit()}


# --- 2. fuzz's exit status follows the documented table -------------------------------------


def test_the_doc_says_nothing_covered_is_status_1():
    assert "nothing covered at all" in _doc_exit_table()[1]


def test_fuzz_with_nothing_covered_exits_1(tmp_path, capsys):
    status = cli.main(["fuzz", "--rounds", "1", "--programs", "3", "--seed", "1", "--out", str(tmp_path / "f"),
                       "--target", _runner(tmp_path, [])])
    out = capsys.readouterr().out
    assert status == 1, out
    assert "nothing covered" in out


def test_replay_with_nothing_covered_exits_1_too(tmp_path, capsys):
    corpus = ROOT / "torchlean_runtime" / "conformance" / "vectors" / "corpus" / "random"
    status = cli.main(["replay", str(corpus), "--target", _runner(tmp_path, [])])
    assert status == 1


def test_fuzz_merge_of_campaigns_that_covered_nothing_exits_1(tmp_path, capsys):
    summary = tmp_path / "s.json"
    cli.main(["fuzz", "--rounds", "1", "--programs", "3", "--seed", "1", "--out", str(tmp_path / "f"),
              "--json", str(summary), "--target", _runner(tmp_path, [])])
    assert cli.main(["fuzz", "merge", str(summary), str(summary)]) == 1
    assert "nothing covered" in capsys.readouterr().out
