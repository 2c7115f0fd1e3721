"""The one target interface: how replay, fuzz, verify and the differential machine run an
implementation of ``NN.Runtime.Context`` / ``NN.Runtime.Variable``.

A *target* executes calls of the Lean declarations (by fully qualified Lean name, the keys of
:data:`~.vectors.format.OPS`) over *opaque handles*: a call that returns a context or a
variable is told a handle to bind it to (``bind``), and later calls name it.  Literal arguments
are exactly those of a ``torchlean.runtime.v1`` step: ``str`` names, ``int`` ids, ``bool`` flags,
shapes as tuples of ``int``, tensors as :class:`~.vectors.bits.TensorBits` (dtype, shape, bit
patterns).  A target answers every call with

* a :class:`~.vectors.format.Result` — the returned value as data (whole context/variable
  states, tensors and scalars as bit patterns, names, counts, strings, Bools), or
* an :class:`ObservedError` — the stable error code (``TLR_...``) of a refused call,

and raises :class:`~torchlean_runtime.errors.TargetFailedError` (``TLR_TARGET_FAILED`` and its
subclasses ``TLR_TARGET_TIMEOUT`` / ``TLR_PROTOCOL``) when it fails as a *program*.  Comparison
uses only these answers.  A target may also offer :meth:`Target.abstract` — the state
abstraction hook (the impl's ``to_spec``) — for the stronger per-step state check.

Selectors (:func:`open_target`), accepted wherever a target is named:

==============================  ===================================================================
``spec``                        the literal Lean transcription (the reference)
``impl``                        the numpy implementation
``module:PKG.MOD:FACTORY``      ``FACTORY()`` from an importable Python module returns a Target
``exec:COMMAND``                a subprocess speaking ``torchlean.runtime.protocol.v1`` (docs/protocol.md)
``NAME``                        an adapter installed under the entry-point group ``torchlean_runtime.targets``
==============================  ===================================================================

``spec`` and ``impl`` are :class:`ObjectTarget` instances — the same base an outside Python
adapter uses; neither has a private path.  See ``docs/conformance.md`` for a worked example.
"""

from __future__ import annotations

import importlib
import re
import shlex
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping, Optional, Sequence, Union

import numpy as np

from torchlean_runtime.errors import TargetFailedError, TargetSelectorError, TorchLeanError, TraceFormatError

from .vectors.bits import TensorBits
from .vectors.execute import Crash, ImplAdapter, ImplUnavailable, ObservedError, SpecAdapter
from .vectors.format import ERROR_CODES, OPS, RESULT_KINDS, SCALAR_TYPES, Result, is_one_of

__all__ = [
    "Answer",
    "ObservedError",
    "Crash",
    "Target",
    "ObjectTarget",
    "spec_target",
    "impl_target",
    "open_target",
    "ENTRY_POINT_GROUP",
    "DEFAULT_TIMEOUT",
    "one_line",
    "which_target",
    "WRONG_RESULT",
]

#: What a call answers: a result, a typed refusal, or (in-process targets only) an untyped crash.
Answer = Union[Result, ObservedError, Crash]

#: Python packages publish adapters under this entry-point group (value: ``pkg.mod:factory``).
ENTRY_POINT_GROUP = "torchlean_runtime.targets"

#: Seconds an ``exec:`` runner may take to answer one message (``--timeout`` overrides it).
DEFAULT_TIMEOUT = 10.0

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")


def _escape(m: "re.Match[str]") -> str:
    c = ord(m.group())
    return f"\\x{c:02x}" if c < 0x100 else f"\\u{c:04x}"


def one_line(text: Any, limit: int = 500) -> str:
    """Text a target supplied (a message, a name, an exception), as a report shows it: one line —
    every control character (newlines, terminal escapes, separators, lone surrogates) escaped as
    ``\\xNN`` / ``\\uNNNN`` — and at most ``limit`` characters before escaping."""
    try:
        text = text if isinstance(text, str) else str(text)
    except BaseException as exc:  # noqa: BLE001 - a hostile __str__
        if isinstance(exc, KeyboardInterrupt):
            raise
        text = f"<unprintable {type(text).__name__}>"
    return _CONTROL.sub(_escape, text[:limit])


