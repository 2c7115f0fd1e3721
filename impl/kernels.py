"""Optional compiled kernels for ``Variable.variable_norm`` and ``Variable.accumulate_gradient``
(extra ``[fast]``: numba).

**norm.** The spec's norm (Lean ``Runtime.Variable.variableNorm`` = ``sqrt (sumSpec (mulSpec v v))``) is a
flat LEFT fold ``((0 + x0*x0) + x1*x1) + …`` in row-major order: one dependent add per element,
so its physical limit is the floating-point add latency (about 4 cycles an element).  The
numpy path (``impl/variable.py``) reaches it only within a constant (squares are written to
memory, then summed by ``np.add.accumulate``); a compiled loop keeps the running sum in a
register.

**accumulate.** The spec's sum (Lean ``Runtime.Variable.accumulateGradient`` →
``addSpec existing grad``, elementwise, existing first) is one IEEE add per element, but the
spec gives a NaN result its own bits (``spec.core.scalars``: Float's first NaN operand, quieted;
IEEE32Exec's ``chooseNaN2`` order and canonical NaN), which the hardware does not.  The numpy
path adds (``np.add``), then makes a second pass to learn whether any NaN occurred.
:data:`ACCUMULATE` does both in ONE pass: ``out[i] = a[i] + b[i]`` while OR-ing ``out[i] !=
out[i]`` into a flag (a reduction LLVM vectorizes), and returns the flag; the caller then gives
the NaN positions the spec's bits with the numpy path's own fix-up
(``variable._fix_nan_positions``, the one implementation of that rule), only when the flag is set.

:data:`NORM` and :data:`ACCUMULATE` are the compiled kernels, or ``None`` — the package works,
and is tested, without them:

* ``None`` when numba is not installed, when ``TORCHLEAN_RT_KERNELS=0`` is set before the first
  import, or (from the first norm or accumulate on: numba's import and compilation take seconds,
  so they are not paid at import) when numba fails to compile them or the probe finds either
  kernel not bit-identical to its reference (Python-level numpy scalars, one IEEE operation
  each) on a fixed sample — both dtypes; zeros, subnormals, overflow to inf, inf + -inf, quiet
  and signalling NaN payloads in either operand or both; C, Fortran and strided layouts for the
  norm, read-only and writeable ``grad`` for the sum.  One probe decides both: a compiler that
  gets one of them wrong is trusted with neither.
* Loops are compiled without fast-math: no reassociation, no FMA contraction — each step is
  exactly the IEEE operations of the definition in the array's dtype (float32 stays float32).
* NaN (spec Float and IEEE32Exec alike): the norm's squares are never negative and never
  signalling, so the fold is NaN exactly when some element is, and its value is the FIRST NaN
  element, quieted — fixed explicitly here as in the numpy path, whatever operand the
  hardware's add prefers.  The sum's NaN bits are the caller's fix-up (above); what the probe
  checks of the kernel is what that fix-up relies on: where neither operand is NaN, ``out`` has
  the hardware's bits exactly (including the default NaN of inf + -inf, which spec Float keeps),
  where one is, ``out`` is NaN, and the flag says whether ``out`` holds any NaN.
"""

from __future__ import annotations

import importlib.util
from typing import Callable, Optional

import numpy as np

from torchlean_runtime.spec.core.scalars import F32_QUIET_BIT, F64_QUIET_BIT
from torchlean_runtime.spec.env import env_choice

__all__ = ["NORM", "ACCUMULATE", "ACCUMULATE_MIN_ELEMENTS", "STATUS", "ENV_VAR", "ready", "reference_norm",
           "reference_sum"]

#: Set to ``0`` (or ``off``) before the first import to keep the numpy paths even when numba is installed.
ENV_VAR = "TORCHLEAN_RT_KERNELS"

#: ``accumulate_gradient`` dispatches to :data:`ACCUMULATE` from this many elements on.  There
#: is no crossover to wait for: numba's dispatch of the three arrays (about 0.2 µs, plus the
#: reshapes of a non-1-D array) costs less than what the kernel saves at ANY size — the numpy
#: path's floating-point-mode switch (``fp_quiet``/``fp_restore``, ~0.15 µs) and its second pass
#: (a BLAS dot, ~0.3 µs even for one element).  Measured under ``python -O``, BLAS pinned, on
#: the shared 2-core machine: in a sweep (load 4–6) the kernel path took 0.65–0.86x the numpy
#: path's time at 1, 4, 16 and 64 elements, 0-d, 4x4, 8x8, 10x100 and 1,000, and 0.63–0.76x from
#: 10,000 up; ``make bench`` keeps measuring it (docs/figures/bench.json: the impl's accumulate
#: rows are the numpy path, the "impl -O + numba kernel [fast]" rows the kernel path, from 10
#: elements up).  So every non-empty array goes to the kernel (an empty one has nothing to add).
ACCUMULATE_MIN_ELEMENTS = 1

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


