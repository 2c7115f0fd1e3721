"""Scalar types and the ``Context`` type class — transcription of the parts of
NN/Spec/Core/Context.lean (lean-dojo/TorchLean @ 411682f6c3d913e5cdbc27d4546b3ab7ac0e3e9c)
that the runtime modules use, plus Lean's ``ToString`` for each scalar type.

The runtime modules are generic in a scalar type ``α``.  Python has no type parameters, so
each tensor carries a :class:`ScalarType` value naming its ``α``:

=============  ==========================  ==============================================
Lean type      Python values               ``Context α``
=============  ==========================  ==============================================
``Float``      ``float`` (binary64)        IEEE binary64, round-to-nearest-even, C sqrt
``IEEE32Exec`` ``numpy.float32``           binary32, every result rounded to binary32
``ℚ`` (scoped) ``fractions.Fraction``      exact; ``sqrt`` is defined as ``0``
``Int``        ``int``                     none (Lean rejects ``Context Int`` uses)
``Nat``        ``int`` ≥ 0                 none
=============  ==========================  ==============================================

Printing follows the Lean 4 runtime (semantics note §6): ``Float.toString`` is C's ``%f``
with every NaN printed ``NaN``; binary32 values are widened exactly to binary64 first;
``ℚ`` prints ``num`` or ``num/den``; integers print in plain decimal.
"""

from __future__ import annotations

import math
import struct
from fractions import Fraction
from typing import Any, Callable, Optional

import numpy as np

from torchlean_runtime.errors import ScalarTypeError, safe_repr

__all__ = [
    "Context",
    "ScalarType",
    "Float",
    "IEEE32Exec",
    "Rat",
    "Int",
    "Nat",
    "SCALAR_TYPES",
    "scalarTypeNamed",
    "floatToString",
    "f32_bits",
    "f32_from_bits",
    "F32_CANONICAL_NAN",
    "F32_QUIET_BIT",
    "floatEnvironmentProblem",
    "checkFloatEnvironment",
]


# --- the floating-point environment (issue 9, kind 10) ---------------------------------------------
#
# A shared library built with fast-math (crtfastmath.o) switches the CPU to flush-to-zero (FTZ:
# subnormal results become 0) and denormals-are-zero (DAZ: subnormal operands read as 0) when it is
# loaded, for the whole process.  Spec (Python floats) and impl (numpy) then agree with each other
# and are both wrong.  Two IEEE operations detect it: MIN_NORMAL / 2 is a subnormal (FTZ makes it
# 0) and a subnormal + 0 is that subnormal (DAZ makes it 0).  Module globals, so that nothing is
# folded at compile time.
_MIN_NORMAL = 2.2250738585072014e-308
_HALF = 0.5
_SUBNORMAL = 5e-324
_ZERO = 0.0


def floatEnvironmentProblem() -> "str | None":
    """``None`` when IEEE 754's default subnormal behaviour holds in this thread; else which of
    flush-to-zero / denormals-are-zero is on.  Two float operations (~50 ns)."""
    ftz = _MIN_NORMAL * _HALF == _ZERO
    daz = _SUBNORMAL + _ZERO == _ZERO
    if not (ftz or daz):
        return None
    on = " and ".join(name for name, flag in (("flush-to-zero (FTZ)", ftz), ("denormals-are-zero (DAZ)", daz)) if flag)
    return on


def checkFloatEnvironment(op: str = "floating-point check") -> None:
    """FloatEnvironmentError (``TLR_FLOAT_ENVIRONMENT``) when subnormals are not IEEE's (see
    :func:`floatEnvironmentProblem`): every subnormal result would be silently wrong."""
    if _MIN_NORMAL * _HALF != _ZERO and _SUBNORMAL + _ZERO != _ZERO:
        return  # floatEnvironmentProblem's two operations, inline: this runs on every numeric call
    problem = floatEnvironmentProblem()
    if problem is not None:
        from torchlean_runtime.errors import FloatEnvironmentError

        raise FloatEnvironmentError(
            f"{op}: the CPU runs with {problem} on, so subnormal results would be silently wrong "
            "(usually a shared library built with -ffast-math loaded into this process; run without it)"
        )


def floatToString(x: float) -> str:
    """Lean ``Float.toString`` (``std::to_string``, i.e. ``printf("%f")``; NaN → ``NaN``)."""
    return "NaN" if math.isnan(x) else "%f" % x


class Context:
    """Lean ``Context α`` — only the members the runtime uses: ``0``, ``+``, ``*``, ``sqrt``."""

    __slots__ = ("zero", "add", "mul", "sqrt")

    def __init__(self, zero: Any, add: Callable, mul: Callable, sqrt: Callable):
        self.zero = zero
        self.add = add
        self.mul = mul
        self.sqrt = sqrt

    # Instances are shared singletons (Float, IEEE32Exec, …): immutable, so no caller can
    # change what every tensor of that type means.
    def __setattr__(self, name: str, value: object) -> None:
        if hasattr(self, name) or name not in self.__slots__:
            raise AttributeError(f"{type(self).__name__} is immutable")
        object.__setattr__(self, name, value)

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable")


