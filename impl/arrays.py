"""The array boundary of the impl: dtype ↔ Lean scalar type, the cheap always-on input checks,
copy-into-immutable-memory, and Lean printing of arrays.

Storage (see "storage: immutable bytes" below): every array the impl stores is a private
read-only header over an immutable ``bytes`` object, never handed out; every access hands out a
fresh read-only header (:func:`expose`) over the same bytes up to :data:`SHARE_MAX_BYTES`, over a
fresh copy above.  numpy refuses write access to memory a ``bytes`` object owns — except that its
``__setstate__`` takes a bytes object of more than 1000 bytes by reference and marks the array
writeable, hence the limit — and a fresh header per access means that rewriting a received
array's metadata (``dtype``, ``shape``, ``strides``, ``__setstate__``) changes only the caller's
object.  An incoming array whose memory is a whole ``bytes`` object of at most
:data:`SHARE_MAX_BYTES` (every small array the impl hands out) is adopted without a copy;
anything else is copied.  ndarray subclasses are read through numpy's
C-level metadata (:func:`exact`), never through methods they can override.

Checks here are plain code (no icontract), cheap enough to run on every call; they raise the
project's typed errors before any state is built.  The ``is_*`` predicates are total (never
raise) so the icontract preconditions in ``context.py`` / ``variable.py`` can reuse them.
"""

from __future__ import annotations

import ctypes
import functools
import operator
import sys
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
    TensorTooLargeError,
    safe_repr,
)
from torchlean_runtime.spec.core.scalars import Float, IEEE32Exec, Int, ScalarType, checkFloatEnvironment, floatToString
from torchlean_runtime.spec.core.shape import MAX_RANK, ofList
from torchlean_runtime.spec.core.tensor import checkCap, structureChars
from torchlean_runtime.spec.core.string import checkLeanString, isLeanString

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
    "check_structure",
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
    "SHARE_MAX_BYTES",
    "same_bits",
    "exact",
    "dtype_of",
    "shape_of",
    "MAX_ELEMENTS",
    "check_float_environment",
    "result_buffer",
    "fp_quiet",
    "fp_restore",
    "publish",
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
    """A name is a Lean ``String``: a ``str`` without lone surrogates (``spec.core.string``)."""
    if type(name) is str and name.isascii():
        return True
    return isLeanString(name)


def _shape_items(shape: Any) -> Optional[tuple]:
    """The items of a shape given as a sequence (tuple, list, range, any ``Sequence`` but text),
    bounded by MAX_RANK before iterating; ``None`` if it is not such a sequence."""
    if type(shape) is tuple:
        items = shape
    elif isinstance(shape, (str, bytes, bytearray, memoryview)) or not isinstance(shape, Sequence):
        return None
    else:
        try:
            n = len(shape)  # read ONCE: a hostile __len__ may answer 1, then 10**12
            if n > MAX_RANK:
                return None
            items = tuple(shape[i] for i in range(n))
        except Exception:  # a hostile Sequence: not a shape
            return None
    return items if len(items) <= MAX_RANK else None


def _shape_dims(shape: Any) -> Optional[tuple[int, ...]]:
    """The dimensions of a shape as plain ``int``s, each item's ``__index__`` called exactly
    once (a hostile ``__index__`` that raises, returns a non-int, or answers differently on a
    second call cannot slip past the check); ``None`` when it is not a shape."""
    items = _shape_items(shape)
    if items is None:
        return None
    dims = []
    for d in items:
        if type(d) is int:
            i = d
        elif isinstance(d, bool) or not hasattr(type(d), "__index__"):
            return None
        else:
            try:
                i = int.__index__(operator.index(d))  # as spec checkDim: the returned int's own value
            except Exception:  # a hostile __index__: not a dimension
                return None
        if i < 0:
            return None
        dims.append(i)
    return tuple(dims)


def is_shape(shape: Any) -> bool:
    """A shape is a sequence (Lean ``Shape.ofList`` of a list) of at most MAX_RANK
    non-negative ints (``bool`` is not an int here)."""
    return _shape_dims(shape) is not None


