"""The program engine of ``torchlean-rt fuzz`` (``--engine random``): seeded random programs, the
spec's answers as their expectations, replayed on the target, and a divergence minimised by
delta debugging.

A program is a ``torchlean.runtime.v1`` :class:`~torchlean_runtime.conformance.vectors.format.Trace`
drawn by :func:`generate` from one seed: every operation of ``NN.Runtime.Context`` and
``NN.Runtime.Variable``, biased to the traps like the corpus generator's random programs (few
names, the same name at several shapes, zero-size dimensions, ±0, ±inf, subnormals, a NaN
payload, ill-typed calls that must fail).  Each step is executed on the spec while the program is
drawn (:class:`SpecOracle`); its answer — a value as bit patterns, or a stable error code —
becomes the step's expectation, and a step whose expected bits IEEE 754 leaves to the platform is
left out (:func:`~torchlean_runtime.conformance.vectors.generate.nonportable_reason`), so a saved
program replays the same on any machine.  The program is then replayed on the target through the
one target interface (:func:`~torchlean_runtime.conformance.vectors.replay.replay_trace`: every
answer compared bit for bit, must-fail steps by their code).

Speed comes from not redoing work, never from checking less: spec tensors are converted from and
to bit patterns once per distinct value (:class:`SpecOracle` memoises both directions; the spec's
values are immutable), the arguments of a step are converted once for the portability check and
the call, and the impl's answers are observed straight from their arrays
(:class:`~torchlean_runtime.conformance.vectors.execute.ImplAdapter`).

:func:`shrink` minimises a diverging program: the program is cut after its diverging step, then
chunks of steps and single steps are removed (delta debugging, ddmin) and arguments simplified;
after every change the spec's expectations are re-derived by running the spec on the shorter
program (steps whose handles are no longer bound are dropped), and the change is kept if the
target still diverges at some step.  The budget is a count of replays, never time, so the same
divergence shrinks to the same trace on any machine.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from typing import Any, Callable, Iterable, Optional, Sequence

from torchlean_runtime.conformance.vectors.bits import (
    DTYPE_OF_SCALAR_TYPE,
    DTYPES,
    SCALAR_TYPE_OF_DTYPE,
    TensorBits,
)
from torchlean_runtime.conformance.vectors.execute import (
    Crash,
    ObservedError,
    SpecAdapter,
    observe_spec,
)
from torchlean_runtime.conformance.vectors.format import (
    OPS,
    ContextState,
    ExpectedError,
    Generator,
    Result,
    Step,
    Trace,
    VariableState,
)
from torchlean_runtime.errors import TorchLeanError

__all__ = [
    "ALL_DTYPES",
    "STEPS",
    "SHRINK_BUDGET",
    "GENERATOR_NAME",
    "SpecOracle",
    "generate",
    "program_seed",
    "rebuild",
    "ShrinkResult",
    "shrink",
]

ALL_DTYPES = ("float64", "float32", "int64")
#: Steps per program (the corpus generator's random programs have 120).
STEPS = 120
#: Replays :func:`shrink` may spend by default (a count: the same result on every machine).
SHRINK_BUDGET = 400
GENERATOR_NAME = "torchlean-rt fuzz (random programs, delta-debugged)"

#: names: "w" most often (shadowing and duplicates), the empty name and a non-ASCII one rarely
_NAMES = ("w", "w", "b", "x", "w", "b", "", "θ")
#: shapes: zero-size dims ((0, 3) vs (0, 4) vs (3, 0)), scalars, and long ones ((4, 5), (45,)),
#: where numpy's pairwise summation would differ from the fold
_SHAPES = ((), (2,), (3,), (0, 3), (0, 4), (2, 2), (1,), (), (2,), (3,), (0, 3), (1,), (0,), (3, 0), (1, 1),
           (2, 3))
#: long shapes, drawn 1 time in 12 (their tensors cost the spec most)
_LONG = ((4, 5), (45,))
_NATS = (0, 1, 2, 7, (1 << 64) - 1, 3, 1, 0)
_HOT = frozenset(
    "Runtime." + op
    for op in ("registerVariable", "setVariable", "registerGradient", "setGradient", "getVariable", "getGradient",
               "Variable.accumulateGradient", "Variable.registerInContext", "Variable.registerGradientInContext")
)
_OP_NAMES = tuple(sorted(OPS))
# registry updates dominate so that registries grow deep enough to shadow and duplicate
_WEIGHTS = tuple(1 if op == "Runtime.emptyContext" else 6 if op in _HOT else 2 for op in _OP_NAMES)
_CREATE = "Runtime.Variable.createVariable"
_ACCUMULATE = "Runtime.Variable.accumulateGradient"
_NORM = "Runtime.Variable.variableNorm"
_MASK64 = (1 << 64) - 1
_NEEDS = {op: (any(p.kind == "context" for p in sig.params), any(p.kind == "variable" for p in sig.params))
          for op, sig in OPS.items()}


def program_seed(seed: int, round_index: int, k: int) -> int:
    """The seed of program ``k`` of round ``round_index`` of a campaign from ``seed``."""
    return (seed * 1_000_003 + round_index) * 1000 + k


def _pool(dtype: str) -> tuple[int, ...]:
    """Bit patterns the elements are drawn from: the traps of the dtype."""
    if dtype == "int64":
        return (0, 1, 2, (1 << 64) - 1, (1 << 64) - 7, 1 << 63, (1 << 63) - 1, 7, (1 << 64) - 1000)
    import numpy as np

    nd, ud = DTYPES[dtype].value_dtype, DTYPES[dtype].bits_dtype

    def v(x: float) -> int:
        return int(np.array([x], dtype=nd).view(ud)[0])

    if dtype == "float64":
        neg_zero, inf, ninf, min_sub, mx, nan = 1 << 63, 0x7FF0000000000000, 0xFFF0000000000000, 1, 0x7FEFFFFFFFFFFFFF, 0x7FF8000000000123
    else:
        neg_zero, inf, ninf, min_sub, mx, nan = 1 << 31, 0x7F800000, 0xFF800000, 1, 0x7F7FFFFF, 0x7FC00123
    pool = (0, neg_zero, v(1), v(-2), v(0.5), inf, ninf, min_sub, mx, v(3), nan, v(1e-3), v(-7.25))
    if dtype == "float64":  # one NaN payload: binary64 NaN arithmetic is portable on one quiet NaN only
        return pool + (0x000FFFFFFFFFFFFF, v(1.5e154))
    # binary32: Exec32 defines every NaN result bit for bit — signalling, negative, other payloads
    return pool + (0x7F800001, 0xFFC0BEEF, 0x007FFFFF, v(1.5e19))


def _ordinary(dtype: str, x: float) -> int:
    """The bits of ``x`` rounded to ``dtype`` (a finite value with a full mantissa)."""
    import struct

    if dtype == "float64":
        return struct.unpack("<Q", struct.pack("<d", x))[0]
    return struct.unpack("<I", struct.pack("<f", x))[0]


_POOLS = {d: _pool(d) for d in ALL_DTYPES}
_FOREIGN_ONE = {  # a one-element tensor of another dtype (must fail: scalar type mismatch)
    "float64": TensorBits((1,), "float32", (0x3F800000,)),
    "float32": TensorBits((1,), "float64", (0x3FF0000000000000,)),
    "int64": TensorBits((1,), "float32", (0x3F800000,)),
}


# --- the spec as the oracle -----------------------------------------------------------------------


class SpecOracle:
    """The spec executing one program, step by step, with memoised conversions: a literal tensor
    becomes a spec ``Tensor`` once per distinct bit pattern, and a spec ``Tensor`` becomes bit
    patterns once per object (spec values are immutable; the object is kept alive with its bits,
    so an id is never reused while cached)."""

    _to_spec: dict = {}  # TensorBits -> spec Tensor, shared by every oracle (bounded below)

    def __init__(self, scalar_type: str):
        self.scalar_type = scalar_type
        self.adapter = SpecAdapter(scalar_type)
        self.calls = self.adapter._calls
        self.alpha = self.adapter.alpha
        self.env: dict[str, Any] = {}
        self._bits: dict[int, tuple[Any, TensorBits]] = {}
        if len(SpecOracle._to_spec) > 20_000:
            SpecOracle._to_spec.clear()

    def tensor(self, t: TensorBits) -> Any:
        cache = SpecOracle._to_spec
        x = cache.get(t)
        if x is None:
            x = cache[t] = t.to_spec()
        return x

    def bits(self, x: Any) -> TensorBits:
        hit = self._bits.get(id(x))
        if hit is not None and hit[0] is x:
            return hit[1]
        b = TensorBits.from_spec(x)
        self._bits[id(x)] = (x, b)
        return b

    def observe(self, kind: str, x: Any) -> Result:
        return observe_spec(kind, x, self.bits)

    def natives(self, op: str, args: dict[str, Any]) -> Optional[dict[str, Any]]:
        """The spec's arguments of a step (None if a handle is not bound)."""
        out: dict[str, Any] = {}
        env = self.env
        for p in OPS[op].params:
            if p.name not in args:
                continue
            value = args[p.name]
            kind = p.kind
            if kind == "context" or kind == "variable":
                if value not in env:
                    return None
                out[p.name] = env[value]
            elif kind == "tensor":
                out[p.name] = self.tensor(value)
            else:
                out[p.name] = value
        return out

    def run(self, op: str, natives: dict[str, Any], bind: Optional[str]) -> Any:
        """Execute on the spec: a Result (bound to ``bind``), an ObservedError, or a Crash."""
        try:
            native = self.calls[op](self.alpha, **natives)
        except TorchLeanError as exc:
            return ObservedError(exc.code, exc.message)
        except Exception as exc:  # noqa: BLE001 - the reference crashed: reported by the caller
            return Crash(type(exc).__name__, str(exc)[:500])
        try:
            observed = self.observe(OPS[op].result, native)
        except Exception as exc:  # noqa: BLE001
            return Crash(type(exc).__name__, f"unobservable {OPS[op].result} result: {str(exc)[:500]}")
        if bind is not None:
            self.env[bind] = native
        return observed


