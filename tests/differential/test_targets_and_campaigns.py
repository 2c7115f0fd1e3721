"""The machine drives any target through the one interface: an exec: runner (answers only, no
abstraction hook), the hostile-caller mode for in-process targets, and campaigns split with
--shard / --workers and combined with fuzz merge (deterministic for a seed)."""

from __future__ import annotations

import json
import shlex
import sys

import numpy as np
import pytest

from torchlean_runtime import cli
from torchlean_runtime.proofs.differential import fuzz
from torchlean_runtime.proofs.mutants.catalogue import apply

SERVE = f"exec:{shlex.quote(sys.executable)} -m torchlean_runtime serve --target impl"


def test_fuzz_against_an_exec_target_runs_clean():
    result = fuzz.run_campaign(None, seed=5, rounds=1, examples_per_round=15, target=SERVE)
    assert result.divergence is None and result.target_failure is None and result.harness_error is None
    assert result.operations > 100


def test_an_exec_target_that_diverges_is_caught(tmp_path, monkeypatch):
    """The dict-overwrite bug behind exec: — the machine compares answers alone."""
    from pathlib import Path

    runner = Path(__file__).resolve().parents[2] / "examples" / "dict_runner.py"
    result = fuzz.run_campaign(None, seed=2, rounds=1, target=f"exec:{shlex.quote(sys.executable)} {runner}", shrink=False)
    assert result.target_failure is None and result.harness_error is None
    assert result.divergence is not None and "Runtime.registerVariable" in result.divergence
    assert result.trace is not None and all(s.op in TARGET_OPS for s in result.trace.steps)  # replayable on it


TARGET_OPS = {"Runtime.emptyContext", "Runtime.registerVariable", "Runtime.getVariable", "Runtime.setVariable",
              "Runtime.registerGradient", "Runtime.getGradient", "Runtime.setGradient", "Runtime.clearGradients",
              "Runtime.hasVariable", "Runtime.variableNames", "Runtime.gradientNames", "Runtime.contextSize",
              "Runtime.gradientCount", "Runtime.isValidContext"}


def test_a_hanging_exec_target_is_a_target_failure(tmp_path, capsys):
    code = "import sys, time\nsys.stdin.readline()\ntime.sleep(600)\n"
    (tmp_path / "hang.py").write_text(code)
    status = cli.main(["fuzz", "--rounds", "1", "--seed", "1", "--timeout", "1",
                        "--target", f"exec:{shlex.quote(sys.executable)} {tmp_path / 'hang.py'}"])
    assert status == 3
    assert "TLR_TARGET_TIMEOUT" in capsys.readouterr().err


def test_hostile_mode_catches_a_registry_that_keeps_the_callers_array():
    undo = apply("stored-arrays-alias-caller")
    try:
        hostile = fuzz.run_campaign(None, seed=1, rounds=1, hostile=True, shrink=False)
    finally:
        undo()
    # (since the hardened boundary landed, a polite run of seed 1 also reaches this mutant, at
    # Variable.error, so only the hostile run's verdict is asserted)
    assert hostile.divergence is not None and hostile.attacks > 0


def test_hostile_mode_on_the_impl_runs_clean():
    """Every mutation route of conformance.attacks on every input and output of a campaign
    against the impl: no divergence (issue 9: nothing a caller does changes stored state)."""
    result = fuzz.run_campaign(None, seed=7, rounds=1, hostile=True)
    assert result.divergence is None and result.attacks > 0


