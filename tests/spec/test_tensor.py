"""spec/core/tensor.py — the parts of ``Spec.Tensor`` the runtime uses (Tensor/Core.lean,
TensorOps.lean, TensorReductionShape.lean, Utils.lean; semantics note §2)."""

from __future__ import annotations

import struct
import time
from dataclasses import FrozenInstanceError
from fractions import Fraction

import numpy as np
import pytest

from torchlean_runtime.errors import (
    ArgumentTypeError,
    CastEvidenceError,
    InvalidShapeError,
    ScalarTypeMismatchError,
    ShapeMismatchError,
    TensorTooLargeError,
)
from torchlean_runtime.spec.core import tensor as T
from torchlean_runtime.spec.core.scalars import Float, IEEE32Exec, Int, Rat
from torchlean_runtime.spec.core.shape import ShapeEq, ofList, scalar as SCALAR


def bits(x: float) -> bytes:
    return struct.pack("<d", x)


def test_ofNested_and_toNested_round_trip() -> None:
    t = T.ofNested(Float, [2, 3], [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    assert t.shape == ofList([2, 3]) and t.alpha is Float
    assert t.data == ((1.0, 2.0, 3.0), (4.0, 5.0, 6.0))  # nested tuples: immutable
    assert T.toNested(t) == [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]
    assert T.ofNested(Float, ofList([2]), (1.0, 2.0)) == T.ofNested(Float, (2,), [1.0, 2.0])
    assert T.toNested(T.ofNested(Float, [2, 0], [[], []])) == [[], []]


def test_scalar_tensor() -> None:
    """Lean ``Tensor.scalar x``: a tensor of shape ``scalar``."""
    t = T.scalar(Int, -5)
    assert t.shape == SCALAR and t.data == -5 and T.toNested(t) == -5


def test_zeros_are_positive_zeros() -> None:
    z = T.zeros(Float, [2, 2])
    assert all(bits(x) == bits(0.0) for x in T.elements(z))
    assert T.zeros(Rat, [1]) == T.ofNested(Rat, [1], [Fraction(0)])
    assert T.zeros(Float, [0, 5]).shape == ofList([0, 5])


def test_elements_are_row_major() -> None:
    t = T.ofNested(Int, [2, 2, 2], [[[0, 1], [2, 3]], [[4, 5], [6, 7]]])
    assert list(T.elements(t)) == list(range(8))


def test_equality_is_lean_value_identity() -> None:
    f = lambda shape, data: T.ofNested(Float, shape, data)  # noqa: E731
    assert f([1], [0.0]) != f([1], [-0.0])
    assert f([1], [float("nan")]) == f([1], [float("nan")])
    assert f([0, 3], []) != f([0, 4], [])
    assert T.ofNested(Int, [1], [1]) != T.ofNested(Rat, [1], [Fraction(1)])
    assert hash(f([2], [1.0, 2.0])) == hash(f([2], [1.0, 2.0]))
    assert (f([1], [1.0]) == 1.0) is False


def test_tensors_are_frozen() -> None:
    t = T.ofNested(Float, [1], [1.0])
    with pytest.raises(FrozenInstanceError):
        t.data = (2.0,)  # type: ignore[misc]


def test_addSpec_mulSpec_keep_argument_order_and_shape() -> None:
    """Lean ``Tensor.addSpec`` / ``Tensor.mulSpec``: elementwise, a first, no broadcasting."""
    a = T.ofNested(IEEE32Exec, [2], [np.float32(1.0), np.float32(3.0)])
    b = T.ofNested(IEEE32Exec, [2], [np.float32(2.0 ** -24), np.float32(0.5)])
    assert T.addSpec(a, b) == T.ofNested(IEEE32Exec, [2], [np.float32(1.0), np.float32(3.5)])
    assert T.mulSpec(a, b) == T.ofNested(IEEE32Exec, [2], [np.float32(2.0 ** -24), np.float32(1.5)])
    with pytest.raises(ShapeMismatchError):
        T.addSpec(T.zeros(Float, [2]), T.zeros(Float, [1]))
    with pytest.raises(ShapeMismatchError):
        T.mulSpec(T.zeros(Float, [2, 1]), T.zeros(Float, [2]))
    with pytest.raises(ScalarTypeMismatchError):
        T.addSpec(T.zeros(Float, [2]), T.zeros(Rat, [2]))
    with pytest.raises(ArgumentTypeError):
        T.addSpec(T.zeros(Float, [2]), [0.0, 0.0])


def test_sumSpec_is_a_flat_left_fold_from_zero() -> None:
    """Lean ``sumSpec``: (((0 + x0) + x1) + …) over all scalars in row-major order."""
    big = 2.0 ** 53
    # a sum of row sums would give (1 + 1) + big = big + 2; the flat fold gives big
    t = T.ofNested(Float, [2, 2], [[big, 1.0], [1.0, 1.0]])
    assert T.sumSpec(t) == big
    assert T.sumSpec(T.ofNested(Float, [2, 2], [[1.0, 1.0], [big, 0.0]])) == big + 2.0
    assert type(T.sumSpec(T.ofNested(IEEE32Exec, [1], [np.float32(1.0)]))) is np.float32
    assert T.sumSpec(T.ofNested(Rat, [2], [Fraction(1, 3), Fraction(2, 3)])) == Fraction(1)
    assert T.sumSpec(T.ofNested(Int, [0], [])) == 0
    with pytest.raises(ArgumentTypeError):
        T.sumSpec([1.0])


def test_pretty_examples_from_the_semantics_note() -> None:
    """Lean ``Spec.pretty`` (§2)."""
    f = lambda shape, data: T.pretty(T.ofNested(Float, shape, data))  # noqa: E731
    assert f([], 1.0) == "1.000000"
    assert f([2], [1.0, 2.0]) == "[1.000000, 2.000000]"
    assert f([2, 2], [[1.0, 2.0], [3.0, 4.0]]) == "[[1.000000, 2.000000], [3.000000, 4.000000]]"
    assert f([0], []) == "[]"
    assert f([2, 0], [[], []]) == "[[], []]"
    assert f([1, 1, 1], [[[0.5]]]) == "[[[0.500000]]]"


def test_castShape_needs_evidence_about_the_tensor_shape() -> None:
    """Lean ``Tensor.castShape t h``: identity on data, needs h : s₁ = s₂."""
    t = T.ofNested(Float, [2], [1.0, 2.0])
    assert T.castShape(t, ShapeEq.check(ofList([2]), ofList([2]))) == t
    with pytest.raises(CastEvidenceError):
        T.castShape(t, ShapeEq.refl(ofList([3])))
    with pytest.raises(CastEvidenceError):
        T.castShape(t, (ofList([2]), ofList([2])))


def test_asShape() -> None:
    assert T.asShape([2, 3]) == T.asShape((2, 3)) == T.asShape(ofList([2, 3]))
    for bad in ("23", 2, None, {2: 3}):
        with pytest.raises(InvalidShapeError):
            T.asShape(bad)


def test_element_cap_refuses_before_allocating() -> None:
    start = time.perf_counter()
    with pytest.raises(TensorTooLargeError) as info:
        T.zeros(Float, [10**6, 10**6])
    with pytest.raises(TensorTooLargeError):
        T.ofNested(Float, [10**6, 10**6], [])
    with pytest.raises(TensorTooLargeError):
        T.ofNested(Float, [10**9, 10**9, 10**9], [])
    assert time.perf_counter() - start < 1.0
    assert info.value.code == "TLR_TENSOR_TOO_LARGE" and "1000000000000" in str(info.value)


def test_element_cap_is_configurable() -> None:
    previous = T.setElementCap(4)
    try:
        assert T.elementCap() == 4
        T.zeros(Float, [2, 2])
        with pytest.raises(TensorTooLargeError):
            T.zeros(Float, [5])
        T.ofNested(Float, [0, 10**12], [])  # zero elements are always fine
    finally:
        T.setElementCap(previous)
    assert T.elementCap() == previous
    for bad in (-1, 1.5, True, "4"):
        with pytest.raises(ArgumentTypeError):
            T.setElementCap(bad)
