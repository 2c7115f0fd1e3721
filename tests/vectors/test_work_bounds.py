"""Work bounds counted in nested-list nodes, and the spec's nested-structure cap applied
identically by the impl.

1. ``trace_work`` counts what a tensor costs the spec — its nested values ``1 + d0 + d0·d1 + …``
   — not its element count: an empty ``[999999, 0]`` tensor has 999,999 empty rows, and 9000
   ``getVariable`` steps on a context holding it took ~0.3 s each on the spec target (~45 min for
   a 1.5 MB file) before the reader counted them.
2. The impl refuses exactly the empty shapes the spec refuses (``spec.core.tensor.checkCap``: the
   same quantity, the same cap from ``elementCap()``, TensorTooLargeError / TLR_TENSOR_TOO_LARGE)
   on every path that accepts an array; it stored ``(10**6, 10**6, 0)`` before.
"""

from __future__ import annotations

import json
import pickle
import time
from pathlib import Path

import numpy as np
import pytest

import torchlean_runtime.spec.core.tensor as T
from torchlean_runtime.conformance.vectors import reader as R
from torchlean_runtime.conformance.vectors.bits import TensorBits
from torchlean_runtime.conformance.vectors.format import FORMAT, LEAN_SOURCE
from torchlean_runtime.conformance.vectors.replay import run_replay
from torchlean_runtime.errors import TensorTooLargeError, TorchLeanError, TraceLimitError
from torchlean_runtime.impl import RuntimeContext, Variable, from_spec, to_spec
from torchlean_runtime.impl.context import _unpickle as unpickle_context
from torchlean_runtime.impl.variable import _unpickle as unpickle_variable

DOCS = Path(__file__).resolve().parents[2] / "docs" / "vectors.md"


# --- 1. the work bound counts nested-list nodes -------------------------------------------


def _tensor(shape, bits=None):
    n = int(np.prod(shape)) if shape else 1
    return {"shape": list(shape), "dtype": "float64", "bits": ["0"] * n if bits is None else bits}


def _get_trace(shape, gets: int, extra=()) -> dict:
    """emptyContext; registerVariable x of ``shape`` (+ ``extra`` names); ``gets`` getVariable x."""
    t = _tensor(shape)
    registry = [{"name": "x", "value": t}]
    steps = [{"op": "Runtime.emptyContext", "args": {}, "bind": "c0",
              "expect": {"type": "context", "var_registry": [], "gradients": [], "next_id": 0}}]
    previous = "c0"
    for i, (name, other) in enumerate([("x", shape)] + list(extra)):
        tt = _tensor(other)
        registry = [{"name": name, "value": tt}] + ([] if i == 0 else registry)
        steps.append({"op": "Runtime.registerVariable", "args": {"ctx": previous, "name": name, "value": tt},
                      "bind": f"c{i + 1}", "expect": {"type": "context", "var_registry": registry if i else [registry[0]],
                                                      "gradients": [], "next_id": i + 1}})
        previous = f"c{i + 1}"
    get = {"op": "Runtime.getVariable", "args": {"ctx": previous, "name": "x", "s": list(shape)},
           "expect": {"type": "option_tensor", "value": t}}
    return {"format": FORMAT, "lean": dict(LEAN_SOURCE), "scalar_type": "Float",
            "generator": {"name": "t", "version": "0"}, "steps": steps + [get] * gets}