def printable_tail(text: str) -> str:
    """A runner's stderr tail, shown line by line behind a prefix: every control character but
    the newline escaped (no terminal escape sequence, no carriage return hiding a line)."""
    return "\n".join(_CONTROL.sub(_escape, line) for line in text.split("\n"))



def _exception_text(exc: BaseException, limit: int = 500) -> str:
    """``str(exc)`` on one line (an exception's own ``__str__`` may fail: then its type)."""
    try:
        text = str(exc)
    except BaseException as inner:  # noqa: BLE001
        if isinstance(inner, KeyboardInterrupt):
            raise
        text = f"<unprintable {type(exc).__name__}>"
    return one_line(text, limit)


def _program_failure(target: Any, where: str, exc: BaseException) -> TargetFailedError:
    """What the report says when adapter code failed as a program (not as a call): the
    exception's type and a one-line message, code ``TLR_TARGET_FAILED``."""
    if isinstance(exc, KeyboardInterrupt):
        raise exc
    if isinstance(exc, TargetFailedError):
        return exc
    name = one_line(getattr(target, "name", "target") if not isinstance(target, str) else target, 200)
    return TargetFailedError(f"{name}: {where} raised {type(exc).__name__}: {_exception_text(exc, 300)}")


def _reraise_program_failure(target: Any, where: str, exc: BaseException) -> None:
    """A TargetFailedError, or a NotImplementedError (the adapter lacks the method), raised by
    adapter code is the target failing as a program — never a refusal or a crash of one call."""
    if isinstance(exc, (TargetFailedError, NotImplementedError)):
        raise _program_failure(target, where, exc) from None


#: The ``Crash.exception`` of a call whose ``observe`` built the wrong kind of value (a list where
#: a tuple of names is required, a ContextState holding arrays instead of TensorBits, …): the
#: adapter's own error, not a trace-format problem (docs/conformance.md, "What observe returns").
WRONG_RESULT = "WrongResultValue"
_CONTRACT_REF = 'docs/conformance.md, "What observe returns"'


def _wrong_result(op: str, kind: Any, problem: str) -> str:
    """The message of a :data:`WRONG_RESULT` crash: what was expected, what came back."""
    expected = OBSERVE_CONTRACT.get(kind, (RESULT_KINDS.get(kind, "?"), ""))[0] if isinstance(kind, str) else "?"
    return (f"observe built Result({kind!r}, …) for {op} from {problem}; a {kind} result is "
            f"{expected.replace('`', '')} ({_CONTRACT_REF})")


def _refusal(target: Any, op: str, code: Any, message: Any) -> ObservedError:
    """A typed refusal; a code that is not one of the stable codes (``ERROR_CODES``) is a
    failure of the target (it could otherwise carry anything into a report)."""
    if not is_one_of(code, ERROR_CODES):
        raise TargetFailedError(f"{one_line(getattr(target, 'name', 'target'), 200)}: {op} refused with "
                                f"{one_line(repr(code), 100)}, not one of the stable error codes")
    return ObservedError(code, one_line(message))


class Target:
    """Base class of every target.  Subclasses implement :meth:`reset` and :meth:`call`.

    Attributes a subclass may override:

    * ``name`` — shown in reports;
    * ``scalar_types`` — the Lean scalar types it supports (of ``"Float"``, ``"IEEE32Exec"``, ``"Int"``);
    * ``operations`` — the Lean declarations it supports (keys of ``OPS``).

    A trace that needs anything else is reported as *not covered* (listed and counted, never
    passed).  One target runs one trace at a time; :meth:`reset` starts the next one."""

    name: str = "target"
    scalar_types: frozenset[str] = frozenset(SCALAR_TYPES)
    operations: frozenset[str] = frozenset(OPS)

    def reset(self, scalar_type: str) -> None:
        """Start a new trace over Lean scalar type ``scalar_type``; forget every handle."""
        raise NotImplementedError

    def call(self, op: str, args: Mapping[str, Any], bind: Optional[str] = None) -> Answer:
        """Execute ``op`` (a Lean name) on ``args``; bind a returned context/variable to ``bind``.

        ``args`` maps the parameter names of ``OPS[op]`` to literals (handles as ``str``,
        tensors as TensorBits, shapes as tuples).  Returns a Result or an ObservedError; raises
        TargetFailedError if the target fails as a program."""
        raise NotImplementedError

    #: True if :meth:`abstract` is implemented (the optional state-abstraction hook).
    offers_abstraction: bool = False

    def abstract(self, handle: str) -> Any:
        """The spec object (``torchlean_runtime.spec``) the value bound to ``handle`` stands for
        — the abstraction function.  Optional: only if ``offers_abstraction``."""
        raise NotImplementedError(f"{self.name} offers no state abstraction")

    def close(self) -> None:
        """Release resources (processes, files).  Idempotent."""

    def __enter__(self) -> "Target":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


