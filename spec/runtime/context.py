"""``Runtime`` registries — transcription of NN/Runtime/Context.lean
(lean-dojo/TorchLean @ 411682f6c3d913e5cdbc27d4546b3ab7ac0e3e9c).

One Python function per Lean definition, same names, same order of cases.  Python has no
type parameters, so two things Lean infers from types are explicit here:

* the requested shape of ``getVariable`` / ``getGradient`` (Lean's implicit ``{s : Shape}``)
  is their last argument;
* the scalar type ``α`` of a ``RuntimeContext α`` is the field ``alpha``: ``None`` until the
  first tensor fixes it (as Lean infers ``α`` from the first use), then every tensor stored
  must be over that same ``α``.

Every function is pure: it returns a new record and never mutates its inputs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

from torchlean_runtime.errors import ArgumentTypeError, ScalarTypeMismatchError, safe_repr

from ..core.list import List, nil
from ..core.scalars import Nat, ScalarType
from ..core.shape import Shape
from ..core.string import checkLeanString
from ..core.tensor import Tensor, asShape, pretty, printCap, printedLength, printTooLarge

__all__ = [
    "AnyTensor",
    "RuntimeContext",
    "emptyContext",
    "registerVariable",
    "getVariable",
    "setVariable",
    "registerGradient",
    "getGradient",
    "setGradient",
    "clearGradients",
    "hasVariable",
    "variableNames",
    "gradientNames",
    "contextSize",
    "gradientCount",
    "isValidContext",
    "contextToString",
]


@dataclass(frozen=True, slots=True)
class AnyTensor:
    """Lean ``Runtime.AnyTensor α``: a shape ``s`` packed with a tensor ``t : Tensor α s``."""

    s: Shape
    t: Tensor

    def __post_init__(self) -> None:
        if not isinstance(self.t, Tensor):
            raise ArgumentTypeError(f"AnyTensor.t must be a Tensor, given {type(self.t).__name__}")
        if self.t.shape != self.s:
            raise ArgumentTypeError(f"AnyTensor: t has shape {safe_repr(self.t.shape)}, not s = {safe_repr(self.s)}")


@dataclass(frozen=True, slots=True)
class RuntimeContext:
    """Lean ``Runtime.RuntimeContext α``: two ``List (String × AnyTensor α)`` registries and
    ``next_id : Nat``.  ``alpha`` is the type parameter ``α`` (``None`` until fixed)."""

    var_registry: List
    gradients: List
    next_id: int
    alpha: Optional[ScalarType] = None

    def __post_init__(self) -> None:
        if not isinstance(self.var_registry, List) or not isinstance(self.gradients, List):
            raise ArgumentTypeError("RuntimeContext registries must be Lean Lists of (name, AnyTensor)")
        nat = Nat.canonical(self.next_id)  # the exact int value: an int subclass's overrides never count
        if nat is None:
            raise ArgumentTypeError(f"RuntimeContext.next_id must be a Nat, given {safe_repr(self.next_id)}")
        object.__setattr__(self, "next_id", nat)
        if self.alpha is not None and not isinstance(self.alpha, ScalarType):
            raise ArgumentTypeError(f"RuntimeContext.alpha must be a ScalarType or None, given {safe_repr(self.alpha)}")


# --- argument checks (what Lean's type checker guarantees) --------------------------------


def _ctx(ctx: Any, op: str) -> RuntimeContext:
    if not isinstance(ctx, RuntimeContext):
        raise ArgumentTypeError(f"{op} expects a RuntimeContext, given {type(ctx).__name__}")
    return ctx


def _name(name: Any, op: str) -> str:
    return checkLeanString(name, op)


def _alpha(ctx: RuntimeContext, value: Any, op: str) -> ScalarType:
    """The context's ``α`` after storing ``value`` (a Tensor over the same ``α``)."""
    if not isinstance(value, Tensor):
        raise ArgumentTypeError(f"{op} expects a Tensor value, given {type(value).__name__}")
    if ctx.alpha is not None and ctx.alpha is not value.alpha:
        raise ScalarTypeMismatchError(
            f"{op}: the context holds {ctx.alpha.name} tensors, given a {value.alpha.name} tensor (Lean has one α)"
        )
    return value.alpha


