"""spec/core/shape.py — Lean ``Spec.Shape`` (NN/Spec/Core/Shape.lean): unit tests and hypothesis
properties of the shape algebra, plus the ``ShapeEq`` evidence that stands for ``s₁ = s₂``."""

from __future__ import annotations

import math
import operator
from dataclasses import FrozenInstanceError

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from torchlean_runtime.errors import CastEvidenceError, InvalidShapeError
from torchlean_runtime.spec.core.shape import (
    MAX_RANK,
    Dim,
    Scalar,
    Shape,
    ShapeEq,
    areEqual,
    dim,
    ofList,
    pretty,
    rank,
    scalar,
    size,
    toList,
)

dims_lists = st.lists(st.integers(min_value=0, max_value=6), max_size=6)
small_dims_lists = st.lists(st.integers(min_value=0, max_value=2), max_size=3)  # collide often
PROPERTY = settings(max_examples=150, deadline=None)


# --- constructors and conversions (Shape.scalar, Shape.dim, Shape.ofList, Shape.toList) ------


def test_ofList_builds_the_tree_outermost_first() -> None:
    """Lean ``Shape.ofList``: [] ↦ scalar, n :: ns ↦ dim n (ofList ns)."""
    assert ofList([]) == scalar == Scalar()
    assert ofList([2, 3]) == dim(2, dim(3, scalar)) == Dim(2, Dim(3, Scalar()))
    assert isinstance(ofList([2, 3]), Shape)


def test_toList_flattens_the_tree() -> None:
    """Lean ``Shape.toList``: scalar ↦ [], dim n rest ↦ n :: toList rest."""
    assert toList(scalar) == ()
    assert toList(dim(4, dim(0, dim(1, scalar)))) == (4, 0, 1)


def test_ofList_accepts_any_iterable_and_index_types() -> None:
    assert ofList((2, 3)) == ofList(iter([2, 3])) == ofList([np.int64(2), np.uint8(3)])
    assert type(ofList([np.int64(2)]).n) is int


def test_zero_dimension_keeps_its_inner_shape() -> None:
    """§1: [0, 3] and [0, 4] are different shapes (derived DecidableEq is structural)."""
    assert ofList([0, 3]) != ofList([0, 4])
    assert not areEqual(ofList([0, 3]), ofList([0, 4]))
    assert size(ofList([0, 3])) == size(ofList([0, 4])) == 0


# --- size, rank, areEqual, pretty ------------------------------------------------------------


def test_size() -> None:
    """Lean ``Shape.size``: scalar ↦ 1, dim n rest ↦ n * size rest."""
    assert size(scalar) == 1
    assert size(ofList([2, 3, 4])) == 24
    assert size(ofList([5, 0, 7])) == 0
    assert size(ofList([10**6, 10**6])) == 10**12  # exact, no allocation


def test_rank() -> None:
    """Lean ``Shape.rank``: scalar ↦ 0, dim _ rest ↦ 1 + rank rest."""
    assert rank(scalar) == 0
    assert rank(ofList([2, 0, 1])) == 3


def test_areEqual() -> None:
    """Lean ``Shape.areEqual``: n₁ == n₂ && areEqual rest₁ rest₂; scalar/scalar true, mixed false."""
    assert areEqual(scalar, scalar)
    assert areEqual(ofList([2, 3]), dim(2, dim(3, scalar)))
    assert not areEqual(ofList([2, 3]), ofList([3, 2]))
    assert not areEqual(ofList([2]), ofList([2, 1]))
    assert not areEqual(ofList([2, 1]), ofList([2]))
    assert not areEqual(scalar, ofList([1]))


def test_pretty() -> None:
    """Lean ``Shape.pretty``: scalar ↦ "scalar", dim n s ↦ "dim n (<pretty s>)"."""
    assert pretty(scalar) == "scalar"
    assert pretty(ofList([2])) == "dim 2 (scalar)"
    assert pretty(ofList([2, 3])) == "dim 2 (dim 3 (scalar))"


