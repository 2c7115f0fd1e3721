"""The main job: collect every obligation the project has, run it, report.

Each provider is a module-level function ``obligations(quick: bool) -> list[Obligation]``
named in :data:`PROVIDERS`.  A provider that fails to import or to list its obligations is
itself reported as a failed check — nothing is skipped silently.

Budgets are counts and seeds only (no obligation stops on a clock), so the same commit gives
the same verdict on any machine under any load.  ``jobs`` worker processes run the obligations;
``shard=(i, n)`` keeps every n-th obligation starting at the i-th (1-based, in collection
order: deterministic), and :func:`merge` joins the JSON reports of the n shards into one.
"""

from __future__ import annotations

import fnmatch
import importlib
import json
import os
import sys
import threading
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from typing import Any, Iterable, Optional, Sequence, TextIO

from .errors import UsageError
from .files import json_depth, read_regular
from .schemas import first_error
from .proofs.providers import PROVIDERS  # the evidence knows its own providers
from .report import NOT_RUN, CheckResult, Obligation, Outcome, Report, isolate_hypothesis, run_obligation

__all__ = ["PROVIDERS", "HEARTBEAT_SECONDS", "collect", "select", "parse_shard", "shard_of", "run_obligation", "run",
           "merge", "list_obligations", "isolate_hypothesis", "check_float_environment"]


#: At most this many seconds between two progress lines (a heartbeat while checks run).
HEARTBEAT_SECONDS = 30.0


def check_float_environment() -> None:
    """The impl's floating-point-environment probe (flush-to-zero / denormals-are-zero would make
    every subnormal result of spec and impl wrong together), run before any check; raises
    ``FloatEnvironmentError`` (``TLR_FLOAT_ENVIRONMENT``)."""
    from torchlean_runtime.impl import arrays  # the defining module (a test can stand in for the probe)

    arrays.check_float_environment()


def collect(quick: bool, providers: Optional[list[str]] = None) -> tuple[list[Obligation], list[CheckResult]]:
    """All obligations, plus failed results for providers that could not be loaded."""
    obligations: list[Obligation] = []
    broken: list[CheckResult] = []
    for ref in providers if providers is not None else PROVIDERS:
        module_name, _, func = ref.partition(":")
        try:
            provider = getattr(importlib.import_module(module_name), func)
            obligations.extend(provider(quick))
        except Exception as exc:  # a broken provider is a failure, never a silent skip
            broken.append(
                CheckResult(ref, "provider", "checked", "the provider lists its obligations", False, 0.0,
                            f"{type(exc).__name__}: {exc}")
            )
    return obligations, broken


def matches(name: str, only: Optional[str]) -> bool:
    """``--only``: a glob or a substring of the name."""
    return not only or fnmatch.fnmatch(name, only) or only in name


def select(obligations: Sequence[Obligation], only: Optional[str]) -> list[Obligation]:
    """The obligations ``--only`` keeps; matching nothing is a usage error (TLR_USAGE)."""
    kept = [ob for ob in obligations if matches(ob.name, only)]
    if only and not kept:
        raise UsageError(f"--only {only!r} matches no check (torchlean-rt verify --list names them)")
    return kept


def parse_shard(text: str) -> tuple[int, int]:
    """``I/N`` with 1 <= I <= N (TLR_USAGE otherwise): the I-th of N parts, counted from 1 —
    the one parser and message of ``verify --shard`` and ``fuzz --shard``."""
    try:
        i, n = (int(x) for x in text.split("/"))
    except ValueError:
        i = n = 0
    if not 1 <= i <= n:
        raise UsageError(f"--shard must be I/N with 1 <= I <= N (the I-th of N parts, counted from 1, "
                         f"e.g. 1/2 and 2/2), given {text!r}")
    return i, n


def shard_of(obligations: Sequence[Obligation], shard: Optional[tuple[int, int]]) -> list[Obligation]:
    """Every n-th obligation from the i-th (collection order; the same split on every machine)."""
    if shard is None:
        return list(obligations)
    i, n = shard
    return [ob for k, ob in enumerate(obligations) if k % n == i - 1]


def _run_in_worker(ob: Obligation) -> CheckResult:
    isolate_hypothesis()
    return run_obligation(ob)


