"""``torchlean-rt replay FILE_OR_DIR... --target T [--json] [--timeout S]`` — run traces on a target.

Each file is read by the hardened reader, then executed step by step on the target through the
one target interface (:mod:`torchlean_runtime.conformance.target`; any selector: ``spec``,
``impl``, ``module:…``, ``exec:…``, an entry-point name; ``both`` means spec then impl).  The
first step whose answer differs from the expected one (bitwise; or another error code; or a
crash) fails the file and is reported with the expected and the actual value, decoded and as
bit patterns.

Every file gets exactly one status per target (``STATUSES``):

==================  =============================================================================
``passed``          every step executed and gave its expected answer
``diverged``        a step gave another answer (the first such step is reported)
``vacuous``         the file has no steps (a replay that checks nothing never passes)
``not_covered``     the target declares the file's scalar type or one of its operations
                    unsupported: listed and counted, never passed
``target_failed``   the target failed as a program (crash, timeout, protocol error): "target
                    failed at FILE step N" with the tail of its stderr; later files are ``not_run``
``not_run``         not executed because the target failed earlier in this run
``unread``          the path is missing, not a regular file, a dangling link or a loop, the reader
                    rejected the file, or the directory's ``manifest.json`` disagrees with it
==================  =============================================================================

Exit status (the highest that applies): 3 a target failed; 2 usage error or unreadable input
(``unread``, a bad ``--target``, a bad environment variable); 1 a divergence, a vacuous file, or
nothing passed at all — or, with ``--require-full-coverage``, any file not covered; 0 otherwise
(the text report's last line then says ``PASS (partial: N of M files not covered)`` when some
were not).  ``--json`` writes the conformance report (``report_schema_v1.json``) on stdout.

In-process targets (spec, impl, ``module:``, entry points) meet a hostile caller: after every
call, every tensor passed in is attacked through every mutation route numpy offers
(:mod:`~torchlean_runtime.conformance.attacks`), so an implementation that keeps the caller's
array instead of a copy answers a later step differently and diverges.

The words ``corpus`` and ``regressions`` stand for the shipped folders (:func:`corpus_dir`,
:func:`regressions_dir`) when no path of that name exists here (a local path wins).

Directories are walked without recursion limit, following links to directories once (a loop
is reported); every entry named ``*.json`` is read or reported (a FIFO, socket or device is
reported, never opened).  A directory's top-level ``manifest.json`` (written by ``vectors
generate``) is verified instead of replayed: a listed file missing or with another sha256, or
an unlisted trace file, is ``unread``.
"""

from __future__ import annotations

import argparse
import errno
import json
import math
import os
import re
import stat
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Optional, Sequence

from torchlean_runtime.errors import (TargetFailedError, TorchLeanError, TraceFormatError, TraceLimitError, print_cli_error,
                                     printable)

from .bits import TensorBits, describe_element
from .execute import Crash, ObservedError, matches
from .format import ContextState, ExpectedError, Result, Trace, VariableState, result_to_doc
from .reader import ReaderLimits, limits_from_env, read_trace

__all__ = [
    "STATUSES",
    "REPORT_FORMAT",
    "Divergence",
    "FileResult",
    "shown",
    "replay_trace",
    "collect_files",
    "replay_paths",
    "run_replay",
    "exit_code",
    "verdict",
    "report_document",
    "report_schema",
    "corpus_dir",
    "regressions_dir",
    "shipped_paths",
    "main",
]

STATUSES = ("passed", "diverged", "vacuous", "not_covered", "target_failed", "not_run", "unread")
REPORT_FORMAT = "torchlean.runtime.conformance-report.v1"
MANIFEST_NAME = "manifest.json"


def shown(path: str) -> str:
    """A path or message as printable text (:func:`~torchlean_runtime.errors.printable`): bytes
    that are not UTF-8 (kept by the OS as surrogate escapes) become ``\\xNN``, any other lone
    surrogate ``\\uXXXX``, so printing never fails on a strict UTF-8 stdout."""
    return printable(path)


