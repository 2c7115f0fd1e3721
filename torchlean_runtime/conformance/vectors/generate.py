"""``torchlean-rt vectors generate OUT_DIR`` — the deterministic conformance corpus.

The corpus is organised by Lean declaration: ``OUT_DIR/<declaration>/<case>.<dtype>.json`` for
the hand-written cases (each aimed at one declaration and the traps around it) and
``OUT_DIR/random/`` for seeded random programs over every operation.  ``OUT_DIR/coverage.txt``
is the coverage report: declaration → steps exercising it, trap → files.  The command fails if a
Lean declaration of either module has no step, or a listed trap has no file.

Expected results are what the SPEC returns (``torchlean_runtime.spec`` is the reference; it is
checked against hand-written Lean-derived cases elsewhere).  Each step of a case is executed on
the spec while the case is built, so a case that means a step to fail (``fails=CODE``) or to
succeed is checked against the spec at generation time, and the run stops on any surprise.

Portability: an expected bit pattern must not depend on behaviour that IEEE 754 or TorchLean
leaves to the platform.  :func:`nonportable_reason` refuses such steps (hand-written cases then
fail to generate; random programs skip the step):

* binary64 arithmetic whose operands hold two different NaNs (which payload wins depends on
  how the compiler ordered the operands — CPython and numpy already disagree), a signalling
  NaN, or an invalid operation such as ``inf + -inf`` (the default NaN differs between x86-64
  and AArch64).
  Binary64 arithmetic on one quiet NaN is allowed, and the case must carry the tag
  ``nan-propagation`` (payload propagation is IEEE 754's recommendation, not a requirement).

Binary32 arithmetic is always portable: TorchLean's IEEE32Exec (NN/Floats/IEEEExec/Exec32.lean)
defines every NaN result bit for bit (a NaN operand is returned quieted, signalling NaNs first,
then x before y; an invalid operation gives the canonical NaN 0x7FC00000), and the spec
implements exactly that (spec/core/scalars.py).

Generation is deterministic: the same code writes the same bytes (no clocks, no hash order, a
seeded ``random.Random`` for the random programs).
"""

from __future__ import annotations

import argparse
import os
import random
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Iterator, Optional, Sequence

import numpy as np

from torchlean_runtime.spec.core.tensor import Tensor, elements

from torchlean_runtime.errors import OutputPathError, print_cli_error
from torchlean_runtime.files import write_text

from .bits import DTYPES, SCALAR_TYPE_OF_DTYPE, TensorBits
from .execute import Crash, ObservedError, Session, SpecAdapter
from .format import LEAN_DECLARATIONS, OPS, ExpectedError, Generator, Step, Trace, write_trace

__all__ = [
    "TRAPS",
    "GenerationError",
    "Case",
    "nonportable_reason",
    "build_corpus",
    "Coverage",
    "coverage_of",
    "generate",
    "main",
]

#: The traps every corpus must exercise (issues 2, 3 and 5), by tag.
TRAPS: dict[str, str] = {
    "shadowing": "registering a name again shadows the older entry; lookups see the newest",
    "first-match-shape-mismatch": "lookup takes the first entry by name, then checks its shape (an older matching entry is never used)",
    "set-all-shape-change": "setVariable/setGradient replace EVERY entry of the name, and may change its shape",
    "absent-name-set": "setting an absent name changes nothing (nothing is inserted)",
    "registerGradient-keeps-next_id": "registerGradient does not bump next_id (registerVariable does)",
    "invalid-after-unknown-gradient": "a gradient under an unknown name makes isValidContext false (allowed, not an error)",
    "duplicates": "names newest first with duplicates; sizes and counts include shadowed entries",
    "zero-size-dims": "[0, 3] and [0, 4] are different shapes although both hold no elements",
    "signed-zero": "-0.0 and +0.0 are different values (stored, printed, summed)",
    "nan-payloads": "NaN payloads and signs are stored and returned bit-exact",
    "infinities": "+inf / -inf stored, printed and summed",
    "subnormals": "subnormal values stored and used in arithmetic",
    "norm-overflow": "variableNorm overflows to inf where hypot would not",
    "norm-fold-order": "variableNorm is a flat left fold from 0 (np.sum / fsum / pairwise differ)",
    "float32-rounding": "IEEE32Exec rounds every result to binary32",
    "ieee32-nan-rules": "IEEE32Exec's own NaN results: operand NaN quieted (signalling first, x before y), invalid operation → 0x7FC00000",
    "float64": "traces over Lean Float",
    "float32": "traces over TorchLean IEEE32Exec",
    "int": "traces over Lean Int (no Context instance)",
    "must-fail": "calls Lean's type checker rejects, expected as stable error codes",
    "purity": "every operation returns a new value; older handles are unchanged",
}

_DTYPE_TAG = {"float64": "float64", "float32": "float32", "int64": "int"}
FLOATS = ("float64", "float32")
ALL_DTYPES = ("float64", "float32", "int64")


class GenerationError(Exception):
    """A case does not do what it says (the spec disagreed with its intent) — a generator bug."""


# --- values -------------------------------------------------------------------------------


class Kit:
    """Tensor literals of one dtype, always via numpy (no decimal text in the files)."""

    def __init__(self, dtype: str):
        self.dtype = dtype
        self.np = DTYPES[dtype].value_dtype
        w = DTYPES[dtype].width
        if dtype == "float64":
            self.NEG_ZERO, self.INF, self.NEG_INF = 1 << 63, 0x7FF0000000000000, 0xFFF0000000000000
            self.QNAN, self.NAN_A, self.NAN_B = 0x7FF8000000000000, 0x7FF8000000000123, 0xFFF800000000BEEF
            self.SNAN, self.MIN_SUB, self.MAX_SUB, self.MAX = 0x7FF0000000000001, 1, 0x000FFFFFFFFFFFFF, 0x7FEFFFFFFFFFFFFF
        elif dtype == "float32":
            self.NEG_ZERO, self.INF, self.NEG_INF = 1 << 31, 0x7F800000, 0xFF800000
            self.QNAN, self.NAN_A, self.NAN_B = 0x7FC00000, 0x7FC00123, 0xFFC0BEEF
            self.SNAN, self.MIN_SUB, self.MAX_SUB, self.MAX = 0x7F800001, 1, 0x007FFFFF, 0x7F7FFFFF
        else:
            self.MIN, self.MAX = 1 << 63, (1 << 63) - 1  # two's-complement patterns of -2^63, 2^63-1
        self.width = w

    def t(self, values: Any, shape: Optional[Sequence[int]] = None) -> TensorBits:
        arr = np.array(values, dtype=self.np)
        if shape is not None:
            arr = arr.reshape(shape)
        return TensorBits.from_array(arr)

    def scalar(self, x: Any) -> TensorBits:
        return self.t(x, ())

    def zeros(self, shape: Sequence[int]) -> TensorBits:
        return TensorBits.from_array(np.zeros(shape, dtype=self.np))

    def raw(self, shape: Sequence[int], bits: Sequence[int]) -> TensorBits:
        return TensorBits(tuple(shape), self.dtype, tuple(bits))

    def value(self, x: float) -> int:
        """The bit pattern of one value."""
        return self.t([x]).bits[0]


# --- portability --------------------------------------------------------------------------


def _f64_bits(x: float) -> int:
    return int(np.asarray(x, dtype=np.float64).view(np.uint64))


def _nan_bits(alpha_name: str, x: Any) -> Optional[int]:
    """The bit pattern of ``x`` if it is a NaN, else None."""
    if alpha_name == "Float":
        return _f64_bits(x) if x != x else None
    if alpha_name == "IEEE32Exec":
        return int(np.asarray(x, dtype=np.float32).view(np.uint32)) if np.isnan(x) else None
    return None


def _arith_problem(alpha_name: str, pairs: Iterator[tuple[Any, Any]], adds: bool) -> Optional[str]:
    if alpha_name == "IEEE32Exec":
        return None  # Exec32 defines every NaN result bit for bit (see the module docstring)
    propagates = False
    for a, b in pairs:
        na, nb = _nan_bits(alpha_name, a), _nan_bits(alpha_name, b)
        if adds and na is None and nb is None and np.isinf(a) and np.isinf(b) and (a > 0) != (b > 0):
            return "inf + -inf (the NaN of an invalid operation differs between platforms)"
        if na is None and nb is None:
            continue
        if len({na, nb} - {None}) > 1:
            return "binary64 arithmetic on two different NaNs (the payload chosen depends on operand order in compiled code)"
        if any((n >> 51) & 1 == 0 for n in (na, nb) if n is not None):
            return "binary64 arithmetic on a signalling NaN"
        propagates = True
    return "nan-propagation" if propagates else None


def nonportable_reason(op: str, args: dict[str, Any]) -> Optional[str]:
    """Why the expected result of this step (spec arguments) would not be portable, or None.

    Returns ``"nan-propagation"`` for binary64 arithmetic on one quiet NaN: allowed in cases
    tagged ``nan-propagation``."""
    if op == "Runtime.Variable.accumulateGradient":
        v, g = args["v"], args["grad"]
        if v.gradient is None or not isinstance(g, Tensor) or g.shape != v.gradient.shape or g.alpha is not v.alpha:
            return None  # no arithmetic (assignment) or a must-fail step
        return _arith_problem(v.alpha.name, zip(elements(v.gradient), elements(g)), adds=True)
    if op == "Runtime.Variable.variableNorm":
        v = args["v"]
        if v.alpha.context is None:
            return None
        xs = list(elements(v.value))
        # x*x, then the running sum: a NaN appears in both; one distinct quiet NaN is portable
        squares = _arith_problem(v.alpha.name, ((x, x) for x in xs), adds=False)
        if squares not in (None, "nan-propagation"):
            return squares
        distinct = {_nan_bits(v.alpha.name, x) for x in xs} - {None}
        if v.alpha.name == "Float" and len(distinct) > 1:
            return "binary64 arithmetic on two different NaNs (the payload chosen depends on operand order in compiled code)"
        return squares
    return None


