"""The impl's hashed registry (``impl/registry.py``, layout in its module docstring) as a Z3 model.

The model keeps the impl's actual data structure, field by field:

==================  ======================================================================
impl                model
==================  ======================================================================
``order``           ``NameList`` (a cons list of names, newest first, one cell per entry)
``slots``           ``Array(String, OptChain)``: ``absentName`` where the Map has no key,
                    ``presentChain(c)`` where it maps the name to the chain ``c`` (so a key
                    mapped to an EMPTY chain stays representable; I2 forbids it)
chain cell          ``Chain``: ``cnil`` | ``ccons(shape, value, rest)`` — the flat 3-tuple
                    ``(shape, array, rest)``; the shape tuple as a ``Shape`` (a faithful
                    encoding: ofList/toList are inverses, obligation family 1), the array as
                    an opaque value id, as in the spec model
``length``          ``Int``
==================  ======================================================================

``register`` / ``lookup`` / ``set_all`` / ``has`` / ``names`` / ``count`` / ``clear`` follow
the impl's code step by step (``slots.get(name)`` is :func:`chain_of`: ``None`` for an
absent key); ``set_all`` stores ``fill(chain)``, a chain of the same length whose cells are
all the new ``(shape, value)``.

Invariant: I1 ``order`` has ``length`` cells; I2 for every name, ``slots[name]`` is absent if
the name does not occur in ``order``, else a chain with exactly as many cells as occurrences.

Abstraction (``toSpec``).  The impl's ``items()`` walks ``order`` and, for each occurrence of a
name, takes the next cell of that name's chain (a per-name cursor).  The model states the same
walk without the cursor: the occurrence of ``n`` that has ``j`` older occurrences of ``n``
after it in ``order`` takes the cell of ``n``'s chain that has ``j`` cells after it
(``cellFrom(chain, j)``).  Under I2 (chain length = occurrences) the two pick the same cell:
the newest occurrence has ``k - 1`` older ones and takes the head, the next takes the second
cell, and so on.  Stated this way the array ``slots`` stays FIXED along the recursion, so every
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
    "chain_of",
    "INDEX",
    "INDEX_DEFINITIONS",
]

_chain = z3.Datatype("Chain")
_chain.declare("cnil")
_chain.declare("ccons", ("cshape", Shape), ("cvalue", Val), ("ctail", _chain))
#: A chain of a name: ``cnil`` | ``ccons(shape, value, rest)`` (the impl's ``(shape, array, rest)``).
Chain = _chain.create()
OptChain = _datatype("OptChain", ("absentName",), ("presentChain", ("theChain", Chain)))
SlotsSort = z3.ArraySort(Str, OptChain)
IndexRegistry = _datatype(
    "IndexRegistry",
    ("mkRegistry", ("order", NameList), ("slots", SlotsSort), ("length", Nat)),
)


def chain_of(slot: z3.ExprRef) -> z3.ExprRef:
    """``slots.get(name)``: the chain, or nil (``None``) for an absent key."""
    return z3.If(OptChain.is_absentName(slot), Chain.cnil, OptChain.theChain(slot))


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
            lambda f, c: z3.If(K.is_cnil(c), z3.IntVal(0), 1 + f(K.ctail(c))),
        )
        chainLength = self.chainLength
        # set_all's new chain: as many cells as c, each (s, v)
        self.fill = define_rec(
            "Index.fill" + sfx, [("c", K), ("s", Shape), ("v", Val)], K,
            lambda f, c, s, v: z3.If(K.is_cnil(c), K.cnil, K.ccons(s, v, f(K.ctail(c), s, v))),
        )
        # the cell of c that has exactly j cells after it (cnil if none)
        self.cellFrom = define_rec(
            "Index.cellFrom" + sfx, [("c", K), ("j", Nat)], K,
            lambda f, c, j: z3.If(
                K.is_cnil(c), K.cnil, z3.If(chainLength(K.ctail(c)) == j, c, f(K.ctail(c), j))
            ),
        )
        cellFrom, occurrences = self.cellFrom, self.occurrences
        # last cell of a chain (only the "lookup-oldest" variant uses it)
        self.lastCell = define_rec(
            "Index.lastCell" + sfx, [("c", K)], K,
            lambda f, c: z3.If(K.is_cnil(c), K.cnil, z3.If(K.is_cnil(K.ctail(c)), c, f(K.ctail(c)))),
        )

        def spec_entry(S, h, rest):
            cell = cellFrom(chain_of(S[h]), occurrences(rest, h))
            return Entry.entry(h, AnyTensor.anyTensor(K.cshape(cell), K.cvalue(cell)))

        # abstraction: for each cell h of o, h's chain cell with as many cells after it as h
        # has occurrences after it in o (see the module docstring)
        self.toSpecList = define_rec(
            "Index.toSpec" + sfx, [("o", N), ("S", SlotsSort)], Registry,
            lambda f, o, S: z3.If(
                N.is_snil(o), Registry.rnil, Registry.rcons(spec_entry(S, N.shead(o), N.stail(o)), f(N.stail(o), S))
            ),
        )

        # items(): walk o with a per-name cursor — each occurrence takes the head of its name's
        # chain, and the rest of the walk sees that chain's tail (the registry docstring's form)
        def items_entry(S, h):
            c = chain_of(S[h])
            return Entry.entry(h, AnyTensor.anyTensor(K.cshape(c), K.cvalue(c)))

        self.itemsWalk = define_rec(
            "Index.items" + sfx, [("o", N), ("S", SlotsSort)], Registry,
            lambda f, o, S: z3.If(
                N.is_snil(o), Registry.rnil,
                Registry.rcons(items_entry(S, N.shead(o)),
                               f(N.stail(o), z3.Store(S, N.shead(o), OptChain.presentChain(K.ctail(chain_of(S[N.shead(o)])))))),
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
        S = IndexRegistry.slots(R)
        older = chain_of(S[name])  # slots.get(name)
        if self.variant == "register-forgets-older-entries":  # broken on purpose: the chain restarts
            older = Chain.cnil
        return IndexRegistry.mkRegistry(
            NameList.scons(name, IndexRegistry.order(R)),
            z3.Store(S, name, OptChain.presentChain(Chain.ccons(s, v, older))),
            IndexRegistry.length(R) + 1,
        )

    def lookup(self, R, name, s) -> z3.ExprRef:
        cell = chain_of(IndexRegistry.slots(R)[name])
        if self.variant == "lookup-oldest":  # broken on purpose: the oldest entry wins
            cell = self.lastCell(cell)
        return z3.If(
            Chain.is_cnil(cell),
            OptTensor.noTensor,
            z3.If(Chain.cshape(cell) == s, OptTensor.someTensor(Chain.cvalue(cell)), OptTensor.noTensor),
        )

    def set_all(self, R, name, s, v) -> z3.ExprRef:
        S = IndexRegistry.slots(R)
        cell = chain_of(S[name])
        new = self.fill(cell, s, v)
        if self.variant == "set_all-newest-only":  # broken on purpose: only the head cell changes
            new = Chain.ccons(s, v, Chain.ctail(cell))
        updated = IndexRegistry.mkRegistry(
            IndexRegistry.order(R), z3.Store(S, name, OptChain.presentChain(new)), IndexRegistry.length(R)
        )
        return z3.If(Chain.is_cnil(cell), R, updated)

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
