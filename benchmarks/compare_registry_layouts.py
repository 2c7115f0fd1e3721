"""Old vs new registry layout in ONE process (issue 11): run with ``python -O`` on an idle machine.

    python -O benchmarks/compare_registry_layouts.py [--old REV] [--rounds 2] [--scale 1000000]

``--old`` names a git revision whose ``impl/registry.py`` is loaded as a temporary module (the
working tree's registry is the new one).  Per round, interleaved so that a busy phase of a shared
machine hits every candidate alike, with the protocol of ``measure_scale`` in bench_runtime.py
(GC on, ``gc.collect()`` before each build, ``time.perf_counter``):

* build ``--scale`` entries via ``RuntimeContext.register_variable`` (new layout, old layout);
* the registry layer alone: ``Registry.register`` of already-frozen arrays (new, old);
* a persistent ``immutables.Map`` ``set`` loop of the same keys and arrays (the target's baseline);
* a probe: the same Map loop plus one ``(name, rest)`` cons cell per entry (the order list's share).

Then traced bytes per entry (``measure_memory``'s method, 100,000 entries) and
``get_variable`` at 10 entries (``timeit``, best of 7).  Prints one table; writes nothing.

The old registry's ``register(name, shape, array)`` is given the new call signature
``register(name, array)`` with ``shape = array.shape`` read inside — the very work the old
``RuntimeContext`` did when it passed ``arr.shape`` — so one context drives both layouts.
This is a measuring script, not a test: it asserts nothing about time.
"""

from __future__ import annotations

import argparse
import gc
import os
import subprocess
import sys
import time
import timeit
import tracemalloc
import types
from itertools import cycle
from pathlib import Path

import immutables
import numpy as np

from torchlean_runtime.impl import RuntimeContext
from torchlean_runtime.impl import registry as new_registry
from torchlean_runtime.impl.variable import Variable

ROOT = Path(__file__).resolve().parent.parent
OLD_SIGNATURE = 'def register(self, name: str, shape: tuple[int, ...], array: np.ndarray) -> "Registry":'


def load_old(rev: str) -> types.ModuleType:
    src = subprocess.run(["git", "-C", str(ROOT), "show", f"{rev}:impl/registry.py"], capture_output=True, text=True,
                         check=True).stdout
    if OLD_SIGNATURE not in src:
        raise SystemExit(f"{rev}:impl/registry.py has no {OLD_SIGNATURE!r}: not the old layout")
    src = src.replace(OLD_SIGNATURE, 'def register(self, name: str, array: np.ndarray) -> "Registry":\n'
                                     '        shape = array.shape  # what the old RuntimeContext passed')
    module = types.ModuleType("torchlean_runtime.impl._old_registry")
    module.__package__ = "torchlean_runtime.impl"
    sys.modules[module.__name__] = module
    exec(compile(src, f"{rev}:impl/registry.py", "exec"), module.__dict__)
    return module


def empty_context(registry_module) -> RuntimeContext:
    return RuntimeContext._make(registry_module.EMPTY, registry_module.EMPTY, 0, None)


def timed(fn) -> float:
    gc.collect()
    start = time.perf_counter()
    result = fn()
    elapsed = time.perf_counter() - start
    del result
    gc.collect()
    return elapsed


def build_context(module, names, arrays):
    def run():
        ctx = empty_context(module)
        for name, a in zip(names, arrays):
            ctx = ctx.register_variable(name, a)
        return ctx
    return run


def build_layer(module, names, frozen):
    def run():
        registry = module.EMPTY
        for name, a in zip(names, frozen):
            registry = registry.register(name, a)
        return registry
    return run


def build_map(names, frozen):
    def run():
        m = immutables.Map()
        for name, a in zip(names, frozen):
            m = m.set(name, a)
        return m
    return run


