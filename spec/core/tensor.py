"""``Spec.Tensor`` — the parts of NN/Spec/Core/Tensor/Core.lean, TensorOps.lean,
TensorReductionShape.lean and Utils.lean that the runtime modules use
(lean-dojo/TorchLean @ 411682f6c3d913e5cdbc27d4546b3ab7ac0e3e9c).

A Lean ``Tensor α s`` is a scalar for ``s = scalar`` and a function ``Fin n → Tensor α rest``
for ``s = dim n rest``.  Here a :class:`Tensor` carries its shape and scalar type explicitly
(a zero dimension hides the inner shape from the data) and materialises the functions as
nested tuples: ``data`` is the scalar itself at shape ``scalar`` and a tuple of ``n``
children's data at ``dim n rest``.

Two tensors compare equal exactly when they are the same Lean value: same shape, same scalar
type, and bit-identical elements (so ``-0.0 ≠ 0.0`` and a NaN equals itself).

The spec materialises every element as a Python object, so tensors above
:func:`elementCap` elements are refused *before* anything is allocated.
"""

from __future__ import annotations

from dataclasses import dataclass
from collections.abc import Sequence
from typing import Any, Iterator

from torchlean_runtime.errors import (
    ArgumentTypeError,
    CastEvidenceError,
    InvalidShapeError,
    ScalarTypeError,
    ScalarTypeMismatchError,
    ShapeMismatchError,
    TensorDataError,
    OutputTooLargeError,
    TensorTooLargeError,
    safe_repr,
)

from ..env import env_nat
from .scalars import ScalarType
from .shape import MAX_RANK, Dim, Shape, ShapeEq, ofList, pretty as prettyShape, scalar as scalarShape, size, toList

__all__ = [
    "Tensor",
    "ofNested",
    "toNested",
    "scalar",
    "zeros",
    "elements",
    "addSpec",
    "mulSpec",
    "sumSpec",
    "pretty",
    "castShape",
    "elementCap",
    "setElementCap",
    "DEFAULT_ELEMENT_CAP",
    "asShape",
    "nodeCount",
    "checkCap",
    "printCap",
    "setPrintCap",
    "printTooLarge",
    "structureChars",
    "printedLength",
    "DEFAULT_PRINT_CAP",
    "ELEMENT_CAP_ENV_VAR",
    "PRINT_CAP_ENV_VAR",
]

#: Default cap on the number of elements of one spec tensor (override with the environment
#: variable TORCHLEAN_RT_SPEC_MAX_ELEMENTS or :func:`setElementCap`).
DEFAULT_ELEMENT_CAP = 1_000_000
#: The environment variable overriding the default cap (a non-negative decimal integer).
ELEMENT_CAP_ENV_VAR = "TORCHLEAN_RT_SPEC_MAX_ELEMENTS"
_element_cap: "int | None" = None  # read from the environment on first use, so a bad value never breaks an import


def elementCap() -> int:
    """The current cap on the element count (and nested-structure size) of a spec tensor.
    EnvironmentConfigError (``TLR_ENVIRONMENT``) if TORCHLEAN_RT_SPEC_MAX_ELEMENTS is set to
    anything but a non-negative integer."""
    global _element_cap
    if _element_cap is None:
        _element_cap = env_nat(ELEMENT_CAP_ENV_VAR, DEFAULT_ELEMENT_CAP)
    return _element_cap


def setElementCap(cap: int) -> int:
    """Set the element cap; returns the previous one."""
    global _element_cap
    if isinstance(cap, bool) or not isinstance(cap, int) or cap < 0:
        raise ArgumentTypeError(f"the element cap must be a non-negative int, given {safe_repr(cap)}")
    previous, _element_cap = elementCap(), cap
    return previous


def asShape(s: Any) -> Shape:
    """Accept a :class:`Shape` or a sequence of dimensions — a Lean shape is a list — (tuple,
    list, range, any ``Sequence`` but text; via ``ofList``)."""
    if isinstance(s, Shape):
        return s
    if isinstance(s, Sequence) and not isinstance(s, (str, bytes, bytearray, memoryview)):
        return ofList(s)
    raise InvalidShapeError(f"expected a Shape or a tuple of dimensions, given {safe_repr(s)} ({type(s).__name__})")


def nodeCount(dims: Sequence[int], limit: int) -> int:
    """The number of nested values a tensor of shape ``dims`` materialises — ``1 + d1 + d1·d2 +
    … + d1·…·dr`` (one per sub-tensor, scalars included) — or ``limit + 1`` as soon as it
    exceeds ``limit``.  O(rank), never builds anything: a zero-size shape like (20000, 20000, 0)
    still has 4·10^8 empty sub-tensors to build or print."""
    total = level = 1
    for d in dims:
        level *= d
        total += level
        if total > limit:
            return limit + 1
    return total


