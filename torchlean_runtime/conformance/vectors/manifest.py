"""The corpus manifest (``manifest.json`` at the top of a corpus directory).

Written by ``torchlean-rt vectors generate``, verified by ``torchlean-rt replay`` whenever it
walks a directory that has one.  Format ``torchlean.runtime.manifest.v1``::

    {"format": "torchlean.runtime.manifest.v1",
     "trace_format": "torchlean.runtime.v1",
     "generator": {"name": "torchlean-runtime", "version": "0.1.0"},
     "totals": {"files": F, "steps": S, "must_fail": M},
     "steps_per_declaration": {"Runtime.emptyContext": n, …},   # steps calling each Lean def
     "steps_per_trap": {"shadowing": n, …},                      # steps in the files tagged with each trap
     "files": [{"path": "Runtime.emptyContext/empty.float64.json", "sha256": "…", "steps": n,
                "scalar_type": "Float", "declaration": "Runtime.emptyContext"}, …]}

Paths are relative, ``/``-separated, sorted.  Only the ``files`` list is checked by replay (the
rest describes the corpus); a test checks the counts against the traces.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any, Sequence

__all__ = ["MANIFEST_FORMAT", "manifest_document", "write_manifest", "verify_manifest", "sha256_file"]

MANIFEST_FORMAT = "torchlean.runtime.manifest.v1"


def sha256_file(path: str | os.PathLike) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def manifest_document(root: str | os.PathLike, entries: Sequence[tuple[str, Any]]) -> dict:
    """The manifest of ``entries`` = (relative path, Trace) written under ``root``."""
    from torchlean_runtime import __version__

    from .format import FORMAT, LEAN_DECLARATIONS, ExpectedError
    from .generate import TRAPS

    per_decl = {d: 0 for d in LEAN_DECLARATIONS}
    per_trap = {t: 0 for t in TRAPS}
    files = []
    steps = must_fail = 0
    for rel, trace in sorted(entries, key=lambda e: e[0]):
        n = len(trace.steps)
        steps += n
        for s in trace.steps:
            per_decl[s.op] = per_decl.get(s.op, 0) + 1
            must_fail += isinstance(s.expect, ExpectedError)
        for t in trace.tags:
            if t in per_trap:
                per_trap[t] += n
        files.append({"path": rel, "sha256": sha256_file(Path(root) / rel), "steps": n,
                      "scalar_type": trace.scalar_type, "declaration": trace.declaration})
    return {
        "format": MANIFEST_FORMAT,
        "trace_format": FORMAT,
        "generator": {"name": "torchlean-runtime", "version": __version__},
        "totals": {"files": len(files), "steps": steps, "must_fail": must_fail},
        "steps_per_declaration": per_decl,
        "steps_per_trap": per_trap,
        "files": files,
    }


def write_manifest(root: str | os.PathLike, entries: Sequence[tuple[str, Any]]) -> dict:
    doc = manifest_document(root, entries)
    with open(Path(root) / "manifest.json", "w", encoding="ascii", newline="\n") as fh:
        fh.write(json.dumps(doc, indent=1, ensure_ascii=True) + "\n")
    return doc


def verify_manifest(path: str, found: Sequence[str]) -> dict:
    """Check the manifest at ``path`` against the trace files ``found`` under its directory.

    Returns ``{"path", "ok", "files", "problems": {file path: why}}``: a listed file that is
    missing or has another sha256, an unlisted trace file, or an unreadable manifest (then the
    manifest's own path is the problem)."""
    root = os.path.dirname(path)
    problems: dict[str, str] = {}
    listed: list[dict] = []
    try:
        with open(path, "rb") as fh:
            data = fh.read(16 * 1024 * 1024 + 1)
        doc = json.loads(data)
        if not isinstance(doc, dict) or doc.get("format") != MANIFEST_FORMAT or not isinstance(doc.get("files"), list):
            raise ValueError(f"not a {MANIFEST_FORMAT} document")
        for e in doc["files"]:
            if not (isinstance(e, dict) and isinstance(e.get("path"), str) and isinstance(e.get("sha256"), str)):
                raise ValueError("a files entry lacks path/sha256")
            if e["path"].startswith("/") or ".." in e["path"].split("/"):
                raise ValueError(f"a files entry leaves the corpus: {e['path'][:100]!r}")
            listed.append(e)
    except (OSError, ValueError, RecursionError) as exc:
        problems[path] = f"the manifest cannot be read: {str(exc)[:200]}"
        return {"path": path, "ok": False, "files": 0, "problems": problems}
    expected = {os.path.join(root, *e["path"].split("/")): e["sha256"] for e in listed}
    for f, digest in expected.items():
        try:
            actual = sha256_file(f)
        except OSError:
            problems[f] = "listed in manifest.json but missing"
            continue
        if actual != digest:
            problems[f] = f"sha256 {actual[:16]}… differs from manifest.json's {digest[:16]}…"
    for f in found:
        if f not in expected:
            problems[f] = "a trace file not listed in manifest.json"
    return {"path": path, "ok": not problems, "files": len(expected), "problems": problems}
