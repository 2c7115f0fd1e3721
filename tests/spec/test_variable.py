"""spec/runtime/variable.py — one or more unit tests per declaration of NN/Runtime/Variable.lean
(semantics note §5).  The hand-written Lean-derived cases live in proofs/conformance.py and run
in test_conformance.py; these tests pin the Python-side details of each transcription."""

from __future__ import annotations

import math
from dataclasses import FrozenInstanceError
from fractions import Fraction

import numpy as np
import pytest

from torchlean_runtime.errors import (
    InvalidShapeError,
    ArgumentTypeError,
    CastEvidenceError,
    NoContextInstanceError,
    ScalarTypeMismatchError,
    ShapeMismatchError,
)
from torchlean_runtime.spec.core import tensor as T
from torchlean_runtime.spec.core.scalars import Float, IEEE32Exec, Int, Rat
from torchlean_runtime.spec.core.shape import ShapeEq, ofList
from torchlean_runtime.spec.runtime import context as C
from torchlean_runtime.spec.runtime import variable as V


def f64(shape, data):
    return T.ofNested(Float, shape, data)


def test_Variable_record_fixes_alpha_and_shape() -> None:
    """Lean ``Runtime.Variable α s``: id, name, value, gradient : Option (Tensor α s), requires_grad."""
    v = V.Variable(id=1, name="w", value=f64([2], [1.0, 2.0]), gradient=f64([2], [0.0, 0.0]), requires_grad=True)
    assert v.s == ofList([2]) and v.alpha is Float
    with pytest.raises(FrozenInstanceError):
        v.id = 2  # type: ignore[misc]
    with pytest.raises(ShapeMismatchError):
        V.Variable(1, "w", f64([2], [1.0, 2.0]), f64([1], [0.0]), True)
    with pytest.raises(ScalarTypeMismatchError):
        V.Variable(1, "w", f64([1], [1.0]), T.ofNested(Rat, [1], [Fraction(0)]), True)


def test_createVariable() -> None:
    """Lean ``Runtime.Variable.createVariable`` (requires_grad := true by default)."""
    v = V.createVariable(7, "layer1.weight", f64([], 0.5))
    assert (v.id, v.name, v.gradient, v.requires_grad) == (7, "layer1.weight", None, True)


def test_getValue() -> None:
    """Lean ``Runtime.Variable.getValue``."""
    t = f64([1], [1.0])
    assert V.getValue(V.createVariable(0, "v", t)) is t


def test_setValue() -> None:
    """Lean ``Runtime.Variable.setValue``: same α and s only."""
    v = V.createVariable(0, "v", f64([1], [1.0]))
    assert V.setValue(v, f64([1], [2.0])).value == f64([1], [2.0])
    with pytest.raises(ScalarTypeMismatchError):
        V.setValue(v, T.ofNested(IEEE32Exec, [1], [np.float32(2.0)]))


def test_getGradient_and_setGradient() -> None:
    """Lean ``Runtime.Variable.getGradient`` / ``Runtime.Variable.setGradient`` (overwrites)."""
    v = V.createVariable(0, "v", f64([1], [1.0]))
    assert V.getGradient(v) is None
    g1, g2 = f64([1], [0.5]), f64([1], [0.25])
    assert V.getGradient(V.setGradient(V.setGradient(v, g1), g2)) is g2
    with pytest.raises(ShapeMismatchError):
        V.setGradient(v, f64([], 0.5))


def test_clearGradient() -> None:
    """Lean ``Runtime.Variable.clearGradient``."""
    v = V.setGradient(V.createVariable(0, "v", f64([1], [1.0])), f64([1], [0.5]))
    assert V.clearGradient(v).gradient is None and V.clearGradient(V.clearGradient(v)).gradient is None


def test_checkRequiresGrad() -> None:
    """Lean ``Runtime.Variable.checkRequiresGrad``."""
    assert V.checkRequiresGrad(V.createVariable(0, "v", f64([], 1.0))) is True
    assert V.checkRequiresGrad(V.createVariable(0, "v", f64([], 1.0), requires_grad=False)) is False


def test_accumulateGradient() -> None:
    """Lean ``Runtime.Variable.accumulateGradient``: needs Context α; existing + grad."""
    v = V.createVariable(0, "v", f64([2], [1.0, 1.0]))
    v = V.accumulateGradient(V.accumulateGradient(v, f64([2], [1.0, 2.0])), f64([2], [10.0, 20.0]))
    assert v.gradient == f64([2], [11.0, 22.0])
    with pytest.raises(NoContextInstanceError) as info:
        V.accumulateGradient(V.createVariable(0, "n", T.ofNested(Int, [1], [1])), T.ofNested(Int, [1], [1]))
    assert info.value.code == "TLR_NO_CONTEXT_INSTANCE" and "Int" in str(info.value)


def test_variableToString() -> None:
    """Lean ``Runtime.Variable.variableToString``."""
    v = V.setGradient(V.createVariable(12, "b", f64([1], [0.5])), f64([1], [-1.0]))
    assert V.variableToString(v) == "Variable(b, id=12, value=[0.500000], grad=[-1.000000], requires_grad=true)"


def test_variableEq() -> None:
    """Lean ``Runtime.Variable.variableEq``: ids and names."""
    a = V.createVariable(1, "x", f64([], 1.0))
    assert V.variableEq(a, V.detachVariable(V.setValue(a, f64([], 2.0)))) is True
    assert V.variableEq(a, V.cloneVariable(a, 2)) is False
    with pytest.raises(ScalarTypeMismatchError):
        V.variableEq(a, V.createVariable(1, "x", T.ofNested(Rat, [], Fraction(1))))


