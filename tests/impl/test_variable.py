"""impl Variable vs the spec (NN/Runtime/Variable.lean, semantics note §5), every operation, both
float types, IEEE specials; accumulate_gradient and variable_norm bit for bit on adversarial
inputs.  Expected values come from the spec (``torchlean_runtime.spec.runtime.variable``) or, for
hand-written cases, from the Lean definition named in the test."""

from __future__ import annotations

import math

import numpy as np
import pytest

from torchlean_runtime.impl import RuntimeContext, ShapeEq, Variable, from_spec, shape_eq, to_spec
from torchlean_runtime.spec.core.shape import ofList
from torchlean_runtime.spec.runtime import context as SC
from torchlean_runtime.spec.runtime import variable as SV

F64, F32 = np.float64, np.float32
FLOATS = [F64, F32]


def bits(dtype, pattern):
    """The float of the given IEEE bit pattern."""
    uint = np.uint64 if np.dtype(dtype) == np.dtype(F64) else np.uint32
    return np.array(pattern, dtype=uint).view(dtype)


# bit patterns: ±0, ±1, smallest subnormal, largest subnormal, smallest normal, max finite,
# ±inf, quiet NaNs with payloads and both signs, signalling NaNs
SPECIALS = {
    F64: [0x0, 1 << 63, 0x3FF0000000000000, 0xBFF0000000000000, 0x1, 0x000FFFFFFFFFFFFF, 0x0010000000000000,
          0x7FEFFFFFFFFFFFFF, 0x7FF0000000000000, 0xFFF0000000000000, 0x7FF8000000000001, 0xFFF8000000000ABC,
          0x7FF0000000000005, 0xFFF0000000000007],
    F32: [0x0, 1 << 31, 0x3F800000, 0xBF800000, 0x1, 0x007FFFFF, 0x00800000, 0x7F7FFFFF, 0x7F800000, 0xFF800000,
          0x7FC00001, 0xFFC00ABC, 0x7F800005, 0xFF800007],
}


def spec_norm_matches(v: Variable) -> None:
    expected = SV.variableNorm(to_spec(v))
    got = v.variable_norm()
    assert type(got) is v.dtype.type
    assert to_spec(v).alpha.identity(got) == to_spec(v).alpha.identity(expected), (v.value, got, expected)


# --- record operations --------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", FLOATS + [np.int64])
def test_create_get_set_clear(dtype) -> None:
    """Lean ``createVariable`` (no gradient, requires_grad default true), ``getValue``,
    ``setValue``, ``getGradient``, ``setGradient``, ``clearGradient``, ``checkRequiresGrad``."""
    value = np.array([[1, 2], [3, 4]], dtype)
    v = Variable.create(7, "w", value)
    sv = SV.createVariable(7, "w", to_spec(value))
    assert to_spec(v) == sv
    assert (v.id, v.name, v.gradient, v.requires_grad, v.shape, v.dtype) == (7, "w", None, True, (2, 2), np.dtype(dtype))
    assert to_spec(v.get_value()) == SV.getValue(sv)
    assert v.get_gradient() is None and SV.getGradient(sv) is None
    assert v.check_requires_grad() is True
    new = np.array([[5, 6], [7, 8]], dtype)
    assert to_spec(v.set_value(new)) == SV.setValue(sv, to_spec(new))
    g = np.array([[1, 1], [0, 0]], dtype)
    v2, sv2 = v.set_gradient(g), SV.setGradient(sv, to_spec(g))
    assert to_spec(v2) == sv2
    assert to_spec(v2.get_gradient()) == SV.getGradient(sv2)
    assert to_spec(v2.clear_gradient()) == SV.clearGradient(sv2)
    v3 = Variable.create(0, "f", value, requires_grad=False)
    assert v3.check_requires_grad() is False
    assert to_spec(v3.set_gradient(g)) == SV.setGradient(SV.createVariable(0, "f", to_spec(value), False), to_spec(g))


def test_clone_and_detach() -> None:
    """Lean ``cloneVariable``: new id, gradient cleared; ``detachVariable``: requires_grad false,
    gradient cleared (both differ from PyTorch's clone/detach)."""
    v = Variable.create(1, "w", np.array([1.0, 2.0])).set_gradient(np.array([3.0, 4.0]))
    c = v.clone_variable(9)
    assert (c.id, c.name, c.gradient, c.requires_grad) == (9, "w", None, True)
    assert to_spec(c) == SV.cloneVariable(to_spec(v), 9)
    d = v.detach_variable()
    assert (d.id, d.gradient, d.requires_grad) == (1, None, False)
    assert to_spec(d) == SV.detachVariable(to_spec(v))


