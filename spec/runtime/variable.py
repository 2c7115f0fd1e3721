"""``Runtime.Variable`` — transcription of NN/Runtime/Variable.lean
(lean-dojo/TorchLean @ 411682f6c3d913e5cdbc27d4546b3ab7ac0e3e9c).

A Lean ``Variable α s`` fixes its shape ``s`` and scalar type ``α`` by its type; here they are
read off ``value`` (``v.s``, ``v.alpha``) and every operation that Lean's type checker would
reject — a tensor of another shape or scalar type, a ``Context``-only operation on ``Nat`` /
``Int``, a cast without evidence — raises the project's typed error instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

from torchlean_runtime.errors import (
    ArgumentTypeError,
    CastEvidenceError,
    NoContextInstanceError,
    ScalarTypeMismatchError,
    ShapeMismatchError,
    safe_repr,
)

from ..core.scalars import Context, Nat, ScalarType, checkFloatEnvironment
from ..core.shape import Shape, ShapeEq, areEqual, toList
from ..core.string import checkLeanString
from ..core.tensor import (
    Tensor,
    addSpec,
    asShape,
    castShape as tensorCastShape,
    mulSpec,
    pretty,
    printCap,
    printedLength,
    printTooLarge,
    scalar,
    sumSpec,
)
from . import context as _rt

__all__ = [
    "Variable",
    "createVariable",
    "getValue",
    "setValue",
    "getGradient",
    "setGradient",
    "clearGradient",
    "checkRequiresGrad",
    "accumulateGradient",
    "variableToString",
    "variableEq",
    "hasShape",
    "variableNorm",
    "cloneVariable",
    "detachVariable",
    "registerInContext",
    "getFromContext",
    "registerGradientInContext",
    "error",
    "castShape",
]




@dataclass(frozen=True, slots=True)
class Variable:
    """Lean ``Runtime.Variable α s``: ``id : Nat``, ``name : String``, ``value : Tensor α s``,
    ``gradient : Option (Tensor α s)``, ``requires_grad : Bool``."""

    id: int
    name: str
    value: Tensor
    gradient: Optional[Tensor]
    requires_grad: bool

    def __post_init__(self) -> None:
        nat = Nat.canonical(self.id)  # the exact int value: an int subclass's overrides never count
        if nat is None:
            raise ArgumentTypeError(f"Variable.id must be a Nat (int >= 0), given {safe_repr(self.id)}")
        object.__setattr__(self, "id", nat)
        object.__setattr__(self, "name", checkLeanString(self.name, "Variable", "Variable.name"))
        if not isinstance(self.value, Tensor):
            raise ArgumentTypeError(f"Variable.value must be a Tensor, given {type(self.value).__name__}")
        if self.gradient is not None:
            _same_index(self, self.gradient, "Variable.gradient")
        if not isinstance(self.requires_grad, bool):
            raise ArgumentTypeError(f"Variable.requires_grad must be a bool, given {safe_repr(self.requires_grad)}")

    @property
    def s(self) -> Shape:
        """The type index ``s``."""
        return self.value.shape

    @property
    def alpha(self) -> ScalarType:
        """The type parameter ``α``."""
        return self.value.alpha


def _var(v: Any, op: str) -> Variable:
    if not isinstance(v, Variable):
        raise ArgumentTypeError(f"{op} expects a Variable, given {type(v).__name__}")
    return v


def _same_index(v: Variable, t: Any, op: str) -> Tensor:
    """``t : Tensor α s`` for the variable's ``α`` and ``s`` — or the error Lean's checker gives."""
    if not isinstance(t, Tensor):
        raise ArgumentTypeError(f"{op} expects a Tensor, given {type(t).__name__}")
    if t.alpha is not v.value.alpha:
        raise ScalarTypeMismatchError(f"{op}: the variable is over {v.value.alpha.name}, given a {t.alpha.name} tensor")
    if t.shape != v.value.shape:
        raise ShapeMismatchError(
            f"{op}: the variable has shape {list(toList(v.value.shape))}, given a tensor of shape {list(toList(t.shape))}"
        )
    return t


def _context(v: Variable, op: str) -> Context:
    ctx = v.value.alpha.context
    if ctx is None:
        raise NoContextInstanceError(f"{op} needs a Context instance, and Lean has none for {v.value.alpha.name}")
    return ctx


def createVariable(id: int, name: str, value: Tensor, requires_grad: bool = True) -> Variable:
    """Lean ``Runtime.Variable.createVariable`` (``requires_grad := true`` by default; no gradient)."""
    return Variable(id=id, name=name, value=value, gradient=None, requires_grad=requires_grad)


def getValue(v: Variable) -> Tensor:
    """Lean ``Runtime.Variable.getValue``: ``v.value``."""
    return _var(v, "getValue").value


def setValue(v: Variable, new_value: Tensor) -> Variable:
    """Lean ``Runtime.Variable.setValue``: ``{ v with value := new_value }`` (same shape)."""
    v = _var(v, "setValue")
    return Variable(v.id, v.name, _same_index(v, new_value, "setValue"), v.gradient, v.requires_grad)


def getGradient(v: Variable) -> Optional[Tensor]:
    """Lean ``Runtime.Variable.getGradient``: ``v.gradient``."""
    return _var(v, "getGradient").gradient


def setGradient(v: Variable, grad: Tensor) -> Variable:
    """Lean ``Runtime.Variable.setGradient``: ``gradient := some grad`` (``requires_grad`` ignored)."""
    v = _var(v, "setGradient")
    return Variable(v.id, v.name, v.value, _same_index(v, grad, "setGradient"), v.requires_grad)


def clearGradient(v: Variable) -> Variable:
    """Lean ``Runtime.Variable.clearGradient``: ``gradient := none``."""
    v = _var(v, "clearGradient")
    return Variable(v.id, v.name, v.value, None, v.requires_grad)


def checkRequiresGrad(v: Variable) -> bool:
    """Lean ``Runtime.Variable.checkRequiresGrad``: ``v.requires_grad``."""
    return _var(v, "checkRequiresGrad").requires_grad


def accumulateGradient(v: Variable, grad: Tensor) -> Variable:
    """Lean ``Runtime.Variable.accumulateGradient`` (needs ``Context α``): no gradient →
    ``setGradient v grad``; else ``setGradient v (addSpec existing grad)`` — existing first."""
    v = _var(v, "accumulateGradient")
    _context(v, "accumulateGradient")
    _same_index(v, grad, "accumulateGradient")
    checkFloatEnvironment("accumulateGradient")  # not Lean: the hardware must compute IEEE's results
    if v.gradient is None:
        return setGradient(v, grad)
    return setGradient(v, addSpec(v.gradient, grad))


def variableToString(v: Variable) -> str:
    """Lean ``Runtime.Variable.variableToString``:
    ``Variable(<name>, id=<id>, value=<pretty>, grad=<pretty or none>, requires_grad=<true|false>)``."""
    v = _var(v, "variableToString")
    cap = printCap()  # a resource bound (issue 9), counted before anything is built
    budget = cap - len(f"Variable({v.name}, id={v.id}, value=, grad=, requires_grad={'true' if v.requires_grad else 'false'})")
    budget -= 4 if v.gradient is None else printedLength(v.gradient, max(budget, 0))
    if budget < 0 or printedLength(v.value, budget) > budget:
        raise printTooLarge("variableToString", cap)
    grad_str = "none" if v.gradient is None else pretty(v.gradient)
    flag = "true" if v.requires_grad else "false"
    return f"Variable({v.name}, id={v.id}, value={pretty(v.value)}, " + f"grad={grad_str}, requires_grad={flag})"


def variableEq(v1: Variable, v2: Variable) -> bool:
    """Lean ``Runtime.Variable.variableEq``: equal ids and equal names (nothing else).
    Both variables must have the same ``α`` and ``s``, as Lean's signature demands."""
    v1, v2 = _var(v1, "variableEq"), _var(v2, "variableEq")
    _same_index(v1, v2.value, "variableEq")
    return v1.id == v2.id and v1.name == v2.name


