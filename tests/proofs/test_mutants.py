"""The mutation teeth (proofs/mutants): the catalogue, apply/undo, the pytest plugin and runner
(kill vs error), and the kill matrix's verdict logic."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from torchlean_runtime.impl import RuntimeContext, Variable, to_spec
from torchlean_runtime.impl import arrays as impl_arrays
from torchlean_runtime.impl import context as impl_context
from torchlean_runtime.impl import registry as impl_registry
from torchlean_runtime.impl import variable as impl_variable
from torchlean_runtime.proofs.mutants import catalogue as cat
from torchlean_runtime.proofs.mutants import kill_matrix as km

# The bugs the issue names; each must be in the catalogue.
REQUIRED = {
    "lookup-past-first-match", "last-write-wins", "set-updates-newest-only", "set-inserts-absent-name",
    "register-gradient-bumps-next-id", "clear-gradients-clears-variables", "context-size-counts-unique",
    "names-deduplicated", "is-valid-compares-shapes", "norm-via-np-sum", "norm-via-linalg-norm",
    "accumulate-wrong-order", "clone-keeps-gradient", "detach-keeps-requires-grad", "error-bumps-next-id",
    "stored-arrays-alias-caller", "float-printing-repr",
}


def _impl_snapshot() -> dict:
    """Every attribute of the impl's classes and modules that a mutant may replace, by identity."""
    owners = {
        "Registry": impl_registry.Registry, "RuntimeContext": RuntimeContext, "Variable": Variable,
        "context": impl_context, "variable": impl_variable, "arrays": impl_arrays, "registry": impl_registry,
    }
    snap = {f"{label}.{k}": id(v) for label, owner in owners.items() for k, v in vars(owner).items()}
    snap.update({f"_ELEMENT_TO_STRING[{k}]": id(v) for k, v in impl_arrays._ELEMENT_TO_STRING.items()})
    return snap


def test_the_catalogue_has_at_least_45_distinct_mutants_including_every_required_bug() -> None:
    names = [m.name for m in cat.MUTANTS]
    assert len(names) >= 45 and len(set(names)) == len(names)
    assert REQUIRED <= set(names), REQUIRED - set(names)
    for m in cat.MUTANTS:
        assert m.bug and m.layer in ("registry", "context", "variable", "arrays", "cache", "shortcut", "spec"), m
    # by kind: optimisations (caches, shortcuts/early returns, in-place work) and the oracle itself
    assert sum(m.layer == "cache" for m in cat.MUTANTS) >= 2 and sum(m.layer == "shortcut" for m in cat.MUTANTS) >= 3
    assert "accumulate-in-place" in names and sum(m.is_spec for m in cat.MUTANTS) >= 5


# Every public operation of both modules (impl names) has at least one mutant that touches it.
OPERATIONS = (
    "register_variable", "get_variable", "set_variable", "register_gradient", "get_gradient", "set_gradient",
    "clear_gradients", "has_variable", "variable_names", "gradient_names", "context_size", "gradient_count",
    "is_valid_context", "to_lean_string", "create", "set_value", "accumulate_gradient", "variable_eq", "has_shape",
    "variable_norm", "clone_variable", "detach_variable", "register_in_context", "get_from_context",
    "register_gradient_in_context", "Variable.error", "cast_shape", "check_requires_grad",
)


def test_every_operation_of_both_modules_has_a_mutant() -> None:
    touched = {op for m in cat.MUTANTS for op in m.touches}
    assert set(OPERATIONS) <= touched, set(OPERATIONS) - touched


@pytest.mark.parametrize("name", [m.name for m in cat.MUTANTS])
def test_every_mutant_target_exists(name: str) -> None:
    """The impl is refactored in parallel: each target the mutant replaces must still exist
    (and be replaced by something else), or the catalogue silently mutates nothing."""
    for owner, key, new in cat.BY_NAME[name].build():
        original = cat._raw(owner, key)  # KeyError / AttributeError when the target is gone
        assert new is not original and original is not None, (name, key)


