"""``torchlean-rt verify --mutants``: run the project's impl-facing checks against every mutant.

Rows are mutants (``catalogue.MUTANTS``), preceded by the sanity row ``(none)`` — the unmutated
impl, on which every method must pass, or its kills would mean nothing.  Columns are methods,
each run in a fresh Python process with the mutant applied before anything is checked:

===================  =====================================================================
``pytest``           ``pytest tests/impl`` with the plugin ``pytest_plugin.py`` (``-x``) — a bonus
                     column, present only where the source tree is (not from a wheel), and left
                     out of quick runs
``agreement``        the sampled spec-vs-impl agreement obligations (proofs/differential/agreement.py)
``corpus``           corpus alone: the shipped torchlean.runtime.v1 vectors replayed on the mutated
                     side (the impl for impl mutants, the spec for spec mutants)
``lean-examples``    the hand-written Lean-derived cases (proofs/conformance.py) — spec mutants only
``machine``          the stateful differential machine (fixed rounds and seed, not shrunk) and its
                     regression vectors
``value-semantics``  the hostile-caller programs (proofs/value_semantics.py)
``optimized``        the impl-driving methods again under ``python -O`` (proofs/checking_modes.py)
``crosshair``        the CrossHair obligations; CrossHair starts its own Python processes, so the
                     mutant reaches them through a ``sitecustomize`` put first on ``PYTHONPATH``
``z3-index``         the cross-check of the Z3 index model against the real registry (proofs/z3)
===================  =====================================================================

Spec mutants (a wrong oracle) are run only by the columns whose expectations come from Lean
(``corpus``, ``lean-examples``): agreement between a wrong spec and the impl proves nothing
about the oracle.

Cells: ``killed`` (the method failed with the mutant applied), ``survived`` (it passed),
``error`` (it could not run: import error, crash, timeout, unknown mutant target — never
counted as a kill; also every cell of a method that fails on the sanity row), ``-`` (not run:
a quick run's subset, stated in the output).  The exit status is non-zero when a mutant survives
every method, any cell is an error, or the sanity row does not pass everywhere.
"""

from __future__ import annotations

import fnmatch
import importlib.util
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Optional, Sequence, TextIO

from torchlean_runtime.impl.contracts import CHECK_ENV_VAR

from .catalogue import ENV_VAR, MUTANTS, Mutant, write_sitecustomize
from .runner import RESULT_PREFIX

__all__ = ["Method", "METHODS", "Cell", "Matrix", "mentions", "available_methods", "run_pytest", "run_provider",
           "run_matrix", "main"]

PLUGIN = "torchlean_runtime.proofs.mutants.pytest_plugin"
SANITY = "(none)"


@dataclass(frozen=True)
class Method:
    key: str
    title: str
    modules: tuple[str, ...] = ()  # provider module, first listed one wins (none: pytest on tests/impl)
    module_prefix: Optional[str] = None  # or any provider listed under this package
    select: tuple[str, ...] = ()  # obligation names to run (empty: all of them)
    listed_only: bool = True  # available only when listed in proofs/providers.py
    spawns_python: bool = False
    slow: bool = False  # started first, so the matrix does not wait on a long tail
    rows: Optional[Callable[[Mutant], bool]] = None  # only these mutants (the others cannot be reached)
    quick_rows: Optional[Callable[[Mutant], bool]] = None  # quick runs: only these mutants
    kill_provider: Optional[str] = None  # run this provider instead of the listed one
    relevant: Optional[Callable[[Mutant, Any, bool], bool]] = None  # run (mutant, obligation, quick)?
    note: str = ""  # how the method is run here, when that differs from verify
    quick_note: str = ""


def mentions(text: str, operations: Sequence[str]) -> bool:
    """``text`` names one of ``operations`` as a whole word (``get_gradient``, ``Variable.error``)."""
    return any(re.search(r"(?<![\w.])" + re.escape(op) + r"(?!\w)", text) for op in operations)


def _crosshair_relevant(mutant: Mutant, ob: Any, quick: bool) -> bool:
    """An exhaustive CrossHair obligation whose claim names an operation the mutant changes
    (in quick runs ``crosshair check`` only: the diffbehavior pairs are the slowest)."""
    return (ob.label == "exhaustive" and mentions(ob.claim, mutant.touches)
            and (ob.method == "crosshair" or not quick))