def exact(value: Any) -> Optional[np.ndarray]:
    """``value`` as an exact base-class ``np.ndarray`` without calling anything its class can
    override, or ``None`` when it is no array: an ndarray subclass becomes a base-class view
    (read through numpy's C-level dtype/shape/strides, so a lying ``dtype``/``shape``/``flags``
    property or an ``__array_ufunc__`` is never consulted); a numpy scalar a 0-d array.  Masked
    arrays and ``np.matrix`` are refused: a plain copy would silently drop their semantics."""
    t = type(value)
    if t is np.ndarray:
        return value
    if issubclass(t, np.ndarray):
        if issubclass(t, (np.ma.MaskedArray, np.matrix)):
            return None
        return _VIEW(value, np.ndarray)
    if issubclass(t, np.generic):
        return _ARRAY(value)
    return None


def is_array(value: Any) -> bool:
    """A value is a numpy array (or numpy scalar, taken as a 0-d array); masked arrays and
    ``np.matrix`` are refused (see :func:`exact`).  Decided on ``type(value)`` only."""
    t = type(value)
    if t is np.ndarray:
        return True
    if issubclass(t, np.ndarray):
        return not issubclass(t, (np.ma.MaskedArray, np.matrix))
    return issubclass(t, np.generic)


def dtype_of(value: Any) -> np.dtype:
    """The true dtype of an array value (see :func:`exact`)."""
    return value.dtype if type(value) is np.ndarray else exact(value).dtype  # type: ignore[union-attr]


def shape_of(value: Any) -> tuple[int, ...]:
    """The true shape of an array value (see :func:`exact`)."""
    return value.shape if type(value) is np.ndarray else exact(value).shape  # type: ignore[union-attr]


def has_supported_dtype(value: Any) -> bool:
    """float64 (Lean Float), float32 (IEEE32Exec) or int64 (Int), native byte order.
    True for non-arrays, so that only :func:`is_array` reports those."""
    return not is_array(value) or dtype_of(value) in _CANONICAL


def has_context_instance(dtype: Any) -> bool:
    """Lean has ``Context α`` for Float and IEEE32Exec, not for Int."""
    return dtype in _HAS_CONTEXT


def dtype_agrees(expected: Optional[np.dtype], value: Any) -> bool:
    """``value`` is over the scalar type ``expected`` (``None``: not fixed yet, anything goes).
    True for values that are not supported arrays, so only the earlier predicates report those."""
    if expected is None or not is_array(value):
        return True
    dtype = dtype_of(value)
    return dtype not in _CANONICAL or _CANONICAL[dtype] is expected


# --- plain checks: raise the typed error, return the canonical value -------------------------


def check_name(name: Any, op: str, what: str = "a name") -> str:
    """The exact ``str`` for a Lean ``String`` (a ``str`` subclass is normalised, so its own
    ``__eq__`` cannot matter); NameTypeError (``TLR_NAME_TYPE``) otherwise, as the spec."""
    if type(name) is str and name.isascii():
        return name
    return checkLeanString(name, op, what)


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
    dims = _shape_dims(shape)
    if dims is None:
        raise InvalidShapeError(
            f"{op}: a shape must be a sequence (tuple or list) of non-negative ints (at most {MAX_RANK} of them), "
            f"given {type(shape).__name__} {safe_repr(shape)}"
        )
    return dims


def check_array(value: Any, op: str, what: str = "value") -> np.ndarray:
    """``value`` as an exact base-class ndarray (:func:`exact`; no copy) of a supported dtype and
    at most MAX_ELEMENTS elements.  ArgumentTypeError (``TLR_ARGUMENT_TYPE``), ScalarTypeError
    (``TLR_SCALAR_TYPE``), TensorTooLargeError (``TLR_TENSOR_TOO_LARGE``) — checked before any
    copy is allocated (a broadcast view may claim 10^12 elements over 8 bytes)."""
    arr = value if type(value) is np.ndarray else exact(value)
    if arr is None:
        raise ArgumentTypeError(
            f"{op}: {what} must be a numpy array of dtype float64, float32 or int64, given "
            f"{type(value).__name__} (wrap Python numbers with np.float64(x) / np.asarray(x, dtype=...))"
        )
    if arr.dtype not in _CANONICAL:
        order = " (non-native byte order)" if arr.dtype.byteorder not in "=|" else ""
        raise ScalarTypeError(
            f"{op}: {what} has dtype {arr.dtype}{order}; supported: float64 (Lean Float), "
            "float32 (IEEE32Exec), int64 (Int) — convert explicitly, nothing is converted silently"
        )
    if arr.size > MAX_ELEMENTS:
        raise TensorTooLargeError(
            f"{op}: {what} has {arr.size} elements (shape {arr.shape}), above the impl's cap MAX_ELEMENTS={MAX_ELEMENTS}"
        )
    if not arr.size:
        check_structure(arr.shape, op, what)
    return arr