def test_variable_eq_compares_ids_and_names_only() -> None:
    """Lean ``variableEq``: ``v1.id == v2.id && v1.name == v2.name``."""
    a = Variable.create(1, "w", np.array([1.0]))
    b = Variable.create(1, "w", np.array([2.0]), requires_grad=False).set_gradient(np.array([5.0]))
    c = Variable.create(2, "w", np.array([1.0]))
    d = Variable.create(1, "v", np.array([1.0]))
    assert a.variable_eq(b) is True
    assert a.variable_eq(c) is False and a.variable_eq(d) is False
    for x, y in [(a, b), (a, c), (a, d)]:
        assert x.variable_eq(y) is SV.variableEq(to_spec(x), to_spec(y))


def test_has_shape() -> None:
    """Lean ``hasShape``: ``Shape.areEqual`` (zero dimensions keep the inner shape)."""
    v = Variable.create(0, "e", np.zeros((0, 3)))
    for shape in [(0, 3), (0, 4), (0,), (), (3, 0)]:
        assert v.has_shape(shape) is SV.hasShape(to_spec(v), ofList(shape))
    assert v.has_shape((0, 3)) and not v.has_shape((0, 4))


def test_cast_shape_with_evidence() -> None:
    """Lean ``castShape``: needs a proof of shape equality; identity on the data."""
    v = Variable.create(0, "w", np.ones((2, 3))).set_gradient(np.zeros((2, 3)))
    h = shape_eq((2, 3), (2, 3))
    assert isinstance(h, ShapeEq)
    cast = v.cast_shape(h)
    assert to_spec(cast) == SV.castShape(to_spec(v), h)
    assert cast.value.base is v.value.base and cast.gradient.base is v.gradient.base  # the same bits, no copy
    # the equality laws give evidence too, as in Lean
    assert to_spec(v.cast_shape(h.symm().trans(h))) == to_spec(v)


def test_context_interplay() -> None:
    """Lean ``registerInContext`` (= registerVariable, bumps next_id), ``getFromContext`` (at the
    variable's shape), ``registerGradientInContext`` (no gradient → ctx unchanged)."""
    ctx = RuntimeContext.empty().register_variable("w", np.array([[1.0]]))
    v = Variable.create(42, "w", np.array([5.0, 6.0]))
    assert v.get_from_context(ctx) is None  # newest "w" has shape (1, 1)
    assert to_spec(v.get_from_context(ctx)) == SV.getFromContext(to_spec(ctx), to_spec(v))
    ctx2 = v.register_in_context(ctx)
    assert to_spec(ctx2) == SV.registerInContext(to_spec(ctx), to_spec(v))
    assert ctx2.next_id == 2
    np.testing.assert_array_equal(v.get_from_context(ctx2), [5.0, 6.0])
    assert v.register_gradient_in_context(ctx2) is ctx2
    vg = v.set_gradient(np.array([0.5, 0.5]))
    ctx3 = vg.register_gradient_in_context(ctx2)
    assert to_spec(ctx3) == SV.registerGradientInContext(to_spec(ctx2), to_spec(vg))
    assert ctx3.next_id == 2 and ctx3.gradient_names() == ["w"]


def test_error_variable() -> None:
    """Lean ``error``: scalar 0, id = ctx.next_id, name = msg, no gradient, requires_grad false;
    ``variableToString`` of it: ``Variable(<msg>, id=<n>, value=0.000000, grad=none, requires_grad=false)``."""
    ctx = RuntimeContext.empty().register_variable("a", np.array(1.0)).register_variable("b", np.array(2.0))
    e = Variable.error(ctx, "not found: w")
    assert (e.id, e.name, e.gradient, e.requires_grad, e.shape) == (2, "not found: w", None, False, ())
    assert e.to_lean_string() == "Variable(not found: w, id=2, value=0.000000, grad=none, requires_grad=false)"
    assert to_spec(e) == SV.error(to_spec(ctx), "not found: w")
    assert ctx.next_id == 2  # ctx unchanged
    e32 = Variable.error(RuntimeContext.empty(), "m", dtype=np.float32)
    assert e32.dtype == np.dtype(F32) and e32.value.tobytes() == np.float32(0).tobytes()
    ei = Variable.error(RuntimeContext.empty(), "m", dtype="int64")
    assert ei.to_lean_string() == "Variable(m, id=0, value=0, grad=none, requires_grad=false)"