def _step_of(oracle: SpecOracle, op: str, args: dict[str, Any], bind: Optional[str]) -> tuple[Optional[Step], Any]:
    """Run one step on the spec: (the step with the spec's answer as its expectation, or None if
    it cannot be part of a portable program; the observation)."""
    natives = oracle.natives(op, args)
    if natives is None:
        return None, None  # a handle its step never bound (shrinking removed it)
    if op == "Runtime.Variable.accumulateGradient" or op == "Runtime.Variable.variableNorm":
        from torchlean_runtime.conformance.vectors.generate import nonportable_reason

        reason = nonportable_reason(op, natives)
        if reason is not None and not (reason == "nan-propagation" and oracle.scalar_type == "Float"):
            return None, None
    if bind is not None and OPS[op].result not in ("context", "variable"):
        bind = None
    observed = oracle.run(op, natives, bind)
    if isinstance(observed, Crash):
        return None, observed
    if isinstance(observed, ObservedError):
        return Step(op, args, None, ExpectedError(observed.code)), observed
    return Step(op, args, bind, observed), observed


@dataclass
class Program:
    """A drawn program: its trace, the steps left out because the target does not declare their
    operation, and a spec crash (a spec bug: reported as a divergence) if one happened."""

    trace: Trace
    not_covered: dict
    spec_crash: Optional[str] = None