@pytest.mark.parametrize("name", [m.name for m in cat.MUTANTS])
def test_each_mutant_applies_and_undoes_cleanly(name: str) -> None:
    before = _impl_snapshot()
    originals = cat.replacements(name)
    undo = cat.apply(name)
    try:
        assert cat.active() == [name]
        for owner, key, original in originals:
            assert cat._raw(owner, key) is not original, (name, key)
    finally:
        undo()
    assert cat.active() == []
    for owner, key, original in originals:
        assert cat._raw(owner, key) is original, (name, key)
    assert _impl_snapshot() == before


def test_mutated_methods_keep_the_original_contracts() -> None:
    """A mutant changes semantics only: bad input still gets the same typed error."""
    import icontract

    undo = cat.apply("register-gradient-bumps-next-id")
    try:
        fn = RuntimeContext.register_gradient
        assert icontract._checkers.find_checker(fn) is not None and fn.__preconditions__
        assert fn.__name__ == "register_gradient"
        with pytest.raises(Exception) as err:
            RuntimeContext.empty().register_gradient(3, np.ones(2))
        assert getattr(err.value, "code", None) == "TLR_NAME_TYPE"
        assert RuntimeContext.empty().register_gradient("g", np.ones(2)).next_id == 1  # the bug itself
    finally:
        undo()
    assert RuntimeContext.empty().register_gradient("g", np.ones(2)).next_id == 0  # Lean registerGradient


def test_each_mutant_changes_observable_behaviour_on_a_witness() -> None:
    """Not equivalent mutants: for a few, a hand-made witness (expected values from the Lean
    definitions) differs under the mutant and holds after undo."""
    a, b = np.array([1.0, 2.0]), np.array([3.0])

    def witnesses() -> dict[str, bool]:
        ctx = RuntimeContext.empty().register_variable("w", a).register_variable("w", b)
        v = Variable.create(0, "w", a).set_gradient(a)
        return {
            # getVariable: only the newest "w" (shape (1,)) is consulted
            "lookup-past-first-match": ctx.get_variable("w", (2,)) is None,
            # contextSize / variableNames: duplicates counted
            "context-size-counts-unique": ctx.context_size() == 2,
            "names-deduplicated": ctx.variable_names() == ["w", "w"],
            # cloneVariable: gradient cleared
            "clone-keeps-gradient": v.clone_variable(5).gradient is None,
            # variableToString via Float.toString ("%f")
            "float-printing-repr": Variable.create(1, "x", np.array(1.0)).to_lean_string()
            == "Variable(x, id=1, value=1.000000, grad=none, requires_grad=true)",
        }

    assert all(witnesses().values())
    for name in witnesses():
        undo = cat.apply(name)
        try:
            assert not witnesses()[name], name
        finally:
            undo()
    assert all(witnesses().values())


