"""Every obligation provider of the evidence, in report order: ``torchlean-rt verify`` collects
from these, and the kill matrix (``mutants/kill_matrix.py``) finds its columns' providers here.
A provider is ``module:function``; the function takes ``quick`` and returns a list of
:class:`~torchlean_runtime.report.Obligation`."""

from __future__ import annotations

__all__ = ["PROVIDERS"]

#: ``module:function`` of every obligation provider, in report order.
PROVIDERS: list[str] = [
    "torchlean_runtime.proofs.coverage:obligations",
    "torchlean_runtime.proofs.conformance:obligations",
    "torchlean_runtime.proofs.z3.obligations:obligations",
    "torchlean_runtime.proofs.differential.agreement:obligations",
    "torchlean_runtime.proofs.differential.fuzz:obligations",
    "torchlean_runtime.proofs.vectors_obligations:obligations",
    "torchlean_runtime.proofs.value_semantics:obligations",
    "torchlean_runtime.proofs.checking_modes:obligations",
    "torchlean_runtime.proofs.crosshair.provider:obligations",
]
