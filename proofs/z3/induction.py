"""The one place that turns a claim into Z3 queries: induction schemes, direct proofs,
non-vacuity checks and canaries.

Z3 does no induction by itself.  :func:`induction` proves ``∀x. hyps(x) → goal(x)`` over a
recursive datatype by structural induction: one query per constructor ``C``, with fresh
constants for its fields, the induction hypothesis assumed for every field of the
datatype's own sort, and the negated goal for ``C(fields)`` — the case is proved when that
query is ``unsat``.  Variables named in ``generalizing`` are universally quantified inside
the hypothesis (induction "generalizing y").  Every query carries a timeout; ``unknown``
(a timeout included) is a failure, never a pass.

Guards against vacuous proofs: for every case, the assumptions of that case (induction
hypotheses and the claim's own hypotheses, lemmas left out — a proved lemma is true in
every model, so it cannot change satisfiability) are checked ``sat``, unless the case is
declared impossible (``vacuous=``), which is then checked ``unsat``; the claim's hypotheses
on their own are checked ``sat`` too.  A canary is a false claim the model must refute: its
negation must come back ``sat``.

:func:`direct` proves a claim in one query, without induction; inductive facts come in as
proved lemmas (assumed as universally quantified axioms) or as explicit instances of them
(``Proof.at``), which spares Z3 a quantifier-instantiation search it may not finish.
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Iterable, Iterator, Sequence

import z3

__all__ = [
    "DEFAULT_TIMEOUT_MS",
    "QUICK_TIMEOUT_MS",
    "Query",
    "Proof",
    "run_query",
    "solver_seed",
    "induction",
    "direct",
    "canary",
    "witness",
    "scheme_of",
    "free_constants",
]

#: Per-query solver timeout (milliseconds) of the thorough run and of ``--quick``.
DEFAULT_TIMEOUT_MS = 20_000
QUICK_TIMEOUT_MS = 10_000


@dataclass(frozen=True)
class Query:
    """One solver call: what was asked, what answer proves it, what came back."""

    label: str
    expected: str  # "unsat" (a proof obligation) or "sat" (non-vacuity, canary, witness)
    status: str  # "sat" / "unsat" / "unknown"
    seconds: float
    reason: str = ""  # Z3's reason_unknown, when unknown
    role: str = "proof"  # "proof" (a case or claim), "non-vacuity", "canary" or "witness"

    @property
    def ok(self) -> bool:
        return self.status == self.expected

    def describe(self) -> str:
        extra = f" ({self.reason})" if self.reason else ""
        return f"{self.label}: {self.status}, expected {self.expected}{extra} [{self.seconds:.2f}s]"


@dataclass(frozen=True)
class Proof:
    """A fact, the scheme used, the queries issued and the lemmas it relied on."""

    name: str
    scheme: str
    formula: z3.BoolRef  # the closed universal statement (usable as a lemma)
    queries: tuple[Query, ...]
    lemmas: tuple["Proof", ...] = field(default=())

    @property
    def proved(self) -> bool:
        return all(q.ok for q in self.queries) and all(lemma.proved for lemma in self.lemmas)

    def all_queries(self) -> Iterator[tuple[str, Query]]:
        """Every query of this proof and of the lemmas it used (lemmas first)."""
        for lemma in self.lemmas:
            yield from lemma.all_queries()
        for q in self.queries:
            yield self.name, q

    def at(self, *terms: z3.ExprRef) -> z3.BoolRef:
        """This fact instantiated at ``terms`` (one per quantified variable, in order) — a
        sound step that spares Z3 the search for the instance."""
        if not z3.is_quantifier(self.formula):
            raise ValueError(f"{self.name}: not a quantified fact")
        if len(terms) != self.formula.num_vars():
            raise ValueError(f"{self.name}: {self.formula.num_vars()} variables, {len(terms)} terms given")
        for j, term in enumerate(terms):
            if term.sort() != self.formula.var_sort(j):
                raise TypeError(f"{self.name}: variable {j} has sort {self.formula.var_sort(j)}, given {term.sort()}")
        # de Bruijn index 0 is the LAST bound variable
        return z3.substitute_vars(self.formula.body(), *reversed(terms))

    def failures(self) -> list[str]:
        return [f"{name} / {q.describe()}" for name, q in self.all_queries() if not q.ok]


#: Z3's random seed for every query (fixed, so a run is reproducible; the tests re-run the
#: obligations under other seeds to show no proof depends on a lucky one).
_seed = [0]


@contextmanager
def solver_seed(seed: int) -> Iterator[None]:
    """Run the queries issued inside the block with Z3 random seed ``seed``."""
    previous, _seed[0] = _seed[0], int(seed)
    try:
        yield
    finally:
        _seed[0] = previous


def run_query(label: str, formulas: Iterable[z3.BoolRef], expected: str, timeout_ms: int, role: str = "proof") -> Query:
    """Check ``formulas`` with a fresh solver and a timeout; ``expected`` is the answer that counts."""
    solver = z3.Solver()
    solver.set(timeout=int(timeout_ms), random_seed=_seed[0])
    solver.add(*formulas)
    start = time.perf_counter()
    answer = solver.check()
    seconds = time.perf_counter() - start
    status = str(answer)
    reason = solver.reason_unknown() if answer == z3.unknown else ""
    return Query(label, expected, status, seconds, reason, role)


# --- free constants (a lemma must be closed, a claim must name all its variables) ----------


def free_constants(*terms: z3.ExprRef) -> set:
    """The uninterpreted constants occurring in ``terms`` (free variables of a claim)."""
    seen: set = set()
    out: dict = {}
    stack = list(terms)
    while stack:
        e = stack.pop()
        if e.get_id() in seen:
            continue
        seen.add(e.get_id())
        if z3.is_quantifier(e):
            stack.append(e.body())
        elif z3.is_app(e):
            if e.num_args() == 0 and e.decl().kind() == z3.Z3_OP_UNINTERPRETED:
                out[e.get_id()] = e
            stack.extend(e.children())
    return set(out.values())


def _check_closed(name: str, declared: Sequence[z3.ExprRef], *terms: z3.ExprRef) -> None:
    free = {c.get_id(): c for c in free_constants(*terms)}
    known = {c.get_id() for c in declared}
    stray = [str(c) for cid, c in free.items() if cid not in known]
    if stray:
        raise ValueError(f"{name}: undeclared free variables {sorted(stray)}")


def _forall(variables: Sequence[z3.ExprRef], body: z3.BoolRef) -> z3.BoolRef:
    return z3.ForAll(list(variables), body) if variables else body


def _implies(hyps: Sequence[z3.BoolRef], goal: z3.BoolRef) -> z3.BoolRef:
    return z3.Implies(z3.And(*hyps), goal) if hyps else goal


# --- induction ------------------------------------------------------------------------------


def _recursive_fields(sort: z3.DatatypeSortRef, i: int) -> list[int]:
    ctor = sort.constructor(i)
    return [j for j in range(ctor.arity()) if ctor.domain(j) == sort]


def scheme_of(var: z3.ExprRef, generalizing: Sequence[z3.ExprRef] = ()) -> str:
    """Human name of the structural induction scheme on ``var``'s datatype."""
    sort = var.sort()
    cases = []
    for i in range(sort.num_constructors()):
        ctor = sort.constructor(i)
        fields = [sort.accessor(i, j).name() for j in range(ctor.arity())]
        rec = [sort.accessor(i, j).name() for j in _recursive_fields(sort, i)]
        case = " ".join([ctor.name(), *fields])
        if rec:
            case += f" (IH for {', '.join(rec)})"
        cases.append(case)
    text = f"structural induction on {var} : {sort.name()} [{' | '.join(cases)}]"
    if generalizing:
        text += f" generalizing {', '.join(str(g) for g in generalizing)}"
    return text


