"""Contracts of the public impl API: the two modes and the refinement postconditions.

Three layers of checking, from always-on to opt-in:

1. **Plain checks** (``arrays.py``), always on, even under ``python -O``: names are ``str``,
   shapes are tuples of non-negative ints, values are arrays of a supported dtype, shapes and
   dtypes agree where Lean's types say so.  They protect the registry from bad input and raise
   the project's typed errors before any state is built.
2. **icontract preconditions** (on each public method in ``context.py`` / ``variable.py``): the
   facts Lean's type checker guarantees, stated as one total predicate per operation.  Following
   icontract's own convention they are enabled under ``__debug__`` — the default
   "contract-checked import" — and stripped entirely by ``python -O`` (no wrapper, no cost).
   Their error factory is :func:`violation`, so a violation raises exactly the typed error (same
   class, stable ``code`` and message) that the plain check behind it raises under ``-O``; no
   bare ``icontract.ViolationError`` escapes.  (One predicate per operation rather than one per
   fact: each icontract condition costs about a microsecond per call.)
3. **Refinement postconditions** ``to_spec(result) == spec_op(to_spec(inputs))`` (this module),
   one per public operation.  They cost what the spec costs (O(n) per call), so they run only
   in *checked mode*: set the environment variable ``TORCHLEAN_RT_CHECK=refine`` before the
   first import of ``torchlean_runtime.impl`` (it is read once, at import).  A failure raises
   :class:`~torchlean_runtime.errors.RefinementError`.  Checked mode is independent of ``-O``.

The refinement conditions are plain module-level functions (``<operation>_refines``) so that the
checks issue can also run them under CrossHair.  Their parameter names are the operation's, plus
``result`` (icontract's convention).
"""

from __future__ import annotations

import functools
import inspect
from typing import Any, Callable, Optional

import icontract

from torchlean_runtime.errors import ContractViolationError, RefinementError, TorchLeanError
from torchlean_runtime.spec.core.list import ofIterable
from torchlean_runtime.spec.core.shape import ofList
from torchlean_runtime.spec.env import env_choice
from torchlean_runtime.spec.runtime import context as S
from torchlean_runtime.spec.runtime import variable as V

__all__ = ["CHECK_ENV_VAR", "REFINE", "refines", "violation", "install_fast_preconditions"]

#: The environment variable that selects checked mode (value ``refine``).
CHECK_ENV_VAR = "TORCHLEAN_RT_CHECK"
#: Checked mode: read once, when the impl is first imported.
#: Unset or empty (or ``off``): plain checks and preconditions; ``refine``: checked mode.  Any
#: other value (``1``, ``on``, ``refined``...) is refused at import with EnvironmentConfigError
#: (``TLR_ENVIRONMENT``) rather than silently meaning "off".
REFINE: bool = env_choice(CHECK_ENV_VAR, {"off": False, "refine": True}, False)


def refines(condition: Callable[..., bool]) -> Callable:
    """The refinement postcondition ``condition`` — active only in checked mode."""
    return icontract.ensure(
        condition, "the result abstracts to the spec's result (checked mode)", enabled=REFINE, error=RefinementError
    )


def shape_read_once(method: Callable) -> Callable:
    """For a query ``method(self, name_or_nothing..., shape)`` whose LAST argument is a shape: in
    checked mode, read the caller's shape once (``arrays._shape_dims``: each ``__index__`` called
    once) and pass the plain tuple on, so the operation and its refinement postcondition see the
    same dimensions (a hostile ``__index__`` may answer differently on a second call).  An
    invalid shape is passed on unchanged, for the operation's own check to refuse.  Outside
    checked mode the method itself (it reads the shape once)."""
    if not REFINE:
        return method
    from .arrays import _shape_dims  # late, as this module's other imports of arrays

    @functools.wraps(method)
    def read_once(self: Any, *args: Any, **kwargs: Any) -> Any:
        if "shape" in kwargs:
            dims = _shape_dims(kwargs["shape"])
            if dims is not None:
                kwargs["shape"] = dims
        elif args:
            dims = _shape_dims(args[-1])
            if dims is not None:
                args = (*args[:-1], dims)
        return method(self, *args, **kwargs)

    return read_once


def violation(plain_check: Callable[[], object]) -> BaseException:
    """icontract error factory: the typed error that the operation's plain check raises for the
    same arguments — so a precondition violation has the same class, code and message with
    contracts on as the plain check gives under ``-O``."""
    try:
        plain_check()
    except TorchLeanError as exc:
        return exc
    return ContractViolationError("a precondition failed although the plain checks accept the arguments")


