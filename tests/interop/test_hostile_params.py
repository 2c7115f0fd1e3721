"""Hostile parameter files and paths (attacker findings): a FIFO, a directory or a device is
never opened for reading (no hang), a declared shape numpy cannot represent is a typed limit
error, JSON nesting is bounded before parsing, safetensors order survives any name, an output
that is not a regular file is refused before the input is read.  Run as a user runs the
command (subprocesses with a timeout: a regression hangs no test run)."""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys

import numpy as np
import pytest
from safetensors.numpy import save_file

from torchlean_runtime.errors import ParamFileError, ParamFormatError, ParamLimitError
from torchlean_runtime.interop.commands import one_line, read_any
from torchlean_runtime.interop.pack import Limits, ParamPack, check_dims, read_names_file
from torchlean_runtime.interop.paramio import loads_paramlist_bits, read_paramlist_bits, write_paramlist_bits
from torchlean_runtime.interop.safetensors_io import ORDER_KEY, read_safetensors, write_safetensors
from torchlean_runtime.interop.tlpf32b import is_tlpf32b, read_tlpf32b

pytestmark = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")


def run(*args: str, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "torchlean_runtime", *args], capture_output=True, text=True,
                          cwd=cwd, timeout=60)


def one_error(proc: subprocess.CompletedProcess, code: str, status: int = 2) -> str:
    assert "Traceback" not in proc.stderr + proc.stdout, proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("torchlean-rt: error: ") and f"[{code}]" in lines[0], proc.stderr
    assert proc.returncode == status, (proc.returncode, proc.stderr)
    return lines[0]


@pytest.fixture
def good(tmp_path):
    path = tmp_path / "good.json"
    write_paramlist_bits(path, ParamPack(("p0",), (np.arange(3.0),)))
    return path


@pytest.fixture
def fifo(tmp_path):
    path = tmp_path / "pipe"
    os.mkfifo(path)
    return path


# --- 1. only regular files are opened for reading ------------------------------------------


def test_inspect_of_a_fifo_a_directory_and_a_device_is_refused_never_blocks(fifo, tmp_path):
    for bad in (fifo, tmp_path, "/dev/zero"):
        line = one_error(run("params", "inspect", str(bad)), "TLR_PARAM_IO")
        assert "not a regular file" in line


def test_a_fifo_as_names_file_is_refused(good, fifo):
    line = one_error(run("params", "inspect", str(good), "--names", str(fifo)), "TLR_PARAM_IO")
    assert "names file" in line and "not a regular file" in line
    one_error(run("params", "convert", str(good), str(good.with_name("o.json")), "--names", str(fifo)), "TLR_PARAM_IO")


def test_every_reader_refuses_a_fifo_in_process(fifo):
    for reader in (read_paramlist_bits, read_tlpf32b, read_safetensors, read_names_file, read_any):
        with pytest.raises(ParamFileError, match="not a regular file"):
            reader(fifo)
    assert is_tlpf32b(fifo) is False


def test_a_symlink_to_a_regular_input_is_read(good, tmp_path):
    link = tmp_path / "link.json"
    link.symlink_to(good)
    assert run("params", "inspect", str(link)).returncode == 0


# --- 2. declared shapes are bounded before any allocation ----------------------------------


def _tlpf32b(dims, count) -> bytes:
    return (b"TLPF32B" + struct.pack("<QQ", 2, 1) + struct.pack("<Q", len(dims))
            + struct.pack(f"<{len(dims)}Q", *dims) + struct.pack("<Q", count))


@pytest.mark.parametrize("dims", [[2**62, 0], [0, 2**63], [2**64 - 1, 2**64 - 1, 0], [0] + [2**40] * 3])
def test_an_empty_shape_numpy_cannot_represent_is_a_limit_error(tmp_path, dims):
    path = tmp_path / "huge.bin"
    path.write_bytes(_tlpf32b(dims, 0))
    with pytest.raises(ParamLimitError, match="max_dims_product"):
        read_tlpf32b(path)
    one_error(run("params", "inspect", str(path)), "TLR_PARAM_LIMIT")
    doc = json.dumps({"format": "torchlean_paramlist_bits_v1", "params": [{"shape": dims, "values": []}]})
    with pytest.raises(ParamLimitError, match="max_dims_product"):
        loads_paramlist_bits(doc)


EMPTY_SHAPES_THE_IMPL_REFUSES = [[2**40, 0], [10**6, 10**6, 0], [64_000_001, 0], [8001, 8000, 0]]


