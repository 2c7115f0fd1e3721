"""``torchlean-rt`` — the command line.  Thin: each subcommand dispatches to its subsystem.

Error discipline: no command prints a Python traceback.  A :class:`TorchLeanError` is printed
as one line with its stable code on stderr (exit status 2 for bad usage and bad environment —
errors whose class says ``exit_status = 2`` — else 1); an ``OSError`` on a path the user gave is
one line too (exit 2); bad arguments are one line too, ``[TLR_USAGE]`` (exit 2; ``--help`` shows
the usage).  Anything else is
a bug of the tool: one line naming it, exit 70 (``TORCHLEAN_RT_DEBUG=1`` shows the traceback).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from typing import Any, NoReturn, Optional, Sequence

__all__ = ["main", "build_parser", "check_writable", "check_output_dir", "write_output"]

PROG = "torchlean-rt"


def check_writable(path: str, option: str) -> None:
    """Fail now (TLR_OUTPUT_PATH), not after a long run, if ``path`` cannot be written."""
    from .errors import OutputPathError

    folder = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        raise OutputPathError(f"{option} {path}: is a directory")
    if not os.path.isdir(folder):
        raise OutputPathError(f"{option} {path}: the folder {folder} does not exist")
    if os.path.exists(path) and not os.access(path, os.W_OK):
        raise OutputPathError(f"{option} {path}: not writable")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise OutputPathError(f"{option} {path}: the folder {folder} is not writable")


def check_output_dir(path: str, option: str) -> None:
    """Fail now (TLR_OUTPUT_PATH), not after a long run, if the output folder ``path`` cannot be
    used: an existing path must be a writable directory; a missing one is created later (only
    when there is something to write), but only as the last component — its parent must be an
    existing writable directory (a mistyped path never creates a tree of folders)."""
    from .errors import OutputPathError

    if os.path.lexists(path) and not os.path.isdir(path):
        raise OutputPathError(f"{option} {path}: exists and is not a directory")
    if os.path.isdir(path):
        if not os.access(path, os.W_OK | os.X_OK):
            raise OutputPathError(f"{option} {path}: the folder is not writable")
        return
    parent = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(parent):
        raise OutputPathError(f"{option} {path}: the folder {parent} does not exist (only {os.path.basename(path)} "
                              "itself is created)")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise OutputPathError(f"{option} {path}: the folder {parent} is not writable")


def write_output(path: str, text: str, option: str) -> None:
    """Write the output file ``path`` that ``option`` names (``--json FILE``); any OSError —
    also one of the write itself, such as a full disk after a long run — is TLR_OUTPUT_PATH
    (exit 2) naming the option and the path."""
    from .errors import OutputPathError
    from .files import write_text

    try:
        write_text(path, text)
    except OSError as exc:
        raise OutputPathError(f"{option} {path}: {exc.strerror or exc}") from None


def _verify(args: argparse.Namespace) -> int:
    from . import verify

    if args.json:
        check_writable(args.json, "--json")
    shard = verify.parse_shard(args.shard) if args.shard else None
    if args.jobs is not None and not 1 <= args.jobs <= max(64, 4 * (os.cpu_count() or 1)):
        from .errors import UsageError

        raise UsageError(f"--jobs must be between 1 and {max(64, 4 * (os.cpu_count() or 1))} "
                         f"(64, or 4 per CPU on machines with more than 16), given {args.jobs}")
    if args.list:
        if args.mutants:
            from .proofs.mutants import kill_matrix

            print("\n".join(m.name for m in kill_matrix.select_mutants(args.only)))
            return 0
        print("\n".join(verify.list_obligations(args.quick, args.only)))
        return 0
    verify.check_float_environment()
    if args.mutants:
        if shard is not None:
            from .errors import UsageError

            raise UsageError("--shard splits the checks of a verify run; it does not apply to --mutants")
        return _dispatch("torchlean_runtime.proofs.mutants:main", args)
    report = verify.run(quick=args.quick, only=args.only, workers=args.jobs, shard=shard)
    print(report.table())
    print(report.summary())
    if args.json:
        write_output(args.json, report.to_json(), "--json")
    return 0 if report.ok else 1


def _verify_merge(args: argparse.Namespace) -> int:
    from . import verify
    from .errors import printable

    if args.json:
        check_writable(args.json, "--json")
    report = verify.merge(args.reports)
    print(printable(report.table()))  # names, claims and details read from the reports
    print(printable(report.summary()))
    if args.json:
        write_output(args.json, report.to_json(), "--json")
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
EXIT_CODES = ("exit status: 0 all passed, 1 a divergence or nothing covered, 2 usage error or unreadable input, "
              "3 the target failed")


def _add_conformance_parsers(sub: Any) -> None:
    """replay / fuzz / serve (branch conf)."""
    p = sub.add_parser("replay", help="execute trace files on a target and compare every step",
                       description="Replay torchlean.runtime.v1 traces on a target. " + EXIT_CODES, epilog=EXIT_CODES)
    p.add_argument("paths", nargs="+", metavar="FILE_OR_DIR",
                   help="trace files or folders; the words corpus and regressions mean the shipped folders "
                        "when no path of that name exists here")
    p.add_argument("--target", default="both", metavar="T", help=TARGET_HELP + "; both = spec then impl (default)")
    p.add_argument("--json", action="store_true", help="the conformance report (report_schema_v1.json) on stdout")
    p.add_argument("--timeout", type=float, default=None, metavar="S",
                   help="seconds an exec: runner may take per message (default 10)")
    p.add_argument("--hostile", action="store_true",
                   help="an in-process target's results are attacked too, not only the arrays passed in "
                        "(always on for impl; see docs/conformance.md)")
    p.add_argument("--require-full-coverage", action="store_true",
                   help="a file the target does not cover (an operation or scalar type it does not declare) fails "
                        "the run (exit 1); without it such files are listed and counted, and the run can pass "
                        "(its last line says PASS (partial: N of M files not covered))")
    p.set_defaults(func=lambda a: _dispatch("torchlean_runtime.conformance.vectors.replay:main", a))

    p = sub.add_parser("fuzz", help="the differential campaign, spec vs a target",
                       description="Differential fuzzing, spec vs --target. `fuzz merge FILE...` combines "
                                   "--json summaries. " + EXIT_CODES, epilog=EXIT_CODES)
    p.add_argument("merge", nargs="*", metavar="merge FILE",
                   help="`merge` followed by the --json summaries of shards/workers to combine")
    p.add_argument("--target", default="impl", metavar="T", help=TARGET_HELP + " (default impl)")
    p.add_argument("--seconds", type=float, default=None,
                   help="time budget, checked before every program (default 60 unless --rounds is given)")
    p.add_argument("--rounds", type=int, default=None,
                   help="a fixed number of rounds (of --programs programs each): deterministic for a seed; "
                        "with --seconds too, the campaign stops at whichever budget ends first")
    p.add_argument("--seed", type=int, default=None,
                   help="the campaign's seed (default: a fresh random one, printed; pass it again to repeat the campaign)")
    p.add_argument("--programs", type=int, default=50, help="programs per round (default 50, at most 10000)")
    p.add_argument("--engine", choices=["random", "stateful"], default=None,
                   help="random (default): seeded trap-biased random programs, the spec's answers as "
                        "expectations, a divergence shrunk by delta debugging; stateful: hypothesis' stateful "
                        "machine, also checks the abstraction after every step, shrunk by hypothesis, about a "
                        "tenth of the speed (docs/conformance.md, Fuzz engines)")
    p.add_argument("--shrink-replays", type=int, default=None, metavar="N",
                   help="random engine: replays delta debugging may spend on a divergence (default 400, at most "
                        "100000; a count, so a seed shrinks to the same trace everywhere)")
    p.add_argument("--hostile", action="store_true",
                   help="in-process targets: attack every array passed in and every object received after each call")
    p.add_argument("--workers", type=int, default=1,
                   help="processes on this machine (default 1; at most 64, or 4 per CPU on machines with more than 16)")
    p.add_argument("--shard", default="1/1", metavar="I/N",
                   help="run only the I-th of N parts of the rounds, counted from 1 as verify's: the rounds r with "
                        "r %% N == I - 1 (default 1/1; combine the --json summaries with `fuzz merge`)")
    p.add_argument("--json", metavar="FILE", help="also write the campaign summary as JSON (for fuzz merge)")
    p.add_argument("--timeout", type=float, default=None, metavar="S",
                   help="seconds an exec: runner may take per message (default 10)")
    p.add_argument("--require-full-coverage", action="store_true",
                   help="a step the target does not cover (an operation or scalar type it does not declare) fails "
                        "the campaign (exit 1); without it such steps run on the spec alone and are counted")
    p.add_argument("--out", default="fuzz-failures",
                   help="folder where shrunk failures are saved as traces (default fuzz-failures; checked before the "
                        "campaign; created if missing, but its parent must exist)")
    p.set_defaults(func=lambda a: _dispatch("torchlean_runtime.proofs.differential.fuzz:main", a))

    p = sub.add_parser("serve", help="serve a target over torchlean.runtime.protocol.v1 on stdin/stdout",
                       description="A target behind the JSON-lines protocol (docs/protocol.md): the spec (default) "
                                   "or the impl as an oracle for a harness in any language, or any other selector "
                                   "(a Python adapter; an exec: runner, proxied). Its hello names whose "
                                   "implementation answers.")
    p.add_argument("--target", default="spec", metavar="T", help=TARGET_HELP + " (default spec)")
    p.add_argument("--timeout", type=float, default=None, metavar="S",
                   help="with an exec: target: seconds the runner may take per message (default 10)")
    p.set_defaults(func=lambda a: _dispatch("torchlean_runtime.conformance.protocol:main", a))


class ArgumentParser(argparse.ArgumentParser):
    """argparse with the command line's error discipline: a bad argument is one line,
    ``torchlean-rt: error: [TLR_USAGE] …``, exit 2 (subcommand parsers inherit the class)."""

    def error(self, message: str) -> "NoReturn":  # type: ignore[override]
        from .errors import print_cli_error  # noqa: PLC0415

        print_cli_error("TLR_USAGE", f"{self.prog}: {message} (see {self.prog} --help)")
        raise SystemExit(2)


def build_parser() -> argparse.ArgumentParser:
    parser = ArgumentParser(prog=PROG, description="torchlean-rt — the command line of torchlean-runtime: verify, "
                                                   "vectors, replay, fuzz, serve, params.")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser(
        "verify", help="run every check the project has and print the table",
        description="Run every check (obligation) of the project and print the table and the verdict. "
                    "`verify merge REPORT...` joins the JSON reports of several runs (e.g. shards).",
    )
    p.add_argument("--quick", action="store_true", help="the small bounds and counts (CI, `make verify`)")
    p.add_argument("--json", metavar="FILE", help="also write the report as JSON (the path is checked first)")
    p.add_argument("--only", metavar="PATTERN",
                   help="only the checks whose name matches (glob or substring); with --mutants it filters the "
                        "MUTANTS (rows of the kill matrix) instead. Matching nothing is an error (exit 2)")
    p.add_argument("--mutants", action="store_true",
                   help="run verify's methods against every mutant of the catalogue; print the kill matrix")
    p.add_argument("--methods", metavar="KEY,...",
                   help="with --mutants: only these columns of the kill matrix (default: every method available)")
    p.add_argument("--list", action="store_true", help="name every check (or, with --mutants, every mutant) and exit")
    p.add_argument("--jobs", type=int, metavar="N", default=None,
                   help="worker processes (default: every core; at most 64, or 4 per CPU on machines with more than 16)")
    p.add_argument("--shard", metavar="I/N", help="run only the I-th of N deterministic parts of the checks "
                                                  "(combine the N JSON reports with `verify merge`)")
    p.set_defaults(func=_verify)

    p = sub.add_parser("vectors", help="conformance vectors (torchlean.runtime.v1)")
    vsub = p.add_subparsers(dest="vectors_command", required=True)
    g = vsub.add_parser("generate", help="write the deterministic corpus to OUT_DIR",
                        description="Write the deterministic corpus: one torchlean.runtime.v1 trace file per "
                                    "vector, in a folder per Lean declaration, plus coverage.txt and manifest.json.")
    g.add_argument("out_dir", metavar="OUT_DIR",
                   help="the folder to write into (created if missing); replay it with "
                        "`torchlean-rt replay OUT_DIR --target T`")
    g.set_defaults(func=lambda a: _dispatch("torchlean_runtime.conformance.vectors.generate:main", a))

    _add_conformance_parsers(sub)

    _add_params_parser(sub)
    return parser


def _merge_parser() -> argparse.ArgumentParser:
    p = ArgumentParser(prog=f"{PROG} verify merge",
                                description="Join the JSON reports of several verify runs (e.g. the shards of one "
                                            "run) into one table and verdict; a planned check no report ran fails.")
    p.add_argument("reports", nargs="+", metavar="REPORT")
    p.add_argument("--json", metavar="FILE", help="also write the merged report as JSON")
    p.set_defaults(func=_verify_merge)
    return p


def _fuzz_merge_parser() -> argparse.ArgumentParser:
    p = ArgumentParser(prog=f"{PROG} fuzz merge",
                       description="Add up the --json summaries of fuzz shards and workers (rounds, cases, "
                                   "operations, divergences, target failures). " + EXIT_CODES)
    p.add_argument("summaries", nargs="+", metavar="SUMMARY.json")
    p.add_argument("--json", metavar="FILE", help="also write the merged summary as JSON")
    p.add_argument("--require-full-coverage", action="store_true",
                   help="a step not covered by the target in any summary fails the merge (exit 1)")

    def run(a: argparse.Namespace) -> int:
        return _dispatch("torchlean_runtime.proofs.differential.fuzz:main",
                         argparse.Namespace(merge=["merge", *a.summaries], json=a.json,
                                            require_full_coverage=a.require_full_coverage))

    p.set_defaults(func=run)
    return p


def _error(message: str) -> None:
    from .errors import print_cli_error  # noqa: PLC0415

    print_cli_error("", message)


def check_environment() -> None:
    """Read every TORCHLEAN_RT_* variable a command may use, now: a bad value is one line with
    TLR_ENVIRONMENT and exit 2 before any work, never a failure deep inside a run (or a row of
    verify's table).  TORCHLEAN_RT_MUTANT must name a mutant of the catalogue when set;
    TORCHLEAN_RT_CROSSHAIR_BOUND (verify's subprocesses) and TORCHLEAN_RT_DEBUG are known but not read here; any other TORCHLEAN_RT_* name is refused."""
    from .conformance.vectors.reader import limits_from_env  # noqa: PLC0415
    from .impl import contracts, kernels  # noqa: PLC0415,F401 — read TORCHLEAN_RT_CHECK / _KERNELS on import
    from .spec.core.tensor import ELEMENT_CAP_ENV_VAR, PRINT_CAP_ENV_VAR, elementCap, printCap  # noqa: PLC0415

    elementCap()
    printCap()
    if os.environ.get("TORCHLEAN_RT_MUTANT", "").strip():  # the catalogue only when one is named (it imports the impl)
        from .proofs.mutants.catalogue import check_env_name  # noqa: PLC0415

        check_env_name()
    limits = limits_from_env()
    known = {contracts.CHECK_ENV_VAR, kernels.ENV_VAR, ELEMENT_CAP_ENV_VAR, PRINT_CAP_ENV_VAR,
             "TORCHLEAN_RT_DEBUG", "TORCHLEAN_RT_MUTANT", "TORCHLEAN_RT_CROSSHAIR_BOUND",  # (proofs' own, not imported here)
             *(f"TORCHLEAN_RT_TRACE_{name.upper()}" for name in vars(limits))}
    # every TORCHLEAN_RT_* name is ours: one we do not read is a typo that would silently change nothing
    unknown = sorted(v for v in os.environ if v.startswith("TORCHLEAN_RT_") and v not in known)
    if unknown:
        from .errors import EnvironmentConfigError  # noqa: PLC0415

        raise EnvironmentConfigError(f"unknown variable {unknown[0]} (torchlean-rt reads {', '.join(sorted(known))})")


def main(argv: Optional[Sequence[str]] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    from .errors import TorchLeanError

    # strings from input are made printable where they are printed (errors.printable); this is
    # the backstop: a character the stream cannot encode is escaped, never a crash (exit 70)
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.reconfigure(errors="backslashreplace")  # type: ignore[union-attr]
        except (AttributeError, ValueError, OSError):
            pass

    try:
        # `verify merge` has its own arguments (a positional list would clash with verify's flags)
        if argv[:2] == ["verify", "merge"]:
            args = _merge_parser().parse_args(argv[2:])
        elif argv[:2] == ["fuzz", "merge"]:  # its own usage and --help, not the whole of fuzz's
            args = _fuzz_merge_parser().parse_args(argv[2:])
        else:
            args = build_parser().parse_args(argv)
        check_environment()
        return int(args.func(args) or 0)
    except TorchLeanError as exc:
        _error(" ".join(str(exc).split()))
        return int(getattr(exc, "exit_status", 1))
    except BrokenPipeError:  # `torchlean-rt … | head`: the reader stopped listening — not an error of ours
        try:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        except OSError:
            pass
        return 141  # the shell's status for a writer the pipe closed on (128 + SIGPIPE)
    except OSError as exc:  # a path the user gave: missing, unwritable, not a directory, a FIFO …
        where = f" {exc.filename}" if getattr(exc, "filename", None) else ""
        _error(f"[TLR_PATH]{where}: {exc.strerror or exc}")
        return 2
    except KeyboardInterrupt:
        _error("interrupted")
        return 130
    except Exception as exc:  # a bug of the tool itself: one line, never a traceback
        if os.environ.get("TORCHLEAN_RT_DEBUG"):
            raise
        _error(f"[TLR_INTERNAL] {type(exc).__name__}: {' '.join(str(exc).split())} "
               "(a bug of torchlean-rt; TORCHLEAN_RT_DEBUG=1 shows the traceback)")
        return 70


if __name__ == "__main__":
    sys.exit(main())
