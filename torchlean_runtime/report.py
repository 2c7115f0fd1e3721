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
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Iterable, Optional, Sequence

__all__ = ["LABELS", "Outcome", "Obligation", "CheckResult", "Report"]

LABELS: dict[str, str] = {
    "proved": "proved for all inputs (Z3, over a model checked against the code)",
    "exhaustive": "confirmed over all paths within stated bounds (CrossHair)",
    "searched": "no counterexample in the stated search budget",
    "sampled": "N random cases passed",
    "examples": "the listed hand-written cases passed",
    "checked": "a finite fact checked completely",
}


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


@dataclass
class Report:
    results: list[CheckResult] = field(default_factory=list)

    @property
    def failed(self) -> list[CheckResult]:
        return [r for r in self.results if not r.passed]

    @property
    def ok(self) -> bool:
        return bool(self.results) and not self.failed

    def summary(self) -> str:
        counts = {label: 0 for label in LABELS}
        for r in self.results:
            if r.passed:
                counts[r.label] += 1
        parts = [f"{n} {label}" for label, n in counts.items() if n]
        total = sum(r.seconds for r in self.results)
        verdict = "PASS" if self.ok else "FAIL"
        return f"{verdict}: {len(self.results)} checks — " + ", ".join(parts + [f"{len(self.failed)} failed"]) + f" ({total:.1f}s of check time)"

    def table(self, detail_width: int = 72) -> str:
        """One row per check: check, method, assurance label, result, time, and the detail
        (the numbers behind the label: cases, paths, bounds).  Failures show their detail in
        full on the next line."""
        head = ("check", "method", "label", "result", "time", "detail")

        def clip(text: str) -> str:
            text = " ".join(text.split())
            return text if len(text) <= detail_width else text[: detail_width - 1] + "…"

        rows = [
            (r.name, r.method, r.label, "pass" if r.passed else "FAIL", f"{r.seconds:.2f}s", clip(r.detail))
            for r in self.results
        ]
        widths = [max([len(h)] + [len(row[i]) for row in rows]) for i, h in enumerate(head)]
        fmt = "  ".join("{:<%d}" % w for w in widths)
        lines = [fmt.format(*head).rstrip(), fmt.format(*("-" * w for w in widths))]
        for r, row in zip(self.results, rows):
            lines.append(fmt.format(*row).rstrip())
            if not r.passed and r.detail and clip(r.detail) != r.detail:
                lines.append("    ↳ " + r.detail)
        return "\n".join(lines)

    def to_json(self) -> str:
        return json.dumps(
            {
                "ok": self.ok,
                "summary": self.summary(),
                "labels": LABELS,
                "results": [asdict(r) for r in self.results],
            },
            indent=2,
        )
