"""Opening input files that may be hostile — the one helper every reader uses (bottom layer).

* :func:`open_regular` opens a path for reading only if it is a **regular file**: it is opened
  with ``O_NONBLOCK`` (so a FIFO never blocks the open) and ``O_NOCTTY``, then ``fstat``-ed on the
  descriptor (no race between the check and the read); a FIFO, socket, device or directory is
  refused with :class:`NotRegularFileError`, an ``OSError`` whose ``strerror`` says so.
* :func:`read_regular` reads at most ``limit + 1`` bytes of such a file (the caller compares the
  length with its limit and raises its own typed limit error).
* :func:`write_text` writes an output text file; its ``OSError`` always names the path (a write
  to a full disk, ``ENOSPC``, names no file by itself).
* :func:`json_depth` measures the nesting depth of a JSON text in one linear pass, before it is
  parsed (so a parser never recurses without bound).

Errors are plain ``OSError``s: each reader already turns an ``OSError`` into its own typed error
(``TLR_TRACE_FORMAT``, ``TLR_PARAM_IO``, ``TLR_PATH``…), so the stable codes stay the readers'.
"""

from __future__ import annotations

import errno
import os
import re
import stat
from typing import BinaryIO, Union

__all__ = ["NotRegularFileError", "BadPathError", "NOT_REGULAR", "checked_path", "open_regular", "read_regular", "check_regular_or_absent", "write_text", "json_depth"]

#: the message of a refused non-regular file (tests match on "not a regular file")
NOT_REGULAR = "not a regular file (a FIFO, socket, device or directory is never read)"

PathLike = Union[str, "os.PathLike[str]"]


class NotRegularFileError(OSError):
    """The path names something other than a regular file (FIFO, socket, device, directory)."""

    def __init__(self, path: object) -> None:
        super().__init__(errno.EINVAL, NOT_REGULAR, os.fspath(path) if isinstance(path, (str, os.PathLike)) else path)


class BadPathError(OSError):
    """The path cannot name any file: it holds a NUL byte or a character the file system
    encoding cannot encode (a lone surrogate such as ``\\ud800`` read from JSON).  An
    ``OSError`` (``EINVAL``) like every other path failure, so each caller's typed error
    applies — never the ``ValueError``/``UnicodeEncodeError`` the ``os`` functions raise."""

    def __init__(self, path: object, why: str) -> None:
        super().__init__(errno.EINVAL, f"not a valid path: {why}", path)


def checked_path(path: PathLike) -> Union[str, bytes]:
    """``os.fspath(path)``, or :class:`BadPathError` if no file can have that name (a NUL
    byte, or a character not encodable by the file system encoding).  Every function of this
    module passes its path through it first."""
    try:
        p = os.fspath(path)
    except TypeError:
        raise BadPathError(repr(path)[:100], f"a path is a str, bytes or os.PathLike, given {type(path).__name__}") from None
    try:
        raw = os.fsencode(p)
    except UnicodeError:
        raise BadPathError(p, "a character the file system encoding cannot encode") from None
    if b"\0" in raw:
        raise BadPathError(p, "a NUL byte") from None
    return p


def open_regular(path: PathLike) -> BinaryIO:
    """``path`` opened for binary reading, or an ``OSError`` (:class:`NotRegularFileError` when
    it is not a regular file).  Never blocks: the open is non-blocking and only a regular file
    (on which ``O_NONBLOCK`` changes nothing) is handed back."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)
    fd = os.open(checked_path(path), flags)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise NotRegularFileError(path)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_regular(path: PathLike, limit: int) -> bytes:
    """At most ``limit + 1`` bytes of the regular file ``path`` (a longer result means the file
    exceeds ``limit``; nothing beyond that is read).  ``OSError`` as :func:`open_regular`."""
    with open_regular(path) as fh:
        return fh.read(limit + 1)


def check_regular_or_absent(path: PathLike) -> None:
    """An output path that already exists must be a regular file (not a FIFO, socket, device,
    directory or a symbolic link — a link would be replaced, not written through).  ``OSError``
    (:class:`NotRegularFileError`) otherwise; a missing path is fine."""
    try:
        st = os.lstat(checked_path(path))
    except FileNotFoundError:
        return
    if not stat.S_ISREG(st.st_mode):
        raise NotRegularFileError(path)


def write_text(path: PathLike, text: str, encoding: str = "utf-8", newline: Union[str, None] = None) -> None:
    """Write ``text`` to ``path`` (created or truncated, as ``open(path, "w")``).  Every
    ``OSError`` names ``path`` in its ``filename``: the open's already does, but a failing write
    or close (``No space left on device``, ``EIO``, ``EFBIG``) names no file by itself, and a
    message saying only "No space left on device" after a long run does not say which output."""
    try:
        with open(path, "w", encoding=encoding, newline=newline) as fh:
            fh.write(text)
    except OSError as exc:
        if exc.filename is None:
            exc.filename = os.fspath(path)
        raise


# a string literal (skipped whole; an unterminated one runs to the end) or one bracket
_TOKEN = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"?|[\[\]{}]', re.DOTALL)


def json_depth(data: Union[bytes, str]) -> int:
    """The deepest nesting of arrays/objects in a JSON text, in one linear pass and constant
    memory (brackets inside strings do not count; on malformed text it can only err upwards)."""
    if isinstance(data, str):
        data = data.encode("utf-8", "surrogatepass")
    depth = deepest = 0
    for token in _TOKEN.finditer(data):
        first = token.group()[0]
        if first in (0x5B, 0x7B):  # [ {
            depth += 1
            if depth > deepest:
                deepest = depth
        elif first != 0x22:  # a closing bracket (0x22: the quote of a skipped string)
            depth -= 1
    return deepest
