"""Trap-biased values for differential testing — the ONE place they are defined.

Two front ends draw from the same pools:

* :func:`random_array` — a seeded ``random.Random`` (the fixed-budget agreement obligation in
  ``agreement.py``, which runs without hypothesis);
* the hypothesis strategies (:func:`names`, :func:`shapes`, :func:`element_bits`,
  :func:`tensor_bits`, :func:`nats`, :func:`scalar_types`) — the stateful machine in
  ``machine.py``.  hypothesis is a dev dependency, so it is imported inside the functions.

The traps (issue 5): few names with many duplicates (shadowing, set-all, absent names, gradients
under unknown names); the same name at different shapes; shapes that differ only behind a zero
dimension (``(0, 3)`` vs ``(0, 4)``); ±0, NaNs with payloads (quiet and signalling, both signs),
±inf, subnormals, finite values whose squares overflow the norm; float32 and float64 (one per
trace, as Lean has one ``α``) and the occasional tensor of a foreign dtype, which both sides must
refuse with the same error code.
"""

from __future__ import annotations

import random
from functools import lru_cache
from typing import Any

import numpy as np

__all__ = [
    "NAMES",
    "SHAPES",
    "DTYPES",
    "SPECIAL_BITS",
    "SCALAR_TYPE_WEIGHTS",
    "random_array",
    "names",
    "shapes",
    "nats",
    "element_bits",
    "ordinary_bits",
    "tensor_bits",
    "non_finite_bits",
    "scalar_types",
]

#: Few names, so that registrations collide (shadowing, set-all); "" is a legal Lean String.
NAMES = ("w", "b", "x", "")
#: Zero dimensions are traps ((0, 3) vs (0, 4) vs (3, 0)); (4, 5) and (45,) are long enough that
#: numpy's pairwise np.sum would differ from the fold.
SHAPES: tuple[tuple[int, ...], ...] = ((), (1,), (2,), (3,), (2, 3), (1, 1), (4, 5), (45,), (0,), (0, 3), (0, 4), (3, 0))
#: The impl's numpy dtypes (float64 = Lean Float, float32 = IEEE32Exec, int64 = Int).
DTYPES = (np.float64, np.float32, np.int64)


def _f64(x: float) -> int:
    return int(np.asarray(x, dtype=np.float64).view(np.uint64))


def _f32(x: float) -> int:
    return int(np.asarray(x, dtype=np.float32).view(np.uint32))


#: IEEE specials as bit patterns: +0, -0, the smallest and largest subnormal, the largest finite,
#: ±inf, quiet NaNs with payloads (both signs), signalling NaNs, values whose square overflows
#: (so the norm is inf where hypot would not be), and values that round differently in binary32.
SPECIAL_BITS: dict[Any, list[int]] = {
    np.float64: [
        0x0, 1 << 63, 0x1, 0x000FFFFFFFFFFFFF, 0x7FEFFFFFFFFFFFFF, 0x7FF0000000000000, 0xFFF0000000000000,
        0x7FF8000000000001, 0xFFF8000000000ABC, 0x7FF0000000000005, 0xFFF0000000000007, 0x7FF8000000000000,
        _f64(1.5e154), _f64(-1e200), _f64(2.0 ** -1074 * 3),
    ],
    np.float32: [
        0x0, 1 << 31, 0x1, 0x007FFFFF, 0x7F7FFFFF, 0x7F800000, 0xFF800000, 0x7FC00001, 0xFFC00ABC,
        0x7F800005, 0xFF800007, 0x7FC00000,
        _f32(2e19), _f32(-3e20), _f32(1.0 + 2.0 ** -23), _f32(2.0 ** -24),
    ],
}
#: Small exact values (integers, halves) and one large finite value.
_PLAIN = (0.5, -0.25, 1.0, -2.0, 3.0, 1e20)
#: int64 values: the extremes and small integers.
_INTS = (0, 1, -1, 7, -(2 ** 63), 2 ** 63 - 1)

#: How often each Lean scalar type starts a trace (Int has no Context instance: fewer operations).
SCALAR_TYPE_WEIGHTS = {"Float": 5, "IEEE32Exec": 4, "Int": 1}


# --- random.Random front end ------------------------------------------------------------------


def random_array(rng: random.Random, dtype: Any, shape: tuple[int, ...]) -> np.ndarray:
    """Elements drawn from small integers, halves, wide-range floats and IEEE specials — or,
    a quarter of the time, every element ordinary (one magnitude, full mantissas)."""
    n = int(np.prod(shape)) if shape else 1
    if dtype is np.int64:
        return np.array([rng.choice([*_INTS, rng.randint(-1000, 1000)]) for _ in range(n)], dtype=np.int64).reshape(shape)
    if rng.random() < 0.25:  # ordinary: one magnitude, full mantissas (see ordinary_bits)
        return np.array([rng.uniform(-8.0, 8.0) for _ in range(n)], dtype=dtype).reshape(shape)
    uint = np.uint64 if dtype is np.float64 else np.uint32
    out = np.empty(n, dtype)
    for i in range(n):
        r = rng.random()
        if r < 0.4:
            out.view(uint)[i] = rng.choice(SPECIAL_BITS[dtype])
        elif r < 0.6:
            out[i] = rng.choice(_PLAIN)
        else:
            with np.errstate(over="ignore"):
                out[i] = rng.gauss(0.0, 1.0) * 10.0 ** rng.randint(-45, 45)
    return out.reshape(shape)


