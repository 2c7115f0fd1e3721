"""The array boundary of the impl: dtype ↔ Lean scalar type, the cheap always-on input checks,
copy-and-freeze, and Lean printing of arrays.

Every array the impl stores or hands out is *frozen*: a read-only ``np.ndarray`` view whose
memory belongs to a private owner array (:class:`_FrozenBuffer`) that is itself read-only and
referenced by nobody else.  numpy refuses ``flags.writeable = True`` on a view of a read-only
owner, so a caller can neither write through a returned array nor make it writeable again
(short of reaching into ``.base`` on purpose).  An incoming array is *adopted* without a copy
only when it is already frozen this way (every array the impl hands out is); anything else is
copied.  (Adopting any read-only array that owns its data would not be safe: numpy lets the
owner of an array flip ``writeable`` back to ``True``.)

Checks here are plain code (no icontract), cheap enough to run on every call; they raise the
project's typed errors before any state is built.  The ``is_*`` predicates are total (never
raise) so the icontract preconditions in ``context.py`` / ``variable.py`` can reuse them.
"""

from __future__ import annotations

import operator
from collections.abc import Sequence
from typing import Any, Optional

import numpy as np

from torchlean_runtime.errors import (
    ArgumentTypeError,
    InvalidShapeError,
    NameTypeError,
    NoContextInstanceError,
    ScalarTypeError,
    ScalarTypeMismatchError,
    ShapeMismatchError,
)
from torchlean_runtime.spec.core.scalars import Float, IEEE32Exec, Int, ScalarType, floatToString
from torchlean_runtime.spec.core.shape import MAX_RANK

__all__ = [
    "FLOAT64",
    "FLOAT32",
    "INT64",
    "ALPHA_OF_DTYPE",
    "DTYPE_OF_ALPHA",
    "is_name",
    "is_shape",
    "is_array",
    "has_supported_dtype",
    "has_context_instance",
    "dtype_agrees",
    "check_name",
    "check_shape",
    "check_array",
    "as_supported_dtype",
    "check_dtype",
    "canonical_dtype",
    "check_same_dtype",
    "check_same_shape",
    "check_context_instance",
    "freeze",
    "is_frozen",
    "new_buffer",
    "seal",
    "pretty",
    "dtype_name",
    "expose",
    "same_bits",
]

FLOAT64 = np.dtype(np.float64)
FLOAT32 = np.dtype(np.float32)
INT64 = np.dtype(np.int64)

#: numpy dtype ↔ Lean scalar type ``α`` (the spec's ScalarType objects).
ALPHA_OF_DTYPE: dict[np.dtype, ScalarType] = {FLOAT64: Float, FLOAT32: IEEE32Exec, INT64: Int}
DTYPE_OF_ALPHA: dict[ScalarType, np.dtype] = {alpha: dt for dt, alpha in ALPHA_OF_DTYPE.items()}

# An array's dtype object may be a distinct but equal instance (e.g. after unpickling); map it
# to the canonical one so the rest of the impl can compare dtypes with `is`.  Non-native byte
# orders are not equal to these and are refused.
_CANONICAL: dict[np.dtype, np.dtype] = {dt: dt for dt in ALPHA_OF_DTYPE}
# Lean has a `Context α` instance (needed by accumulateGradient / variableNorm) for these only.
_HAS_CONTEXT = frozenset((FLOAT64, FLOAT32))


def dtype_name(dtype: Optional[np.dtype]) -> str:
    return "None" if dtype is None else str(dtype)


# --- predicates (total; shared by the plain checks and the icontract preconditions) ----------


def is_name(name: Any) -> bool:
    """A name is a ``str`` (Lean ``String``)."""
    return isinstance(name, str)


def _shape_items(shape: Any) -> Optional[tuple]:
    """The items of a shape given as a sequence (tuple, list, range, any ``Sequence`` but text),
    bounded by MAX_RANK before iterating; ``None`` if it is not such a sequence."""
    if type(shape) is tuple:
        items = shape
    elif isinstance(shape, (str, bytes, bytearray, memoryview)) or not isinstance(shape, Sequence):
        return None
    else:
        try:
            if len(shape) > MAX_RANK:
                return None
            items = tuple(shape[i] for i in range(len(shape)))
        except Exception:  # a hostile Sequence: not a shape
            return None
    return items if len(items) <= MAX_RANK else None


