"""Tensors and scalars as raw IEEE-754 bit patterns — the value encoding of ``torchlean.runtime.v1``.

A tensor is ``{"shape": [d1, ...], "dtype": ..., "bits": ["<decimal>", ...]}``: the elements in
row-major order (outermost index first), each written as the DECIMAL STRING of its unsigned bit
pattern.  This follows TorchLean's exact checkpoint convention ``torchlean_paramlist_bits_v1``
(lean-semantics.md §7: shape + one bit pattern per element, row-major), with two changes: the
bit patterns are strings (JSON numbers above 2^53 are not exact in most JSON libraries) and
the element type is named, since a trace may hold binary32 and integer tensors too.

=========  ==============  ===================================================================
dtype      Lean ``α``      ``bits``
=========  ==============  ===================================================================
float64    ``Float``       the binary64 pattern, ``0 .. 2^64-1``
float32    ``IEEE32Exec``  the binary32 pattern, ``0 .. 2^32-1``
int64      ``Int``         the two's-complement pattern of a value in ``-2^63 .. 2^63-1``
=========  ==============  ===================================================================

Decimal floats are never used: they lose ``-0.0``, NaN payloads and, in careless printers, the
last bit.  :class:`TensorBits` is the neutral in-memory form; it converts to a spec
:class:`~torchlean_runtime.spec.core.tensor.Tensor` and to a numpy array without ever passing a
value through decimal text or float arithmetic, so NaN payloads (signalling ones included)
survive every conversion.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from torchlean_runtime.errors import TraceFormatError
from torchlean_runtime.spec.core.scalars import Float, IEEE32Exec, Int, ScalarType
from torchlean_runtime.spec.core.shape import MAX_RANK, ofList, toList
from torchlean_runtime.spec.core.tensor import Tensor, elements

__all__ = [
    "DTYPES",
    "DTYPE_OF_SCALAR_TYPE",
    "SCALAR_TYPE_OF_DTYPE",
    "TensorBits",
    "ScalarBits",
    "describe_element",
    "dims_size",
    "check_shape",
]


@dataclass(frozen=True)
class _DType:
    name: str  # the format's dtype name
    alpha: ScalarType  # the Lean scalar type it stands for
    value_dtype: np.dtype  # numpy value dtype
    bits_dtype: np.dtype  # numpy unsigned dtype of the same width
    width: int  # bits per element


DTYPES: dict[str, _DType] = {
    "float64": _DType("float64", Float, np.dtype(np.float64), np.dtype(np.uint64), 64),
    "float32": _DType("float32", IEEE32Exec, np.dtype(np.float32), np.dtype(np.uint32), 32),
    "int64": _DType("int64", Int, np.dtype(np.int64), np.dtype(np.uint64), 64),
}
SCALAR_TYPE_OF_DTYPE: dict[str, str] = {name: d.alpha.name for name, d in DTYPES.items()}
DTYPE_OF_SCALAR_TYPE: dict[str, str] = {alpha: name for name, alpha in SCALAR_TYPE_OF_DTYPE.items()}
_DTYPE_OF_NUMPY: dict[np.dtype, str] = {d.value_dtype: name for name, d in DTYPES.items()}


def _dtype(name: Any) -> _DType:
    if not isinstance(name, str) or name not in DTYPES:
        raise TraceFormatError(f"unknown dtype {name!r}; expected one of {sorted(DTYPES)}")
    return DTYPES[name]


def dims_size(shape: Sequence[int]) -> int:
    """``Shape.size`` of a dimension list (the product; 1 for a scalar)."""
    return math.prod(shape)


def check_shape(shape: Any) -> tuple[int, ...]:
    if not isinstance(shape, (tuple, list)):
        raise TraceFormatError(f"a shape must be a list of dimensions, given {type(shape).__name__}")
    if len(shape) > MAX_RANK:
        raise TraceFormatError(f"rank {len(shape)} exceeds the format's maximum rank {MAX_RANK}")
    for d in shape:
        if type(d) is not int or d < 0:
            raise TraceFormatError(f"a dimension must be a non-negative integer, given {d!r}")
    return tuple(shape)


def _check_bits(dt: _DType, bits: Any, expected_len: int) -> tuple[int, ...]:
    if not isinstance(bits, (tuple, list)):
        raise TraceFormatError(f"bits must be a list of bit patterns, given {type(bits).__name__}")
    if len(bits) != expected_len:
        raise TraceFormatError(f"the shape holds {expected_len} elements but {len(bits)} bit patterns are given")
    limit = 1 << dt.width
    for i, b in enumerate(bits):
        if type(b) is not int or not 0 <= b < limit:
            raise TraceFormatError(f"bits[{i}] = {b!r} is not a {dt.width}-bit pattern (0 .. 2^{dt.width}-1) for {dt.name}")
    return tuple(bits)


def describe_element(dtype: str, bits: int) -> str:
    """One element decoded for people: ``1.5``, ``-0.0``, ``inf``, ``nan(0x7ff8000000000001)``, ``-5``."""
    dt = DTYPES[dtype]
    value = np.array([bits], dtype=dt.bits_dtype).view(dt.value_dtype)[0]
    if dt.name == "int64":
        return str(int(value))
    if np.isnan(value):
        return f"nan(0x{bits:0{dt.width // 4}x})"
    return repr(float(value))  # binary32 widens exactly to binary64


@dataclass(frozen=True)
class TensorBits:
    """A tensor as shape + dtype + one bit pattern per element (row-major).

    Equality is bitwise identity — the same Lean value — because it compares the patterns.
    Construction validates everything (shape dims, pattern widths, element count) and raises
    :class:`TraceFormatError`.
    """

    shape: tuple[int, ...]
    dtype: str
    bits: tuple[int, ...]

    def __post_init__(self) -> None:
        dt = _dtype(self.dtype)
        shape = check_shape(self.shape)
        object.__setattr__(self, "shape", shape)
        object.__setattr__(self, "bits", _check_bits(dt, self.bits, dims_size(shape)))

    # -- numpy ------------------------------------------------------------------------------
    @classmethod
    def from_array(cls, array: Any) -> "TensorBits":
        """From a numpy array of dtype float64 / float32 / int64 (bit-exact)."""
        if not isinstance(array, np.ndarray):
            raise TraceFormatError(f"expected a numpy array, given {type(array).__name__}")
        name = _DTYPE_OF_NUMPY.get(array.dtype)
        if name is None:
            raise TraceFormatError(f"unsupported array dtype {array.dtype}; expected float64, float32 or int64")
        dt = DTYPES[name]
        flat = np.ascontiguousarray(array).reshape(-1).view(dt.bits_dtype)
        return cls(tuple(int(d) for d in array.shape), name, tuple(flat.tolist()))

    def to_array(self) -> np.ndarray:
        """A new read-only numpy array with exactly these bit patterns."""
        dt = DTYPES[self.dtype]
        raw = np.array(self.bits, dtype=dt.bits_dtype) if self.bits else np.empty(0, dtype=dt.bits_dtype)
        out = raw.view(dt.value_dtype).reshape(self.shape)
        out.flags.writeable = False
        return out

    # -- spec -------------------------------------------------------------------------------
    @classmethod
    def from_spec(cls, t: Any) -> "TensorBits":
        """From a spec ``Tensor`` over ``Float`` / ``IEEE32Exec`` / ``Int`` (bit-exact)."""
        if not isinstance(t, Tensor):
            raise TraceFormatError(f"expected a spec Tensor, given {type(t).__name__}")
        name = DTYPE_OF_SCALAR_TYPE.get(t.alpha.name)
        if name is None:
            raise TraceFormatError(f"torchlean.runtime.v1 has no dtype for the scalar type {t.alpha.name}")
        return cls(toList(t.shape), name, tuple(_element_bits(name, x) for x in elements(t)))

    def to_spec(self) -> Tensor:
        """A spec ``Tensor`` holding exactly these values (Python floats / numpy float32 / ints)."""
        dt = DTYPES[self.dtype]
        values = self.to_array().reshape(-1)
        if dt.name == "float32":
            flat: list = list(values)  # numpy float32 scalars: iterating keeps the bit patterns
        else:
            flat = values.tolist()  # Python floats / ints: a bit copy, no arithmetic
        return Tensor(ofList(self.shape), dt.alpha, _nest(flat, self.shape))

    # -- people -----------------------------------------------------------------------------
    def describe(self, limit: int = 16) -> str:
        """``float64[2, 3] values=[...] bits=[...]`` (long tensors abbreviated)."""
        shown = self.bits[:limit]
        more = f", … {len(self.bits) - limit} more" if len(self.bits) > limit else ""
        values = ", ".join(describe_element(self.dtype, b) for b in shown)
        bits = ", ".join(str(b) for b in shown)
        return f"{self.dtype}{list(self.shape)} values=[{values}{more}] bits=[{bits}{more}]"


@dataclass(frozen=True)
class ScalarBits:
    """One scalar of ``α`` (the result of ``variableNorm``) as dtype + bit pattern."""

    dtype: str
    bits: int

    def __post_init__(self) -> None:
        dt = _dtype(self.dtype)
        _check_bits(dt, (self.bits,), 1)

    @classmethod
    def from_value(cls, x: Any) -> "ScalarBits":
        """From a Python float (binary64), a numpy float64/float32 scalar or an int (int64)."""
        if isinstance(x, (np.float32, np.float64, np.int64)):
            name = _DTYPE_OF_NUMPY[x.dtype]
        elif isinstance(x, float):
            name = "float64"
        elif isinstance(x, int) and not isinstance(x, bool):
            name = "int64"
        else:
            raise TraceFormatError(f"expected a Float / IEEE32Exec / Int scalar, given {type(x).__name__} {x!r}")
        return cls(name, _element_bits(name, x))

    def describe(self) -> str:
        return f"{self.dtype} value={describe_element(self.dtype, self.bits)} bits={self.bits}"


def _element_bits(dtype: str, x: Any) -> int:
    if dtype == "float64":
        return struct.unpack("<Q", struct.pack("<d", x))[0]
    if dtype == "float32":
        return int(np.asarray(x, dtype=np.float32).view(np.uint32))  # x is a numpy float32: no conversion
    if not -(1 << 63) <= x < (1 << 63):
        raise TraceFormatError(f"the Int value {x} is outside the int64 range torchlean.runtime.v1 can encode")
    return x & ((1 << 64) - 1)


def _nest(flat: list, shape: Sequence[int]) -> Any:
    """Row-major flat list → nested lists of ``shape`` (a bare element for a scalar).

    Recursion depth is the rank, which the format bounds by MAX_RANK."""
    dims = tuple(shape)
    strides = [math.prod(dims[k + 1 :]) for k in range(len(dims))]

    def go(offset: int, k: int) -> Any:
        if k == len(dims):
            return flat[offset]
        return [go(offset + i * strides[k], k + 1) for i in range(dims[k])]

    return go(0, 0)
