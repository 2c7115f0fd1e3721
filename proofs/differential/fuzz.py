"""``torchlean-rt fuzz --target T [--seconds N | --rounds R] [--seed S] [--workers W] [--shard I/N]
[--json FILE] [--out DIR]`` and ``torchlean-rt fuzz merge FILE...`` — the differential campaign,
spec vs any target.

Two engines (``--engine``), both against the target through the one target interface, every
step's answer compared bit for bit with the spec's (must-fail steps by their error code):

* ``random`` (the default): round ``r`` runs :data:`EXAMPLES_PER_ROUND` seeded random programs
  (``programs.py``; program ``k`` from seed ``(S * 1_000_003 + r) * 1000 + k``, over Float,
  IEEE32Exec and Int in turn), the spec's answers as expectations; a divergence is minimised by
  delta debugging within a count of replays (``--shrink-replays``).  About 10x the operations per
  second of the stateful engine, and it kills more of the mutant catalogue in the same rounds
  (docs/conformance.md, "Fuzz engines").
* ``stateful``: hypothesis' stateful machine (``machine.py``) — round ``r`` is one hypothesis
  run of :data:`EXAMPLES_PER_ROUND` programs from seed ``S * 1_000_003 + r``; it also checks the
  target's abstraction of every bound value (its hook, when it has one) after every step, and
  hypothesis shrinks what it finds.

The minimised program is saved as a ``torchlean.runtime.v1`` trace in ``--out`` and the command
that replays it is printed.

Splitting a campaign (deterministic for a seed): ``--shard I/N`` (1 <= I <= N, as verify's)
runs only the rounds with ``r % N == I - 1`` (N machines of a CI matrix or batch scheduler each run one shard); ``--workers W``
splits the shard's rounds over W processes of this machine (round ``r`` of the shard goes to
worker ``(r // N) % W``).  ``--rounds R`` bounds the campaign to the global rounds ``0 .. R-1``
(a fixed count: the same programs on every run); ``--seconds`` is a time budget per worker,
checked before every program (a program started is finished, and a divergence found is shrunk
within its count of replays).  ``--programs`` is at most :data:`MAX_PROGRAMS`, ``--shrink-replays``
at most :data:`MAX_SHRINK_REPLAYS`.  ``--out`` is checked before the campaign (an existing
directory, or a missing one whose parent exists: it is created when a divergence is saved).
``--json FILE`` writes the summary; ``fuzz merge A.json B.json …`` adds summaries up.

Exit status: 0 clean; 1 a divergence or nothing covered (no operation ran on the target); 2 usage error, unreadable summary or the harness itself
failed; 3 the target failed (its process died or could not start, a timeout, a protocol error;
an exception from one call of an in-process target is that step's answer, a divergence).

After fixing a bug, an outside implementer keeps the saved trace in their own test suite and
replays it against their implementation; this project's own impl/spec bugs go into
``torchlean_runtime/conformance/vectors/regressions/`` (see its README): the verify provider
below and ``tests/differential`` replay that folder.
"""

from __future__ import annotations

import json
import math
import os
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Optional, Sequence, TextIO

from torchlean_runtime.report import Obligation, Outcome, pin_hypothesis_constants
from torchlean_runtime.errors import print_cli_error, printable
from torchlean_runtime.files import json_depth, read_regular
from torchlean_runtime.errors import TraceFormatError
from torchlean_runtime.schemas import first_error
from torchlean_runtime.conformance.vectors.replay import regressions_dir  # (one definition; re-exported here)

__all__ = [
    "EXAMPLES_PER_ROUND",
    "MAX_PROGRAMS",
    "MAX_SHRINK_REPLAYS",
    "STEPS_PER_PROGRAM",
    "SUMMARY_FORMAT",
    "CampaignResult",
    "run_campaign",
    "run_random_campaign",
    "round_indices",
    "save_failure",
    "reproduce_command",
    "fuzz_hostility",
    "regressions_dir",
    "merge_summaries",
    "main",
    "obligations",
    "check_fuzz_budget",
    "check_regressions",
]

#: Programs per hypothesis run (a round): small, so a time budget is overrun by a few seconds at most.
EXAMPLES_PER_ROUND = 50
#: ``--programs`` (programs per round) is at most this (a larger value is TLR_USAGE, exit 2)
MAX_PROGRAMS = 10_000
#: ``--shrink-replays`` is at most this (a larger value is TLR_USAGE, exit 2)
MAX_SHRINK_REPLAYS = 100_000
#: ``--workers`` is at most this: 64, or 4 processes per CPU on a machine with more than 16
MAX_WORKERS = max(64, 4 * (os.cpu_count() or 1))
#: The most operations in one program (hypothesis' ``stateful_step_count``).
STEPS_PER_PROGRAM = 50
#: The seed of the verify provider's campaign (fixed: the same programs on every run).
VERIFY_SEED = 20250605
#: Rounds of the verify provider's campaign: quick / thorough.
VERIFY_ROUNDS = (3, 20)
SUMMARY_FORMAT = "torchlean.runtime.fuzz-summary.v1"
#: its JSON Schema (package data of torchlean_runtime.conformance), checked by ``fuzz merge``
SUMMARY_SCHEMA = "fuzz_summary_schema_v1.json"
#: The engine of ``torchlean-rt fuzz`` without ``--engine`` (see docs/conformance.md, "Fuzz engines").
DEFAULT_ENGINE = "random"
ENGINES = ("random", "stateful")


