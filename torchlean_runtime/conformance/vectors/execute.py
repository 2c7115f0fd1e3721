"""Executing a trace against a target: one small adapter per target, one shared session loop.

A :class:`Session` walks the steps of a :class:`~.format.Trace`, keeps the handle environment
(handle → the target's own context/variable object), converts literal arguments into the
target's values (spec ``Tensor`` / numpy array), calls the target, and *observes* the answer as
a neutral :class:`~.format.Result` — bit patterns, names, counts — so that expected and actual
are compared exactly the same way for every target.

* :class:`SpecAdapter` calls ``torchlean_runtime.spec`` (the reference: the corpus's expected
  results are what it returns, see :func:`fill_expectations`);
* :class:`ImplAdapter` calls ``torchlean_runtime.impl`` (the real conformance check).

A target may answer a step with a value, with one of the project's typed errors (observed as
its stable ``code``), or with anything else — an untyped exception is observed as a
:class:`Crash`, which never matches an expectation.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass, replace
from typing import Any, Callable, Union

import numpy as np

from torchlean_runtime.errors import TorchLeanError

from .bits import ScalarBits, TensorBits
from .format import OPS, ContextState, ExpectedError, Result, Step, Trace, VariableState

__all__ = [
    "ObservedError",
    "Crash",
    "Observation",
    "SpecAdapter",
    "observe_spec",
    "spec_context_state",
    "ImplAdapter",
    "ImplUnavailable",
    "TARGETS",
    "adapter_for",
    "Session",
    "matches",
    "fill_expectations",
]


@dataclass(frozen=True)
class ObservedError:
    """The target refused the step with a typed project error."""

    code: str
    message: str

    def describe(self) -> str:
        return f"error {self.code} ({self.message})"


@dataclass(frozen=True)
class Crash:
    """The target raised something that is not a project error (or returned an unobservable value)."""

    exception: str
    message: str

    def describe(self) -> str:
        return f"crash {self.exception}: {self.message}"


Observation = Union[Result, ObservedError, Crash]


def matches(expected: Union[Result, ExpectedError], observed: Observation) -> bool:
    """Exact agreement: equal results (bitwise), or the expected error code."""
    if isinstance(expected, ExpectedError):
        return isinstance(observed, ObservedError) and observed.code == expected.code
    return isinstance(observed, Result) and observed == expected


def _nat(x: Any, what: str) -> int:
    if isinstance(x, (bool, np.bool_)):
        raise TypeError(f"{what} is a bool, expected a Nat")
    return operator.index(x)


def _bool(x: Any) -> bool:
    if isinstance(x, (bool, np.bool_)):
        return bool(x)
    raise TypeError(f"expected a Bool, given {type(x).__name__} {x!r}")


def _names(x: Any) -> tuple[str, ...]:
    names = tuple(x)
    for n in names:
        if not isinstance(n, str):
            raise TypeError(f"expected names (str), given {type(n).__name__}")
    return names


# --- the spec -----------------------------------------------------------------------------


def _spec_calls() -> dict[str, Callable[..., Any]]:
    from torchlean_runtime.spec.core.shape import ShapeEq, ofList
    from torchlean_runtime.spec.runtime import context as C
    from torchlean_runtime.spec.runtime import variable as V

    return {
        "Runtime.emptyContext": lambda alpha: C.emptyContext(alpha),
        "Runtime.registerVariable": lambda alpha, ctx, name, value: C.registerVariable(ctx, name, value),
        "Runtime.getVariable": lambda alpha, ctx, name, s: C.getVariable(ctx, name, ofList(s)),
        "Runtime.setVariable": lambda alpha, ctx, name, value: C.setVariable(ctx, name, value),
        "Runtime.registerGradient": lambda alpha, ctx, name, grad: C.registerGradient(ctx, name, grad),
        "Runtime.getGradient": lambda alpha, ctx, name, s: C.getGradient(ctx, name, ofList(s)),
        "Runtime.setGradient": lambda alpha, ctx, name, grad: C.setGradient(ctx, name, grad),
        "Runtime.clearGradients": lambda alpha, ctx: C.clearGradients(ctx),
        "Runtime.hasVariable": lambda alpha, ctx, name: C.hasVariable(ctx, name),
        "Runtime.variableNames": lambda alpha, ctx: C.variableNames(ctx),
        "Runtime.gradientNames": lambda alpha, ctx: C.gradientNames(ctx),
        "Runtime.contextSize": lambda alpha, ctx: C.contextSize(ctx),
        "Runtime.gradientCount": lambda alpha, ctx: C.gradientCount(ctx),
        "Runtime.isValidContext": lambda alpha, ctx: C.isValidContext(ctx),
        "Runtime.contextToString": lambda alpha, ctx: C.contextToString(ctx),
        "Runtime.Variable.createVariable": lambda alpha, id, name, value, **rg: V.createVariable(id, name, value, **rg),
        "Runtime.Variable.getValue": lambda alpha, v: V.getValue(v),
        "Runtime.Variable.setValue": lambda alpha, v, new_value: V.setValue(v, new_value),
        "Runtime.Variable.getGradient": lambda alpha, v: V.getGradient(v),
        "Runtime.Variable.setGradient": lambda alpha, v, grad: V.setGradient(v, grad),
        "Runtime.Variable.clearGradient": lambda alpha, v: V.clearGradient(v),
        "Runtime.Variable.checkRequiresGrad": lambda alpha, v: V.checkRequiresGrad(v),
        "Runtime.Variable.accumulateGradient": lambda alpha, v, grad: V.accumulateGradient(v, grad),
        "Runtime.Variable.variableToString": lambda alpha, v: V.variableToString(v),
        "Runtime.Variable.variableEq": lambda alpha, v1, v2: V.variableEq(v1, v2),
        "Runtime.Variable.hasShape": lambda alpha, v, expected_shape: V.hasShape(v, ofList(expected_shape)),
        "Runtime.Variable.variableNorm": lambda alpha, v: V.variableNorm(v),
        "Runtime.Variable.cloneVariable": lambda alpha, v, new_id: V.cloneVariable(v, new_id),
        "Runtime.Variable.detachVariable": lambda alpha, v: V.detachVariable(v),
        "Runtime.Variable.registerInContext": lambda alpha, ctx, v: V.registerInContext(ctx, v),
        "Runtime.Variable.getFromContext": lambda alpha, ctx, v: V.getFromContext(ctx, v),
        "Runtime.Variable.registerGradientInContext": lambda alpha, ctx, v: V.registerGradientInContext(ctx, v),
        # Lean's implicit {α} of `error` is the trace's scalar type.
        "Runtime.Variable.error": lambda alpha, ctx, msg: V.error(ctx, msg, alpha),
        # The proof h : s₁ = s₂ is obtained by checking the shapes (CastEvidenceError if unequal).
        "Runtime.Variable.castShape": lambda alpha, v, s2: V.castShape(v, ShapeEq.check(v.s, ofList(s2))),
    }


class SpecAdapter:
    """``torchlean_runtime.spec`` as a trace target."""

    name = "spec"

    def __init__(self, scalar_type: str):
        from torchlean_runtime.spec.core.scalars import scalarTypeNamed

        self.alpha = scalarTypeNamed(scalar_type)
        self._calls = _spec_calls()

    def tensor(self, t: TensorBits) -> Any:
        return t.to_spec()

    def call(self, op: str, args: dict[str, Any]) -> Any:
        return self._calls[op](self.alpha, **args)

    def observe(self, kind: str, x: Any) -> Result:
        return observe_spec(kind, x)


_SPEC_TYPES: tuple = ()


def _load_spec_types() -> tuple:
    """The spec's ``(Tensor, RuntimeContext, Variable)``, imported on first use and kept (observing
    is the fuzz engine's hot path: no import statement per call)."""
    global _SPEC_TYPES
    from torchlean_runtime.spec.core.tensor import Tensor
    from torchlean_runtime.spec.runtime.context import RuntimeContext
    from torchlean_runtime.spec.runtime.variable import Variable

    _SPEC_TYPES = (Tensor, RuntimeContext, Variable)
    return _SPEC_TYPES


