"""Protocol throughput: small-tensor steps through ``exec:torchlean-rt serve --target impl``
(torchlean.runtime.protocol.v1 over pipes) beside the same steps in process, and the whole
corpus replayed both ways.  BLAS pinned to one thread (make bench does it too).

    OPENBLAS_NUM_THREADS=1 .venv/bin/python benchmarks/bench_protocol.py
"""

from __future__ import annotations

import os
import shlex
import sys
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from torchlean_runtime.conformance.target import open_target  # noqa: E402
from torchlean_runtime.conformance.vectors.bits import TensorBits  # noqa: E402
from torchlean_runtime.conformance.vectors.replay import corpus_dir, run_replay  # noqa: E402

STEPS = 20_000
SERVE = f"exec:{shlex.quote(sys.executable)} -m torchlean_runtime serve --target impl"


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


def main() -> None:
    for selector in ("impl", SERVE):
        t = open_target(selector)
        try:
            rate = small_steps(t, STEPS)
        finally:
            t.close()
        print(f"small steps, {'in process' if selector == 'impl' else 'exec: serve --target impl':28s}: {rate:8.0f} steps/s")
    for selector in ("impl", SERVE):
        start = time.perf_counter()
        run = run_replay([corpus_dir()], selector)
        took = time.perf_counter() - start
        steps = sum(r.executed for r in run.results)
        print(f"whole corpus ({len(run.results)} files, {steps} steps), {'in process' if selector == 'impl' else 'exec:'}: "
              f"{took:.2f} s")


if __name__ == "__main__":
    main()
