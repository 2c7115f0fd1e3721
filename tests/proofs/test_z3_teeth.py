"""A deliberately broken model definition is caught — by the obligations and by the
cross-check against the code.

The broken variants are built by the models themselves (model.VARIANTS,
index_model.INDEX_VARIANTS): one definition changed, everything else identical.  Each must
make at least one named obligation fail and disagree with the code on the trap sequences.
A failing proof may fail by a counterexample (``sat``) or by ``unknown``; both are failures.
"""

from __future__ import annotations

import pytest

from torchlean_runtime.proofs.z3 import crosscheck
from torchlean_runtime.proofs.z3 import obligations as O
from torchlean_runtime.proofs.z3.index_model import INDEX, build_index_model
from torchlean_runtime.proofs.z3.model import SPEC, build_spec_model

# Small timeout: a broken obligation that cannot be refuted outright fails by timeout.
T = 1500


def outcome(name, spec=SPEC, index=INDEX):
    return O.judge(O._BY_NAME[name], O.evidence(name, spec=spec, index=index, timeout_ms=T))


def test_find_last_match_is_refuted_with_a_counterexample():
    """find? returning the LAST match (a plausible transcription slip) breaks lookup after
    register: Z3 finds a concrete counterexample (``sat``), not just a timeout."""
    broken = build_spec_model("find-last-match")
    ev = O.evidence("z3.registry.get-after-register", spec=broken, timeout_ms=T)
    assert not O.judge(O._BY_NAME["z3.registry.get-after-register"], ev).passed
    assert any(q.expected == "unsat" and q.status == "sat" for _, q in ev.queries())
    assert not outcome("z3.index.queries-refine-spec", spec=broken).passed
    assert crosscheck.context_mismatches(broken, crosscheck.TRAP_CONTEXT_OPS, crosscheck.TRAP_PROBES)


def test_set_first_match_only_is_caught_by_the_impl_refinement_and_the_replay():
    """map replacing only the newest entry keeps every family-2 property that looks at the
    first match; the refinement against the impl's set_all (which refills every cell of
    slots[n]'s chain) and the replay against the spec catch it."""
    broken = build_spec_model("set-first-match-only")
    assert not outcome("z3.index.set_all-refines-spec", spec=broken).passed
    assert crosscheck.context_mismatches(broken, crosscheck.TRAP_CONTEXT_OPS, crosscheck.TRAP_PROBES)


@pytest.mark.parametrize(
    "variant, obligation",
    [
        ("lookup-oldest", "z3.index.queries-refine-spec"),
        ("set_all-newest-only", "z3.index.set_all-refines-spec"),
        ("register-forgets-older-entries", "z3.index.register-preserves-invariant"),
    ],
)
def test_broken_index_model_fails_its_obligation_and_the_impl_replay(variant, obligation):
    broken = build_index_model(variant)
    assert not outcome(obligation, index=broken).passed
    assert crosscheck.index_mismatches(broken, crosscheck.TRAP_INDEX_OPS, crosscheck.TRAP_PROBES, check_invariant=False)


def test_the_faithful_models_pass_the_same_checks():
    """Control for the tests above: the same obligations and replays pass on the real models."""
    for name in ["z3.registry.get-after-register", "z3.index.queries-refine-spec", "z3.index.set_all-refines-spec",
                 "z3.index.register-preserves-invariant"]:
        assert outcome(name).passed, name
    assert crosscheck.context_mismatches(SPEC, crosscheck.TRAP_CONTEXT_OPS, crosscheck.TRAP_PROBES) == []
    assert crosscheck.index_mismatches(INDEX, crosscheck.TRAP_INDEX_OPS, crosscheck.TRAP_PROBES) == []
