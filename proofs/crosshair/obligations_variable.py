"""CrossHair refinement obligations for the impl's ``Variable`` bookkeeping that needs no numpy
arithmetic: ``Variable.error`` (a record built from a context) and ``cast_shape`` with its
``ShapeEq`` evidence.  Same scheme as :mod:`.obligations_registry`: small-int parameters bounded
by preconditions (profile :data:`B`), decoded to concrete spec values, one postcondition.
"""

from __future__ import annotations

import icontract
import numpy as np

from torchlean_runtime.errors import CastEvidenceError
from torchlean_runtime.spec.core.list import nil
from torchlean_runtime.spec.core.scalars import Float, IEEE32Exec, Int
from torchlean_runtime.spec.core.shape import ShapeEq, ofList, toList
from torchlean_runtime.spec.runtime import variable as SV

from .common import Observed, from_spec, outcome, refines, to_spec, warm_up
from .domains import ERROR_DTYPE_NAMES, decode, domain, in_domain
from .encoding import (
    CAST_SHAPES,
    OTHER_REGISTRY,
    active_bounds,
    concretely,
    query_name,
    spec_context,
    spec_registry,
    tensor_of_shape,
)

#: The bound profile of this process (from the environment, read once at import).
B = active_bounds()
ERROR, CAST = domain("error", B), domain("cast_shape", B)

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