def observe_spec(kind: str, x: Any, bits: Callable[[Any], TensorBits] = TensorBits.from_spec) -> Result:
    """A spec answer as a neutral :class:`Result`; ``bits`` turns a spec ``Tensor`` into its bit
    patterns (``TensorBits.from_spec``, or a memoising equivalent such as the fuzz engine's)."""
    Tensor, RuntimeContext, Variable = _SPEC_TYPES or _load_spec_types()
    if kind == "context":
        if not isinstance(x, RuntimeContext):
            raise TypeError(f"expected a spec RuntimeContext, given {type(x).__name__}")
        return Result(kind, spec_context_state(x, bits))
    if kind == "variable":
        if not isinstance(x, Variable):
            raise TypeError(f"expected a spec Variable, given {type(x).__name__}")
        grad = None if x.gradient is None else bits(x.gradient)
        return Result(kind, VariableState(x.id, x.name, bits(x.value), grad, x.requires_grad))
    if kind == "tensor":
        return Result(kind, bits(x))
    if kind == "option_tensor":
        if x is not None and not isinstance(x, Tensor):
            raise TypeError(f"expected a spec Tensor or None, given {type(x).__name__}")
        return Result(kind, None if x is None else bits(x))
    return _observe_plain(kind, x)


def spec_context_state(ctx: Any, bits: Callable[[Any], TensorBits] = TensorBits.from_spec) -> ContextState:
    """A spec ``RuntimeContext`` as data (registries in list order, ``next_id``)."""

    def reg(entries: Any) -> tuple:
        return tuple((name, bits(any_tensor.t)) for name, any_tensor in entries)

    return ContextState(reg(ctx.var_registry), reg(ctx.gradients), ctx.next_id)


