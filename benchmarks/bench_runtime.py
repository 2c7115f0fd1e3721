"""``make bench``: every performance target of issue 11, PASS/FAIL, as ratios measured in one run.

    .venv/bin/python benchmarks/bench_runtime.py               # the full run (about 6–9 minutes)
    .venv/bin/python benchmarks/bench_runtime.py --smoke       # tiny sizes, seconds (structure only)
    .venv/bin/python benchmarks/bench_runtime.py --plot-only   # redraw the figure from docs/figures/bench.json
    options: --out DIR (figure + JSON; default docs/figures, or a temporary folder with --smoke), --no-campaign

One run measures, with BLAS/OpenMP pinned to one thread (set below, before numpy is imported):

* the impl with its icontract preconditions (this process) and under ``python -O`` (a worker
  process timing the same fixtures on request, its loops interleaved with this process's), the spec (literal Lean lists; for register/set/
  create the spec's tensor construction from the same numpy array is counted, as the impl's copy
  is), and peers: PyTorch when importable (``register_parameter``, ``get_parameter``,
  ``p.grad + g``), a plain dict, a persistent ``immutables.Map``, numpy floors (``np.add(a, b)``
  allocating, ``np.add(a, b, out=c)``, a fresh ``np.ndarray`` header over bytes (what every
  ``get`` hands out), the chunked cumulative sum the norm is built from), the
  dependent-add bound of the norm and the optional numba kernels (``impl/kernels.py``): the
  impl rows are the numpy paths (``kernels.NORM``/``ACCUMULATE`` set to ``None``), the kernels'
  own rows ("impl + numba kernel [fast]") are measured after them, contracts on and ``-O``;
* registry scale: a 1e6-entry registry built through ``register_variable`` with the garbage
  collector on, next to a persistent ``immutables.Map`` of the same keys and a dict; bytes per
  entry beyond array data (tracemalloc); lookups over random names at 1e6 vs at 10 entries;
* the differential campaign's rate (``torchlean-rt fuzz``, a child process);

prints each target with PASS/FAIL, writes ``bench.json`` (every figure) and then ``bench_scaling.png``
(cost per call vs registry size and vs tensor size, log-log), drawn from that JSON as written, into
``--out``.  With the default ``--out`` (a full run) it also rewrites the README's Performance block
from that JSON (``bench_run.py``, ``bench_report.py``).  ``--plot-only`` measures nothing: it redraws
the figure from the ``bench.json`` already in ``--out``, so the figure never drifts from its record.

Timings are the best of several interleaved rounds of a calibrated loop (time.perf_counter), per call.  The
machine may be shared, so small differences are noise; a ratio is only compared within one run.
"""

from __future__ import annotations

import bench_run  # first: pins BLAS/OpenMP to one thread before numpy loads (benchmarks/, this script's folder)

import argparse
import gc
import hashlib
import itertools
import json
import os
import random
import re
import subprocess
import tempfile
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Callable, Optional

import immutables
import numpy as np

from torchlean_runtime.impl import RuntimeContext, Variable, kernels
from torchlean_runtime.impl.abstraction import tensor_to_spec
from torchlean_runtime.impl.registry import EMPTY as REGISTRY_EMPTY
from torchlean_runtime.spec.core.shape import ofList
from torchlean_runtime.spec.runtime import context as SC
from torchlean_runtime.spec.runtime import variable as SV

HERE = Path(__file__).resolve()
RECORD = "bench.json"
FIGURE = "bench_scaling.png"

# Sizes: (registry sizes, tensor sizes, spec tensor sizes, scale entries, memory entries).
FULL = dict(registry=[10, 1_000, 100_000], tensor=[10, 1_000, 10_000, 100_000, 1_000_000], spec_tensor=[10, 1_000, 10_000],
            scale=1_000_000, memory=100_000, min_time=0.4, repeats=8, campaign_seconds=10.0)
SMOKE = dict(registry=[10, 100], tensor=[10, 1_000, 10_000], spec_tensor=[10], scale=2_000, memory=1_000, min_time=0.002, repeats=1,
             campaign_seconds=0.5)


class Remote:
    """A candidate timed in the ``python -O`` worker: ``loop(n)`` runs it ``n`` times there and
    returns the worker's own elapsed seconds (the pipe round trip is not counted)."""

    def __init__(self, worker: "OptimizedWorker", op: str) -> None:
        self.worker, self.op = worker, op

    def loop(self, n: int) -> float:
        return self.worker.ask({"run": self.op, "loops": n})


def _loop(fn: Callable[[], object], n: int) -> float:
    start = time.perf_counter()
    for _ in range(n):
        fn()
    return time.perf_counter() - start


