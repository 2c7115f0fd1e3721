"""Protocol throughput: small-tensor steps through ``exec:torchlean-rt serve --target impl``
(torchlean.runtime.protocol.v1 over pipes) beside the same steps in process, the whole corpus
replayed both ways, and the pipe's floor (a bare echo over the same kind of pipes; ``serve``
answering requests written ahead).  BLAS pinned to one thread (make bench does it too).

    OPENBLAS_NUM_THREADS=1 .venv/bin/python benchmarks/bench_protocol.py           # 1-2 minutes
    .venv/bin/python benchmarks/bench_protocol.py --quick --out /tmp/x             # a smoke test

Writes every figure to ``bench_protocol.json`` in ``--out`` (default docs/figures; with ``--quick``
a temporary folder unless ``--out`` is given); a full run
with the default ``--out`` also rewrites docs/protocol.md's throughput block from it
(``bench_report.py``).  ``--quick`` (few steps, a few corpus files) never rewrites the docs.
"""

from __future__ import annotations

import bench_run  # first: pins BLAS/OpenMP to one thread before numpy loads (benchmarks/, this script's folder)

import argparse
import json
import os
import select
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from torchlean_runtime.conformance.target import open_target
from torchlean_runtime.conformance.vectors.bits import TensorBits
from torchlean_runtime.conformance.vectors.replay import corpus_dir, run_replay

RECORD = "bench_protocol.json"
SERVE_ARGV = [sys.executable, "-m", "torchlean_runtime", "serve", "--target", "impl"]
SERVE = "exec:" + " ".join(shlex.quote(a) for a in SERVE_ARGV)
ECHO = "import sys\nfor line in sys.stdin.buffer:\n    sys.stdout.buffer.write(line)\n    sys.stdout.buffer.flush()\n"


def small_steps(target, n: int) -> float:
    """n calls on a 4-element Variable and a 2-entry context; steps per second."""
    target.reset("Float")
    w = TensorBits.from_array(np.array([1.0, 2.0, 3.0, 4.0]))
    target.call("Runtime.emptyContext", {}, "c0")
    target.call("Runtime.registerVariable", {"ctx": "c0", "name": "w", "value": w}, "c1")
    target.call("Runtime.registerVariable", {"ctx": "c1", "name": "b", "value": w}, "c2")
    target.call("Runtime.Variable.createVariable", {"id": 0, "name": "w", "value": w}, "v0")
    calls = [
        ("Runtime.getVariable", {"ctx": "c2", "name": "w", "s": (4,)}),
        ("Runtime.hasVariable", {"ctx": "c2", "name": "x"}),
        ("Runtime.Variable.variableNorm", {"v": "v0"}),
        ("Runtime.Variable.getValue", {"v": "v0"}),
        ("Runtime.contextSize", {"ctx": "c2"}),
        ("Runtime.Variable.setValue", {"v": "v0", "new_value": w}),
    ]
    start = time.perf_counter()
    for i in range(n):
        op, args = calls[i % len(calls)]
        bind = f"x{i}" if op == "Runtime.Variable.setValue" else None
        target.call(op, args, bind)
    return n / (time.perf_counter() - start)


def recorded_exec_steps(n: int) -> tuple[float, list[bytes], int]:
    """small_steps through ``exec: serve``; also every line the client wrote, and how many of
    them precede the n timed calls (handshake, reset, setup)."""
    target = open_target(SERVE)
    lines: list[bytes] = []
    write = target._write  # the client's one writer: record each message as it goes out

    def recording(message: dict, what: str) -> None:
        lines.append((json.dumps(message, separators=(",", ":"), ensure_ascii=False) + "\n").encode("utf-8"))
        write(message, what)

    target._write = recording
    try:
        rate = small_steps(target, n)
        session = list(lines)  # before close: the handshake, reset, setup, then the n timed calls
    finally:
        target.close()
    return rate, session, len(session) - n


