"""spec/core/list.py — Lean core ``List`` as the runtime uses it (``[]``, ``::``, ``find?``,
``map``, ``any``, ``all``, ``length``): an immutable cons list traversed with loops."""

from __future__ import annotations

import pytest

from torchlean_runtime.spec.core.list import List, nil, ofIterable


def test_nil_is_empty() -> None:
    """Lean ``List.nil``."""
    assert nil.isNil and nil.length() == 0 and list(nil) == [] and repr(nil) == "[]"


def test_cons_prepends_in_constant_time_sharing_the_tail() -> None:
    """Lean ``List.cons``: ``x :: xs`` shares ``xs``."""
    xs = ofIterable([2, 3])
    ys = xs.cons(1)
    assert list(ys) == [1, 2, 3] and list(xs) == [2, 3]
    assert ys.tail is xs  # nothing copied


def test_ofIterable_keeps_order() -> None:
    assert list(ofIterable("abc")) == ["a", "b", "c"]
    assert ofIterable([]) == nil


def test_find_returns_the_first_match() -> None:
    """Lean ``List.find?``: first element satisfying p (head-most), else none."""
    xs = ofIterable([("x", 2), ("y", 1), ("x", 1)])
    assert xs.find(lambda e: e[0] == "x") == ("x", 2)
    assert xs.find(lambda e: e[0] == "z") is None
    assert nil.find(lambda e: True) is None


def test_map_keeps_order_and_returns_a_list() -> None:
    """Lean ``List.map``."""
    ys = ofIterable([1, 2, 3]).map(lambda x: 10 * x)
    assert isinstance(ys, List) and list(ys) == [10, 20, 30]
    assert nil.map(lambda x: x) == nil


def test_any_and_all_short_circuit() -> None:
    """Lean ``List.any`` / ``List.all`` (``any [] = false``, ``all [] = true``)."""
    seen: list[int] = []

    def p(x: int) -> bool:
        seen.append(x)
        return x == 2

    xs = ofIterable([1, 2, 3])
    assert xs.any(p) and seen == [1, 2]
    seen.clear()
    assert not xs.all(p) and seen == [1]
    assert not nil.any(lambda x: True) and nil.all(lambda x: False)


def test_length_counts_duplicates() -> None:
    """Lean ``List.length``."""
    assert ofIterable(["a", "a", "b"]).length() == 3


def test_equality_and_hash_are_elementwise() -> None:
    a, b = ofIterable([1, 2]), ofIterable([1, 2])
    assert a == b and hash(a) == hash(b)
    assert a != ofIterable([2, 1]) and a != ofIterable([1]) and ofIterable([1]) != a
    assert (a == [1, 2]) is False  # a Python list is not a Lean List


def test_lists_are_immutable() -> None:
    xs = ofIterable([1])
    with pytest.raises(AttributeError):
        xs.head = 2  # type: ignore[misc]


def test_long_lists_need_no_recursion() -> None:
    n = 200_000
    xs = ofIterable(range(n))
    assert xs.length() == n
    assert xs.find(lambda x: x == n - 1) == n - 1
    assert xs.map(lambda x: x).length() == n
    assert xs == ofIterable(range(n))
    assert xs.all(lambda x: x >= 0)