def _count(n: int, noun: str) -> str:
    """``1 round``, ``3 rounds``."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


@dataclass
class CampaignResult:
    seed: int
    seconds: float
    rounds: int
    cases: int
    operations: int
    must_fail: int
    spec_seconds: float
    impl_seconds: float
    divergence: Optional[str] = None  # the shrunk divergence's message
    found_after: Optional[float] = None  # seconds until the first divergent program
    shrink_seconds: Optional[float] = None  # seconds from then until the shrunk one was reported
    trace: Any = None  # its v1 Trace
    harness_error: Optional[str] = None
    target_failure: Optional[str] = None  # "[TLR_...] message" + stderr tail
    target: str = "impl"
    engine: str = "stateful"
    attacks: int = 0  # hostile-caller attacks tried (in-process targets with hostile=True)
    not_covered: dict = field(default_factory=dict)  # operation → steps not run on the target
    unsupported: tuple = ()  # what the target does not declare (operations; a scalar type) — the reason
    round_list: list = field(default_factory=list)
    original_steps: int = 0  # the divergent program's steps up to its diverging one (before shrinking)
    shrink_replays: int = 0  # replays the shrinker spent (a count budget, see programs.shrink)

    def summary(self) -> str:
        spec_rate = self.operations / self.spec_seconds if self.spec_seconds else 0.0
        impl_rate = self.operations / self.impl_seconds if self.impl_seconds else 0.0
        found = 0 if self.divergence is None else 1
        hostile = f", {self.attacks} hostile-caller attacks" if self.attacks else ""
        if self.not_covered:
            hostile += f", {sum(self.not_covered.values())} steps not covered (the target does not declare: " + \
                ", ".join(self.unsupported) + ")"
        return (
            f"{_count(self.cases, 'case')}, {self.operations} operations ({self.must_fail} must-fail){hostile}, "
            f"{_count(found, 'divergence')} in {self.seconds:.0f}s (seed {self.seed}, {_count(self.rounds, 'round')}, "
            f"{self.engine} engine, target {self.target}); "
            f"{self.operations / max(self.seconds, 1e-9):.0f} operations/s overall; execution alone: "
            f"spec {spec_rate:.0f} ops/s, target {impl_rate:.0f} ops/s"
        )


def fuzz_hostility(selector: str, hostile: bool) -> Any:
    """How hard fuzz's caller attacks an in-process target (``ObjectTarget.hostile``).

    ``--hostile``: every array passed in and every object received (``True``, as
    ``replay --hostile``).  Without it, an outside target (``module:``, an entry point) still has
    every array or container it was passed attacked after each call (``"inputs"``) — exactly what
    replay does to it by default, so an adapter that keeps the caller's array fails fuzz as it
    fails replay, and a fuzz pass is never contradicted by replaying the same programs.  This
    package's own spec and impl are not attacked without ``--hostile`` (``False``): the impl's
    value semantics are replay's and verify's to check (replay always attacks it), and fuzz keeps
    its throughput for them (the speed figures of docs/conformance.md)."""
    if hostile:
        return True
    return False if selector in ("spec", "impl") else "inputs"


def _divergence_in(exc: BaseException) -> Optional[Any]:
    """The DivergenceError in ``exc`` (possibly inside an exception group), or None."""
    from .machine import DivergenceError

    if isinstance(exc, DivergenceError):
        return exc
    for inner in getattr(exc, "exceptions", ()) or ():
        found = _divergence_in(inner)
        if found is not None:
            return found
    return None


def _attacks_part(trace: Any, tgt: Any) -> str:
    """The stateful engine's divergence, replayed: what the hostile caller did, when that made
    the difference (replay's rule, :func:`~torchlean_runtime.conformance.vectors.replay.replay_trace`:
    the program is run again without attacks), else ""."""
    from torchlean_runtime.conformance.vectors.replay import replay_trace
    from torchlean_runtime.errors import TargetFailedError

    if not getattr(tgt, "hostile", False):
        return ""
    try:
        again = replay_trace(trace, tgt, "found")
    except TargetFailedError:
        return ""
    return again.divergence.after_attacks if again.divergence is not None else ""


class _OutOfTime(BaseException):
    """Raised between two programs of a stateful round when ``--seconds`` are up (a
    BaseException: hypothesis does not run more programs after it)."""


def round_indices(shard: tuple[int, int] = (0, 1), worker: tuple[int, int] = (0, 1), rounds: Optional[int] = None) -> Any:
    """The global round numbers of one worker of one shard, in order (infinite if ``rounds`` is None)."""
    i, n = shard
    w, workers = worker
    k = 0
    while True:
        r = i + n * (w + workers * k)
        if rounds is not None and r >= rounds:
            return
        yield r
        k += 1


def run_campaign(
    seconds: Optional[float],
    seed: int,
    progress: Optional[TextIO] = None,
    examples_per_round: int = EXAMPLES_PER_ROUND,
    steps_per_program: int = STEPS_PER_PROGRAM,
    shrink: bool = True,
    target: str = "impl",
    rounds: Optional[int] = None,
    shard: tuple[int, int] = (0, 1),
    worker: tuple[int, int] = (0, 1),
    hostile: bool = False,
    timeout: Optional[float] = None,
) -> CampaignResult:
    """Run the machine against the target ``target`` (a selector) over this worker's rounds,
    until ``seconds`` are up (the round in progress is finished) or its rounds are done.
    ``shrink=False`` reports the first divergent program as found (tests use it for speed)."""
    from hypothesis import HealthCheck, Phase, Verbosity, settings
    from hypothesis import seed as hypothesis_seed
    from hypothesis.stateful import run_state_machine_as_test

    from torchlean_runtime.conformance.target import DEFAULT_TIMEOUT, open_target
    from torchlean_runtime.errors import TargetFailedError

    from .machine import DifferentialMachine, FuzzStats, TargetFailure

    if seconds is None and rounds is None:
        raise ValueError("a campaign needs seconds or rounds")
    pin_hypothesis_constants()  # a seed's programs depend on the seed alone, not on what was imported
    stats = FuzzStats()
    config = settings(
        max_examples=examples_per_round,
        stateful_step_count=steps_per_program,
        deadline=None,
        database=None,
        # explicit: the round's @seed decides every draw, whatever profile is loaded (verify loads a
        # derandomize profile, under which the seed would be ignored and the programs would differ)
        derandomize=False,
        phases=[Phase.generate, Phase.shrink] if shrink else [Phase.generate],
        suppress_health_check=list(HealthCheck),
        report_multiple_bugs=False,
        verbosity=Verbosity.quiet,
    )
    result = CampaignResult(seed, 0.0, 0, 0, 0, 0, 0.0, 0.0, target=target)
    start = time.monotonic()
    last_report = start
    try:
        tgt = open_target(target, timeout=timeout or DEFAULT_TIMEOUT)
    except TargetFailedError as exc:
        result.target_failure = f"[{exc.code}] {exc.message}" + (f"\nstderr tail:\n{exc.stderr_tail}" if exc.stderr_tail else "")
        return result
    out_of_time: list = []
    try:
        for r in round_indices(shard, worker, rounds):
            if seconds is not None and time.monotonic() - start >= seconds:
                break
            round_seed = seed * 1_000_003 + r

            def factory(round_seed: int = round_seed) -> DifferentialMachine:
                if seconds is not None and stats.first_divergence_at is None and time.monotonic() - start >= seconds:
                    out_of_time.append(r)
                    raise _OutOfTime()  # the time budget is checked between programs too
                return DifferentialMachine(stats, seed=round_seed, target=tgt, hostile=fuzz_hostility(target, hostile))

            result.round_list.append(r)
            try:
                run_state_machine_as_test(hypothesis_seed(round_seed)(factory), settings=config)
            except _OutOfTime:  # (a BaseException: hypothesis lets it through at once)
                break
            except TargetFailure as exc:
                err = exc.error
                result.target_failure = f"[{err.code}] {err.message}" + (
                    f"\nstderr tail:\n{err.stderr_tail}" if err.stderr_tail else "")
                break
            except BaseException as exc:  # noqa: BLE001 - a divergence, or the harness broke
                if isinstance(exc, KeyboardInterrupt):
                    raise
                found = _divergence_in(exc)
                if found is not None:
                    result.divergence, result.trace = found.message, found.trace
                    note = _attacks_part(found.trace, tgt)
                    if note and note not in result.divergence:
                        result.divergence += f" ({note})"
                elif not out_of_time:  # (else: stopped between programs; hypothesis may report that as it likes)
                    result.harness_error = f"{type(exc).__name__}: {exc}"
                break
            now = time.monotonic()
            if progress is not None and (now - last_report >= 5.0):
                last_report = now
                elapsed = now - start
                print(
                    f"[fuzz] {elapsed:6.0f}s  rounds {len(result.round_list)}  cases {stats.cases}  operations "
                    f"{stats.operations}  ({stats.operations / max(elapsed, 1e-9):.0f}/s)  divergences 0",
                    file=progress,
                    flush=True,
                )
    finally:
        tgt.close()
    result.seconds = time.monotonic() - start
    result.rounds = len(result.round_list)
    result.cases, result.operations, result.must_fail = stats.cases, stats.operations, stats.must_fail
    result.spec_seconds, result.impl_seconds = stats.spec_seconds, stats.impl_seconds
    result.attacks = getattr(tgt, "attacks_tried", 0)
    result.not_covered = dict(stats.not_covered)
    result.unsupported = tuple(sorted(stats.unsupported))
    if stats.first_divergence_at is not None:
        result.found_after = stats.first_divergence_at - start
        result.shrink_seconds = start + result.seconds - stats.first_divergence_at
    return result


def run_random_campaign(
    seconds: Optional[float],
    seed: int,
    progress: Optional[TextIO] = None,
    examples_per_round: int = EXAMPLES_PER_ROUND,
    steps_per_program: int = 120,
    shrink: bool = True,
    target: str = "impl",
    rounds: Optional[int] = None,
    shard: tuple[int, int] = (0, 1),
    worker: tuple[int, int] = (0, 1),
    hostile: bool = False,
    timeout: Optional[float] = None,
    shrink_budget: Optional[int] = None,
) -> CampaignResult:
    """``--engine random``: the program engine (``programs.py``).  Each program is a seeded random
    program over every operation (trap-biased, the spec's answers as expectations, non-portable
    steps left out) over Float, IEEE32Exec and Int in turn, replayed on the target through the one
    interface.  No hypothesis.  A divergence is minimised by delta debugging
    (:func:`programs.shrink`, at most ``shrink_budget`` replays — a count, never time); with
    ``shrink=False`` it is only cut after its diverging step.  Round ``r`` runs programs
    ``(S * 1000003 + r) * 1000 + k`` for ``k < examples_per_round``."""
    from dataclasses import replace as dc_replace

    from torchlean_runtime.conformance.target import DEFAULT_TIMEOUT, ObjectTarget, open_target
    from torchlean_runtime.conformance.vectors.format import Result
    from torchlean_runtime.conformance.vectors.replay import replay_trace
    from torchlean_runtime.errors import TargetFailedError

    from . import programs

    if seconds is None and rounds is None:
        raise ValueError("a campaign needs seconds or rounds")
    result = CampaignResult(seed, 0.0, 0, 0, 0, 0, 0.0, 0.0, target=target, engine="random")
    start = time.monotonic()
    last_report = start
    try:
        tgt = open_target(target, timeout=timeout or DEFAULT_TIMEOUT)
    except TargetFailedError as exc:
        result.target_failure = f"[{exc.code}] {exc.message}" + (f"\nstderr tail:\n{exc.stderr_tail}" if exc.stderr_tail else "")
        return result
    if isinstance(tgt, ObjectTarget):
        tgt.hostile = fuzz_hostility(target, hostile)
    not_covered: dict[str, int] = {}
    unsupported: set[str] = set()
    declared = frozenset(tgt.operations)
    perf = time.perf_counter

    def target_failed(exc: Any) -> None:
        result.target_failure = f"[{exc.code}] {exc.message}" + (
            f"\nstderr tail:\n{exc.stderr_tail}" if exc.stderr_tail else "")

    try:
        for r in round_indices(shard, worker, rounds):
            if seconds is not None and time.monotonic() - start >= seconds:
                break
            result.round_list.append(r)
            for k in range(examples_per_round):
                if k and seconds is not None and time.monotonic() - start >= seconds:
                    break  # the time budget is checked between programs, not only between rounds
                pseed = programs.program_seed(seed, r, k)
                dtype = programs.ALL_DTYPES[k % len(programs.ALL_DTYPES)]
                t0 = perf()
                program = programs.generate(pseed, dtype, steps_per_program, declared)
                trace = program.trace
                t1 = perf()
                result.cases += 1
                result.spec_seconds += t1 - t0
                for op, n in program.not_covered.items():
                    not_covered[op] = not_covered.get(op, 0) + n
                    unsupported.add(op)
                if program.spec_crash is not None:
                    # the reference crashed: a spec bug, reported like a divergence (the trace
                    # holds the steps before it)
                    result.divergence = f"the spec crashed on program {pseed}: {program.spec_crash}"
                    result.trace = dc_replace(trace, tags=trace.tags + ("fuzz", "regression"))
                    result.found_after = time.monotonic() - start
                    result.shrink_seconds = 0.0
                    return result
                if trace.scalar_type not in tgt.scalar_types:  # the whole program is not run
                    for st in trace.steps:
                        not_covered[st.op] = not_covered.get(st.op, 0) + 1
                    unsupported.add(f"scalar type {trace.scalar_type}")
                    continue
                try:
                    res = replay_trace(trace, tgt, f"random program {pseed}")
                except TargetFailedError as exc:
                    target_failed(exc)
                    return result
                result.impl_seconds += perf() - t1
                result.must_fail += sum(1 for st in trace.steps[:res.executed] if st.expect.__class__ is not Result)
                result.operations += res.executed
                if res.status == "diverged":
                    result.found_after = time.monotonic() - start
                    _report_divergence(result, trace, res, tgt, shrink, shrink_budget)
                    return result
            now = time.monotonic()
            if progress is not None and now - last_report >= 5.0:
                last_report = now
                elapsed = now - start
                print(f"[fuzz] {elapsed:6.0f}s  rounds {len(result.round_list)}  programs {result.cases}  operations "
                      f"{result.operations}  ({result.operations / max(elapsed, 1e-9):.0f}/s)  divergences 0",
                      file=progress, flush=True)
    finally:
        tgt.close()
        result.seconds = time.monotonic() - start
        result.rounds = len(result.round_list)
        result.not_covered = not_covered
        result.unsupported = tuple(sorted(unsupported))
        result.attacks = getattr(tgt, "attacks_tried", 0)
    return result


def _report_divergence(result: CampaignResult, trace: Any, res: Any, tgt: Any, shrink: bool,
                       budget: Optional[int]) -> None:
    """Fill ``result`` with the divergence ``res`` of ``trace``: minimised (``shrink``) or cut."""
    from dataclasses import replace as dc_replace

    from torchlean_runtime.conformance.vectors.replay import replay_trace
    from torchlean_runtime.errors import TargetFailedError

    from . import programs

    d = res.divergence
    cut = found = dc_replace(trace, steps=trace.steps[:d.step + 1])
    result.original_steps = len(found.steps)
    t0 = time.monotonic()
    how = "cut after the diverging step"
    if shrink:
        def diverges(candidate: Any) -> Optional[int]:
            out = replay_trace(candidate, tgt, "shrinking", explain=False)
            return out.divergence.step if out.status == "diverged" else None

        try:
            shrunk = programs.shrink(found, diverges, programs.SHRINK_BUDGET if budget is None else budget)
            result.shrink_replays = shrunk.replays
            again = replay_trace(shrunk.trace, tgt, "shrunk")
            if again.status == "diverged":  # (a target with state across programs may not repeat it)
                found, d = shrunk.trace, again.divergence
                how = f"shrunk by delta debugging in {result.shrink_replays} replays"
        except TargetFailedError:
            pass  # the target failed while shrinking: keep the program as found
    result.shrink_seconds = time.monotonic() - t0
    try:
        if found is cut and replay_trace(cut, tgt, "found").status != "diverged":
            how += "; NOTE: it passes when replayed again — the target keeps state across programs"
    except TargetFailedError:
        pass
    result.divergence = f"steps[{d.step}] ({d.op}): spec {d.expected}; {tgt.name} {d.actual}"
    if d.after_attacks and d.after_attacks not in d.actual:
        result.divergence += f" ({d.after_attacks})"
    result.trace = dc_replace(found, tags=found.tags + ("fuzz", "regression"),
                              description=f"spec/{tgt.name} divergence found by torchlean-rt fuzz (program "
                                          f"{trace.generator.seed}, {how}): {result.divergence[:600]}")


def honest_tags(trace: Any) -> Any:
    """``trace`` without the ``nan-propagation`` tag when none of its steps does binary64
    arithmetic on a NaN (the program generator tags every Float program; a saved failure's tags
    should say what *it* holds).  Decided by executing the steps on the spec, as the generator
    did; when that cannot be done the tags are kept."""
    from dataclasses import replace as dc_replace

    if "nan-propagation" not in getattr(trace, "tags", ()):
        return trace
    try:
        from torchlean_runtime.conformance.vectors.generate import nonportable_reason

        from . import programs

        oracle = programs.SpecOracle(trace.scalar_type)
        for st in trace.steps:
            natives = oracle.natives(st.op, dict(st.args))
            if natives is None:
                continue
            if st.op in ("Runtime.Variable.accumulateGradient", "Runtime.Variable.variableNorm") and \
                    nonportable_reason(st.op, natives) == "nan-propagation":
                return trace
            oracle.run(st.op, natives, st.bind)
    except Exception:  # noqa: BLE001 - the tags are a note: keep them rather than fail a save
        return trace
    return dc_replace(trace, tags=tuple(t for t in trace.tags if t != "nan-propagation"))


def save_failure(trace: Any, out_dir: os.PathLike | str) -> Path:
    """Write ``trace`` into ``out_dir`` under a name that does not exist yet.  ``out_dir`` is
    created if missing, as one folder: its parent must exist (``fuzz`` checks ``--out`` so
    before the campaign, :func:`torchlean_runtime.cli.check_output_dir`)."""
    from torchlean_runtime.conformance.vectors.format import write_trace

    out = Path(out_dir)
    out.mkdir(exist_ok=True)
    base = f"divergence-{trace.scalar_type}-seed{trace.generator.seed}"
    path = out / f"{base}.json"
    n = 1
    while path.exists():
        n += 1
        path = out / f"{base}-{n}.json"
    write_trace(trace, path)
    return path


def _save(trace: Any, out_dir: str) -> str:
    """``save_failure`` into ``--out`` (checked before the campaign); should writing fail even so
    (the folder removed meanwhile, a full disk), into a fresh temporary folder instead, saying so
    on stderr — a shrunk divergence is never lost."""
    try:
        return str(save_failure(trace, out_dir))
    except OSError as exc:
        first = f"{exc.filename or out_dir}: {exc.strerror or exc}"
    try:
        fallback = tempfile.mkdtemp(prefix="torchlean-rt-fuzz-failures-")
        saved = str(save_failure(trace, fallback))
    except OSError as exc:
        from torchlean_runtime.errors import OutputPathError

        raise OutputPathError(f"fuzz: cannot save the shrunk divergence into --out {out_dir} ({first}) nor into a "
                              f"temporary folder ({exc.filename or tempfile.gettempdir()}: {exc.strerror or exc})") from None
    print_cli_error("TLR_OUTPUT_PATH", f"fuzz: cannot save into --out {out_dir} ({first}); saved into {fallback} instead")
    return saved


# --- the command --------------------------------------------------------------------------


def _summary_doc(results: Sequence[CampaignResult], args: Any, seed: int, saved: Sequence[Optional[str]]) -> dict:
    return {
        "format": SUMMARY_FORMAT,
        "target": args.target,
        "engine": results[0].engine if results else None,
        "seed": seed,
        "shard": args.shard,
        "workers": args.workers,
        "rounds": sorted(r for res in results for r in res.round_list),
        "cases": sum(r.cases for r in results),
        "operations": sum(r.operations for r in results),
        "must_fail": sum(r.must_fail for r in results),
        "not_covered": sum(sum(r.not_covered.values()) for r in results),
        "seconds": max((r.seconds for r in results), default=0.0),
        "divergences": [{"message": r.divergence, "trace": p} for r, p in zip(results, saved) if r.divergence],
        "target_failures": [r.target_failure for r in results if r.target_failure],
        "harness_errors": [r.harness_error for r in results if r.harness_error],
    }


def _round_list(rounds: Sequence[int]) -> str:
    """``1, 3`` — or ``0, 2, 4, …, 98`` when there are many."""
    shown = [str(r) for r in rounds]
    return ", ".join(shown if len(shown) <= 6 else shown[:3] + ["…", shown[-1]])


def _shard_rounds(shard: tuple[int, int], rounds: int) -> str:
    """The rounds this process runs of a ``--rounds R`` campaign: ``4 rounds``, or for one shard of
    several ``2 of 4 rounds (1, 3)`` (0-based round numbers, as in the --json summary)."""
    mine = list(round_indices(shard, (0, 1), rounds))
    if shard[1] == 1:
        return _count(rounds, "round")
    return f"{len(mine)} of {_count(rounds, 'round')} ({_round_list(mine) or 'none'})"


def _total_line(doc: dict) -> str:
    """The combined line of several workers (what their --json summary holds)."""
    return (f"total of {doc['workers']} workers: {_count(doc['cases'], 'case')}, {doc['operations']} operations "
            f"({doc['must_fail']} must-fail), {_count(len(doc['divergences']), 'divergence')}, "
            f"{_count(len(doc['target_failures']), 'target failure')} in {doc['seconds']:.0f}s "
            f"(seed {doc['seed']}, {_count(len(doc['rounds']), 'round')}: {_round_list(doc['rounds']) or 'none'}; "
            f"shard {doc['shard']})")


def _exit(doc: dict, require_full_coverage: bool = False) -> int:
    """docs/conformance.md, "Exit status (replay and fuzz)", the highest that applies: 3 the target
    failed; 2 the harness failed; 1 a divergence, or nothing covered at all (no operation ran on
    the target: a campaign that checked nothing never passes, as replay's "nothing passed"), or
    with ``require_full_coverage`` any step not covered; 0."""
    if doc["target_failures"]:
        return 3
    if doc["harness_errors"]:
        return 2
    if require_full_coverage and doc.get("not_covered", 0):
        return 1
    return 1 if doc["divergences"] or not doc["operations"] else 0


def _coverage_failure(doc: dict, unsupported: Sequence[str] = ()) -> Optional[str]:
    """The FAIL line of ``--require-full-coverage`` when steps were not covered (else None)."""
    if not doc.get("not_covered", 0) or not doc["operations"]:
        return None  # (nothing covered at all has its own line)
    why = f" (the target does not declare: {', '.join(unsupported)})" if unsupported else ""
    return (f"fuzz: FAIL (--require-full-coverage): {doc['not_covered']} steps not covered{why}; exit status 1")


def _nothing_covered(doc: dict) -> Optional[str]:
    """The FAIL line of a campaign that ran no operation on the target (exit 1), else None."""
    if doc["operations"] or doc["target_failures"] or doc["harness_errors"]:
        return None
    why = (f"{doc['not_covered']} steps not covered: the target declares none of what they need"
           if doc.get("not_covered") else "no program ran")
    return f"fuzz: FAIL: nothing covered — 0 operations ran on the target ({why}); exit status 1"


def merge_summaries(paths: Sequence[str]) -> dict:
    """Add up ``--json`` summaries (TLR_TRACE_FORMAT-style ValueError if one is not a summary;
    :class:`TraceFormatError` naming the file and the field if one breaks :data:`SUMMARY_SCHEMA`)."""
    docs = []
    limit = 64 * 1024 * 1024
    for p in paths:
        try:
            data = read_regular(p, limit)  # a FIFO or device is refused, never read (never blocks)
            if len(data) > limit or json_depth(data) > 8:
                raise ValueError(f"larger than {limit} bytes or nested deeper than 8")
            doc = json.loads(data)
        except (OSError, ValueError, RecursionError) as exc:
            raise ValueError(f"{p}: cannot be read as JSON: {exc}") from None
        if not isinstance(doc, dict) or doc.get("format") != SUMMARY_FORMAT:
            raise ValueError(f"{p}: not a {SUMMARY_FORMAT} summary")
        bad = first_error(doc, "torchlean_runtime.conformance", SUMMARY_SCHEMA)
        if bad is not None:  # every field checked against the published schema before it is added up
            raise TraceFormatError(f"{p}: {bad[0]}: {bad[1]} (not a {SUMMARY_FORMAT} summary, {SUMMARY_SCHEMA})")
        docs.append(doc)
    try:
        return _merged(docs)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ValueError(f"not a {SUMMARY_FORMAT} summary (a field is missing or of the wrong type: {exc!r})") from None


def _merged(docs: list) -> dict:
    for d in docs:
        for x in d["divergences"]:  # what `fuzz merge` prints of each
            if not isinstance(x, dict) or not isinstance(x["message"], str):
                raise TypeError("a divergence is not an object with a message")
            str(x["trace"])
    seeds = {(d["seed"], d["target"]) for d in docs}
    rounds = sorted(r for d in docs for r in d["rounds"])
    return {
        "format": SUMMARY_FORMAT,
        "target": ",".join(sorted({d["target"] for d in docs})),
        "engine": ",".join(sorted({str(d.get("engine", "stateful")) for d in docs})),
        "seed": docs[0]["seed"] if len(seeds) == 1 else None,
        "shard": "merged",
        "workers": sum(d["workers"] for d in docs),
        "rounds": rounds,
        "duplicate_rounds": len(rounds) - len(set(rounds)),
        "cases": sum(d["cases"] for d in docs),
        "operations": sum(d["operations"] for d in docs),
        "must_fail": sum(d["must_fail"] for d in docs),
        "not_covered": sum(d.get("not_covered", 0) for d in docs),
        "seconds": max(d["seconds"] for d in docs),
        "divergences": [x for d in docs for x in d["divergences"]],
        "target_failures": [x for d in docs for x in d["target_failures"]],
        "harness_errors": [x for d in docs for x in d["harness_errors"]],
    }


def _usage(message: str) -> int:
    print_cli_error("TLR_USAGE", f"fuzz: {message}")
    return 2




def _worker(kwargs: dict) -> CampaignResult:
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    engine = kwargs.pop("engine", DEFAULT_ENGINE)
    budget = kwargs.pop("shrink_budget", None)
    if engine == "random":
        return run_random_campaign(**kwargs, shrink_budget=budget)
    return run_campaign(**kwargs)


def main(args: Any) -> int:
    """``torchlean-rt fuzz`` / ``torchlean-rt fuzz merge`` (``args``: the command line's parsed
    arguments; call it as ``torchlean_runtime.cli.main(["fuzz", …])``)."""
    if args.merge:
        if args.merge[0] != "merge" or len(args.merge) < 2:
            return _usage("positional arguments are only `merge FILE...`")
        if args.json:
            from torchlean_runtime.cli import check_writable

            check_writable(args.json, "--json")
        try:
            doc = merge_summaries(args.merge[1:])
        except ValueError as exc:
            print_cli_error("TLR_TRACE_FORMAT", f"fuzz merge: {exc.message if hasattr(exc, 'message') else exc}")
            return 2
        print(f"fuzz merge: {len(args.merge) - 1} summaries, {len(doc['rounds'])} rounds "
              f"({doc['duplicate_rounds']} duplicated), {doc['cases']} cases, {doc['operations']} operations, "
              f"{len(doc['divergences'])} divergences, {len(doc['target_failures'])} target failures")
        for d in doc["divergences"]:
            print(printable(f"fuzz merge: divergence: {d['message'][:300]} (trace: {d['trace']})"))
        if _nothing_covered(doc):
            print(_nothing_covered(doc).replace("fuzz:", "fuzz merge:", 1))
        if getattr(args, "require_full_coverage", False) and _coverage_failure(doc):
            print(_coverage_failure(doc).replace("fuzz:", "fuzz merge:", 1))
        if args.json:  # after the lines above: a failing write (a full disk) loses no result
            from torchlean_runtime.cli import write_output

            write_output(args.json, json.dumps(doc, indent=1) + "\n", "--json")
        return _exit(doc, getattr(args, "require_full_coverage", False))
    if args.seconds is not None and not 0 < args.seconds < math.inf:
        return _usage(f"--seconds must be a positive finite number, given {args.seconds}")
    if args.rounds is not None and args.rounds <= 0:
        return _usage("--rounds must be positive")
    if not 1 <= args.workers <= MAX_WORKERS:
        return _usage(f"--workers must be between 1 and {MAX_WORKERS}, given {args.workers}")
    if not 1 <= args.programs <= MAX_PROGRAMS:
        return _usage(f"--programs must be between 1 and {MAX_PROGRAMS}, given {args.programs}")
    shrink_budget = getattr(args, "shrink_replays", None)
    if shrink_budget is not None and not 1 <= shrink_budget <= MAX_SHRINK_REPLAYS:
        return _usage(f"--shrink-replays must be between 1 and {MAX_SHRINK_REPLAYS}, given {shrink_budget}")
    engine = getattr(args, "engine", None) or DEFAULT_ENGINE
    if shrink_budget is not None and engine != "random":
        return _usage(f"--shrink-replays is the random engine's shrinking budget; the {engine} engine shrinks "
                      "with hypothesis (drop --shrink-replays, or use --engine random)")
    if engine == "stateful":
        try:
            import hypothesis  # noqa: F401
        except ImportError:
            return _usage("the stateful engine needs hypothesis (pip install 'torchlean-runtime[dev]'; "
                          "--engine random does not)")
    if args.timeout is not None and not 0 < args.timeout < math.inf:
        return _usage(f"--timeout must be a positive finite number of seconds, given {args.timeout}")
    from torchlean_runtime.errors import UsageError
    from torchlean_runtime.verify import parse_shard

    try:  # 1-based, as verify's: shard I of N runs the rounds r with r % N == I - 1
        one_based = parse_shard(args.shard)
    except UsageError as exc:
        return _usage(exc.message)
    shard = (one_based[0] - 1, one_based[1])
    seconds = args.seconds if args.seconds is not None or args.rounds is not None else 60.0
    seed = args.seed if args.seed is not None else int.from_bytes(os.urandom(4), "big")
    if seed < 0:
        return _usage("--seed must be a non-negative integer")
    from torchlean_runtime.cli import check_output_dir, check_writable

    if args.json:
        check_writable(args.json, "--json")  # output paths before any work (TLR_OUTPUT_PATH, exit 2)
    check_output_dir(args.out, "--out")
    from torchlean_runtime.conformance.target import open_target
    from torchlean_runtime.errors import TargetFailedError, TargetSelectorError

    try:  # a bad selector is a usage error before any process starts
        open_target(args.target, timeout=args.timeout or 10.0).close()
    except TargetSelectorError as exc:
        print_cli_error(exc.code, f"fuzz: {exc.message}")
        return 2
    except TargetFailedError as exc:
        print_cli_error(exc.code, f"fuzz: target failed at its handshake: {exc.message}")
        return 3
    # both given: whichever ends first
    budget = " or ".join(([f"{seconds:g}s"] if seconds is not None else []) +
                         ([_shard_rounds(shard, args.rounds)] if args.rounds is not None else []))
    print(f"[fuzz] spec vs {args.target}, {engine} engine, {budget}, seed {seed}, shard {args.shard}, "
          f"{_count(args.workers, 'worker')}", file=sys.stderr, flush=True)
    common = dict(seconds=seconds, seed=seed, target=args.target, rounds=args.rounds, shard=shard,
                  timeout=args.timeout, examples_per_round=args.programs, hostile=args.hostile)
    common["engine"] = engine
    common["shrink_budget"] = shrink_budget
    if args.workers == 1:
        results = [_worker(dict(common, progress=sys.stderr))]
    else:
        with ProcessPoolExecutor(args.workers) as pool:
            results = list(pool.map(_worker, [dict(common, worker=(w, args.workers)) for w in range(args.workers)]))
    saved: list[Optional[str]] = []
    from torchlean_runtime.conformance.target import which_target

    print(f"fuzz: {which_target(args.target)}")
    for w, r in enumerate(results):
        print(f"fuzz: {f'worker {w + 1}/{len(results)}: ' if len(results) > 1 else ''}{r.summary()}")
        if r.divergence is not None:
            r.trace = honest_tags(r.trace)
        saved.append(_save(r.trace, args.out) if r.divergence is not None else None)
    doc = _summary_doc(results, args, seed, saved)
    if len(results) > 1:
        print(f"fuzz: {_total_line(doc)}")
    for r in results:
        if r.target_failure is not None:
            print(f"fuzz: target failed: {r.target_failure}")
        if r.harness_error is not None:
            print(f"fuzz: the harness failed (not a divergence): {r.harness_error}")
    if _nothing_covered(doc):
        print(_nothing_covered(doc))
    if getattr(args, "require_full_coverage", False) and _coverage_failure(doc):
        print(_coverage_failure(doc, sorted({u for r in results for u in r.unsupported})))
    for r, path in zip(results, saved):
        if path is None:
            continue
        if engine == "random":
            how = (f"shrunk by delta debugging from {r.original_steps} steps in {r.shrink_replays} replays "
                   f"({r.shrink_seconds:.1f}s)")
        else:
            how = f"shrunk by hypothesis in {r.shrink_seconds:.1f}s"
        print(f"fuzz: DIVERGENCE found after {r.found_after:.1f}s, {how}, "
              f"{len(r.trace.steps)} steps: {r.divergence}")
        print(f"fuzz: saved the program as a torchlean.runtime.v1 trace: {path}")
        print(f"fuzz: reproduce with: {reproduce_command(path, args)}")
        print(f"fuzz: {after_fix_advice(args.target)}")
    if args.json:  # last: a write that fails even so (a full disk) names the path and loses no line above
        from torchlean_runtime.cli import write_output

        write_output(args.json, json.dumps(doc, indent=1) + "\n", "--json")
    return _exit(doc, getattr(args, "require_full_coverage", False))


def _quote(selector: str) -> str:
    import shlex

    return shlex.quote(selector)


def after_fix_advice(selector: str) -> str:
    """What to do with a saved failure once the bug is fixed: an outside implementer keeps the
    trace in their own test suite (it is a torchlean.runtime.v1 file ``replay`` runs anywhere);
    only this project's own spec/impl keep theirs in the package's regressions folder."""
    if selector in ("spec", "impl"):
        return ("once fixed, keep it as a regression vector in torchlean_runtime/conformance/vectors/regressions/ "
                "(this package's own implementation)")
    return ("once fixed, replay it against your implementation (the command above) to confirm, and keep the "
            "trace in your own test suite: `torchlean-rt replay DIR --target ...` runs a folder of them "
            "(exit 0 when all pass)")


def reproduce_command(path: str, args: Any) -> str:
    """The ``torchlean-rt replay`` command that replays a saved failure with everything that
    decided its verdict: the target, ``--hostile`` (fuzz --hostile attacks every object received;
    replay does only with --hostile), ``--timeout``, the ``TORCHLEAN_RT_*`` settings in force
    (checking mode, kernels, caps, reader limits) and, for a ``module:`` adapter, the PYTHONPATH
    it was found through.  The trace itself fixes the scalar type and the steps."""
    env = []
    if args.target.startswith("module:") and os.environ.get("PYTHONPATH"):
        env.append(f"PYTHONPATH={_quote(os.environ['PYTHONPATH'])}")
    env += [f"{k}={_quote(v)}" for k, v in sorted(os.environ.items())
            if k.startswith("TORCHLEAN_RT_") and k != "TORCHLEAN_RT_DEBUG"]
    words = [*env, "torchlean-rt", "replay", _quote(str(path)), "--target", _quote(args.target)]
    if getattr(args, "hostile", False):
        words.append("--hostile")
    if getattr(args, "timeout", None) is not None:
        words += ["--timeout", repr(args.timeout)]
    return " ".join(words)


# --- the verify provider ------------------------------------------------------------------


def check_fuzz_budget(rounds: int, seed: int) -> Outcome:
    """Obligation body: a campaign of ``rounds`` rounds from ``seed`` finds no divergence."""
    result = run_campaign(None, seed, rounds=rounds)
    if result.target_failure is not None:
        return Outcome(False, f"the target failed: {result.target_failure}")
    if result.harness_error is not None:
        return Outcome(False, f"the harness failed: {result.harness_error}")
    if result.divergence is not None:
        path = save_failure(result.trace, Path(tempfile.gettempdir()) / "torchlean-rt-fuzz-failures")
        return Outcome(False, f"divergence (shrunk to {len(result.trace.steps)} steps): {result.divergence}; "
                              f"trace saved to {path} (torchlean-rt replay {path})")
    return Outcome(True, result.summary())


def check_regressions() -> Outcome:
    """Obligation body: every regression vector replays bit-exactly on spec and impl."""
    from torchlean_runtime.conformance.vectors.replay import replay_paths

    results = replay_paths([regressions_dir()], ("spec", "impl"))
    failed = [r for r in results if not r.passed]
    if not results or failed:
        first = failed[0].line().splitlines()[0] if failed else "no results"
        return Outcome(False, f"{len(failed)}/{len(results)} runs failed; first: {first}")
    files = len({r.path for r in results})
    return Outcome(True, f"{files} regression traces, {sum(r.executed for r in results)} steps replayed on spec and impl, "
                         "all bit-exact")


def obligations(quick: bool) -> list[Obligation]:
    rounds = VERIFY_ROUNDS[0 if quick else 1]
    return [
        Obligation(
            name="impl refines spec: stateful differential fuzzing",
            method="hypothesis-stateful",
            label="sampled",
            claim=(
                f"for every program of the {rounds * EXAMPLES_PER_ROUND} the stateful machine generates in {rounds} rounds "
                f"from seed {VERIFY_SEED} "
                "(every Context and Variable declaration, trap-biased arguments, one scalar type per program), "
                "every answer and error code of the impl equals the spec's bit for bit and to_spec(impl state) "
                "equals the spec state after every step"
            ),
            run=check_fuzz_budget,
            args=(rounds, VERIFY_SEED),
            parallel=True,
        ),
        Obligation(
            name="impl refines spec: fuzz regression vectors replay",
            method="replay",
            label="examples",
            claim="every shrunk fuzz failure kept in torchlean_runtime/conformance/vectors/regressions replays bit-exactly on spec and impl",
            run=check_regressions,
        ),
    ]
