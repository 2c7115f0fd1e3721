"""Hostile caller objects at the ParamPack boundary and the other interop entry points
(attacker findings): a ``str`` subclass comparing by identity got two parameters named "w"
past the duplicate check and write_safetensors silently wrote one; an ndarray subclass whose
``dtype`` property lies was trusted even over an object array (heap pointers written as F64
data; untyped ValueError/TypeError from the bits writer).

Every value is now read once through the base classes' own C-level methods — names as exact
``str``, arrays through ``impl.arrays.exact``, metadata as a plain dict of exact ``str``, lists
through ``list.copy``, limits field by field into a new ``Limits`` — so the expected outcome for
each hostile object is a typed TLR_* error or the correct output."""

from __future__ import annotations

import json

import numpy as np
import pytest

from torchlean_runtime.errors import ParamDtypeError, ParamFormatError
from torchlean_runtime.interop.commands import convert_pack
from torchlean_runtime.interop.pack import Limits, ParamPack, pack_to_context, read_names_file, summarize
from torchlean_runtime.interop.paramio import dumps_paramlist_bits, loads_paramlist_bits, read_paramlist_bits, write_paramlist_bits
from torchlean_runtime.interop.safetensors_io import ORDER_KEY, read_safetensors, write_safetensors
from torchlean_runtime.interop.tlpf32b import read_tlpf32b, write_tlpf32b


class IdStr(str):
    """Equal only to itself: two IdStr("w") are two dict keys, two set members."""

    __eq__ = object.__eq__
    __hash__ = object.__hash__


class AllEqual(str):
    """Equal to everything, one hash: "a" and "b" look like duplicates."""

    def __eq__(self, other):
        return True

    def __hash__(self):
        return 0


class DtypeLiar(np.ndarray):
    @property
    def dtype(self):
        return np.dtype(np.float64)


class ShapeLiar(np.ndarray):
    @property
    def shape(self):
        return (1,)

    @property
    def size(self):
        return 1


class FakeStr:
    """Claims to be a str through __class__ (isinstance believes it)."""

    @property
    def __class__(self):
        return str


class IterLiar(list):
    def __iter__(self):
        return iter(["x"] * list.__len__(self))

    def __len__(self):
        return 0


def round_trips(tmp_path, pack: ParamPack) -> dict:
    """What each format gives back after writing ``pack`` (float64 arrays)."""
    write_safetensors(tmp_path / "p.safetensors", pack)
    write_paramlist_bits(tmp_path / "p.json", pack)
    write_tlpf32b(tmp_path / "p.bin", pack, allow_float64=True)
    return {
        "safetensors": read_safetensors(tmp_path / "p.safetensors"),
        "bits": read_paramlist_bits(tmp_path / "p.json", names=list(pack.names)),
        "tlpf32b": read_tlpf32b(tmp_path / "p.bin", names=list(pack.names)),
    }


# --- names ---------------------------------------------------------------------------------


def test_two_names_with_the_same_characters_are_duplicates_whatever_their_eq():
    with pytest.raises(ParamFormatError, match="duplicate parameter name 'w'"):
        ParamPack((IdStr("w"), IdStr("w")), (np.array([1.0]), np.array([2.0])))


def test_names_that_claim_equality_are_told_apart_by_their_characters(tmp_path):
    pack = ParamPack((AllEqual("a"), AllEqual("b")), (np.array([1.0]), np.array([2.0])))
    assert pack.names == ("a", "b") and all(type(n) is str for n in pack.names)
    for got in round_trips(tmp_path, pack).values():
        assert got.names == ("a", "b") and [a.tolist() for a in got.arrays] == [[1.0], [2.0]]


def test_an_object_posing_as_a_str_is_a_typed_error(tmp_path):
    with pytest.raises(ParamFormatError, match=r"names\[0\] must be a str"):
        ParamPack((FakeStr(),), (np.zeros(1),))
    path = tmp_path / "p.safetensors"
    write_safetensors(path, ParamPack(("a",), (np.zeros(1),)))
    with pytest.raises(ParamFormatError, match=r"names\[0\] must be a str"):
        read_safetensors(path, names=[FakeStr()])


def test_a_list_whose_iter_lies_is_read_for_what_it_holds(tmp_path):
    pack = ParamPack(IterLiar(["a", "b"]), IterLiar([np.array([1.0]), np.array([2.0])]))
    assert pack.names == ("a", "b") and [a.tolist() for a in pack.arrays] == [[1.0], [2.0]]
    path = tmp_path / "p.safetensors"
    write_safetensors(path, ParamPack(("a", "b"), pack.arrays))
    assert read_safetensors(path, names=IterLiar(["c", "d"])).names == ("c", "d")


