"""``torchlean-rt`` — the command line.  Thin: each subcommand dispatches to its subsystem."""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import Any, Optional, Sequence

__all__ = ["main", "build_parser"]


def _verify(args: argparse.Namespace) -> int:
    from . import verify

    if getattr(args, "mutants", False):
        return _dispatch("torchlean_runtime.proofs.mutants:main", args)
    report = verify.run(quick=args.quick, only=args.only)
    print(report.table())
    print(report.summary())
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            fh.write(report.to_json())
    return 0 if report.ok else 1


def _dispatch(ref: str, args: argparse.Namespace) -> int:
    module_name, _, func = ref.partition(":")
    return int(getattr(importlib.import_module(module_name), func)(args) or 0)


def _add_params_parser(sub: argparse._SubParsersAction) -> None:
    """``params inspect`` / ``params convert`` (torchlean_runtime.interop.commands)."""
    p = sub.add_parser("params", help="parameter files: TorchLean bits JSON, TLPF32B, safetensors")
    psub = p.add_subparsers(dest="params_command", required=True)
    i = psub.add_parser("inspect", help="format, names, shapes, dtypes, Lean-exact L2 norms, NaN/inf counts, sha256")
    i.add_argument("file")
    i.add_argument("--json", action="store_true", help="machine-readable report on stdout")
    i.add_argument("--names", metavar="FILE", help="one name per line, positionally (default p0, p1, ...)")
    i.set_defaults(func=lambda a: _dispatch("torchlean_runtime.interop.commands:inspect_main", a))
    c = psub.add_parser("convert", help="convert between the formats, bit-exact")
    c.add_argument("input", metavar="IN")
    c.add_argument("output", metavar="OUT")
    c.add_argument("--names", metavar="FILE", help="one name per line, positionally (default p0, p1, ...)")
    c.add_argument("--to", choices=["bits", "bits-compact", "tlpf32b", "safetensors"],
                   help="output format (default: from OUT's extension .json/.safetensors/.tlpf32b/.bin)")
    c.add_argument("--to-float32", action="store_true", help="allow float64 -> float32 (round-to-nearest-even, as TorchLean's writer)")
    c.set_defaults(func=lambda a: _dispatch("torchlean_runtime.interop.commands:convert_main", a))

TARGET_HELP = ("spec | impl | module:PKG.MOD:FACTORY | exec:COMMAND | an adapter of the entry-point group "
               "torchlean_runtime.targets (docs/conformance.md)")
EXIT_CODES = "exit status: 0 all passed, 1 a divergence, 2 usage error or unreadable input, 3 the target failed"


def _add_conformance_parsers(sub: Any) -> None:
    """replay / fuzz / serve (branch conf)."""
    p = sub.add_parser("replay", help="execute trace files on a target and compare every step",
                       description="Replay torchlean.runtime.v1 traces on a target. " + EXIT_CODES, epilog=EXIT_CODES)
    p.add_argument("paths", nargs="+", metavar="FILE_OR_DIR")
    p.add_argument("--target", default="both", metavar="T", help=TARGET_HELP + "; both = spec then impl (default)")
    p.add_argument("--json", action="store_true", help="the conformance report (report_schema_v1.json) on stdout")
    p.add_argument("--timeout", type=float, default=None, metavar="S",
                   help="seconds an exec: runner may take per message (default 10)")
    p.set_defaults(func=lambda a: _dispatch("torchlean_runtime.conformance.vectors.replay:main", a))

    p = sub.add_parser("fuzz", help="the stateful differential campaign, spec vs a target",
                       description="Stateful differential fuzzing, spec vs --target. `fuzz merge FILE...` combines "
                                   "--json summaries. " + EXIT_CODES, epilog=EXIT_CODES)
    p.add_argument("merge", nargs="*", metavar="merge FILE",
                   help="`merge` followed by the --json summaries of shards/workers to combine")
    p.add_argument("--target", default="impl", metavar="T", help=TARGET_HELP + " (default impl)")
    p.add_argument("--seconds", type=float, default=None, help="time budget (default 60 unless --rounds is given)")
    p.add_argument("--rounds", type=int, default=None,
                   help="a fixed number of rounds (of --programs programs each): deterministic for a seed")
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--programs", type=int, default=50, help="programs per round (default 50)")
    p.add_argument("--engine", choices=["stateful", "random"], default="stateful",
                   help="stateful: hypothesis' stateful machine, shrinks what it finds (default); random: the corpus "
                        "generator's seeded random programs, about 5x the operations per second, not shrunk")
    p.add_argument("--hostile", action="store_true",
                   help="in-process targets: attack every array passed in and every object received after each call")
    p.add_argument("--workers", type=int, default=1, help="processes on this machine (default 1)")
    p.add_argument("--shard", default="0/1", metavar="I/N", help="run only rounds r with r %% N == I (default 0/1)")
    p.add_argument("--json", metavar="FILE", help="also write the campaign summary as JSON (for fuzz merge)")
    p.add_argument("--timeout", type=float, default=None, metavar="S", help="per-message timeout of exec: runners")
    p.add_argument("--out", default="fuzz-failures", help="where shrunk failures are saved as traces")
    p.set_defaults(func=lambda a: _dispatch("torchlean_runtime.proofs.differential.fuzz:main", a))

    p = sub.add_parser("serve", help="serve a target over torchlean.runtime.protocol.v1 on stdin/stdout",
                       description="The project's implementations behind the JSON-lines protocol (docs/protocol.md).")
    p.add_argument("--target", default="spec", metavar="T", help="spec (default) | impl | any selector")
    p.set_defaults(func=lambda a: _dispatch("torchlean_runtime.conformance.protocol:main", a))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="torchlean-rt", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("verify", help="run every check the project has and print the table")
    p.add_argument("--quick", action="store_true", help="small CrossHair/sampling budgets (CI)")
    p.add_argument("--json", metavar="FILE", help="also write the report as JSON")
    p.add_argument("--only", metavar="PATTERN", help="only obligations whose name matches (glob or substring)")
    p.add_argument("--mutants", action="store_true", help="run the suite against every mutant; print the kill matrix")
    p.set_defaults(func=_verify)

    p = sub.add_parser("vectors", help="conformance vectors (torchlean.runtime.v1)")
    vsub = p.add_subparsers(dest="vectors_command", required=True)
    g = vsub.add_parser("generate", help="write the deterministic corpus to OUT_DIR")
    g.add_argument("out_dir")
    g.set_defaults(func=lambda a: _dispatch("torchlean_runtime.conformance.vectors.generate:main", a))

    _add_conformance_parsers(sub)

    _add_params_parser(sub)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
