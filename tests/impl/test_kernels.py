"""impl/kernels.py: the optional numba norm kernel is bit-identical to the numpy path of
``Variable.variable_norm`` (Lean ``Runtime.Variable.variableNorm`` = ``sqrt (sumSpec (mulSpec v v))``,
a left fold from 0 in row-major order), and the package works without it."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

from torchlean_runtime.impl import Variable, kernels
from torchlean_runtime.spec.core.scalars import F32_QUIET_BIT, F64_QUIET_BIT

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


def test_kernel_is_bit_identical_to_the_numpy_path(require_extra) -> None:
    """Both paths of variable_norm on the same arrays: sampled 2x300 arrays, every scalar type,
    NaN payloads, infs, subnormals and memory layouts."""
    require_extra("numba")  # the [fast] extra
    assert kernels.ready(), kernels.STATUS
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