@dataclass
class Divergence:
    """The first step whose answer differs from its expectation."""

    step: int
    op: str
    note: str
    expected: str  # decoded, with bit patterns
    actual: str
    where: str  # the first differing component (for contexts/variables), else ""
    expected_doc: Any = None  # the v1 JSON form ({"error": code} for an error, None for a crash)
    actual_doc: Any = None
    after_attacks: str = ""  # what the hostile caller had mutated, when that made the difference ("" if not)
    observed: Any = field(default=None, repr=False, compare=False)  # the answer itself (Result, ObservedError, Crash)


@dataclass
class FileResult:
    path: str
    target: str
    passed: bool
    steps: int  # steps in the file
    executed: int  # steps executed and compared
    problem: str = ""  # why the file failed without a diverging step
    divergence: Optional[Divergence] = None
    status: str = ""
    stderr_tail: str = ""
    description: str = ""  # the trace file's own description (why its steps expect what they do)

    def __post_init__(self) -> None:
        if not self.status:
            self.status = "passed" if self.passed else ("diverged" if self.divergence else "unread")
        assert self.status in STATUSES

    def line(self) -> str:
        label = {"passed": "PASS", "not_covered": "NOT COVERED", "not_run": "NOT RUN"}.get(self.status, "FAIL")
        head = f"{label} {self.target:<4} {self.path}"
        if self.passed:
            return f"{head}  ({self.executed}/{self.steps} steps)"
        if self.divergence is None:
            lines = [f"{head}  {self.problem}"]
            if self.description and self.status == "target_failed":
                lines.append(f"      about:    {_clip(' '.join(self.description.split()), 600)}")
            if self.stderr_tail:
                lines.append("      stderr tail:")
                lines += [f"      | {t}" for t in self.stderr_tail.splitlines()[-20:]]
            return "\n".join(lines)
        d = self.divergence
        lines = [f"{head}  steps[{d.step}] ({d.op}){' — ' + d.note if d.note else ''}"]
        if self.description:
            lines.append(f"      about:    {_clip(' '.join(self.description.split()), 600)}")
        if d.where:
            lines.append(f"      first difference: {d.where}")
        lines.append(f"      expected: {_clip(d.expected)}")
        lines.append(f"      actual:   {_clip(d.actual)}")
        if d.after_attacks and d.after_attacks not in d.actual:
            lines.append(f"      note:     {d.after_attacks}")
        return "\n".join(lines)


def _clip(text: str, limit: int = 1500) -> str:
    return text if len(text) <= limit else text[:limit] + f" … ({len(text) - limit} more characters)"


def _tensor_difference(e: TensorBits, a: TensorBits) -> str:
    if (e.shape, e.dtype) != (a.shape, a.dtype):
        return f"{a.dtype}{list(a.shape)}, expected {e.dtype}{list(e.shape)}"
    i = next(i for i, (x, y) in enumerate(zip(e.bits, a.bits)) if x != y)
    return (
        f"element {i} (row-major) is {describe_element(a.dtype, a.bits[i])} = bits {a.bits[i]}, "
        f"expected {describe_element(e.dtype, e.bits[i])} = bits {e.bits[i]}"
    )


def _string_difference(e: str, a: str) -> str:
    """The first differing character of two strings (Lean's ``toString`` output), with context."""
    i = next((k for k, (x, y) in enumerate(zip(e, a)) if x != y), min(len(e), len(a)))
    def around(t: str) -> str:
        return repr(t[max(0, i - 20):i + 20])
    if i == len(a):
        return f"character {i}: the string ends, expected {e[i]!r} (U+{ord(e[i]):04X}) …; near {around(e)} in the expected"
    if i == len(e):
        return f"character {i}: {a[i]!r} (U+{ord(a[i]):04X}) where the expected string ends; near {around(a)}"
    return (f"character {i}: {a[i]!r} (U+{ord(a[i]):04X}), expected {e[i]!r} (U+{ord(e[i]):04X}); "
            f"actual near {around(a)}, expected near {around(e)}")


