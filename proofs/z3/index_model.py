"""The impl's hashed registry (``impl/registry.py``, layout in its module docstring) as a Z3 model.

The model keeps the impl's actual data structure, field by field — except the names, which it
keeps as the flat list the impl's chunks stand for:

======================  ======================================================================
impl                    model
======================  ======================================================================
``spine``, ``tail``     ``order``: a ``NameList`` (names newest first, one cell per entry) — the
                        flattening of the impl's chunked list (``Registry.order_names``), not
                        the chunks themselves
``slots``               ``Array(String, OptChain)``: ``absentName`` where the Map has no key,
                        ``presentChain(c)`` where it maps the name to the chain ``c``
stored array            ``AnyTensor``: ``anyTensor(s, t)`` — the frozen array's ``.shape`` as a
                        ``Shape`` (a faithful encoding: ofList/toList are inverses, obligation
                        family 1) and the array itself as an opaque value id, as in the spec model;
                        the entry's shape is the array's own (no shape is stored beside it)
chain                   ``Chain``: ``carray(a)`` — the bare array, a name's only (or oldest) entry
                        | ``ccell(a, rest)`` — the 2-tuple ``(array, rest)``, a newer entry in
                        front of the older ones; a chain is never empty
``length``              ``Int``
======================  ======================================================================

``register`` / ``lookup`` / ``set_all`` / ``has`` / ``names`` / ``count`` / ``clear`` follow
the impl's code step by step: ``register`` stores ``carray(a)`` for an absent name and
``ccell(a, older)`` for a present one; ``lookup`` compares the shape of :func:`newest` (the
head array) with the requested one; ``set_all`` stores ``fill(chain, a)``, a chain of the same
length (and the same constructors) whose arrays are all ``a``.

What the model cannot represent: an impl key mapped to something that is no chain (``None``,
a cell whose rest is ``None``, a 3-tuple, ...).  The ``Chain`` sort has no such value, so the
"key with an empty chain" state of the former layout (the ``(shape, array, rest)`` cells ended
in ``None``) is ruled out by the type; the impl's I2 check rejects those values, and the term
encoding of an impl state refuses them (``concrete.chain_term`` raises), so the replay can
never compare them silently.

The chunks are not modelled: the impl stores ``order`` as a tuple ``tail`` of its newest names
and a cons list ``spine`` of CHUNK-name tuples (impl/registry.py says why), and the model reasons
about their flattening only.  That the chunks flatten to the ``order`` the model assumes — across
flushes, shadowed duplicates and ``set_all`` — is checked by the sampled replay (crosscheck.py
compares ``Registry.order_names()`` with the model's ``order`` after every step, on random
sequences and on a trap sequence crossing two chunk boundaries) and by bounded exhaustive tests
(tests/impl/test_registry.py: every length up to 3 * CHUNK + 1), not by a Z3 proof.  The
chunks' own shape (I1's layout part, ``Registry.layout_violations``) has no model counterpart:
the term encoding of an impl state refuses a malformed layout, as it refuses a malformed chain.

Invariant: I1 ``order`` has ``length`` cells (the impl's I1 says more: well-formed chunks,
``length % CHUNK`` names in ``tail``, ``length // CHUNK`` chunks on ``spine``); I2 for every
name, ``slots[name]`` is absent if the name does not occur in ``order``, else a chain with
exactly as many entries as occurrences.

Abstraction (``toSpec``).  The impl's ``items()`` walks ``order`` and, for each occurrence of a
name, takes the next entry of that name's chain (a per-name cursor).  The model states the same
walk without the cursor: the occurrence of ``n`` that has ``j`` older occurrences of ``n``
after it in ``order`` takes the array of ``n``'s chain that has ``j`` entries after it
(``entryFrom(chain, j)``).  Under I2 (chain length = occurrences) the two pick the same array:
the newest occurrence has ``k - 1`` older ones and takes the head, the next takes the second
entry, and so on.  Stated this way the array ``slots`` stays FIXED along the recursion, so every
lemma is a plain structural induction on ``order``; the cursor form (``toSpec(rest,
S[n := tail S[n]])``) changes the array at each step and needs every lemma generalised over it
and Z3 to commute ``Store`` terms inside the induction hypothesis.  ``itemsWalk`` is the cursor
form; the replay against the impl (crosscheck.py) compares both with ``items()`` after every
step, so their agreement is sampled, not proved (a Z3 proof of it by induction generalising
the array was tried and found seed-dependent).
"""

