"""read_safetensors reads its file once, through the handle that passed the regular-file check,
into one snapshot, and parses only that snapshot (attacker findings: a file truncated under the
package's memory map killed the process with SIGBUS; a file rewritten in place between the
package's validation and a second parse of the header gave raw KeyError / JSONDecodeError /
struct.error / RecursionError / TypeError / ValueError, and a shape no limit checked reached
np.empty).

The concurrent writer is simulated deterministically: the handle ``open_input`` returns is
wrapped so that the file is rewritten in place (same inode) at a chosen moment of the read —
just before the first byte is read, or just after the reader has taken its bytes.  Whatever
the new content, the outcome is the complete content of one version of the file or a typed
TLR_PARAM_* error, named here for each case."""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from torchlean_runtime.errors import ParamDtypeError, ParamError, ParamFormatError, ParamLimitError
from torchlean_runtime.interop import safetensors_io
from torchlean_runtime.interop.pack import Limits, ParamPack
from torchlean_runtime.interop.safetensors_io import ORDER_KEY, read_safetensors, write_safetensors


def raw(header: dict, payload: bytes) -> bytes:
    h = json.dumps(header).encode()
    return struct.pack("<Q", len(h)) + h + payload


OLD = raw({"w": {"dtype": "F64", "shape": [2], "data_offsets": [0, 16]}}, np.array([1.5, -2.0]).tobytes())
OLD_PACK = ParamPack(("w",), (np.array([1.5, -2.0]),), {})

_DUP = b'{"w":{"dtype":"F64","shape":[2],"data_offsets":[0,16]},"w":{"dtype":"F64","shape":[2],"data_offsets":[0,16]}}'
#: what the file is rewritten to, and what a read of exactly that content gives: the pack, or
#: the typed error (class, and a piece of its message)
REWRITES = {
    "another valid file": (raw({"v": {"dtype": "F64", "shape": [2], "data_offsets": [0, 16]}}, np.array([3.0, 4.0]).tobytes()),
                           ParamPack(("v",), (np.array([3.0, 4.0]),), {})),
    "dtype BF16": (raw({"w": {"dtype": "BF16", "shape": [8], "data_offsets": [0, 16]}}, b"\0" * 16), (ParamDtypeError, "BF16")),
    "bad json": (struct.pack("<Q", 5) + b"{nope" + b"\0" * 16, (ParamFormatError, "not a valid safetensors file")),
    "huge shape": (raw({"w": {"dtype": "F64", "shape": [1 << 40, 1 << 40], "data_offsets": [0, 16]}}, b"\0" * 16),
                   (ParamFormatError, "not a valid safetensors file")),
    "offsets a string": (raw({"w": {"dtype": "F64", "shape": [2], "data_offsets": "ab"}}, b"\0" * 16),
                         (ParamFormatError, "not a valid safetensors file")),
    "two bytes": (b"\x01\x02", (ParamFormatError, "not a valid safetensors file")),
    "emptied": (b"", (ParamFormatError, "not a valid safetensors file")),
    "cut in the payload": (OLD[:-5], (ParamFormatError, "not a valid safetensors file")),
    "deep json": (struct.pack("<Q", 200000) + b"[" * 100000 + b"]" * 100000, (ParamFormatError, "not a valid safetensors file")),
    "duplicate key": (struct.pack("<Q", len(_DUP)) + _DUP + b"\0" * 16, (ParamFormatError, "duplicate key 'w'")),
}