def _first_difference(expected: Any, actual: Any) -> str:
    """Point at the first differing component of two results of the same kind."""
    if not (isinstance(expected, Result) and isinstance(actual, Result) and expected.kind == actual.kind):
        return ""
    e, a = expected.value, actual.value
    if isinstance(e, TensorBits) and isinstance(a, TensorBits):
        return _tensor_difference(e, a)
    if isinstance(e, str) and isinstance(a, str):
        return _string_difference(e, a)
    if expected.kind == "names" and isinstance(e, tuple) and isinstance(a, tuple):
        for i, (en, an) in enumerate(zip(e, a)):
            if en != an:
                return f"name {i} is {an!r}, expected {en!r}"
        if len(e) != len(a):
            return f"{len(a)} names, expected {len(e)}"
    if isinstance(e, ContextState):
        for name in ("var_registry", "gradients"):
            er, ar = getattr(e, name), getattr(a, name)
            if len(er) != len(ar):
                return f"{name} has {len(ar)} entries, expected {len(er)}"
            for i, ((en, et), (an, at)) in enumerate(zip(er, ar)):
                if en != an:
                    return f"{name}[{i}] is named {an!r}, expected {en!r}"
                if et != at:
                    return f"{name}[{i}] ({en!r}): {_tensor_difference(et, at)}"
        if e.next_id != a.next_id:
            return f"next_id is {a.next_id}, expected {e.next_id}"
    if isinstance(e, VariableState):
        for name in ("id", "name", "value", "gradient", "requires_grad"):
            ev, av = getattr(e, name), getattr(a, name)
            if ev != av:
                if isinstance(ev, TensorBits) and isinstance(av, TensorBits):
                    return f"{name}: {_tensor_difference(ev, av)}"
                show = (lambda x: x.describe() if hasattr(x, "describe") else repr(x))
                return f"{name} is {show(av)}, expected {show(ev)}"
    return ""


def _answer_doc(x: Any) -> Any:
    if isinstance(x, Result):
        return result_to_doc(x)
    code = getattr(x, "code", None)
    return {"error": code} if isinstance(code, str) else None


def hostility(selector: str, results: bool = False) -> Any:
    """How hard replay's caller attacks an in-process target (``ObjectTarget.hostile``).

    Every target: each array or container passed in is attacked after the call, so an
    implementation that keeps the caller's memory instead of a copy diverges (``"inputs"``).
    ``impl``, and any target when ``results`` (``replay --hostile``): every object received too
    — arrays, name lists, Variables, contexts, through attribute assignment and deletion — so one
    that hands out its stored state diverges (``True``).  The impl promises that; an outside
    Python port may not defend its objects' attributes, which no Lean program can touch, so it is
    opt-in there.  The spec's results are never attacked: it is the oracle the corpus holds, pure
    and immutable, and attacking it costs 6x the replay time."""
    if selector == "spec":
        return "inputs"
    return True if results or selector == "impl" else "inputs"


