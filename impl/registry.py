"""The persistent hashed registry behind ``RuntimeContext`` — the only module that knows its layout.

One :class:`Registry` per Lean list (variables, gradients).  It stores the same sequence of
``(name, tensor)`` entries as the spec's Lean list, newest first, but indexed so that the
operations the runtime performs most cost O(log32 n) instead of a list walk.  Built on
``immutables.Map`` (a HAMT with structural sharing), so every update returns a new registry in
O(log n) and every older registry stays valid and unchanged — persistence, as in Lean.

Layout (mirrored by the Z3 model; see notes/impl-design.md)::

    order          cons list of entry ids, newest first        (nil is None; a cell is (eid, rest))
    entries        Map[int, Entry]   entry id -> Entry(name, shape, array)
    by_name        Map[str, cons list of entry ids with that name, newest first]
    length         number of entries (shadowed duplicates counted)
    next_entry_id  fresh id for the next prepend (ids are never reused within one lineage)

Invariants (checked by :meth:`Registry.invariant_violations`):

* I1 ``order`` has exactly ``length`` ids, all distinct, all keys of ``entries``, all
  ``< next_entry_id``; ``entries`` has no other keys.
* I2 for every name ``n``: ``by_name[n]`` lists the ids in ``order`` whose entry is named ``n``,
  in the same relative order; no key of ``by_name`` maps to an empty list.

Abstraction: the spec list is ``[(entries[eid].name, entries[eid].array) for eid in order]``.
"""

from __future__ import annotations

from typing import Iterator, NamedTuple, Optional

import immutables
import numpy as np

__all__ = ["Entry", "Registry", "EMPTY"]

# A cons cell is (head, tail); the empty list is None.  Prepending shares the tail (O(1)).
ConsList = Optional[tuple]


def _iter_cons(cells: ConsList) -> Iterator[int]:
    while cells is not None:
        head, cells = cells
        yield head


class Entry(NamedTuple):
    """One registry entry: the spec's ``(name, ⟨s, t⟩ : AnyTensor)``; ``shape`` is kept
    explicitly, as Lean's ``AnyTensor`` keeps ``s``."""

    name: str
    shape: tuple[int, ...]
    array: np.ndarray