# --- building one case --------------------------------------------------------------------


def _qualify(op: str) -> str:
    full = "Runtime." + op
    if full not in OPS:
        raise GenerationError(f"unknown operation {op!r}")
    return full


@dataclass
class Case:
    """One corpus file being built; every step is run on the spec as it is added."""

    declaration: Optional[str]
    name: str
    dtype: str
    description: str
    tags: tuple[str, ...] = ()
    seed: Optional[int] = None
    skip_nonportable: bool = False  # random programs drop such steps; hand-written cases fail
    steps: list[Step] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.scalar_type = SCALAR_TYPE_OF_DTYPE[self.dtype]
        self.session = Session(SpecAdapter(self.scalar_type))
        self.k = Kit(self.dtype)
        self._next = {"context": 0, "variable": 0}
        self.kinds: dict[str, str] = {}

    @property
    def path(self) -> str:
        folder = self.declaration or "random"
        return f"{folder}/{self.name}.{self.dtype}.json"

    def __call__(self, op: str, *, fails: Optional[str] = None, note: str = "", **args: Any) -> Optional[str]:
        """Add ``Runtime.<op>`` with ``args``; return the new handle (context/variable results).

        ``fails``: the error code the spec must raise (``"any"``: whatever it does)."""
        full = _qualify(op)
        sig = OPS[full]
        binds = sig.result in ("context", "variable") and fails in (None, "any")
        handle = None
        if binds:
            prefix = "c" if sig.result == "context" else "v"
            handle = f"{prefix}{self._next[sig.result]}"
        step = Step(full, dict(args), handle, None, note)
        try:
            natives = self.session.arguments(step)
        except Exception as exc:
            raise GenerationError(f"{self.path}: steps[{len(self.steps)}] ({full}): bad arguments: {exc}") from exc
        reason = nonportable_reason(full, natives)
        if reason == "nan-propagation" and "nan-propagation" in self.tags:
            reason = None
        if reason is not None:
            if self.skip_nonportable:
                return None
            raise GenerationError(f"{self.path}: steps[{len(self.steps)}] ({full}): not portable: {reason}")
        observed = self.session.execute(step)
        where = f"{self.path}: steps[{len(self.steps)}] ({full})"
        if isinstance(observed, Crash):
            raise GenerationError(f"{where}: the spec crashed: {observed.describe()}")
        if isinstance(observed, ObservedError):
            if fails is None:
                raise GenerationError(f"{where}: meant to succeed, the spec raised {observed.describe()}")
            if fails != "any" and observed.code != fails:
                raise GenerationError(f"{where}: meant to fail with {fails}, the spec raised {observed.code}")
            self.steps.append(replace(step, bind=None, expect=ExpectedError(observed.code)))
            return None
        if fails not in (None, "any"):
            raise GenerationError(f"{where}: meant to fail with {fails}, the spec returned {observed.describe()[:200]}")
        self.steps.append(replace(step, expect=observed))
        if handle is not None:
            self._next[sig.result] += 1
            self.kinds[handle] = sig.result
        return handle

    def trace(self) -> Trace:
        tags = list(self.tags)
        tags.append(_DTYPE_TAG[self.dtype])
        if any(isinstance(s.expect, ExpectedError) for s in self.steps):
            tags.append("must-fail")
        return Trace(
            scalar_type=self.scalar_type,
            steps=tuple(self.steps),
            generator=Generator(seed=self.seed),
            declaration=self.declaration,
            description=self.description,
            tags=tuple(dict.fromkeys(tags)),  # de-duplicated, order kept
        )


# --- the hand-written cases ---------------------------------------------------------------

_CASES: list[tuple[str, str, tuple[str, ...], tuple[str, ...], str, Callable[[Case], None]]] = []


def case(declaration: str, name: str, dtypes: tuple[str, ...], description: str, tags: tuple[str, ...] = ()) -> Callable:
    """Register a case builder for each dtype in ``dtypes``."""
    lean = _qualify(declaration)

    def register(fn: Callable[[Case], None]) -> Callable[[Case], None]:
        _CASES.append((lean, name, dtypes, tags, description, fn))
        return fn

    return register


def _full_query(c: Case, ctx: str) -> None:
    """Every observation of a context (used to pin a context's whole state in one place)."""
    for op in ("contextSize", "gradientCount", "variableNames", "gradientNames", "isValidContext", "contextToString"):
        c(op, ctx=ctx)


# NN/Runtime/Context.lean ------------------------------------------------------------------


@case("emptyContext", "empty", ALL_DTYPES, "emptyContext: no variables, no gradients, next_id = 0; every query on it")
def _(c: Case) -> None:
    c0 = c("emptyContext")
    _full_query(c, c0)
    c("hasVariable", ctx=c0, name="w")
    c("getVariable", ctx=c0, name="w", s=())
    c("getGradient", ctx=c0, name="w", s=())


@case("registerVariable", "basic", ALL_DTYPES, "registerVariable prepends and bumps next_id (the semantics-note example: w = 3 then x = [1, 2])")
def _(c: Case) -> None:
    k = c.k
    c0 = c("emptyContext")
    c1 = c("registerVariable", ctx=c0, name="w", value=k.scalar(3))
    c2 = c("registerVariable", ctx=c1, name="x", value=k.t([1, 2]))
    _full_query(c, c2)
    c("getVariable", ctx=c2, name="x", s=(2,))
    c("getVariable", ctx=c2, name="w", s=())
    c("hasVariable", ctx=c2, name="w")


@case("registerVariable", "shadowing", ALL_DTYPES, "registering a name twice keeps both entries; lookups see the newest", ("shadowing", "duplicates"))
def _(c: Case) -> None:
    k = c.k
    c0 = c("emptyContext")
    c1 = c("registerVariable", ctx=c0, name="w", value=k.t([1, 2]))
    c2 = c("registerVariable", ctx=c1, name="w", value=k.t([3, 4]), note="shadows the older w")
    c("getVariable", ctx=c2, name="w", s=(2,), note="the newest w")
    c("contextSize", ctx=c2, note="the shadowed entry still counts")
    c("variableNames", ctx=c2)
    c3 = c("registerVariable", ctx=c2, name="b", value=k.scalar(5))
    c4 = c("registerVariable", ctx=c3, name="w", value=k.t([6, 7]))
    _full_query(c, c4)
    c("getVariable", ctx=c4, name="w", s=(2,))


@case("registerVariable", "purity", ("float64",), "older contexts are unchanged by later operations on derived contexts", ("purity",))
def _(c: Case) -> None:
    k = c.k
    c0 = c("emptyContext")
    c1 = c("registerVariable", ctx=c0, name="w", value=k.t([1, 2]))
    c2 = c("registerVariable", ctx=c1, name="w", value=k.t([3, 4]))
    c3 = c("setVariable", ctx=c2, name="w", value=k.t([5, 6, 7]))
    c("registerGradient", ctx=c3, name="w", grad=k.t([8, 9, 10]))
    c("contextSize", ctx=c0, note="c0 is still empty")
    c("getVariable", ctx=c1, name="w", s=(2,), note="c1 still holds [1, 2]")
    c("contextToString", ctx=c1)
    c("contextToString", ctx=c2)
    c("gradientCount", ctx=c3, note="c3 has no gradient: registerGradient returned a new context")


@case("registerVariable", "special-values", FLOATS, "±0, ±inf, NaN payloads (quiet, negative, signalling), subnormals and the largest finite value are stored and returned bit-exact", ("signed-zero", "nan-payloads", "infinities", "subnormals"))
def _(c: Case) -> None:
    k = c.k
    specials = k.raw((10,), (0, k.NEG_ZERO, k.INF, k.NEG_INF, k.QNAN, k.NAN_A, k.NAN_B, k.SNAN, k.MIN_SUB, k.MAX_SUB))
    c0 = c("emptyContext")
    c1 = c("registerVariable", ctx=c0, name="s", value=specials)
    c2 = c("registerVariable", ctx=c1, name="m", value=k.raw((2,), (k.MAX, k.MAX | (1 << (k.width - 1)))))
    c("getVariable", ctx=c2, name="s", s=(10,))
    c("getVariable", ctx=c2, name="m", s=(2,))
    c("contextToString", ctx=c2, note="every NaN prints NaN; -0.0 prints -0.000000")
    c3 = c("registerGradient", ctx=c2, name="s", grad=specials)
    c("getGradient", ctx=c3, name="s", s=(10,))


@case("registerVariable", "zero-size", ALL_DTYPES, "tensors with no elements keep their shapes: [0, 3] ≠ [0, 4]", ("zero-size-dims",))
def _(c: Case) -> None:
    k = c.k
    c0 = c("emptyContext")
    c1 = c("registerVariable", ctx=c0, name="a", value=k.zeros((0, 3)))
    c2 = c("registerVariable", ctx=c1, name="b", value=k.zeros((2, 0)))
    c3 = c("registerVariable", ctx=c2, name="e", value=k.zeros((0,)))
    c("getVariable", ctx=c3, name="a", s=(0, 3))
    c("getVariable", ctx=c3, name="a", s=(0, 4))
    c("getVariable", ctx=c3, name="b", s=(2, 0))
    c("getVariable", ctx=c3, name="b", s=(0, 2))
    c("getVariable", ctx=c3, name="e", s=(0,))
    c("contextToString", ctx=c3, note="[0, 3] prints [], [2, 0] prints [[], []]")


