"""``fuzz``'s budgets and output paths (attacker findings 6 and 7).

* ``--seconds`` is checked before every program, not only between rounds (a round of 1500
  programs ran 13 s past a 1 s budget): checked with a fake clock that advances one second per
  reading — a count, never a measured time;
* ``--programs`` and ``--shrink-replays`` have documented maxima (TLR_USAGE beyond);
* ``--out`` and ``--json`` are checked before the campaign (an existing file as ``--out`` lost a
  shrunk divergence after the run); ``--out`` is created only as one folder — its parent must
  exist — and a save that fails even so goes to a temporary folder, never lost;
* ``vectors generate OUT_DIR`` creates no tree of folders either."""

from __future__ import annotations

import types
from pathlib import Path

import pytest

from torchlean_runtime import cli
from torchlean_runtime.conformance.vectors.reader import read_trace
from torchlean_runtime.conformance.vectors.replay import corpus_dir
from torchlean_runtime.proofs.differential import fuzz

CASE = Path(corpus_dir()) / "Runtime.emptyContext" / "empty.float64.json"


class FakeClock:
    """``time.monotonic`` advancing one second per reading."""

    def __init__(self) -> None:
        self.now = 0.0
        self.readings = 0

    def __call__(self) -> float:
        self.readings += 1
        self.now += 1.0
        return self.now


@pytest.fixture
def clock(monkeypatch):
    import time

    fake = FakeClock()
    monkeypatch.setattr(fuzz, "time", types.SimpleNamespace(monotonic=fake, perf_counter=time.perf_counter))
    return fake


def test_the_random_engine_checks_the_deadline_between_programs(clock):
    result = fuzz.run_random_campaign(5, seed=3, examples_per_round=300, steps_per_program=5, target="spec")
    assert result.divergence is None and result.target_failure is None
    assert result.rounds == 1
    assert 1 <= result.cases <= 5, result.cases  # not the round's 300 programs


def test_the_stateful_engine_checks_the_deadline_between_programs(clock):
    result = fuzz.run_campaign(5, seed=3, examples_per_round=300, steps_per_program=3, target="spec", shrink=False)
    assert result.divergence is None and result.harness_error is None, result.harness_error
    assert result.rounds == 1
    assert result.cases <= 5, result.cases


def test_a_rounds_campaign_is_not_cut_by_the_clock(clock):
    """--rounds without --seconds stays a fixed count, whatever the clock says."""
    result = fuzz.run_random_campaign(None, seed=3, rounds=1, examples_per_round=12, steps_per_program=5, target="spec")
    assert result.cases == 12


def test_rounds_and_seconds_together_stop_at_whichever_ends_first(clock, capsys):
    """Both budgets given: the banner names both, and the campaign ends at the first one reached —
    here 2 rounds of 3 programs, long before 1000 fake seconds; counts of one are singular."""
    assert cli.main(["fuzz", "--target", "spec", "--rounds", "2", "--seconds", "1000", "--programs", "3", "--seed", "5"]) == 0
    err = "".join(capsys.readouterr())
    assert "1000s or 2 rounds, seed 5, shard 1/1, 1 worker\n" in err, err
    assert "6 cases, " in err and "0 divergences in " in err and "(seed 5, 2 rounds, random engine, target spec)" in err, err
    assert cli.main(["fuzz", "--target", "spec", "--rounds", "1", "--programs", "1", "--seed", "5"]) == 0
    err = "".join(capsys.readouterr())
    assert ", 1 round, seed 5," in err and "(seed 5, 1 round, random engine" in err and "fuzz: 1 case, " in err, err


@pytest.mark.parametrize("args", [["--programs", str(fuzz.MAX_PROGRAMS + 1)], ["--programs", "100000000"],
                                  ["--programs", "0"], ["--shrink-replays", str(fuzz.MAX_SHRINK_REPLAYS + 1)]])
def test_counts_above_their_documented_maximum_are_usage_errors(args, capsys):
    assert cli.main(["fuzz", "--rounds", "1", *args]) == 2
    err = capsys.readouterr().err
    assert "[TLR_USAGE]" in err and "[fuzz] spec vs" not in err  # refused before the campaign


def _refused_before_the_campaign(argv, capsys) -> str:
    assert cli.main(argv) == 2
    captured = capsys.readouterr()
    assert "[TLR_OUTPUT_PATH]" in captured.err, captured.err
    assert "[fuzz] spec vs" not in captured.err and "fuzz: " not in captured.out  # nothing ran
    return captured.err


def test_out_naming_an_existing_file_is_refused_before_the_campaign(tmp_path, capsys):
    (tmp_path / "file").write_text("x")
    err = _refused_before_the_campaign(["fuzz", "--rounds", "1", "--out", str(tmp_path / "file")], capsys)
    assert "not a directory" in err


def test_out_with_a_missing_parent_is_refused_and_creates_nothing(tmp_path, capsys):
    out = tmp_path / "missing" / "deeper" / "out"
    _refused_before_the_campaign(["fuzz", "--rounds", "1", "--out", str(out)], capsys)
    assert not (tmp_path / "missing").exists()


