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


def serve_in_process(selector: str, requests: list) -> list:
    """The answer lines ``serve`` writes, in process, for ``requests`` (JSON objects, one a line),
    the target opened from ``selector`` and closed after."""
    import io
    import json

    from torchlean_runtime.conformance.protocol import serve
    from torchlean_runtime.conformance.target import open_target

    rd = io.BytesIO(b"".join(json.dumps(r).encode() + b"\n" for r in requests))
    wr = io.BytesIO()
    target = open_target(selector)
    try:
        assert serve(target, rd, wr) == 0
    finally:
        target.close()
    return wr.getvalue().splitlines()


@pytest.fixture
def serve_lines():
    """:func:`serve_in_process`, for the tests that talk to ``serve`` without a process."""
    return serve_in_process