def replay_trace(trace: Trace, target: Any, path: str = "<trace>", explain: bool = True) -> FileResult:
    """Execute ``trace`` on ``target`` (a :class:`~..target.Target`, or a selector string: the
    target is then opened and closed here) and compare every step, stopping at the first
    divergence.  TargetFailedError propagates (the caller reports it).

    ``explain``: a failure (a wrong answer or a crash) after the hostile caller mutated something
    is replayed once more without attacks; only if that run passes or fails differently does the
    report say what the attacks did (``Divergence.after_attacks``; a crash's ``actual`` carries it
    too).  A failure that is the same without the attacks says nothing about them."""
    from ..target import ObjectTarget, coverage, open_target

    if isinstance(target, str):
        opened = open_target(target)
        if isinstance(opened, ObjectTarget):
            opened.hostile = hostility(target)
        try:
            return replay_trace(trace, opened, path)
        finally:
            opened.close()

    name = getattr(target, "name", "target")
    n = len(trace.steps)
    if n == 0:
        return FileResult(path, name, False, 0, 0, "vacuous: the file has no steps", status="vacuous")
    cov = coverage(target, trace.scalar_type, (s.op for s in trace.steps))
    if not cov.covered:
        return FileResult(path, name, False, n, 0, f"not covered: {cov.reason(trace.scalar_type)}", status="not_covered",
                          description=trace.description)
    target.reset(trace.scalar_type)
    executed = 0
    for i, step in enumerate(trace.steps):
        try:
            observed = target.call(step.op, step.args, step.bind)
        except TargetFailedError as exc:
            exc.step = i  # type: ignore[attr-defined]
            raise
        executed += 1
        assert step.expect is not None  # the reader never yields a step without one
        if not matches(step.expect, observed):
            after = _after_attacks(trace, target, path, i, observed, explain)
            actual = observed.describe()
            if after and isinstance(observed, Crash):
                actual = f"{actual}; {after}"  # the crash line itself says why (an AttributeError, a float16 …)
            d = Divergence(i, step.op, step.note, step.expect.describe(), actual,
                           _first_difference(step.expect, observed),
                           _answer_doc(step.expect), _answer_doc(observed), after, observed)
            return FileResult(path, name, False, n, executed, "diverged", d, status="diverged",
                              description=trace.description)
    return FileResult(path, name, True, n, executed, status="passed", description=trace.description)


def _after_attacks(trace: Trace, target: Any, path: str, step: int, observed: Any, explain: bool) -> str:
    """The hostile caller's part in a failure at ``step``: "" when it mutated nothing, or when the
    program fails the same way without the attacks (then they are not what failed it).  Else what
    it mutated, and what the program does without the attacks: it passes, diverges at another
    step, or answers this step otherwise."""
    note_of = getattr(target, "attack_note", None)
    note = note_of() if callable(note_of) else ""
    if not note or not explain:
        return ""
    hostile = target.hostile
    target.hostile = False
    try:
        polite = replay_trace(trace, target, path, explain=False)
    except TargetFailedError:
        return ""
    finally:
        target.hostile = hostile
    if polite.status == "passed":
        return f"{note}; without the attacks this file passes"
    d = polite.divergence
    if d is None:
        return ""
    if d.step != step:
        return f"{note}; without the attacks it diverges at steps[{d.step}] instead"
    if not _same_answer(observed, d.observed):
        return f"{note}; without the attacks steps[{step}] answers {_clip(d.actual, 300)} instead"
    return ""


def _same_answer(a: Any, b: Any) -> bool:
    """Two failing answers of one step are the same failure: crashes of the same exception type
    (a message may hold addresses), refusals with the same code, equal results."""
    if isinstance(a, Crash) and isinstance(b, Crash):
        return a.exception == b.exception
    if isinstance(a, ObservedError) and isinstance(b, ObservedError):
        return a.code == b.code
    return a == b


# --- walking the paths --------------------------------------------------------------------


def _stat_problem(path: str) -> Optional[str]:
    """Why ``path`` cannot be read as a file or directory (None if it can)."""
    try:
        os.stat(path)
        return None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return "unread: a symbolic link loop"
        try:
            if stat.S_ISLNK(os.lstat(path).st_mode):
                return "unread: a dangling symbolic link"
        except OSError:
            pass
        if exc.errno == errno.ENOENT:
            return "unread: no such file or directory"
        return f"unread: {exc.strerror or exc}"


def _kind_problem(mode: int) -> str:
    kind = ("a FIFO" if stat.S_ISFIFO(mode) else "a socket" if stat.S_ISSOCK(mode)
            else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else "not a regular file")
    return f"unread: {kind}, not opened (only regular files are read)"