def _write(tmp_path: Path, doc: dict, name: str = "t.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(doc, separators=(",", ":")))
    return path


def _nodes(shape) -> int:
    total = level = 1
    for d in shape:
        level *= d
        total += level
    return total


@pytest.mark.parametrize("shape", [(), (0,), (3,), (999999, 0), (2, 3, 4), (5, 0, 7), (1,) * 64])
def test_a_tensor_costs_its_nested_values_never_less_than_its_elements(shape):
    t = TensorBits(shape, "float64", tuple([0] * (int(np.prod(shape)) if shape else 1)))
    assert R.tensor_nodes(t) == _nodes(shape) >= len(t.bits)
    # the spec's own count of what it materialises agrees
    assert R.tensor_nodes(t) == T.nodeCount(shape, 10**12)


def test_the_get9000_trace_with_empty_rows_is_refused_before_executing(tmp_path):
    """The attacker's file: one empty [999999, 0] tensor registered, 9000 getVariable steps —
    1.5 MB, zero elements, ~45 min on the spec target.  Now ~1.8×10^10 node-visits: refused."""
    path = _write(tmp_path, _get_trace((999999, 0), 9000), "get9000.json")
    assert path.stat().st_size < R.DEFAULT_LIMITS.max_file_bytes
    start = time.monotonic()
    with pytest.raises(TraceLimitError, match="max_work") as info:
        R.read_trace(path, R.DEFAULT_LIMITS)
    assert info.value.code == "TLR_TRACE_LIMIT" and time.monotonic() - start < 60
    assert "node-visits" in str(info.value)
    # and replay reports it unread on the spec target, executing nothing
    [result] = run_replay([str(path)], "spec", R.DEFAULT_LIMITS).results
    assert not result.passed and result.executed == 0 and "TLR_TRACE_LIMIT" in result.problem


def test_so_few_steps_it_would_take_a_second_already_counts_the_rows(tmp_path):
    n, gets = 999_999, 20
    trace = R.read_trace(_write(tmp_path, _get_trace((n, 0), gets)), R.DEFAULT_LIMITS)
    nodes = n + 1
    # 1 (empty) + (1 + literal + result context) + gets × (1 + bound context + expected tensor)
    assert R.trace_work(trace) == 1 + (1 + 2 * nodes) + gets * (1 + 2 * nodes)
    # 25 steps on one such tensor exceed the default bound
    with pytest.raises(TraceLimitError):
        R.read_trace(_write(tmp_path, _get_trace((n, 0), 25), "t25.json"), R.DEFAULT_LIMITS)


def test_every_tensor_live_in_the_named_context_counts(tmp_path):
    """getVariable x on a context also holding an empty [100000, 0] tensor y pays for y."""
    base = R.trace_work(R.read_trace(_write(tmp_path, _get_trace((2,), 3), "a.json"), R.DEFAULT_LIMITS))
    more = R.trace_work(R.read_trace(_write(tmp_path, _get_trace((2,), 3, [("y", (100000, 0))]), "b.json"),
                                     R.DEFAULT_LIMITS))
    # y is in the register step's literal and result context, and in each get's bound context
    assert more - base >= (1 + 1 + 3) * 100001


def test_the_bound_is_the_setting_and_a_raised_one_admits_the_file(tmp_path):
    path = _write(tmp_path, _get_trace((1000, 0), 50))
    work = R.trace_work(R.read_trace(path, R.ReaderLimits(max_work=10**9)))
    assert work > 50 * 2 * 1001
    R.read_trace(path, R.ReaderLimits(max_work=work))
    with pytest.raises(TraceLimitError):
        R.read_trace(path, R.ReaderLimits(max_work=work - 1))
    assert R.limits_from_env({"TORCHLEAN_RT_TRACE_MAX_WORK": str(work)}).max_work == work


def test_non_empty_tensors_cost_at_least_their_elements(tmp_path):
    path = _write(tmp_path, _get_trace((3, 4), 2))
    work = R.trace_work(R.read_trace(path, R.DEFAULT_LIMITS))
    elements_only = 1 + (1 + 2 * 12) + 2 * (1 + 2 * 12)
    assert work == 1 + (1 + 2 * 16) + 2 * (1 + 2 * 16) > elements_only  # 1 + 3 + 12 nodes


def test_docs_state_the_node_formula():
    text = DOCS.read_text(encoding="utf-8")
    row = next(line for line in text.splitlines() if line.startswith("| `max_work`"))
    assert "node-visits" in row and "1 + d0 + d0·d1 + … + d0·…·dr" in row and "[999999, 0]" in row
    assert "element-visits" not in row


# --- 2. the impl applies the spec's nested-structure cap, identically ----------------------


@pytest.fixture
def cap64():
    previous = T.setElementCap(64)
    try:
        yield 64
    finally:
        T.setElementCap(previous)


FLOAT = to_spec(np.zeros(1)).alpha  # Lean Float
LIMIT64 = 64 * 64 + 1  # MAX_RANK × cap + 1 nested values
AT_CAP = [(4096, 0), (64, 63, 0), (0,), (1,) * 63 + (0,), (16, 255, 0)]
ABOVE_CAP = [(4097, 0), (17, 240, 0), (4097, 0, 5), (10**6, 10**6, 0), (1, 4097, 0, 3)]


def _spec_refuses(shape) -> "str | None":
    try:
        T.zeros(FLOAT, list(shape))
    except TorchLeanError as exc:
        return exc.code
    return None


def _impl_paths(shape):
    """Every impl entry point that accepts an array (name → thunk), on an empty array of shape."""
    a = np.zeros(shape)
    previous = T.setElementCap(10**7)  # a Variable already holding the shape (stored under a larger cap)
    try:
        held = Variable.create(0, "v", np.zeros(shape)) if T.nodeCount(shape, 10**7) <= 10**7 else None
    finally:
        T.setElementCap(previous)
    ctx = RuntimeContext.empty().register_variable("w", np.zeros(1)).register_gradient("w", np.zeros(1))
    paths = {
        "register_variable": lambda: RuntimeContext.empty().register_variable("w", a),
        "set_variable": lambda: ctx.set_variable("w", a),
        "set_variable(absent)": lambda: ctx.set_variable("absent", a),
        "register_gradient": lambda: RuntimeContext.empty().register_gradient("w", a),
        "set_gradient": lambda: ctx.set_gradient("w", a),
        "create": lambda: Variable.create(0, "v", a),
        "to_spec": lambda: to_spec(a),
        "unpickle(variable)": lambda: unpickle_variable(0, "v", a, None, True),
        "unpickle(variable gradient)": lambda: unpickle_variable(0, "v", a.copy(), a, True),
        "unpickle(context)": lambda: unpickle_context([("w", a)], [], 1, "float64"),
        "unpickle(context gradient)": lambda: unpickle_context([], [("w", a)], 0, "float64"),
    }
    if held is not None:
        paths.update({
            "set_value": lambda: held.set_value(a),
            "Variable.set_gradient": lambda: held.set_gradient(a),
            "accumulate_gradient": lambda: held.accumulate_gradient(a),
        })
    return paths


def _impl_verdicts(shape) -> dict:
    out = {}
    for name, call in _impl_paths(shape).items():
        try:
            call()
            out[name] = None
        except TorchLeanError as exc:
            out[name] = exc.code
    return out


@pytest.mark.parametrize("shape", AT_CAP)
def test_shapes_at_the_node_cap_are_accepted_by_spec_and_impl(cap64, shape):
    assert T.nodeCount(shape, 10**13) <= LIMIT64
    assert _spec_refuses(shape) is None
    assert _impl_verdicts(shape) == {k: None for k in _impl_paths(shape)}


@pytest.mark.parametrize("shape", ABOVE_CAP)
def test_shapes_above_the_node_cap_are_refused_by_spec_and_impl_alike(cap64, shape):
    assert T.nodeCount(shape, LIMIT64) > LIMIT64
    assert _spec_refuses(shape) == "TLR_TENSOR_TOO_LARGE"
    verdicts = _impl_verdicts(shape)
    assert verdicts == {k: "TLR_TENSOR_TOO_LARGE" for k in verdicts}, verdicts


def test_exactly_cap_and_cap_plus_one_nodes(cap64):
    assert T.nodeCount((4096, 0), 10**6) == LIMIT64 and T.nodeCount((4097, 0), 10**6) == LIMIT64 + 1
    assert T.nodeCount((64, 63, 0), 10**6) == LIMIT64 and T.nodeCount((17, 240, 0), 10**6) == LIMIT64 + 1


def test_a_held_empty_shape_is_rechecked_when_the_cap_is_lowered():
    """The spec builds every new tensor under the current cap; so does the impl, even when the
    new array has the very shape a Variable already holds (the fast paths skip empty arrays)."""
    shape = (4097, 0)
    v = Variable.create(0, "v", np.zeros(shape))
    ctx = RuntimeContext.empty().register_variable("w", np.zeros(shape))
    previous = T.setElementCap(64)
    try:
        assert _spec_refuses(shape) == "TLR_TENSOR_TOO_LARGE"
        for call in (lambda: v.set_value(np.zeros(shape)), lambda: v.set_gradient(np.zeros(shape)),
                     lambda: v.accumulate_gradient(np.zeros(shape)), lambda: ctx.set_variable("w", np.zeros(shape)),
                     lambda: pickle.loads(pickle.dumps(v)), lambda: pickle.loads(pickle.dumps(ctx))):
            with pytest.raises(TensorTooLargeError) as info:
                call()
            assert info.value.code == "TLR_TENSOR_TOO_LARGE"
    finally:
        T.setElementCap(previous)


def test_from_spec_stores_under_the_same_rule(cap64):
    ok = T.zeros(to_spec(np.zeros(1)).alpha, [4096, 0])
    assert from_spec(ok).shape == (4096, 0)
    previous = T.setElementCap(63)
    try:
        with pytest.raises(TensorTooLargeError):
            from_spec(ok)
    finally:
        T.setElementCap(previous)


def test_the_attackers_shape_is_refused_by_both_at_the_default_cap():
    shape = (10**6, 10**6, 0)
    assert _spec_refuses(shape) == "TLR_TENSOR_TOO_LARGE"
    start = time.monotonic()
    verdicts = _impl_verdicts(shape)
    assert verdicts == {k: "TLR_TENSOR_TOO_LARGE" for k in verdicts}, verdicts
    assert time.monotonic() - start < 5
    # while a non-empty array above the spec's cap keeps the impl's own documented cap (MAX_ELEMENTS)
    RuntimeContext.empty().register_variable("w", np.zeros(T.elementCap() + 1))
