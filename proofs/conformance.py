"""The spec's conformance cases, as data.

Each :class:`Case` is a name, the Lean definition(s) it follows, a small program over the spec
and the value Lean's definitions give for that program — written down by hand from the
semantics note (docs/lean-semantics.md §1–§6), never copied from the spec's output.  ``why``
says how the expected value follows from the Lean definition.

The same case list is run twice: by ``torchlean-rt verify`` (one obligation per group, label
``examples`` — exactly the listed cases passed, nothing more) and by
``tests/spec/test_conformance.py`` (one pytest per case).

Values are compared as Lean values (:func:`sameValue`): floats by bit pattern and Python type,
tensors with the spec's bitwise ``==``, Lean lists as tuples.  :class:`AnyNaN` accepts any NaN
of the right scalar type (NaN payloads are not asserted).  :class:`Raises` expects the typed
error Lean's type checker stands for.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Callable, Optional

import numpy as np

from torchlean_runtime import errors as E
from torchlean_runtime.report import Obligation, Outcome
from torchlean_runtime.spec.core import tensor as T
from torchlean_runtime.spec.core.list import List
from torchlean_runtime.spec.core.scalars import Float, IEEE32Exec, Int, Nat, Rat, ScalarType
from torchlean_runtime.spec.core.shape import ShapeEq, ofList
from torchlean_runtime.spec.runtime import context as C
from torchlean_runtime.spec.runtime import variable as V

__all__ = [
    "Case",
    "Raises",
    "AnyNaN",
    "CASES",
    "GROUPS",
    "FOLD_TRAP_VALUES",
    "FOLD_TRAP_SHAPE",
    "FOLD_TRAP_NORM",
    "sameValue",
    "checkCase",
    "runGroup",
    "obligations",
]


# --- what a case is ------------------------------------------------------------------------


@dataclass(frozen=True)
class Raises:
    """The program must raise exactly this typed error (matched by class and stable code)."""

    error: type


@dataclass(frozen=True)
class AnyNaN:
    """Any NaN of this scalar type (the payload is not asserted)."""

    alpha: ScalarType


@dataclass(frozen=True)
class Case:
    name: str
    group: str
    lean: tuple[str, ...]
    program: Callable[[], Any]
    expected: Any
    why: str


#: Case groups in report order: key → title.
GROUPS: dict[str, str] = {
    "registry": "Runtime variable registry (register/get/set, shadowing)",
    "gradients": "Runtime gradient registry",
    "queries": "Runtime queries (names, counts, validity)",
    "context-printing": "Runtime.contextToString",
    "variable-record": "Runtime.Variable record operations",
    "variable-printing": "Runtime.Variable.variableToString",
    "variable-norm": "Runtime.Variable.variableNorm (fold order, rounding)",
    "variable-context": "Runtime.Variable context bridges and error",
    "variable-cast": "Runtime.Variable clone/detach/castShape",
    "purity": "purity (inputs unchanged)",
    "core": "Spec core used by the runtime (shapes, sumSpec, pretty)",
}

_CASES: list[Case] = []


def case(group: str, name: str, lean: tuple[str, ...], expected: Any, why: str) -> Callable:
    """Register the decorated zero-argument function as a case's program."""
    if group not in GROUPS:
        raise ValueError(f"unknown case group {group!r}")

    def register(program: Callable[[], Any]) -> Callable[[], Any]:
        _CASES.append(Case(name, group, lean, program, expected, why))
        return program

    return register


# --- building values for programs and expectations --------------------------------------


def _nested_map(f: Callable[[Any], Any], data: Any) -> Any:
    return [_nested_map(f, x) for x in data] if isinstance(data, (list, tuple)) else f(data)


def f64(shape: Any, data: Any) -> T.Tensor:
    """A Lean ``Tensor Float shape``."""
    return T.ofNested(Float, shape, data)


def f32(shape: Any, data: Any) -> T.Tensor:
    """A Lean ``Tensor IEEE32Exec shape`` (each Python float converted to binary32 first)."""
    return T.ofNested(IEEE32Exec, shape, _nested_map(np.float32, data))


def rat(shape: Any, data: Any) -> T.Tensor:
    return T.ofNested(Rat, shape, _nested_map(Fraction, data))


def ints(shape: Any, data: Any) -> T.Tensor:
    return T.ofNested(Int, shape, data)


def s64(x: float) -> T.Tensor:
    """A scalar ``Tensor Float .scalar``."""
    return T.scalar(Float, x)


def registered(*entries: tuple[str, T.Tensor]) -> C.RuntimeContext:
    """``emptyContext`` then ``registerVariable`` for each entry, oldest first."""
    ctx = C.emptyContext()
    for name, value in entries:
        ctx = C.registerVariable(ctx, name, value)
    return ctx


def contents(ctx: C.RuntimeContext) -> tuple:
    """A context as plain data: ((name, tensor), ...) for variables and for gradients (list
    order, newest first), then ``next_id``."""
    return (
        tuple((name, any_tensor.t) for name, any_tensor in ctx.var_registry),
        tuple((name, any_tensor.t) for name, any_tensor in ctx.gradients),
        ctx.next_id,
    )


NAN = float("nan")
INF = float("inf")
NEG_NAN = struct.unpack("<d", struct.pack("<Q", 0xFFF8000000000000))[0]
PAYLOAD_NAN = struct.unpack("<d", struct.pack("<Q", 0x7FF8000000000001))[0]


# --- comparing Lean values -----------------------------------------------------------------


def _float_bits(x: float) -> bytes:
    return struct.pack("<d", x)


def sameValue(actual: Any, expected: Any) -> bool:
    """``actual`` is the Lean value ``expected`` (types included; floats bit for bit)."""
    if isinstance(expected, AnyNaN):
        if expected.alpha is Float:
            return type(actual) is float and actual != actual
        if expected.alpha is IEEE32Exec:
            return type(actual) is np.float32 and bool(np.isnan(actual))
        return False
    if expected is None:
        return actual is None
    if isinstance(expected, bool):
        return isinstance(actual, bool) and actual == expected
    if isinstance(expected, float):
        return type(actual) is float and _float_bits(actual) == _float_bits(expected)
    if isinstance(expected, np.float32):
        return type(actual) is np.float32 and actual.tobytes() == expected.tobytes()
    if isinstance(expected, Fraction):
        return type(actual) is Fraction and actual == expected
    if isinstance(expected, int):
        return type(actual) is int and actual == expected
    if isinstance(expected, str):
        return type(actual) is str and actual == expected
    if isinstance(expected, T.Tensor):
        return isinstance(actual, T.Tensor) and actual == expected
    if isinstance(expected, V.Variable):
        return isinstance(actual, V.Variable) and all(
            sameValue(getattr(actual, f), getattr(expected, f))
            for f in ("id", "name", "value", "gradient", "requires_grad")
        )
    if isinstance(expected, tuple):
        if isinstance(actual, List):  # a Lean List result is compared element-wise, in order
            actual = tuple(actual)
        return (
            isinstance(actual, tuple)
            and len(actual) == len(expected)
            and all(sameValue(a, e) for a, e in zip(actual, expected))
        )
    return False  # an expectation of an unknown kind never passes silently


