"""The Z3 obligations prove, their canaries are refuted, and the guards around them work.

Runs every obligation of proofs/z3/obligations.py with the --quick timeout, then checks the
machinery that makes a pass mean something: non-vacuity checks, canaries, unknown = failure,
the structural-recursion check, the scheme named in each claim.
"""

from __future__ import annotations

import pickle

import pytest
import z3

from torchlean_runtime import verify
from torchlean_runtime.proofs.z3 import induction as ind
from torchlean_runtime.proofs.z3 import obligations as O
from torchlean_runtime.proofs.z3.index_model import INDEX_DEFINITIONS
from torchlean_runtime.proofs.z3.model import (
    SPEC,
    SPEC_DEFINITIONS,
    NatList,
    Shape,
    define_rec,
    structural_recursion_violations,
)
from torchlean_runtime.report import Obligation

T = ind.QUICK_TIMEOUT_MS


@pytest.fixture(scope="module")
def evidences():
    return {ob.name: O.evidence(ob.name, timeout_ms=T) for ob in O.OBLIGATIONS}


def test_every_obligation_proves(evidences):
    failures = {}
    for ob in O.OBLIGATIONS:
        outcome = O.judge(ob, evidences[ob.name])
        if not outcome.passed:
            failures[ob.name] = outcome.detail
    assert not failures, failures


def test_every_proof_query_is_unsat_and_every_check_sat(evidences):
    for name, ev in evidences.items():
        for where, q in ev.queries():
            assert q.status == q.expected, (name, where, q.describe())
            assert q.status != "unknown"


def test_every_proof_has_proof_queries_and_hypotheses_are_checked(evidences):
    for name, ev in evidences.items():
        for where, q in ev.queries():
            assert q.role in ("proof", "non-vacuity", "canary", "witness"), (name, where)
        for proof in ev.proofs:
            roles = [q.role for q in proof.queries]
            assert "proof" in roles, (name, proof.name)
            body = proof.formula.body() if z3.is_quantifier(proof.formula) else proof.formula
            if z3.is_implies(body):  # a claim with hypotheses: they were checked satisfiable
                assert "non-vacuity" in roles, (name, proof.name)


def test_every_canary_comes_back_sat(evidences):
    for name, ev in evidences.items():
        assert ev.canaries, name
        for canary in ev.canaries:
            assert canary.query.expected == "sat" and canary.query.status == "sat", (name, canary.query.describe())


def test_every_definition_has_a_canary(evidences):
    targets = {t for ev in evidences.values() for canary in ev.canaries for t in canary.targets}
    known = set(SPEC_DEFINITIONS) | set(INDEX_DEFINITIONS)
    assert targets <= known, targets - known  # no typo'd target
    assert known <= targets, known - targets


def test_issue_families_are_covered():
    families = {ob.family for ob in O.OBLIGATIONS}
    assert families == {1, 2, 3, 4, 5}
    names = {ob.name for ob in O.OBLIGATIONS}
    for required in [
        "z3.shape.areEqual-iff-eq", "z3.shape.ofList-toList-inverse", "z3.shape.size-ofList-product",
        "z3.shape.equal-shapes-equal-sizes", "z3.shape.ShapeEq-laws",
        "z3.registry.get-after-register", "z3.registry.set-keeps-length-names-order",
        "z3.registry.set-absent-name-unchanged", "z3.registry.get-after-set", "z3.registry.set-other-names-unaffected",
        "z3.validity.registerVariable", "z3.validity.setVariable", "z3.validity.setGradient",
        "z3.validity.clearGradients", "z3.validity.registerGradient",
        "z3.counts.next_id", "z3.counts.lengths-with-duplicates",
        "z3.index.register-preserves-invariant", "z3.index.set_all-preserves-invariant",
        "z3.index.empty-and-clear", "z3.index.register-refines-spec", "z3.index.set_all-refines-spec",
        "z3.index.queries-refine-spec",
    ]:
        assert required in names, required


def test_claims_name_exactly_the_schemes_used(evidences):
    for ob in O.OBLIGATIONS:
        used = evidences[ob.name].schemes()
        assert used == set(ob.schemes), ob.name
        for scheme in ob.schemes:
            assert scheme in ob.claim, ob.name


def test_induction_proofs_have_base_and_step_queries(evidences):
    seen = 0
    for ev in evidences.values():
        for proof in ev.proofs:
            if proof.scheme.startswith("structural induction"):
                labels = [q.label for q in proof.queries]
                assert any(lab.startswith("base case") for lab in labels) and any(lab.startswith("step case") for lab in labels)
                seen += 1
    assert seen >= 8


def test_registerGradient_witness_is_a_real_model(evidences):
    ev = evidences["z3.validity.registerGradient"]
    assert len(ev.witnesses) == 2 and all(w.status == "sat" for w in ev.witnesses)


def test_provider_lists_every_obligation_picklable():
    obs = O.obligations(quick=True)
    assert all(isinstance(ob, Obligation) for ob in obs)
    names = [ob.name for ob in obs]
    assert len(names) == len(set(names))
    proved = [ob for ob in obs if ob.label == "proved"]
    assert {ob.name for ob in proved} == {ob.name for ob in O.OBLIGATIONS}
    assert all(ob.method == "z3" for ob in proved)
    assert {ob.label for ob in obs if ob.label != "proved"} == {"checked", "sampled"}
    for ob in obs:
        pickle.dumps((ob.run, ob.args))  # runnable in a worker process
    assert "torchlean_runtime.proofs.z3.obligations:obligations" in verify.PROVIDERS


