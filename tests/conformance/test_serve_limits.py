"""``serve`` applies the trace reader's tensor limits to every request, and the client to every
runner's answer, before anything is decoded or allocated (attacker finding 3): a 230-byte
registerVariable of shape [10^6, 10^6, 0] grew the spec server without bound; shapes numpy
cannot represent were answered ``crash`` without a stable code."""

from __future__ import annotations

import json
import sys

import pytest

from torchlean_runtime.conformance.protocol import ProcessTarget
from torchlean_runtime.errors import ProtocolError

HUGE = [[1000000, 1000000, 0], [1 << 62, 1 << 62, 0], [1 << 64, 0], [1 << 31, 1 << 31, 0], [0, 1 << 50]]


def _register(rid: int, shape: list, op: str = "Runtime.registerVariable", key: str = "value") -> dict:
    return {"id": rid, "type": "call", "op": op, "bind": f"d{rid}",
            "args": {"ctx": "c", "name": "x", key: {"shape": shape, "dtype": "float64", "bits": []}}}


@pytest.mark.parametrize("selector", ["spec", "impl"])
def test_a_request_tensor_beyond_the_limits_is_a_typed_error_before_any_allocation(selector, serve_lines):
    requests = [{"id": 0, "type": "reset", "scalar_type": "Float"},
                {"id": 1, "type": "call", "op": "Runtime.emptyContext", "args": {}, "bind": "c"}]
    requests += [_register(2 + i, shape) for i, shape in enumerate(HUGE)]
    requests += [_register(20, shape, "Runtime.registerGradient", "grad") for shape in HUGE[:1]]
    requests += [_register(30, [2, 0])]  # within the limits: still served
    answers = [json.loads(line) for line in serve_lines(selector, requests)]
    assert len(answers) == len(requests)
    for a in answers[2:-1]:
        assert a["type"] == "error" and a["code"] == "TLR_TENSOR_TOO_LARGE", a
        assert "max_" in a["message"]
    assert answers[-1]["type"] == "result"
    assert answers[-1]["result"]["var_registry"][0]["value"]["shape"] == [2, 0]


def test_a_runner_answering_a_tensor_beyond_the_limits_broke_the_protocol(tmp_path):
    runner = tmp_path / "runner.py"
    runner.write_text(
        "import json, sys\n"
        "from torchlean_runtime.conformance.protocol import _answer\n"
        "from torchlean_runtime.conformance.target import spec_target\n"
        "t = spec_target()\n"
        "for line in sys.stdin:\n"
        "    r = json.loads(line)\n"
        "    a = _answer(t, r)\n"
        "    if r.get('type') == 'call':\n"
        "        a = {'id': r['id'], 'type': 'result', 'result': {'type': 'context', 'gradients': [], 'next_id': 1,\n"
        "             'var_registry': [{'name': 'x', 'value': {'shape': [1000000, 1000000, 0], 'dtype': 'float64', 'bits': []}}]}}\n"
        "    print(json.dumps(a), flush=True)\n"
    )
    target = ProcessTarget([sys.executable, str(runner)], timeout=60)
    try:
        target.reset("Float")
        with pytest.raises(ProtocolError, match="max_tensor_elements"):
            target.call("Runtime.emptyContext", {}, "c")
    finally:
        target.close()