# --- arrays --------------------------------------------------------------------------------


def test_a_dtype_that_lies_over_an_object_array_is_refused():
    liar = np.array([object(), "x"], dtype=object).view(DtypeLiar)
    assert liar.dtype == np.float64  # what the old boundary trusted
    with pytest.raises(ParamDtypeError, match="dtype object"):
        ParamPack(("w",), (liar,))


def test_a_dtype_that_lies_over_int8_is_refused():
    with pytest.raises(ParamDtypeError, match="dtype int8"):
        ParamPack(("w",), (np.arange(3, dtype=np.int8).view(DtypeLiar),))


def test_a_shape_that_lies_is_never_read(tmp_path):
    liar = np.arange(3.0).view(ShapeLiar)
    pack = ParamPack(("w",), (liar,))
    assert type(pack.arrays[0]) is np.ndarray and pack.arrays[0].shape == (3,)
    for got in round_trips(tmp_path, pack).values():
        assert got.arrays[0].shape == (3,) and got.arrays[0].tolist() == [0.0, 1.0, 2.0]
    assert json.loads(dumps_paramlist_bits(pack))["params"][0]["shape"] == [3]
    assert summarize(pack)[0]["shape"] == [3]


@pytest.mark.filterwarnings("ignore:the matrix subclass:PendingDeprecationWarning")
@pytest.mark.parametrize("kind", ["masked", "matrix"])
def test_masked_arrays_and_matrices_are_refused_not_silently_flattened(kind):
    value = np.ma.masked_array([1.0, 2.0], mask=[False, True]) if kind == "masked" else np.matrix([[1.0, 2.0]])
    with pytest.raises(ParamFormatError, match="masked array or np.matrix"):
        ParamPack(("w",), (value,))


# --- metadata ------------------------------------------------------------------------------


def test_two_metadata_keys_with_the_same_characters_are_refused():
    with pytest.raises(ParamFormatError, match="duplicate metadata key 'k'"):
        ParamPack(("w",), (np.zeros(1),), {IdStr("k"): "1", IdStr("k"): "2"})


def test_metadata_is_kept_as_exact_strings_and_the_order_key_stays_the_writers(tmp_path):
    pack = ParamPack(("b", "a"), (np.zeros(1), np.ones(1)), {IdStr(ORDER_KEY): '["a", "b"]', AllEqual("k"): AllEqual("v")})
    assert all(type(k) is str and type(v) is str for k, v in pack.metadata.items())
    path = tmp_path / "m.safetensors"
    write_safetensors(path, pack)
    back = read_safetensors(path)
    assert back.names == ("b", "a") and back.metadata == {"k": "v"}


@pytest.mark.parametrize("metadata", [{"k": "\ud800"}, {"\udfff": "v"}, {"k": 5}, {5: "v"}, {"k": FakeStr()}, ["k"]])
def test_metadata_that_no_safetensors_header_can_hold_is_refused_when_the_pack_is_built(metadata):
    with pytest.raises(ParamFormatError, match="metadata"):
        ParamPack(("w",), (np.zeros(1),), metadata)


def test_a_dict_subclass_is_read_from_its_own_storage(tmp_path):
    class Lying(dict):
        def items(self):
            return [("other", "x")]

        def __iter__(self):
            return iter(["other"])

    pack = ParamPack(("w",), (np.zeros(1),), Lying(k="v"))
    assert pack.metadata == {"k": "v"} and type(pack.metadata) is dict


# --- packs, limits, data -------------------------------------------------------------------


def test_a_pack_subclass_is_rebuilt_from_its_fields_by_every_writer(tmp_path):
    class Sneaky(ParamPack):
        def items(self):
            return zip(("x", "x"), self.arrays)

        def __len__(self):
            return 0

    pack = Sneaky(("a", "b"), (np.array([1.0]), np.array([2.0])))
    for got in round_trips(tmp_path, pack).values():
        assert got.names == ("a", "b") and [a.tolist() for a in got.arrays] == [[1.0], [2.0]]
    assert [r["name"] for r in summarize(pack)] == ["a", "b"]
    assert json.loads(dumps_paramlist_bits(pack))["params"][1]["values"] == [int(np.float64(2.0).view(np.uint64))]
    assert convert_pack(pack, "bits", False)[0].names == ("a", "b")
    assert pack_to_context(pack).variable_names() == ["b", "a"]


