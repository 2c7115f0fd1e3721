"""The public docstrings of ``RuntimeContext`` and ``Variable`` cannot drift from the code.

Project standard: a public docstring gives shapes, dtypes, errors raised (with codes) and the
Lean declaration it follows.  Three checks keep that true:

1. **Errors.**  Every public method is driven through a deterministic sweep of bad inputs — every
   argument position gets every value of :func:`pool` (wrong types, ``str`` subclasses and
   non-``str`` names, lone surrogates, unsupported dtypes and byte orders, wrong and invalid
   shapes, broadcast views above ``MAX_ELEMENTS``, negative and ``bool`` ids, contexts of every
   scalar type and no context at all, forged and foreign evidence...), on receivers of every
   scalar type and several shapes, and every pair of argument positions gets every pair of a
   smaller pool — in the ordinary state and in the states that only the environment can cause
   (a lowered element or print cap, a malformed cap variable read for the first time, a CPU that
   flushes subnormals).  The ``TLR_`` codes actually raised are collected, and each must appear
   in that method's docstring: a new error path cannot ship undocumented.  The codes come from
   running the code, never from a list kept here; the same sweep runs under ``python -O`` (where
   the plain checks answer instead of the icontract preconditions) and must raise the same codes.
   A last subprocess caps its address space (``RLIMIT_AS``) and calls every method on 64 MiB
   arrays: the copies refused with ``TLR_TENSOR_TOO_LARGE``, and the plain ``MemoryError`` of an
   allocation no check guards, must be documented too.
2. **Lean names.**  Every public method that follows a Lean declaration names it (``Runtime.…``,
   the row of ``spec/declarations.py``); the Python-only helpers are listed in
   :data:`PYTHON_ONLY`.
3. **Attributes.**  Every public attribute (``__slots__`` members and properties) has a docstring.

Run this file as a script to print the swept codes as JSON (the ``-O`` test runs it so), or
with ``--memory`` for the out-of-memory sweep.
"""

from __future__ import annotations

import functools
import inspect
import itertools
import json
import os
import re
import subprocess
import sys
from collections.abc import Sequence
from typing import Any, Callable, Iterator

import numpy as np
import pytest

import torchlean_runtime.spec.core.scalars as scalars
import torchlean_runtime.spec.core.tensor as T
from torchlean_runtime.errors import TorchLeanError
from torchlean_runtime.impl import REFINE, RuntimeContext, ShapeEq, Variable, shape_eq
from torchlean_runtime.impl import variable as impl_variable
from torchlean_runtime.impl.arrays import MAX_ELEMENTS
from torchlean_runtime.spec.core.shape import ofList
from torchlean_runtime.spec.declarations import DECLARATIONS

CLASSES = (RuntimeContext, Variable)

#: Public methods that follow no Lean declaration (Python conveniences and protocols).
PYTHON_ONLY = {
    "RuntimeContext.__init__",  # refuses construction: Lean's structure has no Python constructor
    "RuntimeContext.__eq__",
    "RuntimeContext.__hash__",
    "RuntimeContext.variable_entries",
    "RuntimeContext.gradient_entries",
    "RuntimeContext.visible_variables",
    "RuntimeContext.visible_gradients",
    "Variable.__init__",
}

#: Dunders that count as public API (documented behaviour a caller relies on).
PUBLIC_DUNDERS = ("__init__", "__eq__", "__hash__")


# --- what is public -------------------------------------------------------------------------------


def public_methods(cls: type) -> dict[str, Callable]:
    """``name -> function`` for the public methods of ``cls`` (static ones unwrapped), in
    definition order; properties and slot members are attributes, see :func:`public_attributes`."""
    out = {}
    for name, raw in vars(cls).items():
        if name.startswith("_") and name not in PUBLIC_DUNDERS:
            continue
        fn = raw.__func__ if isinstance(raw, staticmethod) else raw
        if inspect.isfunction(fn):
            out[name] = fn
    return out


def public_attributes(cls: type) -> dict[str, Any]:
    """``name -> descriptor`` for the public data attributes: slot members and properties."""
    return {name: raw for name, raw in vars(cls).items()
            if not name.startswith("_") and (inspect.ismemberdescriptor(raw) or isinstance(raw, property))}


