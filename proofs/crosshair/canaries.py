"""Deliberately FALSE CrossHair claims: the obligations' teeth.

A refinement check that can never fail proves nothing.  These targets share the lookup
obligation's domain and decoding but assert something untrue, so CrossHair must answer with an
``error:`` line (a counterexample) — never "Confirmed over all paths":

* :func:`lookup_oldest` — lookup returns the OLDEST entry of a name (Lean's ``find?`` takes the
  newest); false wherever a name occurs twice with different shapes or values.
* :func:`needle` — one fixed interior input of the domain is never reached; false at exactly that
  input, so it is refuted only if the enumeration gets there.  (Not the last input: CrossHair
  tends to try the upper side of each bisection first, so the all-maximal input comes early.)
"""

from __future__ import annotations

import icontract

from torchlean_runtime.spec.core.shape import ofList

from .common import Observed, refines
from .encoding import concretely, query_name
from .obligations_registry import B, LOOKUP, _QUERY_SHAPES, context_under_test, impl_lookup
from .domains import decode, in_domain

__all__ = ["lookup_oldest", "needle", "spec_lookup_oldest"]


@concretely
def spec_lookup_oldest(w: int, r: int, q: int, s: int):
    """The WRONG lookup: the last (oldest) entry with the name, its tensor if the shape matches."""
    ctx = context_under_test(w, r)
    registry = ctx.var_registry if w == 0 else ctx.gradients
    name, shape = query_name(B, q), ofList(_QUERY_SHAPES[s])
    found = None
    for entry in registry:
        if entry[0] == name:
            found = entry
    if found is None or found[1].s != shape:
        return None
    return found[1].t


@icontract.require(lambda w, r, q, s: in_domain(LOOKUP, w, r, q, s), "the bounded domain (domains.py)")
@icontract.ensure(lambda result: refines(result, spec_lookup_oldest), "FALSE ON PURPOSE: lookup returns the oldest entry")
def lookup_oldest(w: int, r: int, q: int, s: int) -> Observed:
    return impl_lookup(*decode(LOOKUP, w, r, q, s))


#: An interior input of the lookup domain: each parameter at about 0.618 of its range.
NEEDLE = tuple(int(p.size * 0.618) for p in LOOKUP)


@icontract.require(lambda w, r, q, s: in_domain(LOOKUP, w, r, q, s), "the bounded domain (domains.py)")
@icontract.ensure(lambda result: result.inputs != NEEDLE, "FALSE ON PURPOSE at exactly one input: NEEDLE is never reached")
def needle(w: int, r: int, q: int, s: int) -> Observed:
    return impl_lookup(*decode(LOOKUP, w, r, q, s))
