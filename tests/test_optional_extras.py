"""The rule for optional extras (tests/conftest.py, require_extra) and that every test needing
one follows it: README "Running the tests" / .ci/run — CI installs [dev,torch,bench,fast], so a
missing torch, matplotlib or numba fails there; elsewhere each skips, naming its extra."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent


def test_ci_installs_every_optional_extra(request):
    ci_extras = request.config.pluginmanager.get_plugin(str(TESTS / "conftest.py")).ci_extras
    # .ci/run: `.venv/bin/pip install -q -e '.[dev,torch,bench,fast]'`
    assert ci_extras() == {"dev", "torch", "bench", "fast"}


@pytest.mark.parametrize("ci", ["true", None])
def test_a_missing_extra_skips_except_under_ci(ci, monkeypatch, request):
    conf = request.config.pluginmanager.get_plugin(str(TESTS / "conftest.py"))
    monkeypatch.setattr(conf, "missing_extra", lambda module: True)
    if ci:
        monkeypatch.setenv("CI", ci)
    else:
        monkeypatch.delenv("CI", raising=False)
    for module in ("torch", "numba", "matplotlib"):
        with pytest.raises(pytest.fail.Exception if ci else pytest.skip.Exception):
            conf.require_extra_now(module)
    monkeypatch.setattr(conf, "ci_extras", lambda: {"dev", "torch"})  # an extra CI did not install skips even there
    with pytest.raises(pytest.skip.Exception):
        conf.require_extra_now("numba")


def test_no_test_needs_an_extra_outside_the_helper():
    """No ad-hoc importorskip / find_spec of an optional module: each goes through require_extra."""
    offenders = []
    for path in TESTS.rglob("*.py"):
        if path.name == "conftest.py" and path.parent == TESTS:
            continue
        text = path.read_text(encoding="utf-8")
        if re.search(r"importorskip\(|find_spec\(\s*[\"'](torch|numba|matplotlib)", text):
            offenders.append(path.name)
        if re.search(r"^\s*(import|from) (torch|numba|matplotlib)\b", text, re.M):
            offenders.append(path.name)
    assert offenders == []
