"""torchlean_runtime/conformance/vectors/generate.py — the deterministic corpus, its coverage, and what it encodes.

The corpus's expectations are computed by the spec; the Lean-semantics tests below check, for
the traps, that what the corpus expects is what the Lean definitions say (expected values taken
from lean-semantics.md, never from the spec's output)."""

from __future__ import annotations

import filecmp
import json
import math
import re
import struct
from pathlib import Path

import numpy as np
import pytest

from torchlean_runtime.conformance.vectors import generate as G
from torchlean_runtime.conformance.vectors.bits import TensorBits
from torchlean_runtime.conformance.vectors.format import ExpectedError, Result
from torchlean_runtime.conformance.vectors.reader import read_trace
from torchlean_runtime.conformance.vectors.replay import corpus_dir
from torchlean_runtime.spec.declarations import DECLARATIONS

CORPUS = Path(corpus_dir())


def f64_bits(x: float) -> int:
    return struct.unpack("<Q", struct.pack("<d", x))[0]


@pytest.fixture(scope="module")
def fresh(tmp_path_factory):
    out = tmp_path_factory.mktemp("corpus")
    return out, G.generate(out)


def test_regenerating_gives_the_shipped_bytes(fresh):
    out, _ = fresh
    files = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
    shipped = sorted(str(p.relative_to(CORPUS)) for p in CORPUS.rglob("*") if p.is_file())
    assert files == shipped
    match, mismatch, errors = filecmp.cmpfiles(out, CORPUS, files, shallow=False)
    assert (mismatch, errors) == ([], []), "regenerate with: torchlean-rt vectors generate torchlean_runtime/conformance/vectors/corpus"
    assert len(match) == len(files) > 100


def test_every_declaration_and_trap_is_covered(fresh):
    _, cov = fresh
    assert cov.uncovered == []
    for d in DECLARATIONS:
        if d.kind == "def":
            assert cov.direct[d.lean_name] >= 5, d.lean_name
        else:
            assert cov.via[d.lean_name] >= 100, d.lean_name
    assert all(n >= 1 for n in cov.traps.values())
    assert cov.must_fail >= 50
    table = (CORPUS / "coverage.txt").read_text()
    assert all(d.lean_name in table for d in DECLARATIONS) and "every declaration and every trap is covered" in table


