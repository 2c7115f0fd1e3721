"""Benchmark: the impl against the spec and against the raw numpy floor, in one run.

    .venv/bin/python benchmarks/bench_runtime.py            # default run (about 2 minutes)
    .venv/bin/python benchmarks/bench_runtime.py --quick    # smaller sizes, for a smoke test

Prints, with BLAS/OpenMP pinned to one thread (set below, before numpy is imported):

1. registry operations, impl (default mode) vs spec, at 10 / 1,000 / 100,000 entries —
   get_variable, has_variable, register_variable, set_variable;
2. accumulate_gradient and variable_norm vs the raw numpy floor (``np.add(a, b, out=c)``; a
   chunked cumulative sum) at 1e3 … 1e7 elements, float64 and float32;
3. get_variable / register_variable cost with icontract preconditions (default) vs ``python -O``
   (a child process), next to a plain dict lookup;
   and the cost of checked mode (``TORCHLEAN_RT_CHECK=refine``, a child process);
4. the issue's targets — impl lookup at 100k ≥ 1000x faster than the spec's and ≤ 1.5x the impl's
   own lookup at 10 entries; ``python -O`` get_variable well under 1 µs — in both contract modes.

Timings are the best of several repeats (time.perf_counter), per call.  The machine is shared,
so treat small differences as noise.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS",
             "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ[_var] = "1"  # before numpy is imported: BLAS reads these once, at load

import argparse  # noqa: E402
import itertools  # noqa: E402
import json  # noqa: E402
import random  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from typing import Callable  # noqa: E402

import numpy as np  # noqa: E402

from torchlean_runtime.impl import RuntimeContext, Variable, to_spec  # noqa: E402
from torchlean_runtime.spec.core.shape import ofList  # noqa: E402
from torchlean_runtime.spec.runtime import context as SC  # noqa: E402

HERE = os.path.abspath(__file__)


def per_call(fn: Callable[[], object], min_time: float = 0.2, repeats: int = 5) -> float:
    """Best-of-``repeats`` seconds per call, each repeat running ``fn`` for about ``min_time``."""
    n, elapsed = 1, 0.0
    while True:  # calibrate the loop count
        start = time.perf_counter()
        for _ in range(n):
            fn()
        elapsed = time.perf_counter() - start
        if elapsed >= min_time / 4 or n >= 1 << 24:
            break
        n *= 4
    n = max(1, int(n * (min_time / max(elapsed, 1e-9)) / 4)) if elapsed < min_time / 4 else n
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(n):
            fn()
        best = min(best, (time.perf_counter() - start) / n)
    return best


def cycle(items: list) -> Callable[[], object]:
    """A zero-argument callable returning the items in turn, forever (C-level, ~30 ns a call)."""
    return itertools.cycle(items).__next__


def fmt(seconds: float) -> str:
    if seconds < 1e-6:
        return f"{seconds * 1e9:7.0f} ns"
    if seconds < 1e-3:
        return f"{seconds * 1e6:7.2f} µs"
    if seconds < 1:
        return f"{seconds * 1e3:7.2f} ms"
    return f"{seconds:7.2f} s "


# --- 1. registry operations ----------------------------------------------------------------------


def build(n: int):
    """An impl context and the equal spec context with ``n`` variables named p0 … p{n-1}."""
    value = np.array([1.0, 2.0])
    ctx = RuntimeContext.empty()
    for i in range(n):
        ctx = ctx.register_variable(f"p{i}", value)
    return ctx, to_spec(ctx)


def bench_registry(sizes: list[int]) -> dict:
    rng = random.Random(0)
    value = np.array([5.0, 6.0])
    spec_value = to_spec(value)
    rows = {}
    print("\n1. Registry operations, impl vs spec (per call; spec = literal Lean lists)")
    print(f"{'entries':>8}  {'operation':<18} {'impl':>10} {'spec':>10} {'spec/impl':>10}")
    for n in sizes:
        t0 = time.perf_counter()
        ctx, spec = build(n)
        names = [f"p{rng.randrange(n)}" for _ in range(min(n, 1000))]
        shape, spec_shape = (2,), ofList([2])
        next_name = cycle(names)
        impl_get = per_call(lambda: ctx.get_variable(next_name(), shape), min_time=0.1, repeats=7)
        spec_reps = 0.05 if n >= 100_000 else 0.2
        next_spec_name = cycle(names)
        spec_get = per_call(lambda: SC.getVariable(spec, next_spec_name(), spec_shape), min_time=spec_reps, repeats=3)
        impl_has = per_call(lambda: ctx.has_variable(next_name()))
        spec_has = per_call(lambda: SC.hasVariable(spec, next_spec_name()), min_time=spec_reps, repeats=3)
        impl_reg = per_call(lambda: ctx.register_variable("new", value))
        spec_reg = per_call(lambda: SC.registerVariable(spec, "new", spec_value))
        impl_set = per_call(lambda: ctx.set_variable(next_name(), value))
        spec_set = per_call(lambda: SC.setVariable(spec, next_spec_name(), spec_value), min_time=spec_reps, repeats=3)
        rows[n] = {"get": (impl_get, spec_get), "has": (impl_has, spec_has), "register": (impl_reg, spec_reg),
                   "set": (impl_set, spec_set)}
        for op, (i, s) in rows[n].items():
            label = {"get": "get_variable", "has": "has_variable", "register": "register_variable",
                     "set": "set_variable (k=1)"}[op]
            print(f"{n:>8}  {label:<18} {fmt(i):>10} {fmt(s):>10} {s / i:>9.1f}x")
        print(f"{'':>8}  (built both contexts in {time.perf_counter() - t0:.1f}s; lookups cycle over "
              f"{len(names)} random names)")
    return rows


# --- 2. accumulate_gradient / variable_norm vs the numpy floor ---------------------------------------


def floor_norm(x: np.ndarray, chunk: int = 1 << 16) -> np.floating:
    """The raw floor of the norm: chunked cumulative sum of squares carrying the running total."""
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


def bench_arithmetic(sizes: list[int]) -> dict:
    rows = {}
    print("\n2. accumulate_gradient / variable_norm vs the raw numpy floor (per call)")
    print(f"{'dtype':<8} {'elements':>9}  {'accumulate':>10} {'np.add out=':>11} {'ratio':>6}   "
          f"{'norm':>10} {'chunked cumsum':>14} {'ratio':>6}   {'np.linalg.norm*':>15}")
    for dtype in (np.float64, np.float32):
        rng = np.random.default_rng(1)
        for n in sizes:
            a = rng.standard_normal(n).astype(dtype)
            b = rng.standard_normal(n).astype(dtype)
            c = np.empty_like(a)
            v = Variable.create(0, "w", a).set_gradient(a)
            budget = 0.3 if n < 10_000_000 else 0.6
            acc = per_call(lambda: v.accumulate_gradient(b), min_time=budget, repeats=3)
            acc_floor = per_call(lambda: np.add(a, b, out=c), min_time=budget, repeats=3)
            norm = per_call(v.variable_norm, min_time=budget, repeats=3)
            norm_floor = per_call(lambda: floor_norm(a), min_time=budget, repeats=3)
            blas = per_call(lambda: np.linalg.norm(a), min_time=budget, repeats=3)
            assert v.variable_norm().tobytes() == floor_norm(a).tobytes()
            rows[(np.dtype(dtype).name, n)] = (acc, acc_floor, norm, norm_floor, blas)
            print(f"{np.dtype(dtype).name:<8} {n:>9.0e}  {fmt(acc):>10} {fmt(acc_floor):>11} {acc / acc_floor:>5.2f}x   "
                  f"{fmt(norm):>10} {fmt(norm_floor):>14} {norm / norm_floor:>5.2f}x   {fmt(blas):>15}")
    print("   * np.linalg.norm is faster but NOT the spec's fold (different bits); shown for scale only.")
    print("   accumulate_gradient allocates a fresh result array (persistence); the floor writes into a")
    print("   preallocated one, so at large sizes the ratio is dominated by first-touch page faults.")
    return rows


# --- 3./4. contract modes (child processes) ----------------------------------------------------------


def _context_of_size(n: int, value: np.ndarray) -> RuntimeContext:
    """A context with variables p0 … p{n-1}, built through the registry directly (so that a
    checked-mode child does not spend O(n²) building it)."""
    from torchlean_runtime.impl.arrays import FLOAT64, freeze
    from torchlean_runtime.impl.registry import EMPTY

    registry, frozen = EMPTY, freeze(value)
    for i in range(n):
        registry = registry.register(f"p{i}", frozen.shape, frozen)
    return RuntimeContext._make(registry, EMPTY, n, FLOAT64)


def interleaved(fns: dict, rounds: int = 9, calls: int = 2000) -> dict:
    """Best seconds per call of each zero-argument function, measured in alternating rounds so
    that a slow phase of the (shared) machine hits every candidate alike."""
    best = {key: float("inf") for key in fns}
    for _ in range(rounds):
        for key, fn in fns.items():
            start = time.perf_counter()
            for _ in range(calls):
                fn()
            best[key] = min(best[key], (time.perf_counter() - start) / calls)
    return best


def child_measure(sizes: list[int]) -> dict:
    """Run in a child process: get_variable (one hot name; 1,000 random names), dict.get (same
    patterns) and register_variable, in this interpreter's mode."""
    refine = os.environ.get("TORCHLEAN_RT_CHECK", "")
    value = np.array([1.0, 2.0])
    rng = random.Random(0)
    fns = {}
    for n in sizes:
        ctx = _context_of_size(n, value)
        table = {f"p{i}": value for i in range(n)}
        names = [f"p{rng.randrange(n)}" for _ in range(1000)]
        hot = names[0]
        fns[f"get_{n}"] = (lambda ctx=ctx, nx=cycle(names): ctx.get_variable(nx(), (2,)))
        fns[f"gethot_{n}"] = (lambda ctx=ctx, hot=hot: ctx.get_variable(hot, (2,)))
        fns[f"dict_{n}"] = (lambda get=table.get, nx=cycle(names): get(nx()))
        fns[f"dicthot_{n}"] = (lambda get=table.get, hot=hot: get(hot))
        fns[f"register_{n}"] = (lambda ctx=ctx: ctx.register_variable("new", value))
    calls = 20 if refine else 2000
    out = interleaved(fns, rounds=5 if refine else 9, calls=calls)
    out.update({"debug": __debug__, "refine": refine})
    return out