def doc_of(cls: type, name: str) -> str:
    """The docstring written on ``cls.name`` itself (never one inherited from ``object``); a
    slot member's is its ``__slots__`` value (``inspect.getdoc`` reads it there, as ``help`` does)."""
    raw = vars(cls)[name]
    if inspect.ismemberdescriptor(raw):
        slots = cls.__slots__
        return inspect.cleandoc(slots[name]) if isinstance(slots, dict) and slots.get(name) else ""
    raw = raw.__func__ if isinstance(raw, staticmethod) else raw
    return inspect.cleandoc(raw.__doc__ or "")


def documentation() -> dict[str, str]:
    """``"Class.member" -> docstring`` for every swept key (see :func:`sweep_once`)."""
    docs = {f"{cls.__name__}.{name}": doc_of(cls, name)
            for cls in CLASSES for name in (*public_methods(cls), *public_attributes(cls))}
    docs["shape_eq"] = inspect.cleandoc(shape_eq.__doc__ or "")
    return docs


def undocumented(found: dict[str, list[str]], docs: dict[str, str]) -> list[tuple[str, str]]:
    """``(key, code)`` for each ``TLR_`` code raised by ``key`` that its docstring does not name
    (as the literal code, a whole word)."""
    return [(key, code) for key, codes in found.items() for code in codes
            if code.startswith("TLR_") and not re.search(rf"\b{code}\b", docs[key])]


def lean_name(cls: type, name: str) -> str | None:
    """The Lean declaration a method follows, derived from the code: its refinement
    postcondition ``@C.refines(C.<op>_refines)`` and the spec function that condition calls
    (``S.<lean>`` for ``spec.runtime.context``, ``V.<lean>`` for ``spec.runtime.variable``),
    looked up in ``spec/declarations.py``.  ``None`` for a method with no refinement condition."""
    from torchlean_runtime.impl import contracts as C

    source = inspect.getsource(public_methods(cls)[name])  # unwraps to the def, decorators included
    found = re.findall(r"@C\.refines\(C\.(\w+)\)", source)
    if not found:
        return None
    assert len(found) == 1, (cls, name, found)
    calls = set(re.findall(r"\b([SV])\.(\w+)\(", inspect.getsource(getattr(C, found[0]))))
    modules = {"S": "torchlean_runtime.spec.runtime.context", "V": "torchlean_runtime.spec.runtime.variable"}
    names = {d.lean_name for d in DECLARATIONS for m, f in calls if d.python_path == f"{modules[m]}.{f}"}
    assert len(names) == 1, (cls, name, calls, names)
    return names.pop()


# --- the sweep ------------------------------------------------------------------------------------


class StrSub(str):
    """A ``str`` subclass whose own ``__eq__``/``__hash__`` lie (a name is taken as its characters)."""

    def __eq__(self, other: object) -> bool:
        return True

    def __hash__(self) -> int:
        return 0


class IntSub(int):
    """An ``int`` subclass whose ``__index__``/``__int__`` lie."""

    def __index__(self) -> int:
        return -1

    def __int__(self) -> int:
        return -1


class Hostile:
    """No accepted type; ``__repr__``, ``__index__``, ``__len__`` and ``__eq__`` all raise."""

    def __repr__(self) -> str:
        raise RuntimeError("hostile __repr__")

    __str__ = __repr__

    def __index__(self) -> int:
        raise RuntimeError("hostile __index__")

    def __len__(self) -> int:
        raise RuntimeError("hostile __len__")

    def __eq__(self, other: object) -> bool:
        raise RuntimeError("hostile __eq__")

    __hash__ = object.__hash__


class BadSeq(Sequence):
    """A Sequence whose items cannot be read."""

    def __len__(self) -> int:
        return 2

    def __getitem__(self, i: Any) -> Any:
        raise RuntimeError("hostile __getitem__")


class NdSub(np.ndarray):
    """An ndarray subclass (read through numpy's C-level metadata)."""


DTYPES = (np.float64, np.float32, np.int64)
BIG = np.broadcast_to(np.zeros(1), (MAX_ELEMENTS + 1,))  # 2**31 + 1 elements over 8 bytes


