"""impl/kernels.py: the optional numba kernels are bit-identical to the numpy paths of
``Variable.variable_norm`` (Lean ``Runtime.Variable.variableNorm`` = ``sqrt (sumSpec (mulSpec v v))``,
a left fold from 0 in row-major order) and ``Variable.accumulate_gradient`` (Lean
``Runtime.Variable.accumulateGradient`` = ``setGradient v (addSpec existing grad)``, each element
spec ``Float.add`` / ``IEEE32Exec.add`` with their NaN rules), their probe rejects a wrong
kernel, and the package works without them."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

from torchlean_runtime.impl import Variable, kernels
from torchlean_runtime.impl.abstraction import tensor_from_spec, tensor_to_spec
from torchlean_runtime.spec.core.scalars import F32_QUIET_BIT, F64_QUIET_BIT
from torchlean_runtime.spec.runtime import variable as SV

UINT = {np.float64: np.uint64, np.float32: np.uint32}
QUIET = {np.float64: F64_QUIET_BIT, np.float32: F32_QUIET_BIT}


def bits(x) -> tuple[str, bytes]:
    a = np.asarray(x)
    return a.dtype.str, a.tobytes()


def numpy_path(value: np.ndarray):
    saved, kernels.NORM = kernels.NORM, None
    try:
        return Variable.create(0, "w", value).variable_norm()
    finally:
        kernels.NORM = saved


def signalling_nan(dtype, payload: int):
    return (np.array(np.inf, dtype).view(UINT[dtype]) | UINT[dtype](payload)).view(dtype)


def sample_arrays(count: int, seed: int) -> list[np.ndarray]:
    """``count`` arrays per dtype: random magnitudes, zeros, subnormals, infs, NaNs with payloads
    (signalling and quiet), in C, Fortran, transposed and strided layouts, 0-d and empty."""
    rng = np.random.default_rng(seed)
    out = []
    for dtype in (np.float64, np.float32):
        info = np.finfo(dtype)
        specials = [dtype(0), -dtype(0), info.tiny / dtype(8), info.max, dtype(np.inf), dtype(-np.inf),
                    signalling_nan(dtype, 1), signalling_nan(dtype, QUIET[dtype] | 5), dtype(np.nan), -dtype(np.nan)]
        for _ in range(count):
            n = int(rng.integers(0, 200))
            with np.errstate(over="ignore"):  # float32 magnitudes overflow to inf on purpose
                a = (rng.standard_normal(n) * 10.0 ** rng.integers(-40, 40)).astype(dtype)
            for i in rng.integers(0, max(n, 1), size=int(rng.integers(0, 3))) if n else []:
                a[i] = specials[int(rng.integers(0, len(specials)))]
            layout = int(rng.integers(0, 4))
            if layout == 1 and n >= 6:
                a = a[: n - n % 6].reshape(-1, 6).T  # transposed view
            elif layout == 2 and n >= 6:
                a = np.asfortranarray(a[: n - n % 6].reshape(-1, 6))
            elif layout == 3:
                a = a[::2]
            out.append(a)
        out += [np.array(dtype(3)), np.zeros((0, 4), dtype)]
    return out


def test_reference_norm_follows_the_lean_definition() -> None:
    # sqrt((0 + 3*3) + 4*4) = 5 exactly, in both scalar types
    assert bits(kernels.reference_norm(np.array([3.0, 4.0]))) == bits(np.float64(5.0))
    assert bits(kernels.reference_norm(np.array([3, 4], np.float32))) == bits(np.float32(5.0))
    # float32 stays float32: 1e20² overflows binary32 to inf (it would not in binary64)
    assert kernels.reference_norm(np.array([1e20], np.float32)) == np.float32(np.inf)
    # a left fold from 0: squares 4, then sixteen 2^-52 — each add is below half an ulp of 4 and
    # rounds back to 4, so the norm is exactly 2 (summed first, the small squares would reach 2^-48)
    x = np.array([2.0] + [2.0 ** -26] * 16)
    assert bits(kernels.reference_norm(x)) == bits(np.float64(2.0))
    assert bits(numpy_path(x)) == bits(np.float64(2.0))
    # NaN: the first NaN element, quieted (spec Float mul/add and IEEE32Exec prefer the first NaN)
    for dtype in (np.float64, np.float32):
        a = np.array([1.0, 0.0, 2.0, 0.0], dtype)
        a[1], a[3] = signalling_nan(dtype, 3), signalling_nan(dtype, 1)
        expected = (np.array(a[1]).view(UINT[dtype]) | UINT[dtype](QUIET[dtype])).view(dtype)
        assert bits(kernels.reference_norm(a)) == bits(expected)


def test_numpy_path_equals_the_reference_on_a_sample() -> None:
    """The numpy path (no kernel) against the one-operation-at-a-time reference: sampled 2x120 arrays."""
    for a in sample_arrays(60, seed=1):
        assert bits(numpy_path(a)) == bits(kernels.reference_norm(a)), (a.dtype, a.shape, a)


def test_kernel_is_bit_identical_to_the_numpy_path(fast_kernels) -> None:
    """Both paths of variable_norm on the same arrays: sampled 2x300 arrays, every scalar type,
    NaN payloads, infs, subnormals and memory layouts."""
    for a in sample_arrays(300, seed=2):
        fast = Variable.create(0, "w", a).variable_norm()  # dispatches to the kernel
        assert bits(fast) == bits(kernels.NORM(a)) == bits(numpy_path(a)), (a.dtype, a.shape, a)


def test_the_package_works_without_the_kernel() -> None:
    """With the kernel disabled (as without numba) NORM is None and variable_norm still answers."""
    code = ("import numpy as np; from torchlean_runtime.impl import Variable, kernels; "
            "assert kernels.NORM is None, kernels.STATUS; "
            "print(Variable.create(0, 'w', np.array([3.0, 4.0])).variable_norm())")
    env = {**os.environ, kernels.ENV_VAR: "0"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "5.0"


# --- accumulate_gradient ---------------------------------------------------------------------------


def spec_accumulate(existing: np.ndarray, grad: np.ndarray) -> np.ndarray:
    """The expected gradient by the spec itself: Lean ``Runtime.Variable.accumulateGradient``
    (``spec.runtime.variable.accumulateGradient``: ``addSpec existing grad``, existing first),
    through the abstraction's tensor conversion only."""
    v = SV.setGradient(SV.createVariable(0, "w", tensor_to_spec(existing)), tensor_to_spec(existing))
    return tensor_from_spec(SV.accumulateGradient(v, tensor_to_spec(grad)).gradient)


