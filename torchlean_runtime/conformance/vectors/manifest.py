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
from typing import Any, Optional, Sequence

from torchlean_runtime.files import NotRegularFileError, open_regular, read_regular, write_text

__all__ = ["MANIFEST_FORMAT", "manifest_document", "write_manifest", "verify_manifest", "sha256_file"]

MANIFEST_FORMAT = "torchlean.runtime.manifest.v1"


#: the largest manifest.json read (bytes)
MAX_MANIFEST_BYTES = 16 * 1024 * 1024


def sha256_file(path: str | os.PathLike, limit: Optional[int] = None) -> str:
    """The sha256 of the regular file ``path`` (opened by :func:`~torchlean_runtime.files.open_regular`:
    a FIFO, socket, device or directory is an ``OSError`` and never blocks; so is a path that
    cannot name a file).  With ``limit``, a file longer than ``limit`` bytes is a
    :class:`ValueError` (nothing beyond ``limit + 1`` bytes is read)."""
    h = hashlib.sha256()
    read = 0
    with open_regular(path) as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            read += len(chunk)
            if limit is not None and read > limit:
                raise ValueError(f"longer than {limit} bytes")
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
    write_text(Path(root) / "manifest.json", json.dumps(doc, indent=1, ensure_ascii=True) + "\n", encoding="ascii",
               newline="\n")
    return doc


def verify_manifest(path: str, found: Sequence[str], max_file_bytes: Optional[int] = None) -> dict:
    """Check the manifest at ``path`` against the trace files ``found`` under its directory.

    Returns ``{"path", "ok", "files", "problems": {file path: why}}``: a listed file that is
    missing, not a regular file (a FIFO, socket or device is never opened), longer than
    ``max_file_bytes`` or with another sha256, an unlisted trace file, or an unreadable
    manifest (then the manifest's own path is the problem).  The manifest and every listed
    file are opened only if they are regular files (:func:`~torchlean_runtime.files.open_regular`),
    so nothing blocks; a listed path no file can have (a NUL byte, a lone surrogate) is a problem."""
    root = os.path.dirname(path)
    problems: dict[str, str] = {}
    listed: list[dict] = []
    try:
        data = read_regular(path, MAX_MANIFEST_BYTES)
        if len(data) > MAX_MANIFEST_BYTES:
            raise ValueError(f"longer than {MAX_MANIFEST_BYTES} bytes")
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
        why = (exc.strerror or str(exc)) if isinstance(exc, OSError) else str(exc)
        problems[path] = f"the manifest cannot be read: {why[:200]}"
        return {"path": path, "ok": False, "files": 0, "problems": problems}
    expected = {os.path.join(root, *e["path"].split("/")): e["sha256"] for e in listed}
    for f, digest in expected.items():
        try:
            actual = sha256_file(f, max_file_bytes)
        except FileNotFoundError:
            problems[f] = "listed in manifest.json but missing"
            continue
        except NotRegularFileError:
            problems[f] = "listed in manifest.json but not a regular file (a FIFO, socket or device is never opened)"
            continue
        except OSError as exc:
            problems[f] = f"listed in manifest.json but cannot be read: {exc.strerror or exc}"
            continue
        except ValueError as exc:
            problems[f] = f"listed in manifest.json but {exc} (max_file_bytes)"
            continue
        if actual != digest:
            problems[f] = f"sha256 {actual[:16]}… differs from manifest.json's {digest[:16]}…"
    for f in found:
        if f not in expected:
            problems[f] = "a trace file not listed in manifest.json"
    return {"path": path, "ok": not problems, "files": len(expected), "problems": problems}
