"""``torchlean-rt replay FILE_OR_DIR... [--target spec|impl|both] [--json]`` — run traces, compare.

Each file is read by the hardened reader, then executed step by step on each target; the first
step whose observed result differs from the expected one (bitwise; or the wrong error code; or
a crash) fails the file and is reported with the expected and the actual value, decoded and as
bit patterns.  Replaying on ``spec`` checks the corpus's self-consistency (its expectations were
computed by the spec); replaying on ``impl`` is the conformance check.

Vacuity guard — a replay that checked nothing must not pass:

* a path that does not exist, a directory without ``*.json`` files, or a file the reader
  rejects is a failure (never skipped);
* a file with no steps is a failure;
* a file passes only if every one of its steps was executed and compared.

The exit status is non-zero on any failure.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Iterable, Optional, Sequence

from torchlean_runtime.errors import TraceFormatError, TraceLimitError
from torchlean_runtime.report import Obligation, Outcome

from .bits import TensorBits, describe_element
from .execute import ImplUnavailable, Session, adapter_for, matches
from .format import ContextState, Result, Trace, VariableState
from .reader import ReaderLimits, read_trace

__all__ = [
    "Divergence",
    "FileResult",
    "replay_trace",
    "collect_files",
    "replay_paths",
    "corpus_dir",
    "main",
    "obligations",
]

TARGET_CHOICES = {"spec": ("spec",), "impl": ("impl",), "both": ("spec", "impl")}


@dataclass
class Divergence:
    """The first step whose observation differs from its expectation."""

    step: int
    op: str
    note: str
    expected: str
    actual: str
    where: str  # the first differing component (for contexts/variables), else ""


@dataclass
class FileResult:
    path: str
    target: str
    passed: bool
    steps: int  # steps in the file
    executed: int  # steps executed and compared
    problem: str = ""  # why the file failed without a diverging step (unreadable, vacuous, …)
    divergence: Optional[Divergence] = None

    def line(self) -> str:
        head = f"{'PASS' if self.passed else 'FAIL'} {self.target:<4} {self.path}"
        if self.passed:
            return f"{head}  ({self.executed}/{self.steps} steps)"
        if self.divergence is None:
            return f"{head}  {self.problem}"
        d = self.divergence
        lines = [f"{head}  step {d.step} ({d.op}){' — ' + d.note if d.note else ''}"]
        if d.where:
            lines.append(f"      first difference: {d.where}")
        lines.append(f"      expected: {_clip(d.expected)}")
        lines.append(f"      actual:   {_clip(d.actual)}")
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


def _first_difference(expected: Any, actual: Any) -> str:
    """Point at the first differing component of two results of the same kind."""
    if not (isinstance(expected, Result) and isinstance(actual, Result) and expected.kind == actual.kind):
        return ""
    e, a = expected.value, actual.value
    if isinstance(e, TensorBits) and isinstance(a, TensorBits):
        return _tensor_difference(e, a)
    if isinstance(e, ContextState):
        for field in ("var_registry", "gradients"):
            er, ar = getattr(e, field), getattr(a, field)
            if len(er) != len(ar):
                return f"{field} has {len(ar)} entries, expected {len(er)}"
            for i, ((en, et), (an, at)) in enumerate(zip(er, ar)):
                if en != an:
                    return f"{field}[{i}] is named {an!r}, expected {en!r}"
                if et != at:
                    return f"{field}[{i}] ({en!r}): {_tensor_difference(et, at)}"
        if e.next_id != a.next_id:
            return f"next_id is {a.next_id}, expected {e.next_id}"
    if isinstance(e, VariableState):
        for field in ("id", "name", "value", "gradient", "requires_grad"):
            ev, av = getattr(e, field), getattr(a, field)
            if ev != av:
                if isinstance(ev, TensorBits) and isinstance(av, TensorBits):
                    return f"{field}: {_tensor_difference(ev, av)}"
                show = (lambda x: x.describe() if hasattr(x, "describe") else repr(x))
                return f"{field} is {show(av)}, expected {show(ev)}"
    return ""


def replay_trace(trace: Trace, target: str, path: str = "<trace>") -> FileResult:
    """Execute ``trace`` on ``target`` and compare every step (stop at the first divergence)."""
    n = len(trace.steps)
    if n == 0:
        return FileResult(path, target, False, 0, 0, "vacuous: the file has no steps")
    try:
        session = Session(adapter_for(target, trace.scalar_type))
    except ImplUnavailable as exc:
        return FileResult(path, target, False, n, 0, f"target unavailable: {exc}")
    executed = 0
    for i, step in enumerate(trace.steps):
        observed = session.execute(step)
        executed += 1
        assert step.expect is not None  # the reader never yields a step without one
        if not matches(step.expect, observed):
            d = Divergence(i, step.op, step.note, step.expect.describe(), observed.describe(), _first_difference(step.expect, observed))
            return FileResult(path, target, False, n, executed, "diverged", d)
    if executed != n:  # cannot happen with the loop above; the guard states the contract
        return FileResult(path, target, False, n, executed, f"vacuity: {n - executed} steps skipped")
    return FileResult(path, target, True, n, executed)


def collect_files(paths: Iterable[str]) -> tuple[list[str], list[tuple[str, str]]]:
    """Trace files named by ``paths`` (directories walked recursively for ``*.json``, sorted),
    and the problems (missing paths, directories without traces)."""
    files: list[str] = []
    problems: list[tuple[str, str]] = []
    for p in paths:
        path = Path(p)
        if path.is_dir():
            found = sorted(str(f) for f in path.rglob("*.json") if f.is_file())
            if not found:
                problems.append((p, "unread: a directory without trace files (*.json)"))
            files.extend(found)
        elif path.exists():
            files.append(str(path))
        else:
            problems.append((p, "unread: no such file or directory"))
    return files, problems


def replay_paths(paths: Sequence[str], targets: Sequence[str], limits: Optional[ReaderLimits] = None) -> list[FileResult]:
    """Replay every trace under ``paths`` on every target; a problem path is a failed result."""
    files, problems = collect_files(paths)
    results = [FileResult(path, "-", False, 0, 0, problem) for path, problem in problems]
    for f in files:
        try:
            trace = read_trace(f, limits)
        except (TraceFormatError, TraceLimitError) as exc:
            results.append(FileResult(f, "-", False, 0, 0, f"unread: {exc}"))
            continue
        for target in targets:
            results.append(replay_trace(trace, target, f))
    return results


def _summary(results: Sequence[FileResult]) -> dict:
    failed = [r for r in results if not r.passed]
    return {
        "ok": bool(results) and not failed,
        "files": len({r.path for r in results}),
        "runs": len(results),
        "passed": len(results) - len(failed),
        "failed": len(failed),
        "steps_replayed": sum(r.executed for r in results),
    }


def main(args: Any = None) -> int:
    """``torchlean-rt replay`` (``args.paths``, ``args.target``, ``args.json``)."""
    if args is None or isinstance(args, (list, tuple)):
        parser = argparse.ArgumentParser(prog="torchlean-rt replay")
        parser.add_argument("paths", nargs="+")
        parser.add_argument("--target", choices=sorted(TARGET_CHOICES), default="both")
        parser.add_argument("--json", action="store_true")
        args = parser.parse_args(args)
    results = replay_paths(args.paths, TARGET_CHOICES[args.target])
    summary = _summary(results)
    if args.json:
        print(json.dumps({**summary, "target": args.target, "results": [asdict(r) for r in results]}, indent=2))
    else:
        for r in results:
            print(r.line())
        print(
            f"{'PASS' if summary['ok'] else 'FAIL'}: {summary['files']} files, {summary['runs']} runs "
            f"({summary['passed']} passed, {summary['failed']} failed), {summary['steps_replayed']} steps replayed"
        )
    return 0 if summary["ok"] else 1


# --- the verify provider ------------------------------------------------------------------


def corpus_dir() -> str:
    """The shipped corpus (package data)."""
    from importlib import resources

    return str(resources.files("torchlean_runtime.conformance.vectors").joinpath("corpus"))


def check_corpus_replay(target: str) -> Outcome:
    results = replay_paths([corpus_dir()], (target,))
    s = _summary(results)
    if not s["ok"]:
        first = next(r for r in results if not r.passed)
        return Outcome(False, f"{s['failed']}/{s['runs']} files failed; first: {first.line().splitlines()[0]}")
    return Outcome(True, f"{s['steps_replayed']} steps in {s['files']} files replayed on {target}, all bit-exact")


def check_corpus_regenerates() -> Outcome:
    """Regenerate the corpus into a temporary directory; every byte must equal the shipped one."""
    import filecmp
    import tempfile

    from .generate import generate

    shipped = Path(corpus_dir())
    with tempfile.TemporaryDirectory() as tmp:
        cov = generate(tmp)
        fresh = Path(tmp)
        names = sorted(str(p.relative_to(fresh)) for p in fresh.rglob("*") if p.is_file())
        shipped_names = sorted(str(p.relative_to(shipped)) for p in shipped.rglob("*") if p.is_file())
        if names != shipped_names:
            extra, missing = set(shipped_names) - set(names), set(names) - set(shipped_names)
            return Outcome(False, f"file sets differ: stale {sorted(extra)[:5]}, missing {sorted(missing)[:5]}")
        _, mismatch, errors = filecmp.cmpfiles(fresh, shipped, names, shallow=False)
        if mismatch or errors:
            return Outcome(False, f"{len(mismatch) + len(errors)} files differ, e.g. {(mismatch + errors)[0]}")
    if cov.uncovered:
        return Outcome(False, "uncovered: " + ", ".join(cov.uncovered))
    return Outcome(True, f"{len(names)} files byte-identical; {len(cov.direct)} operations, every declaration and trap covered")


def obligations(quick: bool) -> list[Obligation]:
    from .fuzz_reader import run_reader_fuzz

    return [
        Obligation(
            name="vectors: corpus replays on spec",
            method="replay",
            label="examples",
            claim="every step of the shipped torchlean.runtime.v1 corpus gives its expected result on the spec, "
            "bit for bit (a self-consistency/determinism check: the expectations were computed by the spec)",
            run=check_corpus_replay,
            args=("spec",),
        ),
        Obligation(
            name="vectors: corpus replays on impl",
            method="replay",
            label="examples",
            claim="every step of the shipped corpus gives the spec's expected result on the numpy impl, bit for bit "
            "(values, error codes, whole context/variable states)",
            run=check_corpus_replay,
            args=("impl",),
        ),
        Obligation(
            name="vectors: corpus is regenerated byte-identically and covers every declaration and trap",
            method="generate",
            label="checked",
            claim="vectors generate writes exactly the shipped files, byte for byte, and every Lean declaration of "
            "both modules and every listed trap has at least one step/file",
            run=check_corpus_regenerates,
        ),
        Obligation(
            name="vectors: hostile trace files are rejected cleanly",
            method="hypothesis",
            label="sampled",
            claim="random and mutated documents given to the trace reader raise only TraceFormatError/"
            "TraceLimitError (or decode), each within the time bound; accepted ones replay on the spec without a crash",
            run=run_reader_fuzz,
            args=(1 if quick else 8,),  # batches of 200 documents: a count, never a time
            parallel=True,
        ),
    ]
