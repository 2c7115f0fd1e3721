"""The interchange value of the interop room: a positional parameter pack.

A :class:`ParamPack` is an ordered tuple of ``(name, array)`` pairs plus optional string
metadata.  Every file format reads into one and writes from one; a pack becomes a
:class:`~torchlean_runtime.impl.RuntimeContext` by registering its parameters in order (so the
context's Lean list, newest first, is the pack reversed) and comes back from a context as its
visible variables (newest entry per name), oldest first.

TorchLean's own formats are positional (Lean ``TList Float ss`` / ``ParamList Float shapes``
carry no names).  Names come from an explicit list — an argument or a names file (one name per
line, UTF-8) — and default to ``p0, p1, …`` (:func:`default_names`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import math
import os
import stat
from typing import Any, BinaryIO, Iterable, Iterator, Mapping, Optional, Sequence

import numpy as np

from torchlean_runtime.errors import (
    InvalidShapeError,
    ParamCountError,
    ParamDtypeError,
    ParamFileError,
    ParamFormatError,
    ParamLimitError,
    TensorTooLargeError,
)
from torchlean_runtime.files import NOT_REGULAR, NotRegularFileError, checked_path, open_regular
from torchlean_runtime.spec.core.string import asLeanString
from torchlean_runtime.spec.core.shape import MAX_RANK, ofList
from torchlean_runtime.spec.core.tensor import checkCap

__all__ = [
    "Limits",
    "DEFAULT_LIMITS",
    "ParamPack",
    "default_names",
    "read_names_file",
    "apply_names",
    "check_dims",
    "check_names",
    "check_shapes",
    "check_limits",
    "check_pack",
    "open_input",
    "read_input",
    "atomic_output",
    "pack_to_context",
    "pack_from_context",
    "summarize",
]

FLOAT64 = np.dtype("<f8")
FLOAT32 = np.dtype("<f4")
INT64 = np.dtype("<i8")
#: The dtypes a RuntimeContext holds: Lean Float, TorchLean IEEE32Exec, Lean Int.
SUPPORTED_DTYPES = (FLOAT64, FLOAT32, INT64)


@dataclasses.dataclass(frozen=True)
class Limits:
    """Reader limits, checked before anything of that size is allocated.

    ``max_bytes``: file size (and the payload bytes of one parameter); ``max_params``: parameter
    records; ``max_rank``: dimensions per parameter (the spec's ``MAX_RANK``); ``max_elements``:
    elements of one parameter (a declared shape larger than this is refused before its payload
    is read)."""

    max_bytes: int = 8 << 30
    max_params: int = 1 << 20
    max_rank: int = MAX_RANK
    max_elements: int = 1 << 33
    #: the largest product of a shape's dimensions with zero dimensions counted as 1: bounds
    #: the declared extent of an EMPTY tensor such as ``[2**62, 0]``, which holds no element
    #: but which numpy cannot represent
    max_dims_product: int = 1 << 40
    #: the deepest JSON nesting read (a bits file needs 4)
    max_json_depth: int = 32


DEFAULT_LIMITS = Limits()
_LIMIT_FIELDS = tuple(f.name for f in dataclasses.fields(Limits))


@dataclasses.dataclass(frozen=True)
class ParamPack:
    """Ordered parameters: ``names[i]`` (an exact ``str``) names ``arrays[i]`` (a read-only,
    C-contiguous, little-endian base-class ndarray of dtype float64, float32 or int64).
    ``metadata`` is the string map a safetensors header carries, as a new plain ``dict`` of
    exact ``str`` (``None`` when the format has none).  The arrays are referenced, not copied
    (a view of the caller's memory; the readers hand out fresh arrays).  ``str``, list, dict and
    ndarray subclasses are read through the base classes' own methods, never their overrides."""

    names: tuple[str, ...]
    arrays: tuple[np.ndarray, ...]
    metadata: Optional[Mapping[str, str]] = None

    def __post_init__(self) -> None:
        # The public boundary: every reader, writer and summary relies on what is checked here.
        # Each value is read once, through the base classes' own C-level methods and metadata
        # (names as exact str, arrays through impl.arrays.exact, metadata as a plain dict of
        # exact str), so nothing a subclass overrides — __eq__/__hash__ of a name, the dtype or
        # shape property of an array, __iter__ of a list — is ever consulted.
        object.__setattr__(self, "names", check_names(self.names, "names"))
        arrays = _items(self.arrays)
        if arrays is None:
            raise ParamFormatError(f"arrays must be a tuple of numpy arrays, given {type(self.arrays).__name__}")
        object.__setattr__(self, "arrays", tuple(_check_array(arr, i) for i, arr in enumerate(arrays)))
        object.__setattr__(self, "metadata", _check_metadata(self.metadata))
        if len(self.names) != len(self.arrays):
            raise ParamCountError(f"{len(self.names)} names for {len(self.arrays)} parameters")
        if len(set(self.names)) != len(self.names):
            seen: set[str] = set()
            dup = next(n for n in self.names if n in seen or seen.add(n))
            raise ParamFormatError(f"duplicate parameter name {dup!r}")

    def __len__(self) -> int:
        return len(self.arrays)

    def items(self) -> Iterable[tuple[str, np.ndarray]]:
        return zip(self.names, self.arrays)

    def __eq__(self, other: object) -> bool:
        """Bitwise: same names, shapes, dtypes, payload bytes and metadata."""
        if not isinstance(other, ParamPack):
            return NotImplemented
        return (
            self.names == other.names
            and dict(self.metadata or {}) == dict(other.metadata or {})
            and all(
                a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()
                for a, b in zip(self.arrays, other.arrays)
            )
        )

    __hash__ = None  # type: ignore[assignment]


def _items(seq: Any) -> Optional[tuple]:
    """The items of a tuple or list (subclasses included) as an exact tuple, read with the base
    class's own C methods (an overridden ``__iter__``, ``__len__`` or ``__getitem__`` is never
    called, so what is checked is what is kept); ``None`` for anything else (a ``str`` too)."""
    t = type(seq)
    if t is tuple:
        return seq
    if t is list or issubclass(t, list):
        return tuple(list.copy(seq))
    if issubclass(t, tuple):
        return tuple.__getitem__(seq, slice(None))
    return None


def _exact_str(x: Any) -> Optional[str]:
    """``x`` as the exact ``str`` with its characters if it is a ``str`` (a subclass too) holding
    a Lean ``String`` (no lone surrogate: the spec's ``asLeanString``), else ``None``.  Decided
    on ``type(x)``: an object whose ``__class__`` claims ``str`` is not one."""
    return asLeanString(x) if issubclass(type(x), str) else None


def _check_array(value: Any, i: int) -> np.ndarray:
    """``value`` as a read-only base-class array of a supported dtype (see :meth:`ParamPack.__post_init__`)."""
    from torchlean_runtime.impl.arrays import exact  # (the impl on use, as pack_to_context: a light import)

    if not issubclass(type(value), np.ndarray):
        raise ParamFormatError(f"arrays[{i}] is a {type(value).__name__}, not a numpy ndarray "
                               "(np.asarray makes one; a numpy scalar is a 0-d array)", param=i)
    arr = exact(value)  # numpy's C-level dtype/shape/strides: a lying property is never read
    if arr is None:
        raise ParamFormatError(f"arrays[{i}] is a {type(value).__name__}: a masked array or np.matrix is refused "
                               "(its mask or matrix semantics would be dropped silently)", param=i)
    if arr.dtype.newbyteorder("<") not in SUPPORTED_DTYPES:
        raise ParamDtypeError(f"arrays[{i}] has dtype {arr.dtype}, not float64, float32 or int64", param=i)
    # as documented: read-only, C-contiguous, little-endian (the readers' arrays already are:
    # kept as they are; another array becomes a read-only view, or a copy only if needed)
    return readonly(arr)


def _check_metadata(metadata: Any) -> Optional[dict[str, str]]:
    """``None``, or the metadata as a new plain ``dict`` of exact ``str`` to exact ``str``
    (Unicode without lone surrogates: the safetensors header is UTF-8 JSON); TLR_PARAM_FORMAT
    otherwise, and for two keys with the same characters (``str`` subclasses that compare by
    identity would otherwise be two keys, and the file could hold only one)."""
    if metadata is None:
        return None
    if issubclass(type(metadata), dict):
        pairs = list(dict.items(metadata))  # the dict's own storage, not an overridden items()
    elif isinstance(metadata, Mapping):
        try:
            pairs = list(dict(metadata).items())
        except Exception:  # noqa: BLE001 - a hostile Mapping
            raise ParamFormatError(f"metadata: the {type(metadata).__name__} could not be read as a mapping") from None
    else:
        raise ParamFormatError(f"metadata must be a mapping of strings or None, given {type(metadata).__name__}")
    out: dict[str, str] = {}
    for key, value in pairs:
        k, v = _exact_str(key), _exact_str(value)
        if k is None or v is None:
            bad = key if k is None else value
            raise ParamFormatError(f"metadata maps strings to strings (valid Unicode), given a {type(bad).__name__}"
                                   + (" with a lone surrogate" if issubclass(type(bad), str) else ""))
        if k in out:
            raise ParamFormatError(f"duplicate metadata key {k!r}")
        out[k] = v
    return out


def check_names(names: Any, what: str = "names", path: object = None) -> tuple[str, ...]:
    """``names`` as a tuple of exact ``str`` (a ``str`` subclass becomes the plain ``str`` with the
    same characters, so its own ``__eq__``/``__hash__`` never reach the duplicate check or a
    file), each UTF-8 can encode (no lone surrogate), or TLR_PARAM_FORMAT naming the first bad
    one (a ``str`` itself is not a list of names)."""
    items = _items(names)
    if items is None:
        raise ParamFormatError(f"{what} must be a list of strings, given {type(names).__name__}", path)
    out = []
    for i, name in enumerate(items):
        exact_name = _exact_str(name)
        if exact_name is None:
            if not issubclass(type(name), str):
                raise ParamFormatError(f"{what}[{i}] must be a str, given {type(name).__name__}", path)
            raise ParamFormatError(f"{what}[{i}] = {str.__str__(name)!r} is not valid Unicode (a lone surrogate)", path)
        out.append(exact_name)
    return tuple(out)


def check_shapes(shapes: Any, path: object = None) -> Optional[tuple[tuple[int, ...], ...]]:
    """``shapes`` (Lean's expected shape list) as a tuple of tuples of non-negative ints, or
    ``None``; TLR_PARAM_FORMAT naming the first bad entry (the rank and size limits apply per
    record, as for the file's own shapes).  Each dimension is read once, as the impl reads a
    shape (:func:`~torchlean_runtime.impl.arrays.check_shape`: ``__index__`` called once, at
    most ``MAX_RANK`` dimensions)."""
    from torchlean_runtime.impl.arrays import check_shape

    if shapes is None:
        return None
    items = _items(shapes)
    if items is None:
        raise ParamFormatError(f"shapes must be a list of shapes, given {type(shapes).__name__}", path)
    out = []
    for i, dims in enumerate(items):
        dim_items = _items(dims)
        if dim_items is None:
            raise ParamFormatError(f"shapes[{i}] must be a list of dimensions, given {type(dims).__name__}", path)
        try:
            out.append(check_shape(dim_items, f"shapes[{i}]"))
        except InvalidShapeError as exc:
            raise ParamFormatError(exc.message, path) from None
    return tuple(out)


def check_limits(limits: Any) -> "Limits":
    """A :class:`Limits` whose every field is a plain non-negative ``int``: each field of
    ``limits`` read once and checked, the result a new exact ``Limits`` (so a subclass whose
    properties answer differently on each read cannot change a limit between its check and its
    use); TLR_PARAM_FORMAT for anything else.  Readers use the returned value."""
    if not isinstance(limits, Limits):
        raise ParamFormatError(f"limits must be a torchlean_runtime.interop.Limits, given {type(limits).__name__}")
    values = {}
    for field in _LIMIT_FIELDS:
        try:
            value = getattr(limits, field)
        except Exception:  # noqa: BLE001 - a hostile property
            raise ParamFormatError(f"limits.{field} could not be read") from None
        n = int(value) if not isinstance(value, bool) and isinstance(value, (int, np.integer)) else None
        if type(n) is not int or n < 0:
            raise ParamFormatError(f"limits.{field} must be a non-negative int, given {type(value).__name__}")
        values[field] = n
    return Limits(**values)


def check_pack(pack: Any) -> "ParamPack":
    """``pack`` if it is a :class:`ParamPack` (whose construction checked its contents); a
    subclass is rebuilt as an exact ParamPack from its fields, read once and checked again (its
    overridden ``names``/``arrays``/``items`` are not trusted); TLR_PARAM_FORMAT for anything
    else.  Callers use the returned pack."""
    if type(pack) is ParamPack:
        return pack
    if not isinstance(pack, ParamPack):
        raise ParamFormatError(f"expected a ParamPack, given {type(pack).__name__}")
    try:
        fields = (pack.names, pack.arrays, pack.metadata)
    except Exception:  # noqa: BLE001 - a hostile property
        raise ParamFormatError(f"the fields of the {type(pack).__name__} could not be read") from None
    return ParamPack(*fields)


def readonly(arr: np.ndarray) -> np.ndarray:
    """A C-contiguous little-endian read-only array with the same bits (copy only if needed)."""
    if not arr.flags.c_contiguous:  # (np.ascontiguousarray would make a 0-d array 1-d)
        arr = arr.copy(order="C")
    if arr.dtype.byteorder == ">":
        arr = arr.astype(arr.dtype.newbyteorder("<"))
    if arr.flags.writeable:
        arr = arr.view()  # a read-only view; the caller's own flags stay as they were
        arr.flags.writeable = False
    return arr


def default_names(count: int) -> tuple[str, ...]:
    """The documented default names of a positional pack: ``p0, p1, …``."""
    return tuple(f"p{i}" for i in range(count))


def read_names_file(path: str | os.PathLike, limits: Limits = DEFAULT_LIMITS) -> tuple[str, ...]:
    """A names file: UTF-8 text, one name per line (``\\n`` or ``\\r\\n``), no empty names.
    Errors: TLR_PARAM_IO, TLR_PARAM_LIMIT, TLR_PARAM_FORMAT."""
    limits = check_limits(limits)
    fh, size = open_input(path, limits, "names file: ")
    try:
        with fh:
            data = read_input(fh, size, limits, path, "names file: ")
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ParamFormatError(f"names file is not UTF-8 ({exc.reason})", path) from None
    except OSError as exc:
        raise ParamFileError(f"cannot read names file: {exc.strerror or exc}", path) from None
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    names = tuple(line[:-1] if line.endswith("\r") else line for line in lines)
    if len(names) > limits.max_params:
        raise ParamLimitError(f"{len(names)} names exceed max_params={limits.max_params}", path)
    for i, name in enumerate(names):
        if not name:
            raise ParamFormatError(f"line {i + 1} is an empty name", path)
    return names


def apply_names(pack: ParamPack, names: Optional[Sequence[str]], path: object = None) -> ParamPack:
    """``pack`` renamed positionally; ``names=None`` keeps it.  A count that differs is
    TLR_PARAM_COUNT (missing or trailing records against the names)."""
    pack = check_pack(pack)
    if names is None:
        return pack
    names = check_names(names, "names", path)
    if len(names) != len(pack):
        what = "missing" if len(pack) < len(names) else "trailing"
        raise ParamCountError(f"{len(names)} names but {len(pack)} parameter records ({what} records)", path)
    return ParamPack(names, pack.arrays, pack.metadata)


def check_dims(dims: Sequence[int], limits: Limits, path: object, param: object, itemsize: int = 8) -> int:
    """Rank, element-count, byte-size and extent limits for one declared shape, checked before
    anything of that shape is allocated; returns the element count (products computed with
    Python ints, so a hostile shape cannot overflow; the extent bound — zero dimensions counted
    as 1 — keeps an empty shape such as ``[2**62, 0]`` within what numpy can represent).  An
    empty shape must also pass the impl's nested-structure cap (:func:`~torchlean_runtime.impl.
    arrays.check_structure`, the spec's ``checkCap``): ``[2**40, 0]`` holds no element but the
    impl refuses to hold it, so a reader refuses it here, TLR_PARAM_LIMIT naming the parameter."""
    if len(dims) > limits.max_rank:
        raise ParamLimitError(f"rank {len(dims)} exceeds max_rank={limits.max_rank}", path, param)
    shown = _show_dims(dims)
    count = math.prod(dims)
    if count > limits.max_elements:
        raise ParamLimitError(f"shape {shown} has {count} elements, above max_elements={limits.max_elements}", path, param)
    if count * itemsize > limits.max_bytes:
        raise ParamLimitError(f"shape {shown} needs {count * itemsize} bytes, above max_bytes={limits.max_bytes}", path, param)
    extent = math.prod(d or 1 for d in dims)
    if extent > limits.max_dims_product:
        raise ParamLimitError(f"shape {shown}: the product of its non-zero dimensions, {extent}, is above "
                              f"max_dims_product={limits.max_dims_product}", path, param)
    if not count:
        # the cap the impl applies to an empty array (impl.arrays.check_structure: the spec's
        # checkCap), so an empty shape the impl would refuse to hold is refused here, up front
        try:
            checkCap(ofList(dims))
        except (TensorTooLargeError, InvalidShapeError) as exc:
            raise ParamLimitError(exc.message, path, param) from None
    return count


def _show_dims(dims: Sequence[int]) -> str:
    text = "[" + ", ".join(map(str, dims)) + "]"
    return text if len(text) <= 200 else text[:200] + "…]"


def open_input(path: str | os.PathLike, limits: Limits = DEFAULT_LIMITS, what: str = "") -> tuple[BinaryIO, int]:
    """``path`` opened for reading, and its size: a regular file only (opened non-blocking and
    fstat-ed: a FIFO, socket, device or directory is TLR_PARAM_IO and never blocks), at most
    ``limits.max_bytes`` (TLR_PARAM_LIMIT)."""
    limits = check_limits(limits)
    try:
        fh = open_regular(path)
    except NotRegularFileError:
        raise ParamFileError(f"{what}{NOT_REGULAR}", path) from None
    except OSError as exc:
        raise ParamFileError(f"{what}cannot read: {exc.strerror or exc}", path) from None
    size = os.fstat(fh.fileno()).st_size
    if size > limits.max_bytes:
        fh.close()
        raise ParamLimitError(f"{what}{size} bytes exceed max_bytes={limits.max_bytes}", path)
    return fh, size


def read_input(fh: BinaryIO, size: int, limits: Limits, path: object, what: str = "") -> bytes:
    """The whole content of ``fh`` (from :func:`open_input`, whose ``fstat`` said ``size``) as
    one ``bytes`` snapshot, for a reader to parse without touching the file again.  Reads to the
    end of the file, never more than ``limits.max_bytes + 1`` bytes: a file that grew past
    ``max_bytes`` since the ``fstat`` is TLR_PARAM_LIMIT; one that shrank gives what is left.
    Memory follows what is read (``size + 1`` bytes, more only if the file grew), never the
    limit itself (``read(max_bytes + 1)`` would allocate the whole limit up front)."""
    data = fh.read(size + 1)  # size <= max_bytes (open_input); the extra byte tells a file that grew
    if len(data) <= size:
        return data
    parts, total = [data], len(data)
    while total <= limits.max_bytes:
        chunk = fh.read(min(1 << 20, limits.max_bytes + 1 - total))
        if not chunk:
            break
        parts.append(chunk)
        total += len(chunk)
    if total > limits.max_bytes:
        raise ParamLimitError(f"{what}more than max_bytes={limits.max_bytes} bytes (the file grew while it was read)", path)
    return b"".join(parts)


def pack_to_context(pack: ParamPack) -> Any:
    """A RuntimeContext holding the pack's parameters, registered in pack order (Lean
    ``registerVariable`` each; ``next_id`` = number of parameters).  One scalar type ``α`` per
    context: mixed dtypes are TLR_PARAM_DTYPE, naming the first parameter that differs."""
    from torchlean_runtime.impl import RuntimeContext

    pack = check_pack(pack)
    dtypes = {a.dtype for a in pack.arrays}
    if len(dtypes) > 1:
        first = pack.arrays[0].dtype
        i = next(i for i, a in enumerate(pack.arrays) if a.dtype != first)
        raise ParamDtypeError(
            f"a RuntimeContext has one scalar type; {pack.names[0]!r} is {first} but {pack.names[i]!r} is {pack.arrays[i].dtype}",
            param=f"{i} ({pack.names[i]!r})",
        )
    ctx = RuntimeContext.empty(dtypes.pop() if dtypes else None)
    for name, arr in pack.items():
        ctx = ctx.register_variable(name, arr)
    return ctx


def pack_from_context(ctx: Any, metadata: Optional[Mapping[str, str]] = None) -> ParamPack:
    """The visible variables of ``ctx`` (newest entry per name — what Lean ``getVariable``
    sees), oldest first, so ``pack_from_context(pack_to_context(p))`` is ``p``.  Shadowed
    entries are not part of a pack."""
    from torchlean_runtime.impl import RuntimeContext

    if not isinstance(ctx, RuntimeContext):
        raise ParamFormatError(f"expected a RuntimeContext, given {type(ctx).__name__}")
    seen: set[str] = set()
    newest_first = []
    for name, arr in ctx.variable_entries():
        if name not in seen:
            seen.add(name)
            newest_first.append((name, arr))
    newest_first.reverse()
    return ParamPack(tuple(n for n, _ in newest_first), tuple(readonly(a) for _, a in newest_first), metadata)


def _hex_bits(x: Any, dtype: np.dtype) -> str:
    bits = np.asarray(x, dtype=dtype).view(f"<u{dtype.itemsize}")
    return f"0x{int(bits):0{dtype.itemsize * 2}x}"


def summarize(pack: ParamPack) -> list[dict[str, Any]]:
    """Per parameter: name, shape, dtype, Lean-exact L2 norm (``Runtime.Variable.variableNorm``
    through the impl's :meth:`Variable.variable_norm`; ``None`` for int64, which has no Lean
    ``Context`` instance), NaN and ±inf counts, sha256 of the little-endian payload bytes."""
    from torchlean_runtime.impl import Variable

    pack = check_pack(pack)
    rows = []
    for i, (name, arr) in enumerate(pack.items()):
        floating = arr.dtype.kind == "f"
        norm = Variable.create(i, name, arr).variable_norm() if floating else None
        rows.append(
            {
                "index": i,
                "name": name,
                "shape": list(arr.shape),
                "dtype": str(arr.dtype),
                "l2_norm": None if norm is None else float(norm),
                "l2_norm_bits": None if norm is None else _hex_bits(norm, arr.dtype),
                "nan_count": int(np.count_nonzero(np.isnan(arr))) if floating else 0,
                "inf_count": int(np.count_nonzero(np.isinf(arr))) if floating else 0,
                "sha256": hashlib.sha256(readonly(arr).reshape(-1).view(np.uint8)).hexdigest(),
            }
        )
    return rows


def _umask() -> int:
    """The process umask (read by setting it and setting it back: there is no getter)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _output_mode(path: str | os.PathLike) -> int:
    """The permission bits of a written file: those of the regular file it replaces, else
    ``0o666`` minus the umask (what ``open(path, "w")`` gives) — the same for every format,
    whatever library wrote the temporary file."""
    try:
        st = os.stat(path)
        if stat.S_ISREG(st.st_mode):
            return stat.S_IMODE(st.st_mode)
    except OSError:
        pass
    return 0o666 & ~_umask()


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike, errors: tuple[type[BaseException], ...] = ()) -> Iterator[str]:
    """The one way a parameter file is written: yield a sibling temporary path to write, then
    rename it onto ``path`` (as Lean's ``writeAtomically``), so a failure leaves no partial file.
    The file gets the mode of the regular file it replaces, else ``0o666`` minus the umask, as
    every ``open(path, "w")`` does (:func:`_output_mode`).
    An OSError (or one of ``errors``) removes the temporary file and becomes ParamFileError
    (TLR_PARAM_IO) naming ``path``."""
    try:
        target = checked_path(path)  # a NUL byte, a lone surrogate, not a path at all: TLR_PARAM_IO
    except OSError as exc:
        raise ParamFileError(f"cannot write: {exc.strerror}", path if isinstance(path, (str, bytes)) else repr(path)[:200]) from None
    tmp = target + (b".tmp-%d" % os.getpid() if isinstance(target, bytes) else f".tmp-{os.getpid()}")
    try:
        yield tmp
        os.chmod(tmp, _output_mode(target))
        os.replace(tmp, target)  # the path checked above: a PathLike's __fspath__ is called once
    except (OSError, *errors) as exc:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise ParamFileError(f"cannot write: {getattr(exc, 'strerror', None) or exc}", path) from None
