"""The precedence rule of docs/vectors.md ("Precedence"), on spec and impl: when several codes
apply, TLR_NO_CONTEXT_INSTANCE (no Context Int instance in Lean: the operation does not exist at
α = Int), then TLR_SCALAR_MISMATCH (Lean's one α), then TLR_SHAPE_MISMATCH (the Variable's s)."""

from __future__ import annotations

import numpy as np
import pytest

from torchlean_runtime.conformance.target import open_target
from torchlean_runtime.conformance.vectors.bits import TensorBits

OTHER = {"Float": np.float32, "IEEE32Exec": np.float64, "Int": np.float64}
OWN = {"Float": np.float64, "IEEE32Exec": np.float32, "Int": np.int64}


@pytest.mark.parametrize("target", ["spec", "impl"])
@pytest.mark.parametrize("alpha", ["Float", "IEEE32Exec", "Int"])
def test_precedence(target, alpha):
    t = open_target(target)
    t.reset(alpha)
    own2 = TensorBits.from_array(np.zeros(2, OWN[alpha]))
    other3 = TensorBits.from_array(np.zeros(3, OTHER[alpha]))  # wrong dtype AND wrong shape
    own3 = TensorBits.from_array(np.zeros(3, OWN[alpha]))  # wrong shape only
    t.call("Runtime.Variable.createVariable", {"id": 0, "name": "w", "value": own2}, "v0")

    def code(op, **args):
        return t.call(op, args).code

    assert code("Runtime.Variable.setValue", v="v0", new_value=other3) == "TLR_SCALAR_MISMATCH"
    assert code("Runtime.Variable.setGradient", v="v0", grad=other3) == "TLR_SCALAR_MISMATCH"
    assert code("Runtime.Variable.setValue", v="v0", new_value=own3) == "TLR_SHAPE_MISMATCH"
    accumulate = code("Runtime.Variable.accumulateGradient", v="v0", grad=other3)
    assert accumulate == ("TLR_NO_CONTEXT_INSTANCE" if alpha == "Int" else "TLR_SCALAR_MISMATCH")
    accumulate = code("Runtime.Variable.accumulateGradient", v="v0", grad=own3)
    assert accumulate == ("TLR_NO_CONTEXT_INSTANCE" if alpha == "Int" else "TLR_SHAPE_MISMATCH")