def is_shape(shape: Any) -> bool:
    """A shape is a sequence (Lean ``Shape.ofList`` of a list) of at most MAX_RANK
    non-negative ints (``bool`` is not an int here)."""
    items = _shape_items(shape)
    if items is None:
        return False
    for d in items:
        if isinstance(d, bool) or not hasattr(type(d), "__index__") or operator.index(d) < 0:
            return False
    return True


def is_array(value: Any) -> bool:
    """A value is a numpy array (or numpy scalar, taken as a 0-d array); masked arrays and
    ``np.matrix`` are refused because a plain copy would silently drop their semantics."""
    if isinstance(value, np.ndarray):
        return not isinstance(value, (np.ma.MaskedArray, np.matrix))
    return isinstance(value, np.generic)


def has_supported_dtype(value: Any) -> bool:
    """float64 (Lean Float), float32 (IEEE32Exec) or int64 (Int), native byte order.
    True for non-arrays, so that only :func:`is_array` reports those."""
    return not is_array(value) or value.dtype in _CANONICAL


def has_context_instance(dtype: Any) -> bool:
    """Lean has ``Context α`` for Float and IEEE32Exec, not for Int."""
    return dtype in _HAS_CONTEXT


def dtype_agrees(expected: Optional[np.dtype], value: Any) -> bool:
    """``value`` is over the scalar type ``expected`` (``None``: not fixed yet, anything goes).
    True for values that are not supported arrays, so only the earlier predicates report those."""
    if expected is None or not is_array(value) or value.dtype not in _CANONICAL:
        return True
    return _CANONICAL[value.dtype] is expected


# --- plain checks: raise the typed error, return the canonical value -------------------------


def check_name(name: Any, op: str) -> str:
    if type(name) is str:
        return name
    if isinstance(name, str):  # a str subclass: store an exact str so its own __eq__ cannot matter
        return str.__str__(name)
    raise NameTypeError(f"{op}: a name must be a str (Lean String), given {type(name).__name__} {name!r}")


def check_shape(shape: Any, op: str) -> tuple[int, ...]:
    """A shape as a tuple of plain ``int`` dimensions, from any sequence of non-negative ints
    (tuple, list, range...; numpy integers are converted).  InvalidShapeError
    (``TLR_INVALID_SHAPE``) otherwise."""
    if type(shape) is tuple:
        for d in shape:
            if type(d) is not int or d < 0:
                break
        else:
            if len(shape) <= MAX_RANK:
                return shape
    if not is_shape(shape):
        raise InvalidShapeError(
            f"{op}: a shape must be a sequence (tuple or list) of non-negative ints (at most {MAX_RANK} of them), "
            f"given {type(shape).__name__} {shape!r}"
        )
    return tuple(operator.index(d) for d in _shape_items(shape))


def check_array(value: Any, op: str, what: str = "value") -> np.ndarray:
    """``value`` as an ndarray of a supported dtype (no copy; numpy scalars become 0-d arrays)."""
    if type(value) is not np.ndarray:
        if not is_array(value):
            raise ArgumentTypeError(
                f"{op}: {what} must be a numpy array of dtype float64, float32 or int64, given "
                f"{type(value).__name__} (wrap Python numbers with np.float64(x) / np.asarray(x, dtype=...))"
            )
        if isinstance(value, np.generic):
            value = np.asarray(value)
    if value.dtype not in _CANONICAL:
        order = " (non-native byte order)" if value.dtype.byteorder not in "=|" else ""
        raise ScalarTypeError(
            f"{op}: {what} has dtype {value.dtype}{order}; supported: float64 (Lean Float), "
            "float32 (IEEE32Exec), int64 (Int) — convert explicitly, nothing is converted silently"
        )
    return value


def canonical_dtype(arr: np.ndarray) -> np.dtype:
    """The canonical dtype object of an array that passed :func:`check_array`."""
    return _CANONICAL[arr.dtype]


def as_supported_dtype(dtype: Any) -> Optional[np.dtype]:
    """The canonical dtype named by ``dtype`` (np.float64, "float32", np.dtype(...)), or None if
    it names none of the supported ones.  ``None`` itself names nothing (numpy would read it as
    float64)."""
    if dtype is None:
        return None
    try:
        return _CANONICAL.get(np.dtype(dtype))
    except (TypeError, ValueError):
        return None