def _fast(checker: Callable) -> Optional[Callable]:
    """A cheap caller of ``checker``'s preconditions, or None when this checker needs icontract.

    icontract's wrapper resolves every call's arguments into a dict (``kwargs_from_call``) before
    it evaluates a condition — about 2.5 µs a call on an idle core, ten times what our one
    predicate per operation costs.  For a positional call (the common case) this wrapper
    evaluates the SAME condition objects with the same arguments and raises what their ``error``
    factory returns (the typed error of the plain check), then calls the same function; any
    other call (keywords, missing arguments) goes to icontract's own wrapper.  The icontract
    checker stays reachable (``__wrapped__``; ``__preconditions__`` copied), so
    ``find_checker``, CrossHair and the mutant catalogue see exactly the contracts they saw."""
    func = getattr(checker, "__wrapped__", None)
    if func is None or getattr(checker, "__postconditions__", None) or getattr(checker, "__postcondition_snapshots__", None):
        return None
    groups = checker.__preconditions__
    if len(groups) != 1:
        return None  # a disjunction (inherited weakening): leave it to icontract
    params = list(inspect.signature(func).parameters.values())
    if any(p.kind not in (p.POSITIONAL_OR_KEYWORD,) for p in params):
        return None
    names = [p.name for p in params]
    defaults = tuple(p.default for p in params if p.default is not p.empty)
    required = len(params) - len(defaults)
    conditions = []
    for contract in groups[0]:
        args = list(contract.condition_args)
        if contract.error is None or not callable(contract.error) or isinstance(contract.error, type):
            return None
        if list(inspect.signature(contract.error).parameters) != args or not set(args) <= set(names):
            return None
        conditions.append((contract.condition, contract.error, tuple(names.index(a) for a in args)))
    n = len(params)

    if len(conditions) == 1:
        condition, error, where = conditions[0]
        if where == tuple(range(n)):  # the condition takes every argument, in order
            def fast(*args: Any, **kwargs: Any) -> Any:
                if kwargs or not required <= len(args) <= n:
                    return checker(*args, **kwargs)
                if len(args) < n:
                    args = args + defaults[len(args) - required:]
                if not condition(*args):
                    raise error(*args)
                return func(*args)
        else:
            def fast(*args: Any, **kwargs: Any) -> Any:
                if kwargs or not required <= len(args) <= n:
                    return checker(*args, **kwargs)
                if len(args) < n:
                    args = args + defaults[len(args) - required:]
                picked = [args[i] for i in where]
                if not condition(*picked):
                    raise error(*picked)
                return func(*args)
    else:
        def fast(*args: Any, **kwargs: Any) -> Any:
            if kwargs or not required <= len(args) <= n:
                return checker(*args, **kwargs)
            if len(args) < n:
                args = args + defaults[len(args) - required:]
            for condition, error, where in conditions:
                picked = [args[i] for i in where]
                if not condition(*picked):
                    raise error(*picked)
            return func(*args)

    functools.update_wrapper(fast, checker)  # __wrapped__ = checker; __preconditions__ copied
    return fast


@icontract.require(lambda x: True, "always")
def _warm_icontract(x: Any) -> Any:
    return x


# icontract creates its recursion guard (a set in a ContextVar) on the first checked call.  The
# fast callers below bypass icontract, so make that first call here, at import and outside any
# tracer (CrossHair turns a guard created under tracing into a proxy; see proofs/crosshair).
_warm_icontract(None)


def install_fast_preconditions(cls: type) -> None:
    """Replace each icontract-checked method of ``cls`` by :func:`_fast`'s caller of the same
    preconditions — only in the default mode (contracts on, no refinement postconditions: in
    checked mode icontract runs everything itself; under ``-O`` there is no checker at all)."""
    if REFINE or not __debug__:
        return
    for name, raw in list(vars(cls).items()):
        static = isinstance(raw, staticmethod)
        fn = raw.__func__ if static else raw
        if not callable(fn) or not hasattr(fn, "__preconditions__"):
            continue
        fast = _fast(fn)
        if fast is not None:
            setattr(cls, name, staticmethod(fast) if static else fast)


def _abs(x: Any) -> Any:
    # Imported late: abstraction imports the classes these contracts decorate.
    from .abstraction import to_spec

    return to_spec(x)


# --- RuntimeContext ---------------------------------------------------------------------------


def empty_refines(dtype: Any, result: Any) -> bool:
    from .arrays import ALPHA_OF_DTYPE

    return _abs(result) == S.emptyContext(None if dtype is None else ALPHA_OF_DTYPE[result.dtype])


def register_variable_refines(self: Any, name: str, value: Any, result: Any) -> bool:
    return _abs(result) == S.registerVariable(_abs(self), name, _abs(value))


def get_variable_refines(self: Any, name: str, shape: tuple, result: Any) -> bool:
    return _abs(result) == S.getVariable(_abs(self), name, ofList(shape))


