"""impl/registry.py: the persistent hashed registry keeps its index invariants (I1, I2 of the
module docstring) and abstracts to the spec's list operations."""

from __future__ import annotations

import gc
import random

import numpy as np
import pytest

from torchlean_runtime.impl.arrays import freeze
from torchlean_runtime.impl.registry import CHUNK, EMPTY, Registry


def _spec_model(ops):
    """The spec's list semantics as a plain Python list of (name, shape, value), newest first."""
    entries: list[tuple] = []
    for op, name, shape, value in ops:
        if op == "register":
            entries.insert(0, (name, shape, value))
        elif op == "set_all":
            entries = [(n, shape, value) if n == name else (n, s, v) for n, s, v in entries]
    return entries


def test_invariants_and_abstraction_under_random_operations() -> None:
    rng = random.Random(7)
    for _ in range(200):
        registry, ops, history = EMPTY, [], []
        for _ in range(rng.randint(0, 25)):
            op = rng.choice(["register", "register", "set_all"])
            name = rng.choice("abcd")
            shape = rng.choice([(), (2,), (0, 3), (0, 4)])
            value = freeze(np.full(shape, float(len(ops))))
            registry = registry.register(name, value) if op == "register" else registry.set_all(name, value)
            ops.append((op, name, shape, value))
            history.append((registry, list(ops)))
            assert registry.invariant_violations() == []
        # every registry along the way still abstracts to the list its prefix of operations built
        for reg, prefix in history:
            model = _spec_model(prefix)
            assert [(e.name, e.shape, e.array) for e in reg.items()] == model
            assert reg.names() == [n for n, _, _ in model] and reg.count() == len(model)
            for name in "abcde":
                first = next(((s, v) for n, s, v in model if n == name), None)
                assert reg.has(name) is (first is not None)
                for shape in [(), (2,), (0, 3), (0, 4)]:
                    expected = first[1] if first is not None and first[0] == shape else None
                    assert reg.lookup(name, shape) is expected


def test_set_all_on_an_absent_name_returns_the_same_registry() -> None:
    r = EMPTY.register("a", freeze(np.zeros(())))
    assert r.set_all("zz", freeze(np.ones(()))) is r


def test_structure_is_shared_and_old_versions_are_unchanged() -> None:
    r1 = EMPTY.register("a", freeze(np.zeros(())))
    r2 = r1.register("b", freeze(np.ones(())))
    r3 = r2.set_all("a", freeze(np.ones(1)))
    assert r1.tail == ("a",) and r2.tail == ("a", "b") and r3.tail is r2.tail  # set_all shares the names
    assert r1.names() == ["a"] and r2.names() == ["b", "a"] and r3.names() == ["b", "a"]
    assert r2.lookup("a", ()) is not None and r3.lookup("a", ()) is None and r3.lookup("a", (1,)) is not None
    assert EMPTY.count() == 0 and EMPTY.names() == []


def test_all_names_in_and_first_names() -> None:
    variables = EMPTY
    for n in "abcab":
        variables = variables.register(n, freeze(np.zeros(())))
    grads = EMPTY.register("a", freeze(np.zeros(()))).register("a", freeze(np.zeros(())))
    assert grads.all_names_in(variables) and EMPTY.all_names_in(EMPTY)
    assert not grads.register("z", freeze(np.zeros(()))).all_names_in(variables)
    assert variables.first_names(3) == ["b", "a", "c"] and variables.first_names(10) == ["b", "a", "c", "b", "a"]


def test_the_invariant_check_can_fail() -> None:
    """invariant_violations is not vacuous: each way of corrupting the index is reported."""
    z = freeze(np.zeros(()))
    r = EMPTY.register("a", z).register("b", z).register("a", z)
    assert r.invariant_violations() == []
    assert r.slots["b"] is z and r.slots["a"] == (z, z)  # one entry: the array itself; two: one cell
    broken = {
        "I2": [
            Registry._make(r.spine, r.tail, r.slots.delete("b"), r.length),  # a name of order is no key
            Registry._make(r.spine, r.tail, r.slots.set("a", z), r.length),  # chain shorter than occurrences
            Registry._make(r.spine, r.tail, r.slots.set("b", (z, z)), r.length),  # chain longer
            Registry._make(r.spine, r.tail, r.slots.set("zz", None), r.length),  # a key mapped to no chain at all
            Registry._make(r.spine, r.tail, r.slots.set("zz", z), r.length),  # a key not in order
            Registry._make(r.spine, r.tail, r.slots.set("a", (z, None)), r.length),  # a cell whose rest is no chain
            Registry._make(r.spine, r.tail, r.slots.set("a", (z, z, None)), r.length),  # the old 3-tuple cell
            Registry._make(r.spine, r.tail, r.slots.set("b", ((), z)), r.length),  # a cell whose head is no array
            Registry._make(r.spine, r.tail, r.slots.set("b", [z]), r.length),  # neither an array nor a pair
        ],
        "I1": [
            Registry._make(r.spine, r.tail, r.slots, r.length + 1),  # length off by one
            Registry._make(r.spine, r.tail[1:], r.slots, r.length),  # a name missing from the tail
        ],
    }
    for invariant, registries in broken.items():
        for b in registries:
            assert any(p.startswith(invariant) for p in b.invariant_violations()), (invariant, b.names(), dict(b.slots))


