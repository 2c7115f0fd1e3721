"""What every benchmark script does around its measurement, in one place.

Import it first, before numpy (``import bench_run`` pins BLAS/OpenMP to one thread at import:
BLAS reads these variables once, when it loads).  Then::

    run = bench_run.Run("bench_x.json", partial=args.quick, out=args.out)
    run.banner("bench_x")                       # commit, date, load average at the start
    ...measure...
    run.write({"figures": ...}, meta=run.meta(numpy=True, repeat=3))

:class:`Run` takes the commit (``git describe --always --dirty``), the load average and the date
when the run starts; :meth:`Run.write` writes the JSON record ``{"commit", "smoke", "meta",
...}`` into ``--out`` and, for a full run (not ``partial``) with the default ``--out``
(docs/figures), rewrites every doc block rendered from that record (``bench_report.update_docs``,
from the JSON as written).  A partial run (``--quick``, ``--smoke``, ``--only``, ``--hostile``)
never touches the docs: with no ``--out`` it writes to a temporary folder, and it never rewrites
a doc block.
"""

from __future__ import annotations

import os

THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS",
               "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")
for _var in THREAD_VARS:
    os.environ[_var] = "1"  # before numpy is imported: BLAS reads these once, at load

import datetime  # noqa: E402
import json  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any, Optional  # noqa: E402

from bench_report import FIGURES, ROOT, update_docs  # noqa: E402 — benchmarks/, this module's own folder

DEFAULT_OUT = FIGURES


def default_out(out: Optional[Path], partial: bool) -> Path:
    """``--out`` as given, else docs/figures for a full run and a temporary folder for a partial one
    (so a smoke run never replaces a committed record)."""
    return out or (Path(tempfile.gettempdir()) / "torchlean-bench" if partial else DEFAULT_OUT)


#: What ``make bench`` itself writes: the records and the documents rendered from them.  Changes
#: there do not make a run "dirty" (each bench script rewrites them before the next one starts).
BENCH_OUTPUTS = ("docs", "README.md")


def git_commit() -> str:
    """The checkout's short commit ('' outside one), with ``-dirty`` when anything other than
    :data:`BENCH_OUTPUTS` differs from it (a committed record must name the code it measured)."""
    head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    if head.returncode != 0:
        return ""
    changed = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no", "--", ".",
                              *(f":(exclude){p}" for p in BENCH_OUTPUTS)], capture_output=True, text=True).stdout
    return head.stdout.strip() + ("-dirty" if changed.strip() else "")


class Run:
    """One benchmark run writing the record ``record`` (a file name) into ``out``."""

    def __init__(self, record: str, *, partial: bool, out: Optional[Path] = None) -> None:
        self.record, self.partial = record, partial
        self.out = default_out(out, partial)
        self.started = time.perf_counter()
        self.commit = git_commit()
        self.load = os.getloadavg()[0]
        self.date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")

    @property
    def path(self) -> Path:
        return self.out / self.record

    @property
    def rewrites_docs(self) -> bool:
        """A full run with the default ``--out``: the only kind that rewrites doc blocks."""
        return not self.partial and self.out.resolve() == DEFAULT_OUT.resolve()

    def seconds(self) -> float:
        return time.perf_counter() - self.started

    def banner(self, name: str, flag: str = "--quick") -> None:
        print(f"{name}{f' ({flag}: figures meaningless)' if self.partial else ''} — commit {self.commit or '?'}, "
              f"{self.date}, BLAS threads pinned to 1; load average {self.load:.2f} at the start")

    def meta(self, *, date: bool = True, numpy: bool = False, seconds: bool = True, **more: Any) -> dict:
        """The record's ``meta``: the date, Python (and numpy) versions, the load average at the
        start, then ``more``, then the run's wall seconds so far."""
        meta: dict = {"date": self.date} if date else {}
        meta["python"] = sys.version.split()[0]
        if numpy:
            import numpy as np  # noqa: PLC0415 — only the scripts that use it ask for its version

            meta["numpy"] = np.__version__
        meta["load_average"] = self.load
        meta.update(more)
        if seconds:
            meta["seconds"] = self.seconds()
        return meta

    def write(self, figures: dict, meta: dict) -> dict:
        """Write ``{"commit", "smoke", "meta", **figures}`` to the record; on a full run with the
        default ``--out``, rewrite the doc blocks rendered from it (from the JSON as written)."""
        data = {"commit": self.commit, "smoke": self.partial, "meta": meta, **figures}
        self.out.mkdir(parents=True, exist_ok=True)
        self.path.write_text(json.dumps(data, indent=1, default=str) + "\n")
        print(f"figures: {self.path}; total {self.seconds():.0f}s")
        written = json.loads(self.path.read_text())
        if self.rewrites_docs:
            for doc in update_docs(self.record, written):
                print(f"{doc.relative_to(ROOT)}: rewritten from {self.record}")
        return written
