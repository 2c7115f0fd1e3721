"""Values decoded from untrusted JSON — trace files, a runner's answers, ``serve``'s requests — are
type-checked before any lookup in a table of names (attacker finding: a tensor whose ``dtype`` is
a JSON array made ``[] in DTYPES`` raise ``TypeError: unhashable type``, so a runner answering
``"dtype": []`` ended ``replay`` and ``fuzz`` with exit 70 instead of exit 3 TLR_PROTOCOL, and one
request holding it killed ``serve``).

* the decoders (``from_document``, ``args_from_doc``, ``result_from_doc``) are total: on any JSON
  value they return or raise TraceFormatError, nothing else;
* a runner putting an array or object where the protocol wants a string is a target failure:
  exit 3, one ``[TLR_PROTOCOL]`` line, no traceback;
* ``serve`` answers every request of a seeded random campaign (the attacker's fuzzer, with a count
  budget) and never dies.
"""

from __future__ import annotations

import copy
import json
import os
import random
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from torchlean_runtime.conformance.protocol import MAX_REQUEST_ID, PROTOCOL
from torchlean_runtime.conformance.vectors.format import (OPS, RESULT_KINDS, args_from_doc, from_document,
                                                           result_from_doc)
from torchlean_runtime.conformance.vectors.replay import corpus_dir
from torchlean_runtime.errors import TraceFormatError

HERE = Path(__file__).resolve().parent
CORPUS = Path(corpus_dir())
ENV = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")])}
UNHASHABLE = ([], {}, ["float64"], {"float64": 1}, [[]], {"": []})


def unhashable(rng: random.Random) -> Any:
    """One of UNHASHABLE, a fresh copy (the documents built here are mutated later)."""
    return copy.deepcopy(rng.choice(UNHASHABLE))

# --- junk: every JSON shape, unhashable values everywhere -----------------------------------------

_KEYS = ("shape", "dtype", "bits", "ctx", "name", "value", "v", "v1", "v2", "id", "grad", "requires_grad",
         "new_value", "new_id", "msg", "s", "s2", "expected_shape", "type", "var_registry", "gradients",
         "next_id", "gradient", "op", "args", "bind", "expect", "expect_error", "scalar_type", "code")
_ATOMS = (None, True, False, 0, -1, 1, 2**64, 2**64 - 1, "", "c0", "c0\n", "float64", "float32", "int64", "Float",
          "x\ud800", "0", "1065353216", "99999999999999999999999", "TLR_SHAPE_MISMATCH", "context", "tensor",
          "Runtime.emptyContext")


def junk(rng: random.Random, depth: int = 0) -> Any:
    r = rng.random()
    if depth > 3 or r < 0.35:
        return copy.deepcopy(rng.choice(_ATOMS + UNHASHABLE))
    if r < 0.65:
        return [junk(rng, depth + 1) for _ in range(rng.randrange(4))]
    return {rng.choice(_KEYS): junk(rng, depth + 1) for _ in range(rng.randrange(5))}


def tensor(rng: random.Random) -> dict:
    """A tensor that is right but for (often) one field: unhashable values in every field."""
    t = {"shape": rng.choice([[1], [], [2], [0, 3]]), "dtype": rng.choice(["float64", "float32", "int64"]),
         "bits": ["0"] * 2}
    t["bits"] = ["0"] * (1 if not t["shape"] else (0 if 0 in t["shape"] else t["shape"][0]))
    if rng.random() < 0.7:
        t[rng.choice(list(t))] = rng.choice((unhashable(rng), junk(rng)))
    return t


def result_doc(rng: random.Random, kind: str) -> Any:
    """A result document of ``kind``, broken in one place (often by an unhashable value)."""
    t = tensor(rng)
    doc = {
        "context": {"type": "context", "var_registry": [{"name": "w", "value": t}], "gradients": [], "next_id": 1},
        "variable": {"type": "variable", "id": 1, "name": "w", "value": t, "gradient": None, "requires_grad": True},
        "tensor": {"type": "tensor", "value": t},
        "option_tensor": {"type": "option_tensor", "value": t},
        "scalar": {"type": "scalar", "dtype": rng.choice(("float64", unhashable(rng))), "bits": "0"},
        "bool": {"type": "bool", "value": True},
        "nat": {"type": "nat", "value": 1},
        "string": {"type": "string", "value": "x"},
        "names": {"type": "names", "value": ["w"]},
    }[kind]
    r = rng.random()
    if r < 0.2:
        doc["type"] = unhashable(rng)
    elif r < 0.4:
        doc[rng.choice(list(doc))] = junk(rng)
    elif r < 0.5:
        doc = junk(rng)
    return doc


