"""Benchmark: parameter-file conversion throughput and peak memory (torchlean_runtime.interop).

    .venv/bin/python benchmarks/bench_params.py            # 100 MB checkpoint (about a minute)
    .venv/bin/python benchmarks/bench_params.py --quick    # 10 MB, a smoke test

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

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

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
    n_params = 20
    per = total_bytes // dtype.itemsize // n_params
    arrays = tuple(rng.standard_normal(per).astype(dtype).reshape(-1, 1000 if per % 1000 == 0 else 1) for _ in range(n_params))
    pack = ParamPack(tuple(f"layer{i}.weight" for i in range(n_params)), arrays)
    {"tlpf32b": write_tlpf32b, "safetensors": write_safetensors, "bits": write_paramlist_bits}[fmt](path, pack)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    mb = 1 << 20
    size = (10 if args.quick else 100) * mb
    json_payload = (2 if args.quick else 10) * mb  # float64 payload of the bits file
    _, base_rss = _child([])
    print(f"baseline child (imports only): {base_rss / mb:.0f} MB peak RSS")
    with tempfile.TemporaryDirectory() as d:
        f32 = np.dtype(np.float32)
        _write_pack(f"{d}/in.tlpf32b", size, f32, "tlpf32b")
        _write_pack(f"{d}/in.safetensors", size, f32, "safetensors")
        _write_pack(f"{d}/in.json", json_payload, np.dtype(np.float64), "bits")
        cases = [
            ("TLPF32B -> safetensors", f"{d}/in.tlpf32b", f"{d}/out.safetensors", [], 200),
            ("safetensors -> TLPF32B", f"{d}/in.safetensors", f"{d}/out.tlpf32b", [], 200),
            ("TLPF32B -> TLPF32B", f"{d}/in.tlpf32b", f"{d}/copy.tlpf32b", [], 200),
            ("bits JSON (pretty) -> safetensors  [read]", f"{d}/in.json", f"{d}/j.safetensors", [], 20),
            ("safetensors -> bits JSON (pretty)  [write]", f"{d}/j.safetensors", f"{d}/back.json", [], 20),
            ("safetensors -> bits JSON (compact) [write]", f"{d}/j.safetensors", f"{d}/back_c.json", ["--to", "bits-compact"], 20),
        ]
        print(f"{'conversion':44} {'in MB':>7} {'MB/s':>8} {'target':>7} {'cold MB/s':>9} {'peak MB':>8} {'net MB':>7} {'net/file':>8}")
        ok = True
        for label, src, dst, extra, target in cases:
            in_bytes = os.path.getsize(src)
            argv = ["params", "convert", src, dst, *extra]
            best = min(_timed(argv) for _ in range(args.repeat))  # warm: this process, best of N
            cold, rss = _child(argv)  # a fresh process: first-touch page faults included
            # a write case is rated on the bytes it writes (the JSON text), a read case on input
            rated = os.path.getsize(dst) if "[write]" in label else in_bytes
            rate = rated / mb / best
            net = rss - base_rss
            mem_ok = "[" in label or net <= 2 * in_bytes
            ok &= rate >= target and mem_ok
            print(f"{label:44} {in_bytes / mb:7.1f} {rate:8.1f} {target:7d} {rated / mb / cold:9.1f} {rss / mb:8.0f} {net / mb:7.0f} {net / in_bytes:8.2f}"
                  + ("" if rate >= target and mem_ok else "   BELOW TARGET"))
        print("all targets met" if ok else "some targets missed")


if __name__ == "__main__":
    main()