@pytest.mark.parametrize("dims", EMPTY_SHAPES_THE_IMPL_REFUSES)
def test_every_reader_refuses_an_empty_shape_the_impl_cannot_hold_naming_it(tmp_path, dims):
    """[2^40, 0] holds no element and is within max_dims_product, but the impl refuses to hold it
    (its nested-structure cap, the spec's checkCap): every reader refuses it up front,
    TLR_PARAM_LIMIT naming the parameter — `params inspect` exits 2, not 1 from create."""
    st = tmp_path / "e.safetensors"
    header = json.dumps({"a": {"dtype": "F64", "shape": dims, "data_offsets": [0, 0]}}).encode()
    st.write_bytes(struct.pack("<Q", len(header)) + header)
    tl = tmp_path / "e.bin"
    tl.write_bytes(_tlpf32b(dims, 0))
    bits = tmp_path / "e.json"
    bits.write_text(json.dumps({"format": "torchlean_paramlist_bits_v1", "params": [{"shape": dims, "values": []}]}))
    for path, read, where in ((st, read_safetensors, "parameter 0 ('a')"), (tl, read_tlpf32b, "parameter 0"),
                              (bits, read_paramlist_bits, "parameter 0 ('p0')")):
        with pytest.raises(ParamLimitError, match="nested sub-tensors") as err:
            read(path)
        assert f"file {path}, {where}:" in err.value.message
    line = one_error(run("params", "inspect", str(st)), "TLR_PARAM_LIMIT")
    assert "parameter 0 ('a')" in line


@pytest.mark.parametrize("dims", [(2**20, 0), (64_000_000, 0), (7999, 8000, 0), (0, 2**40)] + EMPTY_SHAPES_THE_IMPL_REFUSES)
def test_the_readers_empty_shape_bound_is_the_impls(dims):
    """check_dims refuses an empty shape exactly when the impl refuses an array of that shape."""
    from torchlean_runtime.errors import TensorTooLargeError
    from torchlean_runtime.impl.arrays import check_array

    try:
        check_array(np.empty(tuple(dims)), "create")
        impl_refuses = False
    except TensorTooLargeError:
        impl_refuses = True
    try:
        check_dims(tuple(dims), Limits(), None, None)
        reader_refuses = False
    except ParamLimitError:
        reader_refuses = True
    assert reader_refuses == impl_refuses == (list(dims) in EMPTY_SHAPES_THE_IMPL_REFUSES)


def test_element_count_and_byte_size_limits():
    with pytest.raises(ParamLimitError, match="max_elements"):
        check_dims((2**40, 2**40), Limits(), None, None)
    with pytest.raises(ParamLimitError, match="max_bytes"):
        check_dims((100,), Limits(max_bytes=799), None, None)  # 100 float64 = 800 bytes
    assert check_dims((100,), Limits(max_bytes=400), None, None, itemsize=4) == 100
    assert check_dims((0, 2**20), Limits(), None, None) == 0  # a modest empty shape stays fine


def test_a_huge_max_bytes_limit_is_never_allocated_up_front(tmp_path):
    """Readers that take the whole file read what is there (its size, plus one byte to notice
    growth), not ``max_bytes + 1`` bytes reserved in advance: a limit far above memory still
    reads a small file (an up-front ``read(max_bytes + 1)`` is a MemoryError/OverflowError)."""
    huge = Limits(max_bytes=1 << 62)
    names = tmp_path / "names.txt"
    names.write_text("a\nb\n")
    assert read_names_file(names, huge) == ("a", "b")
    bits = tmp_path / "p.json"
    write_paramlist_bits(bits, ParamPack(("p0",), (np.arange(3.0),)))
    assert read_paramlist_bits(bits, limits=huge).arrays[0].tolist() == [0.0, 1.0, 2.0]
    st = tmp_path / "p.safetensors"
    write_safetensors(st, ParamPack(("w",), (np.arange(3.0),)))
    assert read_safetensors(st, limits=huge).arrays[0].tolist() == [0.0, 1.0, 2.0]


# --- 3. JSON nesting is bounded before parsing ---------------------------------------------


def test_deeply_nested_bits_json_is_a_format_error(tmp_path):
    path = tmp_path / "deep.json"
    path.write_text('{"format": "torchlean_paramlist_bits_v1", "params": ' + "[" * 100_000 + "]" * 100_000 + "}")
    with pytest.raises(ParamFormatError, match="nesting too deep"):
        read_paramlist_bits(path)
    one_error(run("params", "inspect", str(path)), "TLR_PARAM_FORMAT")


# --- 4. safetensors order with any name ----------------------------------------------------

NAMES = ("b\nc", "a", "b", "c", "z\r\n\t\x1b[31m")


def _pack():
    return ParamPack(NAMES, tuple(np.arange(float(i + 1)) for i in range(len(NAMES))))


def test_order_survives_names_with_newlines(tmp_path):
    path = tmp_path / "n.safetensors"
    write_safetensors(path, _pack())
    back = read_safetensors(path)
    assert back.names == NAMES and back == _pack()
    assert ORDER_KEY not in (back.metadata or {})


def test_the_old_newline_order_encoding_is_still_read(tmp_path):
    path = tmp_path / "old.safetensors"
    names = ["w", "a", "m"]
    save_file({n: np.arange(float(i + 1)) for i, n in enumerate(names)}, str(path), metadata={ORDER_KEY: "\n".join(names)})
    assert read_safetensors(path).names == tuple(names)
    save_file({}, str(path), metadata={ORDER_KEY: ""})  # the old encoding of an empty pack
    assert read_safetensors(path).names == ()


