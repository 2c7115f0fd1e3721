"""Issue 9, kinds 5, 7 and 10: environment variables are parsed or refused with a typed error;
printed forms and stored arrays are bounded before anything is allocated, identically in spec
and impl (and without hanging in refine mode); a flush-to-zero / denormals-are-zero CPU state is
detected and named."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time

import numpy as np
import pytest

import torchlean_runtime.spec.core.tensor as T
from torchlean_runtime.errors import TorchLeanError
from torchlean_runtime.impl import RuntimeContext, Variable, check_float_environment, to_spec
from torchlean_runtime.impl.arrays import MAX_ELEMENTS
from torchlean_runtime.spec.env import env_choice, env_nat
from torchlean_runtime.spec.runtime import context as S
from torchlean_runtime.spec.runtime import variable as SV


def run(code: str, env: dict, *flags: str, timeout: float = 120) -> subprocess.CompletedProcess:
    full = {k: v for k, v in os.environ.items() if not k.startswith("TORCHLEAN_RT_")}
    full.update(env)
    return subprocess.run([sys.executable, *flags, "-c", code], capture_output=True, text=True, env=full, timeout=timeout)


# --- kind 5: environment variables ------------------------------------------------------------------


@pytest.mark.parametrize("value", ["1", "on", "refined", "true", "yes please"])
def test_unknown_check_modes_are_a_typed_error_not_off(value) -> None:
    res = run("import torchlean_runtime.impl", {"TORCHLEAN_RT_CHECK": value})
    assert res.returncode != 0 and "TLR_ENVIRONMENT" in res.stderr and "TORCHLEAN_RT_CHECK" in res.stderr
    assert "EnvironmentConfigError" in res.stderr  # the typed error, not a ValueError from int()


@pytest.mark.parametrize("value,refine", [("", False), ("off", False), ("refine", True), (" Refine ", True)])
def test_known_check_modes(value, refine) -> None:
    res = run("from torchlean_runtime.impl import REFINE; print(REFINE)", {"TORCHLEAN_RT_CHECK": value})
    assert res.returncode == 0 and res.stdout.strip() == str(refine)


@pytest.mark.parametrize("value", ["lots", "-5", "1e6", "0x10", "５", "1_", "9" * 100])
def test_bad_spec_element_cap_never_breaks_import_and_is_refused_on_use(value) -> None:
    code = (
        "import torchlean_runtime.impl, torchlean_runtime.spec\n"
        "from torchlean_runtime.spec.core import tensor\n"
        "try:\n    tensor.elementCap()\nexcept Exception as e:\n    print(e.code)\n"
    )
    res = run(code, {"TORCHLEAN_RT_SPEC_MAX_ELEMENTS": value})
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "TLR_ENVIRONMENT"


def test_env_parsers() -> None:
    assert env_nat("X", 7, {}) == 7 and env_nat("X", 7, {"X": " 12 "}) == 12 and env_nat("X", 7, {"X": "1_000"}) == 1000
    assert env_nat("X", 7, {"X": ""}) == 7
    for bad in ("-1", "abc", "1.5", "+3", "_1"):
        with pytest.raises(TorchLeanError) as info:
            env_nat("X", 7, {"X": bad})
        assert info.value.code == "TLR_ENVIRONMENT" and "X=" in str(info.value)
    assert env_choice("M", {"a": 1}, 0, {"M": "A"}) == 1 and env_choice("M", {"a": 1}, 0, {}) == 0
    with pytest.raises(TorchLeanError):
        env_choice("M", {"a": 1}, 0, {"M": "b"})


# --- kind 7: resource bounds --------------------------------------------------------------------------


def test_zero_size_with_huge_dims_prints_refused_fast_and_identically() -> None:
    """(20000, 20000, 0) holds 0 bytes but prints 4·10^8 "[]": refused by the print cap before
    anything is built — the same error (class, code, message) from spec and impl.  At the default
    element cap neither spec nor impl even stores such a shape (the spec's nested-structure cap,
    which the impl applies too: tests/vectors/test_work_bounds.py); under a raised cap the impl
    stores it and printing is what is refused."""
    for dims in [(20000, 20000, 0), (10**6, 10**6, 0)]:
        with pytest.raises(TorchLeanError) as store_err:
            RuntimeContext.empty().register_variable("w", np.zeros(dims))
        assert store_err.value.code == "TLR_TENSOR_TOO_LARGE"
        previous = T.setElementCap(10**11)
        try:
            ctx = RuntimeContext.empty().register_variable("w", np.zeros(dims))
            v = Variable.create(0, "w", np.zeros(dims))
        finally:
            T.setElementCap(previous)
        start = time.perf_counter()
        with pytest.raises(TorchLeanError) as impl_err:
            ctx.to_lean_string()
        with pytest.raises(TorchLeanError) as var_err:
            v.to_lean_string()
        assert time.perf_counter() - start < 5  # refused, not computed (a generous bound; ms in practice)
        assert impl_err.value.code == var_err.value.code == "TLR_OUTPUT_TOO_LARGE"
        # the spec cannot even hold this tensor: too many nested sub-tensors (kind 7 in the spec)
        with pytest.raises(TorchLeanError) as spec_err:
            to_spec(ctx)
        assert spec_err.value.code == "TLR_TENSOR_TOO_LARGE"


def test_print_cap_boundary_is_the_same_in_spec_and_impl() -> None:
    """Exactly at the printed length L: accepted; at L - 1: the same error from both."""
    ctx = (RuntimeContext.empty().register_variable("w", np.array([[1.5, -2.0]]))
           .register_gradient("é", np.zeros((2, 0, 3))))
    v = Variable.create(3, "v", np.array([1.0, np.nan], np.float32)).set_gradient(np.array([0.0, 2.0], np.float32))
    sctx, sv = to_spec(ctx), to_spec(v)
    for impl_call, spec_call in ((ctx.to_lean_string, lambda: S.contextToString(sctx)),
                                 (v.to_lean_string, lambda: SV.variableToString(sv))):
        text = spec_call()
        previous = T.setPrintCap(len(text))
        try:
            assert impl_call() == text and spec_call() == text
            T.setPrintCap(len(text) - 1)
            errors = []
            for call in (impl_call, spec_call):
                with pytest.raises(TorchLeanError) as info:
                    call()
                errors.append((type(info.value), info.value.code, str(info.value)))
            assert errors[0] == errors[1] and errors[0][1] == "TLR_OUTPUT_TOO_LARGE"
        finally:
            T.setPrintCap(previous)


def test_broadcast_views_and_huge_arrays_are_refused_before_copying() -> None:
    huge = np.broadcast_to(np.zeros(1), (10**6, 10**6))  # 10^12 elements over 8 bytes
    for call in (lambda: RuntimeContext.empty().register_variable("w", huge),
                 lambda: Variable.create(0, "w", huge),
                 lambda: Variable.create(0, "w", np.zeros((10**6, 10**6)[:1])).set_value(huge)):
        with pytest.raises(TorchLeanError) as info:
            call()
        assert info.value.code in ("TLR_TENSOR_TOO_LARGE", "TLR_SHAPE_MISMATCH")
    assert MAX_ELEMENTS == 1 << 31
    # at the cap's boundary: a broadcast view of MAX_ELEMENTS + 1 is refused, whatever its memory
    with pytest.raises(TorchLeanError) as info:
        RuntimeContext.empty().register_variable("w", np.broadcast_to(np.zeros(1), (MAX_ELEMENTS + 1,)))
    assert info.value.code == "TLR_TENSOR_TOO_LARGE"


def test_spec_node_cap_keeps_every_tensor_within_the_element_cap() -> None:
    """Non-empty tensors within the element cap are never refused by the node cap (at most
    1 + MAX_RANK·n nested values); only empty shapes with huge leading dims are."""
    previous = T.setElementCap(64)
    try:
        T.zeros(to_spec(np.zeros(1)).alpha, [1] * 64)  # 65 nested values, 1 element
        T.zeros(to_spec(np.zeros(1)).alpha, [64] + [1] * 63)
        with pytest.raises(TorchLeanError):
            T.zeros(to_spec(np.zeros(1)).alpha, [100, 100, 0])
    finally:
        T.setElementCap(previous)


def test_refine_mode_does_not_hang_on_huge_empty_shapes() -> None:
    code = (
        "import numpy as np\n"
        "from torchlean_runtime.impl import RuntimeContext\n"
        "try:\n    RuntimeContext.empty().register_variable('w', np.zeros((20000, 20000, 0)))\n"
        "except Exception as e:\n    print(e.code)\n"
    )
    res = run(code, {"TORCHLEAN_RT_CHECK": "refine"}, timeout=60)
    assert res.returncode == 0 and res.stdout.strip() == "TLR_TENSOR_TOO_LARGE", res.stderr


# --- kind 10: the floating-point environment ------------------------------------------------------


def test_float_environment_is_ieee_here() -> None:
    check_float_environment()  # this test process has IEEE subnormals


def test_a_flush_to_zero_probe_result_is_refused(monkeypatch) -> None:
    """Simulated: the probe's operands as FTZ would leave them (MIN_NORMAL / 2 == 0)."""
    import torchlean_runtime.spec.core.scalars as scalars

    monkeypatch.setattr(scalars, "_HALF", 0.0)
    v = Variable.create(0, "w", np.ones(2)).set_gradient(np.ones(2))
    for call in (check_float_environment, lambda: v.accumulate_gradient(np.ones(2)), v.variable_norm,
                 lambda: SV.accumulateGradient(to_spec(v), to_spec(np.ones(2))), lambda: SV.variableNorm(to_spec(v))):
        with pytest.raises(TorchLeanError) as info:
            call()
        assert info.value.code == "TLR_FLOAT_ENVIRONMENT" and "flush-to-zero" in str(info.value)