@functools.cache
def contexts() -> list[RuntimeContext]:
    """Contexts of no scalar type yet and of each one, with variables and gradients."""
    out = [RuntimeContext.empty()]
    for dt in DTYPES:
        ctx = RuntimeContext.empty(dt)
        out.append(ctx)
        out.append(ctx.register_variable("w", np.ones((2, 3), dt)).register_gradient("w", np.ones((2, 3), dt))
                   .register_variable("e", np.zeros((1000, 0), dt)).register_gradient("e", np.zeros((1000, 0), dt)))
    return out


@functools.cache
def variables() -> list[Variable]:
    """Variables of each scalar type at a scalar, a matrix and two empty shapes, with and without
    a gradient, with ``requires_grad`` true and false."""
    out = []
    for dt in DTYPES:
        for shape in ((), (2, 3), (0,), (1000, 0)):
            v = Variable.create(7, "w", np.ones(shape, dt))
            out += [v, v.set_gradient(np.ones(shape, dt)), v.detach_variable()]
    return out


@functools.cache
def arrays() -> list[Any]:
    base = [np.ones(s, dt) for dt in DTYPES for s in ((), (2, 3), (3, 2), (6,), (0,), (1000, 0))]
    return base + [
        np.float64(1.5), np.float32(1.5), np.int64(3), np.int32(3), np.float16(1), np.bool_(True),
        np.ones((2, 3), np.int32), np.ones((2, 3), np.float16), np.ones((2, 3), object),
        np.ones((2, 3), np.complex128), np.ones((2, 3), bool), np.ones((2, 3), np.uint64),
        np.ones((2, 3), ">f8"), np.ones((2, 3), ">f4"), np.ones((2, 3), ">i8"), np.ones((2, 3), "<U1"),
        np.ones((4, 6))[::2, ::2].copy()[:, :3], np.asfortranarray(np.ones((2, 3))), np.ones((4, 6))[::2, ::2],
        np.ones((2, 3)).view(NdSub), np.ma.ones((2, 3)), np.zeros((10**6, 10**6, 0)),
        BIG, np.broadcast_to(np.zeros(1, np.float32), (2**31 + 1,)), np.broadcast_to(np.zeros(1), (2, 3)),
        np.ones(2, dtype=[("a", "f8")]),
    ]


@functools.cache
def pool() -> list[Any]:
    """Every value given to every argument position (the good values are among them)."""
    names = ["w", "e", "", "ünï", "a" * 10_000, StrSub("w"), "\ud800", "w\udfff", b"w", bytearray(b"w"),
             ["w"], ("w",), 0, 1.5, None, np.str_("w")]
    shapes = [(), (2, 3), [2, 3], range(2, 4), (np.int64(2), np.int64(3)), (0,), (1000, 0), (-1,), (1.5,), (True,),
              (2**70,), (1,) * 64, (1,) * 65, "ab", b"ab", {2: 3}, {2, 3}, np.array([2, 3]), 5, BadSeq(),
              (IntSub(2),), [None], [Hostile()]]
    ids = [0, 7, 2**70, -1, True, False, IntSub(3), np.int64(3), np.uint8(3), 1.0, "1"]
    flags = [True, False, 1, 0, np.bool_(True), "true"]
    dtypes = [np.float64, np.float32, np.int64, "float64", np.dtype("<f4"), np.int32, "float16", object, ">f8",
              ">i8", "complex128", "no-such-dtype", float, int, bool]
    evidence = [shape_eq((2, 3), (2, 3)), shape_eq((), ()), shape_eq((0,), (0,)), ShapeEq.refl(ofList([3, 2])),
                ShapeEq.refl(ofList([1000, 0])), (2, 3), ofList([2, 3])]
    others = [*contexts(), *variables(), Hostile(), object(), np.int64(0), Variable, RuntimeContext]
    return names + shapes + ids + flags + dtypes + evidence + arrays() + others


@functools.cache
def small_pool() -> list[Any]:
    """One or two values of each kind, for the pairwise sweep."""
    ctx = RuntimeContext.empty()
    return [
        "w", "\ud800", 3, None, (2, 3), (), (0,), (-1,), 0, -1, True, np.float32, "float16",
        shape_eq((2, 3), (2, 3)), np.ones((2, 3)), np.ones((2, 3), np.float32), np.ones((2, 3), np.int64),
        np.ones((), np.float32), np.ones((2, 3), np.int32), np.zeros((1000, 0)), BIG,
        ctx, RuntimeContext.empty(np.float32), RuntimeContext.empty(np.int64),
        ctx.register_variable("w", np.ones((2, 3))), Variable.create(1, "w", np.ones((2, 3))),
        Variable.create(1, "w", np.ones((2, 3), np.float32)), Hostile(),
    ]


