"""The command line's error discipline, run as a user runs it (subprocesses): no command prints
a Python traceback; each failure is one line on stderr with its stable code; bad usage and bad
environment exit 2; an output path is checked before any work."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest


def run(*args: str, cwd=None, env_extra: dict | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    env = dict(os.environ, **(env_extra or {}))
    return subprocess.run([sys.executable, "-m", "torchlean_runtime", *args], capture_output=True, text=True,
                          cwd=cwd, env=env, timeout=timeout)


def assert_one_line_error(proc: subprocess.CompletedProcess, code: str, status: int = 2) -> None:
    assert "Traceback" not in proc.stderr + proc.stdout, proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("torchlean-rt: error: ") and f"[{code}]" in lines[0], lines[0]
    assert proc.returncode == status, (proc.returncode, proc.stderr)


def test_verify_json_into_a_missing_folder_fails_before_the_run(tmp_path):
    proc = run("verify", "--quick", "--only", "coverage*", "--json", str(tmp_path / "no" / "such" / "r.json"))
    assert_one_line_error(proc, "TLR_OUTPUT_PATH")
    assert "[1/" not in proc.stderr and proc.stdout == ""  # nothing ran


def test_verify_json_under_a_regular_file_and_onto_a_directory(tmp_path):
    (tmp_path / "f").write_text("x")
    assert_one_line_error(run("verify", "--only", "coverage*", "--json", str(tmp_path / "f" / "r.json")),
                          "TLR_OUTPUT_PATH")
    assert_one_line_error(run("verify", "--only", "coverage*", "--json", str(tmp_path)), "TLR_OUTPUT_PATH")


def test_mutants_json_path_is_checked_first_too(tmp_path):
    proc = run("verify", "--quick", "--mutants", "--only", "spec-float*", "--json", str(tmp_path / "no" / "m.json"))
    assert_one_line_error(proc, "TLR_OUTPUT_PATH")


def test_vectors_generate_into_an_unwritable_path_is_one_line(tmp_path):
    (tmp_path / "f").write_text("x")
    proc = run("vectors", "generate", str(tmp_path / "f" / "out"))
    assert_one_line_error(proc, "TLR_OUTPUT_PATH")  # the output-path class of TLR_PATH, as verify --json


@pytest.mark.parametrize("args", [["verify", "--only", "no-such-check-anywhere"],
                                  ["verify", "--mutants", "--only", "no-such-mutant-anywhere", "--list"],
                                  ["verify", "--shard", "3/2"],
                                  ["verify", "--shard", "x"],
                                  ["verify", "--jobs", "0"]])
def test_bad_usage_is_one_line_and_exit_2(args):
    assert_one_line_error(run(*args), "TLR_USAGE")


def test_merge_of_something_that_is_not_a_report(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("[1, 2")
    assert_one_line_error(run("verify", "merge", str(bad)), "TLR_USAGE")
    assert_one_line_error(run("verify", "merge", str(tmp_path / "missing.json")), "TLR_USAGE")


@pytest.mark.parametrize("args", [["verify", "--no-such-flag"], ["nosuchcmd"], ["replay"], ["verify", "--jobs", "x"],
                                  ["verify", "merge"], ["params"], ["vectors"], ["fuzz", "--rounds", "many"],
                                  ["replay", "x.json", "--timeout", "inf"], ["replay", "x.json", "--timeout", "nan"]])
def test_argparse_usage_errors_are_one_line_and_exit_2(args):
    assert_one_line_error(run(*args), "TLR_USAGE")


def test_replay_of_unreadable_input_reports_and_says_so_on_one_stderr_line(tmp_path):
    """Exit 2 (unread input): the report on stdout lists every file, and stderr has the one
    line naming the first unread input with its code."""
    (tmp_path / "bad.json").write_text('{"x":')
    proc = run("replay", str(tmp_path / "missing.json"), "--target", "spec")
    assert_one_line_error(proc, "TLR_PATH")
    assert "missing.json" in proc.stderr and "unread" in proc.stdout
    proc = run("replay", str(tmp_path / "bad.json"), "--target", "spec")
    assert_one_line_error(proc, "TLR_TRACE_FORMAT")
    proc = run("replay", str(tmp_path / "bad.json"), "--target", "exec:/nonexistent/program")
    assert_one_line_error(proc, "TLR_TARGET_FAILED", 3)


def test_help_says_what_only_filters_with_mutants():
    text = " ".join(run("verify", "--help").stdout.split())
    assert "with --mutants it filters the MUTANTS" in text and "--list" in text and "--shard" in text


def test_list_names_every_check_and_every_mutant():
    checks = run("verify", "--list", "--quick")
    assert checks.returncode == 0 and "coverage: Lean declarations" in checks.stdout
    assert "value semantics: hostile caller (float64)" in checks.stdout
    mutants = run("verify", "--mutants", "--list")
    from torchlean_runtime.proofs.mutants import MUTANTS

    assert mutants.returncode == 0 and mutants.stdout.split() == [m.name for m in MUTANTS]


def test_sharded_cli_runs_merge_to_the_unsharded_one(tmp_path):
    """`--shard I/N` + `verify merge` on a real subset (the Lean-derived conformance groups)."""
    whole = tmp_path / "whole.json"
    assert run("verify", "--quick", "--only", "conformance:*", "--json", str(whole)).returncode == 0
    parts = []
    for i in (1, 2):
        part = tmp_path / f"part{i}.json"
        assert run("verify", "--quick", "--only", "conformance:*", "--shard", f"{i}/2", "--json", str(part)).returncode == 0
        parts.append(str(part))
    merged_json = tmp_path / "merged.json"
    merged = run("verify", "merge", *parts, "--json", str(merged_json))
    assert merged.returncode == 0, merged.stderr
    strip = lambda d: [(r["name"], r["label"], r["passed"], r["detail"]) for r in d["results"]]
    a, b = json.loads(whole.read_text()), json.loads(merged_json.read_text())
    assert strip(a) == strip(b) and a["ok"] == b["ok"] is True and len(a["results"]) >= 2


# Every variable a command reads (docs: README "Environment"), with values outside its domain.
BAD_ENVIRONMENT = [("TORCHLEAN_RT_TRACE_MAX_STEPS", "abc"), ("TORCHLEAN_RT_TRACE_MAX_STEPS", "-1"),
                   ("TORCHLEAN_RT_TRACE_MAX_WORK", "1e9"), ("TORCHLEAN_RT_SPEC_MAX_ELEMENTS", "lots"),
                   ("TORCHLEAN_RT_SPEC_MAX_ELEMENTS", "-5"), ("TORCHLEAN_RT_MAX_PRINT_CHARS", "0x10"),
                   ("TORCHLEAN_RT_CHECK", "on"), ("TORCHLEAN_RT_CHECK", "1"), ("TORCHLEAN_RT_KERNELS", "maybe"),
                   ("TORCHLEAN_RT_TRACE_MAX_STEP", "3")]  # a misspelt name: refused, not silently ignored


@pytest.mark.parametrize("var,value", BAD_ENVIRONMENT)
def test_bad_environment_is_one_line_and_exit_2_before_any_work(var, value, tmp_path):
    """A bad value is refused up front (TLR_ENVIRONMENT, exit 2), not inside the run: verify
    prints no table, replay reads no file."""
    proc = run("verify", "--quick", "--only", "coverage*", env_extra={var: value}, cwd=tmp_path)
    assert_one_line_error(proc, "TLR_ENVIRONMENT")
    assert var in proc.stderr and proc.stdout == ""


@pytest.mark.parametrize("args", [["replay", "NOWHERE"], ["vectors", "generate", "out"], ["fuzz", "--rounds", "1"],
                                  ["serve", "--target", "spec"], ["params", "inspect", "NOWHERE"]])
def test_every_command_checks_the_environment_first(args, tmp_path):
    proc = run(*args, env_extra={"TORCHLEAN_RT_CHECK": "refined"}, cwd=tmp_path)
    assert_one_line_error(proc, "TLR_ENVIRONMENT")
    assert not (tmp_path / "out").exists()


def test_internal_errors_are_one_line_exit_70():
    """A bug of the tool itself (here: a subcommand that raises) is one line, exit 70."""
    code = ("import sys; from torchlean_runtime import cli\n"
            "def boom(args): raise RuntimeError('wrong')\n"
            "cli._verify = boom\n"
            "sys.exit(cli.main(['verify', '--list']))\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert_one_line_error(proc, "TLR_INTERNAL", 70)


def test_an_error_quoting_megabytes_of_input_is_still_one_short_line(tmp_path):
    """Messages quote what the caller passed; errors.MAX_MESSAGE_CHARS bounds them (the middle is cut)."""
    from torchlean_runtime.errors import MAX_MESSAGE_CHARS

    proc = run("replay", "x.json", "--target", "module:" + "m" * 100_000 + ":f", cwd=tmp_path)  # argv's own limit
    assert_one_line_error(proc, "TLR_TARGET_SELECTOR")
    assert len(proc.stderr) < MAX_MESSAGE_CHARS + 200 and "characters cut" in proc.stderr


def test_replay_names_its_own_selector_among_the_expected_ones(tmp_path):
    proc = run("replay", "x.json", "--target", "nope", cwd=tmp_path)
    assert_one_line_error(proc, "TLR_TARGET_SELECTOR")
    assert "['both', 'spec', 'impl'" in proc.stderr
    assert "'both'" not in run("fuzz", "--target", "nope", "--rounds", "1", cwd=tmp_path).stderr  # fuzz has no both
