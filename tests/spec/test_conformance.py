"""Runs every conformance case of torchlean_runtime.proofs.conformance (the same case objects
``torchlean-rt verify`` runs), and checks that the comparison can fail and that the fold-order
case really separates the Lean fold from math.fsum and numpy's np.sum."""

from __future__ import annotations

import math
import struct
from fractions import Fraction

import numpy as np
import pytest

from torchlean_runtime import errors as E
from torchlean_runtime.proofs import conformance as conf
from torchlean_runtime.proofs.conformance import CASES, AnyNaN, Case, Raises, checkCase, sameValue
from torchlean_runtime.spec.core import tensor as T
from torchlean_runtime.spec.core.list import ofIterable
from torchlean_runtime.spec.core.scalars import Float, IEEE32Exec
from torchlean_runtime.spec.declarations import DECLARATIONS


@pytest.mark.parametrize("case", CASES, ids=[f"{c.group}: {c.name} [{' '.join(c.lean)}]" for c in CASES])
def test_case(case: Case) -> None:
    """The case's Lean definitions are named in ``case.lean``; its expected value in ``case.why``."""
    assert checkCase(case) is None, f"{case.lean}: {checkCase(case)} (why: {case.why})"


def test_case_names_are_unique() -> None:
    names = [c.name for c in CASES]
    assert len(names) == len(set(names))


def test_every_lean_declaration_has_a_conformance_case() -> None:
    """Each of the Lean declarations of the two runtime files is exercised by some case
    (structures through the functions that build them)."""
    named = {lean for c in CASES for lean in c.lean}
    structures = {"Runtime.AnyTensor", "Runtime.RuntimeContext", "Runtime.Variable"}
    uncovered = [d.lean_name for d in DECLARATIONS if d.lean_name not in named and d.lean_name not in structures]
    assert uncovered == []


def test_every_group_has_cases_and_an_obligation() -> None:
    obligations = conf.obligations(quick=True)
    assert [ob.args[0] for ob in obligations] == list(conf.GROUPS)
    for ob in obligations:
        assert ob.method == "conformance" and ob.label == "examples"
        outcome = ob.run(*ob.args)
        n = sum(1 for c in CASES if c.group == ob.args[0])
        assert outcome.passed and outcome.detail == f"{n} cases"


# --- the comparison is strict enough to fail ------------------------------------------------


@pytest.mark.parametrize(
    "actual, expected",
    [
        (0.0, -0.0),  # signed zeros are different Lean Floats
        (1, 1.0),  # an Int is not a Float
        (np.float32(1.0), 1.0),  # an IEEE32Exec is not a Float
        (1.0, np.float32(1.0)),
        (1, True),  # Bool is not Nat
        (True, 1),
        (Fraction(1, 2), 0.5),
        (None, (None,)),
        (ofIterable(["a", "b"]), ("b", "a")),  # list order matters
        ((1, 2), (1, 2, 3)),
        (float("nan"), AnyNaN(IEEE32Exec)),
        (np.float32("nan"), AnyNaN(Float)),
        (1.0, AnyNaN(Float)),
        ("x", object()),  # unknown expectation kinds never pass
    ],
)
def test_sameValue_rejects(actual, expected) -> None:
    assert not sameValue(actual, expected)


def test_sameValue_tensors_are_bitwise() -> None:
    assert not sameValue(T.ofNested(Float, [1], [0.0]), T.ofNested(Float, [1], [-0.0]))
    assert not sameValue(T.ofNested(Float, [0, 3], []), T.ofNested(Float, [0, 4], []))
    assert sameValue(T.ofNested(Float, [1], [float("nan")]), T.ofNested(Float, [1], [float("nan")]))


def test_checkCase_reports_wrong_value_wrong_error_and_missing_error() -> None:
    wrong = Case("w", "core", ("x",), lambda: 1.0, 2.0, "")
    assert "expected" in checkCase(wrong)
    wrong_error = Case("e", "core", ("x",), lambda: T.ofNested(Float, [2], [1.0]), Raises(E.ShapeMismatchError), "")
    assert "TensorDataError" in checkCase(wrong_error)
    no_error = Case("n", "core", ("x",), lambda: 1.0, Raises(E.ShapeMismatchError), "")
    assert "returned" in checkCase(no_error)
    crash = Case("c", "core", ("x",), lambda: 1 / 0, 1.0, "")
    assert "ZeroDivisionError" in checkCase(crash)


def test_a_failing_case_fails_its_group(monkeypatch) -> None:
    bad = Case("deliberately wrong", "core", ("Spec.sumSpec",), lambda: 1.0, 2.0, "")
    monkeypatch.setattr(conf, "CASES", CASES + (bad,))
    outcome = conf.runGroup("core")
    assert not outcome.passed and "deliberately wrong" in outcome.detail


# --- the fold-order case discriminates ------------------------------------------------------


def _bits(x: float) -> int:
    return struct.unpack("<Q", struct.pack("<d", x))[0]


def test_fold_trap_expected_value_follows_from_a_hand_written_left_fold() -> None:
    """Lean's sumSpec: ((0 + x0²) + x1²) + … in row-major order, each step rounded to binary64."""
    flat = [x for row in conf.FOLD_TRAP_VALUES for x in row]
    acc = 0.0
    for x in flat:
        acc = acc + x * x
    assert acc == 2.0 ** 54
    assert _bits(math.sqrt(acc)) == _bits(conf.FOLD_TRAP_NORM) == _bits(float.fromhex("0x1p+27"))


def test_fold_trap_separates_fsum_and_numpy() -> None:
    squares = [x * x for row in conf.FOLD_TRAP_VALUES for x in row]
    expected = _bits(conf.FOLD_TRAP_NORM)
    fsum_norm = math.sqrt(math.fsum(squares))
    numpy_norm = math.sqrt(float(np.sum(np.array(squares, dtype=np.float64))))
    row_sums_norm = math.sqrt(sum(sum(x * x for x in row) for row in conf.FOLD_TRAP_VALUES))
    assert _bits(fsum_norm) != expected
    assert _bits(numpy_norm) != expected
    # a sum of sub-sums (rows summed separately, then combined) is not the flat fold either
    assert _bits(row_sums_norm) != expected
