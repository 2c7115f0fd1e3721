"""TorchLean's ``torchlean_paramlist_bits_v1`` JSON parameter packs
(``NN/Runtime/Autograd/TorchLean/ParamIO.lean``: ``writeParamBits`` / ``readParamBits``).

A file is ``{"format": "torchlean_paramlist_bits_v1", "params": [{"shape": [d…], "values":
[u64…]}…]}``: each value is the IEEE-754 bit pattern of a Lean ``Float`` (``Float.toBits``) as a
JSON natural, so every NaN payload, subnormal and −0 survives.  Float (float64) only.

* :func:`write_paramlist_bits` lays the text out exactly as ``writeParamBits`` does:
  ``pretty=True`` (ParamIO's default) is ``Lean.Json.pretty`` at width 80, ``pretty=False`` is
  ``Lean.Json.compress`` (see :mod:`.leanjson`); UTF-8, no trailing newline.
* :func:`read_paramlist_bits` refuses what ``readParamBits`` refuses, with typed errors: not
  JSON / not an object (TLR_PARAM_FORMAT), a missing or non-string ``format`` or another tag
  (TLR_PARAM_FORMAT), ``params`` not an array, a record that is not an object, a ``shape`` that
  is not an array of naturals, ``values`` not an array, a value that is not a natural or is
  ≥ 2^64, an element count other than the shape's size (all TLR_PARAM_FORMAT), a shape other
  than the expected one (TLR_PARAM_SHAPE), missing or trailing records against the expected
  shapes or names (TLR_PARAM_COUNT); plus the reader limits (TLR_PARAM_LIMIT) before parsing.
  Like Lean, a missing ``params`` is an empty list and a missing ``values`` an empty array.
"""

from __future__ import annotations

import json
import os
from typing import Any, Optional, Sequence

import numpy as np

from torchlean_runtime.errors import (
    ParamCountError,
    ParamDtypeError,
    ParamFileError,
    ParamFormatError,
    ParamLimitError,
    ParamShapeError,
)
from torchlean_runtime.files import json_depth

from . import leanjson as LJ
from .pack import (DEFAULT_LIMITS, FLOAT64, Limits, ParamPack, apply_names, atomic_output, check_dims, check_limits, check_names,
                   check_pack, check_shapes, default_names, open_input, read_input, readonly)

__all__ = ["FORMAT_TAG", "write_paramlist_bits", "dumps_paramlist_bits", "read_paramlist_bits", "loads_paramlist_bits"]

#: ParamIO.formatTag
FORMAT_TAG = "torchlean_paramlist_bits_v1"


def _bits(pack: ParamPack, path: object) -> list[np.ndarray]:
    out = []
    for i, (name, arr) in enumerate(pack.items()):
        if arr.dtype != FLOAT64:
            raise ParamDtypeError(
                f"the bits format holds Lean Float (float64) only, given {arr.dtype}; convert explicitly", path, f"{i} ({name!r})"
            )
        out.append(np.ascontiguousarray(arr).reshape(-1).view("<u8"))
    return out


def _dims(arr: np.ndarray) -> np.ndarray:
    return np.array(arr.shape, dtype=np.uint64)


def write_paramlist_bits(path: str | os.PathLike, pack: ParamPack, pretty: bool = True) -> None:
    """Write ``pack`` (float64 arrays; names are not stored — the format is positional) as
    ``writeParamBits path ps pretty`` does.  Errors: TLR_PARAM_DTYPE (not float64),
    TLR_PARAM_IO.  Written to a sibling temporary file and renamed (as Lean's
    ``writeAtomically``), so a failure leaves no partial file."""
    pack = check_pack(pack)
    bits = _bits(pack, path)
    with atomic_output(path) as tmp, open(tmp, "w", encoding="utf-8", newline="") as fh:
        _write(fh.write, pack, bits, pretty)


def dumps_paramlist_bits(pack: ParamPack, pretty: bool = True) -> str:
    """The text :func:`write_paramlist_bits` writes."""
    pack = check_pack(pack)
    parts: list[str] = []
    _write(parts.append, pack, _bits(pack, None), pretty)
    return "".join(parts)


