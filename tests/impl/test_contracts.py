"""The three checking modes (impl/contracts.py): icontract preconditions under ``__debug__`` and
stripped by ``python -O``; refinement postconditions only with ``TORCHLEAN_RT_CHECK=refine``,
where a wrong result raises RefinementError."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import icontract

from torchlean_runtime.impl import RuntimeContext, Variable, contracts

PUBLIC = [getattr(RuntimeContext, n) for n in ("register_variable", "set_variable", "register_gradient", "set_gradient")]
# Pure queries: their plain checks are their whole precondition (see impl/context.py).
QUERIES = [getattr(RuntimeContext, n) for n in ("get_variable", "get_gradient", "has_variable")] + [Variable.has_shape]
PUBLIC += [getattr(Variable, n) for n in ("set_value", "set_gradient", "accumulate_gradient", "cast_shape", "variable_norm")]


def _run(code: str, *flags: str, refine: bool = False) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != contracts.CHECK_ENV_VAR}
    if refine:
        env[contracts.CHECK_ENV_VAR] = "refine"
    return subprocess.run([sys.executable, *flags, "-c", textwrap.dedent(code)], env=env, capture_output=True, text=True)


def test_preconditions_are_on_by_default() -> None:
    assert __debug__
    for fn in PUBLIC:
        assert icontract._checkers.find_checker(fn) is not None, fn.__qualname__
        assert fn.__preconditions__, fn.__qualname__  # type: ignore[attr-defined]


def test_queries_carry_no_precondition_wrapper_but_refuse_bad_input() -> None:
    import pytest

    from torchlean_runtime.errors import InvalidShapeError, NameTypeError

    ctx = RuntimeContext.empty()
    for fn in QUERIES:
        assert not getattr(fn, "__preconditions__", []), fn.__qualname__
    with pytest.raises(NameTypeError):
        ctx.get_variable(3, (2,))
    with pytest.raises(InvalidShapeError):
        ctx.get_gradient("w", "2")
    with pytest.raises(NameTypeError):
        ctx.has_variable(b"w")


def test_python_O_strips_every_contract_wrapper() -> None:
    out = _run(
        """
        import icontract
        from torchlean_runtime.impl import RuntimeContext, Variable
        names = [n for c in (RuntimeContext, Variable) for n, f in vars(c).items() if callable(getattr(f, '__func__', f))]
        wrapped = [n for c in (RuntimeContext, Variable) for n in dir(c)
                   if callable(getattr(c, n)) and icontract._checkers.find_checker(getattr(c, n)) is not None]
        print(__debug__, len(names) > 20, wrapped)
        """,
        "-O",
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["False", "True", "[]"]


def test_refinement_postconditions_are_off_by_default() -> None:
    assert contracts.REFINE is (os.environ.get(contracts.CHECK_ENV_VAR, "").strip().lower() == "refine")
    if not contracts.REFINE:
        assert not getattr(RuntimeContext.get_variable, "__postconditions__", [])


def test_checked_mode_runs_the_postconditions_and_they_pass_on_the_impl() -> None:
    out = _run(
        """
        import numpy as np
        from torchlean_runtime.impl import RuntimeContext, Variable, contracts, shape_eq
        assert contracts.REFINE
        assert RuntimeContext.get_variable.__postconditions__
        ctx = RuntimeContext.empty().register_variable('w', np.array([1.0, -0.0])).register_variable('w', np.zeros((0, 3)))
        ctx = ctx.set_variable('w', np.array([np.nan])).register_gradient('g', np.array([np.inf])).set_gradient('g', np.ones(2))
        ctx.get_variable('w', (1,)); ctx.get_gradient('g', (2,)); ctx.has_variable('w'); ctx.variable_names()
        ctx.gradient_names(); ctx.context_size(); ctx.gradient_count(); ctx.is_valid_context(); ctx.to_lean_string()
        ctx.clear_gradients(); RuntimeContext.empty(np.float32)
        v = Variable.create(0, 'w', np.array([3.0, 4.0], np.float32)).set_gradient(np.ones(2, np.float32))
        v = v.accumulate_gradient(np.array([np.nan, np.inf], np.float32)).set_value(np.ones(2, np.float32))
        v.variable_norm(); v.to_lean_string(); v.clone_variable(2).detach_variable().clear_gradient(); v.get_value()
        v.get_gradient(); v.check_requires_grad(); v.variable_eq(v); v.has_shape((2,)); v.cast_shape(shape_eq((2,), (2,)))
        c32 = v.register_in_context(RuntimeContext.empty()); v.get_from_context(c32); v.register_gradient_in_context(c32)
        Variable.error(c32, 'oops')
        print('ok')
        """,
        refine=True,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


def test_checked_mode_catches_a_wrong_result() -> None:
    """A registry whose set_all forgets shadowed entries is caught by set_variable's postcondition."""
    out = _run(
        """
        import numpy as np
        from torchlean_runtime.errors import RefinementError
        from torchlean_runtime.impl import RuntimeContext, registry
        def set_newest_only(self, name, array):
            chain = self.slots.get(name)
            if chain is None:
                return self
            slots = self.slots.set(name, (array, chain[1]) if type(chain) is tuple else array)
            return registry.Registry._make(self.spine, self.tail, slots, self.length)
        registry.Registry.set_all = set_newest_only
        ctx = RuntimeContext.empty().register_variable('w', np.ones(1)).register_variable('w', np.ones(2))
        try:
            ctx.set_variable('w', np.zeros(3))
        except RefinementError as exc:
            print(exc.code)
        """,
        refine=True,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "TLR_REFINEMENT"


def test_positional_calls_use_the_fast_caller_of_the_same_preconditions() -> None:
    """The fast caller evaluates icontract's very condition objects; keyword calls go through
    icontract's own wrapper.  Both refuse bad input with the same typed error."""
    import numpy as np
    import pytest

    from torchlean_runtime.errors import TorchLeanError

    raw = RuntimeContext.__dict__["register_variable"]
    checker = icontract._checkers.find_checker(raw)
    assert checker is not raw and raw.__wrapped__ is checker  # fast caller outside, icontract inside
    assert raw.__preconditions__ is checker.__preconditions__ or raw.__preconditions__ == checker.__preconditions__
    ctx = RuntimeContext.empty(np.float64)
    v = Variable.create(0, "w", np.ones(2))
    pairs = [
        (lambda: ctx.register_variable("a", np.ones(1, np.float32)), lambda: ctx.register_variable(name="a", value=np.ones(1, np.float32))),
        (lambda: ctx.set_gradient(3, np.ones(1)), lambda: ctx.set_gradient(name=3, grad=np.ones(1))),
        (lambda: v.set_value(np.ones(3)), lambda: v.set_value(new_value=np.ones(3))),
        (lambda: v.accumulate_gradient(np.ones(2, np.float32)), lambda: v.accumulate_gradient(grad=np.ones(2, np.float32))),
        (lambda: Variable.create(-1, "w", np.ones(1)), lambda: Variable.create(id=-1, name="w", value=np.ones(1))),
        (lambda: Variable.create(0, "w", np.ones(1), 1), lambda: Variable.create(0, "w", np.ones(1), requires_grad=1)),
        (lambda: v.has_shape("2"), lambda: v.has_shape(shape="2")),
        (lambda: Variable.error(RuntimeContext.empty(), "e"), lambda: Variable.error(ctx=RuntimeContext.empty(), msg="e")),
    ]
    for fast, slow in pairs:
        errors = []
        for call in (fast, slow):
            with pytest.raises(TorchLeanError) as info:
                call()
            errors.append((type(info.value), str(info.value)))
        assert errors[0] == errors[1]
    # defaults are filled as icontract fills them
    assert Variable.create(0, "w", np.ones(1)).requires_grad is True
    assert RuntimeContext.empty().dtype is None
