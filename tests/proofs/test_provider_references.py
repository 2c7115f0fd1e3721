"""Every ``module:function`` provider the evidence names resolves, and every obligation it names
exists — so moving a module cannot leave a verify row or a kill-matrix column pointing nowhere
(a moved provider once turned "python -O: corpus replays on impl" into a load failure)."""

from __future__ import annotations

import importlib

import pytest

from torchlean_runtime.proofs import checking_modes
from torchlean_runtime.proofs.mutants import kill_matrix
from torchlean_runtime.proofs.providers import PROVIDERS


def _obligations(ref: str):
    module, _, func = ref.partition(":")
    return getattr(importlib.import_module(module), func)(True)


@pytest.mark.parametrize("ref", PROVIDERS)
def test_every_listed_provider_loads(ref):
    assert _obligations(ref)


@pytest.mark.parametrize("short,ref,names,_what", checking_modes.METHODS, ids=[m[0] for m in checking_modes.METHODS])
def test_every_checking_mode_method_names_real_obligations(short, ref, names, _what):
    have = {ob.name for ob in _obligations(ref)}
    assert have and set(names) <= have, (short, sorted(set(names) - have))


@pytest.mark.parametrize("method", [m for m in kill_matrix.METHODS if m.modules or m.module_prefix],
                         ids=lambda m: m.key)
def test_every_kill_matrix_column_finds_its_provider(method):
    ref, note = kill_matrix._provider_ref(method)
    assert ref is not None, note


_CAMPAIGN = """
import importlib, sys
for m in sys.argv[1:]:
    importlib.import_module(m).obligations(True)
from torchlean_runtime.proofs.differential import fuzz
r = fuzz.run_campaign(None, seed=3, rounds=1, examples_per_round=8, target="spec", shrink=False)
print(r.cases, r.operations, r.must_fail)
"""


def test_a_seeded_campaign_does_not_depend_on_what_else_was_imported():
    """Hypothesis draws constants from every imported local module; pinned (report.
    pin_hypothesis_constants), a seed's programs are the same whatever a verify worker ran before."""
    import subprocess
    import sys

    runs = [subprocess.run([sys.executable, "-c", _CAMPAIGN, *extra], capture_output=True, text=True, timeout=600)
            for extra in ((), ("torchlean_runtime.proofs.conformance", "torchlean_runtime.proofs.value_semantics"))]
    assert all(r.returncode == 0 for r in runs), [r.stderr[-1500:] for r in runs]
    assert runs[0].stdout == runs[1].stdout and runs[0].stdout.split()[1] != "0"


_AFTER_ANOTHER_RUN = """
import importlib, shlex, sys
if sys.argv[1:] == ["first"]:
    # what a test suite may do before a campaign: import other local modules, then run the machine
    # under hypothesis unpinned (an ordinary @given-style run fills hypothesis' pools of constants)
    importlib.import_module("torchlean_runtime.proofs.vectors_obligations")
    importlib.import_module("torchlean_runtime.verify")
    from hypothesis import Phase, settings
    from hypothesis import seed as hypothesis_seed
    from hypothesis.stateful import run_state_machine_as_test
    from torchlean_runtime.proofs.differential.machine import DifferentialMachine
    run_state_machine_as_test(hypothesis_seed(1)(DifferentialMachine), settings=settings(
        max_examples=30, database=None, deadline=None, phases=[Phase.generate], derandomize=False))
from torchlean_runtime.proofs.differential import fuzz
runner = %r
r = fuzz.run_campaign(None, seed=2, rounds=1, target=f"exec:{shlex.quote(sys.executable)} {runner}", shrink=False)
print(r.cases, r.operations, r.must_fail, r.divergence)
"""


def test_a_seeded_campaign_does_not_depend_on_what_hypothesis_drew_before():
    """Hypothesis keeps the constants it filtered for each kind of draw (its CONSTANTS_CACHE); a draw
    made before the pin (any hypothesis test earlier in the same process) must not leave them in
    use: the campaign finds the same divergence of the dict runner after it as in a fresh process.
    (Before the pin reset that cache, tests/differential's exec-divergence test failed whenever
    tests/benchmarks/test_doc_budgets.py had imported more local modules earlier in the run.)"""
    import subprocess
    import sys
    from pathlib import Path

    script = _AFTER_ANOTHER_RUN % str(Path(__file__).resolve().parents[2] / "examples" / "dict_runner.py")
    runs = [subprocess.run([sys.executable, "-c", script, *extra], capture_output=True, text=True, timeout=600)
            for extra in ((), ("first",))]
    assert all(r.returncode == 0 for r in runs), [r.stderr[-1500:] for r in runs]
    assert runs[0].stdout == runs[1].stdout and "Runtime." in runs[0].stdout
