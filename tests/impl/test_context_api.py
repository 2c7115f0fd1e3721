"""Reading a context (issue 12): entries in Lean list order, the visible entries as a dict,
structural equality, shapes as any sequence, and the array ↔ spec-tensor conversions.

Expected values come from the Lean definitions named beside each test (NN/Runtime/Context.lean):
``registerVariable`` prepends, ``setVariable`` maps over EVERY entry with the name,
``getVariable`` is ``find?`` (the newest entry), and the structure's equality is the derived one
(the spec's dataclass equality, bitwise on tensors)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from torchlean_runtime.errors import TorchLeanError
from torchlean_runtime.impl import RuntimeContext, tensor_from_spec, tensor_to_spec, to_spec
from torchlean_runtime.spec.core.scalars import Float, IEEE32Exec, Int, Rat
from torchlean_runtime.spec.core.shape import ofList
from torchlean_runtime.spec.core.tensor import Tensor, ofNested


def bits(a: np.ndarray) -> tuple:
    return (a.dtype.str, a.shape, a.tobytes())


def test_entries_are_in_lean_list_order_with_shadowed_entries() -> None:
    """registerVariable prepends: [w(new), b, w(old)]; gradients likewise (registerGradient)."""
    ctx = (RuntimeContext.empty()
           .register_variable("w", np.array([1.0]))
           .register_variable("b", np.array([2.0, 3.0]))
           .register_variable("w", np.array([[4.0]]))
           .register_gradient("b", np.array([5.0, 6.0])))
    entries = [(n, a.tolist(), a.shape) for n, a in ctx.variable_entries()]
    assert entries == [("w", [[4.0]], (1, 1)), ("b", [2.0, 3.0], (2,)), ("w", [1.0], (1,))]
    assert [(n, a.tolist()) for n, a in ctx.gradient_entries()] == [("b", [5.0, 6.0])]
    assert list(RuntimeContext.empty().variable_entries()) == []


def test_set_variable_changes_every_entry_with_the_name() -> None:
    """setVariable maps over the whole list: shadowed entries change too, order is kept."""
    ctx = (RuntimeContext.empty().register_variable("w", np.array([1.0]))
           .register_variable("b", np.array([2.0])).register_variable("w", np.array([3.0]))
           .set_variable("w", np.array([9.0, 9.0])))
    assert [(n, a.tolist()) for n, a in ctx.variable_entries()] == [("w", [9.0, 9.0]), ("b", [2.0]), ("w", [9.0, 9.0])]


def test_visible_entries_are_the_newest_per_name_as_a_plain_dict() -> None:
    """getVariable is find?: the newest entry per name is the visible one."""
    ctx = (RuntimeContext.empty().register_variable("w", np.array([1.0]))
           .register_variable("b", np.array([2.0])).register_variable("w", np.array([3.0])))
    visible = ctx.visible_variables()
    assert type(visible) is dict and list(visible) == ["w", "b"]
    assert visible["w"].tolist() == [3.0] and visible["b"].tolist() == [2.0]
    assert ctx.visible_gradients() == {}
    # a fresh dict each time: changing it changes nothing later
    visible.clear()
    assert list(ctx.visible_variables()) == ["w", "b"]
    for name, arr in ctx.visible_variables().items():
        np.testing.assert_array_equal(ctx.get_variable(name, arr.shape), arr)


def test_entries_are_read_only_and_iteration_is_lazy_over_a_persistent_context() -> None:
    ctx = RuntimeContext.empty().register_variable("w", np.array([1.0]))
    it = ctx.variable_entries()
    later = ctx.register_variable("z", np.array([2.0]))  # persistence: ctx itself is unchanged
    assert [n for n, _ in it] == ["w"]
    assert later.context_size() == 2
    for _, arr in ctx.variable_entries():
        assert not arr.flags.writeable
        with pytest.raises(ValueError):
            arr[...] = 0


def _ctx(*ops):
    ctx = RuntimeContext.empty()
    for op, name, value in ops:
        ctx = getattr(ctx, op)(name, value)
    return ctx


def test_equality_is_structural_and_bitwise() -> None:
    """The derived equality of ``RuntimeContext``: registries, next_id and α; tensors bitwise."""
    a = _ctx(("register_variable", "w", np.array([1.0, 2.0])), ("register_gradient", "w", np.array([0.5, 0.5])))
    b = _ctx(("register_variable", "w", np.array([1.0, 2.0])), ("register_gradient", "w", np.array([0.5, 0.5])))
    assert a == b and a is not b and hash(a) == hash(b)
    assert a != RuntimeContext.empty() and a != "not a context"
    # -0.0 and 0.0 are different Floats bitwise (Lean's structural equality on the bits)
    assert _ctx(("register_variable", "w", np.array([0.0]))) != _ctx(("register_variable", "w", np.array([-0.0])))
    # the same NaN bits are equal (unlike IEEE ==); different payloads are not
    nan1 = np.array([0x7FF8000000000001], np.uint64).view(np.float64)
    nan2 = np.array([0x7FF8000000000002], np.uint64).view(np.float64)
    assert _ctx(("register_variable", "w", nan1)) == _ctx(("register_variable", "w", nan1.copy()))
    assert _ctx(("register_variable", "w", nan1)) != _ctx(("register_variable", "w", nan2))
    # next_id counts registerVariable only: same visible entries, different next_id → different
    once = _ctx(("register_variable", "w", np.array([1.0])))
    twice = once.register_variable("w", np.array([1.0]))
    assert once != twice
    # clearGradients: gradients := [] — equal to the context that never had any
    assert a.clear_gradients() == _ctx(("register_variable", "w", np.array([1.0, 2.0])))
    # α is part of the value: emptyContext over Float ≠ emptyContext with α not yet fixed
    assert RuntimeContext.empty(np.float64) != RuntimeContext.empty()
    assert RuntimeContext.empty(np.float64) == RuntimeContext.empty("float64")
    # shape is part of an entry: [[1.0]] ≠ [1.0]
    assert _ctx(("register_variable", "w", np.array([[1.0]]))) != _ctx(("register_variable", "w", np.array([1.0])))
    assert len({a, b, once, twice}) == 3


_values = st.sampled_from([np.array([1.0]), np.array([-0.0]), np.array([0.0]), np.array([[1.0]]), np.array([1.0, 2.0])])
_op = st.tuples(st.sampled_from(["register_variable", "set_variable", "register_gradient", "set_gradient"]),
                st.sampled_from(["w", "b"]), _values)


@settings(max_examples=150, deadline=None, derandomize=True)
@given(st.lists(_op, max_size=4), st.lists(_op, max_size=4))
def test_equality_agrees_with_the_spec_equality(ops_a, ops_b) -> None:
    """Sampled 150 program pairs (fixed seed): impl ``==`` is exactly the spec dataclass ``==``."""
    a, b = _ctx(*ops_a), _ctx(*ops_b)
    assert (a == b) is (to_spec(a) == to_spec(b))
    if a == b:
        assert hash(a) == hash(b)


@pytest.mark.parametrize("shape", [[2], (2,), range(1, 3)[1:], [np.int64(2)]])
def test_shapes_are_any_sequence_of_ints(shape) -> None:
    """A Lean shape is a list (Shape.ofList): lists, tuples, ranges, numpy ints all name (2,)."""
    ctx = RuntimeContext.empty().register_variable("w", np.array([1.0, 2.0])).register_gradient("w", np.array([3.0, 4.0]))
    assert ctx.get_variable("w", shape).tolist() == [1.0, 2.0]
    assert ctx.get_gradient("w", shape).tolist() == [3.0, 4.0]
    from torchlean_runtime.impl import Variable

    v = Variable.create(0, "w", np.array([1.0, 2.0]))
    assert v.has_shape(shape) is True


@pytest.mark.parametrize("shape", ["2", b"\x02", {2}, {2: 2}, np.array([2]), 2, None, [2.0], [-1], [True], iter([2])])
def test_other_shapes_are_refused_with_the_typed_error(shape) -> None:
    ctx = RuntimeContext.empty().register_variable("w", np.array([1.0, 2.0]))
    for call in (lambda: ctx.get_variable("w", shape), lambda: ctx.get_gradient("w", shape)):
        with pytest.raises(TorchLeanError) as info:
            call()
        assert info.value.code == "TLR_INVALID_SHAPE"


def test_tensor_conversions_round_trip_bit_for_bit() -> None:
    """float64 ↔ Float, float32 ↔ IEEE32Exec (NaN payload kept), int64 ↔ Int; shape via ofList."""
    f32_nan = np.array([0x7FA00001, 0x80000000], np.uint32).view(np.float32)  # signalling NaN, -0.0
    for arr in (np.array([[1.5, -0.0], [np.inf, 2.0**-1074]]), f32_nan, np.array([-(2**63), 2**63 - 1], np.int64),
                np.float64(3.0)):
        t = tensor_to_spec(arr)
        assert isinstance(t, Tensor) and t.shape == ofList(np.shape(arr))
        back = tensor_from_spec(t)
        assert bits(back) == bits(np.asarray(arr)) and not back.flags.writeable
    assert tensor_to_spec(np.array([1.0, 2.0])) == ofNested(Float, [2], [1.0, 2.0])
    assert tensor_to_spec(np.array([1], np.int64)).alpha is Int
    assert tensor_to_spec(np.array([1], np.float32)).alpha is IEEE32Exec


def test_tensor_conversions_refuse_what_has_no_counterpart() -> None:
    from fractions import Fraction

    cases = [
        ("TLR_ARGUMENT_TYPE", lambda: tensor_to_spec([1.0])),
        ("TLR_SCALAR_TYPE", lambda: tensor_to_spec(np.ones(2, np.float16))),
        ("TLR_ARGUMENT_TYPE", lambda: tensor_from_spec(np.ones(2))),
        ("TLR_SCALAR_TYPE", lambda: tensor_from_spec(ofNested(Rat, [1], [Fraction(1, 3)]))),
        ("TLR_SCALAR_TYPE", lambda: tensor_from_spec(ofNested(Int, [1], [2**63]))),
    ]
    for code, call in cases:
        with pytest.raises(TorchLeanError) as info:
            call()
        assert info.value.code == code
