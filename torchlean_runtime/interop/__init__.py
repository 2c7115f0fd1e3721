"""``torchlean_runtime.interop`` — real parameters in and out of a RuntimeContext, bit-exact.

* :class:`ParamPack` — the interchange value: ordered ``(name, array)`` pairs (+ metadata);
  :func:`pack_to_context` / :func:`pack_from_context`; :func:`summarize` (Lean-exact
  ``variableNorm``, NaN/inf counts, payload sha256).
* TorchLean ``torchlean_paramlist_bits_v1`` JSON (Float only, pretty or compact layout exactly as
  ParamIO writes it): :func:`read_paramlist_bits` / :func:`write_paramlist_bits`.
* TorchLean ``TLPF32B`` v2 streamed float32 checkpoints: :func:`read_tlpf32b` /
  :func:`write_tlpf32b` (float64 → float32 only with ``allow_float64=True``).
* safetensors (F64/F32/I64, metadata kept): :func:`read_safetensors` / :func:`write_safetensors`.
* PyTorch (extra ``[torch]``): :func:`module_to_context`, :func:`module_to_pack`,
  :func:`context_to_state_dict` in :mod:`.torch_io` (imported on use; no pickle anywhere).

TorchLean packs are positional; names come from an explicit list (``names=`` or a names file,
:func:`read_names_file`) and default to ``p0, p1, …``.  Every reader takes :class:`Limits`,
checks them before allocating, and raises the typed errors of ``torchlean_runtime.errors``
(``TLR_PARAM_*``) naming the file and parameter; on failure nothing is returned.  Byte layouts
and their Lean sources: docs/params.md.
"""

from .pack import (
    DEFAULT_LIMITS,
    Limits,
    ParamPack,
    default_names,
    pack_from_context,
    pack_to_context,
    read_names_file,
    summarize,
)
from .paramio import FORMAT_TAG, read_paramlist_bits, write_paramlist_bits
from .safetensors_io import read_safetensors, write_safetensors
from .tlpf32b import read_tlpf32b, to_float32, write_tlpf32b

__all__ = [
    "Limits",
    "DEFAULT_LIMITS",
    "ParamPack",
    "default_names",
    "read_names_file",
    "pack_to_context",
    "pack_from_context",
    "summarize",
    "FORMAT_TAG",
    "read_paramlist_bits",
    "write_paramlist_bits",
    "read_tlpf32b",
    "write_tlpf32b",
    "to_float32",
    "read_safetensors",
    "write_safetensors",
]
