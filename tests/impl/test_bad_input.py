"""Bad input gets the project's typed errors with stable codes — the same code with icontract's
preconditions on (default) and stripped (``python -O``), where the plain checks answer."""

from __future__ import annotations

import json
import os
import textwrap
import subprocess
import sys

import numpy as np
import pytest

from torchlean_runtime.errors import InvalidShapeError, TorchLeanError
from torchlean_runtime.impl import RuntimeContext, ShapeEq, Variable, shape_eq
from torchlean_runtime.spec.core.shape import ofList


def cases():
    """(label, expected code, call) for every kind of bad input."""
    f64 = RuntimeContext.empty().register_variable("w", np.ones(2))
    empty = RuntimeContext.empty()
    v = Variable.create(0, "w", np.ones(2))
    vi = Variable.create(0, "i", np.ones(2, np.int64))
    v32 = Variable.create(0, "w", np.ones(2, np.float32))
    return [
        ("name int", "TLR_NAME_TYPE", lambda: f64.register_variable(3, np.ones(1))),
        ("name bytes", "TLR_NAME_TYPE", lambda: f64.get_variable(b"w", (2,))),
        ("name None get_gradient", "TLR_NAME_TYPE", lambda: f64.get_gradient(None, (2,))),
        ("name has_variable", "TLR_NAME_TYPE", lambda: f64.has_variable(1.5)),
        ("name set_gradient", "TLR_NAME_TYPE", lambda: f64.set_gradient(["w"], np.ones(2))),
        ("name create", "TLR_NAME_TYPE", lambda: Variable.create(0, 5, np.ones(1))),
        ("name error msg", "TLR_NAME_TYPE", lambda: Variable.error(f64, 5)),
        ("list value", "TLR_ARGUMENT_TYPE", lambda: f64.register_variable("a", [1.0, 2.0])),
        ("float value", "TLR_ARGUMENT_TYPE", lambda: f64.set_variable("w", 1.0)),
        ("masked array", "TLR_ARGUMENT_TYPE", lambda: empty.register_variable("a", np.ma.masked_array([1.0]))),
        ("matrix", "TLR_ARGUMENT_TYPE", lambda: empty.register_variable("a", np.matrix([[1.0]]))),
        ("int32 dtype", "TLR_SCALAR_TYPE", lambda: empty.register_variable("a", np.ones(2, np.int32))),
        ("bool dtype", "TLR_SCALAR_TYPE", lambda: empty.register_gradient("a", np.ones(2, bool))),
        ("float16 dtype", "TLR_SCALAR_TYPE", lambda: Variable.create(0, "a", np.ones(2, np.float16))),
        ("object dtype", "TLR_SCALAR_TYPE", lambda: empty.register_variable("a", np.array([1.0], dtype=object))),
        ("complex dtype", "TLR_SCALAR_TYPE", lambda: empty.register_variable("a", np.ones(1, complex))),
        ("big-endian", "TLR_SCALAR_TYPE", lambda: empty.register_variable("a", np.ones(1, ">f8"))),
        ("empty dtype", "TLR_SCALAR_TYPE", lambda: RuntimeContext.empty(np.int8)),
        ("mix dtypes register", "TLR_SCALAR_MISMATCH", lambda: f64.register_variable("b", np.ones(1, np.float32))),
        ("mix dtypes gradient", "TLR_SCALAR_MISMATCH", lambda: f64.register_gradient("w", np.ones(2, np.int64))),
        ("mix dtypes set absent", "TLR_SCALAR_MISMATCH", lambda: f64.set_variable("zz", np.ones(2, np.float32))),
        ("mix dtypes set_value", "TLR_SCALAR_MISMATCH", lambda: v.set_value(np.ones(2, np.float32))),
        ("mix dtypes accumulate", "TLR_SCALAR_MISMATCH", lambda: v32.accumulate_gradient(np.ones(2))),
        ("mix dtypes register_in_context", "TLR_SCALAR_MISMATCH", lambda: v32.register_in_context(f64)),
        ("mix dtypes get_from_context", "TLR_SCALAR_MISMATCH", lambda: v32.get_from_context(f64)),
        ("mix dtypes variable_eq", "TLR_SCALAR_MISMATCH", lambda: v.variable_eq(v32)),
        ("mix dtypes error", "TLR_SCALAR_MISMATCH", lambda: Variable.error(f64, "e", dtype=np.float32)),
        ("shape str", "TLR_INVALID_SHAPE", lambda: f64.get_variable("w", "2")),
        ("shape set", "TLR_INVALID_SHAPE", lambda: f64.get_variable("w", {2})),
        ("shape ndarray", "TLR_INVALID_SHAPE", lambda: f64.get_variable("w", np.array([2]))),
        ("shape list of floats", "TLR_INVALID_SHAPE", lambda: f64.get_gradient("w", [2.0])),
        ("shape list too deep", "TLR_INVALID_SHAPE", lambda: v.has_shape([1] * 65)),
        ("shape negative", "TLR_INVALID_SHAPE", lambda: f64.get_variable("w", (-1,))),
        ("shape float dim", "TLR_INVALID_SHAPE", lambda: f64.get_gradient("w", (2.0,))),
        ("shape bool dim", "TLR_INVALID_SHAPE", lambda: f64.get_variable("w", (True,))),
        ("shape int", "TLR_INVALID_SHAPE", lambda: v.has_shape(2)),
        ("shape too deep", "TLR_INVALID_SHAPE", lambda: f64.get_variable("w", (1,) * 65)),
        ("set_value shape", "TLR_SHAPE_MISMATCH", lambda: v.set_value(np.ones(3))),
        ("set_gradient shape", "TLR_SHAPE_MISMATCH", lambda: v.set_gradient(np.ones((2, 1)))),
        ("accumulate shape", "TLR_SHAPE_MISMATCH", lambda: v.accumulate_gradient(np.ones(()))),
        ("variable_eq shape", "TLR_SHAPE_MISMATCH", lambda: v.variable_eq(Variable.create(0, "w", np.ones(3)))),
        ("norm int", "TLR_NO_CONTEXT_INSTANCE", lambda: vi.variable_norm()),
        ("accumulate int", "TLR_NO_CONTEXT_INSTANCE", lambda: vi.accumulate_gradient(np.ones(2, np.int64))),
        ("cast no evidence", "TLR_CAST_EVIDENCE", lambda: v.cast_shape((2,))),
        ("cast wrong evidence", "TLR_CAST_EVIDENCE", lambda: v.cast_shape(ShapeEq.refl(ofList([3])))),
        ("evidence unequal", "TLR_CAST_EVIDENCE", lambda: shape_eq((2,), (3,))),
        ("forged evidence", "TLR_CAST_EVIDENCE", lambda: ShapeEq(ofList([2]), ofList([3]))),
        ("id negative", "TLR_ARGUMENT_TYPE", lambda: Variable.create(-1, "w", np.ones(1))),
        ("id bool", "TLR_ARGUMENT_TYPE", lambda: Variable.create(True, "w", np.ones(1))),
        ("id float", "TLR_ARGUMENT_TYPE", lambda: v.clone_variable(1.0)),
        ("requires_grad int", "TLR_ARGUMENT_TYPE", lambda: Variable.create(0, "w", np.ones(1), requires_grad=1)),
        ("ctx not a context", "TLR_ARGUMENT_TYPE", lambda: v.register_in_context("ctx")),
        ("ctx spec context", "TLR_ARGUMENT_TYPE", lambda: v.get_from_context(object())),
        ("variable_eq non-variable", "TLR_ARGUMENT_TYPE", lambda: v.variable_eq("w")),
        ("error without dtype", "TLR_ARGUMENT_TYPE", lambda: Variable.error(empty, "e")),
        ("error bad ctx", "TLR_ARGUMENT_TYPE", lambda: Variable.error(None, "e")),
    ]


