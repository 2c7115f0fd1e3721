"""Both checking modes: every verify method that drives the impl also runs under ``python -O``.

With ``-O`` icontract's preconditions are stripped, so the impl runs its plain code paths: a
plain argument check that a shortcut skips (an early return before the check) is hidden by the
precondition in the default mode and shows only here.  Each obligation below runs one method's
obligations in a fresh ``python -O -P`` process through the mutant runner
(``proofs/mutants/runner.py``: it applies the mutant named in ``TORCHLEAN_RT_MUTANT``, if any,
so the kill matrix reaches these processes too) and passes when every one of them passed there.
The budgets are the methods' own (counts and seeds), so the verdict does not depend on load.
"""

from __future__ import annotations

import json
import subprocess
import sys

from torchlean_runtime.report import Obligation, Outcome

__all__ = ["obligations", "run_optimized", "METHODS"]

#: (short name, provider, obligation names (empty: all), what it drives) — the impl-driving
#: methods of verify.  The machine runs without shrinking here: a divergence is a failure either
#: way, and ``torchlean-rt fuzz`` shrinks it when asked.
METHODS: tuple[tuple[str, str, tuple[str, ...], str], ...] = (
    # (the corpus under -O is the vectors provider's own obligation: `replay` run as a user runs it)
    ("random operation sequences", "torchlean_runtime.proofs.differential.agreement:obligations", (),
     "the sampled spec-vs-impl sequences (float64, float32, int64), bad arguments included"),
    ("value semantics", "torchlean_runtime.proofs.value_semantics:obligations", (),
     "the hostile-caller value-semantics programs"),
    ("stateful machine", "torchlean_runtime.proofs.mutants.kill_matrix:machine_obligations", (),
     "the stateful differential machine's campaign (count budget, not shrunk) and its regression vectors"),
)


def run_optimized(provider: str, names: tuple[str, ...], quick: bool, timeout: float = 3600.0) -> Outcome:
    """Run ``provider``'s obligations ``names`` (all when empty) in ``python -O``; pass iff all pass."""
    from torchlean_runtime.proofs.mutants.runner import RESULT_PREFIX

    cmd = [sys.executable, "-O", "-P", "-m", "torchlean_runtime.proofs.mutants.runner", provider,
           "quick" if quick else "full", *names]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:  # a safety net only (a hang), never the budget
        return Outcome(False, f"python -O run did not finish within {timeout:.0f}s")
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith(RESULT_PREFIX)]
    if proc.returncode != 0 or not lines:
        tail = " | ".join((proc.stderr or proc.stdout).strip().splitlines()[-3:])
        return Outcome(False, f"the python -O runner crashed (exit status {proc.returncode}): {tail}")
    result = json.loads(lines[-1][len(RESULT_PREFIX):])
    status = result.get("status")
    if status == "passed":
        return Outcome(True, f"under python -O: {result.get('detail', '')}")
    return Outcome(False, f"under python -O ({status}): {result.get('detail', '')}")


def obligations(quick: bool) -> list[Obligation]:
    return [
        Obligation(
            name=f"python -O: {short}",
            method="checking modes (-O)",
            label="sampled" if "corpus" not in short else "examples",
            claim=f"{what}, run again under python -O (icontract preconditions stripped: the impl's plain paths), "
                  f"with the same counts and seeds; every obligation passes there too",
            run=run_optimized,
            args=(provider, names, quick),
            parallel=True,
        )
        for short, provider, names, what in METHODS
    ]
