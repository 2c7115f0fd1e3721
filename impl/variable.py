"""``Variable`` — the impl of NN/Runtime/Variable.lean: an immutable record over frozen arrays.

A Lean ``Variable α s`` fixes its scalar type and shape by its type; here they are the
attributes ``dtype`` and ``shape`` (read off ``value``), and every operation Lean's type checker
would reject — an array of another shape or dtype, ``accumulate_gradient``/``variable_norm`` on
``Int`` (int64, no ``Context`` instance), a cast without evidence — raises the project's typed
error.  Semantics follow ``torchlean_runtime.spec.runtime.variable`` exactly; in particular
``accumulate_gradient`` is the elementwise IEEE sum ``existing + grad`` (existing first) and
``variable_norm`` is ``sqrt`` of the flat left fold ``((0 + x0²) + x1²) + …`` in row-major order,
every step rounded to the array's dtype.

Shape evidence for :meth:`Variable.cast_shape` is the spec's own ``ShapeEq`` (the one evidence
type of the project); :func:`shape_eq` builds it from two shape tuples.

Errors: each method's docstring lists every typed error it raises, class and stable code, as in
``context.py`` (whose module docstring says where ``TLR_ENVIRONMENT`` and the checked mode's
extra errors come from); ``tests/impl/test_docstrings.py`` keeps the lists complete.
"""

from __future__ import annotations

from typing import Any, Optional

import icontract
import numpy as np

from torchlean_runtime.errors import ArgumentTypeError, CastEvidenceError, ScalarTypeMismatchError, safe_repr
from torchlean_runtime.spec.core.scalars import F32_CANONICAL_NAN, F32_QUIET_BIT, F64_QUIET_BIT, Nat, checkFloatEnvironment
from torchlean_runtime.spec.core.shape import ShapeEq, ofList, toList
from torchlean_runtime.spec.core.tensor import printCap, printTooLarge

from . import contracts as C
from . import kernels
from .arrays import (
    SHARE_MAX_BYTES,
    expose,
    FLOAT32,
    FLOAT64,
    as_supported_dtype,
    canonical_dtype,
    check_array,
    check_context_instance,
    check_dtype,
    check_name,
    check_same_dtype,
    check_same_shape,
    check_shape,
    dtype_agrees,
    freeze,
    has_context_instance,
    has_supported_dtype,
    is_array,
    is_name,
    fp_quiet,
    fp_restore,
    new_buffer,
    publish,
    result_buffer,
    pretty,
    seal,
    shape_of,
)
from .context import RuntimeContext

__all__ = ["Variable", "shape_eq", "NORM_CHUNK"]

_HAS_CONTEXT_DTYPES = (FLOAT64, FLOAT32)

_ND = np.ndarray
_EMPTY = np.empty
_SHARE = SHARE_MAX_BYTES  # larger stored arrays are handed out as copies (arrays.expose)

#: Elements per chunk of the norm's cumulative sum (bounds its scratch memory; any value gives
#: the same bits, because the running total is carried from chunk to chunk).
NORM_CHUNK = 1 << 16


def shape_eq(lhs: tuple[int, ...], rhs: tuple[int, ...]) -> ShapeEq:
    """Evidence that two shapes (sequences of non-negative ints) are equal: ``ShapeEq.check``
    on ``ofList`` of each.  Errors: InvalidShapeError (``TLR_INVALID_SHAPE``) for an argument
    that is not a shape; CastEvidenceError (``TLR_CAST_EVIDENCE``) when they differ."""
    return ShapeEq.check(ofList(check_shape(lhs, "shape_eq")), ofList(check_shape(rhs, "shape_eq")))


_QUIET = {FLOAT32: np.uint32(F32_QUIET_BIT), FLOAT64: np.uint64(F64_QUIET_BIT)}
_BITS = {FLOAT32: np.uint32, FLOAT64: np.uint64}


_MAX_REDUCE = np.maximum.reduce
_DOT_MAX_ELEMENTS = 4096  # BLAS-1 libraries stay on one thread well above this size


def _fix_sum_nans(out: np.ndarray, a: np.ndarray, b: np.ndarray, dtype: np.dtype) -> None:
    """The numpy path's NaN step for ``out = a + b`` (computed by the hardware): find out whether
    ``out`` holds a NaN, and if so give every NaN the spec's bits (:func:`_fix_nan_positions`).

    When no NaN occurs this costs one pass that is NaN iff a NaN is present (only NaN-ness is
    used, never its bits): up to ``_DOT_MAX_ELEMENTS`` elements the dot product ``out·out``
    (squares are never negative, so no inf − inf raises a false alarm; BLAS runs one thread at
    this size, and it is the fastest test), above it numpy's own ``np.maximum.reduce`` — an
    unpinned multi-threaded BLAS took 11 ms for a 1e5-element dot on a loaded 2-core machine.
    (The ``[fast]`` kernel, ``kernels.ACCUMULATE``, learns the same fact during the add itself.)
    """
    if not out.size:
        return
    flat = out if out.ndim == 1 else out.reshape(-1)
    top = flat.dot(flat) if flat.size <= _DOT_MAX_ELEMENTS else _MAX_REDUCE(flat)
    if top == top:  # not NaN (a scalar comparison is far cheaper than np.isnan on a scalar)
        return
    _fix_nan_positions(out, a, b, dtype)


