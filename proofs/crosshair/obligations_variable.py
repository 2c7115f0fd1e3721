"""CrossHair refinement obligations for the impl's ``Variable`` bookkeeping that needs no numpy
arithmetic: ``Variable.error`` (a record built from a context), ``cast_shape`` with its
``ShapeEq`` evidence, the record operations (clone, detach, gradients, flags, ``has_shape``,
``variable_eq``) and the three context bridges (``register_in_context``, ``get_from_context``,
``register_gradient_in_context``).  Same scheme as :mod:`.obligations_registry`: small-int
parameters bounded by preconditions (profile :data:`B`), decoded to concrete spec values, one
postcondition.  (``accumulate_gradient`` and ``variable_norm`` are numpy arithmetic, which
CrossHair cannot explore: the sampled agreement obligations cover them.)
"""

from __future__ import annotations

import icontract
import numpy as np

from torchlean_runtime.errors import CastEvidenceError
from torchlean_runtime.spec.core.list import nil
from torchlean_runtime.spec.core.scalars import Float, IEEE32Exec, Int
from torchlean_runtime.spec.core.shape import ShapeEq, ofList, toList
from torchlean_runtime.spec.runtime import variable as SV

from .common import Observed, from_spec, outcome, probe_impl, probe_spec, refines, to_spec, typed, violations, warm_up
from .domains import ERROR_DTYPE_NAMES, decode, domain, in_domain
from .encoding import (
    CAST_SHAPES,
    NEXT_ID,
    OTHER_REGISTRY,
    active_bounds,
    concretely,
    query_name,
    query_shapes,
    registry_entries,
    spec_context,
    spec_registry,
    tensor_of_shape,
    value,
)

#: The bound profile of this process (from the environment, read once at import).
B = active_bounds()
ERROR, CAST = domain("error", B), domain("cast_shape", B)
RECORDS, IN_CONTEXT = domain("records", B), domain("in_context", B)

warm_up()


# --- Variable.error ----------------------------------------------------------------------------------

#: The impl's ``dtype=`` argument and the spec's ``alpha`` argument it stands for.
ERROR_DTYPES = (None, np.float64, np.float32, np.int64)
ERROR_ALPHAS = (None, Float, IEEE32Exec, Int)
assert len(ERROR_DTYPES) == len(ERROR_DTYPE_NAMES) == len(ERROR_ALPHAS)


def error_context(c: int, f: int, i: int):
    """0: emptyContext with α unfixed; 1: emptyContext over FAMILIES[f]; 2: OTHER_REGISTRY as both
    lists over FAMILIES[f]; next_id ``i`` in each."""
    if c == 0:
        return spec_context(nil, nil, i, None)
    if c == 1:
        return spec_context(nil, nil, i, f)
    other = spec_registry(OTHER_REGISTRY, f)
    return spec_context(other, other, i, f)


@concretely
def spec_error(c: int, f: int, i: int, m: int, d: int):
    ctx = error_context(c, f, i)
    return (outcome(SV.error, ctx, query_name(B, m), ERROR_ALPHAS[d]), ctx)


@concretely
def impl_error(c: int, f: int, i: int, m: int, d: int) -> Observed:
    from torchlean_runtime.impl.variable import Variable

    ctx = from_spec(error_context(c, f, i))
    got = outcome(Variable.error, ctx, query_name(B, m), ERROR_DTYPES[d])
    if got[0] == "value":
        got = ("value", to_spec(got[1]))
    return Observed((c, f, i, m, d), (got, to_spec(ctx)))


@icontract.require(lambda c, f, i, m, d: in_domain(ERROR, c, f, i, m, d), "the bounded domain (domains.py)")
@icontract.ensure(lambda result: refines(result, spec_error),
                  "Variable.error(from_spec ctx, msg, dtype) abstracts to error ctx msg α (id = next_id, scalar 0, no gradient, requires_grad false) or raises the same typed error; ctx unchanged")
def error(c: int, f: int, i: int, m: int, d: int) -> Observed:
    return impl_error(*decode(ERROR, c, f, i, m, d))


# --- ShapeEq evidence and cast_shape -------------------------------------------------------------------

_NO_EVIDENCE = ("error", CastEvidenceError.code)


def _evidence_view(result: tuple) -> tuple:
    """An evidence outcome as ``("value", (lhs dims, rhs dims))`` or ``("error", code)``."""
    if result[0] != "value":
        return result
    ev = result[1]
    if not isinstance(ev, ShapeEq):
        return ("not evidence", repr(ev))
    return ("value", (toList(ev.lhs), toList(ev.rhs)))


