"""The main job: collect every obligation the project has, run it, report.

Each provider is a module-level function ``obligations(quick: bool) -> list[Obligation]``
named in :data:`PROVIDERS`.  A provider that fails to import or to list its obligations is
itself reported as a failed check — nothing is skipped silently.
"""

from __future__ import annotations

import fnmatch
import importlib
import os
import sys
import time
import traceback
from concurrent.futures import ProcessPoolExecutor
from typing import Iterable, Optional, TextIO

from .report import CheckResult, Obligation, Outcome, Report

__all__ = ["PROVIDERS", "collect", "run_obligation", "run"]

#: ``module:function`` of every obligation provider, in report order.
PROVIDERS: list[str] = [
    "torchlean_runtime.proofs.coverage:obligations",
    "torchlean_runtime.proofs.conformance:obligations",
    "torchlean_runtime.proofs.z3.obligations:obligations",
    "torchlean_runtime.proofs.differential.agreement:obligations",
    "torchlean_runtime.proofs.differential.fuzz:obligations",
    "torchlean_runtime.proofs.value_semantics:obligations",
    "torchlean_runtime.conformance.vectors.replay:obligations",
    "torchlean_runtime.proofs.crosshair.provider:obligations",
]


def collect(quick: bool, providers: Optional[list[str]] = None) -> tuple[list[Obligation], list[CheckResult]]:
    """All obligations, plus failed results for providers that could not be loaded."""
    obligations: list[Obligation] = []
    broken: list[CheckResult] = []
    for ref in providers if providers is not None else PROVIDERS:
        module_name, _, func = ref.partition(":")
        try:
            provider = getattr(importlib.import_module(module_name), func)
            obligations.extend(provider(quick))
        except Exception as exc:  # a broken provider is a failure, never a silent skip
            broken.append(
                CheckResult(ref, "provider", "checked", "the provider lists its obligations", False, 0.0,
                            f"{type(exc).__name__}: {exc}")
            )
    return obligations, broken


def run_obligation(ob: Obligation) -> CheckResult:
    """Run one obligation in this process; an exception is a failure with its message."""
    start = time.perf_counter()
    try:
        outcome = ob.run(*ob.args)
        if not isinstance(outcome, Outcome):
            outcome = Outcome(False, f"obligation returned {type(outcome).__name__}, not an Outcome")
    except Exception as exc:
        tb = traceback.format_exception_only(type(exc), exc)[-1].strip()
        outcome = Outcome(False, f"raised {tb}")
    return CheckResult(ob.name, ob.method, ob.label, ob.claim, outcome.passed, time.perf_counter() - start, outcome.detail)


def _progress(stream: Optional[TextIO], i: int, n: int, r: CheckResult) -> None:
    if stream is not None:
        mark = "pass" if r.passed else "FAIL"
        print(f"[{i}/{n}] {r.name} … {mark} ({r.seconds:.2f}s)", file=stream, flush=True)


def run(
    quick: bool = False,
    only: Optional[str] = None,
    progress: Optional[TextIO] = sys.stderr,
    providers: Optional[list[str]] = None,
    workers: Optional[int] = None,
) -> Report:
    obligations, broken = collect(quick, providers)
    if only:
        obligations = [ob for ob in obligations if fnmatch.fnmatch(ob.name, only) or only in ob.name]
    report = Report(results=list(broken))
    n = len(obligations)
    by_name: dict[str, CheckResult] = {}
    done = 0
    parallel = [ob for ob in obligations if ob.parallel]
    serial = [ob for ob in obligations if not ob.parallel]
    if parallel:
        with ProcessPoolExecutor(max_workers=workers or os.cpu_count() or 1) as pool:
            for ob, result in zip(parallel, pool.map(run_obligation, parallel)):
                done += 1
                by_name[ob.name] = result
                _progress(progress, done, n, result)
    for ob in serial:
        result = run_obligation(ob)
        done += 1
        by_name[ob.name] = result
        _progress(progress, done, n, result)
    report.results.extend(by_name[ob.name] for ob in obligations)
    return report