def serve_alone(lines: list[bytes], prefix: int) -> float:
    """Requests/s of ``serve`` answering requests written ahead (stdin a file, so no client waits
    between them): from its answer to the last setup request to its answer to the last request."""
    with tempfile.TemporaryFile() as requests:
        requests.write(b"".join(lines))
        requests.seek(0)
        proc = subprocess.Popen(SERVE_ARGV, stdin=requests, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        try:
            answered, start = 0, None
            for _ in proc.stdout:  # type: ignore[union-attr]
                answered += 1
                if answered == prefix:
                    start = time.perf_counter()
                if answered == len(lines):
                    took = time.perf_counter() - start  # type: ignore[operator]
                    break
            else:
                raise SystemExit(f"serve answered {answered} of {len(lines)} requests")
        finally:
            proc.stdout.close()  # type: ignore[union-attr]
            proc.wait(timeout=30)
    return (len(lines) - prefix) / took


def echo_round_trips(lines: list[bytes], wait_with_select: bool) -> float:
    """Round trips/s of a bare echo child over pipes: write one request line, read its echo."""
    proc = subprocess.Popen([sys.executable, "-c", ECHO], stdin=subprocess.PIPE, stdout=subprocess.PIPE, bufsize=0)
    fd_in, fd_out = proc.stdin.fileno(), proc.stdout.fileno()  # type: ignore[union-attr]
    try:
        start = time.perf_counter()
        for line in lines:
            os.write(fd_in, line)
            got = b""
            while not got.endswith(b"\n"):
                if wait_with_select:
                    select.select([fd_out], [], [], 10.0)
                got += os.read(fd_out, 1 << 16)
        took = time.perf_counter() - start
    finally:
        proc.stdin.close()  # type: ignore[union-attr]
        proc.wait(timeout=10)
    return len(lines) / took


def replay_corpus(selector: str, quick: bool) -> tuple[int, int, float]:
    paths = [str(corpus_dir())]
    if quick:  # a few files: checks the measurement runs
        paths = [str(p) for p in sorted(Path(corpus_dir()).rglob("*.json")) if p.name != "manifest.json"][:4]
    start = time.perf_counter()
    run = run_replay(paths, selector)
    took = time.perf_counter() - start
    bad = [r for r in run.results if r.status != "passed"]
    if bad:
        raise SystemExit(f"replay on {selector}: {len(bad)} of {len(run.results)} files did not pass ({bad[0].status})")
    return len(run.results), sum(r.executed for r in run.results), took


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="few steps and corpus files: a smoke test (never rewrites the docs)")
    parser.add_argument("--out", type=Path, default=None, help=f"folder for {RECORD} (default docs/figures; with --quick a temporary folder)")
    args = parser.parse_args()
    run = bench_run.Run(RECORD, partial=args.quick, out=args.out)
    steps = 300 if args.quick else 20_000
    run.banner("bench_protocol")
    target = open_target("impl")
    try:
        in_process = small_steps(target, steps)
    finally:
        target.close()
    print(f"small steps, in process                 : {in_process:8.0f} steps/s")
    exec_rate, lines, prefix = recorded_exec_steps(steps)
    print(f"small steps, exec: serve --target impl  : {exec_rate:8.0f} steps/s")
    corpus = {}
    for key, selector in (("in_process_s", "impl"), ("exec_s", SERVE)):
        files, executed, took = replay_corpus(selector, args.quick)
        corpus.update(files=files, steps=executed, **{key: took})
        print(f"whole corpus ({files} files, {executed} steps), {'in process' if selector == 'impl' else 'through exec:'} — {took:.2f} s")
    timed = lines[prefix:]
    pipe = {"echo_select": echo_round_trips(timed, True), "echo_blocking": echo_round_trips(timed, False),
            "serve_alone": serve_alone(lines, prefix)}
    print(f"pipe floor: bare echo {pipe['echo_select']:.0f} round trips/s waiting with select, "
          f"{pipe['echo_blocking']:.0f} with blocking reads; serve alone {pipe['serve_alone']:.0f} requests/s")
    run.write({"small_steps": {"steps": steps, "in_process": in_process, "exec": exec_rate}, "corpus": corpus, "pipe": pipe},
              meta=run.meta(numpy=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
