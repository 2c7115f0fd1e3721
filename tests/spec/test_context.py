"""spec/runtime/context.py — one or more unit tests per declaration of NN/Runtime/Context.lean
(semantics note §4).  The hand-written Lean-derived cases live in proofs/conformance.py and run
in test_conformance.py; these tests pin the Python-side details of each transcription."""

from __future__ import annotations

from dataclasses import FrozenInstanceError
from fractions import Fraction

import pytest

from torchlean_runtime.errors import ArgumentTypeError, ScalarTypeMismatchError
from torchlean_runtime.spec.core import tensor as T
from torchlean_runtime.spec.core.list import List, nil
from torchlean_runtime.spec.core.scalars import Float, Int, Rat
from torchlean_runtime.spec.core.shape import ofList
from torchlean_runtime.spec.runtime import context as C


def f64(shape, data):
    return T.ofNested(Float, shape, data)


def test_AnyTensor_packs_a_shape_with_a_tensor_of_that_shape() -> None:
    """Lean ``Runtime.AnyTensor``: fields ``s`` and ``t : Tensor α s``."""
    t = f64([2], [1.0, 2.0])
    packed = C.AnyTensor(s=ofList([2]), t=t)
    assert packed.s == t.shape and packed.t is t
    with pytest.raises(ArgumentTypeError):
        C.AnyTensor(s=ofList([3]), t=t)
    with pytest.raises(ArgumentTypeError):
        C.AnyTensor(s=ofList([2]), t=[1.0, 2.0])
    with pytest.raises(FrozenInstanceError):
        packed.s = ofList([3])  # type: ignore[misc]


def test_RuntimeContext_record() -> None:
    """Lean ``Runtime.RuntimeContext``: ``var_registry``, ``gradients`` (Lists), ``next_id : Nat``."""
    ctx = C.RuntimeContext(var_registry=nil, gradients=nil, next_id=3)
    assert (ctx.var_registry, ctx.gradients, ctx.next_id, ctx.alpha) == (nil, nil, 3, None)
    with pytest.raises(FrozenInstanceError):
        ctx.next_id = 4  # type: ignore[misc]
    for bad in ({"var_registry": [], "gradients": nil, "next_id": 0},
                {"var_registry": nil, "gradients": nil, "next_id": -1},
                {"var_registry": nil, "gradients": nil, "next_id": True},
                {"var_registry": nil, "gradients": nil, "next_id": 0, "alpha": "Float"}):
        with pytest.raises(ArgumentTypeError):
            C.RuntimeContext(**bad)


def test_emptyContext() -> None:
    """Lean ``Runtime.emptyContext``: [], [], 0; ``α`` optional until fixed."""
    ctx = C.emptyContext()
    assert ctx.var_registry.isNil and ctx.gradients.isNil and ctx.next_id == 0 and ctx.alpha is None
    assert C.emptyContext(Rat).alpha is Rat


def test_registerVariable_prepends_in_constant_time_and_fixes_alpha() -> None:
    """Lean ``Runtime.registerVariable``: ``(name, ⟨s, value⟩) :: var_registry``, next_id + 1."""
    ctx0 = C.registerVariable(C.emptyContext(), "a", f64([], 1.0))
    ctx1 = C.registerVariable(ctx0, "b", f64([2], [1.0, 2.0]))
    assert ctx1.var_registry.tail is ctx0.var_registry  # shared, not copied
    name, packed = ctx1.var_registry.head
    assert name == "b" and packed.s == ofList([2]) and packed.t == f64([2], [1.0, 2.0])
    assert ctx1.next_id == 2 and ctx1.alpha is Float


def test_getVariable_takes_the_requested_shape_explicitly() -> None:
    """Lean ``Runtime.getVariable`` (implicit ``{s}`` made the last argument)."""
    t = f64([2, 1], [[1.0], [2.0]])
    ctx = C.registerVariable(C.emptyContext(), "m", t)
    assert C.getVariable(ctx, "m", ofList([2, 1])) is t
    assert C.getVariable(ctx, "m", (2, 1)) is t and C.getVariable(ctx, "m", [2, 1]) is t
    assert C.getVariable(ctx, "m", (1, 2)) is None
    assert C.getVariable(ctx, "M", (2, 1)) is None  # names are compared exactly


def test_setVariable_maps_over_the_registry() -> None:
    """Lean ``Runtime.setVariable``: every entry named ``name`` gets ⟨s', value⟩; order kept."""
    ctx = C.emptyContext()
    for name in ("a", "b", "a"):
        ctx = C.registerVariable(ctx, name, f64([], 0.0))
    out = C.setVariable(ctx, "a", f64([1], [7.0]))
    assert [(n, p.s) for n, p in out.var_registry] == [("a", ofList([1])), ("b", ofList([])), ("a", ofList([1]))]
    assert out.next_id == ctx.next_id and out.gradients is ctx.gradients


