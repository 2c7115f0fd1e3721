"""The verify runner and its report: failures are never hidden, labels are counted as run."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

from torchlean_runtime import verify
from torchlean_runtime.report import LABELS, Obligation, Outcome, Report


@pytest.fixture
def providers(tmp_path, monkeypatch):
    (tmp_path / "fake_provider.py").write_text(
        textwrap.dedent(
            '''
            from torchlean_runtime.report import Obligation, Outcome

            def ok():
                return Outcome(True, "3 cases")

            def bad():
                return Outcome(False, "counterexample: x=1")

            def boom():
                raise RuntimeError("kaboom")

            def not_an_outcome():
                return True

            def good(quick):
                return [Obligation("fake.ok", "unit", "examples", "ok passes", ok)]

            def mixed(quick):
                return [
                    Obligation("fake.ok", "unit", "examples", "ok passes", ok),
                    Obligation("fake.bad", "unit", "sampled", "bad fails", bad),
                    Obligation("fake.boom", "unit", "proved", "raises", boom),
                    Obligation("fake.bool", "unit", "checked", "returns a bool", not_an_outcome),
                ]

            def broken(quick):
                raise ImportError("provider cannot load")
            '''
        )
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    return "fake_provider"


def test_all_passing_report_is_ok(providers):
    report = verify.run(providers=[f"{providers}:good"], progress=None)
    assert report.ok and [r.name for r in report.results] == ["fake.ok"]
    assert report.summary().startswith("PASS: 1 checks") and "1 examples" in report.summary()


def test_failures_exceptions_and_non_outcomes_all_fail(providers):
    report = verify.run(providers=[f"{providers}:mixed"], progress=None)
    assert not report.ok
    by_name = {r.name: r for r in report.results}
    assert by_name["fake.ok"].passed
    assert not by_name["fake.bad"].passed and "counterexample" in by_name["fake.bad"].detail
    assert not by_name["fake.boom"].passed and "RuntimeError: kaboom" in by_name["fake.boom"].detail
    assert not by_name["fake.bool"].passed
    assert "3 failed" in report.summary() and report.summary().startswith("FAIL")
    # a failed check is never counted under its label
    assert "1 examples" in report.summary() and "proved" not in report.summary()


def test_a_provider_that_cannot_load_is_a_failure(providers):
    report = verify.run(providers=[f"{providers}:good", f"{providers}:broken", "no_such_module:obligations"], progress=None)
    assert not report.ok
    assert [r.passed for r in report.results].count(False) == 2


def test_only_selects_by_glob_or_substring(providers):
    assert [r.name for r in verify.run(providers=[f"{providers}:mixed"], only="fake.o*", progress=None).results] == ["fake.ok"]
    assert [r.name for r in verify.run(providers=[f"{providers}:mixed"], only="boo", progress=None).results] == ["fake.boom", "fake.bool"]


def test_an_empty_report_is_not_ok():
    assert not Report().ok


def test_unknown_label_is_refused():
    with pytest.raises(ValueError):
        Obligation("x", "m", "certainly", "claim", lambda: Outcome(True))


def test_json_report_round_trips(providers):
    report = verify.run(providers=[f"{providers}:mixed"], progress=None)
    data = json.loads(report.to_json())
    assert data["ok"] is False and set(data["labels"]) == set(LABELS)
    assert [r["name"] for r in data["results"]] == [r.name for r in report.results]


def test_table_has_every_result_and_the_failure_detail(providers):
    table = verify.run(providers=[f"{providers}:mixed"], progress=None).table()
    for name in ("fake.ok", "fake.bad", "fake.boom", "fake.bool"):
        assert name in table
    assert "FAIL" in table and "counterexample: x=1" in table


def test_cli_verify_exit_status_and_json(tmp_path):
    out = tmp_path / "report.json"
    ok = subprocess.run(
        [sys.executable, "-m", "torchlean_runtime", "verify", "--quick", "--only", "coverage*", "--json", str(out)],
        capture_output=True, text=True, cwd=tmp_path,
    )
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "coverage" in ok.stdout and "PASS" in ok.stdout
    assert json.loads(out.read_text())["ok"] is True
    nothing = subprocess.run(
        [sys.executable, "-m", "torchlean_runtime", "verify", "--quick", "--only", "no-such-check"],
        capture_output=True, text=True, cwd=tmp_path,
    )
    assert nothing.returncode == 1  # selecting nothing is not a pass