def accumulate(existing: np.ndarray, grad: np.ndarray, kernel: bool) -> np.ndarray:
    """``Variable.accumulate_gradient`` through one path: the kernel (counted, and required to
    have run when the operands allow it) or the numpy path (``kernels.ACCUMULATE = None``)."""
    v = Variable.create(0, "w", existing).set_gradient(existing)
    saved, calls = kernels.ACCUMULATE, []
    if kernel:
        kernels.ACCUMULATE = lambda out, a, b: calls.append(1) or saved(out, a, b)
    else:
        kernels.ACCUMULATE = None
    try:
        result = v.accumulate_gradient(grad).gradient
    finally:
        kernels.ACCUMULATE = saved
    if kernel:
        dispatchable = grad.size >= kernels.ACCUMULATE_MIN_ELEMENTS and grad.flags.c_contiguous and grad.flags.aligned
        assert len(calls) == int(dispatchable), (grad.shape, grad.strides, calls)
    return result


def special_values(dtype) -> np.ndarray:
    """±0, subnormals, ±max (overflow), ±inf (inf + -inf is invalid), 1, and NaNs: signalling
    and quiet, with payloads, of both signs."""
    info = np.finfo(dtype)
    uint = UINT[dtype]
    inf = int(np.array(np.inf, dtype).view(uint))
    sign = int(np.array(-0.0, dtype).view(uint))
    quiet = QUIET[dtype]
    nans = np.array([inf | 1, inf | 0x6, sign | inf | 0x3, inf | quiet, inf | quiet | 0x9, sign | inf | quiet | 0x2],
                    uint).view(dtype)
    return np.concatenate([nans, np.array([0.0, -0.0, info.tiny / 4, -info.tiny / 8, info.tiny, info.max, -info.max,
                                           np.inf, -np.inf, 1.0, -2.5], dtype)])


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
def test_accumulate_numpy_path_follows_the_spec_on_every_special_pair(dtype) -> None:
    """Every (existing, grad) pair of special values, one element each position of a 289-element
    array: the numpy path equals Lean accumulateGradient (spec), bit for bit."""
    s = special_values(dtype)
    existing, grad = np.repeat(s, s.size), np.tile(s, s.size)
    assert bits(accumulate(existing, grad, kernel=False)) == bits(spec_accumulate(existing, grad))


