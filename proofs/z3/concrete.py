"""Concrete terms: Python values ↔ closed Z3 terms of the models, and evaluation.

This is how the models are checked against the code: build the Z3 term for a concrete
input, let Z3 evaluate the model's definition on it (``z3.simplify`` unfolds recursive
functions on constructor terms), read the result back as a Python value and compare it
with what the Python spec / impl returns.

Tensor values are opaque ids in the models; the caller says which id a value gets
(``value_id``), e.g. with a :class:`ValueIds` table.
"""

from __future__ import annotations

import re
from typing import Any, Callable, Hashable, Optional

import numpy as np
import z3

from torchlean_runtime.spec.core.shape import Dim, Shape as PyShape, dim as py_dim, ofList, scalar as py_scalar

from .index_model import Chain, IndexRegistry, OptChain
from .model import AnyTensor, Ctx, Entry, NameList, NatList, Registry, Shape

__all__ = [
    "evaluate",
    "name_term",
    "name_value",
    "shape_term",
    "shape_value",
    "natlist_term",
    "natlist_value",
    "int_value",
    "bool_value",
    "ValueIds",
    "registry_term",
    "registry_value",
    "context_term",
    "context_value",
    "opt_tensor_value",
    "namelist_value",
    "namelist_term",
    "chain_term",
    "chain_value",
    "index_registry_term",
    "index_state",
]


def evaluate(term: z3.ExprRef) -> z3.ExprRef:
    """Z3's value of a closed term (recursive definitions unfolded)."""
    return z3.simplify(term)


def _ctor(term: z3.ExprRef) -> str:
    if not z3.is_app(term):
        raise ValueError(f"not a constructor term: {term}")
    return term.decl().name()


# --- scalars --------------------------------------------------------------------------------------


def int_value(term: z3.ExprRef) -> int:
    v = evaluate(term)
    if not z3.is_int_value(v):
        raise ValueError(f"not an integer value: {v}")
    return v.as_long()


def bool_value(term: z3.ExprRef) -> bool:
    v = evaluate(term)
    if z3.is_true(v):
        return True
    if z3.is_false(v):
        return False
    raise ValueError(f"not a Boolean value: {v}")


#: Z3's largest character code (its strings cover U+0000..U+2FFFF only).
MAX_Z3_CHAR = 0x2FFFF


def name_term(name: str) -> z3.ExprRef:
    """A Lean ``String`` as a Z3 string, code point by code point (Z3 reads ``\\u{..}``
    escapes inside string literals, so every character is written as one).  Names with a
    character above U+2FFFF have no Z3 string and are refused."""
    if any(ord(ch) > MAX_Z3_CHAR for ch in name):
        raise ValueError(f"{name!r} has a character above U+2FFFF, outside Z3's string alphabet")
    return z3.StringVal("".join("\\u{%x}" % ord(ch) for ch in name))


_ESCAPE = re.compile(r"\\u\{([0-9a-fA-F]+)\}")


def name_value(term: z3.ExprRef) -> str:
    v = evaluate(term)
    if not z3.is_string_value(v):
        raise ValueError(f"not a string value: {v}")
    return _ESCAPE.sub(lambda mt: chr(int(mt.group(1), 16)), v.as_string())


# --- shapes and lists ------------------------------------------------------------------------------


def shape_term(s: PyShape) -> z3.ExprRef:
    dims = []
    while isinstance(s, Dim):
        dims.append(s.n)
        s = s.rest
    term = Shape.scalar
    for n in reversed(dims):
        term = Shape.dim(z3.IntVal(n), term)
    return term


def shape_value(term: z3.ExprRef) -> PyShape:
    v = evaluate(term)
    dims = []
    while _ctor(v) == "dim":
        dims.append(int_value(v.arg(0)))
        v = v.arg(1)
    if _ctor(v) != "scalar":
        raise ValueError(f"not a Shape value: {v}")
    out: PyShape = py_scalar
    for n in reversed(dims):
        out = py_dim(n, out)
    return out


def natlist_term(items) -> z3.ExprRef:
    term = NatList.nnil
    for n in reversed(list(items)):
        term = NatList.ncons(z3.IntVal(n), term)
    return term


def natlist_value(term: z3.ExprRef) -> tuple[int, ...]:
    v, out = evaluate(term), []
    while _ctor(v) == "ncons":
        out.append(int_value(v.arg(0)))
        v = v.arg(1)
    return tuple(out)


def namelist_value(term: z3.ExprRef) -> list[str]:
    v, out = evaluate(term), []
    while _ctor(v) == "scons":
        out.append(name_value(v.arg(0)))
        v = v.arg(1)
    if _ctor(v) != "snil":
        raise ValueError(f"not a List String value: {v}")
    return out


# --- registries and contexts -----------------------------------------------------------------------


class ValueIds:
    """Opaque ids for tensor values: ``key(value)`` decides which values share an id."""

    def __init__(self, key=lambda v: v):
        self._key = key
        self._ids: dict[Hashable, int] = {}
        self._values: dict[int, Any] = {}

    def id_of(self, value: Any) -> int:
        key = self._key(value)
        if key not in self._ids:
            self._ids[key] = len(self._ids)
            self._values[self._ids[key]] = value
        return self._ids[key]

    def value_of(self, vid: int) -> Any:
        return self._values[vid]


def _entry_term(name: str, s: PyShape, vid: int) -> z3.ExprRef:
    return Entry.entry(name_term(name), AnyTensor.anyTensor(shape_term(s), z3.IntVal(vid)))