def collect_files(paths: Iterable[str]) -> tuple[list[str], list[tuple[str, str]], list[str]]:
    """Trace files named by ``paths``, problems ``(path, why)``, and manifests found.

    A directory is walked iteratively (no recursion limit), links to directories are followed
    once per directory (a loop is reported, not followed); each entry named ``*.json`` is a
    trace file, or reported.  A directory argument's own ``manifest.json`` is returned as a
    manifest, not as a trace."""
    files: list[str] = []
    problems: list[tuple[str, str]] = []
    manifests: list[str] = []
    for p in paths:
        problem = _stat_problem(p)
        if problem is not None:
            problems.append((p, problem))
            continue
        st = os.stat(p)
        if stat.S_ISREG(st.st_mode):
            files.append(p)
            continue
        if not stat.S_ISDIR(st.st_mode):
            problems.append((p, _kind_problem(st.st_mode)))
            continue
        found: list[str] = []
        seen = {(st.st_dev, st.st_ino)}
        stack = [p]
        while stack:
            d = stack.pop()
            try:
                with os.scandir(d) as it:
                    entries = sorted(it, key=lambda e: e.name)
            except OSError as exc:
                problems.append((d, f"unread: directory cannot be listed: {exc.strerror or exc}"))
                continue
            for e in entries:
                full = os.path.join(d, e.name)
                is_json = e.name.endswith(".json")
                try:
                    is_dir = e.is_dir(follow_symlinks=True)
                except OSError:
                    is_dir = False
                if is_dir:
                    try:
                        est = os.stat(full)
                    except OSError:
                        problems.append((full, _stat_problem(full) or "unread"))
                        continue
                    key = (est.st_dev, est.st_ino)
                    if key in seen:
                        problems.append((full, "unread: a directory link loop (already walked), not followed"))
                        continue
                    seen.add(key)
                    stack.append(full)
                    continue
                if not is_json:
                    continue
                if d == p and e.name == MANIFEST_NAME:
                    manifests.append(full)
                    continue
                problem = _stat_problem(full)
                if problem is not None:
                    problems.append((full, problem))
                    continue
                mode = os.stat(full).st_mode
                if stat.S_ISREG(mode):
                    found.append(full)
                else:
                    problems.append((full, _kind_problem(mode)))
        if not found and not any(q[0].startswith(p) for q in problems):
            problems.append((p, "unread: a directory without trace files (*.json)"))
        files.extend(sorted(found))
    return files, problems, manifests


# --- running ------------------------------------------------------------------------------


@dataclass
class RunResult:
    results: list[FileResult]
    target: str
    manifest: list[dict] = field(default_factory=list)
    require_full_coverage: bool = False  # ``--require-full-coverage``: a not-covered file fails the run


def _open(selector: str, timeout: float) -> Any:
    from ..target import open_target

    return open_target(selector, timeout=timeout, also=("both",))  # replay's own selector


