"""Small-integer encodings of spec-level inputs, and the bounds of the CrossHair obligations.

CrossHair can only confirm a claim "over all paths" when the path tree is finite and small.
So every CrossHair obligation takes a handful of plain ``int`` parameters, each bounded by an
icontract precondition, and decodes them here into concrete SPEC values — registries, names,
tensors, shapes — drawn from the fixed tables below.  Decoding goes through :func:`pick`, a
bisection on the symbolic integer: CrossHair forks at each comparison, so it explores every
integer in the range (one path each), and from there on every value is a concrete Python
object.  The spec and the impl then run as ordinary Python on those values (:func:`concretely`
pauses CrossHair's tracer, which could not explore concrete code symbolically anyway and would
only slow it down ~10×).  "Confirmed over all paths" therefore means: the postcondition holds
for EVERY input of the stated finite domain.

Registries are numbered: index ``r`` enumerates every registry of ``0..entries`` entries, the
empty one first, then all of length 1, then all of length 2, …; within one length, the digits
of ``r`` in base ``names × values`` give each entry (newest first) its name and value id.

The bound profile (``quick`` or ``thorough``) is chosen by the environment variable
:data:`BOUND_ENV_VAR`, read when an obligations module is imported (see :func:`active_bounds`).
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from typing import Any, Callable, Optional, TypeVar

import numpy as np
from crosshair.tracers import NoTracing, is_tracing

from torchlean_runtime.spec.core.list import List, ofIterable
from torchlean_runtime.spec.core.scalars import Float, IEEE32Exec, Int, ScalarType, f32_from_bits
from torchlean_runtime.spec.core.shape import ofList
from torchlean_runtime.spec.core.tensor import Tensor
from torchlean_runtime.spec.runtime.context import AnyTensor, RuntimeContext

__all__ = [
    "BOUND_ENV_VAR",
    "Bounds",
    "BOUNDS",
    "active_bounds",
    "NAMES",
    "ABSENT_NAME",
    "FAMILIES",
    "VALUE_SHAPES",
    "CAST_SHAPES",
    "OTHER_REGISTRY",
    "NEXT_ID",
    "pick",
    "concretely",
    "value",
    "tensor_of_shape",
    "query_name",
    "query_shapes",
    "registry_entries",
    "spec_registry",
    "spec_context",
    "sequence",
    "registry_count",
]

#: Selects the bound profile of the CrossHair obligations (``quick`` or ``thorough``).
BOUND_ENV_VAR = "TORCHLEAN_RT_CROSSHAIR_BOUND"

# --- the fixed tables ---------------------------------------------------------------------------

#: Entry names; a registry of the ``names`` bound uses the first ones.  ``""`` is a legal Lean
#: String and a falsy Python one (an impl testing presence by truthiness would miss it).
NAMES: tuple[str, ...] = ("w", "", "b")
#: A name no registry entry ever has (queries ask for it too).
ABSENT_NAME = "v"

#: Scalar types ``α`` (numpy float64 / float32 / int64 in the impl).
FAMILIES: tuple[ScalarType, ...] = (Float, IEEE32Exec, Int)

#: Value ids: shape and elements per family.  Chosen for the traps: v0 a scalar; v1, v2 two EMPTY
#: tensors whose shapes differ only in the inner dimension ((0, 3) vs (0, 4) hold the same no
#: elements); v3 a scalar with v0's shape but other bits (-0.0), so a stale value shows; v4 a
#: rank-3 tensor with a NaN (a signalling NaN in float32) and a -0.0; v5 a rank-1 tensor with inf.
VALUE_SHAPES: tuple[tuple[int, ...], ...] = ((), (0, 3), (0, 4), (), (1, 2, 1), (2,))
_F32_SNAN = f32_from_bits(0x7FA00001)
_VALUE_DATA: dict[str, tuple[Any, ...]] = {
    "Float": (1.5, (), (), -0.0, (((float("nan"),), (-0.0,)),), (float("inf"), -2.25)),
    "IEEE32Exec": (
        np.float32(1.5), (), (), np.float32(-0.0), (((_F32_SNAN,), (np.float32(-0.0),)),),
        (np.float32("inf"), np.float32(-2.25)),
    ),
    "Int": (3, (), (), 0, (((-1,), (0,)),), (7, -8)),
}

#: Shapes for the cast-evidence obligation (ranks 0..3; (0,3)/(0,4) and (1,2,1)/(2,1,1) differ
#: only in one dimension or its position).
CAST_SHAPES: tuple[tuple[int, ...], ...] = ((), (0, 3), (0, 4), (1, 2, 1), (2, 1, 1), (2,))

#: The registry NOT under test in a context obligation (names and value ids, newest first): a
#: fixed non-empty list, so an operation that reads or writes the wrong list is visible.
OTHER_REGISTRY: tuple[tuple[int, int], ...] = ((1, 2), (0, 0))
#: ``next_id`` of the contexts the registry obligations start from (not a count, on purpose).
NEXT_ID = 5


@dataclass(frozen=True)
class Bounds:
    """One bound profile (the obligations' domains are built from it in ``domains.py``)."""

    profile: str
    entries: int  # registry length 0..entries
    names: int  # entry names NAMES[:names]
    values: int  # entry values: value ids 0..values-1
    op_values: int  # values given to register/set: value ids 0..op_values-1
    valid_entries: int  # is_valid_context: each of the two registries 0..valid_entries entries
    valid_values: int  # … with value ids 0..valid_values-1
    steps: int  # next_id obligation: operation sequences of 0..steps steps
    cast_shapes: int  # CAST_SHAPES[:cast_shapes]
    families: int  # FAMILIES[:families] where an obligation ranges over α

    @property
    def query_names(self) -> int:
        """Query name ids: the entry names, then ABSENT_NAME."""
        return self.names + 1


def registry_count(entries: int, alphabet: int) -> int:
    """How many sequences of 0..entries letters from an alphabet of this size."""
    return sum(alphabet**j for j in range(entries + 1))


#: The two bound profiles: ``quick`` keeps all CrossHair obligations together within ~90 s
#: on 2 cores; ``thorough`` is the default of ``torchlean-rt verify``.
BOUNDS: dict[str, Bounds] = {
    "quick": Bounds("quick", entries=2, names=2, values=3, op_values=4, valid_entries=2,
                    valid_values=2, steps=2, cast_shapes=4, families=3),
    "thorough": Bounds("thorough", entries=3, names=3, values=3, op_values=5, valid_entries=2,
                       valid_values=3, steps=3, cast_shapes=6, families=3),
}


def active_bounds() -> Bounds:
    """The profile named by :data:`BOUND_ENV_VAR` (default ``thorough``)."""
    profile = os.environ.get(BOUND_ENV_VAR, "thorough").strip() or "thorough"
    if profile not in BOUNDS:
        raise ValueError(f"{BOUND_ENV_VAR}={profile!r}: expected one of {sorted(BOUNDS)}")
    return BOUNDS[profile]


# --- from symbolic integers to concrete values ----------------------------------------------------


def pick(x: int, lo: int, hi: int) -> int:
    """The value of ``x`` (known ``lo <= x < hi``) as a concrete int, found by bisection.

    Under CrossHair each comparison forks the path, so the paths through here are exactly the
    integers of ``[lo, hi)`` — ⌈log2(hi − lo)⌉ decisions each (``crosshair.realize`` would
    instead test the values one by one, quadratically many solver calls in all)."""
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if x < mid:
            hi = mid
        else:
            lo = mid
    return lo


T = TypeVar("T")


def concretely(fn: Callable[..., T]) -> Callable[..., T]:
    """Run ``fn`` with CrossHair's tracer paused (a no-op outside CrossHair).

    Only for functions of concrete arguments: a symbolic value (a CrossHair proxy) reaching one
    is a bug in the obligation — it must go through :func:`pick` first — so it is refused rather
    than silently mishandled."""

    @functools.wraps(fn)
    def run(*args: Any, **kwargs: Any) -> T:
        if not is_tracing():
            return fn(*args, **kwargs)
        with NoTracing():
            for a in (*args, *kwargs.values()):
                if type(a).__module__.startswith("crosshair"):
                    raise TypeError(f"{fn.__name__}: symbolic argument ({type(a).__name__}) reached concrete code")
            return fn(*args, **kwargs)

    return run


# --- decoding -------------------------------------------------------------------------------------

_VALUE_CACHE: dict[tuple[int, int], Tensor] = {}


def value(family: int, value_id: int) -> Tensor:
    """The spec tensor of value id ``value_id`` over ``FAMILIES[family]``."""
    key = (family, value_id)
    t = _VALUE_CACHE.get(key)
    if t is None:
        alpha = FAMILIES[family]
        t = _VALUE_CACHE[key] = Tensor(ofList(VALUE_SHAPES[value_id]), alpha, _VALUE_DATA[alpha.name][value_id])
    return t


def tensor_of_shape(family: int, dims: tuple[int, ...], first: int = 1) -> Tensor:
    """A tensor of shape ``dims`` over ``FAMILIES[family]`` with distinct elements first, first+1, …"""
    alpha = FAMILIES[family]
    size = 1
    for d in dims:
        size *= d
    flat = [_ELEMENT[alpha.name](first + i) for i in range(size)]
    data: Any = flat
    for n in reversed(dims[1:]):
        data = [data[i:i + n] for i in range(0, len(data), n)]
    return Tensor(ofList(dims), alpha, flat[0] if not dims else data)


_ELEMENT: dict[str, Callable[[int], Any]] = {"Float": float, "IEEE32Exec": np.float32, "Int": int}


def query_name(bounds: Bounds, q: int) -> str:
    """Query name id ``q`` (``0..bounds.names``): an entry name, or ABSENT_NAME for the last."""
    return NAMES[q] if q < bounds.names else ABSENT_NAME


def query_shapes(bounds: Bounds) -> tuple[tuple[int, ...], ...]:
    """The distinct shapes of the operation values (queries ask for each)."""
    out: list[tuple[int, ...]] = []
    for shape in VALUE_SHAPES[: bounds.op_values]:
        if shape not in out:
            out.append(shape)
    return tuple(out)


def _digits(index: int, max_len: int, base: int) -> list[int]:
    """Index into "all sequences of 0..max_len symbols from ``base``" (shorter first) → digits."""
    length = 0
    while length < max_len and index >= base**length:
        index -= base**length
        length += 1
    if index >= base**length:
        raise ValueError("sequence index out of range")
    out = []
    for _ in range(length):
        index, d = divmod(index, base)
        out.append(d)
    return out


def registry_entries(r: int, entries: int, names: int, values: int) -> tuple[tuple[int, int], ...]:
    """Registry index → ``((name id, value id), …)`` newest first."""
    return tuple((d % names, d // names) for d in _digits(r, entries, names * values))


def spec_registry(entries: tuple[tuple[int, int], ...], family: int) -> List:
    """The spec registry (a Lean list of ``(name, AnyTensor)``, newest first)."""
    items = []
    for name_id, value_id in entries:
        t = value(family, value_id)
        items.append((NAMES[name_id], AnyTensor(s=t.shape, t=t)))
    return ofIterable(items)


def sequence(index: int, max_len: int, alphabet: int) -> tuple[int, ...]:
    """Index → a sequence of 0..max_len letters of ``alphabet`` (shorter sequences first)."""
    return tuple(_digits(index, max_len, alphabet))


def spec_context(variables: List, gradients: List, next_id: int, family: Optional[int]) -> RuntimeContext:
    """A spec context over ``FAMILIES[family]`` (``None``: α not fixed yet)."""
    return RuntimeContext(var_registry=variables, gradients=gradients, next_id=next_id,
                          alpha=None if family is None else FAMILIES[family])
