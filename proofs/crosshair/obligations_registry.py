"""CrossHair refinement obligations for the impl's registry layer (``impl.context`` over
``impl.registry``), stated over spec-level inputs: ``to_spec(impl_op(from_spec(x))) == spec_op(x)``,
and the impl index invariants I1/I2 hold for every impl context involved.

Each public function without a suffix is one CrossHair target (``crosshair check
--analysis_kind=icontract``): small-int parameters whose ranges (:mod:`.domains`, for the bound
profile :data:`B` chosen by ``TORCHLEAN_RT_CROSSHAIR_BOUND`` at import) are its preconditions,
decoded to concrete spec values, and one postcondition.  ``spec_*`` computes the spec side,
``impl_*`` the impl side.  The ``*_spec_side`` / ``*_impl_side`` pairs take the same ints and
are compared by ``crosshair diffbehavior``; outside the domain both return ``None``.

Contexts under test: the registry under test (index ``r``) is the variable list (``w = 0``) or
the gradient list (``w = 1``); the other list is the fixed non-empty OTHER_REGISTRY, so an
operation on the wrong list shows; ``next_id = NEXT_ID``; scalar type Float.
"""

from __future__ import annotations

import icontract

from torchlean_runtime.spec.core.list import ofIterable
from torchlean_runtime.spec.core.shape import ofList
from torchlean_runtime.spec.runtime import context as S
from torchlean_runtime.spec.runtime import variable as SV

from .common import Observed, from_spec, probe_impl, probe_spec, refines, to_spec, typed, violations, warm_up
from .domains import STEP_LETTERS, decode, domain, in_domain
from .encoding import (
    FAMILIES,
    NAMES,
    NEXT_ID,
    OTHER_REGISTRY,
    active_bounds,
    concretely,
    query_name,
    query_shapes,
    registry_entries,
    sequence,
    spec_context,
    spec_registry,
    value,
)

#: The bound profile of this process (from the environment, read once at import).
B = active_bounds()
LOOKUP, REGISTER, SET, UNTYPED = domain("lookup", B), domain("register", B), domain("set_all", B), domain("untyped_writes", B)
CLEAR, HAS, NAMES_COUNTS = domain("clear_gradients", B), domain("has_variable", B), domain("names_counts", B)
VALID, TRACE = domain("is_valid_context", B), domain("next_id", B)
_QUERY_SHAPES = query_shapes(B)
_QUERY_NAMES = tuple(query_name(B, q) for q in range(B.query_names))

warm_up()


def after_spec(ctx):
    """A spec context result and every lookup on it."""
    return (ctx, probe_spec(ctx, _QUERY_NAMES, _QUERY_SHAPES))


def after_impl(ctx):
    """An impl context result, abstracted, and every lookup on it."""
    return (to_spec(ctx), probe_impl(ctx, _QUERY_NAMES, _QUERY_SHAPES))


def context_under_test(w: int, r: int):
    """The spec context: registry ``r`` as the variables (``w = 0``) or the gradients (``w = 1``)."""
    tested = spec_registry(registry_entries(r, B.entries, B.names, B.values), 0)
    other = spec_registry(OTHER_REGISTRY, 0)
    variables, gradients = (tested, other) if w == 0 else (other, tested)
    return spec_context(variables, gradients, NEXT_ID, 0)


# --- lookup: getVariable / getGradient -----------------------------------------------------------


@concretely
def spec_lookup(w: int, r: int, q: int, s: int):
    get = S.getVariable if w == 0 else S.getGradient
    return get(context_under_test(w, r), query_name(B, q), ofList(_QUERY_SHAPES[s]))


@concretely
def impl_lookup(w: int, r: int, q: int, s: int) -> Observed:
    ctx = from_spec(context_under_test(w, r))
    get = ctx.get_variable if w == 0 else ctx.get_gradient
    return Observed((w, r, q, s), to_spec(get(query_name(B, q), _QUERY_SHAPES[s])), violations(ctx))


