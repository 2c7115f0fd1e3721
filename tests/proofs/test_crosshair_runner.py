"""proofs/crosshair/runner.py: CrossHair's report lines → verdicts (a pass only when every
condition is "Confirmed over all paths"), the ``when calling f(…)`` parser, concrete replay, and
diffbehavior's exhausted / not-exhausted / difference outcomes on tiny functions."""

from __future__ import annotations

import os
import textwrap

import pytest

from torchlean_runtime.proofs.crosshair import runner
from torchlean_runtime.proofs.crosshair.runner import Call, parse_call, parse_check_output

CONFIRMED = "/x/obl.py:12: info: Confirmed over all paths."
NOT_CONFIRMED = "/x/obl.py:20: info: Not confirmed."
ERROR = "/x/obl.py:31: error: false when calling lookup(1, 40, 1, 1) (which returns Observed(inputs=(1, 40, 1, 1)))"


def test_all_confirmed_only_when_every_condition_is_confirmed() -> None:
    run = parse_check_output("m.f", 0, CONFIRMED + "\n" + CONFIRMED.replace(":12:", ":13:") + "\n")
    assert run.all_confirmed and [c.line for c in run.conditions] == [12, 13]
    assert run.summary().startswith("2/2 conditions confirmed")


def test_not_confirmed_is_not_a_pass_although_crosshair_exits_0() -> None:
    run = parse_check_output("m.f", 0, CONFIRMED + "\n" + NOT_CONFIRMED + "\n")
    assert not run.all_confirmed
    assert "line 20: info: Not confirmed." in run.summary()


def test_an_error_line_is_a_counterexample_with_a_parsed_call() -> None:
    run = parse_check_output("m.f", 1, ERROR + "\n")
    assert not run.all_confirmed
    (cond,) = run.conditions
    assert cond.counterexample and cond.call == Call("lookup", (1, 40, 1, 1), {})


def test_a_crash_or_no_report_is_not_a_pass() -> None:
    crash = parse_check_output("m.f", 1, "Traceback (most recent call last):\n  boom\n")
    assert not crash.all_confirmed and crash.unparsed
    assert not parse_check_output("m.f", 0, "").all_confirmed  # nothing reported, nothing confirmed
    timed_out = parse_check_output("m.f", -1, CONFIRMED)
    timed_out.timed_out = True
    assert not timed_out.all_confirmed and "wall-clock" in timed_out.summary()


@pytest.mark.parametrize(
    "message, expected",
    [
        ("false when calling f(0, 1)", Call("f", (0, 1), {})),
        ("false when calling f(0, 1) (which returns (1, (2, 3)))", Call("f", (0, 1), {})),
        ("RecursionError: deep when calling g(x=3, y=-1)", Call("g", (), {"x": 3, "y": -1})),
        ('error when calling h(0, "a)b", k=(1, 2))', Call("h", (0, "a)b"), {"k": (1, 2)})),
        ("when calling f(__import__('os').system('true'))", None),  # not a literal: never evaluated
        ("when calling f(x)", None),
        ("when calling f(1, 2", None),
        ("Confirmed over all paths.", None),
    ],
)
def test_parse_call_reads_literals_only(message: str, expected) -> None:
    assert parse_call(message) == expected


def test_check_reports_a_crash_for_a_missing_target() -> None:
    run = runner.check("torchlean_runtime.proofs.crosshair.no_such_module.f", 5, 60)
    assert not run.all_confirmed
    assert run.returncode != 0 and run.unparsed


_TINY = textwrap.dedent(
    '''
    import icontract
    from torchlean_runtime.proofs.crosshair.encoding import concretely, pick

    def double(x: int):
        if not 0 <= x < 6:
            return None
        return pick(x, 0, 6) * 2

    def double_too(x: int):
        if not 0 <= x < 6:
            return None
        return pick(x, 0, 6) + pick(x, 0, 6)

    def double_wrong_at_5(x: int):
        if not 0 <= x < 6:
            return None
        v = pick(x, 0, 6)
        return v * 2 if v != 5 else 11

    @icontract.require(lambda x: 0 <= x < 6)
    @icontract.ensure(lambda result: result % 2 == 0)
    def even(x: int) -> int:
        return double(x)

    @icontract.require(lambda x: 0 <= x < 6)
    @icontract.ensure(lambda result: result != 10)
    def never_ten(x: int) -> int:
        return double(x)

    @concretely
    def twice(x):
        return x * 2

    @icontract.require(lambda x: 0 <= x < 6)
    @icontract.ensure(lambda result: result % 2 == 0)
    def leaks_symbolic(x: int) -> int:
        return twice(x)  # no pick(): the symbolic int would reach concrete code
    '''
)


@pytest.fixture()
def tiny_module(tmp_path, monkeypatch) -> str:
    (tmp_path / "tiny_crosshair_targets.py").write_text(_TINY)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(p for p in (str(tmp_path), os.environ.get("PYTHONPATH")) if p))
    return "tiny_crosshair_targets"


def test_check_confirms_a_true_claim_and_refutes_a_false_one_with_a_replayable_call(tiny_module: str) -> None:
    ok = runner.check(f"{tiny_module}.even", 20, 120)
    assert ok.all_confirmed, ok.summary()
    bad = runner.check(f"{tiny_module}.never_ten", 20, 120)
    assert not bad.all_confirmed
    (cond,) = bad.conditions
    assert cond.counterexample and cond.call == Call("never_ten", (5,), {})
    replayed = runner.replay(f"{tiny_module}.never_ten", cond.call)
    assert replayed.reproduced and replayed.in_domain, replayed
    # the same call on the true claim holds; an out-of-bounds call is outside the domain
    assert not runner.replay(f"{tiny_module}.even", Call("even", (5,), {})).reproduced
    outside = runner.replay(f"{tiny_module}.never_ten", Call("never_ten", (6,), {}))
    assert not outside.reproduced and not outside.in_domain


def test_a_symbolic_value_reaching_concrete_code_is_an_error_not_a_confirmation(tiny_module: str) -> None:
    run = runner.check(f"{tiny_module}.leaks_symbolic", 20, 120)
    assert not run.all_confirmed
    assert any(c.counterexample and "symbolic argument" in c.message for c in run.conditions), run.summary()


def test_diffbehavior_exhausts_equal_functions_and_finds_a_single_differing_input(tiny_module: str) -> None:
    same = runner.diffbehavior(f"{tiny_module}.double", f"{tiny_module}.double_too", 20, 120)
    assert same.no_difference and same.exhausted, same.output
    differ = runner.diffbehavior(f"{tiny_module}.double", f"{tiny_module}.double_wrong_at_5", 20, 120)
    assert not differ.no_difference and differ.differing_inputs == [{"x": 5}], differ.output
    replayed = runner.replay_diff(f"{tiny_module}.double", f"{tiny_module}.double_wrong_at_5", {"x": 5})
    assert replayed.reproduced and "10" in replayed.detail and "11" in replayed.detail, replayed
    assert not runner.replay_diff(f"{tiny_module}.double", f"{tiny_module}.double_wrong_at_5", {"x": 4}).reproduced