def test_structural_recursion_check_passes_on_the_models_and_flags_bad_definitions():
    assert structural_recursion_violations() == []
    L = NatList
    record: list = []
    define_rec("test.good", [("l", L)], z3.IntSort(),
               lambda f, l: z3.If(L.is_nnil(l), z3.IntVal(0), 1 + f(L.ntail(l))), record=record)
    define_rec("test.same-argument", [("l", L)], z3.IntSort(),
               lambda f, l: z3.If(L.is_nnil(l), z3.IntVal(0), 1 + f(l)), record=record)
    define_rec("test.unguarded", [("l", L)], z3.IntSort(), lambda f, l: 1 + f(L.ntail(l)), record=record)
    define_rec("test.wrong-branch", [("l", L)], z3.IntSort(),
               lambda f, l: z3.If(L.is_nnil(l), f(L.ntail(l)), z3.IntVal(0)), record=record)
    problems = structural_recursion_violations(record)
    assert not any(p.startswith("test.good") for p in problems)
    for bad in ["test.same-argument", "test.unguarded", "test.wrong-branch"]:
        assert any(p.startswith(bad) for p in problems), bad


def test_why_the_check_matters_a_nonterminating_definition_proves_anything():
    record: list = []
    bad = define_rec("test.loop", [("l", NatList)], z3.IntSort(), lambda f, l: f(l) + 1, record=record)
    l = z3.Const("l", NatList)
    # Z3 "proves" bad l ≠ 0 and bad l ≠ 1 (each by unfolding once): no value is possible, and
    # nothing warns about it — only the structural check does.
    for value in (0, 1):
        assert ind.run_query(f"bad l = {value}", [bad(l) == value], "unsat", T).status == "unsat"
    assert structural_recursion_violations(record)


def test_unknown_is_a_failure_never_a_pass():
    x, y, zz = z3.Ints("x y zz")
    hard = ind.run_query("x³ + y³ = z³ has no positive solution", [x > 0, y > 0, zz > 0, x * x * x + y * y * y == zz * zz * zz],
                         "unsat", 300)
    assert hard.status == "unknown" and not hard.ok
    proof = ind.Proof("hard", "direct (no induction)", z3.BoolVal(True), (hard,))
    assert not proof.proved
    ob = O.Z3Obligation("test.unknown", 0, "a hard claim", frozenset({O.DIRECT}), lambda *a: None)
    canary = O.Canary(("x",), ind.canary("x is 0", x == 0))
    outcome = O.judge(ob, O.Evidence([proof], [canary], []))
    assert not outcome.passed and "unknown" in outcome.detail


def test_vacuous_hypotheses_are_caught():
    a = z3.Int("a")
    proof = ind.direct("a > 0 ∧ a < 0 → a = 5", [a], hyps=[a > 0, a < 0], goal=a == 5, timeout_ms=T)
    assert [q.status for q in proof.queries] == ["unsat", "unsat"]  # the claim "holds" — vacuously
    assert not proof.proved
    l = z3.Const("l", NatList)
    contradictory = [NatList.is_nnil(l), NatList.is_ncons(l)]
    inductive = ind.induction("l = [] ∧ l ≠ [] → False", on=l, hyps=contradictory, goal=z3.BoolVal(False), timeout_ms=T)
    assert all(q.status == "unsat" for q in inductive.queries if q.role == "proof")
    assert not inductive.proved  # every case is vacuous, none declared so


def test_declared_vacuous_case_must_really_be_impossible():
    l = z3.Const("l", NatList)
    honest = ind.induction("length l ≥ 0", on=l, goal=SPEC.natLength(l) >= 0, timeout_ms=T)
    assert honest.proved
    bogus = ind.induction("length l ≥ 0, cons case wrongly declared vacuous", on=l, goal=SPEC.natLength(l) >= 0,
                          vacuous=["ncons"], timeout_ms=T)
    assert not bogus.proved


def test_a_canary_on_a_true_claim_fails():
    s = z3.Const("s", Shape)
    assert ind.canary("areEqual s s is false", z3.Not(SPEC.areEqual(s, s)), timeout_ms=T).ok
    true_claim = ind.canary("size scalar = 1 (true)", SPEC.size(Shape.scalar) == 1, timeout_ms=T)
    assert true_claim.status == "unsat" and not true_claim.ok


def test_instances_are_the_quantified_fact_at_the_given_terms():
    s1, s2 = z3.Consts("s1 s2", Shape)
    lemma = ind.induction("areEqual s1 s2 = (s1 = s2)", on=s1, generalizing=[s2],
                          goal=SPEC.areEqual(s1, s2) == (s1 == s2), timeout_ms=T)
    inst = lemma.at(Shape.scalar, Shape.dim(2, Shape.scalar))
    assert z3.is_true(z3.simplify(inst))  # closed, and true at these shapes
    with pytest.raises(ValueError):
        lemma.at(Shape.scalar)
    with pytest.raises(TypeError):
        lemma.at(Shape.scalar, z3.IntVal(1))


def test_scheme_text_names_constructors_and_hypothesis():
    s1, s2 = z3.Consts("s1 s2", Shape)
    text = ind.scheme_of(s1, [s2])
    assert "structural induction on s1 : Shape" in text
    assert "scalar | dim n rest (IH for rest)" in text and "generalizing s2" in text


def test_obligations_do_not_depend_on_the_solver_seed():
    with ind.solver_seed(7):
        failing = [ob.name for ob in O.OBLIGATIONS if not O.judge(ob, O.evidence(ob.name, timeout_ms=T)).passed]
    assert not failing