def measure(fns: dict, min_time: float, rounds: int) -> dict:
    """Best seconds per call of each candidate (a zero-argument function, or a :class:`Remote`
    timed in the ``-O`` worker), measured in interleaved rounds (each a calibrated loop of about
    ``min_time / rounds``) so that a busy phase of a shared machine hits every candidate of a
    comparison alike — the ``-O`` figures included; candidates slower than 0.2 s a loop get 2 rounds."""
    per_round = min_time / rounds
    runs = {key: (fn.loop if isinstance(fn, Remote) else (lambda n, fn=fn: _loop(fn, n))) for key, fn in fns.items()}
    loops, best = {}, {}
    for key, run in runs.items():  # calibrate (the calibration loop also counts as a sample)
        n = 1
        while True:
            elapsed = run(n)
            if elapsed >= per_round / 4 or n >= 1 << 22:
                break
            n *= 4
        loops[key] = max(1, int(n * per_round / max(elapsed, 1e-9)))
        best[key] = elapsed / n
    for r in range(rounds):
        for key, run in runs.items():
            n = loops[key]
            if r >= 2 and best[key] * n > 0.2:
                continue
            best[key] = min(best[key], run(n) / n)
    return best


def cycle(items: list) -> Callable[[], object]:
    """A zero-argument callable returning the items in turn, forever (C-level, ~30 ns a call)."""
    return itertools.cycle(items).__next__


def fmt(seconds: Optional[float]) -> str:
    if seconds is None:
        return "—"
    if seconds < 1e-6:
        return f"{seconds * 1e9:.0f} ns"
    if seconds < 1e-3:
        return f"{seconds * 1e6:.2f} µs"
    if seconds < 1:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds:.2f} s"


def _context(n: int, value: np.ndarray) -> RuntimeContext:
    ctx = RuntimeContext.empty()
    for i in range(n):
        ctx = ctx.register_variable(f"p{i}", value)
    return ctx


