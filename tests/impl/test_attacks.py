"""Issue 9, kind 1: nothing a caller does with anything the API hands out — arrays, name
lists, entry lists and dicts, Variables, contexts, pickle payloads — changes stored state or a
later answer.  Every route of ``conformance.attacks`` is tried, each against a pristine object
freshly obtained from the API, on contexts and Variables built by sampled programs.

The expected state is the spec's: ``to_spec`` of the context / Variable taken before any
attack (the abstraction, element bits included), and the answers of every query before."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from torchlean_runtime.conformance.attacks import RAW_MEMORY_ROUTES, attack, route_names, run_route
from torchlean_runtime.impl import RuntimeContext, Variable, to_spec

_DTYPES = (np.float64, np.float32)


def _array(draw, dtype, shape):
    n = int(np.prod(shape))
    values = draw(st.lists(st.sampled_from([0.0, -0.0, 1.5, -2.0, np.inf, np.nan, 5e-324]), min_size=n, max_size=n))
    return np.array(values, dtype=dtype).reshape(shape)


@st.composite
def programs(draw):
    dtype = draw(st.sampled_from(_DTYPES))
    ctx = RuntimeContext.empty()
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["register_variable", "register_gradient", "set_variable"]))
        name = draw(st.sampled_from(["w", "b", "é"]))
        shape = draw(st.sampled_from([(), (2,), (2, 1), (0, 3), (300,)]))  # (300,): above SHARE_MAX_BYTES in both dtypes
        ctx = getattr(ctx, op)(name, _array(draw, dtype, shape))
    shape = draw(st.sampled_from([(2,), (1, 2), (300,)]))
    v = Variable.create(draw(st.integers(0, 5)), "v", _array(draw, dtype, shape))
    if draw(st.booleans()):
        v = v.accumulate_gradient(_array(draw, dtype, shape)).accumulate_gradient(_array(draw, dtype, shape))
    return ctx, v


def answers(ctx: RuntimeContext, v: Variable) -> tuple:
    """Every later answer the API gives, as plain immutable data (bits for arrays)."""

    def bits(a):
        return None if a is None else (a.dtype.str, a.shape, a.tobytes(), a.flags.writeable)

    shapes = [(), (2,), (2, 1), (0, 3), (1, 2), (300,)]
    queries = []
    for name in ("w", "b", "é", "v"):
        for s in shapes:
            queries.append((bits(ctx.get_variable(name, s)), bits(ctx.get_gradient(name, s))))
        queries.append(ctx.has_variable(name))
    return (
        to_spec(ctx), to_spec(v), tuple(queries),
        tuple(ctx.variable_names()), tuple(ctx.gradient_names()), ctx.context_size(), ctx.gradient_count(),
        ctx.next_id, ctx.dtype, ctx.to_lean_string(), v.to_lean_string(),
        tuple((n, bits(a)) for n, a in ctx.variable_entries()), tuple((n, bits(a)) for n, a in ctx.gradient_entries()),
        tuple((n, bits(a)) for n, a in ctx.visible_variables().items()),
        bits(v.value), bits(v.gradient), bits(v.get_value()), v.shape, v.dtype, v.id, v.name, v.requires_grad,
        np.asarray(v.variable_norm()).tobytes(), bits(v.get_from_context(v.register_in_context(ctx))),
    )


def handed_out(ctx: RuntimeContext, v: Variable):
    """Getters, each returning a FRESH object the API hands out (so each route meets a pristine one)."""
    return {
        "get_variable": lambda: next((a for _, a in ctx.variable_entries()), None) is not None
        and ctx.get_variable(*next((n, a.shape) for n, a in ctx.variable_entries())),
        "variable_entries": lambda: list(ctx.variable_entries()),
        "gradient_entries": lambda: list(ctx.gradient_entries()),
        "visible_variables": lambda: ctx.visible_variables(),
        "variable_names": lambda: ctx.variable_names(),
        "gradient_names": lambda: ctx.gradient_names(),
        "context": lambda: ctx,
        "context.__reduce__": lambda: ctx.__reduce__(),
        "variable": lambda: v,
        "variable.value": lambda: v.value,
        "variable.gradient": lambda: v.gradient,
        "variable.get_value": lambda: v.get_value(),
        "variable.__reduce__": lambda: v.__reduce__(),
        "error": lambda: Variable.error(ctx, "msg", ctx.dtype or np.float64),
        "register_in_context": lambda: v.register_in_context(ctx),
        "unpickled": lambda: pickle.loads(pickle.dumps(ctx)),
    }


@settings(max_examples=25, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(programs())
def test_every_mutation_route_on_everything_handed_out_leaves_state_and_answers_unchanged(program) -> None:
    """Sampled 25 programs (fixed seed); for each, every route on a fresh copy of every object
    handed out, then all routes in sequence on one object; state and answers compared bit for bit."""
    ctx, v = program
    before = answers(ctx, v)
    tried = 0
    for label, get in handed_out(ctx, v).items():
        for name in route_names(get(), label):
            run_route(get(), name, label)
            tried += 1
        attack(get(), label)  # all routes in sequence on one object, too
        assert answers(ctx, v) == before, label
    assert tried > 200  # the routes really ran (arrays, lists, dicts, objects, payloads)


@pytest.mark.parametrize("dtype", _DTYPES)
@pytest.mark.parametrize("elements", [1, 125, 126, 250, 251, 4096, 70_000])
def test_setstate_over_a_handed_out_base_never_writes_stored_memory(dtype, elements) -> None:
    """numpy's ``__setstate__`` takes a bytes object of more than 1000 bytes by reference and
    marks the array writeable (impl.arrays.SHARE_MAX_BYTES): sizes on both sides of it (float64
    125/126 elements = 1000/1008 bytes, float32 250/251 = 1000/1004), and past the in-place
    result path (70,000 elements > 64 KiB).  Expected: the spec's values before the attack
    (Lean values are immutable), for every array the API hands out, and for a caller's own
    bytes-backed array given to the API (which the caller can alias the same way)."""
    from torchlean_runtime.impl.arrays import SHARE_MAX_BYTES

    assert SHARE_MAX_BYTES in (0, 1000)
    x = np.arange(elements, dtype=dtype)
    ctx = RuntimeContext.empty().register_variable("w", x).register_gradient("w", x)
    later = ctx.register_variable("z", np.ones(1, dtype))  # shares the entry "w"
    v = Variable.create(0, "v", x).accumulate_gradient(x).accumulate_gradient(x)  # a computed result
    own = bytes(x.tobytes())
    adopted = RuntimeContext.empty().register_variable("w", np.frombuffer(own, dtype))
    before = (to_spec(ctx), to_spec(later), to_spec(v), to_spec(adopted))
    fresh = (lambda: ctx.get_variable("w", (elements,)), lambda: ctx.get_gradient("w", (elements,)),
             lambda: later.get_variable("w", (elements,)), lambda: v.value, lambda: v.gradient, lambda: v.get_value(),
             lambda: next(iter(ctx.variable_entries()))[1], lambda: ctx.visible_gradients()["w"],
             lambda: adopted.get_variable("w", (elements,)))
    for get in fresh:
        assert run_route(get(), "a.__setstate__ over the .base bytes", "a")  # the route ran
    alias = np.empty(0, np.uint8)
    alias.__setstate__((1, (len(own),), np.dtype(np.uint8), False, own))  # the caller's own bytes
    if alias.flags.writeable:
        alias[...] ^= 0xFF
    assert (to_spec(ctx), to_spec(later), to_spec(v), to_spec(adopted)) == before
    assert ctx.get_variable("w", (elements,)).tobytes() == x.tobytes()


def test_the_issue_examples_are_refused_or_harmless() -> None:
    """Issue 9 item 1's examples, each against its own fresh array."""
    ctx64 = RuntimeContext.empty().register_variable("w", np.array([1.0, 2.0]))
    other = ctx64.register_variable("z", np.array([3.0]))  # shares the entry "w" with ctx64
    v = Variable.create(0, "w", np.array([1.0, 2.0])).accumulate_gradient(np.array([0.5, 0.5]))
    before = (to_spec(ctx64), to_spec(other), to_spec(v))
    for fresh in (lambda: ctx64.get_variable("w", (2,)), lambda: v.value, lambda: v.gradient):
        a = fresh()
        a.__setstate__((1, (1,), np.dtype(np.float16), False, b"\x00\x7c"))  # numpy allows this on the holder
        a = fresh()
        a.dtype = np.dtype(np.float32)
        a = fresh()
        a.shape = (2, 1)
        a = fresh()
        with pytest.warns(DeprecationWarning):
            a.strides = (0,)
        base = fresh().base
        assert type(base) is bytes  # immutable memory: no write flag to flip, no setstate
        a = fresh()
        try:
            a.flags.writeable = True
            raise AssertionError("a handed-out array became writeable")
        except ValueError:
            pass
    assert (to_spec(ctx64), to_spec(other), to_spec(v)) == before
    got = ctx64.get_variable("w", (2,))
    assert got.dtype == np.float64 and not got.flags.writeable and got.tolist() == [1.0, 2.0]


