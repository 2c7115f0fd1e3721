"""The persistent hashed registry behind ``RuntimeContext`` — the only module that knows its layout.

One :class:`Registry` per Lean list (variables, gradients).  It stores the same sequence of
``(name, tensor)`` entries as the spec's Lean list, newest first, but indexed so that the
operations the runtime performs most cost one hash lookup instead of a list walk.  Built on
ONE ``immutables.Map`` (a HAMT with structural sharing) plus a chunked list of names, so every
update returns a new registry in O(log32 n) and every older registry stays valid and unchanged —
persistence, as in Lean.

Layout (the Z3 model, proofs/z3/index_model.py, mirrors it with ``order`` as a plain list of
names: the flattening of ``spine`` and ``tail`` below)::

    tail     tuple of the ``length % CHUNK`` newest names, in append order (oldest first)
    spine    the older names, CHUNK at a time: a cons list of cells (chunk, rest), newest chunk
             first, where a chunk is a tuple of CHUNK names in append order; nil is None.
             ``order`` (every entry's name, newest first, shadowed duplicates included) is
             reversed(tail), then each chunk of the spine reversed: :meth:`Registry.order_names`
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
objects that die at once, like the previous ``Registry`` and its ``tail``, cancel out).  An
ndarray is not tracked by the GC, and a name's only entry is stored as the bare array;
shadowing a name adds ONE cell ``(array, older)``.  No shape tuple is stored: ``freeze``
(arrays.py) builds every stored header at the entry's shape, so the array's ``.shape`` is the
shape the spec's ``AnyTensor`` keeps — which is why ``register`` and ``set_all`` take the array
only (the one price: ``lookup`` reads ``.shape``, which builds a tuple).  A chain is told apart
from an array by ``type(c) is tuple`` (a stored array is always an ``np.ndarray``, never a
tuple).  The names need their own list: the spec's list interleaves the names, and only it
remembers how (a name's chain knows only its own entries).  It is chunked because a cons list
with one ``(name, rest)`` cell per entry stays GC-tracked in practice: a tuple is untracked
only once everything it holds is, and collections untracked almost none of a long chain of
such cells (measured: after a 1e5 build and a full collection, 99,996 of the 1e5 cells were
still tracked), so a 1e6 build kept 1e6 tracked cells that every full collection walked.  A tuple of
``str`` only is untracked at its first collection, so the chunks and the tail cost the GC
nothing lasting; only the spine cells, one per CHUNK entries, stay tracked.  The list
stays persistent: a ``register`` builds a new ``tail`` tuple (never changes the old one) and
a flush pushes a new spine cell that shares the older spine.

``register`` is one ``Map.get`` + one ``Map.set`` + the new ``tail`` (+ one spine cell every
CHUNK registers, + one chain cell when the name is present), ``lookup`` one ``Map.get`` and a
shape compare on the newest array (Lean's ``find?`` stops at the newest entry, which is exactly
the head of the chain), ``set_all`` rebuilds one chain (Lean's ``map`` touches exactly the
entries of that name) and shares ``spine`` and ``tail``.

Invariants (checked by :meth:`Registry.invariant_violations`):

* I1 ``tail`` is a tuple of ``length % CHUNK`` names (``str``); ``spine`` has exactly
  ``length // CHUNK`` cells, each a ``(chunk, rest)`` pair whose chunk is a tuple of exactly
  CHUNK names (so ``order`` has ``length`` names).
* I2 for every name ``n``: ``slots[n]`` is a chain (an ``np.ndarray``, or an ``(ndarray,
  chain)`` pair) with exactly as many entries as ``n`` occurs in ``order`` (so at least one:
  no key maps to ``None`` or to anything else); every name in ``order`` is a key.

Abstraction: the spec list is obtained by walking ``order`` (the flattening above) and taking,
for each occurrence of a name, the next entry of that name's chain: ``toSpec([], S) = []``,
``toSpec(n :: ns, S) = (n, ⟨a.shape, a⟩) :: toSpec(ns, S[n := rest(S[n])])`` where ``a =
head(S[n])`` (``head(a) = a``, ``head((a, c)) = a``, ``rest((a, c)) = c``) — what
:meth:`Registry.items` computes with a per-name cursor.  (Equivalently, under I2: the
occurrence of ``n`` followed by ``j`` older occurrences takes the entry of the chain that has
``j`` entries after it; the Z3 model states it that way, see index_model.py.)  The Z3 model
reasons about ``order`` as a flat list; that the chunks flatten to it is checked by the sampled
replay (proofs/z3/crosscheck.py) and by bounded exhaustive tests (tests/impl/test_registry.py),
not proved.
"""

