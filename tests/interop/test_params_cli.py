"""``torchlean-rt params inspect`` / ``convert``: round trips between all three formats, exit
codes, no tracebacks."""

from __future__ import annotations

import json

import numpy as np
import pytest

from torchlean_runtime.cli import main
from torchlean_runtime.interop.pack import ParamPack
from torchlean_runtime.interop.paramio import read_paramlist_bits, write_paramlist_bits
from torchlean_runtime.interop.safetensors_io import read_safetensors
from torchlean_runtime.interop.tlpf32b import read_tlpf32b

F64 = np.array([0x7FF0000000000001, 1, 1 << 63, 0x3FF0000000000000, 0xFFF8000000000000, 0x400921FB54442D18],
               dtype=np.uint64).view(np.float64)


@pytest.fixture
def bits_file(tmp_path):
    path = tmp_path / "in.json"
    write_paramlist_bits(path, ParamPack(("p0", "p1"), (F64.reshape(2, 3), np.array(2.0))))
    return path


def test_inspect_json(bits_file, capsys):
    assert main(["params", "inspect", str(bits_file), "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert r["format"] == "torchlean_paramlist_bits_v1" and r["parameters"] == 2
    p0, p1 = r["params"]
    assert p0["shape"] == [2, 3] and p0["dtype"] == "float64" and p0["nan_count"] == 2 and p0["inf_count"] == 0
    assert p1["l2_norm"] == 2.0 and p1["l2_norm_bits"] == "0x4000000000000000"
    assert p0["l2_norm_bits"] == "0x7ff8000000000001"  # variableNorm: the first NaN, quieted


def test_inspect_with_names_and_table(bits_file, tmp_path, capsys):
    names = tmp_path / "names.txt"
    names.write_text("layer.weight\nlayer.bias\n")
    assert main(["params", "inspect", str(bits_file), "--names", str(names)]) == 0
    out = capsys.readouterr().out
    assert "layer.weight" in out and "[2, 3]" in out and "l2 norm (variableNorm)" in out


def test_convert_round_trip_every_format(bits_file, tmp_path, capsys):
    st, back, compact = tmp_path / "a.safetensors", tmp_path / "b.json", tmp_path / "c.json"
    assert main(["params", "convert", str(bits_file), str(st)]) == 0
    assert main(["params", "convert", str(st), str(back)]) == 0
    assert back.read_bytes() == bits_file.read_bytes()  # same pretty layout, same bits
    assert main(["params", "convert", str(back), str(compact), "--to", "bits-compact"]) == 0
    assert read_paramlist_bits(compact) == read_paramlist_bits(bits_file)
    assert read_safetensors(st).names == ("p0", "p1")


def test_float64_to_tlpf32b_needs_the_flag(bits_file, tmp_path, capsys):
    out = tmp_path / "x.tlpf32b"
    assert main(["params", "convert", str(bits_file), str(out)]) == 2
    err = capsys.readouterr().err
    assert "TLR_PARAM_DTYPE" in err and "--to-float32" in err and "Traceback" not in err and not out.exists()
    assert main(["params", "convert", str(bits_file), str(out), "--to-float32"]) == 0
    got = read_tlpf32b(out).arrays[0]
    with np.errstate(invalid="ignore"):  # the signaling NaN is quieted by the cast, as in C
        assert got.tobytes() == F64.reshape(2, 3).astype(np.float32).tobytes()
    # float32 -> bits widens exactly; back to float32 gives the same bits
    again, third = tmp_path / "y.json", tmp_path / "z.tlpf32b"
    assert main(["params", "convert", str(out), str(again)]) == 0
    assert main(["params", "convert", str(again), str(third), "--to-float32"]) == 0
    assert third.read_bytes() == out.read_bytes()


@pytest.mark.parametrize(
    "content",
    [None, b"", b"hello", b'{"format": "x"}', b"TLPF32B" + b"\0" * 3],
    ids=["missing", "empty", "text", "wrong tag", "short tlpf32b"],
)
def test_bad_inputs_exit_2_with_a_code(tmp_path, capsys, content):
    path = tmp_path / "bad"
    if content is not None:
        path.write_bytes(content)
    assert main(["params", "inspect", str(path)]) == 2
    err = capsys.readouterr().err
    assert "[TLR_PARAM_" in err and "Traceback" not in err


def test_usage_errors_exit_2(bits_file, tmp_path, capsys):
    assert main(["params", "convert", str(bits_file), str(tmp_path / "out.xyz")]) == 2
    with pytest.raises(SystemExit) as e:
        main(["params", "inspect"])
    assert e.value.code == 2


def test_names_file_refusals(bits_file, tmp_path, capsys):
    for content, code in [(b"a\n\nb\n", "TLR_PARAM_FORMAT"), (b"\xff\n", "TLR_PARAM_FORMAT"), (b"a\n", "TLR_PARAM_COUNT"),
                          (b"a\na\n", "TLR_PARAM_FORMAT")]:
        names = tmp_path / "n.txt"
        names.write_bytes(content)
        assert main(["params", "inspect", str(bits_file), "--names", str(names)]) == 2
        assert f"[{code}]" in capsys.readouterr().err


def test_inspect_json_keeps_safetensors_metadata(tmp_path, capsys):
    from torchlean_runtime.interop.safetensors_io import write_safetensors

    path = tmp_path / "m.safetensors"
    write_safetensors(path, ParamPack(("w", "n"), (np.ones((2, 2), np.float32), np.arange(3)), {"note": "x"}))
    assert main(["params", "inspect", str(path), "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert r["format"] == "safetensors" and r["metadata"] == {"note": "x"}
    assert [p["name"] for p in r["params"]] == ["w", "n"] and r["params"][1]["l2_norm"] is None
    assert r["params"][0]["l2_norm"] == 2.0
