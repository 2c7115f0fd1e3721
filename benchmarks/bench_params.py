"""Benchmark: parameter-file conversion throughput and peak memory (torchlean_runtime.interop).

    .venv/bin/python benchmarks/bench_params.py            # 100 MB checkpoint (about a minute)
    .venv/bin/python benchmarks/bench_params.py --quick    # 10 MB, a smoke test (never rewrites the docs)

Writes every figure to ``bench_params.json`` in ``--out`` (default docs/figures; with ``--quick``
a temporary folder unless ``--out`` is given); a full run with
the default ``--out`` also rewrites the blocks rendered from it (docs/params.md's table, the
README's sentence; ``bench_report.py``).

Each conversion runs in a fresh child process (``torchlean-rt params convert`` through
``torchlean_runtime.cli.main``) so its peak resident memory (``VmHWM`` of the child) is its
own; "net" subtracts a child that only imports the same modules.  Throughput ("MB/s") is input
bytes per second of wall time for read + convert + write, best of ``--repeat`` runs in this
(warm) process; "cold MB/s" is the child's single run, which also pays the kernel's first-touch
page faults for every fresh array (slow on shared VMs).  Targets (issue 12):
TLPF32B and safetensors conversions ≥ 200 MB/s with net peak memory ≤ 2x the file; the JSON bits
format ≥ 20 MB/s (read and write measured separately).  Files live in a temporary directory.
"""

from __future__ import annotations

import bench_run  # first: pins BLAS/OpenMP to one thread before numpy loads (benchmarks/, this script's folder)

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

RECORD = "bench_params.json"
N_PARAMS = 20

_CHILD = """
import sys, time
from torchlean_runtime.cli import main
import torchlean_runtime.interop.commands, safetensors.numpy
args = sys.argv[1:]
t = time.perf_counter()
rc = main(args) if args else 0
dt = time.perf_counter() - t
# VmHWM: this process image's own peak RSS (ru_maxrss would carry the forking parent's over exec)
hwm = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM:"))
print(rc, dt, hwm * 1024)
"""


def _child(args: list[str]) -> tuple[float, int]:
    out = subprocess.run([sys.executable, "-c", _CHILD, *args], capture_output=True, text=True, check=True, env=os.environ)
    rc, dt, rss = out.stdout.strip().splitlines()[-1].split()
    if rc != "0":
        raise SystemExit(f"convert failed: {out.stdout}{out.stderr}")
    return float(dt), int(rss)


def _timed(argv: list[str]) -> float:
    import contextlib
    import io

    from torchlean_runtime.cli import main as cli_main

    t = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):
        rc = cli_main(argv)
    dt = time.perf_counter() - t
    if rc != 0:
        raise SystemExit(f"convert failed: {argv}")
    return dt


def _write_pack(path: str, total_bytes: int, dtype: np.dtype, fmt: str) -> None:
    from torchlean_runtime.interop.pack import ParamPack
    from torchlean_runtime.interop.paramio import write_paramlist_bits
    from torchlean_runtime.interop.safetensors_io import write_safetensors
    from torchlean_runtime.interop.tlpf32b import write_tlpf32b

    rng = np.random.default_rng(0)
    n_params = N_PARAMS
    per = total_bytes // dtype.itemsize // n_params
    arrays = tuple(rng.standard_normal(per).astype(dtype).reshape(-1, 1000 if per % 1000 == 0 else 1) for _ in range(n_params))
    pack = ParamPack(tuple(f"layer{i}.weight" for i in range(n_params)), arrays)
    {"tlpf32b": write_tlpf32b, "safetensors": write_safetensors, "bits": write_paramlist_bits}[fmt](path, pack)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="10 MB: a smoke test (figures meaningless; never rewrites the docs)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--out", type=Path, default=None, help=f"folder for {RECORD} (default docs/figures; with --quick a temporary folder)")
    args = ap.parse_args()
    run = bench_run.Run(RECORD, partial=args.quick, out=args.out)
    mb = 1 << 20
    size = (10 if args.quick else 100) * mb
    json_payload = (2 if args.quick else 10) * mb  # float64 payload of the bits file
    run.banner("bench_params")
    _, base_rss = _child([])
    print(f"baseline child (imports only): {base_rss / mb:.0f} MB peak RSS")
    records = []
    with tempfile.TemporaryDirectory() as d:
        f32 = np.dtype(np.float32)
        _write_pack(f"{d}/in.tlpf32b", size, f32, "tlpf32b")
        _write_pack(f"{d}/in.safetensors", size, f32, "safetensors")
        _write_pack(f"{d}/in.json", json_payload, np.dtype(np.float64), "bits")
        # (key, label, kind, in, out, extra args, MB/s target); kind: binary (memory target too), read, write
        cases = [
            ("tlpf32b_to_safetensors", "TLPF32B → safetensors", "binary", f"{d}/in.tlpf32b", f"{d}/out.safetensors", [], 200),
            ("safetensors_to_tlpf32b", "safetensors → TLPF32B", "binary", f"{d}/in.safetensors", f"{d}/out.tlpf32b", [], 200),
            ("tlpf32b_copy", "TLPF32B → TLPF32B", "binary", f"{d}/in.tlpf32b", f"{d}/copy.tlpf32b", [], 200),
            ("json_read", "bits JSON (pretty) → safetensors (read)", "read", f"{d}/in.json", f"{d}/j.safetensors", [], 20),
            ("json_write_pretty", "safetensors → bits JSON pretty (write, MB of JSON)", "write", f"{d}/j.safetensors",
             f"{d}/back.json", [], 20),
            ("json_write_compact", "safetensors → bits JSON compact (write, MB of JSON)", "write", f"{d}/j.safetensors",
             f"{d}/back_c.json", ["--to", "bits-compact"], 20),
        ]
        print(f"{'conversion':52} {'in MB':>7} {'MB/s':>8} {'target':>7} {'cold MB/s':>9} {'peak MB':>8} {'net MB':>7} {'net/file':>8}")
        for key, label, kind, src, dst, extra, target in cases:
            in_bytes = os.path.getsize(src)
            argv = ["params", "convert", src, dst, *extra]
            best = min(_timed(argv) for _ in range(args.repeat))  # warm: this process, best of N
            cold, rss = _child(argv)  # a fresh process: first-touch page faults included
            # a write case is rated on the bytes it writes (the JSON text), a read case on input
            rated = os.path.getsize(dst) if kind == "write" else in_bytes
            rate = rated / mb / best
            net = rss - base_rss
            passed = rate >= target and (kind != "binary" or net <= 2 * in_bytes)
            records.append({"key": key, "label": label, "kind": kind, "in_bytes": in_bytes, "rated_bytes": rated,
                            "best_s": best, "mb_s": rate, "target": target, "cold_s": cold, "cold_mb_s": rated / mb / cold,
                            "peak_rss": rss, "net_rss": net, "net_per_file": net / in_bytes, "passed": passed})
            print(f"{label:52} {in_bytes / mb:7.1f} {rate:8.1f} {target:7d} {rated / mb / cold:9.1f} {rss / mb:8.0f} {net / mb:7.0f} {net / in_bytes:8.2f}"
                  + ("" if passed else "   BELOW TARGET"))
    print("all targets met" if all(r["passed"] for r in records) else "some targets missed")
    run.write({"cases": records}, meta=run.meta(numpy=True, size_mb=size // mb, tensors=N_PARAMS,
                                                 json_payload_mb=json_payload // mb, repeat=args.repeat,
                                                 baseline_rss=base_rss))


if __name__ == "__main__":
    main()