def check_structure(shape: tuple[int, ...], op: str, what: str = "value") -> None:
    """The spec's nested-structure cap on an EMPTY array's shape, applied by the spec's own
    function (``spec.core.tensor.checkCap``: same quantity — the nested sub-tensors ``1 + d0 +
    d0·d1 + …`` —, same cap from ``elementCap()``/``setElementCap``/TORCHLEAN_RT_SPEC_MAX_ELEMENTS,
    same TensorTooLargeError, ``TLR_TENSOR_TOO_LARGE``), so spec and impl refuse exactly the same
    empty shapes, e.g. ``(10**6, 10**6, 0)``.  O(rank).

    Only empty arrays need it: a non-empty array of n elements has at most ``1 + MAX_RANK·n``
    sub-tensors, so for n within ``elementCap()`` the spec's node cap never refuses it, and
    larger ones are governed by the element caps (the spec's ``elementCap()``, the impl's
    MAX_ELEMENTS).  Called by :func:`check_array` (every path that accepts an array, before any
    other check of its contents) and by :func:`freeze` (every path that stores one)."""
    try:
        checkCap(ofList(shape))
    except TensorTooLargeError as exc:
        raise TensorTooLargeError(f"{op}: {what}: {exc.message}") from None


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
    except Exception:  # not a dtype; numpy may also call a hostile __repr__ or attribute of it
        return None


def check_dtype(dtype: Any, op: str) -> Optional[np.dtype]:
    """``None`` (scalar type not fixed yet) or a supported dtype, canonical."""
    if dtype is None:
        return None
    canonical = as_supported_dtype(dtype)
    if canonical is None:
        raise ScalarTypeError(f"{op}: dtype must be float64, float32 or int64 (or None), given {safe_repr(dtype)}")
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


def check_same_shape(expected: tuple[int, ...], arr: np.ndarray, op: str, what: str = "an array") -> None:
    """ShapeMismatchError (``TLR_SHAPE_MISMATCH``) unless ``arr`` (``what``, named in the
    message) has the variable's shape ``expected``."""
    if arr.shape != expected:
        raise ShapeMismatchError(f"{op}: the variable has shape {expected}, given {what} of shape {arr.shape}")


def check_context_instance(dtype: np.dtype, op: str) -> None:
    if dtype not in _HAS_CONTEXT:
        raise NoContextInstanceError(
            f"{op} needs a Context instance, and Lean has none for {ALPHA_OF_DTYPE[dtype].name} ({dtype})"
        )


# --- numpy's floating-point error mode ------------------------------------------------------------
#
# IEEE results (inf, NaN) are answers here, never errors or warnings, whatever np.seterr the
# caller chose.  ``np.errstate(all="ignore")`` says so but costs ~2 µs per use (it rebuilds its
# mode object each time) — more than a 1,000-element addition.  numpy 2 keeps the mode in a
# ContextVar; setting a prebuilt "ignore" mode there is exactly what errstate does, for ~0.1 µs.
# Where those internals are absent, errstate itself is used.
try:
    from numpy._core._ufunc_config import _extobj_contextvar as _FP_MODE
    from numpy._core._ufunc_config import _make_extobj

    _FP_IGNORE = _make_extobj(all="ignore")
except Exception:  # another numpy layout: the public, slower way
    _FP_MODE = None


def _errstate_quiet() -> Any:
    state = np.errstate(all="ignore")
    state.__enter__()
    return state


def _errstate_restore(token: Any) -> None:
    token.__exit__(None, None, None)


#: ``fp_quiet()``: make numpy ignore floating-point errors in this context; pass its result to
#: ``fp_restore(token)`` to undo it.  With numpy 2's ContextVar these are the ContextVar's own C
#: methods (a Python wrapper around them would double the ~70 ns they cost together).
fp_quiet = functools.partial(_FP_MODE.set, _FP_IGNORE) if _FP_MODE is not None else _errstate_quiet
fp_restore = _FP_MODE.reset if _FP_MODE is not None else _errstate_restore


# --- the floating-point environment ----------------------------------------------------------------


