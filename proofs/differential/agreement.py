"""Spec-vs-impl agreement on random operation sequences (a first differential harness).

A *sequence* is a list of operations on one runtime context and one variable, each a tuple
``(operation, *arguments)`` with numpy arrays as tensors.  :func:`run_both` executes it on the
spec and on the impl side by side and compares, after every step and bit for bit:

* every answer (arrays through ``to_spec``, booleans, counts, names, strings, norms), and the
  error code when the spec refuses an operation;
* the abstracted state: ``to_spec(impl_ctx) == spec_ctx`` and ``to_spec(impl_var) == spec_var``
  (spec equality is bitwise on floats, so ``-0.0 ≠ +0.0`` and NaN payloads count).

:func:`random_sequence` draws sequences biased to the traps: few names (shadowing, set-all,
absent names, gradients under unknown names), shapes that differ only behind a zero dimension,
IEEE specials (±0, ±inf, subnormals, NaN payloads, signalling NaNs), and occasional arrays of a
foreign dtype (which both sides must refuse with the same code).
"""

from __future__ import annotations

import random
import time
from typing import Any, Optional, Sequence

import numpy as np

from torchlean_runtime.errors import TorchLeanError
from torchlean_runtime.impl import RuntimeContext, Variable, shape_eq, to_spec
from torchlean_runtime.report import Obligation, Outcome
from torchlean_runtime.spec.core.list import ofIterable
from torchlean_runtime.spec.core.shape import ShapeEq, ofList
from torchlean_runtime.spec.runtime import context as SC
from torchlean_runtime.spec.runtime import variable as SV

# The trap-biased pools live in strategies.py (shared with the stateful machine); re-exported here.
from .strategies import DTYPES, NAMES, SHAPES, random_array

__all__ = [
    "NAMES",
    "SHAPES",
    "DTYPES",
    "CONTEXT_OPS",
    "VARIABLE_OPS",
    "random_array",
    "random_sequence",
    "run_both",
    "check_random_sequences",
    "obligations",
]

#: Operations on the context (queries compare answers; the rest compare the new state).
CONTEXT_OPS = ("register_variable", "set_variable", "register_gradient", "set_gradient", "clear_gradients",
               "get_variable", "get_gradient", "has_variable")
#: Operations on the variable (``create`` replaces it; queries compare answers).
VARIABLE_OPS = ("create", "set_value", "set_gradient_v", "accumulate_gradient", "clear_gradient", "clone_variable",
                "detach_variable", "register_in_context", "register_gradient_in_context", "get_from_context",
                "variable_norm", "error", "cast_shape", "has_shape", "variable_eq")


# accumulate_gradient and variable_norm carry the arithmetic; they are drawn more often.
_OPS = CONTEXT_OPS + VARIABLE_OPS
_WEIGHTS = [4 if op in ("accumulate_gradient", "variable_norm") else 1 for op in _OPS]


def random_sequence(rng: random.Random, dtype: Any, length: int) -> list[tuple]:
    """A trap-biased operation sequence over one scalar type (plus rare foreign-dtype arrays).
    Arrays for the variable mostly have the variable's current shape (tracked here), so that
    set_value / accumulate_gradient mostly succeed and sometimes hit the shape check."""
    foreign = [d for d in DTYPES if d is not dtype]

    def arr(shape: Optional[tuple] = None) -> np.ndarray:
        d = rng.choice(foreign) if rng.random() < 0.04 else dtype
        return random_array(rng, d, shape if shape is not None and rng.random() < 0.85 else rng.choice(SHAPES))

    def name() -> str:
        return rng.choice(NAMES)

    def create() -> tuple:
        value = arr()
        return ("create", rng.randint(0, 3), name(), value, rng.random() < 0.7)

    ops: list[tuple] = [create()]
    var_shape = ops[0][3].shape
    for _ in range(length):
        op = rng.choices(_OPS, _WEIGHTS)[0]
        if op in ("register_variable", "set_variable", "register_gradient", "set_gradient"):
            ops.append((op, name(), arr(var_shape)))
        elif op in ("get_variable", "get_gradient"):
            ops.append((op, name(), var_shape if rng.random() < 0.5 else rng.choice(SHAPES)))
        elif op == "has_variable":
            ops.append((op, name()))
        elif op == "create":
            ops.append(create())
            if ops[-1][3].dtype == np.dtype(dtype):
                var_shape = ops[-1][3].shape
        elif op in ("set_value", "set_gradient_v", "accumulate_gradient"):
            ops.append((op, arr(var_shape)))
        elif op in ("clone_variable",):
            ops.append((op, rng.randint(0, 3)))
        elif op == "error":
            ops.append((op, name()))
        elif op == "has_shape":
            ops.append((op, var_shape if rng.random() < 0.5 else rng.choice(SHAPES)))
        elif op == "variable_eq":
            ops.append((op, rng.randint(0, 3), name()))
        else:
            ops.append((op,))
    return ops


