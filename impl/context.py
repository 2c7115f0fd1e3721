"""``RuntimeContext`` — the impl of NN/Runtime/Context.lean: persistent, numpy-backed, indexed.

Semantics are the spec's (``torchlean_runtime.spec.runtime.context``), operation by operation:
``register_variable`` prepends (an older entry with the same name is shadowed, not removed) and
bumps ``next_id``; ``get_variable`` looks at the NEWEST entry with the name only and returns its
array when its shape is the requested one, else ``None``; ``set_variable`` replaces EVERY entry
with the name (shape may change; an absent name changes nothing); ``register_gradient`` does not
bump ``next_id``; counts and name lists include shadowed duplicates.

Costs (n entries, k of them sharing the name, g distinct gradient names):
``get_*``/``has_variable``/``register_*`` O(log32 n); ``set_*`` O(k log n);
``context_size``/``gradient_count`` O(1); ``is_valid_context`` O(g log n); name lists, strings and
``to_spec`` O(n).

Persistence and threads: a context is immutable (every operation returns a new one, sharing
structure with its input; arrays are frozen, see ``arrays.py``).  Any number of threads may
therefore read one shared context and derive their own new contexts from it concurrently
without locks: nothing they do can change the shared one or each other's.

Scalar type: ``dtype`` is ``None`` until the first array fixes it (as Lean infers ``α`` from the
first use; the spec's ``alpha``), then every array stored must have that dtype.  Note that
``set_variable``/``set_gradient`` fix it even when the name is absent, as the spec does.

Errors: each method's docstring lists every typed error it raises, class and stable code
(``torchlean_runtime.errors``), checked before any state is built; ``tests/impl/test_docstrings.py``
sweeps bad inputs through every method and fails on a code its docstring does not name.  The
caps some checks read (``spec.core.tensor.elementCap()`` for an empty array's nested structure,
``printCap()`` for printing) come from environment variables read on first use, hence
``TLR_ENVIRONMENT`` when one is malformed.  In checked mode (``TORCHLEAN_RT_CHECK=refine``)
every operation also abstracts its inputs and result to the spec, and may raise the spec's
errors (its caps: ``TLR_TENSOR_TOO_LARGE``, ``TLR_ENVIRONMENT``) and RefinementError
(``TLR_REFINEMENT``) besides.
"""

from __future__ import annotations

from typing import Any, Iterator, Optional

import icontract
import numpy as np

from torchlean_runtime.errors import ArgumentTypeError, safe_repr
from torchlean_runtime.spec.core.scalars import Nat
from torchlean_runtime.spec.core.tensor import printCap, printTooLarge

from . import contracts as C
from .arrays import (
    SHARE_MAX_BYTES,
    as_supported_dtype,
    MAX_ELEMENTS,
    check_array,
    check_dtype,
    check_name,
    check_same_dtype,
    check_shape,
    dtype_agrees,
    expose,
    same_bits,
    freeze,
    has_supported_dtype,
    is_array,
    is_name,
    is_shape,
    pretty,
)
from .registry import EMPTY, Registry

_ND = np.ndarray
_SHARE = SHARE_MAX_BYTES  # larger stored arrays are handed out as copies (arrays.expose)

__all__ = ["RuntimeContext"]


# Each public method that builds or changes state has ONE icontract precondition: a total
# predicate stating the facts Lean's types guarantee, whose error factory (contracts.violation)
# re-runs the method's plain check to raise exactly the error the plain check raises under -O.
# The pure queries (get_variable, get_gradient, has_variable) carry none: their only facts (a str
# name, a tuple shape) are exactly their always-on plain checks, and an icontract wrapper would
# cost ~2.4 µs per lookup — ten times the lookup itself — for no extra protection.


def _storable(dtype: Optional[np.dtype], name: Any, value: Any) -> bool:
    """Precondition of storing ``value`` under ``name`` in a context over ``dtype``."""
    if type(value) is np.ndarray and dtype is not None and value.dtype is dtype and type(name) is str and name.isascii():
        return True  # fast path: the common call, decided without the general predicates
    return is_name(name) and is_array(value) and has_supported_dtype(value) and dtype_agrees(dtype, value)


