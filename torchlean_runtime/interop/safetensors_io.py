"""safetensors files, validated by the ``safetensors`` package's own reader (no torch needed).

* F64, F32 and I64 tensors load as float64 (Lean ``Float``), float32 (``IEEE32Exec``) and int64
  (``Int``) arrays with their exact bits; any other dtype (BF16, F16, I32, U8, BOOL, …) is
  TLR_PARAM_DTYPE naming the tensor, checked for every tensor before any array is built.
* The header's ``__metadata__`` string map is kept in :attr:`ParamPack.metadata`.
* Order: safetensors stores tensors by name, not position.  :func:`write_safetensors` records
  the pack's order in the metadata key ``torchlean_runtime.order`` as a JSON array of the names
  (one string per name, so a name holding ``\\n`` or any other character is kept exact);
  :func:`read_safetensors` uses it when it names exactly the file's tensors.  Files written
  before (names joined by ``\\n``) are still read when that joined list names exactly the
  file's tensors.  Order metadata that names other tensors, or that both encodings read
  differently, is TLR_PARAM_FORMAT — never silently dropped.  Without the key: the file's
  payload order (ascending ``data_offsets``, as ``safe_open.offset_keys``; empty tensors that
  share an offset in the order the header lists them).  The key is not part of the returned
  metadata.

Untrusted input, read once: the regular file :func:`~.pack.open_input` opened (never a FIFO,
never reopened by name) is read through that handle into one ``bytes`` snapshot, at most
``limits.max_bytes`` bytes (a file that grows past it meanwhile is TLR_PARAM_LIMIT), and
everything after is parsed from that snapshot alone: no memory map (a file truncated under a
mapping kills the process with SIGBUS) and no second read, so a file rewritten while it is
read yields the tensors of one consistent snapshot or a typed error, never a crash.  The
package's Rust deserializer (``safetensors.deserialize``) validates the snapshot (header size,
JSON, dtypes, offsets contiguous and in bounds, dtype × shape = byte length); the header of the
same bytes is then parsed here (nesting bounded by ``limits.max_json_depth``, a duplicate key
refused — the Rust reader keeps one of two silently), the tensor count and each tensor's dtype,
rank, element count and extent are checked against :class:`Limits` (see
:func:`~.pack.check_dims`), and only then is each array copied out of the snapshot.  Peak
memory: the file's bytes plus one copy of the payloads (the validator's copies, dropped before
the arrays are built, then the arrays) — about twice the file.  Errors: TLR_PARAM_FORMAT,
TLR_PARAM_DTYPE, TLR_PARAM_LIMIT, TLR_PARAM_COUNT (``names``), TLR_PARAM_IO.
"""

from __future__ import annotations

import json
import os
import struct
from typing import Optional, Sequence

import numpy as np

from torchlean_runtime.errors import ParamDtypeError, ParamFileError, ParamFormatError, ParamLimitError
from torchlean_runtime.files import json_depth

from .pack import (DEFAULT_LIMITS, FLOAT32, FLOAT64, INT64, Limits, ParamPack, apply_names, atomic_output, check_dims, check_limits,
                   check_names, check_pack, open_input, read_input, readonly)

__all__ = ["ORDER_KEY", "DTYPES", "encode_order", "read_safetensors", "write_safetensors"]

ORDER_KEY = "torchlean_runtime.order"
#: safetensors dtype string → numpy dtype, for the three scalar types a context holds.
DTYPES = {"F64": FLOAT64, "F32": FLOAT32, "I64": INT64}


def read_safetensors(
    path: str | os.PathLike,
    names: Optional[Sequence[str]] = None,
    limits: Limits = DEFAULT_LIMITS,
) -> ParamPack:
    """Load every tensor of a safetensors file (see the module docstring for order, dtypes,
    metadata, and how the file is read).  ``names`` renames the tensors positionally (count
    must match)."""
    from safetensors import SafetensorError, deserialize

    limits = check_limits(limits)
    names = None if names is None else check_names(names, "names", path)
    fh, size = open_input(path, limits)  # a regular file, within max_bytes
    try:
        with fh:
            data = read_input(fh, size, limits, path)  # the one read: everything below parses this snapshot
    except OSError as exc:
        raise ParamFileError(f"cannot read: {exc.strerror or exc}", path) from None
    try:
        deserialize(data)  # validation only: its copies of the payloads are dropped at once
    except SafetensorError as exc:
        raise ParamFormatError(f"not a valid safetensors file: {exc}", path) from None
    base, header = _header(data, limits, path)
    metadata = header.pop("__metadata__", None)
    if metadata is None:
        metadata = {}
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        raise ParamFormatError("__metadata__ must map strings to strings", path)
    if len(header) > limits.max_params:
        raise ParamLimitError(f"{len(header)} tensors exceed max_params={limits.max_params}", path)
    entries = {key: _entry(key, info, path) for key, info in header.items()}
    # payload order (safe_open.offset_keys); dict order (the header's) breaks ties of empty tensors
    keys = sorted(entries, key=lambda k: entries[k][2])
    order = metadata.pop(ORDER_KEY, None)
    if order is not None:
        keys = _decode_order(order, keys, path)
    plans = []  # (dtype, shape, element count, offset in the snapshot) per tensor, in pack order
    for i, key in enumerate(keys):  # every dtype and shape checked before any array is built
        dtype, dims, (begin, end) = entries[key]
        where = f"{i} ({key!r})"
        if dtype not in DTYPES:
            raise ParamDtypeError(f"dtype {dtype} is not one of F64, F32, I64 (Lean Float, IEEE32Exec, Int)", path, where)
        count = check_dims(dims, limits, path, where, itemsize=DTYPES[dtype].itemsize)
        if end - begin != count * DTYPES[dtype].itemsize or base + end > len(data):
            raise ParamFormatError(f"data_offsets {begin}..{end} do not hold shape {list(dims)} of {dtype}", path, where)
        plans.append((DTYPES[dtype], dims, count, base + begin))
    # each array its own copy of its bytes (the snapshot is not kept alive behind a view)
    arrays = tuple(readonly(np.frombuffer(data, dt, count=count, offset=at).reshape(dims).copy())
                   for dt, dims, count, at in plans)
    return apply_names(ParamPack(tuple(keys), arrays, metadata), names, path)


