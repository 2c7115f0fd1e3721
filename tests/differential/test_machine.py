"""The stateful differential machine (proofs/differential/machine.py) and ``torchlean-rt fuzz``.

* the machine itself as a pytest TestCase (modest settings; ``torchlean-rt fuzz`` and
  ``verify`` run the long campaigns);
* it applies EVERY operation of the trace format (every Lean definition of both modules) and
  meets the must-fail traps with the stable codes Lean's type checker stands for;
* teeth: deliberate impl bugs (tests/differential/conftest.py) are found, and the saved trace
  replays as a pass on the spec and a failure, at the diverging step, on the buggy impl;
* the permanent regression vectors replay on spec and impl and each one kills its mutant.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import seed as hypothesis_seed
from hypothesis.stateful import run_state_machine_as_test

from torchlean_runtime import cli
from torchlean_runtime.proofs.differential import fuzz
from torchlean_runtime.proofs.differential.machine import DifferentialMachine, FuzzStats
from torchlean_runtime.conformance.vectors.format import OPS, Result
from torchlean_runtime.conformance.vectors.reader import read_trace
from torchlean_runtime.conformance.vectors.replay import replay_trace

MODEST = settings(
    max_examples=25,
    stateful_step_count=30,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)

# The machine as an ordinary hypothesis test: spec and impl agree on every program it draws.
TestDifferentialMachine = DifferentialMachine.TestCase
TestDifferentialMachine.settings = MODEST


def run_machine(seed: int, examples: int, stats: FuzzStats) -> None:
    factory = hypothesis_seed(seed)(lambda: DifferentialMachine(stats, seed=seed))
    run_state_machine_as_test(factory, settings=settings(MODEST, max_examples=examples, stateful_step_count=50))


@pytest.fixture(scope="module")
def coverage_stats() -> FuzzStats:
    stats = FuzzStats()
    for seed in (1, 2):  # two seeds so that Float, IEEE32Exec and Int programs all occur
        run_machine(seed, 60, stats)
    return stats


def test_every_operation_of_both_modules_is_applied(coverage_stats: FuzzStats) -> None:
    """OPS is the trace format's table of the Lean declarations (Context.lean: 15 definitions,
    Variable.lean: 19); the machine has called each of them on both sides."""
    assert len(OPS) == 34
    missing = sorted(set(OPS) - set(coverage_stats.by_op))
    assert not missing, f"never applied: {missing}"


def test_must_fail_traps_are_met_with_stable_codes(coverage_stats: FuzzStats) -> None:
    """setValue/accumulateGradient with another shape (TLR_SHAPE_MISMATCH), dtype mixing
    (TLR_SCALAR_MISMATCH), castShape without evidence (TLR_CAST_EVIDENCE), norm/accumulate over
    Int (TLR_NO_CONTEXT_INSTANCE) — refused alike by both sides, or the run would have failed."""
    for code in ("TLR_SHAPE_MISMATCH", "TLR_SCALAR_MISMATCH", "TLR_CAST_EVIDENCE", "TLR_NO_CONTEXT_INSTANCE"):
        assert coverage_stats.error_codes[code] > 0, f"no must-fail step refused with {code}"
    assert coverage_stats.must_fail == sum(coverage_stats.error_codes.values())


def _replay_command_path(out: str) -> Path:
    match = re.search(r"reproduce with: torchlean-rt replay (\S+)", out)
    assert match, out
    return Path(match.group(1))


def test_fuzz_finds_shrinks_and_saves_a_lookup_bug(mutants, monkeypatch, tmp_path, capsys) -> None:
    """`torchlean-rt fuzz` against an impl whose lookup returns the OLDEST entry: exit 1, a shrunk
    v1 trace in --out, the replay command printed; the trace passes on the spec and fails on the
    buggy impl at its last step, and passes on the real impl once the bug is gone."""
    mutants["lookup-oldest"](monkeypatch)
    status = cli.main(["fuzz", "--seconds", "120", "--seed", "1", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert status == 1, out
    path = _replay_command_path(out)
    assert path.parent == tmp_path and path.is_file()
    trace = read_trace(path)  # the hardened reader accepts it: a valid torchlean.runtime.v1 file
    assert trace.generator.seed is not None and "regression" in trace.tags
    assert len(trace.steps) <= 12, f"not shrunk: {len(trace.steps)} steps"

    assert replay_trace(trace, "spec", str(path)).passed
    buggy = replay_trace(trace, "impl", str(path))
    assert not buggy.passed and buggy.divergence is not None
    assert buggy.divergence.step == len(trace.steps) - 1
    assert buggy.divergence.op in ("Runtime.getVariable", "Runtime.getGradient", "Runtime.Variable.getFromContext")

    monkeypatch.undo()
    assert replay_trace(trace, "impl", str(path)).passed

    assert cli.main(["replay", str(path)]) == 0


def test_machine_finds_the_nan_operand_order_bug(mutants, monkeypatch) -> None:
    """accumulateGradient choosing the NEW gradient's NaN (Lean: existing + grad, the first NaN
    operand wins) — only visible with NaN payloads at the same position of both operands."""
    mutants["accumulate-nan-order"](monkeypatch)
    result = fuzz.run_campaign(120, seed=4, shrink=False)
    assert result.divergence is not None, result.summary()
    assert "Runtime.Variable.accumulateGradient" in result.divergence
    last = result.trace.steps[-1]
    assert last.op == "Runtime.Variable.accumulateGradient"
    assert replay_trace(result.trace, "spec").passed
    assert not replay_trace(result.trace, "impl").passed
    monkeypatch.undo()
    assert replay_trace(result.trace, "impl").passed


def test_a_clean_campaign_reports_cases_and_operations(capsys) -> None:
    status = cli.main(["fuzz", "--seconds", "1", "--seed", "11", "--out", "unused-because-clean"])
    out = capsys.readouterr().out
    assert status == 0, out
    m = re.search(r"fuzz: (\d+) cases, (\d+) operations \((\d+) must-fail\), 0 divergences", out)
    assert m, out
    assert int(m.group(1)) > 0 and int(m.group(2)) > int(m.group(1))
    assert not Path("unused-because-clean").exists()


def test_fuzz_refuses_bad_arguments(capsys) -> None:
    assert cli.main(["fuzz", "--seconds", "0"]) == 2
    assert cli.main(["fuzz", "--seconds", "1", "--seed", "-1"]) == 2


# --- the permanent regression vectors -------------------------------------------------------

REGRESSIONS = sorted(Path(fuzz.regressions_dir()).glob("*.json"))


def test_regression_vectors_exist_and_replay_on_spec_and_impl() -> None:
    assert REGRESSIONS, "torchlean_runtime/conformance/vectors/regressions holds no trace"
    outcome = fuzz.check_regressions()
    assert outcome.passed, outcome.detail


@pytest.mark.parametrize("path", REGRESSIONS, ids=lambda p: p.name)
def test_each_regression_vector_kills_its_mutant(path: Path, mutants, monkeypatch) -> None:
    """A regression vector tagged mutant:<name> fails on the impl with that bug (so it would have
    caught it) and passes without it."""
    trace = read_trace(path)
    names = [t.split(":", 1)[1] for t in trace.tags if t.startswith("mutant:")]
    if not names:
        pytest.skip("a real divergence kept as a regression (no mutant)")
    assert replay_trace(trace, "impl", str(path)).passed
    mutants[names[0]](monkeypatch)
    result = replay_trace(trace, "impl", str(path))
    assert not result.passed and result.divergence is not None and result.divergence.step == len(trace.steps) - 1


# --- the shared strategies -----------------------------------------------------------------


def test_special_values_cover_the_traps() -> None:
    """±0, ±inf, quiet and signalling NaNs with payloads, subnormals and values whose square
    overflows — classified with numpy, per width."""
    from torchlean_runtime.proofs.differential.strategies import SPECIAL_BITS

    for dtype, uint in ((np.float64, np.uint64), (np.float32, np.uint32)):
        values = np.array(SPECIAL_BITS[dtype], dtype=uint).view(dtype)
        bits = np.array(SPECIAL_BITS[dtype], dtype=uint)
        width = np.dtype(dtype).itemsize * 8
        quiet = uint(1) << uint(np.finfo(dtype).nmant - 1)
        nan = np.isnan(values)
        with np.errstate(all="ignore"):
            squares = values * values
        assert ((values == 0) & ~np.signbit(values)).any() and ((values == 0) & np.signbit(values)).any()
        assert (np.isposinf(values)).any() and (np.isneginf(values)).any()
        assert (nan & ((bits & quiet) != 0) & ((bits & (quiet - uint(1))) != 0)).any(), "quiet NaN with a payload"
        assert (nan & ((bits & quiet) == 0)).any(), "signalling NaN"
        assert (nan & np.signbit(values)).any(), "negative NaN"
        assert ((values != 0) & (np.abs(values) < np.finfo(dtype).tiny)).any(), "subnormal"
        assert (np.isfinite(values) & np.isinf(squares)).any(), "finite value whose square overflows"
        assert width in (32, 64)


def test_agreement_uses_the_shared_pools() -> None:
    """The seeded agreement check draws from strategies.py (one definition) and still passes."""
    from torchlean_runtime.proofs.differential import agreement, strategies

    assert agreement.random_array is strategies.random_array
    assert agreement.NAMES is strategies.NAMES and agreement.SHAPES is strategies.SHAPES
    outcome = agreement.check_random_sequences("float32", 20, 20, seed=5)
    assert outcome.passed, outcome.detail


def test_verify_provider_lists_a_sampled_stateful_obligation() -> None:
    from torchlean_runtime import verify

    assert "torchlean_runtime.proofs.differential.fuzz:obligations" in verify.PROVIDERS
    obs = fuzz.obligations(quick=True)
    stateful = [o for o in obs if o.method == "hypothesis-stateful"]
    # fixed counts, never a wall-clock budget: rounds of EXAMPLES_PER_ROUND programs
    assert len(stateful) == 1 and stateful[0].label == "sampled" and stateful[0].args[0] == fuzz.VERIFY_ROUNDS[0]
    assert fuzz.obligations(quick=False)[0].args[0] == fuzz.VERIFY_ROUNDS[1]
    outcome = fuzz.check_fuzz_budget(1, 9)
    assert outcome.passed and re.search(r"\d+ cases, \d+ operations .*0 divergences", outcome.detail), outcome.detail


def test_a_divergence_is_recorded_as_a_complete_trace(monkeypatch) -> None:
    """Every executed step is in the trace with the spec's result as its expectation."""
    stats = FuzzStats()
    machine = DifferentialMachine(stats)
    machine._begin("Float")
    c0 = machine._execute("Runtime.emptyContext", {})
    from torchlean_runtime.conformance.vectors.bits import TensorBits

    t = TensorBits((2,), "float64", (0x7FF8000000000001, 1 << 63))
    c1 = machine._execute("Runtime.registerVariable", {"ctx": c0, "name": "w", "value": t})
    machine._execute("Runtime.getVariable", {"ctx": c1, "name": "w", "s": (2,)})
    assert [s.op for s in machine.steps] == ["Runtime.emptyContext", "Runtime.registerVariable", "Runtime.getVariable"]
    assert machine.steps[-1].expect == Result("option_tensor", t)  # NaN payload and -0.0 kept
    assert stats.operations == 3 and stats.must_fail == 0