def codes(with_messages: bool = False) -> dict[str, str]:
    out = {}
    for label, _, call in cases():
        try:
            call()
            out[label] = "no error"
        except TorchLeanError as exc:
            out[label] = f"{exc.code} {exc}" if with_messages else exc.code
        except Exception as exc:  # an untyped error is a failure of the test below
            out[label] = f"untyped {type(exc).__name__}: {exc}"
    return out


EXPECTED = {label: code for label, code, _ in cases()}


@pytest.mark.filterwarnings("ignore::PendingDeprecationWarning")  # np.matrix, refused on purpose
def test_every_bad_input_gets_its_code_with_contracts() -> None:
    assert __debug__, "run the suite without -O; the -O run is the subprocess test below"
    assert codes() == EXPECTED


@pytest.mark.filterwarnings("ignore::PendingDeprecationWarning")
def test_every_bad_input_gets_the_same_code_and_message_under_python_O() -> None:
    """The precondition's error factory re-runs the plain check, so even the messages agree."""
    out = subprocess.run([sys.executable, "-O", __file__], capture_output=True, text=True, check=True)
    got = json.loads(out.stdout)
    assert got.pop("__debug__") is False
    assert {label: text.split(" ", 1)[0] for label, text in got.items()} == EXPECTED
    assert got == codes(with_messages=True)


