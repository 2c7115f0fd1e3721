"""Replay one sequence of operations on the Z3 model and on the code, and list every
disagreement — the check that keeps the models from drifting from the spec and the impl.

* :func:`context_mismatches` — spec model (model.py) vs spec/runtime/context.py: after
  every step the whole context (both registries, ``next_id``) and every query
  (getVariable / getGradient at probe shapes, hasVariable, variableNames, gradientNames,
  contextSize, gradientCount, isValidContext).
* :func:`index_mismatches` — index model (index_model.py) vs impl/registry.py: after every
  step the impl's fields (order — the flattening of its chunks —, slots with every array of
  every chain, length; a malformed chunk layout is reported as such), lookup / has /
  names / count / all_names_in (against the previous step's registry), the abstraction
  ``toSpec`` and the model's cursor walk ``items`` against the impl's ``items()``; at the
  end I1 ∧ I2 in the model against the impl's own invariant check.

A tensor value is "the tensor filled with the number ``seed``"; its model id is ``seed``.
Used by tests/proofs/test_z3_crossvalidate.py (hypothesis) and by the ``sampled``
obligations of obligations.py (seeded random sequences).
"""

from __future__ import annotations

import random
from typing import Optional, Sequence

import numpy as np
import z3

from torchlean_runtime.impl import registry as impl_registry
from torchlean_runtime.spec.core import shape as S
from torchlean_runtime.spec.core.scalars import Float
from torchlean_runtime.spec.core.tensor import Tensor, elements, ofNested
from torchlean_runtime.spec.runtime import context as spec_context

from . import concrete as C
from .index_model import IndexModel
from .model import SpecModel

__all__ = [
    "NAMES",
    "CONTEXT_OPS",
    "INDEX_OPS",
    "TRAP_CONTEXT_OPS",
    "TRAP_INDEX_OPS",
    "TRAP_CHUNK_OPS",
    "TRAP_PROBES",
    "filled_tensor",
    "context_mismatches",
    "index_mismatches",
    "holds_in_model",
    "invariant_holds_in_model",
    "random_ops",
    "random_probes",
]

#: Names used by the replays: the empty name and a non-ASCII one included.
NAMES = ("w", "b", "", "θ", "w2")
CONTEXT_OPS = ("registerVariable", "setVariable", "registerGradient", "setGradient", "clearGradients")
INDEX_OPS = ("register", "set_all", "clear")

#: The traps, always replayed: shadowed duplicates with different shapes, set over them, an
#: absent name, a gradient under an unknown name, an element-less shape.
TRAP_CONTEXT_OPS = [
    ("registerVariable", "w", (2,), 1), ("registerVariable", "w", (3,), 2), ("setVariable", "w", (1,), 3),
    ("setVariable", "zz", (1,), 4), ("registerGradient", "q", (), 5), ("registerGradient", "w", (2,), 1),
    ("setGradient", "w", (), 2), ("registerVariable", "b", (0, 2), 0), ("clearGradients",),
]
TRAP_INDEX_OPS = [
    ("register", "w", (2,), 1), ("register", "b", (), 2), ("register", "w", (3,), 3),
    ("set_all", "w", (1,), 4), ("set_all", "zz", (1,), 5), ("register", "w", (0, 2), 0), ("clear",),
    ("register", "θ", (1, 1), 2),
]
TRAP_PROBES = [("w", (2,)), ("w", (3,)), ("w", (1,)), ("zz", (1,)), ("b", (0, 2)), ("b", (0, 3))]
#: The chunk trap: 2 * CHUNK + 2 registers over NAMES (duplicates throughout), so the impl's
#: order crosses two chunk boundaries (impl/registry.py flushes its tail onto the spine), with a
#: set_all over duplicates every 9 steps and one just after each flush.
TRAP_CHUNK_OPS = [
    op
    for k in range(2 * impl_registry.CHUNK + 2)
    for op in [("register", NAMES[k % len(NAMES)], (k % 3,), k % 6)]
    + ([("set_all", NAMES[k % 2], (1,), 5)] if k % 9 == 8 or (k + 1) % impl_registry.CHUNK == 0 else [])
]


def filled_tensor(dims: Sequence[int], seed: int) -> Tensor:
    """The Float tensor of shape ``dims`` with every element ``float(seed)``."""
    nested: object = float(seed)
    for n in reversed(list(dims)):
        nested = [nested] * n
    return ofNested(Float, list(dims), nested)


def _spec_entries(registry) -> list:
    """``(name, shape, seed)``; ``None`` for an element-less tensor (all such tensors of one
    shape are the same Lean value, so no seed can be recovered)."""
    out = []
    for name, at in registry:
        elems = list(elements(at.t))
        out.append((name, at.s, int(elems[0]) if elems else None))
    return out