def checkCase(c: Case) -> Optional[str]:
    """``None`` if the case passes, else what went wrong."""
    try:
        actual = c.program()
    except E.TorchLeanError as exc:
        if isinstance(c.expected, Raises) and type(exc) is c.expected.error and exc.code == c.expected.error.code:
            return None
        return f"raised {type(exc).__name__} {exc}"
    except Exception as exc:  # a crash is a failure, reported, not propagated
        return f"crashed with {type(exc).__name__}: {exc}"
    if isinstance(c.expected, Raises):
        return f"returned {actual!r}, expected {c.expected.error.__name__} ({c.expected.error.code})"
    if sameValue(actual, c.expected):
        return None
    return f"got {actual!r}, expected {c.expected!r}"


# =========================================================================================
# registry
# =========================================================================================


@case("registry", "emptyContext has no entries and next_id 0", ("Runtime.emptyContext",),
      ((), (), 0), "emptyContext := { var_registry := [], gradients := [], next_id := 0 }")
def _():
    return contents(C.emptyContext())


@case("registry", "registerVariable prepends and bumps next_id", ("Runtime.registerVariable",),
      ((("x", f64([2], [1.0, 2.0])), ("w", s64(3.0))), (), 2),
      "each registerVariable conses (name, ⟨s, value⟩) onto var_registry and adds 1 to next_id")
def _():
    return contents(registered(("w", s64(3.0)), ("x", f64([2], [1.0, 2.0]))))


@case("registry", "registerVariable keeps a shadowed duplicate", ("Runtime.registerVariable",),
      ((("x", s64(2.0)), ("x", s64(1.0))), (), 2),
      "registerVariable always prepends; nothing removes the older entry named x")
def _():
    return contents(registered(("x", s64(1.0)), ("x", s64(2.0))))


@case("registry", "getVariable returns the newest entry (shadowing)", ("Runtime.getVariable",),
      s64(2.0), "find? is first-match and the newest entry is at the head")
def _():
    return C.getVariable(registered(("x", s64(1.0)), ("x", s64(2.0))), "x", ())


@case("registry", "getVariable first-match shape mismatch is none even if an older entry matches",
      ("Runtime.getVariable",), None,
      "find? stops at the newest x (shape [2]); its shape ≠ scalar, so the result is none — the older "
      "scalar x is never consulted")
def _():
    return C.getVariable(registered(("x", s64(1.0)), ("x", f64([2], [2.0, 3.0]))), "x", ())


@case("registry", "getVariable at the newest entry's shape", ("Runtime.getVariable",),
      f64([2], [2.0, 3.0]), "the first match has shape [2] = requested shape, so it is returned (cast by Eq.mp)")
def _():
    return C.getVariable(registered(("x", s64(1.0)), ("x", f64([2], [2.0, 3.0]))), "x", (2,))


@case("registry", "getVariable of an absent name is none", ("Runtime.getVariable",), None,
      "find? finds nothing → none")
def _():
    return C.getVariable(registered(("x", s64(1.0))), "y", ())


@case("registry", "getVariable tells [0,3] from [0,4]", ("Runtime.getVariable", "Spec.Shape"),
      (None, f64([0, 3], [])),
      "a zero dimension keeps its inner shape: dim 0 (dim 3 scalar) ≠ dim 0 (dim 4 scalar)")
def _():
    ctx = registered(("e", f64([0, 3], [])))
    return (C.getVariable(ctx, "e", (0, 4)), C.getVariable(ctx, "e", (0, 3)))


@case("registry", "setVariable rewrites every duplicate and changes the shape", ("Runtime.setVariable",),
      ((("x", s64(5.0)), ("y", s64(2.0)), ("x", s64(5.0))), (), 3),
      "List.map replaces each entry named x (shadowed too) by ⟨scalar, 5.0⟩; order kept; next_id untouched")
def _():
    ctx = registered(("x", f64([1], [1.0])), ("y", s64(2.0)), ("x", f64([2], [3.0, 4.0])))
    return contents(C.setVariable(ctx, "x", s64(5.0)))


@case("registry", "getVariable after setVariable sees only the new shape", ("Runtime.setVariable", "Runtime.getVariable"),
      (s64(5.0), None), "after the map the first x holds ⟨scalar, 5.0⟩; asking for [2] finds a scalar → none")
def _():
    ctx = C.setVariable(registered(("x", f64([2], [3.0, 4.0]))), "x", s64(5.0))
    return (C.getVariable(ctx, "x", ()), C.getVariable(ctx, "x", (2,)))


@case("registry", "setVariable of an absent name is a no-op", ("Runtime.setVariable",),
      ((("y", s64(2.0)),), (), 1), "no entry satisfies n == name, so map rebuilds the same list; nothing is inserted")
def _():
    return contents(C.setVariable(registered(("y", s64(2.0))), "z", f64([1], [1.0])))


@case("registry", "setVariable keeps gradients and next_id", ("Runtime.setVariable",),
      ((("x", s64(9.0)),), (("x", s64(0.5)),), 1), "{ ctx with var_registry := updated_vars } leaves the other fields")
def _():
    ctx = C.registerGradient(registered(("x", s64(1.0))), "x", s64(0.5))
    return contents(C.setVariable(ctx, "x", s64(9.0)))


# =========================================================================================
# gradients
# =========================================================================================


@case("gradients", "registerGradient prepends and does not bump next_id", ("Runtime.registerGradient",),
      ((("w", s64(1.0)),), (("w", s64(0.25)), ("w", s64(0.5))), 1),
      "registerGradient only conses onto gradients; next_id stays at 1 from the one registerVariable")
def _():
    ctx = registered(("w", s64(1.0)))
    ctx = C.registerGradient(ctx, "w", s64(0.5))
    return contents(C.registerGradient(ctx, "w", s64(0.25)))