def check_float_environment() -> None:
    """Refuse to compute when the CPU flushes subnormals (FTZ) or reads them as zero (DAZ) —
    the state a shared library built with ``-ffast-math`` leaves a process in.  Probes Python's
    scalar floats and numpy's float64 and float32 array loops (each may run in other units);
    FloatEnvironmentError (``TLR_FLOAT_ENVIRONMENT``) naming the cause.  About 5 µs: call it
    before a run (``verify`` does); the numeric operations run the cheap scalar probe
    (``spec.core.scalars.checkFloatEnvironment``) on every call."""
    checkFloatEnvironment("check_float_environment")
    with np.errstate(all="ignore"):
        for dtype in (FLOAT64, FLOAT32):
            info = np.finfo(dtype)
            tiny = np.array([info.smallest_normal, info.smallest_subnormal], dtype)
            half = (tiny * dtype.type(0.5))[0]
            plus = (tiny + dtype.type(0))[1]
            if half == 0 or plus == 0:
                cause = "flush-to-zero (FTZ)" if half == 0 else "denormals-are-zero (DAZ)"
                from torchlean_runtime.errors import FloatEnvironmentError

                raise FloatEnvironmentError(
                    f"check_float_environment: numpy's {dtype} loops run with {cause} on, so subnormal results "
                    "would be silently wrong (usually a shared library built with -ffast-math loaded into this "
                    "process; run without it)"
                )


# --- storage: immutable bytes ----------------------------------------------------------------------
#
# Every array the impl stores is a read-only ndarray header over an immutable ``bytes`` object
# (its ``base``); it is never handed out.  A caller gets :func:`expose`'s fresh header over the
# same bytes on every access, so nothing done to what it holds — assigning ``dtype``/``shape``/
# ``strides``, ``__setstate__``, ``resize``, flipping ``writeable`` on it or on its ``.base``
# (numpy refuses write access to memory a ``bytes`` object owns) — reaches the stored header,
# the bytes, or any later answer.

_ND = np.ndarray
_VIEW = np.ndarray.view  # the base-class method: a subclass cannot override what we call
_ARRAY = np.array

#: The impl's cap on the elements of one array it stores (2**31: 16 GiB of float64), checked
#: before anything is copied; above it, TensorTooLargeError (``TLR_TENSOR_TOO_LARGE``).
MAX_ELEMENTS = 1 << 31


def _stored(shape: tuple[int, ...], dtype: np.dtype, data: bytes) -> np.ndarray:
    return _ND(shape, dtype, data)


def _setstate_shares_bytes(nbytes: int) -> bool:
    """Does numpy's ``ndarray.__setstate__`` take a ``bytes`` object of ``nbytes`` bytes by
    reference (instead of copying it)?  It does above 1000 bytes in numpy 1.x-2.4, and marks
    the array WRITEABLE: whoever holds such a bytes object can write into its memory."""
    data = bytes(nbytes)
    probe = np.empty(0, np.uint8)
    probe.__setstate__((1, (nbytes,), np.dtype(np.uint8), False, data))
    return probe.__array_interface__["data"][0] == np.frombuffer(data, np.uint8).__array_interface__["data"][0]


#: The largest ``bytes`` object the impl lets a caller reach (as the ``.base`` of an array it
#: hands out, or adopts from a caller without a copy): numpy's ``__setstate__`` copies these,
#: so a holder cannot turn them into writeable memory.  Larger stored arrays are handed out as
#: read-only COPIES (a fresh ``bytes`` per access: O(n)), and larger caller arrays are copied
#: in.  Probed at import: 0 (every array copied) if this numpy shares even 1000-byte buffers.
SHARE_MAX_BYTES = 1000 if not _setstate_shares_bytes(1000) else 0


def is_frozen(arr: np.ndarray) -> bool:
    """``arr`` is an exact, read-only, C-ordered ndarray that spans exactly the memory of an
    immutable ``bytes`` object of at most :data:`SHARE_MAX_BYTES` bytes — which is all
    :func:`freeze` needs to adopt it without a copy (what the caller may have changed since is
    only the header, and the header is re-read; a larger bytes object its holder could alias
    writeable through ``__setstate__``)."""
    if type(arr) is not np.ndarray or arr.flags.writeable:
        return False
    base = arr.base
    return type(base) is bytes and arr.flags.c_contiguous and arr.nbytes == len(base) <= SHARE_MAX_BYTES