def _write(out, pack: ParamPack, bits: list[np.ndarray], pretty: bool) -> None:
    if pretty:
        records = [
            LJ.render_object({"shape": LJ.Nums(_dims(a)), "values": LJ.Nums(b)}) for a, b in zip(pack.arrays, bits)
        ]
        LJ.pretty(LJ.render_object({"format": LJ.Text(f'"{FORMAT_TAG}"'), "params": LJ.render_array(records)}), out)
        return
    # Json.compress: ascending keys — "format" < "params", "shape" < "values"
    out(f'{{"format":"{FORMAT_TAG}","params":[')
    for i, (arr, b) in enumerate(zip(pack.arrays, bits)):
        out(("," if i else "") + '{"shape":[' + ",".join(map(str, arr.shape)) + '],"values":[')
        step = 1 << 16
        for start in range(0, b.size, step):
            out(("," if start else "") + ",".join(map(str, b[start:start + step].tolist())))
        out("]}")
    out("]}")


# -- reading -----------------------------------------------------------------------------------


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def read_paramlist_bits(
    path: str | os.PathLike,
    shapes: Optional[Sequence[Sequence[int]]] = None,
    names: Optional[Sequence[str]] = None,
    limits: Limits = DEFAULT_LIMITS,
) -> ParamPack:
    """Read a pack as ``readParamBits`` does.  ``shapes``: the expected shape list (Lean's
    ``ss``), or ``None`` to take shapes from the file; ``names``: names for the records (default
    ``p0, p1, …``).  Returns float64 arrays with the file's exact bit patterns.  Nothing is
    returned unless the whole file is valid."""
    shapes, names = check_shapes(shapes, path), None if names is None else check_names(names, "names", path)
    limits = check_limits(limits)
    fh, size = open_input(path, limits)  # a regular file only, never blocks
    try:
        with fh:
            data = read_input(fh, size, limits, path)  # bounded by max_bytes even if the file grows
    except OSError as exc:
        raise ParamFileError(f"cannot read: {exc.strerror or exc}", path) from None
    return loads_paramlist_bits(data, shapes, names, limits, path)


def loads_paramlist_bits(
    data: bytes | str,
    shapes: Optional[Sequence[Sequence[int]]] = None,
    names: Optional[Sequence[str]] = None,
    limits: Limits = DEFAULT_LIMITS,
    path: object = None,
) -> ParamPack:
    """:func:`read_paramlist_bits` on the file's contents."""
    limits = check_limits(limits)
    shapes, names = check_shapes(shapes, path), None if names is None else check_names(names, "names", path)
    # read once through the base classes' own methods: a subclass's len()/decode() is never called
    if issubclass(type(data), bytes):
        data = bytes.__getitem__(data, slice(None))
    elif issubclass(type(data), str):
        data = str.__str__(data)
    else:
        raise ParamFormatError(f"data must be bytes or str, given {type(data).__name__}", path)
    if isinstance(data, bytes):
        if len(data) > limits.max_bytes:
            raise ParamLimitError(f"{len(data)} bytes exceed max_bytes={limits.max_bytes}", path)
        try:
            data = data.decode("utf-8")  # IO.FS.readFile: the file must be UTF-8
        except UnicodeDecodeError as exc:
            raise ParamFormatError(f"not UTF-8 text ({exc.reason} at byte {exc.start})", path) from None
    depth = json_depth(data)  # measured before parsing: the parser never recurses deeper
    if depth > limits.max_json_depth:
        raise ParamFormatError(f"JSON parse error: nesting too deep ({depth} levels, at most {limits.max_json_depth})", path)
    try:
        # The stdlib parser is linear; NaN/Infinity are not JSON (Lean's parser refuses them).
        top = json.loads(data, parse_constant=_reject_constant)
    except RecursionError:
        raise ParamFormatError("JSON parse error: nesting too deep", path) from None
    except ValueError as exc:  # JSONDecodeError, over-long integers, NaN/Infinity
        raise ParamFormatError(f"JSON parse error: {exc}", path) from None
    if not isinstance(top, dict):
        raise ParamFormatError(f"expected object, got {_kind(top)}", path)
    tag = top.get("format", "")
    if not isinstance(tag, str):
        raise ParamFormatError("missing `format` string", path)
    if tag != FORMAT_TAG:
        raise ParamFormatError(f"unsupported format: {tag!r} (expected {FORMAT_TAG!r})", path)
    records = top.get("params", [])
    if not isinstance(records, list):
        raise ParamFormatError(f"`params` must be an array, got {_kind(records)}", path)
    if len(records) > limits.max_params:
        raise ParamLimitError(f"{len(records)} parameter records exceed max_params={limits.max_params}", path)
    expected = len(shapes) if shapes is not None else (len(names) if names is not None else None)
    if expected is not None and len(records) < expected:
        raise ParamCountError(f"missing parameter {len(records) + 1}/{expected}", path)
    if expected is not None and len(records) > expected:
        raise ParamCountError(f"unexpected {len(records) - expected} trailing parameter record(s)", path)
    names = tuple(names) if names is not None else default_names(len(records))
    arrays = []
    for i, rec in enumerate(records):
        where = f"{i} ({names[i]!r})"
        arrays.append(_record(rec, None if shapes is None else tuple(shapes[i]), limits, path, where))
    return apply_names(ParamPack(default_names(len(arrays)), tuple(arrays)), names, path)