@case("registerVariable", "names", ("float64",), "names are arbitrary Lean strings, compared exactly and printed raw")
def _(c: Case) -> None:
    k = c.k
    c0 = c("emptyContext")
    ctx = c0
    for i, name in enumerate(("w", "W", "w ", "", "θ.weight", "a, b: [c]", "line\nbreak", "nul\u0000byte")):
        ctx = c("registerVariable", ctx=ctx, name=name, value=k.scalar(i))
    _full_query(c, ctx)
    c("hasVariable", ctx=ctx, name="w  ")
    c("getVariable", ctx=ctx, name="", s=())
    c("getVariable", ctx=ctx, name="θ.weight", s=())


@case("registerVariable", "scalar-type-mismatch", ALL_DTYPES, "a context has one α: tensors of another scalar type are rejected (Lean's type checker)", ("must-fail",))
def _(c: Case) -> None:
    k = c.k
    other = Kit("float32" if c.dtype != "float32" else "float64")
    third = Kit("int64" if c.dtype != "int64" else "float32")
    c0 = c("emptyContext")
    c("registerVariable", ctx=c0, name="w", value=other.t([1, 2]), fails="TLR_SCALAR_MISMATCH", note="α is fixed by the trace")
    c1 = c("registerVariable", ctx=c0, name="w", value=k.t([1, 2]))
    c("registerVariable", ctx=c1, name="x", value=other.scalar(1), fails="TLR_SCALAR_MISMATCH")
    c("registerVariable", ctx=c1, name="x", value=third.scalar(1), fails="TLR_SCALAR_MISMATCH")
    c("setVariable", ctx=c1, name="w", value=other.t([1, 2]), fails="TLR_SCALAR_MISMATCH")
    c("registerGradient", ctx=c1, name="w", grad=other.t([1, 2]), fails="TLR_SCALAR_MISMATCH")
    c("setGradient", ctx=c1, name="w", grad=other.t([1, 2]), fails="TLR_SCALAR_MISMATCH")
    c("contextToString", ctx=c1, note="the failed calls changed nothing")


@case("getVariable", "first-match-shape-mismatch", ALL_DTYPES, "lookup finds the newest entry by name and then checks its shape: an older entry with the requested shape is never consulted", ("first-match-shape-mismatch", "shadowing"))
def _(c: Case) -> None:
    k = c.k
    c0 = c("emptyContext")
    c1 = c("registerVariable", ctx=c0, name="w", value=k.t([1, 2]))
    c2 = c("registerVariable", ctx=c1, name="w", value=k.t([3, 4, 5]))
    c("getVariable", ctx=c2, name="w", s=(2,), note="none: the newest w has shape [3]")
    c("getVariable", ctx=c2, name="w", s=(3,))
    c("getVariable", ctx=c1, name="w", s=(2,), note="the older context still answers")
    c3 = c("registerVariable", ctx=c2, name="s", value=k.scalar(7))
    c("getVariable", ctx=c3, name="s", s=(1,), note="scalar ≠ [1]")
    c("getVariable", ctx=c3, name="s", s=(1, 1))
    c("getVariable", ctx=c3, name="s", s=())
    c("getVariable", ctx=c3, name="w", s=(3, 1))


@case("getVariable", "absent", ALL_DTYPES, "absent names (and names that exist only as gradients) give none")
def _(c: Case) -> None:
    k = c.k
    c0 = c("emptyContext")
    c1 = c("registerGradient", ctx=c0, name="g", grad=k.t([1]))
    c2 = c("registerVariable", ctx=c1, name="w", value=k.t([1]))
    c("getVariable", ctx=c2, name="g", s=(1,), note="g is only a gradient")
    c("getVariable", ctx=c2, name="z", s=(1,))
    c("getVariable", ctx=c2, name="W", s=(1,), note="names are case-sensitive")


@case("getVariable", "zero-size-dims", ALL_DTYPES, "[0, 3] and [0, 4] are different shapes", ("zero-size-dims",))
def _(c: Case) -> None:
    k = c.k
    c0 = c("emptyContext")
    c1 = c("registerVariable", ctx=c0, name="a", value=k.zeros((0, 3)))
    c("getVariable", ctx=c1, name="a", s=(0, 4))
    c("getVariable", ctx=c1, name="a", s=(0,))
    c("getVariable", ctx=c1, name="a", s=(0, 3, 1))
    c("getVariable", ctx=c1, name="a", s=(0, 3))
    c2 = c("registerVariable", ctx=c1, name="a", value=k.zeros((0, 4)))
    c("getVariable", ctx=c2, name="a", s=(0, 3), note="the newest a is [0, 4]")
    c("getVariable", ctx=c2, name="a", s=(0, 4))


@case("setVariable", "set-all-shape-change", ALL_DTYPES, "setVariable replaces every entry of the name (shadowed ones too), at the new value's shape; order and next_id kept", ("set-all-shape-change", "duplicates", "shadowing"))
def _(c: Case) -> None:
    k = c.k
    c0 = c("emptyContext")
    c1 = c("registerVariable", ctx=c0, name="w", value=k.t([1, 2]))
    c2 = c("registerVariable", ctx=c1, name="x", value=k.scalar(3))
    c3 = c("registerVariable", ctx=c2, name="w", value=k.t([4, 5]))
    c4 = c("setVariable", ctx=c3, name="w", value=k.t([[6, 7, 8]]), note="both w entries become [[6, 7, 8]]")
    _full_query(c, c4)
    c("getVariable", ctx=c4, name="w", s=(1, 3))
    c("getVariable", ctx=c4, name="w", s=(2,))
    c5 = c("setVariable", ctx=c4, name="x", value=k.zeros((0, 2)), note="scalar → [0, 2]")
    c("getVariable", ctx=c5, name="x", s=(0, 2))
    c("contextToString", ctx=c5)


@case("setVariable", "absent-name", ALL_DTYPES, "setting an absent name leaves the registry unchanged (nothing is inserted)", ("absent-name-set",))
def _(c: Case) -> None:
    k = c.k
    c0 = c("emptyContext")
    c1 = c("setVariable", ctx=c0, name="w", value=k.t([1]), note="empty stays empty")
    _full_query(c, c1)
    c2 = c("registerVariable", ctx=c1, name="w", value=k.t([1]))
    c3 = c("registerGradient", ctx=c2, name="z", grad=k.t([2]))
    c4 = c("setVariable", ctx=c3, name="z", value=k.t([3]), note="z is only a gradient name")
    _full_query(c, c4)
    c("hasVariable", ctx=c4, name="z")
    c("getGradient", ctx=c4, name="z", s=(1,))


@case("registerGradient", "next-id", ALL_DTYPES, "registerGradient prepends to the gradients and does not bump next_id", ("registerGradient-keeps-next_id", "shadowing", "duplicates"))
def _(c: Case) -> None:
    k = c.k
    c0 = c("emptyContext")
    c1 = c("registerVariable", ctx=c0, name="w", value=k.t([1, 2]))
    c2 = c("registerGradient", ctx=c1, name="w", grad=k.t([3, 4]), note="next_id stays 1")
    c3 = c("registerGradient", ctx=c2, name="w", grad=k.t([5, 6, 7]))
    _full_query(c, c3)
    c("getGradient", ctx=c3, name="w", s=(3,))
    c("getGradient", ctx=c3, name="w", s=(2,))
    c("Variable.error", ctx=c3, msg="id", note="error takes next_id = 1")


@case("registerGradient", "unknown-name", ALL_DTYPES, "a gradient under an unknown name is accepted and makes the context invalid", ("invalid-after-unknown-gradient",))
def _(c: Case) -> None:
    k = c.k
    c0 = c("emptyContext")
    c1 = c("registerGradient", ctx=c0, name="ghost", grad=k.scalar(1))
    c("isValidContext", ctx=c1)
    c("contextToString", ctx=c1)
    c2 = c("registerVariable", ctx=c1, name="ghost", value=k.t([1, 2]), note="now the name exists (shape irrelevant)")
    c("isValidContext", ctx=c2)
    c3 = c("registerGradient", ctx=c2, name="other", grad=k.scalar(2))
    c("isValidContext", ctx=c3)
    c4 = c("clearGradients", ctx=c3)
    c("isValidContext", ctx=c4)


@case("getGradient", "first-match", ALL_DTYPES, "gradient lookup: first entry by name, then its shape", ("first-match-shape-mismatch", "zero-size-dims"))
def _(c: Case) -> None:
    k = c.k
    c0 = c("emptyContext")
    c1 = c("registerGradient", ctx=c0, name="g", grad=k.t([1, 2]))
    c2 = c("registerGradient", ctx=c1, name="g", grad=k.zeros((0, 3)))
    c("getGradient", ctx=c2, name="g", s=(2,))
    c("getGradient", ctx=c2, name="g", s=(0, 4))
    c("getGradient", ctx=c2, name="g", s=(0, 3))
    c("getGradient", ctx=c2, name="h", s=(2,))
    c3 = c("registerVariable", ctx=c2, name="h", value=k.t([1, 2]))
    c("getGradient", ctx=c3, name="h", s=(2,), note="h is only a variable")


@case("setGradient", "set-all", ALL_DTYPES, "setGradient replaces every gradient entry of the name (shape may change); absent names change nothing", ("set-all-shape-change", "absent-name-set"))
def _(c: Case) -> None:
    k = c.k
    c0 = c("emptyContext")
    c1 = c("registerVariable", ctx=c0, name="w", value=k.t([1, 2]))
    c2 = c("registerGradient", ctx=c1, name="w", grad=k.t([1, 1]))
    c3 = c("registerGradient", ctx=c2, name="b", grad=k.scalar(2))
    c4 = c("registerGradient", ctx=c3, name="w", grad=k.t([3, 3]))
    c5 = c("setGradient", ctx=c4, name="w", grad=k.t([9, 9, 9]))
    _full_query(c, c5)
    c("getGradient", ctx=c5, name="w", s=(3,))
    c6 = c("setGradient", ctx=c5, name="zzz", grad=k.t([1]), note="absent: unchanged")
    _full_query(c, c6)
    c("getVariable", ctx=c6, name="w", s=(2,), note="variables untouched")


