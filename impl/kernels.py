"""Optional compiled kernel for ``Variable.variable_norm`` (extra ``[fast]``: numba).

The spec's norm (Lean ``Runtime.Variable.variableNorm`` = ``sqrt (sumSpec (mulSpec v v))``) is a
flat LEFT fold ``((0 + x0*x0) + x1*x1) + …`` in row-major order: one dependent add per element,
so its physical limit is the floating-point add latency (about 4 cycles an element).  The
numpy path (``impl/variable.py``) reaches it only within a constant (squares are written to
memory, then summed by ``np.add.accumulate``); a compiled loop keeps the running sum in a
register.

:data:`NORM` is the compiled norm, or ``None`` — the package works, and is tested, without it:

* ``None`` when numba is not installed, when ``TORCHLEAN_RT_KERNELS=0`` is set before the first
  import, or (from the first norm on: numba's import and compilation take seconds, so they are
  not paid at import) when numba fails to compile it or the probe finds the compiled fold not bit-identical to the
  reference fold (Python floats / ``np.float32`` scalars, one IEEE operation each) on a fixed
  sample (both dtypes; zeros, subnormals, overflow to inf, NaN payloads; C, Fortran and strided
  layouts).
* The loop is compiled without fast-math: no reassociation, no FMA contraction — each step is
  exactly one IEEE multiply then one IEEE add in the array's dtype (float32 stays float32).
* NaN (spec Float and IEEE32Exec alike): squares are never negative and never signalling, so the
  fold is NaN exactly when some element is, and its value is the FIRST NaN element, quieted —
  fixed explicitly here as in the numpy path, whatever operand the hardware's add prefers.
"""

from __future__ import annotations

import importlib.util
from typing import Callable, Optional

import numpy as np

from torchlean_runtime.spec.core.scalars import F32_QUIET_BIT, F64_QUIET_BIT
from torchlean_runtime.spec.env import env_choice

__all__ = ["NORM", "STATUS", "ENV_VAR", "ready", "reference_norm"]

#: Set to ``0`` (or ``off``) before the first import to keep the numpy path even when numba is installed.
ENV_VAR = "TORCHLEAN_RT_KERNELS"

_QUIET = {np.dtype(np.float32): (np.uint32, np.uint32(F32_QUIET_BIT)),
          np.dtype(np.float64): (np.uint64, np.uint64(F64_QUIET_BIT))}


def _first_nan_quieted(flat: np.ndarray) -> np.floating:
    uint, quiet = _QUIET[flat.dtype]
    first = flat[np.flatnonzero(np.isnan(flat))[:1]]
    return (first.view(uint) | quiet).view(flat.dtype)[0]


def reference_norm(value: np.ndarray) -> np.floating:
    """The norm by the definition, one numpy scalar IEEE operation at a time (slow; the probe's
    and the tests' reference).  Shapes: any; dtype float64 or float32; result of that dtype."""
    flat = np.ascontiguousarray(value).reshape(-1)
    acc = flat.dtype.type(0)
    with np.errstate(all="ignore"):
        for x in flat:
            acc = acc + x * x
        if acc != acc:
            return _first_nan_quieted(flat)
        return np.sqrt(acc)


def _compile() -> Callable[[np.ndarray], np.floating]:
    import numba  # noqa: PLC0415 — optional dependency, imported only here

    @numba.njit(nogil=True, fastmath=False, cache=True)
    def fold(flat, acc):  # acc: a 0 of flat's dtype, so float32 stays float32
        for i in range(flat.size):
            x = flat[i]
            acc = acc + x * x
        return acc

    def norm(value: np.ndarray) -> np.floating:
        flat = value.reshape(-1)  # row-major; a view when possible, numba takes any stride
        dtype = flat.dtype
        acc = fold(flat, dtype.type(0))
        if acc != acc:
            return _first_nan_quieted(flat)
        with np.errstate(all="ignore"):
            return np.sqrt(dtype.type(acc))

    return norm


def _probe_arrays() -> list[np.ndarray]:
    rng = np.random.default_rng(20261130)
    out = []
    for dtype, uint in ((np.float64, np.uint64), (np.float32, np.uint32)):
        info = np.finfo(dtype)
        base = rng.standard_normal(4099).astype(dtype) * dtype(1e3)
        out += [base, base[::3], base[:4096].reshape(64, 64).T, np.asfortranarray(base[:4096].reshape(16, 256)),
                np.zeros(0, dtype), np.zeros(5, dtype), np.array([-0.0], dtype),
                np.array([info.tiny / 4, info.tiny, 1.0], dtype), np.array([info.max, info.max, 1.0], dtype),
                np.array([np.inf, 1.0], dtype)]
        for payloads in ((0x1, 0x2), (0x3, 0x1)):  # signalling NaNs (quiet bit clear), distinct payloads
            nans = np.array(np.inf, dtype).view(uint) | np.array(payloads, uint)
            mixed = base[:10].copy()
            mixed[[3, 7]] = nans.view(dtype)
            out.append(mixed)
    return out


def _bits(x: np.floating) -> bytes:
    return np.asarray(x).tobytes() + np.asarray(x).dtype.str.encode()


def _build() -> tuple[Optional[Callable[[np.ndarray], np.floating]], str]:
    try:
        norm = _compile()
        for a in _probe_arrays():
            if _bits(norm(a)) != _bits(reference_norm(a)):
                return None, f"numba kernel rejected: not bit-identical on a probe array of {a.dtype} {a.shape}"
    except ImportError:
        return None, "numba not installed (pip install 'torchlean-runtime[fast]')"
    except Exception as exc:  # a numba that imports but cannot compile here: keep the numpy path
        return None, f"numba kernel unavailable: {type(exc).__name__}: {exc}"
    import numba  # noqa: PLC0415

    return norm, f"numba {numba.__version__} kernel (probe: bit-identical)"


_compiled: Optional[Callable[[np.ndarray], np.floating]] = None


def ready() -> bool:
    """Compile and probe now (numba's import and compilation take seconds, so this happens on
    the first norm, not at import); afterwards :data:`NORM` is the kernel or ``None``."""
    global NORM, STATUS, _compiled
    if _compiled is None and NORM is not None:
        _compiled, STATUS = _build()
        NORM = _compiled if _compiled is not None else None
    return NORM is not None


def _first_call(value: np.ndarray) -> Optional[np.floating]:
    return _compiled(value) if ready() else None


#: The compiled norm ``(value) -> scalar`` (same contract as the numpy path), ``None`` when
#: unavailable.  Until the first call it is a stub that compiles and probes, and returns
#: ``None`` (meaning: use the numpy path) if the kernel is rejected.
NORM: Optional[Callable[[np.ndarray], Optional[np.floating]]]
#: Why :data:`NORM` is what it is (for ``make bench`` and bug reports).
STATUS: str
# ``0``/``off`` disable, ``1``/``on`` (or unset) allow; any other value is refused at import with
# EnvironmentConfigError (TLR_ENVIRONMENT), as TORCHLEAN_RT_CHECK is, never silently read as "on".
if not env_choice(ENV_VAR, {"0": False, "off": False, "1": True, "on": True}, True):
    NORM, STATUS = None, f"disabled ({ENV_VAR}=0)"
elif importlib.util.find_spec("numba") is None:
    NORM, STATUS = None, "numba not installed (pip install 'torchlean-runtime[fast]')"
else:
    NORM, STATUS = _first_call, "numba found; kernel compiled and probed on the first norm"
