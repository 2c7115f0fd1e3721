"""The CrossHair obligations (proofs/crosshair): domains, decoding, teeth, and one real obligation
confirmed end to end.  CrossHair itself runs only on the quick profile and small targets here;
the full runs belong to ``torchlean-rt verify``."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys

import icontract
import pytest

from torchlean_runtime.proofs.crosshair import encoding, provider, runner
from torchlean_runtime.proofs.crosshair.domains import DOMAINS, decode, domain, in_domain, size
from torchlean_runtime.proofs.crosshair.encoding import BOUND_ENV_VAR, BOUNDS, pick, registry_count, registry_entries
from torchlean_runtime.spec.core.shape import toList
from torchlean_runtime.verify import PROVIDERS

PKG = "torchlean_runtime.proofs.crosshair"
QUICK = {BOUND_ENV_VAR: "quick", "PYTHONHASHSEED": "0"}


def _in_subprocess(code: str, env: dict[str, str]) -> str:
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                          env={**os.environ, **env})
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


# --- encoding ------------------------------------------------------------------------------------


def test_pick_returns_the_value_by_bisection() -> None:
    assert [pick(x, 0, 7) for x in range(7)] == list(range(7))
    assert pick(4, 3, 5) == 4


def test_registry_index_enumerates_every_registry_once_shorter_first() -> None:
    entries, names, values = 2, 2, 3
    regs = [registry_entries(r, entries, names, values) for r in range(registry_count(entries, names * values))]
    assert len(set(regs)) == len(regs) == 1 + 6 + 36
    assert regs[0] == () and all(len(regs[i]) <= len(regs[i + 1]) for i in range(len(regs) - 1))
    assert set(regs) == {tuple(e) for n in range(3) for e in itertools.product(itertools.product(range(names), range(values)), repeat=n)}
    with pytest.raises(ValueError):
        registry_entries(len(regs), entries, names, values)


def test_value_table_has_the_documented_shapes_and_traps() -> None:
    for family in range(len(encoding.FAMILIES)):
        for value_id, dims in enumerate(encoding.VALUE_SHAPES):
            t = encoding.value(family, value_id)
            assert toList(t.shape) == dims and t.alpha is encoding.FAMILIES[family]
    float_ = lambda v: encoding.value(0, v)  # noqa: E731
    assert float_(1) != float_(2)  # (0, 3) and (0, 4): no elements, different shapes
    assert float_(0) != float_(3) and float_(0).shape == float_(3).shape  # same shape, other bits
    assert max(len(s) for s in encoding.CAST_SHAPES) == 3


def test_the_bound_profile_comes_from_the_environment() -> None:
    out = _in_subprocess(f"from {PKG} import obligations_registry as R; print(R.B.profile)", QUICK)
    assert out.strip() == "quick"
    proc = subprocess.run([sys.executable, "-c", f"import {PKG}.obligations_registry"], capture_output=True, text=True,
                          env={**os.environ, BOUND_ENV_VAR: "huge"}, timeout=120)
    assert proc.returncode != 0 and "expected one of" in proc.stderr


# --- domains: preconditions, decoding and claims agree ------------------------------------------------


def test_preconditions_accept_exactly_the_declared_domain() -> None:
    from torchlean_runtime.proofs.crosshair import obligations_registry as R, obligations_variable as V

    for name in DOMAINS:
        fn = getattr(R, name, None) or getattr(V, name)
        params = domain(name, (R if hasattr(R, name) else V).B)
        low = [0] * len(params)
        high = [p.size - 1 for p in params]
        fn(*low)
        fn(*high)  # both corners inside: no precondition violation
        for i, p in enumerate(params):
            for bad in (-1, p.size):
                args = list(low)
                args[i] = bad
                with pytest.raises(icontract.ViolationError):
                    fn(*args)


def test_in_domain_and_decode() -> None:
    params = domain("lookup", BOUNDS["quick"])
    assert in_domain(params, 1, 0, 0, 0) and not in_domain(params, 2, 0, 0, 0) and not in_domain(params, 0, 0, 0)
    assert decode(params, 1, 5, 2, 0) == (1, 5, 2, 0)


def test_every_postcondition_holds_concretely_on_the_whole_quick_domain() -> None:
    """The plain-Python counterpart of the CrossHair runs (quick profile): every input of every
    domain, called concretely with icontract checking pre- and postconditions."""
    code = f"""
