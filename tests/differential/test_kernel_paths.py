"""The differential machinery runs against BOTH paths of ``accumulate_gradient`` (issue 11): the
``[fast]`` numba kernel (``impl/kernels.py``) and the numpy path (``TORCHLEAN_RT_KERNELS=0``,
read at import, hence a subprocess).  Each campaign is count-budgeted with a fixed seed (the
same programs on every run; nothing is timed), every step compared bit for bit with the spec,
and each asserts that the path it claims to test was actually taken."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from torchlean_runtime.impl import kernels
from torchlean_runtime.proofs.differential import fuzz

# The random engine (the default) and the stateful machine, each at a fixed count.
RANDOM = dict(seed=11, rounds=2, examples_per_round=40)
STATEFUL = dict(seed=11, rounds=2, examples_per_round=20)


@pytest.fixture
def kernel_calls(fast_kernels, monkeypatch) -> list:
    """The kernel on every accumulate with an existing gradient — the dispatch bound held at 1
    whatever its default (the programs' tensors have at most 45 elements) — counting its calls
    (``fast_kernels``: numba present and the kernels probed; a skip without numba, a failure under CI)."""
    kernel, calls = kernels.ACCUMULATE, []
    monkeypatch.setattr(kernels, "ACCUMULATE", lambda out, a, b: calls.append(out.size) or kernel(out, a, b))
    monkeypatch.setattr(kernels, "ACCUMULATE_MIN_ELEMENTS", 1)
    return calls


def test_campaigns_agree_with_the_spec_on_the_kernel_path(kernel_calls) -> None:
    random_run = fuzz.run_random_campaign(None, shrink=False, **RANDOM)
    assert random_run.divergence is None and random_run.harness_error is None, random_run.summary()
    after_random = len(kernel_calls)
    assert after_random > 0, "the random campaign never reached the accumulate kernel"
    stateful_run = fuzz.run_campaign(None, shrink=False, **STATEFUL)
    assert stateful_run.divergence is None and stateful_run.harness_error is None, stateful_run.summary()
    assert len(kernel_calls) > after_random, "the stateful campaign never reached the accumulate kernel"


@pytest.mark.parametrize("mutant", ["accumulate-nan-order", "f32-invalid-default-nan"])
def test_the_kernel_path_campaign_has_teeth(kernel_calls, mutants, monkeypatch, mutant) -> None:
    """The same campaign finds a NaN-rule bug planted in the fix-up the kernel path calls."""
    mutants[mutant](monkeypatch)
    found = fuzz.run_random_campaign(None, shrink=False, **RANDOM)
    assert found.divergence is not None and "Runtime.Variable.accumulateGradient" in found.divergence, found.summary()
    assert kernel_calls


NUMPY_PATH_CAMPAIGNS = f"""
import json
from torchlean_runtime.impl import kernels, variable
from torchlean_runtime.proofs.differential import fuzz
calls = []
numpy_path = variable._fix_sum_nans  # the numpy path's NaN step: called on every accumulate it serves
variable._fix_sum_nans = lambda *args: calls.append(1) or numpy_path(*args)
random_run = fuzz.run_random_campaign(None, shrink=False, **{RANDOM!r})
stateful_run = fuzz.run_campaign(None, shrink=False, **{STATEFUL!r})
print(json.dumps({{"kernel": kernels.ACCUMULATE is not None, "status": kernels.STATUS, "calls": len(calls),
                  "divergences": [r.divergence or r.harness_error for r in (random_run, stateful_run)],
                  "operations": random_run.operations + stateful_run.operations}}))
"""


def test_campaigns_agree_with_the_spec_on_the_numpy_path() -> None:
    env = {**os.environ, kernels.ENV_VAR: "0"}
    done = subprocess.run([sys.executable, "-c", NUMPY_PATH_CAMPAIGNS], capture_output=True, text=True, env=env,
                          timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["kernel"] is False and "disabled" in report["status"], report
    assert report["divergences"] == [None, None], report
    assert report["calls"] > 0 and report["operations"] > 0, report
