"""Fixtures shared by every test directory.

``require_extra`` is the one place the project's rule for optional extras lives: a test that
needs a module of an optional extra (``[torch]``, ``[fast]``: numba, ``[bench]``: matplotlib)
skips when the module is missing — except under CI (``CI=true``) for an extra that CI installs
(the ``pip install -e '.[…]'`` line of .ci/run), where a missing module is a failure, never a
silent skip."""

from __future__ import annotations

import importlib
import importlib.util
import os
import re
from pathlib import Path
from typing import Any, Callable

import pytest

ROOT = Path(__file__).resolve().parent.parent

# the optional module -> the extra of pyproject.toml that installs it
EXTRAS = {"torch": "torch", "numba": "fast", "matplotlib": "bench"}


def ci_extras() -> set[str]:
    """The extras .ci/run installs (from its ``pip install … '.[a,b]'`` lines)."""
    text = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    found: set[str] = set()
    for line in text.splitlines():
        if line.lstrip().startswith("#"):
            continue
        for group in re.findall(r"pip install[^\n]*?'\.\[([^\]]*)\]'", line):
            found.update(x.strip() for x in group.split(","))
    return found


def missing_extra(module: str) -> bool:
    return importlib.util.find_spec(module) is None


def require_extra_now(module: str) -> Any:
    """The module, or a skip naming its extra — a failure under CI=true if CI installs that extra."""
    extra = EXTRAS[module]
    if missing_extra(module):
        if os.environ.get("CI") == "true" and extra in ci_extras():
            pytest.fail(f"{module} is not installed under CI; .ci/run installs the [{extra}] extra")
        pytest.skip(f"needs the [{extra}] extra ({module}): pip install -e '.[{extra}]'")
    return importlib.import_module(module)


@pytest.fixture
def require_extra() -> Callable[[str], Any]:
    """``require_extra("torch")``: the module, or a skip (a failure under CI if CI installs it)."""
    return require_extra_now


@pytest.fixture
def fast_kernels():
    """``impl.kernels`` with the ``[fast]`` numba kernels compiled and probed (through
    :func:`require_extra_now`: a skip without numba, a failure under CI, which installs [fast])."""
    require_extra_now("numba")
    from torchlean_runtime.impl import kernels

    assert kernels.ready(), kernels.STATUS
    return kernels