def _random_names(n: int, count: int, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    return [f"p{rng.randrange(n)}" for _ in range(count)]


def _pair(n: int, dtype=np.float64) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(n)
    return rng.standard_normal(n).astype(dtype), rng.standard_normal(n).astype(dtype)


def chunked_cumsum_floor(x: np.ndarray, chunk: int = 1 << 16) -> np.floating:
    """The numpy floor of the norm: squares then ``np.add.accumulate`` per chunk, carrying the
    running total (the same IEEE operations as the spec's left fold, nothing else)."""
    flat = x.reshape(-1)
    total = np.zeros(1, x.dtype)
    buf = np.empty(min(flat.size, chunk), x.dtype)
    for start in range(0, flat.size, chunk):
        part = flat[start:start + chunk]
        sq = buf[: part.size]
        np.multiply(part, part, out=sq)
        np.add(total, sq[:1], out=sq[:1])
        np.add.accumulate(sq, out=sq)
        total[0] = sq[-1]
    return np.sqrt(total)[0]


def _torch():
    try:
        import torch  # noqa: PLC0415 — optional peer
    except ImportError:
        return None
    torch.set_num_threads(1)
    return torch


def _add_chain() -> tuple[Optional[Callable[[], object]], int, str]:
    """A compiled chain of dependent float64 adds (``acc = acc + x[i]``) over an in-cache array —
    the norm's physical limit, per element — or None without numba."""
    try:
        import numba  # noqa: PLC0415
    except ImportError:
        return None, 0, "not measured (numba not installed)"

    @numba.njit(fastmath=False)
    def chain(x, acc):
        for i in range(x.size):
            acc = acc + x[i]
        return acc

    x = np.random.default_rng(3).standard_normal(1 << 14)  # in L1/L2: the adds, not memory, bound it
    chain(x, 0.0)
    return (lambda: chain(x, 0.0)), x.size, "numba loop of dependent float64 adds over an in-cache array"


OPS = ("register", "set", "get", "has", "create", "accumulate", "norm")


REGISTRY_OPS = ("register", "set", "get", "has")
TENSOR_OPS = ("create", "accumulate", "norm")


def registry_impl_fns(n: int) -> dict:
    """The impl's registry operations on an ``n``-entry context (random names; 2-element arrays)."""
    ctx = _context(n, np.array([1.0, 2.0]))
    value = np.array([5.0, 6.0])
    nx = cycle(_random_names(n, 1000))
    return {"register": lambda: ctx.register_variable("new", value), "set": lambda: ctx.set_variable(nx(), value),
            "get": lambda: ctx.get_variable(nx(), (2,)), "has": lambda: ctx.has_variable(nx())}


def tensor_impl_fns(n: int) -> dict:
    """The impl's tensor operations on ``n``-element float64 arrays (the numpy norm path)."""
    a, b = _pair(n)
    v = Variable.create(0, "w", a).set_gradient(a)
    return {"create": lambda: Variable.create(0, "w", a), "accumulate": lambda: v.accumulate_gradient(b),
            "norm": v.variable_norm}


class OptimizedWorker:
    """A ``python -O`` process (no icontract preconditions) timing the same impl fixtures on
    request, so that its loops interleave with this process's in :func:`measure`."""

    def __init__(self) -> None:
        env = dict(os.environ)
        env.pop("TORCHLEAN_RT_CHECK", None)
        self.proc = subprocess.Popen([sys.executable, "-O", str(HERE), "--worker"], env=env, text=True,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE)

    def ask(self, message: dict):
        self.proc.stdin.write(json.dumps(message) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"the -O worker exited ({self.proc.wait()}) on {message}")
        return json.loads(line)

    def setup(self, kind: str, n: int) -> dict:
        return {op: Remote(self, op) for op in self.ask({"setup": kind, "n": n})}

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait()


def serve_worker() -> int:
    """The ``-O`` worker's loop: ``{"setup": "registry"|"tensor", "n": N}`` builds the fixtures
    (answer: their names), ``{"run": op, "loops": L}`` answers the elapsed seconds of L calls,
    ``{"kernels": true}`` switches from the numpy paths to the ``[fast]`` kernels (answer: whether
    they passed their probe)."""
    if sys.flags.optimize < 1:
        raise SystemExit("the worker measures the -O figures: run it under python -O")
    saved = kernels.NORM, kernels.ACCUMULATE
    kernels.NORM = kernels.ACCUMULATE = None  # the numpy paths, as in the main process; the kernels are measured apart
    fns: dict = {}
    for line in sys.stdin:
        message = json.loads(line)
        if "kernels" in message:  # {"kernels": true}: from now on the [fast] kernels (answer: whether they run)
            kernels.NORM, kernels.ACCUMULATE = saved
            answer = kernels.ready()
        elif "scale" in message:  # {"scale": N}: the 1e6 build and its Map baseline, in this -O process
            answer = scale_builds(message["scale"])
        elif "setup" in message:
            fns = (registry_impl_fns if message["setup"] == "registry" else tensor_impl_fns)(message["n"])
            answer = list(fns)
        else:
            answer = _loop(fns[message["run"]], message["loops"])
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()
    return 0


def measure_calls(cfg: dict) -> dict:
    """Per-call seconds ``{who: {op: {size: s}}}`` for the impl with contracts (this process), the
    impl under ``-O`` (the worker), the spec and the peers — every comparison at one size measured
    interleaved, in one run."""
    t, rounds = cfg["min_time"], cfg["repeats"]
    res: dict = {who: {op: {} for op in OPS} for who in ("impl", "impl_O", "spec")}
    res["peers"] = {k: {} for k in PEER_LABEL}
    torch = _torch()
    value = np.array([5.0, 6.0])
    spec_shape = ofList([2])
    worker = OptimizedWorker()
    try:
        for n in cfg["registry"]:
            fns = {("impl", op): fn for op, fn in registry_impl_fns(n).items()}
            fns.update({("impl_O", op): remote for op, remote in worker.setup("registry", n).items()})
            nx = cycle(_random_names(n, 1000))
            spec = SC.emptyContext()
            one = tensor_to_spec(np.array([1.0, 2.0]))
            for i in range(n):
                spec = SC.registerVariable(spec, f"p{i}", one)
            table = {f"p{i}": value for i in range(n)}
            m = immutables.Map(table)
            fns.update({("spec", "register"): lambda: SC.registerVariable(spec, "new", tensor_to_spec(value)),
                        ("spec", "set"): lambda: SC.setVariable(spec, nx(), tensor_to_spec(value)),
                        ("spec", "get"): lambda: SC.getVariable(spec, nx(), spec_shape),
                        ("spec", "has"): lambda: SC.hasVariable(spec, nx()),
                        ("peers", "dict_set"): lambda: table.__setitem__(nx(), value),
                        ("peers", "dict_get"): lambda: table.get(nx()),
                        ("peers", "map_set"): lambda: m.set("new", value),
                        ("peers", "map_get"): lambda: m.get(nx()),
                        ("peers", "fresh_header"): lambda b=value.tobytes(), d=value.dtype: np.ndarray((2,), d, b)})
            if torch is not None:
                module = torch.nn.Module()
                param = torch.nn.Parameter(torch.from_numpy(value.copy()))
                for i in range(n):
                    module.register_parameter(f"p{i}", torch.nn.Parameter(torch.from_numpy(value.copy())))
                fns[("peers", "torch_register")] = lambda: module.register_parameter("new", param)
                fns[("peers", "torch_get")] = lambda: module.get_parameter(nx())
            for (who, op), s in measure(fns, t, rounds).items():
                res[who][op][n] = s
        saved = kernels.NORM, kernels.ACCUMULATE
        kernels.NORM = kernels.ACCUMULATE = None  # the numpy paths here; the kernels are measured below
        try:
            for n in cfg["tensor"]:
                a, b = _pair(n)
                c = np.empty_like(a)
                fns = {("impl", op): fn for op, fn in tensor_impl_fns(n).items()}
                fns.update({("impl_O", op): remote for op, remote in worker.setup("tensor", n).items()})
                fns.update({("peers", "np_add_alloc"): lambda: np.add(a, b),
                            ("peers", "np_add_out"): lambda: np.add(a, b, out=c),
                            ("peers", "cumsum_floor"): lambda: chunked_cumsum_floor(a)})
                if torch is not None:
                    p = torch.nn.Parameter(torch.from_numpy(a.copy()))
                    p.grad = torch.from_numpy(a.copy())
                    g = torch.from_numpy(b)
                    fns[("peers", "torch_accumulate")] = lambda: p.grad + g
                if n in cfg["spec_tensor"]:
                    sa, sb = tensor_to_spec(a), tensor_to_spec(b)
                    sv = SV.setGradient(SV.createVariable(0, "w", sa), sa)
                    fns.update({("spec", "create"): lambda: SV.createVariable(0, "w", tensor_to_spec(a)),
                                ("spec", "accumulate"): lambda: SV.accumulateGradient(sv, sb),
                                ("spec", "norm"): lambda: SV.variableNorm(sv)})
                for (who, op), s in measure(fns, t, rounds).items():
                    res[who][op][n] = s
        finally:
            kernels.NORM, kernels.ACCUMULATE = saved
        kernel_ok = kernels.ready()
        worker_kernel = kernel_ok and worker.ask({"kernels": True})
        chain, chain_size, how = _add_chain()
        res["peers"]["add_bound_how"], res["peers"]["kernel_status"] = how, kernels.STATUS
        for n in cfg["tensor"]:
            fns = {}
            if kernel_ok:
                fns["kernel_norm"] = Variable.create(0, "w", _pair(n)[0]).variable_norm
                fns["kernel_accumulate"] = tensor_impl_fns(n)["accumulate"]
            if worker_kernel:
                fns["kernel_accumulate_O"] = worker.setup("tensor", n)["accumulate"]
            if chain is not None:
                fns["add_bound"] = chain
            for key, s in measure(fns, t, rounds).items():
                res["peers"][key][n] = s * n / chain_size if key == "add_bound" else s
    finally:
        worker.close()
    return res


PEER_LABEL = {"dict_set": "dict set", "dict_get": "dict get", "map_set": "immutables.Map set", "map_get": "immutables.Map get",
              "torch_register": "torch register_parameter", "torch_get": "torch get_parameter",
              "fresh_header": "np.ndarray(shape, dtype, bytes)",
              "np_add_alloc": "np.add(a, b)", "np_add_out": "np.add(a, b, out=c)", "torch_accumulate": "torch p.grad + g",
              "cumsum_floor": "chunked cumsum floor", "kernel_norm": "impl + numba kernel [fast]",
              "kernel_accumulate": "impl + numba kernel [fast]", "kernel_accumulate_O": "impl -O + numba kernel [fast]",
              "add_bound": "dependent-add bound"}


# --- registry scale ----------------------------------------------------------------------------------


def scale_builds(n: int, rounds: int = 2) -> dict:
    """Best seconds, over ``rounds`` interleaved rounds in THIS process (GC on), of building ``n``
    entries via ``register_variable`` and of a persistent ``immutables.Map`` of the same keys
    (values: the same data, already frozen).  Runs in this process and in the ``-O`` worker."""
    names = [f"p{i}" for i in range(n)]
    arrays = [np.array([float(i), 1.0]) for i in range(n)]  # the caller's arrays (the impl copies them)
    frozen = [Variable.create(0, "w", a).value for a in arrays]
    assert gc.isenabled()
    best = {"build": float("inf"), "build_map": float("inf")}
    for _ in range(rounds):
        gc.collect()
        start = time.perf_counter()
        ctx = RuntimeContext.empty()
        for name, a in zip(names, arrays):
            ctx = ctx.register_variable(name, a)
        best["build"] = min(best["build"], time.perf_counter() - start)
        del ctx
        gc.collect()
        start = time.perf_counter()
        m = immutables.Map()
        for name, a in zip(names, frozen):
            m = m.set(name, a)
        best["build_map"] = min(best["build_map"], time.perf_counter() - start)
        del m
    gc.collect()
    return best


def measure_scale(cfg: dict) -> dict:
    """Build time at ``cfg['scale']`` entries with GC on (impl via register_variable with
    contracts on here and under ``-O`` in a worker, each against a persistent Map built in the
    same process; the registry layer alone; dict); bytes per entry beyond array data at
    ``cfg['memory']``; random-name lookups."""
    n = cfg["scale"]
    worker = OptimizedWorker()
    try:
        optimized = worker.ask({"scale": n})
    finally:
        worker.close()
    builds = scale_builds(n)
    names = [f"p{i}" for i in range(n)]
    arrays = [np.array([float(i), 1.0]) for i in range(n)]
    frozen = [Variable.create(0, "w", a).value for a in arrays]  # same data, already frozen, for the layer and dict
    gc.collect()
    ctx = RuntimeContext.empty()
    for name, a in zip(names, arrays):
        ctx = ctx.register_variable(name, a)
    # lookups over random names: at n, cycling over 100,000 random names (so the working set is
    # the registry, not a cache-resident few), and at 10 entries
    small = _context(10, np.array([1.0, 2.0]))
    lookups = measure({"at_n": lambda nx=cycle(_random_names(n, min(n, 100_000), seed=1)): ctx.get_variable(nx(), (2,)),
                       "at_10": lambda nx=cycle(_random_names(10, 1000, seed=1)): small.get_variable(nx(), (2,))},
                      cfg["min_time"], cfg["repeats"])
    at_n, at_10 = lookups["at_n"], lookups["at_10"]
    del ctx
    gc.collect()
    start = time.perf_counter()  # the registry layer alone (impl/registry.py): arrays already frozen
    registry = REGISTRY_EMPTY
    for name, a in zip(names, frozen):
        registry = registry.register(name, a)
    build_layer = time.perf_counter() - start
    del registry
    gc.collect()
    start = time.perf_counter()
    d = {}
    for name, a in zip(names, frozen):
        d[name] = a
    build_dict = time.perf_counter() - start
    del d, frozen
    gc.collect()
    return {"entries": n, **builds, "build_O": optimized["build"], "build_map_O": optimized["build_map"],
            "build_layer": build_layer, "build_dict": build_dict,
            "get_at_n": at_n, "get_at_10": at_10, **measure_memory(cfg["memory"])}


def measure_memory(n: int) -> dict:
    """Traced bytes per entry: the registry built by register_variable, minus the same number of
    frozen arrays held in a list (the array data, headers included); a persistent Map of the same
    keys for scale.  Names are created before tracing (they are the caller's strings)."""
    names = [f"p{i}" for i in range(n)]
    arrays = [np.array([float(i), 1.0]) for i in range(n)]
    gc.collect()
    tracemalloc.start()
    held = [Variable.create(0, "w", a).value for a in arrays]
    arrays_only = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    del held
    gc.collect()
    tracemalloc.start()
    ctx = RuntimeContext.empty()
    for name, a in zip(names, arrays):
        ctx = ctx.register_variable(name, a)
    registry = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    del ctx
    gc.collect()
    tracemalloc.start()
    m = immutables.Map()
    for name, a in zip(names, arrays):
        m = m.set(name, a)
    map_bytes = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    return {"memory_entries": n, "bytes_per_entry": (registry - arrays_only) / n, "array_bytes_per_entry": arrays_only / n,
            "map_bytes_per_entry": map_bytes / n}


def measure_campaign(seconds: float) -> dict:
    """``torchlean-rt fuzz`` for ``seconds`` in a child process; its own ops/s line."""
    exe = Path(sys.executable).with_name("torchlean-rt")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "torchlean_runtime.cli"]
    try:
        with tempfile.TemporaryDirectory() as out:  # --out is a folder (a divergence would be saved there)
            done = subprocess.run([*cmd, "fuzz", "--seconds", str(seconds), "--seed", "0", "--out", out],
                                  capture_output=True, text=True, timeout=120 + 10 * seconds)
    except subprocess.TimeoutExpired:
        return {"ops_per_s": None, "line": "timed out"}
    line = next((ln for ln in done.stdout.splitlines()[::-1] if "operations/s" in ln), done.stdout[-300:] + done.stderr[-300:])
    found = re.search(r"([\d,]+) operations/s", line)
    return {"ops_per_s": float(found.group(1).replace(",", "")) if found else None, "line": line.strip()}


