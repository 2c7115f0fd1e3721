"""The corpus alone (what an outside implementation gets) catches every bug the project knows
of: replayed on the impl with each catalogue mutant applied, some file diverges.  The same check
is the "vectors" column of `torchlean-rt verify --mutants`; here a mutant's replay stops at its
first diverging file."""

from __future__ import annotations

import pytest

from torchlean_runtime.conformance.target import open_target
from torchlean_runtime.conformance.vectors.reader import read_trace
from torchlean_runtime.conformance.vectors.replay import collect_files, corpus_dir, hostility, replay_trace
from torchlean_runtime.proofs.mutants.catalogue import MUTANTS, apply

_FILES = collect_files([corpus_dir()])[0]


@pytest.fixture(scope="module")
def traces():
    return [(f, read_trace(f)) for f in _FILES]


@pytest.mark.parametrize("mutant", MUTANTS, ids=lambda m: m.name)
def test_the_corpus_alone_kills(mutant, traces):
    name = mutant.name
    side = "spec" if mutant.is_spec else "impl"  # a spec mutant is a wrong oracle: replay the spec
    undo = apply(name)
    try:
        target = open_target(side)
        target.hostile = hostility(side)  # as replay runs in-process targets
        killer = next((f for f, t in traces if replay_trace(t, target, f).status != "passed"), None)
    finally:
        undo()
    assert killer is not None, f"mutant {name} survives the whole corpus"