@case("gradients", "getGradient first match, shape checked", ("Runtime.getGradient",),
      (None, f64([2], [1.0, 2.0]), None),
      "the newest g has shape [2]: scalar request → none, [2] → it; absent name → none")
def _():
    ctx = C.registerGradient(C.registerGradient(C.emptyContext(), "g", s64(7.0)), "g", f64([2], [1.0, 2.0]))
    return (C.getGradient(ctx, "g", ()), C.getGradient(ctx, "g", [2]), C.getGradient(ctx, "h", ()))


@case("gradients", "setGradient rewrites every duplicate, changes shape", ("Runtime.setGradient",),
      ((), (("g", f64([1], [4.0])), ("h", s64(1.0)), ("g", f64([1], [4.0]))), 0),
      "List.map over gradients replaces each g; order kept; next_id unchanged")
def _():
    ctx = C.emptyContext()
    for name, t in (("g", s64(1.0)), ("h", s64(1.0)), ("g", f64([2], [2.0, 3.0]))):
        ctx = C.registerGradient(ctx, name, t)
    return contents(C.setGradient(ctx, "g", f64([1], [4.0])))


@case("gradients", "setGradient of an absent name is a no-op", ("Runtime.setGradient",),
      ((("x", s64(1.0)),), (("x", s64(2.0)),), 1), "no gradient named y: the map rebuilds the same list")
def _():
    ctx = C.registerGradient(registered(("x", s64(1.0))), "x", s64(2.0))
    return contents(C.setGradient(ctx, "y", s64(3.0)))


@case("gradients", "clearGradients empties gradients only", ("Runtime.clearGradients",),
      ((("x", s64(1.0)),), (), 1), "{ ctx with gradients := [] }")
def _():
    ctx = C.registerGradient(C.registerGradient(registered(("x", s64(1.0))), "x", s64(2.0)), "ghost", s64(3.0))
    return contents(C.clearGradients(ctx))


# =========================================================================================
# queries
# =========================================================================================


@case("queries", "hasVariable ignores shapes", ("Runtime.hasVariable",), (True, False, False),
      "List.any on names only: x (any shape) present, y absent, empty context has nothing")
def _():
    ctx = registered(("x", f64([2, 0], [[], []])))
    return (C.hasVariable(ctx, "x"), C.hasVariable(ctx, "y"), C.hasVariable(C.emptyContext(), "x"))


@case("queries", "variableNames newest first with duplicates", ("Runtime.variableNames",),
      ("c", "a", "b", "a"), "map fst over var_registry, which lists the newest registration first")
def _():
    return C.variableNames(registered(("a", s64(1.0)), ("b", s64(1.0)), ("a", s64(2.0)), ("c", s64(1.0))))


@case("queries", "gradientNames newest first with duplicates", ("Runtime.gradientNames",),
      ("p", "q", "p"), "map fst over gradients")
def _():
    ctx = C.emptyContext()
    for name in ("p", "q", "p"):
        ctx = C.registerGradient(ctx, name, s64(0.0))
    return C.gradientNames(ctx)


@case("queries", "contextSize and gradientCount count duplicates", ("Runtime.contextSize", "Runtime.gradientCount"),
      (4, 3, 0, 0), "List.length counts shadowed entries; the empty context has length 0 lists")
def _():
    ctx = registered(("a", s64(1.0)), ("b", s64(1.0)), ("a", s64(2.0)), ("a", s64(3.0)))
    for name in ("a", "a", "zz"):
        ctx = C.registerGradient(ctx, name, s64(0.0))
    empty = C.emptyContext()
    return (C.contextSize(ctx), C.gradientCount(ctx), C.contextSize(empty), C.gradientCount(empty))


@case("queries", "isValidContext: names only, false after an unknown gradient", ("Runtime.isValidContext",),
      (True, True, True, False, True),
      "gradients.all (hasVariable ctx ·): empty → true; no gradients → true; gradient x:scalar for variable "
      "x:[2] → true (shapes ignored); gradient under unknown name → false (allowed, not an error); cleared → true")
def _():
    empty = C.emptyContext()
    ctx = registered(("x", f64([2], [1.0, 2.0])))
    with_grad = C.registerGradient(ctx, "x", s64(1.0))
    invalid = C.registerGradient(with_grad, "ghost", s64(1.0))
    return (C.isValidContext(empty), C.isValidContext(ctx), C.isValidContext(with_grad),
            C.isValidContext(invalid), C.isValidContext(C.clearGradients(invalid)))


@case("queries", "isValidContext is evaluated at query time", ("Runtime.isValidContext",), (False, True),
      "a gradient registered before its variable: invalid until a variable of that name exists")
def _():
    early = C.registerGradient(C.emptyContext(), "x", s64(1.0))
    return (C.isValidContext(early), C.isValidContext(C.registerVariable(early, "x", s64(0.0))))


# =========================================================================================
# context printing
# =========================================================================================


@case("context-printing", "contextToString: the semantics note's example", ("Runtime.contextToString", "Spec.pretty"),
      "Context(vars: [x: [1.000000, 2.000000], w: 3.000000], grads: [])",
      "entries in list order (x newest), pretty of a scalar is toString, of a vector [a, b]")
def _():
    return C.contextToString(registered(("w", s64(3.0)), ("x", f64([2], [1.0, 2.0]))))


@case("context-printing", "contextToString of the empty context", ("Runtime.contextToString",),
      "Context(vars: [], grads: [])", "intercalate of [] is the empty string")
def _():
    return C.contextToString(C.emptyContext())


@case("context-printing", "contextToString: ±0, NaN of any sign/payload, ±inf, 1e20", ("Runtime.contextToString", "Float.toString"),
      "Context(vars: [a: [0.000000, -0.000000, NaN, NaN, NaN, inf, -inf, 100000000000000000000.000000]], grads: [])",
      "Float.toString is printf %f (six decimals, sign of zero kept, 1e20 = 10^20 exactly) and NaN of any sign "
      "or payload prints NaN")
def _():
    return C.contextToString(registered(("a", f64([8], [0.0, -0.0, NAN, NEG_NAN, PAYLOAD_NAN, INF, -INF, 1e20]))))


@case("context-printing", "contextToString: %f rounding to six decimals", ("Runtime.contextToString", "Float.toString"),
      "Context(vars: [r: [0.500000, 0.250000, 1234.500000, 0.000000, -0.000000, 0.100000]], grads: [])",
      "exact halves/quarters print as is; 1e-7 and -1e-7 round to (-)0.000000; 0.1 prints 0.100000 (§6)")