def test_an_uncovered_trap_fails_the_command(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(G.TRAPS, "a-trap-nobody-tests", "for this test only")
    assert G.main([str(tmp_path / "out")]) == 1
    assert "UNCOVERED: trap a-trap-nobody-tests" in capsys.readouterr().out


def test_generate_refuses_a_foreign_directory_and_replaces_a_previous_corpus(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    assert G.main([str(tmp_path)]) == 2  # bad usage: one line, TLR_OUTPUT_PATH
    assert G.main([str(tmp_path / "notes.txt" / "sub")]) == 2  # unwritable (issue 9 item 5)
    out = tmp_path / "corpus"
    G.generate(out)
    stale = out / "Runtime.emptyContext" / "stale.float64.json"
    stale.write_text("{}")
    G.generate(out)
    assert not stale.exists()


def test_case_intent_is_checked_against_the_spec():
    c = G.Case("Runtime.emptyContext", "t", "float64", "test")
    c0 = c("emptyContext")
    with pytest.raises(G.GenerationError, match="meant to fail with TLR_SHAPE_MISMATCH"):
        c("registerVariable", ctx=c0, name="w", value=c.k.t([1]), fails="TLR_SHAPE_MISMATCH")
    v = c("Variable.createVariable", id=0, name="w", value=c.k.t([1]))
    with pytest.raises(G.GenerationError, match="meant to succeed"):
        c("Variable.setValue", v=v, new_value=c.k.t([1, 2]))
    with pytest.raises(G.GenerationError, match="meant to fail with TLR_CAST_EVIDENCE"):
        c("Variable.setValue", v=v, new_value=c.k.t([1, 2]), fails="TLR_CAST_EVIDENCE")


@pytest.mark.parametrize(
    "dtype,existing,grad,reason",
    [
        # binary32 is TorchLean's IEEE32Exec, which defines every NaN result: always portable
        ("float32", (0x7FC00000,), (0x3F800000,), None),
        ("float32", (0x7F800000,), (0xFF800000,), None),
        ("float64", (0x7FF0000000000000,), (0xFFF0000000000000,), "inf + -inf"),
        ("float64", (0x7FF8000000000001,), (0x7FF8000000000002,), "two different NaNs"),
        ("float64", (0x7FF0000000000001,), (0x3FF0000000000000,), "signalling NaN"),
        ("float64", (0x7FF8000000000001,), (0x3FF0000000000000,), "nan-propagation"),
        ("float64", (0x3FF0000000000000,), (0x3FF0000000000000,), None),
    ],
)
def test_nonportable_arithmetic_is_refused(dtype, existing, grad, reason):
    c = G.Case("Runtime.Variable.accumulateGradient", "t", dtype, "test")
    v = c("Variable.createVariable", id=0, name="w", value=c.k.t([0]))
    v = c("Variable.setGradient", v=v, grad=c.k.raw((1,), existing))
    if reason is None:
        c("Variable.accumulateGradient", v=v, grad=c.k.raw((1,), grad))
    else:
        with pytest.raises(G.GenerationError, match="not portable: .*" + re.escape(reason)):
            c("Variable.accumulateGradient", v=v, grad=c.k.raw((1,), grad))


# --- the corpus says what Lean says -------------------------------------------------------


def steps(relpath: str):
    return read_trace(CORPUS / relpath).steps


def test_registerGradient_keeps_next_id_in_the_corpus():
    """Runtime.registerGradient is `{ ctx with gradients := … }`: next_id unchanged."""
    s = steps("Runtime.registerGradient/next-id.float64.json")
    assert s[1].op == "Runtime.registerVariable" and s[1].expect.value.next_id == 1
    assert s[2].op == "Runtime.registerGradient" and s[2].expect.value.next_id == 1
    assert s[3].expect.value.next_id == 1 and len(s[3].expect.value.gradients) == 2
    err = next(x for x in s if x.op == "Runtime.Variable.error")
    assert err.expect.value.id == 1  # error takes next_id


def test_context_string_example_of_the_semantics_note():
    s = steps("Runtime.registerVariable/basic.float64.json")
    strings = [x.expect.value for x in s if x.op == "Runtime.contextToString"]
    assert strings == ["Context(vars: [x: [1.000000, 2.000000], w: 3.000000], grads: [])"]


def test_first_match_then_shape_check_in_the_corpus():
    """Runtime.getVariable: find? the newest w (shape [3]); asked at [2] → none even though the
    older w has shape [2]."""
    s = steps("Runtime.getVariable/first-match-shape-mismatch.float64.json")
    asked_2 = next(x for x in s if x.op == "Runtime.getVariable" and x.args["s"] == (2,) and x.args["ctx"] == "c2")
    assert asked_2.expect == Result("option_tensor", None)


def test_set_all_with_shape_change_in_the_corpus():
    """Runtime.setVariable maps over the registry: every w (shadowed too) becomes the new value."""
    s = steps("Runtime.setVariable/set-all-shape-change.float64.json")
    after = next(x for x in s if x.op == "Runtime.setVariable").expect.value
    names = [n for n, _ in after.var_registry]
    assert names == ["w", "x", "w"] and after.next_id == 3
    assert all(t.shape == (1, 3) for n, t in after.var_registry if n == "w")


def test_absent_name_set_changes_nothing_in_the_corpus():
    s = steps("Runtime.setVariable/absent-name.float64.json")
    assert s[1].op == "Runtime.setVariable" and s[1].expect.value.var_registry == () and s[1].expect.value.next_id == 0


def test_unknown_gradient_invalidates_in_the_corpus():
    s = steps("Runtime.registerGradient/unknown-name.float64.json")
    valid = [x.expect.value for x in s if x.op == "Runtime.isValidContext"]
    assert valid == [False, True, False, True]


def test_zero_size_shapes_differ_in_the_corpus():
    s = steps("Runtime.getVariable/zero-size-dims.float64.json")
    by_shape = {x.args["s"]: x.expect.value for x in s if x.op == "Runtime.getVariable" and x.args["ctx"] == "c1"}
    assert by_shape[(0, 4)] is None and by_shape[(0, 3)] == TensorBits((0, 3), "float64", ())
    cast = steps("Runtime.Variable.castShape/evidence.float64.json")
    assert any(x.args.get("s2") == (0, 4) and x.expect == ExpectedError("TLR_CAST_EVIDENCE") for x in cast)


def test_special_values_are_returned_bit_exact_in_the_corpus():
    s = steps("Runtime.registerVariable/special-values.float64.json")
    stored = s[1].args["value"]
    got = next(x for x in s if x.op == "Runtime.getVariable" and x.args["name"] == "s").expect.value
    assert got == stored and 0x7FF0000000000001 in stored.bits and (1 << 63) in stored.bits


def test_norm_is_the_flat_left_fold_and_the_case_has_teeth():
    """Runtime.Variable.variableNorm = sqrt(((0 + x0²) + x1²) + …): for [1, 2^-27 × 16] every
    tiny square is absorbed, so the norm is exactly 1.0; np.sum, math.fsum and np.linalg.norm
    all give other bits for the same input."""
    s = steps("Runtime.Variable.variableNorm/fold-order.float64.json")
    x = np.array([1.0] + [2.0**-27] * 16)
    assert s[0].args["value"] == TensorBits.from_array(x)
    assert s[1].expect.value.bits == f64_bits(1.0)
    for other in (math.sqrt(np.sum(x * x)), math.sqrt(math.fsum(x * x)), float(np.linalg.norm(x))):
        assert f64_bits(other) != f64_bits(1.0)


def test_norm_overflows_where_hypot_does_not():
    s = steps("Runtime.Variable.variableNorm/overflow-and-edges.float64.json")
    assert s[0].args["value"] == TensorBits.from_array(np.array([1e200, 1e200]))
    assert s[1].expect.value.bits == f64_bits(math.inf) and math.isfinite(math.hypot(1e200, 1e200))
    empty = s[5].expect.value  # [0] → sqrt(0) = +0.0
    assert s[4].args["value"].shape == (0,) and empty.bits == 0


def test_float32_rounds_every_sum():
    """IEEE32Exec: 2^24 + 1 rounds to 2^24 in binary32."""
    s = steps("Runtime.Variable.accumulateGradient/float32-rounding.float32.json")
    grad = next(x for x in s if x.op == "Runtime.Variable.getGradient").expect.value
    assert grad.dtype == "float32" and grad.bits[0] == int(np.float32(16777216).view(np.uint32))


def test_int_has_no_context_instance_in_the_corpus():
    s = steps("Runtime.Variable.accumulateGradient/no-context-instance.int64.json")
    codes = [x.expect.code for x in s if isinstance(x.expect, ExpectedError)]
    assert codes == ["TLR_NO_CONTEXT_INSTANCE"] * 3


def test_random_programs_record_their_seed():
    docs = [json.loads(p.read_text()) for p in sorted((CORPUS / "random").glob("*.json"))]
    assert len(docs) == len(G.RANDOM_SEEDS) * 3
    assert {d["generator"]["seed"] for d in docs} == set(G.RANDOM_SEEDS)
    assert all(len(d["steps"]) == G.RANDOM_STEPS for d in docs)


def test_ieee32_nan_rules_in_the_corpus_follow_exec32():
    """Runtime.Variable.accumulateGradient over IEEE32Exec = setGradient (addSpec existing g);
    Exec32's add returns a NaN operand quieted (| 0x00400000), choosing a signalling NaN in x,
    then one in y, then a NaN in x, then y; inf + -inf (no NaN operand) is 0x7FC00000."""
    s = steps("Runtime.Variable.accumulateGradient/ieee32-nan-rules.float32.json")
    got = [x for x in s if x.op == "Runtime.Variable.getGradient"][-1].expect.value.bits
    nan_a, nan_b, snan = 0x7FC00123, 0xFFC0BEEF, 0x7F800001
    expected = [
        nan_a,                   # qNaN_A + qNaN_B: both quiet, x first
        snan | 0x00400000,       # qNaN_A + sNaN: the signalling NaN in y wins, quieted
        0x7FC00000,              # inf + -inf: canonical NaN (x86 hardware would give 0xFFC00000)
        nan_b,                   # 1 + qNaN_B → y's NaN
        snan | 0x00400000,       # sNaN + 2 → x's NaN quieted
    ]
    assert [int(b) for b in got] == expected


def test_ieee32_norm_keeps_the_first_nan_quieted():
    """variableNorm = sqrt (sumSpec (mulSpec v v)): x*x quiets each NaN; the fold's running total
    is x in Exec32's add, so the first NaN in row-major order wins; sqrt returns it."""
    s = steps("Runtime.Variable.variableNorm/ieee32-nan-rules.float32.json")
    norms = [int(x.expect.value.bits) for x in s if x.op == "Runtime.Variable.variableNorm"]
    assert norms == [0xFFC0BEEF, 0x7F800001 | 0x00400000, 0x7FC00123]