# --- hypothesis front end ---------------------------------------------------------------------


def _st():  # hypothesis is a dev dependency: imported only when a strategy is built
    import hypothesis.strategies as st

    return st


@lru_cache(maxsize=None)  # strategies are immutable; building them is not free
def names():
    """A registry / variable name: half the time ``w`` (many duplicates), else one of the other
    few, rarely a non-ASCII one."""
    st = _st()
    return st.one_of(st.just("w"), st.just("w"), st.just("w"), st.sampled_from(NAMES), st.sampled_from(NAMES[1:]),
                     st.sampled_from(NAMES[1:]), st.just("θ"))


@lru_cache(maxsize=None)
def shapes():
    """A shape from :data:`SHAPES` (zero-size traps included)."""
    return _st().sampled_from(SHAPES)


@lru_cache(maxsize=None)
def nats():
    """A Lean ``Nat`` id: small (so ids collide for ``variableEq``), rarely the u64 maximum."""
    st = _st()
    return st.one_of(st.integers(0, 3), st.integers(0, 3), st.just((1 << 64) - 1))


_DTYPE_OF = {"float64": np.float64, "float32": np.float32, "int64": np.int64}


@lru_cache(maxsize=None)
def element_bits(dtype: str):
    """One element of ``dtype`` (``float64`` / ``float32`` / ``int64``) as its unsigned bit pattern."""
    st = _st()
    if dtype == "int64":
        return st.one_of(st.sampled_from(_INTS), st.integers(-1000, 1000), st.integers(-(2 ** 63), 2 ** 63 - 1)).map(
            lambda x: x & ((1 << 64) - 1)
        )
    width = 64 if dtype == "float64" else 32
    bits_of = _f64 if width == 64 else _f32
    special = st.sampled_from(SPECIAL_BITS[_DTYPE_OF[dtype]])
    return st.one_of(
        special,
        special,
        st.sampled_from([bits_of(x) for x in _PLAIN]),
        # hypothesis' floats vary NaN payloads and reach subnormals; mapped to bits exactly
        st.floats(width=width).map(bits_of),
        st.integers(0, (1 << width) - 1),  # any pattern at all
    )


@lru_cache(maxsize=None)
def ordinary_bits(dtype: str):
    """A finite value of one magnitude with a full mantissa (``-8 .. 8``): sums of such values
    round, so the order of additions shows in the bits (variableNorm's fold)."""
    if dtype == "int64":
        return element_bits(dtype)
    width = 64 if dtype == "float64" else 32
    return _st().floats(min_value=-8.0, max_value=8.0, width=width).map(_f64 if width == 64 else _f32)


@lru_cache(maxsize=None)
def tensor_bits(dtype: str, shape: tuple[int, ...]):
    """A :class:`~torchlean_runtime.conformance.vectors.bits.TensorBits` of ``dtype`` and ``shape``:
    either every element trap-biased (:func:`element_bits`), or every element ordinary
    (:func:`ordinary_bits`) — a long tensor of mixed elements almost always holds an inf or a
    NaN, which would hide rounding and summation-order differences."""
    from torchlean_runtime.conformance.vectors.bits import TensorBits

    st = _st()
    n = int(np.prod(shape)) if shape else 1
    return st.one_of(
        st.lists(element_bits(dtype), min_size=n, max_size=n),
        st.lists(ordinary_bits(dtype), min_size=n, max_size=n),
    ).map(lambda bits: TensorBits(shape, dtype, tuple(bits)))


@lru_cache(maxsize=None)
def non_finite_bits(dtype: str):
    """A NaN (quiet or signalling, either sign, any payload) or ±inf of ``dtype`` as bits — to be
    placed where another operand is non-finite too (NaN + NaN picks a payload, inf + -inf is
    invalid: the places where NaN rules differ)."""
    st = _st()
    width = 64 if dtype == "float64" else 32
    exponent = ((1 << (11 if width == 64 else 8)) - 1) << (52 if width == 64 else 23)
    mantissa = (1 << (52 if width == 64 else 23)) - 1
    sign = 1 << (width - 1)
    listed = [b for b in SPECIAL_BITS[_DTYPE_OF[dtype]] if b & exponent == exponent]
    return st.one_of(
        st.sampled_from(listed),
        st.tuples(st.booleans(), st.integers(1, mantissa)).map(lambda sm: (sign if sm[0] else 0) | exponent | sm[1]),
    )


@lru_cache(maxsize=None)
def scalar_types():
    """The Lean scalar type of one trace, weighted by :data:`SCALAR_TYPE_WEIGHTS`."""
    st = _st()
    return st.sampled_from([name for name, w in SCALAR_TYPE_WEIGHTS.items() for _ in range(w)])
