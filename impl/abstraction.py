"""The abstraction function ``to_spec`` (impl state → spec state) and its inverse ``from_spec``.

Refinement is stated with it: for every operation, ``to_spec(impl_op(x)) == spec_op(to_spec(x))``
(spec equality is bitwise on floats).  Both directions are O(size of the state) and convert
every element to a Python value — they are for checking, never for a hot path.

=========================  ==================================================================
impl                       spec
=========================  ==================================================================
ndarray float64/32, int64  ``Tensor`` over Float / IEEE32Exec / Int, shape ``ofList(a.shape)``
``Variable``               ``Variable`` (id, name, value, gradient, requires_grad)
``RuntimeContext``         ``RuntimeContext``: each registry's entries in list order (newest
                           first) as ``(name, AnyTensor)``, ``next_id``, ``alpha`` = the scalar
                           type of ``dtype`` (``None`` while no tensor has fixed it)
``None``                   ``None``
=========================  ==================================================================
"""

from __future__ import annotations

from typing import Any

import numpy as np

from torchlean_runtime.errors import ArgumentTypeError, ScalarTypeError, ScalarTypeMismatchError
from torchlean_runtime.spec.core.list import ofIterable
from torchlean_runtime.spec.core.shape import ofList, toList
from torchlean_runtime.spec.core.tensor import Tensor, checkCap, elements
from torchlean_runtime.spec.runtime import context as spec_context
from torchlean_runtime.spec.runtime import variable as spec_variable

from .arrays import ALPHA_OF_DTYPE, DTYPE_OF_ALPHA, FLOAT32, FLOAT64, canonical_dtype, check_array, freeze
from .context import RuntimeContext
from .registry import EMPTY, Registry
from .variable import Variable

__all__ = ["to_spec", "from_spec", "tensor_to_spec", "tensor_from_spec"]


def _nest(flat: list, dims: tuple[int, ...]) -> Any:
    """Row-major flat elements → nested tuples of shape ``dims`` (a bare element for ``()``)."""
    level = flat
    for i in range(len(dims) - 1, -1, -1):
        n = dims[i]
        groups = 1
        for d in dims[:i]:
            groups *= d
        level = [tuple(level[g * n:(g + 1) * n]) for g in range(groups)]
    return level[0]


def tensor_to_spec(value: Any) -> Tensor:
    """A numpy array (or numpy scalar, as a 0-d array) as the spec ``Tensor`` (Lean
    ``Spec.Tensor α s``) with the same shape and bits: ``s = Shape.ofList(value.shape)``;
    float64 → ``Float`` (Python ``float`` elements), float32 → ``IEEE32Exec`` (``np.float32``
    elements, NaN payloads kept), int64 → ``Int``.  O(elements).

    Errors: ArgumentTypeError (``TLR_ARGUMENT_TYPE``) for a non-array; ScalarTypeError
    (``TLR_SCALAR_TYPE``) for any other dtype or byte order; TensorTooLargeError
    (``TLR_TENSOR_TOO_LARGE``) above the spec's element cap (``spec.core.tensor.elementCap``)."""
    arr = check_array(value, "to_spec")
    checkCap(ofList(arr.shape))  # before nesting: an empty (20000, 20000, 0) would build 4·10^8 tuples
    dtype = canonical_dtype(arr)
    flat_array = arr.reshape(-1)
    # float32 elements must stay np.float32 (IEEE32Exec); tolist would widen them to float.
    flat = list(flat_array) if dtype is FLOAT32 else flat_array.tolist()
    return Tensor(ofList(arr.shape), ALPHA_OF_DTYPE[dtype], _nest(flat, arr.shape))