@pytest.mark.parametrize("order", ['["a", "x"]', "a\nx", '["a"]', "", '["a", "a"]', "[" * 1000])
def test_inconsistent_order_metadata_is_refused(tmp_path, order):
    path = tmp_path / "bad.safetensors"
    save_file({"a": np.zeros(1), "b": np.zeros(2)}, str(path), metadata={ORDER_KEY: order})
    with pytest.raises(ParamFormatError, match="order metadata"):
        read_safetensors(path)
    one_error(run("params", "inspect", str(path)), "TLR_PARAM_FORMAT")


def test_the_inspect_table_shows_each_name_on_one_line(tmp_path):
    path = tmp_path / "n.safetensors"
    write_safetensors(path, _pack())
    proc = run("params", "inspect", str(path))
    assert proc.returncode == 0, proc.stderr
    rows = proc.stdout.splitlines()[5:]  # after file/format/parameters/2 sha256 lines
    assert len(rows) == 1 + len(NAMES)  # the header + one line per parameter
    assert rows[1].split()[1] == "b\\nc" and "\x1b" not in proc.stdout
    assert json.loads(run("params", "inspect", str(path), "--json").stdout)["params"][0]["name"] == "b\nc"  # exact in JSON
    assert one_line("a\\b\u2028") == "a\\\\b\\u2028" and one_line("plain name") == "plain name"


# --- 5. an existing OUT that is not a regular file ----------------------------------------


def test_convert_refuses_a_fifo_a_symlink_and_a_directory_as_out_before_reading(good, fifo, tmp_path):
    other = tmp_path / "other.json"
    other.write_text("keep")
    link = tmp_path / "link.json"
    link.symlink_to(other)
    (tmp_path / "dir.json").mkdir()
    for out in (fifo, link, tmp_path / "dir.json"):
        # the input is a FIFO too: were it read first, the error would be TLR_PARAM_IO
        line = one_error(run("params", "convert", str(fifo), str(out), "--to", "bits"), "TLR_OUTPUT_PATH")
        assert "not a regular file" in line
    assert link.is_symlink() and other.read_text() == "keep" and fifo.is_fifo()
    assert run("params", "convert", str(good), str(other)).returncode == 0  # a regular OUT is replaced


@pytest.mark.parametrize("writer", ["bits", "tlpf32b", "safetensors"])
def test_every_writer_fails_typed_and_leaves_no_partial_file(writer, tmp_path):
    """The three writers share pack.atomic_output: a write into a missing folder is
    TLR_PARAM_IO naming the path, and nothing (no temporary file) is left behind."""
    from torchlean_runtime.interop import write_paramlist_bits, write_safetensors
    from torchlean_runtime.interop.pack import ParamPack
    from torchlean_runtime.interop.tlpf32b import write_tlpf32b

    dtype = np.float64 if writer == "bits" else np.float32
    pack = ParamPack(["w"], [np.arange(3, dtype=dtype)])
    write = {"bits": write_paramlist_bits, "tlpf32b": write_tlpf32b, "safetensors": write_safetensors}[writer]
    target = tmp_path / "missing" / "out"
    with pytest.raises(ParamFileError) as err:
        write(target, pack)
    assert err.value.code == "TLR_PARAM_IO" and str(target) in err.value.message
    assert list(tmp_path.iterdir()) == []
    write(tmp_path / "ok", pack)  # and the same writer succeeds where it can
    assert [p.name for p in tmp_path.iterdir()] == ["ok"]


def test_a_fifo_swapped_in_after_the_check_is_never_opened(tmp_path, monkeypatch):
    """read_safetensors opens its input once and reads it through that handle: the file that
    passed the regular-file check is the only one read.  Replacing the path by a FIFO right
    after the check (the race window of the attacker finding) changes nothing: the original
    tensors come back, and nothing blocks (a blocked open would fail the join)."""
    import threading

    from torchlean_runtime.interop import safetensors_io

    path = tmp_path / "p.safetensors"
    write_safetensors(path, ParamPack(("w", "b"), (np.array([1.5, -2.0]), np.array([3.0])), {}))
    real_open = safetensors_io.open_input

    def open_then_swap(p, limits):
        opened = real_open(p, limits)
        os.unlink(p)
        os.mkfifo(p)  # what an attacker swaps in once the check has passed
        return opened

    monkeypatch.setattr(safetensors_io, "open_input", open_then_swap)
    result = {}
    reader = threading.Thread(target=lambda: result.update(pack=read_safetensors(path)), daemon=True)
    reader.start()
    reader.join(30)
    assert not reader.is_alive(), "read_safetensors blocked on the FIFO swapped in after its check"
    pack = result["pack"]
    assert pack.names == ("w", "b") and [a.tolist() for a in pack.arrays] == [[1.5, -2.0], [3.0]]
    assert path.is_fifo()
