"""Lean's core ``List`` — the pieces the runtime modules use (Lean 4 core, ``Init.Prelude`` /
``Init.Data.List.Basic``): ``nil``, ``cons``, ``find?``, ``map``, ``any``, ``all``, ``length``.

An immutable cons list with O(1) prepend, so a spec registry shares structure exactly as
the Lean one does.  Every traversal is a loop (a registry may hold 100,000 entries, which
Python's recursion limit must not bound); equality and hashing are element-wise.
"""

from __future__ import annotations

from typing import Callable, Generic, Iterable, Iterator, Optional, TypeVar

__all__ = ["List", "nil", "ofIterable"]

T = TypeVar("T")
U = TypeVar("U")


class List(Generic[T]):
    """A Lean ``List``: ``nil`` or ``cons head tail``."""

    __slots__ = ("head", "tail")

    def __init__(self, head: T = None, tail: "Optional[List[T]]" = None):  # type: ignore[assignment]
        object.__setattr__(self, "head", head)
        object.__setattr__(self, "tail", tail)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("a Lean List is immutable")

    # -- constructors --------------------------------------------------------------------
    def cons(self, head: T) -> "List[T]":
        """``head :: self`` in O(1); the tail is shared, never copied."""
        return List(head, self)

    @property
    def isNil(self) -> bool:
        return self.tail is None

    # -- List functions used by NN/Runtime ---------------------------------------------
    def __iter__(self) -> Iterator[T]:
        node = self
        while node.tail is not None:
            yield node.head
            node = node.tail

    def find(self, p: Callable[[T], bool]) -> Optional[T]:
        """Lean ``List.find?``: the FIRST element satisfying ``p``, else ``None``."""
        for x in self:
            if p(x):
                return x
        return None

    def map(self, f: Callable[[T], U]) -> "List[U]":
        """Lean ``List.map``: order kept."""
        return ofIterable([f(x) for x in self])

    def any(self, p: Callable[[T], bool]) -> bool:
        """Lean ``List.any`` (short-circuits at the first ``true``)."""
        for x in self:
            if p(x):
                return True
        return False

    def all(self, p: Callable[[T], bool]) -> bool:
        """Lean ``List.all`` (short-circuits at the first ``false``; ``true`` on ``[]``)."""
        for x in self:
            if not p(x):
                return False
        return True

    def length(self) -> int:
        """Lean ``List.length`` (a walk over the list, O(n) as in Lean)."""
        n = 0
        for _ in self:
            n += 1
        return n

    # -- Python protocol ---------------------------------------------------------------
    def toPyList(self) -> list[T]:
        return list(self)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, List):
            return NotImplemented
        a, b = self, other
        while a.tail is not None and b.tail is not None:
            if a is b:
                return True
            if not (a.head == b.head):
                return False
            a, b = a.tail, b.tail
        return a.tail is None and b.tail is None

    def __hash__(self) -> int:
        return hash(tuple(self))

    def __repr__(self) -> str:
        return "[" + ", ".join(repr(x) for x in self) + "]"

    def __reduce__(self):
        # copy/deepcopy/pickle rebuild through the constructor (their default sets attributes,
        # which an immutable List refuses), from the flat items: no recursion on long lists
        return (ofIterable, (list(self),))


#: The empty list ``[]``.
nil: List = List()


def ofIterable(items: Iterable[T]) -> List[T]:
    """Build a Lean list with the same order as ``items`` (first item at the head)."""
    out: List[T] = nil
    for x in reversed(list(items)):
        out = List(x, out)
    return out