def tensor_from_spec(t: Tensor) -> np.ndarray:
    """A spec ``Tensor`` over Float / IEEE32Exec / Int as a read-only C-ordered array with the
    same bits: shape ``Shape.toList t.shape`` as a tuple, dtype float64 / float32 / int64
    respectively.  O(elements).

    Errors: ArgumentTypeError (``TLR_ARGUMENT_TYPE``) for a non-Tensor; ScalarTypeError
    (``TLR_SCALAR_TYPE``) for a tensor over ℚ or Nat (no dtype) or an Int element outside int64."""
    if not isinstance(t, Tensor):
        raise ArgumentTypeError(f"tensor_from_spec expects a spec Tensor, given {type(t).__name__}")
    dtype = DTYPE_OF_ALPHA.get(t.alpha)
    if dtype is None:
        raise ScalarTypeError(f"from_spec: the impl has no dtype for {t.alpha.name} tensors (Float, IEEE32Exec, Int only)")
    dims = toList(t.shape)
    flat = list(elements(t))
    if dtype is FLOAT32:
        # byte-wise, so no NaN payload can be touched by a float conversion
        arr = np.frombuffer(b"".join(x.tobytes() for x in flat), dtype=FLOAT32)
    elif dtype is FLOAT64:
        arr = np.array(flat, dtype=FLOAT64)
    else:
        try:
            arr = np.array(flat, dtype=dtype)
        except OverflowError:
            raise ScalarTypeError("from_spec: an Int element does not fit in int64") from None
    return freeze(arr.reshape(dims))


def _registry_to_spec(registry: Registry, cache: dict) -> Any:
    items = []
    for entry in registry.items():
        t = cache.get(id(entry.array))  # setVariable shares one array among several entries
        if t is None:
            t = cache[id(entry.array)] = tensor_to_spec(entry.array)
        items.append((entry.name, spec_context.AnyTensor(s=t.shape, t=t)))
    return ofIterable(items)


def _registry_from_spec(entries: Any, dtype: Any) -> Registry:
    registry = EMPTY
    for name, any_tensor in reversed(list(entries)):
        arr = tensor_from_spec(any_tensor.t)
        if canonical_dtype(arr) is not dtype:  # (never `!=`: numpy reads None as float64)
            raise ScalarTypeMismatchError(
                f"from_spec: entry {name!r} is over {any_tensor.t.alpha.name}, the context over "
                f"{'no type yet' if dtype is None else ALPHA_OF_DTYPE[dtype].name}"
            )
        registry = registry.register(name, arr)
    return registry


def to_spec(x: Any) -> Any:
    """The spec value that impl value ``x`` stands for (context, variable, array, or None)."""
    if x is None:
        return None
    if isinstance(x, RuntimeContext):
        cache: dict = {}
        return spec_context.RuntimeContext(
            var_registry=_registry_to_spec(x._variables, cache),
            gradients=_registry_to_spec(x._gradients, cache),
            next_id=x.next_id,
            alpha=None if x.dtype is None else ALPHA_OF_DTYPE[x.dtype],
        )
    if isinstance(x, Variable):
        return spec_variable.Variable(
            id=x.id,
            name=x.name,
            value=tensor_to_spec(x.value),
            gradient=None if x.gradient is None else tensor_to_spec(x.gradient),
            requires_grad=x.requires_grad,
        )
    if isinstance(x, (np.ndarray, np.generic)):
        return tensor_to_spec(x)
    raise ArgumentTypeError(f"to_spec expects a RuntimeContext, Variable, numpy array or None, given {type(x).__name__}")


def from_spec(x: Any) -> Any:
    """The impl value for spec value ``x`` (inverse of :func:`to_spec` on its image)."""
    if x is None:
        return None
    if isinstance(x, spec_context.RuntimeContext):
        dtype = None
        if x.alpha is not None:
            dtype = DTYPE_OF_ALPHA.get(x.alpha)
            if dtype is None:
                raise ScalarTypeError(f"from_spec: the impl has no dtype for {x.alpha.name} contexts")
        return RuntimeContext._make(
            _registry_from_spec(x.var_registry, dtype), _registry_from_spec(x.gradients, dtype), x.next_id, dtype
        )
    if isinstance(x, spec_variable.Variable):
        return Variable._make(
            x.id,
            x.name,
            tensor_from_spec(x.value),
            None if x.gradient is None else tensor_from_spec(x.gradient),
            x.requires_grad,
        )
    if isinstance(x, Tensor):
        return tensor_from_spec(x)
    raise ArgumentTypeError(f"from_spec expects a spec RuntimeContext, Variable, Tensor or None, given {type(x).__name__}")
