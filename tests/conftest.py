"""Fixtures shared by several test folders."""

from __future__ import annotations

import os

import pytest


@pytest.fixture
def fast_kernels():
    """``impl.kernels`` with the ``[fast]`` numba kernels compiled and probed, or a skip when
    numba is not installed — but under CI (CI=true) a missing numba is a failure, never a skip:
    CI installs the [fast] extra, so the kernel paths are always tested there."""
    try:
        import numba  # noqa: F401
    except ImportError:
        if os.environ.get("CI") == "true":
            pytest.fail("numba is not installed under CI; .ci/run installs the [fast] extra")
        pytest.skip("numba not installed (pip install -e '.[fast]')")
    from torchlean_runtime.impl import kernels

    assert kernels.ready(), kernels.STATUS
    return kernels
