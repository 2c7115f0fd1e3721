"""TorchLean ``torchlean_paramlist_bits_v1`` packs (ParamIO.lean ``writeParamBits`` /
``readParamBits``): exact layouts and every refusal.

The expected texts are derived by hand from the Lean printers, not from our writer:
``Lean.Json.render`` (Printer.lean) makes each object ``bracket "{" (joinSep kvs ("," ++ line))
"}"`` with ``kvs`` folded by prepending — keys in *descending* order ("values" before "shape",
"params" before "format") — each pair ``group ("\\"k\\":" ++ line ++ v)``, and each array
``bracket "[" (joinSep elems ("," ++ line)) "]"``; ``bracket l f r = group (nest 1 (l ++ f ++ r))``.
``Std.Format.pretty`` at width 80 flattens a group iff its flat width plus what follows up to
the next unflattened ``line`` fits in 80 − column; a broken group puts each ``line`` on a new line
at its nest.  ``Json.compress`` writes no whitespace and ascending keys.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from torchlean_runtime.errors import ParamCountError, ParamFormatError, ParamLimitError, ParamShapeError, ParamDtypeError
from torchlean_runtime.interop.pack import Limits, ParamPack
from torchlean_runtime.interop.paramio import (
    FORMAT_TAG,
    dumps_paramlist_bits,
    loads_paramlist_bits,
    read_paramlist_bits,
    write_paramlist_bits,
)


def f64(*patterns: int) -> np.ndarray:
    return np.array(patterns, dtype=np.uint64).view(np.float64)


ONE, TWO = 4607182418800017408, 4611686018427387904  # Float.toBits 1.0, 2.0
NEG_ZERO = 1 << 63


def pack(*arrays: np.ndarray) -> ParamPack:
    return ParamPack(tuple(f"p{i}" for i in range(len(arrays))), tuple(arrays))


# -- layouts ------------------------------------------------------------------------------------

def test_empty_pack_fits_on_one_line():
    # whole top group flat: 55 columns <= 80
    assert dumps_paramlist_bits(pack()) == '{"params": [], "format": "torchlean_paramlist_bits_v1"}'


def test_one_scalar():
    # flat top: 100 columns > 80 -> the top object breaks.  `"params": [...]` at column 1 plus
    # the "," before the top's line: 1 + 58 + 1 <= 80 -> that pair stays flat.
    expected = (
        '{"params": [{"values": [4607182418800017408], "shape": []}],\n'
        ' "format": "torchlean_paramlist_bits_v1"}'
    )
    assert dumps_paramlist_bits(pack(np.array(1.0))) == expected


def test_three_params_breaking_at_every_level():
    # "params" pair: too wide -> newline after `"params":` at the top's nest (1); the params
    # array at column 1 too wide -> each record on its own line at nest 2.  Record 0 flat is
    # 70 columns + "," at column 2: fits.  Record 1: 46 + 1 at column 2: fits.  Record 2 (12
    # values) does not: `"values":` breaks (nest 3), its array breaks (one value per line,
    # nest 4); `"shape": [3, 4]` + "}" + "]" + "," at column 3 fits.
    expected = """{"params":
 [{"values": [4607182418800017408, 4611686018427387904], "shape": [2]},
  {"values": [9223372036854775808], "shape": []},
  {"values":
   [0,
    4607182418800017408,
    4611686018427387904,
    4613937818241073152,
    4616189618054758400,
    4617315517961601024,
    4618441417868443648,
    4619567317775286272,
    4620693217682128896,
    4621256167635550208,
    4621819117588971520,
    4622382067542392832],
   "shape": [3, 4]}],
 "format": "torchlean_paramlist_bits_v1"}"""
    p = pack(np.array([1.0, 2.0]), np.array(-0.0), np.arange(12.0).reshape(3, 4))
    assert dumps_paramlist_bits(p) == expected


def test_record_breaks_but_values_pair_fits():
    # the record flat is 3 + 89 > 80 -> breaks after its "values" pair; that pair at column 3:
    # 73 + "," = 3 + 74 <= 80 -> flat; `"shape": [3]}]` + "," at column 3 fits.
    expected = (
        '{"params":\n'
        ' [{"values": [4607182418800017408, 4611686018427387904, 4613937818241073152],\n'
        '   "shape": [3]}],\n'
        ' "format": "torchlean_paramlist_bits_v1"}'
    )
    assert dumps_paramlist_bits(pack(np.array([1.0, 2.0, 3.0]))) == expected


def test_compact_layout():
    expected = (
        '{"format":"torchlean_paramlist_bits_v1","params":[{"shape":[2],"values":[4607182418800017408,4611686018427387904]},'
        '{"shape":[],"values":[9223372036854775808]},{"shape":[0,3],"values":[]}]}'
    )
    assert dumps_paramlist_bits(pack(np.array([1.0, 2.0]), np.array(-0.0), np.zeros((0, 3))), pretty=False) == expected


@pytest.mark.parametrize("pretty", [True, False])
def test_file_round_trip_keeps_every_bit(tmp_path, pretty):
    special = f64(0x7FF0000000000001, 0xFFF8000000000000, 0x7FF800000000BEEF, 1, NEG_ZERO, 0x7FF0000000000000,
                  0xFFFFFFFFFFFFFFFF, 0x000FFFFFFFFFFFFF, ONE)
    p = ParamPack(("w", "b"), (special.reshape(3, 3), f64(TWO)))
    path = tmp_path / "p.json"
    write_paramlist_bits(path, p, pretty=pretty)
    raw = path.read_bytes()
    assert raw == dumps_paramlist_bits(p, pretty).encode() and not raw.endswith(b"\n")
    back = read_paramlist_bits(path, shapes=[(3, 3), (1,)], names=("w", "b"))
    assert back == p
    assert back.arrays[0].flags.writeable is False


def test_widths_follow_the_column_not_the_count():
    # same structure as test_one_scalar: `"params": [{"values": [0, 0], "shape": [2]}]` is 45
    # columns, + "," at column 1 fits -> flat; only the top object breaks.
    text = dumps_paramlist_bits(pack(np.zeros(2)))
    assert text == '{"params": [{"values": [0, 0], "shape": [2]}],\n "format": "torchlean_paramlist_bits_v1"}'


def test_float32_is_refused_by_the_writer():
    with pytest.raises(ParamDtypeError) as e:
        dumps_paramlist_bits(pack(np.zeros(2, np.float32)))
    assert e.value.code == "TLR_PARAM_DTYPE" and "p0" in str(e.value)


# -- Lean's acceptances --------------------------------------------------------------------------

def test_missing_params_is_an_empty_list_and_missing_values_an_empty_array():
    assert len(loads_paramlist_bits('{"format": "torchlean_paramlist_bits_v1"}')) == 0
    p = loads_paramlist_bits('{"format": "torchlean_paramlist_bits_v1", "params": [{"shape": [0]}]}')
    assert p.arrays[0].shape == (0,)


def test_any_key_order_and_whitespace_read():
    text = ' {"params":[{"shape":[1],"values":[1]}] ,\n"format":"torchlean_paramlist_bits_v1"} '
    assert loads_paramlist_bits(text).arrays[0].view(np.uint64)[0] == 1


# -- refusals -------------------------------------------------------------------------------------

def doc(params, fmt=FORMAT_TAG) -> str:
    return json.dumps({"format": fmt, "params": params})


REFUSALS = [
    ("not json", "{", ParamFormatError),
    ("top not object", "[1]", ParamFormatError),
    ("format missing", '{"params": []}', ParamFormatError),
    ("format not string", '{"format": 1, "params": []}', ParamFormatError),
    ("wrong tag", doc([], "torchlean_paramlist_bits_v2"), ParamFormatError),
    ("params not array", '{"format": "torchlean_paramlist_bits_v1", "params": {}}', ParamFormatError),
    ("record not object", doc([[1]]), ParamFormatError),
    ("shape missing", doc([{"values": [1]}]), ParamFormatError),
    ("shape not array", doc([{"shape": 1, "values": [1]}]), ParamFormatError),
    ("negative dim", doc([{"shape": [-1], "values": []}]), ParamFormatError),
    ("fractional dim", doc([{"shape": [1.0], "values": [1]}]), ParamFormatError),
    ("bool dim", doc([{"shape": [True], "values": [1]}]), ParamFormatError),
    ("values not array", doc([{"shape": [1], "values": 1}]), ParamFormatError),
    ("bits 2^64", doc([{"shape": [1], "values": [1 << 64]}]), ParamFormatError),
    ("negative bits", doc([{"shape": [1], "values": [-1]}]), ParamFormatError),
    ("float bits", doc([{"shape": [1], "values": [1.5]}]), ParamFormatError),
    ("string bits", doc([{"shape": [1], "values": ["1"]}]), ParamFormatError),
    ("too many values", doc([{"shape": [1], "values": [1, 2]}]), ParamFormatError),
    ("too few values", doc([{"shape": [2, 2], "values": [1, 2, 3]}]), ParamFormatError),
    ("scalar without value", doc([{"shape": [], "values": []}]), ParamFormatError),
    ("NaN literal", '{"format": "torchlean_paramlist_bits_v1", "params": [{"shape": [1], "values": [NaN]}]}', ParamFormatError),
    ("5000 digits", '{"format": "torchlean_paramlist_bits_v1", "params": [{"shape": [1], "values": [' + "9" * 5000 + "]}]}", ParamFormatError),
    ("deep nesting", "[" * 100000 + "]" * 100000, ParamFormatError),
    ("not utf-8", b'{"format": "\xff"}', ParamFormatError),
]


@pytest.mark.parametrize("name,text,error", REFUSALS, ids=[r[0] for r in REFUSALS])
def test_refusal(name, text, error):
    with pytest.raises(error) as e:
        loads_paramlist_bits(text)
    assert type(e.value) is error


def test_shape_mismatch_against_expected_names_the_parameter():
    with pytest.raises(ParamShapeError) as e:
        loads_paramlist_bits(doc([{"shape": [2], "values": [1, 2]}]), shapes=[(1, 2)], names=["layer.w"])
    assert e.value.code == "TLR_PARAM_SHAPE" and "'layer.w'" in str(e.value) and "file=[2], expected=[1, 2]" in str(e.value)


def test_missing_and_trailing_records():
    two = doc([{"shape": [1], "values": [1]}, {"shape": [1], "values": [2]}])
    with pytest.raises(ParamCountError, match="missing parameter 3/3"):
        loads_paramlist_bits(two, shapes=[(1,), (1,), (1,)])
    with pytest.raises(ParamCountError, match="1 trailing"):
        loads_paramlist_bits(two, shapes=[(1,)])
    with pytest.raises(ParamCountError):
        loads_paramlist_bits(two, names=["a"])


def test_limits_refuse_before_allocating(tmp_path):
    path = tmp_path / "big.json"
    path.write_text(doc([{"shape": [4], "values": [1, 2, 3, 4]}]))
    with pytest.raises(ParamLimitError):
        read_paramlist_bits(path, limits=Limits(max_bytes=10))
    with pytest.raises(ParamLimitError):
        loads_paramlist_bits(doc([{"shape": [1 << 40, 1 << 40], "values": []}]))
    with pytest.raises(ParamLimitError):
        loads_paramlist_bits(doc([{"shape": [1] * 65, "values": [1]}]))
    with pytest.raises(ParamLimitError):
        loads_paramlist_bits(doc([{"shape": [], "values": [0]}] * 3), limits=Limits(max_params=2))


def test_error_names_file_and_parameter(tmp_path):
    path = tmp_path / "x.json"
    path.write_text(doc([{"shape": [1], "values": [1]}, {"shape": [1], "values": [1 << 64]}]))
    with pytest.raises(ParamFormatError) as e:
        read_paramlist_bits(path)
    assert str(path) in str(e.value) and "parameter 1 ('p1')" in str(e.value) and e.value.param.startswith("1")