def test_contract_messages_name_the_condition() -> None:
    with pytest.raises(TorchLeanError) as err:
        Variable.create(0, "w", np.ones(2)).set_value(np.ones(3))
    assert err.value.code == "TLR_SHAPE_MISMATCH"
    assert "shape" in str(err.value)


def test_failed_operations_leave_their_inputs_unchanged() -> None:
    """Checks run before any state is built: after every failure, the inputs abstract as before."""
    from torchlean_runtime.impl import to_spec

    ctx = RuntimeContext.empty().register_variable("w", np.ones(2)).register_gradient("w", np.ones(2))
    v = Variable.create(0, "w", np.ones(2)).set_gradient(np.ones(2))
    before_ctx, before_v = to_spec(ctx), to_spec(v)
    for call in (lambda: ctx.register_variable("x", np.ones(1, np.float32)), lambda: ctx.set_variable("w", [1.0]),
                 lambda: v.accumulate_gradient(np.ones(3)), lambda: v.set_value(np.ones(1, np.int64))):
        with pytest.raises(TorchLeanError):
            call()
    assert to_spec(ctx) == before_ctx and to_spec(v) == before_v


if __name__ == "__main__":  # the -O subprocess above
    import warnings

    warnings.simplefilter("ignore", PendingDeprecationWarning)
    result: dict = {"__debug__": __debug__}
    result.update(codes(with_messages=True))
    print(json.dumps(result))


class _Index:
    """A dimension with a hostile ``__index__``: raises, returns a str, or answers 1 and then -5."""

    def __init__(self, answers):
        self.answers = list(answers)

    def __index__(self):
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        return answer

    def __repr__(self):
        raise RuntimeError("a hostile __repr__")


@pytest.mark.parametrize("answers", [[RuntimeError("boom")], ["2"], [1, -5], [2**70]])
def test_hostile_index_in_a_shape_is_invalid_shape_or_read_once(answers) -> None:
    """Lean ``Shape`` dims are Nats: an item whose ``__index__`` raises or returns a non-int is no
    dimension (TLR_INVALID_SHAPE, even when its ``__repr__`` raises too); one that answers 1 then
    -5 is read once, so the check and the use see the same value."""
    from torchlean_runtime.impl.arrays import check_shape

    ctx = RuntimeContext.empty().register_variable("w", np.ones(1))
    if isinstance(answers[0], int):
        first = answers[0]
        assert check_shape((_Index(answers),), "t") == (first,)
        got = ctx.get_variable("w", (_Index(answers),))
        assert (got is not None) is (first == 1)
        return
    for call in (lambda: check_shape((_Index(answers),), "t"), lambda: ctx.get_variable("w", (_Index(answers),)),
                 lambda: ctx.get_gradient("w", [_Index(answers)])):
        with pytest.raises(InvalidShapeError) as caught:
            call()
        assert caught.value.code == "TLR_INVALID_SHAPE"


class _LyingLen(list):
    """A shape whose ``__len__`` answers 1 once, then 10**12 (it would build a tuple until memory
    runs out if the length were read twice)."""

    def __init__(self, *args):
        super().__init__(*args)
        self.len_calls = 0

    def __len__(self):
        self.len_calls += 1
        return 1 if self.len_calls == 1 else 10**12

    def __getitem__(self, i):
        return 2


def test_a_shape_whose_len_changes_is_read_once() -> None:
    """A shape is a sequence of at most MAX_RANK dims: its length is read once, so a ``__len__``
    answering 1 then 10**12 gives the 1-dim shape (2,) on every path (check_shape, get_variable,
    has_shape) in bounded time — never a 10**12-item walk."""
    from torchlean_runtime.impl.arrays import check_shape

    ctx = RuntimeContext.empty().register_variable("w", np.zeros(2))
    lying = _LyingLen([2])
    assert check_shape(lying, "t") == (2,) and lying.len_calls == 1
    lying = _LyingLen([2])
    assert ctx.get_variable("w", lying).tolist() == [0.0, 0.0] and lying.len_calls == 1
    lying = _LyingLen([2])
    assert Variable.create(0, "v", np.zeros(2)).has_shape(lying) is True and lying.len_calls == 1