# --- the Lean definitions ------------------------------------------------------------------


def emptyContext(alpha: Optional[ScalarType] = None) -> RuntimeContext:
    """Lean ``Runtime.emptyContext``: both registries ``[]``, ``next_id = 0``.
    (``alpha``: Lean's implicit ``{α}``, optional until a tensor fixes it.)"""
    return RuntimeContext(var_registry=nil, gradients=nil, next_id=0, alpha=alpha)


def registerVariable(ctx: RuntimeContext, name: str, value: Tensor) -> RuntimeContext:
    """Lean ``Runtime.registerVariable``: PREPEND ``(name, ⟨s, value⟩)`` and add 1 to ``next_id``
    (also when ``name`` is already present: the older entry is shadowed, not removed)."""
    ctx = _ctx(ctx, "registerVariable")
    name = _name(name, "registerVariable")
    alpha = _alpha(ctx, value, "registerVariable")
    any_tensor = AnyTensor(s=value.shape, t=value)
    return RuntimeContext(
        var_registry=ctx.var_registry.cons((name, any_tensor)),
        gradients=ctx.gradients,
        next_id=ctx.next_id + 1,
        alpha=alpha,
    )


def getVariable(ctx: RuntimeContext, name: str, s: Shape) -> Optional[Tensor]:
    """Lean ``Runtime.getVariable`` at the requested shape ``s`` (explicit here): ``find?`` the
    FIRST entry named ``name``; return its tensor if its shape is ``s``, else ``none`` (a
    shadowed older entry is never consulted)."""
    ctx = _ctx(ctx, "getVariable")
    name = _name(name, "getVariable")
    s = asShape(s)
    found = ctx.var_registry.find(lambda entry: entry[0] == name)
    if found is None:
        return None
    _, any_tensor = found
    if any_tensor.s == s:
        return any_tensor.t  # Eq.mp along `any_tensor.s = s`: the same data
    return None


def setVariable(ctx: RuntimeContext, name: str, value: Tensor) -> RuntimeContext:
    """Lean ``Runtime.setVariable``: ``map`` over the registry replacing EVERY entry named
    ``name`` (shadowed ones too) by the new value at its own shape; order kept; an absent
    name leaves the registry as it was; ``next_id`` unchanged."""
    ctx = _ctx(ctx, "setVariable")
    name = _name(name, "setVariable")
    alpha = _alpha(ctx, value, "setVariable")
    any_tensor = AnyTensor(s=value.shape, t=value)
    updated_vars = ctx.var_registry.map(lambda entry: (entry[0], any_tensor) if entry[0] == name else entry)
    return RuntimeContext(var_registry=updated_vars, gradients=ctx.gradients, next_id=ctx.next_id, alpha=alpha)


def registerGradient(ctx: RuntimeContext, name: str, grad: Tensor) -> RuntimeContext:
    """Lean ``Runtime.registerGradient``: prepend to ``gradients``; ``next_id`` NOT changed."""
    ctx = _ctx(ctx, "registerGradient")
    name = _name(name, "registerGradient")
    alpha = _alpha(ctx, grad, "registerGradient")
    any_tensor = AnyTensor(s=grad.shape, t=grad)
    return RuntimeContext(
        var_registry=ctx.var_registry,
        gradients=ctx.gradients.cons((name, any_tensor)),
        next_id=ctx.next_id,
        alpha=alpha,
    )


def getGradient(ctx: RuntimeContext, name: str, s: Shape) -> Optional[Tensor]:
    """Lean ``Runtime.getGradient``: as ``getVariable`` on the gradient list (``find?`` then
    ``Option.map`` to the AnyTensor, then the shape test)."""
    ctx = _ctx(ctx, "getGradient")
    name = _name(name, "getGradient")
    s = asShape(s)
    found = ctx.gradients.find(lambda entry: entry[0] == name)
    any_tensor = None if found is None else found[1]
    if any_tensor is None:
        return None
    if any_tensor.s == s:
        return any_tensor.t
    return None