def _chunked(n: int) -> Registry:
    """n entries over 5 names (duplicates from the sixth entry on)."""
    r, z = EMPTY, freeze(np.zeros(()))
    for k in range(n):
        r = r.register(f"n{k % 5}", z)
    return r


def test_the_invariant_check_catches_corrupted_chunk_states() -> None:
    """Every way of breaking the chunked layout of order (I1) is reported, on a registry whose
    spine has two chunks and whose tail has 5 names."""
    r = _chunked(2 * CHUNK + 5)
    assert r.invariant_violations() == [] and r.layout_violations() == []
    (newest, older), tail = r.spine, r.tail
    assert len(newest) == CHUNK and len(tail) == 5 and older[1] is None
    broken = {
        "tail one name short": Registry._make(r.spine, tail[:-1], r.slots, r.length),
        "tail one name long": Registry._make(r.spine, tail + ("n0",), r.slots, r.length),
        "tail of CHUNK names, not flushed": Registry._make(older, newest, r.slots, r.length - len(tail)),
        "tail longer than CHUNK": Registry._make(older, newest + tail, r.slots, r.length),
        "tail a list": Registry._make(r.spine, list(tail), r.slots, r.length),
        "a non-str in the tail": Registry._make(r.spine, tail[:-1] + (5,), r.slots, r.length),
        "short spine chunk": Registry._make((newest[1:], older), (newest[0],) + tail, r.slots, r.length),
        "long spine chunk": Registry._make((newest + tail[:1], older), tail[1:], r.slots, r.length),
        "a non-str in a chunk": Registry._make((newest[:-1] + (None,), older), tail, r.slots, r.length),
        "a chunk that is a list": Registry._make((list(newest), older), tail, r.slots, r.length),
        "a spine cell that is no pair": Registry._make((newest, older, None), tail, r.slots, r.length),
        "a spine cell that is a list": Registry._make([newest, older], tail, r.slots, r.length),
        "an extra spine cell": Registry._make((newest, r.spine), tail, r.slots, r.length),
        "a spine cell missing": Registry._make(older, tail, r.slots, r.length),
        "flushed without clearing the tail": Registry._make(r.spine, newest, r.slots, r.length - len(tail)),
    }
    for what, b in broken.items():
        assert any(p.startswith("I1") for p in b.invariant_violations()), what
    # the shape of the layout alone (whatever length says) is what the Z3 encoding refuses
    malformed = {"tail of CHUNK names, not flushed", "tail longer than CHUNK", "tail a list",
                 "a non-str in the tail", "short spine chunk", "long spine chunk", "a non-str in a chunk",
                 "a chunk that is a list", "a spine cell that is no pair", "a spine cell that is a list",
                 "flushed without clearing the tail"}
    for what, b in broken.items():
        assert bool(b.layout_violations()) is (what in malformed), what


def test_the_layout_stores_no_shape_and_one_cell_per_shadowed_entry() -> None:
    """The layout of the module docstring: a name with one entry maps to its array itself, a name
    with k entries to k - 1 (array, rest) cells ending in the oldest array; the entry's shape is
    the array's own shape (no shape tuple is stored)."""
    a1, a2, a3, b = (freeze(np.full(k, float(k))) for k in (1, 2, 3, 4))
    r = EMPTY.register("a", a1).register("b", b)
    assert r.slots["a"] is a1 and r.slots["b"] is b
    r = r.register("a", a2).register("a", a3)
    chain = r.slots["a"]
    assert type(chain) is tuple and chain[0] is a3 and chain[1][0] is a2 and chain[1][1] is a1
    assert r.slots["b"] is b  # untouched
    assert [(e.name, e.shape) for e in r.items()] == [("a", (3,)), ("a", (2,)), ("b", (4,)), ("a", (1,))]
    new = freeze(np.zeros((2, 2)))
    s = r.set_all("a", new)
    assert s.slots["a"] == (new, (new, new)) and s.invariant_violations() == []
    assert s.set_all("b", new).slots["b"] is new
    assert s.lookup("a", (2, 2)) is new and s.lookup("a", (3,)) is None


