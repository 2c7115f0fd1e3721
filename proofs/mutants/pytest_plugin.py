"""pytest plugin (``-p torchlean_runtime.proofs.mutants.pytest_plugin``): apply the mutant named in
``TORCHLEAN_RT_MUTANT`` before any test module is collected, so every test sees the mutated impl.

Tests that start Python subprocesses (the ``-O`` and checked-mode tests) must see the same
mutated impl, or they would compare a mutant with the original and "kill" it for the wrong
reason; so the plugin also puts a ``sitecustomize`` that applies the mutant first on
``PYTHONPATH`` for the rest of the session.

A mutant that cannot be applied aborts the session (pytest's internal-error exit status), which
the kill matrix reports as an error, never as a kill.  Hypothesis runs derandomized and without
its example database under this plugin, so a matrix is reproducible and mutant runs leave no
failing examples behind for ordinary runs to replay.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from typing import Optional

from .catalogue import ENV_VAR, apply_from_env, write_sitecustomize
from .runner import isolate_hypothesis

_APPLIED: Optional[str] = None
_SITE_DIR: Optional[str] = None
_OLD_PYTHONPATH: Optional[str] = None


def pytest_configure(config) -> None:
    global _APPLIED, _SITE_DIR, _OLD_PYTHONPATH
    isolate_hypothesis()
    _APPLIED = apply_from_env()
    if _APPLIED:
        _SITE_DIR = tempfile.mkdtemp(prefix="torchlean-rt-mutant-site-")
        write_sitecustomize(_SITE_DIR)
        _OLD_PYTHONPATH = os.environ.get("PYTHONPATH")
        os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (_SITE_DIR, _OLD_PYTHONPATH) if p)


def pytest_unconfigure(config) -> None:
    global _SITE_DIR
    if _SITE_DIR is not None:
        if _OLD_PYTHONPATH is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = _OLD_PYTHONPATH
        shutil.rmtree(_SITE_DIR, ignore_errors=True)
        _SITE_DIR = None


def pytest_report_header(config) -> str:
    return f"{ENV_VAR}: {_APPLIED or '(none)'}"