def freeze(arr: np.ndarray) -> np.ndarray:
    """The stored form of an array that passed :func:`check_array`: a private read-only header
    (canonical dtype, ``arr``'s shape) over immutable bytes holding ``arr``'s elements in C order
    — ``arr``'s own bytes when :func:`is_frozen` (no copy), else a copy.  The caller keeps its
    own array and may change it freely.  A MemoryError becomes TensorTooLargeError."""
    if not arr.size:  # what check_array checks, again for paths that bypass it (from_spec, unpickle)
        check_structure(arr.shape, "store")
    dtype = _CANONICAL[arr.dtype]
    if arr.base is not None and is_frozen(arr):  # an array owning its memory is never bytes-backed
        return _ND(arr.shape, dtype, arr.base)
    try:
        return _ND(arr.shape, dtype, arr.tobytes())
    except MemoryError:
        raise _no_memory("store", arr.shape, arr.nbytes) from None


def _no_memory(what: str, shape: tuple[int, ...], nbytes: int) -> TensorTooLargeError:
    """The typed error for a MemoryError while allocating an array's bytes (``TLR_TENSOR_TOO_LARGE``)."""
    return TensorTooLargeError(f"no memory to {what} an array of shape {shape} ({nbytes} bytes)")


def new_buffer(shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    """A writeable scratch array to compute a result into; :func:`seal` it afterwards."""
    return np.empty(shape, dtype)


def seal(buffer: np.ndarray) -> np.ndarray:
    """The stored form of a freshly computed result (its bytes, copied into immutable memory)."""
    return _ND(buffer.shape, _CANONICAL[buffer.dtype], buffer.tobytes())


#: Results of at least this many bytes are computed straight into their immutable memory
#: (:func:`result_buffer`); smaller ones are computed into an array of numpy's and copied.
DIRECT_RESULT_BYTES = 1 << 16


# CPython's PyBytes_FromStringAndSize(NULL, n): a new bytes object whose contents are left for
# the caller to fill (bytes(n) would zero them first: one more pass over the memory).
_PyBytes_FromStringAndSize = ctypes.pythonapi.PyBytes_FromStringAndSize
_PyBytes_FromStringAndSize.restype = ctypes.py_object
_PyBytes_FromStringAndSize.argtypes = (ctypes.c_char_p, ctypes.c_ssize_t)
# PyMemoryView_FromMemory(address, n, PyBUF_WRITE): a writeable memoryview of raw memory.  One C
# call, no new ctypes type: ``(c_char * n).from_address`` creates and caches a type per distinct n
# forever (ctypes' array-type cache), and costs several µs more.
_PyMemoryView_FromMemory = ctypes.pythonapi.PyMemoryView_FromMemory
_PyMemoryView_FromMemory.restype = ctypes.py_object
_PyMemoryView_FromMemory.argtypes = (ctypes.c_void_p, ctypes.c_ssize_t, ctypes.c_int)
_PyBUF_WRITE = 0x200
# Where a bytes object's contents start (offsetof(PyBytesObject, ob_sval)): the size of b"" less
# its one terminating NUL.  Checked against numpy's view of the buffer once, at import.
_BYTES_DATA_OFFSET = sys.getsizeof(b"") - 1


def _uninitialised_bytes(nbytes: int) -> bytes:
    return _PyBytes_FromStringAndSize(None, nbytes)


def _check_bytes_layout() -> None:
    probe = _uninitialised_bytes(DIRECT_RESULT_BYTES)
    if np.frombuffer(probe, np.uint8).ctypes.data != id(probe) + _BYTES_DATA_OFFSET:  # pragma: no cover - not CPython
        raise ImportError("torchlean_runtime.impl needs CPython's bytes layout (contents at id + sizeof(b'') - 1)")


_check_bytes_layout()


def result_buffer(like: np.ndarray) -> tuple[Optional[bytes], np.ndarray]:
    """Memory to compute a result of ``like``'s shape and dtype into (``like``: a stored operand
    of the operation): ``(data, out)``, then :func:`publish` it.  For large results ``data`` is
    a new ``bytes`` object and ``out`` a writeable alias of its memory, so the result is written
    once, in place, with no copy — a second buffer of the same size costs more than the
    arithmetic (and, with the allocator alternating two large blocks, page faults of 25x an
    ``np.add``).  Safe because nobody else holds ``data`` yet (refcount 1, no hash cached, never
    a shared singleton at this size) and ``publish`` drops the alias before ``data`` is
    published; CPython never moves an object.  Small results (below DIRECT_RESULT_BYTES):
    ``(None, None)`` — compute into an array of the caller's own (numpy's fresh result, or
    ``np.empty``), which ``publish(None, it)`` copies; cheaper at that size than a scratch
    buffer handed in.  TensorTooLargeError (``TLR_TENSOR_TOO_LARGE``) when there is no memory."""
    nbytes = like.nbytes
    if nbytes < DIRECT_RESULT_BYTES:
        return None, None
    try:
        data = _uninitialised_bytes(nbytes)
    except MemoryError:
        raise _no_memory("compute", like.shape, nbytes) from None
    return data, _ND(like.shape, like.dtype, _PyMemoryView_FromMemory(id(data) + _BYTES_DATA_OFFSET, nbytes, _PyBUF_WRITE))


def publish(data: Optional[bytes], out: np.ndarray) -> np.ndarray:
    """The stored form of a result computed into :func:`result_buffer`'s ``out`` (the caller
    drops ``out`` afterwards; it is the only writeable alias)."""
    if data is None:  # seal(out), inline: a call less on the small results' path
        return _ND(out.shape, _CANONICAL[out.dtype], out.tobytes())
    return _ND(out.shape, _CANONICAL[out.dtype], data)


def expose(stored: np.ndarray) -> np.ndarray:
    """The array handed to a caller for a stored one, read-only, of the stored shape and dtype:
    a fresh header (never the stored one, whose metadata a holder could rewrite) over the same
    immutable bytes up to :data:`SHARE_MAX_BYTES`, over a fresh copy of them above (numpy's
    ``__setstate__`` would alias a larger bytes object writeable).  TensorTooLargeError
    (``TLR_TENSOR_TOO_LARGE``) when there is no memory for the copy."""
    if stored.nbytes <= SHARE_MAX_BYTES:
        return _ND(stored.shape, stored.dtype, stored.base)
    try:
        return _ND(stored.shape, stored.dtype, stored.tobytes())
    except MemoryError:
        raise _no_memory("hand out", stored.shape, stored.nbytes) from None


def same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    """Same dtype, shape and bytes (the spec's Tensor equality: bitwise on floats).  Two stored
    arrays (each spanning its whole ``bytes`` object, C-ordered) compare their bytes objects:
    no copy.  TensorTooLargeError (``TLR_TENSOR_TOO_LARGE``) if another pair needs copies and
    memory runs out."""
    if a is b:
        return True
    if a.dtype != b.dtype or a.shape != b.shape:
        return False
    da, db = a.base, b.base
    if (type(da) is bytes and type(db) is bytes and len(da) == a.nbytes and len(db) == b.nbytes
            and a.flags.c_contiguous and b.flags.c_contiguous):
        return da == db
    try:
        return a.tobytes() == b.tobytes()
    except MemoryError:
        raise _no_memory("compare", a.shape, a.nbytes) from None


# --- Lean printing --------------------------------------------------------------------------------

# Lean ToString per scalar type.  float32 elements come out of ``tolist`` exactly widened to
# binary64, which is what IEEE32Exec's toString does before calling Float.toString.
_ELEMENT_TO_STRING = {FLOAT64: Float.toString, FLOAT32: floatToString, INT64: Int.toString}


#: Elements formatted per step of :func:`pretty` (bounds its look-ahead past the budget).
PRINT_CHUNK = 1 << 16


def pretty(arr: np.ndarray, budget: int) -> Optional[str]:
    """Lean ``Spec.pretty`` of a tensor, or ``None`` when it would be longer than ``budget``
    characters (decided before it is built: the brackets and separators are counted from the
    shape in O(rank) — ``spec.core.tensor.structureChars`` — then elements are formatted chunk
    by chunk while their length is counted).  A scalar prints as ``toString x``; a dimension as
    ``[`` + the children joined by ``, `` + ``]``, built level by level from the flat row-major
    strings, innermost dimension first; a zero dimension still yields one ``[]`` per outer position.
    TensorTooLargeError (``TLR_TENSOR_TOO_LARGE``) when memory runs out while it is built."""
    try:
        return _pretty(arr, budget)
    except MemoryError:
        raise _no_memory("print", arr.shape, arr.nbytes) from None


def _pretty(arr: np.ndarray, budget: int) -> Optional[str]:
    shape = arr.shape
    remaining = budget - structureChars(shape, budget)
    if remaining < 0:
        return None
    to_string = _ELEMENT_TO_STRING[_CANONICAL[arr.dtype]]
    flat = arr.reshape(-1)
    parts: list[str] = []
    for start in range(0, flat.size, PRINT_CHUNK):
        chunk = list(map(to_string, flat[start:start + PRINT_CHUNK].tolist()))
        remaining -= sum(map(len, chunk))
        if remaining < 0:
            return None
        parts.extend(chunk)
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