def _model_entries(values) -> list:
    return [(n, s, vid if S.size(s) else None) for n, s, vid in values]


def _same_option(model_id: Optional[int], spec_tensor: Optional[Tensor], dims) -> bool:
    if model_id is None or spec_tensor is None:
        return model_id is None and spec_tensor is None
    return spec_tensor == filled_tensor(dims, model_id)


def context_mismatches(M: SpecModel, ops, probes) -> list[str]:
    """Replay ``ops`` from ``emptyContext`` on the spec and on model ``M``; every disagreement."""
    out: list[str] = []
    ctx = spec_context.emptyContext(Float)
    term = C.evaluate(M.emptyContext())

    def compare(step: str) -> None:
        vars_, grads, next_id = C.context_value(term)
        if _model_entries(vars_) != _spec_entries(ctx.var_registry):
            out.append(f"{step}: var_registry model {vars_} spec {_spec_entries(ctx.var_registry)}")
        if _model_entries(grads) != _spec_entries(ctx.gradients):
            out.append(f"{step}: gradients model {grads} spec {_spec_entries(ctx.gradients)}")
        if next_id != ctx.next_id:
            out.append(f"{step}: next_id model {next_id} spec {ctx.next_id}")
        for name, dims in probes:
            nt, st = C.name_term(name), C.shape_term(S.ofList(dims))
            for fn in ("getVariable", "getGradient"):
                got = C.opt_tensor_value(getattr(M, fn)(term, nt, st))
                want = getattr(spec_context, fn)(ctx, name, dims)
                if not _same_option(got, want, dims):
                    out.append(f"{step}: {fn} {name!r} {dims} model {got} spec {want}")
            if C.bool_value(M.hasVariable(term, nt)) != spec_context.hasVariable(ctx, name):
                out.append(f"{step}: hasVariable {name!r}")
        checks = [
            ("variableNames", C.namelist_value(M.variableNames(term)), list(spec_context.variableNames(ctx))),
            ("gradientNames", C.namelist_value(M.gradientNames(term)), list(spec_context.gradientNames(ctx))),
            ("contextSize", C.int_value(M.contextSize(term)), spec_context.contextSize(ctx)),
            ("gradientCount", C.int_value(M.gradientCount(term)), spec_context.gradientCount(ctx)),
            ("isValidContext", C.bool_value(M.isValidContext(term)), spec_context.isValidContext(ctx)),
        ]
        out.extend(f"{step}: {fn} model {got} spec {want}" for fn, got, want in checks if got != want)

    compare("emptyContext")
    for op in ops:
        if op[0] == "clearGradients":
            ctx, term = spec_context.clearGradients(ctx), M.clearGradients(term)
        else:
            kind, name, dims, seed = op
            ctx = getattr(spec_context, kind)(ctx, name, filled_tensor(dims, seed))
            term = getattr(M, kind)(term, C.name_term(name), C.shape_term(S.ofList(dims)), z3.IntVal(seed))
        term = C.evaluate(term)
        compare(repr(op))
    return out


class _Arrays:
    """Frozen arrays filled with ``seed``; an array's model id is its seed (by identity)."""

    def __init__(self) -> None:
        self._seed_of: dict[int, int] = {}
        self._keep: list = []

    def make(self, dims, seed: int) -> np.ndarray:
        a = np.full(tuple(dims), float(seed))
        a.setflags(write=False)
        self._seed_of[id(a)] = seed
        self._keep.append(a)
        return a

    def seed(self, a: np.ndarray) -> int:
        return self._seed_of[id(a)]


def _impl_state(reg, arrays: _Arrays, names) -> dict:
    order = reg.order_names()  # the flattening of the chunks: the model's order field
    slots = {}
    for name in names:
        chain = reg.slots.get(name, _ABSENT)
        if chain is _ABSENT:
            slots[name] = None
            continue
        slots[name] = []
        while type(chain) is tuple:  # (array, rest) cells, then the oldest array
            array, chain = chain
            slots[name].append((S.ofList(array.shape), arrays.seed(array)))
        slots[name].append((S.ofList(chain.shape), arrays.seed(chain)))
    return {"order": order, "slots": slots, "length": reg.length}


_ABSENT = object()


def holds_in_model(formula: z3.BoolRef, timeout_ms: int = 10_000) -> bool:
    """The truth value of a closed formula about concrete terms that ``simplify`` cannot
    evaluate (a quantifier): ``¬formula`` unsat → true, sat → false."""
    solver = z3.Solver()
    solver.set(timeout=timeout_ms)
    solver.add(z3.Not(formula))
    answer = solver.check()
    if answer == z3.unknown:
        raise RuntimeError(f"undecided on concrete terms: {solver.reason_unknown()}")
    return answer == z3.unsat


