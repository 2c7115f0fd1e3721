"""``Spec.Shape`` — transcription of NN/Spec/Core/Shape.lean
(lean-dojo/TorchLean @ 411682f6c3d913e5cdbc27d4546b3ab7ac0e3e9c).

A shape is the Lean tree ``scalar | dim n rest`` (outermost dimension first).  Values are
frozen, hashable and compare structurally (Lean's derived ``DecidableEq``).  The recursive
Lean definitions are written as loops so that no Python recursion limit bounds them.

``ShapeEq`` is the Python stand-in for a Lean proof ``h : s₁ = s₂``: it can only be obtained
by checking two shapes (``ShapeEq.check``) or from the equality laws (``refl``, ``symm``,
``trans``), so a cast between unequal shapes cannot be written by accident.
"""

from __future__ import annotations

import itertools
import operator
from dataclasses import dataclass
from typing import Iterable

from torchlean_runtime.errors import CastEvidenceError, InvalidShapeError, safe_repr

__all__ = [
    "Shape",
    "Scalar",
    "Dim",
    "scalar",
    "dim",
    "MAX_RANK",
    "ofList",
    "toList",
    "size",
    "rank",
    "areEqual",
    "pretty",
    "ShapeEq",
    "checkDim",
]

#: Resource cap on the rank of a shape (numpy's own limit).  Lean has none; deep shapes are
#: refused with InvalidShapeError instead of exhausting the interpreter.
MAX_RANK = 64


class Shape:
    """Lean ``Spec.Shape``: either :class:`Scalar` or :class:`Dim`."""

    __slots__ = ()

    def __repr__(self) -> str:  # e.g. Shape[2, 3]
        return f"Shape{list(toList(self))}"


@dataclass(frozen=True, repr=False, slots=True)
class Scalar(Shape):
    """Lean ``Shape.scalar``."""


@dataclass(frozen=True, repr=False, slots=True)
class Dim(Shape):
    """Lean ``Shape.dim n rest``: a length-``n`` dimension whose entries have shape ``rest``."""

    n: int
    rest: Shape

    def __post_init__(self) -> None:
        object.__setattr__(self, "n", checkDim(self.n))
        if not isinstance(self.rest, Shape):
            raise InvalidShapeError(f"Shape.dim expects a Shape as its tail, given {safe_repr(self.rest)}")


#: The value ``Shape.scalar``.
scalar: Shape = Scalar()


def dim(n: int, rest: Shape) -> Shape:
    """Lean constructor ``Shape.dim n rest``."""
    return Dim(n, rest)


def checkDim(n: object) -> int:
    """A dimension must be a Lean ``Nat``: a non-negative integer (``bool`` and floats are not).
    ``__index__`` is called once; one that raises or returns a non-int is no dimension."""
    if isinstance(n, bool) or not hasattr(type(n), "__index__"):
        raise InvalidShapeError(f"a dimension must be a non-negative int, given {safe_repr(n)} ({type(n).__name__})")
    try:
        value = int.__index__(operator.index(n))  # the value itself: __index__ may return an int subclass whose __int__ lies
    except Exception:  # noqa: BLE001 - a hostile __index__
        raise InvalidShapeError(f"a dimension must be a non-negative int, given a {type(n).__name__} whose __index__ "
                                "fails") from None
    if value < 0:
        raise InvalidShapeError(f"a dimension must be a non-negative int, given {value}")
    return value


def ofList(dims: Iterable[int]) -> Shape:
    """Lean ``Shape.ofList``: ``[] ↦ scalar``, ``n :: ns ↦ dim n (ofList ns)``.

    Loop from the innermost dimension outwards instead of structural recursion.
    """
    if isinstance(dims, (str, bytes)) or not hasattr(dims, "__iter__"):
        raise InvalidShapeError(f"ofList expects a list of dimensions, given {safe_repr(dims)}")
    try:
        items = [checkDim(n) for n in itertools.islice(dims, MAX_RANK + 1)]  # bounded: never walks an endless iterable
    except InvalidShapeError:
        raise
    except Exception:  # noqa: BLE001 - a hostile iterable
        raise InvalidShapeError(f"ofList could not iterate the dimensions of a {type(dims).__name__}") from None
    if len(items) > MAX_RANK:
        raise InvalidShapeError(f"rank {len(items)} exceeds the cap MAX_RANK={MAX_RANK}")
    s: Shape = scalar
    for n in reversed(items):
        s = Dim(n, s)
    return s