class _Progress:
    """One line per finished check, and a heartbeat (elapsed, what runs, an estimate) whenever
    ``interval`` seconds pass without one."""

    def __init__(self, stream: Optional[TextIO], total: int, interval: float) -> None:
        self.stream, self.total, self.interval = stream, total, interval
        self.start = self.last = time.monotonic()
        self.done = 0
        self.busy = 0.0  # summed seconds of finished checks
        self.running: dict[str, float] = {}
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.thread: Optional[threading.Thread] = None

    def __enter__(self) -> "_Progress":
        if self.stream is not None:
            self.thread = threading.Thread(target=self._beat, daemon=True)
            self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop.set()
        if self.thread is not None:
            self.thread.join()

    def _print(self, text: str) -> None:
        if self.stream is not None:
            print(text, file=self.stream, flush=True)
            self.last = time.monotonic()

    def started(self, name: str) -> None:
        with self.lock:
            self.running[name] = time.monotonic()

    def finished(self, r: CheckResult) -> None:
        with self.lock:
            self.running.pop(r.name, None)
            self.done += 1
            self.busy += r.seconds
            mark = "pass" if r.passed else "FAIL"
            self._print(f"[{self.done}/{self.total}] {r.name} … {mark} ({r.seconds:.2f}s)")

    def estimate(self, now: float) -> str:
        if not self.done:
            return "estimate after the first check"
        elapsed = now - self.start
        left = elapsed / self.done * (self.total - self.done)
        return f"about {left:.0f}s left (at the rate so far)"

    def _beat(self) -> None:
        while not self.stop.wait(min(self.interval, 1.0)):
            now = time.monotonic()
            with self.lock:
                if now - self.last < self.interval:
                    continue
                running = sorted(self.running.items(), key=lambda kv: kv[1])
                names = ", ".join(f"{n} ({now - t:.0f}s)" for n, t in running[:3]) or "(starting)"
                more = f" and {len(running) - 3} more" if len(running) > 3 else ""
                self._print(f"[{self.done}/{self.total}] … {now - self.start:.0f}s elapsed; waiting on: {names}{more}; "
                            f"{self.estimate(now)}")


def run(
    quick: bool = False,
    only: Optional[str] = None,
    progress: Optional[TextIO] = sys.stderr,
    providers: Optional[list[str]] = None,
    workers: Optional[int] = None,
    shard: Optional[tuple[int, int]] = None,
    heartbeat: float = HEARTBEAT_SECONDS,
) -> Report:
    """Run the obligations (``--only`` filter, then the ``shard``) on ``workers`` processes
    (default: every core) and return the report, in collection order."""
    wall_start = time.perf_counter()
    obligations, broken = collect(quick, providers)
    planned = [r.name for r in broken] + [ob.name for ob in select(obligations, only)]
    obligations = shard_of(select(obligations, only), shard)
    if shard is not None and shard[0] != 1:
        broken = []  # a provider that cannot load is reported once, by the first shard
    report = Report(results=list(broken), quick=quick, shard=shard, planned=planned)
    by_name: dict[str, CheckResult] = {}
    jobs = max(1, workers or os.cpu_count() or 1)
    parallel = [ob for ob in obligations if ob.parallel]
    serial = [ob for ob in obligations if not ob.parallel]
    with _Progress(progress, len(obligations), heartbeat) as prog:
        if parallel and jobs > 1:
            with ProcessPoolExecutor(max_workers=jobs) as pool:
                pending = {}
                for ob in parallel:
                    pending[pool.submit(_run_in_worker, ob)] = ob
                    prog.started(ob.name)  # queued or running; the heartbeat names the oldest
                while pending:
                    done, _ = wait(pending, return_when=FIRST_COMPLETED)
                    for fut in done:
                        ob = pending.pop(fut)
                        result = fut.result()
                        by_name[ob.name] = result
                        prog.finished(result)
        else:
            serial = parallel + serial
        isolate_hypothesis()
        for ob in serial:
            prog.started(ob.name)
            result = run_obligation(ob)
            by_name[ob.name] = result
            prog.finished(result)
    report.results.extend(by_name[ob.name] for ob in obligations)
    report.wall_seconds = time.perf_counter() - wall_start
    return report


