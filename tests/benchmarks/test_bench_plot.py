"""The scaling figure (issue 11): the README shows ``docs/figures/bench_scaling.png``, the committed
``bench.json`` carries every series the figure draws, the committed PNG was drawn from that very
record (its Description names the record's SHA-256), and ``bench_runtime.py --plot-only`` redraws
it headless from a record without measuring anything.  Drawing needs matplotlib (the [bench]
extra, which CI installs); the rest does not."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import shutil
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FIGURES = ROOT / "docs" / "figures"
BENCH = ROOT / "benchmarks" / "bench_runtime.py"


@pytest.fixture(scope="module")
def bench_runtime():
    """benchmarks/bench_runtime.py as a module; importing it pins BLAS threads in os.environ
    (bench_run does, for the scripts), so the environment and sys.path are restored after."""
    env, path = dict(os.environ), list(sys.path)
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        spec = importlib.util.spec_from_file_location("bench_runtime_under_test", BENCH)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        os.environ.clear()
        os.environ.update(env)
        sys.path[:] = path
    return module


def png_text(data: bytes) -> dict[str, str]:
    """The PNG's tEXt/zTXt/iTXt chunks (keyword -> text), and its size as "width"/"height"."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    found, at = {}, 8
    while at < len(data):
        length, kind = struct.unpack(">I4s", data[at:at + 8])
        body = data[at + 8:at + 8 + length]
        if kind == b"IHDR":
            found["width"], found["height"] = (str(n) for n in struct.unpack(">II", body[:8]))
        elif kind == b"tEXt":
            key, _, text = body.partition(b"\0")
            found[key.decode("latin-1")] = text.decode("latin-1")
        elif kind == b"zTXt":
            key, _, rest = body.partition(b"\0")
            found[key.decode("latin-1")] = zlib.decompress(rest[1:]).decode("latin-1")
        elif kind == b"iTXt":
            key, _, rest = body.partition(b"\0")
            flag, rest = rest[0], rest[2:]
            _, _, rest = rest.partition(b"\0")  # language tag
            _, _, text = rest.partition(b"\0")  # translated keyword
            found[key.decode("latin-1")] = (zlib.decompress(text) if flag else text).decode("utf-8")
        at += 12 + length
    return found


def test_the_readme_shows_the_scaling_figure() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "](docs/figures/bench_scaling.png)" in readme
    assert (FIGURES / "bench_scaling.png").is_file()
    assert "--plot-only" in readme, "the README says how to redraw the figure from the committed record"


def test_the_committed_record_carries_every_series_the_figure_draws(bench_runtime) -> None:
    data = json.loads((FIGURES / "bench.json").read_text(encoding="utf-8"))
    panels = bench_runtime.plot_series(data)
    assert [xlabel for _, xlabel, _ in panels] == ["entries in the registry"] * 2 + ["elements in the tensor"] * 2
    for title, _, series in panels:
        kinds = {kind for kind, _, _ in series}
        labels = [label for _, label, _ in series]
        assert {"impl, contracts on", "impl, python -O", "spec"} <= set(labels), title
        assert {"peer", "floor"} & kinds or title.startswith("register"), f"{title}: no peer or floor"
        for kind, label, points in series:
            assert points and all(isinstance(n, int) and n > 0 and s > 0 for n, s in points.items()), (title, label)
            if kind in ("impl", "spec"):
                assert len(points) >= 2, f"{title}: {label} needs a size axis"
    get, register, accumulate, norm = (dict((label, kind) for kind, label, _ in series) for _, _, series in panels)
    assert get["dict get"] == get["immutables.Map get"] == "peer" and "floor: np.ndarray(shape, dtype, bytes)" in get
    assert register["immutables.Map set"] == "peer"
    assert accumulate["floor: np.add(a, b)"] == accumulate["floor: np.add(a, b, out=c)"] == "floor"
    assert norm["chunked cumsum floor"] == "floor"
    # the tensor panels span the sizes of issue 11, up to a million elements
    sizes = {n for _, _, points in panels[2][2] for n in points}
    assert {10, 1_000_000} <= sizes


def test_the_committed_figure_is_drawn_from_the_committed_record() -> None:
    record = (FIGURES / "bench.json").read_bytes()
    text = png_text((FIGURES / "bench_scaling.png").read_bytes())
    assert text.get("Description") == f"drawn from bench.json sha256 {hashlib.sha256(record).hexdigest()}", \
        "redraw it: .venv/bin/python benchmarks/bench_runtime.py --plot-only (make bench does it after measuring)"


def test_plot_only_redraws_the_figure_from_a_record_without_measuring(tmp_path: Path, require_extra) -> None:
    require_extra("matplotlib")  # the [bench] extra
    shutil.copy(FIGURES / "bench.json", tmp_path / "bench.json")
    before = (tmp_path / "bench.json").read_bytes()
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "MPLBACKEND")}
    done = subprocess.run([sys.executable, str(BENCH), "--plot-only", "--out", str(tmp_path)], capture_output=True,
                          text=True, env=env, timeout=300, cwd=tmp_path)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    assert (tmp_path / "bench.json").read_bytes() == before, "--plot-only must not touch the record"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bench.json", "bench_scaling.png"]
    png = (tmp_path / "bench_scaling.png").read_bytes()
    text = png_text(png)
    assert len(png) > 50_000, "a near-empty figure"
    assert int(text["width"]) >= 1000 and int(text["height"]) >= 900
    assert text["Description"] == f"drawn from bench.json sha256 {hashlib.sha256(before).hexdigest()}"


def test_plot_only_without_a_record_fails_plainly(tmp_path: Path, require_extra) -> None:
    require_extra("matplotlib")  # the [bench] extra
    done = subprocess.run([sys.executable, str(BENCH), "--plot-only", "--out", str(tmp_path)], capture_output=True,
                          text=True, timeout=300, cwd=tmp_path)
    assert done.returncode == 2 and "no bench.json" in done.stderr and not (tmp_path / "bench_scaling.png").exists()
