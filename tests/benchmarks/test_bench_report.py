"""The README's benchmark block is exactly what ``make bench`` renders from the committed
``docs/figures/bench.json`` — so no figure in it can drift from the run it came from."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _report_module():
    spec = importlib.util.spec_from_file_location("bench_report", ROOT / "benchmarks" / "bench_report.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_readme_block_is_rendered_from_the_committed_json() -> None:
    report = _report_module()
    data = json.loads((ROOT / "docs" / "figures" / "bench.json").read_text(encoding="utf-8"))
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert report.current_block(readme, "runtime") == report.block("runtime", data), \
        "run `make bench` (it rewrites both) or restore the pair"
    assert data["smoke"] is False, "the committed figures must come from a full run, not --smoke"


def test_render_states_every_verdict_and_escapes_table_cells() -> None:
    report = _report_module()
    data = {"commit": "abc1234", "meta": {"python": "3.11.7", "load_average": 0.5, "seconds": 300.0},
            "targets": [{"target": "a | b", "text": "1 | 2", "passed": True},
                        {"target": "c", "text": "x", "passed": False},
                        {"target": "d", "text": "numba not installed", "passed": None}]}
    text = report.render("runtime", data)
    assert "commit abc1234, Python 3.11.7, load average 0.50 at the start, 300 s in all" in text
    assert "| PASS | a \\| b | 1 \\| 2 |" in text and "| FAIL | c | x |" in text and "| N/A | d | numba not installed |" in text
    assert text.endswith("1 of 3 targets pass in this run.")


def test_replace_block_needs_exactly_one_block() -> None:
    report = _report_module()
    data = {"commit": "c", "targets": []}
    begin, end = report.begin("runtime"), report.end("runtime")
    with pytest.raises(ValueError):
        report.replace_block("no markers here", "runtime", data)
    twice = f"{begin}\nx\n{end}\n{begin}\ny\n{end}"
    with pytest.raises(ValueError):
        report.replace_block(twice, "runtime", data)
    assert report.replace_block(f"before\n{begin}\nold\n{end}\nafter", "runtime", data) == \
        f"before\n{report.block('runtime', data)}\nafter"