def _():
    return C.contextToString(registered(("r", f64([6], [0.5, 0.25, 1234.5, 1e-7, -1e-7, 0.1]))))


@case("context-printing", "contextToString: empty and zero-dim tensors, gradients", ("Runtime.contextToString", "Spec.pretty"),
      "Context(vars: [s: 0.500000, w: [], z: [[], []], e: []], grads: [g: [[1.000000, 2.000000], [3.000000, 4.000000]]])",
      "pretty of dim 0 is [], of dim 2 (dim 0 _) is [[], []]; shapes are never printed")
def _():
    ctx = registered(("e", f64([0], [])), ("z", f64([2, 0], [[], []])), ("w", f64([0, 3], [])), ("s", s64(0.5)))
    return C.contextToString(C.registerGradient(ctx, "g", f64([2, 2], [[1.0, 2.0], [3.0, 4.0]])))


@case("context-printing", "contextToString prints names raw", ("Runtime.contextToString",),
      'Context(vars: [: 1.000000, say "hi", ok: 2.000000], grads: [])',
      "s!\"{n}: ...\" interpolates the String itself: no quotes, no escaping, empty name allowed")
def _():
    return C.contextToString(registered(('say "hi", ok', s64(2.0)), ("", s64(1.0))))


@case("context-printing", "contextToString over Int and Rat", ("Runtime.contextToString", "Int.toString", "Rat.toString"),
      ("Context(vars: [n: [-5, 0, 7]], grads: [])", "Context(vars: [q: [1/2, -3, 0]], grads: [])"),
      "Int prints in plain decimal; Rat prints num when den = 1, else num/den")
def _():
    return (C.contextToString(registered(("n", ints([3], [-5, 0, 7])))),
            C.contextToString(registered(("q", rat([3], [Fraction(1, 2), -3, 0])))))


@case("context-printing", "contextToString over IEEE32Exec widens exactly", ("Runtime.contextToString", "IEEE32Exec.toString"),
      "Context(vars: [f: [0.100000, 100000002004087734272.000000, -0.000000, inf, NaN]], grads: [])",
      "binary32 values are widened exactly to binary64 then printed with %f: the binary32 nearest 1e20 is "
      "11368684·2^43 = 100000002004087734272; 0.1f widens to 0.10000000149…, printed 0.100000")
def _():
    return C.contextToString(registered(("f", f32([5], [0.1, 1e20, -0.0, INF, NAN]))))


# =========================================================================================
# Variable record
# =========================================================================================


@case("variable-record", "createVariable defaults", ("Runtime.Variable.createVariable",),
      V.Variable(0, "w", f64([2], [1.0, 2.0]), None, True), "gradient := none, requires_grad defaults to true")
def _():
    return V.createVariable(0, "w", f64([2], [1.0, 2.0]))


@case("variable-record", "createVariable with requires_grad := false", ("Runtime.Variable.createVariable",),
      V.Variable(5, "b", s64(0.0), None, False), "the optional argument is stored as given")
def _():
    return V.createVariable(5, "b", s64(0.0), requires_grad=False)


@case("variable-record", "getValue / getGradient / checkRequiresGrad read fields",
      ("Runtime.Variable.getValue", "Runtime.Variable.getGradient", "Runtime.Variable.checkRequiresGrad"),
      (f64([1], [3.0]), None, True, f64([1], [0.5]), False),
      "field projections: value, gradient (none, then some g), requires_grad")
def _():
    v = V.createVariable(1, "v", f64([1], [3.0]))
    w = V.detachVariable(V.setGradient(v, f64([1], [0.5])))
    u = V.setGradient(V.createVariable(2, "u", f64([1], [3.0]), requires_grad=False), f64([1], [0.5]))
    return (V.getValue(v), V.getGradient(v), V.checkRequiresGrad(v), V.getGradient(u), V.checkRequiresGrad(w))


@case("variable-record", "setValue keeps id, name, gradient and flag", ("Runtime.Variable.setValue",),
      V.Variable(3, "p", f64([2], [9.0, 8.0]), f64([2], [1.0, 1.0]), True), "{ v with value := new_value }")
def _():
    v = V.setGradient(V.createVariable(3, "p", f64([2], [0.0, 0.0])), f64([2], [1.0, 1.0]))
    return V.setValue(v, f64([2], [9.0, 8.0]))


@case("variable-record", "setValue with another shape is refused", ("Runtime.Variable.setValue",),
      Raises(E.ShapeMismatchError), "new_value : Tensor α s — a [3] tensor does not type-check for s = [2]")
def _():
    return V.setValue(V.createVariable(3, "p", f64([2], [0.0, 0.0])), f64([3], [1.0, 2.0, 3.0]))


@case("variable-record", "setGradient ignores requires_grad, clearGradient clears",
      ("Runtime.Variable.setGradient", "Runtime.Variable.clearGradient"),
      (V.Variable(4, "d", s64(1.0), s64(2.0), False), V.Variable(4, "d", s64(1.0), None, False)),
      "setGradient := some grad whatever the flag; clearGradient := none")
def _():
    v = V.setGradient(V.createVariable(4, "d", s64(1.0), requires_grad=False), s64(2.0))
    return (v, V.clearGradient(v))


@case("variable-record", "accumulateGradient: none → g, then existing + g", ("Runtime.Variable.accumulateGradient", "Spec.Tensor.addSpec"),
      (f64([2], [1.0, 2.0]), f64([2], [1.5, 0.0]), f64([2], [2.5, -1.0])),
      "no gradient → setGradient v g; then addSpec existing g elementwise: [1,2]+[0.5,-2] = [1.5, 0], + [1,-1]")
def _():
    v = V.createVariable(0, "g", f64([2], [0.0, 0.0]))
    v1 = V.accumulateGradient(v, f64([2], [1.0, 2.0]))
    v2 = V.accumulateGradient(v1, f64([2], [0.5, -2.0]))
    v3 = V.accumulateGradient(v2, f64([2], [1.0, -1.0]))
    return (v1.gradient, v2.gradient, v3.gradient)


@case("variable-record", "accumulateGradient signed zeros and a detached variable", ("Runtime.Variable.accumulateGradient",),
      (f64([2], [-0.0, 0.0]), V.Variable(0, "d", f64([2], [1.0, 1.0]), f64([2], [-0.0, 0.0]), False)),
      "IEEE: -0 + -0 = -0, -0 + +0 = +0; accumulateGradient never looks at requires_grad")