def induction(
    name: str,
    on: z3.ExprRef,
    goal: z3.BoolRef,
    hyps: Sequence[z3.BoolRef] = (),
    fixed: Sequence[z3.ExprRef] = (),
    generalizing: Sequence[z3.ExprRef] = (),
    lemmas: Sequence[Proof] = (),
    timeout_ms: int = DEFAULT_TIMEOUT_MS,
    vacuous: Sequence[str] = (),
) -> Proof:
    """Prove ``∀ on fixed generalizing. hyps → goal`` by structural induction on ``on``.

    ``fixed`` variables are the same in the hypothesis and the goal; ``generalizing`` ones
    are universally quantified in the induction hypothesis.  ``lemmas`` (already proved)
    are assumed in every case query.  ``vacuous`` names the constructors whose case the
    hypotheses rule out (e.g. ``k ∈ []``): for those the assumptions must be ``unsat``,
    for every other case ``sat`` — so a vacuous case is always a declared one.
    """
    sort = on.sort()
    if not isinstance(sort, z3.DatatypeSortRef):
        raise TypeError(f"{name}: induction needs a datatype variable, {on} has sort {sort}")
    _check_closed(name, [on, *fixed, *generalizing], goal, *hyps)
    formula = _forall([on, *fixed, *generalizing], _implies(hyps, goal))
    axioms = [lemma.formula for lemma in lemmas]
    names = {sort.constructor(j).name() for j in range(sort.num_constructors())}
    if not set(vacuous) <= names:
        raise ValueError(f"{name}: vacuous cases {sorted(set(vacuous) - names)} are not constructors of {sort}")
    queries: list[Query] = []
    if hyps:
        queries.append(run_query("hypotheses satisfiable", list(hyps), "sat", timeout_ms, "non-vacuity"))
    for i in range(sort.num_constructors()):
        ctor = sort.constructor(i)
        fields = [z3.FreshConst(ctor.domain(j), prefix=sort.accessor(i, j).name()) for j in range(ctor.arity())]
        term = ctor(*fields) if fields else ctor()
        ihs = []
        for j in _recursive_fields(sort, i):
            bound = [z3.FreshConst(g.sort(), prefix=str(g)) for g in generalizing]
            sub = [(on, fields[j]), *zip(generalizing, bound)]
            ih_body = _implies([z3.substitute(h, *sub) for h in hyps], z3.substitute(goal, *sub))
            ihs.append(_forall(bound, ih_body))
        case_hyps = [z3.substitute(h, (on, term)) for h in hyps]
        case_goal = z3.substitute(goal, (on, term))
        kind = "step" if ihs else "base"
        label = f"{kind} case {ctor.name()}"
        queries.append(run_query(label, [*axioms, *ihs, *case_hyps, z3.Not(case_goal)], "unsat", timeout_ms))
        if ctor.name() in vacuous:
            queries.append(run_query(f"{label}: assumptions impossible (declared vacuous)", [*ihs, *case_hyps],
                                     "unsat", timeout_ms, "non-vacuity"))
        elif ihs or case_hyps:
            queries.append(run_query(f"{label}: assumptions satisfiable", [*ihs, *case_hyps], "sat", timeout_ms,
                                     "non-vacuity"))
    return Proof(name, scheme_of(on, generalizing), formula, tuple(queries), tuple(lemmas))