def receivers(cls: type, static: bool) -> list[Any]:
    if static:
        return [cls]
    return list(contexts() if cls is RuntimeContext else variables())


def good_args(receiver: Any, fn: Callable) -> list[Any]:
    """Arguments that the call accepts for ``receiver`` (each position is then swept)."""
    if isinstance(receiver, Variable):
        dt, shape = receiver.dtype, receiver.shape
    elif isinstance(receiver, RuntimeContext) and receiver.dtype is not None:
        dt, shape = receiver.dtype, (2, 3)
    else:  # a context of no scalar type yet, or a static method's class
        dt, shape = np.dtype(np.float64), (2, 3)
    good = {"name": "w", "shape": shape, "value": np.ones(shape, dt), "grad": np.ones(shape, dt),
            "new_value": np.ones(shape, dt), "id": 0, "new_id": 1, "requires_grad": True,
            "ctx": RuntimeContext.empty(dt), "msg": "m", "evidence": shape_eq(shape, shape),
            "other": receiver, "dtype": None, "lhs": (2, 3), "rhs": (2, 3)}
    names = [p for p in inspect.signature(fn).parameters if p != "self"]
    return [good[p] for p in names]


def param_names(fn: Callable) -> list[str]:
    return [p for p in inspect.signature(fn).parameters if p not in ("self", "args", "kwargs")]


def outcome(call: Callable[[], Any]) -> str | None:
    """The ``TLR_`` code a call raises; ``None`` when it returns; ``untyped <Class>: message``
    for any other exception (a defect of its own).  Generators are run to their end."""
    try:
        result = call()
        if inspect.isgenerator(result):
            for _ in result:
                pass
        return None
    except TorchLeanError as exc:
        return exc.code
    except Exception as exc:  # noqa: BLE001 - collected, the test fails on it
        return f"untyped {type(exc).__name__}: {str(exc)[:200]}"


def calls(cls: type, name: str, fn: Callable, with_keywords: bool) -> Iterator[Callable[[], Any]]:
    """The calls of the sweep of one method: the receivers, each argument position through
    :func:`pool`, each pair of positions through :func:`small_pool`; positionally and, when
    ``with_keywords``, by keyword (icontract's own wrapper rather than the fast caller)."""
    static = isinstance(vars(cls)[name], staticmethod)
    params = param_names(fn)
    big, small = pool(), small_pool()
    for receiver in receivers(cls, static):
        bound = getattr(receiver, name)
        if name == "__init__":
            yield lambda: cls()
            yield lambda: cls(1, 2, x=3)
            continue
        good = good_args(receiver, fn)
        variants: list[list[Any]] = [list(good)]
        for i in range(len(params)):
            for bad in big:
                args = list(good)
                args[i] = bad
                variants.append(args)
        for i, j in itertools.combinations(range(len(params)), 2):
            for a, b in itertools.product(small, small):
                args = list(good)
                args[i], args[j] = a, b
                variants.append(args)
        for args in variants:
            yield lambda bound=bound, args=args: bound(*args)
            if with_keywords and params:
                yield lambda bound=bound, args=args: bound(**dict(zip(params, args)))


def sweep_once(with_keywords: bool = True) -> dict[str, set[str]]:
    """``"Class.method" -> outcomes`` (codes and untyped failures) in the current state."""
    found: dict[str, set[str]] = {}
    for cls in CLASSES:
        for name, fn in public_methods(cls).items():
            got = found.setdefault(f"{cls.__name__}.{name}", set())
            for call in calls(cls, name, fn, with_keywords):
                code = outcome(call)
                if code is not None:
                    got.add(code)
        for name, prop in public_attributes(cls).items():
            got = found.setdefault(f"{cls.__name__}.{name}", set())
            if isinstance(prop, property):
                for receiver in receivers(cls, False):
                    code = outcome(lambda: getattr(receiver, name))
                    if code is not None:
                        got.add(code)
    got = found.setdefault("shape_eq", set())
    for a, b in itertools.product(pool(), small_pool()):
        for args in ((a, b), (b, a)):
            code = outcome(lambda args=args: shape_eq(*args))
            if code is not None:
                got.add(code)
    return found