# --- targets ----------------------------------------------------------------------------------------


def targets(on: dict, opt: dict, spec: dict, peers: dict, scale: dict, campaign: Optional[dict]) -> list[dict]:
    """Each target of issue 11 as {name, measured, limit, passed}; ``passed`` is None when the
    figure could not be measured in this run."""
    rows: list[dict] = []

    def add(name: str, measured: Optional[float], limit: float, text: str, higher_is_better: bool = False) -> None:
        passed = None if measured is None else (measured >= limit if higher_is_better else measured <= limit)
        rows.append({"target": name, "measured": measured, "limit": limit, "text": text, "passed": passed})

    for op in ("register", "set", "get", "has", "create", "accumulate", "norm"):
        worst = None
        for mode, fig in (("contracts on", on), ("-O", opt)):
            for n, s in spec[op].items():
                if n in fig[op]:
                    speedup = s / fig[op][n]
                    if worst is None or speedup < worst[0]:
                        worst = (speedup, mode, n)
        if worst is not None:
            add(f"impl ≥ 2x faster than spec: {op}", worst[0], 2.0,
                f"worst {worst[0]:,.1f}x ({worst[1]}, size {worst[2]:,})", higher_is_better=True)
    lo = min(on["register"])
    small = {"register": 2e-6, "set": 2e-6, "get": 250e-9}
    for op, limit in small.items():
        floor = ""  # every get hands out a fresh read-only header (value semantics, issue 9): its cost alone
        if op == "get" and peers["fresh_header"].get(lo):
            floor = f" (a fresh ndarray header over bytes alone: {fmt(peers['fresh_header'][lo])})"
        add(f"-O {op} at {lo} entries ≤ {fmt(limit)}", opt[op][lo], limit, fmt(opt[op][lo]) + floor)
    acc_n = 1_000 if 1_000 in opt["accumulate"] else min(opt["accumulate"])
    add(f"-O accumulate at {acc_n:,} elements ≤ 2.5 µs", opt["accumulate"][acc_n], 2.5e-6, fmt(opt["accumulate"][acc_n]))
    kernel_small = peers["kernel_accumulate_O"].get(acc_n) if peers["kernel_accumulate_O"] else None
    add(f"-O accumulate with the [fast] kernel at {acc_n:,} elements ≤ 2.5 µs", kernel_small, 2.5e-6,
        fmt(kernel_small) if kernel_small else peers["kernel_status"])
    for op, n in (("register", lo), ("set", lo), ("get", lo), ("accumulate", acc_n)):
        ratio = on[op][n] / opt[op][n]
        add(f"contracts on ≤ 2x -O: {op}", ratio, 2.0, f"{ratio:.2f}x ({fmt(on[op][n])} vs {fmt(opt[op][n])})")
    large = [n for n in on["accumulate"] if n >= 10_000]
    for mode, fig in (("contracts on", on), ("-O", opt)):
        acc = max((fig["accumulate"][n] / peers["np_add_alloc"][n] for n in large), default=None)
        norm = max((fig["norm"][n] / peers["cumsum_floor"][n] for n in large), default=None)
        add(f"accumulate ≤ 1.3x np.add(a, b) from 1e4 up ({mode})", acc, 1.3, f"worst {acc:.2f}x" if acc else "no size ≥ 1e4")
        kernel = peers["kernel_accumulate" if mode == "contracts on" else "kernel_accumulate_O"]
        name = f"accumulate with the [fast] kernel ≤ 1.3x np.add(a, b) from 1e4 up ({mode})"
        if kernel:
            kacc = max((kernel[n] / peers["np_add_alloc"][n] for n in large), default=None)
            add(name, kacc, 1.3, f"worst {kacc:.2f}x" if kacc else "no size ≥ 1e4")
        else:
            add(name, None, 1.3, peers["kernel_status"])
        add(f"norm ≤ 1.1x chunked cumsum from 1e4 up ({mode})", norm, 1.1, f"worst {norm:.2f}x" if norm else "no size ≥ 1e4")
    ratio = scale["build"] / scale["build_map"]
    add(f"build {scale['entries']:,} entries ≤ 1.5x persistent immutables.Map (GC on, contracts on)", ratio, 1.5,
        f"{ratio:.2f}x via register_variable ({fmt(scale['build'])} vs {fmt(scale['build_map'])}); the registry layer alone "
        f"{scale['build_layer'] / scale['build_map']:.2f}x ({fmt(scale['build_layer'])}); dict {fmt(scale['build_dict'])}")
    ratio = scale["build_O"] / scale["build_map_O"]
    add(f"build {scale['entries']:,} entries ≤ 1.5x persistent immutables.Map (GC on, -O)", ratio, 1.5,
        f"{ratio:.2f}x via register_variable ({fmt(scale['build_O'])} vs {fmt(scale['build_map_O'])}, both in the -O process)")
    add(f"≤ 300 B per entry beyond array data (at {scale['memory_entries']:,})", scale["bytes_per_entry"], 300.0,
        f"{scale['bytes_per_entry']:.0f} B (Map of the same keys {scale['map_bytes_per_entry']:.0f} B)")
    ratio = scale["get_at_n"] / scale["get_at_10"]
    add(f"random-name lookup at {scale['entries']:,} ≤ 3x at 10", ratio, 3.0,
        f"{ratio:.2f}x ({fmt(scale['get_at_n'])} vs {fmt(scale['get_at_10'])})")
    if campaign is not None:
        ops = campaign["ops_per_s"]
        add("differential campaign ≥ 5,000 operations/s", ops, 5000.0, f"{ops:,.0f} ops/s" if ops else campaign["line"],
            higher_is_better=True)
    big = max(on["norm"])
    if peers["kernel_norm"] and peers["add_bound"]:
        ratio = peers["kernel_norm"][big] / peers["add_bound"][big]
        add(f"numba norm kernel ≤ 1.5x the dependent-add bound at {big:,}", ratio, 1.5,
            f"{ratio:.2f}x ({fmt(peers['kernel_norm'][big])} vs {fmt(peers['add_bound'][big])})")
    else:
        add(f"numba norm kernel ≤ 1.5x the dependent-add bound at {big:,}", None, 1.5, peers["kernel_status"])
    return rows