def checkCap(s: Shape) -> None:
    """TensorTooLargeError (``TLR_TENSOR_TOO_LARGE``) if a tensor of shape ``s`` is above the
    element cap or materialises more nested values than the caps allow; O(rank)."""
    cap = elementCap()
    dims = toList(s)
    n = size(s)
    if n > cap:
        raise TensorTooLargeError(
            f"a spec tensor of shape {list(dims)} has {n} elements, above the cap {cap} "
            "(raise it with TORCHLEAN_RT_SPEC_MAX_ELEMENTS or setElementCap)"
        )
    limit = MAX_RANK * cap + 1  # every non-empty tensor within the caps has at most this many
    if nodeCount(dims, limit) > limit:
        raise TensorTooLargeError(
            f"a spec tensor of shape {list(dims)} has more than {limit} nested sub-tensors (empty ones "
            f"included; the limit is MAX_RANK x the element cap {cap}, plus one) — raise the cap with "
            "TORCHLEAN_RT_SPEC_MAX_ELEMENTS or setElementCap"
        )


def _build(alpha: ScalarType, dims: tuple[int, ...], nested: Any, where: str) -> Any:
    """Validate ``nested`` against ``dims`` and return canonical nested-tuple data."""
    if not dims:
        if isinstance(nested, (list, tuple)):
            raise TensorDataError(f"expected a {alpha.name} scalar at {where}, given a sequence of length {len(nested)}")
        return alpha.check(nested)
    n = dims[0]
    if not isinstance(nested, (list, tuple)):
        raise TensorDataError(f"expected a sequence of length {n} at {where}, given {type(nested).__name__} {safe_repr(nested)}")
    if len(nested) != n:
        raise TensorDataError(f"expected a sequence of length {n} at {where}, given length {len(nested)} (ragged or wrong shape)")
    rest = dims[1:]
    return tuple(_build(alpha, rest, child, f"{where}[{i}]") for i, child in enumerate(nested))


@dataclass(frozen=True, eq=False, slots=True)
class Tensor:
    """Lean ``Spec.Tensor α s`` with ``s`` (``shape``) and ``α`` (``alpha``) carried explicitly."""

    shape: Shape
    alpha: ScalarType
    data: Any

    def __post_init__(self) -> None:
        if not isinstance(self.shape, Shape):
            raise InvalidShapeError(f"Tensor.shape must be a Shape, given {safe_repr(self.shape)}")
        if not isinstance(self.alpha, ScalarType):
            raise ScalarTypeError(f"Tensor.alpha must be a ScalarType, given {safe_repr(self.alpha)}")
        checkCap(self.shape)
        object.__setattr__(self, "data", _build(self.alpha, toList(self.shape), self.data, "data"))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Tensor):
            return NotImplemented
        return self._identity() == other._identity()

    def __hash__(self) -> int:
        return hash(self._identity())

    def _identity(self) -> tuple:
        key = self.alpha.identity
        return (self.shape, self.alpha.name, tuple(key(x) for x in elements(self)))

    def __repr__(self) -> str:
        return f"Tensor({self.alpha.name}, {list(toList(self.shape))}, {pretty(self)})"


def _iter_data(data: Any, depth: int) -> Iterator[Any]:
    if depth == 0:
        yield data
    else:
        for child in data:
            yield from _iter_data(child, depth - 1)


def elements(t: Tensor) -> Iterator[Any]:
    """All scalars of ``t`` in row-major order (outermost index first)."""
    return _iter_data(t.data, len(toList(t.shape)))


def ofNested(alpha: ScalarType, shape: Any, nested: Any) -> Tensor:
    """A tensor of ``shape`` from nested Python sequences (validating raggedness, dims, scalars)."""
    return Tensor(asShape(shape), alpha, nested)


def toNested(t: Tensor) -> Any:
    """Nested Python lists (a bare scalar at shape ``scalar``)."""

    def go(data: Any, depth: int) -> Any:
        return data if depth == 0 else [go(child, depth - 1) for child in data]

    return go(t.data, len(toList(t.shape)))


def scalar(alpha: ScalarType, x: Any) -> Tensor:
    """Lean ``Tensor.scalar x`` (a tensor of shape ``scalar``)."""
    return Tensor(scalarShape, alpha, x)


def zeros(alpha: ScalarType, shape: Any) -> Tensor:
    """The tensor of ``shape`` filled with ``0 : α``."""
    s = asShape(shape)
    checkCap(s)
    data: Any = alpha.zero
    for n in reversed(toList(s)):
        data = tuple(data for _ in range(n))
    return Tensor(s, alpha, data)


def _same_type(a: Tensor, b: Tensor, op: str) -> None:
    if not isinstance(a, Tensor) or not isinstance(b, Tensor):
        raise ArgumentTypeError(f"{op} expects two Tensors, given {type(a).__name__} and {type(b).__name__}")
    if a.alpha is not b.alpha:
        raise ScalarTypeMismatchError(f"{op}: tensors over {a.alpha.name} and {b.alpha.name} (Lean has one α)")
    if a.shape != b.shape:
        raise ShapeMismatchError(
            f"{op}: shapes {list(toList(a.shape))} and {list(toList(b.shape))} differ (no broadcasting)"
        )


def _zip_with(f: Any, a: Any, b: Any, depth: int) -> Any:
    if depth == 0:
        return f(a, b)
    return tuple(_zip_with(f, x, y, depth - 1) for x, y in zip(a, b))