def _check_store(dtype: Optional[np.dtype], name: Any, value: Any, op: str, what: str = "value"):
    """The plain checks of storing ``value``: (name, array, the context's dtype afterwards)."""
    if (type(value) is np.ndarray and dtype is not None and value.dtype is dtype and type(name) is str
            and name.isascii() and 0 < value.size <= MAX_ELEMENTS):
        return name, value, dtype  # fast path: exactly what the general checks below accept (an
        # empty array takes the general path: check_array applies the spec's nested-structure cap)
    name = check_name(name, op)
    arr = check_array(value, op, what)
    return name, arr, check_same_dtype(dtype, arr, op, "the context")


def _check_query(name: Any, shape: Any, op: str) -> None:
    check_name(name, op)
    check_shape(shape, op)


def _entries_to_string(registry: Registry, budget: int, cap: int) -> tuple[str, int]:
    """The registry's part of ``contextToString`` and the budget left; OutputTooLargeError
    (the spec's very error) as soon as the printed context would pass ``cap``."""
    pieces: list[str] = []
    for entry in registry.items():
        budget -= (2 if pieces else 0) + len(entry.name) + 2
        text = None if budget < 0 else pretty(entry.array, budget)
        if text is None:
            raise printTooLarge("contextToString", cap)
        budget -= len(text)
        pieces.append(f"{entry.name}: {text}")
    return ", ".join(pieces), budget