def test_apply_refuses_unknown_names_and_env_application_is_idempotent(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(KeyError):
        cat.apply("no-such-mutant")
    monkeypatch.setenv(cat.ENV_VAR, "names-oldest-first")
    try:
        assert cat.apply_from_env() == "names-oldest-first"
        assert cat.apply_from_env() == "names-oldest-first"
        assert cat.active() == ["names-oldest-first"]
    finally:
        cat._ACTIVE["names-oldest-first"]()
    assert cat.active() == []
    monkeypatch.setenv(cat.ENV_VAR, "")
    assert cat.apply_from_env() is None


def test_sitecustomize_applies_the_mutant_in_child_processes(tmp_path) -> None:
    cat.write_sitecustomize(str(tmp_path))
    env = dict(os.environ, PYTHONPATH=str(tmp_path), **{cat.ENV_VAR: "names-deduplicated"})
    code = "from torchlean_runtime.proofs.mutants.catalogue import active; print(active())"
    out = subprocess.run([sys.executable, "-P", "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and out.stdout.strip() == "['names-deduplicated']", out.stderr
    env[cat.ENV_VAR] = "no-such-mutant"  # never runs unmutated silently
    out = subprocess.run([sys.executable, "-P", "-c", "print('ran')"], env=env, capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 70 and "ran" not in out.stdout


# Mutant → one test of tests/impl that must kill it (and pass without it).
TARGETED = [
    ("accumulate-wrong-order", "tests/impl/test_variable.py::test_accumulate_gradient_on_all_special_pairs"),
    ("stored-arrays-alias-caller",
     "tests/impl/test_value_semantics.py::test_caller_mutation_after_register_does_not_reach_the_registry"),
    ("context-size-counts-unique", "tests/impl/test_context.py::test_counts_and_names_include_duplicates"),
    ("norm-via-np-sum", "tests/impl/test_variable.py::test_variable_norm_is_the_sequential_fold_not_pairwise"),
]


@pytest.mark.parametrize("mutant, target", TARGETED, ids=[m for m, _ in TARGETED])
def test_pytest_with_the_plugin_kills_a_mutant_on_a_targeted_test(mutant: str, target: str) -> None:
    killed = km.run_pytest(mutant, 120, targets=[target])
    assert killed.status == "failed", killed
    clean = km.run_pytest(None, 120, targets=[target])
    assert clean.status == "passed", clean


def test_an_unknown_mutant_is_an_error_not_a_kill() -> None:
    cell = km.run_pytest("no-such-mutant", 120, targets=[TARGETED[0][1]])
    assert cell.status == "error", cell
    cell = km.run_provider("torchlean_runtime.no_such_module:obligations", (), None, True, 120, None)
    assert cell.status == "error" and "failed to load" in cell.detail


def test_run_matrix_on_one_method_kills_a_registry_mutant_and_keeps_the_sanity_row() -> None:
    methods = [(m, f"{m.modules[0]}:obligations") for m in km.METHODS if m.key == "z3-index"]
    mutants = [cat.BY_NAME["names-deduplicated"], cat.BY_NAME["clone-keeps-gradient"]]
    progress = io.StringIO()
    matrix = km.run_matrix(True, mutants, methods=methods, progress=progress)
    assert matrix.label(km.SANITY, "z3-index") == "pass"
    assert matrix.label("names-deduplicated", "z3-index") == "killed"
    # the cross-check drives impl/registry.py only: a Variable mutant is out of its reach
    assert matrix.label("clone-keeps-gradient", "z3-index") == "-"
    assert matrix.survivors() == ["clone-keeps-gradient"] and not matrix.ok
    assert "[2/2]" in progress.getvalue()
    data = json.loads(matrix.to_json())
    assert data["rows"][1]["caught_by"] == ["z3-index"]


def _matrix(cells: dict[str, dict[str, str]]) -> km.Matrix:
    methods = list(next(iter(cells.values())))
    m = km.Matrix(methods, list(cells))
    m.cells = {r: {k: km.Cell(s, f"{r}/{k}") for k, s in row.items()} for r, row in cells.items()}
    return m


def test_verdicts_of_the_matrix() -> None:
    m = _matrix({km.SANITY: {"a": "passed", "b": "passed"}, "m1": {"a": "failed", "b": "passed"},
                 "m2": {"a": "passed", "b": "skipped"}})
    assert [m.label("m1", k) for k in "ab"] == ["killed", "survived"]
    assert [m.label("m2", k) for k in "ab"] == ["survived", "-"]
    assert m.survivors() == ["m2"] and not m.ok
    assert "survivors: m2" in m.summary() and "m2: SURVIVED" in m.evidence()
    ok = _matrix({km.SANITY: {"a": "passed"}, "m1": {"a": "failed"}})
    assert ok.ok and ok.summary().startswith("PASS: 1/1")
    # an error is never a kill
    err = _matrix({km.SANITY: {"a": "passed", "b": "passed"}, "m1": {"a": "error", "b": "failed"}})
    assert err.label("m1", "a") == "error" and err.killers("m1") == ["b"] and not err.ok
    # a method failing without a mutant: its "kills" mean nothing
    broken = _matrix({km.SANITY: {"a": "failed", "b": "passed"}, "m1": {"a": "failed", "b": "passed"}})
    assert broken.label(km.SANITY, "a") == "FAIL" and broken.label("m1", "a") == "error"
    assert broken.broken_methods() == ["a"] and broken.survivors() == ["m1"] and not broken.ok
    table = broken.table().splitlines()
    assert table[0].split() == ["mutant", "a", "b", "caught", "by"] and table[2].split()[:3] == ["(none)", "FAIL", "pass"]


def test_the_corpus_column_must_kill_every_mutant_a_trace_can_express() -> None:
    """The corpus is all an outside implementation gets (issue: verify fails below 100%): a row
    another method kills still fails the matrix if the corpus survived it — unless the catalogue
    says no trace can express the bug (Mutant.beyond_traces)."""
    expressible, beyond = "set-absent-early-return", "cast-shape-unchecked"
    assert not cat.BY_NAME[expressible].beyond_traces and cat.BY_NAME[beyond].beyond_traces
    m = _matrix({km.SANITY: {"corpus": "passed", "agreement": "passed"},
                 expressible: {"corpus": "passed", "agreement": "failed"},
                 beyond: {"corpus": "passed", "agreement": "failed"}})
    assert m.survivors() == [] and m.corpus_misses() == [expressible] and not m.ok
    assert "the corpus alone misses" in m.summary() and json.loads(m.to_json())["corpus_misses"] == [expressible]
    m.cells[expressible]["corpus"] = km.Cell("failed")
    assert m.corpus_misses() == [] and m.ok


def test_no_mutant_leaks_out_of_this_module() -> None:
    assert cat.active() == []
    ctx = RuntimeContext.empty().register_variable("w", np.ones(2)).register_gradient("w", np.ones(2))
    # Lean: registerVariable bumps next_id, registerGradient does not; clearGradients keeps the variables
    assert (ctx.next_id, ctx.context_size(), ctx.gradient_count()) == (1, 1, 1)
    assert ctx.clear_gradients().variable_names() == ["w"]


_FAKE_CROSSHAIR_PROVIDER = '''
import icontract
import numpy as np

from torchlean_runtime.impl.registry import EMPTY
from torchlean_runtime.proofs.crosshair.runner import check
from torchlean_runtime.report import Obligation, Outcome

ARR = np.zeros(())


@icontract.require(lambda k: 0 <= k <= 2)
@icontract.ensure(lambda k, result: result == k + 1)
def count_names(k: int) -> int:
    r = EMPTY
    for _ in range(k + 1):
        r = r.register("w", ARR)
    return len(r.names())  # Lean variableNames keeps duplicates


def run() -> Outcome:
    ch = check(__name__ + ".count_names", 20, 120)
    return Outcome(ch.all_confirmed, ch.summary())


def obligations(quick):
    return [Obligation("names keep duplicates (CrossHair)", "crosshair", "exhaustive", "k + 1 names", run)]
'''


def test_a_method_that_starts_crosshair_sees_the_mutant_in_crosshair_s_own_process(tmp_path, monkeypatch) -> None:
    """CrossHair runs in a child process that the provider starts: the mutant reaches it only
    through the sitecustomize (without it, the child checks the original impl and confirms)."""
    (tmp_path / "fake_crosshair_provider.py").write_text(_FAKE_CROSSHAIR_PROVIDER)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(p for p in (str(tmp_path), os.environ.get("PYTHONPATH")) if p))
    ref = "fake_crosshair_provider:obligations"
    assert km.run_provider(ref, (), None, True, 300, None).status == "passed"
    site = tmp_path / "site"
    site.mkdir()
    cat.write_sitecustomize(str(site))
    killed = km.run_provider(ref, (), "names-deduplicated", True, 300, str(site))
    assert killed.status == "failed" and "error" in killed.detail, killed
    blind = km.run_provider(ref, (), "names-deduplicated", True, 300, None)
    assert blind.status == "passed", blind  # the mutant applied in the runner only: CrossHair's child is unmutated


def test_mentions_matches_whole_operation_names() -> None:
    assert km.mentions("to_spec(get_gradient(x)) == getGradient", ["get_gradient"])
    assert not km.mentions("register_gradient_in_context and get_gradients", ["get_gradient", "register_gradient"])
    assert km.mentions("Variable.error's id is next_id", ["Variable.error"])
    assert not km.mentions("raises the same typed error", ["Variable.error"])


_FAKE_PROVIDER = '''
from torchlean_runtime.report import Obligation, Outcome


def ok():
    return Outcome(True, "")


def obligations(quick):
    return [Obligation(name, "crosshair", "exhaustive", claim, ok) for name, claim in [
        ("counts", "context_size and gradient_count equal contextSize and gradientCount"),
        ("strings", "to_lean_string is contextToString"),
        ("sizes again", "context_size after register_variable"),
    ]]
'''


def test_the_plan_runs_each_mutant_against_the_obligations_about_its_operations(tmp_path, monkeypatch) -> None:
    (tmp_path / "fake_relevance_provider.py").write_text(_FAKE_PROVIDER)
    monkeypatch.syspath_prepend(str(tmp_path))
    method = km.Method("fake", "fake", modules=("fake_relevance_provider",),
                       relevant=lambda m, ob, quick: km.mentions(ob.claim, m.touches) and (quick or ob.name != "counts"))
    mutants = [cat.BY_NAME[n] for n in ("context-size-counts-unique", "float-printing-repr", "clone-keeps-gradient")]
    matrix = km.Matrix(["fake"], [km.SANITY, *(m.name for m in mutants)])
    matrix.cells[km.SANITY] = {}
    jobs = km._plan(matrix, True, mutants, [(method, "fake_relevance_provider:obligations")])
    planned = {(None if m is None else m.name): select for m, _, _, select in jobs}
    assert planned == {
        "context-size-counts-unique": ("counts", "sizes again"),
        "float-printing-repr": ("strings",),
        None: ("counts", "strings", "sizes again"),  # the sanity row: every obligation some row runs
    }
    assert matrix.label("clone-keeps-gradient", "fake") == "-"  # nothing about clone_variable
    # relevance may depend on the mode
    full = km._plan(matrix, False, mutants, [(method, "fake_relevance_provider:obligations")])
    assert [select for _, _, _, select in full] == [("strings", "sizes again"), ("sizes again",), ("strings",)]


def test_spec_lists_survive_copy_and_pickle() -> None:
    """CrossHair realizes a counterexample's return value by reduction (copy's protocol); a spec
    List that refused it crashed CrossHair exactly when a mutant was caught, hiding the
    counterexample behind a traceback.  Long lists must not recurse."""
    import copy
    import pickle

    from torchlean_runtime.spec.core.list import nil, ofIterable

    small = ofIterable([("w", 1), ("", 2)])
    for clone in (copy.copy(small), copy.deepcopy(small), pickle.loads(pickle.dumps(small))):
        assert clone == small and list(clone) == [("w", 1), ("", 2)]
    assert copy.deepcopy(nil).isNil
    assert copy.deepcopy(ofIterable(range(100_000))).length() == 100_000


@pytest.mark.parametrize("mutant", cat.MUTANTS, ids=lambda m: m.name)
def test_each_replacement_keeps_the_signature_it_replaces(mutant) -> None:
    """A replacement that cannot be called as the original is called raises TypeError, and a
    method would count that crash as a kill (two printing mutants did, after pretty() gained its
    budget).  Every replaced function keeps the parameters (count and kinds) of the original."""
    import inspect

    def shape(f):
        f = f.fget if isinstance(f, property) else (f.__func__ if isinstance(f, (staticmethod, classmethod)) else f)
        f = inspect.unwrap(f)
        try:
            kinds = [p.kind for p in inspect.signature(f).parameters.values()]
        except (TypeError, ValueError):  # a builtin or a non-function: nothing to compare
            return None
        positional = inspect.Parameter.POSITIONAL_OR_KEYWORD  # repr(x) stands in for f(x): same calls
        return [positional if k is inspect.Parameter.POSITIONAL_ONLY else k for k in kinds]

    for owner, key, new in mutant.build():
        old = cat._raw(owner, key)
        before, after = shape(old), shape(new)
        if before is None or after is None or not callable(new if not isinstance(new, property) else new.fget):
            continue
        assert after == before, f"{mutant.name}: {key} takes {after}, the original {before}"
