"""The cross-reference: every Lean declaration of NN/Runtime/Context.lean and
NN/Runtime/Variable.lean (lean-dojo/TorchLean @ 411682f6c3d913e5cdbc27d4546b3ab7ac0e3e9c) →
its Python transcription in this spec → its source location.

``line`` is the 1-based line of the declaration keyword (``structure`` / ``def``) in the file at
the pinned commit.  The table lists every ``structure`` and ``def`` of the two files (Lean's
auto-generated projections and constructors are not separate declarations in the source).

:func:`problems` checks the table against the code: every row resolves by import to exactly one
Python object of the right kind whose name is the Lean short name verbatim and whose docstring
cites the fully qualified Lean name; and every public name of ``spec.runtime.context`` /
``spec.runtime.variable`` (their ``__all__``) has a row.
"""

from __future__ import annotations

import importlib
import inspect
import json
from dataclasses import asdict, dataclass
from typing import Any

from . import LEAN_COMMIT, LEAN_REPO

__all__ = [
    "Declaration",
    "DECLARATIONS",
    "TRANSCRIBED_MODULES",
    "as_json",
    "as_markdown",
    "resolve",
    "problems",
]

CONTEXT_LEAN = "NN/Runtime/Context.lean"
VARIABLE_LEAN = "NN/Runtime/Variable.lean"
_CONTEXT_PY = "torchlean_runtime.spec.runtime.context"
_VARIABLE_PY = "torchlean_runtime.spec.runtime.variable"

#: The Python modules that transcribe the two Lean files; their ``__all__`` must be covered.
TRANSCRIBED_MODULES: tuple[str, ...] = (_CONTEXT_PY, _VARIABLE_PY)


@dataclass(frozen=True)
class Declaration:
    """One Lean declaration and where its transcription lives."""

    lean_name: str  # fully qualified, e.g. ``Runtime.Variable.castShape``
    kind: str  # ``structure`` or ``def``
    lean_file: str  # path inside the Lean repository
    line: int  # 1-based line of the declaration keyword at LEAN_COMMIT
    python_path: str  # dotted import path of the transcription

    @property
    def source_url(self) -> str:
        return f"https://github.com/{LEAN_REPO}/blob/{LEAN_COMMIT}/{self.lean_file}#L{self.line}"


def _ctx(name: str, kind: str, line: int) -> Declaration:
    return Declaration(f"Runtime.{name}", kind, CONTEXT_LEAN, line, f"{_CONTEXT_PY}.{name}")


def _var(name: str, kind: str, line: int) -> Declaration:
    # The structure is ``Runtime.Variable``; its functions live in ``namespace Variable``.
    lean = "Runtime.Variable" if name == "Variable" else f"Runtime.Variable.{name}"
    return Declaration(lean, kind, VARIABLE_LEAN, line, f"{_VARIABLE_PY}.{name}")


DECLARATIONS: tuple[Declaration, ...] = (
    # NN/Runtime/Context.lean
    _ctx("AnyTensor", "structure", 44),
    _ctx("RuntimeContext", "structure", 57),
    _ctx("emptyContext", "def", 79),
    _ctx("registerVariable", "def", 87),
    _ctx("getVariable", "def", 101),
    _ctx("setVariable", "def", 117),
    _ctx("registerGradient", "def", 131),
    _ctx("getGradient", "def", 139),
    _ctx("setGradient", "def", 153),
    _ctx("clearGradients", "def", 162),
    _ctx("hasVariable", "def", 166),
    _ctx("variableNames", "def", 170),
    _ctx("gradientNames", "def", 174),
    _ctx("contextSize", "def", 178),
    _ctx("gradientCount", "def", 182),
    _ctx("isValidContext", "def", 190),
    _ctx("contextToString", "def", 195),
    # NN/Runtime/Variable.lean
    _var("Variable", "structure", 46),
    _var("createVariable", "def", 69),
    _var("getValue", "def", 74),
    _var("setValue", "def", 78),
    _var("getGradient", "def", 82),
    _var("setGradient", "def", 86),
    _var("clearGradient", "def", 90),
    _var("checkRequiresGrad", "def", 94),
    _var("accumulateGradient", "def", 103),
    _var("variableToString", "def", 110),
    _var("variableEq", "def", 118),
    _var("hasShape", "def", 122),
    _var("variableNorm", "def", 130),
    _var("cloneVariable", "def", 137),
    _var("detachVariable", "def", 141),
    _var("registerInContext", "def", 145),
    _var("getFromContext", "def", 151),
    _var("registerGradientInContext", "def", 157),
    _var("error", "def", 170),
    _var("castShape", "def", 183),
)