def check_dtype(dtype: Any, op: str) -> Optional[np.dtype]:
    """``None`` (scalar type not fixed yet) or a supported dtype, canonical."""
    if dtype is None:
        return None
    canonical = as_supported_dtype(dtype)
    if canonical is None:
        raise ScalarTypeError(f"{op}: dtype must be float64, float32 or int64 (or None), given {dtype!r}")
    return canonical


def check_same_dtype(expected: Optional[np.dtype], arr: np.ndarray, op: str, holder: str) -> np.dtype:
    """The scalar type after storing ``arr`` where ``expected`` is fixed (Lean has one ``α``)."""
    dtype = _CANONICAL[arr.dtype]
    if expected is not None and dtype is not expected:
        raise ScalarTypeMismatchError(
            f"{op}: {holder} holds {expected} values, given a {dtype} array (Lean has one scalar type α; "
            "convert explicitly)"
        )
    return dtype


def check_same_shape(expected: tuple[int, ...], arr: np.ndarray, op: str) -> None:
    if arr.shape != expected:
        raise ShapeMismatchError(f"{op}: the variable has shape {expected}, given an array of shape {arr.shape}")


def check_context_instance(dtype: np.dtype, op: str) -> None:
    if dtype not in _HAS_CONTEXT:
        raise NoContextInstanceError(
            f"{op} needs a Context instance, and Lean has none for {ALPHA_OF_DTYPE[dtype].name} ({dtype})"
        )


# --- freezing -----------------------------------------------------------------------------------


class _FrozenBuffer(np.ndarray):
    """Private owner of the memory of every array the impl stores.  Never handed out: callers
    only ever see plain-ndarray views of it (see the module docstring)."""


def seal(owner: np.ndarray) -> np.ndarray:
    """Make a freshly filled :func:`new_buffer` read-only and return the plain view handed out."""
    owner.flags.writeable = False
    return owner.view(np.ndarray)


def new_buffer(shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    """A writeable private owner to compute a result into; :func:`seal` it afterwards."""
    return np.ndarray.__new__(_FrozenBuffer, shape, dtype)


def is_frozen(arr: np.ndarray) -> bool:
    """``arr`` is read-only and its memory belongs to a private owner (no copy needed)."""
    if arr.flags.writeable:
        return False
    base = arr.base
    while type(base) is np.ndarray:  # views of views (slices, reshapes) of a frozen array
        base = base.base
    return type(base) is _FrozenBuffer


def freeze(arr: np.ndarray) -> np.ndarray:
    """A frozen array with ``arr``'s shape, dtype and bits: ``arr`` itself when already frozen,
    otherwise a C-ordered copy (the caller keeps its own array and may change it freely)."""
    if not arr.flags.writeable and is_frozen(arr):
        return arr
    return seal(np.array(arr.view(_FrozenBuffer), subok=True, order="C"))


def expose(stored: np.ndarray) -> np.ndarray:
    """The array handed to a caller for a stored array."""
    return stored


def same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    """Same dtype, shape and bytes (the spec's Tensor equality: bitwise on floats)."""
    return a is b or (a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes())


# --- Lean printing --------------------------------------------------------------------------------

# Lean ToString per scalar type.  float32 elements come out of ``tolist`` exactly widened to
# binary64, which is what IEEE32Exec's toString does before calling Float.toString.
_ELEMENT_TO_STRING = {FLOAT64: Float.toString, FLOAT32: floatToString, INT64: Int.toString}


def pretty(arr: np.ndarray) -> str:
    """Lean ``Spec.pretty`` of a tensor: a scalar prints as ``toString x``; a dimension as ``[`` +
    the children joined by ``, `` + ``]``.  Built level by level from the flat row-major strings,
    innermost dimension first; a zero dimension still yields one ``[]`` per outer position."""
    to_string = _ELEMENT_TO_STRING[_CANONICAL[arr.dtype]]
    shape = arr.shape
    parts = list(map(to_string, arr.reshape(-1).tolist()))
    for level in range(len(shape) - 1, -1, -1):
        n = shape[level]
        groups = 1
        for d in shape[:level]:
            groups *= d
        if n == 0:
            parts = ["[]"] * groups
        else:
            parts = ["[" + ", ".join(parts[i * n:(i + 1) * n]) + "]" for i in range(groups)]
    return parts[0]
