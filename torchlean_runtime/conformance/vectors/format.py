"""The ``torchlean.runtime.v1`` trace format: the in-memory model, the operation table, and
(de)serialisation.  The prose specification is ``docs/vectors.md``; the JSON Schema shipped as
``schema_v1.json`` is rendered from :func:`schema_document` (a test keeps the two identical).

A trace is a whole program: an ordered list of :class:`Step` objects, each calling one Lean
declaration of ``NN.Runtime.Context`` / ``NN.Runtime.Variable`` (by its fully qualified Lean
name) on arguments that are literals (names, ids, flags, shapes, tensors as bit patterns) or
*handles* naming a context or variable bound by an earlier step.  Every step carries its
expected :class:`Result`, or an :class:`ExpectedError` (a stable error code) for a call that
Lean's type checker would reject.

This module decodes documents that already passed the reader's limits and the schema
(``reader.py``), but it re-checks every semantic rule itself (handles bound before use and of
the right kind, bit-pattern widths, element counts), so :func:`from_document` is safe on any
JSON value: it raises :class:`TraceFormatError` naming the source and the step.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from typing import Any, Mapping, Optional, Union

from torchlean_runtime import __version__
from torchlean_runtime.errors import ERROR_CLASSES, TraceFormatError
from torchlean_runtime.spec import LEAN_COMMIT, LEAN_REPO, LEAN_VERSION
from torchlean_runtime.spec.declarations import DECLARATIONS

from .bits import DTYPES, ScalarBits, TensorBits, check_shape

__all__ = [
    "FORMAT",
    "LEAN_SOURCE",
    "SCALAR_TYPES",
    "ERROR_CODES",
    "HANDLE_PATTERN",
    "is_one_of",
    "is_handle",
    "Param",
    "OpSignature",
    "OPS",
    "RESULT_KINDS",
    "result_value_problem",
    "Result",
    "ExpectedError",
    "Step",
    "Generator",
    "Trace",
    "to_document",
    "from_document",
    "dumps_trace",
    "args_to_doc",
    "args_from_doc",
    "result_to_doc",
    "result_from_doc",
    "write_trace",
    "schema_document",
    "schema_text",
]

FORMAT = "torchlean.runtime.v1"

#: The pinned Lean source every v1 trace is about.
LEAN_SOURCE: dict[str, Any] = {
    "repo": LEAN_REPO,
    "commit": LEAN_COMMIT,
    "lean_version": LEAN_VERSION,
    "modules": ["NN.Runtime.Context", "NN.Runtime.Variable"],
}

#: The Lean scalar types a v1 trace can be about (``Rat`` has no numpy counterpart in the impl).
SCALAR_TYPES: tuple[str, ...] = ("Float", "IEEE32Exec", "Int")

#: Codes of the harness itself (targets, the runner protocol, settings): no Lean call raises them.
HARNESS_CODES: tuple[str, ...] = (
    "TLR_TARGET_SELECTOR", "TLR_TARGET_FAILED", "TLR_TARGET_TIMEOUT", "TLR_PROTOCOL", "TLR_ENVIRONMENT",
    "TLR_OUTPUT_PATH", "TLR_USAGE", "TLR_PATH",
)

#: Error codes a must-fail step may expect: the project's stable codes, minus the ones only the
#: trace reader itself raises.
ERROR_CODES: tuple[str, ...] = tuple(
    cls.code
    for cls in ERROR_CLASSES
    if cls.code not in ("TLR_ERROR", "TLR_TRACE_FORMAT", "TLR_TRACE_LIMIT")
    and cls.code not in HARNESS_CODES
)

def is_one_of(x: Any, names: Any) -> bool:
    """Whether the JSON value ``x`` is one of ``names`` (a dict, set or tuple of strings).  The
    type is checked first: a JSON array or object is unhashable (``[] in {...}`` raises
    TypeError), so every lookup of a decoded value in a table of names goes through here."""
    return isinstance(x, str) and x in names


#: Handles: short identifiers (``c0``, ``ctx_after_register``, ``v1``).  ``$`` means the end of
#: the string, as in ECMA-262: test with :func:`is_handle` (``re.fullmatch``), never ``re.match``
#: or ``re.search`` (Python's ``$`` also matches before a final newline, so ``"c0\n"`` would pass).
HANDLE_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]{0,63}$"
_HANDLE_RE = re.compile(HANDLE_PATTERN)


def is_handle(x: Any) -> bool:
    """Whether the JSON value ``x`` is a handle: a string matching :data:`HANDLE_PATTERN` whole."""
    return isinstance(x, str) and _HANDLE_RE.fullmatch(x) is not None


#: Lean ``Nat`` arguments and results (ids, counts) are bounded by u64 in v1.
NAT_MAX = (1 << 64) - 1

# --- the operation table ------------------------------------------------------------------

#: Argument kinds: handles (``context``, ``variable``) or literals.
PARAM_KINDS = ("context", "variable", "string", "nat", "bool", "shape", "tensor")

#: Result kinds and what their value is in memory.
RESULT_KINDS: dict[str, str] = {
    "context": "ContextState",
    "variable": "VariableState",
    "tensor": "TensorBits",
    "option_tensor": "TensorBits or None",
    "scalar": "ScalarBits",
    "bool": "bool",
    "nat": "int",
    "string": "str",
    "names": "tuple[str, ...]",
}


@dataclass(frozen=True)
class Param:
    name: str
    kind: str
    optional: bool = False  # a Lean default argument; absent → the Lean default is used


@dataclass(frozen=True)
class OpSignature:
    """One Lean declaration as a trace operation: parameters, result kind, and the further
    declarations a call exercises (the structures it builds or reads, the definitions it calls)."""

    module: str
    params: tuple[Param, ...]
    result: str
    exercises: tuple[str, ...] = ()


_C, _V = "NN.Runtime.Context", "NN.Runtime.Variable"
_CTX, _VAR = Param("ctx", "context"), Param("v", "variable")
_NAME = Param("name", "string")
_ANY, _RC, _VS = "Runtime.AnyTensor", "Runtime.RuntimeContext", "Runtime.Variable"

OPS: dict[str, OpSignature] = {
    # NN/Runtime/Context.lean
    "Runtime.emptyContext": OpSignature(_C, (), "context", (_RC,)),
    "Runtime.registerVariable": OpSignature(_C, (_CTX, _NAME, Param("value", "tensor")), "context", (_RC, _ANY)),
    "Runtime.getVariable": OpSignature(_C, (_CTX, _NAME, Param("s", "shape")), "option_tensor", (_RC, _ANY)),
    "Runtime.setVariable": OpSignature(_C, (_CTX, _NAME, Param("value", "tensor")), "context", (_RC, _ANY)),
    "Runtime.registerGradient": OpSignature(_C, (_CTX, _NAME, Param("grad", "tensor")), "context", (_RC, _ANY)),
    "Runtime.getGradient": OpSignature(_C, (_CTX, _NAME, Param("s", "shape")), "option_tensor", (_RC, _ANY)),
    "Runtime.setGradient": OpSignature(_C, (_CTX, _NAME, Param("grad", "tensor")), "context", (_RC, _ANY)),
    "Runtime.clearGradients": OpSignature(_C, (_CTX,), "context", (_RC,)),
    "Runtime.hasVariable": OpSignature(_C, (_CTX, _NAME), "bool", (_RC,)),
    "Runtime.variableNames": OpSignature(_C, (_CTX,), "names", (_RC,)),
    "Runtime.gradientNames": OpSignature(_C, (_CTX,), "names", (_RC,)),
    "Runtime.contextSize": OpSignature(_C, (_CTX,), "nat", (_RC,)),
    "Runtime.gradientCount": OpSignature(_C, (_CTX,), "nat", (_RC,)),
    "Runtime.isValidContext": OpSignature(_C, (_CTX,), "bool", (_RC, "Runtime.hasVariable")),
    "Runtime.contextToString": OpSignature(_C, (_CTX,), "string", (_RC, _ANY)),
    # NN/Runtime/Variable.lean
    "Runtime.Variable.createVariable": OpSignature(
        _V,
        (Param("id", "nat"), _NAME, Param("value", "tensor"), Param("requires_grad", "bool", optional=True)),
        "variable",
        (_VS,),
    ),
    "Runtime.Variable.getValue": OpSignature(_V, (_VAR,), "tensor", (_VS,)),
    "Runtime.Variable.setValue": OpSignature(_V, (_VAR, Param("new_value", "tensor")), "variable", (_VS,)),
    "Runtime.Variable.getGradient": OpSignature(_V, (_VAR,), "option_tensor", (_VS,)),
    "Runtime.Variable.setGradient": OpSignature(_V, (_VAR, Param("grad", "tensor")), "variable", (_VS,)),
    "Runtime.Variable.clearGradient": OpSignature(_V, (_VAR,), "variable", (_VS,)),
    "Runtime.Variable.checkRequiresGrad": OpSignature(_V, (_VAR,), "bool", (_VS,)),
    "Runtime.Variable.accumulateGradient": OpSignature(
        _V, (_VAR, Param("grad", "tensor")), "variable", (_VS, "Runtime.Variable.setGradient")
    ),
    "Runtime.Variable.variableToString": OpSignature(_V, (_VAR,), "string", (_VS,)),
    "Runtime.Variable.variableEq": OpSignature(_V, (Param("v1", "variable"), Param("v2", "variable")), "bool", (_VS,)),
    "Runtime.Variable.hasShape": OpSignature(_V, (_VAR, Param("expected_shape", "shape")), "bool", (_VS,)),
    "Runtime.Variable.variableNorm": OpSignature(_V, (_VAR,), "scalar", (_VS,)),
    "Runtime.Variable.cloneVariable": OpSignature(_V, (_VAR, Param("new_id", "nat")), "variable", (_VS,)),
    "Runtime.Variable.detachVariable": OpSignature(_V, (_VAR,), "variable", (_VS,)),
    "Runtime.Variable.registerInContext": OpSignature(
        _V, (_CTX, _VAR), "context", (_VS, _RC, _ANY, "Runtime.registerVariable")
    ),
    "Runtime.Variable.getFromContext": OpSignature(
        _V, (_CTX, _VAR), "option_tensor", (_VS, _RC, _ANY, "Runtime.getVariable")
    ),
    "Runtime.Variable.registerGradientInContext": OpSignature(
        _V, (_CTX, _VAR), "context", (_VS, _RC, _ANY, "Runtime.registerGradient")
    ),
    "Runtime.Variable.error": OpSignature(_V, (_CTX, Param("msg", "string")), "variable", (_VS, _RC)),
    # The Lean argument is a proof h : s₁ = s₂; a trace names s₂ and the executor must obtain
    # the evidence by checking the shapes (unequal shapes: TLR_CAST_EVIDENCE).
    "Runtime.Variable.castShape": OpSignature(_V, (_VAR, Param("s2", "shape")), "variable", (_VS,)),
}

#: Every Lean declaration of the two modules (from the spec's cross-reference table).
LEAN_DECLARATIONS: tuple[str, ...] = tuple(d.lean_name for d in DECLARATIONS)

# --- the model ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ContextState:
    """A ``RuntimeContext α`` as data: both registries in list order (newest first) and ``next_id``."""

    var_registry: tuple[tuple[str, TensorBits], ...]
    gradients: tuple[tuple[str, TensorBits], ...]
    next_id: int


@dataclass(frozen=True)
class VariableState:
    """A ``Variable α s`` as data."""

    id: int
    name: str
    value: TensorBits
    gradient: Optional[TensorBits]
    requires_grad: bool


@dataclass(frozen=True)
class Result:
    """An expected (or observed) result: its kind (see :data:`RESULT_KINDS`) and value.

    Equality is exact: bit patterns for tensors and scalars, list order for names and registries.
    """

    kind: str
    value: Any

    def __post_init__(self) -> None:
        _check_result_value(self.kind, self.value)

    def describe(self) -> str:
        """Decoded and as bits, for divergence reports."""
        return _describe(self.kind, self.value)


@dataclass(frozen=True)
class ExpectedError:
    """A must-fail step: the stable error code (never the message text)."""

    code: str

    def __post_init__(self) -> None:
        if not is_one_of(self.code, ERROR_CODES):
            raise TraceFormatError(f"unknown error code {self.code!r}; expected one of {list(ERROR_CODES)}")

    def describe(self) -> str:
        return f"error {self.code}"


ArgValue = Union[str, int, bool, tuple, TensorBits]


@dataclass(frozen=True)
class Step:
    """One call.  ``args`` maps parameter names to literals or handle names (strings) — the
    operation's signature says which.  ``bind`` names the returned context/variable for later
    steps.  ``expect`` is ``None`` only while a trace is being built (the writer refuses it)."""

    op: str
    args: Mapping[str, ArgValue]
    bind: Optional[str] = None
    expect: Union[Result, ExpectedError, None] = None
    note: str = ""


@dataclass(frozen=True)
class Generator:
    """Who wrote the trace: tool name, its version, and the seed of a random program (if any)."""

    name: str = "torchlean-runtime"
    version: str = __version__
    seed: Optional[int] = None


@dataclass(frozen=True)
class Trace:
    """A whole ``torchlean.runtime.v1`` program over one Lean scalar type ``α``."""

    scalar_type: str
    steps: tuple[Step, ...]
    generator: Generator = field(default_factory=Generator)
    declaration: Optional[str] = None  # the declaration this trace is filed under
    description: str = ""
    tags: tuple[str, ...] = ()  # trap names, portability notes (``nan-propagation``)
    lean: Mapping[str, Any] = field(default_factory=lambda: dict(LEAN_SOURCE))


# --- result values ------------------------------------------------------------------------


def _is_nat(x: Any) -> bool:
    return type(x) is int and 0 <= x <= NAT_MAX


def _what(x: Any) -> str:
    """What a value is, for a message: its type with an article and a short ``repr``
    (``a list ['b', 'a']``, ``an int 1``)."""
    t = type(x)
    name = t.__name__ if t.__module__ == "builtins" else f"{t.__module__}.{t.__qualname__}"
    article = "an" if name[:1].lower() in "aeio" else "a"
    try:
        text = repr(x)
    except Exception:  # noqa: BLE001 - a hostile __repr__
        return f"{article} {name}"
    return f"{article} {name} {text if len(text) <= 80 else text[:77] + '...'}"


def _registry_problem(entries: Any, where: str) -> Optional[str]:
    if not isinstance(entries, tuple):
        return f"whose {where} is {_what(entries)}, not a tuple"
    for i, entry in enumerate(entries):
        if not (isinstance(entry, tuple) and len(entry) == 2 and isinstance(entry[0], str)
                and isinstance(entry[1], TensorBits)):
            kinds = (f"({', '.join(type(e).__name__ for e in entry)})" if isinstance(entry, tuple)
                     else type(entry).__name__)
            return f"whose {where}[{i}] is {kinds}, not a (str, TensorBits) pair"
    return None


def result_value_problem(kind: str, value: Any) -> Optional[str]:
    """Why ``value`` is not a ``kind`` result (:data:`RESULT_KINDS`) — what came back, e.g. ``a
    list ['b', 'a']`` or ``a ContextState whose var_registry[0] is (str, ndarray), …`` — or None
    when it is one.  ``Result`` refuses such a value (TraceFormatError); a target's ``observe``
    that builds one is reported with this text (never raises)."""
    if kind == "context":
        if not isinstance(value, ContextState):
            return _what(value)
        for where in ("var_registry", "gradients"):
            problem = _registry_problem(getattr(value, where), where)
            if problem:
                return f"a ContextState {problem}"
        return None if _is_nat(value.next_id) else f"a ContextState whose next_id is {_what(value.next_id)}"
    if kind == "variable":
        if not isinstance(value, VariableState):
            return _what(value)
        fields = (("id", _is_nat(value.id), "a Nat (int)"), ("name", isinstance(value.name, str), "a str"),
                  ("value", isinstance(value.value, TensorBits), "a TensorBits"),
                  ("gradient", value.gradient is None or isinstance(value.gradient, TensorBits),
                   "a TensorBits or None"),
                  ("requires_grad", type(value.requires_grad) is bool, "a bool"))
        for name, ok, expected in fields:
            if not ok:
                return f"a VariableState whose {name} is {_what(getattr(value, name))}, not {expected}"
        return None
    ok = {
        "tensor": lambda v: isinstance(v, TensorBits),
        "option_tensor": lambda v: v is None or isinstance(v, TensorBits),
        "scalar": lambda v: isinstance(v, ScalarBits),
        "bool": lambda v: type(v) is bool,
        "nat": _is_nat,
        "string": lambda v: isinstance(v, str),
        "names": lambda v: isinstance(v, tuple) and all(isinstance(n, str) for n in v),
    }[kind](value)
    if ok:
        return None
    if kind == "names" and isinstance(value, tuple):
        i = next(i for i, n in enumerate(value) if not isinstance(n, str))
        return f"a tuple whose item {i} is {_what(value[i])}"
    return _what(value)


def _check_result_value(kind: str, value: Any) -> None:
    if not is_one_of(kind, RESULT_KINDS):
        raise TraceFormatError(f"unknown result kind {kind!r}; expected one of {list(RESULT_KINDS)}")
    problem = result_value_problem(kind, value)
    if problem is not None:
        exc = TraceFormatError(f"a {kind} result must be a {RESULT_KINDS[kind]}, given {problem}")
        exc.result_kind = kind  # type: ignore[attr-defined] - read by target.ObjectTarget.call
        exc.result_problem = problem  # type: ignore[attr-defined]
        raise exc


def _describe(kind: str, value: Any) -> str:
    if kind in ("tensor", "scalar"):
        return f"{kind} {value.describe()}"
    if kind == "option_tensor":
        return "none" if value is None else f"some {value.describe()}"
    if kind == "context":
        def reg(entries: tuple) -> str:
            return "[" + ", ".join(f"{n!r}: {t.describe()}" for n, t in entries) + "]"

        return f"context next_id={value.next_id} var_registry={reg(value.var_registry)} gradients={reg(value.gradients)}"
    if kind == "variable":
        grad = "none" if value.gradient is None else value.gradient.describe()
        return (
            f"variable id={value.id} name={value.name!r} value={value.value.describe()} gradient={grad} "
            f"requires_grad={str(value.requires_grad).lower()}"
        )
    if kind == "bool":
        return str(value).lower()
    if kind in ("string", "names"):
        return f"{kind} {value!r}"
    return f"{kind} {value}"


# --- JSON encoding ------------------------------------------------------------------------


def _tensor_doc(t: TensorBits) -> dict:
    return {"shape": list(t.shape), "dtype": t.dtype, "bits": [str(b) for b in t.bits]}


def _result_doc(r: Result) -> dict:
    k, v = r.kind, r.value
    if k == "context":
        def reg(entries: tuple) -> list:
            return [{"name": n, "value": _tensor_doc(t)} for n, t in entries]

        return {"type": k, "var_registry": reg(v.var_registry), "gradients": reg(v.gradients), "next_id": v.next_id}
    if k == "variable":
        return {
            "type": k,
            "id": v.id,
            "name": v.name,
            "value": _tensor_doc(v.value),
            "gradient": None if v.gradient is None else _tensor_doc(v.gradient),
            "requires_grad": v.requires_grad,
        }
    if k == "tensor":
        return {"type": k, "value": _tensor_doc(v)}
    if k == "option_tensor":
        return {"type": k, "value": None if v is None else _tensor_doc(v)}
    if k == "scalar":
        return {"type": k, "dtype": v.dtype, "bits": str(v.bits)}
    if k == "names":
        return {"type": k, "value": list(v)}
    return {"type": k, "value": v}


def _arg_doc(kind: str, value: Any) -> Any:
    if kind == "tensor":
        if not isinstance(value, TensorBits):
            raise TraceFormatError(
                f"a tensor argument must be TensorBits (TensorBits.from_array / from_spec), given {type(value).__name__}"
            )
        return _tensor_doc(value)
    if kind == "shape":
        if not isinstance(value, (tuple, list)):
            raise TraceFormatError(f"a shape argument must be a tuple of dimensions, given {type(value).__name__}")
        return list(value)
    return value


def _step_doc(step: Step, index: int) -> dict:
    sig = OPS[step.op] if is_one_of(step.op, OPS) else None
    if sig is None:
        raise TraceFormatError(f"steps[{index}]: unknown operation {step.op!r}")
    kinds = {p.name: p.kind for p in sig.params}
    unknown = set(step.args) - set(kinds)
    if unknown:
        raise TraceFormatError(f"steps[{index}] ({step.op}): unknown arguments {sorted(unknown)}")
    doc: dict[str, Any] = {
        "op": step.op,
        "args": {p.name: _arg_doc(p.kind, step.args[p.name]) for p in sig.params if p.name in step.args},
    }
    if step.bind is not None:
        doc["bind"] = step.bind
    if isinstance(step.expect, Result):
        doc["expect"] = _result_doc(step.expect)
    elif isinstance(step.expect, ExpectedError):
        doc["expect_error"] = step.expect.code
    else:
        raise TraceFormatError(f"steps[{index}] ({step.op}): no expected result — a trace is written only once every step has one")
    if step.note:
        doc["note"] = step.note
    return doc


def to_document(trace: Trace) -> dict:
    """The JSON document of ``trace`` (validated: it decodes back to the same trace)."""
    doc: dict[str, Any] = {
        "format": FORMAT,
        "lean": dict(trace.lean),
        "scalar_type": trace.scalar_type,
        "generator": {"name": trace.generator.name, "version": trace.generator.version, "seed": trace.generator.seed},
    }
    if trace.declaration is not None:
        doc["declaration"] = trace.declaration
    if trace.description:
        doc["description"] = trace.description
    if trace.tags:
        doc["tags"] = list(trace.tags)
    doc["steps"] = [_step_doc(s, i) for i, s in enumerate(trace.steps)]
    return doc


def dumps_trace(trace: Trace) -> str:
    """Deterministic text: the header pretty-printed, one step per line, ASCII only, final newline.

    The document is decoded again before it is returned, so nothing is written that the reader
    would reject (except for size limits, which are the reader's business)."""
    doc = to_document(trace)
    from_document(doc, source="<writer>")  # never write what cannot be read back
    enc = json.JSONEncoder(ensure_ascii=True, separators=(", ", ": "))
    head = [f" {json.dumps(k)}: {enc.encode(v)}" for k, v in doc.items() if k != "steps"]
    steps = [f"  {enc.encode(s)}" for s in doc["steps"]]
    body = ' "steps": [\n' + ",\n".join(steps) + "\n ]" if steps else ' "steps": []'
    return "{\n" + ",\n".join(head + [body]) + "\n}\n"


def write_trace(trace: Trace, path: Union[str, os.PathLike]) -> None:
    """Write ``trace`` to ``path`` (UTF-8/ASCII, ``\\n`` line ends, byte-for-byte deterministic);
    an OSError names ``path`` (:func:`~torchlean_runtime.files.write_text`)."""
    from torchlean_runtime.files import write_text

    write_text(path, dumps_trace(trace), encoding="ascii", newline="\n")


# --- decoding -----------------------------------------------------------------------------


class _Where:
    """Location of a decode error: the source and, inside steps, the step index and op."""

    def __init__(self, source: str):
        self.source = source
        self.step: Optional[int] = None
        self.op: Optional[str] = None

    def fail(self, message: str) -> TraceFormatError:
        where = self.source
        if self.step is not None:
            where += f": steps[{self.step}]" + (f" ({self.op})" if self.op else "")
        err = TraceFormatError(f"{where}: {message}")
        err.source, err.step = self.source, self.step  # type: ignore[attr-defined]
        return err


def _obj(x: Any, keys: tuple[str, ...], optional: tuple[str, ...], what: str, w: _Where) -> dict:
    if not isinstance(x, dict):
        raise w.fail(f"{what} must be an object, given {type(x).__name__}")
    missing = [k for k in keys if k not in x]
    if missing:
        raise w.fail(f"{what} lacks {missing}")
    extra = sorted(set(x) - set(keys) - set(optional))
    if extra:
        raise w.fail(f"{what} has unknown keys {extra}")
    return x


def _string(x: Any, what: str, w: _Where) -> str:
    if not isinstance(x, str):
        raise w.fail(f"{what} must be a string, given {type(x).__name__}")
    try:
        x.encode("utf-8")
    except UnicodeEncodeError:
        raise w.fail(f"{what} is not valid Unicode (lone surrogate)") from None
    return x


def _nat(x: Any, what: str, w: _Where) -> int:
    if type(x) is not int or not 0 <= x <= NAT_MAX:
        raise w.fail(f"{what} must be an integer in 0 .. 2^64-1, given {x!r}")
    return x


def _bool(x: Any, what: str, w: _Where) -> bool:
    if type(x) is not bool:
        raise w.fail(f"{what} must be true or false, given {x!r}")
    return x


_DECIMAL = re.compile(r"0|[1-9][0-9]{0,19}")


def _pattern(x: Any, what: str, w: _Where) -> int:
    if not isinstance(x, str) or not _DECIMAL.fullmatch(x):
        raise w.fail(f"{what} must be a bit pattern written as a decimal string without leading zeros, given {x!r}")
    return int(x)


def _shape(x: Any, what: str, w: _Where) -> tuple[int, ...]:
    if not isinstance(x, list):
        raise w.fail(f"{what} must be a list of dimensions, given {type(x).__name__}")
    for i, d in enumerate(x):
        if type(d) is not int or d < 0:
            raise w.fail(f"{what}[{i}] must be a non-negative integer dimension, given {d!r}")
    try:
        return check_shape(x)
    except TraceFormatError as e:
        raise w.fail(f"{what}: {e.message}") from None


def _tensor(x: Any, what: str, w: _Where) -> TensorBits:
    d = _obj(x, ("shape", "dtype", "bits"), (), what, w)
    shape = _shape(d["shape"], f"{what}.shape", w)
    if not is_one_of(d["dtype"], DTYPES):
        raise w.fail(f"{what}.dtype must be one of {sorted(DTYPES)}, given {d['dtype']!r}")
    if not isinstance(d["bits"], list):
        raise w.fail(f"{what}.bits must be a list, given {type(d['bits']).__name__}")
    bits = tuple(_pattern(b, f"{what}.bits[{i}]", w) for i, b in enumerate(d["bits"]))
    try:
        return TensorBits(shape, d["dtype"], bits)
    except TraceFormatError as e:
        raise w.fail(f"{what}: {e.message}") from None


def _registry(x: Any, what: str, w: _Where) -> tuple[tuple[str, TensorBits], ...]:
    if not isinstance(x, list):
        raise w.fail(f"{what} must be a list, given {type(x).__name__}")
    out = []
    for i, e in enumerate(x):
        e = _obj(e, ("name", "value"), (), f"{what}[{i}]", w)
        out.append((_string(e["name"], f"{what}[{i}].name", w), _tensor(e["value"], f"{what}[{i}].value", w)))
    return tuple(out)


def _result(x: Any, kind: str, w: _Where) -> Result:
    if not isinstance(x, dict) or "type" not in x:
        raise w.fail("expect must be an object with a 'type'")
    if x["type"] != kind:
        raise w.fail(f"the operation returns a {kind}, but expect.type is {x['type']!r}")
    if kind == "context":
        d = _obj(x, ("type", "var_registry", "gradients", "next_id"), (), "expect", w)
        value: Any = ContextState(
            _registry(d["var_registry"], "expect.var_registry", w),
            _registry(d["gradients"], "expect.gradients", w),
            _nat(d["next_id"], "expect.next_id", w),
        )
    elif kind == "variable":
        d = _obj(x, ("type", "id", "name", "value", "gradient", "requires_grad"), (), "expect", w)
        value = VariableState(
            _nat(d["id"], "expect.id", w),
            _string(d["name"], "expect.name", w),
            _tensor(d["value"], "expect.value", w),
            None if d["gradient"] is None else _tensor(d["gradient"], "expect.gradient", w),
            _bool(d["requires_grad"], "expect.requires_grad", w),
        )
        if value.gradient is not None and (value.gradient.shape, value.gradient.dtype) != (value.value.shape, value.value.dtype):
            raise w.fail("expect.gradient must have the value's shape and dtype (a Variable α s fixes both)")
    elif kind == "scalar":
        d = _obj(x, ("type", "dtype", "bits"), (), "expect", w)
        if not is_one_of(d["dtype"], DTYPES):
            raise w.fail(f"expect.dtype must be one of {sorted(DTYPES)}, given {d['dtype']!r}")
        try:
            value = ScalarBits(d["dtype"], _pattern(d["bits"], "expect.bits", w))
        except TraceFormatError as e:
            raise w.fail(f"expect: {e.message}") from None
    else:
        d = _obj(x, ("type", "value"), (), "expect", w)
        v = d["value"]
        if kind == "tensor":
            value = _tensor(v, "expect.value", w)
        elif kind == "option_tensor":
            value = None if v is None else _tensor(v, "expect.value", w)
        elif kind == "bool":
            value = _bool(v, "expect.value", w)
        elif kind == "nat":
            value = _nat(v, "expect.value", w)
        elif kind == "string":
            value = _string(v, "expect.value", w)
        elif kind == "names":
            if not isinstance(v, list):
                raise w.fail("expect.value must be a list of names")
            value = tuple(_string(n, f"expect.value[{i}]", w) for i, n in enumerate(v))
        else:  # pragma: no cover - OPS only uses the kinds above
            raise w.fail(f"unknown result kind {kind!r}")
    return Result(kind, value)


def _decode_args(sig: OpSignature, args_doc: Any, w: _Where, bound: Optional[dict[str, str]]) -> dict[str, Any]:
    """The literal arguments of one call; handles are checked against ``bound`` (handle → kind)
    unless it is None (a protocol runner resolves handles itself)."""
    args_doc = _obj(
        args_doc,
        tuple(p.name for p in sig.params if not p.optional),
        tuple(p.name for p in sig.params if p.optional),
        "args",
        w,
    )
    args: dict[str, Any] = {}
    for p in sig.params:
        if p.name not in args_doc:
            continue
        a, what = args_doc[p.name], f"args.{p.name}"
        if p.kind in ("context", "variable"):
            handle = _string(a, what, w)
            if not is_handle(handle):
                raise w.fail(f"{what} must be a handle matching {HANDLE_PATTERN}, given {handle[:100]!r}")
            if bound is not None:
                if handle not in bound:
                    raise w.fail(f"{what}: handle {handle!r} is not bound by an earlier step")
                if bound[handle] != p.kind:
                    raise w.fail(f"{what}: handle {handle!r} names a {bound[handle]}, the operation needs a {p.kind}")
            args[p.name] = handle
        elif p.kind == "string":
            args[p.name] = _string(a, what, w)
        elif p.kind == "nat":
            args[p.name] = _nat(a, what, w)
        elif p.kind == "bool":
            args[p.name] = _bool(a, what, w)
        elif p.kind == "shape":
            args[p.name] = _shape(a, what, w)
        else:
            args[p.name] = _tensor(a, what, w)
    return args


def args_to_doc(op: str, args: Mapping[str, Any]) -> dict:
    """The JSON form of one call's arguments (as in a v1 step's ``args``)."""
    kinds = {p.name: p.kind for p in OPS[op].params}
    return {name: _arg_doc(kinds[name], value) for name, value in args.items()}


def args_from_doc(op: str, doc: Any, source: str = "<args>") -> dict[str, Any]:
    """Decode a v1 ``args`` object of ``op`` (handles as strings, tensors as TensorBits).
    Raises TraceFormatError (TLR_TRACE_FORMAT) naming ``source``."""
    if not is_one_of(op, OPS):
        raise TraceFormatError(f"{source}: unknown operation {op!r}")
    return _decode_args(OPS[op], doc, _Where(source), None)


def result_to_doc(result: Result) -> dict:
    """The JSON form of a result (as in a v1 step's ``expect``)."""
    return _result_doc(result)


def result_from_doc(kind: str, doc: Any, source: str = "<result>") -> Result:
    """Decode a v1 ``expect`` object of result kind ``kind``; TraceFormatError if malformed."""
    return _result(doc, kind, _Where(source))



def _decode_step(x: Any, w: _Where, bound: dict[str, str]) -> Step:
    if not isinstance(x, dict):
        raise w.fail(f"a step must be an object, given {type(x).__name__}")
    op = x.get("op")
    if not is_one_of(op, OPS):
        raise w.fail(f"unknown operation {op!r}")
    w.op = op
    sig = OPS[op]
    d = _obj(x, ("op", "args"), ("bind", "expect", "expect_error", "note"), "the step", w)
    if ("expect" in d) == ("expect_error" in d):
        raise w.fail("a step has exactly one of 'expect' and 'expect_error'")
    args = _decode_args(sig, d["args"], w, bound)
    expect: Union[Result, ExpectedError]
    if "expect_error" in d:
        code = d["expect_error"]
        if not is_one_of(code, ERROR_CODES):
            raise w.fail(f"expect_error must be one of the stable codes {list(ERROR_CODES)}, given {code!r}")
        expect = ExpectedError(code)
    else:
        expect = _result(d["expect"], sig.result, w)
    bind = d.get("bind")
    if bind is not None:
        if not is_handle(bind):
            raise w.fail(f"bind must match {HANDLE_PATTERN}, given {bind!r}")
        if sig.result not in ("context", "variable"):
            raise w.fail(f"bind: {op} returns a {sig.result}; only contexts and variables are bound")
        if isinstance(expect, ExpectedError):
            raise w.fail("bind: a must-fail step returns nothing to bind")
        if bind in bound:
            raise w.fail(f"bind: handle {bind!r} is already bound (handles are bound once)")
        bound[bind] = sig.result
    note = _string(d.get("note", ""), "note", w)
    return Step(op, args, bind, expect, note)


def from_document(doc: Any, source: str = "<document>") -> Trace:
    """Decode a parsed JSON document into a :class:`Trace`, checking every rule of the format."""
    w = _Where(source)
    d = _obj(
        doc,
        ("format", "lean", "scalar_type", "generator", "steps"),
        ("declaration", "description", "tags"),
        "the document",
        w,
    )
    if d["format"] != FORMAT:
        raise w.fail(f"format must be {FORMAT!r}, given {d['format']!r}")
    lean = _obj(d["lean"], tuple(LEAN_SOURCE), (), "lean", w)
    for key in ("repo", "commit", "lean_version"):
        _string(lean[key], f"lean.{key}", w)
    if lean != LEAN_SOURCE:
        raise w.fail(f"lean must pin {LEAN_SOURCE} (a v1 trace is about that source), given {lean}")
    if not is_one_of(d["scalar_type"], SCALAR_TYPES):
        raise w.fail(f"scalar_type must be one of {list(SCALAR_TYPES)}, given {d['scalar_type']!r}")
    g = _obj(d["generator"], ("name", "version"), ("seed",), "generator", w)
    seed = g.get("seed")
    if seed is not None:
        seed = _nat(seed, "generator.seed", w)
    generator = Generator(_string(g["name"], "generator.name", w), _string(g["version"], "generator.version", w), seed)
    declaration = d.get("declaration")
    if declaration is not None and not is_one_of(declaration, LEAN_DECLARATIONS):
        raise w.fail(f"declaration must be a Lean declaration of the two modules, given {declaration!r}")
    description = _string(d.get("description", ""), "description", w)
    tags = d.get("tags", [])
    if not isinstance(tags, list):
        raise w.fail("tags must be a list of strings")
    tags = tuple(_string(t, f"tags[{i}]", w) for i, t in enumerate(tags))
    if not isinstance(d["steps"], list):
        raise w.fail("steps must be a list")
    bound: dict[str, str] = {}
    steps = []
    for i, s in enumerate(d["steps"]):
        w.step, w.op = i, None
        steps.append(_decode_step(s, w, bound))
    return Trace(d["scalar_type"], tuple(steps), generator, declaration, description, tags, dict(lean))


# --- the JSON Schema ----------------------------------------------------------------------


def _param_schema(p: Param) -> dict:
    return {
        "context": {"$ref": "#/$defs/handle"},
        "variable": {"$ref": "#/$defs/handle"},
        "string": {"type": "string"},
        "nat": {"$ref": "#/$defs/nat"},
        "bool": {"type": "boolean"},
        "shape": {"$ref": "#/$defs/shape"},
        "tensor": {"$ref": "#/$defs/tensor"},
    }[p.kind]


def _value_result(kind: str, value: dict) -> dict:
    return {
        "type": "object",
        "additionalProperties": False,
        "required": ["type", "value"],
        "properties": {"type": {"const": kind}, "value": value},
    }


def schema_document() -> dict:
    """The JSON Schema (draft 2020-12) of ``torchlean.runtime.v1``, built from :data:`OPS`."""
    entry = {
        "type": "object",
        "additionalProperties": False,
        "required": ["name", "value"],
        "properties": {"name": {"type": "string"}, "value": {"$ref": "#/$defs/tensor"}},
    }
    # A pattern's "$" is the end of the string in ECMA-262, but Python's re (jsonschema), PCRE and
    # Java also match it before a final newline: each "not" below refuses any other character
    # anywhere, so "c0\n" and "0\n" are invalid under every regex engine.
    defs: dict[str, Any] = {
        "handle": {
            "description": "a handle naming a context or variable bound by an earlier step: the whole string "
                           "matches the pattern (no other character anywhere, a final newline included)",
            "type": "string",
            "pattern": HANDLE_PATTERN,
            "not": {"pattern": "[^A-Za-z0-9_]"},
        },
        "nat": {"type": "integer", "minimum": 0, "maximum": NAT_MAX},
        "bit_pattern": {
            "description": "an unsigned IEEE-754 / two's-complement bit pattern as a decimal string (digits "
                           "only: no other character anywhere, a final newline included)",
            "type": "string",
            "pattern": r"^(0|[1-9][0-9]{0,19})$",
            "not": {"pattern": "[^0-9]"},
        },
        "dtype": {"enum": list(DTYPES)},
        "shape": {"type": "array", "maxItems": 64, "items": {"type": "integer", "minimum": 0}},
        "tensor": {
            "type": "object",
            "additionalProperties": False,
            "required": ["shape", "dtype", "bits"],
            "properties": {
                "shape": {"$ref": "#/$defs/shape"},
                "dtype": {"$ref": "#/$defs/dtype"},
                "bits": {"type": "array", "items": {"$ref": "#/$defs/bit_pattern"}},
            },
        },
        "registry": {"type": "array", "items": entry},
        "result_context": {
            "type": "object",
            "additionalProperties": False,
            "required": ["type", "var_registry", "gradients", "next_id"],
            "properties": {
                "type": {"const": "context"},
                "var_registry": {"$ref": "#/$defs/registry"},
                "gradients": {"$ref": "#/$defs/registry"},
                "next_id": {"$ref": "#/$defs/nat"},
            },
        },
        "result_variable": {
            "type": "object",
            "additionalProperties": False,
            "required": ["type", "id", "name", "value", "gradient", "requires_grad"],
            "properties": {
                "type": {"const": "variable"},
                "id": {"$ref": "#/$defs/nat"},
                "name": {"type": "string"},
                "value": {"$ref": "#/$defs/tensor"},
                "gradient": {"oneOf": [{"type": "null"}, {"$ref": "#/$defs/tensor"}]},
                "requires_grad": {"type": "boolean"},
            },
        },
        "result_tensor": _value_result("tensor", {"$ref": "#/$defs/tensor"}),
        "result_option_tensor": _value_result("option_tensor", {"oneOf": [{"type": "null"}, {"$ref": "#/$defs/tensor"}]}),
        "result_scalar": {
            "type": "object",
            "additionalProperties": False,
            "required": ["type", "dtype", "bits"],
            "properties": {
                "type": {"const": "scalar"},
                "dtype": {"$ref": "#/$defs/dtype"},
                "bits": {"$ref": "#/$defs/bit_pattern"},
            },
        },
        "result_bool": _value_result("bool", {"type": "boolean"}),
        "result_nat": _value_result("nat", {"$ref": "#/$defs/nat"}),
        "result_string": _value_result("string", {"type": "string"}),
        "result_names": _value_result("names", {"type": "array", "items": {"type": "string"}}),
    }
    per_op = []
    for op, sig in OPS.items():
        args = {
            "type": "object",
            "additionalProperties": False,
            "required": [p.name for p in sig.params if not p.optional],
            "properties": {p.name: _param_schema(p) for p in sig.params},
        }
        step_op: dict[str, Any] = {"properties": {"args": args, "expect": {"$ref": f"#/$defs/result_{sig.result}"}}}
        if sig.result not in ("context", "variable"):
            step_op["not"] = {"required": ["bind"]}
        defs[f"step_{op}"] = step_op
        per_op.append({"if": {"properties": {"op": {"const": op}}}, "then": {"$ref": f"#/$defs/step_{op}"}})
    # step_base: what every step has; step_<op>: the arguments and result of one operation.
    # (The reader validates step_base, then the one step_<op> the step names — the same verdict
    # as the allOf below, without evaluating every if-clause for every step.)
    defs["step_base"] = {
        "type": "object",
        "additionalProperties": False,
        "required": ["op", "args"],
        "properties": {
            "op": {"enum": list(OPS)},
            "args": {"type": "object"},
            "bind": {"$ref": "#/$defs/handle"},
            "expect": {"type": "object"},
            "expect_error": {"enum": list(ERROR_CODES)},
            "note": {"type": "string"},
        },
        "oneOf": [
            {"required": ["expect"], "not": {"required": ["expect_error"]}},
            {"required": ["expect_error"], "not": {"anyOf": [{"required": ["expect"]}, {"required": ["bind"]}]}},
        ],
    }
    defs["step"] = {"allOf": [{"$ref": "#/$defs/step_base"}, *per_op]}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "urn:torchlean-runtime:schema:torchlean.runtime.v1",
        "title": "torchlean.runtime.v1 conformance trace",
        "description": (
            "A program over TorchLean's NN.Runtime.Context / NN.Runtime.Variable with the expected result of "
            "every step; tensors as IEEE-754 bit patterns.  Rules a schema cannot state (handles bound before "
            "use, bit-pattern widths, element counts) are in docs/vectors.md and enforced by the reader."
        ),
        "type": "object",
        "additionalProperties": False,
        "required": ["format", "lean", "scalar_type", "generator", "steps"],
        "properties": {
            "format": {"const": FORMAT},
            "lean": {
                "type": "object",
                "additionalProperties": False,
                "required": list(LEAN_SOURCE),
                "properties": {
                    "repo": {"const": LEAN_SOURCE["repo"]},
                    "commit": {"const": LEAN_SOURCE["commit"]},
                    "lean_version": {"const": LEAN_SOURCE["lean_version"]},
                    "modules": {"const": LEAN_SOURCE["modules"]},
                },
            },
            "scalar_type": {"enum": list(SCALAR_TYPES)},
            "generator": {
                "type": "object",
                "additionalProperties": False,
                "required": ["name", "version"],
                "properties": {
                    "name": {"type": "string"},
                    "version": {"type": "string"},
                    "seed": {"oneOf": [{"type": "null"}, {"$ref": "#/$defs/nat"}]},
                },
            },
            "declaration": {"enum": list(LEAN_DECLARATIONS)},
            "description": {"type": "string"},
            "tags": {"type": "array", "items": {"type": "string"}},
            "steps": {"type": "array", "items": {"$ref": "#/$defs/step"}},
        },
        "$defs": defs,
    }


def schema_text() -> str:
    """The exact text of ``schema_v1.json`` (two-space indent, ASCII, final newline)."""
    return json.dumps(schema_document(), indent=2, ensure_ascii=True) + "\n"