import itertools
from {PKG} import obligations_registry as R, obligations_variable as V
from {PKG}.domains import DOMAINS, domain, size
total = 0
for name in DOMAINS:
    module = R if hasattr(R, name) else V
    params = domain(name, module.B)
    n = sum(1 for args in itertools.product(*(range(p.size) for p in params)) if getattr(module, name)(*args) is not None)
    assert n == size(params), name
    total += n
print(total)
"""
    total = int(_in_subprocess(code, QUICK).strip())
    assert total == sum(size(domain(name, BOUNDS["quick"])) for name in DOMAINS)


# --- the provider ---------------------------------------------------------------------------------------


def test_provider_is_listed_and_states_exact_bounds() -> None:
    assert "torchlean_runtime.proofs.crosshair.provider:obligations" in PROVIDERS
    for quick, profile in ((True, "quick"), (False, "thorough")):
        obs = provider.obligations(quick)
        assert len({ob.name for ob in obs}) == len(obs) == len(provider.TARGETS) + len(provider.DIFFS) + 2
        assert all(ob.parallel and ob.method.startswith("crosshair") for ob in obs)
        by_name = {ob.name: ob for ob in obs}
        for target in provider.TARGETS:
            ob, params = by_name[target.name], domain(target.function, BOUNDS[profile])
            assert ob.label == "exhaustive" and f"({profile} profile)" in ob.claim
            assert f"— {size(params)} inputs" in ob.claim and ob.args == (target.qualname, profile, size(params))
        for diff in provider.DIFFS:  # diffbehavior runs on the quick bounds in both profiles
            ob = by_name[diff.name]
            assert ob.label == "exhaustive" and ob.args[2] == "quick" and "(quick profile, in every run)" in ob.claim
        assert [ob.label for ob in obs if "teeth" in ob.name] == ["checked", "checked"]
    assert size(domain("lookup", BOUNDS["quick"])) < size(domain("lookup", BOUNDS["thorough"]))


def test_one_real_obligation_is_confirmed_end_to_end() -> None:
    target = next(t for t in provider.TARGETS if t.function == "names_counts")
    outcome = provider.run_check(target.qualname, "quick", size(domain("names_counts", BOUNDS["quick"])))
    assert outcome.passed and "confirmed over all paths" in outcome.detail, outcome.detail


def test_a_budget_too_small_to_finish_is_not_confirmed() -> None:
    run = runner.check(f"{PKG}.obligations_registry.lookup", 0.3, 120, env=QUICK)
    assert not run.all_confirmed and any(c.message.startswith("Not confirmed") for c in run.conditions), run.summary()


# --- teeth ------------------------------------------------------------------------------------------


def test_the_false_oldest_entry_claim_gets_an_error_line_that_replays() -> None:
    run = runner.check(f"{PKG}.canaries.lookup_oldest", 60, 300, env=QUICK)
    errors = [c for c in run.conditions if c.counterexample]
    assert errors and not run.all_confirmed, run.summary()
    call = errors[0].call
    assert call is not None and call.function == "lookup_oldest"
    replayed = runner.replay(f"{PKG}.canaries.lookup_oldest", call, env=QUICK)
    assert replayed.reproduced and replayed.in_domain, replayed
    # and the true claim holds at the very same input
    same_input = runner.Call("lookup", call.args, call.kwargs)
    assert not runner.replay(f"{PKG}.obligations_registry.lookup", same_input, env=QUICK).reproduced


def test_the_needle_inside_the_domain_is_found() -> None:
    outcome = provider.run_refutation(f"{PKG}.canaries.needle", "quick", "the needle")
    needle = tuple(int(p.size * 0.618) for p in domain("lookup", BOUNDS["quick"]))
    assert 0 < needle[1] < domain("lookup", BOUNDS["quick"])[1].size - 1
    assert outcome.passed and f"needle({', '.join(map(str, needle))})" in outcome.detail, outcome.detail