class _State:
    """Context manager for one of the states only the environment can cause; restores everything."""

    def __init__(self, kind: str):
        self.kind = kind

    def __enter__(self) -> "_State":
        self.saved = (T._element_cap, T._print_cap, scalars._HALF,
                      {k: os.environ.get(k) for k in (T.ELEMENT_CAP_ENV_VAR, T.PRINT_CAP_ENV_VAR)})
        if self.kind == "low caps":  # setElementCap / setPrintCap, or the variables, set low
            T._element_cap, T._print_cap = 10, 10
        elif self.kind == "malformed cap variables":  # read for the first time
            os.environ[T.ELEMENT_CAP_ENV_VAR] = os.environ[T.PRINT_CAP_ENV_VAR] = "lots"
            T._element_cap = T._print_cap = None
        elif self.kind == "flush to zero":  # the probe's operands as FTZ leaves them (see test_limits_and_environment)
            scalars._HALF = 0.0
        return self

    def __exit__(self, *exc: Any) -> None:
        T._element_cap, T._print_cap, scalars._HALF, env = self.saved
        for k, v in env.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


STATES = ("ordinary", "low caps", "malformed cap variables", "flush to zero")


def sweep() -> dict[str, dict[str, list[str]]]:
    """``state -> "Class.method" -> sorted outcomes``.  Receivers and pools are built once, in
    the ordinary state, so a lowered cap also meets values stored before it was lowered."""
    for build in (contexts, variables, arrays, pool, small_pool):
        build()  # built once, in the ordinary state, and reused in every state
    out = {}
    for state in STATES:
        with _State(state):
            # In the abnormal states only positional calls: the keyword path is the same plain
            # checks behind icontract's wrapper, swept in the ordinary state.
            found = sweep_once(with_keywords=state == "ordinary")
        out[state] = {k: sorted(v) for k, v in found.items()}
    return out


def memory_sweep() -> dict[str, list[str]]:
    """Out of memory (Linux, a subprocess of its own): each public method and property called
    with accepted arguments on a Variable and a context holding 64 MiB arrays, once the
    address space is capped 32 MiB above what the process already maps — every copy of one
    fails.  ``"Class.member" -> outcomes``."""
    import resource

    big = np.ones(1 << 23)
    v = Variable.create(0, "w", big).set_gradient(big)
    ctx = RuntimeContext.empty().register_variable("w", big).register_gradient("w", big)
    twin = RuntimeContext.empty().register_variable("w", big).register_gradient("w", big)  # equal, other memory
    v.variable_norm(), v.accumulate_gradient(big)  # compile the [fast] kernels (if any) before the cap
    plan = []
    for cls, receiver in ((RuntimeContext, ctx), (Variable, v)):
        for name, fn in public_methods(cls).items():
            if name == "__init__":
                continue
            static = isinstance(vars(cls)[name], staticmethod)
            good = {"name": "w", "shape": big.shape, "value": big, "grad": big, "new_value": big, "id": 0,
                    "new_id": 1, "requires_grad": True, "ctx": ctx, "msg": "m", "dtype": None, "other": twin,
                    "evidence": shape_eq(big.shape, big.shape)}
            if cls is Variable:
                good["other"] = receiver
            args = [good[p] for p in param_names(fn)]
            plan.append((f"{cls.__name__}.{name}", getattr(cls if static else receiver, name), args))
        for name, prop in public_attributes(cls).items():
            if isinstance(prop, property):
                plan.append((f"{cls.__name__}.{name}", prop.fget, [receiver]))
    with open("/proc/self/status") as status:
        mapped = next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmSize:"))
    limit = mapped + (32 << 20)
    resource.setrlimit(resource.RLIMIT_AS, (limit, resource.getrlimit(resource.RLIMIT_AS)[1]))
    found: dict[str, list[str]] = {}
    for key, fn, args in plan:
        code = outcome(lambda fn=fn, args=args: fn(*args))
        found[key] = [] if code is None else [code]
    return found


@functools.cache
def swept() -> dict[str, dict[str, list[str]]]:
    return sweep()