def test_json_naming_a_directory_or_a_missing_folder_is_refused_before_the_campaign(tmp_path, capsys):
    _refused_before_the_campaign(["fuzz", "--rounds", "1", "--json", str(tmp_path)], capsys)
    _refused_before_the_campaign(["fuzz", "--rounds", "1", "--json", str(tmp_path / "no" / "s.json")], capsys)


def test_fuzz_merge_json_is_checked_before_reading(tmp_path, capsys):
    assert cli.main(["fuzz", "merge", str(tmp_path / "absent.json"), "--json", str(tmp_path)]) == 2
    assert "[TLR_OUTPUT_PATH]" in capsys.readouterr().err


def test_a_missing_out_folder_whose_parent_exists_is_created_on_save(tmp_path):
    trace = read_trace(CASE)
    saved = Path(fuzz._save(trace, str(tmp_path / "new")))
    assert saved.parent == tmp_path / "new" and saved.is_file()


def test_a_save_that_fails_anyway_goes_to_a_temporary_folder(tmp_path, capsys):
    (tmp_path / "file").write_text("x")  # (became a file after the check)
    saved = Path(fuzz._save(read_trace(CASE), str(tmp_path / "file")))
    assert saved.is_file() and saved.parent != tmp_path / "file"
    assert read_trace(saved) == read_trace(CASE) or saved.read_bytes()
    assert "[TLR_OUTPUT_PATH]" in capsys.readouterr().err
    saved.unlink()
    saved.parent.rmdir()


def test_vectors_generate_creates_no_tree_of_folders(tmp_path, capsys):
    assert cli.main(["vectors", "generate", str(tmp_path / "a" / "b")]) == 2
    assert "[TLR_OUTPUT_PATH]" in capsys.readouterr().err
    assert not (tmp_path / "a").exists()


# --- every output-write error names its path; options that would be ignored are refused ---------------

FULL = Path("/dev/full")  # every write fails with ENOSPC, as on a full disk
needs_dev_full = pytest.mark.skipif(not FULL.exists(), reason="needs /dev/full")


@needs_dev_full
def test_fuzz_json_onto_a_full_disk_names_the_path_after_reporting_the_campaign(tmp_path, capsys):
    assert cli.main(["fuzz", "--target", "spec", "--rounds", "1", "--programs", "2", "--seed", "1",
                     "--json", str(FULL), "--out", str(tmp_path / "out")]) == 2
    out, err = capsys.readouterr()
    assert f"[TLR_OUTPUT_PATH] --json {FULL}: No space left on device" in err, err
    assert "fuzz: 2 cases, " in out  # the campaign's result was printed before the write failed


@needs_dev_full
def test_fuzz_merge_json_onto_a_full_disk_names_the_path(tmp_path, capsys):
    summary = tmp_path / "s.json"
    assert cli.main(["fuzz", "--target", "spec", "--rounds", "1", "--programs", "2", "--seed", "1",
                     "--json", str(summary), "--out", str(tmp_path / "out")]) == 0
    capsys.readouterr()
    assert cli.main(["fuzz", "merge", str(summary), "--json", str(FULL)]) == 2
    out, err = capsys.readouterr()
    assert f"[TLR_OUTPUT_PATH] --json {FULL}: No space left on device" in err, err
    assert "fuzz merge: 1 summaries" in out


@needs_dev_full
def test_the_writers_name_the_path_of_a_failing_write(tmp_path, monkeypatch, capsys):
    from torchlean_runtime import files
    from torchlean_runtime.conformance.vectors import format as F
    from torchlean_runtime.conformance.vectors import generate
    from torchlean_runtime.errors import OutputPathError

    with pytest.raises(OSError) as info:
        files.write_text(FULL, "x")
    assert info.value.filename == str(FULL)
    with pytest.raises(OSError) as info:
        F.write_trace(read_trace(CASE), FULL)
    assert info.value.filename == str(FULL)
    with pytest.raises(OutputPathError, match=f"--json {FULL}: No space left on device"):
        cli.write_output(str(FULL), "{}", "--json")
    real = F.write_trace
    monkeypatch.setattr(generate, "write_trace", lambda trace, path: real(trace, FULL))
    assert cli.main(["vectors", "generate", str(tmp_path / "corpus")]) == 2
    assert f"{FULL}: No space left on device" in capsys.readouterr().err


def test_a_save_that_fails_in_the_temporary_folder_too_names_both(tmp_path, monkeypatch):
    from torchlean_runtime.errors import OutputPathError

    (tmp_path / "file").write_text("x")
    (tmp_path / "also-a-file").write_text("x")
    monkeypatch.setattr(fuzz.tempfile, "mkdtemp", lambda prefix="": str(tmp_path / "also-a-file"))
    with pytest.raises(OutputPathError, match="--out .*file.*also-a-file"):
        fuzz._save(read_trace(CASE), str(tmp_path / "file"))


def test_shrink_replays_with_the_stateful_engine_is_a_usage_error(capsys):
    """--shrink-replays is the random engine's budget: with --engine stateful it was silently ignored."""
    assert cli.main(["fuzz", "--target", "spec", "--rounds", "1", "--engine", "stateful", "--shrink-replays", "5"]) == 2
    err = capsys.readouterr().err
    assert "[TLR_USAGE]" in err and "--shrink-replays" in err and "stateful" in err, err
    assert "[fuzz] spec vs" not in err  # refused before the campaign
