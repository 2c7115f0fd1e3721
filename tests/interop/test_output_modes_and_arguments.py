"""Every parameter writer gives its output the same permission bits (attacker finding 12):
``0o666`` minus the umask for a new file, the old mode when replacing a regular file —
safetensors (written by a library that creates ``0o600`` files) like the others."""

from __future__ import annotations

import os
import stat

import numpy as np
import pytest

from torchlean_runtime.interop.pack import ParamPack
from torchlean_runtime.interop.paramio import write_paramlist_bits
from torchlean_runtime.interop.safetensors_io import write_safetensors
from torchlean_runtime.interop.tlpf32b import write_tlpf32b

WRITERS = {
    "bits": (write_paramlist_bits, np.float64, "o.json"),
    "tlpf32b": (write_tlpf32b, np.float32, "o.tlpf32b"),
    "safetensors": (write_safetensors, np.float64, "o.safetensors"),
}


@pytest.fixture
def umask():
    def set_(mask: int) -> None:
        os.umask(mask)
    old = os.umask(0o022)
    yield set_
    os.umask(old)


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.mark.parametrize("fmt", sorted(WRITERS))
@pytest.mark.parametrize("mask", [0o022, 0o077, 0o002])
def test_a_new_output_honours_the_umask(fmt, mask, umask, tmp_path):
    writer, dtype, name = WRITERS[fmt]
    umask(mask)
    out = tmp_path / name
    writer(out, ParamPack(("a",), (np.arange(3, dtype=dtype),)))
    assert _mode(out) == 0o666 & ~mask


@pytest.mark.parametrize("fmt", sorted(WRITERS))
@pytest.mark.parametrize("old_mode", [0o644, 0o640, 0o664])
def test_replacing_a_file_keeps_its_mode(fmt, old_mode, umask, tmp_path):
    writer, dtype, name = WRITERS[fmt]
    umask(0o077)
    out = tmp_path / name
    out.write_bytes(b"old")
    os.chmod(out, old_mode)
    writer(out, ParamPack(("a",), (np.arange(3, dtype=dtype),)))
    assert _mode(out) == old_mode
