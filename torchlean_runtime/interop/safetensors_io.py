"""safetensors files through the ``safetensors`` package's numpy API (no torch needed).

* F64, F32 and I64 tensors load as float64 (Lean ``Float``), float32 (``IEEE32Exec``) and int64
  (``Int``) arrays with their exact bits; any other dtype (BF16, F16, I32, U8, BOOL, …) is
  TLR_PARAM_DTYPE naming the tensor, checked for every tensor before any payload is read.
* The header's ``__metadata__`` string map is kept in :attr:`ParamPack.metadata`.
* Order: safetensors stores tensors by name, not position.  :func:`write_safetensors` records
  the pack's order in the metadata key ``torchlean_runtime.order`` as a JSON array of the names
  (one string per name, so a name holding ``\\n`` or any other character is kept exact);
  :func:`read_safetensors` uses it when it names exactly the file's tensors.  Files written
  before (names joined by ``\\n``) are still read when that joined list names exactly the
  file's tensors.  Order metadata that names other tensors, or that both encodings read
  differently, is TLR_PARAM_FORMAT — never silently dropped.  Without the key: the file's
  payload order (``safe_open.offset_keys``).  The key is not part of the returned metadata.

Untrusted input: the package's Rust reader (``safe_open``) bounds and validates the header
(size, offsets, overlaps, dtype × shape = byte length); payloads are then read into fresh arrays
(see :func:`_read_payloads`); before loading, this module checks the file size, the tensor count and each
tensor's rank and element count against :class:`Limits`.  Errors: TLR_PARAM_FORMAT,
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
                   check_names, check_pack, open_input, readonly)

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
    metadata).  ``names`` renames the tensors positionally (count must match)."""
    from safetensors import SafetensorError, safe_open

    check_limits(limits)
    names = None if names is None else check_names(names, "names", path)
    fh, _size = open_input(path, limits)  # a regular file, within max_bytes
    try:
        with fh, safe_open(_same_file(fh, path), framework="numpy") as f:
            keys = list(f.offset_keys())
            if len(keys) > limits.max_params:
                raise ParamLimitError(f"{len(keys)} tensors exceed max_params={limits.max_params}", path)
            metadata = dict(f.metadata() or {})
            order = metadata.pop(ORDER_KEY, None)
            if order is not None:
                keys = _decode_order(order, keys, path)
            for i, key in enumerate(keys):
                sl = f.get_slice(key)
                dtype = sl.get_dtype()
                if dtype not in DTYPES:
                    raise ParamDtypeError(
                        f"dtype {dtype} is not one of F64, F32, I64 (Lean Float, IEEE32Exec, Int)", path, f"{i} ({key!r})"
                    )
                check_dims(tuple(sl.get_shape()), limits, path, f"{i} ({key!r})", itemsize=DTYPES[dtype].itemsize)
            arrays = _read_payloads(fh, keys, path)
    except SafetensorError as exc:
        raise ParamFormatError(f"not a valid safetensors file: {exc}", path) from None
    except OSError as exc:
        raise ParamFileError(f"cannot read: {exc.strerror or exc}", path) from None
    return apply_names(ParamPack(tuple(keys), tuple(arrays), metadata), names, path)


def _same_file(fh, path: str | os.PathLike) -> str:
    """A name the ``safetensors`` reader (which opens by name) can open to reach the file ``fh``
    already has open: ``/proc/self/fd/N`` where the system has it and it leads to the same file
    (Linux), so nothing swapped in at ``path`` since ``fh`` was checked (a FIFO would block the
    reader) is ever opened; elsewhere ``path`` itself (a small window remains there)."""
    proc = f"/proc/self/fd/{fh.fileno()}"
    try:
        mine, there = os.fstat(fh.fileno()), os.stat(proc)
    except OSError:
        return os.fspath(path)
    return proc if (mine.st_dev, mine.st_ino) == (there.st_dev, there.st_ino) else os.fspath(path)


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


def _no_duplicates(pairs: list) -> dict:
    keys = [k for k, _ in pairs]
    if len(set(keys)) != len(keys):
        raise ParamFormatError("duplicate key in the safetensors header")
    return dict(pairs)


def _read_payloads(fh, keys: list[str], path: str | os.PathLike) -> list[np.ndarray]:
    """Each tensor read from the open file ``fh`` straight into a fresh array (``readinto`` at
    its ``data_offsets``): one copy of the payload, no memory-mapped pages kept resident.  Runs
    only after ``safe_open`` has validated the header of this same file (offsets contiguous, in
    bounds, matching shape and dtype), so the header JSON parsed here is known-good."""
    fh.seek(0)
    (n,) = struct.unpack("<Q", fh.read(8))
    header = json.loads(fh.read(n), object_pairs_hook=_no_duplicates)
    base = 8 + n
    size = os.fstat(fh.fileno()).st_size
    arrays = []
    for key in keys:
        info = header[key]
        begin, end = info["data_offsets"]
        arr = np.empty(tuple(info["shape"]), dtype=DTYPES[info["dtype"]])
        if end - begin != arr.nbytes or base + end > size:  # (re-checked: cheap, and local)
            raise ParamFormatError(f"data_offsets {begin}..{end} do not hold shape {info['shape']}", path, repr(key))
        fh.seek(base + begin)
        if fh.readinto(memoryview(arr.reshape(-1)).cast("B")) != end - begin:
            raise ParamFormatError("file changed while reading (truncated payload)", path, repr(key))
        arrays.append(readonly(arr))
    return arrays


def write_safetensors(path: str | os.PathLike, pack: ParamPack) -> None:
    """Save ``pack`` (float64/float32/int64 arrays, bits kept) with its metadata plus the order
    key.  Errors: TLR_PARAM_DTYPE, TLR_PARAM_FORMAT (a metadata key/value that is not a
    string), TLR_PARAM_IO."""
    from safetensors import SafetensorError
    from safetensors.numpy import save_file

    for i, (name, arr) in enumerate(check_pack(pack).items()):
        if arr.dtype not in (FLOAT64, FLOAT32, INT64):
            raise ParamDtypeError(f"dtype {arr.dtype} is not float64, float32 or int64", path, f"{i} ({name!r})")
    metadata = dict(pack.metadata or {})
    if any(not isinstance(k, str) or not isinstance(v, str) for k, v in metadata.items()):
        raise ParamFormatError("safetensors metadata maps strings to strings", path)
    metadata[ORDER_KEY] = encode_order(pack.names)
    with atomic_output(path, (SafetensorError,)) as tmp:
        save_file({n: readonly(a) for n, a in pack.items()}, tmp, metadata=metadata)
