"""The impl's hashed registry (``impl/registry.py``, layout in notes/impl-design.md) as a Z3 model.

The model keeps the impl's actual data structure, field by field:

==================  ======================================================================
impl                model
==================  ======================================================================
``order``           ``IdList`` (a cons list of Ints, newest first)
``entries``         ``Array(Int, OptImplEntry)``: ``absentEntry`` where the Map has no key
``by_name``         ``Array(String, OptIds)``: ``absentName`` where the Map has no key, so a
                    key mapped to an EMPTY list stays representable (I2 forbids it)
``length``          ``Int``
``next_entry_id``   ``Int``
``Entry``           ``implEntry(name, shape, value)``: the shape tuple as a ``Shape`` (a
                    faithful encoding: ofList/toList are inverses, obligation family 1), the
                    array as an opaque value id, as in the spec model
==================  ======================================================================

``register`` / ``lookup`` / ``set_all`` / ``has`` / ``names`` / ``count`` / ``clear`` follow
the impl's code step by step; ``set_all`` stores the same entry under every id of
``by_name[name]`` (``storeAll``, a fold over that list).  The invariant I1/I2 and the
abstraction ``toSpec`` (impl → spec list) are stated as in the design note.  One
strengthening: I1 also says ``0 ≤ id`` for ids in ``order`` (the impl's own check) and
``next_entry_id ≥ 0`` (true of ``EMPTY``, preserved, needed so the next id is in range).
"""

from __future__ import annotations

import z3

from .model import AnyTensor, Entry, NameList, Nat, OptTensor, Registry, Shape, Str, Val, _datatype, _list_sort, define_rec

__all__ = [
    "IdList",
    "ImplEntry",
    "OptImplEntry",
    "OptIds",
    "IndexRegistry",
    "EntriesSort",
    "ByNameSort",
    "IndexModel",
    "INDEX_VARIANTS",
    "build_index_model",
    "INDEX",
    "INDEX_DEFINITIONS",
]

IdList = _list_sort("IdList", z3.IntSort(), "i")
ImplEntry = _datatype("ImplEntry", ("implEntry", ("ename", Str), ("eshape", Shape), ("evalue", Val)))
OptImplEntry = _datatype("OptImplEntry", ("absentEntry",), ("presentEntry", ("theImplEntry", ImplEntry)))
OptIds = _datatype("OptIds", ("absentName",), ("presentIds", ("theIds", IdList)))
EntriesSort = z3.ArraySort(z3.IntSort(), OptImplEntry)
ByNameSort = z3.ArraySort(Str, OptIds)
IndexRegistry = _datatype(
    "IndexRegistry",
    (
        "mkRegistry",
        ("order", IdList),
        ("entries", EntriesSort),
        ("by_name", ByNameSort),
        ("length", Nat),
        ("next_entry_id", Nat),
    ),
)


#: Variants with one operation deliberately broken (for the tests that show the family-5
#: obligations have teeth); ``"impl"`` is the faithful model of impl/registry.py.
INDEX_VARIANTS = ("impl", "lookup-oldest", "set_all-newest-only", "by_name-last-write-wins")