# --- report and plot -----------------------------------------------------------------------------------


def print_tables(on: dict, opt: dict, spec: dict, peers: dict) -> None:
    def row(label: str, cells: list[str]) -> None:
        print(f"  {label:<34}" + "".join(f"{c:>12}" for c in cells))

    print("\nRegistry operations, per call (random names; 2-element float64 arrays)")
    sizes = sorted(on["register"])
    row("entries", [f"{n:,}" for n in sizes])
    for op, peer_keys in (("register", ("map_set", "torch_register")), ("set", ("dict_set",)),
                          ("get", ("dict_get", "map_get", "fresh_header", "torch_get")), ("has", ())):
        row(f"{op}: impl, contracts on", [fmt(on[op].get(n)) for n in sizes])
        row(f"{op}: impl, -O", [fmt(opt[op].get(n)) for n in sizes])
        row(f"{op}: spec", [fmt(spec[op].get(n)) for n in sizes])
        for key in peer_keys:
            if peers[key]:
                row(f"{op}: {PEER_LABEL[key]}", [fmt(peers[key].get(n)) for n in sizes])
    print("\nTensor operations, per call (float64)")
    sizes = sorted(on["norm"])
    row("elements", [f"{n:,}" for n in sizes])
    for op, peer_keys in (("create", ()), ("accumulate", ("np_add_alloc", "np_add_out", "torch_accumulate", "kernel_accumulate", "kernel_accumulate_O")),
                          ("norm", ("cumsum_floor", "kernel_norm", "add_bound"))):
        row(f"{op}: impl, contracts on", [fmt(on[op].get(n)) for n in sizes])
        row(f"{op}: impl, -O", [fmt(opt[op].get(n)) for n in sizes])
        row(f"{op}: spec", [fmt(spec[op].get(n)) for n in sizes])
        for key in peer_keys:
            if peers[key]:
                row(f"{op}: {PEER_LABEL[key]}", [fmt(peers[key].get(n)) for n in sizes])
    print(f"  (impl accumulate and norm = the numpy paths; kernels: {peers['kernel_status']}; bound: {peers['add_bound_how']})")