class ObjectTarget(Target):
    """A target over Python objects: the kit keeps the handle environment, the subclass converts.

    Subclasses implement three methods (and may set ``name``, ``scalar_types``, ``operations``):

    * ``tensor(t: TensorBits) -> native`` — a tensor argument as the implementation's value;
    * ``invoke(op: str, scalar_type: str, args: dict) -> native`` — call the implementation
      (handles already replaced by the objects bound to them); raise a
      :class:`~torchlean_runtime.errors.TorchLeanError` (or any exception with a ``code``
      attribute ``"TLR_..."``) to refuse;
    * ``observe(kind: str, native) -> Result`` — the answer as data (``kind`` is ``OPS[op].result``).

    Any other exception from ``invoke``/``observe`` is answered as a :class:`Crash` (never a match).

    The hostile caller (:func:`~.attacks.attack`: every mutation route Python and numpy offer),
    after every call, after the answer was observed — what the target answers later must not
    change: ``hostile="inputs"`` attacks every tensor passed in (replay does this for every
    in-process target: an implementation that keeps the caller's array diverges later);
    ``hostile=True`` also attacks the object received (the differential machine's mode).
    """

    def __init__(self) -> None:
        self.scalar_type: Optional[str] = None
        self.env: dict[str, Any] = {}
        self.hostile: Any = False  # False | "inputs" | True
        self.attacks_tried = 0
        self.attacked: list[str] = []  # what the hostile caller mutated since the last reset

    # the three conversion methods
    def tensor(self, t: TensorBits) -> Any:
        raise NotImplementedError

    def invoke(self, op: str, scalar_type: str, args: dict[str, Any]) -> Any:
        raise NotImplementedError

    def observe(self, kind: str, native: Any) -> Result:
        raise NotImplementedError

    def reset(self, scalar_type: str) -> None:
        self.scalar_type = scalar_type
        self.env = {}
        self.attacked = []

    def attack_note(self) -> str:
        """What the hostile caller mutated earlier in this program ("" when nothing was).  A
        failure line carries it only when the attacks made the difference: replay (and fuzz,
        through replay) runs the program again without attacks and adds the note only if that run
        passes or fails differently (:func:`~.vectors.replay.replay_trace`), so a crash such as
        ``AttributeError`` or ``unsupported array dtype float16`` caused by the attacks is not
        left unexplained, and a failure the attacks did not cause is not blamed on them."""
        attacked = getattr(self, "attacked", None)
        if not attacked:
            return ""
        def first(labels: list[str]) -> str:
            unique = list(dict.fromkeys(labels))
            return ", ".join(unique[:3]) + (f" and {len(unique) - 3} more" if len(unique) > 3 else "")
        inputs = [a for a in attacked if not a.endswith(" result")]
        results = [a[:-len(" result")] for a in attacked if a.endswith(" result")]
        parts = []
        if inputs:
            parts.append(f"overwrote the arrays it had passed in to earlier calls ({first(inputs)})")
        if results:
            parts.append(f"mutated the objects earlier calls returned ({first(results)}: their arrays, lists, "
                         "attributes)")
        return ("after the harness " + " and ".join(parts) + " — as a Lean caller may: a conforming "
                "implementation copies what it is given and never hands out state it keeps "
                "(docs/conformance.md, the hostile caller)")

    def _crash(self, name: str, text: str) -> "Crash":
        return Crash(name, text)

    def call(self, op: str, args: Mapping[str, Any], bind: Optional[str] = None) -> Answer:
        if self.scalar_type is None:
            raise TargetFailedError(f"{self.name}: call before reset")
        sig = OPS[op]
        native_args: dict[str, Any] = {}
        for p in sig.params:
            if p.name not in args:
                continue  # a Lean default argument: the implementation uses its default
            value = args[p.name]
            if p.kind in ("context", "variable"):
                if not is_one_of(value, self.env):
                    return self._crash("LookupError", f"handle {one_line(repr(value), 100)} is not bound (its step failed or never ran)")
                native_args[p.name] = self.env[value]
            elif p.kind == "tensor":
                try:
                    native_args[p.name] = self.tensor(value)
                except Exception as exc:  # noqa: BLE001 - an unconvertible tensor is the target's crash
                    _reraise_program_failure(self, "tensor", exc)
                    return self._crash(type(exc).__name__, f"tensor conversion: {_exception_text(exc)}")
                except BaseException as exc:  # noqa: BLE001 - SystemExit & co.: the target failed
                    raise _program_failure(self, "tensor", exc) from None
            else:
                native_args[p.name] = value
        try:
            native = self.invoke(op, self.scalar_type, native_args)
        except TorchLeanError as exc:
            _reraise_program_failure(self, f"invoke {op}", exc)
            return _refusal(self, op, exc.code, exc.message)
        except Exception as exc:  # noqa: BLE001
            _reraise_program_failure(self, f"invoke {op}", exc)
            code = getattr(exc, "code", None)
            if isinstance(code, str) and code.startswith("TLR_"):
                return _refusal(self, op, code, _exception_text(exc))
            return self._crash(type(exc).__name__, _exception_text(exc))
        except BaseException as exc:  # noqa: BLE001
            raise _program_failure(self, f"invoke {op}", exc) from None
        try:
            observed = self.observe(sig.result, native)
        except Exception as exc:  # noqa: BLE001
            _reraise_program_failure(self, "observe", exc)
            problem = getattr(exc, "result_problem", None)
            if isinstance(exc, TraceFormatError) and isinstance(problem, str):
                return self._crash(WRONG_RESULT, _wrong_result(op, getattr(exc, "result_kind", sig.result), problem))
            return self._crash(type(exc).__name__, f"unobservable {sig.result} result: {_exception_text(exc)}")
        except BaseException as exc:  # noqa: BLE001
            raise _program_failure(self, "observe", exc) from None
        if not isinstance(observed, Result):
            raise TargetFailedError(f"{one_line(self.name, 200)}: observe() returned {type(observed).__name__}, "
                                    "not a torchlean_runtime.conformance.vectors.format.Result")
        if observed.kind != sig.result:
            return self._crash(WRONG_RESULT, f"observe returned a {observed.kind} result for {op}, whose result is "
                                             f"a {sig.result} ({_CONTRACT_REF})")
        if bind is not None:
            self.env[bind] = native
        if self.hostile:
            self._attack(native_args, sig, native, op)
        return observed

    def _attack(self, native_args: dict[str, Any], sig: Any, native: Any, op: str) -> None:
        """The hostile caller: every tensor passed in, then the object received."""
        import warnings

        from .attacks import attack

        with warnings.catch_warnings():  # some routes are deprecated numpy features: meant
            warnings.simplefilter("ignore")
            self._attack_all(attack, native_args, sig, native, op)

    def _attack_all(self, attack: Any, native_args: dict[str, Any], sig: Any, native: Any, op: str) -> None:
        for p in sig.params:
            # arrays and containers the caller passed in (an opaque object is the
            # implementation's own value, attacked only as something received)
            if p.kind == "tensor" and isinstance(native_args.get(p.name), (np.ndarray, list, dict)):
                attack(native_args[p.name], f"{op}.{p.name}")
                self.attacks_tried += 1
                self.attacked.append(f"{op}.{p.name}")
        if self.hostile is True:
            attack(native, f"{op} result")
            self.attacks_tried += 1
            self.attacked.append(f"{op} result")