def test_shape_evidence_copies_and_pickles_without_forgery() -> None:
    """``ShapeEq`` (Lean's proof ``s₁ = s₂``) is immutable: copy/deepcopy give it back, a pickle
    round trip gives equal evidence, and unpickling decides the equality again, so a pickle
    naming two different shapes raises CastEvidenceError (TLR_CAST_EVIDENCE) instead of
    forging evidence."""
    import copy
    import pickle

    from torchlean_runtime.errors import CastEvidenceError

    h = shape_eq((2,), (2,))
    assert copy.copy(h) is h and copy.deepcopy(h) is h
    assert pickle.loads(pickle.dumps(h)) == h
    fn, args = h.__reduce__()  # what a pickle stores: the reconstructor and its arguments
    with pytest.raises(CastEvidenceError) as caught:
        fn(args[0], ofList([3]))  # a pickle whose second shape was edited
    assert caught.value.code == "TLR_CAST_EVIDENCE"


class _Changing:
    """A dimension whose ``__index__`` answers ``first`` once, then ``later`` forever."""

    def __init__(self, first, later):
        self.first, self.later, self.calls = first, later, 0

    def __index__(self):
        self.calls += 1
        return self.first if self.calls == 1 else self.later


_MODES = {"default": [], "-O": ["-O"], "refine": []}