# Each panel of the scaling figure: (title, x label, the operation, peers, floors).  A peer is
# another library doing the same job; a floor is the least any implementation could do (a bare
# numpy call, a fresh header, the dependent-add chain): every key names a series of bench.json's
# "peers".
PANELS = (
    ("get_variable (random names, 2-element float64)", "entries in the registry", "get",
     ("dict_get", "map_get", "torch_get"), ("fresh_header",)),
    ("register_variable (2-element float64)", "entries in the registry", "register",
     ("map_set", "torch_register"), ()),
    ("accumulate_gradient (float64)", "elements in the tensor", "accumulate",
     ("torch_accumulate", "kernel_accumulate", "kernel_accumulate_O"), ("np_add_alloc", "np_add_out")),
    ("variable_norm (float64)", "elements in the tensor", "norm",
     ("kernel_norm",), ("cumsum_floor", "add_bound")),
)
MODES = (("impl_contracts_on", "impl, contracts on"), ("impl_O", "impl, python -O"), ("spec", "spec"))


def _sized(series: dict) -> dict[int, float]:
    """A ``{size: seconds}`` series with int sizes (JSON object keys are strings)."""
    return {int(size): float(s) for size, s in series.items()}


def plot_series(data: dict) -> list[tuple[str, str, list[tuple[str, str, dict[int, float]]]]]:
    """What the scaling figure draws from a bench.json record: per panel (title, x label,
    [(kind, label, {size: seconds per call})]), kind "impl" (contracts on, -O), "spec", "peer" or
    "floor"; empty series are left out.  The get panel also shows the scale run's lookup at
    ``scale.entries`` (contracts on, random names over the whole registry)."""
    peers = data["peers"]
    panels = []
    for title, xlabel, op, peer_keys, floor_keys in PANELS:
        series = [("spec" if key == "spec" else "impl", label, _sized(data[key][op])) for key, label in MODES]
        if op == "get":
            scale = data["scale"]
            series.append(("scale", f"impl, contracts on: at {scale['entries']:,} (scale run)",
                           {int(scale["entries"]): float(scale["get_at_n"])}))
        series += [("peer", PEER_LABEL[key], _sized(peers[key])) for key in peer_keys if peers.get(key)]
        series += [("floor", PEER_LABEL[key] if "floor" in PEER_LABEL[key] else f"floor: {PEER_LABEL[key]}", _sized(peers[key]))
                   for key in floor_keys if peers.get(key)]
        panels.append((title, xlabel, [s for s in series if s[2]]))
    return panels