class _AdapterTarget(ObjectTarget):
    """``spec`` / ``impl``: an :class:`ObjectTarget` over the vector executor's adapters."""

    def __init__(self, name: str, make_adapter: Callable[[str], Any], abstraction: Optional[Callable[[Any], Any]]):
        super().__init__()
        self.name = name
        self._make_adapter = make_adapter
        self._adapter: Any = None
        self._abstraction = abstraction
        self.offers_abstraction = abstraction is not None

    def reset(self, scalar_type: str) -> None:
        super().reset(scalar_type)
        self._adapter = self._make_adapter(scalar_type)

    def tensor(self, t: TensorBits) -> Any:
        return self._adapter.tensor(t)

    def invoke(self, op: str, scalar_type: str, args: dict[str, Any]) -> Any:
        return self._adapter.call(op, args)

    def observe(self, kind: str, native: Any) -> Result:
        return self._adapter.observe(kind, native)

    def abstract(self, handle: str) -> Any:
        if self._abstraction is None:
            return super().abstract(handle)
        return self._abstraction(self.env[handle])


def spec_target() -> Target:
    """``torchlean_runtime.spec`` (the reference); its abstraction is the identity."""
    return _AdapterTarget("spec", SpecAdapter, lambda x: x)


def impl_target() -> Target:
    """``torchlean_runtime.impl``; its abstraction hook is ``impl.to_spec``."""
    try:
        from torchlean_runtime.impl import to_spec
    except Exception as exc:  # noqa: BLE001
        raise ImplUnavailable(f"torchlean_runtime.impl cannot be imported: {exc}") from None
    return _AdapterTarget("impl", ImplAdapter, to_spec)