def _same_answer(impl_answer: Any, spec_answer: Any) -> bool:
    if isinstance(impl_answer, np.floating):  # variable_norm: the same Lean scalar, bit for bit
        return type(spec_answer) in (float, np.float32) and impl_answer.tobytes() == np.asarray(
            spec_answer, dtype=impl_answer.dtype
        ).tobytes()
    if impl_answer is None or isinstance(impl_answer, (np.ndarray, Variable)):
        return to_spec(impl_answer) == spec_answer
    return type(impl_answer) is type(spec_answer) and impl_answer == spec_answer


_QUERIES = ("get_variable", "get_gradient", "has_variable", "get_from_context", "variable_norm", "error", "has_shape",
            "variable_eq")


def _impl_step(op: tuple, ctx: RuntimeContext, var: Variable, dtype: Any) -> tuple:
    """One op on the impl: (context, variable, answer)."""
    kind, args = op[0], op[1:]
    if kind in ("register_variable", "set_variable", "register_gradient", "set_gradient", "clear_gradients"):
        return getattr(ctx, kind)(*args), var, None
    if kind in ("get_variable", "get_gradient", "has_variable"):
        return ctx, var, getattr(ctx, kind)(*args)
    if kind == "create":
        return ctx, Variable.create(*args), None
    if kind in ("register_in_context", "register_gradient_in_context"):
        return getattr(var, kind)(ctx), var, None
    if kind == "get_from_context":
        return ctx, var, var.get_from_context(ctx)
    if kind in ("variable_norm", "has_shape"):
        return ctx, var, getattr(var, kind)(*args)
    if kind == "error":
        return ctx, var, Variable.error(ctx, args[0], dtype=dtype)
    if kind == "cast_shape":
        return ctx, var.cast_shape(shape_eq(var.shape, var.shape)), None
    if kind == "variable_eq":
        return ctx, var, var.variable_eq(Variable.create(args[0], args[1], var.value))
    method = {"set_gradient_v": "set_gradient"}.get(kind, kind)
    return ctx, getattr(var, method)(*args), None


_SPEC_CONTEXT_OPS = {"register_variable": SC.registerVariable, "set_variable": SC.setVariable,
                     "register_gradient": SC.registerGradient, "set_gradient": SC.setGradient}
_SPEC_VARIABLE_OPS = {"set_value": SV.setValue, "set_gradient_v": SV.setGradient,
                      "accumulate_gradient": SV.accumulateGradient, "clone_variable": SV.cloneVariable}


def _spec_step(op: tuple, ctx: Any, var: Any, dtype: Any) -> tuple:
    """The same op on the spec: (context, variable, answer)."""
    kind = op[0]
    args = [to_spec(a) if isinstance(a, np.ndarray) else a for a in op[1:]]
    if kind in _SPEC_CONTEXT_OPS:
        return _SPEC_CONTEXT_OPS[kind](ctx, *args), var, None
    if kind == "clear_gradients":
        return SC.clearGradients(ctx), var, None
    if kind == "get_variable":
        return ctx, var, SC.getVariable(ctx, args[0], ofList(args[1]))
    if kind == "get_gradient":
        return ctx, var, SC.getGradient(ctx, args[0], ofList(args[1]))
    if kind == "has_variable":
        return ctx, var, SC.hasVariable(ctx, args[0])
    if kind == "create":
        return ctx, SV.createVariable(*args), None
    if kind in _SPEC_VARIABLE_OPS:
        return ctx, _SPEC_VARIABLE_OPS[kind](var, *args), None
    if kind == "clear_gradient":
        return ctx, SV.clearGradient(var), None
    if kind == "detach_variable":
        return ctx, SV.detachVariable(var), None
    if kind == "register_in_context":
        return SV.registerInContext(ctx, var), var, None
    if kind == "register_gradient_in_context":
        return SV.registerGradientInContext(ctx, var), var, None
    if kind == "get_from_context":
        return ctx, var, SV.getFromContext(ctx, var)
    if kind == "variable_norm":
        return ctx, var, SV.variableNorm(var)
    if kind == "error":
        return ctx, var, SV.error(ctx, args[0], to_spec(np.zeros((), dtype)).alpha)
    if kind == "cast_shape":
        return ctx, SV.castShape(var, ShapeEq.refl(var.s)), None
    if kind == "has_shape":
        return ctx, var, SV.hasShape(var, ofList(args[0]))
    if kind == "variable_eq":
        return ctx, var, SV.variableEq(var, SV.createVariable(args[0], args[1], var.value))
    raise ValueError(f"unknown operation {kind!r}")


