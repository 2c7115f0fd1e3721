"""``accumulate_gradient`` on its two paths next to the allocating floor ``np.add(a, b)``: a
measurement script (not part of ``make bench``, writes nothing), for the dispatch bound
``kernels.ACCUMULATE_MIN_ELEMENTS`` and issue 11's accumulate targets.

    OPENBLAS_NUM_THREADS=1 .venv/bin/python -O benchmarks/bench_accumulate.py [--dtype float32] [SIZE ...]

Per size (default 16 … 1,000,000 float64 elements), interleaved rounds of a calibrated loop,
best per call: the ``[fast]`` kernel path, the numpy path (``kernels.ACCUMULATE = None``) and
``np.add(a, b)``; ratios are within this run.  Run it under ``python -O`` (the figures issue 11
sets targets for); BLAS is pinned to one thread below, before numpy loads.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

from torchlean_runtime.impl import Variable, kernels  # noqa: E402


def _per_call(fn, budget: float = 0.02) -> tuple:
    n = 1
    while True:
        start = time.perf_counter()
        for _ in range(n):
            fn()
        elapsed = time.perf_counter() - start
        if elapsed >= budget / 4:
            return n, elapsed / n
        n *= 4


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sizes", nargs="*", type=int, default=[16, 32, 64, 128, 1_000, 10_000, 100_000, 1_000_000])
    parser.add_argument("--dtype", choices=("float64", "float32"), default="float64")
    parser.add_argument("--rounds", type=int, default=9)
    args = parser.parse_args()
    kernel_ok = kernels.ready()
    kernel = kernels.ACCUMULATE
    print(f"python -O: {bool(sys.flags.optimize)}; kernels: {kernels.STATUS}; dispatch from "
          f"{kernels.ACCUMULATE_MIN_ELEMENTS} elements; {os.getloadavg()[0]:.2f} load average")
    print(f"{'elements':>10} {'np.add(a, b)':>14} {'kernel path':>20} {'numpy path':>20}")
    rng = np.random.default_rng(0)
    for size in args.sizes:
        a, b = rng.standard_normal(size).astype(args.dtype), rng.standard_normal(size).astype(args.dtype)
        v = Variable.create(0, "w", a).set_gradient(a)
        saved_bound = kernels.ACCUMULATE_MIN_ELEMENTS
        kernels.ACCUMULATE_MIN_ELEMENTS = 1  # the kernel path at every size measured here

        def kernel_path():
            kernels.ACCUMULATE = kernel
            return _per_call(lambda: v.accumulate_gradient(b))

        def numpy_path():
            kernels.ACCUMULATE = None
            return _per_call(lambda: v.accumulate_gradient(b))

        candidates = {"np.add": lambda: _per_call(lambda: np.add(a, b)), "numpy": numpy_path}
        if kernel_ok:
            candidates["kernel"] = kernel_path
        best = {key: float("inf") for key in candidates}
        try:
            for _ in range(args.rounds):
                for key, run in candidates.items():
                    best[key] = min(best[key], run()[1])
        finally:
            kernels.ACCUMULATE, kernels.ACCUMULATE_MIN_ELEMENTS = kernel, saved_bound
        floor = best["np.add"]
        cell = {key: f"{best[key] * 1e6:9.2f} µs {best[key] / floor:5.2f}x" for key in best}
        print(f"{size:>10,} {floor * 1e6:11.2f} µs {cell.get('kernel', 'n/a'):>20} {cell['numpy']:>20}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