def test_variable_to_string() -> None:
    """Lean ``variableToString``: ``Variable(<name>, id=<id>, value=<pretty>, grad=<pretty or none>,
    requires_grad=<true|false>)``; floats print as ``%f`` (note §6)."""
    v = Variable.create(3, "w", np.array([1.0, -0.0, 1e20, np.inf, -np.inf, np.nan]))
    assert v.to_lean_string() == (
        "Variable(w, id=3, value=[1.000000, -0.000000, 100000000000000000000.000000, inf, -inf, NaN], "
        "grad=none, requires_grad=true)"
    )
    g = v.set_gradient(np.array([0.5, 0.25, 0.0, -1.0, 2.0, 1e-15])).detach_variable().set_gradient(np.full(6, -1e-15))
    assert g.to_lean_string() == (
        "Variable(w, id=3, value=[1.000000, -0.000000, 100000000000000000000.000000, inf, -inf, NaN], "
        "grad=[-0.000000, -0.000000, -0.000000, -0.000000, -0.000000, -0.000000], requires_grad=false)"
    )
    for x in (v, g, Variable.create(0, "e", np.zeros((2, 0, 3), F32)), Variable.create(0, "s", np.float32(0.1))):
        assert x.to_lean_string() == SV.variableToString(to_spec(x))
    # binary32 is widened exactly before printing: 0.1f is 0.100000001490116...
    assert Variable.create(0, "s", np.float32(0.1)).to_lean_string().startswith("Variable(s, id=0, value=0.100000,")


# --- accumulate_gradient: elementwise IEEE sum, existing first ------------------------------------


@pytest.mark.parametrize("dtype", FLOATS)
def test_accumulate_gradient_on_all_special_pairs(dtype) -> None:
    """Lean ``accumulateGradient``: none → grad; some g → ``addSpec g grad`` (existing first).
    Every ordered pair of special values, incl. NaN payloads, signalling NaNs, inf - inf."""
    sp = SPECIALS[dtype]
    existing = bits(dtype, [a for a in sp for _ in sp])
    incoming = bits(dtype, [b for _ in sp for b in sp])
    v = Variable.create(0, "w", np.zeros(len(existing), dtype))
    sv = to_spec(v)
    v1, sv1 = v.accumulate_gradient(existing), SV.accumulateGradient(sv, to_spec(existing))
    assert to_spec(v1) == sv1  # first accumulation stores the gradient as given
    v2, sv2 = v1.accumulate_gradient(incoming), SV.accumulateGradient(sv1, to_spec(incoming))
    assert to_spec(v2) == sv2


@pytest.mark.parametrize("dtype", FLOATS)
def test_accumulate_gradient_random_and_shapes(dtype) -> None:
    rng = np.random.default_rng(5)
    for shape in [(), (0,), (3, 0), (7,), (2, 3, 4)]:
        with np.errstate(over="ignore"):  # magnitudes beyond binary32 become ±inf, on purpose
            a = (rng.standard_normal(shape) * 10.0 ** rng.integers(-40, 40, shape)).astype(dtype)
            b = (rng.standard_normal(shape) * 10.0 ** rng.integers(-40, 40, shape)).astype(dtype)
        v = Variable.create(0, "w", np.zeros(shape, dtype)).accumulate_gradient(a).accumulate_gradient(b)
        sv = SV.accumulateGradient(SV.accumulateGradient(SV.createVariable(0, "w", to_spec(np.zeros(shape, dtype))), to_spec(a)), to_spec(b))
        assert to_spec(v) == sv
        assert v.gradient.shape == shape and v.gradient.dtype == np.dtype(dtype)


def test_accumulate_gradient_ignores_requires_grad_and_keeps_float32() -> None:
    v = Variable.create(0, "w", np.zeros(2, F32), requires_grad=False)
    big = np.array([3e38, 1.0], F32)
    out = v.accumulate_gradient(big).accumulate_gradient(big)
    assert out.gradient.dtype == np.dtype(F32)
    assert np.isinf(out.gradient[0])  # 6e38 overflows binary32 (it would not in binary64)
    assert out.gradient[1] == 2.0


# --- variable_norm: sqrt of the flat left fold from +0.0 ---------------------------------------------