def invariant_holds_in_model(X: IndexModel, term: z3.ExprRef) -> bool:
    """I1 ∧ I2 of a concrete model state."""
    return holds_in_model(X.invariant(term))


def index_mismatches(X: IndexModel, ops, probes, check_invariant: bool = True) -> list[str]:
    """Replay ``ops`` from ``EMPTY`` on impl/registry.py and on model ``X``; every disagreement."""
    out: list[str] = []
    arrays = _Arrays()
    reg = impl_registry.EMPTY
    term = C.evaluate(C.index_registry_term(reg, arrays.seed))
    for op in ops:
        previous_reg, previous_term = reg, term
        if op[0] == "clear":
            reg, term = impl_registry.EMPTY, X.clear(term)
        else:
            kind, name, dims, seed = op
            reg = getattr(reg, kind)(name, arrays.make(dims, seed))  # the array's shape is dims
            term = getattr(X, kind)(term, C.name_term(name), C.shape_term(S.ofList(dims)), z3.IntVal(seed))
        term = C.evaluate(term)
        step = repr(op)
        malformed = reg.layout_violations()
        if malformed:  # no order to compare (the model has no chunks): report and stop
            out.append(f"{step}: the impl's order layout is malformed: {malformed[0]}")
            return out
        names = sorted(set(NAMES) | {p[0] for p in probes} | set(reg.slots.keys()))
        model_state, impl_state = C.index_state(term, names), _impl_state(reg, arrays, names)
        if model_state != impl_state:
            out.append(f"{step}: state model {model_state} impl {impl_state}")
        encoded = C.index_state(C.index_registry_term(reg, arrays.seed), names)
        if encoded != impl_state:
            out.append(f"{step}: the term encoding of the impl state reads back as {encoded}")
        for name, dims in probes:
            got = reg.lookup(name, tuple(dims))
            model = C.opt_tensor_value(X.lookup(term, C.name_term(name), C.shape_term(S.ofList(dims))))
            if model != (None if got is None else arrays.seed(got)):
                out.append(f"{step}: lookup {name!r} {dims} model {model} impl {got}")
            if C.bool_value(X.has(term, C.name_term(name))) != reg.has(name):
                out.append(f"{step}: has {name!r}")
        if C.namelist_value(X.names(term)) != reg.names():
            out.append(f"{step}: names")
        if C.int_value(X.count(term)) != reg.count():
            out.append(f"{step}: count")
        for a, b, ta, tb in ((reg, previous_reg, term, previous_term), (previous_reg, reg, previous_term, term)):
            if holds_in_model(X.all_names_in(ta, tb)) != a.all_names_in(b):
                out.append(f"{step}: all_names_in (this step vs the previous one)")
        items = [(e.name, S.ofList(e.shape), arrays.seed(e.array)) for e in reg.items()]
        for what, abstraction in (("toSpec", X.toSpec), ("items", X.items)):
            try:
                abstract = C.registry_value(abstraction(term))
            except ValueError as exc:  # a state breaking I2 can point the walk at an absent key (no chain, no value)
                abstract = f"no concrete list ({exc})"
            if abstract != items:
                out.append(f"{step}: {what} model {abstract} impl items {items}")
    if check_invariant:
        impl_ok = not reg.invariant_violations()
        if invariant_holds_in_model(X, term) != impl_ok:
            out.append(f"I1 ∧ I2: model says {not impl_ok}, impl check says {impl_ok}")
    return out


def random_ops(rng: random.Random, kinds: Sequence[str], length: int) -> list[tuple]:
    """A random operation sequence biased to the traps (mostly the name "w", small shapes)."""
    weights = {"registerVariable": 3, "setVariable": 2, "registerGradient": 2, "setGradient": 2,
               "clearGradients": 1, "register": 3, "set_all": 2, "clear": 1}
    ops = []
    for _ in range(length):
        kind = rng.choices(list(kinds), [weights[k] for k in kinds])[0]
        if kind in ("clearGradients", "clear"):
            ops.append((kind,))
            continue
        name = "w" if rng.random() < 0.5 else rng.choice(NAMES)
        dims = tuple(rng.randint(0, 3) for _ in range(rng.randint(0, 3)))
        ops.append((kind, name, dims, rng.randint(0, 5)))
    return ops


def random_probes(rng: random.Random, count: int) -> list[tuple]:
    return [("w" if rng.random() < 0.5 else rng.choice(NAMES), tuple(rng.randint(0, 3) for _ in range(rng.randint(0, 3))))
            for _ in range(count)]
