"""One verification method, run in a fresh process with the mutant applied first.

``python -P -m torchlean_runtime.proofs.mutants.runner PROVIDER_REF quick|full [OBLIGATION ...]``

Applies the mutant named in ``TORCHLEAN_RT_MUTANT`` (if any), lists the provider's obligations
(``module:function``, as in ``proofs/providers.py``), keeps the named ones (all when none are
named), runs them one after the other in this process until the first failure (one decides the
verdict), and prints one line
``MUTANT-RESULT {json}`` with ``status``:

* ``passed`` — every obligation passed;
* ``failed`` — some obligation failed (with the mutant applied, a kill);
* ``error``  — the method could not run: the mutant could not be applied, the provider could not
  be imported or listed, no obligation matched, or an obligation hit an import error.  An
  error is never a kill.
"""

from __future__ import annotations

import importlib
import json
import sys
import time
from typing import Any, Sequence

from .catalogue import ENV_VAR, apply_from_env

__all__ = ["RESULT_PREFIX", "isolate_hypothesis", "run_method", "main"]

RESULT_PREFIX = "MUTANT-RESULT "

# An obligation that fails with one of these did not run at all (a broken environment or
# module), which says nothing about the mutant.
_INFRASTRUCTURE_ERRORS = ("raised ImportError", "raised ModuleNotFoundError")


def isolate_hypothesis() -> None:
    """Hypothesis without its example database, derandomized (see ``report.isolate_hypothesis``)."""
    from torchlean_runtime.report import isolate_hypothesis as isolate

    isolate()


def run_method(provider_ref: str, quick: bool, names: Sequence[str] = ()) -> dict[str, Any]:
    from torchlean_runtime.report import run_obligation

    start = time.perf_counter()
    isolate_hypothesis()
    try:
        mutant = apply_from_env()
    except Exception as exc:
        return {"status": "error", "detail": f"the mutant could not be applied: {type(exc).__name__}: {exc}"}
    try:
        module_name, _, func = provider_ref.partition(":")
        obligations = getattr(importlib.import_module(module_name), func)(quick)
    except Exception as exc:
        return {"status": "error", "detail": f"provider {provider_ref} failed to load: {type(exc).__name__}: {exc}"}
    if names:
        wanted = set(names)
        obligations = [ob for ob in obligations if ob.name in wanted]
        missing = wanted - {ob.name for ob in obligations}
        if missing:
            return {"status": "error", "detail": f"provider {provider_ref} has no obligation {sorted(missing)}"}
    if not obligations:
        return {"status": "error", "detail": f"provider {provider_ref} listed no obligations"}
    failed, errors = [], []
    for ob in obligations:
        result = run_obligation(ob)
        if result.passed:
            continue
        line = f"{result.name}: {result.detail}"
        (errors if result.detail.startswith(_INFRASTRUCTURE_ERRORS) else failed).append(line)
        break  # one failure decides the cell; the rest would only cost time
    seconds = time.perf_counter() - start
    base = {"mutant": mutant, "checks": len(obligations), "seconds": seconds}
    if errors:
        return {**base, "status": "error", "detail": errors[0], "failed": failed + errors}
    if failed:
        return {**base, "status": "failed", "detail": failed[0], "failed": failed}
    return {**base, "status": "passed", "detail": f"{len(obligations)} obligation(s) passed", "failed": []}


def main(argv: Sequence[str]) -> int:
    if len(argv) < 2 or argv[1] not in ("quick", "full"):
        print(f"usage: runner PROVIDER_REF quick|full [OBLIGATION ...]  (mutant from ${ENV_VAR})", file=sys.stderr)
        return 2
    result = run_method(argv[0], argv[1] == "quick", argv[2:])
    print(RESULT_PREFIX + json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
