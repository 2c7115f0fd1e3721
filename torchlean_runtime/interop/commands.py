"""``torchlean-rt params inspect`` / ``params convert``: the logic behind the CLI parser block.

Formats are told apart by content (``TLPF32B`` magic; a safetensors u64 header length followed
by ``{``; a JSON text starting with ``{``), never by extension; an output format comes from
``--to`` or the output's extension (``.json`` bits, ``.safetensors``, ``.tlpf32b``/``.bin``).
Exit status: 0 done, 2 usage error or an unreadable / invalid / refused input (a typed error
with its stable code on stderr, never a traceback).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import struct
import sys
from typing import Any, Optional

import numpy as np

from torchlean_runtime.errors import OutputPathError, ParamDtypeError, ParamError, ParamFileError, ParamFormatError, print_cli_error
from torchlean_runtime.files import NotRegularFileError, check_regular_or_absent

from .pack import FLOAT32, FLOAT64, DEFAULT_LIMITS, Limits, ParamPack, check_pack, open_input, read_names_file, summarize
from .paramio import FORMAT_TAG, read_paramlist_bits, write_paramlist_bits
from .safetensors_io import read_safetensors, write_safetensors
from . import tlpf32b as _tlpf32b
from .tlpf32b import MAGIC, read_tlpf32b, write_tlpf32b

__all__ = ["detect_format", "read_any", "convert_pack", "inspect_main", "convert_main", "FORMATS"]

BITS, BITS_COMPACT, TLPF32B, SAFETENSORS = "bits", "bits-compact", "tlpf32b", "safetensors"
FORMATS = (BITS, BITS_COMPACT, TLPF32B, SAFETENSORS)
_FORMAT_NAMES = {BITS: FORMAT_TAG, TLPF32B: "TLPF32B v2", SAFETENSORS: "safetensors"}
_EXTENSIONS = {".json": BITS, ".safetensors": SAFETENSORS, ".tlpf32b": TLPF32B, ".bin": TLPF32B}


def detect_format(path: str | os.PathLike) -> str:
    """``bits``, ``tlpf32b`` or ``safetensors`` by content; TLR_PARAM_FORMAT if none fits."""
    fh, _ = open_input(path, Limits(max_bytes=1 << 62))  # a regular file only, never blocks
    try:
        with fh:
            head = fh.read(16)
            if head.startswith(MAGIC):
                return TLPF32B
            if len(head) >= 9 and head[8:9] == b"{" and struct.unpack("<Q", head[:8])[0] > 0:
                return SAFETENSORS
            if head.lstrip(b" \t\r\n").startswith(b"{"):
                return BITS
    except OSError as exc:
        raise ParamFileError(f"cannot read: {exc.strerror or exc}", path) from None
    raise ParamFormatError("not a TorchLean bits JSON, TLPF32B or safetensors file", path)


def read_any(path: str | os.PathLike, names: Optional[tuple[str, ...]] = None) -> tuple[str, ParamPack]:
    fmt = detect_format(path)
    reader = {BITS: read_paramlist_bits, TLPF32B: read_tlpf32b, SAFETENSORS: read_safetensors}[fmt]
    return fmt, reader(path, names=names)


def convert_pack(pack: ParamPack, target: str, to_float32: bool, path: object = None) -> tuple[ParamPack, list[str]]:
    """The pack as ``target`` can hold it, and notes on what changed.  Bits format: float64
    kept, float32 widened exactly (as Lean's ``float32BytesToFloatArray``: a C ``(double)``
    cast), int64 refused.  TLPF32B: float32 kept, float64 rounded only with ``to_float32``
    (TLR_PARAM_DTYPE otherwise), int64 refused.  safetensors: everything kept."""
    pack = check_pack(pack)
    if target not in FORMATS:
        raise ParamFormatError(f"unknown target format {target!r} (one of {', '.join(FORMATS)})", path)
    widened: list[str] = []
    rounded: list[str] = []
    if target == SAFETENSORS:
        return pack, []
    arrays = []
    for i, (name, arr) in enumerate(pack.items()):
        where = f"{i} ({name!r})"
        if arr.dtype.kind != "f":
            raise ParamDtypeError(f"{target} holds floats only, given {arr.dtype}", path, where)
        if target in (BITS, BITS_COMPACT) and arr.dtype == FLOAT32:
            with np.errstate(all="ignore"):  # a signaling NaN is quieted, as by the C cast
                arr = arr.astype(FLOAT64)
            widened.append(name)
        elif target == TLPF32B and arr.dtype == FLOAT64:
            if not to_float32:
                raise ParamDtypeError("float64 → float32 rounds; pass --to-float32 to round as TorchLean's writer does", path, where)
            arr = _tlpf32b.to_float32(arr)
            rounded.append(name)
        arrays.append(arr)
    notes = []
    if widened:
        notes.append(f"float32 -> float64 (exact; a signaling NaN becomes quiet): {', '.join(widened)}")
    if rounded:
        notes.append(f"float64 -> float32 (round-to-nearest-even, as TorchLean's writer): {', '.join(rounded)}")
    return ParamPack(pack.names, tuple(arrays), pack.metadata), notes


def _write(path: str, pack: ParamPack, target: str) -> None:
    if target == SAFETENSORS:
        write_safetensors(path, pack)
    elif target == TLPF32B:
        write_tlpf32b(path, pack)
    else:
        write_paramlist_bits(path, pack, pretty=(target == BITS))


def _sha256_file(path: str) -> str:
    h = hashlib.sha256()
    fh, _ = open_input(path, Limits(max_bytes=1 << 62))
    with fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _payload_sha256(pack: ParamPack) -> str:
    h = hashlib.sha256()
    for arr in pack.arrays:
        h.update(arr.reshape(-1).view(np.uint8))
    return h.hexdigest()


def inspect_report(path: str, names: Optional[tuple[str, ...]] = None) -> dict[str, Any]:
    fmt, pack = read_any(path, names)
    return {
        "file": path,
        "format": _FORMAT_NAMES[fmt],
        "file_sha256": _sha256_file(path),
        "payload_sha256": _payload_sha256(pack),
        "parameters": len(pack),
        "metadata": dict(pack.metadata) if pack.metadata is not None else None,
        "params": summarize(pack),
    }


def _table(report: dict[str, Any]) -> str:
    lines = [
        f"file: {one_line(report['file'])}",
        f"format: {report['format']}",
        f"parameters: {report['parameters']}",
        f"file sha256: {report['file_sha256']}",
        f"payload sha256: {report['payload_sha256']}",
    ]
    if report["metadata"]:
        lines.append("metadata: " + json.dumps(report["metadata"], sort_keys=True))
    header = ("#", "name", "shape", "dtype", "l2 norm (variableNorm)", "nan", "inf", "sha256")
    rows = [
        (
            str(r["index"]), one_line(r["name"]), "[" + ", ".join(map(str, r["shape"])) + "]", r["dtype"],
            "-" if r["l2_norm"] is None else f"{r['l2_norm']!r} ({r['l2_norm_bits']})",
            str(r["nan_count"]), str(r["inf_count"]), r["sha256"][:16],
        )
        for r in report["params"]
    ]
    widths = [max(len(x) for x in col) for col in zip(header, *rows)]
    for row in (header, *rows):
        lines.append("  ".join(x.ljust(w) for x, w in zip(row, widths)).rstrip())
    return "\n".join(lines)


def one_line(text: str) -> str:
    """``text`` for a table cell or a line of output: a backslash and every character that is
    not printable (newline, tab, other control and format characters, line separators) shown
    as a Python escape, so a name is always exactly one line and distinct names look distinct."""
    if text.isprintable() and "\\" not in text:
        return text
    return "".join(c if c.isprintable() and c != "\\" else c.encode("unicode_escape").decode("ascii") for c in text)


def _fail(exc: ParamError) -> int:
    print_cli_error(exc.code, f"params: {exc.message}")
    return 2


def inspect_main(args: argparse.Namespace) -> int:
    try:
        names = read_names_file(args.names) if args.names else None
        report = inspect_report(args.file, names)
    except ParamError as exc:
        return _fail(exc)
    print(json.dumps(report, indent=2) if args.json else _table(report))
    return 0


def convert_main(args: argparse.Namespace) -> int:
    target = args.to or _EXTENSIONS.get(os.path.splitext(args.output)[1].lower())
    if target is None:
        print_cli_error("TLR_USAGE", f"params convert: cannot tell the output format of {args.output!r}; "
                                     f"pass --to {{{','.join(FORMATS)}}}")
        return 2
    try:  # the output first: nothing is read for a conversion that could not be written
        check_regular_or_absent(args.output)
    except NotRegularFileError:
        print_cli_error(OutputPathError.code, f"params convert: OUT {one_line(args.output)} exists and is not a regular file "
                                              "(a FIFO, socket, device, directory or symbolic link is never replaced)")
        return 2
    except OSError as exc:
        print_cli_error(OutputPathError.code, f"params convert: OUT {one_line(args.output)}: {exc.strerror or exc}")
        return 2
    try:
        names = read_names_file(args.names) if args.names else None
        fmt, pack = read_any(args.input, names)
        pack, notes = convert_pack(pack, target, args.to_float32, args.input)
        _write(args.output, pack, target)
    except ParamError as exc:
        return _fail(exc)
    for note in notes:
        print(one_line(note))
    print(f"{one_line(args.input)} ({_FORMAT_NAMES[fmt]}) -> {one_line(args.output)} ({target}): {len(pack)} parameters, payload sha256 {_payload_sha256(pack)}")
    return 0