@pytest.mark.parametrize("kernel", [True, False], ids=["kernel", "numpy-path"])
def test_accumulate_spec_nan_rules_by_hand(fast_kernels, kernel) -> None:
    """The rules both paths must reproduce, written down from spec.core.scalars (Float's
    ``_float_binary``; IEEE32Exec's ``_f32_choose_nan2`` and canonical NaN) at a few positions."""
    f64, f32 = special_values(np.float64), special_values(np.float32)
    q64, q32 = np.uint64(F64_QUIET_BIT), np.uint32(F32_QUIET_BIT)
    # Float: the FIRST NaN operand, quieted (existing first) — s[0] is a signalling NaN, s[3] quiet
    a, b = np.full(70, 1.0), np.full(70, 1.0)
    a[5], b[5] = f64[3], f64[0]
    got = accumulate(a, b, kernel=kernel).view(np.uint64)
    assert got[5] == f64[3:4].view(np.uint64)[0] | q64 and (got[np.arange(70) != 5] == np.float64(2.0).view(np.uint64)).all()
    # IEEE32Exec: signalling NaN in grad beats a quiet NaN in existing; inf + -inf → 0x7FC00000
    a, b = np.full(70, 1.0, np.float32), np.full(70, 1.0, np.float32)
    a[5], b[5] = f32[3], f32[1]
    a[6], b[6] = np.inf, -np.inf
    got = accumulate(a, b, kernel=kernel).view(np.uint32)
    assert got[5] == f32[1:2].view(np.uint32)[0] | q32 and got[6] == 0x7FC00000