def direct(
    name: str,
    variables: Sequence[z3.ExprRef],
    goal: z3.BoolRef,
    hyps: Sequence[z3.BoolRef] = (),
    lemmas: Sequence[Proof] = (),
    timeout_ms: int = DEFAULT_TIMEOUT_MS,
    instances: Sequence[tuple[Proof, tuple]] = (),
) -> Proof:
    """Prove ``∀ variables. hyps → goal`` in one query (definitions unfolded, no induction;
    inductive facts it needs come in as proved ``lemmas``, or as ``instances``
    ``(proof, terms)`` — the proved fact instantiated at those terms)."""
    _check_closed(name, variables, goal, *hyps)
    formula = _forall(variables, _implies(hyps, goal))
    queries = []
    if hyps:
        queries.append(run_query("hypotheses satisfiable", list(hyps), "sat", timeout_ms, "non-vacuity"))
    axioms = [lemma.formula for lemma in lemmas] + [proof.at(*terms) for proof, terms in instances]
    _check_closed(name, variables, *axioms)
    lemmas = [*lemmas, *(proof for proof, _ in instances if all(proof is not l for l in lemmas))]
    queries.append(run_query("claim", [*axioms, *hyps, z3.Not(goal)], "unsat", timeout_ms))
    scheme = "direct: definitions unfolded, no induction"
    if lemmas:
        scheme += " (using inductive lemmas)"
    return Proof(name, scheme, formula, tuple(queries), tuple(lemmas))


def canary(name: str, false_claim: z3.BoolRef, hyps: Sequence[z3.BoolRef] = (), timeout_ms: int = DEFAULT_TIMEOUT_MS) -> Query:
    """A false claim the model must refute: ``hyps ∧ ¬false_claim`` must be ``sat``."""
    return run_query(f"canary: {name}", [*hyps, z3.Not(false_claim)], "sat", timeout_ms, "canary")


def witness(name: str, formulas: Sequence[z3.BoolRef], timeout_ms: int = DEFAULT_TIMEOUT_MS) -> Query:
    """A situation that must exist (e.g. a documented Lean behaviour): ``formulas`` must be ``sat``."""
    return run_query(f"witness: {name}", list(formulas), "sat", timeout_ms, "witness")
