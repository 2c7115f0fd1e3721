"""spec/core/scalars.py — the scalar types α and Lean's ``Context α`` instance (NN/Spec/Core/
Context.lean), plus each type's ``ToString`` (semantics note §3, §6)."""

from __future__ import annotations

import math
import pickle
import struct
from fractions import Fraction

import numpy as np
import pytest

from torchlean_runtime.errors import ScalarTypeError
from torchlean_runtime.spec.core.scalars import (
    SCALAR_TYPES,
    Float,
    IEEE32Exec,
    Int,
    Nat,
    Rat,
    floatToString,
    scalarTypeNamed,
)


def _nan(bits: int) -> float:
    return struct.unpack("<d", struct.pack("<Q", bits))[0]


@pytest.mark.parametrize(
    "x, printed",
    [  # the table of the semantics note §6 (Lean Float.toString = printf %f, NaN → "NaN")
        (1.0, "1.000000"),
        (0.1, "0.100000"),
        (1e-15, "0.000000"),
        (-1e-15, "-0.000000"),
        (-0.0, "-0.000000"),
        (0.0, "0.000000"),
        (1e20, "100000000000000000000.000000"),
        (float("inf"), "inf"),
        (float("-inf"), "-inf"),
        (float("nan"), "NaN"),
        (_nan(0xFFF8000000000000), "NaN"),  # negative NaN
        (_nan(0x7FF0000000000001), "NaN"),  # signalling payload
        (2.5, "2.500000"),
        (-1234.0625, "-1234.062500"),
        (5e-324, "0.000000"),
    ],
)
def test_floatToString(x: float, printed: str) -> None:
    """Lean ``Float.toString``."""
    assert floatToString(x) == printed
    assert Float.toString(x) == printed


def test_Float_elements_are_binary64_only() -> None:
    assert Float.check(1.5) == 1.5 and type(Float.check(np.float64(1.5))) is float
    for bad in (1, True, np.float32(1.0), "1.0", None, Fraction(1, 2)):
        with pytest.raises(ScalarTypeError) as info:
            Float.check(bad)
        assert info.value.code == "TLR_SCALAR_TYPE" and "Float" in str(info.value)


def test_Float_context_is_ieee_binary64() -> None:
    """``Context Float``: 0 = +0.0, +, * rounded to binary64, sqrt correctly rounded."""
    ctx = Float.context
    assert struct.pack("<d", ctx.zero) == struct.pack("<d", 0.0)
    assert ctx.add(2.0 ** 53, 1.0) == 2.0 ** 53  # tie to even
    assert ctx.mul(0.1, 3.0) == 0.30000000000000004
    assert ctx.sqrt(2.0) == math.sqrt(2.0) and type(ctx.sqrt(2.0)) is float
    assert math.isnan(ctx.sqrt(-1.0))
    assert math.copysign(1.0, ctx.sqrt(-0.0)) == -1.0  # IEEE sqrt(-0) = -0
    assert ctx.sqrt(float("inf")) == float("inf")


def test_IEEE32Exec_rounds_every_result_to_binary32() -> None:
    """TorchLean ``IEEE32Exec``: binary32 arithmetic, each + and * rounded."""
    one, tiny = np.float32(1.0), np.float32(2.0 ** -24)
    assert IEEE32Exec.add(one, tiny) == one  # 1 + 2^-24 is a tie → even → 1
    assert type(IEEE32Exec.add(one, tiny)) is np.float32
    assert IEEE32Exec.mul(np.float32(3.0e38), np.float32(10.0)) == np.float32(np.inf)  # overflow, no warning
    assert IEEE32Exec.context.sqrt(np.float32(4.0)) == np.float32(2.0)
    assert type(IEEE32Exec.context.sqrt(np.float32(2.0))) is np.float32
    assert IEEE32Exec.context.sqrt(np.float32(2.0)) == np.float32(math.sqrt(2.0))
    for bad in (1.0, 1, np.float64(1.0), np.float16(1.0)):
        with pytest.raises(ScalarTypeError):
            IEEE32Exec.check(bad)


def test_IEEE32Exec_prints_after_exact_widening() -> None:
    """binary32 → binary64 is exact, then Float.toString."""
    assert IEEE32Exec.toString(np.float32(16777217.0)) == "16777216.000000"  # 2^24 + 1 is not binary32
    assert IEEE32Exec.toString(np.float32(0.1)) == "0.100000"
    assert IEEE32Exec.toString(np.float32(-0.0)) == "-0.000000"
    assert IEEE32Exec.toString(np.float32("nan")) == "NaN"


def test_Rat_is_exact_with_sqrt_zero() -> None:
    """TorchLean's scoped ``Context ℚ``: exact + and *, ``sqrt q := 0``."""
    ctx = Rat.context
    assert ctx.add(Fraction(1, 3), Fraction(1, 6)) == Fraction(1, 2)
    assert ctx.mul(Fraction(2, 3), Fraction(3, 4)) == Fraction(1, 2)
    assert ctx.sqrt(Fraction(4)) == 0 and ctx.sqrt(Fraction(-9, 4)) == 0 and type(ctx.sqrt(Fraction(4))) is Fraction
    for bad in (1, 0.5, "1/2"):
        with pytest.raises(ScalarTypeError):
            Rat.check(bad)


def test_Rat_toString() -> None:
    """Lean ``ToString Rat``: num when den = 1, else num/den (reduced, sign on num)."""
    assert Rat.toString(Fraction(3)) == "3"
    assert Rat.toString(Fraction(-3, 4)) == "-3/4"
    assert Rat.toString(Fraction(2, 4)) == "1/2"
    assert Rat.toString(Fraction(0)) == "0"


def test_Int_and_Nat_have_no_Context() -> None:
    """Lean has no ``Context Int`` / ``Context Nat`` instance."""
    assert Int.context is None and Nat.context is None
    assert Int.check(-5) == -5 and Int.toString(-5) == "-5"
    assert Nat.check(0) == 0
    for bad in (True, 1.0, "1"):
        with pytest.raises(ScalarTypeError):
            Int.check(bad)
    with pytest.raises(ScalarTypeError):
        Nat.check(-1)


def test_identity_distinguishes_lean_values() -> None:
    assert Float.identity(0.0) != Float.identity(-0.0)
    nan = float("nan")
    assert Float.identity(nan) == Float.identity(nan)
    assert Float.identity(_nan(0x7FF8000000000000)) != Float.identity(_nan(0x7FF8000000000001))
    assert IEEE32Exec.identity(np.float32(0.0)) != IEEE32Exec.identity(np.float32(-0.0))
    assert Rat.identity(Fraction(2, 4)) == Rat.identity(Fraction(1, 2))


def test_scalarTypeNamed_and_pickling() -> None:
    for t in SCALAR_TYPES:
        assert scalarTypeNamed(t.name) is t
        assert pickle.loads(pickle.dumps(t)) is t
        assert repr(t) == t.name
    with pytest.raises(ScalarTypeError):
        scalarTypeNamed("Real")
