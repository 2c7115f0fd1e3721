"""What icontract's general wrapper costs: ``Variable.set_value`` (a 4-element float64 Variable,
contracts on) called positionally through the direct caller of its precondition that the impl
installs (``impl.contracts._fast``), through icontract's own wrapper (``__wrapped__`` of it, what a
keyword call takes), and the undecorated method; microseconds a call, best of 7 repeats.

    .venv/bin/python benchmarks/bench_contracts.py                      # a few seconds
    .venv/bin/python benchmarks/bench_contracts.py --quick --out /tmp/x   # a smoke test

Writes every figure to ``bench_contracts.json`` in ``--out`` (default docs/figures; with
``--quick`` a temporary folder unless ``--out`` is given); a full run with the default ``--out``
also rewrites the README's block rendered from it (``bench_report.py``).  ``--quick`` never
rewrites the docs.
"""

from __future__ import annotations

import bench_run  # first: pins BLAS/OpenMP to one thread before numpy loads (benchmarks/, this script's folder)

import argparse
import sys
import timeit
from pathlib import Path

import numpy as np

RECORD = "bench_contracts.json"


def main() -> int:
    if not __debug__:
        raise SystemExit("bench_contracts measures the contracts: run it without -O")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="few calls: a smoke test (never rewrites the docs)")
    parser.add_argument("--out", type=Path, default=None, help=f"folder for {RECORD} (default docs/figures)")
    args = parser.parse_args()
    run = bench_run.Run(RECORD, partial=args.quick, out=args.out)
    from torchlean_runtime.impl.variable import Variable

    run.banner("bench_contracts")
    v = Variable.create(0, "w", np.array([1.0, 2.0, 3.0, 4.0]))
    new = np.array([5.0, 6.0, 7.0, 8.0])
    direct = Variable.set_value
    wrapper = getattr(direct, "__wrapped__", None)
    plain = getattr(wrapper, "__wrapped__", None)
    if wrapper is None or plain is None or not hasattr(wrapper, "__preconditions__"):
        raise SystemExit("Variable.set_value is not the direct caller over icontract's wrapper (TORCHLEAN_RT_CHECK set?)")
    number, repeat = (200, 2) if args.quick else (20_000, 7)
    calls = {}
    for key, fn in (("direct", direct), ("icontract", wrapper), ("plain", plain)):
        calls[key] = min(timeit.repeat(lambda: fn(v, new), number=number, repeat=repeat)) / number * 1e6
        print(f"set_value through {key:9s}: {calls[key]:.2f} µs a call")
    print(f"icontract's wrapper costs {calls['icontract'] - calls['direct']:.2f} µs a call more than the direct caller")
    run.write({"set_value_us": calls}, meta=run.meta(numpy=True, seconds=False, calls=number, repeats=repeat))
    return 0


if __name__ == "__main__":
    sys.exit(main())
