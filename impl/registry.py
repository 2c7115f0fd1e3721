"""The persistent hashed registry behind ``RuntimeContext`` — the only module that knows its layout.

One :class:`Registry` per Lean list (variables, gradients).  It stores the same sequence of
``(name, tensor)`` entries as the spec's Lean list, newest first, but indexed so that the
operations the runtime performs most cost one hash lookup instead of a list walk.  Built on
ONE ``immutables.Map`` (a HAMT with structural sharing) plus a cons list, so every update
returns a new registry in O(log32 n) and every older registry stays valid and unchanged —
persistence, as in Lean.

Layout (mirrored field by field by the Z3 model, proofs/z3/index_model.py)::

    order    cons list of NAMES, newest first, one cell per entry (shadowed duplicates
             included); a cell is the 2-tuple (name, rest), nil is None
    slots    Map[str, chain]: the chain of a name lists that name's entries, newest first; an
             entry IS its frozen array (the entry's shape is the array's ``.shape``), and a
             chain is a non-empty list of arrays:
                 chain ::= array            the name's only (or oldest) entry
                         | (array, chain)   a newer entry in front of the older ones
             so a name with k entries maps to k - 1 two-tuples ending in its oldest array, and
             a name with ONE entry maps to the array itself
    length   number of entries (shadowed duplicates counted)

Why this shape: the dominant cost of building a large registry with the GC on is the number
of GC-tracked objects that each ``register`` leaves alive (each one counts toward CPython's
young-generation threshold, so it brings the next collection closer, and is walked by it;
objects that die at once, like the previous ``Registry``, cancel out).  An ndarray is not
tracked by the GC, and a name's only entry is stored as the bare array: a ``register`` of a
new name leaves nothing behind but the ``order`` cell and the Map's own nodes; shadowing a name
adds ONE cell ``(array, older)``.  No shape tuple is stored: ``freeze`` (arrays.py) builds
every stored header at the entry's shape, so the array's ``.shape`` is the shape the spec's
``AnyTensor`` keeps — which is why ``register`` and ``set_all`` take the array only (the one
price: ``lookup`` reads ``.shape``, which builds a tuple).  A chain is told apart from an
array by ``type(c) is tuple`` (a stored array is always an ``np.ndarray``, never a tuple).
``order`` stays: the spec's list interleaves the names, and only ``order`` remembers how (a
name's chain knows only its own entries).  It is the ``(name, rest)`` cons list because a
prepend then shares the whole older list in O(1) and the Z3 model states it as a plain list of
names; its cell is the one tracked object a new name still adds beside the Map's nodes.

``register`` is one ``Map.get`` + one ``Map.set`` + the ``order`` cell (+ one chain cell when
the name is present), ``lookup`` one ``Map.get`` and a shape compare on the newest array (Lean's
``find?`` stops at the newest entry, which is exactly the head of the chain), ``set_all``
rebuilds one chain (Lean's ``map`` touches exactly the entries of that name).  The cells hold
only ``str`` / ``tuple`` / ``ndarray`` / ``None``, so CPython's GC untracks them after their
first collection — building a large registry does not make every later collection walk it.

Invariants (checked by :meth:`Registry.invariant_violations`):

* I1 ``order`` has exactly ``length`` cells.
* I2 for every name ``n``: ``slots[n]`` is a chain (an ``np.ndarray``, or an ``(ndarray,
  chain)`` pair) with exactly as many entries as ``n`` occurs in ``order`` (so at least one:
  no key maps to ``None`` or to anything else); every name in ``order`` is a key.

Abstraction: the spec list is obtained by walking ``order`` and taking, for each occurrence of
a name, the next entry of that name's chain: ``toSpec(nil, S) = []``,
``toSpec((n, rest), S) = (n, ⟨a.shape, a⟩) :: toSpec(rest, S[n := tail(S[n])])`` where ``a =
head(S[n])`` (``head(a) = a``, ``head((a, c)) = a``, ``tail((a, c)) = c``) — what
:meth:`Registry.items` computes with a per-name cursor.  (Equivalently, under I2: the
occurrence of ``n`` followed by ``j`` older occurrences takes the entry of the chain that has
``j`` entries after it; the Z3 model states it that way, see index_model.py.)
"""