def _trace(scalar_type: str, steps: Sequence[Step], seed: Optional[int], description: str,
           tags: tuple[str, ...] = ()) -> Trace:
    dtype = DTYPE_OF_SCALAR_TYPE[scalar_type]
    tag = {"float64": "float64", "float32": "float32", "int64": "int"}[dtype]
    extra = ("nan-propagation",) if dtype == "float64" else ()
    return Trace(scalar_type, tuple(steps), generator=Generator(name=GENERATOR_NAME, seed=seed),
                 description=description, tags=tuple(dict.fromkeys(("random", tag) + extra + tags)))


def generate(seed: int, dtype: str, n_steps: int = STEPS, operations: Optional[Iterable[str]] = None) -> Program:
    """Program ``seed`` over ``dtype``: ``n_steps`` steps, each executed on the spec.

    ``operations``: what the target declares; a drawn operation outside it is counted in
    ``not_covered`` instead of being added (the program goes on without it)."""
    rng = random.Random(seed * 1000 + ALL_DTYPES.index(dtype))
    scalar_type = SCALAR_TYPE_OF_DTYPE[dtype]
    oracle = SpecOracle(scalar_type)
    declared = frozenset(OPS) if operations is None else frozenset(operations)
    pool = _POOLS[dtype]
    foreign = _FOREIGN_ONE[dtype]
    shapes = _SHAPES
    random_ = rng.random
    choice = rng.choice
    cum: list[int] = []
    total = 0
    for w in _WEIGHTS:
        total += w
        cum.append(total)
    from bisect import bisect_right

    hi = len(cum) - 1
    steps: list[Step] = []
    not_covered: dict[str, int] = {}
    counters = {"context": 0, "variable": 0}
    contexts: list[str] = []
    variables: list[tuple[str, tuple]] = []
    var_shapes: dict[str, tuple] = {}
    var_grads: dict[str, Optional[TensorBits]] = {}
    if dtype == "float64":
        exp_mask, sign_bit = 0x7FF0000000000000, 1 << 63
    else:
        exp_mask, sign_bit = 0x7F800000, 1 << 31

    floating = dtype != "int64"

    def tensor(shape: Optional[tuple] = None) -> TensorBits:
        if shape is None:
            shape = choice(_LONG) if random_() < 0.083 else choice(shapes)
        n = 1
        for d in shape:
            n *= d
        if floating and random_() < 0.3:
            # ordinary values of one magnitude: sums round, so the order of additions shows
            return TensorBits(shape, dtype, tuple(_ordinary(dtype, rng.uniform(-8.0, 8.0)) for _ in range(n)))
        if not floating and random_() < 0.2:
            return TensorBits(shape, dtype, tuple(rng.randint(-1000, 1000) & _MASK64 for _ in range(n)))
        return TensorBits(shape, dtype, tuple(choice(pool) for _ in range(n)))

    def add(op: str, args: dict[str, Any]) -> Optional[str]:
        if op not in declared:
            not_covered[op] = not_covered.get(op, 0) + 1
            return None
        kind = OPS[op].result
        bind = None
        if kind in ("context", "variable"):
            bind = f"{kind[0]}{counters[kind]}"
        step, observed = _step_of(oracle, op, args, bind)
        if isinstance(observed, Crash):
            raise _SpecCrash(f"steps[{len(steps)}] ({op}): the spec crashed: {observed.describe()}", steps, op, args)
        if step is None:
            return None
        steps.append(step)
        if step.bind is not None:
            counters[kind] += 1
            if kind == "context":
                contexts.append(step.bind)
            else:
                state = step.expect.value
                variables.append((step.bind, state.value.shape))
                var_shapes[step.bind] = state.value.shape
                var_grads[step.bind] = state.gradient
        return step.bind

    try:
        add("Runtime.emptyContext", {})
        attempts = 0
        while len(steps) < n_steps and attempts < 4 * n_steps:  # a target declaring little ends early
            attempts += 1
            op = _OP_NAMES[bisect_right(cum, random_() * total, 0, hi)]  # rng.choices(_OP_NAMES, cum_weights=cum)
            sig = OPS[op]
            needs_ctx, needs_var = _NEEDS[op]
            if needs_ctx and not contexts:
                op, sig = "Runtime.emptyContext", OPS["Runtime.emptyContext"]
            if needs_var and not variables:
                op, sig = _CREATE, OPS[_CREATE]
            args: dict[str, Any] = {}
            for p in sig.params:
                kind = p.kind
                if kind == "context":
                    args[p.name] = contexts[-1] if random_() < 0.7 else choice(contexts)
                elif kind == "variable":
                    if op == _NORM and random_() < 0.5:  # the fold shows on long tensors
                        args[p.name] = max(variables, key=lambda hv: _size(hv[1]))[0]
                    else:
                        args[p.name] = choice(variables)[0]
                elif kind == "string":
                    args[p.name] = choice(_NAMES)
                elif kind == "nat":
                    args[p.name] = choice(_NATS)
                elif kind == "bool":
                    if random_() < 0.5:
                        args[p.name] = random_() < 0.5
                elif kind == "shape":
                    args[p.name] = choice(shapes)
                else:  # a tensor: usually the shape of the variable involved, sometimes not
                    var_shape = var_shapes.get(args.get("v"))
                    if random_() < 0.08:
                        args[p.name] = foreign if random_() < 0.5 else tensor()
                    elif var_shape is not None and random_() < 0.85:
                        args[p.name] = tensor(var_shape)
                    else:
                        args[p.name] = tensor()
            if op == _ACCUMULATE and floating and dtype == "float32" and random_() < 0.5:
                # the NaN-rule traps (binary32: Exec32 defines them; binary64's are not portable):
                # wherever the existing gradient is non-finite, the opposite infinity or a NaN
                existing, grad = var_grads.get(args["v"]), args.get("grad")
                if (existing is not None and isinstance(grad, TensorBits) and grad.dtype == dtype
                        and grad.shape == existing.shape):
                    bits = list(grad.bits)
                    for i, b in enumerate(existing.bits):
                        if b & exp_mask == exp_mask:
                            bits[i] = choice((0x7FC00000, 0xFFC00123, 0x7F800001)) if random_() < 0.4 else b ^ sign_bit
                    args["grad"] = TensorBits(grad.shape, dtype, tuple(bits))
            add(op, args)
    except _SpecCrash as crash:
        trace = _trace(scalar_type, crash.steps, seed, f"the spec crashed on program {seed}: {crash.message}")
        return Program(trace, not_covered, crash.message)
    return Program(_trace(scalar_type, steps, seed, f"seeded random program (seed {seed}) over every operation"),
                   not_covered)


