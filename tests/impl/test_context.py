"""impl RuntimeContext vs the spec (NN/Runtime/Context.lean, semantics note §4), operation by
operation, including every trap the spec issue lists.  Expected values come from the spec
(``torchlean_runtime.spec.runtime.context``) or, for hand-written cases, from the Lean
definition named in the test."""

from __future__ import annotations

import numpy as np
import pytest

from torchlean_runtime.impl import RuntimeContext, from_spec, to_spec
from torchlean_runtime.spec.core.list import ofIterable
from torchlean_runtime.spec.core.shape import ofList
from torchlean_runtime.spec.runtime import context as S

F64 = np.float64
F32 = np.float32


def both(ops, dtype=None):
    """Run ``ops`` — a list of (method name, args) — on impl and spec side by side; assert the
    abstracted state agrees after every step; return both final contexts."""
    impl = RuntimeContext.empty(dtype)
    spec = S.emptyContext(None if dtype is None else to_spec(np.zeros((), dtype)).alpha)
    for name, *args in ops:
        impl = getattr(impl, name)(*args)
        spec = SPEC_OPS[name](spec, *[to_spec(a) if isinstance(a, np.ndarray) else a for a in args])
        assert to_spec(impl) == spec, (name, args)
    return impl, spec


SPEC_OPS = {
    "register_variable": S.registerVariable,
    "set_variable": S.setVariable,
    "register_gradient": S.registerGradient,
    "set_gradient": S.setGradient,
    "clear_gradients": S.clearGradients,
}


def queries_agree(impl: RuntimeContext, spec: S.RuntimeContext, names, shapes) -> None:
    for name in names:
        for shape in shapes:
            assert to_spec(impl.get_variable(name, shape)) == S.getVariable(spec, name, ofList(shape))
            assert to_spec(impl.get_gradient(name, shape)) == S.getGradient(spec, name, ofList(shape))
        assert impl.has_variable(name) is S.hasVariable(spec, name)
    assert ofIterable(impl.variable_names()) == S.variableNames(spec)
    assert ofIterable(impl.gradient_names()) == S.gradientNames(spec)
    assert impl.context_size() == S.contextSize(spec)
    assert impl.gradient_count() == S.gradientCount(spec)
    assert impl.is_valid_context() is S.isValidContext(spec)
    assert impl.next_id == spec.next_id
    assert impl.to_lean_string() == S.contextToString(spec)


def test_empty_context() -> None:
    """Lean ``Runtime.emptyContext``: both lists empty, next_id = 0."""
    ctx = RuntimeContext.empty()
    assert ctx.next_id == 0 and ctx.dtype is None
    assert ctx.context_size() == 0 and ctx.gradient_count() == 0
    assert ctx.variable_names() == [] and ctx.gradient_names() == []
    assert ctx.is_valid_context() is True
    assert ctx.to_lean_string() == "Context(vars: [], grads: [])"
    assert to_spec(ctx) == S.emptyContext()
    assert to_spec(RuntimeContext.empty(np.float32)) == S.emptyContext(to_spec(np.zeros((), F32)).alpha)
    assert RuntimeContext.empty("float64").dtype == np.dtype(F64)


def test_register_prepends_and_bumps_next_id_also_for_a_present_name() -> None:
    """Lean ``registerVariable``: prepend, next_id + 1, the older entry shadowed (not removed)."""
    impl, spec = both([
        ("register_variable", "w", np.array([1.0, 2.0])),
        ("register_variable", "b", np.array(0.5)),
        ("register_variable", "w", np.array([[3.0]])),
    ])
    assert impl.next_id == 3
    assert impl.variable_names() == ["w", "b", "w"]
    queries_agree(impl, spec, ["w", "b", "zz"], [(2,), (1, 1), (), (0,)])


def test_shadowing_first_match_shape_mismatch_returns_none() -> None:
    """Lean ``getVariable``: find? the FIRST entry; wrong shape → none even though a shadowed
    older entry has the requested shape."""
    impl, spec = both([("register_variable", "w", np.array([1.0, 2.0])), ("register_variable", "w", np.array([[3.0]]))])
    assert impl.get_variable("w", (2,)) is None
    assert S.getVariable(spec, "w", ofList([2])) is None
    np.testing.assert_array_equal(impl.get_variable("w", (1, 1)), [[3.0]])


