"""Cross-validation: every Z3 definition, evaluated on concrete terms, agrees with the code.

The Z3 models (proofs/z3/model.py, proofs/z3/index_model.py) are transcriptions; these
tests keep them from drifting.  For many random inputs each model definition is evaluated
by Z3 on the concrete term (``z3.simplify`` unfolds the recursive definitions) and compared
with the Python spec (spec/core/shape.py, spec/core/list.py, spec/runtime/context.py) or with
the impl's registry (impl/registry.py).  The operation replays live in
proofs/z3/crosscheck.py; a test that a broken model IS caught is in test_z3_teeth.py.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import z3
from hypothesis import example, given, settings
from hypothesis import strategies as st

from torchlean_runtime.errors import CastEvidenceError
from torchlean_runtime.impl import registry as impl_registry
from torchlean_runtime.proofs.z3 import concrete as C
from torchlean_runtime.proofs.z3 import crosscheck as X_
from torchlean_runtime.proofs.z3.index_model import INDEX, INDEX_DEFINITIONS
from torchlean_runtime.proofs.z3.model import SPEC, SPEC_DEFINITIONS
from torchlean_runtime.spec.core import shape as S
from torchlean_runtime.spec.core.scalars import Float
from torchlean_runtime.spec.runtime import context as ctxmod

M = SPEC
SETTINGS = settings(max_examples=50, deadline=None)

dims_st = st.lists(st.integers(min_value=0, max_value=3), max_size=3).map(tuple)
shape_st = dims_st.map(S.ofList)
# Biased to "w" so that shadowed duplicates (the interesting case) are common.
name_st = st.one_of(st.just("w"), st.sampled_from(X_.NAMES))
probe_st = st.tuples(name_st, dims_st)
context_op_st = st.tuples(
    st.sampled_from(["registerVariable"] * 3 + ["setVariable"] * 2 + ["registerGradient"] * 2 + ["setGradient"] * 2
                    + ["clearGradients"]),
    name_st, dims_st, st.integers(0, 5),
).map(lambda op: (op[0],) if op[0] == "clearGradients" else op)
index_op_st = st.tuples(st.sampled_from(["register"] * 3 + ["set_all"] * 2 + ["clear"]), name_st, dims_st,
                        st.integers(0, 5)).map(lambda op: (op[0],) if op[0] == "clear" else op)


# --- NN/Spec/Core/Shape.lean -------------------------------------------------------------------


@SETTINGS
@given(dims_st)
def test_ofList_prod_length_match_spec(dims):
    """Shape.ofList, List.prod, List.length(Nat) vs spec ofList / math.prod / len."""
    l = C.natlist_term(dims)
    assert C.shape_value(M.ofList(l)) == S.ofList(dims)
    assert C.int_value(M.prod(l)) == math.prod(dims)
    assert C.int_value(M.natLength(l)) == len(dims)


@SETTINGS
@given(shape_st)
def test_toList_size_rank_match_spec(s):
    """Shape.toList, Shape.size, Shape.rank vs spec toList / size / rank."""
    t = C.shape_term(s)
    assert C.natlist_value(M.toList(t)) == S.toList(s)
    assert C.int_value(M.size(t)) == S.size(s)
    assert C.int_value(M.rank(t)) == S.rank(s)


@SETTINGS
@example(S.ofList([0, 3]), S.ofList([0, 4]), False)
@given(shape_st, shape_st, st.booleans())
def test_areEqual_and_ShapeEq_match_spec(s1, s2, same):
    """Shape.areEqual and ShapeEq (check / refl / symm / trans) vs the spec's."""
    if same:
        s2 = S.ofList(S.toList(s1))  # an equal but distinct object
    t1, t2 = C.shape_term(s1), C.shape_term(s2)
    assert C.bool_value(M.areEqual(t1, t2)) == S.areEqual(s1, s2)
    try:
        h = S.ShapeEq.check(s1, s2)
        checked = True
    except CastEvidenceError:
        checked = False
    assert C.bool_value(M.shapeEqCheck(t1, t2)) == checked
    assert C.bool_value(M.shapeEq(t1, t2)) == checked
    refl = S.ShapeEq.refl(s1)
    assert C.bool_value(M.shapeEq(C.shape_term(refl.lhs), C.shape_term(refl.rhs)))
    if checked:
        back = h.symm()
        assert C.bool_value(M.shapeEq(C.shape_term(back.lhs), C.shape_term(back.rhs)))
        chained = h.trans(S.ShapeEq.refl(s2))
        assert C.bool_value(M.shapeEq(C.shape_term(chained.lhs), C.shape_term(chained.rhs)))
    else:
        with pytest.raises(CastEvidenceError):  # middles differ: no evidence, as in the model
            S.ShapeEq.refl(s1).trans(S.ShapeEq.refl(s2))


