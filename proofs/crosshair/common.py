"""Shared pieces of the CrossHair obligation modules: the observation record, the refinement
test, invariant collection and the impl/spec adapters.

An obligation's body runs the IMPL on ``from_spec`` of a decoded spec-level input and returns
an :class:`Observed` (what the impl produced, abstracted back with ``to_spec``); its single
icontract postcondition recomputes the SPEC result from the same decoded input and demands
equality — ``to_spec(impl_op(from_spec(x))) == spec_op(x)`` — plus an intact impl index
(``Registry.invariant_violations() == []`` and recorded shapes = array shapes, for every impl
context the run produced).  Operations that return a context also compare every lookup on the
result (:func:`probe_impl`), so a stale index the abstraction cannot see still shows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Sequence

from torchlean_runtime.errors import TorchLeanError
from torchlean_runtime.impl.abstraction import from_spec, to_spec
from torchlean_runtime.impl.context import RuntimeContext as ImplContext
from torchlean_runtime.spec.core.shape import ofList
from torchlean_runtime.spec.runtime import context as S

from .encoding import concretely

__all__ = ["Observed", "refines", "outcome", "typed", "violations", "probe_impl", "probe_spec", "from_spec", "to_spec", "warm_up"]


@dataclass(frozen=True)
class Observed:
    """What one obligation run saw on the impl side."""

    inputs: tuple  # the decoded, concrete arguments (the spec side is recomputed from them)
    impl: Any  # the impl's result, abstracted to spec values
    violations: tuple[str, ...] = ()  # I1/I2 violations of impl registries, before and after


@concretely
def refines(result: Observed, spec_side: Callable[..., Any]) -> bool:
    """The postcondition of every refinement obligation."""
    return not result.violations and result.impl == spec_side(*result.inputs)


def outcome(fn: Callable[..., Any], *args: Any) -> tuple:
    """``("value", v)`` or ``("error", code)`` for the project's typed errors (anything else
    propagates, and CrossHair reports it as an error line)."""
    try:
        return ("value", fn(*args))
    except TorchLeanError as exc:
        return ("error", exc.code)


def typed(x: Any) -> tuple[str, Any]:
    """A result with its Python type, so ``True`` never passes for ``1``."""
    return (type(x).__name__, x)


def violations(*contexts: ImplContext) -> tuple[str, ...]:
    """The I1/I2 index-invariant violations (``Registry.invariant_violations``) of both registries
    of each impl context, plus I0: every entry's recorded shape is its array's shape (Lean's
    ``⟨s, t⟩ : AnyTensor`` has ``t : Tensor α s``; ``to_spec`` reads the array, lookups read the
    recorded shape, so a stale one would be invisible to the abstraction alone)."""
    found: list[str] = []
    for ctx in contexts:
        for label, registry in (("variables", ctx._variables), ("gradients", ctx._gradients)):
            found.extend(f"{label}: {v}" for v in registry.invariant_violations())
            found.extend(f"{label}: I0: entry {e.name!r} records shape {e.shape}, its array has {e.array.shape}"
                         for e in registry.items() if e.shape != e.array.shape)
    return tuple(found)


def probe_impl(ctx: ImplContext, names: Sequence[str], shapes: Sequence[tuple]) -> tuple:
    """Every lookup of the impl context — get_variable and get_gradient of each name at each
    shape — abstracted: what later reads will see."""
    return tuple((to_spec(ctx.get_variable(n, s)), to_spec(ctx.get_gradient(n, s))) for n in names for s in shapes)


def probe_spec(ctx: Any, names: Sequence[str], shapes: Sequence[tuple]) -> tuple:
    """:func:`probe_impl` on the spec side (getVariable / getGradient)."""
    return tuple((S.getVariable(ctx, n, ofList(s)), S.getGradient(ctx, n, ofList(s))) for n in names for s in shapes)


def warm_up() -> None:
    """Call a contract-checked impl method once, outside CrossHair's tracing.

    icontract keeps its recursion guard (a ``set``) in a ContextVar created on the first checked
    call.  Created while CrossHair traces, that set becomes a CrossHair proxy that every later
    path wraps once more, until a RecursionError (seen with crosshair-tool 0.0.112)."""
    ImplContext.empty().has_variable("warm-up")
    to_spec(from_spec(to_spec(ImplContext.empty())))
