"""A smoke run (``--quick``) of each benchmark that renders doc blocks runs end to end, writes its
record where it is told (or, with no ``--out``, to a temporary folder), and leaves README.md,
docs/*.md and docs/figures/ byte for byte as they were.  No timing is asserted."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# (script, its record, keys the record must hold)
BENCHES = [
    ("bench_params.py", "bench_params.json", {"cases"}),
    ("bench_protocol.py", "bench_protocol.json", {"small_steps", "corpus", "pipe"}),
    ("bench_fuzz.py", "bench_fuzz.json", {"engines"}),
    ("bench_fuzz_engines.py", "bench_fuzz_engines.json", {"rows", "seed", "rounds"}),
    ("bench_contracts.py", "bench_contracts.json", {"set_value_us"}),
    ("bench_reader.py", "bench_reader.json", {"documents", "memory"}),
]
# every bench with no --out (the default a full run rewrites the docs from); the two named in the
# brief also with an explicit temporary --out
RUNS = [(*bench, False) for bench in BENCHES] + [(*bench, True) for bench in BENCHES[:2]]


def _snapshot() -> dict[str, str]:
    paths = [ROOT / "README.md", *(ROOT / "docs").glob("*.md"), *(ROOT / "docs" / "figures").iterdir()]
    return {str(p.relative_to(ROOT)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(paths) if p.is_file()}


@pytest.mark.parametrize("script, record, keys, explicit_out", RUNS,
                         ids=[f"{s}{' --out' if o else ''}" for s, _, _, o in RUNS])
def test_quick_run_leaves_the_docs_alone(tmp_path: Path, script: str, record: str, keys: set, explicit_out: bool) -> None:
    before = _snapshot()
    out = tmp_path / "out"
    temp = tmp_path / "tmp"
    temp.mkdir()
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "TMPDIR": str(temp)}
    argv = [sys.executable, str(ROOT / "benchmarks" / script), "--quick", *(["--out", str(out)] if explicit_out else [])]
    done = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=600, cwd=tmp_path)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    assert _snapshot() == before, "a --quick run changed README.md, docs/*.md or docs/figures/"
    written = (out if explicit_out else temp / "torchlean-bench") / record
    data = json.loads(written.read_text(encoding="utf-8"))
    assert data["smoke"] is True and keys <= set(data)
    assert isinstance(data["meta"]["load_average"], float) and data["meta"]["date"]
    assert "rewritten" not in done.stdout


def test_runtime_smoke_run_with_no_out_leaves_the_docs_alone(tmp_path: Path) -> None:
    # bench_runtime.py spells its quick mode --smoke; with no --out it must write to a temporary
    # folder, never over docs/figures/bench.json (which the README's Performance block renders)
    before = _snapshot()
    temp = tmp_path / "tmp"
    temp.mkdir()
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "TMPDIR": str(temp)}
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench_runtime.py"), "--smoke", "--no-campaign"],
                          capture_output=True, text=True, env=env, timeout=600, cwd=tmp_path)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    assert _snapshot() == before, "a --smoke run changed README.md, docs/*.md or docs/figures/"
    assert json.loads((temp / "torchlean-bench" / "bench.json").read_text(encoding="utf-8"))["smoke"] is True
    assert "rewritten" not in done.stdout