class ScalarType:
    """A Lean scalar type ``α`` with its ``Zero``, ``Add``, ``Mul``, ``ToString`` and, where Lean
    has one, its ``Context`` instance."""

    __slots__ = ("name", "python_type", "_check", "zero", "add", "mul", "toString", "context", "_key")

    def __init__(
        self,
        name: str,
        python_type: str,
        check: Callable[[Any], Any],
        zero: Any,
        add: Callable[[Any, Any], Any],
        mul: Callable[[Any, Any], Any],
        toString: Callable[[Any], str],
        context: Optional[Context],
        key: Callable[[Any], Any],
    ):
        self.name = name
        self.python_type = python_type
        self._check = check
        self.zero = zero
        self.add = add
        self.mul = mul
        self.toString = toString
        self.context = context
        self._key = key

    # Instances are shared singletons (Float, IEEE32Exec, …): immutable, so no caller can
    # change what every tensor of that type means.
    def __setattr__(self, name: str, value: object) -> None:
        # ``context`` is tied once, after construction (the instance refers to its own add/mul)
        if name not in self.__slots__ or (hasattr(self, name) and not (name == "context" and self.context is None)):
            raise AttributeError(f"{type(self).__name__} is immutable")
        object.__setattr__(self, name, value)

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable")

    def canonical(self, x: Any) -> Any:
        """``x`` as a canonical element of this type, or ``None`` when it is none (never raises)."""
        return self._check(x)

    def check(self, x: Any) -> Any:
        """Return ``x`` as a canonical element of this type, or raise ScalarTypeError."""
        value = self._check(x)
        if value is None:
            raise ScalarTypeError(
                f"expected a {self.name} scalar ({self.python_type}), given {safe_repr(x)} ({type(x).__name__})"
            )
        return value

    def identity(self, x: Any) -> Any:
        """A hashable key equal exactly when two elements are the same Lean value
        (bit patterns for floats, so ``-0.0 ≠ 0.0`` and a NaN equals itself)."""
        return self._key(x)

    def __repr__(self) -> str:
        return self.name

    def __reduce__(self):
        return (scalarTypeNamed, (self.name,))


# --- Float (binary64) --------------------------------------------------------------------


def _check_float(x: Any) -> Optional[float]:
    # np.float64 subclasses float; np.float32 and bool/int do not count as Lean Float.
    return float(x) if isinstance(x, float) else None


def _float_sqrt(x: float) -> float:
    # C sqrt (hardware sqrtsd): correctly rounded; NaN in → that NaN; negative → default NaN.
    with np.errstate(all="ignore"):
        return float(np.sqrt(np.float64(x)))


def _float_key(x: float) -> bytes:
    return struct.pack("<d", x)


F64_QUIET_BIT = 0x0008000000000000


def _float_quiet(x: float) -> float:
    return struct.unpack("<d", struct.pack("<Q", struct.unpack("<Q", struct.pack("<d", x))[0] | F64_QUIET_BIT))[0]


def _float_binary(op: Callable[[float, float], float]) -> Callable[[float, float], float]:
    # With two NaN operands, CPython's float `a + b` returns b's NaN until the interpreter
    # specializes the instruction, and a's NaN after (its generic and specialized adds are
    # compiled with opposite operand orders), so the NaN is fixed here: the first NaN operand,
    # quieted — x86 SSE's rule for `a op b`, which numpy's loops follow.  Non-NaN operands:
    # the hardware result (an invalid operation gives the platform's default NaN).
    def apply(a: float, b: float) -> float:
        if a != a:
            return _float_quiet(a)
        if b != b:
            return _float_quiet(b)
        return op(a, b)

    return apply


Float = ScalarType(
    name="Float",
    python_type="float",
    check=_check_float,
    zero=0.0,
    add=_float_binary(lambda a, b: a + b),
    mul=_float_binary(lambda a, b: a * b),
    toString=floatToString,
    context=None,
    key=_float_key,
)
Float.context = Context(0.0, Float.add, Float.mul, _float_sqrt)


# --- IEEE32Exec (binary32, every result rounded) ------------------------------------------
#
# TorchLean's IEEE32Exec (NN/Floats/IEEEExec/Exec32.lean) is a bit-level binary32 emulation:
# finite results are the exact result rounded once to nearest-even (subnormals kept, signed
# zeros per IEEE 754), which the host's binary32 arithmetic reproduces.  NaNs differ from the
# hardware and are therefore fixed up here:
#   * add/mul with a NaN operand return that NaN quieted (payload and sign kept), chosen in the
#     order: signalling NaN in x, signalling NaN in y, any NaN in x, any NaN in y (chooseNaN2);
#   * an invalid operation without NaN operands (inf - inf, 0 * inf) returns the canonical NaN
#     0x7FC00000 (x86 would return 0xFFC00000);
#   * sqrt of a NaN returns it quieted; sqrt of a negative number (incl. -inf) returns the
#     canonical NaN; sqrt(±0) = ±0.

F32_QUIET_BIT = 0x00400000
F32_CANONICAL_NAN = 0x7FC00000