@case("clearGradients", "basic", ALL_DTYPES, "clearGradients empties the gradient list only (variables and next_id kept)")
def _(c: Case) -> None:
    k = c.k
    c0 = c("emptyContext")
    c1 = c("clearGradients", ctx=c0)
    _full_query(c, c1)
    c2 = c("registerVariable", ctx=c1, name="w", value=k.t([1, 2]))
    c3 = c("registerGradient", ctx=c2, name="w", grad=k.t([3, 4]))
    c4 = c("registerGradient", ctx=c3, name="ghost", grad=k.t([5]))
    c5 = c("clearGradients", ctx=c4)
    _full_query(c, c5)
    c("getVariable", ctx=c5, name="w", s=(2,))
    c("getGradient", ctx=c5, name="w", s=(2,))
    c("gradientCount", ctx=c4, note="the older context keeps its gradients")


@case("hasVariable", "basic", ALL_DTYPES, "hasVariable tests the name only (shape ignored; gradient names do not count)", ("shadowing",))
def _(c: Case) -> None:
    k = c.k
    c0 = c("emptyContext")
    c("hasVariable", ctx=c0, name="w")
    c1 = c("registerVariable", ctx=c0, name="w", value=k.zeros((0, 3)))
    c2 = c("registerGradient", ctx=c1, name="g", grad=k.scalar(1))
    c("hasVariable", ctx=c2, name="w")
    c("hasVariable", ctx=c2, name="g")
    c3 = c("setVariable", ctx=c2, name="w", value=k.scalar(1))
    c("hasVariable", ctx=c3, name="w")
    c("hasVariable", ctx=c3, name="")


@case("variableNames", "order-duplicates", ALL_DTYPES, "names in list order, newest first, duplicates kept", ("duplicates",))
def _(c: Case) -> None:
    k = c.k
    ctx = c("emptyContext")
    for name in ("a", "b", "a", "c", "a"):
        ctx = c("registerVariable", ctx=ctx, name=name, value=k.scalar(1))
    c("variableNames", ctx=ctx)
    ctx = c("setVariable", ctx=ctx, name="a", value=k.t([2]))
    c("variableNames", ctx=ctx, note="set keeps order")


@case("gradientNames", "order-duplicates", ALL_DTYPES, "gradient names in list order, newest first, duplicates kept", ("duplicates",))
def _(c: Case) -> None:
    k = c.k
    ctx = c("emptyContext")
    c("gradientNames", ctx=ctx)
    for name in ("a", "b", "a", "b"):
        ctx = c("registerGradient", ctx=ctx, name=name, grad=k.scalar(1))
    c("gradientNames", ctx=ctx)
    c("variableNames", ctx=ctx)


@case("contextSize", "duplicates", ALL_DTYPES, "contextSize counts list entries, shadowed duplicates included", ("duplicates",))
def _(c: Case) -> None:
    k = c.k
    ctx = c("emptyContext")
    c("contextSize", ctx=ctx)
    for name in ("w", "w", "w", "b"):
        ctx = c("registerVariable", ctx=ctx, name=name, value=k.scalar(1))
        c("contextSize", ctx=ctx)
    ctx = c("registerGradient", ctx=ctx, name="w", grad=k.scalar(1))
    c("contextSize", ctx=ctx, note="gradients are not counted")


@case("gradientCount", "duplicates", ALL_DTYPES, "gradientCount counts gradient entries, duplicates included", ("duplicates",))
def _(c: Case) -> None:
    k = c.k
    ctx = c("emptyContext")
    for name in ("w", "w", "ghost"):
        ctx = c("registerGradient", ctx=ctx, name=name, grad=k.scalar(1))
        c("gradientCount", ctx=ctx)
    ctx = c("registerVariable", ctx=ctx, name="w", value=k.scalar(1))
    c("gradientCount", ctx=ctx)
    ctx = c("clearGradients", ctx=ctx)
    c("gradientCount", ctx=ctx)


@case("isValidContext", "names-only", ALL_DTYPES, "isValidContext: every gradient name is a variable name; shapes are ignored", ("invalid-after-unknown-gradient",))
def _(c: Case) -> None:
    k = c.k
    c0 = c("emptyContext")
    c("isValidContext", ctx=c0)
    c1 = c("registerVariable", ctx=c0, name="w", value=k.t([1, 2]))
    c2 = c("registerGradient", ctx=c1, name="w", grad=k.zeros((0, 4)), note="another shape: still valid")
    c("isValidContext", ctx=c2)
    c3 = c("registerGradient", ctx=c2, name="b", grad=k.scalar(1))
    c("isValidContext", ctx=c3)
    c4 = c("setGradient", ctx=c3, name="b", grad=k.scalar(2))
    c("isValidContext", ctx=c4)
    c5 = c("registerVariable", ctx=c4, name="b", value=k.scalar(0))
    c("isValidContext", ctx=c5)


@case("contextToString", "printing", ALL_DTYPES, "contextToString: list order, names raw, Lean number printing, next_id not shown", ("signed-zero", "zero-size-dims"))
def _(c: Case) -> None:
    k = c.k
    c0 = c("emptyContext")
    c("contextToString", ctx=c0)
    c1 = c("registerVariable", ctx=c0, name="w", value=k.scalar(3))
    c2 = c("registerVariable", ctx=c1, name="x", value=k.t([1, 2]))
    c("contextToString", ctx=c2, note="Context(vars: [x: [1.000000, 2.000000], w: 3.000000], grads: []) for Float")
    c3 = c("registerVariable", ctx=c2, name="m", value=k.t([[1, 2], [3, 4]]))
    c4 = c("registerGradient", ctx=c3, name="m", grad=k.t([[-1, 0], [5, -6]]))
    c5 = c("registerGradient", ctx=c4, name="e", grad=k.zeros((2, 0)))
    c("contextToString", ctx=c5)
    if c.dtype == "int64":
        c6 = c("registerVariable", ctx=c5, name="big", value=k.raw((2,), (k.MIN, k.MAX)))
    else:
        c6 = c("registerVariable", ctx=c5, name="f", value=k.t([0.5, -0.25, 1e20, 1e-7, -0.0, 123456.5]))
    c("contextToString", ctx=c6)


@case("contextToString", "special-values", FLOATS, "NaN of any sign or payload prints NaN; ±inf print inf/-inf; tiny values print ±0.000000", ("nan-payloads", "infinities", "subnormals", "signed-zero"))
def _(c: Case) -> None:
    k = c.k
    c0 = c("emptyContext")
    c1 = c("registerVariable", ctx=c0, name="s", value=k.raw((8,), (k.QNAN, k.NAN_B, k.SNAN, k.INF, k.NEG_INF, k.MIN_SUB, k.MIN_SUB | k.NEG_ZERO, k.MAX)))
    c("contextToString", ctx=c1)


# NN/Runtime/Variable.lean -----------------------------------------------------------------


@case("Variable.createVariable", "basic", ALL_DTYPES, "createVariable: no gradient; requires_grad defaults to true")
def _(c: Case) -> None:
    k = c.k
    v0 = c("Variable.createVariable", id=0, name="w", value=k.t([1, 2]), note="requires_grad omitted: the Lean default true")
    c("Variable.variableToString", v=v0)
    v1 = c("Variable.createVariable", id=7, name="b", value=k.scalar(1), requires_grad=False)
    c("Variable.checkRequiresGrad", v=v1)
    v2 = c("Variable.createVariable", id=(1 << 64) - 1, name="", value=k.zeros((0, 3)), requires_grad=True, note="the largest v1 id; empty name")
    c("Variable.variableToString", v=v2)
    c("Variable.getGradient", v=v2)


@case("Variable.getValue", "basic", ALL_DTYPES, "getValue returns the value, bit-exact, at its shape", ("zero-size-dims",))
def _(c: Case) -> None:
    k = c.k
    v0 = c("Variable.createVariable", id=1, name="w", value=k.t([[1, 2, 3], [4, 5, 6]]))
    c("Variable.getValue", v=v0)
    v1 = c("Variable.createVariable", id=2, name="e", value=k.zeros((0, 4)))
    c("Variable.getValue", v=v1)
    v2 = c("Variable.createVariable", id=3, name="s", value=k.scalar(-1))
    c("Variable.getValue", v=v2)


@case("Variable.getValue", "special-values", FLOATS, "values with NaN payloads, -0.0, inf and subnormals come back bit-exact", ("nan-payloads", "signed-zero", "infinities", "subnormals"))
def _(c: Case) -> None:
    k = c.k
    v0 = c("Variable.createVariable", id=1, name="s", value=k.raw((2, 3), (k.NAN_A, k.NAN_B, k.SNAN, k.NEG_ZERO, k.NEG_INF, k.MAX_SUB)))
    c("Variable.getValue", v=v0)
    c("Variable.variableToString", v=v0)


@case("Variable.setValue", "same-shape-only", ALL_DTYPES, "setValue keeps id, name, gradient and flag; another shape or scalar type is rejected", ("must-fail", "zero-size-dims"))
def _(c: Case) -> None:
    k = c.k
    other = Kit("float32" if c.dtype != "float32" else "float64")
    v0 = c("Variable.createVariable", id=4, name="w", value=k.t([1, 2]))
    v1 = c("Variable.setGradient", v=v0, grad=k.t([5, 5]))
    v2 = c("Variable.setValue", v=v1, new_value=k.t([3, 4]))
    c("Variable.variableToString", v=v2)
    c("Variable.setValue", v=v1, new_value=k.t([1, 2, 3]), fails="TLR_SHAPE_MISMATCH")
    c("Variable.setValue", v=v1, new_value=k.t([[1, 2]]), fails="TLR_SHAPE_MISMATCH")
    c("Variable.setValue", v=v1, new_value=other.t([1, 2]), fails="TLR_SCALAR_MISMATCH")
    e0 = c("Variable.createVariable", id=5, name="e", value=k.zeros((0, 3)))
    c("Variable.setValue", v=e0, new_value=k.zeros((0, 4)), fails="TLR_SHAPE_MISMATCH", note="[0, 3] ≠ [0, 4]")
    s0 = c("Variable.createVariable", id=6, name="s", value=k.scalar(1))
    c("Variable.setValue", v=s0, new_value=k.t([1]), fails="TLR_SHAPE_MISMATCH", note="scalar ≠ [1]")
    c("Variable.getValue", v=v1, note="unchanged")


