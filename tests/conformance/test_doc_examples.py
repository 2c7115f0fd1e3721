"""Every ``console`` block of the README sections "Testing your implementation" and "Parameters
in and out", of
docs/conformance.md and of docs/vectors.md runs, and prints what the document says.

A block is a shell session: lines starting with ``$ `` are commands, run in order by bash in a
scratch directory (``examples`` linked in, the package's console script first on PATH); the lines
after a command are its expected output — exactly, line for line, where a line ``…`` stands for
any number of lines.  So every number in these worked examples is tested and cannot drift."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
_BLOCK = re.compile(r"```console\n(.*?)```", re.S)


def _section(text: str, title: str) -> str:
    start = text.index(f"## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start:end if end >= 0 else None]


def _blocks() -> list[tuple[str, str]]:
    out = []
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for title in ("Testing your implementation", "Parameters in and out"):
        for b in _BLOCK.findall(_section(readme, title)):
            out.append(("README", b))
    for doc in ("docs/conformance.md", "docs/vectors.md"):
        for b in _BLOCK.findall((ROOT / doc).read_text(encoding="utf-8")):
            out.append((doc, b))
    return out


def _session(block: str) -> list[tuple[str, list[str]]]:
    steps: list[tuple[str, list[str]]] = []
    for line in block.splitlines():
        if line.startswith("$ "):
            steps.append((line[2:], []))
        else:
            steps[-1][1].append(line)
    return steps


def _matches(expected: list[str], actual: list[str]) -> bool:
    """``expected`` equals ``actual`` where each ``…`` line matches any run of lines."""
    pattern = "".join(".*?" if e == "…" else re.escape(e + "\n") for e in expected)
    return re.fullmatch(pattern, "".join(a + "\n" for a in actual), re.S) is not None


def test_the_documents_have_sessions():
    where = {w for w, _ in _blocks()}
    assert where == {"README", "docs/conformance.md", "docs/vectors.md"}


_SCRATCH: dict[str, Path] = {}


@pytest.mark.parametrize("where,block", _blocks(), ids=[f"{w}-{i}" for i, (w, _) in enumerate(_blocks())])
def test_session_prints_what_the_document_says(where, block, tmp_path_factory, require_extra):
    """The blocks of one document share a scratch directory, in document order (as a reader
    following along would).  A session that imports torch needs the [torch] extra: a skip
    without it, a failure under CI (which installs it) — tests/conftest.py, require_extra."""
    if "import torch" in block:
        require_extra("torch")
    if where not in _SCRATCH:
        _SCRATCH[where] = tmp_path_factory.mktemp("doc")
        (_SCRATCH[where] / "examples").symlink_to(ROOT / "examples")
    tmp_path = _SCRATCH[where]
    bindir = Path(sys.executable).parent
    env = dict(os.environ, PATH=f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}", OPENBLAS_NUM_THREADS="1")
    env.pop("PYTHONPATH", None)
    for command, expected in _session(block):
        proc = subprocess.run(["bash", "-c", command], cwd=tmp_path, env=env, capture_output=True, text=True,
                              timeout=600)
        actual = proc.stdout.splitlines()
        assert _matches(expected, actual), (
            f"{where}: `{command}` printed\n" + proc.stdout[-3000:] + "\n--- stderr:\n" + proc.stderr[-2000:]
        )
