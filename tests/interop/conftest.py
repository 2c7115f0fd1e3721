"""Shared helpers of the interop tests."""

from __future__ import annotations

import pytest


@pytest.fixture
def torch(require_extra):
    """torch, or a skip — but under CI (CI=true) a missing torch is a failure, never a skip:
    CI installs the [torch] extra (tests/conftest.py, require_extra)."""
    return require_extra("torch")