@pytest.mark.parametrize("bad", ["x", -1, True, 1.5, None])
def test_limits_fields_must_be_non_negative_ints(tmp_path, bad):
    path = tmp_path / "p.json"
    write_paramlist_bits(path, ParamPack(("p0",), (np.zeros(2),)))
    names = tmp_path / "n.txt"
    names.write_text("p0\n")
    for field in ("max_bytes", "max_params", "max_rank", "max_elements", "max_dims_product", "max_json_depth"):
        limits = Limits(**{field: bad})
        for call in (lambda: read_paramlist_bits(path, limits=limits), lambda: loads_paramlist_bits(path.read_bytes(), limits=limits),
                     lambda: read_names_file(names, limits)):
            with pytest.raises(ParamFormatError, match=f"limits.{field}"):
                call()
    assert read_paramlist_bits(path, limits=Limits(max_bytes=np.int64(1 << 20))).arrays[0].tolist() == [0.0, 0.0]


def test_a_limits_subclass_is_read_once_per_field(tmp_path):
    class Shifty(Limits):
        reads = 0

        @property
        def max_bytes(self):  # generous when checked, then 0: read once, it is one value
            type(self).reads += 1
            return 1 << 20 if type(self).reads == 1 else 0

    path = tmp_path / "p.safetensors"
    write_safetensors(path, ParamPack(("w",), (np.zeros(2),)))
    shifty = object.__new__(Shifty)
    for field in ("max_params", "max_rank", "max_elements", "max_dims_product", "max_json_depth"):
        object.__setattr__(shifty, field, getattr(Limits(), field))
    assert read_safetensors(path, limits=shifty).arrays[0].tolist() == [0.0, 0.0]
    assert Shifty.reads == 1


def test_loads_reads_a_bytes_or_str_subclass_for_its_contents():
    text = dumps_paramlist_bits(ParamPack(("p0",), (np.array([1.5]),)))

    class B(bytes):
        def __len__(self):
            return 0

        def decode(self, *args):
            return 123

    class S(str):
        def __len__(self):
            return 0

        def encode(self, *args):
            return b"{}"

    assert loads_paramlist_bits(B(text.encode())).arrays[0].tolist() == [1.5]
    assert loads_paramlist_bits(S(text)).arrays[0].tolist() == [1.5]
    with pytest.raises(ParamFormatError, match="bytes or str"):
        loads_paramlist_bits(bytearray(text.encode()))


def test_convert_pack_checks_its_arguments():
    with pytest.raises(ParamFormatError, match="expected a ParamPack"):
        convert_pack([np.zeros(1)], "bits", False)
    with pytest.raises(ParamFormatError, match="unknown target format"):
        convert_pack(ParamPack(("w",), (np.zeros(1),)), "pickle", False)


def test_a_pathlike_is_asked_for_its_path_once_per_write(tmp_path):
    """The writers rename onto the path they checked: a PathLike answering differently later
    (here a NUL byte, which os.replace would raise ValueError for) changes nothing."""

    class Shifting:
        def __init__(self, first):
            self.calls, self.first = 0, first

        def __fspath__(self):
            self.calls += 1
            return self.first if self.calls == 1 else "bad\0path"

    pack = ParamPack(("w",), (np.array([1.0, 2.0]),))
    for name, write in (("p.safetensors", write_safetensors), ("p.json", write_paramlist_bits),
                        ("p.bin", lambda p, k: write_tlpf32b(p, k, allow_float64=True))):
        target = Shifting(str(tmp_path / name))
        write(target, pack)
        assert (tmp_path / name).stat().st_size > 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.bin", "p.json", "p.safetensors"]


def test_expected_shapes_are_read_as_the_impl_reads_a_shape(tmp_path):
    """A dimension is read once, by its integer value (``operator.index``, as the impl's
    check_shape), not by an overridable ``__int__`` or ``<``: an int subclass worth 3 is 3."""
    from torchlean_runtime.impl.arrays import check_shape

    class Shifty(int):
        """3, but -1 to int() and never below 0 to <."""

        def __int__(self):
            return -1

        def __lt__(self, other):
            return False

    path = tmp_path / "p.json"
    write_paramlist_bits(path, ParamPack(("p0",), (np.zeros(3),)))
    assert check_shape((Shifty(3),), "create") == (3,)
    assert read_paramlist_bits(path, shapes=[[Shifty(3)]]).arrays[0].shape == (3,)
    assert read_paramlist_bits(path, shapes=[(np.int64(3),)]).arrays[0].shape == (3,)
    with pytest.raises(ParamFormatError, match="non-negative ints"):
        read_paramlist_bits(path, shapes=[[-3]])