def _load_factory(ref: str, what: str) -> Callable[[], Any]:
    module_name, sep, attr = ref.partition(":")
    if not sep or not module_name or not attr:
        raise TargetSelectorError(f"{what}: expected PKG.MOD:FACTORY, given {one_line(repr(ref), 300)}")
    try:
        obj: Any = importlib.import_module(module_name)
        for part in attr.split("."):
            obj = getattr(obj, part)
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # noqa: BLE001 - any import failure (SystemExit too) is a bad selector
        raise TargetSelectorError(f"{what}: cannot load {one_line(repr(ref), 300)}: {type(exc).__name__}: "
                                  f"{_exception_text(exc, 300)}") from None
    if not callable(obj):
        raise TargetSelectorError(f"{what}: {one_line(repr(ref), 300)} is not callable")
    return obj


def _entry_points() -> dict[str, Any]:
    from importlib.metadata import entry_points

    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}


def _instantiate(factory: Callable[[], Any], selector: str) -> Target:
    """``factory()``, guarded.  A factory that raises (SystemExit and other BaseExceptions too,
    KeyboardInterrupt excepted) or returns no Target: TargetSelectorError.  The target's own
    code (reset, call, tensor/invoke/observe, abstract, close) is outside code — whatever it
    raises or returns wrongly is a TargetFailedError naming the exception type, with a one-line
    message."""
    try:
        target = factory()
    except KeyboardInterrupt:
        raise
    except TorchLeanError:
        raise
    except BaseException as exc:  # noqa: BLE001 - SystemExit & co. too: the selector names no target
        raise TargetSelectorError(f"{one_line(selector, 300)}: the factory failed: {type(exc).__name__}: "
                                  f"{_exception_text(exc, 300)}") from None
    if not isinstance(target, Target):
        raise TargetSelectorError(
            f"{one_line(selector, 300)}: the factory returned {type(target).__name__}, not a torchlean_runtime.conformance.target.Target"
        )
    return _guard(target, selector)


def _checked_names(value: Any, known: Any, what: str, selector: str) -> frozenset[str]:
    try:
        names = frozenset(value)
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # noqa: BLE001
        raise _program_failure(selector, what, exc) from None
    if not all(is_one_of(n, known) for n in names):
        bad = sorted(one_line(repr(n), 80) for n in names if not is_one_of(n, known))
        raise TargetFailedError(f"{one_line(selector, 300)}: {what} names unknown entries {bad[:5]}")
    return names