@case("Variable.getGradient", "basic", ALL_DTYPES, "getGradient: none until set, then the gradient")
def _(c: Case) -> None:
    k = c.k
    v0 = c("Variable.createVariable", id=1, name="w", value=k.t([1, 2]))
    c("Variable.getGradient", v=v0)
    v1 = c("Variable.setGradient", v=v0, grad=k.t([0, -1]))
    c("Variable.getGradient", v=v1)
    c("Variable.getGradient", v=v0, note="the older variable is unchanged")


@case("Variable.setGradient", "basic", ALL_DTYPES, "setGradient overwrites (ignoring requires_grad); the gradient must have the variable's shape", ("must-fail", "purity"))
def _(c: Case) -> None:
    k = c.k
    v0 = c("Variable.createVariable", id=1, name="w", value=k.t([1, 2]), requires_grad=False)
    v1 = c("Variable.setGradient", v=v0, grad=k.t([3, 4]), note="requires_grad=false does not matter")
    v2 = c("Variable.setGradient", v=v1, grad=k.t([5, 6]))
    c("Variable.getGradient", v=v2)
    c("Variable.getGradient", v=v1)
    c("Variable.setGradient", v=v2, grad=k.t([1, 2, 3]), fails="TLR_SHAPE_MISMATCH")
    c("Variable.setGradient", v=v2, grad=k.scalar(1), fails="TLR_SHAPE_MISMATCH")


@case("Variable.clearGradient", "basic", ALL_DTYPES, "clearGradient: gradient := none, everything else kept")
def _(c: Case) -> None:
    k = c.k
    v0 = c("Variable.createVariable", id=1, name="w", value=k.t([1, 2]))
    v1 = c("Variable.clearGradient", v=v0)
    v2 = c("Variable.setGradient", v=v1, grad=k.t([3, 4]))
    v3 = c("Variable.clearGradient", v=v2)
    c("Variable.getGradient", v=v3)
    c("Variable.variableToString", v=v3)


@case("Variable.checkRequiresGrad", "basic", ALL_DTYPES, "checkRequiresGrad reads the flag (default true; detach makes it false; clone keeps it)")
def _(c: Case) -> None:
    k = c.k
    v0 = c("Variable.createVariable", id=1, name="w", value=k.scalar(1))
    c("Variable.checkRequiresGrad", v=v0)
    v1 = c("Variable.detachVariable", v=v0)
    c("Variable.checkRequiresGrad", v=v1)
    v2 = c("Variable.cloneVariable", v=v1, new_id=9)
    c("Variable.checkRequiresGrad", v=v2)
    v3 = c("Variable.createVariable", id=2, name="b", value=k.scalar(1), requires_grad=False)
    c("Variable.checkRequiresGrad", v=v3)


@case("Variable.accumulateGradient", "basic", FLOATS, "accumulateGradient: none → g; some e → addSpec e g (elementwise, existing first); requires_grad ignored", ("signed-zero", "subnormals", "infinities", "must-fail"))
def _(c: Case) -> None:
    k = c.k
    v0 = c("Variable.createVariable", id=1, name="w", value=k.t([1, 2, 3]), requires_grad=False)
    v1 = c("Variable.accumulateGradient", v=v0, grad=k.t([0.5, -0.0, 1]), note="no gradient yet: assignment")
    v2 = c("Variable.accumulateGradient", v=v1, grad=k.t([0.25, -0.0, -1]), note="-0 + -0 = -0; 1 + -1 = +0")
    c("Variable.getGradient", v=v2)
    v3 = c("Variable.accumulateGradient", v=v2, grad=k.raw((3,), (k.MAX_SUB, k.MIN_SUB, k.INF)))
    c("Variable.getGradient", v=v3)
    v4 = c("Variable.accumulateGradient", v=v3, grad=k.raw((3,), (k.MIN_SUB, k.MIN_SUB | k.NEG_ZERO, k.INF)))
    c("Variable.variableToString", v=v4)
    c("Variable.accumulateGradient", v=v4, grad=k.t([1, 2]), fails="TLR_SHAPE_MISMATCH")
    c("Variable.accumulateGradient", v=v4, grad=k.t([[1, 2, 3]]), fails="TLR_SHAPE_MISMATCH")
    big = c("Variable.createVariable", id=2, name="big", value=k.t([1, 1]))
    b1 = c("Variable.accumulateGradient", v=big, grad=k.raw((2,), (k.MAX, k.MAX)))
    c("Variable.accumulateGradient", v=b1, grad=k.raw((2,), (k.MAX, k.NEG_INF)), note="overflow to inf; finite + -inf = -inf")
    e0 = c("Variable.createVariable", id=3, name="e", value=k.zeros((0, 2)))
    e1 = c("Variable.accumulateGradient", v=e0, grad=k.zeros((0, 2)))
    c("Variable.accumulateGradient", v=e1, grad=k.zeros((0, 2)))


@case("Variable.accumulateGradient", "float32-rounding", ("float32",), "IEEE32Exec rounds each sum to binary32 (2^24 + 1 = 2^24; binary64 would keep the 1)", ("float32-rounding",))
def _(c: Case) -> None:
    k = c.k
    v0 = c("Variable.createVariable", id=1, name="w", value=k.t([0, 0, 0]))
    v1 = c("Variable.setGradient", v=v0, grad=k.t([16777216, 1, 0.1]))
    v2 = c("Variable.accumulateGradient", v=v1, grad=k.t([1, 1e-8, 0.2]))
    c("Variable.getGradient", v=v2)


@case("Variable.accumulateGradient", "nan-propagation", ("float64",), "binary64: a quiet NaN operand's payload and sign propagate through addSpec (one NaN per addition)", ("nan-payloads", "nan-propagation"))
def _(c: Case) -> None:
    k = c.k
    v0 = c("Variable.createVariable", id=1, name="w", value=k.t([0, 0, 0]))
    v1 = c("Variable.setGradient", v=v0, grad=k.raw((3,), (k.NAN_A, k.value(1), k.NAN_B)))
    v2 = c("Variable.accumulateGradient", v=v1, grad=k.raw((3,), (k.value(2), k.NAN_B, k.value(-0.0))))
    c("Variable.getGradient", v=v2)


@case("Variable.accumulateGradient", "ieee32-nan-rules", ("float32",), "IEEE32Exec NaN rules (Exec32.lean): a NaN operand is returned quieted, a signalling NaN before a quiet one, x before y; inf + -inf is the canonical NaN 0x7FC00000", ("nan-payloads", "ieee32-nan-rules", "infinities"))
def _(c: Case) -> None:
    k = c.k
    v0 = c("Variable.createVariable", id=1, name="w", value=k.t([0, 0, 0, 0, 0]))
    v1 = c("Variable.setGradient", v=v0, grad=k.raw((5,), (k.NAN_A, k.NAN_A, k.INF, k.value(1), k.SNAN)))
    v2 = c("Variable.accumulateGradient", v=v1, grad=k.raw((5,), (k.NAN_B, k.SNAN, k.NEG_INF, k.NAN_B, k.value(2))))
    c("Variable.getGradient", v=v2)


@case("Variable.accumulateGradient", "no-context-instance", ("int64",), "Int has no Context instance: accumulateGradient and variableNorm do not type-check", ("must-fail",))
def _(c: Case) -> None:
    k = c.k
    v0 = c("Variable.createVariable", id=1, name="w", value=k.t([1, 2]))
    c("Variable.accumulateGradient", v=v0, grad=k.t([1, 2]), fails="TLR_NO_CONTEXT_INSTANCE")
    v1 = c("Variable.setGradient", v=v0, grad=k.t([3, 4]))
    c("Variable.accumulateGradient", v=v1, grad=k.t([1, 2]), fails="TLR_NO_CONTEXT_INSTANCE")
    c("Variable.variableNorm", v=v1, fails="TLR_NO_CONTEXT_INSTANCE")


@case("Variable.variableToString", "printing", ALL_DTYPES, "variableToString: name raw, id, pretty value, grad or none, requires_grad true/false", ("zero-size-dims", "signed-zero"))
def _(c: Case) -> None:
    k = c.k
    v0 = c("Variable.createVariable", id=3, name="layer1.weight", value=k.t([[1, -2], [0, 4]]))
    c("Variable.variableToString", v=v0)
    v1 = c("Variable.setGradient", v=v0, grad=k.t([[0.5, 0], [-0.5, 8]]) if c.dtype != "int64" else k.t([[5, 0], [-5, 8]]))
    c("Variable.variableToString", v=v1)
    v2 = c("Variable.detachVariable", v=v1)
    c("Variable.variableToString", v=v2)
    v3 = c("Variable.createVariable", id=0, name="e", value=k.zeros((2, 0)), requires_grad=False)
    c("Variable.variableToString", v=v3)
    v4 = c("Variable.createVariable", id=12, name="s", value=k.scalar(-0.0 if c.dtype != "int64" else -5))
    c("Variable.variableToString", v=v4)