def hasShape(v: Variable, expected_shape: Shape) -> bool:
    """Lean ``Runtime.Variable.hasShape``: ``Shape.areEqual s expected_shape``
    (``expected_shape``: a Shape or a list of dimensions, as ``getVariable``'s)."""
    v = _var(v, "hasShape")
    return areEqual(v.s, asShape(expected_shape))


def variableNorm(v: Variable) -> Any:
    """Lean ``Runtime.Variable.variableNorm`` (needs ``Context α``):
    ``sqrt (sumSpec (mulSpec value value))`` — a flat left fold from 0 in row-major order."""
    v = _var(v, "variableNorm")
    ctx = _context(v, "variableNorm")
    checkFloatEnvironment("variableNorm")  # not Lean: the hardware must compute IEEE's results
    squared = mulSpec(v.value, v.value)
    sum_squared = sumSpec(squared)
    return ctx.sqrt(sum_squared)


def cloneVariable(v: Variable, new_id: int) -> Variable:
    """Lean ``Runtime.Variable.cloneVariable``: ``id := new_id``, gradient cleared, rest kept."""
    v = _var(v, "cloneVariable")
    return Variable(new_id, v.name, v.value, None, v.requires_grad)


def detachVariable(v: Variable) -> Variable:
    """Lean ``Runtime.Variable.detachVariable``: ``requires_grad := false``, gradient cleared."""
    v = _var(v, "detachVariable")
    return Variable(v.id, v.name, v.value, None, False)


