"""Every parameter writer gives its output the same permission bits (attacker finding 12):
``0o666`` minus the umask for a new file, the old mode when replacing a regular file —
safetensors (written by a library that creates ``0o600`` files) like the others."""

from __future__ import annotations

import os
import stat

import numpy as np
import pytest

from torchlean_runtime.interop.pack import ParamPack
from torchlean_runtime.interop.paramio import write_paramlist_bits
from torchlean_runtime.interop.safetensors_io import write_safetensors
from torchlean_runtime.interop.tlpf32b import write_tlpf32b

WRITERS = {
    "bits": (write_paramlist_bits, np.float64, "o.json"),
    "tlpf32b": (write_tlpf32b, np.float32, "o.tlpf32b"),
    "safetensors": (write_safetensors, np.float64, "o.safetensors"),
}


@pytest.fixture
def umask():
    def set_(mask: int) -> None:
        os.umask(mask)
    old = os.umask(0o022)
    yield set_
    os.umask(old)


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.mark.parametrize("fmt", sorted(WRITERS))
@pytest.mark.parametrize("mask", [0o022, 0o077, 0o002])
def test_a_new_output_honours_the_umask(fmt, mask, umask, tmp_path):
    writer, dtype, name = WRITERS[fmt]
    umask(mask)
    out = tmp_path / name
    writer(out, ParamPack(("a",), (np.arange(3, dtype=dtype),)))
    assert _mode(out) == 0o666 & ~mask


@pytest.mark.parametrize("fmt", sorted(WRITERS))
@pytest.mark.parametrize("old_mode", [0o644, 0o640, 0o664])
def test_replacing_a_file_keeps_its_mode(fmt, old_mode, umask, tmp_path):
    writer, dtype, name = WRITERS[fmt]
    umask(0o077)
    out = tmp_path / name
    out.write_bytes(b"old")
    os.chmod(out, old_mode)
    writer(out, ParamPack(("a",), (np.arange(3, dtype=dtype),)))
    assert _mode(out) == old_mode


# --- the public API validates its arguments (attacker finding 9) -------------------------------
# Every public function of torchlean_runtime.interop raises a typed error with a stable code
# (TLR_PARAM_FORMAT for a malformed argument, TLR_PARAM_DTYPE for an unsupported dtype,
# TLR_PARAM_IO for a path no file can have) — never AttributeError/TypeError/ValueError.

from torchlean_runtime.errors import ParamDtypeError, ParamError, ParamFileError, ParamFormatError  # noqa: E402
from torchlean_runtime.interop import (  # noqa: E402
    Limits,
    pack_from_context,
    pack_to_context,
    read_names_file,
    read_paramlist_bits,
    read_safetensors,
    read_tlpf32b,
    summarize,
)
from torchlean_runtime.interop.paramio import loads_paramlist_bits  # noqa: E402

GOOD = np.arange(3.0)


@pytest.mark.parametrize("names,arrays,error", [
    (("x",), (np.float32(7),), ParamFormatError),        # a numpy scalar, not an ndarray
    (("x",), ([1.0, 2.0],), ParamFormatError),             # a list
    (("x",), (None,), ParamFormatError),
    (("x",), (np.array([1, 2], dtype=object),), ParamDtypeError),
    (("x",), (np.array([1, 2], dtype=np.int32),), ParamDtypeError),
    (("x",), (np.array(["a"]),), ParamDtypeError),
    ((1,), (GOOD,), ParamFormatError),
    ((None,), (GOOD,), ParamFormatError),
    (("\ud800",), (GOOD,), ParamFormatError),
    ("x", (GOOD,), ParamFormatError),                      # a str is not a list of names
    (("x",), GOOD, ParamFormatError),                      # an array is not a tuple of arrays
])
def test_a_malformed_pack_is_refused_at_construction(names, arrays, error):
    with pytest.raises(error):
        ParamPack(names=names, arrays=arrays)


