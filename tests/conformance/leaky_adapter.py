"""A ``module:`` adapter whose registry is right but which hands out its own mutable state: the
context it returns is a plain Python object and ``variableNames`` returns the context's stored
list.  Every answer is Lean's while the caller is polite; the hostile caller (``--hostile``:
every object received is attacked) makes later answers change or crash.  test_outside_user.py.

    PYTHONPATH=tests/conformance torchlean-rt fuzz --target module:leaky_adapter:LeakyTarget --hostile
"""

from __future__ import annotations

from torchlean_runtime.conformance.target import ObjectTarget
from torchlean_runtime.conformance.vectors.format import ContextState, Result

DTYPE = {"Float": "float64", "IEEE32Exec": "float32", "Int": "int64"}


class Refused(Exception):
    def __init__(self, code: str):
        super().__init__(code)
        self.code = code


class Ctx:
    """Lean's registry: a list of (name, tensor), newest first; names kept alongside."""

    def __init__(self, entries=(), next_id=0):
        self.entries = list(entries)
        self.names = [n for n, _ in self.entries]
        self.next_id = next_id


class LeakyTarget(ObjectTarget):
    name = "leaky-adapter"
    operations = frozenset(["Runtime.emptyContext", "Runtime.registerVariable", "Runtime.getVariable",
                            "Runtime.hasVariable", "Runtime.variableNames", "Runtime.contextSize"])

    def tensor(self, t):
        return t

    def invoke(self, op, scalar_type, args):
        ctx, name = args.get("ctx"), args.get("name")
        if "value" in args and args["value"].dtype != DTYPE[scalar_type]:
            raise Refused("TLR_SCALAR_MISMATCH")
        if op == "Runtime.emptyContext":
            return Ctx()
        if op == "Runtime.registerVariable":
            return Ctx([(name, args["value"]), *ctx.entries], ctx.next_id + 1)
        if op == "Runtime.getVariable":
            t = next((t for n, t in ctx.entries if n == name), None)
            return t if t is not None and t.shape == tuple(args["s"]) else None
        if op == "Runtime.hasVariable":
            return any(n == name for n, _ in ctx.entries)
        if op == "Runtime.variableNames":
            return ctx.names  # the leak: the context's own list
        return len(ctx.entries)  # Runtime.contextSize

    def observe(self, kind, x):
        if kind == "context":
            return Result(kind, ContextState(tuple(x.entries), (), x.next_id))
        if kind == "names":
            return Result(kind, tuple(x))
        return Result(kind, x)


class AliasingTarget(LeakyTarget):
    """Tensors as numpy arrays; the registry stores the caller's array itself (no copy) and
    answers by converting it back.  Right while the caller is polite; the arrays passed in are
    attacked by replay and fuzz alike (docs/conformance.md, the hostile caller)."""

    name = "aliasing-adapter"

    def tensor(self, t):
        return t.to_array()

    def invoke(self, op, scalar_type, args):
        if "value" in args and str(args["value"].dtype) != DTYPE[scalar_type]:
            raise Refused("TLR_SCALAR_MISMATCH")
        if op == "Runtime.variableNames":
            return tuple(args["ctx"].names)
        if op == "Runtime.getVariable":
            ctx, name = args["ctx"], args["name"]
            a = next((a for n, a in ctx.entries if n == name), None)
            return a if a is not None and a.shape == tuple(args["s"]) else None
        return super().invoke(op, scalar_type, {k: v for k, v in args.items()})

    def observe(self, kind, x):
        from torchlean_runtime.conformance.vectors.bits import TensorBits

        if kind == "context":
            return Result(kind, ContextState(tuple((n, TensorBits.from_array(a)) for n, a in x.entries), (), x.next_id))
        if kind == "option_tensor" and x is not None:
            return Result(kind, TensorBits.from_array(x))
        return super().observe(kind, x)
