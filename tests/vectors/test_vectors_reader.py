"""torchlean_runtime/conformance/vectors/reader.py — hostile trace files: limits first, schema second, decode third.
Every rejection is a TraceFormatError/TraceLimitError naming the file and, inside steps, the step."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from torchlean_runtime.errors import BadEnvironmentError
from hypothesis import HealthCheck, given, settings

from torchlean_runtime.errors import TraceFormatError, TraceLimitError
from torchlean_runtime.conformance.vectors import reader as R
from torchlean_runtime.conformance.vectors.format import FORMAT, LEAN_SOURCE
from torchlean_runtime.conformance.vectors.fuzz_reader import documents
from torchlean_runtime.conformance.vectors.replay import corpus_dir

EMPTY = {"op": "Runtime.emptyContext", "args": {}, "bind": "c0",
         "expect": {"type": "context", "var_registry": [], "gradients": [], "next_id": 0}}


def tensor(shape, bits, dtype="float64"):
    return {"shape": shape, "dtype": dtype, "bits": bits}


def register(value, ctx="c0", bind="c1"):
    return {"op": "Runtime.registerVariable", "args": {"ctx": ctx, "name": "w", "value": value}, "bind": bind,
            "expect": {"type": "context", "var_registry": [{"name": "w", "value": value}], "gradients": [], "next_id": 1}}


def doc(*steps, **top):
    d = {"format": FORMAT, "lean": dict(LEAN_SOURCE), "scalar_type": "Float",
         "generator": {"name": "test", "version": "0", "seed": None}, "steps": list(steps)}
    d.update(top)
    return d


def read(d, limits=R.DEFAULT_LIMITS, source="t.json"):
    data = d if isinstance(d, bytes) else json.dumps(d).encode()
    return R.read_trace_bytes(data, source, limits)


def test_a_valid_document_reads():
    trace = read(doc(EMPTY, register(tensor([2], ["0", "9223372036854775808"]))))
    assert len(trace.steps) == 2 and trace.steps[1].args["value"].bits == (0, 1 << 63)


# --- decode-level rules (after the schema) ------------------------------------------------


@pytest.mark.parametrize(
    "steps,step,match",
    [
        ([{"op": "Runtime.deleteEverything", "args": {}, "expect": {"type": "nat", "value": 0}}], 0, "op"),
        ([{"op": "Runtime.contextSize", "args": {"ctx": "c9"}, "expect": {"type": "nat", "value": 0}}], 0, "not bound"),
        ([EMPTY, {"op": "Runtime.Variable.getValue", "args": {"v": "c0"}, "expect": {"type": "tensor", "value": tensor([], ["0"])}}], 1, "names a context"),
        ([EMPTY, dict(EMPTY)], 1, "already bound"),
        ([EMPTY, register(tensor([2], ["0"]))], 1, "2 elements but 1"),
        ([EMPTY, register(tensor([], ["18446744073709551616"]))], 1, "64-bit pattern"),
        ([EMPTY, register(tensor([], ["4294967296"], "float32"))], 1, "32-bit pattern"),
        ([EMPTY, register(tensor([], ["01"]))], 1, "bits"),
        ([EMPTY, register(tensor([], ["-1"]))], 1, "bits"),
        ([EMPTY, register(tensor([-1], []))], 1, "shape"),
        ([EMPTY, register(tensor(["2"], ["0", "0"]))], 1, "shape"),
        ([EMPTY, register(tensor([True], ["0"]))], 1, "shape"),
        ([EMPTY, {"op": "Runtime.getVariable", "args": {"ctx": "c0", "name": "w", "s": [2]}, "bind": "x",
                  "expect": {"type": "option_tensor", "value": None}}], 1, "bind"),
        ([EMPTY, {"op": "Runtime.contextSize", "args": {"ctx": "c0"}, "expect_error": "TLR_NOT_A_CODE"}], 1, "expect_error"),
        ([EMPTY, {"op": "Runtime.contextSize", "args": {"ctx": "c0", "extra": 1}, "expect": {"type": "nat", "value": 0}}], 1, "extra"),
    ],
)
def test_rejections_name_file_and_step(steps, step, match):
    with pytest.raises(TraceFormatError, match=match) as info:
        read(doc(*steps))
    assert str(info.value).startswith("[TLR_TRACE_FORMAT] t.json: steps[%d]" % step)


def test_expected_gradient_must_match_the_value():
    step = {"op": "Runtime.Variable.createVariable", "args": {"id": 0, "name": "w", "value": tensor([1], ["0"])},
            "bind": "v0", "expect": {"type": "variable", "id": 0, "name": "w", "value": tensor([1], ["0"]),
                                     "gradient": tensor([2], ["0", "0"]), "requires_grad": True}}
    with pytest.raises(TraceFormatError, match="value's shape and dtype"):
        read(doc(step))


def test_lone_surrogates_are_rejected():
    data = json.dumps(doc(EMPTY, {"op": "Runtime.hasVariable", "args": {"ctx": "c0", "name": "\ud800"},
                                  "expect": {"type": "bool", "value": False}})).encode()
    with pytest.raises(TraceFormatError, match="surrogate"):
        read(data)


@pytest.mark.parametrize(
    "top,match",
    [
        ({"format": "torchlean.runtime.v2"}, "format"),
        ({"scalar_type": "Rat"}, "scalar_type"),
        ({"lean": dict(LEAN_SOURCE, commit="0" * 40)}, "commit"),
        ({"declaration": "Runtime.notADeclaration"}, "declaration"),
    ],
)
def test_header_rules(top, match):
    with pytest.raises(TraceFormatError, match=match):
        read(doc(EMPTY, **top))


# --- parser-level rules -------------------------------------------------------------------


@pytest.mark.parametrize(
    "text,match",
    [
        (b'{"a": 1, "a": 2}', "duplicate key"),
        (b'{"a": NaN}', "NaN"),
        (b'{"a": Infinity}', "Infinity"),
        (b'{"a": 1.0}', "not an integer"),
        (b'{"a": 1e3}', "not an integer"),
        (b'{"a": 123456789012345678901234}', "more than 20 digits"),
        (b'\xef\xbb\xbf{}', "not JSON"),
        (b'{"a": "\xff"}', "not UTF-8"),
        (b'{"a": ', "not JSON"),
        (b'', "not JSON"),
    ],
)
def test_parser_rejections(text, match):
    with pytest.raises(TraceFormatError, match=match):
        read(text)


def test_non_integer_dimension_written_as_float_is_rejected():
    text = json.dumps(doc(EMPTY, register(tensor([2], ["0", "0"])))).replace('"shape": [2]', '"shape": [2.0]')
    with pytest.raises(TraceFormatError, match="not an integer"):
        read(text.encode())


# --- limits -------------------------------------------------------------------------------


def test_nesting_depth_is_limited_before_parsing():
    deep = b"[" * 100_000 + b"]" * 100_000  # would blow Python's recursion in json.loads
    with pytest.raises(TraceLimitError, match="nesting depth 100000 exceeds max_depth=32"):
        read(deep)
    brackets_in_strings = json.dumps({"s": "[" * 1000}).encode()
    with pytest.raises(TraceFormatError):  # not a limit: brackets inside strings do not nest
        read(brackets_in_strings)


def test_file_size_is_limited_before_reading(tmp_path):
    path = tmp_path / "big.json"
    path.write_bytes(b" " * 2000 + json.dumps(doc(EMPTY)).encode())
    with pytest.raises(TraceLimitError, match="exceed max_file_bytes=1000"):
        R.read_trace(path, R.ReaderLimits(max_file_bytes=1000))
    assert len(R.read_trace(path).steps) == 1


def test_limits_from_environment(tmp_path, monkeypatch):
    path = tmp_path / "t.json"
    path.write_text(json.dumps(doc(EMPTY, EMPTY | {"bind": "c1"})))
    monkeypatch.setenv("TORCHLEAN_RT_TRACE_MAX_STEPS", "1")
    with pytest.raises(TraceLimitError, match="2 steps exceed max_steps=1"):
        R.read_trace(path)
    for bad in ("many", "abc", "-1", "-5", "1.5", "1e3", "0x10", "99999999999999999999"):
        monkeypatch.setenv("TORCHLEAN_RT_TRACE_MAX_STEPS", bad)
        with pytest.raises(BadEnvironmentError, match="TORCHLEAN_RT_TRACE_MAX_STEPS") as info:
            R.limits_from_env()
        assert info.value.code == "TLR_ENVIRONMENT"
    monkeypatch.setenv("TORCHLEAN_RT_TRACE_MAX_STEPS", " 7 ")
    assert R.limits_from_env().max_steps == 7
    monkeypatch.setenv("TORCHLEAN_RT_TRACE_MAX_STEPS", "")  # spec/env.py's one rule: empty means the default
    assert R.limits_from_env().max_steps == R.DEFAULT_LIMITS.max_steps


@pytest.mark.parametrize(
    "limits,value,match",
    [
        (R.ReaderLimits(max_tensor_elements=3), tensor([4], ["0"] * 4), "max_tensor_elements=3"),
        (R.ReaderLimits(max_tensor_elements=3), tensor([4], []), "max_tensor_elements=3"),
        (R.DEFAULT_LIMITS, tensor([2**20, 2**20, 0], []), "counting the rows"),
        (R.DEFAULT_LIMITS, tensor([0, 2**41], []), "max_dims_product"),
        (R.DEFAULT_LIMITS, tensor([0, 10**19, 10**19], []), "max_dims_product"),
        (R.ReaderLimits(max_total_elements=5), tensor([3], ["0"] * 3), "max_total_elements=5"),
        (R.ReaderLimits(max_json_values=10), tensor([3], ["0"] * 3), "max_json_values=10"),
    ],
)
def test_size_limits(limits, value, match):
    d = doc(EMPTY, register(value))  # the value appears twice (argument and expectation)
    with pytest.raises(TraceLimitError, match=match):
        read(d, limits)


def test_empty_tensor_with_a_wide_inner_dimension_is_fine():
    trace = read(doc(EMPTY, register(tensor([0, 10**6], []))))
    assert trace.steps[1].args["value"].shape == (0, 10**6)


_MEMORY_PROBE = """
import sys, tracemalloc
from torchlean_runtime.errors import TraceFormatError
from torchlean_runtime.conformance.vectors.reader import DEFAULT_LIMITS, read_trace_bytes
try:
    read_trace_bytes(b"{}")  # warm up: the schema validators are built once per process