def _run_self(python_flags: tuple[str, ...] = (), args: tuple[str, ...] = ()) -> Any:
    """This file run as a script in a fresh interpreter; its JSON answer."""
    out = subprocess.run([sys.executable, *python_flags, __file__, *args], capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout)


# --- the tests ------------------------------------------------------------------------------------

#: The docstrings list the errors of the default mode and of ``-O``; checked mode's extra errors
#: (the spec's caps on the abstraction, RefinementError) are stated once, in context.py's module
#: docstring, so the sweeps do not run there.
sweeps = pytest.mark.skipif(REFINE, reason="checked mode (TORCHLEAN_RT_CHECK=refine) adds the spec's errors")


@sweeps
def test_every_code_a_method_raises_is_in_its_docstring() -> None:
    found = swept()
    docs = documentation()
    missing = sorted({(state, key, code) for state, per in found.items() for key, code in undocumented(per, docs)})
    assert not missing, "raised but not documented (state, method, code):\n" + "\n".join(map(str, missing))


@sweeps
def test_the_sweep_raises_only_typed_errors() -> None:
    untyped = sorted({(state, key, code) for state, per in swept().items() for key, codes in per.items()
                      for code in codes if not code.startswith("TLR_")})
    assert not untyped, untyped


@sweeps
def test_the_sweep_reaches_every_error_path_it_is_meant_to() -> None:
    """The sweep is not vacuous: it reaches the codes named in the issue for the methods named
    there (if a refactoring made the sweep miss them, the documentation check would pass
    without checking anything)."""
    ordinary, states = swept()["ordinary"], swept()
    expect = {
        "RuntimeContext.register_variable": {"TLR_NAME_TYPE", "TLR_ARGUMENT_TYPE", "TLR_SCALAR_TYPE",
                                             "TLR_SCALAR_MISMATCH", "TLR_TENSOR_TOO_LARGE"},
        "RuntimeContext.get_variable": {"TLR_NAME_TYPE", "TLR_INVALID_SHAPE"},
        "RuntimeContext.empty": {"TLR_SCALAR_TYPE"},
        "Variable.create": {"TLR_ARGUMENT_TYPE", "TLR_NAME_TYPE", "TLR_SCALAR_TYPE", "TLR_TENSOR_TOO_LARGE"},
        "Variable.set_value": {"TLR_SHAPE_MISMATCH", "TLR_SCALAR_MISMATCH", "TLR_SCALAR_TYPE"},
        "Variable.accumulate_gradient": {"TLR_NO_CONTEXT_INSTANCE", "TLR_SHAPE_MISMATCH"},
        "Variable.variable_norm": {"TLR_NO_CONTEXT_INSTANCE"},
        "Variable.cast_shape": {"TLR_CAST_EVIDENCE"},
        "Variable.error": {"TLR_ARGUMENT_TYPE", "TLR_NAME_TYPE", "TLR_SCALAR_TYPE", "TLR_SCALAR_MISMATCH"},
        "Variable.register_in_context": {"TLR_ARGUMENT_TYPE", "TLR_SCALAR_MISMATCH"},
    }
    for key, codes in expect.items():
        assert codes <= set(ordinary[key]), (key, ordinary[key])
    assert "TLR_OUTPUT_TOO_LARGE" in states["low caps"]["RuntimeContext.to_lean_string"]
    assert "TLR_ENVIRONMENT" in states["malformed cap variables"]["Variable.to_lean_string"]
    assert "TLR_ENVIRONMENT" in states["malformed cap variables"]["RuntimeContext.register_variable"]
    assert "TLR_FLOAT_ENVIRONMENT" in states["flush to zero"]["Variable.variable_norm"]
    assert set(ordinary) == set(documentation())  # every method and attribute was swept


@sweeps
def test_python_O_raises_the_same_codes() -> None:
    """Under ``-O`` the icontract preconditions are gone and the plain checks answer: the same
    codes (and so the same documentation) for every method in every state."""
    assert __debug__, "run the suite without -O; the -O run is this subprocess"
    assert _run_self(python_flags=("-O",)) == swept()


