"""impl/registry.py: the persistent hashed registry keeps its index invariants (I1, I2 of the
module docstring) and abstracts to the spec's list operations."""

from __future__ import annotations

import gc
import random

import numpy as np

from torchlean_runtime.impl.arrays import freeze
from torchlean_runtime.impl.registry import EMPTY, Registry


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
    assert r2.order[1] is r1.order  # the cons list tail is shared, not copied
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
            Registry._make(r.order, r.slots.delete("b"), r.length),  # a name of order is no key
            Registry._make(r.order, r.slots.set("a", z), r.length),  # chain shorter than occurrences
            Registry._make(r.order, r.slots.set("b", (z, z)), r.length),  # chain longer
            Registry._make(r.order, r.slots.set("zz", None), r.length),  # a key mapped to no chain at all
            Registry._make(r.order, r.slots.set("zz", z), r.length),  # a key not in order
            Registry._make(r.order, r.slots.set("a", (z, None)), r.length),  # a cell whose rest is no chain
            Registry._make(r.order, r.slots.set("a", (z, z, None)), r.length),  # the old 3-tuple cell
            Registry._make(r.order, r.slots.set("b", ((), z)), r.length),  # a cell whose head is no array
            Registry._make(r.order, r.slots.set("b", [z]), r.length),  # neither an array nor a pair
        ],
        "I1": [Registry._make(r.order, r.slots, r.length + 1), Registry._make(r.order[1], r.slots, r.length)],
    }
    for invariant, registries in broken.items():
        for b in registries:
            assert any(p.startswith(invariant) for p in b.invariant_violations()), (invariant, b.order, dict(b.slots))


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


def test_unpickling_a_registry_refuses_an_entry_whose_shape_is_not_its_array_s() -> None:
    from torchlean_runtime.impl.registry import _rebuild

    import pytest

    with pytest.raises(ValueError, match="records shape"):
        _rebuild([("w", (3,), np.ones(2))])
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


def test_cells_are_untracked_by_the_gc_after_a_collection() -> None:
    """The build cost target relies on it: order and chain cells hold only str / tuple /
    ndarray / None, so a collection untracks them and later collections skip them; a name's
    only entry adds no cell at all (the stored array, which the GC never tracks)."""
    r = EMPTY
    for k in range(50):
        r = r.register(f"n{k % 7}", freeze(np.zeros(1)))
        # A collection untracks a tuple whose children are all untracked; in a long build the
        # GC runs between registers, so each new cell's tail is already untracked by then.
        gc.collect(0)
    gc.collect(0)
    cells = []
    order = r.order
    while order is not None:
        cells.append(order)
        order = order[1]
    arrays = []
    for chain in r.slots.values():
        while type(chain) is tuple:
            cells.append(chain)
            chain = chain[1]
        arrays.append(chain)
    assert len(cells) == 50 + (50 - 7) and len(arrays) == 7  # 50 order cells, k - 1 cells per name
    assert not any(gc.is_tracked(c) for c in cells) and not any(gc.is_tracked(a) for a in arrays)
    fresh = EMPTY
    for k in range(20):
        fresh = fresh.register(f"m{k}", freeze(np.zeros(1)))
    assert all(type(v) is np.ndarray and not gc.is_tracked(v) for v in fresh.slots.values())