def _fix_nan_positions(out: np.ndarray, a: np.ndarray, b: np.ndarray, dtype: np.dtype) -> None:
    """Give the NaNs of ``out = a + b`` the spec's bits (both paths of ``accumulate_gradient``
    call this, and only when ``out`` holds a NaN); it touches only NaN positions.  Shapes: all
    three equal (any layout; ``out`` writeable); dtype float64 or float32.  What it needs of
    ``out``: the hardware's bits wherever neither operand is NaN, any NaN where one is.

    * Float (spec ``_float_binary``, Lean ``Float.add`` on x86): the first NaN operand, quieted;
      an invalid sum of non-NaNs (inf + -inf) keeps the hardware's default NaN.
    * IEEE32Exec (spec ``_f32_choose_nan2``, Lean ``IEEE32Exec`` ``chooseNaN2``): signalling NaN
      in ``a``, signalling in ``b``, NaN in ``a``, NaN in ``b`` — quieted; an invalid sum of
      non-NaNs is the canonical NaN 0x7FC00000.
    """
    nan = np.isnan(out)
    uint, quiet = _BITS[dtype], _QUIET[dtype]
    a_at, b_at = a[nan], b[nan]
    bits_a, bits_b = a_at.view(uint), b_at.view(uint)
    nan_a, nan_b = np.isnan(a_at), np.isnan(b_at)
    invalid = out[nan].view(uint)
    if dtype is FLOAT32:
        signalling_a = nan_a & ((bits_a & quiet) == 0)
        signalling_b = nan_b & ((bits_b & quiet) == 0)
        invalid = np.full_like(invalid, F32_CANONICAL_NAN)
        chosen = np.where(signalling_a, bits_a, np.where(signalling_b, bits_b, np.where(nan_a, bits_a, np.where(nan_b, bits_b, invalid))))
        out.view(uint)[nan] = np.where(nan_a | nan_b, chosen | quiet, invalid)
    else:
        chosen = np.where(nan_a, bits_a | quiet, np.where(nan_b, bits_b | quiet, invalid))
        out.view(uint)[nan] = chosen


def _is_nat(x: Any) -> bool:
    return Nat.canonical(x) is not None


def _check_nat(x: Any, op: str, what: str) -> int:
    """The exact int value of a Lean ``Nat`` (``spec.core.scalars.Nat.canonical``: an int subclass's
    ``__int__``/``__index__``/comparisons are never consulted); ArgumentTypeError otherwise."""
    nat = Nat.canonical(x)
    if nat is None:
        raise ArgumentTypeError(f"{op}: {what} must be a Nat (int >= 0), given {type(x).__name__} {safe_repr(x)}")
    return nat


def _check_bool(x: Any, op: str) -> bool:
    if type(x) is not bool:
        raise ArgumentTypeError(f"{op}: requires_grad must be a bool, given {type(x).__name__} {safe_repr(x)}")
    return x


def _check_context(ctx: Any, op: str) -> RuntimeContext:
    if not isinstance(ctx, RuntimeContext):
        raise ArgumentTypeError(f"{op} expects an impl RuntimeContext, given {type(ctx).__name__}")
    return ctx


# Each public method has ONE icontract precondition: a total predicate stating the facts Lean's
# types guarantee, whose error factory (contracts.violation) re-runs the method's plain check
# (the ``_check_*`` function its body calls) to raise exactly the error of the -O path.


def _creatable(id: Any, name: Any, value: Any, requires_grad: Any) -> bool:
    return _is_nat(id) and is_name(name) and is_array(value) and has_supported_dtype(value) and type(requires_grad) is bool


def _check_create(id: Any, name: Any, value: Any, requires_grad: Any) -> tuple:
    return (_check_nat(id, "create", "id"), check_name(name, "create"), check_array(value, "create"),
            _check_bool(requires_grad, "create"))


def _fits(v: "Variable", x: Any) -> bool:
    """``x : Tensor α s`` for the variable's ``α`` (dtype) and ``s`` (shape)."""
    if type(x) is np.ndarray and x.dtype is v.dtype:  # fast path: no subclass, the very dtype object
        return x.shape == v.shape
    return is_array(x) and has_supported_dtype(x) and dtype_agrees(v.dtype, x) and shape_of(x) == v.shape


def _check_fits(v: "Variable", x: Any, op: str, what: str) -> np.ndarray:
    if type(x) is np.ndarray and x.dtype is v.dtype and x.shape == v.shape and x.size:
        # fast path: what the checks below accept (a held non-empty shape is within MAX_ELEMENTS;
        # an empty one goes through check_array: the spec's nested-structure cap may have changed)
        return x
    arr = check_array(x, op, what)
    check_same_dtype(v.dtype, arr, op, "the variable")
    check_same_shape(v.shape, arr, op, what)
    return arr


def _check_accumulate(v: "Variable", grad: Any) -> np.ndarray:
    # Fast path: an exact ndarray of the variable's very dtype and shape (a shape it already
    # holds is within MAX_ELEMENTS) and a dtype with a Context instance — what the checks below accept.
    if (type(grad) is np.ndarray and grad.dtype is v.dtype and grad.shape == v.shape and grad.size
            and v.dtype in _HAS_CONTEXT_DTYPES):
        return grad
    check_context_instance(v.dtype, "accumulate_gradient")  # Lean needs Context α first
    return _check_fits(v, grad, "accumulate_gradient", "grad")