#: ``verify merge`` reads a report of at most this many bytes, nested at most this deep (a
#: report written by ``verify --json`` is nested 3 deep and well under a megabyte)
MERGE_MAX_BYTES = 64 * 1024 * 1024
MERGE_MAX_DEPTH = 16
#: the JSON Schema of a verify report (package data of torchlean_runtime), checked by merge
REPORT_SCHEMA = "verify_report_schema_v1.json"


def _read_report(path: str) -> Report:
    """One report for :func:`merge`: a regular file (never a FIFO or device: opened
    non-blocking), size- and depth-bounded before it is parsed, every field of the expected
    type; TLR_USAGE (exit 2) otherwise, as for any report merge cannot use."""
    try:
        data = read_regular(path, MERGE_MAX_BYTES)
    except OSError as exc:
        raise UsageError(f"cannot read the verify report {path}: {exc.strerror or exc}") from None
    if len(data) > MERGE_MAX_BYTES:
        raise UsageError(f"the verify report {path} exceeds {MERGE_MAX_BYTES} bytes")
    depth = json_depth(data)
    if depth > MERGE_MAX_DEPTH:
        raise UsageError(f"cannot read the verify report {path}: JSON nested {depth} deep (at most {MERGE_MAX_DEPTH})")
    try:
        text = data.decode("utf-8")
        bad = first_error(json.loads(text), "torchlean_runtime", REPORT_SCHEMA)
        if bad is not None:  # every field checked against the published schema before it is used
            raise UsageError(f"cannot read the verify report {path}: {bad[0]}: {bad[1]} "
                             f"(not a torchlean-rt verify report, {REPORT_SCHEMA})")
        report = Report.from_json(text)
    except (ValueError, KeyError, TypeError, ArithmeticError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        if isinstance(exc, UsageError):
            raise
        raise UsageError(f"cannot read the verify report {path}: {type(exc).__name__}: {exc}") from None
    fields_ok = all(
        isinstance(c.name, str) and isinstance(c.method, str) and isinstance(c.label, str) and isinstance(c.claim, str)
        and isinstance(c.detail, str) and type(c.passed) is bool and type(c.seconds) in (int, float)
        for c in report.results
    )
    if not fields_ok or not all(isinstance(n, str) for n in report.planned):
        raise UsageError(f"cannot read the verify report {path}: not a torchlean-rt verify report (a field of the wrong type)")
    return report


def merge(paths: Iterable[str]) -> Report:
    """One report from the JSON reports of several runs (e.g. the shards of one run).  The
    reports must agree on the profile and on the planned checks; a planned check that no report
    ran, or that two reports ran, is a failure of the merged report."""
    reports = [_read_report(path) for path in paths]
    if not reports:
        raise UsageError("verify merge needs at least one report")
    if len({r.quick for r in reports}) != 1:
        raise UsageError("the reports were made with different profiles (--quick and not)")
    planned = reports[0].planned
    if any(r.planned != planned for r in reports):
        raise UsageError("the reports plan different checks (different commits or --only)")
    results: dict[str, CheckResult] = {}
    duplicated: list[str] = []
    for r in reports:
        for c in r.results:
            if c.name in results:
                duplicated.append(c.name)
            results[c.name] = c
    merged = Report(quick=reports[0].quick, planned=planned)
    merged.results = [results[n] for n in planned if n in results]
    missing = [n for n in planned if n not in results]
    for name in missing:
        merged.results.append(CheckResult(name, "merge", NOT_RUN, "some report ran this check", False, 0.0,
                                          "no report ran this planned check"))
    for name in sorted(set(duplicated)):
        merged.results.append(CheckResult(f"merge: {name}", "merge", "checked", "each check ran once", False, 0.0,
                                          "two reports ran this check"))
    merged.wall_seconds = max(r.wall_seconds for r in reports)
    merged.merged_from = len(reports)
    return merged


def list_obligations(quick: bool, only: Optional[str] = None) -> list[str]:
    """``verify --list``: one line per check (name, method, label); providers that fail to load too."""
    obligations, broken = collect(quick)
    lines = [f"{ob.name}\t{ob.method}\t{ob.label}" for ob in select(obligations, only)]
    lines += [f"{r.name}\tprovider\tFAILED TO LOAD: {r.detail}" for r in broken]
    return lines