def plot(path: Path, record: Path) -> Optional[str]:
    """Draw the scaling figure (cost per call against registry size and tensor size, log-log) at
    ``path`` from the bench.json ``record`` as written, or say why not.  The PNG's Description
    names the record's SHA-256, so a test can tell the figure was drawn from the committed record."""
    try:
        import matplotlib  # noqa: PLC0415 — the [bench] extra
    except ImportError:
        return "matplotlib not installed (pip install 'torchlean-runtime[bench]')"
    matplotlib.use("Agg")  # no screen
    import matplotlib.pyplot as plt  # noqa: PLC0415

    raw = record.read_bytes()
    data = json.loads(raw)
    impl_style = {"impl, contracts on": ("C0", "o"), "impl, python -O": ("C1", "s")}
    fig, axes = plt.subplots(2, 2, figsize=(13, 11.5))
    for ax, (title, xlabel, series) in zip(axes.flat, plot_series(data)):
        peer_colors = iter(["C2", "C4", "C8"])
        floor_styles = iter([("0.35", (0, (1, 1.5))), ("0.6", (0, (4, 2)))])
        for kind, label, points in series:
            xs = sorted(points)
            ys = [points[x] for x in xs]
            if kind == "impl":
                color, marker = impl_style[label]
                ax.plot(xs, ys, color=color, marker=marker, linewidth=2, markersize=5, label=label)
            elif kind == "spec":
                ax.plot(xs, ys, color="C3", marker="^", linewidth=2, markersize=5, label=label)
            elif kind == "scale":
                ax.plot(xs, ys, color="C0", marker="*", linestyle="none", markersize=12, label=label)
            elif kind == "peer":
                ax.plot(xs, ys, color=next(peer_colors), marker="x", linestyle="--", linewidth=1.3, markersize=5, label=label)
            else:
                color, dashes = next(floor_styles)
                ax.plot(xs, ys, color=color, linestyle=dashes, linewidth=1.6, label=label)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_title(title, fontsize=11)
        ax.set_xlabel(xlabel)
        ax.set_ylabel("seconds per call")
        ax.grid(True, which="major", alpha=0.3)
        ax.legend(fontsize=8.5, loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=2, frameon=False)  # below: no data hidden
    meta = data.get("meta", {})
    where = f"commit {data.get('commit') or '?'}, load average {meta.get('load_average', 0):.2f} at the start"
    fig.suptitle("torchlean-runtime: cost per call, log-log (make bench, BLAS pinned to one thread)\n"
                 f"{where}{' — SMOKE RUN: figures meaningless' if data.get('smoke') else ''}", fontsize=11)
    fig.tight_layout(rect=(0, 0, 1, 0.975))
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100, metadata={"Description": f"drawn from {record.name} sha256 {hashlib.sha256(raw).hexdigest()}"})
    plt.close(fig)
    return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="tiny sizes: checks the benchmark runs (figures meaningless)")
    parser.add_argument("--out", type=Path, default=None,
                        help=f"folder for {FIGURE} and {RECORD} (default docs/figures; with --smoke a "
                             "temporary folder, so a smoke run never replaces the committed figures)")
    parser.add_argument("--no-campaign", action="store_true", help="skip the differential campaign's rate")
    parser.add_argument("--plot-only", action="store_true",
                        help=f"measure nothing: redraw {FIGURE} from the {RECORD} already in --out (default docs/figures)")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return serve_worker()
    if args.plot_only:
        out = bench_run.default_out(args.out, args.smoke)
        if not (out / RECORD).is_file():
            print(f"--plot-only: no {RECORD} in {out} (a run writes it; the committed record is docs/figures/{RECORD}: "
                  "omit --out to redraw docs/figures/, or copy the record into the folder first)", file=sys.stderr)
            return 2
        why_not = plot(out / FIGURE, out / RECORD)
        print(f"figure: {out / FIGURE} (from {out / RECORD})" if why_not is None else f"figure not drawn: {why_not}")
        return 0 if why_not is None else 1
    run = bench_run.Run(RECORD, partial=args.smoke, out=args.out)
    cfg = SMOKE if args.smoke else FULL
    torch = _torch()
    print(f"torchlean-runtime benchmark{' (--smoke: tiny sizes, figures meaningless)' if args.smoke else ''} — commit {run.commit or '?'}, "
          f"Python {sys.version.split()[0]}, numpy {np.__version__}, torch {torch.__version__ if torch else 'not installed'}, "
          f"BLAS threads pinned to 1; load average {run.load:.2f} at the start")
    calls = measure_calls(cfg)
    on, opt, spec, peers = calls["impl"], calls["impl_O"], calls["spec"], calls["peers"]
    print_tables(on, opt, spec, peers)
    scale = measure_scale(cfg)
    print(f"\nRegistry scale: {scale['entries']:,} entries via register_variable (GC on) in {fmt(scale['build'])} with contracts "
          f"(Map {fmt(scale['build_map'])}), {fmt(scale['build_O'])} under -O (Map in that process {fmt(scale['build_map_O'])}); "
          f"registry layer alone {fmt(scale['build_layer'])}; dict {fmt(scale['build_dict'])}")
    print(f"  memory at {scale['memory_entries']:,} entries: {scale['bytes_per_entry']:.0f} B/entry beyond array data "
          f"(arrays {scale['array_bytes_per_entry']:.0f} B/entry; a Map of the same keys {scale['map_bytes_per_entry']:.0f} B/entry)")
    campaign = None if args.no_campaign else measure_campaign(cfg["campaign_seconds"])
    if campaign:
        print(f"\nDifferential campaign: {campaign['line']}")
    rows = targets(on, opt, spec, peers, scale, campaign)
    print("\nTargets of issue 11 (ratios from this run)")
    for row in rows:
        verdict = {True: "PASS", False: "FAIL", None: "N/A "}[row["passed"]]
        print(f"  {verdict}  {row['target']}: {row['text']}")
    print()
    run.write({"impl_contracts_on": on, "impl_O": opt, "spec": spec, "peers": peers, "scale": scale, "campaign": campaign,
               "targets": rows}, meta=run.meta(date=False, numpy=True, torch=torch.__version__ if torch else None))
    why_not = plot(run.out / FIGURE, run.path)  # the figure, from the JSON as written
    print(f"figure: {run.out / FIGURE}" if why_not is None else f"figure not drawn: {why_not}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
