"""Count budgets make the verdict independent of load: ``verify --quick --mutants --json`` run
twice — the second time with every core kept busy by spinning processes — gives the same
verdict and the same kill matrix (cell by cell), apart from times.

Affordable for CI: restricted with ``--only`` to the ``clone-keeps-*`` mutants, whose rows and
sanity row run every impl-driving method of a quick matrix that has a budget (agreement's
sampled sequences, the corpus, the stateful machine's campaign — the method whose kills used to
vary with load — and the value-semantics programs); the CrossHair and -O columns take no rows of
these mutants in a quick run.  About 2–5 minutes on two cores.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

SUBSET = "clone-keeps-*"


def _matrix(path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "torchlean_runtime", "verify", "--quick", "--mutants", "--only", SUBSET,
                           "--json", str(path)], capture_output=True, text=True, timeout=1800)


def _verdict(path) -> tuple:
    data = json.loads(path.read_text())
    cells = tuple((row["mutant"], method, cell["result"]) for row in data["rows"] for method, cell in row["cells"].items())
    return data["ok"], tuple(data["survivors"]), tuple(data["columns_ran"]), cells


def test_the_kill_matrix_is_the_same_under_cpu_load(tmp_path):
    calm, loaded = tmp_path / "calm.json", tmp_path / "loaded.json"
    first = _matrix(calm)
    assert first.returncode in (0, 1) and "Traceback" not in first.stderr, first.stderr[-2000:]
    spinners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(2 * (os.cpu_count() or 1))]
    try:
        second = _matrix(loaded)
    finally:
        for p in spinners:
            p.kill()
            p.wait()
    assert second.returncode == first.returncode, second.stderr[-2000:]
    a, b = _verdict(calm), _verdict(loaded)
    assert a == b
    ran = set(a[2])
    assert {"agreement", "corpus", "machine", "value-semantics"} <= ran, ran