def _evidence(lhs: tuple, rhs: tuple) -> tuple:
    """What Lean allows: evidence ``lhs = rhs`` exactly when the shapes are equal (ofList/toList are
    mutual inverses and Shape equality is structural, so tuple equality decides it)."""
    return ("value", (lhs, rhs)) if lhs == rhs else _NO_EVIDENCE


def cast_variable(f: int, a: int, g: int):
    """A spec variable with a value of shape CAST_SHAPES[a] over FAMILIES[f]; a gradient when g."""
    t = tensor_of_shape(f, CAST_SHAPES[a])
    return SV.Variable(id=3, name="x", value=t, gradient=t if g else None, requires_grad=True)


def cast_evidence(b: int, c: int) -> ShapeEq:
    """The evidence handed to castShape: ``check B C`` when B = C, else ``refl B`` (about B)."""
    B_, C_ = ofList(CAST_SHAPES[b]), ofList(CAST_SHAPES[c])
    return ShapeEq.check(B_, C_) if CAST_SHAPES[b] == CAST_SHAPES[c] else ShapeEq.refl(B_)


@concretely
def spec_cast(a: int, b: int, c: int, f: int, g: int):
    A, B_, C = CAST_SHAPES[a], CAST_SHAPES[b], CAST_SHAPES[c]
    return (
        _evidence(A, B_),  # impl shape_eq
        _evidence(A, B_),  # spec ShapeEq.check
        _evidence(A, A),  # refl
        _evidence(B_, A),  # symm of evidence A = B
        _evidence(A, C) if A == B_ else _NO_EVIDENCE,  # trans of A = B and B = C
        _evidence(A, B_),  # trans of refl A and refl B: the middle shapes must agree
        outcome(SV.castShape, cast_variable(f, a, g), cast_evidence(b, c)),
    )


@concretely
def impl_cast(a: int, b: int, c: int, f: int, g: int) -> Observed:
    from torchlean_runtime.impl.variable import shape_eq

    A, B_, C = CAST_SHAPES[a], CAST_SHAPES[b], CAST_SHAPES[c]
    variable = from_spec(cast_variable(f, a, g))
    cast = outcome(variable.cast_shape, cast_evidence(b, c))
    got = (
        _evidence_view(outcome(shape_eq, A, B_)),
        _evidence_view(outcome(ShapeEq.check, ofList(A), ofList(B_))),
        _evidence_view(outcome(ShapeEq.refl, ofList(A))),
        _evidence_view(outcome(lambda: shape_eq(A, B_).symm())),
        _evidence_view(outcome(lambda: shape_eq(A, B_).trans(shape_eq(B_, C)))),
        _evidence_view(outcome(lambda: ShapeEq.refl(ofList(A)).trans(ShapeEq.refl(ofList(B_))))),
        ("value", to_spec(cast[1])) if cast[0] == "value" else cast,
    )
    return Observed((a, b, c, f, g), got)


@icontract.require(lambda a, b, c, f, g: in_domain(CAST, a, b, c, f, g), "the bounded domain (domains.py)")
@icontract.ensure(lambda result: refines(result, spec_cast),
                  "shape_eq and ShapeEq.check give evidence exactly for equal shapes (CastEvidenceError otherwise); refl/symm/trans give the evidence the laws say, trans refuses a mismatched middle; to_spec(cast_shape(from_spec v, h)) == castShape v h, CastEvidenceError for evidence about another shape")
def cast_shape(a: int, b: int, c: int, f: int, g: int) -> Observed:
    return impl_cast(*decode(CAST, a, b, c, f, g))


# --- the record operations -------------------------------------------------------------------------


def record_variable(f: int, a: int, g: int, k: int):
    """id 1, name "w", value of shape CAST_SHAPES[a] over FAMILIES[f], a gradient when g, flag k."""
    dims = CAST_SHAPES[a]
    gradient = tensor_of_shape(f, dims, first=10) if g else None
    return SV.Variable(id=1, name="w", value=tensor_of_shape(f, dims), gradient=gradient, requires_grad=bool(k))


def record_partner(f: int, a: int, o: int):
    """The variable_eq partner (same α and shape, as Lean's signature demands)."""
    dims = CAST_SHAPES[a]
    if o == 3:
        return record_variable(f, a, 1, 1)
    other_value = tensor_of_shape(f, dims, first=20)
    return SV.Variable(id=2 if o == 1 else 1, name="b" if o == 2 else "w", value=other_value, gradient=None,
                       requires_grad=False)


