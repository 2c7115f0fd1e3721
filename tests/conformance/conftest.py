"""Fixtures shared by the conformance tests."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


def process_alive(pid: int) -> bool:
    """The process exists and is not a zombie (a zombie still answers ``kill(pid, 0)``)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return False


@pytest.fixture
def alive():
    """:func:`process_alive`, for tests that check a runner left no process behind."""
    return process_alive
