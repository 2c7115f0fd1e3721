"""Hostile files: every reader, fed mutated valid files (fixed seed, fixed count), either returns
a pack or raises a ParamError — never another exception, never a hang (the readers are linear
and size-bounded)."""

from __future__ import annotations

import random

import numpy as np
import pytest
from safetensors.numpy import save_file

from torchlean_runtime.errors import ParamError
from torchlean_runtime.interop.commands import read_any
from torchlean_runtime.interop.pack import ParamPack
from torchlean_runtime.interop.paramio import dumps_paramlist_bits
from torchlean_runtime.interop.tlpf32b import write_tlpf32b

SEED, COUNT = 20261130, 300


def _seeds(tmp_path) -> dict[str, bytes]:
    p64 = ParamPack(("a", "b"), (np.arange(6.0).reshape(2, 3), np.array(-0.0)))
    p32 = ParamPack(("a", "b"), (np.arange(6, dtype=np.float32).reshape(3, 2), np.zeros((0,), np.float32)))
    write_tlpf32b(tmp_path / "s.bin", p32)
    save_file({"a": np.arange(4.0), "b": np.arange(3, dtype=np.int64)}, str(tmp_path / "s.st"), metadata={"k": "v"})
    return {
        "bits": dumps_paramlist_bits(p64).encode(),
        "compact": dumps_paramlist_bits(p64, pretty=False).encode(),
        "tlpf32b": (tmp_path / "s.bin").read_bytes(),
        "safetensors": (tmp_path / "s.st").read_bytes(),
    }


def _mutate(rng: random.Random, data: bytes) -> bytes:
    b = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        op = rng.randrange(5)
        i = rng.randrange(len(b) + 1)
        if op == 0 and b:  # flip a bit
            j = rng.randrange(len(b))
            b[j] ^= 1 << rng.randrange(8)
        elif op == 1:  # truncate
            del b[i:]
        elif op == 2:  # insert random bytes
            b[i:i] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 8)))
        elif op == 3 and b:  # overwrite with an extreme u64
            b[i:i + 8] = rng.choice([b"\xff" * 8, (1 << 62).to_bytes(8, "little"), b"\0" * 8])
        else:  # duplicate a slice
            j = rng.randrange(len(b) + 1)
            b[i:i] = b[min(i, j):max(i, j)][:64]
    return bytes(b)


@pytest.mark.parametrize("kind", ["bits", "compact", "tlpf32b", "safetensors"])
def test_mutated_files_only_raise_param_errors(tmp_path, kind):
    rng = random.Random(f"{SEED}-{kind}")
    seed = _seeds(tmp_path)[kind]
    path = tmp_path / "mutant"
    outcomes = {"read": 0, "refused": 0}
    for _ in range(COUNT):
        path.write_bytes(_mutate(rng, seed))
        try:
            read_any(path)
            outcomes["read"] += 1
        except ParamError:
            outcomes["refused"] += 1
    assert outcomes["refused"] > COUNT // 2  # the mutations really do break files
