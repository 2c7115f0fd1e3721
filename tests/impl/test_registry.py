"""impl/registry.py: the persistent hashed registry keeps its index invariants (I1, I2 of
notes/impl-design.md) and abstracts to the spec's list operations."""

from __future__ import annotations

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
    """invariant_violations is not vacuous: a registry with a corrupted index is reported."""
    r = EMPTY.register("a", (), freeze(np.zeros(()))).register("b", (), freeze(np.zeros(())))
    broken = Registry._make(r.order, r.entries, r.by_name.delete("a"), r.length, r.next_entry_id)
    assert any(p.startswith("I2") for p in broken.invariant_violations())
    broken = Registry._make(r.order, r.entries, r.by_name, r.length + 1, r.next_entry_id)
    assert any(p.startswith("I1") for p in broken.invariant_violations())