from __future__ import annotations

from typing import Iterator, NamedTuple, Optional

import immutables
import numpy as np

__all__ = ["CHUNK", "Entry", "Registry", "EMPTY"]

#: Names per spine chunk.  A register copies the tail (at most CHUNK - 1 pointers); a flush leaves
#: one GC-tracked spine cell per CHUNK entries.  32 was the fastest of 8 / 16 / 32 / 64 / 128 in a
#: 1e6 build of this layer (python -O, GC on: 1.22x / 1.16x / 1.06x / 1.09x / 1.11x the Map's
#: time): smaller chunks leave more tracked cells, larger ones copy longer tails.
CHUNK = 32

# A spine is None (empty) or the cell (chunk, spine): chunk a CHUNK-tuple of names, oldest first.
# A chain (the value of a key of slots) is an array or an (array, chain) pair.
Spine = Optional[tuple]


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

    __slots__ = ("spine", "tail", "slots", "length")

    spine: Spine
    tail: tuple
    slots: immutables.Map
    length: int

    def __init__(self) -> None:
        raise TypeError("Registry values are built by the impl only (start from registry.EMPTY)")

    @staticmethod
    def _make(spine: Spine, tail: tuple, slots: immutables.Map, length: int) -> "Registry":
        r = _new(Registry)
        _set_spine(r, spine)
        _set_tail(r, tail)
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
        return (_rebuild, ([tuple(e) for e in reversed(self.items())],))

    # -- the operations (spec semantics in each docstring) ---------------------------------

    def register(self, name: str, array: np.ndarray) -> "Registry":
        """Spec: prepend ``(name, ⟨array.shape, array⟩)`` (an older entry of that name is
        shadowed, kept).  O(log32 n): one Map.get, one Map.set, a new tail (moved onto the spine
        when it reaches CHUNK names), and one chain cell only when the name is already present."""
        slots = self.slots
        older = slots.get(name)
        r = _new(Registry)  # _make inlined: this is the hottest path of a large build
        tail = self.tail + (name,)
        if len(tail) == CHUNK:
            _set_spine(r, (tail, self.spine))
            _set_tail(r, ())
        else:
            _set_spine(r, self.spine)
            _set_tail(r, tail)
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
        (k - 1 cells), one Map.set; the names (spine, tail) are shared."""
        chain = self.slots.get(name)
        if chain is None:
            return self
        new = array
        for _ in range(_chain_length(chain) - 1):
            new = (array, new)
        return Registry._make(self.spine, self.tail, self.slots.set(name, new), self.length)

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
        """The names of the ``limit`` newest entries (for ``__repr__``).  O(limit + CHUNK): the
        tail and as many chunks as needed, no lookups."""
        out = list(reversed(self.tail))
        spine = self.spine
        while spine is not None and len(out) < limit:
            chunk, spine = spine
            out.extend(reversed(chunk))
        del out[max(limit, 0):]
        return out

    def order_names(self) -> list[str]:
        """``order``: every entry's name, newest first, shadowed duplicates kept — the one
        flattening of ``spine`` and ``tail`` (the Z3 model's ``order`` field, read by the
        concrete encodings of proofs/z3, and what :meth:`names` and :meth:`items` walk).  A fresh
        list.  O(n): C-level ``extend(reversed(chunk))`` per chunk, no lookups."""
        out = list(reversed(self.tail))
        extend = out.extend
        spine = self.spine
        while spine is not None:
            chunk, spine = spine
            extend(reversed(chunk))
        return out

    def items(self) -> list[Entry]:
        """All entries in list order, newest first (the abstraction).  O(n): one walk of
        ``order`` with a per-name cursor into ``slots`` (one Map lookup per distinct name)."""
        slots = self.slots
        cursors: dict = {}
        out: list[Entry] = []
        append = out.append
        for name in self.order_names():
            chain = cursors[name] if name in cursors else slots[name]
            if type(chain) is tuple:
                array, cursors[name] = chain
            else:
                array, cursors[name] = chain, None
            append(Entry(name, array.shape, array))
        return out

    def names(self) -> list[str]:
        """Spec: ``map (·.1)`` — names in list order, duplicates kept (a fresh list).  O(n):
        :meth:`order_names`, no lookups."""
        return self.order_names()

    # -- invariant (for tests and the model cross-check) -------------------------------------

    def layout_violations(self) -> list[str]:
        """The part of I1 that does not involve ``length``: ``tail`` a tuple of fewer than CHUNK
        names, every spine cell a ``(chunk, rest)`` pair whose chunk is a tuple of exactly
        CHUNK names.  A state that breaks it has no ``order`` the Z3 model could represent
        (concrete.index_registry_term refuses it).  O(n)."""
        return self._layout()[0]

    def _layout(self) -> tuple[list[str], int]:
        """(layout violations, spine cells walked)."""
        problems: list[str] = []
        tail = self.tail
        if type(tail) is not tuple or len(tail) >= CHUNK or not all(type(n) is str for n in tail):
            problems.append(f"I1: tail is not a tuple of fewer than {CHUNK} names: {tail!r}")
        spine, cells = self.spine, 0
        while spine is not None:
            if type(spine) is not tuple or len(spine) != 2:
                problems.append(f"I1: spine cell {cells} is not a (chunk, rest) pair: {spine!r}")
                break
            chunk, spine = spine
            if type(chunk) is not tuple or len(chunk) != CHUNK or not all(type(n) is str for n in chunk):
                problems.append(f"I1: spine chunk {cells} is not a tuple of {CHUNK} names: {chunk!r}")
            cells += 1
        return problems, cells

    def invariant_violations(self) -> list[str]:
        """The ways this registry breaks I1/I2 (empty when the index is consistent).  O(n).
        I2 is checked only on a well-formed layout (else ``order`` is not defined)."""
        layout, cells = self._layout()
        problems = list(layout)
        length = self.length
        if type(self.tail) is tuple and len(self.tail) != length % CHUNK:
            problems.append(f"I1: tail has {len(self.tail)} names, length % CHUNK is {length % CHUNK}")
        if cells != length // CHUNK:
            problems.append(f"I1: spine has {cells} cells, length // CHUNK is {length // CHUNK}")
        if layout:
            return problems + ["I2: not checked (order's layout is malformed)"]
        occurrences: dict[str, int] = {}
        for name in self.order_names():
            occurrences[name] = occurrences.get(name, 0) + 1
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
_set_spine = Registry.spine.__set__
_set_tail = Registry.tail.__set__
_set_slots = Registry.slots.__set__
_set_length = Registry.length.__set__

#: The empty registry (``[]``).
EMPTY: Registry = Registry._make(None, (), immutables.Map(), 0)


def _rebuild(items_oldest_first: list) -> Registry:
    """Unpickle a registry.  A pickle may come from anyone, so every entry passes the checks a
    ``RuntimeContext`` applies before storing (a name, a supported array, ONE scalar type, the
    recorded shape its array's); the typed error of the first that fails, nothing built."""
    from torchlean_runtime.errors import ArgumentTypeError, ShapeMismatchError

    from .arrays import check_array, check_name, check_same_dtype, check_shape, freeze

    if type(items_oldest_first) is not list:
        raise ArgumentTypeError(f"unpickle: registry entries must be a list, given {type(items_oldest_first).__name__}")
    r, dtype = EMPTY, None
    for entry in items_oldest_first:
        if type(entry) is not tuple or len(entry) != 3:
            raise ArgumentTypeError(f"unpickle: a registry entry must be a (name, shape, array) tuple, given {type(entry).__name__}")
        name = check_name(entry[0], "unpickle")
        shape = check_shape(entry[1], "unpickle")
        arr = check_array(entry[2], "unpickle")
        dtype = check_same_dtype(dtype, arr, "unpickle", "the registry")
        if arr.shape != shape:
            raise ShapeMismatchError(f"unpickle: entry {name!r} records shape {shape}, its array has {arr.shape}")
        r = r.register(name, freeze(arr))  # freeze keeps the array's shape: the entry's shape
    return r