class IndexModel:
    """The impl registry's operations, invariant and abstraction function."""

    def __init__(self, variant: str = "impl") -> None:
        if variant not in INDEX_VARIANTS:
            raise ValueError(f"unknown index model variant {variant!r}; expected one of {INDEX_VARIANTS}")
        self.variant = variant
        sfx = "" if variant == "impl" else f"[{variant}]"
        I = IdList

        def present_named(E, k, name):
            slot = E[k]
            return z3.And(OptImplEntry.is_presentEntry(slot), ImplEntry.ename(OptImplEntry.theImplEntry(slot)) == name)

        self.idLength = define_rec(
            "Index.length(order)" + sfx, [("o", I)], Nat,
            lambda f, o: z3.If(I.is_inil(o), z3.IntVal(0), 1 + f(I.itail(o))),
        )
        self.member = define_rec(
            "Index.member" + sfx, [("k", z3.IntSort()), ("o", I)], z3.BoolSort(),
            lambda f, k, o: z3.If(I.is_inil(o), z3.BoolVal(False), z3.Or(I.ihead(o) == k, f(k, I.itail(o)))),
            decreasing=1,
        )
        member = self.member
        self.distinct = define_rec(
            "Index.distinct" + sfx, [("o", I)], z3.BoolSort(),
            lambda f, o: z3.If(
                I.is_inil(o), z3.BoolVal(True), z3.And(z3.Not(member(I.ihead(o), I.itail(o))), f(I.itail(o)))
            ),
        )
        self.allKeys = define_rec(
            "Index.allKeys" + sfx, [("o", I), ("E", EntriesSort)], z3.BoolSort(),
            lambda f, o, E: z3.If(
                I.is_inil(o), z3.BoolVal(True), z3.And(OptImplEntry.is_presentEntry(E[I.ihead(o)]), f(I.itail(o), E))
            ),
        )
        self.allInRange = define_rec(
            "Index.allInRange" + sfx, [("o", I), ("bound", z3.IntSort())], z3.BoolSort(),
            lambda f, o, b: z3.If(
                I.is_inil(o), z3.BoolVal(True),
                z3.And(0 <= I.ihead(o), I.ihead(o) < b, f(I.itail(o), b)),
            ),
        )
        # [eid in o (same order) with entries[eid].name == name]
        self.idsNamed = define_rec(
            "Index.idsNamed" + sfx, [("o", I), ("E", EntriesSort), ("name", Str)], I,
            lambda f, o, E, name: z3.If(
                I.is_inil(o), I.inil,
                z3.If(present_named(E, I.ihead(o), name), I.icons(I.ihead(o), f(I.itail(o), E, name)), f(I.itail(o), E, name)),
            ),
        )

        def spec_entry(E, k):
            e = OptImplEntry.theImplEntry(E[k])
            return Entry.entry(ImplEntry.ename(e), AnyTensor.anyTensor(ImplEntry.eshape(e), ImplEntry.evalue(e)))

        self.specEntry = spec_entry
        # abstraction: [(entries[eid].name, ⟨entries[eid].shape, entries[eid].value⟩) for eid in o]
        self.toSpecList = define_rec(
            "Index.toSpec" + sfx, [("o", I), ("E", EntriesSort)], Registry,
            lambda f, o, E: z3.If(I.is_inil(o), Registry.rnil, Registry.rcons(spec_entry(E, I.ihead(o)), f(I.itail(o), E))),
        )
        # for eid in ids: entries[eid] = entry   (set_all's loop)
        self.storeAll = define_rec(
            "Index.storeAll" + sfx, [("ids", I), ("E", EntriesSort), ("e", ImplEntry)], EntriesSort,
            lambda f, ids, E, e: z3.If(
                I.is_inil(ids), E, z3.Store(f(I.itail(ids), E, e), I.ihead(ids), OptImplEntry.presentEntry(e))
            ),
        )
        # Proof helper (no impl counterpart): every id of o is in p.
        self.subsetOf = define_rec(
            "Index.subsetOf" + sfx, [("o", I), ("p", I)], z3.BoolSort(),
            lambda f, o, p: z3.If(I.is_inil(o), z3.BoolVal(True), z3.And(member(I.ihead(o), p), f(I.itail(o), p))),
        )
        # last id of a list (only the "lookup-oldest" variant uses it)
        self.lastId = define_rec(
            "Index.lastId" + sfx, [("o", I)], z3.IntSort(),
            lambda f, o: z3.If(
                I.is_inil(o), z3.IntVal(-1), z3.If(I.is_inil(I.itail(o)), I.ihead(o), f(I.itail(o)))
            ),
        )
        # names(): [entries[eid].name for eid in order]
        self.namesOf = define_rec(
            "Index.names" + sfx, [("o", I), ("E", EntriesSort)], NameList,
            lambda f, o, E: z3.If(
                I.is_inil(o), NameList.snil,
                NameList.scons(ImplEntry.ename(OptImplEntry.theImplEntry(E[I.ihead(o)])), f(I.itail(o), E)),
            ),
        )

    # -- the operations -------------------------------------------------------------------------
    @staticmethod
    def empty() -> z3.ExprRef:
        """``EMPTY`` (also what ``clear`` returns)."""
        return IndexRegistry.mkRegistry(
            IdList.inil, z3.K(z3.IntSort(), OptImplEntry.absentEntry), z3.K(Str, OptIds.absentName), 0, 0
        )

    def clear(self, R) -> z3.ExprRef:
        return self.empty()

    def register(self, R, name, s, v) -> z3.ExprRef:
        eid = IndexRegistry.next_entry_id(R)
        B = IndexRegistry.by_name(R)
        old = B[name]
        old_ids = z3.If(OptIds.is_absentName(old), IdList.inil, OptIds.theIds(old))  # by_name.get(name) (None = nil)
        if self.variant == "by_name-last-write-wins":  # broken on purpose: forgets older ids
            old_ids = IdList.inil
        return IndexRegistry.mkRegistry(
            IdList.icons(eid, IndexRegistry.order(R)),
            z3.Store(IndexRegistry.entries(R), eid, OptImplEntry.presentEntry(ImplEntry.implEntry(name, s, v))),
            z3.Store(B, name, OptIds.presentIds(IdList.icons(eid, old_ids))),
            IndexRegistry.length(R) + 1,
            eid + 1,
        )

    def lookup(self, R, name, s) -> z3.ExprRef:
        ids = IndexRegistry.by_name(R)[name]
        first = IdList.ihead(OptIds.theIds(ids))
        if self.variant == "lookup-oldest":  # broken on purpose: the oldest entry wins
            first = self.lastId(OptIds.theIds(ids))
        e = OptImplEntry.theImplEntry(IndexRegistry.entries(R)[first])
        return z3.If(
            OptIds.is_absentName(ids),
            OptTensor.noTensor,
            z3.If(ImplEntry.eshape(e) == s, OptTensor.someTensor(ImplEntry.evalue(e)), OptTensor.noTensor),
        )

    def set_all(self, R, name, s, v) -> z3.ExprRef:
        ids = IndexRegistry.by_name(R)[name]
        targets = OptIds.theIds(ids)
        if self.variant == "set_all-newest-only":  # broken on purpose: only the newest entry changes
            targets = IdList.icons(IdList.ihead(targets), IdList.inil)
        updated = IndexRegistry.mkRegistry(
            IndexRegistry.order(R),
            self.storeAll(targets, IndexRegistry.entries(R), ImplEntry.implEntry(name, s, v)),
            IndexRegistry.by_name(R),
            IndexRegistry.length(R),
            IndexRegistry.next_entry_id(R),
        )
        return z3.If(OptIds.is_absentName(ids), R, updated)

    @staticmethod
    def has(R, name) -> z3.BoolRef:
        return OptIds.is_presentIds(IndexRegistry.by_name(R)[name])

    @staticmethod
    def all_names_in(R, other) -> z3.BoolRef:
        """``all(name in other.by_name for name in R.by_name.keys())`` (the impl's
        is_valid_context is ``gradients.all_names_in(variables)``)."""
        name = z3.Const("name", Str)
        return z3.ForAll(
            [name],
            z3.Implies(OptIds.is_presentIds(IndexRegistry.by_name(R)[name]),
                       OptIds.is_presentIds(IndexRegistry.by_name(other)[name])),
        )

    def names(self, R) -> z3.ExprRef:
        return self.namesOf(IndexRegistry.order(R), IndexRegistry.entries(R))

    @staticmethod
    def count(R) -> z3.ExprRef:
        return IndexRegistry.length(R)

    # -- invariant and abstraction ----------------------------------------------------------
    def I1(self, R) -> z3.BoolRef:
        o, E = IndexRegistry.order(R), IndexRegistry.entries(R)
        k = z3.Const("k", z3.IntSort())
        return z3.And(
            self.idLength(o) == IndexRegistry.length(R),
            self.distinct(o),
            self.allKeys(o, E),
            self.allInRange(o, IndexRegistry.next_entry_id(R)),
            IndexRegistry.next_entry_id(R) >= 0,
            z3.ForAll([k], z3.Implies(OptImplEntry.is_presentEntry(E[k]), self.member(k, o))),
        )

    def byNameExpected(self, o, E, name) -> z3.ExprRef:
        """What I2 says ``by_name[name]`` is: the ids named ``name`` in order, no key if none."""
        ids = self.idsNamed(o, E, name)
        return z3.If(IdList.is_inil(ids), OptIds.absentName, OptIds.presentIds(ids))

    def I2(self, R) -> z3.BoolRef:
        o, E, B = IndexRegistry.order(R), IndexRegistry.entries(R), IndexRegistry.by_name(R)
        name = z3.Const("name", Str)
        return z3.ForAll([name], B[name] == self.byNameExpected(o, E, name))

    def invariant(self, R) -> z3.BoolRef:
        return z3.And(self.I1(R), self.I2(R))

    def toSpec(self, R) -> z3.ExprRef:
        """The abstraction: the spec list this registry stands for."""
        return self.toSpecList(IndexRegistry.order(R), IndexRegistry.entries(R))


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
