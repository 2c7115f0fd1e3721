"""torchlean_runtime/conformance/vectors/bits.py and format.py — the torchlean.runtime.v1 value encoding, the operation
table, the shipped JSON Schema and the writer."""

from __future__ import annotations

import json
import struct

import jsonschema
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from torchlean_runtime.errors import ERROR_CLASSES, TraceFormatError
from torchlean_runtime.conformance.vectors import format as F
from torchlean_runtime.conformance.vectors.bits import ScalarBits, TensorBits, describe_element
from torchlean_runtime.conformance.vectors.execute import fill_expectations
from torchlean_runtime.conformance.vectors.reader import read_trace_bytes, schema
from torchlean_runtime.spec.core.scalars import Float, IEEE32Exec, Int
from torchlean_runtime.spec.core.tensor import ofNested
from torchlean_runtime.spec.declarations import DECLARATIONS


def f64(bits: int) -> float:
    return struct.unpack("<d", struct.pack("<Q", bits))[0]


# --- bits ---------------------------------------------------------------------------------

SPECIAL_F64 = (0, 1 << 63, 0x7FF0000000000000, 0xFFF0000000000000, 0x7FF8000000000123, 0xFFF800000000BEEF,
               0x7FF0000000000001, 1, 0x000FFFFFFFFFFFFF, 0x7FEFFFFFFFFFFFFF)
SPECIAL_F32 = (0, 1 << 31, 0x7F800000, 0xFF800000, 0x7FC00123, 0xFFC0BEEF, 0x7F800001, 1, 0x007FFFFF, 0x7F7FFFFF)


@pytest.mark.parametrize("dtype,bits", [("float64", SPECIAL_F64), ("float32", SPECIAL_F32)])
def test_special_values_survive_every_conversion(dtype, bits):
    """±0, ±inf, quiet/negative/signalling NaN payloads, subnormals: bit patterns are kept through
    numpy and through the spec Tensor (lean-semantics §7: bit patterns, never decimal text)."""
    t = TensorBits((2, 5), dtype, bits)
    assert TensorBits.from_array(t.to_array()) == t
    assert TensorBits.from_spec(t.to_spec()) == t
    assert TensorBits.from_array(t.to_array()).bits == bits


def test_float64_bits_are_the_ieee_patterns():
    t = TensorBits.from_array(np.array([1.0, -0.0, 0.5]))
    assert t.bits == (0x3FF0000000000000, 0x8000000000000000, 0x3FE0000000000000)
    spec = t.to_spec()
    assert spec.alpha is Float and spec.data == (1.0, -0.0, 0.5)
    assert struct.pack("<d", spec.data[1]) == struct.pack("<d", -0.0)


def test_float32_decodes_to_numpy_float32_for_ieee32exec():
    t = TensorBits((2,), "float32", (0x3F800000, 0x7F800001))
    spec = t.to_spec()
    assert spec.alpha is IEEE32Exec
    assert all(type(x) is np.float32 for x in spec.data)
    assert spec.data[1].view(np.uint32) == 0x7F800001  # the signalling NaN is not quieted


def test_int64_is_twos_complement():
    t = TensorBits.from_spec(ofNested(Int, [3], [-1, -(2**63), 2**63 - 1]))
    assert t.bits == (2**64 - 1, 2**63, 2**63 - 1)
    assert t.to_spec().data == (-1, -(2**63), 2**63 - 1)
    with pytest.raises(TraceFormatError, match="int64 range"):
        TensorBits.from_spec(ofNested(Int, [1], [2**63]))


def test_zero_size_tensors_keep_their_shape():
    a, b = TensorBits((0, 3), "float64", ()), TensorBits((0, 4), "float64", ())
    assert a != b
    assert a.to_array().shape == (0, 3)
    assert a.to_spec().data == () and TensorBits((2, 0), "float64", ()).to_spec().data == ((), ())


