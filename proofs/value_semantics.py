"""Value semantics of the impl under a hostile caller: nothing a caller does with what it passed
in or got back changes stored state or a later answer.

Lean values are immutable, so a ``RuntimeContext`` / ``Variable`` of the impl must behave as
one: after every operation of a fixed-seed random program the caller

1. records every answer the objects it holds give (every query of both modules, to bits),
   together with each object's stored state (the abstraction ``to_spec`` and its pickle, which
   carries every stored array's dtype, shape and bytes);
2. mutates every array it passed in, and tries every route of
   :mod:`torchlean_runtime.conformance.attacks` on everything it received — the result of the
   operation and every answer just recorded (arrays, name lists, Variables, contexts);
3. records the same again.  Both records must be identical, and the objects held before the
   operation must still give what they gave before it (persistence).

Count budget only: a fixed number of operations per scalar type from a fixed seed, so the same
commit gives the same verdict on any machine under any load.  Used by ``torchlean-rt verify``
(label ``sampled``) and as a column of the mutant kill matrix; it is the method that kills
aliasing mutants (a stored caller array, a cached name list handed out) without pytest.
"""

from __future__ import annotations

import pickle
import random
from typing import Any, Callable, Optional

import numpy as np

from torchlean_runtime.errors import TorchLeanError
from torchlean_runtime.report import Obligation, Outcome

__all__ = ["obligations", "check_value_semantics", "SEED", "STEPS"]

#: Fixed seed of every program (plus the scalar type's index).
SEED = 20261130
#: Operations per scalar type: (quick, thorough).
STEPS = (100, 1000)
_DTYPES = ("float64", "float32", "int64")
_NAMES = ("w", "b", "", "w")  # "w" twice: shadowing is frequent
_SHAPES = ((), (3,), (2, 2), (0, 2))
_POOL = 4  # contexts and Variables the caller keeps (the newest ones)


def _array(rng: random.Random, shape: tuple, dtype: str) -> np.ndarray:
    n = int(np.prod(shape, dtype=np.int64))
    if dtype == "int64":
        data = [rng.choice((0, 1, -1, 7, 2**62, -(2**63))) for _ in range(n)]
    else:
        specials = (0.0, -0.0, 1.5, -2.25, float("inf"), float("nan"), 5e-324, 1e308)
        data = [rng.choice(specials) for _ in range(n)]
    with np.errstate(all="ignore"):  # 1e308 in float32 is inf: one more special value
        arr = np.array(data, dtype=dtype).reshape(shape)
    if rng.random() < 0.3:  # a read-only view of memory the caller still owns (and may write)
        arr = arr.view()
        arr.flags.writeable = False
    return arr


def _answer(thunk: Callable[[], Any], received: list) -> Any:
    """A comparable record of one answer (arrays to dtype, shape, bytes, writeable flag); the
    answer itself goes to ``received``, to be attacked."""
    try:
        value = thunk()
    except TorchLeanError as exc:
        return ("error", exc.code)
    except Exception as exc:  # a corrupted object may crash a query: recorded, so it differs
        return ("crash", type(exc).__name__, str(exc)[:200])
    received.append(value)
    return _record(value)