def test_hasShape() -> None:
    """Lean ``Runtime.Variable.hasShape``: ``Shape.areEqual s expected_shape``."""
    v = V.createVariable(0, "v", f64([2, 0], [[], []]))
    assert V.hasShape(v, ofList([2, 0])) and not V.hasShape(v, ofList([2]))
    # a list of dimensions names the Shape Shape.ofList gives (as getVariable's shape argument)
    assert V.hasShape(v, (2, 0)) and V.hasShape(v, [2, 0]) and not V.hasShape(v, [0, 2])
    with pytest.raises(InvalidShapeError):
        V.hasShape(v, "20")


def test_variableNorm() -> None:
    """Lean ``Runtime.Variable.variableNorm``: sqrt (sumSpec (mulSpec value value))."""
    assert V.variableNorm(V.createVariable(0, "v", f64([2, 2], [[1.0, 2.0], [2.0, 4.0]]))) == 5.0
    r = V.variableNorm(V.createVariable(0, "v", f64([2], [1.0, 1.0])))
    assert r == math.sqrt(2.0) and type(r) is float
    assert type(V.variableNorm(V.createVariable(0, "v", T.ofNested(IEEE32Exec, [1], [np.float32(3.0)])))) is np.float32


def test_cloneVariable() -> None:
    """Lean ``Runtime.Variable.cloneVariable``."""
    v = V.setGradient(V.createVariable(1, "v", f64([], 1.0)), f64([], 2.0))
    c = V.cloneVariable(v, 2)
    assert (c.id, c.name, c.value, c.gradient, c.requires_grad) == (2, "v", v.value, None, True)
    with pytest.raises(ArgumentTypeError):
        V.cloneVariable(v, -1)


def test_detachVariable() -> None:
    """Lean ``Runtime.Variable.detachVariable``."""
    v = V.setGradient(V.createVariable(1, "v", f64([], 1.0)), f64([], 2.0))
    d = V.detachVariable(v)
    assert (d.id, d.name, d.value, d.gradient, d.requires_grad) == (1, "v", v.value, None, False)


def test_registerInContext() -> None:
    """Lean ``Runtime.Variable.registerInContext`` = registerVariable ctx v.name v.value."""
    v = V.createVariable(40, "w", f64([1], [3.0]))
    ctx = V.registerInContext(C.emptyContext(), v)
    assert ctx.next_id == 1 and list(C.variableNames(ctx)) == ["w"]
    assert C.getVariable(ctx, "w", [1]) is v.value


def test_getFromContext() -> None:
    """Lean ``Runtime.Variable.getFromContext`` = getVariable ctx v.name at v's shape."""
    v = V.createVariable(0, "w", f64([1], [3.0]))
    ctx = V.registerInContext(C.emptyContext(), v)
    assert V.getFromContext(ctx, v) is v.value
    assert V.getFromContext(ctx, V.createVariable(0, "w", f64([], 3.0))) is None


def test_registerGradientInContext() -> None:
    """Lean ``Runtime.Variable.registerGradientInContext``."""
    ctx = C.emptyContext()
    v = V.createVariable(0, "w", f64([1], [3.0]))
    assert V.registerGradientInContext(ctx, v) is ctx  # `none => ctx`: the very same value
    out = V.registerGradientInContext(ctx, V.setGradient(v, f64([1], [1.0])))
    assert C.getGradient(out, "w", [1]) == f64([1], [1.0]) and out.next_id == 0
    with pytest.raises(ArgumentTypeError):
        V.registerGradientInContext("ctx", v)


def test_error() -> None:
    """Lean ``Runtime.Variable.error``: id = ctx.next_id, name = msg, value 0, no gradient, not trainable."""
    ctx = C.registerVariable(C.emptyContext(), "a", f64([], 1.0))
    e = V.error(ctx, "bad input")
    assert (e.id, e.name, e.value, e.gradient, e.requires_grad) == (1, "bad input", f64([], 0.0), None, False)
    assert V.error(ctx, "x", alpha=Float).id == 1
    with pytest.raises(ScalarTypeMismatchError):
        V.error(ctx, "x", alpha=Rat)
    with pytest.raises(ArgumentTypeError):
        V.error(C.emptyContext(), "x")  # α not fixed yet and not given
    with pytest.raises(ArgumentTypeError):
        V.error(ctx, "x", alpha="Float")


def test_castShape() -> None:
    """Lean ``Runtime.Variable.castShape``: transport along h : s₁ = s₂."""
    v = V.createVariable(0, "v", f64([2], [1.0, 2.0]))
    assert V.castShape(v, ShapeEq.check(ofList([2]), ofList([2]))) == v
    assert V.castShape(v, ShapeEq.refl(v.s)).gradient is None
    with pytest.raises(CastEvidenceError):
        V.castShape(v, ShapeEq.refl(ofList([1])))
    with pytest.raises(CastEvidenceError):
        V.castShape(v, None)


def test_every_operation_checks_its_variable_argument() -> None:
    for op, args in ((V.getValue, ()), (V.getGradient, ()), (V.clearGradient, ()), (V.checkRequiresGrad, ()),
                     (V.variableToString, ()), (V.variableNorm, ()), (V.detachVariable, ()),
                     (V.cloneVariable, (1,)), (V.setValue, (f64([], 1.0),)), (V.hasShape, (ofList([]),)),
                     (V.castShape, (ShapeEq.refl(ofList([])),))):
        with pytest.raises(ArgumentTypeError):
            op("not a variable", *args)