def run_child(flags: list[str], env_extra: dict, sizes: list[int]) -> dict:
    env = dict(os.environ)
    env.pop("TORCHLEAN_RT_CHECK", None)
    env.update(env_extra)
    out = subprocess.run([sys.executable, *flags, HERE, "--child", ",".join(map(str, sizes))], env=env,
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def bench_modes(sizes: list[int]) -> dict:
    default = run_child([], {}, sizes)
    optimized = run_child(["-O"], {}, sizes)
    refine_sizes = [n for n in sizes if n <= 1000]
    refine = run_child([], {"TORCHLEAN_RT_CHECK": "refine"}, refine_sizes)
    print("\n3. Checking modes (per call; child processes; checked mode only up to 1,000 entries — it is O(n))")
    print(f"{'entries':>8}  {'operation':<30} {'python -O':>10} {'default':>10} {'refine':>10}   {'dict.get (-O)':>13}")
    for n in sizes:
        for op, label, ref in (("get", "get_variable (1000 random names)", "dict"), ("gethot", "get_variable (one name)", "dicthot"),
                               ("register", "register_variable", None)):
            key = f"{op}_{n}"
            checked = fmt(refine[key]) if key in refine else "—"
            base = fmt(optimized[f"{ref}_{n}"]) if ref else ""
            print(f"{n:>8}  {label:<30} {fmt(optimized[key]):>10} {fmt(default[key]):>10} {checked:>10}   {base:>13}")
    for n in refine_sizes:
        print(f"   at {n:>5} entries: contracts cost {default[f'get_{n}'] / optimized[f'get_{n}']:.1f}x on get_variable and "
              f"{default[f'register_{n}'] / optimized[f'register_{n}']:.1f}x on register_variable; checked mode "
              f"{refine[f'get_{n}'] / default[f'get_{n}']:.0f}x (get) and {refine[f'register_{n}'] / default[f'register_{n}']:.0f}x "
              "(register) over the default")
    return {"default": default, "-O": optimized, "refine": refine}


def targets(rows: dict, modes: dict, sizes: list[int]) -> None:
    """The issue's performance targets, in both contract modes."""
    lo, hi = min(sizes), max(sizes)
    spec_hi = rows[hi]["get"][1]
    print("\n4. Targets (impl figures from the child processes of section 3; spec from section 1)")
    for mode in ("-O", "default"):
        res = modes[mode]
        speedup = spec_hi / res[f"get_{hi}"]
        hot, rand = res[f"gethot_{hi}"] / res[f"gethot_{lo}"], res[f"get_{hi}"] / res[f"get_{lo}"]
        label = "python -O" if mode == "-O" else "default (contracts on)"
        print(f"   {label:<23} lookup at {hi:,}: {speedup:,.0f}x faster than the spec (≥ 1000x: "
              f"{'PASS' if speedup >= 1000 else 'FAIL'}); cost vs at {lo:,} entries: {hot:.2f}x for one name "
              f"(≤ 1.5x: {'PASS' if hot <= 1.5 else 'FAIL'}), {rand:.2f}x over 1,000 random names")
    dict_growth = modes["-O"][f"dict_{hi}"] / modes["-O"][f"dict_{lo}"]
    print(f"   (for scale: a plain dict's lookup over 1,000 random names grows {dict_growth:.2f}x from {lo:,} to {hi:,} "
          "entries — the memory hierarchy, not the algorithm)")
    fast, spread = modes["-O"][f"gethot_{hi}"], modes["-O"][f"get_{hi}"]
    print(f"   python -O get_variable at {hi:,} entries: {fmt(fast).strip()} for one name (well under 1 µs: "
          f"{'PASS' if fast < 0.5e-6 else 'FAIL'}); {fmt(spread).strip()} over 1,000 random names (cache misses in "
          "the two HAMT lookups)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes (smoke test)")
    parser.add_argument("--child", metavar="SIZES", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child_measure([int(n) for n in args.child.split(",")])))
        return
    start = time.perf_counter()
    print(f"torchlean-runtime benchmark — numpy {np.__version__}, Python {sys.version.split()[0]}, "
          f"BLAS threads pinned to 1, contracts {'on' if __debug__ else 'off (-O)'}")
    sizes = [10, 1_000, 10_000] if args.quick else [10, 1_000, 100_000]
    rows = bench_registry(sizes)
    bench_arithmetic([1_000, 100_000] if args.quick else [1_000, 10_000, 100_000, 1_000_000, 10_000_000])
    modes = bench_modes(sizes)
    targets(rows, modes, sizes)
    print(f"\ntotal {time.perf_counter() - start:.0f}s")


if __name__ == "__main__":
    main()
