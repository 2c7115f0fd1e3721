"""torchlean_runtime/conformance/vectors/execute.py — the session loop and the spec/impl adapters."""

from __future__ import annotations

import numpy as np
import pytest

from torchlean_runtime.errors import ShapeMismatchError
from torchlean_runtime.conformance.vectors.bits import ScalarBits, TensorBits
from torchlean_runtime.conformance.vectors.execute import (
    Crash,
    ImplAdapter,
    ImplUnavailable,
    ObservedError,
    Session,
    SpecAdapter,
    fill_expectations,
    matches,
)
from torchlean_runtime.conformance.vectors.format import OPS, ContextState, ExpectedError, Result, Step, Trace, VariableState


def T(values, dtype=np.float64):
    return TensorBits.from_array(np.array(values, dtype=dtype))


PROGRAM = (
    Step("Runtime.emptyContext", {}, "c0"),
    Step("Runtime.registerVariable", {"ctx": "c0", "name": "w", "value": T([3.0, 4.0])}, "c1"),
    Step("Runtime.registerGradient", {"ctx": "c1", "name": "w", "grad": T([1.0, 1.0])}, "c2"),
    Step("Runtime.Variable.createVariable", {"id": 5, "name": "w", "value": T([3.0, 4.0])}, "v0"),
    Step("Runtime.Variable.variableNorm", {"v": "v0"}),
    Step("Runtime.Variable.setValue", {"v": "v0", "new_value": T([1.0])}),
    Step("Runtime.Variable.castShape", {"v": "v0", "s2": (2,)}, "v1"),
    Step("Runtime.Variable.error", {"ctx": "c2", "msg": "oops"}, "v2"),
)


def test_spec_session_observes_lean_results():
    session = Session(SpecAdapter("Float"))
    obs = [session.execute(s) for s in PROGRAM]
    # registerGradient keeps next_id (Runtime.registerGradient) — 1 after one registerVariable
    assert obs[2] == Result("context", ContextState((("w", T([3.0, 4.0])),), (("w", T([1.0, 1.0])),), 1))
    # variableNorm [3, 4] = sqrt(0 + 9 + 16) = 5.0 exactly (Runtime.Variable.variableNorm)
    assert obs[4] == Result("scalar", ScalarBits.from_value(5.0))
    # setValue with another shape does not type-check in Lean
    assert isinstance(obs[5], ObservedError) and obs[5].code == ShapeMismatchError.code
    assert obs[6] == Result("variable", VariableState(5, "w", T([3.0, 4.0]), None, True))
    # error takes id = next_id = 1, scalar +0.0, requires_grad false (Runtime.Variable.error)
    assert obs[7] == Result("variable", VariableState(1, "oops", T(0.0), None, False))
    assert set(session.env) == {"c0", "c1", "c2", "v0", "v1", "v2"}


def test_unbound_handle_and_foreign_exceptions_are_crashes():
    session = Session(SpecAdapter("Float"))
    obs = session.execute(Step("Runtime.contextSize", {"ctx": "nowhere"}))
    assert isinstance(obs, Crash) and obs.exception == "LookupError"

    class Exploding(SpecAdapter):
        def call(self, op, args):
            raise ZeroDivisionError("boom")

    obs = Session(Exploding("Float")).execute(Step("Runtime.emptyContext", {}, "c0"))
    assert obs == Crash("ZeroDivisionError", "boom")
    assert not matches(Result("context", ContextState((), (), 0)), obs)


def test_unobservable_results_are_crashes():
    class Liar(SpecAdapter):
        def call(self, op, args):
            return 3 if op == "Runtime.hasVariable" else super().call(op, args)

    session = Session(Liar("Float"))
    session.execute(Step("Runtime.emptyContext", {}, "c0"))
    obs = session.execute(Step("Runtime.hasVariable", {"ctx": "c0", "name": "w"}))
    assert isinstance(obs, Crash) and "unobservable bool" in obs.message


def test_matches_is_exact():
    nan_a = TensorBits((1,), "float64", (0x7FF8000000000123,))
    nan_b = TensorBits((1,), "float64", (0x7FF8000000000124,))
    assert matches(Result("tensor", nan_a), Result("tensor", nan_a))
    assert not matches(Result("tensor", nan_a), Result("tensor", nan_b))
    assert not matches(Result("tensor", T([0.0])), Result("tensor", T([-0.0])))
    assert not matches(Result("nat", 1), Result("bool", True))
    assert matches(ExpectedError("TLR_SHAPE_MISMATCH"), ObservedError("TLR_SHAPE_MISMATCH", "x"))
    assert not matches(ExpectedError("TLR_SHAPE_MISMATCH"), ObservedError("TLR_CONTRACT", "x"))
    assert not matches(ExpectedError("TLR_SHAPE_MISMATCH"), Result("bool", True))


def test_fill_expectations_uses_the_spec_and_drops_binds_of_failing_steps():
    filled = fill_expectations(Trace("Float", PROGRAM))
    assert filled.steps[5].expect == ExpectedError("TLR_SHAPE_MISMATCH")
    session = Session(SpecAdapter("Float"))
    assert [session.execute(s) for s in PROGRAM][4] == filled.steps[4].expect
    failing_bind = Trace("Float", PROGRAM[:4] + (Step("Runtime.Variable.setValue", {"v": "v0", "new_value": T([1.0])}, "v9"),))
    assert fill_expectations(failing_bind).steps[-1].bind is None


def test_every_operation_has_a_spec_and_an_impl_entry():
    from torchlean_runtime.conformance.vectors import execute

    assert set(execute._spec_calls()) == set(OPS)
    try:
        impl = execute._load_impl()
    except ImplUnavailable as exc:
        pytest.skip(f"impl adapter not testable: {exc}")
    assert set(execute._impl_calls(impl)) == set(OPS)


def test_impl_session_agrees_on_the_program():
    try:
        adapter = ImplAdapter("Float")
    except ImplUnavailable as exc:
        pytest.skip(f"impl adapter not testable: {exc}")
    spec, impl = Session(SpecAdapter("Float")), Session(adapter)
    for step in PROGRAM:
        expected, actual = spec.execute(step), impl.execute(step)
        if isinstance(expected, ObservedError):  # messages may differ, codes may not
            assert isinstance(actual, ObservedError) and actual.code == expected.code
        else:
            assert actual == expected