def test_every_stored_array_keeps_the_shape_of_its_entry() -> None:
    """The entry's shape is read off the stored array: every path that stores (register_*,
    set_*, from_spec, unpickle, Registry pickling) stores a header of the entry's shape."""
    import pickle

    from torchlean_runtime.impl import RuntimeContext, from_spec, to_spec

    ctx = RuntimeContext.empty().register_variable("w", np.ones((2, 3))).register_variable("w", np.ones(0))
    ctx = ctx.register_gradient("w", np.ones((3, 2))).set_variable("w", np.arange(6.0).reshape(3, 2))
    ctx = ctx.set_gradient("w", np.ones((1, 0, 2))).register_variable("b", np.float64(2.0))
    views = [np.ones((4, 4))[::2, 1:3], np.ones((2, 3)).T, np.broadcast_to(np.ones(3), (2, 3))]
    for k, v in enumerate(views):
        ctx = ctx.register_variable(f"v{k}", v)
    for c in (ctx, pickle.loads(pickle.dumps(ctx)), from_spec(to_spec(ctx))):
        for registry in (c._variables, c._gradients):
            assert registry.invariant_violations() == []
            for e in registry.items():
                assert e.shape == e.array.shape and not e.array.flags.writeable
        assert c.get_variable("w", (3, 2)) is not None and c.get_gradient("w", (1, 0, 2)) is not None
        assert [c.get_variable(f"v{k}", v.shape) is not None for k, v in enumerate(views)] == [True] * 3
    r = ctx._variables
    back = pickle.loads(pickle.dumps(r))
    assert [(e.name, e.shape) for e in back.items()] == [(e.name, e.shape) for e in r.items()]
    assert back.invariant_violations() == []


def test_unpickling_a_registry_checks_every_entry_as_register_does() -> None:
    """A pickle may come from anyone (attacker finding: a hand-written pickle built a registry of
    non-str names and mixed scalar types): each entry passes the checks of registering it —
    a name, a supported array, one scalar type, its recorded shape — with the typed error."""
    from torchlean_runtime.errors import TorchLeanError
    from torchlean_runtime.impl.registry import _rebuild

    import pytest

    bad = {"TLR_SHAPE_MISMATCH": [("w", (3,), np.ones(2))],
           "TLR_NAME_TYPE": [(7, (1,), np.ones(1))],
           "TLR_SCALAR_MISMATCH": [("a", (1,), np.ones(1)), ("b", (1,), np.ones(1, np.float32))],
           "TLR_SCALAR_TYPE": [("a", (1,), np.ones(1, np.int32))],
           "TLR_ARGUMENT_TYPE": [("a", (1,))]}
    for code, entries in bad.items():
        with pytest.raises(TorchLeanError) as caught:
            _rebuild(entries)
        assert caught.value.code == code, (code, caught.value)
    assert _rebuild([("w", (2,), np.ones(2))]).lookup("w", (2,)) is not None


def test_shadowed_entries_keep_their_order_in_items() -> None:
    """Lean keeps a shadowed entry in place: [a3, b, a1] after a1, b, a3; set_all a keeps both a's."""
    a1, b, a3, new = (freeze(np.full(k, float(k))) for k in (1, 2, 3, 4))
    r = EMPTY.register("a", a1).register("b", b).register("a", a3)
    assert [(e.name, e.shape, e.array) for e in r.items()] == [("a", (3,), a3), ("b", (2,), b), ("a", (1,), a1)]
    assert r.lookup("a", (1,)) is None  # the shadowed entry is never consulted
    s = r.set_all("a", new)
    assert [(e.name, e.shape, e.array) for e in s.items()] == [("a", (4,), new), ("b", (2,), b), ("a", (4,), new)]
    assert s.count() == 3 and s.names() == ["a", "b", "a"]


def test_order_leaves_one_tracked_object_per_chunk_after_a_collection() -> None:
    """The build cost target relies on it: the tail and every chunk hold only str, so ONE
    collection untracks them however the build ran (here no collection is forced during it);
    only the spine cells, one per CHUNK entries, may stay tracked.  A cons list with one cell
    per entry did not untrack like that (measured: after a 1e5 build and a full collection,
    99,996 of its 1e5 cells were still tracked)."""
    n = 5 * CHUNK + 3
    r = EMPTY
    for k in range(n):
        r = r.register(f"n{k}", freeze(np.zeros(1)))
    gc.collect()
    chunks, spine = [], r.spine
    while spine is not None:
        chunks.append(spine[0])
        spine = spine[1]
    assert len(chunks) == n // CHUNK and len(r.tail) == n % CHUNK
    assert not gc.is_tracked(r.tail) and not any(gc.is_tracked(c) for c in chunks)