def _guard(target: Target, selector: str) -> Target:
    """Re-class ``target`` as a subclass of its own class whose entry points catch what the
    adapter's code may throw (see :func:`_instantiate`) and check what it answers; ``name``,
    ``scalar_types`` and ``operations`` are validated (the name shown on one line)."""
    cls = type(target)
    target_name = [one_line(selector, 200)]

    def run(where: str, fn: Callable[..., Any], *a: Any) -> Any:
        try:
            return fn(*a)
        except KeyboardInterrupt:
            raise
        except BaseException as exc:  # noqa: BLE001
            raise _program_failure(target_name[0], where, exc) from None

    attrs = {k: run(k, getattr, target, k) for k in ("name", "scalar_types", "operations")}
    if isinstance(attrs["name"], str) and attrs["name"]:
        target_name[0] = one_line(attrs["name"], 200)
    state = {
        "name": target_name[0],
        "scalar_types": _checked_names(attrs["scalar_types"], SCALAR_TYPES, "scalar_types", selector),
        "operations": _checked_names(attrs["operations"], OPS, "operations", selector),
    }

    def prop(key: str, check: Callable[[Any], Any]) -> property:
        def get(self: Any) -> Any:
            return state[key]

        def set_(self: Any, value: Any) -> None:
            state[key] = check(value)
            if key == "name":
                target_name[0] = state[key]

        return property(get, set_)

    class Guarded(cls):  # type: ignore[valid-type, misc]
        name = prop("name", lambda v: one_line(v, 200))
        scalar_types = prop("scalar_types", lambda v: _checked_names(v, SCALAR_TYPES, "scalar_types", selector))
        operations = prop("operations", lambda v: _checked_names(v, OPS, "operations", selector))

        def reset(self, scalar_type: str) -> None:
            run("reset", super().reset, scalar_type)

        def call(self, op: str, args: Mapping[str, Any], bind: Optional[str] = None) -> Answer:
            answer = run(f"call {op}", super().call, op, args, bind)
            if isinstance(answer, Result):
                return answer
            if isinstance(answer, ObservedError):
                return _refusal(self, op, answer.code, answer.message)
            if isinstance(answer, Crash):
                return Crash(one_line(answer.exception, 100), one_line(answer.message))
            raise TargetFailedError(f"{target_name[0]}: call {op} returned {type(answer).__name__}, "
                                    "not a Result, ObservedError or Crash")

        def abstract(self, handle: str) -> Any:
            return run("abstract", super().abstract, handle)

        def close(self) -> None:
            run("close", super().close)

    Guarded.__name__ = Guarded.__qualname__ = cls.__name__
    try:
        target.__class__ = Guarded
    except TypeError as exc:
        raise TargetFailedError(f"{one_line(selector, 300)}: the adapter's class cannot be guarded ({exc})") from None
    return target


def open_target(selector: str, timeout: float = DEFAULT_TIMEOUT, also: Sequence[str] = ()) -> Target:
    """The target a selector names (see the module docstring).  Raises TargetSelectorError
    (``TLR_TARGET_SELECTOR``) for a selector that names nothing — listing the selectors, with
    ``also`` (the caller's own, e.g. replay's ``both``) first; an ``exec:`` runner that fails
    its handshake raises TargetFailedError."""
    if not isinstance(selector, str) or not selector:
        raise TargetSelectorError("a target selector is a non-empty string")
    if selector == "spec":
        return spec_target()
    if selector == "impl":
        try:
            return impl_target()
        except ImplUnavailable as exc:
            raise TargetSelectorError(str(exc)) from None
    if selector.startswith("module:"):
        return _instantiate(_load_factory(selector[len("module:"):], selector), selector)
    if selector.startswith("exec:"):
        from .protocol import ProcessTarget

        command = selector[len("exec:"):]
        try:
            argv = shlex.split(command)
        except ValueError as exc:
            raise TargetSelectorError(f"{selector}: cannot split the command: {exc}") from None
        if not argv:
            raise TargetSelectorError("exec: needs a command, e.g. exec:'python3 my_runner.py'")
        return ProcessTarget(argv, timeout=timeout)
    eps = _entry_points()
    if selector in eps:
        try:
            factory = eps[selector].load()
        except KeyboardInterrupt:
            raise
        except BaseException as exc:  # noqa: BLE001
            raise TargetSelectorError(f"{selector}: cannot load entry point {one_line(repr(eps[selector].value), 300)}: "
                                      f"{type(exc).__name__}: {_exception_text(exc, 300)}") from None
        return _instantiate(factory, selector)
    known = [*also, "spec", "impl", "module:PKG.MOD:FACTORY", "exec:COMMAND", *sorted(eps)]
    raise TargetSelectorError(f"unknown target {selector!r}; expected one of {known}")