def _check_other(v: "Variable", other: Any) -> None:
    """``other : Variable α s`` for this variable's ``α`` and ``s``: its STORED value's dtype, then
    shape (Lean's order: the scalar type first).  A stored value passed every check when it was
    stored, so none is re-run (an empty value is not re-measured against a cap lowered since)."""
    if not isinstance(other, Variable):
        raise ArgumentTypeError(f"variable_eq expects a Variable, given {type(other).__name__}")
    check_same_dtype(v.dtype, other._value, "variable_eq", "the variable")
    check_same_shape(v.shape, other._value, "variable_eq", "the other variable's value")


def _same_context_type(v: "Variable", ctx: Any) -> bool:
    return isinstance(ctx, RuntimeContext) and dtype_agrees(ctx.dtype, v._value)


def _check_context_of(v: "Variable", ctx: Any, op: str) -> RuntimeContext:
    """``ctx : RuntimeContext α`` for the variable's ``α`` (also on paths that store nothing)."""
    ctx = _check_context(ctx, op)
    check_same_dtype(ctx.dtype, v._value, op, "the context")
    return ctx


def _error_args_ok(ctx: Any, msg: Any, dtype: Any) -> bool:
    if not isinstance(ctx, RuntimeContext) or (dtype is not None and as_supported_dtype(dtype) is None):
        return False
    wanted = as_supported_dtype(dtype)
    if ctx.dtype is not None and wanted is not None and wanted is not ctx.dtype:
        return False
    return (ctx.dtype is not None or wanted is not None) and is_name(msg)


def _check_error_args(ctx: Any, msg: Any, dtype: Any) -> tuple:
    """(ctx, msg, dtype) in the spec's order of checks: context, scalar type, agreement, name."""
    ctx = _check_context(ctx, "error")
    dtype = check_dtype(dtype, "error")
    if ctx.dtype is not None and dtype is not None and dtype is not ctx.dtype:
        raise ScalarTypeMismatchError(f"error: the context holds {ctx.dtype} values, given dtype={dtype}")
    dtype = ctx.dtype if ctx.dtype is not None else dtype
    if dtype is None:
        raise ArgumentTypeError("error: the context has not fixed its dtype yet; pass dtype=")
    return ctx, check_name(msg, "error", "the message"), dtype


def _is_evidence_for(evidence: Any, shape: tuple[int, ...]) -> bool:
    return isinstance(evidence, ShapeEq) and toList(evidence.lhs) == shape


def _check_evidence(v: "Variable", evidence: Any) -> None:
    if not isinstance(evidence, ShapeEq):
        raise CastEvidenceError(f"cast_shape needs ShapeEq evidence, given {type(evidence).__name__}")
    if not _is_evidence_for(evidence, v.shape):
        raise CastEvidenceError(
            f"cast_shape: the evidence is about shape {toList(evidence.lhs)}, the variable has shape {v.shape}"
        )


