"""Shared helpers of the interop tests."""

from __future__ import annotations

import os

import pytest


@pytest.fixture
def torch():
    """torch, or a skip — but under CI (CI=true) a missing torch is a failure, never a skip:
    CI installs the [torch] extra."""
    try:
        import torch as t
    except ImportError:
        if os.environ.get("CI") == "true":
            pytest.fail("torch is not installed under CI; .ci/run installs the [torch] extra")
        pytest.skip("torch not installed (pip install -e '.[torch]')")
    return t