class RuntimeContext:
    """Lean ``Runtime.RuntimeContext α``: a variable registry, a gradient registry, ``next_id``
    and the scalar type ``dtype`` (``None`` until fixed).  Immutable; start from :meth:`empty`."""

    # A dict: each member descriptor's docstring (iteration keeps this order; _SET_* below rely on it).
    __slots__ = {
        "_variables": "Lean ``var_registry``: the variable entries (a ``registry.Registry``), newest first.",
        "_gradients": "Lean ``gradients``: the gradient entries (a ``registry.Registry``), newest first.",
        "next_id": "Lean ``next_id : Nat``: an ``int`` >= 0, starting at 0; only :meth:`register_variable` "
                   "bumps it (by 1).",
        "dtype": "Lean's scalar type ``α``: ``np.dtype('float64')`` (``Float``), ``np.dtype('float32')`` "
                 "(``IEEE32Exec``), ``np.dtype('int64')`` (``Int``), or ``None`` until :meth:`empty` or the "
                 "first array stored fixes it.",
    }

    _variables: Registry
    _gradients: Registry
    next_id: int
    dtype: Optional[np.dtype]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        """Not a constructor: a context is built with :meth:`empty` and its operations.
        Errors: ArgumentTypeError (``TLR_ARGUMENT_TYPE``), always."""
        raise ArgumentTypeError("RuntimeContext is built with RuntimeContext.empty() and its operations")

    @staticmethod
    def _make(variables: Registry, gradients: Registry, next_id: int, dtype: Optional[np.dtype]) -> "RuntimeContext":
        ctx = object.__new__(RuntimeContext)
        _SET_VARIABLES(ctx, variables)  # slot descriptors: cheaper than object.__setattr__ by name
        _SET_GRADIENTS(ctx, gradients)
        _SET_NEXT_ID(ctx, next_id)
        _SET_DTYPE(ctx, dtype)
        return ctx

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("a RuntimeContext is immutable: its operations return a new context")

    def __delattr__(self, name: str) -> None:
        raise AttributeError("a RuntimeContext is immutable")

    def __copy__(self) -> "RuntimeContext":
        return self

    def __deepcopy__(self, memo: dict) -> "RuntimeContext":
        return self

    def __reduce__(self):
        # Plain data only (names and fresh read-only arrays, oldest first): the payload hands out
        # nothing stored, and unpickling re-validates every entry as the public operations do.
        return (_unpickle, ([(e.name, expose(e.array)) for e in reversed(self._variables.items())],
                            [(e.name, expose(e.array)) for e in reversed(self._gradients.items())],
                            self.next_id, None if self.dtype is None else self.dtype.str))

    def __repr__(self) -> str:
        def names(registry: Registry) -> str:
            shown = registry.first_names(4)
            more = ", …" if registry.length > len(shown) else ""
            return ", ".join(map(repr, shown)) + more

        dtype = "None" if self.dtype is None else str(self.dtype)
        return (
            f"<RuntimeContext vars={self._variables.length} [{names(self._variables)}] "
            f"grads={self._gradients.length} [{names(self._gradients)}] next_id={self.next_id} dtype={dtype}>"
        )

    # -- equality and reading the entries (not Lean definitions; see issue 12) --------------------

    def __eq__(self, other: object) -> bool:
        """Equal as the spec's ``RuntimeContext`` values are (a derived structural equality):
        the same entries in the same order in both registries (names, shapes, and tensors
        bit for bit — ``-0.0`` differs from ``0.0``, a NaN equals a NaN with the same bits),
        the same ``next_id`` and the same scalar type.  O(size of both contexts).  Any other
        ``other``: ``NotImplemented``.  Errors: none (stored arrays are compared through their
        immutable bytes, without a copy)."""
        if not isinstance(other, RuntimeContext):
            return NotImplemented
        if self is other:
            return True
        return (
            self.next_id == other.next_id
            and self.dtype is other.dtype
            and _same_entries(self._variables, other._variables)
            and _same_entries(self._gradients, other._gradients)
        )

    def __hash__(self) -> int:
        """Consistent with ``==`` (contexts are immutable): next_id, scalar type and the names in
        order.  O(number of entries).  Errors: none."""
        return hash((self.next_id, None if self.dtype is None else self.dtype.str,
                     tuple(self._variables.names()), tuple(self._gradients.names())))

    def variable_entries(self) -> Iterator[tuple[str, np.ndarray]]:
        """Every variable entry as ``(name, array)`` in Lean list order: newest first, shadowed
        older entries with the same name included (the spec's ``var_registry``).  Each array is
        a fresh read-only array of the stored bits, of its stored shape and the context's dtype
        (as :meth:`get_variable`).  O(n) for the whole walk.  Errors, while iterating:
        TensorTooLargeError (``TLR_TENSOR_TOO_LARGE``) when there is no memory to copy an array
        above ``arrays.SHARE_MAX_BYTES``."""
        return _walk(self._variables)

    def gradient_entries(self) -> Iterator[tuple[str, np.ndarray]]:
        """Every gradient entry as ``(name, array)``, newest first, shadowed ones included (as
        :meth:`variable_entries`).  Errors, while iterating: TensorTooLargeError
        (``TLR_TENSOR_TOO_LARGE``) when there is no memory to copy an array out."""
        return _walk(self._gradients)

    def visible_variables(self) -> dict[str, np.ndarray]:
        """A new plain ``dict`` name → array of the entries ``get_variable`` can see: the newest
        entry per name (Lean ``find?``).  Insertion order is list order (newest first).
        Changing the dict changes nothing stored.  O(n).  Errors: TensorTooLargeError
        (``TLR_TENSOR_TOO_LARGE``) when there is no memory to copy an array above
        ``arrays.SHARE_MAX_BYTES`` out."""
        return _visible(self._variables)

    def visible_gradients(self) -> dict[str, np.ndarray]:
        """As :meth:`visible_variables`, for the gradients.  Errors: TensorTooLargeError
        (``TLR_TENSOR_TOO_LARGE``) when there is no memory to copy an array out."""
        return _visible(self._gradients)

    # -- Lean definitions -----------------------------------------------------------------------

    @staticmethod
    @C.refines(C.empty_refines)
    @icontract.require(
        lambda dtype: dtype is None or as_supported_dtype(dtype) is not None,
        "dtype is None or one of float64, float32, int64",
        error=lambda dtype: C.violation(lambda: check_dtype(dtype, "empty")),
    )
    def empty(dtype: Any = None) -> "RuntimeContext":
        """Lean ``Runtime.emptyContext``: both registries empty, ``next_id = 0``.  ``dtype`` is
        Lean's implicit ``α``: ``None`` (fixed by the first array stored) or anything
        ``np.dtype`` reads as float64, float32 or int64 in native byte order.
        Errors: ScalarTypeError (``TLR_SCALAR_TYPE``) for any other ``dtype``."""
        return _EMPTY if dtype is None else RuntimeContext._make(EMPTY, EMPTY, 0, check_dtype(dtype, "empty"))

    @C.refines(C.register_variable_refines)
    @icontract.require(
        lambda self, name, value: _storable(self.dtype, name, value),
        "name is a str; value is a numpy array of dtype float64/float32/int64, the context's dtype once fixed",
        error=lambda self, name, value: C.violation(lambda: _check_store(self.dtype, name, value, "register_variable")),
    )
    def register_variable(self, name: str, value: np.ndarray) -> "RuntimeContext":
        """Lean ``Runtime.registerVariable``: prepend ``(name, value)``; ``next_id + 1``.
        ``value``: a numpy array (or numpy scalar, as 0-d) of any shape and memory layout, copied
        into private read-only memory; its dtype fixes the context's if not fixed yet.
        Errors: NameTypeError (``TLR_NAME_TYPE``): ``name`` not a Lean ``String``
        (not a ``str``, or a lone surrogate).  For ``value``: ArgumentTypeError
        (``TLR_ARGUMENT_TYPE``) not a numpy array (nor is a masked array or ``np.matrix``);
        ScalarTypeError (``TLR_SCALAR_TYPE``) not float64/float32/int64 in native byte order;
        ScalarTypeMismatchError (``TLR_SCALAR_MISMATCH``) not the context's dtype;
        TensorTooLargeError (``TLR_TENSOR_TOO_LARGE``) above ``arrays.MAX_ELEMENTS`` (2**31)
        elements, an empty shape above the spec's nested-structure cap, or no memory for the
        copy; EnvironmentConfigError (``TLR_ENVIRONMENT``) malformed
        ``TORCHLEAN_RT_SPEC_MAX_ELEMENTS`` (read by an empty array's check)."""
        name, arr, dtype = _check_store(self.dtype, name, value, "register_variable")
        arr = freeze(arr)
        return RuntimeContext._make(self._variables.register(name, arr), self._gradients, self.next_id + 1, dtype)

    def _register_stored(self, name: str, stored: np.ndarray, gradient: bool) -> "RuntimeContext":
        """``registerVariable`` (``gradient=False``: ``next_id + 1``) or ``registerGradient`` of a
        name and an array the impl already stores — a Variable's own, checked and frozen when it
        was stored — into a context whose dtype the caller has checked: no check, no copy (an
        empty value is not re-measured against a cap lowered since).  For
        ``Variable.register_in_context`` / ``register_gradient_in_context``."""
        dtype = stored.dtype if self.dtype is None else self.dtype
        if gradient:
            return RuntimeContext._make(self._variables, self._gradients.register(name, stored), self.next_id, dtype)
        return RuntimeContext._make(self._variables.register(name, stored), self._gradients, self.next_id + 1, dtype)

    @C.shape_read_once
    @C.refines(C.get_variable_refines)
    def get_variable(self, name: str, shape: tuple[int, ...]) -> Optional[np.ndarray]:
        """Lean ``Runtime.getVariable`` at ``shape`` (any sequence of ints): the newest entry named
        ``name`` if its shape is ``shape``, else ``None``.  The array is fresh and read-only, over
        the stored bits up to ``arrays.SHARE_MAX_BYTES`` and over a copy of them above (see
        :func:`arrays.expose`): nothing done to it changes the context; its dtype is the
        context's.  Errors: NameTypeError (``TLR_NAME_TYPE``) for a ``name`` that is not a Lean
        ``String``; InvalidShapeError (``TLR_INVALID_SHAPE``) for a ``shape`` that is not a
        sequence of at most 64 non-negative ints; TensorTooLargeError
        (``TLR_TENSOR_TOO_LARGE``) when there is no memory to copy the array out."""
        if type(name) is not str or not name.isascii():
            name = check_name(name, "get_variable")
        shape = check_shape(shape, "get_variable")
        found = self._variables.lookup(name, shape)
        # expose(), inlined for small arrays; the header takes the query's shape tuple: lookup found an
        # array of exactly that shape, and reading found.shape would build one more tuple
        return None if found is None else (_ND(shape, found.dtype, found.base) if found.nbytes <= _SHARE else expose(found))

    @C.refines(C.set_variable_refines)
    @icontract.require(
        lambda self, name, value: _storable(self.dtype, name, value),
        "name is a str; value is a numpy array of dtype float64/float32/int64, the context's dtype once fixed",
        error=lambda self, name, value: C.violation(lambda: _check_store(self.dtype, name, value, "set_variable")),
    )
    def set_variable(self, name: str, value: np.ndarray) -> "RuntimeContext":
        """Lean ``Runtime.setVariable``: every entry named ``name`` becomes ``value`` (at
        ``value``'s shape, which may differ from the old one); an absent name changes no entry;
        ``next_id`` unchanged.  ``value`` is checked, and fixes the context's dtype, even when
        the name is absent (as in the spec).
        Errors, as :meth:`register_variable`'s: NameTypeError
        (``TLR_NAME_TYPE``), ArgumentTypeError (``TLR_ARGUMENT_TYPE``), ScalarTypeError
        (``TLR_SCALAR_TYPE``), ScalarTypeMismatchError (``TLR_SCALAR_MISMATCH``),
        TensorTooLargeError (``TLR_TENSOR_TOO_LARGE``), EnvironmentConfigError
        (``TLR_ENVIRONMENT``)."""
        name, arr, dtype = _check_store(self.dtype, name, value, "set_variable")
        if not self._variables.has(name):
            return self if dtype is self.dtype else RuntimeContext._make(self._variables, self._gradients, self.next_id, dtype)
        arr = freeze(arr)
        return RuntimeContext._make(self._variables.set_all(name, arr), self._gradients, self.next_id, dtype)

    @C.refines(C.register_gradient_refines)
    @icontract.require(
        lambda self, name, grad: _storable(self.dtype, name, grad),
        "name is a str; grad is a numpy array of dtype float64/float32/int64, the context's dtype once fixed",
        error=lambda self, name, grad: C.violation(lambda: _check_store(self.dtype, name, grad, "register_gradient", "grad")),
    )
    def register_gradient(self, name: str, grad: np.ndarray) -> "RuntimeContext":
        """Lean ``Runtime.registerGradient``: prepend ``(name, grad)``; ``next_id`` NOT changed.
        ``grad``: as :meth:`register_variable`'s ``value`` (any shape; no variable of that name
        is needed).
        Errors, as :meth:`register_variable`'s (for ``grad``): NameTypeError
        (``TLR_NAME_TYPE``), ArgumentTypeError (``TLR_ARGUMENT_TYPE``), ScalarTypeError
        (``TLR_SCALAR_TYPE``), ScalarTypeMismatchError (``TLR_SCALAR_MISMATCH``),
        TensorTooLargeError (``TLR_TENSOR_TOO_LARGE``), EnvironmentConfigError
        (``TLR_ENVIRONMENT``)."""
        name, arr, dtype = _check_store(self.dtype, name, grad, "register_gradient", "grad")
        arr = freeze(arr)
        return RuntimeContext._make(self._variables, self._gradients.register(name, arr), self.next_id, dtype)

    @C.shape_read_once
    @C.refines(C.get_gradient_refines)
    def get_gradient(self, name: str, shape: tuple[int, ...]) -> Optional[np.ndarray]:
        """Lean ``Runtime.getGradient``: as :meth:`get_variable` on the gradients.
        Errors: NameTypeError (``TLR_NAME_TYPE``), InvalidShapeError (``TLR_INVALID_SHAPE``);
        TensorTooLargeError (``TLR_TENSOR_TOO_LARGE``) when there is no memory to copy the
        array out."""
        if type(name) is not str or not name.isascii():
            name = check_name(name, "get_gradient")
        shape = check_shape(shape, "get_gradient")
        found = self._gradients.lookup(name, shape)
        # expose(), inlined for small arrays; the header takes the query's shape tuple: lookup found an
        # array of exactly that shape, and reading found.shape would build one more tuple
        return None if found is None else (_ND(shape, found.dtype, found.base) if found.nbytes <= _SHARE else expose(found))

    @C.refines(C.set_gradient_refines)
    @icontract.require(
        lambda self, name, grad: _storable(self.dtype, name, grad),
        "name is a str; grad is a numpy array of dtype float64/float32/int64, the context's dtype once fixed",
        error=lambda self, name, grad: C.violation(lambda: _check_store(self.dtype, name, grad, "set_gradient", "grad")),
    )
    def set_gradient(self, name: str, grad: np.ndarray) -> "RuntimeContext":
        """Lean ``Runtime.setGradient``: as :meth:`set_variable` on the gradients (every entry
        named ``name`` becomes ``grad``; ``grad`` is checked and fixes the dtype even when the
        name is absent).
        Errors, as :meth:`register_variable`'s (for ``grad``): NameTypeError
        (``TLR_NAME_TYPE``), ArgumentTypeError (``TLR_ARGUMENT_TYPE``), ScalarTypeError
        (``TLR_SCALAR_TYPE``), ScalarTypeMismatchError (``TLR_SCALAR_MISMATCH``),
        TensorTooLargeError (``TLR_TENSOR_TOO_LARGE``), EnvironmentConfigError
        (``TLR_ENVIRONMENT``)."""
        name, arr, dtype = _check_store(self.dtype, name, grad, "set_gradient", "grad")
        if not self._gradients.has(name):
            return self if dtype is self.dtype else RuntimeContext._make(self._variables, self._gradients, self.next_id, dtype)
        arr = freeze(arr)
        return RuntimeContext._make(self._variables, self._gradients.set_all(name, arr), self.next_id, dtype)

    @C.refines(C.clear_gradients_refines)
    def clear_gradients(self) -> "RuntimeContext":
        """Lean ``Runtime.clearGradients``: no gradients; variables, ``next_id``, dtype kept.
        Errors: none."""
        return RuntimeContext._make(self._variables, EMPTY, self.next_id, self.dtype)

    @C.refines(C.has_variable_refines)
    def has_variable(self, name: str) -> bool:
        """Lean ``Runtime.hasVariable``: some entry has this name (shape ignored).
        Errors: NameTypeError (``TLR_NAME_TYPE``) for a ``name`` that is not a Lean ``String``."""
        if type(name) is not str or not name.isascii():
            name = check_name(name, "has_variable")
        return self._variables.has(name)

    @C.refines(C.variable_names_refines)
    def variable_names(self) -> list[str]:
        """Lean ``Runtime.variableNames``: a new ``list[str]``, newest first, duplicates
        included.  Errors: none."""
        return self._variables.names()

    @C.refines(C.gradient_names_refines)
    def gradient_names(self) -> list[str]:
        """Lean ``Runtime.gradientNames``: a new ``list[str]``, newest first, duplicates
        included.  Errors: none."""
        return self._gradients.names()

    @C.refines(C.context_size_refines)
    def context_size(self) -> int:
        """Lean ``Runtime.contextSize``: number of variable entries (duplicates counted), an
        ``int``.  Errors: none."""
        return self._variables.length

    @C.refines(C.gradient_count_refines)
    def gradient_count(self) -> int:
        """Lean ``Runtime.gradientCount``: number of gradient entries (duplicates counted), an
        ``int``.  Errors: none."""
        return self._gradients.length

    @C.refines(C.is_valid_context_refines)
    def is_valid_context(self) -> bool:
        """Lean ``Runtime.isValidContext``: every gradient's name is a variable's name (a
        ``bool``).  Errors: none."""
        return self._gradients.all_names_in(self._variables)

    @C.refines(C.context_to_string_refines)
    def to_lean_string(self) -> str:
        """Lean ``Runtime.contextToString``, character for character.  Errors:
        OutputTooLargeError (``TLR_OUTPUT_TOO_LARGE``) when longer than
        ``spec.core.tensor.printCap()`` characters (default 2**26;
        ``TORCHLEAN_RT_MAX_PRINT_CHARS``), refused before it is built; EnvironmentConfigError
        (``TLR_ENVIRONMENT``) when that variable is malformed (read on first use);
        TensorTooLargeError (``TLR_TENSOR_TOO_LARGE``) when memory runs out while it is built."""
        cap = printCap()
        variables, budget = _entries_to_string(self._variables, cap - len("Context(vars: [], grads: [])"), cap)
        gradients, _ = _entries_to_string(self._gradients, budget, cap)
        return f"Context(vars: [{variables}], grads: [{gradients}])"


