"""A ``module:`` adapter that copies every array it is given — the hostile caller's attacks cannot
reach its state — but has two bugs of its own, which must be reported as its own and never blamed
on the attacks (test_outside_user.py, section 9):

* ``contextSize`` of a non-empty context raises a plain ``ValueError`` (a crash of the call);
* ``variableNames`` answers a ``list`` where a ``tuple`` of names is required (a wrong kind of
  value from ``observe``).

    PYTHONPATH=tests/conformance torchlean-rt replay CORPUS --target module:copying_adapter:CopyingTarget
"""

from __future__ import annotations

from torchlean_runtime.conformance.target import ObjectTarget
from torchlean_runtime.conformance.vectors.bits import TensorBits
from torchlean_runtime.conformance.vectors.format import ContextState, Result

DTYPE = {"Float": "float64", "IEEE32Exec": "float32", "Int": "int64"}


class Refused(Exception):
    def __init__(self, code: str):
        super().__init__(code)
        self.code = code


class Ctx:
    def __init__(self, entries=(), next_id=0):
        self.entries = tuple(entries)  # (name, private array), newest first
        self.next_id = next_id


class CopyingTarget(ObjectTarget):
    name = "copying-adapter"
    operations = frozenset(["Runtime.emptyContext", "Runtime.registerVariable", "Runtime.getVariable",
                            "Runtime.hasVariable", "Runtime.variableNames", "Runtime.contextSize"])

    def tensor(self, t):
        return t.to_array()

    def invoke(self, op, scalar_type, args):
        ctx, name = args.get("ctx"), args.get("name")
        if "value" in args and str(args["value"].dtype) != DTYPE[scalar_type]:
            raise Refused("TLR_SCALAR_MISMATCH")
        if op == "Runtime.emptyContext":
            return Ctx()
        if op == "Runtime.registerVariable":
            return Ctx(((name, args["value"].copy()), *ctx.entries), ctx.next_id + 1)  # a copy: never aliased
        if op == "Runtime.getVariable":
            a = next((a for n, a in ctx.entries if n == name), None)
            return a.copy() if a is not None and a.shape == tuple(args["s"]) else None
        if op == "Runtime.hasVariable":
            return any(n == name for n, _ in ctx.entries)
        if op == "Runtime.variableNames":
            return [n for n, _ in ctx.entries]  # bug: a list, not a tuple
        if ctx.entries:  # Runtime.contextSize
            raise ValueError("sizes of non-empty contexts are not implemented")  # bug: a plain exception
        return 0

    def observe(self, kind, x):
        if kind == "context":
            return Result(kind, ContextState(tuple((n, TensorBits.from_array(a)) for n, a in x.entries), (), x.next_id))
        if kind == "option_tensor" and x is not None:
            return Result(kind, TensorBits.from_array(x))
        return Result(kind, x)


class SizeCrashTarget(CopyingTarget):
    """The contextSize bug alone (variableNames answers a tuple): every failure it can show comes
    after an array was passed in — and attacked — by registerVariable."""

    name = "size-crash-adapter"

    def invoke(self, op, scalar_type, args):
        out = super().invoke(op, scalar_type, args)
        return tuple(out) if op == "Runtime.variableNames" else out
