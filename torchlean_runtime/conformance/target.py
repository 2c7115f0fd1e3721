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
import shlex
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping, Optional, Union

import numpy as np

from torchlean_runtime.errors import TargetFailedError, TargetSelectorError, TorchLeanError

from .vectors.bits import TensorBits
from .vectors.execute import Crash, ImplAdapter, ImplUnavailable, ObservedError, SpecAdapter
from .vectors.format import OPS, SCALAR_TYPES, Result

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
]

#: What a call answers: a result, a typed refusal, or (in-process targets only) an untyped crash.
Answer = Union[Result, ObservedError, Crash]

#: Python packages publish adapters under this entry-point group (value: ``pkg.mod:factory``).
ENTRY_POINT_GROUP = "torchlean_runtime.targets"

#: Seconds an ``exec:`` runner may take to answer one message (``--timeout`` overrides it).
DEFAULT_TIMEOUT = 10.0


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
                if value not in self.env:
                    return Crash("LookupError", f"handle {value!r} is not bound (its step failed or never ran)")
                native_args[p.name] = self.env[value]
            elif p.kind == "tensor":
                try:
                    native_args[p.name] = self.tensor(value)
                except Exception as exc:  # noqa: BLE001 - an unconvertible tensor is the target's crash
                    return Crash(type(exc).__name__, f"tensor conversion: {str(exc)[:500]}")
            else:
                native_args[p.name] = value
        try:
            native = self.invoke(op, self.scalar_type, native_args)
        except TorchLeanError as exc:
            return ObservedError(exc.code, exc.message)
        except Exception as exc:  # noqa: BLE001
            code = getattr(exc, "code", None)
            if isinstance(code, str) and code.startswith("TLR_"):
                return ObservedError(code, str(exc)[:500])
            return Crash(type(exc).__name__, str(exc)[:500])
        try:
            observed = self.observe(sig.result, native)
        except Exception as exc:  # noqa: BLE001
            return Crash(type(exc).__name__, f"unobservable {sig.result} result: {str(exc)[:500]}")
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
        if self.hostile is True:
            attack(native, f"{op} result")
            self.attacks_tried += 1


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
        raise TargetSelectorError(f"{what}: expected PKG.MOD:FACTORY, given {ref!r}")
    try:
        obj: Any = importlib.import_module(module_name)
        for part in attr.split("."):
            obj = getattr(obj, part)
    except Exception as exc:  # noqa: BLE001 - any import failure is a bad selector
        raise TargetSelectorError(f"{what}: cannot load {ref!r}: {type(exc).__name__}: {exc}") from None
    if not callable(obj):
        raise TargetSelectorError(f"{what}: {ref!r} is not callable")
    return obj


def _entry_points() -> dict[str, Any]:
    from importlib.metadata import entry_points

    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}


def _instantiate(factory: Callable[[], Any], selector: str) -> Target:
    try:
        target = factory()
    except TorchLeanError:
        raise
    except Exception as exc:  # noqa: BLE001
        raise TargetSelectorError(f"{selector}: the factory failed: {type(exc).__name__}: {exc}") from None
    if not isinstance(target, Target):
        raise TargetSelectorError(
            f"{selector}: the factory returned {type(target).__name__}, not a torchlean_runtime.conformance.target.Target"
        )
    return target


def open_target(selector: str, timeout: float = DEFAULT_TIMEOUT) -> Target:
    """The target a selector names (see the module docstring).  Raises TargetSelectorError
    (``TLR_TARGET_SELECTOR``) for a selector that names nothing; an ``exec:`` runner that fails
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
        except Exception as exc:  # noqa: BLE001
            raise TargetSelectorError(f"{selector}: cannot load entry point {eps[selector].value!r}: {exc}") from None
        return _instantiate(factory, selector)
    known = ["spec", "impl", "module:PKG.MOD:FACTORY", "exec:COMMAND", *sorted(eps)]
    raise TargetSelectorError(f"unknown target {selector!r}; expected one of {known}")


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