@pytest.mark.parametrize("mode", sorted(_MODES))
def test_every_shape_query_reads_the_callers_shape_once_in_every_mode(mode) -> None:
    """Lean's ``hasShape``/``getVariable``/``getGradient`` take a Shape value: the impl reads
    the caller's shape once, so a dimension answering 1 and then -5 is the shape (1,) in every
    checking mode (contracts on, -O, refine) — True / the array, never TLR_INVALID_SHAPE,
    TLR_CONTRACT or TLR_REFINEMENT from a second reading."""
    code = textwrap.dedent("""
        import numpy as np
        from torchlean_runtime.impl import RuntimeContext, Variable
        class D:
            def __init__(self): self.calls = 0
            def __index__(self):
                self.calls += 1
                return 1 if self.calls == 1 else -5
        v = Variable.create(0, "v", np.ones(1))
        ctx = RuntimeContext.empty().register_variable("w", np.ones(1)).register_gradient("w", np.ones(1))
        d1, d2, d3, d4 = D(), D(), D(), D()
        print(v.has_shape((d1,)), ctx.get_variable("w", (d2,)).shape, ctx.get_gradient("w", [d3]).shape,
              v.has_shape(shape=(d4,)), d1.calls, d2.calls, d3.calls, d4.calls)
    """)
    env = {k: val for k, val in os.environ.items() if k != "TORCHLEAN_RT_CHECK"}
    if mode == "refine":
        env["TORCHLEAN_RT_CHECK"] = "refine"
    done = subprocess.run([sys.executable, *_MODES[mode], "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["True", "(1,)", "(1,)", "True", "1", "1", "1", "1"]


@pytest.mark.parametrize("bad", [_Index([RuntimeError("boom")]), _Index(["3"])])
def test_the_spec_refuses_a_hostile_dimension_with_a_typed_error(bad) -> None:
    """Lean ``Shape.ofList`` takes Nats: the spec's ofList / Shape.dim / ShapeEq refuse a
    dimension whose ``__index__`` raises or returns a non-int, and objects whose ``__iter__`` or
    ``__repr__`` raise, with TLR_INVALID_SHAPE / TLR_CAST_EVIDENCE (never a raw exception)."""
    from torchlean_runtime.errors import CastEvidenceError
    from torchlean_runtime.spec.core.shape import ShapeEq

    class NoIter:
        def __iter__(self):
            raise RuntimeError("iter")

        def __repr__(self):
            raise RuntimeError("repr")

    for call in (lambda: ofList([bad]), lambda: ofList(NoIter()), lambda: ofList([NoIter()])):
        with pytest.raises(InvalidShapeError) as caught:
            call()
        assert caught.value.code == "TLR_INVALID_SHAPE"
    with pytest.raises(CastEvidenceError) as caught:
        ShapeEq.check(NoIter(), 1)
    assert caught.value.code == "TLR_CAST_EVIDENCE"


class _BadRepr:
    """An argument of no accepted type whose ``__repr__``, ``__str__`` and ``__int__`` raise."""

    def __repr__(self):
        raise RuntimeError("a hostile __repr__")

    __str__ = __repr__

    def __int__(self):
        raise RuntimeError("a hostile __int__")


def _public_calls():
    """(label, callable, valid arguments) for every public method of the impl taking arguments."""
    ctx = RuntimeContext.empty().register_variable("w", np.zeros(1)).register_gradient("w", np.zeros(1))
    v = Variable.create(0, "w", np.zeros(1)).set_gradient(np.zeros(1))
    valid = {"name": "w", "shape": (1,), "value": np.zeros(1), "grad": np.zeros(1), "new_value": np.zeros(1),
             "dtype": None, "id": 0, "new_id": 1, "requires_grad": True, "ctx": ctx, "other": v, "msg": "m",
             "evidence": shape_eq((1,), (1,))}
    import inspect

    for cls, receiver in ((RuntimeContext, ctx), (Variable, v)):
        for attr, raw in sorted(vars(cls).items()):
            if attr.startswith("_"):
                continue
            static = isinstance(raw, staticmethod)
            fn = raw.__func__ if static else raw
            if not callable(fn):
                continue
            params = [p for p in inspect.signature(fn).parameters if p != "self"]
            if params:
                yield f"{cls.__name__}.{attr}", getattr(cls if static else receiver, attr), [valid[p] for p in params]


def test_no_public_call_lets_a_hostile_repr_escape_its_typed_error() -> None:
    """Each argument position of every public impl method, given an object of no accepted type
    whose ``__repr__``/``__str__``/``__int__`` raise: the call raises the project's typed error
    (a TorchLeanError with a TLR_ code) — the message must not call the hostile ``__repr__``."""
    seen = 0
    for label, call, args in _public_calls():
        for i in range(len(args)):
            bad = list(args)
            bad[i] = _BadRepr()
            try:
                call(*bad)
            except TorchLeanError as exc:
                assert exc.code.startswith("TLR_"), (label, i, exc.code)
            except Exception as exc:  # noqa: BLE001 - the defect this test looks for
                pytest.fail(f"{label} argument {i}: {type(exc).__name__}: {exc}")
            seen += 1
    assert seen >= 25  # every argument of the ~20 methods that take one


class _EvilNat(int):
    """An int subclass whose own methods lie about its value (it is 3, or 7...)."""

    def __int__(self):
        return -5

    def __index__(self):
        return -5

    def __ge__(self, other):
        return True

    def __lt__(self, other):
        return False


def test_an_int_subclass_counts_as_its_value_never_as_its_overrides() -> None:
    """Lean ``Nat``s (``id``, ``new_id``, ``next_id``): an int subclass is the Nat its value is —
    ``_EvilNat(3)`` is 3 in the impl and in the spec, an exact ``int`` — whatever its ``__int__``,
    ``__index__`` or comparisons answer; ``_EvilNat(-3)`` is no Nat (TLR_ARGUMENT_TYPE)."""
    import pickle

    from torchlean_runtime.impl import tensor_to_spec, to_spec
    from torchlean_runtime.impl.context import _unpickle
    from torchlean_runtime.spec.runtime import variable as SV

    v = Variable.create(_EvilNat(3), "w", np.zeros(2))
    assert v.id == 3 and type(v.id) is int and v.to_lean_string().startswith("Variable(w, id=3,")
    s = SV.createVariable(_EvilNat(3), "w", tensor_to_spec(np.zeros(2)))
    assert s.id == 3 and type(s.id) is int and to_spec(v) == s
    assert v.clone_variable(_EvilNat(7)).id == 7
    assert pickle.loads(pickle.dumps(v)).id == 3
    ctx = _unpickle([], [], _EvilNat(3), None)
    assert ctx.next_id == 3 and type(ctx.next_id) is int and ctx.register_variable("a", np.zeros(1)).next_id == 4
    for call in (lambda: Variable.create(_EvilNat(-3), "w", np.zeros(2)), lambda: v.clone_variable(_EvilNat(-1)),
                 lambda: _unpickle([], [], _EvilNat(-2), None)):
        with pytest.raises(TorchLeanError) as caught:
            call()
        assert caught.value.code == "TLR_ARGUMENT_TYPE"