def test_shards_and_workers_split_the_rounds_deterministically(tmp_path, capsys):
    paths = []
    for i in range(2):
        out = tmp_path / f"s{i}.json"
        assert cli.main(["fuzz", "--rounds", "4", "--programs", "8", "--seed", "9", "--shard", f"{i + 1}/2", "--workers", "2" if i else "1",
                          "--json", str(out), "--out", str(tmp_path / "f")]) == 0
        paths.append(str(out))
    docs = [json.loads(open(p).read()) for p in paths]
    assert docs[0]["rounds"] == [0, 2] and docs[1]["rounds"] == [1, 3]
    assert cli.main(["fuzz", "merge", *paths, "--json", str(tmp_path / "all.json")]) == 0
    merged = json.loads((tmp_path / "all.json").read_text())
    assert merged["rounds"] == [0, 1, 2, 3] and merged["duplicate_rounds"] == 0
    assert merged["operations"] == docs[0]["operations"] + docs[1]["operations"]
    assert cli.main(["fuzz", "merge", str(tmp_path / "nothing.json")]) == 2
    assert cli.main(["fuzz", "--shard", "0/2", "--rounds", "1"]) == 2  # 1-based, as verify's
    assert cli.main(["fuzz", "--shard", "3/2", "--rounds", "1"]) == 2
    assert cli.main(["fuzz", "--target", "nonsense", "--rounds", "1"]) == 2
    capsys.readouterr()


def test_round_indices():
    assert list(fuzz.round_indices((1, 3), (0, 2), 12)) == [1, 7]
    assert list(fuzz.round_indices((1, 3), (1, 2), 12)) == [4, 10]


def test_the_random_engine_runs_clean_and_has_teeth():
    """--engine random (issue 11's throughput engine, the default): seeded random programs with the
    spec's answers replayed on the target; a mutant is found, and the saved trace passes on the
    spec and fails on the mutated impl at its last step."""
    from torchlean_runtime.conformance.vectors.replay import replay_trace

    clean = fuzz.run_random_campaign(None, seed=4, rounds=1, examples_per_round=6)
    assert clean.divergence is None and clean.operations == 6 * 120 and clean.cases == 6
    undo = apply("register-gradient-bumps-next-id")
    try:
        found = fuzz.run_random_campaign(None, seed=4, rounds=1, examples_per_round=6)
        assert found.divergence is not None and "Runtime.registerGradient" in found.divergence
        bad = replay_trace(found.trace, "impl")
        assert bad.status == "diverged" and bad.divergence.step == len(found.trace.steps) - 1
    finally:
        undo()
    assert replay_trace(found.trace, "spec").status == "passed"
    assert replay_trace(found.trace, "impl").status == "passed"


def test_the_random_engine_through_the_command(tmp_path, capsys):
    assert cli.main(["fuzz", "--engine", "random", "--rounds", "1", "--programs", "3", "--seed", "1",
                      "--json", str(tmp_path / "s.json")]) == 0
    assert json.loads((tmp_path / "s.json").read_text())["operations"] == 360
    capsys.readouterr()


# --- the program engine (--engine random): speed without checking less, shrinking -------------


def test_a_planted_bug_is_found_shrunk_and_saved_as_a_failing_trace(tmp_path, capsys):
    """issue 11: the program engine finds the catalogue's set-updates-newest-only mutant, delta
    debugging shrinks the divergent program (70 steps up to its diverging one) to a handful (4 here:
    two entries under one name, then a set) within its replay budget, and the trace saved by
    --out replays as failing on the mutated impl with `torchlean-rt replay`, passing on the spec
    and on the real impl."""
    from pathlib import Path

    from torchlean_runtime.conformance.vectors.replay import replay_trace

    undo = apply("set-updates-newest-only")
    try:
        found = fuzz.run_random_campaign(None, seed=4, rounds=2, examples_per_round=50)
        assert found.divergence is not None and ("Runtime.setVariable" in found.divergence
                                                 or "Runtime.setGradient" in found.divergence)
        assert found.original_steps >= 20 and len(found.trace.steps) <= 8, (found.original_steps, len(found.trace.steps))
        assert 0 < found.shrink_replays <= 400
        bad = replay_trace(found.trace, "impl")
        assert bad.status == "diverged" and bad.divergence.step == len(found.trace.steps) - 1
        code = cli.main(["fuzz", "--engine", "random", "--rounds", "2", "--seed", "4", "--out", str(tmp_path)])
        out = capsys.readouterr().out
        assert code == 1 and "shrunk by delta debugging" in out and "reproduce with: torchlean-rt replay" in out
        saved = sorted(Path(tmp_path).glob("divergence-*.json"))
        assert len(saved) == 1
        assert cli.main(["replay", str(saved[0]), "--target", "impl"]) == 1
        assert "FAIL impl" in capsys.readouterr().out
    finally:
        undo()
    assert cli.main(["replay", str(saved[0]), "--target", "both"]) == 0
    capsys.readouterr()