def test_set_variable_replaces_every_match_and_may_change_the_shape() -> None:
    """Lean ``setVariable``: map over the list, every entry with the name (shadowed ones too)
    becomes the new value at the new shape; order and next_id kept."""
    impl, spec = both([
        ("register_variable", "w", np.array([1.0, 2.0])),
        ("register_variable", "x", np.array(7.0)),
        ("register_variable", "w", np.array([3.0, 4.0])),
        ("set_variable", "w", np.array([[9.0, 8.0, 7.0]])),
    ])
    assert impl.next_id == 3
    assert impl.variable_names() == ["w", "x", "w"]
    assert impl.get_variable("w", (2,)) is None
    np.testing.assert_array_equal(impl.get_variable("w", (1, 3)), [[9.0, 8.0, 7.0]])
    assert impl.to_lean_string() == (
        "Context(vars: [w: [[9.000000, 8.000000, 7.000000]], x: 7.000000, w: [[9.000000, 8.000000, 7.000000]]], grads: [])"
    )
    queries_agree(impl, spec, ["w", "x"], [(2,), (1, 3), ()])


def test_set_on_an_absent_name_inserts_nothing() -> None:
    """Lean ``setVariable`` / ``setGradient``: an absent name leaves the list unchanged."""
    impl, spec = both([
        ("register_variable", "w", np.array(1.0)),
        ("set_variable", "nope", np.array([5.0])),
        ("set_gradient", "nope", np.array([5.0])),
    ])
    assert impl.variable_names() == ["w"] and impl.gradient_names() == []
    assert not impl.has_variable("nope")
    queries_agree(impl, spec, ["w", "nope"], [(), (1,)])


def test_set_on_an_absent_name_still_fixes_the_scalar_type() -> None:
    """The spec's alpha is fixed by the value's type even when nothing is stored."""
    impl, spec = both([("set_variable", "nope", np.array([5.0], F32))])
    assert impl.dtype == np.dtype(F32) and spec.alpha is not None
    with pytest.raises(Exception) as err:
        impl.register_variable("a", np.array(1.0))
    assert err.value.code == "TLR_SCALAR_MISMATCH"


def test_register_gradient_does_not_bump_next_id_and_may_make_the_context_invalid() -> None:
    """Lean ``registerGradient``: prepend to gradients, next_id unchanged; ``isValidContext``
    is false once a gradient names no variable (allowed, not an error)."""
    impl, spec = both([
        ("register_variable", "w", np.array([1.0])),
        ("register_gradient", "w", np.array([0.5])),
    ])
    assert impl.next_id == 1 and impl.is_valid_context()
    impl2, spec2 = both([
        ("register_variable", "w", np.array([1.0])),
        ("register_gradient", "w", np.array([0.5])),
        ("register_gradient", "ghost", np.array([0.5])),
    ])
    assert impl2.next_id == 1
    assert impl2.is_valid_context() is False is S.isValidContext(spec2)
    queries_agree(impl2, spec2, ["w", "ghost"], [(1,)])
    # validity is by name only: a variable of another shape makes it valid again
    impl3 = impl2.register_variable("ghost", np.array(3.0))
    assert impl3.is_valid_context() is True is S.isValidContext(to_spec(impl3))


def test_gradients_get_set_clear() -> None:
    """Lean ``getGradient`` / ``setGradient`` / ``clearGradients``."""
    impl, spec = both([
        ("register_variable", "w", np.array([1.0, 2.0])),
        ("register_gradient", "w", np.array([0.1, 0.2])),
        ("register_gradient", "w", np.array([0.3, 0.4])),
        ("set_gradient", "w", np.array([[1.0], [2.0]])),
    ])
    assert impl.gradient_names() == ["w", "w"] and impl.gradient_count() == 2
    queries_agree(impl, spec, ["w"], [(2,), (2, 1)])
    impl2, spec2 = impl.clear_gradients(), S.clearGradients(spec)
    assert to_spec(impl2) == spec2
    assert impl2.gradient_count() == 0 and impl2.next_id == impl.next_id and impl2.dtype == impl.dtype
    queries_agree(impl2, spec2, ["w"], [(2,)])


def test_counts_and_names_include_duplicates() -> None:
    """Lean ``contextSize`` / ``gradientCount`` / ``variableNames``: list lengths, duplicates counted."""
    ops = [("register_variable", n, np.array(float(i))) for i, n in enumerate("abacab")]
    ops += [("register_gradient", n, np.array(1.0)) for n in "bbz"]
    impl, spec = both(ops)
    assert impl.context_size() == 6 and impl.gradient_count() == 3
    assert impl.variable_names() == list("bacaba")
    assert impl.gradient_names() == ["z", "b", "b"]
    queries_agree(impl, spec, list("abcz"), [()])


def test_has_variable_ignores_shape() -> None:
    """Lean ``hasVariable``: name presence only."""
    impl, spec = both([("register_variable", "w", np.zeros((0, 3)))])
    assert impl.has_variable("w") and not impl.has_variable("W")
    assert impl.get_variable("w", (0, 4)) is None
    queries_agree(impl, spec, ["w", "W"], [(0, 3), (0, 4), (0,)])