def as_json() -> str:
    """The table as JSON (pinned repo and commit, then one object per declaration)."""
    rows = [dict(asdict(d), source_url=d.source_url) for d in DECLARATIONS]
    return json.dumps({"lean_repo": LEAN_REPO, "lean_commit": LEAN_COMMIT, "declarations": rows}, indent=2)


def as_markdown() -> str:
    """The table as Markdown (the content of docs/naming.md, kept in sync by a test)."""
    lines = [
        "# Lean → Python naming table",
        "",
        f"Generated from `spec/declarations.py`; Lean source {LEAN_REPO} @ `{LEAN_COMMIT}`.",
        "",
        "| Lean declaration | kind | Lean source | Python transcription |",
        "| --- | --- | --- | --- |",
    ]
    for d in DECLARATIONS:
        lines.append(f"| `{d.lean_name}` | {d.kind} | [{d.lean_file}:{d.line}]({d.source_url}) | `{d.python_path}` |")
    return "\n".join(lines) + "\n"


def resolve(python_path: str) -> Any:
    """Import ``module.attr`` and return the attribute (ImportError/AttributeError if absent)."""
    module_name, _, attr = python_path.rpartition(".")
    return getattr(importlib.import_module(module_name), attr)


def _kind_problem(d: Declaration, obj: Any) -> str | None:
    if d.kind == "structure" and not inspect.isclass(obj):
        return f"{d.lean_name} is a structure but {d.python_path} is not a class"
    if d.kind == "def" and not inspect.isfunction(obj):
        return f"{d.lean_name} is a def but {d.python_path} is not a function"
    if d.kind not in ("structure", "def"):
        return f"{d.lean_name}: unknown kind {d.kind!r}"
    return None


def problems() -> list[str]:
    """Everything wrong with the table against the code; ``[]`` when the table is complete.

    * missing — a row whose Python path does not import, names another object, has the wrong
      kind, or whose docstring does not cite the Lean declaration;
    * duplicate — two rows with the same Lean name or the same Python path (exactly one each);
    * extra — a public name of a transcribed module (its ``__all__``) with no row.
    """
    found: list[str] = []
    lean_names = [d.lean_name for d in DECLARATIONS]
    python_paths = [d.python_path for d in DECLARATIONS]
    for name in sorted({n for n in lean_names if lean_names.count(n) > 1}):
        found.append(f"duplicate: Lean declaration {name} has more than one row")
    for path in sorted({p for p in python_paths if python_paths.count(p) > 1}):
        found.append(f"duplicate: Python path {path} is claimed by more than one row")

    for d in DECLARATIONS:
        try:
            obj = resolve(d.python_path)
        except (ImportError, AttributeError) as exc:
            found.append(f"missing: {d.lean_name} → {d.python_path} does not resolve ({exc})")
            continue
        short = d.lean_name.rsplit(".", 1)[1]
        if getattr(obj, "__name__", None) != short or d.python_path.rsplit(".", 1)[1] != short:
            found.append(f"missing: {d.python_path} is not named {short} verbatim")
        kind = _kind_problem(d, obj)
        if kind:
            found.append(f"missing: {kind}")
        if d.lean_name not in (inspect.getdoc(obj) or ""):
            found.append(f"missing: the docstring of {d.python_path} does not cite {d.lean_name}")

    listed = set(python_paths)
    for module_name in TRANSCRIBED_MODULES:
        module = importlib.import_module(module_name)
        for public in getattr(module, "__all__", ()):
            if f"{module_name}.{public}" not in listed:
                found.append(f"extra: {module_name}.{public} is public but transcribes no Lean declaration")
    return found