@case("Variable.variableEq", "id-and-name", ALL_DTYPES, "variableEq compares ids and names only; both variables must share α and s", ("must-fail",))
def _(c: Case) -> None:
    k = c.k
    other = Kit("float32" if c.dtype != "float32" else "float64")
    a = c("Variable.createVariable", id=1, name="w", value=k.t([1, 2]))
    b = c("Variable.createVariable", id=1, name="w", value=k.t([3, 4]), requires_grad=False)
    b2 = c("Variable.setGradient", v=b, grad=k.t([1, 1]))
    c("Variable.variableEq", v1=a, v2=b2, note="values, gradients, flags ignored")
    d = c("Variable.createVariable", id=2, name="w", value=k.t([1, 2]))
    c("Variable.variableEq", v1=a, v2=d)
    e = c("Variable.createVariable", id=1, name="W", value=k.t([1, 2]))
    c("Variable.variableEq", v1=a, v2=e)
    c("Variable.variableEq", v1=a, v2=a)
    f = c("Variable.createVariable", id=1, name="w", value=k.t([1, 2, 3]))
    c("Variable.variableEq", v1=a, v2=f, fails="TLR_SHAPE_MISMATCH", note="Variable α s: both must have shape s")
    g = c("Variable.createVariable", id=1, name="w", value=other.t([1, 2]))
    c("Variable.variableEq", v1=a, v2=g, fails="TLR_SCALAR_MISMATCH")


@case("Variable.hasShape", "areEqual", ALL_DTYPES, "hasShape is Shape.areEqual of the variable's shape and the given one", ("zero-size-dims",))
def _(c: Case) -> None:
    k = c.k
    v0 = c("Variable.createVariable", id=1, name="w", value=k.zeros((0, 3)))
    for s in ((0, 3), (0, 4), (0,), (0, 3, 1), ()):
        c("Variable.hasShape", v=v0, expected_shape=s)
    v1 = c("Variable.createVariable", id=2, name="s", value=k.scalar(1))
    for s in ((), (1,)):
        c("Variable.hasShape", v=v1, expected_shape=s)


@case("Variable.variableNorm", "fold-order", FLOATS, "variableNorm = sqrt of ONE flat left fold from +0 over x*x in row-major order (here 1 + tiny + tiny … stays 1; pairwise or exact sums do not)", ("norm-fold-order",))
def _(c: Case) -> None:
    k = c.k
    tiny = 2.0**-27 if c.dtype == "float64" else 2.0**-13  # tiny² is below half an ulp of 1
    v0 = c("Variable.createVariable", id=1, name="w", value=k.t([1.0] + [tiny] * 16))
    c("Variable.variableNorm", v=v0)
    v1 = c("Variable.createVariable", id=2, name="r", value=k.t([tiny] * 16 + [1.0]), note="the small squares first: they add up")
    c("Variable.variableNorm", v=v1)
    v2 = c("Variable.createVariable", id=3, name="m", value=k.t([[3, 4], [12, 0]]))
    c("Variable.variableNorm", v=v2)


@case("Variable.variableNorm", "overflow-and-edges", FLOATS, "squares overflow to inf (hypot would not); empty → +0; -0 → +0; subnormal squares underflow to 0", ("norm-overflow", "signed-zero", "subnormals", "infinities", "zero-size-dims"))
def _(c: Case) -> None:
    k = c.k
    huge = 1e200 if c.dtype == "float64" else 1e30
    cases = [
        k.t([huge, huge]),
        k.t([huge]),
        k.zeros((0,)),
        k.zeros((0, 3)),
        k.raw((), (k.NEG_ZERO,)),
        k.raw((2,), (k.MIN_SUB, k.MAX_SUB)),
        k.raw((2,), (k.NEG_INF, k.value(1))),
        k.t([-3, 4]),
    ]
    for i, t in enumerate(cases):
        v = c("Variable.createVariable", id=i, name=f"n{i}", value=t)
        c("Variable.variableNorm", v=v)


@case("Variable.variableNorm", "nan-propagation", ("float64",), "binary64: a quiet NaN's payload and sign survive x*x, the fold and sqrt", ("nan-payloads", "nan-propagation"))
def _(c: Case) -> None:
    k = c.k
    for i, bits in enumerate(((k.NAN_A, k.value(2)), (k.value(2), k.NAN_B, k.value(3)), (k.NAN_A, k.NAN_A))):
        v = c("Variable.createVariable", id=i, name="n", value=k.raw((len(bits),), bits))
        c("Variable.variableNorm", v=v)


@case("Variable.variableNorm", "ieee32-nan-rules", ("float32",), "IEEE32Exec: the first NaN in row-major order survives x*x, the fold and sqrt, quieted (Exec32's chooseNaN2 keeps the running total's NaN)", ("nan-payloads", "ieee32-nan-rules"))
def _(c: Case) -> None:
    k = c.k
    for i, bits in enumerate(((k.value(2), k.NAN_B, k.NAN_A), (k.SNAN, k.value(3)), (k.NAN_A, k.SNAN))):
        v = c("Variable.createVariable", id=i, name="n", value=k.raw((len(bits),), bits))
        c("Variable.variableNorm", v=v)


@case("Variable.cloneVariable", "basic", ALL_DTYPES, "cloneVariable: new id, gradient cleared, name/value/flag kept")
def _(c: Case) -> None:
    k = c.k
    v0 = c("Variable.createVariable", id=1, name="w", value=k.t([1, 2]), requires_grad=False)
    v1 = c("Variable.setGradient", v=v0, grad=k.t([3, 4]))
    v2 = c("Variable.cloneVariable", v=v1, new_id=42)
    c("Variable.getGradient", v=v2)
    c("Variable.variableEq", v1=v1, v2=v2)
    c("Variable.cloneVariable", v=v1, new_id=1)
    c("Variable.getGradient", v=v1, note="the original keeps its gradient")


@case("Variable.detachVariable", "basic", ALL_DTYPES, "detachVariable: requires_grad := false and gradient cleared")
def _(c: Case) -> None:
    k = c.k
    v0 = c("Variable.createVariable", id=5, name="w", value=k.t([1, 2]))
    v1 = c("Variable.setGradient", v=v0, grad=k.t([3, 4]))
    v2 = c("Variable.detachVariable", v=v1)
    c("Variable.checkRequiresGrad", v=v2)
    c("Variable.getGradient", v=v2)
    c("Variable.detachVariable", v=v2)


@case("Variable.registerInContext", "basic", ALL_DTYPES, "registerInContext = registerVariable ctx v.name v.value: bumps next_id, ignores id/gradient/flag", ("shadowing",))
def _(c: Case) -> None:
    k = c.k
    c0 = c("emptyContext")
    v0 = c("Variable.createVariable", id=99, name="w", value=k.t([1, 2]), requires_grad=False)
    v1 = c("Variable.setGradient", v=v0, grad=k.t([3, 4]))
    c1 = c("Variable.registerInContext", ctx=c0, v=v1, note="the gradient is not registered")
    _full_query(c, c1)
    c2 = c("Variable.registerInContext", ctx=c1, v=v0)
    c("contextSize", ctx=c2)
    c("Variable.error", ctx=c2, msg="next", note="id = next_id = 2, not 99")


@case("Variable.getFromContext", "basic", ALL_DTYPES, "getFromContext = getVariable ctx v.name at v's shape (first match, then shape)", ("first-match-shape-mismatch", "zero-size-dims"))
def _(c: Case) -> None:
    k = c.k
    c0 = c("emptyContext")
    v0 = c("Variable.createVariable", id=1, name="w", value=k.t([1, 2]))
    c("Variable.getFromContext", ctx=c0, v=v0)
    c1 = c("registerVariable", ctx=c0, name="w", value=k.t([5, 6]))
    c("Variable.getFromContext", ctx=c1, v=v0, note="the context's value, not the variable's")
    c2 = c("registerVariable", ctx=c1, name="w", value=k.t([5, 6, 7]))
    c("Variable.getFromContext", ctx=c2, v=v0, note="none: the newest w has shape [3]")
    e0 = c("Variable.createVariable", id=2, name="e", value=k.zeros((0, 3)))
    c3 = c("registerVariable", ctx=c2, name="e", value=k.zeros((0, 4)))
    c("Variable.getFromContext", ctx=c3, v=e0)


@case("Variable.registerGradientInContext", "basic", ALL_DTYPES, "no gradient → the context unchanged; else registerGradient ctx v.name g (next_id kept; unknown names make the context invalid)", ("registerGradient-keeps-next_id", "invalid-after-unknown-gradient"))
def _(c: Case) -> None:
    k = c.k
    c0 = c("emptyContext")
    v0 = c("Variable.createVariable", id=1, name="w", value=k.t([1, 2]))
    c1 = c("Variable.registerGradientInContext", ctx=c0, v=v0, note="no gradient: unchanged")
    _full_query(c, c1)
    v1 = c("Variable.setGradient", v=v0, grad=k.t([3, 4]))
    c2 = c("Variable.registerGradientInContext", ctx=c1, v=v1)
    _full_query(c, c2)
    c3 = c("Variable.registerInContext", ctx=c2, v=v1)
    c4 = c("Variable.registerGradientInContext", ctx=c3, v=v1)
    _full_query(c, c4)


@case("Variable.error", "sentinel", ALL_DTYPES, "error: scalar zero named msg with id = next_id, no gradient, requires_grad false; the context is unchanged", ("registerGradient-keeps-next_id", "purity"))
def _(c: Case) -> None:
    k = c.k
    c0 = c("emptyContext")
    c("Variable.error", ctx=c0, msg="something went wrong")
    c1 = c("registerVariable", ctx=c0, name="w", value=k.t([1, 2]))
    c2 = c("registerVariable", ctx=c1, name="w", value=k.t([3, 4]))
    c3 = c("registerGradient", ctx=c2, name="w", grad=k.t([1, 1]))
    e = c("Variable.error", ctx=c3, msg="")
    c("Variable.variableToString", v=e)
    c("contextSize", ctx=c3, note="error did not change the context")
    c("Variable.error", ctx=c3, msg="again: same id")