def _observe_plain(kind: str, x: Any) -> Result:
    if kind == "scalar":
        return Result(kind, ScalarBits.from_value(x))
    if kind == "bool":
        return Result(kind, _bool(x))
    if kind == "nat":
        return Result(kind, _nat(x, "the result"))
    if kind == "string":
        if not isinstance(x, str):
            raise TypeError(f"expected a str, given {type(x).__name__}")
        return Result(kind, x)
    if kind == "names":
        return Result(kind, _names(x))
    raise TypeError(f"unknown result kind {kind!r}")


# --- the impl -----------------------------------------------------------------------------


class ImplUnavailable(RuntimeError):
    """``torchlean_runtime.impl`` cannot be imported (or lacks the issue-3 API)."""


def _impl_calls(impl: Any) -> dict[str, Callable[..., Any]]:
    RC, Var = impl.RuntimeContext, impl.Variable

    return {
        "Runtime.emptyContext": lambda dtype: RC.empty(dtype),  # Lean's implicit {α}: the trace's
        "Runtime.registerVariable": lambda dtype, ctx, name, value: ctx.register_variable(name, value),
        "Runtime.getVariable": lambda dtype, ctx, name, s: ctx.get_variable(name, s),
        "Runtime.setVariable": lambda dtype, ctx, name, value: ctx.set_variable(name, value),
        "Runtime.registerGradient": lambda dtype, ctx, name, grad: ctx.register_gradient(name, grad),
        "Runtime.getGradient": lambda dtype, ctx, name, s: ctx.get_gradient(name, s),
        "Runtime.setGradient": lambda dtype, ctx, name, grad: ctx.set_gradient(name, grad),
        "Runtime.clearGradients": lambda dtype, ctx: ctx.clear_gradients(),
        "Runtime.hasVariable": lambda dtype, ctx, name: ctx.has_variable(name),
        "Runtime.variableNames": lambda dtype, ctx: ctx.variable_names(),
        "Runtime.gradientNames": lambda dtype, ctx: ctx.gradient_names(),
        "Runtime.contextSize": lambda dtype, ctx: ctx.context_size(),
        "Runtime.gradientCount": lambda dtype, ctx: ctx.gradient_count(),
        "Runtime.isValidContext": lambda dtype, ctx: ctx.is_valid_context(),
        "Runtime.contextToString": lambda dtype, ctx: ctx.to_lean_string(),
        "Runtime.Variable.createVariable": lambda dtype, id, name, value, **rg: Var.create(id, name, value, **rg),
        "Runtime.Variable.getValue": lambda dtype, v: v.get_value(),
        "Runtime.Variable.setValue": lambda dtype, v, new_value: v.set_value(new_value),
        "Runtime.Variable.getGradient": lambda dtype, v: v.get_gradient(),
        "Runtime.Variable.setGradient": lambda dtype, v, grad: v.set_gradient(grad),
        "Runtime.Variable.clearGradient": lambda dtype, v: v.clear_gradient(),
        "Runtime.Variable.checkRequiresGrad": lambda dtype, v: v.check_requires_grad(),
        "Runtime.Variable.accumulateGradient": lambda dtype, v, grad: v.accumulate_gradient(grad),
        "Runtime.Variable.variableToString": lambda dtype, v: v.to_lean_string(),
        "Runtime.Variable.variableEq": lambda dtype, v1, v2: v1.variable_eq(v2),
        "Runtime.Variable.hasShape": lambda dtype, v, expected_shape: v.has_shape(expected_shape),
        "Runtime.Variable.variableNorm": lambda dtype, v: v.variable_norm(),
        "Runtime.Variable.cloneVariable": lambda dtype, v, new_id: v.clone_variable(new_id),
        "Runtime.Variable.detachVariable": lambda dtype, v: v.detach_variable(),
        "Runtime.Variable.registerInContext": lambda dtype, ctx, v: v.register_in_context(ctx),
        "Runtime.Variable.getFromContext": lambda dtype, ctx, v: v.get_from_context(ctx),
        "Runtime.Variable.registerGradientInContext": lambda dtype, ctx, v: v.register_gradient_in_context(ctx),
        "Runtime.Variable.error": lambda dtype, ctx, msg: Var.error(ctx, msg, dtype),
        "Runtime.Variable.castShape": lambda dtype, v, s2: v.cast_shape(impl.shape_eq(v.shape, s2)),
    }