def set_variable_refines(self: Any, name: str, value: Any, result: Any) -> bool:
    return _abs(result) == S.setVariable(_abs(self), name, _abs(value))


def register_gradient_refines(self: Any, name: str, grad: Any, result: Any) -> bool:
    return _abs(result) == S.registerGradient(_abs(self), name, _abs(grad))


def get_gradient_refines(self: Any, name: str, shape: tuple, result: Any) -> bool:
    return _abs(result) == S.getGradient(_abs(self), name, ofList(shape))


def set_gradient_refines(self: Any, name: str, grad: Any, result: Any) -> bool:
    return _abs(result) == S.setGradient(_abs(self), name, _abs(grad))


def clear_gradients_refines(self: Any, result: Any) -> bool:
    return _abs(result) == S.clearGradients(_abs(self))


def has_variable_refines(self: Any, name: str, result: Any) -> bool:
    return result is S.hasVariable(_abs(self), name)


def variable_names_refines(self: Any, result: Any) -> bool:
    return ofIterable(result) == S.variableNames(_abs(self))


def gradient_names_refines(self: Any, result: Any) -> bool:
    return ofIterable(result) == S.gradientNames(_abs(self))


def context_size_refines(self: Any, result: Any) -> bool:
    return type(result) is int and result == S.contextSize(_abs(self))


def gradient_count_refines(self: Any, result: Any) -> bool:
    return type(result) is int and result == S.gradientCount(_abs(self))


def is_valid_context_refines(self: Any, result: Any) -> bool:
    return result is S.isValidContext(_abs(self))


def context_to_string_refines(self: Any, result: Any) -> bool:
    return result == S.contextToString(_abs(self))


# --- Variable -----------------------------------------------------------------------------------


def create_refines(id: int, name: str, value: Any, requires_grad: bool, result: Any) -> bool:
    return _abs(result) == V.createVariable(id, name, _abs(value), requires_grad)


def get_value_refines(self: Any, result: Any) -> bool:
    return _abs(result) == V.getValue(_abs(self))


def set_value_refines(self: Any, new_value: Any, result: Any) -> bool:
    return _abs(result) == V.setValue(_abs(self), _abs(new_value))


def variable_get_gradient_refines(self: Any, result: Any) -> bool:
    return _abs(result) == V.getGradient(_abs(self))


def variable_set_gradient_refines(self: Any, grad: Any, result: Any) -> bool:
    return _abs(result) == V.setGradient(_abs(self), _abs(grad))


def clear_gradient_refines(self: Any, result: Any) -> bool:
    return _abs(result) == V.clearGradient(_abs(self))


def check_requires_grad_refines(self: Any, result: Any) -> bool:
    return result is V.checkRequiresGrad(_abs(self))


def accumulate_gradient_refines(self: Any, grad: Any, result: Any) -> bool:
    return _abs(result) == V.accumulateGradient(_abs(self), _abs(grad))


def variable_to_string_refines(self: Any, result: Any) -> bool:
    return result == V.variableToString(_abs(self))


def variable_eq_refines(self: Any, other: Any, result: Any) -> bool:
    return result is V.variableEq(_abs(self), _abs(other))


def has_shape_refines(self: Any, shape: tuple, result: Any) -> bool:
    return result is V.hasShape(_abs(self), ofList(shape))


def variable_norm_refines(self: Any, result: Any) -> bool:
    spec_variable = _abs(self)
    expected = V.variableNorm(spec_variable)
    return type(result) is self.dtype.type and spec_variable.alpha.identity(result) == spec_variable.alpha.identity(expected)


def clone_variable_refines(self: Any, new_id: int, result: Any) -> bool:
    return _abs(result) == V.cloneVariable(_abs(self), new_id)


def detach_variable_refines(self: Any, result: Any) -> bool:
    return _abs(result) == V.detachVariable(_abs(self))


def register_in_context_refines(self: Any, ctx: Any, result: Any) -> bool:
    return _abs(result) == V.registerInContext(_abs(ctx), _abs(self))


def get_from_context_refines(self: Any, ctx: Any, result: Any) -> bool:
    return _abs(result) == V.getFromContext(_abs(ctx), _abs(self))


def register_gradient_in_context_refines(self: Any, ctx: Any, result: Any) -> bool:
    return _abs(result) == V.registerGradientInContext(_abs(ctx), _abs(self))


def error_refines(ctx: Any, msg: str, dtype: Any, result: Any) -> bool:
    from .arrays import ALPHA_OF_DTYPE

    alpha = None if dtype is None else ALPHA_OF_DTYPE[result.dtype]
    return _abs(result) == V.error(_abs(ctx), msg, alpha)


def cast_shape_refines(self: Any, evidence: Any, result: Any) -> bool:
    return _abs(result) == V.castShape(_abs(self), evidence)
