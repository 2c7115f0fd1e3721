"""Counterexamples CrossHair reported, replayed concretely, kept here.

Every ``error:`` line is replayed concretely before it is believed (provider.run_check does it
for verify; runner.replay).  Up to now no CrossHair run of the obligations has reported a REAL
counterexample against the impl: the unmutated impl is confirmed on every input of both bound
profiles.  One reported failure was a CrossHair artefact, kept below so it cannot come back as a
false failure:

* ``RecursionError: maximum recursion depth exceeded in comparison when calling lookup(2, 1, 2,
  0, 2, 1, 0, 1, 1)`` (a prototype of the lookup obligation, about 1000 paths in).  Replayed
  concretely, the call satisfied its postcondition.  Cause: icontract creates its recursion guard
  (a ``set`` in a ContextVar) on the first contract-checked call; created while CrossHair traces,
  it is a CrossHair proxy that each later path wraps once more.  Fix: ``common.warm_up()``, called
  when an obligation module is imported, makes the first checked call before CrossHair traces.
"""

from __future__ import annotations

import os
import subprocess
import sys

from torchlean_runtime.proofs.crosshair.encoding import BOUND_ENV_VAR

_GUARD = "import icontract._checkers as c; g = c._IN_PROGRESS.get(); print(type(g).__module__, type(g).__name__)"


def _python(code: str) -> str:
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          env={**os.environ, BOUND_ENV_VAR: "quick"})
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout.strip()


def test_icontract_guard_is_a_plain_set_once_an_obligation_module_is_imported() -> None:
    # without the warm-up the guard does not exist yet in a fresh process: the first checked call,
    # under CrossHair's tracer, would create it
    assert _python(_GUARD) == "builtins NoneType"
    for module in ("obligations_registry", "obligations_variable", "canaries"):
        assert _python(f"import torchlean_runtime.proofs.crosshair.{module}; {_GUARD}") == "builtins set", module