def test_shrinking_is_deterministic_and_bounded_by_a_count():
    """The same divergence shrinks to the same trace (no clock anywhere), and a budget of 1
    replay leaves the program cut after its diverging step."""
    from torchlean_runtime.proofs.differential import programs

    undo = apply("names-deduplicated")
    try:
        a = fuzz.run_random_campaign(None, seed=4, rounds=1, examples_per_round=50)
        b = fuzz.run_random_campaign(None, seed=4, rounds=1, examples_per_round=50)
        c = fuzz.run_random_campaign(None, seed=4, rounds=1, examples_per_round=50, shrink_budget=1)
    finally:
        undo()
    assert a.divergence is not None and a.trace == b.trace and a.shrink_replays == b.shrink_replays
    assert len(c.trace.steps) == c.original_steps > len(a.trace.steps) and c.shrink_replays == 1
    assert programs.SHRINK_BUDGET >= a.shrink_replays


def test_the_fast_observation_of_impl_contexts_is_the_abstraction():
    """ImplAdapter observes an impl context's registries as bits directly; that is exactly what
    the abstraction function gives (spec_context_state(to_spec(ctx))), on every context of a few
    programs over every dtype."""
    from torchlean_runtime.conformance.target import impl_target
    from torchlean_runtime.conformance.vectors.execute import impl_context_state, spec_context_state
    from torchlean_runtime.impl import RuntimeContext, to_spec
    from torchlean_runtime.proofs.differential import programs

    checked = 0
    for k in range(6):
        trace = programs.generate(programs.program_seed(9, 0, k), programs.ALL_DTYPES[k % 3]).trace
        tgt = impl_target()
        tgt.reset(trace.scalar_type)
        for step in trace.steps:
            tgt.call(step.op, step.args, step.bind)
        for native in tgt.env.values():
            if isinstance(native, RuntimeContext):
                assert impl_context_state(native) == spec_context_state(to_spec(native))
                checked += 1
    assert checked > 50


def test_the_program_engine_is_deterministic_for_a_seed_and_rounds():
    a = fuzz.run_random_campaign(None, seed=3, rounds=2, examples_per_round=9)
    b = fuzz.run_random_campaign(None, seed=3, rounds=2, examples_per_round=9)
    assert (a.cases, a.operations, a.must_fail, a.round_list) == (b.cases, b.operations, b.must_fail, b.round_list)
    assert a.operations == 2 * 9 * 120 and a.divergence is None and a.must_fail > 0


def test_the_default_engine_is_random_and_stateful_stays_available(tmp_path, capsys):
    """Decided by the kill comparison (docs/conformance.md, "Fuzz engines"); the summary and the
    --json say which engine ran, and fuzz merge keeps it."""
    assert fuzz.DEFAULT_ENGINE == "random"
    assert cli.main(["fuzz", "--rounds", "1", "--programs", "2", "--seed", "1", "--json", str(tmp_path / "r.json")]) == 0
    assert "random engine" in capsys.readouterr().out
    assert cli.main(["fuzz", "--engine", "stateful", "--rounds", "1", "--programs", "2", "--seed", "1",
                     "--json", str(tmp_path / "s.json")]) == 0
    assert "stateful engine" in capsys.readouterr().out
    docs = [json.loads((tmp_path / f"{n}.json").read_text()) for n in ("r", "s")]
    assert [d["engine"] for d in docs] == ["random", "stateful"]
    assert cli.main(["fuzz", "merge", str(tmp_path / "r.json"), str(tmp_path / "s.json"),
                     "--json", str(tmp_path / "m.json")]) == 0
    assert json.loads((tmp_path / "m.json").read_text())["engine"] == "random,stateful"
    capsys.readouterr()