def _load_impl() -> Any:
    try:
        import torchlean_runtime.impl as impl
    except Exception as exc:  # the impl is another issue's work: report, do not crash
        raise ImplUnavailable(f"torchlean_runtime.impl does not import: {type(exc).__name__}: {exc}") from exc
    missing = [n for n in ("RuntimeContext", "Variable", "to_spec", "shape_eq") if not hasattr(impl, n)]
    if missing:
        raise ImplUnavailable(f"torchlean_runtime.impl lacks {missing} (the issue-3 API)")
    return impl


class ImplAdapter:
    """``torchlean_runtime.impl`` (numpy) as a trace target."""

    name = "impl"

    def __init__(self, scalar_type: str):
        from .bits import DTYPE_OF_SCALAR_TYPE

        self.impl = _load_impl()
        self.dtype = np.dtype(DTYPE_OF_SCALAR_TYPE[scalar_type])
        self._calls = _impl_calls(self.impl)

    def tensor(self, t: TensorBits) -> np.ndarray:
        return t.to_array()

    def call(self, op: str, args: dict[str, Any]) -> Any:
        return self._calls[op](self.dtype, **args)

    def observe(self, kind: str, x: Any) -> Result:
        if kind == "context":
            if not isinstance(x, self.impl.RuntimeContext):
                raise TypeError(f"expected an impl RuntimeContext, given {type(x).__name__}")
            # The registries (shadowed entries included) are internal state: observed as the
            # abstraction function reads them (each registry's entries in list order, newest
            # first: name and array; ``impl.to_spec`` then converts the arrays to spec tensors,
            # here they are read as bit patterns directly — the same data, see
            # tests/conformance for the equivalence), with the public next_id.
            state = impl_context_state(x)
            return Result(kind, state)
        if kind == "variable":
            if not isinstance(x, self.impl.Variable):
                raise TypeError(f"expected an impl Variable, given {type(x).__name__}")
            grad = None if x.gradient is None else array_bits(x.gradient)
            return Result(
                kind,
                VariableState(_nat(x.id, "id"), x.name, array_bits(x.value), grad, _bool(x.requires_grad)),
            )
        if kind == "tensor":
            return Result(kind, array_bits(x))
        if kind == "option_tensor":
            return Result(kind, None if x is None else array_bits(x))
        return _observe_plain(kind, x)