@pytest.mark.skipif(shutil.which("gcc") is None or sys.platform != "linux", reason="needs gcc to build a fast-math library")
def test_a_real_fast_math_library_switching_ftz_daz_on_is_detected(tmp_path) -> None:
    """Real FTZ/DAZ: a shared library linked with -ffast-math (crtfastmath.o) turns both on when
    loaded; spec and impl refuse to compute afterwards, naming the cause (in a subprocess)."""
    src = tmp_path / "f.c"
    src.write_text("int tlr_dummy(void) { return 0; }\n")
    lib = tmp_path / "libfast.so"
    subprocess.run(["gcc", "-shared", "-fPIC", "-ffast-math", "-o", str(lib), str(src)], check=True, capture_output=True)
    code = (
        "import ctypes, numpy as np\n"
        "from torchlean_runtime.impl import Variable, check_float_environment, to_spec\n"
        "from torchlean_runtime.spec.runtime import variable as SV\n"
        "v = Variable.create(0, 'w', np.ones(2)).set_gradient(np.ones(2))\n"
        "check_float_environment()\n"
        f"ctypes.CDLL({str(lib)!r})\n"
        "if 2.2250738585072014e-308 * np.float64(0.5) != 0: print('no-ftz'); raise SystemExit\n"
        "out = []\n"
        "for call in (check_float_environment, lambda: v.accumulate_gradient(np.ones(2)), v.variable_norm,\n"
        "             lambda: SV.variableNorm(to_spec(v))):\n"
        "    try:\n        call(); out.append('ran')\n"
        "    except Exception as e:\n        out.append(e.code)\n"
        "print(','.join(out))\n"
    )
    res = run(code, {})
    if res.stdout.strip() == "no-ftz":
        pytest.skip("this toolchain's -ffast-math does not set FTZ/DAZ at load")
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == ",".join(["TLR_FLOAT_ENVIRONMENT"] * 4)


