"""Bad input: every case Lean's type checker would reject gets the project's typed error (with
its stable code and a message naming what was expected and what was given) — never a crash,
a hang, or a silently wrong value."""

from __future__ import annotations

import time
from fractions import Fraction

import numpy as np
import pytest

from torchlean_runtime import errors as E
from torchlean_runtime.spec.core import tensor as T
from torchlean_runtime.spec.core.scalars import Float, IEEE32Exec, Int, Nat, Rat
from torchlean_runtime.spec.core.shape import Dim, ShapeEq, checkDim, ofList, scalar
from torchlean_runtime.spec.runtime import context as C
from torchlean_runtime.spec.runtime import variable as V


def f64(shape, data):
    return T.ofNested(Float, shape, data)


CTX = C.registerVariable(C.emptyContext(), "x", f64([2], [1.0, 2.0]))
VAR = V.createVariable(0, "x", f64([2], [1.0, 2.0]))

BAD_INPUTS = [
    # -- tensor data that does not match its shape (Spec.Tensor α s) --------------------------
    ("ragged rows", lambda: f64([2, 2], [[1.0, 2.0], [3.0]]), E.TensorDataError),
    ("too many rows", lambda: f64([2], [1.0, 2.0, 3.0]), E.TensorDataError),
    ("too few rows", lambda: f64([3], [1.0, 2.0]), E.TensorDataError),
    ("list where a scalar belongs", lambda: f64([2], [[1.0], [2.0]]), E.TensorDataError),
    ("scalar where a list belongs", lambda: f64([2, 1], [1.0, 2.0]), E.TensorDataError),
    ("scalar shape given a list", lambda: f64([], [1.0]), E.TensorDataError),
    ("a string as rows", lambda: f64([3], "abc"), E.TensorDataError),
    ("empty dims but data", lambda: f64([0], [1.0]), E.TensorDataError),
    # -- non-numeric or wrong-type scalars ------------------------------------------------------
    ("a string element", lambda: f64([2], [1.0, "2"]), E.ScalarTypeError),
    ("None element", lambda: f64([1], [None]), E.ScalarTypeError),
    ("an int in a Float tensor", lambda: f64([1], [1]), E.ScalarTypeError),
    ("a bool in an Int tensor", lambda: T.ofNested(Int, [1], [True]), E.ScalarTypeError),
    ("a negative Nat", lambda: T.ofNested(Nat, [1], [-1]), E.ScalarTypeError),
    ("a complex element", lambda: f64([1], [1j]), E.ScalarTypeError),
    # -- mixing scalar types in one tensor -------------------------------------------------------
    ("binary32 inside a Float tensor", lambda: f64([2], [1.0, np.float32(2.0)]), E.ScalarTypeError),
    ("binary64 inside an IEEE32Exec tensor", lambda: T.ofNested(IEEE32Exec, [2], [np.float32(1.0), 2.0]), E.ScalarTypeError),
    ("a float inside a Rat tensor", lambda: T.ofNested(Rat, [2], [Fraction(1), 0.5]), E.ScalarTypeError),
    ("not a ScalarType", lambda: T.Tensor(ofList([]), "Float", 1.0), E.ScalarTypeError),
    # -- dimensions (Lean Nat) ----------------------------------------------------------------------
    ("negative dim", lambda: ofList([-1]), E.InvalidShapeError),
    ("float dim", lambda: ofList([1.5]), E.InvalidShapeError),
    ("integral float dim", lambda: ofList([2.0]), E.InvalidShapeError),
    ("bool dim", lambda: ofList([True]), E.InvalidShapeError),
    ("string dim", lambda: ofList(["2"]), E.InvalidShapeError),
    ("None dim", lambda: checkDim(None), E.InvalidShapeError),
    ("a string as a shape", lambda: ofList("23"), E.InvalidShapeError),
    ("an int as a shape", lambda: ofList(3), E.InvalidShapeError),
    ("Dim with a non-shape tail", lambda: Dim(2, (3,)), E.InvalidShapeError),
    ("negative dim in ofNested", lambda: f64([-2], []), E.InvalidShapeError),
    ("bad requested shape", lambda: C.getVariable(CTX, "x", [-1]), E.InvalidShapeError),
    ("a dict as a shape", lambda: C.getVariable(CTX, "x", {2: 1}), E.InvalidShapeError),
    # -- one α per context ----------------------------------------------------------------------------
    ("register a Rat into a Float context", lambda: C.registerVariable(CTX, "q", T.ofNested(Rat, [], Fraction(1))), E.ScalarTypeMismatchError),
    ("set a Rat into a Float context", lambda: C.setVariable(CTX, "x", T.ofNested(Rat, [], Fraction(1))), E.ScalarTypeMismatchError),
    ("gradient of another α", lambda: C.registerGradient(CTX, "x", T.ofNested(IEEE32Exec, [], np.float32(1))), E.ScalarTypeMismatchError),
    ("setGradient of another α", lambda: C.setGradient(CTX, "x", T.ofNested(Int, [], 1)), E.ScalarTypeMismatchError),
    ("register Float into an Int-typed empty context", lambda: C.registerVariable(C.emptyContext(Int), "x", f64([], 1.0)), E.ScalarTypeMismatchError),
    ("addSpec across α", lambda: T.addSpec(f64([], 1.0), T.ofNested(Rat, [], Fraction(1))), E.ScalarTypeMismatchError),
    # -- a Variable's shape is fixed by its type ----------------------------------------------------------
    ("setValue with another shape", lambda: V.setValue(VAR, f64([3], [1.0, 2.0, 3.0])), E.ShapeMismatchError),
    ("setValue with a scalar", lambda: V.setValue(VAR, f64([], 1.0)), E.ShapeMismatchError),
    ("setGradient with another shape", lambda: V.setGradient(VAR, f64([2, 1], [[1.0], [2.0]])), E.ShapeMismatchError),
    ("accumulateGradient with another shape", lambda: V.accumulateGradient(VAR, f64([1], [1.0])), E.ShapeMismatchError),
    ("accumulate into a gradient of another shape", lambda: V.accumulateGradient(V.setGradient(VAR, f64([2], [0.0, 0.0])), f64([0], [])), E.ShapeMismatchError),
    ("Variable with a mismatched gradient", lambda: V.Variable(0, "x", f64([2], [1.0, 2.0]), f64([], 1.0), True), E.ShapeMismatchError),
    ("getFromContext with a variable of another α", lambda: V.getFromContext(CTX, V.createVariable(0, "x", T.ofNested(Rat, [2], [Fraction(1), Fraction(2)]))), E.ScalarTypeMismatchError),
    ("registerGradientInContext without gradient, another α", lambda: V.registerGradientInContext(CTX, V.createVariable(0, "x", T.ofNested(Int, [], 1))), E.ScalarTypeMismatchError),
    ("setValue of another α", lambda: V.setValue(VAR, T.ofNested(Rat, [2], [Fraction(1), Fraction(2)])), E.ScalarTypeMismatchError),
    ("addSpec with another shape", lambda: T.addSpec(f64([2], [1.0, 2.0]), f64([1], [1.0])), E.ShapeMismatchError),
    # -- casts without valid evidence -------------------------------------------------------------------
    ("forging ShapeEq directly", lambda: ShapeEq(ofList([2]), ofList([2])), E.CastEvidenceError),
    ("forging ShapeEq for unequal shapes", lambda: ShapeEq(ofList([2]), ofList([3])), E.CastEvidenceError),
    ("check of unequal shapes", lambda: ShapeEq.check(ofList([2]), ofList([2, 1])), E.CastEvidenceError),
    ("castShape with a bool", lambda: V.castShape(VAR, True), E.CastEvidenceError),
    ("castShape with a tuple of shapes", lambda: V.castShape(VAR, (ofList([2]), ofList([2]))), E.CastEvidenceError),
    ("castShape with evidence about another shape", lambda: V.castShape(VAR, ShapeEq.refl(scalar)), E.CastEvidenceError),
    ("Tensor.castShape with None", lambda: T.castShape(f64([], 1.0), None), E.CastEvidenceError),
    # -- names are Lean Strings -------------------------------------------------------------------------
    ("registerVariable with an int name", lambda: C.registerVariable(CTX, 1, f64([], 1.0)), E.NameTypeError),
    ("registerVariable with bytes", lambda: C.registerVariable(CTX, b"x", f64([], 1.0)), E.NameTypeError),
    ("getVariable with None", lambda: C.getVariable(CTX, None, []), E.NameTypeError),
    ("setVariable with a list", lambda: C.setVariable(CTX, ["x"], f64([], 1.0)), E.NameTypeError),
    ("registerGradient with a float", lambda: C.registerGradient(CTX, 1.0, f64([], 1.0)), E.NameTypeError),
    ("getGradient with an int", lambda: C.getGradient(CTX, 0, []), E.NameTypeError),
    ("setGradient with an int", lambda: C.setGradient(CTX, 0, f64([], 1.0)), E.NameTypeError),
    ("hasVariable with an int", lambda: C.hasVariable(CTX, 0), E.NameTypeError),
    ("createVariable with an int name", lambda: V.createVariable(0, 5, f64([], 1.0)), E.NameTypeError),
    ("error with a non-string message", lambda: V.error(CTX, 3), E.NameTypeError),
    # -- other arguments of the wrong type --------------------------------------------------------------
    ("registerVariable with a list value", lambda: C.registerVariable(CTX, "y", [1.0]), E.ArgumentTypeError),
    ("registerVariable with a numpy array", lambda: C.registerVariable(CTX, "y", np.zeros(2)), E.ArgumentTypeError),
    ("registerVariable on a dict", lambda: C.registerVariable({}, "y", f64([], 1.0)), E.ArgumentTypeError),
    ("contextToString of None", lambda: C.contextToString(None), E.ArgumentTypeError),
    ("contextSize of a list", lambda: C.contextSize([]), E.ArgumentTypeError),
    ("negative id", lambda: V.createVariable(-1, "x", f64([], 1.0)), E.ArgumentTypeError),
    ("bool id", lambda: V.createVariable(True, "x", f64([], 1.0)), E.ArgumentTypeError),
    ("float id", lambda: V.createVariable(1.0, "x", f64([], 1.0)), E.ArgumentTypeError),
    ("non-bool requires_grad", lambda: V.createVariable(0, "x", f64([], 1.0), requires_grad=1), E.ArgumentTypeError),
    ("a list as a Variable value", lambda: V.createVariable(0, "x", [1.0]), E.ArgumentTypeError),
    ("cloneVariable to a bool id", lambda: V.cloneVariable(VAR, False), E.ArgumentTypeError),
    ("registerInContext of a tensor", lambda: V.registerInContext(CTX, f64([], 1.0)), E.ArgumentTypeError),
    ("getFromContext on None", lambda: V.getFromContext(None, VAR), E.ArgumentTypeError),
    ("sumSpec of a list", lambda: T.sumSpec([1.0]), E.ArgumentTypeError),
    # -- no Context instance for Nat/Int ------------------------------------------------------------------
    ("variableNorm over Int", lambda: V.variableNorm(V.createVariable(0, "n", T.ofNested(Int, [1], [3]))), E.NoContextInstanceError),
    ("accumulateGradient over Int", lambda: V.accumulateGradient(V.createVariable(0, "n", T.ofNested(Int, [], 1)), T.ofNested(Int, [], 1)), E.NoContextInstanceError),
    # -- resource cap -------------------------------------------------------------------------------------
    ("zeros above the element cap", lambda: T.zeros(Float, [10**6, 10**6]), E.TensorTooLargeError),
    ("ofNested above the element cap", lambda: f64([10**6, 10**6], [[]]), E.TensorTooLargeError),
]


