"""TorchLean's streamed float32 checkpoint ``TLPF32B`` v2 (ParamIO.lean
``writeModuleParamFloat32`` / ``readModuleParamFloat32Into``; CheckpointIO.lean ``nat64LE``,
``writeFormat``, ``readFormat``, ``readExact``).  Expected bytes are spelled out from that
layout: magic, u64 version, u64 count, then per tensor u64 rank, u64 dims, u64 element count and
little-endian binary32 payload (``torchlean_float_array_to_float32_bytes``)."""

from __future__ import annotations

import struct

import numpy as np
import pytest

from torchlean_runtime.errors import ParamCountError, ParamDtypeError, ParamFormatError, ParamLimitError, ParamShapeError
from torchlean_runtime.interop.pack import Limits, ParamPack
from torchlean_runtime.interop.tlpf32b import read_tlpf32b, to_float32, write_tlpf32b


def f32(*patterns: int) -> np.ndarray:
    return np.array(patterns, dtype=np.uint32).view(np.float32)


def u64(*xs: int) -> bytes:
    return b"".join(x.to_bytes(8, "little") for x in xs)


# 2x2 matrix [[1.0, -2.5], [sNaN 0x7f800001, -0.0]] and a scalar subnormal 0x00000001
MATRIX = f32(0x3F800000, 0xC0200000, 0x7F800001, 0x80000000).reshape(2, 2)
SCALAR = f32(0x00000001).reshape(())
EXPECTED = (
    b"TLPF32B" + u64(2) + u64(2)
    + u64(2, 2, 2, 4)  # rank 2, dims 2 2, count 4
    + bytes([0x00, 0x00, 0x80, 0x3F, 0x00, 0x00, 0x20, 0xC0, 0x01, 0x00, 0x80, 0x7F, 0x00, 0x00, 0x00, 0x80])
    + u64(0, 1)  # rank 0, no dims, count 1
    + bytes([0x01, 0x00, 0x00, 0x00])
)


@pytest.fixture
def good(tmp_path):
    path = tmp_path / "p.tlpf32b"
    path.write_bytes(EXPECTED)
    return path


def test_writer_lays_out_the_lean_bytes(tmp_path):
    path = tmp_path / "w.bin"
    write_tlpf32b(path, ParamPack(("m", "s"), (MATRIX, SCALAR)))
    assert path.read_bytes() == EXPECTED


def test_reader_keeps_every_bit(good):
    p = read_tlpf32b(good, shapes=[(2, 2), ()], names=["m", "s"])
    assert p.names == ("m", "s") and p.arrays[0].dtype == np.float32 and p.arrays[1].shape == ()
    assert p.arrays[0].tobytes() == MATRIX.tobytes() and p.arrays[1].tobytes() == SCALAR.tobytes()
    assert read_tlpf32b(good).names == ("p0", "p1")


def test_float64_needs_the_explicit_flag_and_rounds_to_nearest_even(tmp_path):
    # 1 + 2^-24 is halfway between 1 and 1 + 2^-23: ties to even -> 1.0;
    # 1 + 3*2^-24 is halfway between 1 + 2^-23 and 1 + 2^-22: ties to even -> 1 + 2^-22;
    # 2^-149 * 1.5 is halfway between the two smallest subnormals -> even (2 * 2^-149).
    x = np.array([1 + 2.0**-24, 1 + 3 * 2.0**-24, 1.5 * 2.0**-149, 1e300])
    p = ParamPack(("x",), (x,))
    with pytest.raises(ParamDtypeError):
        write_tlpf32b(tmp_path / "a.bin", p)
    write_tlpf32b(tmp_path / "a.bin", p, allow_float64=True)
    got = read_tlpf32b(tmp_path / "a.bin").arrays[0].view(np.uint32)
    assert list(got) == [0x3F800000, 0x3F800002, 0x00000002, 0x7F800000]
    assert to_float32(x).tobytes() == got.tobytes()


REFUSALS = [
    ("bad magic", b"TLPF32A" + EXPECTED[7:], ParamFormatError, "family"),
    ("version 1", b"TLPF32B" + u64(1) + EXPECTED[15:], ParamFormatError, "version 1"),
    ("version 3", b"TLPF32B" + u64(3) + EXPECTED[15:], ParamFormatError, "version 3"),
    ("trailing byte", EXPECTED + b"\0", ParamFormatError, "trailing"),
    ("count field wrong", EXPECTED[:47] + u64(5) + EXPECTED[55:], ParamFormatError, "element count"),
    ("payload past the end", b"TLPF32B" + u64(2, 1, 1, 1 << 20, 1 << 20), ParamFormatError, "truncated"),
    ("rank over the cap", b"TLPF32B" + u64(2, 1, 65), ParamLimitError, "rank"),
    ("huge shape", b"TLPF32B" + u64(2, 1, 2, 1 << 40, 1 << 40, 0), ParamLimitError, "max_elements"),
    ("too many parameters", b"TLPF32B" + u64(2, 1 << 62), ParamLimitError, "max_params"),
]


@pytest.mark.parametrize("name,data,error,words", REFUSALS, ids=[r[0] for r in REFUSALS])
def test_refusal(tmp_path, name, data, error, words):
    path = tmp_path / "bad.bin"
    path.write_bytes(data)
    with pytest.raises(error, match=words):
        read_tlpf32b(path)


def test_every_truncation_is_refused(tmp_path):
    path = tmp_path / "t.bin"
    for n in range(len(EXPECTED)):
        path.write_bytes(EXPECTED[:n])
        with pytest.raises(ParamFormatError):
            read_tlpf32b(path)


def test_expected_count_and_shapes(good):
    with pytest.raises(ParamCountError, match="file=2, expected=3"):
        read_tlpf32b(good, shapes=[(2, 2), (), ()])
    with pytest.raises(ParamCountError):
        read_tlpf32b(good, names=["only"])
    with pytest.raises(ParamShapeError) as e:
        read_tlpf32b(good, shapes=[(4,), ()], names=["m", "s"])
    assert "'m'" in str(e.value) and "file=[2, 2], expected=[4]" in str(e.value)


def test_a_late_error_builds_nothing(tmp_path, monkeypatch):
    # the last record is bad: the reader must fail in its validation pass, before it allocates
    # the first tensor (np.empty is never called)
    path = tmp_path / "late.bin"
    path.write_bytes(EXPECTED[:-1])
    import torchlean_runtime.interop.tlpf32b as T

    def no_alloc(*a, **k):
        raise AssertionError("allocated before validation finished")

    monkeypatch.setattr(T.np, "empty", no_alloc)
    with pytest.raises(ParamFormatError):
        read_tlpf32b(path)


def test_limits_on_file_size(good):
    with pytest.raises(ParamLimitError):
        read_tlpf32b(good, limits=Limits(max_bytes=10))


def test_int64_refused_by_writer(tmp_path):
    with pytest.raises(ParamDtypeError):
        write_tlpf32b(tmp_path / "i.bin", ParamPack(("i",), (np.arange(3),)))
    assert not list(tmp_path.iterdir())