@pytest.mark.parametrize("dtype", FLOATS)
def test_variable_norm_hand_cases(dtype) -> None:
    """Lean ``variableNorm`` = ``sqrt (sumSpec (mulSpec v v))`` (note §2, §5): empty → 0; overflow
    → inf; NaN propagates; a scalar -0.0 gives +0.0 (0 + (-0)² = +0)."""
    mk = lambda xs, shape=None: Variable.create(0, "v", np.array(xs, dtype).reshape(shape if shape else np.shape(xs)))
    assert mk([3.0, 4.0]).variable_norm() == 5.0
    assert mk([], (0, 5)).variable_norm() == 0.0
    zero = mk(-0.0).variable_norm()
    assert zero == 0.0 and math.copysign(1.0, float(zero)) == 1.0
    big = np.finfo(dtype).max
    assert np.isinf(mk([big, big]).variable_norm())
    assert np.isnan(mk([1.0, np.nan, 2.0]).variable_norm())
    for v in [mk([3.0, 4.0]), mk([], (0, 5)), mk(-0.0), mk([big, big]), mk([1.0, np.nan, 2.0])]:
        spec_norm_matches(v)


@pytest.mark.parametrize("dtype", FLOATS)
def test_variable_norm_specials(dtype) -> None:
    """Every special value alone, and NaN payload selection with several NaNs (first NaN wins)."""
    sp = SPECIALS[dtype]
    for p in sp:
        spec_norm_matches(Variable.create(0, "v", bits(dtype, [p])))
        spec_norm_matches(Variable.create(0, "v", bits(dtype, [0x1, p, sp[-1], sp[-3]])))
    spec_norm_matches(Variable.create(0, "v", bits(dtype, sp)))
    spec_norm_matches(Variable.create(0, "v", bits(dtype, sp[::-1])))


@pytest.mark.parametrize("chunk", [None, 64, 1])
@pytest.mark.parametrize("dtype", FLOATS)
def test_variable_norm_is_the_sequential_fold_not_pairwise(dtype, chunk, monkeypatch) -> None:
    """The fold differs from np.sum / np.linalg.norm on these inputs; the impl must equal the spec.
    With the chunk size lowered, the sizes straddle chunk boundaries (the running total must be
    carried across them exactly)."""
    from torchlean_runtime.impl import variable as impl_variable

    if chunk is not None:
        monkeypatch.setattr(impl_variable, "NORM_CHUNK", chunk)
    rng = np.random.default_rng(11)
    differs_from_numpy = 0
    for n in [2, 3, 63, 64, 65, 129, 1000, 5000]:
        x = (rng.standard_normal(n) * rng.choice([1e-3, 1.0, 1e3], n)).astype(dtype)
        v = Variable.create(0, "v", x.reshape(-1, 1) if n % 2 else x)
        spec_norm_matches(v)
        if np.sqrt(np.sum(x * x)) != v.variable_norm():
            differs_from_numpy += 1
    assert differs_from_numpy >= 2  # the test inputs do separate the fold from pairwise summation


@pytest.mark.parametrize("dtype", FLOATS)
def test_variable_norm_subnormals_and_cancellation_free_order(dtype) -> None:
    tiny = np.finfo(dtype).smallest_subnormal
    for xs in ([tiny] * 5, [1.0] + [tiny] * 100, [tiny] * 100 + [1.0], [1e-20, 1e20, 1e-20], [np.inf, np.nan], [np.nan, np.inf]):
        spec_norm_matches(Variable.create(0, "v", np.array(xs, dtype)))


def test_variable_norm_float32_stays_float32() -> None:
    """Every step rounds to binary32: 2e19² overflows binary32 (inf) though not binary64."""
    v = Variable.create(0, "v", np.array([2e19], F32))
    assert np.isinf(v.variable_norm()) and v.variable_norm().dtype == np.dtype(F32)
    spec_norm_matches(v)


def test_add_accumulate_is_sequential_for_1d() -> None:
    """The premise of the norm's implementation: numpy's 1-D add.accumulate is the running sum
    ``out[i] = out[i-1] + x[i]`` (checked against a Python loop), not a blocked/pairwise sum."""
    rng = np.random.default_rng(3)
    x = rng.standard_normal(5000) * 10.0 ** rng.integers(-12, 12, 5000)
    acc = np.add.accumulate(x)
    running, expected = 0.0, []
    for i, xi in enumerate(x.tolist()):
        running = xi if i == 0 else running + xi
        expected.append(running)
    assert acc.tolist() == expected