@pytest.mark.parametrize("program, error", [(p, e) for _, p, e in BAD_INPUTS], ids=[n for n, _, _ in BAD_INPUTS])
def test_bad_input_raises_its_typed_error(program, error) -> None:
    with pytest.raises(E.TorchLeanError) as info:
        program()
    exc = info.value
    assert type(exc) is error, f"{type(exc).__name__}: {exc}"
    assert exc.code == error.code and str(exc).startswith(f"[{error.code}] ")
    assert E.error_class_for_code(exc.code) is error
    assert len(exc.message) > 20  # a sentence for people, not just the code


def test_messages_name_expected_and_given() -> None:
    with pytest.raises(E.TensorDataError) as info:
        f64([2, 2], [[1.0, 2.0], [3.0]])
    assert "length 2" in info.value.message and "length 1" in info.value.message and "data[1]" in info.value.message
    with pytest.raises(E.ShapeMismatchError) as info:
        V.setValue(VAR, f64([3], [1.0, 2.0, 3.0]))
    assert "[2]" in info.value.message and "[3]" in info.value.message
    with pytest.raises(E.NameTypeError) as info:
        C.registerVariable(CTX, 7, f64([], 1.0))
    assert "str" in info.value.message and "int" in info.value.message
    with pytest.raises(E.ScalarTypeMismatchError) as info:
        C.registerVariable(CTX, "q", T.ofNested(Rat, [], Fraction(1)))
    assert "Float" in info.value.message and "Rat" in info.value.message


