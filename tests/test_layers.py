"""The arrows of docs/architecture.md point one way: a module imports only layers below its own.

    cli, verify → proofs → conformance, interop → impl → spec → report, errors

Read from the source with ``ast`` (every ``import`` / ``from … import``, at any depth, relative
ones resolved), so a lazy import inside a function counts too."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# folder on disk → the layer's package name, and its rank (a module may import ranks ≤ its own)
LAYERS = {
    "spec": ("torchlean_runtime.spec", 1),
    "impl": ("torchlean_runtime.impl", 2),
    "torchlean_runtime/conformance": ("torchlean_runtime.conformance", 3),
    "torchlean_runtime/interop": ("torchlean_runtime.interop", 3),
    "proofs": ("torchlean_runtime.proofs", 4),
}
# errors (the codes) and report (Obligation, Outcome, CheckResult: the vocabulary of results) are
# the floor every layer may use (files: opening hostile input files, regular files only); spec/env.py reads the environment for spec and impl alike
RANK = {pkg: rank for pkg, rank in LAYERS.values()} | {"torchlean_runtime.errors": 0, "torchlean_runtime.report": 0,
                                                       "torchlean_runtime.files": 0,
                                                       "torchlean_runtime.__version__": 0, "torchlean_runtime": 0}


def _rank_of(module: str) -> int | None:
    for pkg, rank in RANK.items():
        if module == pkg or module.startswith(pkg + "."):
            return rank
    if module == "torchlean_runtime" or module.startswith("torchlean_runtime."):
        return 5  # cli, verify, __main__: the top
    return None  # not ours


def _imports(path: Path, package: str) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    parts = package.split(".")
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = parts[: len(parts) - node.level + 1]
                out.append(".".join(base + ([node.module] if node.module else [])))
            elif node.module == "torchlean_runtime":  # `from torchlean_runtime import verify`: the name counts
                out += [f"torchlean_runtime.{a.name}" for a in node.names]
            elif node.module:
                out.append(node.module)
    return out


def _modules():
    for folder, (pkg, rank) in LAYERS.items():
        for path in sorted((ROOT / folder).rglob("*.py")):
            rel = path.relative_to(ROOT / folder).with_suffix("")
            package = ".".join([pkg, *rel.parts[:-1]])
            yield pytest.param(path, package, rank, id=str(path.relative_to(ROOT)))


@pytest.mark.parametrize("path,package,rank", list(_modules()))
def test_imports_point_down(path, package, rank):
    upward = [m for m in _imports(path, package) if (r := _rank_of(m)) is not None and r > rank]
    assert not upward, f"{path.relative_to(ROOT)} imports a higher layer: {upward}"


def test_the_layers_exist():
    assert all((ROOT / folder).is_dir() for folder in LAYERS)