except TraceFormatError:
    pass
n = DEFAULT_LIMITS.max_json_values // 2 - 10            # "[]," counts a comma and a bracket
m = (DEFAULT_LIMITS.max_file_bytes - 10) // 5           # '"ab",' is 5 bytes; one comma each
data = b"[" + b"[]," * n + b"[]]" if sys.argv[1] == "lists" else b"[" + b'"ab",' * m + b'"ab"]'
assert len(data) <= DEFAULT_LIMITS.max_file_bytes
tracemalloc.start()
try:
    read_trace_bytes(data)
except TraceFormatError:
    pass
print(tracemalloc.get_traced_memory()[1] / 2**20)  # peak of Python allocations during the read, MiB
"""


@pytest.mark.parametrize("shape", ["lists", "strings"])
def test_worst_case_document_memory_is_bounded(shape):
    """Files of tiny JSON values just under the default limits (a million empty lists; 1.6
    million short strings): reading one costs well under 200 MB (the documented bound) before
    the schema rejects it.  Measured as the tracemalloc peak of the read in a fresh interpreter
(peak RSS growth can read 0 when imports already set a higher peak)."""
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-c", _MEMORY_PROBE, shape], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    growth_mb = float(out.stdout.strip())
    assert 0 < growth_mb < 200


def test_too_many_values_are_refused_before_parsing():
    n = R.DEFAULT_LIMITS.max_json_values // 2 + 10
    with pytest.raises(TraceLimitError, match="max_json_values"):
        read(b"[" + b"[]," * n + b"[]]")


# --- the split schema check agrees with the full schema -----------------------------------


def _split_verdict(d) -> bool:
    try:
        R._validate(d, "x")
        return True
    except TraceFormatError:
        return False


def test_split_validation_agrees_with_the_full_schema_on_the_corpus():
    full = R.validator()
    files = sorted(Path(corpus_dir()).rglob("*.json"))[::5]  # a spread sample: the full schema is slow
    assert len(files) > 20
    for f in files:
        d = json.loads(f.read_text())
        assert full.is_valid(d) and _split_verdict(d)
        broken = copy.deepcopy(d)
        broken["steps"][-1]["args"]["zzz"] = 1
        assert not full.is_valid(broken) and not _split_verdict(broken)


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(documents())
def test_split_validation_agrees_with_the_full_schema_on_fuzzed_documents(data):
    try:
        d = json.loads(data)
    except (ValueError, RecursionError):
        return
    try:
        assert R.validator().is_valid(d) == _split_verdict(d)
    except RecursionError:  # jsonschema on pathological nesting; the reader's depth limit comes first
        pass


# --- a handle or a bit string is the WHOLE string: no final newline (Python's "$" allows one) ---------

NEWLINE_HANDLES = ["c0\n", "c0\r", "c0\r\n", "c0\u2028", "c0\x85", "\nc0", "c\n0"]


def _with_handle(handle: str, where: str) -> dict:
    """EMPTY bound to ``c0`` then a registerVariable; ``handle`` replaces ``c0`` in the bind (and in
    the argument that names it), or only in the argument."""
    empty = dict(EMPTY, bind=handle if where == "bind" else "c0")
    return doc(empty, register(tensor([], ["0"]), ctx=handle))


@pytest.mark.parametrize("handle", NEWLINE_HANDLES, ids=repr)
@pytest.mark.parametrize("where", ["bind", "arg"])
def test_a_handle_with_a_newline_is_refused_by_the_schema_and_the_decoder(handle, where):
    from torchlean_runtime.conformance.vectors.format import from_document

    d = _with_handle(handle, where)
    assert not R.validator().is_valid(d)  # the shipped schema, as jsonschema (Python's re) reads it
    assert not _split_verdict(d)
    with pytest.raises(TraceFormatError, match=r"steps\[0\]|steps\[1\]") as info:
        read(d)
    assert info.value.code == "TLR_TRACE_FORMAT" and "schema: at" in str(info.value)
    with pytest.raises(TraceFormatError, match="handle|bind must match"):
        from_document(d, "t.json")  # the decoder alone (it never relies on the schema)
    assert read(_with_handle("c0", where))  # the same trace without the newline reads


def test_the_attackers_trace_with_a_v0_newline_handle_is_refused(tmp_path):
    """The attacker's nl_handle.json: the corpus's accumulateGradient/basic.float32.json with its
    first handle written "v0\n" (bind and use) — replayed as a pass before."""
    d = json.loads((Path(corpus_dir()) / "Runtime.Variable.accumulateGradient" / "basic.float32.json").read_text())
    assert d["steps"][0]["bind"] == "v0" and d["steps"][1]["args"]["v"] == "v0"
    d["steps"][0]["bind"] = d["steps"][1]["args"]["v"] = "v0\n"
    path = tmp_path / "nl_handle.json"
    path.write_text(json.dumps(d))
    with pytest.raises(TraceFormatError, match=r"steps\[0\] \(Runtime.Variable.createVariable\): schema: at bind: .*"
                                               r"a final newline included"):
        R.read_trace(path)


@pytest.mark.parametrize("bits", ["0\n", "1\n", "4607182418800017408\n", "0\r", "0\u2028"], ids=repr)
def test_a_bit_string_with_a_newline_is_refused_by_the_schema(bits):
    d = doc(EMPTY, register(tensor([], [bits])))
    assert not R.validator().is_valid(d)
    assert not _split_verdict(d)
    with pytest.raises(TraceFormatError):
        read(d)


def test_every_schema_pattern_is_anchored_and_fenced_against_a_final_newline():
    """Each ``pattern`` of the shipped schema is anchored with "^" … "$" and sits beside a "not"
    refusing any character outside its alphabet — the form that means "the whole string" in
    ECMA-262, RE2, Python, PCRE and Java alike (a lookahead would not compile in RE2)."""
    holders = []
    stack = [R.schema()]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if "pattern" in node and isinstance(node["pattern"], str) and node is not node.get("not"):
                holders.append(node)
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    outer = [n for n in holders if n["pattern"].startswith("^")]
    fences = [n for n in holders if not n["pattern"].startswith("^")]
    assert {n["pattern"] for n in outer} == {r"^[A-Za-z_][A-Za-z0-9_]{0,63}$", r"^(0|[1-9][0-9]{0,19})$"}
    for n in outer:
        assert n["pattern"].endswith("$") and n["not"]["pattern"].startswith("[^"), n
    assert {n["pattern"] for n in fences} == {"[^A-Za-z0-9_]", "[^0-9]"}
