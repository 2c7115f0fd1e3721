"""Run CrossHair on the real Python code and turn its report into verdicts.

CrossHair's exit code is not a verdict ("Not confirmed" exits 0, its own crashes exit 1), so
we parse the report lines:

* ``<file>:<line>: info: Confirmed over all paths.``  → that condition is exhaustive
* ``<file>:<line>: info: Not confirmed.``             → searched only (a FAILURE for an
  obligation meant to be exhaustive)
* ``<file>:<line>: error: <message>``                 → a counterexample (or a crash)

``check`` runs ``crosshair check --analysis_kind=icontract --report_all`` on one module-level
function; ``diffbehavior`` runs ``crosshair diffbehavior`` on two functions.

A counterexample is not believed until it is replayed: :func:`parse_call` reads the
``when calling f(…)`` part of an error line (``ast.literal_eval`` on each argument, never
``eval``) and :func:`replay` calls the target concretely, in a fresh process with the same
environment, checking its preconditions and postconditions one by one.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from typing import Any, Mapping, Optional

__all__ = [
    "ConditionReport",
    "CheckRun",
    "DiffRun",
    "Call",
    "Replay",
    "check",
    "diffbehavior",
    "parse_check_output",
    "parse_call",
    "replay",
    "replay_here",
    "replay_diff",
    "replay_diff_here",
]

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

    @property
    def call(self) -> Optional["Call"]:
        """The call CrossHair reports for an error line (``… when calling f(1, 2)``), if any."""
        return parse_call(self.message) if self.counterexample else None


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


def _environment(env: Optional[Mapping[str, str]]) -> Optional[dict[str, str]]:
    """This process's environment plus ``env`` (None: inherit unchanged)."""
    if env is None:
        return None
    merged = dict(os.environ)
    merged.update(env)
    return merged


def check(
    target: str,
    per_condition_timeout: float,
    wall_timeout: float,
    extra: tuple[str, ...] = (),
    env: Optional[Mapping[str, str]] = None,
) -> CheckRun:
    """``crosshair check --analysis_kind=icontract --report_all`` on ``target`` (module.function);
    ``env`` adds environment variables for the CrossHair process (e.g. the bound profile)."""
    cmd = [
        sys.executable, "-m", "crosshair", "check", "--analysis_kind=icontract", "--report_all",
        f"--per_condition_timeout={per_condition_timeout}", *extra, target,
    ]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=wall_timeout, env=_environment(env))
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

    @property
    def differing_inputs(self) -> list[dict]:
        """The keyword arguments of each ``Given: (x=1, y=2),`` line (literals only)."""
        found = []
        for line in self.output.splitlines():
            m = re.match(r"^Given: \((?P<args>.*)\),\s*$", line)
            call = parse_call(f"when calling f({m['args']})") if m else None
            if call is not None and not call.args:
                found.append(call.kwargs)
        return found


def diffbehavior(
    f1: str, f2: str, per_condition_timeout: float, wall_timeout: float, env: Optional[Mapping[str, str]] = None
) -> DiffRun:
    """``crosshair diffbehavior f1 f2``: exhausted ⇒ behaviours agree on every path explored to
    the end; otherwise only "no difference in N iterations"."""
    cmd = [sys.executable, "-m", "crosshair", "diffbehavior", f"--per_condition_timeout={per_condition_timeout}", f1, f2]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=wall_timeout, env=_environment(env))
    except subprocess.TimeoutExpired:
        return DiffRun(-1, False, None, "CrossHair exceeded its wall-clock limit", "")
    out = proc.stdout + proc.stderr
    m = re.search(r"attempted (\d+) iterations", out)
    difference = None if "No differences found" in out else (out.strip() or f"exit status {proc.returncode}")
    return DiffRun(proc.returncode, "All paths exhausted" in out, int(m[1]) if m else None, difference, out)


# --- counterexamples: parse the reported call, replay it concretely --------------------------------

_CALL = re.compile(r"when calling (?P<function>[A-Za-z_][\w.]*)\(")


@dataclass(frozen=True)
class Call:
    """A call CrossHair reported: function name, positional and keyword arguments (literals)."""

    function: str
    args: tuple
    kwargs: dict

    def __str__(self) -> str:
        parts = [repr(a) for a in self.args] + [f"{k}={v!r}" for k, v in self.kwargs.items()]
        return f"{self.function}({', '.join(parts)})"


def parse_call(message: str) -> Optional[Call]:
    """The ``when calling f(…)`` of a CrossHair message (possibly followed by ``(which returns
    …)``), arguments read with ``ast.literal_eval`` (never ``eval``); None if absent or if an
    argument is not a Python literal."""
    m = _CALL.search(message)
    if m is None:
        return None
    text = message[m.start("function"):]
    # The call ends at the first ")" that closes a parsable call (a ")" inside a string literal
    # leaves an unterminated string, which does not parse).
    for end in (i + 1 for i, ch in enumerate(text) if ch == ")"):
        try:
            node = ast.parse(text[:end], mode="eval").body
        except SyntaxError:
            continue
        if not isinstance(node, ast.Call):
            return None
        try:
            args = tuple(ast.literal_eval(a) for a in node.args)
            kwargs = {kw.arg: ast.literal_eval(kw.value) for kw in node.keywords if kw.arg is not None}
        except ValueError:
            return None
        if len(kwargs) != len(node.keywords):
            return None
        return Call(ast.unparse(node.func), args, kwargs)
    return None