def _corpus_side(mutant: Mutant, ob: Any, quick: bool) -> bool:
    """The corpus replayed on the mutated side — the impl in both checking modes (as users run it)."""
    if mutant.is_spec:
        return ob.name == "vectors: corpus replays on spec"
    return ob.name in ("vectors: corpus replays on impl", "vectors: corpus replays on impl under python -O")


def _impl(m: Mutant) -> bool:
    """Impl mutants: the spec is right, so every spec-vs-impl method may kill them."""
    return not m.is_spec


def _spec(m: Mutant) -> bool:
    """Spec mutants (a wrong oracle): only Lean-derived evidence may count as killing them."""
    return m.is_spec


METHODS: tuple[Method, ...] = (
    Method("pytest", "pytest tests/impl (mutant applied by the -p plugin; only where the source tree is present)",
           slow=True, rows=_impl, quick_rows=lambda m: False,
           quick_note="quick run: not run (a bonus column, about 35 s per mutant; verify's own methods must kill "
                      "every mutant by themselves)"),
    Method("agreement", "spec-vs-impl agreement on random sequences (sampled)",
           modules=("torchlean_runtime.proofs.differential.agreement",), rows=_impl),
    Method("corpus", "corpus alone: the shipped torchlean.runtime.v1 vectors replayed on the spec and on the impl "
                     "(contracts on, and under python -O); must kill every mutant a trace can express",
           modules=("torchlean_runtime.proofs.vectors_obligations",), relevant=_corpus_side, spawns_python=True,
           note="the corpus replayed on the mutated side: on the spec for spec mutants, on the impl for the others"),
    Method("lean-examples", "the hand-written Lean-derived conformance cases, run on the spec",
           modules=("torchlean_runtime.proofs.conformance",), rows=_spec,
           note="spec mutants only (it runs the spec alone, so no impl mutant can reach it)"),
    # the machine (differential/machine.py) is run by the fuzz provider: a campaign of a fixed
    # number of rounds plus the replay of its kept regression vectors
    Method("machine", "stateful differential machine (fuzz campaign + its regression vectors)",
           modules=("torchlean_runtime.proofs.differential.fuzz", "torchlean_runtime.proofs.differential.machine"),
           slow=True, kill_provider="torchlean_runtime.proofs.mutants.kill_matrix:machine_obligations", rows=_impl,
           note="the fuzz provider's campaign (its round count and seed) without shrinking: a verdict needs no "
                "minimal program, and shrinking took minutes per kill"),
    Method("value-semantics", "hostile caller: every input mutated, every route tried on every answer",
           modules=("torchlean_runtime.proofs.value_semantics",), rows=_impl),
    Method("optimized", "the impl-driving methods again under python -O (plain paths, no preconditions)",
           modules=("torchlean_runtime.proofs.checking_modes",), slow=True, rows=_impl,
           quick_rows=lambda m: m.layer == "shortcut",
           quick_note="quick run: only the shortcut mutants (early returns, fast paths), the kind only -O can "
                      "reveal; every impl mutant in a full run"),
    Method("crosshair", "CrossHair obligations", module_prefix="torchlean_runtime.proofs.crosshair",
           spawns_python=True, slow=True, relevant=_crosshair_relevant, rows=_impl,
           note="each mutant against the exhaustive obligations whose claim names an operation it changes "
                "(Mutant.touches; '-' where none does); the sanity row runs every obligation some row runs",
           quick_rows=lambda m: m.symbolic,
           quick_note="quick run: only the mutants of the pure-Python bookkeeping layer (registry, context), the "
                      "layer CrossHair explores symbolically, and only `crosshair check` obligations (no diffbehavior)"),
    Method("z3-index", "Z3 index model cross-checked against impl/registry.py",
           modules=("torchlean_runtime.proofs.z3.obligations",), select=("z3.index-model.matches-impl",),
           listed_only=False, rows=lambda m: m.layer == "registry",
           note="only the registry-layer mutants: the cross-check drives impl/registry.py alone, so it cannot reach "
                "the others"),
)


@dataclass
class Cell:
    status: str  # passed | failed | error | skipped
    detail: str = ""
    seconds: float = 0.0