def _():
    v = V.detachVariable(V.createVariable(0, "d", f64([2], [1.0, 1.0])))
    v = V.accumulateGradient(v, f64([2], [-0.0, -0.0]))
    v = V.accumulateGradient(v, f64([2], [-0.0, 0.0]))
    return (v.gradient, v)


@case("variable-record", "accumulateGradient over IEEE32Exec rounds to binary32", ("Runtime.Variable.accumulateGradient",),
      f32([2], [1.0, 3.0]),
      "1 + 2^-25 is within half an ulp (2^-24) of 1 in binary32 → 1; 2 + 1 = 3 exactly")
def _():
    v = V.accumulateGradient(V.createVariable(0, "h", f32([2], [0.0, 0.0])), f32([2], [1.0, 2.0]))
    return V.accumulateGradient(v, f32([2], [2.0 ** -25, 1.0])).gradient


@case("variable-record", "accumulateGradient over Rat is exact", ("Runtime.Variable.accumulateGradient",),
      rat([1], [Fraction(1, 2)]), "1/3 + 1/6 = 1/2 exactly")
def _():
    v = V.accumulateGradient(V.createVariable(0, "q", rat([1], [0])), rat([1], [Fraction(1, 3)]))
    return V.accumulateGradient(v, rat([1], [Fraction(1, 6)])).gradient


@case("variable-record", "accumulateGradient on Int needs a Context instance", ("Runtime.Variable.accumulateGradient",),
      Raises(E.NoContextInstanceError), "[Context α] has no Int instance: Lean rejects the call at type checking")
def _():
    return V.accumulateGradient(V.createVariable(0, "n", ints([1], [1])), ints([1], [2]))


@case("variable-record", "accumulateGradient on Nat needs a Context instance", ("Runtime.Variable.accumulateGradient",),
      Raises(E.NoContextInstanceError), "[Context α] has no Nat instance, even when no gradient is stored yet")
def _():
    return V.accumulateGradient(V.createVariable(0, "n", T.ofNested(Nat, [1], [1])), T.ofNested(Nat, [1], [2]))


@case("variable-record", "accumulateGradient with another shape is refused", ("Runtime.Variable.accumulateGradient",),
      Raises(E.ShapeMismatchError), "grad : Tensor α s")
def _():
    return V.accumulateGradient(V.createVariable(0, "g", f64([2], [0.0, 0.0])), s64(1.0))


@case("variable-record", "variableEq compares id and name only", ("Runtime.Variable.variableEq",),
      (True, False, False),
      "v₁.id == v₂.id && v₁.name == v₂.name: values, gradients and flags are ignored")
def _():
    a = V.createVariable(1, "w", f64([1], [1.0]))
    b = V.setGradient(V.createVariable(1, "w", f64([1], [2.0]), requires_grad=False), f64([1], [5.0]))
    return (V.variableEq(a, b), V.variableEq(a, V.createVariable(2, "w", f64([1], [1.0]))),
            V.variableEq(a, V.createVariable(1, "v", f64([1], [1.0]))))


@case("variable-record", "variableEq needs one shape", ("Runtime.Variable.variableEq",),
      Raises(E.ShapeMismatchError), "v₁ v₂ : Variable α s share s; a [1] and a [2] variable do not type-check")
def _():
    return V.variableEq(V.createVariable(1, "w", f64([1], [1.0])), V.createVariable(1, "w", f64([2], [1.0, 2.0])))


@case("variable-record", "hasShape is areEqual", ("Runtime.Variable.hasShape", "Spec.Shape.areEqual"),
      (True, False, True, False),
      "structural shape test: [2,3] vs [2,3] / [3,2]; scalar vs scalar; [0,3] vs [0,4]")
def _():
    v = V.createVariable(0, "m", f64([2, 3], [[0.0] * 3] * 2))
    s = V.createVariable(0, "s", s64(1.0))
    e = V.createVariable(0, "e", f64([0, 3], []))
    return (V.hasShape(v, ofList([2, 3])), V.hasShape(v, ofList([3, 2])), V.hasShape(s, ofList([])),
            V.hasShape(e, ofList([0, 4])))


# =========================================================================================
# Variable printing
# =========================================================================================


@case("variable-printing", "variableToString without gradient", ("Runtime.Variable.variableToString",),
      "Variable(w, id=3, value=[1.000000, -0.000000], grad=none, requires_grad=true)",
      "grad none prints none; Bool prints true; -0.0 prints -0.000000")
def _():
    return V.variableToString(V.createVariable(3, "w", f64([2], [1.0, -0.0])))


@case("variable-printing", "variableToString with gradient, detached", ("Runtime.Variable.variableToString",),
      "Variable(g, id=0, value=100000000000000000000.000000, grad=NaN, requires_grad=false)",
      "some g prints pretty g; NaN prints NaN; 1e20 in %f")
def _():
    return V.variableToString(V.setGradient(V.createVariable(0, "g", s64(1e20), requires_grad=False), s64(NAN)))


@case("variable-printing", "variableToString of empty and zero-dim tensors", ("Runtime.Variable.variableToString",),
      ("Variable(, id=7, value=[[], []], grad=[[], []], requires_grad=true)",
       "Variable(e, id=1, value=[], grad=none, requires_grad=true)"),
      "shape [2,0] prints [[], []], shape [0] prints []; an empty name prints as nothing")
def _():
    z = V.setGradient(V.createVariable(7, "", f64([2, 0], [[], []])), f64([2, 0], [[], []]))
    return (V.variableToString(z), V.variableToString(V.createVariable(1, "e", f64([0], []))))


@case("variable-printing", "variableToString over Int, Rat, IEEE32Exec", ("Runtime.Variable.variableToString",),
      ("Variable(n, id=0, value=[-5, 7], grad=none, requires_grad=true)",
       "Variable(q, id=0, value=-3/4, grad=none, requires_grad=true)",
       "Variable(f, id=0, value=[-inf, 0.500000], grad=none, requires_grad=true)"),
      "Int decimal, Rat num/den, binary32 widened then %f")
def _():
    return (V.variableToString(V.createVariable(0, "n", ints([2], [-5, 7]))),
            V.variableToString(V.createVariable(0, "q", T.scalar(Rat, Fraction(-3, 4)))),
            V.variableToString(V.createVariable(0, "f", f32([2], [-INF, 0.5]))))


# =========================================================================================
# variableNorm
# =========================================================================================