def run_replay(paths: Sequence[str], selector: str, limits: Optional[ReaderLimits] = None, timeout: Optional[float] = None,
               hostile: bool = False) -> RunResult:
    """Replay every trace under ``paths`` on the target ``selector`` (``both``: spec, then impl).
    ``hostile``: attack what an in-process target returns too (:func:`hostility`).

    Raises TargetSelectorError for a bad selector; a target failure is a ``target_failed``
    result (the rest ``not_run``)."""
    from ..target import DEFAULT_TIMEOUT

    timeout = DEFAULT_TIMEOUT if timeout is None else timeout
    limits = limits_from_env() if limits is None else limits
    selectors = ("spec", "impl") if selector == "both" else (selector,)
    files, problems, manifests = collect_files(paths)
    results = [FileResult(shown(path), "-", False, 0, 0, why, status="unread") for path, why in problems]
    manifest_checks: list[dict] = []
    bad_by_manifest: dict[str, str] = {}
    for m in manifests:
        from .manifest import verify_manifest

        check = verify_manifest(m, [f for f in files if f.startswith(os.path.dirname(m) + os.sep)], limits.max_file_bytes)
        manifest_checks.append(check)
        bad_by_manifest.update(check["problems"])
    traces: list[tuple[str, Optional[Trace], str]] = []
    for f in files:
        if f in bad_by_manifest:
            traces.append((f, None, f"unread: manifest: {bad_by_manifest[f]}"))
            continue
        try:
            traces.append((f, read_trace(f, limits), ""))
        except (TraceFormatError, TraceLimitError) as exc:
            traces.append((f, None, f"unread: [{exc.code}] {shown(exc.message)}"))
    for missing, why in bad_by_manifest.items():
        if missing not in files:
            results.append(FileResult(shown(missing), "-", False, 0, 0, f"unread: manifest: {why}", status="unread"))
    from ..target import ObjectTarget

    for sel in selectors:
        try:
            target = _open(sel, timeout)
        except TargetFailedError as exc:
            # the target failed before its first file (it did not start, or its handshake was
            # refused): the report still lists every file — the first as target_failed with why
            readable = [(f, trace) for f, trace, _ in traces if trace is not None]
            if not readable:
                raise
            if sel == selectors[0]:
                results.extend(FileResult(shown(f), "-", False, 0, 0, problem, status="unread")
                               for f, trace, problem in traces if trace is None)
            for i, (f, trace) in enumerate(readable):
                results.append(FileResult(shown(f), sel, False, len(trace.steps), 0,
                                          f"target failed before the first file: [{exc.code}] {exc.message}",
                                          status="target_failed", stderr_tail=exc.stderr_tail) if i == 0 else
                               FileResult(shown(f), sel, False, len(trace.steps), 0,
                                          "not run: the target failed earlier in this run", status="not_run"))
            continue
        if isinstance(target, ObjectTarget) and not target.hostile:
            target.hostile = hostility(sel, hostile)
        failed = False
        try:
            for f, trace, problem in traces:
                if trace is None:
                    if sel == selectors[0]:
                        results.append(FileResult(shown(f), "-", False, 0, 0, problem, status="unread"))
                    continue
                if failed:
                    results.append(FileResult(shown(f), target.name, False, len(trace.steps), 0,
                                              "not run: the target failed earlier in this run", status="not_run"))
                    continue
                try:
                    results.append(replay_trace(trace, target, shown(f)))
                except TargetFailedError as exc:
                    failed = True
                    step = getattr(exc, "step", None)
                    at = f"{shown(f)} steps[{step}]" if step is not None else shown(f)
                    results.append(FileResult(shown(f), target.name, False, len(trace.steps), step or 0,
                                              f"target failed at {at}: [{exc.code}] {exc.message}",
                                              status="target_failed", stderr_tail=exc.stderr_tail,
                                              description=trace.description))
        finally:
            try:
                target.close()
            except TargetFailedError as exc:  # every file ran; the target failed while shutting down
                results.append(FileResult("-", target.name, False, 0, 0,
                                          f"target failed while closing: [{exc.code}] {exc.message}",
                                          status="target_failed", stderr_tail=exc.stderr_tail))
    return RunResult(results, selector, manifest_checks)


def replay_paths(paths: Sequence[str], targets: Sequence[str], limits: Optional[ReaderLimits] = None) -> list[FileResult]:
    """Replay every trace under ``paths`` on every target selector in ``targets``."""
    out: list[FileResult] = []
    for i, t in enumerate(targets):
        rs = run_replay(paths, t, limits).results
        out.extend(rs if i == 0 else [r for r in rs if r.status != "unread"])
    return out


def _totals(results: Sequence[FileResult]) -> dict:
    counts = {s: sum(r.status == s for r in results) for s in STATUSES}
    return {
        "files": len({r.path for r in results}),
        "runs": len(results),
        **counts,
        "failed": len(results) - counts["passed"] - counts["not_covered"],
        "steps_replayed": sum(r.executed for r in results),
        "steps_not_covered": sum(r.steps for r in results if r.status == "not_covered"),
    }


def exit_code(results: Sequence[FileResult], require_full_coverage: bool = False) -> int:
    """3 target failed > 2 unread input > 1 divergence/vacuous/nothing passed (or, with
    ``require_full_coverage``, a file not covered) > 0."""
    statuses = {r.status for r in results}
    if "target_failed" in statuses:
        return 3
    if "unread" in statuses:
        return 2
    if statuses & {"diverged", "vacuous"} or "passed" not in statuses:
        return 1
    if require_full_coverage and "not_covered" in statuses:
        return 1
    return 0