@sweeps
def test_out_of_memory_codes_are_documented() -> None:
    if not sys.platform.startswith("linux"):
        pytest.skip("RLIMIT_AS and /proc/self/status: Linux")
    found = _run_self(args=("--memory",))
    docs = documentation()
    missing = undocumented(found, docs)
    assert not missing, missing
    # a plain MemoryError (an allocation no typed check guards) must be said in the docstring too
    plain = {key for key, codes in found.items() for code in codes if not code.startswith("TLR_")}
    assert all(code.startswith(("TLR_", "untyped MemoryError")) for codes in found.values() for code in codes), found
    assert not [key for key in plain if "MemoryError" not in docs[key]], plain
    # the cap did bite: the copies out and in are refused with the typed error
    refused = {key for key, codes in found.items() if "TLR_TENSOR_TOO_LARGE" in codes}
    assert {"RuntimeContext.get_variable", "RuntimeContext.register_variable", "Variable.value",
            "Variable.create", "Variable.accumulate_gradient"} <= refused, found


@sweeps
def test_the_check_fails_when_a_documented_code_is_deleted() -> None:
    """The documentation check has teeth: deleting any one documented code from the docstring of a
    method that raises it is reported."""
    found = swept()["ordinary"]
    docs = documentation()
    tried = 0
    for key, codes in found.items():
        for code in codes:
            bad = dict(docs, **{key: docs[key].replace(code, "TLR_DELETED")})
            assert (key, code) in undocumented(found, bad)
            tried += 1
    assert tried > 50


def test_every_public_method_names_its_lean_declaration() -> None:
    """``Runtime.…``: the declaration its refinement postcondition checks it against.  The
    Python-only members (:data:`PYTHON_ONLY`) follow none, and are the only ones without."""
    without = set()
    for cls in CLASSES:
        for name in public_methods(cls):
            key = f"{cls.__name__}.{name}"
            lean = lean_name(cls, name)
            if lean is None:
                without.add(key)
                continue
            assert key not in PYTHON_ONLY, f"{key} follows {lean}: drop it from PYTHON_ONLY"
            assert re.search(rf"``{re.escape(lean)}``", doc_of(cls, name)), f"{key}: docstring does not name ``{lean}``"
    assert without == PYTHON_ONLY
    covered = {lean_name(cls, name) for cls in CLASSES for name in public_methods(cls)} - {None}
    defs = {d.lean_name for d in DECLARATIONS if d.kind == "def"}
    assert covered == defs  # every Lean def has exactly the impl method that refines it


def test_every_public_attribute_has_a_docstring() -> None:
    for cls in CLASSES:
        attributes = public_attributes(cls)
        assert attributes, cls
        for name in attributes:
            assert doc_of(cls, name).strip(), f"{cls.__name__}.{name} has no docstring"
            assert inspect.getdoc(getattr(cls, name)) == doc_of(cls, name)  # what help() shows
    assert {"id", "name", "shape", "dtype", "requires_grad", "value", "gradient"} <= set(public_attributes(Variable))
    assert {"next_id", "dtype"} <= set(public_attributes(RuntimeContext))


def test_slots_are_dicts_in_their_declared_order() -> None:
    """``__slots__`` is a dict (its values are the members' docstrings); its iteration order is
    the order the constructors' slot setters are taken in."""
    from torchlean_runtime.impl import context as impl_context

    assert list(RuntimeContext.__slots__) == ["_variables", "_gradients", "next_id", "dtype"]
    assert list(Variable.__slots__) == ["id", "name", "_value", "_gradient", "requires_grad", "shape", "dtype"]
    setters = (impl_context._SET_VARIABLES, impl_context._SET_GRADIENTS, impl_context._SET_NEXT_ID, impl_context._SET_DTYPE)
    assert [s.__self__.__name__ for s in setters] == list(RuntimeContext.__slots__)
    setters = (impl_variable._SET_ID, impl_variable._SET_NAME, impl_variable._SET_VALUE, impl_variable._SET_GRADIENT,
               impl_variable._SET_REQUIRES_GRAD, impl_variable._SET_SHAPE, impl_variable._SET_DTYPE)
    assert [s.__self__.__name__ for s in setters] == list(Variable.__slots__)
    v = Variable.create(3, "w", np.ones((2, 3), np.float32), False)
    assert (v.id, v.name, v.shape, v.dtype, v.requires_grad) == (3, "w", (2, 3), np.dtype(np.float32), False)


if __name__ == "__main__":
    print(json.dumps(memory_sweep() if sys.argv[1:] == ["--memory"] else swept()))
