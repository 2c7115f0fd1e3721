"""The corpus alone (what an outside implementation gets) catches every bug the project knows
of: replayed on the impl with each catalogue mutant applied, some file diverges.  The same check
is the "vectors" column of `torchlean-rt verify --mutants`; here a mutant's replay stops at its
first diverging file.

Replay runs in both checking modes, as users do: in process with icontract's preconditions on,
and — for a mutant that survives that — `python -O -m torchlean_runtime replay --target impl` in
a subprocess, where the preconditions are stripped and the impl's plain checks are all that stand
(an early return placed before a check shows only there).  Mutants whose bug no v1 trace can
express (``Mutant.beyond_traces``: a Python-API misuse Lean's types rule out, or a layout break
that changes no result) are listed, not replayed; the last test pins that list so it cannot grow
silently."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from torchlean_runtime.conformance.target import open_target
from torchlean_runtime.conformance.vectors.reader import read_trace
from torchlean_runtime.conformance.vectors.replay import collect_files, corpus_dir, hostility, replay_trace
from torchlean_runtime.proofs.mutants.catalogue import ENV_VAR, MUTANTS, apply, write_sitecustomize

_FILES = collect_files([corpus_dir()])[0]
EXPRESSIBLE = [m for m in MUTANTS if not m.beyond_traces]


@pytest.fixture(scope="module")
def traces():
    return [(f, read_trace(f)) for f in _FILES]


def _killed_in_process(mutant, traces) -> bool:
    side = "spec" if mutant.is_spec else "impl"  # a spec mutant is a wrong oracle: replay the spec
    undo = apply(mutant.name)
    try:
        target = open_target(side)
        target.hostile = hostility(side)  # as replay runs in-process targets
        return any(replay_trace(t, target, f).status != "passed" for f, t in traces)
    finally:
        undo()


def _killed_under_optimize(mutant, tmp_path) -> bool:
    """The CLI replay of the shipped corpus on the impl under python -O, the mutant applied at
    start-up by the catalogue's sitecustomize; exit status 1 is a divergence."""
    write_sitecustomize(str(tmp_path))
    env = dict(os.environ, **{ENV_VAR: mutant.name, "PYTHONPATH": str(tmp_path)})
    proc = subprocess.run([sys.executable, "-O", "-m", "torchlean_runtime", "replay", "--target", "impl", corpus_dir()],
                          capture_output=True, text=True, env=env, timeout=900)
    assert proc.returncode in (0, 1), proc.stderr[-2000:]
    return proc.returncode == 1 and "diverged" in proc.stdout


@pytest.mark.parametrize("mutant", EXPRESSIBLE, ids=lambda m: m.name)
def test_the_corpus_alone_kills(mutant, traces, tmp_path):
    killed = _killed_in_process(mutant, traces) or (not mutant.is_spec and _killed_under_optimize(mutant, tmp_path))
    assert killed, f"mutant {mutant.name} survives the whole corpus in both checking modes"


def test_the_mutants_no_trace_can_express_are_exactly_these():
    # Each is a misuse of the Python API that Lean's types rule out (cast-shape-unchecked) or a
    # break of the impl's private layout that changes no result (chunk-flushed-one-early: only the
    # invariant check sees it; see Mutant.beyond_traces); adding one here needs one of these
    # arguments, and the kill matrix must still kill it by another method.
    assert sorted(m.name for m in MUTANTS if m.beyond_traces) == ["cast-shape-unchecked", "chunk-flushed-one-early"]