def test_no_memory_for_a_result_or_a_copy_is_a_typed_error() -> None:
    """Under an address-space limit (RLIMIT_AS, in a child process) with room for the inputs but
    not for one more 100 MB array: accumulate_gradient's fresh result and get_variable's copy of a
    large stored array (arrays.expose) raise TensorTooLargeError (TLR_TENSOR_TOO_LARGE), never a
    bare MemoryError, and the context / Variable built before still answer."""
    code = r'''
import resource, numpy as np
from torchlean_runtime.impl import RuntimeContext, Variable
from torchlean_runtime.errors import TorchLeanError
n = 12_500_000  # 100 MB of float64
v = Variable.create(0, "w", np.zeros(n)).accumulate_gradient(np.ones(n))
ctx = RuntimeContext.empty().register_variable("w", np.ones(n))
g = np.ones(n)
with open("/proc/self/statm") as f:
    size = int(f.read().split()[0]) * resource.getpagesize()
resource.setrlimit(resource.RLIMIT_AS, (size + 40_000_000, resource.RLIM_INFINITY))
codes = []
for call in (lambda: v.accumulate_gradient(g), lambda: ctx.get_variable("w", (n,)), lambda: v.value):
    try:
        call()
        codes.append("no error")
    except TorchLeanError as e:
        codes.append(e.code)
    except MemoryError:
        codes.append("MemoryError")
print(codes, ctx.context_size(), v.shape)
'''
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "['TLR_TENSOR_TOO_LARGE', 'TLR_TENSOR_TOO_LARGE', 'TLR_TENSOR_TOO_LARGE'] 1 (12500000,)"
