"""Hostile manifests in ``replay`` (attacker finding 2).

* manifest.json and every file it lists are opened only if they are regular files (the one
  non-blocking helper, ``files.open_regular``): a FIFO or a link to a device is ``unread``,
  never opened (no hang); a listed path no file can have (a NUL byte, a lone surrogate) is
  ``unread``, never TLR_INTERNAL.

Run as a user runs the command, in a subprocess with a timeout (a regression hangs no test run)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from torchlean_runtime.conformance.vectors.manifest import MANIFEST_FORMAT, sha256_file, verify_manifest
from torchlean_runtime.conformance.vectors.replay import corpus_dir

CASE = Path(corpus_dir()) / "Runtime.emptyContext" / "empty.float64.json"
pytestmark = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")


def replay(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONIOENCODING="utf-8:strict", LC_ALL="C.UTF-8")
    return subprocess.run([sys.executable, "-m", "torchlean_runtime", "replay", *args, "--target", "spec"],
                          capture_output=True, text=True, timeout=120, env=env, errors="replace")


def _corpus(tmp_path: Path, extra_entries=()) -> Path:
    root = tmp_path / "corpus"
    root.mkdir()
    shutil.copy(CASE, root / "good.json")
    files = [{"path": "good.json", "sha256": sha256_file(root / "good.json")}, *extra_entries]
    (root / "manifest.json").write_text(json.dumps({"format": MANIFEST_FORMAT, "files": files}))
    return root


def _no_crash(proc: subprocess.CompletedProcess) -> None:
    assert "Traceback" not in proc.stderr and "TLR_INTERNAL" not in proc.stderr, proc.stderr
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)


def test_a_fifo_named_manifest_json_is_unread_never_opened(tmp_path):
    root = tmp_path / "corpus"
    root.mkdir()
    shutil.copy(CASE, root / "good.json")
    os.mkfifo(root / "manifest.json")
    proc = replay(str(root))
    _no_crash(proc)
    assert "manifest.json" in proc.stdout and "not a regular file" in proc.stdout
    assert "PASS spec" in proc.stdout  # the good file still ran


@pytest.mark.parametrize("kind", ["fifo", "device-link"])
def test_a_listed_fifo_or_device_link_is_unread_never_opened(tmp_path, kind):
    root = _corpus(tmp_path, [{"path": "listed.bin", "sha256": "0" * 64}])
    if kind == "fifo":
        os.mkfifo(root / "listed.bin")
    else:
        (root / "listed.bin").symlink_to("/dev/zero")
    proc = replay(str(root))
    _no_crash(proc)
    assert "listed.bin" in proc.stdout and "not a regular file" in proc.stdout


@pytest.mark.parametrize("bad", ["a\u0000b.json", "\ud800.json"])
def test_a_listed_path_no_file_can_have_is_unread(tmp_path, bad):
    root = _corpus(tmp_path, [{"path": bad, "sha256": "0" * 64}])
    proc = replay(str(root))
    _no_crash(proc)
    assert "not a valid path" in proc.stdout
    assert "PASS spec" in proc.stdout
    # in-process too: a problem of that entry, never a ValueError
    check = verify_manifest(str(root / "manifest.json"), [str(root / "good.json")])
    assert not check["ok"] and any("not a valid path" in why for why in check["problems"].values())


def test_a_listed_file_above_max_file_bytes_is_not_hashed(tmp_path):
    root = _corpus(tmp_path, [{"path": "big.bin", "sha256": "0" * 64}])
    (root / "big.bin").write_bytes(b"x" * 5000)
    check = verify_manifest(str(root / "manifest.json"), [str(root / "good.json")], max_file_bytes=4096)
    assert "longer than 4096 bytes" in check["problems"][str(root / "big.bin")]
