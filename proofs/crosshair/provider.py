"""The verify provider of the CrossHair obligations.

One :class:`~torchlean_runtime.report.Obligation` per CrossHair target, each run in its own
CrossHair process (``parallel=True``: verify runs them one per core):

* ``crosshair check`` obligations (label ``exhaustive``): pass ONLY when CrossHair reports every
  condition "Confirmed over all paths".  "Not confirmed" (the budget ran out), an ``error:`` line
  (a counterexample — replayed concretely before the report says whether it is real), a CrossHair
  crash or a timeout is a FAILURE.
* ``crosshair diffbehavior`` obligations between a spec-side and an impl-side wrapper with the
  same int signature (label ``exhaustive``): pass only when no difference is found AND CrossHair
  says all paths were exhausted; a difference, or a search that stopped short, is a failure.
* teeth (label ``checked``): a deliberately false claim must be refuted with a counterexample that
  replays concretely, and a claim false on exactly one interior input of its domain must be
  refuted too — evidence that the enumeration really reaches the inputs it claims to cover.

The bound profile (``quick`` under ``verify --quick``, else ``thorough``) goes to the CrossHair
process in ``TORCHLEAN_RT_CROSSHAIR_BOUND``; the claims state the exact domain of each profile.
``PYTHONHASHSEED=0`` makes the impl's hash-array-mapped trie lay the fixed names out the same
way in every run.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from torchlean_runtime.report import Obligation, Outcome

from . import runner
from .domains import describe, domain, size
from .encoding import BOUND_ENV_VAR, BOUNDS

__all__ = ["obligations", "run_check", "run_diff", "run_refutation", "TARGETS", "DIFFS"]

_PACKAGE = "torchlean_runtime.proofs.crosshair"

#: CrossHair's budget per condition (CPU seconds, far above the measured need) and the wall-clock
#: limit of its process, per profile.
_BUDGET = {"quick": (120.0, 600.0), "thorough": (1800.0, 5400.0)}


@dataclass(frozen=True)
class Target:
    """A ``crosshair check`` target: obligation name, module, function, what it establishes."""

    name: str
    module: str
    function: str
    claim: str

    @property
    def qualname(self) -> str:
        return f"{_PACKAGE}.{self.module}.{self.function}"


#: The check obligations, the largest domains first (verify hands them to the workers in order).
TARGETS: tuple[Target, ...] = (
    Target("crosshair: register refines registerVariable/registerGradient", "obligations_registry", "register",
           "to_spec(register_variable/register_gradient(from_spec ctx, name, from_spec v)) == registerVariable/"
           "registerGradient ctx name v (prepend; next_id +1 for variables only), every lookup (each query name at each "
           "query shape, variables and gradients) on the result agrees with the spec's, and the impl index invariants "
           "I1/I2 hold with each entry's recorded shape its array's"),
    Target("crosshair: set refines setVariable/setGradient", "obligations_registry", "set_all",
           "to_spec(set_variable/set_gradient(from_spec ctx, name, from_spec v)) == setVariable/setGradient ctx name v "
           "(every entry of that name replaced, order kept, absent name: no change), every lookup on the result agrees, "
           "and I1/I2 hold with each entry's recorded shape its array's"),
    Target("crosshair: lookup refines getVariable/getGradient", "obligations_registry", "lookup",
           "to_spec(get_variable/get_gradient(from_spec ctx, name, shape)) == getVariable/getGradient ctx name "
           "(ofList shape) (the newest entry of that name only, its tensor iff the shape matches), and I1/I2 hold"),
    Target("crosshair: isValidContext", "obligations_registry", "is_valid_context",
           "is_valid_context(from_spec ctx) is isValidContext ctx (a bool: every gradient name is a variable name), "
           "and I1/I2 hold"),
    Target("crosshair: hasVariable", "obligations_registry", "has_variable",
           "has_variable(from_spec ctx, name) is hasVariable ctx name (a bool; variables only, shape ignored), and I1/I2 hold"),
    Target("crosshair: next_id over operation sequences", "obligations_registry", "next_id",
           "after every step of every operation sequence the impl context abstracts to the spec context and impl "
           "next_id == spec next_id (registerVariable +1, every other operation unchanged); Variable.error's id is "
           "next_id; I1/I2 hold after every step"),
    Target("crosshair: cast_shape and ShapeEq evidence", "obligations_variable", "cast_shape",
           "shape_eq and ShapeEq.check give evidence exactly for equal shapes (CastEvidenceError, no evidence, for "
           "unequal ones); refl, symm and trans give the evidence the laws say and trans refuses a mismatched "
           "middle; to_spec(cast_shape(from_spec v, h)) == castShape v h, CastEvidenceError for evidence about "
           "another shape"),
    Target("crosshair: Variable context bridges", "obligations_variable", "in_context",
           "register_in_context, get_from_context and register_gradient_in_context of from_spec v and from_spec ctx "
           "abstract to registerInContext (registerVariable: next_id +1), getFromContext and "
           "registerGradientInContext (no gradient: ctx unchanged) of ctx and v; every lookup on a resulting context "
           "agrees; I1/I2 hold"),
    Target("crosshair: Variable record operations", "obligations_variable", "records",
           "clone_variable (new id, gradient cleared), detach_variable (requires_grad false, gradient cleared), "
           "clear_gradient, check_requires_grad, has_shape at every shape, variable_eq (ids and names only), "
           "get_value, get_gradient, set_gradient, set_value and to_lean_string of from_spec v abstract to the spec's "
           "cloneVariable … variableToString of v"),
    Target("crosshair: clearGradients", "obligations_registry", "clear_gradients",
           "to_spec(clear_gradients(from_spec ctx)) == clearGradients ctx (gradients empty, variables, next_id and "
           "α kept), and I1/I2 hold"),
    Target("crosshair: names and counts", "obligations_registry", "names_counts",
           "variable_names, gradient_names, context_size, gradient_count of from_spec ctx equal variableNames, "
           "gradientNames, contextSize, gradientCount of ctx (list order, duplicates kept; ints), to_lean_string is "
           "contextToString character for character, and I1/I2 hold"),
    Target("crosshair: Variable.error", "obligations_variable", "error",
           "Variable.error(from_spec ctx, msg, dtype) abstracts to error ctx msg α (id next_id, name msg, scalar 0, "
           "no gradient, requires_grad false) or raises the same typed error (α unfixed and no dtype; dtype not "
           "the context's); the context is unchanged"),
    Target("crosshair: first tensor fixes α", "obligations_registry", "untyped_writes",
           "on emptyContext with α not fixed yet, register/set of a variable/gradient refines the spec, fixing α to "
           "the tensor's scalar type (also when set finds no entry), and I1/I2 hold"),
)


#: The bound profile of the diffbehavior obligations (in quick and thorough runs alike).
DIFF_PROFILE = "quick"


@dataclass(frozen=True)
class Diff:
    """A ``crosshair diffbehavior`` pair: spec-side and impl-side wrappers over one domain."""

    name: str
    spec_side: str
    impl_side: str
    domain: str  # the check target whose domain the wrappers share
    claim: str


DIFFS: tuple[Diff, ...] = (
    Diff("crosshair diffbehavior: lookup spec vs impl", "lookup_spec_side", "lookup_impl_side", "lookup",
         "getVariable/getGradient on the spec context and get_variable/get_gradient on from_spec of it behave "
         "identically (results abstracted by to_spec; no impl index violation)"),
    Diff("crosshair diffbehavior: hasVariable spec vs impl", "has_variable_spec_side", "has_variable_impl_side",
         "has_variable", "hasVariable and has_variable behave identically"),
    Diff("crosshair diffbehavior: isValidContext spec vs impl", "is_valid_spec_side", "is_valid_impl_side",
         "is_valid_context", "isValidContext and is_valid_context behave identically"),
)


def _env(profile: str) -> dict[str, str]:
    return {BOUND_ENV_VAR: profile, "PYTHONHASHSEED": "0"}


def _counterexamples(target: str, run: runner.CheckRun, profile: str) -> list[str]:
    """Replay (concretely, in a fresh process) the calls of up to three error lines."""
    notes = []
    for c in [c for c in run.conditions if c.counterexample][:3]:
        call = c.call
        if call is None:
            notes.append(f"line {c.line}: no call to replay ({c.message[:200]})")
            continue
        replayed = runner.replay(target, call, env=_env(profile))
        verdict = ("REAL counterexample (replayed concretely)" if replayed.reproduced else
                   "outside the stated bounds" if not replayed.in_domain else
                   "did NOT reproduce concretely (a CrossHair artefact; still a failure)")
        notes.append(f"{call}: {verdict}: {replayed.detail[:400]}")
    return notes


def run_check(target: str, profile: str, inputs: int) -> Outcome:
    """One ``exhaustive`` check obligation: every condition must be "Confirmed over all paths"."""
    per_condition, wall = _BUDGET[profile]
    start = time.perf_counter()
    run = runner.check(target, per_condition, wall, env=_env(profile))
    seconds = time.perf_counter() - start
    if run.all_confirmed:
        return Outcome(True, f"confirmed over all paths: {inputs} inputs ({profile} bounds), {seconds:.1f}s")
    detail = [run.summary()]
    if any(c.counterexample for c in run.conditions):
        detail.extend(_counterexamples(target, run, profile))
    return Outcome(False, f"{profile} bounds, {inputs} inputs: " + " || ".join(detail))


def run_diff(spec_side: str, impl_side: str, profile: str, inputs: int) -> Outcome:
    """One ``exhaustive`` diffbehavior obligation: no difference AND all paths exhausted."""
    per_condition, wall = _BUDGET[profile]
    start = time.perf_counter()
    # diffbehavior runs both argument orders, each with half of the budget
    run = runner.diffbehavior(spec_side, impl_side, 2 * per_condition, 2 * wall, env=_env(profile))
    seconds = time.perf_counter() - start
    if run.no_difference and run.exhausted:
        return Outcome(True, f"no difference, all paths exhausted ({run.iterations} iterations over {inputs} "
                             f"inputs, {profile} bounds), {seconds:.1f}s")
    if run.no_difference:
        return Outcome(False, f"no difference in {run.iterations} iterations but the paths were NOT exhausted "
                              f"(weaker than the intended 'exhaustive'; {profile} bounds)")
    notes = []
    for kwargs in run.differing_inputs[:3]:
        replayed = runner.replay_diff(spec_side, impl_side, kwargs, env=_env(profile))
        verdict = "REAL difference (replayed concretely)" if replayed.reproduced else "did NOT reproduce concretely"
        notes.append(f"{verdict}: {replayed.detail[:400]}")
    text = " || ".join(notes) if notes else (run.difference or "CrossHair reported a difference")[:1500]
    return Outcome(False, f"{profile} bounds: {text}")


def run_refutation(target: str, profile: str, what: str) -> Outcome:
    """Teeth: CrossHair must refute a false claim with a counterexample that replays concretely."""
    per_condition, wall = _BUDGET[profile]
    run = runner.check(target, per_condition, wall, env=_env(profile))
    found = [c for c in run.conditions if c.counterexample]
    if not found:
        return Outcome(False, f"CrossHair did not refute {what}: {run.summary()}")
    call = found[0].call
    if call is None:
        return Outcome(False, f"the refutation names no replayable call: {found[0].message[:300]}")
    replayed = runner.replay(target, call, env=_env(profile))
    if not replayed.reproduced:
        return Outcome(False, f"CrossHair's counterexample {call} to {what} did not replay: {replayed.detail[:300]}")
    return Outcome(True, f"refuted {what}: {call} replays as a real counterexample ({profile} bounds)")


def obligations(quick: bool) -> list[Obligation]:
    profile = "quick" if quick else "thorough"
    bounds = BOUNDS[profile]
    out: list[Obligation] = []
    # diffbehavior first: its lookup pair is the longest single job, so it must not start last
    for d in DIFFS:
        # diffbehavior explores each pair twice (both argument orders) at about twice a check's
        # cost per path, so it runs on the quick bounds in both profiles.
        params = domain(d.domain, BOUNDS[DIFF_PROFILE])
        out.append(Obligation(
            name=d.name, method="crosshair-diffbehavior", label="exhaustive",
            claim=f"{d.claim} — crosshair diffbehavior over the bounded domain ({DIFF_PROFILE} profile, in every "
                  f"run): {describe(params)} (outside it both sides return None); passes only with no difference "
                  f"AND all paths exhausted",
            run=run_diff, args=(f"{_PACKAGE}.obligations_registry.{d.spec_side}", f"{_PACKAGE}.obligations_registry.{d.impl_side}",
                                DIFF_PROFILE, size(params)), parallel=True,
        ))
    for t in TARGETS:
        params = domain(t.function, bounds)
        out.append(Obligation(
            name=t.name, method="crosshair", label="exhaustive",
            claim=f"{t.claim} — for EVERY input of the bounded domain ({profile} profile): {describe(params)}; "
                  f"CrossHair must report the postcondition 'Confirmed over all paths' (anything else fails)",
            run=run_check, args=(t.qualname, profile, size(params)), parallel=True,
        ))
    lookup = domain("lookup", bounds)
    out.append(Obligation(
        name="crosshair teeth: a false lookup claim is refuted", method="crosshair", label="checked",
        claim="CrossHair refutes the deliberately false claim that lookup returns the OLDEST entry of a name "
              f"(over the lookup domain, {profile} profile), and its counterexample replays concretely",
        run=run_refutation, args=(f"{_PACKAGE}.canaries.lookup_oldest", profile, "'lookup returns the oldest entry'"),
        parallel=True,
    ))
    out.append(Obligation(
        name="crosshair teeth: a needle inside the domain is found", method="crosshair", label="checked",
        claim=f"CrossHair refutes a claim false ONLY at one fixed interior input of the lookup domain ({size(lookup)} "
              f"inputs, {profile} profile), and the counterexample replays: the enumeration reaches it",
        run=run_refutation, args=(f"{_PACKAGE}.canaries.needle", profile, "'the needle input is never reached'"),
        parallel=True,
    ))
    return out