def toList(s: Shape) -> tuple[int, ...]:
    """Lean ``Shape.toList``: ``scalar ↦ []``, ``dim n rest ↦ n :: toList rest`` (as a tuple)."""
    out: list[int] = []
    while isinstance(s, Dim):
        out.append(s.n)
        s = s.rest
    return tuple(out)


def size(s: Shape) -> int:
    """Lean ``Shape.size``: ``scalar ↦ 1``, ``dim n rest ↦ n * size rest``."""
    total = 1
    for n in reversed(toList(s)):  # innermost first, as the recursion multiplies on the way out
        total = n * total
    return total


def rank(s: Shape) -> int:
    """Lean ``Shape.rank``: ``scalar ↦ 0``, ``dim _ rest ↦ 1 + rank rest``."""
    return len(toList(s))


def areEqual(s1: Shape, s2: Shape) -> bool:
    """Lean ``Shape.areEqual``: structural boolean test (``n1 == n2 && areEqual s1 s2``)."""
    while True:
        if isinstance(s1, Scalar) and isinstance(s2, Scalar):
            return True
        if isinstance(s1, Dim) and isinstance(s2, Dim):
            if s1.n != s2.n:
                return False
            s1, s2 = s1.rest, s2.rest
            continue
        return False


def pretty(s: Shape) -> str:
    """Lean ``Shape.pretty``: ``scalar`` / ``dim n (<pretty rest>)``."""
    dims = toList(s)
    return "".join(f"dim {n} (" for n in dims) + "scalar" + ")" * len(dims)


_EVIDENCE_TOKEN = object()


class ShapeEq:
    """Evidence that two shapes are equal (the Python stand-in for a Lean proof ``s₁ = s₂``).

    Obtain it only through :meth:`check`, :meth:`refl`, :meth:`symm` or :meth:`trans`;
    direct construction raises :class:`CastEvidenceError`.
    """

    __slots__ = ("lhs", "rhs")

    def __init__(self, lhs: Shape, rhs: Shape, _token: object = None):
        if _token is not _EVIDENCE_TOKEN:
            raise CastEvidenceError("ShapeEq evidence is obtained from ShapeEq.check/refl/symm/trans only")
        object.__setattr__(self, "lhs", lhs)
        object.__setattr__(self, "rhs", rhs)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("ShapeEq evidence is immutable")

    @staticmethod
    def check(s1: Shape, s2: Shape) -> "ShapeEq":
        """Decide ``s1 = s2``; return evidence, or raise CastEvidenceError when they differ."""
        if not isinstance(s1, Shape) or not isinstance(s2, Shape):
            raise CastEvidenceError(f"ShapeEq.check expects two Shapes, given {safe_repr(s1)} and {safe_repr(s2)}")
        if not areEqual(s1, s2):
            raise CastEvidenceError(f"no evidence that {pretty(s1)} = {pretty(s2)}: the shapes differ")
        return ShapeEq(s1, s2, _EVIDENCE_TOKEN)

    @staticmethod
    def refl(s: Shape) -> "ShapeEq":
        """``rfl : s = s``."""
        if not isinstance(s, Shape):
            raise CastEvidenceError(f"ShapeEq.refl expects a Shape, given {safe_repr(s)}")
        return ShapeEq(s, s, _EVIDENCE_TOKEN)

    def symm(self) -> "ShapeEq":
        """``h.symm : s₂ = s₁``."""
        return ShapeEq(self.rhs, self.lhs, _EVIDENCE_TOKEN)

    def trans(self, other: "ShapeEq") -> "ShapeEq":
        """``h₁.trans h₂ : s₁ = s₃``; the middle shapes must agree."""
        if not isinstance(other, ShapeEq):
            raise CastEvidenceError(f"ShapeEq.trans expects ShapeEq evidence, given {safe_repr(other)}")
        if not areEqual(self.rhs, other.lhs):
            raise CastEvidenceError(
                f"cannot chain {pretty(self.lhs)} = {pretty(self.rhs)} with {pretty(other.lhs)} = {pretty(other.rhs)}"
            )
        return ShapeEq(self.lhs, other.rhs, _EVIDENCE_TOKEN)

    def __copy__(self) -> "ShapeEq":
        return self  # immutable evidence

    def __deepcopy__(self, memo: dict) -> "ShapeEq":
        return self

    def __reduce__(self):
        # Unpickling decides the equality again (ShapeEq.check): a pickle cannot forge evidence.
        return (ShapeEq.check, (self.lhs, self.rhs))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ShapeEq) and self.lhs == other.lhs and self.rhs == other.rhs

    def __hash__(self) -> int:
        return hash((self.lhs, self.rhs))

    def __repr__(self) -> str:
        return f"ShapeEq({toList(self.lhs)} = {toList(self.rhs)})"