def registry_term(entries, value_id: Callable[[Any], int]) -> z3.ExprRef:
    """A spec registry (iterable of ``(name, AnyTensor)``, list order) as a ``Registry`` term."""
    term = Registry.rnil
    for name, any_tensor in reversed(list(entries)):
        term = Registry.rcons(_entry_term(name, any_tensor.s, value_id(any_tensor.t)), term)
    return term


def registry_value(term: z3.ExprRef) -> list[tuple[str, PyShape, int]]:
    """A ``Registry`` value as ``[(name, shape, value id), ...]`` in list order."""
    v, out = evaluate(term), []
    while _ctor(v) == "rcons":
        entry = v.arg(0)
        at = entry.arg(1)
        out.append((name_value(entry.arg(0)), shape_value(at.arg(0)), int_value(at.arg(1))))
        v = v.arg(1)
    if _ctor(v) != "rnil":
        raise ValueError(f"not a Registry value: {v}")
    return out


def context_term(ctx, value_id: Callable[[Any], int]) -> z3.ExprRef:
    """A spec ``RuntimeContext`` as a ``Ctx`` term (``alpha`` is not modelled)."""
    return Ctx.mkContext(
        registry_term(ctx.var_registry, value_id), registry_term(ctx.gradients, value_id), z3.IntVal(ctx.next_id)
    )


def context_value(term: z3.ExprRef) -> tuple[list, list, int]:
    v = evaluate(term)
    if _ctor(v) != "mkContext":
        raise ValueError(f"not a Ctx value: {v}")
    return registry_value(v.arg(0)), registry_value(v.arg(1)), int_value(v.arg(2))


def opt_tensor_value(term: z3.ExprRef) -> Optional[int]:
    """``none`` → ``None``; ``some t`` → the value id ``t``."""
    v = evaluate(term)
    if _ctor(v) == "noTensor":
        return None
    if _ctor(v) == "someTensor":
        return int_value(v.arg(0))
    raise ValueError(f"not an OptTensor value: {v}")


# --- the index model -------------------------------------------------------------------------------


def namelist_term(names) -> z3.ExprRef:
    """A Python list of names as a ``NameList`` term (list order)."""
    term = NameList.snil
    for name in reversed(list(names)):
        term = NameList.scons(name_term(name), term)
    return term


def chain_term(chain, value_id: Callable[[Any], int]) -> z3.ExprRef:
    """An impl chain (a bare array, or an ``(array, rest)`` pair) as a ``Chain`` term, the array
    ``a`` as ``anyTensor(a.shape, value_id(a))``.  A value that is no chain (``None``, a cell of
    another length, a cell whose rest is ``None``, ...) has no ``Chain`` term: ValueError."""
    arrays = []
    while type(chain) is tuple:
        if len(chain) != 2 or type(chain[0]) is not np.ndarray:
            raise ValueError(f"not a chain cell (the model's Chain sort has no such value): {chain!r}")
        arrays.append(chain[0])
        chain = chain[1]
    if type(chain) is not np.ndarray:
        raise ValueError(f"a chain ends in an array, not in {chain!r} (the model's Chain sort has no such value)")

    def array_term(a):
        return AnyTensor.anyTensor(shape_term(ofList(a.shape)), z3.IntVal(value_id(a)))

    term = Chain.carray(array_term(chain))
    for a in reversed(arrays):
        term = Chain.ccell(array_term(a), term)
    return term


def chain_value(term: z3.ExprRef) -> list[tuple[PyShape, int]]:
    """A ``Chain`` value as ``[(shape, value id), ...]``, head first (the oldest array last)."""
    v, out = evaluate(term), []
    while _ctor(v) == "ccell":
        at = v.arg(0)
        out.append((shape_value(at.arg(0)), int_value(at.arg(1))))
        v = v.arg(1)
    if _ctor(v) != "carray":
        raise ValueError(f"not a Chain value: {v}")
    at = v.arg(0)
    out.append((shape_value(at.arg(0)), int_value(at.arg(1))))
    return out


def index_registry_term(reg, value_id: Callable[[Any], int]) -> z3.ExprRef:
    """An impl ``Registry`` (impl/registry.py) as an ``IndexRegistry`` term, field by field;
    ``order`` is the flattening of the impl's chunks (``Registry.order_names``).  A state whose
    chunks are malformed (``Registry.layout_violations``) has no term: ValueError."""
    malformed = reg.layout_violations()
    if malformed:
        raise ValueError(f"no IndexRegistry term for a malformed order layout: {malformed[0]}")
    names = reg.order_names()
    slots = z3.K(z3.StringSort(), OptChain.absentName)
    for name, chain in reg.slots.items():
        slots = z3.Store(slots, name_term(name), OptChain.presentChain(chain_term(chain, value_id)))
    return IndexRegistry.mkRegistry(namelist_term(names), slots, z3.IntVal(reg.length))


def index_state(term: z3.ExprRef, names) -> dict:
    """The observable state of an ``IndexRegistry`` term: ``order`` (a list of names),
    ``slots`` at ``names`` (``None`` = no key, else the chain as ``[(shape, value id), ...]``),
    ``length``."""
    v = evaluate(term)
    order_t, slots_t, length_t = (IndexRegistry.accessor(0, j)(v) for j in range(3))
    slots = {}
    for name in names:
        slot = evaluate(slots_t[name_term(name)])
        slots[name] = None if _ctor(slot) == "absentName" else chain_value(slot.arg(0))
    return {"order": namelist_value(order_t), "slots": slots, "length": int_value(length_t)}
