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

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import datetime  # noqa: E402
import json  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import timeit  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from bench_report import update_docs  # noqa: E402 — benchmarks/, the script's own folder

DEFAULT_OUT = HERE.parent / "docs" / "figures"
RECORD = "bench_contracts.json"


def main() -> int:
    if not __debug__:
        raise SystemExit("bench_contracts measures the contracts: run it without -O")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="few calls: a smoke test (never rewrites the docs)")
    parser.add_argument("--out", type=Path, default=None, help=f"folder for {RECORD} (default docs/figures)")
    args = parser.parse_args()
    out = args.out or (Path(tempfile.gettempdir()) / "torchlean-bench" if args.quick else DEFAULT_OUT)
    from torchlean_runtime.impl.variable import Variable

    commit = subprocess.run(["git", "-C", str(HERE.parent), "describe", "--always", "--dirty"], capture_output=True, text=True).stdout.strip()
    load = os.getloadavg()[0]
    date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    print(f"bench_contracts{' (--quick: figures meaningless)' if args.quick else ''} — commit {commit or '?'}, {date}, "
          f"BLAS threads pinned to 1; load average {load:.2f} at the start")
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
    meta = {"date": date, "python": sys.version.split()[0], "numpy": np.__version__, "load_average": load,
            "calls": number, "repeats": repeat}
    data = {"commit": commit, "smoke": args.quick, "meta": meta, "set_value_us": calls}
    out.mkdir(parents=True, exist_ok=True)
    (out / RECORD).write_text(json.dumps(data, indent=1) + "\n")
    print(f"figures: {out / RECORD}")
    if not args.quick and out.resolve() == DEFAULT_OUT.resolve():
        for path in update_docs(RECORD, json.loads((out / RECORD).read_text())):  # the blocks, from the JSON as written
            print(f"{path.relative_to(HERE.parent)}: rewritten from {RECORD}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