def test_term_encodings_round_trip():
    for dims in [(), (0,), (2, 3), (0, 4), (1, 1, 1)]:
        assert C.shape_value(C.shape_term(S.ofList(dims))) == S.ofList(dims)
        assert C.natlist_value(C.natlist_term(dims)) == dims
    for name in X_.NAMES + ("\\u{41}", "a\\b", "😀"):
        assert C.name_value(C.name_term(name)) == name


# --- NN/Runtime/Context.lean (and the List functions it uses) ---------------------------------------


@SETTINGS
@example(X_.TRAP_CONTEXT_OPS, X_.TRAP_PROBES)
@given(st.lists(context_op_st, max_size=10), st.lists(probe_st, min_size=1, max_size=4))
def test_context_definitions_match_spec(ops, probes):
    """emptyContext, registerVariable, setVariable, registerGradient, setGradient,
    clearGradients (both registries and next_id compared after every step), and
    getVariable / getGradient at probe shapes, hasVariable, variableNames, gradientNames,
    contextSize, gradientCount, isValidContext after every step."""
    assert X_.context_mismatches(M, ops, probes) == []


def test_list_functions_match_spec_list_directly():
    """List.find?, List.map(set), List.any, List.all, List.map(fst), List.length on a registry
    with shadowed duplicates, against spec/core/list.py (Lean core List semantics)."""
    ctx = ctxmod.emptyContext(Float)
    for name, dims, seed in [("w", (2,), 1), ("b", (), 2), ("w", (3,), 3), ("x", (0, 2), 4)]:
        ctx = ctxmod.registerVariable(ctx, name, X_.filled_tensor(dims, seed))
    reg = ctx.var_registry
    seeds = {}
    r = C.registry_term(reg, lambda t: seeds.setdefault(t, len(seeds)))
    for name in X_.NAMES + ("x",):
        nt = C.name_term(name)
        found = reg.find(lambda e: e[0] == name)
        model_found = C.evaluate(M.findName(r, nt))
        if found is None:
            assert model_found.decl().name() == "noEntry"
        else:
            entry = model_found.arg(0)
            assert (C.name_value(entry.arg(0)), C.shape_value(entry.arg(1).arg(0))) == (found[0], found[1].s)
            assert C.int_value(entry.arg(1).arg(1)) == seeds[found[1].t]
        assert C.bool_value(M.anyName(r, nt)) == reg.any(lambda e: e[0] == name)
        new = X_.filled_tensor((5,), 9)
        at = M.anyTensor(C.shape_term(new.shape), z3.IntVal(seeds.setdefault(new, len(seeds))))
        spec_mapped = reg.map(lambda e: (e[0], ctxmod.AnyTensor(new.shape, new)) if e[0] == name else e)
        assert C.registry_value(M.mapSet(r, nt, at)) == [(n, a.s, seeds[a.t]) for n, a in spec_mapped]
    assert C.namelist_value(M.mapName(r)) == list(reg.map(lambda e: e[0]))
    assert C.int_value(M.length(r)) == reg.length()
    for grad_name in ["zz", "b"]:
        grads = ctxmod.registerGradient(ctx, grad_name, X_.filled_tensor((), 0)).gradients
        g = C.registry_term(grads, lambda t: 0)
        assert C.bool_value(M.allHasVariable(g, r)) == grads.all(lambda e: reg.any(lambda v: v[0] == e[0]))