def f32_bits(x: np.float32) -> int:
    """The IEEE-754 bit pattern of a binary32 value."""
    return int(np.asarray(x, dtype=np.float32).view(np.uint32))


def f32_from_bits(bits: int) -> np.float32:
    """The binary32 value with bit pattern ``bits``."""
    return np.asarray(bits, dtype=np.uint32).view(np.float32)[()]


def _f32_is_signalling(bits: int) -> bool:
    return (bits & 0x7F800000) == 0x7F800000 and (bits & 0x007FFFFF) != 0 and not (bits & F32_QUIET_BIT)


def _f32_choose_nan2(x: np.float32, y: np.float32) -> np.float32:
    bx, by = f32_bits(x), f32_bits(y)
    if _f32_is_signalling(bx):
        chosen = bx
    elif _f32_is_signalling(by):
        chosen = by
    elif np.isnan(x):
        chosen = bx
    else:
        chosen = by
    return f32_from_bits(chosen | F32_QUIET_BIT)


def _f32_binary(op: Callable) -> Callable[[np.float32, np.float32], np.float32]:
    def apply(a: np.float32, b: np.float32) -> np.float32:
        if np.isnan(a) or np.isnan(b):
            return _f32_choose_nan2(a, b)
        with np.errstate(all="ignore"):
            r = np.float32(op(a, b, dtype=np.float32))
        return f32_from_bits(F32_CANONICAL_NAN) if np.isnan(r) else r

    return apply


_f32_add = _f32_binary(np.add)
_f32_mul = _f32_binary(np.multiply)


def _f32_sqrt(a: np.float32) -> np.float32:
    if np.isnan(a):
        return f32_from_bits(f32_bits(a) | F32_QUIET_BIT)
    if a == 0:
        return a  # sqrt(±0) = ±0
    if a < 0:
        return f32_from_bits(F32_CANONICAL_NAN)
    with np.errstate(all="ignore"):
        return np.float32(np.sqrt(a, dtype=np.float32))


def _check_f32(x: Any) -> Optional[np.float32]:
    return x if type(x) is np.float32 else None


def _f32_key(x: np.float32) -> bytes:
    return x.tobytes()


IEEE32Exec = ScalarType(
    name="IEEE32Exec",
    python_type="numpy.float32",
    check=_check_f32,
    zero=np.float32(0.0),
    add=_f32_add,
    mul=_f32_mul,
    toString=lambda x: floatToString(float(x)),  # exact widening to binary64, then Float.toString
    context=None,
    key=_f32_key,
)
IEEE32Exec.context = Context(np.float32(0.0), _f32_add, _f32_mul, _f32_sqrt)


# --- ℚ with TorchLean's scoped Context instance (sqrt := 0) -------------------------------


def _check_rat(x: Any) -> Optional[Fraction]:
    return x if isinstance(x, Fraction) else None


def _rat_to_string(q: Fraction) -> str:
    # Lean's `ToString Rat`: the numerator alone when the denominator is 1, else `num/den`.
    return str(q.numerator) if q.denominator == 1 else f"{q.numerator}/{q.denominator}"


Rat = ScalarType(
    name="Rat",
    python_type="fractions.Fraction",
    check=_check_rat,
    zero=Fraction(0),
    add=lambda a, b: a + b,
    mul=lambda a, b: a * b,
    toString=_rat_to_string,
    context=None,
    key=lambda q: (q.numerator, q.denominator),
)
Rat.context = Context(Fraction(0), Rat.add, Rat.mul, lambda q: Fraction(0))


# --- Int / Nat: no Context instance -------------------------------------------------------


def _check_int(x: Any) -> Optional[int]:
    # int's own __index__ reads the value at C level: an int subclass's __int__/__index__/__ge__
    # overrides are never consulted (EvilNat(3) with __int__ returning -5 is 3)
    return _INT_VALUE(x) if isinstance(x, int) and not isinstance(x, bool) else None


_INT_VALUE = int.__index__


def _check_nat(x: Any) -> Optional[int]:
    value = _check_int(x)
    return value if value is not None and value >= 0 else None


Int = ScalarType(
    name="Int",
    python_type="int",
    check=_check_int,
    zero=0,
    add=lambda a, b: a + b,
    mul=lambda a, b: a * b,
    toString=str,
    context=None,
    key=lambda n: n,
)

Nat = ScalarType(
    name="Nat",
    python_type="int >= 0",
    check=_check_nat,
    zero=0,
    add=lambda a, b: a + b,
    mul=lambda a, b: a * b,
    toString=str,
    context=None,
    key=lambda n: n,
)

SCALAR_TYPES: tuple[ScalarType, ...] = (Float, IEEE32Exec, Rat, Int, Nat)


def scalarTypeNamed(name: str) -> ScalarType:
    """The scalar type with Lean name ``name`` (``Float``, ``IEEE32Exec``, ``Rat``, ``Int``, ``Nat``)."""
    for t in SCALAR_TYPES:
        if t.name == name:
            return t
    raise ScalarTypeError(f"unknown scalar type {safe_repr(name)}; expected one of {[t.name for t in SCALAR_TYPES]}")