#: Values whose squares [2^54, 1 × 15] make the left fold differ from math.fsum, numpy's
#: pairwise np.sum and a sum of row sums; laid out at shape [2, 8] (row-major).
FOLD_TRAP_SHAPE = (2, 8)
FOLD_TRAP_VALUES = [[2.0 ** 27] + [1.0] * 7, [1.0] * 8]
#: sqrt of the left fold: 0 + 2^54 = 2^54, then each + 1 rounds back to 2^54 (ulp(2^54) = 4, so
#: 2^54 + 1 is a quarter ulp above 2^54 → round down); sqrt(2^54) = 2^27 exactly.  The exact
#: sum 2^54 + 15 (fsum rounds it to 2^54 + 16) or pairwise 2^54 + 12 give other square roots.
FOLD_TRAP_NORM = float.fromhex("0x1p+27")


@case("variable-norm", "variableNorm 3-4-5", ("Runtime.Variable.variableNorm",), 5.0,
      "sqrt(((0 + 9) + 16)) = sqrt(25) = 5 exactly; signs vanish in the squares")
def _():
    return V.variableNorm(V.createVariable(0, "v", f64([2], [-3.0, 4.0])))


@case("variable-norm", "variableNorm follows the flat left fold (fsum and np.sum differ)",
      ("Runtime.Variable.variableNorm", "Spec.sumSpec"), FOLD_TRAP_NORM,
      "row-major left fold from 0: 2^54 first, then fifteen + 1.0 each rounded away → 2^54; sqrt → 2^27 "
      "= 0x1p+27 (fsum: sqrt(2^54+16) = 2^27 + 2 ulp; numpy pairwise: sqrt(2^54+12) → 2^27 + 1 ulp)")
def _():
    return V.variableNorm(V.createVariable(0, "trap", f64(FOLD_TRAP_SHAPE, FOLD_TRAP_VALUES)))


@case("variable-norm", "variableNorm: small terms first survive", ("Runtime.Variable.variableNorm", "Spec.sumSpec"),
      float.fromhex("0x1.0000000000001p+27"),
      "fold 0+1+…+1 = 8 exactly, then 8 + 2^54 = 2^54 + 8 exactly; sqrt(2^54+8) = 2^27 + 2^-25 − 2^-78…, "
      "nearest binary64 is 2^27 + 2^-25 = 0x1.0000000000001p+27 (order matters: compare the previous case)")
def _():
    return V.variableNorm(V.createVariable(0, "v", f64([9], [1.0] * 8 + [2.0 ** 27])))


@case("variable-norm", "variableNorm of empty tensors is +0.0", ("Runtime.Variable.variableNorm",), (0.0, 0.0),
      "sumSpec of no elements is 0 = +0.0; sqrt(+0.0) = +0.0 (shapes [0] and [2,0])")
def _():
    return (V.variableNorm(V.createVariable(0, "e", f64([0], []))),
            V.variableNorm(V.createVariable(0, "z", f64([2, 0], [[], []]))))


@case("variable-norm", "variableNorm of scalar -0.0 is +0.0", ("Runtime.Variable.variableNorm",), 0.0,
      "(-0)·(-0) = +0; 0 + +0 = +0; sqrt(+0) = +0")
def _():
    return V.variableNorm(V.createVariable(0, "z", s64(-0.0)))


@case("variable-norm", "variableNorm overflows to inf, underflows to 0", ("Runtime.Variable.variableNorm",),
      (INF, 0.0),
      "(2^600)^2 = 2^1200 overflows to inf, sqrt(inf) = inf; (2^-538)^2 = 2^-1076 is a quarter of the least "
      "subnormal 2^-1074 → rounds to +0, sqrt(0) = 0 (not hypot-style scaling)")
def _():
    return (V.variableNorm(V.createVariable(0, "big", f64([1], [2.0 ** 600]))),
            V.variableNorm(V.createVariable(0, "tiny", f64([1], [2.0 ** -538]))))


@case("variable-norm", "variableNorm propagates NaN", ("Runtime.Variable.variableNorm",), AnyNaN(Float),
      "NaN·NaN is NaN, every + NaN is NaN, sqrt(NaN) is NaN (payload not asserted)")
def _():
    return V.variableNorm(V.createVariable(0, "n", f64([3], [1.0, NAN, 2.0])))


@case("variable-norm", "variableNorm over Float: sum 2^24 + 4 rounds once at sqrt", ("Runtime.Variable.variableNorm",),
      float.fromhex("0x1.000001fffffe0p+12"),
      "binary64 fold 2^24 + 1 + 1 + 1 + 1 = 2^24 + 4 exactly; sqrt = 2^12 + 2^-11 − 2^-35 + 2^-58…, the "
      "last term far below half an ulp (2^-41) → 2^12·(1 + 2^-23 − 2^-47) = 0x1.000001fffffe0p+12")
def _():
    return V.variableNorm(V.createVariable(0, "v", f64([5], [4096.0, 1.0, 1.0, 1.0, 1.0])))


@case("variable-norm", "variableNorm over IEEE32Exec rounds every step", ("Runtime.Variable.variableNorm",),
      np.float32(4096.0),
      "binary32: 4096² = 2^24; 2^24 + 1 is a tie between 2^24 and 2^24 + 2 → even → 2^24, four times; sqrt(2^24) "
      "= 4096 (a binary64 fold rounded once would give 4096 + 2^-11)")
def _():
    return V.variableNorm(V.createVariable(0, "v", f32([5], [4096.0, 1.0, 1.0, 1.0, 1.0])))


@case("variable-norm", "variableNorm over IEEE32Exec rounds products", ("Runtime.Variable.variableNorm",),
      np.float32(0.0), "(2^-76)² = 2^-152 is below half the least binary32 subnormal 2^-149 → +0; sqrt → 0")
def _():
    return V.variableNorm(V.createVariable(0, "v", f32([1], [2.0 ** -76])))


@case("variable-norm", "variableNorm over IEEE32Exec propagates NaN", ("Runtime.Variable.variableNorm",),
      AnyNaN(IEEE32Exec), "NaN in → NaN out (payload not asserted: IEEE32Exec NaN canonicalisation is open)")
def _():
    return V.variableNorm(V.createVariable(0, "v", f32([2], [NAN, 1.0])))


@case("variable-norm", "variableNorm over Rat is 0 (sqrt := 0)", ("Runtime.Variable.variableNorm",),
      (Fraction(0), Fraction(0)), "the scoped Context ℚ instance defines sqrt q = 0 for every q")
def _():
    return (V.variableNorm(V.createVariable(0, "q", rat([2], [3, 4]))),
            V.variableNorm(V.createVariable(0, "e", rat([0], []))))


