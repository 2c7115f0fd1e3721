"""The two fuzz engines against the impl mutant catalogue: same seed, same ``--rounds`` budget.

    python benchmarks/bench_fuzz_engines.py [--seed 20250605] [--rounds 3] [--hostile] [--only GLOB] [--quick] [--out DIR]

A full run (every impl mutant, no --hostile) with the default ``--out`` writes
``docs/figures/bench_fuzz_engines.json`` and rewrites docs/conformance.md's kill-comparison block
(``bench_report.py``); ``--quick``, ``--only`` and ``--hostile`` runs never touch the docs.

For every impl mutant of ``proofs/mutants/catalogue.py`` (the spec mutants are left out: a
campaign compares against the spec, so it cannot judge a mutated spec), the mutant is applied in
this process with the catalogue's own ``apply`` (and undone after), then

* ``stateful``: ``fuzz.run_campaign(None, seed, rounds=R, shrink=False)`` — the kill matrix's
  machine column (a verdict needs no shrinking; hypothesis' shrinking can take minutes), and
* ``random``: ``fuzz.run_random_campaign(None, seed, rounds=R)`` — with its delta-debugging
  shrinking, so the table also shows the length of each shrunk trace;

a kill is a divergence.  Prints one row per mutant, the totals and the CPU seconds each engine
spent (process time: less sensitive to other jobs than wall time).  Deterministic verdicts for a
seed and round count (count budgets, no clock); the times are this machine's.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import datetime  # noqa: E402
import fnmatch  # noqa: E402
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
RECORD = "bench_fuzz_engines.json"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=20250605, help="the verify provider's seed (default)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds per campaign (default 3: verify --quick's)")
    parser.add_argument("--hostile", action="store_true", help="both engines with the hostile caller")
    parser.add_argument("--only", default=None, help="mutants whose name matches this glob")
    parser.add_argument("--quick", action="store_true",
                        help="a smoke test: the first 3 mutants, 1 round (never rewrites the docs)")
    parser.add_argument("--out", type=Path, default=None,
                        help=f"folder for {RECORD} (default docs/figures; with --quick a temporary folder)")
    args = parser.parse_args(argv)
    if args.quick:
        args.rounds = 1
    out = args.out or (Path(tempfile.gettempdir()) / "torchlean-bench" if args.quick else DEFAULT_OUT)
    commit = subprocess.run(["git", "-C", str(HERE.parent), "describe", "--always", "--dirty"], capture_output=True,
                            text=True).stdout.strip()
    load = os.getloadavg()[0]
    date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    started = time.perf_counter()

    from torchlean_runtime.proofs.differential import fuzz
    from torchlean_runtime.proofs.mutants.catalogue import MUTANTS, apply

    mutants = [m for m in MUTANTS if not m.is_spec and (args.only is None or fnmatch.fnmatch(m.name, args.only))]
    if args.quick:
        mutants = mutants[:3]
    rows = []
    print(f"{'mutant':<46} {'stateful':>9} {'cpu s':>6}   {'random':>7} {'cpu s':>6}  shrunk (from)")
    for m in mutants:
        row: dict = {"mutant": m.name, "beyond_traces": bool(m.beyond_traces)}
        for engine in ("stateful", "random"):
            undo = apply(m.name)
            try:
                cpu = time.process_time()
                if engine == "stateful":
                    r = fuzz.run_campaign(None, args.seed, rounds=args.rounds, shrink=False, hostile=args.hostile)
                else:
                    r = fuzz.run_random_campaign(None, args.seed, rounds=args.rounds, hostile=args.hostile)
                cpu = time.process_time() - cpu
            finally:
                undo()
            row[engine] = {"killed": r.divergence is not None, "operations": r.operations, "cpu": round(cpu, 3),
                           "steps": len(r.trace.steps) if r.trace is not None else None,
                           "original_steps": r.original_steps, "shrink_replays": r.shrink_replays,
                           "error": r.harness_error or r.target_failure}
        s, q = row["stateful"], row["random"]
        shrunk = f"{q['steps']} ({q['original_steps']})" if q["killed"] else ""
        print(f"{m.name:<46} {'killed' if s['killed'] else '-':>9} {s['cpu']:>6.1f}   "
              f"{'killed' if q['killed'] else '-':>7} {q['cpu']:>6.1f}  {shrunk}", flush=True)
        rows.append(row)
    for engine in ("stateful", "random"):
        killed = sum(r[engine]["killed"] for r in rows)
        cpu = sum(r[engine]["cpu"] for r in rows)
        ops = sum(r[engine]["operations"] for r in rows)
        print(f"{engine}: {killed}/{len(rows)} killed, {ops} operations, {cpu:.1f} CPU s "
              f"(seed {args.seed}, {args.rounds} rounds{', hostile' if args.hostile else ''})")
    shrunk = sorted(r["random"]["steps"] for r in rows if r["random"]["killed"] and r["random"]["steps"])
    if shrunk:
        print(f"random: shrunk traces have {shrunk[len(shrunk) // 2]} steps (median), {shrunk[-1]} at most")
    meta = {"date": date, "python": sys.version.split()[0], "load_average": load, "seconds": time.perf_counter() - started}
    partial = args.quick or args.only is not None or args.hostile
    data = {"commit": commit, "smoke": partial, "meta": meta, "seed": args.seed, "rounds": args.rounds,
            "hostile": args.hostile, "rows": rows}
    out.mkdir(parents=True, exist_ok=True)
    (out / RECORD).write_text(json.dumps(data, indent=1) + "\n")
    print(f"figures: {out / RECORD}")
    if not partial and out.resolve() == DEFAULT_OUT.resolve():
        for path in update_docs(RECORD, json.loads((out / RECORD).read_text())):  # the block, from the JSON as written
            print(f"{path.relative_to(HERE.parent)}: rewritten from {RECORD}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