@icontract.require(lambda w, r, q, s: in_domain(LOOKUP, w, r, q, s), "the bounded domain (domains.py)")
@icontract.ensure(lambda result: refines(result, spec_lookup),
                  "to_spec(get_variable/get_gradient(from_spec ctx, name, shape)) == getVariable/getGradient ctx name (ofList shape); I1/I2 hold")
def lookup(w: int, r: int, q: int, s: int) -> Observed:
    return impl_lookup(*decode(LOOKUP, w, r, q, s))


# --- register / set: registerVariable, registerGradient, setVariable, setGradient ----------------


@concretely
def spec_register(w: int, r: int, q: int, u: int):
    op = S.registerVariable if w == 0 else S.registerGradient
    return after_spec(op(context_under_test(w, r), query_name(B, q), value(0, u)))


@concretely
def impl_register(w: int, r: int, q: int, u: int) -> Observed:
    ctx = from_spec(context_under_test(w, r))
    op = ctx.register_variable if w == 0 else ctx.register_gradient
    out = op(query_name(B, q), from_spec(value(0, u)))
    return Observed((w, r, q, u), after_impl(out), violations(ctx, out))


@icontract.require(lambda w, r, q, u: in_domain(REGISTER, w, r, q, u), "the bounded domain (domains.py)")
@icontract.ensure(lambda result: refines(result, spec_register),
                  "to_spec(register_variable/register_gradient(from_spec ctx, name, from_spec v)) == registerVariable/registerGradient ctx name v; I1/I2 hold")
def register(w: int, r: int, q: int, u: int) -> Observed:
    return impl_register(*decode(REGISTER, w, r, q, u))


@concretely
def spec_set(w: int, r: int, q: int, u: int):
    op = S.setVariable if w == 0 else S.setGradient
    return after_spec(op(context_under_test(w, r), query_name(B, q), value(0, u)))


@concretely
def impl_set(w: int, r: int, q: int, u: int) -> Observed:
    ctx = from_spec(context_under_test(w, r))
    op = ctx.set_variable if w == 0 else ctx.set_gradient
    out = op(query_name(B, q), from_spec(value(0, u)))
    return Observed((w, r, q, u), after_impl(out), violations(ctx, out))


@icontract.require(lambda w, r, q, u: in_domain(SET, w, r, q, u), "the bounded domain (domains.py)")
@icontract.ensure(lambda result: refines(result, spec_set),
                  "to_spec(set_variable/set_gradient(from_spec ctx, name, from_spec v)) == setVariable/setGradient ctx name v; I1/I2 hold")
def set_all(w: int, r: int, q: int, u: int) -> Observed:
    return impl_set(*decode(SET, w, r, q, u))


# --- the first tensor fixes α: the four writes on emptyContext with α not yet fixed --------------

_WRITES = (("registerVariable", "register_variable"), ("registerGradient", "register_gradient"),
           ("setVariable", "set_variable"), ("setGradient", "set_gradient"))


@concretely
def spec_untyped(op: int, f: int, q: int, u: int):
    return after_spec(getattr(S, _WRITES[op][0])(S.emptyContext(None), query_name(B, q), value(f, u)))


@concretely
def impl_untyped(op: int, f: int, q: int, u: int) -> Observed:
    ctx = from_spec(S.emptyContext(None))
    out = getattr(ctx, _WRITES[op][1])(query_name(B, q), from_spec(value(f, u)))
    return Observed((op, f, q, u), after_impl(out), violations(ctx, out))


@icontract.require(lambda op, f, q, u: in_domain(UNTYPED, op, f, q, u), "the bounded domain (domains.py)")
@icontract.ensure(lambda result: refines(result, spec_untyped),
                  "on emptyContext with α unfixed each write refines the spec's, fixing α to the tensor's scalar type (also setVariable/setGradient of an absent name); I1/I2 hold")