def build_map_and_cons(names, frozen):
    """A probe: the Map loop plus a (name, rest) cons cell per entry (what the order list adds)."""
    def run():
        m, order = immutables.Map(), None
        for name, a in zip(names, frozen):
            m, order = m.set(name, a), (name, order)
        return m, order
    return run


def bytes_per_entry(module, n: int) -> float:
    """measure_memory's method: traced bytes of the registry built by register_variable, minus
    the same number of frozen arrays held in a list."""
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
    ctx = empty_context(module)
    for name, a in zip(names, arrays):
        ctx = ctx.register_variable(name, a)
    registry = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    del ctx
    gc.collect()
    return (registry - arrays_only) / n


def map_bytes_per_entry(n: int) -> float:
    names = [f"p{i}" for i in range(n)]
    arrays = [np.array([float(i), 1.0]) for i in range(n)]
    gc.collect()
    tracemalloc.start()
    m = immutables.Map()
    for name, a in zip(names, arrays):
        m = m.set(name, a)
    out = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    return out / n


def get_at_10(module) -> float:
    small = empty_context(module)
    for i in range(10):
        small = small.register_variable(f"p{i}", np.array([1.0, 2.0]))
    rng = np.random.default_rng(1)
    nx = cycle([f"p{k}" for k in rng.integers(0, 10, 1000)]).__next__
    number = 200_000
    return min(timeit.repeat(lambda: small.get_variable(nx(), (2,)), number=number, repeat=7)) / number


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--old", default="HEAD", help="git revision holding the old impl/registry.py (default HEAD)")
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--scale", type=int, default=1_000_000)
    p.add_argument("--memory", type=int, default=100_000)
    args = p.parse_args()
    assert gc.isenabled()
    old = load_old(args.old)
    layouts = {"new": new_registry, "old": old}
    print(f"python {sys.version.split()[0]} -O={sys.flags.optimize} load {os.getloadavg()[0]:.2f} "
          f"scale {args.scale:,} rounds {args.rounds} old={args.old}", flush=True)
    n = args.scale
    names = [f"p{i}" for i in range(n)]
    arrays = [np.array([float(i), 1.0]) for i in range(n)]
    frozen = [Variable.create(0, "w", a).value for a in arrays]
    runs: dict[str, list[float]] = {}
    for r in range(args.rounds):
        for key, fn in (("register_variable new", build_context(new_registry, names, arrays)),
                        ("register_variable old", build_context(old, names, arrays)),
                        ("layer new", build_layer(new_registry, names, frozen)),
                        ("layer old", build_layer(old, names, frozen)),
                        ("immutables.Map", build_map(names, frozen)),
                        ("probe: Map + cons cell", build_map_and_cons(names, frozen))):
            runs.setdefault(key, []).append(timed(fn))
            print(f"  round {r + 1} {key:<22} {runs[key][-1]:6.2f} s (load {os.getloadavg()[0]:.2f})", flush=True)
    del names, arrays, frozen
    gc.collect()
    base = min(runs["immutables.Map"])
    print(f"\nbuild {n:,} entries, GC on (best of {args.rounds}; ratio to the Map's best; per-round ratios)")
    for key, times in runs.items():
        per_round = " ".join(f"{t / m:.2f}x" for t, m in zip(times, runs["immutables.Map"]))
        print(f"  {key:<22} {min(times):6.2f} s  {min(times) / base:5.2f}x   [{per_round}]")
    print(f"\nbytes per entry ({args.memory:,} entries, register_variable, arrays excluded)")
    for key, module in layouts.items():
        print(f"  {key:<4} {bytes_per_entry(module, args.memory):7.1f} B")
    print(f"  immutables.Map set loop of the same keys (Map nodes only): {map_bytes_per_entry(args.memory):7.1f} B")
    print("\nget_variable at 10 entries (timeit, best of 7 x 200,000)")
    for _ in range(2):
        for key, module in layouts.items():
            print(f"  {key:<4} {get_at_10(module) * 1e9:6.1f} ns", flush=True)


if __name__ == "__main__":
    main()