def _header(data: bytes, limits: Limits, path: object) -> tuple[int, dict]:
    """``(offset of the payloads, header object)`` of the snapshot ``data``: total on any bytes
    (every malformation TLR_PARAM_FORMAT), though it runs only on bytes the Rust reader has
    validated; JSON nesting bounded before parsing, duplicate keys refused at every level."""
    if len(data) < 8:
        raise ParamFormatError("not a valid safetensors file: shorter than its 8-byte header length", path)
    (n,) = struct.unpack_from("<Q", data)
    if n > len(data) - 8:
        raise ParamFormatError(f"not a valid safetensors file: header length {n} beyond the end of the file", path)
    try:
        text = data[8:8 + n].decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ParamFormatError(f"the safetensors header is not UTF-8 ({exc.reason})", path) from None
    depth = json_depth(text)
    if depth > limits.max_json_depth:
        raise ParamFormatError(f"the safetensors header nests {depth} levels, above max_json_depth={limits.max_json_depth}", path)
    try:
        header = json.loads(text, object_pairs_hook=_no_duplicates(path), parse_constant=_not_json)
    except ParamFormatError:
        raise
    except (ValueError, RecursionError) as exc:
        raise ParamFormatError(f"the safetensors header is not JSON: {exc}", path) from None
    if not isinstance(header, dict):
        raise ParamFormatError("the safetensors header is not a JSON object", path)
    return 8 + n, header


def _entry(key: str, info: object, path: object) -> tuple[str, tuple[int, ...], tuple[int, int]]:
    """``(dtype, shape, (begin, end))`` of one header entry, each of the type it must have."""
    if isinstance(info, dict):
        dtype, dims, offsets = info.get("dtype"), info.get("shape"), info.get("data_offsets")
        if (isinstance(dtype, str) and isinstance(dims, list) and all(type(d) is int and d >= 0 for d in dims)
                and isinstance(offsets, list) and len(offsets) == 2 and all(type(o) is int and o >= 0 for o in offsets)):
            return dtype, tuple(dims), (offsets[0], offsets[1])
    raise ParamFormatError("a tensor entry needs a string dtype, a shape of naturals and two natural data_offsets",
                           path, repr(key))


def _not_json(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def _no_duplicates(path: object):
    """A ``json`` ``object_pairs_hook`` refusing a key that occurs twice in one object, naming the file."""

    def hook(pairs: list) -> dict:
        out = dict(pairs)
        if len(out) != len(pairs):
            seen: set[str] = set()
            dup = next(k for k, _ in pairs if k in seen or seen.add(k))
            raise ParamFormatError(f"duplicate key {dup!r} in the safetensors header", path)
        return out

    return hook


def encode_order(names: Sequence[str]) -> str:
    """The value of :data:`ORDER_KEY`: a JSON array of the names (control characters escaped,
    so the value is one line and every name is exact)."""
    return json.dumps(list(names))


def _decode_order(order: str, keys: list[str], path: object) -> list[str]:
    """The pack order the metadata states, checked against the file's tensor names ``keys``:
    the JSON array of :func:`encode_order`, or the old ``\\n``-joined list.  TLR_PARAM_FORMAT
    if neither names exactly the file's tensors, or if both do in different orders."""
    readings = []
    if order.startswith("[") and json_depth(order) <= 1:
        try:
            doc = json.loads(order)
        except ValueError:
            doc = None
        if isinstance(doc, list) and all(isinstance(n, str) for n in doc):
            readings.append(doc)
    readings.append(order.split("\n") if order else [])  # the encoding of earlier versions
    fits = [r for r in readings if len(r) == len(keys) and sorted(r) == sorted(keys)]
    if not fits:
        raise ParamFormatError(f"the order metadata {ORDER_KEY!r} does not name exactly the file's {len(keys)} tensors", path)
    if len(fits) == 2 and fits[0] != fits[1]:
        raise ParamFormatError(f"the order metadata {ORDER_KEY!r} is ambiguous (it reads as two different orders)", path)
    return list(fits[0])


def write_safetensors(path: str | os.PathLike, pack: ParamPack) -> None:
    """Save ``pack`` (float64/float32/int64 arrays, bits kept) with its metadata (strings, as
    :class:`ParamPack` guarantees) plus the order key.  Errors: TLR_PARAM_DTYPE,
    TLR_PARAM_FORMAT (not a ParamPack), TLR_PARAM_IO."""
    from safetensors import SafetensorError
    from safetensors.numpy import save_file

    pack = check_pack(pack)
    for i, (name, arr) in enumerate(pack.items()):
        if arr.dtype not in (FLOAT64, FLOAT32, INT64):
            raise ParamDtypeError(f"dtype {arr.dtype} is not float64, float32 or int64", path, f"{i} ({name!r})")
    metadata = dict(pack.metadata or {})  # exact str to exact str (ParamPack's boundary)
    metadata[ORDER_KEY] = encode_order(pack.names)
    with atomic_output(path, (SafetensorError,)) as tmp:
        save_file({n: readonly(a) for n, a in pack.items()}, tmp, metadata=metadata)
