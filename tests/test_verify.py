"""The verify runner and its report: failures are never hidden, labels are counted as run."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
from pathlib import Path

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

            def many(quick):
                return [Obligation(f"fake.n{i}", "unit", "examples", "ok passes", ok, parallel=i % 2 == 0)
                        for i in range(7)] + [Obligation("fake.bad", "unit", "sampled", "bad fails", bad)]

            def slow_one():
                import time
                time.sleep(1.0)
                return Outcome(True, "slow")

            def slow(quick):
                return [Obligation("fake.slow", "unit", "examples", "takes a second", slow_one)]
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
    # selecting nothing is not a pass: a usage error, one line with its code, exit 2
    assert nothing.returncode == 2 and "Traceback" not in nothing.stderr
    assert nothing.stderr.strip().count("\n") == 0 and "[TLR_USAGE]" in nothing.stderr


def test_only_matching_nothing_is_a_usage_error(providers):
    from torchlean_runtime.errors import UsageError

    with pytest.raises(UsageError) as info:
        verify.run(providers=[f"{providers}:mixed"], only="nothing-like-this", progress=None)
    assert info.value.code == "TLR_USAGE" and info.value.exit_status == 2


def test_shards_partition_the_checks_and_merge_equals_the_unsharded_run(providers, tmp_path):
    refs = [f"{providers}:many", f"{providers}:broken"]
    whole = verify.run(providers=refs, progress=None, workers=2)
    paths = []
    for i in (1, 2, 3):
        part = verify.run(providers=refs, progress=None, workers=2, shard=(i, 3))
        assert part.planned == whole.planned
        path = tmp_path / f"shard{i}.json"
        path.write_text(part.to_json())
        paths.append(str(path))
    names = [json.loads(open(p).read())["results"] for p in paths]
    flat = [r["name"] for rs in names for r in rs]
    assert sorted(flat) == sorted(r.name for r in whole.results) and len(flat) == len(set(flat))  # a partition
    merged = verify.merge(paths)
    key = lambda r: (r.name, r.method, r.label, r.claim, r.passed, r.detail)
    assert [key(r) for r in merged.results] == [key(r) for r in whole.results]
    assert merged.ok == whole.ok is False


def test_merge_reports_a_missing_shard_and_a_duplicate(providers, tmp_path):
    refs = [f"{providers}:many"]
    p1, p2 = tmp_path / "1.json", tmp_path / "2.json"
    p1.write_text(verify.run(providers=refs, progress=None, shard=(1, 2)).to_json())
    p2.write_text(verify.run(providers=refs, progress=None, shard=(2, 2)).to_json())
    missing = verify.merge([str(p1)])
    assert not missing.ok and any(r.detail == "no report ran this planned check" for r in missing.results)
    not_run = [r for r in missing.results if r.detail == "no report ran this planned check"]
    assert not_run and all(r.label == "not run" and not r.passed for r in not_run)  # never "checked"
    assert all(r.label != "not run" for r in missing.results if r not in not_run)
    table = missing.table()
    assert all(f"FAIL       0.00s  not run     {r.name}" in table for r in not_run)
    assert "not run" not in missing.summary()  # a not-run row counts as failed, under no label
    saved = tmp_path / "merged.json"
    saved.write_text(missing.to_json())
    assert json.loads(saved.read_text())["labels"]["not run"].startswith("no report ran this planned check")
    again = verify.merge([str(saved)])  # a merged report is one merge reads (the label is in its schema)
    assert [r.label for r in again.results if r.name == not_run[0].name] == ["not run"]
    twice = verify.merge([str(p1), str(p1), str(p2)])
    assert any(r.name.startswith("merge: ") and "two reports" in r.detail for r in twice.results)


@pytest.mark.parametrize("text", ["0/2", "3/2", "a/b", "1", "1/0"])
def test_bad_shards_are_usage_errors(text):
    from torchlean_runtime.errors import UsageError

    with pytest.raises(UsageError):
        verify.parse_shard(text)


def test_heartbeat_while_a_slow_check_runs(providers):
    """The heartbeat interval is a parameter: 0.2 s here against a 1 s check (no 30 s sleep)."""
    import io

    stream = io.StringIO()
    report = verify.run(providers=[f"{providers}:slow"], progress=stream, heartbeat=0.2, workers=1)
    assert report.ok
    beats = [ln for ln in stream.getvalue().splitlines() if "elapsed" in ln]
    assert len(beats) >= 2, stream.getvalue()
    assert "fake.slow" in beats[0] and "waiting on" in beats[0] and "s left" in beats[-1] or "estimate" in beats[-1]


def test_the_default_heartbeat_is_at_most_30_seconds():
    assert 0 < verify.HEARTBEAT_SECONDS <= 30


def test_table_fits_120_columns_and_wraps_details_instead_of_cutting():
    from torchlean_runtime.report import CheckResult

    words = [f"w{i}" for i in range(200)]
    r = Report([CheckResult("n" * 30 + " " + "m" * 140, "method", "sampled", "claim", True, 1.0, " ".join(words))],
               wall_seconds=1.0)
    table = r.table()
    assert max(len(line) for line in table.splitlines()) <= 120
    assert " ".join(table.split()).count("w199") == 1 and all(w in table.split() for w in words)


def test_summary_gives_wall_time_not_summed_check_time(providers):
    report = verify.run(providers=[f"{providers}:good"], progress=None)
    assert "wall time" in report.summary() and "check time" not in report.summary()


def test_every_provider_lists_only_count_budgets():
    """No obligation of verify is budgeted by a clock: fuzz campaigns and reader fuzz take counts."""
    from torchlean_runtime.proofs.differential import fuzz
    from torchlean_runtime.proofs import vectors_obligations

    for quick in (True, False):
        assert all(isinstance(ob.args[0], int) for ob in fuzz.obligations(quick) if ob.run is fuzz.check_fuzz_budget)
        reader = [ob for ob in vectors_obligations.obligations(quick) if ob.method == "hypothesis"]
        assert reader and all(isinstance(ob.args[0], int) for ob in reader)
        # a clock budget would read "… in 60 s from seed …"; counts read "… in 3 rounds from seed …"
        assert not any(re.search(r"[0-9] ?s(econds)? from seed", ob.claim) for ob in fuzz.obligations(quick))


def test_list_names_every_check():
    lines = verify.list_obligations(quick=True)
    names = [ln.split("\t")[0] for ln in lines]
    obligations, broken = verify.collect(quick=True)
    assert not broken and names == [ob.name for ob in obligations] and len(names) == len(set(names))


def test_float_environment_probe_is_called_at_the_start_of_verify(monkeypatch):
    from torchlean_runtime.impl import arrays

    calls = []
    monkeypatch.setattr(arrays, "check_float_environment", lambda: calls.append(1), raising=False)
    verify.check_float_environment()
    assert calls == [1]


def test_the_readme_says_what_a_not_run_row_is():
    readme = " ".join((Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8").split())
    assert "`verify merge` adds a failed row labelled `not run` for every planned check that no report ran" in readme