def args_doc(rng: random.Random, op: str) -> Any:
    args: dict = {}
    for p in OPS[op].params:
        if rng.random() < 0.9:
            args[p.name] = (tensor(rng) if p.kind == "tensor" and rng.random() < 0.8 else
                            rng.choice(["c0", "c0\n"]) if p.kind in ("context", "variable") and rng.random() < 0.5 else
                            junk(rng))
    return args if rng.random() > 0.1 else junk(rng)


# --- 1. the decoders are total ----------------------------------------------------------------------


@pytest.mark.parametrize("bad", UNHASHABLE, ids=repr)
def test_an_unhashable_dtype_is_a_format_error_everywhere(bad):
    t = {"shape": [1], "dtype": bad, "bits": ["0"]}
    cases = [
        ("context", {"type": "context", "var_registry": [{"name": "w", "value": t}], "gradients": [], "next_id": 1}),
        ("variable", {"type": "variable", "id": 1, "name": "w", "value": t, "gradient": None, "requires_grad": True}),
        ("tensor", {"type": "tensor", "value": t}),
        ("option_tensor", {"type": "option_tensor", "value": t}),
        ("scalar", {"type": "scalar", "dtype": bad, "bits": "0"}),
    ]
    for kind, doc in cases:
        with pytest.raises(TraceFormatError, match="dtype must be one of"):
            result_from_doc(kind, doc, "answer")
    with pytest.raises(TraceFormatError, match="dtype must be one of"):
        args_from_doc("Runtime.Variable.createVariable", {"id": 1, "name": "w", "value": t}, "args")
    with pytest.raises(TraceFormatError, match="unknown operation"):
        args_from_doc(bad, {}, "args")  # type: ignore[arg-type]


def test_the_decoders_are_total_on_any_json_value():
    """Seeded: 6,000 broken results, 6,000 broken argument objects, 1,500 broken corpus documents —
    every one decodes or raises TraceFormatError (no TypeError, KeyError, AttributeError …)."""
    rng = random.Random(20261201)
    kinds, ops = sorted(RESULT_KINDS), sorted(OPS)
    for _ in range(6000):
        kind = rng.choice(kinds)
        try:
            result_from_doc(kind, result_doc(rng, kind), "answer")
        except TraceFormatError:
            pass
        op = rng.choice(ops)
        try:
            args_from_doc(op, args_doc(rng, op), "args")
        except TraceFormatError:
            pass
    originals = [json.loads(p.read_text()) for p in sorted(CORPUS.glob("*/*.json"))[::12]]
    for _ in range(1500):
        doc = copy.deepcopy(rng.choice(originals))
        for _ in range(rng.randrange(1, 4)):  # replace a random node (header field, step, argument …)
            node, key = _random_slot(rng, doc)
            node[key] = rng.choice((unhashable(rng), junk(rng)))
        try:
            from_document(doc, "mutated")
        except TraceFormatError:
            pass


def _random_slot(rng: random.Random, doc: Any) -> tuple:
    node, key = doc, rng.choice(list(doc))
    while isinstance(node[key], (dict, list)) and node[key] and rng.random() < 0.75:
        node = node[key]
        key = rng.choice(list(node)) if isinstance(node, dict) else rng.randrange(len(node))
    return node, key


# --- 2. a runner answering unhashable values: exit 3, TLR_PROTOCOL --------------------------------

FIRST_MATCH = CORPUS / "Runtime.getVariable" / "first-match-shape-mismatch.float64.json"
NORM = CORPUS / "Runtime.Variable.variableNorm" / "fold-order.float64.json"
MODES = [
    ("dtype-list", FIRST_MATCH, "dtype must be one of"),
    ("dtype-object", FIRST_MATCH, "dtype must be one of"),
    ("scalar-dtype-list", NORM, "dtype must be one of"),
    ("answer-type-list", FIRST_MATCH, "must have type 'result', 'error' or 'crash'"),
    ("answer-type-object", FIRST_MATCH, "must have type 'result', 'error' or 'crash'"),
    ("result-type-list", FIRST_MATCH, "malformed result"),
    ("error-code-list", FIRST_MATCH, "stable codes"),
    ("error-code-object", FIRST_MATCH, "stable codes"),
    ("answer-id-list", FIRST_MATCH, "has id"),
    ("hello-operations-lists", FIRST_MATCH, "hello.operations"),
    ("hello-scalar-types-objects", FIRST_MATCH, "hello.scalar_types"),
]


def _runner(mode: str) -> str:
    return f"exec:{shlex.quote(sys.executable)} {shlex.quote(str(HERE / 'poison_runner.py'))} {mode}"


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "torchlean_runtime", *args], capture_output=True, text=True,
                          env=ENV, timeout=120)