@case("Variable.castShape", "evidence", ALL_DTYPES, "castShape along equal shapes is the identity (value and gradient); unequal shapes have no evidence", ("must-fail", "zero-size-dims"))
def _(c: Case) -> None:
    k = c.k
    v0 = c("Variable.createVariable", id=1, name="w", value=k.t([[1, 2, 3], [4, 5, 6]]))
    v1 = c("Variable.setGradient", v=v0, grad=k.t([[1, 1, 1], [2, 2, 2]]))
    c("Variable.castShape", v=v1, s2=(2, 3))
    c("Variable.castShape", v=v1, s2=(3, 2), fails="TLR_CAST_EVIDENCE")
    c("Variable.castShape", v=v1, s2=(6,), fails="TLR_CAST_EVIDENCE", note="same size, other shape")
    e0 = c("Variable.createVariable", id=2, name="e", value=k.zeros((0, 3)))
    c("Variable.castShape", v=e0, s2=(0, 3))
    c("Variable.castShape", v=e0, s2=(0, 4), fails="TLR_CAST_EVIDENCE")
    s0 = c("Variable.createVariable", id=3, name="s", value=k.scalar(2))
    c("Variable.castShape", v=s0, s2=())
    c("Variable.castShape", v=s0, s2=(1,), fails="TLR_CAST_EVIDENCE")



# --- shortcut states: every must-fail input where an implementation might return early -------


@case("setVariable", "value-checked-when-absent", ALL_DTYPES, "setVariable checks the value's scalar type even when the name is absent (empty context, other names only, the name only as a gradient) — no early return", ("must-fail",))
def _(c: Case) -> None:
    k = c.k
    other = Kit("float32" if c.dtype != "float32" else "float64")
    c0 = c("emptyContext")
    c1 = c("registerVariable", ctx=c0, name="b", value=k.t([1, 2]))
    c2 = c("registerGradient", ctx=c1, name="w", grad=k.t([1, 2]))
    for ctx in (c0, c1, c2):
        c("setVariable", ctx=ctx, name="w", value=other.t([1, 2]), fails="TLR_SCALAR_MISMATCH", note="w is absent")
        c("setVariable", ctx=ctx, name="w", value=k.t([3, 4]), note="absent: unchanged")
    c3 = c("registerVariable", ctx=c2, name="w", value=k.t([5, 6]))
    c("setVariable", ctx=c3, name="w", value=other.t([1, 2]), fails="TLR_SCALAR_MISMATCH", note="w is present")


@case("Variable.registerGradientInContext", "context-checked-without-gradient", ALL_DTYPES, "registerGradientInContext checks that the context is over the variable's scalar type even when the variable has no gradient", ("must-fail",))
def _(c: Case) -> None:
    k = c.k
    other = Kit("float32" if c.dtype != "float32" else "float64")
    c0 = c("emptyContext")
    c1 = c("registerVariable", ctx=c0, name="w", value=k.t([1, 2]))
    v0 = c("Variable.createVariable", id=1, name="w", value=other.t([1, 2]))
    v1 = c("Variable.setGradient", v=v0, grad=other.t([3, 4]))
    v2 = c("Variable.clearGradient", v=v1)
    for ctx in (c0, c1):
        for v in (v0, v1, v2):
            c("Variable.registerGradientInContext", ctx=ctx, v=v, fails="TLR_SCALAR_MISMATCH")


@case("Variable.accumulateGradient", "results-independent", FLOATS, "every accumulateGradient result is its own tensor: earlier results, their inputs and other variables of the same shape read back unchanged after later accumulations", ("purity",))
def _(c: Case) -> None:
    k = c.k
    v0 = c("Variable.createVariable", id=1, name="w", value=k.t([1, 2, 3]))
    v1 = c("Variable.accumulateGradient", v=v0, grad=k.t([1, 1, 1]))
    v2 = c("Variable.accumulateGradient", v=v1, grad=k.t([2, 2, 2]))
    w0 = c("Variable.createVariable", id=2, name="b", value=k.t([0, 0, 0]))
    w1 = c("Variable.setGradient", v=w0, grad=k.t([5, 6, 7]))
    w2 = c("Variable.accumulateGradient", v=w1, grad=k.t([10, 20, 30]))
    v3 = c("Variable.accumulateGradient", v=v2, grad=k.t([4, 4, 4]))
    for v in (v1, v2, w1, w2, v3):
        c("Variable.getGradient", v=v)
        c("Variable.getValue", v=v)
    ctx = c("emptyContext")
    ctx = c("Variable.registerGradientInContext", ctx=ctx, v=v2)
    c("Variable.accumulateGradient", v=w2, grad=k.t([-1, -1, -1]))
    c("getGradient", ctx=ctx, name="w", s=(3,))
    c("Variable.variableToString", v=v1)
    c("Variable.variableToString", v=v2)


@case("Variable.variableToString", "float-printing", ("float64", "float32"), "Float.toString is printf %f (6 decimals, no exponent), never repr: 0.1, 1e-7, 1e20, 123456.789, -2.5, 1/3", ("signed-zero",))
def _(c: Case) -> None:
    k = c.k
    v0 = c("Variable.createVariable", id=1, name="f", value=k.t([0.1, 1e-7, 1e20, 123456.789, -2.5, 1 / 3]))
    c("Variable.variableToString", v=v0)
    c0 = c("emptyContext")
    c1 = c("registerVariable", ctx=c0, name="f", value=k.t([[0.5, 2.0], [1e-3, 7.0]]))
    c("contextToString", ctx=c1)


# --- argument-domain edges: every edge value present AND absent, for every query ----------

#: Edge values of the name domain (a Lean ``String``): empty, blank, case, non-ASCII, NUL,
#: control characters, long.  Each is asked for, by every query that takes a name, both where
#: it is present (registered twice — shadowed, at two shapes — and as a gradient) and where it
#: is absent (an empty context, and a context holding it only as a gradient / only as a variable).
EDGE_NAMES: tuple[str, ...] = ("", " ", "w", "W", "θ.weight", "nul\u0000byte", "line\nbreak", "x" * 64)
#: Edge values of the shape domain, cycled over the names: scalar, zero-size dimensions, a vector.
EDGE_SHAPES: tuple[tuple[int, ...], ...] = ((), (0, 3), (2,), (0,))
#: The queries whose answers depend on whether a name is present.
NAME_QUERIES: tuple[str, ...] = ("hasVariable", "getVariable", "getGradient", "setVariable", "setGradient",
                                 "isValidContext", "Variable.getFromContext")


def _edge_value(k: Kit, shape: tuple[int, ...], salt: int) -> TensorBits:
    n = int(np.prod(shape)) if shape else 1
    return k.t([salt + i for i in range(n)], shape)


def _other_shape(shape: tuple[int, ...]) -> tuple[int, ...]:
    """A different shape, of the same element count where possible ((0, 3) ↔ (0, 4))."""
    return {(): (1,), (0, 3): (0, 4), (2,): (2, 1), (0,): (0, 0)}[shape]


def _domain_edges(c: Case, query: str) -> None:
    """Per edge name, four small contexts (small, so the expected states stay short): the name
    present as variable (shadowed at another shape) and gradient; absent (empty); present as a
    variable only; present as a gradient only.  Every one also holds the neighbour name ``"w "``."""
    k = c.k
    empty = c("emptyContext")
    base = c("registerVariable", ctx=empty, name="w ", value=k.scalar(9), note="a neighbour name")
    for i, name in enumerate(EDGE_NAMES):
        shape = EDGE_SHAPES[i % len(EDGE_SHAPES)]
        older = _edge_value(k, _other_shape(shape), 10 * i)
        newer = _edge_value(k, shape, 10 * i + 5)
        full = c("registerVariable", ctx=base, name=name, value=older)
        full = c("registerVariable", ctx=full, name=name, value=newer, note="shadows the older entry")
        full = c("registerGradient", ctx=full, name=name, grad=newer)
        vars_only = c("registerVariable", ctx=base, name=name, value=newer)
        grads_only = c("registerGradient", ctx=base, name=name, grad=newer)
        for ctx in (full, base, vars_only, grads_only):
            if query == "hasVariable":
                c("hasVariable", ctx=ctx, name=name)
            elif query in ("getVariable", "getGradient"):
                c(query, ctx=ctx, name=name, s=shape)
                c(query, ctx=ctx, name=name, s=_other_shape(shape), note="the shadowed entry's shape: none")
            elif query in ("setVariable", "setGradient"):
                key = "value" if query == "setVariable" else "grad"
                c(query, ctx=ctx, name=name, **{key: _edge_value(k, _other_shape(shape), 100 + i)})
            elif query == "isValidContext":
                c("isValidContext", ctx=ctx)
                g = c("registerGradient", ctx=ctx, name=name, grad=_edge_value(k, shape, 7))
                c("isValidContext", ctx=g, note="valid iff the name is a variable name")
            else:  # Variable.getFromContext
                for s in (shape, _other_shape(shape)):
                    v = c("Variable.createVariable", id=i, name=name, value=_edge_value(k, s, 3))
                    c("Variable.getFromContext", ctx=ctx, v=v)


for _query in NAME_QUERIES:
    case(_query, "domain-edges", ALL_DTYPES,
         f"{_query} with every edge name (empty, blank, case, non-ASCII, NUL, newline, long) present — shadowed at "
         "another shape, and as a gradient — and absent; zero-size and scalar shapes",
         ("shadowing", "duplicates", "zero-size-dims"))(lambda c, q=_query: _domain_edges(c, q))


# --- seeded random programs ---------------------------------------------------------------