#: TensorBits of array contents, keyed by (dtype, shape, bytes): ``TensorBits.from_array`` is a
#: function of exactly these, so a hit is the same answer (never keyed by identity: an array
#: changed in place gives another key).  Bounded; cleared when full.
_ARRAY_BITS: dict = {}
_ARRAY_BITS_LIMIT = 50_000


def array_bits(array: Any) -> TensorBits:
    """``TensorBits.from_array(array)``, memoised by content."""
    if type(array) is not np.ndarray:
        return TensorBits.from_array(array)
    key = (array.dtype.str, array.shape, array.tobytes())
    hit = _ARRAY_BITS.get(key)
    if hit is None:
        hit = TensorBits.from_array(array)
        if len(_ARRAY_BITS) >= _ARRAY_BITS_LIMIT:
            _ARRAY_BITS.clear()
        _ARRAY_BITS[key] = hit
    return hit


def impl_context_state(ctx: Any) -> ContextState:
    """An impl ``RuntimeContext`` as data: what ``spec_context_state(impl.to_spec(ctx))`` gives
    (to_spec reads each registry's ``items()`` — name and array, newest first — and ``next_id``),
    without building spec tensors in between."""
    def reg(registry: Any) -> tuple:
        out = []
        for entry in registry.items():
            name = entry.name
            if type(name) is not str:
                raise TypeError(f"an entry name is a {type(name).__name__}, not a str")
            out.append((name, array_bits(entry.array)))
        return tuple(out)

    return ContextState(reg(ctx._variables), reg(ctx._gradients), _nat(ctx.next_id, "next_id"))


TARGETS: dict[str, type] = {"spec": SpecAdapter, "impl": ImplAdapter}


def adapter_for(target: str, scalar_type: str) -> Any:
    """The adapter of ``target`` (``spec`` / ``impl``) for a trace over ``scalar_type``."""
    return TARGETS[target](scalar_type)


# --- the session --------------------------------------------------------------------------


class Session:
    """Executes the steps of one trace, in order, against one adapter."""

    def __init__(self, adapter: Any):
        self.adapter = adapter
        self.env: dict[str, Any] = {}

    def arguments(self, step: Step) -> dict[str, Any]:
        """The step's arguments as the target's values (handles resolved, tensors converted)."""
        sig = OPS[step.op]
        out: dict[str, Any] = {}
        for p in sig.params:
            if p.name not in step.args:
                continue  # an optional Lean argument: the target uses the Lean default
            value = step.args[p.name]
            if p.kind in ("context", "variable"):
                if value not in self.env:
                    raise LookupError(f"handle {value!r} is not bound (its step failed or never ran)")
                out[p.name] = self.env[value]
            elif p.kind == "tensor":
                out[p.name] = self.adapter.tensor(value)
            else:
                out[p.name] = value
        return out

    def execute(self, step: Step) -> Observation:
        """Run one step: a Result (and bind it), a typed error, or a Crash."""
        kind = OPS[step.op].result
        try:
            native = self.adapter.call(step.op, self.arguments(step))
        except TorchLeanError as exc:
            return ObservedError(exc.code, exc.message)
        except Exception as exc:
            return Crash(type(exc).__name__, str(exc)[:500])
        try:
            observed = self.adapter.observe(kind, native)
        except Exception as exc:
            return Crash(type(exc).__name__, f"unobservable {kind} result: {str(exc)[:500]}")
        if step.bind is not None:
            self.env[step.bind] = native
        return observed


def fill_expectations(trace: Trace) -> Trace:
    """``trace`` with every step's expectation set to what the SPEC returns (the reference).

    Raises ``ValueError`` if the spec crashes on a step (only typed errors may be expected)."""
    session = Session(SpecAdapter(trace.scalar_type))
    steps = []
    for i, step in enumerate(trace.steps):
        observed = session.execute(step)
        if isinstance(observed, Crash):
            raise ValueError(f"steps[{i}] ({step.op}): the spec crashed: {observed.describe()}")
        expect = ExpectedError(observed.code) if isinstance(observed, ObservedError) else observed
        steps.append(replace(step, expect=expect, bind=step.bind if isinstance(observed, Result) else None))
    return replace(trace, steps=tuple(steps))