def test_zero_dimension_shapes_are_distinct() -> None:
    """Shapes [0, 3] and [0, 4] differ (semantics note §1) though both hold no elements."""
    impl, spec = both([("register_variable", "e", np.zeros((0, 3))), ("register_gradient", "e", np.zeros((2, 0)))])
    assert impl.get_variable("e", (0, 3)).shape == (0, 3)
    assert impl.get_variable("e", (0, 4)) is None
    assert impl.get_variable("e", (0,)) is None
    assert impl.get_gradient("e", (2, 0)).shape == (2, 0)
    assert impl.to_lean_string() == "Context(vars: [e: []], grads: [e: [[], []]])"
    queries_agree(impl, spec, ["e"], [(0, 3), (0, 4), (2, 0), (0,)])


@pytest.mark.parametrize("dtype", [F64, F32, np.int64])
def test_each_scalar_type(dtype) -> None:
    """Float (float64), IEEE32Exec (float32) and Int (int64) registries behave alike."""
    impl, spec = both([
        ("register_variable", "a", np.array([1, -2, 3], dtype)),
        ("register_gradient", "a", np.array([4, 5, 6], dtype)),
        ("register_variable", "b", np.array(-5, dtype)),
        ("set_variable", "a", np.array([[0, 1]], dtype)),
    ])
    assert impl.dtype == np.dtype(dtype)
    queries_agree(impl, spec, ["a", "b"], [(3,), (1, 2), ()])


def test_from_spec_is_the_inverse_of_to_spec() -> None:
    impl, spec = both([
        ("register_variable", "w", np.array([1.0, -0.0])),
        ("register_variable", "w", np.array([[np.nan]])),
        ("register_gradient", "g", np.zeros((0, 2))),
    ])
    back = from_spec(spec)
    assert to_spec(back) == spec
    assert back.next_id == impl.next_id and back.dtype is impl.dtype
    assert back.variable_names() == impl.variable_names()


def test_persistence_old_contexts_stay_valid_and_unchanged() -> None:
    """Every operation returns a new context (Lean values are immutable)."""
    c0 = RuntimeContext.empty()
    c1 = c0.register_variable("w", np.array([1.0]))
    snapshot = to_spec(c1)
    c2 = c1.set_variable("w", np.array([2.0]))
    c3 = c1.register_gradient("w", np.array([3.0]))
    c4 = c1.register_variable("w", np.array([4.0]))
    c5 = c3.clear_gradients()
    assert to_spec(c0) == S.emptyContext() and c0.dtype is None
    assert to_spec(c1) == snapshot
    assert c2.get_variable("w", (1,))[0] == 2.0 and c1.get_variable("w", (1,))[0] == 1.0
    assert c3.gradient_count() == 1 and c5.gradient_count() == 0 and c1.gradient_count() == 0
    assert c4.context_size() == 2 and c1.context_size() == 1
    with pytest.raises(AttributeError):
        c1.next_id = 5  # type: ignore[misc]
    with pytest.raises(AttributeError):
        c1.dtype = None  # type: ignore[misc]


def test_repr_is_short_and_informative() -> None:
    ctx = RuntimeContext.empty()
    for i in range(10):
        ctx = ctx.register_variable(f"v{i}", np.zeros(1000))
    text = repr(ctx)
    assert len(text) < 200
    assert "vars=10" in text and "next_id=10" in text and "float64" in text and "'v9'" in text


def test_pickle_round_trip() -> None:
    import pickle

    impl, spec = both([("register_variable", "w", np.array([1.0, np.nan])), ("register_gradient", "w", np.array([2.0, -0.0]))])
    back = pickle.loads(pickle.dumps(impl))
    assert to_spec(back) == spec
    assert not back.get_variable("w", (2,)).flags.writeable


@pytest.mark.parametrize("args", [(5, [], 0, None), ([], 7, 0, None), ([("a", np.zeros(1), 3)], [], 0, "float64"),
                                  ([("a",)], [], 0, "float64"), (["ab"], [], 0, "float64"), ([None], [], 0, "float64")])
def test_a_tampered_pickle_is_a_typed_error(args) -> None:
    """A pickle may come from anyone: malformed entry lists are refused with a code, never a bare
    TypeError/ValueError from unpacking."""
    import pickle

    from torchlean_runtime.impl import context as C

    forged = pickle.dumps(C._unpickle)  # the reconstructor a context's __reduce__ names
    with pytest.raises(Exception) as err:
        pickle.loads(forged)(*args)
    assert err.value.code == "TLR_ARGUMENT_TYPE"


def test_direct_construction_is_refused() -> None:
    with pytest.raises(Exception) as err:
        RuntimeContext()
    assert err.value.code == "TLR_ARGUMENT_TYPE"
