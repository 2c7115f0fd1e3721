"""Value semantics of the impl: arrays are copied (or adopted when already frozen by the impl)
and stored read-only; arrays handed out are read-only and cannot be made writeable; contexts
are persistent, so threads can derive new contexts from one shared context without locks."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from torchlean_runtime.impl import RuntimeContext, Variable, to_spec
from torchlean_runtime.impl.arrays import is_frozen


def assert_read_only(arr: np.ndarray) -> None:
    assert not arr.flags.writeable
    with pytest.raises(ValueError):
        arr[...] = 0
    with pytest.raises(ValueError):
        arr.flags.writeable = True  # a view of a read-only private owner cannot be re-enabled
    with pytest.raises(ValueError):
        np.add(arr, 1, out=arr)


def test_caller_mutation_after_register_does_not_reach_the_registry() -> None:
    mine = np.array([1.0, 2.0, 3.0])
    ctx = RuntimeContext.empty().register_variable("w", mine).register_gradient("w", mine)
    ctx = ctx.set_variable("w", mine)
    mine[:] = -7.0
    mine.resize(0, refcheck=False)  # even reallocating the caller's buffer changes nothing
    np.testing.assert_array_equal(ctx.get_variable("w", (3,)), [1.0, 2.0, 3.0])
    np.testing.assert_array_equal(ctx.get_gradient("w", (3,)), [1.0, 2.0, 3.0])


def test_caller_mutation_of_a_read_only_array_it_owns_does_not_reach_the_registry() -> None:
    """A read-only array that owns its data is still copied: its owner may flip it back."""
    mine = np.array([1.0, 2.0])
    mine.flags.writeable = False
    ctx = RuntimeContext.empty().register_variable("w", mine)
    mine.flags.writeable = True
    mine[0] = 99.0
    assert ctx.get_variable("w", (2,))[0] == 1.0


def test_views_and_non_contiguous_inputs_are_copied() -> None:
    base = np.arange(12.0).reshape(3, 4)
    view = base[:, ::2]
    ctx = RuntimeContext.empty().register_variable("v", view)
    base[:] = 0
    np.testing.assert_array_equal(ctx.get_variable("v", (3, 2)), [[0, 2], [4, 6], [8, 10]])


def test_variable_values_are_copied_too() -> None:
    mine, g = np.array([1.0, 2.0]), np.array([0.5, 0.5])
    v = Variable.create(0, "w", mine).set_gradient(g)
    v2 = v.accumulate_gradient(g).set_value(mine)
    mine[:] = 0
    g[:] = 0
    np.testing.assert_array_equal(v.value, [1.0, 2.0])
    np.testing.assert_array_equal(v.gradient, [0.5, 0.5])
    np.testing.assert_array_equal(v2.gradient, [1.0, 1.0])


def test_returned_arrays_are_read_only() -> None:
    ctx = RuntimeContext.empty().register_variable("w", np.ones((2, 2))).register_gradient("w", np.ones(3))
    assert_read_only(ctx.get_variable("w", (2, 2)))
    assert_read_only(ctx.get_gradient("w", (3,)))
    v = Variable.create(0, "w", np.ones(3)).accumulate_gradient(np.ones(3)).accumulate_gradient(np.ones(3))
    for arr in (v.value, v.get_value(), v.gradient, v.get_gradient(), Variable.error(ctx, "e").value):
        assert_read_only(arr)
    # slices and reshapes of returned arrays are read-only as well
    assert_read_only(v.value[1:])
    assert_read_only(v.value.reshape(3, 1))


def test_frozen_arrays_are_adopted_without_a_copy() -> None:
    """Arrays the impl handed out go back in without a copy of their memory (immutable bytes);
    every access hands out a fresh header over that memory, never the stored one."""
    ctx = RuntimeContext.empty().register_variable("w", np.arange(4.0))
    out = ctx.get_variable("w", (4,))
    assert is_frozen(out) and type(out.base) is bytes
    again = ctx.register_variable("w2", out).get_variable("w2", (4,))
    assert again is not out and again.base is out.base  # shared bytes, fresh header
    assert ctx.get_variable("w", (4,)) is not out  # fresh on every access
    v = Variable.create(0, "w", out)
    assert v.value.base is out.base and v.value is not v.value
    assert v.register_in_context(RuntimeContext.empty()).get_variable("w", (4,)).base is out.base


def test_user_arrays_are_never_considered_frozen() -> None:
    a = np.ones(3)
    b = np.ones(3)
    b.flags.writeable = False
    c = b[1:]
    for x in (a, b, c):
        assert not is_frozen(x)
    # an array over the caller's own immutable bytes may be adopted: nobody can change bytes
    own = np.frombuffer(b"\x00" * 8, dtype=np.float64)
    assert is_frozen(own)
    assert not is_frozen(np.frombuffer(bytearray(8), dtype=np.float64))  # mutable memory
    assert not is_frozen(np.frombuffer(b"\x00" * 16, dtype=np.float64)[1:])  # not all of its bytes


def test_numpy_scalars_are_zero_dim_arrays() -> None:
    ctx = RuntimeContext.empty().register_variable("s", np.float64(2.5))
    out = ctx.get_variable("s", ())
    assert out.shape == () and out[()] == 2.5
    assert_read_only(out)


def test_concurrent_readers_derive_new_contexts_from_one_shared_context() -> None:
    """Persistence makes sharing safe: 8 threads each derive 200 contexts from one shared
    context; afterwards the shared one is unchanged and every derived one is as expected."""
    shared = RuntimeContext.empty()
    for i in range(50):
        shared = shared.register_variable(f"p{i}", np.full(4, float(i)))
    before = to_spec(shared)
    errors: list[BaseException] = []
    results: dict[int, RuntimeContext] = {}
    start = threading.Barrier(8)

    def worker(t: int) -> None:
        try:
            start.wait()
            ctx = shared
            for k in range(200):
                assert shared.get_variable(f"p{k % 50}", (4,))[0] == float(k % 50)
                ctx = ctx.register_variable(f"t{t}", np.full(4, float(k)))
                ctx = ctx.set_variable(f"p{t}", np.full(2, float(-t)))
                ctx = ctx.register_gradient(f"p{k % 50}", np.full(4, float(t)))
            results[t] = ctx
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert not errors
    assert to_spec(shared) == before
    assert shared.context_size() == 50 and shared.gradient_count() == 0
    for t, ctx in results.items():
        assert ctx.context_size() == 250 and ctx.gradient_count() == 200 and ctx.next_id == 250
        assert ctx.get_variable(f"t{t}", (4,))[0] == 199.0
        np.testing.assert_array_equal(ctx.get_variable(f"p{t}", (2,)), [float(-t)] * 2)
        assert ctx.get_variable(f"p{(t + 1) % 8 + 8}", (4,))[0] == float((t + 1) % 8 + 8)
        assert ctx._variables.invariant_violations() == [] and ctx._gradients.invariant_violations() == []
