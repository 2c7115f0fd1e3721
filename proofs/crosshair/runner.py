"""Run CrossHair on the real Python code and turn its report into verdicts.

CrossHair's exit code is not a verdict ("Not confirmed" exits 0, its own crashes exit 1), so
we parse the report lines:

* ``<file>:<line>: info: Confirmed over all paths.``  → that condition is exhaustive
* ``<file>:<line>: info: Not confirmed.``             → searched only (a FAILURE for an
  obligation meant to be exhaustive)
* ``<file>:<line>: error: <message>``                 → a counterexample (or a crash)

``check`` runs ``crosshair check --analysis_kind=icontract --report_all`` on one module-level
function; ``diffbehavior`` runs ``crosshair diffbehavior`` on two functions.
"""

from __future__ import annotations

import re
import subprocess
import sys
from dataclasses import dataclass, field
from typing import Optional

__all__ = ["ConditionReport", "CheckRun", "DiffRun", "check", "diffbehavior", "parse_check_output"]

_LINE = re.compile(r"^(?P<file>.+?):(?P<line>\d+): (?P<level>info|error|warning): (?P<message>.*)$")


@dataclass(frozen=True)
class ConditionReport:
    file: str
    line: int
    level: str
    message: str

    @property
    def confirmed(self) -> bool:
        return self.level == "info" and self.message.startswith("Confirmed over all paths")

    @property
    def counterexample(self) -> bool:
        return self.level == "error"


@dataclass
class CheckRun:
    target: str
    returncode: int
    conditions: list[ConditionReport] = field(default_factory=list)
    unparsed: list[str] = field(default_factory=list)
    timed_out: bool = False

    @property
    def all_confirmed(self) -> bool:
        """True only when CrossHair reported at least one condition and confirmed every one."""
        return (
            not self.timed_out
            and bool(self.conditions)
            and all(c.confirmed for c in self.conditions)
            and not self.unparsed
        )

    def summary(self) -> str:
        confirmed = sum(c.confirmed for c in self.conditions)
        text = f"{confirmed}/{len(self.conditions)} conditions confirmed over all paths"
        bad = [c for c in self.conditions if not c.confirmed]
        if bad:
            text += "; " + "; ".join(f"line {c.line}: {c.level}: {c.message}" for c in bad[:3])
        if self.unparsed:
            text += "; unparsed output: " + " | ".join(self.unparsed[:3])
        if self.timed_out:
            text += "; CrossHair exceeded its wall-clock limit"
        return text


def parse_check_output(target: str, returncode: int, output: str) -> CheckRun:
    run = CheckRun(target=target, returncode=returncode)
    for raw in output.splitlines():
        line = raw.rstrip()
        if not line:
            continue
        m = _LINE.match(line)
        if m:
            run.conditions.append(ConditionReport(m["file"], int(m["line"]), m["level"], m["message"]))
        else:
            run.unparsed.append(line)
    return run


def check(target: str, per_condition_timeout: float, wall_timeout: float, extra: tuple[str, ...] = ()) -> CheckRun:
    """``crosshair check --analysis_kind=icontract --report_all`` on ``target`` (module.function)."""
    cmd = [
        sys.executable, "-m", "crosshair", "check", "--analysis_kind=icontract", "--report_all",
        f"--per_condition_timeout={per_condition_timeout}", *extra, target,
    ]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=wall_timeout)
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout.decode() if isinstance(exc.stdout, bytes) else (exc.stdout or "")
        run = parse_check_output(target, -1, out)
        run.timed_out = True
        return run
    run = parse_check_output(target, proc.returncode, proc.stdout)
    # CrossHair's own crash (traceback on stderr, exit 1 without an `error:` line) is a failure.
    if proc.returncode != 0 and not any(c.counterexample for c in run.conditions):
        run.unparsed.extend(proc.stderr.strip().splitlines()[-3:] or [f"exit status {proc.returncode}"])
    return run


@dataclass
class DiffRun:
    returncode: int
    exhausted: bool
    iterations: Optional[int]
    difference: Optional[str]
    output: str

    @property
    def no_difference(self) -> bool:
        return self.returncode == 0 and self.difference is None and "No differences found" in self.output


def diffbehavior(f1: str, f2: str, per_condition_timeout: float, wall_timeout: float) -> DiffRun:
    """``crosshair diffbehavior f1 f2``: exhausted ⇒ behaviours agree on every path explored to
    the end; otherwise only "no difference in N iterations"."""
    cmd = [sys.executable, "-m", "crosshair", "diffbehavior", f"--per_condition_timeout={per_condition_timeout}", f1, f2]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=wall_timeout)
    except subprocess.TimeoutExpired:
        return DiffRun(-1, False, None, "CrossHair exceeded its wall-clock limit", "")
    out = proc.stdout + proc.stderr
    m = re.search(r"attempted (\d+) iterations", out)
    difference = None if "No differences found" in out else (out.strip() or f"exit status {proc.returncode}")
    return DiffRun(proc.returncode, "All paths exhausted" in out, int(m[1]) if m else None, difference, out)
