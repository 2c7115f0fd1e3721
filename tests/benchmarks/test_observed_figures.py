"""Figures from one-off runs too long to repeat on every ``make bench`` (the kill matrix, the
stopped thorough verify run) or no longer reproducible (the reader's quadratic scan before its
fix) are stated in the docs as one-off observations and recorded in ``docs/figures/observed_*.json``;
the docs' numbers must equal the record's, both ways (every number of the passage is in the
record), so neither can be edited alone."""

from __future__ import annotations

import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FIGURES = ROOT / "docs" / "figures"


def _record(name: str) -> dict:
    return json.loads((FIGURES / name).read_text(encoding="utf-8"))


def _flat(text: str) -> str:
    return re.sub(r"\s*\n\s*", " ", text)


def _passage(doc: str, start: str, stop: str) -> str:
    text = _flat((ROOT / doc).read_text(encoding="utf-8"))
    i = text.index(start)
    return text[i:text.index(stop, i) + len(stop)]


def test_kill_matrix_figures_equal_the_record() -> None:
    rec = _record("observed_kill_matrix.json")
    passage = _passage("README.md", "How much these methods can see", "`set-value-equal-shortcut` (corpus).")
    assert "one-off observation, recorded in `docs/figures/observed_kill_matrix.json`" in passage
    expected = [f"the catalogue holds {rec['mutants']} semantic mutants", f"{rec['spec_mutants']} mutants of the spec itself",
                f"commit {rec['commit']}, `--jobs {rec['jobs']}`, {rec['seconds']:,} s on the shared 2-core machine",
                f"**{rec['killed_by_verify']}/{rec['mutants']} killed by verify's own methods**"]
    expected += [f"{column} {killed}/{ran}" for column, (killed, ran) in rec["columns"].items()]
    expected += [f"`{mutant}` ({method})" for mutant, method in rec["killed_by_one_method_only"].items()]
    for phrase in expected:
        assert phrase in passage, phrase
    # the other way: every count N/M in the passage is one of the record's
    fractions = set(re.findall(r"\b\d+/\d+\b", passage))
    assert fractions == {f"{k}/{n}" for k, n in rec["columns"].values()} | {f"{rec['killed_by_verify']}/{rec['mutants']}"}
    assert rec["killed_by_verify"] == rec["mutants"] and "source" in rec and "kind" in rec


def test_the_catalogue_is_as_large_as_the_readme_says() -> None:
    from torchlean_runtime.proofs.mutants import catalogue

    passage = _passage("README.md", "How much these methods can see", "`set-value-equal-shortcut` (corpus).")
    holds = int(re.search(r"the catalogue holds (\d+) semantic mutants", passage).group(1))
    spec = int(re.search(r"and (\d+) mutants of the spec itself", passage).group(1))
    assert (holds, spec) == (len(catalogue.MUTANTS), sum(1 for m in catalogue.MUTANTS if m.layer == "spec"))


def test_thorough_verify_figures_equal_the_record() -> None:
    rec = _record("observed_verify_thorough.json")
    passage = _passage("README.md", "`make verify-thorough`", "so no complete duration is measured yet.")
    assert "one-off observation, recorded in `docs/figures/observed_verify_thorough.json`" in passage
    for phrase in (f"commit {rec['commit']}, `--jobs {rec['jobs']}`", f"passed {rec['checks_passed']} of {rec['checks_planned']} checks, none failed",
                   f"after {rec['minutes_when_stopped']} min", f"about {rec['self_estimate_minutes']} min in all", "it was stopped there"):
        assert phrase in passage, phrase
    assert rec["checks_failed"] == 0 and rec["completed"] is False
    assert "over an hour" in passage and rec["self_estimate_minutes"] > 60
    numbers = {int(n) for n in re.findall(r"(?<![\w/.-])(\d+)(?![\w/.])", passage)}
    assert numbers == {2, rec["jobs"], rec["checks_passed"], rec["checks_planned"], rec["minutes_when_stopped"],
                       rec["self_estimate_minutes"]}  # 2: "on 2 cores"


def test_quadratic_scan_figure_equals_the_record() -> None:
    rec = _record("observed_quadratic_scan.json")
    passage = _passage("docs/vectors.md", "Every reader stage is linear", "at most 10x the time).")
    assert f"{rec['input_kb']} KB of `\\\"` took over {rec['seconds_more_than']} s — a one-off observation before that fix" in passage
    assert "recorded in `docs/figures/observed_quadratic_scan.json`" in passage
    test_file = (ROOT / "tests" / "vectors" / "test_vectors_hostile_inputs.py").read_text(encoding="utf-8")
    assert f"({rec['input_kb']} KB of escaped quotes took > {rec['seconds_more_than']} s)" in test_file


def test_quick_verify_figures_equal_the_record() -> None:
    rec = _record("observed_verify_quick.json")
    readme = _flat((ROOT / "README.md").read_text(encoding="utf-8"))
    passage = _passage("README.md", "One `make verify` run here", "checks in")
    passage = readme[readme.index(passage):readme.index(" s.", readme.index(passage)) + 3]
    assert passage == (f"One `make verify` run here (a one-off observation, recorded in `docs/figures/observed_verify_quick.json`: "
                       f"commit {rec['commit']}, both cores, load average {rec['load_average']:.2f} at the start from other jobs) "
                       f"passed all {rec['checks']} checks in {round(rec['wall_seconds'])} s.")
    assert rec["ok"] is True and rec["failed"] == 0 and rec["jobs"] == 2
    assert f"{rec['checks']} checks" in rec["summary"] and f"in {round(rec['wall_seconds'])}s wall time" in rec["summary"]
    assert f"as one table (about {round(rec['wall_seconds'] / 60)} min on 2 cores)" in readme
    earlier = rec["earlier"]
    assert (f"an earlier run beside busy loops (load average {earlier['load_average']:.2f}) took "
            f"{round(earlier['wall_seconds'])} s.") in readme
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert f"(about {round(rec['wall_seconds'] / 60)} min on 2 cores, " \
           f"{round(earlier['wall_seconds'] / 60)} under heavy load; README)" in makefile