def accumulate_pairs(count: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """``count`` (existing, grad) pairs per dtype: sizes around the dispatch bound and up to 3,000,
    random magnitudes (overflow and subnormal sums included), special values scattered in either
    operand; grad C-ordered, Fortran-ordered, transposed, strided, read-only or misaligned; 0-d and
    1-element."""
    rng = np.random.default_rng(seed)
    out = []
    for dtype in (np.float64, np.float32):
        specials = special_values(dtype)
        for _ in range(count):
            n = int(rng.choice([int(rng.integers(1, 200)), int(rng.integers(200, 3000))]))
            info = np.finfo(dtype)
            # sums near the top (overflow to inf), among the subnormals, or of ordinary magnitudes
            scale = [float(info.max) / 2, float(info.tiny) * 4, 10.0 ** int(rng.integers(-30, 30))][int(rng.integers(0, 3))]
            with np.errstate(over="ignore"):
                a = (rng.standard_normal(n) * scale).astype(dtype)
                b = (rng.standard_normal(n) * scale).astype(dtype)
            for arr in (a, b):
                k = int(rng.integers(0, 4))
                arr[rng.integers(0, n, size=k)] = specials[rng.integers(0, specials.size, size=k)]
            layout = int(rng.integers(0, 6))
            m = n - n % 6
            if layout == 1 and m:
                a, b = a[:m].reshape(-1, 6), np.asfortranarray(b[:m].reshape(-1, 6))
            elif layout == 2 and m:
                a, b = a[:m].reshape(6, -1), b[:m].reshape(-1, 6).T
            elif layout == 3:
                a, b = a[: (n + 1) // 2], b[::2]
            elif layout == 4:
                b.flags.writeable = False
            elif layout == 5:  # misaligned: one byte into a buffer (numba's signatures are aligned only)
                raw = np.zeros(b.nbytes + 1, np.uint8)
                moved = raw[1:].view(dtype)
                moved[:] = b
                b = moved
            out.append((a, b))
        out += [(np.array(dtype(1.5)), np.array(dtype(2.25))), (np.array([specials[0]]), np.array([specials[4]])),
                # 0-d sums that need the NaN fix-up (numpy's own 0-d result would be a scalar)
                (np.array(specials[0]), np.array(dtype(1.0))), (np.array(dtype(np.inf)), np.array(dtype(-np.inf)))]
    return out


def test_accumulate_kernel_is_bit_identical_to_the_numpy_path_and_the_spec(fast_kernels) -> None:
    """Both paths of accumulate_gradient against Lean accumulateGradient (spec) on sampled 2x150
    pairs: every scalar type, NaN payloads in existing, grad and both, infs, overflow, subnormals,
    layouts (the kernel runs on C-contiguous grads from ACCUMULATE_MIN_ELEMENTS on — checked by a
    call count — and the rest take the numpy path)."""
    for a, b in accumulate_pairs(150, seed=3):
        expected = bits(spec_accumulate(a, b))
        assert bits(accumulate(a, b, kernel=True)) == expected, (a.dtype, a.shape, b.strides)
        assert bits(accumulate(a, b, kernel=False)) == expected, (a.dtype, a.shape, b.strides)


def test_accumulate_kernel_on_every_special_pair(fast_kernels) -> None:
    for dtype in (np.float64, np.float32):
        s = special_values(dtype)
        existing, grad = np.repeat(s, s.size), np.tile(s, s.size)
        for g in (grad, grad.reshape(17, 17), np.asfortranarray(grad.reshape(17, 17))):
            e = existing.reshape(g.shape)
            assert bits(accumulate(e, g, kernel=True)) == bits(spec_accumulate(e, g)), (dtype, g.shape, g.strides)


def _broken(kind: str):
    def accumulate(out, a, b):
        with np.errstate(all="ignore"):
            s = np.add(a, b)
        if kind == "ftz":  # subnormal results flushed to zero (what fast-math / FTZ would do)
            s = np.where(np.abs(s) < np.finfo(s.dtype).tiny, s.dtype.type(0), s)
        out[...] = s
        return False if kind == "no-flag" else bool(np.isnan(s).any())
    return accumulate


@pytest.mark.parametrize("kind", ["no-flag", "ftz"])
def test_the_probe_rejects_a_wrong_accumulate_kernel(fast_kernels, monkeypatch, kind) -> None:
    """The first-use probe has teeth: a kernel that never reports a NaN, or one that flushes
    subnormal sums, is rejected (and with it both kernels)."""
    compile_ = kernels._compile

    def compile_broken():
        norm, _ = compile_()
        return norm, _broken(kind)

    monkeypatch.setattr(kernels, "_compile", compile_broken)
    norm, acc, status = kernels._build()
    assert norm is None and acc is None and "accumulate not bit-identical" in status, status


def test_accumulate_works_without_the_kernel() -> None:
    """With the kernels disabled (as without numba) ACCUMULATE is None and accumulate_gradient
    still answers by the spec's rules: 1.5 + 0.25 everywhere but a signalling NaN in grad at
    index 7, quieted (Float.add: the first NaN operand)."""
    code = ("import numpy as np; from torchlean_runtime.impl import Variable, kernels; "
            "assert kernels.ACCUMULATE is None and kernels.NORM is None, kernels.STATUS; "
            "g = np.full(1000, 0.25); g.view(np.uint64)[7] = 0x7FF0000000000009; "
            "v = Variable.create(0, 'w', np.zeros(1000)).set_gradient(np.full(1000, 1.5)).accumulate_gradient(g); "
            "u = v.gradient.view(np.uint64); "
            "print(hex(u[7]), bool((np.delete(v.gradient, 7) == 1.75).all()), kernels.ACCUMULATE)")
    env = {**os.environ, kernels.ENV_VAR: "0"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["0x7ff8000000000009", "True", "None"]


@pytest.mark.parametrize("kernel", [True, False], ids=["kernel", "numpy-path"])
def test_accumulate_raises_and_warns_nothing_on_ieee_specials(fast_kernels, kernel) -> None:
    """inf + -inf (invalid) and max + max (overflow) are answers, not errors: neither path lets
    numpy's floating-point error mode reach the caller, even under np.errstate(all="raise") with
    warnings as errors; and the caller's next numpy operation sees no stale flag."""
    import warnings

    a = np.array([np.inf, np.finfo(np.float64).max, np.nan, 1.0] * 20)
    b = np.array([-np.inf, np.finfo(np.float64).max, 1.0, 2.0] * 20)
    with warnings.catch_warnings(), np.errstate(all="raise"):
        warnings.simplefilter("error")
        got = accumulate(a, b, kernel=kernel)
        assert np.add(np.ones(3), np.ones(3)).tolist() == [2.0, 2.0, 2.0]
    assert bits(got) == bits(spec_accumulate(a, b))