def test_big_endian_arrays_and_lists_of_names_are_accepted(tmp_path):
    pack = ParamPack(["a", "b"], [np.arange(3.0).astype(">f8"), np.arange(2, dtype="<i8")])
    assert pack.names == ("a", "b") and isinstance(pack.arrays, tuple)
    write_safetensors(tmp_path / "o.safetensors", pack)
    assert read_safetensors(tmp_path / "o.safetensors") == pack


@pytest.mark.parametrize("call", [summarize, pack_to_context, pack_from_context,
                                  lambda x: write_safetensors("/tmp/never-written.safetensors", x),
                                  lambda x: write_paramlist_bits("/tmp/never-written.json", x),
                                  lambda x: write_tlpf32b("/tmp/never-written.tlpf32b", x)])
@pytest.mark.parametrize("bad", [None, "pack", [np.arange(3.0)], {"x": np.arange(3.0)}])
def test_functions_taking_a_pack_or_context_refuse_anything_else(call, bad):
    with pytest.raises(ParamFormatError):
        call(bad)
    assert not os.path.exists("/tmp/never-written.safetensors")


@pytest.fixture
def files(tmp_path):
    pack = ParamPack(("a",), (np.arange(3.0),))
    paths = {"bits": tmp_path / "p.json", "tlpf32b": tmp_path / "p.tlpf32b", "safetensors": tmp_path / "p.safetensors"}
    write_paramlist_bits(paths["bits"], pack)
    write_tlpf32b(paths["tlpf32b"], pack, allow_float64=True)
    write_safetensors(paths["safetensors"], pack)
    (tmp_path / "names.txt").write_text("a\n")
    return paths, tmp_path / "names.txt"


READERS = {"bits": read_paramlist_bits, "tlpf32b": read_tlpf32b, "safetensors": read_safetensors}


@pytest.mark.parametrize("fmt", sorted(READERS))
@pytest.mark.parametrize("kwargs", [{"names": [1]}, {"names": ["\ud800"]}, {"names": "a"}, {"names": [None]},
                                    {"limits": "x"}, {"limits": None}, {"limits": {"max_bytes": 1}}])
def test_readers_validate_names_and_limits(files, fmt, kwargs):
    paths, _ = files
    with pytest.raises(ParamFormatError):
        READERS[fmt](paths[fmt], **kwargs)


@pytest.mark.parametrize("fmt", ["bits", "tlpf32b"])
@pytest.mark.parametrize("shapes", [[None], [[3.0]], [[-1]], [[True]], ["3"], 3, [[3], "x"]])
def test_readers_validate_shapes(files, fmt, shapes):
    paths, _ = files
    with pytest.raises(ParamFormatError):
        READERS[fmt](paths[fmt], shapes=shapes)
    assert READERS[fmt](paths[fmt], shapes=[[np.int64(3)]]).arrays[0].shape == (3,)


def test_loads_and_read_names_file_validate_their_arguments(files):
    paths, names_file = files
    with pytest.raises(ParamFormatError):
        loads_paramlist_bits(12)
    with pytest.raises(ParamFormatError):
        loads_paramlist_bits(paths["bits"].read_bytes(), limits="x")
    with pytest.raises(ParamFormatError):
        read_names_file(names_file, limits=7)
    assert read_names_file(names_file, Limits()) == ("a",)


@pytest.mark.parametrize("path", ["a\0b.json", "\ud800.json", 7, None, b"x\0y"])
def test_a_path_no_file_can_have_is_a_file_error(files, path):
    for reader in (*READERS.values(), read_names_file):
        with pytest.raises(ParamFileError):
            reader(path)
    pack = ParamPack(("a",), (np.arange(3.0, dtype=np.float32),))
    for writer in (write_paramlist_bits, write_tlpf32b, write_safetensors):
        with pytest.raises(ParamError) as info:
            writer(path, ParamPack(("a",), (np.arange(3.0),)) if writer is write_paramlist_bits else pack)
        assert isinstance(info.value, ParamFileError), info.value