def reference_sum(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The hardware's elementwise ``a + b``, one numpy scalar IEEE add at a time, in row-major
    order (slow; the accumulate probe's reference for what :data:`ACCUMULATE` writes before the
    caller's NaN fix-up).  Shapes: equal; dtype float64 or float32 (both the same); result: a new
    C-ordered array of that shape and dtype."""
    fa, fb = np.ascontiguousarray(a).reshape(-1), np.ascontiguousarray(b).reshape(-1)
    out = np.empty(fa.shape, fa.dtype)
    with np.errstate(all="ignore"):
        for i in range(fa.size):
            out[i] = fa[i] + fb[i]
    return out.reshape(np.shape(a))


def _compile() -> tuple[Callable[[np.ndarray], np.floating], Callable[[np.ndarray, np.ndarray, np.ndarray], bool]]:
    import numba  # noqa: PLC0415 — optional dependency, imported only here
    from numba import types  # noqa: PLC0415

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

    # Eager signatures, then no more compilation: every type the kernel will ever run on is
    # compiled (and probed) by ready().  a: the stored gradient (read-only); b: the caller's
    # grad (read-only or not); out: result_buffer's writeable memory.  All 1-D, C-contiguous,
    # aligned — accumulate_gradient dispatches nothing else.
    signatures = [types.boolean(types.Array(dt, 1, "C", readonly=True), types.Array(dt, 1, "C", readonly=ro),
                                types.Array(dt, 1, "C"))
                  for dt in (types.float64, types.float32) for ro in (True, False)]

    @numba.njit(signatures, nogil=True, fastmath=False, cache=True)
    def add_flag(a, b, out):
        seen = False
        for i in range(out.size):
            s = a[i] + b[i]
            out[i] = s
            seen |= s != s  # OR-reduced: vectorizes, no branch in the loop
        return seen

    def accumulate(out: np.ndarray, a: np.ndarray, b: np.ndarray) -> bool:
        if out.ndim != 1:
            out, a, b = out.reshape(-1), a.reshape(-1), b.reshape(-1)  # C-contiguous: views
        return add_flag(a, b, out)

    return norm, accumulate


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


def _probe_pairs() -> list[tuple[np.ndarray, np.ndarray]]:
    """Operand pairs for the accumulate probe: per dtype, every combination of the special
    values below in (a, b) — NaNs quiet and signalling, with payloads and signs, in a, b and
    both; ±inf (inf + -inf); ±max (overflow); subnormals; ±0 — at positions that fill the
    vector body and the scalar tail, then long random arrays (one with scattered NaNs) and a
    2-D one; ``b`` read-only and writeable."""
    rng = np.random.default_rng(20261201)
    pairs = []
    for dtype, uint in ((np.float64, np.uint64), (np.float32, np.uint32)):
        info = np.finfo(dtype)
        inf_bits = int(np.array(np.inf, dtype).view(uint))
        sign = int(np.array(-0.0, dtype).view(uint))
        quiet = int(_QUIET[np.dtype(dtype)][1])
        nans = np.array([inf_bits | 1, inf_bits | 0x5, inf_bits | quiet, inf_bits | quiet | 0x7,
                         sign | inf_bits | 0x3, sign | inf_bits | quiet], uint).view(dtype)
        specials = np.concatenate([nans, np.array([np.inf, -np.inf, info.max, -info.max, info.tiny / 4,
                                                   -info.tiny / 2, info.tiny, 0.0, -0.0, 1.0, -1.5], dtype)])
        a = np.repeat(specials, specials.size)
        b = np.tile(specials, specials.size)
        base_a = (rng.standard_normal(5003) * 1e3).astype(dtype)
        base_b = (rng.standard_normal(5003) * 1e3).astype(dtype)
        scattered_a, scattered_b = base_a.copy(), base_b.copy()
        scattered_a[rng.integers(0, 5003, 7)] = nans[rng.integers(0, nans.size, 7)]
        scattered_b[rng.integers(0, 5003, 7)] = nans[rng.integers(0, nans.size, 7)]
        for x, y in ((a, b), (base_a, base_b), (scattered_a, scattered_b), (base_a[:3], base_b[:3]),
                     (base_a[:4096].reshape(64, 64), base_b[:4096].reshape(64, 64))):
            pairs.append((x, y))
    return pairs


def _bits(x: np.floating) -> bytes:
    return np.asarray(x).tobytes() + np.asarray(x).dtype.str.encode()


def _read_only(x: np.ndarray) -> np.ndarray:
    x = np.array(x)  # a C-ordered copy, then frozen
    x.flags.writeable = False
    return x


def _accumulate_faithful(accumulate: Callable, a: np.ndarray, b: np.ndarray) -> bool:
    """What ``accumulate_gradient``'s fix-up relies on (see the module docstring), checked bit
    for bit against :func:`reference_sum`."""
    want = reference_sum(a, b).reshape(-1)
    operand_nan = (np.isnan(a) | np.isnan(b)).reshape(-1)
    uint = _QUIET[want.dtype][0]
    for b_arg in (_read_only(b), np.array(b)):
        out = np.empty(a.shape, a.dtype)
        seen = accumulate(out, _read_only(a), b_arg)
        got = out.reshape(-1)
        if type(seen) is not bool or seen != bool(np.isnan(got).any()):
            return False
        if not np.array_equal(got[~operand_nan].view(uint), want[~operand_nan].view(uint)):
            return False
        if not np.isnan(got[operand_nan]).all():
            return False
    return True


_Kernels = tuple[Optional[Callable], Optional[Callable], str]


def _build() -> _Kernels:
    try:
        norm, accumulate = _compile()
        for a in _probe_arrays():
            if _bits(norm(a)) != _bits(reference_norm(a)):
                return None, None, f"numba kernels rejected: norm not bit-identical on a probe array of {a.dtype} {a.shape}"
        for a, b in _probe_pairs():
            if not _accumulate_faithful(accumulate, a, b):
                return None, None, f"numba kernels rejected: accumulate not bit-identical on a probe pair of {a.dtype} {a.shape}"
    except ImportError:
        return None, None, "numba not installed (pip install 'torchlean-runtime[fast]')"
    except Exception as exc:  # a numba that imports but cannot compile here: keep the numpy paths
        return None, None, f"numba kernels unavailable: {type(exc).__name__}: {exc}"
    import numba  # noqa: PLC0415

    return norm, accumulate, f"numba {numba.__version__} kernels (probe: bit-identical)"


_compiled: Optional[tuple[Callable, Callable]] = None


def ready() -> bool:
    """Compile and probe now (numba's import and compilation take seconds, so this happens on
    the first norm or accumulate, not at import); afterwards :data:`NORM` and :data:`ACCUMULATE`
    are the kernels or ``None``."""
    global NORM, ACCUMULATE, STATUS, _compiled
    if _compiled is None and NORM is not None:
        norm, accumulate, STATUS = _build()
        _compiled = (norm, accumulate) if norm is not None else None
        NORM, ACCUMULATE = norm, accumulate
    return NORM is not None


def _first_norm(value: np.ndarray) -> Optional[np.floating]:
    return _compiled[0](value) if ready() else None


def _first_accumulate(out: np.ndarray, a: np.ndarray, b: np.ndarray) -> Optional[bool]:
    return _compiled[1](out, a, b) if ready() else None


#: The compiled norm ``(value) -> scalar`` (same contract as the numpy path), ``None`` when
#: unavailable.  Until the first call it is a stub that compiles and probes, and returns
#: ``None`` (meaning: use the numpy path) if the kernels are rejected.
NORM: Optional[Callable[[np.ndarray], Optional[np.floating]]]
#: The compiled sum ``(out, a, b) -> bool``: writes ``a + b`` (the hardware's IEEE adds; any NaN
#: bits where an operand is NaN) into ``out`` and returns whether ``out`` holds a NaN.  All three
#: of one dtype (float64 or float32) and shape, C-contiguous and aligned; ``a`` may be read-only,
#: ``out`` must be writeable.  ``None`` when unavailable; until the first call a stub as for
#: :data:`NORM` (``None`` returned: use the numpy path).
ACCUMULATE: Optional[Callable[[np.ndarray, np.ndarray, np.ndarray], Optional[bool]]]
#: Why :data:`NORM` and :data:`ACCUMULATE` are what they are (for ``make bench`` and bug reports).
STATUS: str
# ``0``/``off`` disable, ``1``/``on`` (or unset) allow; any other value is refused at import with
# EnvironmentConfigError (TLR_ENVIRONMENT), as TORCHLEAN_RT_CHECK is, never silently read as "on".
if not env_choice(ENV_VAR, {"0": False, "off": False, "1": True, "on": True}, True):
    NORM, ACCUMULATE, STATUS = None, None, f"disabled ({ENV_VAR}=0)"
elif importlib.util.find_spec("numba") is None:
    NORM, ACCUMULATE, STATUS = None, None, "numba not installed (pip install 'torchlean-runtime[fast]')"
else:
    NORM, ACCUMULATE, STATUS = _first_norm, _first_accumulate, "numba found; kernels compiled and probed on first use"
