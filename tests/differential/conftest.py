"""Deliberate impl bugs (mutants) for the differential tests' teeth.

Each mutant is a plausible mistake in ``torchlean_runtime.impl`` that the stateful machine must
catch.  The regression vectors in ``torchlean_runtime/conformance/vectors/regressions/`` tagged ``mutant:<name>`` are
the shrunk programs the machine found against these mutants (see that folder's README).
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import pytest

from torchlean_runtime.impl import registry as impl_registry
from torchlean_runtime.impl import variable as impl_variable


def _lookup_oldest(mp: pytest.MonkeyPatch) -> None:
    """getVariable/getGradient consult the OLDEST entry with the name (Lean's find? takes the newest)."""

    def oldest(self, name, shape):
        chain = self.slots.get(name)
        if chain is None:
            return None
        while type(chain) is tuple:  # the chain ends in the oldest array
            chain = chain[1]
        return chain if chain.shape == shape else None

    mp.setattr(impl_registry.Registry, "lookup", oldest)


def _accumulate_nan_order(mp: pytest.MonkeyPatch) -> None:
    """accumulateGradient prefers the NEW gradient's NaN (Lean: existing + grad, first NaN operand wins).
    Planted in the NaN fix-up both paths share (the numpy path and the [fast] kernel's)."""
    original = impl_variable._fix_nan_positions
    mp.setattr(impl_variable, "_fix_nan_positions", lambda out, a, b, dtype: original(out, b, a, dtype))


def _f32_invalid_default_nan(mp: pytest.MonkeyPatch) -> None:
    """IEEE32Exec's invalid operation (inf + -inf) gives x86's default NaN 0xFFC00000, not Exec32's
    canonical 0x7FC00000."""
    mp.setattr(impl_variable, "F32_CANONICAL_NAN", 0xFFC00000)


def _norm_pairwise(mp: pytest.MonkeyPatch) -> None:
    """variableNorm summing the squares with numpy's pairwise np.sum instead of Lean's left fold
    (NaN results still chosen as the impl does: only the order of the finite additions differs)."""
    original = impl_variable.Variable.variable_norm

    def variable_norm(self):
        impl_variable.check_context_instance(self.dtype, "variable_norm")
        flat = self.value.reshape(-1)
        if np.isnan(flat).any():
            return original(self)
        with np.errstate(all="ignore"):
            return np.sqrt(np.sum(flat * flat, dtype=self.dtype))

    mp.setattr(impl_variable.Variable, "variable_norm", variable_norm)


MUTANTS: dict[str, Callable[[pytest.MonkeyPatch], None]] = {
    "lookup-oldest": _lookup_oldest,
    "accumulate-nan-order": _accumulate_nan_order,
    "f32-invalid-default-nan": _f32_invalid_default_nan,
    "norm-pairwise": _norm_pairwise,
}


@pytest.fixture
def mutants() -> dict[str, Callable[[pytest.MonkeyPatch], None]]:
    return MUTANTS