@dataclass
class Matrix:
    methods: list[str]
    rows: list[str]
    cells: dict[str, dict[str, Cell]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    # -- verdicts -----------------------------------------------------------------------------

    def broken_methods(self) -> list[str]:
        """Methods that do not pass on the unmutated impl."""
        return [m for m in self.methods if self.cells[SANITY][m].status not in ("passed", "skipped")]

    def label(self, row: str, method: str) -> str:
        c = self.cells[row][method]
        if row == SANITY:
            return {"passed": "pass", "failed": "FAIL", "error": "error", "skipped": "-"}[c.status]
        if c.status == "skipped":
            return "-"
        if method in self.broken_methods() or c.status == "error":
            return "error"
        return "killed" if c.status == "failed" else "survived"

    def killers(self, row: str) -> list[str]:
        return [m for m in self.methods if self.label(row, m) == "killed"]

    def mutant_rows(self) -> list[str]:
        return [r for r in self.rows if r != SANITY]

    def columns_ran(self) -> list[str]:
        """Methods that ran on at least one row (the others are shown as '-' throughout)."""
        return [m for m in self.methods if any(self.cells[r][m].status != "skipped" for r in self.rows)]

    def survivors(self) -> list[str]:
        return [r for r in self.mutant_rows() if not self.killers(r)]

    def errors(self) -> list[tuple[str, str]]:
        return [(r, m) for r in self.rows for m in self.methods if self.label(r, m) == "error"]

    def corpus_misses(self) -> list[str]:
        """Rows the corpus column ran on and did not kill, whose bug a trace can express: the corpus
        is all an outside implementation gets, so it must catch each of these by itself."""
        from .catalogue import BY_NAME  # noqa: PLC0415

        if "corpus" not in self.methods:
            return []
        return [r for r in self.mutant_rows() if self.label(r, "corpus") == "survived"
                and not (r in BY_NAME and BY_NAME[r].beyond_traces)]

    @property
    def ok(self) -> bool:
        return (bool(self.methods) and not self.survivors() and not self.errors() and not self.broken_methods()
                and not self.corpus_misses())

    # -- rendering ----------------------------------------------------------------------------

    def table(self) -> str:
        head = ["mutant", *self.methods, "caught by"]
        body = []
        for r in self.rows:
            caught = "" if r == SANITY else str(len(self.killers(r)))
            body.append([r, *(self.label(r, m) for m in self.methods), caught])
        widths = [max(len(x[i]) for x in [head, *body]) for i in range(len(head))]
        fmt = "  ".join("{:<%d}" % w for w in widths)
        lines = [fmt.format(*head), fmt.format(*("-" * w for w in widths))]
        lines += [fmt.format(*row) for row in body]
        return "\n".join(lines)

    def evidence(self, clip: int = 150) -> str:
        """Per mutant: the first method that killed it and what failed."""
        lines = []
        for r in self.mutant_rows():
            ks = self.killers(r)
            if ks:
                detail = " ".join(self.cells[r][ks[0]].detail.split())
                lines.append(f"  {r}: {ks[0]}: {detail[:clip]}")
            else:
                lines.append(f"  {r}: SURVIVED every method")
        for r, m in self.errors():
            detail = " ".join(self.cells[r][m].detail.split())
            lines.append(f"  error {r} × {m}: {detail[:clip]}")
        return "\n".join(lines)

    def summary(self) -> str:
        n = len(self.mutant_rows())
        killed = n - len(self.survivors())
        per_method = ", ".join(
            f"{m} {sum(self.label(r, m) == 'killed' for r in self.mutant_rows())}"
            f"/{sum(self.label(r, m) != '-' for r in self.mutant_rows())}"
            for m in self.columns_ran()
        )
        only_one = [f"{r} ({self.killers(r)[0]})" for r in self.mutant_rows() if len(self.killers(r)) == 1]
        parts = [f"{'PASS' if self.ok else 'FAIL'}: {killed}/{n} mutants killed by at least one method",
                 "columns that ran: " + (", ".join(self.columns_ran()) or "none"),
                 f"kills per method (killed/run): {per_method}",
                 "killed by one method only: " + (", ".join(only_one) or "none")]
        if self.broken_methods():
            parts.append("methods failing WITHOUT a mutant (their kills mean nothing): " + ", ".join(self.broken_methods()))
        if self.survivors():
            parts.append("survivors: " + ", ".join(self.survivors()))
        if self.corpus_misses():
            parts.append("the corpus alone misses (it must catch every bug a trace can express): "
                         + ", ".join(self.corpus_misses()))
        if self.errors():
            parts.append(f"{len(self.errors())} error cell(s)")
        return "\n".join(parts)

    def to_json(self) -> str:
        return json.dumps(
            {
                "ok": self.ok,
                "methods": self.methods,
                "notes": self.notes,
                "survivors": self.survivors(),
                "corpus_misses": self.corpus_misses(),
                "columns_ran": self.columns_ran(),
                "broken_methods": self.broken_methods(),
                "rows": [
                    {
                        "mutant": r,
                        "caught_by": [] if r == SANITY else self.killers(r),
                        "cells": {m: {"result": self.label(r, m), **asdict(self.cells[r][m])} for m in self.methods},
                    }
                    for r in self.rows
                ],
            },
            indent=2,
        )


# --- the methods -----------------------------------------------------------------------------------


def repo_root() -> Path:
    import torchlean_runtime

    return Path(torchlean_runtime.__file__).resolve().parent.parent


def _provider_ref(method: Method) -> tuple[Optional[str], str]:
    """The provider to run for ``method`` and a note (why it is unavailable, or how it was found)."""
    from torchlean_runtime.proofs.providers import PROVIDERS

    for ref in PROVIDERS:
        module = ref.partition(":")[0]
        if module in method.modules or (method.module_prefix and module.startswith(method.module_prefix + ".")):
            return ref, ""
    for module in () if method.listed_only else method.modules:
        try:
            found = importlib.util.find_spec(module) is not None
        except ImportError:
            found = False
        if found:
            return f"{module}:obligations", f"{method.key}: {module} is not in proofs/providers.py; run from its module"
    where = " / ".join(method.modules) or method.module_prefix + ".*"
    return None, f"{method.key}: not available ({where} is not listed in proofs/providers.py) — column left out"


def available_methods() -> tuple[list[tuple[Method, Optional[str]]], list[str]]:
    """(method, provider ref) for every method that can run here, and notes on the others."""
    out, notes = [], []
    for method in METHODS:
        if not method.modules and method.module_prefix is None:
            if (repo_root() / "tests" / "impl").is_dir():
                out.append((method, None))
            else:
                notes.append(f"{method.key}: not available (no tests/impl next to the package) — column left out")
            continue
        ref, note = _provider_ref(method)
        if note:
            notes.append(note)
        if ref is not None:
            out.append((method, ref))
    return out, notes


def _env(mutant: Optional[str], site_dir: Optional[str]) -> dict[str, str]:
    env = dict(os.environ)
    env.pop(CHECK_ENV_VAR, None)  # mutant runs use the impl's default mode (no refinement postconditions)
    if mutant:
        env[ENV_VAR] = mutant
    else:
        env.pop(ENV_VAR, None)
    if site_dir:
        env["PYTHONPATH"] = os.pathsep.join(p for p in (site_dir, env.get("PYTHONPATH", "")) if p)
    return env


def _tail(text: str, n: int = 3) -> str:
    lines = [ln for ln in text.strip().splitlines() if ln.strip()]
    return " | ".join(lines[-n:])


def run_pytest(mutant: Optional[str], timeout: float, targets: Sequence[str] = ("tests/impl",)) -> Cell:
    """pytest on ``targets`` in a fresh process (``-P``: the repo root is not put on sys.path,
    so everything is imported as ``torchlean_runtime.*``, as in the project's own runs)."""
    cmd = [sys.executable, "-P", "-m", "pytest", "-p", PLUGIN, "-x", "-q", "-rf", *targets]
    start = time.perf_counter()
    try:
        env = dict(_env(mutant, None), COLUMNS="250")  # -rf lines are clipped to the terminal width
        proc = subprocess.run(cmd, cwd=repo_root(), env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return Cell("error", f"pytest timed out after {timeout:.0f}s", time.perf_counter() - start)
    seconds = time.perf_counter() - start
    if proc.returncode == 0:
        return Cell("passed", _tail(proc.stdout, 1), seconds)
    if proc.returncode == 1:  # tests ran and some failed
        failed = [ln[len("FAILED "):] for ln in proc.stdout.splitlines() if ln.startswith("FAILED ")]
        return Cell("failed", failed[0] if failed else _tail(proc.stdout), seconds)
    # 2 interrupted (collection errors), 3 internal error (e.g. the mutant did not apply),
    # 4 usage error, 5 no tests collected: the method did not run
    return Cell("error", f"pytest exit status {proc.returncode}: {_tail(proc.stdout + proc.stderr)}", seconds)


def run_provider(ref: str, select: Sequence[str], mutant: Optional[str], quick: bool, timeout: float,
                 site_dir: Optional[str]) -> Cell:
    cmd = [sys.executable, "-P", "-m", "torchlean_runtime.proofs.mutants.runner", ref, "quick" if quick else "full",
           *select]
    start = time.perf_counter()
    try:
        proc = subprocess.run(cmd, env=_env(mutant, site_dir), capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return Cell("error", f"timed out after {timeout:.0f}s", time.perf_counter() - start)
    seconds = time.perf_counter() - start
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith(RESULT_PREFIX)]
    if proc.returncode != 0 or not lines:
        return Cell("error", f"the runner crashed (exit status {proc.returncode}): {_tail(proc.stderr or proc.stdout)}",
                    seconds)
    result = json.loads(lines[-1][len(RESULT_PREFIX):])
    if result.get("status") in ("passed", "failed") and result.get("mutant") != mutant:
        return Cell("error", f"the runner applied {result.get('mutant')!r}, not {mutant!r}", seconds)
    return Cell(result["status"], result.get("detail", ""), seconds)


def machine_obligations(quick: bool) -> list:
    """The fuzz provider's obligations, its campaign run WITHOUT shrinking (same budget and seed).
    A divergence is a kill either way; shrinking it to a minimal program can take minutes."""
    from torchlean_runtime.proofs.differential import fuzz

    out = []
    for ob in fuzz.obligations(quick):
        if ob.run is fuzz.check_fuzz_budget:
            ob = replace(ob, name=ob.name + " (no shrinking)", run=_campaign_without_shrinking)
        out.append(ob)
    return out


def _campaign_without_shrinking(rounds: int, seed: int):
    from torchlean_runtime.proofs.differential import fuzz
    from torchlean_runtime.report import Outcome

    result = fuzz.run_campaign(None, seed, rounds=rounds, shrink=False)
    if result.harness_error is not None:
        return Outcome(False, f"the harness failed: {result.harness_error}")
    if result.divergence is not None:
        return Outcome(False, f"divergence (not shrunk): {result.divergence}")
    return Outcome(True, result.summary())


# --- the matrix -------------------------------------------------------------------------------------


def select_mutants(only: Optional[str]) -> list[Mutant]:
    """``--only`` with ``--mutants``: the mutants whose name matches (glob or substring);
    matching none is a usage error (TLR_USAGE)."""
    from torchlean_runtime.errors import UsageError

    if not only:
        return list(MUTANTS)
    kept = [m for m in MUTANTS if fnmatch.fnmatch(m.name, only) or only in m.name]
    if not kept:
        raise UsageError(f"--only {only!r} matches no mutant (torchlean-rt verify --mutants --list names them)")
    return kept


def _list_obligations(ref: str, quick: bool) -> list:
    module_name, _, func = ref.partition(":")
    return getattr(importlib.import_module(module_name), func)(quick)


Job = tuple[Optional[Mutant], Method, Optional[str], tuple[str, ...]]


def _plan(matrix: Matrix, quick: bool, mutants: Sequence[Mutant],
          methods: list[tuple[Method, Optional[str]]]) -> list[Job]:
    """The jobs to run (mutant, method, provider, obligations); cells not run are set here."""
    jobs: list[Job] = []
    sanity: list[Job] = []
    for method, ref in methods:
        if method.kill_provider and ref is not None and ref.partition(":")[0] in method.modules:
            ref = method.kill_provider
        per_row: dict[str, tuple[str, ...]] = {}
        listed = None
        if method.relevant is not None and ref is not None:
            try:
                listed = _list_obligations(ref, quick)
            except Exception as exc:  # the runner would fail the same way: every cell is an error
                detail = f"provider {ref} failed to load: {type(exc).__name__}: {exc}"
                for row in matrix.rows:
                    matrix.cells.setdefault(row, {})[method.key] = Cell("error", detail)
                continue
        for mutant in mutants:
            cells = matrix.cells.setdefault(mutant.name, {})
            if method.rows is not None and not method.rows(mutant):
                cells[method.key] = Cell("skipped", "out of this method's reach")
                continue
            if quick and method.quick_rows is not None and not method.quick_rows(mutant):
                cells[method.key] = Cell("skipped", "not in this quick run's subset")
                continue
            select = method.select
            if listed is not None:
                select = tuple(ob.name for ob in listed if method.relevant(mutant, ob, quick))
                if not select:
                    cells[method.key] = Cell("skipped", "no obligation of this method names an operation it changes")
                    continue
            per_row[mutant.name] = select
            jobs.append((mutant, method, ref, select))
        if not per_row:  # no mutant row runs this method: neither does the sanity row
            matrix.cells.setdefault(SANITY, {})[method.key] = Cell("skipped", "no mutant row runs this method")
            continue
        sanity_select = method.select
        if listed is not None:  # the sanity row runs every obligation some mutant row runs
            wanted = {name for names in per_row.values() for name in names}
            sanity_select = tuple(ob.name for ob in listed if ob.name in wanted)
        sanity.append((None, method, ref, sanity_select))
    # the sanity row first (every mutant row's verdict depends on it), then the slow methods
    return sanity + sorted(jobs, key=lambda job: not job[1].slow)


def run_matrix(
    quick: bool,
    mutants: Sequence[Mutant] = MUTANTS,
    methods: Optional[list[tuple[Method, Optional[str]]]] = None,
    workers: int = 2,
    progress: Optional[TextIO] = sys.stderr,
) -> Matrix:
    notes: list[str] = []
    if methods is None:
        methods, notes = available_methods()
    matrix = Matrix([m.key for m, _ in methods], [SANITY, *(m.name for m in mutants)], notes=notes)
    matrix.cells[SANITY] = {}
    for m, _ in methods:
        notes += [f"{m.key}: {text}" for text in (m.note, m.quick_note if quick else "") if text]
    timeout = 3600.0  # a safety net against hangs only (a budget is a count): generous, so load cannot turn a cell into an error
    jobs = _plan(matrix, quick, mutants, methods)
    total, done = len(jobs), 0
    with tempfile.TemporaryDirectory(prefix="torchlean-rt-mutants-") as site_dir:
        write_sitecustomize(site_dir)

        def run_job(job: Job) -> Cell:
            mutant, method, ref, select = job
            name = None if mutant is None else mutant.name
            if ref is None:
                return run_pytest(name, timeout)
            return run_provider(ref, select, name, quick, timeout, site_dir if method.spawns_python else None)

        with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
            for (mutant, method, _, _), cell in zip(jobs, pool.map(run_job, jobs)):
                row = SANITY if mutant is None else mutant.name
                matrix.cells[row][method.key] = cell
                done += 1
                if progress is not None:
                    shown = matrix.label(row, method.key)
                    print(f"[{done}/{total}] {row} × {method.key} … {shown} ({cell.seconds:.1f}s)", file=progress,
                          flush=True)
    return matrix


def main(args) -> int:
    """``args.quick`` (small budgets, stated subsets), ``args.json`` (write the matrix),
    ``args.only`` (only the mutants whose name matches, glob or substring)."""
    quick = bool(getattr(args, "quick", False))
    mutants = select_mutants(getattr(args, "only", None))
    start = time.perf_counter()
    workers = getattr(args, "jobs", None) or os.cpu_count() or 1
    methods, notes = available_methods()
    wanted = getattr(args, "methods", None)
    if wanted:
        from torchlean_runtime.errors import UsageError

        keys = [k.strip() for k in wanted.split(",") if k.strip()]
        unknown = sorted(set(keys) - {m.key for m in METHODS})
        if unknown:
            raise UsageError(f"--methods: no method {', '.join(unknown)} (known: {', '.join(m.key for m in METHODS)})")
        notes += [f"{m.key}: left out by --methods" for m, _ in methods if m.key not in keys]
        methods = [(m, ref) for m, ref in methods if m.key in keys]
    print(f"kill matrix: {len(mutants)} mutants{' (quick budgets)' if quick else ''}, {workers} workers",
          file=sys.stderr, flush=True)
    matrix = run_matrix(quick, mutants, methods=methods, workers=workers)
    matrix.notes[:0] = notes
    print(matrix.table())
    print()
    if matrix.notes:
        print("notes:\n" + "\n".join(f"  {n}" for n in matrix.notes))
    print("first kill of each mutant:\n" + matrix.evidence())
    print()
    print(matrix.summary() + f" ({time.perf_counter() - start:.0f}s)")
    json_path = getattr(args, "json", None)
    if json_path:
        from torchlean_runtime.cli import write_output

        write_output(json_path, matrix.to_json(), "--json")  # an error names the path (TLR_OUTPUT_PATH)
    return 0 if matrix.ok else 1
