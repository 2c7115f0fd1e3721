"""A 100,000-entry registry: every Context.lean operation is a loop in the spec, so Python's
recursion limit (default 1000) never bounds it."""

from __future__ import annotations

import sys

import pytest

from torchlean_runtime.spec.core import tensor as T
from torchlean_runtime.spec.core.scalars import Float
from torchlean_runtime.spec.runtime import context as C
from torchlean_runtime.spec.runtime import variable as V

N = 100_000


def _build(n: int) -> C.RuntimeContext:
    ctx = C.emptyContext()
    values = [T.scalar(Float, float(i)) for i in range(4)]
    for i in range(n):
        ctx = C.registerVariable(ctx, f"v{i % (n // 2)}", values[i % 4])  # every name twice
    return ctx


@pytest.fixture(scope="module")
def big() -> C.RuntimeContext:
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(1000)  # the default; a recursive transcription would fail far below N
    try:
        yield _build(N)
    finally:
        sys.setrecursionlimit(limit)


def test_registerVariable_100k(big: C.RuntimeContext) -> None:
    """Lean ``Runtime.registerVariable`` ×100,000; ``Runtime.contextSize`` counts all of them."""
    assert big.next_id == N and C.contextSize(big) == N


def test_lookup_and_queries_at_depth(big: C.RuntimeContext) -> None:
    """``getVariable``/``hasVariable``/``variableNames``/``isValidContext`` walk the whole list."""
    half = N // 2
    # v0 was registered at i = 0 (value 0.0) and i = half (value of half % 4 = 0 → 0.0); the newest
    # is found first.  A name only present at the very end of the list is found too.
    assert C.getVariable(big, f"v{half - 1}", ()) == T.scalar(Float, float((N - 1) % 4))
    assert C.getVariable(big, "v0", ()) == T.scalar(Float, float(half % 4))
    assert C.getVariable(big, "absent", ()) is None
    assert C.hasVariable(big, "v0") and not C.hasVariable(big, "absent")
    names = C.variableNames(big)
    assert names.length() == N and names.head == f"v{half - 1}"
    with_grad = C.registerGradient(big, "v0", T.scalar(Float, 1.0))
    assert C.isValidContext(with_grad) and C.gradientCount(with_grad) == 1


def test_setVariable_and_equality_at_depth(big: C.RuntimeContext) -> None:
    """``Runtime.setVariable`` maps over 100,000 entries; structural equality loops too."""
    updated = C.setVariable(big, "v0", T.ofNested(Float, [1], [9.0]))
    assert C.contextSize(updated) == N
    assert C.getVariable(updated, "v0", (1,)) == T.ofNested(Float, [1], [9.0])
    assert updated != big
    assert _build(N) == big


def test_contextToString_and_error_at_depth(big: C.RuntimeContext) -> None:
    text = C.contextToString(big)
    assert text.startswith(f"Context(vars: [v{N // 2 - 1}: 3.000000, ") and text.endswith("v0: 0.000000], grads: [])")
    assert V.error(big, "e").id == N