def untyped_writes(op: int, f: int, q: int, u: int) -> Observed:
    return impl_untyped(*decode(UNTYPED, op, f, q, u))


# --- clearGradients ------------------------------------------------------------------------------


@concretely
def spec_clear(w: int, r: int):
    return after_spec(S.clearGradients(context_under_test(w, r)))


@concretely
def impl_clear(w: int, r: int) -> Observed:
    ctx = from_spec(context_under_test(w, r))
    out = ctx.clear_gradients()
    return Observed((w, r), after_impl(out), violations(ctx, out))


@icontract.require(lambda w, r: in_domain(CLEAR, w, r), "the bounded domain (domains.py)")
@icontract.ensure(lambda result: refines(result, spec_clear), "to_spec(clear_gradients(from_spec ctx)) == clearGradients ctx; I1/I2 hold")
def clear_gradients(w: int, r: int) -> Observed:
    return impl_clear(*decode(CLEAR, w, r))


# --- hasVariable -----------------------------------------------------------------------------------


@concretely
def spec_has(w: int, r: int, q: int):
    return typed(S.hasVariable(context_under_test(w, r), query_name(B, q)))


@concretely
def impl_has(w: int, r: int, q: int) -> Observed:
    ctx = from_spec(context_under_test(w, r))
    return Observed((w, r, q), typed(ctx.has_variable(query_name(B, q))), violations(ctx))


@icontract.require(lambda w, r, q: in_domain(HAS, w, r, q), "the bounded domain (domains.py)")
@icontract.ensure(lambda result: refines(result, spec_has), "has_variable(from_spec ctx, name) is hasVariable ctx name (a bool); I1/I2 hold")
def has_variable(w: int, r: int, q: int) -> Observed:
    return impl_has(*decode(HAS, w, r, q))


# --- variableNames / gradientNames / contextSize / gradientCount ---------------------------------


@concretely
def spec_names_counts(w: int, r: int):
    ctx = context_under_test(w, r)
    return (S.variableNames(ctx), S.gradientNames(ctx), typed(S.contextSize(ctx)), typed(S.gradientCount(ctx)),
            S.contextToString(ctx))


@concretely
def impl_names_counts(w: int, r: int) -> Observed:
    ctx = from_spec(context_under_test(w, r))
    got = (ofIterable(ctx.variable_names()), ofIterable(ctx.gradient_names()), typed(ctx.context_size()),
           typed(ctx.gradient_count()), ctx.to_lean_string())
    return Observed((w, r), got, violations(ctx))


@icontract.require(lambda w, r: in_domain(NAMES_COUNTS, w, r), "the bounded domain (domains.py)")
@icontract.ensure(lambda result: refines(result, spec_names_counts),
                  "variable_names/gradient_names/context_size/gradient_count/to_lean_string of from_spec ctx equal variableNames/gradientNames/contextSize/gradientCount/contextToString ctx (list order, duplicates kept); I1/I2 hold")
def names_counts(w: int, r: int) -> Observed:
    return impl_names_counts(*decode(NAMES_COUNTS, w, r))


# --- isValidContext: both registries vary -----------------------------------------------------------


def validity_context(rv: int, rg: int):
    variables = spec_registry(registry_entries(rv, B.valid_entries, B.names, B.valid_values), 0)
    gradients = spec_registry(registry_entries(rg, B.valid_entries, B.names, B.valid_values), 0)
    return spec_context(variables, gradients, NEXT_ID, 0)


@concretely
def spec_valid(rv: int, rg: int):
    return typed(S.isValidContext(validity_context(rv, rg)))


@concretely
def impl_valid(rv: int, rg: int) -> Observed:
    ctx = from_spec(validity_context(rv, rg))
    return Observed((rv, rg), typed(ctx.is_valid_context()), violations(ctx))


@icontract.require(lambda rv, rg: in_domain(VALID, rv, rg), "the bounded domain (domains.py)")
@icontract.ensure(lambda result: refines(result, spec_valid), "is_valid_context(from_spec ctx) is isValidContext ctx (a bool); I1/I2 hold")
def is_valid_context(rv: int, rg: int) -> Observed:
    return impl_valid(*decode(VALID, rv, rg))