def test_name_lists_are_fresh_each_call() -> None:
    ctx = RuntimeContext.empty().register_variable("w", np.ones(1)).register_gradient("w", np.ones(1))
    names = ctx.variable_names()
    names.append("x")
    assert ctx.variable_names() == ["w"] and ctx.variable_names() is not ctx.variable_names()
    assert ctx.gradient_names() is not ctx.gradient_names()


def test_raw_memory_routes_are_listed_as_out_of_scope() -> None:
    assert any("__array_interface__" in r for r in RAW_MEMORY_ROUTES)
    assert all("__array_interface__" not in n for n in route_names(np.ones(2, np.float64)))


def test_large_results_written_in_place_are_exact_immutable_and_unshared() -> None:
    """accumulate_gradient writes results of ≥ DIRECT_RESULT_BYTES straight into their immutable
    memory.  Lean accumulateGradient: existing + grad (addSpec, existing first); checked against
    the spec on 20,000 elements with NaNs (both quiet, payloads differing), infinities and
    subnormals; each later Variable's memory is its own; every route leaves it unchanged."""
    from torchlean_runtime.impl.arrays import DIRECT_RESULT_BYTES
    from torchlean_runtime.spec.runtime import variable as SV

    n = 20_000
    assert n * 4 >= DIRECT_RESULT_BYTES  # both dtypes take the in-place path
    rng = np.random.default_rng(7)
    for dtype, uint in ((np.float64, np.uint64), (np.float32, np.uint32)):
        a = rng.standard_normal(n).astype(dtype)
        b = rng.standard_normal(n).astype(dtype)
        nan_bits = np.array([0x7FF8000000000123 if dtype is np.float64 else 0x7FC00123], uint)
        a[::97] = nan_bits.view(dtype)[0]
        b[::89] = (nan_bits + 1).view(dtype)[0]
        a[5], b[5] = np.inf, -np.inf
        a[6] = np.finfo(dtype).smallest_subnormal
        v = Variable.create(0, "w", np.zeros(n, dtype)).set_gradient(a)
        out = v.accumulate_gradient(b)
        again = out.accumulate_gradient(b)
        assert to_spec(out) == SV.accumulateGradient(to_spec(v), to_spec(b))
        assert out.gradient.base is not again.gradient.base and type(out.gradient.base) is bytes
        before = (to_spec(out), to_spec(again))
        for name in route_names(out.gradient, "g"):
            run_route(out.gradient, name, "g")
        attack(out, "out")
        assert (to_spec(out), to_spec(again)) == before
        assert not out.gradient.flags.writeable
