"""PyTorch modules ↔ RuntimeContext (optional extra ``torchlean-runtime[torch]``).

:func:`module_to_context` turns a ``torch.nn.Module``'s parameters (``named_parameters()``,
registration order) into one :class:`~torchlean_runtime.impl.Variable` each — value, ``.grad``
as its gradient, ``requires_grad`` — and a RuntimeContext built with Lean's
``registerInContext`` then ``registerGradientInContext`` per variable, in that order.
:func:`context_to_state_dict` gives back a ``state_dict``-shaped ``{name: torch.Tensor}`` of the
context's visible variables, for ``module.load_state_dict``.  Values cross as exact copies
(``float32`` ↔ IEEE32Exec, ``float64`` ↔ Float, ``int64`` ↔ Int); any other parameter dtype is
TLR_PARAM_DTYPE.  Buffers (e.g. BatchNorm running statistics) are not parameters and are not
carried.  Nothing here unpickles: ``.pt`` files are not read at all (use safetensors).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from torchlean_runtime.errors import ParamDtypeError, ParamFormatError, TorchUnavailableError

from .pack import SUPPORTED_DTYPES, ParamPack, pack_from_context

__all__ = ["module_to_context", "context_to_state_dict", "module_to_pack"]


def _torch() -> Any:
    try:
        import torch
    except ImportError:
        raise TorchUnavailableError("PyTorch is not installed; install torchlean-runtime[torch]") from None
    return torch


def _numpy(t: Any, what: str) -> np.ndarray:
    arr = np.array(t.detach().cpu().numpy(), copy=True) if t.dtype in _numpy_dtypes() else None
    if arr is None or arr.dtype not in SUPPORTED_DTYPES:
        raise ParamDtypeError(f"dtype {t.dtype} is not float64, float32 or int64", param=what)
    return arr


def _module(torch: Any, module: Any) -> None:
    if not isinstance(module, torch.nn.Module):
        raise ParamFormatError(f"expected a torch.nn.Module, given {type(module).__name__}")


def _numpy_dtypes() -> tuple:
    torch = _torch()
    return (torch.float64, torch.float32, torch.int64)


def module_to_context(module: Any) -> tuple[Any, list[Any]]:
    """``(ctx, variables)``: ``variables[i]`` is ``Variable.create(i, name, value,
    requires_grad)`` with ``.grad`` set as its gradient when present; ``ctx`` registers each
    variable's value (and gradient, when present) in ``named_parameters()`` order.
    Errors: TLR_TORCH_MISSING, TLR_PARAM_DTYPE (naming the parameter), TLR_SCALAR_MISMATCH
    (parameters of two dtypes: a context has one ``α``)."""
    from torchlean_runtime.impl import RuntimeContext, Variable

    _module(_torch(), module)
    ctx = RuntimeContext.empty()
    variables = []
    for i, (name, p) in enumerate(module.named_parameters()):
        v = Variable.create(i, name, _numpy(p, f"{i} ({name!r})"), bool(p.requires_grad))
        if p.grad is not None:
            v = v.set_gradient(_numpy(p.grad, f"{i} ({name!r}) .grad"))
        ctx = v.register_gradient_in_context(v.register_in_context(ctx))
        variables.append(v)
    return ctx, variables


def module_to_pack(module: Any) -> ParamPack:
    """The module's parameter values as a pack, in ``named_parameters()`` order."""
    _module(_torch(), module)
    named = list(module.named_parameters())
    return ParamPack(tuple(n for n, _ in named), tuple(_numpy(p, f"{i} ({n!r})") for i, (n, p) in enumerate(named)))


def context_to_state_dict(ctx: Any) -> dict[str, Any]:
    """``{name: torch.Tensor}`` for the visible variables of ``ctx`` (newest entry per name),
    oldest first; fresh tensors with the stored bits."""
    torch = _torch()
    pack = pack_from_context(ctx)
    return {name: torch.from_numpy(np.array(arr, copy=True)) for name, arr in pack.items()}