def test_every_spec_definition_is_exercised_in_this_file_or_the_replay():
    """A new model definition without a cross-check fails here (names are looked up in this
    file and in proofs/z3/crosscheck.py)."""
    text = open(__file__, encoding="utf-8").read() + open(X_.__file__, encoding="utf-8").read()
    missing = [d for d in SPEC_DEFINITIONS if d.split("(")[0].split(".")[-1] not in text]
    assert not missing, missing


# --- the impl's hashed registry (impl/registry.py) --------------------------------------------------


@settings(max_examples=35, deadline=None)
@example(X_.TRAP_INDEX_OPS, X_.TRAP_PROBES)
@example(X_.TRAP_CHUNK_OPS, X_.TRAP_PROBES)
@given(st.lists(index_op_st, max_size=8), st.lists(probe_st, min_size=1, max_size=3))
def test_index_model_matches_impl_registry(ops, probes):
    """Registry.register / set_all / clear (EMPTY) step by step: the model's order, slots
    (every array of every chain) and length equal the impl's (its order: the flattening of its
    chunks; TRAP_CHUNK_OPS crosses two chunk boundaries); lookup / has / names / count agree;
    toSpec equals the impl's items(); I1 ∧ I2 hold in the model iff the impl's own check
    finds nothing."""
    assert X_.index_mismatches(INDEX, ops, probes) == []


def _corrupt(reg, **fields):
    values = {f: getattr(reg, f) for f in ("spine", "tail", "slots", "length")}
    values.update(fields)
    return impl_registry.Registry._make(**values)


def test_I1_I2_reject_exactly_what_the_impl_check_rejects():
    """I1 / I2 of the model vs Registry.invariant_violations on hand-broken states; the states
    the model cannot represent (no Chain value, or a malformed chunk layout: the model's order
    is a flat list) are refused by the term encoding (and rejected by the impl check)."""
    arrays = {}

    def seed(a):
        return arrays[id(a)]

    reg = impl_registry.EMPTY
    for name, dims, s in [("w", (2,), 1), ("b", (), 2), ("w", (3,), 3)]:
        a = np.full(dims, float(s))
        arrays[id(a)] = s
        reg = reg.register(name, a)
    w, b2 = reg.slots["w"], reg.slots["b"]  # w's chain: the cell ((3,)-array, (2,)-array); b's: its ()-array
    broken = {
        "length off by one": _corrupt(reg, length=reg.length + 1),
        "a name missing from order": _corrupt(reg, tail=reg.tail[:-1]),
        "a name of order is no key of slots": _corrupt(reg, tail=reg.tail + ("q",), length=4),
        "chain shorter than the occurrences": _corrupt(reg, slots=reg.slots.set("w", w[0])),
        "chain longer than the occurrences": _corrupt(reg, slots=reg.slots.set("b", (b2, b2))),
        "key that occurs nowhere in order": _corrupt(reg, slots=reg.slots.set("zz", b2)),
    }
    unrepresentable = {
        "key mapped to None": _corrupt(reg, slots=reg.slots.set("zz", None)),
        "a cell whose rest is None": _corrupt(reg, slots=reg.slots.set("w", (w[0], None))),
        "a 3-tuple cell": _corrupt(reg, slots=reg.slots.set("w", ((3,), w[0], None))),
        # the model's order has no chunks: a malformed chunk layout has no term either
        "a spine chunk of 3 names": _corrupt(reg, spine=(reg.tail, None), tail=()),
        "a non-str name in the tail": _corrupt(reg, tail=reg.tail[:-1] + (None,)),
    }
    assert reg.invariant_violations() == []
    assert X_.invariant_holds_in_model(INDEX, C.index_registry_term(reg, seed))
    for what, bad in broken.items():
        assert bad.invariant_violations(), what
        assert not X_.invariant_holds_in_model(INDEX, C.index_registry_term(bad, seed)), what
    for what, bad in unrepresentable.items():
        assert bad.invariant_violations(), what
        with pytest.raises(ValueError):
            C.index_registry_term(bad, seed)


def test_every_index_definition_is_exercised_in_the_replay():
    text = open(X_.__file__, encoding="utf-8").read() + open(__file__, encoding="utf-8").read()
    missing = [d for d in INDEX_DEFINITIONS if d.split(".")[-1] not in text]
    assert not missing, missing