@dataclass(frozen=True)
class Replay:
    """What calling a reported counterexample concretely did.

    ``reproduced``: the call satisfied every precondition and then failed (a postcondition was
    false, or the function raised) — a real counterexample.  ``in_domain`` False: it violates a
    precondition, so it lies outside the stated bounds (CrossHair should not have produced it)."""

    reproduced: bool
    in_domain: bool
    detail: str

    def to_json(self) -> str:
        return json.dumps({"reproduced": self.reproduced, "in_domain": self.in_domain, "detail": self.detail})


def _contracts(fn: Any, attribute: str) -> list:
    found = getattr(fn, attribute, None) or []
    return [c for group in found for c in (group if isinstance(group, list) else [group])]


def replay_here(target: str, call: Call) -> Replay:
    """Replay ``call`` of ``target`` (``module.function``) in THIS process: evaluate each
    precondition, run the function body, evaluate each postcondition — every one concretely."""
    function = target.rpartition(".")[2]
    if call.function.rpartition(".")[2] != function:
        return Replay(False, False, f"the reported call is to {call.function}, not {function}")
    fn = _function(target)

    bound = inspect.signature(fn).bind(*call.args, **call.kwargs)
    bound.apply_defaults()
    arguments = dict(bound.arguments)
    for contract in _contracts(fn, "__preconditions__"):
        if not contract.condition(**{a: arguments[a] for a in contract.condition_args}):
            return Replay(False, False, f"{call} violates a precondition ({contract.description or 'bounds'})")
    body = getattr(fn, "__wrapped__", fn)
    try:
        result = body(*bound.args, **bound.kwargs)
    except Exception as exc:  # the counterexample may be an exception: that is a real failure
        return Replay(True, True, f"{call} raised {type(exc).__name__}: {exc}")
    failed = []
    for contract in _contracts(fn, "__postconditions__"):
        values = {a: (result if a == "result" else arguments[a]) for a in contract.condition_args}
        if not contract.condition(**values):
            failed.append(contract.description or "postcondition")
    if failed:
        return Replay(True, True, f"{call}: postcondition false: {'; '.join(failed)}; result {result!r}"[:2000])
    return Replay(False, True, f"{call}: every precondition and postcondition holds concretely")


def replay(target: str, call: Call, env: Optional[Mapping[str, str]] = None, timeout: float = 120.0) -> Replay:
    """:func:`replay_here` in a fresh process with the environment CrossHair ran with."""
    return _replay_in_subprocess(["replay", target, str(call)], str(call), env, timeout)


def _function(target: str) -> Any:
    module_name, _, function = target.rpartition(".")
    return getattr(importlib.import_module(module_name), function)


def replay_diff_here(f1: str, f2: str, kwargs: dict) -> Replay:
    """Call both functions of a diffbehavior pair concretely on one reported input; a real
    difference when their results (or raised exception types) differ."""
    results = []
    for target in (f1, f2):
        try:
            results.append(("value", _function(target)(**kwargs)))
        except Exception as exc:  # an exception is behaviour too
            results.append(("raised", type(exc).__name__))
    call = ", ".join(f"{k}={v!r}" for k, v in kwargs.items())
    if results[0] != results[1]:
        return Replay(True, True, f"({call}): {results[0]!r} vs {results[1]!r}"[:2000])
    return Replay(False, True, f"({call}): both give {results[0]!r}"[:2000])


def replay_diff(f1: str, f2: str, kwargs: dict, env: Optional[Mapping[str, str]] = None, timeout: float = 120.0) -> Replay:
    """:func:`replay_diff_here` in a fresh process with the environment CrossHair ran with."""
    call = "f(" + ", ".join(f"{k}={v!r}" for k, v in kwargs.items()) + ")"
    return _replay_in_subprocess(["replay-diff", f1, f2, call], call, env, timeout)


def _replay_in_subprocess(args: list[str], call: str, env: Optional[Mapping[str, str]], timeout: float) -> Replay:
    cmd = [sys.executable, "-m", "torchlean_runtime.proofs.crosshair.runner", *args]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=_environment(env))
    except subprocess.TimeoutExpired:
        return Replay(False, True, f"replaying {call} exceeded {timeout:.0f}s")
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        return Replay(False, True, f"replaying {call} crashed: " + " | ".join(proc.stderr.strip().splitlines()[-3:]))
    data = json.loads(lines[-1])
    return Replay(data["reproduced"], data["in_domain"], data["detail"])


def _main(argv: list[str]) -> int:
    if len(argv) == 3 and argv[0] == "replay":
        call = parse_call(f"when calling {argv[2]}")
        if call is None:
            print(Replay(False, False, f"cannot parse the call {argv[2]!r}").to_json())
            return 0
        print(replay_here(argv[1], call).to_json())
        return 0
    if len(argv) == 4 and argv[0] == "replay-diff":
        call = parse_call(f"when calling {argv[3]}")
        if call is None or call.args:
            print(Replay(False, False, f"cannot parse the input {argv[3]!r}").to_json())
            return 0
        print(replay_diff_here(argv[1], argv[2], call.kwargs).to_json())
        return 0
    print("usage: python -m torchlean_runtime.proofs.crosshair.runner replay MODULE.FUNCTION 'f(1, 2)'\n"
          "       python -m torchlean_runtime.proofs.crosshair.runner replay-diff MODULE.F1 MODULE.F2 'f(x=1)'",
          file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