def test_a_value_changed_after_binding_is_caught_at_teardown() -> None:
    """Purity: if an impl context or variable bound earlier no longer abstracts to the spec's,
    the run fails, and the trace ends with an identity step re-observing it."""
    from torchlean_runtime.impl import RuntimeContext
    from torchlean_runtime.proofs.differential.machine import PROBE_NAME, DivergenceError
    from torchlean_runtime.conformance.vectors.bits import TensorBits

    machine = DifferentialMachine(FuzzStats())
    machine._begin("Float")
    c0 = machine._execute("Runtime.emptyContext", {})
    c1 = machine._execute("Runtime.registerVariable", {"ctx": c0, "name": "w", "value": TensorBits((), "float64", (0,))})
    # simulate an impl that changed c1 in place after it was handed out
    machine.target.env[c1] = RuntimeContext.empty(np.float64)
    with pytest.raises(DivergenceError, match=r"steps\[2\] \(Runtime.setVariable\)") as caught:
        machine.teardown()
    last = caught.value.trace.steps[-1]
    assert last.op == "Runtime.setVariable" and last.args["ctx"] == c1 and last.args["name"] == PROBE_NAME
    assert "re-observe" in last.note
    assert last.expect == machine.steps[1].expect  # the identity: c1 as the spec bound it
