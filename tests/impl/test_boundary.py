"""Issue 9, kinds 2 and 8: the boundary takes exact values of Lean's types.

* ndarray subclasses are read through numpy's C-level metadata and copied as base-class arrays:
  no lying ``dtype``/``shape``/``flags``/``base`` and no ``__array_ufunc__`` is ever consulted.
* names and messages are Lean ``String``s: ``str`` without lone surrogates (U+D800–U+DFFF);
  a ``str`` subclass is taken as the exact ``str`` — the same rule in the spec, the impl's
  plain path (``python -O``) and its contract path."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from torchlean_runtime.errors import TorchLeanError
from torchlean_runtime.impl import RuntimeContext, Variable, to_spec
from torchlean_runtime.spec.core.scalars import Float
from torchlean_runtime.spec.core.string import checkLeanString, isLeanString
from torchlean_runtime.spec.core.tensor import ofNested
from torchlean_runtime.spec.runtime import context as S
from torchlean_runtime.spec.runtime import variable as SV

CALLS: list[str] = []


class Liar(np.ndarray):
    """Lies about everything numpy lets a subclass override, and records every call."""

    def __array_ufunc__(self, *args, **kwargs):
        CALLS.append("__array_ufunc__")
        return NotImplemented

    def __array_function__(self, *args, **kwargs):
        CALLS.append("__array_function__")
        return NotImplemented

    def __array__(self, *args, **kwargs):
        CALLS.append("__array__")
        return np.zeros(5)

    def __array_wrap__(self, *args, **kwargs):
        CALLS.append("__array_wrap__")
        return args[0]

    def tobytes(self, *args, **kwargs):
        CALLS.append("tobytes")
        return b""

    def view(self, *args, **kwargs):
        CALLS.append("view")
        return np.zeros(5)

    dtype = property(lambda self: np.dtype(np.float64))
    shape = property(lambda self: (2,))
    flags = property(lambda self: CALLS.append("flags"))
    base = property(lambda self: CALLS.append("base"))


def liar(values, dtype=np.float64) -> Liar:
    return np.asarray(values, dtype=dtype).view(Liar)


def test_a_subclass_lying_about_its_dtype_is_refused_by_its_true_dtype() -> None:
    CALLS.clear()
    with pytest.raises(TorchLeanError) as info:
        RuntimeContext.empty(np.float64).register_variable("w", liar([1, 2], np.float16))
    assert info.value.code == "TLR_SCALAR_TYPE" and "float16" in str(info.value)
    assert CALLS == []


def test_a_subclass_is_stored_as_an_exact_copy_of_its_true_contents() -> None:
    CALLS.clear()
    x = liar([1.0, 2.0, 3.0])  # claims shape (2,)
    ctx = RuntimeContext.empty().register_variable("w", x)
    v = Variable.create(0, "w", x)
    assert ctx.get_variable("w", (3,)).tolist() == [1.0, 2.0, 3.0] and ctx.get_variable("w", (2,)) is None
    assert v.shape == (3,)
    with pytest.raises(TorchLeanError) as info:
        v.set_value(liar([1.0, 2.0]))  # true shape (2,): Lean's Tensor α s refuses another s
    assert info.value.code == "TLR_SHAPE_MISMATCH"
    np.asarray(x).view(np.ndarray)[...] = 9.0  # the caller changes its array afterwards
    assert ctx.get_variable("w", (3,)).tolist() == [1.0, 2.0, 3.0] and v.value.tolist() == [1.0, 2.0, 3.0]
    assert CALLS == []


def test_accumulate_never_hands_its_result_buffer_to_a_subclass() -> None:
    """Lean accumulateGradient: existing + grad (addSpec), computed without consulting the subclass."""
    CALLS.clear()
    v = Variable.create(0, "w", np.zeros(2)).set_gradient(np.array([1.0, 2.0]))
    out = v.accumulate_gradient(liar([0.5, 0.25]))
    assert out.gradient.tolist() == [1.5, 2.25] and out.value.tolist() == [0.0, 0.0]
    assert to_spec(out) == SV.accumulateGradient(to_spec(v), ofNested(Float, [2], [0.5, 0.25]))
    assert CALLS == []
    v0 = Variable.create(0, "w", np.zeros(2)).accumulate_gradient(liar([0.5, 0.25]))  # no gradient yet: stored as is
    assert v0.gradient.tolist() == [0.5, 0.25] and type(v0.gradient) is np.ndarray and CALLS == []


def test_a_numpy_scalar_subclass_is_its_value() -> None:
    class F(np.float64):
        def __array__(self, *args, **kwargs):
            CALLS.append("scalar __array__")
            return np.zeros(3)

    CALLS.clear()
    ctx = RuntimeContext.empty().register_variable("s", F(2.5))
    assert ctx.get_variable("s", ()).tolist() == 2.5 and CALLS == []


LONE = ["\ud800", "a\udfffb", "x" * 100 + "\udc00"]
GOOD = ["", "w", "é", "𝔼[x]", "\U0010ffff", "\ue000", "a b\n"]


@pytest.mark.parametrize("text", GOOD)
def test_lean_strings_are_accepted_everywhere(text) -> None:
    assert isLeanString(text) and checkLeanString(text, "t") == text
    ctx = RuntimeContext.empty().register_variable(text, np.ones(1))
    assert ctx.has_variable(text) and ctx.variable_names() == [text]
    assert Variable.error(ctx, text).name == text
    text.encode("utf-8")  # a Lean String always has its UTF-8 encoding
    ctx.to_lean_string().encode("utf-8")


def _bad_name_calls(name):
    ctx = RuntimeContext.empty().register_variable("w", np.ones(1))
    v = Variable.create(0, "w", np.ones(1))
    t = ofNested(Float, [1], [1.0])
    sctx = S.registerVariable(S.emptyContext(), "w", t)
    return [
        lambda: ctx.register_variable(name, np.ones(1)),
        lambda: ctx.set_variable(name, np.ones(1)),
        lambda: ctx.register_gradient(name, np.ones(1)),
        lambda: ctx.set_gradient(name, np.ones(1)),
        lambda: ctx.get_variable(name, (1,)),
        lambda: ctx.get_gradient(name, (1,)),
        lambda: ctx.has_variable(name),
        lambda: RuntimeContext.empty().get_variable(name, (1,)),  # empty registry: no early answer
        lambda: RuntimeContext.empty().has_variable(name),
        lambda: Variable.create(0, name, np.ones(1)),
        lambda: Variable.error(ctx, name),
        lambda: v and S.registerVariable(sctx, name, t),
        lambda: S.setVariable(sctx, name, t),
        lambda: S.registerGradient(sctx, name, t),
        lambda: S.setGradient(sctx, name, t),
        lambda: S.getVariable(sctx, name, [1]),
        lambda: S.getVariable(S.emptyContext(), name, [1]),
        lambda: S.getGradient(sctx, name, [1]),
        lambda: S.hasVariable(sctx, name),
        lambda: S.hasVariable(S.emptyContext(), name),
        lambda: SV.createVariable(0, name, t),
        lambda: SV.error(sctx, name),
    ]


@pytest.mark.parametrize("name", LONE)
def test_lone_surrogates_are_refused_in_spec_and_impl(name) -> None:
    assert not isLeanString(name)
    for call in _bad_name_calls(name):
        with pytest.raises(TorchLeanError) as info:
            call()
        assert info.value.code == "TLR_NAME_TYPE" and "surrogate" in str(info.value)


class Sneaky(str):
    def __eq__(self, other):
        return True

    def __hash__(self):
        return 0


def test_a_str_subclass_is_its_exact_str_in_spec_and_impl() -> None:
    """Lean has one String type: a subclass's own __eq__ must not change any lookup."""
    t = ofNested(Float, [1], [1.0])
    sctx = S.registerVariable(S.emptyContext(), Sneaky("w"), t)
    assert S.hasVariable(sctx, "w") and not S.hasVariable(sctx, Sneaky("z"))
    assert type(S.variableNames(sctx).head) is str  # stored as the exact str
    ctx = RuntimeContext.empty().register_variable(Sneaky("w"), np.ones(1))
    assert ctx.has_variable("w") and not ctx.has_variable(Sneaky("z"))
    assert type(ctx.variable_names()[0]) is str
    assert to_spec(ctx) == sctx
    assert type(SV.createVariable(0, Sneaky("v"), t).name) is str


def test_lone_surrogates_are_refused_under_python_O_too() -> None:
    """The plain path (icontract stripped) gives the same error."""
    code = (
        "import numpy as np\n"
        "from torchlean_runtime.impl import RuntimeContext, Variable\n"
        "ctx = RuntimeContext.empty().register_variable('w', np.ones(1))\n"
        "out = []\n"
        "for call in (lambda: ctx.register_variable('\\ud800', np.ones(1)), lambda: ctx.get_variable('\\ud800', (1,)),\n"
        "             lambda: Variable.create(0, '\\ud800', np.ones(1)), lambda: Variable.error(ctx, 'a\\udfff')):\n"
        "    try:\n        call(); out.append('accepted')\n"
        "    except Exception as e:\n        out.append(e.code)\n"
        "print(','.join(out))\n"
    )
    res = subprocess.run([sys.executable, "-O", "-c", code], capture_output=True, text=True, check=True)
    assert res.stdout.strip() == ",".join(["TLR_NAME_TYPE"] * 4)