def test_int64_refuses_context_operations() -> None:
    """Lean has no ``Context Int``: accumulateGradient / variableNorm do not type-check."""
    v = Variable.create(0, "i", np.array([1, 2], np.int64))
    for call in (lambda: v.variable_norm(), lambda: v.accumulate_gradient(np.array([1, 1], np.int64))):
        with pytest.raises(Exception) as err:
            call()
        assert err.value.code == "TLR_NO_CONTEXT_INSTANCE"
    # registry operations work for Int
    ctx = v.register_in_context(RuntimeContext.empty())
    assert ctx.to_lean_string() == "Context(vars: [i: [1, 2]], grads: [])"


def test_from_spec_round_trip() -> None:
    v = Variable.create(3, "w", bits(F32, SPECIALS[F32])).set_gradient(bits(F32, SPECIALS[F32][::-1]))
    sv = to_spec(v)
    back = from_spec(sv)
    assert to_spec(back) == sv
    assert back.value.tobytes() == v.value.tobytes() and back.gradient.tobytes() == v.gradient.tobytes()


def test_immutable_and_repr() -> None:
    v = Variable.create(0, "w", np.zeros((2, 3)))
    with pytest.raises(AttributeError):
        v.id = 1  # type: ignore[misc]
    with pytest.raises(AttributeError):
        v.value = np.ones(1)  # type: ignore[misc]
    text = repr(v)
    assert "'w'" in text and "(2, 3)" in text and "float64" in text and len(text) < 120
    with pytest.raises(Exception) as err:
        Variable(0, "w", np.zeros(1))
    assert err.value.code == "TLR_ARGUMENT_TYPE"


@pytest.mark.parametrize("n", [1, 7, 33, 1000, 70_000])  # 70,000 float32: the direct result-buffer path
def test_accumulate_finds_an_invalid_sum_at_any_position_float32(n: int) -> None:
    # IEEE32Exec.add (NN/Floats/IEEEExec/Exec32.lean): inf + -inf is the canonical NaN 0x7FC00000,
    # where x86 hardware gives 0xFFC00000 — so the fix-up must find the one NaN wherever it is,
    # among finite values of either sign and the other infinities.
    for pos in sorted({0, n // 2, n - 1}):
        a = np.linspace(-3, 3, n, dtype=np.float32)
        b = np.ones(n, np.float32)
        a[pos], b[pos] = np.float32(np.inf), np.float32(-np.inf)
        if n > 2:
            a[(pos + 1) % n] = np.float32(-np.inf)  # -inf + 1 = -inf: an infinity, not a NaN
        got = Variable.create(0, "w", a).set_gradient(a).accumulate_gradient(b).gradient.view(np.uint32)
        assert got[pos] == 0x7FC00000, (n, pos, hex(int(got[pos])))
        assert not np.isnan(np.delete(got.view(np.float32), pos)).any()


def test_operations_on_stored_values_never_recheck_or_copy_them() -> None:
    """A Variable's value is a ``Tensor α s`` once made: Lean's ``variableEq`` (ids and names)
    and ``registerInContext`` / ``registerGradientInContext`` cannot fail on it.  So lowering the
    spec's structure cap afterwards changes nothing for them (the empty (1000, 0) value is not
    re-measured), and the context shares the stored arrays (no copy, even above 1000 bytes)."""
    from torchlean_runtime.spec.core.tensor import elementCap, setElementCap

    big = np.arange(500.0)  # 4000 bytes: above arrays.SHARE_MAX_BYTES
    v = Variable.create(3, "w", np.zeros((1000, 0))).set_gradient(np.ones((1000, 0)))
    u = Variable.create(4, "u", big).set_gradient(big)
    twin = Variable.create(3, "w", np.zeros((1000, 0)))
    saved = elementCap()
    setElementCap(10)
    try:
        assert v.variable_eq(twin) is True
        ctx = v.register_gradient_in_context(v.register_in_context(RuntimeContext.empty()))
        assert ctx.variable_names() == ["w"] and ctx.gradient_names() == ["w"] and ctx.next_id == 1
    finally:
        setElementCap(saved)
    ctx = u.register_gradient_in_context(u.register_in_context(RuntimeContext.empty()))
    assert ctx._variables.lookup("u", (500,)) is u._value and ctx._gradients.lookup("u", (500,)) is u._gradient
    assert ctx.get_variable("u", (500,)).tolist() == big.tolist() and ctx.dtype == np.float64