def test_registerGradient() -> None:
    """Lean ``Runtime.registerGradient``: prepend to gradients, next_id unchanged."""
    ctx = C.registerGradient(C.emptyContext(), "g", f64([], 1.0))
    assert ctx.next_id == 0 and [n for n, _ in ctx.gradients] == ["g"] and ctx.var_registry.isNil


def test_getGradient() -> None:
    """Lean ``Runtime.getGradient``: first gradient named ``name`` at the requested shape."""
    g = f64([1], [1.0])
    ctx = C.registerGradient(C.registerGradient(C.emptyContext(), "g", f64([1], [9.0])), "g", g)
    assert C.getGradient(ctx, "g", [1]) is g
    assert C.getGradient(ctx, "g", []) is None and C.getGradient(ctx, "x", [1]) is None


def test_setGradient() -> None:
    """Lean ``Runtime.setGradient``: map over gradients."""
    ctx = C.registerGradient(C.emptyContext(), "g", f64([], 1.0))
    out = C.setGradient(ctx, "g", f64([2], [1.0, 2.0]))
    assert C.getGradient(out, "g", [2]) == f64([2], [1.0, 2.0]) and out.next_id == 0


def test_clearGradients() -> None:
    """Lean ``Runtime.clearGradients``: gradients := []."""
    ctx = C.registerGradient(C.registerVariable(C.emptyContext(), "x", f64([], 1.0)), "x", f64([], 1.0))
    out = C.clearGradients(ctx)
    assert out.gradients.isNil and out.var_registry is ctx.var_registry and out.next_id == 1 and out.alpha is Float


def test_hasVariable() -> None:
    """Lean ``Runtime.hasVariable``: name presence only."""
    ctx = C.registerVariable(C.emptyContext(), "x", f64([0], []))
    assert C.hasVariable(ctx, "x") and not C.hasVariable(ctx, "x ")
    assert not C.hasVariable(C.registerGradient(C.emptyContext(), "g", f64([], 0.0)), "g")  # gradients don't count


def test_variableNames_and_gradientNames_return_lean_lists() -> None:
    """Lean ``Runtime.variableNames`` / ``Runtime.gradientNames`` : List String."""
    ctx = C.registerVariable(C.registerVariable(C.emptyContext(), "a", f64([], 0.0)), "b", f64([], 0.0))
    ctx = C.registerGradient(ctx, "ga", f64([], 0.0))
    names = C.variableNames(ctx)
    assert isinstance(names, List) and list(names) == ["b", "a"]
    assert list(C.gradientNames(ctx)) == ["ga"] and C.gradientNames(C.emptyContext()) == nil


def test_contextSize_and_gradientCount() -> None:
    """Lean ``Runtime.contextSize`` / ``Runtime.gradientCount``: list lengths."""
    ctx = C.emptyContext()
    for i in range(5):
        ctx = C.registerVariable(ctx, "same", f64([], float(i)))
    ctx = C.registerGradient(ctx, "same", f64([], 0.0))
    assert C.contextSize(ctx) == 5 and C.gradientCount(ctx) == 1
    assert type(C.contextSize(ctx)) is int


def test_isValidContext() -> None:
    """Lean ``Runtime.isValidContext``: all gradient names are variable names."""
    ctx = C.registerVariable(C.emptyContext(), "w", f64([3], [0.0, 0.0, 0.0]))
    assert C.isValidContext(C.registerGradient(ctx, "w", f64([], 0.0)))
    assert not C.isValidContext(C.registerGradient(ctx, "W", f64([3], [0.0, 0.0, 0.0])))


def test_contextToString() -> None:
    """Lean ``Runtime.contextToString``."""
    ctx = C.registerVariable(C.emptyContext(), "n", T.ofNested(Int, [2], [1, -2]))
    ctx = C.registerGradient(ctx, "n", T.ofNested(Int, [2], [0, 0]))
    assert C.contextToString(ctx) == "Context(vars: [n: [1, -2]], grads: [n: [0, 0]])"


def test_one_alpha_per_context() -> None:
    """A Lean ``RuntimeContext α`` has one α: other scalar types are refused by every writer."""
    ctx = C.registerVariable(C.emptyContext(), "x", f64([], 1.0))
    other = T.ofNested(Rat, [], Fraction(1))
    for op in (C.registerVariable, C.setVariable, C.registerGradient, C.setGradient):
        with pytest.raises(ScalarTypeMismatchError):
            op(ctx, "x", other)
    with pytest.raises(ScalarTypeMismatchError):
        C.registerVariable(C.emptyContext(Int), "x", f64([], 1.0))