def test_errors_also_derive_from_builtin_exceptions() -> None:
    with pytest.raises(ValueError):
        f64([2], [1.0])
    with pytest.raises(TypeError):
        C.registerVariable(CTX, 1, f64([], 1.0))


def test_element_cap_refuses_huge_shapes_fast() -> None:
    """[10**6, 10**6] would be 10^12 Python objects; the refusal must come before any allocation."""
    start = time.perf_counter()
    for _ in range(100):
        with pytest.raises(E.TensorTooLargeError):
            T.zeros(Float, [10**6, 10**6])
        with pytest.raises(E.TensorTooLargeError):
            T.ofNested(Float, [10**6, 10**6], [])
    assert time.perf_counter() - start < 1.0


def test_failed_calls_leave_inputs_untouched() -> None:
    before = C.contextToString(CTX), CTX.next_id, V.variableToString(VAR)
    for _, program, _ in BAD_INPUTS:
        with pytest.raises(E.TorchLeanError):
            program()
    assert (C.contextToString(CTX), CTX.next_id, V.variableToString(VAR)) == before


class _BadRepr:
    """An argument of no accepted type whose ``__repr__`` and ``__str__`` raise."""

    def __repr__(self):
        raise RuntimeError("a hostile __repr__")

    __str__ = __repr__


