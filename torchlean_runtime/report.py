"""Check results and the one report every subsystem contributes to.

A verify run is a list of :class:`Obligation` objects (collected from providers, see
``torchlean_runtime.verify``); running one yields a :class:`CheckResult`.  The assurance
``label`` says what a pass establishes — never more:

==============  ===============================================================================
``proved``      Z3 proved it for ALL inputs of the model (induction scheme named in the claim)
``exhaustive``  CrossHair confirmed it over all paths within the stated bounds
``searched``    no counterexample found in N paths / N seconds of symbolic search
``sampled``     N random cases passed (hypothesis / random campaigns)
``examples``    exactly the listed hand-written cases passed (expected values from Lean)
``checked``     a finite fact checked completely (e.g. the declaration table is complete)
==============  ===============================================================================

``verify merge`` labels a planned check that no report ran ``not run`` (:data:`NOT_RUN`): a
failed row that establishes nothing.
"""

from __future__ import annotations

import json
import textwrap
import time
import traceback
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Iterable, Optional, Sequence

__all__ = ["LABELS", "NOT_RUN", "TABLE_WIDTH", "Outcome", "Obligation", "CheckResult", "Report", "run_obligation", "isolate_hypothesis", "pin_hypothesis_constants"]

LABELS: dict[str, str] = {
    "proved": "proved for all inputs (Z3, over a model checked against the code)",
    "exhaustive": "confirmed over all paths within stated bounds (CrossHair)",
    "searched": "no counterexample in the stated search budget",
    "sampled": "N random cases passed",
    "examples": "the listed hand-written cases passed",
    "checked": "a finite fact checked completely",
}

#: The label of a row ``verify merge`` adds for a planned check that no report ran: it failed and
#: establishes nothing (never an obligation's label, never a pass).
NOT_RUN = "not run"
NOT_RUN_MEANING = "no report ran this planned check (verify merge): a failure that establishes nothing"


@dataclass(frozen=True)
class Outcome:
    """What running an obligation returned: pass/fail and a one-line detail (counts, budget)."""

    passed: bool
    detail: str = ""


@dataclass(frozen=True)
class Obligation:
    """A named claim with its method and intended assurance label.

    ``run`` must be a module-level function (picklable) called as ``run(*args)`` and
    returning an :class:`Outcome`; ``parallel=True`` obligations run in worker processes.
    """

    name: str
    method: str
    label: str
    claim: str
    run: Callable[..., Outcome]
    args: tuple = ()
    parallel: bool = False

    def __post_init__(self) -> None:
        if self.label not in LABELS:
            raise ValueError(f"unknown assurance label {self.label!r}")


@dataclass
class CheckResult:
    name: str
    method: str
    label: str
    claim: str
    passed: bool
    seconds: float
    detail: str = ""


#: The table's width: every line fits it; long names and details are wrapped, never cut.
TABLE_WIDTH = 120