def _size(shape: tuple) -> int:
    n = 1
    for d in shape:
        n *= d
    return n


class _SpecCrash(Exception):
    def __init__(self, message: str, steps: list, op: str, args: dict):
        super().__init__(message)
        self.message, self.steps, self.op, self.args = message, steps, op, args


# --- shrinking ------------------------------------------------------------------------------------


def rebuild(scalar_type: str, raw: Sequence[Step]) -> list[Step]:
    """The steps ``raw`` (their operations, arguments and handles) with the spec's expectations
    re-derived by running the spec on exactly these steps; a step whose handle is no longer bound,
    or whose expected bits would not be portable, is left out (so is one the spec crashes on)."""
    oracle = SpecOracle(scalar_type)
    out: list[Step] = []
    for s in raw:
        step, _ = _step_of(oracle, s.op, dict(s.args), s.bind)
        if step is not None:
            out.append(replace(step, note=s.note))
    return out


@dataclass
class ShrinkResult:
    trace: Trace
    replays: int  # replays spent
    original_steps: int


def shrink(trace: Trace, diverges: Callable[[Trace], Optional[int]], budget: int = SHRINK_BUDGET) -> ShrinkResult:
    """Minimise ``trace`` (which diverges) with at most ``budget`` calls of ``diverges`` — a replay
    on the target returning the index of the diverging step, or None if the trace passes.

    1. cut after the diverging step; 2. ddmin over the steps (remove chunks, halving the chunk
    size down to single steps; every candidate's expectations re-derived by the spec, see
    :func:`rebuild`); 3. simplify arguments (tensors to zeros of the same shape and dtype, then to
    the first trap value; names to ``"w"``; naturals to 0) one at a time; 4. cut again."""
    used = 0
    scalar_type = trace.scalar_type
    original = len(trace.steps)

    def test(steps: list[Step]) -> Optional[list[Step]]:
        """The candidate rebuilt and cut after its divergence, or None if it passes / is spent."""
        nonlocal used
        if used >= budget:
            return None
        built = rebuild(scalar_type, steps)
        if not built:
            return None
        used += 1
        at = diverges(replace(trace, steps=tuple(built)))
        if at is None:
            return None
        return built[:at + 1]

    best = list(trace.steps)
    at = None if used >= budget else diverges(trace)
    used += 1
    if at is None:  # not reproducible: give it back as it is
        return ShrinkResult(trace, used, original)
    best = best[:at + 1]
    # ddmin: remove chunks of n parts, n doubling when nothing can be removed
    n = 2
    while len(best) >= 2 and used < budget:
        size = max(1, len(best) // n)
        removed = False
        start = 0
        while start < len(best) and used < budget:
            if start == 0 and size >= len(best):
                break
            candidate = _without(best, start, start + size)
            got = test(candidate)
            if got is not None and len(got) < len(best):
                best = got
                removed = True
                continue  # the same start, now over the next chunk
            start += size
        if removed:
            n = max(n - 1, 2)
            continue
        if size == 1:
            break
        n = min(n * 2, len(best))
    # arguments: simpler values, one at a time
    i = 0
    while i < len(best) and used < budget:
        step = best[i]
        for name, simpler in _simpler_args(step):
            if used >= budget:
                break
            candidate = best[:i] + [replace(step, args={**step.args, name: simpler})] + best[i + 1:]
            got = test(candidate)
            if got is not None and len(got) <= len(best):
                best = got
                step = best[i] if i < len(best) else step
        i += 1
    return ShrinkResult(replace(trace, steps=tuple(best)), used, original)


def _without(steps: list[Step], lo: int, hi: int) -> list[Step]:
    """``steps`` without ``steps[lo:hi]``; a later step naming a handle a removed step bound is
    pointed at that step's own input of the same kind instead (``registerVariable(c3, …) → c4``
    removed: ``c4`` becomes ``c3``), so chains of updates survive the removal of a link."""
    alias: dict[str, str] = {}
    for s in steps[lo:hi]:
        if s.bind is None:
            continue
        kind = OPS[s.op].result
        source = next((s.args[p.name] for p in OPS[s.op].params if p.kind == kind and p.name in s.args), None)
        if source is not None:
            alias[s.bind] = alias.get(source, source)
    if not alias:
        return steps[:lo] + steps[hi:]
    out = steps[:lo]
    for s in steps[hi:]:
        args = s.args
        if any(p.kind in ("context", "variable") and args.get(p.name) in alias for p in OPS[s.op].params):
            args = {k: (alias.get(v, v) if isinstance(v, str) and _is_handle(s.op, k) else v) for k, v in args.items()}
            s = replace(s, args=args)
        out.append(s)
    return out


def _is_handle(op: str, name: str) -> bool:
    return any(p.name == name and p.kind in ("context", "variable") for p in OPS[op].params)


def _simpler_args(step: Step) -> list[tuple[str, Any]]:
    out = []
    for p in OPS[step.op].params:
        if p.name not in step.args:
            continue
        v = step.args[p.name]
        if p.kind == "tensor" and isinstance(v, TensorBits):
            zeros = TensorBits(v.shape, v.dtype, (0,) * len(v.bits))
            if v != zeros:
                out.append((p.name, zeros))
        elif p.kind == "string" and v != "w":
            out.append((p.name, "w"))
        elif p.kind == "nat" and v != 0:
            out.append((p.name, 0))
        elif p.kind == "shape" and v != ():
            out.append((p.name, ()))
    return out