def _observations(ctx: RuntimeContext, var: Variable, spec_ctx: Any, spec_var: Any) -> Optional[str]:
    """Compare the abstracted state and every cheap whole-state query; None when all agree."""
    checks = [
        ("state", to_spec(ctx) == spec_ctx),
        ("variable", to_spec(var) == spec_var),
        ("variable_names", ofIterable(ctx.variable_names()) == SC.variableNames(spec_ctx)),
        ("gradient_names", ofIterable(ctx.gradient_names()) == SC.gradientNames(spec_ctx)),
        ("context_size", ctx.context_size() == SC.contextSize(spec_ctx)),
        ("gradient_count", ctx.gradient_count() == SC.gradientCount(spec_ctx)),
        ("is_valid_context", ctx.is_valid_context() is SC.isValidContext(spec_ctx)),
        ("next_id", ctx.next_id == spec_ctx.next_id),
        ("to_lean_string", ctx.to_lean_string() == SC.contextToString(spec_ctx)),
        ("variable to_lean_string", var.to_lean_string() == SV.variableToString(spec_var)),
        ("check_requires_grad", var.check_requires_grad() is SV.checkRequiresGrad(spec_var)),
    ]
    bad = [name for name, ok in checks if not ok]
    return ", ".join(bad) if bad else None


def run_both(ops: Sequence[tuple], dtype: Any) -> Optional[str]:
    """Execute ``ops`` on spec and impl; None if they agree at every step, else the first
    disagreement (step, operation, what differed).  Operations before the first ``create``
    that need the variable are skipped.  A refused operation leaves both states as they were
    and must be refused by both sides with the same error code."""
    ctx, spec_ctx = RuntimeContext.empty(), SC.emptyContext()
    var = spec_var = None
    for i, op in enumerate(ops):
        if var is None and op[0] != "create" and op[0] not in CONTEXT_OPS:
            continue
        impl_out = spec_out = impl_error = spec_error = None
        try:
            impl_out = _impl_step(op, ctx, var, dtype)
        except TorchLeanError as exc:
            impl_error = exc.code
        try:
            spec_out = _spec_step(op, spec_ctx, spec_var, dtype)
        except TorchLeanError as exc:
            spec_error = exc.code
        if impl_error or spec_error:
            if impl_error != spec_error:
                return f"steps[{i}] {_describe(op)}: impl raised {impl_error or 'nothing'}, spec {spec_error or 'nothing'}"
            continue
        (ctx, var, answer), (spec_ctx, spec_var, spec_answer) = impl_out, spec_out
        if op[0] in _QUERIES and not _same_answer(answer, spec_answer):
            return f"steps[{i}] {_describe(op)}: impl answered {answer!r}, spec {spec_answer!r}"
        if var is not None:
            problem = _observations(ctx, var, spec_ctx, spec_var)
            if problem:
                return f"steps[{i}] {_describe(op)}: {problem} differ"
    return None


def _describe(op: tuple) -> str:
    parts = [op[0]]
    for a in op[1:]:
        parts.append(f"array{a.shape}:{a.dtype}" if isinstance(a, np.ndarray) else repr(a))
    return "(" + ", ".join(parts) + ")"


def check_random_sequences(dtype_name: str, cases: int, length: int, seed: int) -> Outcome:
    """Obligation body: ``cases`` random sequences of ``length`` operations agree."""
    dtype = {"float64": np.float64, "float32": np.float32, "int64": np.int64}[dtype_name]
    rng = random.Random(seed)
    start = time.perf_counter()
    steps = 0
    for case in range(cases):
        ops = random_sequence(rng, dtype, length)
        steps += len(ops)
        problem = run_both(ops, dtype)
        if problem:
            return Outcome(False, f"case {case} (seed {seed}): {problem}")
    return Outcome(
        True,
        f"{cases} random sequences × {length} operations ({steps} steps, {dtype_name}, seed {seed}) agreed bit for bit "
        f"in answers, error codes and abstracted state ({time.perf_counter() - start:.1f}s)",
    )


def obligations(quick: bool) -> list[Obligation]:
    cases = 100 if quick else 1000
    out = []
    for dtype_name in ("float64", "float32", "int64"):
        out.append(
            Obligation(
                name=f"impl refines spec: random operation sequences ({dtype_name})",
                method="differential (random sequences, spec vs impl)",
                label="sampled",
                claim=(
                    f"for {cases} random trap-biased sequences of 30 context and variable operations over "
                    f"{dtype_name}, every answer, every error code and the abstracted state after every step "
                    "equal the spec's, bit for bit"
                ),
                run=check_random_sequences,
                args=(dtype_name, cases, 30, 20240 + len(dtype_name) + (0 if dtype_name != "int64" else 7)),
                parallel=True,
            )
        )
    return out