def verdict(run: "RunResult") -> str:
    """The head of the text report's last line: ``PASS``; ``PASS (partial: N of M files not
    covered)`` when the target declared only part of what the files need; ``FAIL
    (--require-full-coverage: N of M files not covered)`` when that alone failed the run; else
    ``FAIL`` (``runs`` instead of ``files`` when each file ran on several targets: ``both``)."""
    results = run.results
    runs, files = len(results), len({r.path for r in results})
    missing = sum(r.status == "not_covered" for r in results)
    share = f"{missing} of {runs} {'files' if runs == files else 'runs'} not covered"
    if exit_code(results, run.require_full_coverage) == 0:
        return f"PASS (partial: {share})" if missing else "PASS"
    if run.require_full_coverage and missing and exit_code(results) == 0:
        return f"FAIL (--require-full-coverage: {share})"
    return "FAIL"


def report_document(run: RunResult) -> dict:
    """The conformance report (``report_schema_v1.json``)."""
    def divergence(d: Optional[Divergence]) -> Optional[dict]:
        if d is None:
            return None
        return {"step": d.step, "op": d.op, "note": d.note, "first_difference": d.where,
                "expected": {"decoded": d.expected, "value": d.expected_doc},
                "actual": {"decoded": d.actual, "value": d.actual_doc},
                "after_attacks": d.after_attacks}

    code = exit_code(run.results, run.require_full_coverage)
    return {
        "format": REPORT_FORMAT,
        "target": run.target,
        "ok": code == 0,
        "exit_code": code,
        "require_full_coverage": run.require_full_coverage,
        "totals": _totals(run.results),
        "manifests": run.manifest,
        "files": [
            {"path": r.path, "target": r.target, "status": r.status, "steps": r.steps, "executed": r.executed,
             "problem": r.problem, "stderr_tail": r.stderr_tail, "divergence": divergence(r.divergence),
             "description": r.description}
            for r in run.results
        ],
    }


def report_schema() -> dict:
    """The published JSON Schema of the conformance report."""
    from importlib import resources

    text = resources.files("torchlean_runtime.conformance").joinpath("report_schema_v1.json").read_text(encoding="utf-8")
    return json.loads(text)


def main(args: Any = None) -> int:
    """``torchlean-rt replay`` (``args.paths``, ``args.target``, ``args.json``, ``args.timeout``)."""
    from torchlean_runtime.errors import BadEnvironmentError, TargetSelectorError

    if args is None or isinstance(args, (list, tuple)):
        parser = argparse.ArgumentParser(prog="torchlean-rt replay")
        parser.add_argument("paths", nargs="+")
        parser.add_argument("--target", default="both")
        parser.add_argument("--json", action="store_true")
        parser.add_argument("--timeout", type=float, default=None)
        parser.add_argument("--hostile", action="store_true")
        parser.add_argument("--require-full-coverage", action="store_true")
        args = parser.parse_args(args)
    timeout = getattr(args, "timeout", None)
    if timeout is not None and not (timeout > 0 and math.isfinite(timeout)):  # inf would wait forever on a stuck runner
        print_cli_error("TLR_USAGE", "replay: --timeout must be a positive, finite number of seconds")
        return 2
    paths, notes = shipped_paths(args.paths)
    for note in notes:
        print(printable(note), file=sys.stderr)
    try:
        run = run_replay(paths, args.target, timeout=timeout, hostile=getattr(args, "hostile", False))
    except (TargetSelectorError, BadEnvironmentError) as exc:
        print_cli_error(exc.code, f"replay: {exc.message}")
        return 2
    except TargetFailedError as exc:  # the runner failed its handshake
        print_cli_error(exc.code, f"replay: target failed before the first file: {exc.message}")
        for t in exc.stderr_tail.splitlines()[-20:]:
            print(f"  | {printable(t)}", file=sys.stderr)
        return 3
    run.require_full_coverage = bool(getattr(args, "require_full_coverage", False))
    doc = report_document(run)
    try:
        _print(doc, run, args.json)
    except BrokenPipeError:  # `replay … | head`: the reader stopped listening
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    _print_failure_line(run)
    return doc["exit_code"]