_SET_VARIABLES, _SET_GRADIENTS, _SET_NEXT_ID, _SET_DTYPE = (
    RuntimeContext.__dict__[slot].__set__ for slot in RuntimeContext.__slots__)
C.install_fast_preconditions(RuntimeContext)

_EMPTY = RuntimeContext._make(EMPTY, EMPTY, 0, None)


def _walk(registry: Registry) -> Iterator[tuple[str, np.ndarray]]:
    for entry in registry.items():
        yield entry.name, expose(entry.array)


def _visible(registry: Registry) -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {}
    for entry in registry.items():
        if entry.name not in out:
            out[entry.name] = expose(entry.array)
    return out


def _same_entries(a: Registry, b: Registry) -> bool:
    if a is b:
        return True
    if a.length != b.length:
        return False
    for x, y in zip(a.items(), b.items()):
        if x.name != y.name or x.shape != y.shape or not same_bits(x.array, y.array):
            return False
    return True


def _unpickle(variables: list, gradients: list, next_id: int, dtype: Optional[str]) -> RuntimeContext:
    """Rebuild a pickled context; a pickle may come from anyone, so every entry passes the plain
    checks of ``register_*`` (names, arrays, one scalar type) and ``next_id`` must be a Nat."""
    fixed = check_dtype(dtype, "unpickle")
    nat = Nat.canonical(next_id)  # the exact int value (an int subclass's overrides never count)
    if nat is None:
        raise ArgumentTypeError(f"unpickle: next_id must be a Nat, given {safe_repr(next_id)}")
    registries = []
    for entries in (variables, gradients):
        if type(entries) not in (list, tuple):
            raise ArgumentTypeError(f"unpickle: entries must be a list of (name, array) pairs, given {type(entries).__name__}")
        registry = EMPTY
        for entry in entries:
            if type(entry) not in (list, tuple) or len(entry) != 2:
                raise ArgumentTypeError(f"unpickle: an entry must be a (name, array) pair, given {type(entry).__name__}"
                                        f"{'' if type(entry) not in (list, tuple) else f' of length {len(entry)}'}")
            name, value = entry
            name, arr, fixed = _check_store(fixed, name, value, "unpickle")
            arr = freeze(arr)
            registry = registry.register(name, arr)
        registries.append(registry)
    if dtype is None and fixed is not None:
        raise ArgumentTypeError("unpickle: entries are present but no scalar type was pickled")
    return RuntimeContext._make(registries[0], registries[1], nat, fixed)