from __future__ import annotations

import z3

from .model import AnyTensor, Entry, NameList, Nat, OptTensor, Registry, Shape, Str, Val, _datatype, define_rec

__all__ = [
    "Chain",
    "OptChain",
    "IndexRegistry",
    "SlotsSort",
    "IndexModel",
    "INDEX_VARIANTS",
    "build_index_model",
    "newest",
    "push",
    "slot_length",
    "INDEX",
    "INDEX_DEFINITIONS",
]

_chain = z3.Datatype("Chain")
_chain.declare("carray", ("theArray", AnyTensor))
_chain.declare("ccell", ("cellArray", AnyTensor), ("ctail", _chain))
#: A chain of a name: ``carray(a)`` (the impl's bare array) | ``ccell(a, rest)`` (its ``(array, rest)``).
Chain = _chain.create()
OptChain = _datatype("OptChain", ("absentName",), ("presentChain", ("theChain", Chain)))
SlotsSort = z3.ArraySort(Str, OptChain)
IndexRegistry = _datatype(
    "IndexRegistry",
    ("mkRegistry", ("order", NameList), ("slots", SlotsSort), ("length", Nat)),
)


def newest(chain: z3.ExprRef) -> z3.ExprRef:
    """The head array of a chain: the array itself, or a cell's first field."""
    return z3.If(Chain.is_carray(chain), Chain.theArray(chain), Chain.cellArray(chain))


def push(slot: z3.ExprRef, a: z3.ExprRef) -> z3.ExprRef:
    """``register``'s new value of a key: ``a`` for an absent key, ``(a, older)`` else."""
    return z3.If(OptChain.is_absentName(slot), Chain.carray(a), Chain.ccell(a, OptChain.theChain(slot)))


def slot_length(slot: z3.ExprRef, chain_length) -> z3.ExprRef:
    """How many entries a key holds (0 for an absent key)."""
    return z3.If(OptChain.is_absentName(slot), z3.IntVal(0), chain_length(OptChain.theChain(slot)))


#: Variants with one operation deliberately broken (for the tests that show the family-5
#: obligations have teeth); ``"impl"`` is the faithful model of impl/registry.py.
INDEX_VARIANTS = ("impl", "lookup-oldest", "set_all-newest-only", "register-forgets-older-entries")


