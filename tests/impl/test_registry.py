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
            registry = registry.register(name, shape, value) if op == "register" else registry.set_all(name, shape, value)
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
    r = EMPTY.register("a", (), freeze(np.zeros(())))
    assert r.set_all("zz", (), freeze(np.ones(()))) is r


def test_structure_is_shared_and_old_versions_are_unchanged() -> None:
    r1 = EMPTY.register("a", (), freeze(np.zeros(())))
    r2 = r1.register("b", (), freeze(np.ones(())))
    r3 = r2.set_all("a", (1,), freeze(np.ones(1)))
    assert r2.order[1] is r1.order  # the cons list tail is shared, not copied
    assert r1.names() == ["a"] and r2.names() == ["b", "a"] and r3.names() == ["b", "a"]
    assert r2.lookup("a", ()) is not None and r3.lookup("a", ()) is None and r3.lookup("a", (1,)) is not None
    assert EMPTY.count() == 0 and EMPTY.names() == []


def test_all_names_in_and_first_names() -> None:
    variables = EMPTY
    for n in "abcab":
        variables = variables.register(n, (), freeze(np.zeros(())))
    grads = EMPTY.register("a", (), freeze(np.zeros(()))).register("a", (), freeze(np.zeros(())))
    assert grads.all_names_in(variables) and EMPTY.all_names_in(EMPTY)
    assert not grads.register("z", (), freeze(np.zeros(()))).all_names_in(variables)
    assert variables.first_names(3) == ["b", "a", "c"] and variables.first_names(10) == ["b", "a", "c", "b", "a"]


def test_the_invariant_check_can_fail() -> None:
    """invariant_violations is not vacuous: each way of corrupting the index is reported."""
    z = freeze(np.zeros(()))
    r = EMPTY.register("a", (), z).register("b", (), z).register("a", (), z)
    assert r.invariant_violations() == []
    broken = {
        "I2": [
            Registry._make(r.order, r.slots.delete("b"), r.length),  # a name of order is no key
            Registry._make(r.order, r.slots.set("a", ((), z, None)), r.length),  # chain shorter than occurrences
            Registry._make(r.order, r.slots.set("b", ((), z, ((), z, None))), r.length),  # chain longer
            Registry._make(r.order, r.slots.set("zz", None), r.length),  # a key with an empty chain
            Registry._make(r.order, r.slots.set("zz", ((), z, None)), r.length),  # a key not in order
        ],
        "I1": [Registry._make(r.order, r.slots, r.length + 1), Registry._make(r.order[1], r.slots, r.length)],
    }
    for invariant, registries in broken.items():
        for b in registries:
            assert any(p.startswith(invariant) for p in b.invariant_violations()), (invariant, b.order)


def test_shadowed_entries_keep_their_order_in_items() -> None:
    """Lean keeps a shadowed entry in place: [a3, b, a1] after a1, b, a3; set_all a keeps both a's."""
    a1, b, a3, new = (freeze(np.full(k, float(k))) for k in (1, 2, 3, 4))
    r = EMPTY.register("a", (1,), a1).register("b", (2,), b).register("a", (3,), a3)
    assert [(e.name, e.shape, e.array) for e in r.items()] == [("a", (3,), a3), ("b", (2,), b), ("a", (1,), a1)]
    assert r.lookup("a", (1,)) is None  # the shadowed entry is never consulted
    s = r.set_all("a", (4,), new)
    assert [(e.name, e.shape, e.array) for e in s.items()] == [("a", (4,), new), ("b", (2,), b), ("a", (4,), new)]
    assert s.count() == 3 and s.names() == ["a", "b", "a"]


def test_cells_are_untracked_by_the_gc_after_a_collection() -> None:
    """The build cost target relies on it: order and chain cells hold only str / tuple /
    ndarray / None, so a collection untracks them and later collections skip them."""
    r = EMPTY
    for k in range(50):
        r = r.register(f"n{k % 7}", (1,), freeze(np.zeros(1)))
        # A collection untracks a tuple whose children are all untracked; in a long build the
        # GC runs between registers, so each new cell's tail is already untracked by then.
        gc.collect(0)
    gc.collect(0)
    cells = []
    order = r.order
    while order is not None:
        cells.append(order)
        order = order[1]
    for chain in r.slots.values():
        while chain is not None:
            cells.append(chain)
            chain = chain[2]
    assert len(cells) == 100
    assert not any(gc.is_tracked(c) for c in cells)
