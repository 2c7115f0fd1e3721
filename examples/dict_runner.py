#!/usr/bin/env python3
"""A runner for torchlean.runtime.protocol.v1, written as an outside author would: standard
library only, from docs/protocol.md and docs/vectors.md alone (no import of torchlean_runtime).

It implements the registry operations of NN.Runtime.Context over Python dicts, so registering a
name again OVERWRITES the old entry instead of shadowing it (Lean's registerVariable prepends).
`torchlean-rt replay CORPUS --target "exec:python3 examples/dict_runner.py"` finds that bug;
contextToString and the Variable module are declared unsupported (reported as not covered).
"""
import json
import sys

OPS = ["Runtime.emptyContext", "Runtime.registerVariable", "Runtime.getVariable", "Runtime.setVariable",
       "Runtime.registerGradient", "Runtime.getGradient", "Runtime.setGradient", "Runtime.clearGradients",
       "Runtime.hasVariable", "Runtime.variableNames", "Runtime.gradientNames", "Runtime.contextSize",
       "Runtime.gradientCount", "Runtime.isValidContext"]
DTYPE = {"Float": "float64", "IEEE32Exec": "float32", "Int": "int64"}


class Ctx:
    def __init__(self, vars=None, grads=None, next_id=0):
        self.vars, self.grads, self.next_id = dict(vars or {}), dict(grads or {}), next_id

    def state(self):
        entries = lambda d: [{"name": n, "value": t} for n, t in reversed(list(d.items()))]  # newest first
        return {"type": "context", "var_registry": entries(self.vars), "gradients": entries(self.grads),
                "next_id": self.next_id}


class Refused(Exception):
    def __init__(self, code):
        self.code = code


def call(env, dtype, op, a):
    ctx = env[a["ctx"]] if "ctx" in a else None
    for key in ("value", "grad"):
        if key in a and a[key]["dtype"] != dtype:
            raise Refused("TLR_SCALAR_MISMATCH")
    some = lambda t: {"type": "option_tensor", "value": t if t is not None and t["shape"] == a["s"] else None}
    if op == "Runtime.emptyContext":
        return Ctx()
    if op == "Runtime.registerVariable":
        new = Ctx(ctx.vars, ctx.grads, ctx.next_id + 1)
        new.vars[a["name"]] = a["value"]  # the bug: overwrite
        return new
    if op in ("Runtime.setVariable", "Runtime.setGradient"):
        new = Ctx(ctx.vars, ctx.grads, ctx.next_id)
        table, value = (new.vars, a["value"]) if op == "Runtime.setVariable" else (new.grads, a["grad"])
        if a["name"] in table:
            table[a["name"]] = value
        return new
    if op == "Runtime.registerGradient":
        new = Ctx(ctx.vars, ctx.grads, ctx.next_id)
        new.grads[a["name"]] = a["grad"]
        return new
    if op == "Runtime.getVariable":
        return some(ctx.vars.get(a["name"]))
    if op == "Runtime.getGradient":
        return some(ctx.grads.get(a["name"]))
    if op == "Runtime.clearGradients":
        return Ctx(ctx.vars, {}, ctx.next_id)
    if op == "Runtime.hasVariable":
        return {"type": "bool", "value": a["name"] in ctx.vars}
    if op in ("Runtime.variableNames", "Runtime.gradientNames"):
        table = ctx.vars if op == "Runtime.variableNames" else ctx.grads
        return {"type": "names", "value": list(reversed(list(table)))}
    if op in ("Runtime.contextSize", "Runtime.gradientCount"):
        return {"type": "nat", "value": len(ctx.vars if op == "Runtime.contextSize" else ctx.grads)}
    if op == "Runtime.isValidContext":
        return {"type": "bool", "value": all(n in ctx.vars for n in ctx.grads)}
    raise Refused("TLR_ARGUMENT_TYPE")


def main():
    env, dtype = {}, None
    for line in sys.stdin:
        req = json.loads(line)
        out = {"id": req["id"]}
        if req["type"] == "hello":
            out.update(type="hello", protocol="torchlean.runtime.protocol.v1", name="dict-runner", version="1",
                       scalar_types=list(DTYPE), operations=OPS)
        elif req["type"] == "reset":
            env, dtype = {}, DTYPE[req["scalar_type"]]
            out["type"] = "ok"
        elif req["type"] == "call":
            try:
                result = call(env, dtype, req["op"], req["args"])
                if isinstance(result, Ctx):
                    if req.get("bind"):
                        env[req["bind"]] = result
                    result = result.state()
                out.update(type="result", result=result)
            except Refused as e:
                out.update(type="error", code=e.code)
        else:  # shutdown
            out["type"] = "ok"
        sys.stdout.write(json.dumps(out) + "\n")
        sys.stdout.flush()
        if req["type"] == "shutdown":
            return


if __name__ == "__main__":
    main()
