"""TorchLean's streamed float32 parameter checkpoint, magic ``TLPF32B``, version 2
(``ParamIO.float32StreamFormat`` / ``writeModuleParamFloat32`` / ``readModuleParamFloat32Into``,
framing from ``Torch/Core/CheckpointIO.lean``).

Byte layout (every integer an unsigned 64-bit little-endian field, ``CheckpointIO.nat64LE``)::

    "TLPF32B"            7 bytes, the family magic
    version              u64 = 2
    parameter count      u64
    per parameter:       rank u64, rank × dim u64, element count u64 (= product of dims),
                         element count × 4 bytes: little-endian IEEE-754 binary32 payload
    end of file          (any trailing byte is refused)

The reader validates the whole file (header, every record's metadata and payload length,
trailing bytes) before it builds anything, as ``readModuleParamFloat32Into`` validates before it
loads; then it reads one tensor at a time straight into its array (peak memory ≈ the payload).
Errors: TLR_PARAM_FORMAT (family, version, truncation, element count, trailing bytes),
TLR_PARAM_COUNT (parameter count against the expected shapes or names), TLR_PARAM_SHAPE,
TLR_PARAM_LIMIT, TLR_PARAM_IO.
"""

from __future__ import annotations

import os
import struct
from typing import BinaryIO, Optional, Sequence

import numpy as np

from torchlean_runtime.errors import (
    ParamCountError,
    ParamDtypeError,
    ParamFileError,
    ParamFormatError,
    ParamLimitError,
    ParamShapeError,
)
from torchlean_runtime.files import open_regular

from .pack import (DEFAULT_LIMITS, FLOAT32, FLOAT64, Limits, ParamPack, apply_names, atomic_output, check_dims, check_limits,
                   check_names, check_pack, check_shapes, default_names, open_input, readonly)

__all__ = ["MAGIC", "VERSION", "write_tlpf32b", "read_tlpf32b", "is_tlpf32b", "to_float32"]

MAGIC = b"TLPF32B"
VERSION = 2
_U64 = struct.Struct("<Q")


def to_float32(arr: np.ndarray) -> np.ndarray:
    """Lean ``Float`` → float32 as TorchLean's writer converts (``torchlean_float_array_to_
    float32_bytes``: a C ``(float)`` cast, i.e. IEEE round-to-nearest-even; numpy's
    ``astype(float32)`` is the same hardware conversion)."""
    with np.errstate(all="ignore"):
        return arr.astype(FLOAT32)


def write_tlpf32b(path: str | os.PathLike, pack: ParamPack, allow_float64: bool = False) -> None:
    """Write ``pack`` as ``writeModuleParamFloat32`` does, one tensor at a time.  float32 arrays
    are written bit for bit; float64 arrays only with ``allow_float64=True`` (rounded by
    :func:`to_float32`), else TLR_PARAM_DTYPE; other dtypes are TLR_PARAM_DTYPE.  Written to a
    sibling temporary file and renamed (Lean's ``writeAtomically``)."""
    pack = check_pack(pack)
    for i, (name, arr) in enumerate(pack.items()):
        if arr.dtype == FLOAT64 and not allow_float64:
            raise ParamDtypeError("float64 → float32 rounds; pass the explicit float32 conversion flag", path, f"{i} ({name!r})")
        if arr.dtype not in (FLOAT32, FLOAT64):
            raise ParamDtypeError(f"TLPF32B holds float32 only, given {arr.dtype}", path, f"{i} ({name!r})")
    with atomic_output(path) as tmp, open(tmp, "wb") as fh:
        fh.write(MAGIC + _U64.pack(VERSION) + _U64.pack(len(pack)))
        for arr in pack.arrays:
            fh.write(_U64.pack(arr.ndim) + b"".join(_U64.pack(d) for d in arr.shape) + _U64.pack(arr.size))
            payload = arr if arr.dtype == FLOAT32 else to_float32(arr)
            fh.write(memoryview(np.ascontiguousarray(payload.reshape(-1))).cast("B"))


def is_tlpf32b(path: str | os.PathLike) -> bool:
    """``isModuleParamFloat32``: the file starts with the magic (version not checked)."""
    try:
        with open_regular(path) as fh:  # a FIFO or device is not a checkpoint (and never blocks)
            return fh.read(len(MAGIC)) == MAGIC
    except OSError:
        return False


