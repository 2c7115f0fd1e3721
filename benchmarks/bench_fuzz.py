"""Fuzz-engine throughput: ``torchlean-rt fuzz --target impl`` for a fixed time with each engine
(``stateful``, ``random``), one worker, seed 0, BLAS pinned to one thread; operations per second
of the whole campaign (spec answers, impl execution and comparison together), from the
campaign's own ``--json`` summary.

    .venv/bin/python benchmarks/bench_fuzz.py                     # 2 x 10 s campaigns
    .venv/bin/python benchmarks/bench_fuzz.py --quick --out /tmp/x  # 2 x 1 s, a smoke test

Writes every figure to ``bench_fuzz.json`` in ``--out`` (default docs/figures; with ``--quick``
a temporary folder unless ``--out`` is given); a full run with the default ``--out`` also
rewrites docs/conformance.md's fuzz-speed block (``bench_report.py``).  ``--quick`` never
rewrites the docs.
"""

from __future__ import annotations

import bench_run  # first: pins BLAS/OpenMP to one thread before numpy loads (benchmarks/, this script's folder)

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

RECORD = "bench_fuzz.json"


def campaign(engine: str, seconds: int, folder: Path) -> dict:
    summary = folder / f"fuzz-{engine}.json"
    done = subprocess.run([sys.executable, "-m", "torchlean_runtime", "fuzz", "--target", "impl", "--engine", engine,
                           "--seconds", str(seconds), "--seed", "0", "--workers", "1", "--json", str(summary)],
                          capture_output=True, text=True, env=os.environ)
    if done.returncode != 0:
        raise SystemExit(f"fuzz --engine {engine} failed ({done.returncode}): {done.stderr[-2000:]}")
    data = json.loads(summary.read_text())
    return {"cases": data["cases"], "operations": data["operations"], "seconds": data["seconds"],
            "ops_per_s": data["operations"] / data["seconds"], "divergences": len(data["divergences"])}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1 s campaigns: a smoke test (never rewrites the docs)")
    parser.add_argument("--out", type=Path, default=None, help=f"folder for {RECORD} (default docs/figures)")
    args = parser.parse_args()
    run = bench_run.Run(RECORD, partial=args.quick, out=args.out)
    seconds = 1 if args.quick else 10
    run.banner("bench_fuzz")
    engines = {}
    with tempfile.TemporaryDirectory() as folder:
        for engine in ("stateful", "random"):
            engines[engine] = got = campaign(engine, seconds, Path(folder))
            print(f"fuzz --engine {engine:8s}: {got['operations']:6d} operations in {got['seconds']:.1f} s, "
                  f"{got['ops_per_s']:.0f} operations/s, {got['divergences']} divergences")
    run.write({"engines": engines}, meta=run.meta(campaign_seconds=seconds))
    return 0


if __name__ == "__main__":
    sys.exit(main())