def _same_alpha(ctx: Any, v: Variable, op: str) -> None:
    """``ctx : RuntimeContext α`` and ``v : Variable α s`` share ``α`` — also on paths that store
    nothing (Lean checks the types before any branch is taken)."""
    _rt._alpha(_rt._ctx(ctx, op), v.value, op)


def registerInContext(ctx: _rt.RuntimeContext, v: Variable) -> _rt.RuntimeContext:
    """Lean ``Runtime.Variable.registerInContext``: ``registerVariable ctx v.name v.value``."""
    v = _var(v, "registerInContext")
    return _rt.registerVariable(ctx, v.name, v.value)


def getFromContext(ctx: _rt.RuntimeContext, v: Variable) -> Optional[Tensor]:
    """Lean ``Runtime.Variable.getFromContext``: ``getVariable ctx v.name`` at ``v``'s shape."""
    v = _var(v, "getFromContext")
    _same_alpha(ctx, v, "getFromContext")
    return _rt.getVariable(ctx, v.name, v.s)


def registerGradientInContext(ctx: _rt.RuntimeContext, v: Variable) -> _rt.RuntimeContext:
    """Lean ``Runtime.Variable.registerGradientInContext``: no gradient → ``ctx``; else
    ``registerGradient ctx v.name g``."""
    v = _var(v, "registerGradientInContext")
    _same_alpha(ctx, v, "registerGradientInContext")
    if v.gradient is None:
        return ctx
    return _rt.registerGradient(ctx, v.name, v.gradient)


def error(ctx: _rt.RuntimeContext, msg: str, alpha: Optional[ScalarType] = None) -> Variable:
    """Lean ``Runtime.Variable.error``: a scalar variable with ``id = ctx.next_id``,
    ``name = msg``, value ``0``, no gradient, ``requires_grad = false``; ``ctx`` unchanged.
    ``alpha`` is Lean's implicit ``{α}``, needed only while the context has not fixed it."""
    ctx = _rt._ctx(ctx, "error")
    if alpha is not None and not isinstance(alpha, ScalarType):
        raise ArgumentTypeError(f"error: alpha must be a ScalarType, given {safe_repr(alpha)}")
    if ctx.alpha is not None and alpha is not None and alpha is not ctx.alpha:
        raise ScalarTypeMismatchError(f"error: the context is over {ctx.alpha.name}, given alpha={alpha.name}")
    a = ctx.alpha if ctx.alpha is not None else alpha
    if a is None:
        raise ArgumentTypeError("error: the context has not fixed its scalar type yet; pass alpha=")
    return Variable(id=ctx.next_id, name=checkLeanString(msg, "error", "the message"), value=scalar(a, a.zero), gradient=None, requires_grad=False)


def castShape(v: Variable, h: ShapeEq) -> Variable:
    """Lean ``Runtime.Variable.castShape``: given evidence ``h : s₁ = s₂``, the same variable at
    ``s₂`` (value and gradient transported; an identity on the data)."""
    v = _var(v, "castShape")
    if not isinstance(h, ShapeEq):
        raise CastEvidenceError(f"castShape needs ShapeEq evidence, given {type(h).__name__}")
    gradient = None if v.gradient is None else tensorCastShape(v.gradient, h)
    return Variable(v.id, v.name, tensorCastShape(v.value, h), gradient, v.requires_grad)
