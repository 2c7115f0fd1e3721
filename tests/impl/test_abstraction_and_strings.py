"""to_spec / from_spec (the abstraction function and its inverse) and Lean printing of arrays
(``contextToString`` / ``Spec.pretty`` / ``Float.toString``, semantics note §2, §4, §6)."""

from __future__ import annotations

import numpy as np
import pytest

from torchlean_runtime.errors import TorchLeanError
from torchlean_runtime.impl import RuntimeContext, Variable, from_spec, to_spec
from torchlean_runtime.spec.core import tensor as T
from torchlean_runtime.spec.core.scalars import Float, IEEE32Exec, Int, Rat
from torchlean_runtime.spec.runtime import context as SC


@pytest.mark.parametrize(
    "arr",
    [
        np.array([0x7FF0000000000001, 0xFFF8000000000ABC, 1 << 63, 1], np.uint64).view(np.float64),
        np.array([0x7F800001, 0xFFC00ABC, 1 << 31, 1], np.uint32).view(np.float32).reshape(2, 2),
        np.array([-(2 ** 63), 2 ** 63 - 1, 0], np.int64),
        np.zeros((0, 3)),
        np.zeros((2, 0), np.float32),
        np.array(-0.0),
    ],
)
def test_tensor_round_trip_keeps_every_bit_and_the_shape(arr) -> None:
    t = to_spec(arr)
    assert t.alpha is {np.float64: Float, np.float32: IEEE32Exec, np.int64: Int}[arr.dtype.type]
    back = from_spec(t)
    assert back.shape == arr.shape and back.dtype == arr.dtype and back.tobytes() == arr.tobytes()
    assert not back.flags.writeable


def test_from_spec_refuses_what_the_impl_cannot_hold() -> None:
    with pytest.raises(TorchLeanError) as err:
        from_spec(T.ofNested(Int, [1], [2 ** 63]))
    assert err.value.code == "TLR_SCALAR_TYPE"
    from fractions import Fraction

    with pytest.raises(TorchLeanError) as err:
        from_spec(T.ofNested(Rat, [1], [Fraction(1, 3)]))
    assert err.value.code == "TLR_SCALAR_TYPE"
    with pytest.raises(TorchLeanError) as err:
        to_spec([1.0])
    assert err.value.code == "TLR_ARGUMENT_TYPE"


def test_context_abstraction_keeps_alpha_none_until_fixed() -> None:
    assert to_spec(RuntimeContext.empty()).alpha is None
    assert to_spec(RuntimeContext.empty().register_gradient("g", np.ones(1, np.float32))).alpha is IEEE32Exec
    ctx = from_spec(SC.emptyContext(Int))
    assert ctx.dtype == np.dtype(np.int64) and ctx.context_size() == 0


def test_lean_strings_of_special_values() -> None:
    """Float.toString is %f with NaN → NaN (note §6): 1.0, -0.0, 1e20, ±inf, NaN, 1e-15, -1e-15."""
    ctx = RuntimeContext.empty().register_variable("a", np.array([1.0, -0.0, 1e20])).register_variable(
        "b", np.array([[np.inf, -np.inf], [np.nan, -np.nan]])
    ).register_gradient("a", np.array([1e-15, -1e-15, 0.1]))
    assert ctx.to_lean_string() == (
        "Context(vars: [b: [[inf, -inf], [NaN, NaN]], a: [1.000000, -0.000000, 100000000000000000000.000000]], "
        "grads: [a: [0.000000, -0.000000, 0.100000]])"
    )
    assert ctx.to_lean_string() == SC.contextToString(to_spec(ctx))


def test_lean_strings_of_empty_and_zero_dim_arrays() -> None:
    """Spec.pretty: shape [0] → [], [2, 0] → [[], []], [0, 3] → []; a scalar prints bare."""
    ctx = RuntimeContext.empty()
    for name, arr in [("s", np.array(2.5)), ("e", np.zeros(0)), ("z", np.zeros((2, 0))), ("y", np.zeros((0, 3))),
                      ("d", np.zeros((1, 2, 0)))]:
        ctx = ctx.register_variable(name, arr)
    assert ctx.to_lean_string() == "Context(vars: [d: [[[], []]], y: [], z: [[], []], e: [], s: 2.500000], grads: [])"
    assert ctx.to_lean_string() == SC.contextToString(to_spec(ctx))


def test_lean_strings_of_int_and_float32() -> None:
    """Int prints in plain decimal; IEEE32Exec widens exactly to binary64, then %f."""
    ints = RuntimeContext.empty().register_variable("i", np.array([-5, 0, 2 ** 63 - 1], np.int64))
    assert ints.to_lean_string() == "Context(vars: [i: [-5, 0, 9223372036854775807]], grads: [])"
    f32 = RuntimeContext.empty().register_variable("f", np.array([0.1, 16777217.0, 3.4028235e38], np.float32))
    assert f32.to_lean_string() == (
        "Context(vars: [f: [0.100000, 16777216.000000, 340282346638528859811704183484516925440.000000]], grads: [])"
    )
    for ctx in (ints, f32):
        assert ctx.to_lean_string() == SC.contextToString(to_spec(ctx))


def test_names_print_raw() -> None:
    ctx = RuntimeContext.empty().register_variable("", np.array(1.0)).register_variable("a, b: [c]", np.array(2.0))
    assert ctx.to_lean_string() == "Context(vars: [a, b: [c]: 2.000000, : 1.000000], grads: [])"
    v = Variable.create(0, 'quote"d', np.array(1.0))
    assert v.to_lean_string() == 'Variable(quote"d, id=0, value=1.000000, grad=none, requires_grad=true)'