def test_chain_cells_are_untracked_by_a_collection_between_registers() -> None:
    """Chain cells hold only ndarray / tuple, so a collection untracks a cell whose older
    entries are untracked already (here a collection runs after every register); a name's only
    entry adds no cell at all (the stored array, which the GC never tracks)."""
    r = EMPTY
    for k in range(50):
        r = r.register(f"n{k % 7}", freeze(np.zeros(1)))
        gc.collect(0)
    gc.collect(0)
    cells, arrays = [], []
    for chain in r.slots.values():
        while type(chain) is tuple:
            cells.append(chain)
            chain = chain[1]
        arrays.append(chain)
    assert len(cells) == 50 - 7 and len(arrays) == 7  # k - 1 cells per name
    assert not any(gc.is_tracked(c) for c in cells) and not any(gc.is_tracked(a) for a in arrays)
    fresh = EMPTY
    for k in range(20):
        fresh = fresh.register(f"m{k}", freeze(np.zeros(1)))
    assert all(type(v) is np.ndarray and not gc.is_tracked(v) for v in fresh.slots.values())


# --- the chunked order, exhaustively over lengths that cross several chunk boundaries ----------

#: name patterns: all distinct, five names cycling (duplicates), one name only
PATTERNS = {
    "distinct": lambda k: f"p{k}",
    "five": lambda k: f"n{k % 5}",
    "one": lambda k: "w",
}


def _reference(ops) -> list[tuple]:
    """The Lean list, newest first, as a plain Python list (independent of the impl's layout):
    registerVariable prepends, setVariable maps every entry of that name in place."""
    entries: list[tuple] = []
    for op, name, value in ops:
        if op == "register":
            entries = [(name, value)] + entries
        else:
            entries = [(n, value if n == name else v) for n, v in entries]
    return entries


def _check(reg: Registry, entries: list[tuple]) -> None:
    names = [n for n, _ in entries]
    assert reg.invariant_violations() == []
    assert reg.names() == names and reg.order_names() == names and reg.count() == len(entries)
    assert [(e.name, e.array) for e in reg.items()] == entries
    assert all(e.shape == e.array.shape for e in reg.items())
    for limit in (0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 2 * CHUNK + 1, len(entries), len(entries) + 3):
        assert reg.first_names(limit) == names[:limit]


@pytest.mark.parametrize("with_sets", [False, True])
@pytest.mark.parametrize("pattern", list(PATTERNS))
def test_every_length_up_to_three_chunks_abstracts_to_the_reference_list(pattern: str, with_sets: bool) -> None:
    """Every prefix of 3 * CHUNK + 1 registers (lengths 0 .. 3 * CHUNK + 1: empty, partial tail,
    exactly full chunks, one past them), with duplicate names and, optionally, a set_all every
    7 steps: names(), order_names(), items(), first_names() equal the reference list, I1 ∧ I2
    hold, and every older registry is unchanged after all the later operations (persistence)."""
    name_of = PATTERNS[pattern]
    reg, ops, history = EMPTY, [], [(EMPTY, [])]
    _check(reg, [])
    for k in range(3 * CHUNK + 1):
        value = freeze(np.full(k % 3, float(k)))
        reg = reg.register(name_of(k), value)
        ops.append(("register", name_of(k), value))
        if with_sets and k % 7 == 6:
            target = name_of(k // 2)
            value = freeze(np.full(2, -float(k)))
            reg = reg.set_all(target, value)
            ops.append(("set_all", target, value))
        history.append((reg, list(ops)))
        _check(reg, _reference(ops))
    for old, prefix in history:
        _check(old, _reference(prefix))


def test_registers_from_an_older_registry_branch_without_changing_it() -> None:
    """Persistence across a flush: registering onto an older registry (in the middle of a chunk,
    and at a chunk boundary) never changes it, nor the newer registry built from it before."""
    z = freeze(np.zeros(()))
    base = EMPTY
    for k in range(CHUNK - 1):
        base = base.register(f"n{k % 5}", z)
    fields = (base.spine, base.tail, base.slots, base.length)
    a = base.register("a", z)  # fills the chunk: flushed onto the spine
    b = base.register("b", z)  # another branch from the same base, flushed as well
    assert (base.spine, base.tail, base.slots, base.length) == fields and base.tail is fields[1]
    assert a.tail == () and b.tail == () and a.spine[1] is base.spine and b.spine[1] is base.spine
    assert a.names()[0] == "a" and b.names()[0] == "b" and a.names()[1:] == b.names()[1:] == base.names()
    c = a.register("c", z).register("a", z)
    assert c.spine is a.spine and c.names() == ["a", "c"] + a.names() and a.names()[0] == "a"
    assert a.lookup("a", ()) is z and a.slots["a"] is z and type(c.slots["a"]) is tuple
    for r in (base, a, b, c):
        assert r.invariant_violations() == []