@case("variable-norm", "variableNorm on Int needs a Context instance", ("Runtime.Variable.variableNorm",),
      Raises(E.NoContextInstanceError), "[Context α] has no Int instance")
def _():
    return V.variableNorm(V.createVariable(0, "n", ints([2], [3, 4])))


@case("variable-norm", "variableNorm on Nat needs a Context instance", ("Runtime.Variable.variableNorm",),
      Raises(E.NoContextInstanceError), "[Context α] has no Nat instance")
def _():
    return V.variableNorm(V.createVariable(0, "n", T.ofNested(Nat, [2], [3, 4])))


# =========================================================================================
# Variable ↔ context, error
# =========================================================================================


@case("variable-context", "registerInContext = registerVariable ctx v.name v.value", ("Runtime.Variable.registerInContext",),
      ((("w", f64([1], [2.0])), ("a", s64(1.0))), (), 2),
      "the variable's id (17), gradient and flag are ignored; next_id is bumped by registerVariable")
def _():
    v = V.setGradient(V.createVariable(17, "w", f64([1], [2.0])), f64([1], [9.0]))
    return contents(V.registerInContext(registered(("a", s64(1.0))), v))


@case("variable-context", "getFromContext at the variable's shape", ("Runtime.Variable.getFromContext",),
      (f64([2], [5.0, 6.0]), None, None),
      "getVariable ctx v.name at s: found with shape [2]; the newest w has shape [1] for a [2] request → none; "
      "absent → none")
def _():
    v = V.createVariable(0, "w", f64([2], [0.0, 0.0]))
    ctx = registered(("w", f64([2], [5.0, 6.0])))
    shadowed = C.registerVariable(ctx, "w", f64([1], [7.0]))
    return (V.getFromContext(ctx, v), V.getFromContext(shadowed, v), V.getFromContext(C.emptyContext(), v))


@case("variable-context", "registerGradientInContext with and without gradient", ("Runtime.Variable.registerGradientInContext",),
      (((("x", s64(1.0)),), (), 1), ((("x", s64(1.0)),), (("g", s64(0.5)),), 1), False),
      "none → ctx; some g → registerGradient ctx v.name g (next_id unchanged, name need not be a variable)")
def _():
    ctx = registered(("x", s64(1.0)))
    v = V.createVariable(0, "g", s64(3.0))
    with_grad = V.registerGradientInContext(ctx, V.setGradient(v, s64(0.5)))
    return (contents(V.registerGradientInContext(ctx, v)), contents(with_grad), C.isValidContext(with_grad))


@case("variable-context", "error takes next_id and leaves the context", ("Runtime.Variable.error",),
      (V.Variable(2, "boom", s64(0.0), None, False), V.Variable(2, "again", s64(0.0), None, False),
       ((("b", s64(1.0)), ("a", s64(1.0))), (), 2)),
      "{ id := ctx.next_id, name := msg, value := scalar 0, gradient := none, requires_grad := false }; "
      "ctx is only read, so a second error gets the same id")
def _():
    ctx = registered(("a", s64(1.0)), ("b", s64(1.0)))
    return (V.error(ctx, "boom"), V.error(ctx, "again"), contents(ctx))


@case("variable-context", "error over Int and on an empty context", ("Runtime.Variable.error",),
      (V.Variable(1, "n", T.scalar(Int, 0), None, False), V.Variable(0, "", s64(0.0), None, False)),
      "error needs only [Zero α]: Int works (0); an empty context has next_id 0")
def _():
    return (V.error(registered(("k", ints([1], [4]))), "n"), V.error(C.emptyContext(), "", alpha=Float))


# =========================================================================================
# clone / detach / cast
# =========================================================================================


@case("variable-cast", "cloneVariable: new id, gradient cleared, flag kept", ("Runtime.Variable.cloneVariable",),
      (V.Variable(9, "w", f64([1], [1.0]), None, True), V.Variable(10, "w", f64([1], [1.0]), None, False)),
      "{ v with id := new_id, gradient := none } (not PyTorch's clone, which keeps grad semantics)")
def _():
    v = V.setGradient(V.createVariable(1, "w", f64([1], [1.0])), f64([1], [2.0]))
    return (V.cloneVariable(v, 9), V.cloneVariable(V.setGradient(V.detachVariable(v), f64([1], [2.0])), 10))


@case("variable-cast", "detachVariable: flag false, gradient cleared, id kept", ("Runtime.Variable.detachVariable",),
      V.Variable(1, "w", f64([1], [1.0]), None, False), "{ v with requires_grad := false, gradient := none }")
def _():
    return V.detachVariable(V.setGradient(V.createVariable(1, "w", f64([1], [1.0])), f64([1], [2.0])))


@case("variable-cast", "castShape with checked evidence is the identity", ("Runtime.Variable.castShape", "Spec.Tensor.castShape"),
      (V.Variable(1, "m", f64([2, 1], [[1.0], [2.0]]), f64([2, 1], [[3.0], [4.0]]), True),
       V.Variable(1, "m", f64([2, 1], [[1.0], [2.0]]), f64([2, 1], [[3.0], [4.0]]), True)),
      "value and gradient transported along h : s₁ = s₂ (Eq.mp, no data change); evidence from check, "
      "and from refl.trans(check).symm()")
def _():
    v = V.setGradient(V.createVariable(1, "m", f64([2, 1], [[1.0], [2.0]])), f64([2, 1], [[3.0], [4.0]]))
    checked = ShapeEq.check(v.s, ofList([2, 1]))
    chained = ShapeEq.refl(v.s).trans(checked).symm()
    return (V.castShape(v, checked), V.castShape(v, chained))


@case("variable-cast", "castShape refuses evidence about other shapes", ("Runtime.Variable.castShape",),
      Raises(E.CastEvidenceError), "h must have type s₁ = s₂ for the variable's own s₁; refl [3] is about [3]")
def _():
    return V.castShape(V.createVariable(1, "m", f64([2], [1.0, 2.0])), ShapeEq.refl(ofList([3])))


@case("variable-cast", "no evidence for unequal shapes", ("Runtime.Variable.castShape",),
      Raises(E.CastEvidenceError), "no proof of [2] = [3] exists, so check refuses")
def _():
    return V.castShape(V.createVariable(1, "m", f64([2], [1.0, 2.0])), ShapeEq.check(ofList([2]), ofList([3])))


@case("variable-cast", "forged ShapeEq is refused", ("Runtime.Variable.castShape",),
      Raises(E.CastEvidenceError), "evidence cannot be constructed directly (a proof term must be built)")
