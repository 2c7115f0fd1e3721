"""``torchlean-rt fuzz --seconds N [--seed S] [--out DIR]`` — a timed spec-vs-impl campaign.

Runs the stateful machine (``machine.py``) round after round — each round is one hypothesis run
of :data:`EXAMPLES_PER_ROUND` programs from its own seed — until the time is up, with progress
on stderr.  On the first divergence hypothesis shrinks the program; the shrunk program is
saved as a ``torchlean.runtime.v1`` trace in ``--out`` and the command that replays it is
printed (the trace passes on the spec and fails on the impl at the diverging step).  Exit
status: 0 clean, 1 divergence, 2 the harness itself failed.

After fixing the bug, copy the trace into ``torchlean_runtime/conformance/vectors/regressions/`` (see its README):
the verify provider below and ``tests/differential`` replay that folder on spec and impl.

The verify provider (:func:`obligations`) runs a campaign of a fixed number of rounds from a
fixed seed (:data:`VERIFY_ROUNDS`) and replays the regression vectors.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional, TextIO

from torchlean_runtime.report import Obligation, Outcome

__all__ = [
    "EXAMPLES_PER_ROUND",
    "STEPS_PER_PROGRAM",
    "CampaignResult",
    "run_campaign",
    "save_failure",
    "regressions_dir",
    "main",
    "obligations",
    "check_fuzz_budget",
    "check_regressions",
]

#: Programs per hypothesis run (a round): small, so the time budget is overrun by a few seconds at most.
EXAMPLES_PER_ROUND = 50
#: The most operations in one program (hypothesis' ``stateful_step_count``).
STEPS_PER_PROGRAM = 50
#: The seed of the verify provider's campaign (fixed: the same programs on every run).
VERIFY_SEED = 20250605
#: Rounds of the verify provider's campaign (quick, thorough): a count, never a time, so the
#: verdict does not depend on the machine's load.
VERIFY_ROUNDS = (3, 16)


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

    def summary(self) -> str:
        spec_rate = self.operations / self.spec_seconds if self.spec_seconds else 0.0
        impl_rate = self.operations / self.impl_seconds if self.impl_seconds else 0.0
        found = 0 if self.divergence is None else 1
        return (
            f"{self.cases} cases, {self.operations} operations ({self.must_fail} must-fail), {found} divergences "
            f"in {self.seconds:.0f}s (seed {self.seed}, {self.rounds} rounds); "
            f"{self.operations / max(self.seconds, 1e-9):.0f} operations/s with hypothesis; execution alone: "
            f"spec {spec_rate:.0f} ops/s, impl {impl_rate:.0f} ops/s"
        )


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


def run_campaign(
    seconds: float,
    seed: int,
    progress: Optional[TextIO] = None,
    examples_per_round: int = EXAMPLES_PER_ROUND,
    steps_per_program: int = STEPS_PER_PROGRAM,
    shrink: bool = True,
    rounds_budget: Optional[int] = None,
) -> CampaignResult:
    """Run the machine round after round for ``seconds`` (the round in progress is finished),
    or — when ``rounds_budget`` is given — for exactly that many rounds whatever the time (the
    count budget of verify: the same programs on any machine under any load).
    ``shrink=False`` reports the first divergent program as found (tests use it for speed)."""
    from hypothesis import HealthCheck, Phase, Verbosity, settings
    from hypothesis import seed as hypothesis_seed
    from hypothesis.stateful import run_state_machine_as_test

    from .machine import DifferentialMachine, FuzzStats

    stats = FuzzStats()
    config = settings(
        max_examples=examples_per_round,
        stateful_step_count=steps_per_program,
        deadline=None,
        database=None,
        phases=[Phase.generate, Phase.shrink] if shrink else [Phase.generate],
        suppress_health_check=list(HealthCheck),
        report_multiple_bugs=False,
        verbosity=Verbosity.quiet,
    )
    start = time.monotonic()
    last_report = start
    rounds = 0
    result = CampaignResult(seed, 0.0, 0, 0, 0, 0, 0.0, 0.0)
    while (rounds < rounds_budget) if rounds_budget is not None else (time.monotonic() - start < seconds):
        round_seed = seed * 1_000_003 + rounds

        def factory(round_seed: int = round_seed) -> DifferentialMachine:
            return DifferentialMachine(stats, seed=round_seed)

        rounds += 1
        try:
            run_state_machine_as_test(hypothesis_seed(round_seed)(factory), settings=config)
        except BaseException as exc:  # noqa: BLE001 - a divergence, or the harness broke
            if isinstance(exc, KeyboardInterrupt):
                raise
            found = _divergence_in(exc)
            if found is not None:
                result.divergence, result.trace = found.message, found.trace
            else:
                result.harness_error = f"{type(exc).__name__}: {exc}"
            break
        now = time.monotonic()
        if progress is not None and (now - last_report >= 5.0 or now - start >= seconds):
            last_report = now
            elapsed = now - start
            print(
                f"[fuzz] {elapsed:6.0f}s / {seconds:.0f}s  cases {stats.cases}  operations {stats.operations}  "
                f"({stats.operations / max(elapsed, 1e-9):.0f}/s)  divergences 0",
                file=progress,
                flush=True,
            )
    result.seconds = time.monotonic() - start
    result.rounds = rounds
    result.cases, result.operations, result.must_fail = stats.cases, stats.operations, stats.must_fail
    result.spec_seconds, result.impl_seconds = stats.spec_seconds, stats.impl_seconds
    if stats.first_divergence_at is not None:
        result.found_after = stats.first_divergence_at - start
        result.shrink_seconds = start + result.seconds - stats.first_divergence_at
    return result


def save_failure(trace: Any, out_dir: os.PathLike | str) -> Path:
    """Write ``trace`` into ``out_dir`` (created if needed) under a name that does not exist yet."""
    from torchlean_runtime.conformance.vectors.format import write_trace

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    base = f"divergence-{trace.scalar_type}-seed{trace.generator.seed}"
    path = out / f"{base}.json"
    n = 1
    while path.exists():
        n += 1
        path = out / f"{base}-{n}.json"
    write_trace(trace, path)
    return path


def regressions_dir() -> str:
    """The permanent regression vectors (shrunk fuzz failures), shipped as package data."""
    from importlib import resources

    return str(resources.files("torchlean_runtime.conformance.vectors").joinpath("regressions"))


def main(args: Any = None) -> int:
    """``torchlean-rt fuzz`` (``args.seconds``, ``args.seed``, ``args.out``)."""
    if args is None or isinstance(args, (list, tuple)):
        parser = argparse.ArgumentParser(prog="torchlean-rt fuzz")
        parser.add_argument("--seconds", type=float, default=60.0)
        parser.add_argument("--seed", type=int, default=None)
        parser.add_argument("--out", default="fuzz-failures")
        args = parser.parse_args(args)
    try:
        import hypothesis  # noqa: F401
    except ImportError:
        print("fuzz: needs hypothesis (pip install 'torchlean-runtime[dev]')", file=sys.stderr)
        return 2
    if args.seconds <= 0:
        print("fuzz: --seconds must be positive", file=sys.stderr)
        return 2
    seed = args.seed if args.seed is not None else int.from_bytes(os.urandom(4), "big")
    if seed < 0:
        print("fuzz: --seed must be a non-negative integer", file=sys.stderr)
        return 2
    print(f"[fuzz] spec vs impl, stateful, {args.seconds:.0f}s, seed {seed}", file=sys.stderr, flush=True)
    result = run_campaign(args.seconds, seed, progress=sys.stderr)
    print(f"fuzz: {result.summary()}")
    if result.harness_error is not None:
        print(f"fuzz: the harness failed (not a divergence): {result.harness_error}")
        return 2
    if result.divergence is not None:
        path = save_failure(result.trace, args.out)
        print(f"fuzz: DIVERGENCE found after {result.found_after:.1f}s, shrunk in {result.shrink_seconds:.1f}s "
              f"to {len(result.trace.steps)} steps: {result.divergence}")
        print(f"fuzz: saved the shrunk program as a torchlean.runtime.v1 trace: {path}")
        print(f"fuzz: reproduce with: torchlean-rt replay {path}")
        print("fuzz: once fixed, keep it as a regression vector in torchlean_runtime/conformance/vectors/regressions/")
        return 1
    return 0


# --- the verify provider ------------------------------------------------------------------


def check_fuzz_budget(rounds: int, seed: int) -> Outcome:
    """Obligation body: a campaign of ``rounds`` rounds (count budget) from ``seed`` finds no divergence."""
    result = run_campaign(0.0, seed, rounds_budget=rounds)
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
    rounds = VERIFY_ROUNDS[0] if quick else VERIFY_ROUNDS[1]
    return [
        Obligation(
            name="impl refines spec: stateful differential fuzzing",
            method="hypothesis-stateful",
            label="sampled",
            claim=(
                f"for every program the stateful machine generates in {rounds} rounds of {EXAMPLES_PER_ROUND} programs "
                f"(count budget) from seed {VERIFY_SEED} "
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