def setGradient(ctx: RuntimeContext, name: str, grad: Tensor) -> RuntimeContext:
    """Lean ``Runtime.setGradient``: as ``setVariable`` on the gradient list."""
    ctx = _ctx(ctx, "setGradient")
    name = _name(name, "setGradient")
    alpha = _alpha(ctx, grad, "setGradient")
    any_tensor = AnyTensor(s=grad.shape, t=grad)
    updated_grads = ctx.gradients.map(lambda entry: (entry[0], any_tensor) if entry[0] == name else entry)
    return RuntimeContext(var_registry=ctx.var_registry, gradients=updated_grads, next_id=ctx.next_id, alpha=alpha)


def clearGradients(ctx: RuntimeContext) -> RuntimeContext:
    """Lean ``Runtime.clearGradients``: ``gradients := []``."""
    ctx = _ctx(ctx, "clearGradients")
    return RuntimeContext(var_registry=ctx.var_registry, gradients=nil, next_id=ctx.next_id, alpha=ctx.alpha)


def hasVariable(ctx: RuntimeContext, name: str) -> bool:
    """Lean ``Runtime.hasVariable``: ``any`` entry named ``name`` (shape ignored)."""
    ctx = _ctx(ctx, "hasVariable")
    name = _name(name, "hasVariable")
    return ctx.var_registry.any(lambda entry: entry[0] == name)


def variableNames(ctx: RuntimeContext) -> List:
    """Lean ``Runtime.variableNames``: names in list order (newest first, duplicates kept)."""
    ctx = _ctx(ctx, "variableNames")
    return ctx.var_registry.map(lambda entry: entry[0])


def gradientNames(ctx: RuntimeContext) -> List:
    """Lean ``Runtime.gradientNames``: gradient names in list order."""
    ctx = _ctx(ctx, "gradientNames")
    return ctx.gradients.map(lambda entry: entry[0])


def contextSize(ctx: RuntimeContext) -> int:
    """Lean ``Runtime.contextSize``: ``var_registry.length`` (shadowed duplicates counted)."""
    ctx = _ctx(ctx, "contextSize")
    return ctx.var_registry.length()


def gradientCount(ctx: RuntimeContext) -> int:
    """Lean ``Runtime.gradientCount``: ``gradients.length``."""
    ctx = _ctx(ctx, "gradientCount")
    return ctx.gradients.length()


def isValidContext(ctx: RuntimeContext) -> bool:
    """Lean ``Runtime.isValidContext``: every gradient entry's name ``hasVariable`` (names only,
    shapes ignored; ``true`` with no gradients)."""
    ctx = _ctx(ctx, "isValidContext")
    return ctx.gradients.all(lambda entry: hasVariable(ctx, entry[0]))


def contextToString(ctx: RuntimeContext) -> str:
    """Lean ``Runtime.contextToString``:
    ``Context(vars: [<n>: <pretty t>, ...], grads: [...])`` — list order, names raw,
    ``next_id`` not shown."""
    ctx = _ctx(ctx, "contextToString")
    _check_printable(ctx)
    var_str = ", ".join(ctx.var_registry.map(lambda entry: f"{entry[0]}: {pretty(entry[1].t)}"))
    grad_str = ", ".join(ctx.gradients.map(lambda entry: f"{entry[0]}: {pretty(entry[1].t)}"))
    return f"Context(vars: [{var_str}], grads: [{grad_str}])"


def _check_printable(ctx: RuntimeContext) -> None:
    """The printed context's length within ``printCap()`` — counted before it is built (not part
    of Lean's definition: a resource bound, issue 9)."""
    cap = printCap()
    budget = cap - len("Context(vars: [], grads: [])")
    for registry in (ctx.var_registry, ctx.gradients):
        first = True
        for name, any_tensor in registry:
            budget -= (0 if first else 2) + len(name) + 2
            first = False
            if budget < 0:
                raise printTooLarge("contextToString", cap)
            budget -= printedLength(any_tensor.t, budget)
            if budget < 0:
                raise printTooLarge("contextToString", cap)
    if budget < 0:
        raise printTooLarge("contextToString", cap)