def test_shapes_are_frozen_and_hashable() -> None:
    s = ofList([2, 3])
    with pytest.raises(FrozenInstanceError):
        s.n = 5  # type: ignore[misc]
    assert {s: 1}[dim(2, dim(3, scalar))] == 1
    assert repr(s) == "Shape[2, 3]"


def test_max_rank_is_a_resource_cap() -> None:
    assert toList(ofList([1] * MAX_RANK)) == (1,) * MAX_RANK
    with pytest.raises(InvalidShapeError):
        ofList([1] * (MAX_RANK + 1))


# --- hypothesis: the shape algebra -------------------------------------------------------------


@PROPERTY
@given(dims_lists)
def test_toList_ofList_is_identity(dims: list[int]) -> None:
    """``toList (ofList l) = l``."""
    assert toList(ofList(dims)) == tuple(dims)


def _tree(dims: list[int]) -> Shape:
    """Build the tree with the Lean constructors directly (independent of ofList)."""
    s: Shape = scalar
    for n in reversed(dims):
        s = dim(n, s)
    return s


@PROPERTY
@given(dims_lists)
def test_ofList_toList_is_identity(dims: list[int]) -> None:
    """``ofList (toList s) = s`` for a shape built with the constructors."""
    s = _tree(dims)
    assert ofList(toList(s)) == s


@PROPERTY
@given(small_dims_lists, small_dims_lists)
def test_areEqual_agrees_with_eq(a: list[int], b: list[int]) -> None:
    """``areEqual s₁ s₂ = decide (s₁ = s₂)``, and both agree with list equality."""
    s1, s2 = ofList(a), _tree(b)
    assert areEqual(s1, s2) == (s1 == s2) == (a == b)


@PROPERTY
@given(small_dims_lists, small_dims_lists)
def test_hash_is_consistent_with_eq(a: list[int], b: list[int]) -> None:
    s1, s2 = ofList(a), _tree(b)
    if s1 == s2:
        assert hash(s1) == hash(s2)


@PROPERTY
@given(dims_lists)
def test_size_of_ofList_is_the_product(dims: list[int]) -> None:
    assert size(ofList(dims)) == math.prod(dims)
    assert rank(ofList(dims)) == len(dims)


@PROPERTY
@given(dims_lists)
def test_pretty_nests_one_parenthesis_per_dimension(dims: list[int]) -> None:
    text = pretty(ofList(dims))
    assert text.count("(") == text.count(")") == len(dims)
    assert text.endswith("scalar" + ")" * len(dims))


# --- ShapeEq: evidence for s₁ = s₂ --------------------------------------------------------------


def test_ShapeEq_check_refl_symm_trans() -> None:
    a, b = ofList([2, 3]), _tree([2, 3])
    h = ShapeEq.check(a, b)
    assert (h.lhs, h.rhs) == (a, b)
    assert ShapeEq.refl(a) == h
    assert h.symm().lhs == b and h.trans(ShapeEq.refl(b)).rhs == b
    assert hash(h) == hash(ShapeEq.refl(a))
    assert repr(h) == "ShapeEq((2, 3) = (2, 3))"


def test_ShapeEq_refuses_unequal_shapes_and_forgery() -> None:
    with pytest.raises(CastEvidenceError):
        ShapeEq.check(ofList([2]), ofList([3]))
    with pytest.raises(CastEvidenceError):
        ShapeEq(ofList([2]), ofList([2]))  # even a true equation cannot be forged
    with pytest.raises(CastEvidenceError):
        ShapeEq(ofList([2]), ofList([3]), object())  # nor with a made-up token
    with pytest.raises(CastEvidenceError):
        ShapeEq.check((2,), (2,))  # tuples are not Shapes
    with pytest.raises(CastEvidenceError):
        ShapeEq.refl([2])
    with pytest.raises(CastEvidenceError):
        ShapeEq.refl(ofList([2])).trans(ShapeEq.refl(ofList([3])))
    with pytest.raises(CastEvidenceError):
        ShapeEq.refl(ofList([2])).trans("h")


def test_ShapeEq_is_immutable() -> None:
    h = ShapeEq.refl(ofList([2]))
    with pytest.raises(AttributeError):
        h.rhs = ofList([3])  # type: ignore[misc]