@concretely
def spec_records(f: int, a: int, g: int, k: int, i: int, o: int):
    v = record_variable(f, a, g, k)
    dims = CAST_SHAPES[a]
    return (
        SV.cloneVariable(v, i), SV.detachVariable(v), SV.clearGradient(v), typed(SV.checkRequiresGrad(v)),
        tuple(typed(SV.hasShape(v, ofList(s))) for s in CAST_SHAPES[: B.cast_shapes]),
        typed(SV.variableEq(v, record_partner(f, a, o))), SV.getValue(v), SV.getGradient(v),
        SV.setGradient(v, tensor_of_shape(f, dims, first=30)), SV.setValue(v, tensor_of_shape(f, dims, first=40)),
        SV.variableToString(v),
    )


@concretely
def impl_records(f: int, a: int, g: int, k: int, i: int, o: int) -> Observed:
    v = from_spec(record_variable(f, a, g, k))
    dims = CAST_SHAPES[a]
    got = (
        to_spec(v.clone_variable(i)), to_spec(v.detach_variable()), to_spec(v.clear_gradient()), typed(v.check_requires_grad()),
        tuple(typed(v.has_shape(s)) for s in CAST_SHAPES[: B.cast_shapes]),
        typed(v.variable_eq(from_spec(record_partner(f, a, o)))), to_spec(v.get_value()), to_spec(v.get_gradient()),
        to_spec(v.set_gradient(from_spec(tensor_of_shape(f, dims, first=30)))),
        to_spec(v.set_value(from_spec(tensor_of_shape(f, dims, first=40)))),
        v.to_lean_string(),
    )
    return Observed((f, a, g, k, i, o), got)


@icontract.require(lambda f, a, g, k, i, o: in_domain(RECORDS, f, a, g, k, i, o), "the bounded domain (domains.py)")
@icontract.ensure(lambda result: refines(result, spec_records),
                  "clone_variable, detach_variable, clear_gradient, check_requires_grad, has_shape (every shape), variable_eq, get_value, get_gradient, set_gradient, set_value, to_lean_string of from_spec v abstract to cloneVariable, detachVariable, clearGradient, checkRequiresGrad, hasShape, variableEq, getValue, getGradient, setGradient, setValue, variableToString of v")
def records(f: int, a: int, g: int, k: int, i: int, o: int) -> Observed:
    return impl_records(*decode(RECORDS, f, a, g, k, i, o))


# --- registerInContext / getFromContext / registerGradientInContext ----------------------------------

_BRIDGES = (("registerInContext", "register_in_context"), ("getFromContext", "get_from_context"),
            ("registerGradientInContext", "register_gradient_in_context"))


def bridge_inputs(r: int, q: int, u: int, g: int):
    """The context (registry r as variables, OTHER_REGISTRY as gradients, next_id NEXT_ID, Float)
    and a variable named by q with value u (and a gradient of its shape when g)."""
    variables = spec_registry(registry_entries(r, B.valid_entries, B.names, B.valid_values), 0)
    ctx = spec_context(variables, spec_registry(OTHER_REGISTRY, 0), NEXT_ID, 0)
    v = value(0, u)
    gradient = tensor_of_shape(0, toList(v.shape), first=7) if g else None
    return ctx, SV.Variable(id=9, name=query_name(B, q), value=v, gradient=gradient, requires_grad=True)


_PROBE_NAMES = tuple(query_name(B, q) for q in range(B.query_names))
_PROBE_SHAPES = query_shapes(B)


@concretely
def spec_bridge(op: int, r: int, q: int, u: int, g: int):
    ctx, v = bridge_inputs(r, q, u, g)
    out = getattr(SV, _BRIDGES[op][0])(ctx, v)
    return out if op == 1 else (out, probe_spec(out, _PROBE_NAMES, _PROBE_SHAPES))


@concretely
def impl_bridge(op: int, r: int, q: int, u: int, g: int) -> Observed:
    ctx, v = (from_spec(x) for x in bridge_inputs(r, q, u, g))
    out = getattr(v, _BRIDGES[op][1])(ctx)
    if op == 1:
        return Observed((op, r, q, u, g), to_spec(out), violations(ctx))
    return Observed((op, r, q, u, g), (to_spec(out), probe_impl(out, _PROBE_NAMES, _PROBE_SHAPES)), violations(ctx, out))


@icontract.require(lambda op, r, q, u, g: in_domain(IN_CONTEXT, op, r, q, u, g), "the bounded domain (domains.py)")
@icontract.ensure(lambda result: refines(result, spec_bridge),
                  "register_in_context / get_from_context / register_gradient_in_context of from_spec v and ctx abstract to registerInContext / getFromContext / registerGradientInContext ctx v; I1/I2 hold")
def in_context(op: int, r: int, q: int, u: int, g: int) -> Observed:
    return impl_bridge(*decode(IN_CONTEXT, op, r, q, u, g))