# --- next_id: every operation sequence of 0..steps steps -------------------------------------------

_SPEC_STEP = {
    "register_variable": S.registerVariable, "register_gradient": S.registerGradient,
    "set_variable": S.setVariable, "set_gradient": S.setGradient,
}


def start_context(c: int):
    """0: emptyContext over Float; 1: OTHER_REGISTRY as both lists, next_id NEXT_ID."""
    if c == 0:
        return S.emptyContext(FAMILIES[0])
    other = spec_registry(OTHER_REGISTRY, 0)
    return spec_context(other, other, NEXT_ID, 0)


@concretely
def spec_trace(c: int, t: int):
    ctx = start_context(c)
    trace = []
    for letter in sequence(t, B.steps, len(STEP_LETTERS)):
        op, k, u = STEP_LETTERS[letter]
        if op == "clear_gradients":
            ctx = S.clearGradients(ctx)
        elif op == "error":
            trace.append(SV.error(ctx, NAMES[k]))
        else:
            ctx = _SPEC_STEP[op](ctx, NAMES[k], value(0, u))
        trace.append((after_spec(ctx), typed(ctx.next_id)))
    return tuple(trace)


@concretely
def impl_trace(c: int, t: int) -> Observed:
    from torchlean_runtime.impl.variable import Variable

    ctx = from_spec(start_context(c))
    seen = [ctx]
    trace = []
    for letter in sequence(t, B.steps, len(STEP_LETTERS)):
        op, k, u = STEP_LETTERS[letter]
        if op == "clear_gradients":
            ctx = ctx.clear_gradients()
        elif op == "error":
            trace.append(to_spec(Variable.error(ctx, NAMES[k])))
        else:
            ctx = getattr(ctx, op)(NAMES[k], from_spec(value(0, u)))
        seen.append(ctx)
        trace.append((after_impl(ctx), typed(ctx.next_id)))
    return Observed((c, t), tuple(trace), violations(*seen))


@icontract.require(lambda c, t: in_domain(TRACE, c, t), "the bounded domain (domains.py)")
@icontract.ensure(lambda result: refines(result, spec_trace),
                  "after every step of every operation sequence the impl context abstracts to the spec's and impl next_id == spec next_id (registerVariable +1, everything else unchanged); error's id is next_id; I1/I2 hold")
def next_id(c: int, t: int) -> Observed:
    return impl_trace(*decode(TRACE, c, t))


# --- diffbehavior pairs: same int signature, None outside the domain -------------------------------


def lookup_spec_side(w: int, r: int, q: int, s: int):
    if not in_domain(LOOKUP, w, r, q, s):
        return None
    return (spec_lookup(*decode(LOOKUP, w, r, q, s)), ())


def lookup_impl_side(w: int, r: int, q: int, s: int):
    if not in_domain(LOOKUP, w, r, q, s):
        return None
    seen = impl_lookup(*decode(LOOKUP, w, r, q, s))
    return (seen.impl, seen.violations)


def has_variable_spec_side(w: int, r: int, q: int):
    if not in_domain(HAS, w, r, q):
        return None
    return (spec_has(*decode(HAS, w, r, q)), ())


def has_variable_impl_side(w: int, r: int, q: int):
    if not in_domain(HAS, w, r, q):
        return None
    seen = impl_has(*decode(HAS, w, r, q))
    return (seen.impl, seen.violations)


def is_valid_spec_side(rv: int, rg: int):
    if not in_domain(VALID, rv, rg):
        return None
    return (spec_valid(*decode(VALID, rv, rg)), ())


def is_valid_impl_side(rv: int, rg: int):
    if not in_domain(VALID, rv, rg):
        return None
    seen = impl_valid(*decode(VALID, rv, rg))
    return (seen.impl, seen.violations)
