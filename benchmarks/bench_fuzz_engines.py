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

import bench_run  # first: pins BLAS/OpenMP to one thread before numpy loads (benchmarks/, this script's folder)

import argparse
import fnmatch
import sys
import time
from pathlib import Path

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
                        help=f"folder for {RECORD} (default docs/figures; with --quick, --only or --hostile a "
                             "temporary folder)")
    args = parser.parse_args(argv)
    if args.quick:
        args.rounds = 1
    # a partial run (not every impl mutant, or not the default caller) never touches the docs: not
    # even docs/figures/, whose record the committed kill-comparison block is rendered from
    run = bench_run.Run(RECORD, partial=args.quick or args.only is not None or args.hostile, out=args.out)

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
    run.write({"seed": args.seed, "rounds": args.rounds, "hostile": args.hostile, "rows": rows}, meta=run.meta())
    return 0


if __name__ == "__main__":
    sys.exit(main())
