"""The trace reader on adversarial-complexity input: every byte pattern of
``fuzz_reader.ADVERSARIAL_UNITS`` repeated to 1 MiB behind each prefix the test suite uses
(``tests/vectors/test_vectors_hostile_inputs.py``), read by ``reader.read_trace_bytes`` (refused
or accepted); milliseconds per MiB, best of 3 per document, and the worst document.  Also the
peak memory of reading each worst-case file for memory (tiny JSON values just under the default
limits: a million empty lists, 1.6 million short strings): the tracemalloc peak of the read in a
fresh interpreter, as ``tests/vectors/test_vectors_reader.py`` bounds it.

    .venv/bin/python benchmarks/bench_reader.py                      # under a minute
    .venv/bin/python benchmarks/bench_reader.py --quick --out /tmp/x   # 64 KiB documents, files 1/16: a smoke test

Writes every figure to ``bench_reader.json`` in ``--out`` (default docs/figures; with ``--quick``
a temporary folder unless ``--out`` is given); a full run with the default ``--out`` also
rewrites docs/vectors.md's block rendered from it (``bench_report.py``).  ``--quick`` never
rewrites the docs.
"""

from __future__ import annotations

import bench_run  # first: pins BLAS/OpenMP to one thread before numpy loads (benchmarks/, this script's folder)

import argparse
import subprocess
import sys
import time
from pathlib import Path

from torchlean_runtime.conformance.vectors import fuzz_reader as FZ
from torchlean_runtime.conformance.vectors import reader as R
from torchlean_runtime.errors import TraceFormatError, TraceLimitError

RECORD = "bench_reader.json"
PREFIXES = (b"", b'"', b'{"steps": [')
MEMORY_PROBE = """
import sys, tracemalloc
from torchlean_runtime.errors import TraceFormatError
from torchlean_runtime.conformance.vectors.reader import DEFAULT_LIMITS, read_trace_bytes
try:
    read_trace_bytes(b"{}")  # warm up: the schema validators are built once per process
except TraceFormatError:
    pass
n = (DEFAULT_LIMITS.max_json_values // 2 - 10) // int(sys.argv[2])  # "[]," counts a comma and a bracket
m = (DEFAULT_LIMITS.max_file_bytes - 10) // 5 // int(sys.argv[2])   # '"ab",' is 5 bytes; one comma each
data = b"[" + b"[]," * n + b"[]]" if sys.argv[1] == "lists" else b"[" + b'"ab",' * m + b'"ab"]'
assert len(data) <= DEFAULT_LIMITS.max_file_bytes
tracemalloc.start()
try:
    read_trace_bytes(data)
except TraceFormatError:
    pass
print(len(data), len(data) and tracemalloc.get_traced_memory()[1])
"""


def peak_memory(shape: str, divisor: int) -> dict:
    """The probe on the worst-case file (``divisor`` 1), or on one ``divisor`` times smaller."""
    done = subprocess.run([sys.executable, "-c", MEMORY_PROBE, shape, str(divisor)], capture_output=True, text=True, check=True, timeout=600)
    size, peak = (int(x) for x in done.stdout.split())
    return {"file_bytes": size, "peak_bytes": peak}


def timed_read(data: bytes) -> float:
    start = time.perf_counter()
    try:
        R.read_trace_bytes(data, "<adversarial>")
    except (TraceFormatError, TraceLimitError):
        pass
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="64 KiB documents: a smoke test (never rewrites the docs)")
    parser.add_argument("--out", type=Path, default=None, help=f"folder for {RECORD} (default docs/figures)")
    args = parser.parse_args()
    run = bench_run.Run(RECORD, partial=args.quick, out=args.out)
    size = (1 << 16) if args.quick else (1 << 20)
    run.banner("bench_reader")
    documents = []
    for unit in FZ.ADVERSARIAL_UNITS:
        for prefix in PREFIXES:
            data = FZ.adversarial_document(unit, size, prefix)
            best = min(timed_read(data) for _ in range(3))
            documents.append({"unit": unit.decode("latin-1"), "prefix": prefix.decode("latin-1"), "bytes": len(data),
                              "ms_per_mib": best * 1000 / (len(data) / (1 << 20))})
    worst = max(documents, key=lambda d: d["ms_per_mib"])
    rates = sorted(d["ms_per_mib"] for d in documents)
    print(f"{len(documents)} documents of {size} bytes: median {rates[len(rates) // 2]:.1f} ms per MiB, worst "
          f"{worst['ms_per_mib']:.1f} ms per MiB (unit {worst['unit']!r}, prefix {worst['prefix']!r})")
    memory = {shape: peak_memory(shape, 16 if args.quick else 1) for shape in ("lists", "strings")}
    for shape, got in memory.items():
        print(f"worst case for memory ({shape}): a {got['file_bytes'] / (1 << 20):.1f} MiB file, "
              f"peak {got['peak_bytes'] / (1 << 20):.0f} MiB of Python allocations while reading it")
    run.write({"documents": documents, "memory": memory}, meta=run.meta(document_bytes=size))
    return 0


if __name__ == "__main__":
    sys.exit(main())