def _record(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return ("array", value.dtype.str, value.shape, value.tobytes(), bool(value.flags.writeable))
    if isinstance(value, np.generic):
        return ("scalar", value.dtype.str, value.tobytes())
    if isinstance(value, (list, tuple)):
        return (type(value).__name__, tuple(_record(x) for x in value))
    if isinstance(value, (str, int, bool, type(None), float)):
        return (type(value).__name__, repr(value))
    return ("object", type(value).__name__, _state(value))


def _state(obj: Any) -> Any:
    """Stored state: the abstraction (what the spec sees) and the pickle (every stored bit)."""
    from torchlean_runtime.impl import to_spec

    out = []
    try:
        out.append(repr(to_spec(obj)))
    except Exception as exc:  # a corrupted object may not even abstract: that differs too
        out.append(f"{type(exc).__name__}: {exc}")
    out.append(_bits(obj))
    return tuple(out)


def _bits(obj: Any) -> Any:
    """The pickle part of :func:`_state` (the cheap one)."""
    try:
        return pickle.dumps(obj, protocol=5)
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"


def _answers(obj: Any, keys: list[tuple[str, tuple]], received: list) -> tuple:
    """Every answer ``obj`` gives to the queries of its module, and its stored state."""
    from torchlean_runtime.impl import RuntimeContext

    out: list[Any] = [_state(obj)]
    if isinstance(obj, RuntimeContext):
        for q in ("variable_names", "gradient_names", "context_size", "gradient_count", "is_valid_context",
                  "to_lean_string"):
            out.append(_answer(getattr(obj, q), received))
        for name, shape in keys:
            out.append(_answer(lambda: obj.has_variable(name), received))
            out.append(_answer(lambda: obj.get_variable(name, shape), received))
            out.append(_answer(lambda: obj.get_gradient(name, shape), received))
    else:
        for q in ("get_value", "get_gradient", "check_requires_grad", "to_lean_string", "variable_norm"):
            out.append(_answer(getattr(obj, q), received))
        for _, shape in keys:
            out.append(_answer(lambda: obj.has_shape(shape), received))
    return tuple(out)


def _operation(rng: random.Random, dtype: str, ctxs: list, vs: list,
               next_var_id: list) -> tuple[str, Callable[[], Any], list, tuple]:
    """A random operation: (its description, the call, the arrays passed in, the (name, shape) it uses)."""
    from torchlean_runtime.impl import RuntimeContext, Variable

    name, shape = rng.choice(_NAMES), rng.choice(_SHAPES)
    ctx = rng.choice(ctxs)
    arr = _array(rng, shape, dtype)
    ops: list[tuple[str, Callable[[], Any], list]] = [
        (f"register_variable({name!r}, {shape})", lambda: ctx.register_variable(name, arr), [arr]),
        (f"set_variable({name!r}, {shape})", lambda: ctx.set_variable(name, arr), [arr]),
        (f"register_gradient({name!r}, {shape})", lambda: ctx.register_gradient(name, arr), [arr]),
        (f"set_gradient({name!r}, {shape})", lambda: ctx.set_gradient(name, arr), [arr]),
        ("clear_gradients()", ctx.clear_gradients, []),
        (f"Variable.create({next_var_id[0]}, {name!r}, {shape})",
         lambda: Variable.create(next_var_id[0], name, arr, rng.random() < 0.5), [arr]),
        ("Variable.error", lambda: Variable.error(ctx, "boom", np.dtype(dtype)), []),
    ]
    if vs:
        v = rng.choice(vs)
        same = _array(rng, v.shape, dtype)
        ops += [
            ("set_value", lambda: v.set_value(same), [same]),
            ("Variable.set_gradient", lambda: v.set_gradient(same), [same]),
            ("accumulate_gradient", lambda: v.accumulate_gradient(same), [same]),
            ("clear_gradient", v.clear_gradient, []),
            ("clone_variable", lambda: v.clone_variable(next_var_id[0]), []),
            ("detach_variable", v.detach_variable, []),
            ("register_in_context", lambda: v.register_in_context(ctx), []),
            ("register_gradient_in_context", lambda: v.register_gradient_in_context(ctx), []),
            ("get_from_context", lambda: v.get_from_context(ctx), []),
            ("variable_eq", lambda: v.variable_eq(rng.choice(vs)), []),
            ("cast_shape", lambda: v.cast_shape(_shape_eq(v.shape)), []),
        ]
    # must-fail inputs in the states where an implementation may take a shortcut (an absent
    # name, a Variable without gradient, castShape's run-time identity): Lean's types refuse
    # them, so the impl must raise a typed error there too (checked in both checking modes)
    other = "float32" if dtype != "float32" else "float64"
    wrong = _array(rng, shape, other)
    absent = "never-registered"
    ops += [
        (f"MUST FAIL set_variable({absent!r}, {other} array)", lambda: ctx.set_variable(absent, wrong), [wrong]),
        (f"MUST FAIL set_gradient({absent!r}, {other} array)", lambda: ctx.set_gradient(absent, wrong), [wrong]),
        (f"MUST FAIL register_gradient_in_context(context over {other})",
         lambda: Variable.create(0, "g", _array(rng, shape, dtype)).register_gradient_in_context(
             RuntimeContext.empty(np.dtype(other))), []),
    ]
    if vs:
        v = rng.choice(vs)
        bad_shape = v.shape + (1,)
        ops.append((f"MUST FAIL cast_shape(evidence about {bad_shape})", lambda: v.cast_shape(_shape_eq(bad_shape)), []))
    return (*rng.choice(ops), (name, shape))


def _list_route(route: str) -> bool:
    return route.rsplit(".", 1)[-1] in ("append", "reverse", "sort", "setitem", "clear")


def _shape_eq(shape: tuple) -> Any:
    from torchlean_runtime.impl import shape_eq

    return shape_eq(shape, shape)


def check_value_semantics(dtype: str, steps: int, seed: int) -> Outcome:
    """Obligation body: ``steps`` operations over ``dtype`` from ``seed``; see the module docstring."""
    from torchlean_runtime.conformance.attacks import attack
    from torchlean_runtime.impl import RuntimeContext, Variable

    rng = random.Random(seed)
    ctxs: list = [RuntimeContext.empty(np.dtype(dtype))]
    vs: list = []
    keys: list[tuple[str, tuple]] = []
    next_var_id = [0]
    for step in range(steps):
        held = ctxs + vs
        before = [_answers(obj, keys, []) for obj in held]
        what, call, inputs, key = _operation(rng, dtype, ctxs, vs, next_var_id)
        if key not in keys:
            keys = (keys + [key])[-12:]
        try:
            result = call()
        except TorchLeanError as exc:
            result = None
            what += f" -> {exc.code}"
        else:
            if what.startswith("MUST FAIL"):
                return Outcome(False, f"steps[{step}] ({dtype}, seed {seed}): {what[len('MUST FAIL '):]} was accepted "
                                      f"(returned {type(result).__name__}); Lean's types refuse it, so a typed error "
                                      "is due")
        if isinstance(result, RuntimeContext):
            ctxs = (ctxs + [result])[-_POOL:]
        elif isinstance(result, Variable):
            vs = (vs + [result])[-_POOL:]
            next_var_id[0] += 1
        # held before the operation: unchanged by it (Lean values are persistent)
        after_op = [_answers(obj, keys, []) for obj in held]
        for obj, b, a in zip(held, before, after_op):
            if b[0] != a[0]:
                return Outcome(False, f"steps[{step}] ({dtype}, seed {seed}): {what} changed the stored state of an "
                                      f"object it was given ({type(obj).__name__})")
        now = ctxs + vs
        received: list = []
        recorded = [_answers(obj, keys, received) for obj in now]
        culprit: Optional[str] = None
        for label, obj in [*((f"input{i}", a) for i, a in enumerate(inputs)), ("result", result),
                           *((f"answer{i}", a) for i, a in enumerate(received)),
                           *((type(o).__name__, o) for o in now)]:
            routes = attack(obj, label)
            # a fresh list or a caller's own array may be changed freely; anything else that let a
            # route through is checked at once, so a failure names the route
            if culprit is None and any(not label.startswith("input") and not _list_route(r) for r in routes):
                if [_bits(o) for o in now] != [r[0][1] for r in recorded]:
                    culprit = ", ".join(routes)[:300]
        again = [_answers(obj, keys, []) for obj in now]
        for obj, r, g in zip(now, recorded, again):
            if r != g:
                part = "the stored state" if r[0] != g[0] else "a later answer"
                return Outcome(False, f"steps[{step}] ({dtype}, seed {seed}): after {what}, a caller's mutations changed "
                                      f"{part} of a {type(obj).__name__}"
                                      + (f"; routes that got through: {culprit}" if culprit else ""))
    return Outcome(True, f"{steps} operations over {dtype} (seed {seed}); after each, every input mutated and every "
                         "mutation route tried on every received object: stored state and every answer unchanged")


def obligations(quick: bool) -> list[Obligation]:
    steps = STEPS[0] if quick else STEPS[1]
    return [
        Obligation(
            name=f"value semantics: hostile caller ({dtype})",
            method="value-semantics",
            label="sampled",
            claim=(f"for {steps} random operations over {dtype} (seed {SEED + i}, every operation of both modules), "
                   "after each one the caller mutates every array it passed in and tries every route of "
                   "conformance.attacks on everything it received (result, arrays, name lists, Variables, contexts); "
                   "the stored state (to_spec and pickled bits) and every later answer are unchanged, and objects "
                   "held before the operation are unchanged by it; bad inputs in shortcut states (absent names, "
                   "no gradient, cast evidence about another shape) raise typed errors"),
            run=check_value_semantics,
            args=(dtype, steps, SEED + i),
            parallel=True,
        )
        for i, dtype in enumerate(_DTYPES)
    ]