_CODE_IN_TEXT = re.compile(r"\[(TLR_[A-Z0-9_]+)\]")


def _print_failure_line(run: RunResult) -> None:
    """Exit 2 (unread input) or 3 (target failed): besides the report on stdout, the command
    line's one stderr line — the first such file, its reason and code, and how many there are."""
    for status, default_code, what in (("target_failed", "TLR_TARGET_FAILED", "target failed"),
                                       ("unread", "TLR_PATH", "input unread")):
        bad = [r for r in run.results if r.status == status]
        if bad:
            first = bad[0]
            found = _CODE_IN_TEXT.search(first.problem)
            reason = _CODE_IN_TEXT.sub("", first.problem).replace("unread: ", "", 1).strip()
            more = f" (and {len(bad) - 1} more; see the report)" if len(bad) > 1 else " (see the report)"
            print_cli_error(found.group(1) if found else default_code, f"replay: {what}: {first.path}: {reason}{more}")
            return


def _print(doc: dict, run: RunResult, as_json: bool) -> None:
    if as_json:
        print(json.dumps(doc, indent=2, ensure_ascii=True))
    else:
        from ..target import which_target

        print(printable(which_target(run.target)))
        for line in _text_lines(run.results):
            print(printable(line))  # names, notes and messages read from the files
        t = doc["totals"]
        print(
            f"{verdict(run)}: {t['files']} files, {t['runs']} runs ({t['passed']} passed, "
            f"{t['diverged']} diverged, {t['not_covered']} not covered, {t['target_failed']} target failed, "
            f"{t['not_run']} not run, {t['unread'] + t['vacuous']} unread or vacuous), {t['steps_replayed']} steps replayed"
        )


#: NOT RUN lines printed per target after a target failure; the rest is one summary line.
NOT_RUN_SHOWN = 3


def _text_lines(results: Sequence[FileResult]) -> Iterable[str]:
    """One line per result, except that after a target failure only the first few ``not_run``
    files of that target are listed and the rest counted: the error is not buried under a line
    per file of a corpus that never ran (``--json`` lists every one)."""
    shown_not_run: dict[str, int] = {}
    hidden: dict[str, int] = {}
    for r in results:
        if r.status == "not_run":
            if shown_not_run.get(r.target, 0) >= NOT_RUN_SHOWN:
                hidden[r.target] = hidden.get(r.target, 0) + 1
                continue
            shown_not_run[r.target] = shown_not_run.get(r.target, 0) + 1
        yield r.line()
    for target, n in hidden.items():
        yield (f"NOT RUN {target} … and {n} more file{'s' if n != 1 else ''} (the target failed earlier in this "
               "run; --json lists each)")


def corpus_dir() -> str:
    """The shipped corpus (package data)."""
    from importlib import resources

    return str(resources.files("torchlean_runtime.conformance.vectors").joinpath("corpus"))


def regressions_dir() -> str:
    """The shipped regression vectors (shrunk fuzz failures, package data; their README says
    which bug each catches)."""
    from importlib import resources

    return str(resources.files("torchlean_runtime.conformance.vectors").joinpath("regressions"))


#: The words ``replay`` takes for the shipped folders (when no path of that name exists here).
SHIPPED = {"corpus": corpus_dir, "regressions": regressions_dir}


def shipped_paths(paths: Sequence[str]) -> tuple[list[str], list[str]]:
    """``replay``'s paths with the words ``corpus`` and ``regressions`` standing for the shipped
    folders — only when no file or directory of that name exists here (a local path wins; even a
    dangling link counts as one) — and a line saying so for each word replaced."""
    out, notes = [], []
    for p in paths:
        if p in SHIPPED and not os.path.lexists(p):
            folder = SHIPPED[p]()
            notes.append(f"replay: no path named {p!r} here: replaying the shipped {p} ({folder})")
            out.append(folder)
        else:
            out.append(p)
    return out, notes