def _():
    return V.castShape(V.createVariable(1, "m", f64([2], [1.0, 2.0])), ShapeEq(ofList([2]), ofList([3])))


@case("variable-cast", "castShape with a non-evidence argument is refused", ("Runtime.Variable.castShape",),
      Raises(E.CastEvidenceError), "True is not a proof of s₁ = s₂")
def _():
    return V.castShape(V.createVariable(1, "m", f64([2], [1.0, 2.0])), True)


@case("variable-cast", "evidence does not chain through unequal middles", ("Spec.Shape", "Eq.trans"),
      Raises(E.CastEvidenceError), "trans needs h₁ : a = b and h₂ : b = c with the same b")
def _():
    return ShapeEq.refl(ofList([2])).trans(ShapeEq.refl(ofList([3])))


# =========================================================================================
# purity
# =========================================================================================


@case("purity", "registry operations leave their input context unchanged",
      ("Runtime.registerVariable", "Runtime.setVariable", "Runtime.registerGradient", "Runtime.setGradient",
       "Runtime.clearGradients"),
      ((("w", s64(1.0)),), (("w", s64(0.5)),), 1),
      "Lean values are immutable: every operation returns a new record")
def _():
    ctx = C.registerGradient(registered(("w", s64(1.0))), "w", s64(0.5))
    C.registerVariable(ctx, "x", s64(2.0))
    C.setVariable(ctx, "w", f64([2], [3.0, 4.0]))
    C.registerGradient(ctx, "y", s64(2.0))
    C.setGradient(ctx, "w", s64(9.0))
    C.clearGradients(ctx)
    V.registerInContext(ctx, V.createVariable(0, "z", s64(1.0)))
    V.registerGradientInContext(ctx, V.setGradient(V.createVariable(0, "z", s64(1.0)), s64(1.0)))
    V.error(ctx, "e")
    return contents(ctx)


@case("purity", "variable operations leave their input variable unchanged",
      ("Runtime.Variable.setValue", "Runtime.Variable.setGradient", "Runtime.Variable.accumulateGradient",
       "Runtime.Variable.clearGradient", "Runtime.Variable.cloneVariable", "Runtime.Variable.detachVariable",
       "Runtime.Variable.castShape", "Runtime.Variable.variableNorm"),
      (V.Variable(4, "p", f64([2], [1.0, 2.0]), f64([2], [0.5, 0.5]), True), f64([2], [1.0, 1.0])),
      "every operation builds a new record; the gradient tensor passed in is not modified either")
def _():
    v = V.setGradient(V.createVariable(4, "p", f64([2], [1.0, 2.0])), f64([2], [0.5, 0.5]))
    g = f64([2], [1.0, 1.0])
    V.setValue(v, f64([2], [7.0, 7.0]))
    V.setGradient(v, g)
    V.accumulateGradient(v, g)
    V.clearGradient(v)
    V.cloneVariable(v, 99)
    V.detachVariable(v)
    V.castShape(v, ShapeEq.refl(v.s))
    V.variableNorm(v)
    return (v, g)


# =========================================================================================
# core pieces the runtime uses
# =========================================================================================


@case("core", "sumSpec is one flat left fold from 0", ("Spec.sumSpec",),
      (2.0 ** 54, 2.0 ** 54 + 4, 0.0, 0.0),
      "[2^54, 1, 1, 1]: each +1 rounds away; [1, 1, 1, 2^54]: 3 + 2^54 rounds to 2^54 + 4; scalar -0.0: "
      "0 + -0 = +0; no elements: 0")
def _():
    return (T.sumSpec(f64([4], [2.0 ** 54, 1.0, 1.0, 1.0])), T.sumSpec(f64([4], [1.0, 1.0, 1.0, 2.0 ** 54])),
            T.sumSpec(s64(-0.0)), T.sumSpec(f64([3, 0], [[], [], []])))


@case("core", "Shape.pretty", ("Spec.Shape.pretty",), ("scalar", "dim 2 (dim 3 (scalar))", "dim 0 (scalar)"),
      "scalar ↦ scalar, dim n s ↦ dim n (pretty s)")
def _():
    from torchlean_runtime.spec.core.shape import pretty

    return (pretty(ofList([])), pretty(ofList([2, 3])), pretty(ofList([0])))


@case("core", "Shape.size and rank", ("Spec.Shape.size", "Spec.Shape.rank"), (1, 0, 6, 2, 0, 3),
      "size: product of dims (1 for scalar); rank: number of dims")
def _():
    from torchlean_runtime.spec.core.shape import rank, size

    return (size(ofList([])), rank(ofList([])), size(ofList([2, 3])), rank(ofList([2, 3])),
            size(ofList([4, 0, 5])), rank(ofList([4, 0, 5])))


@case("core", "addSpec / mulSpec elementwise", ("Spec.Tensor.addSpec", "Spec.Tensor.mulSpec"),
      (f64([2, 2], [[11.0, 22.0], [33.0, 44.0]]), f64([2, 2], [[10.0, 40.0], [90.0, -0.0]])),
      "same-shape elementwise + and ·, no broadcasting; 4 · -0 = -0")
def _():
    a = f64([2, 2], [[1.0, 2.0], [3.0, 4.0]])
    return (T.addSpec(a, f64([2, 2], [[10.0, 20.0], [30.0, 40.0]])),
            T.mulSpec(a, f64([2, 2], [[10.0, 20.0], [30.0, -0.0]])))


CASES: tuple[Case, ...] = tuple(_CASES)
del _CASES


# --- the verify provider --------------------------------------------------------------------


def runGroup(group: str) -> Outcome:
    """Run every case of ``group``; pass iff all pass."""
    cases = [c for c in CASES if c.group == group]
    failures = [f"{c.name}: {msg}" for c in cases for msg in [checkCase(c)] if msg is not None]
    if not cases:
        return Outcome(False, f"no cases in group {group!r}")
    if failures:
        return Outcome(False, f"{len(failures)}/{len(cases)} cases failed — " + "; ".join(failures))
    return Outcome(True, f"{len(cases)} cases")


def obligations(quick: bool) -> list[Obligation]:
    out = []
    for group, title in GROUPS.items():
        n = sum(1 for c in CASES if c.group == group)
        out.append(
            Obligation(
                name=f"conformance: {title}",
                method="conformance",
                label="examples",
                claim=f"the spec gives the value Lean's definitions give on {n} hand-written cases "
                f"(expected values derived from the Lean semantics)",
                run=runGroup,
                args=(group,),
            )
        )
    return out