class Variable:
    """Lean ``Runtime.Variable α s``: ``id``, ``name``, ``value``, ``gradient`` (or ``None``),
    ``requires_grad``; plus ``shape`` (``s``) and ``dtype`` (``α``).  Immutable; build one with
    :meth:`create`.  ``value`` and ``gradient`` are read-only arrays."""

    # A dict: each member descriptor's docstring (iteration keeps this order; _SET_* below rely on it).
    __slots__ = {
        "id": "Lean ``id : Nat``: an ``int`` >= 0.",
        "name": "Lean ``name : String``: a ``str`` without lone surrogates (a ``str`` subclass was "
                "stored as the plain ``str``).",
        "_value": "Lean ``value : Tensor α s`` as stored (``arrays.freeze``), never handed out: read "
                  ":attr:`value`.",
        "_gradient": "Lean ``gradient : Option (Tensor α s)`` as stored, or ``None``: read :attr:`gradient`.",
        "requires_grad": "Lean ``requires_grad : Bool``: a ``bool``.",
        "shape": "Lean's type index ``s``: the value's shape, a tuple of at most 64 ``int`` >= 0; every "
                 "array set on or compared with the variable must have it.",
        "dtype": "Lean's scalar type ``α``: ``np.dtype('float64')`` (``Float``), ``np.dtype('float32')`` "
                 "(``IEEE32Exec``) or ``np.dtype('int64')`` (``Int``); every array set on the variable "
                 "must have it.",
    }

    id: int
    name: str
    _value: np.ndarray  # stored form (arrays.freeze); never handed out
    _gradient: Optional[np.ndarray]
    requires_grad: bool
    shape: tuple[int, ...]
    dtype: np.dtype

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        """Not a constructor: a Variable is built with :meth:`create` (or :meth:`error`).
        Errors: ArgumentTypeError (``TLR_ARGUMENT_TYPE``), always."""
        raise ArgumentTypeError("a Variable is built with Variable.create(id, name, value, requires_grad=True)")

    @staticmethod
    def _make(id: int, name: str, value: np.ndarray, gradient: Optional[np.ndarray], requires_grad: bool) -> "Variable":
        v = object.__new__(Variable)
        _SET_ID(v, id)  # slot descriptors: cheaper than object.__setattr__ by name
        _SET_NAME(v, name)
        _SET_VALUE(v, value)
        _SET_GRADIENT(v, gradient)
        _SET_REQUIRES_GRAD(v, requires_grad)
        _SET_SHAPE(v, value.shape)
        _SET_DTYPE(v, canonical_dtype(value))
        return v

    @property
    def value(self) -> np.ndarray:
        """Lean ``v.value``: a fresh read-only array of the stored bits, of :attr:`shape` and
        :attr:`dtype`, on every access (a copy above ``arrays.SHARE_MAX_BYTES``, see
        :func:`arrays.expose`).  Errors: TensorTooLargeError (``TLR_TENSOR_TOO_LARGE``) when
        there is no memory for that copy."""
        stored = self._value
        return (_ND(stored.shape, stored.dtype, stored.base) if stored.nbytes <= _SHARE else expose(stored))  # expose(), inlined for small arrays

    @property
    def gradient(self) -> Optional[np.ndarray]:
        """Lean ``v.gradient``: ``None`` or a fresh read-only array of the stored bits, of
        :attr:`shape` and :attr:`dtype` (as :attr:`value`).  Errors: TensorTooLargeError
        (``TLR_TENSOR_TOO_LARGE``) when there is no memory for the copy."""
        stored = self._gradient
        return None if stored is None else (_ND(stored.shape, stored.dtype, stored.base) if stored.nbytes <= _SHARE else expose(stored))  # expose(), inlined for small arrays

    def _with(self, value: np.ndarray, gradient: Optional[np.ndarray]) -> "Variable":
        # Every caller keeps the shape and scalar type (Lean: the same Variable α s), so they are
        # copied from self rather than recomputed from ``value``.
        v = object.__new__(Variable)
        _SET_ID(v, self.id)
        _SET_NAME(v, self.name)
        _SET_VALUE(v, value)
        _SET_GRADIENT(v, gradient)
        _SET_REQUIRES_GRAD(v, self.requires_grad)
        _SET_SHAPE(v, self.shape)
        _SET_DTYPE(v, self.dtype)
        return v

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("a Variable is immutable: its operations return a new Variable")

    def __delattr__(self, name: str) -> None:
        raise AttributeError("a Variable is immutable")

    def __copy__(self) -> "Variable":
        return self

    def __deepcopy__(self, memo: dict) -> "Variable":
        return self

    def __reduce__(self):
        return (_unpickle, (self.id, self.name, self.value, self.gradient, self.requires_grad))

    def __repr__(self) -> str:
        grad = "None" if self.gradient is None else "set"
        return (
            f"<Variable {self.name!r} id={self.id} shape={self.shape} dtype={self.dtype} "
            f"grad={grad} requires_grad={self.requires_grad}>"
        )

    # -- Lean definitions -------------------------------------------------------------------------

    @staticmethod
    @C.refines(C.create_refines)
    @icontract.require(
        _creatable,
        "id is a Nat; name is a str; value is a numpy array of dtype float64/float32/int64; requires_grad is a bool",
        error=lambda id, name, value, requires_grad: C.violation(lambda: _check_create(id, name, value, requires_grad)),
    )
    def create(id: int, name: str, value: np.ndarray, requires_grad: bool = True) -> "Variable":
        """Lean ``Runtime.Variable.createVariable``: no gradient; ``requires_grad`` defaults to true.
        ``id``: a Nat (an ``int`` >= 0; not a ``bool`` or a numpy integer); ``value``: a numpy
        array (or numpy scalar, as 0-d) of dtype float64/float32/int64 and any shape and layout,
        which fixes :attr:`shape` and :attr:`dtype`; it is copied into private read-only memory.
        Errors: ArgumentTypeError (``TLR_ARGUMENT_TYPE``) for an ``id`` that is not a Nat, a
        ``value`` that is not a numpy array, a ``requires_grad`` that is not a ``bool``;
        NameTypeError (``TLR_NAME_TYPE``) for a ``name`` that is not a Lean ``String``;
        ScalarTypeError (``TLR_SCALAR_TYPE``) for another dtype or byte order;
        TensorTooLargeError (``TLR_TENSOR_TOO_LARGE``) above ``arrays.MAX_ELEMENTS`` elements,
        an empty shape above the spec's nested-structure cap, or no memory for the copy;
        EnvironmentConfigError (``TLR_ENVIRONMENT``) malformed ``TORCHLEAN_RT_SPEC_MAX_ELEMENTS``
        (read by an empty array's check)."""
        id, name, arr, requires_grad = _check_create(id, name, value, requires_grad)
        return Variable._make(id, name, freeze(arr), None, requires_grad)

    @C.refines(C.get_value_refines)
    def get_value(self) -> np.ndarray:
        """Lean ``Runtime.Variable.getValue``: :attr:`value` (a fresh read-only array of
        :attr:`shape` and :attr:`dtype`).  Errors: TensorTooLargeError
        (``TLR_TENSOR_TOO_LARGE``) when there is no memory to copy it out."""
        return self.value

    @C.refines(C.set_value_refines)
    @icontract.require(
        lambda self, new_value: _fits(self, new_value),
        "new_value is an array of the variable's dtype and shape (Lean: Tensor α s)",
        error=lambda self, new_value: C.violation(lambda: _check_fits(self, new_value, "set_value", "new_value")),
    )
    def set_value(self, new_value: np.ndarray) -> "Variable":
        """Lean ``Runtime.Variable.setValue``: ``value := new_value``; id, name, gradient and
        flag kept.  ``new_value``: a numpy array of the variable's :attr:`shape` and
        :attr:`dtype` (Lean ``Tensor α s``), any memory layout; copied into private read-only
        memory.  Errors: ArgumentTypeError (``TLR_ARGUMENT_TYPE``) not a numpy array;
        ScalarTypeError (``TLR_SCALAR_TYPE``) not float64/float32/int64 in native byte order;
        ScalarTypeMismatchError (``TLR_SCALAR_MISMATCH``) not the variable's dtype;
        ShapeMismatchError (``TLR_SHAPE_MISMATCH``) not its shape; TensorTooLargeError
        (``TLR_TENSOR_TOO_LARGE``) above ``arrays.MAX_ELEMENTS`` elements, an empty shape above
        the spec's nested-structure cap, or no memory for the copy; EnvironmentConfigError
        (``TLR_ENVIRONMENT``) malformed ``TORCHLEAN_RT_SPEC_MAX_ELEMENTS`` (read by an empty
        array's check)."""
        arr = _check_fits(self, new_value, "set_value", "new_value")
        return self._with(freeze(arr), self._gradient)

    @C.refines(C.variable_get_gradient_refines)
    def get_gradient(self) -> Optional[np.ndarray]:
        """Lean ``Runtime.Variable.getGradient``: :attr:`gradient` (``None`` or a fresh
        read-only array of :attr:`shape` and :attr:`dtype`).  Errors: TensorTooLargeError
        (``TLR_TENSOR_TOO_LARGE``) when there is no memory to copy it out."""
        return self.gradient

    @C.refines(C.variable_set_gradient_refines)
    @icontract.require(
        lambda self, grad: _fits(self, grad),
        "grad is an array of the variable's dtype and shape (Lean: Tensor α s)",
        error=lambda self, grad: C.violation(lambda: _check_fits(self, grad, "set_gradient", "grad")),
    )
    def set_gradient(self, grad: np.ndarray) -> "Variable":
        """Lean ``Runtime.Variable.setGradient``: ``gradient := some grad`` (``requires_grad``
        ignored).  ``grad``: as :meth:`set_value`'s ``new_value``.  Errors, as
        :meth:`set_value`'s: ArgumentTypeError (``TLR_ARGUMENT_TYPE``), ScalarTypeError
        (``TLR_SCALAR_TYPE``), ScalarTypeMismatchError (``TLR_SCALAR_MISMATCH``),
        ShapeMismatchError (``TLR_SHAPE_MISMATCH``), TensorTooLargeError
        (``TLR_TENSOR_TOO_LARGE``), EnvironmentConfigError (``TLR_ENVIRONMENT``)."""
        arr = _check_fits(self, grad, "set_gradient", "grad")
        return self._with(self._value, freeze(arr))

    @C.refines(C.clear_gradient_refines)
    def clear_gradient(self) -> "Variable":
        """Lean ``Runtime.Variable.clearGradient``: ``gradient := none``.  Errors: none."""
        return self._with(self._value, None)

    @C.refines(C.check_requires_grad_refines)
    def check_requires_grad(self) -> bool:
        """Lean ``Runtime.Variable.checkRequiresGrad``: :attr:`requires_grad` (a ``bool``).
        Errors: none."""
        return self.requires_grad

    @C.refines(C.accumulate_gradient_refines)
    @icontract.require(
        lambda self, grad: has_context_instance(self.dtype) and _fits(self, grad),
        "the dtype has a Lean Context instance (float64/float32); grad is an array of the variable's dtype and shape",
        error=lambda self, grad: C.violation(lambda: _check_accumulate(self, grad)),
    )
    def accumulate_gradient(self, grad: np.ndarray) -> "Variable":
        """Lean ``Runtime.Variable.accumulateGradient``: no gradient → ``grad``; else the
        elementwise IEEE sum ``existing + grad`` (existing first), in the variable's dtype — Lean
        ``addSpec``, each element spec ``Float.add`` / ``IEEE32Exec.add``, NaNs with the spec's
        bits (:func:`_fix_nan_positions`).

        ``grad``: an array of the variable's shape and dtype (float64 or float32; any memory
        layout).  Returns a new Variable; its gradient is fresh immutable memory (C order).
        Errors, before anything is computed: NoContextInstanceError (``TLR_NO_CONTEXT_INSTANCE``)
        on int64 (Lean has no ``Context Int``); ArgumentTypeError (``TLR_ARGUMENT_TYPE``),
        ScalarTypeError (``TLR_SCALAR_TYPE``), ScalarTypeMismatchError (``TLR_SCALAR_MISMATCH``),
        ShapeMismatchError (``TLR_SHAPE_MISMATCH``), TensorTooLargeError
        (``TLR_TENSOR_TOO_LARGE``) for a ``grad`` that is not a ``Tensor α s`` (as
        :meth:`set_value`'s), EnvironmentConfigError (``TLR_ENVIRONMENT``) for a malformed
        ``TORCHLEAN_RT_SPEC_MAX_ELEMENTS`` read by an empty ``grad``'s check;
        FloatEnvironmentError (``TLR_FLOAT_ENVIRONMENT``) when subnormals are flushed; then
        TensorTooLargeError (``TLR_TENSOR_TOO_LARGE``) when there is no memory for the result.

        Two paths, bit-identical (``tests/impl/test_kernels.py``): the ``[fast]`` numba kernel
        (``kernels.ACCUMULATE``: add and NaN flag in one pass) for a C-contiguous aligned
        ``grad``, else numpy (``np.add``, then :func:`_fix_sum_nans`'s NaN test); either way the
        NaN fix-up runs only when a NaN occurred."""
        arr = _check_accumulate(self, grad)
        checkFloatEnvironment("accumulateGradient")
        existing = self._gradient
        if existing is None:
            return self._with(self._value, freeze(arr))
        dtype = self.dtype
        data, out = result_buffer(existing)  # a fresh result: older Variables keep theirs
        # The [fast] kernel: one pass (add, and learn whether a NaN occurred), for C-contiguous
        # aligned operands (the stored gradient always is; a Fortran-ordered, strided or
        # misaligned grad takes the numpy path) of at least kernels.ACCUMULATE_MIN_ELEMENTS
        # elements (1: it is faster at every size measured).  ``None``: the kernels were
        # rejected on this, their first use.
        seen = None
        if (kernels.ACCUMULATE is not None and existing.size >= kernels.ACCUMULATE_MIN_ELEMENTS
                and (flags := arr.flags).c_contiguous and flags.aligned):
            if out is None:
                out = _EMPTY(self.shape, dtype)
            seen = kernels.ACCUMULATE(out, existing, arr)
        if seen is None:  # the numpy path
            quiet = fp_quiet()  # IEEE results (inf, NaN) are the answer, not an error or a warning
            try:
                if out is None:  # a small result: numpy allocates it (cheaper than empty, then out=) ...
                    out = np.add(existing, arr) if existing.ndim else np.add(existing, arr, out=_EMPTY((), dtype))
                    # ... except at rank 0, where numpy's own result would be a scalar, not an array
                else:
                    np.add(existing, arr, out=out)
                _fix_sum_nans(out, existing, arr, dtype)
            finally:
                fp_restore(quiet)
        elif seen:
            _fix_nan_positions(out, existing, arr, dtype)
        stored = publish(data, out)
        del out  # the only writeable alias of the published memory
        return self._with(self._value, stored)

    @C.refines(C.variable_to_string_refines)
    def to_lean_string(self) -> str:
        """Lean ``Runtime.Variable.variableToString``, character for character.  Errors:
        OutputTooLargeError (``TLR_OUTPUT_TOO_LARGE``) when longer than
        ``spec.core.tensor.printCap()`` characters, refused before it is built;
        EnvironmentConfigError (``TLR_ENVIRONMENT``) when ``TORCHLEAN_RT_MAX_PRINT_CHARS`` is
        malformed (read on first use); TensorTooLargeError (``TLR_TENSOR_TOO_LARGE``) when memory
        runs out while it is built."""
        flag = "true" if self.requires_grad else "false"
        cap = printCap()  # OutputTooLargeError above it, as the spec (see RuntimeContext.to_lean_string)
        budget = cap - len(f"Variable({self.name}, id={self.id}, value=, grad=, requires_grad={flag})")
        grad = "none" if self._gradient is None else pretty(self._gradient, budget)
        value = None if grad is None or budget < len(grad) else pretty(self._value, budget - len(grad))
        if value is None:
            raise printTooLarge("variableToString", cap)
        return f"Variable({self.name}, id={self.id}, value={value}, grad={grad}, requires_grad={flag})"

    @C.refines(C.variable_eq_refines)
    @icontract.require(
        lambda self, other: isinstance(other, Variable) and _fits(self, other._value),
        "other is a Variable of the same dtype and shape (Lean: both Variable α s)",
        error=lambda self, other: C.violation(lambda: _check_other(self, other)),
    )
    def variable_eq(self, other: "Variable") -> bool:
        """Lean ``Runtime.Variable.variableEq``: equal ids and names (values, gradients and flags
        ignored).  Lean's signature gives both variables one ``α`` and ``s``: ``other`` must be a
        Variable of this :attr:`dtype` and :attr:`shape`.  Errors: ArgumentTypeError
        (``TLR_ARGUMENT_TYPE``) when ``other`` is no Variable; ScalarTypeMismatchError
        (``TLR_SCALAR_MISMATCH``) for another dtype; ShapeMismatchError (``TLR_SHAPE_MISMATCH``)
        for another shape (read from ``other``'s stored value: nothing is re-checked or copied)."""
        _check_other(self, other)
        return self.id == other.id and self.name == other.name

    @C.shape_read_once
    @C.refines(C.has_shape_refines)
    def has_shape(self, shape: tuple[int, ...]) -> bool:
        """Lean ``Runtime.Variable.hasShape``: ``Shape.areEqual`` of the two shapes.  A pure
        query: no precondition wrapper (its one fact, a valid shape, is its plain check, and a
        second reading of the caller's shape could disagree with the first).  ``shape``: any
        sequence of ints, as :meth:`RuntimeContext.get_variable`'s.  Errors: InvalidShapeError
        (``TLR_INVALID_SHAPE``) for one that is not a sequence of at most 64 non-negative ints."""
        return self.shape == check_shape(shape, "has_shape")

    @C.refines(C.variable_norm_refines)
    @icontract.require(
        lambda self: has_context_instance(self.dtype),
        "the dtype has a Lean Context instance (float64/float32)",
        error=lambda self: C.violation(lambda: check_context_instance(self.dtype, "variable_norm")),
    )
    def variable_norm(self) -> np.floating:
        """Lean ``Runtime.Variable.variableNorm``: ``sqrt (sumSpec (mulSpec value value))``.

        The fold ``((0 + x0*x0) + x1*x1) + …`` runs over row-major chunks: squares by
        ``np.multiply``, then ``np.add.accumulate`` — a strictly sequential running sum for a
        1-D array (unlike ``np.sum``'s pairwise or BLAS's blocked sums) — with the running total
        added into each chunk's first element.  Every step is an IEEE operation in the array's
        dtype, so float32 stays float32 throughout.  Result: np.float64 / np.float32.

        Errors: NoContextInstanceError (``TLR_NO_CONTEXT_INSTANCE``) on int64 (Lean has no
        ``Context Int``); FloatEnvironmentError (``TLR_FLOAT_ENVIRONMENT``) when subnormals are
        flushed.  The ``[fast]`` kernel reads the stored value itself (no copy)."""
        check_context_instance(self.dtype, "variable_norm")
        checkFloatEnvironment("variableNorm")
        if kernels.NORM is not None and (fast := kernels.NORM(self._value)) is not None: return fast  # noqa: E701 — the [fast] extra's bit-identical compiled fold
        dtype = self.dtype
        flat = self._value.reshape(-1)  # stored C-ordered: a view, row-major
        n = flat.size
        quiet = fp_quiet()  # overflow → inf and NaN propagate, as in the spec
        try:
            # 0 + x0² is x0² bit for bit (a square is never -0.0; a NaN is fixed below), so the
            # fold's leading "0 +" is implicit and a single chunk is one multiply and one cumsum.
            if n <= NORM_CHUNK:
                squares = np.multiply(flat, flat)
                np.add.accumulate(squares, out=squares)
                total = squares[-1] if n else dtype.type(0)
            else:
                scratch = np.empty(NORM_CHUNK, dtype)
                total = dtype.type(0)
                for start in range(0, n, NORM_CHUNK):
                    chunk = flat[start:start + NORM_CHUNK]
                    squares = scratch[: chunk.size]
                    np.multiply(chunk, chunk, out=squares)
                    if start:
                        squares[0] = total + squares[0]  # the running total first, as the fold adds (in dtype)
                    np.add.accumulate(squares, out=squares)
                    total = squares[-1]
            if total != total:  # NaN
                # In the spec, x*x of a NaN x is x quieted, acc + sq keeps acc's NaN once acc is
                # NaN (both rules prefer the first quiet NaN operand), and sqrt keeps a NaN; squares
                # are never negative, so the fold is NaN exactly when some element is, and its
                # result is the FIRST NaN element, quieted.  Fixed explicitly, whatever operand
                # the hardware's loops prefer.
                uint = _BITS[dtype]
                first = flat[np.flatnonzero(np.isnan(flat))[:1]]
                return (first.view(uint) | _QUIET[dtype]).view(dtype)[0]
            return np.sqrt(total)
        finally:
            fp_restore(quiet)

    @C.refines(C.clone_variable_refines)
    @icontract.require(
        lambda new_id: _is_nat(new_id),
        "new_id is a Nat (int >= 0)",
        error=lambda new_id: C.violation(lambda: _check_nat(new_id, "clone_variable", "new_id")),
    )
    def clone_variable(self, new_id: int) -> "Variable":
        """Lean ``Runtime.Variable.cloneVariable``: new id, gradient cleared, rest kept (the
        stored value is shared, not copied).  Errors: ArgumentTypeError (``TLR_ARGUMENT_TYPE``)
        for a ``new_id`` that is not a Nat (an ``int`` >= 0; not a ``bool`` or numpy integer)."""
        new_id = _check_nat(new_id, "clone_variable", "new_id")
        return Variable._make(new_id, self.name, self._value, None, self.requires_grad)

    @C.refines(C.detach_variable_refines)
    def detach_variable(self) -> "Variable":
        """Lean ``Runtime.Variable.detachVariable``: ``requires_grad := false``, gradient cleared.
        Errors: none."""
        return Variable._make(self.id, self.name, self._value, None, False)

    @C.refines(C.register_in_context_refines)
    @icontract.require(
        lambda self, ctx: _same_context_type(self, ctx),
        "ctx is a RuntimeContext over the variable's dtype (Lean: one α)",
        error=lambda self, ctx: C.violation(lambda: _check_context_of(self, ctx, "register_in_context")),
    )
    def register_in_context(self, ctx: RuntimeContext) -> RuntimeContext:
        """Lean ``Runtime.Variable.registerInContext``: ``registerVariable ctx v.name v.value``
        (bumps ``next_id``; id, gradient and flag are not stored).  ``ctx``: a RuntimeContext
        over this :attr:`dtype` or over none yet.  Errors: ArgumentTypeError
        (``TLR_ARGUMENT_TYPE``) when ``ctx`` is no (impl) RuntimeContext;
        ScalarTypeMismatchError (``TLR_SCALAR_MISMATCH``) when it holds another dtype.  The
        stored value is shared with the context, never copied or re-checked (it was checked and
        frozen when it was stored, as Lean's value is already a ``Tensor α s``)."""
        return _check_context_of(self, ctx, "register_in_context")._register_stored(self.name, self._value, False)

    @C.refines(C.get_from_context_refines)
    @icontract.require(
        lambda self, ctx: _same_context_type(self, ctx),
        "ctx is a RuntimeContext over the variable's dtype (Lean: one α)",
        error=lambda self, ctx: C.violation(lambda: _check_context_of(self, ctx, "get_from_context")),
    )
    def get_from_context(self, ctx: RuntimeContext) -> Optional[np.ndarray]:
        """Lean ``Runtime.Variable.getFromContext``: ``getVariable ctx v.name`` at the variable's
        shape: ``None`` or a fresh read-only array of :attr:`shape` and :attr:`dtype`.
        Errors: ArgumentTypeError (``TLR_ARGUMENT_TYPE``) when ``ctx`` is no (impl)
        RuntimeContext; ScalarTypeMismatchError (``TLR_SCALAR_MISMATCH``) when it holds another
        dtype; TensorTooLargeError (``TLR_TENSOR_TOO_LARGE``) when there is no memory to copy
        the array out."""
        return _check_context_of(self, ctx, "get_from_context").get_variable(self.name, self.shape)

    @C.refines(C.register_gradient_in_context_refines)
    @icontract.require(
        lambda self, ctx: _same_context_type(self, ctx),
        "ctx is a RuntimeContext over the variable's dtype (Lean: one α)",
        error=lambda self, ctx: C.violation(lambda: _check_context_of(self, ctx, "register_gradient_in_context")),
    )
    def register_gradient_in_context(self, ctx: RuntimeContext) -> RuntimeContext:
        """Lean ``Runtime.Variable.registerGradientInContext``: no gradient → ``ctx`` unchanged;
        else ``registerGradient ctx v.name g`` (``next_id`` unchanged).  ``ctx``: as
        :meth:`register_in_context`'s (checked even without a gradient).  Errors:
        ArgumentTypeError (``TLR_ARGUMENT_TYPE``) when ``ctx`` is no (impl) RuntimeContext;
        ScalarTypeMismatchError (``TLR_SCALAR_MISMATCH``) when it holds another dtype.  The
        stored gradient is shared with the context, never copied or re-checked."""
        ctx = _check_context_of(self, ctx, "register_gradient_in_context")
        if self._gradient is None:
            return ctx
        return ctx._register_stored(self.name, self._gradient, True)

    @staticmethod
    @C.refines(C.error_refines)
    @icontract.require(
        _error_args_ok,
        "ctx is a RuntimeContext; msg is a str; dtype (Lean's implicit α) is supported, agrees with the context's, "
        "and is given while the context has fixed none",
        error=lambda ctx, msg, dtype: C.violation(lambda: _check_error_args(ctx, msg, dtype)),
    )
    def error(ctx: RuntimeContext, msg: str, dtype: Any = None) -> "Variable":
        """Lean ``Runtime.Variable.error``: a scalar variable (shape ``()``) with
        ``id = ctx.next_id``, ``name = msg``, value 0, no gradient, ``requires_grad = false``;
        ``ctx`` unchanged.  ``dtype`` is Lean's implicit ``α``, needed only while the context
        has not fixed one (it must agree otherwise).  Errors, in this order: ArgumentTypeError
        (``TLR_ARGUMENT_TYPE``) when ``ctx`` is no RuntimeContext; ScalarTypeError
        (``TLR_SCALAR_TYPE``) for a ``dtype`` other than None/float64/float32/int64;
        ScalarTypeMismatchError (``TLR_SCALAR_MISMATCH``) for one other than the context's;
        ArgumentTypeError (``TLR_ARGUMENT_TYPE``) when neither fixes the dtype; NameTypeError
        (``TLR_NAME_TYPE``) for a ``msg`` that is not a Lean ``String``."""
        ctx, msg, dtype = _check_error_args(ctx, msg, dtype)
        return Variable._make(ctx.next_id, msg, freeze(np.zeros((), dtype)), None, False)

    @C.refines(C.cast_shape_refines)
    @icontract.require(
        lambda self, evidence: _is_evidence_for(evidence, self.shape),
        "evidence is ShapeEq evidence about the variable's shape",
        error=lambda self, evidence: C.violation(lambda: _check_evidence(self, evidence)),
    )
    def cast_shape(self, evidence: ShapeEq) -> "Variable":
        """Lean ``Runtime.Variable.castShape``: given evidence ``s₁ = s₂`` (``ShapeEq``, e.g.
        from :func:`shape_eq`), the same variable at ``s₂`` — an identity at run time.
        Errors: CastEvidenceError (``TLR_CAST_EVIDENCE``) when ``evidence`` is no ``ShapeEq``
        or is about another shape than :attr:`shape`."""
        _check_evidence(self, evidence)
        return self  # ShapeEq can only relate equal shapes, so s₂ is this very shape


_SET_ID, _SET_NAME, _SET_VALUE, _SET_GRADIENT, _SET_REQUIRES_GRAD, _SET_SHAPE, _SET_DTYPE = (
    Variable.__dict__[slot].__set__ for slot in Variable.__slots__)
C.install_fast_preconditions(Variable)


def _unpickle(id: int, name: str, value: Any, gradient: Any, requires_grad: bool) -> Variable:
    # a pickle may come from anyone: every field is checked as create() checks it
    id, name, _, requires_grad = _check_create(id, name, value, requires_grad)
    value = freeze(check_array(value, "unpickle"))
    if gradient is not None:
        _check_fits(Variable._make(id, name, value, None, requires_grad), gradient, "unpickle", "gradient")
    return Variable._make(id, name, value, None if gradient is None else freeze(check_array(gradient, "unpickle")), requires_grad)
