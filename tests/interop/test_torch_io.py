"""PyTorch modules <-> context / Variables, and the issue's chain: nn.Sequential -> safetensors ->
context -> TorchLean pack -> context, bit-exact.  Needs the [torch] extra (CI installs it; a
missing torch under CI=true fails, see conftest)."""

from __future__ import annotations

import numpy as np
import pytest

from torchlean_runtime.errors import ParamDtypeError
from torchlean_runtime.interop.pack import pack_from_context, pack_to_context
from torchlean_runtime.interop.paramio import read_paramlist_bits, write_paramlist_bits
from torchlean_runtime.interop.safetensors_io import read_safetensors, write_safetensors
from torchlean_runtime.interop.tlpf32b import read_tlpf32b, write_tlpf32b
from torchlean_runtime.interop.torch_io import context_to_state_dict, module_to_context, module_to_pack

# NaN payloads (signaling and quiet), a subnormal, -0.0, +inf
F64_SPECIAL = [0x7FF0000000000001, 0xFFF800000000BEEF, 0x0000000000000001, 1 << 63, 0x7FF0000000000000]
F32_SPECIAL = [0x7F800001, 0xFFC0BEEF, 0x00000001, 0x80000000, 0x7F800000]


def _model(torch, dtype, special):
    torch.manual_seed(0)
    m = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 2)).to(dtype)
    bits = m[0].weight.data.view(torch.int64 if dtype == torch.float64 else torch.int32).view(-1)
    for i, b in enumerate(special):
        bits[i] = b - (1 << 64 if dtype == torch.float64 and b >= 1 << 63 else 0) - (1 << 32 if dtype == torch.float32 and b >= 1 << 31 else 0)
    m[2].bias.requires_grad_(False)
    return m


def _bits(t, torch):
    return t.detach().view(torch.int64 if t.dtype == torch.float64 else torch.int32).tolist()


def test_module_to_context_variables_and_gradients(torch):
    m = _model(torch, torch.float32, F32_SPECIAL)
    m(torch.ones(5, 3)).sum().backward()
    ctx, variables = module_to_context(m)
    names = [n for n, _ in m.named_parameters()]
    assert [v.name for v in variables] == names and [v.id for v in variables] == [0, 1, 2, 3]
    assert ctx.variable_names() == names[::-1]
    assert [v.requires_grad for v in variables] == [True, True, True, False]
    assert variables[3].gradient is None and ctx.gradient_names() == names[:3][::-1]
    for v, (_, p) in zip(variables, m.named_parameters()):
        assert v.value.tobytes() == p.detach().numpy().tobytes()
        if p.grad is not None:
            assert v.gradient.tobytes() == p.grad.numpy().tobytes()
    assert ctx.get_gradient("0.weight", (4, 3)).tobytes() == m[0].weight.grad.numpy().tobytes()


def test_state_dict_back_is_bit_exact(torch):
    m = _model(torch, torch.float32, F32_SPECIAL)
    ctx, _ = module_to_context(m)
    sd = context_to_state_dict(ctx)
    assert list(sd) == [n for n, _ in m.named_parameters()]
    m2 = _model(torch, torch.float32, [0] * 5)
    m2.load_state_dict(sd)
    for (_, a), (_, b) in zip(m.named_parameters(), m2.named_parameters()):
        assert _bits(a, torch) == _bits(b, torch)


def test_sequential_safetensors_context_torchlean_pack_context(torch, tmp_path):
    m = _model(torch, torch.float64, F64_SPECIAL)  # Lean Float: the bits format holds it as is
    write_safetensors(tmp_path / "m.safetensors", module_to_pack(m))
    ctx = pack_to_context(read_safetensors(tmp_path / "m.safetensors"))
    pack = pack_from_context(ctx)
    write_paramlist_bits(tmp_path / "m.json", pack)
    shapes = [a.shape for a in pack.arrays]
    ctx2 = pack_to_context(read_paramlist_bits(tmp_path / "m.json", shapes=shapes, names=pack.names))
    assert ctx2 == ctx  # structural, bitwise (impl RuntimeContext.__eq__)
    for name, p in m.named_parameters():
        assert ctx2.get_variable(name, tuple(p.shape)).view(np.int64).tolist() == _bits(p, torch)


def test_float32_module_through_tlpf32b(torch, tmp_path):
    m = _model(torch, torch.float32, F32_SPECIAL)
    pack = module_to_pack(m)
    write_tlpf32b(tmp_path / "m.bin", pack)
    back = read_tlpf32b(tmp_path / "m.bin", names=pack.names)
    assert back == pack


def test_unsupported_parameter_dtype(torch):
    m = torch.nn.Linear(2, 2).to(torch.bfloat16)
    with pytest.raises(ParamDtypeError, match="weight"):
        module_to_context(m)