@pytest.mark.parametrize(
    "shape,dtype,bits,match",
    [
        ((2,), "float64", (1,), "2 elements but 1"),
        ((), "float32", (2**32,), "32-bit pattern"),
        ((), "float64", (2**64,), "64-bit pattern"),
        ((), "float64", (-1,), "64-bit pattern"),
        ((), "float64", ("1",), "64-bit pattern"),
        ((-1,), "float64", (), "non-negative integer"),
        ((1.0,), "float64", (0,), "non-negative integer"),
        ((True,), "float64", (0,), "non-negative integer"),
        ((1,) * 65, "float64", (0,), "maximum rank"),
        ((), "float16", (0,), "unknown dtype"),
    ],
)
def test_tensor_bits_refuse_bad_values(shape, dtype, bits, match):
    with pytest.raises(TraceFormatError, match=match):
        TensorBits(shape, dtype, bits)


def test_array_of_unsupported_dtype_is_refused():
    with pytest.raises(TraceFormatError, match="unsupported array dtype"):
        TensorBits.from_array(np.zeros(2, dtype=np.float16))


def test_scalar_bits_from_values():
    assert ScalarBits.from_value(1.0) == ScalarBits("float64", 0x3FF0000000000000)
    assert ScalarBits.from_value(np.float32(-0.0)) == ScalarBits("float32", 1 << 31)
    with pytest.raises(TraceFormatError):
        ScalarBits.from_value(True)


def test_describe_shows_values_and_bits():
    assert describe_element("float64", 0x7FF8000000000123) == "nan(0x7ff8000000000123)"
    assert describe_element("float64", 1 << 63) == "-0.0"
    assert describe_element("int64", 2**64 - 5) == "-5"
    text = TensorBits((2,), "float32", (0x3F800000, 0xFF800000)).describe()
    assert text == "float32[2] values=[1.0, -inf] bits=[1065353216, 4286578688]"


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(["float64", "float32", "int64"]), st.lists(st.integers(0, 3), max_size=3), st.data())
def test_round_trips_on_random_patterns(dtype, shape, data):
    n = int(np.prod(shape)) if shape else 1
    width = 32 if dtype == "float32" else 64
    bits = tuple(data.draw(st.lists(st.integers(0, 2**width - 1), min_size=n, max_size=n)))
    t = TensorBits(tuple(shape), dtype, bits)
    assert TensorBits.from_array(t.to_array()) == t
    assert TensorBits.from_spec(t.to_spec()) == t


# --- the operation table and the schema ---------------------------------------------------


def test_every_lean_def_is_an_operation_and_nothing_else():
    defs = {d.lean_name for d in DECLARATIONS if d.kind == "def"}
    assert set(F.OPS) == defs
    structures = {d.lean_name for d in DECLARATIONS if d.kind == "structure"}
    exercised = {x for sig in F.OPS.values() for x in sig.exercises}
    assert structures <= exercised and exercised <= set(F.LEAN_DECLARATIONS)


def test_error_codes_are_the_projects_stable_codes():
    codes = {c.code for c in ERROR_CLASSES}
    assert set(F.ERROR_CODES) < codes
    assert "TLR_TRACE_FORMAT" not in F.ERROR_CODES


def test_shipped_schema_is_the_rendered_one():
    """schema_v1.json (package data) is exactly schema_text(); regenerate it with
    ``python -c "from torchlean_runtime.conformance.vectors.format import schema_text; ..."`` after changing OPS."""
    from importlib import resources

    shipped = resources.files("torchlean_runtime.conformance.vectors").joinpath("schema_v1.json").read_text(encoding="utf-8")
    assert shipped == F.schema_text()


def test_schema_is_valid_draft_2020_12():
    jsonschema.Draft202012Validator.check_schema(schema())
    assert schema()["$schema"].endswith("2020-12/schema")


def _doc(steps, scalar_type="Float"):
    return {"format": F.FORMAT, "lean": dict(F.LEAN_SOURCE), "scalar_type": scalar_type,
            "generator": {"name": "test", "version": "0"}, "steps": steps}


def test_schema_rejects_a_wrong_result_type_per_operation():
    v = jsonschema.Draft202012Validator(schema())
    good = {"op": "Runtime.contextSize", "args": {"ctx": "c0"}, "expect": {"type": "nat", "value": 0}}
    empty = {"op": "Runtime.emptyContext", "args": {}, "bind": "c0",
             "expect": {"type": "context", "var_registry": [], "gradients": [], "next_id": 0}}
    assert v.is_valid(_doc([empty, good]))
    bad = dict(good, expect={"type": "bool", "value": False})
    assert not v.is_valid(_doc([empty, bad]))
    assert not v.is_valid(_doc([empty, dict(good, bind="c1")]))  # only contexts/variables are bound
    assert not v.is_valid(_doc([empty, dict(good, expect_error="TLR_SHAPE_MISMATCH")]))  # both


