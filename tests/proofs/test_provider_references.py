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