#: What ``observe(kind, native)`` must return for each result kind (format.RESULT_KINDS): the
#: value inside ``Result(kind, value)`` and an example.  docs/conformance.md's table "What observe
#: returns" is rendered from this, RESULT_KINDS and OPS by :func:`observe_contract` (a test keeps
#: them equal and checks every example is accepted by ``Result``).
OBSERVE_CONTRACT: dict[str, tuple[str, str]] = {
    "context": ("`ContextState(var_registry, gradients, next_id)`: both registries as tuples of "
                "`(name, TensorBits)` pairs, newest first (Lean's list order, shadowed entries kept); "
                "`next_id` an int",
                "`ContextState((('w', TensorBits((2,), 'float64', (0, 0))),), (), 1)`"),
    "variable": ("`VariableState(id, name, value, gradient, requires_grad)`: `value` a `TensorBits`, "
                 "`gradient` a `TensorBits` or `None`, `requires_grad` a `bool`",
                 "`VariableState(0, 'w', TensorBits((), 'float64', (0,)), None, True)`"),
    "tensor": ("`TensorBits(shape, dtype, bits)`: shape a tuple, dtype `float64`/`float32`/`int64`, one bit "
               "pattern (an `int`) per element, row-major (`TensorBits.from_array(a)` builds one)",
               "`TensorBits((2,), 'float32', (1065353216, 1073741824))`"),
    "option_tensor": ("a `TensorBits` for Lean's `some t`, `None` for `none` (a missing name or a shape "
                      "mismatch)", "`None`"),
    "scalar": ("`ScalarBits(dtype, bits)`: one scalar as its dtype and bit pattern "
               "(`ScalarBits.from_value(x)` from a float, a numpy scalar or an int)",
               "`ScalarBits('float64', 4607182418800017408)`"),
    "bool": ("a Python `bool` (not a numpy bool, not an int)", "`True`"),
    "nat": ("a Python `int`, 0 … 2^64−1", "`2`"),
    "string": ("a `str`, character for character Lean's `toString`", "`'Variable w'`"),
    "names": ("a `tuple` of `str`, in Lean's list order (newest first); not a list", "`('b', 'a')`"),
}


def observe_contract() -> str:
    """The Markdown table of docs/conformance.md, "What observe returns"."""
    from .vectors.format import OPS, RESULT_KINDS

    rows = ["| kind | `observe` returns `Result(kind, value)` with `value` | e.g. | operations |",
            "| --- | --- | --- | --- |"]
    for kind in RESULT_KINDS:
        what, example = OBSERVE_CONTRACT[kind]
        ops = ", ".join(f"`{op.removeprefix('Runtime.')}`" for op, sig in OPS.items() if sig.result == kind)
        rows.append(f"| `{kind}` | {what} | {example} | {ops} |")
    return "\n".join(rows)


#: What the project's own selectors run: a report that ran only these tested this package, not yours.
OWN_SELECTORS = {"both": "this package's spec and impl", "spec": "this package's spec",
                 "impl": "this package's impl"}


def which_target(selector: str) -> str:
    """The first line of a replay or fuzz report: which implementations were run — with a
    warning when they are this package's own (``--target`` forgotten gives a pass that says
    nothing about the caller's implementation)."""
    if selector in OWN_SELECTORS:
        return f"target: {selector} ({OWN_SELECTORS[selector]} — pass --target to test your implementation)"
    return f"target: {selector}"


def describe_selectors() -> str:
    """One line per selector form, with the installed entry-point adapters (for --help)."""
    names = ", ".join(sorted(_entry_points())) or "none installed"
    return (
        "spec | impl | module:PKG.MOD:FACTORY | exec:COMMAND | an entry point of "
        f"{ENTRY_POINT_GROUP} ({names})"
    )


@dataclass(frozen=True)
class Coverage:
    """Why a trace cannot run on a target: the scalar type or operations it does not support."""

    scalar_type_missing: bool
    operations_missing: tuple[str, ...]

    @property
    def covered(self) -> bool:
        return not self.scalar_type_missing and not self.operations_missing

    def reason(self, scalar_type: str) -> str:
        parts = []
        if self.scalar_type_missing:
            parts.append(f"scalar type {scalar_type} unsupported")
        if self.operations_missing:
            parts.append("unsupported operations " + ", ".join(self.operations_missing))
        return "; ".join(parts)


def coverage(target: Target, scalar_type: str, ops: Iterable[str]) -> Coverage:
    """Whether ``target`` declares support for a trace over ``scalar_type`` using ``ops``."""
    missing = tuple(sorted({op for op in ops if op not in target.operations}))
    return Coverage(scalar_type not in target.scalar_types, missing)
