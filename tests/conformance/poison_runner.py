"""A protocol runner that answers like ``serve --target spec``, except that it puts a JSON array or
object — unhashable in Python — where the protocol wants a string, as MODE says.  Used by
test_untrusted_json.py: every such answer is a malformed answer (exit 3, TLR_PROTOCOL), never a
crash of the harness.

    python poison_runner.py MODE
"""
import json
import sys

from torchlean_runtime.conformance.protocol import _answer
from torchlean_runtime.conformance.target import spec_target

mode = sys.argv[1]


def poison_dtypes(node, value, only_scalar=False):
    """``node`` with every tensor's / scalar's ``dtype`` replaced by ``value``; True if any was."""
    hit = False
    stack = [node]
    while stack:
        x = stack.pop()
        if isinstance(x, dict):
            if "dtype" in x and (not only_scalar or x.get("type") == "scalar"):
                x["dtype"] = value
                hit = True
            stack.extend(x.values())
        elif isinstance(x, list):
            stack.extend(x)
    return hit


target = spec_target()
for line in sys.stdin:
    request = json.loads(line)
    answer = _answer(target, request)
    kind = request.get("type")
    if kind == "hello":
        if mode == "hello-operations-lists":
            answer["operations"] = [[op] for op in answer["operations"]]
        elif mode == "hello-scalar-types-objects":
            answer["scalar_types"] = [{st: 1} for st in answer["scalar_types"]]
    elif kind == "call" and answer.get("type") == "result":
        result = answer["result"]
        if mode == "dtype-list":
            poison_dtypes(result, [])
        elif mode == "dtype-object":
            poison_dtypes(result, {"float64": 1})
        elif mode == "scalar-dtype-list":
            poison_dtypes(result, ["float64"], only_scalar=True)
        elif mode == "answer-type-list":
            answer["type"] = ["result"]
        elif mode == "answer-type-object":
            answer["type"] = {"result": 1}
        elif mode == "result-type-list":
            result["type"] = [result["type"]]
        elif mode == "error-code-list":
            answer = {"id": answer["id"], "type": "error", "code": ["TLR_SHAPE_MISMATCH"]}
        elif mode == "error-code-object":
            answer = {"id": answer["id"], "type": "error", "code": {"TLR_SHAPE_MISMATCH": 1}}
        elif mode == "answer-id-list":
            answer["id"] = [answer["id"]]
    sys.stdout.write(json.dumps(answer) + "\n")
    sys.stdout.flush()
    if kind == "shutdown":
        break