@dataclass
class Report:
    results: list[CheckResult] = field(default_factory=list)
    quick: bool = False
    shard: Optional[tuple[int, int]] = None
    #: every check the (unsharded) run plans, in report order — what ``verify merge`` must find
    planned: list[str] = field(default_factory=list)
    wall_seconds: float = 0.0
    merged_from: int = 0

    @property
    def failed(self) -> list[CheckResult]:
        return [r for r in self.results if not r.passed]

    @property
    def ok(self) -> bool:
        return bool(self.results) and not self.failed

    def summary(self) -> str:
        """The verdict, the checks counted per label (passed ones only) and the wall time."""
        counts = {label: 0 for label in LABELS}
        for r in self.results:
            if r.passed:
                counts[r.label] = counts.get(r.label, 0) + 1
        parts = [f"{n} {label}" for label, n in counts.items() if n]
        verdict = "PASS" if self.ok else "FAIL"
        where = ""
        if self.shard is not None:
            where = f" (shard {self.shard[0]}/{self.shard[1]} of {len(self.planned)} planned checks)"
        elif self.merged_from:
            where = f" (merged from {self.merged_from} reports; wall time of the longest)"
        return (f"{verdict}: {len(self.results)} checks{where} — " + ", ".join(parts + [f"{len(self.failed)} failed"])
                + f" in {self.wall_seconds:.0f}s wall time")

    def table(self, width: int = TABLE_WIDTH) -> str:
        """One block per check, every line at most ``width`` characters: result, time, label and
        the check's name (wrapped) with its method, then the detail (the numbers behind the
        label: cases, paths, bounds) wrapped below it — never cut."""
        indent = " " * 30
        lines = [f"{'result':<6}  {'time':>8}  {'label':<10}  check [method]", "-" * width]
        for r in self.results:
            head = f"{'pass' if r.passed else 'FAIL':<6}  {r.seconds:>7.2f}s  {r.label:<10}  "
            lines += textwrap.wrap(f"{r.name} [{r.method}]", width=width, initial_indent=head,
                                   subsequent_indent=indent, break_on_hyphens=False)
            if r.detail:
                lines += textwrap.wrap(" ".join(r.detail.split()), width=width, initial_indent=indent + "↳ ",
                                       subsequent_indent=indent + "  ", break_on_hyphens=False)
        return "\n".join(lines)

    def to_json(self) -> str:
        return json.dumps(
            {
                "ok": self.ok,
                "summary": self.summary(),
                "quick": self.quick,
                "shard": list(self.shard) if self.shard else None,
                "planned": self.planned,
                "wall_seconds": self.wall_seconds,
                "labels": {**LABELS, **({NOT_RUN: NOT_RUN_MEANING} if any(r.label == NOT_RUN for r in self.results)
                                        else {})},
                "results": [asdict(r) for r in self.results],
            },
            indent=2,
        )

    @classmethod
    def from_json(cls, text: str) -> "Report":
        """A report written by :meth:`to_json` (ValueError/KeyError/TypeError on anything else)."""
        data = json.loads(text)
        if not isinstance(data, dict) or not isinstance(data.get("results"), list):
            raise ValueError("not a torchlean-rt verify report")
        results = [CheckResult(**{k: r[k] for k in ("name", "method", "label", "claim", "passed", "seconds", "detail")})
                   for r in data["results"]]
        shard = tuple(data["shard"]) if data.get("shard") else None
        return cls(results, bool(data["quick"]), shard, list(data["planned"]), float(data["wall_seconds"]))


# --- running one obligation (verify, its workers and the mutant runner share these) ---------------


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


def isolate_hypothesis() -> None:
    """Hypothesis derandomized and without its example database: every sampled check is a
    fixed set of examples (the same on every run and machine), and no run reads or leaves
    failing examples that another run would replay.  Settings a check passes explicitly win."""
    try:
        from hypothesis import settings
    except ImportError:  # a dev dependency; nothing to configure without it
        return
    settings.register_profile("torchlean-rt-verify", database=None, derandomize=True)
    settings.load_profile("torchlean-rt-verify")
    pin_hypothesis_constants()


def pin_hypothesis_constants() -> None:
    """Hypothesis (≥ 6.131) mixes into its draws constants it reads from the source of every
    *local* module already imported — so the examples of a fixed seed depend on what else the
    process imported (an editable install, a verify worker that ran another check first) and
    differ between a source checkout and a wheel (site-packages is never local).  Pinning that
    pool to empty makes a seed's examples a function of the seed and the strategies alone.

    It replaces one internal function of hypothesis; if a future hypothesis moves it, this does
    nothing and ``tests/proofs/test_provider_references.py`` fails on the import-independence
    check, so the change is noticed rather than silently un-pinned."""
    try:
        from hypothesis.internal.conjecture import providers  # noqa: PLC0415
    except ImportError:
        return
    if hasattr(providers, "_get_local_constants") and hasattr(providers, "Constants"):
        if getattr(providers._get_local_constants, "torchlean_pinned", False):
            return
        empty = providers.Constants()

        def pinned() -> object:
            return empty

        pinned.torchlean_pinned = True  # type: ignore[attr-defined]
        providers._get_local_constants = pinned
        # the pools hypothesis already filtered from the local constants (one per choice type and
        # bounds) outlive the pin: a draw before it (any @given test in the same process) would
        # leave them in use, so a seed's programs would still depend on what ran first
        cache = getattr(providers, "CONSTANTS_CACHE", None)
        if cache is not None:
            providers.CONSTANTS_CACHE = type(cache)(getattr(cache, "max_size", 1024))
