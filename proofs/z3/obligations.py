"""The Z3 obligations (issue 4, families 1–5) and the verify provider :func:`obligations`.

Each obligation is a set of facts about the model (``model.py`` for the spec,
``index_model.py`` for the impl's hashed registry), each proved through the shared helper
in ``induction.py``, plus canaries (false claims the model must refute) and, where the
issue asks for one, a witness (a situation that must exist).  An obligation passes only
when every proof query is ``unsat``, every non-vacuity check, canary and witness is
``sat``, the model's recursive definitions are all structural, and the induction schemes
actually used are exactly the ones its claim names.  ``unknown`` (a timeout included) is a
failure.

What ``proved`` means here: true for ALL inputs of the Z3 model.  The model is a hand
transcription, checked against the Python spec and the impl on many concrete inputs
(``tests/proofs/test_z3_crossvalidate.py``, and the ``sampled`` obligations
``z3.model.matches-spec`` / ``z3.index-model.matches-impl`` listed here), not derived
from the code.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from functools import cached_property
from typing import Callable

import z3

from torchlean_runtime.report import Obligation, Outcome

from . import induction as ind
from .index_model import INDEX, Chain, IndexModel, IndexRegistry, OptChain, SlotsSort, newest, push
from .model import (
    SPEC,
    AnyTensor,
    Ctx,
    Entry,
    NameList,
    NatList,
    OptEntry,
    OptTensor,
    Registry,
    Shape,
    SpecModel,
    Str,
    structural_recursion_violations,
)

__all__ = ["Z3Obligation", "Evidence", "OBLIGATIONS", "evidence", "run", "obligations"]

# --- the variables the claims quantify over --------------------------------------------------

s, s1, s2, s3 = z3.Consts("s s1 s2 s3", Shape)
l = z3.Const("l", NatList)
d1, d2 = z3.Ints("d1 d2")  # dimensions
r, g, vr = z3.Consts("r g vars", Registry)
c = z3.Const("ctx", Ctx)
n, m = z3.Consts("name other", Str)
t, t2, i = z3.Ints("t t2 i")  # tensor value ids and a next_id
at = z3.Const("at", AnyTensor)
e = z3.Const("e", Entry)
# index model
R = z3.Const("R", IndexRegistry)
o = z3.Const("o", NameList)
S = z3.Const("S", SlotsSort)
cc = z3.Const("chain", Chain)
j = z3.Int("j")


@dataclass(frozen=True)
class Canary:
    """A false claim about ``targets`` (definitions) that the model must refute."""

    targets: tuple[str, ...]
    query: ind.Query


@dataclass
class Evidence:
    """What running one obligation produced."""

    proofs: list[ind.Proof]
    canaries: list[Canary]
    witnesses: list[ind.Query]

    def queries(self) -> list[tuple[str, ind.Query]]:
        out = []
        for proof in self.proofs:
            out.extend(proof.all_queries())
        out.extend(("canary", cn.query) for cn in self.canaries)
        out.extend(("witness", w) for w in self.witnesses)
        return out

    def schemes(self) -> set[str]:
        """Short names of the schemes used, lemmas included."""
        found: set[str] = set()

        def visit(proof: ind.Proof) -> None:
            found.add(short_scheme(proof.scheme))
            for lemma in proof.lemmas:
                visit(lemma)

        for proof in self.proofs:
            visit(proof)
        return found


def short_scheme(scheme: str) -> str:
    if scheme.startswith("structural induction on"):
        sort = scheme.split(" : ", 1)[1].split(" ", 1)[0]
        return f"structural induction on {sort}"
    return DIRECT


class Lemmas:
    """Inductive lemmas, each proved once per obligation run (lazily, on first use)."""

    def __init__(self, M: SpecModel, X: IndexModel, T: int):
        self.M, self.X, self.T = M, X, T

    # -- shapes -------------------------------------------------------------------------------
    @cached_property
    def areEqual_iff_eq(self) -> ind.Proof:
        M = self.M
        return ind.induction("areEqual s1 s2 = (s1 = s2)", on=s1, generalizing=[s2],
                             goal=M.areEqual(s1, s2) == (s1 == s2), timeout_ms=self.T)

    # -- registries (List (String × AnyTensor)) ------------------------------------------------
    @cached_property
    def find_set_same(self) -> ind.Proof:
        M = self.M
        return ind.induction(
            "find? (· == n) (map set n r) = if any (· == n) r then some (n, at) else none", on=r, fixed=[n, at],
            goal=M.findName(M.mapSet(r, n, at), n)
            == z3.If(M.anyName(r, n), OptEntry.someEntry(Entry.entry(n, at)), OptEntry.noEntry),
            timeout_ms=self.T)

    @cached_property
    def find_set_other(self) -> ind.Proof:
        M = self.M
        return ind.induction("m ≠ n → find? (· == m) (map set n r) = find? (· == m) r", on=r, fixed=[n, m, at],
                             hyps=[m != n], goal=M.findName(M.mapSet(r, n, at), m) == M.findName(r, m), timeout_ms=self.T)

    @cached_property
    def set_length(self) -> ind.Proof:
        M = self.M
        return ind.induction("length (map set n r) = length r", on=r, fixed=[n, at],
                             goal=M.length(M.mapSet(r, n, at)) == M.length(r), timeout_ms=self.T)

    @cached_property
    def set_names(self) -> ind.Proof:
        M = self.M
        return ind.induction("map fst (map set n r) = map fst r", on=r, fixed=[n, at],
                             goal=M.mapName(M.mapSet(r, n, at)) == M.mapName(r), timeout_ms=self.T)

    @cached_property
    def set_absent(self) -> ind.Proof:
        M = self.M
        return ind.induction("¬ any (· == n) r → map set n r = r", on=r, fixed=[n, at],
                             hyps=[z3.Not(M.anyName(r, n))], goal=M.mapSet(r, n, at) == r, timeout_ms=self.T)

    @cached_property
    def any_set(self) -> ind.Proof:
        M = self.M
        return ind.induction("any (· == m) (map set n r) = any (· == m) r", on=r, fixed=[n, m, at],
                             goal=M.anyName(M.mapSet(r, n, at), m) == M.anyName(r, m), timeout_ms=self.T)

    @cached_property
    def length_nonneg(self) -> ind.Proof:
        return ind.induction("length r ≥ 0", on=r, goal=self.M.length(r) >= 0, timeout_ms=self.T)

    # -- validity ---------------------------------------------------------------------------------
    @cached_property
    def all_cons_vars(self) -> ind.Proof:
        M = self.M
        return ind.induction("all hasVariable g vars → all hasVariable g (e :: vars)", on=g, fixed=[vr, e],
                             hyps=[M.allHasVariable(g, vr)], goal=M.allHasVariable(g, Registry.rcons(e, vr)),
                             timeout_ms=self.T)

    @cached_property
    def all_set_vars(self) -> ind.Proof:
        M = self.M
        return ind.induction("all hasVariable g (map set n vars) = all hasVariable g vars", on=g, fixed=[vr, n, at],
                             goal=M.allHasVariable(g, M.mapSet(vr, n, at)) == M.allHasVariable(g, vr),
                             lemmas=[self.any_set], timeout_ms=self.T)

    @cached_property
    def all_set_grads(self) -> ind.Proof:
        M = self.M
        return ind.induction("all hasVariable (map set n g) vars = all hasVariable g vars", on=g, fixed=[vr, n, at],
                             goal=M.allHasVariable(M.mapSet(g, n, at), vr) == M.allHasVariable(g, vr), timeout_ms=self.T)

    # -- the index model (induction on the order list, a NameList, or on a Chain) ----------
    @cached_property
    def occ_nonneg(self) -> ind.Proof:
        X = self.X
        return ind.induction("occurrences o n ≥ 0", on=o, fixed=[n], goal=X.occurrences(o, n) >= 0, timeout_ms=self.T)

    @cached_property
    def fill_length(self) -> ind.Proof:
        X = self.X
        return ind.induction("length (fill chain a) = length chain", on=cc, fixed=[at],
                             goal=X.chainLength(X.fill(cc, at)) == X.chainLength(cc), timeout_ms=self.T)

    @cached_property
    def entry_of_fill(self) -> ind.Proof:
        X = self.X
        return ind.induction(
            "entryFrom (fill chain a) j = a  (every array of the filled chain is a)", on=cc, fixed=[at, j],
            goal=X.entryFrom(X.fill(cc, at), j) == at, timeout_ms=self.T)

    @cached_property
    def spec_push(self) -> ind.Proof:
        X = self.X
        return ind.induction(
            "occurrences o n ≤ entries of S[n] → "
            "toSpec o S[n := push S[n] a] = toSpec o S  (a new head is below every older occurrence)",
            on=o, fixed=[S, n, at],
            hyps=[X.occurrences(o, n) <= X.slotLength(S[n])],
            goal=X.toSpecList(o, z3.Store(S, n, OptChain.presentChain(push(S[n], at)))) == X.toSpecList(o, S),
            lemmas=[self.occ_nonneg], timeout_ms=self.T)

    @cached_property
    def spec_fill(self) -> ind.Proof:
        X, M = self.X, self.M
        return ind.induction(
            "toSpec o S[n := fill chain a] = map set n (toSpec o S)",
            on=o, fixed=[S, n, at, cc],
            goal=X.toSpecList(o, z3.Store(S, n, OptChain.presentChain(X.fill(cc, at))))
            == M.mapSet(X.toSpecList(o, S), n, at),
            lemmas=[self.entry_of_fill], timeout_ms=self.T)

    @cached_property
    def find_spec(self) -> ind.Proof:
        X, M = self.X, self.M
        return ind.induction(
            "entries of S[n] = occurrences o n → find? (· == n) (toSpec o S) = "
            "none if n ∉ o, else the head array of n's chain",
            on=o, fixed=[S, n], hyps=[X.slotLength(S[n]) == X.occurrences(o, n)],
            goal=M.findName(X.toSpecList(o, S), n)
            == z3.If(X.occurrences(o, n) == 0, OptEntry.noEntry,
                     OptEntry.someEntry(Entry.entry(n, newest(OptChain.theChain(S[n]))))),
            lemmas=[self.occ_nonneg], timeout_ms=self.T)

    @cached_property
    def any_spec(self) -> ind.Proof:
        X, M = self.X, self.M
        return ind.induction("any (· == n) (toSpec o S) = (occurrences o n ≠ 0)", on=o, fixed=[S, n],
                             goal=M.anyName(X.toSpecList(o, S), n) == (X.occurrences(o, n) != 0),
                             lemmas=[self.occ_nonneg], timeout_ms=self.T)

    @cached_property
    def all_as_forall(self) -> ind.Proof:
        M = self.M
        nm = z3.Const("nm", Str)
        return ind.induction("all hasVariable g vars = ∀ nm, any (· == nm) g → any (· == nm) vars", on=g, fixed=[vr],
                             goal=M.allHasVariable(g, vr)
                             == z3.ForAll([nm], z3.Implies(M.anyName(g, nm), M.anyName(vr, nm))),
                             timeout_ms=self.T)

    @cached_property
    def names_spec(self) -> ind.Proof:
        X, M = self.X, self.M
        return ind.induction("order = map fst (toSpec o S)", on=o, fixed=[S],
                             goal=o == M.mapName(X.toSpecList(o, S)), timeout_ms=self.T)

    @cached_property
    def length_spec(self) -> ind.Proof:
        X, M = self.X, self.M
        return ind.induction("length (toSpec o S) = length o", on=o, fixed=[S],
                             goal=M.length(X.toSpecList(o, S)) == X.orderLength(o), timeout_ms=self.T)


# --- the obligations ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Z3Obligation:
    name: str
    family: int
    statement: str
    schemes: frozenset  # short scheme names (see short_scheme) the proofs must use, exactly
    build: Callable[["Lemmas", SpecModel, IndexModel, int], Evidence]

    @property
    def claim(self) -> str:
        return f"{self.statement} [Z3 model; {'; '.join(sorted(self.schemes))}]"


def _canary(targets, label, false_claim, T, hyps=()) -> Canary:
    return Canary(tuple(targets), ind.canary(label, false_claim, hyps, T))


def _ctx_with_vars(reg):
    """A context whose variable registry is ``reg`` (gradients ``g``, next_id ``i``)."""
    return Ctx.mkContext(reg, g, i)


def _ctx_with_grads(reg):
    return Ctx.mkContext(vr, reg, i)


# Family 1: shapes ---------------------------------------------------------------------------


def _areEqual_iff_eq(L: Lemmas, M: SpecModel, X: IndexModel, T: int) -> Evidence:
    return Evidence(
        [L.areEqual_iff_eq],
        [_canary(["Shape.areEqual"], "areEqual only compares ranks", M.areEqual(s1, s2) == (M.rank(s1) == M.rank(s2)), T)],
        [],
    )


def _ofList_toList(L: Lemmas, M: SpecModel, X: IndexModel, T: int) -> Evidence:
    two = NatList.ncons(d1, NatList.ncons(d2, NatList.nnil))
    return Evidence(
        [
            ind.induction("toList (ofList l) = l", on=l, goal=M.toList(M.ofList(l)) == l, timeout_ms=T),
            ind.induction("ofList (toList s) = s", on=s, goal=M.ofList(M.toList(s)) == s, timeout_ms=T),
            ind.induction("rank s = length (toList s)", on=s, goal=M.rank(s) == M.natLength(M.toList(s)), timeout_ms=T),
        ],
        [
            _canary(["Shape.ofList"], "ofList puts the innermost dimension first",
                    M.ofList(two) == Shape.dim(d2, Shape.dim(d1, Shape.scalar)), T),
            _canary(["Shape.toList"], "toList lists the innermost dimension first",
                    M.toList(Shape.dim(d1, Shape.dim(d2, Shape.scalar))) == NatList.ncons(d2, NatList.ncons(d1, NatList.nnil)),
                    T),
            _canary(["Shape.rank"], "rank is the element count", M.rank(s) == M.size(s), T),
            _canary(["List.length(Nat)"], "length ignores the head", M.natLength(NatList.ncons(d1, l)) == M.natLength(l), T),
        ],
        [],
    )


def _size_product(L: Lemmas, M: SpecModel, X: IndexModel, T: int) -> Evidence:
    return Evidence(
        [ind.induction("size (ofList l) = prod l", on=l, goal=M.size(M.ofList(l)) == M.prod(l), timeout_ms=T)],
        [
            _canary(["Shape.size"], "a zero dimension does not change the size", M.size(Shape.dim(0, s)) == M.size(s), T),
            _canary(["List.prod"], "prod adds", M.prod(NatList.ncons(d1, l)) == d1 + M.prod(l), T),
        ],
        [],
    )


def _equal_shapes_equal_sizes(L: Lemmas, M: SpecModel, X: IndexModel, T: int) -> Evidence:
    return Evidence(
        [
            ind.direct("areEqual s1 s2 → size s1 = size s2 ∧ rank s1 = rank s2 ∧ toList s1 = toList s2", [s1, s2],
                       hyps=[M.areEqual(s1, s2)],
                       goal=z3.And(M.size(s1) == M.size(s2), M.rank(s1) == M.rank(s2), M.toList(s1) == M.toList(s2)),
                       lemmas=[L.areEqual_iff_eq], timeout_ms=T),
        ],
        [_canary(["Shape.size", "Shape.areEqual"], "equal sizes make equal shapes ([0,3] vs [0,4])",
                 z3.Implies(M.size(s1) == M.size(s2), M.areEqual(s1, s2)), T)],
        [],
    )


def _shapeEq_laws(L: Lemmas, M: SpecModel, X: IndexModel, T: int) -> Evidence:
    return Evidence(
        [
            ind.induction("refl: areEqual s s", on=s, goal=M.areEqual(s, s), timeout_ms=T),
            ind.induction("symm: areEqual s1 s2 → areEqual s2 s1", on=s1, generalizing=[s2],
                          hyps=[M.areEqual(s1, s2)], goal=M.areEqual(s2, s1), timeout_ms=T),
            ind.induction("trans: areEqual s1 s2 → areEqual s2 s3 → areEqual s1 s3", on=s1, generalizing=[s2, s3],
                          hyps=[M.areEqual(s1, s2), M.areEqual(s2, s3)], goal=M.areEqual(s1, s3), timeout_ms=T),
            ind.direct("ShapeEq.check s1 s2 gives evidence exactly when s1 = s2", [s1, s2],
                       goal=M.shapeEqCheck(s1, s2) == M.shapeEq(s1, s2), lemmas=[L.areEqual_iff_eq], timeout_ms=T),
            ind.direct("the evidence laws: s = s; s1 = s2 → s2 = s1; s1 = s2 → s2 = s3 → s1 = s3", [s, s1, s2, s3],
                       goal=z3.And(M.shapeEq(s, s),
                                   z3.Implies(M.shapeEq(s1, s2), M.shapeEq(s2, s1)),
                                   z3.Implies(z3.And(M.shapeEq(s1, s2), M.shapeEq(s2, s3)), M.shapeEq(s1, s3))),
                       timeout_ms=T),
        ],
        [_canary(["ShapeEq"], "evidence from equal sizes", M.shapeEqCheck(s1, s2) == (M.size(s1) == M.size(s2)), T)],
        [],
    )


# Family 2: lookup and set ----------------------------------------------------------------------


def _get_after_register(L: Lemmas, M: SpecModel, X: IndexModel, T: int) -> Evidence:
    proofs = []
    for kind, reg, get, other_get in (
        ("Variable", M.registerVariable, M.getVariable, M.getGradient),
        ("Gradient", M.registerGradient, M.getGradient, M.getVariable),
    ):
        after = reg(c, n, s, t)
        proofs += [
            ind.direct(f"get{kind} (register{kind} ctx n t) n s = some t (t : Tensor s)", [c, n, s, t],
                       goal=get(after, n, s) == OptTensor.someTensor(t), timeout_ms=T),
            ind.direct(f"s2 ≠ s → get{kind} (register{kind} ctx n t) n s2 = none", [c, n, s, s2, t],
                       hyps=[s2 != s], goal=get(after, n, s2) == OptTensor.noTensor, timeout_ms=T),
            ind.direct(f"m ≠ n → get{kind} (register{kind} ctx n t) m s2 = get{kind} ctx m s2", [c, n, m, s, s2, t],
                       hyps=[m != n], goal=get(after, m, s2) == get(c, m, s2), timeout_ms=T),
            ind.direct(f"register{kind} leaves the other registry's lookups unchanged", [c, n, m, s, s2, t],
                       goal=other_get(after, m, s2) == other_get(c, m, s2), timeout_ms=T),
        ]
    return Evidence(
        proofs,
        [
            _canary(["List.find?", "getVariable"], "a shadowed older entry of the requested shape is found",
                    M.getVariable(M.registerVariable(c, n, s, t), n, s2) == M.getVariable(c, n, s2), T, hyps=[s2 != s]),
            _canary(["registerVariable"], "registerVariable does not change the name's lookup",
                    M.getVariable(M.registerVariable(c, n, s, t), n, s) == M.getVariable(c, n, s), T),
            _canary(["registerGradient", "getGradient"], "registerGradient does not change the name's lookup",
                    M.getGradient(M.registerGradient(c, n, s, t), n, s) == M.getGradient(c, n, s), T),
        ],
        [],
    )


def _set_keeps_length_names_order(L: Lemmas, M: SpecModel, X: IndexModel, T: int) -> Evidence:
    sv, sg = M.setVariable(c, n, s, t), M.setGradient(c, n, s, t)
    return Evidence(
        [
            ind.direct("setVariable keeps contextSize and variableNames (names and order)", [c, n, s, t],
                       goal=z3.And(M.contextSize(sv) == M.contextSize(c), M.variableNames(sv) == M.variableNames(c)),
                       lemmas=[L.set_length, L.set_names], timeout_ms=T),
            ind.direct("setGradient keeps gradientCount and gradientNames (names and order)", [c, n, s, t],
                       goal=z3.And(M.gradientCount(sg) == M.gradientCount(c), M.gradientNames(sg) == M.gradientNames(c)),
                       lemmas=[L.set_length, L.set_names], timeout_ms=T),
        ],
        [
            _canary(["List.map(set)", "setVariable"], "setVariable is a no-op", sv == c, T),
            _canary(["variableNames", "List.map(fst)"], "variableNames drops duplicates",
                    M.variableNames(M.registerVariable(c, n, s, t)) == M.variableNames(c), T, hyps=[M.hasVariable(c, n)]),
            _canary(["gradientNames"], "gradientNames drops duplicates",
                    M.gradientNames(M.registerGradient(c, n, s, t)) == M.gradientNames(c), T,
                    hyps=[M.anyName(Ctx.gradients(c), n)]),
        ],
        [],
    )


def _set_absent_unchanged(L: Lemmas, M: SpecModel, X: IndexModel, T: int) -> Evidence:
    return Evidence(
        [
            ind.direct("¬ hasVariable ctx n → setVariable ctx n t = ctx", [c, n, s, t],
                       hyps=[z3.Not(M.hasVariable(c, n))], goal=M.setVariable(c, n, s, t) == c,
                       lemmas=[L.set_absent], timeout_ms=T),
            ind.direct("no gradient named n → setGradient ctx n t = ctx", [c, n, s, t],
                       hyps=[z3.Not(M.anyName(Ctx.gradients(c), n))], goal=M.setGradient(c, n, s, t) == c,
                       lemmas=[L.set_absent], timeout_ms=T),
        ],
        [
            _canary(["setVariable"], "setVariable inserts an absent name", M.hasVariable(M.setVariable(c, n, s, t), n), T),
            _canary(["setGradient"], "setGradient inserts an absent name",
                    M.anyName(Ctx.gradients(M.setGradient(c, n, s, t)), n), T),
        ],
        [],
    )


def _get_after_set(L: Lemmas, M: SpecModel, X: IndexModel, T: int) -> Evidence:
    proofs = []
    for kind, setf, get, reg_of in (
        ("Variable", M.setVariable, M.getVariable, Ctx.var_registry),
        ("Gradient", M.setGradient, M.getGradient, Ctx.gradients),
    ):
        after = setf(c, n, s, t)
        present = M.anyName(reg_of(c), n)
        proofs += [
            ind.direct(f"n present → get{kind} (set{kind} ctx n t) n s = some t", [c, n, s, t],
                       hyps=[present], goal=get(after, n, s) == OptTensor.someTensor(t),
                       lemmas=[L.find_set_same], timeout_ms=T),
            ind.direct(f"n present, s2 ≠ s → get{kind} (set{kind} ctx n t) n s2 = none", [c, n, s, s2, t],
                       hyps=[present, s2 != s], goal=get(after, n, s2) == OptTensor.noTensor,
                       lemmas=[L.find_set_same], timeout_ms=T),
            ind.direct(f"n absent → get{kind} (set{kind} ctx n t) n s2 = none", [c, n, s, s2, t],
                       hyps=[z3.Not(present)], goal=get(after, n, s2) == OptTensor.noTensor,
                       lemmas=[L.find_set_same], timeout_ms=T),
        ]
    return Evidence(
        proofs,
        [
            _canary(["getVariable"], "getVariable ignores the requested shape",
                    OptTensor.is_someTensor(M.getVariable(c, n, s)), T, hyps=[M.hasVariable(c, n)]),
            _canary(["getGradient"], "getGradient ignores the requested shape",
                    OptTensor.is_someTensor(M.getGradient(c, n, s)), T, hyps=[M.anyName(Ctx.gradients(c), n)]),
            _canary(["hasVariable", "List.any"], "hasVariable checks the shape too",
                    M.hasVariable(c, n) == OptTensor.is_someTensor(M.getVariable(c, n, s)), T),
        ],
        [],
    )


def _set_other_names(L: Lemmas, M: SpecModel, X: IndexModel, T: int) -> Evidence:
    proofs = []
    for kind, setf, get, other_get in (
        ("Variable", M.setVariable, M.getVariable, M.getGradient),
        ("Gradient", M.setGradient, M.getGradient, M.getVariable),
    ):
        after = setf(c, n, s, t)
        proofs += [
            ind.direct(f"m ≠ n → get{kind} (set{kind} ctx n t) m s2 = get{kind} ctx m s2", [c, n, m, s, s2, t],
                       hyps=[m != n], goal=get(after, m, s2) == get(c, m, s2),
                       lemmas=[L.find_set_other], timeout_ms=T),
            ind.direct(f"set{kind} leaves the other registry's lookups unchanged", [c, n, m, s, s2, t],
                       goal=other_get(after, m, s2) == other_get(c, m, s2), timeout_ms=T),
        ]
    proofs.append(ind.direct("hasVariable (setVariable ctx n t) m = hasVariable ctx m", [c, n, m, s, t],
                             goal=M.hasVariable(M.setVariable(c, n, s, t), m) == M.hasVariable(c, m),
                             lemmas=[L.any_set], timeout_ms=T))
    return Evidence(
        proofs,
        [_canary(["setGradient"], "setGradient also sets the variable of that name",
                 M.getVariable(M.setGradient(c, n, s, t), n, s) == OptTensor.someTensor(t), T,
                 hyps=[M.hasVariable(c, n)])],
        [],
    )


# Family 3: isValidContext ----------------------------------------------------------------------


def _valid_register_variable(L: Lemmas, M: SpecModel, X: IndexModel, T: int) -> Evidence:
    return Evidence(
        [ind.direct("isValidContext ctx → isValidContext (registerVariable ctx n t)", [c, n, s, t],
                    hyps=[M.isValidContext(c)], goal=M.isValidContext(M.registerVariable(c, n, s, t)),
                    lemmas=[L.all_cons_vars], timeout_ms=T)],
        [_canary(["isValidContext", "List.all"], "isValidContext also checks the gradient's shape",
                 OptTensor.is_someTensor(M.getVariable(
                     c, Entry.fst(Registry.rhead(Ctx.gradients(c))), AnyTensor.s(Entry.snd(Registry.rhead(Ctx.gradients(c)))))),
                 T, hyps=[M.isValidContext(c), Registry.is_rcons(Ctx.gradients(c))])],
        [],
    )


def _valid_set_variable(L: Lemmas, M: SpecModel, X: IndexModel, T: int) -> Evidence:
    return Evidence(
        [ind.direct("isValidContext (setVariable ctx n t) = isValidContext ctx", [c, n, s, t],
                    goal=M.isValidContext(M.setVariable(c, n, s, t)) == M.isValidContext(c),
                    lemmas=[L.all_set_vars], timeout_ms=T)],
        [_canary(["setVariable"], "setVariable leaves the registry as it was", M.setVariable(c, n, s, t) == c, T)],
        [],
    )


def _valid_set_gradient(L: Lemmas, M: SpecModel, X: IndexModel, T: int) -> Evidence:
    return Evidence(
        [ind.direct("isValidContext (setGradient ctx n t) = isValidContext ctx", [c, n, s, t],
                    goal=M.isValidContext(M.setGradient(c, n, s, t)) == M.isValidContext(c),
                    lemmas=[L.all_set_grads], timeout_ms=T)],
        [_canary(["setGradient"], "setGradient leaves the registry as it was", M.setGradient(c, n, s, t) == c, T)],
        [],
    )


def _valid_clear(L: Lemmas, M: SpecModel, X: IndexModel, T: int) -> Evidence:
    return Evidence(
        [ind.direct("isValidContext (clearGradients ctx) and isValidContext emptyContext", [c],
                    goal=z3.And(M.isValidContext(M.clearGradients(c)), M.isValidContext(M.emptyContext())),
                    timeout_ms=T)],
        [
            _canary(["clearGradients"], "clearGradients changes nothing", M.clearGradients(c) == c, T),
            _canary(["emptyContext"], "registering a gradient in the empty context keeps it valid",
                    M.isValidContext(M.registerGradient(M.emptyContext(), n, s, t)), T),
        ],
        [],
    )


def _valid_register_gradient(L: Lemmas, M: SpecModel, X: IndexModel, T: int) -> Evidence:
    after = M.registerGradient(c, n, s, t)
    return Evidence(
        [ind.direct("isValidContext ctx → (isValidContext (registerGradient ctx n g) ↔ hasVariable ctx n)", [c, n, s, t],
                    hyps=[M.isValidContext(c)], goal=M.isValidContext(after) == M.hasVariable(c, n), timeout_ms=T)],
        [_canary(["registerGradient", "isValidContext"], "registerGradient always keeps a valid context valid",
                 z3.Implies(M.isValidContext(c), M.isValidContext(after)), T)],
        [
            ind.witness("a valid context made invalid by registerGradient under an unknown name (documented Lean behaviour)",
                        [M.isValidContext(c), z3.Not(M.isValidContext(after))], T),
            ind.witness("a valid context kept valid by registerGradient under a present name",
                        [M.isValidContext(c), M.hasVariable(c, n), Registry.is_rcons(Ctx.gradients(c)), M.isValidContext(after)], T),
        ],
    )


# Family 4: next_id and counts ------------------------------------------------------------------


def _next_id(L: Lemmas, M: SpecModel, X: IndexModel, T: int) -> Evidence:
    nid = Ctx.next_id
    return Evidence(
        [ind.direct("next_id: emptyContext 0; registerVariable +1; registerGradient, setVariable, setGradient, "
                    "clearGradients unchanged", [c, n, s, t],
                    goal=z3.And(
                        nid(M.emptyContext()) == 0,
                        nid(M.registerVariable(c, n, s, t)) == nid(c) + 1,
                        nid(M.registerGradient(c, n, s, t)) == nid(c),
                        nid(M.setVariable(c, n, s, t)) == nid(c),
                        nid(M.setGradient(c, n, s, t)) == nid(c),
                        nid(M.clearGradients(c)) == nid(c),
                    ), timeout_ms=T)],
        [
            _canary(["next_id", "registerGradient"], "registerGradient bumps next_id",
                    nid(M.registerGradient(c, n, s, t)) == nid(c) + 1, T),
            _canary(["next_id", "setVariable"], "setVariable bumps next_id", nid(M.setVariable(c, n, s, t)) == nid(c) + 1, T),
        ],
        [],
    )


def _lengths_with_duplicates(L: Lemmas, M: SpecModel, X: IndexModel, T: int) -> Evidence:
    twice_v = M.registerVariable(M.registerVariable(c, n, s, t), n, s2, t2)
    twice_g = M.registerGradient(M.registerGradient(c, n, s, t), n, s2, t2)
    return Evidence(
        [
            L.length_nonneg,
            ind.direct("contextSize / gradientCount: +1 per register (also under a present name, so +2 for the "
                       "same name twice); emptyContext 0; clearGradients → 0 gradients", [c, n, s, s2, t, t2],
                       goal=z3.And(
                           M.contextSize(M.registerVariable(c, n, s, t)) == M.contextSize(c) + 1,
                           M.contextSize(twice_v) == M.contextSize(c) + 2,
                           M.gradientCount(M.registerGradient(c, n, s, t)) == M.gradientCount(c) + 1,
                           M.gradientCount(twice_g) == M.gradientCount(c) + 2,
                           M.contextSize(M.emptyContext()) == 0,
                           M.gradientCount(M.emptyContext()) == 0,
                           M.gradientCount(M.clearGradients(c)) == 0,
                       ), timeout_ms=T),
            ind.direct("each count is untouched by the other registry's operations and by set", [c, n, s, t],
                       goal=z3.And(
                           M.contextSize(M.registerGradient(c, n, s, t)) == M.contextSize(c),
                           M.contextSize(M.setGradient(c, n, s, t)) == M.contextSize(c),
                           M.contextSize(M.clearGradients(c)) == M.contextSize(c),
                           M.contextSize(M.setVariable(c, n, s, t)) == M.contextSize(c),
                           M.gradientCount(M.registerVariable(c, n, s, t)) == M.gradientCount(c),
                           M.gradientCount(M.setVariable(c, n, s, t)) == M.gradientCount(c),
                           M.gradientCount(M.setGradient(c, n, s, t)) == M.gradientCount(c),
                       ), lemmas=[L.set_length], timeout_ms=T),
        ],
        [
            _canary(["contextSize"], "contextSize counts distinct names", M.contextSize(twice_v) == M.contextSize(c) + 1, T),
            _canary(["gradientCount"], "gradientCount counts distinct names",
                    M.gradientCount(twice_g) == M.gradientCount(c) + 1, T),
            _canary(["List.length"], "length ignores the head", M.length(Registry.rcons(e, r)) == M.length(r), T),
        ],
        [],
    )


# Family 5: the impl's hashed registry -----------------------------------------------------------


def _index_empty_clear(L: Lemmas, M: SpecModel, X: IndexModel, T: int) -> Evidence:
    o_R, S_R = IndexRegistry.order(R), IndexRegistry.slots(R)
    return Evidence(
        [ind.direct("EMPTY and clear R satisfy I1 ∧ I2 and stand for []", [R],
                    goal=z3.And(X.invariant(X.empty()), X.invariant(X.clear(R)),
                                X.toSpec(X.empty()) == Registry.rnil, X.toSpec(X.clear(R)) == Registry.rnil),
                    timeout_ms=T)],
        [
            _canary(["Registry.clear"], "clear keeps the entries", X.count(X.clear(R)) == X.count(R), T,
                    hyps=[X.invariant(R)]),
            _canary(["I1"], "a registry satisfying the invariant is empty", NameList.is_snil(o_R), T,
                    hyps=[X.invariant(R)]),
            _canary(["I2"], "slots[n]'s chain is as long as another name's occurrences",
                    X.slotLength(S_R[n]) == X.occurrences(o_R, m), T, hyps=[X.invariant(R), n != m]),
        ],
        [],
    )


def _index_register_invariant(L: Lemmas, M: SpecModel, X: IndexModel, T: int) -> Evidence:
    return Evidence(
        # I1 and I2 are separate queries: one query for both makes Z3's quantifier
        # instantiation needlessly fragile.
        [
            ind.direct("I1 ∧ I2 → I1 after register", [R, n, s, t], hyps=[X.invariant(R)],
                       goal=X.I1(X.register(R, n, s, t)), timeout_ms=T),
            ind.direct("I1 ∧ I2 → I2 after register", [R, n, s, t], hyps=[X.invariant(R)],
                       goal=X.I2(X.register(R, n, s, t)), lemmas=[L.occ_nonneg], timeout_ms=T),
        ],
        [_canary(["Registry.register"], "register replaces an existing name (dict semantics)",
                 X.count(X.register(R, n, s, t)) == X.count(R), T, hyps=[X.invariant(R), X.has(R, n)])],
        [],
    )


def _index_register_refines(L: Lemmas, M: SpecModel, X: IndexModel, T: int) -> Evidence:
    after = X.toSpec(X.register(R, n, s, t))
    o_R, S_R = IndexRegistry.order(R), IndexRegistry.slots(R)
    return Evidence(
        [ind.direct("I1 ∧ I2 → toSpec (register R n s t) = the list registerVariable / registerGradient make of toSpec R",
                    [R, n, s, t, g, vr, i], hyps=[X.invariant(R)],
                    goal=z3.And(
                        after == Ctx.var_registry(M.registerVariable(_ctx_with_vars(X.toSpec(R)), n, s, t)),
                        after == Ctx.gradients(M.registerGradient(_ctx_with_grads(X.toSpec(R)), n, s, t)),
                    ),
                    instances=[(L.spec_push, (o_R, S_R, n, AnyTensor.anyTensor(s, t)))], timeout_ms=T)],
        [_canary(["toSpec"], "toSpec lists the oldest entry first",
                 X.toSpec(X.register(X.register(X.empty(), n, s, t), m, s2, t2))
                 == Registry.rcons(Entry.entry(n, AnyTensor.anyTensor(s, t)),
                                   Registry.rcons(Entry.entry(m, AnyTensor.anyTensor(s2, t2)), Registry.rnil)), T)],
        [],
    )


def _index_set_all_invariant(L: Lemmas, M: SpecModel, X: IndexModel, T: int) -> Evidence:
    return Evidence(
        [
            ind.direct("I1 ∧ I2 → I1 after set_all", [R, n, s, t], hyps=[X.invariant(R)],
                       goal=X.I1(X.set_all(R, n, s, t)), timeout_ms=T),
            ind.direct("I1 ∧ I2 → I2 after set_all", [R, n, s, t], hyps=[X.invariant(R)],
                       goal=X.I2(X.set_all(R, n, s, t)), lemmas=[L.fill_length], timeout_ms=T),
        ],
        [_canary(["Registry.set_all"], "set_all inserts an absent name", X.has(X.set_all(R, n, s, t), n), T,
                 hyps=[X.invariant(R), z3.Not(X.has(R, n))])],
        [],
    )


def _index_set_all_refines(L: Lemmas, M: SpecModel, X: IndexModel, T: int) -> Evidence:
    after = X.toSpec(X.set_all(R, n, s, t))
    o_R, S_R = IndexRegistry.order(R), IndexRegistry.slots(R)
    return Evidence(
        [ind.direct("I1 ∧ I2 → toSpec (set_all R n s t) = the list setVariable / setGradient make of toSpec R",
                    [R, n, s, t, g, vr, i], hyps=[X.invariant(R)],
                    goal=z3.And(
                        after == Ctx.var_registry(M.setVariable(_ctx_with_vars(X.toSpec(R)), n, s, t)),
                        after == Ctx.gradients(M.setGradient(_ctx_with_grads(X.toSpec(R)), n, s, t)),
                    ),
                    lemmas=[L.set_absent],
                    instances=[(L.spec_fill, (o_R, S_R, n, AnyTensor.anyTensor(s, t), OptChain.theChain(S_R[n]))),
                               (L.any_spec, (o_R, S_R, n))],
                    timeout_ms=T)],
        [_canary(["Registry.set_all"], "set_all leaves the entries as they were",
                 X.toSpec(X.set_all(R, n, s, t)) == X.toSpec(R), T, hyps=[X.invariant(R)])],
        [],
    )


def _index_queries_refine(L: Lemmas, M: SpecModel, X: IndexModel, T: int) -> Evidence:
    spec_ctx = _ctx_with_vars(X.toSpec(R))
    spec_gctx = _ctx_with_grads(X.toSpec(R))
    return Evidence(
        [
            ind.direct("I1 ∧ I2 → lookup R n s = getVariable / getGradient (find? then the shape test) on toSpec R",
                       [R, n, s, g, vr, i], hyps=[X.invariant(R)],
                       goal=z3.And(X.lookup(R, n, s) == M.getVariable(spec_ctx, n, s),
                                   X.lookup(R, n, s) == M.getGradient(spec_gctx, n, s)),
                       instances=[(L.find_spec, (IndexRegistry.order(R), IndexRegistry.slots(R), n))], timeout_ms=T),
            ind.direct("I1 ∧ I2 → has R n = hasVariable (toSpec R) n; names R = variableNames; count R = contextSize",
                       [R, n, g, i], hyps=[X.invariant(R)],
                       goal=z3.And(X.has(R, n) == M.hasVariable(spec_ctx, n),
                                   X.names(R) == M.variableNames(spec_ctx),
                                   X.count(R) == M.contextSize(spec_ctx)),
                       lemmas=[L.any_spec, L.names_spec, L.length_spec], timeout_ms=T),
        ],
        [
            _canary(["Registry.lookup"], "lookup finds a shadowed older entry of the requested shape",
                    X.lookup(X.register(R, n, s, t), n, s2) == X.lookup(R, n, s2), T, hyps=[X.invariant(R), s2 != s]),
            _canary(["Registry.has"], "has checks the shape too", X.has(R, n) == OptTensor.is_someTensor(X.lookup(R, n, s)), T,
                    hyps=[X.invariant(R)]),
            _canary(["Registry.names"], "names drops duplicates", X.names(X.register(R, n, s, t)) == X.names(R), T,
                    hyps=[X.invariant(R), X.has(R, n)]),
            _canary(["Registry.count"], "count counts distinct names", X.count(X.register(R, n, s, t)) == X.count(R), T,
                    hyps=[X.invariant(R), X.has(R, n)]),
        ],
        [],
    )


def _index_validity_refines(L: Lemmas, M: SpecModel, X: IndexModel, T: int) -> Evidence:
    G = z3.Const("G", IndexRegistry)
    spec_ctx = Ctx.mkContext(X.toSpec(R), X.toSpec(G), i)

    def has_is_any(Q):
        nm = z3.Const("nm", Str)
        return z3.ForAll([nm], X.has(Q, nm) == M.anyName(X.toSpec(Q), nm))

    # Three steps; the last chains the first two at R and G (explicit instances: Z3's own
    # search for them through nested quantifiers does not finish).
    has_any = ind.direct("I1 ∧ I2 → ∀ nm, has R nm = any (· == nm) (toSpec R)", [R],
                         hyps=[X.invariant(R)], goal=has_is_any(R), lemmas=[L.any_spec], timeout_ms=T)
    same = ind.direct("(∀ nm, has = any on toSpec) for R and G → G.all_names_in(R) = isValidContext (toSpec R, toSpec G)",
                      [R, G, i], hyps=[has_is_any(R), has_is_any(G)],
                      goal=X.all_names_in(G, R) == M.isValidContext(spec_ctx), lemmas=[L.all_as_forall], timeout_ms=T)
    chained = ind.direct("I1 ∧ I2 of both → G.all_names_in(R) = isValidContext of the abstract context", [R, G, i],
                         hyps=[X.invariant(R), X.invariant(G)], goal=X.all_names_in(G, R) == M.isValidContext(spec_ctx),
                         instances=[(has_any, (R,)), (has_any, (G,)), (same, (R, G, i))], timeout_ms=T)
    return Evidence(
        [chained],
        [_canary(["Registry.all_names_in"], "all_names_in holds for any two registries",
                 X.all_names_in(G, R), T, hyps=[X.invariant(R), X.invariant(G)])],
        [],
    )


def _ob(name, family, statement, schemes, build) -> Z3Obligation:
    return Z3Obligation(name, family, statement, frozenset(schemes), build)


IND_SHAPE = "structural induction on Shape"
IND_NATLIST = "structural induction on NatList"
IND_REG = "structural induction on Registry"
IND_NAMES = "structural induction on NameList"
IND_CHAIN = "structural induction on Chain"
DIRECT = "direct (no induction)"

#: Every Z3 obligation, in report order.
OBLIGATIONS: tuple[Z3Obligation, ...] = (
    # family 1
    _ob("z3.shape.areEqual-iff-eq", 1, "∀ s₁ s₂ : Shape, areEqual s₁ s₂ = true ↔ s₁ = s₂ (induction generalizing s₂)",
        [IND_SHAPE], _areEqual_iff_eq),
    _ob("z3.shape.ofList-toList-inverse", 1,
        "∀ l, toList (ofList l) = l; ∀ s, ofList (toList s) = s; rank s = length (toList s)",
        [IND_NATLIST, IND_SHAPE], _ofList_toList),
    _ob("z3.shape.size-ofList-product", 1, "∀ l : List Nat, size (ofList l) = l.prod", [IND_NATLIST], _size_product),
    _ob("z3.shape.equal-shapes-equal-sizes", 1,
        "∀ s₁ s₂, areEqual s₁ s₂ → size, rank and toList agree (via the lemma areEqual ↔ =)",
        [DIRECT, IND_SHAPE], _equal_shapes_equal_sizes),
    _ob("z3.shape.ShapeEq-laws", 1,
        "ShapeEq evidence (modelled as the equality s₁ = s₂ it stands for): check succeeds ↔ s₁ = s₂; "
        "refl/symm/trans of areEqual (induction, generalizing the other shapes) and of the equality",
        [DIRECT, IND_SHAPE], _shapeEq_laws),
    # family 2
    _ob("z3.registry.get-after-register", 2,
        "get (register ctx n t) n s = some t at t's shape, none at another shape, other names unchanged "
        "(variables and gradients; the other registry untouched)", [DIRECT], _get_after_register),
    _ob("z3.registry.set-keeps-length-names-order", 2,
        "setVariable / setGradient keep the count and the name list (names and order)", [DIRECT, IND_REG],
        _set_keeps_length_names_order),
    _ob("z3.registry.set-absent-name-unchanged", 2, "set of an absent name returns the context unchanged",
        [DIRECT, IND_REG], _set_absent_unchanged),
    _ob("z3.registry.get-after-set", 2,
        "get (set ctx n t) n s = some t when n is present (none at another shape; none when n is absent)",
        [DIRECT, IND_REG], _get_after_set),
    _ob("z3.registry.set-other-names-unaffected", 2,
        "set under n leaves every lookup under m ≠ n, hasVariable, and the other registry unchanged",
        [DIRECT, IND_REG], _set_other_names),
    # family 3
    _ob("z3.validity.registerVariable", 3, "isValidContext ctx → isValidContext (registerVariable ctx n t)",
        [DIRECT, IND_REG], _valid_register_variable),
    _ob("z3.validity.setVariable", 3, "isValidContext (setVariable ctx n t) = isValidContext ctx",
        [DIRECT, IND_REG], _valid_set_variable),
    _ob("z3.validity.setGradient", 3, "isValidContext (setGradient ctx n g) = isValidContext ctx",
        [DIRECT, IND_REG], _valid_set_gradient),
    _ob("z3.validity.clearGradients", 3, "isValidContext (clearGradients ctx) and isValidContext emptyContext",
        [DIRECT], _valid_clear),
    _ob("z3.validity.registerGradient", 3,
        "for a valid ctx, isValidContext (registerGradient ctx n g) ↔ hasVariable ctx n; witnesses: an unknown "
        "name makes a valid context invalid (documented Lean behaviour), a present one keeps it valid",
        [DIRECT], _valid_register_gradient),
    # family 4
    _ob("z3.counts.next_id", 4, "next_id changes only in registerVariable, by exactly 1", [DIRECT], _next_id),
    _ob("z3.counts.lengths-with-duplicates", 4,
        "contextSize / gradientCount are list lengths with duplicates (the same name registered twice adds 2)",
        [DIRECT, IND_REG], _lengths_with_duplicates),
    # family 5
    _ob("z3.index.empty-and-clear", 5, "EMPTY and clear satisfy I1 ∧ I2 and abstract to []", [DIRECT],
        _index_empty_clear),
    _ob("z3.index.register-preserves-invariant", 5, "I1 ∧ I2 → I1 ∧ I2 after register", [DIRECT, IND_NAMES],
        _index_register_invariant),
    _ob("z3.index.register-refines-spec", 5,
        "I1 ∧ I2 → toSpec (register R n s t) = (n, ⟨s, t⟩) :: toSpec R (registerVariable / registerGradient)",
        [DIRECT, IND_NAMES], _index_register_refines),
    _ob("z3.index.set_all-preserves-invariant", 5, "I1 ∧ I2 → I1 ∧ I2 after set_all", [DIRECT, IND_CHAIN],
        _index_set_all_invariant),
    _ob("z3.index.set_all-refines-spec", 5,
        "I1 ∧ I2 → toSpec (set_all R n s t) = map set over toSpec R (setVariable / setGradient)",
        [DIRECT, IND_NAMES, IND_CHAIN, IND_REG], _index_set_all_refines),
    _ob("z3.index.queries-refine-spec", 5,
        "I1 ∧ I2 → lookup through slots (head cell of the name's chain) = spec find? + shape test on toSpec R; "
        "has / names / count = hasVariable / variableNames / contextSize", [DIRECT, IND_NAMES], _index_queries_refine),
    _ob("z3.index.is_valid_context-refines-spec", 5,
        "I1 ∧ I2 → the impl's is_valid_context (gradients.all_names_in(variables), over slots keys) = "
        "isValidContext of the abstract context", [DIRECT, IND_NAMES, IND_REG], _index_validity_refines),
)

_BY_NAME = {ob.name: ob for ob in OBLIGATIONS}


def evidence(name: str, spec: SpecModel = SPEC, index: IndexModel = INDEX, timeout_ms: int = ind.DEFAULT_TIMEOUT_MS) -> Evidence:
    """Run obligation ``name`` against a model (the faithful one by default)."""
    ob = _BY_NAME[name]
    return ob.build(Lemmas(spec, index, timeout_ms), spec, index, timeout_ms)


def judge(ob: Z3Obligation, ev: Evidence) -> Outcome:
    """Pass/fail of one obligation from its evidence (see the module docstring)."""
    problems: list[str] = []
    structural = structural_recursion_violations()
    if structural:
        problems.append("non-structural recursion: " + "; ".join(structural))
    failed = [f"{where} / {q.describe()}" for where, q in ev.queries() if not q.ok]
    problems.extend(failed)
    used = ev.schemes()
    if used != set(ob.schemes):
        problems.append(f"schemes used {sorted(used)} differ from the claim's {sorted(ob.schemes)}")
    if not ev.canaries:
        problems.append("no canary")
    qs = ev.queries()
    n_proof = sum(1 for _, q in qs if q.role == "proof")
    n_lemmas = len({id(lemma) for proof in ev.proofs for lemma in _all_lemmas(proof)})
    slowest = max((q.seconds for _, q in qs), default=0.0)
    summary = (f"{len(ev.proofs)} fact(s) + {n_lemmas} lemma(s); {n_proof} proof queries unsat; "
               f"{len(qs) - n_proof} other checks as expected (non-vacuity, {len(ev.canaries)} canaries sat, "
               f"{len(ev.witnesses)} witnesses sat); slowest query {slowest:.2f}s")
    if problems:
        return Outcome(False, f"{len(problems)} problem(s): " + " | ".join(problems[:5]) + f" — {summary}")
    return Outcome(True, summary)


def _all_lemmas(proof: ind.Proof):
    for lemma in proof.lemmas:
        yield lemma
        yield from _all_lemmas(lemma)


def run(name: str, quick: bool) -> Outcome:
    """Module-level runner of one obligation (what report.Obligation calls)."""
    timeout = ind.QUICK_TIMEOUT_MS if quick else ind.DEFAULT_TIMEOUT_MS
    ob = _BY_NAME[name]
    return judge(ob, evidence(name, timeout_ms=timeout))


def run_structural_check() -> Outcome:
    """Every recursive definition of the models is structural (model.define_rec records them)."""
    from .model import _REC_DEFS

    problems = structural_recursion_violations()
    if problems:
        return Outcome(False, "; ".join(problems))
    return Outcome(True, f"{len(_REC_DEFS)} recursive definitions, each self-call on a constructor field of the "
                         "decreasing argument under a test of its constructor; no mutual recursion")


#: Random replays per sampled cross-check (thorough / quick), plus the fixed trap sequence.
REPLAYS = {False: 200, True: 40}


def run_model_matches_spec(quick: bool, seed: int = 0) -> Outcome:
    """The spec model agrees with spec/runtime/context.py on random operation sequences."""
    from . import crosscheck

    rng = random.Random(seed)
    runs = [(crosscheck.TRAP_CONTEXT_OPS, crosscheck.TRAP_PROBES)]
    runs += [(crosscheck.random_ops(rng, crosscheck.CONTEXT_OPS, rng.randint(0, 10)), crosscheck.random_probes(rng, 3))
             for _ in range(REPLAYS[quick])]
    steps = 0
    for ops, probes in runs:
        problems = crosscheck.context_mismatches(SPEC, ops, probes)
        if problems:
            return Outcome(False, f"model ≠ spec on {ops}: {problems[0]}")
        steps += len(ops)
    return Outcome(True, f"{len(runs)} sequences ({steps} operations, seed {seed}), every step and query equal")


def run_index_matches_impl(quick: bool, seed: int = 0) -> Outcome:
    """The index model agrees with impl/registry.py on random operation sequences."""
    from . import crosscheck

    rng = random.Random(seed)
    runs = [(crosscheck.TRAP_INDEX_OPS, crosscheck.TRAP_PROBES), (crosscheck.TRAP_CHUNK_OPS, crosscheck.TRAP_PROBES)]
    runs += [(crosscheck.random_ops(rng, crosscheck.INDEX_OPS, rng.randint(0, 8)), crosscheck.random_probes(rng, 3))
             for _ in range(REPLAYS[quick])]
    steps = 0
    for ops, probes in runs:
        problems = crosscheck.index_mismatches(INDEX, ops, probes)
        if problems:
            return Outcome(False, f"model ≠ impl on {ops}: {problems[0]}")
        steps += len(ops)
    return Outcome(True, f"{len(runs)} sequences ({steps} operations, seed {seed}), every field, query and I1 ∧ I2 equal")


def obligations(quick: bool) -> list[Obligation]:
    """The verify provider: the structural-recursion check, every Z3 obligation (label
    ``proved``), and the two sampled cross-checks of the models against the code."""
    out = [Obligation("z3.model.structural-recursion", "z3", "checked",
                      "every recursive function of the Z3 models recurses structurally (no silent non-termination)",
                      run_structural_check)]
    out += [Obligation(ob.name, "z3", "proved", ob.claim, run, (ob.name, quick)) for ob in OBLIGATIONS]
    n = REPLAYS[quick] + 1
    out.append(Obligation("z3.model.matches-spec", "z3 eval vs spec", "sampled",
                          f"the spec model, evaluated by Z3 on concrete terms, equals spec/runtime/context.py after "
                          f"every step of {n} operation sequences (random, seeded, + the traps)",
                          run_model_matches_spec, (quick,)))
    out.append(Obligation("z3.index-model.matches-impl", "z3 eval vs impl", "sampled",
                          f"the index model equals impl/registry.py (fields, queries, toSpec, I1 ∧ I2) after every "
                          f"step of {n + 1} operation sequences (random, seeded, + the traps, one crossing two chunk "
                          f"boundaries of the impl's order)",
                          run_index_matches_impl, (quick,)))
    return out
