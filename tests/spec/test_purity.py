"""Purity: every spec operation returns a new value and leaves its inputs unchanged (Lean values
are immutable).  Inputs are frozen to plain data (names, shapes, element bit patterns) before
each call and compared after, so an in-place change anywhere inside would be seen."""

from __future__ import annotations

from dataclasses import FrozenInstanceError
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from torchlean_runtime.errors import TorchLeanError
from torchlean_runtime.spec.core import tensor as T
from torchlean_runtime.spec.core.list import List
from torchlean_runtime.spec.core.scalars import Float
from torchlean_runtime.spec.core.shape import ShapeEq, ofList, toList
from torchlean_runtime.spec.runtime import context as C
from torchlean_runtime.spec.runtime import variable as V


def freeze(x: Any) -> Any:
    """Plain, deeply copied data describing a spec value."""
    if isinstance(x, T.Tensor):
        return ("Tensor", toList(x.shape), x.alpha.name, tuple(x.alpha.identity(e) for e in T.elements(x)))
    if isinstance(x, C.RuntimeContext):
        entries = lambda lst: tuple((n, toList(a.s), freeze(a.t)) for n, a in lst)  # noqa: E731
        return ("Context", entries(x.var_registry), entries(x.gradients), x.next_id, x.alpha and x.alpha.name)
    if isinstance(x, V.Variable):
        return ("Variable", x.id, x.name, freeze(x.value), None if x.gradient is None else freeze(x.gradient), x.requires_grad)
    raise TypeError(type(x))


NAMES = st.sampled_from(["a", "b", "c"])
SHAPES = st.sampled_from([(), (1,), (2,), (2, 0)])
VALUES = st.sampled_from([0.0, -0.0, 1.5, float("inf"), float("nan")])


@st.composite
def tensors(draw, shape=None) -> T.Tensor:
    dims = draw(SHAPES) if shape is None else shape
    if dims == ():
        nested: Any = draw(VALUES)
    elif dims == (2, 0):
        nested = [[], []]
    else:
        nested = [draw(VALUES) for _ in range(dims[0])]
    return T.ofNested(Float, dims, nested)


@st.composite
def contexts(draw) -> C.RuntimeContext:
    ctx = C.emptyContext()
    for kind, name, t in draw(st.lists(st.tuples(st.booleans(), NAMES, tensors()), max_size=5)):
        ctx = (C.registerVariable if kind else C.registerGradient)(ctx, name, t)
    return ctx


@st.composite
def variables(draw) -> V.Variable:
    value = draw(tensors())
    v = V.createVariable(draw(st.integers(0, 3)), draw(NAMES), value, requires_grad=draw(st.booleans()))
    if draw(st.booleans()):
        v = V.setGradient(v, draw(tensors(shape=toList(value.shape))))
    return v


CONTEXT_OPS = [
    lambda ctx, n, t, v: C.registerVariable(ctx, n, t),
    lambda ctx, n, t, v: C.getVariable(ctx, n, t.shape),
    lambda ctx, n, t, v: C.setVariable(ctx, n, t),
    lambda ctx, n, t, v: C.registerGradient(ctx, n, t),
    lambda ctx, n, t, v: C.getGradient(ctx, n, t.shape),
    lambda ctx, n, t, v: C.setGradient(ctx, n, t),
    lambda ctx, n, t, v: C.clearGradients(ctx),
    lambda ctx, n, t, v: C.hasVariable(ctx, n),
    lambda ctx, n, t, v: C.variableNames(ctx),
    lambda ctx, n, t, v: C.gradientNames(ctx),
    lambda ctx, n, t, v: C.contextSize(ctx),
    lambda ctx, n, t, v: C.gradientCount(ctx),
    lambda ctx, n, t, v: C.isValidContext(ctx),
    lambda ctx, n, t, v: C.contextToString(ctx),
    lambda ctx, n, t, v: V.registerInContext(ctx, v),
    lambda ctx, n, t, v: V.getFromContext(ctx, v),
    lambda ctx, n, t, v: V.registerGradientInContext(ctx, v),
    lambda ctx, n, t, v: V.error(ctx, n, alpha=Float),
]

VARIABLE_OPS = [
    lambda v, t: V.getValue(v),
    lambda v, t: V.setValue(v, t),
    lambda v, t: V.getGradient(v),
    lambda v, t: V.setGradient(v, t),
    lambda v, t: V.clearGradient(v),
    lambda v, t: V.checkRequiresGrad(v),
    lambda v, t: V.accumulateGradient(v, t),
    lambda v, t: V.variableToString(v),
    lambda v, t: V.variableEq(v, V.createVariable(0, "a", t)),
    lambda v, t: V.hasShape(v, t.shape),
    lambda v, t: V.variableNorm(v),
    lambda v, t: V.cloneVariable(v, 7),
    lambda v, t: V.detachVariable(v),
    lambda v, t: V.castShape(v, ShapeEq.refl(v.s)),
]


@settings(max_examples=60, deadline=None)
@given(contexts(), NAMES, tensors(), variables())
def test_context_operations_leave_inputs_unchanged(ctx, name, t, v) -> None:
    before = [freeze(x) for x in (ctx, t, v)]
    for op in CONTEXT_OPS:
        op(ctx, name, t, v)
        assert [freeze(x) for x in (ctx, t, v)] == before


@settings(max_examples=60, deadline=None)
@given(variables(), st.data())
def test_variable_operations_leave_inputs_unchanged(v, data) -> None:
    t = data.draw(tensors(shape=toList(v.s)))
    before = [freeze(v), freeze(t)]
    for op in VARIABLE_OPS:
        op(v, t)
        assert [freeze(v), freeze(t)] == before


@settings(max_examples=30, deadline=None)
@given(contexts(), variables(), tensors())
def test_failing_operations_leave_inputs_unchanged(ctx, v, t) -> None:
    """Calls that raise (wrong shape, missing evidence) change nothing either."""
    before = [freeze(x) for x in (ctx, v, t)]
    for call in (lambda: V.setValue(v, T.zeros(Float, [3, 3])), lambda: V.castShape(v, ShapeEq.refl(ofList([9]))),
                 lambda: C.registerVariable(ctx, 1, t), lambda: V.accumulateGradient(v, T.zeros(Float, [3, 3]))):
        with pytest.raises(TorchLeanError):
            call()
    assert [freeze(x) for x in (ctx, v, t)] == before


def test_spec_values_cannot_be_assigned() -> None:
    ctx = C.registerVariable(C.emptyContext(), "a", T.scalar(Float, 1.0))
    v = V.createVariable(0, "a", T.scalar(Float, 1.0))
    for obj, field in ((ctx, "next_id"), (ctx, "var_registry"), (ctx.var_registry.head[1], "t"), (v, "gradient"),
                       (v, "value"), (v.value, "data")):
        with pytest.raises(FrozenInstanceError):
            setattr(obj, field, None)
    with pytest.raises(AttributeError):
        ctx.var_registry.head = None
    assert isinstance(ctx.var_registry, List) and isinstance(v.value.data, float)