def _read_exact(fh: BinaryIO, n: int, path: object, where: object) -> bytes:
    b = fh.read(n)
    if len(b) != n:
        raise ParamFormatError(f"truncated checkpoint (wanted {n} bytes, got {len(b)})", path, where)
    return b


def _u64(fh: BinaryIO, path: object, where: object) -> int:
    return _U64.unpack(_read_exact(fh, 8, path, where))[0]


def _records(fh: BinaryIO, size: int, shapes, names, limits: Limits, path: object):
    """Pass over the header and every record's metadata; yields (index, dims, count) with the
    stream positioned at the payload.  The caller reads or skips the payload."""
    magic = _read_exact(fh, len(MAGIC), path, None)
    if magic != MAGIC:
        raise ParamFormatError("unsupported checkpoint family (bad magic; expected b'TLPF32B')", path)
    version = _u64(fh, path, None)
    if version != VERSION:
        raise ParamFormatError(f"unsupported format version {version}; expected {VERSION}", path)
    n = _u64(fh, path, None)
    if n > limits.max_params:
        raise ParamLimitError(f"{n} parameters exceed max_params={limits.max_params}", path)
    expected = len(shapes) if shapes is not None else (len(names) if names is not None else None)
    if expected is not None and n != expected:
        raise ParamCountError(f"checkpoint parameter count mismatch (file={n}, expected={expected})", path)
    for i in range(n):
        where = f"{i}" if names is None else f"{i} ({names[i]!r})"
        rank = _u64(fh, path, where)
        if rank > limits.max_rank:
            raise ParamLimitError(f"rank {rank} exceeds max_rank={limits.max_rank}", path, where)
        dims = struct.unpack(f"<{rank}Q", _read_exact(fh, 8 * rank, path, where))
        count = _u64(fh, path, where)
        if shapes is not None and dims != tuple(shapes[i]):
            raise ParamShapeError(f"checkpoint shape mismatch (file={list(dims)}, expected={list(shapes[i])})", path, where)
        size_of_dims = check_dims(dims, limits, path, where, itemsize=4)
        if count != size_of_dims:
            raise ParamFormatError(f"element count mismatch for shape {list(dims)} (file={count}, expected={size_of_dims})", path, where)
        if fh.tell() + 4 * count > size:
            raise ParamFormatError(f"truncated checkpoint (payload of {4 * count} bytes, {size - fh.tell()} left)", path, where)
        yield i, dims, count


def read_tlpf32b(
    path: str | os.PathLike,
    shapes: Optional[Sequence[Sequence[int]]] = None,
    names: Optional[Sequence[str]] = None,
    limits: Limits = DEFAULT_LIMITS,
) -> ParamPack:
    """Read a ``TLPF32B`` v2 checkpoint into float32 arrays (exact bits).  ``shapes``: the
    expected shape list (Lean's ``shapes``), ``None`` to take the file's; ``names``: the record
    names (default ``p0, p1, …``)."""
    shapes, names = check_shapes(shapes, path), None if names is None else check_names(names, "names", path)
    limits = check_limits(limits)
    fh, size = open_input(path, limits)  # a regular file only, never blocks
    try:
        with fh:
            # 1. validate everything (metadata read, payloads skipped by seeking)
            for _, _, count in _records(fh, size, shapes, names, limits, path):
                fh.seek(4 * count, os.SEEK_CUR)
            if fh.tell() != size or fh.read(1):
                raise ParamFormatError("trailing bytes after final parameter", path)
            # 2. build, one tensor at a time, each payload read straight into its array
            fh.seek(0)
            arrays = []
            for i, dims, count in _records(fh, size, shapes, names, limits, path):
                arr = np.empty(dims, dtype=FLOAT32)
                if fh.readinto(memoryview(arr.reshape(-1)).cast("B")) != 4 * count:
                    raise ParamFormatError("file changed while reading (truncated payload)", path, i)
                arrays.append(readonly(arr))
    except OSError as exc:
        raise ParamFileError(f"cannot read: {exc.strerror or exc}", path) from None
    pack = ParamPack(default_names(len(arrays)), tuple(arrays))
    return apply_names(pack, names, path) if names is not None else pack