def test_no_spec_function_lets_a_hostile_repr_escape_its_typed_error() -> None:
    """Each argument of every public function of spec.runtime.context / .variable, given an object
    of no accepted type whose ``__repr__`` raises: the project's typed error (TorchLeanError,
    TLR_ code), never the RuntimeError of the message being built."""
    import inspect

    t = T.ofNested(Float, [1], [0.0])
    ctx = C.registerVariable(C.emptyContext(), "w", t)
    v = V.createVariable(0, "w", t)
    one = ofList([1])
    valid = {"ctx": ctx, "name": "w", "value": t, "grad": t, "new_value": t, "s": one, "shape": one,
             "expected_shape": one, "id": 0, "new_id": 1, "requires_grad": True, "v": v, "v1": v, "v2": v,
             "other": v, "alpha": None, "msg": "m", "h": ShapeEq.check(one, one)}
    seen = 0
    for module in (C, V):
        for fname in module.__all__:
            fn = getattr(module, fname)
            if not inspect.isfunction(fn):
                continue
            params = list(inspect.signature(fn).parameters)
            assert all(p in valid for p in params), (fname, params)  # a new parameter name: add it above
            for i in range(len(params)):
                args = [valid[p] for p in params]
                args[i] = _BadRepr()
                try:
                    fn(*args)
                except E.TorchLeanError as exc:
                    assert exc.code.startswith("TLR_"), (fname, i, exc.code)
                except Exception as exc:  # noqa: BLE001 - the defect this test looks for
                    pytest.fail(f"{fname} argument {i}: {type(exc).__name__}: {exc}")
                seen += 1
    assert seen >= 30


def test_an_object_claiming_to_be_a_str_is_no_lean_string() -> None:
    """A name's type is read from the object itself, never from a ``__class__`` it may fake:
    such an object is not a Lean ``String`` (TLR_NAME_TYPE from the check, False from the
    predicate — which never raises), in the spec and in the impl's boundary alike."""
    import numpy as _np

    from torchlean_runtime.impl import RuntimeContext
    from torchlean_runtime.impl.arrays import is_name
    from torchlean_runtime.spec.core.string import asLeanString, checkLeanString, isLeanString

    class Liar:
        @property
        def __class__(self):
            return str

    liar = Liar()
    assert isinstance(liar, str)  # what the old check believed
    assert asLeanString(liar) is None and isLeanString(liar) is False and is_name(liar) is False
    for call in (lambda: checkLeanString(liar, "t"), lambda: RuntimeContext.empty().register_variable(liar, _np.zeros(1))):
        with pytest.raises(E.NameTypeError) as caught:
            call()
        assert caught.value.code == "TLR_NAME_TYPE"
