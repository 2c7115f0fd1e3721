"""benchmarks/bench_run.py, what every bench script does around its measurement: each script
imports it first (so BLAS is pinned before numpy loads), a partial run writes to a temporary folder
and never rewrites a doc, and the record has the fields the doc blocks render."""

from __future__ import annotations

import ast
import importlib
import json
import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = ["bench_runtime.py", "bench_params.py", "bench_protocol.py", "bench_fuzz.py", "bench_fuzz_engines.py",
           "bench_contracts.py", "bench_reader.py"]


@pytest.fixture()
def bench_run(monkeypatch):
    """benchmarks/bench_run.py, imported fresh; the environment it pins is restored after."""
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS",
                "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS"):
        monkeypatch.setenv(var, "4")
    monkeypatch.syspath_prepend(str(ROOT / "benchmarks"))
    sys.modules.pop("bench_run", None)
    module = importlib.import_module("bench_run")
    yield module
    sys.modules.pop("bench_run", None)


@pytest.mark.parametrize("script", SCRIPTS)
def test_every_script_imports_bench_run_first(script: str) -> None:
    tree = ast.parse((ROOT / "benchmarks" / script).read_text(encoding="utf-8"))
    imports = [node for node in tree.body if isinstance(node, (ast.Import, ast.ImportFrom))
               and not (isinstance(node, ast.ImportFrom) and node.module == "__future__")]
    first = imports[0]
    assert isinstance(first, ast.Import) and [a.name for a in first.names] == ["bench_run"], \
        f"{script}: `import bench_run` must come first (it pins BLAS threads before numpy loads)"
    source = (ROOT / "benchmarks" / script).read_text(encoding="utf-8")
    assert "bench_run.Run(" in source and "describe\", \"--always\"" not in source, script


def test_importing_it_pins_blas_threads(bench_run) -> None:
    assert all(os.environ[var] == "1" for var in bench_run.THREAD_VARS)
    assert {"OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"} <= set(bench_run.THREAD_VARS)


def test_a_partial_run_writes_to_a_temporary_folder_and_rewrites_no_doc(bench_run, tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.setattr(bench_run.tempfile, "gettempdir", lambda: str(tmp_path))
    called = []
    monkeypatch.setattr(bench_run, "update_docs", lambda *a: called.append(a) or [])
    run = bench_run.Run("bench_x.json", partial=True)
    assert run.out == tmp_path / "torchlean-bench" and not run.rewrites_docs
    written = run.write({"figures": [1, 2]}, meta=run.meta(numpy=True, size=3))
    assert json.loads((tmp_path / "torchlean-bench" / "bench_x.json").read_text()) == written
    assert written["smoke"] is True and written["figures"] == [1, 2] and written["commit"] == run.commit
    assert set(written["meta"]) == {"date", "python", "numpy", "load_average", "size", "seconds"}
    assert not called and "rewritten" not in capsys.readouterr().out


def test_only_a_full_run_with_the_default_out_rewrites_the_docs(bench_run, tmp_path, monkeypatch) -> None:
    called = []
    monkeypatch.setattr(bench_run, "update_docs", lambda record, data: called.append((record, data)) or [])
    run = bench_run.Run("bench_x.json", partial=False, out=tmp_path)  # full, but not docs/figures
    assert not run.rewrites_docs
    run.write({}, meta=run.meta(date=False, seconds=False))
    assert not called and set(json.loads(run.path.read_text())["meta"]) == {"python", "load_average"}
    monkeypatch.setattr(bench_run, "DEFAULT_OUT", tmp_path)  # now tmp_path is the default out
    run = bench_run.Run("bench_x.json", partial=False)
    assert run.out == tmp_path and run.rewrites_docs
    written = run.write({"x": 1}, meta=run.meta())
    assert called == [("bench_x.json", written)] and written["smoke"] is False
    partial = bench_run.Run("bench_x.json", partial=True, out=tmp_path)  # the default out named, but partial
    assert not partial.rewrites_docs


def test_a_run_is_dirty_only_when_code_differs_from_the_commit(bench_run, monkeypatch, tmp_path) -> None:
    """``make bench`` runs its scripts one after another and each rewrites records and docs: those
    outputs (docs/, README.md) do not make the next record "-dirty"; any other change does."""
    import subprocess

    def git(*args):
        subprocess.run(["git", "-C", str(tmp_path), *args], check=True, capture_output=True)

    git("init", "-q")
    (tmp_path / "docs").mkdir()
    for name in ("docs/figures.json", "README.md", "code.py"):
        (tmp_path / name).write_text("1\n")
    git("add", ".")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "c")
    monkeypatch.setattr(bench_run, "ROOT", tmp_path)
    clean = bench_run.git_commit()
    assert clean and not clean.endswith("-dirty")
    (tmp_path / "docs" / "figures.json").write_text("2\n")
    (tmp_path / "README.md").write_text("2\n")
    assert bench_run.git_commit() == clean
    (tmp_path / "code.py").write_text("2\n")
    assert bench_run.git_commit() == clean + "-dirty"