from __future__ import annotations

from typing import Iterator, NamedTuple, Optional

import immutables
import numpy as np

__all__ = ["Entry", "Registry", "EMPTY"]

# An order cell is the tuple (name, rest); the empty list is None.  Prepending shares the tail
# (O(1)).  A chain (the value of a key of slots) is an array or an (array, chain) pair.
ConsList = Optional[tuple]


class Entry(NamedTuple):
    """One registry entry as :meth:`Registry.items` reports it: the spec's
    ``(name, ⟨s, t⟩ : AnyTensor)``; ``shape`` is the array's shape, reported explicitly as
    Lean's ``AnyTensor`` keeps ``s``."""

    name: str
    shape: tuple[int, ...]
    array: np.ndarray


def _chain_length(chain) -> int:
    """How many entries a (well-formed) chain holds."""
    k = 1
    while type(chain) is tuple:
        k += 1
        chain = chain[1]
    return k


class Registry:
    """An immutable, persistent registry.  Arguments are assumed validated and frozen by the
    caller (``context.py``); nothing here copies or checks arrays."""

    __slots__ = ("order", "slots", "length")

    order: ConsList
    slots: immutables.Map
    length: int

    def __init__(self) -> None:
        raise TypeError("Registry values are built by the impl only (start from registry.EMPTY)")

    @staticmethod
    def _make(order: ConsList, slots: immutables.Map, length: int) -> "Registry":
        r = _new(Registry)
        _set_order(r, order)
        _set_slots(r, slots)
        _set_length(r, length)
        return r

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("a Registry is immutable")

    def __copy__(self) -> "Registry":
        return self

    def __deepcopy__(self, memo: dict) -> "Registry":
        return self

    def __reduce__(self):
        # Rebuilt by re-registering oldest first: the same fields, hence the same abstraction.
        return (_rebuild, (list(reversed(self.items())),))

    # -- the operations (spec semantics in each docstring) ---------------------------------

    def register(self, name: str, array: np.ndarray) -> "Registry":
        """Spec: prepend ``(name, ⟨array.shape, array⟩)`` (an older entry of that name is
        shadowed, kept).  O(log32 n): one Map.get, one Map.set, the order cell, and one chain
        cell only when the name is already present."""
        slots = self.slots
        older = slots.get(name)
        r = _new(Registry)  # _make inlined: this is the hottest path of a large build
        _set_order(r, (name, self.order))
        _set_slots(r, slots.set(name, array if older is None else (array, older)))
        _set_length(r, self.length + 1)
        return r

    def lookup(self, name: str, shape: tuple[int, ...]) -> Optional[np.ndarray]:
        """Spec: ``find?`` the FIRST (newest) entry named ``name``; its array if its shape is
        ``shape``, else ``None`` (an older entry is never consulted).  O(log32 n): one Map.get."""
        newest = self.slots.get(name)
        if newest is None:
            return None
        if type(newest) is tuple:
            newest = newest[0]
        return newest if newest.shape == shape else None

    def set_all(self, name: str, array: np.ndarray) -> "Registry":
        """Spec: ``map`` replacing EVERY entry named ``name`` by ``(name, ⟨array.shape, array⟩)``
        (the shape may change); order kept; an absent name leaves the registry as it is
        (``self``).  O(k + log32 n) for the k entries with that name: the chain is rebuilt
        (k - 1 cells), one Map.set."""
        chain = self.slots.get(name)
        if chain is None:
            return self
        new = array
        for _ in range(_chain_length(chain) - 1):
            new = (array, new)
        return Registry._make(self.order, self.slots.set(name, new), self.length)

    def has(self, name: str) -> bool:
        """Spec: ``any`` entry named ``name``.  O(log32 n)."""
        return name in self.slots

    def count(self) -> int:
        """Spec: ``length`` (duplicates counted).  O(1)."""
        return self.length

    def distinct_names(self) -> Iterator[str]:
        """Each name present, once (the keys of ``slots``; no particular order).  O(1) to
        start, O(distinct names) to exhaust."""
        return iter(self.slots.keys())

    def all_names_in(self, other: "Registry") -> bool:
        """Every name of this registry is a name of ``other``.  O(distinct names · log32 n)."""
        present = other.slots
        return all(name in present for name in self.slots.keys())

    def first_names(self, limit: int) -> list[str]:
        """The names of the ``limit`` newest entries (for ``__repr__``).  O(limit): a walk of
        ``order``, no lookups."""
        out: list[str] = []
        cells = self.order
        while cells is not None and len(out) < limit:
            name, cells = cells
            out.append(name)
        return out

    def items(self) -> list[Entry]:
        """All entries in list order, newest first (the abstraction).  O(n): one walk of
        ``order`` with a per-name cursor into ``slots`` (one Map lookup per distinct name)."""
        slots = self.slots
        cursors: dict = {}
        out: list[Entry] = []
        cells = self.order
        while cells is not None:
            name, cells = cells
            chain = cursors[name] if name in cursors else slots[name]
            if type(chain) is tuple:
                array, cursors[name] = chain
            else:
                array, cursors[name] = chain, None
            out.append(Entry(name, array.shape, array))
        return out

    def names(self) -> list[str]:
        """Spec: ``map (·.1)`` — names in list order, duplicates kept.  O(n): a walk of
        ``order``, no lookups."""
        out: list[str] = []
        cells = self.order
        while cells is not None:
            name, cells = cells
            out.append(name)
        return out

    # -- invariant (for tests and the model cross-check) -------------------------------------

    def invariant_violations(self) -> list[str]:
        """The ways this registry breaks I1/I2 (empty when the index is consistent).  O(n)."""
        problems: list[str] = []
        occurrences: dict[str, int] = {}
        cells, cell_count = self.order, 0
        while cells is not None:
            if not (isinstance(cells, tuple) and len(cells) == 2):
                problems.append(f"I1: an order cell is not a (name, rest) pair: {cells!r}")
                break
            name, cells = cells
            occurrences[name] = occurrences.get(name, 0) + 1
            cell_count += 1
        if cell_count != self.length:
            problems.append(f"I1: order has {cell_count} cells, length is {self.length}")
        for name, chain in self.slots.items():
            k = 0
            while type(chain) is tuple:
                if len(chain) != 2 or type(chain[0]) is not np.ndarray:
                    k = -1
                    break
                k += 1
                chain = chain[1]
            if k < 0 or type(chain) is not np.ndarray:
                problems.append(f"I2: {name!r} maps to a value that is not a chain (an array, or an (array, chain) pair)")
                continue
            k += 1
            if k != occurrences.get(name, 0):
                problems.append(f"I2: {name!r}'s chain has {k} entries, {name!r} occurs {occurrences.get(name, 0)} times in order")
        missing = [name for name in occurrences if name not in self.slots]
        if missing:
            problems.append(f"I2: names in order that are not keys of slots: {sorted(missing)}")
        return problems


_new = object.__new__
# The slot descriptors' setters: __setattr__ is blocked, and these skip the generic lookup.
_set_order = Registry.order.__set__
_set_slots = Registry.slots.__set__
_set_length = Registry.length.__set__

#: The empty registry (``[]``).
EMPTY: Registry = Registry._make(None, immutables.Map(), 0)


def _rebuild(items_oldest_first: list) -> Registry:
    from .arrays import freeze

    r = EMPTY
    for name, shape, array in items_oldest_first:
        array = freeze(np.asarray(array))  # freeze keeps the array's shape: the entry's shape
        if array.shape != tuple(shape):
            raise ValueError(f"unpickle: entry {name!r} records shape {tuple(shape)}, its array has {array.shape}")
        r = r.register(name, array)
    return r