def _kind(x: Any) -> str:
    return {dict: "object", list: "array", str: "string", bool: "bool", type(None): "null", int: "number", float: "number"}.get(type(x), type(x).__name__)


def _nat_array(xs: list, what: str, path: object, where: str) -> np.ndarray:
    """JSON naturals < 2^64 as uint64 (Lean ``getNat?``: an integer literal ≥ 0; ``1.0`` and
    ``true`` are not naturals)."""
    if any(type(x) is not int for x in xs):
        bad = next(x for x in xs if type(x) is not int)
        raise ParamFormatError(f"{what}: expected a natural number, got {_kind(bad)} {json.dumps(bad)[:40]}", path, where)
    try:
        return np.array(xs, dtype=np.uint64)
    except OverflowError:
        bad = next(x for x in xs if x < 0 or x >= 1 << 64)
        if bad < 0:
            raise ParamFormatError(f"{what}: expected a natural number, got {bad}", path, where) from None
        raise ParamFormatError(f"{what}: float bits out of range (expected < 2^64, got {bad})", path, where) from None


def _record(rec: Any, expected: Optional[tuple[int, ...]], limits: Limits, path: object, where: str) -> np.ndarray:
    # ParamIO.tensorFromJsonBits, in its order: object, shape array of naturals, shape check,
    # values array of bit patterns, element count.
    if not isinstance(rec, dict):
        raise ParamFormatError(f"expected object, got {_kind(rec)}", path, where)
    shape_j = rec.get("shape")
    if not isinstance(shape_j, list):
        raise ParamFormatError(f"`shape` must be an array of naturals, got {_kind(shape_j)}", path, where)
    if len(shape_j) > limits.max_rank:
        raise ParamLimitError(f"rank {len(shape_j)} exceeds max_rank={limits.max_rank}", path, where)
    dims = tuple(int(d) for d in _nat_array(shape_j, "shape", path, where))
    if expected is not None and dims != expected:
        raise ParamShapeError(f"shape mismatch (file={list(dims)}, expected={list(expected)})", path, where)
    count = check_dims(dims, limits, path, where)
    values_j = rec.get("values", [])
    if not isinstance(values_j, list):
        raise ParamFormatError(f"`values` must be an array, got {_kind(values_j)}", path, where)
    bits = _nat_array(values_j, "values", path, where)
    if bits.size != count:
        raise ParamFormatError(f"expected {count} scalars for shape {list(dims)}, got {bits.size}", path, where)
    return readonly(bits.view(FLOAT64).reshape(dims))
