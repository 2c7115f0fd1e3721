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

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import datetime  # noqa: E402
import json  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from bench_report import update_docs  # noqa: E402 — benchmarks/, the script's own folder

DEFAULT_OUT = HERE.parent / "docs" / "figures"
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
    out = args.out or (Path(tempfile.gettempdir()) / "torchlean-bench" if args.quick else DEFAULT_OUT)
    seconds = 1 if args.quick else 10
    commit = subprocess.run(["git", "-C", str(HERE.parent), "describe", "--always", "--dirty"], capture_output=True, text=True).stdout.strip()
    load = os.getloadavg()[0]
    date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    print(f"bench_fuzz{' (--quick: figures meaningless)' if args.quick else ''} — commit {commit or '?'}, {date}, "
          f"BLAS threads pinned to 1; load average {load:.2f} at the start")
    started = time.perf_counter()
    engines = {}
    with tempfile.TemporaryDirectory() as folder:
        for engine in ("stateful", "random"):
            engines[engine] = run = campaign(engine, seconds, Path(folder))
            print(f"fuzz --engine {engine:8s}: {run['operations']:6d} operations in {run['seconds']:.1f} s, "
                  f"{run['ops_per_s']:.0f} operations/s, {run['divergences']} divergences")
    meta = {"date": date, "python": sys.version.split()[0], "load_average": load, "campaign_seconds": seconds,
            "seconds": time.perf_counter() - started}
    data = {"commit": commit, "smoke": args.quick, "meta": meta, "engines": engines}
    out.mkdir(parents=True, exist_ok=True)
    (out / RECORD).write_text(json.dumps(data, indent=1) + "\n")
    print(f"figures: {out / RECORD}")
    if not args.quick and out.resolve() == DEFAULT_OUT.resolve():
        for path in update_docs(RECORD, json.loads((out / RECORD).read_text())):  # the blocks, from the JSON as written
            print(f"{path.relative_to(HERE.parent)}: rewritten from {RECORD}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