def _one_protocol_error(proc: subprocess.CompletedProcess, words: str) -> None:
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr and "TLR_INTERNAL" not in proc.stdout + proc.stderr
    errors = [ln for ln in proc.stderr.splitlines() if ln.startswith("torchlean-rt: error: ")]
    assert len(errors) == 1 and "[TLR_PROTOCOL]" in errors[0], proc.stderr
    assert words in proc.stdout + proc.stderr, proc.stdout + proc.stderr


@pytest.mark.parametrize("mode,trace,words", MODES, ids=[m[0] for m in MODES])
def test_a_runner_answering_unhashable_values_fails_replay_with_tlr_protocol(mode, trace, words):
    _one_protocol_error(_cli("replay", str(trace), "--target", _runner(mode), "--timeout", "30"), words)


@pytest.mark.parametrize("mode", ["dtype-list", "dtype-object", "error-code-list"])
def test_a_runner_answering_unhashable_values_fails_fuzz_with_tlr_protocol(mode, tmp_path):
    proc = _cli("fuzz", "--engine", "random", "--rounds", "1", "--programs", "3", "--seed", "7",
                "--out", str(tmp_path / "failures"), "--target", _runner(mode), "--timeout", "30")
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr and "TLR_INTERNAL" not in proc.stdout + proc.stderr
    assert "fuzz: target failed: [TLR_PROTOCOL]" in proc.stdout, proc.stdout + proc.stderr


# --- 3. serve answers every request and never dies ----------------------------------------------------

ANSWER_TYPES = {"hello", "ok", "result", "error", "crash", "protocol_error"}


def fuzz_requests(seed: int, count: int) -> list:
    """The attacker's serve fuzzer, seeded and with a count budget: a reset, then calls of every
    operation with broken arguments (unhashable values in every tensor field, bad handles, junk
    where anything goes), sometimes a junk ``bind``, a junk request or a junk field of the request."""
    rng = random.Random(seed)
    ops = sorted(OPS)
    requests: list = [{"id": 1, "type": "reset", "scalar_type": "Float"},
                      {"id": 2, "type": "call", "op": "Runtime.emptyContext", "args": {}, "bind": "c0"}]
    for i in range(count):
        op = rng.choice(ops)
        req: Any = {"id": i + 3, "type": "call", "op": op, "args": args_doc(rng, op)}
        if rng.random() < 0.2:
            req["bind"] = rng.choice(["c1", "c0\n", unhashable(rng), junk(rng)])
        r = rng.random()
        if r < 0.05:
            req = junk(rng)
        elif r < 0.15:
            req[rng.choice(["id", "type", "op", "args", "scalar_type", "protocol"])] = rng.choice((unhashable(rng), junk(rng)))
        elif r < 0.17:
            req = {"id": i + 3, "type": "reset", "scalar_type": rng.choice(["Float", "Int", unhashable(rng)])}
        requests.append(req)
    return requests + [{"id": count + 3, "type": "shutdown"}]


def _check_answers(requests: list, lines: list) -> None:
    assert len(lines) == len(requests)  # one answer per request: the server never died
    for req, line in zip(requests, lines):
        line.decode("ascii")
        answer = json.loads(line, parse_constant=lambda c: pytest.fail(f"non-JSON constant {c}"))
        assert answer["type"] in ANSWER_TYPES, answer
        rid = req.get("id") if isinstance(req, dict) else None
        if type(rid) is int and 0 <= rid <= MAX_REQUEST_ID:
            assert answer["id"] == rid, (req, answer)
            if req.get("type") == "call" and req.get("bind") == "c0\n":
                assert answer["type"] == "protocol_error", (req, answer)  # not a handle: never bound
        else:
            assert answer == {"id": None, "type": "protocol_error", "message": answer["message"]}, answer
    assert json.loads(lines[-1]) == {"id": requests[-1]["id"], "type": "ok"}


@pytest.mark.parametrize("selector", ["spec", "impl"])
def test_serve_answers_every_request_of_a_seeded_fuzz_campaign(selector, serve_lines):
    requests = fuzz_requests(seed=1, count=4000)
    _check_answers(requests, serve_lines(selector, requests))


def test_serve_as_a_process_survives_the_fuzz_campaign():
    requests = fuzz_requests(seed=2, count=1500)
    proc = subprocess.run([sys.executable, "-m", "torchlean_runtime", "serve", "--target", "impl"],
                          input=b"".join(json.dumps(r).encode() + b"\n" for r in requests),
                          capture_output=True, timeout=120, env=ENV)
    assert proc.returncode == 0 and proc.stderr == b"", proc.stderr.decode()
    _check_answers(requests, proc.stdout.splitlines())