def addSpec(a: Tensor, b: Tensor) -> Tensor:
    """Lean ``Tensor.addSpec``: elementwise ``a + b`` (``a`` first), same shape, no broadcasting."""
    _same_type(a, b, "addSpec")
    return Tensor(a.shape, a.alpha, _zip_with(a.alpha.add, a.data, b.data, len(toList(a.shape))))


def mulSpec(a: Tensor, b: Tensor) -> Tensor:
    """Lean ``Tensor.mulSpec``: elementwise ``a * b`` (``a`` first), same shape, no broadcasting."""
    _same_type(a, b, "mulSpec")
    return Tensor(a.shape, a.alpha, _zip_with(a.alpha.mul, a.data, b.data, len(toList(a.shape))))


def sumSpec(t: Tensor) -> Any:
    """Lean ``sumSpec``: ONE flat left fold from ``0`` over all scalars in row-major order,
    ``(((0 + x0) + x1) + ...)`` — the running total is threaded through the sub-tensors."""
    if not isinstance(t, Tensor):
        raise ArgumentTypeError(f"sumSpec expects a Tensor, given {type(t).__name__}")
    acc = t.alpha.zero
    for x in elements(t):
        acc = t.alpha.add(acc, x)
    return acc


# --- the cap on printed forms (issue 9, kind 7) ------------------------------------------------------

#: Default cap on the length of one printed context or variable (``contextToString`` /
#: ``variableToString``), in characters: 2**26 (64 Mi).  Lean would print any length; a caller
#: asking for more gets OutputTooLargeError (``TLR_OUTPUT_TOO_LARGE``) before it is built.
DEFAULT_PRINT_CAP = 1 << 26
#: The environment variable overriding it (a non-negative decimal integer).
PRINT_CAP_ENV_VAR = "TORCHLEAN_RT_MAX_PRINT_CHARS"
_print_cap: "int | None" = None


def printCap() -> int:
    """The current cap on a printed form's length (read from the environment on first use)."""
    global _print_cap
    if _print_cap is None:
        _print_cap = env_nat(PRINT_CAP_ENV_VAR, DEFAULT_PRINT_CAP)
    return _print_cap


def setPrintCap(cap: int) -> int:
    """Set the print cap; returns the previous one."""
    global _print_cap
    if isinstance(cap, bool) or not isinstance(cap, int) or cap < 0:
        raise ArgumentTypeError(f"the print cap must be a non-negative int, given {safe_repr(cap)}")
    previous, _print_cap = printCap(), cap
    return previous


def printTooLarge(op: str, cap: int) -> OutputTooLargeError:
    """The one error of a printed form above the cap — the same text from spec and impl."""
    return OutputTooLargeError(
        f"{op}: the printed form would be longer than {cap} characters, the cap (raise it with "
        f"{PRINT_CAP_ENV_VAR} or setPrintCap)"
    )


def structureChars(dims: Sequence[int], budget: int) -> int:
    """Characters ``pretty`` spends on brackets and ``", "`` separators at shape ``dims`` —
    ``Σ_k P_{k-1}·(2 + 2·max(d_k − 1, 0))`` with ``P_k = d_1·…·d_k`` — or ``budget + 1`` as soon
    as that exceeds ``budget``.  O(rank); a zero-size shape like (20000, 20000, 0) costs its
    4·10^8 ``[]`` here, before anything is built."""
    total, groups = 0, 1
    for d in dims:
        total += groups * (2 + 2 * max(d - 1, 0))
        if total > budget:
            return budget + 1
        groups *= d
    return total


def printedLength(t: Tensor, budget: int) -> int:
    """``len(pretty(t))`` computed without building it, or ``budget + 1`` once it exceeds
    ``budget``.  O(elements) time, O(1) extra memory."""
    total = structureChars(toList(t.shape), budget)
    if total > budget:
        return budget + 1
    to_string = t.alpha.toString
    for x in elements(t):
        total += len(to_string(x))
        if total > budget:
            return budget + 1
    return total


def pretty(t: Tensor) -> str:
    """Lean ``Spec.pretty``: a scalar prints as ``toString x``; a dimension as ``[`` + the
    children's renderings joined by ``, `` + ``]``.  Shapes are never printed."""

    def go(data: Any, depth: int) -> str:
        if depth == 0:
            return t.alpha.toString(data)
        return "[" + ", ".join(go(child, depth - 1) for child in data) + "]"

    return go(t.data, len(toList(t.shape)))


def castShape(t: Tensor, h: ShapeEq) -> Tensor:
    """Lean ``Tensor.castShape t h``: the same data at the (equal) shape ``h.rhs``."""
    if not isinstance(h, ShapeEq):
        raise CastEvidenceError(f"castShape needs ShapeEq evidence, given {safe_repr(h)}")
    if h.lhs != t.shape:
        raise CastEvidenceError(
            f"castShape: evidence is about {prettyShape(h.lhs)}, the tensor has shape {prettyShape(t.shape)}"
        )
    return Tensor(h.rhs, t.alpha, t.data)