_RANDOM_NAMES = ("w", "b", "x")
_RANDOM_SHAPES = ((), (2,), (3,), (0, 3), (0, 4), (2, 2), (1,))
RANDOM_SEEDS = (1, 2)
RANDOM_STEPS = 120
_RANDOM_HOT = frozenset(
    "Runtime." + op
    for op in ("registerVariable", "setVariable", "registerGradient", "setGradient", "getVariable", "getGradient",
               "Variable.accumulateGradient", "Variable.registerInContext", "Variable.registerGradientInContext")
)


def _value_pool(k: Kit) -> list[int]:
    if k.dtype == "int64":
        return [0, 1, 2, (1 << 64) - 1, (1 << 64) - 7, k.MIN, k.MAX]
    pool = [0, k.NEG_ZERO, k.value(1), k.value(-2), k.value(0.5), k.INF, k.NEG_INF, k.MIN_SUB, k.MAX, k.value(3)]
    pool.append(k.NAN_A)  # binary64: one NaN payload (portable); binary32: Exec32 defines every NaN
    return pool


def random_program(seed: int, dtype: str, n_steps: int = RANDOM_STEPS) -> Case:
    """A seeded random program over every operation, biased to the traps: few names, the same
    name at several shapes, zero-size dims, special values, ill-typed calls (must-fail)."""
    rng = random.Random(seed * 1000 + ALL_DTYPES.index(dtype))
    tags = ("random", "nan-propagation") if dtype == "float64" else ("random",)
    c = Case(None, f"random-{seed}", dtype, f"seeded random program (seed {seed}) over every operation", tags, seed=seed, skip_nonportable=True)
    k = c.k
    pool = _value_pool(k)
    other = Kit("float32" if dtype != "float32" else "float64")

    def tensor(shape: Optional[tuple] = None) -> TensorBits:
        shape = rng.choice(_RANDOM_SHAPES) if shape is None else shape
        n = int(np.prod(shape)) if shape else 1
        return k.raw(shape, [rng.choice(pool) for _ in range(n)])

    def name() -> str:
        return rng.choice(_RANDOM_NAMES)

    contexts = [c("emptyContext")]
    variables: list[tuple[str, tuple]] = []
    ops = sorted(OPS)
    # registry updates dominate so that registries grow deep enough to shadow and duplicate
    weights = [1 if op == "Runtime.emptyContext" else 6 if op in _RANDOM_HOT else 2 for op in ops]
    while len(c.steps) < n_steps:
        op = rng.choices(ops, weights)[0]
        short = op[len("Runtime."):]
        sig = OPS[op]
        args: dict[str, Any] = {}
        if any(p.kind == "variable" for p in sig.params) and not variables:
            op, short, sig = "Runtime.Variable.createVariable", "Variable.createVariable", OPS["Runtime.Variable.createVariable"]
        for p in sig.params:
            if p.kind == "context":
                args[p.name] = contexts[-1] if rng.random() < 0.7 else rng.choice(contexts)
            elif p.kind == "variable":
                args[p.name] = rng.choice(variables)[0]
            elif p.kind == "string":
                args[p.name] = name()
            elif p.kind == "nat":
                args[p.name] = rng.choice((0, 1, 2, 7, (1 << 64) - 1))
            elif p.kind == "bool":
                if rng.random() < 0.5:
                    args[p.name] = rng.random() < 0.5
            elif p.kind == "shape":
                args[p.name] = rng.choice(_RANDOM_SHAPES)
            else:  # a tensor: usually the shape of the variable involved, sometimes not
                var_shape = next((s for h, s in variables if h == args.get("v")), None)
                if rng.random() < 0.08:
                    args[p.name] = other.t([1]) if rng.random() < 0.5 else tensor()
                elif var_shape is not None and rng.random() < 0.85:
                    args[p.name] = tensor(var_shape)
                else:
                    args[p.name] = tensor()
        handle = c(short, fails="any", **args)
        if handle is not None:
            if sig.result == "context":
                contexts.append(handle)
            else:
                shape = c.steps[-1].expect.value.value.shape
                variables.append((handle, shape))
    return c


# --- the corpus and its coverage ----------------------------------------------------------


def build_corpus() -> list[Case]:
    """Every case, in a fixed order."""
    out: list[Case] = []
    for lean, name, dtypes, tags, description, fn in _CASES:
        for dtype in dtypes:
            c = Case(lean, name, dtype, description, tags)
            fn(c)
            out.append(c)
    for seed in RANDOM_SEEDS:
        for dtype in ALL_DTYPES:
            out.append(random_program(seed, dtype))
    paths = [c.path for c in out]
    if len(set(paths)) != len(paths):
        raise GenerationError("two cases write the same file")
    return out


@dataclass
class Coverage:
    files: int
    steps: int
    must_fail: int
    direct: dict[str, int]  # declaration → steps calling it
    via: dict[str, int]  # declaration → steps exercising it through another operation
    failing: dict[str, int]  # declaration → must-fail steps calling it
    traps: dict[str, int]  # trap → files tagged with it

    @property
    def uncovered(self) -> list[str]:
        """Declarations with no step (a def needs a step calling it) and traps with no file."""
        from torchlean_runtime.spec.declarations import DECLARATIONS

        missing = []
        for d in DECLARATIONS:
            n = self.direct.get(d.lean_name, 0) if d.kind == "def" else self.via.get(d.lean_name, 0)
            if n == 0:
                missing.append(f"declaration {d.lean_name}")
        missing += [f"trap {t}" for t, n in self.traps.items() if n == 0]
        return missing

    def table(self) -> str:
        lines = [
            f"torchlean.runtime.v1 corpus: {self.files} files, {self.steps} steps ({self.must_fail} must-fail)",
            "expected results computed by torchlean_runtime.spec (the reference)",
            "",
            f"{'declaration':<46} {'steps':>6} {'must-fail':>9} {'via others':>10}",
        ]
        for d in LEAN_DECLARATIONS:
            lines.append(f"{d:<46} {self.direct.get(d, 0):>6} {self.failing.get(d, 0):>9} {self.via.get(d, 0):>10}")
        lines += ["", f"{'trap':<34} {'files':>5}  meaning"]
        for t, n in self.traps.items():
            lines.append(f"{t:<34} {n:>5}  {TRAPS[t]}")
        missing = self.uncovered
        lines += ["", "UNCOVERED: " + ", ".join(missing) if missing else "every declaration and every trap is covered"]
        return "\n".join(lines) + "\n"


def coverage_of(traces: Sequence[Trace]) -> Coverage:
    direct: dict[str, int] = {}
    via: dict[str, int] = {}
    failing: dict[str, int] = {}
    traps = {t: 0 for t in TRAPS}
    steps = must_fail = 0
    for tr in traces:
        for t in set(tr.tags) & set(traps):
            traps[t] += 1
        for s in tr.steps:
            steps += 1
            direct[s.op] = direct.get(s.op, 0) + 1
            if isinstance(s.expect, ExpectedError):
                must_fail += 1
                failing[s.op] = failing.get(s.op, 0) + 1
            for d in OPS[s.op].exercises:
                via[d] = via.get(d, 0) + 1
    return Coverage(len(traces), steps, must_fail, direct, via, failing, traps)


def generate(out_dir: os.PathLike | str) -> Coverage:
    """Write the corpus and ``coverage.txt`` into ``out_dir``; return the coverage.

    ``out_dir`` must be empty, absent, or a previous corpus (it has ``coverage.txt``), whose
    trace files are then replaced."""
    out = Path(out_dir)
    if out.exists():
        if not out.is_dir():
            raise OutputPathError(f"{out} exists and is not a directory")
        if any(out.iterdir()) and not (out / "coverage.txt").is_file():
            raise OutputPathError(f"{out} is not empty and holds no previous corpus (coverage.txt); refusing to write into it")
        for old in sorted(out.glob("*/*.json")) + sorted(out.glob("manifest.json")):
            old.unlink()
        for folder in sorted(p for p in out.iterdir() if p.is_dir()):
            if not any(folder.iterdir()):
                folder.rmdir()
    cases = build_corpus()
    traces = [c.trace() for c in cases]
    for c, tr in zip(cases, traces):
        path = out / c.path
        path.parent.mkdir(parents=True, exist_ok=True)
        write_trace(tr, path)
    cov = coverage_of(traces)
    write_text(out / "coverage.txt", cov.table(), newline="\n")
    from .manifest import write_manifest

    write_manifest(out, [(c.path, tr) for c, tr in zip(cases, traces)])
    return cov


def main(args: Any = None) -> int:
    """``torchlean-rt vectors generate OUT_DIR`` (``args.out_dir``); non-zero if anything is uncovered."""
    if args is None or isinstance(args, (list, tuple)):
        parser = argparse.ArgumentParser(prog="torchlean-rt vectors generate")
        parser.add_argument("out_dir")
        args = parser.parse_args(args)
    try:
        from torchlean_runtime.cli import check_output_dir

        check_output_dir(args.out_dir, "OUT_DIR")  # its parent must exist: no tree of folders is created
        cov = generate(args.out_dir)
    except GenerationError as exc:
        print_cli_error("TLR_INTERNAL", f"vectors generate: {exc}")
        return 1
    except OutputPathError as exc:
        print_cli_error(exc.code, f"vectors generate: {exc.message}")
        return 2
    except OSError as exc:  # an unwritable or invalid OUT_DIR: one line, usage-class exit
        where = f" {exc.filename}" if exc.filename and os.fspath(exc.filename) != os.fspath(args.out_dir) else ""
        print_cli_error("TLR_OUTPUT_PATH", f"vectors generate: cannot write {args.out_dir!r}{where}: {exc.strerror or exc}")
        return 2
    print(cov.table(), end="")
    print(f"wrote {cov.files} trace files, coverage.txt and manifest.json to {args.out_dir}")
    import shlex

    print(f"replay them with: torchlean-rt replay {shlex.quote(args.out_dir)} --target T; the shipped regression "
          "traces (shrunk fuzz failures, not written here) with: torchlean-rt replay regressions --target T")
    return 1 if cov.uncovered else 0