# --- writer -------------------------------------------------------------------------------


def _small_trace() -> F.Trace:
    t = TensorBits.from_array(np.array([1.0, -0.0]))
    return fill_expectations(F.Trace("Float", (
        F.Step("Runtime.emptyContext", {}, "c0"),
        F.Step("Runtime.registerVariable", {"ctx": "c0", "name": "w", "value": t}, "c1"),
        F.Step("Runtime.getVariable", {"ctx": "c1", "name": "w", "s": (2,)}),
        F.Step("Runtime.Variable.createVariable", {"id": 0, "name": "w", "value": t}, "v0"),
        F.Step("Runtime.Variable.setValue", {"v": "v0", "new_value": TensorBits.from_array(np.zeros(3))}),
    )))


def test_write_read_round_trip_and_determinism(tmp_path):
    trace = _small_trace()
    assert isinstance(trace.steps[-1].expect, F.ExpectedError)
    assert trace.steps[-1].expect.code == "TLR_SHAPE_MISMATCH"  # Lean: setValue needs Tensor α s
    F.write_trace(trace, tmp_path / "a.json")
    F.write_trace(read_trace_bytes((tmp_path / "a.json").read_bytes()), tmp_path / "b.json")
    assert (tmp_path / "a.json").read_bytes() == (tmp_path / "b.json").read_bytes()
    assert read_trace_bytes((tmp_path / "a.json").read_bytes()) == trace
    text = (tmp_path / "a.json").read_text()
    assert text.isascii() and text.endswith("}\n")
    assert json.loads(text)["steps"][2]["expect"] == {
        "type": "option_tensor",
        "value": {"shape": [2], "dtype": "float64", "bits": ["4607182418800017408", "9223372036854775808"]},
    }


def test_writer_refuses_steps_without_expectations_and_unknown_things(tmp_path):
    bare = F.Trace("Float", (F.Step("Runtime.emptyContext", {}, "c0"),))
    with pytest.raises(TraceFormatError, match="no expected result"):
        F.dumps_trace(bare)
    with pytest.raises(TraceFormatError, match="unknown operation"):
        F.dumps_trace(F.Trace("Float", (F.Step("Runtime.nope", {}, None, F.Result("nat", 0)),)))
    with pytest.raises(TraceFormatError, match="unknown error code"):
        F.ExpectedError("TLR_MADE_UP")
    with pytest.raises(TraceFormatError, match="must be a bool"):
        F.Result("bool", 1)


# --- docs/vectors.md is the prose spec of exactly this format -----------------------------


def _docs() -> str:
    from pathlib import Path

    return (Path(__file__).resolve().parents[2] / "docs" / "vectors.md").read_text(encoding="utf-8")


def test_docs_list_every_operation_with_its_signature():
    text = _docs()
    for op, sig in F.OPS.items():
        params = ", ".join(f"{p.name}: {p.kind}" + (" (optional)" if p.optional else "") for p in sig.params)
        assert f"| `{op}` | {params or '—'} | {sig.result} |" in text, op


def test_docs_list_every_error_code_and_limit():
    from torchlean_runtime.conformance.vectors.reader import ReaderLimits
    from dataclasses import fields

    text = _docs()
    for code in F.ERROR_CODES:
        assert f"| `{code}` |" in text, code
    for f in fields(ReaderLimits):
        assert f"| `{f.name}` |" in text, f.name
    assert "The expected result of every step in the corpus is what the executable spec" in text


def test_writer_names_wrong_argument_types():
    step = F.Step("Runtime.Variable.createVariable", {"id": 0, "name": "w", "value": np.zeros(2)}, "v0",
                  F.Result("nat", 0))
    with pytest.raises(TraceFormatError, match="must be TensorBits"):
        F.dumps_trace(F.Trace("Float", (step,)))
