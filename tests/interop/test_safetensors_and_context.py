"""safetensors through its numpy API, and packs <-> RuntimeContext."""

from __future__ import annotations

import json
import struct

import numpy as np
import pytest
from safetensors.numpy import save_file

from torchlean_runtime.errors import ParamCountError, ParamDtypeError, ParamFormatError, ParamLimitError
from torchlean_runtime.impl import RuntimeContext
from torchlean_runtime.interop.pack import Limits, ParamPack, pack_from_context, pack_to_context, summarize
from torchlean_runtime.interop.safetensors_io import ORDER_KEY, read_safetensors, write_safetensors


def f64(*patterns: int) -> np.ndarray:
    return np.array(patterns, dtype=np.uint64).view(np.float64)


def f32(*patterns: int) -> np.ndarray:
    return np.array(patterns, dtype=np.uint32).view(np.float32)


def test_f64_f32_i64_round_trip_bits_order_and_metadata(tmp_path):
    p = ParamPack(
        ("z.weight", "a.bias", "steps"),
        (f32(0x7F800001, 0x80000000, 1, 0x7FC0BEEF).reshape(2, 2), f64(0x7FF0000000000001, 1 << 63), np.array(-(2**63))),
        {"origin": "test", "epoch": "3"},
    )
    path = tmp_path / "p.safetensors"
    write_safetensors(path, p)
    back = read_safetensors(path)
    assert back == p  # names in pack order (not sorted), bits, dtypes, metadata without the order key
    assert ORDER_KEY not in back.metadata


def test_file_without_order_key_reads_in_payload_order(tmp_path):
    path = tmp_path / "plain.safetensors"
    save_file({"b": np.zeros(2), "a": np.ones(3)}, str(path))
    p = read_safetensors(path)
    assert sorted(p.names) == ["a", "b"] and p.metadata == {}


@pytest.mark.parametrize("dtype", [np.float16, np.int32, np.uint8, np.bool_, np.int8])
def test_other_dtypes_are_refused_naming_the_tensor(tmp_path, dtype):
    path = tmp_path / "x.safetensors"
    save_file({"good": np.zeros(2), "bad.one": np.zeros(2, dtype)}, str(path))
    with pytest.raises(ParamDtypeError) as e:
        read_safetensors(path)
    assert "'bad.one'" in str(e.value) and e.value.code == "TLR_PARAM_DTYPE"


def _raw_safetensors(header: dict, payload: bytes) -> bytes:
    h = json.dumps(header).encode()
    return struct.pack("<Q", len(h)) + h + payload


def test_bf16_is_refused(tmp_path):
    path = tmp_path / "bf.safetensors"
    path.write_bytes(_raw_safetensors({"w": {"dtype": "BF16", "shape": [2], "data_offsets": [0, 4]}}, b"\0" * 4))
    with pytest.raises(ParamDtypeError, match="BF16"):
        read_safetensors(path)


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\x05\0\0\0\0\0\0\0{}",
        _raw_safetensors({"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}, b"\0" * 8),
        _raw_safetensors({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 4]}}, b"\0" * 4),
        _raw_safetensors({"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}, b"\0" * 8),
    ],
    ids=["empty", "short header", "truncated payload", "shape/offset mismatch", "extra payload"],
)
def test_malformed_files_are_format_errors(tmp_path, data):
    path = tmp_path / "m.safetensors"
    path.write_bytes(data)
    with pytest.raises(ParamFormatError):
        read_safetensors(path)


def test_limits_and_names(tmp_path):
    path = tmp_path / "l.safetensors"
    write_safetensors(path, ParamPack(("a", "b"), (np.zeros(4), np.zeros(2))))
    with pytest.raises(ParamLimitError):
        read_safetensors(path, limits=Limits(max_elements=3))
    with pytest.raises(ParamLimitError):
        read_safetensors(path, limits=Limits(max_params=1))
    with pytest.raises(ParamCountError):
        read_safetensors(path, names=["x"])
    assert read_safetensors(path, names=["x", "y"]).names == ("x", "y")


def test_pack_to_context_and_back():
    p = ParamPack(("w", "b"), (np.arange(6.0).reshape(2, 3), f64(0x7FF0000000000001)))
    ctx = pack_to_context(p)
    # Lean registerVariable prepends: the context's list is the pack reversed
    assert ctx.variable_names() == ["b", "w"] and ctx.next_id == 2
    assert ctx.get_variable("w", [2, 3]).tobytes() == p.arrays[0].tobytes()
    assert pack_from_context(ctx) == p


def test_pack_from_context_shows_the_visible_entry_only():
    ctx = RuntimeContext.empty().register_variable("w", np.zeros(2)).register_variable("b", np.ones(1))
    ctx = ctx.register_variable("w", np.full(3, 7.0))  # shadows the first "w"
    p = pack_from_context(ctx)
    assert p.names == ("b", "w") and p.arrays[1].tolist() == [7.0, 7.0, 7.0]


def test_mixed_dtypes_cannot_make_one_context():
    with pytest.raises(ParamDtypeError) as e:
        pack_to_context(ParamPack(("a", "b"), (np.zeros(1), np.zeros(1, np.float32))))
    assert "'b'" in str(e.value)


def test_summary_norm_is_the_lean_fold():
    # variableNorm = sqrt (fold (+) 0 [x*x]) in the array's type: [3, 4] -> 5; float32 stays float32
    rows = summarize(ParamPack(("a", "b", "c"), (np.array([3.0, 4.0]), f32(0x40400000, 0x40800000, 0x7FC00001), np.arange(3))))
    assert rows[0]["l2_norm"] == 5.0 and rows[0]["l2_norm_bits"] == "0x4014000000000000"
    assert rows[1]["l2_norm_bits"] == "0x7fc00001" and rows[1]["nan_count"] == 1  # the first NaN, quieted
    assert rows[2]["l2_norm"] is None and rows[2]["dtype"] == "int64"
    import hashlib

    assert rows[0]["sha256"] == hashlib.sha256(bytes.fromhex("0000000000000840" "0000000000001040")).hexdigest()