class RewrittenWhileRead:
    """The handle ``open_input`` gave, rewriting the file in place (same inode) around the first
    ``read``/``readinto`` call: ``before`` it (the reader sees only the new content) or ``after``
    it (the reader holds what it read; the file changes under it)."""

    def __init__(self, fh, path, content: bytes, when: str):
        self._fh, self._path, self._content, self._when, self._done = fh, path, content, when, False

    def _rewrite(self) -> None:
        if not self._done:
            self._done = True
            with open(self._path, "r+b") as f:
                f.write(self._content)
                f.truncate()

    def _first(self, method, *args):
        if self._when == "before":
            self._rewrite()
        out = method(*args)
        self._rewrite()
        return out

    def read(self, *args):
        return self._first(self._fh.read, *args)

    def readinto(self, *args):
        return self._first(self._fh.readinto, *args)

    def __getattr__(self, name):
        return getattr(self._fh, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return self._fh.__exit__(*exc)


def read_with_rewrite(monkeypatch, path, content: bytes, when: str, limits: Limits = Limits()):
    real = safetensors_io.open_input

    def open_then_wrap(p, lim, *rest):
        fh, size = real(p, lim, *rest)
        return RewrittenWhileRead(fh, p, content, when), size

    monkeypatch.setattr(safetensors_io, "open_input", open_then_wrap)
    return read_safetensors(path, limits=limits)


@pytest.mark.parametrize("label", sorted(REWRITES))
def test_a_file_rewritten_before_the_read_gives_the_new_content_or_its_typed_error(tmp_path, monkeypatch, label):
    content, expected = REWRITES[label]
    path = tmp_path / "f.safetensors"
    path.write_bytes(OLD)
    if isinstance(expected, ParamPack):
        assert read_with_rewrite(monkeypatch, path, content, "before") == expected
    else:
        cls, words = expected
        with pytest.raises(cls) as err:
            read_with_rewrite(monkeypatch, path, content, "before")
        assert words in err.value.message and str(path) in err.value.message
    # and that is exactly what a plain read of the new file gives
    fresh = tmp_path / "fresh.safetensors"
    fresh.write_bytes(content)
    monkeypatch.undo()
    if isinstance(expected, ParamPack):
        assert read_safetensors(fresh) == expected
    else:
        with pytest.raises(expected[0]):
            read_safetensors(fresh)


@pytest.mark.parametrize("label", sorted(REWRITES))
def test_a_file_rewritten_after_the_read_gives_the_old_content_whole(tmp_path, monkeypatch, label):
    path = tmp_path / "f.safetensors"
    path.write_bytes(OLD)
    assert read_with_rewrite(monkeypatch, path, REWRITES[label][0], "after") == OLD_PACK
    assert path.read_bytes() == REWRITES[label][0]  # the rewrite did happen


def test_a_file_that_grows_past_max_bytes_while_read_is_a_limit_error(tmp_path, monkeypatch):
    """open_input checked the size; the file then grows: at most max_bytes + 1 bytes are read,
    and the result is TLR_PARAM_LIMIT, not a silently larger read."""
    path = tmp_path / "f.safetensors"
    path.write_bytes(OLD)
    bigger = raw({"w": {"dtype": "F64", "shape": [64], "data_offsets": [0, 512]}}, b"\0" * 512)
    with pytest.raises(ParamLimitError, match="max_bytes=200"):
        read_with_rewrite(monkeypatch, path, bigger, "before", Limits(max_bytes=200))


def test_the_reader_never_maps_or_reopens_the_file(tmp_path, monkeypatch):
    """The file is opened once (open_input's non-blocking open) and read through that handle:
    the package's memory-mapping reader (SIGBUS when the file is truncated under it) is never
    used, and nothing opens the path again."""
    import safetensors

    def refuse(*args, **kwargs):
        raise AssertionError("the file was memory-mapped by safe_open")

    path = tmp_path / "f.safetensors"
    pack = ParamPack(("a", "b"), (np.arange(3.0), np.arange(2, dtype=np.int64)), {"k": "v"})
    write_safetensors(path, pack)
    real_open = os.open
    opened = []
    monkeypatch.setattr(safetensors, "safe_open", refuse)
    monkeypatch.setattr(os, "open", lambda *a, **k: opened.append(a[0]) or real_open(*a, **k))
    assert read_safetensors(path) == pack
    assert opened == [str(path)]


def test_duplicate_header_key_names_the_file(tmp_path):
    path = tmp_path / "dup.safetensors"
    path.write_bytes(REWRITES["duplicate key"][0])
    with pytest.raises(ParamFormatError) as err:
        read_safetensors(path)
    assert err.value.path == path and str(path) in err.value.message and "duplicate key 'w'" in err.value.message


def test_without_order_key_the_payload_order_is_kept_ties_in_header_order(tmp_path):
    path = tmp_path / "o.safetensors"
    header = {  # listed b, e2, a, e1; payload: a (0..8), b (8..24); the empty ones share offset 24
        "b": {"dtype": "F64", "shape": [2], "data_offsets": [8, 24]},
        "e2": {"dtype": "F32", "shape": [0, 3], "data_offsets": [24, 24]},
        "a": {"dtype": "I64", "shape": [], "data_offsets": [0, 8]},
        "e1": {"dtype": "F32", "shape": [0], "data_offsets": [24, 24]},
    }
    path.write_bytes(raw(header, np.array(7).tobytes() + np.array([1.0, 2.0]).tobytes()))
    pack = read_safetensors(path)
    assert pack.names == ("a", "b", "e2", "e1")
    assert [a.dtype.str for a in pack.arrays] == ["<i8", "<f8", "<f4", "<f4"]
    assert [a.shape for a in pack.arrays] == [(), (2,), (0, 3), (0,)]
    assert pack.arrays[0].tolist() == 7 and pack.arrays[1].tolist() == [1.0, 2.0] and pack.metadata == {}


def test_arrays_are_fresh_read_only_copies_not_views_of_the_snapshot(tmp_path):
    path = tmp_path / "c.safetensors"
    write_safetensors(path, ParamPack(("a", "b"), (np.arange(4.0), np.arange(3, dtype=np.float32)), {"k": "v"}))
    pack = read_safetensors(path)
    for arr in pack.arrays:
        assert not arr.flags.writeable and arr.flags.c_contiguous
        owner = arr.base if arr.base is not None else arr
        assert isinstance(owner, np.ndarray) and owner.flags.owndata  # one tensor's own memory
        assert owner.nbytes == arr.nbytes  # not the whole file kept alive behind a view
    assert pack.metadata == {"k": "v"} and ORDER_KEY not in pack.metadata


def test_the_header_reader_is_total_without_the_package_validation(tmp_path, monkeypatch):
    """The header of the snapshot is parsed here after the package validated the same bytes; were
    the two parsers ever to disagree, the reader still fails typed: with the validation switched
    off, hostile headers give TLR_PARAM_* errors, never KeyError/TypeError/... ."""
    import safetensors

    monkeypatch.setattr(safetensors, "deserialize", lambda data: [])
    cases = [
        b"",
        struct.pack("<Q", 1 << 60) + b"{}",
        struct.pack("<Q", 2) + b"\xff\xfe",
        struct.pack("<Q", 2) + b"[]",
        struct.pack("<Q", 64) + b"[" * 32 + b"]" * 32,
        raw({"w": 5}, b""),
        raw({"w": {"dtype": "F64", "shape": [2], "data_offsets": "ab"}}, b""),
        raw({"w": {"dtype": "F64", "shape": [True], "data_offsets": [0, 8]}}, b"\0" * 8),
        raw({"w": {"dtype": "F64", "shape": [-1], "data_offsets": [0, 8]}}, b"\0" * 8),
        raw({"w": {"dtype": "F64", "shape": [4], "data_offsets": [0, 8]}}, b"\0" * 8),
        raw({"w": {"dtype": "F64", "shape": [1], "data_offsets": [0, 8]}}, b"\0" * 4),
        raw({"w": {"dtype": "F64", "shape": [1 << 40, 1 << 40], "data_offsets": [0, 16]}}, b"\0" * 16),
        raw({"__metadata__": {"k": 5}}, b""),
        raw({"__metadata__": [1]}, b""),
        struct.pack("<Q", 8) + b'{"a":NaN',
    ]
    path = tmp_path / "h.safetensors"
    for data in cases:
        path.write_bytes(data)
        with pytest.raises(ParamError) as err:
            read_safetensors(path)
        assert err.value.code in ("TLR_PARAM_FORMAT", "TLR_PARAM_LIMIT"), data[:40]


def test_reading_while_another_process_truncates_and_rewrites_never_kills_the_reader(tmp_path):
    """The attacker's SIGBUS reproducer, bounded: a writer process truncates the file to 0 and
    writes it back in a loop while a reader process reads it 400 times; every read is the
    complete pack or TLR_PARAM_FORMAT (a cut snapshot), and the reader exits normally (a SIGBUS
    shows as -7).  The test owns the writer and kills it whatever happens to the reader."""
    path = tmp_path / "race.safetensors"
    write_safetensors(path, ParamPack(("w",), (np.arange(1 << 16, dtype=np.float64),)))
    flip = textwrap.dedent(f"""
        import os
        path = {str(path)!r}
        data = open(path, "rb").read()
        fd = os.open(path, os.O_WRONLY)
        while True:
            os.ftruncate(fd, 0); os.pwrite(fd, data, 0)
    """)
    read = textwrap.dedent(f"""
        import json
        from torchlean_runtime.errors import ParamError
        from torchlean_runtime.interop.safetensors_io import read_safetensors
        seen = {{}}
        for _ in range(400):
            try:
                p = read_safetensors({str(path)!r})
                assert p.names == ("w",) and p.arrays[0].tolist() == list(range(1 << 16)), "a torn read"
                key = "ok"
            except ParamError as e:
                key = e.code
            seen[key] = seen.get(key, 0) + 1
        print(json.dumps(seen))
    """)
    writer = subprocess.Popen([sys.executable, "-c", flip], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        proc = subprocess.run([sys.executable, "-c", read], capture_output=True, text=True, timeout=120)
    finally:
        writer.kill()
        writer.wait()
    assert proc.returncode == 0, (proc.returncode, proc.stderr[-2000:])
    seen = json.loads(proc.stdout.strip().splitlines()[-1])
    assert sum(seen.values()) == 400 and set(seen) <= {"ok", "TLR_PARAM_FORMAT"}, seen