class IndexModel:
    """The impl registry's operations, invariant and abstraction function."""

    def __init__(self, variant: str = "impl") -> None:
        if variant not in INDEX_VARIANTS:
            raise ValueError(f"unknown index model variant {variant!r}; expected one of {INDEX_VARIANTS}")
        self.variant = variant
        sfx = "" if variant == "impl" else f"[{variant}]"
        N, K = NameList, Chain

        self.orderLength = define_rec(
            "Index.length(order)" + sfx, [("o", N)], Nat,
            lambda f, o: z3.If(N.is_snil(o), z3.IntVal(0), 1 + f(N.stail(o))),
        )
        # how many cells of o hold name
        self.occurrences = define_rec(
            "Index.occurrences" + sfx, [("o", N), ("name", Str)], Nat,
            lambda f, o, name: z3.If(
                N.is_snil(o), z3.IntVal(0), z3.If(N.shead(o) == name, 1, 0) + f(N.stail(o), name)
            ),
        )
        self.chainLength = define_rec(
            "Index.length(chain)" + sfx, [("c", K)], Nat,
            lambda f, c: z3.If(K.is_carray(c), z3.IntVal(1), 1 + f(K.ctail(c))),
        )
        chainLength = self.chainLength
        # set_all's new chain: as many entries as c (the same constructors), each the array a
        self.fill = define_rec(
            "Index.fill" + sfx, [("c", K), ("a", AnyTensor)], K,
            lambda f, c, a: z3.If(K.is_carray(c), K.carray(a), K.ccell(a, f(K.ctail(c), a))),
        )
        # the array of c that has exactly j entries after it (the oldest array if none has)
        self.entryFrom = define_rec(
            "Index.entryFrom" + sfx, [("c", K), ("j", Nat)], AnyTensor,
            lambda f, c, j: z3.If(
                K.is_carray(c), K.theArray(c), z3.If(chainLength(K.ctail(c)) == j, K.cellArray(c), f(K.ctail(c), j))
            ),
        )
        entryFrom, occurrences = self.entryFrom, self.occurrences
        # the oldest array of a chain (only the "lookup-oldest" variant uses it)
        self.oldest = define_rec(
            "Index.oldest" + sfx, [("c", K)], AnyTensor,
            lambda f, c: z3.If(K.is_carray(c), K.theArray(c), f(K.ctail(c))),
        )

        def spec_entry(S, h, rest):
            return Entry.entry(h, entryFrom(OptChain.theChain(S[h]), occurrences(rest, h)))

        # abstraction: for each cell h of o, the array of h's chain with as many entries after
        # it as h has occurrences after it in o (see the module docstring)
        self.toSpecList = define_rec(
            "Index.toSpec" + sfx, [("o", N), ("S", SlotsSort)], Registry,
            lambda f, o, S: z3.If(
                N.is_snil(o), Registry.rnil, Registry.rcons(spec_entry(S, N.shead(o), N.stail(o)), f(N.stail(o), S))
            ),
        )

        # items(): walk o with a per-name cursor — each occurrence takes the head array of its
        # name's chain, and the rest of the walk sees that chain's tail (nothing after a bare
        # array: the key is then absent for the rest of the walk)
        def rest_slot(slot):
            c = OptChain.theChain(slot)
            return z3.If(K.is_ccell(c), OptChain.presentChain(K.ctail(c)), OptChain.absentName)

        self.itemsWalk = define_rec(
            "Index.items" + sfx, [("o", N), ("S", SlotsSort)], Registry,
            lambda f, o, S: z3.If(
                N.is_snil(o), Registry.rnil,
                Registry.rcons(Entry.entry(N.shead(o), newest(OptChain.theChain(S[N.shead(o)]))),
                               f(N.stail(o), z3.Store(S, N.shead(o), rest_slot(S[N.shead(o)])))),
            ),
        )

    # -- the operations -------------------------------------------------------------------------
    @staticmethod
    def empty() -> z3.ExprRef:
        """``EMPTY`` (also what ``clear`` returns)."""
        return IndexRegistry.mkRegistry(NameList.snil, z3.K(Str, OptChain.absentName), 0)

    def clear(self, R) -> z3.ExprRef:
        return self.empty()

    def register(self, R, name, s, v) -> z3.ExprRef:
        """``register(name, array)`` with the array ``⟨s, v⟩`` (its shape ``s``)."""
        S = IndexRegistry.slots(R)
        slot = S[name]  # slots.get(name)
        if self.variant == "register-forgets-older-entries":  # broken on purpose: the chain restarts
            slot = OptChain.absentName
        return IndexRegistry.mkRegistry(
            NameList.scons(name, IndexRegistry.order(R)),
            z3.Store(S, name, OptChain.presentChain(push(slot, AnyTensor.anyTensor(s, v)))),
            IndexRegistry.length(R) + 1,
        )

    def lookup(self, R, name, s) -> z3.ExprRef:
        slot = IndexRegistry.slots(R)[name]
        head = newest(OptChain.theChain(slot))
        if self.variant == "lookup-oldest":  # broken on purpose: the oldest entry wins
            head = self.oldest(OptChain.theChain(slot))
        return z3.If(
            OptChain.is_absentName(slot),
            OptTensor.noTensor,
            z3.If(AnyTensor.s(head) == s, OptTensor.someTensor(AnyTensor.t(head)), OptTensor.noTensor),
        )

    def set_all(self, R, name, s, v) -> z3.ExprRef:
        """``set_all(name, array)`` with the array ``⟨s, v⟩``."""
        S = IndexRegistry.slots(R)
        slot = S[name]
        a = AnyTensor.anyTensor(s, v)
        new = self.fill(OptChain.theChain(slot), a)
        if self.variant == "set_all-newest-only":  # broken on purpose: only the head array changes
            c = OptChain.theChain(slot)
            new = z3.If(Chain.is_carray(c), Chain.carray(a), Chain.ccell(a, Chain.ctail(c)))
        updated = IndexRegistry.mkRegistry(
            IndexRegistry.order(R), z3.Store(S, name, OptChain.presentChain(new)), IndexRegistry.length(R)
        )
        return z3.If(OptChain.is_absentName(slot), R, updated)

    @staticmethod
    def has(R, name) -> z3.BoolRef:
        return OptChain.is_presentChain(IndexRegistry.slots(R)[name])

    @staticmethod
    def all_names_in(R, other) -> z3.BoolRef:
        """``all(name in other.slots for name in R.slots.keys())`` (the impl's
        is_valid_context is ``gradients.all_names_in(variables)``)."""
        name = z3.Const("name", Str)
        return z3.ForAll(
            [name],
            z3.Implies(OptChain.is_presentChain(IndexRegistry.slots(R)[name]),
                       OptChain.is_presentChain(IndexRegistry.slots(other)[name])),
        )

    @staticmethod
    def names(R) -> z3.ExprRef:
        """The impl walks ``order``: the names are the order list itself."""
        return IndexRegistry.order(R)

    @staticmethod
    def count(R) -> z3.ExprRef:
        return IndexRegistry.length(R)

    # -- invariant and abstraction ----------------------------------------------------------
    def I1(self, R) -> z3.BoolRef:
        return self.orderLength(IndexRegistry.order(R)) == IndexRegistry.length(R)

    def slotExpected(self, o, S, name) -> z3.BoolRef:
        """What I2 says of ``slots[name]``: absent when ``name`` does not occur in ``o``, else
        a chain with exactly as many cells as occurrences."""
        slot, k = S[name], self.occurrences(o, name)
        return z3.If(k == 0, OptChain.is_absentName(slot),
                     z3.And(OptChain.is_presentChain(slot), self.chainLength(OptChain.theChain(slot)) == k))

    def slotLength(self, slot) -> z3.ExprRef:
        """How many entries ``slot`` holds (0 when absent)."""
        return slot_length(slot, self.chainLength)

    def I2(self, R) -> z3.BoolRef:
        o, S = IndexRegistry.order(R), IndexRegistry.slots(R)
        name = z3.Const("name", Str)
        return z3.ForAll([name], self.slotExpected(o, S, name))

    def invariant(self, R) -> z3.BoolRef:
        return z3.And(self.I1(R), self.I2(R))

    def toSpec(self, R) -> z3.ExprRef:
        """The abstraction: the spec list this registry stands for."""
        return self.toSpecList(IndexRegistry.order(R), IndexRegistry.slots(R))

    def items(self, R) -> z3.ExprRef:
        """``Registry.items()``: the cursor walk (equal to ``toSpec`` under I2 on every replayed
        state; not a proof obligation — Z3's search for the induction through the changing
        array is seed-dependent)."""
        return self.itemsWalk(IndexRegistry.order(R), IndexRegistry.slots(R))


_INDEX_MODELS: dict[str, IndexModel] = {}


def build_index_model(variant: str = "impl") -> IndexModel:
    """The index model ``variant`` (built once per process; Z3 function names must be unique)."""
    if variant not in _INDEX_MODELS:
        _INDEX_MODELS[variant] = IndexModel(variant)
    return _INDEX_MODELS[variant]


#: The model of impl/registry.py.
INDEX = build_index_model("impl")

#: The definitions of the index model (each has a canary and a cross-validation test).
INDEX_DEFINITIONS: tuple[str, ...] = (
    "Registry.register",
    "Registry.lookup",
    "Registry.set_all",
    "Registry.has",
    "Registry.all_names_in",
    "Registry.names",
    "Registry.count",
    "Registry.clear",
    "I1",
    "I2",
    "toSpec",
)
