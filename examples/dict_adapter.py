"""The dict registry of ``dict_runner.py`` as an in-process Python adapter (``module:`` selector).

    PYTHONPATH=examples torchlean-rt replay CORPUS --target module:dict_adapter:DictTarget

An :class:`~torchlean_runtime.conformance.target.ObjectTarget` subclass: the kit keeps the
handles; the adapter converts tensors (``tensor``), calls the implementation (``invoke``) and
reports answers as data (``observe``).  A refusal is an exception with a stable ``code``.
"""

from __future__ import annotations

from torchlean_runtime.conformance.target import ObjectTarget
from torchlean_runtime.conformance.vectors.format import ContextState, Result

DTYPE = {"Float": "float64", "IEEE32Exec": "float32", "Int": "int64"}


class Refused(Exception):
    def __init__(self, code: str):
        super().__init__(code)
        self.code = code


class DictContext:
    """The implementation under test: a registry over dicts (re-registering overwrites)."""

    def __init__(self, vars=None, grads=None, next_id=0):
        self.vars, self.grads, self.next_id = dict(vars or {}), dict(grads or {}), next_id

    def register(self, name, t):
        new = DictContext(self.vars, self.grads, self.next_id + 1)
        new.vars[name] = t  # the bug: Lean's registerVariable prepends, shadowing the old entry
        return new


class DictTarget(ObjectTarget):
    name = "dict-adapter"
    operations = frozenset(["Runtime.emptyContext", "Runtime.registerVariable", "Runtime.getVariable",
                            "Runtime.hasVariable", "Runtime.variableNames", "Runtime.contextSize"])

    def tensor(self, t):
        return t  # TensorBits (dtype, shape, bit patterns): this registry never computes with values

    def invoke(self, op, scalar_type, args):
        ctx, name = args.get("ctx"), args.get("name")
        if "value" in args and args["value"].dtype != DTYPE[scalar_type]:
            raise Refused("TLR_SCALAR_MISMATCH")
        if op == "Runtime.emptyContext":
            return DictContext()
        if op == "Runtime.registerVariable":
            return ctx.register(name, args["value"])
        if op == "Runtime.getVariable":
            t = ctx.vars.get(name)
            return t if t is not None and t.shape == tuple(args["s"]) else None
        if op == "Runtime.hasVariable":
            return name in ctx.vars
        if op == "Runtime.variableNames":
            return tuple(reversed(list(ctx.vars)))
        return len(ctx.vars)  # Runtime.contextSize

    def observe(self, kind, x):
        if kind == "context":
            newest_first = tuple(reversed(list(x.vars.items())))
            return Result(kind, ContextState(newest_first, tuple(reversed(list(x.grads.items()))), x.next_id))
        return Result(kind, x)  # option_tensor (TensorBits or None), bool, names, nat