class Registry:
    """An immutable, persistent registry.  Arguments are assumed validated and frozen by the
    caller (``context.py``); nothing here copies or checks arrays."""

    __slots__ = ("order", "entries", "by_name", "length", "next_entry_id")

    order: ConsList
    entries: immutables.Map
    by_name: immutables.Map
    length: int
    next_entry_id: int

    def __init__(self) -> None:
        raise TypeError("Registry values are built by the impl only (start from registry.EMPTY)")

    @staticmethod
    def _make(order: ConsList, entries: immutables.Map, by_name: immutables.Map, length: int, next_entry_id: int) -> "Registry":
        r = object.__new__(Registry)
        _set(r, "order", order)
        _set(r, "entries", entries)
        _set(r, "by_name", by_name)
        _set(r, "length", length)
        _set(r, "next_entry_id", next_entry_id)
        return r

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("a Registry is immutable")

    def __copy__(self) -> "Registry":
        return self

    def __deepcopy__(self, memo: dict) -> "Registry":
        return self

    def __reduce__(self):
        # Rebuilt by re-registering oldest first; ids may differ, the abstraction does not.
        return (_rebuild, (list(reversed(self.items())),))

    # -- the operations (spec semantics in each docstring) ---------------------------------

    def register(self, name: str, shape: tuple[int, ...], array: np.ndarray) -> "Registry":
        """Spec: prepend ``(name, array)``.  O(log n)."""
        eid = self.next_entry_id
        return Registry._make(
            (eid, self.order),
            self.entries.set(eid, Entry(name, shape, array)),
            self.by_name.set(name, (eid, self.by_name.get(name))),
            self.length + 1,
            eid + 1,
        )

    def lookup(self, name: str, shape: tuple[int, ...]) -> Optional[np.ndarray]:
        """Spec: ``find?`` the FIRST (newest) entry named ``name``; its array if its shape is
        ``shape``, else ``None`` (an older entry is never consulted).  O(log n)."""
        ids = self.by_name.get(name)
        if ids is None:
            return None
        entry = self.entries[ids[0]]
        return entry.array if entry.shape == shape else None

    def set_all(self, name: str, shape: tuple[int, ...], array: np.ndarray) -> "Registry":
        """Spec: ``map`` replacing EVERY entry named ``name`` by ``(name, array)`` at its own
        ``shape``; order kept; an absent name leaves the registry as it is.  O(k log n) for
        the k entries with that name."""
        ids = self.by_name.get(name)
        if ids is None:
            return self
        entry = Entry(name, shape, array)
        with self.entries.mutate() as entries:
            for eid in _iter_cons(ids):
                entries[eid] = entry
            new_entries = entries.finish()
        return Registry._make(self.order, new_entries, self.by_name, self.length, self.next_entry_id)

    def has(self, name: str) -> bool:
        """Spec: ``any`` entry named ``name``.  O(log n)."""
        return name in self.by_name

    def count(self) -> int:
        """Spec: ``length`` (duplicates counted).  O(1)."""
        return self.length

    def distinct_names(self) -> Iterator[str]:
        """Each name present, once (the keys of ``by_name``; no particular order)."""
        return iter(self.by_name.keys())

    def all_names_in(self, other: "Registry") -> bool:
        """Every name of this registry is a name of ``other``.  O(distinct names · log n)."""
        present = other.by_name
        return all(name in present for name in self.by_name.keys())

    def first_names(self, limit: int) -> list[str]:
        """The names of the ``limit`` newest entries (for ``__repr__``).  O(limit · log n)."""
        out: list[str] = []
        entries, cells = self.entries, self.order
        while cells is not None and len(out) < limit:
            eid, cells = cells
            out.append(entries[eid].name)
        return out

    def items(self) -> list[Entry]:
        """All entries in list order, newest first (the abstraction's order).  O(n log n)."""
        entries = self.entries
        return [entries[eid] for eid in _iter_cons(self.order)]

    def names(self) -> list[str]:
        """Spec: ``map (·.1)`` — names in list order, duplicates kept.  O(n log n)."""
        return [entry.name for entry in self.items()]

    # -- invariant (for tests and the model cross-check) -------------------------------------

    def invariant_violations(self) -> list[str]:
        """The ways this registry breaks I1/I2 (empty when the index is consistent).  O(n log n)."""
        problems: list[str] = []
        order = list(_iter_cons(self.order))
        if len(order) != self.length:
            problems.append(f"I1: order has {len(order)} ids, length is {self.length}")
        if len(set(order)) != len(order):
            problems.append("I1: order has duplicate ids")
        if any(eid >= self.next_entry_id or eid < 0 for eid in order):
            problems.append("I1: an id in order is not below next_entry_id")
        if set(order) != set(self.entries.keys()):
            problems.append("I1: the keys of entries are not exactly the ids in order")
        expected: dict[str, list[int]] = {}
        for eid in order:
            if eid in self.entries:
                expected.setdefault(self.entries[eid].name, []).append(eid)
        actual = {name: list(_iter_cons(ids)) for name, ids in self.by_name.items()}
        if actual != expected:
            problems.append(f"I2: by_name {actual} differs from the ids by name in order {expected}")
        return problems


_set = object.__setattr__

#: The empty registry (``[]``).
EMPTY: Registry = Registry._make(None, immutables.Map(), immutables.Map(), 0, 0)


def _rebuild(items_oldest_first: list) -> Registry:
    from .arrays import freeze

    r = EMPTY
    for name, shape, array in items_oldest_first:
        r = r.register(name, tuple(shape), freeze(np.asarray(array)))
    return r
