"""The finite input domain of every CrossHair obligation, declared once.

Each domain is a tuple of :class:`Param` (name, size, meaning): the obligation's parameters, in
signature order, each ranging over ``0 <= x < size``.  The same declaration gives the icontract
preconditions (:func:`in_domain`), the decoding of symbolic ints (:func:`decode`), and the claim
text and input count in the verify report (:func:`describe`, :func:`size`) — so the bounds a
claim states are the bounds CrossHair explored.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from .encoding import (
    ABSENT_NAME,
    CAST_SHAPES,
    FAMILIES,
    NAMES,
    OTHER_REGISTRY,
    Bounds,
    pick,
    query_shapes,
    registry_count,
)

__all__ = ["Param", "DOMAINS", "domain", "in_domain", "decode", "size", "describe", "STEP_LETTERS", "ERROR_CONTEXTS", "ERROR_NEXT_IDS", "ERROR_DTYPE_NAMES", "RECORD_NEW_IDS", "RECORD_OTHERS"]


@dataclass(frozen=True)
class Param:
    name: str
    size: int
    meaning: str


#: Letters of an operation sequence in the next_id obligation: (operation, name id, value id).
STEP_LETTERS: tuple[tuple[str, int, int], ...] = (
    ("register_variable", 0, 0), ("register_variable", 1, 1),
    ("register_gradient", 0, 1), ("register_gradient", 1, 2),
    ("set_variable", 0, 2), ("set_variable", 1, 0),
    ("set_gradient", 0, 0), ("set_gradient", 1, 1),
    ("clear_gradients", 0, 0),
    ("error", 0, 0),
)
#: Variable.error: contexts 0 emptyContext (α unfixed), 1 emptyContext over α, 2 OTHER_REGISTRY
#: as both lists; next_id 0..2; the dtype= argument None/float64/float32/int64.
ERROR_CONTEXTS = 3
ERROR_NEXT_IDS = 3
ERROR_DTYPE_NAMES = ("None", "float64", "float32", "int64")
#: Variable records: clone's new id 0..2; four variable_eq partners.
RECORD_NEW_IDS = 3
RECORD_OTHERS = 4


def _set(items) -> str:
    return "{" + ", ".join(items) + "}"


def _names(b: Bounds) -> str:
    return _set(repr(n) for n in NAMES[: b.names])


def _values(n: int) -> str:
    from .encoding import VALUE_SHAPES

    return _set(f"v{i}{list(VALUE_SHAPES[i])}" for i in range(n))


def _registry(b: Bounds, entries: int, values: int, what: str) -> Param:
    count = registry_count(entries, b.names * values)
    return Param(what, count,
                 f"every registry of 0..{entries} entries with names in {_names(b)} and values in {_values(values)}")


def _query_name(b: Bounds) -> Param:
    return Param("q", b.query_names, f"name in {_names(b)} or the absent {ABSENT_NAME!r}")


def _which() -> Param:
    return Param("w", 2, "the registry under test is the variables (0) or the gradients (1); the other list is "
                 + "[" + ", ".join(f"({NAMES[k]!r}, v{v})" for k, v in OTHER_REGISTRY) + "]")


def _lookup(b: Bounds) -> tuple[Param, ...]:
    shapes = query_shapes(b)
    return (_which(), _registry(b, b.entries, b.values, "r"), _query_name(b),
            Param("s", len(shapes), f"shape in {_set(str(list(s)) for s in shapes)}"))


def _write(b: Bounds) -> tuple[Param, ...]:
    return (_which(), _registry(b, b.entries, b.values, "r"), _query_name(b),
            Param("u", b.op_values, f"value in {_values(b.op_values)}"))


def _untyped(b: Bounds) -> tuple[Param, ...]:
    return (Param("op", 4, "registerVariable, registerGradient, setVariable, setGradient"),
            Param("f", b.families, f"α in {_set(a.name for a in FAMILIES[: b.families])}"),
            _query_name(b), Param("u", b.op_values, f"value in {_values(b.op_values)}"))


def _whole(b: Bounds) -> tuple[Param, ...]:
    return (_which(), _registry(b, b.entries, b.values, "r"))


def _has(b: Bounds) -> tuple[Param, ...]:
    return (_which(), _registry(b, b.entries, b.values, "r"), _query_name(b))


def _valid(b: Bounds) -> tuple[Param, ...]:
    return (_registry(b, b.valid_entries, b.valid_values, "rv"), _registry(b, b.valid_entries, b.valid_values, "rg"))


def _trace(b: Bounds) -> tuple[Param, ...]:
    letters = len(STEP_LETTERS)
    return (Param("c", 2, "start from emptyContext over Float, or from OTHER_REGISTRY as both lists with next_id 5"),
            Param("t", registry_count(b.steps, letters),
                  f"every sequence of 0..{b.steps} operations from {letters} (register/set variable/gradient × 2 names, clearGradients, error)"))


def _error(b: Bounds) -> tuple[Param, ...]:
    return (Param("c", ERROR_CONTEXTS, "emptyContext with α unfixed, emptyContext over α, or OTHER_REGISTRY as both lists"),
            Param("f", b.families, f"α in {_set(a.name for a in FAMILIES[: b.families])}"),
            Param("i", ERROR_NEXT_IDS, f"next_id in 0..{ERROR_NEXT_IDS - 1}"),
            Param("m", b.query_names, f"msg in {_names(b)} or {ABSENT_NAME!r}"),
            Param("d", len(ERROR_DTYPE_NAMES), f"dtype= in {_set(ERROR_DTYPE_NAMES)}"))


def _cast(b: Bounds) -> tuple[Param, ...]:
    shapes = _set(str(list(s)) for s in CAST_SHAPES[: b.cast_shapes])
    return (Param("a", b.cast_shapes, f"shape A in {shapes}"), Param("b", b.cast_shapes, "shape B (same set)"),
            Param("c", b.cast_shapes, "shape C (same set)"),
            Param("f", b.families, f"α in {_set(a.name for a in FAMILIES[: b.families])}"),
            Param("g", 2, "the variable has no gradient (0) or one (1)"))


def _records(b: Bounds) -> tuple[Param, ...]:
    shapes = _set(str(list(s)) for s in CAST_SHAPES[: b.cast_shapes])
    return (Param("f", b.families, f"α in {_set(a.name for a in FAMILIES[: b.families])}"),
            Param("a", b.cast_shapes, f"the variable's shape in {shapes}"),
            Param("g", 2, "no gradient (0) or one (1)"), Param("k", 2, "requires_grad false (0) or true (1)"),
            Param("i", RECORD_NEW_IDS, f"clone's new id in 0..{RECORD_NEW_IDS - 1}"),
            Param("o", RECORD_OTHERS, "the variable_eq partner: same id and name but other value, gradient and flag; "
                  "other id; other name; an identical record"))


def _in_context(b: Bounds) -> tuple[Param, ...]:
    return (Param("op", 3, "registerInContext, getFromContext, registerGradientInContext"),
            _registry(b, b.valid_entries, b.valid_values, "r"),
            Param("q", b.query_names, f"the variable's name in {_names(b)} or {ABSENT_NAME!r}"),
            Param("u", b.values, f"its value in {_values(b.values)}"),
            Param("g", 2, "no gradient (0) or one (1)"))


#: Obligation function name → its domain as a function of the bound profile.
DOMAINS: dict[str, Callable[[Bounds], tuple[Param, ...]]] = {
    "lookup": _lookup,
    "register": _write,
    "set_all": _write,
    "untyped_writes": _untyped,
    "clear_gradients": _whole,
    "has_variable": _has,
    "names_counts": _whole,
    "is_valid_context": _valid,
    "next_id": _trace,
    "error": _error,
    "cast_shape": _cast,
    "records": _records,
    "in_context": _in_context,
}


def domain(name: str, bounds: Bounds) -> tuple[Param, ...]:
    return DOMAINS[name](bounds)


def in_domain(params: tuple[Param, ...], *args: int) -> bool:
    """Every argument in its range (under CrossHair: constraints on the symbolic ints)."""
    return len(args) == len(params) and all(0 <= x < p.size for x, p in zip(args, params))


def decode(params: tuple[Param, ...], *args: int) -> tuple[int, ...]:
    """Each (symbolic) argument as the concrete int it is, by bisection (:func:`pick`)."""
    return tuple(pick(x, 0, p.size) for x, p in zip(args, params))


def size(params: tuple[Param, ...]) -> int:
    n = 1
    for p in params:
        n *= p.size
    return n


def describe(params: tuple[Param, ...]) -> str:
    return "; ".join(f"{p.name}: {p.meaning} ({p.size})" for p in params) + f" — {size(params)} inputs"
