"""Random operation sequences through spec and impl side by side (hypothesis): every answer,
every error code and the abstracted state after every step agree bit for bit
(``to_spec(impl_ctx) == spec_ctx``; spec equality is bitwise).  The executor is
``proofs/differential/agreement.run_both``; ``torchlean-rt verify`` runs larger seeded budgets."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from torchlean_runtime.proofs.differential.agreement import NAMES, SHAPES, run_both

DTYPES = {"float64": np.float64, "float32": np.float32, "int64": np.int64}


def arrays(dtype):
    if dtype is np.int64:
        elements = st.integers(-(2 ** 63), 2 ** 63 - 1)
    else:  # NaNs (hypothesis varies their bits), ±inf, ±0 and subnormals included
        elements = st.floats(width=64 if dtype is np.float64 else 32)
    # now and then an array of another supported dtype, which both sides must refuse alike
    other = st.sampled_from([d for d in DTYPES.values() if d is not dtype])
    chosen = st.one_of(st.just(dtype), st.just(dtype), st.just(dtype), st.just(dtype), other)
    return st.tuples(chosen, st.sampled_from(SHAPES)).flatmap(
        lambda ds: hnp.arrays(ds[0], ds[1], elements=elements if ds[0] is dtype else None)
    )


def operations(dtype):
    name, arr, shape = st.sampled_from(NAMES), arrays(dtype), st.sampled_from(SHAPES)
    small_id = st.integers(0, 3)
    create = st.tuples(st.just("create"), small_id, name, arr, st.booleans())
    op = st.one_of(
        st.tuples(st.sampled_from(["register_variable", "set_variable", "register_gradient", "set_gradient"]), name, arr),
        st.tuples(st.sampled_from(["get_variable", "get_gradient"]), name, shape),
        st.tuples(st.just("has_variable"), name),
        st.tuples(st.just("clear_gradients")),
        create,
        st.tuples(st.sampled_from(["set_value", "set_gradient_v", "accumulate_gradient", "accumulate_gradient"]), arr),
        st.tuples(st.sampled_from(["clear_gradient", "detach_variable", "register_in_context", "register_gradient_in_context",
                                   "get_from_context", "variable_norm", "cast_shape"])),
        st.tuples(st.just("clone_variable"), small_id),
        st.tuples(st.just("error"), name),
        st.tuples(st.just("has_shape"), shape),
        st.tuples(st.just("variable_eq"), small_id, name),
    )
    return st.tuples(create, st.lists(op, max_size=20)).map(lambda t: [t[0], *t[1]])


@pytest.mark.parametrize("dtype_name", list(DTYPES))
def test_random_sequences_agree(dtype_name: str) -> None:
    dtype = DTYPES[dtype_name]

    @settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(operations(dtype))
    def check(ops):
        assert run_both(ops, dtype) is None

    check()


def test_the_harness_detects_a_wrong_lookup() -> None:
    """The harness is not vacuous: an impl whose lookup searches past the newest entry (the
    catalogue's mutant ``lookup-past-first-match``) is caught when the newest "w" has another shape."""
    from torchlean_runtime.proofs.mutants import catalogue

    undo = catalogue.apply("lookup-past-first-match")
    try:
        w1, w2 = np.array([1.0, 2.0]), np.array([[3.0, 4.0]])
        ops = [("create", 0, "w", w1, True), ("register_variable", "w", w1), ("register_variable", "w", w2),
               ("get_variable", "w", (2,))]
        assert "get_variable" in run_both(ops, np.float64)
    finally:
        undo()
    w1, w2 = np.array([1.0, 2.0]), np.array([[3.0, 4.0]])
    assert run_both([("create", 0, "w", w1, True), ("register_variable", "w", w1), ("register_variable", "w", w2),
                     ("get_variable", "w", (2,))], np.float64) is None