@pytest.mark.parametrize("bad", UNHASHABLE, ids=repr)
def test_serve_answers_unhashable_values_with_protocol_error(bad, serve_lines):
    t = {"shape": [1], "dtype": bad, "bits": ["0"]}
    requests = [
        {"id": 1, "type": "hello", "protocol": PROTOCOL},
        {"id": 2, "type": "reset", "scalar_type": bad},
        {"id": 3, "type": "reset", "scalar_type": "Float"},
        {"id": 4, "type": "call", "op": bad, "args": {}},
        {"id": 5, "type": "call", "op": "Runtime.emptyContext", "args": {}, "bind": bad},
        {"id": 6, "type": "call", "op": "Runtime.emptyContext", "args": {}, "bind": "c0"},
        {"id": 7, "type": "call", "op": "Runtime.registerVariable", "args": {"ctx": "c0", "name": "w", "value": t}},
        {"id": 8, "type": "call", "op": "Runtime.Variable.createVariable", "args": {"id": 1, "name": "w", "value": t}},
        {"id": 9, "type": "call", "op": "Runtime.contextSize", "args": {"ctx": bad}},
        {"id": 10, "type": "call", "op": "Runtime.registerVariable", "args": {"ctx": "c0", "name": bad, "value": t}},
        {"id": 11, "type": bad},
        {"id": 12, "type": "call", "op": "Runtime.contextSize", "args": {"ctx": "c0"}},
        {"id": 13, "type": "shutdown"},
    ]
    answers = [json.loads(line) for line in serve_lines("spec", requests)]
    assert [a["id"] for a in answers] == list(range(1, 14))
    types = [a["type"] for a in answers]
    assert types == ["hello", "protocol_error", "ok", "protocol_error", "protocol_error", "result",
                     "protocol_error", "protocol_error", "protocol_error", "protocol_error", "protocol_error",
                     "result", "ok"], answers
    assert "dtype must be one of" in answers[6]["message"] and "dtype must be one of" in answers[7]["message"]


# --- 4. a handle is the whole string: "c0\n" is not "c0" (Python's "$" matches before a final newline) ---


@pytest.mark.parametrize("selector", ["spec", "impl"])
def test_serve_refuses_a_handle_ending_in_a_newline(selector, serve_lines):
    requests = [
        {"id": 1, "type": "reset", "scalar_type": "Float"},
        {"id": 2, "type": "call", "op": "Runtime.emptyContext", "args": {}, "bind": "c0\n"},
        {"id": 3, "type": "call", "op": "Runtime.emptyContext", "args": {}, "bind": "c0"},
        {"id": 4, "type": "call", "op": "Runtime.contextSize", "args": {"ctx": "c0\n"}},
        {"id": 5, "type": "call", "op": "Runtime.registerVariable", "bind": "c1\n",
         "args": {"ctx": "c0", "name": "w", "value": {"shape": [], "dtype": "float64", "bits": ["0"]}}},
        {"id": 6, "type": "call", "op": "Runtime.Variable.registerInContext", "args": {"ctx": "c0", "v": "v0\n"}},
        {"id": 7, "type": "call", "op": "Runtime.contextSize", "args": {"ctx": "c0"}},
        {"id": 8, "type": "shutdown"},
    ]
    answers = [json.loads(line) for line in serve_lines(selector, requests)]
    assert [(a["id"], a["type"]) for a in answers] == [
        (1, "ok"), (2, "protocol_error"), (3, "result"), (4, "protocol_error"), (5, "protocol_error"),
        (6, "protocol_error"), (7, "result"), (8, "ok")]
    assert "bind must be a handle" in answers[1]["message"] and "bind must be a handle" in answers[4]["message"]
    assert "args.ctx must be a handle" in answers[3]["message"] and "args.v must be a handle" in answers[5]["message"]


@pytest.mark.parametrize("selector", ["spec", "impl"])
def test_serve_binds_only_contexts_and_variables(selector, serve_lines):
    """docs/protocol.md: bind is present only when the operation returns a context or variable; serve
    bound whatever a call returned (a names list under "c1"), and later calls on "c1" crashed."""
    requests = [
        {"id": 1, "type": "reset", "scalar_type": "Float"},
        {"id": 2, "type": "call", "op": "Runtime.emptyContext", "args": {}, "bind": "c0"},
        {"id": 3, "type": "call", "op": "Runtime.variableNames", "args": {"ctx": "c0"}, "bind": "c1"},
        {"id": 4, "type": "call", "op": "Runtime.contextSize", "args": {"ctx": "c1"}},
        {"id": 5, "type": "call", "op": "Runtime.contextSize", "args": {"ctx": "c0"}, "bind": "n"},
        {"id": 6, "type": "shutdown"},
    ]
    answers = [json.loads(line) for line in serve_lines(selector, requests)]
    assert [a["type"] for a in answers] == ["ok", "result", "protocol_error", "crash", "protocol_error", "ok"]
    assert "returns a names; only contexts and variables are bound" in answers[2]["message"]
    assert "'c1' is not bound" in answers[3]["message"]  # nothing was bound under c1
