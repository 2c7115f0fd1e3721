"""The stateful differential machine: every Lean declaration of ``NN.Runtime.Context`` and
``NN.Runtime.Variable``, applied to the spec and to the impl side by side (hypothesis
``RuleBasedStateMachine``).

One run of the machine is one ``torchlean.runtime.v1`` program over one Lean scalar type ``α``
(chosen first, as Lean has one ``α``).  Contexts and variables are held in the bundles
:attr:`DifferentialMachine.contexts` / :attr:`~DifferentialMachine.variables` as trace
*handles*; each rule builds one trace :class:`~torchlean_runtime.conformance.vectors.format.Step`
and executes it on a spec and an impl :class:`~torchlean_runtime.conformance.vectors.execute.Session`
(the vector executor: the same Lean-name → call tables that ``torchlean-rt replay`` uses).

After every step, bit for bit:

* the answers agree — the spec's observation becomes the step's expectation and the impl's
  observation must :func:`~torchlean_runtime.conformance.vectors.execute.matches` it (the vector
  comparator: bit patterns for tensors and scalars, so NaN payloads and ±0 count; whole
  context/variable states; for must-fail calls the SAME stable error code);
* the new state agrees in the spec's own terms: ``to_spec(impl_object) == spec_object`` (spec
  equality is bitwise);
* at the end of every run, every context and variable ever bound is checked again the same way
  (purity: no later operation changed an earlier value).

Every executed step is recorded with the spec's result as its expectation, so a divergence is
raised as :class:`DivergenceError` carrying a complete v1 :class:`~.format.Trace` that replays
as a pass on the spec and as a failure, at the diverging step, on the impl.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field, replace
from typing import Any, Optional

import hypothesis.strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, initialize, multiple, rule

from torchlean_runtime.errors import TargetFailedError, TraceFormatError
from torchlean_runtime.conformance.vectors.bits import DTYPE_OF_SCALAR_TYPE, DTYPES, TensorBits
from torchlean_runtime.conformance.target import ObjectTarget, Target, impl_target
from torchlean_runtime.conformance.vectors.execute import (
    Crash,
    ObservedError,
    Session,
    SpecAdapter,
    matches,
)
from torchlean_runtime.conformance.vectors.format import OPS, ExpectedError, Generator, Result, Step, Trace, VariableState

from torchlean_runtime.spec.core.shape import toList

from .strategies import names, nats, non_finite_bits, scalar_types, shapes, tensor_bits

__all__ = ["FuzzStats", "TargetFailure", "DivergenceError", "DifferentialMachine", "PROBE_NAME", "TRACE_GENERATOR"]

# Choices inside rules (built once: constructing a strategy costs more than drawing from it).
_ONE_IN_25 = st.integers(0, 24)
_ONE_IN_7 = st.integers(0, 6)
_ONE_IN_3 = st.integers(0, 2)
_FOREIGN = {d: st.sampled_from([o for o in DTYPES if o != d]) for d in DTYPES}

_EXPONENT = {"float64": 0x7FF0000000000000, "float32": 0x7F800000}
_SIGN = {"float64": 1 << 63, "float32": 1 << 31}


def _non_finite(dtype: str, bits: int) -> bool:
    """NaN or ±inf: the exponent field is all ones."""
    return bits & _EXPONENT[dtype] == _EXPONENT[dtype]


def _is_nan(dtype: str, bits: int) -> bool:
    """All-ones exponent and a non-zero fraction."""
    return _non_finite(dtype, bits) and bits & ((_SIGN[dtype] - 1) ^ _EXPONENT[dtype]) != 0


_CONTEXT_QUERIES = ("Runtime.variableNames", "Runtime.gradientNames", "Runtime.contextSize", "Runtime.gradientCount",
                    "Runtime.isValidContext", "Runtime.contextToString")
_VARIABLE_QUERIES = ("Runtime.Variable.getValue", "Runtime.Variable.getGradient", "Runtime.Variable.checkRequiresGrad",
                     "Runtime.Variable.variableToString", "Runtime.Variable.variableNorm", "Runtime.Variable.variableNorm")


def _clip(text: str, limit: int = 600) -> str:
    return text if len(text) <= limit else text[:limit] + " …"


#: The generator name written into failure traces.
TRACE_GENERATOR = "torchlean-rt fuzz (hypothesis-stateful)"
#: A name the strategies never draw: ``setVariable`` under it is the identity (lean-semantics §4,
#: an absent name leaves the registry unchanged), which re-observes a context in a trace.
PROBE_NAME = "(absent)"


@dataclass
class FuzzStats:
    """What a campaign did: runs (cases), operations, must-fail operations, time per target."""

    cases: int = 0
    operations: int = 0
    must_fail: int = 0
    spec_seconds: float = 0.0
    impl_seconds: float = 0.0
    by_op: Counter = field(default_factory=Counter)  # operation → times executed
    error_codes: Counter = field(default_factory=Counter)  # code → must-fail steps refused with it
    not_covered: Counter = field(default_factory=Counter)  # operation → steps not run on the target
    unsupported: set = field(default_factory=set)  # what the target does not declare (the reason)
    divergent_cases: int = 0  # cases that diverged (the first find, then shrink attempts)
    first_divergence_at: Optional[float] = None  # time.monotonic() of the first one


class TargetFailure(BaseException):
    """The target under test failed as a program (``error``: the TargetFailedError).  A
    BaseException so that hypothesis does not shrink it as if it were a divergence."""

    def __init__(self, error: Any):
        super().__init__(str(error))
        self.error = error


class DivergenceError(AssertionError):
    """Spec and impl disagreed; ``trace`` is the v1 program up to and including the bad step."""

    def __init__(self, message: str, trace: Trace):
        super().__init__(message)
        self.message = message
        self.trace = trace


class DifferentialMachine(RuleBasedStateMachine):
    """Spec vs impl on random v1 programs.  ``stats`` accumulates over every run that shares it;
    ``seed`` is only written into failure traces (who found them)."""

    contexts = Bundle("contexts")
    variables = Bundle("variables")

    def __init__(self, stats: Optional[FuzzStats] = None, seed: Optional[int] = None,
                 target: Optional[Target] = None, hostile: bool = False):
        super().__init__()
        self.stats = stats if stats is not None else FuzzStats()
        self.seed = seed
        # the target under test (shared across runs: a subprocess is started once); the spec
        # session below is the reference, and its objects give the argument hints
        self.target: Target = target if target is not None else impl_target()
        self.hostile = hostile
        self.stats.cases += 1
        self.scalar_type = "Float"
        self.dtype = "float64"
        self.steps: list[Step] = []
        self.var_meta: dict[str, VariableState] = {}  # handle → the spec's value of the variable
        self.handles: list[str] = []
        self.target_handles: set[str] = set()  # handles the target bound (answered with a value)
        self.uncovered_steps: set[int] = set()  # indices of steps the target did not run
        self.failed = False
        self.spec: Optional[Session] = None

    # -- executing one step on both sides ------------------------------------------------------

    def _execute(self, op: str, args: dict[str, Any], note: str = "") -> Optional[str]:
        """Run ``op`` on spec and impl, record it, compare; the bound handle (None if refused)."""
        kind = OPS[op].result
        handle = None
        if kind in ("context", "variable"):
            handle = f"{kind[0]}{len(self.steps)}"
        step = Step(op, args, bind=handle, note=note)
        sig = OPS[op]
        if not self._covered(op, args):
            # what the target declares unsupported (or a handle it never bound) runs on the
            # spec alone — counted as not covered, kept out of any saved trace
            spec_obs = self.spec.execute(step)
            self.stats.not_covered[op] += 1
            if op not in self.target.operations:
                self.stats.unsupported.add(op)
            if self.scalar_type not in self.target.scalar_types:
                self.stats.unsupported.add(f"scalar type {self.scalar_type}")
            self.uncovered_steps.add(len(self.steps))
            if isinstance(spec_obs, Crash):
                self._diverge(f"steps[{len(self.steps)}] ({op}): the spec crashed: {spec_obs.describe()}")
            expect = self._record(step, spec_obs, handle, note)
            if isinstance(expect, Result) and handle is not None:
                return handle
            return None
        t0 = time.perf_counter()
        spec_obs = self.spec.execute(step)
        t1 = time.perf_counter()
        try:
            impl_obs = self.target.call(op, args, handle)
        except TargetFailedError as exc:
            raise TargetFailure(exc) from None
        t2 = time.perf_counter()
        if handle is not None:
            self.target_handles.add(handle)
        s = self.stats
        s.operations += 1
        s.spec_seconds += t1 - t0
        s.impl_seconds += t2 - t1
        s.by_op[op] += 1

        index = len(self.steps) - len(self.uncovered_steps)  # the index in the saved trace
        if isinstance(spec_obs, Crash):
            # The spec is the reference: a crash is a spec bug.  The step is kept with the impl's
            # answer as its expectation (if a trace can hold it) so the trace shows where.
            try:
                self._record(step, impl_obs, handle, note or f"the spec crashed: {spec_obs.describe()}")
            except TraceFormatError:
                pass
            self._diverge(f"steps[{index}] ({op}): the spec crashed: {spec_obs.describe()}; {self.target.name}: {impl_obs.describe()}")
        try:
            expect = self._record(step, spec_obs, handle, note)
        except TraceFormatError as exc:  # the spec raised a code a trace cannot expect
            self._diverge(f"steps[{index}] ({op}): spec answer not expressible in a trace: {exc}")
        if isinstance(expect, ExpectedError):
            s.must_fail += 1
            s.error_codes[expect.code] += 1
        if not matches(expect, impl_obs):
            self._diverge(f"steps[{index}] ({op}): spec {expect.describe()}; {self.target.name} {impl_obs.describe()}")
        if isinstance(expect, Result) and handle is not None:
            self.handles.append(handle)
            self._check_state(handle, index, op)
            return handle
        return None

    def _covered(self, op: str, args: dict[str, Any]) -> bool:
        if op not in self.target.operations or self.scalar_type not in self.target.scalar_types:
            return False
        return all(args.get(p.name) in self.target_handles for p in OPS[op].params if p.kind in ("context", "variable"))

    def _record(self, step: Step, observed: Any, handle: Optional[str], note: str) -> Any:
        if isinstance(observed, ObservedError):
            expect: Any = ExpectedError(observed.code)
        elif isinstance(observed, Result):
            expect = observed
        else:  # both sides crashed: nothing to expect; the message says what happened
            return None
        self.steps.append(replace(step, expect=expect, bind=handle if isinstance(expect, Result) else None, note=note))
        return expect

    def _abstracts_to_spec(self, handle: str) -> bool:
        """With the target's abstraction hook: ``abstract(handle) == spec object`` (bitwise spec
        equality; an object the hook cannot read does not).  Without one: True — the answers,
        which include whole states, are all that is compared (teardown re-observes instead)."""
        if not self.target.offers_abstraction:
            return True
        try:
            return self.target.abstract(handle) == self.spec.env[handle]
        except Exception:
            return False

    def _check_state(self, handle: str, index: int, op: str) -> None:
        if not self._abstracts_to_spec(handle):
            self._diverge(f"steps[{index}] ({op}): to_spec(impl {handle}) differs from the spec's {handle}")

    def _diverge(self, message: str) -> None:
        self.failed = True
        self.stats.divergent_cases += 1
        if self.stats.first_divergence_at is None:
            self.stats.first_divergence_at = time.monotonic()
        tags = ("fuzz", "regression", {"float64": "float64", "float32": "float32", "int64": "int"}[self.dtype])
        trace = Trace(
            self.scalar_type,
            tuple(s for i, s in enumerate(self.steps) if i not in self.uncovered_steps),
            generator=Generator(name=TRACE_GENERATOR, seed=self.seed),
            description=f"spec/impl divergence found by the stateful differential machine: {_clip(message)}",
            tags=tags,
        )
        raise DivergenceError(message, trace)

    # -- drawing arguments ---------------------------------------------------------------------

    def _tensor(self, data: Any, shape: Optional[tuple[int, ...]] = None) -> TensorBits:
        """A tensor of the trace's dtype, usually of ``shape``; now and then of a foreign dtype
        (both sides must refuse it with the same code) or of another shape."""
        dtype = self.dtype
        if data.draw(_ONE_IN_25, label="foreign dtype if 24") == 24:
            dtype = data.draw(_FOREIGN[self.dtype], label="foreign dtype")
        if shape is None or data.draw(_ONE_IN_7, label="other shape if 6") == 6:
            shape = data.draw(shapes(), label="shape")
        return data.draw(tensor_bits(dtype, shape), label="tensor")

    def _entry_shape(self, ctx: str, name: str, registry: str) -> Optional[tuple[int, ...]]:
        """The shape of the newest entry named ``name`` in the spec's context (a useful hint)."""
        entries = getattr(self.spec.env[ctx], registry)
        found = entries.find(lambda e: e[0] == name)
        return None if found is None else tuple(toList(found[1].s))

    def _shape_hint(self, data: Any, hint: Optional[tuple[int, ...]]) -> tuple[int, ...]:
        if hint is not None and data.draw(_ONE_IN_3, label="other shape if 2") < 2:
            return hint
        return data.draw(shapes(), label="shape")

    def _var_shape(self, v: str) -> tuple[int, ...]:
        return self.var_meta[v].value.shape

    def _bound(self, handle: Optional[str]) -> Any:
        return multiple() if handle is None else handle

    def _bind_variable(self, handle: Optional[str]) -> Any:
        if handle is not None:
            self.var_meta[handle] = self.steps[-1].expect.value  # the spec's VariableState
        return self._bound(handle)

    # -- the trace's scalar type and its first context ------------------------------------------

    def _begin(self, scalar_type: str) -> None:
        """Fix the trace's scalar type (the first initialize rule to run decides; hypothesis
        runs them in a random order)."""
        if self.spec is not None:
            return
        self.scalar_type = scalar_type
        self.dtype = DTYPE_OF_SCALAR_TYPE[scalar_type]
        self.spec = Session(SpecAdapter(scalar_type))
        self.target.reset(scalar_type)
        if isinstance(self.target, ObjectTarget):  # the hostile caller reaches in-process targets only
            self.target.hostile = self.hostile

    @initialize(target=contexts, scalar_type=scalar_types())
    def start_with_a_context(self, scalar_type: str) -> Any:
        self._begin(scalar_type)
        return self._bound(self._execute("Runtime.emptyContext", {}))

    @initialize(target=variables, scalar_type=scalar_types(), id=nats(), name=names(), data=st.data())
    def start_with_a_variable(self, scalar_type: str, id: int, name: str, data: Any) -> Any:
        # so that variable operations are enabled from the first step
        self._begin(scalar_type)
        value = self._tensor(data, data.draw(shapes(), label="shape"))
        return self._bind_variable(self._execute("Runtime.Variable.createVariable", {"id": id, "name": name, "value": value}))

    # -- NN/Runtime/Context.lean ------------------------------------------------------------------

    @rule(target=contexts)
    def emptyContext(self) -> Any:
        return self._bound(self._execute("Runtime.emptyContext", {}))

    @rule(target=contexts, ctx=contexts, name=names(), data=st.data())
    def registerVariable(self, ctx: str, name: str, data: Any) -> Any:
        value = self._tensor(data, self._entry_shape(ctx, name, "var_registry"))
        return self._bound(self._execute("Runtime.registerVariable", {"ctx": ctx, "name": name, "value": value}))

    @rule(target=contexts, ctx=contexts, data=st.data())
    def shadowVariable(self, ctx: str, data: Any) -> Any:
        """registerVariable under a name the context already has (the shadowing trap), at its
        newest entry's shape or at another one."""
        present = [name for name, _ in self.spec.env[ctx].var_registry]
        if not present:
            return self.registerVariable(ctx, "w", data)
        name = data.draw(st.sampled_from(sorted(set(present))), label="present name")
        return self.registerVariable(ctx, name, data)

    @rule(ctx=contexts, name=names(), data=st.data())
    def getVariable(self, ctx: str, name: str, data: Any) -> None:
        s = self._shape_hint(data, self._entry_shape(ctx, name, "var_registry"))
        self._execute("Runtime.getVariable", {"ctx": ctx, "name": name, "s": s})

    @rule(target=contexts, ctx=contexts, name=names(), data=st.data())
    def setVariable(self, ctx: str, name: str, data: Any) -> Any:
        # no shape hint: setVariable may change the shape of every entry of the name
        value = self._tensor(data, data.draw(shapes(), label="shape"))
        return self._bound(self._execute("Runtime.setVariable", {"ctx": ctx, "name": name, "value": value}))

    @rule(target=contexts, ctx=contexts, name=names(), data=st.data())
    def registerGradient(self, ctx: str, name: str, data: Any) -> Any:
        hint = self._entry_shape(ctx, name, "gradients") or self._entry_shape(ctx, name, "var_registry")
        grad = self._tensor(data, hint)
        return self._bound(self._execute("Runtime.registerGradient", {"ctx": ctx, "name": name, "grad": grad}))

    @rule(ctx=contexts, name=names(), data=st.data())
    def getGradient(self, ctx: str, name: str, data: Any) -> None:
        s = self._shape_hint(data, self._entry_shape(ctx, name, "gradients"))
        self._execute("Runtime.getGradient", {"ctx": ctx, "name": name, "s": s})

    @rule(target=contexts, ctx=contexts, name=names(), data=st.data())
    def setGradient(self, ctx: str, name: str, data: Any) -> Any:
        grad = self._tensor(data, data.draw(shapes(), label="shape"))
        return self._bound(self._execute("Runtime.setGradient", {"ctx": ctx, "name": name, "grad": grad}))

    @rule(target=contexts, ctx=contexts)
    def clearGradients(self, ctx: str) -> Any:
        return self._bound(self._execute("Runtime.clearGradients", {"ctx": ctx}))

    @rule(ctx=contexts, name=names())
    def hasVariable(self, ctx: str, name: str) -> None:
        self._execute("Runtime.hasVariable", {"ctx": ctx, "name": name})

    @rule(ctx=contexts, op=st.sampled_from(_CONTEXT_QUERIES))
    def queryContext(self, ctx: str, op: str) -> None:
        """variableNames / gradientNames / contextSize / gradientCount / isValidContext /
        contextToString (one rule, so that queries do not crowd out updates)."""
        self._execute(op, {"ctx": ctx})

    # -- NN/Runtime/Variable.lean -----------------------------------------------------------------

    @rule(target=variables, id=nats(), name=names(), requires_grad=st.none() | st.booleans(), data=st.data())
    def createVariable(self, id: int, name: str, requires_grad: Optional[bool], data: Any) -> Any:
        args: dict[str, Any] = {"id": id, "name": name, "value": self._tensor(data, data.draw(shapes(), label="shape"))}
        if requires_grad is not None:  # absent: Lean's default `requires_grad := true`
            args["requires_grad"] = requires_grad
        return self._bind_variable(self._execute("Runtime.Variable.createVariable", args))

    @rule(target=variables, v=variables, data=st.data())
    def setValue(self, v: str, data: Any) -> Any:
        new_value = self._tensor(data, self._var_shape(v))
        return self._bind_variable(self._execute("Runtime.Variable.setValue", {"v": v, "new_value": new_value}))

    @rule(target=variables, v=variables, data=st.data())
    def setGradient_v(self, v: str, data: Any) -> Any:
        grad = self._tensor(data, self._var_shape(v))
        return self._bind_variable(self._execute("Runtime.Variable.setGradient", {"v": v, "grad": grad}))

    @rule(target=variables, v=variables)
    def clearGradient(self, v: str) -> Any:
        return self._bind_variable(self._execute("Runtime.Variable.clearGradient", {"v": v}))

    @rule(target=variables, v=variables, data=st.data())
    def accumulateGradient(self, v: str, data: Any) -> Any:
        grad = self._tensor(data, self._var_shape(v))
        existing = self.var_meta[v].gradient
        if (existing is not None and existing.dtype in ("float64", "float32") and grad.dtype == existing.dtype
                and grad.shape == existing.shape and data.draw(_ONE_IN_3, label="align non-finite unless 0") > 0):
            # The NaN-rule traps: wherever the existing gradient is non-finite, put the opposite
            # infinity (inf + -inf is invalid: which NaN?) or a NaN (NaN + NaN: which payload?).
            bits = list(grad.bits)
            for i, b in enumerate(existing.bits):
                if _non_finite(existing.dtype, b):
                    if _is_nan(existing.dtype, b) or data.draw(_ONE_IN_3, label="a NaN if 0, else -inf") == 0:
                        bits[i] = data.draw(non_finite_bits(existing.dtype), label="non-finite")
                    else:
                        bits[i] = b ^ _SIGN[existing.dtype]
            grad = TensorBits(grad.shape, grad.dtype, tuple(bits))
        return self._bind_variable(self._execute("Runtime.Variable.accumulateGradient", {"v": v, "grad": grad}))

    @rule(v=variables, op=st.sampled_from(_VARIABLE_QUERIES))
    def queryVariable(self, v: str, op: str) -> None:
        """getValue / getGradient / checkRequiresGrad / variableToString / variableNorm (the
        norm twice as often: it carries the fold)."""
        self._execute(op, {"v": v})

    @rule(v1=variables, v2=variables)
    def variableEq(self, v1: str, v2: str) -> None:
        self._execute("Runtime.Variable.variableEq", {"v1": v1, "v2": v2})

    @rule(v=variables, data=st.data())
    def hasShape(self, v: str, data: Any) -> None:
        s = self._shape_hint(data, self._var_shape(v))
        self._execute("Runtime.Variable.hasShape", {"v": v, "expected_shape": s})

    @rule(target=variables, v=variables, new_id=nats())
    def cloneVariable(self, v: str, new_id: int) -> Any:
        return self._bind_variable(self._execute("Runtime.Variable.cloneVariable", {"v": v, "new_id": new_id}))

    @rule(target=variables, v=variables)
    def detachVariable(self, v: str) -> Any:
        return self._bind_variable(self._execute("Runtime.Variable.detachVariable", {"v": v}))

    @rule(target=contexts, ctx=contexts, v=variables)
    def registerInContext(self, ctx: str, v: str) -> Any:
        return self._bound(self._execute("Runtime.Variable.registerInContext", {"ctx": ctx, "v": v}))

    @rule(ctx=contexts, v=variables)
    def getFromContext(self, ctx: str, v: str) -> None:
        self._execute("Runtime.Variable.getFromContext", {"ctx": ctx, "v": v})

    @rule(target=contexts, ctx=contexts, v=variables)
    def registerGradientInContext(self, ctx: str, v: str) -> Any:
        return self._bound(self._execute("Runtime.Variable.registerGradientInContext", {"ctx": ctx, "v": v}))

    @rule(target=variables, ctx=contexts, msg=names())
    def error(self, ctx: str, msg: str) -> Any:
        return self._bind_variable(self._execute("Runtime.Variable.error", {"ctx": ctx, "msg": msg}))

    @rule(target=variables, v=variables, data=st.data())
    def castShape(self, v: str, data: Any) -> Any:
        # unequal shapes: no evidence exists (TLR_CAST_EVIDENCE on both sides)
        s2 = self._shape_hint(data, self._var_shape(v))
        return self._bind_variable(self._execute("Runtime.Variable.castShape", {"v": v, "s2": s2}))

    # -- purity: every value bound in this run is unchanged at the end --------------------------

    def teardown(self) -> None:
        if self.failed or self.spec is None:
            return
        hook = self.target.offers_abstraction
        for handle in [h for h in self.handles if h in self.target_handles]:
            if hook and self._abstracts_to_spec(handle):
                continue
            # Re-observe with an identity step: without a hook this IS the check (the answers
            # must still agree); with one, the trace shows the changed value.
            if handle in self.var_meta:
                self._execute("Runtime.Variable.castShape", {"v": handle, "s2": self._var_shape(handle)},
                              note=f"re-observe {handle} (castShape to its own shape is the identity)")
            else:
                zero = TensorBits((), self.dtype, (0,))
                self._execute("Runtime.setVariable", {"ctx": handle, "name": PROBE_NAME, "value": zero},
                              note=f"re-observe {handle} (setVariable under an absent name is the identity)")
            if hook:
                self._diverge(f"{handle} changed after it was bound (the target's abstraction no longer equals the spec's value)")
